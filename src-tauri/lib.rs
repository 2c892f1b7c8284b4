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
mod log_file;
mod opener;
mod poller;
mod state;
mod tray;

use tauri::Manager;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use state::AppState;

/// Keychain entries are filed under this service name, unless a build with test hooks (debug,
/// or `bench-hooks`) is told another by `BANKLINKS_KEYCHAIN_SERVICE`: tests and benchmarks never
/// touch a real user's entries, and a release build's entries are never renamed from outside.
const DEFAULT_KEYCHAIN_SERVICE: &str = "app.banklinks.desktop";

#[cfg(any(debug_assertions, feature = "bench-hooks"))]
fn keychain_service() -> String {
    std::env::var("BANKLINKS_KEYCHAIN_SERVICE")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_KEYCHAIN_SERVICE.to_string())
}

#[cfg(not(any(debug_assertions, feature = "bench-hooks")))]
fn keychain_service() -> String {
    DEFAULT_KEYCHAIN_SERVICE.to_string()
}

pub fn run() {
    bench::mark_start();
    let context = tauri::generate_context!();
    init_logging(&context.config().identifier);

    let keychain_service = keychain_service();
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
        .build(context);

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

/// Logs to stderr and to a rotating file in the platform's log folder (`<data dir>/logs` when
/// `BANKLINKS_DATA_DIR` names the data folder, as tests do).
fn init_logging(identifier: &str) {
    let filter =
        EnvFilter::try_from_env("BANKLINKS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let folder = std::env::var_os("BANKLINKS_DATA_DIR")
        .map(|data| std::path::PathBuf::from(data).join("logs"))
        .or_else(|| log_file::folder(identifier));
    let (file, failed) =
        match folder.map(|dir| log_file::RotatingLog::open(&dir, log_file::ROTATE_AT)) {
            Some(Ok(log)) => (Some(log), None),
            Some(Err(err)) => (None, Some(err)),
            None => (None, None),
        };
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(file.map(|log| {
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(log))
        }))
        .init();
    if let Some(err) = failed {
        tracing::warn!(%err, "no log file: logging to stderr only");
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
