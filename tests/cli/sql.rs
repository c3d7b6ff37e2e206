//! SQL-script migrations: `rehearse --sql`, `apply` and `diff`, on the fixtures under
//! fixtures/sql/. Every report is a snapshot.

use std::path::Path;

use preflight::rehearse::script::{Options, rehearse};
use preflight::report::{Format, Report, Status, render};

use crate::common::*;

const AUG: &str = "fixtures/sql/liveone-2025-08.db.gz";
const VT: &str = "fixtures/sql/vendor-timezone";

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
        },
        &mut |_| {},
    )
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
        check(&r, "expect.query").actual,
        "select.live|1586|600",
        "the seed's own check"
    );
    assert_eq!(check(&r, "sql.rollback").actual, "identical");
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
        rb.examples
            .iter()
            .any(|e| e == "index user_system_idx (on systems) is gone"),
        "{:?}",
        rb.examples
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
        .find(|c| c.check == "sql.scope" && c.scope == "table point_info")
        .unwrap();
    assert_eq!(
        (scope.status, scope.actual.as_str()),
        (Status::Fail, "0 inserted, 5 updated, 0 deleted")
    );
    assert_eq!(scope.violations, 4, "four rows of other systems");
    assert!(
        scope
            .examples
            .iter()
            .any(|e| e.contains("updated rowid 17")),
        "{:?}",
        scope.examples
    );
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
        rerun.examples[0].contains("systems: updated rowid 1: timezone_offset_min 600 → 1200"),
        "{:?}",
        rerun.examples
    );
    crate::snapshot!("sql-not-idempotent", render(&redact(&r), Format::Table));
}

#[test]
fn a_syntax_error_is_named_by_line_and_nothing_of_the_script_stays() {
    let r = sql_rehearsal(Some(AUG), &format!("{VT}/forward-typo.sql"), None, None);
    let f = check(&r, "sql.forward");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.scope, format!("{VT}/forward-typo.sql:9"));
    assert_eq!(f.actual, "near \"WHER\": syntax error");
    // its first UPDATE ran before the error: it must be gone
    let atomic = check(&r, "sql.atomic");
    assert_eq!(
        (atomic.status, atomic.actual.as_str()),
        (Status::Pass, "every table as before")
    );
    assert!(r.stages.iter().skip(3).all(|s| s.status == Status::Skip));
    crate::snapshot!("sql-syntax-error", render(&redact(&r), Format::Table));
}

#[test]
fn the_seeds_selective_cleanup_cannot_run() {
    let r = sql_rehearsal(None, "fixtures/sql/seed-cleanup/cleanup.sql", None, None);
    let f = check(&r, "sql.forward");
    assert_eq!(f.scope, "fixtures/sql/seed-cleanup/cleanup.sql:3");
    assert_eq!(f.actual, "no such column: created_at");
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
    let bad = run(&["rehearse", AUG, "--sql", &format!("{VT}/forward-typo.sql")]);
    assert_eq!(bad.code, 1);
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
        s(&repo(&format!("{VT}/forward-typo.sql"))),
        "--yes",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "forward-typo.sql:9: near \"WHER\": syntax error; nothing of the script was kept"
        ),
        "{}",
        r.stderr
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
    let fp = |db: &Path| {
        let r = run(&["fingerprint", s(db), "--format", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()
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
