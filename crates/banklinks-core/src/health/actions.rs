//! Each action's check: allowed, or why not and (when only time stands in the way) from when.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Action, ConnectionKind, Facts, SyncAllowance, WaitReason};

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
    /// Moneyhub no longer has the connection; only removing it here is left.
    RemovedAtMoneyhub,
    /// Moneyhub is running a sync of it now.
    SyncInProgress,
    /// A `singleSyncOnly` connection syncs only through the refresh flow (Moneyhub refuses a
    /// manual sync).
    SingleSyncOnly,
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
            // Banklinks' own pacing (the seed's 30 minutes): Moneyhub's current rate-limit page
            // allows one every 5 seconds, so the wait is never put down to Moneyhub; a wait
            // Moneyhub does ask for is `ServerAsked`.
            ActionReason::Cooldown { .. } => {
                "Banklinks keeps manual syncs 30 minutes apart, as Moneyhub's connection guide asks."
            }
            ActionReason::DailyCap { .. } => "This bank's daily limit of syncs is used up.",
            ActionReason::ServerAsked => "Moneyhub asked to wait before the next sync.",
            ActionReason::RemovedAtMoneyhub => "Moneyhub no longer has this connection.",
            ActionReason::SyncInProgress => "Moneyhub is syncing this connection now.",
            ActionReason::SingleSyncOnly => {
                "This connection syncs only when you refresh it (it is single-sync)."
            }
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
    pub(super) fn allow(action: Action) -> Self {
        ActionCheck {
            action,
            allowed: true,
            available_at: None,
            reason: None,
            left_today: None,
        }
    }

    pub(super) fn deny(action: Action, reason: ActionReason) -> Self {
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

pub(super) fn actions(facts: &Facts, allowance: SyncAllowance, expired: bool) -> Vec<ActionCheck> {
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
    if facts.removed_at_source.is_some() {
        let gone = |action| ActionCheck::deny(action, ActionReason::RemovedAtMoneyhub);
        return vec![
            gone(Action::Reauth),
            gone(Action::Reconsent),
            gone(Action::Refresh),
            gone(Action::Sync),
            ActionCheck::allow(Action::Remove),
        ];
    }
    let sync = if expired {
        ActionCheck::deny(Action::Sync, ActionReason::ConsentEnded)
    } else if facts.syncs_by_refresh_only() {
        ActionCheck::deny(Action::Sync, ActionReason::SingleSyncOnly)
    } else {
        match allowance {
            // A wait for Moneyhub's limit says when (and can be queued); with no wait, a sync
            // already running is the reason.
            SyncAllowance::Now { .. } if facts.syncing => {
                ActionCheck::deny(Action::Sync, ActionReason::SyncInProgress)
            }
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
