//! The scripted banks, one line of data each (the behaviour they stand for is in [`Script`]).

use super::{Availability, ConnectionType, Script};

pub(super) struct Spec {
    pub(super) id: Option<&'static str>,
    pub(super) name: &'static str,
    pub(super) kind: ConnectionType,
    pub(super) bank_ref: &'static str,
    pub(super) account_types: &'static [&'static str],
    pub(super) script: Script,
    pub(super) history_months: u32,
    pub(super) sync: Availability,
    pub(super) auth: Availability,
    pub(super) business: bool,
    pub(super) is_beta: bool,
}

const fn spec(
    id: Option<&'static str>,
    name: &'static str,
    kind: ConnectionType,
    bank_ref: &'static str,
    account_types: &'static [&'static str],
) -> Spec {
    Spec {
        id,
        name,
        kind,
        bank_ref,
        account_types,
        script: Script::Healthy,
        history_months: 12,
        sync: Availability::Available,
        auth: Availability::Available,
        business: false,
        is_beta: false,
    }
}

/// A current-account bank that behaves in one odd way.
const fn odd(script: Script, name: &'static str, bank_ref: &'static str) -> Spec {
    Spec {
        script,
        ..spec(None, name, ConnectionType::Api, bank_ref, CURRENT)
    }
}

const CURRENT: &[&str] = &["cash:current"];
const CURRENT_SAVINGS: &[&str] = &["cash:current", "savings"];
const CURRENT_CARD: &[&str] = &["cash:current", "card"];
const CARD: &[&str] = &["card"];
const SAVINGS: &[&str] = &["savings"];

use ConnectionType::{Api, Autotrader, IdExperian, Legacy, Mouseprice, Test, Zoopla};

pub(super) const SPECS: &[Spec] = &[
    // Moneyhub's own test banks (ids from Moneyhub's public examples).
    spec(
        Some("1ffe704d39629a929c8e293880fb449a"),
        "Moneyhub Open Banking Mock",
        Test,
        "moneyhub-mock",
        CURRENT_SAVINGS,
    ),
    spec(
        Some("b74f1a79f0be8bdb857d82d0f041d7d2"),
        "Modelo Open Banking Mock",
        Test,
        "modelo",
        CURRENT_CARD,
    ),
    spec(
        Some("1b3cd579899b5f5b666c15561a48c8b6"),
        "DAG Bank Test",
        Test,
        "dag-bank",
        CURRENT,
    ),
    spec(
        Some("06995ed5c6c6f25e323b34dc45968426"),
        "DAG Investment Test",
        Test,
        "dag-investment",
        &["investment"],
    ),
    spec(
        Some("5233db2a04fe41dd01d3308ea92e8bd7"),
        "Ozone Open Banking Sandbox",
        Test,
        "ozone",
        CURRENT,
    ),
    // Open banking.
    spec(
        Some("fa37a6ecc38eea38bdf3dd0fdcb68fab"),
        "Monzo",
        Api,
        "monzo",
        CURRENT_SAVINGS,
    ),
    spec(
        Some("ec6c9a9d1c152056ea6a018b37a56daf"),
        "Lloyds Bank",
        Api,
        "lloyds",
        CURRENT_CARD,
    ),
    Spec {
        business: true,
        ..spec(
            Some("4ec5d5e4344f1a5659633815291d8c55"),
            "Lloyds Bank Business",
            Api,
            "lloyds",
            CURRENT,
        )
    },
    spec(None, "Barclays", Api, "barclays", CURRENT_SAVINGS),
    spec(None, "Barclaycard", Api, "barclays", CARD),
    spec(None, "HSBC UK", Api, "hsbc", CURRENT_SAVINGS),
    spec(None, "HSBC Credit Cards", Api, "hsbc", CARD),
    spec(None, "NatWest", Api, "natwest", CURRENT_CARD),
    spec(None, "Santander UK", Api, "santander", CURRENT_SAVINGS),
    spec(
        None,
        "Nationwide Building Society",
        Api,
        "nationwide",
        CURRENT_SAVINGS,
    ),
    spec(None, "Halifax", Api, "halifax", CURRENT_CARD),
    spec(None, "TSB", Api, "tsb", CURRENT),
    spec(None, "Starling Bank", Api, "starling", CURRENT),
    Spec {
        is_beta: true,
        ..spec(None, "Revolut", Api, "revolut", CURRENT_SAVINGS)
    },
    spec(None, "first direct", Api, "first-direct", CURRENT_SAVINGS),
    spec(None, "Metro Bank", Api, "metro", CURRENT),
    spec(None, "The Co-operative Bank", Api, "co-op", CURRENT),
    spec(None, "Virgin Money", Api, "virgin-money", CURRENT_CARD),
    spec(None, "American Express", Api, "amex", CARD),
    Spec {
        history_months: 3,
        ..spec(None, "Coventry Building Society", Api, "coventry", SAVINGS)
    },
    spec(None, "Chase UK", Api, "chase", CURRENT_SAVINGS),
    Spec {
        business: true,
        ..spec(None, "Tide", Api, "tide", CURRENT)
    },
    Spec {
        script: Script::FourSyncsADay,
        ..spec(None, "Triodos Bank", Api, "triodos", CURRENT_SAVINGS)
    },
    Spec {
        script: Script::Unavailable,
        sync: Availability::TemporarilyUnavailable,
        auth: Availability::PartiallyAvailable,
        ..spec(None, "Danske Bank", Api, "danske", CURRENT)
    },
    Spec {
        script: Script::IntermittentErrors,
        sync: Availability::PartiallyAvailable,
        ..spec(None, "Ulster Bank", Api, "ulster", CURRENT)
    },
    // Screen-scraping (legacy).
    spec(
        Some("3c4637d3178c9a28ce655bfbf8e27a10"),
        "Aviva",
        Legacy,
        "aviva",
        &["pension"],
    ),
    Spec {
        script: Script::LegacyMfa,
        ..spec(
            None,
            "Hargreaves Lansdown",
            Legacy,
            "hargreaves-lansdown",
            &["investment", "pension:definedContribution"],
        )
    },
    Spec {
        script: Script::SingleSyncOnly,
        ..spec(
            None,
            "Vanguard Investor",
            Legacy,
            "vanguard",
            &["investment"],
        )
    },
    Spec {
        script: Script::CredentialsError,
        ..spec(
            None,
            "Scottish Widows",
            Legacy,
            "scottish-widows",
            &["pension:definedBenefit"],
        )
    },
    spec(None, "Nutmeg", Legacy, "nutmeg", &["investment"]),
    spec(None, "Coinbase", Legacy, "coinbase", &["crypto"]),
    spec(None, "Zopa", Legacy, "zopa", &["loan"]),
    spec(
        None,
        "Halifax Mortgages",
        Legacy,
        "halifax",
        &["mortgage:repayment"],
    ),
    // A mortgage beside a current account: the 2-day staleness rule applies, not the 40-day one.
    spec(
        None,
        "Sandbox Bank (mortgage and current account)",
        Api,
        "sandbox-mortgage-current",
        &["cash:current", "mortgage:repayment"],
    ),
    // Valuations.
    spec(
        None,
        "Zoopla",
        Zoopla,
        "zoopla",
        &["properties:residential"],
    ),
    spec(
        None,
        "Mouseprice",
        Mouseprice,
        "mouseprice",
        &["properties:buyToLet"],
    ),
    spec(None, "Auto Trader", Autotrader, "autotrader", &["asset"]),
    spec(
        None,
        "Experian (credit report)",
        IdExperian,
        "experian",
        CARD,
    ),
    // Scripted banks for demos and tests: each name says what it does.
    Spec {
        script: Script::ConsentExpiresIn3Days,
        ..spec(
            None,
            "Sandbox Bank (consent expires in 3 days)",
            Api,
            "sandbox-expiring",
            CURRENT,
        )
    },
    Spec {
        script: Script::PartialSync,
        ..spec(
            None,
            "Sandbox Bank (partial syncs)",
            Api,
            "sandbox-partial",
            CURRENT_CARD,
        )
    },
    Spec {
        script: Script::NewIdOnReauth,
        ..spec(
            None,
            "Sandbox Bank (new id on reauth)",
            Api,
            "sandbox-new-id",
            CURRENT,
        )
    },
    Spec {
        script: Script::IntermittentErrors,
        ..spec(
            None,
            "Sandbox Bank (intermittent sync errors)",
            Api,
            "sandbox-intermittent",
            CURRENT,
        )
    },
    Spec {
        script: Script::Unavailable,
        auth: Availability::TemporarilyUnavailable,
        sync: Availability::TemporarilyUnavailable,
        ..spec(
            None,
            "Sandbox Bank (down for maintenance)",
            Api,
            "sandbox-maintenance",
            CURRENT,
        )
    },
    // What real Moneyhub does that the docs do not promise: slow syncs and undocumented codes.
    odd(
        Script::SlowSync,
        "Sandbox Bank (slow syncs)",
        "sandbox-slow",
    ),
    odd(
        Script::UnknownError,
        "Sandbox Bank (undocumented error)",
        "sandbox-odd-error",
    ),
    odd(
        Script::ErrorWithoutCode,
        "Sandbox Bank (error without a code)",
        "sandbox-no-code",
    ),
    odd(
        Script::UnknownExtendedStatus,
        "Sandbox Bank (undocumented status)",
        "sandbox-odd-status",
    ),
    Spec {
        auth: Availability::PermanentlyUnavailable,
        sync: Availability::PermanentlyUnavailable,
        ..spec(
            None,
            "Sandbox Bank (closed to new connections)",
            Api,
            "sandbox-closed",
            CURRENT,
        )
    },
];
