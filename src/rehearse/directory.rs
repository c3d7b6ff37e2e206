//! `rehearse --migrations DIR`: every migration of a project's directory that the database has
//! not applied, in order, on a copy of the backup, each exactly as its tool runs it (its
//! transactions, its no-transaction marker, its foreign-key setting, its tracking rows written
//! as the tool writes them, under the frozen clock). Per migration, the pipeline's stages
//! (`rehearse::pipeline`): forward; its EXPECT file from `--expect-dir` by the migration's name;
//! the tool's own rule must skip it on a second run (nothing pending), or a second run must
//! change nothing where nothing records it; its down migration where the format has one, with an
//! exact-restore proof; redeploy. Then the whole result: integrity, foreign keys, and the tool's
//! status now clean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::OnStage;
use super::pipeline::{self, Checks, Ended, Migration, Outcome, Plan, Rehearsal, Rerun};
use crate::checks::{self, result};
use crate::db::{DbExt, Stmt, Value};
use crate::error::Error;
use crate::migrate::expect::Expect;
use crate::migrate::runner::{Conn, ForeignKeys, LocalSession, Runner};
use crate::migrate::script::{Script, ScriptError};
use crate::migrations::file::{bind, refusal, runner_for, script_of};
use crate::migrations::{
    self, Clock, Grouping, Migration as DirMigration, MigrationsError, State, Tool, Tracking,
    TrackingWrite,
};
use crate::report::{Example, Fact, Report, RerunDecision, ScopeHint, SpecIdentity, Status};

pub struct Options {
    /// The backup; None: the bundled fixture.
    pub backup: Option<PathBuf>,
    /// The migrations directory.
    pub dir: PathBuf,
    /// The tool, when detection from the files and the tracking table cannot tell.
    pub tool: Option<Tool>,
    /// The tracking table, when it is not the tool's default name.
    pub table: Option<String>,
    /// EXPECT files by migration name (`<name>.toml`).
    pub expect_dir: Option<PathBuf>,
    /// The "now" every stage sees, in Unix milliseconds; None: the backup's time.
    pub now: Option<i64>,
    /// Write the database as the migrations leave it to this new file (never overwritten).
    pub keep: Option<PathBuf>,
}

/// A migration's name as `--expect-dir` files name it: its file name without `.sql` (and
/// without `.up`), or its directory's name for prisma's `<dir>/migration.sql`.
pub fn migration_name(m: &DirMigration) -> String {
    let file = m
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file == "migration.sql"
        && let Some(parent) = m.path.parent().and_then(|p| p.file_name())
    {
        return parent.to_string_lossy().into_owned();
    }
    let stem = file.strip_suffix(".sql").unwrap_or(&file);
    stem.strip_suffix(".up").unwrap_or(stem).to_string()
}

/// The EXPECT files of `--expect-dir`, by migration name, with their texts.
fn expectations(dir: &Path) -> Result<BTreeMap<String, (PathBuf, Expect, String)>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        MigrationsError::invalid(
            dir,
            format!("{e} (--expect-dir names a directory of <migration>.toml files)"),
        )
    })?;
    let mut out = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".toml"))
        else {
            continue;
        };
        let (expect, text) = Expect::load(&path)?;
        out.insert(name.to_string(), (path, expect, text));
    }
    Ok(out)
}

/// The tool's execution, in words, for the report's header.
fn describe(tool: Tool, m: &DirMigration) -> String {
    let e = &m.execution;
    if tool == Tool::Liveone {
        return format!(
            "liveone: each file piped into `turso db shell` as it is written ({}); each file records itself",
            Runner::turso_shell().describe()
        );
    }
    format!(
        "{tool}: foreign keys {} at start; {}; {}; pragmas inside a transaction have no effect; the first error stops the run",
        match e.foreign_keys {
            ForeignKeys::On => "on",
            ForeignKeys::Off => "off",
        },
        match e.grouping {
            Grouping::AllPending =>
                "every pending migration and its tracking row in one transaction: a failure keeps nothing",
            Grouping::PerMigration =>
                "a transaction per migration (none for a file marked so): a failure keeps the migrations before it",
        },
        match e.tracking {
            TrackingWrite::WithMigration =>
                "its tracking row written in the migration's transaction",
            TrackingWrite::After => "its tracking row written in a transaction of its own after it",
            TrackingWrite::BeforeAndAfter =>
                "its tracking row marked started before it and done after it, each in a transaction of its own",
            TrackingWrite::ByTheScript => "each file records itself",
        }
    )
}

/// One pending migration as a [`Migration`] of the pipeline.
struct Unit<'a> {
    tool: Tool,
    table: &'a str,
    m: &'a DirMigration,
    /// Every migration of the directory, for the tool's own rule.
    all: &'a [DirMigration],
    forward: Script,
    tracking: Tracking,
    runner: Runner,
    down: Option<(Script, Tracking, Runner)>,
}

/// Run a tool's own statements in a transaction of their own.
fn own_transaction(session: &mut LocalSession, stmts: &[Stmt], table: &str) -> Result<(), Error> {
    if stmts.is_empty() {
        return Ok(());
    }
    let fail = |e: crate::migrate::runner::RunError| {
        Error::Db(crate::db::DbError::Open {
            target: format!("tracking table {table}"),
            message: e.message,
        })
    };
    session.run(0, "BEGIN", true, 0).map_err(fail)?;
    for s in stmts {
        if let Err(e) = session.run(0, &bind(s), false, 0) {
            let _ = session.run(0, "ROLLBACK", true, 0);
            return Err(fail(e));
        }
    }
    session.run(0, "COMMIT", true, 0).map_err(fail)?;
    Ok(())
}

impl Unit<'_> {
    fn execute(
        &self,
        r: &Rehearsal,
        script: &Script,
        runner: &Runner,
        tracking: &Tracking,
    ) -> Result<Outcome, Error> {
        if let Some(why) = &self.m.refused {
            return Ok(Outcome::Refused(refusal(&self.m.path, why)));
        }
        let mut session = r.session()?;
        own_transaction(&mut session, &tracking.before, self.table)?;
        let run = match runner.execute(script, &mut session) {
            Ok(run) => run,
            Err(e @ ScriptError::Refused { .. }) => return Ok(Outcome::Refused(e)),
            Err(e) => return Err(e.into()),
        };
        if run.failures.is_empty() {
            own_transaction(&mut session, &tracking.after, self.table)?;
        }
        Ok(Outcome::Script(run))
    }
}

impl Migration for Unit<'_> {
    fn identity(&self) -> String {
        self.m.path.display().to_string()
    }

    fn undo_identity(&self) -> Option<String> {
        self.m.down.as_ref().map(|d| d.path.display().to_string())
    }

    fn script(&self) -> Option<&Script> {
        Some(&self.forward)
    }

    fn forward(&mut self, r: &Rehearsal, _again: bool) -> Result<Outcome, Error> {
        self.execute(r, &self.forward, &self.runner, &self.tracking)
    }

    fn undo(&mut self, r: &Rehearsal) -> Option<Result<Outcome, Error>> {
        let (script, tracking, runner) = self.down.as_ref()?;
        Some(self.execute(r, script, runner, tracking))
    }

    fn rerun(&self, r: &Rehearsal) -> Result<Rerun, Error> {
        let format = self.tool.format();
        let applied = format.applied(r.work.as_ref(), self.table)?;
        let entry = format
            .status(self.all, &applied)
            .into_iter()
            .find(|e| e.key == self.m.key);
        Ok(match entry {
            Some(e) if e.state == State::Applied => Rerun::Decided {
                skipped: true,
                why: Fact::Rerun {
                    tool: self.tool.to_string(),
                    decision: RerunDecision::Recorded {
                        table: self.table.to_string(),
                    },
                },
            },
            Some(e) if e.state == State::Untracked => Rerun::Runs,
            Some(e) => Rerun::Decided {
                skipped: false,
                why: Fact::Rerun {
                    tool: self.tool.to_string(),
                    decision: RerunDecision::RunsAgain {
                        state: e.state.as_str().to_string(),
                        detail: (!e.detail.is_empty()).then(|| e.detail.clone()),
                    },
                },
            },
            None => Rerun::Decided {
                skipped: false,
                why: Fact::Rerun {
                    tool: self.tool.to_string(),
                    decision: RerunDecision::NotListed,
                },
            },
        })
    }
}

/// A frozen, deterministic clock for tracking rows: the rehearsal's instant, no time spent, and
/// a row id made from the instant and the migration (prisma's UUID v4 shape).
fn clock(unix_ms: i64, m: &DirMigration) -> Clock {
    let digest = Sha256::digest(format!("{unix_ms}:{}", m.key).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Clock {
        now: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        elapsed: std::time::Duration::ZERO,
        row_id: uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string(),
    }
}

fn identity(
    tool: Option<Tool>,
    dir: &Path,
    all: &[DirMigration],
    expect: &BTreeMap<String, (PathBuf, Expect, String)>,
    expect_dir: Option<&Path>,
) -> SpecIdentity {
    let mut h = Sha256::new();
    for m in all {
        let text = std::fs::read(&m.path).unwrap_or_default();
        h.update((text.len() as u64).to_le_bytes());
        h.update(&text);
    }
    for (_, _, t) in expect.values() {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    let mut origin = format!("directory {}", dir.display());
    if let Some(d) = expect_dir {
        origin.push_str(&format!(", expect {}", d.display()));
    }
    SpecIdentity {
        kind: "migrations".into(),
        name: tool.map_or_else(|| "migrations".into(), |t| format!("{t} migrations")),
        origin,
        sha256: crate::backup::hex(&h.finalize()),
    }
}

pub fn rehearse(opts: &Options, on_stage: OnStage) -> Result<Report, Error> {
    if let Some(k) = &opts.keep
        && k.exists()
    {
        return Err(MigrationsError::invalid(
            k,
            "already exists (the migrated copy is written to a new file only)",
        )
        .into());
    }
    let expect = match &opts.expect_dir {
        Some(d) => expectations(d)?,
        None => BTreeMap::new(),
    };
    let mut r = Rehearsal::extract(
        opts.backup.as_deref(),
        identity(None, &opts.dir, &[], &expect, opts.expect_dir.as_deref()),
        None,
        on_stage,
    )?;
    let clock_words = r.freeze(opts.now)?;
    let now_ms = r.clock.as_ref().map_or(0, |c| c.unix_ms);

    // the tool and its table, by the files and the copy's tracking table
    let found = migrations::detect(&opts.dir, r.work.as_ref(), opts.tool, opts.table.as_deref())?;
    let tool = found.tool;
    let format = tool.format();
    let all = format.load(&opts.dir)?;
    let names: Vec<String> = all.iter().map(migration_name).collect();
    for (name, (path, _, _)) in &expect {
        if !names.contains(name) {
            return Err(MigrationsError::invalid(
                path,
                format!(
                    "names no migration of {} (an EXPECT file is <migration>.toml, e.g. {}.toml)",
                    opts.dir.display(),
                    names.last().map_or("0001_name", String::as_str)
                ),
            )
            .into());
        }
    }
    r.report.spec = identity(
        Some(tool),
        &opts.dir,
        &all,
        &expect,
        opts.expect_dir.as_deref(),
    );
    r.report.runner = Some(format!(
        "{}; {clock_words}",
        all.first()
            .map_or_else(|| tool.to_string(), |m| describe(tool, m))
    ));
    let table = found
        .table
        .clone()
        .unwrap_or_else(|| opts.table.clone().unwrap_or_else(|| format.table().into()));
    r.fingerprint()?;

    let pending = pending_stage(
        &mut r,
        tool,
        &found.why,
        &table,
        &all,
        found.table.is_some(),
    )?;

    let mut stopped: Option<(usize, Ended)> = None;
    for (n, &i) in pending.iter().enumerate() {
        let m = &all[i];
        let label = migration_name(m);
        if let Some((at, _)) = stopped {
            let failed = migration_name(&all[pending[at]]);
            r.skip(
                &format!("forward {label}"),
                &format!("{tool} stops at the failed migration {failed}"),
            );
            continue;
        }
        r.mark()?;
        let c = clock(now_ms, m);
        let previous = i.checked_sub(1).map(|p| &all[p]);
        let mut unit = Unit {
            tool,
            table: &table,
            m,
            all: &all,
            forward: script_of(
                &m.path,
                &m.up,
                &migrations::tracking(tool, m, &table, &c).with_migration,
            ),
            tracking: migrations::tracking(tool, m, &table, &c),
            runner: runner_for(tool, m.execution.foreign_keys, m.execution.transactions),
            down: m.down.as_ref().map(|d| {
                let t = migrations::untracking(tool, m, previous, &table);
                (
                    script_of(&d.path, &d.statements, &t.with_migration),
                    t,
                    runner_for(tool, m.execution.foreign_keys, d.transactions),
                )
            }),
        };
        let declared = expect.get(&label);
        let default = Expect::default();
        let ended = pipeline::run(
            &mut r,
            &mut unit,
            &Plan {
                label: Some(label.clone()),
                checks: Checks::Expect {
                    expect: declared.map_or(&default, |(_, e, _)| e),
                    declared: declared.is_some(),
                },
                what: "the migration",
                hint: match &opts.expect_dir {
                    Some(d) => ScopeHint::NoFile {
                        path: d.join(format!("{label}.toml")).display().to_string(),
                    },
                    None => ScopeHint::GiveExpectDir {
                        file: format!("{label}.toml"),
                    },
                },
                no_undo: (format!("{tool} has no down migration for it"), None),
                redeploy: true,
                bookkeeping: Some(table.clone()),
            },
        )?;
        if ended != Ended::Forwarded {
            stopped = Some((n, ended));
        }
    }

    let mut kept_nothing = None;
    if let Some((at, _)) = stopped
        && all[pending[at]].execution.grouping == Grouping::AllPending
    {
        // the tool ran every pending migration in one transaction: it keeps none of them
        r.restore()?;
        if tool != Tool::Liveone && found.table.is_none() {
            create_table(&mut r, tool, &table)?;
        }
        kept_nothing = Some(format!(
            "{tool} runs every pending migration in one transaction: none of the {} is kept",
            pipeline::plural(pending.len() as u64, "migration")
        ));
    }
    result_stage(&mut r, opts, tool, &table, kept_nothing)?;
    r.size_after = Some(crate::fsutil::size(&r.path)?);
    if let Some(k) = &opts.keep {
        r.settle()?;
        std::fs::copy(&r.path, k).map_err(|e| crate::fsutil::FsError::io(k, e))?;
    }
    Ok(r.finish())
}

/// Create the tool's tracking table on the work copy, as the tool does before its first run.
fn create_table(r: &mut Rehearsal, tool: Tool, table: &str) -> Result<(), Error> {
    let session = r.session()?;
    session
        .conn()
        .execute_batch(&migrations::create_table(tool, table))
        .map_err(|e| {
            Error::Db(crate::db::DbError::Open {
                target: format!("tracking table {table}"),
                message: e.to_string(),
            })
        })?;
    Ok(())
}

/// `pending`: what the tool would run, by its own rule on the copy's tracking table; what stops
/// or warns it (edited, failed, blocked migrations; statements it never runs); its tracking
/// table created where the tool creates it. Returns the pending migrations' indices, in order.
fn pending_stage(
    r: &mut Rehearsal,
    tool: Tool,
    why: &str,
    table: &str,
    all: &[DirMigration],
    has_table: bool,
) -> Result<Vec<usize>, Error> {
    r.stage("pending", |r| {
        let format = tool.format();
        let applied = if has_table {
            format.applied(r.work.as_ref(), table)?
        } else {
            Vec::new()
        };
        let entries = format.status(all, &applied);
        let mut pending = Vec::new();
        let mut failing = 0;
        for e in &entries {
            let at = all.iter().position(|m| m.key == e.key && e.file.is_some());
            match (e.state, at) {
                (State::Pending, Some(i)) => pending.push(i),
                (State::Applied, _) => {}
                (state, _) => {
                    let mut c = result(
                        "migrations.status",
                        crate::report::Scope {
                            tool: Some(tool.to_string()),
                            migration: Some(format!("{} {}", e.key, e.name)),
                            ..Default::default()
                        },
                    );
                    c.expected = crate::report::Fixed::AppliedOrRehearsedHere.into();
                    c.found = Fact::MigrationState {
                        state: state.as_str().to_string(),
                        detail: (!e.detail.is_empty()).then(|| e.detail.clone()),
                    };
                    if state.fails() {
                        c.status = Status::Fail;
                        c.violations = 1;
                        failing += 1;
                    } else {
                        c.status = Status::Warn;
                    }
                    r.report.checks.push(c);
                }
            }
        }
        // a statement the tool never runs (drizzle on @libsql/client runs only the first of a
        // chunk): in a pending migration the change it reads as silently never happens, which
        // fails; in one already applied it is history, and a warning
        let mut never = 0;
        for (i, m) in all.iter().enumerate() {
            let is_pending = pending.contains(&i);
            for s in &m.unexecuted {
                let tool = tool.to_string();
                let c = super::script::never_runs_in(&tool, s, !is_pending);
                r.report.checks.push(if is_pending {
                    never += 1;
                    let mut ex = super::script::never_runs_examples(&tool, s);
                    ex.push(Example::Breakpoint {
                        marker: migrations::BREAKPOINT.to_string(),
                    });
                    c.with_examples(ex)
                } else {
                    c.with_status(Status::Warn)
                });
            }
        }
        if !has_table && tool != Tool::Liveone {
            create_table(r, tool, table)?;
        }
        let names: Vec<String> = pending.iter().map(|&i| migration_name(&all[i])).collect();
        let detail = format!(
            "{tool} ({why}), table {table}{}: {} of {} pending{}{}{}",
            if has_table {
                ""
            } else {
                " (created, as the tool does)"
            },
            pending.len(),
            all.len(),
            if names.is_empty() {
                String::new()
            } else {
                format!(": {}", names.join(", "))
            },
            if failing > 0 {
                format!(
                    "; {} the tool would not run",
                    pipeline::plural(failing, "migration")
                )
            } else {
                String::new()
            },
            if never > 0 {
                format!(
                    "; {} of a pending migration the tool never runs",
                    pipeline::plural(never, "statement")
                )
            } else {
                String::new()
            }
        );
        Ok((
            pending,
            if failing > 0 || never > 0 {
                Status::Fail
            } else {
                Status::Pass
            },
            detail,
        ))
    })
}

/// `result`: the database as every pending migration leaves it: integrity, no foreign key
/// pointing nowhere that was not so before, and the tool's own status with nothing pending.
fn result_stage(
    r: &mut Rehearsal,
    opts: &Options,
    tool: Tool,
    table: &str,
    kept_nothing: Option<String>,
) -> Result<(), Error> {
    r.stage("result", |r| {
        let n0 = r.report.checks.len();
        let suite = checks::SuiteOptions {
            sample: 0,
            seed: 0,
            quick_integrity: false,
            skip_integrity: false,
            timeline: false,
        };
        let (mut found, _) = checks::generic::generic_results(r.work.as_ref(), &suite)?;
        let mut fk_rows = 0;
        for c in &mut found {
            if c.check != "schema.foreign_keys" || c.status != Status::Fail {
                continue;
            }
            let Some(name) = c.scope.table.clone() else {
                continue;
            };
            let before = if r.base.table_exists(&name)? {
                r.base
                    .query(
                        "SELECT count(*) FROM pragma_foreign_key_check(?1)",
                        &[Value::Text(name)],
                    )?
                    .first()
                    .and_then(|row| crate::db::as_i64(&row[0]))
                    .unwrap_or(0)
            } else {
                0
            };
            if before as u64 >= c.violations {
                c.status = Status::Warn;
                c.found = Fact::BeforeMigrations {
                    now: Box::new(c.found.clone()),
                    before: before.max(0) as u64,
                };
            } else {
                fk_rows += c.violations;
            }
        }
        let integrity_ok = !found
            .iter()
            .any(|c| c.check == "schema.integrity" && c.status == Status::Fail);
        r.report.checks.extend(found);
        let status = migrations::status(r.work.as_ref(), &opts.dir, Some(tool), Some(table))?;
        let left: Vec<String> = status
            .entries
            .iter()
            .filter(|e| e.state.fails())
            .map(|e| format!("{} {}", e.state.as_str(), e.key))
            .collect();
        r.report
            .checks
            .extend(checks::generic::migration_results(&status));
        let failed = r.report.checks[n0..]
            .iter()
            .any(|c| c.status == Status::Fail);
        let mut detail = format!(
            "integrity {}; {}; {} status: {}",
            if integrity_ok { "ok" } else { "FAILED" },
            if fk_rows == 0 {
                "no new row points to a missing parent".to_string()
            } else {
                format!(
                    "{} to a missing parent",
                    pipeline::plural(fk_rows, "new row pointing")
                )
            },
            tool,
            if left.is_empty() {
                "nothing pending".to_string()
            } else {
                left.join(", ")
            }
        );
        if let Some(k) = kept_nothing {
            detail = format!("{k}; {detail}");
        }
        Ok(((), if failed { Status::Fail } else { Status::Pass }, detail))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::Key;

    #[test]
    fn parameters_become_literals_and_quoted_marks_stay() {
        let s = Stmt::new(
            "INSERT INTO \"t?\" (a, b, c) VALUES (?2, ?1, '?'), (?, ?)",
            vec![
                Value::Text("it's".into()),
                Value::Integer(7),
                Value::Blob(vec![0xab, 0x01]),
            ],
        );
        assert_eq!(
            bind(&s),
            "INSERT INTO \"t?\" (a, b, c) VALUES (7, 'it''s', '?'), ('it''s', 7)"
        );
        let blob = Stmt::new("VALUES (?3)", s.params.clone());
        assert_eq!(bind(&blob), "VALUES (X'ab01')");
    }

    #[test]
    fn a_tools_refusal_keeps_its_line() {
        let e = refusal(
            Path::new("m/0001_x.sql"),
            "m/0001_x.sql:7: a chunk between breakpoints holds no statement",
        );
        assert!(
            matches!(&e, ScriptError::Refused { line: 7, why, .. } if why == "a chunk between breakpoints holds no statement"),
            "{e:?}"
        );
        let e = refusal(Path::new("m/2.sql"), "m/2.sql: no `-- migrate:up` block");
        assert!(
            matches!(&e, ScriptError::Refused { line: 1, why, .. } if why == "no `-- migrate:up` block")
        );
    }

    #[test]
    fn expect_files_are_named_after_the_migration() {
        let m = |p: &str| DirMigration {
            key: Key::Int(1),
            name: String::new(),
            path: PathBuf::from(p),
            up: vec![],
            unexecuted: vec![],
            refused: None,
            down: None,
            checksum: None,
            execution: migrations::Execution {
                foreign_keys: ForeignKeys::On,
                transactions: migrations::Transactions::Script,
                on_error: migrations::OnError::Stop,
                grouping: Grouping::PerMigration,
                tracking: TrackingWrite::WithMigration,
            },
        };
        assert_eq!(migration_name(&m("d/0003_posts.sql")), "0003_posts");
        assert_eq!(
            migration_name(&m("d/20260105_users.up.sql")),
            "20260105_users"
        );
        assert_eq!(migration_name(&m("d/V2__comments.sql")), "V2__comments");
        assert_eq!(
            migration_name(&m("prisma/migrations/20260105_init/migration.sql")),
            "20260105_init"
        );
    }
}
