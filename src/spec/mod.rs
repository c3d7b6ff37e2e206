//! The migration spec: what moves from which source columns to which points, and how values are
//! transformed on the way. The spec is data; the engine turns it into SQL, and the checks read it
//! again on their own to derive what to expect.

pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The built-in LiveOne spec, compiled into the binary.
pub const BUILTIN_TOML: &str = include_str!("../../specs/liveone.toml");
pub const BUILTIN_NAME: &str = "(built-in) specs/liveone.toml";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: not a valid migration spec: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// A scalar in a spec: a number or a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    pub fn to_value(&self) -> Value {
        match self {
            Scalar::Int(i) => Value::Integer(*i),
            Scalar::Float(f) => Value::Real(*f),
            Scalar::Text(t) => Value::Text(t.clone()),
        }
    }
}

/// How one target field is made from one source column.
/// Applied in this order: `null_if`, `null_as`, `multiply`, `round`, `as_text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    /// The source column.
    pub source: String,
    /// This value is treated as NULL (e.g. fault code "0": no fault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_if: Option<Scalar>,
    /// NULL is replaced by this value (e.g. generator status NULL → 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_as: Option<Scalar>,
    /// Multiply by this factor (e.g. kWh → Wh: 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiply: Option<f64>,
    /// Round to this many decimals (half away from zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<i32>,
    /// Store as text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub as_text: bool,
}

/// A target column filled from the source row (not per point) or with a constant. In a roll-up,
/// a source column is summarised over the bucket's samples by `aggregate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Column {
    Source {
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        multiply: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        aggregate: Option<Aggregate>,
    },
    Value {
        value: Scalar,
    },
}

/// The source time column and the target time column, with the unit change between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeMap {
    pub source: String,
    pub target: String,
    /// target = source × multiply (seconds → milliseconds: 1000).
    pub multiply: i64,
    /// The target time's unit (a key of `[units]`): stored times must be plausible for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// How a roll-up summarises the samples of one bucket into one target column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Mean of the non-NULL values, not rounded.
    Avg,
    Min,
    Max,
    Sum,
    /// The value of the earliest sample that has one.
    First,
    /// The value of the latest sample that has one.
    Last,
    /// Samples with a value.
    Count,
    /// Samples without a value (a NULL value: an error, not a sample).
    CountNull,
}

impl Aggregate {
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::Sum => "sum",
            Aggregate::First => "first",
            Aggregate::Last => "last",
            Aggregate::Count => "count",
            Aggregate::CountNull => "count_null",
        }
    }

    /// Whether the result is one of the samples' values (and so keeps their unit, their
    /// rounding and their plausible range).
    pub fn is_a_value(self) -> bool {
        matches!(
            self,
            Aggregate::Min | Aggregate::Max | Aggregate::First | Aggregate::Last
        )
    }

    /// Whether the result is in the samples' unit (a value or a mean of values).
    pub fn in_value_unit(self) -> bool {
        self.is_a_value() || self == Aggregate::Avg
    }
}

/// Which bound of a bucket belongs to it, and so names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Closed {
    /// `(end - width, end]`, named by its end (`end = ceil(t / width) * width`).
    End,
    /// `[start, start + width)`, named by its start (`start = floor(t / width) * width`).
    Start,
}

/// The time buckets of a roll-up, in source time units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub width: i64,
    pub closed: Closed,
    /// The per-point field whose values are aggregated (the others only make a sample exist).
    pub value: String,
}

impl Bucket {
    /// The bucket (its name) a source time falls in.
    pub fn of(&self, t: i64) -> i64 {
        match self.closed {
            Closed::End => -((-t).div_euclid(self.width)) * self.width,
            Closed::Start => t.div_euclid(self.width) * self.width,
        }
    }

    /// The last source time a bucket holds: batches end there so that no bucket is split.
    pub fn last_time(&self, name: i64) -> i64 {
        match self.closed {
            Closed::End => name,
            Closed::Start => name + self.width - 1,
        }
    }
}

/// Date coverage expectations of one migration, in source time units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// The expected time between two source rows of a system.
    pub cadence: i64,
    /// A longer pause between two source rows is a gap, listed in the report.
    pub gap: i64,
}

/// What a source column holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ColumnInfo {
    /// Its unit (a key of `[units]`, or any name a unit's `from` uses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A lifetime counter: it never decreases.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub counter: bool,
}

/// A point unit (`metric_unit`): its plausible values, and how source units convert into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UnitInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Values are whole numbers (a mean of them need not be).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole: bool,
    /// Factors from source units: `{ kWh = 1000 }` (a source in kWh becomes this unit × 1000).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub from: BTreeMap<String, f64>,
}

/// One point of one vendor: the target fields it fills, each from a source column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointMap {
    /// The point's `origin_sub_id` in the point catalogue.
    pub point: String,
    #[serde(flatten)]
    pub fields: BTreeMap<String, Transform>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorMap {
    pub vendor_type: String,
    #[serde(default, rename = "point")]
    pub points: Vec<PointMap>,
    /// Source columns this vendor's rows hold that are deliberately not carried, with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ignore: BTreeMap<String, String>,
    /// Source columns not carried because they repeat a carried one: each must equal the
    /// transform of its `source` wherever it holds a value (the checks prove it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub duplicates: BTreeMap<String, Transform>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One target row per source row and point (raw readings).
    Raw,
    /// One target row per source row and point (rows that already summarise an interval).
    Agg5m,
    /// One target row per time bucket and point, summarising the bucket's source rows.
    Rollup,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Agg5m => "agg5m",
            Kind::Rollup => "rollup",
        }
    }

    /// `--only raw|agg5m`: the 5-minute selection takes the roll-ups too.
    pub fn selects(self, kind: Kind) -> bool {
        self == kind || (self == Kind::Agg5m && kind == Kind::Rollup)
    }
}

/// Rows the live app wrote, told apart from migrated ones by a column that is set on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveMarker {
    pub column: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    /// The name recorded in `migration_progress` (e.g. readings_to_points).
    pub name: String,
    pub kind: Kind,
    pub source: String,
    pub target: String,
    /// The system column, in the source and in the target.
    pub system: String,
    pub time: TimeMap,
    /// The target's point column.
    pub point_column: String,
    /// The target fields a point may fill (value, value_str; or avg, min, max, last).
    pub fields: Vec<String>,
    /// Write a row even when every field is NULL (the live app does not).
    #[serde(default)]
    pub write_nulls: bool,
    /// Other target columns, filled per source row.
    #[serde(default)]
    pub columns: BTreeMap<String, Column>,
    /// Source columns deliberately not carried over, with the reason.
    #[serde(default)]
    pub ignore: BTreeMap<String, String>,
    /// How the checks recognise rows the live app wrote (for live parity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveMarker>,
    /// Roll-ups only: the buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Bucket>,
    /// Roll-ups only: each target column and how it summarises the bucket's values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aggregate: BTreeMap<String, Aggregate>,
    /// A source row is carried only where the named roll-up's source holds nothing finer: no
    /// row of the same system within the interval this row summarises, both bounds included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// Cadence and gap threshold for the coverage check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    #[serde(default, rename = "vendor")]
    pub vendors: Vec<VendorMap>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnMissing {
    /// A mapped column the source lacks is an error (the default).
    #[default]
    Error,
    /// Read it as NULL, as a script reading a missing key does. Only for rehearsing old mappings.
    Null,
}

/// Where systems and points are catalogued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub systems: String,
    pub system_id: String,
    pub vendor_type: String,
    pub points: String,
    pub point_system: String,
    pub point_id: String,
    pub point_key: String,
    pub metric_unit: String,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog {
            systems: "systems".into(),
            system_id: "id".into(),
            vendor_type: "vendor_type".into(),
            points: "point_info".into(),
            point_system: "system_id".into(),
            point_id: "id".into(),
            point_key: "origin_sub_id".into(),
            metric_unit: "metric_unit".into(),
        }
    }
}

fn default_progress_table() -> String {
    "migration_progress".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub on_missing_column: OnMissing,
    #[serde(default)]
    pub catalog: Catalog,
    /// Where each batch records how far a migration got, per system.
    #[serde(default = "default_progress_table")]
    pub progress_table: String,
    /// What the source columns hold, per source table.
    #[serde(default)]
    pub columns: BTreeMap<String, BTreeMap<String, ColumnInfo>>,
    /// The point units (`metric_unit` values).
    #[serde(default)]
    pub units: BTreeMap<String, UnitInfo>,
    #[serde(rename = "migration")]
    pub migrations: Vec<Migration>,
}

impl Spec {
    /// What a source column holds (nothing known when the spec does not say).
    pub fn column_info(&self, table: &str, column: &str) -> Option<&ColumnInfo> {
        self.columns.get(table).and_then(|t| t.get(column))
    }
}

/// A spec with where it came from and its hash, as reports show it.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    pub origin: String,
    pub text: String,
    pub sha256: String,
}

impl LoadedSpec {
    pub fn builtin() -> LoadedSpec {
        Self::parse(BUILTIN_TOML, BUILTIN_NAME).expect("the built-in spec parses")
    }

    pub fn from_file(path: &Path) -> Result<LoadedSpec, SpecError> {
        let text = crate::fsutil::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The spec named by `--spec`, or the built-in one.
    pub fn load(path: Option<&Path>) -> Result<LoadedSpec, SpecError> {
        match path {
            Some(p) => Self::from_file(p),
            None => Ok(Self::builtin()),
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<LoadedSpec, SpecError> {
        let spec: Spec = toml::from_str(text).map_err(|e| SpecError::Parse {
            origin: origin.to_string(),
            message: e.to_string().replace('\n', " ").trim().to_string(),
        })?;
        let loaded = LoadedSpec {
            spec,
            origin: origin.to_string(),
            text: text.to_string(),
            sha256: crate::backup::hex(&Sha256::digest(text.as_bytes())),
        };
        loaded.check_shape()?;
        Ok(loaded)
    }

    fn invalid(&self, message: String) -> SpecError {
        SpecError::Invalid {
            origin: self.origin.clone(),
            message,
        }
    }

    /// Checks that need no database: names unique, fields declared, transforms and constants
    /// sensible, roll-ups complete.
    fn check_shape(&self) -> Result<(), SpecError> {
        let spec = &self.spec;
        let bad = |m: String| Err(self.invalid(m));
        if spec.progress_table.trim().is_empty() {
            return bad("progress_table must name a table".into());
        }
        for (unit, u) in &spec.units {
            for (what, v) in [("min", u.min), ("max", u.max)] {
                if v.is_some_and(|x| !x.is_finite()) {
                    return bad(format!("units.{unit}: {what} must be a finite number"));
                }
            }
            if let (Some(a), Some(b)) = (u.min, u.max)
                && a > b
            {
                return bad(format!("units.{unit}: min {a} is above max {b}"));
            }
            for (from, f) in &u.from {
                if !f.is_finite() || *f == 0.0 {
                    return bad(format!(
                        "units.{unit}: the factor from {from} must be a finite, non-zero number"
                    ));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for m in &spec.migrations {
            let at = format!("migration {}", m.name);
            if !names.insert(&m.name) {
                return bad(format!("{at} is defined twice"));
            }
            if m.time.multiply <= 0 {
                return bad(format!(
                    "{at}: time.multiply must be a positive whole number"
                ));
            }
            if let Some(u) = &m.time.unit
                && !spec.units.contains_key(u)
            {
                return bad(format!("{at}: time.unit {u} is not declared in [units]"));
            }
            if let Some(c) = &m.coverage
                && (c.cadence <= 0 || c.gap <= 0)
            {
                return bad(format!(
                    "{at}: coverage.cadence and coverage.gap must be positive"
                ));
            }
            if m.fields.is_empty() {
                return bad(format!("{at}: fields is empty"));
            }
            match (m.kind, &m.bucket) {
                (Kind::Rollup, None) => {
                    return bad(format!(
                        "{at}: a roll-up needs bucket = {{ width, closed, value }}"
                    ));
                }
                (Kind::Rollup, Some(b)) => {
                    if b.width <= 0 {
                        return bad(format!("{at}: bucket.width must be positive"));
                    }
                    if b.width.checked_mul(m.time.multiply).is_none() {
                        return bad(format!(
                            "{at}: bucket.width × time.multiply does not fit a 64-bit integer"
                        ));
                    }
                    if !m.fields.contains(&b.value) {
                        return bad(format!(
                            "{at}: bucket.value {} is not one of the fields ({})",
                            b.value,
                            m.fields.join(", ")
                        ));
                    }
                    if m.aggregate.is_empty() {
                        return bad(format!(
                            "{at}: a roll-up needs aggregate = {{ target column = function }}"
                        ));
                    }
                }
                (_, Some(_)) => {
                    return bad(format!("{at}: bucket is for kind = \"rollup\" only"));
                }
                (_, None) if !m.aggregate.is_empty() => {
                    return bad(format!("{at}: aggregate is for kind = \"rollup\" only"));
                }
                _ => {}
            }
            if let Some(r) = &m.superseded_by {
                match spec.migrations.iter().find(|x| &x.name == r) {
                    Some(x) if x.kind == Kind::Rollup && x.target == m.target => {}
                    _ => {
                        return bad(format!(
                            "{at}: superseded_by names {r}, which is not a roll-up into {}",
                            m.target
                        ));
                    }
                }
                if m.kind == Kind::Rollup {
                    return bad(format!("{at}: a roll-up cannot be superseded"));
                }
            }
            for (c, col) in &m.columns {
                match col {
                    Column::Source {
                        multiply,
                        aggregate,
                        ..
                    } => {
                        if *multiply == Some(0) {
                            return bad(format!("{at}: column {c}: multiply must not be 0"));
                        }
                        match (m.kind, aggregate) {
                            (Kind::Rollup, None) => {
                                return bad(format!(
                                    "{at}: column {c}: a roll-up summarises a source column: give aggregate"
                                ));
                            }
                            (Kind::Rollup, Some(_)) | (_, None) => {}
                            (_, Some(_)) => {
                                return bad(format!(
                                    "{at}: column {c}: aggregate is for kind = \"rollup\" only"
                                ));
                            }
                        }
                    }
                    Column::Value { value } => {
                        if !scalar_is_finite(value) {
                            return bad(format!(
                                "{at}: column {c}: the constant must be a finite number or text"
                            ));
                        }
                    }
                }
                if m.aggregate.contains_key(c) {
                    return bad(format!(
                        "{at}: column {c} is also an aggregate; give it once"
                    ));
                }
            }
            if m.vendors.is_empty() {
                return bad(format!(
                    "{at}: maps no vendor (give at least one [[migration.vendor]])"
                ));
            }
            let mut vendors = std::collections::BTreeSet::new();
            for v in &m.vendors {
                if !vendors.insert(&v.vendor_type) {
                    return bad(format!("{at}: vendor {} is listed twice", v.vendor_type));
                }
                if v.points.is_empty() {
                    return bad(format!("{at}, vendor {}: maps no point", v.vendor_type));
                }
                let mut points = std::collections::BTreeSet::new();
                let mut transforms: Vec<(String, &Transform)> = Vec::new();
                for p in &v.points {
                    let at = format!("{at}, vendor {}, point {}", v.vendor_type, p.point);
                    if !points.insert(&p.point) {
                        return bad(format!("{at}: listed twice"));
                    }
                    if p.fields.is_empty() {
                        return bad(format!(
                            "{at}: maps no field (give one of {})",
                            m.fields.join(", ")
                        ));
                    }
                    for (field, t) in &p.fields {
                        if !m.fields.contains(field) {
                            return bad(format!(
                                "{at}: field {field} is not one of the migration's fields ({})",
                                m.fields.join(", ")
                            ));
                        }
                        transforms.push((format!("{at}: {field}"), t));
                    }
                }
                for (c, t) in &v.duplicates {
                    transforms.push((
                        format!("{at}, vendor {}, duplicate column {c}", v.vendor_type),
                        t,
                    ));
                }
                for (at, t) in transforms {
                    if t.round.is_some_and(|r| !(0..=9).contains(&r)) {
                        return bad(format!("{at}: round must be 0 to 9 decimals"));
                    }
                    if t.multiply.is_some_and(|f| !f.is_finite() || f == 0.0) {
                        return bad(format!("{at}: multiply must be a finite, non-zero number"));
                    }
                    for (what, v) in [("null_if", &t.null_if), ("null_as", &t.null_as)] {
                        if v.as_ref().is_some_and(|v| !scalar_is_finite(v)) {
                            return bad(format!("{at}: {what} must be a finite number or text"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub fn migration(&self, name: &str) -> Option<&Migration> {
        self.spec.migrations.iter().find(|m| m.name == name)
    }
}

fn scalar_is_finite(s: &Scalar) -> bool {
    !matches!(s, Scalar::Float(f) if !f.is_finite())
}

impl Migration {
    pub fn vendor(&self, vendor_type: &str) -> Option<&VendorMap> {
        self.vendors.iter().find(|v| v.vendor_type == vendor_type)
    }

    /// The target columns a point fills: its fields, or a roll-up's aggregates.
    pub fn target_fields(&self) -> Vec<String> {
        match self.kind {
            Kind::Rollup => self.aggregate.keys().cloned().collect(),
            _ => self.fields.clone(),
        }
    }

    /// A roll-up's aggregate of a target column.
    pub fn aggregate_of(&self, column: &str) -> Option<Aggregate> {
        self.aggregate.get(column).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_original_specs_parse() {
        let b = LoadedSpec::builtin();
        let names: Vec<&str> = b.spec.migrations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["readings_to_points", "readings_to_agg5m", "agg5m_to_points"]
        );
        assert_eq!(b.spec.migrations[1].kind, Kind::Rollup);
        assert_eq!(b.spec.progress_table, "migration_progress");
        let o = LoadedSpec::parse(
            include_str!("../../specs/liveone-original.toml"),
            "original",
        )
        .unwrap();
        assert_eq!(o.spec.on_missing_column, OnMissing::Null);
    }

    #[test]
    fn unknown_fields_and_duplicates_are_refused() {
        let bad = BUILTIN_TOML.replacen(
            "multiply = 1000, round = 0",
            "multiply = 1000, rounding = 0",
            1,
        );
        let e = LoadedSpec::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("x.toml: not a valid migration spec") && e.contains("rounding"),
            "{e}"
        );
        let dup = BUILTIN_TOML.replacen("point = \"load_w\"", "point = \"solar_w\"", 1);
        let e = LoadedSpec::parse(&dup, "y.toml").unwrap_err().to_string();
        assert!(e.contains("point solar_w: listed twice"), "{e}");
    }
}
