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
    #[error("{}: not a gzip file (it does not start with the gzip magic bytes 1f 8b) nor a SQLite database; give a backup made by preflight backup, or a database file", .0.display())]
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
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl BackupError {
    pub fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError + '_ {
        move |source| BackupError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
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
    fsutil::not_a_dir(source)?;
    if !source.is_file() {
        return Err(FsError::Missing(source.to_path_buf()).into());
    }
    let created = fsutil::ensure_dir(out_dir)?;
    let r = create_in(source, out_dir, min_size);
    if r.is_err() && created {
        // a directory this run made and left empty goes too (remove_dir keeps a non-empty one)
        let _ = std::fs::remove_dir(out_dir);
    }
    r
}

fn create_in(
    source: &Path,
    out_dir: &Path,
    min_size: Option<u64>,
) -> Result<BackupSummary, BackupError> {
    sweep_orphan_manifests(out_dir);
    // the uncompressed snapshot and then its gzip live in the output directory for a while
    let size = fsutil::size(source)?;
    if let Some(free) = fsutil::free_space(out_dir)
        && size > free
    {
        return Err(FsError::Full {
            path: out_dir.to_path_buf(),
            needed: Some(size),
            free: Some(free),
        }
        .into());
    }
    let taken = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    let tmp_db = fsutil::temp_file_in(out_dir, "backup", ".db")?;
    let (counts, sqlite_version) =
        snapshot_file(source, tmp_db.path()).map_err(|e| naming_full(e, out_dir, size))?;
    finish(Snapshot {
        file: tmp_db,
        stem: stem_of(source),
        source: source.display().to_string(),
        out_dir,
        min_size,
        taken,
        counts,
        sqlite_version,
    })
}

/// A snapshot written to a temporary file, to be gzipped into place with its manifest.
struct Snapshot<'a> {
    file: tempfile::NamedTempFile,
    stem: String,
    source: String,
    out_dir: &'a Path,
    min_size: Option<u64>,
    taken: time::OffsetDateTime,
    counts: BTreeMap<String, i64>,
    sqlite_version: String,
}

/// gzip a snapshot to `<stem>-YYYYMMDD-HHMMSS.db.gz` with its manifest beside it.
fn finish(s: Snapshot) -> Result<BackupSummary, BackupError> {
    let uncompressed = fsutil::size(s.file.path())?;
    let name = backup_name(&s.stem, s.taken);
    let out = s.out_dir.join(&name);
    let manifest_path = manifest::path_for(&out);
    fsutil::ensure_absent(&out)?;
    fsutil::ensure_absent(&manifest_path)?;
    let tmp_gz = fsutil::temp_file_in(s.out_dir, "backup", ".db.gz")?;
    let sha256 = {
        let input = fsutil::open(s.file.path())?;
        let file = tmp_gz.reopen().map_err(|e| FsError::io(tmp_gz.path(), e))?;
        let hashed = fsutil::gzip_stream(
            io::BufReader::with_capacity(1 << 20, input),
            Hashing::new(file),
        )
        .map_err(|e| FsError::io(s.out_dir, e).needing(uncompressed))?;
        hashed.hex()
    };
    drop(s.file);
    let compressed = fsutil::size(tmp_gz.path())?;
    if let Some(min) = s.min_size
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
        source: s.source,
        created_utc: s
            .taken
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formattable time"),
        sha256,
        compressed_bytes: compressed,
        uncompressed_bytes: uncompressed,
        sqlite_version: s.sqlite_version,
        preflight_version: env!("CARGO_PKG_VERSION").to_string(),
        tables: s.counts,
    };
    write_pair(tmp_gz, &out, &manifest, &manifest_path)?;
    Ok(BackupSummary {
        path: out,
        manifest_path,
        manifest,
    })
}

/// Back up a remote database: its schema and every row, read inside the handle's one read
/// transaction (a consistent snapshot, unlike a copy taken table by table), written into a
/// local SQLite file; then gzip and manifest as for a local backup. `on_rows` counts progress.
pub fn create_remote(
    db: &dyn crate::db::Db,
    stem: &str,
    out_dir: &Path,
    min_size: Option<u64>,
    on_rows: &mut dyn FnMut(u64),
) -> Result<BackupSummary, BackupError> {
    let created = fsutil::ensure_dir(out_dir)?;
    let r = create_remote_in(db, stem, out_dir, min_size, on_rows);
    if r.is_err() && created {
        let _ = std::fs::remove_dir(out_dir);
    }
    r
}

fn create_remote_in(
    db: &dyn crate::db::Db,
    stem: &str,
    out_dir: &Path,
    min_size: Option<u64>,
    on_rows: &mut dyn FnMut(u64),
) -> Result<BackupSummary, BackupError> {
    use crate::db::{DbExt, Value, as_text};
    use crate::fingerprint::{scan, table_key};
    use crate::sql::ident as q;
    sweep_orphan_manifests(out_dir);
    let shown = db.target().shown();
    let dberr = BackupError::Db;
    let taken = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    let tmp_db = fsutil::temp_file_in(out_dir, "backup", ".db")?;
    let mut local = Connection::open(tmp_db.path()).map_err(BackupError::sqlite(tmp_db.path()))?;
    crate::interrupt::watch(&mut local, std::time::Duration::from_secs(30))
        .map_err(BackupError::sqlite(tmp_db.path()))?;
    let lerr = BackupError::sqlite(tmp_db.path());
    local
        .execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN;")
        .map_err(|e| BackupError::sqlite(tmp_db.path())(e))?;
    let schema: Vec<(String, String, String)> = db
        .query(
            "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid",
            &[],
        )
        .map_err(dberr)?
        .into_iter()
        .filter_map(|r| Some((as_text(&r[0])?, as_text(&r[1])?, as_text(&r[2])?)))
        .collect();
    let tables: Vec<&(String, String, String)> = schema
        .iter()
        .filter(|(t, name, sql)| {
            t == "table" && !name.starts_with("sqlite_") && !sql.starts_with("CREATE VIRTUAL")
        })
        .collect();
    for (_, _, sql) in &tables {
        local
            .execute_batch(sql)
            .map_err(|e| BackupError::sqlite(tmp_db.path())(e))?;
    }
    let mut copy = |table: &str| -> Result<(), BackupError> {
        let key = table_key(db, table).map_err(dberr)?;
        let cols = db.columns(table).map_err(dberr)?;
        // a rowid that is also a column (INTEGER PRIMARY KEY) is copied with that column
        let alias = db
            .query(
                "SELECT count(*) = 1 AND max(pk = 1 AND upper(type) = 'INTEGER') FROM pragma_table_info(?1) WHERE pk > 0",
                &[Value::Text(table.into())],
            )
            .map_err(dberr)?
            .first()
            .and_then(|r| crate::db::as_i64(&r[0]))
            == Some(1);
        let with_rowid = key.rowid && !alias;
        let mut names: Vec<String> = cols.iter().map(|c| q(c)).collect();
        if with_rowid {
            names.insert(0, "rowid".into());
        }
        let skip = if with_rowid { 0 } else { key.key.len() };
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            q(table),
            names.join(", "),
            vec!["?"; names.len()].join(", ")
        );
        let mut stmt = local
            .prepare(&insert)
            .map_err(|e| BackupError::sqlite(tmp_db.path())(e))?;
        let mut n = 0u64;
        let mut failed: Option<rusqlite::Error> = None;
        scan(db, table, &key, None, &mut |row| {
            if let Err(e) = stmt.execute(rusqlite::params_from_iter(row[skip..].iter())) {
                failed = Some(e);
                return Err(crate::db::DbError::Open {
                    target: String::new(),
                    message: "stopped".into(),
                });
            }
            n += 1;
            if n.is_multiple_of(2_000) {
                on_rows(2_000);
            }
            Ok(())
        })
        .map_err(|e| match failed.take() {
            Some(le) => BackupError::sqlite(tmp_db.path())(le),
            None => dberr(e),
        })?;
        on_rows(n % 2_000);
        Ok(())
    };
    for (_, name, _) in &tables {
        copy(name)?;
    }
    if schema.iter().any(|(_, name, _)| name == "sqlite_sequence") {
        local
            .execute("DELETE FROM sqlite_sequence", [])
            .map_err(|e| BackupError::sqlite(tmp_db.path())(e))?;
        copy("sqlite_sequence")?;
    }
    for (kind, _, sql) in &schema {
        if kind != "table" {
            local
                .execute_batch(sql)
                .map_err(|e| BackupError::sqlite(tmp_db.path())(e))?;
        }
    }
    local
        .execute_batch("COMMIT")
        .map_err(|e| BackupError::sqlite(tmp_db.path())(e))?;
    let counts = local_counts(tmp_db.path())?;
    let version = db
        .query("SELECT sqlite_version()", &[])
        .map_err(dberr)?
        .first()
        .and_then(|r| as_text(&r[0]))
        .unwrap_or_default();
    local.close().map_err(|(_, e)| lerr(e))?;
    finish(Snapshot {
        file: tmp_db,
        stem: stem.to_string(),
        source: shown,
        out_dir,
        min_size,
        taken,
        counts,
        sqlite_version: format!("{version} (server)"),
    })
}

/// A full file system while writing into `dir`, said with the space the backup needs (SQLite
/// reports it as its own error, naming no file).
fn naming_full(e: BackupError, dir: &Path, needed: u64) -> BackupError {
    match e {
        BackupError::Sqlite { source, .. } if extract::is_full(&source) => FsError::Full {
            path: dir.to_path_buf(),
            needed: Some(needed),
            free: fsutil::free_space(dir),
        }
        .into(),
        BackupError::Fs(f) => f.needing(needed).into(),
        other => other,
    }
}

/// Copy the database file `source` into the new database `dst` as one consistent snapshot (see
/// `snapshot`). An interrupted write's hot journal is rolled back first, as any open would.
pub(crate) fn snapshot_file(
    source: &Path,
    dst: &Path,
) -> Result<(BTreeMap<String, i64>, String), BackupError> {
    with_source(source, |src| snapshot(src, source, dst))
}

/// Copy the database file `source` to `dst` as one consistent state, for reading only (no row
/// counts). A file with a rollback journal is copied byte for byte while a read transaction
/// holds its shared lock: no write can commit meanwhile, and the kernel copies it several times
/// faster than the backup API (which holds the same lock for the whole copy too). A file in WAL
/// mode, whose state is partly in its log, goes through the backup API.
pub(crate) fn snapshot_copy(source: &Path, dst: &Path) -> Result<(), BackupError> {
    with_source(source, |src| copy_locked(src, source, dst))
}

/// `f` on a read-only connection to `source`, after an interrupted write's hot journal is
/// rolled back (as any open would); the side files the connection made are removed after.
fn with_source<T>(
    source: &Path,
    f: impl FnOnce(&Connection) -> Result<T, BackupError>,
) -> Result<T, BackupError> {
    crate::db::local::settle(source)?;
    let mut src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(BackupError::sqlite(source))?;
    crate::interrupt::watch(&mut src, std::time::Duration::from_secs(30))
        .map_err(BackupError::sqlite(source))?;
    let sides = crate::db::local::SideFiles::before(source);
    let r = f(&src);
    drop(src);
    sides.tidy();
    r
}

fn copy_locked(src: &Connection, source: &Path, dst: &Path) -> Result<(), BackupError> {
    let not_sqlite = |e: rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            BackupError::SourceNotSqlite(source.to_path_buf())
        }
        e => BackupError::sqlite(source)(e),
    };
    // a writer may hold the file for a while: wait for it, as the backup API's loop does,
    // until the read lock is had or the run is interrupted
    let patiently = |sql: &str| -> Result<Option<String>, BackupError> {
        loop {
            match src.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0)) {
                Ok(rusqlite::types::Value::Text(t)) => return Ok(Some(t)),
                Ok(_) => return Ok(None),
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if matches!(
                        f.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) =>
                {
                    crate::interrupt::check()
                        .map_err(|_| FsError::Interrupted(source.to_path_buf()))?;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(not_sqlite(e)),
            }
        }
    };
    let mode = patiently("PRAGMA journal_mode")?.unwrap_or_default();
    if mode.eq_ignore_ascii_case("wal") {
        return backup_pages(src, source, dst);
    }
    src.execute_batch("BEGIN")
        .map_err(BackupError::sqlite(source))?;
    let copied = patiently("SELECT count(*) FROM sqlite_schema").and_then(|_| {
        std::fs::copy(source, dst)
            .map_err(|e| FsError::io(dst, e).into())
            .map(|_| ())
    });
    let _ = src.execute_batch("COMMIT");
    copied?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| FsError::io(dst, e))?;
    }
    Ok(())
}

/// Copy `src` into a new database file at `dst` in one step of the online backup API: the
/// source stays readable (and, in WAL mode, writable) by others, and the copy is one consistent
/// snapshot. Returns the snapshot's row counts and SQLite version.
fn snapshot(
    src: &Connection,
    source: &Path,
    dst: &Path,
) -> Result<(BTreeMap<String, i64>, String), BackupError> {
    backup_pages(src, source, dst)?;
    let counts = local_counts(dst)?;
    let out = Connection::open(dst).map_err(BackupError::sqlite(dst))?;
    let version: String = out
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .map_err(BackupError::sqlite(dst))?;
    out.close().map_err(|(_, e)| BackupError::sqlite(dst)(e))?;
    Ok((counts, version))
}

/// The online backup API's copy of `src` into a new database file at `dst`, in one step.
fn backup_pages(src: &Connection, source: &Path, dst: &Path) -> Result<(), BackupError> {
    use rusqlite::backup::{Backup, StepResult};
    let mut out = Connection::open(dst).map_err(BackupError::sqlite(dst))?;
    // a temporary copy: no rollback journal beside it
    out.query_row("PRAGMA journal_mode = OFF", [], |_| Ok(()))
        .map_err(BackupError::sqlite(dst))?;
    crate::interrupt::watch(&mut out, std::time::Duration::from_secs(30))
        .map_err(BackupError::sqlite(dst))?;
    {
        let backup = Backup::new(src, &mut out).map_err(BackupError::sqlite(source))?;
        loop {
            crate::interrupt::check().map_err(|_| FsError::Interrupted(source.to_path_buf()))?;
            match backup.step(-1) {
                Ok(StepResult::Done) => break,
                Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    return Err(BackupError::SourceNotSqlite(source.to_path_buf()));
                }
                Err(e) if extract::is_full(&e) => return Err(BackupError::sqlite(dst)(e)),
                Err(e) => return Err(BackupError::sqlite(source)(e)),
            }
        }
    }
    out.close().map_err(|(_, e)| BackupError::sqlite(dst)(e))?;
    Ok(())
}

/// Row count of every table of a local database file.
pub(crate) fn local_counts(path: &Path) -> Result<BTreeMap<String, i64>, BackupError> {
    let db = crate::db::local::LocalDb::open(path, crate::db::Access::ReadOnly)?;
    Ok(crate::fingerprint::table_counts(&db)?)
}

/// Put a finished backup and its manifest in place: both or neither. The manifest goes first:
/// a run killed between the two renames leaves a manifest naming a backup that does not exist,
/// which the next backup into the directory recognises and removes (`sweep_orphan_manifests`),
/// never a backup without its manifest.
pub fn write_pair(
    tmp_gz: tempfile::NamedTempFile,
    out: &Path,
    manifest: &Manifest,
    manifest_path: &Path,
) -> Result<(), BackupError> {
    let dir = fsutil::parent_dir(out);
    let mut tmp_manifest = fsutil::temp_file_in(&dir, "manifest", ".json")?;
    let text = serde_json::to_string_pretty(manifest).expect("manifest serialises");
    writeln!(tmp_manifest, "{text}").map_err(|e| FsError::io(manifest_path, e))?;
    fsutil::persist_new(tmp_manifest, manifest_path)?;
    if let Err(e) = fsutil::persist_new(tmp_gz, out) {
        let _ = std::fs::remove_file(manifest_path);
        return Err(e.into());
    }
    Ok(())
}

/// Remove what a backup killed between its two renames left in `dir`: a manifest written by
/// preflight whose backup file does not exist.
pub fn sweep_orphan_manifests(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if !path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".manifest.json"))
        {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(m) = serde_json::from_str::<Manifest>(&text) else {
            continue;
        };
        if !m.file.is_empty()
            && !m.file.contains(['/', '\\'])
            && manifest::path_for(&dir.join(&m.file)) == path
            && !dir.join(&m.file).exists()
        {
            let _ = std::fs::remove_file(&path);
        }
    }
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
