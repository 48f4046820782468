//! `--format junit`: a JUnit XML report, so CI systems that read test results (GitLab, Jenkins,
//! GitHub test reporters) show the doctor's findings as failed test cases.
//!
//! One `<testsuite name="analylit-doctor">`; one `<testcase classname="<service>" name="<rule
//! id>">` for every rule that applies to each service (so a healthy stack is a list of passing
//! checks); a `<failure>` on the case of each finding above info — effects included — with the
//! summary as its message and its evidence lines (and `caused by`) as its text. A finding whose
//! rule or service is not in the checked set (`unclassified-failure`) gets a case of its own.
//! For pasted input, a `<property name="input">` per input says what was read.
//! The XML is written by hand: the few constructs are escaped here, and characters XML 1.0
//! cannot carry are dropped.
use super::Report;
use crate::engine::{Confirmation, Diagnosis, Evidence, Finding};
use crate::rules::RuleSet;
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

impl Report for Junit<'_> {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let cases = self.cases(d);
        let failed = cases.iter().filter(|c| !c.failures.is_empty()).count();
        let counts = format!(
            "tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\"",
            cases.len()
        );
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(out, r#"<testsuites name="analylit-doctor" {counts}>"#)?;
        writeln!(
            out,
            r#"  <testsuite name="analylit-doctor" {counts} hostname="{}">"#,
            escape(&d.project)
        )?;
        if let Some(input) = &d.input {
            writeln!(out, "    <properties>")?;
            for s in &input.sources {
                writeln!(
                    out,
                    r#"      <property name="input" value="{}"/>"#,
                    escape(&s.summary)
                )?;
            }
            writeln!(out, "    </properties>")?;
        }
        for c in &cases {
            let head = format!(
                r#"    <testcase classname="{}" name="{}""#,
                escape(c.service),
                escape(c.rule)
            );
            let Some(first) = c.failures.first() else {
                writeln!(out, "{head}/>")?;
                continue;
            };
            writeln!(out, "{head}>")?;
            let message = c
                .failures
                .iter()
                .map(|f| f.summary.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let text = c
                .failures
                .iter()
                .map(|f| details(f))
                .collect::<Vec<_>>()
                .join("\n");
            writeln!(
                out,
                r#"      <failure message="{}" type="{}">{}</failure>"#,
                escape(&message),
                first.severity.as_str(),
                escape(&text)
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
        writeln!(out, "</testsuites>")
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
            } => {
                let ts = ts.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
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

/// Escape for XML text and double-quoted attributes; drop what XML 1.0 cannot hold (control
/// characters other than tab, LF, CR; U+FFFE, U+FFFF). LF and CR are written as references so
/// attribute values keep them.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1b}[31m\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;[31m&#10;"
        );
    }
}
