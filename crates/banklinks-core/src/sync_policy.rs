//! When a connection can be synced by hand, and when Moneyhub will sync it by itself.
//!
//! Moneyhub limits `POST /sync` to once every 30 minutes per connection, some providers cap it
//! further (Triodos: 4 a day per connection), and a server `Retry-After` beats both. The UI shows
//! the answer *before* the click. Automatic syncs follow Moneyhub's schedule in UK time: api
//! connections every 4 hours from 06:00 to 22:00, legacy ones overnight, valuations monthly.
//! Pure functions of their inputs and `now`.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;
use serde::Serialize;

/// Moneyhub's per-connection manual sync limit.
pub const SYNC_COOLDOWN: Duration = Duration::minutes(30);

/// What the local store knows about a connection's manual syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManualSyncHistory {
    /// When the user last asked for a sync that Moneyhub accepted.
    pub last_accepted: Option<DateTime<Utc>>,
    /// Accepted manual syncs, to count those on the current UK day.
    pub accepted: Vec<DateTime<Utc>>,
    /// A `Retry-After` Moneyhub sent with a 429, as an instant.
    pub server_retry_at: Option<DateTime<Utc>>,
    /// When Moneyhub ran each sync it has on record (automatic ones, the first fetch and ours):
    /// a provider's daily cap counts them all.
    pub moneyhub_runs: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum WaitReason {
    /// Moneyhub's 30-minute limit per connection.
    Cooldown,
    /// The provider's daily cap is used up; it resets at UK midnight.
    DailyCap,
    /// Moneyhub answered 429 and said when to retry.
    ServerAsked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum SyncAllowance {
    Now {
        /// Manual syncs left today under a provider cap (`None`: no cap).
        left_today: Option<u32>,
    },
    At {
        #[specta(type = String)]
        at: DateTime<Utc>,
        reason: WaitReason,
    },
}

/// Known provider caps on manual syncs per connection per UK day, by institution name.
pub fn provider_daily_cap(institution_name: &str) -> Option<u32> {
    institution_name
        .to_lowercase()
        .contains("triodos")
        .then_some(4)
}

/// Whether a manual sync is allowed at `now`, and if not, from when.
pub fn manual_sync_allowance(
    history: &ManualSyncHistory,
    daily_cap: Option<u32>,
    now: DateTime<Utc>,
) -> SyncAllowance {
    let mut wait: Option<(DateTime<Utc>, WaitReason)> = None;
    let mut later = |at: DateTime<Utc>, reason: WaitReason| {
        if at > now && wait.is_none_or(|(current, _)| at > current) {
            wait = Some((at, reason));
        }
    };
    if let Some(last) = history.last_accepted {
        later(last + SYNC_COOLDOWN, WaitReason::Cooldown);
    }
    let today = uk_date(now);
    let on_today = |runs: &[DateTime<Utc>]| runs.iter().filter(|at| uk_date(**at) == today).count();
    // Moneyhub's record includes ours once it has them; ours may be newer than the record.
    let used_today = on_today(&history.accepted).max(on_today(&history.moneyhub_runs)) as u32;
    if let Some(cap) = daily_cap
        && used_today >= cap
    {
        later(next_uk_midnight(now), WaitReason::DailyCap);
    }
    if let Some(retry) = history.server_retry_at {
        later(retry, WaitReason::ServerAsked);
    }
    match wait {
        Some((at, reason)) => SyncAllowance::At { at, reason },
        None => SyncAllowance::Now {
            left_today: daily_cap.map(|cap| cap.saturating_sub(used_today)),
        },
    }
}

/// The kinds of connection Moneyhub schedules differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ScheduleKind {
    /// api and test connections.
    OpenBanking,
    Legacy,
    /// Zoopla, Mouseprice, Auto Trader.
    Valuation,
}

const API_HOURS: [u32; 5] = [6, 10, 14, 18, 22];

/// Moneyhub's next automatic sync after `now`.
pub fn next_automatic_sync(
    kind: ScheduleKind,
    connected_on: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let start = uk_date(now);
    for offset in 0..=62 {
        let day = start + Duration::days(offset);
        let hours: &[u32] = match kind {
            ScheduleKind::OpenBanking => &API_HOURS,
            ScheduleKind::Legacy => &[2],
            ScheduleKind::Valuation => {
                let wanted = connected_on.with_timezone(&London).day();
                if day.day() != wanted.min(last_day_of_month(day)) {
                    continue;
                }
                &[3]
            }
        };
        for &hour in hours {
            if let Some(at) = uk_instant(day, hour)
                && at > now
            {
                return Some(at);
            }
        }
    }
    None
}

pub fn uk_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&London).date_naive()
}

pub fn next_uk_midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    uk_instant(uk_date(at) + Duration::days(1), 0).unwrap_or(at + Duration::days(1))
}

fn uk_instant(day: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(hour, 0, 0)?;
    match London.from_local_datetime(&day.and_time(time)) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => uk_instant(day, hour + 1),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn the_cooldown_daily_cap_and_server_retry_each_decide_when_they_are_latest() {
        let now = utc(2026, 7, 1, 12, 0);
        let none = ManualSyncHistory::default();
        assert_eq!(
            manual_sync_allowance(&none, None, now),
            SyncAllowance::Now { left_today: None }
        );
        assert_eq!(
            manual_sync_allowance(&none, Some(4), now),
            SyncAllowance::Now {
                left_today: Some(4)
            }
        );

        let recent = ManualSyncHistory {
            last_accepted: Some(now - Duration::minutes(10)),
            accepted: vec![now - Duration::minutes(10)],
            ..ManualSyncHistory::default()
        };
        assert_eq!(
            manual_sync_allowance(&recent, None, now),
            SyncAllowance::At {
                at: now + Duration::minutes(20),
                reason: WaitReason::Cooldown
            }
        );
        let later_server = ManualSyncHistory {
            server_retry_at: Some(now + Duration::hours(1)),
            ..recent.clone()
        };
        assert_eq!(
            manual_sync_allowance(&later_server, None, now),
            SyncAllowance::At {
                at: now + Duration::hours(1),
                reason: WaitReason::ServerAsked
            }
        );
        let four: Vec<_> = (1..=4).map(|h| now - Duration::hours(h)).collect();
        let capped = ManualSyncHistory {
            last_accepted: four.first().copied(),
            accepted: four,
            ..ManualSyncHistory::default()
        };
        // 12:00 UTC in July is 13:00 BST: the cap resets at 23:00 UTC.
        assert_eq!(
            manual_sync_allowance(&capped, Some(4), now),
            SyncAllowance::At {
                at: utc(2026, 7, 1, 23, 0),
                reason: WaitReason::DailyCap
            }
        );
        // Moneyhub's own record counts too: its automatic syncs and the first fetch use the cap.
        let automatic = ManualSyncHistory {
            moneyhub_runs: (1..=3).map(|h| now - Duration::hours(h)).collect(),
            ..ManualSyncHistory::default()
        };
        assert_eq!(
            manual_sync_allowance(&automatic, Some(4), now),
            SyncAllowance::Now {
                left_today: Some(1)
            }
        );
        let both = ManualSyncHistory {
            moneyhub_runs: (1..=4).map(|h| now - Duration::hours(h)).collect(),
            ..ManualSyncHistory::default()
        };
        assert!(matches!(
            manual_sync_allowance(&both, Some(4), now),
            SyncAllowance::At {
                reason: WaitReason::DailyCap,
                ..
            }
        ));
        // Yesterday's syncs do not count against today's cap.
        let yesterday = ManualSyncHistory {
            accepted: vec![now - Duration::days(1); 4],
            ..ManualSyncHistory::default()
        };
        assert_eq!(
            manual_sync_allowance(&yesterday, Some(4), now),
            SyncAllowance::Now {
                left_today: Some(4)
            }
        );
        // A Retry-After already past is ignored.
        let stale = ManualSyncHistory {
            server_retry_at: Some(now - Duration::minutes(1)),
            ..ManualSyncHistory::default()
        };
        assert_eq!(
            manual_sync_allowance(&stale, None, now),
            SyncAllowance::Now { left_today: None }
        );
    }

    #[test]
    fn automatic_syncs_follow_the_uk_schedule() {
        let connected = utc(2026, 1, 31, 12, 0);
        assert_eq!(
            next_automatic_sync(
                ScheduleKind::OpenBanking,
                connected,
                utc(2026, 1, 31, 12, 0)
            ),
            Some(utc(2026, 1, 31, 14, 0))
        );
        assert_eq!(
            next_automatic_sync(
                ScheduleKind::OpenBanking,
                connected,
                utc(2026, 1, 31, 22, 0)
            ),
            Some(utc(2026, 2, 1, 6, 0))
        );
        assert_eq!(
            next_automatic_sync(ScheduleKind::OpenBanking, connected, utc(2026, 7, 1, 0, 0)),
            Some(utc(2026, 7, 1, 5, 0)),
            "BST"
        );
        assert_eq!(
            next_automatic_sync(ScheduleKind::Legacy, connected, utc(2026, 1, 31, 12, 0)),
            Some(utc(2026, 2, 1, 2, 0))
        );
        assert_eq!(
            next_automatic_sync(ScheduleKind::Valuation, connected, utc(2026, 2, 1, 0, 0)),
            Some(utc(2026, 2, 28, 3, 0))
        );
    }

    #[test]
    fn provider_caps_are_known_by_name() {
        assert_eq!(provider_daily_cap("Triodos Bank"), Some(4));
        assert_eq!(provider_daily_cap("Monzo"), None);
    }
}
