//! Minimal text edits to the files a fix changes, one module per kind of file: the compose
//! file ([`compose`]), shell scripts' line ends ([`line_ends`]), Python sources ([`python`]).
//!
//! A fix must change what it says and nothing else, so a person reading its diff sees only the
//! lines that matter and the file keeps its comments, quoting, key order, indentation and line
//! endings. Each edit returns the file's whole text before and after ([`Edit`]), shown first as
//! a unified diff; what cannot be changed safely is an [`EditError`] that says what to edit by
//! hand.
//!
//! Every edit is idempotent: applied to its own output it changes nothing.
use super::diff;

mod compose;
mod line_ends;
mod python;

pub use compose::{depends_on_healthy, python_healthcheck, python_test, set_start_period};
pub use line_ends::to_lf;
pub use python::add_import;

/// A change to one file: its whole text before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The file as the user knows it (relative to the project), shown in the diff.
    pub path: String,
    pub old: String,
    pub new: String,
}

impl Edit {
    /// The unified diff to show before applying; empty when nothing changes.
    pub fn diff(&self) -> String {
        diff::unified(&self.path, &self.old, &self.new)
    }

    /// Nothing to do: the file already says what the fix would make it say.
    pub fn is_noop(&self) -> bool {
        self.old == self.new
    }

    fn unchanged(path: &str, text: &str) -> Edit {
        Edit {
            path: path.to_string(),
            old: text.to_string(),
            new: text.to_string(),
        }
    }
}

/// Why an edit cannot be made; each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("{path} has no service `{service}`")]
    NoService { path: String, service: String },
    #[error("{service} has no depends_on on {dependency} in {path}")]
    NoDependency {
        path: String,
        service: String,
        dependency: String,
    },
    #[error(
        "{service} waits for {dependency} with service_completed_successfully (a one-shot \
         job, which has no health check to wait for): not changing it"
    )]
    WaitsForCompletion { service: String, dependency: String },
    #[error("{service} has no healthcheck block in {path}: add one by hand")]
    NoHealthcheck { path: String, service: String },
    #[error("{what} is written as an anchor/alias ({path}:{line}): edit it by hand")]
    Shared {
        path: String,
        what: String,
        line: u32,
    },
    #[error(
        "{what} is written in a form this fix does not rewrite ({path}:{line}, {form}): edit it by hand"
    )]
    Unsupported {
        path: String,
        what: String,
        line: u32,
        form: String,
    },
    #[error(
        "{path}:{line} does not hold `{expected}` where the compose model says it is: read \
         the file again before fixing it"
    )]
    Stale {
        path: String,
        line: u32,
        expected: String,
    },
    #[error("the URL `{url}` cannot be used in a health check: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the edited {path} would not say what was intended ({reason}): edit it by hand")]
    Unverified { path: String, reason: String },
}
