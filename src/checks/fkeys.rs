//! A cheap proof that a table's foreign keys hold, before `PRAGMA foreign_key_check` reads every
//! row. The pragma looks each row's key up in the parent (pragma.c, `foreign_key_check`): a key
//! with a NULL is skipped, the others get the parent index's affinity and are sought in it.
//! Rows with one key share one answer, so where an index of the child starts with the key's
//! columns, its distinct keys are read by seeking from one to the next (a few seeks per key
//! rather than a read of every row) and each is looked up in the parent once.
//!
//! The proof covers only what it can answer exactly as the pragma does: every distinct key made
//! of integers, and parent columns that do not have TEXT affinity (an integer is then sought as
//! itself, and collations do not apply). Anything else (a missing parent table, a parent key
//! without its unique index, a text or real key, more distinct keys than `MAX_KEYS`, an index
//! the planner would not seek in) leaves it unproved, and the pragma decides.

use crate::db::{Db, DbError, DbExt, Value, as_i64, as_text};
use crate::hazards::schema::{ForeignKey, affinity, foreign_keys};
use crate::sql::ident as q;

/// The most distinct keys one foreign key is proved over (each costs a seek or two).
const MAX_KEYS: usize = 2048;

/// True when every foreign key of `table` is proved to hold for every row; false when that is
/// not proved here (the pragma then counts).
pub fn proved_clean(db: &dyn Db, table: &str) -> Result<bool, DbError> {
    for fk in foreign_keys(&|sql, p| db.query(sql, p), table)? {
        if !fk_holds(db, table, &fk)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn fk_holds(db: &dyn Db, table: &str, fk: &ForeignKey) -> Result<bool, DbError> {
    let Some(parent_cols) = parent_key(db, fk)? else {
        return Ok(false);
    };
    let Some(index) = child_index(db, table, &fk.columns)? else {
        return Ok(false);
    };
    let Some(keys) = distinct_keys(db, table, &index)? else {
        return Ok(false);
    };
    if keys.is_empty() {
        return Ok(true);
    }
    // SQLite's default limit on parameters is 32766
    if keys.len() * index.cols.len() > 30_000 {
        return Ok(false);
    }
    // the keys hold their columns in the index's order: the parent's columns in that order
    let parent_in_order: Vec<&String> = index
        .cols
        .iter()
        .map(|c| {
            let k = fk
                .columns
                .iter()
                .position(|f| same(f, c))
                .expect("the index's leading columns are the key's");
            &parent_cols[k]
        })
        .collect();
    let mut params: Vec<Value> = Vec::with_capacity(keys.len() * index.cols.len());
    let mut rows: Vec<String> = Vec::with_capacity(keys.len());
    for key in &keys {
        let slots: Vec<String> = key
            .iter()
            .map(|v| {
                params.push(Value::Integer(*v));
                format!("?{}", params.len())
            })
            .collect();
        rows.push(format!("({})", slots.join(", ")));
    }
    let matches: Vec<String> = parent_in_order
        .iter()
        .enumerate()
        .map(|(i, c)| format!("p.{} = v.column{}", q(c), i + 1))
        .collect();
    let missing = db.scalar_i64(
        &format!(
            "SELECT count(*) FROM (VALUES {}) AS v WHERE NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})",
            rows.join(", "),
            q(&fk.parent),
            matches.join(" AND ")
        ),
        &params,
    )?;
    Ok(missing == Some(0))
}

/// The parent's key columns, in the foreign key's order, when the pragma would find them as
/// the parent's integer primary key or through a unique index with the binary collation, and
/// none of them has TEXT affinity.
fn parent_key(db: &dyn Db, fk: &ForeignKey) -> Result<Option<Vec<String>>, DbError> {
    let p = [Value::Text(fk.parent.clone())];
    let exists = db.query(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
        &p,
    )?;
    if exists.is_empty() {
        return Ok(None);
    }
    // name, declared type, position in the primary key
    let info: Vec<(String, String, i64)> = db
        .query("SELECT name, type, pk FROM pragma_table_info(?1)", &p)?
        .into_iter()
        .filter_map(|r| {
            Some((
                as_text(&r[0])?,
                as_text(&r[1]).unwrap_or_default(),
                as_i64(&r[2])?,
            ))
        })
        .collect();
    let cols: Vec<String> = if fk.parent_columns.iter().all(Option::is_none) {
        let mut pk: Vec<&(String, String, i64)> = info.iter().filter(|c| c.2 > 0).collect();
        pk.sort_by_key(|c| c.2);
        pk.into_iter().map(|c| c.0.clone()).collect()
    } else if let Some(to) = fk
        .parent_columns
        .iter()
        .cloned()
        .collect::<Option<Vec<_>>>()
    {
        to
    } else {
        return Ok(None);
    };
    if cols.len() != fk.columns.len() {
        return Ok(None);
    }
    let mut declared = Vec::new();
    for c in &cols {
        let Some(col) = info.iter().find(|i| same(&i.0, c)) else {
            return Ok(None);
        };
        if affinity(&col.1) == "TEXT" {
            return Ok(None);
        }
        declared.push(col);
    }
    // a unique index on exactly these columns
    for r in db.query(
        "SELECT name FROM pragma_index_list(?1) WHERE \"unique\" = 1 AND partial = 0",
        &p,
    )? {
        let Some(name) = as_text(&r[0]) else { continue };
        if binary_on_exactly(&index_columns(db, &name)?, &cols) {
            return Ok(Some(cols));
        }
    }
    // or the rowid: a lone INTEGER PRIMARY KEY (one declared DESC has a unique index, above)
    let pk_cols = info.iter().filter(|c| c.2 > 0).count();
    if let [col] = declared.as_slice()
        && col.2 == 1
        && pk_cols == 1
        && col.1.eq_ignore_ascii_case("INTEGER")
    {
        return Ok(Some(cols));
    }
    Ok(None)
}

/// An index's key column (None: an expression or the rowid) with its collation.
type Keyed = (Option<String>, Option<String>);

/// An index's key columns, in order.
fn index_columns(db: &dyn Db, index: &str) -> Result<Vec<Keyed>, DbError> {
    Ok(db
        .query(
            "SELECT name, coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
            &[Value::Text(index.into())],
        )?
        .into_iter()
        .map(|r| (as_text(&r[0]), as_text(&r[1])))
        .collect())
}

/// Whether `keyed` are exactly the columns `cols` (in any order), each with the binary
/// collation.
fn binary_on_exactly(keyed: &[Keyed], cols: &[String]) -> bool {
    let named = |c: &Option<String>, x: &str| c.as_deref().is_some_and(|c| same(c, x));
    keyed.len() == cols.len()
        && keyed.iter().all(|(c, coll)| {
            cols.iter().any(|x| named(c, x)) && coll.as_deref().is_some_and(|k| same(k, "BINARY"))
        })
        && cols.iter().all(|x| keyed.iter().any(|(c, _)| named(c, x)))
}

/// An index to seek a key's distinct values in: its name, and the key's columns in its order.
struct SeekIndex {
    name: String,
    cols: Vec<String>,
}

/// An index of the child (not partial) whose leading columns are the key's columns with the
/// binary collation.
fn child_index(db: &dyn Db, table: &str, from: &[String]) -> Result<Option<SeekIndex>, DbError> {
    for r in db.query(
        "SELECT name FROM pragma_index_list(?1) WHERE partial = 0",
        &[Value::Text(table.into())],
    )? {
        let Some(name) = as_text(&r[0]) else { continue };
        let keyed = index_columns(db, &name)?;
        if keyed.len() >= from.len() && binary_on_exactly(&keyed[..from.len()], from) {
            let cols = keyed[..from.len()]
                .iter()
                .filter_map(|(c, _)| c.clone())
                .collect();
            return Ok(Some(SeekIndex { name, cols }));
        }
    }
    Ok(None)
}

/// The distinct keys of the child with no NULL, each column read by seeking in the index to
/// the next value after the last; None when a value is not an integer, there are more than
/// `MAX_KEYS`, or the planner would sort rather than seek.
fn distinct_keys(
    db: &dyn Db,
    table: &str,
    index: &SeekIndex,
) -> Result<Option<Vec<Vec<i64>>>, DbError> {
    let SeekIndex { name, cols } = index;
    // per level: the first value (`IS NOT NULL`) and the next one (`> ?`)
    let level = |l: usize, first: bool| -> String {
        let mut conds: Vec<String> = (0..l)
            .map(|i| format!("{} = ?{}", q(&cols[i]), i + 1))
            .collect();
        conds.push(if first {
            format!("{} IS NOT NULL", q(&cols[l]))
        } else {
            format!("{} > ?{}", q(&cols[l]), l + 1)
        });
        format!(
            "SELECT {c} FROM {} INDEXED BY {} WHERE {} ORDER BY {c} LIMIT 1",
            q(table),
            q(name),
            conds.join(" AND "),
            c = q(&cols[l])
        )
    };
    let queries: Vec<(String, String)> = (0..cols.len())
        .map(|l| (level(l, true), level(l, false)))
        .collect();
    // every query reads the index, without a sort, and the next value is sought: otherwise
    // each key would cost a read of the whole index
    let in_index = format!("INDEX {name}");
    for (l, (first, then)) in queries.iter().enumerate() {
        for (sql, seek) in [(first, false), (then, true)] {
            let unbound = vec![Value::Null; l + usize::from(seek)];
            let Ok(plan) = db.query(&format!("EXPLAIN QUERY PLAN {sql}"), &unbound) else {
                return Ok(None); // e.g. INDEXED BY an index the planner cannot use here
            };
            let steps: Vec<String> = plan
                .iter()
                .filter_map(|r| r.last().and_then(as_text))
                .collect();
            let fine = !steps.is_empty()
                && steps.iter().all(|d| {
                    (d.ends_with(&in_index) || d.contains(&format!("{in_index} ")))
                        && !d.contains("TEMP B-TREE")
                        && (!seek || d.starts_with("SEARCH"))
                });
            if !fine {
                return Ok(None);
            }
        }
    }
    let mut keys: Vec<Vec<i64>> = Vec::new();
    let mut prefix: Vec<i64> = Vec::with_capacity(cols.len());
    // depth-first: the next value at the deepest level, or back up one level
    let next = |prefix: &[i64], after: Option<i64>| -> Result<Option<Option<i64>>, DbError> {
        let l = prefix.len();
        let mut params: Vec<Value> = prefix.iter().map(|v| Value::Integer(*v)).collect();
        let sql = match after {
            None => &queries[l].0,
            Some(v) => {
                params.push(Value::Integer(v));
                &queries[l].1
            }
        };
        let rows = db.query(sql, &params)?;
        Ok(match rows.first() {
            None => Some(None),
            Some(r) => match r[0] {
                Value::Integer(v) => Some(Some(v)),
                _ => None, // not an integer: unproved
            },
        })
    };
    let mut after: Option<i64> = None;
    loop {
        match next(&prefix, after)? {
            None => return Ok(None),
            Some(Some(v)) => {
                if prefix.len() + 1 == cols.len() {
                    let mut key = prefix.clone();
                    key.push(v);
                    keys.push(key);
                    if keys.len() > MAX_KEYS {
                        return Ok(None);
                    }
                    after = Some(v);
                } else {
                    prefix.push(v);
                    after = None;
                }
            }
            Some(None) => match prefix.pop() {
                Some(v) => after = Some(v),
                None => return Ok(Some(keys)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Access;
    use crate::db::local::LocalDb;
    use proptest::prelude::*;

    fn violations(db: &LocalDb, table: &str) -> i64 {
        db.conn()
            .query_row(
                "SELECT count(*) FROM pragma_foreign_key_check(?1)",
                [table],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// A database made by `sql`, then `tries` (each may fail: a real into a rowid, a
    /// duplicate key).
    fn database(dir: &std::path::Path, sql: &str, tries: &[String]) -> LocalDb {
        let path = dir.join("k.db");
        let _ = std::fs::remove_file(&path);
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(sql).unwrap();
        for t in tries {
            let _ = c.execute_batch(t);
        }
        drop(c);
        LocalDb::open(&path, Access::ReadOnly).unwrap()
    }

    /// The LiveOne shape: the point tables' keys are proved over their distinct keys, and one
    /// row whose point is not catalogued (or whose system is gone) is never proved away.
    #[test]
    fn a_migrated_liveone_database_is_proved_and_a_broken_key_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::rows::tests::migrated(dir.path());
        for t in ["point_readings", "point_readings_agg_5m", "point_info"] {
            assert_eq!(violations(&db, t), 0, "{t}");
            assert!(proved_clean(&db, t).unwrap(), "{t}");
        }
        db.conn()
            .execute_batch(
                "INSERT INTO point_readings (system_id, point_id, measurement_time, received_time, value)
                   SELECT system_id, 999, measurement_time, received_time, value FROM point_readings LIMIT 1;
                 INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, sample_count, error_count)
                   VALUES (424242, 1, 0, 1, 0);",
            )
            .unwrap();
        for t in ["point_readings", "point_readings_agg_5m"] {
            assert!(violations(&db, t) > 0, "{t}");
            assert!(!proved_clean(&db, t).unwrap(), "{t}");
        }
    }

    /// Parent keys: a rowid alias, a composite primary key, a unique index, a text key, no
    /// unique index (a mismatch the pragma refuses).
    const PARENTS: [&str; 5] = [
        "CREATE TABLE p (a INTEGER PRIMARY KEY, b INTEGER)",
        "CREATE TABLE p (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))",
        "CREATE TABLE p (a NUMERIC, b REAL, UNIQUE (b, a))",
        "CREATE TABLE p (a TEXT, b TEXT, PRIMARY KEY (a, b))",
        "CREATE TABLE p (a INTEGER, b INTEGER)",
    ];

    /// Child tables: a one-column key or a two-column key, with an index that leads with the
    /// key, an index in the other order, a partial index, or none.
    fn child(two: bool, index: u8) -> String {
        let (key, refs) = if two {
            ("FOREIGN KEY (x, y) REFERENCES p (a, b)", "x, y")
        } else {
            ("FOREIGN KEY (x) REFERENCES p (a)", "x")
        };
        let idx = match index {
            0 => format!("CREATE INDEX ci ON c ({refs}, z);"),
            1 => "CREATE INDEX ci ON c (y, x);".to_string(),
            2 => format!("CREATE INDEX ci ON c ({refs}) WHERE z > 0;"),
            _ => String::new(),
        };
        format!("CREATE TABLE c (id INTEGER PRIMARY KEY, x, y, z, {key}); {idx}")
    }

    fn literal() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (0i64..6).prop_map(|v| v.to_string()),
            1 => Just("NULL".to_string()),
            1 => (0i64..6).prop_map(|v| format!("'{v}'")),
            1 => (0i64..6).prop_map(|v| format!("{v}.0")),
            1 => Just("2.5".to_string()),
            1 => Just("'x'".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(160))]
        /// Never proved while the pragma finds a violation; and where every key is an integer
        /// with an index to seek in and a numeric parent, proved exactly when it finds none.
        #[test]
        fn proved_only_when_the_pragma_finds_no_violation(
            parent in 0usize..PARENTS.len(),
            two in any::<bool>(),
            index in 0u8..4,
            parents in proptest::collection::vec((literal(), literal()), 0..8),
            children in proptest::collection::vec((literal(), literal(), 0i64..3), 0..30),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut sql = format!("PRAGMA foreign_keys = OFF; {}; {}", PARENTS[parent], child(two, index));
            let tries: Vec<String> = parents
                .iter()
                .map(|(a, b)| format!("INSERT INTO p (a, b) VALUES ({a}, {b})"))
                .collect();
            for (x, y, z) in &children {
                sql.push_str(&format!("INSERT INTO c (x, y, z) VALUES ({x}, {y}, {z});"));
            }
            let db = database(dir.path(), &sql, &tries);
            let pragma = db.conn().query_row(
                "SELECT count(*) FROM pragma_foreign_key_check('c')", [], |r| r.get::<_, i64>(0));
            let proved = proved_clean(&db, "c").unwrap();
            match pragma {
                // a mismatch: the pragma refuses, and nothing is proved
                Err(_) => prop_assert!(!proved),
                Ok(n) => {
                    prop_assert!(!(proved && n > 0), "proved with {n} violations: {sql}");
                    let key_cols = if two { 2 } else { 1 };
                    let integers = children.iter().all(|(x, y, _)| {
                        [x, y][..key_cols].iter().all(|v| v.parse::<i64>().is_ok() || *v == "NULL")
                    });
                    if integers && index == 0 && parent < 3 && (two || parent != 1) {
                        prop_assert_eq!(proved, n == 0, "{}", sql);
                    }
                }
            }
        }
    }
}
