//! How a sync ended, in the words every surface uses (the card's note, the journal, the
//! connection's sync history). Moneyhub's `fetchStatus` is read here and nowhere else.

use moneyhub::models::FetchStatus;

/// A finished sync in words, and whether it failed (the card's note is then a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub text: String,
    pub failed: bool,
}

/// A sync Banklinks watched, once over: new data, nothing new, or the failure. `None` is a
/// sync Moneyhub stopped answering about (no record, or past the watch).
pub fn finished(status: Option<&FetchStatus>, new_transactions: u64) -> SyncResult {
    let what = match new_transactions {
        0 => "nothing new".to_string(),
        1 => "1 new transaction".to_string(),
        n => format!("{n} new transactions"),
    };
    let (text, failed) = match status {
        Some(FetchStatus::Success) => (format!("Synced: {what}"), false),
        Some(FetchStatus::Partial) => (format!("Partly synced: {what}"), false),
        Some(FetchStatus::MfaRequired) => (
            "The sync failed: the bank needs you to confirm it is you".to_string(),
            true,
        ),
        Some(FetchStatus::CredentialsError) => (
            "The sync failed: the bank no longer accepts the login".to_string(),
            true,
        ),
        Some(FetchStatus::Error) => ("The sync failed at the bank".to_string(), true),
        Some(FetchStatus::Undocumented(value)) => {
            (format!("Moneyhub ended the sync “{value}”"), true)
        }
        None => ("Moneyhub did not say how the sync ended".to_string(), true),
    };
    SyncResult { text, failed }
}

/// One run in Moneyhub's own sync history: with no outcome yet, it is still running.
pub fn run(status: Option<&FetchStatus>) -> String {
    match status {
        Some(FetchStatus::Success) => "Synced".into(),
        Some(FetchStatus::Partial) => "Partly synced".into(),
        Some(FetchStatus::Error) => "Failed".into(),
        Some(FetchStatus::MfaRequired) => "The bank needed you".into(),
        Some(FetchStatus::CredentialsError) => "The bank refused the login".into(),
        Some(FetchStatus::Undocumented(value)) => format!("Moneyhub says “{value}”"),
        None => "Running…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_words_and_only_a_sync_that_brought_data_is_not_a_failure() {
        let cases = [
            (
                Some(FetchStatus::Success),
                3,
                "Synced: 3 new transactions",
                false,
            ),
            (
                Some(FetchStatus::Success),
                1,
                "Synced: 1 new transaction",
                false,
            ),
            (
                Some(FetchStatus::Partial),
                0,
                "Partly synced: nothing new",
                false,
            ),
            (
                Some(FetchStatus::MfaRequired),
                0,
                "The sync failed: the bank needs you to confirm it is you",
                true,
            ),
            (
                Some(FetchStatus::Error),
                0,
                "The sync failed at the bank",
                true,
            ),
            (
                Some(FetchStatus::from_wire("stalled")),
                0,
                "Moneyhub ended the sync “stalled”",
                true,
            ),
            (None, 0, "Moneyhub did not say how the sync ended", true),
        ];
        for (status, new, text, failed) in cases {
            assert_eq!(
                finished(status.as_ref(), new),
                SyncResult {
                    text: text.into(),
                    failed
                },
                "{status:?}"
            );
        }
        assert_eq!(
            run(Some(&FetchStatus::from_wire("mfa-required"))),
            "The bank needed you"
        );
        assert_eq!(run(None), "Running…");
    }
}
