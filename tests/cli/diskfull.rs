//! A full disk and a read-only file system, on a small tmpfs the test mounts: exit 2 with the
//! path and the space needed, nothing half-written left behind, the source untouched.
//!
//! Mounting needs root. These tests are ignored in a plain `cargo test` (so they are never
//! counted as passed when they could not run) and `scripts/test.sh` runs them with
//! `--ignored` when it runs as root, and says so when it cannot.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::common::*;

/// A tmpfs of `kib` KiB, unmounted when dropped.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(kib: u64, read_only: bool) -> SmallFs {
        assert!(
            is_root(),
            "the disk-full tests need root to mount a tmpfs: run them through scripts/test.sh, which runs them only as root"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut opts = format!("size={kib}k");
        if read_only {
            opts.push_str(",ro");
        }
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "mount -t tmpfs failed");
        SmallFs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remount read-only, keeping what is there.
    fn freeze(&self) {
        let st = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(st.success());
    }

    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

fn one_line_full(r: &Run, path: &Path) {
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&path.display().to_string())
            && r.stderr.contains("no space left")
            && r.stderr.contains("needed"),
        "{}",
        r.stderr
    );
}

/// The bundled fixture's database is 3.1 MB; the file system holds 2 MB.
#[test]
#[ignore = "needs root to mount a small tmpfs; scripts/test.sh runs it as root"]
fn extract_backup_fixture_and_verify_on_a_full_disk() {
    let fs = SmallFs::mount(2048, false);
    let dir = tempfile::tempdir().unwrap();
    let gz = small_fixture_gz();
    let gz_sum = sha256(&gz);
    // extract --out onto it
    let out = fs.path().join("copy.db");
    let r = run(&["extract", s(&gz), "--out", s(&out)]);
    one_line_full(&r, &out);
    assert!(r.stderr.contains("at least 3.1 MB needed"), "{}", r.stderr);
    // extract with TMPDIR on it
    let r = run_in(&["extract", s(&gz)], Some(fs.path()));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("no space left") && r.stderr.contains("3.1 MB"),
        "{}",
        r.stderr
    );
    // backup into it
    let db = small_fixture_db(dir.path());
    let db_sum = sha256(&db);
    let backups = fs.path().join("backups");
    let r = run(&["backup", s(&db), "--out", s(&backups)]);
    one_line_full(&r, &backups);
    // verify with TMPDIR on it (its snapshot copy does not fit)
    let r = run_in(&["verify", s(&db)], Some(fs.path()));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("no space left") && r.stderr.contains("needed"),
        "{}",
        r.stderr
    );
    // a fixture whose size is only known once written
    let fixture = fs.path().join("fixture.db");
    let r = run(&["fixture", "--scale", "0.02", "--out", s(&fixture)]);
    one_line_full(&r, fs.path());
    assert!(
        fs.entries().is_empty(),
        "left on the full disk: {:?}",
        fs.entries()
    );
    assert_eq!(sha256(&gz), gz_sum);
    assert_eq!(sha256(&db), db_sum);
}

/// Room for the backup's snapshot copy but not for its gzip beside it: the disk fills up half
/// way, and the error names the output directory (not the source), with nothing left there.
#[test]
#[ignore = "needs root to mount a small tmpfs; scripts/test.sh runs it as root"]
fn a_backup_that_fills_the_disk_half_way_names_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let size = std::fs::metadata(&db).unwrap().len();
    // the snapshot fits, with about 200 kB to spare; its gzip (about 740 kB) does not
    let fs = SmallFs::mount(size / 1024 + 200, false);
    let sum = sha256(&db);
    let r = run(&["backup", s(&db), "--out", s(fs.path())]);
    one_line_full(&r, fs.path());
    assert!(
        !r.stderr.contains("liveone.db"),
        "the source is not what is full: {}",
        r.stderr
    );
    // it failed half way (the check before writing found room for the snapshot)
    assert!(
        r.stderr.contains(" kB free") || r.stderr.contains(" 0 B free"),
        "{}",
        r.stderr
    );
    assert!(fs.entries().is_empty(), "left: {:?}", fs.entries());
    assert_eq!(sha256(&db), sum);
}

/// A migration that fills the disk mid-run: the open batch is rolled back, the file holds
/// whole batches only (its journal proves itself), and nothing else is left beside it.
#[test]
#[ignore = "needs root to mount a small tmpfs; scripts/test.sh runs it as root"]
fn a_migration_that_fills_the_disk_stops_cleanly() {
    let fs = SmallFs::mount(4 * 1024, false);
    let db: PathBuf = fs.path().join("live.db");
    gunzip(&small_fixture_gz(), &db);
    let r = run(&["migrate", s(&db), "--yes", "--batch-size", "200"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&db.display().to_string())
            && r.stderr.contains("no space left")
            && r.stderr.contains("rolled back"),
        "{}",
        r.stderr
    );
    assert_eq!(fs.entries(), vec!["live.db".to_string()]);
    let c = Connection::open(&db).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    drop(c);
    // some batches were kept, and rollback undoes exactly them (on a disk with room)
    let elsewhere = tempfile::tempdir().unwrap();
    let plain = small_fixture_db(elsewhere.path());
    let moved = elsewhere.path().join("moved.db");
    std::fs::copy(&db, &moved).unwrap();
    assert!(
        scalar(
            &Connection::open(&moved).unwrap(),
            "SELECT count(*) FROM preflight_journal"
        ) > 0,
        "no batch was kept before the disk filled up"
    );
    let r = run(&["rollback", s(&moved), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_same(
        &dump(&moved),
        &dump(&plain),
        "rolled back after a full disk",
    );
}

/// A read-only file system: writers refuse before writing, with the path.
#[test]
#[ignore = "needs root to mount a small tmpfs; scripts/test.sh runs it as root"]
fn a_read_only_file_system_is_refused_before_anything_is_written() {
    let fs = SmallFs::mount(8 * 1024, false);
    let db = fs.path().join("live.db");
    gunzip(&small_fixture_gz(), &db);
    fs.freeze();
    let sum = sha256(&db);
    for (args, said) in [
        (vec!["migrate", s(&db), "--yes"], "read-only file system"),
        (vec!["rollback", s(&db), "--yes"], "read-only file system"),
        (
            vec!["simulate-live", s(&db), "--yes", "--count", "1"],
            "read-only file system",
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains(&db.display().to_string()) && r.stderr.contains(said),
            "{args:?}: {}",
            r.stderr
        );
    }
    let out = fs.path().join("backups");
    let r = run(&["backup", s(&db), "--out", s(&out)]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    // reading still works
    let r = run(&["verify", s(&db)]);
    assert_ne!(r.code, 2, "{}", r.stderr);
    assert_eq!(sha256(&db), sum);
    assert_eq!(fs.entries(), vec!["live.db".to_string()]);
}
