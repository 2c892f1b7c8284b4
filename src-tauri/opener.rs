//! Opens bank pages in the system browser, and shows exported files in the file manager.
//! Debug builds used by the end-to-end tests may set `BANKLINKS_OPENED_URLS` to a file: what
//! would be opened is appended there instead, so the test can play the person at the bank. A
//! release build ignores it, so nothing in the environment can divert a bank page.

use std::path::Path;

use tauri::{AppHandle, Runtime};
use tauri_plugin_opener::OpenerExt;

/// Shows a file in the system's file manager (the path is recorded as `show:<path>` under the
/// test variable).
pub fn show_in_folder<R: Runtime>(app: &AppHandle<R>, file: &Path) -> Result<(), String> {
    if let Some(recorded) = record_for_tests(&format!("show:{}", file.display())) {
        return recorded;
    }
    app.opener()
        .reveal_item_in_dir(file)
        .map_err(|err| format!("could not open the file manager: {err}"))
}

pub fn open_in_browser<R: Runtime>(app: &AppHandle<R>, url: &str) -> Result<(), String> {
    // The URL comes from a discovery document, so a hostile server could name any scheme.
    if !banklinks_core::environment::is_safe_url(url) {
        return Err("the bank page's address is not an https URL, so it was not opened".into());
    }
    if let Some(recorded) = record_for_tests(url) {
        return recorded;
    }
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|err| format!("could not open the browser: {err}"))
}

/// In a debug build with `BANKLINKS_OPENED_URLS` set, appends `line` to that file instead of
/// opening anything; `None` means open for real.
fn record_for_tests(line: &str) -> Option<Result<(), String>> {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("BANKLINKS_OPENED_URLS") {
        use std::io::Write;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "{line}"));
        return Some(written.map_err(|err| err.to_string()));
    }
    #[cfg(not(debug_assertions))]
    let _ = line;
    None
}
