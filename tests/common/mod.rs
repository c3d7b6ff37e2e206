//! Helpers shared by the integration tests: running the binary, the bundled fixture, and
//! comparing database content.
#![allow(dead_code)]

pub mod altgen;
pub mod reference;
pub mod sqld;
pub mod tools;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rusqlite::Connection;
use rusqlite::types::Value;

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The fixture committed in the repository (scale 0.01, seed 1).
pub fn small_fixture_gz() -> PathBuf {
    repo("fixtures/liveone-small.db.gz")
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stderr as lines, for "one line naming the file and the problem".
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

pub fn preflight() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_preflight"));
    c.stdin(Stdio::null());
    c
}

/// Run preflight with `args`; `tmpdir` becomes its TMPDIR when given.
pub fn run_in(args: &[&str], tmpdir: Option<&Path>) -> Run {
    let mut c = preflight();
    c.args(args);
    if let Some(t) = tmpdir {
        c.env("TMPDIR", t);
    }
    let out = c.output().expect("run preflight");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run(args: &[&str]) -> Run {
    run_in(args, None)
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Gunzip a .gz into `dest` (plain flate2, independent of preflight's own extract).
pub fn gunzip(src: &Path, dest: &Path) {
    let f = std::fs::File::open(src).expect("open gz");
    let mut d = flate2::read::MultiGzDecoder::new(f);
    let mut bytes = Vec::new();
    d.read_to_end(&mut bytes).expect("gunzip");
    std::fs::write(dest, bytes).expect("write db");
}

/// A fresh copy of the bundled fixture as a plain database file in `dir`.
pub fn small_fixture_db(dir: &Path) -> PathBuf {
    let db = dir.join("liveone.db");
    gunzip(&small_fixture_gz(), &db);
    db
}

/// Every table's rows in rowid (or primary key) order, and the schema, as plain values.
pub type Dump = BTreeMap<String, Vec<Vec<Value>>>;

pub fn dump_conn(conn: &Connection) -> Dump {
    let mut out = Dump::new();
    let schema: Vec<Vec<Value>> = rows(
        conn,
        "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name",
    );
    out.insert("(schema)".into(), schema);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in tables {
        let without_rowid: bool = conn
            .query_row(
                "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema WHERE name = ?1",
                [&t],
                |r| r.get(0),
            )
            .unwrap();
        let order = if without_rowid { "1" } else { "rowid" };
        let sql = format!(
            "SELECT * FROM \"{}\" ORDER BY {order}",
            t.replace('"', "\"\"")
        );
        out.insert(t.clone(), rows(conn, &sql));
    }
    out
}

pub fn dump(db: &Path) -> Dump {
    dump_conn(&Connection::open(db).expect("open db"))
}

pub fn rows(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

pub fn scalar(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub fn sha256(path: &Path) -> String {
    preflight::backup::sha256_file(path).expect("hash")
}

/// Files in `dir` whose names start with `.preflight-` (temporary files left behind), or that
/// SQLite left beside a database (`-journal`, `-wal`, `-shm`).
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with(".preflight-")
                        || n.starts_with(".fixture-")
                        || n.ends_with("-journal")
                        || n.ends_with("-wal")
                        || n.ends_with("-shm")
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The first difference between two dumps, as one readable line (None when equal).
pub fn first_difference(a: &Dump, b: &Dump) -> Option<String> {
    for name in a.keys().chain(b.keys()) {
        let (ra, rb) = match (a.get(name), b.get(name)) {
            (Some(x), Some(y)) => (x, y),
            (x, y) => {
                return Some(format!(
                    "table {name}: present {} / {}",
                    x.is_some(),
                    y.is_some()
                ));
            }
        };
        if ra != rb {
            let i = ra
                .iter()
                .zip(rb.iter())
                .position(|(x, y)| x != y)
                .unwrap_or(ra.len().min(rb.len()));
            return Some(format!(
                "table {name}: {} vs {} rows; first difference at row {i}: {:?} vs {:?}",
                ra.len(),
                rb.len(),
                ra.get(i),
                rb.get(i)
            ));
        }
    }
    None
}

/// Assert two dumps are equal, reporting only the first difference.
#[track_caller]
pub fn assert_same(a: &Dump, b: &Dump, what: &str) {
    if let Some(d) = first_difference(a, b) {
        panic!("{what}: {d}");
    }
}

/// Snapshot a text under the top-level `snapshots/` directory (the one place the path is set).
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// A report as snapshots and byte comparisons see it: every duration removed.
pub fn redact(report: &preflight::report::Report) -> preflight::report::Report {
    report.without_timings()
}

/// A copy of the bundled fixture migrated with the built-in spec, at `dir/migrated.db`.
pub fn migrated_fixture(dir: &Path) -> PathBuf {
    let db = small_fixture_db(dir);
    let migrated = dir.join("migrated.db");
    std::fs::rename(&db, &migrated).unwrap();
    let r = run(&["migrate", s(&migrated), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    migrated
}

/// Run preflight with extra environment variables.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = preflight();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run preflight");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Everything but wall-clock columns (progress and journal times).
pub fn content_without_clocks(db: &Path) -> Dump {
    let c = Connection::open(db).unwrap();
    let mut d = dump_conn(&c);
    if d.contains_key("migration_progress") {
        d.insert(
            "migration_progress".into(),
            rows(&c, "SELECT rowid, migration_name, system_id, last_migrated_timestamp, rows_migrated FROM migration_progress ORDER BY rowid"),
        );
    }
    if d.contains_key("preflight_journal") {
        d.insert(
            "preflight_journal".into(),
            rows(&c, "SELECT id, migration_name, system_id, target_table, time_lo, time_hi, rowid_lo, rowid_hi, inserted FROM preflight_journal ORDER BY id"),
        );
    }
    d
}

/// Start `preflight migrate TARGET --yes --batch-size 40`, SIGKILL it once its log shows
/// `after_batches` committed batches (or after 60 s), and say whether it was still running then.
pub fn migrate_and_kill(target: &str, log: &Path, after_batches: usize) -> bool {
    let mut child = preflight()
        .args([
            "migrate",
            target,
            "--yes",
            "--batch-size",
            "40",
            "--log-file",
            s(log),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let mut finished = false;
    loop {
        let batches = std::fs::read_to_string(log)
            .map(|t| t.matches(": batch (").count())
            .unwrap_or(0);
        finished = finished || child.try_wait().unwrap().is_some();
        if finished
            || batches >= after_batches
            || start.elapsed() > std::time::Duration::from_secs(60)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    !finished
}

/// Rows of the bundled fixture's 5-minute point table whose point_id is the id of one of system
/// 1's energy points, in any system: what LiveOne's composite-key mistake rewrites.
pub fn rows_of_system_1_energy_ids() -> i64 {
    energy_id_rows("")
}

/// The same rows, of one system only.
pub fn rows_of_system_1_energy_ids_in(system: i64) -> i64 {
    energy_id_rows(&format!(" AND system_id = {system}"))
}

fn energy_id_rows(filter: &str) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    scalar(
        &Connection::open(&db).unwrap(),
        &format!(
            "SELECT count(*) FROM point_readings_agg_5m
              WHERE point_id IN (SELECT id FROM point_info WHERE system_id = 1 AND metric_type = 'energy'){filter}"
        ),
    )
}

/// A gzipped copy of a database (`<db>.gz` beside it), as a backup to rehearse on.
pub fn gz(db: &Path) -> PathBuf {
    use std::io::Write;
    let out = PathBuf::from(format!("{}.gz", db.display()));
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&out).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(&std::fs::read(db).unwrap()).unwrap();
    e.finish().unwrap();
    out
}

/// The failed checks of a JSON report, each as "check scope: what was found".
pub fn failed_checks(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| {
            format!(
                "{} {}: {}",
                c["check"], c["text"]["scope"], c["text"]["found"]
            )
        })
        .collect()
}
