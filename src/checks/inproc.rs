//! Proofs of equality computed in this process, for a local file: one ordered read of a
//! system's source rows (the spec's expressions still evaluated by SQLite), one read of the rows
//! the migration wrote, and SQLite's own arithmetic for sums, averages and comparisons reproduced
//! step for step (`func.c`: `sumStep`, `avgFinalize`, `minmaxStep`; `vdbe.c`: the comparison of
//! an integer with a real). They only ever prove that every value is equal, which is nearly
//! always the answer; whatever they cannot prove (a difference, a text value, two source rows at
//! one time) is left to the SQL path, which counts and names the differences. On a server the SQL
//! path runs alone: reading every row over the network costs more than it saves.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use super::Ctx;
use super::expect::{Source, field, makes_row, rollup_columns};
use crate::db::local::LocalDb;
use crate::db::{Db, DbError, Value};
use crate::spec::Aggregate;
use crate::spec::validate::{MigrationPlan, ResolvedPoint, SystemPlan};
use crate::sql::ident as q;
use rusqlite::types::ValueRef;

/// A value the proofs handle. Text is compared only with text, by its bytes (interned: the
/// number of a distinct string); blobs and text against numbers are left to SQL, whose
/// affinities decide them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Null,
    Int(i64),
    Real(f64),
    Text(u32),
}

/// The most expected values one proof holds (16 bytes each: 256 MB); a system with more is
/// left to the SQL path, so that memory stays bounded however large one system grows.
const MAX_EXPECTED: usize = 16 << 20;

/// Distinct strings, numbered.
#[derive(Default)]
struct Strings(HashMap<String, u32>);

impl Strings {
    /// A value read from the source: text numbered (None: a blob).
    fn add(&mut self, v: ValueRef<'_>) -> Option<Num> {
        match v {
            ValueRef::Text(s) => {
                let s = std::str::from_utf8(s).ok()?;
                if let Some(n) = self.0.get(s) {
                    return Some(Num::Text(*n));
                }
                let n = u32::try_from(self.0.len()).ok()?;
                self.0.insert(s.to_string(), n);
                Some(Num::Text(n))
            }
            v => Num::of_ref(v),
        }
    }

    /// A stored value: text that no source value holds is not equal to any (None: a blob).
    fn find(&self, v: ValueRef<'_>) -> Option<Num> {
        match v {
            ValueRef::Text(s) => {
                let s = std::str::from_utf8(s).ok()?;
                Some(Num::Text(*self.0.get(s).unwrap_or(&u32::MAX)))
            }
            v => Num::of_ref(v),
        }
    }
}

impl Num {
    pub fn of(v: &Value) -> Option<Num> {
        match v {
            Value::Null => Some(Num::Null),
            Value::Integer(i) => Some(Num::Int(*i)),
            Value::Real(r) => Some(Num::Real(*r)),
            Value::Text(_) | Value::Blob(_) => None,
        }
    }

    fn of_ref(v: ValueRef<'_>) -> Option<Num> {
        match v {
            ValueRef::Null => Some(Num::Null),
            ValueRef::Integer(i) => Some(Num::Int(i)),
            ValueRef::Real(r) => Some(Num::Real(r)),
            ValueRef::Text(_) | ValueRef::Blob(_) => None,
        }
    }

    fn is_null(self) -> bool {
        self == Num::Null
    }

    fn as_f64(self) -> Option<f64> {
        match self {
            Num::Int(i) => Some(i as f64),
            Num::Real(r) => Some(r),
            Num::Null | Num::Text(_) => None,
        }
    }

    /// SQLite's `x * f` for an integer factor: integers while the product fits, else reals.
    fn times(self, f: i64) -> Num {
        match self {
            Num::Null | Num::Text(_) => self,
            Num::Int(i) => i
                .checked_mul(f)
                .map_or(Num::Real(i as f64 * f as f64), Num::Int),
            Num::Real(r) => Num::Real(r * f as f64),
        }
    }
}

/// SQLite's order of two numbers (an integer and a real compared exactly); None with a NULL.
fn compare(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Real(x), Num::Real(y)) => x.partial_cmp(&y),
        (Num::Int(i), Num::Real(r)) => int_real(i, r),
        (Num::Real(r), Num::Int(i)) => int_real(i, r).map(Ordering::reverse),
        _ => None,
    }
}

/// `sqlite3IntFloatCompare`: an integer against a real, exactly.
fn int_real(i: i64, r: f64) -> Option<Ordering> {
    if r.is_nan() {
        return None;
    }
    if r < -9_223_372_036_854_775_808.0 {
        return Some(Ordering::Greater);
    }
    if r >= 9_223_372_036_854_775_808.0 {
        return Some(Ordering::Less);
    }
    let y = r as i64;
    match i.cmp(&y) {
        Ordering::Equal => (i as f64).partial_cmp(&r),
        o => Some(o),
    }
}

/// `same_value(stored, expected)` of `expect`, on values already read: `IS`, or for an expected
/// real a relative 1e-9.
pub fn same(stored: Num, expected: Num) -> bool {
    match (stored, expected) {
        (Num::Null, Num::Null) => true,
        (Num::Text(a), Num::Text(b)) => a == b,
        (Num::Text(_), _) | (_, Num::Text(_)) => false,
        (Num::Null, _) | (_, Num::Null) => false,
        (a, b) if compare(a, b) == Some(Ordering::Equal) => true,
        (a, Num::Real(e)) => {
            if a == Num::Int(i64::MIN) {
                return false; // abs() of it is an error in SQLite
            }
            let a = a.as_f64().expect("a number");
            (a - e).abs() <= 1e-9 * a.abs().max(e.abs())
        }
        _ => false,
    }
}

/// SQLite's state of `sum()` and `avg()`: integers summed exactly until a real or an overflow
/// comes, then Kahan-Babuska-Neumaier summation in doubles.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sum {
    r_sum: f64,
    r_err: f64,
    i_sum: i64,
    cnt: i64,
    approx: bool,
    overflow: bool,
}

const BIG: i64 = 4_503_599_627_370_496;

impl Sum {
    fn kbn(&mut self, r: f64) {
        let s = self.r_sum;
        let t = s + r;
        if s.abs() > r.abs() {
            self.r_err += (s - t) + r;
        } else {
            self.r_err += (r - t) + s;
        }
        self.r_sum = t;
    }

    fn kbn_int(&mut self, v: i64) {
        if v <= -BIG || v >= BIG {
            let small = v % 16384;
            self.kbn((v - small) as f64);
            self.kbn(small as f64);
        } else {
            self.kbn(v as f64);
        }
    }

    fn init(&mut self, v: i64) {
        if v <= -BIG || v >= BIG {
            let small = v % 16384;
            self.r_sum = (v - small) as f64;
            self.r_err = small as f64;
        } else {
            self.r_sum = v as f64;
            self.r_err = 0.0;
        }
    }

    pub fn step(&mut self, v: Num) {
        if v.is_null() {
            return;
        }
        self.cnt += 1;
        if !self.approx {
            match v {
                Num::Int(i) => match self.i_sum.checked_add(i) {
                    Some(x) => self.i_sum = x,
                    None => {
                        self.overflow = true;
                        self.init(self.i_sum);
                        self.approx = true;
                        self.kbn_int(i);
                    }
                },
                _ => {
                    self.init(self.i_sum);
                    self.approx = true;
                    self.kbn(v.as_f64().expect("a number"));
                }
            }
        } else {
            match v {
                Num::Int(i) => self.kbn_int(i),
                _ => {
                    self.overflow = false;
                    self.kbn(v.as_f64().expect("a number"));
                }
            }
        }
    }

    fn total(&self) -> f64 {
        if self.approx {
            if self.r_err.is_finite() {
                self.r_sum + self.r_err
            } else {
                self.r_sum
            }
        } else {
            self.i_sum as f64
        }
    }

    /// `sum()`; None where SQLite raises "integer overflow".
    pub fn sum(&self) -> Option<Num> {
        if self.cnt == 0 {
            return Some(Num::Null);
        }
        match (self.approx, self.overflow) {
            (true, true) => None,
            (true, false) => Some(Num::Real(self.total())),
            (false, _) => Some(Num::Int(self.i_sum)),
        }
    }

    pub fn avg(&self) -> Num {
        if self.cnt == 0 {
            return Num::Null;
        }
        Num::Real(self.total() / self.cnt as f64)
    }
}

/// Where a roll-up column's input comes from, per source row.
#[derive(Clone, Copy)]
enum Input {
    /// The point's value (the bucket's `value` field): aggregated where it is not NULL.
    Value,
    /// A source column (index in the read row), taken where the row is a sample of the point.
    Column(usize),
}

enum Plan {
    Agg {
        input: Input,
        agg: Aggregate,
        multiply: Option<i64>,
    },
    Constant(Num),
}

/// One point's state within one bucket, per column.
#[derive(Default, Clone, Copy)]
struct Acc {
    sum: Sum,
    min: Option<Num>,
    max: Option<Num>,
    first: Option<Num>,
    last: Option<Num>,
}

/// A system's point ids, each to its place in `sp.points`.
fn point_index(sp: &SystemPlan) -> HashMap<i64, usize> {
    sp.points
        .iter()
        .enumerate()
        .map(|(i, p)| (p.point_id, i))
        .collect()
}

/// Every row of a query on the local file, its values read in place, while `f` proves them
/// (Some); false as soon as it cannot (the rest is not read).
fn each(
    db: &LocalDb,
    sql: &str,
    params: &[Value],
    f: &mut dyn FnMut(&rusqlite::Row<'_>) -> Option<()>,
) -> Result<bool, DbError> {
    let mut stmt = db.conn().prepare(sql).map_err(|e| db.sql_error(sql, e))?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(|e| db.sql_error(sql, e))?;
    while let Some(r) = rows.next().map_err(|e| db.sql_error(sql, e))? {
        if f(r).is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Column `i` of a row as a number or NULL (None: text or a blob).
fn num(r: &rusqlite::Row<'_>, i: usize) -> Option<Num> {
    Num::of_ref(r.get_ref(i).ok()?)
}

/// Column `i` of a row as an integer (None: anything else).
fn int(r: &rusqlite::Row<'_>, i: usize) -> Option<i64> {
    match r.get_ref(i).ok()? {
        ValueRef::Integer(x) => Some(x),
        _ => None,
    }
}

/// A roll-up of one system: Some(migrated rows per point) when every row the migration wrote
/// equals the roll-up of its bucket's source rows as `expect::rollup_expected` defines it; None
/// when that is not proved (the SQL path then decides), or the database is not a local file.
pub fn rollup_all_equal(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
) -> Result<Option<BTreeMap<i64, u64>>, DbError> {
    let Some(local) = db.as_local() else {
        return Ok(None);
    };
    let m = &mp.migration;
    let b = m.bucket.as_ref().expect("a roll-up");
    let cols = rollup_columns(mp);
    let np = sp.points.len();
    // the source row: time, (value, sample) per point, then the source columns
    let mut select = vec![format!("s.{}", q(&m.time.source))];
    for p in &sp.points {
        select.push(field(mp, p, &b.value, "s"));
        select.push(makes_row(mp, p, "s"));
    }
    let mut source_cols: Vec<String> = Vec::new();
    let mut plans = Vec::with_capacity(cols.len());
    for (_, how) in &cols {
        plans.push(match how {
            Source::Aggregate(a) => Plan::Agg {
                input: Input::Value,
                agg: *a,
                multiply: None,
            },
            Source::Column {
                column,
                aggregate,
                multiply,
            } => {
                let k = match source_cols.iter().position(|c| c == column) {
                    Some(k) => k,
                    None => {
                        source_cols.push(column.clone());
                        source_cols.len() - 1
                    }
                };
                Plan::Agg {
                    input: Input::Column(1 + 2 * np + k),
                    agg: *aggregate,
                    multiply: *multiply,
                }
            }
            Source::Constant(v) => match Num::of(&v.to_value()) {
                Some(n) => Plan::Constant(n),
                None => return Ok(None),
            },
        });
    }
    select.extend(source_cols.iter().map(|c| format!("s.{}", q(c))));
    let nc = cols.len();
    let sid = [Value::Integer(sp.system_id)];

    // every bucket's expected rows: names in order, then per (bucket, point) whether it makes a
    // row and the expected columns
    let mut g = Buckets {
        names: Vec::new(),
        present: Vec::new(),
        expected: Vec::new(),
        accs: vec![Acc::default(); np * nc],
        samples: vec![0; np],
        valued: vec![0; np],
    };
    let mut prev: Option<i64> = None;
    let mut row = vec![Num::Null; select.len()];
    let proved = each(
        local,
        &format!(
            "SELECT {} FROM {} AS s WHERE s.{} = ?1 ORDER BY s.{}",
            select.join(", "),
            q(&m.source),
            q(&m.system),
            q(&m.time.source)
        ),
        &sid,
        &mut |r| {
            for (i, slot) in row.iter_mut().enumerate() {
                *slot = num(r, i)?;
            }
            let t = match row[0] {
                Num::Null => return Some(()), // no bucket
                Num::Int(t) => t,
                Num::Real(_) | Num::Text(_) => return None,
            };
            // two rows at one time: which is a bucket's last is SQLite's choice
            if prev == Some(t) {
                return None;
            }
            prev = Some(t);
            let name = b.of(t);
            if g.names.last() != Some(&name) {
                if !g.names.is_empty() {
                    g.close(&plans)?;
                }
                g.names.push(name);
            }
            if g.expected.len() > MAX_EXPECTED {
                return None;
            }
            g.add(&plans, &row)
        },
    )?;
    if !proved || (!g.names.is_empty() && g.close(&plans).is_none()) {
        return Ok(None);
    }

    // the migrated rows, each against its bucket's expected row
    let index = point_index(sp);
    let mult = m.time.multiply;
    let mut totals: BTreeMap<i64, u64> = BTreeMap::new();
    let stored: Vec<String> = cols.iter().map(|(c, _)| format!(", t.{}", q(c))).collect();
    let proved = each(
        local,
        &format!(
            "SELECT t.{}, t.{}{} FROM {} AS t WHERE t.{} = ?1 AND {}",
            q(&m.point_column),
            q(&m.time.target),
            stored.concat(),
            q(&m.target),
            q(&m.system),
            ctx.mine_sql(mp, "t")
        ),
        &sid,
        &mut |r| {
            let (pid, tt) = (int(r, 0)?, int(r, 1)?);
            let p = *index.get(&pid)?;
            if tt % mult != 0 {
                return None;
            }
            let at = g.names.binary_search(&(tt / mult)).ok()? * np + p;
            if !g.present[at] {
                return None;
            }
            for k in 0..nc {
                if !same(num(r, 2 + k)?, g.expected[at * nc + k]) {
                    return None;
                }
            }
            *totals.entry(pid).or_default() += 1;
            Some(())
        },
    )?;
    Ok(proved.then_some(totals))
}

/// A roll-up's buckets as the source rows come, in time order.
struct Buckets {
    /// The bucket names so far.
    names: Vec<i64>,
    /// Per closed bucket and point: whether it makes a row (it has samples).
    present: Vec<bool>,
    /// Per closed bucket, point and column: the expected value.
    expected: Vec<Num>,
    /// The open bucket: per point and column.
    accs: Vec<Acc>,
    /// The open bucket, per point: samples, and samples with a value.
    samples: Vec<i64>,
    valued: Vec<i64>,
}

impl Buckets {
    /// One source row (time, (value, sample) per point, source columns) into the open bucket;
    /// None when it cannot be proved.
    fn add(&mut self, plans: &[Plan], row: &[Num]) -> Option<()> {
        let nc = plans.len();
        for p in 0..self.samples.len() {
            let v = row[1 + 2 * p];
            let sample = match row[2 + 2 * p] {
                Num::Int(x) => x != 0,
                _ => return None,
            };
            self.samples[p] += i64::from(sample);
            self.valued[p] += i64::from(!v.is_null());
            for (k, plan) in plans.iter().enumerate() {
                let Plan::Agg { input, agg, .. } = plan else {
                    continue;
                };
                // a first or last value is the one of the first or last row that counts
                let (x, counts) = match input {
                    Input::Value => (v, !v.is_null()),
                    Input::Column(i) => (if sample { row[*i] } else { Num::Null }, sample),
                };
                let a = &mut self.accs[p * nc + k];
                match agg {
                    Aggregate::Avg | Aggregate::Sum | Aggregate::Count | Aggregate::CountNull => {
                        a.sum.step(x)
                    }
                    // the first of equal values stays
                    Aggregate::Min
                        if !x.is_null()
                            && a.min
                                .is_none_or(|m| compare(m, x) == Some(Ordering::Greater)) =>
                    {
                        a.min = Some(x)
                    }
                    Aggregate::Max
                        if !x.is_null()
                            && a.max.is_none_or(|m| compare(m, x) == Some(Ordering::Less)) =>
                    {
                        a.max = Some(x)
                    }
                    Aggregate::First if counts && a.first.is_none() => a.first = Some(x),
                    Aggregate::Last if counts => a.last = Some(x),
                    _ => {}
                }
            }
        }
        Some(())
    }

    /// Closes the open bucket into `expected`; None when a value cannot be proved (a sum that
    /// overflows).
    fn close(&mut self, plans: &[Plan]) -> Option<()> {
        let nc = plans.len();
        for p in 0..self.samples.len() {
            self.present.push(self.samples[p] > 0);
            for (k, plan) in plans.iter().enumerate() {
                let a = &self.accs[p * nc + k];
                let e = match plan {
                    Plan::Constant(n) => *n,
                    Plan::Agg {
                        input,
                        agg,
                        multiply,
                    } => {
                        let counted = match input {
                            Input::Value => self.valued[p],
                            Input::Column(_) => a.sum.cnt,
                        };
                        let e = match agg {
                            Aggregate::Avg => a.sum.avg(),
                            Aggregate::Sum => a.sum.sum()?,
                            Aggregate::Min => a.min.unwrap_or(Num::Null),
                            Aggregate::Max => a.max.unwrap_or(Num::Null),
                            Aggregate::First => a.first.unwrap_or(Num::Null),
                            Aggregate::Last => a.last.unwrap_or(Num::Null),
                            Aggregate::Count => Num::Int(counted),
                            Aggregate::CountNull => Num::Int(self.samples[p] - counted),
                        };
                        match multiply {
                            Some(f) => e.times(*f),
                            None => e,
                        }
                    }
                };
                self.expected.push(e);
            }
        }
        self.accs.iter_mut().for_each(|a| *a = Acc::default());
        self.samples.iter_mut().for_each(|s| *s = 0);
        self.valued.iter_mut().for_each(|s| *s = 0);
        Some(())
    }
}

/// What one proof over a system's migrated rows counted: rows per point, and the rows that
/// the caller's `implausible` terms call implausible (None: not counted here).
pub type Counted = (BTreeMap<i64, u64>, Option<u64>);

/// One way a stored value is implausible for its unit (the units check's SQL, `units.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bad {
    /// `col < bound`
    Below(f64),
    /// `col > bound`
    Above(f64),
    /// `col != round(col)`
    NotWhole,
    /// `col != round(col, n)`
    NotRounded(i64),
}

/// A bound as the units check writes it into SQL: an integer literal when whole (SQLite then
/// compares exactly), None for a real literal (not reproduced here).
pub fn whole_bound(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9e15).then_some(v as i64)
}

/// SQLite's `round(x)` of a real (`func.c`, `roundFunc`, n = 0).
fn round0(r: f64) -> f64 {
    if !(-4503599627370496.0..=4503599627370496.0).contains(&r) {
        r
    } else {
        ((r + if r < 0.0 { -0.5 } else { 0.5 }) as i64) as f64
    }
}

impl Bad {
    /// Whether the term is true of a stored value; None where it is not reproduced here.
    fn holds(self, v: Num) -> Option<bool> {
        let r = match v {
            Num::Null => return Some(false), // NULL: the comparison is NULL, not true
            Num::Text(_) => return None,
            Num::Int(i) => i as f64,
            Num::Real(r) => r,
        };
        Some(match self {
            Bad::Below(b) => compare(v, Num::Int(whole_bound(b)?)) == Some(Ordering::Less),
            Bad::Above(b) => compare(v, Num::Int(whole_bound(b)?)) == Some(Ordering::Greater),
            Bad::NotWhole | Bad::NotRounded(0) => {
                compare(v, Num::Real(round0(r))) != Some(Ordering::Equal)
            }
            Bad::NotRounded(_) => return None,
        })
    }
}

/// Raw rows of one system: Some(rows per point) when every row in the rowid ranges the
/// journal gives it (`ranges_sql`, on `t`) is this system's, of one of its points, at a time
/// with a source row, and holds what `pairs(point)` (stored column, expected expression over
/// source row `s`) says; None when that is not proved (the SQL path then counts), or the
/// database is not a local file. `implausible(point)`, the units check's terms (stored column,
/// term) over the same rows, are counted in the same read where every term and value is one
/// reproduced here.
pub fn raw_all_equal(
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    ranges_sql: &str,
    pairs: &dyn Fn(&ResolvedPoint) -> Vec<(String, String)>,
    implausible: &dyn Fn(&ResolvedPoint) -> Vec<(String, Bad)>,
) -> Result<Option<Counted>, DbError> {
    let Some(local) = db.as_local() else {
        return Ok(None);
    };
    if sp.points.is_empty() {
        return Ok(None);
    }
    let m = &mp.migration;
    let per_point: Vec<Vec<(String, String)>> = sp.points.iter().map(pairs).collect();
    let stored: Vec<String> = per_point[0].iter().map(|(t, _)| t.clone()).collect();
    if per_point
        .iter()
        .any(|ps| ps.iter().map(|(t, _)| t).ne(stored.iter()))
    {
        return Ok(None);
    }
    // each distinct expected expression read once per source row
    let mut exprs: Vec<String> = Vec::new();
    let slots: Vec<Vec<usize>> = per_point
        .iter()
        .map(|ps| {
            ps.iter()
                .map(|(_, e)| match exprs.iter().position(|x| x == e) {
                    Some(k) => k,
                    None => {
                        exprs.push(e.clone());
                        exprs.len() - 1
                    }
                })
                .collect()
        })
        .collect();
    let ne = exprs.len();
    let mut at: HashMap<i64, usize> = HashMap::new();
    let mut expected: Vec<Num> = Vec::new();
    let mut strings = Strings::default();
    let exprs: String = exprs.iter().map(|e| format!(", {e}")).collect();
    let proved = each(
        local,
        &format!(
            "SELECT s.{}{exprs} FROM {} AS s WHERE s.{} = ?1",
            q(&m.time.source),
            q(&m.source),
            q(&m.system)
        ),
        &[Value::Integer(sp.system_id)],
        &mut |r| {
            let t = match r.get_ref(0).ok()? {
                ValueRef::Null => return Some(()), // joins no row
                ValueRef::Integer(t) => t,
                _ => return None,
            };
            // two source rows at one time both join each migrated row there
            if at.insert(t, at.len()).is_some() {
                return None;
            }
            if expected.len() > MAX_EXPECTED {
                return None;
            }
            for i in 1..=ne {
                expected.push(strings.add(r.get_ref(i).ok()?)?);
            }
            Some(())
        },
    )?;
    if !proved {
        return Ok(None);
    }
    let index = point_index(sp);
    let mult = m.time.multiply;
    // per point: (position among the stored columns, term); None when some term is not one
    // reproduced here
    let terms: Option<Vec<Vec<(usize, Bad)>>> = sp
        .points
        .iter()
        .map(|p| {
            implausible(p)
                .into_iter()
                .map(|(col, bad)| {
                    let k = stored.iter().position(|c| *c == col)?;
                    match bad {
                        Bad::Below(b) | Bad::Above(b) => whole_bound(b).map(|_| (k, bad)),
                        Bad::NotWhole | Bad::NotRounded(0) => Some((k, bad)),
                        Bad::NotRounded(_) => None,
                    }
                })
                .collect()
        })
        .collect();
    let mut flagged = terms.as_ref().map(|_| 0u64);
    let stored: String = stored.iter().map(|c| format!(", {c}")).collect();
    let mut totals: BTreeMap<i64, u64> = BTreeMap::new();
    let mut row_values: Vec<Num> = Vec::new();
    let proved = each(
        local,
        &format!(
            "SELECT t.{}, t.{}, t.{}{stored} FROM {} AS t WHERE ({ranges_sql})",
            q(&m.system),
            q(&m.point_column),
            q(&m.time.target),
            q(&m.target),
        ),
        &[],
        &mut |r| {
            let (sys, pid, tt) = (int(r, 0)?, int(r, 1)?, int(r, 2)?);
            if sys != sp.system_id || tt % mult != 0 {
                return None;
            }
            let p = *index.get(&pid)?;
            let row = *at.get(&(tt / mult))?;
            row_values.clear();
            for (i, slot) in slots[p].iter().enumerate() {
                let v = strings.find(r.get_ref(3 + i).ok()?)?;
                if !same(v, expected[row * ne + slot]) {
                    return None;
                }
                row_values.push(v);
            }
            if let (Some(n), Some(terms)) = (flagged.as_mut(), terms.as_ref()) {
                let mut bad = Some(false);
                for (k, term) in &terms[p] {
                    match term.holds(row_values[*k]) {
                        Some(true) => {
                            bad = Some(true);
                            break;
                        }
                        Some(false) => {}
                        None => bad = None,
                    }
                }
                match bad {
                    Some(b) => *n += u64::from(b),
                    None => flagged = None,
                }
            }
            *totals.entry(pid).or_default() += 1;
            Some(())
        },
    )?;
    Ok(proved.then_some((totals, flagged)))
}

/// Lifetime counters of one point (`?1` system, `?2` point): true when no value of any of
/// `columns` is below the one before it in time order (NULLs left out), as the window query of
/// the counters check counts; false when that is not proved (a decrease, text, two rows at one
/// time), or the database is not a local file.
pub fn never_decrease(
    db: &dyn Db,
    mp: &MigrationPlan,
    columns: &[&str],
    params: &[Value],
) -> Result<bool, DbError> {
    let Some(local) = db.as_local() else {
        return Ok(false);
    };
    let m = &mp.migration;
    let cols: String = columns.iter().map(|c| format!(", t.{}", q(c))).collect();
    let mut last: Vec<Option<Num>> = vec![None; columns.len()];
    let mut prev: Option<i64> = None;
    each(
        local,
        &format!(
            "SELECT t.{tt}{cols} FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2 ORDER BY t.{tt}",
            q(&m.target),
            q(&m.system),
            q(&m.point_column),
            tt = q(&m.time.target),
        ),
        params,
        &mut |r| {
            // rows at one time are in no defined order
            let t = int(r, 0)?;
            if prev == Some(t) {
                return None;
            }
            prev = Some(t);
            for (i, before) in last.iter_mut().enumerate() {
                let v = num(r, 1 + i)?;
                if v.is_null() {
                    continue;
                }
                if let Some(b) = before
                    && compare(v, *b)? == Ordering::Less
                {
                    return None;
                }
                *before = Some(v);
            }
            Some(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rusqlite::Connection;

    fn num() -> impl Strategy<Value = Num> {
        prop_oneof![
            Just(Num::Null),
            (-1000i64..1000).prop_map(Num::Int),
            any::<i64>().prop_map(Num::Int),
            (-1e6f64..1e6).prop_map(Num::Real),
            prop_oneof![Just(1e300), Just(-1e300), Just(0.1), Just(-0.0)].prop_map(Num::Real),
        ]
    }

    fn read(c: &Connection, sql: &str) -> rusqlite::Result<Num> {
        c.query_row(sql, [], |r| {
            Ok(Num::of(&r.get::<_, Value>(0)?).expect("a number"))
        })
    }

    fn to_value(n: Num) -> Value {
        match n {
            Num::Null => Value::Null,
            Num::Int(i) => Value::Integer(i),
            Num::Real(r) => Value::Real(r),
            Num::Text(_) => unreachable!("the strategy makes numbers"),
        }
    }

    fn same_bits(a: Num, b: Num) -> bool {
        match (a, b) {
            (Num::Real(x), Num::Real(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    fn term() -> impl Strategy<Value = Bad> {
        let bound = prop_oneof![
            (-2_000_000i64..2_000_000).prop_map(|b| b as f64),
            Just(0.0),
            Just(1e12),
            Just(4102444800000.0),
        ];
        prop_oneof![
            bound.clone().prop_map(Bad::Below),
            bound.prop_map(Bad::Above),
            Just(Bad::NotWhole),
            Just(Bad::NotRounded(0)),
        ]
    }

    /// Stored values with the roundings' hard cases: halves, and integers past 2^52 and 2^53.
    fn stored() -> impl Strategy<Value = Num> {
        prop_oneof![
            num(),
            (-1000i64..1000).prop_map(|i| Num::Real(i as f64 + 0.5)),
            (-3i64..3).prop_map(|d| Num::Int((1i64 << 52) + d)),
            (-3i64..3).prop_map(|d| Num::Int((1i64 << 53) + d)),
            (-3i64..3).prop_map(|d| Num::Real(((1i64 << 52) + d) as f64 + 0.5)),
            Just(Num::Real(0.49999999999999994)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        /// A units term here is true exactly where SQLite's condition, as the units check writes
        /// it, is true of the stored value, in a REAL column and in one without a type.
        #[test]
        fn implausible_terms_are_sqlites(v in stored(), bad in term()) {
            let c = Connection::open_in_memory().unwrap();
            c.execute_batch("CREATE TABLE t(r REAL, u)").unwrap();
            c.execute("INSERT INTO t VALUES (?1, ?1)", [to_value(v)]).unwrap();
            for col in ["r", "u"] {
                let stored = Num::of(&c.query_row(&format!("SELECT {col} FROM t"), [], |r| r.get::<_, Value>(0)).unwrap()).unwrap();
                let sql = match bad {
                    Bad::Below(b) => format!("{col} < {}", whole_bound(b).unwrap()),
                    Bad::Above(b) => format!("{col} > {}", whole_bound(b).unwrap()),
                    Bad::NotWhole => format!("{col} != round({col})"),
                    Bad::NotRounded(n) => format!("{col} != round({col}, {n})"),
                };
                let want: Option<i64> = c.query_row(&format!("SELECT {sql} FROM t"), [], |r| r.get(0)).unwrap();
                prop_assert_eq!(bad.holds(stored), Some(want == Some(1)), "{} with {:?}", sql, stored);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// sum(), avg(), min() and max() here give SQLite's answer bit for bit, and the
        /// comparison gives `same_value`'s.
        #[test]
        fn aggregates_and_comparison_are_sqlites(values in proptest::collection::vec(num(), 0..40), other in num()) {
            let c = Connection::open_in_memory().unwrap();
            c.execute_batch("CREATE TABLE v(i INTEGER PRIMARY KEY, x)").unwrap();
            let mut s = Sum::default();
            let (mut lo, mut hi): (Option<Num>, Option<Num>) = (None, None);
            for v in &values {
                let x = to_value(*v);
                c.execute("INSERT INTO v(x) VALUES (?1)", [x]).unwrap();
                s.step(*v);
                if !v.is_null() {
                    if lo.is_none_or(|m| compare(m, *v) == Some(Ordering::Greater)) { lo = Some(*v); }
                    if hi.is_none_or(|m| compare(m, *v) == Some(Ordering::Less)) { hi = Some(*v); }
                }
            }
            let sql_sum = read(&c, "SELECT sum(x) FROM (SELECT x FROM v ORDER BY i)");
            match s.sum() {
                Some(n) => prop_assert!(same_bits(n, *sql_sum.as_ref().unwrap()), "sum {:?} {:?}", n, sql_sum),
                None => prop_assert!(sql_sum.is_err(), "SQLite summed what overflows here"),
            }
            let avg = read(&c, "SELECT avg(x) FROM (SELECT x FROM v ORDER BY i)").unwrap();
            prop_assert!(same_bits(s.avg(), avg), "avg {:?} {:?}", s.avg(), avg);
            let min = read(&c, "SELECT min(x) FROM (SELECT x FROM v ORDER BY i)").unwrap();
            let max = read(&c, "SELECT max(x) FROM (SELECT x FROM v ORDER BY i)").unwrap();
            prop_assert!(same_bits(lo.unwrap_or(Num::Null), min));
            prop_assert!(same_bits(hi.unwrap_or(Num::Null), max));
            for v in &values {
                let mut q = c.prepare(&format!("SELECT {}", super::super::expect::same_value("?1", "?2"))).unwrap();
                let want: i64 = q.query_row([to_value(*v), to_value(other)], |r| r.get(0)).unwrap_or(0);
                prop_assert_eq!(same(*v, other), want == 1, "same({:?}, {:?})", v, other);
                let want: i64 = q.query_row([to_value(other), to_value(*v)], |r| r.get(0)).unwrap_or(0);
                prop_assert_eq!(same(other, *v), want == 1, "same({:?}, {:?})", other, v);
            }
        }
    }
}
