//! The simulated Moneyhub: users, connections, accounts, transactions and sync history, moved
//! along by the clock. Everything here is synchronous and deterministic for a given seed and
//! sequence of calls; the HTTP layers lock the world, call one operation and answer.
//!
//! Time only moves forward. Before answering anything the world catches up to the clock's "now"
//! ([`World::catch_up`]): scheduled automatic syncs run in order (UK time), background history
//! arrives, consents expire and the seed documents' rules (`resync` after 2 or 40 days without
//! data, `stoppedSyncing` after 3 days of failures) apply.
//!
//! This module owns the [`World`] itself (its state, the seeded randomness, snapshots); the
//! operations on it live beside it: `model` (the records it holds), `lifecycle` (users and
//! connections coming and going: add, reauth, reconsent, refresh, remove), `sync` (fetching data
//! and sync attempts) and `catch_up` (advancing to the clock). The private fields (randomness,
//! pending posts, catch-up bookkeeping) are declared here so that only those submodules reach
//! them; everyone else goes through the methods.

mod catch_up;
pub mod generator;
mod lifecycle;
mod model;
mod posting;
mod regular;
mod schedule;
mod sync;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::catalogue::Catalogue;

pub use model::{
    Account, Connection, ConnectionError, ExtendedStatus, FetchStatus, Selection, Snapshot,
    StaticText, Status, SyncAction, SyncRecord, SyncRefusal, Transaction, TransactionStatus, User,
    WebhookEvent, is_slow_account,
};
pub use schedule::next_automatic_sync;
pub use sync::LONGEST_MISSED_SPAN;

/// Consents last 90 days at most.
pub const MAX_CONSENT: Duration = Duration::days(90);
/// Background history arrives this long after a connection is made.
pub const BACKGROUND_HISTORY_DELAY: Duration = Duration::minutes(2);

#[derive(Debug)]
pub struct World {
    pub seed: u64,
    pub catalogue: Catalogue,
    pub sync_window: Duration,
    rng: ChaCha8Rng,
    pub users: BTreeMap<String, User>,
    pub connections: BTreeMap<String, Connection>,
    pub accounts: BTreeMap<Uuid, Account>,
    pub transactions: HashMap<Uuid, Transaction>,
    /// Transaction ids per account, oldest first.
    pub transactions_by_account: HashMap<Uuid, Vec<Uuid>>,
    /// Pending transaction ids per account, until they post.
    pending: HashMap<Uuid, Vec<Uuid>>,
    pub syncs: Vec<SyncRecord>,
    caught_up_to: DateTime<Utc>,
    /// The earliest instant at which anything scheduled happens; `None` after a change, until the
    /// next catch-up works it out. Lets a request skip the catch-up when nothing is due, which
    /// keeps reads cheap on a large world.
    next_due: Option<DateTime<Utc>>,
    /// Webhook events not yet delivered (delivery is the server's job).
    pub outbox: Vec<WebhookEvent>,
    /// Each regular series announced by webhook, with the predicted date it was announced with.
    regular_announced: BTreeMap<Uuid, NaiveDate>,
    /// Goes up on every change, so the server knows when to save a snapshot.
    pub revision: u64,
    /// Which reading of the docs it plays where they leave a gap.
    pub readings: Readings,
}

/// Where Moneyhub's docs leave a gap, the reading the sandbox plays: tests run each, so the
/// app is right under all of them, not only under the one it assumes. Set from
/// [`crate::SandboxConfig`] and changed with `PUT /__sandbox/readings`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Readings {
    /// A page with more after it says so in `links.next` (shown in the docs, not promised).
    pub next_links: bool,
    /// The words of the 403 for a sync whose consent ended (Moneyhub's are not published).
    pub consent_refusal_words: String,
    /// A renewed consent keeps showing "expired" until the next scheduled sync clears it,
    /// instead of being cleared (and synced) at once.
    pub renewal_waits_for_next_sync: bool,
    /// What the record of a running v3 sync looks like (its shape is not published).
    #[serde(default)]
    pub running_sync_record: RunningSyncRecord,
    /// A reauth that gives the connection a new id gives its accounts and their transactions
    /// new ids too (the seed: "the AISP does not return consistent account ids when re
    /// authorising"); the bank's own account id (`providerAccountId`) stays.
    #[serde(default)]
    pub reauth_renews_ids: bool,
    /// A hybrid (`code id_token`) answer carries `iss` beside its id_token. node-oidc-provider,
    /// on which Moneyhub's identity service is reported to be built, leaves it out there (the
    /// id_token names its issuer), and RFC 9207 §2.4 allows either, so by default it is left out.
    #[serde(default)]
    pub iss_beside_id_token: bool,
    /// Which scopes the identity routes accept where Moneyhub's Node client and its API
    /// reference name different ones (`moneyhub-api.md` §4.2).
    #[serde(default)]
    pub route_scopes: RouteScopes,
}

/// The scope names an identity route accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RouteScopes {
    /// Either source's (the reference's advice to a simulator).
    #[default]
    Either,
    /// Only what Moneyhub's Node client asks for (`connection:update`, `connection:delete`,
    /// `connection:read` for syncs, `user:delete`).
    NodeClient,
    /// Only what the API reference names (`user:update`, `user:delete`, `user:read` for syncs,
    /// `user:read` and `user:delete` to delete a user).
    ApiReference,
}

/// The record of a sync that has not ended yet, as `GET …/syncs/{id}` and the connection's sync
/// list show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunningSyncRecord {
    /// Listed, with no `fetchStatus` and no `fetchedAt` (the schema lists only outcomes).
    #[default]
    WithoutOutcome,
    /// Not there at all (404, and not listed) until the sync ends.
    Absent,
    /// Listed with an in-progress `fetchStatus` the docs do not name, and no `fetchedAt`.
    InProgress,
}

impl Default for Readings {
    fn default() -> Self {
        Self {
            next_links: true,
            consent_refusal_words: "The consent for this connection has expired".into(),
            renewal_waits_for_next_sync: false,
            running_sync_record: RunningSyncRecord::default(),
            reauth_renews_ids: false,
            iss_beside_id_token: false,
            route_scopes: RouteScopes::default(),
        }
    }
}

impl World {
    /// Whether Moneyhub's API shows this sync's record now (the reading may hide a running one).
    pub fn shows_sync(&self, sync: &SyncRecord) -> bool {
        !(sync.running() && self.readings.running_sync_record == RunningSyncRecord::Absent)
    }

    pub fn new(seed: u64, now: DateTime<Utc>, sync_window: Duration) -> Self {
        Self {
            seed,
            catalogue: Catalogue::default(),
            sync_window,
            rng: ChaCha8Rng::seed_from_u64(seed),
            users: BTreeMap::new(),
            connections: BTreeMap::new(),
            accounts: BTreeMap::new(),
            transactions: HashMap::new(),
            transactions_by_account: HashMap::new(),
            pending: HashMap::new(),
            syncs: Vec::new(),
            caught_up_to: now,
            next_due: None,
            outbox: Vec::new(),
            regular_announced: BTreeMap::new(),
            revision: 0,
            readings: Readings::default(),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut transactions: Vec<Transaction> = self.transactions.values().cloned().collect();
        transactions.sort_by_key(|t| (t.account_id, t.date, t.id));
        Snapshot {
            seed: self.seed,
            sync_window_secs: self.sync_window.num_seconds(),
            rng: self.rng.clone(),
            users: self.users.values().cloned().collect(),
            connections: self.connections.values().cloned().collect(),
            accounts: self.accounts.values().cloned().collect(),
            transactions,
            syncs: self.syncs.clone(),
            caught_up_to: self.caught_up_to,
            regular_announced: self.regular_announced.clone(),
        }
    }

    pub fn restore(snapshot: Snapshot) -> Self {
        let mut world = World::new(
            snapshot.seed,
            snapshot.caught_up_to,
            // Replaced by the configured window at once; a hostile number must not panic.
            Duration::try_seconds(snapshot.sync_window_secs).unwrap_or_default(),
        );
        world.rng = snapshot.rng;
        world.users = snapshot
            .users
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        world.connections = snapshot
            .connections
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        world.accounts = snapshot.accounts.into_iter().map(|a| (a.id, a)).collect();
        // Sized once: grown by doubling, the map held its old and new tables at once, the
        // start-up's heap peak (the heap profile's largest site).
        world.transactions.reserve(snapshot.transactions.len());
        for transaction in snapshot.transactions {
            world
                .transactions_by_account
                .entry(transaction.account_id)
                .or_default()
                .push(transaction.id);
            if transaction.status == TransactionStatus::Pending {
                world
                    .pending
                    .entry(transaction.account_id)
                    .or_default()
                    .push(transaction.id);
            }
            world.transactions.insert(transaction.id, transaction);
        }
        for account in world.accounts.keys() {
            world.transactions_by_account.entry(*account).or_default();
        }
        world.syncs = snapshot.syncs;
        world.regular_announced = snapshot.regular_announced;
        world
    }

    pub fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// 24 hex digits, like Moneyhub's (Mongo) user ids.
    fn user_id(&mut self) -> String {
        let bytes: [u8; 12] = self.rng.random();
        hex::encode(bytes)
    }

    pub fn random_token(&mut self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.rng.fill(buf.as_mut_slice());
        hex::encode(buf)
    }

    pub fn random_range(&mut self, range: std::ops::Range<u32>) -> u32 {
        self.rng.random_range(range)
    }

    pub fn user_connections(&self, user_id: &str) -> impl Iterator<Item = &Connection> {
        self.connections
            .values()
            .filter(move |connection| connection.user_id == user_id)
    }
}

pub fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(date)
}
