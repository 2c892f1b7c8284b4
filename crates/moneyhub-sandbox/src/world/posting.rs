//! Pending transactions posting: Moneyhub keeps the id when it matches a posted transaction to
//! its pending one, and otherwise deletes the pending id and lists the posted one anew.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sync::{PENDING_FOR, day_noon};
use super::{TransactionStatus, World};

impl World {
    /// Posts the pending transactions that have aged. Moneyhub keeps the id when it matches
    /// the posted transaction to its pending one; when it cannot (here: every other one, by
    /// id), the pending id is deleted and the posted one listed under a new id.
    pub(super) fn post_aged_pending(&mut self, account_id: Uuid, now: DateTime<Utc>) {
        let Some(pending) = self.pending.remove(&account_id) else {
            return;
        };
        let mut still = Vec::new();
        let mut unmatched = Vec::new();
        for id in pending {
            match self.transactions.get_mut(&id) {
                Some(transaction) if now - day_noon(transaction.date) >= PENDING_FOR => {
                    if id.as_bytes()[15] % 2 == 0 {
                        transaction.status = TransactionStatus::Posted;
                        transaction.modified = now;
                    } else {
                        unmatched.push(id);
                    }
                }
                Some(_) => still.push(id),
                None => {}
            }
        }
        if !still.is_empty() {
            self.pending.insert(account_id, still);
        }
        self.reissue_as_posted(account_id, &unmatched, now);
    }

    /// Replaces pending transactions with posted ones under new ids (`deletedTransactions`,
    /// then `newTransactions`). Answers the new ids.
    pub fn reissue_as_posted(
        &mut self,
        account_id: Uuid,
        pending: &[Uuid],
        now: DateTime<Utc>,
    ) -> Vec<Uuid> {
        let mut fresh = Vec::with_capacity(pending.len());
        for old in pending {
            let Some(mut transaction) = self.transactions.remove(old) else {
                continue;
            };
            transaction.id = self.uuid();
            transaction.status = TransactionStatus::Posted;
            transaction.modified = now;
            if let Some(ids) = self.transactions_by_account.get_mut(&account_id)
                && let Some(slot) = ids.iter_mut().find(|id| *id == old)
            {
                *slot = transaction.id;
            }
            if let Some(ids) = self.pending.get_mut(&account_id) {
                ids.retain(|id| id != old);
            }
            fresh.push(transaction.id);
            self.transactions.insert(transaction.id, transaction);
        }
        if fresh.is_empty() {
            return fresh;
        }
        self.revision += 1;
        let connection_id = self
            .accounts
            .get(&account_id)
            .map(|a| a.connection_id.clone());
        if let Some(connection_id) = connection_id {
            let user_id = self
                .connections
                .get(&connection_id)
                .map(|c| c.user_id.clone())
                .unwrap_or_default();
            self.emit(
                "deletedTransactions",
                &user_id,
                serde_json::json!({ "accounts": [{ "id": account_id, "transactions": pending }] }),
            );
            self.announce_transactions(&connection_id, account_id, &fresh);
        }
        fresh
    }

    /// The bank deletes a transaction (posted or pending): Moneyhub stops listing it and says
    /// so (`deletedTransactions`). Answers whether there was one.
    pub fn delete_at_source(&mut self, id: Uuid) -> bool {
        let Some(transaction) = self.transactions.remove(&id) else {
            return false;
        };
        let account_id = transaction.account_id;
        if let Some(ids) = self.transactions_by_account.get_mut(&account_id) {
            ids.retain(|other| *other != id);
        }
        if let Some(ids) = self.pending.get_mut(&account_id) {
            ids.retain(|other| *other != id);
        }
        self.revision += 1;
        let user_id = self
            .accounts
            .get(&account_id)
            .and_then(|account| self.connections.get(&account.connection_id))
            .map(|connection| connection.user_id.clone())
            .unwrap_or_default();
        self.emit(
            "deletedTransactions",
            &user_id,
            serde_json::json!({ "accounts": [{ "id": account_id, "transactions": [id] }] }),
        );
        true
    }

    /// The account's transactions still pending.
    pub fn pending_of(&self, account_id: Uuid) -> Vec<Uuid> {
        self.pending.get(&account_id).cloned().unwrap_or_default()
    }
}
