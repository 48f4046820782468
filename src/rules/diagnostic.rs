//! Problems found while loading rule files, as miette diagnostics.
//!
//! Every problem carries one [`Code`] (one enum for the whole subsystem, so codes stay unique and
//! greppable), the file it is in, and labels on the exact byte ranges at fault.
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Declares [`Code`] with its `rules::` names and the list of all codes in one place, so no code
/// can be forgotten by [`Code::ALL`].
macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// The diagnostic codes of rule loading, shown as `rules::<name>`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            /// Every code, for the uniqueness test and for documentation.
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => concat!("rules::", $name),)*
                }
            }
        }
    };
}

codes! {
    /// The override directory or a file in it cannot be read.
    Io => "io",
    /// The file is not valid TOML.
    TomlSyntax => "toml-syntax",
    /// A key the schema does not know.
    UnknownKey => "unknown-key",
    /// A known key in a place where it does not apply (`at_least` on a state symptom).
    MisplacedKey => "misplaced-key",
    /// A required key is absent.
    MissingKey => "missing-key",
    /// A value of the wrong TOML type.
    WrongType => "wrong-type",
    /// A value outside its allowed set or range (severity, safety, status, `at_least = 0`…).
    BadValue => "bad-value",
    /// A regex that does not compile.
    BadRegex => "bad-regex",
    /// A symptom with zero or several of `logs`, `health`, `state`.
    SymptomKind => "symptom-kind",
    /// A rule without symptoms, or a state symptom without conditions.
    EmptySymptoms => "empty-symptoms",
    /// A `{placeholder}` that no symptom's named capture (nor `service`) provides.
    UnknownPlaceholder => "unknown-placeholder",
    /// An id that is not kebab-case.
    BadId => "bad-id",
    /// The file name is not `<id>.toml`.
    IdFileMismatch => "id-file-mismatch",
    /// Two files define the same id.
    DuplicateId => "duplicate-id",
    /// `confirms` names a rule id that is not loaded.
    UnknownConfirms => "unknown-confirms",
    /// A `[[probe]]` whose `kind` is no known probe kind.
    UnknownProbeKind => "unknown-probe-kind",
    /// Patterns that compile alone but not together in the matcher's set (size limits).
    PatternSetTooBig => "pattern-set-too-big",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule file's name and text, shared by all the problems found in it.
pub(crate) type Source = NamedSource<Arc<String>>;

/// One problem in one rule file.
#[derive(Debug, Clone)]
pub struct Problem {
    pub(crate) code: Code,
    pub(crate) message: String,
    pub(crate) source: Option<Source>,
    pub(crate) labels: Vec<(Range<usize>, String)>,
    pub(crate) help: Option<String>,
    /// Problems in other files that belong to this one (the first definition of a duplicate id).
    pub(crate) related: Vec<Problem>,
}

impl Problem {
    pub(crate) fn new(code: Code, message: impl Into<String>, source: &Source) -> Problem {
        Problem {
            code,
            message: message.into(),
            source: Some(source.clone()),
            labels: Vec::new(),
            help: None,
            related: Vec::new(),
        }
    }

    /// A problem that is about no file text (an unreadable directory).
    pub(crate) fn without_source(code: Code, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
            source: None,
            labels: Vec::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub(crate) fn label(mut self, span: Range<usize>, text: impl Into<String>) -> Problem {
        self.labels.push((span, text.into()));
        self
    }

    pub(crate) fn help(mut self, text: impl Into<String>) -> Problem {
        self.help = Some(text.into());
        self
    }

    pub(crate) fn related(mut self, other: Problem) -> Problem {
        self.related.push(other);
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    /// The file the problem is in (`None` for I/O problems about a directory).
    pub fn file(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.name())
    }

    /// Where the first label starts, for sorting problems in file order.
    pub(crate) fn offset(&self) -> usize {
        self.labels.first().map_or(0, |(r, _)| r.start)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(
            |(i, (r, text))| {
                let span = SourceSpan::from(r.clone());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(Some(text.clone()), span)
                } else {
                    LabeledSpan::new_with_span(Some(text.clone()), span)
                }
            },
        )))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// Loading rules failed: every problem found, across all files.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
#[error("{} in rule files", count(.problems.len()))]
#[diagnostic(
    code(rules::invalid),
    help("each problem below names its file and position")
)]
pub struct RulesError {
    #[related]
    problems: Vec<Problem>,
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

impl RulesError {
    pub(crate) fn new(problems: Vec<Problem>) -> RulesError {
        RulesError { problems }
    }

    /// The problems, in file order then position order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = HashSet::new();
        for &code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert!(code.as_str().starts_with("rules::"), "{code}");
        }
        // `rules::invalid` is the top-level error's code: no problem may reuse it.
        assert!(!seen.contains("rules::invalid"));
    }
}
