//! SQLite hazards of SQL-script migrations (`rehearse --sql`), each by a real script on a real
//! database: the blog (fixtures/sql/blog/blog.sql) and the LiveOne-shaped fixtures. A script
//! that corrupts fails with no EXPECT.toml, naming the hazard; its corrected form, and the
//! harmless scripts of fixtures/, raise none: a false alarm is as serious as a false pass.

use std::path::{Path, PathBuf};

use preflight::hazards::{HAZARDS, Schema};
use preflight::migrate::runner::{LocalSession, Runner};
use preflight::migrate::script;
use preflight::rehearse::script::{Options, rehearse};
use preflight::report::{Format, RenderOptions, Report, Status, render, renderer};
use rstest::rstest;

use crate::common::*;

const H: &str = "fixtures/sql/hazards";
/// 2025-08-30T11:30:00Z, as the other SQL-script tests.
const NOW: i64 = 1_756_553_400_000;

fn rehearsal(
    backup: Option<&Path>,
    forward: &str,
    rollback: Option<&str>,
    expect: Option<&Path>,
) -> Report {
    rehearse(
        &Options {
            backup: backup.map(Path::to_path_buf),
            forward: forward.into(),
            rollback: rollback.map(Into::into),
            expect: expect.map(Path::to_path_buf),
            runner: Runner::atomic(),
            now: Some(NOW),
        },
        &mut |_| {},
    )
    .unwrap()
}

/// A database built from SQL, and its gzipped copy to rehearse on.
fn backup_of(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let db = dir.join(format!("{name}.db"));
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    gz(&db)
}

fn blog_sql() -> String {
    std::fs::read_to_string(repo("fixtures/sql/blog/blog.sql")).unwrap()
}

/// (check, scope) of every hazard that failed.
fn hazards_failed(r: &Report) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && HAZARDS.iter().any(|h| h.0 == c.check))
        .map(|c| (c.check.clone(), c.scope_text().clone()))
        .collect();
    v.sort();
    v
}

fn find<'r>(r: &'r Report, check: &str, scope: &str) -> &'r preflight::report::CheckResult {
    r.checks
        .iter()
        .find(|c| c.check == check && c.scope_text() == scope)
        .unwrap_or_else(|| panic!("no {check} · {scope} in {}", render(r, Format::Table)))
}

/// The report as a terminal shows it by default: stages, then failures and warnings only.
fn compact(r: &Report, dir: &Path) -> String {
    renderer(Format::Table)
        .render(
            &redact(r),
            &RenderOptions {
                all: false,
                width: None,
            },
        )
        .replace(s(dir), "<tmp>")
}

#[rstest]
#[case::cascade_wipe(
    "blog-cascade-wipe",
    &[("sql.collateral", "table comments"), ("sql.collateral", "table tags")],
    "line 16 (DROP TABLE posts) deletes from comments through the foreign key comments(post_id) → posts ON DELETE CASCADE"
)]
#[case::vanished_index_and_trigger(
    "blog-forgets-index-and-trigger",
    &[("sql.vanished", "index posts_user"), ("sql.vanished", "trigger posts_edited")],
    "index posts_user (on posts) is gone; line 16: DROP TABLE posts dropped it with the table, and no statement created it again"
)]
#[case::broken_view(
    "blog-breaks-view",
    &[("sql.broken", "view post_summary")],
    "view post_summary no longer compiles: no such column: p.score"
)]
#[case::rename_to_backup(
    "blog-rename-to-backup",
    &[("sql.references", "table posts"), ("sql.references", "view post_summary")],
    "posts(user_id) → users_backup_20250830: it referenced users before the script, and users exists again"
)]
#[case::sequence_reset(
    "blog-sequence-reset",
    &[("sql.sequence", "table comments")],
    "the AUTOINCREMENT counter of comments (4) is gone"
)]
#[case::constraints_lost_in_a_rebuild(
    "blog-loses-constraints",
    &[("sql.constraints", "column comments.author"), ("sql.constraints", "column comments.created_at")],
    "comments.created_at lost DEFAULT CURRENT_TIMESTAMP in the rebuild of comments"
)]
#[case::rows_copied_into_another_order(
    "blog-reorders-tags",
    &[("sql.layout", "table tags")],
    "tags rebuilt with its 4 rows copied: column order (post_id, tag) → (tag, post_id)"
)]
fn each_hazard_fails_a_blog_rehearsal_with_no_expect_and_is_named(
    #[case] script: &str,
    #[case] expected: &[(&str, &str)],
    #[case] says: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let backup = backup_of(dir.path(), "blog", &blog_sql());
    let r = rehearsal(Some(&backup), &format!("{H}/{script}.sql"), None, None);
    assert_eq!(r.status, Status::Fail, "{}", render(&r, Format::Table));
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(c, s)| (c.to_string(), s.to_string()))
        .collect();
    assert_eq!(hazards_failed(&r), want, "{}", render(&r, Format::Table));
    assert!(
        r.checks
            .iter()
            .any(|c| c.check == expected[0].0 && c.found_text().contains(says)),
        "{}",
        render(&r, Format::Table)
    );
    // without --expect the scope is not judged, and the stage says so
    let scope = r.stages.iter().find(|s| s.name == "scope").unwrap();
    assert_eq!(scope.status, Status::Fail);
    assert!(
        scope
            .detail
            .starts_with("no scope declared (give --expect)"),
        "{}",
        scope.detail
    );
    crate::snapshot!(format!("hazard-{script}"), compact(&r, dir.path()));
}

#[test]
fn the_corrected_rename_keeps_the_references_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let backup = backup_of(dir.path(), "blog", &blog_sql());
    let r = rehearsal(
        Some(&backup),
        &format!("{H}/blog-rename-to-backup-fixed.sql"),
        None,
        None,
    );
    assert_eq!(hazards_failed(&r), vec![], "{}", render(&r, Format::Table));
    // it is not idempotent (the backup name is taken the second time): one transaction keeps
    // nothing of the second run, so it refuses to run twice, and says so
    let again = r.stages.iter().find(|s| s.name == "forward again").unwrap();
    assert_eq!(again.status, Status::Pass, "{}", again.detail);
    assert!(
        again.detail.starts_with("refuses to run twice")
            && again.detail.contains("users_backup_20250830"),
        "{}",
        again.detail
    );
}

#[test]
fn the_composite_key_mistake_fails_on_liveone_data_and_its_corrected_forms_pass() {
    let dir = tempfile::tempdir().unwrap();
    // aggregate rows: the energy points of system 1 have ids 9-14, which are points of systems 2
    // and 5 too
    let r = rehearsal(None, &format!("{H}/liveone-agg-energy.sql"), None, None);
    assert_eq!(
        hazards_failed(&r),
        vec![
            (
                "sql.composite_key".to_string(),
                format!("{H}/liveone-agg-energy.sql:7")
            ),
            (
                "sql.key_spread".to_string(),
                "table point_readings_agg_5m".to_string()
            ),
        ]
    );
    let lint = find(
        &r,
        "sql.composite_key",
        &format!("{H}/liveone-agg-energy.sql:7"),
    );
    assert!(
        lint.found_text().starts_with("line 7: point_readings_agg_5m.point_id IN (SELECT id FROM point_info …) matches on id alone; point_info's key is (system_id, id), and system_id is neither correlated nor constrained"),
        "{}",
        lint.found_text()
    );
    let spread = find(&r, "sql.key_spread", "table point_readings_agg_5m");
    assert_eq!(
        spread.found_text(),
        format!(
            "{} rows changed in systems 1, 2, 5; the statement at line 5 names system_id 1 only",
            rows_of_system_1_energy_ids()
        )
    );
    let all = rows_of_system_1_energy_ids();
    let of_system_1 = rows_of_system_1_energy_ids_in(1);
    assert_eq!(
        spread.violations,
        (all - of_system_1) as u64,
        "the rows of systems 2 and 5"
    );
    // the changed rows are named by their key, not by a rowid
    let scope = find(&r, "sql.scope", "table point_readings_agg_5m");
    assert!(
        scope.found_text()
            == format!("0 inserted, {all} updated, 0 deleted; in systems 1, 2, 5; not judged"),
        "{}",
        scope.found_text()
    );
    assert!(
        scope.example_texts()[0].starts_with("updated system_id 1, point_id 9, interval_end "),
        "{:?}",
        scope.example_texts()
    );
    crate::snapshot!("hazard-liveone-agg-energy", compact(&r, dir.path()));

    let fixed = rehearsal(
        None,
        &format!("{H}/liveone-agg-energy-fixed.sql"),
        None,
        None,
    );
    assert_eq!(
        fixed.status,
        Status::Pass,
        "{}",
        render(&fixed, Format::Table)
    );
    assert_eq!(
        find(&fixed, "sql.scope", "table point_readings_agg_5m").found_text(),
        format!("0 inserted, {of_system_1} updated, 0 deleted; in system 1; not judged")
    );

    // point metadata: system 1's solar point renamed, and every system's point 1 with it
    let r = rehearsal(None, "fixtures/sql/point-metadata/forward.sql", None, None);
    assert_eq!(
        hazards_failed(&r),
        vec![
            (
                "sql.composite_key".to_string(),
                "fixtures/sql/point-metadata/forward.sql:6".to_string()
            ),
            ("sql.key_spread".to_string(), "table point_info".to_string()),
        ]
    );
    let spread = find(&r, "sql.key_spread", "table point_info");
    assert_eq!(
        spread.found_text(),
        "5 rows changed in systems 1, 2, 3, 5, 6; the statement at line 4 names system_id 1 only"
    );
    // examples name the key and the column the statement filtered on
    let scope = find(&r, "sql.scope", "table point_info");
    assert!(
        scope
            .example_texts()
            .iter()
            .any(|e| e.starts_with("updated system_id 5, id 1 (origin_sub_id \"solarW\"): display_name \"Solar W\" → \"Solar (total)\"")),
        "{:?}",
        scope.example_texts()
    );
    let fixed = rehearsal(
        None,
        "fixtures/sql/point-metadata/forward-fixed.sql",
        Some("fixtures/sql/point-metadata/rollback.sql"),
        // relative, as the scripts: the report names it as given
        Some(Path::new("fixtures/sql/point-metadata/expect.toml")),
    );
    assert_eq!(
        fixed.status,
        Status::Pass,
        "{}",
        render(&fixed, Format::Table)
    );
    crate::snapshot!("hazard-point-metadata-fixed", compact(&fixed, dir.path()));
}

#[test]
fn a_cascade_and_a_rename_to_backup_on_liveone_data() {
    let dir = tempfile::tempdir().unwrap();
    let r = rehearsal(None, &format!("{H}/liveone-remove-system.sql"), None, None);
    assert_eq!(
        hazards_failed(&r),
        vec![
            ("sql.collateral".to_string(), "table point_info".to_string()),
            (
                "sql.collateral".to_string(),
                "table polling_status".to_string()
            ),
            (
                "sql.collateral".to_string(),
                "table user_systems".to_string()
            ),
        ]
    );
    assert!(
        find(&r, "sql.collateral", "table point_info")
            .found_text()
            .starts_with("point_info: 18 deleted in system 6; no statement names point_info: line 3 (DELETE FROM systems) deletes from point_info through the foreign key point_info(system_id) → systems ON DELETE CASCADE"),
        "{}",
        find(&r, "sql.collateral", "table point_info").found_text()
    );
    crate::snapshot!("hazard-liveone-remove-system", compact(&r, dir.path()));
    // meant: allowed by name, and counted by the scope
    let expect = dir.path().join("expect.toml");
    std::fs::write(
        &expect,
        "[scope.systems]\ndeleted = 1\n[scope.point_info]\ndeleted = 18\n[scope.polling_status]\ndeleted = 1\n\
         [scope.user_systems]\ndeleted = 2\n[allow]\ncollateral = [\"point_info\", \"polling_status\", \"user_systems\"]\n",
    )
    .unwrap();
    let r = rehearsal(
        None,
        &format!("{H}/liveone-remove-system.sql"),
        None,
        Some(&expect),
    );
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    assert!(
        find(&r, "sql.collateral", "table point_info")
            .found_text()
            .ends_with("(allowed: [allow] collateral names point_info)")
    );
    // a scope alone does not allow a hazard
    std::fs::write(
        &expect,
        "[scope.systems]\ndeleted = 1\n[scope.point_info]\ndeleted = 18\n[scope.polling_status]\ndeleted = 1\n[scope.user_systems]\ndeleted = 2\n",
    )
    .unwrap();
    let r = rehearsal(
        None,
        &format!("{H}/liveone-remove-system.sql"),
        None,
        Some(&expect),
    );
    assert_eq!(hazards_failed(&r).len(), 3);

    let r = rehearsal(
        None,
        &format!("{H}/liveone-rename-to-backup.sql"),
        None,
        None,
    );
    let mut want: Vec<(String, String)> = ["table point_readings", "table point_readings_agg_5m"]
        .iter()
        .map(|t| ("sql.references".to_string(), t.to_string()))
        .collect();
    // and point_info's indexes went along to the backup: the new table has none of them
    want.extend(
        [
            "pi_metric_type_idx",
            "pi_subsystem_idx",
            "pi_system_idx",
            "pi_system_point_unique",
            "pi_system_short_name_unique",
        ]
        .iter()
        .map(|i| ("sql.vanished".to_string(), format!("index {i}"))),
    );
    assert_eq!(hazards_failed(&r), want);
    crate::snapshot!("hazard-liveone-rename-to-backup", compact(&r, dir.path()));
    assert_eq!(
        find(&r, "sql.references", "table point_readings").example_texts()[0],
        "line 3: ALTER TABLE point_info RENAME made SQLite rewrite the reference to point_info_backup_20251106"
    );
    // the August 2025 database: the rename takes the unique index along to the backup
    let r = rehearsal(
        Some(&repo("fixtures/sql/liveone-2025-08.db.gz")),
        &format!("{H}/liveone-2025-08-rename-systems.sql"),
        None,
        None,
    );
    assert_eq!(
        hazards_failed(&r),
        vec![(
            "sql.vanished".to_string(),
            "index user_system_idx".to_string()
        )]
    );
    assert_eq!(
        find(&r, "sql.vanished", "index user_system_idx").found_text(),
        "index user_system_idx is on systems_backup_20250830 now: line 4 renamed systems and took it along; the new systems has no such index"
    );
}

/// The harmless scripts of fixtures/, with and without EXPECT.toml: no hazard.
#[test]
fn the_harmless_scripts_raise_no_hazard() {
    let dir = tempfile::tempdir().unwrap();
    let aug = repo("fixtures/sql/liveone-2025-08.db.gz");
    for expect in [None, Some(repo("fixtures/sql/vendor-timezone/expect.toml"))] {
        let r = rehearsal(
            Some(&aug),
            "fixtures/sql/vendor-timezone/forward.sql",
            Some("fixtures/sql/vendor-timezone/rollback.sql"),
            expect.as_deref(),
        );
        assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    }
    let blog = backup_of(dir.path(), "blog", &blog_sql());
    for expect in [None, Some(repo("fixtures/sql/blog/expect.toml"))] {
        let r = rehearsal(
            Some(&blog),
            "fixtures/sql/blog/rebuild.sql",
            Some("fixtures/sql/blog/rollback.sql"),
            expect.as_deref(),
        );
        assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    }
    for script in ["rollback.sql", "touch-users.sql"] {
        let r = rehearsal(
            Some(&blog),
            &format!("fixtures/sql/blog/{script}"),
            None,
            None,
        );
        assert_eq!(hazards_failed(&r), vec![], "{script}");
    }
    // LiveOne's own migration files, each rehearsed on the database the ones before it leave
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("fixtures/migrations/liveone/migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let state = dir.path().join("project.db");
    rusqlite::Connection::open(&state)
        .unwrap()
        .execute_batch("PRAGMA user_version = 1")
        .unwrap();
    for f in &files {
        let backup = gz(&state);
        let r = rehearsal(Some(&backup), s(f), None, None);
        assert_eq!(
            hazards_failed(&r),
            vec![],
            "{}: {}",
            f.display(),
            render(&r, Format::Table)
        );
        let sc = script::load(f).unwrap();
        let mut session = LocalSession::open(&state, None, false).unwrap();
        assert!(Runner::atomic().execute(&sc, &mut session).unwrap().ok());
    }
}

/// The composite-key lint says nothing about any SQL file of fixtures/ but the two written to
/// show it, against each schema they could run on.
#[test]
fn the_lint_is_silent_on_every_other_script_of_the_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let liveone = std::fs::read_to_string(repo("fixtures/liveone/schema.sql"))
        .unwrap()
        .replace("CREATE TABLE sqlite_sequence(name,seq);", "");
    let aug = dir.path().join("aug.db");
    gunzip(&repo("fixtures/sql/liveone-2025-08.db.gz"), &aug);
    let schemas: Vec<Schema> = [blog_sql(), liveone]
        .iter()
        .map(|sql| {
            let c = rusqlite::Connection::open_in_memory().unwrap();
            c.execute_batch(sql).unwrap();
            Schema::of_connection(&c).unwrap()
        })
        .chain(std::iter::once({
            let c = rusqlite::Connection::open(&aug).unwrap();
            Schema::of_connection(&c).unwrap()
        }))
        .collect();
    let mut files = Vec::new();
    let mut stack = vec![repo("fixtures")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "sql") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 40, "{}", files.len());
    let mistakes = [
        "fixtures/sql/point-metadata/forward.sql",
        "fixtures/sql/hazards/liveone-agg-energy.sql",
    ];
    for f in &files {
        let Ok(sc) = script::load(f) else { continue };
        let meant = mistakes.iter().any(|m| f.ends_with(m));
        let found: usize = schemas
            .iter()
            .map(|sch| preflight::hazards::keys::lint(&sc, sch).unwrap().len())
            .sum();
        assert_eq!(found > 0, meant, "{}", f.display());
    }
}

/// JUnit shows a hazard as a failure and an unjudged change as skipped, never as a pass.
#[test]
fn junit_never_shows_a_deletion_as_a_passing_case() {
    let dir = tempfile::tempdir().unwrap();
    let backup = backup_of(dir.path(), "blog", &blog_sql());
    let r = rehearsal(
        Some(&backup),
        &format!("{H}/blog-cascade-wipe.sql"),
        None,
        None,
    );
    let x = render(&r, Format::Junit);
    // one test case: from its name to the next test case
    let case = |x: &str, class: &str, name: &str| -> String {
        let at = x
            .find(&format!("name=\"{name}\" classname=\"{class}\""))
            .unwrap_or_else(|| panic!("no {class} {name} in {x}"));
        let rest = &x[at..];
        rest[..rest.find("<testcase").unwrap_or(rest.len())].to_string()
    };
    assert!(
        case(&x, "preflight.sql.collateral", "table comments").contains("<failure"),
        "{x}"
    );
    assert!(
        case(&x, "preflight.sql.scope", "table comments").contains("<skipped"),
        "{x}"
    );
    // a deletion the script names, with nothing declared: not judged, and not a pass either
    let script = dir.path().join("drop-intro-tags.sql");
    std::fs::write(&script, "DELETE FROM tags WHERE tag = 'intro';\n").unwrap();
    let r = rehearsal(Some(&backup), s(&script), None, None);
    assert_eq!(r.status, Status::Pass);
    let tags = find(&r, "sql.scope", "table tags");
    assert_eq!(
        (tags.status, tags.found_text().as_str()),
        (Status::Warn, "0 inserted, 0 updated, 2 deleted; not judged")
    );
    let x = render(&r, Format::Junit);
    assert!(
        case(&x, "preflight.sql.scope", "table tags").contains("<skipped"),
        "{x}"
    );
    // and the scope stage, which could not judge anything, is no passing case either
    let stage = case(&x, "preflight.stage", "scope");
    assert!(
        stage.contains("<skipped message=\"no scope declared (give --expect)"),
        "{stage}"
    );
}

/// EXPECT.toml declares schema changes by object; `[scope.T] schema = true` still declares all
/// of a table's, and no declaration of a scope allows a hazard.
#[test]
fn expect_declares_schema_changes_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let aug = repo("fixtures/sql/liveone-2025-08.db.gz");
    let vt = "fixtures/sql/vendor-timezone/forward.sql";
    let original =
        std::fs::read_to_string(repo("fixtures/sql/vendor-timezone/expect.toml")).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // the index it drops, left out of [schema]
    let e = write(
        "no-drop.toml",
        &original.replace("dropped = [\"user_system_idx\"], ", ""),
    );
    let r = rehearsal(Some(&aug), vt, None, Some(&e));
    let systems = find(&r, "sql.scope", "table systems");
    assert_eq!((systems.status, systems.violations), (Status::Fail, 1));
    assert_eq!(
        systems.example_texts()[0],
        "index user_system_idx (on systems) is gone"
    );
    assert_eq!(
        hazards_failed(&r),
        vec![],
        "dropped by a statement: no hazard"
    );
    // the broad form
    let broad = original.replace(
        "[scope.systems]\nupdated = 1\n",
        "[scope.systems]\nupdated = 1\nschema = true\n",
    );
    let e = write("broad.toml", broad.split("[schema]").next().unwrap());
    let r = rehearsal(Some(&aug), vt, None, Some(&e));
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    assert_eq!(
        find(&r, "sql.scope", "table systems").expected_text(),
        "at most 0 inserted, 1 updated, 0 deleted, schema may change"
    );
    // a vanished index and trigger: schema = true does not allow them, naming them does
    let blog = backup_of(dir.path(), "blog", &blog_sql());
    let forgets = format!("{H}/blog-forgets-index-and-trigger.sql");
    let e = write("broad-blog.toml", "[scope.posts]\nschema = true\n");
    let r = rehearsal(Some(&blog), &forgets, None, Some(&e));
    assert_eq!(hazards_failed(&r).len(), 2);
    assert_eq!(
        find(&r, "sql.scope", "table posts").status,
        Status::Pass,
        "the scope itself allows it"
    );
    let e = write(
        "named.toml",
        "[schema]\ncolumns.changed = [\"posts.title\"]\nindexes.dropped = [\"posts_user\"]\ntriggers.dropped = [\"posts_edited\"]\n",
    );
    let r = rehearsal(Some(&blog), &forgets, None, Some(&e));
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    assert!(
        find(&r, "sql.vanished", "index posts_user")
            .found_text()
            .ends_with("(allowed: [schema] indexes.dropped names posts_user)"),
        "{}",
        find(&r, "sql.vanished", "index posts_user").found_text()
    );
}

#[test]
fn the_command_line_exits_1_on_a_hazard_and_0_on_its_corrected_form() {
    let r = run(&[
        "rehearse",
        "--sql",
        &format!("{H}/liveone-agg-energy.sql"),
        "--now",
        "2025-08-30T11:30:00Z",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("FAIL sql.composite_key"), "{}", r.stdout);
    let r = run(&[
        "rehearse",
        "--sql",
        &format!("{H}/liveone-agg-energy-fixed.sql"),
        "--now",
        "2025-08-30T11:30:00Z",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
}

/// A rebuild that reorders columns but copies its rows by name keeps every value in its column:
/// the order alone is no hazard there (a warning says it changed). Copied by position, or with
/// values that land in another column, it still fails.
#[test]
fn a_reorder_copied_by_name_warns_and_a_positional_or_crossed_copy_fails() {
    let dir = tempfile::tempdir().unwrap();
    let backup = backup_of(dir.path(), "blog", &blog_sql());
    let rebuild = |name: &str, copy: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "PRAGMA foreign_keys=OFF;\nPRAGMA legacy_alter_table=ON;\nBEGIN;\nCREATE TABLE new_comments (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,\n  body TEXT NOT NULL,\n  author TEXT NOT NULL,\n  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n{copy}\nDROP TABLE comments;\nALTER TABLE new_comments RENAME TO comments;\nCOMMIT;\nPRAGMA foreign_keys=ON;\n"
            ),
        )
        .unwrap();
        p
    };
    // by name: every value in its column
    let by_name = rebuild(
        "by-name.sql",
        "INSERT INTO new_comments (id, created_at, post_id, author, body)\n  SELECT id, created_at, post_id, author, body FROM comments;",
    );
    let r = rehearsal(Some(&backup), s(&by_name), None, None);
    assert!(
        r.checks
            .iter()
            .any(|c| c.check == "sql.forward" && c.status == Status::Pass),
        "{}",
        render(&r, Format::Table)
    );
    assert_eq!(hazards_failed(&r), vec![], "{}", render(&r, Format::Table));
    let layout = find(&r, "sql.layout", "table comments");
    assert_eq!(layout.status, Status::Warn, "{layout:?}");
    assert!(
        layout.found_text().contains("column order")
            && layout
                .found_text()
                .contains("copied by name, every value in its column"),
        "{}",
        layout.found_text()
    );
    // the values really are intact: the rebuilt copy against the original, column by column
    let db = dir.path().join("by-name.db");
    gunzip(&backup, &db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let before = rows(
        &conn,
        "SELECT id, post_id, author, body, created_at FROM comments ORDER BY id",
    );
    conn.execute_batch(&std::fs::read_to_string(&by_name).unwrap())
        .unwrap();
    let after = rows(
        &conn,
        "SELECT id, post_id, author, body, created_at FROM comments ORDER BY id",
    );
    assert_eq!(before, after);
    // by position (SELECT * into the new order): body gets the authors, author the bodies
    let star = rebuild(
        "star.sql",
        "INSERT INTO new_comments SELECT * FROM comments;",
    );
    let r = rehearsal(Some(&backup), s(&star), None, None);
    let layout = find(&r, "sql.layout", "table comments");
    assert_eq!(layout.status, Status::Fail, "{layout:?}");
    assert!(
        layout
            .example_texts()
            .iter()
            .any(|e| e.contains("star.sql:11")),
        "{:?}",
        layout.example_texts()
    );
    // a column list and an explicit SELECT that do not match: values cross columns
    let crossed = rebuild(
        "crossed.sql",
        "INSERT INTO new_comments (id, created_at, post_id, author, body)\n  SELECT id, created_at, post_id, body, author FROM comments;",
    );
    let r = rehearsal(Some(&backup), s(&crossed), None, None);
    let layout = find(&r, "sql.layout", "table comments");
    assert_eq!(layout.status, Status::Fail, "{layout:?}");
    assert!(
        layout.found_text().contains("values moved"),
        "{}",
        layout.found_text()
    );
}
