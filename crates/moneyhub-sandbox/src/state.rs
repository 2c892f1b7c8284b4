//! The state every route shares ([`Shared`]) and how the sandbox was started
//! ([`SandboxConfig`]). The router (`server`) and every handler import this module and it
//! imports none of them, so dependencies point one way: router → handlers → state → the world
//! and the other plain modules. What the state holds for the identity service and for fault
//! injection is plain data, kept beside it in `state/oidc.rs` and `state/fault_rules.rs`.

mod fault_rules;
mod oidc;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::clients::{ApiClient, SeenAssertions};
use crate::clock::{SandboxClock, lock};
use crate::keys::SigningKey;
use crate::world::World;

pub(crate) use fault_rules::Effect;
pub use fault_rules::{FaultRule, Faults};
pub use oidc::{
    AuthCode, AuthRequest, CodeOutcome, FlowKind, Interaction, OidcState, RefreshGrant,
    ResponseMode, ResponseType,
};

/// How the sandbox is started.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    pub seed: u64,
    /// `None`: real time. `Some(start)`: a manual clock starting there.
    pub manual_clock_start: Option<DateTime<Utc>>,
    /// Minimum time between two manual syncs of one connection.
    pub sync_window: Duration,
    /// The `/__sandbox` admin API. Off by default for non-loopback binds.
    pub admin: Option<bool>,
    /// Where webhooks are POSTed (JSON envelopes, one attempt, 5 s timeout).
    pub webhook_url: Option<String>,
    /// Keep the world here across restarts.
    pub data_dir: Option<std::path::PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 42,
            manual_clock_start: None,
            sync_window: Duration::minutes(30),
            admin: None,
            webhook_url: None,
            data_dir: None,
        }
    }
}

#[derive(Debug)]
pub struct Shared {
    pub base_url: String,
    pub issuer: String,
    pub clock: SandboxClock,
    /// Signing keys, newest last: tokens are signed with the newest; older ones stay published
    /// (and accepted) after a rotation.
    pub keys: Mutex<Vec<SigningKey>>,
    pub world: Mutex<World>,
    pub clients: Mutex<HashMap<String, ApiClient>>,
    pub seen_assertions: Mutex<SeenAssertions>,
    pub oidc: Mutex<OidcState>,
    pub faults: Mutex<Faults>,
    pub admin_enabled: bool,
    pub config: SandboxConfig,
    /// The latest webhook events, delivered or not, for the admin API.
    pub recent_webhooks: Mutex<std::collections::VecDeque<crate::world::WebhookEvent>>,
    /// Signalled after every answer: the world may have changed, so the saver looks at once
    /// rather than on its next round (a process killed seconds after a change keeps it).
    pub answered: tokio::sync::Notify,
}

impl Shared {
    pub fn new(
        base_url: String,
        config: SandboxConfig,
        saved: Option<crate::persistence::Saved>,
    ) -> Self {
        let clock = match (config.manual_clock_start, &saved) {
            (Some(_), Some(saved)) => SandboxClock::manual(saved.clock_now),
            (Some(start), None) => SandboxClock::manual(start),
            (None, Some(saved)) => SandboxClock::real_with_offset(saved.clock_now - Utc::now()),
            (None, None) => SandboxClock::real(),
        };
        let now = clock.now();
        let admin_enabled = config.admin.unwrap_or(config.bind.ip().is_loopback());
        let mut clients: HashMap<String, ApiClient> = ApiClient::demo_clients()
            .into_iter()
            .map(|c| (c.client_id.clone(), c))
            .collect();
        let world = match saved {
            Some(saved) => {
                // A saved client never replaces a built-in one (older snapshots could hold one).
                clients.extend(
                    saved
                        .clients
                        .into_iter()
                        .filter(|c| !ApiClient::is_built_in(&c.client_id))
                        .map(|c| (c.client_id.clone(), c)),
                );
                let mut world = World::restore(saved.world);
                // The flag given now wins over the one the snapshot was saved with.
                world.sync_window = config.sync_window;
                world
            }
            None => World::new(config.seed, now, config.sync_window),
        };
        Self {
            issuer: format!("{base_url}/oidc"),
            base_url,
            world: Mutex::new(world),
            clock,
            keys: Mutex::new(vec![SigningKey::identity()]),
            clients: Mutex::new(clients),
            seen_assertions: Mutex::new(SeenAssertions::default()),
            oidc: Mutex::new(OidcState::default()),
            faults: Mutex::new(Faults::default()),
            admin_enabled,
            config,
            recent_webhooks: Mutex::new(std::collections::VecDeque::new()),
            answered: tokio::sync::Notify::new(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Signs with the newest key.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let keys = lock(&self.keys);
        keys.last()
            .expect("there is always a signing key")
            .sign(claims)
    }

    /// Verifies a token signed by any published key.
    pub fn verify<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, String> {
        let keys = lock(&self.keys).clone();
        let mut last = String::from("no keys");
        for key in keys.iter().rev() {
            match key.verify(token) {
                Ok(claims) => return Ok(claims),
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    /// The published key set.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = lock(&self.keys)
            .iter()
            .rev()
            .map(|k| k.public_jwk().clone())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The world, caught up to now. Hold the guard only for one operation, never across an
    /// `.await`.
    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        let now = self.now();
        let mut world = lock(&self.world);
        world.catch_up(now);
        world
    }

    pub fn clients(&self) -> BTreeMap<String, ApiClient> {
        lock(&self.clients)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Writes the snapshot to the data dir (if any) when the world changed since `last`.
    /// Returns the revision saved.
    pub fn save_if_changed(&self, last: u64) -> u64 {
        let Some(dir) = &self.config.data_dir else {
            return last;
        };
        let (revision, snapshot) = {
            let world = lock(&self.world);
            if world.revision == last {
                return last;
            }
            (world.revision, world.snapshot())
        };
        let clients = lock(&self.clients)
            .values()
            .filter(|c| !ApiClient::is_built_in(&c.client_id))
            .cloned()
            .collect();
        let saved = crate::persistence::Saved::new(self.now(), clients, snapshot);
        match crate::persistence::save(dir, &saved) {
            Ok(()) => revision,
            Err(err) => {
                tracing::warn!(%err, dir = %dir.display(), "could not save the sandbox");
                last
            }
        }
    }
}
