//! `--data-dir`: the world, the registered clients and the clock survive a restart. A snapshot
//! is written atomically (temporary file, then rename) a few seconds after changes and when the
//! sandbox stops; a file that cannot be read is moved aside with a warning, never deleted.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::ApiClient;
use crate::world::Snapshot;

const FILE: &str = "sandbox.json";
const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub version: u32,
    pub clock_now: DateTime<Utc>,
    pub clients: Vec<ApiClient>,
    pub world: Snapshot,
}

impl Saved {
    pub fn new(clock_now: DateTime<Utc>, clients: Vec<ApiClient>, world: Snapshot) -> Self {
        Self {
            version: VERSION,
            clock_now,
            clients,
            world,
        }
    }
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Reads the snapshot in `dir`, if any. A damaged one is renamed `sandbox.json.damaged-<time>`.
pub fn load(dir: &Path) -> std::io::Result<Option<Saved>> {
    std::fs::create_dir_all(dir)?;
    let file = path(dir);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    match serde_json::from_slice::<Saved>(&bytes) {
        Ok(saved) if saved.version == VERSION => Ok(Some(saved)),
        Ok(saved) => {
            set_aside(
                &file,
                &format!(
                    "it is version {}, this sandbox reads {VERSION}",
                    saved.version
                ),
            )?;
            Ok(None)
        }
        Err(err) => {
            set_aside(&file, &err.to_string())?;
            Ok(None)
        }
    }
}

fn set_aside(file: &Path, why: &str) -> std::io::Result<()> {
    let aside = file.with_extension(format!("json.damaged-{}", Utc::now().timestamp()));
    std::fs::rename(file, &aside)?;
    tracing::warn!(file = %file.display(), moved_to = %aside.display(), why, "the saved sandbox could not be read; starting afresh");
    Ok(())
}

pub fn save(dir: &Path, saved: &Saved) -> std::io::Result<()> {
    let file = path(dir);
    let temporary = file.with_extension("json.tmp");
    let bytes = serde_json::to_vec(saved).map_err(std::io::Error::other)?;
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, &file)
}
