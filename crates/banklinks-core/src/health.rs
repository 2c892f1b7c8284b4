//! What state a connection is in and the one thing that fixes it, with the reason.
//!
//! A pure function of what Moneyhub says about the connection, the kinds of account in it, how
//! the provider is doing, when a manual sync is allowed, which fixes were already tried, and
//! `now`. It follows the rules in the seed documents and `moneyhub-api.md` §7; Moneyhub's own
//! words for an error are kept in `detail`. The UI renders it; nothing here does I/O.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::sync_policy::{ScheduleKind, SyncAllowance, WaitReason};

/// What kind of link a connection is, which decides which fixes exist for it. The UI labels
/// this enum and nothing else, so a kind the core treats one way is never shown as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionKind {
    /// Open banking (`api`).
    OpenBanking,
    /// Screen-scraping (`legacy`): refreshed with the user present.
    ScreenScraping,
    /// Moneyhub's test banks behave as open-banking ones.
    Test,
    /// Zoopla, Mouseprice, Auto Trader: updated monthly.
    Valuation,
    /// A type Moneyhub added that this version does not know: only the fixes every connection
    /// has (reauthenticate, remove) are offered, never ones that assume a kind.
    Other,
}

impl ConnectionKind {
    /// From Moneyhub's connection `type`.
    pub fn from_wire(kind: &str) -> Self {
        match kind {
            "api" => ConnectionKind::OpenBanking,
            "legacy" => ConnectionKind::ScreenScraping,
            "test" => ConnectionKind::Test,
            "zoopla" | "mouseprice" | "autotrader" => ConnectionKind::Valuation,
            _ => ConnectionKind::Other,
        }
    }

    pub fn open_banking(self) -> bool {
        matches!(self, ConnectionKind::OpenBanking | ConnectionKind::Test)
    }

    /// Moneyhub's automatic-sync schedule for this kind, when it has a known one.
    pub fn schedule(self) -> Option<ScheduleKind> {
        match self {
            ConnectionKind::OpenBanking | ConnectionKind::Test => Some(ScheduleKind::OpenBanking),
            ConnectionKind::ScreenScraping => Some(ScheduleKind::Legacy),
            ConnectionKind::Valuation => Some(ScheduleKind::Valuation),
            ConnectionKind::Other => None,
        }
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
    pub kind: ConnectionKind,
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
    /// The provider's cap on manual syncs per UK day, when it has one.
    pub daily_sync_cap: Option<u32>,
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

/// Why an action is refused. A typed code with its parameters: the UI words it (and writes any
/// time in the user's zone), so no sentence is composed twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "code"
)]
pub enum ActionReason {
    /// Reconsent exists only for open-banking connections.
    ReconsentOnlyOpenBanking,
    /// The bank gives no `tppConsent`: renewing access needs a full reauthentication.
    NeedsFullReauth,
    /// Refresh exists only for screen-scraping connections.
    RefreshOnlyScreenScraping,
    /// The consent has ended, so a sync cannot fetch anything.
    ConsentEnded,
    /// Moneyhub's one sync per connection every `minutes` minutes.
    Cooldown { minutes: u32 },
    /// The provider's cap of `cap` manual syncs a UK day is used up.
    DailyCap { cap: u32 },
    /// Moneyhub answered 429 with a time to retry.
    ServerAsked,
}

impl ActionReason {
    /// Refused only until a time passes: the action can be queued for then.
    pub fn is_only_time(self) -> bool {
        matches!(
            self,
            ActionReason::Cooldown { .. }
                | ActionReason::DailyCap { .. }
                | ActionReason::ServerAsked
        )
    }

    /// The reason in words, for errors and logs (the UI words the code itself).
    pub fn describe(self) -> &'static str {
        match self {
            ActionReason::ReconsentOnlyOpenBanking => {
                "Reconsent is only for open-banking connections."
            }
            ActionReason::NeedsFullReauth => {
                "This bank needs a full re-authentication to renew access."
            }
            ActionReason::RefreshOnlyScreenScraping => {
                "Refresh is only for screen-scraping connections."
            }
            ActionReason::ConsentEnded => "The consent has ended, so a sync cannot fetch anything.",
            ActionReason::Cooldown { .. } => "Moneyhub allows one sync every 30 minutes.",
            ActionReason::DailyCap { .. } => "This bank's daily limit of syncs is used up.",
            ActionReason::ServerAsked => "Moneyhub asked to wait before the next sync.",
        }
    }
}

/// What the core says about one action on one connection: whether it is allowed, and if not,
/// why and (when only time stands in the way) from when. The UI renders this and never works
/// it out again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ActionCheck {
    pub action: Action,
    pub allowed: bool,
    /// Set exactly when the action is refused for time alone.
    #[specta(type = Option<String>)]
    pub available_at: Option<DateTime<Utc>>,
    pub reason: Option<ActionReason>,
    /// For sync under a provider cap: manual syncs left today (with `allowed`).
    pub left_today: Option<u32>,
}

impl ActionCheck {
    fn allow(action: Action) -> Self {
        ActionCheck {
            action,
            allowed: true,
            available_at: None,
            reason: None,
            left_today: None,
        }
    }

    fn deny(action: Action, reason: ActionReason) -> Self {
        ActionCheck {
            action,
            allowed: false,
            available_at: None,
            reason: Some(reason),
            left_today: None,
        }
    }

    /// Refused for now but allowed from `at`: "sync as soon as allowed" can wait for it.
    pub fn queueable(&self) -> bool {
        !self.allowed && self.available_at.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub severity: Severity,
    pub headline: String,
    pub detail: String,
    pub recommended: Fix,
    /// Every action, in the order the UI lists them.
    pub actions: Vec<ActionCheck>,
    /// Whole days until the consent ends (negative once it has).
    #[specta(type = Option<f64>)]
    pub consent_days_left: Option<i64>,
    /// The reminder point reached: 14, 7, 3 or 1 days before the consent ends.
    pub consent_reminder: Option<u8>,
}

impl Health {
    /// The check for one action (every action is always listed).
    pub fn check(&self, action: Action) -> Option<&ActionCheck> {
        self.actions.iter().find(|check| check.action == action)
    }
}

const REMINDER_POINTS: [u8; 4] = [14, 7, 3, 1];

/// `resync` is set when `lastUpdated` is older than this (40 days for slow-moving accounts).
pub fn staleness_threshold(facts: &Facts) -> Duration {
    let slow =
        !facts.account_types.is_empty() && facts.account_types.iter().all(|t| is_slow_account(t));
    if slow || facts.kind == ConnectionKind::Valuation {
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
    let user_fix = if facts.kind == ConnectionKind::ScreenScraping {
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
            ErrorCode::Resync
                if facts.single_sync_only && facts.kind == ConnectionKind::ScreenScraping =>
            {
                (
                    Severity::Action,
                    "Waiting for you to refresh".into(),
                    format!("This connection only updates when you refresh it. {words}"),
                    Fix::Refresh,
                )
            }
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
    } else if facts.single_sync_only && facts.kind == ConnectionKind::ScreenScraping {
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

fn actions(facts: &Facts, allowance: SyncAllowance, expired: bool) -> Vec<ActionCheck> {
    let reconsent = if !facts.kind.open_banking() {
        ActionCheck::deny(Action::Reconsent, ActionReason::ReconsentOnlyOpenBanking)
    } else if !facts.tpp_consent {
        ActionCheck::deny(Action::Reconsent, ActionReason::NeedsFullReauth)
    } else {
        ActionCheck::allow(Action::Reconsent)
    };
    let refresh = if facts.kind == ConnectionKind::ScreenScraping {
        ActionCheck::allow(Action::Refresh)
    } else {
        ActionCheck::deny(Action::Refresh, ActionReason::RefreshOnlyScreenScraping)
    };
    let sync = if expired {
        ActionCheck::deny(Action::Sync, ActionReason::ConsentEnded)
    } else {
        match allowance {
            SyncAllowance::Now { left_today } => ActionCheck {
                left_today,
                ..ActionCheck::allow(Action::Sync)
            },
            SyncAllowance::At { at, reason } => {
                let reason = match reason {
                    WaitReason::Cooldown => ActionReason::Cooldown {
                        minutes: u32::try_from(crate::sync_policy::SYNC_COOLDOWN.num_minutes())
                            .unwrap_or(30),
                    },
                    WaitReason::DailyCap => ActionReason::DailyCap {
                        cap: facts.daily_sync_cap.unwrap_or(0),
                    },
                    WaitReason::ServerAsked => ActionReason::ServerAsked,
                };
                ActionCheck {
                    available_at: Some(at),
                    ..ActionCheck::deny(Action::Sync, reason)
                }
            }
        }
    };
    vec![
        ActionCheck::allow(Action::Reauth),
        reconsent,
        refresh,
        sync,
        ActionCheck::allow(Action::Remove),
    ]
}

#[cfg(test)]
mod tests;
