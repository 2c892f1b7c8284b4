//! `--data-dir`: the world, the registered clients and the clock survive a restart. A snapshot
//! is written atomically (temporary file, then rename) a few seconds after changes and when the
//! sandbox stops; a file that cannot be read is moved aside with a warning, never deleted.
//!
//! Beside it, a small file keeps the clock alone, so a restart can serve the clock (all the
//! app's first screen needs) at once and read the world, tens of megabytes for a busy Demo, in
//! the background.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::ApiClient;
use crate::world::Snapshot;

const FILE: &str = "sandbox.json";
const CLOCK_FILE: &str = "sandbox-clock.json";
const VERSION: u32 = 1;

/// The clock as of the last save, written after the snapshot it belongs to.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedClock {
    version: u32,
    clock_now: DateTime<Utc>,
}

/// How a start finds its data dir.
#[derive(Debug)]
pub enum Restore {
    Nothing,
    /// Read now (a snapshot from before the clock file existed).
    Now(Box<Saved>),
    /// The clock now; the snapshot to be read with [`load`] in the background.
    InBackground {
        clock_now: DateTime<Utc>,
    },
}

/// What a start in `dir` can restore, reading no more than the clock when the clock file is
/// there.
pub fn restore(dir: &Path) -> std::io::Result<Restore> {
    create_private_dir(dir)?;
    if !path(dir).exists() {
        return Ok(Restore::Nothing);
    }
    let clock = std::fs::read(dir.join(CLOCK_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<SavedClock>(&bytes).ok())
        .filter(|clock| clock.version == VERSION);
    Ok(match clock {
        Some(clock) => Restore::InBackground {
            clock_now: clock.clock_now,
        },
        None => load(dir)?.map_or(Restore::Nothing, |saved| Restore::Now(Box::new(saved))),
    })
}

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
    create_private_dir(dir)?;
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

/// The world's folder, readable by its owner alone (0700 on Unix).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

pub(crate) fn set_aside(file: &Path, why: &str) -> std::io::Result<()> {
    let aside = file.with_extension(format!("json.damaged-{}", Utc::now().timestamp()));
    std::fs::rename(file, &aside)?;
    tracing::warn!(file = %file.display(), moved_to = %aside.display(), why, "the saved sandbox could not be read; starting afresh");
    Ok(())
}

pub fn save(dir: &Path, saved: &Saved) -> std::io::Result<()> {
    // Streamed to the file: the text of a large world is tens of megabytes that need never be
    // in memory at once.
    write_atomically(&path(dir), |file| {
        serde_json::to_writer(file, saved).map_err(std::io::Error::other)
    })?;
    save_clock(dir, saved.clock_now)
}

/// Writes the clock alone (a time jump changes no world until something falls due).
pub fn save_clock(dir: &Path, clock_now: DateTime<Utc>) -> std::io::Result<()> {
    let clock = SavedClock {
        version: VERSION,
        clock_now,
    };
    write_atomically(&dir.join(CLOCK_FILE), |file| {
        serde_json::to_writer(file, &clock).map_err(std::io::Error::other)
    })
}

/// Writes `file` whole or not at all: to a temporary file, flushed to disk, then renamed.
fn write_atomically(
    file: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let temporary = file.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // The world is a person's (simulated) finances beside their real ones in the data folder:
    // readable by its owner alone, whatever the umask.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut writer = std::io::BufWriter::new(options.open(&temporary)?);
    write(&mut writer)?;
    writer
        .into_inner()
        .map_err(|err| err.into_error())?
        .sync_all()?;
    std::fs::rename(&temporary, file)
}
