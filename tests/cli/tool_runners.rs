//! One file executed as a migration tool executes one migration file (`--runner drizzle`,
//! `--runner dbmate`, …), and the statements a tool never runs failing the rehearsal. Real SQLite
//! files; where the tool is installed by scripts/test.sh (drizzle-kit, dbmate), the real tool.

use std::path::{Path, PathBuf};

use preflight::report::{Report, Status};

use crate::common::tools::*;
use crate::common::*;

/// An empty database as a backup.
fn empty_backup(dir: &Path) -> PathBuf {
    let db = dir.join("empty.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE keep (x); DROP TABLE keep;")
        .unwrap();
    gz(&db)
}

fn json(r: &Run) -> Report {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

/// A drizzle folder whose one chunk holds two statements: @libsql/client runs the first only.
fn two_in_a_chunk(dir: &Path) -> PathBuf {
    let d = dir.join("drizzle");
    std::fs::create_dir_all(d.join("meta")).unwrap();
    std::fs::write(
        d.join("0000_two.sql"),
        "CREATE TABLE a (x);\nCREATE TABLE b (x);\n--> statement-breakpoint\nCREATE TABLE c (x);\n",
    )
    .unwrap();
    std::fs::write(
        d.join("meta/_journal.json"),
        r#"{"version":"7","dialect":"sqlite","entries":[{"idx":0,"version":"6","when":1700000000000,"tag":"0000_two","breakpoints":true}]}"#,
    )
    .unwrap();
    d
}

#[test]
fn a_statement_drizzle_never_runs_fails_the_directory_rehearsal() {
    let t = tempfile::tempdir().unwrap();
    let dir = two_in_a_chunk(t.path());
    // the real tool: table b is never made
    let real_db = t.path().join("real.db");
    drizzle_migrate(&dir, &real_db, t.path());
    let conn = rusqlite::Connection::open(&real_db).unwrap();
    assert_eq!(
        scalar(&conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"),
        0
    );
    assert_eq!(
        scalar(
            &conn,
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('a', 'c')"
        ),
        2
    );
    let backup = empty_backup(t.path());
    let r = run(&[
        "rehearse",
        s(&backup),
        "--migrations",
        s(&dir),
        "--tool",
        "drizzle",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let report = json(&r);
    let c = report
        .checks
        .iter()
        .find(|c| c.check == "sql.runner")
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.scope_text().ends_with("0000_two.sql:2"),
        "{}",
        c.scope_text()
    );
    assert!(
        c.found_text()
            .contains("never runs this statement: CREATE TABLE b (x);"),
        "{}",
        c.found_text()
    );
}

/// A blog database: users and posts, posts deleted with their user.
fn blog(dir: &Path, name: &str) -> PathBuf {
    let db = dir.join(name);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, title TEXT);
             INSERT INTO users VALUES (1, 'ada'), (2, 'bob');
             INSERT INTO posts VALUES (1, 1, 'hello'), (2, 2, 'hi');",
        )
        .unwrap();
    db
}

/// What `dbmate up` does with this one file, in a directory of its own, on a copy of `db`.
fn by_real_dbmate(t: &Path, file: &Path, db: &Path, name: &str) -> PathBuf {
    let dir = t.join(format!("{name}-dir"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(file, dir.join("20260101000000_file.sql")).unwrap();
    let copy = t.join(format!("{name}.db"));
    std::fs::copy(db, &copy).unwrap();
    let _ = std::process::Command::new(dbmate())
        .arg("--url")
        .arg(format!("sqlite:{}", copy.display()))
        .arg("--migrations-dir")
        .arg(&dir)
        .args(["--no-dump-schema", "up"])
        .output()
        .expect("run dbmate");
    copy
}

fn titles(db: &Path) -> Vec<Vec<rusqlite::types::Value>> {
    rows(
        &rusqlite::Connection::open(db).unwrap(),
        "SELECT * FROM posts ORDER BY id",
    )
}

#[test]
fn runner_dbmate_runs_the_up_section_with_the_files_transaction_marker_like_dbmate() {
    let t = tempfile::tempdir().unwrap();
    let base = blog(t.path(), "base.db");
    // the down section drops the table: only the up section may run
    let ok = t.path().join("ok.sql");
    std::fs::write(
        &ok,
        "-- migrate:up\nALTER TABLE posts ADD COLUMN views INTEGER NOT NULL DEFAULT 0;\nUPDATE posts SET views = 1 WHERE id = 1;\n\n-- migrate:down\nDROP TABLE posts;\n",
    )
    .unwrap();
    // the second statement fails: in dbmate's transaction nothing stays, with
    // `transaction:false` the first stays
    let fails = |name: &str, marker: &str| {
        let p = t.path().join(name);
        std::fs::write(
            &p,
            format!("-- migrate:up{marker}\nUPDATE posts SET title = 'changed' WHERE id = 1;\nINSERT INTO posts (id, user_id, title) VALUES (1, 1, 'dup');\n\n-- migrate:down\nSELECT 1;\n"),
        )
        .unwrap();
        p
    };
    let in_tx = fails("in-tx.sql", "");
    let no_tx = fails("no-tx.sql", " transaction:false");
    for (file, name) in [(&ok, "ok"), (&in_tx, "in-tx"), (&no_tx, "no-tx")] {
        let real = by_real_dbmate(t.path(), file, &base, &format!("real-{name}"));
        let mine = t.path().join(format!("mine-{name}.db"));
        std::fs::copy(&base, &mine).unwrap();
        let r = run(&[
            "apply",
            s(&mine),
            "--sql",
            s(file),
            "--runner",
            "dbmate",
            "--yes",
        ]);
        assert_eq!(r.code, if name == "ok" { 0 } else { 2 }, "{name}: {r:?}");
        if name == "ok" {
            assert!(r.stdout.contains("with runner dbmate"), "{}", r.stdout);
        } else {
            assert!(
                r.stderr
                    .contains(&format!("{name}.sql:3: UNIQUE constraint failed: posts.id")),
                "{}",
                r.stderr
            );
        }
        assert_eq!(
            titles(&real),
            titles(&mine),
            "{name}: dbmate and --runner dbmate differ"
        );
        if name == "ok" {
            // dbmate really ran it: its row, and the up section's column with its value
            let conn = rusqlite::Connection::open(&real).unwrap();
            assert_eq!(scalar(&conn, "SELECT count(*) FROM schema_migrations"), 1);
            assert_eq!(scalar(&conn, "SELECT views FROM posts WHERE id = 1"), 1);
        }
    }
    // and the difference is real: under dbmate's transaction the UPDATE is gone, without it it stays
    let title = |name: &str| {
        scalar(
            &rusqlite::Connection::open(t.path().join(format!("mine-{name}.db"))).unwrap(),
            "SELECT title = 'changed' FROM posts WHERE id = 1",
        )
    };
    assert_eq!((title("in-tx"), title("no-tx")), (0, 1));
    // the rehearsal's header names the profile and what the file decided
    let backup = gz(&base);
    let r = run(&[
        "rehearse",
        s(&backup),
        "--sql",
        s(&no_tx),
        "--runner",
        "dbmate",
        "--now",
        "2026-01-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let report = json(&r);
    let header = report.runner.unwrap();
    assert!(
        header.starts_with(
            "dbmate: foreign keys off at start; transactions as the script writes them"
        ) && header.contains("dbmate runs its up section of")
            && header.contains("outside a transaction, as the file's marker says"),
        "{header}"
    );
}

#[test]
fn runner_drizzle_splits_on_breakpoints_and_fails_a_statement_it_never_runs() {
    let t = tempfile::tempdir().unwrap();
    let base = blog(t.path(), "base.db");
    let backup = gz(&base);
    let file = t.path().join("0001_views.sql");
    std::fs::write(
        &file,
        "ALTER TABLE posts ADD COLUMN views INTEGER;\n--> statement-breakpoint\nUPDATE posts SET views = 0;\nCREATE INDEX posts_views ON posts (views);\n",
    )
    .unwrap();
    let r = run(&[
        "rehearse",
        s(&backup),
        "--sql",
        s(&file),
        "--runner",
        "drizzle",
        "--now",
        "2026-01-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let report = json(&r);
    assert!(
        report
            .runner
            .as_deref()
            .unwrap()
            .starts_with("drizzle: foreign keys off at start; one transaction around the script"),
        "{:?}",
        report.runner
    );
    let c = report
        .checks
        .iter()
        .find(|c| c.check == "sql.runner" && c.status == Status::Fail)
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(
        c.scope_text().ends_with("0001_views.sql:4"),
        "{}",
        c.scope_text()
    );
    assert!(
        c.found_text()
            .contains("never runs this statement: CREATE INDEX posts_views ON posts (views);"),
        "{}",
        c.found_text()
    );
    // apply refuses it, naming the line, and changes nothing
    let db = t.path().join("apply.db");
    std::fs::copy(&base, &db).unwrap();
    let before = std::fs::read(&db).unwrap();
    let r = run(&[
        "apply",
        s(&db),
        "--sql",
        s(&file),
        "--runner",
        "drizzle",
        "--yes",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("0001_views.sql:4"), "{}", r.stderr);
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // with its breakpoint the index is made, as drizzle makes it
    std::fs::write(
        &file,
        "ALTER TABLE posts ADD COLUMN views INTEGER;\n--> statement-breakpoint\nUPDATE posts SET views = 0;\n--> statement-breakpoint\nCREATE INDEX posts_views ON posts (views);\n",
    )
    .unwrap();
    let r = run(&[
        "apply",
        s(&db),
        "--sql",
        s(&file),
        "--runner",
        "drizzle",
        "--yes",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(
        scalar(
            &conn,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'posts_views'"
        ),
        1
    );
}

#[test]
fn every_tool_is_a_runner_profile() {
    for tool in preflight::migrations::Tool::ALL {
        let r = preflight::migrate::runner::Runner::profile(tool.name())
            .unwrap_or_else(|| panic!("no --runner {tool}"));
        assert_eq!(r.tool, Some(tool));
        assert!(preflight::migrate::runner::PROFILES.contains(&tool.name()));
    }
}
