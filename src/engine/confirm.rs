//! Confirm: ask the running stack about the findings that need it, and let the answers reshape
//! the diagnosis.
//!
//! Matching ([`super::diagnose`]) only reads the snapshot, so look-alike failure classes (a health
//! check that gets 404: doubled blueprint prefix, lost `@route` decorator, initialisation failed
//! in every worker) all fire. Their rules declare probes (`[[probe]]`); this pass runs them —
//! once per container and probe kind, several containers at a time, each request bounded — and
//! attaches every [`ProbeResult`] to its finding. Then:
//!
//! - a finding with a probe **ruled out** leaves its list and is named, with the reason, in the
//!   `ruled_out` of the **confirmed** finding of the same service (a confirmed look-alike lists
//!   the ids it ruled out; for a folded effect, failing a confirmed sibling, its cause holds it);
//!   a ruled-out top-level finding with no confirmed finding to hold it stays, as `info`, its
//!   probe result saying why, so nothing the stack showed is silently lost;
//! - a **confirmed** finding moves above the unconfirmed findings of its service; the engine's
//!   order holds otherwise;
//! - a failing service left with no finding above `info` gets the built-in
//!   `unclassified-failure`, holding what was ruled out ([`super::answer_unexplained`]).
//!
//! This is the one stage after collection that talks to the stack (over HTTP, to 127.0.0.1 only).
use super::{Confirmation, Diagnosis, Evidence, Finding, walk_mut as walk};
use crate::probes::{self, Options, Outcome, ProbeResult, Probing, Recorded};
use crate::redact::Redactor;
use crate::rules::{ProbeSpec, RuleSet, Severity};
use crate::stack::snapshot::{ContainerSnapshot, StackSnapshot};
use futures_util::StreamExt;

/// Run the probes of every finding (and folded effect) whose rule has some, with the default
/// [`Options`] (3 s per request), and settle the diagnosis on their outcomes.
pub async fn confirm(
    diagnosis: Diagnosis,
    snapshot: &StackSnapshot,
    rules: &RuleSet,
    probing: Probing<'_>,
) -> Diagnosis {
    confirm_with(diagnosis, snapshot, rules, probing, &Options::default())
        .await
        .0
}

/// [`confirm`] with explicit bounds; also returns every probe result as run on its container
/// (redacted), for a bundle to replay.
pub async fn confirm_with(
    mut diagnosis: Diagnosis,
    snapshot: &StackSnapshot,
    rules: &RuleSet,
    probing: Probing<'_>,
    opts: &Options,
) -> (Diagnosis, Vec<Recorded>) {
    // Which probe specs each container needs, each once, and the evidence they are asked about.
    let mut plan: Vec<(&ContainerSnapshot, Vec<ProbeSpec>, Vec<String>)> = Vec::new();
    walk(&mut diagnosis.findings, &mut |f| {
        let Some(rule) = rules.get(&f.id).filter(|r| !r.probes.is_empty()) else {
            return;
        };
        let Some(c) = target(snapshot, f) else {
            return;
        };
        let at = match plan.iter().position(|(pc, _, _)| pc.name == c.name) {
            Some(at) => at,
            None => {
                plan.push((c, Vec::new(), Vec::new()));
                plan.len() - 1
            }
        };
        for spec in &rule.probes {
            if !plan[at].1.contains(spec) {
                plan[at].1.push(*spec);
            }
        }
        for e in &f.evidence {
            // What the service said, and the engine's own error for it (`.State.Error`, which
            // names the script that could not start).
            let text = match e {
                Evidence::Log { text, .. } | Evidence::Health { text, .. } => text,
                Evidence::State { field, value, .. } if field == "error" => value,
                Evidence::State { .. } => continue,
            };
            if !plan[at].2.contains(text) {
                plan[at].2.push(text.clone());
            }
        }
    });

    let done: Vec<(String, Vec<(ProbeSpec, ProbeResult)>)> = futures_util::stream::iter(plan)
        .map(|(c, specs, hints)| async move {
            let ctx = probes::Ctx {
                snapshot,
                container: c,
                docker: None,
                opts,
                hints: &hints,
            };
            let results = probes::run_or_replay(&specs, &ctx, probing).await;
            (c.name.clone(), specs.into_iter().zip(results).collect())
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;

    let redactor = Redactor::for_snapshot(snapshot);
    walk(&mut diagnosis.findings, &mut |f| {
        let Some(rule) = rules.get(&f.id).filter(|r| !r.probes.is_empty()) else {
            return;
        };
        let results = target(snapshot, f)
            .and_then(|c| done.iter().find(|(name, _)| *name == c.name))
            .map(|(_, results)| results.as_slice())
            .unwrap_or_default();
        f.probes = rule
            .probes
            .iter()
            .map(|spec| match results.iter().find(|(s, _)| s == spec) {
                Some((_, r)) => redacted(r, &redactor),
                None => ProbeResult::unknown(
                    spec,
                    format!("no container of {} to probe", f.service),
                    &[],
                ),
            })
            .collect();
    });

    settle(&mut diagnosis.findings, None);
    walk(&mut diagnosis.findings, &mut |f| {
        f.confirmation = Some(confirmation(f));
        // Ruled out with no look-alike to hold it: kept, so nothing is hidden, as info.
        if verdict(f) == Verdict::RuledOut && f.severity > Severity::Info {
            f.severity = Severity::Info;
            f.summary = format!("{} — ruled out by a probe", f.summary);
        }
    });
    // A failing service whose every finding was ruled out still owes an answer.
    super::answer_unexplained(&mut diagnosis.findings, snapshot, rules);
    walk(&mut diagnosis.findings, &mut |f| {
        if f.confirmation.is_none() {
            f.confirmation = Some(confirmation(f));
        }
    });
    let redactor = &redactor;
    let mut recorded: Vec<Recorded> = done
        .into_iter()
        .flat_map(|(container, results)| {
            results.into_iter().map(move |(_, r)| Recorded {
                container: container.clone(),
                result: redacted(&r, redactor),
            })
        })
        .collect();
    recorded.sort_by(|a, b| {
        (&a.container, &a.result.kind, &a.result.expect).cmp(&(
            &b.container,
            &b.result.kind,
            &b.result.expect,
        ))
    });
    (diagnosis, recorded)
}

/// Confirmed by the probes that confirmed it; otherwise, plainly, why not.
fn confirmation(f: &Finding) -> Confirmation {
    let by: Vec<String> = f
        .probes
        .iter()
        .filter(|p| p.outcome == Outcome::Confirmed)
        .map(|p| format!("{} ({})", p.kind, p.expect))
        .collect();
    if verdict(f) == Verdict::Confirmed {
        return Confirmation::Confirmed { by };
    }
    let reason = if f.probes.is_empty() {
        "no probe checks this class; the evidence is the matched text only".to_owned()
    } else {
        f.probes
            .iter()
            .map(|p| format!("{}: {}", p.kind, p.summary))
            .collect::<Vec<_>>()
            .join("; ")
    };
    Confirmation::Unconfirmed { reason }
}

/// The container a finding's probes ask: the one whose health output is in its evidence, else a
/// running one of its service with a health check, else any of its service.
fn target<'s>(snapshot: &'s StackSnapshot, f: &Finding) -> Option<&'s ContainerSnapshot> {
    let of_service = || {
        snapshot
            .containers
            .iter()
            .filter(|c| c.service == f.service)
    };
    let in_evidence = |c: &&ContainerSnapshot| {
        f.evidence
            .iter()
            .any(|e| matches!(e, Evidence::Health { container, .. } if *container == c.name))
    };
    of_service()
        .find(in_evidence)
        .or_else(|| of_service().find(|c| c.healthcheck.is_some() && c.state.status == "running"))
        .or_else(|| of_service().next())
}

/// A probe result with its texts masked. Its located `data` and locations stay raw: a fix writes them back
/// (the health URL into the compose file); printers mask it with [`Diagnosis::mask`](super::Diagnosis::mask).
fn redacted(r: &ProbeResult, redactor: &Redactor) -> ProbeResult {
    ProbeResult {
        location: r.location.clone(),
        project_location: r.project_location.clone(),
        data: r.data.clone(),
        ..r.masked(redactor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Confirmed,
    RuledOut,
    Open,
}

/// Ruled out as soon as one probe rules it out; confirmed when one confirms it and none rules it
/// out.
fn verdict(f: &Finding) -> Verdict {
    if f.probes.iter().any(|p| p.outcome == Outcome::RuledOut) {
        Verdict::RuledOut
    } else if f.probes.iter().any(|p| p.outcome == Outcome::Confirmed) {
        Verdict::Confirmed
    } else {
        Verdict::Open
    }
}

/// `"<id>: <why>"` of a ruled-out finding.
fn ruled_out_line(f: &Finding) -> String {
    let why = f
        .probes
        .iter()
        .find(|p| p.outcome == Outcome::RuledOut)
        .map_or("ruled out", |p| p.summary.as_str());
    format!("{}: {why}", f.id)
}

/// Apply the outcomes to `list` (a diagnosis's findings, or the effects of `parent`), effects
/// first.
fn settle(list: &mut Vec<Finding>, mut parent: Option<&mut Finding>) {
    for f in list.iter_mut() {
        let mut effects = std::mem::take(&mut f.effects);
        settle(&mut effects, Some(f));
        f.effects = effects;
    }
    let mut i = 0;
    while i < list.len() {
        if verdict(&list[i]) != Verdict::RuledOut {
            i += 1;
            continue;
        }
        let holder = holder(list, i);
        if holder.is_none() && parent.is_none() {
            i += 1;
            continue;
        }
        let mut out = list.remove(i);
        let mut lines = vec![ruled_out_line(&out)];
        lines.append(&mut out.ruled_out);
        let effects = std::mem::take(&mut out.effects);
        match holder {
            Some(h) => {
                let h = if h > i { h - 1 } else { h };
                let holder = &mut list[h];
                holder.ruled_out.extend(lines);
                for mut e in effects {
                    e.caused_by = Some(format!("{} on {}", holder.id, holder.service));
                    holder.effects.push(e);
                }
            }
            None => {
                // An effect with no confirmed sibling: its cause holds it, and takes over its own
                // effects (they stay in this list, which is the cause's effects).
                let cause = parent.as_deref_mut().expect("checked above");
                cause.ruled_out.extend(lines);
                for mut e in effects {
                    e.caused_by = Some(format!("{} on {}", cause.id, cause.service));
                    list.insert(i, e);
                    i += 1;
                }
            }
        }
    }
    raise_confirmed(list);
}

/// The confirmed finding of `list[i]`'s service that holds it when it is ruled out: one that ran
/// a probe of the same kind first, else any confirmed one.
fn holder(list: &[Finding], i: usize) -> Option<usize> {
    let out = &list[i];
    let candidates = || {
        list.iter().enumerate().filter(move |&(j, h)| {
            j != i && h.service == out.service && verdict(h) == Verdict::Confirmed
        })
    };
    let same_kind = |h: &Finding| {
        h.probes
            .iter()
            .any(|p| out.probes.iter().any(|q| q.kind == p.kind))
    };
    candidates()
        .find(|&(_, h)| same_kind(h))
        .or_else(|| candidates().next())
        .map(|(j, _)| j)
}

/// Within each service, confirmed findings first, fully confirmed (no probe unknown) before partly;
/// every finding keeps its slot otherwise (the slots of a service are reused in order, so other
/// services do not move).
fn raise_confirmed(list: &mut Vec<Finding>) {
    let mut slots: Vec<Option<Finding>> = list.drain(..).map(Some).collect();
    let mut services: Vec<String> = Vec::new();
    for f in slots.iter().flatten() {
        if !services.contains(&f.service) {
            services.push(f.service.clone());
        }
    }
    for service in services {
        let at: Vec<usize> = slots
            .iter()
            .enumerate()
            .filter(|(_, f)| f.as_ref().is_some_and(|f| f.service == service))
            .map(|(i, _)| i)
            .collect();
        let mut group: Vec<Finding> = at.iter().filter_map(|&i| slots[i].take()).collect();
        // Confirmed first; among those, one no probe left unknown before one still open.
        group.sort_by_key(|f| {
            (
                verdict(f) != Verdict::Confirmed,
                f.probes
                    .iter()
                    .any(|p| matches!(p.outcome, Outcome::Unknown(_))),
            )
        });
        for (i, f) in at.into_iter().zip(group) {
            slots[i] = Some(f);
        }
    }
    list.extend(slots.into_iter().flatten());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;

    fn finding(id: &str, service: &str, outcome: Option<Outcome>) -> Finding {
        Finding {
            severity: Severity::Warning,
            rule: format!("rules/{id}.toml"),
            probes: outcome
                .into_iter()
                .map(|outcome| ProbeResult {
                    kind: "http-route".into(),
                    expect: "x".into(),
                    summary: format!("{id} is {}", outcome.as_str()),
                    outcome,
                    facts: vec![],
                    location: None,
                    project_location: None,
                    data: Default::default(),
                })
                .collect(),
            ..Finding::bare(id, service)
        }
    }

    fn ids(list: &[Finding]) -> Vec<&str> {
        list.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn ruled_out_moves_under_the_confirmed_look_alike_which_rises() {
        let mut list = vec![
            finding("a", "web", Some(Outcome::RuledOut)),
            finding("other", "db", None),
            finding("open", "web", Some(Outcome::Unknown("?".into()))),
            finding("b", "web", Some(Outcome::Confirmed)),
        ];
        list[0].effects = vec![finding("restart-loop", "web", None)];
        settle(&mut list, None);
        // `b` rises within web's slots; db's finding keeps its place.
        assert_eq!(ids(&list), ["other", "b", "open"]);
        assert_eq!(list[1].ruled_out, ["a: a is ruled_out"]);
        assert_eq!(ids(&list[1].effects), ["restart-loop"]);
        assert_eq!(list[1].effects[0].caused_by.as_deref(), Some("b on web"));
    }

    #[test]
    fn a_ruled_out_finding_with_no_holder_stays() {
        let mut list = vec![
            finding("a", "web", Some(Outcome::RuledOut)),
            finding("b", "worker", Some(Outcome::Confirmed)),
        ];
        settle(&mut list, None);
        assert_eq!(ids(&list), ["a", "b"]);
        assert!(list.iter().all(|f| f.ruled_out.is_empty()));
    }

    #[test]
    fn effects_settle_under_a_sibling_or_their_cause() {
        let mut cause = finding("cause", "web", Some(Outcome::Confirmed));
        cause.effects = vec![
            finding("a", "web", Some(Outcome::RuledOut)),
            finding("b", "web", Some(Outcome::Confirmed)),
        ];
        let mut list = vec![cause];
        settle(&mut list, None);
        assert_eq!(ids(&list[0].effects), ["b"]);
        assert_eq!(list[0].effects[0].ruled_out, ["a: a is ruled_out"]);

        let mut cause = finding("cause", "web", None);
        cause.effects = vec![finding("a", "web", Some(Outcome::RuledOut))];
        let mut list = vec![cause];
        settle(&mut list, None);
        assert!(list[0].effects.is_empty());
        assert_eq!(list[0].ruled_out, ["a: a is ruled_out"]);
    }
}
