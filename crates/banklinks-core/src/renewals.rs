//! "Renew all": the consents due (expired, or ending within 14 days, where the bank allows a
//! reconsent) renewed one after another, each on its bank's confirm page. A pure state machine:
//! the workspace saves it after every step, so a restart resumes where it stopped.

use serde::{Deserialize, Serialize};

/// A connection the batch could not renew, and why (Moneyhub's or the bank's words).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RenewalFailure {
    pub connection_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RenewAll {
    /// Still to do, in order.
    pub queue: Vec<String>,
    /// At its bank now.
    pub current: Option<String>,
    pub renewed: Vec<String>,
    pub failed: Vec<RenewalFailure>,
    /// Cancel was asked: the one at the bank finishes, nothing after it starts.
    pub stopping: bool,
}

impl RenewAll {
    pub fn new(connections: Vec<String>) -> Self {
        Self {
            queue: connections,
            current: None,
            renewed: Vec::new(),
            failed: Vec::new(),
            stopping: false,
        }
    }

    #[must_use]
    pub fn total(&self) -> usize {
        self.queue.len()
            + usize::from(self.current.is_some())
            + self.renewed.len()
            + self.failed.len()
    }

    /// The next connection to send to its bank, now current; `None` while one is at its bank,
    /// after a cancel, or when none is left.
    pub fn start_next(&mut self) -> Option<String> {
        if self.current.is_some() || self.stopping || self.queue.is_empty() {
            return None;
        }
        let next = self.queue.remove(0);
        self.current = Some(next.clone());
        Some(next)
    }

    /// The current one is done; a reauth-like new id is followed (`renewed_as`).
    pub fn renewed(&mut self, connection: &str, renewed_as: &str) {
        if self.current.as_deref() == Some(connection) {
            self.current = None;
            self.renewed.push(renewed_as.to_string());
        }
    }

    /// The current one failed (the bank refused, the request ran out, the person gave up on
    /// it); the batch goes on with the next.
    pub fn failed(&mut self, reason: &str) {
        if let Some(connection) = self.current.take() {
            self.failed.push(RenewalFailure {
                connection_id: connection,
                reason: reason.to_string(),
            });
        }
    }

    /// Stops after the one at its bank (at once when none is).
    pub fn cancel(&mut self) {
        self.stopping = true;
    }

    /// Nothing is at a bank and nothing more will start.
    #[must_use]
    pub fn is_over(&self) -> bool {
        self.current.is_none() && (self.stopping || self.queue.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_string()).collect()
    }

    #[test]
    fn walks_one_at_a_time_and_goes_on_past_a_failure() {
        let mut batch = RenewAll::new(ids(&["a", "b", "c", "d"]));
        assert_eq!(batch.total(), 4);
        assert_eq!(batch.start_next().as_deref(), Some("a"));
        assert_eq!(batch.start_next(), None, "one at a bank at a time");
        batch.renewed("a", "a");
        assert_eq!(batch.start_next().as_deref(), Some("b"));
        batch.failed("the bank refused");
        assert_eq!(batch.start_next().as_deref(), Some("c"));
        // A connection that is not the current one changes nothing.
        batch.renewed("d", "d");
        assert_eq!(batch.renewed, ids(&["a"]));
        batch.renewed("c", "c-new");
        assert_eq!(batch.start_next().as_deref(), Some("d"));
        batch.renewed("d", "d");
        assert!(batch.is_over());
        assert_eq!(batch.renewed, ids(&["a", "c-new", "d"]));
        assert_eq!(
            batch.failed,
            vec![RenewalFailure {
                connection_id: "b".into(),
                reason: "the bank refused".into()
            }]
        );
        assert_eq!(batch.total(), 4);
    }

    #[test]
    fn cancel_lets_the_current_one_finish_and_starts_nothing_after() {
        let mut batch = RenewAll::new(ids(&["a", "b", "c"]));
        batch.start_next();
        batch.cancel();
        assert!(!batch.is_over(), "a is still at its bank");
        batch.renewed("a", "a");
        assert!(batch.is_over());
        assert_eq!(batch.start_next(), None);
        assert_eq!(batch.queue, ids(&["b", "c"]), "the rest were not started");
    }

    #[test]
    fn survives_a_restart_as_json() {
        let mut batch = RenewAll::new(ids(&["a", "b"]));
        batch.start_next();
        let saved = serde_json::to_string(&batch).expect("json");
        let mut resumed: RenewAll = serde_json::from_str(&saved).expect("back");
        assert_eq!(resumed, batch);
        resumed.renewed("a", "a");
        assert_eq!(resumed.start_next().as_deref(), Some("b"));
    }
}
