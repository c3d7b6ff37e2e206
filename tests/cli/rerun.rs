//! `sql.rerun` for scripts written to run once: a second run that fails and leaves the database
//! exactly as the first run left it "refuses to run twice" (a pass that says so); one that fails
//! after changing something (a runner that keeps the statements before the error) is a hazard
//! that names what changed. Real scripts on real SQLite files; the hazard is confirmed with the
//! real sqlite3 shell. And an undeclared scope is counted as the scope stage shows it: warned.

use std::path::{Path, PathBuf};

use preflight::migrate::runner::Runner;
use preflight::rehearse::script::{Options, rehearse};
use preflight::report::{Format, Report, Status, render};

use crate::common::*;

const NOW: i64 = 1_756_553_400_000;

fn blog_gz(dir: &Path) -> PathBuf {
    let db = dir.join("blog.db");
    let sql = std::fs::read_to_string(repo("fixtures/sql/blog/blog.sql")).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
    gz(&db)
}

fn rehearse_script(backup: &Path, forward: &Path, runner: Runner) -> Report {
    rehearse(
        &Options {
            backup: Some(backup.to_path_buf()),
            forward: forward.to_path_buf(),
            rollback: None,
            expect: None,
            runner,
            now: Some(NOW),
        },
        &mut |_| {},
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn rerun_stage(r: &Report) -> &preflight::report::Stage {
    r.stages
        .iter()
        .find(|s| s.name == "forward again")
        .unwrap_or_else(|| panic!("no forward again stage in {}", render(r, Format::Table)))
}

fn rerun_checks(r: &Report) -> Vec<&preflight::report::CheckResult> {
    r.checks.iter().filter(|c| c.check == "sql.rerun").collect()
}

#[test]
fn run_once_scripts_refuse_a_second_run_and_pass_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let backup = blog_gz(dir.path());
    let scripts = [
        (
            "add-column.sql",
            "ALTER TABLE users ADD COLUMN bio TEXT;\n",
            "duplicate column name: bio",
        ),
        (
            "create.sql",
            "CREATE TABLE drafts (id INTEGER PRIMARY KEY, title TEXT);\nINSERT INTO drafts (title) SELECT title FROM posts;\n",
            "table drafts already exists",
        ),
        (
            "drop.sql",
            "DROP VIEW post_summary;\n",
            "no such view: post_summary",
        ),
        (
            "rename.sql",
            "ALTER TABLE tags RENAME TO post_tags;\n",
            "no such table: tags",
        ),
    ];
    for runner in [Runner::atomic(), Runner::sqlite3(), Runner::turso_shell()] {
        for (name, text, message) in scripts {
            if name == "create.sql" && runner.name == "sqlite3" {
                // the shell goes on after the error: the copy runs again (the hazard test below)
                continue;
            }
            let forward = write(dir.path(), name, text);
            let r = rehearse_script(&backup, &forward, runner.clone());
            let stage = rerun_stage(&r);
            let table = render(&r, Format::Table);
            assert_eq!(
                stage.status,
                Status::Pass,
                "{name} {}: {table}",
                runner.name
            );
            assert!(
                stage.detail.contains("refuses to run twice")
                    && stage.detail.contains(message)
                    && stage
                        .detail
                        .contains("the database exactly as its first run left it"),
                "{name} {}: {}",
                runner.name,
                stage.detail
            );
            let checks = rerun_checks(&r);
            assert!(
                !checks.is_empty() && checks.iter().all(|c| c.status == Status::Pass),
                "{name} {}: {table}",
                runner.name
            );
            assert_eq!(r.status, Status::Pass, "{name} {}: {table}", runner.name);
        }
    }
}

#[test]
fn an_idempotent_script_still_passes_as_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let backup = blog_gz(dir.path());
    let forward = write(
        dir.path(),
        "idem.sql",
        "CREATE TABLE IF NOT EXISTS drafts (id INTEGER PRIMARY KEY);\nUPDATE posts SET score = 1 WHERE id = 3;\n",
    );
    let r = rehearse_script(&backup, &forward, Runner::atomic());
    let stage = rerun_stage(&r);
    assert_eq!(stage.status, Status::Pass, "{}", stage.detail);
    assert!(stage.detail.contains("nothing changed"), "{}", stage.detail);
}

#[test]
fn liveones_self_recording_file_is_guarded_by_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let forward = repo("fixtures/migrations/liveone-app/migrations/0012_solar_display_name.sql");
    for runner in [Runner::atomic(), Runner::turso_shell()] {
        let r = rehearse_script(&small_fixture_gz(), &forward, runner.clone());
        let stage = rerun_stage(&r);
        let table = render(&r, Format::Table);
        assert_eq!(stage.status, Status::Pass, "{}: {table}", runner.name);
        assert!(
            stage.detail.contains("refuses to run twice")
                && stage
                    .detail
                    .contains("UNIQUE constraint failed: migrations.id")
                && stage
                    .detail
                    .contains("records itself in migrations as '0012_solar_display_name'"),
            "{}: {}",
            runner.name,
            stage.detail
        );
    }
    drop(dir);
}

/// Under a runner that keeps the statements before an error, a second run that changes rows and
/// then fails is what a second `turso db shell DB < file` does to production.
#[test]
fn a_second_run_that_changes_something_before_failing_is_a_hazard_naming_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let backup = blog_gz(dir.path());
    let text = "UPDATE posts SET edits = edits + 10 WHERE id = 1;\nALTER TABLE users ADD COLUMN bio TEXT;\n";
    let forward = write(dir.path(), "bump.sql", text);
    for runner in [Runner::sqlite3(), Runner::turso_shell()] {
        let r = rehearse_script(&backup, &forward, runner.clone());
        let stage = rerun_stage(&r);
        let table = render(&r, Format::Table);
        assert_eq!(stage.status, Status::Fail, "{}: {table}", runner.name);
        assert!(
            stage.detail.contains("bump.sql:2")
                && stage.detail.contains("duplicate column name: bio")
                && stage.detail.contains("1 change"),
            "{}: {}",
            runner.name,
            stage.detail
        );
        let claim = rerun_checks(&r)
            .into_iter()
            .find(|c| c.status == Status::Fail && c.scope_text().ends_with("bump.sql"))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(
            claim
                .example_texts()
                .iter()
                .any(|e| e.contains("posts: updated rowid 1: edits 10 → 20")),
            "{:?}",
            claim.example_texts()
        );
        assert_eq!(r.status, Status::Fail);
    }
    // the shell goes on after `table drafts already exists`: the copy doubles
    let create = write(
        dir.path(),
        "create.sql",
        "CREATE TABLE drafts (id INTEGER PRIMARY KEY, title TEXT);\nINSERT INTO drafts (title) SELECT title FROM posts;\n",
    );
    let r = rehearse_script(&backup, &create, Runner::sqlite3());
    let stage = rerun_stage(&r);
    assert_eq!(stage.status, Status::Fail, "{}", stage.detail);
    assert!(
        stage.detail.contains("create.sql:1") && stage.detail.contains("3 changes"),
        "{}",
        stage.detail
    );
    // the real shell run twice does the same: the second run's UPDATE stays
    let db = dir.path().join("shell.db");
    gunzip(&backup, &db);
    for _ in 0..2 {
        let out = std::process::Command::new("sqlite3")
            .arg(&db)
            .stdin(std::fs::File::open(&forward).unwrap())
            .output()
            .expect("the sqlite3 shell is needed by these tests: scripts/test.sh installs it");
        assert!(out.status.success() || !out.stderr.is_empty());
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(scalar(&conn, "SELECT edits FROM posts WHERE id = 1"), 20);
    // under atomic the second run's failure rolls everything back: it refuses to run twice
    let r = rehearse_script(&backup, &forward, Runner::atomic());
    let stage = rerun_stage(&r);
    assert_eq!(stage.status, Status::Pass, "{}", stage.detail);
    assert!(
        stage.detail.contains("refuses to run twice"),
        "{}",
        stage.detail
    );
}

/// With no scope declared the scope stage warns, and so do its per-table results: the summary
/// counts them as warned, as the stage says, not as skipped.
#[test]
fn an_undeclared_scope_is_counted_as_warned_like_its_stage() {
    let dir = tempfile::tempdir().unwrap();
    let backup = blog_gz(dir.path());
    let forward = write(
        dir.path(),
        "touch.sql",
        "UPDATE users SET seen_at = '2025-08-30' WHERE id = 1;\nINSERT INTO tags VALUES (2, 'numbers');\n",
    );
    let r = rehearse_script(&backup, &forward, Runner::atomic());
    let stage = r.stages.iter().find(|s| s.name == "scope").unwrap();
    assert_eq!(stage.status, Status::Warn, "{}", stage.detail);
    let scope: Vec<_> = r.checks.iter().filter(|c| c.check == "sql.scope").collect();
    assert_eq!(scope.len(), 2, "{}", render(&r, Format::Table));
    assert!(scope.iter().all(|c| c.status == Status::Warn), "{scope:?}");
    assert_eq!(r.summary.warned, 2, "{:?}", r.summary);
    let table = render(&r, Format::Table);
    assert!(table.contains("2 warned"), "{table}");
}
