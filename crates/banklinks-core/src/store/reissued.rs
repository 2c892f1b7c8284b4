//! An AISP may not return consistent account ids when the person reauthorises (the seed names
//! it as a cause of trouble): Moneyhub then lists the same bank accounts, and their
//! transactions, under new ids. Kept as they come, the history would be imported twice and
//! "what changed" would list each account as both added and gone. Here the kept account and
//! transactions take the new ids instead, so notes, history and counts carry over.

use std::collections::{HashMap, HashSet};

use rusqlite::{TransactionBehavior, params};

use super::{Store, StoreError, StoredAccount, StoredTransaction, iso};

impl Store {
    /// Each account Moneyhub lists for `connection` under an id not kept here takes over the
    /// kept account of the connection that Moneyhub no longer lists and that is the same bank
    /// account: the same `providerAccountId` when both have one, else the only one of its
    /// name and type on each side. Its balances, transactions and regular payments follow.
    /// Answers the new ids of the accounts taken over.
    pub fn adopt_reissued_accounts(
        &mut self,
        profile: &str,
        connection: &str,
        listed: &[StoredAccount],
    ) -> Result<HashSet<String>, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let kept: Vec<(String, String, String, Option<String>)> = {
            let mut query = tx.prepare_cached(
                "SELECT id, name, account_type, provider_account_id FROM accounts WHERE profile_id = ?1 AND connection_id = ?2",
            )?;
            query
                .query_map(params![profile, connection], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?
        };
        let kept_ids: HashSet<&str> = kept.iter().map(|k| k.0.as_str()).collect();
        let listed_ids: HashSet<&str> = listed.iter().map(|a| a.id.as_str()).collect();
        let mut orphans: Vec<&(String, String, String, Option<String>)> = kept
            .iter()
            .filter(|k| !listed_ids.contains(k.0.as_str()))
            .collect();
        let newcomers: Vec<&StoredAccount> = listed
            .iter()
            .filter(|a| !kept_ids.contains(a.id.as_str()))
            .collect();
        let mut newcomers_by_shape: HashMap<(&str, &str), usize> = HashMap::new();
        for a in &newcomers {
            *newcomers_by_shape
                .entry((a.name.as_str(), a.account_type.as_str()))
                .or_default() += 1;
        }
        let mut adopted = HashSet::new();
        // Foreign keys are checked at commit, once children and parent carry the new id.
        tx.pragma_update(None, "defer_foreign_keys", "ON")?;
        for newcomer in newcomers {
            let matching: Vec<usize> = match &newcomer.provider_account_id {
                Some(bank_id) => orphans
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.3.as_deref() == Some(bank_id))
                    .map(|(i, _)| i)
                    .collect(),
                None => orphans
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| {
                        k.1 == newcomer.name
                            && k.2 == newcomer.account_type
                            && newcomers_by_shape
                                .get(&(newcomer.name.as_str(), newcomer.account_type.as_str()))
                                == Some(&1)
                    })
                    .map(|(i, _)| i)
                    .collect(),
            };
            let [only] = matching[..] else { continue };
            let old = orphans.remove(only).0.clone();
            let new = newcomer.id.as_str();
            tx.execute(
                "UPDATE accounts SET id = ?3, removed_at_source = NULL WHERE profile_id = ?1 AND id = ?2",
                params![profile, old, new],
            )?;
            for child in ["transactions", "balances"] {
                tx.execute(
                    &format!(
                        "UPDATE {child} SET account_id = ?3 WHERE profile_id = ?1 AND account_id = ?2"
                    ),
                    params![profile, old, new],
                )?;
            }
            adopted.insert(new.to_string());
        }
        tx.commit()?;
        Ok(adopted)
    }

    /// Transactions of accounts taken over that Moneyhub lists under ids not kept here: each
    /// takes over a kept transaction of its account with the same day, amount, currency and
    /// description whose id Moneyhub has not listed in this fetch (`listed`, which grows with
    /// each page), so the same bank record is never kept twice.
    pub fn adopt_reissued_transactions(
        &mut self,
        profile: &str,
        accounts: &HashSet<String>,
        page: &[StoredTransaction],
        listed: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for t in page.iter().filter(|t| accounts.contains(&t.account_id)) {
            listed.insert(t.id.clone());
            let known: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM transactions WHERE profile_id = ?1 AND id = ?2)",
                params![profile, t.id],
                |r| r.get(0),
            )?;
            if known {
                continue;
            }
            let candidates: Vec<String> = {
                let mut query = tx.prepare_cached(
                    "SELECT id FROM transactions WHERE profile_id = ?1 AND account_id = ?2 AND booked_at = ?3
                       AND amount_minor = ?4 AND currency = ?5 AND description = ?6 ORDER BY id",
                )?;
                query
                    .query_map(
                        params![
                            profile,
                            t.account_id,
                            iso(t.booked_at),
                            t.amount_minor,
                            t.currency,
                            t.description
                        ],
                        |r| r.get(0),
                    )?
                    .collect::<Result<_, _>>()?
            };
            if let Some(old) = candidates.into_iter().find(|id| !listed.contains(id)) {
                tx.execute(
                    "UPDATE transactions SET id = ?3 WHERE profile_id = ?1 AND id = ?2",
                    params![profile, old, t.id],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
