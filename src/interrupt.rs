//! Ctrl-C, SIGTERM, and the temporary files of one run.
//!
//! The first SIGINT or SIGTERM asks the command to stop at its next safe point: every SQLite
//! statement polls for it (a progress handler, and a busy handler that stops waiting), loops
//! check it between steps, and a call to a server gives up. The command's error unwinds, the
//! open transaction is rolled back, and `main` removes every temporary file, prints one line
//! saying what was interrupted and what state the target is in, and exits 130 (SIGINT) or 143
//! (SIGTERM). A second signal, or one that arrives while preflight waits at a prompt, removes
//! the temporary files and exits at once.
//!
//! Temporary files live in one directory per run in `TMPDIR` (`.preflight-run-<pid>-XXXXXX`),
//! except outputs that are renamed into place, which are written beside them under the name
//! `.preflight-<what>-<pid>-XXXXXX…`. Both are removed when the run ends, whatever way it ends
//! short of SIGKILL; a run that was killed outright (SIGKILL, power loss) leaves them behind, and
//! the next run recognises them by the process id of a process that no longer exists and
//! removes them (`sweep`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::fsutil::FsError;

/// The first signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Set while nothing is in progress that a safe stop must finish (a confirmation prompt): a
/// signal then exits at once.
static IMMEDIATE: AtomicBool = AtomicBool::new(false);

#[derive(Default)]
struct State {
    /// This run's directory in TMPDIR, created on first use.
    run_dir: Option<tempfile::TempDir>,
    /// Outputs being written under a temporary name beside their destination.
    partials: Vec<PathBuf>,
    /// What the command is doing, and what state its target is in if it stops now.
    task: Option<(String, String)>,
    /// Whether the command writes to a database in place (an exit at once can then cut a
    /// transaction short).
    writes: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    run_dir: None,
    partials: Vec::new(),
    task: None,
    writes: false,
});

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The prefix of every temporary name preflight makes.
pub const PREFIX: &str = ".preflight-";

/// Handle SIGINT and SIGTERM from now on (a thread waits for them).
pub fn install() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    let first = SIGNAL
                        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok();
                    if !first || IMMEDIATE.load(Ordering::SeqCst) {
                        exit_now(sig, !first);
                    }
                }
            })?;
    }
    Ok(())
}

/// Whether a signal asked the command to stop.
pub fn requested() -> bool {
    SIGNAL.load(Ordering::Relaxed) != 0
}

/// The signal that asked the command to stop, if any.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit status after a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(130)
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Say what the command is doing and what state its target is in should it stop now; the
/// line printed after an interrupt is made of both.
pub fn task(doing: impl Into<String>, state_if_stopped: impl Into<String>) {
    let mut st = state();
    st.task = Some((doing.into(), state_if_stopped.into()));
    st.writes = false;
}

/// The same for a command that writes to a database in place.
pub fn writing(doing: impl Into<String>, state_if_stopped: impl Into<String>) {
    let mut st = state();
    st.task = Some((doing.into(), state_if_stopped.into()));
    st.writes = true;
}

/// The one line printed when a signal stopped the command.
pub fn message(sig: i32) -> String {
    message_with(&state(), sig, false)
}

/// Run `f` (a prompt) with signals exiting at once: nothing is in progress.
pub fn at_prompt<T>(f: impl FnOnce() -> T) -> T {
    IMMEDIATE.store(true, Ordering::SeqCst);
    if let Some(sig) = signal() {
        exit_now(sig, false);
    }
    let out = f();
    IMMEDIATE.store(false, Ordering::SeqCst);
    out
}

fn exit_now(sig: i32, second: bool) -> ! {
    // keep the state locked until the process ends: no temporary file can be made meanwhile
    let mut st = state();
    remove_all(&mut st);
    if IMMEDIATE.load(Ordering::SeqCst) && !second {
        // the prompt left the cursor on its line
        eprintln!();
    }
    eprintln!("{}", message_with(&st, sig, second));
    std::process::exit(exit_code(sig).into())
}

fn message_with(st: &State, sig: i32, at_once: bool) -> String {
    let (doing, after) = st
        .task
        .clone()
        .unwrap_or_else(|| ("starting".into(), "nothing was written".into()));
    if IMMEDIATE.load(Ordering::SeqCst) && !at_once {
        return format!(
            "preflight: interrupted by {} at the confirmation prompt: nothing was written",
            signal_name(sig)
        );
    }
    let how = if at_once { ", stopped at once" } else { "" };
    let after = if at_once && st.writes {
        format!(
            "{after} (a transaction cut short is rolled back by SQLite the next time the database is opened)"
        )
    } else {
        after
    };
    format!(
        "preflight: interrupted by {}{how} while {doing}: {after}; temporary files removed",
        signal_name(sig)
    )
}

/// Stop here if a signal asked for it.
pub fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// The error of work stopped by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

impl From<Interrupted> for std::io::Error {
    fn from(_: Interrupted) -> Self {
        std::io::Error::other("interrupted")
    }
}

/// A reader that stops (with an error) once a signal asked to stop.
pub struct Reader<R>(pub R);

impl<R: std::io::Read> std::io::Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        check()?;
        self.0.read(buf)
    }
}

/// A writer that stops (with an error) once a signal asked to stop.
pub struct Writer<W>(pub W);

impl<W: std::io::Write> std::io::Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        check()?;
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Make a SQLite connection stop its statement when a signal asks (a progress handler), and
/// wait for locks held by others for at most `busy` without ignoring signals meanwhile.
pub fn watch(conn: &mut rusqlite::Connection, busy: Duration) -> rusqlite::Result<()> {
    conn.progress_handler(1_000, Some(requested))?;
    let limit = busy.as_millis();
    conn.busy_handler(Some(move |n: i32| {
        if requested() {
            return false;
        }
        // waits of 1, 2, 4 … 64 ms, then 100 ms each
        let step = if n < 7 { 1u64 << n } else { 100 };
        let waited: u128 = (0..n).map(|k| if k < 7 { 1u128 << k } else { 100 }).sum();
        if waited >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(step));
        !requested()
    }))
}

/// This run's directory for temporary files (in TMPDIR, readable by its owner only), created
/// on first use and removed when the run ends.
pub fn run_dir() -> Result<PathBuf, FsError> {
    let mut st = state();
    if let Some(d) = &st.run_dir {
        return Ok(d.path().to_path_buf());
    }
    let tmp = std::env::temp_dir();
    sweep(&tmp);
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}run-{}-", std::process::id()))
        .tempdir_in(&tmp)
        .map_err(|e| FsError::io(&tmp, e))?;
    let path = dir.path().to_path_buf();
    st.run_dir = Some(dir);
    Ok(path)
}

/// Make a temporary file in `dir` through `make` and remember it, so that it is removed (with
/// SQLite's side files) however the run ends.
pub fn register<T, E>(
    path_of: impl Fn(&T) -> PathBuf,
    make: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let mut st = state();
    let made = make()?;
    st.partials.push(path_of(&made));
    Ok(made)
}

/// The file at `path` is no longer temporary (it was renamed into place or removed).
pub fn forget(path: &Path) {
    state().partials.retain(|p| p != path);
}

/// SQLite's files beside a database: its rollback journal, write-ahead log and shared memory.
pub fn side_files(path: &Path) -> [PathBuf; 3] {
    ["-journal", "-wal", "-shm"].map(|s| {
        let mut name = path.as_os_str().to_os_string();
        name.push(s);
        PathBuf::from(name)
    })
}

fn remove_all(st: &mut State) {
    for p in st.partials.drain(..) {
        let _ = std::fs::remove_file(&p);
        for side in side_files(&p) {
            let _ = std::fs::remove_file(side);
        }
    }
    if let Some(d) = st.run_dir.take() {
        let path = d.path().to_path_buf();
        // a file made there meanwhile would stop the first attempt
        for _ in 0..3 {
            if std::fs::remove_dir_all(&path).is_ok() || !path.exists() {
                break;
            }
        }
        std::mem::forget(d);
    }
}

/// Remove every temporary file of this run.
pub fn cleanup() {
    remove_all(&mut state());
}

/// A panic on purpose at the point named `at`, when the environment variable
/// `PREFLIGHT_DEBUG_PANIC` names it: a hidden switch of debug builds only (release builds
/// compile it away), for the test that a panic still removes the run's temporary files.
#[cfg(debug_assertions)]
pub fn debug_panic(at: &str) {
    if std::env::var("PREFLIGHT_DEBUG_PANIC").as_deref() == Ok(at) {
        panic!("PREFLIGHT_DEBUG_PANIC={at}: a panic on purpose (debug builds only)");
    }
}

#[cfg(not(debug_assertions))]
pub fn debug_panic(_at: &str) {}

/// Removes every temporary file of the run when dropped, also while a panic unwinds.
pub struct RunGuard(());

impl RunGuard {
    pub fn start() -> RunGuard {
        RunGuard(())
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        cleanup();
    }
}

/// Whether the process `pid` exists.
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks whether the process exists
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

/// The process id in a temporary name of ours (`.preflight-<what>-<pid>-…`).
pub fn owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(3, '-');
    let what = parts.next()?;
    let pid = parts.next()?;
    let _random = parts.next()?;
    if what.is_empty() || !what.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Remove what runs that no longer exist (killed, or cut off by a power loss) left in `dir`:
/// files and directories named `.preflight-<what>-<pid>-…` whose process is gone.
pub fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(owner) else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_read_from_our_names_only() {
        assert_eq!(owner(".preflight-extract-4242-a1B2c3.db"), Some(4242));
        assert_eq!(owner(".preflight-run-17-xyz"), Some(17));
        assert_eq!(owner(".preflight-extract-a1B2c3.db"), None);
        assert_eq!(owner(".preflight-extract-12"), None);
        assert_eq!(owner("x.db.preflight-rehearsal"), None);
        assert_eq!(owner(".preflight-Run-17-x"), None);
    }

    #[test]
    fn sweeping_removes_files_of_dead_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 is never a process of ours to ask about; pick a pid far above pid_max instead
        let dead = dir.path().join(".preflight-backup-99999999-abc.db");
        let dead_side = dir.path().join(".preflight-backup-99999999-abc.db-journal");
        let dead_dir = dir.path().join(".preflight-run-99999999-abc");
        let mine = dir
            .path()
            .join(format!(".preflight-backup-{}-abc.db", std::process::id()));
        let other = dir.path().join("backup.db.gz");
        std::fs::create_dir(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("copy.db"), b"x").unwrap();
        for f in [&dead, &dead_side, &mine, &other] {
            std::fs::write(f, b"x").unwrap();
        }
        sweep(dir.path());
        assert!(!dead.exists() && !dead_side.exists() && !dead_dir.exists());
        assert!(mine.exists() && other.exists());
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(2), 130);
        assert_eq!(exit_code(15), 143);
    }
}
