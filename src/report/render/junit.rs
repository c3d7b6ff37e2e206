//! JUnit XML: one test suite per check (and one for the stages), one test case per scope, for
//! CI systems that show test results.

use super::phrase;
use std::time::Duration;

use super::{RenderOptions, Renderer};
use crate::report::{Report, Shown, Status};

pub struct Junit;

impl Renderer for Junit {
    fn render(&self, r: &Report, _opts: &RenderOptions) -> String {
        render_junit(r)
    }

    /// One suite named after the command with one case: its title, failed when the command's
    /// verdict is; the text view as the case's output.
    fn view(&self, v: &Shown, _opts: &RenderOptions) -> String {
        use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
        let mut report = JReport::new(format!("preflight {}", v.command));
        let mut suite = TestSuite::new(v.command);
        let status = if v.passed {
            TestCaseStatus::success()
        } else {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(v.document.title.clone());
            st
        };
        let mut tc = TestCase::new(v.document.title.clone(), status);
        tc.set_classname(format!("preflight.{}", v.command));
        tc.set_system_out(super::table::view_text(v, None));
        suite.add_test_case(tc);
        report.add_test_suite(suite);
        report.to_string().expect("junit serialises")
    }
}

fn render_junit(r: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut report = JReport::new(format!("preflight {}", r.command));
    if let Some(t) = r.timings.get("total") {
        report.set_time(Duration::from_secs_f64(*t));
    }
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut stage_suite = TestSuite::new("stages");
    for s in &r.stages {
        let status = match s.status {
            Status::Fail => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(s.detail.clone());
                st
            }
            Status::Skip => TestCaseStatus::skipped(),
            // a stage that could not be judged (no scope declared) is not a pass either
            Status::Warn => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(s.detail.clone());
                st
            }
            Status::Pass => TestCaseStatus::success(),
        };
        let mut tc = TestCase::new(s.name.clone(), status);
        tc.set_classname("preflight.stage");
        if let Some(t) = r.timings.get(&format!("stage:{}", s.name)) {
            tc.set_time(Duration::from_secs_f64(*t));
        }
        stage_suite.add_test_case(tc);
    }
    if !r.stages.is_empty() {
        suites.push(stage_suite);
    }
    for c in &r.checks {
        let p = phrase::check(c);
        if suites.last().is_none_or(|s| s.name.as_str() != c.check) {
            suites.push(TestSuite::new(c.check.clone()));
        }
        let status = match c.status {
            Status::Fail => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(format!(
                    "expected {}, found {} ({} violations)",
                    p.expected, p.found, c.violations
                ));
                st.set_type(c.title.clone());
                st.set_description(p.examples.join("\n"));
                st
            }
            // a warning (a change not judged, no scope declared) is no passing case either: as
            // the stages, and as the summary counts it, it is not a success
            Status::Skip | Status::Warn => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(p.found.clone());
                st
            }
            Status::Pass => TestCaseStatus::success(),
        };
        let mut tc = TestCase::new(p.scope.clone(), status);
        tc.set_classname(format!("preflight.{}", c.check));
        suites.last_mut().expect("a suite").add_test_case(tc);
    }
    report.add_test_suites(suites);
    report.to_string().expect("junit serialises")
}
