//! `verify`: the suite on a database opened read-only, optionally against a baseline backup for
//! collateral damage.
//!
//! Every check reads one consistent state of the database, even while the live app writes to
//! it: a local file is first copied, as one snapshot, through SQLite's online backup API into
//! this run's temporary directory (removed however the run ends), and the checks' worker
//! threads all read that copy. Checks that ran on connections opened one after another would
//! each see a different state (rows counted before a write and compared after it), and SQLite
//! reports a file that changes under a long per-table integrity check as malformed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::backup;
use crate::checks::{self, Baseline, Ctx};
use crate::db::{self, Access, Db, Target};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint};
use crate::report::{Identity, Report, SpecIdentity};
use crate::spec::LoadedSpec;
use crate::spec::validate::{self, Scope};

pub struct Options {
    pub spec: LoadedSpec,
    pub suite: checks::SuiteOptions,
    pub baseline: Option<PathBuf>,
}

pub fn spec_identity(spec: &LoadedSpec) -> SpecIdentity {
    SpecIdentity {
        kind: "spec".into(),
        name: spec.spec.name.clone(),
        origin: spec.origin.clone(),
        sha256: spec.sha256.clone(),
    }
}

/// A file as a report names it: path, size, sha256.
pub fn file_identity(shown: &str, path: &Path) -> Result<Identity, Error> {
    Ok(Identity {
        database: shown.to_string(),
        size_bytes: Some(crate::fsutil::size(path)?),
        sha256: Some(backup::sha256_file(path)?),
    })
}

pub fn target_identity(target: &Target) -> Result<Identity, Error> {
    match target {
        Target::Local(p) => file_identity(&target.shown(), p),
        Target::Remote(_) => Ok(Identity {
            database: target.shown(),
            size_bytes: None,
            sha256: None,
        }),
    }
}

/// Worker threads for the checks: the cores for a local file, a few requests for a server.
pub fn workers(db: &dyn Db) -> usize {
    if db.as_local().is_some() {
        crate::parallel::cores()
    } else {
        4
    }
}

/// Run the suite on an open database, over the migrations and systems in `scope`; `baseline` is
/// the state before the migration.
pub fn run_checks(
    db: &dyn Db,
    spec: &LoadedSpec,
    scope: &Scope,
    suite: &checks::SuiteOptions,
    baseline: Option<(&Fingerprint, Target)>,
    report: &mut Report,
) -> Result<(), Error> {
    // verification reports missing columns and points as failed checks rather than refusing
    let scope = Scope {
        allow_missing_points: true,
        lenient: true,
        ..scope.clone()
    };
    let plan = validate::plan(spec, db, &scope)?;
    let baseline = baseline.map(|(fingerprint, target)| Baseline {
        fingerprint,
        target,
    });
    let ctx = Ctx::build(db, &plan, suite, baseline)?;
    let (results, timings) = checks::run(&ctx, db, workers(db))?;
    report.checks.extend(results);
    if suite.timeline {
        report.timelines = checks::timelines(&ctx, db)?;
    }
    report.timings.extend(timings);
    Ok(())
}

/// A read-only handle on one consistent state of `target`: for a local file, a snapshot copy
/// (kept alive by the second value) named after the file in every message; for a server, its
/// read transaction.
pub fn open_snapshot(
    target: &Target,
) -> Result<(Box<dyn Db>, Option<tempfile::NamedTempFile>), Error> {
    let Target::Local(path) = target else {
        // a server: one read transaction for every check
        return Ok((db::open(target, Access::Snapshot)?, None));
    };
    crate::fsutil::not_a_dir(path)?;
    if !path.is_file() {
        // the driver says it the usual way
        return Ok((db::open(target, Access::ReadOnly)?, None));
    }
    let dir = crate::interrupt::run_dir()?;
    let size = crate::fsutil::size(path)?;
    let full = |free: Option<u64>| crate::fsutil::FsError::Full {
        path: std::env::temp_dir(),
        needed: Some(size),
        free,
    };
    if let Some(free) = crate::fsutil::free_space(&dir)
        && size > free
    {
        return Err(full(Some(free)).into());
    }
    let copy = crate::fsutil::temp_file_in(&dir, "snapshot", ".db")?;
    match backup::snapshot_copy(path, copy.path()) {
        Ok(()) => {}
        Err(backup::BackupError::Sqlite { source, .. }) if backup::extract::is_full(&source) => {
            return Err(full(crate::fsutil::free_space(&dir)).into());
        }
        Err(backup::BackupError::Fs(crate::fsutil::FsError::Full { .. })) => {
            return Err(full(crate::fsutil::free_space(&dir)).into());
        }
        Err(backup::BackupError::SourceNotSqlite(_)) => {
            // the driver names the problem as it does for any file that is not a database
            return Ok((db::open(target, Access::ReadOnly)?, None));
        }
        Err(e) => return Err(e.into()),
    }
    let db = db::local::LocalDb::open_as(copy.path(), target.clone(), Access::ReadOnly)?;
    Ok((Box::new(db), Some(copy)))
}

pub fn verify(target: &Target, opts: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    let (db, _snapshot) = open_snapshot(target)?;
    let snapshot_secs = started.elapsed().as_secs_f64();
    // the file's size and digest are read beside the checks
    let (identity, report) = std::thread::scope(|s| {
        let identity = s.spawn(|| {
            let t = Instant::now();
            target_identity(target).map(|i| (i, t.elapsed().as_secs_f64()))
        });
        let report = check_snapshot(db.as_ref(), opts);
        let identity = identity
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (identity, report)
    });
    let (identity, identity_secs) = identity?;
    let mut report = report?;
    report.target = identity;
    report.timings.insert("snapshot".into(), snapshot_secs);
    report.timings.insert("identity".into(), identity_secs);
    report
        .timings
        .insert("total".into(), started.elapsed().as_secs_f64());
    report.finish();
    Ok(report)
}

/// The suite on the snapshot, in a report whose target identity the caller fills in.
fn check_snapshot(db: &dyn Db, opts: &Options) -> Result<Report, Error> {
    let mut report = Report::new(
        "verify",
        Identity {
            database: db.target().shown(),
            size_bytes: None,
            sha256: None,
        },
        spec_identity(&opts.spec),
        Some((opts.suite.sample, opts.suite.seed)),
    );
    let base = match &opts.baseline {
        Some(path) => {
            let e = backup::extract(path, None, None)?;
            report.baseline = Some(file_identity(&path.display().to_string(), path)?);
            let base_db = db::open(&Target::Local(e.db.path().to_path_buf()), Access::ReadOnly)?;
            let fp = fingerprint::fingerprint(base_db.as_ref())?;
            Some((e, fp))
        }
        None => None,
    };
    run_checks(
        db,
        &opts.spec,
        &Scope::default(),
        &opts.suite,
        base.as_ref()
            .map(|(e, fp)| (fp, Target::Local(e.db.path().to_path_buf()))),
        &mut report,
    )?;
    Ok(report)
}
