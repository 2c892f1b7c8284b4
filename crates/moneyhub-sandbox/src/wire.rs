//! Moneyhub's JSON shapes for what the world holds. Written by hand from the published field
//! lists (not shared with the client crate, on purpose).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::world::{Account, Connection, RunningSyncRecord, SyncRecord, Transaction, User, World};

pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn iso_day(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub fn amount(value: i64) -> Value {
    json!({
        "value": value,
        "minorUnits": value,
        "majorUnits": value as f64 / 100.0,
        "currency": "GBP",
    })
}

pub fn user(world: &World, user: &User) -> Value {
    let connection_ids: Vec<&str> = world
        .user_connections(&user.id)
        .map(|c| c.id.as_str())
        .collect();
    json!({
        "userId": user.id,
        "clientId": user.client_id,
        "clientUserId": user.client_user_id,
        "createdAt": iso(user.created_at),
        "managedBy": "client",
        "userType": "test",
        "connectionIds": connection_ids,
    })
}

pub fn connection(connection: &Connection) -> Value {
    json!({
        "id": connection.id,
        "name": connection.name,
        "type": connection.kind.as_str(),
        "connectedOn": iso(connection.connected_on),
        "lastUpdated": connection.last_updated.map(iso),
        "lastSyncedAt": connection.last_synced_at.map(iso),
        "expiresAt": iso(connection.expires_at),
        "userConsentedAt": iso(connection.user_consented_at),
        "accountIds": connection.account_ids,
        "status": connection.status,
        "error": connection.error,
        "extendedStatus": connection.extended_status,
        "tppConsent": connection.tpp_consent,
        "singleSyncOnly": connection.single_sync_only,
        "useMfa": connection.use_mfa,
    })
}

pub fn account(world: &World, account: &Account) -> Value {
    let ids = world.transactions_by_account.get(&account.id);
    let dates = ids
        .into_iter()
        .flatten()
        .filter_map(|id| world.transactions.get(id))
        .map(|t| t.date);
    let (mut earliest, mut latest, mut count) = (None::<NaiveDate>, None::<NaiveDate>, 0usize);
    for date in dates {
        count += 1;
        earliest = Some(earliest.map_or(date, |e| e.min(date)));
        latest = Some(latest.map_or(date, |l| l.max(date)));
    }
    let (balance_date, balance) = account
        .balances
        .last()
        .copied()
        .unwrap_or((account.opening_date, account.opening_balance));
    json!({
        "id": account.id,
        "accountName": account.name,
        "type": account.account_type,
        "currency": "GBP",
        "balance": { "amount": amount(balance), "date": iso_day(balance_date) },
        "details": { "AER": 0, "overdraftLimit": 0 },
        "transactionData": { "count": count, "earliestDate": earliest.map(iso_day), "lastDate": latest.map(iso_day) },
        "dateAdded": iso(account.date_added),
        "dateModified": iso(account.date_modified),
        "providerName": account.provider_name,
        "providerReference": account.provider_reference,
        "providerId": account.provider_id,
        "providerAccountId": account.provider_account_id,
        "connectionId": account.connection_id,
        "accountType": if account.business { "business" } else { "personal" },
    })
}

/// A transaction as Moneyhub sends it. A typed struct rather than a `Value`: pages of 1000 are
/// serialised straight to the response without building a tree first.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTransaction {
    id: uuid::Uuid,
    account_id: uuid::Uuid,
    amount: WireAmount,
    category_id: &'static str,
    category_id_confirmed: bool,
    date: String,
    date_modified: String,
    date_created: String,
    long_description: &'static str,
    short_description: String,
    notes: &'static str,
    status: crate::world::TransactionStatus,
    credit_debit_indicator: &'static str,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct WireAmount {
    value: i64,
    minor_units: i64,
    major_units: f64,
    currency: &'static str,
}

pub fn transaction(transaction: &Transaction) -> WireTransaction {
    WireTransaction {
        id: transaction.id,
        account_id: transaction.account_id,
        amount: WireAmount {
            value: transaction.amount,
            minor_units: transaction.amount,
            major_units: transaction.amount as f64 / 100.0,
            currency: "GBP",
        },
        category_id: transaction.category,
        category_id_confirmed: false,
        date: format!("{}T12:00:00.000Z", iso_day(transaction.date)),
        date_modified: iso(transaction.modified),
        date_created: iso(transaction.created),
        long_description: transaction.description,
        short_description: short_description(transaction.description),
        notes: "",
        status: transaction.status,
        credit_debit_indicator: if transaction.amount >= 0 {
            "credit"
        } else {
            "debit"
        },
    }
}

fn short_description(long: &str) -> String {
    long.split_whitespace()
        .filter(|word| !word.chars().all(|c| c.is_ascii_digit()))
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sync run. While an asynchronous one runs it has no `fetchedAt`, and no `fetchStatus` or an
/// in-progress one, as the reading says (a running sync the reading hides is not shown at all).
pub fn sync(record: &SyncRecord, running_record: RunningSyncRecord) -> Value {
    let mut value = json!({
        "id": record.id,
        "connectionId": record.connection_id,
        "action": record.action,
        "method": record.method,
        "createdAt": iso(record.created_at),
        "accounts": record.account_ids.iter().map(|id| json!({ "accountId": id })).collect::<Vec<_>>(),
    });
    if !record.running() {
        value["fetchStatus"] = json!(record.fetch_status);
        value["fetchedAt"] = json!(iso(record.fetched_at.unwrap_or(record.created_at)));
    } else if running_record == RunningSyncRecord::InProgress {
        value["fetchStatus"] = json!("in-progress");
    }
    value
}
