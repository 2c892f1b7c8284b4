//! Bank icons: fetched once from where the institution list points (Moneyhub's identity
//! service, or the Demo bank), kept on disk per bank, and handed to the UI as `data:` URLs (the
//! CSP allows no other image source). An icon is outside input: only a small SVG from a safe
//! address is kept, under a file name made of the bank id alone; in an `<img>` an SVG cannot
//! run script.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;

use super::Workspace;
use super::actions::is_plain_id;
use crate::environment::is_safe_url;
use crate::error::Error;
use crate::locks::lock;

const MAX_ICON_BYTES: usize = 64 * 1024;
/// How long the bank chooser waits for missing icons; those not fetched come in the next run.
const FETCH_TIME_LIMIT: Duration = Duration::from_secs(4);
const AT_ONCE: usize = 6;

fn is_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let start = text.trim_start();
    (start.starts_with("<svg") || start.starts_with("<?xml")) && text.contains("<svg")
}

impl Workspace {
    fn icons_dir(&self) -> PathBuf {
        self.data_dir.join("icons")
    }

    /// Every icon on disk, by bank id, as a `data:` URL; none is fine.
    pub fn bank_icons(&self) -> Result<BTreeMap<String, String>, Error> {
        let mut icons = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(self.icons_dir()) else {
            return Ok(icons);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(bank) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".svg"))
                .filter(|bank| is_plain_id(bank))
                .map(str::to_string)
            else {
                continue;
            };
            match std::fs::read(&path) {
                Ok(bytes) if bytes.len() <= MAX_ICON_BYTES && is_svg(&bytes) => {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                    icons.insert(bank, format!("data:image/svg+xml;base64,{encoded}"));
                }
                _ => {}
            }
        }
        Ok(icons)
    }

    /// Fetches the icons not on disk yet (`(bank id, icon URL)`), a few at a time, within a
    /// time limit; a failure only means that bank keeps its initial for now.
    pub(super) async fn fetch_missing_icons(&self, wanted: Vec<(String, String)>) {
        let dir = self.icons_dir();
        // A bank that had no icon (Moneyhub answers 404) is not asked again this run, so the
        // chooser does not wait for it each time it opens.
        let missing: Vec<(String, String)> = {
            let mut tried = lock(&self.icons_tried);
            wanted
                .into_iter()
                .filter(|(bank, url)| {
                    // Asked once per run: after the first time, not even the disk is looked at.
                    is_plain_id(bank)
                        && is_safe_url(url)
                        && tried.insert(bank.clone())
                        && !dir.join(format!("{bank}.svg")).exists()
                })
                .collect()
        };
        if missing.is_empty() || crate::private_folder::create_private_dir(&dir).is_err() {
            return;
        }
        let fetch_all = async {
            for batch in missing.chunks(AT_ONCE) {
                let mut running = tokio::task::JoinSet::new();
                for (bank, url) in batch.iter().cloned() {
                    let http = self.http.clone();
                    running.spawn(async move { (bank, fetch_icon(&http, &url).await) });
                }
                while let Some(Ok((bank, icon))) = running.join_next().await {
                    if let Some(bytes) = icon {
                        let path = dir.join(format!("{bank}.svg"));
                        let partial = dir.join(format!("{bank}.svg.partial"));
                        let written = crate::private_folder::create_private_file(&partial)
                            .and_then(|mut file| std::io::Write::write_all(&mut file, &bytes));
                        if written.is_ok() {
                            let _ = std::fs::rename(&partial, &path);
                        }
                    }
                }
            }
        };
        if tokio::time::timeout(FETCH_TIME_LIMIT, fetch_all)
            .await
            .is_err()
        {
            tracing::info!("some bank icons were not fetched in time; they are tried next time");
        }
    }
}

async fn fetch_icon(http: &reqwest::Client, url: &str) -> Option<Vec<u8>> {
    let response = http
        .get(url)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?;
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ICON_BYTES as u64)
    {
        return None;
    }
    let bytes = response.bytes().await.ok()?;
    (bytes.len() <= MAX_ICON_BYTES && is_svg(&bytes)).then(|| bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::is_svg;

    #[test]
    fn only_svg_is_kept() {
        assert!(is_svg(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"));
        assert!(is_svg(b"<?xml version='1.0'?><svg></svg>"));
        assert!(!is_svg(b"<html><script>alert(1)</script></html>"));
        assert!(!is_svg(b"\x89PNG\r\n"));
    }
}
