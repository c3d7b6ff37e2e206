//! The kill matrix: every command that writes, or holds copies of the data in temporary files,
//! stopped by SIGINT, SIGTERM or SIGKILL at seeded random moments of an uninterrupted run's
//! duration, then run again. Nothing may be left in TMPDIR or beside the output, a SIGINT or
//! SIGTERM must end with one line and exit 130 / 143, and what the writers leave must equal what
//! an uninterrupted run leaves.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rstest::rstest;

use crate::common::*;

/// Random moments per signal and command (three signals: six trials per command).
const MOMENTS: usize = 2;
const SIGNALS: [(&str, i32); 3] = [("SIGINT", 2), ("SIGTERM", 15), ("SIGKILL", 9)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Rehearse,
    Extract,
    ExtractOut,
    Backup,
    Fixture,
    Migrate,
    Rollback,
    Apply,
}

/// Inputs made once for every trial: a scale-0.05 fixture (plain and gzipped) and the same
/// database migrated. A static is never dropped, so they live in cargo's target tmp directory
/// (not the system's), one directory per test process; a run removes what ended processes left.
struct Inputs {
    db: PathBuf,
    gz: PathBuf,
    migrated: PathBuf,
    script: PathBuf,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("interrupt-inputs-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = root.join(format!("interrupt-inputs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("base.db");
        let gz = dir.join("base.db.gz");
        for out in [&db, &gz] {
            let r = run(&["fixture", "--scale", "0.05", "--seed", "7", "--out", s(out)]);
            assert_eq!(r.code, 0, "{r:?}");
        }
        let migrated = dir.join("migrated.db");
        std::fs::copy(&db, &migrated).unwrap();
        let r = run(&["migrate", s(&migrated), "--yes", "--batch-size", "2000"]);
        assert_eq!(r.code, 0, "{r:?}");
        let script = dir.join("change.sql");
        std::fs::write(
            &script,
            "UPDATE readings SET battery_soc = round(battery_soc, 0);\n\
             UPDATE systems SET timezone_offset_min = 600;\n\
             CREATE TABLE IF NOT EXISTS applied (id INTEGER PRIMARY KEY, note TEXT);\n\
             INSERT OR IGNORE INTO applied VALUES (1, 'change.sql');\n",
        )
        .unwrap();
        Inputs {
            db,
            gz,
            migrated,
            script,
        }
    })
}

/// Lay out a trial's working directory and return the command line.
fn prepare(cmd: Cmd, work: &Path) -> Vec<String> {
    let i = inputs();
    let copy = |from: &Path| {
        let to = work.join("target.db");
        std::fs::copy(from, &to).unwrap();
        to.display().to_string()
    };
    let w = |name: &str| work.join(name).display().to_string();
    let args: Vec<String> = match cmd {
        // the bundled fixture: a full rehearsal takes a few seconds
        Cmd::Rehearse => vec!["rehearse".into(), s(&small_fixture_gz()).into()],
        Cmd::Extract => vec!["extract".into(), s(&i.gz).into()],
        Cmd::ExtractOut => vec![
            "extract".into(),
            s(&i.gz).into(),
            "--out".into(),
            w("copy.db"),
        ],
        Cmd::Backup => {
            let src = copy(&i.db);
            vec!["backup".into(), src, "--out".into(), w("backups")]
        }
        Cmd::Fixture => vec![
            "fixture".into(),
            "--scale".into(),
            "0.03".into(),
            "--seed".into(),
            "9".into(),
            "--out".into(),
            w("fixture.db"),
        ],
        Cmd::Migrate => {
            let t = copy(&i.db);
            vec![
                "migrate".into(),
                t,
                "--yes".into(),
                "--batch-size".into(),
                "2000".into(),
            ]
        }
        Cmd::Rollback => vec!["rollback".into(), copy(&i.migrated), "--yes".into()],
        Cmd::Apply => {
            let t = copy(&i.db);
            vec![
                "apply".into(),
                t,
                "--sql".into(),
                s(&i.script).into(),
                "--yes".into(),
            ]
        }
    };
    args
}

/// What a writer leaves (None for commands that only read): its output's content.
fn outcome(cmd: Cmd, work: &Path) -> Option<Dump> {
    match cmd {
        Cmd::Rehearse | Cmd::Extract => None,
        Cmd::ExtractOut => Some(dump(&work.join("copy.db"))),
        Cmd::Fixture => Some(dump(&work.join("fixture.db"))),
        Cmd::Migrate => Some(content_without_clocks(&work.join("target.db"))),
        Cmd::Rollback | Cmd::Apply => Some(dump(&work.join("target.db"))),
        Cmd::Backup => {
            let dir = work.join("backups");
            let backups: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            let gz: Vec<&PathBuf> = backups
                .iter()
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    name.ends_with(".db.gz") && !name.starts_with(".preflight-")
                })
                .collect();
            if gz.is_empty() {
                return Some(Dump::new());
            }
            // every backup there is complete: its manifest beside it, its content the source's
            let mut first = None;
            for g in gz {
                let name = g
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .replace(".db.gz", "");
                assert!(
                    dir.join(format!("{name}.manifest.json")).is_file(),
                    "{} has no manifest",
                    g.display()
                );
                let plain = work.join("restored.db");
                gunzip(g, &plain);
                let d = dump(&plain);
                std::fs::remove_file(&plain).unwrap();
                assert!(first.as_ref().is_none_or(|f| f == &d), "two backups differ");
                first = Some(d);
            }
            first
        }
    }
}

/// Whether the command's output is complete (so running it again would only say it exists).
fn output_done(cmd: Cmd, work: &Path, expected: &Option<Dump>) -> bool {
    match cmd {
        Cmd::ExtractOut | Cmd::Fixture | Cmd::Backup | Cmd::Rollback | Cmd::Apply => {
            let exists = match cmd {
                Cmd::ExtractOut => work.join("copy.db").exists(),
                Cmd::Fixture => work.join("fixture.db").exists(),
                Cmd::Backup => outcome(cmd, work).is_some_and(|d| !d.is_empty()),
                _ => true,
            };
            exists && outcome(cmd, work) == *expected
        }
        _ => false,
    }
}

/// Names in a directory (digits masked: backups carry a time stamp), SQLite's and preflight's
/// temporary files included.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let sub = if e.path().is_dir() {
                        format!("/{:?}", listing(&e.path()))
                    } else {
                        String::new()
                    };
                    name.chars()
                        .map(|c| if c.is_ascii_digit() { '#' } else { c })
                        .collect::<String>()
                        + &sub
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

struct Trial {
    work: PathBuf,
    tmp: PathBuf,
    _dir: tempfile::TempDir,
}

fn trial() -> Trial {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&work).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    Trial {
        work,
        tmp,
        _dir: dir,
    }
}

/// Run to the end with TMPDIR set; the exit code and stderr.
fn run_to_end(args: &[String], tmp: &Path) -> (i32, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_in(&args, Some(tmp));
    (r.code, r.stderr)
}

/// Start the command, send `sig` after `delay`, and wait for it: the exit code (None when a
/// signal ended it) and stderr.
fn run_and_signal(args: &[String], tmp: &Path, sig: i32, delay: Duration) -> (Option<i32>, String) {
    let err_path = tmp.parent().unwrap().join("stderr.txt");
    let mut child = preflight()
        .args(args)
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: the child is ours and has not been waited for, so its pid is still its own
    unsafe { libc::kill(pid, sig) };
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{args:?} did not stop within 60 s of signal {sig}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    std::fs::remove_file(&err_path).unwrap();
    (status.code(), stderr)
}

#[rstest]
#[case::rehearse(Cmd::Rehearse, 1)]
#[case::extract(Cmd::Extract, 2)]
#[case::extract_out(Cmd::ExtractOut, 3)]
#[case::backup(Cmd::Backup, 4)]
#[case::fixture(Cmd::Fixture, 5)]
#[case::migrate(Cmd::Migrate, 6)]
#[case::rollback(Cmd::Rollback, 7)]
#[case::apply(Cmd::Apply, 8)]
fn stopped_at_random_moments_then_run_again(#[case] cmd: Cmd, #[case] seed: u64) {
    // the uninterrupted run: how long it takes, what it leaves
    let reference = trial();
    let args = prepare(cmd, &reference.work);
    let started = Instant::now();
    let (code, stderr) = run_to_end(&args, &reference.tmp);
    let duration = started.elapsed();
    assert_eq!(code, 0, "{args:?}: {stderr}");
    let expected = outcome(cmd, &reference.work);
    let expected_files = listing(&reference.work);
    assert!(
        listing(&reference.tmp).is_empty(),
        "{:?}",
        listing(&reference.tmp)
    );

    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
    // one trial: the command stopped by `sig` after `delay`, judged, then run again; whether the
    // signal came too late (the command had finished)
    let attempt = |name: &str, sig: i32, delay: Duration, moment: usize| -> bool {
        let what = format!("{args:?} stopped by {name} after {delay:?} (trial {moment})");
        let t = trial();
        let args = prepare(cmd, &t.work);
        let (code, stderr) = run_and_signal(&args, &t.tmp, sig, delay);
        let finished = code == Some(0);
        if sig != 9 && !finished {
            assert_eq!(code, Some(128 + sig), "{what}: {stderr}");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{what}: one line: {stderr}");
            assert!(
                lines[0].starts_with(&format!("preflight: interrupted by {name}")),
                "{what}: {stderr}"
            );
            // nothing left behind, before anything runs again
            assert!(
                listing(&t.tmp).is_empty(),
                "{what}: TMPDIR holds {:?}",
                listing(&t.tmp)
            );
            let left: Vec<String> = listing(&t.work)
                .into_iter()
                .filter(|n| !expected_files.contains(n))
                .collect();
            assert!(left.is_empty(), "{what}: left beside the output: {left:?}");
        }
        // a SIGKILL that came after the output was complete leaves nothing to run again for
        let complete = sig == 9 && output_done(cmd, &t.work, &expected);
        if !finished && !complete {
            let (code, stderr) = run_to_end(&args, &t.tmp);
            assert_eq!(code, 0, "{what}, then run again: {stderr}");
        }
        assert!(
            listing(&t.tmp).is_empty(),
            "{what}: TMPDIR holds {:?} after the second run",
            listing(&t.tmp)
        );
        assert_eq!(
            listing(&t.work),
            expected_files,
            "{what}: the files beside the output"
        );
        if let Some(expected) = &expected {
            let got = outcome(cmd, &t.work).unwrap();
            if let Some(d) = first_difference(&got, expected) {
                panic!("{what}: not what an uninterrupted run leaves: {d}");
            }
        }
        finished
    };
    let mut interrupted = 0;
    for (name, sig) in SIGNALS {
        for moment in 0..MOMENTS {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // a moment between 5 % and 95 % of the uninterrupted run
            let fraction = 0.05 + 0.9 * (state % 1000) as f64 / 1000.0;
            interrupted += usize::from(!attempt(name, sig, duration.mul_f64(fraction), moment));
        }
    }
    // on a machine whose load fell since the reference run, late moments come after the end:
    // more trials, early in the run, until enough were really stopped (each judged the same way)
    let mut extra = 0;
    while interrupted < SIGNALS.len() && extra < 2 * SIGNALS.len() {
        let (name, sig) = SIGNALS[extra % SIGNALS.len()];
        let fraction = 0.02 + 0.03 * (extra / SIGNALS.len()) as f64;
        interrupted += usize::from(!attempt(
            name,
            sig,
            duration.mul_f64(fraction),
            MOMENTS + extra,
        ));
        extra += 1;
    }
    assert!(
        interrupted >= SIGNALS.len(),
        "{args:?}: only {interrupted} of {} trials stopped the command before it finished",
        SIGNALS.len() * MOMENTS + extra
    );
}

/// A second signal while the first is being handled exits at once, and still removes every
/// temporary file. (Two signals sent back to back; should the orderly stop win the race, it
/// must be just as clean, but at least one of the tries has to take the exit at once.)
#[test]
fn a_second_signal_exits_at_once_and_still_removes_temporary_files() {
    let i = inputs();
    let mut at_once = 0;
    for _ in 0..3 {
        let t = trial();
        let child = preflight()
            .args(["rehearse", s(&i.gz)])
            .env("TMPDIR", &t.tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // until the rehearsal's copy of the data exists
        let started = Instant::now();
        while listing(&t.tmp).is_empty() {
            assert!(started.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(300));
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: our child, not yet waited for
        unsafe {
            libc::kill(pid, libc::SIGINT);
            libc::kill(pid, libc::SIGTERM);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(130) | Some(143)),
            "{:?}: {stderr}",
            out.status
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("preflight: interrupted by SIG"),
            "{stderr}"
        );
        at_once += usize::from(stderr.contains("stopped at once"));
        assert!(
            listing(&t.tmp).is_empty(),
            "TMPDIR holds {:?}",
            listing(&t.tmp)
        );
    }
    assert!(at_once > 0, "no try took the exit at once");
}

/// `migrate` without `--yes` on a terminal: stdin is a pseudo-terminal (openpty), so the
/// command asks for YES; the signals come while it waits there. One signal, or two back to
/// back: the exit status of the first, one line saying nothing was written, the database
/// untouched and nothing left in TMPDIR.
#[rstest]
#[case::sigint(&[libc::SIGINT], 130)]
#[case::sigterm(&[libc::SIGTERM], 143)]
#[case::two_signals(&[libc::SIGINT, libc::SIGINT], 130)]
fn a_signal_at_the_confirmation_prompt_writes_nothing(#[case] sigs: &[i32], #[case] code: i32) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let t = trial();
    let db = small_fixture_db(&t.work);
    let before = std::fs::read(&db).unwrap();
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes the two descriptors it opens; no name, settings or size given
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned here alone
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = preflight()
        .args(["migrate", s(&db)])
        .env("TMPDIR", &t.tmp)
        .stdin(Stdio::from(slave))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut said = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&said).contains("Type YES to continue: ") {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&said));
        said.extend_from_slice(&buf[..n]);
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    for &sig in sigs {
        // SAFETY: our child, not yet waited for
        unsafe { libc::kill(pid, sig) };
    }
    let status = child.wait().unwrap();
    stderr.read_to_end(&mut said).unwrap();
    drop(master);
    let said = String::from_utf8_lossy(&said);
    assert_eq!(status.code(), Some(code), "{said}");
    let last = said.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("preflight: interrupted by SIG")
            && last.ends_with("at the confirmation prompt: nothing was written"),
        "{said}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the database changed");
    assert_eq!(
        listing(&t.work),
        vec!["liveone.db".to_string()],
        "beside the database"
    );
    assert!(
        listing(&t.tmp).is_empty(),
        "TMPDIR holds {:?}",
        listing(&t.tmp)
    );
}

/// A panic inside a command (debug builds have a switch for one, right after the rehearsal
/// extracted its copy of the data) still removes the run's temporary directory.
#[test]
fn a_panic_mid_command_leaves_no_temporary_file() {
    let i = inputs();
    let t = trial();
    let out = preflight()
        .args(["rehearse", s(&i.gz)])
        .env("TMPDIR", &t.tmp)
        .env("PREFLIGHT_DEBUG_PANIC", "rehearse-extracted")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stderr}");
    assert!(
        stderr.contains("PREFLIGHT_DEBUG_PANIC=rehearse-extracted: a panic on purpose"),
        "{stderr}"
    );
    assert!(
        listing(&t.tmp).is_empty(),
        "TMPDIR holds {:?}",
        listing(&t.tmp)
    );
}
