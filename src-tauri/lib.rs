//! The Tauri shell: window, plugins, deep-link delivery and one-line command adapters over
//! `banklinks-core`. No domain logic, SQL or HTTP belongs here; if a command needs a decision,
//! the decision goes into the core and the command calls it.

mod bench;
mod bundles;
mod commands;
mod deep_link;
mod error;
mod events;
pub mod ipc;
mod opener;
mod poller;
mod state;
mod tray;

use tauri::Manager;
use tracing_subscriber::EnvFilter;

pub use state::AppState;

/// Keychain entries are filed under this service name unless `BANKLINKS_KEYCHAIN_SERVICE` names
/// another (tests do, so they never touch a real user's entries).
const DEFAULT_KEYCHAIN_SERVICE: &str = "app.banklinks.desktop";

pub fn run() {
    bench::mark_start();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("BANKLINKS_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let keychain_service = std::env::var("BANKLINKS_KEYCHAIN_SERVICE")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_KEYCHAIN_SERVICE.to_string());
    let specta = ipc::builder();

    let result = tauri::Builder::default()
        // Must come first: a second launch (how Linux and Windows deliver a deep link to a
        // running app) hands its arguments to this instance and exits before anything else runs.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            deep_link::second_instance(app, &argv);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .arg(tray::START_IN_BACKGROUND)
                .build(),
        )
        .manage(AppState::new(keychain_service))
        .invoke_handler(specta.invoke_handler())
        .on_window_event(tray::on_window_event)
        .setup(move |app| {
            specta.mount_events(app);
            bench::stage("window and webview created");
            // Before links are read: a cold start by callback link completes against it (the
            // completion waits for it to open).
            poller::open_workspace(app.handle());
            // A desktop without a tray (or without libayatana-appindicator) still gets the
            // window; closing it then quits, as it would in any app.
            if let Err(err) = tray::install(app.handle()) {
                tracing::warn!(%err, "no tray icon: closing the window will quit");
            }
            tray::show_main_window_unless_in_background(app.handle());
            exit_politely_on_signals(app.handle());
            deep_link::listen(app.handle())?;
            Ok(())
        })
        .build(tauri::generate_context!());

    match result {
        Ok(app) => app.run(|app, event| match event {
            tauri::RunEvent::Exit => poller::close_workspace(app),
            // macOS asks the running app to show itself when its Dock icon or Finder entry is
            // opened again; after closing to the menu bar that is the way back, besides the icon.
            #[cfg(target_os = "macos")]
            tauri::RunEvent::Reopen { .. } => deep_link::focus_main_window(app),
            _ => {}
        }),
        Err(err) => {
            tracing::error!(%err, "Banklinks could not start");
            std::process::exit(1);
        }
    }
}

/// A `SIGTERM` (logout, shutdown, `kill`) or `SIGINT` ends the app the way closing its window
/// does, so the exit handler runs and the Demo's bank server saves its world.
fn exit_politely_on_signals<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let (Ok(mut term), Ok(mut interrupt)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::warn!("could not listen for termination signals");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
            tracing::info!("asked to stop; closing");
            app.exit(0);
        });
    }
    #[cfg(not(unix))]
    let _ = app;
}

/// For commands and listeners that need the shared state.
pub(crate) fn state<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> tauri::State<'_, AppState> {
    app.state::<AppState>()
}
