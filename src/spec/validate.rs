//! Validation of a spec against the real database, before anything is written: every table,
//! column and point the spec names must exist; identifiers come from the schema, never from the
//! spec alone. The result is a plan with every point resolved to its (system_id, id).

use std::collections::{BTreeMap, BTreeSet};

use super::{Closed, Kind, LoadedSpec, Migration, OnMissing, SpecError, Transform};
use crate::db::{Db, DbError, DbExt, Value, as_i64, as_text};

/// One point of one system, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPoint {
    pub point: String,
    pub point_id: i64,
    pub metric_unit: String,
    pub fields: BTreeMap<String, Transform>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SystemPlan {
    pub system_id: i64,
    pub vendor_type: String,
    pub points: Vec<ResolvedPoint>,
}

/// The finer source that supersedes a migration's rows (its `superseded_by` roll-up).
#[derive(Debug, Clone, PartialEq)]
pub struct Finer {
    pub migration: String,
    pub source: String,
    pub system: String,
    pub time: String,
    pub width: i64,
    pub closed: Closed,
}

#[derive(Debug, Clone)]
pub struct MigrationPlan {
    pub migration: Migration,
    /// The spec's progress table.
    pub progress_table: String,
    /// Set when the migration carries only rows with nothing finer in another migration's source.
    pub finer: Option<Finer>,
    /// Source columns that exist (a mapped column missing from this set reads as NULL, which
    /// only an `on_missing_column = "null"` spec allows).
    pub source_columns: BTreeSet<String>,
    pub target_columns: BTreeSet<String>,
    pub systems: Vec<SystemPlan>,
}

impl MigrationPlan {
    pub fn has_column(&self, c: &str) -> bool {
        self.source_columns.contains(c)
    }
}

/// A mapped column the source table lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingColumn {
    pub migration: String,
    pub vendor_type: String,
    pub point: String,
    pub field: String,
    pub column: String,
}

/// A mapped point a system lacks in the point catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingPoint {
    pub migration: String,
    pub system_id: i64,
    pub vendor_type: String,
    pub point: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: LoadedSpec,
    pub migrations: Vec<MigrationPlan>,
    /// Things allowed but worth saying (missing points allowed, columns read as NULL).
    pub warnings: Vec<String>,
    /// Mapped columns the source lacks (read as NULL).
    pub missing_columns: Vec<MissingColumn>,
    /// Mapped points that systems lack (skipped).
    pub missing_points: Vec<MissingPoint>,
}

/// What to plan for.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub only: Option<Kind>,
    /// Only the migrations of these names (all when empty).
    pub migrations: Vec<String>,
    pub systems: Vec<i64>,
    pub allow_missing_points: bool,
    /// Plan whatever can be planned and record missing columns and points in the plan instead
    /// of refusing (for verification, which reports them as failed checks).
    pub lenient: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Catalogue of systems and points, read once.
pub struct CatalogData {
    /// system id → vendor type
    pub systems: BTreeMap<i64, String>,
    /// (system id, point key) → (point ids, metric unit)
    pub points: BTreeMap<(i64, String), Vec<(i64, String)>>,
}

/// Every system's vendor type, by system id.
pub fn system_vendors(
    db: &dyn Db,
    c: &crate::spec::Catalog,
) -> Result<BTreeMap<i64, String>, crate::db::DbError> {
    use crate::sql::ident as q;
    Ok(db
        .query(
            &format!(
                "SELECT {}, {} FROM {}",
                q(&c.system_id),
                q(&c.vendor_type),
                q(&c.systems)
            ),
            &[],
        )?
        .into_iter()
        .filter_map(|r| Some((as_i64(&r[0])?, as_text(&r[1])?)))
        .collect())
}

pub fn read_catalog(spec: &LoadedSpec, db: &dyn Db) -> Result<CatalogData, PlanError> {
    let c = &spec.spec.catalog;
    let invalid = |message: String| SpecError::Invalid {
        origin: spec.origin.clone(),
        message,
    };
    for (table, cols) in [
        (&c.systems, vec![&c.system_id, &c.vendor_type]),
        (
            &c.points,
            vec![&c.point_system, &c.point_id, &c.point_key, &c.metric_unit],
        ),
    ] {
        let have = db.columns(table)?;
        if have.is_empty() {
            return Err(invalid(format!(
                "catalogue table {table} does not exist in {}",
                db.target().shown()
            ))
            .into());
        }
        for col in cols {
            if !have.contains(col) {
                return Err(
                    invalid(format!("catalogue column {table}.{col} does not exist")).into(),
                );
            }
        }
    }
    use crate::sql::ident as q;
    let systems = system_vendors(db, c)?;
    let mut points: BTreeMap<(i64, String), Vec<(i64, String)>> = BTreeMap::new();
    for r in db.query(
        &format!(
            "SELECT {}, {}, {}, {} FROM {}",
            q(&c.point_system),
            q(&c.point_key),
            q(&c.point_id),
            q(&c.metric_unit),
            q(&c.points)
        ),
        &[],
    )? {
        if let (Some(s), Some(k), Some(id)) = (as_i64(&r[0]), as_text(&r[1]), as_i64(&r[2])) {
            points
                .entry((s, k))
                .or_default()
                .push((id, as_text(&r[3]).unwrap_or_default()));
        }
    }
    Ok(CatalogData { systems, points })
}

/// Does `table` have a UNIQUE index or primary key on exactly these columns?
fn has_unique_key(db: &dyn Db, table: &str, cols: &[&str]) -> Result<bool, DbError> {
    let want: BTreeSet<&str> = cols.iter().copied().collect();
    let indexes = db.query(
        "SELECT name FROM pragma_index_list(?1) WHERE \"unique\" = 1",
        &[Value::Text(table.into())],
    )?;
    for ix in indexes {
        let Some(name) = as_text(&ix[0]) else {
            continue;
        };
        let cols: BTreeSet<String> = db
            .query(
                "SELECT name FROM pragma_index_info(?1)",
                &[Value::Text(name)],
            )?
            .into_iter()
            .filter_map(|r| as_text(&r[0]))
            .collect();
        if cols.iter().map(String::as_str).collect::<BTreeSet<_>>() == want {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The columns preflight records progress in (the seed's shape).
pub const PROGRESS_COLUMNS: [&str; 5] = [
    "migration_name",
    "system_id",
    "last_migrated_timestamp",
    "rows_migrated",
    "updated_at",
];

/// An existing progress table must have the seed's columns and its UNIQUE key, or the first
/// batch would fail after tables were created.
fn progress_table_problem(db: &dyn Db, table: &str) -> Result<Option<String>, DbError> {
    let have = db.columns(table)?;
    if have.is_empty() {
        return Ok(None);
    }
    let missing: Vec<&str> = PROGRESS_COLUMNS
        .iter()
        .copied()
        .filter(|c| !have.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Ok(Some(format!(
            "progress table {table} exists without column(s) {}; preflight records progress in the seed's shape ({})",
            missing.join(", "),
            PROGRESS_COLUMNS.join(", ")
        )));
    }
    if !has_unique_key(db, table, &["migration_name", "system_id"])? {
        return Ok(Some(format!(
            "progress table {table} exists without a UNIQUE key on (migration_name, system_id); add it (CREATE UNIQUE INDEX … ON {table} (migration_name, system_id)) or drop the table"
        )));
    }
    Ok(None)
}

/// Validate the spec against the database and resolve every point. Nothing is written.
pub fn plan(spec: &LoadedSpec, db: &dyn Db, scope: &Scope) -> Result<Plan, PlanError> {
    let catalog = read_catalog(spec, db)?;
    let mut errors: Vec<String> = Vec::new();
    let mut missing_points: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut missing_column_list: Vec<MissingColumn> = Vec::new();
    let mut missing_point_list: Vec<MissingPoint> = Vec::new();
    for s in &scope.systems {
        match catalog.systems.get(s) {
            None => errors.push(format!(
                "--system {s}: no such system in {}",
                spec.spec.catalog.systems
            )),
            Some(v)
                if !spec.spec.migrations.iter().any(|m| {
                    scope.only.is_none_or(|k| k.selects(m.kind)) && m.vendor(v).is_some()
                }) =>
            {
                errors.push(format!(
                    "--system {s}: its vendor {v} has no mapping in the spec"
                ))
            }
            _ => {}
        }
    }
    for name in &scope.migrations {
        if spec.migration(name).is_none() {
            errors.push(format!(
                "--migration {name}: the spec has no such migration (it has {})",
                spec.spec
                    .migrations
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let mut migrations = Vec::new();
    for m in &spec.spec.migrations {
        if scope.only.is_some_and(|k| !k.selects(m.kind))
            || (!scope.migrations.is_empty() && !scope.migrations.contains(&m.name))
        {
            continue;
        }
        let at = format!("migration {}", m.name);
        let source_columns: BTreeSet<String> = db.columns(&m.source)?.into_iter().collect();
        let target_columns: BTreeSet<String> = db.columns(&m.target)?.into_iter().collect();
        if source_columns.is_empty() {
            errors.push(format!("{at}: source table {} does not exist", m.source));
            continue;
        }
        if target_columns.is_empty() {
            errors.push(format!("{at}: target table {} does not exist", m.target));
            continue;
        }
        let need_source = [
            (&m.system, "system column"),
            (&m.time.source, "time column"),
        ];
        for (c, what) in need_source {
            if !source_columns.contains(c) {
                errors.push(format!("{at}: {what} {}.{c} does not exist", m.source));
            }
        }
        // a factor that makes stored integers overflow would turn them into approximate REALs
        let mut factors: Vec<(String, i64, String)> = Vec::new();
        if source_columns.contains(&m.time.source) {
            factors.push((
                m.time.source.clone(),
                m.time.multiply,
                "time.multiply".into(),
            ));
        }
        for (c, col) in &m.columns {
            if let super::Column::Source {
                source,
                multiply: Some(k),
                ..
            } = col
                && source_columns.contains(source)
            {
                factors.push((source.clone(), *k, format!("column {c}: multiply")));
            }
        }
        // each column's largest integer read once, however many factors it has
        use std::collections::hash_map::Entry;
        let mut largest_of: std::collections::HashMap<String, Option<i64>> = Default::default();
        for (col, k, what) in factors {
            let largest = match largest_of.entry(col.clone()) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => *e.insert(db.scalar_i64(
                    &format!(
                        "SELECT max(abs({c})) FROM {t} WHERE typeof({c}) = 'integer'",
                        c = crate::sql::ident(&col),
                        t = crate::sql::ident(&m.source)
                    ),
                    &[],
                )?),
            };
            if let Some(n) = largest
                && n.checked_mul(k).is_none()
            {
                let msg = format!(
                    "{at}: {what} {k} makes {}.{col} (up to {n}) overflow a 64-bit integer",
                    m.source
                );
                // verification reports what such a migration wrote; migrating refuses
                if scope.lenient {
                    warnings.push(msg);
                } else {
                    errors.push(msg);
                }
            }
        }
        let mut need_target: Vec<(&String, String)> = vec![
            (&m.system, "system column".into()),
            (&m.time.target, "time column".into()),
            (&m.point_column, "point column".into()),
        ];
        let target_fields = m.target_fields();
        for f in &target_fields {
            need_target.push((f, "field".into()));
        }
        for (c, col) in &m.columns {
            need_target.push((c, "column".into()));
            if let super::Column::Source { source, .. } = col
                && !source_columns.contains(source)
            {
                errors.push(format!(
                    "{at}: column {c} is filled from {}.{source}, which does not exist",
                    m.source
                ));
            }
        }
        for (c, what) in need_target {
            if !target_columns.contains(c) {
                errors.push(format!("{at}: {what} {}.{c} does not exist", m.target));
            }
        }
        if !has_unique_key(db, &m.target, &[&m.system, &m.point_column, &m.time.target])? {
            errors.push(format!(
                "{at}: {} has no UNIQUE key on ({}, {}, {}): existing rows could not be skipped",
                m.target, m.system, m.point_column, m.time.target
            ));
        }
        for c in m.ignore.keys() {
            if !source_columns.contains(c) {
                warnings.push(format!(
                    "{at}: ignored column {}.{c} does not exist",
                    m.source
                ));
            }
        }
        let mut systems = Vec::new();
        for v in &m.vendors {
            for p in &v.points {
                for (field, t) in &p.fields {
                    if !source_columns.contains(&t.source) {
                        missing_column_list.push(MissingColumn {
                            migration: m.name.clone(),
                            vendor_type: v.vendor_type.clone(),
                            point: p.point.clone(),
                            field: field.clone(),
                            column: t.source.clone(),
                        });
                        let msg = format!(
                            "{at}, vendor {}, point {}: {field} is read from {}.{}, which does not exist",
                            v.vendor_type, p.point, m.source, t.source
                        );
                        match (spec.spec.on_missing_column, scope.lenient) {
                            (OnMissing::Error, false) => errors.push(msg),
                            _ => warnings.push(format!("{msg}; it reads as NULL")),
                        }
                    }
                }
            }
            for (&system_id, vendor_type) in &catalog.systems {
                if vendor_type != &v.vendor_type {
                    continue;
                }
                if !scope.systems.is_empty() && !scope.systems.contains(&system_id) {
                    continue;
                }
                let mut points = Vec::new();
                for p in &v.points {
                    match catalog.points.get(&(system_id, p.point.clone())).map(Vec::as_slice) {
                        Some([(id, unit)]) => points.push(ResolvedPoint {
                            point: p.point.clone(),
                            point_id: *id,
                            metric_unit: unit.clone(),
                            fields: p.fields.clone(),
                        }),
                        Some(many) if many.len() > 1 => errors.push(format!(
                            "{at}, vendor {}, point {}: system {system_id} has {} points with {} = {:?} (ids {}); the mapping is ambiguous",
                            v.vendor_type,
                            p.point,
                            many.len(),
                            spec.spec.catalog.point_key,
                            p.point,
                            many.iter().map(|x| x.0.to_string()).collect::<Vec<_>>().join(", ")
                        )),
                        _ => {
                            missing_point_list.push(MissingPoint {
                                migration: m.name.clone(),
                                system_id,
                                vendor_type: v.vendor_type.clone(),
                                point: p.point.clone(),
                            });
                            missing_points.push(format!(
                                "system {system_id} ({}): point {} (migration {})",
                                v.vendor_type, p.point, m.name
                            ))
                        }
                    }
                }
                systems.push(SystemPlan {
                    system_id,
                    vendor_type: vendor_type.clone(),
                    points,
                });
            }
        }
        let finer = m.superseded_by.as_ref().and_then(|r| {
            let rm = spec.migration(r)?;
            let b = rm.bucket.as_ref()?;
            Some(Finer {
                migration: rm.name.clone(),
                source: rm.source.clone(),
                system: rm.system.clone(),
                time: rm.time.source.clone(),
                width: b.width,
                closed: b.closed,
            })
        });
        if let Some(f) = &finer {
            let rm = spec.migration(&f.migration).expect("checked above");
            if rm.time.multiply != m.time.multiply {
                errors.push(format!(
                    "{at}: superseded_by {}: both migrations must read time in the same unit (time.multiply {} and {})",
                    f.migration, m.time.multiply, rm.time.multiply
                ));
            }
            let cols: BTreeSet<String> = db.columns(&f.source)?.into_iter().collect();
            for c in [&f.system, &f.time] {
                if !cols.contains(c) {
                    errors.push(format!(
                        "{at}: superseded_by {}: {}.{c} does not exist",
                        f.migration, f.source
                    ));
                }
            }
        }
        migrations.push(MigrationPlan {
            migration: m.clone(),
            progress_table: spec.spec.progress_table.clone(),
            finer,
            source_columns,
            target_columns,
            systems,
        });
    }
    // only a run that writes progress needs the key (verification reads the table as it is)
    if !scope.lenient
        && let Some(problem) = progress_table_problem(db, &spec.spec.progress_table)?
    {
        errors.push(problem);
    }
    if !missing_points.is_empty() {
        if scope.allow_missing_points || scope.lenient {
            warnings.extend(missing_points.iter().map(|p| {
                format!(
                    "{p} is not in {}; skipped (--allow-missing-points)",
                    spec.spec.catalog.points
                )
            }));
        } else {
            errors.push(format!(
                "{} mapped point(s) missing from {} (pass --allow-missing-points to skip them): {}",
                missing_points.len(),
                spec.spec.catalog.points,
                missing_points.join("; ")
            ));
        }
    }
    if !errors.is_empty() {
        return Err(SpecError::Invalid {
            origin: spec.origin.clone(),
            message: errors.join("; "),
        }
        .into());
    }
    Ok(Plan {
        spec: spec.clone(),
        migrations,
        warnings,
        missing_columns: missing_column_list,
        missing_points: missing_point_list,
    })
}
