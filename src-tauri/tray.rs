//! The resident app: closing the window hides it and Banklinks keeps watch from the tray (a
//! StatusNotifierItem on Linux, via libayatana-appindicator). The icon's label and the menu's
//! first row say whether anything needs the person; the menu opens the window (on the connection
//! last notified about, since desktop notifications cannot be clicked through on every
//! platform), syncs all that may sync, or quits. What the rows say comes from the core.

use std::sync::Mutex;

use banklinks_core::workspace::Attention;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime, WebviewWindow, WindowEvent};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event;

use crate::events::OpenConnectionRequested;
use crate::state::lock;

const OPEN: &str = "open";
const SYNC_ALL: &str = "sync-all";
const QUIT: &str = "quit";
const STATUS: &str = "status";

/// The tray and the rows that change, kept to update them.
struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    status: MenuItem<R>,
    sync_all: MenuItem<R>,
    /// The connection the last notification was about, given while the window was hidden:
    /// the tray's Open shows it.
    notified: Mutex<Option<String>>,
}

pub fn install<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, STATUS, "Banklinks", false, None::<&str>)?;
    let open = MenuItem::with_id(app, OPEN, "Open Banklinks", true, None::<&str>)?;
    let sync_all = MenuItem::with_id(
        app,
        SYNC_ALL,
        "Sync all that are allowed",
        false,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, QUIT, "Quit Banklinks", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &sync_all,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id("banklinks")
        .menu(&menu)
        .tooltip("Banklinks")
        .on_menu_event(on_menu_event);
    builder = with_icon(builder, app);
    let icon = builder.build(app)?;
    app.manage(Tray {
        icon,
        status,
        sync_all,
        notified: Mutex::new(None),
    });
    refresh(app);
    Ok(())
}

/// Reads the dashboard again (from the store) and updates the label and menu rows.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.try_state::<Tray<R>>() else {
        return;
    };
    let Ok(workspace) = crate::state(app).workspace() else {
        return;
    };
    let attention = workspace.attention().unwrap_or_else(|err| {
        tracing::info!(%err, "the tray could not read the dashboard");
        Attention {
            needs_you: Vec::new(),
            can_sync: 0,
        }
    });
    let summary = attention.summary();
    let results = [
        tray.status.set_text(&summary),
        tray.sync_all.set_text(attention.sync_label()),
        tray.sync_all.set_enabled(attention.can_sync > 0),
        // The label beside the icon (the menu bar title on macOS) only when something is due,
        // so a healthy tray stays quiet.
        tray.icon
            .set_title((!attention.needs_you.is_empty()).then_some(&summary)),
        tray.icon.set_tooltip(Some(format!("Banklinks: {summary}"))),
    ];
    for result in results {
        if let Err(err) = result {
            tracing::info!(%err, "could not update the tray");
        }
    }
}

/// Whether the window is out of sight (closed to the tray or minimised): notifications then
/// say how to come back to the connection.
pub fn window_hidden<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window("main").is_none_or(|window| {
        !window.is_visible().unwrap_or(false) || window.is_minimized().unwrap_or(false)
    })
}

/// Remembers the connection a notification was about, for the tray's Open.
pub fn notified_about<R: Runtime>(app: &AppHandle<R>, connection_id: &str) {
    if let Some(tray) = app.try_state::<Tray<R>>() {
        *lock(&tray.notified) = Some(connection_id.to_string());
    }
}

/// Closing the main window hides it while "keep running in the tray" is on. The first time,
/// a notification says where Banklinks went and how to quit it.
pub fn on_window_event<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    if app.try_state::<Tray<R>>().is_none() {
        return;
    }
    let Ok(workspace) = crate::state(app).workspace() else {
        return;
    };
    if !workspace.close_to_tray() {
        return;
    }
    // Whether a panel shows the tray is a bus round trip, too slow to ask in the event
    // handler: the close waits for the answer.
    api.prevent_close();
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        let app = window.app_handle();
        if !panel_shows_tray_icons().await {
            tracing::info!("no panel shows tray icons here: closing the window quits");
            app.exit(0);
            return;
        }
        if let Err(err) = window.hide() {
            tracing::warn!(%err, "could not hide the window; quitting instead");
            app.exit(0);
            return;
        }
        tracing::info!("window closed to the tray");
        if workspace.first_close_to_tray().unwrap_or(false) {
            let shown = app
                .notification()
                .builder()
                .title("Banklinks keeps watch in the tray")
                .body(
                    "It tells you when a connection needs you. Open it or quit from its icon; \
                     Settings can make closing the window quit instead.",
                )
                .show();
            if let Err(err) = shown {
                tracing::info!(%err, "could not explain the tray");
            }
        }
    });
}

/// On Linux the tray is a StatusNotifierItem, which only a panel running a
/// StatusNotifierWatcher shows (stock GNOME has none without an extension). Hiding the window
/// there would leave no way back but launching the app again, so the window closes instead.
#[cfg(target_os = "linux")]
async fn panel_shows_tray_icons() -> bool {
    const WATCHER: &str = "org.kde.StatusNotifierWatcher";
    let asked = async {
        let connection = zbus::Connection::session().await?;
        let bus = zbus::fdo::DBusProxy::new(&connection).await?;
        let name = zbus::names::BusName::try_from(WATCHER)?;
        Ok::<bool, zbus::Error>(bus.name_has_owner(name).await?)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), asked).await {
        Ok(Ok(present)) => present,
        Ok(Err(err)) => {
            tracing::info!(%err, "could not ask the session bus for a tray");
            false
        }
        Err(_) => false,
    }
}

#[cfg(not(target_os = "linux"))]
async fn panel_shows_tray_icons() -> bool {
    true
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        OPEN => open(app),
        SYNC_ALL => sync_all(app),
        QUIT => app.exit(0),
        _ => {}
    }
}

fn open<R: Runtime>(app: &AppHandle<R>) {
    crate::deep_link::focus_main_window(app);
    let notified = app
        .try_state::<Tray<R>>()
        .and_then(|tray| lock(&tray.notified).take());
    if let Some(connection_id) = notified
        && let Err(err) = (OpenConnectionRequested { connection_id }).emit(app)
    {
        tracing::info!(%err, "could not show the notified connection");
    }
}

fn sync_all<R: Runtime>(app: &AppHandle<R>) {
    let Ok(workspace) = crate::state(app).workspace() else {
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match workspace.sync_all_allowed().await {
            Ok(outcome) => {
                tracing::info!(
                    started = outcome.started.len(),
                    failed = outcome.failed.len(),
                    "synced all that were allowed from the tray"
                );
                for (connection, reason) in outcome.failed {
                    tracing::info!(%connection, %reason, "a sync from the tray was refused");
                }
            }
            Err(err) => tracing::info!(%err, "could not sync from the tray"),
        }
        refresh(&app);
    });
}

/// macOS draws a menu-bar icon given as a template image in the bar's own colour (light or dark
/// menu bar), as menu-bar icons are expected to look: the app icon's links alone
/// (`icons/tray-template.png`, drawn by `scripts/lib/tray-template.py`).
#[cfg(target_os = "macos")]
fn with_icon<R: Runtime>(builder: TrayIconBuilder<R>, _app: &AppHandle<R>) -> TrayIconBuilder<R> {
    builder
        .icon(tauri::include_image!("icons/tray-template.png"))
        .icon_as_template(true)
}

/// Elsewhere the tray shows the app icon in its colours.
#[cfg(not(target_os = "macos"))]
fn with_icon<R: Runtime>(builder: TrayIconBuilder<R>, app: &AppHandle<R>) -> TrayIconBuilder<R> {
    match app.default_window_icon() {
        Some(icon) => builder.icon(icon.clone()),
        None => builder,
    }
}

/// The main window, shown unless the app was started at login to wait in the tray.
pub fn show_main_window_unless_in_background<R: Runtime>(app: &AppHandle<R>) {
    let in_background = std::env::args().any(|arg| arg == START_IN_BACKGROUND);
    if let Some(window) = app.get_webview_window("main") {
        if in_background && app.try_state::<Tray<R>>().is_some() {
            tracing::info!("started at login: waiting in the tray");
        } else {
            show(&window);
        }
    }
}

fn show<R: Runtime>(window: &WebviewWindow<R>) {
    if let Err(err) = window.show() {
        tracing::warn!(%err, "could not show the window");
    }
}

/// Added to a notification given while the window is out of sight.
pub const HOW_TO_GET_THERE: &str = "Choose Open Banklinks on its tray icon to go to it.";

/// The argument "Start at login" launches the app with.
pub const START_IN_BACKGROUND: &str = "--in-background";
