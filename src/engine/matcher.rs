//! Symptom matching: the required literals of every log pattern of every rule (see
//! [`super::literals`]) are compiled once into one Aho-Corasick automaton, so each line is
//! scanned once whatever the number of rules, and a line holding none of them costs nothing more
//! (most lines). Only the patterns whose literals a line holds run their regex on it; the few
//! patterns with no required literal run on every line. Health outputs (a few short lines) go
//! through a [`RegexSet`]. The rules whose patterns matched re-run their own regex for captures.
//!
//! Lines a container that stays up logged as handled (at INFO, or "ignored": see
//! [`super::handled`]) count last: a rule that fires only thanks to them is marked
//! [`RuleMatch::handled`], and the engine keeps it as `info`.
//!
//! A rule fires on a service when every `required` symptom holds and at least one log or health
//! symptom — or a state symptom on the engine's error text or OOM verdict (`state = { error =
//! '…' }`, `state = { oom_killed = true }`) — holds (a
//! rule made only of other state symptoms fires when they all hold). Other state symptoms alone
//! are supporting facts: many classes share an exit code.
use crate::rules::sets::patterns;
use crate::rules::{Rule, RuleSet, StateFacts, Symptom};
use crate::stack::snapshot::{ContainerSnapshot, LogLine};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexSet};
use std::collections::BTreeMap;

/// How many distinct matching lines per symptom are shown as evidence (the most recent ones),
/// each once with its count and its first and last time.
pub const EVIDENCE_LINES: usize = 3;

/// One distinct line among a symptom's matching lines: where, how often, first and last time.
#[derive(Debug, Clone)]
pub struct LineGroup<'s> {
    pub container: &'s ContainerSnapshot,
    pub first: &'s LogLine,
    pub last: &'s LogLine,
    pub count: usize,
}

/// The matching lines grouped by (container, text): the `keep` groups last logged most
/// recently, in the order they were first logged.
pub fn group_lines<'s>(
    lines: &[(&'s ContainerSnapshot, &'s LogLine)],
    keep: usize,
) -> Vec<LineGroup<'s>> {
    let mut groups: Vec<(usize, usize, LineGroup<'s>)> = Vec::new();
    let mut index: std::collections::HashMap<(&str, &str), usize> =
        std::collections::HashMap::new();
    for (n, (c, l)) in lines.iter().enumerate() {
        match index.get(&(c.name.as_str(), l.text.as_str())) {
            Some(&g) => {
                let (_, last, group) = &mut groups[g];
                *last = n;
                group.last = l;
                group.count += 1;
            }
            None => {
                index.insert((c.name.as_str(), l.text.as_str()), groups.len());
                groups.push((
                    n,
                    n,
                    LineGroup {
                        container: c,
                        first: l,
                        last: l,
                        count: 1,
                    },
                ));
            }
        }
    }
    groups.sort_by_key(|(_, last, _)| std::cmp::Reverse(*last));
    groups.truncate(keep);
    groups.sort_by_key(|(first, _, _)| *first);
    groups.into_iter().map(|(_, _, g)| g).collect()
}

/// The matching log lines of one symptom: those the snapshot holds, and how many more it only
/// counted (see [`crate::stack::snapshot::CountedLines`]).
#[derive(Default)]
struct Lines<'s> {
    lines: Vec<(&'s ContainerSnapshot, &'s LogLine)>,
    unseen: usize,
}

impl Lines<'_> {
    fn total(&self) -> usize {
        self.lines.len() + self.unseen
    }
}

/// Matching log lines per (rule, symptom).
type LogHits<'s> = BTreeMap<(usize, usize), Lines<'s>>;
/// Matching health outputs per (rule, symptom): container, exit code, output line.
type HealthHits<'s> = BTreeMap<(usize, usize), Vec<(&'s ContainerSnapshot, i64, String)>>;

/// Many patterns over one line: a literal prefilter, then the regexes of the candidates.
struct Prefiltered {
    /// The literals of every pattern, ASCII case ignored; `None` when no pattern has any.
    literals: Option<AhoCorasick>,
    /// Literal → the patterns it stands for.
    of_literal: Vec<Vec<usize>>,
    regexes: Vec<Regex>,
    /// Patterns with no required literal: run on every line.
    always: Vec<usize>,
    /// Some literal holds a line end.
    multiline: bool,
}

impl Prefiltered {
    fn new(patterns: &[String], regexes: Vec<Regex>) -> Self {
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut of_literal: Vec<Vec<usize>> = Vec::new();
        let mut index: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        let mut always = Vec::new();
        for (p, pattern) in patterns.iter().enumerate() {
            match super::literals::required(pattern) {
                Some(set) => {
                    for lit in set {
                        let i = *index.entry(lit.clone()).or_insert_with(|| {
                            lits.push(lit);
                            of_literal.push(vec![]);
                            lits.len() - 1
                        });
                        of_literal[i].push(p);
                    }
                }
                None => always.push(p),
            }
        }
        let multiline = lits.iter().any(|l| l.contains(&b'\n'));
        let literals = (!lits.is_empty()).then(|| {
            // A DFA: one table lookup per byte, the fastest scan; the rules' literals (a few
            // kilobytes) keep it small.
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .match_kind(MatchKind::Standard)
                .build(&lits)
                .expect("rule literals build an automaton")
        });
        Prefiltered {
            literals,
            of_literal,
            regexes,
            always,
            multiline,
        }
    }

    /// Call `f` with the index of every pattern matching `line`, in increasing order. A line
    /// holding no literal (most lines) allocates nothing and runs no regex.
    fn each_match(&self, line: &str, mut f: impl FnMut(usize)) {
        let hit = self.literals.as_ref().is_some_and(|ac| ac.is_match(line));
        if !hit && self.always.is_empty() {
            return;
        }
        let mut candidates = vec![false; self.regexes.len()];
        if hit && let Some(ac) = &self.literals {
            for m in ac.find_overlapping_iter(line) {
                for &p in &self.of_literal[m.pattern().as_usize()] {
                    candidates[p] = true;
                }
            }
        }
        for &p in &self.always {
            candidates[p] = true;
        }
        for (p, _) in candidates.iter().enumerate().filter(|(_, c)| **c) {
            if self.regexes[p].is_match(line) {
                f(p);
            }
        }
    }
}

/// Whether any rule's log pattern matches a line: what a long pasted log keeps from before each
/// container's tail (see [`crate::stack::paste::Paste::keep`]).
pub struct LineFilter(Prefiltered);

impl LineFilter {
    pub fn new(rules: &RuleSet) -> Self {
        let [logs, _] = patterns(rules.iter());
        let texts: Vec<String> = logs.iter().map(|r| r.as_str().to_string()).collect();
        LineFilter(Prefiltered::new(
            &texts,
            logs.into_iter().cloned().collect(),
        ))
    }

    pub fn any(&self, line: &str) -> bool {
        let mut any = false;
        self.0.each_match(line, |_| any = true);
        any
    }
}

impl crate::stack::logs::KeepLines for LineFilter {
    /// The patterns matching `line`, folded into one number (FNV-1a over their indices).
    fn class(&self, line: &str) -> Option<u64> {
        let mut class: Option<u64> = None;
        self.0.each_match(line, |p| {
            let mut h = class.unwrap_or(0xcbf2_9ce4_8422_2325);
            for b in (p as u64).to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            class = Some(h);
        });
        class
    }

    /// Where the literals are, in one Aho-Corasick pass over the whole text. Sound because no
    /// literal holds a line end: a match never spans two lines, so the non-overlapping search
    /// reports at least one match in every line holding a literal.
    fn may_keep(&self, text: &str, out: &mut Vec<usize>) -> bool {
        let p = &self.0;
        let Some(ac) = p
            .literals
            .as_ref()
            .filter(|_| p.always.is_empty() && !p.multiline)
        else {
            return false;
        };
        out.extend(ac.find_iter(text).map(|m| m.start()));
        true
    }
}

pub struct Matcher<'r> {
    rules: Vec<&'r Rule>,
    logs: Prefiltered,
    logs_of: Vec<(usize, usize)>,
    health: PatternSet,
    health_of: Vec<(usize, usize)>,
}

/// The patterns of one symptom kind, compiled as one [`RegexSet`]. Rule loading checks that the
/// set compiles under the regex size limits ([`crate::rules::sets::check_sets`]); should one still not, each
/// pattern is tried alone (slower, the same answers) rather than failing.
enum PatternSet {
    Set(RegexSet),
    Each(Vec<regex::Regex>),
}

impl PatternSet {
    fn new(patterns: &[String], regexes: Vec<regex::Regex>) -> PatternSet {
        match RegexSet::new(patterns) {
            Ok(set) => PatternSet::Set(set),
            Err(_) => PatternSet::Each(regexes),
        }
    }

    fn matches(&self, text: &str) -> Vec<usize> {
        match self {
            PatternSet::Set(set) => set.matches(text).into_iter().collect(),
            PatternSet::Each(all) => all
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_match(text))
                .map(|(i, _)| i)
                .collect(),
        }
    }
}

/// One symptom that held, with the lines that made it hold.
#[derive(Debug, Clone)]
pub struct SymptomHit<'s> {
    pub symptom: usize,
    pub kind: HitKind<'s>,
}

#[derive(Debug, Clone)]
pub enum HitKind<'s> {
    /// Matching log lines (container, line), oldest first, and their total count.
    Logs {
        lines: Vec<(&'s ContainerSnapshot, &'s LogLine)>,
        total: usize,
    },
    /// Matching health outputs (container, exit code, output line).
    Health {
        lines: Vec<(&'s ContainerSnapshot, i64, String)>,
        total: usize,
    },
    /// The container whose state satisfied the predicate.
    State(&'s ContainerSnapshot),
}

/// A rule that fired on a service.
#[derive(Debug, Clone)]
pub struct RuleMatch<'r, 's> {
    pub rule: &'r Rule,
    pub service: String,
    pub hits: Vec<SymptomHit<'s>>,
    pub captures: BTreeMap<String, String>,
    /// The rule fires only on lines the application logged as handled, in containers that stay
    /// up: no problem (see [`super::handled`]).
    pub handled: bool,
}

pub fn facts(c: &ContainerSnapshot) -> StateFacts {
    StateFacts {
        status: c.state.status.clone(),
        exit_code: c.telling_exit_code(),
        restarting: c.state.restarting,
        oom_killed: c.oom_killed_recently(),
        health: c.health.as_ref().map(|h| h.status.clone()),
        restarts: c.restart_count,
        error: match &c.task {
            Some(t) if c.state.error.is_empty() => t.error.clone(),
            _ => c.state.error.clone(),
        },
        task_state: c.task.as_ref().map(|t| t.state.clone()),
        replicas: c
            .task
            .as_ref()
            .map(|t| (t.service_running, t.service_desired)),
        update_state: c
            .task
            .as_ref()
            .map(|t| t.update_state.clone())
            .filter(|u| !u.is_empty()),
    }
}

impl<'r> Matcher<'r> {
    pub fn new(rules: &'r RuleSet) -> Self {
        let rules: Vec<&Rule> = rules.iter().collect();
        let (mut logs, mut logs_of, mut health, mut health_of) = (vec![], vec![], vec![], vec![]);
        for (ri, rule) in rules.iter().enumerate() {
            for (si, symptom) in rule.symptoms.iter().enumerate() {
                match symptom {
                    Symptom::Logs { regex, .. } => {
                        logs.push(regex.as_str().to_string());
                        logs_of.push((ri, si));
                    }
                    Symptom::Health { regex, .. } => {
                        health.push(regex.as_str().to_string());
                        health_of.push((ri, si));
                    }
                    Symptom::State { .. } => {}
                }
            }
        }
        let [log_regexes, health_regexes] = patterns(rules.iter().copied());
        let owned = |v: Vec<&regex::Regex>| v.into_iter().cloned().collect();
        Matcher {
            logs: Prefiltered::new(&logs, owned(log_regexes)),
            logs_of,
            health: PatternSet::new(&health, owned(health_regexes)),
            health_of,
            rules,
        }
    }

    /// The rules with a log pattern matching `line`: one pass of the set, whatever the number of
    /// rules (used to scan pasted or streamed logs, and by the matcher benchmark).
    pub fn rules_matching_line(&self, line: &str) -> impl Iterator<Item = &'r Rule> + '_ {
        let mut out = Vec::new();
        self.logs
            .each_match(line, |idx| out.push(self.rules[self.logs_of[idx].0]));
        out.into_iter()
    }

    /// Match every rule that applies to `service` against its containers.
    pub fn match_service<'s>(
        &self,
        service: &str,
        containers: &[&'s ContainerSnapshot],
    ) -> Vec<RuleMatch<'r, 's>> {
        let applies: Vec<bool> = self.rules.iter().map(|r| r.applies_to(service)).collect();
        // (rule, symptom) → hits, filled in one pass over the lines: every hit, and the firm
        // ones (not logged as handled by a container that stays up).
        let mut log_hits: LogHits = BTreeMap::new();
        let mut firm_hits: LogHits = BTreeMap::new();
        let mut health_hits: HealthHits = BTreeMap::new();
        for c in containers {
            let handled = super::handled::handled_lines(c);
            // Lines only counted (a long log read whole) come in their place among the others.
            let mut counted: Vec<_> = c.logs.counted.iter().collect();
            counted.sort_by_key(|k| k.at);
            let mut counted = counted.into_iter().peekable();
            let up = counted.peek().is_some() && super::handled::stays_up(c);
            let end = c.logs.lines.len();
            for i in 0..=end {
                // A place past the end (a bundle edited by hand) counts at the end.
                while let Some(k) = counted.next_if(|k| k.at <= i || i == end) {
                    let alone = |l| super::handled::handled_alone(up, l);
                    let (first_handled, last_handled) = (alone(&k.first), alone(&k.last));
                    let unseen = k.count.saturating_sub(2);
                    self.logs.each_match(&k.first.text, |idx| {
                        let key = self.logs_of[idx];
                        if !applies[key.0] {
                            return;
                        }
                        let mut seen = vec![(&k.first, first_handled)];
                        if k.count > 1 {
                            seen.push((&k.last, last_handled));
                        }
                        for (line, handled) in seen {
                            log_hits.entry(key).or_default().lines.push((c, line));
                            if !handled {
                                firm_hits.entry(key).or_default().lines.push((c, line));
                            }
                        }
                        log_hits.entry(key).or_default().unseen += unseen;
                        if !last_handled {
                            firm_hits.entry(key).or_default().unseen += unseen;
                        }
                    });
                }
                let Some(line) = c.logs.lines.get(i) else {
                    break;
                };
                self.logs.each_match(&line.text, |idx| {
                    let key = self.logs_of[idx];
                    if applies[key.0] {
                        log_hits.entry(key).or_default().lines.push((c, line));
                        if !handled[i] {
                            firm_hits.entry(key).or_default().lines.push((c, line));
                        }
                    }
                });
            }
            for result in c.health.iter().flat_map(|h| &h.log) {
                for out in result.output.lines() {
                    for idx in self.health.matches(out) {
                        let key = self.health_of[idx];
                        if applies[key.0] {
                            health_hits.entry(key).or_default().push((
                                c,
                                result.exit_code,
                                out.to_string(),
                            ));
                        }
                    }
                }
            }
        }

        let mut out = Vec::new();
        for (ri, rule) in self.rules.iter().enumerate() {
            if !applies[ri] {
                continue;
            }
            let firm = self.evaluate(ri, rule, service, containers, &firm_hits, &health_hits);
            let some_handled = || {
                log_hits
                    .range((ri, 0)..(ri + 1, 0))
                    .any(|(k, all)| firm_hits.get(k).map_or(0, Lines::total) < all.total())
            };
            let m = match firm {
                Some(m) => Some(m),
                None if some_handled() => self
                    .evaluate(ri, rule, service, containers, &log_hits, &health_hits)
                    .map(|m| RuleMatch { handled: true, ..m }),
                None => None,
            };
            out.extend(m);
        }
        out
    }

    fn evaluate<'s>(
        &self,
        ri: usize,
        rule: &'r Rule,
        service: &str,
        containers: &[&'s ContainerSnapshot],
        log_hits: &LogHits<'s>,
        health_hits: &HealthHits<'s>,
    ) -> Option<RuleMatch<'r, 's>> {
        let mut hits = Vec::new();
        let mut line_symptoms = 0;
        let mut line_symptoms_held = 0;
        for (si, symptom) in rule.symptoms.iter().enumerate() {
            let held = match symptom {
                Symptom::Logs { at_least, .. } => {
                    line_symptoms += 1;
                    log_hits
                        .get(&(ri, si))
                        .filter(|l| l.total() >= (*at_least).max(1) && !l.lines.is_empty())
                        .map(|l| HitKind::Logs {
                            total: l.total(),
                            lines: l.lines.clone(),
                        })
                }
                Symptom::Health { at_least, .. } => {
                    line_symptoms += 1;
                    health_hits
                        .get(&(ri, si))
                        .filter(|l| l.len() >= (*at_least).max(1))
                        .map(|l| HitKind::Health {
                            total: l.len(),
                            lines: l[l.len().saturating_sub(EVIDENCE_LINES)..].to_vec(),
                        })
                }
                Symptom::State { predicate, .. } => {
                    // `.State.Error` is the engine's own error text, and `OOMKilled` the kernel's
                    // own verdict: as telling as a log line.
                    if predicate.is_decisive() {
                        line_symptoms += 1;
                    }
                    containers
                        .iter()
                        .find(|c| predicate.holds(&facts(c)))
                        .map(|c| HitKind::State(c))
                }
            };
            let decisive = match &symptom {
                Symptom::State { predicate, .. } => predicate.is_decisive(),
                _ => true,
            };
            match held {
                Some(kind) => {
                    if decisive {
                        line_symptoms_held += 1;
                    }
                    hits.push(SymptomHit { symptom: si, kind });
                }
                None if symptom.required() => return None,
                None => {}
            }
        }
        let fires = if line_symptoms == 0 {
            hits.len() == rule.symptoms.len()
        } else {
            line_symptoms_held > 0
        };
        if !fires {
            return None;
        }
        let captures = captures(rule, &hits);
        Some(RuleMatch {
            rule,
            service: service.to_string(),
            hits,
            captures,
            handled: false,
        })
    }
}

/// Named captures from the most recent matching line of each symptom (earlier symptoms win).
fn captures(rule: &Rule, hits: &[SymptomHit]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for hit in hits {
        let Some(re) = rule.symptoms[hit.symptom].regex() else {
            continue;
        };
        let text: Option<String> = match &hit.kind {
            HitKind::Logs { lines, .. } => lines.last().map(|(_, l)| l.text.clone()),
            HitKind::Health { lines, .. } => lines.last().map(|(_, _, t)| t.clone()),
            HitKind::State(c) => Some(facts(c).error),
        };
        let Some(text) = text else { continue };
        let Some(caps) = re.captures(&text) else {
            continue;
        };
        for name in re.capture_names().flatten() {
            if let Some(m) = caps.name(name) {
                out.entry(name.to_string())
                    .or_insert_with(|| m.as_str().to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::logs::KeepLines;

    #[test]
    fn the_chunk_prefilter_marks_every_line_a_rule_keeps() {
        // Over whole captured texts at once, as the paste reader scans a chunk: every line the
        // filter keeps holds one of the offsets (a line without one is never looked at again).
        let set = crate::rules::load_embedded().expect("embedded rules");
        let filter = LineFilter::new(&set);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transcripts");
        let (mut kept, mut lines, mut marked) = (0, 0, 0);
        for entry in std::fs::read_dir(dir).expect("transcripts") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
            let mut hits = Vec::new();
            assert!(filter.may_keep(&text, &mut hits), "the rules have literals");
            assert!(hits.windows(2).all(|w| w[0] < w[1]), "in increasing order");
            let mut start = 0;
            for line in text.split_inclusive('\n') {
                let end = start + line.len();
                let has = hits.iter().any(|&h| (start..end).contains(&h));
                lines += 1;
                marked += usize::from(has);
                if filter.keeps(line.trim_end_matches('\n')) {
                    kept += 1;
                    assert!(has, "{line:?} is kept but was not marked");
                }
                start = end;
            }
        }
        assert!(kept > 50, "only {kept} kept lines");
        assert!(
            marked < lines,
            "every line marked: the prefilter saves nothing"
        );
    }
}
