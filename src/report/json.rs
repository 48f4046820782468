//! `--format json`: a documented, versioned document on stdout and nothing else.
//!
//! Schema (version 1):
//! ```text
//! { "schema_version": 1, "tool": "analylit-doctor", "tool_version": "x.y.z",
//!   "project": "...", "verdict": "ok" | "problems",
//!   "input": { "sources": [ { "source", "service" (SERVICE=FILE only), "bytes", "bytes_read",
//!              "recognised": [ { "kind": "compose-logs" | "compose-up" | "ps" | "inspect"
//!                                     | "events" | "kernel" | "plain", "lines", "detail" } ],
//!              "ignored_lines", "summary" } ] } (only for `check --logs`),
//!   "services": [ { "name", "containers", "state", "health", "exit_code", "restarts" } ],
//!   "findings": [ { "id", "title", "service", "severity", "summary",
//!                   "evidence": [ { "kind": "log", "container", "ts", "text", "occurrences" }
//!                               | { "kind": "health", "container", "exit_code", "text" }
//!                               | { "kind": "state", "container", "field", "value" } ],
//!                   "fix": { "title", "safety", "steps", "automatic" } | null,
//!                   "probes": [ { "kind", "expect", "outcome": "confirmed" | "ruled_out" | "unknown",
//!                                 "summary", "facts": [..] } ] (when probes ran),
//!                   "ruled_out": [ "look-alike-id: why" ] (when a probe ruled look-alikes out),
//!                   "confirmation": { "status": "confirmed", "by": [ "kind (expect)" ] }
//!                                 | { "status": "unconfirmed", "reason" } (after probes ran),
//!                   "effects": [ finding... ], "caused_by": "id on service" (effects only),
//!                   "rule": "rules/<id>.toml" } ] }
//! ```
//! Findings are ordered most likely root cause first. From pasted output, a service's `state` is
//! `"unknown"` and `exit_code`, `restarts`, `health` are null where the text did not tell them.
//! Additive changes keep the version (`input` was one); a field that changes meaning or
//! disappears bumps it.
use super::Report;
use crate::engine::Diagnosis;
use serde::Serialize;
use std::io::{self, Write};

pub const JSON_SCHEMA_VERSION: u32 = 1;

pub struct Json;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: &'static str,
    tool_version: &'static str,
    project: &'a str,
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a crate::stack::paste::InputSummary>,
    services: &'a [crate::engine::ServiceStatus],
    findings: &'a [crate::engine::Finding],
}

impl Report for Json {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let doc = Document {
            schema_version: JSON_SCHEMA_VERSION,
            tool: "analylit-doctor",
            tool_version: env!("CARGO_PKG_VERSION"),
            project: &d.project,
            verdict: if d.has_problems() { "problems" } else { "ok" },
            input: d.input.as_ref(),
            services: &d.services,
            findings: &d.findings,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
