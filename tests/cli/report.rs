//! Reports people read and reuse: one renderer per format snapshotted on a small hand-built
//! report, the compact terminal view, `--report` never changing standard output, and the HTML
//! report opened in a real headless browser.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use preflight::report::{
    Cause, CheckResult, Diff, Example, Explained, Fact, Fixed, Format, Identity, Noun, ParityWhy,
    PointRef, Report, Scope, SpecIdentity, Stage, Status, SystemTimeline, Time, Timeline, Value,
    render,
};
use rusqlite::Connection;

use crate::common::*;

/// A report small enough to read whole: two stages, one check of each status, a timeline of two
/// systems with a gap and a seam.
fn small_report() -> Report {
    let mut r = Report::new(
        "rehearse",
        Identity {
            database: "backups/blog-20261201-120000.db.gz".into(),
            size_bytes: Some(48_213),
            sha256: Some("ab".repeat(32)),
        },
        SpecIdentity {
            kind: "spec".into(),
            name: "demo".into(),
            origin: "specs/demo.toml".into(),
            sha256: "cd".repeat(32),
        },
        Some((3, 7)),
    );
    r.sizes = Some((3_100_000, 6_800_000));
    r.stages = vec![
        Stage {
            name: "extract".into(),
            status: Status::Pass,
            detail: "3.1 MB into a temporary database, integrity ok".into(),
        },
        Stage {
            name: "verify".into(),
            status: Status::Fail,
            detail: "4 checks, 1 failed".into(),
        },
    ];
    // typed findings whose data holds what every format must escape: `"`, `&`, `<`, `|`
    let system = |id| Scope {
        migration: Some("m".into()),
        system: Some(id),
        ..Scope::default()
    };
    let at = Time::new(1_762_336_800_000, 1000);
    let check = |id: &str, status: Status, scope: Scope, v: u64, found: Fact, ex: Vec<Example>| {
        let mut c = CheckResult::new(id, &format!("what {id} proves"), scope);
        c.status = status;
        c.violations = v;
        c.found = found;
        c.examples = ex;
        c
    };
    r.checks = vec![
        check(
            "row_counts",
            Status::Pass,
            system(1),
            0,
            Fact::count(1_440, Noun::Rows),
            vec![],
        ),
        check(
            "values",
            Status::Fail,
            Scope {
                point: Some(PointRef {
                    id: 1,
                    name: "solar_w".into(),
                }),
                ..system(2)
            },
            2,
            Fact::count(2, Noun::Differ),
            vec![
                Example::Differs {
                    at,
                    diffs: vec![Diff {
                        column: "solar_w".into(),
                        found: Value::Real(443.3),
                        expected: Value::Integer(443),
                    }],
                },
                Example::ShellRow {
                    row: "a|b <c>".into(),
                },
            ],
        ),
        check(
            "live_parity",
            Status::Warn,
            system(1),
            1,
            Fact::Parity {
                differ: 1,
                explained: vec![Explained {
                    cause: Cause::Seam,
                    n: 1,
                }],
            },
            vec![Example::LiveParity {
                at,
                live: Some(vec![("note".into(), Value::Text("\"on\" & <off>".into()))]),
                spec: None,
                why: Some(ParityWhy::Seam { held: 1, of: 5 }),
            }],
        ),
        check(
            "spot_checks",
            Status::Skip,
            Scope::migration("m"),
            0,
            Fixed::NoSourceRowsToSample.into(),
            vec![],
        ),
    ];
    r.checks[0].expected = Fact::count(1_440, Noun::Rows);
    r.checks[1].expected = Fact::count(1_438, Noun::MigratedRowsAsTheSpecSays);
    r.checks[2].expected = Fact::count(0, Noun::Differ);
    let mut ts = BTreeMap::new();
    ts.insert("stage:extract".to_string(), 0.25);
    ts.insert("stage:verify".to_string(), 1.5);
    ts.insert("total".to_string(), 1.75);
    r.timings = ts;
    let track = |system_id, gaps, seam| SystemTimeline {
        system_id,
        vendor_type: "selectronic".into(),
        source: (0..12).map(|b| if b == 5 { 0 } else { 10 }).collect(),
        migrated: (0..12)
            .map(|b| if b < 10 && b != 5 { 10 } else { 0 })
            .collect(),
        live: (0..12).map(|b| if b >= 10 { 10 } else { 0 }).collect(),
        gaps,
        seam,
    };
    r.timelines = vec![Timeline {
        migration: "readings_to_points".into(),
        per_second: 1000,
        start: 1_762_300_000_000,
        end: 1_762_408_379_000,
        buckets: 12,
        systems: vec![
            track(
                1,
                vec![(1_762_345_000_000, 1_762_354_000_000)],
                Some(1_762_390_000_000),
            ),
            track(2, vec![], None),
        ],
    }];
    r.finish();
    r
}

#[test]
fn every_format_renders_the_same_small_report() {
    let r = small_report();
    for (name, f) in [
        ("render-table", Format::Table),
        ("render-json", Format::Json),
        ("render-markdown", Format::Markdown),
        ("render-junit", Format::Junit),
        ("render-html", Format::Html),
    ] {
        crate::snapshot!(name, render(&r, f));
    }
    // the compact terminal view: failures and warnings with every example, no passing row
    let compact = preflight::report::renderer(Format::Table).render(
        &r,
        &preflight::report::RenderOptions {
            all: false,
            width: Some(80),
        },
    );
    crate::snapshot!("render-table-compact", &compact);
    assert!(
        compact.lines().all(|l| l.chars().count() <= 80),
        "{compact}"
    );
    assert!(!compact.contains("row_counts"), "{compact}");
    assert!(compact.contains("a|b <c>"), "{compact}");
}

/// A report of typed findings, as checks make them: counts, times, values, causes.
fn typed_report() -> Report {
    use preflight::report::{
        Cause, Diff, Edge, Explained, Fact, Fixed, Noun, PointRef, Scope, Time, Value,
    };
    let mut r = small_report();
    let at = Time::new(1_762_390_000_000, 1000);
    let point = Scope {
        migration: Some("readings_to_points".into()),
        system: Some(1),
        vendor: Some("selectronic".into()),
        point: Some(PointRef {
            id: 16,
            name: "fault_ts".into(),
        }),
        ..Scope::default()
    };
    let mut counts = CheckResult::new("row_counts", "rows per point", point.clone()).judged(
        2,
        Fact::count(1440, Noun::Rows),
        Fact::count(1438, Noun::Rows),
    );
    counts.examples = vec![
        Example::Missing { at },
        Example::Extra {
            at,
            raw: Value::Integer(1_762_390_000_000),
        },
    ];
    let mut values = CheckResult::new("values", "values as the spec says", point.clone()).judged(
        1,
        Fact::count(1438, Noun::MigratedRowsAsTheSpecSays),
        Fact::count(1, Noun::Differ),
    );
    values.examples = vec![Example::Differs {
        at,
        diffs: vec![Diff {
            column: "value".into(),
            found: Value::Integer(443),
            expected: Value::Real(443.3),
        }],
    }];
    let mut parity = CheckResult::new("live_parity", "live rows equal", point.clone()).judged(
        0,
        Fact::Window {
            rows: 158,
            of: preflight::report::WindowOf::SourceInstants,
            first: at,
            last: Time::new(1_762_399_480_000, 1000),
        },
        Fact::Parity {
            differ: 0,
            explained: vec![Explained {
                cause: Cause::Seam,
                n: 1,
            }],
        },
    );
    parity.status = Status::Warn;
    let mut coverage = CheckResult::new(
        "coverage",
        "first to last",
        Scope {
            point: None,
            ..point.clone()
        },
    )
    .judged(
        1,
        Fact::Span {
            first: Some(at),
            last: Some(at),
        },
        Fact::Coverage {
            first: None,
            last: Some(at),
            missing: 1,
            gaps: None,
        },
    );
    coverage.examples = vec![Example::Edge {
        edge: Edge::First,
        source: Some(at),
        target: None,
    }];
    let pages = CheckResult::new("schema.integrity", "pages", Scope::named("pages")).judged(
        0,
        Fixed::EveryPageUsedOnce,
        Fixed::Ok,
    );
    r.checks = vec![counts, values, parity, coverage, pages];
    r.finish();
    r
}

/// What every text format must print of [`typed_report`]: the phrasing module's words.
const TYPED_WORDS: &[&str] = &[
    "readings_to_points · system 1 · fault_ts (16)",
    "readings_to_points · system 1 (selectronic)",
    "1,440 rows",
    "1,438 rows",
    "missing: 2025-11-06T00:46:40Z",
    "extra: 2025-11-06T00:46:40Z (1762390000000)",
    "1,438 migrated rows as the spec says",
    "2025-11-06T00:46:40Z: value 443 (expected 443.3)",
    "158 source instants in 2025-11-06T00:46:40Z → 2025-11-06T03:24:40Z",
    "0 differ; explained: 1 seam rows: the live aggregator started inside the interval",
    "none → 2025-11-06T00:46:40Z, 1 instants missing",
    "first: source 2025-11-06T00:46:40Z, target none",
    "every page used once",
];

#[test]
fn typed_findings_read_the_same_in_every_text_format() {
    let r = typed_report();
    // the table: every check in one table (first examples), every failure and warning in full
    let table = render(&r, Format::Table)
        + &preflight::report::renderer(Format::Table).render(
            &r,
            &preflight::report::RenderOptions {
                all: false,
                width: None,
            },
        );
    for (f, out) in [
        ("table", table),
        ("markdown", render(&r, Format::Markdown)),
        ("html", render(&r, Format::Html)),
    ] {
        for w in TYPED_WORDS {
            assert!(out.contains(w), "{f} lacks {w:?}:\n{out}");
        }
    }
    // JUnit names every scope, and each failure's expected, found and examples
    let x = render(&r, Format::Junit);
    for w in [
        "readings_to_points · system 1 · fault_ts (16)",
        "expected 1,440 rows, found 1,438 rows (2 violations)",
        "missing: 2025-11-06T00:46:40Z",
        "2025-11-06T00:46:40Z: value 443 (expected 443.3)",
        "expected 2025-11-06T00:46:40Z → 2025-11-06T00:46:40Z, found none → 2025-11-06T00:46:40Z, 1 instants missing (1 violations)",
    ] {
        assert!(x.contains(w), "JUnit lacks {w:?}:\n{x}");
    }
    // the compact table groups nothing here: one block per failure and warning
    let compact = preflight::report::renderer(Format::Table).render(
        &r,
        &preflight::report::RenderOptions {
            all: false,
            width: None,
        },
    );
    assert!(compact.contains("  expected: 1,440 rows\n"), "{compact}");
    assert!(
        compact.contains("  found:    1,438 rows (2 violations)\n"),
        "{compact}"
    );
    assert!(!compact.contains("every page used once"), "{compact}");
}

#[test]
fn typed_findings_round_trip_through_json() {
    let r = typed_report();
    let json = render(&r, Format::Json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format_version"], 3);
    let c = &v["checks"][0];
    assert_eq!(c["scope"]["point"]["id"], 16);
    assert_eq!(c["expected"]["kind"], "counts");
    assert_eq!(c["found"]["counts"][0]["n"], 1438);
    assert_eq!(c["found"]["counts"][0]["of"], "rows");
    assert_eq!(c["examples"][0]["kind"], "missing");
    assert_eq!(c["examples"][0]["at"]["t"], 1_762_390_000_000_i64);
    assert_eq!(v["checks"][1]["examples"][0]["diffs"][0]["expected"], 443.3);
    assert_eq!(v["checks"][2]["found"]["explained"][0]["cause"], "seam");
    // the words, for readers of the JSON, are the table's
    assert_eq!(c["text"]["found"], "1,438 rows");
    assert_eq!(c["text"]["examples"][0], "missing: 2025-11-06T00:46:40Z");
    // read back: the same typed report (the words are a convenience, not read)
    let mut back: Report = serde_json::from_str(&json).unwrap();
    for c in &mut back.checks {
        assert!(c.text.take().is_some());
    }
    assert_eq!(back, r);
}

#[test]
fn json_report_is_the_model() {
    let r = small_report();
    let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
    assert_eq!(v["status"], "fail");
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["checks"][1]["violations"], 2);
    assert_eq!(
        v["timelines"][0]["systems"][0]["gaps"][0][1],
        1_762_354_000_000_i64
    );
}

#[test]
fn html_escapes_everything_it_is_given() {
    let html = render(&small_report(), Format::Html);
    assert!(html.contains("a|b &lt;c&gt;"), "examples are escaped");
    assert!(!html.contains("<c>"));
    assert!(!html.contains("<script"), "the page needs no script");
    assert!(
        !html.contains(" src=") && !html.contains(" href="),
        "nothing fetched"
    );
    assert_eq!(html.matches("<g class=\"track\"").count(), 2);
}

#[test]
fn the_compact_view_of_a_passing_rehearsal_fits_in_40_lines() {
    let r = run(&["rehearse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines = r.stdout.lines().count();
    assert!(lines <= 40, "{lines} lines:\n{}", r.stdout);
    assert!(r.stdout.contains("PASS: "), "{}", r.stdout);
    assert!(
        !r.stdout.contains("│ pass   ┆ values"),
        "no passing check is listed"
    );
    // --all lists every check
    let all = run(&["rehearse", "--all"]);
    assert_eq!(all.code, 0);
    assert!(all.stdout.lines().count() > 400, "{}", all.stdout);
}

#[test]
fn report_file_never_changes_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let plain = run(&["verify", s(&db)]);
    assert_eq!(plain.code, 0);
    // a .json report: the file is JSON, stdout the same compact table as without it
    let json = dir.path().join("r.json");
    let r = run(&["verify", s(&db), "--report", s(&json)]);
    assert_eq!(r.code, 0);
    assert_eq!(strip_seconds(&r.stdout), strip_seconds(&plain.stdout));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["command"], "verify");
    // --format markdown on stdout with a .json report: each gets its own format
    let r = run(&[
        "verify",
        s(&db),
        "--format",
        "markdown",
        "--report",
        s(&json),
    ]);
    assert!(r.stdout.starts_with("# preflight"), "{}", r.stdout);
    serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&json).unwrap())
        .expect("the .json report stays JSON");
    // --report-format overrides the extension
    let txt = dir.path().join("r.out");
    let r = run(&[
        "verify",
        s(&db),
        "--report",
        s(&txt),
        "--report-format",
        "junit",
    ]);
    assert_eq!(r.code, 0);
    assert!(
        std::fs::read_to_string(&txt).unwrap().starts_with("<?xml"),
        "junit by --report-format"
    );
}

/// Output with the timing columns and the total time blanked, for comparing two runs.
fn strip_seconds(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = match l.rfind("; ") {
                Some(i) if l.ends_with(" s") => &l[..i],
                _ => l,
            };
            l.rsplit_once('┆')
                .filter(|(_, tail)| {
                    tail.trim()
                        .trim_end_matches('│')
                        .trim()
                        .parse::<f64>()
                        .is_ok()
                })
                .map_or(l.to_string(), |(head, _)| head.to_string())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the browser saw (tests/browser/check-report.cjs).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Seen {
    console_errors: Vec<String>,
    requests: Vec<String>,
    title: String,
    verdict: String,
    scripts: u32,
    timelines: Vec<SeenTimeline>,
    failures: Vec<String>,
    filters: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, serde::Deserialize)]
struct SeenTimeline {
    migration: String,
    tracks: Vec<i64>,
}

/// node_modules with playwright-core, installed by scripts/install-browser.sh.
fn browser_modules() -> PathBuf {
    let dir = std::env::var_os("PREFLIGHT_BROWSER_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo(".tools/browser/node_modules"));
    assert!(
        dir.join("playwright-core").is_dir(),
        "no playwright-core under {}: run scripts/test.sh, which installs it and Chromium",
        dir.display()
    );
    dir
}

#[test]
fn html_report_opens_in_a_real_browser() {
    let modules = browser_modules();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let original = repo("specs/liveone-original.toml");
    let r = run(&["rehearse", "--spec", s(&original), "--report", s(&html)]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let png = dir.path().join("report.png");
    let out = Command::new("node")
        .arg(repo("tests/browser/check-report.cjs"))
        .arg(&modules)
        .arg(&html)
        .arg(&png)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Seen = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen.console_errors, Vec::<String>::new());
    assert_eq!(seen.requests, Vec::<String>::new(), "self-contained");
    assert_eq!(seen.scripts, 0, "readable without JavaScript");
    assert_eq!(seen.title, "preflight 0.1.0 rehearse: FAIL");
    assert_eq!(seen.verdict, "FAIL");
    // one track per system with source rows, as the fixture itself has them
    let fixture = small_fixture_db(dir.path());
    let conn = Connection::open(&fixture).unwrap();
    let systems = |sql: &str| -> Vec<i64> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let raw = systems("SELECT DISTINCT system_id FROM readings ORDER BY 1");
    let tl = |m: &str| {
        seen.timelines
            .iter()
            .find(|t| t.migration == m)
            .unwrap_or_else(|| panic!("no timeline for {m}: {seen:?}"))
    };
    assert_eq!(tl("readings_to_points").tracks, raw);
    assert!(!tl("agg5m_to_points").tracks.is_empty());
    // every failed check is listed, and the "failed" filter shows exactly those rows
    let report_json = {
        let json = dir.path().join("report.json");
        let r = run(&["rehearse", "--spec", s(&original), "--report", s(&json)]);
        assert_eq!(r.code, 1);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        v
    };
    let failed: Vec<String> = report_json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect();
    assert!(!failed.is_empty());
    assert_eq!(seen.failures, failed);
    assert_eq!(seen.filters["fail"].len(), failed.len());
    assert!(seen.filters["fail"].iter().all(|c| c == "fail"));
    assert!(seen.filters["pass"].iter().all(|c| c == "pass"));
    assert_eq!(
        seen.filters["all"].len(),
        report_json["checks"].as_array().unwrap().len()
    );
    let shot = std::fs::metadata(&png).expect("a screenshot").len();
    assert!(shot > 20_000, "screenshot of {shot} bytes");
}

/// `--format json` of a command, parsed into its typed model and written again: the same JSON.
/// The checks of a report read back from its JSON whose words (the JSON's `text`) are not
/// what the phrasing makes of their typed findings alone.
fn untyped(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| {
            let t = c
                .text
                .as_ref()
                .expect("the JSON carries each check's words");
            t.scope != c.scope_text()
                || t.expected != c.expected_text()
                || t.found != c.found_text()
                || t.examples != c.example_texts()
        })
        .map(|c| format!("{} {}", c.check, c.scope_text()))
        .collect()
}

/// The kinds of finding each SQL hazard (and sql.scope) reports, by check.
const HAZARD_KINDS: &[(&str, &[&str])] = &[
    ("sql.collateral", &["collateral"]),
    ("sql.vanished", &["vanished"]),
    ("sql.broken", &["no_longer_compiles"]),
    (
        "sql.references",
        &["dangling_reference", "repointed", "rewritten"],
    ),
    ("sql.sequence", &["counter_down"]),
    ("sql.constraints", &["constraints_lost"]),
    ("sql.layout", &["layout"]),
    ("sql.composite_key", &["composite_key"]),
    ("sql.key_spread", &["key_spread"]),
    ("sql.scope", &["table_changed"]),
];

/// The hazards (and sql.scope results) of a SQL rehearsal whose finding is not of its own
/// typed kind: a hazard that passes finds `none`, one that is allowed wraps its finding.
fn untyped_hazards(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for c in &r.checks {
        let Some((_, kinds)) = HAZARD_KINDS.iter().find(|(id, _)| *id == c.check) else {
            continue;
        };
        let v = serde_json::to_value(&c.found).unwrap();
        let found = match v["kind"].as_str() {
            Some("allowed") => &v["found"],
            _ => &v,
        };
        let kind = found["kind"].as_str().unwrap_or_default();
        let passed = c.check != "sql.scope"
            && c.status == Status::Pass
            && kind == "fixed"
            && found["what"] == "none";
        if !passed && !kinds.contains(&kind) {
            out.push(format!("{} {}: {kind}", c.check, c.scope_text()));
        }
    }
    out
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(args: &[&str], code: i32) -> T {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--format", "json"]);
    let r = run(&all);
    assert_eq!(r.code, code, "{args:?}: {}{}", r.stdout, r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", r.stdout));
    assert_eq!(v["format_version"], 3, "{args:?}");
    let model: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert_eq!(serde_json::to_value(&model).unwrap(), v, "{args:?}");
    model
}

#[test]
fn every_command_speaks_every_format_and_its_json_round_trips() {
    use preflight::report::Envelope;
    use preflight::views::*;
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let db = p("live.db");
    let f: Envelope<FixtureView> = round_trip(
        &["fixture", "--scale", "0.01", "--seed", "3", "--out", s(&db)],
        0,
    );
    assert_eq!((f.command.as_str(), f.result.seed), ("fixture", 3));
    assert!(f.result.bytes > 100_000);
    let b: Envelope<BackupView> = round_trip(&["backup", s(&db), "--out", s(&p("backups"))], 0);
    assert!(b.result.manifest.tables["point_info"] > 0);
    let backup = b.result.backup.clone();
    let e: Envelope<ExtractView> = round_trip(&["extract", s(&backup)], 0);
    assert!(e.result.temporary && e.result.integrity_ok);
    assert_eq!(e.result.tables, b.result.manifest.tables);
    let copy = p("copy.db");
    let e: Envelope<ExtractView> = round_trip(&["extract", s(&backup), "--out", s(&copy)], 0);
    assert!(!e.result.temporary);
    let m: Envelope<MigrateView> = round_trip(&["migrate", s(&copy), "--dry-run"], 0);
    assert!(m.result.dry_run);
    let would: u64 = m.result.results.iter().map(|r| r.inserted).sum();
    assert!(would > 0);
    let m: Envelope<MigrateView> =
        round_trip(&["migrate", s(&copy), "--migration", "agg5m_to_points"], 0);
    assert!(
        m.result
            .results
            .iter()
            .all(|r| r.migration == "agg5m_to_points")
    );
    let inserted: u64 = m.result.results.iter().map(|r| r.inserted).sum();
    let rb: Envelope<RollbackView> = round_trip(&["rollback", s(&copy)], 0);
    assert_eq!(rb.result.migrations[0].rows_deleted, inserted);
    let script = p("touch.sql");
    std::fs::write(&script, "UPDATE systems SET display_name = display_name || '!' WHERE id = 1;\nSELECT count(*) FROM systems;\n").unwrap();
    let a: Envelope<ApplyView> = round_trip(&["apply", s(&copy), "--sql", s(&script)], 0);
    assert_eq!(a.result.tables_changed[0].table, "systems");
    assert_eq!(a.result.outputs.len(), 1);
    let d: Envelope<DiffView> = round_trip(&["diff", s(&db), s(&copy)], 1);
    assert_eq!(d.status, preflight::report::Status::Fail);
    assert!(!d.result.identical);
    let same: Envelope<DiffView> = round_trip(&["diff", s(&db), s(&backup)], 0);
    assert!(same.result.identical);
    let fp: Envelope<FingerprintView> = round_trip(&["fingerprint", s(&db)], 0);
    assert_eq!(fp.result.database.len(), 64);
    let sp: Envelope<SpecView> = round_trip(&["spec", "show"], 0);
    assert_eq!(sp.result.spec.name, "liveone-points");
    let sim: Envelope<SimulateView> = round_trip(
        &[
            "simulate-live",
            s(&copy),
            "--count",
            "2",
            "--interval-ms",
            "1",
        ],
        0,
    );
    assert_eq!(sim.result.readings, 2);
    // status: a database that has applied the first migration of a dbmate directory
    let migrations = repo("fixtures/migrations/dbmate/db/migrations");
    let blog = p("blog.db");
    rusqlite::Connection::open(&blog).unwrap();
    let st: Envelope<preflight::migrations::Status> = round_trip(
        &[
            "status",
            s(&blog),
            "--migrations",
            s(&migrations),
            "--tool",
            "dbmate",
        ],
        1,
    );
    assert!(
        st.result
            .entries
            .iter()
            .all(|e| e.state.as_str() == "pending")
    );
    let v: Report = round_trip(&["verify", s(&copy), "--no-spec"], 0);
    assert_eq!(v.command, "verify");
    let r: Report = round_trip(&["rehearse"], 0);
    assert_eq!(r.command, "rehearse");
    // a failing rehearsal: every kind of finding the original mapping gets reads back typed
    let original = repo("specs/liveone-original.toml");
    let o: Report = round_trip(&["rehearse", "--spec", s(&original)], 1);
    assert!(
        o.checks
            .iter()
            .any(|c| c.status == preflight::report::Status::Fail
                && matches!(c.found, preflight::report::Fact::Counts { .. }))
    );
    assert_eq!(
        untyped(&o),
        Vec::<String>::new(),
        "the words of a spec rehearsal are made of its typed findings"
    );
    // SQL rehearsals, failing and passing, and one of each hazard: every finding typed
    let pm = "fixtures/sql/point-metadata";
    let now = ["--now", "2025-08-30T11:30:00Z"];
    let fails: Report = round_trip(
        &[
            &["rehearse", "--sql", &format!("{pm}/forward.sql")][..],
            &now,
        ]
        .concat(),
        1,
    );
    let expect = format!("{pm}/expect.toml");
    let (fixed, rollback) = (
        format!("{pm}/forward-fixed.sql"),
        format!("{pm}/rollback.sql"),
    );
    let passes: Report = round_trip(
        &[
            &[
                "rehearse",
                "--sql",
                &fixed,
                "--rollback",
                &rollback,
                "--expect",
                &expect,
            ][..],
            &now,
        ]
        .concat(),
        0,
    );
    for (r, ids) in [
        (&fails, &["sql.forward", "sql.rerun"][..]),
        (
            &passes,
            &[
                "sql.forward",
                "sql.rerun",
                "sql.rollback",
                "sql.redeploy",
                "expect.query",
            ][..],
        ),
    ] {
        for id in ids {
            assert!(r.checks.iter().any(|c| c.check == *id), "{id}");
        }
        assert_eq!(untyped(r), Vec::<String>::new());
        assert_eq!(untyped_hazards(r), Vec::<String>::new());
    }
    let blog = p("blog-hazards.db");
    Connection::open(&blog)
        .unwrap()
        .execute_batch(&std::fs::read_to_string(repo("fixtures/sql/blog/blog.sql")).unwrap())
        .unwrap();
    let mut failed: Vec<String> = Vec::new();
    for script in [
        "blog-cascade-wipe",
        "blog-forgets-index-and-trigger",
        "blog-breaks-view",
        "blog-rename-to-backup",
        "blog-sequence-reset",
        "blog-loses-constraints",
        "blog-reorders-tags",
        "liveone-agg-energy",
    ] {
        let sql = format!("fixtures/sql/hazards/{script}.sql");
        let args = if script.starts_with("blog") {
            vec!["rehearse", s(&blog), "--sql", &sql]
        } else {
            vec!["rehearse", "--sql", &sql, "--now", "2025-08-30T11:30:00Z"]
        };
        let r: Report = round_trip(&args, 1);
        assert_eq!(untyped(&r), Vec::<String>::new(), "{script}");
        assert_eq!(untyped_hazards(&r), Vec::<String>::new(), "{script}");
        assert!(r.checks.iter().any(|c| c.check == "sql.scope"), "{script}");
        failed.extend(
            r.checks
                .iter()
                .filter(|c| c.status == Status::Fail && c.check.starts_with("sql."))
                .map(|c| c.check.clone()),
        );
    }
    for (id, _, _) in preflight::hazards::HAZARDS {
        assert!(failed.iter().any(|f| f == id), "no fixture fails {id}");
    }
    // every other format of every command is well formed
    for args in [
        vec!["fingerprint", s(&db)],
        vec!["spec", "show"],
        vec!["diff", s(&db), s(&backup)],
        vec!["extract", s(&backup)],
    ] {
        for (format, starts) in [
            ("table", ""),
            ("markdown", "# preflight"),
            ("junit", "<?xml"),
            ("html", "<!DOCTYPE html>"),
        ] {
            let mut all = args.clone();
            all.extend(["--format", format]);
            let r = run(&all);
            assert_eq!(r.code, 0, "{all:?}: {}", r.stderr);
            assert!(r.stdout.starts_with(starts), "{all:?}: {}", r.stdout);
            if format == "html" {
                assert!(r.stdout.trim_end().ends_with("</html>"));
            }
        }
    }
}
