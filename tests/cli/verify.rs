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
        .map(|c| (c.check.clone(), c.scope.clone()))
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
            .unwrap()["examples"]
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
        .map(|c| (c.check.clone(), c.scope.clone()))
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
                && w.actual.contains("1 seam rows")
                && w.examples.iter().any(|e| e.contains("recomputed equal")),
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
            spot.examples
        );
        assert!(spot.examples.iter().all(|e| !e.starts_with("MISMATCH")));
    }
}
