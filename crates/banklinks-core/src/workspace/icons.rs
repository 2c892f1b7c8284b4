//! Bank icons: fetched once from where the institution list points (Moneyhub's identity
//! service, or the Demo bank), kept on disk per environment and bank, and handed to the UI as
//! `data:` URLs (the CSP allows no other image source). An icon is outside input, and so is the
//! list that names it: only a small SVG (the limit holds while it streams, whatever
//! `Content-Length` says) from the environment's own servers is kept, under a file name made of
//! the bank id alone, at most so many per environment and in all, and fetched again after a
//! month; in an `<img>` an SVG cannot run script.

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
/// Moneyhub lists under 1,000 institutions: a list naming more cannot grow the folder, or the
/// start-up answer that carries every icon, without bound.
const MAX_ICONS_PER_ENVIRONMENT: usize = 2_000;
const MAX_ICONS_IN_ALL: usize = 5_000;
/// What the start-up answer carries at most (icons as files, before base64): a few hundred
/// real logos are well under it, while 2,000 icons at their limit would be 125 MiB crossing
/// IPC before the first screen. Icons past it show the bank's initial.
const MAX_ICON_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// An icon this old is fetched again (a bank's new logo), next time the list is read.
const REFETCH_AFTER: Duration = Duration::from_secs(30 * 24 * 60 * 60);
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
    /// One folder per environment: one environment's icons never stand in for another's.
    fn icons_dir(&self) -> PathBuf {
        let environment = self
            .settings()
            .map(|settings| settings.id)
            .unwrap_or_default();
        let folder = if is_plain_id(&environment) {
            environment
        } else {
            use sha2::Digest;
            hex::encode(&sha2::Sha256::digest(environment.as_bytes())[..8])
        };
        self.data_dir.join("icons").join(folder)
    }

    /// The active environment's own origins: the only places icons are fetched from.
    fn icon_origins(&self) -> Vec<url::Origin> {
        self.settings()
            .map(|settings| {
                [settings.identity_url, settings.api_url]
                    .iter()
                    .filter_map(|u| url::Url::parse(u).ok())
                    .map(|u| u.origin())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every icon on disk, by bank id, as a `data:` URL; none is fine.
    pub fn bank_icons(&self) -> Result<BTreeMap<String, String>, Error> {
        let mut icons = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(self.icons_dir()) else {
            return Ok(icons);
        };
        let mut budget = MAX_ICON_ANSWER_BYTES;
        for entry in entries.flatten().take(MAX_ICONS_PER_ENVIRONMENT) {
            // A file planted in the folder is not read whole only to be refused.
            let size = entry.metadata().map_or(u64::MAX, |m| m.len());
            if size > MAX_ICON_BYTES as u64 {
                continue;
            }
            if size as usize > budget {
                break;
            }
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
                Ok(bytes) if bytes.len() <= MAX_ICON_BYTES.min(budget) && is_svg(&bytes) => {
                    budget -= bytes.len();
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
    pub(crate) async fn fetch_missing_icons(&self, wanted: Vec<(String, String)>) {
        let dir = self.icons_dir();
        let origins = self.icon_origins();
        let room = MAX_ICONS_PER_ENVIRONMENT
            .saturating_sub(count_files(&dir, MAX_ICONS_PER_ENVIRONMENT))
            .min(MAX_ICONS_IN_ALL.saturating_sub(count_icons_in_all(&self.data_dir.join("icons"))));
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
                        && url::Url::parse(url).is_ok_and(|u| origins.contains(&u.origin()))
                        && tried.insert(bank.clone())
                        && !fresh(&dir.join(format!("{bank}.svg")))
                })
                .take(room)
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
    read_icon(response).await
}

/// The body, given up as soon as it passes the limit: a server that sends no `Content-Length`
/// (or a false one) cannot make the app hold more.
async fn read_icon(mut response: reqwest::Response) -> Option<Vec<u8>> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ICON_BYTES as u64)
    {
        return None;
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if bytes.len() + chunk.len() > MAX_ICON_BYTES {
            return None;
        }
        bytes.extend_from_slice(&chunk);
    }
    is_svg(&bytes).then_some(bytes)
}

/// Kept, and not yet due to be fetched again.
fn fresh(path: &std::path::Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().is_ok_and(|age| age < REFETCH_AFTER))
}

/// Files in `dir`, counted up to `most`.
fn count_files(dir: &std::path::Path, most: usize) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.take(most).count())
}

/// Icons kept for every environment together (one folder each), counted up to the limit.
fn count_icons_in_all(dir: &std::path::Path) -> usize {
    let Ok(folders) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for folder in folders.flatten().take(MAX_ICONS_IN_ALL) {
        total += count_files(&folder.path(), MAX_ICONS_IN_ALL);
        if total >= MAX_ICONS_IN_ALL {
            break;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::{is_svg, read_icon};

    /// A server that sends an endless body without `Content-Length`: the read stops at the
    /// limit instead of holding all of it (reading it whole never ended).
    #[tokio::test]
    async fn an_icon_without_a_length_is_given_up_at_the_limit() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/icon.svg", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/svg+xml\r\nconnection: close\r\n\r\n<svg>")
                .await;
            let filler = vec![b' '; 16 * 1024];
            // Without end, until the reader hangs up.
            while socket.write_all(&filler).await.is_ok() {}
        });
        let response = reqwest::get(&url).await.expect("answer");
        assert_eq!(response.content_length(), None, "no length announced");
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), read_icon(response))
            .await
            .expect("given up at the limit, not read to the end");
        assert_eq!(read, None);
    }

    #[test]
    fn only_svg_is_kept() {
        assert!(is_svg(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"));
        assert!(is_svg(b"<?xml version='1.0'?><svg></svg>"));
        assert!(!is_svg(b"<html><script>alert(1)</script></html>"));
        assert!(!is_svg(b"\x89PNG\r\n"));
    }
}
