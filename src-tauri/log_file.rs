//! The log goes to stderr and to a file in the platform's log folder: a GUI app on Windows has
//! no stderr, and one started from the Dock, the Start menu or at login has none anyone reads.
//! The file never grows without bound: past [`ROTATE_AT`] bytes it becomes `banklinks.log.1`
//! (replacing the one before) and a new one starts. It holds what stderr gets: links are logged
//! only redacted and secrets never, and on Unix only its owner may read it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A log file this long is moved aside at the next line.
pub const ROTATE_AT: u64 = 2 * 1024 * 1024;

const FILE_NAME: &str = "banklinks.log";

pub struct RotatingLog {
    path: PathBuf,
    file: File,
    written: u64,
    rotate_at: u64,
    /// The last write ended a line: a rotation never splits one.
    at_line_start: bool,
}

impl RotatingLog {
    pub fn open(folder: &Path, rotate_at: u64) -> io::Result<Self> {
        banklinks_core::private_folder::create_private_dir(folder)?;
        let path = folder.join(FILE_NAME);
        let file = open_for_append(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            file,
            written,
            rotate_at,
            at_line_start: true,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        std::fs::rename(&self.path, self.path.with_extension("log.1"))?;
        self.file = open_for_append(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

fn open_for_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

impl Write for RotatingLog {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        // A rotation that fails (the folder went read-only) keeps the log going in the old file.
        if self.at_line_start && self.written >= self.rotate_at && self.rotate().is_err() {
            self.written = 0;
        }
        let written = self.file.write(line)?;
        self.written += written as u64;
        if written > 0 {
            self.at_line_start = line[written - 1] == b'\n';
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The platform's log folder for the app, as Tauri's `app_log_dir` names it, known before the
/// app is built (so the start-up is logged too).
#[cfg(target_os = "macos")]
pub fn folder(identifier: &str) -> Option<PathBuf> {
    dirs::home_dir().map(|home| home.join("Library/Logs").join(identifier))
}

/// The platform's log folder for the app, as Tauri's `app_log_dir` names it, known before the
/// app is built (so the start-up is logged too).
#[cfg(not(target_os = "macos"))]
pub fn folder(identifier: &str) -> Option<PathBuf> {
    dirs::data_local_dir().map(|data| data.join(identifier).join("logs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_moved_aside_once_long_and_only_one_old_file_is_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = RotatingLog::open(dir.path(), 100).expect("open");
        for round in 0..5 {
            writeln!(log, "{round}: {}", "x".repeat(60)).expect("write");
        }
        log.flush().expect("flush");
        let current = std::fs::metadata(dir.path().join("banklinks.log")).expect("current");
        let old = std::fs::read_to_string(dir.path().join("banklinks.log.1")).expect("old");
        assert!(current.len() <= 100, "{}", current.len());
        assert!(old.contains("3: "), "{old}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(current.permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_reopened_log_counts_what_it_already_holds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut first = RotatingLog::open(dir.path(), 100).expect("open");
        writeln!(first, "{}", "y".repeat(120)).expect("write");
        drop(first);
        let mut again = RotatingLog::open(dir.path(), 100).expect("reopen");
        writeln!(again, "after a restart").expect("write");
        let current = std::fs::read_to_string(dir.path().join("banklinks.log")).expect("read");
        assert_eq!(current, "after a restart\n");
    }
}
