//! Rule files: the loader's diagnostics (snapshots of exactly what a user sees), overrides, and
//! each embedded rule's patterns against example lines quoting the catalogue's wordings.
use analylit_doctor::engine::matcher;
use analylit_doctor::rules::{
    self, CaseInput, Code, Rule, RuleSet, RulesError, StateFacts, Symptom, load_embedded,
    load_files, load_with_overrides,
};
use analylit_doctor::ruletest;
use analylit_doctor::stack::snapshot::{
    ContainerSnapshot, Health as HealthState, HealthResult, LogLine, Stream,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------------------------

fn render(err: &RulesError) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, err)
        .expect("render");
    out
}

/// Every file under `fixtures/rules-bad/<case>`, sorted, named relative to the crate root.
fn fixture_files(case: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    walk(&root.join("fixtures/rules-bad").join(case), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture");
            (
                p.strip_prefix(root).expect("under root").to_path_buf(),
                text,
            )
        })
        .collect()
}

fn load_case(case: &str) -> RulesError {
    match load_files(&fixture_files(case)) {
        Ok(set) => panic!("{case}: loaded {} rules, expected problems", set.len()),
        Err(e) => e,
    }
}

fn codes(err: &RulesError) -> Vec<Code> {
    err.problems().iter().map(|p| p.code()).collect()
}

#[test]
fn one_file_reports_all_its_problems_at_once() {
    let err = load_case("several-problems");
    let found: BTreeSet<&str> = codes(&err).iter().map(|c| c.as_str()).collect();
    for code in [
        Code::BadValue,
        Code::UnknownKey,
        Code::WrongType,
        Code::BadRegex,
        Code::SymptomKind,
        Code::MisplacedKey,
        Code::UnknownPlaceholder,
        Code::UnknownConfirms,
    ] {
        assert!(
            found.contains(code.as_str()),
            "{code} not reported: {found:?}"
        );
    }
    insta::assert_snapshot!("several_problems", render(&err));
}

#[test]
fn toml_syntax_error_is_one_diagnostic_on_its_span() {
    let err = load_case("syntax-error");
    assert_eq!(codes(&err), [Code::TomlSyntax]);
    insta::assert_snapshot!("syntax_error", render(&err));
}

#[test]
fn missing_keys_wrong_types_and_empty_kinds() {
    let err = load_case("missing-keys");
    insta::assert_snapshot!("missing_keys", render(&err));
}

#[test]
fn ids_must_be_kebab_case_and_match_the_file_name() {
    let err = load_case("id-mismatch");
    let found = codes(&err);
    assert!(found.contains(&Code::BadId));
    assert!(found.contains(&Code::IdFileMismatch));
    assert!(found.contains(&Code::EmptySymptoms));
    insta::assert_snapshot!("id_mismatch", render(&err));
}

#[test]
fn duplicate_ids_are_labelled_in_both_files() {
    let err = load_case("duplicate-id");
    assert_eq!(codes(&err), [Code::DuplicateId]);
    let rendered = render(&err);
    assert!(rendered.contains("duplicate-id/a/redis-noauth.toml"));
    assert!(rendered.contains("duplicate-id/b/redis-noauth.toml"));
    insta::assert_snapshot!("duplicate_id", rendered);
}

#[test]
fn test_tables_are_checked_on_their_spans() {
    let err = load_case("bad-tests");
    let found = codes(&err);
    assert!(found.contains(&Code::MissingKey), "{found:?}");
    assert!(found.contains(&Code::BadValue), "{found:?}");
    assert!(found.contains(&Code::UnknownKey), "{found:?}");
    insta::assert_snapshot!("bad_tests", render(&err));
}

#[test]
fn catalogue_tables_are_checked_on_their_spans() {
    let err = load_case("bad-catalogue");
    let found = codes(&err);
    for code in [
        Code::BadValue,
        Code::UnknownKey,
        Code::WrongType,
        Code::MissingKey,
    ] {
        assert!(found.contains(&code), "{code} not reported: {found:?}");
    }
    insta::assert_snapshot!("bad_catalogue", render(&err));
}

// ---------------------------------------------------------------------------------------------
// Embedded rules and overrides
// ---------------------------------------------------------------------------------------------

fn embedded() -> RuleSet {
    load_embedded().unwrap_or_else(|e| panic!("embedded rules:\n{}", render(&e)))
}

#[test]
fn embedded_rules_load_and_are_catalogue_ids() {
    let set = embedded();
    assert!(set.len() >= 47, "only {} rules", set.len());
    for rule in &set {
        assert!(set.class_of(&rule.id).is_some(), "{}", rule.id);
    }
}

#[test]
fn embedded_rules_equal_the_rules_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("rules/")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            name.strip_suffix(".toml").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let loaded: Vec<String> = embedded().iter().map(|r| r.id.clone()).collect();
    assert_eq!(loaded, on_disk);
}

const NEW_RULE: &str = r#"
id = "worker-custom"
title = "A site-specific failure"
severity = "warning"
summary = "{service} says {what}"
explanation = "Added by an override directory."
services = ["worker*"]
confirms = ["restart-loop"]

[[symptom]]
logs = '''CUSTOM FAILURE: (?P<what>.+)'''

[fix]
title = "Do the site-specific thing"
safety = "manual"
steps = ["Ask the operator."]
"#;

#[test]
fn an_override_directory_replaces_and_adds_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/name-not-defined.toml"),
    )
    .expect("rule");
    // An override written before rule files had a `[catalogue]` table keeps the class's entry.
    let catalogue = embedded_text
        .find("[catalogue]")
        .and_then(|at| Some(at..at + embedded_text[at..].find("\n\n")?))
        .expect("name-not-defined has a [catalogue] table");
    let mut replaced = embedded_text.clone();
    replaced.replace_range(catalogue, "");
    let replaced = replaced.replace("severity = \"error\"", "severity = \"critical\"");
    std::fs::write(dir.path().join("name-not-defined.toml"), replaced).expect("write");
    std::fs::write(dir.path().join("worker-custom.toml"), NEW_RULE).expect("write");
    std::fs::write(dir.path().join("README.md"), "not a rule").expect("write");

    let set = load_with_overrides(Some(dir.path())).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(set.len(), embedded().len() + 1);
    let overridden = set.get("name-not-defined").expect("rule");
    assert_eq!(overridden.severity, rules::Severity::Critical);
    assert!(!overridden.source.embedded);
    assert!(overridden.source.path.ends_with("name-not-defined.toml"));
    assert!(overridden.catalogue.is_some(), "the embedded rule's entry");
    assert_eq!(
        set.class_of("name-not-defined")
            .map(|(c, e)| (c, e.section)),
        Some(("name-not-defined", 'A'))
    );
    assert_eq!(
        set.class_of("worker-custom"),
        None,
        "no class of the catalogue"
    );
    let custom = set.get("worker-custom").expect("new rule");
    assert!(custom.applies_to("worker-2") && !custom.applies_to("web"));
    assert_eq!(
        custom.render_summary(
            &BTreeMap::from([("what".into(), "disk on fire".into())]),
            "worker"
        ),
        "worker says disk on fire"
    );
    // No directory = the embedded rules.
    assert_eq!(
        load_with_overrides(None).expect("embedded").len(),
        embedded().len()
    );
}

#[test]
fn an_override_is_validated_like_the_embedded_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("worker-custom.toml"),
        NEW_RULE.replace("restart-loop", "restart-looop"),
    )
    .expect("write");
    let err = load_with_overrides(Some(dir.path())).expect_err("bad confirms");
    assert_eq!(codes(&err), [Code::UnknownConfirms]);
    assert!(
        err.problems()[0]
            .file()
            .is_some_and(|f| f.ends_with("worker-custom.toml"))
    );

    let missing = dir.path().join("nope");
    let err = load_with_overrides(Some(&missing)).expect_err("no such directory");
    assert_eq!(codes(&err), [Code::Io]);
}

// ---------------------------------------------------------------------------------------------
// Patterns: each rule against positive and negative example lines
// ---------------------------------------------------------------------------------------------

// Example lines live in the rule files, as `line` tests (`rules test` runs them too); the state
// examples below are the predicates' unit tests.

/// `(rule, state, expected)`: whether one of the rule's `state` symptoms holds.
#[rustfmt::skip]
fn state_cases() -> Vec<(&'static str, StateFacts, bool)> {
    let exited = |code: i64| StateFacts {
        status: "exited".into(),
        exit_code: Some(code),
        ..StateFacts::default()
    };
    let with_error = |error: &str| StateFacts {
        status: "created".into(),
        exit_code: Some(128),
        error: error.into(),
        ..StateFacts::default()
    };
    let running = StateFacts {
        status: "running".into(),
        exit_code: Some(0),
        health: Some("healthy".into()),
        ..StateFacts::default()
    };
    // A Swarm task in `state` with `error`, its service running `replicas` of 1.
    let task = |state: &str, error: &str, replicas: u64| StateFacts {
        status: if state == "running" { "running" } else { "created" }.into(),
        error: error.into(),
        task_state: Some(state.into()),
        replicas: Some((replicas, 1)),
        ..StateFacts::default()
    };
    vec![
        ("import-name-missing", exited(3), true),
        ("import-name-missing", exited(4), false),
        ("name-not-defined", exited(3), true),
        ("name-not-defined", exited(1), false),
        ("app-context-at-import", exited(3), true),
        ("app-context-at-import", running.clone(), false),
        ("gunicorn-worker-reinit", StateFacts { health: Some("unhealthy".into()), ..running.clone() }, true),
        ("gunicorn-worker-reinit", running.clone(), false),
        ("mount-is-directory", with_error("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"/srv/flower.db\" to rootfs at \"/data/flower.db\": mount /srv/flower.db:/data/flower.db (via /proc/self/fd/6), flags: 0x5000: not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type"), true),
        ("mount-is-directory", with_error("driver failed programming external connectivity"), false),
        ("entrypoint-not-executable", StateFacts { exit_code: Some(126), ..with_error("OCI runtime create failed: container_linux.go:380: starting container process caused: exec: \"./entrypoint.sh\": permission denied: unknown") }, true),
        // runc's release candidates escaped the quotes; runc 1.1+; crun 1.21+ and older (hand-written).
        ("entrypoint-not-executable", with_error("OCI runtime create failed: container_linux.go:349: starting container process caused \"exec: \\\"./entrypoint.sh\\\": permission denied\": unknown"), true),
        ("entrypoint-not-executable", with_error("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/entrypoint.sh\": permission denied: unknown"), true),
        ("entrypoint-not-executable", with_error("crun: the path `/app/./entrypoint.sh` exists but it is not executable: Operation not permitted: OCI permission denied"), true),
        ("entrypoint-not-executable", with_error("crun: open executable: Permission denied: OCI permission denied"), true),
        ("entrypoint-not-executable", exited(1), false),
        ("exec-format-error", with_error("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/entrypoint.sh\": exec format error: unknown"), true),
        ("exec-format-error", with_error("crun: exec container process `/app/./x`: Exec format error: OCI runtime error"), true),
        ("exec-format-error", exited(1), false),
        ("host-port-conflict", with_error("driver failed programming external connectivity on endpoint lab-web-1 (3f2a): Bind for 0.0.0.0:5001 failed: port is already allocated"), true),
        ("host-port-conflict", with_error("Error starting userland proxy: listen tcp4 0.0.0.0:5432: bind: address already in use"), true),
        ("host-port-conflict", with_error("network lab_default not found"), false),
        ("oom-killed", StateFacts { oom_killed: true, ..exited(137) }, true),
        ("oom-killed", exited(137), false),
        ("killed-after-grace", exited(137), true),
        ("killed-after-grace", StateFacts { oom_killed: true, ..exited(137) }, false),
        ("killed-after-grace", exited(0), false),
        ("restart-loop", StateFacts { status: "restarting".into(), restarting: true, restarts: 1, ..exited(1) }, true),
        ("restart-loop", StateFacts { restarts: 5, ..exited(1) }, true),
        ("restart-loop", StateFacts { restarts: 1, ..exited(1) }, false),
        ("healthcheck-start-period-short", running.clone(), true),
        ("healthcheck-start-period-short", StateFacts { health: Some("unhealthy".into()), ..running.clone() }, false),
        // G. Swarm stacks: task states and errors as `docker service ps` shows them (Docker 20.10).
        ("swarm-replicas-none-running", task("failed", "task: non-zero exit (1)", 0), true),
        ("swarm-replicas-none-running", task("running", "", 1), false),
        ("swarm-replicas-none-running", exited(1), false),
        ("swarm-placement-impossible", task("pending", "no suitable node (scheduling constraints not satisfied on 1 node)", 0), true),
        ("swarm-placement-impossible", task("pending", "no suitable node (insufficient resources on 1 node)", 0), true),
        ("swarm-placement-impossible", task("pending", "", 0), false),
        ("swarm-placement-impossible", with_error("no suitable node (insufficient resources on 1 node)"), false),
        ("swarm-image-missing", task("rejected", "No such image: analylit-lab/app:4.1", 0), true),
        ("swarm-image-missing", task("rejected", "invalid mount config for type \"bind\": bind source path does not exist: /srv", 0), false),
        ("swarm-image-missing", with_error("No such image: analylit-lab/app:4.1"), false),
        ("swarm-ingress-port-taken", task("failed", "starting container failed: container f4b2: endpoint join on GW Network failed: driver failed programming external connectivity on endpoint gateway_8f2b (3431): Error starting userland proxy: listen tcp4 0.0.0.0:18080: bind: address already in use", 0), true),
        ("swarm-ingress-port-taken", with_error("Error starting userland proxy: listen tcp4 0.0.0.0:5432: bind: address already in use"), false),
        ("swarm-update-rolled-back", StateFacts { update_state: Some("rollback_completed".into()), ..task("running", "", 1) }, true),
        ("swarm-update-rolled-back", StateFacts { update_state: Some("paused".into()), ..task("running", "", 1) }, true),
        ("swarm-update-rolled-back", StateFacts { update_state: Some("completed".into()), ..task("running", "", 1) }, false),
        ("swarm-compose-keys-ignored", task("failed", "task: non-zero exit (1)", 0), true),
        ("swarm-compose-keys-ignored", exited(1), false),
    ]
}

/// A rule's `logs` patterns.
fn log_symptoms(rule: &Rule) -> impl Iterator<Item = &regex::Regex> {
    rule.symptoms.iter().filter_map(|s| match s {
        Symptom::Logs { regex, .. } => Some(regex),
        _ => None,
    })
}

fn captures_of(re: &regex::Regex, line: &str) -> Option<BTreeMap<String, String>> {
    let caps = re.captures(line)?;
    Some(
        re.capture_names()
            .flatten()
            .filter_map(|n| caps.name(n).map(|m| (n.to_owned(), m.as_str().to_owned())))
            .collect(),
    )
}

/// The rule files' `line` tests, through the same judge as `rules test`, and the state examples.
#[test]
fn rule_patterns_match_their_examples() {
    let set = embedded();
    let mut failures = Vec::new();
    for rule in &set {
        for case in &rule.tests {
            if let CaseInput::Line { kind, text } = &case.input {
                let (passed, detail) = ruletest::judge_line(rule, *kind, text, &case.expect);
                if !passed {
                    failures.push(format!("{}:{}: {detail}", rule.source.path, case.line));
                }
            }
        }
    }
    for (id, facts, expected) in state_cases() {
        let rule = set.get(id).unwrap_or_else(|| panic!("no rule {id}"));
        let holds = rule.symptoms.iter().any(|s| match s {
            Symptom::State { predicate, .. } => predicate.holds(&facts),
            _ => false,
        });
        if holds != expected {
            failures.push(format!("{id}: state {facts:?} should hold = {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_positive_and_negative_examples() {
    let states = state_cases();
    let mut missing = Vec::new();
    for rule in &embedded() {
        let id = rule.id.as_str();
        let lines = |want: bool| {
            rule.tests
                .iter()
                .any(|c| matches!(c.input, CaseInput::Line { .. }) && c.expect.is_match() == want)
        };
        let pos = lines(true) || states.iter().any(|c| c.0 == id && c.2);
        let neg = lines(false) || states.iter().any(|c| c.0 == id && !c.2);
        if !(pos && neg) {
            missing.push(id.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "rules without both kinds of example: {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Look-alikes: whole rules against a service's evidence, with the documented semantics
// ---------------------------------------------------------------------------------------------

/// One container of service `web` with these log lines, health outputs and state: what the
/// matcher reads.
fn container(logs: &[&str], health: &[&str], state: &StateFacts) -> ContainerSnapshot {
    let mut c = ContainerSnapshot {
        id: "web-id".into(),
        name: "lab_web_1".into(),
        service: "web".into(),
        number: Some(1),
        image: "lab/web".into(),
        ..Default::default()
    };
    c.state.status = state.status.clone();
    c.state.running = matches!(state.status.as_str(), "running" | "restarting");
    c.state.restarting = state.restarting;
    c.state.oom_killed = state.oom_killed;
    c.state.exit_code = state.exit_code.unwrap_or(0);
    c.state.error = state.error.clone();
    c.state.started_at = if state.exit_code.is_some() || c.state.running {
        "2026-01-01T00:00:00Z".into()
    } else {
        "0001-01-01T00:00:00Z".into()
    };
    c.restart_count = state.restarts;
    c.logs.lines = logs
        .iter()
        .map(|text| LogLine {
            ts: None,
            stream: Stream::Stdout,
            text: (*text).to_owned(),
        })
        .collect();
    c.health = state.health.as_ref().map(|status| HealthState {
        status: status.clone(),
        failing_streak: if status == "unhealthy" { 3 } else { 0 },
        log: health
            .iter()
            .map(|output| HealthResult {
                start: "2026-01-01T00:00:30Z".into(),
                end: "2026-01-01T00:00:31Z".into(),
                exit_code: if status == "healthy" { 0 } else { 1 },
                output: (*output).to_owned(),
            })
            .collect(),
    });
    c
}

/// The ids of the rules the engine's own matcher fires on that container (whatever the rules'
/// `services` say: these tests are about symptoms), handled lines included.
fn firing(set: &RuleSet, logs: &[&str], health: &[&str], state: &StateFacts) -> Vec<String> {
    let c = container(logs, health, state);
    assert_eq!(
        matcher::facts(&c),
        *state,
        "the test container does not carry the state it was given"
    );
    let m = matcher::Matcher::new(set);
    let mut ids: Vec<String> = m
        .match_service("web", &[&c])
        .into_iter()
        .map(|f| f.rule.id.clone())
        .collect();
    // Rules limited to other services' names, matched as if this were one of theirs.
    for rule in set.iter().filter(|r| !r.applies_to("web")) {
        let mut other = c.clone();
        let name = ["db", "postgres", "redis", "worker", "flower", "celery"]
            .into_iter()
            .find(|n| rule.applies_to(n));
        if let Some(name) = name {
            other.service = name.into();
            ids.extend(
                m.match_service(name, &[&other])
                    .into_iter()
                    .filter(|f| f.rule.id == rule.id)
                    .map(|f| f.rule.id.clone()),
            );
        }
    }
    let order: Vec<&str> = set.iter().map(|r| r.id.as_str()).collect();
    ids.sort_by_key(|id| order.iter().position(|o| o == id));
    ids.dedup();
    ids
}

fn fires(set: &RuleSet, id: &str, logs: &[&str], health: &[&str], state: &StateFacts) -> bool {
    firing(set, logs, health, state).iter().any(|f| f == id)
}

const GUNICORN_UP: &[&str] = &[
    "Attente de la base de données...",
    "Base de données prête !",
    "Initialisation de la base de données (flask init-db)...",
    "Données par défaut déjà présentes.",
    "Base de données initialisée.",
    "[2024-05-01 10:00:00 +0000] [1] [INFO] Starting gunicorn 20.1.0",
    "[2024-05-01 10:00:00 +0000] [1] [INFO] Listening at: http://0.0.0.0:5001 (1)",
    "[2024-05-01 10:00:00 +0000] [1] [INFO] Using worker: sync",
    "[2024-05-01 10:00:00 +0000] [8] [INFO] Booting worker with pid: 8",
    "[2024-05-01 10:00:00 +0000] [9] [INFO] Booting worker with pid: 9",
    "[2024-05-01 10:00:00 +0000] [10] [INFO] Booting worker with pid: 10",
];

fn web_state(health: &str) -> StateFacts {
    StateFacts {
        status: "running".into(),
        exit_code: Some(0),
        health: Some(health.into()),
        ..StateFacts::default()
    }
}

#[test]
fn a_healthy_stack_fires_nothing() {
    let set = embedded();
    let services: &[(&str, Vec<&str>, &[&str])] = &[
        (
            "db",
            vec![
                "PostgreSQL Database directory appears to contain a database; Skipping initialization",
                "2024-05-01 10:00:00.000 UTC [1] LOG:  starting PostgreSQL 15.6 (Debian 15.6-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit",
                "2024-05-01 10:00:00.000 UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
                "2024-05-01 10:00:00.010 UTC [1] LOG:  database system is ready to accept connections",
            ],
            &["/var/run/postgresql:5432 - accepting connections"],
        ),
        (
            "redis",
            vec![
                "1:M 01 May 2024 10:00:00.000 * Ready to accept connections tcp",
                "1:M 01 May 2024 10:05:00.000 * Background saving started by pid 20",
                "20:C 01 May 2024 10:05:00.010 * DB saved on disk",
                "1:M 01 May 2024 10:05:00.100 * Background saving terminated with success",
            ],
            &["PONG"],
        ),
        (
            "web",
            [GUNICORN_UP, &[
                "172.18.0.1 - - [01/May/2024:10:00:05 +0000] \"GET /api/settings/profiles HTTP/1.1\" 200 91 \"-\" \"curl/7.88.1\"",
            ]]
            .concat(),
            &["[{\"id\": 1, \"name\": \"standard\"}, {\"id\": 2, \"name\": \"rapide\"}]"],
        ),
        (
            "worker",
            vec![
                "10:00:00 Worker rq:worker:3c5e started with PID 1, version 1.13.0",
                "10:00:00 *** Listening on analysis, default...",
                "10:00:00 Cleaning registries for queue: analysis",
            ],
            &[],
        ),
        (
            "flower",
            vec![
                "[I 240501 10:00:00 command:168] Visit me at http://0.0.0.0:5555",
                "[I 240501 10:00:00 command:176] Broker: redis://redis:6379/0",
                "[I 240501 10:00:00 mixins:228] Connected to redis://redis:6379/0",
            ],
            &["OK"],
        ),
    ];
    for (service, logs, health) in services {
        let fired = firing(&set, logs, health, &web_state("healthy"));
        assert!(fired.is_empty(), "{service}: {fired:?}");
    }
}

#[test]
fn a_plain_404_is_not_a_worker_reinit() {
    let set = embedded();
    let logs = [GUNICORN_UP, &[
        "172.18.0.1 - - [01/May/2024:10:00:05 +0000] \"GET /api/settings/profiles HTTP/1.1\" 404 207 \"-\" \"curl/7.88.1\"",
        "127.0.0.1 - - [01/May/2024:10:00:07 +0000] \"GET /api/settings/profiles HTTP/1.1\" 404 207 \"-\" \"curl/7.88.1\"",
    ]]
    .concat();
    let health = ["curl: (22) The requested URL returned error: 404"];
    let fired = firing(&set, &logs, &health, &web_state("unhealthy"));
    assert_eq!(
        fired,
        [
            "blueprint-prefix-mismatch",
            "health-route-missing",
            "route-not-decorated"
        ]
    );
}

#[test]
fn a_404_with_an_init_error_per_worker_is_a_worker_reinit() {
    let set = embedded();
    // What the lab's app logs when its broad `except` swallows the second seeding.
    let error = "2024-05-01 10:00:01,200 ERROR server_v4_complete: Erreur pendant l'initialisation (ignorée) : (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint \"analysis_profiles_name_key\"";
    let logs = [GUNICORN_UP, &[error, error, error]].concat();
    let health = ["curl: (22) The requested URL returned error: 404"];
    let fired = firing(&set, &logs, &health, &web_state("unhealthy"));
    assert!(
        fired.contains(&"gunicorn-worker-reinit".to_owned()),
        "{fired:?}"
    );
    let reinit = set.get("gunicorn-worker-reinit").expect("rule");
    // The look-alikes that also fire on the same service fold under it.
    for other in fired.iter().filter(|id| *id != "gunicorn-worker-reinit") {
        assert!(
            reinit.confirms.contains(other),
            "{other} does not fold under the reinit"
        );
    }
    // A single error line (the entrypoint's own init) is not enough.
    let once = [GUNICORN_UP, &[error]].concat();
    assert!(!fires(
        &set,
        &reinit.id,
        &once,
        &health,
        &web_state("unhealthy")
    ));
}

#[test]
fn a_missing_role_is_not_a_wrong_password() {
    let set = embedded();
    // A running container's exit code is inspect's 0.
    let exited = StateFacts {
        status: "running".into(),
        exit_code: Some(0),
        ..StateFacts::default()
    };
    let role_missing = [
        "2024-05-01 10:00:00.000 UTC [60] FATAL:  password authentication failed for user \"bob\"",
        "2024-05-01 10:00:00.000 UTC [60] DETAIL:  Role \"bob\" does not exist.",
        "\tConnection matched pg_hba.conf line 100: \"host all all all scram-sha-256\"",
    ];
    let fired = firing(&set, &role_missing, &[], &exited);
    assert_eq!(
        fired,
        [
            "pg-auth-failed",
            "pg-auth-failed-client-url",
            "pg-role-missing"
        ]
    );
    let role = set.get("pg-role-missing").expect("rule");
    for look_alike in ["pg-auth-failed", "pg-auth-failed-client-url"] {
        assert!(
            role.confirms.contains(&look_alike.to_owned()),
            "{look_alike}"
        );
    }
    // The only-DETAIL line of the wrong password is not claimed by pg-role-missing.
    let wrong_password = [
        "2024-05-01 10:00:00.000 UTC [61] FATAL:  password authentication failed for user \"analylit\"",
        "2024-05-01 10:00:00.000 UTC [61] DETAIL:  Connection matched pg_hba.conf line 100: \"host all all all scram-sha-256\"",
    ];
    assert_eq!(
        firing(&set, &wrong_password, &[], &exited),
        ["pg-auth-failed", "pg-auth-failed-client-url"]
    );
}

#[test]
fn a_worker_boot_failure_names_its_exception() {
    let set = embedded();
    let logs = [
        "[2024-05-01 10:00:00 +0000] [8] [INFO] Booting worker with pid: 8",
        "[2024-05-01 10:00:00 +0000] [8] [ERROR] Exception in worker process",
        "Traceback (most recent call last):",
        "  File \"/app/server_v4_complete.py\", line 42, in <module>",
        "    app = create_app()",
        "NameError: name 'init_db' is not defined",
        "[2024-05-01 10:00:00 +0000] [8] [INFO] Worker exiting (pid: 8)",
        "[2024-05-01 10:00:00 +0000] [1] [INFO] Shutting down: Master",
        "[2024-05-01 10:00:00 +0000] [1] [INFO] Reason: Worker failed to boot.",
    ];
    let state = StateFacts {
        status: "restarting".into(),
        exit_code: Some(3),
        restarting: true,
        restarts: 4,
        ..StateFacts::default()
    };
    assert_eq!(
        firing(&set, &logs, &[], &state),
        ["name-not-defined", "restart-loop"]
    );
    let rule = set.get("name-not-defined").expect("rule");
    let caps = captures_of(log_symptoms(rule).next().expect("logs"), logs[5]).expect("match");
    assert_eq!(
        rule.render_summary(&caps, "web"),
        "`init_db` is used but never defined or imported"
    );
    assert!(rule.confirms.contains(&"restart-loop".to_owned()));
}
