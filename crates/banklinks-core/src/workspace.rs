//! The app's session: the store, the keychain, the active environment (Demo by default, its
//! sandbox running in this process) and the active profile's [`Flows`]. The desktop shell holds
//! one `Workspace` and turns each command into one call here.
//!
//! Also here, because they need the whole session: the institution list (and which providers
//! are degraded), "sync as soon as allowed", the background poller's step, OS notices, exports
//! to files, and the presenter's Demo controls (over the sandbox's own admin API, so the demo
//! exercises the same HTTP surface a test or a presenter with `curl` would).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use moneyhub::{BankChoice, Purpose};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast;

use crate::environment::{self, DEMO, Demo, EnvironmentKind, EnvironmentSettings, SandboxTime};
use crate::error::Error;
use crate::flows::{ConnectionView, ExportFormat, FlowError, FlowEvent, Flows, lock};
use crate::health::Action;
use crate::keychain::SecretStore;
use crate::notices::{self, Notice};
use crate::sensitive::Sensitive;
use crate::store::{Actor, RemovalReceipt, Store, StoreError};
use crate::sync_policy::SyncAllowance;

const ACTIVE_ENVIRONMENT: &str = "active_environment";
const DEMO_PORT: &str = "demo_port";
const CUSTOMER_IP: &str = "customer_ip";
const NOTIFICATIONS: &str = "notifications";

/// How often the poller refreshes when all is well, and the most it backs off to.
pub const POLL_INTERVAL: Duration = Duration::minutes(5);
pub const POLL_MAX_BACKOFF: Duration = Duration::minutes(60);

/// The wait before the next poll after `failures` failed ones in a row: the interval, doubled
/// per failure, capped, so an outage costs Moneyhub (and the battery) little.
pub fn poll_delay(failures: u32) -> Duration {
    let factor = 1_i32.checked_shl(failures.min(16)).unwrap_or(i32::MAX);
    (POLL_INTERVAL * factor).min(POLL_MAX_BACKOFF)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSummary {
    pub id: String,
    pub user_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Persona {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DemoStatus {
    /// The sandbox is serving (the presenter can stop it to show offline behaviour).
    pub online: bool,
    /// The sandbox clock, which the presenter moves.
    pub now: String,
    pub identity_url: String,
}

/// Everything the shell's chrome needs: where we are, as whom, and what else there is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub environment: EnvironmentSettings,
    pub environments: Vec<EnvironmentSettings>,
    pub profiles: Vec<ProfileSummary>,
    pub active_profile: Option<String>,
    pub personas: Vec<Persona>,
    pub demo: Option<DemoStatus>,
    pub data_location: String,
    /// Set when the database could not be opened at start and was moved aside.
    pub startup_notice: Option<String>,
    pub notifications: bool,
    pub customer_ip: Option<String>,
    /// "Now" as the active environment sees it (the Demo clock in Demo).
    pub now: String,
}

/// An institution in the bank chooser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct InstitutionView {
    pub id: String,
    pub name: String,
    /// `api`, `legacy`, `test` or a valuation provider.
    pub kind: String,
    pub account_types: Vec<String>,
    pub beta: bool,
    /// The provider reports problems syncing or authorising right now.
    pub degraded: bool,
    pub status_note: Option<String>,
}

/// What a user may start at the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum AuthorizationRequest {
    AddConnection { bank_id: String },
    Reauth { connection_id: String },
    Reconsent { connection_id: String },
    Refresh { connection_id: String },
}

/// Ways the presenter can break a Demo connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Breakage {
    /// Consent ended yesterday.
    ExpireConsent,
    /// Consent ends in 3 days.
    ConsentEndingSoon,
    MfaRequired,
    CredentialsError,
    SyncError,
    /// No new data for 3 days (Moneyhub's `resync` rule).
    Stale,
    /// Clear everything forced and mark it healthy.
    Heal,
}

/// Fault presets for the Demo's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum FaultPreset {
    None,
    /// Every sync answers 429 with `Retry-After`.
    RateLimited,
    /// Half the Data API calls answer 503.
    ServerErrors,
    /// Every Data API call takes 3 seconds.
    Slow,
}

/// What one poller step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickOutcome {
    pub refreshed: bool,
    pub synced: Vec<String>,
    pub notices: Vec<Notice>,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct PollState {
    next_refresh: Option<DateTime<Utc>>,
    failures: u32,
}

#[derive(Debug)]
pub struct Workspace {
    store: Arc<Mutex<Store>>,
    keychain: Arc<dyn SecretStore>,
    data_dir: PathBuf,
    demo: tokio::sync::Mutex<Option<Demo>>,
    active: Mutex<Option<Arc<Flows>>>,
    environment: Mutex<Option<EnvironmentSettings>>,
    events: broadcast::Sender<FlowEvent>,
    institutions: Mutex<Vec<InstitutionView>>,
    /// "Sync as soon as allowed": connection → when.
    queued_syncs: Mutex<BTreeMap<String, DateTime<Utc>>>,
    poll: Mutex<PollState>,
    startup_notice: Option<String>,
    http: reqwest::Client,
}

fn plock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Workspace {
    /// Opens the store in `data_dir` (moving a damaged one aside and starting afresh, with a
    /// notice) and activates the environment used last, Demo the first time.
    pub async fn open(data_dir: PathBuf, keychain: Arc<dyn SecretStore>) -> Result<Self, Error> {
        let path = data_dir.join("banklinks.sqlite");
        let (store, startup_notice) = match Store::open(&path) {
            Ok(store) => (store, None),
            Err(err @ StoreError::MovedAside { .. }) => {
                tracing::error!(%err, "the database was damaged and moved aside");
                (Store::open(&path)?, Some(err.to_string()))
            }
            Err(err) => return Err(err.into()),
        };
        let (events, _) = broadcast::channel(256);
        let workspace = Self {
            store: Arc::new(Mutex::new(store)),
            keychain,
            data_dir,
            demo: tokio::sync::Mutex::new(None),
            active: Mutex::new(None),
            environment: Mutex::new(None),
            events,
            institutions: Mutex::new(Vec::new()),
            queued_syncs: Mutex::new(BTreeMap::new()),
            poll: Mutex::new(PollState::default()),
            startup_notice,
            http: reqwest::Client::new(),
        };
        let active = lock(&workspace.store)
            .setting(ACTIVE_ENVIRONMENT)?
            .unwrap_or_else(|| DEMO.to_string());
        if let Err(err) = workspace.activate(&active).await {
            if active == DEMO {
                return Err(err);
            }
            // A real environment whose secret is gone still leaves the app usable in Demo.
            tracing::warn!(%err, "could not open the last environment; falling back to Demo");
            workspace.activate(DEMO).await?;
        }
        Ok(workspace)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FlowEvent> {
        self.events.subscribe()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn now(&self) -> DateTime<Utc> {
        plock(&self.active)
            .as_ref()
            .map(|flows| flows.now())
            .unwrap_or_else(Utc::now)
    }

    /// The active profile's flows.
    pub fn flows(&self) -> Result<Arc<Flows>, Error> {
        plock(&self.active).clone().ok_or(Error::NoProfile)
    }

    fn settings(&self) -> Result<EnvironmentSettings, Error> {
        plock(&self.environment)
            .clone()
            .ok_or_else(|| Error::Demo("no environment is active".into()))
    }

    /// Makes `id` the active environment (starting the Demo sandbox when needed) and selects its
    /// last-used profile.
    pub async fn activate(&self, id: &str) -> Result<(), Error> {
        let now = Utc::now();
        let (settings, time): (EnvironmentSettings, Arc<dyn moneyhub::Environment>) = if id == DEMO
        {
            let mut demo = self.demo.lock().await;
            if demo.is_none() {
                let port = lock(&self.store)
                    .setting(DEMO_PORT)?
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                let started = Demo::launch(Some(self.data_dir.join("demo-sandbox")), port).await?;
                {
                    let store = lock(&self.store);
                    started.record(&store, self.keychain.as_ref(), now)?;
                    store.set_setting(DEMO_PORT, &started.sandbox.addr().port().to_string())?;
                }
                *demo = Some(started);
            }
            let demo = demo.as_ref().ok_or_else(|| Error::Demo("no demo".into()))?;
            (
                demo.settings.clone(),
                Arc::new(SandboxTime(demo.sandbox.shared.clone())),
            )
        } else {
            let settings = environment::load(&lock(&self.store), id)?;
            (settings, Arc::new(moneyhub::SystemEnvironment))
        };
        let client = environment::client(&settings, self.keychain.as_ref(), time)?;
        let profile = {
            let store = lock(&self.store);
            store.set_setting(ACTIVE_ENVIRONMENT, id)?;
            let profiles = store.profiles(id)?;
            let last = store.setting(&format!("active_profile:{id}"))?;
            profiles
                .iter()
                .find(|(pid, _, _)| Some(pid) == last.as_ref())
                .or(profiles.first())
                .cloned()
        };
        *plock(&self.environment) = Some(settings.clone());
        *plock(&self.active) = profile.map(|(profile, user_id, _)| {
            Arc::new(
                Flows::new(
                    client,
                    self.store.clone(),
                    self.keychain.clone(),
                    settings.id.clone(),
                    profile,
                    user_id,
                )
                .with_events(self.events.clone()),
            )
        });
        plock(&self.institutions).clear();
        plock(&self.queued_syncs).clear();
        *plock(&self.poll) = PollState::default();
        Ok(())
    }

    /// Switches to another profile of the active environment.
    pub async fn select_profile(&self, profile: &str) -> Result<(), Error> {
        let settings = self.settings()?;
        {
            let store = lock(&self.store);
            if !store
                .profiles(&settings.id)?
                .iter()
                .any(|(id, _, _)| id == profile)
            {
                return Err(Error::NoProfile);
            }
            store.set_setting(&format!("active_profile:{}", settings.id), profile)?;
        }
        self.activate(&settings.id).await
    }

    async fn time_source(&self, settings: &EnvironmentSettings) -> Arc<dyn moneyhub::Environment> {
        match self.demo.lock().await.as_ref() {
            Some(demo) if settings.id == DEMO => Arc::new(SandboxTime(demo.sandbox.shared.clone())),
            _ => Arc::new(moneyhub::SystemEnvironment),
        }
    }

    async fn use_new_profile(&self, profile: String) -> Result<(), Error> {
        let settings = self.settings()?;
        lock(&self.store).set_setting(&format!("active_profile:{}", settings.id), &profile)?;
        self.activate(&settings.id).await?;
        self.refresh().await
    }

    /// Demo: a persona (a sandbox user with ready-made connections) as a new profile.
    pub async fn use_persona(&self, persona: &str) -> Result<String, Error> {
        let profile = {
            let demo = self.demo.lock().await;
            let demo = demo
                .as_ref()
                .filter(|_| self.settings().is_ok_and(|s| s.id == DEMO))
                .ok_or_else(|| Error::Demo("personas exist only in Demo".into()))?;
            demo.load_persona(&lock(&self.store), persona, demo.sandbox.shared.now())
                .ok_or_else(|| Error::NotAllowed(format!("there is no persona {persona:?}")))?
        };
        self.use_new_profile(profile.clone()).await?;
        Ok(profile)
    }

    /// Demo: a user with `connections` healthy connections to assorted banks, as a new profile
    /// (for showing a busy dashboard, and for the start-up benchmark).
    pub async fn demo_busy_user(&self, connections: usize) -> Result<String, Error> {
        let profile = {
            let demo = self.demo.lock().await;
            let demo = demo
                .as_ref()
                .filter(|_| self.settings().is_ok_and(|s| s.id == DEMO))
                .ok_or_else(|| Error::Demo("busy users exist only in Demo".into()))?;
            let user = demo
                .sandbox
                .populate(&demo.settings.client_id, 1, connections)
                .pop()
                .ok_or_else(|| Error::Demo("the sandbox made no user".into()))?;
            let profile = format!("{DEMO}-busy-{user}");
            lock(&self.store).ensure_profile(
                &profile,
                DEMO,
                &user,
                "Busy demo user",
                demo.sandbox.shared.now(),
            )?;
            profile
        };
        self.use_new_profile(profile.clone()).await?;
        Ok(profile)
    }

    /// A new Moneyhub user (or an existing one, by id) as a profile, and selects it.
    pub async fn create_profile(
        &self,
        name: &str,
        existing_user_id: Option<&str>,
    ) -> Result<String, Error> {
        let settings = self.settings()?;
        let time = self.time_source(&settings).await;
        let client = environment::client(&settings, self.keychain.as_ref(), time)?;
        let name = if name.trim().is_empty() {
            "Me"
        } else {
            name.trim()
        };
        let user = match existing_user_id.map(str::trim).filter(|id| !id.is_empty()) {
            Some(id) => client.get_user(id).await?,
            None => client.register_user(Some(name)).await?,
        };
        let profile = format!("{}-{}", settings.id, user.user_id);
        lock(&self.store).ensure_profile(
            &profile,
            &settings.id,
            &user.user_id,
            name,
            Utc::now(),
        )?;
        self.use_new_profile(profile.clone()).await?;
        Ok(profile)
    }

    /// Saves a Moneyhub or custom environment after checking its identity server answers
    /// discovery; the secret goes to the keychain. Then makes it active.
    pub async fn save_environment(
        &self,
        settings: EnvironmentSettings,
        secret: Option<String>,
    ) -> Result<(), Error> {
        if settings.kind == EnvironmentKind::Demo || settings.id == DEMO {
            return Err(Error::NotAllowed("the Demo environment is built in".into()));
        }
        let secret = secret.filter(|s| !s.trim().is_empty()).map(Sensitive::new);
        let existing = self
            .keychain
            .get(&environment::secret_account(&settings.id, settings.auth))?;
        let probe_secret = secret.clone().or(existing).ok_or(Error::Environment(
            environment::EnvironmentError::MissingSecret(environment::secret_name(settings.auth)),
        ))?;
        // Check before saving: a client from these settings must read discovery.
        let client = environment::client_with_secret(
            &settings,
            &probe_secret,
            Arc::new(moneyhub::SystemEnvironment),
        )?;
        client.metadata().await?;
        environment::save(
            &lock(&self.store),
            self.keychain.as_ref(),
            &settings,
            secret.as_ref(),
            Utc::now(),
        )?;
        self.activate(&settings.id).await
    }

    /// Removes a non-Demo environment with its profiles, data and keychain entries.
    pub async fn remove_environment(&self, id: &str) -> Result<(), Error> {
        if id == DEMO {
            return Err(Error::NotAllowed("the Demo environment is built in".into()));
        }
        environment::remove(&mut lock(&self.store), self.keychain.as_ref(), id)?;
        if self.settings().is_ok_and(|s| s.id == id) {
            self.activate(DEMO).await?;
        }
        Ok(())
    }

    pub async fn overview(&self) -> Result<Overview, Error> {
        let settings = self.settings()?;
        let demo = match self.demo.lock().await.as_ref() {
            Some(demo) if settings.id == DEMO => Some(DemoStatus {
                online: true,
                now: crate::store::iso(demo.sandbox.shared.now()),
                identity_url: demo.sandbox.identity_url(),
            }),
            None if settings.id == DEMO => Some(DemoStatus {
                online: false,
                now: crate::store::iso(self.now()),
                identity_url: settings.identity_url.clone(),
            }),
            _ => None,
        };
        let active_profile = plock(&self.active).as_ref().map(|f| f.profile.clone());
        let now = crate::store::iso(self.now());
        let store = lock(&self.store);
        let profiles = store
            .profiles(&settings.id)?
            .into_iter()
            .map(|(id, user_id, name)| ProfileSummary { id, user_id, name })
            .collect();
        let mut environments = Vec::new();
        for id in store.environment_ids()? {
            if let Ok(found) = environment::load(&store, &id) {
                environments.push(found);
            }
        }
        Ok(Overview {
            active_profile,
            environment: settings.clone(),
            environments,
            profiles,
            personas: if settings.id == DEMO {
                moneyhub_sandbox::PERSONAS
                    .iter()
                    .map(|(name, description)| Persona {
                        name: (*name).into(),
                        description: (*description).into(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            demo,
            data_location: self.data_dir.display().to_string(),
            startup_notice: self.startup_notice.clone(),
            notifications: store.setting(NOTIFICATIONS)?.as_deref() != Some("off"),
            customer_ip: store.setting(CUSTOMER_IP)?,
            now,
        })
    }

    pub fn set_notifications(&self, on: bool) -> Result<(), Error> {
        lock(&self.store).set_setting(NOTIFICATIONS, if on { "on" } else { "off" })?;
        Ok(())
    }

    pub fn notifications_enabled(&self) -> bool {
        lock(&self.store)
            .setting(NOTIFICATIONS)
            .ok()
            .flatten()
            .as_deref()
            != Some("off")
    }

    /// The IP sent with user-requested syncs; empty means "from the network interface".
    pub fn set_customer_ip(&self, ip: &str) -> Result<(), Error> {
        let ip = ip.trim();
        if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::NotAllowed(format!("{ip:?} is not an IP address")));
        }
        lock(&self.store).set_setting(CUSTOMER_IP, ip)?;
        Ok(())
    }

    /// The dashboard from the store: instant and offline.
    pub fn dashboard(&self) -> Result<Vec<ConnectionView>, Error> {
        match plock(&self.active).clone() {
            Some(flows) => Ok(flows.dashboard()?),
            None => Ok(Vec::new()),
        }
    }

    /// Fetches the profile's connections and data again, and the institutions' status.
    pub async fn refresh(&self) -> Result<(), Error> {
        let flows = self.flows()?;
        // Institution status is a nicety; its failure must not hide the connections'.
        if let Err(err) = self.load_institutions(&flows).await {
            tracing::info!(%err, "institution list not refreshed");
        }
        flows.refresh().await?;
        Ok(())
    }

    async fn load_institutions(&self, flows: &Flows) -> Result<Vec<InstitutionView>, Error> {
        let mut list = flows.client.institutions("all").await?;
        // "all" leaves out Moneyhub's test banks, which Demo and sandbox clients need; a real
        // client without access to them just gets none.
        if let Ok(test_banks) = flows.client.institutions("test").await {
            let known: HashSet<String> = list.iter().map(|i| i.id.clone()).collect();
            list.extend(test_banks.into_iter().filter(|t| !known.contains(&t.id)));
        }
        let views: Vec<InstitutionView> = list
            .into_iter()
            .map(|i| {
                let sync = i.status.as_ref().and_then(|s| s.sync.clone());
                let auth = i.status.as_ref().and_then(|s| s.auth.clone());
                let bad = |s: &Option<String>| s.as_deref().is_some_and(|s| s != "AVAILABLE");
                let degraded = bad(&sync) || bad(&auth);
                InstitutionView {
                    kind: serde_json::to_value(i.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    account_types: i.account_types.iter().map(|a| a.name.clone()).collect(),
                    beta: i.is_beta,
                    status_note: degraded.then(|| {
                        format!(
                            "The bank reports problems (sync: {}, sign-in: {})",
                            sync.as_deref().unwrap_or("unknown"),
                            auth.as_deref().unwrap_or("unknown")
                        )
                    }),
                    degraded,
                    id: i.id,
                    name: i.name,
                }
            })
            .collect();
        flows.set_degraded_banks(
            views
                .iter()
                .filter(|i| i.degraded)
                .map(|i| i.id.clone())
                .collect(),
        );
        *plock(&self.institutions) = views.clone();
        Ok(views)
    }

    /// The bank chooser's list (the last one fetched when Moneyhub cannot be reached).
    pub async fn institutions(&self) -> Result<Vec<InstitutionView>, Error> {
        let flows = self.flows()?;
        match self.load_institutions(&flows).await {
            Ok(list) => Ok(list),
            Err(err) => {
                let cached = plock(&self.institutions).clone();
                if cached.is_empty() {
                    Err(err)
                } else {
                    Ok(cached)
                }
            }
        }
    }

    fn view(&self, flows: &Flows, connection: &str) -> Result<ConnectionView, Error> {
        flows
            .dashboard()?
            .into_iter()
            .find(|v| v.connection.id == connection)
            .ok_or_else(|| FlowError::NoSuchConnection(connection.to_string()).into())
    }

    fn ensure_allowed(&self, view: &ConnectionView, action: Action) -> Result<(), Error> {
        match view.health.actions.iter().find(|a| a.action == action) {
            Some(state) if !state.allowed => {
                Err(Error::NotAllowed(state.reason.clone().unwrap_or_else(
                    || "not allowed for this connection".into(),
                )))
            }
            _ => Ok(()),
        }
    }

    /// Starts an authorization at the bank: the URL for the system browser.
    pub async fn begin(&self, request: AuthorizationRequest) -> Result<String, Error> {
        let flows = self.flows()?;
        let user_id = flows.user_id.clone();
        let purpose = match request {
            AuthorizationRequest::AddConnection { bank_id } => Purpose::AddConnection {
                user_id,
                bank: BankChoice::Bank(bank_id),
            },
            AuthorizationRequest::Reauth { connection_id } => {
                self.ensure_allowed(&self.view(&flows, &connection_id)?, Action::Reauth)?;
                Purpose::Reauth {
                    user_id,
                    connection_id,
                }
            }
            AuthorizationRequest::Reconsent { connection_id } => {
                self.ensure_allowed(&self.view(&flows, &connection_id)?, Action::Reconsent)?;
                Purpose::Reconsent {
                    user_id,
                    connection_id,
                    expires_at: None,
                }
            }
            AuthorizationRequest::Refresh { connection_id } => {
                self.ensure_allowed(&self.view(&flows, &connection_id)?, Action::Refresh)?;
                Purpose::Refresh {
                    user_id,
                    connection_id,
                }
            }
        };
        Ok(flows.begin(purpose).await?.to_string())
    }

    /// A manual sync now, with the user's IP.
    pub async fn sync_now(&self, connection: &str) -> Result<(), Error> {
        let flows = self.flows()?;
        let view = self.view(&flows, connection)?;
        // The exact time beats a generic "not allowed" when the limit is the only obstacle.
        if let SyncAllowance::At { at, .. } = view.sync {
            return Err(FlowError::SyncNotYet(at).into());
        }
        self.ensure_allowed(&view, Action::Sync)?;
        let ip_setting = lock(&self.store).setting(CUSTOMER_IP)?;
        let ip = crate::network::customer_ip(ip_setting.as_deref());
        flows
            .sync_now(connection, &view.connection.name, ip)
            .await?;
        plock(&self.queued_syncs).remove(connection);
        Ok(())
    }

    /// "Sync as soon as allowed": runs now if allowed, else queues it for the poller and says
    /// when it will run.
    pub async fn sync_when_allowed(&self, connection: &str) -> Result<Option<String>, Error> {
        let flows = self.flows()?;
        let view = self.view(&flows, connection)?;
        match view.sync {
            SyncAllowance::Now { .. } => {
                self.sync_now(connection).await?;
                Ok(None)
            }
            SyncAllowance::At { at, .. } => {
                plock(&self.queued_syncs).insert(connection.to_string(), at);
                lock(&self.store).append_journal(
                    &flows.profile,
                    Some(connection),
                    "sync_queued",
                    Actor::User,
                    &json!({ "at": at }),
                    flows.now(),
                )?;
                Ok(Some(crate::store::iso(at)))
            }
        }
    }

    /// Connections with a queued sync, and when.
    pub fn queued_syncs(&self) -> BTreeMap<String, String> {
        plock(&self.queued_syncs)
            .iter()
            .map(|(id, at)| (id.clone(), crate::store::iso(*at)))
            .collect()
    }

    pub async fn complete(&self, callback_url: &str) -> Result<crate::flows::Connected, Error> {
        Ok(self.flows()?.complete(callback_url).await?)
    }

    pub fn cancel(&self, state: &str) -> Result<bool, Error> {
        Ok(self.flows()?.cancel(state)?)
    }

    pub async fn remove(&self, connection: &str) -> Result<RemovalReceipt, Error> {
        let receipt = self.flows()?.remove(connection).await?;
        plock(&self.queued_syncs).remove(connection);
        Ok(receipt)
    }

    /// Writes an export into `dir` and returns its path.
    pub fn export(&self, what: Export, format: ExportFormat, dir: &Path) -> Result<PathBuf, Error> {
        let flows = self.flows()?;
        let (name, text) = match &what {
            Export::Journal => ("journal".to_string(), flows.export_journal(format)?),
            Export::Transactions { account_id } => (
                format!("transactions-{}", sanitize(account_id)),
                flows.export_transactions(account_id, format)?,
            ),
        };
        let stamp = Utc::now().format("%Y%m%d-%H%M%S");
        let extension = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        };
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        let path = dir.join(format!("banklinks-{name}-{stamp}.{extension}"));
        std::fs::write(&path, text).map_err(StoreError::Io)?;
        Ok(path)
    }

    /// One step of the background poller, called about every 30 seconds of wall time: runs the
    /// queued syncs that are due, refreshes when the (backed-off) interval has passed, and
    /// returns the notices not given before.
    pub async fn tick(&self, wall_now: DateTime<Utc>) -> TickOutcome {
        let mut outcome = TickOutcome::default();
        let Ok(flows) = self.flows() else {
            return outcome;
        };
        let due: Vec<String> = {
            let now = flows.now();
            plock(&self.queued_syncs)
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(id, _)| id.clone())
                .collect()
        };
        for connection in due {
            match self.sync_now(&connection).await {
                Ok(()) => outcome.synced.push(connection),
                Err(Error::Flow(FlowError::SyncNotYet(at))) => {
                    plock(&self.queued_syncs).insert(connection, at);
                }
                Err(err) => {
                    tracing::info!(%err, "a queued sync failed");
                    plock(&self.queued_syncs).remove(&connection);
                }
            }
        }
        let refresh_due = plock(&self.poll)
            .next_refresh
            .is_none_or(|at| at <= wall_now);
        if refresh_due || !outcome.synced.is_empty() {
            let result = self.refresh().await;
            let mut poll = plock(&self.poll);
            match result {
                Ok(()) => {
                    poll.failures = 0;
                    outcome.refreshed = true;
                }
                Err(err) => {
                    poll.failures = poll.failures.saturating_add(1);
                    outcome.error = Some(err.to_string());
                }
            }
            poll.next_refresh = Some(wall_now + poll_delay(poll.failures));
        }
        match self.take_notices(&flows) {
            Ok(notices) => outcome.notices = notices,
            Err(err) => tracing::warn!(%err, "could not work out notices"),
        }
        outcome
    }

    /// Notices due now that were never given; each is journalled so it is given once.
    pub fn take_notices(&self, flows: &Flows) -> Result<Vec<Notice>, Error> {
        let views = flows.dashboard()?;
        let store = lock(&self.store);
        let already: HashSet<String> = store.notified_keys(&flows.profile)?.into_iter().collect();
        let due = notices::due(&views, &already);
        for notice in &due {
            let event = if notice.key.starts_with("consent:") {
                "reminder_due"
            } else {
                "attention_needed"
            };
            store.append_journal(
                &flows.profile,
                Some(&notice.connection_id),
                event,
                Actor::Automatic,
                &json!({ "key": notice.key, "text": notice.body }),
                flows.now(),
            )?;
        }
        Ok(due)
    }

    // ----- Demo controls -----

    async fn admin_url(&self, path: &str) -> Result<String, Error> {
        let settings = self.settings()?;
        if settings.id != DEMO {
            return Err(Error::NotAllowed(
                "the demo controls work only in the Demo environment".into(),
            ));
        }
        if self.demo.lock().await.is_none() {
            return Err(Error::NotAllowed(
                "the demo bank server is stopped; start it first".into(),
            ));
        }
        Ok(format!("{}/__sandbox{path}", settings.identity_url))
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        let url = self.admin_url(path).await?;
        let response = self
            .http
            .request(method, url)
            .json(&body)
            .send()
            .await
            .map_err(|err| Error::Demo(format!("the demo server did not answer: {err}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(Error::Demo(format!(
                "the demo server refused: {status} {text}"
            )));
        }
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Moves the Demo clock forward ("1h", "1d", "7d", "90d"), then refreshes.
    pub async fn demo_advance_clock(&self, by: &str) -> Result<String, Error> {
        let answer = self
            .admin(reqwest::Method::POST, "/clock", json!({ "advance": by }))
            .await?;
        if self.flows().is_ok() {
            self.refresh().await?;
        }
        Ok(answer
            .get("now")
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string())
    }

    /// Breaks (or heals) a Demo connection in a chosen way, then refreshes.
    pub async fn demo_break(&self, connection: &str, how: Breakage) -> Result<(), Error> {
        let now = self.now();
        let body = match how {
            Breakage::ExpireConsent => {
                json!({ "expiresAt": crate::store::iso(now - Duration::days(1)) })
            }
            Breakage::ConsentEndingSoon => {
                json!({ "expiresAt": crate::store::iso(now + Duration::days(3)) })
            }
            Breakage::MfaRequired => json!({ "error": "mfa_required" }),
            Breakage::CredentialsError => json!({ "error": "credentials_error" }),
            Breakage::SyncError => json!({ "error": "sync_error" }),
            Breakage::Stale => {
                json!({ "lastUpdated": crate::store::iso(now - Duration::days(3)) })
            }
            Breakage::Heal => json!({ "heal": true }),
        };
        self.admin(
            reqwest::Method::PATCH,
            &format!("/connections/{connection}"),
            body,
        )
        .await?;
        self.refresh().await
    }

    pub async fn demo_faults(&self, preset: FaultPreset) -> Result<(), Error> {
        let rules = match preset {
            FaultPreset::None => json!([]),
            FaultPreset::RateLimited => json!([{ "pathPrefix": "/v3/sync", "status": 429 }]),
            FaultPreset::ServerErrors => {
                json!([{ "pathPrefix": "/v3", "status": 503, "rate": 0.5 }])
            }
            FaultPreset::Slow => json!([{ "pathPrefix": "/v3", "latencyMs": 3000 }]),
        };
        self.admin(reqwest::Method::PUT, "/faults", rules).await?;
        Ok(())
    }

    /// Wipes the Demo world and this device's Demo profiles (not the journal: it is
    /// append-only, and keeps the record of what the demo did).
    pub async fn demo_reset(&self) -> Result<(), Error> {
        self.admin(reqwest::Method::POST, "/reset", json!({}))
            .await?;
        lock(&self.store).remove_profiles(DEMO)?;
        self.activate(DEMO).await
    }

    /// Stops or restarts the Demo's bank server, to show what offline looks like.
    pub async fn demo_set_online(&self, online: bool) -> Result<(), Error> {
        if self.settings()?.id != DEMO {
            return Err(Error::NotAllowed(
                "the demo controls work only in the Demo environment".into(),
            ));
        }
        if online {
            return self.activate(DEMO).await;
        }
        let stopped = self.demo.lock().await.take();
        if let Some(demo) = stopped {
            demo.sandbox.stop().await;
        }
        Ok(())
    }
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Export {
    Journal,
    Transactions { account_id: String },
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poller_backs_off_by_doubling_up_to_an_hour_and_starts_at_five_minutes() {
        assert_eq!(poll_delay(0), Duration::minutes(5));
        assert_eq!(poll_delay(1), Duration::minutes(10));
        assert_eq!(poll_delay(2), Duration::minutes(20));
        assert_eq!(poll_delay(3), Duration::minutes(40));
        assert_eq!(poll_delay(4), Duration::minutes(60));
        assert_eq!(poll_delay(40), Duration::minutes(60));
    }
}
