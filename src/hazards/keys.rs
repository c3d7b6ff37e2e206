//! The composite-key mistake, statement by statement. `point_info`'s key is `(system_id, id)`:
//! `id` restarts at 1 in every system, so `point_id IN (SELECT id FROM point_info WHERE
//! system_id = 1 …)` matches that id in every system (two LiveOne incidents). A statement is
//! flagged when it matches one column of a table's composite primary or unique key, by
//! `col IN (SELECT k FROM T …)` or by an equality `x = T.k`, while a column before k in the key
//! is neither correlated (`T.system_id = x.system_id`) nor constrained on both sides.
//!
//! The script runs, statement by statement, on an empty replica of the database's schema (so
//! that every statement sees the tables as they are at its line); each statement's shape is read
//! (`shape`), its names resolved against that schema, and SQLite's authorizer, asked while the
//! statement is prepared on the replica, must confirm that it reads both columns, or nothing is
//! reported. Whatever the shape reading cannot follow (an OR between conditions, a column it
//! cannot resolve) is not reported: a false alarm is as bad as a missed mistake, and the row
//! diff (`rows::key_spread`) catches the mistake in the data as well.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::schema::{Schema, Table};
use super::shape::{Conjunct, Kind, Operand, Shape};
use super::{Evidence, Finding, same};
use crate::db::DbError;
use crate::migrate::script::{self, Kind as StmtKind, Script};
use crate::report::{Example, Fact, KeyMatch, Scope};

/// A table instance of a statement: (scope, FROM item), and the table it is.
#[derive(Debug, Clone, PartialEq)]
struct Inst {
    scope: usize,
    source: usize,
    table: String,
}

#[derive(Debug, Clone, PartialEq)]
struct ColRef {
    inst: Inst,
    column: String,
}

/// One statement's shape with the schema it runs against.
struct Resolver<'a> {
    shape: &'a Shape,
    schema: &'a Schema,
}

/// How the column before `k` maps onto the other side of a match.
enum Counterpart {
    /// No column of the other side stands for it: nothing to match.
    None,
    Column(String),
}

impl Resolver<'_> {
    fn cte(&self, name: &str) -> Option<&Vec<usize>> {
        self.shape.ctes.get(&name.to_ascii_lowercase())
    }

    /// The scopes a FROM item reads from when it is a derived table or a CTE.
    fn derived(&self, scope: usize, source: usize) -> Option<&[usize]> {
        let src = &self.shape.scopes[scope].sources[source];
        if !src.derived.is_empty() {
            return Some(&src.derived);
        }
        src.table
            .as_deref()
            .and_then(|t| self.cte(t))
            .map(Vec::as_slice)
    }

    fn source_has(&self, scope: usize, source: usize, column: &str) -> bool {
        if let Some(d) = self.derived(scope, source) {
            return d.first().is_some_and(|&c| {
                self.shape.scopes[c]
                    .items
                    .iter()
                    .any(|i| i.name.as_deref().is_some_and(|n| same(n, column)))
            });
        }
        let src = &self.shape.scopes[scope].sources[source];
        src.table
            .as_deref()
            .and_then(|t| self.schema.table(t))
            .is_some_and(|t| t.has(column))
    }

    /// The table column an operand names, seen from `scope` (through derived tables and CTEs).
    fn resolve(&self, scope: usize, op: &Operand, depth: usize) -> Option<ColRef> {
        let Operand::Col { qual, name } = op else {
            return None;
        };
        if depth > 8 {
            return None;
        }
        let mut at = Some(scope);
        while let Some(s) = at {
            let sc = &self.shape.scopes[s];
            let hits: Vec<usize> = (0..sc.sources.len())
                .filter(|&i| match qual {
                    Some(q) => same(&sc.sources[i].alias, q),
                    None => self.source_has(s, i, name),
                })
                .collect();
            match hits.as_slice() {
                [i] => return self.through(s, *i, name, depth),
                [] => at = sc.parent,
                // ambiguous: SQLite would have refused it
                _ => return None,
            }
        }
        None
    }

    fn through(&self, scope: usize, source: usize, column: &str, depth: usize) -> Option<ColRef> {
        if let Some(d) = self.derived(scope, source) {
            let core = *d.first()?;
            let item = self.shape.scopes[core]
                .items
                .iter()
                .find(|i| i.name.as_deref().is_some_and(|n| same(n, column)))?;
            return self.resolve(core, &item.value, depth + 1);
        }
        let src = &self.shape.scopes[scope].sources[source];
        let table = self.schema.table(src.table.as_deref()?)?;
        let col = table.column(column)?;
        Some(ColRef {
            inst: Inst {
                scope,
                source,
                table: table.name.clone(),
            },
            column: col.name.clone(),
        })
    }

    /// Every equality of the statement, with the scope it is written in.
    fn equalities(&self) -> impl Iterator<Item = (usize, &Operand, &Operand)> {
        self.shape.scopes.iter().enumerate().flat_map(|(i, s)| {
            s.conjuncts.iter().filter_map(move |c| match c {
                Conjunct::Eq(a, b, _) => Some((i, a, b)),
                _ => None,
            })
        })
    }

    /// Is the column constrained anywhere in the statement (`= value`, `= other column`,
    /// `IN (…)`)? An operand that cannot be resolved counts as a constraint: saying nothing is
    /// better than a false alarm.
    fn constrained(&self, c: &ColRef) -> bool {
        let is = |s: usize, o: &Operand| self.resolve(s, o, 0).as_ref() == Some(c);
        self.equalities().any(|(s, a, b)| {
            (is(s, a) && self.resolve(s, b, 0).is_none_or(|r| r.inst != c.inst))
                || (is(s, b) && self.resolve(s, a, 0).is_none_or(|r| r.inst != c.inst))
        }) || self.shape.scopes.iter().enumerate().any(|(s, sc)| {
            sc.conjuncts.iter().any(|k| match k {
                Conjunct::InList {
                    lhs,
                    negated: false,
                    ..
                }
                | Conjunct::InQuery { lhs, .. } => is(s, lhs),
                _ => false,
            })
        })
    }

    /// Is there an equality between these two columns?
    fn correlated(&self, x: &ColRef, y: &ColRef) -> bool {
        self.equalities().any(|(s, a, b)| {
            let (ra, rb) = (self.resolve(s, a, 0), self.resolve(s, b, 0));
            (ra.as_ref() == Some(x) && rb.as_ref() == Some(y))
                || (ra.as_ref() == Some(y) && rb.as_ref() == Some(x))
        })
    }

    fn opaque(&self, scope: usize) -> bool {
        self.shape.scopes[scope].opaque
    }
}

/// The column of `o` that stands for `t.s` when `o.a` is matched with `t.b`: the same column
/// when both are one table; through a foreign key between them that maps a to b; else a column
/// of the same name.
fn counterpart(o: &Table, a: &str, t: &Table, b: &str, s: &str) -> Counterpart {
    if same(&o.name, &t.name) && same(a, b) {
        return Counterpart::Column(s.to_string());
    }
    let parent_cols = |fk: &super::schema::ForeignKey, parent: &Table| -> Vec<String> {
        let pk: Vec<String> = parent
            .unique
            .iter()
            .find(|k| k.origin == "pk")
            .map(|k| k.columns.clone())
            .unwrap_or_default();
        fk.parent_columns
            .iter()
            .enumerate()
            .map(|(i, c)| c.clone().or_else(|| pk.get(i).cloned()).unwrap_or_default())
            .collect()
    };
    // o(a, …) REFERENCES t(b, …)
    for fk in o.foreign_keys.iter().filter(|f| same(&f.parent, &t.name)) {
        let pc = parent_cols(fk, t);
        let maps = fk
            .columns
            .iter()
            .zip(&pc)
            .any(|(c, p)| same(c, a) && same(p, b));
        if maps {
            return match fk.columns.iter().zip(&pc).find(|(_, p)| same(p, s)) {
                Some((c, _)) => Counterpart::Column(c.clone()),
                None => Counterpart::None,
            };
        }
    }
    // t(b, …) REFERENCES o(a, …)
    for fk in t.foreign_keys.iter().filter(|f| same(&f.parent, &o.name)) {
        let pc = parent_cols(fk, o);
        let maps = fk
            .columns
            .iter()
            .zip(&pc)
            .any(|(c, p)| same(c, b) && same(p, a));
        if maps {
            return match fk.columns.iter().zip(&pc).find(|(c, _)| same(c, s)) {
                Some((_, p)) => Counterpart::Column(p.clone()),
                None => Counterpart::None,
            };
        }
    }
    match o.column(s) {
        Some(c) => Counterpart::Column(c.name.clone()),
        None => Counterpart::None,
    }
}

/// A composite-key mistake in one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMistake {
    /// The line of the IN or the equality.
    pub line: usize,
    /// The table whose key is matched on one column, and that key.
    pub table: String,
    pub key: Vec<String>,
    pub column: String,
    /// The key's columns before `column` that the statement leaves unmatched.
    pub ignored: Vec<String>,
    /// The column matched with it: `point_readings_agg_5m.point_id`.
    pub other: String,
    /// The columns of the other side that stand for `ignored` (`point_readings_agg_5m.system_id`).
    pub counterparts: Vec<String>,
    /// `IN (SELECT …)` or `=`.
    pub how: &'static str,
}

/// Check one match: `o` (the other side) with `t.k` (a column of `t`'s composite key).
fn check_match(r: &Resolver, o: &ColRef, t: &ColRef, how: &'static str) -> Option<KeyMistake> {
    if o.inst == t.inst {
        return None;
    }
    let (tt, ot) = (
        r.schema.table(&t.inst.table)?,
        r.schema.table(&o.inst.table)?,
    );
    for key in tt.composite_keys() {
        let Some(pos) = key.columns.iter().position(|c| same(c, &t.column)) else {
            continue;
        };
        let mut ignored = Vec::new();
        let mut counterparts = Vec::new();
        for s in &key.columns[..pos] {
            let Counterpart::Column(s2) = counterpart(ot, &o.column, tt, &t.column, s) else {
                continue;
            };
            let ts = ColRef {
                inst: t.inst.clone(),
                column: s.clone(),
            };
            let os = ColRef {
                inst: o.inst.clone(),
                column: s2,
            };
            if !(r.correlated(&ts, &os) || (r.constrained(&ts) && r.constrained(&os))) {
                ignored.push(s.clone());
                counterparts.push(format!("{}.{}", o.inst.table, os.column));
            }
        }
        if !ignored.is_empty() {
            return Some(KeyMistake {
                line: 0,
                table: tt.name.clone(),
                key: key.columns.clone(),
                column: t.column.clone(),
                ignored,
                other: format!("{}.{}", o.inst.table, o.column),
                counterparts,
                how,
            });
        }
    }
    None
}

/// The composite-key mistakes of one statement (offsets into its SQL), given what SQLite says
/// it reads.
fn mistakes(shape: &Shape, schema: &Schema, reads: &BTreeSet<Read>) -> Vec<(usize, KeyMistake)> {
    let r = Resolver { shape, schema };
    // read by the statement itself or one of its CTEs (SQLite names the CTE as the accessor,
    // as it names a view)
    let read = |c: &ColRef| {
        reads.iter().any(|(t, col, via)| {
            same(t, &c.inst.table)
                && same(col, &c.column)
                && via
                    .as_deref()
                    .is_none_or(|v| shape.ctes.contains_key(&v.to_ascii_lowercase()))
        })
    };
    let mut out: Vec<(usize, KeyMistake)> = Vec::new();
    for (s, sc) in shape.scopes.iter().enumerate() {
        for c in &sc.conjuncts {
            let found = match c {
                Conjunct::InQuery { lhs, sub, at } => {
                    let Some(o) = r.resolve(s, lhs, 0) else {
                        continue;
                    };
                    sub.iter().find_map(|&core| {
                        let items = &shape.scopes[core].items;
                        let [item] = items.as_slice() else {
                            return None;
                        };
                        if item.star {
                            return None;
                        }
                        let t = r.resolve(core, &item.value, 0)?;
                        if r.opaque(s) || r.opaque(t.inst.scope) || !read(&o) || !read(&t) {
                            return None;
                        }
                        check_match(&r, &o, &t, "IN (SELECT …)").map(|m| (*at, m))
                    })
                }
                Conjunct::Eq(a, b, at) => {
                    let (Some(x), Some(y)) = (r.resolve(s, a, 0), r.resolve(s, b, 0)) else {
                        continue;
                    };
                    if [s, x.inst.scope, y.inst.scope].iter().any(|&k| r.opaque(k))
                        || !read(&x)
                        || !read(&y)
                    {
                        continue;
                    }
                    // of the two readings, the one about the shorter key (point_info's
                    // (system_id, id) rather than the readings' longer one)
                    [check_match(&r, &x, &y, "="), check_match(&r, &y, &x, "=")]
                        .into_iter()
                        .flatten()
                        .min_by_key(|m| m.key.len())
                        .map(|m| (*at, m))
                }
                _ => None,
            };
            if let Some(f) = found
                && !out.iter().any(|(at, _)| *at == f.0)
            {
                out.push(f);
            }
        }
    }
    out
}

/// A column read: (table, column, the view, trigger or CTE it is read through).
type Read = (String, String, Option<String>);

/// What SQLite's authorizer says a statement reads, asked while it is prepared on `conn`; None
/// when it does not prepare there.
fn reads(conn: &Connection, log: &Arc<Mutex<BTreeSet<Read>>>, sql: &str) -> Option<BTreeSet<Read>> {
    log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let ok = conn.prepare(sql).is_ok();
    let got = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
    ok.then_some(got)
}

/// Every composite-key mistake of a script, run statement by statement on an empty replica of
/// the schema before it.
pub fn lint(script: &Script, before: &Schema) -> Result<Vec<KeyMistake>, DbError> {
    let mut conn = before.replica(true)?;
    let log: Arc<Mutex<BTreeSet<Read>>> = Arc::default();
    let sink = log.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        if let AuthAction::Read {
            table_name,
            column_name,
        } = &ctx.action
        {
            sink.lock().unwrap_or_else(|e| e.into_inner()).insert((
                table_name.to_string(),
                column_name.to_string(),
                ctx.accessor.map(str::to_string),
            ));
        }
        Authorization::Allow
    }))
    .map_err(|e| DbError::Open {
        target: ":memory:".into(),
        message: e.to_string(),
    })?;
    let mut schema: Option<Schema> = None;
    let mut out = Vec::new();
    for st in &script.statements {
        match &st.kind {
            StmtKind::Sql => {}
            StmtKind::Pragma { name, .. } if name == "legacy_alter_table" => {
                let _ = conn.execute_batch(&st.sql);
                continue;
            }
            _ => continue,
        }
        let shape = Shape::of(&st.sql);
        let writes = matches!(
            shape.kind,
            Kind::Update | Kind::Delete | Kind::Insert | Kind::CreateAs
        );
        let matches_something = shape.scopes.iter().any(|s| {
            s.sources.len() > 1
                || s.conjuncts
                    .iter()
                    .any(|c| matches!(c, Conjunct::InQuery { .. } | Conjunct::Eq(..)))
        }) || shape.scopes.len() > 1;
        if writes && matches_something {
            if schema.is_none() {
                schema = Some(Schema::of_connection(&conn)?);
            }
            if let (Some(sch), Some(read)) = (&schema, reads(&conn, &log, &st.sql)) {
                for (at, mut m) in mistakes(&shape, sch, &read) {
                    m.line = script::line_within(st, Some(at));
                    out.push(m);
                }
            }
        }
        if !matches!(
            shape.kind,
            Kind::Select | Kind::Insert | Kind::Update | Kind::Delete
        ) {
            // a schema change: the next statements see the schema it leaves
            let _ = conn.execute_batch(&st.sql);
            schema = None;
        }
    }
    Ok(out)
}

/// The composite-key mistakes of the forward script, as findings.
pub fn composite_key(e: &Evidence) -> Result<Vec<Finding>, DbError> {
    Ok(lint(e.script, e.before)?
        .into_iter()
        .map(|m| Finding {
            object: m.table.clone(),
            scope: Scope::at(e.script.name(), Some(m.line as u64)),
            actual: Fact::CompositeKey {
                line: m.line as u64,
                other: m.other.clone(),
                how: match m.how {
                    "=" => KeyMatch::Equals,
                    _ => KeyMatch::InSelect,
                },
                table: m.table.clone(),
                column: m.column.clone(),
                key: m.key.clone(),
                ignored: m.ignored.clone(),
            },
            violations: 1,
            examples: vec![
                Example::KeyMatchedOn {
                    file: e.script.name().to_string(),
                    line: m.line as u64,
                    table: m.table.clone(),
                    key: m.key.clone(),
                    column: m.column.clone(),
                    ignored: m.ignored.clone(),
                },
                Example::MatchWholeKey {
                    table: m.table.clone(),
                    column: m.column.clone(),
                    other: m.other.clone(),
                    ignored: m.ignored.clone(),
                    counterparts: m.counterparts.clone(),
                },
            ],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::script::parse;

    const LIVEONE: &str = include_str!("../../fixtures/liveone/schema.sql");

    fn schema_of(sql: &str) -> Schema {
        let conn = Connection::open_in_memory().unwrap();
        // SQLite makes sqlite_sequence itself
        conn.execute_batch(&sql.replace("CREATE TABLE sqlite_sequence(name,seq);", ""))
            .unwrap();
        Schema::of_connection(&conn).unwrap()
    }

    fn lint_text(schema: &Schema, text: &str) -> Vec<KeyMistake> {
        let s = parse(std::path::Path::new("t.sql"), text).unwrap();
        lint(&s, schema).unwrap()
    }

    /// The composite-key mistake in its LiveOne forms: each is found, with its line and the key
    /// column it ignores.
    #[test]
    fn the_liveone_incidents_are_found() {
        let s = schema_of(LIVEONE);
        let cases = [
            // aggregate rows of every system with those point ids
            "UPDATE point_readings_agg_5m SET avg = NULL, min = NULL, max = NULL\n WHERE point_id IN (SELECT id FROM point_info WHERE system_id = 1 AND metric_type = 'energy');",
            // metadata of every system's point with that id
            "UPDATE point_info SET display_name = 'Solar (total)'\n WHERE id IN (SELECT id FROM point_info WHERE system_id = 1 AND origin_sub_id = 'solar_w');",
            // no system at all in the subquery
            "DELETE FROM point_readings\n WHERE point_id IN (SELECT id FROM point_info WHERE metric_type = 'soc');",
            // the outer system pinned, the inner one not
            "UPDATE point_info SET active = 0\n WHERE system_id = 3 AND id IN (SELECT id FROM point_info WHERE origin_sub_id = 'x');",
            // a correlated EXISTS on the id alone
            "DELETE FROM point_readings_agg_5m\n WHERE NOT EXISTS (SELECT 1 FROM point_info p WHERE p.id = point_readings_agg_5m.point_id);",
            // UPDATE … FROM joined on the id alone
            "UPDATE point_readings_agg_5m AS a SET last = NULL FROM point_info AS p\n WHERE p.id = a.point_id AND p.system_id = 1 AND p.metric_type = 'power';",
            // an INSERT … SELECT with a JOIN on the id alone
            "INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, sample_count, error_count)\n SELECT r.system_id, r.point_id, 0, 0, 0 FROM point_readings r JOIN point_info p ON p.id = r.point_id WHERE p.system_id = 1;",
            // through a CTE
            "WITH ids AS (SELECT id FROM point_info WHERE system_id = 1 AND metric_type = 'soc')\nUPDATE point_readings_agg_5m SET avg = NULL WHERE point_id IN (SELECT id FROM ids);",
        ];
        for text in cases {
            assert!(s.replica(true).unwrap().prepare(text).is_ok(), "{text}");
            let m = lint_text(&s, text);
            assert_eq!(m.len(), 1, "{text}: {m:?}");
            assert_eq!(m[0].line, 2, "{text}");
            assert_eq!(m[0].ignored, vec!["system_id".to_string()], "{text}");
        }
        assert!(lint_text(&s, "-- nothing to match\nSELECT 1;").is_empty());
        let m = lint_text(&s, cases[0]);
        assert_eq!(
            (
                m[0].table.as_str(),
                m[0].column.as_str(),
                m[0].other.as_str()
            ),
            ("point_info", "id", "point_readings_agg_5m.point_id")
        );
        assert_eq!(m[0].key, vec!["system_id", "id"]);
    }

    /// Their corrected forms, and ordinary statements, are not flagged.
    #[test]
    fn corrected_forms_and_ordinary_statements_are_not_flagged() {
        let s = schema_of(LIVEONE);
        let fine = [
            "UPDATE point_readings_agg_5m SET avg = NULL, min = NULL, max = NULL WHERE (system_id, point_id) IN (SELECT system_id, id FROM point_info WHERE system_id = 1 AND metric_type = 'energy');",
            "UPDATE point_readings_agg_5m SET avg = NULL WHERE system_id = 1 AND point_id IN (SELECT id FROM point_info WHERE system_id = 1 AND metric_type = 'energy');",
            "UPDATE point_info SET display_name = 'Solar (total)' WHERE system_id = 1 AND origin_sub_id = 'solar_w';",
            "UPDATE point_info SET display_name = 'Solar (total)' WHERE (system_id, id) IN (SELECT system_id, id FROM point_info WHERE system_id = 1 AND origin_sub_id = 'solar_w');",
            "UPDATE point_info SET display_name = 'x' WHERE system_id = 1 AND id IN (SELECT id FROM point_info WHERE system_id = 1 AND origin_sub_id = 'solar_w');",
            "DELETE FROM point_readings_agg_5m WHERE NOT EXISTS (SELECT 1 FROM point_info p WHERE p.system_id = point_readings_agg_5m.system_id AND p.id = point_readings_agg_5m.point_id);",
            "UPDATE point_readings_agg_5m AS a SET last = NULL FROM point_info AS p WHERE p.system_id = a.system_id AND p.id = a.point_id AND p.metric_type = 'power';",
            "INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, sample_count, error_count) SELECT r.system_id, r.point_id, 0, 0, 0 FROM point_readings r JOIN point_info p ON p.system_id = r.system_id AND p.id = r.point_id;",
            "UPDATE point_readings_agg_5m SET avg = NULL WHERE point_id IN (SELECT id FROM point_info pi WHERE pi.system_id = point_readings_agg_5m.system_id AND pi.metric_type = 'energy');",
            // the leading column alone is a reference to the parent, not a mistake
            "UPDATE systems SET status = 'inactive' WHERE id IN (SELECT system_id FROM point_info WHERE metric_type = 'soc');",
            "DELETE FROM point_readings WHERE system_id IN (SELECT id FROM systems WHERE status = 'removed');",
            "DELETE FROM sessions WHERE id IN (SELECT session_id FROM point_readings WHERE system_id = 2);",
            "INSERT INTO migrations (id) VALUES ('0042_x');",
            "UPDATE systems SET timezone_offset_min = 600 WHERE vendor_type = 'select.live';",
            // an OR: beyond what the shape reading follows, so nothing is said
            "UPDATE point_readings_agg_5m SET avg = NULL WHERE point_id IN (SELECT id FROM point_info WHERE system_id = 1) OR system_id = 2;",
            // only the first key columns need to match: all intervals of one point are meant
            "UPDATE point_readings_agg_5m SET avg = NULL WHERE system_id = 1 AND point_id IN (SELECT point_id FROM point_readings_agg_5m WHERE system_id = 1 AND avg < 0);",
            "SELECT * FROM point_readings r JOIN point_info p ON p.id = r.point_id;",
            // correlated on the whole key in a scalar subquery of SET
            "UPDATE point_readings_agg_5m SET avg = (SELECT avg(value) FROM point_readings r WHERE r.system_id = point_readings_agg_5m.system_id AND r.point_id = point_readings_agg_5m.point_id AND r.measurement_time > point_readings_agg_5m.interval_end - 300000 AND r.measurement_time <= point_readings_agg_5m.interval_end);",
            // a row value, NOT IN
            "DELETE FROM point_readings WHERE (system_id, point_id) NOT IN (SELECT system_id, id FROM point_info);",
            // the rowid key of point_readings is not part of its composite key
            "DELETE FROM point_readings WHERE id IN (SELECT id FROM point_readings WHERE system_id = 2 AND measurement_time < 1000);",
            "DELETE FROM point_readings_agg_5m WHERE rowid IN (SELECT rowid FROM point_readings_agg_5m WHERE avg IS NULL);",
            // a CTE joined on its system
            "WITH pts AS (SELECT system_id, id, origin_sub_id FROM point_info) INSERT INTO point_readings (system_id, point_id, measurement_time, received_time, value) SELECT r.system_id, p.id, r.inverter_time * 1000, r.received_time * 1000, r.solar_w FROM readings r JOIN pts p ON p.system_id = r.system_id AND p.origin_sub_id = 'solar_w';",
            // a derived table matched on the whole key
            "UPDATE point_info SET active = 0 FROM (SELECT system_id, id FROM point_info WHERE metric_type = 'code') AS sel WHERE point_info.system_id = sel.system_id AND point_info.id = sel.id;",
            // USING supplies the system
            "INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, sample_count, error_count) SELECT system_id, p.id, 0, 0, 0 FROM point_readings r JOIN point_info p USING (system_id) WHERE p.id = r.point_id;",
            "UPDATE user_systems SET role = 'owner' WHERE clerk_user_id = 'x' AND system_id IN (SELECT id FROM systems WHERE owner_clerk_user_id = 'x');",
            "INSERT INTO point_info (system_id, id, origin_id, point_name, display_name, metric_type, metric_unit) SELECT s.id, (SELECT coalesce(max(p.id), 0) + 1 FROM point_info p WHERE p.system_id = s.id), 'o', 'n', 'd', 'power', 'W' FROM systems s WHERE s.vendor_type = 'mondo';",
        ];
        let replica = s.replica(true).unwrap();
        for text in fine {
            // silent because it is right, not because SQLite could not read it
            if let Err(e) = replica.prepare(text) {
                panic!("{text}: {e}");
            }
            assert_eq!(lint_text(&s, text), vec![], "{text}");
        }
    }

    /// A statement sees the schema its earlier statements leave.
    #[test]
    fn statements_are_read_against_the_schema_of_their_line() {
        let s = schema_of(LIVEONE);
        let m = lint_text(
            &s,
            "CREATE TABLE point_notes (system_id INTEGER NOT NULL, point_id INTEGER NOT NULL, note TEXT, PRIMARY KEY (system_id, point_id));\nDELETE FROM point_notes\n WHERE point_id IN (SELECT id FROM point_info WHERE system_id = 2);",
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].line, 3);
        assert_eq!(m[0].other, "point_notes.point_id");
    }
}
