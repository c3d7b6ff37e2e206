//! `preflight rehearse`: the README's main command, its stages, and the proof that the checks
//! bite: the seed's original mapping fails and names what went wrong; the built-in spec passes.

use preflight::checks::SuiteOptions;
use preflight::report::{Format, Report, Status, render};
use preflight::spec::LoadedSpec;
use preflight::spec::validate::Scope;

use crate::common::*;

fn rehearse(spec: LoadedSpec) -> Report {
    preflight::rehearse::rehearse(
        &preflight::rehearse::Options {
            backup: None,
            spec,
            scope: Scope::default(),
            batch_size: 20_000,
            suite: SuiteOptions {
                sample: 10,
                seed: 0,
                quick_integrity: false,
                skip_integrity: false,
                timeline: false,
            },
        },
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn rehearse_of_the_bundled_fixture_passes_with_the_builtin_spec() {
    let report = rehearse(LoadedSpec::builtin());
    assert_eq!(
        report.status,
        Status::Pass,
        "{}",
        render(&report, Format::Table)
    );
    let stages: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        stages,
        [
            "extract",
            "fingerprint",
            "migrate",
            "verify",
            "migrate again",
            "undo"
        ]
    );
    let (before, after) = report.sizes.unwrap();
    assert!(after > before, "the migration grows the database");
    for k in ["stage:extract", "stage:migrate", "stage:undo", "total"] {
        assert!(report.timings.contains_key(k), "{k}");
    }
    let undo = report
        .checks
        .iter()
        .find(|c| c.check == "rehearse.undo")
        .unwrap();
    assert_eq!(
        (undo.status, undo.found_text().as_str()),
        (Status::Pass, "identical")
    );
    crate::snapshot!("rehearse-builtin", render(&redact(&report), Format::Table));
}

#[test]
fn rehearse_with_the_original_mapping_fails_and_names_each_mistake() {
    // named as a user at the repository root names it, so the report does not depend on the checkout
    let text = std::fs::read_to_string(repo("specs/liveone-original.toml")).unwrap();
    let original = LoadedSpec::parse(&text, "specs/liveone-original.toml").unwrap();
    let report = rehearse(original);
    assert_eq!(report.status, Status::Fail);
    let failing = |check: &str, scope: &str| {
        report
            .checks
            .iter()
            .find(|c| {
                c.status == Status::Fail && c.check == check && c.scope_text().contains(scope)
            })
            .unwrap_or_else(|| panic!("no failing {check} on {scope}"))
    };
    // points filled with NULL through renamed columns
    let empty = failing("empty_points", "system 1 · shunt_w (3)");
    assert!(
        empty
            .example_texts()
            .join(" ")
            .contains("readings.shunt_w, which does not exist"),
        "{:?}",
        empty.example_texts()
    );
    failing("empty_points", "system 2 · solarinverter_w (2)");
    failing("schema.columns", "readings_to_points");
    // the fault time unit, against live rows
    let ts = failing("live_parity", "system 1 · fault_ts (16)");
    assert!(
        ts.example_texts()[0].contains("live value 1762401993000.0; spec value 1762401993"),
        "{:?}",
        ts.example_texts()
    );
    failing("units", "system 1 · fault_ts (16)");
    // Wh rounding, against live rows
    let wh = failing(
        "live_parity",
        "readings_to_points · system 2 · solar_wh_total (9)",
    );
    assert!(
        wh.example_texts()[0].contains("live value 16401209.0; spec value 16401208.999999998"),
        "{:?}",
        wh.example_texts()
    );
    // generator status NULL against live 0
    let gen_status = failing("live_parity", "system 1 · gen_status (8)");
    assert!(
        gen_status.example_texts()[0].contains("live value 0.0; spec a row of NULLs"),
        "{:?}",
        gen_status.example_texts()
    );
    // the Fronius interval energy never carried
    let left = failing("left_behind", "readings_to_points · vendor fronius");
    assert!(
        left.example_texts()
            .iter()
            .any(|e| e.contains("solar_wh_interval")),
        "{:?}",
        left.example_texts()
    );
    failing(
        "live_parity",
        "system 5 · solarWhInterval (8), not in the spec",
    );
    // the 5-minute history copied from the legacy rows: rounded, over a closed interval, and
    // the live aggregator's partial first interval overwritten in meaning
    let agg = failing("live_parity", "agg5m_to_points · system 2 · load_w (4)");
    assert!(
        agg.example_texts()
            .iter()
            .any(|e| e.contains("live avg 505.0, min 499.0, max 511.0; spec avg 482")),
        "{:?}",
        agg.example_texts()
    );
    // Enphase's interval energy in a column named like a lifetime total, left behind
    failing("left_behind", "agg5m_to_points · vendor enphase");
    // the rehearsal itself still undoes cleanly
    let undo = report
        .checks
        .iter()
        .find(|c| c.check == "rehearse.undo")
        .unwrap();
    assert_eq!(undo.status, Status::Pass);
    let shown = redact(&report);
    crate::snapshot!("rehearse-original", render(&shown, Format::Table));
    crate::snapshot!(
        "rehearse-original-markdown",
        render(&shown, Format::Markdown)
    );
    crate::snapshot!("rehearse-original-junit", render(&shown, Format::Junit));
    crate::snapshot!("rehearse-original-json", render(&shown, Format::Json));
}

/// The README's main command, as written, from another directory.
#[test]
fn the_main_command_works_from_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let out = preflight()
        .arg("rehearse")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(bundled) fixtures/liveone-small.db.gz") && stdout.contains("PASS:"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "rehearse leaves nothing behind"
    );
}

#[test]
fn rehearse_a_given_backup_with_engine_flags_and_a_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("rehearsal.xml");
    let r = run(&[
        "rehearse",
        s(&small_fixture_gz()),
        "--only",
        "agg5m",
        "--system",
        "3",
        "--batch-size",
        "50",
        "--report",
        s(&report),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("liveone-small.db.gz"));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(
        xml.contains("agg5m_to_points · system 3") && !xml.contains("readings_to_points · system"),
        "{xml}"
    );
}

/// SQL: the row of `table` was inserted by `migration` (from preflight's journal).
fn inserted_by(migration: &str, table: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM preflight_journal AS j WHERE j.migration_name = '{migration}' AND {table}.rowid > j.rowid_lo AND {table}.rowid <= j.rowid_hi)"
    )
}

/// Faults that only the live rows' meaning exposes, and some classic ones, each with the check
/// that must catch it. They are plain SQL on a migrated database, so they apply to any
/// LiveOne-shaped data.
fn seeded_faults() -> Vec<(&'static str, String, &'static str)> {
    let rollup = inserted_by("readings_to_agg5m", "point_readings_agg_5m");
    let legacy = inserted_by("agg5m_to_points", "point_readings_agg_5m");
    let raw = inserted_by("readings_to_points", "point_readings");
    let live_agg = "NOT EXISTS (SELECT 1 FROM preflight_journal AS j WHERE j.target_table = 'point_readings_agg_5m' AND point_readings_agg_5m.rowid > j.rowid_lo AND point_readings_agg_5m.rowid <= j.rowid_hi)";
    vec![
        (
            "a rounded avg where the live rows are unrounded",
            format!("UPDATE point_readings_agg_5m SET avg = round(avg) WHERE {rollup} AND avg != round(avg)"),
            "values",
        ),
        (
            "a bucket shifted by the closed bound (a boundary sample counted in the next interval too)",
            format!(
                "UPDATE point_readings_agg_5m SET sample_count = sample_count + 1 WHERE {rollup} AND (EXISTS (SELECT 1 FROM readings AS r WHERE r.system_id = point_readings_agg_5m.system_id AND r.inverter_time * 1000 = point_readings_agg_5m.interval_end - 300000) OR rowid = (SELECT max(rowid) FROM point_readings_agg_5m WHERE {rollup}))"
            ),
            "values",
        ),
        (
            "the seam interval overwritten with the whole interval",
            // the load point (4 in every raw system) of a first live interval that is partial
            format!(
                "UPDATE point_readings_agg_5m SET
                   avg = (SELECT avg(load_w) FROM readings AS r WHERE {bucket}),
                   min = (SELECT min(load_w) FROM readings AS r WHERE {bucket}),
                   max = (SELECT max(load_w) FROM readings AS r WHERE {bucket}),
                   sample_count = (SELECT count(load_w) FROM readings AS r WHERE {bucket})
                 WHERE rowid = (SELECT a.rowid FROM point_readings_agg_5m AS a WHERE a.point_id = 4 AND a.system_id IN (1, 2, 5)
                   AND a.interval_end = (SELECT min(b.interval_end) FROM point_readings_agg_5m AS b WHERE b.system_id = a.system_id AND b.point_id = 4 AND {live_b})
                   AND a.sample_count < (SELECT count(load_w) FROM readings AS r WHERE r.system_id = a.system_id AND r.inverter_time > a.interval_end / 1000 - 300 AND r.inverter_time <= a.interval_end / 1000)
                   ORDER BY a.system_id LIMIT 1)",
                bucket = "r.system_id = point_readings_agg_5m.system_id AND r.inverter_time > point_readings_agg_5m.interval_end / 1000 - 300 AND r.inverter_time <= point_readings_agg_5m.interval_end / 1000",
                live_b = live_agg.replace("point_readings_agg_5m.rowid", "b.rowid"),
            ),
            "collateral",
        ),
        (
            "an Enphase interval lost",
            format!("DELETE FROM point_readings_agg_5m WHERE rowid = (SELECT max(rowid) FROM point_readings_agg_5m WHERE system_id = 3 AND {legacy})"),
            "row_counts",
        ),
        (
            "a raw row lost",
            format!("DELETE FROM point_readings WHERE rowid = (SELECT max(rowid) FROM point_readings WHERE system_id = 2 AND point_id = 4 AND {raw})"),
            "row_counts",
        ),
        (
            "a value off by one",
            format!("UPDATE point_readings SET value = value + 1 WHERE rowid = (SELECT min(rowid) FROM point_readings WHERE system_id = 5 AND point_id = 4 AND {raw})"),
            "values",
        ),
        (
            "times left in seconds",
            format!("UPDATE point_readings SET measurement_time = measurement_time / 1000 WHERE system_id = 2 AND point_id = 6 AND {raw}"),
            "timestamps",
        ),
        (
            "a live raw row overwritten",
            "UPDATE point_readings SET value = value + 7 WHERE id = (SELECT min(id) FROM point_readings WHERE system_id = 1 AND point_id = 4 AND session_id IS NOT NULL)".into(),
            "live_parity",
        ),
        (
            "a progress row lost",
            "DELETE FROM migration_progress WHERE migration_name = 'readings_to_agg5m' AND system_id = 2".into(),
            "progress",
        ),
        (
            "a lifetime counter that falls",
            format!("UPDATE point_readings_agg_5m SET last = last - 5000, max = max - 5000 WHERE rowid = (SELECT max(rowid) FROM point_readings_agg_5m WHERE system_id = 1 AND point_id = 9 AND {rollup})"),
            "counters",
        ),
    ]
}

/// Rehearse and verify LiveOne-shaped data that this project's generator did not make; returns
/// what went wrong.
fn on_independent_data(seed: u64, scale: f64) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alt.db");
    crate::common::altgen::generate(&db, seed, scale);
    let gz = gz(&db);
    let at = format!("seed {seed}, scale {scale}");
    let mut problems = Vec::new();
    let failed = |out: &str| -> String {
        out.lines()
            .filter(|l| l.contains("FAIL"))
            .take(8)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let r = run(&["rehearse", s(&gz)]);
    if r.code != 0 {
        problems.push(format!(
            "{at}: rehearse exited {}:\n{}{}",
            r.code,
            failed(&r.stdout),
            r.stderr
        ));
    }
    let original = repo("specs/liveone-original.toml");
    let r = run(&["rehearse", s(&gz), "--spec", s(&original)]);
    if r.code != 1 {
        problems.push(format!(
            "{at}: rehearse with the original mapping exited {}",
            r.code
        ));
    }
    let migrated = dir.path().join("migrated.db");
    std::fs::copy(&db, &migrated).unwrap();
    let r = run(&["migrate", s(&migrated), "--yes"]);
    assert_eq!(r.code, 0, "{at}: migrate: {}", r.stderr);
    for extra in [&[][..], &["--baseline", s(&gz)][..]] {
        let mut args = vec!["verify", s(&migrated)];
        args.extend(extra);
        let r = run(&args);
        if r.code != 0 {
            problems.push(format!(
                "{at}: verify {extra:?} exited {}:\n{}",
                r.code,
                failed(&r.stdout)
            ));
        }
    }
    for (name, sql, check) in seeded_faults() {
        let copy = dir.path().join("fault.db");
        std::fs::copy(&migrated, &copy).unwrap();
        let c = rusqlite::Connection::open(&copy).unwrap();
        c.execute_batch(&sql).unwrap();
        let changed = c.changes();
        drop(c);
        if changed == 0 {
            problems.push(format!("{at}: the fault \"{name}\" changed nothing"));
            continue;
        }
        let r = run(&["verify", s(&copy), "--baseline", s(&gz), "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_default();
        let caught = v["checks"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["status"] == "fail" && c["check"] == check)
        });
        if r.code != 1 || !caught {
            problems.push(format!(
                "{at}: the fault \"{name}\": verify exited {}, {check} caught it: {caught}",
                r.code
            ));
        }
        std::fs::remove_file(&copy).unwrap();
    }
    problems
}

/// The acceptance run on data generated apart from `preflight fixture` (tests/common/altgen.rs):
/// rehearse passes, verify of the tool's own migration passes, every seeded fault fails verify,
/// and the original mapping fails. `PREFLIGHT_ALT_SCALES=0.01,0.1,1` and
/// `PREFLIGHT_ALT_SEEDS=…` run it at more scales and seeds.
#[test]
fn independently_generated_data_passes_and_every_seeded_fault_is_caught() {
    let list = |var: &str, default: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    };
    let mut problems = Vec::new();
    for scale in list("PREFLIGHT_ALT_SCALES", "0.01") {
        for seed in list("PREFLIGHT_ALT_SEEDS", "3,4") {
            problems.extend(on_independent_data(
                seed.parse().unwrap(),
                scale.parse().unwrap(),
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The migrated copy passed the full integrity_check at extract and only SQLite wrote it since:
/// `rehearse` checks it with quick_check and says so, and runs the full check when asked.
#[test]
fn rehearse_says_which_integrity_check_it_ran_on_the_migrated_copy() {
    let pragmas = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["rehearse", "--format", "json"];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let mut seen: Vec<String> = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] == "schema.integrity" && c["scope"]["table"].is_string())
            .map(|c| c["expected"]["pragma"].as_str().unwrap().to_string())
            .collect();
        seen.dedup();
        seen
    };
    assert_eq!(pragmas(&[]), ["quick_check"]);
    assert_eq!(pragmas(&["--full-integrity"]), ["integrity_check"]);
    assert_eq!(pragmas(&["--quick-integrity"]), ["quick_check"]);
}
