//! What a check found, as data: where it looked ([`Scope`]), what it expected and what it found
//! ([`Fact`]), and examples ([`Example`]). Numbers are numbers, times are times, values are
//! values; the words people read are made from these by the renderers' phrasing module only.

use serde::{Deserialize, Serialize};

/// A value read from a database, as JSON carries it: null, a number, a string, or a blob's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob { blob_bytes: u64 },
}

impl From<&rusqlite::types::Value> for Value {
    fn from(v: &rusqlite::types::Value) -> Value {
        use rusqlite::types::Value as V;
        match v {
            V::Null => Value::Null,
            V::Integer(i) => Value::Integer(*i),
            V::Real(f) => Value::Real(*f),
            V::Text(t) => Value::Text(t.clone()),
            V::Blob(b) => Value::Blob {
                blob_bytes: b.len() as u64,
            },
        }
    }
}

/// A time in a migration's target unit (`per_second` units a second: 1000 for milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Time {
    pub t: i64,
    pub per_second: i64,
}

impl Time {
    pub fn new(t: i64, per_second: i64) -> Time {
        Time { t, per_second }
    }
}

/// A point of a system: its catalogue id and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointRef {
    pub id: i64,
    pub name: String,
}

/// Where a check looked. Every part is optional; the phrasing joins the present ones, in this
/// order, with ` · `.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    /// A point's standing when it is not one the spec maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmapped: Option<Unmapped>,
    /// The label of the migration step the check belongs to (`--sql` with a label), printed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The kind of schema object `name` is (`index`, `trigger`, `view`, `column`), printed
    /// before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A whole thing named by itself: `database`, `pages`, an invariant, a script, a target table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The migration tool, for a tool's migration or directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<PointRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The spot check's sample: rows and seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<(u64, u64)>,
}

impl Scope {
    /// Whether the scope's first named part (a name, or a file) starts with `prefix`.
    pub fn begins_with(&self, prefix: &str) -> bool {
        self.name
            .as_deref()
            .or(self.file.as_deref())
            .is_some_and(|s| s.starts_with(prefix))
    }

    /// A scope named by itself.
    pub fn named(name: impl Into<String>) -> Scope {
        Scope {
            name: Some(name.into()),
            ..Scope::default()
        }
    }

    /// A schema object of a kind: `index posts_user`, `column posts.title`.
    pub fn object(kind: impl Into<String>, name: impl Into<String>) -> Scope {
        Scope {
            kind: Some(kind.into()),
            name: Some(name.into()),
            ..Scope::default()
        }
    }

    pub fn table(name: impl Into<String>) -> Scope {
        Scope {
            table: Some(name.into()),
            ..Scope::default()
        }
    }

    pub fn migration(name: impl Into<String>) -> Scope {
        Scope {
            migration: Some(name.into()),
            ..Scope::default()
        }
    }

    /// `file:line`, or the file alone.
    pub fn at(file: impl Into<String>, line: Option<u64>) -> Scope {
        Scope {
            file: Some(file.into()),
            line,
            ..Scope::default()
        }
    }
}

/// A number of things of one kind: `35,776 rows`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub n: u64,
    pub of: Noun,
}

/// What a [`Count`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Noun {
    Rows,
    Violations,
    Problems,
    Differ,
    Match,
    Decreases,
    Moved,
    LeftBehind,
    Resolved,
    Missing,
    DistinctTimes,
    Off,
    WithoutTheirPoint,
    MigratedRowsAsTheSpecSays,
    MigratedRowsMatch,
    MigratedRowsWithValues,
    MigratedRowsAllNull,
    Inserted,
    Changed,
    RowsDiffer,
    MappedFieldsReadExistingColumns,
    RowsAsBefore,
    RowsUnchanged,
}

/// Duplicate columns checked, and the rows where one differs from the column it repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicates {
    pub checked: u64,
    pub rows_differ: u64,
}

/// A conversion factor: what the spec multiplies by, and what the units need.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub spec: f64,
    pub unit: f64,
}

/// A length of time in a source's own unit (`seconds`: the unit is the second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Length {
    pub units: i64,
    pub seconds: bool,
}

/// Gaps of a source: how many, each longer than `longer_than`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gaps {
    pub n: u64,
    pub longer_than: Length,
}

/// Findings that are a fixed statement: a state, or why a check had nothing to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fixed {
    Ok,
    None,
    Identical,
    Unchanged,
    Applied,
    AppliedOrRehearsedHere,
    NoRow,
    NoRows,
    NoMigratedRows,
    /// A system of which the migration wrote nothing (live rows, or finer data replace them).
    NoMigratedRowsLiveOrFiner,
    /// A point of which the migration wrote nothing (live rows, or no source row).
    NoMigratedRowsLiveOrNoSource,
    NoSourceRowOfThisSystem,
    NoMigratedRowTheSpecMakesNone,
    EveryPageUsedOnce,
    EverySystemPointCatalogued,
    AbsentAsBefore,
    ANewTable,
    NoLiveRowsOfThisSystem,
    AMappingForEveryVendor,
    NothingInsertedEveryTableUnchanged,
    AsBeforeTheMigration,
    LiveRowsUnknown,
    NoSourceRowsToSample,
    EverySampleLive,
    AllPresent,
    EveryMappedPointInPointInfo,
    ValuesWhereThereIsData,
    NoSourceValueOfThisSystem,
    NoLiveRowsAtTimesOfThisMigration,
    /// The integrity check, left out on request (`--skip-integrity`).
    IntegrityLeftOut,
    /// `collateral` with nothing to compare with.
    NoBaseline,
    TableGone,
    CountersOutsideTargetsUnchanged,
    EveryStatementRuns,
    StatementDoesWhatItReads,
    EveryForeignKeyFindsItsParent,
    RunnerRunsEveryStatement,
    FailedScriptKeepsNothing,
    EveryTableAsBefore,
    SecondRunChangesNothing,
    SecondRunChangesNothingOrKeepsNothing,
    NothingChanged,
    AsBeforeTheForwardScript,
    SameStateAsFirstRun,
    RecordedAsApplied,
    NoRollbackGiven,
    /// sql.collateral's rule.
    RowsChangeOnlyInNamedTables,
    /// sql.vanished's rule.
    EveryObjectStaysUnlessDropped,
    /// sql.broken's rule.
    EveryViewAndTriggerCompiles,
    /// sql.references's rule.
    EveryForeignKeyPointsAsBefore,
    /// sql.sequence's rule.
    NoCounterGoesDown,
    /// sql.constraints's rule.
    EveryConstraintSurvives,
    /// sql.layout's rule.
    CopiedTableKeepsLayout,
    /// sql.composite_key's rule.
    WholeCompositeKeyMatched,
    /// sql.key_spread's rule.
    NamedKeyValuesOnly,
    /// sql.scope: a table the declared scope does not name, and no schema change it declares.
    NoChangeOutsideScope,
}

/// What a check expected, or what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fact {
    /// Nothing to say.
    Nothing,
    /// Counts of things, in order: `35,776 rows, 0 without their point`.
    Counts { counts: Vec<Count> },
    /// A fixed statement.
    Fixed { what: Fixed },
    /// The first and last time: `2025-11-05T10:00:00Z → 2025-11-06T10:00:00Z`.
    Span {
        first: Option<Time>,
        last: Option<Time>,
    },
    /// Coverage found: the first and last target time, instants missing, gaps of the source.
    Coverage {
        first: Option<Time>,
        last: Option<Time>,
        missing: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gaps: Option<Gaps>,
    },
    /// How target times are made of source times: times `multiply`, of buckets `bucket_width`
    /// source units wide when the migration rolls up.
    TimeConversion {
        multiply: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bucket_width: Option<i64>,
    },
    /// Rows of systems whose vendor the migration has no mapping for.
    Unmapped { rows: u64, systems: Vec<i64> },
    /// Every source column with data is carried or ignored.
    AccountedFor { columns_with_data: u64 },
    /// Source columns with data neither carried nor ignored, and the duplicate columns checked.
    LeftBehind {
        columns: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duplicates: Option<Duplicates>,
    },
    /// No migrated row: the rows the spec makes were already present (written live).
    AlreadyPresent { rows: u64 },
    /// No migrated row: the source holds no value the spec carries for this point.
    NothingCarried { point: String },
    /// Values in the point's unit, converted as the spec's units say, and plausible.
    Plausible { unit: String },
    /// Counters that never decrease.
    NeverDecrease { columns: Vec<String> },
    /// Mapped fields reading columns the source table lacks (read as NULL).
    ColumnsLacking { fields: u64, table: String },
    /// The target table with a unique key on (system, point, time).
    UniqueKey { table: String },
    /// As many indexes as before the migration, each the same.
    IndexesAsBefore { indexes: u64 },
    /// The indexes a table has.
    Indexes { names: Vec<String> },
    /// An integrity pragma answers `ok`.
    PragmaOk { pragma: String },
    /// What SQLite said of a table, verbatim.
    TableMessage { table: String, message: String },
    /// A message of SQLite or of the page census, verbatim.
    Message { text: String },
    /// A migration's state as its tool records it, and the tool's detail.
    MigrationState {
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A query SQLite refused, and its message.
    QueryFailed { message: String },
    /// Exactly these rows (as the sqlite3 shell prints them: `a|b`).
    ExactRows { rows: Vec<String> },
    /// A number within bounds (either may be open).
    Between {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// A number.
    Number { value: f64 },
    /// A query meant to return one number returned `rows` rows (the one value, when it is one).
    NotOneNumber {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
        rows: u64,
    },
    /// Rows differing from the live rows, and the differences each verified cause explains.
    Parity {
        differ: u64,
        explained: Vec<Explained>,
    },
    /// The live window: how many source instants (or roll-up intervals) it holds, first to last.
    Window {
        rows: u64,
        of: WindowOf,
        first: Time,
        last: Time,
    },
    /// A finding, and how many of it the database held before the migrations ran.
    BeforeMigrations { now: Box<Fact>, before: u64 },
    /// A progress row: the last source time it records, and the rows migrated (None: NULL).
    Progress {
        last: Option<i64>,
        rows: Option<i64>,
    },
    /// A progress mark behind the last source row: the `after` source rows after it, `lacking`
    /// of them without the target rows the spec makes of them (none: the live app's
    /// dual-write wrote them).
    ProgressBehind {
        last: i64,
        rows: i64,
        after: i64,
        lacking: u64,
    },
    /// A table that does not exist.
    NoTable { table: String },
    /// The rows a target table held before the migration, unchanged.
    RowsThatWereThere { rows: u64 },
    /// Rows inserted, updated and deleted.
    RowChanges {
        inserted: u64,
        updated: u64,
        deleted: u64,
    },
    /// Changes (or differences) from a state the database should be in; `kept`: why they
    /// stayed.
    Changes {
        n: u64,
        of: ChangeUnit,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kept: Option<KeptBy>,
    },
    /// Rows as the sqlite3 shell prints them (`a|b`), in order.
    ShellRows { rows: Vec<String> },
    /// A query of EXPECT.toml SQLite refused, and its message.
    QueryFails { message: String },
    /// An error SQLite returned, verbatim.
    SqliteError { message: String },
    /// What preflight's script runner noted of a statement, verbatim (its words on what the
    /// statement does in production).
    RunnerNote { text: String },
    /// Rows whose foreign key finds no parent.
    Orphans { rows: u64 },
    /// A statement the runner refuses, and why (the runner's words).
    Refused { why: String },
    /// A second run fails (SQLite's message) and changes nothing.
    RefusesTwice { message: String },
    /// A script ran: its statements, the rows it changed, table by table, the schema objects it
    /// changed, and what the runner noted (its words).
    Ran {
        statements: u64,
        rows: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tables: Vec<TableRows>,
        #[serde(default, skip_serializing_if = "is_zero")]
        schema_objects: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    /// Changes a failed script left, table by table.
    Stayed {
        changes: u64,
        tables: Vec<TableRows>,
        #[serde(default, skip_serializing_if = "is_zero")]
        schema_objects: u64,
    },
    /// A statement a migration tool never runs (`statement`: its first words); `applied`: the
    /// migration is applied, so it never ran.
    NeverRuns {
        tool: String,
        statement: String,
        applied: bool,
    },
    /// What a migration tool's records make of a second run.
    Rerun {
        tool: String,
        decision: RerunDecision,
    },
    /// A finding EXPECT.toml allows: `key` (`[allow] collateral`, `[schema] indexes.dropped`)
    /// names `names`.
    Allowed {
        found: Box<Fact>,
        key: String,
        names: String,
    },
    /// sql.collateral: rows deleted and updated in a table no statement names (`spread`: their
    /// composite key's leading values), and what changed them (none known: SQLite on its own).
    Collateral {
        table: String,
        deleted: u64,
        updated: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spread: Option<SpreadShown>,
        causes: Vec<CollateralCause>,
    },
    /// sql.key_spread: `rows` changed across `spread`, while the statements at `lines` that
    /// change them filter `column` on the values `named` only.
    KeySpread {
        rows: u64,
        spread: SpreadShown,
        lines: Vec<u64>,
        column: String,
        named: Vec<String>,
    },
    /// sql.vanished: an index, trigger or view (`what`) of `table` no longer there, and how.
    Vanished {
        what: String,
        name: String,
        table: String,
        how: Vanish,
    },
    /// sql.broken: a view or trigger SQLite no longer compiles (its message, verbatim).
    NoLongerCompiles {
        what: String,
        name: String,
        message: String,
    },
    /// sql.references: the foreign key `table(columns) → parent` references a table that is
    /// gone.
    DanglingReference {
        table: String,
        columns: Vec<String>,
        parent: String,
    },
    /// sql.references: the foreign key `table(columns) → parent` referenced `was` before the
    /// script renamed `was`, and `was` exists again.
    Repointed {
        table: String,
        columns: Vec<String>,
        parent: String,
        was: String,
    },
    /// sql.references: a view or trigger that read `was` reads the words `now` instead, while
    /// `was` exists again.
    Rewritten {
        what: String,
        name: String,
        was: String,
        now: Vec<String>,
    },
    /// sql.sequence: the AUTOINCREMENT counter of `table` went from `from` down to `to` (absent:
    /// its line of sqlite_sequence is gone).
    CounterDown {
        table: String,
        from: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<i64>,
    },
    /// sql.constraints: what `object` (a table, or `table.column`) lost in the rebuild of
    /// `table`.
    ConstraintsLost {
        object: String,
        table: String,
        lost: Vec<Constraint>,
    },
    /// sql.layout: a table rebuilt with its `rows` copied, its common columns in another order,
    /// or of other affinities.
    Layout {
        table: String,
        rows: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<ColumnOrder>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        affinities: Vec<AffinityChange>,
    },
    /// sql.composite_key: at `line`, `other` matches `table.column` alone (`how`), while the
    /// table's key is `key`: the `ignored` columns before it are left unmatched.
    CompositeKey {
        line: u64,
        other: String,
        how: KeyMatch,
        table: String,
        column: String,
        key: Vec<String>,
        ignored: Vec<String>,
    },
    /// sql.scope, nothing declared: what would declare a scope.
    NoScopeDeclared { hint: ScopeHint },
    /// sql.scope: rows a table may change, and whether its schema may change.
    AtMost {
        inserted: u64,
        updated: u64,
        deleted: u64,
        schema: SchemaAllowed,
    },
    /// sql.scope: what changed in a table (`schema`: its schema too; `spread`: the changed
    /// rows' composite key leading values); `judged`: false when no scope is declared.
    TableChanged {
        inserted: u64,
        updated: u64,
        deleted: u64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        schema: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spread: Option<SpreadShown>,
        judged: bool,
    },
}

/// What would declare a SQL rehearsal's scope (and its queries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum ScopeHint {
    /// Give --expect.
    GiveExpect,
    /// Give --expect-dir with this file in it (`0002_points.toml`).
    GiveExpectDir { file: String },
    /// The --expect-dir has no such file.
    NoFile { path: String },
}

/// What a declared scope lets a table's schema do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaAllowed {
    /// Nothing.
    No,
    /// Anything (`[scope.T] schema = true`).
    Any,
    /// The changes `[schema]` names.
    Named,
}

/// A row change of another table's statement reaching this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOp {
    Update,
    Delete,
}

/// One way rows of a table no statement names changed: the statement at `line` (`statement`:
/// its first words, `DELETE FROM posts`) `op` the table `through` a trigger or a foreign key;
/// `drop_table`: the statement dropped that table with foreign keys on (it deletes every row
/// first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollateralCause {
    pub table: String,
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    pub op: RowOp,
    pub through: Through,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_table: Option<String>,
}

/// What carried a statement's change to another table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum Through {
    Trigger {
        name: String,
    },
    /// The foreign key `child(columns) → parent` and its action (`ON DELETE CASCADE`).
    ForeignKey {
        child: String,
        columns: Vec<String>,
        parent: String,
        event: String,
        action: String,
    },
    /// A foreign key action not pinned to one key.
    ForeignKeyAction,
}

/// How an object vanished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum Vanish {
    /// Taken along by a rename of its table (at `line`, when a statement renamed it), onto `to`.
    Moved {
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u64>,
    },
    /// The DROP TABLE at `line` dropped it with its table, and nothing created it again.
    DroppedWithTable { line: u64 },
    /// No statement drops it.
    NotDropped,
}

/// A constraint a rebuild lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum Constraint {
    NotNull,
    Default {
        value: String,
    },
    Check {
        expr: String,
    },
    PrimaryKey {
        columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
    },
    ForeignKey {
        columns: Vec<String>,
        parent: String,
    },
}

/// Common columns in another order, and how the rows were copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnOrder {
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub copied: Copied,
}

/// How a rebuild copied its rows into another column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum Copied {
    /// Values moved: `rows` differ column by column.
    ValuesMoved { rows: u64 },
    /// A statement of the script copies by position.
    ByPosition,
    /// By name, every value in its column (a note: a warning, not a hazard).
    ByName,
}

/// A column whose type affinity changed (`from_type`, `to_type`: declared types, empty: none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffinityChange {
    pub column: String,
    pub from: String,
    pub from_type: String,
    pub to: String,
    pub to_type: String,
}

/// How a statement matches a key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyMatch {
    /// `other = table.column`
    Equals,
    /// `other IN (SELECT column FROM table …)`
    InSelect,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a count of [`Fact::Changes`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeUnit {
    Change,
    Difference,
}

/// Why changes stayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeptBy {
    /// A failed script kept them.
    FailedRun,
    /// A second run that fails kept them.
    FailedSecondRun,
}

/// Rows a run changed in one table; `spread`: the changed rows' values of the table's
/// composite key's leading column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRows {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub columns_changed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<SpreadShown>,
}

/// The first values of a spread (`total`: how many distinct values in all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpreadShown {
    pub column: String,
    pub values: Vec<String>,
    pub total: u64,
}

/// A migration tool's decision on a second run, by its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum RerunDecision {
    /// Recorded in its tracking table: it skips the migration.
    Recorded { table: String },
    /// It would run the migration again: its state (and the tool's detail).
    RunsAgain {
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// It does not list the migration.
    NotListed,
}

impl Fact {
    /// One count.
    pub fn count(n: u64, of: Noun) -> Fact {
        Fact::Counts {
            counts: vec![Count { n, of }],
        }
    }

    /// Several counts.
    pub fn counts(counts: &[(u64, Noun)]) -> Fact {
        Fact::Counts {
            counts: counts.iter().map(|&(n, of)| Count { n, of }).collect(),
        }
    }
}

impl From<Fixed> for Fact {
    fn from(what: Fixed) -> Fact {
        Fact::Fixed { what }
    }
}

/// One example of what a check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Example {
    /// A row the target should hold at this time and does not.
    Missing { at: Time },
    /// A row the target holds at this time and should not (`raw`: the stored time).
    Extra { at: Time, raw: Value },
    /// A row whose values differ from what the spec makes.
    Differs { at: Time, diffs: Vec<Diff> },
    /// A target row with no source row at its time (`in_bucket`: in its roll-up bucket).
    NoSourceRow { at: Time, in_bucket: bool },
    /// A target time that is wrong, and why.
    BadTime { at: Time, why: TimeCause },
    /// Rows of a (system, point) pair the catalogue does not hold; `point_of`: the systems that
    /// do have that point.
    UncataloguedPoint {
        system: i64,
        point: i64,
        rows: u64,
        point_of: Vec<i64>,
    },
    /// A source column with data, neither carried nor ignored.
    LeftBehind {
        table: String,
        column: String,
        rows: u64,
    },
    /// A duplicate column that differs from the transform of the column it repeats.
    Duplicate {
        table: String,
        column: String,
        at: Value,
        found: Value,
        repeats: String,
        expected: Value,
    },
    /// The spec reads columns the source table does not have.
    SpecReadsMissing { table: String, columns: Vec<String> },
    /// Every migrated row of a point is NULL while the source (or the live app) has values.
    AllNull {
        migrated: u64,
        source_values: u64,
        live_values: bool,
        point: String,
    },
    /// The spec makes no row of a point the live app wrote values for.
    LiveOnly { point: String },
    /// A field whose source unit the spec converts wrongly (`factor`: what the spec multiplies by
    /// and what the units need), or not at all (no conversion declared).
    Conversion {
        field: String,
        table: String,
        column: String,
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        factor: Option<Factor>,
    },
    /// A source time column whose unit the spec converts to the target time's unit wrongly
    /// (`factor`), or not at all.
    TimeConversion {
        table: String,
        column: String,
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        factor: Option<Factor>,
    },
    /// A row whose values are not plausible in the unit (or not rounded as the spec rounds).
    Implausible {
        at: Time,
        values: Vec<(String, Value)>,
        unit: String,
    },
    /// A counter that decreased (`seam`: at the seam from migrated to live rows).
    Decrease {
        at: Time,
        column: String,
        from: Value,
        to: Value,
        seam: bool,
    },
    /// A mapped field reading a column the source table lacks.
    NoColumn {
        vendor: String,
        point: String,
        field: String,
        table: String,
        column: String,
    },
    /// A mapped point missing from the point catalogue.
    NoPoint {
        system: i64,
        vendor: String,
        point: String,
    },
    /// The target has no unique key on these columns.
    NoUniqueKey { columns: Vec<String> },
    /// An index gone, changed or new since before the migration.
    Index { name: String, change: IndexChange },
    /// A row whose foreign key finds no parent (as `PRAGMA foreign_key_check` reports it).
    NoParent {
        table: Value,
        rowid: Value,
        parent: Value,
    },
    /// A row a query returned (`got`) where another (`expected`) was expected; either may be
    /// absent (an extra row, a missing row). Rows as the sqlite3 shell prints them.
    RowDiff {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        got: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected: Option<String>,
    },
    /// A row a query returned, as the sqlite3 shell prints it.
    ShellRow { row: String },
    /// One sampled source row of the spot check: what the source holds, what the spec makes of
    /// it (absent: no row), and what the target holds (absent: no row). No `source`: a roll-up
    /// bucket with no sample of this point, where the spec makes no row.
    Sample {
        verdict: Verdict,
        at: Sampled,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<SampleSource>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spec: Option<Vec<(String, Value)>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Vec<(String, Value)>>,
    },
    /// The first or last time differs between source and target.
    Edge {
        edge: Edge,
        source: Option<Time>,
        target: Option<Time>,
    },
    /// The target has nothing at a time the source has a row.
    TargetHasNothing { at: Time },
    /// A gap in the source longer than its cadence (also a gap in the target).
    SourceGap {
        after: Time,
        gap: Length,
        cadence: Length,
    },
    /// A source row after the progress mark without the target row the spec makes of it.
    NoTargetRow {
        table: String,
        column: String,
        value: Value,
        target: String,
    },
    /// An AUTOINCREMENT counter (a line of `sqlite_sequence`) that moved.
    Counter { table: String, from: i64, to: i64 },
    /// A row that differs between two states of a database, or a table new or gone (`table`:
    /// the table it belongs to, absent when the check's scope names it).
    Row {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        table: Option<String>,
        row: RowExample,
    },
    /// A schema object new, gone or changed.
    Schema { change: SchemaChange },
    /// The schema changed (its digest differs).
    SchemaChanged,
    /// A table appeared, is gone or changed (its digest differs).
    TableChanged { table: String, change: TableChange },
    /// Rows a second run of the spec's engine inserted.
    InsertedAgain { rows: u64 },
    /// A live row and the row the spec makes at the same time (`live`, `spec` absent: no row;
    /// the columns holding a value), and what explains their difference.
    LiveParity {
        at: Time,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        live: Option<Vec<(String, Value)>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spec: Option<Vec<(String, Value)>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<ParityWhy>,
    },
    /// The rows a query was expected to return, or returned (as the sqlite3 shell prints them).
    ShellRows { side: RowsSide, rows: Vec<String> },
    /// A statement failed at `file:line` (SQLite's message); `records`: the migration id the
    /// statement records itself under in LiveOne's `migrations`.
    Failed {
        file: String,
        line: u64,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        records: Option<String>,
    },
    /// A statement, as written (or its first words).
    Statement { sql: String },
    /// Which statements' effects a run kept (lines), and which were rolled back; `failed`: the
    /// run had an error; `second_run`: a second run's.
    Kept {
        kept: Vec<u64>,
        rolled_back: Vec<u64>,
        failed: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        second_run: bool,
    },
    /// A row whose foreign key finds no parent (`rowid` absent: not known).
    Orphan {
        table: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rowid: Option<i64>,
        parent: String,
    },
    /// A statement at `file:line` the runner refuses, and why (the runner's words).
    Refused {
        file: String,
        line: u64,
        why: String,
    },
    /// A statement at `file:line` a migration tool never runs (its first words).
    NeverRuns {
        file: String,
        line: u64,
        tool: String,
        statement: String,
    },
    /// Put the breakpoint `marker` before the statement, or give it a file of its own.
    Breakpoint { marker: String },
    /// What preflight's script runner noted of a statement, verbatim.
    RunnerNote { text: String },
    /// A live row at a source instant with no source row (nothing to migrate).
    LiveRowNoSource { at: Time },
    /// The first live roll-up row holds more samples than came after the live app's first raw
    /// row (`deploy`): it was overwritten.
    Overwritten {
        at: Time,
        held: i64,
        after: i64,
        deploy: Time,
    },
    /// How rows of a table no statement names changed (sql.collateral).
    Collateral { cause: CollateralCause },
    /// No statement names `table`, and none changed it through a trigger or a foreign key:
    /// SQLite changed it on its own.
    OnItsOwn { table: String },
    /// The statements at `lines` filter `column` on the values `named` only.
    Filters {
        lines: Vec<u64>,
        column: String,
        named: Vec<String>,
    },
    /// Rows of one value of a composite key's leading column, updated and deleted.
    KeyValue {
        column: String,
        value: String,
        updated: u64,
        deleted: u64,
    },
    /// A definition before the script (on one line, shortened).
    Before { sql: String },
    /// A definition after the script (on one line, shortened).
    After { sql: String },
    /// The definition of a view or trigger (`what`), on one line, shortened.
    Definition { what: String, sql: String },
    /// Declare the object under `[schema]` as dropped if the script means it.
    DeclareDropped { what: String },
    /// The foreign key `table(columns) → parent` finds no table `parent` after the script.
    NoTableAfter {
        table: String,
        columns: Vec<String>,
        parent: String,
    },
    /// A reference to `from` became one to `to`: the ALTER TABLE … RENAME at `line` rewrote it
    /// (no line: it referenced `from` before the script).
    Renamed {
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u64>,
    },
    /// The statement at `line` drops `table`.
    Drops { line: u64, table: String },
    /// With foreign_keys off and legacy_alter_table on before it, a rename keeps other tables'
    /// REFERENCES as written.
    LegacyAlterTable,
    /// The words of a definition around a name (`… JOIN users_backup u ON …`).
    Excerpt { sql: String },
    /// A line of sqlite_sequence: `table`'s counter went from `from` to `to` (absent: deleted).
    Sequence {
        table: String,
        from: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<i64>,
    },
    /// The statement at `file:line` copies rows by position (`sql`: its first words).
    ByPosition {
        file: String,
        line: u64,
        sql: String,
    },
    /// At `file:line`, `table`'s key is matched on `column` only, ignoring the `ignored` columns.
    KeyMatchedOn {
        file: String,
        line: u64,
        table: String,
        key: Vec<String>,
        column: String,
        ignored: Vec<String>,
    },
    /// How to match the whole key: `other` matches `table.column`; `counterparts`: the columns
    /// of `other`'s side that match the `ignored` ones.
    MatchWholeKey {
        table: String,
        column: String,
        other: String,
        ignored: Vec<String>,
        counterparts: Vec<String>,
    },
    /// A schema object added, dropped or changed (`diff`: the lines of its definition that
    /// differ, `- before` and `+ after`).
    ObjectChange {
        what: String,
        name: String,
        table: String,
        change: ObjectChangeKind,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        diff: Vec<String>,
    },
}

/// How a schema object changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectChangeKind {
    Added,
    Dropped,
    Changed,
}

pub use crate::fingerprint::diff::{RowChange, RowExample, SchemaChange};

/// Which rows an example of a query's rows shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowsSide {
    Expected,
    Got,
}

/// How a table differs between two fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableChange {
    Appeared,
    Gone,
    Changed,
}

/// What a live-parity example says beyond the two rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum ParityWhy {
    /// The spec does not map the point (a roll-up: it makes no row).
    NotMapped,
    /// The spec does not map the point, so it makes nothing.
    MapsNothing,
    /// The seam: the live row holds the latest `held` of the interval's `of` samples.
    Seam { held: i64, of: i64 },
    /// The live row is the roll-up of the live app's `rows` point rows of the interval.
    LivePoints { rows: i64 },
}

/// One column's value: as found, and as expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub column: String,
    pub found: Value,
    pub expected: Value,
}

/// How an index differs from before the migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum IndexChange {
    Gone,
    Changed { sql: String },
    New,
}

/// The spot check's verdict on one sampled row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Mismatch,
    /// Written by the live app: live_parity compares it.
    Live,
}

/// Where a sampled row lands: migration, system, point and target time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sampled {
    pub migration: String,
    pub system: i64,
    pub point: PointRef,
    pub at: Time,
}

/// What the source holds for a sampled row: its columns, or a roll-up's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum SampleSource {
    Row {
        table: String,
        values: Vec<(String, Value)>,
    },
    Samples {
        table: String,
        columns: Vec<String>,
        samples: String,
    },
}

/// A point the live app writes that the spec does not map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// In the point catalogue, not in the spec.
    NotInSpec,
    /// Not in the point catalogue.
    NotCatalogued,
}

/// A cause that explains a difference between live and migrated rows, verified in the data.
/// (Declared in the order the report lists them.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Live rows where the source has no row (nothing to migrate).
    NoSourceRow,
    /// Rows at instants the live app wrote nothing at.
    NothingLiveThen,
    /// Rows of a point the live app wrote nothing of in the window.
    NotWrittenLive,
    /// Rows of intervals in which the live app wrote no point row of the point.
    NoLivePoints,
    /// Rows whose live row is the roll-up of the live app's point rows, which hold other
    /// samples than the source there.
    LivePointsDiffer,
    /// Seam rows: the live aggregator started inside the interval.
    Seam,
}

/// How many differences one cause explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explained {
    pub cause: Cause,
    pub n: u64,
}

/// What a live-parity window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowOf {
    SourceInstants,
    IntervalsWithSourceRows,
}

/// Why a target time is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum TimeCause {
    /// Not a plausible time in the target's unit (a time left unconverted?).
    Implausible { unit: String },
    /// Not a whole bucket (a roll-up), or not a whole source time unit.
    NotWhole { bucket: bool },
    /// No source row at this time.
    NoSourceRow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edge {
    First,
    Last,
}

impl From<String> for Scope {
    fn from(name: String) -> Scope {
        Scope::named(name)
    }
}

impl From<&str> for Scope {
    fn from(name: &str) -> Scope {
        Scope::named(name)
    }
}

impl From<&String> for Scope {
    fn from(name: &String) -> Scope {
        Scope::named(name.clone())
    }
}

/// A check's findings in words, as the text formats print them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckText {
    pub scope: String,
    pub expected: String,
    pub found: String,
    pub examples: Vec<String>,
}
