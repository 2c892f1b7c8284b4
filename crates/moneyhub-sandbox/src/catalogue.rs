//! The institutions the sandbox offers: plausible UK banks, card issuers, pension and investment
//! platforms, valuation providers, Moneyhub's own test banks, and scripted banks whose behaviour
//! is fixed so a presenter or a test can reach every connection state on purpose.
//!
//! Ids are 32 hex digits like Moneyhub's (`id:<bankId>` scopes). Where public material names a
//! real id (the Moneyhub Open Banking Mock, Monzo, Lloyds, Aviva…) it is used; the rest are
//! derived from the name, so they are stable across runs and machines.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What kind of connection an institution gives, as in a connection's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionType {
    Api,
    Legacy,
    Test,
    Zoopla,
    Mouseprice,
    Autotrader,
    /// A type Moneyhub lists that clients may not model (an identity and credit-report
    /// connection): a client must still fetch its accounts.
    IdExperian,
}

impl ConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Api => "api",
            ConnectionType::Legacy => "legacy",
            ConnectionType::Test => "test",
            ConnectionType::Zoopla => "zoopla",
            ConnectionType::Mouseprice => "mouseprice",
            ConnectionType::Autotrader => "autotrader",
            ConnectionType::IdExperian => "id:experian",
        }
    }

    /// Open-banking-like connections (test banks behave as api ones): reconsent applies, refresh
    /// does not.
    pub fn is_open_banking(self) -> bool {
        matches!(self, ConnectionType::Api | ConnectionType::Test)
    }

    pub fn is_valuation(self) -> bool {
        matches!(
            self,
            ConnectionType::Zoopla | ConnectionType::Mouseprice | ConnectionType::Autotrader
        )
    }
}

/// Provider availability, as in a well-known connection's `status.sync` / `status.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Availability {
    Available,
    PartiallyAvailable,
    TemporarilyUnavailable,
    PermanentlyUnavailable,
}

/// The built-in behaviour of an institution's connections. Documented in the crate README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Script {
    /// Syncs succeed.
    Healthy,
    /// Consent is granted for 3 days only, so expiry comes quickly.
    ConsentExpiresIn3Days,
    /// Legacy: every automatic sync needs MFA (`mfa_required`); the refresh journey asks a
    /// security question and then syncs.
    LegacyMfa,
    /// The first automatic sync after connecting fails with `credentials_error`.
    CredentialsError,
    /// Every other sync fails with `sync_error`.
    IntermittentErrors,
    /// Syncs finish with `sync_partial`.
    PartialSync,
    /// The provider is down: syncs fail and manual syncs answer 502 `ExternalProvider`.
    Unavailable,
    /// Legacy with `singleSyncOnly`: syncs once, then only after a refresh.
    SingleSyncOnly,
    /// A reauth always yields a new connection id, whatever accounts are chosen.
    NewIdOnReauth,
    /// Allows 4 syncs a day per connection, automatic ones included (like Triodos).
    FourSyncsADay,
    /// A sync takes three minutes (most take seconds).
    SlowSync,
    /// Syncs fail with an `error` code the published docs do not list.
    UnknownError,
    /// Syncs fail with `status: "error"` and no `error` at all.
    ErrorWithoutCode,
    /// Syncs fail and set an `extendedStatus` the published docs do not list.
    UnknownExtendedStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct Institution {
    pub id: String,
    pub name: &'static str,
    pub kind: ConnectionType,
    pub bank_ref: &'static str,
    pub is_beta: bool,
    /// Moneyhub account types (`cash:current`, `card`, `mortgage:repayment`…) of the accounts a
    /// connection to it has.
    pub account_types: &'static [&'static str],
    pub business: bool,
    pub sync: Availability,
    pub auth: Availability,
    /// Months of history the provider gives in total (12 for most, 3 for some).
    pub history_months: u32,
    /// Whether a connection's 90-day consent is renewed by the TPP (reconsent) rather than by a
    /// full reauth.
    pub tpp_consent: bool,
    pub script: Script,
}

impl Institution {
    /// Manual syncs allowed per connection per UK day, when the provider caps them.
    pub fn daily_sync_cap(&self) -> Option<u32> {
        (self.script == Script::FourSyncsADay).then_some(4)
    }

    /// How long an asynchronous sync takes at this provider.
    pub fn sync_duration(&self) -> chrono::Duration {
        if self.script == Script::SlowSync {
            chrono::Duration::minutes(3)
        } else {
            chrono::Duration::seconds(4)
        }
    }

    /// Whether it is offered for new connections through `id:<bankId>` (a permanently
    /// unavailable provider is listed but refuses new journeys).
    pub fn accepts_new_connections(&self) -> bool {
        self.auth != Availability::PermanentlyUnavailable
    }
}

mod specs;
use specs::SPECS;

/// Every institution, in a fixed order.
#[derive(Debug, Clone)]
pub struct Catalogue {
    institutions: Vec<Institution>,
}

impl Default for Catalogue {
    fn default() -> Self {
        let institutions = SPECS
            .iter()
            .map(|spec| Institution {
                id: spec
                    .id
                    .map_or_else(|| derived_id(spec.name), str::to_string),
                name: spec.name,
                kind: spec.kind,
                bank_ref: spec.bank_ref,
                is_beta: spec.is_beta,
                account_types: spec.account_types,
                business: spec.business,
                sync: spec.sync,
                auth: spec.auth,
                history_months: spec.history_months,
                tpp_consent: spec.kind.is_open_banking(),
                script: spec.script,
            })
            .collect();
        Self { institutions }
    }
}

fn derived_id(name: &str) -> String {
    let digest = Sha256::digest(format!("moneyhub-sandbox institution {name}").as_bytes());
    hex::encode(&digest[..16])
}

/// The well-known lists Moneyhub publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WellKnownList {
    All,
    Api,
    Legacy,
    Test,
    Beta,
    Payments,
    Zoopla,
    Mouseprice,
    Autotrader,
}

impl WellKnownList {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "all" => Self::All,
            "api" => Self::Api,
            "legacy" => Self::Legacy,
            "test" => Self::Test,
            "beta" => Self::Beta,
            "payments" => Self::Payments,
            "zoopla" => Self::Zoopla,
            "mouseprice" => Self::Mouseprice,
            "autotrader" => Self::Autotrader,
            _ => return None,
        })
    }

    fn includes(self, institution: &Institution) -> bool {
        match self {
            Self::All => institution.kind != ConnectionType::Test,
            Self::Api => institution.kind == ConnectionType::Api,
            Self::Legacy => institution.kind == ConnectionType::Legacy,
            Self::Test => institution.kind == ConnectionType::Test,
            Self::Beta => institution.is_beta,
            Self::Payments => {
                institution.kind.is_open_banking()
                    && institution.account_types.contains(&"cash:current")
            }
            Self::Zoopla => institution.kind == ConnectionType::Zoopla,
            Self::Mouseprice => institution.kind == ConnectionType::Mouseprice,
            Self::Autotrader => institution.kind == ConnectionType::Autotrader,
        }
    }
}

impl Catalogue {
    pub fn all(&self) -> &[Institution] {
        &self.institutions
    }

    pub fn get(&self, id: &str) -> Option<&Institution> {
        self.institutions
            .iter()
            .find(|institution| institution.id == id)
    }

    pub fn by_bank_ref(&self, bank_ref: &str) -> Option<&Institution> {
        self.institutions
            .iter()
            .find(|institution| institution.bank_ref == bank_ref)
    }

    pub fn list(&self, list: WellKnownList) -> impl Iterator<Item = &Institution> {
        self.institutions
            .iter()
            .filter(move |institution| list.includes(institution))
    }

    /// The institutions a chooser scope (`id:all`, `id:api`, `id:legacy`, `id:test`) offers.
    pub fn chooser(&self, scope: &str) -> Option<Vec<&Institution>> {
        let list = match scope {
            "all" => None,
            "api" => Some(WellKnownList::Api),
            "legacy" => Some(WellKnownList::Legacy),
            "test" => Some(WellKnownList::Test),
            _ => return None,
        };
        Some(
            self.institutions
                .iter()
                .filter(|institution| list.is_none_or(|list| list.includes(institution)))
                .filter(|institution| institution.accepts_new_connections())
                .collect(),
        )
    }
}

/// The coarse account categories a well-known connection lists (`accountTypes[].name`).
pub fn account_type_category(account_type: &str) -> &'static str {
    match account_type.split(':').next().unwrap_or_default() {
        "cash" => "cash",
        "card" => "card",
        "savings" => "savings",
        "loan" => "loan",
        "mortgage" => "mortgage",
        "pension" => "pension",
        "investment" => "investment",
        "properties" => "properties",
        "crypto" => "crypto",
        _ => "asset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionType::{Api, Autotrader, Legacy, Mouseprice, Test, Zoopla};

    #[test]
    fn the_catalogue_has_at_least_thirty_institutions_with_unique_ids() {
        let catalogue = Catalogue::default();
        assert!(catalogue.all().len() >= 30);
        let mut ids: Vec<_> = catalogue.all().iter().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), catalogue.all().len());
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn every_kind_of_connection_and_some_degraded_providers_exist() {
        let catalogue = Catalogue::default();
        for kind in [Api, Legacy, Test, Zoopla, Mouseprice, Autotrader] {
            assert!(catalogue.all().iter().any(|i| i.kind == kind), "{kind:?}");
        }
        assert!(
            catalogue
                .all()
                .iter()
                .any(|i| i.sync != Availability::Available)
        );
        assert!(catalogue.get("1ffe704d39629a929c8e293880fb449a").is_some());
    }

    #[test]
    fn lists_follow_their_types() {
        let catalogue = Catalogue::default();
        assert!(catalogue.list(WellKnownList::Test).all(|i| i.kind == Test));
        assert!(
            catalogue
                .list(WellKnownList::Legacy)
                .all(|i| i.kind == Legacy)
        );
        assert!(
            catalogue.list(WellKnownList::All).count() > catalogue.list(WellKnownList::Api).count()
        );
        assert!(
            catalogue
                .chooser("test")
                .is_some_and(|banks| !banks.is_empty())
        );
        assert!(catalogue.chooser("nonsense").is_none());
    }
}
