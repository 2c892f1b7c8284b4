//! The health rules, table by table, and the invariants over every combination of facts.

use super::*;
use crate::sync_policy::WaitReason;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .expect("valid")
}

fn healthy(kind: ConnectionKind) -> Facts {
    Facts {
        kind,
        status: Status::Ok,
        error: None,
        extended_status: None,
        last_updated: Some(now() - Duration::hours(3)),
        last_synced_at: Some(now() - Duration::hours(3)),
        expires_at: Some(now() + Duration::days(60)),
        tpp_consent: matches!(kind, ConnectionKind::OpenBanking | ConnectionKind::Test),
        single_sync_only: false,
        account_types: vec!["cash:current".into()],
        provider_degraded: false,
        daily_sync_cap: None,
        raw_error: None,
        raw_extended_status: None,
        removed_at_source: None,
        syncing: false,
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
            healthy(ConnectionKind::OpenBanking),
            NOW,
            Tried::default(),
            Fix::None,
            Severity::Ok,
        ),
        (
            "healthy legacy",
            healthy(ConnectionKind::ScreenScraping),
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::Valuation)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::ScreenScraping)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
                ..healthy(ConnectionKind::OpenBanking)
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
        ..healthy(ConnectionKind::OpenBanking)
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
            ..healthy(ConnectionKind::OpenBanking)
        };
        assert_eq!(
            assess(&facts, NOW, &Tried::default(), now())
                .consent
                .and_then(|c| c.reminder),
            point,
            "{days} days"
        );
    }
}

/// Every combination of the facts that matter, as one flat list (a mixed-radix count over the
/// dimensions), so the invariant test reads as one loop.
fn every_case() -> Vec<(Facts, SyncAllowance, Tried)> {
    let kinds = [
        ConnectionKind::OpenBanking,
        ConnectionKind::ScreenScraping,
        ConnectionKind::Test,
        ConnectionKind::Valuation,
        ConnectionKind::Other,
    ];
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
    let dimensions = [
        kinds.len(),
        statuses.len(),
        errors.len(),
        extended.len(),
        expiries.len(),
        2,
        2,
        allowances.len(),
        16,
    ];
    let total: usize = dimensions.iter().product();
    (0..total)
        .map(|index| {
            let mut rest = index;
            let mut pick = |size: usize| {
                let digit = rest % size;
                rest /= size;
                digit
            };
            let kind = kinds[pick(kinds.len())];
            let facts = Facts {
                kind,
                status: statuses[pick(statuses.len())],
                error: errors[pick(errors.len())],
                extended_status: extended[pick(extended.len())],
                expires_at: expiries[pick(expiries.len())].map(|d| now() + Duration::days(d)),
                tpp_consent: pick(2) == 1,
                single_sync_only: pick(2) == 1,
                ..healthy(kind)
            };
            let allowance = allowances[pick(allowances.len())];
            let mask = pick(16);
            let tried = Tried {
                sync: mask & 1 != 0,
                reauth: mask & 2 != 0,
                reconsent: mask & 4 != 0,
                refresh: mask & 8 != 0,
                latest: None,
            };
            (facts, allowance, tried)
        })
        .collect()
}

/// Whatever the state: refresh is never recommended or allowed except for screen-scraping,
/// reconsent never without tppConsent, sync never while waiting, a reason is given for every
/// action that is not allowed, a time exactly when time alone stands in the way, and the
/// recommended action is always allowed.
#[test]
fn invariants_hold_for_every_combination() {
    let cases = every_case();
    assert!(cases.len() > 100_000);
    for (facts, allowance, tried) in cases {
        let health = assess(&facts, allowance, &tried, now());
        let open_banking = facts.kind.open_banking();
        if facts.kind != ConnectionKind::ScreenScraping {
            assert_ne!(health.recommended, Fix::Refresh, "{facts:?}");
        }
        if !(open_banking && facts.tpp_consent) {
            assert_ne!(health.recommended, Fix::Reconsent, "{facts:?}");
        }
        if matches!(allowance, SyncAllowance::At { .. }) {
            assert_ne!(health.recommended, Fix::Sync, "{facts:?}");
        }
        for check in &health.actions {
            assert_eq!(check.allowed, check.reason.is_none(), "{check:?}");
            assert_eq!(
                check.available_at.is_some(),
                check.reason.is_some_and(ActionReason::is_only_time),
                "{check:?}"
            );
            assert_eq!(check.queueable(), check.available_at.is_some(), "{check:?}");
        }
        let sync = health
            .actions
            .iter()
            .find(|check| check.action == Action::Sync)
            .expect("sync listed");
        let expired = facts.extended_status == Some(ExtendedStatus::Expired)
            || facts.expires_at.is_some_and(|at| at <= now());
        if expired {
            assert_eq!(sync.reason, Some(ActionReason::ConsentEnded), "{facts:?}");
            assert!(
                !sync.queueable(),
                "an ended consent is not a wait: {facts:?}"
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
            let check = health
                .actions
                .iter()
                .find(|a| a.action == action)
                .expect("listed");
            assert!(
                check.allowed,
                "recommended {action:?} but not allowed: {facts:?}"
            );
        }
    }
}

#[test]
fn a_cooldown_is_a_wait_with_its_time_and_an_ended_consent_is_not() {
    let health = assess(
        &healthy(ConnectionKind::OpenBanking),
        wait_until(),
        &Tried::default(),
        now(),
    );
    let sync = &health.actions[3];
    assert_eq!(sync.action, Action::Sync);
    assert_eq!(sync.available_at, Some(now() + Duration::minutes(20)));
    assert_eq!(sync.reason, Some(ActionReason::Cooldown { minutes: 30 }));
    assert!(sync.queueable());

    let expired = Facts {
        extended_status: Some(ExtendedStatus::Expired),
        ..healthy(ConnectionKind::OpenBanking)
    };
    let sync = assess(&expired, wait_until(), &Tried::default(), now()).actions[3].clone();
    assert_eq!(sync.reason, Some(ActionReason::ConsentEnded));
    assert_eq!(sync.available_at, None);

    let capped = Facts {
        daily_sync_cap: Some(4),
        ..healthy(ConnectionKind::OpenBanking)
    };
    let left = assess(
        &capped,
        SyncAllowance::Now {
            left_today: Some(1),
        },
        &Tried::default(),
        now(),
    );
    assert_eq!(left.actions[3].left_today, Some(1));
    let used_up = assess(
        &capped,
        SyncAllowance::At {
            at: now() + Duration::hours(5),
            reason: WaitReason::DailyCap,
        },
        &Tried::default(),
        now(),
    );
    assert_eq!(
        used_up.actions[3].reason,
        Some(ActionReason::DailyCap { cap: 4 })
    );
}

#[test]
fn an_unknown_kind_gets_only_the_fixes_every_connection_has() {
    assert_eq!(ConnectionKind::from_wire("other"), ConnectionKind::Other);
    assert_eq!(
        ConnectionKind::from_wire("somethingNew"),
        ConnectionKind::Other
    );
    assert_eq!(
        ConnectionKind::from_wire("api"),
        ConnectionKind::OpenBanking
    );
    assert_eq!(
        ConnectionKind::from_wire("autotrader"),
        ConnectionKind::Valuation
    );
    let expired = Facts {
        extended_status: Some(ExtendedStatus::Expired),
        tpp_consent: true,
        ..healthy(ConnectionKind::Other)
    };
    let health = assess(&expired, NOW, &Tried::default(), now());
    assert_eq!(health.recommended, Fix::Reauth);
    let allowed: Vec<Action> = health
        .actions
        .iter()
        .filter(|check| check.allowed)
        .map(|check| check.action)
        .collect();
    assert_eq!(allowed, vec![Action::Reauth, Action::Remove]);
    assert_eq!(ConnectionKind::Other.schedule(), None);
}

/// What Moneyhub adds without notice, what it deletes elsewhere, and a sync in progress: never
/// "Up to date", each with one fix and the sync refused for the right reason.
#[test]
fn undocumented_errors_removed_connections_and_syncs_in_progress() {
    let undocumented = Facts {
        status: Status::Error,
        error: Some(ErrorCode::Undocumented),
        raw_error: Some("provider_error".into()),
        ..healthy(ConnectionKind::OpenBanking)
    };
    let health = assess(&undocumented, NOW, &Tried::default(), now());
    assert_eq!(health.severity, Severity::Action);
    assert_eq!(health.recommended, Fix::Reauth);
    assert!(
        health.detail.contains("provider_error"),
        "{}",
        health.detail
    );
    let tried = Tried {
        reauth: true,
        ..Tried::default()
    };
    assert_eq!(
        assess(&undocumented, NOW, &tried, now()).recommended,
        Fix::ContactSupport
    );
    let legacy = Facts {
        raw_error: None,
        ..Facts {
            kind: ConnectionKind::ScreenScraping,
            ..undocumented.clone()
        }
    };
    let health = assess(&legacy, NOW, &Tried::default(), now());
    assert_eq!(health.recommended, Fix::Refresh);
    assert!(
        health.detail.contains("without saying why"),
        "{}",
        health.detail
    );

    let odd_status = Facts {
        extended_status: Some(ExtendedStatus::Undocumented),
        raw_extended_status: Some("suspended".into()),
        ..healthy(ConnectionKind::OpenBanking)
    };
    let health = assess(&odd_status, NOW, &Tried::default(), now());
    assert_ne!(health.headline, "Up to date");
    assert!(health.detail.contains("suspended"));

    let removed = Facts {
        removed_at_source: Some(now() - Duration::days(1)),
        ..healthy(ConnectionKind::OpenBanking)
    };
    let health = assess(&removed, NOW, &Tried::default(), now());
    assert_eq!(
        (health.severity, health.recommended),
        (Severity::Action, Fix::Remove)
    );
    // The day it went, in the person's calendar; and no consent left to count down anywhere.
    let day = crate::calendar::Moment::from(now()).day(now() - Duration::days(1));
    assert!(
        health
            .detail
            .contains(&format!("stopped listing this connection on {day}")),
        "{}",
        health.detail
    );
    assert_eq!(health.consent, None);
    for action in [
        Action::Reauth,
        Action::Reconsent,
        Action::Refresh,
        Action::Sync,
    ] {
        let check = health.check(action).expect("listed");
        assert_eq!(
            check.reason,
            Some(ActionReason::RemovedAtMoneyhub),
            "{action:?}"
        );
    }
    assert!(health.check(Action::Remove).is_some_and(|c| c.allowed));

    let syncing = Facts {
        syncing: true,
        ..healthy(ConnectionKind::OpenBanking)
    };
    let health = assess(&syncing, NOW, &Tried::default(), now());
    assert_eq!(health.headline, "Syncing");
    let sync = health.check(Action::Sync).expect("listed");
    assert_eq!(sync.reason, Some(ActionReason::SyncInProgress));
    assert!(!sync.queueable());
}

#[test]
fn consent_days_are_the_persons_calendar_days_and_worded_once() {
    // 12:00 UTC on 1 June is 13:00 in London and 21:00 in Tokyo.
    let consent = |expires: Duration, zone: chrono_tz::Tz| {
        let facts = Facts {
            expires_at: Some(now() + expires),
            ..healthy(ConnectionKind::OpenBanking)
        };
        assess(&facts, NOW, &Tried::default(), Moment::in_zone(now(), zone))
            .consent
            .expect("a consent")
    };
    let london = chrono_tz::Europe::London;
    let tokyo = chrono_tz::Asia::Tokyo;
    assert_eq!(consent(Duration::days(90), london).days_left, 90);
    assert_eq!(
        consent(Duration::days(90), london).text,
        "Consent ends in 90 days"
    );
    // Four hours left: today, not "tomorrow" (24-hour periods started said 1).
    let today = consent(Duration::hours(4), london);
    assert_eq!(
        (today.days_left, today.text.as_str()),
        (0, "Consent ends today at 17:00")
    );
    assert_eq!(today.reminder, Some(1));
    // The same four hours in Tokyo end after its midnight: tomorrow there.
    let tomorrow = consent(Duration::hours(4), tokyo);
    assert_eq!(
        (tomorrow.days_left, tomorrow.text.as_str()),
        (1, "Consent ends tomorrow")
    );
    // Urgent means the same to the card's style and to the warning: 3 days or fewer.
    for (days, urgent) in [(4, false), (3, true), (1, true)] {
        let c = consent(Duration::days(days), london);
        assert_eq!(c.urgent, urgent, "{days} days");
        let facts = Facts {
            expires_at: Some(now() + Duration::days(days)),
            ..healthy(ConnectionKind::OpenBanking)
        };
        let severity = assess(&facts, NOW, &Tried::default(), now()).severity;
        assert_eq!(severity >= Severity::Warning, urgent, "{days} days");
    }
    let ended = consent(-Duration::hours(20), london);
    assert_eq!(
        (ended.ended, ended.text.as_str()),
        (true, "Consent ended yesterday (31 May)")
    );
    assert_eq!(
        consent(-Duration::hours(1), london).text,
        "Consent ended today"
    );
    assert_eq!(
        consent(-Duration::days(4), london).text,
        "Consent ended on 28 May"
    );
}

#[test]
fn a_consent_about_to_end_is_not_hidden_by_an_info_state() {
    for facts in [
        Facts {
            syncing: true,
            ..healthy(ConnectionKind::OpenBanking)
        },
        Facts {
            status: Status::Error,
            error: Some(ErrorCode::SyncPartial),
            ..healthy(ConnectionKind::OpenBanking)
        },
        Facts {
            status: Status::Never,
            last_updated: None,
            ..healthy(ConnectionKind::OpenBanking)
        },
    ] {
        let facts = Facts {
            expires_at: Some(now() + Duration::days(2)),
            ..facts
        };
        let health = assess(&facts, NOW, &Tried::default(), now());
        assert!(health.needs_you, "{facts:?}: {health:?}");
        assert!(health.consent.expect("consent").urgent);
    }
}

#[test]
fn failing_since_only_while_moneyhub_keeps_trying() {
    let trying = Facts {
        status: Status::Error,
        error: Some(ErrorCode::SyncError),
        last_updated: Some(now() - Duration::days(2)),
        last_synced_at: Some(now() - Duration::hours(1)),
        ..healthy(ConnectionKind::OpenBanking)
    };
    let since = assess(&trying, NOW, &Tried::default(), now()).failing_since;
    assert_eq!(since, Some(now() - Duration::days(2)));
    let stopped = Facts {
        extended_status: Some(ExtendedStatus::StoppedSyncing),
        ..trying.clone()
    };
    let expired = Facts {
        expires_at: Some(now() - Duration::days(1)),
        ..trying.clone()
    };
    let removed = Facts {
        removed_at_source: Some(now()),
        ..trying.clone()
    };
    for facts in [stopped, expired, removed] {
        let health = assess(&facts, NOW, &Tried::default(), now());
        assert_eq!(health.failing_since, None, "{}", health.headline);
    }
}

#[test]
fn a_resync_banklinks_infers_is_told_in_banklinks_words_not_moneyhubs() {
    let inferred = Facts {
        last_updated: Some(now() - Duration::days(3)),
        ..healthy(ConnectionKind::OpenBanking)
    };
    let health = assess(&inferred, NOW, &Tried::default(), now());
    assert_eq!(health.headline, "Not updated recently");
    assert!(!health.detail.contains("multi factor"), "{}", health.detail);
    assert!(
        health.detail.contains("Moneyhub reported no problem"),
        "{}",
        health.detail
    );
    let said = Facts {
        status: Status::Error,
        error: Some(ErrorCode::Resync),
        ..inferred
    };
    let health = assess(&said, NOW, &Tried::default(), now());
    assert!(health.detail.contains("multi factor"), "{}", health.detail);
}

#[test]
fn single_sync_only_means_the_same_to_the_card_and_to_the_schedule_whatever_the_kind() {
    // The seed says singleSyncOnly is legacy-only today; if Moneyhub sends it on an api
    // connection, its meaning (no automatic sync without the person) holds all the same.
    for kind in [ConnectionKind::ScreenScraping, ConnectionKind::OpenBanking] {
        let facts = Facts {
            single_sync_only: true,
            ..healthy(kind)
        };
        let health = assess(&facts, NOW, &Tried::default(), now());
        assert_eq!(health.headline, "Synced once", "{kind:?}");
        assert!(!moneyhub_schedules(&facts, &health), "{kind:?}");
        let sync = health.check(Action::Sync).expect("always listed");
        if kind == ConnectionKind::ScreenScraping {
            assert_eq!(health.recommended, Fix::Refresh);
            assert!(!sync.allowed);
            assert_eq!(
                health.detail,
                "This connection syncs once, then only when you refresh it."
            );
        } else {
            assert_eq!(
                health.recommended,
                Fix::Sync,
                "a manual sync is the person's input here"
            );
            assert!(sync.allowed);
            assert_eq!(
                health.detail,
                "This connection syncs once, then only when you sync it."
            );
        }
        let plain = healthy(kind);
        assert!(moneyhub_schedules(
            &plain,
            &assess(&plain, NOW, &Tried::default(), now())
        ));
    }
}
