//! Streaming gunzip of a backup into a temporary database, with its integrity checked and its
//! manifest (when one sits beside it) compared.

use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;
use tempfile::TempPath;

use super::{BackupError, Hashing, Manifest, integrity, manifest};
use crate::fsutil::{self, FsError};

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Where the extracted database lives: a temporary file removed on drop, or a kept file.
#[derive(Debug)]
pub enum ExtractedDb {
    Temp(TempPath),
    Kept(PathBuf),
}

impl ExtractedDb {
    pub fn path(&self) -> &Path {
        match self {
            ExtractedDb::Temp(p) => p,
            ExtractedDb::Kept(p) => p,
        }
    }
}

#[derive(Debug)]
pub struct Extracted {
    pub db: ExtractedDb,
    pub backup: PathBuf,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub sha256: String,
    /// The manifest found beside the backup, which the extracted copy matched.
    pub manifest: Option<PathBuf>,
    pub tables: BTreeMap<String, i64>,
    /// The input was a plain database (copied), not a gzipped backup.
    pub plain: bool,
}

/// Extract `backup` into `out`, or into a temporary file in `temp_dir` (this run's temporary
/// directory when None) when `out` is None. A plain SQLite database is accepted too: it is
/// copied (one consistent snapshot, through SQLite's online backup API). Nothing is left
/// behind on failure.
pub fn extract(
    backup: &Path,
    out: Option<&Path>,
    temp_dir: Option<&Path>,
) -> Result<Extracted, BackupError> {
    let file = fsutil::open(backup)?;
    if let Some(out) = out {
        fsutil::ensure_absent(out)?;
        fsutil::not_a_dir(out)?;
    }
    let mut head = [0u8; 16];
    let head_len = read_head(&file, &mut head).map_err(|e| FsError::io(backup, e))?;
    let plain = head_len == SQLITE_MAGIC.len() && &head == SQLITE_MAGIC;
    let manifest_path = manifest::path_for(backup);
    let manifest: Option<Manifest> = match std::fs::read_to_string(&manifest_path) {
        _ if plain => None,
        Ok(text) => Some(
            serde_json::from_str(&text).map_err(|e| BackupError::BadManifest {
                path: manifest_path.clone(),
                detail: e.to_string(),
            })?,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(FsError::io(&manifest_path, e).into()),
    };
    if !plain && head[..2] != [0x1f, 0x8b] {
        return Err(BackupError::NotGzip(backup.to_path_buf()));
    }

    let dir = match (out, temp_dir) {
        (Some(o), _) => fsutil::parent_dir(o),
        (None, Some(d)) => d.to_path_buf(),
        (None, None) => crate::interrupt::run_dir()?,
    };
    let compressed = file.metadata().map_err(|e| FsError::io(backup, e))?.len();
    // what the copy will take: the manifest says, or the gzip trailer (the size modulo 4 GiB)
    let needed = match (&manifest, plain) {
        (_, true) => Some(compressed),
        (Some(m), _) => Some(m.uncompressed_bytes),
        (None, _) => gzip_isize(&file).filter(|&n| n >= compressed.min(u64::from(u32::MAX))),
    };
    // a full disk is named by the path the user chose: the output, or TMPDIR
    let shown_dir = match (out, temp_dir) {
        (Some(o), _) => o.to_path_buf(),
        (None, Some(d)) => d.to_path_buf(),
        (None, None) => std::env::temp_dir(),
    };
    if let (Some(n), Some(free)) = (needed, fsutil::free_space(&dir))
        && n > free
    {
        return Err(FsError::Full {
            path: shown_dir,
            needed: Some(n),
            free: Some(free),
        }
        .into());
    }
    let full = |e: FsError| match needed {
        Some(n) => e.needing(n),
        None => e,
    };
    let tmp = fsutil::temp_file_in(&dir, "extract", ".db")?;
    if plain {
        drop(file);
        return copy_plain(backup, out, tmp, &shown_dir, needed);
    }

    let mut hashed = Hashing::new(crate::interrupt::Reader(file));
    let mut magic = [0u8; 2];
    if hashed.read_exact(&mut magic).is_err() || magic != [0x1f, 0x8b] {
        return Err(BackupError::NotGzip(backup.to_path_buf()));
    }
    let reader = BufReader::with_capacity(1 << 20, io::Cursor::new(magic).chain(hashed));
    let mut gz = MultiGzDecoder::new(reader);
    let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file());
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    loop {
        let n = match gz.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) if crate::interrupt::requested() => {
                return Err(FsError::Interrupted(backup.to_path_buf()).into());
            }
            Err(e) => {
                let read = gz.get_ref().get_ref().get_ref().1.bytes;
                return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                    BackupError::Truncated {
                        path: backup.to_path_buf(),
                        read,
                    }
                } else {
                    BackupError::CorruptGzip {
                        path: backup.to_path_buf(),
                        detail: e.to_string(),
                    }
                });
            }
        };
        if total == 0 && (n < SQLITE_MAGIC.len() || &buf[..SQLITE_MAGIC.len()] != SQLITE_MAGIC) {
            let head = String::from_utf8_lossy(&buf[..n.min(16)]).into_owned();
            return Err(BackupError::NotSqlite {
                path: backup.to_path_buf(),
                head,
            });
        }
        writer
            .write_all(&buf[..n])
            .map_err(|e| full(FsError::io(&shown_dir, e)))?;
        total += n as u64;
    }
    if total == 0 {
        return Err(BackupError::NotSqlite {
            path: backup.to_path_buf(),
            head: String::new(),
        });
    }
    writer
        .flush()
        .map_err(|e| full(FsError::io(&shown_dir, e)))?;
    drop(writer);
    let hashed = gz.into_inner().into_inner().into_inner().1;
    let compressed = hashed.bytes;
    let sha256 = hashed.hex();

    let mismatch = |what: String, actual: String, expected: String| BackupError::ManifestMismatch {
        backup: backup.to_path_buf(),
        manifest: manifest_path.clone(),
        what,
        actual,
        expected,
    };
    if let Some(m) = &manifest {
        if m.sha256 != sha256 {
            return Err(mismatch("sha256".into(), sha256, m.sha256.clone()));
        }
        if m.uncompressed_bytes != total {
            return Err(mismatch(
                "the uncompressed size".into(),
                format!("{total} bytes"),
                format!("{} bytes", m.uncompressed_bytes),
            ));
        }
    }

    if let Some(problem) = integrity::check(tmp.path()).map_err(BackupError::sqlite(backup))? {
        return Err(BackupError::Integrity {
            path: backup.to_path_buf(),
            detail: problem.0,
        });
    }
    let tables = super::local_counts(tmp.path())?;
    if let Some(m) = &manifest
        && m.tables != tables
    {
        let names: std::collections::BTreeSet<&String> =
            m.tables.keys().chain(tables.keys()).collect();
        let name = names
            .into_iter()
            .find(|n| m.tables.get(*n) != tables.get(*n))
            .expect("tables differ");
        let rows = |v: Option<&i64>| v.map_or("no such table".to_string(), |n| format!("{n} rows"));
        return Err(mismatch(
            format!("table {name}"),
            rows(tables.get(name)),
            rows(m.tables.get(name)),
        ));
    }

    finish(
        backup,
        out,
        tmp,
        Finished {
            compressed,
            uncompressed: total,
            sha256,
            manifest: manifest.map(|_| manifest_path),
            tables,
            plain: false,
        },
    )
}

struct Finished {
    compressed: u64,
    uncompressed: u64,
    sha256: String,
    manifest: Option<PathBuf>,
    tables: BTreeMap<String, i64>,
    plain: bool,
}

fn finish(
    backup: &Path,
    out: Option<&Path>,
    tmp: tempfile::NamedTempFile,
    f: Finished,
) -> Result<Extracted, BackupError> {
    let db = match out {
        Some(out) => {
            crate::guard::persist_rehearsal_copy(tmp, out, backup)?;
            ExtractedDb::Kept(out.to_path_buf())
        }
        None => {
            let path = tmp.into_temp_path();
            ExtractedDb::Temp(path)
        }
    };
    Ok(Extracted {
        db,
        backup: backup.to_path_buf(),
        compressed_bytes: f.compressed,
        uncompressed_bytes: f.uncompressed,
        sha256: f.sha256,
        manifest: f.manifest,
        tables: f.tables,
        plain: f.plain,
    })
}

/// The first bytes of a file (fewer when it is shorter); the cursor is put back at the start.
fn read_head(mut file: &std::fs::File, head: &mut [u8]) -> io::Result<usize> {
    use std::io::{Seek, SeekFrom};
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(n)
}

/// The uncompressed size a gzip file records in its last four bytes (modulo 4 GiB); the cursor
/// is put back at the start.
fn gzip_isize(mut file: &std::fs::File) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::End(-4)).ok()?;
    let mut tail = [0u8; 4];
    let r = file.read_exact(&mut tail);
    file.seek(SeekFrom::Start(0)).ok()?;
    r.ok()?;
    Some(u64::from(u32::from_le_bytes(tail)))
}

/// A plain database given where a backup was expected: copied as one consistent snapshot.
fn copy_plain(
    source: &Path,
    out: Option<&Path>,
    tmp: tempfile::NamedTempFile,
    shown_dir: &Path,
    needed: Option<u64>,
) -> Result<Extracted, BackupError> {
    let (tables, _) = super::snapshot_file(source, tmp.path()).map_err(|e| match e {
        BackupError::Fs(f) => BackupError::Fs(match needed {
            Some(n) => f.needing(n),
            None => f,
        }),
        BackupError::Sqlite { source: s, .. } if is_full(&s) => BackupError::Fs(FsError::Full {
            path: shown_dir.to_path_buf(),
            needed,
            free: fsutil::free_space(&fsutil::parent_dir(tmp.path())),
        }),
        other => other,
    })?;
    if let Some(problem) = integrity::check(tmp.path()).map_err(BackupError::sqlite(source))? {
        return Err(BackupError::Integrity {
            path: source.to_path_buf(),
            detail: problem.0,
        });
    }
    let size = fsutil::size(tmp.path())?;
    finish(
        source,
        out,
        tmp,
        Finished {
            compressed: size,
            uncompressed: size,
            sha256: super::sha256_file(source)?,
            manifest: None,
            tables,
            plain: true,
        },
    )
}

/// SQLite's "database or disk is full".
pub(crate) fn is_full(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
}
