//! Regular payments: the series Moneyhub detected in an account's transactions, as last fetched.

use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError};

/// One series, in the store's terms: amounts in minor units of `currency`, dates as
/// `YYYY-MM-DD`. `kind` is Moneyhub's `payment` or `income` (or a value it adds later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RegularPayment {
    pub series_id: String,
    pub account_id: String,
    pub kind: String,
    pub description: String,
    pub frequency: String,
    pub predicted_date: String,
    pub predicted_earliest: Option<String>,
    pub predicted_latest: Option<String>,
    /// Moneyhub's `predictedTxLateOrNotDetected`: the last predicted one has not been seen.
    pub late: bool,
    pub currency: String,
    #[specta(type = f64)]
    pub amount_minor: i64,
    #[specta(type = Option<f64>)]
    pub amount_lower_minor: Option<i64>,
    #[specta(type = Option<f64>)]
    pub amount_upper_minor: Option<i64>,
}

impl Store {
    /// Replaces the profile's series with `series` in one transaction; those of accounts this
    /// device does not hold are left out.
    pub fn replace_regular_payments(
        &mut self,
        profile: &str,
        series: &[RegularPayment],
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM regular_payments WHERE profile_id = ?1",
            [profile],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO regular_payments (profile_id, series_id, account_id, kind, description, frequency, predicted_date, predicted_earliest, predicted_latest, late, currency, amount_minor, amount_lower_minor, amount_upper_minor) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14 WHERE EXISTS (SELECT 1 FROM accounts WHERE profile_id = ?1 AND id = ?3)",
            )?;
            for s in series {
                insert.execute(params![
                    profile,
                    s.series_id,
                    s.account_id,
                    s.kind,
                    s.description,
                    s.frequency,
                    s.predicted_date,
                    s.predicted_earliest,
                    s.predicted_latest,
                    s.late,
                    s.currency,
                    s.amount_minor,
                    s.amount_lower_minor,
                    s.amount_upper_minor,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// An account's series, soonest expected first.
    pub fn regular_payments(
        &self,
        profile: &str,
        account: &str,
    ) -> Result<Vec<RegularPayment>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT series_id, account_id, kind, description, frequency, predicted_date, predicted_earliest, predicted_latest, late, currency, amount_minor, amount_lower_minor, amount_upper_minor \
             FROM regular_payments WHERE profile_id = ?1 AND account_id = ?2 ORDER BY predicted_date, description",
        )?;
        let rows = query.query_map(params![profile, account], |r| {
            Ok(RegularPayment {
                series_id: r.get(0)?,
                account_id: r.get(1)?,
                kind: r.get(2)?,
                description: r.get(3)?,
                frequency: r.get(4)?,
                predicted_date: r.get(5)?,
                predicted_earliest: r.get(6)?,
                predicted_latest: r.get(7)?,
                late: r.get(8)?,
                currency: r.get(9)?,
                amount_minor: r.get(10)?,
                amount_lower_minor: r.get(11)?,
                amount_upper_minor: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
