//! Probes: live checks that tell look-alike findings apart.
//!
//! Rules match what the stack already said (logs, state, health output). Some failure classes
//! say the same thing there: a health check that gets 404 with nothing in the logs may be a
//! doubled blueprint prefix, a lost `@route` decorator, or an initialisation that failed in every
//! gunicorn worker. A probe asks the running stack one more question and answers, for each
//! [`ProbeSpec`] a rule declares, whether the rule's finding is [`Outcome::Confirmed`],
//! [`Outcome::RuledOut`] or still unknown — with the facts it saw, so a report can show why.
//!
//! A rule names the probe kind and the expectation (`[[probe]]` tables, see [`crate::rules`]);
//! the kind is Rust code here, one file per kind. Probes never change anything and are bounded:
//! every network exchange has a timeout and a size limit, so a hung service gives
//! [`Outcome::Unknown`], never a hung doctor.
pub mod http;
pub mod python;

use crate::rules::ProbeSpec;
use crate::stack::snapshot::ContainerSnapshot;
use serde::Serialize;
use std::time::Duration;

/// What a probe concluded about a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The probe saw what the rule expects: the finding holds.
    Confirmed,
    /// The probe saw the opposite: the finding does not hold.
    RuledOut,
    /// The probe could not tell, and why (`no answer within 3s`).
    Unknown(String),
}

impl Outcome {
    /// `confirmed`, `ruled_out` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Confirmed => "confirmed",
            Outcome::RuledOut => "ruled_out",
            Outcome::Unknown(_) => "unknown",
        }
    }
}

/// One probe run for one finding. Serialized as
/// `{ "kind", "expect", "outcome": "confirmed" | "ruled_out" | "unknown", "summary", "facts" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    /// The probe kind (`http-route`).
    pub kind: String,
    /// What the rule expected (`prefix-variant-answers`).
    pub expect: String,
    #[serde(serialize_with = "outcome_str")]
    pub outcome: Outcome,
    /// One line: what decided the outcome (`/api/api/settings/profiles answers 200`); for
    /// [`Outcome::Unknown`], its reason.
    pub summary: String,
    /// What the probe saw, in order (`GET /api/settings/profiles → 404 (Flask's 404 page)`).
    pub facts: Vec<String>,
}

fn outcome_str<S: serde::Serializer>(o: &Outcome, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(o.as_str())
}

impl ProbeResult {
    pub(crate) fn new(
        spec: &ProbeSpec,
        outcome: Outcome,
        summary: String,
        facts: &[String],
    ) -> Self {
        ProbeResult {
            kind: spec.kind().to_owned(),
            expect: spec.expectation().to_owned(),
            outcome,
            summary,
            facts: facts.to_vec(),
        }
    }

    /// An unknown outcome whose summary is its reason.
    pub(crate) fn unknown(spec: &ProbeSpec, reason: String, facts: &[String]) -> Self {
        ProbeResult::new(spec, Outcome::Unknown(reason.clone()), reason, facts)
    }
}

/// Bounds of a probe run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Per request: connect, send, headers and body together.
    pub timeout: Duration,
    /// Containers probed at the same time.
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(3),
            concurrency: 4,
        }
    }
}

/// Run `specs` against `container`: one result per spec, in order. Specs of one kind share one
/// observation (the `http-route` requests are made once, then judged per expectation).
pub async fn run(
    specs: &[ProbeSpec],
    container: &ContainerSnapshot,
    opts: &Options,
) -> Vec<ProbeResult> {
    let needs_http = specs
        .iter()
        .any(|s| matches!(s, ProbeSpec::HttpRoute { .. }));
    let route = if needs_http {
        Some(http::observe(container, opts.timeout).await)
    } else {
        None
    };
    specs
        .iter()
        .map(|spec| match spec {
            ProbeSpec::HttpRoute { expect } => route
                .as_ref()
                .expect("observed for http-route specs")
                .judge(spec, *expect),
        })
        .collect()
}
