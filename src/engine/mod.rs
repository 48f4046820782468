//! Match and rank: from a [`StackSnapshot`] and a [`RuleSet`] to a [`Diagnosis`] — findings
//! about services, root causes first, effects folded under their cause, every text redacted.
//!
//! Nothing here talks to Docker: the same engine runs on a live snapshot or a recorded one.
pub mod chain;
pub mod confirm;
pub mod finding;
pub mod locate;
pub mod matcher;
pub mod unclassified;

use crate::redact::Redactor;
use crate::rules::{RuleSet, Severity};
use crate::stack::snapshot::{ContainerSnapshot, StackSnapshot};
pub use finding::{Confirmation, Evidence, Finding, FixView};
use matcher::{HitKind, Matcher, RuleMatch};
use serde::Serialize;
use std::cmp::Reverse;

/// The overview line of one service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    pub containers: usize,
    /// created | running | restarting | exited | dead | paused
    pub state: String,
    /// healthy | unhealthy | starting, or null without a health check.
    pub health: Option<String>,
    pub exit_code: Option<i64>,
    /// Null when the input did not tell it (pasted output).
    pub restarts: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub project: String,
    pub services: Vec<ServiceStatus>,
    /// Most likely root cause first; effects are inside their cause's `effects`.
    pub findings: Vec<Finding>,
    /// What the diagnosis was read from, when it was pasted output (`check --logs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<crate::stack::paste::InputSummary>,
}

impl Diagnosis {
    /// Findings above `info`, counted with their folded effects.
    pub fn has_problems(&self) -> bool {
        self.findings.iter().any(|f| f.severity > Severity::Info)
    }

    /// Every finding, causes first and each followed by its folded effects (depth first).
    pub fn all_findings(&self) -> Vec<&Finding> {
        fn walk<'a>(list: &'a [Finding], out: &mut Vec<&'a Finding>) {
            for f in list {
                out.push(f);
                walk(&f.effects, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.findings, &mut out);
        out
    }

    /// [`Diagnosis::all_findings`] above `info`: what the machine formats list, effects as
    /// findings of their own (with `caused_by`).
    pub fn problems(&self) -> Vec<&Finding> {
        let mut all = self.all_findings();
        all.retain(|f| f.severity > Severity::Info);
        all
    }
}

/// Visit every finding of `list` and, depth first, of their effects.
pub(crate) fn walk_mut(list: &mut [Finding], visit: &mut impl FnMut(&mut Finding)) {
    for f in list {
        visit(f);
        walk_mut(&mut f.effects, visit);
    }
}

pub fn diagnose(snapshot: &StackSnapshot, rules: &RuleSet) -> Diagnosis {
    let redactor = Redactor::for_snapshot(snapshot);
    let matcher = Matcher::new(rules);
    let mut findings = Vec::new();
    let mut services = Vec::new();
    for service in snapshot.services() {
        let containers: Vec<&ContainerSnapshot> = snapshot
            .containers
            .iter()
            .filter(|c| c.service == service)
            .collect();
        services.push(service_status(service, &containers));
        let matches = matcher.match_service(service, &containers);
        let mut service_findings: Vec<Finding> =
            matches.iter().map(|m| to_finding(m, &redactor)).collect();
        for f in &mut service_findings {
            demote_if_stale(f, &containers);
            if let Some(rule) = rules.get(&f.id) {
                demote_if_resolved(f, rule, &containers);
            }
        }
        let has_cause = matches.iter().any(|m| !m.rule.effect);
        if !has_cause && let Some(c) = containers.iter().find(|c| unclassified::is_failing(c)) {
            service_findings.push(unclassified_finding(c, &redactor));
        }
        findings.extend(fold_same_service(service_findings, rules));
    }
    rank(&mut findings, snapshot);
    Diagnosis {
        project: snapshot.project.clone(),
        services,
        findings,
        input: None,
    }
}

fn service_status(name: &str, containers: &[&ContainerSnapshot]) -> ServiceStatus {
    // The worst container speaks for the service.
    let worst = containers
        .iter()
        .max_by_key(|c| (unclassified::is_failing(c), c.restart_count))
        .expect("a service has a container");
    ServiceStatus {
        name: name.to_string(),
        containers: containers.len(),
        state: worst.state.status.clone(),
        health: worst.health.as_ref().map(|h| h.status.clone()),
        // Pasted logs tell no state: show none rather than a made-up 0.
        exit_code: (worst.state.status != "unknown"
            && (worst.state.status != "running" || worst.state.exit_code != 0))
            .then_some(worst.state.exit_code),
        restarts: Some(worst.restart_count),
    }
}

fn to_finding(m: &RuleMatch, redactor: &Redactor) -> Finding {
    let rule = m.rule;
    let mut evidence = Vec::new();
    // Log and health lines first (decisive), state facts after (supporting).
    for hit in &m.hits {
        match &hit.kind {
            HitKind::Logs { lines, total } => {
                for (c, l) in lines {
                    evidence.push(Evidence::Log {
                        container: c.name.clone(),
                        ts: l.ts.clone(),
                        text: redactor.text(&l.text),
                        occurrences: *total,
                    });
                }
            }
            HitKind::Health { lines, .. } => {
                for (c, code, text) in lines {
                    let e = Evidence::Health {
                        container: c.name.clone(),
                        exit_code: *code,
                        text: redactor.text(text),
                    };
                    if !evidence.contains(&e) {
                        evidence.push(e);
                    }
                }
            }
            HitKind::State(_) => {}
        }
    }
    for hit in &m.hits {
        if let HitKind::State(c) = &hit.kind {
            for e in unclassified::state_evidence(c) {
                if !evidence.contains(&e) {
                    evidence.push(e);
                }
            }
        }
    }
    let summary = redactor.text(&rule.render_summary(&m.captures, &m.service));
    Finding {
        id: rule.id.clone(),
        title: rule.title.clone(),
        service: m.service.clone(),
        severity: rule.severity,
        summary,
        evidence,
        fix: rule.fix.as_ref().map(|f| FixView {
            title: redactor.text(&f.title.render(&m.captures, &m.service)),
            safety: f.safety,
            steps: f
                .steps
                .iter()
                .map(|s| redactor.text(&s.render(&m.captures, &m.service)))
                .collect(),
        }),
        effects: vec![],
        caused_by: None,
        rule: rule.source.path.clone(),
        probes: vec![],
        ruled_out: vec![],
        confirmation: None,
    }
}

/// A service that is healthy now, whose evidence all predates its current run of passing health
/// checks: what the evidence shows is over (e.g. the health probe refused by the temporary server
/// PostgreSQL runs during initdb). Kept, as `info`, so nothing is hidden.
fn demote_if_stale(f: &mut Finding, containers: &[&ContainerSnapshot]) {
    let healthy_since = |name: &str| {
        let c = containers.iter().find(|c| c.name == name)?;
        let h = c.health.as_ref()?;
        // The start of the run of passing checks that ends with the latest one.
        let passing_since = h
            .log
            .iter()
            .rev()
            .take_while(|r| r.exit_code == 0)
            .map(|r| r.start.clone())
            .min();
        (h.status == "healthy" && c.restart_count == 0)
            .then_some(passing_since)
            .flatten()
    };
    let stale = !f.evidence.is_empty()
        && f.evidence.iter().all(|e| match e {
            Evidence::Log { container, ts, .. } => {
                match (ts.as_deref(), healthy_since(container)) {
                    (Some(ts), Some(since)) => ts < since.as_str(),
                    _ => false,
                }
            }
            _ => false,
        });
    if stale && f.severity > Severity::Info {
        f.severity = Severity::Info;
        f.summary = format!(
            "{} — before {} became healthy; it has passed every health check since",
            f.summary, f.service
        );
    }
}

/// A finding whose rule names a line that resolves it (`resolved_by`), when that line follows
/// the last matching line in every container that matched: the condition passed (PostgreSQL's
/// init-time server refusing a database it creates right after). Kept, as `info`.
fn demote_if_resolved(
    f: &mut Finding,
    rule: &crate::rules::Rule,
    containers: &[&ContainerSnapshot],
) {
    let Some(resolved_by) = &rule.resolved_by else {
        return;
    };
    let patterns: Vec<&regex::Regex> = rule
        .symptoms
        .iter()
        .filter_map(|s| match s {
            crate::rules::Symptom::Logs { regex, .. } => Some(regex),
            _ => None,
        })
        .collect();
    let mut matched_any = false;
    for c in containers {
        let lines = &c.logs.lines;
        let Some(last_hit) = lines
            .iter()
            .rposition(|l| patterns.iter().any(|re| re.is_match(&l.text)))
        else {
            continue;
        };
        matched_any = true;
        let resolved = lines[last_hit + 1..]
            .iter()
            .any(|l| resolved_by.is_match(&l.text));
        if !resolved {
            return;
        }
    }
    if matched_any && f.severity > Severity::Info {
        f.severity = Severity::Info;
        f.summary = format!("{} — resolved later in the log", f.summary);
    }
}

fn unclassified_finding(c: &ContainerSnapshot, redactor: &Redactor) -> Finding {
    let (summary, evidence) = unclassified::evidence(c);
    Finding {
        id: unclassified::ID.into(),
        title: "A failing service that no rule explains".into(),
        service: c.service.clone(),
        severity: Severity::Error,
        summary: redactor.text(&summary),
        evidence: evidence
            .into_iter()
            .map(|e| match e {
                Evidence::Log {
                    container,
                    ts,
                    text,
                    occurrences,
                } => Evidence::Log {
                    container,
                    ts,
                    text: redactor.text(&text),
                    occurrences,
                },
                Evidence::Health {
                    container,
                    exit_code,
                    text,
                } => Evidence::Health {
                    container,
                    exit_code,
                    text: redactor.text(&text),
                },
                other => other,
            })
            .collect(),
        fix: None,
        effects: vec![],
        caused_by: None,
        rule: "built-in".into(),
        probes: vec![],
        ruled_out: vec![],
        confirmation: None,
    }
}

/// On one service, a finding whose rule `confirms` another's id takes that finding as an
/// effect; effect rules (restart-loop) fold under any cause on the same service.
fn fold_same_service(mut findings: Vec<Finding>, rules: &RuleSet) -> Vec<Finding> {
    let is_effect = |f: &Finding| rules.get(&f.id).is_some_and(|r| r.effect);
    let explains = |cause: &Finding, effect: &Finding| {
        cause.id != effect.id
            && (rules
                .get(&cause.id)
                .is_some_and(|r| r.confirms.contains(&effect.id))
                || (is_effect(effect) && !is_effect(cause)))
    };
    let mut i = 0;
    while i < findings.len() {
        let cause = findings
            .iter()
            .position(|c| explains(c, &findings[i]) && c.caused_by.is_none());
        match cause {
            Some(ci) if ci != i => {
                let mut effect = findings.remove(i);
                let ci = if ci > i { ci - 1 } else { ci };
                effect.caused_by = Some(format!("{} on {}", findings[ci].id, findings[ci].service));
                findings[ci].effects.push(effect);
                i = 0;
            }
            _ => i += 1,
        }
    }
    findings
}

/// Root causes first: higher severity first; a classified finding before the built-in
/// `unclassified-failure`; one a probe confirmed before one none did, and one no probe left
/// unknown before one some did; failing services before
/// healthy ones; the earliest evidence first (the first thing that broke usually broke the rest);
/// effects last. Run after matching, and again once probes and the chain have settled.
pub(crate) fn rank(findings: &mut [Finding], snapshot: &StackSnapshot) {
    let failing = |service: &str| {
        snapshot
            .containers
            .iter()
            .any(|c| c.service == service && unclassified::is_failing(c))
    };
    findings.sort_by_cached_key(|f| {
        let earliest = f
            .evidence
            .iter()
            .filter_map(Evidence::ts)
            .min()
            .map(String::from)
            .unwrap_or_else(|| "9999".into());
        (
            f.id == "restart-loop",
            Reverse(f.severity),
            f.id == unclassified::ID,
            !matches!(f.confirmation, Some(Confirmation::Confirmed { .. })),
            f.probes
                .iter()
                .any(|p| matches!(p.outcome, crate::probes::Outcome::Unknown(_))),
            !failing(&f.service),
            earliest,
            f.service.clone(),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::snapshot::{Health, HealthResult};

    fn db(results: &[(&str, i64)], status: &str) -> ContainerSnapshot {
        ContainerSnapshot {
            health: Some(Health {
                status: status.into(),
                failing_streak: 0,
                log: results
                    .iter()
                    .map(|(start, code)| HealthResult {
                        start: start.to_string(),
                        end: start.to_string(),
                        exit_code: *code,
                        output: String::new(),
                    })
                    .collect(),
            }),
            ..crate::stack::snapshot::testing::container("db")
        }
    }

    fn finding_at(ts: &str) -> Finding {
        Finding {
            summary: "PostgreSQL has no database `analylit`".into(),
            evidence: vec![Evidence::Log {
                container: "db_1".into(),
                ts: Some(ts.into()),
                text: "FATAL:  database \"analylit\" does not exist".into(),
                occurrences: 1,
            }],
            ..Finding::bare("pg-database-missing", "db")
        }
    }

    const CHECKS: [(&str, i64); 3] = [
        ("2026-11-21T03:53:08.9Z", 2),
        ("2026-11-21T03:53:10.9Z", 0),
        ("2026-11-21T03:53:12.9Z", 0),
    ];

    #[test]
    fn evidence_before_the_passing_run_of_a_healthy_service_becomes_info() {
        let c = db(&CHECKS, "healthy");
        let mut f = finding_at("2026-11-21T03:53:08.6Z");
        demote_if_stale(&mut f, &[&c]);
        assert_eq!(f.severity, Severity::Info);
        assert!(
            f.summary.contains("before db became healthy"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn evidence_during_the_passing_run_or_on_an_unhealthy_service_stays() {
        let c = db(&CHECKS, "healthy");
        let mut recent = finding_at("2026-11-21T03:53:11.0Z");
        demote_if_stale(&mut recent, &[&c]);
        assert_eq!(recent.severity, Severity::Error);

        let sick = db(&CHECKS, "unhealthy");
        let mut old = finding_at("2026-11-21T03:53:08.6Z");
        demote_if_stale(&mut old, &[&sick]);
        assert_eq!(old.severity, Severity::Error);
    }
}
