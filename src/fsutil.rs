//! File handling shared by every command: outputs are written under a temporary name in the
//! destination directory and renamed into place, never over an existing file, and every error
//! names the path it is about. Temporary names are `.preflight-<what>-<pid>-…` so that what a
//! killed run left behind is recognised and removed by the next (see `interrupt`).

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
    #[error("{}: is a directory; give the path of a file", .0.display())]
    IsDir(PathBuf),
    #[error("{}: is a directory; give the path of the new file to write, such as {}", .0.display(), .0.join("out.db").display())]
    OutIsDir(PathBuf),
    #[error("{}: no space left on the file system{}; nothing was kept (free some space, or write elsewhere)", path.display(), space_note(*needed, *free))]
    Full {
        path: PathBuf,
        /// Bytes the operation needs, when known.
        needed: Option<u64>,
        /// Bytes free on that file system, when known.
        free: Option<u64>,
    },
    #[error("{}: the file system is read-only; nothing was written", .0.display())]
    ReadOnlyFs(PathBuf),
    #[error("{}: stopped by a signal", .0.display())]
    Interrupted(PathBuf),
    #[error("{}: directory is not writable ({source})", path.display())]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn space_note(needed: Option<u64>, free: Option<u64>) -> String {
    match (needed, free) {
        (Some(n), Some(f)) => format!(" (at least {} needed, {} free)", human(n), human(f)),
        (Some(n), None) => format!(" (at least {} needed)", human(n)),
        (None, Some(f)) => format!(" ({} free)", human(f)),
        (None, None) => String::new(),
    }
}

impl FsError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::NotFound => FsError::Missing(path.to_path_buf()),
            io::ErrorKind::IsADirectory => FsError::IsDir(path.to_path_buf()),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => FsError::Full {
                path: path.to_path_buf(),
                needed: None,
                free: free_space(&if path.is_dir() {
                    path.to_path_buf()
                } else {
                    parent_dir(path)
                }),
            },
            io::ErrorKind::ReadOnlyFilesystem => FsError::ReadOnlyFs(path.to_path_buf()),
            _ if crate::interrupt::requested() => FsError::Interrupted(path.to_path_buf()),
            _ => FsError::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// A full file system, said with how much the operation needs.
    pub fn needing(self, bytes: u64) -> Self {
        match self {
            FsError::Full { path, free, .. } => FsError::Full {
                path,
                needed: Some(bytes),
                free,
            },
            other => other,
        }
    }
}

/// Bytes available to this user on the file system holding `dir`.
#[cfg(unix)]
pub fn free_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes the struct it is given; the path is NUL-terminated
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (r == 0).then(|| (st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(not(unix))]
pub fn free_space(_dir: &Path) -> Option<u64> {
    None
}

/// Refuse a directory where a file is expected (reading one gives a confusing error later).
pub fn not_a_dir(path: &Path) -> Result<(), FsError> {
    if path.is_dir() {
        return Err(FsError::IsDir(path.to_path_buf()));
    }
    Ok(())
}

/// A text file's contents; a directory in its place says so in the words of `not_a_dir`
/// (the system's "Is a directory (os error 21)" names nothing to do).
pub fn read_to_string(path: &Path) -> io::Result<String> {
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory; give the path of a file",
        ));
    }
    std::fs::read_to_string(path)
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
    if path.is_dir() {
        return Err(FsError::OutIsDir(path.to_path_buf()));
    }
    if path.symlink_metadata().is_ok() {
        return Err(FsError::Exists(path.to_path_buf()));
    }
    Ok(())
}

pub fn open(path: &Path) -> Result<File, FsError> {
    not_a_dir(path)?;
    File::open(path).map_err(|e| FsError::io(path, e))
}

pub fn size(path: &Path) -> Result<u64, FsError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| FsError::io(path, e))
}

/// The directory outputs go to: created (with its parents) when it does not exist yet. True
/// when it was created (so that a run that writes nothing there can remove it again).
pub fn ensure_dir(dir: &Path) -> Result<bool, FsError> {
    if dir.is_dir() {
        return Ok(false);
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
    })?;
    Ok(true)
}

/// A temporary file in `dir` named `.preflight-<what>-<pid>-XXXXXX<suffix>`, removed when
/// dropped unless persisted, and in any case when the run ends (see `interrupt`). What killed
/// runs left in `dir` is removed first.
pub fn temp_file_in(dir: &Path, what: &str, suffix: &str) -> Result<NamedTempFile, FsError> {
    crate::interrupt::sweep(dir);
    let prefix = format!("{}{what}-{}-", crate::interrupt::PREFIX, std::process::id());
    crate::interrupt::register(
        |t: &NamedTempFile| t.path().to_path_buf(),
        || {
            tempfile::Builder::new()
                .prefix(&prefix)
                .suffix(suffix)
                .tempfile_in(dir)
        },
    )
    .map_err(|source| {
        if dir.is_dir() && source.kind() == io::ErrorKind::PermissionDenied {
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
    crate::interrupt::check().map_err(|_| FsError::Interrupted(out.to_path_buf()))?;
    let tmp_path = tmp.path().to_path_buf();
    let file = tmp.persist_noclobber(out).map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            FsError::Exists(out.to_path_buf())
        } else {
            FsError::io(out, e.error)
        }
    })?;
    crate::interrupt::forget(&tmp_path);
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| FsError::io(out, e))
}

/// Rename a finished temporary file over `out` (a report replacing an older one).
pub fn persist_over(tmp: NamedTempFile, out: &Path) -> Result<(), FsError> {
    tmp.as_file().sync_all().map_err(|e| FsError::io(out, e))?;
    crate::interrupt::check().map_err(|_| FsError::Interrupted(out.to_path_buf()))?;
    let tmp_path = tmp.path().to_path_buf();
    tmp.persist(out).map_err(|e| FsError::io(out, e.error))?;
    crate::interrupt::forget(&tmp_path);
    Ok(())
}

/// gzip `src` into `dst` with a reproducible header (no name, no time stamp).
pub fn gzip_file(src: &Path, dst: &Path) -> Result<(), FsError> {
    let input = open(src)?;
    let needed = input.metadata().map(|m| m.len()).unwrap_or(0);
    let output = File::create(dst).map_err(|e| FsError::io(dst, e))?;
    gzip_stream(BufReader::with_capacity(1 << 20, input), output)
        .map_err(|e| FsError::io(&parent_dir(dst), e).needing(needed))?;
    Ok(())
}

/// gzip `input` into `output`. A signal stops it (on the output side: how the input is read
/// decides the exact bytes of the gzip, which fixtures and tests compare).
pub fn gzip_stream<R: Read, W: Write>(mut input: R, output: W) -> io::Result<W> {
    let mut enc = GzBuilder::new().write(
        BufWriter::with_capacity(1 << 20, crate::interrupt::Writer(output)),
        Compression::new(6),
    );
    io::copy(&mut input, &mut enc)?;
    let buf = enc.finish()?;
    buf.into_inner().map(|w| w.0).map_err(|e| e.into_error())
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
