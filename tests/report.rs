//! The HTML and Markdown reports of captured bundles as a reviewer sees them (insta snapshots),
//! with the facts each must show asserted on their own: the root cause's node and finding, the
//! causal links, who never started, the first error lines, and two faults at once.
//!
//! No lab stack holds two faults, so one is made here from two captured bundles: the stack of
//! `depends-on-not-healthy` (web gave up on a database still booting) with the Celery worker of
//! `celery-unregistered-task` (a task it does not know) added, its recorded probes with it. Both
//! were captured within the same minute, so their times make one timeline.
mod support;

use analylit_doctor::bundle::{self, Bundle};
use analylit_doctor::engine::Diagnosis;
use analylit_doctor::report::{Context, Html, Markdown, Report};
use support::bundle::bundles_dir;
use support::doctor::Doctor;

/// `check <input> PATH --format FORMAT` with no engine reachable (a bundle or a paste is drawn
/// without one): its stdout, after asserting it exited 0 or 1.
fn report_of(input: &str, path: &std::path::Path, format: &str) -> String {
    let path = path.to_str().expect("utf-8");
    let ran = Doctor::new()
        .args(["check", input, path, "--format", format])
        .offline()
        .run();
    assert!(
        matches!(ran.code, 0 | 1),
        "check {input} {path}: {}",
        ran.stderr
    );
    ran.stdout
}

fn check_from(bundle: &str, format: &str) -> String {
    report_of(
        "--from",
        &bundles_dir().join(format!("{bundle}.tar.gz")),
        format,
    )
}

/// The page without its stylesheet: the same constant in every page, and noise in a review of
/// what a page says. (The render test looks at the page whole.)
fn without_style(html: &str) -> String {
    match (html.find("<style>"), html.find("</style>")) {
        (Some(a), Some(b)) => format!("{}<style>…</style>{}", &html[..a], &html[b + 8..]),
        _ => html.to_owned(),
    }
}

const BUNDLES: [&str; 6] = [
    "depends-on-not-healthy",
    "real-pg-auth-stale-url",
    "redis-misconf-rdb",
    "oom-killed",
    "entrypoint-not-executable",
    "healthy",
];

#[test]
fn html_reports_of_captured_bundles() {
    for b in BUNDLES {
        let html = check_from(b, "html");
        assert!(html.starts_with("<!DOCTYPE html>"), "{b}");
        for id in [
            "summary",
            "services",
            "graph-svg",
            "timeline-svg",
            "key-moments",
            "findings",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{b}: no #{id}");
        }
        insta::assert_snapshot!(format!("html_{b}"), without_style(&html));
    }
}

#[test]
fn markdown_reports_of_captured_bundles() {
    for b in BUNDLES {
        let md = check_from(b, "markdown");
        assert!(md.contains("```mermaid\nflowchart TD\n"), "{b}");
        insta::assert_snapshot!(format!("markdown_{b}"), md);
    }
}

/// The cascade of the real-shaped stack: web's stale password is the root cause, db's refusals
/// are folded under it (a link from web to db), front waits on a web that never turns healthy
/// and never starts, and web's first error is its first run's, not the later line a finding
/// happens to cite.
#[test]
fn a_cascade_shows_its_cause_its_effects_and_who_never_started() {
    let html = check_from("real-pg-auth-stale-url", "html");
    assert!(html.contains(r#"<g id="node-web" class="node role-root">"#));
    assert!(html.contains(r#"<g id="node-front" class="node role-not-started">"#));
    assert!(
        html.contains(r#"<g id="link-web-db">"#),
        "db's refusals link to web"
    );
    assert!(
        html.contains(r#"<g id="edge-web-front">"#),
        "front depends on web"
    );
    assert!(html.contains(r##"href="#finding-pg-auth-failed-client-url-web""##));
    assert!(html.contains(r#"id="first-error-pa-analylit-web""#));
    // Web's first error line is its first run's: after it started, before it first exited.
    let at = |class: &str| -> f64 {
        let row = html
            .lines()
            .find(|l| l.contains(class) && l.contains("pa-analylit_web"))
            .unwrap_or_else(|| panic!("web's {class} in the key moments"));
        let when = row
            .split("<td class=\"when\">+")
            .nth(1)
            .and_then(|r| r.split('s').next())
            .and_then(|t| t.parse().ok());
        when.unwrap_or_else(|| panic!("no offset in {row}"))
    };
    let (started, error, exited) = (at("k-started"), at("k-first-error"), at("k-exited"));
    assert!(
        started <= error && error <= exited,
        "first error at +{error}s, outside web's first run (+{started}s to +{exited}s)"
    );

    let md = check_from("real-pg-auth-stale-url", "markdown");
    assert!(md.contains("| front | no container |") || md.contains("no container"));
    assert!(
        md.contains("-.->|\"caused: pg-auth-failed-client-url\"|"),
        "{md}"
    );
    assert!(md.contains("class s3 root"), "{md}");
}

/// A Redis that cannot save explains the clients' MISCONF: the link runs from redis to web.
#[test]
fn a_server_side_cause_links_to_its_clients() {
    let html = check_from("redis-misconf-rdb", "html");
    assert!(html.contains(r#"<g id="node-redis" class="node role-root">"#));
    assert!(html.contains(r#"<g id="node-web" class="node role-effect">"#));
    assert!(html.contains(r#"<g id="link-redis-web">"#));
}

/// The OOM kill and its exit code are on the worker's lane.
#[test]
fn an_oom_kill_is_marked_on_the_timeline() {
    let html = check_from("oom-killed", "html");
    let start = html
        .find(r#"<g id="lane-oom-killed-worker-1""#)
        .expect("the worker's lane");
    let lane = &html[start..];
    let lane = &lane[..lane[1..]
        .find("<g id=\"lane-")
        .map_or(lane.len(), |e| e + 1)];
    assert!(lane.contains("m-oom"), "{lane}");
    assert!(lane.contains("exit 137"), "{lane}");
}

fn two_faults() -> (Bundle, Diagnosis) {
    let dir = bundles_dir();
    let read = |name: &str| {
        bundle::read_file(&dir.join(format!("{name}.tar.gz"))).expect("a captured bundle")
    };
    let mut stack = read("depends-on-not-healthy");
    let celery = read("celery-unregistered-task");
    let worker = celery
        .snapshot
        .containers
        .iter()
        .find(|c| c.service == "worker")
        .expect("celery's worker")
        .clone();
    stack.probes.extend(
        celery
            .probes
            .iter()
            .filter(|p| p.container == worker.name)
            .cloned(),
    );
    stack.snapshot.containers.push(worker);
    stack.snapshot.project = "two-faults".into();
    let rules = analylit_doctor::rules::load_embedded().expect("rules");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let diagnosis = runtime.block_on(bundle::diagnose(&stack, &rules));
    (stack, diagnosis)
}

fn render(printer: &dyn Report, d: &Diagnosis) -> String {
    let mut out = Vec::new();
    printer.render(d, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn two_faults_are_two_root_causes() {
    let (stack, d) = two_faults();
    let causes: Vec<(&str, &str)> = d
        .findings
        .iter()
        .filter(|f| f.severity > analylit_doctor::rules::Severity::Info)
        .map(|f| (f.id.as_str(), f.service.as_str()))
        .collect();
    assert_eq!(
        causes,
        vec![
            ("depends-on-not-healthy", "web"),
            ("celery-unregistered-task", "worker")
        ]
    );
    let context = Context {
        snapshot: Some(&stack.snapshot),
        ..Default::default()
    };
    let html = render(&Html { context }, &d);
    assert!(html.contains(r#"<g id="node-web" class="node role-root">"#));
    assert!(html.contains(r#"<g id="node-worker" class="node role-root">"#));
    assert!(html.contains("✗ 2 problem(s)"));
    insta::assert_snapshot!("html_two_faults", without_style(&html));
    let md = render(&Markdown { context }, &d);
    assert!(
        md.contains("class s2,s3 root") || md.contains("class s3,s2 root"),
        "{md}"
    );
    insta::assert_snapshot!("markdown_two_faults", md);
}

/// Secrets a live snapshot holds (a bundle's are masked already) never reach either report:
/// in a health output, a log line a finding cites, a URL in a state error.
#[test]
fn a_live_snapshot_s_secrets_are_masked_in_both_reports() {
    let (mut stack, _) = two_faults();
    const PW: &str = "Report-Secret-4242";
    let web = stack
        .snapshot
        .containers
        .iter_mut()
        .find(|c| c.service == "web")
        .expect("web");
    web.env.push(analylit_doctor::stack::snapshot::EnvVar {
        name: "POSTGRES_PASSWORD".into(),
        value: PW.into(),
    });
    if let Some(h) = &mut web.health {
        for r in &mut h.log {
            r.output = format!("login with {PW} refused");
        }
    }
    for l in &mut web.logs.lines {
        if l.text.contains("Connection refused") {
            l.text = format!("{} (password {PW})", l.text);
        }
    }
    web.state.error = format!("postgresql://u:{PW}@db/x");
    let rules = analylit_doctor::rules::load_embedded().expect("rules");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let d = runtime.block_on(bundle::diagnose(&stack, &rules));
    assert!(
        d.all_findings()
            .iter()
            .any(|f| f.evidence.iter().any(|e| e.text().contains("***"))),
        "the finding cites the line that held the password"
    );
    let context = Context {
        snapshot: Some(&stack.snapshot),
        ..Default::default()
    };
    for (name, text) in [
        ("html", render(&Html { context }, &d)),
        ("markdown", render(&Markdown { context }, &d)),
    ] {
        assert!(!text.contains(PW), "{name} shows the password");
        assert!(text.contains("***"), "{name}: where it was, it is masked");
    }
}

#[test]
fn reports_are_the_same_every_time() {
    let a = check_from("depends-on-not-healthy", "html");
    let b = check_from("depends-on-not-healthy", "html");
    assert_eq!(a, b);
}

/// `check --logs FILE` of a captured transcript, in `format`.
fn check_logs(transcript: &str, format: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/transcripts")
        .join(transcript);
    report_of("--logs", &path, format).replace(path.to_str().expect("utf-8"), transcript)
}

const TABLE_BUNDLES: [&str; 3] = [
    "gunicorn-worker-reinit",
    "depends-on-not-healthy",
    "real-name-not-defined",
];

#[test]
fn table_reports_show_each_evidence_line_once() {
    insta::assert_snapshot!(
        "table_transcript_name-not-defined",
        check_logs("name-not-defined.ts.log", "table")
    );
    for b in TABLE_BUNDLES {
        insta::assert_snapshot!(format!("table_{b}"), check_from(b, "table"));
    }
}

/// Every log evidence line of every finding, as (finding, container, text).
fn log_evidence(report: &serde_json::Value) -> Vec<(String, String, String, u64)> {
    let mut out = vec![];
    for f in report["findings"].as_array().into_iter().flatten() {
        for e in f["evidence"].as_array().into_iter().flatten() {
            if e["kind"] == "log" {
                out.push((
                    f["id"].as_str().unwrap_or_default().to_owned(),
                    e["container"].as_str().unwrap_or_default().to_owned(),
                    e["text"].as_str().unwrap_or_default().to_owned(),
                    e["occurrences"].as_u64().unwrap_or_default(),
                ));
            }
        }
    }
    out
}

#[test]
fn no_evidence_line_is_repeated_and_each_carries_its_own_count() {
    let mut reports = vec![];
    for t in [
        "name-not-defined.log",
        "name-not-defined.ts.log",
        "flower-db-needs-recovery.log",
    ] {
        reports.push((t.to_owned(), check_logs(t, "json")));
    }
    for e in std::fs::read_dir(bundles_dir()).expect("bundles").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(b) = name.strip_suffix(".tar.gz") {
            reports.push((b.to_owned(), check_from(b, "json")));
        }
    }
    assert!(reports.len() > 20);
    for (what, json) in &reports {
        let report: serde_json::Value = serde_json::from_str(json).expect("json report");
        let lines = log_evidence(&report);
        let mut seen = std::collections::BTreeSet::new();
        for (id, container, text, _) in &lines {
            assert!(
                seen.insert((id, container, text)),
                "{what}: {id} shows {text:?} of {container} twice"
            );
        }
    }
    // The transcript logs `NameError` 25 times: one line, counted 25 times; each gunicorn
    // worker's boot line is its own (one each), not the symptom's total.
    let (_, json) = &reports[0];
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    let name_errors: Vec<_> = log_evidence(&report)
        .into_iter()
        .filter(|(_, _, t, _)| t.contains("NameError: name 'init_db'"))
        .collect();
    assert_eq!(name_errors.len(), 1, "{name_errors:?}");
    assert_eq!(name_errors[0].3, 25);
    let report: serde_json::Value =
        serde_json::from_str(&check_from("gunicorn-worker-reinit", "json")).unwrap();
    let boots: Vec<_> = log_evidence(&report)
        .into_iter()
        .filter(|(_, _, t, _)| t.contains("Booting worker with pid"))
        .collect();
    assert!(!boots.is_empty());
    assert!(boots.iter().all(|b| b.3 == 1), "{boots:?}");
}
