//! The spec's migration (`rehearse` without `--sql` or `--migrations`) as a [`Migration`]: the
//! engine inserts what the spec maps, a second scan from the start must insert nothing, and the
//! journal undoes exactly what was inserted. Its checks are the spec's whole suite.

use super::pipeline::{self, Checks, Migration, Outcome, Plan, Rehearsal};
use super::{OnStage, Options};
use crate::error::Error;
use crate::migrate::{self, journal};
use crate::report::Report;
use crate::spec::validate;
use crate::verify::spec_identity;

struct SpecMigration<'a> {
    plan: &'a validate::Plan,
    batch_size: u64,
}

impl Migration for SpecMigration<'_> {
    fn identity(&self) -> String {
        "database".into()
    }

    fn undo_identity(&self) -> Option<String> {
        Some("database".into())
    }

    fn forward(&mut self, r: &Rehearsal, again: bool) -> Result<Outcome, Error> {
        let opts = migrate::Options {
            batch_size: self.batch_size,
            // a second run scans every source row again
            from_start: again,
        };
        let results = migrate::engine::run(r.work.as_ref(), self.plan, &opts, &mut |_| {})?;
        Ok(Outcome::Engine {
            inserted: results.iter().map(|x| x.inserted).sum(),
            present: results.iter().map(|x| x.already_present).sum(),
            batches: results.iter().map(|x| x.batches).sum(),
        })
    }

    fn undo(&mut self, r: &Rehearsal) -> Option<Result<Outcome, Error>> {
        let mut deleted = 0;
        for mp in self.plan.migrations.iter().rev() {
            match journal::rollback(r.work.as_ref(), &mp.migration.name, &mut |_| {}) {
                Ok(s) => deleted += s.deleted,
                Err(journal::JournalError::NothingToUndo { .. }) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
        Some(Ok(Outcome::Journal { deleted }))
    }
}

pub fn rehearse(opts: &Options, on_stage: OnStage) -> Result<Report, Error> {
    let mut r = Rehearsal::extract(
        opts.backup.as_deref(),
        spec_identity(&opts.spec),
        Some((opts.suite.sample, opts.suite.seed)),
        on_stage,
    )?;
    r.fingerprint()?;
    let plan = validate::plan(&opts.spec, r.work.as_ref(), &opts.scope)?;
    for w in &plan.warnings {
        crate::warn(w);
    }
    pipeline::run(
        &mut r,
        &mut SpecMigration {
            plan: &plan,
            batch_size: opts.batch_size,
        },
        &Plan {
            label: None,
            checks: Checks::Suite {
                spec: &opts.spec,
                scope: &opts.scope,
                suite: &opts.suite,
            },
            what: "the migration",
            // a spec rehearsal declares no SQL scope: never shown
            hint: crate::report::ScopeHint::GiveExpect,
            no_undo: (String::new(), None),
            redeploy: false,
            bookkeeping: None,
        },
    )?;
    Ok(r.finish())
}
