//! The Data API, mounted under `/v3` and `/v2.0`: accounts, balances, transactions, regular
//! transactions and `POST /sync/{connectionId}`. Tokens must be bound to a user (`sub`): every
//! handler takes a [`DataUser`] naming the scopes it needs, and answers with an [`Envelope`].

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bearer::{DataUser, Scopes};
use crate::error::ApiError;
use crate::rest::Paging;
use crate::state::Shared;
use crate::wire;
use crate::world::{Status, SyncRefusal, Transaction};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/accounts", get(accounts))
        .route("/accounts/syncs", get(account_syncs))
        .route("/accounts/{account_id}", get(account))
        .route("/accounts/{account_id}/balances", get(balances))
        .route("/transactions", get(transactions))
        .route("/transactions/{transaction_id}", get(one_transaction))
        .route("/regular-transactions", get(regular_transactions))
        .route(
            "/regular-transactions/{account_id}/detect",
            post(detect_regular_transactions),
        )
        .route("/sync/{connection_id}", post(sync))
}

type Reply<T> = Result<Envelope<T>, ApiError>;

#[derive(Debug)]
struct ReadAccounts;
impl Scopes for ReadAccounts {
    const REQUIRED: &'static [&'static [&'static str]] = &[&["accounts:read"]];
}

/// Any of the transaction scopes; which one decides the direction of what is listed.
#[derive(Debug)]
struct ListTransactions;
impl Scopes for ListTransactions {
    const REQUIRED: &'static [&'static [&'static str]] = &[&[
        "transactions:read:all",
        "transactions:read:in",
        "transactions:read:out",
    ]];
}

/// One transaction by id: only with `transactions:read:all`.
#[derive(Debug)]
struct ReadAnyTransaction;
impl Scopes for ReadAnyTransaction {
    const REQUIRED: &'static [&'static [&'static str]] = &[&["transactions:read:all"]];
}

/// Detection answers with the series too, so it needs what reading them needs as well
/// (Moneyhub's published Data API schema).
#[derive(Debug)]
struct WriteRegularTransactions;
impl Scopes for WriteRegularTransactions {
    const REQUIRED: &'static [&'static [&'static str]] = &[
        &["regular_transactions:write"],
        &["regular_transactions:read"],
        &["accounts:read"],
        &["transactions:read:all"],
    ];
}

/// Regular transactions are read with the accounts and transactions they come from.
#[derive(Debug)]
struct ReadRegularTransactions;
impl Scopes for ReadRegularTransactions {
    const REQUIRED: &'static [&'static [&'static str]] = &[
        &["regular_transactions:read"],
        &["accounts:read"],
        &["transactions:read:all"],
    ];
}

/// A manual sync needs read and write access to accounts.
#[derive(Debug)]
struct SyncAccounts;
impl Scopes for SyncAccounts {
    const REQUIRED: &'static [&'static [&'static str]] = &[
        &["accounts:read"],
        &["accounts:write", "accounts:write:all"],
    ];
}

/// Every Data API answer: `{data, links, meta}` (no `links` for `POST /sync`). `data` is
/// serialised as it is, without first becoming a `Value` tree (pages of 1000 transactions);
/// `links` and `meta` stay `Value`s built with `json!`, so their key order is what it always
/// was.
#[derive(Debug, serde::Serialize)]
struct Envelope<T> {
    data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Value>,
    meta: Value,
}

impl<T> Envelope<T> {
    /// `data` with `links.self` and an empty `meta`.
    fn at(uri: &Uri, data: T) -> Self {
        Self {
            data,
            links: Some(json!({ "self": uri.to_string() })),
            meta: json!({}),
        }
    }

    fn with_total(mut self, total: usize) -> Self {
        self.meta = json!({ "total": total });
        self
    }
}

impl<T: serde::Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

#[derive(Debug, Deserialize)]
struct AccountQuery {
    #[serde(rename = "connectionId")]
    connection_id: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

async fn accounts(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<AccountQuery>,
    DataUser { user, .. }: DataUser<ReadAccounts>,
) -> Reply<Vec<Value>> {
    let (limit, offset) = query.paging.resolve(1000, 1000)?;
    let world = shared.world();
    let matching: Vec<_> = world
        .accounts
        .values()
        .filter(|a| a.user_id == user)
        .filter(|a| {
            query
                .connection_id
                .as_ref()
                .is_none_or(|c| &a.connection_id == c)
        })
        .collect();
    let data: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| wire::account(&world, a))
        .collect();
    Ok(Envelope::at(&uri, data).with_total(matching.len()))
}

fn user_account<'a>(
    world: &'a crate::world::World,
    user: &str,
    account_id: &str,
) -> Result<&'a crate::world::Account, ApiError> {
    let id = Uuid::parse_str(account_id).map_err(|_| ApiError::not_found("Account not found"))?;
    world
        .accounts
        .get(&id)
        .filter(|a| a.user_id == user)
        .ok_or_else(|| ApiError::not_found("Account not found"))
}

async fn account(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Path(account_id): Path<String>,
    DataUser { user, .. }: DataUser<ReadAccounts>,
) -> Reply<Value> {
    let world = shared.world();
    let account = user_account(&world, &user, &account_id)?;
    Ok(Envelope::at(&uri, wire::account(&world, account)))
}

async fn balances(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Path(account_id): Path<String>,
    DataUser { user, .. }: DataUser<ReadAccounts>,
) -> Reply<Vec<Value>> {
    let world = shared.world();
    let account = user_account(&world, &user, &account_id)?;
    let data: Vec<Value> = account
        .balances
        .iter()
        .rev()
        .map(|(date, value)| json!({ "date": date.format("%Y-%m-%d").to_string(), "amount": wire::amount(*value) }))
        .collect();
    Ok(Envelope::at(&uri, data))
}

async fn account_syncs(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    DataUser { user, .. }: DataUser<ReadAccounts>,
) -> Reply<Vec<Value>> {
    let world = shared.world();
    let data: Vec<Value> = world
        .accounts
        .values()
        .filter(|a| a.user_id == user)
        .map(|a| {
            let last = world
                .connections
                .get(&a.connection_id)
                .and_then(|c| c.last_updated);
            json!({ "accountId": a.id, "lastSuccessfulSync": last.map(wire::iso) })
        })
        .collect();
    Ok(Envelope::at(&uri, data))
}

#[derive(Debug, Deserialize)]
struct TransactionQuery {
    #[serde(rename = "accountId")]
    account_id: Option<String>,
    #[serde(rename = "accountIds")]
    account_ids: Option<String>,
    ids: Option<String>,
    #[serde(rename = "startDate")]
    start_date: Option<String>,
    #[serde(rename = "endDate")]
    end_date: Option<String>,
    #[serde(rename = "startDateModified")]
    start_date_modified: Option<String>,
    text: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

fn parse_day(text: &Option<String>, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    text.as_deref()
        .map(|t| {
            NaiveDate::parse_from_str(t.get(..10).unwrap_or(t), "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request(format!("{name} must be a date (YYYY-MM-DD)")))
        })
        .transpose()
}

fn parse_ids(text: &Option<String>, name: &str) -> Result<Option<Vec<Uuid>>, ApiError> {
    text.as_deref()
        .map(|t| {
            t.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    Uuid::parse_str(s.trim())
                        .map_err(|_| ApiError::bad_request(format!("{name} must be UUIDs")))
                })
                .collect()
        })
        .transpose()
}

async fn transactions(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<TransactionQuery>,
    DataUser { claims, user, .. }: DataUser<ListTransactions>,
) -> Reply<Vec<wire::WireTransaction>> {
    let (limit, offset) = query.paging.resolve(1000, 1000)?;
    let start = parse_day(&query.start_date, "startDate")?;
    let end = parse_day(&query.end_date, "endDate")?;
    let modified_from = parse_day(&query.start_date_modified, "startDateModified")?;
    let ids = parse_ids(&query.ids, "ids")?;
    if ids.as_ref().is_some_and(|ids| ids.len() > 50) {
        return Err(ApiError::bad_request("ids accepts at most 50 ids"));
    }
    let mut accounts = parse_ids(&query.account_ids, "accountIds")?.unwrap_or_default();
    if let Some(one) = &query.account_id {
        accounts.push(
            Uuid::parse_str(one).map_err(|_| ApiError::bad_request("accountId must be a UUID"))?,
        );
    }
    let direction = if claims.has("transactions:read:all") {
        0
    } else if claims.has("transactions:read:in") {
        1
    } else {
        -1
    };
    let text = query.text.as_ref().map(|t| t.to_lowercase());
    // Copy the page out and let go of the world before serialising, so other requests proceed.
    let (total, page, next_links) = {
        let world = shared.world();
        let user_accounts: Vec<Uuid> = world
            .accounts
            .values()
            .filter(|a| a.user_id == user)
            .filter(|a| accounts.is_empty() || accounts.contains(&a.id))
            .map(|a| a.id)
            .collect();
        let mut matching: Vec<&Transaction> = user_accounts
            .iter()
            .flat_map(|account| {
                world
                    .transactions_by_account
                    .get(account)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|id| world.transactions.get(id))
            .filter(|t| start.is_none_or(|s| t.date >= s) && end.is_none_or(|e| t.date <= e))
            .filter(|t| modified_from.is_none_or(|m| t.modified.date_naive() >= m))
            .filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.id)))
            .filter(|t| direction == 0 || (direction > 0) == (t.amount >= 0))
            .filter(|t| {
                text.as_ref()
                    .is_none_or(|text| t.description.to_lowercase().contains(text))
            })
            .collect();
        matching.sort_unstable_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
        let page: Vec<Transaction> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|t| (*t).clone())
            .collect();
        (matching.len(), page, world.readings.next_links)
    };
    let data: Vec<wire::WireTransaction> = page.iter().map(wire::transaction).collect();
    let mut links = json!({ "self": uri.to_string() });
    if next_links && offset + limit < total {
        links["next"] = json!(with_offset(&uri, offset + limit));
    }
    if offset > 0 {
        links["prev"] = json!(with_offset(&uri, offset.saturating_sub(limit)));
    }
    Ok(Envelope {
        data,
        links: Some(links),
        meta: json!({ "total": total }),
    })
}

fn with_offset(uri: &axum::http::Uri, offset: usize) -> String {
    let kept = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .filter(|(k, _)| k != "offset")
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .append_pair("offset", &offset.to_string())
        .finish();
    format!("{}?{query}", uri.path())
}

async fn one_transaction(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Path(transaction_id): Path<String>,
    DataUser { user, .. }: DataUser<ReadAnyTransaction>,
) -> Reply<wire::WireTransaction> {
    let world = shared.world();
    let transaction = Uuid::parse_str(&transaction_id)
        .ok()
        .and_then(|id| world.transactions.get(&id))
        .filter(|t| {
            world
                .accounts
                .get(&t.account_id)
                .is_some_and(|a| a.user_id == user)
        })
        .ok_or_else(|| ApiError::not_found("Transaction not found"))?;
    Ok(Envelope::at(&uri, wire::transaction(transaction)))
}

#[derive(Debug, Deserialize)]
struct RegularQuery {
    #[serde(rename = "accountId")]
    account_id: Option<String>,
}

/// The user's regular series (see `world/regular.rs`), one account's with `accountId`.
async fn regular_transactions(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<RegularQuery>,
    DataUser { user, .. }: DataUser<ReadRegularTransactions>,
) -> Reply<Vec<Value>> {
    let only = query
        .account_id
        .as_deref()
        .map(Uuid::parse_str)
        .transpose()
        .map_err(|_| ApiError::bad_request("accountId must be a UUID"))?;
    let today = shared.now().date_naive();
    let world = shared.world();
    let data = world
        .regular_series(&user, only)
        .iter()
        .map(|series| series.to_wire(today))
        .collect();
    Ok(Envelope::at(&uri, data))
}

/// `POST /regular-transactions/{accountId}/detect`: runs detection on one account now (its
/// webhooks follow) and answers its series.
async fn detect_regular_transactions(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Path(account_id): Path<String>,
    DataUser { user, .. }: DataUser<WriteRegularTransactions>,
) -> Reply<Vec<Value>> {
    let account = Uuid::parse_str(&account_id)
        .map_err(|_| ApiError::bad_request("accountId must be a UUID"))?;
    let today = shared.now().date_naive();
    let mut world = shared.world();
    if world
        .accounts
        .get(&account)
        .is_none_or(|a| a.user_id != user)
    {
        return Err(ApiError::not_found("Account not found"));
    }
    world.detect_regular(&user, Some(account));
    let data = world
        .regular_series(&user, Some(account))
        .iter()
        .map(|series| series.to_wire(today))
        .collect();
    Ok(Envelope::at(&uri, data))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SyncBody {
    customer_ip_address: Option<String>,
    customer_last_logged_time: Option<String>,
    enable_async: Option<bool>,
}

/// `POST /sync/{connectionId}`: rate limited per connection (the sandbox's sync window) and by
/// provider caps; 403 when consent has expired; 502 `ExternalProvider` when the bank is down.
async fn sync(
    State(shared): State<Arc<Shared>>,
    uri: axum::extract::OriginalUri,
    headers: HeaderMap,
    Path(connection_id): Path<String>,
    body: axum::body::Bytes,
) -> Reply<Value> {
    // Checked here rather than as an extractor: the body is read first, as it always was, so a
    // body that cannot be read still answers before a bad token.
    let DataUser { user, .. } = DataUser::<SyncAccounts>::check(&shared, &headers)?;
    let input: SyncBody = if body.iter().all(u8::is_ascii_whitespace) {
        SyncBody {
            customer_ip_address: None,
            customer_last_logged_time: None,
            enable_async: None,
        }
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| ApiError::bad_request(format!("Invalid body: {err}")))?
    };
    let customer_ip = match &input.customer_ip_address {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| ApiError::bad_request("customerIpAddress must be an IP address"))?,
        ),
        None => None,
    };
    if let Some(time) = &input.customer_last_logged_time
        && DateTime::parse_from_rfc3339(time).is_err()
    {
        return Err(ApiError::bad_request(
            "customerLastLoggedTime must be an ISO 8601 date-time with a timezone",
        ));
    }
    // v3 syncs in the background unless told not to; v2.0 always answers when it is done.
    let asynchronous = uri.path().starts_with("/v3/") && input.enable_async != Some(false);
    let now = shared.now();
    let result = shared
        .world()
        .manual_sync(&user, &connection_id, now, asynchronous, customer_ip);
    match result {
        Ok((sync_id, status)) => {
            let status = if status == Status::Ok { "ok" } else { "error" };
            Ok(Envelope {
                data: json!({ "syncId": sync_id, "status": status }),
                links: None,
                meta: json!({}),
            })
        }
        Err(SyncRefusal::NotFound) => Err(ApiError::not_found("Connection not found")),
        Err(SyncRefusal::RateLimited { retry_after }) => Err(ApiError::too_many_requests(
            u64::try_from(retry_after.num_seconds()).unwrap_or(1),
        )),
        Err(SyncRefusal::ConsentExpired) => Err(ApiError::forbidden(
            shared.world().readings.consent_refusal_words.clone(),
        )),
        Err(SyncRefusal::ProviderUnavailable) => Err(ApiError::external_provider(
            StatusCode::BAD_GATEWAY,
            "ASPSP error: the bank is unavailable",
        )),
    }
}
