//! File handling shared by every command: outputs are written under a temporary name in the
//! destination directory and renamed into place, never over an existing file, and every error
//! names the path it is about.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use tempfile::NamedTempFile;

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{}: already exists; preflight never overwrites a file (choose another name or remove it)", .0.display())]
    Exists(PathBuf),
    #[error("{}: no such file", .0.display())]
    Missing(PathBuf),
    #[error("{}: directory is not writable ({source})", path.display())]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl FsError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            FsError::Missing(path.to_path_buf())
        } else {
            FsError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

pub fn is_gz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The directory a path lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub fn ensure_absent(path: &Path) -> Result<(), FsError> {
    if path.symlink_metadata().is_ok() {
        return Err(FsError::Exists(path.to_path_buf()));
    }
    Ok(())
}

pub fn open(path: &Path) -> Result<File, FsError> {
    File::open(path).map_err(|e| FsError::io(path, e))
}

pub fn size(path: &Path) -> Result<u64, FsError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| FsError::io(path, e))
}

/// The directory outputs go to: created (with its parents) when it does not exist yet.
pub fn ensure_dir(dir: &Path) -> Result<(), FsError> {
    if dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        return Err(FsError::Io {
            path: dir.to_path_buf(),
            source: io::Error::other("not a directory"),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| {
        if source.kind() == io::ErrorKind::PermissionDenied {
            FsError::Unwritable {
                path: dir.to_path_buf(),
                source,
            }
        } else {
            FsError::io(dir, source)
        }
    })
}

/// A temporary file in `dir`, removed when dropped unless persisted.
pub fn temp_file_in(dir: &Path, prefix: &str, suffix: &str) -> Result<NamedTempFile, FsError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .tempfile_in(dir)
        .map_err(|source| {
            if dir.is_dir() {
                FsError::Unwritable {
                    path: dir.to_path_buf(),
                    source,
                }
            } else {
                FsError::io(dir, source)
            }
        })
}

/// Rename a finished temporary file into place; fails rather than replace an existing file.
pub fn persist_new(tmp: NamedTempFile, out: &Path) -> Result<u64, FsError> {
    tmp.as_file().sync_all().map_err(|e| FsError::io(out, e))?;
    let file = tmp.persist_noclobber(out).map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            FsError::Exists(out.to_path_buf())
        } else {
            FsError::io(out, e.error)
        }
    })?;
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| FsError::io(out, e))
}

/// gzip `src` into `dst` with a reproducible header (no name, no time stamp).
pub fn gzip_file(src: &Path, dst: &Path) -> Result<(), FsError> {
    let input = open(src)?;
    let output = File::create(dst).map_err(|e| FsError::io(dst, e))?;
    gzip_stream(BufReader::with_capacity(1 << 20, input), output)
        .map_err(|e| FsError::io(dst, e))?;
    Ok(())
}

pub fn gzip_stream<R: Read, W: Write>(mut input: R, output: W) -> io::Result<W> {
    let mut enc = GzBuilder::new().write(
        BufWriter::with_capacity(1 << 20, output),
        Compression::new(6),
    );
    io::copy(&mut input, &mut enc)?;
    let buf = enc.finish()?;
    buf.into_inner().map_err(|e| e.into_error())
}

/// A human size: `6MB`, `500KiB`, `1G`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{s:?} is not a size like 6MB, 500KiB or 1G ({e})"))
}

pub fn human(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().si().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("6MB", 6_000_000)]
    #[case("500KiB", 512_000)]
    #[case("1G", 1_000_000_000)]
    #[case("1024", 1024)]
    fn parses_sizes(#[case] text: &str, #[case] bytes: u64) {
        assert_eq!(parse_size(text).unwrap(), bytes);
    }

    #[test]
    fn rejects_nonsense_sizes() {
        assert!(parse_size("six megs").is_err());
    }
}
