//! Exports written to files: the journal, or one account's transactions, named so two never
//! collide and an id from the webview cannot steer the path.

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::Workspace;
use crate::error::Error;
use crate::flows::ExportFormat;
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
        let path = dir.join(format!("banklinks-{name}-{stamp}.{extension}"));
        std::fs::write(&path, text).map_err(StoreError::Io)?;
        Ok(path)
    }
}
