//! Users and connections coming and going: creating a user, adding a connection at the end of
//! a bank journey, reauth, reconsent, refresh, and removing connections and users with all
//! their data.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use uuid::Uuid;

use super::{
    Account, BACKGROUND_HISTORY_DELAY, Connection, ConnectionError, ExtendedStatus, FetchStatus,
    MAX_CONSENT, Selection, Status, SyncAction, User, World, generator, months_before,
};
use crate::catalogue::{Institution, Script};

impl World {
    pub fn create_user(
        &mut self,
        client_id: &str,
        client_user_id: Option<String>,
        now: DateTime<Utc>,
    ) -> User {
        let user = User {
            id: self.user_id(),
            client_id: client_id.to_string(),
            client_user_id,
            created_at: now,
        };
        self.users.insert(user.id.clone(), user.clone());
        self.revision += 1;
        user
    }

    /// Creates a connection, as the code exchange at the end of a bank journey does, and fetches
    /// its first 1–3 months of data; the rest arrives [`BACKGROUND_HISTORY_DELAY`] later.
    pub fn create_connection(
        &mut self,
        user_id: &str,
        bank_id: &str,
        selection: &Selection,
        consent_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        self.next_due = None;
        self.revision += 1;
        let institution = self.catalogue.get(bank_id)?.clone();
        if !self.users.contains_key(user_id) {
            return None;
        }
        let id = format!("{}:{}", institution.id, self.uuid());
        let initial_months = self.rng.random_range(1..=3).min(institution.history_months);
        let history_from = months_before(now.date_naive(), initial_months);
        let default_expiry = match institution.script {
            Script::ConsentExpiresIn3Days => now + Duration::days(3),
            _ => now + MAX_CONSENT,
        };
        let expires_at = consent_until.map_or(default_expiry, |until| until.min(now + MAX_CONSENT));
        let connection = Connection {
            id: id.clone(),
            user_id: user_id.to_string(),
            bank_id: institution.id.clone(),
            name: institution.name.to_string(),
            kind: institution.kind,
            connected_on: now,
            last_updated: None,
            last_synced_at: None,
            expires_at,
            user_consented_at: now,
            account_ids: Vec::new(),
            status: Status::Never,
            error: None,
            extended_status: None,
            // A consent whose end the client chose cannot be renewed by reconsent.
            tpp_consent: institution.tpp_consent && consent_until.is_none(),
            single_sync_only: institution.script == Script::SingleSyncOnly,
            use_mfa: institution.script == Script::LegacyMfa,
            script: institution.script,
            forced_error: None,
            fetched_until: now,
            history_from,
            history_due: (initial_months < institution.history_months)
                .then(|| now + BACKGROUND_HISTORY_DELAY),
            history_months: institution.history_months,
            failing_since: None,
            manual_syncs: Vec::new(),
            sync_attempts: 0,
            awaiting_user: false,
            script_resolved: false,
        };
        self.connections.insert(id.clone(), connection);
        self.add_accounts(&id, &institution, selection, now);
        self.fetch_range(&id, history_from, now);
        self.record_sync(
            &id,
            SyncAction::ClientUpdate,
            "ADD",
            FetchStatus::Success,
            now,
        );
        if let Some(connection) = self.connections.get_mut(&id) {
            connection.status = Status::Ok;
            connection.last_updated = Some(now);
            connection.last_synced_at = Some(now);
            connection.awaiting_user = connection.single_sync_only;
        }
        Some(id)
    }

    fn add_accounts(
        &mut self,
        connection_id: &str,
        institution: &Institution,
        selection: &Selection,
        now: DateTime<Utc>,
    ) {
        let Some(user_id) = self
            .connections
            .get(connection_id)
            .map(|c| c.user_id.clone())
        else {
            return;
        };
        for &index in &selection.accounts {
            let Some(&account_type) = institution.account_types.get(index) else {
                continue;
            };
            let id = self.uuid();
            let seed: u64 = self.rng.random();
            let opening_date = months_before(now.date_naive(), institution.history_months);
            let account = Account {
                id,
                connection_id: connection_id.to_string(),
                user_id: user_id.clone(),
                name: account_name(institution, account_type),
                account_type,
                provider_name: institution.name.to_string(),
                provider_reference: institution.bank_ref.to_string(),
                provider_id: institution.id.clone(),
                provider_account_id: format!(
                    "{:08}",
                    self.rng.random_range(10_000_000..99_999_999)
                ),
                seed,
                opening_balance: generator::opening_balance(self.seed, seed, account_type),
                opening_date,
                date_added: now,
                date_modified: now,
                balances: Vec::new(),
                fetched: None,
                running_balance: None,
                business: institution.business,
            };
            self.accounts.insert(id, account);
            self.transactions_by_account.insert(id, Vec::new());
            if let Some(connection) = self.connections.get_mut(connection_id) {
                connection.account_ids.push(id);
            }
        }
    }

    /// Reauth: a new consent and a fresh sync. A different account selection (or the scripted
    /// bank) gives the connection a new id; accounts still selected keep their history.
    pub fn reauth(
        &mut self,
        connection_id: &str,
        selection: &Selection,
        now: DateTime<Utc>,
    ) -> Option<String> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.get(connection_id)?.clone();
        let institution = self.catalogue.get(&connection.bank_id)?.clone();
        let current: Vec<usize> = connection
            .account_ids
            .iter()
            .filter_map(|id| self.accounts.get(id))
            .filter_map(|account| {
                institution
                    .account_types
                    .iter()
                    .position(|t| *t == account.account_type)
            })
            .collect();
        let mut wanted = selection.accounts.clone();
        wanted.sort_unstable();
        wanted.dedup();
        let mut have = current.clone();
        have.sort_unstable();
        let new_id = connection.script == Script::NewIdOnReauth || wanted != have;
        let id = if new_id {
            let id = format!("{}:{}", connection.bank_id, self.uuid());
            let mut moved = connection.clone();
            moved.id = id.clone();
            moved.account_ids.clear();
            self.connections.remove(connection_id);
            self.connections.insert(id.clone(), moved);
            for account_id in &connection.account_ids {
                let keep = self
                    .accounts
                    .get(account_id)
                    .and_then(|account| {
                        institution
                            .account_types
                            .iter()
                            .position(|t| *t == account.account_type)
                    })
                    .is_some_and(|index| wanted.contains(&index));
                if keep {
                    let account_id = if self.readings.reauth_renews_ids {
                        self.reissue_account(*account_id, now)
                    } else {
                        *account_id
                    };
                    if let Some(account) = self.accounts.get_mut(&account_id) {
                        account.connection_id = id.clone();
                    }
                    if let Some(moved) = self.connections.get_mut(&id) {
                        moved.account_ids.push(account_id);
                    }
                } else {
                    self.remove_account(*account_id);
                }
            }
            let added: Vec<usize> = wanted
                .iter()
                .copied()
                .filter(|index| !current.contains(index))
                .collect();
            self.add_accounts(&id, &institution, &Selection { accounts: added }, now);
            // Newly shared accounts get the connection's history; the others skip known days.
            let history_from = connection.history_from;
            self.fetch_range(&id, history_from, now);
            for sync in &mut self.syncs {
                if sync.connection_id == connection_id {
                    sync.connection_id = id.clone();
                }
            }
            id
        } else {
            connection_id.to_string()
        };
        if let Some(connection) = self.connections.get_mut(&id) {
            connection.expires_at = now + MAX_CONSENT;
            connection.user_consented_at = now;
            connection.forced_error = None;
            connection.error = None;
            connection.extended_status = None;
            connection.failing_since = None;
            connection.awaiting_user = false;
            connection.tpp_consent = institution.tpp_consent;
            // New credentials fix the scripted credentials failure.
            connection.script_resolved = true;
        }
        self.run_sync(&id, SyncAction::ClientUpdate, now);
        Some(id)
    }

    /// Reconsent: no bank step; moves `expiresAt` (at most 90 days ahead) and resumes syncing.
    pub fn reconsent(
        &mut self,
        connection_id: &str,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<()> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.get_mut(connection_id)?;
        let until = until.map_or(now + MAX_CONSENT, |until| until.min(now + MAX_CONSENT));
        connection.expires_at = until;
        // Moneyhub reminds as soon as a consent is within 5 days of its end (its docs suggest
        // moving expiresAt close to test reauthReminder).
        if until > now && until - now <= Duration::days(5) {
            let payload = serde_json::json!({
                "connectionId": connection.id,
                "bankName": connection.name,
                "timeUntilReauthorizationInDays": (until - now).num_days(),
                "tppConsent": connection.tpp_consent,
            });
            let user_id = connection.user_id.clone();
            self.emit("reauthReminder", &user_id, payload);
        }
        let connection = self.connections.get_mut(connection_id)?;
        connection.user_consented_at = now;
        let was_expired = connection.extended_status == Some(ExtendedStatus::Expired)
            && !self.readings.renewal_waits_for_next_sync;
        if was_expired {
            connection.extended_status = None;
            connection.error = None;
            connection.failing_since = None;
            connection.status = Status::Ok;
        }
        if was_expired {
            self.run_sync(connection_id, SyncAction::ClientUpdate, now);
        }
        Some(())
    }

    /// Refresh (legacy): the user answered the security step; sync now.
    pub fn refresh(&mut self, connection_id: &str, now: DateTime<Utc>) -> Option<()> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.get_mut(connection_id)?;
        connection.awaiting_user = false;
        connection.forced_error = connection
            .forced_error
            .filter(|e| *e != ConnectionError::MfaRequired);
        connection.extended_status = connection
            .extended_status
            .filter(|s| *s == ExtendedStatus::Expired);
        connection.failing_since = None;
        self.run_sync(connection_id, SyncAction::ClientUpdate, now);
        Some(())
    }

    /// Deletes a connection and all its data (accounts, transactions, sync history).
    pub fn delete_connection(&mut self, connection_id: &str) -> Option<Connection> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.remove(connection_id)?;
        for account_id in &connection.account_ids {
            self.remove_account(*account_id);
        }
        self.syncs
            .retain(|sync| sync.connection_id != connection_id);
        Some(connection)
    }

    /// The bank issues an account anew: a new id for it and for each of its transactions (the
    /// same records, modified now), as if deleted and listed again; the bank's own account id
    /// stays. Answers the new id.
    fn reissue_account(&mut self, old: Uuid, now: DateTime<Utc>) -> Uuid {
        let Some(mut account) = self.accounts.remove(&old) else {
            return old;
        };
        let new = self.uuid();
        account.id = new;
        account.date_modified = now;
        self.accounts.insert(new, account);
        let pending = self.pending.remove(&old).unwrap_or_default();
        let mut still_pending = Vec::new();
        let mut renewed = Vec::new();
        for id in self
            .transactions_by_account
            .remove(&old)
            .unwrap_or_default()
        {
            let Some(mut transaction) = self.transactions.remove(&id) else {
                continue;
            };
            let fresh = self.uuid();
            transaction.id = fresh;
            transaction.account_id = new;
            transaction.modified = now;
            if pending.contains(&id) {
                still_pending.push(fresh);
            }
            renewed.push(fresh);
            self.transactions.insert(fresh, transaction);
        }
        self.transactions_by_account.insert(new, renewed);
        if !still_pending.is_empty() {
            self.pending.insert(new, still_pending);
        }
        new
    }

    fn remove_account(&mut self, account_id: Uuid) {
        self.accounts.remove(&account_id);
        for id in self
            .transactions_by_account
            .remove(&account_id)
            .unwrap_or_default()
        {
            self.transactions.remove(&id);
        }
    }

    /// The bank closed the account: it leaves its connection and Moneyhub deletes its data
    /// (`deletedAccount`). Answers whether it existed.
    pub fn close_account(&mut self, account_id: Uuid) -> bool {
        let Some(account) = self.accounts.get(&account_id) else {
            return false;
        };
        let (connection_id, user_id) = (account.connection_id.clone(), account.user_id.clone());
        if let Some(connection) = self.connections.get_mut(&connection_id) {
            connection.account_ids.retain(|id| *id != account_id);
        }
        self.remove_account(account_id);
        self.pending.remove(&account_id);
        self.revision += 1;
        self.emit(
            "deletedAccount",
            &user_id,
            serde_json::json!({ "accountId": account_id }),
        );
        true
    }

    pub fn delete_user(&mut self, user_id: &str) -> Option<User> {
        let user = self.users.remove(user_id)?;
        self.revision += 1;
        let connection_ids: Vec<String> = self
            .user_connections(user_id)
            .map(|c| c.id.clone())
            .collect();
        for id in connection_ids {
            self.delete_connection(&id);
        }
        Some(user)
    }
}

fn account_name(institution: &Institution, account_type: &str) -> String {
    let kind = match account_type {
        "cash:current" => {
            if institution.business {
                "Business Current Account"
            } else {
                "Current Account"
            }
        }
        "savings" => "Easy Access Saver",
        "card" => "Credit Card",
        "loan" => "Personal Loan",
        "mortgage:repayment" | "mortgage:interestOnly" => "Mortgage",
        "pension" | "pension:definedContribution" => "Workplace Pension",
        "pension:definedBenefit" => "Final Salary Pension",
        "investment" => "Stocks and Shares ISA",
        "crypto" => "Crypto Wallet",
        "properties:residential" => "Home",
        "properties:buyToLet" => "Buy-to-let Flat",
        _ => "Car",
    };
    format!("{} {kind}", institution.name)
}
