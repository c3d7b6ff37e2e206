//! `backup` (online snapshot → gzip → manifest) and `extract` (gunzip → temporary database →
//! integrity).

pub mod extract;
pub mod integrity;
pub mod manifest;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::fsutil::{self, FsError};
pub use extract::{Extracted, extract};
pub use manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("{}: not a gzip file (it does not start with the gzip magic bytes 1f 8b)", .0.display())]
    NotGzip(PathBuf),
    #[error("{}: truncated gzip: the stream ends early, after {read} compressed bytes", path.display())]
    Truncated { path: PathBuf, read: u64 },
    #[error("{}: corrupt gzip data: {detail}", path.display())]
    CorruptGzip { path: PathBuf, detail: String },
    #[error("{}: the gzip does not hold a SQLite database (it starts with {head:?})", path.display())]
    NotSqlite { path: PathBuf, head: String },
    #[error("{}: not a SQLite database", .0.display())]
    SourceNotSqlite(PathBuf),
    #[error("{}: the database fails its integrity check: {detail}", path.display())]
    Integrity { path: PathBuf, detail: String },
    #[error("{}: {what} is {actual}, but its manifest {} records {expected}", backup.display(), manifest.display())]
    ManifestMismatch {
        backup: PathBuf,
        manifest: PathBuf,
        what: String,
        actual: String,
        expected: String,
    },
    #[error("{}: unreadable manifest: {detail}", path.display())]
    BadManifest { path: PathBuf, detail: String },
    #[error("{}: the backup is {actual} bytes, below --min-size {min} bytes; nothing was kept", path.display())]
    TooSmall {
        path: PathBuf,
        actual: u64,
        min: u64,
    },
    #[error("{}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl BackupError {
    pub fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError + '_ {
        move |source| BackupError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Row count of every table, by name.
pub fn table_counts(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    names
        .into_iter()
        .map(|n| {
            let sql = format!("SELECT count(*) FROM {}", crate::sql::ident(&n));
            conn.query_row(&sql, [], |r| r.get(0)).map(|c| (n, c))
        })
        .collect()
}

/// A reader that hashes and counts what passes through it.
pub struct Hashing<R> {
    inner: R,
    pub hasher: Sha256,
    pub bytes: u64,
}

impl<R> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
    pub fn hex(self) -> String {
        hex(&self.hasher.finalize())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, FsError> {
    let mut r = Hashing::new(fsutil::open(path)?);
    io::copy(&mut r, &mut io::sink()).map_err(|e| FsError::io(path, e))?;
    Ok(r.hex())
}

#[derive(Debug)]
pub struct BackupSummary {
    pub path: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
}

/// The backup file name: `<stem>-YYYYMMDD-HHMMSS.db.gz` (UTC).
pub fn backup_name(source_stem: &str, at: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    format!(
        "{source_stem}-{}.db.gz",
        at.format(&f).expect("formattable time")
    )
}

fn stem_of(source: &Path) -> String {
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    for ext in [".sqlite3", ".sqlite", ".db"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_string();
        }
    }
    name
}

/// Snapshot a local database (consistent even while another process writes), gzip it and
/// write its manifest beside it.
pub fn create(
    source: &Path,
    out_dir: &Path,
    min_size: Option<u64>,
) -> Result<BackupSummary, BackupError> {
    if !source.is_file() {
        return Err(FsError::Missing(source.to_path_buf()).into());
    }
    if !out_dir.is_dir() {
        return Err(FsError::Missing(out_dir.to_path_buf()).into());
    }
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(BackupError::sqlite(source))?;
    src.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(BackupError::sqlite(source))?;
    let taken = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    let tmp_db = fsutil::temp_file_in(out_dir, ".preflight-backup-", ".db")?;
    let (counts, sqlite_version) = snapshot(&src, source, tmp_db.path())?;
    drop(src);
    let uncompressed = fsutil::size(tmp_db.path())?;

    let name = backup_name(&stem_of(source), taken);
    let out = out_dir.join(&name);
    let manifest_path = manifest::path_for(&out);
    fsutil::ensure_absent(&out)?;
    fsutil::ensure_absent(&manifest_path)?;
    let tmp_gz = fsutil::temp_file_in(out_dir, ".preflight-backup-", ".db.gz")?;
    let sha256 = {
        let input = fsutil::open(tmp_db.path())?;
        let file = tmp_gz.reopen().map_err(|e| FsError::io(tmp_gz.path(), e))?;
        let hashed = fsutil::gzip_stream(
            io::BufReader::with_capacity(1 << 20, input),
            Hashing::new(file),
        )
        .map_err(|e| FsError::io(&out, e))?;
        hashed.hex()
    };
    drop(tmp_db);
    let compressed = fsutil::size(tmp_gz.path())?;
    if let Some(min) = min_size
        && compressed < min
    {
        return Err(BackupError::TooSmall {
            path: out,
            actual: compressed,
            min,
        });
    }
    let manifest = Manifest {
        file: name,
        source: source.display().to_string(),
        created_utc: taken
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formattable time"),
        sha256,
        compressed_bytes: compressed,
        uncompressed_bytes: uncompressed,
        sqlite_version,
        preflight_version: env!("CARGO_PKG_VERSION").to_string(),
        tables: counts,
    };
    write_pair(tmp_gz, &out, &manifest, &manifest_path)?;
    Ok(BackupSummary {
        path: out,
        manifest_path,
        manifest,
    })
}

/// Copy `src` into a new database file at `dst` in one step of the online backup API: the
/// source stays readable (and, in WAL mode, writable) by others, and the copy is one consistent
/// snapshot. Returns the snapshot's row counts and SQLite version.
fn snapshot(
    src: &Connection,
    source: &Path,
    dst: &Path,
) -> Result<(BTreeMap<String, i64>, String), BackupError> {
    use rusqlite::backup::{Backup, StepResult};
    let mut out = Connection::open(dst).map_err(BackupError::sqlite(dst))?;
    {
        let backup = Backup::new(src, &mut out).map_err(BackupError::sqlite(source))?;
        loop {
            match backup.step(-1) {
                Ok(StepResult::Done) => break,
                Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    return Err(BackupError::SourceNotSqlite(source.to_path_buf()));
                }
                Err(e) => return Err(BackupError::sqlite(source)(e)),
            }
        }
    }
    let counts = table_counts(&out).map_err(BackupError::sqlite(source))?;
    let version: String = out
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .map_err(BackupError::sqlite(dst))?;
    out.close().map_err(|(_, e)| BackupError::sqlite(dst)(e))?;
    Ok((counts, version))
}

/// Put a finished backup and its manifest in place: both or neither.
pub fn write_pair(
    tmp_gz: tempfile::NamedTempFile,
    out: &Path,
    manifest: &Manifest,
    manifest_path: &Path,
) -> Result<(), BackupError> {
    let dir = fsutil::parent_dir(out);
    let mut tmp_manifest = fsutil::temp_file_in(&dir, ".preflight-manifest-", ".json")?;
    let text = serde_json::to_string_pretty(manifest).expect("manifest serialises");
    writeln!(tmp_manifest, "{text}").map_err(|e| FsError::io(manifest_path, e))?;
    fsutil::persist_new(tmp_gz, out)?;
    if let Err(e) = fsutil::persist_new(tmp_manifest, manifest_path) {
        let _ = std::fs::remove_file(out);
        return Err(e.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_stem_and_utc_time() {
        let at = time::macros::datetime!(2025-11-06 05:52:59 UTC);
        assert_eq!(
            backup_name("liveone-tokyo", at),
            "liveone-tokyo-20251106-055259.db.gz"
        );
        assert_eq!(stem_of(Path::new("/x/prod.sqlite3")), "prod");
        assert_eq!(stem_of(Path::new("live.db")), "live");
    }
}
