//! Match and rank: from a [`StackSnapshot`] and a [`RuleSet`] to a [`Diagnosis`] — findings
//! about services, root causes first, effects folded under their cause, every text redacted.
//!
//! Nothing here talks to Docker: the same engine runs on a live snapshot or a recorded one.
pub mod chain;
pub mod confirm;
pub mod handled;
pub mod literals;
pub mod locate;
pub mod matcher;
pub mod unclassified;

pub use crate::model::{Confirmation, Evidence, Finding, FixView};
use crate::redact::Redactor;
use crate::rules::{RuleSet, Severity};
use crate::stack::snapshot::{ContainerSnapshot, StackSnapshot};
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

    /// Show in the overview only what pasted text told (no `restarts 0` it never said), and
    /// keep what was read.
    pub fn told_by(&mut self, pasted: &crate::stack::paste::Pasted) {
        for s in &mut self.services {
            let k = pasted.known.get(&s.name).copied().unwrap_or_default();
            if !k.status {
                s.state = crate::stack::paste::UNKNOWN_STATUS.into();
            }
            if !k.exit_code {
                s.exit_code = None;
            }
            if !k.restarts {
                s.restarts = None;
            }
            if !k.health {
                s.health = None;
            }
        }
        self.input = Some(pasted.input.clone());
    }

    /// Mask every text of every finding (see [`Finding::mask`]).
    pub fn mask(&mut self, r: &Redactor) {
        for f in &mut self.findings {
            f.mask(r);
        }
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

/// The whole diagnosis of a snapshot, as every entry point makes it (live `check`, `wait`, `fix`'s
/// verification, `--logs`, `--from`, `rules test`): match the rules, confirm with the probes the
/// way `probing` says (live, replayed from a bundle, or from the working tree), fold effects
/// under their causes, and — on a live stack, whose project is on this disk — point what the
/// probes located at the project's files. Returns the probe results as run, for a bundle.
pub async fn run(
    snapshot: &StackSnapshot,
    rules: &RuleSet,
    probing: crate::probes::Probing<'_>,
    opts: &crate::probes::Options,
) -> (Diagnosis, Vec<crate::probes::Recorded>) {
    let diagnosis = diagnose(snapshot, rules);
    let (mut diagnosis, recorded) =
        confirm::confirm_with(diagnosis, snapshot, rules, probing, opts).await;
    chain::chain(&mut diagnosis.findings, snapshot, rules);
    if matches!(probing, crate::probes::Probing::Live(Some(_))) {
        locate::locate(&mut diagnosis, snapshot);
    }
    (diagnosis, recorded)
}

/// Match the rules against a snapshot: the first stage of [`run`], before any probe.
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
        let mut service_findings = Vec::new();
        for m in &matches {
            let mut f = to_finding(m, &redactor);
            if m.handled {
                demote_handled(&mut f);
            }
            demote_if_stale(&mut f, &containers);
            demote_if_resolved(&mut f, m.rule, &containers);
            service_findings.push(f);
        }
        findings.extend(fold_same_service(service_findings, rules));
    }
    answer_unexplained(&mut findings, snapshot, rules);
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
                let groups = matcher::group_lines(lines, matcher::EVIDENCE_LINES);
                let shown: usize = groups.iter().map(|g| g.count).sum();
                let more = total.saturating_sub(shown);
                let mut last_pushed = None;
                for g in groups {
                    let text = redactor.text(&g.last.text);
                    // The same line held by two symptoms is shown once.
                    let seen = evidence.iter().any(|e| {
                        matches!(e, Evidence::Log { container, text: t, .. }
                            if *container == g.container.name && *t == text)
                    });
                    if seen {
                        continue;
                    }
                    evidence.push(Evidence::Log {
                        container: g.container.name.clone(),
                        ts: g.last.ts.clone(),
                        first_ts: g.first.ts.clone().filter(|_| g.first.ts != g.last.ts),
                        text,
                        occurrences: g.count,
                        more: 0,
                    });
                    last_pushed = Some(evidence.len() - 1);
                }
                if let Some(Evidence::Log { more: m, .. }) =
                    last_pushed.and_then(|i| evidence.get_mut(i))
                {
                    *m = more;
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
            automatic: !f.actions.is_empty(),
        }),
        effects: vec![],
        caused_by: None,
        rule: rule.source.path.clone(),
        probes: vec![],
        ruled_out: vec![],
        confirmation: None,
    }
}

/// A rule that fired only on lines the application logged as handled, in containers that stay
/// up (see [`handled`]): no problem. Kept, as `info`, so nothing is hidden.
fn demote_handled(f: &mut Finding) {
    if f.severity > Severity::Info {
        f.severity = Severity::Info;
        f.summary = format!(
            "{} — logged as handled (at INFO/DEBUG, or ignored), and {} stays up",
            f.summary, f.service
        );
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
                    first_ts,
                    more,
                } => Evidence::Log {
                    container,
                    ts,
                    text: redactor.text(&text),
                    occurrences,
                    first_ts,
                    more,
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

/// Every failing service gets an answer: one with no finding above `info` that is a cause (only
/// effects such as restart-loop, look-alikes a probe ruled out, handled or stale lines) gets the
/// built-in `unclassified-failure`, from its worst failing container. The answer takes the
/// service's effects under it, and the look-alikes a probe ruled out into its `ruled_out`, so the
/// report says what was checked. Run after matching, and again once probes have ruled findings
/// out ([`confirm`]).
pub(crate) fn answer_unexplained(
    findings: &mut Vec<Finding>,
    snapshot: &StackSnapshot,
    rules: &RuleSet,
) {
    let is_effect = |f: &Finding| rules.get(&f.id).is_some_and(|r| r.effect);
    let redactor = Redactor::for_snapshot(snapshot);
    for service in snapshot.services() {
        let answered = findings
            .iter()
            .any(|f| f.service == service && f.severity > Severity::Info && !is_effect(f));
        let failing = snapshot
            .containers
            .iter()
            .filter(|c| c.service == service && unclassified::is_failing(c))
            .max_by_key(|c| c.restart_count);
        let (false, Some(c)) = (answered, failing) else {
            continue;
        };
        let mut answer = unclassified_finding(c, &redactor);
        let mut i = 0;
        while i < findings.len() {
            let f = &findings[i];
            let ruled_out = f
                .probes
                .iter()
                .find(|p| p.outcome == crate::probes::Outcome::RuledOut)
                .map(|p| format!("{}: {}", f.id, p.summary));
            if f.service != service || !(is_effect(f) || ruled_out.is_some()) {
                i += 1;
                continue;
            }
            let mut f = findings.remove(i);
            let mut moved = vec![];
            if let Some(line) = ruled_out {
                answer.ruled_out.push(line);
                answer.ruled_out.append(&mut f.ruled_out);
                moved.append(&mut f.effects);
            } else {
                moved.push(f);
            }
            for mut e in moved {
                e.caused_by = Some(format!("{} on {}", unclassified::ID, service));
                answer.effects.push(e);
            }
        }
        findings.push(answer);
    }
}

/// On one service, a finding whose rule `confirms` another's id takes that finding as an
/// effect; effect rules (restart-loop) fold under any cause on the same service.
pub(crate) fn fold_same_service(mut findings: Vec<Finding>, rules: &RuleSet) -> Vec<Finding> {
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
    use crate::stack::snapshot::testing;
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
                first_ts: None,
                more: 0,
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

    /// `c` with these log lines (one per line of `text`).
    fn logging(mut c: ContainerSnapshot, text: &str) -> ContainerSnapshot {
        c.logs.lines = text
            .lines()
            .map(|t| crate::stack::snapshot::LogLine {
                ts: None,
                stream: crate::stack::snapshot::Stream::Stderr,
                text: t.to_owned(),
            })
            .collect();
        c
    }

    fn rules() -> RuleSet {
        crate::rules::load_embedded().expect("embedded rules")
    }

    fn ids(d: &Diagnosis) -> Vec<(String, String, Severity)> {
        d.all_findings()
            .iter()
            .map(|f| (f.id.clone(), f.service.clone(), f.severity))
            .collect()
    }

    /// Match, then run the probes that read only the snapshot (as `rules test` does).
    fn diagnose_and_confirm(snapshot: &StackSnapshot) -> Diagnosis {
        let rules = rules();
        let d = diagnose(snapshot, &rules);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(confirm::confirm(
                d,
                snapshot,
                &rules,
                crate::probes::Probing::Live(None),
            ))
    }

    const SEGFAULTS: &str = "[2024-05-01 10:00:00 +0000] [1] [INFO] Starting gunicorn 21.2.0\n\
        [2024-05-01 10:00:01 +0000] [1] [ERROR] Worker (pid:9) was sent SIGSEGV!\n\
        [2024-05-01 10:00:02 +0000] [1] [ERROR] Worker (pid:10) was sent SIGSEGV!\n\
        [2024-05-01 10:00:03 +0000] [1] [ERROR] Worker (pid:11) was sent SIGSEGV!";

    #[test]
    fn workers_that_keep_dying_under_a_master_that_stays_up_are_a_cause() {
        use crate::stack::snapshot::testing::stack;
        let web = logging(testing::container("web"), SEGFAULTS);
        let d = diagnose(&stack(vec![testing::container("db"), web]), &rules());
        assert!(d.has_problems(), "never `no problems found`");
        let first = &d.findings[0];
        assert_eq!(
            (first.id.as_str(), first.service.as_str()),
            (unclassified::ID, "web")
        );
        assert_eq!(first.severity, Severity::Error);
        assert!(
            first
                .summary
                .starts_with("3 gunicorn workers died (SIGSEGV ×3)"),
            "{}",
            first.summary
        );
        assert!(first.evidence.iter().any(|e| matches!(e,
            Evidence::Log { text, occurrences: 3, .. } if text.contains("(pid:11) was sent SIGSEGV!"))));
        assert_eq!(d.services[1].name, "web");
    }

    #[test]
    fn a_restart_loop_no_rule_explains_folds_under_the_answer() {
        use crate::stack::snapshot::testing::{exited, stack};
        let mut worker = exited(testing::container("worker"), 2, true);
        worker.restart_count = 4;
        let d = diagnose(&stack(vec![worker]), &rules());
        assert_eq!(d.findings.len(), 1, "{:#?}", ids(&d));
        assert_eq!(d.findings[0].id, unclassified::ID);
        assert_eq!(d.findings[0].effects[0].id, "restart-loop");
        assert_eq!(
            d.findings[0].effects[0].caused_by.as_deref(),
            Some("unclassified-failure on worker")
        );
    }

    const UNRESOLVED_AT_INFO: &str = "2024-05-01 10:00:00,000 INFO analylit: optional cache: \
        could not translate host name \"cache\" to address: Name or service not known (ignored)";
    const UNRESOLVED_AT_ERROR: &str = "2024-05-01 10:00:00,000 ERROR analylit: \
        could not translate host name \"cache\" to address: Name or service not known";

    #[test]
    fn an_error_logged_as_handled_by_a_service_that_stays_up_is_info() {
        use crate::stack::snapshot::testing::stack;
        let web = logging(testing::container("web"), UNRESOLVED_AT_INFO);
        let d = diagnose(&stack(vec![web]), &rules());
        assert_eq!(
            ids(&d),
            [("host-unresolvable".into(), "web".into(), Severity::Info)]
        );
        assert!(d.findings[0].summary.contains("logged as handled"));
        assert!(!d.has_problems());

        // A traceback the app logged at INFO: init-ddl-race's text, handled.
        let web = logging(
            testing::container("web"),
            "2024-05-01 10:00:00,000 INFO app: ignore exception, probably concurrent\n\
             Traceback (most recent call last):\n  \
               File \"/app/server.py\", line 12, in init\n\
             sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key value \
             violates unique constraint \"pg_type_typname_nsp_index\"",
        );
        let d = diagnose(&stack(vec![web]), &rules());
        assert_eq!(
            ids(&d),
            [("init-ddl-race".into(), "web".into(), Severity::Info)]
        );
    }

    #[test]
    fn the_same_text_at_error_or_on_a_failing_service_still_fires() {
        use crate::stack::snapshot::testing::{exited, stack};
        let at_error = logging(testing::container("web"), UNRESOLVED_AT_ERROR);
        let d = diagnose(&stack(vec![at_error]), &rules());
        assert_eq!(
            ids(&d),
            [("host-unresolvable".into(), "web".into(), Severity::Error)]
        );

        // At INFO, but the service crashes: its state decides, not the level.
        let crashing = logging(
            exited(testing::container("web"), 1, true),
            UNRESOLVED_AT_INFO,
        );
        let d = diagnose(&stack(vec![crashing]), &rules());
        assert_eq!(d.findings[0].id, "host-unresolvable");
        assert_eq!(d.findings[0].severity, Severity::Error);

        // At INFO on a running service whose workers die.
        let dying = logging(
            testing::container("web"),
            &format!("{UNRESOLVED_AT_INFO}\n{SEGFAULTS}"),
        );
        let d = diagnose(&stack(vec![dying]), &rules());
        assert_eq!(d.findings[0].id, "host-unresolvable");
        assert_eq!(d.findings[0].severity, Severity::Error);
    }

    const KILLED: &str = "[2024-05-01 10:00:00 +0000] [1] [INFO] Starting gunicorn 21.2.0\n\
        [2024-05-01 10:00:01 +0000] [1] [ERROR] Worker (pid:9) was sent SIGKILL! Perhaps out of memory?\n\
        [2024-05-01 10:00:02 +0000] [1] [ERROR] Worker (pid:10) was sent SIGKILL! Perhaps out of memory?";

    #[test]
    fn workers_killed_with_the_oom_verdict_are_oom_killed_not_unclassified() {
        use crate::stack::snapshot::testing::stack;
        let mut web = logging(testing::container("web"), KILLED);
        web.memory_limit = 64 << 20;
        web.state.oom_killed = true;
        let d = diagnose_and_confirm(&stack(vec![web]));
        assert_eq!(
            ids(&d),
            [("oom-killed".into(), "web".into(), Severity::Error)]
        );
        assert!(matches!(
            d.findings[0].confirmation,
            Some(Confirmation::Confirmed { .. })
        ));
    }

    #[test]
    fn workers_killed_without_the_oom_verdict_get_an_answer_that_names_what_was_ruled_out() {
        use crate::stack::snapshot::testing::stack;
        let mut web = logging(testing::container("web"), KILLED);
        web.memory_limit = 64 << 20;
        let d = diagnose_and_confirm(&stack(vec![web]));
        assert_eq!(
            ids(&d),
            [(unclassified::ID.into(), "web".into(), Severity::Error)]
        );
        let answer = &d.findings[0];
        assert!(
            answer
                .summary
                .starts_with("2 gunicorn workers died (SIGKILL ×2)"),
            "{}",
            answer.summary
        );
        assert!(
            answer.ruled_out[0].starts_with("oom-killed: the kernel did not OOM-kill"),
            "{:?}",
            answer.ruled_out
        );
        assert!(d.has_problems());
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
