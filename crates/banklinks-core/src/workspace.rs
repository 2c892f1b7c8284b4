//! The app's session: the store, the keychain, the active environment (Demo by default, its
//! sandbox running in this process) and the active profile's [`Flows`]. The desktop shell holds
//! one `Workspace` and turns each command into one call here; nothing reaches a profile's flows
//! except through it.
//!
//! The rooms: this file (opening, environments, profiles, settings, the overview), `actions`
//! (what the person asks of a connection, checked against the core's action checks),
//! `institutions` (the bank list and degraded providers), `poller` (the background step: queued
//! syncs, refreshes with backoff, pending authorizations running out, notices), `exports`, and
//! `demo` (the presenter's controls).

mod actions;
mod demo;
mod exports;
mod icons;
mod institutions;
mod poller;
mod renewals;
mod resident;

pub use actions::AuthorizationRequest;
pub use demo::{Breakage, DemoStatus, FaultPreset, Persona};
pub use exports::Export;
pub use institutions::InstitutionView;
pub use poller::{POLL_INTERVAL, POLL_MAX_BACKOFF, TickOutcome, poll_delay};
pub use renewals::{RenewAllView, RenewStep};
pub use resident::{Attention, SyncAllOutcome};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::environment::{self, DEMO, Demo, EnvironmentKind, EnvironmentSettings, SandboxTime};
use crate::error::Error;
use crate::flows::{ConnectionView, FlowEvent, Flows};
use crate::keychain::{KEYCHAIN_TIME_LIMIT, SecretStore, TimeLimited};
use crate::locks::lock;
use crate::sensitive::Sensitive;
use crate::store::{Store, StoreError};

const ACTIVE_ENVIRONMENT: &str = "active_environment";
const DEMO_PORT: &str = "demo_port";
const CUSTOMER_IP: &str = "customer_ip";
const NOTIFICATIONS: &str = "notifications";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSummary {
    pub id: String,
    pub user_id: String,
    pub name: String,
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
    /// Closing the window keeps the app running in the tray.
    pub close_to_tray: bool,
    /// Keep connections and accounts Moneyhub no longer has, as history (else delete them).
    pub keep_gone_data: bool,
    pub customer_ip: Option<String>,
    /// What is sent as the customer's IP with syncs the person asks for, in words for Settings.
    pub customer_ip_note: String,
    /// "Now" as the active environment sees it (the Demo clock in Demo).
    pub now: String,
    /// When the active profile last heard from Moneyhub in full (kept across restarts).
    pub last_refresh: Option<String>,
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
    /// The files exported in this run (the only ones "Show in folder" may reveal).
    exports: Mutex<std::collections::HashSet<PathBuf>>,
    /// Banks whose icon was asked for in this run (see `icons.rs`).
    icons_tried: Mutex<std::collections::HashSet<String>>,
    poll: Mutex<poller::PollState>,
    startup_notice: Option<String>,
    http: reqwest::Client,
}

impl Workspace {
    /// Opens the store in `data_dir` (moving a damaged one aside and starting afresh, with a
    /// notice) and activates the environment used last, Demo the first time.
    /// Every keychain call the session makes goes through [`TimeLimited`], so a stalled keychain
    /// answers `keychain_unavailable` instead of hanging a flow.
    pub async fn open(data_dir: PathBuf, keychain: Arc<dyn SecretStore>) -> Result<Self, Error> {
        let keychain: Arc<dyn SecretStore> =
            Arc::new(TimeLimited::new(keychain, KEYCHAIN_TIME_LIMIT));
        crate::private_folder::make_private(&data_dir).map_err(StoreError::Io)?;
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
            exports: Mutex::default(),
            icons_tried: Mutex::default(),
            poll: Mutex::new(poller::PollState::default()),
            startup_notice,
            // Bank icons and the Demo's admin calls: no redirects, so the https check on an
            // icon's address holds for where it is actually fetched from.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
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

    /// Stops the Demo's bank server, which saves its world. Called as the app exits.
    pub async fn close(&self) {
        let mut demo = self.demo.lock().await;
        if let Some(running) = demo.take() {
            running.sandbox.stop().await;
        }
    }

    /// Tells the UI to read the overview again (nobody listening is fine).
    pub(crate) fn overview_changed(&self) {
        let _ = self.events.send(FlowEvent::OverviewChanged);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FlowEvent> {
        self.events.subscribe()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        lock(&self.active)
            .as_ref()
            .map(|flows| flows.now())
            .unwrap_or_else(Utc::now)
    }

    /// The active profile's flows.
    pub(crate) fn flows(&self) -> Result<Arc<Flows>, Error> {
        lock(&self.active).clone().ok_or(Error::NoProfile)
    }

    fn settings(&self) -> Result<EnvironmentSettings, Error> {
        lock(&self.environment)
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
                    started.record(&store, now)?;
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
        if id != DEMO {
            // A Moneyhub or custom environment does not pay for Demo: its bank server stops
            // (saving its world) and starts again on a switch back. Only once the new client
            // exists, so a failed switch leaves Demo as it was.
            // The lock is held until the stop has saved, so a quick switch back cannot start
            // a second server on the same folder meanwhile.
            let mut demo = self.demo.lock().await;
            if let Some(running) = demo.take() {
                running.sandbox.stop().await;
            }
        }
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
        *lock(&self.environment) = Some(settings.clone());
        *lock(&self.active) = profile.map(|(profile, user_id, _)| {
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
        lock(&self.institutions).clear();
        *lock(&self.poll) = poller::PollState::default();
        self.overview_changed();
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
            Some(id) if !actions::is_plain_id(id) => {
                return Err(Error::NotAllowed("that is not a Moneyhub user id".into()));
            }
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
        let saved = environment::load(&lock(&self.store), &settings.id).ok();
        let same_servers = saved.as_ref().is_some_and(|saved| {
            saved.identity_url == settings.identity_url && saved.api_url == settings.api_url
        });
        if secret.is_none() && saved.is_some() && !same_servers {
            // The stored secret was given for the old servers; a new one must be asked for.
            return Err(Error::Environment(
                environment::EnvironmentError::SecretForOldServers(environment::secret_name(
                    settings.auth,
                )),
            ));
        }
        let existing = self
            .keychain
            .get(&environment::secret_account(&settings).map_err(Error::Environment)?)?;
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
        let in_demo = settings.id == DEMO;
        let demo = self.demo_status(in_demo, &settings.identity_url).await;
        let active = lock(&self.active).clone();
        let active_profile = active.as_ref().map(|f| f.profile().to_string());
        let last_refresh = match &active {
            Some(flows) => flows.last_refresh()?,
            None => None,
        };
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
            personas: self.personas(in_demo),
            demo,
            data_location: self.data_dir.display().to_string(),
            startup_notice: self.startup_notice.clone(),
            notifications: store.setting(NOTIFICATIONS)?.as_deref() != Some("off"),
            close_to_tray: store.setting(resident::CLOSE_TO_TRAY)?.as_deref() != Some("off"),
            keep_gone_data: store.setting(crate::store::KEEP_GONE_DATA)?.as_deref() != Some("off"),
            customer_ip_note: crate::network::customer_ip_note(
                store
                    .setting(CUSTOMER_IP)?
                    .as_deref()
                    .filter(|ip| !ip.is_empty()),
            ),
            customer_ip: store.setting(CUSTOMER_IP)?,
            now,
            last_refresh,
        })
    }

    pub fn set_notifications(&self, on: bool) -> Result<(), Error> {
        lock(&self.store).set_setting(NOTIFICATIONS, if on { "on" } else { "off" })?;
        Ok(())
    }

    /// Whether what Moneyhub no longer has stays here as history (on) or is deleted (off).
    pub fn set_keep_gone_data(&self, keep: bool) -> Result<(), Error> {
        lock(&self.store).set_setting(
            crate::store::KEEP_GONE_DATA,
            if keep { "on" } else { "off" },
        )?;
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
        match lock(&self.active).clone() {
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
}
