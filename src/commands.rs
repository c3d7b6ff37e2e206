//! One function per subcommand: parse what the command line gave, call the library, print.

use std::io::IsTerminal;

use crate::cli;
use crate::db::{self, Access, Db, Target};
use crate::error::{Error, Outcome};
use crate::migrate::{self, Event, Logger};
use crate::report::{Format, RenderOptions, Shown, View, render, renderer};
use crate::spec::LoadedSpec;
use crate::spec::validate::{self, Scope};
use crate::views::{self, FixtureView};
use crate::{backup, fixture, fsutil, guard, interrupt, print, warn};

pub fn fixture(a: cli::FixtureArgs) -> Result<Outcome, Error> {
    check_report(&a.report, &[Some(a.out.as_path())])?;
    interrupt::task(
        format!("writing the fixture {}", a.out.display()),
        format!("{} was not written", a.out.display()),
    );
    let opts = fixture::FixtureOptions {
        scale: a.scale,
        seed: a.seed,
    };
    let bytes = fixture::generate(&a.out, opts)?;
    emit_view(
        &FixtureView {
            path: a.out.clone(),
            bytes,
            scale: a.scale,
            seed: a.seed,
        },
        &a.report,
    )
}

pub fn backup(a: cli::BackupArgs) -> Result<Outcome, Error> {
    let target = a.connect.target(&a.source)?;
    check_report(&a.report, &[target.local_path()])?;
    interrupt::task(
        format!("backing up {}", target.shown()),
        format!(
            "{} is untouched and no partial backup was left in {}",
            target.shown(),
            a.out.display()
        ),
    );
    let s = match &target {
        Target::Local(p) => backup::create(p, &a.out, a.min_size)?,
        Target::Remote(r) => {
            let db = db::open(&target, Access::Snapshot)?;
            let host = r
                .shown
                .split("://")
                .nth(1)
                .unwrap_or("")
                .split(['.', ':', '/'])
                .next()
                .unwrap_or("");
            let stem = if host.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                host
            } else {
                "remote"
            };
            let pb = progress_bar(0, "rows");
            let s =
                backup::create_remote(db.as_ref(), stem, &a.out, a.min_size, &mut |n| pb.inc(n))?;
            pb.finish_and_clear();
            s
        }
    };
    emit_view(
        &views::BackupView {
            backup: s.path,
            manifest_path: s.manifest_path,
            manifest: s.manifest,
        },
        &a.report,
    )
}

pub fn extract(a: cli::ExtractArgs) -> Result<Outcome, Error> {
    check_report(&a.report, &[Some(a.backup.as_path()), a.out.as_deref()])?;
    interrupt::task(
        format!("extracting {}", a.backup.display()),
        match &a.out {
            Some(o) => format!("{} was not written", o.display()),
            None => "no copy was left behind".to_string(),
        },
    );
    let e = backup::extract(&a.backup, a.out.as_deref(), None)?;
    let temporary = matches!(e.db, backup::extract::ExtractedDb::Temp(_));
    let view = views::ExtractView {
        backup: e.backup.clone(),
        extracted: e.db.path().to_path_buf(),
        temporary,
        uncompressed_bytes: e.uncompressed_bytes,
        compressed_bytes: e.compressed_bytes,
        sha256: e.sha256.clone(),
        plain: e.plain,
        manifest: e.manifest.clone(),
        integrity_ok: true,
        tables: e.tables.clone(),
    };
    emit_view(&view, &a.report)
}

pub fn simulate_live(a: cli::SimulateLiveArgs) -> Result<Outcome, Error> {
    check_report(&a.report, &[Some(a.db.as_path())])?;
    let target = Target::Local(a.db.clone());
    if !a.db.is_file() {
        fsutil::not_a_dir(&a.db)?;
        return Err(fsutil::FsError::Missing(a.db.clone()).into());
    }
    let (_, _renew) = write_access(&target, a.confirm.yes, "write live readings")?;
    db::local::check_writable(&a.db)?;
    interrupt::writing(
        format!("writing live readings to {}", target.shown()),
        "every reading written so far is kept (each in a transaction of its own)",
    );
    let n = fixture::simulate::run(
        &a.db,
        a.system,
        std::time::Duration::from_millis(a.interval_ms),
        a.count,
    )?;
    if interrupt::requested() {
        return Err(Error::Interrupted);
    }
    emit_view(
        &views::SimulateView {
            database: target.shown(),
            system: a.system,
            readings: n,
        },
        &a.report,
    )
}

pub fn spec_show(a: cli::SpecShowArgs) -> Result<Outcome, Error> {
    check_report(&a.report, &[a.spec.spec.as_deref()])?;
    let spec = LoadedSpec::load(a.spec.spec.as_deref())?;
    emit_view(
        &views::SpecView {
            origin: spec.origin.clone(),
            sha256: spec.sha256.clone(),
            spec: spec.spec.clone(),
            text: spec.text.clone(),
        },
        &a.report,
    )
}

/// How a write command may open its target: a rehearsal copy made by `extract --out` (still
/// holding what preflight left in it) needs no confirmation; anything else needs --yes or YES
/// typed on a terminal. Keep the second value until the handles on the target are closed: it
/// then binds the copy's marker to its new content.
pub fn write_access(
    target: &Target,
    yes: bool,
    action: &str,
) -> Result<(Access, guard::RenewOnDrop), Error> {
    if let Some(p) = target.local_path()
        && guard::is_rehearsal_copy(p)
    {
        return Ok((Access::Rehearsal, guard::RenewOnDrop(Some(p.to_path_buf()))));
    }
    guard::confirm_write(&target.shown(), yes, action)?;
    Ok((Access::Write, guard::RenewOnDrop(None)))
}

pub fn open(args: &cli::TargetArgs, access: Access) -> Result<Box<dyn Db>, Error> {
    let target = args.target()?;
    Ok(db::open(&target, access)?)
}

pub fn scope(e: &cli::EngineArgs) -> Scope {
    Scope {
        only: e.only.map(|o| match o {
            cli::Only::Raw => crate::spec::Kind::Raw,
            cli::Only::Agg5m => crate::spec::Kind::Agg5m,
        }),
        migrations: e.migrations.clone(),
        systems: e.systems.clone(),
        allow_missing_points: e.allow_missing_points,
        lenient: false,
    }
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
pub fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>24} [{bar:32}] {human_pos}/{human_len} {what} ({per_sec}, {eta} left)",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key("what", {
            let w = what.to_string();
            move |_: &indicatif::ProgressState, f: &mut dyn std::fmt::Write| {
                let _ = f.write_str(&w);
            }
        }),
    );
    pb
}

pub fn migrate(a: cli::MigrateArgs) -> Result<Outcome, Error> {
    let spec = LoadedSpec::load(a.spec.spec.as_deref())?;
    let target = a.target.target()?;
    check_report(
        &a.report,
        &[
            target.local_path(),
            a.spec.spec.as_deref(),
            a.log.log_file.as_deref(),
        ],
    )?;
    interrupt::task(format!("reading {}", target.shown()), "nothing was written");
    let scope = scope(&a.engine);
    let opts = migrate::Options {
        batch_size: a.engine.batch_size,
        from_start: a.from_start,
    };
    // validate on a read-only handle before asking anything or writing anything
    let ro = open(&a.target, Access::ReadOnly)?;
    let plan = validate::plan(&spec, ro.as_ref(), &scope)?;
    for w in &plan.warnings {
        warn(w);
    }
    if a.dry_run {
        let results = migrate::engine::dry_run(ro.as_ref(), &plan, &opts)?;
        return emit_view(
            &views::MigrateView {
                target: target.shown(),
                spec: spec.origin.clone(),
                dry_run: true,
                results,
            },
            &a.report,
        );
    }
    // a damaged file or journal is refused before anything is asked or written
    db::check_integrity(ro.as_ref(), true)?;
    for mp in &plan.migrations {
        migrate::journal::check_chain(ro.as_ref(), &mp.migration.name)?;
    }
    drop(ro);
    if let Some(log) = &a.log.log_file {
        guard::check_output_path(
            log,
            &[target.local_path(), a.spec.spec.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            "--log-file",
        )?;
    }
    let (access, _renew) = write_access(&target, a.confirm.yes, "migrate point data")?;
    let db = open(&a.target, access)?;
    interrupt::writing(
        format!("migrating {}", target.shown()),
        "every batch committed so far is kept and the open one was rolled back; run the same command again to resume, or preflight rollback to undo",
    );
    let mut log = Logger::open(a.log.log_file.as_deref())?;
    log.line(&format!(
        "migrate {} with spec {} (sha256 {})",
        target.shown(),
        spec.origin,
        spec.sha256
    ));
    for w in &plan.warnings {
        log.line(&format!("warning: {w}"));
    }
    let mut pb = None;
    let results = migrate::engine::run(db.as_ref(), &plan, &opts, &mut |e: Event| {
        if let Some(line) = migrate::describe(&e) {
            log.line(&line);
        }
        match e {
            Event::Start { total_source_rows } => {
                pb = Some(progress_bar(total_source_rows, "source rows"))
            }
            Event::Batch {
                migration,
                system_id,
                source_rows,
                ..
            } => {
                if let Some(pb) = &pb {
                    pb.set_message(format!("{migration} #{system_id}"));
                    pb.inc(source_rows);
                }
            }
            Event::SystemDone(_) => {}
        }
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let results = match results {
        Ok(r) => r,
        Err(e) => {
            log.line(&format!("failed: {e}"));
            return Err(e.into());
        }
    };
    log.line("migration finished");
    emit_view(
        &views::MigrateView {
            target: target.shown(),
            spec: spec.origin.clone(),
            dry_run: false,
            results,
        },
        &a.report,
    )
}

pub fn rollback(a: cli::RollbackArgs) -> Result<Outcome, Error> {
    let target = a.target.target()?;
    check_report(&a.report, &[target.local_path(), a.log.log_file.as_deref()])?;
    if let Some(log) = &a.log.log_file {
        guard::check_output_path(
            log,
            &target.local_path().into_iter().collect::<Vec<_>>(),
            "--log-file",
        )?;
    }
    let (access, _renew) =
        write_access(&target, a.confirm.yes, "delete the rows preflight migrated")?;
    let db = open(&a.target, access)?;
    interrupt::task(
        format!("checking the journal of {}", target.shown()),
        "nothing was deleted",
    );
    let names = if a.migrations.is_empty() {
        migrate::journal::migrations(db.as_ref())?
    } else {
        a.migrations.clone()
    };
    if names.is_empty() {
        return Err(migrate::journal::JournalError::NothingToUndo {
            target: target.shown(),
            migration: "any".into(),
        }
        .into());
    }
    // the database and every migration's journal proved before any row is deleted
    db::check_integrity(db.as_ref(), false)?;
    for name in &names {
        migrate::journal::check_rollback(db.as_ref(), name)?;
    }
    interrupt::writing(
        format!("rolling back {}", target.shown()),
        "the journal entries undone so far stay undone (the progress table points before them) and the open one was rolled back; run preflight rollback again to finish, or preflight migrate to redo",
    );
    let mut log = Logger::open(a.log.log_file.as_deref())?;
    log.line(&format!(
        "rollback {} of {}",
        names.join(", "),
        target.shown()
    ));
    let mut rows = Vec::new();
    for name in &names {
        let s = migrate::journal::rollback(db.as_ref(), name, &mut |e| {
            log.line(&format!(
                "{name}: journal entry {} (system {}, {} rows of {}) deleted",
                e.id, e.system_id, e.inserted, e.target_table
            ));
        })?;
        rows.push(views::RolledBack {
            migration: name.clone(),
            journal_entries: s.entries,
            rows_deleted: s.deleted,
        });
    }
    log.line("rollback finished");
    emit_view(
        &views::RollbackView {
            target: target.shown(),
            migrations: rows,
        },
        &a.report,
    )
}

/// The format --report FILE is written in: --report-format, else its extension, else the table.
fn report_format(out: &cli::ReportArgs) -> Option<Format> {
    let path = out.report.as_ref()?;
    Some(
        out.report_format
            .or_else(|| Format::from_extension(path))
            .unwrap_or(Format::Table),
    )
}

/// Write --report FILE (in its own format) under a temporary name renamed into place.
fn write_report(out: &cli::ReportArgs, text: impl Fn(Format) -> String) -> Result<(), Error> {
    if let (Some(path), Some(format)) = (&out.report, report_format(out)) {
        guard::check_report_path(path, &[])?;
        let dir = fsutil::parent_dir(path);
        let mut tmp = fsutil::temp_file_in(&dir, "report", ".tmp")?;
        std::io::Write::write_all(&mut tmp, text(format).as_bytes())
            .map_err(|e| fsutil::FsError::io(path, e))?;
        // a report may replace an older one of the same name (never a database or a backup)
        fsutil::persist_over(tmp, path)?;
    }
    Ok(())
}

/// What standard output's renderer may use: the terminal's width and --all for the table.
fn stdout_options(out: &cli::ReportArgs) -> RenderOptions {
    match out.format {
        Format::Table => RenderOptions {
            all: out.all,
            width: crate::table::terminal_width(),
        },
        _ => RenderOptions::FULL,
    }
}

/// Print the report in --format (the compact table by default) and write the whole report to
/// --report FILE in its own format; the file never changes what standard output gets.
pub fn emit(report: &crate::report::Report, out: &cli::ReportArgs) -> Result<Outcome, Error> {
    write_report(out, |f| render(report, f))?;
    print(&renderer(out.format).render(report, &stdout_options(out)))?;
    Ok(if report.passed() {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

/// The same for any other command's result.
pub fn emit_view<V: View + Clone>(view: &V, out: &cli::ReportArgs) -> Result<Outcome, Error> {
    let shown = Shown::of(view);
    write_report(out, |f| crate::report::render_view(&shown, f))?;
    print(&renderer(out.format).view(&shown, &stdout_options(out)))?;
    Ok(if shown.passed {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

fn suite(o: &cli::SuiteArgs, r: &cli::ReportArgs) -> crate::checks::SuiteOptions {
    crate::checks::SuiteOptions {
        sample: o.sample,
        seed: o.seed,
        quick_integrity: o.quick_integrity,
        skip_integrity: o.skip_integrity,
        timeline: r.format == Format::Html || report_format(r) == Some(Format::Html),
    }
}

/// `--report FILE` checked before any work: never an input, a database or a backup.
fn check_report(out: &cli::ReportArgs, inputs: &[Option<&std::path::Path>]) -> Result<(), Error> {
    if let Some(path) = &out.report {
        let inputs: Vec<&std::path::Path> = inputs.iter().flatten().copied().collect();
        guard::check_report_path(path, &inputs)?;
    }
    Ok(())
}

pub fn verify(a: cli::VerifyArgs) -> Result<Outcome, Error> {
    use crate::checks::generic;
    if let Some(checks) = &a.checks {
        fsutil::not_a_dir(checks)?;
    }
    let extras = generic::Extras {
        checks: a.checks.clone(),
        migrations: a
            .migrations
            .migrations
            .clone()
            .map(|dir| generic::MigrationsDir {
                dir,
                tool: a.migrations.tool,
                table: a.migrations.migrations_table.clone(),
            }),
    };
    let target = a.target.target()?;
    check_report(
        &a.report,
        &[
            target.local_path(),
            a.baseline.as_deref(),
            a.spec.spec.as_deref(),
            a.checks.as_deref(),
        ],
    )?;
    interrupt::task(
        format!("verifying {}", target.shown()),
        "it was only read; nothing was written",
    );
    let spec = LoadedSpec::load(a.spec.spec.as_deref())?;
    // the LiveOne suite when a spec is given or the built-in one describes this database
    let generic_because = if a.no_spec {
        Some("--no-spec: the checks any database gets".to_string())
    } else if a.spec.spec.is_none()
        && let Some(why) = generic::spec_misfit(&spec, open(&a.target, Access::ReadOnly)?.as_ref())?
    {
        Some(format!("generic checks: the built-in LiveOne spec {why}"))
    } else {
        None
    };
    if let Some(why) = generic_because {
        let report = generic::verify(&target, &suite(&a.suite, &a.report), &extras, &why)?;
        return emit(&report, &a.report);
    }
    let mut report = crate::verify::verify(
        &target,
        &crate::verify::Options {
            spec,
            suite: suite(&a.suite, &a.report),
            baseline: a.baseline.clone(),
        },
    )
    .map_err(not_this_spec)?;
    if extras.checks.is_some() || extras.migrations.is_some() {
        let db = open(&a.target, Access::ReadOnly)?;
        let (extra, _) = generic::extra_results(db.as_ref(), &extras)?;
        report.checks.extend(extra);
        report.finish();
    }
    emit(&report, &a.report)
}

/// The AUTOINCREMENT counters by table name (None: no `sqlite_sequence`).
fn sequence_by_name(db: &dyn crate::db::Db) -> Result<Option<Vec<Vec<crate::db::Value>>>, Error> {
    use crate::db::DbExt;
    if !db.table_exists("sqlite_sequence")? {
        return Ok(None);
    }
    Ok(Some(db.query(
        "SELECT name, seq FROM sqlite_sequence ORDER BY name, seq",
        &[],
    )?))
}

/// A spec that does not fit the database says what to do instead.
fn not_this_spec(e: Error) -> Error {
    use crate::spec::{SpecError, validate::PlanError};
    match e {
        Error::Plan(PlanError::Spec(SpecError::Invalid { origin, message }))
        | Error::Spec(SpecError::Invalid { origin, message }) => Error::Spec(SpecError::Invalid {
            origin,
            message: format!(
                "{message} (this database does not have the spec's shape: give --no-spec for the checks any database gets)"
            ),
        }),
        e => e,
    }
}

fn spinner() -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    } else {
        indicatif::ProgressBar::hidden()
    }
}

pub fn rehearse(a: cli::RehearseArgs) -> Result<Outcome, Error> {
    check_report(
        &a.report,
        &[
            a.backup.as_deref(),
            a.spec.spec.as_deref(),
            a.sql.as_deref(),
            a.rollback.as_deref(),
            a.expect.as_deref(),
        ],
    )?;
    interrupt::task(
        format!(
            "rehearsing on {}",
            a.backup
                .as_deref()
                .map_or(crate::rehearse::BUNDLED_NAME.to_string(), |b| b
                    .display()
                    .to_string())
        ),
        "the backup is untouched and the rehearsal's copies were removed",
    );
    let pb = spinner();
    if let Some(forward) = &a.sql {
        let report = crate::rehearse::script::rehearse(
            &crate::rehearse::script::Options {
                backup: a.backup.clone(),
                forward: forward.clone(),
                rollback: a.rollback.clone(),
                expect: a.expect.clone(),
                runner: a.runner.runner(),
                now: a.now,
            },
            &mut |stage| pb.set_message(format!("rehearse: {stage}")),
        );
        pb.finish_and_clear();
        return emit(&report?, &a.report);
    }
    if let Some(dir) = &a.migrations {
        let report = crate::rehearse::directory::rehearse(
            &crate::rehearse::directory::Options {
                backup: a.backup.clone(),
                dir: dir.clone(),
                tool: a.tool,
                table: a.migrations_table.clone(),
                expect_dir: a.expect_dir.clone(),
                now: a.now,
                keep: None,
            },
            &mut |stage| pb.set_message(format!("rehearse: {stage}")),
        );
        pb.finish_and_clear();
        return emit(&report?, &a.report);
    }
    let spec = LoadedSpec::load(a.spec.spec.as_deref())?;
    let report = crate::rehearse::rehearse(
        &crate::rehearse::Options {
            backup: a.backup.clone(),
            spec,
            scope: scope(&a.engine),
            batch_size: a.engine.batch_size,
            // the migrated copy passed the full check at extract: quick_check unless asked
            suite: crate::checks::SuiteOptions {
                quick_integrity: !a.suite.full_integrity,
                ..suite(&a.suite, &a.report)
            },
        },
        &mut |stage| pb.set_message(format!("rehearse: {stage}")),
    );
    pb.finish_and_clear();
    emit(&report?, &a.report)
}

pub fn apply(a: cli::ApplyArgs) -> Result<Outcome, Error> {
    use crate::migrate::runner::{DbConn, LocalSession, Outcome as Ran};
    // the script as the runner takes it (under a tool's profile, the file as the tool reads it)
    let taken = crate::rehearse::script::take(
        &a.runner.runner(),
        &a.sql,
        crate::migrations::file::Part::Up,
    )?;
    let (script, runner) = (taken.script, taken.runner);
    // a script that does not parse, or that the runner refuses, stops before any question
    if let Some(e) = script.syntax_error() {
        return Err(e.into());
    }
    if let Some(e) = taken.refused {
        return Err(e.into());
    }
    if let Some(s) = taken.unexecuted.first() {
        return Err(crate::migrate::script::ScriptError::Refused {
            path: s.file.clone(),
            line: s.line,
            statement: s.sql.clone(),
            why: format!(
                "{} never runs this statement, so its change would silently not happen; give it a statement of its own (drizzle: `--> statement-breakpoint` before it)",
                runner.name
            ),
        }
        .into());
    }
    let target = a.target.target()?;
    check_report(&a.report, &[target.local_path(), Some(a.sql.as_path())])?;
    let (access, _renew) = write_access(
        &target,
        a.confirm.yes,
        &format!("apply {}", a.sql.display()),
    )?;
    let db = open(&a.target, access)?;
    interrupt::writing(
        format!("applying {} to {}", a.sql.display(), target.shown()),
        if runner.transactions == crate::migrate::runner::Transactions::Script {
            "the script's transaction was rolled back; nothing of it was kept"
        } else {
            "the statements that had finished were kept, as the runner would have kept them"
        },
    );
    let local = db.as_local().map(|l| l.path().to_path_buf());
    let before_counts = crate::fingerprint::table_counts(db.as_ref())?;
    let before_sequence = sequence_by_name(db.as_ref())?;
    let before = match &local {
        Some(_) => Some(crate::fingerprint::fingerprint(db.as_ref())?),
        None => None,
    };
    let run = match &local {
        Some(path) => {
            let mut session = LocalSession::open(path, None, access == Access::Rehearsal)?;
            runner.execute(&script, &mut session)?
        }
        None => runner.execute(&script, &mut DbConn::new(db.as_ref()))?,
    };
    let after_counts = crate::fingerprint::table_counts(db.as_ref())?;
    let after_sequence = sequence_by_name(db.as_ref())?;
    let after = match &local {
        Some(_) => Some(crate::fingerprint::fingerprint(db.as_ref())?),
        None => None,
    };
    let statements = run
        .statements
        .iter()
        .map(|st| views::AppliedStatement {
            line: st.line,
            statement: st.statement.clone(),
            outcome: match &st.outcome {
                Ran::Ran { changes, output } => views::StatementOutcome::Ran {
                    changes: *changes,
                    returned: output.as_ref().map(|o| o.total),
                    kept: st.kept && !st.control,
                },
                Ran::Failed { message } => views::StatementOutcome::Failed {
                    message: message.clone(),
                },
                Ran::Folded => views::StatementOutcome::Folded,
                Ran::Ignored { why } => views::StatementOutcome::Ignored { why: why.clone() },
                Ran::NotRun => views::StatementOutcome::NotRun,
            },
        })
        .collect();
    let mut names: Vec<&String> = before_counts.keys().chain(after_counts.keys()).collect();
    names.sort();
    names.dedup();
    let tables_changed = names
        .into_iter()
        .filter(|t| match (&before, &after) {
            // its rows are matched by table name, as `diff` matches them: a rebuild moves them
            // to other rowids without changing a counter
            _ if t.as_str() == "sqlite_sequence" => before_sequence != after_sequence,
            (Some(x), Some(y)) => x.tables.get(*t) != y.tables.get(*t),
            _ => before_counts.get(*t) != after_counts.get(*t),
        })
        .map(|t| views::TableChange {
            table: t.clone(),
            rows_before: before_counts.get(t).copied(),
            rows_after: after_counts.get(t).copied(),
        })
        .collect();
    let view = views::ApplyView {
        target: target.shown(),
        script: a.sql.display().to_string(),
        runner: runner.describe(),
        statements,
        notes: run
            .notes
            .iter()
            .map(|n| (n.line, n.text.clone(), n.warn))
            .collect(),
        outputs: run
            .outputs()
            .map(|(st, o)| views::QueryOutput {
                line: st.line,
                statement: st.statement.clone(),
                rows: o
                    .rows
                    .iter()
                    .map(|r| crate::migrate::expect::shell_row(r))
                    .collect(),
                total: o.total,
            })
            .collect(),
        tables_changed,
        schema_changed: match (&before, &after) {
            (Some(x), Some(y)) => Some(x.schema != y.schema),
            _ => None,
        },
        orphans: run
            .fk_violations
            .iter()
            .map(|v| views::Orphan {
                table: v.table.clone(),
                rowid: v.rowid,
                parent: v.parent.clone(),
            })
            .collect(),
        orphan_count: run.fk_violation_count,
        kept: run.kept(),
        ok: run.ok(),
    };
    let outcome = emit_view(&view, &a.report)?;
    if let Some(e) = run.error() {
        return Err(e.into());
    }
    Ok(outcome)
}

/// A database to read: a path or URL; a gzipped backup is extracted to a temporary copy first.
fn open_for_reading(
    spec: &str,
    connect: &cli::ConnectArgs,
) -> Result<(Box<dyn Db>, Option<backup::Extracted>), Error> {
    let target = connect.target(spec)?;
    if let Target::Local(p) = &target
        && fsutil::is_gz(p)
    {
        let e = backup::extract(p, None, None)?;
        let db = db::open(&Target::Local(e.db.path().to_path_buf()), Access::ReadOnly)?;
        return Ok((db, Some(e)));
    }
    Ok((db::open(&target, Access::ReadOnly)?, None))
}

pub fn diff(a: cli::DiffArgs) -> Result<Outcome, Error> {
    let shown = |x: &str| a.connect.target(x).map(|t| t.shown());
    let (before_name, after_name) = (shown(&a.before)?, shown(&a.after)?);
    check_report(
        &a.report,
        &[
            Some(std::path::Path::new(&a.before)),
            Some(std::path::Path::new(&a.after)),
        ],
    )?;
    interrupt::task("comparing two databases", "both were only read");
    let (before, _keep_b) = open_for_reading(&a.before, &a.connect)?;
    let (after, _keep_a) = open_for_reading(&a.after, &a.connect)?;
    let d = crate::fingerprint::diff::diff(before.as_ref(), after.as_ref(), a.examples)?;
    emit_view(
        &views::DiffView {
            before: before_name,
            after: after_name,
            identical: d.is_empty(),
            diff: d,
        },
        &a.report,
    )
}

pub fn fingerprint(a: cli::FingerprintArgs) -> Result<Outcome, Error> {
    let name = a.connect.target(&a.db)?.shown();
    check_report(&a.report, &[Some(std::path::Path::new(&a.db))])?;
    interrupt::task("fingerprinting a database", "it was only read");
    let (db, _keep) = open_for_reading(&a.db, &a.connect)?;
    let fp = crate::fingerprint::fingerprint(db.as_ref())?;
    emit_view(
        &views::FingerprintView {
            target: name,
            database: fp.digest(),
            schema: fp.schema,
            tables: fp.tables,
        },
        &a.report,
    )
}

pub fn status(a: cli::StatusArgs) -> Result<Outcome, Error> {
    let target = a.target.target()?;
    check_report(&a.report, &[target.local_path()])?;
    interrupt::task(format!("reading {}", target.shown()), "nothing was written");
    let db = open(&a.target, Access::ReadOnly)?;
    let status = crate::migrations::status(
        db.as_ref(),
        &a.migrations,
        a.tool,
        a.migrations_table.as_deref(),
    )?;
    emit_view(&status, &a.report)
}
