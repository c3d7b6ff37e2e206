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
        (undo.status, undo.actual.as_str()),
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
            .find(|c| c.status == Status::Fail && c.check == check && c.scope.contains(scope))
            .unwrap_or_else(|| panic!("no failing {check} on {scope}"))
    };
    // points filled with NULL through renamed columns
    let empty = failing("empty_points", "system 1 · shunt_w (3)");
    assert!(
        empty
            .examples
            .join(" ")
            .contains("readings.shunt_w, which does not exist"),
        "{:?}",
        empty.examples
    );
    failing("empty_points", "system 2 · solarinverter_w (2)");
    failing("schema.columns", "readings_to_points");
    // the fault time unit, against live rows
    let ts = failing("live_parity", "system 1 · fault_ts (16)");
    assert!(
        ts.examples[0].contains("live value 1762401859000.0; spec value 1762401859"),
        "{:?}",
        ts.examples
    );
    failing("units", "system 1 · fault_ts (16)");
    // Wh rounding, against live rows
    let wh = failing("live_parity", "system 2 · grid_in_wh_total (13)");
    assert!(
        wh.examples[0].contains("live value 2048740.0; spec value 2048739.9999999998"),
        "{:?}",
        wh.examples
    );
    // generator status NULL against live 0
    let gen_status = failing("live_parity", "system 1 · gen_status (8)");
    assert!(
        gen_status.examples[0].contains("live value 0.0; spec a row of NULLs"),
        "{:?}",
        gen_status.examples
    );
    // the Fronius interval energy never carried
    let left = failing("left_behind", "readings_to_points · vendor fronius");
    assert!(
        left.examples
            .iter()
            .any(|e| e.contains("solar_wh_interval")),
        "{:?}",
        left.examples
    );
    failing(
        "live_parity",
        "system 5 · solarWhInterval (8), not in the spec",
    );
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
