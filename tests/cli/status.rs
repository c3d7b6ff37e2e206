//! `status DB --migrations DIR`: a directory against what a database applied, for every tool's
//! fixture project, against databases the real tool migrated (dbmate and drizzle-kit run here;
//! sqlx-cli and refinery_cli were recorded once, see their fixtures' README) and databases
//! migrated as preflight models the tool.

use std::path::{Path, PathBuf};

use preflight::migrations::Tool;
use rstest::rstest;
use rusqlite::Connection;

use crate::common::tools::*;
use crate::common::*;

fn status(db: &str, dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["status", db, "--migrations", s(dir)];
    args.extend_from_slice(extra);
    run(&args)
}

/// The status in the JSON envelope every command prints.
fn json(r: &Run) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    assert_eq!(v["format_version"], 3, "{v}");
    assert_eq!(v["command"], "status", "{v}");
    assert_eq!(
        v["status"],
        if r.code == 0 { "pass" } else { "fail" },
        "{v}"
    );
    v["result"].clone()
}

/// (key, state) of every entry.
fn states(v: &serde_json::Value) -> Vec<(String, String)> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].to_string().trim_matches('"').to_string(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pending(v: &serde_json::Value) -> Vec<String> {
    states(v)
        .into_iter()
        .filter(|(_, st)| st == "pending")
        .map(|(k, _)| k)
        .collect()
}

/// The rows of a table with their storage classes, in rowid order.
fn table_rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = Connection::open(db).unwrap();
    rows(&conn, sql)
        .into_iter()
        .map(|r| r.iter().map(|v| format!("{v:?}")).collect())
        .collect()
}

fn table_sql(db: &Path, table: &str) -> String {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE name = ?1",
        [table],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn dbmate_rows_and_database_equal_the_real_tools() {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir("dbmate");
    let real_db = t.path().join("real.db");
    let ours = t.path().join("ours.db");
    dbmate_up(&dir, &real_db);
    apply_as_modelled(Tool::Dbmate, &dir, &ours, None);
    let r = run(&["diff", s(&real_db), s(&ours)]);
    assert_eq!(r.code, 0, "the modelled run differs from dbmate's: {r:?}");
    assert_eq!(
        table_rows(
            &real_db,
            "SELECT version FROM schema_migrations ORDER BY rowid"
        ),
        table_rows(
            &ours,
            "SELECT version FROM schema_migrations ORDER BY rowid"
        )
    );
    assert_eq!(
        table_sql(&real_db, "schema_migrations"),
        table_sql(&ours, "schema_migrations")
    );
}

#[test]
fn drizzle_rows_and_database_equal_the_real_tools() {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir("drizzle");
    let real_db = t.path().join("real.db");
    let ours = t.path().join("ours.db");
    drizzle_migrate(&dir, &real_db, t.path());
    apply_as_modelled(Tool::Drizzle, &dir, &ours, None);
    let q =
        "SELECT id, hash, created_at, typeof(created_at) FROM __drizzle_migrations ORDER BY rowid";
    let theirs = table_rows(&real_db, q);
    assert_eq!(theirs.len(), 4);
    assert_eq!(theirs, table_rows(&ours, q));
    assert_eq!(
        table_sql(&real_db, "__drizzle_migrations"),
        table_sql(&ours, "__drizzle_migrations")
    );
    let r = run(&["diff", s(&real_db), s(&ours)]);
    assert_eq!(r.code, 0, "the modelled run differs from drizzle's: {r:?}");
}

#[test]
fn drizzle_runs_only_the_first_statement_of_a_chunk_and_status_says_so() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("drizzle");
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    std::fs::write(
        dir.join("0000_two.sql"),
        "CREATE TABLE a (x);\nCREATE TABLE b (x);\n--> statement-breakpoint\nCREATE TABLE c (x);\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("meta/_journal.json"),
        r#"{"version":"7","dialect":"sqlite","entries":[{"idx":0,"version":"6","when":1700000000000,"tag":"0000_two","breakpoints":true}]}"#,
    )
    .unwrap();
    let real_db = t.path().join("real.db");
    drizzle_migrate(&dir, &real_db, t.path());
    let tables = table_rows(
        &real_db,
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    );
    assert!(
        !tables.concat().iter().any(|n| n.contains("\"b\"")),
        "{tables:?}"
    );
    let ms = preflight::migrations::load(Tool::Drizzle, &dir).unwrap();
    assert_eq!(ms[0].up.len(), 2, "a and c run");
    assert_eq!(ms[0].unexecuted.len(), 1);
    assert_eq!(ms[0].unexecuted[0].line, 2);
    let r = status(s(&real_db), &dir, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("0000_two.sql:2: drizzle never runs this statement: CREATE TABLE b (x);"),
        "{}",
        r.stdout
    );
}

#[rstest]
#[case::dbmate("dbmate")]
#[case::drizzle("drizzle")]
fn one_migration_behind_the_real_tool_exits_1(#[case] tool: &str) {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir(tool);
    let three = first_n(tool, &dir, 3, &t.path().join("three"));
    let db = t.path().join("prod.db");
    match tool {
        "dbmate" => dbmate_up(&three, &db),
        _ => drizzle_migrate(&three, &db, t.path()),
    }
    let r = status(s(&db), &dir, &["--format", "json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let v = json(&r);
    assert_eq!(v["tool"], tool);
    let all = preflight::migrations::load(tool.parse_tool(), &dir).unwrap();
    assert_eq!(pending(&v), vec![all[3].key.to_string()]);
    assert_eq!(
        states(&v).iter().filter(|(_, st)| st == "applied").count(),
        3
    );
    // and once the tool applied the rest, the status is clean
    match tool {
        "dbmate" => dbmate_up(&dir, &db),
        _ => drizzle_migrate(&dir, &db, t.path()),
    }
    let r = status(s(&db), &dir, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("up to date: 4 applied"), "{}", r.stdout);
}

trait ParseTool {
    fn parse_tool(&self) -> Tool;
}

impl ParseTool for &str {
    fn parse_tool(&self) -> Tool {
        *Tool::ALL.iter().find(|t| t.name() == *self).unwrap()
    }
}

/// Load a recorded `.dump` of a tool's tracking table into a fresh database.
fn recorded(tool: &str, which: &str, to: &Path) -> PathBuf {
    let dump = repo(&format!("fixtures/migrations/{tool}/recorded/{which}.sql"));
    let conn = Connection::open(to).unwrap();
    conn.execute_batch(&std::fs::read_to_string(dump).unwrap())
        .unwrap();
    to.to_path_buf()
}

#[rstest]
#[case::sqlx(
    "sqlx",
    "_sqlx_migrations",
    "SELECT version, description, success, hex(checksum) FROM _sqlx_migrations ORDER BY version"
)]
#[case::refinery(
    "refinery",
    "refinery_schema_history",
    "SELECT version, name, checksum FROM refinery_schema_history ORDER BY version"
)]
fn rows_equal_the_recorded_real_tool(#[case] tool: &str, #[case] table: &str, #[case] q: &str) {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir(tool);
    let theirs = recorded(tool, "applied-all", &t.path().join("theirs.db"));
    let ours = t.path().join("ours.db");
    apply_as_modelled(tool.parse_tool(), &dir, &ours, None);
    let expected = table_rows(&theirs, q);
    assert_eq!(expected.len(), 4);
    assert_eq!(expected, table_rows(&ours, q));
    assert_eq!(table_sql(&theirs, table), table_sql(&ours, table));
    // the columns that hold a clock: the same shape as the tool's
    let conn = Connection::open(&ours).unwrap();
    match tool {
        "sqlx" => {
            let bad = scalar(
                &conn,
                "SELECT count(*) FROM _sqlx_migrations WHERE installed_on NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]' OR typeof(execution_time) <> 'integer'",
            );
            assert_eq!(bad, 0);
        }
        _ => {
            for r in rows(&conn, "SELECT applied_on FROM refinery_schema_history") {
                let rusqlite::types::Value::Text(t) = &r[0] else {
                    panic!("{r:?}")
                };
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|e| panic!("{t}: {e}"));
            }
        }
    }
    // status on the recorded databases: clean, then one behind
    let r = status(s(&theirs), &dir, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let behind = recorded(tool, "applied-first-three", &t.path().join("behind.db"));
    let r = status(s(&behind), &dir, &["--format", "json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let ms = preflight::migrations::load(tool.parse_tool(), &dir).unwrap();
    assert_eq!(pending(&json(&r)), vec![ms[3].key.to_string()]);
}

/// Tools this machine cannot run: the directory applied as modelled, all, then one behind.
#[rstest]
#[case::liveone("liveone")]
#[case::golang_migrate("golang-migrate")]
#[case::goose("goose")]
#[case::prisma("prisma")]
#[case::sqlx("sqlx")]
#[case::refinery("refinery")]
#[case::dbmate("dbmate")]
#[case::drizzle("drizzle")]
fn every_format_is_detected_and_one_behind_exits_1(#[case] tool: &str) {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir(tool);
    let all = t.path().join("all.db");
    apply_as_modelled(tool.parse_tool(), &dir, &all, None);
    let r = status(s(&all), &dir, &["--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = json(&r);
    assert_eq!(v["tool"], tool, "detected");
    assert_eq!(
        states(&v).iter().filter(|(_, st)| st == "applied").count(),
        4,
        "{v}"
    );
    let behind = t.path().join("behind.db");
    apply_as_modelled(tool.parse_tool(), &dir, &behind, Some(3));
    let r = status(s(&behind), &dir, &["--format", "json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let ms = preflight::migrations::load(tool.parse_tool(), &dir).unwrap();
    assert_eq!(pending(&json(&r)), vec![ms[3].key.to_string()]);
    // the table for people names the pending migration and says the database is behind
    let r = status(s(&behind), &dir, &[]);
    assert!(
        r.stdout.contains("NOT up to date: 3 applied, 1 pending"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&ms[3].name), "{}", r.stdout);
}

#[test]
fn an_edited_file_is_changed_and_fails() {
    let t = tempfile::tempdir().unwrap();
    let dir = copy_to(&fixture_dir("sqlx"), &t.path().join("m"));
    let db = recorded("sqlx", "applied-all", &t.path().join("db.db"));
    let file = dir.join("20260112141500_comments.up.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("body TEXT NOT NULL", "body TEXT")).unwrap();
    let r = status(s(&db), &dir, &["--format", "json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let v = json(&r);
    assert!(
        states(&v).contains(&("20260112141500".into(), "changed".into())),
        "{v}"
    );
    assert_eq!(pending(&v), Vec::<String>::new());
}

fn copy_to(from: &Path, to: &Path) -> PathBuf {
    copy_dir(from, to);
    to.to_path_buf()
}

#[test]
fn golang_migrate_dirty_and_missing_versions() {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir("golang-migrate");
    let db = t.path().join("db.db");
    apply_as_modelled(Tool::GolangMigrate, &dir, &db, Some(2));
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("UPDATE schema_migrations SET version = 3, dirty = 1")
        .unwrap();
    let v = json(&status(s(&db), &dir, &["--format", "json"]));
    assert_eq!(
        states(&v),
        vec![
            ("1".into(), "applied".into()),
            ("2".into(), "applied".into()),
            ("3".into(), "failed".into()),
            ("4".into(), "pending".into()),
        ]
    );
    conn.execute_batch("UPDATE schema_migrations SET version = 7, dirty = 0")
        .unwrap();
    let r = status(s(&db), &dir, &["--format", "json"]);
    assert_eq!(r.code, 0, "every file is below version 7: {r:?}");
    assert!(states(&json(&r)).contains(&("7".into(), "missing".into())));
}

#[test]
fn goose_and_refinery_block_an_older_unapplied_migration() {
    let t = tempfile::tempdir().unwrap();
    for (tool, table, delete) in [
        (
            Tool::Goose,
            "goose_db_version",
            "DELETE FROM goose_db_version WHERE version_id = 20260112141500",
        ),
        (
            Tool::Refinery,
            "refinery_schema_history",
            "DELETE FROM refinery_schema_history WHERE version = 2",
        ),
    ] {
        let dir = fixture_dir(tool.name());
        let db = t.path().join(format!("{tool}.db"));
        apply_as_modelled(tool, &dir, &db, None);
        Connection::open(&db)
            .unwrap()
            .execute_batch(delete)
            .unwrap();
        let r = status(s(&db), &dir, &["--format", "json"]);
        assert_eq!(r.code, 1, "{tool}: {r:?}");
        let v = json(&r);
        assert_eq!(v["table"], table);
        let blocked: Vec<_> = states(&v)
            .into_iter()
            .filter(|(_, st)| st == "blocked")
            .collect();
        assert_eq!(blocked.len(), 1, "{tool}: {v}");
    }
}

#[test]
fn prisma_failed_and_rolled_back_rows() {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir("prisma");
    let db = t.path().join("db.db");
    apply_as_modelled(Tool::Prisma, &dir, &db, None);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = '20260203170000_comments_keep_when_author_leaves';
         UPDATE _prisma_migrations SET rolled_back_at = 1 WHERE migration_name = '20260120080000_posts_published_at';",
    )
    .unwrap();
    let v = json(&status(s(&db), &dir, &["--format", "json"]));
    let st = states(&v);
    assert_eq!(
        st[2],
        ("20260120080000_posts_published_at".into(), "pending".into())
    );
    assert_eq!(
        st[3],
        (
            "20260203170000_comments_keep_when_author_leaves".into(),
            "failed".into()
        )
    );
}

#[test]
fn liveone_files_that_do_not_record_themselves_are_untracked() {
    let t = tempfile::tempdir().unwrap();
    let dir = copy_to(&fixture_dir("liveone"), &t.path().join("migrations"));
    let db = t.path().join("db.db");
    apply_as_modelled(Tool::Liveone, &dir, &db, None);
    std::fs::write(dir.join("0005_analyze.sql"), "ANALYZE;\n").unwrap();
    let r = status(s(&db), &dir, &["--format", "json"]);
    assert_eq!(r.code, 0, "untracked is not a failure: {r:?}");
    let v = json(&r);
    assert!(
        states(&v).contains(&("0005_analyze".into(), "untracked".into())),
        "{v}"
    );
}

#[test]
fn ambiguous_files_and_wrong_tables_stop_with_exit_2() {
    let t = tempfile::tempdir().unwrap();
    // up/down files fit golang-migrate and sqlx; an empty database cannot tell
    let empty = t.path().join("empty.db");
    Connection::open(&empty)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let r = status(s(&empty), &fixture_dir("sqlx"), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("--tool sqlx|golang-migrate"),
        "{}",
        r.stderr
    );
    // named, every migration is pending
    let r = status(
        s(&empty),
        &fixture_dir("sqlx"),
        &["--tool", "sqlx", "--format", "json"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(pending(&json(&r)).len(), 4);
    // dbmate named against golang-migrate's schema_migrations: the columns tell them apart
    let golang = t.path().join("golang.db");
    apply_as_modelled(
        Tool::GolangMigrate,
        &fixture_dir("golang-migrate"),
        &golang,
        None,
    );
    let r = status(s(&golang), &fixture_dir("dbmate"), &["--tool", "dbmate"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("schema_migrations") && r.stderr.contains("golang-migrate's table"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    // a directory of no known tool
    let nothing = t.path().join("nothing");
    std::fs::create_dir(&nothing).unwrap();
    std::fs::write(nothing.join("notes.txt"), "x").unwrap();
    let r = status(s(&golang), &nothing, &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--tool"), "{}", r.stderr);
}

#[test]
fn status_reads_a_libsql_server() {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir("dbmate");
    let three = first_n("dbmate", &dir, 3, &t.path().join("three"));
    let db = t.path().join("prod.db");
    dbmate_up(&three, &db);
    let server = crate::common::sqld::Sqld::start(Some(&db), false);
    let r = status(&server.url(), &dir, &["--format", "json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let v = json(&r);
    assert_eq!(pending(&v), vec!["20260203170000".to_string()]);
    assert_eq!(v["database"], server.url());
}
