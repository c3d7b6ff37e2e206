//! SQL-script migrations: `rehearse --sql`, `apply` and `diff`, on the fixtures under
//! fixtures/sql/. Runners are compared with the real sqlite3 shell run on a copy of the same
//! file (scripts/test.sh installs it).

use std::path::{Path, PathBuf};

use preflight::migrate::runner::{LocalSession, Run as ScriptRun, Runner};
use preflight::migrate::script;
use preflight::rehearse::script::{Options, rehearse};
use preflight::report::{Format, Report, Status, render};

use crate::common::*;

const AUG: &str = "fixtures/sql/liveone-2025-08.db.gz";
const VT: &str = "fixtures/sql/vendor-timezone";
const BLOG: &str = "fixtures/sql/blog";
/// When the August 2025 migration ran (its scripts stamp 1756553400): 2025-08-30T11:30:00Z.
const AUG_NOW: i64 = 1_756_553_400_000;

/// Rehearse with paths relative to the repository (tests run at its root), as a user there types them.
fn sql_rehearsal(
    backup: Option<&str>,
    forward: &str,
    rollback: Option<&str>,
    expect: Option<&str>,
) -> Report {
    rehearse(
        &Options {
            backup: backup.map(Into::into),
            forward: forward.into(),
            rollback: rollback.map(Into::into),
            expect: expect.map(Into::into),
            runner: Runner::atomic(),
            now: Some(AUG_NOW),
        },
        &mut |_| {},
    )
    .unwrap()
}

fn blog_rehearsal(
    backup: &Path,
    runner: Runner,
    forward: &str,
    rollback: Option<&str>,
    expect: Option<&str>,
) -> Result<Report, String> {
    rehearse(
        &Options {
            backup: Some(backup.to_path_buf()),
            forward: format!("{BLOG}/{forward}").into(),
            rollback: rollback.map(|r| format!("{BLOG}/{r}").into()),
            expect: expect.map(|e| format!("{BLOG}/{e}").into()),
            runner,
            now: Some(AUG_NOW),
        },
        &mut |_| {},
    )
    .map_err(|e| e.to_string())
}

/// The blog database, built from fixtures/sql/blog/blog.sql.
fn blog_db(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let sql = std::fs::read_to_string(repo(&format!("{BLOG}/blog.sql"))).unwrap();
    rusqlite::Connection::open(&p)
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
    p
}

fn copy(db: &Path, name: &str) -> PathBuf {
    let p = db.with_file_name(name);
    std::fs::copy(db, &p).unwrap();
    p
}

/// The real sqlite3 shell: `sqlite3 DB < script` (exit code, stderr).
fn shell(db: &Path, script: &Path) -> (i32, String) {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .stdin(std::fs::File::open(script).unwrap())
        .output()
        .expect("the sqlite3 shell is needed by these tests: scripts/test.sh installs it");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The installed shell's version, as (major, minor).
fn shell_version() -> (u32, u32) {
    let out = std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .expect("the sqlite3 shell is needed by these tests: scripts/test.sh installs it");
    let v = String::from_utf8_lossy(&out.stdout);
    let mut parts = v.split_whitespace().next().unwrap().split('.');
    let mut n = || parts.next().unwrap().parse::<u32>().unwrap();
    (n(), n())
}

/// Run a script on a file with a runner, through the same code the rehearsal uses.
fn run_with(runner: &Runner, db: &Path, script_path: &str) -> ScriptRun {
    let s = script::load(&repo(script_path)).unwrap();
    let mut session = LocalSession::open(db, None, false).unwrap();
    runner.execute(&s, &mut session).unwrap()
}

/// Every difference between two database files (none expected).
fn differences(a: &Path, b: &Path) -> Vec<String> {
    let open = |p: &Path| {
        preflight::db::open(
            &preflight::db::Target::Local(p.to_path_buf()),
            preflight::db::Access::ReadOnly,
        )
        .unwrap()
    };
    let d = preflight::fingerprint::diff::diff(open(a).as_ref(), open(b).as_ref(), 10).unwrap();
    d.summary(10).1.iter().map(|e| e.text()).collect()
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn check<'r>(r: &'r Report, id: &str) -> &'r preflight::report::CheckResult {
    r.checks
        .iter()
        .find(|c| c.check == id)
        .unwrap_or_else(|| panic!("no {id} in {}", render(r, Format::Table)))
}

#[test]
fn the_vendor_timezone_migration_rehearses_cleanly() {
    let r = sql_rehearsal(
        Some(AUG),
        &format!("{VT}/forward.sql"),
        Some(&format!("{VT}/rollback.sql")),
        Some(&format!("{VT}/expect.toml")),
    );
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    let stages: Vec<&str> = r.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        stages,
        [
            "extract",
            "fingerprint",
            "forward",
            "expectations",
            "scope",
            "forward again",
            "rollback",
            "redeploy"
        ]
    );
    assert_eq!(
        check(&r, "expect.query").found_text(),
        "select.live|1586|600",
        "the seed's own check"
    );
    assert_eq!(check(&r, "sql.rollback").found_text(), "identical");
    assert!(
        r.stages[2].detail.contains("BEGIN/COMMIT at lines 5, 32"),
        "{}",
        r.stages[2].detail
    );
    crate::snapshot!("sql-vendor-timezone", render(&redact(&r), Format::Table));
}

#[test]
fn a_rollback_that_forgets_an_index_is_caught() {
    let r = sql_rehearsal(
        Some(AUG),
        &format!("{VT}/forward.sql"),
        Some(&format!("{VT}/rollback-forgets-index.sql")),
        Some(&format!("{VT}/expect.toml")),
    );
    assert_eq!(r.status, Status::Fail);
    let rb = check(&r, "sql.rollback");
    assert_eq!(rb.status, Status::Fail);
    assert!(
        rb.example_texts()
            .iter()
            .any(|e| e == "index user_system_idx (on systems) is gone"),
        "{:?}",
        rb.example_texts()
    );
    crate::snapshot!(
        "sql-rollback-forgets-index",
        render(&redact(&r), Format::Table)
    );
}

#[test]
fn the_composite_key_mistake_touches_rows_outside_its_scope() {
    let r = sql_rehearsal(
        None,
        "fixtures/sql/point-metadata/forward.sql",
        Some("fixtures/sql/point-metadata/rollback.sql"),
        Some("fixtures/sql/point-metadata/expect.toml"),
    );
    assert_eq!(r.status, Status::Fail);
    let scope = r
        .checks
        .iter()
        .find(|c| c.check == "sql.scope" && c.scope_text() == "table point_info")
        .unwrap();
    assert_eq!(
        (scope.status, scope.found_text().as_str()),
        (
            Status::Fail,
            "0 inserted, 5 updated, 0 deleted; in systems 1, 2, 3, 5, 6"
        )
    );
    assert_eq!(scope.violations, 4, "four rows of other systems");
    assert!(
        scope.example_texts().iter().any(|e| e
            .starts_with("updated system_id 2, id 1 (origin_sub_id \"solar_w\"): display_name")),
        "{:?}",
        scope.example_texts()
    );
    // named as hazards too: the lint on the statement, and the spread in the data
    assert_eq!(check(&r, "sql.composite_key").status, Status::Fail);
    assert_eq!(check(&r, "sql.key_spread").status, Status::Fail);
    assert_eq!(
        check(&r, "sql.rollback").status,
        Status::Fail,
        "the rollback only restores system 1"
    );
    crate::snapshot!("sql-composite-key", render(&redact(&r), Format::Table));
}

#[test]
fn a_forward_that_is_not_idempotent_shows_what_the_second_run_changed() {
    let r = sql_rehearsal(
        Some(AUG),
        &format!("{VT}/forward-not-idempotent.sql"),
        None,
        None,
    );
    let rerun = check(&r, "sql.rerun");
    assert_eq!(rerun.status, Status::Fail);
    assert!(
        rerun.example_texts()[0]
            .contains("systems: updated rowid 1: timezone_offset_min 600 → 1200"),
        "{:?}",
        rerun.example_texts()
    );
    crate::snapshot!("sql-not-idempotent", render(&redact(&r), Format::Table));
}

#[test]
fn a_failing_statement_is_named_by_line_and_nothing_of_the_script_stays() {
    let r = sql_rehearsal(
        Some(AUG),
        &format!("{VT}/forward-missing-column.sql"),
        None,
        None,
    );
    let f = check(&r, "sql.forward");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.scope_text(), format!("{VT}/forward-missing-column.sql:9"));
    assert_eq!(f.found_text(), "no such column: vendor_typ");
    // its first UPDATE ran before the error: it must be gone
    let atomic = check(&r, "sql.atomic");
    assert_eq!(
        (atomic.status, atomic.found_text().as_str()),
        (Status::Pass, "every table as before")
    );
    assert_eq!(
        r.stages[2].detail,
        format!(
            "failed at {VT}/forward-missing-column.sql:9: no such column: vendor_typ; nothing of the script was kept (the script's own BEGIN/COMMIT at lines 2, 11 folded into the runner's one transaction)"
        )
    );
    assert!(r.stages.iter().skip(3).all(|s| s.status == Status::Skip));
    crate::snapshot!("sql-missing-column", render(&redact(&r), Format::Table));
}

#[test]
fn a_script_that_does_not_parse_is_refused_before_anything_runs() {
    let e = rehearse(
        &Options {
            backup: Some(AUG.into()),
            forward: format!("{VT}/forward-typo.sql").into(),
            rollback: None,
            expect: None,
            runner: Runner::sqlite3(),
            now: None,
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{VT}/forward-typo.sql:9: the script does not parse: near \"WHER\": syntax error; nothing was run (statement: UPDATE systems SET vendor_type = 'select.live' WHER vendor_type IS NULL;)"
        )
    );
    // apply says so before it asks for confirmation
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    gunzip(&repo(AUG), &db);
    let original = std::fs::read(&db).unwrap();
    let r = run(&["apply", s(&db), "--sql", &format!("{VT}/forward-typo.sql")]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("forward-typo.sql:9: the script does not parse")
            && !r.stderr.contains("confirmation"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&db).unwrap(), original);
}

#[test]
fn the_seeds_selective_cleanup_cannot_run() {
    let r = sql_rehearsal(None, "fixtures/sql/seed-cleanup/cleanup.sql", None, None);
    let f = check(&r, "sql.forward");
    assert_eq!(f.scope_text(), "fixtures/sql/seed-cleanup/cleanup.sql:3");
    assert_eq!(f.found_text(), "no such column: created_at");
    crate::snapshot!("sql-seed-cleanup", render(&redact(&r), Format::Table));
}

#[test]
fn rehearse_sql_from_the_command_line_and_its_exit_codes() {
    let ok = run(&[
        "rehearse",
        AUG,
        "--sql",
        &format!("{VT}/forward.sql"),
        "--rollback",
        &format!("{VT}/rollback.sql"),
        "--expect",
        &format!("{VT}/expect.toml"),
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    let bad = run(&[
        "rehearse",
        AUG,
        "--sql",
        &format!("{VT}/forward-missing-column.sql"),
    ]);
    assert_eq!(bad.code, 1, "a failed check");
    let typo = run(&["rehearse", AUG, "--sql", &format!("{VT}/forward-typo.sql")]);
    assert_eq!(typo.code, 2, "could not run: {}", typo.stderr);
    let r = run(&["rehearse", AUG, "--runner", "sqlite3"]);
    assert_eq!(r.code, 2, "--runner needs --sql");
    let r = run(&[
        "rehearse",
        AUG,
        "--sql",
        &format!("{VT}/forward.sql"),
        "--runner",
        "psql",
    ]);
    assert!(
        r.code == 2 && r.stderr.contains("atomic, sqlite3, turso-shell"),
        "{}",
        r.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let expect = dir.path().join("bad.toml");
    std::fs::write(&expect, "[scope.systems]\nupdate = 1\n").unwrap();
    let r = run(&[
        "rehearse",
        AUG,
        "--sql",
        &format!("{VT}/forward.sql"),
        "--expect",
        s(&expect),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bad.toml: not a valid expectations file") && r.stderr.contains("update"),
        "{}",
        r.stderr
    );
    let r = run(&["rehearse", AUG, "--sql", "/no/such.sql"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (
            2,
            "preflight: /no/such.sql: No such file or directory (os error 2)"
        )
    );
    let r = run(&["rehearse", "--rollback", &format!("{VT}/rollback.sql")]);
    assert_eq!(r.code, 2, "--rollback needs --sql");
}

#[test]
fn apply_is_atomic_guarded_and_reports_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    gunzip(&repo(AUG), &db);
    let original = std::fs::read(&db).unwrap();
    // without confirmation: nothing
    let r = run(&[
        "apply",
        s(&db),
        "--sql",
        s(&repo(&format!("{VT}/forward.sql"))),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("without confirmation"));
    assert_eq!(std::fs::read(&db).unwrap(), original);
    // a failing script: its first statement ran, and is undone; the file is as it was
    let r = run(&[
        "apply",
        s(&db),
        "--sql",
        s(&repo(&format!("{VT}/forward-missing-column.sql"))),
        "--yes",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "forward-missing-column.sql:9: no such column: vendor_typ; nothing of the script was kept"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("nothing of the script was kept"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::read(&db).unwrap(), original);
    // the real thing
    let r = run(&[
        "apply",
        s(&db),
        "--sql",
        s(&repo(&format!("{VT}/forward.sql"))),
        "--yes",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("│ user_systems ") && l.contains("┆           1 ┆          2 │")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("the schema changed"));
    assert!(
        r.stdout.starts_with(&format!("applied {} to {} with runner atomic: foreign keys on at start; one transaction around the script, its leading pragmas applied before it; the first error stops the script", repo(&format!("{VT}/forward.sql")).display(), db.display())),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("every statement was kept"));
    let c = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(
        rows(
            &c,
            "SELECT vendor_type, vendor_site_id, timezone_offset_min FROM systems"
        ),
        vec![vec![
            rusqlite::types::Value::Text("select.live".into()),
            rusqlite::types::Value::Text("1586".into()),
            rusqlite::types::Value::Integer(600)
        ]]
    );
}

#[test]
fn diff_names_rows_and_schema_changes_and_says_when_databases_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    gunzip(&repo(AUG), &a);
    gunzip(&repo(AUG), &b);
    let same = run(&["diff", s(&a), s(&repo(AUG))]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    assert!(same.stdout.contains("identical"));
    rusqlite::Connection::open(&b)
        .unwrap()
        .execute_batch(
            "UPDATE readings SET solar_w = solar_w + 1 WHERE id IN (5, 6); DELETE FROM readings WHERE id = 7;
             ALTER TABLE systems ADD COLUMN notes TEXT; UPDATE systems SET notes = 'x'; CREATE INDEX extra ON readings (load_w);",
        )
        .unwrap();
    let r = run(&["diff", s(&a), s(&b), "--format", "json"]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["result"]["identical"], false);
    let v = v["result"]["diff"].clone();
    let table = |n: &str| {
        v["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            table("readings")["updated"].as_u64(),
            table("readings")["deleted"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(table("systems")["columns_added"][0], "notes");
    assert_eq!(table("systems")["updated"], 1);
    assert!(
        v["schema"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "extra" && c["change"] == "new")
    );
    let r = run(&["diff", s(&a), s(&b)]);
    assert!(
        r.stdout
            .contains("schema: index extra (on readings) is new")
            && r.stdout.contains("updated rowid 5: solar_w"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_fingerprint_follows_content_not_page_layout() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    gunzip(&repo(AUG), &a);
    // the database's digest and every table's hash (not the name it was given)
    let fp = |db: &Path| {
        let r = run(&["fingerprint", s(db), "--format", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap();
        let mut fp = v["result"].clone();
        fp.as_object_mut().unwrap().remove("target");
        fp
    };
    let before = fp(&a);
    assert_eq!(before, fp(&repo(AUG)), "a backup and its extracted file");
    let conn = rusqlite::Connection::open(&a).unwrap();
    // a different page layout, the same rows: the fingerprint does not move
    conn.execute_batch("PRAGMA page_size = 8192; VACUUM;")
        .unwrap();
    assert_ne!(sha256(&a), sha256(&repo(AUG)));
    assert_eq!(fp(&a), before);
    // one value changed: that table's hash and the database's change, the others do not
    let changed = conn
        .execute(
            "UPDATE systems SET display_name = display_name || '.' WHERE id = 1",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let after = fp(&a);
    assert_ne!(after["database"], before["database"]);
    assert_ne!(after["tables"]["systems"], before["tables"]["systems"]);
    assert_eq!(after["tables"]["readings"], before["tables"]["readings"]);
    assert_eq!(after["schema"], before["schema"]);
    let table = run(&["fingerprint", s(&a)]);
    assert!(
        table.stdout.contains(after["database"].as_str().unwrap())
            && table.stdout.contains("│ systems"),
        "{}",
        table.stdout
    );
}

#[test]
fn the_documented_table_rebuild_matches_the_shell_and_its_exact_rollback_passes() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    // the real shell on one copy, each runner on another: the same database
    let by_shell = copy(&blog, "shell.db");
    let (code, err) = shell(&by_shell, &repo(&format!("{BLOG}/rebuild.sql")));
    assert_eq!(code, 0, "{err}");
    for runner in [Runner::atomic(), Runner::sqlite3(), Runner::turso_shell()] {
        let mine = copy(&blog, &format!("{}.db", runner.name));
        let run = run_with(&runner, &mine, &format!("{BLOG}/rebuild.sql"));
        assert!(run.ok(), "{}: {run:?}", runner.name);
        assert_eq!(
            differences(&by_shell, &mine),
            Vec::<String>::new(),
            "{}",
            runner.name
        );
    }
    // keys were off while posts was dropped: no comment or tag went with it
    assert_eq!(count(&by_shell, "SELECT count(*) FROM comments"), 4);
    assert_eq!(count(&by_shell, "SELECT count(*) FROM tags"), 4);
    // the rollback leaves `CREATE TABLE "posts"` where the original says `CREATE TABLE posts`,
    // and sqlite_sequence rows in another order: still the same database
    let (code, err) = shell(&by_shell, &repo(&format!("{BLOG}/rollback.sql")));
    assert_eq!(code, 0, "{err}");
    let sql = |p: &Path| -> String {
        rusqlite::Connection::open(p)
            .unwrap()
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'posts'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert!(sql(&by_shell).starts_with("CREATE TABLE \"posts\""));
    assert!(sql(&blog).starts_with("CREATE TABLE posts"));
    assert_eq!(differences(&blog, &by_shell), Vec::<String>::new());

    let backup = gz(&blog);
    for runner in [Runner::atomic(), Runner::sqlite3()] {
        let name = runner.name.clone();
        let r = blog_rehearsal(
            &backup,
            runner,
            "rebuild.sql",
            Some("rollback.sql"),
            Some("expect.toml"),
        )
        .unwrap();
        assert_eq!(
            r.status,
            Status::Pass,
            "{name}: {}",
            render(&r, Format::Table)
        );
        assert_eq!(check(&r, "sql.rollback").found_text(), "identical");
        assert_eq!(check(&r, "sql.redeploy").found_text(), "identical");
        // the script's own checks are shown: the foreign key check returns nothing, the count 4
        let out: Vec<(&str, Vec<String>)> = r
            .outputs
            .iter()
            .map(|o| (o.at.as_str(), o.rows.clone()))
            .collect();
        assert!(
            out.contains(&(
                &format!("{BLOG}/rebuild.sql:27") as &str,
                vec!["4".to_string()]
            )),
            "{name}: {out:?}"
        );
        assert_eq!(
            r.runner.as_deref().unwrap().split(':').next(),
            Some(name.as_str())
        );
        if name == "atomic" {
            assert!(
                r.stages[2].detail.contains("PRAGMA foreign_keys=off leads the script: applied before the runner's transaction begins"),
                "{}",
                r.stages[2].detail
            );
            crate::snapshot!(
                "sql-blog-rebuild",
                render(&redact(&r), Format::Table).replace(s(dir.path()), "<tmp>")
            );
        }
    }
}

#[test]
fn a_drizzle_rebuild_with_its_pragma_inside_is_refused_by_atomic_and_runs_like_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let script = format!("{BLOG}/0001_drizzle_rebuild.sql");
    let by_shell = copy(&blog, "shell.db");
    let (code, err) = shell(&by_shell, &repo(&script));
    assert_eq!(code, 0, "{err}");
    let mine = copy(&blog, "mine.db");
    let run = run_with(&Runner::sqlite3(), &mine, &script);
    assert!(run.ok(), "{run:?}");
    assert_eq!(differences(&by_shell, &mine), Vec::<String>::new());
    assert_eq!(count(&mine, "SELECT count(*) FROM comments"), 4);
    // in one transaction the pragma would do nothing, and DROP TABLE posts would take every
    // comment and tag with it: atomic refuses, naming the pragma and the statement it fails
    let backup = gz(&blog);
    let r = blog_rehearsal(
        &backup,
        Runner::atomic(),
        "0001_drizzle_rebuild.sql",
        None,
        None,
    )
    .unwrap();
    assert_eq!(r.status, Status::Fail);
    let f = check(&r, "sql.forward");
    assert_eq!(f.scope_text(), format!("{script}:2"));
    assert!(
        f.found_text().starts_with("refused: PRAGMA foreign_keys=off has no effect inside the one transaction of the atomic runner")
            && f.found_text().contains("line 14 and what follows would run with foreign keys on"),
        "{}",
        f.found_text()
    );
    assert!(
        r.stages[2].detail.ends_with("; nothing was run"),
        "{}",
        r.stages[2].detail
    );
    assert!(r.stages[3..].iter().all(|s| s.status == Status::Skip));
    let r = blog_rehearsal(
        &backup,
        Runner::sqlite3(),
        "0001_drizzle_rebuild.sql",
        None,
        None,
    )
    .unwrap();
    assert_eq!(check(&r, "sql.forward").status, Status::Pass);
    // drizzle does not re-create triggers: the rebuild lost one, a hazard with no scope declared
    let lost = check(&r, "sql.vanished");
    assert_eq!(
        (lost.status, lost.scope_text().as_str()),
        (Status::Fail, "trigger posts_edited")
    );
    assert!(
        lost.found_text()
            .contains("line 15: DROP TABLE posts dropped it with the table"),
        "{}",
        lost.found_text()
    );
    assert_eq!(r.status, Status::Fail);
    let posts = r
        .checks
        .iter()
        .find(|c| c.check == "sql.scope" && c.scope_text() == "table posts")
        .unwrap();
    assert!(
        posts
            .example_texts()
            .iter()
            .any(|e| e == "trigger posts_edited (on posts) is gone"),
        "{:?}",
        posts.example_texts()
    );
    assert!(
        posts
            .example_texts()
            .iter()
            .any(|e| e.starts_with("table posts changed: ")
                && e.contains("+ CONSTRAINT title_not_empty CHECK(length(posts.title) > 0)")),
        "{:?}",
        posts.example_texts()
    );
}

#[test]
fn a_dump_loads_into_an_empty_database_like_the_shell_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let out = std::process::Command::new("sqlite3")
        .arg(&blog)
        .arg(".dump")
        .output()
        .expect("the sqlite3 shell is needed by these tests: scripts/test.sh installs it");
    let dump = dir.path().join("dump.sql");
    std::fs::write(&dump, &out.stdout).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;")
    );
    let empty = dir.path().join("empty.db");
    rusqlite::Connection::open(&empty)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0; VACUUM;")
        .unwrap();
    let by_shell = copy(&empty, "shell.db");
    let (code, err) = shell(&by_shell, &dump);
    assert_eq!(code, 0, "{err}");
    assert_eq!(differences(&blog, &by_shell), Vec::<String>::new());
    let backup = gz(&empty);
    for runner in [Runner::atomic(), Runner::sqlite3()] {
        let mine = copy(&empty, &format!("{}.db", runner.name));
        let s = script::load(&dump).unwrap();
        let run = runner
            .execute(&s, &mut LocalSession::open(&mine, None, false).unwrap())
            .unwrap();
        assert!(run.ok(), "{}: {run:?}", runner.name);
        assert_eq!(
            differences(&by_shell, &mine),
            Vec::<String>::new(),
            "{}",
            runner.name
        );
        let r = rehearse(
            &Options {
                backup: Some(backup.clone()),
                forward: dump.clone(),
                rollback: None,
                expect: None,
                runner: runner.clone(),
                now: Some(AUG_NOW),
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            check(&r, "sql.forward").status,
            Status::Pass,
            "{}",
            runner.name
        );
        // a dump creates its tables: it cannot run twice. In one transaction the second load
        // keeps nothing (it refuses to run twice); the shell goes on after each error and loads
        // the rows of `tags`, which has no key, a second time
        let again = r.stages.iter().find(|s| s.name == "forward again").unwrap();
        if runner.name == "atomic" {
            assert_eq!(again.status, Status::Pass, "{}", again.detail);
            assert!(
                again.detail.starts_with("refuses to run twice")
                    && again.detail.contains("already exists"),
                "{}",
                again.detail
            );
        } else {
            assert_eq!(again.status, Status::Fail, "{}", again.detail);
            assert!(
                again.detail.contains("a second run makes 4 changes")
                    && again.detail.contains("already exists"),
                "{}",
                again.detail
            );
        }
    }
    // what the shell itself does with a second load
    let (_, err) = shell(&by_shell, &dump);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(count(&by_shell, "SELECT count(*) FROM tags"), 8);
    assert_eq!(count(&by_shell, "SELECT count(*) FROM comments"), 4);
}

#[test]
fn a_half_run_rebuild_shows_what_each_runner_leaves_behind() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let script = format!("{BLOG}/rebuild-breaks-view.sql");
    // the shell goes on after the failed RENAME, and its COMMIT keeps posts dropped
    let by_shell = copy(&blog, "shell.db");
    let (code, err) = shell(&by_shell, &repo(&script));
    assert_eq!(code, 1);
    assert!(
        err.contains("error in view post_summary: no such table: main.posts"),
        "{err}"
    );
    let mine = copy(&blog, "mine.db");
    let run = run_with(&Runner::sqlite3(), &mine, &script);
    assert_eq!(differences(&by_shell, &mine), Vec::<String>::new());
    assert_eq!(
        run.failures.iter().map(|f| f.line).collect::<Vec<_>>(),
        vec![16, 17]
    );
    assert_eq!(
        run.kept(),
        "kept: the statements at lines 3, 5, 13, 15, 19 (every one that ran without error)"
    );
    assert_eq!(
        count(
            &mine,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'posts'"
        ),
        0
    );
    // turso's shell stops at the error and rolls the open transaction back; atomic keeps nothing
    for runner in [Runner::turso_shell(), Runner::atomic()] {
        let mine = copy(&blog, &format!("{}.db", runner.name));
        let run = run_with(&runner, &mine, &script);
        assert_eq!(run.stopped_at, Some(16), "{}", runner.name);
        assert_eq!(
            differences(&blog, &mine),
            Vec::<String>::new(),
            "{}",
            runner.name
        );
    }
    let backup = gz(&blog);
    let r = blog_rehearsal(
        &backup,
        Runner::sqlite3(),
        "rebuild-breaks-view.sql",
        None,
        None,
    )
    .unwrap();
    assert_eq!(r.status, Status::Fail);
    let kept = check(&r, "sql.kept");
    assert_eq!(kept.status, Status::Fail);
    assert!(
        kept.example_texts()
            .iter()
            .any(|e| e == "table posts (on posts) is gone"),
        "{:?}",
        kept.example_texts()
    );
    assert!(r.stages[2].detail.starts_with(&format!(
        "failed at {script}:16: error in view post_summary: no such table: main.posts (1 more errors after it); kept: "
    )), "{}", r.stages[2].detail);
    crate::snapshot!(
        "sql-blog-half-run",
        render(&redact(&r), Format::Table).replace(s(dir.path()), "<tmp>")
    );
    let r = blog_rehearsal(
        &backup,
        Runner::atomic(),
        "rebuild-breaks-view.sql",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        check(&r, "sql.atomic").found_text(),
        "every table as before"
    );
}

#[test]
fn a_script_that_writes_the_clock_gets_the_same_verdict_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let backup = gz(&blog);
    let expect = dir.path().join("expect.toml");
    std::fs::write(
        &expect,
        "[[query]]\nsql = \"SELECT seen_at FROM users WHERE id = 1\"\nrows = [\"2025-08-30 11:30:00\"]\n\n[[query]]\nsql = \"SELECT created_at, body FROM comments WHERE author = 'preflight'\"\nrows = [\"2025-08-30 11:30:00|checked at 1756553400\"]\n",
    )
    .unwrap();
    let once = || {
        let r = rehearse(
            &Options {
                backup: Some(backup.clone()),
                forward: format!("{BLOG}/touch-users.sql").into(),
                rollback: None,
                expect: Some(expect.clone()),
                runner: Runner::sqlite3(),
                now: Some(AUG_NOW),
            },
            &mut |_| {},
        )
        .unwrap();
        render(&redact(&r), Format::Json)
    };
    let first = once();
    assert!(first.contains("\"status\": \"pass\""), "{first}");
    assert!(
        first.contains("2025-08-30T11:30:00Z"),
        "the header names the frozen clock"
    );
    for _ in 0..9 {
        assert_eq!(once(), first);
    }
    // the script's own SELECT shows the frozen time
    assert!(first.contains("ada|2025-08-30 11:30:00"), "{first}");
    // another --now, from the command line: the values move, the verdict does not
    let r = run(&[
        "rehearse",
        s(&backup),
        "--sql",
        &format!("{BLOG}/touch-users.sql"),
        "--runner",
        "sqlite3",
        "--now",
        "2026-01-02T03:04:05Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("ada|2026-01-02 03:04:05"), "{}", r.stdout);
    let r = run(&[
        "rehearse",
        s(&backup),
        "--sql",
        &format!("{BLOG}/touch-users.sql"),
        "--now",
        "yesterday",
    ]);
    assert!(r.code == 2 && r.stderr.contains("RFC 3339"), "{}", r.stderr);
}

#[test]
fn expected_reals_read_as_the_shell_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let sql = "SELECT id, score FROM posts ORDER BY id";
    let out = std::process::Command::new("sqlite3")
        .arg(&blog)
        .arg(sql)
        .output()
        .expect("the sqlite3 shell is needed by these tests: scripts/test.sh installs it");
    let printed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    let digits = if shell_version() >= (3, 52) { 17 } else { 15 };
    let values = rows(&rusqlite::Connection::open(&blog).unwrap(), sql);
    let mine: Vec<String> = values
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| preflight::migrate::expect::shell_value_with(v, digits))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert_eq!(mine, printed, "as this shell prints them");
    for (line, r) in printed.iter().zip(&values) {
        assert!(preflight::migrate::expect::row_matches(line, r), "{line}");
    }
    // the expectations file says 0.3 and 89.939644012945, as the shell of LiveOne's team
    let r = blog_rehearsal(
        &gz(&blog),
        Runner::sqlite3(),
        "rebuild.sql",
        None,
        Some("expect.toml"),
    )
    .unwrap();
    let q = r
        .checks
        .iter()
        .find(|c| c.check == "expect.query" && c.scope_text().contains("scores"))
        .unwrap();
    assert_eq!(
        (q.status, q.found_text().as_str()),
        (Status::Pass, "1|0.3; 2|89.939644012945; 3|")
    );
}

#[test]
fn a_script_cannot_escape_its_transaction_or_its_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    gunzip(&repo(AUG), &db);
    let original = std::fs::read(&db).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // ROLLBACK would end apply's transaction and let what follows commit
    let escape = write(
        "escape.sql",
        "ROLLBACK;\nUPDATE systems SET serial = 1;\nINSERT INTO no_such_table VALUES (1);\n",
    );
    for yes in [false, true] {
        let mut args = vec!["apply", s(&db), "--sql", s(&escape)];
        if yes {
            args.push("--yes");
        }
        let r = run(&args);
        assert_eq!(r.code, 2);
        assert!(
            r.stderr.contains("escape.sql:1: refused: ROLLBACK would end the one transaction the atomic runner holds"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), original);
    // as the sqlite3 shell runs it, the ROLLBACK fails and the UPDATE commits: apply says so
    let r = run(&[
        "apply",
        s(&db),
        "--sql",
        s(&escape),
        "--runner",
        "sqlite3",
        "--yes",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("escape.sql:1: cannot rollback - no transaction is active (1 more errors after it); kept: the statements at lines 2 (every one that ran without error)"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("nothing of the script was kept"),
        "{}",
        r.stdout
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM systems WHERE serial = 1"),
        count(&db, "SELECT count(*) FROM systems")
    );
    gunzip(&repo(AUG), &db);
    // a rehearsal touches its own copy only
    let outside = dir.path().join("outside.db");
    let cases = [
        (
            "vacuum.sql",
            format!("UPDATE systems SET serial = 2;\nVACUUM INTO '{}';\n", outside.display()),
            2,
            "VACUUM INTO writes a full copy",
        ),
        (
            "attach.sql",
            format!(
                "ATTACH DATABASE '{}' AS o;\nCREATE TABLE o.t (a);\nINSERT INTO o.t VALUES (1);\n",
                outside.display()
            ),
            1,
            "ATTACH opens another database file",
        ),
        (
            "schema.sql",
            "PRAGMA writable_schema=1;\nUPDATE sqlite_schema SET sql = 'x' WHERE name = 'systems';\n".into(),
            1,
            "PRAGMA writable_schema",
        ),
        (
            "cookie.sql",
            "UPDATE systems SET serial = 3;\nPRAGMA schema_version = 4242;\n".into(),
            2,
            "PRAGMA schema_version = N overwrites the schema cookie",
        ),
    ];
    for (name, text, line, why) in cases {
        let script = write(name, &text);
        for runner in ["atomic", "sqlite3", "turso-shell"] {
            let r = run(&[
                "rehearse",
                AUG,
                "--sql",
                s(&script),
                "--runner",
                runner,
                "--format",
                "json",
            ]);
            assert_eq!(r.code, 1, "{name} {runner}: {}", r.stderr);
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let f = &v["checks"][0];
            assert_eq!(
                (f["check"].as_str(), f["text"]["scope"].as_str()),
                (
                    Some("sql.forward"),
                    Some(format!("{}:{line}", s(&script)).as_str())
                ),
                "{name} {runner}"
            );
            assert!(
                f["text"]["found"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("refused: {why}")),
                "{name} {runner}: {f}"
            );
            let r = run(&[
                "apply",
                s(&db),
                "--sql",
                s(&script),
                "--runner",
                runner,
                "--yes",
            ]);
            assert!(r.code == 2 && r.stderr.contains("refused"), "{}", r.stderr);
        }
    }
    assert!(!outside.exists());
    assert_eq!(std::fs::read(&db).unwrap(), original);
}

#[test]
fn apply_shows_the_scripts_own_query_results_and_a_runners_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let script = dir.path().join("inside.sql");
    std::fs::write(
        &script,
        "BEGIN TRANSACTION;\nPRAGMA foreign_keys=OFF;\nDELETE FROM posts WHERE id = 1;\nCOMMIT;\nSELECT count(*) FROM comments;\n",
    )
    .unwrap();
    // under turso's shell the pragma inside the transaction does nothing: the delete cascades
    let r = run(&[
        "apply",
        s(&blog),
        "--sql",
        s(&script),
        "--runner",
        "turso-shell",
        "--yes",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("warning: line 2: PRAGMA foreign_keys=off had no effect: it ran inside the transaction begun at line 1 (SQLite ignores it there), so foreign keys stayed on"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("┆ SELECT count(*) FROM comments; ┆") && l.ends_with("2 │")),
        "{}",
        r.stdout
    );
    assert_eq!(count(&blog, "SELECT count(*) FROM comments"), 2);
}

#[test]
fn diff_shows_a_changed_definition_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = blog_db(dir.path(), "a.db");
    let b = copy(&a, "b.db");
    let (code, err) = shell(&b, &repo(&format!("{BLOG}/rebuild.sql")));
    assert_eq!(code, 0, "{err}");
    let r = run(&["diff", s(&a), s(&b)]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("schema: table posts (on posts) changed:\n  - title TEXT NOT NULL\n  + title TEXT NOT NULL CHECK(length(title) > 0)\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("sqlite_sequence"), "{}", r.stdout);
}

/// What `turso db shell URL < script` sends to the server, from its sources: the whole script as
/// one Hrana batch (libsql-client-go, hranaV2 `executeStmt` → hrana `BatchStream`), step i run
/// only if step i-1 succeeded, and a final ROLLBACK run only if the last step did not.
fn turso_shell_batch(port: u16, script_path: &Path) -> String {
    use std::io::{Read, Write};
    let s = script::load(script_path).unwrap();
    let n = s.statements.len();
    let mut steps: Vec<serde_json::Value> = s
        .statements
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let mut step = serde_json::json!({"stmt": {"sql": st.sql, "want_rows": true}});
            if i > 0 {
                step["condition"] = serde_json::json!({"type": "ok", "step": i - 1});
            }
            step
        })
        .collect();
    steps.push(serde_json::json!({
        "stmt": {"sql": "ROLLBACK", "want_rows": false},
        "condition": {"type": "not", "cond": {"type": "ok", "step": n - 1}}
    }));
    let body = serde_json::json!({
        "baton": null,
        "requests": [{"type": "batch", "batch": {"steps": steps}}, {"type": "close"}]
    })
    .to_string();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        c,
        "POST /v2/pipeline HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

#[test]
fn the_turso_shell_runner_does_what_turso_db_shell_does_to_a_libsql_server() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let script = dir.path().join("shell.sql");
    // no BEGIN: two statements commit, the third fails, the fourth never runs; the server
    // enforces foreign keys, so deleting a post deletes its comments
    std::fs::write(
        &script,
        "UPDATE users SET name = 'x' WHERE id = 2;\nDELETE FROM posts WHERE id = 1;\nINSERT INTO nowhere VALUES (1);\nUPDATE users SET name = 'y';\n",
    )
    .unwrap();
    for script in [script, repo(&format!("{BLOG}/rebuild-breaks-view.sql"))] {
        let by_turso = crate::common::sqld::Sqld::start(Some(&blog), false);
        let mine = crate::common::sqld::Sqld::start(Some(&blog), false);
        turso_shell_batch(by_turso.port, &script);
        let r = run(&[
            "apply",
            &mine.url(),
            "--sql",
            s(&script),
            "--runner",
            "turso-shell",
            "--yes",
        ]);
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        let same = run(&["diff", &by_turso.url(), &mine.url()]);
        assert_eq!(same.code, 0, "{}: {}", script.display(), same.stdout);
        let changed = run(&["diff", s(&blog), &mine.url(), "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&changed.stdout).unwrap();
        let tables: Vec<&str> = v["result"]["diff"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["table"].as_str().unwrap())
            .collect();
        if script.ends_with("shell.sql") {
            assert_eq!(tables, ["comments", "posts", "tags", "users"]);
            assert!(
                r.stderr.contains("shell.sql:3: no such table: nowhere; kept: the statements at lines 1-2 (every one that ran without error)"),
                "{}",
                r.stderr
            );
        } else {
            assert!(tables.is_empty(), "rolled back: {tables:?}");
        }
    }
}

#[test]
fn the_runner_settings_are_flags_of_their_own_and_the_header_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let backup = gz(&blog);
    let script = dir.path().join("each.sql");
    std::fs::write(
        &script,
        "BEGIN;\nUPDATE users SET name = 'x' WHERE id = 2;\nINSERT INTO nowhere VALUES (1);\nUPDATE users SET name = 'y' WHERE id = 1;\nCOMMIT;\n",
    )
    .unwrap();
    let r = run(&[
        "rehearse",
        s(&backup),
        "--sql",
        s(&script),
        "--runner",
        "sqlite3",
        "--transactions",
        "statement",
        "--on-error",
        "stop",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["runner"]
            .as_str()
            .unwrap()
            .split("; clock")
            .next()
            .unwrap(),
        "sqlite3 (changed by flags): foreign keys off at start; every statement commits on its own; the first error stops the script"
    );
    // the script's BEGIN is not run: line 2 commits on its own, line 4 never runs
    let kept = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "sql.kept")
        .unwrap();
    assert_eq!(kept["violations"], 1, "{kept}");
    assert!(
        kept["text"]["found"]
            .as_str()
            .unwrap()
            .contains("users 1 updated"),
        "{kept}"
    );
    let mine = copy(&blog, "mine.db");
    let r = run(&[
        "apply",
        s(&mine),
        "--sql",
        s(&script),
        "--transactions",
        "as-written",
        "--on-error",
        "continue",
        "--yes",
    ]);
    assert!(
        r.stdout.starts_with(&format!("applied {} to {} with runner atomic (changed by flags): foreign keys on at start; transactions as the script writes them; an error does not stop the script", script.display(), mine.display())),
        "{}",
        r.stdout
    );
    assert_eq!(
        count(&mine, "SELECT count(*) FROM users WHERE name IN ('x', 'y')"),
        2
    );
}

#[test]
fn every_stage_says_what_happened_cascades_included() {
    let dir = tempfile::tempdir().unwrap();
    let blog = blog_db(dir.path(), "blog.db");
    let backup = gz(&blog);
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // one row deleted by the script, four more by ON DELETE CASCADE; one edit by a trigger
    let forward = write(
        "forward.sql",
        "CREATE TABLE audit (what TEXT);\nINSERT INTO audit VALUES ('cleanup');\nDELETE FROM posts WHERE id = 1;\nUPDATE posts SET title = 'Averages!' WHERE id = 2;\n",
    );
    // forgets the table it should drop: not as before, and the forward script cannot run again
    let rollback = write("rollback.sql", "DELETE FROM audit;\n");
    let r = rehearse(
        &Options {
            backup: Some(backup.clone()),
            forward: forward.clone(),
            rollback: Some(rollback.clone()),
            expect: None,
            runner: Runner::atomic(),
            now: Some(AUG_NOW),
        },
        &mut |_| {},
    )
    .unwrap();
    let detail = |name: &str| {
        r.stages
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.status, s.detail.clone()))
            .unwrap()
    };
    assert_eq!(
        detail("forward"),
        (
            Status::Pass,
            "4 statements run, 7 rows changed: audit 1 inserted; comments 2 deleted; posts 1 updated, 1 deleted; tags 2 deleted; schema: 1 object changed".to_string()
        )
    );
    assert_eq!(
        detail("rollback"),
        (
            Status::Fail,
            "1 statement run, 1 row changed; NOT as before: 7 differences from the state before the forward script".to_string()
        )
    );
    let (status, text) = detail("redeploy");
    assert_eq!(status, Status::Fail);
    assert_eq!(
        text,
        format!(
            "after the rollback the forward script failed at {}:1: table audit already exists; nothing of the script was kept",
            forward.display()
        )
    );
    assert!(
        r.checks
            .iter()
            .any(|c| c.check == "sql.redeploy" && c.found_text() == "table audit already exists")
    );
}

/// After a rebuild `sqlite_sequence` holds the same counters under other rowids: `apply` matches
/// its rows by table name, as `diff` does, and lists no change of it.
#[test]
fn apply_matches_sqlite_sequence_by_name_as_diff_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = blog_db(dir.path(), "blog.db");
    let before = copy(&db, "before.db");
    let r = run(&[
        "apply",
        s(&db),
        "--sql",
        s(&repo(&format!("{BLOG}/rebuild.sql"))),
        "--yes",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("sqlite_sequence"), "{}", r.stdout);
    assert!(r.stdout.contains("no table changed"), "{}", r.stdout);
    // the rowids really moved: the same counters, in another order
    let rowids = |p: &Path| {
        rows(
            &rusqlite::Connection::open(p).unwrap(),
            "SELECT rowid, name, seq FROM sqlite_sequence ORDER BY rowid",
        )
    };
    assert_ne!(rowids(&before), rowids(&db));
    let d = run(&["diff", s(&before), s(&db)]);
    assert!(!d.stdout.contains("sqlite_sequence"), "{}", d.stdout);
    // a counter that really moved is still listed
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("DELETE FROM comments WHERE id = 4;")
        .unwrap();
    let bump = dir.path().join("bump.sql");
    std::fs::write(
        &bump,
        "INSERT INTO comments (post_id, author, body) VALUES (1, 'x', 'y');\n",
    )
    .unwrap();
    let r = run(&["apply", s(&db), "--sql", s(&bump), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("sqlite_sequence"), "{}", r.stdout);
}
