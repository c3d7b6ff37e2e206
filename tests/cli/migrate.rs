//! `preflight migrate` and `preflight rollback`: the engine against an independent reference,
//! idempotency, resume after SIGKILL, dry run, exact undo, live traffic, spec validation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use preflight::db::{Access, local::LocalDb};
use preflight::migrate::{self, Options};
use preflight::spec::LoadedSpec;
use preflight::spec::validate::{self, Scope};
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::common::*;

/// A copy of the bundled fixture at `dir/name`.
fn fixture_copy(dir: &Path, name: &str) -> PathBuf {
    let db = dir.join(name);
    gunzip(&small_fixture_gz(), &db);
    db
}

/// Target tables as sets of rows keyed by (system, point, time), without rowids; the progress
/// table without its wall-clock column.
fn migrated_content(conn: &Connection) -> Vec<Vec<Vec<Value>>> {
    vec![
        rows(
            conn,
            "SELECT system_id, point_id, measurement_time, received_time, value, value_str, data_quality, session_id, error FROM point_readings ORDER BY 1, 2, 3",
        ),
        rows(
            conn,
            "SELECT system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at, session_id FROM point_readings_agg_5m ORDER BY 1, 2, 3",
        ),
    ]
}

fn engine_migrate(
    db: &Path,
    spec: &LoadedSpec,
    scope: &Scope,
    batch_size: u64,
) -> Vec<migrate::SystemResult> {
    let local = LocalDb::open(db, Access::Write).unwrap();
    let plan = validate::plan(spec, &local, scope).unwrap();
    migrate::engine::run(
        &local,
        &plan,
        &Options {
            batch_size,
            from_start: false,
        },
        &mut |_| {},
    )
    .unwrap()
}

/// A random small LiveOne-shaped database: NULLs, gaps, dual-written keys, missing points.
#[derive(Debug, Clone)]
struct Shape {
    /// per raw system: (minute offsets, NULL mask seeds)
    readings: Vec<(i64, Vec<(u16, u32)>)>,
    agg: Vec<(i64, Vec<(u16, u32)>)>,
    /// (system, catalogue index) points removed from point_info
    missing: Vec<(i64, usize)>,
    /// dual-written keys: (reading index, point choice, value tweak)
    live: Vec<(usize, usize, i8)>,
}

fn shape() -> impl Strategy<Value = Shape> {
    let series = |n| proptest::collection::vec((1u16..40, any::<u32>()), 0..n);
    (
        series(40),
        series(40),
        series(30),
        series(25),
        series(25),
        series(20),
        series(20),
        proptest::collection::vec(
            (
                prop_oneof![Just(1i64), Just(2), Just(5), Just(3)],
                0usize..16,
            ),
            0..4,
        ),
        proptest::collection::vec((0usize..40, 0usize..16, -1i8..=1), 0..30),
    )
        .prop_map(|(r1, r2, r5, a1, a2, a3, a5, missing, live)| Shape {
            readings: vec![(1, r1), (2, r2), (5, r5)],
            agg: vec![(1, a1), (2, a2), (3, a3), (5, a5)],
            missing,
            live,
        })
}

fn opt<T>(bits: u32, k: u32, v: T) -> Option<T> {
    (bits >> (k % 32) & 1 == 0).then_some(v)
}

fn build(path: &Path, s: &Shape) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(&preflight::fixture::schema_statements())
        .unwrap();
    c.execute_batch("BEGIN").unwrap();
    for (id, vendor) in [
        (1, "selectronic"),
        (2, "selectronic"),
        (3, "enphase"),
        (5, "fronius"),
        (6, "mondo"),
    ] {
        c.execute(
            "INSERT INTO systems (id, vendor_type, vendor_site_id, display_name, created_at, updated_at) VALUES (?1, ?2, ?1, ?2, 0, 0)",
            rusqlite::params![id, vendor],
        )
        .unwrap();
    }
    let catalog = preflight::fixture::catalog();
    for (k, p) in catalog.iter().enumerate() {
        let index_in_system = catalog[..k]
            .iter()
            .filter(|q| q.system_id == p.system_id)
            .count();
        if s.missing.contains(&(p.system_id, index_in_system)) {
            continue;
        }
        c.execute(
            "INSERT INTO point_info (system_id, id, origin_id, origin_sub_id, point_name, display_name, short_name, metric_type, metric_unit) VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?5, ?6, ?7)",
            rusqlite::params![p.system_id, p.id, p.origin_id, p.origin_sub_id, format!("p{}", p.id), p.metric_type, p.metric_unit],
        )
        .unwrap();
    }
    let mut readings: Vec<(i64, i64)> = Vec::new();
    for (system, series) in &s.readings {
        let mut t = 1_762_000_000 + system * 7;
        for (k, (gap, bits)) in series.iter().enumerate() {
            t += 60 * *gap as i64;
            let b = *bits;
            let kwh = |n: u32| {
                opt(
                    b,
                    n,
                    1000.0 + ((b >> 3) % 5000) as f64 / 1000.0 + n as f64 * 0.026,
                )
            };
            let fault = if b % 7 == 0 { "E021" } else { "0" };
            c.execute(
                "INSERT INTO readings (system_id, inverter_time, received_time, solar_w, solar_local_w, solar_remote_w, load_w, battery_w, grid_w, battery_soc, fault_code, fault_timestamp, generator_status, solar_wh_interval, load_wh_interval, battery_in_wh_interval, battery_out_wh_interval, grid_in_wh_interval, grid_out_wh_interval, solar_kwh_total, load_kwh_total, battery_in_kwh_total, battery_out_kwh_total, grid_in_kwh_total, grid_out_kwh_total, created_at, sequence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?3, ?26)",
                rusqlite::params![
                    system, t, t + 3,
                    opt(b, 1, (b % 9000) as i64), opt(b, 2, (b % 5000) as i64), opt(b, 3, (b % 4000) as i64),
                    opt(b, 4, (b % 3000) as i64), opt(b, 5, (b % 2000) as i64 - 1000), opt(b, 6, (b % 700) as i64 - 350),
                    opt(b, 7, ((b % 1000) as f64) / 10.0),
                    opt(b, 8, fault.to_string()), opt(b, 8, if fault == "0" { 0 } else { t - 300 }),
                    (b % 5 == 0).then_some(1),
                    opt(b, 9, (b % 90) as i64), opt(b, 10, (b % 80) as i64), opt(b, 11, (b % 70) as i64),
                    opt(b, 12, (b % 60) as i64), opt(b, 13, (b % 50) as i64), opt(b, 14, (b % 40) as i64),
                    kwh(15), kwh(16), kwh(17), kwh(18), kwh(19), kwh(20),
                    format!("seq-{k}")
                ],
            )
            .unwrap();
            readings.push((*system, t));
        }
    }
    for (system, series) in &s.agg {
        let mut t = 1_762_000_200;
        for (gap, bits) in series {
            t += 300 * *gap as i64;
            let b = *bits;
            let w = |n: u32, m: u32| opt(b, n, (b % m) as i64);
            c.execute(
                "INSERT INTO readings_agg_5m (system_id, interval_end, solar_w_avg, solar_w_min, solar_w_max, solar_interval_wh, load_w_avg, load_w_min, load_w_max, battery_w_avg, battery_w_min, battery_w_max, grid_w_avg, grid_w_min, grid_w_max, battery_soc_last, solar_kwh_total_last, load_kwh_total_last, battery_in_kwh_total_last, battery_out_kwh_total_last, grid_in_kwh_total_last, grid_out_kwh_total_last, sample_count, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, 5, ?2 + 30)",
                rusqlite::params![
                    system, t,
                    w(1, 9000), w(2, 8000), w(3, 9999), w(4, 700),
                    w(5, 3000), w(6, 2000), w(7, 4000), w(8, 2000), w(9, 1000), w(10, 3000),
                    w(11, 500), w(12, 400), w(13, 600),
                    opt(b, 14, ((b % 1000) as f64) / 10.0),
                    opt(b, 15, 2000.026), opt(b, 16, 1204.88), opt(b, 17, 3.5), opt(b, 18, 32768.026), opt(b, 19, 0.001), opt(b, 20, 77.7)
                ],
            )
            .unwrap();
        }
    }
    // live rows the app already wrote for some keys (values may even disagree: they must be kept)
    for (ri, point, tweak) in &s.live {
        let Some((system, t)) = readings.get(*ri) else {
            continue;
        };
        let ids: Vec<i64> = catalog
            .iter()
            .filter(|p| p.system_id == *system)
            .map(|p| p.id)
            .collect();
        let pid = ids[point % ids.len()];
        c.execute(
            "INSERT OR IGNORE INTO point_readings (system_id, point_id, session_id, measurement_time, received_time, value, data_quality) SELECT ?1, ?2, 99, ?3 * 1000, ?3 * 1000 + 5, 1000 + ?4, 'good' WHERE EXISTS (SELECT 1 FROM point_info WHERE system_id = ?1 AND id = ?2)",
            rusqlite::params![system, pid, t, *tweak as i64],
        )
        .unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// The engine leaves exactly what the plain row-by-row reference leaves, in any batch size.
    #[test]
    fn engine_equals_row_by_row_reference(shape in shape(), batch in 1u64..25) {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("engine.db");
        let b = dir.path().join("reference.db");
        build(&a, &shape);
        std::fs::copy(&a, &b).unwrap();
        let spec = LoadedSpec::builtin();
        let scope = Scope { allow_missing_points: true, ..Scope::default() };
        let results = engine_migrate(&a, &spec, &scope, batch);
        let rb = Connection::open(&b).unwrap();
        let made = crate::common::reference::migrate(&rb, &spec.spec);
        let carried: std::collections::BTreeMap<(String, i64), u64> = results
            .iter()
            .filter(|r| r.carried > 0)
            .map(|r| ((r.migration.clone(), r.system_id), r.carried))
            .collect();
        prop_assert_eq!(carried, made, "rows the spec makes, per migration and system");
        let ra = Connection::open(&a).unwrap();
        prop_assert_eq!(migrated_content(&ra), migrated_content(&rb));
        // progress: a row per migrated system, newest source time and rows migrated
        if !results.iter().all(|r| r.source_rows == 0) {
            prop_assert_eq!(
                rows(&ra, "SELECT migration_name, system_id, last_migrated_timestamp, rows_migrated FROM migration_progress ORDER BY 1, 2"),
                rows(&rb, "SELECT migration_name, system_id, last_migrated_timestamp, rows_migrated FROM reference_progress ORDER BY 1, 2")
            );
        }
        // the journal accounts for every inserted row
        let inserted: u64 = results.iter().map(|r| r.inserted).sum();
        let journaled = if inserted > 0 { scalar(&ra, "SELECT CAST(total(inserted) AS INTEGER) FROM preflight_journal") as u64 } else { 0 };
        prop_assert_eq!(inserted, journaled);
        // and a second run inserts nothing and changes nothing
        let before = dump_conn(&ra);
        let again = engine_migrate(&a, &spec, &scope, batch);
        prop_assert_eq!(again.iter().map(|r| r.inserted).sum::<u64>(), 0);
        prop_assert!(first_difference(&dump_conn(&ra), &before).is_none(), "{:?}", first_difference(&dump_conn(&ra), &before));
    }
}

#[test]
fn second_run_inserts_nothing_even_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let r = run(&["migrate", s(&db), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let before = dump(&db);
    for extra in [&[][..], &["--from-start"][..]] {
        let mut args = vec!["migrate", s(&db), "--yes"];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{r:?}");
        let total = r.stdout.lines().find(|l| l.contains("total")).unwrap();
        assert!(
            total.split('┆').nth(5).unwrap().trim() == "0",
            "{}",
            r.stdout
        );
        assert_same(
            &dump(&db),
            &before,
            &format!("a second run ({extra:?}) changed the database"),
        );
    }
}

/// Killed (SIGKILL) after a random number of batches, or mid-batch, then started again: the
/// same content as an uninterrupted run.
#[test]
fn resume_after_sigkill_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = fixture_copy(dir.path(), "whole.db");
    let r = run(&["migrate", s(&whole), "--yes", "--batch-size", "40"]);
    assert_eq!(r.code, 0, "{r:?}");
    let expected = content_without_clocks(&whole);
    let mut rng_state = 0x9E37_79B9_7F4A_7C15u64;
    let mut interrupted = 0;
    for round in 0..3 {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let kill_after = 1 + (rng_state % 60) as usize;
        let db = fixture_copy(dir.path(), &format!("killed{round}.db"));
        let log = dir.path().join(format!("killed{round}.log"));
        interrupted += migrate_and_kill(s(&db), &log, kill_after) as usize;
        let r = run(&["migrate", s(&db), "--yes", "--batch-size", "40"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_same(
            &content_without_clocks(&db),
            &expected,
            &format!("killed after {kill_after} batches"),
        );
    }
    assert!(interrupted > 0, "no run was killed before it finished");
}

#[test]
fn dry_run_leaves_the_file_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let before = std::fs::read(&db).unwrap();
    let r = run(&["migrate", s(&db), "--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("would insert") && r.stdout.contains("nothing written"),
        "{}",
        r.stdout
    );
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("readings_to_points") && l.contains("1 (selectronic)"))
        .unwrap();
    assert!(line.contains("10,601"), "{line}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "no journal or other file appeared: {names:?}"
    );
}

#[test]
fn migrate_then_rollback_restores_the_exact_prior_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let before = dump(&db);
    assert_eq!(
        run(&["migrate", s(&db), "--yes", "--batch-size", "300"]).code,
        0
    );
    assert_ne!(dump(&db), before);
    let r = run(&["rollback", s(&db), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("readings_to_points") && r.stdout.contains("agg5m_to_points"),
        "{}",
        r.stdout
    );
    assert_same(
        &dump(&db),
        &before,
        "schema, every table and sqlite_sequence as before",
    );
    let r = run(&[
        "rollback",
        s(&db),
        "--yes",
        "--migration",
        "readings_to_points",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nothing to roll back"), "{}", r.stderr);
}

/// A rollback whose journal no longer matches the rows (one was deleted by hand since) refuses,
/// and deletes nothing at all; a database preflight never migrated has nothing to roll back.
#[test]
fn rollback_refuses_when_the_rows_no_longer_match_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = fixture_copy(dir.path(), "fresh.db");
    let r = run(&["rollback", s(&fresh), "--yes"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nothing to roll back"), "{}", r.stderr);
    let db = fixture_copy(dir.path(), "x.db");
    assert_eq!(run(&["migrate", s(&db), "--yes"]).code, 0);
    let conn = Connection::open(&db).unwrap();
    let newest = scalar(&conn, "SELECT max(id) FROM point_readings");
    conn.execute("DELETE FROM point_readings WHERE id = ?1", [newest])
        .unwrap();
    drop(conn);
    let before = dump(&db);
    let r = run(&["rollback", s(&db), "--yes"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("nothing was deleted") && r.stderr.contains("point_readings"),
        "{}",
        r.stderr
    );
    assert_same(&dump(&db), &before, "a refused rollback");
}

/// Rows the live app writes after the migration survive the rollback; only preflight's go.
#[test]
fn rollback_keeps_live_rows_written_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture_copy(dir.path(), "a.db");
    let b = fixture_copy(dir.path(), "b.db");
    assert_eq!(run(&["migrate", s(&a), "--yes"]).code, 0);
    for db in [&a, &b] {
        let r = run(&[
            "simulate-live",
            "--yes",
            s(db),
            "--system",
            "1",
            "--interval-ms",
            "0",
            "--count",
            "25",
        ]);
        assert_eq!(r.code, 0, "{r:?}");
    }
    for m in ["agg5m_to_points", "readings_to_agg5m"] {
        assert_eq!(run(&["rollback", s(&a), "--yes", "--migration", m]).code, 0);
    }
    assert_eq!(
        run(&[
            "rollback",
            s(&a),
            "--yes",
            "--migration",
            "readings_to_points"
        ])
        .code,
        0
    );
    // a = fixture + live writes after the migration, rolled back; b = fixture + the same writes
    let keyed = |db: &Path| {
        let c = Connection::open(db).unwrap();
        let mut d = dump_conn(&c);
        d.insert(
            "point_readings".into(),
            rows(&c, "SELECT system_id, point_id, session_id, measurement_time, received_time, value, error, data_quality, value_str FROM point_readings ORDER BY system_id, point_id, measurement_time"),
        );
        d.insert(
            "sqlite_sequence".into(),
            rows(
                &c,
                "SELECT * FROM sqlite_sequence WHERE name != 'point_readings' ORDER BY name",
            ),
        );
        d
    };
    assert_same(&keyed(&a), &keyed(&b), "rolled back with live rows");
    let c = Connection::open(&a).unwrap();
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM sessions WHERE system_name = 'simulated'"
        ),
        25
    );
}

/// A second process writes a reading and its point rows every 100 ms while the migration runs:
/// neither fails with SQLITE_BUSY, and every live row is there afterwards.
#[test]
fn live_traffic_keeps_working_during_a_migration() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    assert_eq!(
        run(&["fixture", "--scale", "0.08", "--out", s(&db)]).code,
        0
    );
    let writer = preflight()
        .args([
            "simulate-live",
            "--yes",
            s(&db),
            "--system",
            "2",
            "--interval-ms",
            "100",
            "--count",
            "30",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    let r = run(&["migrate", s(&db), "--yes", "--batch-size", "400"]);
    let w = writer.wait_with_output().unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        w.status.success(),
        "live writer failed: {}",
        String::from_utf8_lossy(&w.stderr)
    );
    assert!(
        !r.stderr.contains("locked") && !r.stderr.contains("busy"),
        "{}",
        r.stderr
    );
    let c = Connection::open(&db).unwrap();
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM sessions WHERE system_name = 'simulated'"
        ),
        30
    );
    assert_eq!(
        scalar(
            &c,
            "SELECT sum(num_rows) FROM sessions WHERE system_name = 'simulated'"
        ),
        scalar(
            &c,
            "SELECT count(*) FROM point_readings WHERE session_id IN (SELECT id FROM sessions WHERE system_name = 'simulated')"
        )
    );
    assert!(
        scalar(
            &c,
            "SELECT count(*) FROM point_readings WHERE session_id IS NULL"
        ) > 100_000,
        "the migration ran"
    );
}

#[test]
fn writes_need_confirmation_but_rehearsal_copies_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "prod.db");
    let before = std::fs::read(&db).unwrap();
    let r = run(&["migrate", s(&db)]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "preflight: refusing to write to {} without confirmation: pass --yes, or run on a terminal and type YES",
            db.display()
        )
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "nothing written before confirmation"
    );
    let copy = dir.path().join("copy.db");
    assert_eq!(
        run(&["extract", s(&small_fixture_gz()), "--out", s(&copy)]).code,
        0
    );
    let r = run(&["migrate", s(&copy)]);
    assert_eq!(r.code, 0, "a rehearsal copy needs no confirmation: {r:?}");
    assert_eq!(run(&["rollback", s(&copy)]).code, 0);
}

#[test]
fn progress_table_keeps_the_seed_queries_working() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    assert_eq!(run(&["migrate", s(&db), "--yes"]).code, 0);
    let c = Connection::open(&db).unwrap();
    // the seed's post-migration query
    let got = rows(
        &c,
        "SELECT migration_name, system_id, rows_migrated, datetime(last_migrated_timestamp, 'unixepoch') AS last_migrated FROM migration_progress ORDER BY migration_name, system_id",
    );
    let expect = rows(
        &c,
        "SELECT 'agg5m_to_points', system_id, count(*), datetime(max(interval_end), 'unixepoch') FROM readings_agg_5m GROUP BY system_id
         UNION ALL SELECT 'readings_to_agg5m', system_id, count(*), datetime((max(inverter_time) + 299) / 300 * 300, 'unixepoch') FROM readings GROUP BY system_id
         UNION ALL SELECT 'readings_to_points', system_id, count(*), datetime(max(inverter_time), 'unixepoch') FROM readings GROUP BY system_id ORDER BY 1, 2",
    );
    assert_eq!(got, expect);
}

fn write_spec(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Each validation error names the spec file, vendor, column and point, and nothing is written.
#[test]
fn spec_validation_errors_are_precise_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let before = std::fs::read(&db).unwrap();
    let builtin = preflight::spec::BUILTIN_TOML;
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "renamed-column.toml",
            builtin.replacen(
                "source = \"solar_remote_w\"",
                "source = \"solar_inverter_w\"",
                1,
            ),
            vec![
                "renamed-column.toml",
                "vendor selectronic",
                "point solarinverter_w",
                "readings.solar_inverter_w",
                "does not exist",
            ],
        ),
        (
            "injection.toml",
            builtin.replacen(
                "source = \"load_w\"",
                "source = \"load_w\\\" FROM readings; DROP TABLE systems; --\"",
                1,
            ),
            vec!["injection.toml", "point load_w", "does not exist"],
        ),
        (
            "missing-point.toml",
            builtin.replacen("point = \"grid_w\"", "point = \"grid_watts\"", 1),
            vec![
                "missing-point.toml",
                "missing from point_info",
                "system 1 (selectronic): point grid_watts",
                "system 2 (selectronic): point grid_watts",
                "--allow-missing-points",
            ],
        ),
        (
            "unknown-field.toml",
            builtin.replacen(
                "multiply = 1000, round = 0",
                "multiply = 1000, rounding = 0",
                1,
            ),
            vec!["unknown-field.toml", "rounding"],
        ),
        (
            "wrong-field.toml",
            builtin.replacen(
                "{ point = \"load_w\", value =",
                "{ point = \"load_w\", avg =",
                1,
            ),
            vec![
                "wrong-field.toml",
                "point load_w",
                "field avg is not one of",
            ],
        ),
        (
            "no-unique-key.toml",
            builtin.replacen(
                "point_column = \"point_id\"",
                "point_column = \"session_id\"",
                1,
            ),
            vec!["no-unique-key.toml", "no UNIQUE key"],
        ),
    ];
    for (name, text, needles) in cases {
        let spec = write_spec(dir.path(), name, &text);
        let r = run(&["migrate", s(&db), "--yes", "--spec", s(&spec)]);
        assert_eq!(r.code, 2, "{name}: {r:?}");
        assert_eq!(r.stderr_lines().len(), 1, "{name}: {}", r.stderr);
        for n in needles {
            assert!(r.stderr.contains(n), "{name}: wants {n:?} in {}", r.stderr);
        }
        assert_eq!(
            std::fs::read(&db).unwrap(),
            before,
            "{name}: nothing may be written"
        );
    }
    let c = Connection::open(&db).unwrap();
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM systems"),
        5,
        "the injection did nothing"
    );
    // missing points may be skipped on request
    let spec = write_spec(
        dir.path(),
        "m.toml",
        &builtin.replacen("point = \"grid_w\"", "point = \"grid_watts\"", 1),
    );
    let r = run(&[
        "migrate",
        s(&db),
        "--yes",
        "--spec",
        s(&spec),
        "--allow-missing-points",
        "--only",
        "raw",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("point grid_watts") && r.stderr.contains("skipped"),
        "{}",
        r.stderr
    );
    // flags name themselves
    let r = run(&["migrate", s(&db), "--yes", "--system", "9"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--system 9: no such system"),
        "{}",
        r.stderr
    );
    let r = run(&["migrate", s(&db), "--yes", "--system", "6"]);
    assert!(
        r.stderr.contains("--system 6") && r.stderr.contains("mondo"),
        "{}",
        r.stderr
    );
}

#[test]
fn spec_show_prints_the_builtin_spec_and_only_selects_systems() {
    let r = run(&["spec", "show"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, preflight::spec::BUILTIN_TOML);
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let r = run(&[
        "migrate",
        s(&db),
        "--yes",
        "--only",
        "agg5m",
        "--system",
        "3",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = Connection::open(&db).unwrap();
    assert_eq!(
        scalar(
            &c,
            "SELECT count(DISTINCT migration_name || system_id) FROM migration_progress"
        ),
        1
    );
    // Enphase's 5-minute rows: every legacy interval, each for two points
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM point_readings_agg_5m WHERE system_id = 3"
        ),
        2 * scalar(
            &c,
            "SELECT count(*) FROM readings_agg_5m WHERE system_id = 3"
        )
    );
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM point_readings_agg_5m WHERE system_id != 3 AND rowid > (SELECT min(rowid_lo) FROM preflight_journal)"
        ),
        0,
        "--system 3 migrates system 3 only"
    );
}

/// `--log-file` appends timestamped lines: one per batch, whose source rows and inserted rows
/// add up to the run's totals; a second run appends its own lines.
#[test]
fn the_log_file_accounts_for_every_batch_and_is_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let log = dir.path().join("migrate.log");
    let args = [
        "migrate",
        s(&db),
        "--yes",
        "--batch-size",
        "300",
        "--log-file",
        s(&log),
    ];
    assert_eq!(run(&args).code, 0);
    let first = std::fs::read_to_string(&log).unwrap();
    let conn = Connection::open(&db).unwrap();
    // the readings are scanned twice: for the raw rows and for the 5-minute roll-up
    let sources = 2 * scalar(
        &conn,
        "SELECT count(*) FROM readings WHERE system_id IN (1, 2, 5)",
    ) + scalar(
        &conn,
        "SELECT count(*) FROM readings_agg_5m WHERE system_id IN (1, 2, 3, 5)",
    );
    let journalled = scalar(&conn, "SELECT sum(inserted) FROM preflight_journal");
    let batches: Vec<&str> = first.lines().filter(|l| l.contains(": batch (")).collect();
    assert!(batches.len() > 7, "batches of 300: {}", batches.len());
    let field = |name: &str| -> i64 {
        batches
            .iter()
            .map(|l| {
                let i = l.find(&format!(" {name}")).unwrap();
                let head = &l[..i];
                head[head.rfind(' ').unwrap() + 1..].parse::<i64>().unwrap()
            })
            .sum()
    };
    assert_eq!(field("source rows"), sources);
    assert_eq!(field("inserted"), journalled);
    for l in first.lines() {
        let stamp = l.split(' ').next().unwrap();
        assert!(
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{l}"
        );
    }
    assert!(
        first
            .lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!(" {sources} source rows to migrate")),
        "{first}"
    );
    assert_eq!(run(&args).code, 0);
    let both = std::fs::read_to_string(&log).unwrap();
    assert!(both.starts_with(&first), "the second run appends");
    assert!(
        both[first.len()..].contains("0 source rows to migrate"),
        "{}",
        &both[first.len()..]
    );
}

/// Specs and options that cannot work are refused, naming what is wrong, before anything is
/// written (and before a dry run says it would work).
#[test]
fn specs_and_options_that_cannot_work_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let before = std::fs::read(&db).unwrap();
    let builtin = preflight::spec::BUILTIN_TOML;
    let no_vendors = "name = \"x\"\n[[migration]]\nname = \"m\"\nkind = \"raw\"\nsource = \"readings\"\ntarget = \"point_readings\"\nsystem = \"system_id\"\ntime = { source = \"inverter_time\", target = \"measurement_time\", multiply = 1000 }\npoint_column = \"point_id\"\nfields = [\"value\"]\n";
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "huge-multiply.toml",
            builtin.replacen(
                "target = \"measurement_time\", multiply = 1000,",
                "target = \"measurement_time\", multiply = 1000000000000000,",
                1,
            ),
            vec![
                "time.multiply 1000000000000000",
                "readings.inverter_time",
                "overflow",
            ],
        ),
        (
            "inf.toml",
            builtin.replacen("null_as = 0", "null_as = inf", 1),
            vec!["point gen_status", "null_as must be a finite number"],
        ),
        (
            "nan.toml",
            builtin.replacen("null_if = 0,", "null_if = nan,", 1),
            vec!["point fault_ts", "null_if must be a finite number"],
        ),
        (
            "zero-column.toml",
            builtin.replacen(
                "received_time = { source = \"received_time\", multiply = 1000 }",
                "received_time = { source = \"received_time\", multiply = 0 }",
                1,
            ),
            vec!["column received_time", "multiply must not be 0"],
        ),
        (
            "no-vendor.toml",
            no_vendors.to_string(),
            vec!["migration m", "maps no vendor"],
        ),
        (
            "no-point.toml",
            format!("{no_vendors}[[migration.vendor]]\nvendor_type = \"fronius\"\npoint = []\n"),
            vec!["vendor fronius", "maps no point"],
        ),
        (
            "rollup-without-buckets.toml",
            builtin.replacen(
                "bucket = { width = 300, closed = \"end\", value = \"value\" }\n",
                "",
                1,
            ),
            vec!["readings_to_agg5m", "bucket"],
        ),
    ];
    for (name, text, needles) in cases {
        let spec = write_spec(dir.path(), name, &text);
        for extra in [&["--yes"][..], &["--dry-run"][..]] {
            let mut args = vec!["migrate", s(&db), "--spec", s(&spec)];
            args.extend(extra);
            let r = run(&args);
            assert_eq!(r.code, 2, "{name} {extra:?}: {r:?}");
            assert_eq!(r.stderr_lines().len(), 1, "{name}: {}", r.stderr);
            for n in &needles {
                assert!(r.stderr.contains(n), "{name}: wants {n:?} in {}", r.stderr);
            }
        }
        assert_eq!(
            std::fs::read(&db).unwrap(),
            before,
            "{name}: nothing may be written"
        );
    }
    // a progress table without its UNIQUE key would fail at the first batch: refused up front
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE migration_progress (migration_name TEXT, system_id INTEGER, last_migrated_timestamp INTEGER, rows_migrated INTEGER, updated_at INTEGER)")
        .unwrap();
    let with_table = std::fs::read(&db).unwrap();
    for extra in [&["--yes"][..], &["--dry-run"][..]] {
        let mut args = vec!["migrate", s(&db)];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr.contains("migration_progress")
                && r.stderr
                    .contains("UNIQUE key on (migration_name, system_id)"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), with_table);
    // flags: a sample too large to finish is refused; the largest batch size is one batch
    let r = run(&["verify", s(&db), "--sample", "18446744073709551615"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--sample"), "{}", r.stderr);
    let db2 = fixture_copy(dir.path(), "y.db");
    let r = run(&[
        "migrate",
        s(&db2),
        "--yes",
        "--batch-size",
        "18446744073709551615",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = Connection::open(&db2).unwrap();
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM preflight_journal"),
        scalar(
            &c,
            "SELECT count(*) FROM migration_progress WHERE rows_migrated > 0"
        ) - 1,
        "one batch per migration and system (system 2's legacy rows are all replaced by readings: no entry)"
    );
}

/// The progress table is the spec's: another name is created, used to resume, and rolled back.
#[test]
fn the_progress_table_is_named_by_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path(), "x.db");
    let before = dump(&db);
    let spec = write_spec(
        dir.path(),
        "p.toml",
        &preflight::spec::BUILTIN_TOML.replacen(
            "progress_table = \"migration_progress\"",
            "progress_table = \"preflight_progress_of_points\"",
            1,
        ),
    );
    let r = run(&["migrate", s(&db), "--yes", "--spec", s(&spec)]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = Connection::open(&db).unwrap();
    assert!(scalar(&c, "SELECT count(*) FROM preflight_progress_of_points") >= 9);
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'migration_progress'"
        ),
        0
    );
    drop(c);
    let r = run(&["verify", s(&db), "--spec", s(&spec)]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // a second run resumes from it: nothing to do
    let r = run(&["migrate", s(&db), "--yes", "--spec", s(&spec), "--dry-run"]);
    assert!(r.stdout.contains("would insert"), "{}", r.stdout);
    let r = run(&["rollback", s(&db), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_same(&dump(&db), &before, "rolled back");
}

/// A spec for another schema works with the same checks: other table and column names, times in
/// milliseconds, an hourly roll-up closed at its start, its own units, counter and progress table.
#[test]
fn a_spec_for_another_schema_works_without_touching_the_checks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meters.db");
    let c = Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE TABLE site (site_no INTEGER PRIMARY KEY, kind TEXT NOT NULL);
         CREATE TABLE channel (site_no INTEGER NOT NULL, ch INTEGER NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, PRIMARY KEY (site_no, ch));
         CREATE TABLE meter_log (site_no INTEGER NOT NULL, at_ms INTEGER NOT NULL, joules REAL, temp_c REAL, note TEXT, UNIQUE (site_no, at_ms));
         CREATE TABLE series (site_no INTEGER NOT NULL, ch INTEGER NOT NULL, t_ms INTEGER NOT NULL, v REAL, UNIQUE (site_no, ch, t_ms));
         CREATE TABLE hourly (site_no INTEGER NOT NULL, ch INTEGER NOT NULL, hour_ms INTEGER NOT NULL, mean REAL, hi REAL, n INTEGER, PRIMARY KEY (site_no, ch, hour_ms));
         INSERT INTO site VALUES (1, 'meter'), (2, 'meter');
         INSERT INTO channel VALUES (1, 1, 'energy', 'kJ'), (1, 2, 'temp', 'C'), (2, 1, 'energy', 'kJ'), (2, 2, 'temp', 'C');",
    )
    .unwrap();
    let mut joules = 5_000_000.0;
    for k in 0..600i64 {
        for site in [1, 2] {
            joules += 1_234.5;
            c.execute(
                "INSERT INTO meter_log VALUES (?1, ?2, ?3, ?4, 'x')",
                rusqlite::params![
                    site,
                    1_700_000_000_000i64 + k * 37_000,
                    joules * site as f64,
                    20.0 + (k % 9) as f64 / 2.0
                ],
            )
            .unwrap();
        }
    }
    drop(c);
    let spec = write_spec(
        dir.path(),
        "meters.toml",
        r#"name = "meters"
progress_table = "copy_progress"

[catalog]
systems = "site"
system_id = "site_no"
vendor_type = "kind"
points = "channel"
point_system = "site_no"
point_id = "ch"
point_key = "name"
metric_unit = "unit"

[columns.meter_log]
at_ms = { unit = "ms" }
joules = { unit = "J", counter = true }
temp_c = { unit = "C" }

[units.kJ]
min = 0
from = { J = 0.001 }
[units.C]
min = -50
max = 80
[units.ms]

[[migration]]
name = "log_to_series"
kind = "raw"
source = "meter_log"
target = "series"
system = "site_no"
time = { source = "at_ms", target = "t_ms", multiply = 1, unit = "ms" }
point_column = "ch"
fields = ["v"]
coverage = { cadence = 37000, gap = 600000 }
[migration.ignore]
note = "free text"
[[migration.vendor]]
vendor_type = "meter"
point = [
  { point = "energy", v = { source = "joules", multiply = 0.001 } },
  { point = "temp", v = { source = "temp_c" } },
]

[[migration]]
name = "log_to_hourly"
kind = "rollup"
source = "meter_log"
target = "hourly"
system = "site_no"
time = { source = "at_ms", target = "hour_ms", multiply = 1, unit = "ms" }
point_column = "ch"
fields = ["v"]
bucket = { width = 3600000, closed = "start", value = "v" }
aggregate = { mean = "avg", hi = "max", n = "count" }
[migration.ignore]
note = "free text"
[[migration.vendor]]
vendor_type = "meter"
point = [
  { point = "energy", v = { source = "joules", multiply = 0.001 } },
  { point = "temp", v = { source = "temp_c" } },
]
"#,
    );
    let r = run(&[
        "migrate",
        s(&db),
        "--yes",
        "--spec",
        s(&spec),
        "--batch-size",
        "70",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = Connection::open(&db).unwrap();
    // 600 readings × 37 s per site: 7 hours of [start, start + 1 h) buckets, 2 channels, 2 sites
    assert_eq!(scalar(&c, "SELECT count(*) FROM hourly"), 2 * 2 * 7);
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM hourly WHERE hour_ms % 3600000 != 0"
        ),
        0
    );
    assert_eq!(scalar(&c, "SELECT sum(n) FROM hourly WHERE ch = 2"), 1200);
    drop(c);
    let r = run(&["verify", s(&db), "--spec", s(&spec)]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("PASS"), "{}", r.stdout);
    // a wrong hourly mean, and a counter that falls, are caught by the same checks
    let faulty = dir.path().join("faulty.db");
    std::fs::copy(&db, &faulty).unwrap();
    Connection::open(&faulty)
        .unwrap()
        .execute_batch(
            "UPDATE hourly SET mean = mean + 0.5 WHERE rowid = 3;
             UPDATE series SET v = v - 100 WHERE rowid = (SELECT max(rowid) FROM series WHERE ch = 1 AND site_no = 1)",
        )
        .unwrap();
    let r = run(&["verify", s(&faulty), "--spec", s(&spec), "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let failed: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert!(
        failed.contains(&"values") && failed.contains(&"counters"),
        "{failed:?}"
    );
    // and the rollback restores it all, with the spec's progress table gone again
    let r = run(&["rollback", s(&db), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = Connection::open(&db).unwrap();
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM hourly") + scalar(&c, "SELECT count(*) FROM series"),
        0
    );
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'copy_progress'"
        ),
        0
    );
}
