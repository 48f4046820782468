//! What the engine concludes: findings with their evidence, ready for any printer.
use super::ProbeResult;
use crate::redact::Redactor;
use crate::rules::{Safety, Severity};
use serde::Serialize;

/// One failure class on one service, with what proves it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Catalogue id (the rule id), or `unclassified-failure`.
    pub id: String,
    pub title: String,
    pub service: String,
    #[serde(serialize_with = "severity_str")]
    pub severity: Severity,
    /// One-line cause, secrets masked.
    pub summary: String,
    /// Decisive evidence first.
    pub evidence: Vec<Evidence>,
    pub fix: Option<FixView>,
    /// Findings explained by this one (downstream effects), folded under it.
    pub effects: Vec<Finding>,
    /// For a folded effect: the id and service of its cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<String>,
    /// Where the rule came from (`rules/<id>.toml` or the override file).
    pub rule: String,
    /// The rule's probes as run on this finding (filled by [`crate::engine::confirm`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
    /// Look-alike findings this one's probes ruled out, as `"<id>: <why>"`
    /// (`route-not-decorated: /api/api/settings/profiles answers 200`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ruled_out: Vec<String>,
    /// Whether a probe confirmed the finding (set by [`crate::engine::confirm`]; `None` before
    /// probes ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
}

#[cfg(test)]
impl Finding {
    /// A finding of `id` on `service` at `error`, with nothing else: tests fill in the rest.
    pub(crate) fn bare(id: &str, service: &str) -> Finding {
        Finding {
            id: id.into(),
            title: id.into(),
            service: service.into(),
            severity: Severity::Error,
            summary: String::new(),
            evidence: vec![],
            fix: None,
            effects: vec![],
            caused_by: None,
            rule: String::new(),
            probes: vec![],
            ruled_out: vec![],
            confirmation: None,
        }
    }
}

/// What the probes made of a finding. Serialized as `{"status": "confirmed", "by": [...]}` or
/// `{"status": "unconfirmed", "reason": "..."}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Confirmation {
    /// At least one probe confirmed it and none ruled it out: `kind (expectation)` of each.
    Confirmed { by: Vec<String> },
    /// No probe could confirm it, and why (no probe for the class, or each probe's reason).
    Unconfirmed { reason: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct FixView {
    pub title: String,
    #[serde(serialize_with = "safety_str")]
    pub safety: Safety,
    pub steps: Vec<String>,
    /// `analylit-doctor fix` can carry it out (the rule names the actions); otherwise the steps
    /// are for a person, whatever the safety level.
    pub automatic: bool,
}

/// A fact that supports a finding. Text is already redacted.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A log line that matched one of the rule's patterns.
    Log {
        container: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        ts: Option<String>,
        text: String,
        /// How many times this same line was logged (its last time is `ts`).
        occurrences: usize,
        /// Its first time, when it was logged more than once at different times.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_ts: Option<String>,
        /// How many other lines matched the same symptom and are not shown.
        #[serde(default, skip_serializing_if = "is_zero")]
        more: usize,
    },
    /// A health check result whose output matched.
    Health {
        container: String,
        exit_code: i64,
        text: String,
    },
    /// A container state field.
    State {
        container: String,
        field: String,
        value: String,
    },
}

impl Evidence {
    pub fn text(&self) -> String {
        match self {
            Evidence::Log { text, .. } | Evidence::Health { text, .. } => text.clone(),
            Evidence::State { field, value, .. } => format!("{field} = {value}"),
        }
    }

    pub fn ts(&self) -> Option<&str> {
        match self {
            Evidence::Log { ts, .. } => ts.as_deref(),
            _ => None,
        }
    }
}

fn severity_str<S: serde::Serializer>(s: &Severity, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

fn safety_str<S: serde::Serializer>(s: &Safety, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Finding {
    /// Mask every text of the finding: title, summary, evidence, fix, probes (their facts and
    /// located data too), what was ruled out, its reason, through every folded effect.
    pub fn mask(&mut self, r: &Redactor) {
        self.title = r.text(&self.title);
        self.summary = r.text(&self.summary);
        for e in &mut self.evidence {
            match e {
                Evidence::Log { text, .. } | Evidence::Health { text, .. } => *text = r.text(text),
                Evidence::State { value, .. } => *value = r.text(value),
            }
        }
        if let Some(fix) = &mut self.fix {
            fix.title = r.text(&fix.title);
            for s in &mut fix.steps {
                *s = r.text(s);
            }
        }
        for p in &mut self.probes {
            *p = p.masked(r);
        }
        for o in &mut self.ruled_out {
            *o = r.text(o);
        }
        if let Some(Confirmation::Unconfirmed { reason }) = &mut self.confirmation {
            *reason = r.text(reason);
        }
        for e in &mut self.effects {
            e.mask(r);
        }
    }
}
