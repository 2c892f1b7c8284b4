//! Moneyhub's automatic sync schedule, in UK time (Europe/London, so it follows BST):
//! api connections every 4 hours from 06:00 to 22:00, legacy ones once overnight (02:00),
//! valuations (Zoopla, Mouseprice, Auto Trader) monthly on the day they were connected.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;

use crate::catalogue::ConnectionType;

const API_HOURS: [u32; 5] = [6, 10, 14, 18, 22];
const LEGACY_HOUR: u32 = 2;
const VALUATION_HOUR: u32 = 3;

/// The first automatic sync strictly after `after`.
pub fn next_automatic_sync(
    kind: ConnectionType,
    connected_on: DateTime<Utc>,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let local_day = after.with_timezone(&London).date_naive();
    for offset in 0..=62 {
        let day = local_day + Duration::days(offset);
        let hours: &[u32] = match kind {
            ConnectionType::Api | ConnectionType::Test => &API_HOURS,
            // Moneyhub publishes no schedule for its other types; once a day is the plainest.
            ConnectionType::Legacy | ConnectionType::IdExperian => &[LEGACY_HOUR],
            ConnectionType::Zoopla | ConnectionType::Mouseprice | ConnectionType::Autotrader => {
                if !is_monthly_day(day, connected_on.with_timezone(&London).day()) {
                    continue;
                }
                &[VALUATION_HOUR]
            }
        };
        for &hour in hours {
            if let Some(at) = uk_instant(day, hour)
                && at > after
            {
                return Some(at);
            }
        }
    }
    None
}

/// A monthly job set for day 31 runs on the last day of shorter months.
fn is_monthly_day(day: NaiveDate, wanted: u32) -> bool {
    let last = last_day_of_month(day);
    day.day() == wanted.min(last)
}

fn last_day_of_month(day: NaiveDate) -> u32 {
    let first_next = if day.month() == 12 {
        NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
    };
    first_next
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// `hour:00` UK time on `day`; on the spring-forward gap the next valid hour, on the autumn
/// overlap the first of the two.
fn uk_instant(day: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(hour, 0, 0)?;
    match London.from_local_datetime(&day.and_time(time)) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => uk_instant(day, hour + 1),
    }
}

/// The calendar day in the UK at `at`; provider daily caps reset at UK midnight.
pub fn uk_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&London).date_naive()
}

pub fn next_uk_midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = uk_date(at) + Duration::days(1);
    uk_instant(tomorrow, 0).unwrap_or(at + Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn api_syncs_run_every_four_hours_from_six_to_ten_uk_time() {
        let connected = utc(2026, 1, 10, 9, 0);
        // January: UK time is UTC.
        assert_eq!(
            next_automatic_sync(ConnectionType::Api, connected, utc(2026, 1, 10, 9, 0)),
            Some(utc(2026, 1, 10, 10, 0))
        );
        assert_eq!(
            next_automatic_sync(ConnectionType::Api, connected, utc(2026, 1, 10, 22, 0)),
            Some(utc(2026, 1, 11, 6, 0))
        );
        // July: BST, so 06:00 UK is 05:00 UTC.
        assert_eq!(
            next_automatic_sync(ConnectionType::Api, connected, utc(2026, 7, 1, 0, 0)),
            Some(utc(2026, 7, 1, 5, 0))
        );
    }

    #[test]
    fn legacy_syncs_run_overnight_and_valuations_monthly() {
        let connected = utc(2026, 1, 31, 12, 0);
        assert_eq!(
            next_automatic_sync(ConnectionType::Legacy, connected, utc(2026, 1, 31, 12, 0)),
            Some(utc(2026, 2, 1, 2, 0))
        );
        // Connected on the 31st: February's run is on the 28th.
        assert_eq!(
            next_automatic_sync(ConnectionType::Zoopla, connected, utc(2026, 2, 1, 0, 0)),
            Some(utc(2026, 2, 28, 3, 0))
        );
    }

    #[test]
    fn daily_caps_reset_at_uk_midnight() {
        // 23:30 UTC on 1 July is 00:30 BST on 2 July.
        assert_eq!(
            uk_date(utc(2026, 7, 1, 23, 30)),
            NaiveDate::from_ymd_opt(2026, 7, 2).expect("valid")
        );
        assert_eq!(
            next_uk_midnight(utc(2026, 7, 1, 12, 0)),
            utc(2026, 7, 1, 23, 0)
        );
    }
}
