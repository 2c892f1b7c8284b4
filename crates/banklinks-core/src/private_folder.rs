//! What Banklinks keeps on disk (balances, every transaction, the journal, the Demo world, its
//! exports and log) belongs to its person alone. On a shared Unix machine the data folder is
//! 0700 and each file in it 0600 whatever the umask, and a folder made before this rule (or
//! loosened since) is tightened when it is opened. Windows' local application-data folder and
//! macOS' `~/Library` are already private to their user, so there the folder is only created.

use std::fs::File;
use std::io;
use std::path::Path;

/// Entries looked at when tightening an existing folder, and how deep: a planted tree cannot
/// make opening slow.
#[cfg(unix)]
const MOST_ENTRIES: usize = 10_000;
#[cfg(unix)]
const DEEPEST: usize = 3;

/// Creates `dir` (and its parents) private to this user, or tightens what Banklinks keeps in it
/// (and the folder itself when it holds nothing else): `BANKLINKS_DATA_DIR` may name a folder
/// the person uses for other things too, whose other files are theirs to share.
pub fn make_private(dir: &Path) -> io::Result<()> {
    let existed = dir.exists();
    create_private_dir(dir)?;
    tighten_tree(dir, existed)
}

/// What Banklinks keeps in its data folder: the store (with its `-wal`, `-shm` and moved-aside
/// copies), the Demo world, bank icons and, when the folder is named by hand, the log.
#[cfg(unix)]
fn is_banklinks_own(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("banklinks") || matches!(name.as_ref(), "demo-sandbox" | "icons" | "logs")
}

/// Creates `dir` (and any missing parent) readable by this user alone.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates (or empties) `path` for writing, readable by this user alone from its first byte.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // An existing file keeps its mode through `open`: tighten it too.
    #[cfg(unix)]
    tighten(path, &file.metadata()?)?;
    Ok(file)
}

#[cfg(unix)]
fn tighten_tree(dir: &Path, existed: bool) -> io::Result<()> {
    let mut budget = MOST_ENTRIES;
    // A folder made just now holds nothing to list.
    let only_ours = || -> io::Result<bool> {
        Ok(std::fs::read_dir(dir)?
            .flatten()
            .take(MOST_ENTRIES)
            .all(|entry| is_banklinks_own(&entry.file_name())))
    };
    // The folder itself may be a link the person made (to another disk): its target is
    // tightened; links inside it are left alone, so nothing outside the folder is touched.
    if !existed || only_ours()? {
        tighten(dir, &std::fs::metadata(dir)?)?;
    }
    tighten_inside(dir, DEEPEST, &mut budget, true);
    Ok(())
}

#[cfg(not(unix))]
fn tighten_tree(_dir: &Path, _existed: bool) -> io::Result<()> {
    Ok(())
}

/// Tightens the entries of `dir`: at the top only Banklinks' own, below them everything.
#[cfg(unix)]
fn tighten_inside(dir: &Path, depth: usize, budget: &mut usize, top: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        if top && !is_banklinks_own(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        // A file another user owns cannot be changed; it is reported, not fatal.
        if let Err(err) = tighten(&path, &meta) {
            tracing::warn!(path = %path.display(), %err, "could not make this file private");
        }
        if meta.is_dir() && depth > 0 {
            tighten_inside(&path, depth - 1, budget, false);
        }
    }
}

/// Takes every permission away from the group and others, keeping the owner's.
#[cfg(unix)]
fn tighten(path: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn an_open_folder_and_what_it_holds_become_private() {
        let outside = tempfile::tempdir().expect("dir");
        let dir = outside.path().join("data");
        std::fs::create_dir_all(dir.join("demo-sandbox")).expect("dirs");
        std::fs::write(dir.join("banklinks.sqlite"), b"").expect("file");
        std::fs::write(dir.join("demo-sandbox/sandbox.json"), b"{}").expect("file");
        let elsewhere = outside.path().join("not-ours.txt");
        std::fs::write(&elsewhere, b"").expect("file");
        std::os::unix::fs::symlink(&elsewhere, dir.join("banklinks-link")).expect("link");
        for path in [&dir, &dir.join("demo-sandbox")] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        for path in [
            &dir.join("banklinks.sqlite"),
            &dir.join("demo-sandbox/sandbox.json"),
            &elsewhere,
        ] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }

        make_private(&dir).expect("private");

        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("demo-sandbox")), 0o700);
        assert_eq!(mode(&dir.join("banklinks.sqlite")), 0o600);
        assert_eq!(mode(&dir.join("demo-sandbox/sandbox.json")), 0o600);
        assert_eq!(mode(&elsewhere), 0o644, "a link is not followed out");
    }

    #[test]
    fn a_folder_that_is_not_banklinks_own_is_left_as_it_is() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let theirs = dir.path().join("shared.txt");
        std::fs::write(&theirs, b"").expect("file");
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let ours = dir.path().join("banklinks.sqlite");
        std::fs::write(&ours, b"").expect("file");
        std::fs::set_permissions(&ours, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        make_private(dir.path()).expect("private");
        assert_eq!(mode(dir.path()), 0o755, "a folder shared with other files");
        assert_eq!(mode(&theirs), 0o644, "not ours to change");
        assert_eq!(mode(&ours), 0o600, "ours, tightened");
    }

    #[test]
    fn a_new_folder_and_file_are_private_from_the_start() {
        let outside = tempfile::tempdir().expect("dir");
        let dir = outside.path().join("a/b");
        create_private_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("icon.svg");
        std::fs::write(&file, b"old").expect("file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        drop(create_private_file(&file).expect("file"));
        assert_eq!(mode(&file), 0o600);
        drop(create_private_file(&dir.join("new.svg")).expect("file"));
        assert_eq!(mode(&dir.join("new.svg")), 0o600);
    }
}
