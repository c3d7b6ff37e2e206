//! Safety by construction: writes to anything but a rehearsal copy need confirmation, and no
//! output replaces an input, a database or a backup.
//!
//! `extract --out FILE` leaves a marker `FILE.preflight-rehearsal` bound to that very file: its
//! device, inode and size, and its content (a sha256, checked whenever the file's times say it
//! may have changed). A real database later put at the same path, even over the same inode
//! (`cp prod.db FILE`), is not mistaken for a copy: anything but the content preflight itself
//! left there asks for confirmation. After preflight writes to a copy, the marker is renewed.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError};

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(
        "refusing to write to {0} without confirmation: pass --yes, or run on a terminal and type YES"
    )]
    NotConfirmed(String),
    #[error("{0}: not confirmed (you did not type YES); nothing was written")]
    Declined(String),
    #[error("{}: {flag} would write over {what}; choose another file name", path.display())]
    ReportOverInput {
        path: PathBuf,
        flag: String,
        what: String,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker {
    backup: String,
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    sha256: String,
}

pub fn marker_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".preflight-rehearsal");
    db.with_file_name(name)
}

/// Device, inode, size, modification and status-change times (the last cannot be set by hand:
/// any write to the file moves it).
#[cfg(unix)]
fn stat(db: &Path) -> Option<(u64, u64, u64, i128, i128)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(db).ok().map(|m| {
        (
            m.dev(),
            m.ino(),
            m.size(),
            i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        )
    })
}

#[cfg(not(unix))]
fn stat(_db: &Path) -> Option<(u64, u64, u64, i128, i128)> {
    None
}

fn marker_for(db: &Path, backup: &str) -> Result<Option<Marker>, FsError> {
    let Some((dev, ino, size, mtime_ns, ctime_ns)) = stat(db) else {
        return Ok(None);
    };
    Ok(Some(Marker {
        backup: backup.to_string(),
        dev,
        ino,
        size,
        mtime_ns,
        ctime_ns,
        sha256: crate::backup::sha256_file(db)?,
    }))
}

/// Write the marker of `db` (its temporary name, before it is renamed into place) at
/// `marker_path(out)`, replacing a stale one.
fn write_marker(out: &Path, marker: &Marker) -> Result<(), FsError> {
    let path = marker_path(out);
    let mut tmp = fsutil::temp_file_in(&fsutil::parent_dir(out), "marker", ".json")?;
    let text = serde_json::to_string(marker).expect("marker serialises");
    writeln!(tmp, "{text}").map_err(|e| FsError::io(&path, e))?;
    fsutil::persist_over(tmp, &path)
}

/// Put an extracted copy in place at `out` and mark it as a rehearsal copy of `backup`. The
/// marker goes first: a run stopped between the two leaves a marker naming no file, which is
/// harmless and replaced by the next run, never a copy without its marker.
pub fn persist_rehearsal_copy(
    tmp: tempfile::NamedTempFile,
    out: &Path,
    backup: &Path,
) -> Result<u64, FsError> {
    tmp.as_file().sync_all().map_err(|e| FsError::io(out, e))?;
    if let Some(m) = marker_for(tmp.path(), &backup.display().to_string())? {
        write_marker(out, &m)?;
    }
    fsutil::persist_new(tmp, out).inspect_err(|_| {
        // the marker would name no file (or one that is not this copy)
        let _ = std::fs::remove_file(marker_path(out));
    })
}

/// Record that `db` is a throw-away copy extracted from `backup`.
pub fn mark_rehearsal_copy(db: &Path, backup: &Path) -> Result<(), FsError> {
    if let Some(m) = marker_for(db, &backup.display().to_string())? {
        write_marker(db, &m)?;
    }
    Ok(())
}

fn read_marker(db: &Path) -> Option<Marker> {
    let text = std::fs::read_to_string(marker_path(db)).ok()?;
    serde_json::from_str::<Marker>(&text).ok()
}

/// Whether `db` is a rehearsal copy made by `extract --out`, holding exactly what preflight
/// left in it: the same file (device, inode, size) and the same content.
pub fn is_rehearsal_copy(db: &Path) -> bool {
    let Some(marker) = read_marker(db) else {
        return false;
    };
    let Some((dev, ino, size, mtime_ns, ctime_ns)) = stat(db) else {
        return false;
    };
    if (dev, ino, size) != (marker.dev, marker.ino, marker.size) {
        return false;
    }
    // a write-ahead log holds content the file does not show
    let [_, wal, _] = crate::interrupt::side_files(db);
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return false;
    }
    if (mtime_ns, ctime_ns) == (marker.mtime_ns, marker.ctime_ns) {
        return true;
    }
    crate::backup::sha256_file(db).is_ok_and(|h| h == marker.sha256)
}

/// After preflight wrote to the rehearsal copy `db`: bind its marker to the new content.
pub fn renew_mark(db: &Path) {
    if let Some(old) = read_marker(db)
        && let Ok(Some(m)) = marker_for(db, &old.backup)
    {
        let _ = write_marker(db, &m);
    }
}

/// Renews the marker of a rehearsal copy when dropped (after the command's handles on it are
/// closed, whatever way the command ended).
pub struct RenewOnDrop(pub Option<PathBuf>);

impl Drop for RenewOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            renew_mark(&p);
        }
    }
}

/// The first bytes of a file, when it is one.
fn head(path: &Path) -> Option<Vec<u8>> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 16];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    buf.truncate(n);
    Some(buf)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (stat(a), stat(b)) {
        (Some(x), Some(y)) => (x.0, x.1) == (y.0, y.1),
        _ => false,
    }
}

/// Refuse a `--report` path that would replace an input of the command (the database, a
/// backup, a spec or script), a SQLite database or a gzip file, or that is a directory.
pub fn check_report_path(report: &Path, inputs: &[&Path]) -> Result<(), GuardError> {
    check_output_path(report, inputs, "--report")
}

/// The same for any file a command writes or appends to (`--log-file` too): never an input, a
/// database or a gzip file.
pub fn check_output_path(report: &Path, inputs: &[&Path], flag: &str) -> Result<(), GuardError> {
    fsutil::not_a_dir(report)?;
    let refuse = |what: &str| GuardError::ReportOverInput {
        path: report.to_path_buf(),
        flag: flag.to_string(),
        what: what.to_string(),
    };
    if let Some(input) = inputs.iter().find(|i| same_file(report, i)) {
        return Err(refuse(&format!(
            "{}, an input of this command",
            input.display()
        )));
    }
    if fsutil::is_gz(report) {
        return Err(refuse("a gzip file name (backups are .db.gz)"));
    }
    // a database's rollback journal or WAL files are part of it: writing one corrupts it
    let name = report.to_string_lossy();
    for side in ["-journal", "-wal", "-shm"] {
        if let Some(main) = name.strip_suffix(side) {
            let main = Path::new(main);
            let of_input = inputs.iter().any(|i| same_file(main, i));
            if of_input || head(main).is_some_and(|h| h.starts_with(b"SQLite format 3\0")) {
                return Err(refuse(&format!(
                    "the {side} file of the SQLite database {}",
                    main.display()
                )));
            }
        }
    }
    if let Some(h) = head(report) {
        if h.starts_with(b"SQLite format 3\0") {
            return Err(refuse("a SQLite database"));
        }
        if h.starts_with(&[0x1f, 0x8b]) {
            return Err(refuse("a gzip file"));
        }
    }
    Ok(())
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
    let line = crate::interrupt::at_prompt(|| {
        {
            // released before the wait: a signal there prints its line on stderr and exits
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "preflight will {action} on {target}.\nType YES to continue: "
            );
            let _ = err.flush();
        }
        let mut line = String::new();
        let _ = stdin.lock().read_line(&mut line);
        line
    });
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
    fn marker_is_bound_to_the_content_not_only_the_inode() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("copy.db");
        std::fs::write(&db, b"rehearsal content").unwrap();
        mark_rehearsal_copy(&db, Path::new("b.db.gz")).unwrap();
        assert!(is_rehearsal_copy(&db));
        // the same bytes written again (times move, content does not): still the copy
        std::fs::write(&db, b"rehearsal content").unwrap();
        assert!(is_rehearsal_copy(&db));
        // other bytes of the same size over the same inode (cp prod.db copy.db): not the copy
        std::fs::write(&db, b"PRODUCTION DATA!!").unwrap();
        assert!(!is_rehearsal_copy(&db));
        // until preflight itself renews the mark after writing to it
        renew_mark(&db);
        assert!(is_rehearsal_copy(&db));
    }

    #[test]
    fn a_report_never_replaces_an_input_a_database_or_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let spec = dir.path().join("spec.toml");
        let gz = dir.path().join("b.bin");
        let old = dir.path().join("old-report.md");
        std::fs::write(&db, b"SQLite format 3\0rest").unwrap();
        std::fs::write(&spec, b"name = 'x'").unwrap();
        std::fs::write(&gz, [0x1f, 0x8b, 8, 0]).unwrap();
        std::fs::write(&old, b"# report").unwrap();
        for (path, what) in [(&db, "an input"), (&spec, "an input"), (&gz, "a gzip file")] {
            let e = check_report_path(path, &[&db, &spec])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(what) && e.contains("choose another file name"),
                "{e}"
            );
        }
        let other_db = dir.path().join("other.sqlite");
        std::fs::write(&other_db, b"SQLite format 3\0rest").unwrap();
        assert!(
            check_report_path(&other_db, &[])
                .unwrap_err()
                .to_string()
                .contains("a SQLite database")
        );
        assert!(check_report_path(&dir.path().join("new.db.gz"), &[]).is_err());
        assert!(check_report_path(dir.path(), &[]).is_err());
        check_report_path(&old, &[&db]).unwrap();
        check_report_path(&dir.path().join("new.json"), &[&db]).unwrap();
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
