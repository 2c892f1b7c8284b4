//! Going to the bank and coming back: begin (the URL for the browser; the pending record to the
//! store, its PKCE verifier and nonce to the keychain), complete (from the callback the deep-link
//! parser already typed), cancel, the pending list, and expiry. The core owns a pending
//! authorization's lifetime: it says when one runs out, clears its secrets and journals it.

use chrono::{DateTime, Utc};
use moneyhub::{PendingAuthorization, PendingSecrets, Purpose, Secret, find_pending};
use serde::Serialize;

use super::{FlowError, FlowEvent, Flows, PENDING_LIFETIME, lock};
use crate::deep_link::AuthCallback;
use crate::journal::{AuthorizationPurpose, JournalEvent};
use crate::sensitive::Sensitive;
use crate::store::Actor;

/// An authorization waiting for its callback (shown as "Waiting for your bank…").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PendingView {
    pub state: String,
    pub purpose: AuthorizationPurpose,
    pub connection_id: Option<String>,
    /// The bank chosen for a new connection.
    pub bank_id: Option<String>,
    #[specta(type = String)]
    pub started_at: DateTime<Utc>,
    /// When the core gives up on it (and says so with `AuthorizationExpired`).
    #[specta(type = String)]
    pub expires_at: DateTime<Utc>,
}

/// What completing an authorization did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub connection_id: String,
    pub previous_connection_id: Option<String>,
    pub purpose: AuthorizationPurpose,
    /// What a reauth, reconsent or refresh changed (`None` for a new connection, or when
    /// nothing did).
    pub changes: Option<Changes>,
    /// How the trip ended, in words, from the connection's state after it: a problem Moneyhub
    /// still reports is named, never covered by "all done".
    pub outcome: String,
}

/// The words for a trip's end, decided by what Moneyhub says of the connection afterwards.
pub(crate) fn trip_outcome(
    purpose: AuthorizationPurpose,
    health: &crate::health::Health,
) -> String {
    let done = match purpose {
        AuthorizationPurpose::AddConnection => "Connected",
        AuthorizationPurpose::Reauth => "Reauthenticated",
        AuthorizationPurpose::Reconsent => "Consent renewed",
        AuthorizationPurpose::Refresh => "Refreshed at the bank",
    };
    if purpose == AuthorizationPurpose::AddConnection {
        return format!("{done}.");
    }
    if health.needs_you {
        format!("{done}, but Moneyhub still reports: {}.", health.headline)
    } else {
        format!("{done}.")
    }
}

/// What a trip to the bank changed on a connection that was already here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// Accounts the bank now shares that it did not before (by name).
    pub accounts_added: Vec<String>,
    /// Accounts it no longer shares (kept here as history).
    pub accounts_gone: Vec<String>,
    /// The id the connection had before, when the bank gave it a new one.
    pub previous_id: Option<String>,
    /// The consent's new end, when it moved.
    #[specta(type = Option<String>)]
    pub consent_until: Option<DateTime<Utc>>,
}

/// The accounts shared (identity → name) and the consent's end, to compare before and after.
/// An account's identity outlives a new id the bank may give it on reauth: the bank's own id,
/// else its name and type where no other account shares them, else its id.
type Shape = (
    std::collections::BTreeMap<String, String>,
    Option<DateTime<Utc>>,
);

/// What differs between two shapes of a connection; `None` when nothing does.
fn changes(before: &Shape, after: &Shape, previous_id: Option<String>) -> Option<Changes> {
    let names = |shape: &Shape, not_in: &Shape| -> Vec<String> {
        shape
            .0
            .iter()
            .filter(|(id, _)| !not_in.0.contains_key(*id))
            .map(|(_, name)| name.clone())
            .collect()
    };
    let changes = Changes {
        accounts_added: names(after, before),
        accounts_gone: names(before, after),
        consent_until: after.1.filter(|until| Some(*until) != before.1),
        previous_id,
    };
    let nothing = changes.accounts_added.is_empty()
        && changes.accounts_gone.is_empty()
        && changes.consent_until.is_none()
        && changes.previous_id.is_none();
    (!nothing).then_some(changes)
}

impl Flows {
    /// A connection's shared accounts and consent end, as stored now.
    fn shape(&self, connection: &str) -> Option<Shape> {
        let row = lock(&self.store)
            .connection_row(&self.profile, connection)
            .ok()??;
        let shared: Vec<_> = row
            .accounts
            .into_iter()
            .filter(|a| a.removed_at_source.is_none())
            .collect();
        let alike = |a: &crate::store::StoredAccount| {
            shared
                .iter()
                .filter(|b| b.name == a.name && b.account_type == a.account_type)
                .count()
        };
        let accounts = shared
            .iter()
            .map(|a| {
                let identity = match &a.provider_account_id {
                    Some(bank_id) => format!("bank:{bank_id}"),
                    None if alike(a) == 1 => format!("shape:{}:{}", a.name, a.account_type),
                    None => format!("id:{}", a.id),
                };
                (identity, a.name.clone())
            })
            .collect();
        Some((accounts, row.connection.expires_at))
    }

    pub(crate) fn secret_key(&self, state: &str, what: &str) -> String {
        pending_secret_account(&self.environment, state, what)
    }

    /// Starts an authorization: the URL to open in the browser. The pending record goes to the
    /// store, its secrets to the keychain. `bank_name` names a bank being added in the journal
    /// (an existing connection is named by its own).
    pub async fn begin(
        &self,
        purpose: Purpose,
        bank_name: Option<&str>,
    ) -> Result<url::Url, FlowError> {
        let begun = self.client.begin(purpose).await?;
        let now = self.now();
        // The record first, then its secrets: whatever stops us between (a locked keychain, a
        // killed process), the record exists, expires, and its expiry deletes the secrets, so
        // none is left in the keychain with nothing pointing at it.
        let purpose_json = serde_json::to_string(&begun.pending).unwrap_or_default();
        lock(&self.store).save_pending(
            &begun.pending.state,
            &self.profile,
            &purpose_json,
            now,
            now + PENDING_LIFETIME,
        )?;
        let stored = self
            .keychain
            .put(
                &self.secret_key(&begun.pending.state, "verifier"),
                &Sensitive::new(begun.secrets.code_verifier.expose().to_string()),
            )
            .and_then(|()| {
                self.keychain.put(
                    &self.secret_key(&begun.pending.state, "nonce"),
                    &Sensitive::new(begun.secrets.nonce.expose().to_string()),
                )
            });
        if let Err(err) = stored {
            lock(&self.store).take_pending(&begun.pending.state)?;
            self.forget_secrets(&begun.pending.state)?;
            return Err(err.into());
        }
        let store = lock(&self.store);
        store.append_journal_about(
            &self.profile,
            begun.pending.purpose.connection_id(),
            bank_name,
            &JournalEvent::AuthorizationStarted {
                purpose: Some(AuthorizationPurpose::from(&begun.pending.purpose)),
            },
            Actor::User,
            now,
        )?;
        Ok(begun.url)
    }

    /// Completes an authorization from its callback, then refreshes the profile's data.
    pub async fn complete(&self, callback: &AuthCallback) -> Result<Connected, FlowError> {
        let callback = callback.to_client();
        let now = self.now();
        let candidates: Vec<PendingAuthorization> = lock(&self.store)
            .pending(&self.profile, now)?
            .into_iter()
            .filter_map(|row| serde_json::from_str(&row.purpose_json).ok())
            .collect();
        let Some(pending) = find_pending(&candidates, &callback).cloned() else {
            return Err(self.unmatched(&callback, now));
        };
        // Claim it first: a second delivery of the same callback finds nothing, and (remembered
        // before the claim, so even one arriving at the same moment) is told apart from a forgery.
        self.remember_claimed(&pending.state, now);
        if !lock(&self.store).take_pending(&pending.state)? {
            return Err(self.unmatched(&callback, now));
        }
        let (verifier, nonce) = self.take_secrets(&pending.state)?;
        let (Some(verifier), Some(nonce)) = (verifier, nonce) else {
            return Err(FlowError::SecretsMissing);
        };
        let secrets = PendingSecrets {
            code_verifier: Secret::new(verifier.expose().clone()),
            nonce: Secret::new(nonce.expose().clone()),
        };
        let purpose = AuthorizationPurpose::from(&pending.purpose);
        let done = match self.client.complete(&pending, &secrets, &callback).await {
            Ok(done) => done,
            Err(err) => {
                lock(&self.store).append_journal(
                    &self.profile,
                    pending.purpose.connection_id(),
                    &JournalEvent::AuthorizationFailed {
                        error: err.to_string(),
                    },
                    Actor::User,
                    self.now(),
                )?;
                return Err(err.into());
            }
        };
        let event = match purpose {
            AuthorizationPurpose::AddConnection => JournalEvent::Added,
            AuthorizationPurpose::Reauth => JournalEvent::ReauthCompleted,
            AuthorizationPurpose::Reconsent => JournalEvent::Reconsented,
            AuthorizationPurpose::Refresh => JournalEvent::Refreshed,
        };
        let before = pending
            .purpose
            .connection_id()
            .and_then(|id| self.shape(id));
        {
            let mut store = lock(&self.store);
            if let Some(previous) = &done.previous_connection_id {
                store.rename_connection(&self.profile, previous, &done.connection_id, now)?;
            }
            store.append_journal(
                &self.profile,
                Some(&done.connection_id),
                &event,
                Actor::User,
                now,
            )?;
        }
        self.emit(FlowEvent::Connected {
            connection_id: done.connection_id.clone(),
            previous_connection_id: done.previous_connection_id.clone(),
            purpose,
        });
        // The connection concerned only: the others have not changed.
        self.refresh_connection(&done.connection_id).await?;
        let changes = before.and_then(|before| {
            let after = self.shape(&done.connection_id)?;
            let renamed = done
                .previous_connection_id
                .clone()
                .filter(|previous| *previous != done.connection_id);
            changes(&before, &after, renamed)
        });
        if let Some(changes) = &changes {
            lock(&self.store).append_journal(
                &self.profile,
                Some(&done.connection_id),
                &JournalEvent::Changed {
                    accounts_added: changes.accounts_added.clone(),
                    accounts_gone: changes.accounts_gone.clone(),
                    consent_until: changes.consent_until.map(crate::store::iso),
                },
                Actor::User,
                self.now(),
            )?;
        }
        let outcome = trip_outcome(purpose, &self.connection_view(&done.connection_id)?.health);
        Ok(Connected {
            changes,
            connection_id: done.connection_id,
            previous_connection_id: done.previous_connection_id,
            purpose,
            outcome,
        })
    }

    /// The verifier and nonce of `state`, deleted from the keychain as they are read.
    #[allow(clippy::type_complexity)]
    fn take_secrets(
        &self,
        state: &str,
    ) -> Result<(Option<Sensitive<String>>, Option<Sensitive<String>>), FlowError> {
        let verifier = self.keychain.get(&self.secret_key(state, "verifier"))?;
        let nonce = self.keychain.get(&self.secret_key(state, "nonce"))?;
        self.forget_secrets(state)?;
        Ok((verifier, nonce))
    }

    fn forget_secrets(&self, state: &str) -> Result<(), FlowError> {
        self.keychain.delete(&self.secret_key(state, "verifier"))?;
        self.keychain.delete(&self.secret_key(state, "nonce"))?;
        Ok(())
    }

    /// Cancels one of this profile's pending authorizations (its callback will be refused).
    /// Another profile's state is not found here.
    pub fn cancel(&self, state: &str) -> Result<bool, FlowError> {
        let mine = lock(&self.store)
            .pending(&self.profile, DateTime::<Utc>::MIN_UTC)?
            .iter()
            .any(|row| row.state == state);
        if !mine {
            return Ok(false);
        }
        let existed = lock(&self.store).take_pending(state)?;
        self.forget_secrets(state)?;
        Ok(existed)
    }

    /// Authorizations whose time ran out: taken away with their secrets, journalled, and each
    /// announced with `AuthorizationExpired`. Returns what expired.
    pub fn expire_pending(&self) -> Result<Vec<PendingView>, FlowError> {
        let now = self.now();
        let rows = lock(&self.store).expired_pending(&self.profile, now)?;
        let mut expired = Vec::new();
        for row in rows {
            if !lock(&self.store).take_pending(&row.state)? {
                continue;
            }
            self.forget_secrets(&row.state)?;
            let Some(view) = pending_view(&row) else {
                continue;
            };
            lock(&self.store).append_journal(
                &self.profile,
                view.connection_id.as_deref(),
                &JournalEvent::AuthorizationExpired {
                    purpose: Some(view.purpose),
                },
                Actor::Automatic,
                now,
            )?;
            self.emit(FlowEvent::AuthorizationExpired {
                state: view.state.clone(),
                connection_id: view.connection_id.clone(),
                purpose: view.purpose,
            });
            expired.push(view);
        }
        Ok(expired)
    }

    /// Authorizations still waiting for their callback (they survive a restart).
    pub fn pending_authorizations(&self) -> Result<Vec<PendingView>, FlowError> {
        let now = self.now();
        let rows = lock(&self.store).pending(&self.profile, now)?;
        Ok(rows.iter().filter_map(pending_view).collect())
    }
}

fn pending_view(row: &crate::store::PendingRow) -> Option<PendingView> {
    let pending: PendingAuthorization = serde_json::from_str(&row.purpose_json).ok()?;
    let bank_id = match &pending.purpose {
        Purpose::AddConnection {
            bank: moneyhub::BankChoice::Bank(id),
            ..
        } => Some(id.clone()),
        _ => None,
    };
    Some(PendingView {
        state: row.state.clone(),
        purpose: AuthorizationPurpose::from(&pending.purpose),
        connection_id: pending.purpose.connection_id().map(str::to_string),
        bank_id,
        started_at: row.started_at,
        expires_at: row.expires_at,
    })
}

/// The keychain account of a pending authorization's verifier or nonce. Named by a digest of
/// the `state`, not the state itself: account names are not secret (keychain tools list them,
/// logs print them), and the state is half of what a forged callback needs.
/// How long, and how many, claimed states are remembered: a duplicate arrives within seconds.
const CLAIMS_REMEMBERED_FOR: chrono::Duration = chrono::Duration::minutes(10);
const CLAIMS_REMEMBERED: usize = 32;

impl Flows {
    fn remember_claimed(&self, state: &str, now: DateTime<Utc>) {
        let mut claimed = lock(&self.claimed);
        claimed.retain(|(_, at)| now - *at < CLAIMS_REMEMBERED_FOR);
        if claimed.len() >= CLAIMS_REMEMBERED {
            claimed.pop_front();
        }
        claimed.push_back((state.to_string(), now));
    }

    /// A callback that matches nothing pending: the one just claimed, delivered again, or one
    /// this session never asked for (forged, expired, cancelled).
    fn unmatched(&self, callback: &moneyhub::Callback, now: DateTime<Utc>) -> FlowError {
        let again = callback.state.as_deref().is_some_and(|state| {
            lock(&self.claimed)
                .iter()
                .any(|(claimed, at)| claimed == state && now - *at < CLAIMS_REMEMBERED_FOR)
        });
        if again {
            FlowError::AlreadyHandled
        } else {
            FlowError::NoSuchAuthorization
        }
    }
}

pub(crate) fn pending_secret_account(environment: &str, state: &str, what: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(state.as_bytes());
    format!(
        "{environment}/pending/{}/{what}",
        hex::encode(&digest[..16])
    )
}

#[cfg(test)]
mod tests {
    use super::pending_secret_account;

    #[test]
    fn a_keychain_account_name_does_not_carry_the_state() {
        let state = "Qm9vdHN0cmFwIHN0YXRlIHZhbHVlIGZvciB0aGUgdGVzdA";
        let verifier = pending_secret_account("demo", state, "verifier");
        assert!(!verifier.contains(state), "{verifier}");
        assert!(verifier.starts_with("demo/pending/") && verifier.ends_with("/verifier"));
        assert_ne!(
            verifier,
            pending_secret_account("demo", "another", "verifier")
        );
        assert_eq!(verifier, pending_secret_account("demo", state, "verifier"));
    }
}

#[cfg(test)]
mod changes_tests {
    use super::*;

    fn shape(accounts: &[(&str, &str)], until: Option<&str>) -> Shape {
        (
            accounts
                .iter()
                .map(|(id, name)| ((*id).to_string(), (*name).to_string()))
                .collect(),
            until.map(|u| u.parse().expect("time")),
        )
    }

    #[test]
    fn names_accounts_added_and_gone_and_a_moved_consent() {
        let before = shape(
            &[("a", "Current"), ("b", "Saver")],
            Some("2026-12-01T00:00:00Z"),
        );
        let after = shape(
            &[("a", "Current"), ("c", "Credit card")],
            Some("2027-03-01T00:00:00Z"),
        );
        let found = changes(&before, &after, None).expect("changes");
        assert_eq!(found.accounts_added, vec!["Credit card".to_string()]);
        assert_eq!(found.accounts_gone, vec!["Saver".to_string()]);
        assert_eq!(found.consent_until, after.1);
        assert_eq!(changes(&before, &before, None), None, "nothing changed");
        assert!(changes(&before, &before, Some("old".into())).is_some());
    }
}
