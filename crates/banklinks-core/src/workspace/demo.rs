//! The presenter's Demo controls: personas, a busy user, the clock, breaking a connection,
//! faults, reset, and taking the bank server offline.
//!
//! Every control that changes the sandbox's world goes over the sandbox's own admin HTTP API
//! (`/__sandbox`), the same surface tests and a presenter with `curl` use, so the demo exercises
//! what it shows. Only starting and stopping the server itself are in-process.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DEMO, Workspace};
use crate::error::Error;
use crate::locks::lock;

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
    /// Deleted outside Banklinks (another app of the same client, Moneyhub's portal).
    RemovedAtMoneyhub,
    /// The bank closed its first account.
    AccountClosed,
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

/// The sandbox's answer to an admin call it refused.
struct Refused {
    status: reqwest::StatusCode,
    text: String,
}

impl Workspace {
    /// The personas Demo offers (none elsewhere).
    pub(super) fn personas(&self, in_demo: bool) -> Vec<Persona> {
        if !in_demo {
            return Vec::new();
        }
        moneyhub_sandbox::PERSONAS
            .iter()
            .map(|(name, description)| Persona {
                name: (*name).into(),
                description: (*description).into(),
            })
            .collect()
    }

    /// Demo: a persona (a sandbox user with ready-made connections) as a new profile.
    pub async fn use_persona(&self, persona: &str) -> Result<String, Error> {
        let client_id = self.settings()?.client_id;
        let answer = match self
            .admin_call(
                reqwest::Method::POST,
                &format!("/scenarios/{}", urlencoding_path(persona)?),
                json!({ "clientId": client_id }),
            )
            .await?
        {
            Ok(answer) => answer,
            Err(refused) if refused.status == reqwest::StatusCode::NOT_FOUND => {
                return Err(Error::NotAllowed(format!(
                    "there is no persona {persona:?}"
                )));
            }
            Err(refused) => return Err(refused.into_error()),
        };
        let user_id = answer
            .get("userId")
            .and_then(|id| id.as_str())
            .ok_or_else(|| Error::Demo("the demo server made no user".into()))?
            .to_string();
        let profile = format!("{DEMO}-{persona}-{user_id}");
        lock(&self.store).ensure_profile(&profile, DEMO, &user_id, persona, self.now())?;
        self.use_new_profile(profile.clone()).await?;
        Ok(profile)
    }

    /// Demo: a user with `connections` healthy connections to assorted banks, as a new profile
    /// (for showing a busy dashboard, and for the start-up benchmark).
    pub async fn demo_busy_user(&self, connections: usize) -> Result<String, Error> {
        let client_id = self.settings()?.client_id;
        let answer = self
            .admin(
                reqwest::Method::POST,
                "/populate",
                json!({ "clientId": client_id, "users": 1, "connectionsPerUser": connections }),
            )
            .await?;
        let user = answer
            .get("userIds")
            .and_then(|ids| ids.get(0))
            .and_then(|id| id.as_str())
            .ok_or_else(|| Error::Demo("the demo server made no user".into()))?;
        let profile = format!("{DEMO}-busy-{user}");
        lock(&self.store).ensure_profile(&profile, DEMO, user, "Busy demo user", self.now())?;
        self.use_new_profile(profile.clone()).await?;
        Ok(profile)
    }

    /// The admin API's address for `path`, and the token only this app holds for it.
    async fn admin_url(&self, path: &str) -> Result<(String, String), Error> {
        let settings = self.settings()?;
        if settings.id != DEMO {
            return Err(Error::NotAllowed(
                "the demo controls work only in the Demo environment".into(),
            ));
        }
        let token = match self.demo.lock().await.as_ref() {
            Some(running) => running.sandbox.shared.config.admin_token.clone(),
            None => {
                return Err(Error::NotAllowed(
                    "the demo bank server is stopped; start it first".into(),
                ));
            }
        };
        Ok((format!("{}/__sandbox{path}", settings.identity_url), token))
    }

    /// The Demo sandbox's admin token, for tests that drive it as the app does.
    #[cfg(test)]
    pub(crate) async fn demo_admin_token(&self) -> String {
        self.admin_url("").await.expect("the Demo is running").1
    }

    /// One admin call: the sandbox's JSON answer, or its refusal as it came.
    async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<Result<serde_json::Value, Refused>, Error> {
        let (url, token) = self.admin_url(path).await?;
        let response = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|err| Error::Demo(format!("the demo server did not answer: {err}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Ok(Err(Refused { status, text }));
        }
        Ok(Ok(
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
        ))
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        self.admin_call(method, path, body)
            .await?
            .map_err(Refused::into_error)
    }

    /// Moves the Demo clock forward ("1h", "1d", "7d", "90d"), runs the queued syncs that
    /// became due (as the poller would on its next step), then refreshes.
    pub async fn demo_advance_clock(&self, by: &str) -> Result<String, Error> {
        let answer = self
            .admin(reqwest::Method::POST, "/clock", json!({ "advance": by }))
            .await?;
        self.overview_changed();
        if let Ok(flows) = self.flows() {
            // Syncs Moneyhub ran while the clock moved have finished; then the queued ones
            // start, and are watched.
            if let Err(err) = flows.check_syncs_in_flight().await {
                tracing::info!(%err, "could not ask about syncs after the clock moved");
            }
            flows.run_due_syncs().await;
            super::actions::watch_syncs(flows.clone());
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
        // Only the active profile's connections: the id comes from the webview.
        let view = self.flows()?.connection_view(connection)?;
        let now = self.now();
        let connection_path = format!("/connections/{}", urlencoding_path(connection)?);
        let patch = |body| (reqwest::Method::PATCH, connection_path.clone(), body);
        let (method, path, body) = match how {
            Breakage::ExpireConsent => {
                patch(json!({ "expiresAt": crate::store::iso(now - Duration::days(1)) }))
            }
            Breakage::ConsentEndingSoon => {
                patch(json!({ "expiresAt": crate::store::iso(now + Duration::days(3)) }))
            }
            Breakage::MfaRequired => patch(json!({ "error": "mfa_required" })),
            Breakage::CredentialsError => patch(json!({ "error": "credentials_error" })),
            Breakage::SyncError => patch(json!({ "error": "sync_error" })),
            Breakage::Stale => {
                patch(json!({ "lastUpdated": crate::store::iso(now - Duration::days(3)) }))
            }
            Breakage::Heal => patch(json!({ "heal": true })),
            Breakage::RemovedAtMoneyhub => (
                reqwest::Method::POST,
                format!("{connection_path}/remove-elsewhere"),
                json!({}),
            ),
            Breakage::AccountClosed => {
                let account = view
                    .accounts
                    .iter()
                    .find(|a| a.removed_at_source.is_none())
                    .ok_or_else(|| {
                        Error::NotAllowed("the connection has no open account".into())
                    })?;
                (
                    reqwest::Method::POST,
                    format!("/accounts/{}/close", urlencoding_path(&account.id)?),
                    json!({}),
                )
            }
        };
        self.admin(method, &path, body).await?;
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
        self.close().await;
        self.overview_changed();
        Ok(())
    }

    /// Demo's state for the chrome, when Demo is active.
    pub(super) async fn demo_status(
        &self,
        in_demo: bool,
        identity_url: &str,
    ) -> Option<DemoStatus> {
        if !in_demo {
            return None;
        }
        Some(match self.demo.lock().await.as_ref() {
            Some(demo) => DemoStatus {
                online: true,
                now: crate::store::iso(demo.sandbox.shared.now()),
                identity_url: demo.sandbox.identity_url(),
            },
            None => DemoStatus {
                online: false,
                now: crate::store::iso(self.now()),
                identity_url: identity_url.to_string(),
            },
        })
    }

    /// The active profile's transaction ids as saved here, and as the Demo world (Moneyhub)
    /// has them: after a refresh the two must be equal, nothing lost, nothing twice.
    #[cfg(test)]
    pub(crate) async fn demo_transaction_ids_here_and_there(
        &self,
    ) -> (
        std::collections::BTreeSet<String>,
        std::collections::BTreeSet<String>,
    ) {
        let flows = self.flows().expect("a profile");
        let here = lock(&self.store)
            .all_transaction_ids(flows.profile())
            .expect("store");
        let demo = self.demo.lock().await;
        let demo = demo.as_ref().expect("Demo is running");
        let world = demo.sandbox.shared.world();
        let there = world
            .transactions
            .values()
            .filter(|t| {
                world
                    .accounts
                    .get(&t.account_id)
                    .is_some_and(|a| a.user_id == flows.user_id())
            })
            .map(|t| t.id.to_string())
            .collect();
        (here, there)
    }

    /// The active profile's connection ids as the Demo world (Moneyhub) has them.
    #[cfg(test)]
    pub(crate) async fn demo_connection_ids(&self) -> std::collections::BTreeSet<String> {
        let flows = self.flows().expect("a profile");
        let demo = self.demo.lock().await;
        let demo = demo.as_ref().expect("Demo is running");
        let world = demo.sandbox.shared.world();
        world
            .connections
            .values()
            .filter(|c| c.user_id == flows.user_id())
            .map(|c| c.id.clone())
            .collect()
    }

    /// The customer IP each sync in the Demo world carried, oldest first: what Moneyhub was
    /// told about the user being present.
    #[cfg(test)]
    pub(crate) async fn demo_sync_customer_ips(
        &self,
        connection: &str,
    ) -> Vec<Option<std::net::IpAddr>> {
        let demo = self.demo.lock().await;
        let demo = demo.as_ref().expect("Demo is running");
        let world = demo.sandbox.shared.world();
        world
            .syncs
            .iter()
            .filter(|s| s.connection_id == connection)
            .filter(|s| s.action == moneyhub_sandbox::world::SyncAction::ClientUpdate)
            .map(|s| s.customer_ip)
            .collect()
    }
}

impl Refused {
    fn into_error(self) -> Error {
        Error::Demo(format!(
            "the demo server refused: {} {}",
            self.status, self.text
        ))
    }
}

/// An id as one segment of an admin path, encoded as the Moneyhub client encodes its own: an
/// id from the webview never adds segments to the URL.
fn urlencoding_path(id: &str) -> Result<String, Error> {
    moneyhub::api::segment(id).map_err(|err| Error::NotAllowed(err.to_string()))
}
