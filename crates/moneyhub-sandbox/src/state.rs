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
    /// What every admin request must carry as `Authorization: Bearer …`: any local program can
    /// reach a loopback port, so only whoever started the sandbox (the app, or the person who
    /// read it where the standalone sandbox printed it) may drive it. Random by default.
    pub admin_token: String,
    /// Where webhooks are POSTed (JSON envelopes, one attempt, 5 s timeout).
    pub webhook_url: Option<String>,
    /// Keep the world here across restarts.
    pub data_dir: Option<std::path::PathBuf>,
    /// The readings of the docs it starts with (see [`crate::world::Readings`]).
    pub readings: crate::world::Readings,
}

/// 128 random bits from the OS, as 32 hex digits.
pub fn random_token() -> String {
    use rand::{Rng, SeedableRng};
    format!(
        "{:032x}",
        rand::rngs::StdRng::from_os_rng().random::<u128>()
    )
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 42,
            manual_clock_start: None,
            sync_window: Duration::minutes(30),
            admin: None,
            admin_token: random_token(),
            webhook_url: None,
            data_dir: None,
            readings: crate::world::Readings::default(),
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
    /// Opens once the saved world is in place (see [`Shared::restoring`]).
    restored: Restored,
    /// The world's revision on disk: what was restored, then what was last saved.
    saved_revision: std::sync::atomic::AtomicU64,
    /// False when the saved world could not be read: a save would overwrite it.
    saving: std::sync::atomic::AtomicBool,
    /// One save at a time: the saver task and the stop's save write the same temporary file.
    save_lock: Mutex<()>,
    /// Set once the sandbox has stopped and made its last save: a task still holding the
    /// state (a slow request, the clock driver) must not write a world that has moved on.
    stopped: std::sync::atomic::AtomicBool,
}

/// A gate that opens once, waited on by async tasks and by plain threads alike.
#[derive(Debug, Default)]
struct Restored {
    open: Mutex<bool>,
    opened: std::sync::Condvar,
    notify: tokio::sync::Notify,
}

impl Restored {
    fn open(&self) {
        *lock(&self.open) = true;
        self.opened.notify_all();
        self.notify.notify_waiters();
    }

    fn wait_blocking(&self) {
        let mut open = lock(&self.open);
        while !*open {
            open = self
                .opened
                .wait(open)
                .unwrap_or_else(|poison| poison.into_inner());
        }
    }

    async fn wait(&self) {
        loop {
            // Registered before looking, so an opening in between is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if *lock(&self.open) {
                return;
            }
            notified.await;
        }
    }
}

impl Shared {
    pub fn new(
        base_url: String,
        config: SandboxConfig,
        saved: Option<crate::persistence::Saved>,
    ) -> Self {
        let shared = Self::restoring(
            base_url,
            config,
            saved.as_ref().map(|saved| saved.clock_now),
        );
        shared.finish_restoring(saved);
        shared
    }

    /// The sandbox with its clock (as saved at `clock_now`, if anything was) and a fresh world
    /// standing in until [`Shared::finish_restoring`]: until then every use of the world or the
    /// clients waits.
    pub fn restoring(
        base_url: String,
        config: SandboxConfig,
        clock_now: Option<DateTime<Utc>>,
    ) -> Self {
        let clock = match (config.manual_clock_start, clock_now) {
            (Some(_), Some(saved)) => SandboxClock::manual(saved),
            (Some(start), None) => SandboxClock::manual(start),
            (None, Some(saved)) => SandboxClock::real_with_offset(saved - Utc::now()),
            (None, None) => SandboxClock::real(),
        };
        let now = clock.now();
        let admin_enabled = config.admin.unwrap_or(config.bind.ip().is_loopback());
        let clients: HashMap<String, ApiClient> = ApiClient::demo_clients()
            .into_iter()
            .map(|c| (c.client_id.clone(), c))
            .collect();
        Self {
            issuer: format!("{base_url}/oidc"),
            base_url,
            world: Mutex::new({
                let mut world = World::new(config.seed, now, config.sync_window);
                world.readings = config.readings.clone();
                world
            }),
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
            restored: Restored::default(),
            saved_revision: std::sync::atomic::AtomicU64::new(0),
            saving: std::sync::atomic::AtomicBool::new(true),
            save_lock: Mutex::new(()),
            stopped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Puts the saved world and clients in place (none: the fresh world stays) and lets
    /// everything waiting for them go on.
    pub fn finish_restoring(&self, saved: Option<crate::persistence::Saved>) {
        if let Some(saved) = saved {
            // A saved client never replaces a built-in one (older snapshots could hold one).
            lock(&self.clients).extend(
                saved
                    .clients
                    .into_iter()
                    .filter(|c| !ApiClient::is_built_in(&c.client_id))
                    .map(|c| (c.client_id.clone(), c)),
            );
            // The clock file is written after the snapshot: a process stopped in between leaves
            // it behind the world, never ahead.
            let _ = self.clock.set(saved.clock_now);
            let now = self.now();
            // A file from elsewhere (planted, or edited by hand) may hold values no world of
            // ours reaches, and date arithmetic on them panics: built and caught up here, such
            // a world is set aside as damaged instead of breaking every later request.
            let restored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut world = World::restore(saved.world);
                // The flag given now wins over the one the snapshot was saved with.
                world.sync_window = self.config.sync_window;
                world.readings = self.config.readings.clone();
                if let Some((from, to)) =
                    world.skip_gap_longer_than(now, crate::world::LONGEST_MISSED_SPAN)
                {
                    tracing::warn!(%from, %to, "the saved world was far behind its clock; that span is not simulated");
                }
                world.catch_up(now);
                world
            }));
            match restored {
                Ok(world) => *lock(&self.world) = world,
                Err(_) => {
                    if let Some(dir) = &self.config.data_dir
                        && let Err(err) = crate::persistence::set_aside(
                            &crate::persistence::path(dir),
                            "its values could not be simulated",
                        )
                    {
                        tracing::error!(%err, "the unusable saved world could not be set aside");
                    }
                }
            }
        }
        let revision = lock(&self.world).revision;
        self.saved_revision
            .store(revision, std::sync::atomic::Ordering::SeqCst);
        self.restored.open();
    }

    /// The saved world could not be read (the disk, not its contents: a damaged file is moved
    /// aside): the sandbox runs on a fresh world but never saves over the one it could not read.
    pub fn restoring_failed(&self, err: &std::io::Error) {
        tracing::error!(%err, "the saved sandbox could not be read; running without saving");
        self.saving
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.finish_restoring(None);
    }

    /// Waits (on an async task) until the saved world and clients are in place.
    pub async fn restored(&self) {
        self.restored.wait().await;
    }

    /// The world as it is, not caught up (for the saver and the webhook outbox); waits until it
    /// is restored.
    pub(crate) fn world_as_is(&self) -> std::sync::MutexGuard<'_, World> {
        self.restored.wait_blocking();
        lock(&self.world)
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
        let mut world = self.world_as_is();
        world.catch_up(now);
        world
    }

    pub fn clients(&self) -> BTreeMap<String, ApiClient> {
        self.restored.wait_blocking();
        lock(&self.clients)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Saves as the sandbox stops (the world if it changed or was never saved, and the clock
    /// in any case), then never again.
    pub fn save_at_stop(&self) {
        let _one_at_a_time = lock(&self.save_lock);
        if let Some(dir) = &self.config.data_dir
            && self.may_save()
        {
            self.save_world(!crate::persistence::path(dir).exists());
            if let Err(err) = crate::persistence::save_clock(dir, self.now()) {
                tracing::warn!(%err, dir = %dir.display(), "could not save the sandbox clock");
            }
        }
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the sandbox has stopped (the background tasks end then).
    pub fn has_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn may_save(&self) -> bool {
        self.saving.load(std::sync::atomic::Ordering::SeqCst) && !self.has_stopped()
    }

    /// Marks the world changed for the saver (for changes outside it: a registered client).
    pub(crate) fn changed(&self) {
        self.world_as_is().revision += 1;
    }

    /// Writes the snapshot to the data dir (if any) when the world changed since it was
    /// restored or last saved.
    pub fn save_if_changed(&self) {
        let _one_at_a_time = lock(&self.save_lock);
        if self.may_save() {
            self.save_world(false);
        }
    }

    fn save_world(&self, even_unchanged: bool) {
        let Some(dir) = &self.config.data_dir else {
            return;
        };
        let (revision, snapshot) = {
            let world = self.world_as_is();
            if !even_unchanged
                && world.revision
                    == self
                        .saved_revision
                        .load(std::sync::atomic::Ordering::SeqCst)
            {
                return;
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
            Ok(()) => self
                .saved_revision
                .store(revision, std::sync::atomic::Ordering::SeqCst),
            Err(err) => {
                tracing::warn!(%err, dir = %dir.display(), "could not save the sandbox");
            }
        }
    }
}
