//! `preflight backup`: consistent snapshot, gzip, manifest.

use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;

use crate::common::*;

fn only_backup(dir: &Path) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".db.gz"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

#[test]
fn backup_then_extract_preserves_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    // the output directory is created, parents and all
    let out = dir.path().join("backups/liveone");
    let r = run(&["backup", s(&db), "--out", s(&out), "--min-size", "100KB"]);
    assert_eq!(r.code, 0, "{r:?}");
    let gz = only_backup(&out);
    let name = gz.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("liveone-") && name.len() == "liveone-20251106-055259.db.gz".len(),
        "{name}"
    );
    assert!(
        r.stdout.contains(&name) && r.stdout.contains("readings"),
        "{}",
        r.stdout
    );

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(preflight::backup::manifest::path_for(&gz)).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["sha256"], sha256(&gz));
    assert_eq!(
        manifest["compressed_bytes"],
        std::fs::metadata(&gz).unwrap().len()
    );
    assert_eq!(manifest["tables"]["readings"], 2536);
    assert!(
        manifest["sqlite_version"]
            .as_str()
            .unwrap()
            .starts_with("3.")
    );
    assert!(manifest["created_utc"].as_str().unwrap().ends_with('Z'));

    let copy = dir.path().join("copy.db");
    let r = run(&["extract", s(&gz), "--out", s(&copy)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        manifest["uncompressed_bytes"],
        std::fs::metadata(&copy).unwrap().len()
    );
    assert_same(&dump(&db), &dump(&copy), "backup → extract");
    assert!(leftovers(&out).is_empty() && leftovers(dir.path()).is_empty());
}

#[test]
fn min_size_fails_the_check_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let out = dir.path().join("backups");
    std::fs::create_dir(&out).unwrap();
    let r = run(&["backup", s(&db), "--out", s(&out), "--min-size", "6MB"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("below --min-size"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing may be kept"
    );
    let r = run(&["backup", s(&db), "--out", s(&out), "--min-size", "six"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--min-size"), "{}", r.stderr);
}

#[test]
fn backup_of_a_missing_or_non_database_source_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let r = run(&["backup", s(&missing), "--out", s(dir.path())]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("nope.db") && r.stderr.contains("no such file"),
        "{}",
        r.stderr
    );
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let r = run(&["backup", s(&missing), "--out", s(&file)]);
    assert!(
        r.stderr.contains("no such file"),
        "the source is checked first: {}",
        r.stderr
    );
    let db = small_fixture_db(dir.path());
    let r = run(&["backup", s(&db), "--out", s(&file)]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        format!("preflight: {}: not a directory", file.display())
    );
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "not a database, just notes\n".repeat(100)).unwrap();
    let r = run(&["backup", s(&text), "--out", s(dir.path())]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("notes.db") && r.stderr.contains("not a SQLite database"),
        "{}",
        r.stderr
    );
    assert!(leftovers(dir.path()).is_empty());
}

/// Another process writes (a session, a reading and its point rows per transaction) while the
/// backup runs: both succeed, and the snapshot holds whole transactions only.
#[test]
fn backup_is_consistent_while_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let out = dir.path().join("backups");
    std::fs::create_dir(&out).unwrap();
    let mut writer = preflight()
        .args([
            "simulate-live",
            "--yes",
            s(&db),
            "--system",
            "1",
            "--interval-ms",
            "2",
            "--count",
            "400",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // let the writer get going
    let conn = Connection::open(&db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let start = std::time::Instant::now();
    while scalar(
        &conn,
        "SELECT count(*) FROM sessions WHERE system_name = 'simulated'",
    ) < 20
    {
        assert!(start.elapsed().as_secs() < 30, "writer did not start");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let r = run(&["backup", s(&db), "--out", s(&out)]);
    let status = writer.wait().unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(status.success(), "the writer failed while the backup ran");

    let copy = dir.path().join("copy.db");
    let r = run(&["extract", s(&only_backup(&out)), "--out", s(&copy)]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = Connection::open(&copy).unwrap();
    let sessions = scalar(
        &c,
        "SELECT count(*) FROM sessions WHERE system_name = 'simulated'",
    );
    assert!(sessions >= 20, "the snapshot was taken mid-stream");
    assert_eq!(
        sessions,
        scalar(
            &c,
            "SELECT count(*) FROM readings r JOIN sessions s ON s.system_name = 'simulated' AND s.created_at = r.received_time AND r.system_id = 1"
        ),
        "every simulated session has its reading"
    );
    assert_eq!(
        scalar(
            &c,
            "SELECT sum(num_rows) FROM sessions WHERE system_name = 'simulated'"
        ),
        scalar(
            &c,
            "SELECT count(*) FROM point_readings WHERE session_id IN (SELECT id FROM sessions WHERE system_name = 'simulated')"
        ),
        "every transaction is whole: each session's point rows are all there"
    );
}

/// A random small database, as SQL statements.
fn arb_database() -> impl Strategy<Value = Vec<String>> {
    let value = prop_oneof![
        Just("NULL".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        (-1e12f64..1e12).prop_map(|f| format!("{f:e}")),
        "[a-z' ]{0,40}".prop_map(|t| format!("'{}'", t.replace('\'', "''"))),
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| format!("X'{}'", preflight::backup::hex(&b))),
    ];
    let row = proptest::collection::vec(value, 3);
    let table = proptest::collection::vec(row, 0..300);
    proptest::collection::vec(table, 1..4).prop_map(|tables| {
        let mut sql = Vec::new();
        for (i, rows) in tables.iter().enumerate() {
            sql.push(format!(
                "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, a, b, c)"
            ));
            sql.push(format!("CREATE INDEX t{i}_a ON t{i} (a)"));
            for r in rows {
                sql.push(format!(
                    "INSERT INTO t{i} (a, b, c) VALUES ({}, {}, {})",
                    r[0], r[1], r[2]
                ));
            }
        }
        sql
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// backup → extract gives back every table, value for value.
    #[test]
    fn backup_round_trip_preserves_content(statements in arb_database()) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("src.db");
        {
            let c = Connection::open(&db).unwrap();
            c.execute_batch("BEGIN").unwrap();
            for st in &statements {
                c.execute_batch(st).unwrap();
            }
            c.execute_batch("COMMIT").unwrap();
        }
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let b = preflight::backup::create(&db, &out, None).unwrap();
        let e = preflight::backup::extract(&b.path, None, Some(dir.path())).unwrap();
        prop_assert_eq!(dump(&db), dump(e.db.path()));
        prop_assert_eq!(&e.sha256, &b.manifest.sha256);
    }
}
