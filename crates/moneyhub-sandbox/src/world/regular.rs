//! Regular transactions, as Moneyhub's enrichment finds them: a series is three or more
//! transactions on one account with the same description and amount, about a month apart (the
//! generator's salary, rent, bills and subscriptions). Detection runs on request (`detect`) and
//! after each fetch; series not announced before go out as `newRegularTransactions`, series
//! whose prediction moved as `updatedRegularTransactions`.

use std::collections::BTreeMap;

use chrono::{Days, Months, NaiveDate};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Transaction, World};

/// How far either side of the predicted date the next one is expected.
const WINDOW: Days = Days::new(2);

/// One detected series.
#[derive(Debug)]
pub struct Series<'a> {
    pub id: Uuid,
    pub account_id: Uuid,
    pub description: &'a str,
    pub amount: i64,
    pub transactions: Vec<&'a Transaction>,
    pub last: NaiveDate,
    pub predicted: NaiveDate,
}

impl Series<'_> {
    /// In Moneyhub's published shape (amount objects; `type` `payment` or `income`); the late
    /// flag is judged on `today`.
    pub fn to_wire(&self, today: NaiveDate) -> Value {
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        // The sandbox's accounts are all in pounds.
        let money = |value: i64| json!({ "value": value, "currency": "GBP" });
        let earliest = self.predicted - WINDOW;
        let latest = self.predicted + WINDOW;
        json!({
            "seriesId": self.id,
            "accountId": self.account_id,
            "type": if self.amount >= 0 { "income" } else { "payment" },
            "description": self.description,
            "cleanedDescription": self.description,
            "frequency": "monthly",
            "numTxMatchedInSeries": self.transactions.len(),
            "lastDate": day(self.last),
            "predictedDate": day(self.predicted),
            "predictedDateEarliest": day(earliest),
            "predictedDateLatest": day(latest),
            "predictedTxLateOrNotDetected": today > latest,
            "predictedAmount": money(self.amount),
            "predictedAmountLower": money(self.amount),
            "predictedAmountUpper": money(self.amount),
            "predictedCategoryId": self.transactions.first().map(|t| t.category),
            "transactions": self.transactions.iter().map(|t| t.id).collect::<Vec<_>>(),
        })
    }
}

impl World {
    /// The series in `user`'s accounts (one account's with `only`).
    pub fn regular_series(&self, user: &str, only: Option<Uuid>) -> Vec<Series<'_>> {
        let mut groups: BTreeMap<(Uuid, &str, i64), Vec<&Transaction>> = BTreeMap::new();
        for account in self
            .accounts
            .values()
            .filter(|a| a.user_id == user && only.is_none_or(|id| id == a.id))
        {
            for t in self
                .transactions_by_account
                .get(&account.id)
                .into_iter()
                .flatten()
                .filter_map(|id| self.transactions.get(id))
            {
                groups
                    .entry((account.id, t.description, t.amount))
                    .or_default()
                    .push(t);
            }
        }
        groups
            .into_iter()
            .filter(|(_, txs)| txs.len() >= 3)
            .filter_map(|((account_id, description, amount), mut transactions)| {
                transactions.sort_by_key(|t| t.date);
                let monthly = transactions
                    .windows(2)
                    .all(|w| (27..=32).contains(&(w[1].date - w[0].date).num_days()));
                if !monthly {
                    return None;
                }
                let last = transactions.last()?.date;
                Some(Series {
                    id: Uuid::new_v5(
                        &Uuid::NAMESPACE_OID,
                        format!("{account_id}{description}{amount}").as_bytes(),
                    ),
                    account_id,
                    description,
                    amount,
                    last,
                    predicted: last.checked_add_months(Months::new(1))?,
                    transactions,
                })
            })
            .collect()
    }

    /// Detects `user`'s series (one account's with `only`) and announces what changed since the
    /// last detection: new series, and series whose predicted date moved.
    pub fn detect_regular(&mut self, user: &str, only: Option<Uuid>) {
        let found: Vec<(Uuid, Uuid, NaiveDate)> = self
            .regular_series(user, only)
            .iter()
            .map(|s| (s.account_id, s.id, s.predicted))
            .collect();
        let mut new: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
        let mut updated: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
        for (account, series, predicted) in found {
            match self.regular_announced.insert(series, predicted) {
                None => new.entry(account).or_default().push(series),
                Some(before) if before != predicted => {
                    updated.entry(account).or_default().push(series)
                }
                Some(_) => {}
            }
        }
        if !new.is_empty() || !updated.is_empty() {
            // What was announced is saved, so a restart does not announce it again.
            self.revision += 1;
        }
        // The payload's shape is not published (only the event names are); this is the shape
        // of Moneyhub's transaction events: per account, the ids concerned.
        for (event, changes) in [
            ("newRegularTransactions", new),
            ("updatedRegularTransactions", updated),
        ] {
            if !changes.is_empty() {
                let accounts: Vec<Value> = changes
                    .into_iter()
                    .map(|(id, series)| json!({ "id": id, "regularTransactions": series }))
                    .collect();
                self.emit(event, user, json!({ "accounts": accounts }));
            }
        }
    }
}
