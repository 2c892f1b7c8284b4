//! "Renew all" for the active profile: which consents are due, the batch (saved after every
//! step, so a restart resumes it), and the trip to the next bank.

use serde::{Deserialize, Serialize};

use super::{AuthorizationRequest, Workspace};
use crate::error::{Error, ErrorCode};
use crate::flows::{ConnectionView, Flows};
use crate::health::{Action, Fix};
use crate::renewals::RenewAll;

/// What the person asked of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(
    tag = "step",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RenewStep {
    /// Only read where it stands.
    Status,
    /// A new batch of every consent due, and its first trip to the bank.
    Start,
    /// The next trip to a bank (after one finished, or after a restart).
    Continue,
    /// The one at its bank did not work out (refused, timed out, given up); go on without it.
    Skip { reason: String },
    /// Stop after the one at its bank.
    Cancel,
    /// Forget a batch that is over.
    Dismiss,
}

/// Where renewing stands, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RenewAllView {
    /// Consents a batch would renew now (expired or ending within 14 days, renewable in place).
    pub due: Vec<String>,
    /// Connections whose consent cannot simply be renewed: each needs a bank login.
    pub needs_reauth: Vec<String>,
    pub batch: Option<RenewAll>,
    /// The bank page to open for the batch's current connection, when this step started one.
    #[serde(skip)]
    pub open: Option<String>,
}

fn due(views: &[ConnectionView]) -> (Vec<String>, Vec<String>) {
    let lapsing = |v: &&ConnectionView| {
        v.removed_at_source.is_none() && v.health.consent.as_ref().is_some_and(|c| c.due)
    };
    let renewable = |v: &&ConnectionView| {
        v.health
            .check(Action::Reconsent)
            .is_some_and(|check| check.allowed)
    };
    let mut due: Vec<&ConnectionView> = views.iter().filter(lapsing).filter(renewable).collect();
    due.sort_by(|a, b| renewal_order(a).cmp(&renewal_order(b)));
    let due = due.into_iter().map(|v| v.connection.id.clone()).collect();
    let needs_reauth = views
        .iter()
        .filter(|v| v.health.recommended == Fix::Reauth || (lapsing(v) && !renewable(v)))
        .map(|v| v.connection.id.clone())
        .collect();
    (due, needs_reauth)
}

/// The consent that ends soonest is renewed first, so a batch cut short (cancelled, the app
/// closed) has saved the most urgent ones; ties go by name as the person reads them, and the id
/// only keeps the order stable between runs.
fn renewal_order(view: &ConnectionView) -> (Option<chrono::DateTime<chrono::Utc>>, &str, &str) {
    (
        view.connection.expires_at,
        view.connection.name.as_str(),
        view.connection.id.as_str(),
    )
}

const SETTING: &str = "renew_all";

fn load(flows: &Flows) -> Result<Option<RenewAll>, Error> {
    let saved = flows.profile_setting(SETTING)?;
    Ok(saved.and_then(|json| serde_json::from_str::<RenewAll>(&json).ok()))
}

fn save(flows: &Flows, batch: Option<&RenewAll>) -> Result<(), Error> {
    let json = batch
        .map(|b| serde_json::to_string(b).unwrap_or_default())
        .unwrap_or_default();
    flows.set_profile_setting(SETTING, &json)?;
    Ok(())
}

impl Workspace {
    /// One step of "renew all"; `open` in the answer is the bank page to show, when one started.
    pub async fn renew_all(&self, step: RenewStep) -> Result<RenewAllView, Error> {
        let flows = self.flows()?;
        let mut batch = load(&flows)?;
        let (due, needs_reauth) = due(&flows.dashboard()?);
        let mut open = None;
        let travels = matches!(step, RenewStep::Start | RenewStep::Continue);
        // Asking how it stands changes nothing (the dashboard asks at every reload).
        let changes = !matches!(step, RenewStep::Status);
        match step {
            RenewStep::Status => {}
            RenewStep::Start => {
                if batch.as_ref().is_some_and(|b| !b.is_over()) {
                    return Err(Error::NotAllowed("renewing is already under way".into()));
                }
                if due.is_empty() {
                    return Err(Error::NotAllowed("no consent is due for renewal".into()));
                }
                batch = Some(RenewAll::new(due.clone()));
            }
            RenewStep::Continue => {}
            RenewStep::Skip { reason } => {
                if let Some(b) = batch.as_mut() {
                    b.failed(&reason);
                }
            }
            RenewStep::Cancel => {
                if let Some(b) = batch.as_mut() {
                    b.cancel();
                }
            }
            RenewStep::Dismiss => {
                if batch.as_ref().is_some_and(RenewAll::is_over) {
                    batch = None;
                }
            }
        }
        if travels {
            open = self.renew_next(&flows, batch.as_mut()).await?;
        }
        if changes {
            save(&flows, batch.as_ref())?;
        }
        Ok(RenewAllView {
            due,
            needs_reauth,
            batch,
            open,
        })
    }

    /// Sends the batch's next connection to its bank: the page to open. One that can no longer
    /// be renewed (fixed meanwhile, or removed) is passed over with its reason.
    async fn renew_next(
        &self,
        flows: &Flows,
        batch: Option<&mut RenewAll>,
    ) -> Result<Option<String>, Error> {
        let Some(batch) = batch else {
            return Ok(None);
        };
        if batch.current.is_some() {
            return Ok(None);
        }
        while let Some(connection) = batch.start_next() {
            let request = AuthorizationRequest::Reconsent {
                connection_id: connection.clone(),
            };
            match self.begin(request).await {
                Ok(url) => return Ok(Some(url)),
                // Nothing reached the bank: the batch stands, to continue when it can.
                Err(err)
                    if matches!(
                        err.code(),
                        ErrorCode::Offline
                            | ErrorCode::KeychainLocked
                            | ErrorCode::KeychainUnavailable
                    ) =>
                {
                    batch.current = None;
                    batch.queue.insert(0, connection);
                    save(flows, Some(batch))?;
                    return Err(err);
                }
                Err(err) => batch.failed(&err.to_string()),
            }
        }
        Ok(None)
    }

    /// A reconsent trip failed or ran out: if it was the batch's current one, it is listed
    /// with the reason and the batch can go on. A failed trip to any other bank changes nothing.
    pub(crate) fn renewal_failed(&self, flows: &Flows, connection: &str, reason: &str) {
        let Ok(Some(mut batch)) = load(flows) else {
            return;
        };
        if batch.current.as_deref() != Some(connection) {
            return;
        }
        batch.failed(reason);
        if let Err(err) = save(flows, Some(&batch)) {
            tracing::warn!(%err, "could not save the renewal batch");
        }
    }

    /// A reconsent finished: the batch's current one is renewed (under its new id, if any).
    pub(crate) fn renewal_finished(&self, flows: &Flows, previous: &str, now_id: &str) {
        let Ok(Some(mut batch)) = load(flows) else {
            return;
        };
        batch.renewed(previous, now_id);
        if let Err(err) = save(flows, Some(&batch)) {
            tracing::warn!(%err, "could not save the renewal batch");
        }
    }
}
