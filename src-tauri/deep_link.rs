//! Delivery of `banklinks://` links from the operating system to the UI.
//!
//! A link reaches us three ways: as the argument of a cold start (`get_current`), from a second
//! launch that the single-instance plugin forwards over D-Bus / a named pipe (`on_open_url`), or
//! from macOS's open-URL event (also `on_open_url`). Every one goes through
//! `banklinks_core::deep_link` first; the UI only ever gets the typed, redacted result.

use banklinks_core::deep_link::SCHEME;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;
use tauri_specta::Event;

use banklinks_core::deep_link::DeepLink;

use crate::error::IpcError;
use crate::events::{
    AuthorizationFailed, AuthorizationFinished, DeepLinkReceived, DeepLinkRejected,
    OpenConnectionRequested,
};
use crate::state::lock;

pub fn listen<R: Runtime>(app: &AppHandle<R>) -> Result<(), Box<dyn std::error::Error>> {
    register_scheme(app);

    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            deliver(&handle, url.as_str());
        }
    });

    // A cold start by link: the plugin read it from argv before any listener existed.
    if let Some(urls) = app.deep_link().get_current()? {
        for url in urls {
            deliver(app, url.as_str());
        }
    }
    Ok(())
}

/// Installed packages register the scheme in their `.desktop` file or registry entries; a dev
/// build or an AppImage has nothing installed, so it registers itself at runtime.
fn register_scheme<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(any(target_os = "linux", windows))]
    {
        if (cfg!(debug_assertions) || runs_as_appimage(app))
            && let Err(err) = app.deep_link().register_all()
        {
            tracing::warn!(%err, "could not register the {SCHEME}:// scheme with the desktop");
        }
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    let _ = app;
}

/// `Env::appimage` exists only on Linux, so the question is asked only there (a `cfg!()` would
/// leave the field access in the Windows build, which then fails to compile).
#[cfg(target_os = "linux")]
fn runs_as_appimage<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.env().appimage.is_some()
}

#[cfg(windows)]
fn runs_as_appimage<R: Runtime>(_app: &AppHandle<R>) -> bool {
    false
}

/// Called with a second instance's arguments. The deep-link plugin has already delivered any
/// argument that parses as a `banklinks:` URL; one that looks like our link but is not a URL
/// would otherwise vanish without a trace, so it is recorded as rejected here.
/// A launch with no link (the person opened Banklinks again) brings the window forward; a
/// link decides for itself in [`deliver`].
pub fn second_instance<R: Runtime>(app: &AppHandle<R>, argv: &[String]) {
    if let [_, only] = argv {
        let looks_like_ours = only
            .get(..SCHEME.len() + 1)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(&format!("{SCHEME}:")));
        if looks_like_ours {
            if url::Url::parse(only).is_err() {
                deliver(app, only);
            }
            return;
        }
    }
    focus_main_window(app);
}

fn deliver<R: Runtime>(app: &AppHandle<R>, raw: &str) {
    let state = crate::state(app);
    let (outcome, sequence) = {
        let mut links = lock(&state.links);
        let outcome = links.record(raw);
        (outcome, links.received.saturating_add(links.rejected))
    };
    // Only a link Banklinks acts on brings the window out (of the tray, too): any program or web
    // page can send `banklinks:` links, and one turned away must not pop the window at will.
    let accepted = outcome.is_ok();
    let emitted = match outcome {
        Ok(link) => {
            tracing::info!(link = %link.redacted(), "deep link received");
            act_on(app, &link);
            DeepLinkReceived {
                summary: link.summary(),
                sequence,
            }
            .emit(app)
        }
        Err(reason) => {
            tracing::warn!(%reason, "deep link rejected");
            DeepLinkRejected {
                reason: reason.to_string(),
                sequence,
            }
            .emit(app)
        }
    };
    if let Err(err) = emitted {
        tracing::warn!(%err, "could not tell the UI about a deep link");
    }
    if accepted {
        focus_main_window(app);
    }
}

/// A bank callback completes its authorization (in the background: it exchanges the code and
/// fetches the first data); a connection link asks the UI to show that connection.
fn act_on<R: Runtime>(app: &AppHandle<R>, link: &DeepLink) {
    match link {
        DeepLink::AuthCallback(callback) => {
            let app = app.clone();
            let callback = callback.clone();
            tauri::async_runtime::spawn(async move {
                let result = match crate::state(&app).ready().await {
                    Ok(workspace) => workspace.complete(&callback).await.map_err(IpcError::from),
                    Err(err) => Err(err),
                };
                let emitted = match result {
                    Ok(done) => AuthorizationFinished {
                        connection_id: done.connection_id,
                        previous_connection_id: done.previous_connection_id,
                        purpose: done.purpose,
                        changes: done.changes,
                        outcome: done.outcome,
                    }
                    .emit(&app),
                    Err(error) => {
                        tracing::warn!(code = ?error.code, "an authorization could not be completed");
                        AuthorizationFailed { error }.emit(&app)
                    }
                };
                if let Err(err) = emitted {
                    tracing::warn!(%err, "could not tell the UI how an authorization ended");
                }
            });
        }
        DeepLink::OpenConnection { connection_id } => {
            let _ = OpenConnectionRequested {
                connection_id: connection_id.clone(),
            }
            .emit(app);
        }
    }
}

pub fn focus_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        // Only undo what is actually in the way: re-showing a visible window makes some window
        // managers (and Xvfb with none) drop the webview's painted surface.
        if window.is_minimized().unwrap_or(false) {
            let _ = window.unminimize();
        }
        if !window.is_visible().unwrap_or(true) {
            let _ = window.show();
        }
        let _ = window.set_focus();
    }
}
