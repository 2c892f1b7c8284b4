//! Opens bank pages in the system browser. End-to-end tests set `BANKLINKS_OPENED_URLS` to a
//! file: the URL is appended there instead, so the test can play the person at the bank.

use std::io::Write;

use tauri::{AppHandle, Runtime};
use tauri_plugin_opener::OpenerExt;

pub fn open_in_browser<R: Runtime>(app: &AppHandle<R>, url: &str) -> Result<(), String> {
    if let Some(path) = std::env::var_os("BANKLINKS_OPENED_URLS") {
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
