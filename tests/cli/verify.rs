//! `preflight verify`: read-only, exit codes, deterministic reports in every format, and a suite
//! of faults each caught by the check that should catch it.

use std::path::Path;

use preflight::checks::SuiteOptions;
use preflight::db::{Access, Target};
use preflight::report::{Format, Report, Status, render};
use preflight::spec::LoadedSpec;
use rstest::rstest;
use rusqlite::Connection;

use crate::common::*;

fn verify(db: &Path, baseline: Option<&Path>) -> Report {
    preflight::verify::verify(
        &Target::Local(db.to_path_buf()),
        &preflight::verify::Options {
            spec: LoadedSpec::builtin(),
            suite: SuiteOptions {
                sample: 10,
                seed: 7,
                quick_integrity: false,
                skip_integrity: false,
                timeline: false,
            },
            baseline: baseline.map(Path::to_path_buf),
        },
    )
    .unwrap()
}

fn failed(report: &Report) -> Vec<(String, String)> {
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| (c.check.clone(), c.scope_text().clone()))
        .collect()
}

#[test]
fn verify_opens_the_database_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let before = std::fs::read(&db).unwrap();
    let r = run(&["verify", s(&db)]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "verify changed the file"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "verify created a file beside the database"
    );
    // and the handle it uses cannot write
    let handle = preflight::db::open(&Target::Local(db.clone()), Access::ReadOnly).unwrap();
    let e = handle
        .execute("DELETE FROM point_readings", &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("readonly") || e.contains("read-only") || e.contains("query_only"),
        "{e}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn exit_codes_say_pass_fail_or_could_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    assert_eq!(run(&["verify", s(&db)]).code, 0);
    let original = repo("specs/liveone-original.toml");
    let r = run(&["verify", s(&db), "--spec", s(&original)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("FAIL"), "{}", r.stdout);
    let r = run(&["verify", "/no/such.db"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.trim(), "preflight: /no/such.db: no such file");
}

#[test]
fn a_file_url_names_the_same_database_as_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let spaced = dir.path().join("my liveone.db");
    std::fs::rename(&db, &spaced).unwrap();
    let url = format!("file://{}", s(&spaced).replace(' ', "%20"));
    let by_path = run(&["fingerprint", s(&spaced), "--format", "json"]);
    let by_url = run(&["fingerprint", &url, "--format", "json"]);
    assert_eq!((by_path.code, by_url.code), (0, 0), "{}", by_url.stderr);
    assert_eq!(by_path.stdout, by_url.stdout);
    let r = run(&["verify", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(s(&spaced)), "the report names the file");
}

#[test]
fn same_input_and_seed_give_the_same_report_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let a = redact(&verify(&db, None));
    let b = redact(&verify(&db, None));
    for f in [Format::Table, Format::Json, Format::Markdown, Format::Junit] {
        assert_eq!(render(&a, f), render(&b, f), "{f:?}");
    }
    // another seed samples other rows
    let r1 = run(&["verify", s(&db), "--seed", "1", "--format", "json"]);
    let r2 = run(&["verify", s(&db), "--seed", "2", "--format", "json"]);
    let spot = |out: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "spot_checks")
            .unwrap()["text"]["examples"]
            .clone()
    };
    assert_ne!(spot(&r1.stdout), spot(&r2.stdout));
}

#[test]
fn every_format_is_well_formed_and_reports_files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let json = dir.path().join("report.json");
    let xml = dir.path().join("report.xml");
    let md = dir.path().join("report.md");
    for (path, format) in [(&json, None), (&xml, None), (&md, Some("markdown"))] {
        let mut args = vec!["verify", s(&db), "--report", s(path)];
        if let Some(f) = format {
            args.extend(["--format", f]);
        }
        let r = run(&args);
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("PASS:"),
            "the terminal still gets the table: {}",
            r.stdout
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["status"], "pass");
    assert!(v["target"]["sha256"].as_str().unwrap().len() == 64);
    assert_eq!(v["spec"]["name"], "liveone-points");
    let n = v["checks"].as_array().unwrap().len();
    let junit = std::fs::read_to_string(&xml).unwrap();
    assert!(junit.starts_with("<?xml"));
    assert_eq!(junit.matches("<testcase ").count(), n);
    assert!(!junit.contains("<failure"));
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.starts_with("# preflight ") && markdown.contains("| pass | live_parity |"),
        "{markdown}"
    );
}

/// A fault applied to a correctly migrated fixture, and the check that must catch it.
#[rstest]
#[case::a_missing_row(
    "DELETE FROM point_readings WHERE id = (SELECT max(id) FROM point_readings WHERE system_id = 1 AND point_id = 4 AND session_id IS NULL)",
    "row_counts"
)]
#[case::a_duplicate_a_millisecond_later(
    "INSERT INTO point_readings (system_id, point_id, measurement_time, received_time, value, data_quality) SELECT system_id, point_id, measurement_time + 1, received_time, value, data_quality FROM point_readings WHERE system_id = 2 AND point_id = 1 AND session_id IS NULL LIMIT 1",
    "row_counts"
)]
#[case::a_value_off_by_one(
    "UPDATE point_readings SET value = value + 1 WHERE id = (SELECT min(id) FROM point_readings WHERE system_id = 5 AND point_id = 4 AND session_id IS NULL)",
    "values"
)]
#[case::a_missing_x1000_on_one_energy_point(
    "UPDATE point_readings SET value = value / 1000 WHERE system_id = 1 AND point_id = 10 AND session_id IS NULL",
    "values"
)]
#[case::times_left_in_seconds(
    "UPDATE point_readings SET measurement_time = measurement_time / 1000 WHERE system_id = 2 AND point_id = 6 AND session_id IS NULL",
    "timestamps"
)]
#[case::point_rows_swapped_between_two_systems(
    "UPDATE point_readings SET system_id = 3 - system_id WHERE point_id = 4 AND system_id IN (1, 2) AND session_id IS NULL",
    "values"
)]
#[case::null_written_as_zero(
    // a power point's 5-minute `last` is NULL by the spec (rows above the journal's first range
    // are the migration's)
    "UPDATE point_readings_agg_5m SET last = 0 WHERE system_id = 1 AND point_id = 1 AND rowid > (SELECT min(rowid_lo) FROM preflight_journal WHERE target_table = 'point_readings_agg_5m')",
    "values"
)]
#[case::a_changed_row_in_an_unrelated_table(
    "UPDATE sessions SET error = 'edited' WHERE id = 5",
    "collateral"
)]
#[case::a_lost_progress_row(
    "DELETE FROM migration_progress WHERE migration_name = 'readings_to_points' AND system_id = 2",
    "progress"
)]
#[case::an_overwritten_live_row(
    "UPDATE point_readings SET value = 1 WHERE id = (SELECT min(id) FROM point_readings WHERE system_id = 1 AND point_id = 8 AND session_id IS NOT NULL)",
    "live_parity"
)]
#[case::rows_under_another_systems_point(
    "PRAGMA foreign_keys = OFF; UPDATE point_readings SET system_id = 5 WHERE system_id = 1 AND point_id = 16",
    "keys"
)]
#[case::the_fault_time_in_seconds(
    "UPDATE point_readings SET value = value / 1000 WHERE point_id = 16 AND session_id IS NULL",
    "units"
)]
#[case::soc_out_of_range(
    "UPDATE point_readings SET value = value * 10 WHERE system_id = 2 AND point_id = 7 AND session_id IS NULL AND value > 20",
    "units"
)]
#[case::a_lifetime_counter_that_falls(
    "UPDATE point_readings SET value = value - 5000 WHERE id = (SELECT max(id) FROM point_readings WHERE system_id = 1 AND point_id = 9 AND session_id IS NULL)",
    "counters"
)]
#[case::an_instant_lost_from_every_point(
    "DELETE FROM point_readings WHERE system_id = 5 AND measurement_time = (SELECT min(measurement_time) FROM point_readings WHERE system_id = 5)",
    "coverage"
)]
#[case::a_point_emptied(
    "UPDATE point_readings SET value = NULL WHERE system_id = 2 AND point_id = 4 AND session_id IS NULL",
    "empty_points"
)]
#[case::a_dropped_target_index("DROP INDEX pr_session_idx", "schema.targets")]
#[case::a_legacy_column_with_data_that_nothing_carries(
    "ALTER TABLE readings ADD COLUMN inverter_temp_c REAL; UPDATE readings SET inverter_temp_c = 41.5 WHERE system_id = 1",
    "left_behind"
)]
#[case::progress_behind_the_source(
    "UPDATE migration_progress SET last_migrated_timestamp = last_migrated_timestamp - 60 WHERE migration_name = 'agg5m_to_points' AND system_id = 3",
    "progress"
)]
#[case::a_rounded_avg_where_the_live_rows_are_unrounded(
    "UPDATE point_readings_agg_5m SET avg = round(avg) WHERE avg != round(avg) AND EXISTS (SELECT 1 FROM preflight_journal AS j WHERE j.migration_name = 'readings_to_agg5m' AND point_readings_agg_5m.rowid > j.rowid_lo AND point_readings_agg_5m.rowid <= j.rowid_hi)",
    "values"
)]
#[case::a_bucket_shifted_by_the_closed_bound(
    // a reading on a 5-minute boundary counted in the interval it starts, too
    "UPDATE point_readings_agg_5m SET sample_count = sample_count + 1 WHERE EXISTS (SELECT 1 FROM readings AS r WHERE r.system_id = point_readings_agg_5m.system_id AND r.inverter_time * 1000 = point_readings_agg_5m.interval_end - 300000) AND EXISTS (SELECT 1 FROM preflight_journal AS j WHERE j.migration_name = 'readings_to_agg5m' AND point_readings_agg_5m.rowid > j.rowid_lo AND point_readings_agg_5m.rowid <= j.rowid_hi)",
    "values"
)]
#[case::the_seam_interval_overwritten(
    // the live row of system 1's first live interval replaced by the whole interval's roll-up
    "UPDATE point_readings_agg_5m SET sample_count = (SELECT count(*) FROM readings AS r WHERE r.system_id = 1 AND r.inverter_time > point_readings_agg_5m.interval_end / 1000 - 300 AND r.inverter_time <= point_readings_agg_5m.interval_end / 1000),
       avg = (SELECT avg(load_w) FROM readings AS r WHERE r.system_id = 1 AND r.inverter_time > point_readings_agg_5m.interval_end / 1000 - 300 AND r.inverter_time <= point_readings_agg_5m.interval_end / 1000)
     WHERE system_id = 1 AND point_id = 4 AND interval_end = (SELECT min(interval_end) FROM point_readings_agg_5m WHERE system_id = 1 AND point_id = 4
       AND NOT EXISTS (SELECT 1 FROM preflight_journal AS j WHERE j.target_table = 'point_readings_agg_5m' AND point_readings_agg_5m.rowid > j.rowid_lo AND point_readings_agg_5m.rowid <= j.rowid_hi))",
    "collateral"
)]
#[case::a_live_5_minute_row_that_differs_from_the_readings(
    "UPDATE point_readings_agg_5m SET max = max + 1 WHERE system_id = 2 AND point_id = 4 AND interval_end = (SELECT max(interval_end) FROM point_readings_agg_5m WHERE system_id = 2 AND point_id = 4)",
    "live_parity"
)]
#[case::an_enphase_interval_lost(
    "DELETE FROM point_readings_agg_5m WHERE rowid = (SELECT max(rowid) FROM point_readings_agg_5m WHERE system_id = 3 AND EXISTS (SELECT 1 FROM preflight_journal AS j WHERE j.migration_name = 'agg5m_to_points' AND point_readings_agg_5m.rowid > j.rowid_lo AND point_readings_agg_5m.rowid <= j.rowid_hi))",
    "row_counts"
)]
#[case::an_ignored_duplicate_that_no_longer_repeats_its_column(
    "UPDATE readings_agg_5m SET solar_kwh_total_last = 9.999 WHERE id = (SELECT min(id) FROM readings_agg_5m WHERE system_id = 3 AND solar_interval_wh > 0)",
    "left_behind"
)]
#[case::a_broken_foreign_key_on_a_side_table(
    "PRAGMA foreign_keys = OFF; UPDATE user_systems SET system_id = 99 WHERE id = 1",
    "schema.foreign_keys"
)]
fn each_fault_is_caught_by_its_check(#[case] fault: &str, #[case] check: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    Connection::open(&db).unwrap().execute_batch(fault).unwrap();
    let report = verify(&db, Some(&small_fixture_gz()));
    let failures = failed(&report);
    assert!(
        failures.iter().any(|(c, _)| c == check),
        "{check} did not catch the fault; failures: {failures:?}"
    );
    assert_eq!(report.status, Status::Fail);
}

/// The control for the fault suite: the same verification of the unfaulted copy passes.
#[test]
fn a_correct_migration_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let report = verify(&db, Some(&small_fixture_gz()));
    assert_eq!(failed(&report), vec![]);
    // with a baseline, only what has nothing to judge is skipped: points whose every row was
    // written live (system 2's faults), a column the source never fills (Fronius's remote
    // inverter), legacy 5-minute rows that readings replace entirely (system 2)
    let skipped: Vec<(String, String)> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skip)
        .map(|c| (c.check.clone(), c.scope_text().clone()))
        .collect();
    let mut expected: Vec<(String, String)> = Vec::new();
    for check in ["values", "empty_points"] {
        for m in ["readings_to_points", "readings_to_agg5m"] {
            for p in [
                "system 2 · fault_code (15)",
                "system 2 · fault_ts (16)",
                "system 5 · solarRemoteW (2)",
            ] {
                expected.push((check.into(), format!("{m} · {p}")));
            }
        }
    }
    for check in ["values", "timestamps", "coverage", "empty_points"] {
        expected.push((
            check.into(),
            "agg5m_to_points · system 2 (selectronic)".into(),
        ));
    }
    for system in ["1 (selectronic)", "2 (selectronic)", "5 (fronius)"] {
        expected.push((
            "live_parity".into(),
            format!("agg5m_to_points · system {system}"),
        ));
    }
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(skipped), sorted(expected));
    // and what is explained is the seam, each recomputed from the interval's latest samples
    let warned: Vec<&preflight::report::CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .collect();
    assert_eq!(
        warned.len(),
        40,
        "14 points of systems 1 and 2, 12 of system 5"
    );
    for w in warned {
        assert!(
            w.check == "live_parity"
                && w.found_text().contains("1 seam rows")
                && w.example_texts()
                    .iter()
                    .any(|e| e.contains("recomputed equal")),
            "{w:?}"
        );
    }
    assert!(report.checks.len() > 600);
}

/// Spot checks on a correct migration never report a mismatch, whatever rows they sample:
/// only the fields the spec fills are compared, and a row the live app wrote is shown as such.
#[test]
fn spot_checks_never_fail_on_a_correct_migration() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    for seed in 0..12 {
        let report = preflight::verify::verify(
            &Target::Local(db.clone()),
            &preflight::verify::Options {
                spec: LoadedSpec::builtin(),
                suite: SuiteOptions {
                    sample: 40,
                    seed,
                    quick_integrity: true,
                    skip_integrity: false,
                    timeline: false,
                },
                baseline: None,
            },
        )
        .unwrap();
        let spot = report
            .checks
            .iter()
            .find(|c| c.check == "spot_checks")
            .unwrap();
        assert_eq!(
            spot.status,
            Status::Pass,
            "seed {seed}: {:?}",
            spot.example_texts()
        );
        assert!(
            spot.example_texts()
                .iter()
                .all(|e| !e.starts_with("MISMATCH"))
        );
    }
}

/// A blog database as dbmate's fixture project leaves it, with a few rows.
fn blog_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("blog.db");
    crate::common::tools::apply_as_modelled(
        preflight::migrations::Tool::Dbmate,
        &crate::common::tools::fixture_dir("dbmate"),
        &db,
        None,
    );
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO users (id, email, name) VALUES (1, 'ada@example.com', 'Ada'), (2, 'bo@example.com', 'Bo');
             INSERT INTO posts (id, author_id, title, body) VALUES (1, 1, 'Hello', '…');
             INSERT INTO comments (id, post_id, author_id, body) VALUES (1, 1, 2, 'Nice');",
        )
        .unwrap();
    db
}

#[test]
fn verify_on_a_blog_database_runs_the_checks_any_database_gets() {
    let t = tempfile::tempdir().unwrap();
    let db = blog_db(t.path());
    let r = run(&["verify", s(&db), "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("catalogue"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"schema.integrity") && checks.contains(&"schema.foreign_keys"));
    assert!(
        checks.iter().all(|c| c.starts_with("schema.")),
        "{checks:?}"
    );
    assert!(
        v["stages"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("matches no table here"),
        "{v}"
    );
    // a broken foreign key fails it
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO comments (id, post_id, author_id, body) VALUES (2, 99, 1, 'orphan');")
        .unwrap();
    let r = run(&["verify", s(&db)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("schema.foreign_keys"), "{}", r.stdout);
}

#[test]
fn checks_file_invariants_pass_and_fail_by_name() {
    let t = tempfile::tempdir().unwrap();
    let db = blog_db(t.path());
    let checks = t.path().join("checks.toml");
    std::fs::write(
        &checks,
        r#"
[[check]]
name = "every comment belongs to a post"
sql = "SELECT c.id FROM comments c LEFT JOIN posts p ON p.id = c.post_id WHERE p.id IS NULL"

[[check]]
name = "the first user"
sql = "SELECT email, name FROM users WHERE id = 1"
rows = ["ada@example.com|Ada"]

[[check]]
name = "users"
sql = "SELECT count(*) FROM users"
count = { min = 1, max = 10 }
"#,
    )
    .unwrap();
    let r = run(&["verify", s(&db), "--checks", s(&checks), "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let invariants: Vec<(&str, &str)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "invariant")
        .map(|c| {
            (
                c["text"]["scope"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        invariants,
        vec![
            ("every comment belongs to a post", "pass"),
            ("the first user", "pass"),
            ("users", "pass")
        ]
    );
    assert_eq!(v["spec"]["kind"], "checks");
    Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE users SET name = 'Ada L.' WHERE id = 1")
        .unwrap();
    let r = run(&["verify", s(&db), "--checks", s(&checks)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("got \"ada@example.com|Ada L.\", expected \"ada@example.com|Ada\""),
        "{}",
        r.stdout
    );
    // a checks file that says nothing clear stops verify (exit 2) naming the file
    std::fs::write(&checks, "[[check]]\nname = 'x'\nquery = 'SELECT 1'\n").unwrap();
    let r = run(&["verify", s(&db), "--checks", s(&checks)]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("checks.toml") && r.stderr.contains("query"),
        "{}",
        r.stderr
    );
}

#[test]
fn verify_with_migrations_fails_when_the_database_is_behind() {
    let t = tempfile::tempdir().unwrap();
    let dir = crate::common::tools::fixture_dir("sqlx");
    let db = t.path().join("behind.db");
    crate::common::tools::apply_as_modelled(preflight::migrations::Tool::Sqlx, &dir, &db, Some(3));
    let r = run(&["verify", s(&db), "--migrations", s(&dir)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("sqlx migration 20260203170000 comments keep when author leaves"),
        "{}",
        r.stdout
    );
    let all = t.path().join("all.db");
    crate::common::tools::apply_as_modelled(preflight::migrations::Tool::Sqlx, &dir, &all, None);
    let r = run(&["verify", s(&all), "--migrations", s(&dir)]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn the_liveone_suite_still_runs_on_liveone_and_no_spec_asks_for_the_generic_checks() {
    let t = tempfile::tempdir().unwrap();
    let db = small_fixture_db(t.path());
    let r = run(&["verify", s(&db), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["spec"]["kind"], "spec");
    assert!(v["stages"].as_array().unwrap().is_empty());
    let r = run(&["verify", s(&db), "--no-spec", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["spec"]["kind"], "checks");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["check"].as_str().unwrap().starts_with("schema.")),
        "{v}"
    );
    let r = run(&[
        "verify",
        s(&db),
        "--no-spec",
        "--spec",
        "specs/liveone.toml",
    ]);
    assert_eq!(r.code, 2, "--no-spec and --spec conflict: {r:?}");
}

/// A scale-0.05 fixture, migrated, at `dir/live.db`, in `journal_mode`.
fn migrated_scale(dir: &Path, journal_mode: &str) -> std::path::PathBuf {
    let db = dir.join("live.db");
    let r = run(&["fixture", "--scale", "0.05", "--seed", "7", "--out", s(&db)]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&["migrate", s(&db), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let mode: String = Connection::open(&db)
        .unwrap()
        .query_row(&format!("PRAGMA journal_mode = {journal_mode}"), [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(mode, journal_mode);
    db
}

/// `verify` while another process writes like the live app (what verify before go-live
/// faces): every check reads one consistent state, so no "malformed" error and no row count
/// that moved between two queries. The readings written since the migration came with their
/// point rows (the dual-write), so the progress check passes too: nothing may fail.
#[rstest]
#[case::rollback_journal("delete")]
#[case::write_ahead_log("wal")]
fn verify_reads_one_snapshot_while_the_live_app_writes(#[case] journal_mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_scale(dir.path(), journal_mode);
    // without a writer, every check passes
    let r = run(&["verify", s(&db)]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let mut writer = preflight()
        .args([
            "simulate-live",
            s(&db),
            "--yes",
            "--system",
            "1",
            "--interval-ms",
            "1",
            "--count",
            "1000000",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = scalar(
        &Connection::open(&db).unwrap(),
        "SELECT count(*) FROM readings",
    );
    for round in 0..3 {
        let r = run(&["verify", s(&db), "--format", "json"]);
        assert!(
            !r.stderr.contains("malformed") && r.code != 2,
            "round {round}: {}",
            r.stderr
        );
        let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let unexpected: Vec<String> = failed_checks(&report);
        assert!(unexpected.is_empty(), "round {round}: {unexpected:?}");
    }
    let after = scalar(
        &Connection::open(&db).unwrap(),
        "SELECT count(*) FROM readings",
    );
    let pid = libc::pid_t::try_from(writer.id()).unwrap();
    // SAFETY: our child, not yet waited for
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = writer.wait().unwrap();
    assert_eq!(status.code(), Some(143), "the writer stops on SIGTERM");
    assert!(
        after > before,
        "the writer wrote during the verifications ({before} → {after} readings)"
    );
}

fn progress_of(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["check"] == "progress" && c["text"]["scope"].as_str().unwrap().contains("system 1 ")
        })
        .map(|c| {
            let f = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (
                f(&c["text"]["scope"]),
                f(&c["status"]),
                f(&c["text"]["found"]),
            )
        })
        .collect()
}

/// Readings the live app wrote after the migration's progress mark, with their point rows and
/// 5-minute rows (the dual-write window), are not unmigrated: progress passes and says why. A
/// reading after the mark without one of its point rows is, and progress fails naming it.
#[test]
fn progress_behind_the_live_apps_dual_write_passes_and_a_missing_target_row_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let r = run(&[
        "simulate-live",
        s(&db),
        "--yes",
        "--system",
        "1",
        "--interval-ms",
        "0",
        "--count",
        "20",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&["verify", s(&db), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let progress = progress_of(&report);
    assert_eq!(progress.len(), 3, "{progress:?}");
    let behind: Vec<_> = progress
        .iter()
        .filter(|p| p.2.contains("after it"))
        .collect();
    assert_eq!(
        behind.len(),
        2,
        "the raw and the 5-minute migration: {progress:?}"
    );
    for (scope, status, actual) in &progress {
        assert_eq!(status, "pass", "{scope}: {actual}");
    }
    for (_, _, actual) in behind {
        assert!(
            actual.contains("the 20 source rows after it already have their target rows"),
            "{actual}"
        );
    }
    assert_eq!(r.code, 0, "{}", r.stdout);

    // one point row of the last reading goes missing: that reading is not migrated
    let conn = Connection::open(&db).unwrap();
    let last = scalar(
        &conn,
        "SELECT max(inverter_time) FROM readings WHERE system_id = 1",
    );
    let gone = conn
        .execute(
            "DELETE FROM point_readings WHERE system_id = 1 AND measurement_time = ?1 * 1000
               AND point_id = (SELECT min(point_id) FROM point_readings WHERE system_id = 1 AND measurement_time = ?1 * 1000)",
            [last],
        )
        .unwrap();
    assert_eq!(gone, 1);
    let r = run(&["verify", s(&db), "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let raw = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["check"] == "progress"
                && c["text"]["scope"]
                    .as_str()
                    .unwrap()
                    .starts_with("readings_to_points · system 1 ")
        })
        .unwrap();
    assert_eq!(raw["status"], "fail");
    assert!(
        raw["text"]["found"]
            .as_str()
            .unwrap()
            .contains("1 of the 20 source rows after it lack target rows"),
        "{raw}"
    );
    assert!(
        raw["text"]["examples"]
            .to_string()
            .contains(&format!("readings.inverter_time = {last}: no target row")),
        "{raw}"
    );

    // a reading written by the legacy poller alone, after the mark: not migrated either
    conn.execute(
        "INSERT INTO readings (system_id, inverter_time, received_time, delay_seconds, solar_w, load_w, created_at)
         VALUES (1, ?1, ?1, 0, 100, 100, ?1)",
        [last + 60],
    )
    .unwrap();
    let r = run(&["verify", s(&db), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // (the 5-minute migration's bucket of that reading already has its row: its values check
    // judges whether the row took the reading in)
    let raw = progress_of(&report)
        .into_iter()
        .find(|p| p.0.starts_with("readings_to_points"))
        .unwrap();
    assert_eq!(raw.1, "fail", "{raw:?}");
    assert!(
        raw.2
            .contains("2 of the 21 source rows after it lack target rows"),
        "{raw:?}"
    );
}

#[test]
fn verify_of_a_wal_database_leaves_no_side_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA journal_mode = wal", [], |_| Ok(()))
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    for args in [
        &["verify", s(&db)][..],
        &["fingerprint", s(&db)][..],
        &["migrate", s(&db), "--dry-run"][..],
    ] {
        let r = run(args);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "{args:?} left {:?}",
            leftovers(dir.path())
        );
        assert!(
            std::fs::read(&db).unwrap() == before,
            "{args:?} changed the file"
        );
    }
}

/// What a writer cut off by a crash or a power loss leaves: the database file with some pages
/// already changed and the rollback journal that undoes them (copied while the transaction is
/// open, so no process holds its locks).
fn crashed_mid_transaction(db: &Path, crashed: &Path) {
    let c = Connection::open(db).unwrap();
    c.execute_batch(
        "PRAGMA cache_size = 2; BEGIN; UPDATE readings SET solar_w = solar_w + 1; UPDATE point_readings SET value = value + 1;",
    )
    .unwrap();
    let journal = |p: &Path| std::path::PathBuf::from(format!("{}-journal", p.display()));
    std::fs::copy(db, crashed).unwrap();
    std::fs::copy(journal(db), journal(crashed)).unwrap();
    c.execute_batch("ROLLBACK").unwrap();
    assert_ne!(
        std::fs::read(db).unwrap(),
        std::fs::read(crashed).unwrap(),
        "the crashed copy holds changed pages"
    );
}

/// A hot journal is rolled back before any read-only open (a read-only connection cannot, and
/// used to fail with "attempt to write a readonly database"): every reader then sees the last
/// committed state, and the journal is gone.
#[test]
fn a_hot_journal_is_rolled_back_before_a_read() {
    // the whole database's digest, from `fingerprint --format json`
    let digest = |json: &str| {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["result"]["database"].as_str().unwrap().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let expected = run(&["fingerprint", s(&db), "--format", "json"]);
    assert_eq!(expected.code, 0);
    for args in [
        vec!["fingerprint", "CRASHED", "--format", "json"],
        vec!["verify", "CRASHED"],
        vec!["migrate", "CRASHED", "--dry-run"],
        vec!["migrate", "CRASHED", "--yes"],
    ] {
        let crashed = dir.path().join("crashed.db");
        crashed_mid_transaction(&db, &crashed);
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "CRASHED" { s(&crashed) } else { a })
            .collect();
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            !dir.path().join("crashed.db-journal").exists(),
            "{args:?} left the journal"
        );
        let fp = run(&["fingerprint", s(&crashed), "--format", "json"]);
        assert_eq!(
            digest(&fp.stdout),
            digest(&expected.stdout),
            "{args:?}: not the committed state"
        );
        std::fs::remove_file(&crashed).unwrap();
    }
}

/// `--report` never replaces the database, a backup, a SQLite file or an input of the command;
/// it is refused before any work, and nothing is written.
#[test]
fn a_report_never_replaces_an_input_a_database_or_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let backup = dir.path().join("b.db.gz");
    std::fs::copy(small_fixture_gz(), &backup).unwrap();
    let other = dir.path().join("other.sqlite");
    gunzip(&small_fixture_gz(), &other);
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, LoadedSpec::builtin().text).unwrap();
    let new_gz = dir.path().join("new.db.gz");
    let [journal, wal, shm] = ["-journal", "-wal", "-shm"].map(|x| format!("{}{x}", db.display()));
    let sums = |paths: &[&Path]| paths.iter().map(|p| sha256(p)).collect::<Vec<_>>();
    let inputs = [&db, &backup, &other, &spec];
    let before = sums(&inputs.map(|p| p.as_path()));
    for (args, said) in [
        (
            vec!["verify", s(&db), "--report", s(&db)],
            "an input of this command",
        ),
        (vec!["verify", s(&db), "--report", s(&backup)], "gzip"),
        (
            vec!["verify", s(&db), "--report", s(&other)],
            "a SQLite database",
        ),
        (
            vec!["verify", s(&db), "--spec", s(&spec), "--report", s(&spec)],
            "an input of this command",
        ),
        (vec!["verify", s(&db), "--report", s(&new_gz)], "gzip"),
        (
            vec!["rehearse", s(&backup), "--report", s(&backup)],
            "an input",
        ),
        (
            vec!["verify", s(&db), "--report", &journal],
            "the -journal file of the SQLite database",
        ),
        (
            vec!["verify", s(&db), "--report", &wal],
            "the -wal file of the SQLite database",
        ),
        (
            vec!["verify", s(&db), "--report", &shm],
            "the -shm file of the SQLite database",
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(said) && r.stderr.contains("--report") && r.stdout.is_empty(),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    }
    assert_eq!(
        sums(&inputs.map(|p| p.as_path())),
        before,
        "an input changed"
    );
    assert!(!new_gz.exists());
    for side in [&journal, &wal, &shm] {
        assert!(!Path::new(side).exists(), "{side}");
    }
}

/// TEXT that is not valid UTF-8 (SQLite stores what it is given) is a difference to report,
/// not a reason to stop.
#[test]
fn text_that_is_not_utf8_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let original = small_fixture_db(dir.path());
    let changed = dir.path().join("changed.db");
    std::fs::copy(&original, &changed).unwrap();
    Connection::open(&changed)
        .unwrap()
        .execute_batch("UPDATE systems SET display_name = CAST(x'4cff6976e9' AS TEXT) WHERE id = 2")
        .unwrap();
    let r = run(&["diff", s(&original), s(&changed)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("systems"), "{}", r.stdout);
    let r = run(&["diff", s(&changed), s(&changed)]);
    assert_eq!(r.code, 0, "{r:?}");
    // the same damage after a migration, against the backup taken before it
    let dir2 = tempfile::tempdir().unwrap();
    let migrated = migrated_fixture(dir2.path());
    Connection::open(&migrated)
        .unwrap()
        .execute_batch("UPDATE systems SET display_name = CAST(x'4cff6976e9' AS TEXT) WHERE id = 2")
        .unwrap();
    let r = run(&["verify", s(&migrated), "--baseline", s(&small_fixture_gz())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("FAIL"), "{}", r.stdout);
}

/// A database that is not LiveOne's but has a table named `systems` (an inventory, say) gets the
/// generic checks, and the `suite` stage says which column of LiveOne's shape is missing; a spec
/// given explicitly that does not fit still stops, naming the column and `--no-spec`.
#[test]
fn a_table_named_systems_is_not_enough_for_the_liveone_suite() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("inventory.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE systems (id INTEGER PRIMARY KEY, hostname TEXT NOT NULL, os TEXT);
             CREATE TABLE disks (id INTEGER PRIMARY KEY, system_id INTEGER NOT NULL REFERENCES systems(id), size_gb INTEGER);
             INSERT INTO systems VALUES (1, 'db1', 'linux'), (2, 'web1', 'linux');
             INSERT INTO disks VALUES (1, 1, 500), (2, 2, 250);",
        )
        .unwrap();
    let r = run(&["verify", s(&db), "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["stages"][0]["name"], "suite", "{v}");
    let why = v["stages"][0]["detail"].as_str().unwrap();
    assert!(
        why.contains("does not fit") && why.contains("systems") && why.contains("vendor_type"),
        "{why}"
    );
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"schema.foreign_keys"), "{checks:?}");
    // an orphan disk still fails the generic suite
    Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO disks VALUES (3, 9, 100);")
        .unwrap();
    assert_eq!(run(&["verify", s(&db)]).code, 1);
    // the built-in spec named explicitly: it does not fit, and the message says what to do
    let spec = t.path().join("liveone.toml");
    std::fs::write(&spec, preflight::spec::BUILTIN_TOML).unwrap();
    let r = run(&["verify", s(&db), "--spec", s(&spec)]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("systems.vendor_type") && r.stderr.contains("--no-spec"),
        "{}",
        r.stderr
    );
    // a LiveOne database still gets the LiveOne suite without --spec
    let live = small_fixture_db(t.path());
    let r = run(&["verify", s(&live), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| !c["check"].as_str().unwrap().starts_with("schema.")),
        "{v}"
    );
}

/// The audit's case: a scale-0.1 fixture (seed 5) migrated in batches of 500 and verified with
/// 20 sampled rows, then the default sample: no spot check MISMATCH on a correct migration.
#[test]
fn spot_checks_pass_on_the_audits_scale_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ref.db");
    let r = run(&["fixture", "--scale", "0.1", "--seed", "5", "--out", s(&db)]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&["migrate", s(&db), "--yes", "--batch-size", "500"]);
    assert_eq!(r.code, 0, "{r:?}");
    for sample in [&["--sample", "20"][..], &[][..]] {
        let mut args = vec!["verify", s(&db), "--format", "json"];
        args.extend(sample);
        let r = run(&args);
        let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let spot = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "spot_checks")
            .unwrap();
        assert_eq!(spot["status"], "pass", "{sample:?}: {spot}");
        assert!(
            !spot["text"]["examples"].to_string().contains("MISMATCH"),
            "{spot}"
        );
        assert_eq!(r.code, 0, "{sample:?}: {}", r.stdout);
    }
}

/// `--skip-integrity` leaves SQLite's integrity check out and says so; every other check runs.
#[test]
fn verify_can_leave_the_integrity_check_out_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["verify", s(&db), "--format", "json"];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    };
    let integrity = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] == "schema.integrity")
            .map(|c| {
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["text"]["found"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let full = json(&[]);
    let skipped = json(&["--skip-integrity"]);
    assert!(integrity(&full).len() > 1);
    assert!(integrity(&full).iter().all(|(st, _)| st == "pass"));
    assert_eq!(
        integrity(&skipped),
        [(
            "skip".to_string(),
            "left out (--skip-integrity)".to_string()
        )]
    );
    // every other check is there, with the same verdicts
    let others = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] != "schema.integrity")
            .map(|c| (c["check"].to_string(), c["status"].to_string()))
            .collect()
    };
    assert_eq!(others(&full), others(&skipped));
    assert!(others(&full).len() > 100);
    let r = run(&["verify", s(&db), "--skip-integrity", "--quick-integrity"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A roll-up's first and last values where the interval's last reading has no value for the
/// point: the last value is the latest reading's that has one, which the check finds apart from
/// the interval's last row. The migration computes it so (verify passes, and the stored `last`
/// is that earlier reading's), and a stored `last` taken from anywhere else fails `values`.
#[test]
fn a_roll_up_last_value_is_the_latest_reading_that_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    // in system 1, an interval's last reading loses its load; an earlier reading of the same
    // interval has one
    let bucket = "((r.inverter_time + 299) / 300) * 300";
    let (id, end, before): (i64, i64, f64) = Connection::open(&db)
        .unwrap()
        .query_row(
            &format!(
                "SELECT r.id, {bucket}, (SELECT p.load_w FROM readings AS p WHERE p.system_id = 1 AND p.inverter_time < r.inverter_time AND p.inverter_time > {bucket} - 300 AND p.load_w IS NOT NULL ORDER BY p.inverter_time DESC LIMIT 1)
                 FROM readings AS r WHERE r.system_id = 1 AND r.load_w IS NOT NULL
                   AND EXISTS (SELECT 1 FROM readings AS p WHERE p.system_id = 1 AND p.inverter_time < r.inverter_time AND p.inverter_time > {bucket} - 300 AND p.load_w IS NOT NULL AND p.load_w != r.load_w)
                   AND NOT EXISTS (SELECT 1 FROM readings AS n WHERE n.system_id = 1 AND n.inverter_time > r.inverter_time AND n.inverter_time <= {bucket})
                 ORDER BY r.inverter_time LIMIT 1 OFFSET 20"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    Connection::open(&db)
        .unwrap()
        .execute("UPDATE readings SET load_w = NULL WHERE id = ?1", [id])
        .unwrap();
    let r = run(&["migrate", s(&db), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let stored = |c: &Connection| -> f64 {
        c.query_row(
            "SELECT last FROM point_readings_agg_5m AS a JOIN point_info AS p ON p.id = a.point_id AND p.system_id = a.system_id
             WHERE a.system_id = 1 AND p.origin_sub_id = 'load_w' AND a.interval_end = ?1",
            [end * 1000],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(stored(&Connection::open(&db).unwrap()), before);
    let report = verify(&db, None);
    assert_eq!(failed(&report), Vec::<(String, String)>::new());
    // the interval's last reading's former value, or none at all, is not the roll-up's
    for wrong in ["last + 1", "NULL"] {
        let c = Connection::open(&db).unwrap();
        c.execute(
            &format!(
                "UPDATE point_readings_agg_5m SET last = {wrong} WHERE system_id = 1 AND interval_end = ?1
                 AND point_id = (SELECT id FROM point_info WHERE system_id = 1 AND origin_sub_id = 'load_w')"
            ),
            [end * 1000],
        )
        .unwrap();
        let failures = failed(&verify(&db, None));
        assert!(
            failures
                .iter()
                .any(|(c, scope)| c == "values" && scope.contains("system 1")),
            "{wrong}: {failures:?}"
        );
        c.execute(
            "UPDATE point_readings_agg_5m SET last = ?2 WHERE system_id = 1 AND interval_end = ?1
             AND point_id = (SELECT id FROM point_info WHERE system_id = 1 AND origin_sub_id = 'load_w')",
            rusqlite::params![end * 1000, before],
        )
        .unwrap();
    }
    assert_eq!(failed(&verify(&db, None)), Vec::<(String, String)>::new());
}

/// A source table WITHOUT ROWID (a common layout for time series, keyed by its columns): the
/// migration and every check run on it as on a table with rowids, and all pass.
#[test]
fn a_source_table_without_rowid_migrates_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let c = Connection::open(&db).unwrap();
    let (table, indexes): (String, Vec<String>) = (
        c.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'readings'",
            [],
            |r| r.get(0),
        )
        .unwrap(),
        c.prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'readings' AND sql IS NOT NULL")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect(),
    );
    let keyed = table
        .replacen("CREATE TABLE readings", "CREATE TABLE readings_keyed", 1)
        .replacen("PRIMARY KEY AUTOINCREMENT", "PRIMARY KEY", 1);
    assert!(!keyed.contains("AUTOINCREMENT"), "{keyed}");
    c.execute_batch(&format!(
        "BEGIN; {} WITHOUT ROWID; INSERT INTO readings_keyed SELECT * FROM readings; DROP TABLE readings;
         ALTER TABLE readings_keyed RENAME TO readings; {}; COMMIT;",
        keyed.trim_end().trim_end_matches(';'),
        indexes.join("; ")
    ))
    .unwrap();
    let without_rowid: String = c
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'readings'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(without_rowid.ends_with("WITHOUT ROWID"), "{without_rowid}");
    drop(c);
    let r = run(&["migrate", s(&db), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let report = verify(&db, None);
    assert_eq!(failed(&report), Vec::<(String, String)>::new());
    assert!(
        report
            .checks
            .iter()
            .filter(|c| c.check == "values" && c.status == Status::Pass)
            .count()
            > 100,
        "the values were compared"
    );
}
