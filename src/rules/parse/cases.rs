//! `[[test]]` tables ([`RuleCase`]), checked on their spans like the rest of a rule file.
use super::{Cx, Value, lookup};
use crate::rules::case::{CaseExpect, CaseInput, CaseState, LineKind, RuleCase};
use crate::rules::diagnostic::{Code, Problem};
use crate::rules::model::{ContainerStatus, HealthStatus, Safety, TASK_STATES, UPDATE_STATES};
use std::collections::BTreeSet;
use std::ops::Range;

const TEST_KEYS: &[&str] = &[
    "bundle", "service", "logs", "health", "state", "line", "in", "expect", "root", "summary",
    "fix", "captures",
];
/// What a line case may not carry: it reads no service's text and makes no diagnosis.
const NOT_ON_A_LINE: &[&str] = &[
    "bundle", "service", "logs", "health", "state", "root", "summary", "fix",
];
const CASE_STATE_KEYS: &[&str] = &[
    "status",
    "exit_code",
    "restarts",
    "oom_killed",
    "error",
    "health",
    "task_state",
    "replicas_running",
    "replicas_desired",
    "update_state",
];
const EXPECTS: [&str; 2] = ["match", "no-match"];

impl Cx<'_> {
    pub(super) fn cases(&mut self, value: &Value<'_>) -> Option<Vec<RuleCase>> {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(value, "an array of tables (`[[test]]`)");
            return None;
        };
        let all: Vec<Option<RuleCase>> = items.iter().map(|item| self.case(item)).collect();
        all.into_iter().collect()
    }

    fn case(&mut self, item: &Value<'_>) -> Option<RuleCase> {
        let Some(table) = item.get_ref().as_table() else {
            self.wrong_type(item, "a table");
            return None;
        };
        self.unknown_keys(table, TEST_KEYS, "test");
        let before = self.problems.len();
        let anchor = item.span();
        let expect = self
            .required_str(table, "expect", &anchor, "this test")
            .and_then(|s| self.one_of(&s, "test expectation", &EXPECTS, |e| e));
        let service = match lookup(table, "service") {
            Some((_, v)) => self.string(v, "service").map(|s| Some(s.value)),
            None => Some(None),
        };
        let text = |cx: &mut Self, key: &str| match lookup(table, key) {
            Some((_, v)) => cx.string(v, key).map(|s| Some(s.value)),
            None => Some(None),
        };
        let logs = text(self, "logs");
        let health = text(self, "health");
        let state = match lookup(table, "state") {
            Some((_, v)) => self.case_state(v).map(Some),
            None => Some(None),
        };
        let bundle = match lookup(table, "bundle") {
            Some((k, v)) => self.string(v, "bundle").map(|s| Some((s.value, k.span()))),
            None => Some(None),
        };
        let root = match lookup(table, "root") {
            Some((_, v)) => self.bool(v, "root"),
            None => Some(false),
        };
        let summary = match lookup(table, "summary") {
            Some((_, v)) => self
                .string(v, "summary")
                .and_then(|s| self.regex(&s, &mut BTreeSet::new()))
                .map(Some),
            None => Some(None),
        };
        let fix = match lookup(table, "fix") {
            Some((_, v)) => self
                .string(v, "fix")
                .and_then(|s| self.one_of(&s, "safety", &Safety::ALL, |v| v.as_str()))
                .map(Some),
            None => Some(None),
        };
        let line_text = text(self, "line");
        let line_kind = match lookup(table, "in") {
            Some((_, v)) => self
                .string(v, "in")
                .and_then(|s| self.one_of(&s, "line kind", &LineKind::ALL, LineKind::as_str)),
            None => Some(LineKind::Logs),
        };
        let captures = match lookup(table, "captures") {
            Some((_, v)) => self.captures(v),
            None => Some(Vec::new()),
        };
        let is_line = lookup(table, "line").is_some();
        let only_on_a_line: &[&str] = if is_line { &[] } else { &["in", "captures"] };
        let not_here: &[&str] = if is_line { NOT_ON_A_LINE } else { &[] };
        for &key in only_on_a_line.iter().chain(not_here) {
            if let Some((k, _)) = lookup(table, key) {
                let (label, help) = if is_line {
                    (
                        "on a `line` test",
                        "a `line` test matches one line against this rule's patterns: drop it, \
                         or write the text as `logs`/`health` of a `service`",
                    )
                } else {
                    ("without `line`", "it belongs to a `line = '…'` test")
                };
                let p = Problem::new(
                    Code::BadValue,
                    format!("`{key}` does not go with this test"),
                    &self.source,
                )
                .label(k.span(), label)
                .help(help);
                self.problems.push(p);
            }
        }
        if expect == Some("no-match") {
            for key in ["root", "summary", "fix", "captures"] {
                if let Some((k, _)) = lookup(table, key) {
                    let p = Problem::new(
                        Code::BadValue,
                        format!("`{key}` says what a match looks like"),
                        &self.source,
                    )
                    .label(k.span(), "on a `no-match` test")
                    .help("drop it, or make the test `expect = \"match\"`");
                    self.problems.push(p);
                }
            }
        }
        // Every key has been checked: one run reports all the table's problems.
        let input = match (bundle, logs, health, state, line_text, line_kind) {
            (_, _, _, _, Some(Some(text)), Some(kind)) => Some(CaseInput::Line { kind, text }),
            (Some(bundle), Some(logs), Some(health), Some(state), Some(None), _) => {
                self.case_input(bundle, logs, health, state, &service, &anchor)
            }
            _ => None,
        };
        let expect = match expect? {
            "match" => CaseExpect::Match {
                service: service?,
                root: root?,
                summary: summary?,
                fix: fix?,
                captures: captures?,
            },
            _ => CaseExpect::NoMatch { service: service? },
        };
        let line = self.src[..anchor.start.min(self.src.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1;
        let case = RuleCase {
            line,
            input: input?,
            expect,
        };
        (self.problems.len() == before).then_some(case)
    }

    /// What the case reads: a bundle, or a service's text and state (`service` as parsed:
    /// `None` when it was malformed, `Some(None)` when absent).
    fn case_input(
        &mut self,
        bundle: Option<(String, Range<usize>)>,
        logs: Option<String>,
        health: Option<String>,
        state: Option<CaseState>,
        service: &Option<Option<String>>,
        anchor: &Range<usize>,
    ) -> Option<CaseInput> {
        let inline = logs.is_some() || health.is_some() || state.is_some();
        match (bundle, service) {
            (Some((path, _)), _) if !inline => Some(CaseInput::Bundle { path }),
            (Some((_, at)), _) => {
                let p = Problem::new(
                    Code::BadValue,
                    "a test reads a bundle or text written here, not both",
                    &self.source,
                )
                .label(at, "a bundle")
                .help("drop `logs`, `health` and `state`, or drop `bundle`");
                self.problems.push(p);
                None
            }
            (None, _) if !inline => {
                let p = Problem::new(Code::MissingKey, "a test needs an input", &self.source)
                    .label(anchor.clone(), "no `bundle`, `logs`, `health` or `state`")
                    .help(
                        "`bundle = \"…/x.tar.gz\"` (written by `analylit-doctor snapshot`), \
                         or `service` with `logs`, `health` and/or `state`",
                    );
                self.problems.push(p);
                None
            }
            (None, Some(Some(service))) => Some(CaseInput::Inline {
                service: service.clone(),
                logs: logs.unwrap_or_default(),
                health: health.unwrap_or_default(),
                state: state.unwrap_or_default(),
            }),
            // A malformed `service` is reported already.
            (None, None) => None,
            (None, Some(None)) => {
                let p = Problem::new(Code::MissingKey, "missing key `service`", &self.source)
                    .label(anchor.clone(), "this test's text belongs to no service")
                    .help("`service = \"web\"`: the service whose log, health and state these are");
                self.problems.push(p);
                None
            }
        }
    }

    /// `captures = { host = "redis" }`: named groups and the values they must capture.
    fn captures(&mut self, value: &Value<'_>) -> Option<Vec<(String, String)>> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(value, "a table (`captures = { host = \"redis\" }`)");
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in table.iter() {
            match self.string(v, k.get_ref()) {
                Some(s) => out.push((k.get_ref().to_string(), s.value)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn case_state(&mut self, value: &Value<'_>) -> Option<CaseState> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(value, "a table (`state = { status = \"exited\", … }`)");
            return None;
        };
        self.unknown_keys(table, CASE_STATE_KEYS, "test.state");
        let before = self.problems.len();
        let mut s = CaseState::default();
        if let Some((_, v)) = lookup(table, "status") {
            s.status = self
                .string(v, "status")
                .and_then(|st| self.one_of(&st, "status", &ContainerStatus::ALL, |c| c.as_str()));
        }
        if let Some((_, v)) = lookup(table, "exit_code") {
            s.exit_code = self.int(v, "exit_code");
        }
        if let Some((_, v)) = lookup(table, "restarts") {
            s.restarts = self.count(v, "restarts", 0).unwrap_or_default() as i64;
        }
        if let Some((_, v)) = lookup(table, "oom_killed") {
            s.oom_killed = self.bool(v, "oom_killed").unwrap_or_default();
        }
        if let Some((_, v)) = lookup(table, "error") {
            s.error = self.string(v, "error").map(|e| e.value);
        }
        if let Some((_, v)) = lookup(table, "health") {
            s.health = self
                .string(v, "health")
                .and_then(|h| self.one_of(&h, "health", &HealthStatus::ALL, |h| h.as_str()));
        }
        if let Some((_, v)) = lookup(table, "task_state") {
            s.task_state = self
                .string(v, "task_state")
                .and_then(|t| self.one_of(&t, "task_state", &TASK_STATES, |t| t));
        }
        if let Some((_, v)) = lookup(table, "update_state") {
            s.update_state = self
                .string(v, "update_state")
                .and_then(|t| self.one_of(&t, "update_state", &UPDATE_STATES, |t| t));
        }
        if let Some((_, v)) = lookup(table, "replicas_running") {
            s.replicas_running = self.count(v, "replicas_running", 0).map(|n| n as u64);
        }
        if let Some((_, v)) = lookup(table, "replicas_desired") {
            s.replicas_desired = self.count(v, "replicas_desired", 0).map(|n| n as u64);
        }
        (self.problems.len() == before).then_some(s)
    }
}
