//! `--format sarif`: a SARIF 2.1.0 log, the format code-scanning tools (GitHub code scanning,
//! IDE viewers) read. Built with `serde_json` against the OASIS schema, which
//! `tests/formats.rs` validates the output with (`fixtures/sarif/`).
//!
//! One run; `tool.driver` lists every rule (id, title, explanation, first https reference); one
//! result per finding above info, effects included: `ruleId`, `level` (`error` for error and
//! critical, `warning`), `message` = the summary, a location when a probe located a file
//! (the project file `engine::locate` mapped, else where the probe saw it), and `properties` with the service, the
//! confirmation, the evidence texts and, for an effect, its cause. For pasted input, the run's
//! `properties.input` holds what was read from each input (one sentence each).
use super::{Report, location};
use crate::engine::{Diagnosis, Finding};
use crate::rules::{RuleSet, Severity};
use serde_json::{Map, Value, json};
use std::io::{self, Write};

pub const SARIF_VERSION: &str = "2.1.0";
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF printer: needs the rules for `tool.driver.rules`.
pub struct Sarif<'a> {
    pub rules: &'a RuleSet,
}

impl Sarif<'_> {
    /// The whole log as a JSON value.
    pub fn document(&self, d: &Diagnosis) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                let mut rule = json!({
                    "id": r.id,
                    "shortDescription": { "text": r.title },
                    "fullDescription": { "text": r.explanation },
                    "defaultConfiguration": { "level": level(r.severity) },
                });
                if let Some(uri) = r.references.iter().find(|u| u.starts_with("https://")) {
                    rule["helpUri"] = json!(uri);
                }
                rule
            })
            .collect();
        let results: Vec<Value> = d.problems().into_iter().map(|f| self.result(f)).collect();
        let mut run = json!({
            "tool": { "driver": {
                "name": "analylit-doctor",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        });
        if let Some(input) = &d.input {
            let read: Vec<&str> = input.sources.iter().map(|s| s.summary.as_str()).collect();
            run["properties"] = json!({ "input": read });
        }
        json!({
            "$schema": SARIF_SCHEMA,
            "version": SARIF_VERSION,
            "runs": [run],
        })
    }

    fn result(&self, f: &Finding) -> Value {
        let mut props = Map::new();
        props.insert("service".into(), json!(f.service));
        if let Some(c) = &f.confirmation {
            props.insert(
                "confirmation".into(),
                serde_json::to_value(c).unwrap_or(Value::Null),
            );
        }
        props.insert(
            "evidence".into(),
            json!(f.evidence.iter().map(|e| e.text()).collect::<Vec<_>>()),
        );
        if let Some(cause) = &f.caused_by {
            props.insert("caused_by".into(), json!(cause));
        }
        let mut result = json!({
            "ruleId": f.id,
            "level": level(f.severity),
            "message": { "text": f.summary },
            "properties": props,
        });
        if let Some(index) = self.rules.iter().position(|r| r.id == f.id) {
            result["ruleIndex"] = json!(index);
        }
        if let Some(at) = location(f) {
            let mut physical = json!({ "artifactLocation": { "uri": at.file } });
            if let Some(line) = at.line {
                physical["region"] = json!({ "startLine": line });
            }
            result["locations"] = json!([{ "physicalLocation": physical }]);
        }
        result
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

impl Report for Sarif<'_> {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &self.document(d))?;
        writeln!(out)
    }
}
