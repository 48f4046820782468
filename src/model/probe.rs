//! What a probe concluded about a finding, as every stage after the probes reads it.
use crate::redact::Redactor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Confirmed when the probe saw what the rule expects, ruled out when it saw the opposite.
    pub fn of(holds: bool) -> Self {
        if holds {
            Outcome::Confirmed
        } else {
            Outcome::RuledOut
        }
    }

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
/// `{ "kind", "expect", "outcome": "confirmed" | "ruled_out" | "unknown", "summary", "facts" }`
/// (and read back from a bundle: an unknown outcome's reason is its summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProbeResultDoc")]
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
    /// Named values a fix can use (`path` = `/data/flower.db`, `uid` = `1000`): what the probe
    /// located, never a secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

fn outcome_str<S: serde::Serializer>(o: &Outcome, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(o.as_str())
}

/// [`ProbeResult`] as written: the outcome as a word.
#[derive(Deserialize)]
struct ProbeResultDoc {
    kind: String,
    expect: String,
    outcome: String,
    summary: String,
    #[serde(default)]
    facts: Vec<String>,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

impl TryFrom<ProbeResultDoc> for ProbeResult {
    type Error = String;
    fn try_from(d: ProbeResultDoc) -> Result<Self, String> {
        let outcome = match d.outcome.as_str() {
            "confirmed" => Outcome::Confirmed,
            "ruled_out" => Outcome::RuledOut,
            "unknown" => Outcome::Unknown(d.summary.clone()),
            other => {
                return Err(format!(
                    "outcome {other:?}: expected confirmed, ruled_out or unknown"
                ));
            }
        };
        Ok(ProbeResult {
            kind: d.kind,
            expect: d.expect,
            outcome,
            summary: d.summary,
            facts: d.facts,
            data: d.data,
        })
    }
}

impl ProbeResult {
    /// The result as shown: its summary, facts, reason and located data masked.
    pub fn masked(&self, r: &Redactor) -> ProbeResult {
        ProbeResult {
            kind: self.kind.clone(),
            expect: self.expect.clone(),
            outcome: match &self.outcome {
                Outcome::Unknown(why) => Outcome::Unknown(r.text(why)),
                other => other.clone(),
            },
            summary: r.text(&self.summary),
            facts: self.facts.iter().map(|f| r.text(f)).collect(),
            data: self
                .data
                .iter()
                .map(|(k, v)| (k.clone(), r.text(v)))
                .collect(),
        }
    }
}
