//! `preflight extract`, and every bad input it must refuse cleanly.

use rstest::rstest;

use crate::common::*;

#[test]
fn extract_prints_size_and_counts_and_removes_its_temporary_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run_in(&["extract", s(&small_fixture_gz())], Some(tmp.path()));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("integrity") && r.stdout.contains("ok"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains(" readings ") && l.contains(" 2,536 ")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("removed on exit"));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the temporary copy must go"
    );
}

#[test]
fn extract_out_keeps_a_marked_rehearsal_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rehearsal.db");
    let r = run(&["extract", s(&small_fixture_gz()), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(preflight::guard::is_rehearsal_copy(&out));
    let original = dir.path().join("plain.db");
    gunzip(&small_fixture_gz(), &original);
    assert_eq!(dump(&original), dump(&out));
}

/// Each bad input: exit 2, one line naming the file and the problem, nothing left behind.
#[rstest]
#[case::not_gzip("junk.db.gz", "not a gzip file")]
#[case::truncated_gzip("truncated.db.gz", "truncated gzip")]
#[case::gzip_of_a_non_sqlite_file("not-sqlite.db.gz", "does not hold a SQLite database")]
#[case::corrupted_database_page("corrupt-page.db.gz", "fails its integrity check")]
#[case::manifest_mismatch("manifest-mismatch.db.gz", "manifest-mismatch.manifest.json records")]
fn bad_backups_are_refused(
    #[case] file: &str,
    #[case] problem: &str,
    #[values(false, true)] with_out: bool,
) {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let mut path = repo("fixtures/broken").join(file);
    if !path.exists() {
        // neither gzip nor a SQLite database
        path = inputs.path().join(file);
        std::fs::write(&path, b"this is neither a gzip file nor a database\n").unwrap();
    }
    let out = tmp.path().join("out.db");
    let mut args = vec!["extract", s(&path)];
    if with_out {
        args.extend(["--out", s(&out)]);
    }
    let r = run_in(&args, Some(tmp.path()));
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(r.stderr.contains(file), "names the file: {}", r.stderr);
    assert!(
        r.stderr.contains(problem),
        "names the problem: {}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "left behind: {:?}",
        leftovers(tmp.path())
    );
}

#[test]
fn missing_backup_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run_in(&["extract", "/no/such/backup.db.gz"], Some(tmp.path()));
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "preflight: /no/such/backup.db.gz: no such file"
    );
}

#[test]
fn existing_output_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("keep.db");
    std::fs::write(&out, b"precious").unwrap();
    let r = run_in(
        &["extract", s(&small_fixture_gz()), "--out", s(&out)],
        Some(tmp.path()),
    );
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr_lines().len(), 1);
    assert!(
        r.stderr.contains("keep.db") && r.stderr.contains("already exists"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn unwritable_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ro = tmp.path().join("readonly");
    std::fs::create_dir(&ro).unwrap();
    let gz = tmp.path().join("small.db.gz");
    std::fs::copy(small_fixture_gz(), &gz).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&gz, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = ro.join("x.db");
    // root ignores directory permissions: run as an unprivileged user then
    let mut cmd = if is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_preflight"),
        ]);
        c
    } else {
        preflight()
    };
    let o = cmd
        .args(["extract", s(&gz), "--out", s(&out)])
        .env("TMPDIR", &ro)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("readonly") && stderr.contains("not writable"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}
