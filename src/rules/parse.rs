//! Phase 1 and 2 for one file: parse the TOML keeping spans, then walk the spanned tree and turn
//! it into a typed [`Rule`], collecting every problem on the way instead of stopping at the
//! first (serde's `deny_unknown_fields` would stop at the first unknown key).
use super::diagnostic::{Code, Problem, Source};
use super::model::{
    ContainerStatus, Fix, FixAction, FixStep, HealthStatus, Rule, RuleOrigin, Safety,
    ServiceFilter, Severity, Side, StatePredicate, Symptom, Template,
};
use super::model::{TASK_STATES, UPDATE_STATES};
use super::probe_spec::ProbeSpec;
use crate::catalogue::{self, Entry, Seen};
use regex::Regex;
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod cases;

/// One rule file as read.
pub(crate) struct FileInput {
    pub path: String,
    pub text: Arc<String>,
    pub embedded: bool,
}

/// What one file yields: the rule if it is valid, plus what the cross-file checks need.
pub(crate) struct Parsed {
    pub source: Source,
    pub embedded: bool,
    /// The id as written and its span, when it is a string.
    pub id: Option<(String, Range<usize>)>,
    /// `confirms` entries and their spans.
    pub confirms: Vec<(String, Range<usize>)>,
    /// `Some` only when the file had no problem.
    pub rule: Option<Rule>,
    pub problems: Vec<Problem>,
}

const TOP_KEYS: &[&str] = &[
    "id",
    "title",
    "severity",
    "summary",
    "explanation",
    "references",
    "services",
    "effect",
    "confirms",
    "side",
    "resolved_by",
    "catalogue",
    "symptom",
    "fix",
    "probe",
    "test",
];
const CATALOGUE_KEYS: &[&str] = &["section", "fix_level", "seen"];
const SYMPTOM_KEYS: &[&str] = &["logs", "health", "state", "required", "at_least"];
const STATE_KEYS: &[&str] = &[
    "status",
    "exit_code",
    "restarting",
    "oom_killed",
    "health",
    "restarts_at_least",
    "error",
    "task_state",
    "replicas_running",
    "update_state",
];
const FIX_KEYS: &[&str] = &["title", "safety", "steps", "step"];
const FIX_STEP_KEYS: &[&str] = &["action", "path", "build"];
/// The keys of a `[[probe]]` table of each kind (`kind` included).
fn probe_keys(kind: &str) -> Option<&'static [&'static str]> {
    ProbeSpec::expectations(kind).map(|_| ANY_PROBE_KEYS)
}
/// Keys some probe kind knows: checked when the kind itself is unknown.
const ANY_PROBE_KEYS: &[&str] = &["kind", "expect"];

pub(crate) fn parse_file(input: &FileInput) -> Parsed {
    let source = Source::new(&input.path, input.text.clone()).with_language("toml");
    let mut cx = Cx {
        src: input.text.as_str(),
        source: source.clone(),
        problems: Vec::new(),
    };
    let mut parsed = Parsed {
        source,
        embedded: input.embedded,
        id: None,
        confirms: Vec::new(),
        rule: None,
        problems: Vec::new(),
    };
    match DeTable::parse(input.text.as_str()) {
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.problems.push(
                Problem::new(Code::TomlSyntax, "invalid TOML", &cx.source)
                    .label(span, e.message().trim_end().to_owned()),
            );
        }
        Ok(doc) => {
            let rule = cx.rule(doc.get_ref(), input, &mut parsed);
            if cx.problems.is_empty() {
                parsed.rule = rule;
            }
        }
    }
    parsed.problems = cx.problems;
    parsed
}

type Value<'i> = Spanned<DeValue<'i>>;

/// A string value with where its text sits in the file.
struct Str {
    value: String,
    /// The whole literal, quotes included.
    span: Range<usize>,
    /// File offset of the first content byte when the content maps byte for byte onto the file
    /// (no escapes); lets labels point inside the string.
    content: Option<usize>,
}

impl Str {
    /// The file range of `range` inside the value, or the whole literal when unknown.
    fn inner(&self, range: Range<usize>) -> Range<usize> {
        match self.content {
            Some(at) => at + range.start..at + range.end,
            None => self.span.clone(),
        }
    }
}

struct Cx<'s> {
    src: &'s str,
    source: Source,
    problems: Vec<Problem>,
}

impl Cx<'_> {
    fn push(&mut self, code: Code, message: impl Into<String>, span: Range<usize>, label: &str) {
        let p = Problem::new(code, message, &self.source).label(span, label);
        self.problems.push(p);
    }

    fn rule(&mut self, doc: &DeTable<'_>, input: &FileInput, out: &mut Parsed) -> Option<Rule> {
        self.unknown_keys(doc, TOP_KEYS, "rule");
        // Missing top-level keys are reported on the `id` (or the first key): the document
        // itself has no span of its own.
        let anchor = lookup(doc, "id")
            .map(|(k, _)| k.span())
            .or_else(|| doc.iter().map(|(k, _)| k.span()).min_by_key(|r| r.start))
            .unwrap_or(0..0);

        let id = self.required_str(doc, "id", &anchor, "the rule");
        if let Some(id) = &id {
            out.id = Some((id.value.clone(), id.span.clone()));
            self.check_id(id, &input.path);
        }
        let title = self.required_str(doc, "title", &anchor, "the rule");
        let severity = self
            .required_str(doc, "severity", &anchor, "the rule")
            .and_then(|s| self.one_of(&s, "severity", &Severity::ALL, |v| v.as_str()));
        let summary = self.required_str(doc, "summary", &anchor, "the rule");
        let explanation = self.required_str(doc, "explanation", &anchor, "the rule");
        let references = match lookup(doc, "references") {
            Some((_, v)) => self.strings(v, "references"),
            None => Some(Vec::new()),
        };
        let services = match lookup(doc, "services") {
            Some((_, v)) => self.strings(v, "services").map(|globs| {
                for g in globs.iter().filter(|g| g.value.is_empty()) {
                    self.push(
                        Code::BadValue,
                        "empty service glob",
                        g.span.clone(),
                        "matches no service",
                    );
                }
                globs.into_iter().map(|g| g.value).collect()
            }),
            None => Some(Vec::new()),
        };
        let effect = match lookup(doc, "effect") {
            Some((_, v)) => self.bool(v, "effect"),
            None => Some(false),
        };
        let side = match lookup(doc, "side") {
            Some((_, v)) => self
                .string(v, "side")
                .and_then(|s| self.one_of(&s, "side", &Side::ALL, |v| v.as_str())),
            None => Some(Side::Client),
        };
        let confirms = match lookup(doc, "confirms") {
            Some((_, v)) => self.strings(v, "confirms"),
            None => Some(Vec::new()),
        };
        if let (Some(confirms), Some(id)) = (&confirms, &id) {
            for c in confirms.iter().filter(|c| c.value == id.value) {
                self.push(
                    Code::BadValue,
                    "a rule cannot confirm itself",
                    c.span.clone(),
                    "this is the rule's own id",
                );
            }
        }
        if let Some(confirms) = &confirms {
            out.confirms = confirms
                .iter()
                .map(|c| (c.value.clone(), c.span.clone()))
                .collect();
        }

        let catalogue = match lookup(doc, "catalogue") {
            Some((_, v)) => self.catalogue(v).map(Some),
            None => Some(None),
        };
        let (symptoms, mut captures, symptoms_ok) = self.symptoms(doc, &anchor);
        let resolved_by = match lookup(doc, "resolved_by") {
            Some((_, v)) => self
                .string(v, "resolved_by")
                .and_then(|s| self.regex(&s, &mut BTreeSet::new()))
                .map(Some),
            None => Some(None),
        };
        captures.insert("service".to_owned());
        let probes = match lookup(doc, "probe") {
            Some((_, v)) => self.probes(v),
            None => Some(Vec::new()),
        };
        let tests = match lookup(doc, "test") {
            Some((_, v)) => self.cases(v),
            None => Some(Vec::new()),
        };

        let mut fix_templates = Vec::new();
        let fix = match lookup(doc, "fix") {
            Some((_, v)) => self.fix(v, &mut fix_templates).map(Some),
            None if effect == Some(true) => Some(None),
            None => {
                let p = Problem::new(Code::MissingKey, "missing `[fix]`", &self.source)
                    .label(anchor.clone(), "this rule has no `[fix]` table")
                    .help(
                        "every cause needs a fix (title, safety, steps); \
                         only `effect = true` rules may omit it",
                    );
                self.problems.push(p);
                None
            }
        };

        // Placeholders: checked only against captures we know (a regex that failed to compile
        // still offers the names written in it, to avoid a cascade of false reports).
        if let Some(summary) = &summary {
            self.placeholders(summary, &captures, "summary");
        }
        for (text, what) in &fix_templates {
            self.placeholders(text, &captures, what);
        }

        Some(Rule {
            id: id?.value,
            title: title?.value,
            severity: severity?,
            summary: Template::new(summary?.value),
            explanation: explanation?.value,
            references: references?.into_iter().map(|s| s.value).collect(),
            services: ServiceFilter { globs: services? },
            effect: effect?,
            confirms: confirms?.into_iter().map(|s| s.value).collect(),
            side: side?,
            catalogue: catalogue?,
            symptoms: if symptoms_ok { symptoms } else { return None },
            resolved_by: resolved_by?,
            fix: fix?,
            probes: probes?,
            tests: tests?,
            source: RuleOrigin {
                path: input.path.clone(),
                embedded: input.embedded,
                sha256: crate::digest::sha256(input.text.as_bytes()),
            },
        })
    }

    fn check_id(&mut self, id: &Str, path: &str) {
        let kebab = !id.value.is_empty()
            && id.value.split('-').all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !kebab {
            let p = Problem::new(
                Code::BadId,
                format!("rule id `{}` is not kebab-case", id.value),
                &self.source,
            )
            .label(id.span.clone(), "not kebab-case")
            .help("ids are lowercase words joined by `-`, like `flower-db-needs-recovery`");
            self.problems.push(p);
        }
        let stem = std::path::Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if stem != id.value {
            let p = Problem::new(
                Code::IdFileMismatch,
                format!(
                    "file name `{stem}.toml` does not match the rule id `{}`",
                    id.value
                ),
                &self.source,
            )
            .label(id.span.clone(), format!("expected `{stem}`"))
            .help(format!(
                "rename the file to `{}.toml`, or change the id",
                id.value
            ));
            self.problems.push(p);
        }
    }

    /// Returns the symptoms, the capture names they provide, and whether all were valid.
    fn symptoms(
        &mut self,
        doc: &DeTable<'_>,
        anchor: &Range<usize>,
    ) -> (Vec<Symptom>, BTreeSet<String>, bool) {
        let mut captures = BTreeSet::new();
        let Some((_, value)) = lookup(doc, "symptom") else {
            let p = Problem::new(Code::MissingKey, "missing `[[symptom]]`", &self.source)
                .label(anchor.clone(), "this rule has no `[[symptom]]`")
                .help("add at least one `[[symptom]]` table with `logs`, `health` or `state`");
            self.problems.push(p);
            return (Vec::new(), captures, false);
        };
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(value, "an array of tables (`[[symptom]]`)");
            return (Vec::new(), captures, false);
        };
        if items.is_empty() {
            let p = Problem::new(Code::EmptySymptoms, "a rule needs symptoms", &self.source)
                .label(value.span(), "empty")
                .help("add at least one `[[symptom]]` table with `logs`, `health` or `state`");
            self.problems.push(p);
            return (Vec::new(), captures, false);
        }
        let mut ok = true;
        let mut out = Vec::new();
        for item in items.iter() {
            match self.symptom(item, &mut captures) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        (out, captures, ok)
    }

    fn symptom(&mut self, item: &Value<'_>, captures: &mut BTreeSet<String>) -> Option<Symptom> {
        let Some(table) = item.get_ref().as_table() else {
            self.wrong_type(item, "a table");
            return None;
        };
        self.unknown_keys(table, SYMPTOM_KEYS, "symptom");
        let kinds: Vec<_> = ["logs", "health", "state"]
            .into_iter()
            .filter_map(|k| lookup(table, k).map(|(key, v)| (k, key.span(), v)))
            .collect();
        let required = match lookup(table, "required") {
            Some((_, v)) => self.bool(v, "required"),
            None => Some(false),
        };
        let at_least = lookup(table, "at_least").map(|(k, v)| (k.span(), v));
        match kinds.as_slice() {
            [] => {
                let p = Problem::new(
                    Code::SymptomKind,
                    "a symptom needs one of `logs`, `health`, `state`",
                    &self.source,
                )
                .label(item.span(), "this symptom says nothing to look for");
                self.problems.push(p);
                None
            }
            [(kind, _, value)] => {
                // Validate every part before giving up, so all problems are reported.
                if *kind == "state" {
                    if let Some((key_span, _)) = &at_least {
                        self.push(
                            Code::MisplacedKey,
                            "`at_least` applies to `logs` and `health` symptoms only",
                            key_span.clone(),
                            "not for a `state` symptom",
                        );
                    }
                    let predicate = self.state(value, captures);
                    return match (predicate, required, at_least) {
                        (Some(predicate), Some(required), None) => Some(Symptom::State {
                            predicate,
                            required,
                        }),
                        _ => None,
                    };
                }
                let at_least = match at_least {
                    Some((_, v)) => self.count(v, "at_least", 1),
                    None => Some(1),
                };
                let regex = self
                    .string(value, kind)
                    .and_then(|s| self.regex(&s, captures));
                let (regex, required, at_least) = (regex?, required?, at_least?);
                Some(if *kind == "logs" {
                    Symptom::Logs {
                        regex,
                        required,
                        at_least,
                    }
                } else {
                    Symptom::Health {
                        regex,
                        required,
                        at_least,
                    }
                })
            }
            [first, rest @ ..] => {
                let mut p = Problem::new(
                    Code::SymptomKind,
                    "a symptom has exactly one of `logs`, `health`, `state`",
                    &self.source,
                )
                .label(first.1.clone(), format!("`{}` here", first.0))
                .help("split it into one `[[symptom]]` table per kind");
                for (k, span, _) in rest {
                    p = p.label(span.clone(), format!("and `{k}` here"));
                }
                self.problems.push(p);
                None
            }
        }
    }

    /// The `[catalogue]` table: what the catalogue says of the class this rule file is the rule
    /// of (its section, one of `catalogue.toml`'s; its fix level as the catalogue writes it;
    /// where its symptom shows).
    fn catalogue(&mut self, value: &Value<'_>) -> Option<Entry> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(value, "a table (`[catalogue]`)");
            return None;
        };
        self.unknown_keys(table, CATALOGUE_KEYS, "catalogue");
        let anchor = value.span();
        let before = self.problems.len();
        let section = self
            .required_str(table, "section", &anchor, "`[catalogue]`")
            .and_then(|s| self.section(&s));
        let fix_level = self
            .required_str(table, "fix_level", &anchor, "`[catalogue]`")
            .and_then(|s| {
                if s.value.trim().is_empty() {
                    self.push(
                        Code::BadValue,
                        "`fix_level` is empty",
                        s.span.clone(),
                        "write the catalogue's level",
                    );
                    return None;
                }
                Some(s.value)
            });
        let seen = match lookup(table, "seen") {
            Some((_, v)) => self.strings(v, "seen").and_then(|items| {
                if items.is_empty() {
                    self.push(
                        Code::BadValue,
                        "`seen` is an empty list",
                        v.span(),
                        "a class with a rule shows somewhere",
                    );
                    return None;
                }
                let all: Vec<Option<Seen>> = items
                    .iter()
                    .map(|s| self.one_of(s, "place", &Seen::ALL, |p| p.as_str()))
                    .collect();
                all.into_iter().collect::<Option<Vec<Seen>>>()
            }),
            None => {
                let p = Problem::new(Code::MissingKey, "missing key `seen`", &self.source)
                    .label(anchor.clone(), "`[catalogue]` has no `seen`")
                    .help("where the symptom shows: `seen = [\"log\", \"state\"]` (log, state, health, http, cli)");
                self.problems.push(p);
                None
            }
        };
        let entry = Entry {
            section: section?,
            fix_level: fix_level?,
            seen: seen?,
        };
        (self.problems.len() == before).then_some(entry)
    }

    /// A section letter of the catalogue (`catalogue.toml`).
    fn section(&mut self, s: &Str) -> Option<char> {
        let sections = catalogue::sections();
        let mut chars = s.value.chars();
        if let (Some(letter), None) = (chars.next(), chars.next())
            && let Some(found) = sections.iter().find(|x| x.letter == letter)
        {
            return Some(found.letter);
        }
        let known: Vec<String> = sections
            .iter()
            .map(|x| format!("`{}` ({})", x.letter, x.title))
            .collect();
        let p = Problem::new(
            Code::BadValue,
            format!("unknown catalogue section `{}`", s.value),
            &self.source,
        )
        .label(s.span.clone(), "not a section letter")
        .help(format!("sections (catalogue.toml): {}", known.join(", ")));
        self.problems.push(p);
        None
    }

    /// The `[[probe]]` tables: each names a known kind and that kind's keys, nothing else.
    fn probes(&mut self, value: &Value<'_>) -> Option<Vec<ProbeSpec>> {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(value, "an array of tables (`[[probe]]`)");
            return None;
        };
        let all: Vec<Option<ProbeSpec>> = items.iter().map(|item| self.probe(item)).collect();
        all.into_iter().collect()
    }

    fn probe(&mut self, item: &Value<'_>) -> Option<ProbeSpec> {
        let Some(table) = item.get_ref().as_table() else {
            self.wrong_type(item, "a table");
            return None;
        };
        let Some((_, kind_value)) = lookup(table, "kind") else {
            self.unknown_keys(table, ANY_PROBE_KEYS, "probe");
            let p = Problem::new(Code::MissingKey, "missing key `kind`", &self.source)
                .label(item.span(), "this probe has no `kind`")
                .help(format!("probe kinds: {}", ProbeSpec::KINDS.join(", ")));
            self.problems.push(p);
            return None;
        };
        let Some(kind) = self.string(kind_value, "kind") else {
            self.unknown_keys(table, ANY_PROBE_KEYS, "probe");
            return None;
        };
        let Some(keys) = probe_keys(&kind.value) else {
            // The other keys belong to a kind we do not know: only flag keys no kind has.
            self.unknown_keys(table, ANY_PROBE_KEYS, "probe");
            let mut p = Problem::new(
                Code::UnknownProbeKind,
                format!("unknown probe kind `{}`", kind.value),
                &self.source,
            )
            .label(kind.span.clone(), "not a probe kind");
            p = match closest(&kind.value, ProbeSpec::KINDS) {
                Some(c) => p.help(format!(
                    "did you mean `{c}`? Probe kinds: {}",
                    ProbeSpec::KINDS.join(", ")
                )),
                None => p.help(format!(
                    "probe kinds: {} (a new kind is Rust code in `src/probes/`)",
                    ProbeSpec::KINDS.join(", ")
                )),
            };
            self.problems.push(p);
            return None;
        };
        self.unknown_keys(table, keys, "probe");
        let before = self.problems.len();
        let expect = self.required_str(table, "expect", &item.span(), "this probe")?;
        let known = ProbeSpec::expectations(&kind.value).unwrap_or_default();
        let name = self.one_of(&expect, "expectation", &known, |e| e)?;
        let spec = ProbeSpec::parse(&kind.value, name);
        spec.filter(|_| self.problems.len() == before)
    }

    fn state(
        &mut self,
        value: &Value<'_>,
        captures: &mut BTreeSet<String>,
    ) -> Option<StatePredicate> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(value, "a table of conditions");
            return None;
        };
        self.unknown_keys(table, STATE_KEYS, "state");
        if table.is_empty() {
            let p = Problem::new(
                Code::EmptySymptoms,
                "a `state` symptom needs at least one condition",
                &self.source,
            )
            .label(value.span(), "no condition")
            .help(format!("conditions: {}", STATE_KEYS.join(", ")));
            self.problems.push(p);
            return None;
        }
        let before = self.problems.len();
        let mut p = StatePredicate::default();
        if let Some((_, v)) = lookup(table, "status") {
            p.status = self.one_or_many(v, "status", |cx, item| {
                let s = cx.string(item, "status")?;
                cx.one_of(&s, "status", &ContainerStatus::ALL, |c| c.as_str())
            });
        }
        if let Some((_, v)) = lookup(table, "exit_code") {
            p.exit_code = self.one_or_many(v, "exit_code", |cx, item| cx.int(item, "exit_code"));
        }
        if let Some((_, v)) = lookup(table, "restarting") {
            p.restarting = self.bool(v, "restarting");
        }
        if let Some((_, v)) = lookup(table, "oom_killed") {
            p.oom_killed = self.bool(v, "oom_killed");
        }
        if let Some((_, v)) = lookup(table, "health") {
            p.health = self
                .string(v, "health")
                .and_then(|s| self.one_of(&s, "health", &HealthStatus::ALL, |h| h.as_str()));
        }
        if let Some((_, v)) = lookup(table, "restarts_at_least") {
            p.restarts_at_least = self.count(v, "restarts_at_least", 0).map(|n| n as i64);
        }
        if let Some((_, v)) = lookup(table, "error") {
            p.error = self
                .string(v, "error")
                .and_then(|s| self.regex(&s, captures));
        }
        if let Some((_, v)) = lookup(table, "task_state") {
            p.task_state = self.one_or_many(v, "task_state", |cx, item| {
                let s = cx.string(item, "task_state")?;
                cx.one_of(&s, "task_state", &TASK_STATES, |t| t)
            });
        }
        if let Some((_, v)) = lookup(table, "replicas_running") {
            p.replicas_running = self.count(v, "replicas_running", 0).map(|n| n as u64);
        }
        if let Some((_, v)) = lookup(table, "update_state") {
            p.update_state = self.one_or_many(v, "update_state", |cx, item| {
                let s = cx.string(item, "update_state")?;
                cx.one_of(&s, "update_state", &UPDATE_STATES, |t| t)
            });
        }
        (self.problems.len() == before).then_some(p)
    }

    /// The fix; its title and steps also go to `templates` (even when the fix is invalid), for
    /// the placeholder check.
    fn fix(&mut self, value: &Value<'_>, templates: &mut Vec<(Str, &'static str)>) -> Option<Fix> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(value, "a table (`[fix]`)");
            return None;
        };
        self.unknown_keys(table, FIX_KEYS, "fix");
        let anchor = value.span();
        let title = self.required_str(table, "title", &anchor, "`[fix]`");
        let safety = self
            .required_str(table, "safety", &anchor, "`[fix]`")
            .and_then(|s| self.one_of(&s, "safety", &Safety::ALL, |v| v.as_str()));
        let steps = match lookup(table, "steps") {
            Some((_, v)) => self.strings(v, "steps"),
            None => {
                let p = Problem::new(Code::MissingKey, "missing key `steps`", &self.source)
                    .label(anchor.clone(), "`[fix]` has no `steps`")
                    .help("`steps = [\"…\", \"…\"]`: what to do, in order");
                self.problems.push(p);
                None
            }
        };
        let actions = match lookup(table, "step") {
            Some((_, v)) => self.fix_actions(v),
            None => Some(Vec::new()),
        };
        let fix = match (&title, safety, &steps, actions) {
            (Some(title), Some(safety), Some(steps), Some(actions)) => Some(Fix {
                title: Template::new(title.value.clone()),
                safety,
                steps: steps
                    .iter()
                    .map(|s| FixStep::Text(Template::new(s.value.clone())))
                    .collect(),
                actions,
            }),
            _ => None,
        };
        templates.extend(title.map(|t| (t, "fix title")));
        templates.extend(steps.into_iter().flatten().map(|s| (s, "fix step")));
        fix
    }

    /// The `[[fix.step]]` tables: each names a known action and the keys that action takes.
    fn fix_actions(&mut self, value: &Value<'_>) -> Option<Vec<FixAction>> {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(value, "an array of tables (`[[fix.step]]`)");
            return None;
        };
        let all: Vec<Option<FixAction>> = items.iter().map(|i| self.fix_action(i)).collect();
        all.into_iter().collect()
    }

    fn fix_action(&mut self, item: &Value<'_>) -> Option<FixAction> {
        let Some(table) = item.get_ref().as_table() else {
            self.wrong_type(item, "a table");
            return None;
        };
        self.unknown_keys(table, FIX_STEP_KEYS, "fix.step");
        let before = self.problems.len();
        let action = self.required_str(table, "action", &item.span(), "this step")?;
        let (name, make) = self.one_of(&action, "action", FixAction::ALL, |(n, _)| n)?;
        let path = match lookup(table, "path") {
            Some((_, v)) => self.string(v, "path"),
            None => None,
        };
        if FixAction::takes_path(name) && path.is_none() {
            let p = Problem::new(Code::MissingKey, "missing key `path`", &self.source)
                .label(action.span.clone(), format!("`{name}` needs a `path`"))
                .help("e.g. `path = \"{path}\"`: the file the rule's probe located");
            self.problems.push(p);
            return None;
        }
        let build = match lookup(table, "build") {
            Some((_, v)) => self.bool(v, "build")?,
            None => false,
        };
        let path = Template::new(path.map(|p| p.value).unwrap_or_default());
        let action = make(path, build);
        (self.problems.len() == before).then_some(action)
    }

    fn placeholders(&mut self, text: &Str, captures: &BTreeSet<String>, what: &str) {
        let template = Template::new(text.value.clone());
        for (range, name) in template.placeholders() {
            if captures.contains(name) {
                continue;
            }
            let known: Vec<String> = captures.iter().map(|c| format!("`{c}`")).collect();
            let p = Problem::new(
                Code::UnknownPlaceholder,
                format!("{what} placeholder `{{{name}}}` has no capture to fill it"),
                &self.source,
            )
            .label(text.inner(range), "no symptom captures this")
            .help(format!(
                "add a named group `(?P<{name}>…)` to a `logs`, `health` or `state.error` regex; \
                 available here: {}",
                known.join(", ")
            ));
            self.problems.push(p);
        }
    }

    fn regex(&mut self, s: &Str, captures: &mut BTreeSet<String>) -> Option<Regex> {
        match Regex::new(&s.value) {
            Ok(re) => {
                captures.extend(re.capture_names().flatten().map(str::to_owned));
                Some(re)
            }
            Err(err) => {
                captures.extend(written_group_names(&s.value));
                self.problems.push(regex_problem(&self.source, s, &err));
                None
            }
        }
    }

    // ---- typed accessors: each reports its own problem and returns None on failure ----

    fn unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], table_name: &str) {
        for (key, _) in table.iter() {
            let k: &str = key.get_ref();
            if allowed.contains(&k) {
                continue;
            }
            let help = match closest(k, allowed) {
                Some(c) => format!("did you mean `{c}`? Known keys: {}", allowed.join(", ")),
                None => format!("known keys: {}", allowed.join(", ")),
            };
            let where_ = match table_name {
                "rule" => "a rule".to_owned(),
                other => format!("`{other}`"),
            };
            let p = Problem::new(
                Code::UnknownKey,
                format!("unknown key `{k}` in {where_}"),
                &self.source,
            )
            .label(key.span(), "unknown key")
            .help(help);
            self.problems.push(p);
        }
    }

    fn required_str(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        anchor: &Range<usize>,
        owner: &str,
    ) -> Option<Str> {
        match lookup(table, key) {
            Some((_, v)) => self.string(v, key),
            None => {
                let p = Problem::new(
                    Code::MissingKey,
                    format!("missing key `{key}`"),
                    &self.source,
                )
                .label(anchor.clone(), format!("{owner} has no `{key}`"));
                self.problems.push(p);
                None
            }
        }
    }

    fn string(&mut self, v: &Value<'_>, key: &str) -> Option<Str> {
        let Some(s) = v.get_ref().as_str() else {
            self.wrong_type_key(v, key, "a string");
            return None;
        };
        Some(Str {
            value: s.to_owned(),
            span: v.span(),
            content: content_offset(self.src, v.span(), s),
        })
    }

    fn strings(&mut self, v: &Value<'_>, key: &str) -> Option<Vec<Str>> {
        let Some(items) = v.get_ref().as_array() else {
            self.wrong_type_key(v, key, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match self.string(item, key) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn bool(&mut self, v: &Value<'_>, key: &str) -> Option<bool> {
        let b = v.get_ref().as_bool();
        if b.is_none() {
            self.wrong_type_key(v, key, "a boolean (`true` or `false`)");
        }
        b
    }

    fn int(&mut self, v: &Value<'_>, key: &str) -> Option<i64> {
        let Some(i) = v.get_ref().as_integer() else {
            self.wrong_type_key(v, key, "an integer");
            return None;
        };
        let n = i64::from_str_radix(i.as_str(), i.radix()).ok();
        if n.is_none() {
            self.push(
                Code::BadValue,
                format!("`{key}` is out of range"),
                v.span(),
                "does not fit in 64 bits",
            );
        }
        n
    }

    fn count(&mut self, v: &Value<'_>, key: &str, min: i64) -> Option<usize> {
        let n = self.int(v, key)?;
        if n < min {
            self.push(
                Code::BadValue,
                format!("`{key}` must be at least {min}"),
                v.span(),
                &format!("{n} is less than {min}"),
            );
            return None;
        }
        usize::try_from(n).ok()
    }

    /// A value that may be given as one item or as an array of items.
    fn one_or_many<T>(
        &mut self,
        v: &Value<'_>,
        key: &str,
        mut item: impl FnMut(&mut Self, &Value<'_>) -> Option<T>,
    ) -> Option<Vec<T>> {
        match v.get_ref().as_array() {
            Some(items) if items.is_empty() => {
                self.push(
                    Code::BadValue,
                    format!("`{key}` is an empty list"),
                    v.span(),
                    "matches nothing",
                );
                None
            }
            Some(items) => {
                let all: Vec<Option<T>> = items.iter().map(|i| item(self, i)).collect();
                all.into_iter().collect()
            }
            None => item(self, v).map(|x| vec![x]),
        }
    }

    fn one_of<T: Copy>(
        &mut self,
        s: &Str,
        key: &str,
        all: &[T],
        name: impl Fn(T) -> &'static str,
    ) -> Option<T> {
        if let Some(found) = all.iter().copied().find(|&v| name(v) == s.value) {
            return Some(found);
        }
        let names: Vec<&str> = all.iter().map(|&v| name(v)).collect();
        let p = Problem::new(
            Code::BadValue,
            format!("unknown {key} `{}`", s.value),
            &self.source,
        )
        .label(s.span.clone(), format!("not a {key}"))
        .help(format!("expected one of: {}", names.join(", ")));
        self.problems.push(p);
        None
    }

    fn wrong_type(&mut self, v: &Value<'_>, expected: &str) {
        let found = v.get_ref().type_str();
        let p = Problem::new(
            Code::WrongType,
            format!("expected {expected}, found {}", article(found)),
            &self.source,
        )
        .label(v.span(), format!("{found} here"));
        self.problems.push(p);
    }

    fn wrong_type_key(&mut self, v: &Value<'_>, key: &str, expected: &str) {
        let found = v.get_ref().type_str();
        let p = Problem::new(
            Code::WrongType,
            format!("`{key}` must be {expected}, found {}", article(found)),
            &self.source,
        )
        .label(v.span(), format!("{found} here"));
        self.problems.push(p);
    }
}

fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

fn lookup<'t, 'i>(
    table: &'t DeTable<'i>,
    key: &str,
) -> Option<(&'t Spanned<std::borrow::Cow<'i, str>>, &'t Value<'i>)> {
    table.iter().find(|(k, _)| k.get_ref() == key)
}

/// The known key nearest to a misspelt one (edit distance ≤ 2).
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// Where a string literal's content starts in the file, when the content is the value byte for
/// byte (literal strings always; basic strings without escapes).
fn content_offset(src: &str, span: Range<usize>, value: &str) -> Option<usize> {
    let raw = src.get(span.clone())?;
    let delim = if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
        3
    } else if raw.starts_with('\'') || raw.starts_with('"') {
        1
    } else {
        return None;
    };
    let mut start = span.start + delim;
    let mut body = raw.get(delim..raw.len().checked_sub(delim)?)?;
    if delim == 3 {
        // TOML trims a newline right after the opening delimiter.
        for nl in ["\r\n", "\n"] {
            if let Some(rest) = body.strip_prefix(nl) {
                body = rest;
                start += nl.len();
                break;
            }
        }
    }
    (body == value).then_some(start)
}

/// Group names written in a pattern, read without compiling it.
fn written_group_names(pattern: &str) -> Vec<String> {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>").expect("static regex"))
        .captures_iter(pattern)
        .map(|c| c[1].to_owned())
        .collect()
}

/// A bad regex, labelled on the exact part of the pattern the regex parser blames when the
/// string maps onto the file byte for byte, on the whole string otherwise.
fn regex_problem(source: &Source, s: &Str, err: &regex::Error) -> Problem {
    use regex_syntax::ast::parse::Parser;
    use regex_syntax::hir::translate::Translator;

    let located: Option<(String, Range<usize>, Option<Range<usize>>)> =
        match Parser::new().parse(&s.value) {
            Err(e) => Some((
                e.kind().to_string(),
                e.span().start.offset..e.span().end.offset,
                e.auxiliary_span().map(|a| a.start.offset..a.end.offset),
            )),
            Ok(ast) => match Translator::new().translate(&s.value, &ast) {
                Err(e) => Some((
                    e.kind().to_string(),
                    e.span().start.offset..e.span().end.offset,
                    None,
                )),
                Ok(_) => None,
            },
        };
    match located {
        Some((kind, range, aux)) => {
            let mut p = Problem::new(
                Code::BadRegex,
                format!("regex does not compile: {kind}"),
                source,
            )
            .label(s.inner(range), kind.clone());
            if let (Some(aux), Some(_)) = (aux, s.content) {
                p = p.label(s.inner(aux), "first defined here");
            }
            if s.content.is_none() {
                p = p.help(err.to_string());
            } else {
                p = p.help(
                    "patterns use the Rust `regex` syntax (no look-around, no back-references): \
                     https://docs.rs/regex/latest/regex/#syntax",
                );
            }
            p
        }
        None => Problem::new(Code::BadRegex, "regex does not compile", source)
            .label(s.span.clone(), "this pattern")
            .help(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(path: &str, text: &str) -> Vec<(Code, Vec<String>)> {
        let parsed = parse_file(&FileInput {
            path: path.into(),
            text: Arc::new(text.into()),
            embedded: false,
        });
        assert_eq!(parsed.rule.is_some(), parsed.problems.is_empty());
        parsed
            .problems
            .iter()
            .map(|p| {
                let labels = p.labels.iter().map(|(r, _)| text[r.clone()].to_owned());
                (p.code, labels.collect())
            })
            .collect()
    }

    const HEAD: &str = r#"id = "x"
title = "t"
severity = "info"
summary = "s {service}"
explanation = "e"
"#;

    #[test]
    fn an_effect_may_omit_its_fix_a_cause_may_not() {
        let symptom = "[[symptom]]\nstate = { restarting = true }\n";
        let effect = format!("{HEAD}effect = true\n{symptom}");
        assert!(problems("x.toml", &effect).is_empty());
        let cause = format!("{HEAD}{symptom}");
        assert_eq!(problems("x.toml", &cause)[0].0, Code::MissingKey);
    }

    #[test]
    fn a_bad_regex_in_an_escaped_string_labels_the_whole_string() {
        let text = format!("{HEAD}effect = true\n[[symptom]]\nlogs = \"a\\\\d((\"\n");
        let found = problems("x.toml", &text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Code::BadRegex);
        assert_eq!(found[0].1, ["\"a\\\\d((\""]);
    }

    #[test]
    fn empty_symptom_lists_and_single_tables_are_refused() {
        let empty = format!("{HEAD}effect = true\nsymptom = []\n");
        assert_eq!(problems("x.toml", &empty)[0].0, Code::EmptySymptoms);
        let table = format!("{HEAD}effect = true\n[symptom]\nlogs = 'x'\n");
        assert_eq!(problems("x.toml", &table)[0].0, Code::WrongType);
        let missing = format!("{HEAD}effect = true\n");
        assert_eq!(problems("x.toml", &missing)[0].0, Code::MissingKey);
    }

    #[test]
    fn state_values_accept_one_or_a_list() {
        let text = format!(
            "{HEAD}effect = true\n[[symptom]]\nstate = {{ status = [\"exited\", \"dead\"], exit_code = 137 }}\n"
        );
        assert!(problems("x.toml", &text).is_empty());
        let bad = format!(
            "{HEAD}effect = true\n[[symptom]]\nstate = {{ status = [], exit_code = [1, \"2\"], error = '(' }}\n"
        );
        let codes: Vec<Code> = problems("x.toml", &bad).into_iter().map(|p| p.0).collect();
        assert_eq!(codes, [Code::BadValue, Code::WrongType, Code::BadRegex]);
    }

    #[test]
    fn probe_tables_are_typed_and_checked_on_their_spans() {
        let fix = "[fix]\ntitle = \"f\"\nsafety = \"manual\"\nsteps = [\"s\"]\n";
        let rule = |probes: &str| format!("{HEAD}[[symptom]]\nhealth = '404'\n{fix}{probes}");
        let ok = rule("[[probe]]\nkind = \"http-route\"\nexpect = \"flask-404\"\n");
        assert!(problems("x.toml", &ok).is_empty());
        let parsed = parse_file(&FileInput {
            path: "x.toml".into(),
            text: Arc::new(ok),
            embedded: false,
        });
        assert_eq!(
            parsed.rule.expect("valid").probes,
            [ProbeSpec::HttpRoute {
                expect: super::super::RouteExpectation::Flask404
            }]
        );
        assert!(
            problems("x.toml", &rule("")).is_empty(),
            "probes are optional"
        );

        let unknown_kind = rule("[[probe]]\nkind = \"http-rout\"\nexpect = \"flask-404\"\n");
        assert_eq!(
            problems("x.toml", &unknown_kind),
            [(Code::UnknownProbeKind, vec!["\"http-rout\"".to_owned()])]
        );
        let bad = rule(
            "[[probe]]\nkind = \"http-route\"\nexpect = \"flask-500\"\nurl = \"/x\"\n\
             [[probe]]\nexpect = \"flask-404\"\n\
             [[probe]]\nkind = \"http-route\"\n",
        );
        let found = problems("x.toml", &bad);
        let codes: Vec<Code> = found.iter().map(|p| p.0).collect();
        assert_eq!(
            codes,
            [
                Code::UnknownKey,
                Code::BadValue,
                Code::MissingKey,
                Code::MissingKey
            ],
            "{found:?}"
        );
        assert_eq!(found[0].1, ["url"]);
        assert_eq!(found[1].1, ["\"flask-500\""]);
        assert_eq!(
            found[2].1,
            ["[[probe]]"],
            "a missing key is labelled on its table"
        );
        let table = rule("[probe]\nkind = \"http-route\"\n");
        assert_eq!(problems("x.toml", &table)[0].0, Code::WrongType);
    }

    #[test]
    fn content_offsets() {
        let src = r#"a = 'x(y'
b = "p\\q"
c = '''
zz'''
d = "plain"
"#;
        let doc = DeTable::parse(src).unwrap();
        let get = |k: &str| {
            let (_, v) = lookup(doc.get_ref(), k).unwrap();
            content_offset(src, v.span(), v.get_ref().as_str().unwrap())
        };
        assert_eq!(get("a"), Some(5));
        assert_eq!(get("b"), None, "escapes: no byte-for-byte mapping");
        assert_eq!(get("c").map(|o| &src[o..o + 2]), Some("zz"));
        assert_eq!(get("d").map(|o| &src[o..o + 5]), Some("plain"));
    }

    #[test]
    fn closest_keys() {
        assert_eq!(closest("sumary", TOP_KEYS), Some("summary"));
        assert_eq!(closest("requird", SYMPTOM_KEYS), Some("required"));
        assert_eq!(closest("zzzzzz", TOP_KEYS), None);
    }

    #[test]
    fn group_names_of_broken_patterns() {
        assert_eq!(written_group_names("(?P<a>x)(?<b>y)(z"), ["a", "b"]);
    }
}
