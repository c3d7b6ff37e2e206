//! The migration tools the tests compare with, and a small harness that applies a directory the
//! way preflight's model of a tool says the tool does: its statements, its transactions, its
//! foreign-key setting and its tracking rows. Where the real tool is installed (scripts/test.sh
//! installs dbmate and drizzle-kit from npm under .tools/), a test runs both and compares.

use std::path::{Path, PathBuf};
use std::process::Command;

use preflight::migrations::{self, Clock, Grouping, Migration, Tool, Transactions};
use rusqlite::Connection;

/// A tool installed by scripts/test.sh, from its environment variable or its place in .tools/.
fn installed(var: &str, rel: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| super::repo(rel));
    assert!(
        path.is_file(),
        "no {var} at {}: run scripts/test.sh, which installs the migration tools the tests compare with",
        path.display()
    );
    path
}

pub fn dbmate() -> PathBuf {
    installed(
        "PREFLIGHT_DBMATE",
        ".tools/migration-tools/node_modules/.bin/dbmate",
    )
}

pub fn drizzle_kit() -> PathBuf {
    installed(
        "PREFLIGHT_DRIZZLE_KIT",
        ".tools/migration-tools/node_modules/.bin/drizzle-kit",
    )
}

/// A fixture project's migrations directory.
pub fn fixture_dir(tool: &str) -> PathBuf {
    let rel = match tool {
        "drizzle" => "drizzle/drizzle",
        "dbmate" => "dbmate/db/migrations",
        "prisma" => "prisma/prisma/migrations",
        other => return super::repo(&format!("fixtures/migrations/{other}/migrations")),
    };
    super::repo(&format!("fixtures/migrations/{rel}"))
}

/// Copy a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn exec(conn: &Connection, stmts: &[preflight::db::Stmt]) {
    for s in stmts {
        let params = rusqlite::params_from_iter(s.params.iter());
        conn.execute(&s.sql, params)
            .unwrap_or_else(|e| panic!("{}: {e}", s.sql));
    }
}

fn in_tx(conn: &Connection, f: impl FnOnce()) {
    conn.execute_batch("BEGIN").unwrap();
    f();
    conn.execute_batch("COMMIT").unwrap();
}

fn run_statements(conn: &Connection, m: &Migration) {
    for s in &m.up {
        conn.execute_batch(&s.sql)
            .unwrap_or_else(|e| panic!("{}:{}: {e}", s.file.display(), s.line));
    }
}

/// Apply the first `upto` migrations of `dir` (all when None) to the database at `db` as
/// preflight's model of `tool` says the tool does.
pub fn apply_as_modelled(tool: Tool, dir: &Path, db: &Path, upto: Option<usize>) {
    apply_range(tool, dir, db, 0, upto);
}

/// Apply migrations `from..upto` of `dir` (to the last when None) as modelled.
pub fn apply_range(tool: Tool, dir: &Path, db: &Path, from: usize, upto: Option<usize>) {
    let all = migrations::load(tool, dir).unwrap();
    let ms = &all[from..upto.unwrap_or(all.len())];
    let conn = Connection::open(db).unwrap();
    let format = tool.format();
    let table = format.table();
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    if exists == 0 && tool != Tool::Liveone {
        conn.execute_batch(&migrations::create_table(tool, table))
            .unwrap();
    }
    let Some(first) = ms.first() else { return };
    let keys = if first.execution.foreign_keys == migrations::ForeignKeys::On {
        "ON"
    } else {
        "OFF"
    };
    conn.execute_batch(&format!("PRAGMA foreign_keys = {keys}"))
        .unwrap();
    if first.execution.grouping == Grouping::AllPending {
        in_tx(&conn, || {
            for m in ms {
                run_statements(&conn, m);
                exec(
                    &conn,
                    &migrations::tracking(tool, m, table, &Clock::now()).with_migration,
                );
            }
        });
        return;
    }
    for m in ms {
        // a clock per migration: prisma's row id is new for each
        let t = migrations::tracking(tool, m, table, &Clock::now());
        if !t.before.is_empty() {
            in_tx(&conn, || exec(&conn, &t.before));
        }
        match m.execution.transactions {
            Transactions::Script => in_tx(&conn, || {
                run_statements(&conn, m);
                exec(&conn, &t.with_migration);
            }),
            _ => {
                run_statements(&conn, m);
                exec(&conn, &t.with_migration);
            }
        }
        if !t.after.is_empty() {
            in_tx(&conn, || exec(&conn, &t.after));
        }
    }
}

/// A copy of `dir` keeping only the first `n` migrations (by sorted file name; drizzle's
/// journal trimmed to match).
pub fn first_n(tool: &str, dir: &Path, n: usize, to: &Path) -> PathBuf {
    copy_dir(dir, to);
    match tool {
        "drizzle" => {
            let p = to.join("meta/_journal.json");
            let mut j: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            j["entries"].as_array_mut().unwrap().truncate(n);
            std::fs::write(&p, serde_json::to_string_pretty(&j).unwrap()).unwrap();
        }
        "prisma" => {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(to)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            for d in &dirs[n..] {
                std::fs::remove_dir_all(d).unwrap();
            }
        }
        _ => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(to)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect();
            files.sort();
            // golang-migrate and sqlx keep an up and a down file per migration
            let per = if files
                .iter()
                .any(|f| f.to_string_lossy().ends_with(".down.sql"))
            {
                2
            } else {
                1
            };
            for f in &files[n * per..] {
                std::fs::remove_file(f).unwrap();
            }
        }
    }
    to.to_path_buf()
}

/// Run a real tool; panics with its output when it fails.
pub fn real(cmd: &mut Command) {
    let out = cmd.output().expect("run the migration tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `dbmate up` on `db` with the migrations of `dir`.
pub fn dbmate_up(dir: &Path, db: &Path) {
    real(
        Command::new(dbmate())
            .arg("--url")
            .arg(format!("sqlite:{}", db.display()))
            .arg("--migrations-dir")
            .arg(dir)
            .args(["--no-dump-schema", "up"]),
    );
}

/// `drizzle-kit migrate` (libSQL client) on `db` with the drizzle folder `dir`.
pub fn drizzle_migrate(dir: &Path, db: &Path, work: &Path) {
    let config = work.join("drizzle.config.js");
    std::fs::write(
        &config,
        format!(
            "module.exports = {{ dialect: \"turso\", out: {:?}, dbCredentials: {{ url: {:?} }} }};\n",
            dir.display().to_string(),
            format!("file:{}", db.display())
        ),
    )
    .unwrap();
    real(
        Command::new(drizzle_kit())
            .current_dir(work)
            .arg("migrate")
            .arg("--config")
            .arg(&config),
    );
}
