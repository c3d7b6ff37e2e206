//! One line for every bad input, naming the object and what to do; a plain database accepted
//! where a backup is expected; the write guard on every writer, bound to the content of a
//! rehearsal copy.

use rusqlite::Connection;

use crate::common::*;

/// A directory where a file is expected: the same one line from every command.
#[test]
fn a_directory_for_a_file_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("backups");
    std::fs::create_dir(&d).unwrap();
    let out = dir.path().join("out");
    let db = small_fixture_db(dir.path());
    let script = dir.path().join("change.sql");
    std::fs::write(
        &script,
        "UPDATE systems SET owner_clerk_user_id = 'x' WHERE 0;\n",
    )
    .unwrap();
    let sum = sha256(&db);
    for args in [
        vec!["extract", s(&d)],
        vec!["rehearse", s(&d)],
        vec!["verify", s(&d)],
        vec!["migrate", s(&d), "--yes"],
        vec!["rollback", s(&d), "--yes"],
        vec!["fingerprint", s(&d)],
        vec!["diff", s(&d), s(&db)],
        vec!["backup", s(&d), "--out", s(&out)],
        vec!["simulate-live", s(&d), "--yes"],
        vec!["verify", s(&db), "--report", s(&d)],
        vec!["verify", s(&db), "--spec", s(&d)],
        vec!["verify", s(&db), "--checks", s(&d)],
        vec!["apply", s(&db), "--sql", s(&d), "--yes"],
        vec!["rehearse", s(&db), "--sql", s(&d)],
        vec!["rehearse", s(&db), "--sql", s(&script), "--rollback", s(&d)],
        vec!["rehearse", s(&db), "--sql", s(&script), "--expect", s(&d)],
    ] {
        let r = run_in(&args, Some(dir.path()));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(r.stderr_lines().len(), 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("{}: is a directory", d.display())),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert!(!out.exists());
    assert_eq!(sha256(&db), sum);
    // an output path that is a directory: said so, with the kind of path to give
    for args in [
        vec!["extract", s(&db), "--out", s(&d)],
        vec!["fixture", "--scale", "0.01", "--out", s(&d)],
    ] {
        let r = run_in(&args, Some(dir.path()));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(
            r.stderr.trim(),
            format!(
                "preflight: {}: is a directory; give the path of the new file to write, such as {}",
                d.display(),
                d.join("out.db").display()
            ),
            "{args:?}"
        );
    }
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        3,
        "{:?}",
        leftovers(dir.path())
    );
}

/// A plain database where a gzipped backup is expected is copied (one snapshot) instead of
/// refused: a rehearsal can start from either.
#[test]
fn a_plain_database_is_accepted_where_a_backup_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let sum = sha256(&db);
    let r = run_in(&["extract", s(&db)], Some(tmp.path()));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("plain database, copied"), "{}", r.stdout);
    let copy = dir.path().join("copy.db");
    let r = run(&["extract", s(&db), "--out", s(&copy)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_same(&dump(&copy), &dump(&db), "the copy of a plain database");
    assert!(preflight::guard::is_rehearsal_copy(&copy));
    let r = run_in(&["rehearse", s(&db)], Some(tmp.path()));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(sha256(&db), sum, "the source is untouched");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// A rehearsal of a plain database names the user's file in its messages, never the
/// temporary copy it works on.
#[test]
fn a_rehearsal_names_the_users_file_not_its_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("blog.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);")
        .unwrap();
    let r = run(&["rehearse", s(&db)]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("does not exist in {}", db.display())),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(".preflight-"), "{}", r.stderr);
}

/// `cp prod.db copy.db` over a rehearsal copy keeps its inode but not its content: preflight
/// no longer takes it for a copy, and asks. After preflight's own writes, it still is one.
#[test]
fn the_rehearsal_mark_follows_the_content_not_the_inode() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let r = run(&["extract", s(&small_fixture_gz()), "--out", s(&copy)]);
    assert_eq!(r.code, 0, "{r:?}");
    // preflight's own writes keep the mark: migrate, then rollback, without --yes
    for args in [vec!["migrate", s(&copy)], vec!["rollback", s(&copy)]] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
    }
    // production copied over it, in place
    let prod = dir.path().join("prod.db");
    gunzip(&small_fixture_gz(), &prod);
    Connection::open(&prod)
        .unwrap()
        .execute_batch("UPDATE systems SET display_name = 'Production' WHERE id = 1")
        .unwrap();
    let ino =
        |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = ino(&copy);
    let st = std::process::Command::new("cp")
        .arg(&prod)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(ino(&copy), before, "cp wrote over the same inode");
    let sum = sha256(&copy);
    for args in [
        vec!["migrate", s(&copy)],
        vec!["rollback", s(&copy)],
        vec!["simulate-live", s(&copy), "--count", "1"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains("without confirmation"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(sha256(&copy), sum, "nothing was written");
}

/// `simulate-live` writes to a database like `migrate` does: only with --yes (or YES typed),
/// unless it is a rehearsal copy.
#[test]
fn simulate_live_is_under_the_write_guard() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let sum = sha256(&db);
    let r = run(&[
        "simulate-live",
        s(&db),
        "--count",
        "2",
        "--interval-ms",
        "0",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stderr.trim(),
        format!(
            "preflight: refusing to write to {} without confirmation: pass --yes, or run on a terminal and type YES",
            db.display()
        )
    );
    assert_eq!(sha256(&db), sum);
    let r = run(&[
        "simulate-live",
        s(&db),
        "--count",
        "2",
        "--interval-ms",
        "0",
        "--yes",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let copy = dir.path().join("copy.db");
    assert_eq!(
        run(&["extract", s(&small_fixture_gz()), "--out", s(&copy)]).code,
        0
    );
    let r = run(&[
        "simulate-live",
        s(&copy),
        "--count",
        "2",
        "--interval-ms",
        "0",
    ]);
    assert_eq!(r.code, 0, "a rehearsal copy needs no confirmation: {r:?}");
}

/// `--log-file` appends: never to the database itself, a backup or another SQLite file.
#[test]
fn a_log_file_is_never_a_database_or_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let backup = dir.path().join("b.db.gz");
    std::fs::copy(small_fixture_gz(), &backup).unwrap();
    let sums = (sha256(&db), sha256(&backup));
    for (cmd, log, said) in [
        ("migrate", &db, "an input of this command"),
        ("rollback", &db, "an input of this command"),
        ("migrate", &backup, "gzip"),
    ] {
        let r = run(&[cmd, s(&db), "--yes", "--log-file", s(log)]);
        assert_eq!(r.code, 2, "{cmd} --log-file {}: {r:?}", log.display());
        assert!(
            r.stderr.contains("--log-file would write over") && r.stderr.contains(said),
            "{}",
            r.stderr
        );
    }
    assert_eq!((sha256(&db), sha256(&backup)), sums);
}
