//! `--format github`: GitHub Actions workflow commands, so a CI job that runs the doctor gets one
//! annotation per problem. One line per finding above info (effects included):
//! `::error title=<id> on <service>[,file=<file>[,line=<n>]]::<summary>` (`::warning` for a
//! warning), with the escaping GitHub's runner expects. For pasted input, a `::notice` line per
//! input first says what was read.
use super::{Report, location};
use crate::engine::Diagnosis;
use crate::rules::Severity;
use std::io::{self, Write};

pub struct Github;

impl Report for Github {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        for s in d.input.iter().flat_map(|i| &i.sources) {
            writeln!(out, "::notice title=input::{}", escape_data(&s.summary))?;
        }
        for f in d.problems() {
            writeln!(out, "{}", command(f))?;
        }
        Ok(())
    }
}

/// The workflow command for one finding.
fn command(f: &crate::engine::Finding) -> String {
    let level = match f.severity {
        Severity::Critical | Severity::Error => "error",
        Severity::Warning | Severity::Info => "warning",
    };
    let mut props = vec![format!(
        "title={}",
        escape_property(&format!("{} on {}", f.id, f.service))
    )];
    if let Some(at) = location(f) {
        props.push(format!("file={}", escape_property(&at.file)));
        if let Some(line) = at.line {
            props.push(format!("line={line}"));
        }
    }
    format!("::{level} {}::{}", props.join(","), escape_data(&f.summary))
}

/// A command's message: `%`, CR and LF are percent-encoded (`%` first).
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as data, plus `:` and `,`, which delimit properties.
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_first_and_line_ends() {
        assert_eq!(escape_data("100%\r\nnext"), "100%25%0D%0Anext");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
    }

    #[test]
    fn property_also_escapes_colon_and_comma() {
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
