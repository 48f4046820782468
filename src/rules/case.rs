//! `[[test]]` tables: examples a rule file carries of what it must, and must not, diagnose.
//! `analylit-doctor rules test` runs them (`crate::ruletest`).
//!
//! ```toml
//! [[test]]                          # a bundle captured from a real stack
//! bundle = "../fixtures/bundles/pg-auth-failed.tar.gz"   # relative to the rule file's folder
//! expect = "match"                  # match | no-match
//! service = "db"                    # optional: on this service
//! root = true                       # optional (match): the first finding of the diagnosis
//! summary = 'user `analylit`'       # optional (match): a regex over the finding's summary
//! fix = "unsafe"                    # optional (match): the fix's safety level
//!
//! [[test]]                          # or one service's text, written here: a unit test of the
//! service = "web"                   # rule's patterns (e.g. another version's wording)
//! logs = '''ImportError: cannot import name 'Session' from 'utils.database' '''
//! health = '''curl: (7) Failed to connect'''             # optional: health-check output
//! state = { status = "restarting", exit_code = 3, restarts = 4 }  # optional
//! # a Swarm task instead: its state and error, the service's replicas and update state
//! # state = { status = "created", task_state = "rejected", error = "No such image: app:4.1",
//! #           replicas_running = 0, replicas_desired = 1, update_state = "paused" }
//! expect = "match"
//!
//! [[test]]                          # or one line against the rule's own patterns alone: the
//! line = 'Error 111 connecting to redis:6379. Connection refused.'   # unit test of a wording
//! in = "logs"                       # optional: logs (default) or health (a health check's output)
//! expect = "match"
//! captures = { host = "redis", port = "6379" }   # optional (match): named groups it captures
//! ```
//!
//! A finding *matches* when the diagnosis holds a finding of the rule (cause or folded effect)
//! above `info`: a look-alike that a probe ruled out does not match. Every rule needs at least
//! one `match` and one `no-match` case.
use super::model::{ContainerStatus, HealthStatus, Safety};
use regex::Regex;

#[derive(Debug, Clone)]
pub struct RuleCase {
    /// 1-based line of the `[[test]]` table in the rule file.
    pub line: usize,
    pub input: CaseInput,
    pub expect: CaseExpect,
}

#[derive(Debug, Clone)]
pub enum CaseInput {
    /// A bundle written by `analylit-doctor snapshot`; the path as written, relative to the rule
    /// file's folder.
    Bundle { path: String },
    /// One service's log text, health-check output and state.
    Inline {
        service: String,
        logs: String,
        health: String,
        state: CaseState,
    },
    /// One line, matched against the rule's own symptom patterns of that kind, without the
    /// pipeline: the unit test of a wording.
    Line { kind: LineKind, text: String },
}

/// Which of a rule's line patterns a line case is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// `logs` symptoms.
    Logs,
    /// `health` symptoms (a health check's output).
    Health,
}

impl LineKind {
    pub const ALL: [LineKind; 2] = [LineKind::Logs, LineKind::Health];

    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Logs => "logs",
            LineKind::Health => "health",
        }
    }
}

impl CaseInput {
    /// `bundle healthy.tar.gz`, `logs of web`: the input in a few words.
    pub fn describe(&self) -> String {
        match self {
            CaseInput::Bundle { path } => {
                let name = std::path::Path::new(path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.clone());
                format!("bundle {name}")
            }
            CaseInput::Inline { service, .. } => format!("text of {service}"),
            CaseInput::Line { kind, .. } => format!("{} line", kind.as_str()),
        }
    }
}

/// The state of an inline case's container; unset fields keep a running container's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseState {
    pub status: Option<ContainerStatus>,
    pub exit_code: Option<i64>,
    pub restarts: i64,
    pub oom_killed: bool,
    /// `.State.Error`.
    pub error: Option<String>,
    pub health: Option<HealthStatus>,
    /// Swarm: the container is a task in this state; `error` is then the task's error.
    pub task_state: Option<&'static str>,
    /// Swarm: the service's running and desired replicas (default 0 of 1).
    pub replicas_running: Option<u64>,
    pub replicas_desired: Option<u64>,
    /// Swarm: the service's rolling-update state.
    pub update_state: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub enum CaseExpect {
    Match {
        service: Option<String>,
        root: bool,
        summary: Option<Regex>,
        fix: Option<Safety>,
        /// Line cases: named groups the matching pattern must capture, with these values.
        captures: Vec<(String, String)>,
    },
    NoMatch {
        service: Option<String>,
    },
}

impl CaseExpect {
    pub fn is_match(&self) -> bool {
        matches!(self, CaseExpect::Match { .. })
    }

    /// The service the expectation is about, when it names one.
    pub fn service(&self) -> Option<&str> {
        match self {
            CaseExpect::Match { service, .. } | CaseExpect::NoMatch { service } => {
                service.as_deref()
            }
        }
    }
}
