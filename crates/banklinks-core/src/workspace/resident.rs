//! What the resident app (window closed, icon in the tray) needs from the core: how many
//! connections need the person, "sync all that are allowed", and the close-to-tray setting with
//! its one-time explanation. The shell only draws the tray and hides the window.

use serde::Serialize;

use super::Workspace;
use crate::error::Error;
use crate::flows::ConnectionView;
use crate::health::Action;
use crate::locks::lock;

pub(super) const CLOSE_TO_TRAY: &str = "close_to_tray";
/// Set once the first close to the tray has been explained.
const TRAY_EXPLAINED: &str = "tray_explained";

/// The tray's summary of the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attention {
    /// Connections whose health asks for the person now, by name.
    pub needs_you: Vec<String>,
    /// Connections a manual sync is allowed for right now.
    pub can_sync: usize,
}

impl Attention {
    pub fn from_views(views: &[ConnectionView]) -> Self {
        let needs_you = views
            .iter()
            .filter(|view| view.health.needs_you)
            .map(|view| view.connection.name.clone())
            .collect();
        let can_sync = views.iter().filter(|view| sync_allowed(view)).count();
        Self {
            needs_you,
            can_sync,
        }
    }

    /// The tray's one line: its label beside the icon, and the first row of its menu.
    pub fn summary(&self) -> String {
        match self.needs_you.len() {
            0 => "All connections are fine".into(),
            n => format!("{n} need{} you", if n == 1 { "s" } else { "" }),
        }
    }

    /// The "Sync all" menu row, which says how many it would sync (and is disabled at none).
    pub fn sync_label(&self) -> String {
        match self.can_sync {
            0 => "Nothing can sync right now".into(),
            1 => "Sync the 1 that is allowed".into(),
            n => format!("Sync all {n} that are allowed"),
        }
    }
}

fn sync_allowed(view: &ConnectionView) -> bool {
    view.removed_at_source.is_none()
        && view.syncing_since.is_none()
        && view
            .health
            .check(Action::Sync)
            .is_some_and(|check| check.allowed)
}

/// What "Sync all that are allowed" did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncAllOutcome {
    pub started: Vec<String>,
    /// Connection id and why its sync was refused.
    pub failed: Vec<(String, String)>,
}

impl Workspace {
    /// The active profile's tray summary, from the store (no network).
    pub fn attention(&self) -> Result<Attention, Error> {
        Ok(Attention::from_views(&self.dashboard()?))
    }

    /// Starts a manual sync of every connection allowed one now. One refusal does not stop
    /// the others.
    pub async fn sync_all_allowed(&self) -> Result<SyncAllOutcome, Error> {
        let flows = self.flows()?;
        let ip = self.customer_ip()?;
        let mut outcome = SyncAllOutcome::default();
        for view in self.dashboard()?.iter().filter(|view| sync_allowed(view)) {
            let id = view.connection.id.clone();
            match flows.sync_now(&id, ip).await {
                Ok(()) => outcome.started.push(id),
                Err(err) => outcome.failed.push((id, Error::from(err).to_string())),
            }
        }
        // One watcher for them all: it follows every sync in flight, and one per sync would
        // ask about each of them again and could settle one twice.
        if !outcome.started.is_empty() {
            super::actions::watch_syncs(flows);
        }
        Ok(outcome)
    }

    /// Closing the window keeps the app running in the tray (on unless turned off).
    pub fn close_to_tray(&self) -> bool {
        lock(&self.store)
            .setting(CLOSE_TO_TRAY)
            .ok()
            .flatten()
            .as_deref()
            != Some("off")
    }

    pub fn set_close_to_tray(&self, on: bool) -> Result<(), Error> {
        lock(&self.store).set_setting(CLOSE_TO_TRAY, if on { "on" } else { "off" })?;
        Ok(())
    }

    /// True exactly once ever: the first close to the tray is explained, later ones are not.
    pub fn first_close_to_tray(&self) -> Result<bool, Error> {
        let store = lock(&self.store);
        if store.setting(TRAY_EXPLAINED)?.is_some() {
            return Ok(false);
        }
        store.set_setting(TRAY_EXPLAINED, "yes")?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_in_plain_words() {
        let mut attention = Attention {
            needs_you: vec![],
            can_sync: 0,
        };
        assert_eq!(attention.summary(), "All connections are fine");
        assert_eq!(attention.sync_label(), "Nothing can sync right now");
        attention.needs_you = vec!["Demo Bank".into()];
        attention.can_sync = 1;
        assert_eq!(attention.summary(), "1 needs you");
        assert_eq!(attention.sync_label(), "Sync the 1 that is allowed");
        attention.needs_you.push("Other Bank".into());
        attention.can_sync = 3;
        assert_eq!(attention.summary(), "2 need you");
        assert_eq!(attention.sync_label(), "Sync all 3 that are allowed");
    }
}
