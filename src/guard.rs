//! Safety by construction: writes to anything but a rehearsal copy need confirmation.
//!
//! `extract --out FILE` leaves a marker `FILE.preflight-rehearsal` bound to that very file (its
//! device and inode), so a real database later put at the same path is not mistaken for a copy.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::FsError;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(
        "refusing to write to {0} without confirmation: pass --yes, or run on a terminal and type YES"
    )]
    NotConfirmed(String),
    #[error("{0}: not confirmed (you did not type YES); nothing was written")]
    Declined(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    backup: String,
    dev: u64,
    ino: u64,
}

pub fn marker_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".preflight-rehearsal");
    db.with_file_name(name)
}

#[cfg(unix)]
fn identity(db: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(db).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_db: &Path) -> Option<(u64, u64)> {
    None
}

/// Record that `db` is a throw-away copy extracted from `backup`.
pub fn mark_rehearsal_copy(db: &Path, backup: &Path) -> Result<(), FsError> {
    let Some((dev, ino)) = identity(db) else {
        return Ok(());
    };
    let marker = Marker {
        backup: backup.display().to_string(),
        dev,
        ino,
    };
    let path = marker_path(db);
    let text = serde_json::to_string(&marker).expect("marker serialises");
    std::fs::write(&path, text + "\n").map_err(|e| {
        let _ = std::fs::remove_file(db);
        FsError::io(&path, e)
    })
}

/// Whether `db` is a rehearsal copy made by `extract --out` (and still the same file).
pub fn is_rehearsal_copy(db: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(marker_path(db)) else {
        return false;
    };
    let Ok(marker) = serde_json::from_str::<Marker>(&text) else {
        return false;
    };
    identity(db) == Some((marker.dev, marker.ino))
}

/// Ask before writing to `target` (already redacted): `--yes`, or YES typed on a terminal.
pub fn confirm_write(target: &str, yes: bool, action: &str) -> Result<(), GuardError> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(GuardError::NotConfirmed(target.to_string()));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "preflight will {action} on {target}.\nType YES to continue: "
    );
    let _ = err.flush();
    let mut line = String::new();
    let _ = stdin.lock().read_line(&mut line);
    if line.trim_end() == "YES" {
        Ok(())
    } else {
        Err(GuardError::Declined(target.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_bound_to_the_file_not_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("copy.db");
        std::fs::write(&db, b"x").unwrap();
        assert!(!is_rehearsal_copy(&db));
        mark_rehearsal_copy(&db, Path::new("b.db.gz")).unwrap();
        assert!(is_rehearsal_copy(&db));
        // another file put at the same path is not a rehearsal copy
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"y").unwrap();
        std::fs::rename(&other, &db).unwrap();
        assert!(!is_rehearsal_copy(&db));
    }

    #[test]
    fn without_yes_or_terminal_nothing_is_confirmed() {
        // the test harness's stdin is not a terminal
        if !std::io::stdin().is_terminal() {
            assert!(matches!(
                confirm_write("db.sqlite", false, "migrate"),
                Err(GuardError::NotConfirmed(_))
            ));
        }
        assert!(confirm_write("db.sqlite", true, "migrate").is_ok());
    }
}
