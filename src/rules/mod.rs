//! Rules are data: one TOML file per failure class, `rules/<id>.toml`, compiled into the binary
//! and overridable from a directory. Adding a failure class means adding a file here, not Rust.
//!
//! # A rule file
//!
//! ```toml
//! id = "name-not-defined"          # catalogue id, or "<class-id>-<suffix>"; = the file name
//! title = "A name is used but never defined or imported"
//! severity = "error"               # info < warning < error < critical
//! summary = "`{name}` is used but never defined or imported"
//! explanation = """Why it happens, how to confirm it."""
//! references = ["FAILURES.md#a-application-initialisation"]
//! services = ["web", "worker*"]    # optional service-name globs (* and ?); default: every service
//! effect = false                   # optional: a downstream effect (restart-loop), ranked last
//! confirms = ["restart-loop"]      # optional: rules whose findings on the same service fold
//!                                  # under this one
//! side = "client"                  # optional: when a client and the service it depends on both
//!                                  # show this class, where the cause is ("server" | "client")
//! resolved_by = "^CREATE DATABASE$" # optional: a later line of the same container saying the
//!                                  # condition passed; the finding is then kept as `info`
//!
//! [catalogue]                      # in the class's own rule file only (not in `<id>-<suffix>`)
//! section = "A"                    # the catalogue section's letter (catalogue.toml)
//! fix_level = "unsafe (source patch)" # the auto-fix level as the catalogue writes it
//! seen = ["log", "state"]          # where it shows: log, state, health, http, cli
//!
//! [[symptom]]
//! logs = '''NameError: name '(?P<name>\w+)' is not defined'''   # regex over each log line
//! required = true                  # optional, default false
//! at_least = 1                     # optional (logs/health only): lines that must match
//!
//! [[symptom]]
//! health = '''returned error: 404'''  # regex over each health-check output line
//!
//! [[symptom]]
//! state = { exit_code = 3, restarting = true }
//!
//! [fix]                            # optional for effect rules only
//! title = "Import the missing name"
//! safety = "manual"                # manual < unsafe < safe
//! steps = ["Add `from utils.database import {name}`.", "Rebuild and restart {service}."]
//!
//! [[probe]]                        # optional, any number: live checks of a finding
//! kind = "http-route"
//! expect = "prefix-variant-answers"
//! ```
//!
//! `state` conditions (all must hold): `status` (one or a list of created, running, restarting,
//! exited, dead, paused), `exit_code` (one or a list), `restarting`, `oom_killed`, `health`
//! (healthy, unhealthy, starting, none), `restarts_at_least`, `error` (regex over `.State.Error`).
//!
//! # Matching (implemented by the engine)
//!
//! A rule applies to the services its `services` globs match. On such a service:
//! - a `logs` symptom holds when at least `at_least` lines of the log match its regex; a `health`
//!   symptom likewise over the output lines of the kept health-check results; a `state` symptom
//!   when its [`StatePredicate::holds`] for the container's [`StateFacts`];
//! - the rule **fires** when every `required` symptom holds and at least one symptom holds. So a
//!   rule with required symptoms fires on exactly those, its other symptoms only add evidence; a
//!   rule without required symptoms fires on any one of them (each must be specific enough);
//! - named captures of the matched lines (and of a matched `state.error` regex) fill the
//!   `{placeholders}` of the summary and fix; the most recent matching line wins, and `{service}`
//!   is always the service name ([`Rule::render_summary`]);
//! - findings of rules listed in `confirms` on the same service fold under the confirming rule;
//!   `effect` rules rank after causes.
//!
//! # Loading
//!
//! Like cargo-deny: each file is parsed into a spanned TOML tree, then validated as a whole,
//! collecting **all** problems (unknown keys, missing keys, wrong types, bad regexes, unknown
//! values, placeholders without a capture, ids that are not kebab-case or differ from the file
//! name), then files are checked together (duplicate ids, `confirms` targets). Each problem is one
//! miette diagnostic labelled on the exact bytes at fault, with one [`Code`]; a [`RulesError`]
//! groups them.
//!
//! # Probes
//!
//! Some failure classes look the same in logs and health output (a health check that gets 404 may
//! be a doubled blueprint prefix, a lost `@route` decorator, or an app whose initialisation failed
//! in every worker). A `[[probe]]` table names a probe kind (Rust code in `crate::probes`) and
//! what it must see to **confirm** the rule's finding; the same observation can also **rule it
//! out**, or leave it unknown. Each table becomes a [`ProbeSpec`]; the engine's confirmation pass
//! (`crate::engine::confirm`) runs them on findings of the rule, drops ruled-out findings under
//! the confirmed look-alike and raises confirmed ones. Kinds and their keys:
//!
//! `kind` is one of `http-route`, `python`, `gdbm`, `file`, `entrypoint`, `postgres`, `redis`,
//! `compose`, `docker`, `dependency`; the expectations each kind knows, with what they mean, are
//! listed in one table in `probe_spec.rs` ([`ProbeSpec`]) — e.g. `kind = "http-route"`,
//! `expect = "prefix-variant-answers"`: the health URL answers Flask's 404 page while the URL
//! with its first segment doubled or dropped answers.
//!
//! An unknown `kind` is reported as `rules::unknown-probe-kind` on the kind's string; unknown keys,
//! missing keys and unknown `expect` values like everywhere else.
//!
//! # Tests
//!
//! `[[test]]` tables are examples beside the rule: a bundle or a service's text, and whether the
//! rule must diagnose it ([`RuleCase`]; the keys are documented in `case.rs`).
mod case;
mod diagnostic;
mod embedded;
mod load;
mod model;
mod parse;
mod probe_spec;
pub mod sets;

pub use case::{CaseExpect, CaseInput, CaseState, LineKind, RuleCase};
pub use diagnostic::{Code, Problem, RulesError};
pub use model::{
    ContainerStatus, Fix, FixAction, FixStep, HealthStatus, Rule, RuleOrigin, Safety,
    ServiceFilter, Severity, Side, StateFacts, StatePredicate, Symptom, Template,
};
pub use probe_spec::{
    ComposeExpectation, DependencyExpectation, DockerExpectation, EntrypointExpectation,
    Expectation, FileExpectation, GdbmExpectation, PortsExpectation, PostgresExpectation,
    ProbeSpec, PythonExpectation, RedisExpectation, RouteExpectation,
};

use parse::FileInput;
use std::path::Path;

/// A validated set of rules with unique ids, sorted by id.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules, sorted by id.
    pub fn iter(&self) -> std::slice::Iter<'_, Rule> {
        self.rules.iter()
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules
            .binary_search_by(|r| r.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.rules[i])
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The catalogue class a rule id belongs to: the class whose id equals `id`, or is its
    /// prefix followed by `-<suffix>` (`flower-db-needs-recovery-numsync`), among the classes
    /// the rules describe (`[catalogue]`) and those without a rule file (`catalogue.toml`). The
    /// longest class id wins.
    pub fn class_of(&self, id: &str) -> Option<(&str, &crate::catalogue::Entry)> {
        let described = self
            .rules
            .iter()
            .filter_map(|r| Some((r.id.as_str(), r.catalogue.as_ref()?)));
        let ruleless = crate::catalogue::classes_without_rule()
            .iter()
            .map(|c| (c.id.as_str(), &c.entry));
        crate::catalogue::class_of(id, described.chain(ruleless))
    }

    /// One sha256 over every rule's id and file digest: two sets with the same digest diagnose
    /// alike.
    pub fn digest(&self) -> String {
        let lines: String = self
            .rules
            .iter()
            .map(|r| format!("{} {}\n", r.id, r.source.sha256))
            .collect();
        crate::digest::sha256(lines.as_bytes())
    }
}

impl<'a> IntoIterator for &'a RuleSet {
    type Item = &'a Rule;
    type IntoIter = std::slice::Iter<'a, Rule>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The rules compiled into the binary (`rules/*.toml`).
pub fn load_embedded() -> Result<RuleSet, RulesError> {
    load::load(embedded_inputs(), Vec::new())
}

/// The embedded rules plus every `*.toml` of `dir`: a file whose id is an embedded rule's
/// replaces it, a new id adds a rule.
pub fn load_with_overrides(dir: Option<&Path>) -> Result<RuleSet, RulesError> {
    let mut inputs = embedded_inputs();
    let mut io = Vec::new();
    if let Some(dir) = dir {
        let (files, problems) = load::read_dir(dir);
        inputs.extend(files);
        io = problems;
    }
    load::load(inputs, io)
}

/// Rules from in-memory files (path, text), none of them embedded: for tests and tools.
pub fn load_files<P: AsRef<Path>>(files: &[(P, String)]) -> Result<RuleSet, RulesError> {
    let inputs = files
        .iter()
        .map(|(path, text)| FileInput {
            path: path.as_ref().display().to_string(),
            text: text.clone().into(),
            embedded: false,
        })
        .collect();
    load::load(inputs, Vec::new())
}

fn embedded_inputs() -> Vec<FileInput> {
    embedded::EMBEDDED
        .iter()
        .map(|(id, text)| FileInput {
            path: format!("rules/{id}.toml"),
            text: (*text).to_owned().into(),
            embedded: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;
    use std::collections::BTreeSet;

    /// The ids of `shared/FAILURES.md`'s tables, in its order: the catalogue's own text, kept
    /// here so the tests need no file outside the repository (when the file is there,
    /// [`every_id_of_failures_md_is_a_class`] checks that this list is still its list).
    const FAILURES_MD_IDS: &[&str] = &[
        "gunicorn-worker-reinit",
        "init-ddl-race",
        "engine-used-before-init",
        "import-name-missing",
        "blueprint-prefix-mismatch",
        "name-not-defined",
        "route-not-decorated",
        "wsgi-app-not-found",
        "app-context-at-import",
        "gunicorn-worker-timeout",
        "port-in-use-in-container",
        "python-syntax-newer",
        "flask-extension-registered-twice",
        "flower-db-needs-recovery",
        "flower-db-bad-header",
        "flower-db-empty",
        "volume-permission-denied",
        "volume-read-only",
        "mount-is-directory",
        "flower-db-locked",
        "entrypoint-crlf",
        "entrypoint-not-executable",
        "exec-format-error",
        "host-port-conflict",
        "oom-killed",
        "killed-after-grace",
        "restart-loop",
        "healthcheck-tool-missing",
        "healthcheck-start-period-short",
        "healthcheck-port-mismatch",
        "health-route-missing",
        "env-var-unset",
        "depends-on-not-healthy",
        "host-unresolvable",
        "pg-auth-failed",
        "pg-role-missing",
        "pg-database-missing",
        "pg-starting-up",
        "pg-version-mismatch",
        "pg-data-permissions",
        "pg-data-ownership",
        "tables-missing",
        "alembic-revision-missing",
        "redis-misconf-rdb",
        "redis-noauth",
        "redis-wrongpass",
        "redis-protected-mode",
        "redis-bind-localhost",
        "broker-unreachable",
        "celery-unregistered-task",
        "rq-localhost-url",
        "socketio-redis-publish",
    ];

    fn embedded() -> RuleSet {
        match load_embedded() {
            Ok(set) => set,
            Err(e) => {
                let mut out = String::new();
                miette::GraphicalReportHandler::new_themed(
                    miette::GraphicalTheme::unicode_nocolor(),
                )
                .with_width(100)
                .render_report(&mut out, &e)
                .expect("render");
                panic!("embedded rules do not load:\n{out}");
            }
        }
    }

    #[test]
    fn embedded_rules_load() {
        let set = embedded();
        assert_eq!(set.len(), embedded::EMBEDDED.len());
        for rule in &set {
            assert!(rule.source.embedded);
            assert_eq!(rule.source.path, format!("rules/{}.toml", rule.id));
        }
    }

    #[test]
    fn every_embedded_rule_id_is_a_catalogue_id() {
        let set = embedded();
        for rule in &set {
            assert!(
                set.class_of(&rule.id).is_some(),
                "{} is not a catalogue id (nor <id>-<suffix>): give it a `[catalogue]` table",
                rule.id
            );
        }
    }

    #[test]
    fn every_id_of_failures_md_is_a_class() {
        let set = embedded();
        assert!(FAILURES_MD_IDS.len() >= 50, "{}", FAILURES_MD_IDS.len());
        let unique: BTreeSet<&str> = FAILURES_MD_IDS.iter().copied().collect();
        assert_eq!(unique.len(), FAILURES_MD_IDS.len(), "an id listed twice");
        for id in FAILURES_MD_IDS {
            assert!(
                set.class_of(id).is_some_and(|(class, _)| class == *id),
                "{id} is in FAILURES.md but no rule file's `[catalogue]` nor catalogue.toml \
                 describes it"
            );
        }
        // Where the shared file is at hand (the lead's checkout, CI), the repository's copy of
        // its ids and headings must still be what it says.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/FAILURES.md");
        if let Ok(text) = std::fs::read_to_string(path) {
            let ids: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("| `"))
                .map(|l| l[3..].split('`').next().unwrap_or_default())
                .collect();
            assert_eq!(
                ids, FAILURES_MD_IDS,
                "FAILURES.md's ids changed: update FAILURES_MD_IDS"
            );
            let headings: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("## ")).collect();
            let ours: Vec<&str> = catalogue::sections()
                .iter()
                .filter_map(|s| s.heading.as_deref())
                .collect();
            assert_eq!(
                headings, ours,
                "FAILURES.md's headings changed: update catalogue.toml's sections"
            );
        }
    }

    #[test]
    fn a_class_has_one_home_and_shows_where_a_rule_can_see_it() {
        let set = embedded();
        let ruleless: BTreeSet<&str> = catalogue::classes_without_rule()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        for rule in &set {
            let Some(entry) = &rule.catalogue else {
                continue;
            };
            assert!(
                !ruleless.contains(rule.id.as_str()),
                "{} is described twice: in its rule file and in catalogue.toml",
                rule.id
            );
            assert!(
                entry.observable(),
                "{}: a rule reads logs, state or health; `seen` names none of them",
                rule.id
            );
        }
        for id in &ruleless {
            // unclassified-failure is the engine's fallback, not a rule.
            assert!(
                set.get(id).is_none(),
                "{id} has a rule file and no rule may see it"
            );
        }
    }

    #[test]
    fn fix_safety_is_the_catalogues() {
        let set = embedded();
        for rule in &set {
            let (_, class) = set.class_of(&rule.id).expect("catalogue id");
            match &rule.fix {
                None => assert!(
                    rule.effect && class.fix_level == "–",
                    "{}: only effects without a catalogue fix level may omit [fix]",
                    rule.id
                ),
                Some(fix) => {
                    // The catalogue's level starts with the safety (`safe (with backup)`), or
                    // names it among several (`safe (BOM/shebang), manual (arch)`: the most
                    // careful one is used until a probe tells the cases apart).
                    let levels: Vec<&str> = class
                        .fix_level
                        .split(',')
                        .filter_map(|l| l.split_whitespace().next())
                        .collect();
                    let most_careful = levels
                        .iter()
                        .filter_map(|l| Safety::ALL.into_iter().find(|s| s.as_str() == *l))
                        .min();
                    assert_eq!(
                        Some(fix.safety),
                        most_careful,
                        "{}: catalogue says `{}`",
                        rule.id,
                        class.fix_level
                    );
                }
            }
        }
    }

    #[test]
    fn failures_md_references_name_real_sections() {
        // The catalogue's headings as catalogue.toml keeps them (checked against FAILURES.md
        // itself where that file is at hand).
        let anchors: Vec<String> = catalogue::sections()
            .iter()
            .filter_map(|s| s.heading.as_deref().map(catalogue::heading_anchor))
            .collect();
        let set = embedded();
        for rule in &set {
            for r in &rule.references {
                if let Some(anchor) = r.strip_prefix("FAILURES.md#") {
                    assert!(anchors.iter().any(|a| a == anchor), "{}: {r}", rule.id);
                }
            }
            assert!(
                rule.references
                    .iter()
                    .any(|r| r.starts_with("FAILURES.md#")),
                "{}: reference its FAILURES.md section",
                rule.id
            );
            // Its own class's section among them.
            if let Some(anchor) = set
                .class_of(&rule.id)
                .and_then(|(_, c)| catalogue::section_anchor(c.section))
            {
                let want = format!("FAILURES.md#{anchor}");
                assert!(
                    rule.references.contains(&want),
                    "{}: does not reference its section {want}: {:?}",
                    rule.id,
                    rule.references
                );
            }
        }
    }

    #[test]
    fn confirms_name_loaded_rules_and_effects_come_last() {
        let set = embedded();
        let restart = set.get("restart-loop").expect("restart-loop");
        assert!(restart.effect);
        for rule in &set {
            for c in &rule.confirms {
                assert!(set.get(c).is_some(), "{} confirms unknown {c}", rule.id);
            }
        }
    }
}
