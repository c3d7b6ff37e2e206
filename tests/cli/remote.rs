//! Remote targets: the same commands against a real libSQL server (sqld) on 127.0.0.1.

use std::path::Path;

use preflight::checks::SuiteOptions;
use preflight::db::Target;
use preflight::report::Report;
use preflight::spec::LoadedSpec;

use crate::common::sqld::Sqld;
use crate::common::*;

fn verify(target: Target) -> Report {
    preflight::verify::verify(
        &target,
        &preflight::verify::Options {
            spec: LoadedSpec::builtin(),
            suite: SuiteOptions {
                sample: 10,
                seed: 3,
                quick_integrity: false,
                skip_integrity: false,
                timeline: false,
            },
            baseline: Some(small_fixture_gz()),
        },
    )
    .unwrap()
}

/// A remote database as a local file: backed up through preflight, then extracted.
fn download(url: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let out = dir.join(format!("{name}-backups"));
    std::fs::create_dir(&out).unwrap();
    let r = run(&["backup", url, "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    let gz = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".db.gz"))
        .unwrap();
    let db = dir.join(format!("{name}.db"));
    assert_eq!(run(&["extract", s(&gz), "--out", s(&db)]).code, 0);
    db
}

#[test]
fn the_verify_report_of_a_server_equals_the_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let server = Sqld::start(Some(&db), false);
    let mut local = verify(Target::Local(db.clone())).without_timings();
    let mut remote = verify(Target::parse(&server.url()).unwrap()).without_timings();
    assert_eq!(remote.target.database, server.url());
    assert_eq!(remote.target.sha256, None);
    // apart from the identity header
    local.target = remote.target.clone();
    assert_eq!(
        serde_json::to_string_pretty(&remote).unwrap(),
        serde_json::to_string_pretty(&local).unwrap()
    );
    assert!(remote.passed());
    remote.checks.retain(|c| c.check == "schema.integrity");
    assert!(
        remote.checks.len() > 10,
        "integrity checked table by table on the server too"
    );
}

#[test]
fn a_remote_migration_leaves_what_a_local_one_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let local = small_fixture_db(dir.path());
    let server = Sqld::start(Some(&local), false);
    let r = run(&["migrate", &server.url(), "--yes", "--batch-size", "300"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("migrated http://127.0.0.1:"),
        "{}",
        r.stdout
    );
    assert_eq!(
        run(&["migrate", s(&local), "--yes", "--batch-size", "300"]).code,
        0
    );
    let remote = download(&server.url(), dir.path(), "remote");
    assert_same(
        &content_without_clocks(&remote),
        &content_without_clocks(&local),
        "remote vs local migration",
    );
    // and the remote undo is exact too
    assert_eq!(run(&["rollback", &server.url(), "--yes"]).code, 0);
    let r = run(&["diff", &server.url(), s(&small_fixture_gz())]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn a_client_killed_mid_migration_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let whole = small_fixture_db(dir.path());
    assert_eq!(
        run(&["migrate", s(&whole), "--yes", "--batch-size", "40"]).code,
        0
    );
    let fresh = dir.path().join("fresh.db");
    gunzip(&small_fixture_gz(), &fresh);
    let server = Sqld::start(Some(&fresh), false);
    let log = dir.path().join("remote.log");
    assert!(
        migrate_and_kill(&server.url(), &log, 9),
        "the client finished before it was killed"
    );
    let r = run(&["migrate", &server.url(), "--yes", "--batch-size", "40"]);
    assert_eq!(r.code, 0, "{r:?}");
    let remote = download(&server.url(), dir.path(), "resumed");
    assert_same(
        &content_without_clocks(&remote),
        &content_without_clocks(&whole),
        "resumed remote migration",
    );
}

#[test]
fn a_remote_backup_extracts_to_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let source = small_fixture_db(dir.path());
    let server = Sqld::start(Some(&source), false);
    let copy = download(&server.url(), dir.path(), "copy");
    assert_same(&dump(&copy), &dump(&source), "remote backup → extract");
    // the fingerprint over HTTP (paged: the big tables exceed a page) equals the local one
    let fp = |db: &str| {
        let r = run(&["fingerprint", db, "--format", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap();
        let mut fp = v["result"].clone();
        fp.as_object_mut().unwrap().remove("target");
        fp
    };
    let (remote, local) = (fp(&server.url()), fp(s(&source)));
    let rows = scalar(
        &rusqlite::Connection::open(&source).unwrap(),
        "SELECT count(*) FROM point_readings",
    );
    assert!(
        rows > 5_000,
        "point_readings spans several pages of a response"
    );
    assert_eq!(remote["tables"]["point_readings"]["rows"], rows);
    assert_eq!(remote, local);
    let manifest = std::fs::read_dir(dir.path().join("copy-backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .unwrap();
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    assert_eq!(m["source"], server.url());
    assert_eq!(m["tables"]["readings"], 2536);
    assert!(m["sqlite_version"].as_str().unwrap().ends_with("(server)"));
}

/// Rows written in pairs (one in each of two tables, in one transaction) while the backup runs:
/// a backup read table by table would catch one of a pair without the other.
#[test]
fn a_remote_backup_is_one_snapshot_while_the_server_takes_writes() {
    use preflight::db::{Access, Stmt, Value};
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    // the big tables sort between the two
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE aa_pair (n INTEGER); CREATE TABLE zz_pair (n INTEGER);")
        .unwrap();
    let server = Sqld::start(Some(&db), false);
    let url = server.url();
    let (stop, written) = (AtomicBool::new(false), AtomicI64::new(0));
    let copy = std::thread::scope(|sc| {
        sc.spawn(|| {
            let w = preflight::db::open(&Target::parse(&url).unwrap(), Access::Write).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let n = written.load(Ordering::Relaxed) + 1;
                let pair = |t: &str| {
                    Stmt::new(
                        format!("INSERT INTO {t} VALUES (?1)"),
                        vec![Value::Integer(n)],
                    )
                };
                w.write_batch(&[pair("aa_pair"), pair("zz_pair")]).unwrap();
                written.store(n, Ordering::Relaxed);
            }
        });
        while written.load(Ordering::Relaxed) < 3 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let copy = download(&url, dir.path(), "during");
        stop.store(true, Ordering::Relaxed);
        copy
    });
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let a = scalar(&conn, "SELECT count(*) FROM aa_pair");
    let b = scalar(&conn, "SELECT count(*) FROM zz_pair");
    let total = written.load(Ordering::Relaxed);
    assert_eq!(a, b, "both halves of every pair, or neither");
    assert!(
        a >= 3 && a < total,
        "the backup fell between writes: {a} pairs of {total}"
    );
}

#[test]
fn apply_is_atomic_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("aug.db");
    gunzip(&repo("fixtures/sql/liveone-2025-08.db.gz"), &original);
    let server = Sqld::start(Some(&original), false);
    let typo = repo("fixtures/sql/vendor-timezone/forward-missing-column.sql");
    let r = run(&["apply", &server.url(), "--sql", s(&typo), "--yes"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("forward-missing-column.sql:9: no such column: vendor_typ;")
            && r.stderr.contains("nothing of the script was kept"),
        "{}",
        r.stderr
    );
    // its first statement ran on the server before the error: it must be gone
    let same = run(&["diff", s(&original), &server.url()]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    let good = repo("fixtures/sql/vendor-timezone/forward.sql");
    let r = run(&["apply", &server.url(), "--sql", s(&good), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let changed = run(&["diff", s(&original), &server.url(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&changed.stdout).unwrap();
    let tables: Vec<&str> = v["result"]["diff"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["sqlite_sequence", "systems", "user_systems"]);
}

/// The token never appears: not in output, errors, logs, reports or manifests.
#[test]
fn a_sentinel_token_never_appears_anywhere() {
    const SENTINEL: &str = "sentinel-Zq8x-do-not-print";
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let server = Sqld::start(Some(&db), false);
    let url = server.url();
    let with_query = format!("{url}/?authToken={SENTINEL}-url");
    let env = [("TURSO_AUTH_TOKEN", SENTINEL), ("OTHER_TOKEN", SENTINEL)];
    let log = dir.path().join("migrate.log");
    let out = dir.path().join("backups");
    std::fs::create_dir(&out).unwrap();
    let report = dir.path().join("report.json");
    let md = dir.path().join("report.md");
    let runs = vec![
        run_env(&["verify", &url, "--report", s(&report)], &env),
        run_env(
            &[
                "verify",
                &with_query,
                "--report",
                s(&md),
                "--format",
                "markdown",
            ],
            &[],
        ),
        run_env(
            &[
                "migrate",
                &url,
                "--yes",
                "--log-file",
                s(&log),
                "--auth-token-env",
                "OTHER_TOKEN",
            ],
            &env,
        ),
        run_env(&["migrate", &with_query, "--dry-run"], &env),
        run_env(&["rollback", &url, "--yes", "--log-file", s(&log)], &env),
        run_env(&["backup", &url, "--out", s(&out)], &env),
        run_env(&["diff", &url, &with_query], &env),
        run_env(&["apply", &url, "--sql", "/no/such.sql", "--yes"], &env),
        run_env(
            &[
                "verify",
                "http://127.0.0.1:9/?authToken=sentinel-Zq8x-do-not-print",
            ],
            &env,
        ),
        run_env(
            &[
                "migrate",
                &with_query,
                "--yes",
                "--spec",
                s(&repo("specs/liveone-original.toml")),
                "--only",
                "raw",
                "--system",
                "1",
            ],
            &env,
        ),
    ];
    let mut texts: Vec<String> = runs
        .iter()
        .flat_map(|r| [r.stdout.clone(), r.stderr.clone()])
        .collect();
    for f in [&log, &report, &md] {
        texts.push(std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
    }
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            texts.push(std::fs::read_to_string(p).unwrap());
        }
    }
    assert!(
        runs[0].code == 1 && runs[2].code == 0 && runs[5].code == 0,
        "{:?}",
        runs.iter().map(|r| r.code).collect::<Vec<_>>()
    );
    assert!(
        texts.iter().any(|t| t.contains(&url)),
        "the URL itself is shown"
    );
    for t in &texts {
        assert!(!t.contains("sentinel-Zq8x"), "the token leaked: {t}");
    }
}

#[test]
fn a_server_that_is_down_or_refuses_the_token_gives_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}");
    let r = run(&["verify", &down]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        format!("preflight: {down}: cannot reach the server: connection refused")
    );
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let guarded = Sqld::start(Some(&db), true);
    let r = run_env(
        &["migrate", &guarded.url(), "--yes"],
        &[("TURSO_AUTH_TOKEN", "not-a-valid-jwt")],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&guarded.url()) && r.stderr.contains("refused the auth token"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("not-a-valid-jwt"));
}

/// A server that accepts connections and never answers.
fn silent_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(60) {
            match listener.accept() {
                Ok((conn, _)) => held.push(conn),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    });
    (port, h)
}

/// A server that accepts, never answers, and the command ends with a clear error within its
/// timeout (it used to wait forever).
#[test]
fn a_silent_server_ends_with_a_timeout_not_a_hang() {
    let (port, _h) = silent_server();
    let url = format!("http://127.0.0.1:{port}");
    for cmd in ["verify", "migrate", "fingerprint"] {
        let started = std::time::Instant::now();
        let mut args = vec![cmd, url.as_str(), "--connect-timeout", "2"];
        if cmd == "migrate" {
            args.push("--yes");
        }
        let r = run(&args);
        let took = started.elapsed();
        assert_eq!(r.code, 2, "{cmd}: {r:?}");
        assert_eq!(
            r.stderr.trim(),
            format!(
                "preflight: {url}: no answer from the server within 2 s (--connect-timeout); check the URL and that the server is up"
            )
        );
        assert!(
            took < std::time::Duration::from_secs(10),
            "{cmd} took {took:?}"
        );
    }
}

/// A libSQL server frozen (SIGSTOP) in the middle of a migration: the client gives up after
/// --timeout with one line, and once the server runs again, the same command resumes to what
/// an uninterrupted migration leaves.
#[test]
fn a_frozen_server_mid_migration_ends_with_an_error_then_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let whole = small_fixture_db(dir.path());
    assert_eq!(
        run(&["migrate", s(&whole), "--yes", "--batch-size", "40"]).code,
        0
    );
    let fresh = dir.path().join("fresh.db");
    gunzip(&small_fixture_gz(), &fresh);
    let server = Sqld::start(Some(&fresh), false);
    let log = dir.path().join("remote.log");
    let child = preflight()
        .args([
            "migrate",
            &server.url(),
            "--yes",
            "--batch-size",
            "40",
            "--timeout",
            "3",
            "--log-file",
            s(&log),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&log)
        .map(|t| t.matches(": batch (").count())
        .unwrap_or(0)
        < 3
    {
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let sqld = libc::pid_t::try_from(server.pid()).unwrap();
    // SAFETY: the server is our child
    unsafe { libc::kill(sqld, libc::SIGSTOP) };
    let frozen = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let waited = frozen.elapsed();
    unsafe { libc::kill(sqld, libc::SIGCONT) };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&server.url()) && stderr.contains("did not answer within 3 s (--timeout)"),
        "{stderr}"
    );
    assert!(
        waited < std::time::Duration::from_secs(15),
        "gave up after {waited:?}"
    );
    // the server runs again: the same command resumes
    let mut last = None;
    for _ in 0..10 {
        let r = run(&["migrate", &server.url(), "--yes", "--batch-size", "40"]);
        if r.code == 0 {
            last = None;
            break;
        }
        // the abandoned transaction holds the write lock until the server expires it
        assert!(
            r.stderr.contains("locked") || r.stderr.contains("busy"),
            "{r:?}"
        );
        last = Some(r);
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    assert!(last.is_none(), "{last:?}");
    let remote = download(&server.url(), dir.path(), "resumed");
    assert_same(
        &content_without_clocks(&remote),
        &content_without_clocks(&whole),
        "migration resumed after a frozen server",
    );
}

/// A server answering with an HTML error page (a proxy, a wrong URL): one line, the status and
/// the page's title, never the page.
#[test]
fn an_html_error_page_becomes_one_line() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(20) {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n";
            let _ = write!(
                conn,
                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let r = run(&["verify", &url]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("web page")
            && r.stderr.contains("502")
            && !r.stderr.contains('<')
            && r.stderr.contains(&url),
        "{}",
        r.stderr
    );
}

/// Hosts that do not resolve, malformed URLs and scheme typos: one line, no nested quoting,
/// the scheme that was meant suggested, and never a connection attempt to a host read out of
/// the user info.
#[test]
fn bad_urls_are_one_clear_line() {
    for (url, said) in [
        ("https://no-such-host.invalid", "does not resolve"),
        ("libsq://db.example.turso.io", "did you mean libsql://?"),
        ("htps://db.example.turso.io", "did you mean https://?"),
        (
            "https//db.example.turso.io",
            "did you mean https://db.example.turso.io?",
        ),
        ("http:/127.0.0.1:9/", "did you mean http://127.0.0.1:9/?"),
        ("http://user:pw?x@127.0.0.1:9", "not a valid URL"),
    ] {
        let r = run(&["verify", url, "--connect-timeout", "5"]);
        assert_eq!(r.code, 2, "{url}: {r:?}");
        assert_eq!(r.stderr_lines().len(), 1, "{url}: {}", r.stderr);
        assert!(r.stderr.contains(said), "{url}: {}", r.stderr);
        assert!(!r.stderr.contains('`'), "{url}: {}", r.stderr);
        assert!(!r.stderr.contains("no such file"), "{url}: {}", r.stderr);
    }
}

/// A sentinel token in every malformed place a URL can hold one, through the binary: never
/// on stdout or stderr, whatever the input parses as.
#[test]
fn a_sentinel_token_in_a_malformed_url_is_never_printed() {
    const T: &str = "SENTINEL-k2Pq-never-print";
    let mut forms = Vec::new();
    for scheme in ["http", "libsql", "https", "HTTP", "libsq", "htps", "ftp"] {
        for sep in ["://", ":/", ":", "//", ":///", ";//", " ://"] {
            for body in [
                format!("127.0.0.1:1/?authToken={T}"),
                format!("user:{T}@127.0.0.1:1"),
                format!("user:{T}?x@127.0.0.1:1"),
                format!("{T}@127.0.0.1:1/?auth_token={T}"),
                format!("127.0.0.1:1/#authToken={T}"),
                format!("127.0.0.1:{T}/"),
            ] {
                for lead in ["", " "] {
                    forms.push(format!("{lead}{scheme}{sep}{body}"));
                }
            }
        }
    }
    let env = [("TURSO_AUTH_TOKEN", T)];
    for form in &forms {
        let r = run_env(&["fingerprint", form, "--connect-timeout", "2"], &env);
        assert_eq!(r.code, 2, "{form}: {r:?}");
        assert_eq!(r.stderr_lines().len(), 1, "{form}: {}", r.stderr);
        assert!(
            !r.stderr.contains("SENTINEL") && !r.stdout.contains("SENTINEL"),
            "{form}: {}",
            r.stderr
        );
    }
}

/// A read-only token: the server drops the connection on a write (or a PRAGMA) instead of
/// answering; that is said in one line, not as "unexpected EOF during chunk size line" in nested
/// quotes. The same server takes a full-access token.
#[test]
fn a_read_only_token_is_named_as_such() {
    use crate::common::sqld::{FULL_ACCESS_TOKEN, READ_ONLY_TOKEN, RFC8032_TEST1_PUBLIC_KEY};
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let server = Sqld::start_with_key(Some(&db), Some(RFC8032_TEST1_PUBLIC_KEY));
    let r = run_env(
        &["migrate", &server.url(), "--yes"],
        &[("TURSO_AUTH_TOKEN", READ_ONLY_TOKEN)],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("read-only")
            && r.stderr.contains("write access")
            && !r.stderr.contains('`')
            && !r.stderr.contains("chunk size")
            && !r.stderr.contains(READ_ONLY_TOKEN),
        "{}",
        r.stderr
    );
    let r = run_env(
        &["migrate", &server.url(), "--yes", "--dry-run"],
        &[("TURSO_AUTH_TOKEN", FULL_ACCESS_TOKEN)],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

/// One write of the live app in the dual-write window, through the server: the legacy reading
/// `step` × 5 minutes after system 1's last one, its point rows and its 5-minute rows (one
/// sample each, as the live aggregator makes them), in one transaction.
fn live_write(w: &dyn preflight::db::Db, last: i64, step: i64) {
    use preflight::db::{Stmt, Value};
    let t = last + 300 * step;
    let end = (t + 299).div_euclid(300) * 300;
    let readings = "system_id, inverter_time, received_time, delay_seconds, solar_w, solar_local_w, solar_remote_w, load_w, battery_w, grid_w, battery_soc, fault_code, fault_timestamp, generator_status, solar_wh_interval, load_wh_interval, battery_in_wh_interval, battery_out_wh_interval, grid_in_wh_interval, grid_out_wh_interval, solar_kwh_total, load_kwh_total, battery_in_kwh_total, battery_out_kwh_total, grid_in_kwh_total, grid_out_kwh_total, created_at, sequence";
    let shifted = readings
        .replace("inverter_time, received_time", "?2, received_time + ?3")
        .replace("created_at", "created_at + ?3");
    let (sys, last_v, dt, t_v, end_v) = (
        Value::Integer(1),
        Value::Integer(last),
        Value::Integer(t - last),
        Value::Integer(t),
        Value::Integer(end * 1000),
    );
    w.write_batch(&[
        Stmt::new(
            format!("INSERT INTO readings ({readings}) SELECT {shifted} FROM readings WHERE system_id = ?1 AND inverter_time = ?4"),
            vec![sys.clone(), t_v.clone(), dt.clone(), last_v.clone()],
        ),
        Stmt::new(
            "INSERT INTO point_readings (system_id, point_id, session_id, measurement_time, received_time, value, error, data_quality, value_str)
             SELECT system_id, point_id, session_id, ?2 * 1000, received_time + ?3 * 1000, value, error, data_quality, value_str
             FROM point_readings WHERE system_id = ?1 AND measurement_time = ?4 * 1000",
            vec![sys.clone(), t_v.clone(), dt, last_v],
        ),
        Stmt::new(
            "INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at, session_id)
             SELECT system_id, point_id, ?3, value, value, value, value, value IS NOT NULL, value IS NULL, received_time, received_time, NULL
             FROM point_readings WHERE system_id = ?1 AND measurement_time = ?2 * 1000",
            vec![sys, t_v, end_v],
        ),
    ])
    .unwrap();
}

/// `verify` of a server that takes the live app's writes meanwhile: every check of one verify
/// reads one state (the server's read transaction), so no count moves between two checks and
/// nothing fails, the progress mark included (the rows after it came with their target rows).
#[test]
fn a_remote_verify_reads_one_state_while_the_server_takes_writes() {
    use preflight::db::Access;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let db = migrated_fixture(dir.path());
    let last = scalar(
        &rusqlite::Connection::open(&db).unwrap(),
        "SELECT max(inverter_time) FROM readings WHERE system_id = 1",
    );
    let server = Sqld::start(Some(&db), false);
    let url = server.url();
    // the writes alone keep every check green: verify a state with a few of them first
    let w = preflight::db::open(&Target::parse(&url).unwrap(), Access::Write).unwrap();
    for step in 1..=3 {
        live_write(w.as_ref(), last, step);
    }
    let r = run(&["verify", &url]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let (stop, written) = (AtomicBool::new(false), AtomicI64::new(3));
    let (stop, written) = (&stop, &written);
    let rounds = std::thread::scope(|sc| {
        let w = w;
        sc.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = written.load(Ordering::Relaxed) + 1;
                live_write(w.as_ref(), last, n);
                written.store(n, Ordering::Relaxed);
            }
        });
        let rounds: Vec<(i64, Run)> = (0..2)
            .map(|_| {
                let before = written.load(Ordering::Relaxed);
                let r = run(&["verify", &url, "--format", "json"]);
                (written.load(Ordering::Relaxed) - before, r)
            })
            .collect();
        // (the writer stops before anything is asserted)
        stop.store(true, Ordering::Relaxed);
        rounds
    });
    for (round, (during, r)) in rounds.iter().enumerate() {
        assert!(
            *during >= 2,
            "round {round}: the server took {during} writes during the verify"
        );
        let report: serde_json::Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("round {round}: {e}: {r:?}"));
        let failed: Vec<String> = failed_checks(&report);
        assert!(failed.is_empty(), "round {round}: {failed:?}");
        assert_eq!(r.code, 0, "round {round}: {}", r.stderr);
    }
}

/// A server drops a stream that stays idle for 10 s (libsql-server's hrana/http/stream.rs), and
/// with it a pinned read transaction: SQLite's integrity check of a large table runs longer than
/// that, so the checks' scheduler gives it a connection of its own, and the pinned one must still
/// be there afterwards, with the other checks run on it.
#[test]
fn a_pinned_read_outlives_a_long_check_on_a_connection_of_its_own() {
    use preflight::checks::{Task, schedule};
    use preflight::db::{Access, Db};
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let server = Sqld::start(Some(&db), false);
    let pinned =
        preflight::db::open(&Target::parse(&server.url()).unwrap(), Access::Snapshot).unwrap();
    assert!(pinned.pinned());
    let before = pinned.query("SELECT count(*) FROM readings", &[]).unwrap();
    let checked = std::sync::atomic::AtomicBool::new(false);
    let integrity: Task = Box::new(|own: &dyn Db| {
        assert!(!own.pinned(), "the check runs outside the pinned read");
        let rows = own.query("PRAGMA quick_check", &[])?;
        assert_eq!(
            format!("{:?}", rows[0][0]),
            format!("{:?}", preflight::db::Value::Text("ok".into()))
        );
        // as long as a large table's check: longer than the server keeps an idle stream
        std::thread::sleep(std::time::Duration::from_secs(13));
        checked.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(Vec::new())
    });
    let other: Task = Box::new(|db: &dyn Db| {
        assert!(db.pinned(), "the other checks read the pinned state");
        Ok(Vec::new())
    });
    let (_, timings) = schedule(
        pinned.as_ref(),
        4,
        &[("schema.integrity", integrity), ("values", other)],
        vec![0, 1],
    )
    .unwrap();
    assert!(checked.load(std::sync::atomic::Ordering::SeqCst));
    assert!(timings["check:schema.integrity"] >= 13.0, "{timings:?}");
    // the pinned read is still open, on the same state
    assert_eq!(
        pinned.query("SELECT count(*) FROM readings", &[]).unwrap(),
        before
    );
}

/// A server's snapshot handle spreads work only over twins proved to read its very state: on a
/// quiet server it has one, which still reads that state after a later write; a commit between
/// the twin's first read and the snapshot's first read leaves it none (the work then stays on
/// the one handle).
#[test]
fn a_snapshot_shares_work_only_with_a_twin_proved_to_read_its_state() {
    use preflight::db::remote::RemoteDb;
    use preflight::db::{Access, Db};
    let dir = tempfile::tempdir().unwrap();
    let db = small_fixture_db(dir.path());
    let server = Sqld::start(Some(&db), false);
    let target = Target::parse(&server.url()).unwrap();
    let Target::Remote(url) = &target else {
        unreachable!()
    };
    let token = url.token.0.clone();
    let w = preflight::db::open(&target, Access::Write).unwrap();
    let count = |d: &dyn Db| {
        format!(
            "{:?}",
            d.query("SELECT count(*) FROM readings", &[]).unwrap()
        )
    };
    let write = || {
        w.execute(
            "INSERT INTO readings (system_id, inverter_time, received_time) SELECT system_id, inverter_time + 1, received_time FROM readings ORDER BY rowid DESC LIMIT 1",
            &[],
        )
        .unwrap();
    };

    let pinned =
        RemoteDb::open_with(&target, token.clone(), Access::Snapshot, 1, &mut || {}).unwrap();
    let twins = pinned.twins();
    assert_eq!(twins.len(), 1, "a quiet server gives the snapshot its twin");
    assert!(twins[0].pinned());
    let seen = count(&pinned);
    write();
    assert_ne!(count(w.as_ref()), seen, "the write landed");
    assert_eq!(count(twins[0]), seen, "the twin reads the snapshot's state");
    assert_eq!(count(&pinned), seen);
    // spread over the snapshot and its twin, every item reads the same state
    let counts =
        preflight::parallel::map(&pinned, 4, (0..8).collect(), |d, _: i32| Ok(count(d))).unwrap();
    assert_eq!(counts, vec![seen.clone(); 8]);

    let mut writes = 0;
    let pinned = RemoteDb::open_with(&target, token, Access::Snapshot, 1, &mut || {
        write();
        writes += 1;
    })
    .unwrap();
    assert_eq!(writes, 1);
    assert!(pinned.twins().is_empty(), "a commit came between: no twin");
    assert_eq!(
        count(&pinned),
        count(w.as_ref()),
        "the snapshot began after the commit"
    );

    // the proof reads nothing a read-only token may not
    use crate::common::sqld::{READ_ONLY_TOKEN, RFC8032_TEST1_PUBLIC_KEY};
    let server = Sqld::start_with_key(Some(&db), Some(RFC8032_TEST1_PUBLIC_KEY));
    let target = Target::parse(&server.url()).unwrap();
    let pinned = RemoteDb::open_with(
        &target,
        READ_ONLY_TOKEN.into(),
        Access::Snapshot,
        1,
        &mut || {},
    )
    .unwrap();
    assert_eq!(pinned.twins().len(), 1);
}
