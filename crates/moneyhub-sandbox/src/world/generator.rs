//! Deterministic transactions: what an account shows on a given day depends only on the world
//! seed, the account and the date, so a replay with the same seed gives the same money.
//!
//! Current accounts get a salary, rent, bills, subscriptions and groceries on recurring days (so
//! regular-transaction detection finds series); cards get purchases and a monthly repayment;
//! savings a monthly transfer and interest; pensions, investments, loans and mortgages a monthly
//! contribution or repayment; property and asset valuations have no transactions.

use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One generated transaction, before it gets an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub description: &'static str,
    pub category: &'static str,
    /// Minor units; negative is money out.
    pub amount: i64,
}

const GROCERS: &[&str] = &[
    "TESCO STORES 2281",
    "SAINSBURYS S/MKTS",
    "ASDA SUPERSTORE",
    "ALDI 114",
    "WAITROSE 0923",
];
const EATING_OUT: &[&str] = &[
    "PRET A MANGER",
    "COSTA COFFEE",
    "DISHOOM KINGS CROSS",
    "NANDOS",
    "GREGGS",
];
const SUPPLIERS: &[&str] = &[
    "BOOKER WHOLESALE",
    "BRAKES FOODSERVICE",
    "SCREWFIX DIRECT",
    "VIKING DIRECT",
];
const SHOPS: &[&str] = &[
    "AMAZON.CO.UK",
    "JOHN LEWIS",
    "BOOTS 1123",
    "ARGOS",
    "IKEA LTD",
];

fn day_rng(seed: u64, account_seed: u64, date: NaiveDate) -> ChaCha8Rng {
    let day = u64::try_from(date.num_days_from_ce()).unwrap_or_default();
    ChaCha8Rng::seed_from_u64(
        seed ^ account_seed.rotate_left(17) ^ day.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    )
}

/// The transactions an account of `account_type` has on `date`.
pub fn transactions_on(
    seed: u64,
    account_seed: u64,
    account_type: &str,
    business: bool,
    date: NaiveDate,
) -> Vec<Generated> {
    let mut rng = day_rng(seed, account_seed, date);
    let day = date.day();
    let mut out = Vec::new();
    let mut push = |description, category, amount| {
        out.push(Generated {
            description,
            category,
            amount,
        })
    };
    match account_type {
        "cash:current" if business => {
            // A trading account: card takings most days, suppliers, payroll and HMRC monthly.
            let weekday = date.weekday().num_days_from_monday() < 5;
            let takings = if weekday {
                rng.random_range(3..9)
            } else {
                rng.random_range(0..3)
            };
            for _ in 0..takings {
                push(
                    "CARD TAKINGS SETTLEMENT",
                    "std:income",
                    rng.random_range(1_500..48_000),
                );
            }
            if weekday && rng.random_ratio(1, 2) {
                let supplier = SUPPLIERS[rng.random_range(0..SUPPLIERS.len())];
                push(
                    supplier,
                    "std:business-expenses",
                    -rng.random_range(5_000..180_000),
                );
            }
            if day == 28 {
                push("PAYROLL", "std:salaries", -1_450_000);
            }
            if day == 19 {
                push("HMRC VAT", "std:tax", -rng.random_range(200_000..600_000));
            }
        }
        "cash:current" => {
            if day == 25 {
                push("ACME LTD SALARY", "std:income", 285_000);
            }
            if day == 1 {
                push("HOMELET RENT", "std:rent", -115_000);
            }
            if day == 3 {
                push("LONDON BOROUGH COUNCIL TAX", "std:council-tax", -14_800);
            }
            if day == 10 {
                push("OCTOPUS ENERGY", "std:energy", -9_200);
            }
            if day == 15 {
                push("EE MOBILE", "std:phone", -2_400);
            }
            if day == 7 {
                push("NETFLIX.COM", "std:subscriptions", -1_099);
            }
            if day == 12 {
                push("PUREGYM", "std:fitness", -2_499);
            }
            if rng.random_ratio(2, 7) {
                let grocer = GROCERS[rng.random_range(0..GROCERS.len())];
                push(grocer, "std:groceries", -rng.random_range(1_200..9_500));
            }
            if rng.random_ratio(1, 3) {
                let place = EATING_OUT[rng.random_range(0..EATING_OUT.len())];
                push(place, "std:eating-out", -rng.random_range(250..4_500));
            }
            if rng.random_ratio(1, 2) {
                push(
                    "TFL TRAVEL CH",
                    "std:transport",
                    -rng.random_range(180..780),
                );
            }
        }
        "card" => {
            if rng.random_ratio(1, 2) {
                let shop = SHOPS[rng.random_range(0..SHOPS.len())];
                push(shop, "std:shopping", -rng.random_range(500..12_000));
            }
            if day == 20 {
                push("PAYMENT RECEIVED - THANK YOU", "std:transfers", 45_000);
            }
        }
        "savings" => {
            if day == 26 {
                push("TRANSFER FROM CURRENT ACCOUNT", "std:transfers", 20_000);
            }
            if day == 1 {
                push("INTEREST", "std:interest", rng.random_range(300..1_500));
            }
        }
        "pension" | "pension:definedContribution" | "pension:definedBenefit" | "investment"
            if day == 28 =>
        {
            push("MONTHLY CONTRIBUTION", "std:investments", 25_000);
        }
        "loan" | "mortgage:repayment" | "mortgage:interestOnly" if day == 2 => {
            push("MONTHLY REPAYMENT", "std:loans", 62_500);
        }
        "crypto" if rng.random_ratio(1, 10) => {
            let amount = rng.random_range(1_000..20_000);
            push("BTC PURCHASE", "std:investments", amount);
        }
        _ => {}
    }
    out
}

/// A plausible opening balance for a new account, in minor units.
pub fn opening_balance(seed: u64, account_seed: u64, account_type: &str) -> i64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ account_seed);
    match account_type {
        "cash:current" => rng.random_range(50_000..400_000),
        "savings" => rng.random_range(200_000..2_500_000),
        "card" => -rng.random_range(10_000..150_000),
        "loan" => -rng.random_range(500_000..1_500_000),
        "mortgage:repayment" | "mortgage:interestOnly" => -rng.random_range(15_000_000..35_000_000),
        "properties:residential" | "properties:buyToLet" => {
            rng.random_range(25_000_000..65_000_000)
        }
        "asset" => rng.random_range(800_000..3_500_000),
        _ => rng.random_range(1_000_000..9_000_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn the_same_inputs_give_the_same_transactions() {
        let a = transactions_on(7, 99, "cash:current", false, date(2026, 3, 25));
        let b = transactions_on(7, 99, "cash:current", false, date(2026, 3, 25));
        assert_eq!(a, b);
        assert!(
            a.iter()
                .any(|t| t.description == "ACME LTD SALARY" && t.amount == 285_000)
        );
    }

    #[test]
    fn recurring_bills_fall_on_their_days_and_valuations_have_none() {
        assert!(
            transactions_on(1, 2, "cash:current", false, date(2026, 4, 1))
                .iter()
                .any(|t| t.category == "std:rent")
        );
        assert!(
            transactions_on(1, 2, "cash:current", false, date(2026, 4, 7))
                .iter()
                .any(|t| t.description == "NETFLIX.COM")
        );
        assert!(
            transactions_on(1, 2, "properties:residential", false, date(2026, 4, 1)).is_empty()
        );
    }

    #[test]
    fn a_year_of_a_current_account_has_hundreds_of_transactions() {
        let mut day = date(2025, 1, 1);
        let mut count = 0;
        while day < date(2026, 1, 1) {
            count += transactions_on(3, 4, "cash:current", false, day).len();
            day = day.succ_opt().expect("next day");
        }
        assert!((300..1_200).contains(&count), "{count}");
    }

    #[test]
    fn a_business_current_account_is_busy() {
        let mut day = date(2025, 1, 1);
        let mut count = 0;
        while day < date(2026, 1, 1) {
            count += transactions_on(3, 4, "cash:current", true, day).len();
            day = day.succ_opt().expect("next day");
        }
        assert!((1_300..2_300).contains(&count), "{count}");
    }
}
