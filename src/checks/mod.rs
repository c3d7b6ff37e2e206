//! The verification suite. Each check is its own unit: it derives what to expect from the spec
//! (through `expect`, never through the engine's statement builder), runs queries inside the
//! database that return a violation count and a few examples, and returns results; it never
//! prints. `run` spreads the checks over worker threads and returns them in registry order.

mod coverage;
mod expect;
mod fkeys;
pub mod generic;
mod inproc;
pub mod invariants;
mod keys;
mod left_behind;
mod parity;
mod points;
mod progress;
mod rows;
mod schema;
mod spot;
mod timeline;
mod units;

use std::collections::BTreeMap;
use std::time::Instant;

use crate::db::{Db, DbError, DbExt, Value, as_i64};
use crate::fingerprint::Fingerprint;
use crate::migrate::journal;
use crate::report::{CheckResult, Fact, Scope};
use crate::spec::validate::{MigrationPlan, Plan, ResolvedPoint, SystemPlan};
use crate::sql::ident as q;

pub use expect::same_value;
pub use timeline::timelines;

/// Which target rows the live app wrote, as opposed to the migration.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveRows {
    /// Rowid ranges (lo, hi] preflight's journal says it inserted; everything else is live
    /// (and, when the spec names a live marker, has it set: a row with neither is unexplained).
    Journal(Vec<(i64, i64)>, Option<String>),
    /// Rows where this column is set (the spec's live marker), when there is no journal.
    Marker(String),
    /// No way to tell: live parity is skipped, every row counts as migrated.
    Unknown,
}

impl LiveRows {
    /// SQL condition on alias `t`: the row was written by the live app. The rowid terms carry a
    /// unary `+`, so queries keep using the (system, point, time) key rather than rowid ranges.
    pub fn live_sql(&self, t: &str) -> Option<String> {
        match self {
            LiveRows::Journal(ranges, marker) => {
                let not_migrated = if ranges.is_empty() {
                    "1".into()
                } else {
                    format!("NOT ({})", ranges_sql(t, ranges, "+"))
                };
                Some(match marker {
                    Some(c) => format!("({not_migrated} AND {t}.{} IS NOT NULL)", q(c)),
                    None => not_migrated,
                })
            }
            LiveRows::Marker(c) => Some(format!("{t}.{} IS NOT NULL", q(c))),
            LiveRows::Unknown => None,
        }
    }

    /// The same, as plain rowid ranges, for queries that should scan live rows by rowid.
    pub fn live_rowid_sql(&self, t: &str) -> Option<String> {
        match self {
            LiveRows::Journal(ranges, marker) => {
                let mut live = Vec::new();
                let mut from = 0i64;
                for (lo, hi) in ranges {
                    if *lo > from {
                        live.push((from, *lo));
                    }
                    from = *hi;
                }
                live.push((from, i64::MAX - 1));
                Some(match marker {
                    Some(c) => format!(
                        "(({}) AND {t}.{} IS NOT NULL)",
                        ranges_sql(t, &live, ""),
                        q(c)
                    ),
                    None => format!("({})", ranges_sql(t, &live, "")),
                })
            }
            other => other.live_sql(t),
        }
    }

    /// SQL condition on alias `t`: the row was written by the migration.
    pub fn migrated_sql(&self, t: &str) -> String {
        match self {
            LiveRows::Journal(ranges, _) if ranges.is_empty() => "0".into(),
            LiveRows::Journal(ranges, _) => format!("({})", ranges_sql(t, ranges, "+")),
            LiveRows::Marker(c) => format!("{t}.{} IS NULL", q(c)),
            LiveRows::Unknown => "1".into(),
        }
    }
}

pub(super) fn ranges_sql(t: &str, ranges: &[(i64, i64)], prefix: &str) -> String {
    ranges
        .iter()
        .map(|(lo, hi)| format!("{prefix}{t}.rowid BETWEEN {} AND {hi}", lo + 1))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Merge journal ranges that touch, so the condition stays short.
fn merge_ranges(mut r: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    r.sort();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (lo, hi) in r {
        if hi <= lo {
            continue;
        }
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Source rows of one system: first and last time, and how many.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceRange {
    pub min: i64,
    pub max: i64,
    pub rows: i64,
}

/// How the suite runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SuiteOptions {
    /// Rows the spot check shows.
    pub sample: u64,
    pub seed: u64,
    pub quick_integrity: bool,
    /// No integrity check at all (a database checked already; the suite's own cost alone).
    pub skip_integrity: bool,
    /// Also measure coverage over time for a view that draws it (the HTML report).
    pub timeline: bool,
}

/// What every check may read.
pub struct Ctx<'a> {
    pub plan: &'a Plan,
    /// Per target table.
    pub live: BTreeMap<String, LiveRows>,
    /// Rowid ranges the journal says a migration inserted, per (migration, system).
    pub migrated_ranges: BTreeMap<(String, i64), Vec<(i64, i64)>>,
    /// Per (migration, system), when the system has source rows.
    pub sources: BTreeMap<(String, i64), SourceRange>,
    pub sample: u64,
    pub seed: u64,
    /// quick_check rather than integrity_check.
    pub quick_integrity: bool,
    /// No integrity check.
    pub skip_integrity: bool,
    /// The state before the migration, for collateral damage (rehearse, or verify --baseline).
    pub baseline: Option<Baseline<'a>>,
    /// Every catalogued point: (system, point id) → (point key, metric unit).
    pub points: BTreeMap<(i64, i64), (String, String)>,
    /// Target tables whose live rows are scanned by rowid (see `live_scan`).
    live_by_rowid: std::collections::BTreeSet<String>,
    /// Answers of queries that several checks ask word for word, each asked once.
    asked: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Asked>>>,
    /// Implausible migrated rows (the units check's) per (migration, system), where the values
    /// check's read of those rows counted them first.
    implausible: std::sync::Mutex<BTreeMap<(String, i64), u64>>,
}

/// One query's rows, read by whichever check asks first (None: it failed).
type Asked = std::sync::OnceLock<Option<Vec<crate::db::Row>>>;

pub struct Baseline<'a> {
    pub fingerprint: &'a Fingerprint,
    /// The baseline database itself (opened read-only by each task that needs rows from it).
    pub target: crate::db::Target,
}

impl Baseline<'_> {
    pub fn open(&self) -> Result<Box<dyn Db>, DbError> {
        crate::db::open(&self.target, crate::db::Access::ReadOnly)
    }
}

impl<'a> Ctx<'a> {
    pub fn build(
        db: &dyn Db,
        plan: &'a Plan,
        opts: &SuiteOptions,
        baseline: Option<Baseline<'a>>,
    ) -> Result<Ctx<'a>, DbError> {
        let mut live = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let entries = journal::entries(db, None)?;
        let mut migrated_ranges: BTreeMap<(String, i64), Vec<(i64, i64)>> = BTreeMap::new();
        for mp in &plan.migrations {
            for e in journal::entries(db, Some(&mp.migration.name))? {
                migrated_ranges
                    .entry((mp.migration.name.clone(), e.system_id))
                    .or_default()
                    .push((e.rowid_lo, e.rowid_hi));
            }
        }
        let migrated_ranges = migrated_ranges
            .into_iter()
            .map(|(k, v)| (k, merge_ranges(v)))
            .collect();
        for mp in &plan.migrations {
            let m = &mp.migration;
            // every migration's rows into this target: what is left is live
            let ranges: Vec<(i64, i64)> = entries
                .iter()
                .filter(|e| e.target_table == m.target)
                .map(|e| (e.rowid_lo, e.rowid_hi))
                .collect();
            let how = if !ranges.is_empty() {
                LiveRows::Journal(
                    merge_ranges(ranges),
                    m.live.as_ref().map(|l| l.column.clone()),
                )
            } else if let Some(marker) = &m.live {
                LiveRows::Marker(marker.column.clone())
            } else {
                LiveRows::Unknown
            };
            live.insert(m.target.clone(), how);
            for r in db.query(
                &format!(
                    "SELECT {s}, min({t}), max({t}), count(*) FROM {src} GROUP BY {s}",
                    s = q(&m.system),
                    t = q(&m.time.source),
                    src = q(&m.source)
                ),
                &[],
            )? {
                if let (Some(sys), Some(min), Some(max), Some(n)) =
                    (as_i64(&r[0]), as_i64(&r[1]), as_i64(&r[2]), as_i64(&r[3]))
                {
                    sources.insert((m.name.clone(), sys), SourceRange { min, max, rows: n });
                }
            }
        }
        // live rows are read by rowid where all systems' live rows together are no more than
        // one pass over the table through the system index, once per system, would read
        let mut live_by_rowid = std::collections::BTreeSet::new();
        for (target, how) in &live {
            let LiveRows::Journal(ranges, _) = how else {
                continue;
            };
            // (a table without a rowid answers with an error: it is read through its indexes)
            let Ok(Some(max)) =
                db.scalar_i64(&format!("SELECT max(rowid) FROM {}", q(target)), &[])
            else {
                continue;
            };
            let migrated: i64 = ranges
                .iter()
                .map(|(lo, hi)| (hi.min(&max) - lo).max(0))
                .sum();
            let systems = plan
                .migrations
                .iter()
                .filter(|mp| &mp.migration.target == target)
                .map(|mp| mp.systems.len() as i64)
                .max()
                .unwrap_or(1)
                .max(1);
            if (max - migrated).saturating_mul(systems) <= max {
                live_by_rowid.insert(target.clone());
            }
        }
        let c = &plan.spec.spec.catalog;
        let points = db
            .query(
                &format!(
                    "SELECT {}, {}, {}, {} FROM {}",
                    q(&c.point_system),
                    q(&c.point_id),
                    q(&c.point_key),
                    q(&c.metric_unit),
                    q(&c.points)
                ),
                &[],
            )?
            .into_iter()
            .filter_map(|r| {
                Some((
                    (as_i64(&r[0])?, as_i64(&r[1])?),
                    (
                        crate::db::as_text(&r[2]).unwrap_or_default(),
                        crate::db::as_text(&r[3]).unwrap_or_default(),
                    ),
                ))
            })
            .collect();
        Ok(Ctx {
            plan,
            live,
            migrated_ranges,
            sources,
            sample: opts.sample,
            seed: opts.seed,
            quick_integrity: opts.quick_integrity,
            skip_integrity: opts.skip_integrity,
            baseline,
            points,
            live_by_rowid,
            asked: Default::default(),
            implausible: Default::default(),
        })
    }

    /// SQL on alias `t`: a row of system `?1` that the live app wrote, for a scan of those rows.
    /// Where they are few (`live_by_rowid`), a unary `+` keeps the planner off the system index,
    /// so that the rowid ranges are read rather than every row of the system.
    pub fn live_scan(&self, mp: &MigrationPlan, t: &str) -> Option<String> {
        let live = self.live_rows(mp).live_rowid_sql(t)?;
        let plus = if self.live_by_rowid.contains(&mp.migration.target) {
            "+"
        } else {
            ""
        };
        Some(format!(
            "{plus}{t}.{} = ?1 AND {live}",
            q(&mp.migration.system)
        ))
    }

    /// The rows of `sql` (no parameters), read once for every check that asks it word for
    /// word (the suite reads one unchanging state); a check asking while another reads waits
    /// for that answer.
    pub fn query_once(&self, db: &dyn Db, sql: &str) -> Result<Vec<crate::db::Row>, DbError> {
        let cell = self
            .asked
            .lock()
            .expect("asked")
            .entry(sql.to_string())
            .or_default()
            .clone();
        match cell.get_or_init(|| db.query(sql, &[]).ok()) {
            Some(rows) => Ok(rows.clone()),
            // the error, as this check's own
            None => db.query(sql, &[]),
        }
    }

    pub fn live_rows(&self, mp: &MigrationPlan) -> &LiveRows {
        self.live
            .get(&mp.migration.target)
            .unwrap_or(&LiveRows::Unknown)
    }

    pub fn source(&self, mp: &MigrationPlan, sp: &SystemPlan) -> Option<SourceRange> {
        self.sources
            .get(&(mp.migration.name.clone(), sp.system_id))
            .copied()
    }

    /// Record the implausible rows of a system's migrated rows, counted by another check.
    pub fn note_implausible(&self, mp: &MigrationPlan, system_id: i64, n: u64) {
        self.implausible
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((mp.migration.name.clone(), system_id), n);
    }

    /// The implausible rows of a system's migrated rows, if another check counted them already.
    pub fn implausible(&self, mp: &MigrationPlan, system_id: i64) -> Option<u64> {
        self.implausible
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(mp.migration.name.clone(), system_id))
            .copied()
    }

    /// The rowid ranges this migration's journal holds for a system (None without a journal).
    pub fn ranges(&self, mp: &MigrationPlan, system_id: i64) -> Option<&Vec<(i64, i64)>> {
        self.migrated_ranges
            .get(&(mp.migration.name.clone(), system_id))
    }

    /// SQL on target alias `t`: a row this migration wrote. From its journal when the target has
    /// one; otherwise a row that is not live (by the spec's marker, or every row when live rows
    /// cannot be told apart) at a time this migration answers for.
    pub fn mine_sql(&self, mp: &MigrationPlan, t: &str) -> String {
        if let LiveRows::Journal(..) = self.live_rows(mp) {
            let ranges: Vec<(i64, i64)> = self
                .migrated_ranges
                .iter()
                .filter(|((m, _), _)| m == &mp.migration.name)
                .flat_map(|(_, r)| r.iter().copied())
                .collect();
            if ranges.is_empty() {
                return "0".into();
            }
            return format!("({})", ranges_sql(t, &merge_ranges(ranges), "+"));
        }
        let migrated = self.live_rows(mp).migrated_sql(t);
        match expect::owned(self.plan, mp, t) {
            Some(o) => format!("({migrated} AND {o})"),
            None => migrated,
        }
    }

    /// SQL on target alias `t`: a row at a time this migration answers for ("1" when it has the
    /// target to itself).
    pub fn owned_sql(&self, mp: &MigrationPlan, t: &str) -> String {
        expect::owned(self.plan, mp, t).unwrap_or_else(|| "1".into())
    }

    /// What the spec says a source column holds.
    pub fn column_info(
        &self,
        mp: &MigrationPlan,
        column: &str,
    ) -> Option<&crate::spec::ColumnInfo> {
        self.plan
            .spec
            .spec
            .column_info(&mp.migration.source, column)
    }
}

/// `migration · system N · point (id)`
pub fn scope(mp: &MigrationPlan, sp: &SystemPlan, p: Option<&ResolvedPoint>) -> Scope {
    Scope {
        migration: Some(mp.migration.name.clone()),
        system: Some(sp.system_id),
        vendor: Some(sp.vendor_type.clone()),
        point: p.map(|p| crate::report::PointRef {
            id: p.point_id,
            name: p.point.clone(),
        }),
        ..Scope::default()
    }
}

/// A time in a migration's target unit, as UTC.
pub fn show_time(t: i64, multiply: i64) -> String {
    let secs = t.div_euclid(multiply.max(1));
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// A unit of work: one query (or a few) on its own handle, giving results for some scopes.
pub type Task<'a> = Box<dyn Fn(&dyn Db) -> Result<Vec<CheckResult>, DbError> + Send + Sync + 'a>;

/// One task per planned migration.
pub fn per_migration<'a, F>(ctx: &'a Ctx<'a>, f: F) -> Vec<Task<'a>>
where
    F: Fn(&dyn Db, &'a MigrationPlan) -> Result<Vec<CheckResult>, DbError>
        + Send
        + Sync
        + Copy
        + 'a,
{
    ctx.plan
        .migrations
        .iter()
        .map(|mp| -> Task<'a> { Box::new(move |db: &dyn Db| f(db, mp)) })
        .collect()
}

/// The checks, in the order the report lists them.
pub const REGISTRY: &[(&str, &str)] = &[
    ("schema.columns", "mapped source columns exist"),
    (
        "schema.points",
        "mapped points exist in the point catalogue",
    ),
    (
        "schema.targets",
        "target tables and their indexes are present",
    ),
    ("schema.integrity", "the database passes integrity_check"),
    ("schema.foreign_keys", "no foreign key violations"),
    (
        "row_counts",
        "target rows match the source rows the spec carries",
    ),
    (
        "values",
        "every migrated value equals its source after the spec's transform",
    ),
    ("spot_checks", "random rows, source beside target"),
    (
        "timestamps",
        "target time = source time × multiplier, and plausible",
    ),
    (
        "units",
        "units converted as the point's unit needs, values plausible",
    ),
    (
        "counters",
        "lifetime counters never decrease, across the seam to live rows",
    ),
    (
        "coverage",
        "first and last time match; no gap the source does not have",
    ),
    (
        "progress",
        "migration_progress records every migrated system",
    ),
    ("collateral", "nothing outside the migration changed"),
    (
        "left_behind",
        "every source column with data is carried or ignored",
    ),
    (
        "empty_points",
        "no migrated point is all NULL while it has data",
    ),
    (
        "live_parity",
        "live rows equal what the spec makes of their source rows",
    ),
    ("keys", "point rows reference their own system's points"),
    (
        "rehearse.rerun",
        "a second run inserts nothing and changes nothing",
    ),
    ("rehearse.undo", "undo restores every table exactly"),
    (
        "sql.forward",
        "the forward script runs as production's runner runs it",
    ),
    ("sql.atomic", "a failed script leaves nothing behind"),
    (
        "sql.kept",
        "what a failed script leaves behind under production's runner",
    ),
    (
        "sql.runner",
        "every statement does what it reads under production's runner",
    ),
    (
        "sql.foreign_keys",
        "no row points to a missing parent after the script",
    ),
    ("expect.query", "queries return the expected rows"),
    ("sql.scope", "every change stays within the declared scope"),
    (
        "sql.collateral",
        "no rows deleted or updated through cascades or triggers in tables the script does not name",
    ),
    (
        "sql.vanished",
        "no index, trigger or view gone without a statement that drops it",
    ),
    ("sql.broken", "every view and trigger still compiles"),
    (
        "sql.references",
        "no foreign key left pointing to a missing table or a renamed one",
    ),
    (
        "sql.sequence",
        "no AUTOINCREMENT counter lowered or removed",
    ),
    (
        "sql.constraints",
        "no NOT NULL, UNIQUE, CHECK, foreign key or default lost in a table rebuild",
    ),
    (
        "sql.layout",
        "no table rebuilt into another column order or affinity with its rows copied",
    ),
    (
        "sql.composite_key",
        "no statement matches one column of a composite key alone",
    ),
    (
        "sql.key_spread",
        "no statement changes rows of key values its filters do not name",
    ),
    ("sql.rerun", "the forward script run again changes nothing"),
    (
        "sql.rollback",
        "the rollback restores schema and every table exactly",
    ),
    (
        "sql.redeploy",
        "the forward script runs again after the rollback",
    ),
    (
        "migrations.status",
        "the database has applied every migration of the directory, unedited",
    ),
    (
        "migrations.rerun",
        "the tool's own rule skips an applied migration on its next run",
    ),
    ("invariant", "a user invariant from the checks file holds"),
];

pub fn title(check: &str) -> &'static str {
    REGISTRY
        .iter()
        .find(|(id, _)| *id == check)
        .map(|(_, t)| *t)
        .unwrap_or("")
}

pub fn result(check: &str, scope: impl Into<Scope>) -> CheckResult {
    CheckResult::new(check, title(check), scope)
}

/// A check that could not be made here, and why.
pub fn skipped(check: &str, scope: impl Into<Scope>, why: impl Into<Fact>) -> CheckResult {
    let mut r = result(check, scope);
    r.status = crate::report::Status::Skip;
    r.found = why.into();
    r
}

/// Every task of every check, in registry order.
fn tasks<'a>(ctx: &'a Ctx<'a>, db: &dyn Db) -> Result<Vec<(usize, Task<'a>)>, DbError> {
    let mut all: Vec<(usize, Task<'a>)> = Vec::new();
    let mut add = |check: &str, ts: Vec<Task<'a>>| {
        let k = REGISTRY
            .iter()
            .position(|(id, _)| *id == check)
            .expect("registered");
        all.extend(ts.into_iter().map(|t| (k, t)));
    };
    add("schema.columns", schema::columns(ctx));
    add("schema.points", schema::points(ctx));
    add("schema.targets", schema::targets(ctx));
    add("schema.integrity", schema::integrity(ctx, db)?);
    add("schema.foreign_keys", schema::foreign_keys(ctx, db)?);
    add("row_counts", rows::counts(ctx));
    add("values", rows::values(ctx));
    add("spot_checks", spot::spot(ctx));
    add("timestamps", rows::timestamps(ctx));
    add("units", units::units(ctx));
    add("counters", units::counters(ctx));
    add("coverage", coverage::coverage(ctx));
    add("progress", progress::progress(ctx));
    add("collateral", progress::collateral(ctx, db)?);
    add("left_behind", left_behind::left_behind(ctx));
    add("empty_points", points::empty_points(ctx));
    add("live_parity", parity::parity(ctx));
    add("keys", keys::keys(ctx));
    Ok(all)
}

/// Run the suite on `db` with up to `workers` threads. Returns the results in registry and
/// scope order, and the seconds each check took (summed over its tasks).
pub fn run(
    ctx: &Ctx,
    db: &dyn Db,
    workers: usize,
) -> Result<(Vec<CheckResult>, BTreeMap<String, f64>), DbError> {
    let tasks = tasks(ctx, db)?;
    let n = tasks.len();
    // the costliest checks first, so the threads finish together
    let cost = |k: usize| match REGISTRY[k].0 {
        "schema.integrity" => 0,
        "values" | "schema.foreign_keys" => 1,
        "live_parity" | "units" | "counters" | "row_counts" => 2,
        _ => 3,
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (cost(tasks[i].0), i));
    let labelled: Vec<(&str, Task)> = tasks.into_iter().map(|(k, t)| (REGISTRY[k].0, t)).collect();
    schedule(db, workers, &labelled, order)
}

/// Run `tasks`, each labelled with its check, in `order` with up to `workers` threads. Returns
/// the results in task order and the seconds each check took (summed over its tasks). On a
/// server's pinned read transaction, SQLite's integrity check, which needs no shared state, runs
/// beside the other checks, each table on a connection of its own: a server drops a stream whose
/// last statement ran longer than 10 s (libsql-server/src/hrana/http/stream.rs, `EXPIRATION`),
/// and meanwhile the pinned stream is kept alive (`db::keep_alive`). The other checks share the
/// pinned handle with its twins, the read transactions proved to hold the same state.
pub fn schedule(
    db: &dyn Db,
    workers: usize,
    tasks: &[(&str, Task)],
    order: Vec<usize>,
) -> Result<(Vec<CheckResult>, BTreeMap<String, f64>), DbError> {
    let timed = |db: &dyn Db, i: usize| -> Result<(usize, Vec<CheckResult>, f64), DbError> {
        let start = Instant::now();
        let r = (tasks[i].1)(db)?;
        Ok((i, r, start.elapsed().as_secs_f64()))
    };
    let outcomes = match db.unpinned()? {
        Some(first) => {
            let (side, main): (Vec<usize>, Vec<usize>) = order
                .into_iter()
                .partition(|&i| tasks[i].0 == "schema.integrity");
            std::thread::scope(|s| {
                let checks = s.spawn(move || -> Result<Vec<_>, DbError> {
                    // each opened when its check starts: an idle stream expires too
                    side.into_iter()
                        .map(|i| timed(first.reopen()?.as_ref(), i))
                        .collect()
                });
                // the other checks on the pinned handle and its twins, if any
                let out = crate::parallel::map(db, workers, main, |db, i| timed(db, i));
                let ping = crate::db::keep_alive(db, &checks);
                let side = checks
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                let mut out = out?;
                out.extend(side?);
                ping?;
                Ok::<_, DbError>(out)
            })?
        }
        None => crate::parallel::map(db, workers, order, |db, i| timed(db, i))?,
    };
    let mut by_task: Vec<Option<Vec<CheckResult>>> = (0..tasks.len()).map(|_| None).collect();
    let mut timings: BTreeMap<String, f64> = BTreeMap::new();
    for (i, r, secs) in outcomes {
        *timings.entry(format!("check:{}", tasks[i].0)).or_default() += secs;
        by_task[i] = Some(r);
    }
    let results = by_task.into_iter().flatten().flatten().collect();
    Ok((results, timings))
}

/// The same row count helper every check uses.
pub fn count(db: &dyn Db, sql: &str, params: &[Value]) -> Result<u64, DbError> {
    Ok(db.scalar_i64(sql, params)?.unwrap_or(0).max(0) as u64)
}

/// Up to five rows of a query, each made an example by `f`.
pub fn examples<E>(
    db: &dyn Db,
    sql: &str,
    params: &[Value],
    f: impl Fn(&[Value]) -> E,
) -> Result<Vec<E>, DbError> {
    Ok(db
        .query(&format!("{sql} LIMIT 5"), params)?
        .iter()
        .map(|r| f(r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_ranges_merge_and_render() {
        assert_eq!(
            merge_ranges(vec![(10, 20), (0, 10), (25, 30), (30, 30)]),
            vec![(0, 20), (25, 30)]
        );
        let l = LiveRows::Journal(vec![(0, 20)], None);
        assert_eq!(l.migrated_sql("t"), "(+t.rowid BETWEEN 1 AND 20)");
        assert_eq!(l.live_sql("t").unwrap(), "NOT (+t.rowid BETWEEN 1 AND 20)");
        let l = LiveRows::Journal(vec![(5, 20), (25, 30)], None);
        assert_eq!(
            l.live_rowid_sql("t").unwrap(),
            format!(
                "(t.rowid BETWEEN 1 AND 5 OR t.rowid BETWEEN 21 AND 25 OR t.rowid BETWEEN 31 AND {})",
                i64::MAX - 1
            )
        );
    }
}
