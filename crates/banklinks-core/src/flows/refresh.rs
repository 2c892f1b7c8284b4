//! Moneyhub into the store: the profile's connections, their accounts, and their transactions
//! page by page (each page saved in its own transaction, so progress survives an interruption,
//! with a `HistoryProgress` event per page).

use moneyhub::api::TransactionQuery;
use moneyhub::models::{self, ConnectionType};

use super::{FlowError, FlowEvent, Flows, lock};
use crate::store::{StoredAccount, StoredConnection, StoredTransaction};

impl Flows {
    /// Fetches the profile's connections, accounts and transactions into the store. Each page
    /// of transactions is saved in its own transaction, so progress survives an interruption.
    pub async fn refresh(&self) -> Result<(), FlowError> {
        let now = self.now();
        let connections = self.client.connections(&self.user_id).await?;
        let stored: Vec<StoredConnection> = connections.iter().map(stored_connection).collect();
        lock(&self.store).save_connections(&self.profile, &stored, now)?;
        for connection in &connections {
            if matches!(connection.kind, ConnectionType::Other) {
                continue;
            }
            let accounts = self
                .client
                .accounts(&self.user_id, Some(&connection.id))
                .await?;
            let rows: Vec<StoredAccount> = accounts
                .iter()
                .map(|a| StoredAccount {
                    id: a.id.clone(),
                    connection_id: connection.id.clone(),
                    name: a.account_name.clone(),
                    account_type: a.account_type.clone(),
                    currency: a.balance.amount.currency.clone(),
                    balance_minor: a.balance.amount.value,
                    balance_date: a.balance.date.map(|d| d.format("%Y-%m-%d").to_string()),
                })
                .collect();
            lock(&self.store).save_accounts(&self.profile, &rows, now)?;
            if accounts.is_empty() {
                continue;
            }
            let query = TransactionQuery {
                account_ids: accounts.iter().map(|a| a.id.clone()).collect(),
                ..TransactionQuery::default()
            };
            let mut pages = self.client.transactions(&self.user_id, query);
            let mut saved: u32 = 0;
            while let Some(page) = pages.next_page().await? {
                saved = saved.saturating_add(u32::try_from(page.len()).unwrap_or(u32::MAX));
                let rows: Vec<StoredTransaction> = page
                    .into_iter()
                    .filter_map(|t| {
                        Some(StoredTransaction {
                            account_id: t.account_id?,
                            id: t.id,
                            booked_at: t.date,
                            amount_minor: t.amount.value,
                            currency: t.amount.currency,
                            description: if t.short_description.is_empty() {
                                t.long_description
                            } else {
                                t.short_description
                            },
                            category_id: t.category_id,
                            pending: t.status == models::TransactionStatus::Pending,
                        })
                    })
                    .collect();
                lock(&self.store).import_transactions(&self.profile, &rows)?;
                self.emit(FlowEvent::HistoryProgress {
                    connection_id: connection.id.clone(),
                    transactions: saved,
                });
            }
        }
        lock(&self.store).set_setting(&self.last_refresh_key(), &crate::store::iso(now))?;
        self.emit(FlowEvent::ConnectionsRefreshed);
        Ok(())
    }

    /// When the profile last heard from Moneyhub in full (survives restarts; "Updated …" in the
    /// chrome reads it).
    pub fn last_refresh(&self) -> Result<Option<String>, FlowError> {
        Ok(lock(&self.store).setting(&self.last_refresh_key())?)
    }

    fn last_refresh_key(&self) -> String {
        format!("last_refresh:{}", self.profile)
    }
}

pub(super) fn stored_connection(c: &models::Connection) -> StoredConnection {
    let text = |value: &dyn erased::Wire| value.wire();
    StoredConnection {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: text(&c.kind),
        status: text(&c.status),
        error: c.error.as_ref().map(|e| text(e)),
        extended_status: c.extended_status.as_ref().map(|e| text(e)),
        connected_on: c.connected_on,
        last_updated: c.last_updated,
        last_synced_at: c.last_synced_at,
        expires_at: c.expires_at,
        tpp_consent: c.tpp_consent.unwrap_or(false),
        single_sync_only: c.single_sync_only.unwrap_or(false),
    }
}

/// Moneyhub's enum values as the wire strings the store keeps.
mod erased {
    pub trait Wire {
        fn wire(&self) -> String;
    }
    impl<T: serde::Serialize> Wire for T {
        fn wire(&self) -> String {
            serde_json::to_value(self)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }
    }
}
