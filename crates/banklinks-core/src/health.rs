//! What state a connection is in and the one thing that fixes it, with the reason.
//!
//! A pure function of what Moneyhub says about the connection, the kinds of account in it, how
//! the provider is doing, when a manual sync is allowed, which fixes were already tried, and
//! `now`. It follows the rules in the seed documents and `moneyhub-api.md` §7; Moneyhub's own
//! words for an error are kept in `detail`. The UI renders it; nothing here does I/O.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::calendar::Moment;

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
    /// `status: "error"` with a code the published docs do not list, or with none: never
    /// health (Moneyhub adds codes without notice). `Facts::raw_error` keeps what it said.
    Undocumented,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ExtendedStatus {
    Expired,
    StoppedSyncing,
    /// A value the published docs do not list; `Facts::raw_extended_status` keeps it.
    Undocumented,
}

/// What Moneyhub says about a connection, plus its accounts' types.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub kind: ConnectionKind,
    pub status: Status,
    pub error: Option<ErrorCode>,
    pub extended_status: Option<ExtendedStatus>,
    pub last_updated: Option<DateTime<Utc>>,
    /// Moneyhub's last attempt, successful or not (`lastSyncedAt`).
    pub last_synced_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub tpp_consent: bool,
    pub single_sync_only: bool,
    pub account_types: Vec<String>,
    /// The provider reports problems syncing (`status.sync` not `AVAILABLE`).
    pub provider_degraded: bool,
    /// The provider's cap on manual syncs per UK day, when it has one.
    pub daily_sync_cap: Option<u32>,
    /// `error` and `extendedStatus` as Moneyhub wrote them, shown when undocumented.
    pub raw_error: Option<String>,
    pub raw_extended_status: Option<String>,
    /// Moneyhub stopped listing the connection (deleted elsewhere) at this time.
    pub removed_at_source: Option<DateTime<Utc>>,
    /// Moneyhub is running a sync of it now.
    pub syncing: bool,
}

impl Facts {
    /// `singleSyncOnly`: Moneyhub syncs the connection once and not again without the person.
    /// The seed says this applies only to legacy connections today; what it means does not depend
    /// on the kind, so every rule that reads it (the state, the next automatic sync) reads this.
    pub fn syncs_only_when_asked(&self) -> bool {
        self.single_sync_only
    }

    /// A single-sync legacy connection is brought up to date by the refresh flow, and Moneyhub
    /// refuses it a manual sync; any other kind's input from the person is a manual sync.
    fn syncs_by_refresh_only(&self) -> bool {
        self.syncs_only_when_asked() && self.kind == ConnectionKind::ScreenScraping
    }
}

/// Moneyhub's schedule runs for this connection: not once consent has ended, after it stopped
/// retrying, for a single-sync connection (it waits for the person), or once it is gone.
pub fn moneyhub_schedules(facts: &Facts, health: &Health) -> bool {
    let expired = health.consent.as_ref().is_some_and(|c| c.ended)
        || facts.extended_status == Some(ExtendedStatus::Expired);
    !expired
        && facts.removed_at_source.is_none()
        && facts.extended_status.is_none()
        && !facts.syncs_only_when_asked()
}

/// The user's fixes already tried since the connection's current problem started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tried {
    pub sync: bool,
    pub reauth: bool,
    pub reconsent: bool,
    pub refresh: bool,
    /// When the latest of those fixes was completed.
    pub latest: Option<DateTime<Utc>>,
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
    /// Remove it from Banklinks (it is gone at Moneyhub; its data here is history).
    Remove,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub severity: Severity,
    pub headline: String,
    pub detail: String,
    pub recommended: Fix,
    /// Every action, in the order the UI lists them.
    pub actions: Vec<ActionCheck>,
    /// The recommended fix's button, in words ("Answer your bank’s security question" for a
    /// refresh the bank asks for). A wait with a time is worded by the UI around `until`.
    pub fix_label: Option<String>,
    /// The consent's end, counted and worded once for every surface.
    pub consent: Option<Consent>,
    /// Moneyhub no longer shares new data for it (its consent ended or Moneyhub says expired):
    /// what is shown is frozen as it was.
    pub consent_ended: bool,
    /// The one "needs you" rule: the dashboard's summary, the tray and renew all count this.
    pub needs_you: bool,
    /// Moneyhub keeps trying and failing: its last success, while attempts go on after it.
    /// Absent when Moneyhub has stopped (stopped syncing, consent ended, gone).
    #[specta(type = Option<String>)]
    pub failing_since: Option<DateTime<Utc>>,
    /// When these words stop being true by time alone (a local midnight turns "tomorrow" into
    /// "today", the consent's end turns "ends today" into "ended"): the page reads them again.
    #[specta(type = Option<String>)]
    pub words_change_at: Option<DateTime<Utc>>,
}

/// A consent's end in the person's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    #[specta(type = String)]
    pub ends_at: DateTime<Utc>,
    /// Calendar days in the person's zone from today to the day it ends: 0 on its last day,
    /// negative once that day has passed.
    #[specta(type = f64)]
    pub days_left: i64,
    pub ended: bool,
    /// "Consent ends in 12 days", "Consent ends tomorrow", "Consent ends today at 16:00",
    /// "Consent ended yesterday (6 Dec)": the same line on the card, the page and a notice.
    pub text: String,
    /// Ended, or ends within 3 days: the card's urgent style and a warning at least.
    pub urgent: bool,
    /// Ended or ends within 14 days: worth renewing now ("renew all" takes it).
    pub due: bool,
    /// The reminder point reached: 14, 7, 3 or 1 days before the consent ends.
    pub reminder: Option<u8>,
}

impl Health {
    /// The check for one action (every action is always listed).
    pub fn check(&self, action: Action) -> Option<&ActionCheck> {
        self.actions.iter().find(|check| check.action == action)
    }
}

const REMINDER_POINTS: [u8; 4] = [14, 7, 3, 1];

/// A consent ending within this many days is due: the card says so and "renew all" takes it.
pub const CONSENT_DUE_WITHIN_DAYS: i64 = 14;

/// A consent ending within this many days is urgent: a warning, and the card's urgent style.
pub const CONSENT_URGENT_WITHIN_DAYS: i64 = 3;

fn consent(expires_at: DateTime<Utc>, expired: bool, moment: Moment) -> Consent {
    let days_left = moment.days_until(expires_at);
    let ended = expired || expires_at <= moment.now;
    let text = if ended {
        match days_left {
            0 => "Consent ended today".to_string(),
            -1 => format!("Consent ended yesterday ({})", moment.day(expires_at)),
            // Moneyhub says it has expired though its end date is still ahead.
            days if days > 0 => "Consent ended".to_string(),
            _ => format!("Consent ended on {}", moment.day(expires_at)),
        }
    } else {
        match days_left {
            0 => format!("Consent ends today at {}", moment.clock(expires_at)),
            1 => "Consent ends tomorrow".to_string(),
            days => format!("Consent ends in {days} days"),
        }
    };
    let reminder = (!ended)
        .then(|| {
            REMINDER_POINTS
                .iter()
                .rev()
                .find(|point| days_left <= i64::from(**point))
                .copied()
        })
        .flatten();
    Consent {
        ends_at: expires_at,
        days_left,
        ended,
        text,
        urgent: ended || days_left <= CONSENT_URGENT_WITHIN_DAYS,
        due: ended || days_left <= CONSENT_DUE_WITHIN_DAYS,
        reminder,
    }
}

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
        ErrorCode::Undocumented => "",
        ErrorCode::CredentialsError => {
            "This connection can no longer be updated, the user may have changed their credentials or revoked access."
        }
    }
}

/// The assessment; see the module docs.
pub fn assess(
    facts: &Facts,
    allowance: SyncAllowance,
    tried: &Tried,
    moment: impl Into<Moment>,
) -> Health {
    let moment = moment.into();
    let now = moment.now;
    let expired = facts.extended_status == Some(ExtendedStatus::Expired)
        || facts.expires_at.is_some_and(|at| at <= now);
    // A connection Moneyhub no longer has has no consent to count down, on any surface.
    let consent = facts
        .expires_at
        .filter(|_| facts.removed_at_source.is_none())
        .map(|at| consent(at, expired, moment));
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
        // Moneyhub refuses a manual sync of a single-sync legacy connection; refresh is its sync.
        _ if facts.syncs_by_refresh_only() => Fix::Refresh,
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
    // Moneyhub said nothing is wrong; the age of the data is Banklinks' own inference, so it is
    // told in Banklinks' words, never in Moneyhub's (which blame multi-factor authentication).
    let inferred = (facts.error.is_none() && stale_by_age).then(|| {
        format!(
            "Banklinks has had no new data for this connection for over {} days, though Moneyhub reported no problem when last asked.",
            staleness_threshold(facts).num_days()
        )
    });

    let (severity, headline, mut detail, recommended): (Severity, String, String, Fix) =
        if let Some(gone) = facts.removed_at_source {
            (
                Severity::Action,
                "Removed at Moneyhub".into(),
                format!(
                    "Moneyhub stopped listing this connection on {}: it was deleted outside \
                     Banklinks. What was saved here stays as history. Remove it here, or add \
                     the bank again.",
                    moment.day(gone)
                ),
                Fix::Remove,
            )
        } else if expired {
            let how = if renew == Fix::Reconsent {
                "Renew your consent (no need to log in to your bank)."
            } else {
                "Log in to your bank again to renew access."
            };
            // No date here: the card words the one expiry date in the person's own zone, so
            // two lines can never name different days.
            (
                Severity::Action,
                "Consent expired".into(),
                format!("Your consent has ended, so the data is frozen as it was. {how}"),
                renew,
            )
        } else if facts.extended_status == Some(ExtendedStatus::StoppedSyncing) {
            (
                Severity::Action,
                "Stopped syncing".into(),
                "Moneyhub stopped retrying after 3 days of failed syncs.".into(),
                user_fix,
            )
        } else if facts.syncing {
            (
                Severity::Info,
                "Syncing".into(),
                "Moneyhub is fetching from the bank now; this updates when it has finished.".into(),
                // Nothing for the person to do: the card shows the result when it comes.
                Fix::None,
            )
        } else if facts.extended_status == Some(ExtendedStatus::Undocumented) {
            let said = facts.raw_extended_status.as_deref().unwrap_or("unknown");
            (
                Severity::Action,
                "Moneyhub reports a problem".into(),
                format!(
                    "Moneyhub marks this connection “{said}”, a state Banklinks does not know."
                ),
                user_fix,
            )
        } else if let Some(code) = error {
            let words = inferred.as_deref().unwrap_or(moneyhub_words(code));
            match code {
            ErrorCode::CredentialsError => (
                Severity::Action,
                "Bank login needed".into(),
                words.into(),
                Fix::Reauth,
            ),
            // Moneyhub's "requires multi factor authentication and needs user input" is, for
            // the person, a question on the bank's page: one story with the fix's label.
            ErrorCode::MfaRequired => (
                Severity::Action,
                "Your bank needs you".into(),
                "Your bank wants the answer to a security question before it shares new data. It asks on its own page."
                    .into(),
                user_fix,
            ),
            ErrorCode::Resync if facts.syncs_by_refresh_only() => {
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
            ErrorCode::Undocumented => (
                Severity::Action,
                "Moneyhub reports an error".into(),
                match facts.raw_error.as_deref() {
                    Some(code) => {
                        format!(
                            "Moneyhub reports the error “{code}”, which Banklinks does not know."
                        )
                    }
                    None => "Moneyhub marks this connection in error without saying why.".into(),
                },
                user_fix,
            ),
        }
        } else if facts.status == Status::Never {
            (
                Severity::Info,
                "Waiting for first data".into(),
                "Moneyhub has not finished the first sync yet.".into(),
                Fix::Wait { until: None },
            )
        } else if let Some(consent) = consent.as_ref().filter(|consent| consent.due) {
            let severity = if consent.urgent {
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
                consent.text.clone(),
                format!("Access to this connection ends soon; {fix_text}."),
                renew,
            )
        } else if facts.syncs_only_when_asked() {
            // The seed: it syncs once and not again without the person; for a legacy connection
            // the refresh flow is how it updates.
            let (how, fix) = if facts.syncs_by_refresh_only() {
                ("when you refresh it", Fix::Refresh)
            } else {
                ("when you sync it", sync_now_or_wait)
            };
            (
                Severity::Info,
                "Synced once".into(),
                format!("This connection syncs once, then only {how}."),
                fix,
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
    // Moneyhub has not synced since the person went to the bank (it may clear the problem only
    // at its next sync): the fix worked as far as anyone can tell, and nobody is sent to
    // support. A sync Moneyhub runs during the trip itself (at consent, before the callback is
    // back) counts as after it: the trip began at most a pending authorization's lifetime
    // before it was completed.
    let awaiting_moneyhub = tried.latest.is_some_and(|done| {
        facts
            .last_synced_at
            .is_none_or(|attempt| attempt < done - crate::flows::PENDING_LIFETIME)
    });
    let (severity, headline, recommended) = if already_tried
        && severity >= Severity::Warning
        && awaiting_moneyhub
    {
        let done = match recommended {
            Fix::Reconsent => "Consent renewed",
            Fix::Reauth => "Reauthenticated",
            _ => "Refreshed",
        };
        detail = "Moneyhub still shows the earlier problem until its next sync of this connection; nothing more is needed from you."
            .into();
        (
            Severity::Info,
            format!("{done}; Moneyhub confirms at its next sync"),
            Fix::None,
        )
    } else if already_tried && severity >= Severity::Warning {
        detail = format!("{detail} You already tried that and the problem is still there.");
        (severity, headline, Fix::ContactSupport)
    } else {
        (severity, headline, recommended)
    };

    // A consent about to end needs the person whatever else is going on (a sync running, data
    // partly synced, the first data awaited): an info state must not hide it.
    let severity = if consent.as_ref().is_some_and(|c| c.urgent && !c.ended)
        && facts.removed_at_source.is_none()
    {
        severity.max(Severity::Warning)
    } else {
        severity
    };
    let stopped = expired
        || facts.removed_at_source.is_some()
        || facts.extended_status.is_some()
        || facts.status == Status::Ok;
    let failing_since = match (facts.last_updated, facts.last_synced_at) {
        (Some(updated), Some(attempted)) if attempted > updated && !stopped => Some(updated),
        _ => None,
    };
    let words_change_at = consent.as_ref().map(|c| {
        let midnight = moment.next_midnight();
        if c.ended || c.ends_at <= now {
            midnight
        } else {
            midnight.min(c.ends_at)
        }
    });

    let fix_label = match recommended {
        Fix::Reauth => Some("Reauthenticate"),
        Fix::Reconsent => Some("Renew consent"),
        Fix::Refresh if error == Some(ErrorCode::MfaRequired) => {
            Some("Answer your bank’s security question")
        }
        Fix::Refresh => Some("Refresh"),
        Fix::Sync => Some("Sync now"),
        Fix::Wait { until: Some(_) } => Some("Wait"),
        Fix::Wait { until: None } => Some("Wait for the bank"),
        Fix::ContactSupport => Some("Contact support"),
        Fix::Remove => Some("Remove from Banklinks"),
        Fix::None => None,
    }
    .map(str::to_string);

    Health {
        severity,
        headline,
        fix_label,
        consent_ended: expired,
        detail: detail.trim().to_string(),
        recommended,
        actions: actions::actions(facts, allowance, expired),
        consent,
        needs_you: severity >= Severity::Warning,
        failing_since,
        words_change_at,
    }
}

mod actions;
pub use actions::{ActionCheck, ActionReason};

#[cfg(test)]
mod tests;
