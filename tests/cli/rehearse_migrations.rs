//! `rehearse BACKUP --migrations DIR`: for every tool's fixture project, a blog database two
//! migrations behind (users, posts and comments in it) gets the pending migrations rehearsed as
//! the tool runs them. The database the rehearsal leaves equals what the real tool leaves
//! (dbmate and drizzle-kit run here) and what the reference executor of the tests leaves for the
//! others; a cascading rebuild and a file that does not parse fail with file and line; a LiveOne
//! backup is rehearsed with LiveOne's own directory.

use std::path::{Path, PathBuf};

use preflight::migrations::Tool;
use preflight::rehearse::directory::{Options, rehearse};
use preflight::report::{Format, Report, Status, render};
use rstest::rstest;

use crate::common::tools::*;
use crate::common::*;

/// The instant every rehearsal here freezes the clock at: 2026-03-01T00:00:00Z.
const NOW: i64 = 1_772_323_200_000;

/// Users, posts and comments, in the names the tool's fixture gives them.
fn blog_rows(tool: &str) -> &'static str {
    if tool == "prisma" {
        r#"INSERT INTO "User" (id, email, name) VALUES (1, 'ada@example.org', 'Ada'), (2, 'bob@example.org', 'Bob');
           INSERT INTO "Post" (id, "authorId", title, body) VALUES (1, 1, 'Hello', 'first'), (2, 2, 'Again', 'second');
           INSERT INTO "Comment" (id, "postId", "authorId", body) VALUES (1, 1, 2, 'hi'), (2, 2, 1, 'yo'), (3, 1, 1, 'me');"#
    } else {
        "INSERT INTO users (id, email, name, created_at) VALUES (1, 'ada@example.org', 'Ada', 1767225600), (2, 'bob@example.org', 'Bob', 1767225660);
         INSERT INTO posts (id, author_id, title, body, created_at) VALUES (1, 1, 'Hello', 'first', 1767312000), (2, 2, 'Again', 'second', 1767398400);
         INSERT INTO comments (id, post_id, author_id, body, created_at) VALUES (1, 1, 2, 'hi', 1767484800), (2, 2, 1, 'yo', 1767571200), (3, 1, 1, 'me', 1767657600);"
    }
}

fn parse_tool(name: &str) -> Tool {
    Tool::ALL.into_iter().find(|t| t.name() == name).unwrap()
}

/// The blog database with the first `n` migrations applied as modelled, and its rows.
fn behind(tool: &str, dir: &Path, n: usize, at: &Path) -> PathBuf {
    apply_as_modelled(parse_tool(tool), dir, at, Some(n));
    rusqlite::Connection::open(at)
        .unwrap()
        .execute_batch(blog_rows(tool))
        .unwrap();
    at.to_path_buf()
}

fn rehearse_dir(
    backup: &Path,
    dir: &Path,
    tool: Option<Tool>,
    expect_dir: Option<&Path>,
    keep: Option<&Path>,
) -> Report {
    rehearse(
        &Options {
            backup: Some(backup.to_path_buf()),
            dir: dir.to_path_buf(),
            tool,
            table: None,
            expect_dir: expect_dir.map(Path::to_path_buf),
            now: Some(NOW),
            keep: keep.map(Path::to_path_buf),
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn stage<'a>(r: &'a Report, name: &str) -> &'a preflight::report::Stage {
    r.stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}: {}", render(r, Format::Table)))
}

fn checks<'a>(r: &'a Report, id: &str) -> Vec<&'a preflight::report::CheckResult> {
    r.checks.iter().filter(|c| c.check == id).collect()
}

/// The file name of a migration without `.sql` (and `.up`), or prisma's directory.
fn names(tool: &str, dir: &Path) -> Vec<String> {
    preflight::migrations::load(parse_tool(tool), dir)
        .unwrap()
        .iter()
        .map(preflight::rehearse::directory::migration_name)
        .collect()
}

/// Every table but the tool's tracking table (and its `sqlite_sequence` line).
fn user_data(db: &Path, tracking: &str) -> Dump {
    let mut d = dump(db);
    d.remove(tracking);
    if let Some(seq) = d.get_mut("sqlite_sequence") {
        seq.retain(|r| r[0] != rusqlite::types::Value::Text(tracking.into()));
    }
    if let Some(schema) = d.get_mut("(schema)") {
        schema.retain(|r| r[2] != rusqlite::types::Value::Text(tracking.into()));
    }
    d
}

#[rstest]
#[case::liveone("liveone", "migrations", false)]
#[case::drizzle("drizzle", "__drizzle_migrations", false)]
#[case::sqlx("sqlx", "_sqlx_migrations", true)]
#[case::golang_migrate("golang-migrate", "schema_migrations", true)]
#[case::dbmate("dbmate", "schema_migrations", true)]
#[case::goose("goose", "goose_db_version", true)]
#[case::prisma("prisma", "_prisma_migrations", false)]
#[case::refinery("refinery", "refinery_schema_history", false)]
fn two_behind_every_format_rehearses_its_pending_migrations_as_its_tool_does(
    #[case] tool: &str,
    #[case] table: &str,
    #[case] has_down: bool,
) {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir(tool);
    let source = behind(tool, &dir, 2, &t.path().join("blog.db"));
    let backup = gz(&source);
    let kept = t.path().join("kept.db");
    let r = rehearse_dir(&backup, &dir, None, None, Some(&kept));
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));

    // exactly the two pending migrations, in order, each through every stage
    let all = names(tool, &dir);
    let pending = stage(&r, "pending");
    assert!(
        pending
            .detail
            .contains(&format!("2 of 4 pending: {}, {}", all[2], all[3])),
        "{}",
        pending.detail
    );
    let forwards: Vec<&str> = r
        .stages
        .iter()
        .filter(|s| s.name.starts_with("forward ") && !s.name.starts_with("forward again"))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        forwards,
        [format!("forward {}", all[2]), format!("forward {}", all[3])]
    );
    for m in &all[2..] {
        assert_eq!(stage(&r, &format!("forward {m}")).status, Status::Pass);
        // a run-once migration is proven skipped by the tool's own rule, not run twice
        assert_eq!(
            stage(&r, &format!("forward again {m}")).detail,
            format!("recorded in {table}: {tool} skips it (not pending)")
        );
        let down = stage(&r, &format!("down {m}"));
        let redeploy = stage(&r, &format!("redeploy {m}"));
        if has_down {
            assert_eq!(down.status, Status::Pass, "{}", down.detail);
            assert!(
                down.detail.ends_with("every table as before"),
                "{}",
                down.detail
            );
            assert_eq!(redeploy.status, Status::Pass, "{}", redeploy.detail);
        } else {
            assert_eq!((down.status, redeploy.status), (Status::Skip, Status::Skip));
        }
    }
    assert_eq!(checks(&r, "migrations.rerun").len(), 2);
    assert_eq!(
        checks(&r, "sql.rollback").len(),
        if has_down { 2 } else { 0 }
    );
    let result = stage(&r, "result");
    assert!(
        result
            .detail
            .ends_with(&format!("{tool} status: nothing pending")),
        "{}",
        result.detail
    );

    // the data and schema the rehearsal leaves are those the reference executor leaves when it
    // applies the two pending migrations to the same database
    let reference = t.path().join("reference.db");
    std::fs::copy(&source, &reference).unwrap();
    apply_range(parse_tool(tool), &dir, &reference, 2, None);
    assert_same(
        &user_data(&reference, table),
        &user_data(&kept, table),
        "the rehearsed forward run against the reference executor",
    );
    // and the tracking rows are the tool's, written at the frozen instant
    let conn = rusqlite::Connection::open(&kept).unwrap();
    let recorded = |sql: &str| -> Vec<String> {
        rows(&conn, sql)
            .into_iter()
            .map(|r| format!("{r:?}"))
            .collect()
    };
    match tool {
        "sqlx" => assert_eq!(
            recorded(
                "SELECT installed_on, success, execution_time FROM _sqlx_migrations WHERE version >= 20260120080000"
            ),
            vec![
                "[Text(\"2026-03-01 00:00:00\"), Integer(1), Integer(0)]",
                "[Text(\"2026-03-01 00:00:00\"), Integer(1), Integer(0)]"
            ]
        ),
        "refinery" => assert_eq!(
            recorded("SELECT applied_on FROM refinery_schema_history WHERE version >= 3"),
            vec![
                "[Text(\"2026-03-01T00:00:00Z\")]",
                "[Text(\"2026-03-01T00:00:00Z\")]"
            ]
        ),
        "prisma" => assert_eq!(
            recorded(
                "SELECT started_at, finished_at, applied_steps_count FROM _prisma_migrations WHERE migration_name >= '20260120'"
            ),
            vec![
                format!("[Integer({NOW}), Integer({NOW}), Integer(1)]"),
                format!("[Integer({NOW}), Integer({NOW}), Integer(1)]")
            ]
        ),
        "goose" => assert_eq!(
            recorded(
                "SELECT version_id, is_applied, tstamp FROM goose_db_version WHERE version_id >= 20260120080000 ORDER BY id"
            ),
            vec![
                "[Integer(20260120080000), Integer(1), Text(\"2026-03-01 00:00:00\")]",
                "[Integer(20260203170000), Integer(1), Text(\"2026-03-01 00:00:00\")]"
            ]
        ),
        "liveone" => assert_eq!(
            recorded("SELECT id, applied_at FROM migrations WHERE id >= '0003'"),
            vec![
                format!("[Text(\"0003_posts_published_at\"), Integer({NOW})]"),
                format!("[Text(\"0004_comments_keep_when_author_leaves\"), Integer({NOW})]")
            ]
        ),
        // no time in their rows: the whole database equals the reference's
        _ => {
            let d = run(&["diff", s(&reference), s(&kept)]);
            assert_eq!(d.code, 0, "{d:?}");
        }
    }
}

#[rstest]
#[case::dbmate("dbmate", 1)]
#[case::dbmate_two("dbmate", 2)]
#[case::drizzle("drizzle", 1)]
#[case::drizzle_two("drizzle", 2)]
fn the_rehearsed_forward_run_leaves_what_the_real_tool_leaves(
    #[case] tool: &str,
    #[case] behind_by: usize,
) {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir(tool);
    let applied = first_n(tool, &dir, 4 - behind_by, &t.path().join("applied"));
    let source = t.path().join("blog.db");
    let up = |dir: &Path, db: &Path| match tool {
        "dbmate" => dbmate_up(dir, db),
        _ => drizzle_migrate(dir, db, t.path()),
    };
    up(&applied, &source);
    rusqlite::Connection::open(&source)
        .unwrap()
        .execute_batch(blog_rows(tool))
        .unwrap();
    let backup = gz(&source);
    let kept = t.path().join("kept.db");
    let r = rehearse_dir(&backup, &dir, None, None, Some(&kept));
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    assert!(
        stage(&r, "pending")
            .detail
            .contains(&format!("{behind_by} of 4 pending")),
        "{}",
        stage(&r, "pending").detail
    );
    // the real tool, on the same database
    let real = t.path().join("real.db");
    std::fs::copy(&source, &real).unwrap();
    up(&dir, &real);
    let d = run(&["diff", s(&real), s(&kept)]);
    assert_eq!(
        d.code, 0,
        "the rehearsal's result differs from {tool}'s: {d:?}"
    );
}

/// A drizzle folder with one more migration: drizzle-kit's rebuild of `posts` (a parent whose
/// comments say ON DELETE CASCADE), its `PRAGMA foreign_keys=OFF` inside the migrator's
/// transaction.
fn drizzle_with_posts_rebuild(t: &Path) -> (PathBuf, usize) {
    let dir = t.join("drizzle");
    copy_dir(&fixture_dir("drizzle"), &dir);
    let sql = "PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_posts` (
\t`id` integer PRIMARY KEY NOT NULL,
\t`author_id` integer NOT NULL,
\t`title` text NOT NULL,
\t`body` text NOT NULL,
\t`created_at` integer DEFAULT (unixepoch()) NOT NULL,
\t`published_at` integer,
\tFOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
\tCONSTRAINT \"title_not_empty\" CHECK(length(`title`) > 0)
);
--> statement-breakpoint
INSERT INTO `__new_posts`(\"id\", \"author_id\", \"title\", \"body\", \"created_at\", \"published_at\") SELECT \"id\", \"author_id\", \"title\", \"body\", \"created_at\", \"published_at\" FROM `posts`;--> statement-breakpoint
DROP TABLE `posts`;--> statement-breakpoint
ALTER TABLE `__new_posts` RENAME TO `posts`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `posts_author_idx` ON `posts` (`author_id`);--> statement-breakpoint
CREATE INDEX `posts_published_idx` ON `posts` (`published_at`);";
    std::fs::write(dir.join("0004_posts_title_check.sql"), sql).unwrap();
    let journal = dir.join("meta/_journal.json");
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    let entries = j["entries"].as_array_mut().unwrap();
    let mut next = entries.last().unwrap().clone();
    next["idx"] = 4.into();
    next["when"] = (next["when"].as_i64().unwrap() + 86_400_000).into();
    next["tag"] = "0004_posts_title_check".into();
    entries.push(next);
    std::fs::write(&journal, serde_json::to_string_pretty(&j).unwrap()).unwrap();
    let drop_line = 1 + sql[..sql.find("DROP TABLE `posts`").unwrap()]
        .matches('\n')
        .count();
    (dir, drop_line)
}

#[test]
fn a_parent_rebuild_that_cascades_under_better_sqlite3_fails_with_its_line() {
    let t = tempfile::tempdir().unwrap();
    let (dir, drop_line) = drizzle_with_posts_rebuild(t.path());
    // the four fixture migrations applied, and the blog's rows
    let source = behind(
        "drizzle",
        &fixture_dir("drizzle"),
        4,
        &t.path().join("blog.db"),
    );
    let backup = gz(&source);

    // drizzle's migrator on better-sqlite3: keys stay on, the pragma inside the transaction does
    // nothing, DROP TABLE posts deletes every comment, and drizzle exits 0
    let r = rehearse_dir(&backup, &dir, Some(Tool::DrizzleBetterSqlite3), None, None);
    assert_eq!(r.status, Status::Fail);
    let file = dir.join("0004_posts_title_check.sql");
    let lost: Vec<_> = checks(&r, "sql.collateral")
        .into_iter()
        .filter(|c| c.status == Status::Fail)
        .collect();
    assert_eq!(lost.len(), 1, "{}", render(&r, Format::Table));
    assert_eq!(
        lost[0].scope_text(),
        "0004_posts_title_check: table comments"
    );
    assert_eq!(lost[0].violations, 3);
    assert_eq!(
        lost[0].found_text(),
        format!(
            "comments: 3 deleted; no statement names comments: line {drop_line} (DROP TABLE posts) deletes from comments through the foreign key comments(post_id) → posts ON DELETE CASCADE (foreign keys were on: DROP TABLE deletes every row of posts first)"
        )
    );
    // forward ran as the tool runs it; the scope stage, with no EXPECT file, fails on the hazard
    let fwd = stage(&r, "forward 0004_posts_title_check");
    assert!(fwd.detail.contains("comments 3 deleted"), "{}", fwd.detail);
    let scope = stage(&r, "scope 0004_posts_title_check");
    assert_eq!(scope.status, Status::Fail);
    assert!(
        scope.detail.ends_with("; 1 hazard: sql.collateral"),
        "{}",
        scope.detail
    );
    // the runner says why: the pragma ran inside the migrator's transaction
    assert!(
        checks(&r, "sql.runner")
            .iter()
            .any(|c| c.scope_text() == format!("{}:1", file.display())
                && c.found_text().contains("had no effect")),
        "{}",
        render(&r, Format::Table)
    );

    // the same folder through @libsql/client (drizzle-kit's default on Turso): keys are off
    // before the transaction, the rebuild keeps every comment
    let r = rehearse_dir(&backup, &dir, None, None, None);
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    assert!(
        checks(&r, "sql.collateral")
            .iter()
            .all(|c| c.status == Status::Pass)
    );
}

#[test]
fn a_file_that_does_not_parse_fails_with_its_line_and_the_tool_stops_there() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("migrations");
    copy_dir(&fixture_dir("dbmate"), &dir);
    let third = dir.join("20260120080000_posts_published_at.sql");
    let text = std::fs::read_to_string(&third).unwrap();
    std::fs::write(&third, text.replace("update posts set", "updat posts set")).unwrap();
    let source = behind(
        "dbmate",
        &fixture_dir("dbmate"),
        2,
        &t.path().join("blog.db"),
    );
    let backup = gz(&source);
    let kept = t.path().join("kept.db");
    let r = rehearse_dir(&backup, &dir, None, None, Some(&kept));
    assert_eq!(r.status, Status::Fail);
    let fwd = stage(&r, "forward 20260120080000_posts_published_at");
    assert_eq!(fwd.status, Status::Fail);
    assert!(
        fwd.detail.starts_with(&format!(
            "failed at {}:3: near \"updat\": syntax error; nothing of the script was kept",
            third.display()
        )),
        "{}",
        fwd.detail
    );
    let failed = checks(&r, "sql.forward");
    assert!(
        failed
            .iter()
            .any(|c| c.status == Status::Fail && c.scope_text() == format!("{}:3", third.display())),
        "{}",
        render(&r, Format::Table)
    );
    // dbmate rolled that file back and stops: the next one is not run
    assert_eq!(
        checks(&r, "sql.atomic")[0].found_text(),
        "every table as before"
    );
    let next = stage(
        &r,
        "forward 20260203170000_comments_keep_when_author_leaves",
    );
    assert_eq!(
        (next.status, next.detail.as_str()),
        (
            Status::Skip,
            "dbmate stops at the failed migration 20260120080000_posts_published_at"
        )
    );
    assert!(
        stage(&r, "result")
            .detail
            .ends_with("dbmate status: pending 20260120080000, pending 20260203170000"),
        "{}",
        stage(&r, "result").detail
    );
    // what the rehearsal leaves is the database before it: nothing of the pending was kept
    let d = run(&["diff", s(&source), s(&kept)]);
    assert_eq!(d.code, 0, "{d:?}");
    // and what the real dbmate leaves: it fails on that file and keeps nothing of it
    let real = t.path().join("real.db");
    std::fs::copy(&source, &real).unwrap();
    let out = std::process::Command::new(dbmate())
        .arg("--url")
        .arg(format!("sqlite:{}", real.display()))
        .arg("--migrations-dir")
        .arg(&dir)
        .args(["--no-dump-schema", "up"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("updat"),
        "dbmate did not fail on the file: {said}"
    );
    let d = run(&["diff", s(&real), s(&kept)]);
    assert_eq!(d.code, 0, "{d:?}");
}

#[test]
fn drizzle_keeps_nothing_of_the_pending_migrations_when_one_fails() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("drizzle");
    copy_dir(&fixture_dir("drizzle"), &dir);
    let last = dir.join("0003_comments_keep_when_author_leaves.sql");
    let text = std::fs::read_to_string(&last).unwrap();
    std::fs::write(
        &last,
        text.replace("DROP TABLE `comments`", "DROP TABLE `commentz`"),
    )
    .unwrap();
    let source = behind(
        "drizzle",
        &fixture_dir("drizzle"),
        2,
        &t.path().join("blog.db"),
    );
    let kept = t.path().join("kept.db");
    let r = rehearse_dir(&gz(&source), &dir, None, None, Some(&kept));
    assert_eq!(r.status, Status::Fail);
    // the first pending one ran through on its own; the second fails…
    assert_eq!(
        stage(&r, "forward 0002_posts_published_at").status,
        Status::Pass
    );
    let fwd = stage(&r, "forward 0003_comments_keep_when_author_leaves");
    assert!(
        fwd.detail.contains("no such table: commentz"),
        "{}",
        fwd.detail
    );
    // …and drizzle's one transaction keeps neither
    let result = stage(&r, "result");
    assert!(
        result
            .detail
            .starts_with("drizzle runs every pending migration in one transaction: none of the 2 migrations is kept"),
        "{}",
        result.detail
    );
    let d = run(&["diff", s(&source), s(&kept)]);
    assert_eq!(d.code, 0, "{d:?}");
    // the real drizzle-kit fails on it and keeps neither
    let real = t.path().join("real.db");
    std::fs::copy(&source, &real).unwrap();
    let config = t.path().join("drizzle.config.js");
    std::fs::write(
        &config,
        format!(
            "module.exports = {{ dialect: \"turso\", out: {:?}, dbCredentials: {{ url: {:?} }} }};\n",
            dir.display().to_string(),
            format!("file:{}", real.display())
        ),
    )
    .unwrap();
    let out = std::process::Command::new(drizzle_kit())
        .current_dir(t.path())
        .arg("migrate")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    // (drizzle-kit 0.31 exits 1 without printing the error; the same folder with the table's
    // right name migrates, as the tests above show)
    assert!(
        !out.status.success(),
        "drizzle-kit ran the failing migration: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let d = run(&["diff", s(&real), s(&kept)]);
    assert_eq!(d.code, 0, "{d:?}");
}

const LIVEONE_APP: &str = "fixtures/migrations/liveone-app";

#[test]
fn a_liveone_backup_with_liveones_own_directory() {
    let dir = repo(&format!("{LIVEONE_APP}/migrations"));
    let expect = repo(&format!("{LIVEONE_APP}/expect"));
    let r = rehearse_dir(&small_fixture_gz(), &dir, None, Some(&expect), None);
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    assert!(
        stage(&r, "pending")
            .detail
            .ends_with("2 of 12 pending: 0011_point_info_unit_check, 0012_solar_display_name"),
        "{}",
        stage(&r, "pending").detail
    );
    // the rebuild of point_info turns keys off before its transaction: no reading is lost
    let rebuild = stage(&r, "forward 0011_point_info_unit_check");
    assert!(
        rebuild.detail.starts_with(
            "14 statements run, 1 row changed: migrations 1 inserted; schema: 1 object changed"
        ),
        "{}",
        rebuild.detail
    );
    // the data fix meets its EXPECT file: its query and its scope
    assert_eq!(
        stage(&r, "expectations 0012_solar_display_name").detail,
        "1 query, 0 differ"
    );
    let scope = checks(&r, "sql.scope")
        .into_iter()
        .find(|c| c.scope_text() == "0012_solar_display_name: table point_info")
        .unwrap();
    // counted by the key's leading column: the two systems whose points it renamed
    assert_eq!(
        (scope.status, scope.found_text().as_str()),
        (
            Status::Pass,
            "0 inserted, 2 updated, 0 deleted; in systems 1, 2"
        )
    );
    assert_eq!(
        stage(&r, "forward again 0012_solar_display_name").detail,
        "recorded in migrations: liveone skips it (not pending)"
    );
    assert!(
        stage(&r, "result")
            .detail
            .ends_with("liveone status: nothing pending")
    );
}

#[test]
fn a_liveone_rebuild_whose_pragma_sits_inside_its_transaction_loses_every_reading() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("migrations");
    copy_dir(&repo(&format!("{LIVEONE_APP}/migrations")), &dir);
    let file = dir.join("0011_point_info_unit_check.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    let moved = text.replace(
        "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n",
        "BEGIN TRANSACTION;\nPRAGMA foreign_keys=OFF;\n",
    );
    assert_ne!(moved, text);
    std::fs::write(&file, &moved).unwrap();
    let drop_line = 1 + moved[..moved.find("DROP TABLE point_info").unwrap()]
        .matches('\n')
        .count();
    let r = rehearse_dir(&small_fixture_gz(), &dir, None, None, None);
    assert_eq!(r.status, Status::Fail);
    let lost: Vec<(String, u64)> = checks(&r, "sql.collateral")
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| (c.scope_text().clone(), c.violations))
        .collect();
    // each child named with the DROP TABLE's line and the key that took its rows
    for c in checks(&r, "sql.collateral")
        .iter()
        .filter(|c| c.status == Status::Fail)
    {
        assert!(
            c.found_text().contains(&format!(
                "line {drop_line} (DROP TABLE point_info) deletes from "
            )) && c
                .found_text()
                .contains("ON DELETE CASCADE (foreign keys were on"),
            "{}",
            c.found_text()
        );
    }
    let gz = small_fixture_gz();
    let conn = rusqlite::Connection::open({
        let db = t.path().join("l.db");
        gunzip(&gz, &db);
        db
    })
    .unwrap();
    let readings = scalar(&conn, "SELECT count(*) FROM point_readings") as u64;
    let agg = scalar(&conn, "SELECT count(*) FROM point_readings_agg_5m") as u64;
    assert_eq!(
        lost,
        vec![
            (
                "0011_point_info_unit_check: table point_readings".to_string(),
                readings
            ),
            (
                "0011_point_info_unit_check: table point_readings_agg_5m".to_string(),
                agg
            )
        ]
    );
}

#[test]
fn the_ci_command_writes_junit_and_exits_by_the_verdict() {
    let t = tempfile::tempdir().unwrap();
    let xml = t.path().join("preflight.xml");
    let dir = repo(&format!("{LIVEONE_APP}/migrations"));
    let r = run(&[
        "rehearse",
        s(&small_fixture_gz()),
        "--migrations",
        s(&dir),
        "--expect-dir",
        s(&repo(&format!("{LIVEONE_APP}/expect"))),
        "--format",
        "junit",
        "--report",
        s(&xml),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let junit = std::fs::read_to_string(&xml).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    assert!(junit.contains("0012_solar_display_name"), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");

    // an EXPECT file that names no migration stops the run before anything (exit 2)
    let wrong = t.path().join("expect");
    std::fs::create_dir(&wrong).unwrap();
    std::fs::write(wrong.join("0012_solar_display.toml"), "").unwrap();
    let r = run(&[
        "rehearse",
        s(&small_fixture_gz()),
        "--migrations",
        s(&dir),
        "--expect-dir",
        s(&wrong),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{r:?}");
    assert!(
        r.stderr
            .contains("0012_solar_display.toml: names no migration of"),
        "{}",
        r.stderr
    );

    // an expectation that does not hold fails the run (exit 1), naming the query
    let strict = t.path().join("strict");
    std::fs::create_dir(&strict).unwrap();
    std::fs::write(
        strict.join("0012_solar_display_name.toml"),
        "[[query]]\nname = \"only system 1 renamed\"\nsql = \"SELECT system_id FROM point_info WHERE display_name = 'Solar (total)'\"\nrows = [\"1\"]\n",
    )
    .unwrap();
    let r = run(&[
        "rehearse",
        s(&small_fixture_gz()),
        "--migrations",
        s(&dir),
        "--expect-dir",
        s(&strict),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("after forward: only system 1 renamed"),
        "{}",
        r.stdout
    );

    // --sql and --migrations do not mix; --expect-dir needs --migrations
    let r = run(&["rehearse", "--migrations", s(&dir), "--sql", "x.sql"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(&["rehearse", "--expect-dir", s(&strict)]);
    assert_eq!(r.code, 2, "{r:?}");
}

/// (check, scope) of every SQLite hazard that failed (`preflight::hazards::HAZARDS`).
fn hazards_failed(r: &Report) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .checks
        .iter()
        .filter(|c| {
            c.status == Status::Fail && preflight::hazards::HAZARDS.iter().any(|h| h.0 == c.check)
        })
        .map(|c| (c.check.clone(), c.scope_text().clone()))
        .collect();
    v.sort();
    v
}

/// dbmate's blog with all four migrations applied and its rows, and a fifth migration
/// `20260301000000_<name>.sql` (`text`) written into a copy of the directory.
fn dbmate_with(t: &Path, name: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir = t.join("migrations");
    copy_dir(&fixture_dir("dbmate"), &dir);
    std::fs::write(dir.join(format!("20260301000000_{name}.sql")), text).unwrap();
    let source = behind("dbmate", &fixture_dir("dbmate"), 4, &t.join("blog.db"));
    (dir, gz(&source))
}

#[test]
fn a_rename_to_backup_fails_a_dbmate_migration_with_no_expect_file() {
    let t = tempfile::tempdir().unwrap();
    // the LiveOne pattern: keep the old table under a backup name, make a new one, copy back;
    // SQLite re-points posts' and comments' foreign keys at the backup, and the backup takes
    // the unique index along
    let (dir, backup) = dbmate_with(
        t.path(),
        "users_backup",
        "-- migrate:up\n\
         alter table users rename to users_backup_20260301;\n\
         create table users (id integer primary key, email text not null, name text not null,\n\
           created_at integer not null default (unixepoch()));\n\
         insert into users select * from users_backup_20260301;\n\
         -- migrate:down\n\
         drop table users;\n\
         alter table users_backup_20260301 rename to users;\n",
    );
    let r = rehearse_dir(&backup, &dir, None, None, None);
    assert_eq!(r.status, Status::Fail, "{}", render(&r, Format::Table));
    let m = "20260301000000_users_backup";
    assert_eq!(
        hazards_failed(&r),
        vec![
            ("sql.references".to_string(), format!("{m}: table comments")),
            ("sql.references".to_string(), format!("{m}: table posts")),
            (
                "sql.vanished".to_string(),
                format!("{m}: index users_email_unique")
            ),
        ]
    );
    let posts = checks(&r, "sql.references")
        .into_iter()
        .find(|c| c.scope_text() == format!("{m}: table posts"))
        .unwrap();
    assert!(
        posts.found_text().starts_with(
            "posts(author_id) → users_backup_20260301: it referenced users before the script, and users exists again"
        ),
        "{}",
        posts.found_text()
    );
    let scope = stage(&r, &format!("scope {m}"));
    assert_eq!(scope.status, Status::Fail);
    assert!(
        scope.detail.starts_with(&format!(
            "no scope declared (give --expect-dir with {m}.toml): "
        )) && scope
            .detail
            .ends_with("2 hazards: sql.vanished, sql.references"),
        "{}",
        scope.detail
    );
    // the tool's tracking row is the tool's: no hazard, no scope entry names schema_migrations
    assert!(
        r.checks
            .iter()
            .filter(|c| c.check == "sql.scope"
                || preflight::hazards::HAZARDS.iter().any(|h| h.0 == c.check))
            .all(|c| !c.scope_text().contains("schema_migrations")),
        "{}",
        render(&r, Format::Table)
    );

    // meant: the migration's EXPECT file allows each by name, and the migration passes
    let expect = t.path().join("expect");
    std::fs::create_dir(&expect).unwrap();
    std::fs::write(
        expect.join(format!("{m}.toml")),
        "[scope.users_backup_20260301]\ninserted = 2\nschema = true\n\
         [allow]\nreferences = [\"posts\", \"comments\"]\n\
         [schema]\ncolumns.changed = [\"posts.author_id\", \"comments.author_id\"]\n\
         indexes.dropped = [\"users_email_unique\"]\n",
    )
    .unwrap();
    let r = rehearse_dir(&backup, &dir, None, Some(&expect), None);
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    assert_eq!(stage(&r, &format!("scope {m}")).status, Status::Pass);
}

#[test]
fn a_cascade_through_a_key_fails_a_dbmate_migration_that_turns_keys_on() {
    let t = tempfile::tempdir().unwrap();
    // outside dbmate's transaction the pragma takes effect: deleting Bob deletes his post and
    // its comment (ON DELETE CASCADE) and keeps his comment on Ada's post without its author
    // (ON DELETE SET NULL), in tables the migration never names
    let (dir, backup) = dbmate_with(
        t.path(),
        "remove_bob",
        "-- migrate:up transaction:false\npragma foreign_keys = on;\ndelete from users where id = 2;\n\
         -- migrate:down\n",
    );
    let r = rehearse_dir(&backup, &dir, None, None, None);
    let m = "20260301000000_remove_bob";
    assert_eq!(
        hazards_failed(&r),
        vec![
            ("sql.collateral".to_string(), format!("{m}: table comments")),
            ("sql.collateral".to_string(), format!("{m}: table posts")),
        ],
        "{}",
        render(&r, Format::Table)
    );
    let posts = checks(&r, "sql.collateral")
        .into_iter()
        .find(|c| c.scope_text() == format!("{m}: table posts"))
        .unwrap();
    assert_eq!(
        posts.found_text(),
        "posts: 1 deleted; no statement names posts: line 3 (DELETE FROM users) deletes from posts through the foreign key posts(author_id) → users ON DELETE CASCADE"
    );
    let comments = checks(&r, "sql.collateral")
        .into_iter()
        .find(|c| c.scope_text() == format!("{m}: table comments"))
        .unwrap();
    assert_eq!(comments.violations, 2, "{}", comments.found_text());
    // each change by the key that made it: Bob's post's comment through posts, his comment on
    // Ada's post through its author
    assert_eq!(
        comments.found_text(),
        "comments: 1 deleted, 1 updated; no statement names comments: \
         line 3 (DELETE FROM users) deletes from comments through the foreign key comments(post_id) → posts ON DELETE CASCADE; \
         line 3 (DELETE FROM users) updates comments through the foreign key comments(author_id) → users ON DELETE SET NULL"
    );
}

/// LiveOne's directory with a thirteenth migration written from `body` (recording itself as
/// LiveOne's files do), rehearsed on the bundled backup: 0011, 0012 and 0013 pending.
fn liveone_with(t: &Path, name: &str, body: &str) -> Report {
    let dir = t.join(name);
    copy_dir(&repo(&format!("{LIVEONE_APP}/migrations")), &dir);
    std::fs::write(
        dir.join(format!("{name}.sql")),
        format!("{body}\nINSERT INTO migrations (id) VALUES ('{name}');\n"),
    )
    .unwrap();
    rehearse_dir(&small_fixture_gz(), &dir, None, None, None)
}

/// LiveOne's incidents written as the thirteenth file of its own directory: each fails the
/// rehearsal by name with no EXPECT file, for that migration only; the corrected composite-key
/// fix passes. The script hazards' texts are those of `rehearse --sql` (tests/cli/hazards.rs).
#[test]
fn liveone_incidents_fail_their_migration_by_name_and_the_corrected_fix_passes() {
    let t = tempfile::tempdir().unwrap();
    let h = |f: &str| std::fs::read_to_string(repo(&format!("fixtures/sql/hazards/{f}"))).unwrap();
    let labelled = |m: &str, v: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = v
            .iter()
            .map(|(c, s)| (c.to_string(), format!("{m}: {s}")))
            .collect();
        v.sort();
        v
    };

    // the rename to a backup (November 2025): the readings' keys follow point_info to the
    // backup, and its indexes go along
    let m = "0013_point_info_precision";
    let r = liveone_with(t.path(), m, &h("liveone-rename-to-backup.sql"));
    let mut want = vec![
        ("sql.references", "table point_readings"),
        ("sql.references", "table point_readings_agg_5m"),
    ];
    let indexes = [
        "index pi_metric_type_idx",
        "index pi_subsystem_idx",
        "index pi_system_idx",
        "index pi_system_point_unique",
        "index pi_system_short_name_unique",
    ];
    want.extend(indexes.iter().map(|i| ("sql.vanished", *i)));
    // and the CHECK 0011 added to point_info is not in the new table
    want.push(("sql.constraints", "column point_info.metric_unit"));
    assert_eq!(
        hazards_failed(&r),
        labelled(m, &want),
        "{}",
        render(&r, Format::Table)
    );
    for earlier in ["0011_point_info_unit_check", "0012_solar_display_name"] {
        assert_ne!(stage(&r, &format!("scope {earlier}")).status, Status::Fail);
    }

    // a parent deleted: its children go through ON DELETE CASCADE, no statement names them
    let m = "0013_remove_system";
    let r = liveone_with(t.path(), m, &h("liveone-remove-system.sql"));
    assert_eq!(
        hazards_failed(&r),
        labelled(
            m,
            &[
                ("sql.collateral", "table point_info"),
                ("sql.collateral", "table polling_status"),
                ("sql.collateral", "table user_systems"),
            ]
        ),
        "{}",
        render(&r, Format::Table)
    );

    // the aggregate incident: the lint names the line and the key, the rows name the systems
    let m = "0013_agg_energy";
    let r = liveone_with(t.path(), m, &h("liveone-agg-energy.sql"));
    let file = t.path().join(m).join(format!("{m}.sql"));
    let mut want = vec![
        (
            "sql.composite_key".to_string(),
            format!("{}:7", file.display()),
        ),
        (
            "sql.key_spread".to_string(),
            format!("{m}: table point_readings_agg_5m"),
        ),
    ];
    want.sort();
    assert_eq!(hazards_failed(&r), want, "{}", render(&r, Format::Table));
    let spread = checks(&r, "sql.key_spread")
        .into_iter()
        .find(|c| c.status == Status::Fail)
        .unwrap();
    assert_eq!(
        spread.found_text(),
        format!(
            "{} rows changed in systems 1, 2, 5; the statement at line 5 names system_id 1 only",
            rows_of_system_1_energy_ids()
        )
    );
    let r = liveone_with(
        t.path(),
        "0013_agg_energy_fixed",
        &h("liveone-agg-energy-fixed.sql"),
    );
    assert_eq!(hazards_failed(&r), vec![]);
    assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
}

/// The harmless migrations of every tool's fixture project, rehearsed from an empty database
/// (all four pending) and two behind with the blog's rows, and LiveOne's own directory on the
/// bundled backup: every hazard judged for every migration, none found.
#[rstest]
#[case::liveone("liveone")]
#[case::drizzle("drizzle")]
#[case::sqlx("sqlx")]
#[case::golang_migrate("golang-migrate")]
#[case::dbmate("dbmate")]
#[case::goose("goose")]
#[case::prisma("prisma")]
#[case::refinery("refinery")]
fn the_harmless_migrations_of_every_tool_raise_no_hazard(#[case] tool: &str) {
    let t = tempfile::tempdir().unwrap();
    let dir = fixture_dir(tool);
    let empty = t.path().join("empty.db");
    rusqlite::Connection::open(&empty)
        .unwrap()
        .execute_batch("PRAGMA user_version = 1")
        .unwrap();
    let two_behind = behind(tool, &dir, 2, &t.path().join("blog.db"));
    for (source, pending) in [(empty, 4), (two_behind, 2)] {
        // an empty database has no tracking table to tell sqlx from golang-migrate: named
        let r = rehearse_dir(&gz(&source), &dir, Some(parse_tool(tool)), None, None);
        assert_eq!(hazards_failed(&r), vec![], "{}", render(&r, Format::Table));
        let judged = r
            .checks
            .iter()
            .filter(|c| preflight::hazards::HAZARDS.iter().any(|h| h.0 == c.check))
            .count();
        assert_eq!(
            judged,
            pending * preflight::hazards::HAZARDS.len(),
            "{}",
            render(&r, Format::Table)
        );
        assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    }
    if tool == "liveone" {
        let r = rehearse_dir(
            &small_fixture_gz(),
            &repo(&format!("{LIVEONE_APP}/migrations")),
            None,
            None,
            None,
        );
        assert_eq!(hazards_failed(&r), vec![], "{}", render(&r, Format::Table));
        assert_eq!(r.status, Status::Pass, "{}", render(&r, Format::Table));
    }
}
