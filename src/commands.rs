//! One function per subcommand: parse what the command line gave, call the library, print.

use std::io::IsTerminal;

use crate::cli;
use crate::db::{self, Access, Db, Target};
use crate::error::{Error, Outcome};
use crate::migrate::{self, Event, Logger};
use crate::spec::LoadedSpec;
use crate::spec::validate::{self, Scope};
use crate::table::{count, pairs, render};
use crate::{backup, fixture, fsutil, guard, interrupt, print, warn};

pub fn fixture(a: cli::FixtureArgs) -> Result<Outcome, Error> {
    interrupt::task(
        format!("writing the fixture {}", a.out.display()),
        format!("{} was not written", a.out.display()),
    );
    let opts = fixture::FixtureOptions {
        scale: a.scale,
        seed: a.seed,
    };
    let bytes = fixture::generate(&a.out, opts)?;
    print(&format!(
        "wrote {} ({}), scale {}, seed {}\n",
        a.out.display(),
        fsutil::human(bytes),
        a.scale,
        a.seed
    ))?;
    Ok(Outcome::Pass)
}

fn counts_table(tables: &std::collections::BTreeMap<String, i64>) -> String {
    let rows: Vec<Vec<String>> = tables
        .iter()
        .map(|(t, n)| vec![t.clone(), count(*n)])
        .collect();
    render(&["table", "rows"], &rows)
}

pub fn backup(a: cli::BackupArgs) -> Result<Outcome, Error> {
    crate::db::target::register_secret_from_env(&a.auth_token_env);
    let target = Target::parse(&a.source)?
        .with_token_from_env(&a.auth_token_env)
        .with_timeouts(a.timeouts.timeouts());
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
    let m = &s.manifest;
    let head = pairs(&[
        ("backup", s.path.display().to_string()),
        ("manifest", s.manifest_path.display().to_string()),
        ("source", m.source.clone()),
        ("taken (UTC)", m.created_utc.clone()),
        ("SQLite", m.sqlite_version.clone()),
        ("database", fsutil::human(m.uncompressed_bytes)),
        ("compressed", fsutil::human(m.compressed_bytes)),
        ("sha256", m.sha256.clone()),
    ]);
    print(&format!("{head}\n{}\n", counts_table(&m.tables)))?;
    Ok(Outcome::Pass)
}

pub fn extract(a: cli::ExtractArgs) -> Result<Outcome, Error> {
    interrupt::task(
        format!("extracting {}", a.backup.display()),
        match &a.out {
            Some(o) => format!("{} was not written", o.display()),
            None => "no copy was left behind".to_string(),
        },
    );
    let e = backup::extract(&a.backup, a.out.as_deref(), None)?;
    let place = match &e.db {
        backup::extract::ExtractedDb::Kept(p) => p.display().to_string(),
        backup::extract::ExtractedDb::Temp(p) => format!("{} (removed on exit)", p.display()),
    };
    let head = pairs(&[
        ("backup", e.backup.display().to_string()),
        ("extracted", place),
        (
            "size",
            format!(
                "{} ({} bytes) from {} compressed",
                fsutil::human(e.uncompressed_bytes),
                e.uncompressed_bytes,
                fsutil::human(e.compressed_bytes)
            ),
        ),
        (
            if e.plain {
                "sha256 (plain database, copied)"
            } else {
                "sha256 (.gz)"
            },
            e.sha256.clone(),
        ),
        (
            "manifest",
            match &e.manifest {
                Some(p) => format!("{} (sha256, size and row counts match)", p.display()),
                None => "none beside the backup".to_string(),
            },
        ),
        ("integrity", "ok".to_string()),
    ]);
    print(&format!("{head}\n{}\n", counts_table(&e.tables)))?;
    Ok(Outcome::Pass)
}

pub fn simulate_live(a: cli::SimulateLiveArgs) -> Result<Outcome, Error> {
    let target = Target::Local(a.db.clone());
    if !a.db.is_file() {
        fsutil::not_a_dir(&a.db)?;
        return Err(fsutil::FsError::Missing(a.db.clone()).into());
    }
    let (_, _renew) = write_access(&target, a.yes, "write live readings")?;
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
    print(&format!(
        "wrote {n} readings with their point rows to system {}\n",
        a.system
    ))?;
    if interrupt::requested() {
        return Err(Error::Interrupted);
    }
    Ok(Outcome::Pass)
}

pub fn spec_show(a: cli::SpecArgs) -> Result<Outcome, Error> {
    let spec = LoadedSpec::load(a.spec.as_deref())?;
    print(&spec.text)?;
    Ok(Outcome::Pass)
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

pub fn open(args: &cli::DbArgs, access: Access) -> Result<Box<dyn Db>, Error> {
    let target = args.target()?;
    Ok(db::open(&target, access)?)
}

pub fn scope(e: &cli::EngineArgs) -> Scope {
    Scope {
        only: e.only.map(|o| match o {
            cli::Only::Raw => crate::spec::Kind::Raw,
            cli::Only::Agg5m => crate::spec::Kind::Agg5m,
        }),
        systems: e.systems.clone(),
        allow_missing_points: e.allow_missing_points,
        lenient: false,
    }
}

pub fn results_table(results: &[migrate::SystemResult], dry_run: bool) -> String {
    let mut rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let mut row = vec![
                r.migration.clone(),
                format!("{} ({})", r.system_id, r.vendor_type),
                count(r.source_rows as i64),
                count(r.carried as i64),
                count(r.already_present as i64),
                count(r.inserted as i64),
            ];
            if !dry_run {
                row.push(format!("{:.2}", r.seconds));
                row.push(count(r.rows_per_second().round() as i64));
            }
            row
        })
        .collect();
    let sum =
        |f: fn(&migrate::SystemResult) -> u64| count(results.iter().map(f).sum::<u64>() as i64);
    let secs: f64 = results.iter().map(|r| r.seconds).sum();
    let inserted: u64 = results.iter().map(|r| r.inserted).sum();
    let mut total = vec![
        "total".to_string(),
        String::new(),
        sum(|r| r.source_rows),
        sum(|r| r.carried),
        sum(|r| r.already_present),
        sum(|r| r.inserted),
    ];
    if !dry_run {
        total.push(format!("{secs:.2}"));
        total.push(count(if secs > 0.0 {
            (inserted as f64 / secs).round() as i64
        } else {
            0
        }));
    }
    rows.push(total);
    let inserted_header = if dry_run { "would insert" } else { "inserted" };
    let mut headers = vec![
        "migration",
        "system",
        "source rows",
        "carried",
        "already present",
        inserted_header,
    ];
    if !dry_run {
        headers.extend(["seconds", "rows/s"]);
    }
    render(&headers, &rows)
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
        print(&format!(
            "dry run on {} (nothing written), spec {}\n{}\n",
            target.shown(),
            spec.origin,
            results_table(&results, true)
        ))?;
        return Ok(Outcome::Pass);
    }
    // a damaged file or journal is refused before anything is asked or written
    db::check_integrity(ro.as_ref(), true)?;
    for mp in &plan.migrations {
        migrate::journal::check_chain(ro.as_ref(), &mp.migration.name)?;
    }
    drop(ro);
    if let Some(log) = &a.log_file {
        guard::check_output_path(
            log,
            &[target.local_path(), a.spec.spec.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            "--log-file",
        )?;
    }
    let (access, _renew) = write_access(&target, a.yes, "migrate point data")?;
    let db = open(&a.target, access)?;
    interrupt::writing(
        format!("migrating {}", target.shown()),
        "every batch committed so far is kept and the open one was rolled back; run the same command again to resume, or preflight rollback to undo",
    );
    let mut log = Logger::open(a.log_file.as_deref())?;
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
    print(&format!(
        "migrated {} with spec {}\n{}\n",
        target.shown(),
        spec.origin,
        results_table(&results, false)
    ))?;
    Ok(Outcome::Pass)
}

pub fn rollback(a: cli::RollbackArgs) -> Result<Outcome, Error> {
    let target = a.target.target()?;
    if let Some(log) = &a.log_file {
        guard::check_output_path(
            log,
            &target.local_path().into_iter().collect::<Vec<_>>(),
            "--log-file",
        )?;
    }
    let (access, _renew) = write_access(&target, a.yes, "delete the rows preflight migrated")?;
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
    let mut log = Logger::open(a.log_file.as_deref())?;
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
        rows.push(vec![
            name.clone(),
            count(s.entries as i64),
            count(s.deleted as i64),
        ]);
    }
    log.line("rollback finished");
    print(&format!(
        "rolled back on {}\n{}\n",
        target.shown(),
        render(&["migration", "journal entries", "rows deleted"], &rows)
    ))?;
    Ok(Outcome::Pass)
}

/// The format --report FILE is written in: --report-format, else its extension, else the table.
fn report_format(out: &cli::OutputArgs) -> Option<crate::report::Format> {
    use crate::report::Format;
    let path = out.report.as_ref()?;
    Some(
        out.report_format
            .or_else(|| Format::from_extension(path))
            .unwrap_or(Format::Table),
    )
}

/// Print the report in --format (the compact table by default) and write the whole report to
/// --report FILE in its own format; the file never changes what standard output gets.
pub fn emit(report: &crate::report::Report, out: &cli::OutputArgs) -> Result<Outcome, Error> {
    use crate::report::{Format, RenderOptions, render, renderer};
    if let (Some(path), Some(format)) = (&out.report, report_format(out)) {
        guard::check_report_path(path, &[])?;
        let dir = fsutil::parent_dir(path);
        let mut tmp = fsutil::temp_file_in(&dir, "report", ".tmp")?;
        std::io::Write::write_all(&mut tmp, render(report, format).as_bytes())
            .map_err(|e| fsutil::FsError::io(path, e))?;
        // a report may replace an older one of the same name (never a database or a backup)
        fsutil::persist_over(tmp, path)?;
    }
    let opts = match out.format {
        Format::Table => RenderOptions {
            all: out.all,
            width: crate::table::terminal_width(),
        },
        _ => RenderOptions::FULL,
    };
    print(&renderer(out.format).render(report, &opts))?;
    Ok(if report.passed() {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

fn suite(o: &cli::OutputArgs) -> crate::checks::SuiteOptions {
    crate::checks::SuiteOptions {
        sample: o.sample,
        seed: o.seed,
        quick_integrity: o.quick_integrity,
        timeline: o.format == crate::report::Format::Html
            || report_format(o) == Some(crate::report::Format::Html),
    }
}

/// `--report FILE` checked before any work: never an input, a database or a backup.
fn check_report(out: &cli::OutputArgs, inputs: &[Option<&std::path::Path>]) -> Result<(), Error> {
    if let Some(path) = &out.report {
        let inputs: Vec<&std::path::Path> = inputs.iter().flatten().copied().collect();
        guard::check_report_path(path, &inputs)?;
    }
    Ok(())
}

pub fn verify(a: cli::VerifyArgs) -> Result<Outcome, Error> {
    use crate::checks::generic;
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
        &a.output,
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
        && !generic::spec_applies(&spec, open(&a.target, Access::ReadOnly)?.as_ref())?
    {
        Some(format!(
            "generic checks: the built-in LiveOne spec matches no table here ({})",
            generic::spec_tables(&spec)
        ))
    } else {
        None
    };
    if let Some(why) = generic_because {
        let report = generic::verify(&target, &suite(&a.output), &extras, &why)?;
        return emit(&report, &a.output);
    }
    let mut report = crate::verify::verify(
        &target,
        &crate::verify::Options {
            spec,
            suite: suite(&a.output),
            baseline: a.baseline.clone(),
        },
    )?;
    if extras.checks.is_some() || extras.migrations.is_some() {
        let db = open(&a.target, Access::ReadOnly)?;
        let (extra, _) = generic::extra_results(db.as_ref(), &extras)?;
        report.checks.extend(extra);
        report.finish();
    }
    emit(&report, &a.output)
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
        &a.output,
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
        return emit(&report?, &a.output);
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
        return emit(&report?, &a.output);
    }
    let spec = LoadedSpec::load(a.spec.spec.as_deref())?;
    let report = crate::rehearse::rehearse(
        &crate::rehearse::Options {
            backup: a.backup.clone(),
            spec,
            scope: scope(&a.engine),
            batch_size: a.engine.batch_size,
            suite: suite(&a.output),
        },
        &mut |stage| pb.set_message(format!("rehearse: {stage}")),
    );
    pb.finish_and_clear();
    emit(&report?, &a.output)
}

pub fn apply(a: cli::ApplyArgs) -> Result<Outcome, Error> {
    use crate::migrate::runner::{DbConn, LocalSession, Outcome as Ran};
    let script = crate::migrate::script::load(&a.sql)?;
    // a script that does not parse, or that the runner refuses, stops before any question
    if let Some(e) = script.syntax_error() {
        return Err(e.into());
    }
    let runner = a.runner.runner();
    runner.check(&script)?;
    let target = a.target.target()?;
    let (access, _renew) = write_access(&target, a.yes, &format!("apply {}", a.sql.display()))?;
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
    let after = match &local {
        Some(_) => Some(crate::fingerprint::fingerprint(db.as_ref())?),
        None => None,
    };
    let statements: Vec<Vec<String>> = run
        .statements
        .iter()
        .map(|s| {
            let result = match &s.outcome {
                Ran::Ran { changes, output } => match output {
                    Some(o) => format!("{} returned", plural_rows(o.total)),
                    None => format!("{} changed", plural_rows(*changes)),
                },
                Ran::Failed { message } => format!("FAILED: {message}"),
                Ran::Folded => "folded into the runner's transaction".into(),
                Ran::Ignored { why } => format!("not run: {why}"),
                Ran::NotRun => "not run: the script had stopped".into(),
            };
            vec![
                s.line.to_string(),
                s.statement.chars().take(80).collect(),
                result,
                match (&s.outcome, s.control) {
                    (Ran::Ran { .. }, false) => {
                        if s.kept {
                            "yes"
                        } else {
                            "no"
                        }
                    }
                    _ => "",
                }
                .to_string(),
            ]
        })
        .collect();
    let mut names: Vec<&String> = before_counts.keys().chain(after_counts.keys()).collect();
    names.sort();
    names.dedup();
    let tables: Vec<Vec<String>> = names
        .into_iter()
        .filter_map(|t| {
            let (b, a2) = (before_counts.get(t), after_counts.get(t));
            let changed = match (&before, &after) {
                (Some(x), Some(y)) => x.tables.get(t) != y.tables.get(t),
                _ => b != a2,
            };
            changed.then(|| {
                vec![
                    t.clone(),
                    b.map_or("(new)".into(), |n| count(*n)),
                    a2.map_or("(gone)".into(), |n| count(*n)),
                ]
            })
        })
        .collect();
    let mut out = format!(
        "applied {} to {} with runner {}\n{}\n",
        a.sql.display(),
        target.shown(),
        runner.describe(),
        render(&["line", "statement", "result", "kept"], &statements)
    );
    for n in &run.notes {
        out.push_str(&format!(
            "{}line {}: {}\n",
            if n.warn { "warning: " } else { "" },
            n.line,
            n.text
        ));
    }
    let outputs: Vec<Vec<String>> = run
        .outputs()
        .map(|(s, o)| {
            let mut rows: Vec<String> = o
                .rows
                .iter()
                .map(|r| crate::migrate::expect::shell_row(r))
                .collect();
            if o.total > o.rows.len() as u64 {
                rows.push(format!("… {} in all", plural_rows(o.total)));
            }
            vec![
                s.line.to_string(),
                s.statement.chars().take(60).collect(),
                rows.join("\n"),
            ]
        })
        .collect();
    if !outputs.is_empty() {
        out.push_str(&render(&["line", "query", "rows"], &outputs));
        out.push('\n');
    }
    out.push_str(&if tables.is_empty() {
        "no table changed".to_string()
    } else {
        render(&["table changed", "rows before", "rows after"], &tables)
    });
    out.push('\n');
    if let (Some(x), Some(y)) = (&before, &after)
        && x.schema != y.schema
    {
        out.push_str("the schema changed\n");
    }
    if run.fk_violation_count > 0 {
        out.push_str(&format!(
            "foreign keys: {} pointing to a missing parent: {}\n",
            plural_rows(run.fk_violation_count),
            run.fk_violations
                .iter()
                .take(5)
                .map(|v| format!(
                    "{} rowid {} → {}",
                    v.table,
                    v.rowid.map_or("?".into(), |r| r.to_string()),
                    v.parent
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push_str(&format!("{}\n", run.kept()));
    print(&out)?;
    if let Some(e) = run.error() {
        return Err(e.into());
    }
    Ok(if run.ok() {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

fn plural_rows(n: u64) -> String {
    format!("{} row{}", count(n as i64), if n == 1 { "" } else { "s" })
}

/// A database to read: a path or URL; a gzipped backup is extracted to a temporary copy first.
fn open_for_reading(
    spec: &str,
    token_env: &str,
    timeouts: cli::TimeoutArgs,
) -> Result<(Box<dyn Db>, Option<backup::Extracted>), Error> {
    crate::db::target::register_secret_from_env(token_env);
    let target = Target::parse(spec)?;
    if let Target::Local(p) = &target
        && fsutil::is_gz(p)
    {
        let e = backup::extract(p, None, None)?;
        let db = db::open(&Target::Local(e.db.path().to_path_buf()), Access::ReadOnly)?;
        return Ok((db, Some(e)));
    }
    let args = cli::DbArgs {
        db: spec.to_string(),
        auth_token_env: token_env.to_string(),
        timeouts,
    };
    Ok((open(&args, Access::ReadOnly)?, None))
}

pub fn diff(a: cli::DiffArgs) -> Result<Outcome, Error> {
    interrupt::task("comparing two databases", "both were only read");
    let (before, _keep_b) = open_for_reading(&a.before, &a.auth_token_env, a.timeouts)?;
    let (after, _keep_a) = open_for_reading(&a.after, &a.auth_token_env, a.timeouts)?;
    let d = crate::fingerprint::diff::diff(before.as_ref(), after.as_ref(), a.examples)?;
    if a.format == cli::PlainFormat::Json {
        print(&(serde_json::to_string_pretty(&d).expect("diff serialises") + "\n"))?;
    } else {
        let mut out = String::new();
        for c in &d.schema {
            match c.change.as_str() {
                "changed" => {
                    out.push_str(&format!(
                        "schema: {} {} (on {}) changed:\n",
                        c.kind, c.name, c.table
                    ));
                    for l in &c.diff {
                        out.push_str(&format!("  {l}\n"));
                    }
                }
                _ => out.push_str(&format!("schema: {c}\n")),
            }
        }
        if !d.tables.is_empty() {
            let rows: Vec<Vec<String>> = d
                .tables
                .iter()
                .map(|t| {
                    let mut cols = Vec::new();
                    cols.extend(t.columns_added.iter().map(|c| format!("+{c}")));
                    cols.extend(t.columns_removed.iter().map(|c| format!("-{c}")));
                    vec![
                        t.table.clone(),
                        count(t.inserted as i64),
                        count(t.updated as i64),
                        count(t.deleted as i64),
                        cols.join(" "),
                        t.examples.join("\n"),
                    ]
                })
                .collect();
            out.push_str(&render(
                &[
                    "table", "inserted", "updated", "deleted", "columns", "examples",
                ],
                &rows,
            ));
            out.push('\n');
        }
        if d.is_empty() {
            out.push_str("identical: same schema, same rows in every table\n");
        }
        print(&out)?;
    }
    Ok(if d.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

pub fn fingerprint(a: cli::FingerprintArgs) -> Result<Outcome, Error> {
    interrupt::task("fingerprinting a database", "it was only read");
    let (db, _keep) = open_for_reading(&a.db, &a.auth_token_env, a.timeouts)?;
    let fp = crate::fingerprint::fingerprint(db.as_ref())?;
    if a.format == cli::PlainFormat::Json {
        let json = serde_json::json!({
            "database": fp.digest(),
            "schema": fp.schema,
            "tables": fp.tables,
        });
        print(&(serde_json::to_string_pretty(&json).expect("fingerprint serialises") + "\n"))?;
        return Ok(Outcome::Pass);
    }
    let mut rows = vec![vec![
        "(schema)".to_string(),
        String::new(),
        fp.schema.clone(),
    ]];
    rows.extend(
        fp.tables
            .iter()
            .map(|(n, h)| vec![n.clone(), count(h.rows as i64), h.sha256.clone()]),
    );
    print(&format!(
        "{}\ndatabase {}\n",
        render(&["table", "rows", "sha256"], &rows),
        fp.digest()
    ))?;
    Ok(Outcome::Pass)
}

pub fn status(a: cli::StatusArgs) -> Result<Outcome, Error> {
    let db = open(&a.target, Access::ReadOnly)?;
    let status = crate::migrations::status(
        db.as_ref(),
        &a.migrations,
        a.tool,
        a.migrations_table.as_deref(),
    )?;
    print(&match a.format {
        cli::PlainFormat::Json => {
            serde_json::to_string_pretty(&status).expect("status serialises") + "\n"
        }
        cli::PlainFormat::Table => crate::migrations::status::render_table(&status),
    })?;
    Ok(if status.passed() {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}
