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

/// A place in a file: its path and, when known, its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
}

impl Location {
    pub fn new(file: impl Into<String>, line: Option<u32>) -> Self {
        Location {
            file: file.into(),
            line,
        }
    }
}

/// One probe run for one finding. Serialized as
/// `{ "kind", "expect", "outcome": "confirmed" | "ruled_out" | "unknown", "summary", "facts",
/// "data" }` (and read back from a bundle: an unknown outcome's reason is its summary). The typed
/// locations are written among `data`, as they always were: [`ProbeResult::location`] as
/// `file` / `line`, [`ProbeResult::project_location`] as `project_file` / `project_line`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ProbeResultDoc")]
pub struct ProbeResult {
    /// The probe kind (`http-route`).
    pub kind: String,
    /// What the rule expected (`prefix-variant-answers`).
    pub expect: String,
    pub outcome: Outcome,
    /// One line: what decided the outcome (`/api/api/settings/profiles answers 200`); for
    /// [`Outcome::Unknown`], its reason.
    pub summary: String,
    /// What the probe saw, in order (`GET /api/settings/profiles → 404 (Flask's 404 page)`).
    pub facts: Vec<String>,
    /// Where in the stack the probe located what it judged: a source file of the image and its
    /// line (`/app/utils/database.py`, 12).
    pub location: Option<Location>,
    /// The same place, or the compose file's line, as a file of the project on disk: what
    /// `engine::locate` (live) or pre-flight mapped it to, relative to the current directory when
    /// under it. Annotations point there.
    pub project_location: Option<Location>,
    /// Other named values a fix can use (`path` = `/data/flower.db`, `uid` = `1000`,
    /// `compose_key` = `healthcheck`): what the probe located, never a secret.
    pub data: BTreeMap<String, String>,
}

/// The `data` keys the typed locations are written as.
const FILE: &str = "file";
const LINE: &str = "line";
const PROJECT_FILE: &str = "project_file";
const PROJECT_LINE: &str = "project_line";

fn outcome_str<S: serde::Serializer>(o: &Outcome, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(o.as_str())
}

/// [`ProbeResult`] as written.
#[derive(Serialize)]
struct ProbeResultOut<'a> {
    kind: &'a str,
    expect: &'a str,
    #[serde(serialize_with = "outcome_str")]
    outcome: &'a Outcome,
    summary: &'a str,
    facts: &'a [String],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data: BTreeMap<String, String>,
}

impl Serialize for ProbeResult {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ProbeResultOut {
            kind: &self.kind,
            expect: &self.expect,
            outcome: &self.outcome,
            summary: &self.summary,
            facts: &self.facts,
            data: self.values(),
        }
        .serialize(ser)
    }
}

/// [`ProbeResult`] as written: the outcome as a word, the locations among `data`.
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

/// A bundle's bad probe result.
#[derive(Debug, thiserror::Error)]
#[error("outcome {0:?}: expected confirmed, ruled_out or unknown")]
pub struct BadOutcome(String);

impl TryFrom<ProbeResultDoc> for ProbeResult {
    type Error = BadOutcome;
    fn try_from(mut d: ProbeResultDoc) -> Result<Self, BadOutcome> {
        let outcome = match d.outcome.as_str() {
            "confirmed" => Outcome::Confirmed,
            "ruled_out" => Outcome::RuledOut,
            "unknown" => Outcome::Unknown(d.summary.clone()),
            _ => return Err(BadOutcome(d.outcome)),
        };
        let location = take_location(&mut d.data, FILE, LINE);
        let project_location = take_location(&mut d.data, PROJECT_FILE, PROJECT_LINE);
        Ok(ProbeResult {
            kind: d.kind,
            expect: d.expect,
            outcome,
            summary: d.summary,
            facts: d.facts,
            location,
            project_location,
            data: d.data,
        })
    }
}

/// The location written as `data[file_key]` and `data[line_key]`, taken out of `data`. A line
/// that is no number stays in `data` as it was (and so is written back unchanged).
fn take_location(
    data: &mut BTreeMap<String, String>,
    file_key: &str,
    line_key: &str,
) -> Option<Location> {
    let file = data.remove(file_key)?;
    let line = data.get(line_key).and_then(|l| l.parse::<u32>().ok());
    if line.is_some() {
        data.remove(line_key);
    }
    Some(Location { file, line })
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
            location: self.location.as_ref().map(|l| l.masked(r)),
            project_location: self.project_location.as_ref().map(|l| l.masked(r)),
            data: self
                .data
                .iter()
                .map(|(k, v)| (k.clone(), r.text(v)))
                .collect(),
        }
    }

    /// Every named value as written: [`data`](ProbeResult::data) with the locations' `file`,
    /// `line`, `project_file` and `project_line`. What a fix's `{placeholders}` and a plan read.
    pub fn values(&self) -> BTreeMap<String, String> {
        let mut out = self.data.clone();
        for (at, file, line) in [
            (&self.location, FILE, LINE),
            (&self.project_location, PROJECT_FILE, PROJECT_LINE),
        ] {
            if let Some(at) = at {
                out.insert(file.to_owned(), at.file.clone());
                if let Some(l) = at.line {
                    out.insert(line.to_owned(), l.to_string());
                }
            }
        }
        out
    }

    /// One named value as [`values`](ProbeResult::values) has it.
    pub fn value(&self, key: &str) -> Option<String> {
        let at = |l: &Option<Location>, line: bool| {
            let l = l.as_ref()?;
            if line {
                l.line.map(|n| n.to_string())
            } else {
                Some(l.file.clone())
            }
        };
        match key {
            FILE => at(&self.location, false),
            LINE => at(&self.location, true),
            PROJECT_FILE => at(&self.project_location, false),
            PROJECT_LINE => at(&self.project_location, true),
            _ => None,
        }
        .or_else(|| self.data.get(key).cloned())
    }
}

impl Location {
    fn masked(&self, r: &Redactor) -> Location {
        Location {
            file: r.text(&self.file),
            line: self.line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_written_among_data_and_read_back_typed() {
        let json = r#"{"kind":"python","expect":"name-undefined","outcome":"confirmed",
            "summary":"s","facts":[],"data":{"file":"/app/server.py","line":"12",
            "name":"db","project_file":"app/server.py","project_line":"12"}}"#;
        let r: ProbeResult = serde_json::from_str(json).expect("an old bundle's result");
        assert_eq!(r.location, Some(Location::new("/app/server.py", Some(12))));
        assert_eq!(
            r.project_location,
            Some(Location::new("app/server.py", Some(12)))
        );
        assert_eq!(r.data.keys().collect::<Vec<_>>(), ["name"]);
        assert_eq!(r.value("line").as_deref(), Some("12"));
        assert_eq!(r.value("name").as_deref(), Some("db"));
        let back: serde_json::Value = serde_json::to_value(&r).unwrap();
        let was: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, was, "written as it was read");

        // A line that is no number stays what it was.
        let odd = json.replace(r#""line":"12""#, r#""line":"twelve""#);
        let r: ProbeResult = serde_json::from_str(&odd).unwrap();
        assert_eq!(r.location, Some(Location::new("/app/server.py", None)));
        assert_eq!(r.data["line"], "twelve");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::from_str::<serde_json::Value>(&odd).unwrap()
        );
    }
}
