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
}

/// Extract `backup` into `out`, or into a temporary file in `temp_dir` (the system's temporary
/// directory when None) when `out` is None. Nothing is left behind on failure.
pub fn extract(
    backup: &Path,
    out: Option<&Path>,
    temp_dir: Option<&Path>,
) -> Result<Extracted, BackupError> {
    let file = fsutil::open(backup)?;
    if let Some(out) = out {
        fsutil::ensure_absent(out)?;
    }
    let manifest_path = manifest::path_for(backup);
    let manifest: Option<Manifest> = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => Some(
            serde_json::from_str(&text).map_err(|e| BackupError::BadManifest {
                path: manifest_path.clone(),
                detail: e.to_string(),
            })?,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(FsError::io(&manifest_path, e).into()),
    };

    let dir = match (out, temp_dir) {
        (Some(o), _) => fsutil::parent_dir(o),
        (None, Some(d)) => d.to_path_buf(),
        (None, None) => std::env::temp_dir(),
    };
    let tmp = fsutil::temp_file_in(&dir, ".preflight-extract-", ".db")?;

    let mut hashed = Hashing::new(file);
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
            .map_err(|e| FsError::io(tmp.path(), e))?;
        total += n as u64;
    }
    if total == 0 {
        return Err(BackupError::NotSqlite {
            path: backup.to_path_buf(),
            head: String::new(),
        });
    }
    writer.flush().map_err(|e| FsError::io(tmp.path(), e))?;
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

    let db = match out {
        Some(out) => {
            fsutil::persist_new(tmp, out)?;
            crate::guard::mark_rehearsal_copy(out, backup)?;
            ExtractedDb::Kept(out.to_path_buf())
        }
        None => ExtractedDb::Temp(tmp.into_temp_path()),
    };
    Ok(Extracted {
        db,
        backup: backup.to_path_buf(),
        compressed_bytes: compressed,
        uncompressed_bytes: total,
        sha256,
        manifest: manifest.map(|_| manifest_path),
        tables,
    })
}
