//! One file executed as a migration tool executes one migration file (`--runner drizzle`,
//! `--runner dbmate`, …), and the statements a tool never runs failing the rehearsal. Real SQLite
//! files; where the tool is installed by scripts/test.sh (drizzle-kit, dbmate), the real tool.

use std::path::{Path, PathBuf};

use preflight::report::{Report, Status};

use crate::common::tools::*;
use crate::common::*;

fn gz(db: &Path) -> PathBuf {
    use std::io::Write;
    let out = PathBuf::from(format!("{}.gz", db.display()));
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&out).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(&std::fs::read(db).unwrap()).unwrap();
    e.finish().unwrap();
    out
}

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
    assert!(c.scope.ends_with("0000_two.sql:2"), "{}", c.scope);
    assert!(
        c.actual
            .contains("never runs this statement: CREATE TABLE b (x);"),
        "{}",
        c.actual
    );
}
