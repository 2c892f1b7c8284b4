//! Starting and stopping the sandbox, and the state every route shares.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use chrono::{DateTime, Duration, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::clients::{ApiClient, SeenAssertions};
use crate::clock::{SandboxClock, lock};
use crate::faults::Faults;
use crate::identity::OidcState;
use crate::keys::SigningKey;
use crate::world::World;

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
                clients.extend(saved.clients.into_iter().map(|c| (c.client_id.clone(), c)));
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
        let clients = lock(&self.clients).values().cloned().collect();
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

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningSandbox {
    pub shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    /// Binds and serves in the background on the current tokio runtime.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Self> {
        let saved = match &config.data_dir {
            Some(dir) => crate::persistence::load(dir)?,
            None => None,
        };
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(format!("http://{addr}"), config, saved));
        if shared.clock.mode() == crate::clock::ClockMode::Real {
            // With the real clock, time passes without requests: scheduled syncs, expiry and
            // reminders (and their webhooks) must happen anyway.
            let driver = Arc::downgrade(&shared);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(15)).await;
                    let Some(shared) = driver.upgrade() else {
                        break;
                    };
                    let caught_up = shared.clone();
                    let _ = tokio::task::spawn_blocking(move || drop(caught_up.world())).await;
                    crate::webhooks::flush(&shared);
                }
            });
        }
        if shared.config.data_dir.is_some() {
            let saver = Arc::downgrade(&shared);
            tokio::spawn(async move {
                let mut saved_revision = u64::MAX;
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    let Some(shared) = saver.upgrade() else { break };
                    let current = saved_revision;
                    saved_revision =
                        tokio::task::spawn_blocking(move || shared.save_if_changed(current))
                            .await
                            .unwrap_or(current);
                }
            });
        }
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                tracing::error!(%err, "the sandbox server failed");
            }
        });
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The identity service's base URL (the issuer is this plus `/oidc`).
    pub fn identity_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The Data API's base URL (v3).
    pub fn api_url(&self) -> String {
        format!("{}/v3", self.shared.base_url)
    }

    /// Fills the world with `users` users of `client_id`, each with `connections_per_user`
    /// connections (a current account, a second current account and a card) and their full
    /// history, for benchmarks and large demos. Returns the user ids.
    pub fn populate(
        &self,
        client_id: &str,
        users: usize,
        connections_per_user: usize,
    ) -> Vec<String> {
        self.populate_with(client_id, users, connections_per_user, false)
    }

    /// Like [`RunningSandbox::populate`]; with `business`, every connection is to a business
    /// bank with three busy trading accounts (about 2,000 transactions a year each).
    pub fn populate_with(
        &self,
        client_id: &str,
        users: usize,
        connections_per_user: usize,
        business: bool,
    ) -> Vec<String> {
        let now = self.shared.now();
        let mut world = self.shared.world();
        let banks: Vec<String> = world
            .catalogue
            .all()
            .iter()
            .filter(|i| i.script == crate::catalogue::Script::Healthy)
            .filter(|i| {
                if business {
                    i.business
                } else {
                    i.account_types == ["cash:current", "card"]
                }
            })
            .map(|i| i.id.clone())
            .collect();
        let mut ids = Vec::with_capacity(users);
        for n in 0..users {
            let user = world.create_user(client_id, Some(format!("bulk-{n}")), now);
            for c in 0..connections_per_user {
                let bank = &banks[(n + c) % banks.len()];
                let accounts = if business {
                    vec![0, 0, 0]
                } else {
                    vec![0, 0, 1]
                };
                let selection = crate::world::Selection { accounts };
                world.create_connection(&user.id, bank, &selection, None, now);
            }
            ids.push(user.id);
        }
        // Bring in every connection's background history now rather than in two minutes.
        world.catch_up(now + crate::world::BACKGROUND_HISTORY_DELAY);
        ids
    }

    /// Creates a persona (`everyday`, `needs-attention`, `expired`) for `client_id`: its user id
    /// and connection ids, or `None` for an unknown name.
    pub fn load_persona(&self, name: &str, client_id: &str) -> Option<(String, Vec<String>)> {
        let found = crate::admin::load_persona(&self.shared, name, client_id);
        crate::webhooks::flush(&self.shared);
        found
    }

    /// Stops accepting connections, waits for in-flight requests, and saves the world when a
    /// data dir is set.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.shared.save_if_changed(u64::MAX);
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    let mut app = Router::new()
        .merge(crate::identity::routes())
        .merge(crate::rest::routes())
        .nest("/v3", crate::data_api::routes())
        .nest("/v2.0", crate::data_api::routes());
    if shared.admin_enabled {
        app = app.nest("/__sandbox", crate::admin::routes());
    }
    app.layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        crate::faults::inject,
    ))
    .layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        crate::webhooks::deliver_after,
    ))
    .with_state(shared)
}
