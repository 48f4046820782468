//! The compose edits on the lab's compose files and the shapes of `fixtures/edits/`: each
//! changes only what it says (the model before and after), keeps the file's style, refuses
//! what it cannot change safely, and is idempotent.
use super::healthcheck::python_code;
use super::verify::{verify, without_positions};
use super::*;
use crate::stack::compose::{self, Condition, Healthcheck, Pos};
use std::path::Path;
use std::time::Duration;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/edits")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn model(text: &str) -> ComposeModel {
    compose::parse(Path::new("docker-compose.yml"), text, &|_| None)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Snapshot the diff (in `fixtures/edits/snapshots/`).
fn snapshot(name: &str, edit: &Edit) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../../../fixtures/edits/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, edit.diff()));
}

/// The lines the diff removes and adds, without the markers.
fn changed(edit: &Edit) -> (Vec<String>, Vec<String>) {
    let diff = edit.diff();
    let body = diff.lines().skip(2).filter(|l| !l.starts_with("@@"));
    let (mut minus, mut plus) = (Vec::new(), Vec::new());
    for l in body {
        if let Some(t) = l.strip_prefix('-') {
            minus.push(t.to_string());
        } else if let Some(t) = l.strip_prefix('+') {
            plus.push(t.to_string());
        }
    }
    (minus, plus)
}

/// The new text's model equals the old one's, positions aside, except `service`, which
/// equals the old one with `intended` applied; and the edit is idempotent.
fn assert_only(
    edit: &Edit,
    service: &str,
    intended: impl Fn(&mut ComposeService),
    again: impl Fn(&str, &ComposeModel) -> Result<Edit, EditError>,
) -> ComposeModel {
    let (before, after) = (model(&edit.old), model(&edit.new));
    assert_eq!(before.version, after.version);
    assert_eq!(before.services.len(), after.services.len());
    for (b, a) in before.services.iter().zip(&after.services) {
        let mut want = without_positions(b);
        if b.name == service {
            intended(&mut want);
        }
        assert_eq!(without_positions(a), want, "service {}", b.name);
    }
    let second = again(&edit.new, &after).expect("applies again");
    assert!(second.is_noop(), "not idempotent:\n{}", second.diff());
    after
}

fn condition_of(m: &ComposeModel, service: &str, dep: &str) -> Condition {
    let svc = m.service(service).unwrap();
    svc.depends_on
        .iter()
        .find(|d| d.service == dep)
        .unwrap()
        .condition
}

fn healthcheck(m: &ComposeModel, service: &str) -> Healthcheck {
    m.service(service).unwrap().healthcheck.clone().unwrap()
}

/// Every edit that applies to the lab's stacks and these fixtures succeeds, passes its
/// own check and is idempotent.
#[test]
fn every_applicable_edit_on_every_fixture_succeeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<_> = std::fs::read_dir(root.join("stacks"))
        .unwrap()
        .map(|e| e.unwrap().path().join("docker-compose.yml"))
        .filter(|p| p.is_file())
        .collect();
    for name in [
        "v38-four-spaces.yml",
        "spec-block-list.yml",
        "string-test.yml",
    ] {
        files.push(root.join("edits").join(name));
    }
    let mut edits = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let m = model(&text);
        let at = file.display().to_string();
        let mut check = |edit: Result<Edit, EditError>, again: &dyn Fn(&Edit) -> Edit| {
            let edit = edit.unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(!edit.is_noop(), "{at}");
            assert!(again(&edit).is_noop(), "{at}: not idempotent");
            edits += 1;
        };
        for svc in &m.services {
            let name = svc.name.as_str();
            for d in svc
                .depends_on
                .iter()
                .filter(|d| d.condition == Condition::Started)
            {
                let dep = d.service.as_str();
                check(depends_on_healthy(&at, &text, &m, name, dep), &|e| {
                    depends_on_healthy(&at, &e.new, &model(&e.new), name, dep).unwrap()
                });
            }
            if svc.healthcheck.is_some() {
                check(set_start_period(&at, &text, &m, name, 99), &|e| {
                    set_start_period(&at, &e.new, &model(&e.new), name, 99).unwrap()
                });
                check(python_healthcheck(&at, &text, &m, name, URL), &|e| {
                    python_healthcheck(&at, &e.new, &model(&e.new), name, URL).unwrap()
                });
            }
        }
    }
    assert!(edits > 100, "only {edits} edits tried");
}

// ---- depends_on_healthy --------------------------------------------------------------

fn healthy(dep: &'static str, rewrite: bool) -> impl Fn(&mut ComposeService) {
    move |s: &mut ComposeService| {
        for d in &mut s.depends_on {
            if rewrite {
                d.long_form = true;
                d.condition_pos = Some(Pos::default());
            }
            if d.service == dep {
                d.condition = Condition::Healthy;
                d.condition_pos = Some(Pos::default());
            }
        }
    }
}

fn depends(name: &str, service: &'static str, dep: &'static str) -> (Edit, ComposeModel) {
    let text = fixture(name);
    let m = model(&text);
    let edit = depends_on_healthy(name, &text, &m, service, dep).unwrap_or_else(|e| panic!("{e}"));
    let rewrite = !m.service(service).unwrap().depends_on[0].long_form;
    let after = assert_only(&edit, service, healthy(dep, rewrite), |t, m| {
        depends_on_healthy(name, t, m, service, dep)
    });
    assert_eq!(condition_of(&after, service, dep), Condition::Healthy);
    (edit, after)
}

#[test]
fn a_short_block_list_becomes_the_mapping_form() {
    let (edit, after) = depends("depends-on-not-healthy.yml", "web", "db");
    assert_eq!(condition_of(&after, "web", "redis"), Condition::Started);
    assert_eq!(
        changed(&edit),
        (
            vec!["      - db".into(), "      - redis".into()],
            vec![
                "      db:".into(),
                "        condition: service_healthy".into(),
                "      redis:".into(),
                "        condition: service_started".into(),
            ]
        )
    );
    // The lab's expected fix, recorded with GNU diff in fixtures/edits/diff/.
    assert_eq!(
        edit.diff(),
        fixture("diff/compose-depends.diff")
            .replace("compose-depends", "depends-on-not-healthy.yml")
    );
}

#[test]
fn a_flow_list_becomes_the_mapping_form_with_four_spaces_and_its_comment() {
    let (edit, _) = depends("v38-four-spaces.yml", "web", "redis");
    assert_eq!(
        changed(&edit),
        (
            vec![r#"        depends_on: [db, "redis"]   # short form: started, not ready"#.into()],
            vec![
                "        depends_on:   # short form: started, not ready".into(),
                "            db:".into(),
                "                condition: service_started".into(),
                r#"            "redis":"#.into(),
                "                condition: service_healthy".into(),
            ]
        )
    );
    snapshot("v38_web_redis_healthy", &edit);
}

#[test]
fn a_block_list_keeps_its_comments() {
    let (edit, _) = depends("v38-four-spaces.yml", "worker", "db");
    snapshot("v38_worker_db_healthy", &edit);
    let (_, plus) = changed(&edit);
    assert!(
        plus.contains(&"            redis:   # the queue".to_string()),
        "{plus:?}"
    );
    assert!(
        !edit.diff().contains("-            # the database"),
        "comment kept in place"
    );
}

#[test]
fn a_block_list_at_its_keys_indentation() {
    let (edit, _) = depends("spec-block-list.yml", "web", "db");
    snapshot("spec_web_db_healthy", &edit);
    let (_, plus) = changed(&edit);
    assert_eq!(plus[0], "      redis:");
    assert_eq!(plus[1], "        condition: service_started");
}

#[test]
fn long_form_without_condition_gets_one_inserted() {
    // `db:` with nothing: a new indented line.
    let (edit, _) = depends("spec-block-list.yml", "worker", "db");
    assert_eq!(
        changed(&edit),
        (vec![], vec!["        condition: service_healthy".into()])
    );
    // `redis: {restart: true}`: into the flow mapping.
    let (edit, _) = depends("spec-block-list.yml", "worker", "redis");
    assert_eq!(
        changed(&edit).1,
        vec!["      redis: {condition: service_healthy, restart: true}".to_string()]
    );
    // `web:` with keys below: at their indentation.
    let (edit, _) = depends("spec-block-list.yml", "worker", "web");
    snapshot("spec_worker_web_healthy", &edit);
    // `redis: ~   # …` and `db: {}`.
    let (edit, _) = depends("spec-block-list.yml", "flower", "redis");
    assert_eq!(
        changed(&edit).1,
        vec![
            "      redis:   # nothing to wait for".to_string(),
            "        condition: service_healthy".into()
        ]
    );
    let (edit, _) = depends("spec-block-list.yml", "flower", "db");
    assert_eq!(
        changed(&edit).1,
        vec!["      db: {condition: service_healthy}".to_string()]
    );
}

#[test]
fn long_form_started_changes_only_the_value_and_keeps_quotes() {
    let (edit, _) = depends("string-test.yml", "flower", "web");
    assert_eq!(
        changed(&edit),
        (
            vec![r#"        condition: "service_started""#.into()],
            vec![r#"        condition: "service_healthy""#.into()]
        )
    );
}

#[test]
fn already_healthy_is_no_change_and_missing_is_an_error() {
    let text = fixture("healthcheck-start-period-short.yml");
    let m = model(&text);
    assert!(
        depends_on_healthy("f", &text, &m, "worker", "web")
            .unwrap()
            .is_noop()
    );
    let err = depends_on_healthy("f", &text, &m, "web", "worker").unwrap_err();
    assert_eq!(err.to_string(), "web has no depends_on on worker in f");
    let err = depends_on_healthy("f", &text, &m, "nginx", "db").unwrap_err();
    assert!(matches!(err, EditError::NoService { .. }), "{err}");
}

#[test]
fn dependencies_written_through_anchors_are_refused() {
    let text = fixture("anchors.yml");
    let m = model(&text);
    for service in ["web", "api"] {
        let err = depends_on_healthy("anchors.yml", &text, &m, service, "db").unwrap_err();
        assert!(matches!(err, EditError::Shared { .. }), "{service}: {err}");
        assert!(err.to_string().contains("edit it by hand"), "{err}");
    }
    // A plain list in the same file is fine.
    let edit = depends_on_healthy("anchors.yml", &text, &m, "worker", "db").unwrap();
    assert_eq!(
        condition_of(&model(&edit.new), "worker", "db"),
        Condition::Healthy
    );
}

#[test]
fn a_stale_model_is_refused() {
    let text = fixture("depends-on-not-healthy.yml");
    let m = model(&text);
    let shifted = format!("# one more line\n{text}");
    let err = depends_on_healthy("f", &shifted, &m, "web", "db").unwrap_err();
    assert!(matches!(err, EditError::Stale { .. }), "{err}");
}

#[test]
fn crlf_compose_files_stay_crlf() {
    let text = fixture("depends-on-not-healthy.yml").replace('\n', "\r\n");
    let m = model(&text);
    let edit = depends_on_healthy("f", &text, &m, "web", "db").unwrap();
    assert_eq!(
        edit.new.matches('\n').count(),
        edit.new.matches("\r\n").count()
    );
    assert_eq!(
        condition_of(&model(&edit.new), "web", "db"),
        Condition::Healthy
    );
    let edit = set_start_period("f", &text, &m, "redis", 30).unwrap();
    assert_eq!(
        edit.new.matches('\n').count(),
        edit.new.matches("\r\n").count()
    );
    assert_eq!(
        changed(&edit),
        (vec![], vec!["      start_period: 30s␍".into()])
    );
}

#[test]
fn a_flow_style_service_stays_on_its_line() {
    let text = "services:\n  db: {image: pg, healthcheck: {test: [\"CMD\", \"true\"]}}\n  web: {image: app, depends_on: [db]}\n";
    let m = model(text);
    let edit = depends_on_healthy("f", text, &m, "web", "db").unwrap();
    assert_eq!(
        changed(&edit).1,
        vec!["  web: {image: app, depends_on: {db: {condition: service_healthy}}}".to_string()]
    );
    assert_eq!(
        condition_of(&model(&edit.new), "web", "db"),
        Condition::Healthy
    );
}

// ---- set_start_period ----------------------------------------------------------------

fn start_period(name: &str, service: &'static str, secs: u64) -> (Edit, ComposeModel) {
    let text = fixture(name);
    let m = model(&text);
    let edit = set_start_period(name, &text, &m, service, secs).unwrap_or_else(|e| panic!("{e}"));
    let intended = |s: &mut ComposeService| {
        let h = s.healthcheck.as_mut().unwrap();
        h.start_period = Some(Duration::from_secs(secs));
        h.key_pos.insert("start_period".into(), Pos::default());
    };
    let after = assert_only(&edit, service, intended, |t, m| {
        set_start_period(name, t, m, service, secs)
    });
    assert_eq!(
        healthcheck(&after, service).start_period,
        Some(Duration::from_secs(secs))
    );
    (edit, after)
}

#[test]
fn start_period_is_replaced_in_place() {
    let (edit, _) = start_period("healthcheck-start-period-short.yml", "web", 60);
    assert_eq!(
        changed(&edit),
        (
            vec!["      start_period: 2s".into()],
            vec!["      start_period: 60s".into()]
        )
    );
    let (edit, _) = start_period("string-test.yml", "web", 90);
    assert_eq!(
        changed(&edit).1,
        vec!["      start_period: '90s'".to_string()]
    );
    let (edit, _) = start_period("spec-block-list.yml", "web", 120);
    assert_eq!(
        changed(&edit).1,
        vec!["      start_period: 120s".to_string()]
    );
}

#[test]
fn start_period_is_inserted_after_the_last_timing_key() {
    let (edit, _) = start_period("healthcheck-start-period-short.yml", "redis", 30);
    assert_eq!(
        changed(&edit),
        (vec![], vec!["      start_period: 30s".into()])
    );
    assert!(
        edit.diff()
            .contains("       retries: 20\n+      start_period: 30s\n \n   web:")
    );
    // Quoted like the block's other durations, at four spaces.
    let (edit, _) = start_period("v38-four-spaces.yml", "db", 45);
    assert_eq!(
        changed(&edit),
        (vec![], vec![r#"            start_period: "45s""#.into()])
    );
    let (edit, _) = start_period("v38-four-spaces.yml", "web", 45);
    snapshot("v38_web_start_period", &edit);
    // After `interval` when that is the only timing key.
    let (edit, _) = start_period("string-test.yml", "flower", 30);
    assert!(
        edit.diff()
            .contains("       interval: 10s\n+      start_period: 30s\n"),
        "{}",
        edit.diff()
    );
}

#[test]
fn start_period_in_a_flow_healthcheck() {
    let (edit, _) = start_period("spec-block-list.yml", "db", 20);
    assert_eq!(
        changed(&edit).1,
        vec![
            r#"    healthcheck: {test: ["CMD-SHELL", "pg_isready"], interval: 5s, retries: 5, start_period: 20s}"#
                .to_string()
        ]
    );
}

#[test]
fn start_period_replaced_inside_a_flow_healthcheck() {
    let (first, after) = start_period("spec-block-list.yml", "redis", 20);
    assert_eq!(
        changed(&first).1,
        vec![r#"    healthcheck: {test: "redis-cli ping", start_period: 20s}"#.to_string()]
    );
    let second = set_start_period("f", &first.new, &after, "redis", 40).unwrap();
    assert_eq!(
        changed(&second).1,
        vec![r#"    healthcheck: {test: "redis-cli ping", start_period: 40s}"#.to_string()]
    );
}

#[test]
fn a_file_without_final_newline_keeps_it_that_way() {
    let text =
        "services:\n  web:\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      retries: 3";
    let edit = set_start_period("f", text, &model(text), "web", 30).unwrap();
    assert_eq!(edit.new, format!("{text}\n      start_period: 30s"));
    let edit = python_healthcheck("f", text, &model(text), "web", URL).unwrap();
    assert!(edit.new.ends_with("\n      retries: 3"), "{}", edit.new);
}

#[test]
fn durations_from_variables_are_edited_by_position() {
    let text = "services:\n  web:\n    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: ${HC_INTERVAL}\n";
    let vars = |name: &str| (name == "HC_INTERVAL").then(|| "5s".to_string());
    let m = compose::parse(Path::new("f"), text, &vars).unwrap();
    let edit = set_start_period("f", text, &m, "web", 30).unwrap();
    assert_eq!(
        changed(&edit),
        (vec![], vec!["      start_period: 30s".into()])
    );
    let after = compose::parse(Path::new("f"), &edit.new, &vars).unwrap();
    assert_eq!(
        healthcheck(&after, "web").start_period,
        Some(Duration::from_secs(30))
    );
}

#[test]
fn the_check_refuses_a_change_to_another_service() {
    let old = fixture("depends-on-not-healthy.yml");
    let new = old.replace("retries: 20\n\n  web:", "retries: 21\n\n  web:");
    let err = verify("f", &old, &new, "web", |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the edited f would not say what was intended (redis changed too (a shared \
         anchor?)): edit it by hand"
    );
    let err = verify(
        "f",
        &old,
        &old.replace("retries: 3", "retries: 4"),
        "web",
        |_| {},
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("web changed in another way"),
        "{err}"
    );
    let err = verify("f", &old, &old.replace("  web:", "  web: ["), "web", |_| {}).unwrap_err();
    assert!(err.to_string().contains("no longer parses"), "{err}");
    assert_eq!(verify("f", &old, &old, "web", |_| {}), Ok(()));
}

#[test]
fn a_merged_start_period_is_overridden_in_the_service_not_in_the_anchor() {
    let (edit, _) = start_period("anchors.yml", "api", 40);
    assert_eq!(
        changed(&edit),
        (vec![], vec!["      start_period: 40s".into()])
    );
}

#[test]
fn start_period_needs_a_healthcheck_of_its_own() {
    let text = fixture("spec-block-list.yml");
    let m = model(&text);
    let err = set_start_period("f", &text, &m, "worker", 30).unwrap_err();
    assert_eq!(
        err.to_string(),
        "worker has no healthcheck block in f: add one by hand"
    );
    let text = fixture("anchors.yml");
    let m = model(&text);
    let err = set_start_period("anchors.yml", &text, &m, "web", 30).unwrap_err();
    assert!(matches!(err, EditError::Shared { .. }), "{err}");
    // Already long enough: nothing to do.
    let text = fixture("healthcheck-tool-missing.yml");
    let m = model(&text);
    assert!(
        set_start_period("f", &text, &m, "web", 10)
            .unwrap()
            .is_noop()
    );
}

// ---- python_healthcheck --------------------------------------------------------------

const URL: &str = "http://localhost:5001/api/settings/profiles";

fn python(name: &str, service: &'static str, url: &'static str) -> (Edit, ComposeModel) {
    let text = fixture(name);
    let m = model(&text);
    let edit = python_healthcheck(name, &text, &m, service, url).unwrap_or_else(|e| panic!("{e}"));
    let intended = |s: &mut ComposeService| {
        let h = s.healthcheck.as_mut().unwrap();
        h.test = python_test(url);
        h.key_pos.insert("test".into(), Pos::default());
    };
    let after = assert_only(&edit, service, intended, |t, m| {
        python_healthcheck(name, t, m, service, url)
    });
    assert_eq!(healthcheck(&after, service).test, python_test(url));
    (edit, after)
}

#[test]
fn a_curl_flow_list_becomes_the_python_one_liner() {
    let (edit, _) = python("healthcheck-tool-missing.yml", "web", URL);
    assert_eq!(
        changed(&edit),
        (
            vec![r#"      test: ["CMD-SHELL", "curl -fsS http://localhost:5001/api/settings/profiles || exit 1"]"#.into()],
            vec![r#"      test: ["CMD", "python3", "-c", "import sys, urllib.request; urllib.request.urlopen('http://localhost:5001/api/settings/profiles', timeout=3); sys.exit(0)"]"#.into()]
        )
    );
    snapshot("tool_missing_web_python", &edit);
}

#[test]
fn a_plain_string_test_keeps_its_comment() {
    let (edit, _) = python("string-test.yml", "web", URL);
    let (minus, plus) = changed(&edit);
    assert_eq!(minus.len(), 1);
    assert!(
        plus[0].starts_with(r#"      test: ["CMD", "python3", "-c", "#),
        "{plus:?}"
    );
    assert!(plus[0].ends_with("\"]   # needs curl"), "{plus:?}");
}

#[test]
fn block_lists_and_folded_tests_are_replaced_whole() {
    let (edit, _) = python("v38-four-spaces.yml", "web", URL);
    snapshot("v38_web_python", &edit);
    let (minus, plus) = changed(&edit);
    assert_eq!(minus.len(), 4, "{minus:?}");
    assert_eq!(
        &plus[..2],
        [
            "            # through a shell",
            "            # curl is not in the slim image"
        ]
    );
    let (edit, _) = python(
        "string-test.yml",
        "flower",
        "http://localhost:5555/healthcheck",
    );
    assert_eq!(changed(&edit).0.len(), 3);
    assert_eq!(changed(&edit).1.len(), 1);
}

#[test]
fn tests_inside_flow_healthchecks() {
    let (edit, _) = python("spec-block-list.yml", "redis", "http://localhost:6379/");
    let plus = changed(&edit).1;
    assert!(
        plus[0].starts_with(r#"    healthcheck: {test: ["CMD", "python3""#),
        "{plus:?}"
    );
    assert!(plus[0].ends_with("sys.exit(0)\"]}"), "{plus:?}");
}

#[test]
fn tests_written_through_anchors_are_refused() {
    let text = fixture("anchors.yml");
    let m = model(&text);
    for service in ["web", "worker", "beat"] {
        let err = python_healthcheck("anchors.yml", &text, &m, service, URL).unwrap_err();
        assert!(matches!(err, EditError::Shared { .. }), "{service}: {err}");
    }
    let err = python_healthcheck("anchors.yml", &text, &m, "beat", URL).unwrap_err();
    assert_eq!(
        err.to_string(),
        "beat's healthcheck test is written as an anchor/alias (anchors.yml:41): edit it by hand"
    );
    // A merged test is overridden in the service's own block.
    let (edit, _) = python("anchors.yml", "api", URL);
    assert_eq!(changed(&edit).0.len(), 0);
    assert!(changed(&edit).1[0].starts_with("      test: [\"CMD\", \"python3\""));
}

#[test]
fn awkward_urls_are_quoted_for_yaml_compose_and_python() {
    let url = r#"http://localhost:5001/a'b"c\d$e?x=1"#;
    let (edit, _) = python("healthcheck-tool-missing.yml", "web", url);
    let code = python_test(url).pop().unwrap();
    assert!(
        code.contains(r#"urlopen('http://localhost:5001/a\'b"c\\d$e?x=1', timeout=3)"#),
        "{code}"
    );
    assert!(edit.new.contains("$$e"), "compose needs $$ for a literal $");
    for bad in ["ftp://x/", "http://a b/", "localhost:5001/", "http://x/\n"] {
        let text = fixture("healthcheck-tool-missing.yml");
        let err = python_healthcheck("f", &text, &model(&text), "web", bad).unwrap_err();
        assert!(matches!(err, EditError::BadUrl { .. }), "{bad:?}: {err}");
    }
}

#[test]
fn no_healthcheck_is_an_error() {
    let text = fixture("spec-block-list.yml");
    let err = python_healthcheck("f", &text, &model(&text), "worker", URL).unwrap_err();
    assert!(matches!(err, EditError::NoHealthcheck { .. }), "{err}");
}

/// The one-liner exits 0 on a 200 and non-zero on a 500 or a refused connection, as
/// Docker needs (needs `python3` on the host).
#[test]
fn the_one_liner_fails_on_http_errors() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::process::Command;
    if Command::new("python3").arg("-V").output().is_err() {
        eprintln!("python3 not found: skipped");
        return;
    }
    let run = |status: &'static str| -> i32 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let answer = format!("HTTP/1.0 {status}\r\nContent-Length: 2\r\n\r\nok");
            conn.write_all(answer.as_bytes()).unwrap();
        });
        let code = python_code(&format!("http://127.0.0.1:{port}/health"));
        let out = Command::new("python3")
            .args(["-c", &code])
            .output()
            .unwrap();
        server.join().unwrap();
        out.status.code().unwrap_or(-1)
    };
    assert_eq!(run("200 OK"), 0);
    assert_ne!(run("500 Internal Server Error"), 0);
    assert_ne!(run("404 Not Found"), 0);
    // Nothing listening: refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let code = python_code(&format!("http://127.0.0.1:{port}/"));
    let out = Command::new("python3")
        .args(["-c", &code])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
}
