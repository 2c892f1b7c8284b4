//! Opens bank pages in the system browser. Debug builds used by the end-to-end tests may set
//! `BANKLINKS_OPENED_URLS` to a file: the URL is appended there instead, so the test can play
//! the person at the bank. A release build ignores it, so nothing in the environment can
//! divert a bank page.

use tauri::{AppHandle, Runtime};
use tauri_plugin_opener::OpenerExt;

pub fn open_in_browser<R: Runtime>(app: &AppHandle<R>, url: &str) -> Result<(), String> {
    // The URL comes from a discovery document, so a hostile server could name any scheme.
    if !banklinks_core::environment::is_safe_url(url) {
        return Err("the bank page's address is not an https URL, so it was not opened".into());
    }
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("BANKLINKS_OPENED_URLS") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|err| err.to_string())?;
        return writeln!(file, "{url}").map_err(|err| err.to_string());
    }
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|err| format!("could not open the browser: {err}"))
}
