//! The JSON manifest written beside every backup, and read back by `extract`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// File name of the backup this manifest describes.
    pub file: String,
    /// Where the snapshot was taken from (a path, or a URL without credentials).
    pub source: String,
    /// When the snapshot was taken, UTC, RFC 3339.
    pub created_utc: String,
    /// sha256 of the .gz file, lowercase hex.
    pub sha256: String,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub sqlite_version: String,
    pub preflight_version: String,
    /// Row count of every table, by name.
    pub tables: BTreeMap<String, i64>,
}

/// `dir/name.db.gz` → `dir/name.manifest.json`.
pub fn path_for(backup: &Path) -> PathBuf {
    let name = backup
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".db.gz")
        .or_else(|| name.strip_suffix(".gz"))
        .unwrap_or(&name);
    backup.with_file_name(format!("{stem}.manifest.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_sits_beside_the_backup() {
        assert_eq!(
            path_for(Path::new("/b/liveone-20251106-055259.db.gz")),
            PathBuf::from("/b/liveone-20251106-055259.manifest.json")
        );
        assert_eq!(
            path_for(Path::new("x.gz")),
            PathBuf::from("x.manifest.json")
        );
    }
}
