//! `analylit-doctor rules test`: run the `[[test]]` cases rule files carry ([`RuleCase`]).
//!
//! Each case goes through the whole pipeline, not the rule alone: a bundle is diagnosed as
//! `check --from` would (every rule, the recorded probes replayed, the chain), and a case written
//! as text becomes a one-container snapshot diagnosed offline. So a case also proves that the
//! look-alikes do not steal the finding, and a `no-match` on a healthy bundle that the rule does
//! not fire where nothing is wrong. Every tested rule needs at least one `match` and one
//! `no-match` case; a rule without them fails.
//!
//! A `line` case is the exception: one line against the rule's own patterns of its kind, no
//! pipeline — the unit test of one wording (another version's, a catalogue quote).
use crate::bundle::{self, Bundle};
use crate::engine::{Diagnosis, Finding};
use crate::probes::Probing;
use crate::rules::{
    CaseExpect, CaseInput, CaseState, LineKind, Rule, RuleCase, RuleSet, Severity, Symptom,
};
use crate::stack::snapshot::{
    ContainerSnapshot, Health, HealthResult, LogLine, StackSnapshot, Stream,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The verdict on one case, or on a rule's coverage (`line` 0).
#[derive(Debug, Clone, Serialize)]
pub struct CaseOutcome {
    pub rule: String,
    /// `rules/x.toml:42`: where the case is written (the file alone for coverage).
    pub at: String,
    /// `bundle healthy.tar.gz`, `text of web`, or `-` for coverage.
    pub input: String,
    /// `match`, `no-match`, or `coverage`.
    pub expect: &'static str,
    pub passed: bool,
    /// What decided it: the finding seen, or why the case failed.
    pub detail: String,
}

/// Run the cases of every rule of `set` that `wanted` keeps, with the whole set diagnosing.
pub async fn run(set: &RuleSet, wanted: impl Fn(&Rule) -> bool) -> Vec<CaseOutcome> {
    let mut bundles: HashMap<PathBuf, Result<Diagnosis, String>> = HashMap::new();
    let mut out = Vec::new();
    for rule in set.iter().filter(|r| wanted(r)) {
        for case in &rule.tests {
            let diagnosis = match &case.input {
                CaseInput::Line { kind, text } => {
                    let (passed, detail) = judge_line(rule, *kind, text, &case.expect);
                    out.push(outcome(rule, case, passed, detail));
                    continue;
                }
                CaseInput::Bundle { path } => {
                    let at = bundle_path(rule, path);
                    if !bundles.contains_key(&at) {
                        let diagnosed = match bundle::read_file(&at) {
                            Ok(b) => Ok(diagnose_bundle(&b, set).await),
                            Err(e) => Err(format!("cannot read {}: {}", at.display(), e.reason)),
                        };
                        bundles.insert(at.clone(), diagnosed);
                    }
                    bundles[&at].clone()
                }
                CaseInput::Inline {
                    service,
                    logs,
                    health,
                    state,
                } => Ok(diagnose_inline(service, logs, health, state, set).await),
            };
            let (passed, detail) = match diagnosis {
                Ok(d) => judge(rule, case, &d),
                Err(e) => (false, e),
            };
            out.push(outcome(rule, case, passed, detail));
        }
        out.extend(coverage(rule));
    }
    out
}

fn outcome(rule: &Rule, case: &RuleCase, passed: bool, detail: String) -> CaseOutcome {
    CaseOutcome {
        rule: rule.id.clone(),
        at: format!("{}:{}", rule.source.path, case.line),
        input: case.input.describe(),
        expect: if case.expect.is_match() {
            "match"
        } else {
            "no-match"
        },
        passed,
        detail,
    }
}

/// A line case: does one of the rule's patterns of `kind` match `text` (with the captures the
/// case asks for)?
pub fn judge_line(rule: &Rule, kind: LineKind, text: &str, expect: &CaseExpect) -> (bool, String) {
    let matched: Vec<BTreeMap<&str, &str>> = rule
        .symptoms
        .iter()
        .filter_map(|s| match (s, kind) {
            (Symptom::Logs { regex, .. }, LineKind::Logs)
            | (Symptom::Health { regex, .. }, LineKind::Health) => regex.captures(text).map(|c| {
                regex
                    .capture_names()
                    .flatten()
                    .filter_map(|n| c.name(n).map(|m| (n, m.as_str())))
                    .collect()
            }),
            _ => None,
        })
        .collect();
    let kind = kind.as_str();
    match expect {
        CaseExpect::NoMatch { .. } => match matched.first() {
            None => (true, format!("no {kind} pattern matches")),
            Some(_) => (false, format!("a {kind} pattern matches the line")),
        },
        CaseExpect::Match { captures, .. } => {
            let holds = |got: &BTreeMap<&str, &str>| {
                captures
                    .iter()
                    .all(|(k, v)| got.get(k.as_str()) == Some(&v.as_str()))
            };
            match matched.iter().find(|got| holds(got)) {
                Some(got) if got.is_empty() => (true, format!("a {kind} pattern matches")),
                Some(got) => (true, format!("a {kind} pattern matches, capturing {got:?}")),
                None if matched.is_empty() => (false, format!("no {kind} pattern matches")),
                None => (
                    false,
                    format!("matched, but captured {matched:?}, not {captures:?}"),
                ),
            }
        }
    }
}

/// A rule without a positive or a negative case fails.
fn coverage(rule: &Rule) -> Option<CaseOutcome> {
    let has = |want: bool| rule.tests.iter().any(|c| c.expect.is_match() == want);
    let missing: Vec<&str> = [
        (true, "`expect = \"match\"`"),
        (false, "`expect = \"no-match\"`"),
    ]
    .into_iter()
    .filter(|&(want, _)| !has(want))
    .map(|(_, what)| what)
    .collect();
    (!missing.is_empty()).then(|| CaseOutcome {
        rule: rule.id.clone(),
        at: rule.source.path.clone(),
        input: "-".into(),
        expect: "coverage",
        passed: false,
        detail: format!("no {} test", missing.join(" and no ")),
    })
}

/// A case's bundle path is relative to the folder of its rule file.
fn bundle_path(rule: &Rule, path: &str) -> PathBuf {
    let base = Path::new(&rule.source.path)
        .parent()
        .unwrap_or_else(|| Path::new(""));
    base.join(path)
}

async fn diagnose_bundle(b: &Bundle, set: &RuleSet) -> Diagnosis {
    bundle::diagnose(b, set).await
}

async fn diagnose_inline(
    service: &str,
    logs: &str,
    health: &str,
    state: &CaseState,
    set: &RuleSet,
) -> Diagnosis {
    let snapshot = inline_snapshot(service, logs, health, state);
    let opts = crate::probes::Options::default();
    crate::engine::run(&snapshot, set, Probing::Live(None), &opts)
        .await
        .0
}

/// One container of `service` holding the case's text: a container that ran (its state is
/// known, unlike pasted logs), running unless the case says otherwise.
fn inline_snapshot(service: &str, logs: &str, health: &str, state: &CaseState) -> StackSnapshot {
    use crate::rules::{ContainerStatus, HealthStatus};
    let lines: Vec<LogLine> = logs
        .lines()
        .map(|text| LogLine {
            ts: None,
            stream: Stream::Stdout,
            text: text.to_owned(),
        })
        .collect();
    let mut snapshot = crate::stack::paste::snapshot_from_logs(
        "rule-test",
        BTreeMap::from([(service.to_owned(), lines)]),
    );
    let c: &mut ContainerSnapshot = &mut snapshot.containers[0];
    let status = state.status.unwrap_or(ContainerStatus::Running);
    c.state.status = status.as_str().to_owned();
    c.state.running = matches!(
        status,
        ContainerStatus::Running | ContainerStatus::Restarting
    );
    c.state.restarting = status == ContainerStatus::Restarting;
    c.state.exit_code = state.exit_code.unwrap_or(0);
    c.state.oom_killed = state.oom_killed;
    c.state.error = state.error.clone().unwrap_or_default();
    if state.task_state.is_some() || state.update_state.is_some() {
        // A Swarm task: the error is the manager's, not the container's.
        let (running, desired) = (
            state.replicas_running.unwrap_or(0),
            state.replicas_desired.unwrap_or(1),
        );
        c.task = Some(crate::stack::snapshot::SwarmTask {
            state: state.task_state.unwrap_or("running").to_owned(),
            desired_state: "running".into(),
            error: std::mem::take(&mut c.state.error),
            service_running: running,
            service_desired: desired,
            update_state: state.update_state.unwrap_or_default().to_owned(),
            ..Default::default()
        });
        snapshot.backend.kind = crate::stack::snapshot::BackendKind::Swarm;
    }
    c.state.started_at = "2026-01-01T00:00:00Z".into();
    if !c.state.running {
        c.state.finished_at = "2026-01-01T00:01:00Z".into();
    }
    c.restart_count = state.restarts;
    let health_status = match state.health {
        Some(HealthStatus::None) => None,
        Some(h) => Some(h.as_str()),
        None if !health.is_empty() => Some("unhealthy"),
        None => None,
    };
    c.health = health_status.map(|status| Health {
        status: status.to_owned(),
        failing_streak: if status == "unhealthy" { 3 } else { 0 },
        log: health
            .lines()
            .map(|output| HealthResult {
                start: "2026-01-01T00:00:30Z".into(),
                end: "2026-01-01T00:00:31Z".into(),
                exit_code: if status == "healthy" { 0 } else { 1 },
                output: output.to_owned(),
            })
            .collect(),
    });
    snapshot
}

/// `id on service` of each cause, for a failure's detail.
fn causes(d: &Diagnosis) -> String {
    let top: Vec<String> = d
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| format!("{} on {}", f.id, f.service))
        .collect();
    if top.is_empty() {
        "the diagnosis has no finding above info".into()
    } else {
        format!("the diagnosis has {}", top.join(", "))
    }
}

fn judge(rule: &Rule, case: &RuleCase, d: &Diagnosis) -> (bool, String) {
    let service = case.expect.service();
    let found: Vec<&Finding> = d
        .problems()
        .into_iter()
        .filter(|f| f.id == rule.id)
        .filter(|f| service.is_none_or(|s| f.service == s))
        .collect();
    let on = service.map(|s| format!(" on {s}")).unwrap_or_default();
    match &case.expect {
        CaseExpect::NoMatch { .. } => match found.first() {
            None => (true, format!("no finding{on}")),
            Some(f) => (false, format!("found{on}: {}", f.summary)),
        },
        CaseExpect::Match {
            root, summary, fix, ..
        } => {
            let Some(f) = found.first() else {
                let ruled_out = d
                    .all_findings()
                    .into_iter()
                    .flat_map(|f| &f.ruled_out)
                    .find(|line| line.starts_with(&format!("{}:", rule.id)));
                return match ruled_out {
                    Some(why) => (false, format!("ruled out by a probe — {why}")),
                    None => (false, format!("no finding{on}; {}", causes(d))),
                };
            };
            if *root {
                let first = d.findings.first();
                let is_root = first
                    .is_some_and(|r| r.id == rule.id && service.is_none_or(|s| r.service == s));
                if !is_root {
                    return (
                        false,
                        format!("found, but not as the root cause; {}", causes(d)),
                    );
                }
            }
            if let Some(re) = summary
                && !found.iter().any(|f| re.is_match(&f.summary))
            {
                return (
                    false,
                    format!("summary {:?} does not match /{}/", f.summary, re.as_str()),
                );
            }
            if let Some(want) = fix {
                let got = f.fix.as_ref().map(|x| x.safety);
                if got != Some(*want) {
                    return (
                        false,
                        format!(
                            "fix is {}, expected {}",
                            got.map_or("none", |s| s.as_str()),
                            want.as_str()
                        ),
                    );
                }
            }
            let how = if f.caused_by.is_some() {
                " (folded under its cause)"
            } else {
                ""
            };
            (
                true,
                format!("{} on {}{how}: {}", f.id, f.service, f.summary),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_file(tests: &str) -> RuleSet {
        let text = format!(
            r#"id = "name-not-defined"
title = "A name is used but never defined"
severity = "error"
summary = "`{{name}}` is not defined"
explanation = "x"

[[symptom]]
logs = '''NameError: name '(?P<name>\w+)' is not defined'''
required = true

[fix]
title = "Import it"
safety = "manual"
steps = ["import {{name}}"]
{tests}"#
        );
        crate::rules::load_files(&[("rules/name-not-defined.toml", text)]).expect("rule loads")
    }

    fn outcomes(set: &RuleSet) -> Vec<CaseOutcome> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(set, |_| true))
    }

    #[test]
    fn text_cases_pass_and_fail_on_what_the_pipeline_says() {
        let set = rule_file(
            r#"
[[test]]
service = "web"
logs = "NameError: name 'init_db' is not defined"
state = { status = "exited", exit_code = 3 }
expect = "match"
root = true
summary = "init_db"
fix = "manual"

[[test]]
service = "web"
logs = "Booting worker with pid: 7"
expect = "no-match"

[[test]]
service = "web"
logs = "NameError: name 'init_db' is not defined"
expect = "no-match"

[[test]]
service = "web"
logs = "NameError: name 'init_db' is not defined"
expect = "match"
summary = "Session"
"#,
        );
        let got = outcomes(&set);
        let verdicts: Vec<(bool, &str)> = got.iter().map(|o| (o.passed, o.expect)).collect();
        assert_eq!(
            verdicts,
            [
                (true, "match"),
                (true, "no-match"),
                (false, "no-match"),
                (false, "match")
            ],
            "{got:#?}"
        );
        assert!(
            got[0].detail.contains("`init_db` is not defined"),
            "{got:#?}"
        );
        assert!(got[2].detail.starts_with("found"), "{got:#?}");
        assert!(
            got[3].detail.contains("does not match /Session/"),
            "{got:#?}"
        );
        assert_eq!(
            got[0].at, "rules/name-not-defined.toml:16",
            "the `[[test]]` line"
        );
    }

    #[test]
    fn a_rule_without_a_negative_case_fails_its_coverage() {
        let set = rule_file(
            r#"
[[test]]
service = "web"
logs = "NameError: name 'x' is not defined"
expect = "match"
"#,
        );
        let got = outcomes(&set);
        let coverage: Vec<&CaseOutcome> = got.iter().filter(|o| o.expect == "coverage").collect();
        assert_eq!(coverage.len(), 1, "{got:#?}");
        assert!(!coverage[0].passed);
        assert_eq!(coverage[0].detail, "no `expect = \"no-match\"` test");
    }

    #[test]
    fn a_missing_bundle_fails_with_its_path() {
        let set = rule_file(
            r#"
[[test]]
bundle = "../fixtures/bundles/no-such.tar.gz"
expect = "no-match"
"#,
        );
        let got = outcomes(&set);
        assert!(!got[0].passed);
        assert!(
            got[0]
                .detail
                .contains("rules/../fixtures/bundles/no-such.tar.gz"),
            "{got:#?}"
        );
    }
}
