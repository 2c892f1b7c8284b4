//! Typed models of what Moneyhub returns. Every field that an older API version or a test bank
//! may leave out is optional, and unknown fields are ignored, so a new Moneyhub field never breaks
//! decoding. Money is integer minor units with a currency.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: String,
    #[serde(default)]
    pub client_user_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub connection_ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionType {
    Api,
    Legacy,
    Test,
    Zoopla,
    Mouseprice,
    Autotrader,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionStatus {
    Ok,
    Error,
    Never,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionError {
    Resync,
    SyncError,
    SyncPartial,
    MfaRequired,
    CredentialsError,
    /// A code the published docs do not list, kept as Moneyhub wrote it (the app shows it).
    #[serde(untagged)]
    Undocumented(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExtendedStatus {
    Expired,
    StoppedSyncing,
    /// A value the published docs do not list, kept as Moneyhub wrote it.
    #[serde(untagged)]
    Undocumented(String),
}

/// A connection as `GET /users/{id}/connections` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ConnectionType,
    #[serde(default)]
    pub connected_on: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_synced_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub user_consented_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub account_ids: Vec<String>,
    pub status: ConnectionStatus,
    #[serde(default)]
    pub error: Option<ConnectionError>,
    #[serde(default)]
    pub extended_status: Option<ExtendedStatus>,
    #[serde(default)]
    pub tpp_consent: Option<bool>,
    #[serde(default)]
    pub single_sync_only: Option<bool>,
    #[serde(default)]
    pub use_mfa: Option<bool>,
}

impl Connection {
    /// The bank id (`id:<bankId>` scope) is the part of the connection id before the colon.
    pub fn bank_id(&self) -> &str {
        self.id.split(':').next().unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// Minor units (pence); negative is money out.
    pub value: i64,
    #[serde(default = "gbp")]
    pub currency: String,
}

fn gbp() -> String {
    "GBP".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub amount: Amount,
    #[serde(default)]
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub account_name: String,
    #[serde(rename = "type", default)]
    pub account_type: String,
    #[serde(default)]
    pub currency: Option<String>,
    pub balance: Balance,
    #[serde(default)]
    pub connection_id: Option<String>,
    #[serde(default)]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub provider_reference: Option<String>,
    /// The bank's own id for the account: unlike `id`, it stays when an AISP issues the
    /// account anew on reauth.
    #[serde(default)]
    pub provider_account_id: Option<String>,
    #[serde(default)]
    pub date_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    Posted,
    Pending,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: String,
    #[serde(default)]
    pub account_id: Option<String>,
    pub amount: Amount,
    pub date: DateTime<Utc>,
    #[serde(default)]
    pub long_description: String,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub category_id: Option<String>,
    pub status: TransactionStatus,
    #[serde(default)]
    pub date_modified: Option<DateTime<Utc>>,
}

/// A series of transactions Moneyhub detected as regular, with its prediction of the next one.
/// Shapes as in Moneyhub's published Data API schema: amounts are amount objects (minor units
/// and currency), `type` is `payment` or `income`, `frequency` is `weekly`, `fortnightly`,
/// `monthly`, `quarterly` or `yearly`. Values not documented yet are kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegularTransaction {
    pub series_id: String,
    pub account_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub cleaned_description: String,
    pub frequency: String,
    #[serde(default)]
    pub last_date: Option<NaiveDate>,
    pub predicted_date: NaiveDate,
    #[serde(default)]
    pub predicted_date_earliest: Option<NaiveDate>,
    #[serde(default)]
    pub predicted_date_latest: Option<NaiveDate>,
    #[serde(default)]
    pub predicted_tx_late_or_not_detected: Option<bool>,
    pub predicted_amount: Amount,
    #[serde(default)]
    pub predicted_amount_lower: Option<Amount>,
    #[serde(default)]
    pub predicted_amount_upper: Option<Amount>,
    #[serde(default)]
    pub predicted_category_id: Option<String>,
    /// The ids of the transactions in the series.
    #[serde(default)]
    pub transactions: Vec<String>,
}

/// `POST /sync/{connectionId}`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStarted {
    #[serde(default)]
    pub sync_id: Option<String>,
    pub status: String,
}

/// How one of Moneyhub's sync runs ended (`fetchStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FetchStatus {
    Success,
    Partial,
    Error,
    MfaRequired,
    CredentialsError,
    /// A value the published docs do not list, kept as Moneyhub wrote it. The docs do not say
    /// what a running v3 sync's record carries: it may be an in-progress value of this kind.
    #[serde(untagged)]
    Undocumented(String),
}

impl FetchStatus {
    /// Reads a value as Moneyhub (or a store that kept it) wrote it.
    pub fn from_wire(value: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(value.to_string()))
            .unwrap_or_else(|_| FetchStatus::Undocumented(value.to_string()))
    }

    /// The value as Moneyhub writes it.
    pub fn as_wire(&self) -> &str {
        match self {
            FetchStatus::Success => "success",
            FetchStatus::Partial => "partial",
            FetchStatus::Error => "error",
            FetchStatus::MfaRequired => "mfa-required",
            FetchStatus::CredentialsError => "credentials-error",
            FetchStatus::Undocumented(value) => value,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    pub id: String,
    #[serde(default)]
    pub connection_id: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    /// Absent while the sync runs (or, under another reading of the docs, an undocumented
    /// in-progress value).
    #[serde(default)]
    pub fetch_status: Option<FetchStatus>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub fetched_at: Option<DateTime<Utc>>,
}

impl SyncRun {
    /// A documented outcome ends a run; a value the docs do not list ends it only with a
    /// `fetchedAt`, since a running sync may carry one (its record's shape is not published).
    pub fn finished(&self) -> bool {
        match &self.fetch_status {
            None => false,
            Some(FetchStatus::Undocumented(_)) => self.fetched_at.is_some(),
            Some(_) => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountTypeOffer {
    pub name: String,
    #[serde(default)]
    pub beta: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    #[serde(default)]
    pub sync: Option<String>,
    #[serde(default)]
    pub auth: Option<String>,
}

/// An institution from the well-known lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Institution {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ConnectionType,
    #[serde(default)]
    pub bank_ref: Option<String>,
    #[serde(default)]
    pub is_beta: bool,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub account_types: Vec<AccountTypeOffer>,
    #[serde(default)]
    pub status: Option<ProviderStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Envelope<T> {
    pub data: T,
    #[serde(default)]
    pub links: Option<Links>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Links {
    #[serde(default)]
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undocumented_error_codes_and_statuses_keep_their_words() {
        let error: ConnectionError = serde_json::from_str("\"provider_error\"").expect("code");
        assert_eq!(
            error,
            ConnectionError::Undocumented("provider_error".into())
        );
        let known: ConnectionError = serde_json::from_str("\"mfa_required\"").expect("code");
        assert_eq!(known, ConnectionError::MfaRequired);
        let status: ExtendedStatus = serde_json::from_str("\"suspended\"").expect("status");
        assert_eq!(
            serde_json::to_string(&status).expect("json"),
            "\"suspended\""
        );
    }
}
