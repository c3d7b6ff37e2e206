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

/// A target column filled from the source row (not per point) or with a constant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Column {
    Source {
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        multiply: Option<i64>,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Raw,
    Agg5m,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Agg5m => "agg5m",
        }
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
    #[serde(rename = "migration")]
    pub migrations: Vec<Migration>,
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
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
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

    /// Checks that need no database: names unique, fields declared, transforms sensible.
    fn check_shape(&self) -> Result<(), SpecError> {
        let mut names = std::collections::BTreeSet::new();
        for m in &self.spec.migrations {
            if !names.insert(&m.name) {
                return Err(self.invalid(format!("migration {} is defined twice", m.name)));
            }
            if m.time.multiply <= 0 {
                return Err(self.invalid(format!(
                    "migration {}: time.multiply must be a positive whole number",
                    m.name
                )));
            }
            let mut vendors = std::collections::BTreeSet::new();
            for v in &m.vendors {
                if !vendors.insert(&v.vendor_type) {
                    return Err(self.invalid(format!(
                        "migration {}: vendor {} is listed twice",
                        m.name, v.vendor_type
                    )));
                }
                let mut points = std::collections::BTreeSet::new();
                for p in &v.points {
                    let at = format!(
                        "migration {}, vendor {}, point {}",
                        m.name, v.vendor_type, p.point
                    );
                    if !points.insert(&p.point) {
                        return Err(self.invalid(format!("{at}: listed twice")));
                    }
                    if p.fields.is_empty() {
                        return Err(self.invalid(format!(
                            "{at}: maps no field (give one of {})",
                            m.fields.join(", ")
                        )));
                    }
                    for (field, t) in &p.fields {
                        if !m.fields.contains(field) {
                            return Err(self.invalid(format!(
                                "{at}: field {field} is not one of the migration's fields ({})",
                                m.fields.join(", ")
                            )));
                        }
                        if t.round.is_some_and(|r| !(0..=9).contains(&r)) {
                            return Err(
                                self.invalid(format!("{at}: round must be 0 to 9 decimals"))
                            );
                        }
                        if t.multiply.is_some_and(|f| !f.is_finite() || f == 0.0) {
                            return Err(self.invalid(format!(
                                "{at}: multiply must be a finite, non-zero number"
                            )));
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

impl Migration {
    pub fn vendor(&self, vendor_type: &str) -> Option<&VendorMap> {
        self.vendors.iter().find(|v| v.vendor_type == vendor_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_original_specs_parse() {
        let b = LoadedSpec::builtin();
        assert_eq!(b.spec.migrations.len(), 2);
        assert_eq!(b.spec.migrations[0].name, "readings_to_points");
        assert_eq!(b.spec.migrations[1].name, "agg5m_to_points");
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
