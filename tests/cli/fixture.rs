//! `preflight fixture`: a LiveOne-shaped database, deterministic.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::common::*;

#[test]
fn bundled_fixture_is_what_the_generator_makes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small.db.gz");
    let r = run(&[
        "fixture",
        "--scale",
        "0.01",
        "--seed",
        "1",
        "--out",
        s(&out),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(small_fixture_gz()).unwrap(),
        "fixtures/liveone-small.db.gz differs from `preflight fixture --scale 0.01 --seed 1`"
    );
}

#[test]
fn same_seed_and_scale_give_the_same_bytes_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut hashes = Vec::new();
    for (name, seed) in [("a.db", "7"), ("b.db", "7"), ("c.db", "8")] {
        let out = dir.path().join(name);
        let r = run(&[
            "fixture",
            "--scale",
            "0.02",
            "--seed",
            seed,
            "--out",
            s(&out),
        ]);
        assert_eq!(r.code, 0, "{r:?}");
        hashes.push(sha256(&out));
    }
    assert_eq!(hashes[0], hashes[1]);
    assert_ne!(hashes[0], hashes[2]);
}

#[test]
fn fixture_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.db");
    std::fs::write(&out, b"precious").unwrap();
    let r = run(&["fixture", "--scale", "0.01", "--out", s(&out)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("already exists") && r.stderr.contains("x.db"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert!(leftovers(dir.path()).is_empty());
}

/// The schema is exactly production's: every statement of schema.sql, verbatim.
#[test]
fn schema_is_exactly_the_liveone_schema() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(small_fixture_db(dir.path())).unwrap();
    let stored: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<String> = std::fs::read_to_string(repo("fixtures/liveone/schema.sql"))
        .unwrap()
        .split(";\n")
        .map(|s| s.trim().trim_end_matches(';').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(stored, expected);
}

#[test]
fn point_info_is_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(small_fixture_db(dir.path())).unwrap();
    let got: Vec<String> = conn
        .prepare(
            "SELECT p.system_id || ',' || s.vendor_type || ',' || p.id || ',' || p.origin_id || ',' || p.origin_sub_id || ',' || p.metric_type || ',' || p.metric_unit
             FROM point_info p JOIN systems s ON s.id = p.system_id ORDER BY p.system_id, p.id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let csv = std::fs::read_to_string(repo("fixtures/liveone/point_catalog.csv")).unwrap();
    let expected: Vec<&str> = csv.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(got, expected);
}

fn counts(conn: &Connection, table: &str) -> BTreeMap<i64, i64> {
    rows(
        conn,
        &format!("SELECT system_id, count(*) FROM {table} GROUP BY system_id"),
    )
    .into_iter()
    .map(|r| match (&r[0], &r[1]) {
        (rusqlite::types::Value::Integer(a), rusqlite::types::Value::Integer(b)) => (*a, *b),
        other => panic!("{other:?}"),
    })
    .collect()
}

/// Volumes follow production, scaled: readings exactly, 5-minute rows within 2%.
#[test]
fn volumes_follow_production_at_scale() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tenth.db");
    let r = run(&["fixture", "--scale", "0.1", "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    let conn = Connection::open(&out).unwrap();
    assert_eq!(
        counts(&conn, "readings"),
        BTreeMap::from([(1, 9_320), (2, 9_622), (5, 6_417)])
    );
    let agg = counts(&conn, "readings_agg_5m");
    for (system, production) in [(1, 22_824.0), (2, 19_409.0), (3, 18_903.0), (5, 12_839.0)] {
        let want = production * 0.1;
        let got = agg[&system] as f64;
        assert!(
            (got - want).abs() / want < 0.02,
            "system {system}: {got} 5-minute rows, want ≈{want}"
        );
    }
}

/// What makes it look like LiveOne: vendors, cadence, units, NULLs, live rows.
#[test]
fn data_has_the_shape_of_the_real_thing() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(small_fixture_db(dir.path())).unwrap();
    let q = |sql: &str| scalar(&conn, sql);
    // vendors
    assert_eq!(
        q("SELECT count(*) FROM systems WHERE id IN (1, 2) AND vendor_type = 'selectronic'"),
        2
    );
    assert_eq!(
        q("SELECT count(*) FROM readings WHERE system_id = 3"),
        0,
        "Enphase has no raw readings"
    );
    assert!(
        q(
            "SELECT count(*) FROM readings_agg_5m WHERE system_id = 3 AND solar_interval_wh IS NOT NULL"
        ) > 0
    );
    assert!(
        q("SELECT count(*) FROM readings WHERE system_id = 5 AND solar_wh_interval IS NOT NULL")
            > 0
    );
    assert_eq!(q("SELECT count(*) FROM point_info WHERE system_id = 6"), 18);
    assert_eq!(
        q(
            "SELECT (SELECT count(*) FROM readings WHERE system_id = 6) + (SELECT count(*) FROM readings_agg_5m WHERE system_id = 6) + (SELECT count(*) FROM point_readings WHERE system_id = 6)"
        ),
        0,
        "Mondo has points and no data"
    );
    // one-minute cadence, with gaps
    assert!(
        q(
            "SELECT count(*) FROM (SELECT inverter_time - lag(inverter_time) OVER (PARTITION BY system_id ORDER BY inverter_time) AS d FROM readings) WHERE d BETWEEN 56 AND 64"
        ) > 2_000
    );
    assert!(
        q(
            "SELECT count(*) FROM (SELECT inverter_time - lag(inverter_time) OVER (PARTITION BY system_id ORDER BY inverter_time) AS d FROM readings) WHERE d > 600"
        ) >= 3,
        "outages"
    );
    // day-shaped solar: nights are dark, middays are not
    assert_eq!(
        q(
            "SELECT count(*) FROM readings WHERE ((inverter_time + 36000) % 86400) / 3600 IN (0, 1, 2, 3) AND solar_w > 0"
        ),
        0
    );
    assert!(
        q(
            "SELECT count(*) FROM readings WHERE ((inverter_time + 36000) % 86400) / 3600 IN (11, 12, 13) AND solar_w > 1000"
        ) > 0
    );
    // SOC has one decimal; totals have three and never fall
    assert_eq!(
        q(
            "SELECT count(*) FROM readings WHERE battery_soc IS NOT NULL AND abs(battery_soc * 10 - round(battery_soc * 10)) > 1e-9"
        ),
        0
    );
    // the ×1000 trap (32768.026 × 1000 = 32768025.999999996) must be inside the dual-write
    // window, where live rows show the rounded value
    let any_total_not_whole = [
        "solar",
        "load",
        "battery_in",
        "battery_out",
        "grid_in",
        "grid_out",
    ]
    .map(|c| format!("{c}_kwh_total * 1000 != round({c}_kwh_total * 1000)"))
    .join(" OR ");
    assert!(
        q(&format!(
            "SELECT count(*) FROM readings WHERE ({any_total_not_whole}) AND inverter_time * 1000 >= (SELECT min(measurement_time) FROM point_readings)"
        )) > 0,
        "the ×1000 trap needs totals whose product is not whole, inside the dual-write window"
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM readings WHERE abs(solar_kwh_total * 1000 - round(solar_kwh_total * 1000)) > 1e-6"
        ),
        0
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM (SELECT solar_kwh_total - lag(solar_kwh_total) OVER (PARTITION BY system_id ORDER BY inverter_time) AS d FROM readings) WHERE d < 0"
        ),
        0
    );
    // NULLs where the pollers leave them, faults, the generator stored as NULL
    assert!(
        q("SELECT count(*) FROM readings WHERE system_id IN (1, 2) AND solar_remote_w IS NULL") > 0
    );
    assert!(q("SELECT count(*) FROM readings WHERE fault_code != '0'") > 0);
    assert_eq!(
        q("SELECT count(*) FROM readings WHERE generator_status = 0"),
        0
    );
    // the dual-write window: live rows in ms, Wh rounded, no row for NULL, all four 5-minute fields
    assert!(q("SELECT count(*) FROM point_readings") > 1_000);
    assert_eq!(
        q(
            "SELECT count(*) FROM point_readings WHERE measurement_time % 60000 NOT IN (7000, 41000) AND system_id IN (1, 2)"
        ),
        0
    );
    assert_eq!(
        q("SELECT count(*) FROM point_readings WHERE value IS NULL AND value_str IS NULL"),
        0
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM point_readings p JOIN point_info i ON i.system_id = p.system_id AND i.id = p.point_id WHERE i.metric_unit = 'Wh' AND p.value != round(p.value)"
        ),
        0
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM point_readings_agg_5m WHERE sample_count > 0 AND (avg IS NULL OR min IS NULL OR max IS NULL OR last IS NULL)"
        ),
        0
    );
    assert!(
        q("SELECT count(*) FROM point_readings WHERE point_id = 15 AND value_str IS NOT NULL") > 0,
        "a fault inside the window"
    );
    // side tables, filled so collateral damage would show
    for t in [
        "sessions",
        "polling_status",
        "user_systems",
        "readings_agg_1d",
        "migrations",
    ] {
        assert!(q(&format!("SELECT count(*) FROM {t}")) > 0, "{t} is empty");
    }
}

/// The facts of LIVEONE.md's sections "Legacy and live rows are computed differently" and the
/// faults, Enphase and Selectronic facts, each as a query on the bundled fixture.
#[test]
fn legacy_and_live_rows_are_computed_as_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(small_fixture_db(dir.path())).unwrap();
    let q = |sql: &str| scalar(&conn, sql);
    // legacy: interval_end = ceil(t / 300) * 300 over the closed range [end - 300, end], power
    // Math.round()ed (halves up): checked on every interval the readings fully cover
    let covered = "FROM readings_agg_5m AS a WHERE a.system_id IN (1, 2, 5) AND a.interval_end - 300 > (SELECT min(inverter_time) FROM readings AS r WHERE r.system_id = a.system_id)";
    let closed = "r.system_id = a.system_id AND r.inverter_time BETWEEN a.interval_end - 300 AND a.interval_end";
    assert!(q(&format!("SELECT count(*) {covered}")) > 300);
    assert_eq!(
        q(&format!(
            "SELECT count(*) {covered} AND a.sample_count != (SELECT count(*) FROM readings AS r WHERE {closed})"
        )),
        0,
        "legacy sample_count counts the closed interval"
    );
    assert_eq!(
        q(&format!(
            "SELECT count(*) {covered} AND a.solar_w_avg IS NOT (SELECT CAST(m AS INTEGER) - (m < CAST(m AS INTEGER)) FROM (SELECT avg(solar_w) + 0.5 AS m FROM readings AS r WHERE {closed}))"
        )),
        0,
        "legacy avg is Math.round of the closed interval's mean"
    );
    // a sample on a boundary counts in two legacy intervals, before and inside the window
    let first_live =
        "(SELECT min(measurement_time) / 1000 FROM point_readings WHERE system_id = 5)";
    assert!(
        q(&format!(
            "SELECT count(*) FROM readings WHERE system_id = 5 AND inverter_time % 300 = 0 AND inverter_time < {first_live}"
        )) > 0
    );
    assert!(
        q(&format!(
            "SELECT count(*) FROM readings WHERE system_id = 5 AND inverter_time % 300 = 0 AND inverter_time >= {first_live}"
        )) > 0
    );
    // Fronius pushes twice sometimes: legacy rows of 6 or 7 samples
    assert!(
        q("SELECT count(*) FROM readings_agg_5m WHERE system_id = 5 AND sample_count >= 6") > 0
    );
    assert!(
        q(
            "SELECT count(*) FROM (SELECT inverter_time - lag(inverter_time) OVER (ORDER BY inverter_time) AS d FROM readings WHERE system_id = 5) WHERE d < 15"
        ) > 0,
        "a second push seconds after the first"
    );
    // live: (end - 300, end] of the point rows, avg not rounded, NULL values in error_count
    let live = "FROM point_readings_agg_5m AS l WHERE l.system_id IN (1, 2, 5)";
    let half_open = "p.system_id = l.system_id AND p.point_id = l.point_id AND p.measurement_time > l.interval_end - 300000 AND p.measurement_time <= l.interval_end";
    assert_eq!(
        q(&format!(
            "SELECT count(*) {live} AND l.sample_count + l.error_count != (SELECT count(*) FROM point_readings AS p WHERE {half_open})"
        )),
        0
    );
    assert_eq!(
        q(&format!(
            "SELECT count(*) {live} AND l.error_count != (SELECT count(*) FROM point_readings AS p WHERE {half_open} AND p.value IS NULL)"
        )),
        0,
        "error_count counts NULL values"
    );
    assert!(q(&format!("SELECT count(*) {live} AND l.error_count > 0")) > 0);
    assert!(
        q(&format!("SELECT count(*) {live} AND l.avg != round(l.avg)")) > 0,
        "avg is not rounded"
    );
    assert_eq!(
        q(&format!(
            "SELECT count(*) FROM (SELECT l.avg AS a, (SELECT avg(value) FROM point_readings AS p WHERE {half_open}) AS b {live})
             WHERE NOT (a IS b OR abs(a - b) <= 1e-9 * abs(b))"
        )),
        0,
        "avg is the plain mean (summed as JavaScript does, so to the last bits only nearly SQLite's)"
    );
    // the seam: each raw system's first live interval holds fewer samples than the legacy row
    for system in [1, 2, 5] {
        assert!(
            q(&format!(
                "SELECT max(l.sample_count) < (SELECT a.sample_count FROM readings_agg_5m AS a WHERE a.system_id = {system} AND a.interval_end * 1000 = l.interval_end)
                 FROM point_readings_agg_5m AS l WHERE l.system_id = {system} AND l.interval_end = (SELECT min(interval_end) FROM point_readings_agg_5m WHERE system_id = {system})"
            )) == 1,
            "system {system}: the first live interval is partial"
        );
    }
    // Enphase: solar_kwh_total_last is the interval's energy in kWh, NULL when it is 0; the live
    // writer's rows start on the deploy day, before the dual-write window, one sample each
    assert_eq!(
        q(
            "SELECT count(*) FROM readings_agg_5m WHERE system_id = 3 AND solar_kwh_total_last IS NOT (CASE WHEN solar_interval_wh = 0 THEN NULL ELSE solar_interval_wh / 1000.0 END)"
        ),
        0
    );
    assert!(
        q(
            "SELECT count(*) FROM readings_agg_5m WHERE system_id = 3 AND solar_kwh_total_last IS NULL"
        ) > 0
    );
    assert!(
        q("SELECT count(*) FROM readings_agg_5m WHERE system_id = 3 AND solar_kwh_total_last > 0")
            > 0
    );
    assert!(
        q("SELECT min(interval_end) FROM point_readings_agg_5m WHERE system_id = 3")
            < q("SELECT min(measurement_time) FROM point_readings") - 3_600_000
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM point_readings_agg_5m WHERE system_id = 3 AND NOT (avg = min AND min = max AND max = last AND sample_count = 1)"
        ),
        0
    );
    assert!(
        q(
            "SELECT count(*) FROM readings_agg_5m AS a WHERE system_id = 3 AND interval_end * 1000 < (SELECT min(interval_end) FROM point_readings_agg_5m WHERE system_id = 3)"
        ) > 0,
        "Enphase history older than the deploy day"
    );
    // faults: three episodes for system 1; one for system 2, inside the dual-write window
    assert_eq!(
        q(
            "SELECT count(DISTINCT fault_timestamp) FROM readings WHERE system_id = 1 AND fault_code != '0'"
        ),
        3
    );
    assert_eq!(
        q(
            "SELECT count(DISTINCT fault_timestamp) FROM readings WHERE system_id = 2 AND fault_code != '0'"
        ),
        1
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM readings WHERE system_id = 2 AND fault_code != '0' AND inverter_time * 1000 < (SELECT min(measurement_time) FROM point_readings WHERE system_id = 2)"
        ),
        0,
        "every fault value of system 2 is already a live row"
    );
    // Selectronic: solar_w = round(inverter + shunt) differs by ±1 from the rounded parts
    let diff = "solar_w - solar_local_w - solar_remote_w";
    assert!(
        q(&format!(
            "SELECT count(*) FROM readings WHERE system_id IN (1, 2) AND {diff} != 0"
        )) > 20
    );
    assert_eq!(
        q(&format!(
            "SELECT count(*) FROM readings WHERE system_id IN (1, 2) AND abs({diff}) > 1"
        )),
        0
    );
    // stale polls: a session, no reading; live received_time in milliseconds
    assert!(
        q(
            "SELECT count(*) FROM sessions WHERE vendor_type = 'selectronic' AND successful = 1 AND num_rows = 0"
        ) > 0
    );
    assert!(q("SELECT count(*) FROM point_readings WHERE received_time % 1000 != 0") > 1_000);
}
