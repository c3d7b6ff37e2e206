//! The words of a check's typed findings: the one place that turns a [`Scope`], a [`Fact`] and an
//! [`Example`] into the text the table, Markdown, JUnit and HTML renderers print.

use crate::checks::show_time;
use crate::report::{
    Cause, ChangeUnit, CheckResult, CheckText, CollateralCause, Constraint, Copied, Count, Edge,
    Example, Fact, Fixed, IndexChange, KeptBy, KeyMatch, Length, Noun, ObjectChangeKind, ParityWhy,
    RerunDecision, RowChange, RowExample, RowOp, RowsSide, SampleSource, SchemaAllowed,
    SchemaChange, Scope, ScopeHint, SpreadShown, TableChange, TableRows, Through, Time, TimeCause,
    Unmapped, Value, Vanish, Verdict, WindowOf,
};
use crate::table::count as thousands;

/// A check's findings in words.
pub fn check(c: &CheckResult) -> CheckText {
    CheckText {
        scope: scope(&c.scope),
        expected: fact(&c.expected),
        found: fact(&c.found),
        examples: c.examples.iter().map(example).collect(),
    }
}

/// `readings_to_points · system 1 · fault_ts (16)`
pub fn scope(s: &Scope) -> String {
    let mut parts: Vec<String> = Vec::new();
    match (&s.kind, &s.name) {
        (Some(k), Some(n)) => parts.push(format!("{k} {n}")),
        (_, Some(n)) => parts.push(n.clone()),
        _ => {}
    }
    match (&s.tool, &s.migration) {
        (Some(t), Some(m)) => parts.push(format!("{t} migration {m}")),
        (Some(t), None) => parts.push(format!("{t} directory")),
        (None, Some(m)) => parts.push(m.clone()),
        (None, None) => {}
    }
    match (s.system, &s.vendor) {
        (Some(id), Some(v)) if s.point.is_none() => parts.push(format!("system {id} ({v})")),
        (Some(id), _) => parts.push(format!("system {id}")),
        (None, Some(v)) => parts.push(format!("vendor {v}")),
        (None, None) => {}
    }
    if let Some(p) = &s.point {
        parts.push(match s.unmapped {
            None => format!("{} ({})", p.name, p.id),
            Some(Unmapped::NotInSpec) => format!("{} ({}), not in the spec", p.name, p.id),
            Some(Unmapped::NotCatalogued) => format!("point {}, not catalogued", p.id),
        });
    }
    if let Some(t) = &s.table {
        parts.push(format!("table {t}"));
    }
    if let Some(f) = &s.file {
        parts.push(match s.line {
            Some(l) => format!("{f}:{l}"),
            None => f.clone(),
        });
    }
    if let Some((rows, seed)) = s.sample {
        parts.push(format!("{rows} rows, seed {seed}"));
    }
    let all = parts.join(" · ");
    match &s.label {
        Some(l) => format!("{l}: {all}"),
        None => all,
    }
}

pub fn time(t: &Time) -> String {
    show_time(t.t, t.per_second)
}

/// A value as a report shows it: NULL, integers plainly, reals with full precision, text quoted.
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(t) => format!("{t:?}"),
        Value::Blob { blob_bytes } => format!("<{blob_bytes} bytes>"),
    }
}

/// A number: whole numbers without a fraction.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn opt_time(t: &Option<Time>) -> String {
    t.as_ref().map_or("none".into(), time)
}

/// A length of time in source units, as hours and minutes when they are seconds.
pub fn length(l: &Length) -> String {
    let units = l.units;
    if !l.seconds {
        format!("{units} time units")
    } else if units >= 3600 {
        format!("{}h{:02}m", units / 3600, units % 3600 / 60)
    } else if units % 60 == 0 {
        format!("{} min", units / 60)
    } else {
        format!("{units} s")
    }
}

fn fixed(f: Fixed) -> &'static str {
    match f {
        Fixed::Ok => "ok",
        Fixed::None => "none",
        Fixed::Identical => "identical",
        Fixed::Unchanged => "unchanged",
        Fixed::Applied => "applied",
        Fixed::AppliedOrRehearsedHere => "applied, or pending and rehearsed here",
        Fixed::NoRow => "no row",
        Fixed::NoRows => "no rows",
        Fixed::NoMigratedRows => "no migrated rows",
        Fixed::NoMigratedRowsLiveOrFiner => {
            "no migrated rows to compare (the live app wrote them all, or finer data replaces them)"
        }
        Fixed::NoMigratedRowsLiveOrNoSource => {
            "no migrated rows to compare (the live app wrote them all, or the source has none)"
        }
        Fixed::NoSourceRowOfThisSystem => "the spec carries no source row of this system",
        Fixed::NoMigratedRowTheSpecMakesNone => "no migrated row; the spec makes none",
        Fixed::EveryPageUsedOnce => "every page used once",
        Fixed::IntegrityLeftOut => "left out (--skip-integrity)",
        Fixed::EverySystemPointCatalogued => "every (system, point) catalogued",
        Fixed::AbsentAsBefore => "absent, as before",
        Fixed::ANewTable => "a new table",
        Fixed::NoLiveRowsOfThisSystem => "no live rows for this system",
        Fixed::AMappingForEveryVendor => "a mapping for every vendor with rows",
        Fixed::NothingInsertedEveryTableUnchanged => "0 rows inserted, every table unchanged",
        Fixed::AsBeforeTheMigration => "schema and every table as before the migration",
        Fixed::LiveRowsUnknown => {
            "cannot tell live rows apart: no preflight journal and no live marker in the spec"
        }
        Fixed::NoSourceRowsToSample => "no source rows to sample",
        Fixed::EverySampleLive => {
            "every sampled row was written by the live app (live_parity compares those)"
        }
        Fixed::AllPresent => "all present",
        Fixed::EveryMappedPointInPointInfo => "every mapped point in point_info",
        Fixed::ValuesWhereThereIsData => "values where the source or the live app has data",
        Fixed::NoSourceValueOfThisSystem => {
            "no migrated row: the spec carries no source value of this system (finer data replaces it, or there is none)"
        }
        Fixed::NoLiveRowsAtTimesOfThisMigration => {
            "no live rows of this system at times this migration answers for"
        }
        Fixed::NoBaseline => "no baseline: rehearse, or verify --baseline BACKUP.db.gz",
        Fixed::TableGone => "the table is gone",
        Fixed::CountersOutsideTargetsUnchanged => "counters outside the targets unchanged",
        Fixed::EveryStatementRuns => "every statement runs",
        Fixed::StatementDoesWhatItReads => "the statement does what it reads",
        Fixed::EveryForeignKeyFindsItsParent => {
            "every foreign key finds its parent (PRAGMA foreign_key_check)"
        }
        Fixed::RunnerRunsEveryStatement => "the runner runs every statement",
        Fixed::FailedScriptKeepsNothing => "a failed script leaves every table as before",
        Fixed::EveryTableAsBefore => "every table as before",
        Fixed::SecondRunChangesNothing => "a second run changes nothing",
        Fixed::SecondRunChangesNothingOrKeepsNothing => {
            "a second run changes nothing (or fails and keeps nothing)"
        }
        Fixed::NothingChanged => "nothing changed",
        Fixed::AsBeforeTheForwardScript => "schema and every table as before the forward script",
        Fixed::SameStateAsFirstRun => "the same state as the first forward run",
        Fixed::RecordedAsApplied => "recorded as applied: the tool skips it on its next run",
        Fixed::NoRollbackGiven => "no --rollback given",
        Fixed::RowsChangeOnlyInNamedTables => "rows change only in tables a statement names",
        Fixed::EveryObjectStaysUnlessDropped => {
            "every index, trigger and view is still there, unless a statement drops it"
        }
        Fixed::EveryViewAndTriggerCompiles => "every view and trigger still compiles",
        Fixed::EveryForeignKeyPointsAsBefore => {
            "every foreign key points to the table it pointed to, and that table exists"
        }
        Fixed::NoCounterGoesDown => "no AUTOINCREMENT counter goes down or vanishes",
        Fixed::EveryConstraintSurvives => {
            "every NOT NULL, UNIQUE, CHECK, foreign key and default survives"
        }
        Fixed::CopiedTableKeepsLayout => {
            "a table whose rows were copied keeps its column order and affinities"
        }
        Fixed::WholeCompositeKeyMatched => {
            "a match on one column of a composite key also matches the columns before it"
        }
        Fixed::NamedKeyValuesOnly => {
            "a statement that names key values changes rows of those values only"
        }
        Fixed::NoChangeOutsideScope => "no change (not in the declared scope)",
    }
}

fn cause(c: Cause) -> &'static str {
    match c {
        Cause::NoSourceRow => "live rows where the source has no row (nothing to migrate)",
        Cause::NothingLiveThen => "rows at instants the live app wrote nothing at",
        Cause::NotWrittenLive => "rows of a point the live app wrote nothing of in the window",
        Cause::NoLivePoints => {
            "rows of intervals in which the live app wrote no point row of the point"
        }
        Cause::LivePointsDiffer => {
            "rows whose live row is the roll-up of the live app's point rows (recomputed), which hold other samples than the source there"
        }
        Cause::Seam => {
            "seam rows: the live aggregator started inside the interval, its row holds only the latest samples"
        }
    }
}

fn noun(n: Noun) -> &'static str {
    match n {
        Noun::Rows => "rows",
        Noun::Violations => "violations",
        Noun::Problems => "problems",
        Noun::Differ => "differ",
        Noun::Match => "match",
        Noun::Decreases => "decreases",
        Noun::Moved => "moved",
        Noun::LeftBehind => "left behind",
        Noun::Resolved => "resolved",
        Noun::Missing => "missing",
        Noun::DistinctTimes => "distinct times",
        Noun::Off => "off",
        Noun::WithoutTheirPoint => "without their point",
        Noun::MigratedRowsAsTheSpecSays => "migrated rows as the spec says",
        Noun::MigratedRowsMatch => "migrated rows match",
        Noun::MigratedRowsWithValues => "migrated rows with values",
        Noun::MigratedRowsAllNull => "migrated rows, all NULL",
        Noun::Inserted => "inserted",
        Noun::Changed => "changed",
        Noun::RowsDiffer => "rows differ",
        Noun::MappedFieldsReadExistingColumns => "mapped fields read existing columns",
        Noun::RowsAsBefore => "rows, as before",
        Noun::RowsUnchanged => "rows, unchanged",
    }
}

fn counted(c: &Count) -> String {
    format!("{} {}", thousands(c.n as i64), noun(c.of))
}

pub fn fact(f: &Fact) -> String {
    match f {
        Fact::Nothing => String::new(),
        Fact::Counts { counts } => counts.iter().map(counted).collect::<Vec<_>>().join(", "),
        Fact::Fixed { what } => fixed(*what).into(),
        Fact::Span { first, last } => format!("{} → {}", opt_time(first), opt_time(last)),
        Fact::Coverage {
            first,
            last,
            missing,
            gaps,
        } => {
            let mut s = format!(
                "{} → {}, {missing} instants missing",
                opt_time(first),
                opt_time(last)
            );
            if let Some(g) = gaps {
                s.push_str(&format!(
                    ", {} source gaps > {}",
                    g.n,
                    length(&g.longer_than)
                ));
            }
            s
        }
        Fact::TimeConversion {
            multiply,
            bucket_width,
        } => match bucket_width {
            Some(w) => format!("bucket × {multiply} (buckets of {w} source units)"),
            None => format!("source time × {multiply}"),
        },
        Fact::Unmapped { rows, systems } => format!(
            "{} rows of systems {} and no mapping",
            thousands(*rows as i64),
            systems
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Fact::AccountedFor { columns_with_data } => {
            format!("{columns_with_data} columns with data, all accounted for")
        }
        Fact::LeftBehind {
            columns,
            duplicates,
        } => match duplicates {
            None => format!("{columns} left behind"),
            Some(d) => format!(
                "{columns} left behind, {} duplicate columns checked ({} rows differ)",
                d.checked,
                thousands(d.rows_differ as i64)
            ),
        },
        Fact::AlreadyPresent { rows } => format!(
            "no migrated row: the {} rows the spec makes were already present (written live)",
            thousands(*rows as i64)
        ),
        Fact::NothingCarried { point } => {
            format!("no migrated row: the source holds no value the spec carries for {point}")
        }
        Fact::Plausible { unit } => format!("{unit}, converted and plausible"),
        Fact::NeverDecrease { columns } => format!("{} never decrease", columns.join(", ")),
        Fact::ColumnsLacking { fields, table } => {
            format!("{fields} read columns {table} lacks (NULL)")
        }
        Fact::UniqueKey { table } => {
            format!("{table} with a unique key on (system, point, time)")
        }
        Fact::IndexesAsBefore { indexes } => {
            format!("{indexes} indexes as before the migration")
        }
        Fact::Indexes { names } => format!("{} indexes: {}", names.len(), names.join(", ")),
        Fact::PragmaOk { pragma } => format!("{pragma}: ok"),
        Fact::TableMessage { table, message } => format!("table {table}: {message}"),
        Fact::Message { text } => text.clone(),
        Fact::MigrationState { state, detail } => match detail {
            Some(d) => format!("{state}: {d}"),
            None => state.clone(),
        },
        Fact::QueryFailed { message } => format!("the query failed: {message}"),
        Fact::ExactRows { rows } => format!("exactly {} rows: {}", rows.len(), rows.join(", ")),
        Fact::Between { min, max } => match (min, max) {
            (Some(lo), Some(hi)) => format!("between {} and {}", number(*lo), number(*hi)),
            (Some(lo), None) => format!("at least {}", number(*lo)),
            (None, Some(hi)) => format!("at most {}", number(*hi)),
            (None, None) => "any number".into(),
        },
        Fact::Number { value } => number(*value),
        Fact::NotOneNumber { value, rows } => format!(
            "{}; a count check needs the query to return one number",
            match value {
                Some(v) => self::value(v),
                None => format!("{rows} rows"),
            }
        ),
        Fact::Parity { differ, explained } => {
            let mut s = format!("{} differ", thousands(*differ as i64));
            if !explained.is_empty() {
                let causes: Vec<String> = explained
                    .iter()
                    .map(|e| format!("{} {}", thousands(e.n as i64), cause(e.cause)))
                    .collect();
                s.push_str(&format!("; explained: {}", causes.join("; ")));
            }
            s
        }
        Fact::Window {
            rows,
            of,
            first,
            last,
        } => format!(
            "{} {} in {} → {}",
            thousands(*rows as i64),
            match of {
                WindowOf::SourceInstants => "source instants",
                WindowOf::IntervalsWithSourceRows => "intervals with source rows",
            },
            time(first),
            time(last)
        ),
        Fact::BeforeMigrations { now, before } => {
            format!("{} ({before} before the migrations)", fact(now))
        }
        Fact::Progress { last, rows } => format!(
            "last {}, {} rows",
            last.map_or("NULL".into(), |v| v.to_string()),
            rows.map_or("NULL".into(), thousands)
        ),
        Fact::ProgressBehind {
            last,
            rows,
            after,
            lacking,
        } => {
            let head = format!("last {last}, {} rows", thousands(*rows));
            if *lacking == 0 {
                format!(
                    "{head}; the {} source rows after it already have their target rows (the live app's dual-write)",
                    thousands(*after)
                )
            } else {
                format!(
                    "{head}; {} of the {} source rows after it lack target rows",
                    thousands(*lacking as i64),
                    thousands(*after)
                )
            }
        }
        Fact::NoTable { table } => format!("no {table} table"),
        Fact::RowsThatWereThere { rows } => format!(
            "the {} rows that were there, unchanged",
            thousands(*rows as i64)
        ),
        Fact::RowChanges {
            inserted,
            updated,
            deleted,
        } => format!("{inserted} inserted, {updated} updated, {deleted} deleted"),
        Fact::Changes { n, of, kept } => format!(
            "{}{}",
            plural(
                *n,
                match of {
                    ChangeUnit::Change => "change",
                    ChangeUnit::Difference => "difference",
                }
            ),
            match kept {
                None => "",
                Some(KeptBy::FailedRun) => " stayed",
                Some(KeptBy::FailedSecondRun) => " kept by a second run that fails",
            }
        ),
        Fact::ShellRows { rows } => rows.join("; "),
        Fact::QueryFails { message } => format!("the query fails: {message}"),
        Fact::SqliteError { message } => message.clone(),
        Fact::RunnerNote { text } => text.clone(),
        Fact::Orphans { rows } => format!("{} pointing to a missing parent", plural(*rows, "row")),
        Fact::Refused { why } => format!("refused: {why}"),
        Fact::RefusesTwice { message } => format!("refuses to run twice: {message}"),
        Fact::Ran {
            statements,
            rows,
            tables,
            schema_objects,
            notes,
        } => {
            let per_table = tables_changed(tables, *schema_objects);
            format!(
                "{} run, {} changed{}{}",
                plural(*statements, "statement"),
                plural(*rows, "row"),
                if per_table.is_empty() {
                    String::new()
                } else {
                    format!(": {per_table}")
                },
                if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join("; "))
                }
            )
        }
        Fact::Stayed {
            changes,
            tables,
            schema_objects,
        } => format!(
            "{} stayed: {}",
            plural(*changes, "change"),
            tables_changed(tables, *schema_objects)
        ),
        Fact::NeverRuns {
            tool,
            statement,
            applied,
        } => format!(
            "{tool} never runs this statement: {statement}{}",
            if *applied {
                " (the migration is applied: it never ran)"
            } else {
                ""
            }
        ),
        Fact::Rerun { tool, decision } => match decision {
            RerunDecision::Recorded { table } => {
                format!("recorded in {table}: {tool} skips it (not pending)")
            }
            RerunDecision::RunsAgain { state, detail } => format!(
                "{tool} would run it again: {state}{}",
                detail.as_ref().map_or(String::new(), |d| format!(" ({d})"))
            ),
            RerunDecision::NotListed => format!("{tool} does not list it"),
        },
        Fact::Allowed { found, key, names } => {
            format!("{} (allowed: {key} names {names})", fact(found))
        }
        Fact::Collateral {
            table,
            deleted,
            updated,
            spread: sp,
            causes,
        } => {
            let mut what = Vec::new();
            if *deleted > 0 {
                what.push(format!("{} deleted", thousands(*deleted as i64)));
            }
            if *updated > 0 {
                what.push(format!("{} updated", thousands(*updated as i64)));
            }
            let causes = if causes.is_empty() {
                on_its_own(table)
            } else {
                causes
                    .iter()
                    .map(collateral_cause)
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            format!(
                "{table}: {}{}; no statement names {table}: {causes}",
                what.join(", "),
                sp.as_ref()
                    .filter(|s| !s.values.is_empty())
                    .map_or(String::new(), |s| format!(" in {}", spread(s)))
            )
        }
        Fact::KeySpread {
            rows,
            spread: sp,
            lines,
            column,
            named,
        } => {
            let one = lines.len() == 1;
            format!(
                "{} changed in {}; the statement{} at line {} name{} {column} {} only",
                plural(*rows, "row"),
                spread(sp),
                if one { "" } else { "s" },
                joined(lines),
                if one { "s" } else { "" },
                named.join(", ")
            )
        }
        Fact::Vanished {
            what: kind,
            name,
            table,
            how,
        } => match how {
            Vanish::Moved { to, line } => format!(
                "{kind} {name} is on {to} now: {}; the new {table} has no such {kind}",
                match line {
                    Some(l) => format!("line {l} renamed {table} and took it along"),
                    None => format!("{table} was renamed"),
                }
            ),
            Vanish::DroppedWithTable { line } => format!(
                "{kind} {name} (on {table}) is gone; line {line}: DROP TABLE {table} dropped it with the table, and no statement created it again"
            ),
            Vanish::NotDropped => {
                format!("{kind} {name} (on {table}) is gone; no statement of the script drops it")
            }
        },
        Fact::NoLongerCompiles {
            what: kind,
            name,
            message,
        } => format!("{kind} {name} no longer compiles: {message}"),
        Fact::DanglingReference {
            table,
            columns,
            parent,
        } => {
            let cols = columns.join(", ");
            format!(
                "{table}({cols}) → {parent}: the table it references does not exist; every insert or update of {table}.{cols} will fail"
            )
        }
        Fact::Repointed {
            table,
            columns,
            parent,
            was,
        } => format!(
            "{table}({}) → {parent}: it referenced {was} before the script, and {was} exists again; SQLite re-pointed it when the script renamed {was}",
            columns.join(", ")
        ),
        Fact::Rewritten {
            what: kind,
            name,
            was,
            now,
        } => format!(
            "{kind} {name} read {was} before the script and reads {} now, while {was} exists again; SQLite rewrote it when the script renamed {was}",
            now.join(", ")
        ),
        Fact::CounterDown { table, from, to } => match to {
            Some(to) => format!(
                "the AUTOINCREMENT counter of {table} went from {from} down to {to}: ids {} to {from} can be used again",
                to + 1
            ),
            None => format!(
                "the AUTOINCREMENT counter of {table} ({from}) is gone: new rows start after the largest id left, and ids up to {from} can be used again"
            ),
        },
        Fact::ConstraintsLost {
            object,
            table,
            lost,
        } => format!(
            "{object} lost {} in the rebuild of {table}",
            lost.iter().map(constraint).collect::<Vec<_>>().join(", ")
        ),
        Fact::Layout {
            table,
            rows,
            order,
            affinities,
        } => {
            let mut what = Vec::new();
            let mut notes = Vec::new();
            if let Some(o) = order {
                let head = format!(
                    "column order ({}) → ({})",
                    o.before.join(", "),
                    o.after.join(", ")
                );
                match o.copied {
                    Copied::ValuesMoved { rows } => what.push(format!(
                        "{head}; values moved: {} of its rows differ column by column",
                        plural(rows, "row")
                    )),
                    Copied::ByPosition => {
                        what.push(format!("{head}, and the script copies rows by position"))
                    }
                    Copied::ByName => notes.push(format!(
                        "{head}; its rows copied by name, every value in its column (an INSERT without a column list, or SELECT *, would now see the new order)"
                    )),
                }
            }
            let typed = |t: &str| {
                if t.is_empty() {
                    "no type".to_string()
                } else {
                    t.to_string()
                }
            };
            what.extend(affinities.iter().map(|a| {
                format!(
                    "{}: {} affinity ({}) → {} ({})",
                    a.column,
                    a.from,
                    typed(&a.from_type),
                    a.to,
                    typed(&a.to_type)
                )
            }));
            what.extend(notes);
            format!(
                "{table} rebuilt with its {} copied: {}",
                plural(*rows, "row"),
                what.join("; ")
            )
        }
        Fact::CompositeKey {
            line,
            other,
            how,
            table,
            column,
            key,
            ignored,
        } => format!(
            "line {line}: {} matches on {column} alone; {table}'s key is ({}), and {} is neither correlated nor constrained on both sides: rows of other {} with the same {column} match too",
            match how {
                KeyMatch::Equals => format!("{other} = {table}.{column}"),
                KeyMatch::InSelect => format!("{other} IN (SELECT {column} FROM {table} …)"),
            },
            key.join(", "),
            ignored.join(", "),
            ignored
                .iter()
                .map(|c| match c.strip_suffix("_id") {
                    Some(stem) if !stem.is_empty() => format!("{stem}s"),
                    _ => c.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Fact::NoScopeDeclared { hint } => format!("no scope declared ({})", scope_hint(hint)),
        Fact::AtMost {
            inserted,
            updated,
            deleted,
            schema,
        } => format!(
            "at most {inserted} inserted, {updated} updated, {deleted} deleted{}",
            match schema {
                SchemaAllowed::No => "",
                SchemaAllowed::Any => ", schema may change",
                SchemaAllowed::Named => ", the schema changes [schema] names",
            }
        ),
        Fact::TableChanged {
            inserted,
            updated,
            deleted,
            schema,
            spread: sp,
            judged,
        } => format!(
            "{inserted} inserted, {updated} updated, {deleted} deleted{}{}{}",
            if *schema { ", schema changed" } else { "" },
            sp.as_ref()
                .filter(|s| !s.values.is_empty() && inserted + updated + deleted > 0)
                .map_or(String::new(), |s| format!("; in {}", spread(s))),
            if *judged { "" } else { "; not judged" }
        ),
    }
}

/// "give --expect", "give --expect-dir with 0002_points.toml", "no expect/0002_points.toml"
pub fn scope_hint(h: &ScopeHint) -> String {
    match h {
        ScopeHint::GiveExpect => "give --expect".into(),
        ScopeHint::GiveExpectDir { file } => format!("give --expect-dir with {file}"),
        ScopeHint::NoFile { path } => format!("no {path}"),
    }
}

/// Numbers joined with `, `.
fn joined(ns: &[u64]) -> String {
    ns.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// "no statement of the script names comments; SQLite changed it on its own"
fn on_its_own(table: &str) -> String {
    format!("no statement of the script names {table}; SQLite changed it on its own")
}

/// "line 3 (DELETE FROM posts) deletes from comments through the foreign key comments(post_id)
/// → posts ON DELETE CASCADE"
pub fn collateral_cause(c: &CollateralCause) -> String {
    let mut by = match &c.through {
        Through::Trigger { name } => format!("trigger {name}"),
        Through::ForeignKey {
            child,
            columns,
            parent,
            event,
            action,
        } => format!(
            "the foreign key {child}({}) → {parent} ON {event} {action}",
            columns.join(", ")
        ),
        Through::ForeignKeyAction => "a foreign key action".into(),
    };
    if let Some(p) = &c.drop_table {
        by.push_str(&format!(
            " (foreign keys were on: DROP TABLE deletes every row of {p} first)"
        ));
    }
    format!(
        "line {} ({}) {} {} through {by}",
        c.line,
        c.statement.as_deref().unwrap_or("the statement"),
        match c.op {
            RowOp::Update => "updates",
            RowOp::Delete => "deletes from",
        },
        c.table
    )
}

/// "NOT NULL", "DEFAULT 0", "PRIMARY KEY (a, b)", "FOREIGN KEY (a) REFERENCES p"
fn constraint(c: &Constraint) -> String {
    match c {
        Constraint::NotNull => "NOT NULL".into(),
        Constraint::Default { value } => format!("DEFAULT {value}"),
        Constraint::Check { expr } => format!("CHECK ({expr})"),
        Constraint::PrimaryKey { columns } => format!("PRIMARY KEY ({})", columns.join(", ")),
        Constraint::Unique { columns } => format!("UNIQUE ({})", columns.join(", ")),
        Constraint::ForeignKey { columns, parent } => {
            format!("FOREIGN KEY ({}) REFERENCES {parent}", columns.join(", "))
        }
    }
}

/// "1 row", "2 rows", "1 query", "3 queries".
pub fn plural(n: u64, word: &str) -> String {
    let many = if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{word}s")
    };
    format!(
        "{} {}",
        thousands(n as i64),
        if n == 1 { word.to_string() } else { many }
    )
}

/// Lines as ranges: `3-5, 9`.
pub fn line_ranges(lines: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut j = i;
        while j + 1 < lines.len() && lines[j + 1] <= lines[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            lines[i].to_string()
        } else {
            format!("{}-{}", lines[i], lines[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

/// "systems 1, 2, 3" (or "system 6") for `system_id`, "kind a, b" for `kind`.
pub fn spread(s: &SpreadShown) -> String {
    let one = s.total == 1;
    let label = match s.column.strip_suffix("_id") {
        Some(stem) if !stem.is_empty() && one => stem.to_string(),
        Some(stem) if !stem.is_empty() => format!("{stem}s"),
        _ => s.column.clone(),
    };
    let mut values: Vec<&str> = s.values.iter().map(String::as_str).collect();
    let tail = if s.total > values.len() as u64 {
        values.push("…");
        format!(" ({} in all)", s.total)
    } else {
        String::new()
    };
    format!("{label} {}{tail}", values.join(", "))
}

/// Rows changed, table by table, and the schema objects changed: "comments 3 deleted, posts 1
/// updated; schema: 1 object changed".
pub fn tables_changed(tables: &[TableRows], schema_objects: u64) -> String {
    let mut parts = Vec::new();
    for t in tables {
        let mut what = Vec::new();
        for (n, w) in [
            (t.inserted, "inserted"),
            (t.updated, "updated"),
            (t.deleted, "deleted"),
        ] {
            if n > 0 {
                what.push(format!("{} {w}", thousands(n as i64)));
            }
        }
        if t.columns_changed {
            what.push("columns changed".into());
        }
        parts.push(format!(
            "{} {}{}",
            t.table,
            what.join(", "),
            t.spread
                .as_ref()
                .map_or(String::new(), |s| format!(" in {}", spread(s)))
        ));
    }
    let mut text = parts.join("; ");
    if schema_objects > 0 {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&format!(
            "schema: {} changed",
            plural(schema_objects, "object")
        ));
    }
    text
}

/// Columns and their values as the sqlite3 shell prints them: `k "q", n 2`.
fn shown(cols: &[(String, String)], sep: &str, between: &str) -> String {
    cols.iter()
        .map(|(c, v)| format!("{c}{sep}{v}"))
        .collect::<Vec<_>>()
        .join(between)
}

/// A row key, and the columns shown beside it: `post_id 1 (tag "x")`.
fn row_key(key: &[(String, String)], context: &[(String, String)]) -> String {
    let mut t = shown(key, " ", ", ");
    if !context.is_empty() {
        t.push_str(&format!(" ({})", shown(context, " ", ", ")));
    }
    t
}

/// One example of a table's differences: `updated k "q": v "2" → "3"`.
pub fn row_example(e: &RowExample) -> String {
    match e {
        RowExample::Row {
            change,
            key,
            context,
            columns,
        } => {
            let what = match change {
                RowChange::Inserted => "inserted",
                RowChange::Deleted => "deleted",
            };
            let columns = shown(columns, "=", " ");
            match key {
                None => format!("{what} row: {columns}"),
                Some(k) => format!("{what} {}: {columns}", row_key(k, context)),
            }
        }
        RowExample::Updated {
            key,
            context,
            changes,
        } => format!(
            "updated {}: {}",
            row_key(key, context),
            changes
                .iter()
                .map(|(c, a, b)| format!("{c} {a} → {b}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        RowExample::TableGone { table, rows } => format!("table {table} is gone ({rows} rows)"),
        RowExample::TableNew { table, rows } => format!("table {table} is new ({rows} rows)"),
    }
}

/// A schema object that differs: `index posts_user (on posts) is gone`.
pub fn schema_change(c: &SchemaChange) -> String {
    let head = format!("{} {} (on {})", c.kind, c.name, c.table);
    match c.change.as_str() {
        "new" => format!("{head} is new"),
        "gone" => format!("{head} is gone"),
        _ if c.diff.is_empty() => format!("{head} changed"),
        _ => format!("{head} changed: {}", c.diff.join(" ")),
    }
}

/// One side of a live-parity example: its columns with a value, or `no row`.
fn parity_side(side: &Option<Vec<(String, Value)>>) -> String {
    match side {
        None => "no row".into(),
        Some(vs) => vs
            .iter()
            .map(|(c, v)| format!("{c} {}", value(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub fn example(e: &Example) -> String {
    match e {
        Example::Missing { at } => format!("missing: {}", time(at)),
        Example::Extra { at, raw } => format!("extra: {} ({})", time(at), value(raw)),
        Example::Differs { at, diffs } => format!(
            "{}: {}",
            time(at),
            diffs
                .iter()
                .map(|d| format!(
                    "{} {} (expected {})",
                    d.column,
                    value(&d.found),
                    value(&d.expected)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Example::NoSourceRow { at, in_bucket } => format!(
            "{}: no source row {}",
            time(at),
            if *in_bucket {
                "in this bucket"
            } else {
                "at this time"
            }
        ),
        Example::BadTime { at, why } => match why {
            TimeCause::Implausible { unit } => {
                format!(
                    "{}: not a plausible {unit} (a time left unconverted?)",
                    at.t
                )
            }
            TimeCause::NotWhole { bucket } => format!(
                "{}: not a whole {}",
                at.t,
                if *bucket {
                    "bucket"
                } else {
                    "source time unit"
                }
            ),
            TimeCause::NoSourceRow => {
                format!("{} ({}): no source row at this time", at.t, time(at))
            }
        },
        Example::UncataloguedPoint {
            system,
            point,
            rows,
            point_of,
        } => {
            let rows = thousands(*rows as i64);
            if point_of.is_empty() {
                format!("system {system}, point {point}: {rows} rows; no system has point {point}")
            } else {
                let list: Vec<String> = point_of.iter().map(|s| s.to_string()).collect();
                format!(
                    "system {system}, point {point}: {rows} rows; system {system} has no point {point}, it is a point of system {}",
                    list.join(", ")
                )
            }
        }
        Example::LeftBehind {
            table,
            column,
            rows,
        } => format!(
            "{table}.{column}: {} rows with data, neither carried nor ignored",
            thousands(*rows as i64)
        ),
        Example::Duplicate {
            table,
            column,
            at,
            found,
            repeats,
            expected,
        } => format!(
            "{table}.{column} at {}: {}, but it repeats {repeats} → {}",
            value(at),
            value(found),
            value(expected)
        ),
        Example::SpecReadsMissing { table, columns } => format!(
            "the spec reads {table}.{}, which does not exist",
            columns.join(", ")
        ),
        Example::AllNull {
            migrated,
            source_values,
            live_values,
            point,
        } => format!(
            "{} migrated rows, all NULL; the source holds {} values{} for {point}",
            thousands(*migrated as i64),
            thousands(*source_values as i64),
            if *live_values {
                ", and the live app wrote values"
            } else {
                ""
            }
        ),
        Example::LiveOnly { point } => {
            format!("the spec makes no row of {point} while the live app wrote values for it")
        }
        Example::Conversion {
            field,
            table,
            column,
            from,
            to,
            factor,
        } => match factor {
            None => format!(
                "{field} ← {table}.{column} is {from}, the point is {to}: the spec's [units] declare no conversion"
            ),
            Some(f) => format!(
                "{field} ← {table}.{column} is {from}, the point is {to}: the spec multiplies by {}, the unit needs {}",
                f.spec, f.unit
            ),
        },
        Example::TimeConversion {
            table,
            column,
            from,
            to,
            factor,
        } => match factor {
            Some(f) => format!(
                "{table}.{column} is {from}, the target time is {to}: the spec multiplies by {}, the units need {}",
                f.spec, f.unit
            ),
            None => format!(
                "the spec declares no conversion from {from} to {to} (time of {table}.{column})"
            ),
        },
        Example::Implausible { at, values, unit } => format!(
            "{}: {} (not a plausible {unit}, or not rounded as the spec rounds)",
            time(at),
            values
                .iter()
                .map(|(c, v)| format!("{c} {}", value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Example::Decrease {
            at,
            column,
            from,
            to,
            seam,
        } => format!(
            "{}: {column} {} → {}{}",
            time(at),
            value(from),
            value(to),
            if *seam {
                " (at the seam from migrated to live rows)"
            } else {
                ""
            }
        ),
        Example::NoColumn {
            vendor,
            point,
            field,
            table,
            column,
        } => format!("vendor {vendor} · point {point}: {field} ← {table}.{column} does not exist"),
        Example::NoPoint {
            system,
            vendor,
            point,
        } => format!("system {system} ({vendor}): no point {point}"),
        Example::NoUniqueKey { columns } => {
            format!("no UNIQUE key on ({})", columns.join(", "))
        }
        Example::Index { name, change } => match change {
            IndexChange::Gone => format!("index {name} is gone"),
            IndexChange::Changed { sql } => format!("index {name} changed: {sql}"),
            IndexChange::New => format!("index {name} is new"),
        },
        Example::NoParent {
            table,
            rowid,
            parent,
        } => format!(
            "{} rowid {} has no parent in {}",
            value(table),
            value(rowid),
            value(parent)
        ),
        Example::RowDiff { got, expected } => match (got, expected) {
            (Some(g), Some(w)) => format!("got {g:?}, expected {w:?}"),
            (Some(g), None) => format!("got {g:?}, not expected"),
            (None, Some(w)) => format!("missing {w:?}"),
            (None, None) => String::new(),
        },
        Example::ShellRow { row } => row.clone(),
        Example::Sample {
            verdict,
            at,
            source,
            spec,
            target,
        } => {
            let head = format!(
                "{} · system {} · {} ({}) @ {}",
                at.migration,
                at.system,
                at.point.name,
                at.point.id,
                time(&at.at)
            );
            let verdict = match verdict {
                Verdict::Ok => "ok",
                Verdict::Mismatch => "MISMATCH",
                Verdict::Live => "live",
            };
            let Some(source) = source else {
                return format!("{verdict} {head}: no sample of this point → spec no row");
            };
            let source = match source {
                SampleSource::Samples {
                    table,
                    columns,
                    samples,
                } => format!("samples {table}.{} = {samples}", columns.join("/")),
                SampleSource::Row { table, values } => values
                    .iter()
                    .map(|(c, v)| format!("{table}.{c} = {}", value(v)))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let side = |s: &Option<Vec<(String, Value)>>| match s {
                Some(vs) => vs
                    .iter()
                    .map(|(c, v)| format!("{c} {}", value(v)))
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "no row".into(),
            };
            let spec = side(spec);
            let mut target = side(target);
            if verdict == "live" {
                target.push_str(" (a live row)");
            }
            format!("{verdict} {head}: {source} → spec {spec}; target {target}")
        }
        Example::Edge {
            edge,
            source,
            target,
        } => format!(
            "{}: source {}, target {}",
            match edge {
                Edge::First => "first",
                Edge::Last => "last",
            },
            opt_time(source),
            opt_time(target)
        ),
        Example::TargetHasNothing { at } => {
            format!("target has nothing at {} (the source has a row)", time(at))
        }
        Example::SourceGap {
            after,
            gap,
            cadence,
        } => format!(
            "source gap of {} after {} (a row is expected every {}; also a gap in the target)",
            length(gap),
            time(after),
            length(cadence)
        ),
        Example::NoTargetRow {
            table,
            column,
            value: v,
            target,
        } => format!("{table}.{column} = {}: no target row in {target}", value(v)),
        Example::Counter { table, from, to } => format!("{table}: {from} → {to}"),
        Example::Row { table, row } => match table {
            Some(t) => format!("{t}: {}", row_example(row)),
            None => row_example(row),
        },
        Example::Schema { change } => schema_change(change),
        Example::SchemaChanged => "the schema changed".into(),
        Example::TableChanged { table, change } => format!(
            "table {table} {}",
            match change {
                TableChange::Appeared => "appeared",
                TableChange::Gone => "is gone",
                TableChange::Changed => "changed",
            }
        ),
        Example::InsertedAgain { rows } => format!(
            "{} rows inserted by the second run",
            thousands(*rows as i64)
        ),
        Example::LiveParity {
            at,
            live,
            spec,
            why,
        } => {
            let spec = match (spec, why) {
                (None, Some(ParityWhy::MapsNothing)) => {
                    "nothing (the spec does not map this point)".into()
                }
                (Some(vs), _) if vs.is_empty() => "a row of NULLs".into(),
                _ => parity_side(spec),
            };
            let why = match why {
                None | Some(ParityWhy::MapsNothing) => String::new(),
                Some(ParityWhy::NotMapped) => " (the spec does not map this point)".into(),
                Some(ParityWhy::Seam { held, of }) => format!(
                    " (seam: the live row holds the latest {held} of {of} samples, recomputed equal)"
                ),
                Some(ParityWhy::LivePoints { rows }) => format!(
                    " (the live row is the roll-up of the {rows} live point rows of this interval, recomputed equal)"
                ),
            };
            format!("{}: live {}; spec {spec}{why}", time(at), parity_side(live))
        }
        Example::ShellRows { side, rows } => match side {
            RowsSide::Expected => format!("expected: {}", rows.join("; ")),
            RowsSide::Got => format!("got:      {}", rows.join("; ")),
        },
        Example::Failed {
            file,
            line,
            message,
            records,
        } => format!(
            "{file}:{line}: {message}{}",
            records.as_ref().map_or(String::new(), |id| format!(
                "; the file records itself in migrations as '{id}'"
            ))
        ),
        Example::Statement { sql } => format!("statement: {sql}"),
        Example::Kept {
            kept,
            rolled_back,
            failed,
            second_run,
        } => {
            let words = if kept.is_empty() {
                "nothing of the script was kept".to_string()
            } else if rolled_back.is_empty() && !failed {
                "every statement was kept".to_string()
            } else if rolled_back.is_empty() {
                format!(
                    "kept: the statements at lines {} (every one that ran without error)",
                    line_ranges(kept)
                )
            } else {
                format!(
                    "kept: the statements at lines {}; rolled back: lines {}",
                    line_ranges(kept),
                    line_ranges(rolled_back)
                )
            };
            if *second_run {
                format!("second run: {words}")
            } else {
                words
            }
        }
        Example::Orphan {
            table,
            rowid,
            parent,
        } => format!(
            "{table} rowid {} → no row in {parent}",
            rowid.map_or("?".into(), |r| r.to_string())
        ),
        Example::Refused { file, line, why } => format!("{file}:{line}: refused: {why}"),
        Example::NeverRuns {
            file,
            line,
            tool,
            statement,
        } => format!("{file}:{line}: {tool} never runs this statement: {statement}"),
        Example::Breakpoint { marker } => {
            format!("put `{marker}` before it, or give it a file of its own")
        }
        Example::RunnerNote { text } => text.clone(),
        Example::LiveRowNoSource { at } => format!(
            "{}: live row, no source row at this instant (nothing to migrate)",
            time(at)
        ),
        Example::Overwritten {
            at,
            held,
            after,
            deploy,
        } => format!(
            "{}: the first live row holds {held} samples, and only {after} came after the live app's first raw row ({}): it was overwritten",
            time(at),
            time(deploy)
        ),
        Example::Collateral { cause } => collateral_cause(cause),
        Example::OnItsOwn { table } => on_its_own(table),
        Example::Filters {
            lines,
            column,
            named,
        } => format!(
            "line {} filters {column} on {} only",
            joined(lines),
            named.join(", ")
        ),
        Example::KeyValue {
            column,
            value,
            updated,
            deleted,
        } => {
            let mut what = Vec::new();
            for (n, w) in [(updated, "updated"), (deleted, "deleted")] {
                if *n > 0 {
                    what.push(format!("{} {w}", thousands(*n as i64)));
                }
            }
            format!("{column} {value}: {}", what.join(", "))
        }
        Example::Before { sql } => format!("before: {sql}"),
        Example::After { sql } => format!("after:  {sql}"),
        Example::Definition { what: kind, sql } => format!("{kind}: {sql}"),
        Example::DeclareDropped { what: kind } => format!(
            "declare it under [schema] {}.dropped if the script means it",
            crate::hazards::kinds(kind)
        ),
        Example::NoTableAfter {
            table,
            columns,
            parent,
        } => format!(
            "{table}({}) → {parent}: no table {parent} after the script",
            columns.join(", ")
        ),
        Example::Renamed { from, to, line } => match line {
            Some(l) => format!(
                "line {l}: ALTER TABLE {from} RENAME made SQLite rewrite the reference to {to}"
            ),
            None => format!("it referenced {from} before the script"),
        },
        Example::Drops { line, table } => format!("line {line} drops {table}"),
        Example::LegacyAlterTable => "with PRAGMA foreign_keys=OFF and PRAGMA legacy_alter_table=ON before it, a rename keeps other tables' REFERENCES as written".into(),
        Example::Excerpt { sql } => sql.clone(),
        Example::Sequence { table, from, to } => match to {
            Some(to) => format!("sqlite_sequence: name {table:?}: seq {from} → {to}"),
            None => format!("sqlite_sequence: name {table:?} (seq {from}) deleted"),
        },
        Example::ByPosition { file, line, sql } => {
            format!("{file}:{line}: copies by position: {sql}")
        }
        Example::KeyMatchedOn {
            file,
            line,
            table,
            key,
            column,
            ignored,
        } => format!(
            "{file}:{line}: the key ({}) of {table} is matched on {column} only, ignoring {}",
            key.join(", "),
            ignored.join(", ")
        ),
        Example::MatchWholeKey {
            table,
            column,
            other,
            ignored,
            counterparts,
        } => {
            let last = |c: &str| c.rsplit('.').next().unwrap_or_default().to_string();
            let ignored_list = ignored.join(", ");
            format!(
                "match the whole key: ({}, {}) IN (SELECT {ignored_list}, {column} FROM {table} …), or {}",
                counterparts
                    .iter()
                    .map(|c| last(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                last(other),
                if other.split('.').next() == Some(table.as_str()) {
                    format!("filter {ignored_list} on the rows changed as well")
                } else {
                    format!(
                        "add {}",
                        ignored
                            .iter()
                            .zip(counterparts)
                            .map(|(i, c)| format!("{table}.{i} = {c}"))
                            .collect::<Vec<_>>()
                            .join(" AND ")
                    )
                }
            )
        }
        Example::ObjectChange {
            what: kind,
            name,
            table,
            change,
            diff,
        } => {
            let head = if kind == "table" || kind == "column" {
                format!("{kind} {name}")
            } else {
                format!("{kind} {name} (on {table})")
            };
            match change {
                ObjectChangeKind::Added => format!("{head} is new"),
                ObjectChangeKind::Dropped => format!("{head} is gone"),
                ObjectChangeKind::Changed if diff.is_empty() => format!("{head} changed"),
                ObjectChangeKind::Changed => format!("{head} changed: {}", diff.join(" ")),
            }
        }
    }
}

impl CheckResult {
    /// The scope in words.
    pub fn scope_text(&self) -> String {
        scope(&self.scope)
    }

    /// What was expected, in words.
    pub fn expected_text(&self) -> String {
        fact(&self.expected)
    }

    /// What was found, in words.
    pub fn found_text(&self) -> String {
        fact(&self.found)
    }

    /// The examples in words.
    pub fn example_texts(&self) -> Vec<String> {
        self.examples.iter().map(example).collect()
    }
}

impl Example {
    /// The example in words.
    pub fn text(&self) -> String {
        example(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AffinityChange, ColumnOrder};

    fn shown(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_diff_line_names_the_row_by_key_or_by_content() {
        let by_key = RowExample::Row {
            change: RowChange::Deleted,
            key: Some(shown(&[("system_id", "5"), ("id", "1")])),
            context: shown(&[("origin_sub_id", "\"solarW\"")]),
            columns: shown(&[("name", "\"a\""), ("x", "1.0")]),
        };
        assert_eq!(
            row_example(&by_key),
            "deleted system_id 5, id 1 (origin_sub_id \"solarW\"): name=\"a\" x=1.0"
        );
        let by_content = RowExample::Row {
            change: RowChange::Inserted,
            key: None,
            context: Vec::new(),
            columns: shown(&[("post_id", "1"), ("tag", "\"x\"")]),
        };
        assert_eq!(
            row_example(&by_content),
            "inserted row: post_id=1 tag=\"x\""
        );
        let updated = RowExample::Updated {
            key: shown(&[("k", "\"q\"")]),
            context: Vec::new(),
            changes: vec![("v".into(), "\"2\"".into(), "\"3\"".into())],
        };
        assert_eq!(
            example(&Example::Row {
                table: Some("kv".into()),
                row: updated
            }),
            "kv: updated k \"q\": v \"2\" → \"3\""
        );
    }

    #[test]
    fn rows_changed_name_tables_spread_and_schema() {
        let t = |table: &str, ins: u64, upd: u64, spread: Option<SpreadShown>| TableRows {
            table: table.into(),
            inserted: ins,
            updated: upd,
            deleted: 0,
            columns_changed: false,
            spread,
        };
        let one = SpreadShown {
            column: "system_id".into(),
            values: vec!["6".into()],
            total: 1,
        };
        let many = SpreadShown {
            column: "kind".into(),
            values: (1..=8).map(|i| i.to_string()).collect(),
            total: 12,
        };
        assert_eq!(
            tables_changed(&[t("a", 1200, 0, Some(one)), t("b", 0, 1, Some(many))], 2),
            "a 1,200 inserted in system 6; b 1 updated in kind 1, 2, 3, 4, 5, 6, 7, 8, … (12 in all); schema: 2 objects changed"
        );
        assert_eq!(
            fact(&Fact::Ran {
                statements: 1,
                rows: 0,
                tables: Vec::new(),
                schema_objects: 0,
                notes: vec!["a note".into()],
            }),
            "1 statement run, 0 rows changed (a note)"
        );
    }

    #[test]
    fn kept_lines_read_as_ranges() {
        let kept = |kept: Vec<u64>, rolled_back: Vec<u64>, failed: bool| {
            example(&Example::Kept {
                kept,
                rolled_back,
                failed,
                second_run: false,
            })
        };
        assert_eq!(
            kept(vec![], vec![3], true),
            "nothing of the script was kept"
        );
        assert_eq!(kept(vec![1, 2], vec![], false), "every statement was kept");
        assert_eq!(
            kept(vec![1, 2, 3, 7], vec![], true),
            "kept: the statements at lines 1-3, 7 (every one that ran without error)"
        );
        assert_eq!(
            kept(vec![1], vec![4, 5], true),
            "kept: the statements at lines 1; rolled back: lines 4-5"
        );
    }

    #[test]
    fn a_live_parity_example_shows_both_sides_and_why() {
        let at = Time::new(1_762_390_000_000, 1000);
        let row = |v: i64| Some(vec![("value".to_string(), Value::Integer(v))]);
        let e = |live, spec, why| {
            example(&Example::LiveParity {
                at,
                live,
                spec,
                why,
            })
        };
        assert_eq!(
            e(row(1), row(2), None),
            "2025-11-06T00:46:40Z: live value 1; spec value 2"
        );
        assert_eq!(
            e(row(1), Some(Vec::new()), None),
            "2025-11-06T00:46:40Z: live value 1; spec a row of NULLs"
        );
        assert_eq!(
            e(row(1), None, Some(ParityWhy::MapsNothing)),
            "2025-11-06T00:46:40Z: live value 1; spec nothing (the spec does not map this point)"
        );
        assert_eq!(
            e(row(1), None, Some(ParityWhy::NotMapped)),
            "2025-11-06T00:46:40Z: live value 1; spec no row (the spec does not map this point)"
        );
        assert_eq!(
            e(None, row(2), Some(ParityWhy::Seam { held: 3, of: 5 })),
            "2025-11-06T00:46:40Z: live no row; spec value 2 (seam: the live row holds the latest 3 of 5 samples, recomputed equal)"
        );
    }

    #[test]
    fn changes_count_in_the_singular_and_say_why_they_stayed() {
        let f = |n, of, kept| fact(&Fact::Changes { n, of, kept });
        assert_eq!(
            f(1, ChangeUnit::Change, Some(KeptBy::FailedRun)),
            "1 change stayed"
        );
        assert_eq!(
            f(2, ChangeUnit::Change, Some(KeptBy::FailedSecondRun)),
            "2 changes kept by a second run that fails"
        );
        assert_eq!(f(3, ChangeUnit::Difference, None), "3 differences");
        assert_eq!(
            fact(&Fact::Progress {
                last: None,
                rows: Some(1234)
            }),
            "last NULL, 1,234 rows"
        );
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn collateral_says_how_each_change_came_and_when_sqlite_did_it_alone() {
        let cause = |through, drop_table: Option<&str>| CollateralCause {
            table: "comments".into(),
            line: 3,
            statement: Some("DROP TABLE posts".into()),
            op: RowOp::Delete,
            through,
            drop_table: drop_table.map(Into::into),
        };
        let fk = Through::ForeignKey {
            child: "comments".into(),
            columns: strings(&["post_id"]),
            parent: "posts".into(),
            event: "DELETE".into(),
            action: "CASCADE".into(),
        };
        let f = Fact::Collateral {
            table: "comments".into(),
            deleted: 1200,
            updated: 1,
            spread: Some(SpreadShown {
                column: "system_id".into(),
                values: strings(&["1", "2"]),
                total: 2,
            }),
            causes: vec![
                cause(fk, Some("posts")),
                cause(Through::Trigger { name: "trg".into() }, None),
            ],
        };
        assert_eq!(
            fact(&f),
            "comments: 1,200 deleted, 1 updated in systems 1, 2; no statement names comments: \
             line 3 (DROP TABLE posts) deletes from comments through the foreign key \
             comments(post_id) → posts ON DELETE CASCADE (foreign keys were on: DROP TABLE \
             deletes every row of posts first); line 3 (DROP TABLE posts) deletes from comments \
             through trigger trg"
        );
        let alone = Fact::Collateral {
            table: "t".into(),
            deleted: 0,
            updated: 2,
            spread: None,
            causes: vec![],
        };
        assert_eq!(
            fact(&alone),
            "t: 2 updated; no statement names t: no statement of the script names t; SQLite changed it on its own"
        );
        let unnamed = CollateralCause {
            statement: None,
            op: RowOp::Update,
            ..cause(Through::ForeignKeyAction, None)
        };
        assert_eq!(
            collateral_cause(&unnamed),
            "line 3 (the statement) updates comments through a foreign key action"
        );
    }

    #[test]
    fn key_spread_agrees_in_number_with_its_statements() {
        let f = |lines: Vec<u64>| {
            fact(&Fact::KeySpread {
                rows: 1,
                spread: SpreadShown {
                    column: "system_id".into(),
                    values: (1..=8).map(|v| v.to_string()).collect(),
                    total: 12,
                },
                lines,
                column: "system_id".into(),
                named: strings(&["1"]),
            })
        };
        assert_eq!(
            f(vec![4]),
            "1 row changed in systems 1, 2, 3, 4, 5, 6, 7, 8, … (12 in all); the statement at line 4 names system_id 1 only"
        );
        assert_eq!(
            f(vec![4, 9]),
            "1 row changed in systems 1, 2, 3, 4, 5, 6, 7, 8, … (12 in all); the statements at line 4, 9 name system_id 1 only"
        );
        assert_eq!(
            example(&Example::KeyValue {
                column: "system_id".into(),
                value: "5".into(),
                updated: 0,
                deleted: 1500,
            }),
            "system_id 5: 1,500 deleted"
        );
    }

    #[test]
    fn a_vanished_object_says_where_it_went() {
        let f = |how| {
            fact(&Fact::Vanished {
                what: "index".into(),
                name: "posts_user".into(),
                table: "posts".into(),
                how,
            })
        };
        assert_eq!(
            f(Vanish::Moved {
                to: "posts_old".into(),
                line: Some(2)
            }),
            "index posts_user is on posts_old now: line 2 renamed posts and took it along; the new posts has no such index"
        );
        assert_eq!(
            f(Vanish::Moved {
                to: "posts_old".into(),
                line: None
            }),
            "index posts_user is on posts_old now: posts was renamed; the new posts has no such index"
        );
        assert_eq!(
            f(Vanish::DroppedWithTable { line: 5 }),
            "index posts_user (on posts) is gone; line 5: DROP TABLE posts dropped it with the table, and no statement created it again"
        );
        assert_eq!(
            example(&Example::DeclareDropped {
                what: "index".into()
            }),
            "declare it under [schema] indexes.dropped if the script means it"
        );
        assert_eq!(
            scope(&Scope::object("index", "posts_user")),
            "index posts_user"
        );
    }

    #[test]
    fn layout_lists_hazards_before_the_note() {
        let f = Fact::Layout {
            table: "tags".into(),
            rows: 1,
            order: Some(ColumnOrder {
                before: strings(&["post_id", "tag"]),
                after: strings(&["tag", "post_id"]),
                copied: Copied::ByName,
            }),
            affinities: vec![AffinityChange {
                column: "n".into(),
                from: "INTEGER".into(),
                from_type: "INT".into(),
                to: "BLOB".into(),
                to_type: String::new(),
            }],
        };
        assert_eq!(
            fact(&f),
            "tags rebuilt with its 1 row copied: n: INTEGER affinity (INT) → BLOB (no type); \
             column order (post_id, tag) → (tag, post_id); its rows copied by name, every value \
             in its column (an INSERT without a column list, or SELECT *, would now see the new order)"
        );
    }

    #[test]
    fn a_composite_key_mistake_names_the_columns_it_ignores_and_the_fix() {
        let f = Fact::CompositeKey {
            line: 7,
            other: "agg.point_id".into(),
            how: KeyMatch::InSelect,
            table: "point_info".into(),
            column: "id".into(),
            key: strings(&["system_id", "id"]),
            ignored: strings(&["system_id"]),
        };
        assert_eq!(
            fact(&f),
            "line 7: agg.point_id IN (SELECT id FROM point_info …) matches on id alone; \
             point_info's key is (system_id, id), and system_id is neither correlated nor \
             constrained on both sides: rows of other systems with the same id match too"
        );
        let fix = |other: &str| {
            example(&Example::MatchWholeKey {
                table: "point_info".into(),
                column: "id".into(),
                other: other.into(),
                ignored: strings(&["system_id"]),
                counterparts: strings(&["agg.system_id"]),
            })
        };
        assert_eq!(
            fix("agg.point_id"),
            "match the whole key: (system_id, point_id) IN (SELECT system_id, id FROM point_info …), or add point_info.system_id = agg.system_id"
        );
        assert_eq!(
            fix("point_info.parent_id"),
            "match the whole key: (system_id, parent_id) IN (SELECT system_id, id FROM point_info …), or filter system_id on the rows changed as well"
        );
    }

    #[test]
    fn scope_findings_read_as_before() {
        let change = |what: &str, change, diff: &[&str]| {
            example(&Example::ObjectChange {
                what: what.into(),
                name: if what == "column" { "t.c" } else { "x" }.into(),
                table: "t".into(),
                change,
                diff: strings(diff),
            })
        };
        assert_eq!(
            change(
                "column",
                ObjectChangeKind::Changed,
                &["- c INT", "+ c TEXT"]
            ),
            "column t.c changed: - c INT + c TEXT"
        );
        assert_eq!(
            change("table", ObjectChangeKind::Dropped, &[]),
            "table x is gone"
        );
        assert_eq!(
            change("trigger", ObjectChangeKind::Added, &[]),
            "trigger x (on t) is new"
        );
        assert_eq!(
            change("index", ObjectChangeKind::Changed, &[]),
            "index x (on t) changed"
        );
        let changed = |judged, spread: Option<SpreadShown>| {
            fact(&Fact::TableChanged {
                inserted: 0,
                updated: 2,
                deleted: 0,
                schema: true,
                spread,
                judged,
            })
        };
        let one = SpreadShown {
            column: "system_id".into(),
            values: strings(&["6"]),
            total: 1,
        };
        assert_eq!(
            changed(false, Some(one)),
            "0 inserted, 2 updated, 0 deleted, schema changed; in system 6; not judged"
        );
        assert_eq!(
            changed(true, None),
            "0 inserted, 2 updated, 0 deleted, schema changed"
        );
        assert_eq!(
            fact(&Fact::AtMost {
                inserted: 0,
                updated: 5,
                deleted: 0,
                schema: SchemaAllowed::Named
            }),
            "at most 0 inserted, 5 updated, 0 deleted, the schema changes [schema] names"
        );
        assert_eq!(
            fact(&Fact::NoScopeDeclared {
                hint: ScopeHint::GiveExpectDir {
                    file: "0002_points.toml".into()
                }
            }),
            "no scope declared (give --expect-dir with 0002_points.toml)"
        );
    }

    #[test]
    fn an_allowed_hazard_keeps_its_finding_and_a_counter_quotes_its_table() {
        let down = Fact::CounterDown {
            table: "posts".into(),
            from: 9,
            to: Some(3),
        };
        assert_eq!(
            fact(&Fact::Allowed {
                found: Box::new(down),
                key: "[allow] sequence".into(),
                names: "posts".into(),
            }),
            "the AUTOINCREMENT counter of posts went from 9 down to 3: ids 4 to 9 can be used again (allowed: [allow] sequence names posts)"
        );
        assert_eq!(
            example(&Example::Sequence {
                table: "a\"b".into(),
                from: 9,
                to: None
            }),
            "sqlite_sequence: name \"a\\\"b\" (seq 9) deleted"
        );
        assert_eq!(
            fact(&Fact::ConstraintsLost {
                object: "posts".into(),
                table: "posts".into(),
                lost: vec![
                    Constraint::PrimaryKey {
                        columns: strings(&["a", "b"])
                    },
                    Constraint::ForeignKey {
                        columns: strings(&["user_id"]),
                        parent: "users".into()
                    },
                ],
            }),
            "posts lost PRIMARY KEY (a, b), FOREIGN KEY (user_id) REFERENCES users in the rebuild of posts"
        );
    }
}
