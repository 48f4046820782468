//! The machine formats (`--format junit | github | sarif`) on a hand-made diagnosis: a root cause
//! located in a source file, its folded effect, and an info finding that must not be reported.
use analylit_doctor::engine::{Confirmation, Diagnosis, Evidence, Finding, ServiceStatus};
use analylit_doctor::probes::{Location, Outcome, ProbeResult};
use analylit_doctor::report::{Github, Junit, Report, Sarif};
use analylit_doctor::rules::{RuleSet, Severity, load_embedded};
use std::collections::BTreeMap;

/// A summary with everything the formats must escape.
const SUMMARY: &str = "name 'db' is not defined in server.py: 100% <broken>, a & b\nsecond line";

fn rules() -> RuleSet {
    load_embedded().expect("embedded rules load")
}

fn finding(id: &str, service: &str, severity: Severity, summary: &str) -> Finding {
    Finding {
        id: id.into(),
        title: format!("title of {id}"),
        service: service.into(),
        severity,
        summary: summary.into(),
        evidence: Vec::new(),
        fix: None,
        effects: Vec::new(),
        caused_by: None,
        rule: format!("rules/{id}.toml"),
        probes: Vec::new(),
        ruled_out: Vec::new(),
        confirmation: None,
    }
}

fn service(name: &str) -> ServiceStatus {
    ServiceStatus {
        name: name.into(),
        containers: 1,
        state: "restarting".into(),
        health: None,
        exit_code: Some(1),
        restarts: Some(4),
    }
}

fn diagnosis() -> Diagnosis {
    let mut cause = finding("name-not-defined", "web", Severity::Error, SUMMARY);
    cause.evidence = vec![Evidence::Log {
        container: "proj-web-1".into(),
        ts: Some("2026-11-21T05:00:00.000000001Z".into()),
        text: "NameError: name 'db' is not defined".into(),
        occurrences: 3,
        first_ts: None,
        more: 0,
    }];
    cause.probes = vec![ProbeResult {
        kind: "python-source".into(),
        expect: "name-undefined".into(),
        outcome: Outcome::Confirmed,
        summary: "db is used at server.py:12 and never bound".into(),
        facts: Vec::new(),
        location: Some(Location::new("app/server.py", Some(12))),
        project_location: None,
        data: BTreeMap::from([("name".to_string(), "db".to_string())]),
    }];
    cause.confirmation = Some(Confirmation::Confirmed {
        by: vec!["python-source (name-undefined)".into()],
    });
    let mut effect = finding(
        "restart-loop",
        "web",
        Severity::Warning,
        "web restarted 4 times",
    );
    effect.caused_by = Some("name-not-defined on web".into());
    effect.evidence = vec![Evidence::State {
        container: "proj-web-1".into(),
        field: "restart_count".into(),
        value: "4".into(),
    }];
    cause.effects = vec![effect];
    let info = finding("restart-loop", "db", Severity::Info, "db restarted once");
    Diagnosis {
        project: "proj".into(),
        services: vec![service("web"), service("db")],
        findings: vec![cause, info],
        input: None,
    }
}

fn render(printer: &dyn Report, d: &Diagnosis) -> String {
    let mut out = Vec::new();
    printer.render(d, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn github_lines_are_exact_and_escaped() {
    let text = render(&Github, &diagnosis());
    assert_eq!(
        text,
        "::error title=name-not-defined on web,file=app/server.py,line=12::name 'db' is not \
         defined in server.py: 100%25 <broken>, a & b%0Asecond line\n\
         ::warning title=restart-loop on web::web restarted 4 times\n"
    );
}

#[test]
fn github_is_empty_for_a_healthy_stack() {
    let mut d = diagnosis();
    d.findings.remove(0);
    assert_eq!(render(&Github, &d), "");
}

#[test]
fn junit_has_a_case_per_rule_and_service_and_fails_the_findings() {
    let set = rules();
    let d = diagnosis();
    let xml = render(&Junit { rules: &set }, &d);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit output is well-formed XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attribute("name"), Some("analylit-doctor"));
    let expected_cases: usize = ["web", "db"]
        .iter()
        .map(|s| set.iter().filter(|r| r.applies_to(s)).count())
        .sum();
    let cases: Vec<_> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), expected_cases);
    assert_eq!(
        suites[0].attribute("tests"),
        Some(expected_cases.to_string().as_str())
    );
    assert_eq!(suites[0].attribute("failures"), Some("2"));

    let failure = |service: &str, rule: &str| {
        let case = cases
            .iter()
            .find(|c| {
                c.attribute("classname") == Some(service) && c.attribute("name") == Some(rule)
            })
            .unwrap_or_else(|| panic!("a case for {rule} on {service}"));
        case.children().find(|n| n.has_tag_name("failure"))
    };
    let cause = failure("web", "name-not-defined").expect("the cause fails its case");
    // An attribute carries no line break (XML normalises it to a space); the failure's text
    // keeps the summary whole.
    assert_eq!(
        cause.attribute("message"),
        Some(SUMMARY.replace('\n', " ").as_str())
    );
    assert_eq!(cause.attribute("type"), Some("error"));
    let text = cause.text().expect("failure text");
    assert!(text.contains(SUMMARY), "{text}");
    assert!(
        text.contains("NameError: name 'db' is not defined (x3)"),
        "{text}"
    );
    assert!(text.contains("confirmed by python-source"), "{text}");

    let effect = failure("web", "restart-loop").expect("the effect fails its case");
    let text = effect.text().expect("failure text");
    assert!(text.contains("caused by name-not-defined on web"), "{text}");
    assert!(text.contains("restart_count = 4"), "{text}");

    // The info finding does not fail its case, and the other rules pass.
    assert!(failure("db", "restart-loop").is_none());
    let passing = cases
        .iter()
        .filter(|c| !c.children().any(|n| n.has_tag_name("failure")))
        .count();
    assert_eq!(passing, expected_cases - 2);
}

#[test]
fn junit_gives_an_unknown_rule_a_case_of_its_own() {
    let set = rules();
    let mut d = diagnosis();
    d.findings.push(finding(
        "unclassified-failure",
        "worker",
        Severity::Error,
        "exited 1",
    ));
    let xml = render(&Junit { rules: &set }, &d);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("unclassified-failure"))
        .expect("a case for the unclassified finding");
    assert_eq!(case.attribute("classname"), Some("worker"));
    assert!(case.children().any(|n| n.has_tag_name("failure")));
}

fn sarif_validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sarif/sarif-schema-2.1.0.json"
    );
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vendored schema"))
            .expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
}

#[test]
fn sarif_validates_and_carries_the_findings() {
    let set = rules();
    let d = diagnosis();
    let text = render(&Sarif { rules: &set }, &d);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("SARIF is JSON");
    let validator = sarif_validator();
    assert_valid(&validator, &doc);

    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "analylit-doctor");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), set.len());
    let nnd = rules
        .iter()
        .find(|r| r["id"] == "name-not-defined")
        .expect("rule listed");
    assert_eq!(
        nnd["shortDescription"]["text"],
        set.get("name-not-defined").expect("rule").title.as_str()
    );

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "the info finding is not a result");
    let cause = &results[0];
    assert_eq!(cause["ruleId"], "name-not-defined");
    assert_eq!(cause["level"], "error");
    assert_eq!(cause["message"]["text"], SUMMARY);
    assert_eq!(
        cause["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/server.py"
    );
    assert_eq!(
        cause["locations"][0]["physicalLocation"]["region"]["startLine"],
        12
    );
    assert_eq!(cause["properties"]["service"], "web");
    assert_eq!(cause["properties"]["confirmation"]["status"], "confirmed");
    assert_eq!(
        cause["properties"]["evidence"][0],
        "NameError: name 'db' is not defined"
    );
    let effect = &results[1];
    assert_eq!(effect["ruleId"], "restart-loop");
    assert_eq!(effect["level"], "warning");
    assert_eq!(effect["properties"]["caused_by"], "name-not-defined on web");
    assert!(effect.get("locations").is_none());
}

#[test]
fn the_sarif_check_rejects_a_broken_log() {
    let set = rules();
    let text = render(&Sarif { rules: &set }, &diagnosis());
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("SARIF is JSON");
    doc["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!sarif_validator().is_valid(&doc));
}

#[test]
fn write_file_replaces_the_file_whole_and_leaves_no_temporary() {
    let set = rules();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doctor.sarif");
    std::fs::write(&path, "stale").expect("seed");
    analylit_doctor::report::write_file(&Sarif { rules: &set }, &diagnosis(), &path)
        .expect("written");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    assert_valid(&sarif_validator(), &doc);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("doctor.sarif")]);
}

#[test]
fn write_file_into_a_missing_directory_is_an_error() {
    let set = rules();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("missing/doctor.xml");
    assert!(
        analylit_doctor::report::write_file(&Junit { rules: &set }, &diagnosis(), &path).is_err()
    );
}
