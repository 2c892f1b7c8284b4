//! What state a connection is in and the one thing that fixes it, with the reason.
//!
//! A pure function of what Moneyhub says about the connection, the kinds of account in it, how
//! the provider is doing, when a manual sync is allowed, which fixes were already tried, and
//! `now`. It follows the rules in the seed documents and `moneyhub-api.md` §7; Moneyhub's own
//! words for an error are kept in `detail`. The UI renders it; nothing here does I/O.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::sync_policy::SyncAllowance;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Api,
    Legacy,
    /// Moneyhub's test banks behave as open-banking ones.
    Test,
    /// Zoopla, Mouseprice, Auto Trader: updated monthly.
    Valuation,
}

impl Kind {
    fn open_banking(self) -> bool {
        matches!(self, Kind::Api | Kind::Test)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Ok,
    Error,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Resync,
    SyncError,
    SyncPartial,
    MfaRequired,
    CredentialsError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ExtendedStatus {
    Expired,
    StoppedSyncing,
}

/// What Moneyhub says about a connection, plus its accounts' types.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub kind: Kind,
    pub status: Status,
    pub error: Option<ErrorCode>,
    pub extended_status: Option<ExtendedStatus>,
    pub last_updated: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub tpp_consent: bool,
    pub single_sync_only: bool,
    pub account_types: Vec<String>,
    /// The provider reports problems syncing (`status.sync` not `AVAILABLE`).
    pub provider_degraded: bool,
}

/// The user's fixes already tried since the connection's current problem started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tried {
    pub sync: bool,
    pub reauth: bool,
    pub reconsent: bool,
    pub refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// Healthy.
    Ok,
    /// Worth knowing (e.g. consent ends in 14 days, data still arriving).
    Info,
    /// Soon needs the user (consent ends within 3 days, data is getting old).
    Warning,
    /// Needs the user now.
    Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Fix {
    Reauth,
    Reconsent,
    Refresh,
    Sync,
    Wait {
        #[specta(type = Option<String>)]
        until: Option<DateTime<Utc>>,
    },
    ContactSupport,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Reauth,
    Reconsent,
    Refresh,
    Sync,
    Remove,
}

/// One action and, when it is not allowed, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ActionState {
    pub action: Action,
    pub allowed: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub severity: Severity,
    pub headline: String,
    pub detail: String,
    pub recommended: Fix,
    pub actions: Vec<ActionState>,
    /// Whole days until the consent ends (negative once it has).
    #[specta(type = Option<f64>)]
    pub consent_days_left: Option<i64>,
    /// The reminder point reached: 14, 7, 3 or 1 days before the consent ends.
    pub consent_reminder: Option<u8>,
}

const REMINDER_POINTS: [u8; 4] = [14, 7, 3, 1];

/// `resync` is set when `lastUpdated` is older than this (40 days for slow-moving accounts).
pub fn staleness_threshold(facts: &Facts) -> Duration {
    let slow =
        !facts.account_types.is_empty() && facts.account_types.iter().all(|t| is_slow_account(t));
    if slow || facts.kind == Kind::Valuation {
        Duration::days(40)
    } else {
        Duration::days(2)
    }
}

fn is_slow_account(account_type: &str) -> bool {
    account_type.starts_with("properties:")
        || account_type == "asset"
        || account_type.starts_with("mortgage:")
        || account_type == "loan"
        || account_type == "loans"
}

fn moneyhub_words(error: ErrorCode) -> &'static str {
    match error {
        ErrorCode::Resync => {
            "This connection hasn't been updated recently, most likely due to the requirement for the user to enter multi factor authentication."
        }
        ErrorCode::SyncError => {
            "There was an error syncing this connection. This may be due to the connection expiring."
        }
        ErrorCode::SyncPartial => {
            "There was an error syncing some of the transactions on this account."
        }
        ErrorCode::MfaRequired => {
            "This connection requires multi factor authentication and needs user input."
        }
        ErrorCode::CredentialsError => {
            "This connection can no longer be updated, the user may have changed their credentials or revoked access."
        }
    }
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

/// The assessment; see the module docs.
pub fn assess(
    facts: &Facts,
    allowance: SyncAllowance,
    tried: &Tried,
    now: DateTime<Utc>,
) -> Health {
    let consent_days_left = facts
        .expires_at
        .map(|at| (at - now).num_seconds().div_euclid(86_400));
    let expired = facts.extended_status == Some(ExtendedStatus::Expired)
        || facts.expires_at.is_some_and(|at| at <= now);
    let renew = if facts.kind.open_banking() && facts.tpp_consent {
        Fix::Reconsent
    } else {
        Fix::Reauth
    };
    // The user's own fix for "the bank needs you": refresh for screen-scraping, reauth otherwise.
    let user_fix = if facts.kind == Kind::Legacy {
        Fix::Refresh
    } else {
        Fix::Reauth
    };
    let sync_now_or_wait = match allowance {
        SyncAllowance::Now { .. } => Fix::Sync,
        SyncAllowance::At { at, .. } => Fix::Wait { until: Some(at) },
    };
    let stale_by_age = facts.status != Status::Never
        && facts
            .last_updated
            .is_some_and(|updated| now - updated > staleness_threshold(facts));
    let error = match facts.error {
        None if stale_by_age => Some(ErrorCode::Resync),
        other => other,
    };

    let (severity, headline, mut detail, recommended): (Severity, String, String, Fix) = if expired
    {
        let when = facts
            .expires_at
            .map(day)
            .unwrap_or_else(|| "recently".into());
        let how = if renew == Fix::Reconsent {
            "Renew your consent (no need to log in to your bank)."
        } else {
            "Log in to your bank again to renew access."
        };
        (
            Severity::Action,
            "Consent expired".into(),
            format!("Your consent ended on {when}, so the data is frozen as it was. {how}"),
            renew,
        )
    } else if facts.extended_status == Some(ExtendedStatus::StoppedSyncing) {
        (
            Severity::Action,
            "Stopped syncing".into(),
            "Moneyhub stopped retrying after 3 days of failed syncs.".into(),
            user_fix,
        )
    } else if let Some(code) = error {
        let words = moneyhub_words(code);
        match code {
            ErrorCode::CredentialsError => (
                Severity::Action,
                "Bank login needed".into(),
                words.into(),
                Fix::Reauth,
            ),
            ErrorCode::MfaRequired => (
                Severity::Action,
                "Your bank needs you".into(),
                words.into(),
                user_fix,
            ),
            ErrorCode::Resync if facts.single_sync_only && facts.kind == Kind::Legacy => (
                Severity::Action,
                "Waiting for you to refresh".into(),
                format!("This connection only updates when you refresh it. {words}"),
                Fix::Refresh,
            ),
            ErrorCode::Resync => {
                let fix = if tried.sync {
                    user_fix
                } else {
                    sync_now_or_wait
                };
                (
                    Severity::Warning,
                    "Not updated recently".into(),
                    words.into(),
                    fix,
                )
            }
            ErrorCode::SyncError => {
                let fix = if facts.provider_degraded {
                    Fix::Wait { until: None }
                } else if tried.sync {
                    user_fix
                } else {
                    sync_now_or_wait
                };
                (Severity::Warning, "Sync failed".into(), words.into(), fix)
            }
            ErrorCode::SyncPartial => {
                let fix = if tried.sync {
                    user_fix
                } else {
                    sync_now_or_wait
                };
                (Severity::Info, "Partly synced".into(), words.into(), fix)
            }
        }
    } else if facts.status == Status::Never {
        (
            Severity::Info,
            "Waiting for first data".into(),
            "Moneyhub has not finished the first sync yet.".into(),
            Fix::Wait { until: None },
        )
    } else if let Some(days) = consent_days_left.filter(|days| *days < 14) {
        let severity = if days < 3 {
            Severity::Warning
        } else {
            Severity::Info
        };
        let fix_text = if renew == Fix::Reconsent {
            "renew it in a couple of clicks"
        } else {
            "log in to your bank again to keep it"
        };
        (
            severity,
            format!(
                "Consent ends in {} day{}",
                days.max(0),
                if days == 1 { "" } else { "s" }
            ),
            format!("Access to this connection ends soon; {fix_text}."),
            renew,
        )
    } else if facts.single_sync_only && facts.kind == Kind::Legacy {
        (
            Severity::Ok,
            "Up to date".into(),
            "This connection only updates when you refresh it.".into(),
            Fix::None,
        )
    } else {
        (Severity::Ok, "Up to date".into(), String::new(), Fix::None)
    };

    // The fix was already tried and the problem is still there: only Moneyhub can help now.
    let already_tried = match recommended {
        Fix::Reauth => tried.reauth,
        Fix::Reconsent => tried.reconsent,
        Fix::Refresh => tried.refresh,
        _ => false,
    };
    let recommended = if already_tried && severity >= Severity::Warning {
        detail = format!("{detail} You already tried that and the problem is still there.");
        Fix::ContactSupport
    } else {
        recommended
    };

    let consent_reminder = consent_days_left
        .filter(|days| *days >= 0)
        .and_then(|days| {
            REMINDER_POINTS
                .iter()
                .rev()
                .find(|point| days < i64::from(**point))
                .copied()
        });

    Health {
        severity,
        headline,
        detail: detail.trim().to_string(),
        recommended,
        actions: actions(facts, allowance, expired),
        consent_days_left,
        consent_reminder,
    }
}

fn actions(facts: &Facts, allowance: SyncAllowance, expired: bool) -> Vec<ActionState> {
    let allow = |action| ActionState {
        action,
        allowed: true,
        reason: None,
    };
    let deny = |action, reason: String| ActionState {
        action,
        allowed: false,
        reason: Some(reason),
    };
    let reconsent = if !facts.kind.open_banking() {
        deny(
            Action::Reconsent,
            "Reconsent is only for open-banking connections.".into(),
        )
    } else if !facts.tpp_consent {
        deny(
            Action::Reconsent,
            "This bank needs a full re-authentication to renew access.".into(),
        )
    } else {
        allow(Action::Reconsent)
    };
    let refresh = if facts.kind == Kind::Legacy {
        allow(Action::Refresh)
    } else {
        deny(
            Action::Refresh,
            "Refresh is only for screen-scraping connections.".into(),
        )
    };
    let sync = if expired {
        deny(
            Action::Sync,
            "The consent has ended, so a sync cannot fetch anything.".into(),
        )
    } else {
        match allowance {
            SyncAllowance::Now { .. } => allow(Action::Sync),
            SyncAllowance::At { at, reason } => {
                let why = match reason {
                    crate::sync_policy::WaitReason::Cooldown => {
                        "Moneyhub allows one sync every 30 minutes"
                    }
                    crate::sync_policy::WaitReason::DailyCap => {
                        "this bank's daily limit is used up"
                    }
                    crate::sync_policy::WaitReason::ServerAsked => "Moneyhub asked to wait",
                };
                deny(
                    Action::Sync,
                    format!("Available at {} ({why}).", at.format("%H:%M UTC")),
                )
            }
        }
    };
    vec![
        allow(Action::Reauth),
        reconsent,
        refresh,
        sync,
        allow(Action::Remove),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_policy::WaitReason;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid")
    }

    fn healthy(kind: Kind) -> Facts {
        Facts {
            kind,
            status: Status::Ok,
            error: None,
            extended_status: None,
            last_updated: Some(now() - Duration::hours(3)),
            expires_at: Some(now() + Duration::days(60)),
            tpp_consent: matches!(kind, Kind::Api | Kind::Test),
            single_sync_only: false,
            account_types: vec!["cash:current".into()],
            provider_degraded: false,
        }
    }

    const NOW: SyncAllowance = SyncAllowance::Now { left_today: None };

    fn wait_until() -> SyncAllowance {
        SyncAllowance::At {
            at: now() + Duration::minutes(20),
            reason: WaitReason::Cooldown,
        }
    }

    #[test]
    fn the_recommended_fix_follows_the_rules() {
        let sync_tried = Tried {
            sync: true,
            ..Tried::default()
        };
        let reauth_tried = Tried {
            sync: true,
            reauth: true,
            ..Tried::default()
        };
        let refresh_tried = Tried {
            sync: true,
            refresh: true,
            ..Tried::default()
        };
        let cases: Vec<(&str, Facts, SyncAllowance, Tried, Fix, Severity)> = vec![
            (
                "healthy api",
                healthy(Kind::Api),
                NOW,
                Tried::default(),
                Fix::None,
                Severity::Ok,
            ),
            (
                "healthy legacy",
                healthy(Kind::Legacy),
                NOW,
                Tried::default(),
                Fix::None,
                Severity::Ok,
            ),
            (
                "expired with tppConsent",
                Facts {
                    extended_status: Some(ExtendedStatus::Expired),
                    error: Some(ErrorCode::SyncError),
                    status: Status::Error,
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Reconsent,
                Severity::Action,
            ),
            (
                "expired without tppConsent",
                Facts {
                    extended_status: Some(ExtendedStatus::Expired),
                    tpp_consent: false,
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Reauth,
                Severity::Action,
            ),
            (
                "expiresAt passed, not yet flagged",
                Facts {
                    expires_at: Some(now() - Duration::hours(1)),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Reconsent,
                Severity::Action,
            ),
            (
                "legacy expired",
                Facts {
                    expires_at: Some(now() - Duration::hours(1)),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                Tried::default(),
                Fix::Reauth,
                Severity::Action,
            ),
            (
                "credentials error",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::CredentialsError),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                Tried::default(),
                Fix::Reauth,
                Severity::Action,
            ),
            (
                "mfa on legacy",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::MfaRequired),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                Tried::default(),
                Fix::Refresh,
                Severity::Action,
            ),
            (
                "mfa on api never refresh",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::MfaRequired),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Reauth,
                Severity::Action,
            ),
            (
                "resync: sync first",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::Resync),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Sync,
                Severity::Warning,
            ),
            (
                "resync: wait for the cooldown",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::Resync),
                    ..healthy(Kind::Api)
                },
                wait_until(),
                Tried::default(),
                Fix::Wait {
                    until: Some(now() + Duration::minutes(20)),
                },
                Severity::Warning,
            ),
            (
                "resync after a sync: api reauth",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::Resync),
                    ..healthy(Kind::Api)
                },
                NOW,
                sync_tried.clone(),
                Fix::Reauth,
                Severity::Warning,
            ),
            (
                "resync after a sync: legacy refresh",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::Resync),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                sync_tried.clone(),
                Fix::Refresh,
                Severity::Warning,
            ),
            (
                "stale by age before the server says so",
                Facts {
                    last_updated: Some(now() - Duration::days(3)),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Sync,
                Severity::Warning,
            ),
            (
                "a mortgage is not stale at 10 days",
                Facts {
                    last_updated: Some(now() - Duration::days(10)),
                    account_types: vec!["mortgage:repayment".into()],
                    ..healthy(Kind::Legacy)
                },
                NOW,
                Tried::default(),
                Fix::None,
                Severity::Ok,
            ),
            (
                "a mortgage is stale at 41 days",
                Facts {
                    last_updated: Some(now() - Duration::days(41)),
                    account_types: vec!["mortgage:repayment".into()],
                    ..healthy(Kind::Legacy)
                },
                NOW,
                Tried::default(),
                Fix::Sync,
                Severity::Warning,
            ),
            (
                "a valuation is fine at 30 days",
                Facts {
                    last_updated: Some(now() - Duration::days(30)),
                    account_types: vec!["properties:residential".into()],
                    ..healthy(Kind::Valuation)
                },
                NOW,
                Tried::default(),
                Fix::None,
                Severity::Ok,
            ),
            (
                "sync error: sync first",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::SyncError),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Sync,
                Severity::Warning,
            ),
            (
                "sync error with the bank down: wait",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::SyncError),
                    provider_degraded: true,
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Wait { until: None },
                Severity::Warning,
            ),
            (
                "sync error after a sync: legacy refresh",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::SyncError),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                sync_tried.clone(),
                Fix::Refresh,
                Severity::Warning,
            ),
            (
                "partial: sync first",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::SyncPartial),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Sync,
                Severity::Info,
            ),
            (
                "stopped syncing api",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::SyncError),
                    extended_status: Some(ExtendedStatus::StoppedSyncing),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Reauth,
                Severity::Action,
            ),
            (
                "stopped syncing legacy",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::SyncError),
                    extended_status: Some(ExtendedStatus::StoppedSyncing),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                Tried::default(),
                Fix::Refresh,
                Severity::Action,
            ),
            (
                "single-sync legacy gone stale",
                Facts {
                    single_sync_only: true,
                    status: Status::Error,
                    error: Some(ErrorCode::Resync),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                Tried::default(),
                Fix::Refresh,
                Severity::Action,
            ),
            (
                "reauth already tried",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::CredentialsError),
                    ..healthy(Kind::Api)
                },
                NOW,
                reauth_tried,
                Fix::ContactSupport,
                Severity::Action,
            ),
            (
                "refresh already tried",
                Facts {
                    status: Status::Error,
                    error: Some(ErrorCode::MfaRequired),
                    ..healthy(Kind::Legacy)
                },
                NOW,
                refresh_tried,
                Fix::ContactSupport,
                Severity::Action,
            ),
            (
                "consent ends in 10 days",
                Facts {
                    expires_at: Some(now() + Duration::days(10) + Duration::hours(1)),
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Reconsent,
                Severity::Info,
            ),
            (
                "consent ends in 2 days",
                Facts {
                    expires_at: Some(now() + Duration::days(2) + Duration::hours(1)),
                    tpp_consent: false,
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Reauth,
                Severity::Warning,
            ),
            (
                "never synced",
                Facts {
                    status: Status::Never,
                    last_updated: None,
                    ..healthy(Kind::Api)
                },
                NOW,
                Tried::default(),
                Fix::Wait { until: None },
                Severity::Info,
            ),
        ];
        for (name, facts, allowance, tried, fix, severity) in cases {
            let health = assess(&facts, allowance, &tried, now());
            assert_eq!(
                (health.recommended, health.severity),
                (fix, severity),
                "{name}: {health:?}"
            );
            assert!(!health.headline.is_empty(), "{name}");
        }
    }

    #[test]
    fn moneyhubs_own_words_are_kept() {
        let facts = Facts {
            status: Status::Error,
            error: Some(ErrorCode::CredentialsError),
            ..healthy(Kind::Api)
        };
        assert!(
            assess(&facts, NOW, &Tried::default(), now())
                .detail
                .contains("may have changed their credentials")
        );
    }

    #[test]
    fn reminders_fall_at_14_7_3_and_1_days() {
        for (days, point) in [
            (20, None),
            (13, Some(14)),
            (6, Some(7)),
            (2, Some(3)),
            (0, Some(1)),
        ] {
            let facts = Facts {
                expires_at: Some(now() + Duration::days(days) + Duration::hours(1)),
                ..healthy(Kind::Api)
            };
            assert_eq!(
                assess(&facts, NOW, &Tried::default(), now()).consent_reminder,
                point,
                "{days} days"
            );
        }
    }

    /// Whatever the state: refresh is never recommended or allowed for open-banking connections,
    /// reconsent never without tppConsent, sync never while waiting, and a reason is given for
    /// every action that is not allowed.
    #[test]
    fn invariants_hold_for_every_combination() {
        let kinds = [Kind::Api, Kind::Legacy, Kind::Test, Kind::Valuation];
        let statuses = [Status::Ok, Status::Error, Status::Never];
        let errors = [
            None,
            Some(ErrorCode::Resync),
            Some(ErrorCode::SyncError),
            Some(ErrorCode::SyncPartial),
            Some(ErrorCode::MfaRequired),
            Some(ErrorCode::CredentialsError),
        ];
        let extended = [
            None,
            Some(ExtendedStatus::Expired),
            Some(ExtendedStatus::StoppedSyncing),
        ];
        let expiries = [None, Some(-1), Some(2), Some(10), Some(60)];
        let allowances = [NOW, wait_until()];
        let mut checked = 0;
        for kind in kinds {
            for status in statuses {
                for error in errors {
                    for ext in extended {
                        for expiry in expiries {
                            for tpp in [false, true] {
                                for single in [false, true] {
                                    for allowance in allowances {
                                        for tried_mask in 0..16u8 {
                                            let tried = Tried {
                                                sync: tried_mask & 1 != 0,
                                                reauth: tried_mask & 2 != 0,
                                                reconsent: tried_mask & 4 != 0,
                                                refresh: tried_mask & 8 != 0,
                                            };
                                            let facts = Facts {
                                                kind,
                                                status,
                                                error,
                                                extended_status: ext,
                                                tpp_consent: tpp,
                                                single_sync_only: single,
                                                expires_at: expiry
                                                    .map(|d| now() + Duration::days(d)),
                                                ..healthy(kind)
                                            };
                                            let health = assess(&facts, allowance, &tried, now());
                                            let open_banking =
                                                matches!(kind, Kind::Api | Kind::Test);
                                            if open_banking {
                                                assert_ne!(
                                                    health.recommended,
                                                    Fix::Refresh,
                                                    "{facts:?}"
                                                );
                                            }
                                            if !(open_banking && tpp) {
                                                assert_ne!(
                                                    health.recommended,
                                                    Fix::Reconsent,
                                                    "{facts:?}"
                                                );
                                            }
                                            if matches!(allowance, SyncAllowance::At { .. }) {
                                                assert_ne!(
                                                    health.recommended,
                                                    Fix::Sync,
                                                    "{facts:?}"
                                                );
                                            }
                                            for action in &health.actions {
                                                assert_eq!(
                                                    action.allowed,
                                                    action.reason.is_none(),
                                                    "{action:?}"
                                                );
                                            }
                                            let recommended_action = match health.recommended {
                                                Fix::Reauth => Some(Action::Reauth),
                                                Fix::Reconsent => Some(Action::Reconsent),
                                                Fix::Refresh => Some(Action::Refresh),
                                                Fix::Sync => Some(Action::Sync),
                                                _ => None,
                                            };
                                            if let Some(action) = recommended_action {
                                                let state = health
                                                    .actions
                                                    .iter()
                                                    .find(|a| a.action == action)
                                                    .expect("listed");
                                                assert!(
                                                    state.allowed,
                                                    "recommended {action:?} but not allowed: {facts:?}"
                                                );
                                            }
                                            checked += 1;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }
}
