//! Exports written to files: the journal, or one account's transactions, named so two never
//! collide and an id from the webview cannot steer the path.

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::Workspace;
use crate::error::Error;
use crate::flows::ExportFormat;
use crate::locks::lock;
use crate::store::StoreError;

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Export {
    Journal,
    Transactions { account_id: String },
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

impl Workspace {
    /// Writes an export into `dir` and returns its path.
    pub fn export(&self, what: Export, format: ExportFormat, dir: &Path) -> Result<PathBuf, Error> {
        let flows = self.flows()?;
        let (name, text) = match &what {
            Export::Journal => ("journal".to_string(), flows.export_journal(format)?),
            Export::Transactions { account_id } => (
                format!("transactions-{}", sanitize(account_id)),
                flows.export_transactions(account_id, format)?,
            ),
        };
        let stamp = Utc::now().format("%Y%m%d-%H%M%S");
        let extension = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        };
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        // Two exports in one second get their own files.
        for attempt in 1..=100 {
            let suffix = if attempt == 1 {
                String::new()
            } else {
                format!("-{attempt}")
            };
            let path = dir.join(format!("banklinks-{name}-{stamp}{suffix}.{extension}"));
            match write_private(&path, text.as_bytes()) {
                Ok(()) => {
                    lock(&self.exports).insert(path.clone());
                    return Ok(path);
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(StoreError::Io(err).into()),
            }
        }
        Err(StoreError::Io(std::io::Error::other("too many exports this second")).into())
    }

    /// A file this run exported, to show in its folder; any other path from the webview is
    /// refused, so it cannot have the file manager open whatever it names.
    pub fn exported_file(&self, path: &str) -> Result<PathBuf, Error> {
        let path = PathBuf::from(path);
        if lock(&self.exports).contains(&path) && path.is_file() {
            Ok(path)
        } else {
            Err(Error::NotAllowed(
                "that is not a file Banklinks exported".into(),
            ))
        }
    }
}

/// Writes a new file only its owner can read (0600 on Unix): an export holds a person's
/// transactions, and the Downloads folder is often readable by others. A file already there is
/// never followed or overwritten.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
