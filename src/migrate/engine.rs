//! Running a plan: batches of source rows (time windows per system), each batch's inserts and its
//! progress in one transaction; resumable from `migration_progress`, idempotent through the
//! target's unique key, undoable through the journal.

use std::time::Instant;

use super::journal::{self, JournalError};
use super::sql;
use crate::db::{Db, DbError, DbExt, Value, as_i64};
use crate::spec::validate::{MigrationPlan, Plan, SystemPlan};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("--batch-size must be at least 1")]
    BatchSize,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Source rows per batch.
    pub batch_size: u64,
    /// Ignore recorded progress and scan every source row again (existing keys are still
    /// skipped, and progress never moves backwards).
    pub from_start: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch_size: 20_000,
            from_start: false,
        }
    }
}

/// What one migration did (or would do) for one system.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SystemResult {
    pub migration: String,
    pub system_id: i64,
    pub vendor_type: String,
    /// Source rows in the range this run covered.
    pub source_rows: u64,
    /// Target rows the spec makes of them.
    pub carried: u64,
    /// Of those, rows whose key was already in the target (live dual-writes, earlier runs).
    pub already_present: u64,
    pub inserted: u64,
    pub batches: u64,
    #[serde(skip)]
    pub seconds: f64,
}

impl SystemResult {
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.inserted as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Events for progress display and logs.
pub enum Event<'a> {
    Start {
        total_source_rows: u64,
    },
    Batch {
        migration: &'a str,
        system_id: i64,
        lo: i64,
        hi: i64,
        source_rows: u64,
        carried: u64,
        inserted: u64,
        seconds: f64,
    },
    SystemDone(&'a SystemResult),
}

fn now_s() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The range of source time a run covers for one system: (start, end].
fn range(
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    from_start: bool,
) -> Result<Option<(i64, i64)>, DbError> {
    let m = &mp.migration;
    let q = crate::sql::ident;
    let bounds = db.query(
        &format!(
            "SELECT min({t}), max({t}) FROM {s} WHERE {sys} = ?1",
            t = q(&m.time.source),
            s = q(&m.source),
            sys = q(&m.system)
        ),
        &[Value::Integer(sp.system_id)],
    )?;
    let (Some(min), Some(max)) = (as_i64(&bounds[0][0]), as_i64(&bounds[0][1])) else {
        return Ok(None);
    };
    // a roll-up covers whole buckets: its windows start and end on bucket bounds
    let (first, end) = match &m.bucket {
        Some(b) => (b.last_time(b.of(min)) - b.width, b.last_time(b.of(max))),
        None => (min - 1, max),
    };
    let start = if from_start {
        None
    } else {
        journal::progress_of(db, &mp.progress_table, &m.name, sp.system_id)?
    };
    let start = start.unwrap_or(first);
    Ok((start < end).then_some((start, end)))
}

fn count_source(
    db: &dyn Db,
    mp: &MigrationPlan,
    system_id: i64,
    lo: i64,
    hi: i64,
) -> Result<u64, DbError> {
    let m = &mp.migration;
    let q = crate::sql::ident;
    Ok(db
        .scalar_i64(
            &format!(
                "SELECT count(*) FROM {} WHERE {} = ?1 AND {t} > ?2 AND {t} <= ?3",
                q(&m.source),
                q(&m.system),
                t = q(&m.time.source)
            ),
            &[
                Value::Integer(system_id),
                Value::Integer(lo),
                Value::Integer(hi),
            ],
        )?
        .unwrap_or(0) as u64)
}

/// The end of the next batch: the time of the batch_size-th source row after `lo`, or `end`.
fn next_hi(
    db: &dyn Db,
    mp: &MigrationPlan,
    system_id: i64,
    lo: i64,
    end: i64,
    batch: u64,
) -> Result<i64, DbError> {
    let m = &mp.migration;
    let q = crate::sql::ident;
    let hi = db.scalar_i64(
        &format!(
            "SELECT {t} FROM {s} WHERE {sys} = ?1 AND {t} > ?2 ORDER BY {t} LIMIT 1 OFFSET ?3",
            t = q(&m.time.source),
            s = q(&m.source),
            sys = q(&m.system)
        ),
        &[
            Value::Integer(system_id),
            Value::Integer(lo),
            Value::Integer(i64::try_from(batch - 1).unwrap_or(i64::MAX)),
        ],
    )?;
    // a roll-up's batch ends where the bucket of that row ends, so no bucket is split
    let hi = match (&m.bucket, hi) {
        (Some(b), Some(h)) => Some(b.last_time(b.of(h))),
        (_, h) => h,
    };
    Ok(hi.map_or(end, |h| h.min(end)))
}

/// Migrate: every system of every planned migration, batch by batch.
pub fn run(
    db: &dyn Db,
    plan: &Plan,
    opts: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<Vec<SystemResult>, MigrateError> {
    if opts.batch_size == 0 {
        return Err(MigrateError::BatchSize);
    }
    // what there is to do, before anything is written
    let mut work = Vec::new();
    let mut total = 0;
    for mp in &plan.migrations {
        for sp in &mp.systems {
            let r = range(db, mp, sp, opts.from_start)?;
            let n = match r {
                Some((lo, hi)) => count_source(db, mp, sp.system_id, lo, hi)?,
                None => 0,
            };
            total += n;
            work.push((mp, sp, r, n));
        }
    }
    events(Event::Start {
        total_source_rows: total,
    });
    let mut results = Vec::new();
    let mut ready = std::collections::BTreeSet::new();
    for (mp, sp, r, n) in work {
        let m = &mp.migration;
        let mut res = SystemResult {
            migration: m.name.clone(),
            system_id: sp.system_id,
            vendor_type: sp.vendor_type.clone(),
            source_rows: n,
            carried: 0,
            already_present: 0,
            inserted: 0,
            batches: 0,
            seconds: 0.0,
        };
        let started = Instant::now();
        if let (Some((start, end)), Some(select)) = (r, sql::select_sql(mp, sp)) {
            if ready.insert(m.name.clone()) {
                journal::setup(db, mp)?;
            }
            let insert = sql::insert_sql(mp, &select);
            let autoincrement = journal::is_autoincrement(db, &m.target)?;
            let carried_count = sql::carried_count_sql(mp, sp).expect("a system with points");
            let mut lo = start;
            while lo < end {
                let t = Instant::now();
                let hi = next_hi(db, mp, sp.system_id, lo, end, opts.batch_size)?;
                let out = db.write_batch(&journal::batch_statements(
                    mp,
                    autoincrement,
                    &carried_count,
                    &insert,
                    sp.system_id,
                    lo,
                    hi,
                    now_s(),
                ))?;
                // statements: journal, counts (source rows, carried), insert, …
                let counts =
                    |i: usize| out[1].rows.first().and_then(|r| as_i64(&r[i])).unwrap_or(0) as u64;
                let (source_rows, carried) = (counts(0), counts(1));
                let inserted = out[2].changes;
                res.carried += carried;
                res.inserted += inserted;
                res.batches += 1;
                events(Event::Batch {
                    migration: &m.name,
                    system_id: sp.system_id,
                    lo,
                    hi,
                    source_rows,
                    carried,
                    inserted,
                    seconds: t.elapsed().as_secs_f64(),
                });
                lo = hi;
            }
        }
        res.already_present = res.carried - res.inserted;
        res.seconds = started.elapsed().as_secs_f64();
        events(Event::SystemDone(&res));
        results.push(res);
    }
    Ok(results)
}

/// What `run` would do, read-only: per system, the source rows beyond recorded progress, the
/// rows the spec makes of them, and how many of those keys are not in the target yet.
pub fn dry_run(
    db: &dyn Db,
    plan: &Plan,
    opts: &Options,
) -> Result<Vec<SystemResult>, MigrateError> {
    let mut results = Vec::new();
    for mp in &plan.migrations {
        for sp in &mp.systems {
            let started = Instant::now();
            let mut res = SystemResult {
                migration: mp.migration.name.clone(),
                system_id: sp.system_id,
                vendor_type: sp.vendor_type.clone(),
                source_rows: 0,
                carried: 0,
                already_present: 0,
                inserted: 0,
                batches: 0,
                seconds: 0.0,
            };
            if let (Some((lo, hi)), Some(select)) =
                (range(db, mp, sp, opts.from_start)?, sql::select_sql(mp, sp))
            {
                let window = [
                    Value::Integer(sp.system_id),
                    Value::Integer(lo),
                    Value::Integer(hi),
                ];
                res.source_rows = count_source(db, mp, sp.system_id, lo, hi)?;
                res.carried = db
                    .scalar_i64(&sql::count_sql(&select), &window)?
                    .unwrap_or(0) as u64;
                res.inserted = db
                    .scalar_i64(&sql::would_insert_sql(mp, &select), &window)?
                    .unwrap_or(0) as u64;
                res.already_present = res.carried - res.inserted;
                res.batches = res.source_rows.div_ceil(opts.batch_size.max(1));
            }
            res.seconds = started.elapsed().as_secs_f64();
            results.push(res);
        }
    }
    Ok(results)
}
