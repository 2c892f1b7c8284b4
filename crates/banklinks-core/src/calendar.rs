//! The person's calendar: which day it is for them. A consent's days are counted here once and
//! worded here once, so the card, the detail page, the tray and a notification never count or
//! name a day differently (24-hour periods and midnights disagree for a consent that ends in a
//! few hours).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

/// Moneyhub is UK open banking: its schedules and daily caps run on UK days, and the UI shows
/// every time in UK time whatever the machine's zone (`ui/src/lib/format.ts`), so the days a
/// person reads are UK days too. One zone for every surface, and none from the machine.
pub const PERSONS_ZONE: Tz = chrono_tz::Europe::London;

/// `now`, read in the person's zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moment {
    pub now: DateTime<Utc>,
    pub zone: Tz,
}

impl From<DateTime<Utc>> for Moment {
    fn from(now: DateTime<Utc>) -> Self {
        Self {
            now,
            zone: PERSONS_ZONE,
        }
    }
}

impl Moment {
    pub fn in_zone(now: DateTime<Utc>, zone: Tz) -> Self {
        Self { now, zone }
    }

    fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    /// Calendar days from today to `at`'s day: 0 today, 1 tomorrow, -1 yesterday.
    pub fn days_until(&self, at: DateTime<Utc>) -> i64 {
        (self.day_of(at) - self.day_of(self.now)).num_days()
    }

    /// The next local midnight after now, when every "today" and "tomorrow" changes.
    pub fn next_midnight(&self) -> DateTime<Utc> {
        let tomorrow = self.day_of(self.now) + Duration::days(1);
        // A zone whose midnight is skipped (a DST jump at 00:00) starts the day at its first
        // existing moment: an hour later at most.
        (0..=2)
            .find_map(|hour| {
                tomorrow
                    .and_hms_opt(hour, 0, 0)
                    .and_then(|local| local.and_local_timezone(self.zone).earliest())
            })
            .map_or(self.now + Duration::days(1), |at| at.with_timezone(&Utc))
    }

    /// "14:05", in the person's zone.
    pub fn clock(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone).format("%H:%M").to_string()
    }

    /// "21 Nov", in the person's zone.
    pub fn day(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone).format("%-d %b").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn days_are_the_persons_calendar_days_not_24_hour_periods() {
        let london = Moment::in_zone(at("2026-12-07T23:30:00Z"), chrono_tz::Europe::London);
        assert_eq!(london.days_until(at("2026-12-08T00:10:00Z")), 1);
        let tokyo = Moment::in_zone(at("2026-12-07T23:30:00Z"), chrono_tz::Asia::Tokyo);
        // 08:30 on the 8th in Tokyo; 09:10 the same day.
        assert_eq!(tokyo.days_until(at("2026-12-08T00:10:00Z")), 0);
        assert_eq!(tokyo.days_until(at("2026-12-07T14:00:00Z")), -1);
    }

    #[test]
    fn the_next_midnight_is_local_and_survives_a_clock_change() {
        let london = Moment::in_zone(at("2026-03-28T12:00:00Z"), chrono_tz::Europe::London);
        assert_eq!(london.next_midnight(), at("2026-03-29T00:00:00Z"));
        let summer = Moment::in_zone(at("2026-07-01T12:00:00Z"), chrono_tz::Europe::London);
        assert_eq!(summer.next_midnight(), at("2026-07-01T23:00:00Z"));
        // Santiago skips midnight when its summer time starts (6 Sep 2026, 00:00 → 01:00).
        let santiago = Moment::in_zone(at("2026-09-05T12:00:00Z"), chrono_tz::America::Santiago);
        assert_eq!(santiago.next_midnight(), at("2026-09-06T04:00:00Z"));
    }
}
