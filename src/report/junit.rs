//! `--format junit`: a JUnit XML report, so CI systems that read test results (GitLab, Jenkins,
//! GitHub test reporters) show the doctor's findings as failed test cases.
//!
//! One `<testsuite name="analylit-doctor">`; one `<testcase classname="<service>" name="<rule
//! id>">` for every rule that applies to each service (so a healthy stack is a list of passing
//! checks); a `<failure>` on the case of each finding above info — effects included — with the
//! summary as its message and its evidence lines (and `caused by`) as its text. A finding whose
//! rule or service is not in the checked set (`unclassified-failure`) gets a case of its own.
//! For pasted input, a `<property name="input">` per input says what was read.
//! The XML is written by `quick-junit`, which escapes it and drops what XML 1.0 cannot carry
//! (colour escapes included).
use super::Report as Printer;
use crate::engine::{Confirmation, Diagnosis, Evidence, Finding};
use crate::rules::RuleSet;
use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite, XmlString,
};
use std::io::{self, Write};

/// The JUnit printer: needs the rules to list the checks that passed.
pub struct Junit<'a> {
    pub rules: &'a RuleSet,
}

/// One test case: a rule checked on a service, and the findings that failed it.
struct Case<'a> {
    service: &'a str,
    rule: &'a str,
    failures: Vec<&'a Finding>,
}

impl Junit<'_> {
    fn cases<'a>(&'a self, d: &'a Diagnosis) -> Vec<Case<'a>> {
        let mut cases: Vec<Case<'a>> = Vec::new();
        for s in &d.services {
            for r in self.rules.iter().filter(|r| r.applies_to(&s.name)) {
                cases.push(Case {
                    service: &s.name,
                    rule: &r.id,
                    failures: Vec::new(),
                });
            }
        }
        for f in d.problems() {
            match cases
                .iter_mut()
                .find(|c| c.service == f.service && c.rule == f.id)
            {
                Some(c) => c.failures.push(f),
                None => cases.push(Case {
                    service: &f.service,
                    rule: &f.id,
                    failures: vec![f],
                }),
            }
        }
        cases
    }
}

impl Printer for Junit<'_> {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let mut suite = TestSuite::new("analylit-doctor");
        suite
            .extra
            .insert("hostname".into(), XmlString::new(&d.project));
        for s in d.input.iter().flat_map(|i| &i.sources) {
            suite.add_property(Property::new("input", s.summary.as_str()));
        }
        for c in self.cases(d) {
            let status = match c.failures.first() {
                None => TestCaseStatus::success(),
                Some(first) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let message: Vec<&str> =
                        c.failures.iter().map(|f| f.summary.as_str()).collect();
                    let text: Vec<String> = c.failures.iter().map(|f| details(f)).collect();
                    status
                        .set_message(message.join("; "))
                        .set_type(first.severity.as_str())
                        .set_description(text.join("\n"));
                    status
                }
            };
            let mut case = TestCase::new(c.rule, status);
            case.set_classname(c.service);
            suite.add_test_case(case);
        }
        let mut report = Report::new("analylit-doctor");
        report.add_test_suite(suite);
        report
            .serialize(out)
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

/// A failure's text: the summary, what caused it (an effect), the evidence, the confirmation.
fn details(f: &Finding) -> String {
    let mut lines = vec![format!("{} ({}): {}", f.id, f.severity.as_str(), f.summary)];
    if let Some(cause) = &f.caused_by {
        lines.push(format!("caused by {cause}"));
    }
    for e in &f.evidence {
        lines.push(match e {
            Evidence::Log {
                container,
                ts,
                text,
                occurrences,
                first_ts,
                ..
            } => {
                let ts = super::log_times(first_ts.as_deref(), ts.as_deref(), "..")
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default();
                let times = if *occurrences > 1 {
                    format!(" (x{occurrences})")
                } else {
                    String::new()
                };
                format!("  log {container}{ts} | {text}{times}")
            }
            Evidence::Health {
                container,
                exit_code,
                text,
            } => format!("  health {container} exit {exit_code} | {text}"),
            Evidence::State { container, .. } => format!("  state {container} {}", e.text()),
        });
    }
    match &f.confirmation {
        Some(Confirmation::Confirmed { by }) => {
            lines.push(format!("confirmed by {}", by.join(", ")))
        }
        Some(Confirmation::Unconfirmed { reason }) => {
            lines.push(format!("not confirmed: {reason}"))
        }
        None => {}
    }
    lines.join("\n")
}
