//! Opens the workspace at start, forwards the core's events to the UI, and runs the background
//! poller: webhooks cannot reach a desktop, so while the app runs it asks Moneyhub itself
//! (gently, backing off on failure; the policy is in `banklinks_core::workspace`).

use std::sync::Arc;
use std::time::Duration;

use banklinks_core::flows::FlowEvent;
use banklinks_core::keychain::SecretStore;
use banklinks_core::notices::Notice;
use banklinks_core::workspace::Workspace;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event;
use tokio::sync::Notify;

use crate::error::IpcError;
use crate::events::FlowActivity;
use crate::state::lock;

/// How often the poller wakes; each wake does work only when something is due.
const TICK: Duration = Duration::from_secs(30);
/// The longest the first step waits for the UI's first paint (a window that never paints, or
/// an app started hidden in the tray, must still be polled).
const FIRST_STEP_WAITS_AT_MOST: Duration = Duration::from_secs(10);

/// Opens the workspace beside the window (the page loads meanwhile; commands wait for it), then
/// starts the forwarding and polling tasks. A failure is kept for the UI to show.
pub fn open_workspace<R: Runtime>(app: &AppHandle<R>) {
    let data_dir = std::env::var_os("BANKLINKS_DATA_DIR")
        .map(std::path::PathBuf::from)
        // The machine's own folder, not Windows' roaming profile: the cache and the Demo world
        // are tens of MB that must not travel with a roaming login (on macOS and Linux the two
        // folders are the same).
        .or_else(|| app.path().app_local_data_dir().ok());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = crate::state(&app);
        // Never a shared, predictable folder such as /tmp/banklinks, where another user could
        // plant a database or read this one: without a home folder, nothing is kept at all.
        let Some(data_dir) = data_dir else {
            tracing::error!("no data folder: this user has no home folder the app can find");
            *lock(&state.workspace_error) = Some(IpcError::internal(
                "Banklinks found no folder of yours to keep its data in (is HOME set?), so it \
                 keeps nothing rather than use a shared one.",
            ));
            state.opened.send_replace(true);
            crate::tray::refresh(&app);
            return;
        };
        let keychain: Arc<dyn SecretStore> = Arc::new(state.keychain.clone());
        match Workspace::open(data_dir, keychain).await.map(Arc::new) {
            Ok(workspace) => {
                *lock(&state.workspace) = Some(workspace.clone());
                let wake = Arc::new(Notify::new());
                forward_events(&app, &workspace, wake.clone());
                poll(&app, workspace, wake);
            }
            Err(err) => {
                tracing::error!(%err, "the workspace did not open");
                *lock(&state.workspace_error) = Some(IpcError::from(err));
            }
        }
        crate::bench::stage("workspace open (store, Demo sandbox)");
        state.opened.send_replace(true);
        crate::tray::refresh(&app);
    });
}

/// On the way out: the Demo's bank server saves its world (it otherwise saves every few
/// seconds, and the last changes would be lost with the process).
pub fn close_workspace<R: Runtime>(app: &AppHandle<R>) {
    let workspace = lock(&crate::state(app).workspace).clone();
    if let Some(workspace) = workspace {
        tracing::info!("closing: the Demo bank server saves its world");
        tauri::async_runtime::block_on(workspace.close());
        tracing::info!("closed");
    }
}

fn forward_events<R: Runtime>(app: &AppHandle<R>, workspace: &Workspace, wake: Arc<Notify>) {
    let mut events = workspace.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    // A time jump or another profile changes what is due: look now, not at
                    // the next tick (the Demo's reminders arrive when the clock says).
                    if matches!(event, FlowEvent::OverviewChanged) {
                        wake.notify_one();
                    }
                    let changes_health = !matches!(event, FlowEvent::HistoryProgress { .. });
                    if let Err(err) = (FlowActivity { event }).emit(&app) {
                        tracing::warn!(%err, "could not forward an event");
                    }
                    if changes_health {
                        crate::tray::refresh(&app);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

fn poll<R: Runtime>(app: &AppHandle<R>, workspace: Arc<Workspace>, wake: Arc<Notify>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // The store's picture first: its refresh would hold the store and the cores while
        // the dashboard is read and painted.
        let state = crate::state(&app);
        let _ = tokio::time::timeout(FIRST_STEP_WAITS_AT_MOST, state.first_paint.notified()).await;
        loop {
            let outcome = workspace.tick(chrono::Utc::now()).await;
            if let Some(error) = &outcome.error {
                tracing::info!(%error, "background refresh failed; backing off");
            }
            if workspace.notifications_enabled() {
                for notice in outcome.notices {
                    notify(&app, &notice);
                }
            }
            crate::tray::refresh(&app);
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = wake.notified() => {}
            }
        }
    });
}

/// An OS notification. Clicking one cannot open a connection on every desktop, so while the
/// window is out of sight the notice says how to get to it, and the tray's Open goes there.
fn notify<R: Runtime>(app: &AppHandle<R>, notice: &Notice) {
    let hidden = crate::tray::window_hidden(app);
    let body = if hidden {
        format!("{}\n{}", notice.body, crate::tray::HOW_TO_GET_THERE)
    } else {
        notice.body.clone()
    };
    match app
        .notification()
        .builder()
        .title(&notice.title)
        .body(body)
        .show()
    {
        Ok(()) => {
            tracing::info!(key = %notice.key, "notified");
            if hidden {
                crate::tray::notified_about(app, &notice.connection_id);
            }
        }
        Err(err) => tracing::info!(%err, "could not show a notification"),
    }
}
