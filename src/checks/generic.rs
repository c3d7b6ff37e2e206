//! `verify` on any database: the checks that need no spec (integrity, foreign keys), the status of
//! a migrations directory when one is given, and the user's invariants from a checks file. The
//! LiveOne suite runs instead of the first two when a spec is given or the built-in one matches
//! the schema; the last two are added to it.

use std::path::PathBuf;
use std::time::Instant;

use super::invariants::ChecksFile;
use super::{SuiteOptions, Task};
use crate::db::{self, Access, Db, DbExt, Target};
use crate::error::Error;
use crate::migrations::{self, State, Tool};
use crate::report::{CheckResult, Fact, Fixed, Report, Scope, SpecIdentity, Stage, Status};
use crate::spec::LoadedSpec;

/// A migrations directory to check the database against.
#[derive(Debug, Clone)]
pub struct MigrationsDir {
    pub dir: PathBuf,
    pub tool: Option<Tool>,
    pub table: Option<String>,
}

/// What `verify` checks besides (or instead of) a spec's suite.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub checks: Option<PathBuf>,
    pub migrations: Option<MigrationsDir>,
}

/// Does the spec describe this database? True when it has the spec's shape: the catalogue's
/// tables with the columns the suite reads, and every migration's source table. Then the suite
/// runs, and reports what is wrong; a database with only a table of the same name (an
/// inventory's `systems`) is not LiveOne's, and gets the generic checks.
pub fn spec_applies(spec: &LoadedSpec, db: &dyn Db) -> Result<bool, db::DbError> {
    Ok(spec_misfit(spec, db)?.is_none())
}

/// Why the spec does not describe this database ("matches no table here (…)", "table systems
/// has no column vendor_type"), or None when it does.
pub fn spec_misfit(spec: &LoadedSpec, db: &dyn Db) -> Result<Option<String>, db::DbError> {
    let s = &spec.spec;
    let c = &s.catalog;
    let mut shape: Vec<(&String, Vec<&String>)> = vec![
        (&c.systems, vec![&c.system_id, &c.vendor_type]),
        (
            &c.points,
            vec![&c.point_system, &c.point_id, &c.point_key, &c.metric_unit],
        ),
    ];
    for m in &s.migrations {
        shape.push((&m.source, vec![]));
    }
    let mut found_any = false;
    let mut missing = Vec::new();
    for (table, cols) in shape {
        let have = db.columns(table)?;
        if have.is_empty() {
            missing.push(format!("no table {table}"));
            continue;
        }
        found_any = true;
        let lacking: Vec<&str> = cols
            .into_iter()
            .filter(|col| !have.contains(col))
            .map(String::as_str)
            .collect();
        if !lacking.is_empty() {
            missing.push(format!(
                "table {table} has no column {}",
                lacking.join(", ")
            ));
        }
    }
    Ok(if !found_any {
        Some(format!("matches no table here ({})", spec_tables(spec)))
    } else if missing.is_empty() {
        None
    } else {
        missing.dedup();
        Some(format!("does not fit: {}", missing.join("; ")))
    })
}

/// The spec's tables, named for a message.
pub fn spec_tables(spec: &LoadedSpec) -> String {
    let s = &spec.spec;
    let mut tables = vec![s.catalog.systems.clone(), s.catalog.points.clone()];
    for m in &s.migrations {
        tables.push(m.source.clone());
        tables.push(m.target.clone());
    }
    tables.dedup();
    tables.join(", ")
}

/// The status of a migrations directory as check results: one per migration.
pub fn migration_results(status: &migrations::Status) -> Vec<CheckResult> {
    let mut out: Vec<CheckResult> = status
        .entries
        .iter()
        .map(|e| {
            let mut r = super::result(
                "migrations.status",
                Scope {
                    tool: Some(status.tool.to_string()),
                    migration: Some(format!("{} {}", e.key, e.name)),
                    ..Scope::default()
                },
            );
            r.expected = Fixed::Applied.into();
            r.found = Fact::MigrationState {
                state: e.state.as_str().to_string(),
                detail: (!e.detail.is_empty()).then(|| e.detail.clone()),
            };
            r.status = match e.state {
                State::Applied => Status::Pass,
                State::Missing | State::Untracked => Status::Warn,
                _ => Status::Fail,
            };
            r.violations = u64::from(r.status == Status::Fail);
            r
        })
        .collect();
    for n in &status.notes {
        let mut r = super::result(
            "migrations.status",
            Scope {
                tool: Some(status.tool.to_string()),
                ..Scope::default()
            },
        );
        r.status = Status::Warn;
        r.found = Fact::Message { text: n.clone() };
        out.push(r);
    }
    out
}

/// The migrations status and the invariants, in that order, with the checks file's identity.
pub fn extra_results(
    db: &dyn Db,
    extras: &Extras,
) -> Result<(Vec<CheckResult>, Option<SpecIdentity>), Error> {
    let mut out = Vec::new();
    if let Some(m) = &extras.migrations {
        let status = migrations::status(db, &m.dir, m.tool, m.table.as_deref())?;
        out.extend(migration_results(&status));
    }
    let mut identity = None;
    if let Some(path) = &extras.checks {
        let (file, text) = ChecksFile::load(path)?;
        out.extend(super::invariants::run_all(db, &file));
        identity = Some(SpecIdentity {
            kind: "checks".into(),
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            origin: path.display().to_string(),
            sha256: crate::migrations::sql::sha256_hex(text.as_bytes()),
        });
    }
    Ok((out, identity))
}

/// Integrity and foreign keys on any database.
pub fn generic_results(
    db: &dyn Db,
    suite: &SuiteOptions,
) -> Result<(Vec<CheckResult>, std::collections::BTreeMap<String, f64>), Error> {
    let mut tasks: Vec<(&str, Task<'static>)> = Vec::new();
    for t in super::schema::integrity_tasks(suite.quick_integrity, suite.skip_integrity, db)? {
        tasks.push(("schema.integrity", t));
    }
    for t in super::schema::foreign_key_tasks(db)? {
        tasks.push(("schema.foreign_keys", t));
    }
    let order: Vec<usize> = (0..tasks.len()).collect();
    Ok(super::schedule(
        db,
        crate::verify::workers(db),
        &tasks,
        order,
    )?)
}

/// `verify` without a spec: `why` says why the generic checks run.
pub fn verify(
    target: &Target,
    suite: &SuiteOptions,
    extras: &Extras,
    why: &str,
) -> Result<Report, Error> {
    let started = Instant::now();
    let db = db::open(target, Access::ReadOnly)?;
    let (checks, timings) = generic_results(db.as_ref(), suite)?;
    let (extra, checks_identity) = extra_results(db.as_ref(), extras)?;
    let mut report = Report::new(
        "verify",
        crate::verify::target_identity(target)?,
        checks_identity.unwrap_or(SpecIdentity {
            kind: "checks".into(),
            name: "generic".into(),
            origin: "integrity and foreign keys".into(),
            sha256: "-".into(),
        }),
        None,
    );
    report.stages.push(Stage {
        name: "suite".into(),
        status: Status::Pass,
        detail: why.into(),
    });
    report.checks.extend(checks);
    report.checks.extend(extra);
    report.timings.extend(timings);
    report
        .timings
        .insert("total".into(), started.elapsed().as_secs_f64());
    report.finish();
    Ok(report)
}
