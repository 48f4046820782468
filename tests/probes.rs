//! The `http-route` probe against tiny in-process HTTP servers on 127.0.0.1, and the confirmation
//! pass that lets its outcomes tell the 404 look-alikes apart.
use analylit_doctor::engine::{self, Diagnosis, confirm::confirm};
use analylit_doctor::probes::Probing;
use analylit_doctor::probes::{self, Options, Outcome, ProbeResult};
use analylit_doctor::rules::{ProbeSpec, RouteExpectation, RuleSet, load_embedded};
use analylit_doctor::stack::snapshot::{
    ContainerSnapshot, ContainerState, Health, HealthResult, HealthcheckConfig, LogLine,
    NetworkAttachment, PortBinding, StackSnapshot, Stream,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Test servers
// ---------------------------------------------------------------------------------------------

/// Werkzeug 2.2's default 404 page, as Flask serves it.
const FLASK_404: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n\
    <h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL \
    manually please check your spelling and try again.</p>\n";

/// What a test server saw: one `(request line, Host header)` per request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Serve on 127.0.0.1:0: `route(path)` gives the status for a path; 404s get Flask's page.
async fn serve(route: fn(&str) -> u16) -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let line = head.lines().next().unwrap_or("").to_owned();
                let host = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Host: "))
                    .unwrap_or("")
                    .to_owned();
                let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                log.lock().expect("log").push((line, host));
                let status = route(&path);
                let (reason, body) = match status {
                    404 => ("NOT FOUND", FLASK_404.to_owned()),
                    _ => ("OK", "{\"profiles\": []}".to_owned()),
                };
                let answer = format!(
                    "HTTP/1.1 {status} {reason}\r\nServer: gunicorn\r\nContent-Type: text/html\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, seen)
}

/// The blueprint registered with its prefix twice: the route lives at `/api/api/…`.
fn doubled_prefix(path: &str) -> u16 {
    if path == "/api/api/settings/profiles" {
        200
    } else {
        404
    }
}

fn everywhere_404(_: &str) -> u16 {
    404
}

fn healthy(_: &str) -> u16 {
    200
}

/// Accepts connections and never answers.
async fn silent() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    port
}

// ---------------------------------------------------------------------------------------------
// Synthetic stacks
// ---------------------------------------------------------------------------------------------

const HEALTH_TEST: &str = "curl -fsS http://localhost:5001/api/settings/profiles || exit 1";

fn published(host_ip: &str, host_port: u16) -> PortBinding {
    PortBinding {
        container_port: "5001/tcp".into(),
        host_ip: host_ip.into(),
        host_port: host_port.to_string(),
    }
}

/// A running, unhealthy `web` container whose health check gets 404, published as `ports`.
fn web(ports: Vec<PortBinding>) -> ContainerSnapshot {
    let result = HealthResult {
        start: "2026-11-21T10:00:00Z".into(),
        end: "2026-11-21T10:00:01Z".into(),
        exit_code: 22,
        output: "curl: (22) The requested URL returned error: 404\n".into(),
    };
    ContainerSnapshot {
        id: "0123456789ab".into(),
        name: "analylit-web-1".into(),
        service: "web".into(),
        number: Some(1),
        image: "analylit-web".into(),
        state: ContainerState {
            status: "running".into(),
            running: true,
            ..Default::default()
        },
        health: Some(Health {
            status: "unhealthy".into(),
            failing_streak: 3,
            log: vec![result; 3],
        }),
        healthcheck: Some(HealthcheckConfig {
            test: vec!["CMD-SHELL".into(), HEALTH_TEST.into()],
            interval_ns: 0,
            timeout_ns: 0,
            start_period_ns: 0,
            retries: 0,
        }),
        working_dir: "/app".into(),
        ports,
        restart_policy: "no".into(),
        ..Default::default()
    }
}

/// Run `specs` on `container` as the only container of a stack, with default bounds and no
/// Engine.
async fn run_on(specs: &[ProbeSpec], container: &ContainerSnapshot) -> Vec<ProbeResult> {
    let snapshot = stack(vec![container.clone()]);
    let ctx = probes::Ctx {
        snapshot: &snapshot,
        container,
        docker: None,
        opts: &Options::default(),
        hints: &[],
    };
    probes::run(specs, &ctx).await
}

fn stack(containers: Vec<ContainerSnapshot>) -> StackSnapshot {
    StackSnapshot {
        snapshot_version: 1,
        project: "analylit".into(),
        compose_file: None,
        collected_at: "2026-11-21T10:00:02Z".into(),
        engine_version: None,
        containers,
        compose: None,
        compose_error: None,
        backend: Default::default(),
    }
}

const ALL_THREE: [ProbeSpec; 3] = [
    ProbeSpec::HttpRoute {
        expect: RouteExpectation::PrefixVariantAnswers,
    },
    ProbeSpec::HttpRoute {
        expect: RouteExpectation::NoVariantAnswers,
    },
    ProbeSpec::HttpRoute {
        expect: RouteExpectation::Flask404,
    },
];

fn outcomes(results: &[ProbeResult]) -> Vec<Outcome> {
    results.iter().map(|r| r.outcome.clone()).collect()
}

fn rules() -> RuleSet {
    load_embedded().expect("embedded rules")
}

// ---------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_doubled_prefix_confirms_the_prefix_mismatch_and_rules_out_the_decorator() {
    let (port, seen) = serve(doubled_prefix).await;
    let results = run_on(&ALL_THREE, &web(vec![published("0.0.0.0", port)])).await;
    assert_eq!(
        outcomes(&results),
        [Outcome::Confirmed, Outcome::RuledOut, Outcome::Confirmed],
        "{results:#?}"
    );
    assert_eq!(
        results[0].summary,
        "/api/settings/profiles is Flask's 404 while /api/api/settings/profiles answers 200"
    );
    assert_eq!(results[1].summary, "/api/api/settings/profiles answers 200");
    assert_eq!(results[0].kind, "http-route");
    assert_eq!(results[0].expect, "prefix-variant-answers");
    let facts = &results[0].facts;
    assert!(facts.contains(&"GET /api/settings/profiles → 404 (Flask's 404 page)".to_owned()));
    assert!(facts.contains(&"GET /api/api/settings/profiles → 200".to_owned()));
    assert!(facts.contains(&"GET /settings/profiles → 404 (Flask's 404 page)".to_owned()));

    // One observation for the three expectations: the health URL and its two variants, each
    // asked once, with the Host the health check itself sends.
    let mut seen = seen.lock().expect("seen").clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            "GET /api/api/settings/profiles HTTP/1.1",
            "GET /api/settings/profiles HTTP/1.1",
            "GET /settings/profiles HTTP/1.1",
        ]
        .map(|l| (l.to_owned(), "localhost:5001".to_owned()))
    );
}

#[tokio::test]
async fn a_404_everywhere_confirms_the_lost_decorator_and_rules_out_the_prefix() {
    let (port, seen) = serve(everywhere_404).await;
    let results = run_on(&ALL_THREE, &web(vec![published("127.0.0.1", port)])).await;
    assert_eq!(
        outcomes(&results),
        [Outcome::RuledOut, Outcome::Confirmed, Outcome::Confirmed],
        "{results:#?}"
    );
    assert_eq!(
        results[0].summary,
        "no prefix variant of /api/settings/profiles answers: /api/api/settings/profiles and \
         /settings/profiles answer 404 too"
    );
    assert!(seen.lock().expect("seen").len() <= 4);
}

#[tokio::test]
async fn a_route_that_answers_rules_out_every_look_alike() {
    let (port, seen) = serve(healthy).await;
    let results = run_on(&ALL_THREE, &web(vec![published("", port)])).await;
    assert_eq!(
        outcomes(&results),
        [Outcome::RuledOut, Outcome::RuledOut, Outcome::RuledOut]
    );
    assert_eq!(results[2].summary, "/api/settings/profiles answers 200");
    assert_eq!(
        seen.lock().expect("seen").len(),
        1,
        "no variants after a 200"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_gives_unknown_within_the_timeout() {
    let port = silent().await;
    let container = web(vec![published("0.0.0.0", port)]);
    let results = tokio::time::timeout(Duration::from_secs(10), run_on(&ALL_THREE, &container))
        .await
        .expect("the probe must give up on its own");
    for r in &results {
        assert_eq!(r.outcome, Outcome::Unknown("no answer within 3s".into()));
    }
    assert!(
        results[0]
            .facts
            .contains(&"GET /api/settings/profiles → no answer within 3s".to_owned())
    );
}

#[tokio::test]
async fn without_a_published_port_or_an_engine_nothing_is_asked() {
    // Not published; published on another address only; another container port published: and
    // no network known either (a bundle from an older doctor).
    let other_port = PortBinding {
        container_port: "8080/tcp".into(),
        host_ip: "0.0.0.0".into(),
        host_port: "8080".into(),
    };
    for ports in [
        vec![],
        vec![published("192.168.1.9", 5001)],
        vec![other_port],
    ] {
        let results = run_on(&ALL_THREE, &web(ports.clone())).await;
        for r in &results {
            assert!(
                matches!(&r.outcome, Outcome::Unknown(why)
                    if why.contains("not published on 127.0.0.1")
                        && why.contains("knows no network")),
                "{ports:?}: {r:?}"
            );
        }
    }
    // On a network, but no Engine to reach into it: offline, the probe says so.
    let mut on_network = web(vec![]);
    on_network.networks = vec![NetworkAttachment {
        name: "analylit_default".into(),
        ip: "172.18.0.4".into(),
        aliases: vec!["web".into()],
    }];
    let results = run_on(&ALL_THREE, &on_network).await;
    for r in &results {
        assert_eq!(
            r.outcome,
            Outcome::Unknown("needs the live stack (diagnosing offline)".into())
        );
    }
}

#[tokio::test]
async fn a_stopped_container_or_a_missing_health_check_is_not_probed() {
    let mut stopped = web(vec![published("0.0.0.0", 1)]);
    stopped.state.status = "exited".into();
    let r = run_on(&ALL_THREE[..1], &stopped).await;
    assert!(
        matches!(&r[0].outcome, Outcome::Unknown(why) if why.contains("not running")),
        "{r:?}"
    );
    let mut unchecked = web(vec![published("0.0.0.0", 1)]);
    unchecked.healthcheck = None;
    let r = run_on(&ALL_THREE[..1], &unchecked).await;
    assert!(
        matches!(&r[0].outcome, Outcome::Unknown(why) if why.contains("no health check")),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Confirmation of a diagnosis
// ---------------------------------------------------------------------------------------------

fn ids(d: &Diagnosis) -> Vec<&str> {
    d.findings.iter().map(|f| f.id.as_str()).collect()
}

#[tokio::test]
async fn confirm_keeps_the_confirmed_look_alike_and_lists_the_other_as_ruled_out() {
    let (port, _) = serve(doubled_prefix).await;
    let snapshot = stack(vec![web(vec![published("0.0.0.0", port)])]);
    let set = rules();
    let before = engine::diagnose(&snapshot, &set);
    let mut found = ids(&before);
    found.sort();
    assert_eq!(
        found,
        [
            "blueprint-prefix-mismatch",
            "health-route-missing",
            "route-not-decorated"
        ]
    );

    let after = confirm(before, &snapshot, &set, Probing::Live(None)).await;
    assert_eq!(ids(&after), ["blueprint-prefix-mismatch"]);
    let f = &after.findings[0];
    let mut ruled_out = f.ruled_out.clone();
    ruled_out.sort();
    assert_eq!(
        ruled_out,
        [
            "health-route-missing: /api/api/settings/profiles answers 200",
            "route-not-decorated: /api/api/settings/profiles answers 200"
        ]
    );
    // The rule's python probe needs the Engine: without it, it says so and decides nothing.
    assert_eq!(f.probes.len(), 2);
    assert_eq!(f.probes[0].outcome, Outcome::Confirmed);
    assert_eq!(f.probes[1].kind, "python");
    assert!(matches!(f.probes[1].outcome, Outcome::Unknown(_)));

    let json = serde_json::to_value(&after).expect("json");
    let probe = &json["findings"][0]["probes"][0];
    assert_eq!(probe["kind"], "http-route");
    assert_eq!(probe["expect"], "prefix-variant-answers");
    assert_eq!(probe["outcome"], "confirmed");
    assert!(
        json["findings"][0]["ruled_out"]
            .as_array()
            .expect("ruled_out")
            .contains(&"route-not-decorated: /api/api/settings/profiles answers 200".into())
    );
}

#[tokio::test]
async fn confirm_on_a_404_everywhere_keeps_the_lost_decorator() {
    let (port, _) = serve(everywhere_404).await;
    let snapshot = stack(vec![web(vec![published("0.0.0.0", port)])]);
    let set = rules();
    let after = confirm(
        engine::diagnose(&snapshot, &set),
        &snapshot,
        &set,
        Probing::Live(None),
    )
    .await;
    // Without the source (no Engine), a lost decorator and a route never written look the same:
    // both stay, partly confirmed; the doubled prefix is ruled out.
    let mut kept = ids(&after);
    kept.sort();
    assert_eq!(kept, ["health-route-missing", "route-not-decorated"]);
    let ruled_out: Vec<&String> = after.findings.iter().flat_map(|f| &f.ruled_out).collect();
    assert_eq!(ruled_out.len(), 1);
    assert!(
        ruled_out[0].starts_with("blueprint-prefix-mismatch: no prefix variant"),
        "{ruled_out:?}"
    );
}

#[tokio::test]
async fn confirm_under_gunicorn_reinit_settles_the_folded_look_alikes() {
    let (port, _) = serve(everywhere_404).await;
    let mut container = web(vec![published("0.0.0.0", port)]);
    let line = |ts: &str, text: &str| LogLine {
        ts: Some(ts.into()),
        stream: Stream::Stderr,
        text: text.into(),
    };
    container.logs.lines = vec![
        line(
            "2026-11-21T09:59:50.1Z",
            "[INFO] Booting worker with pid: 8",
        ),
        line(
            "2026-11-21T09:59:50.2Z",
            "[INFO] Booting worker with pid: 9",
        ),
        line(
            "2026-11-21T09:59:51.1Z",
            "ERROR:app:initialisation failed: duplicate key value",
        ),
        line(
            "2026-11-21T09:59:51.2Z",
            "ERROR:app:initialisation failed: duplicate key value",
        ),
    ];
    let snapshot = stack(vec![container]);
    let set = rules();
    let before = engine::diagnose(&snapshot, &set);
    assert_eq!(ids(&before), ["gunicorn-worker-reinit"], "{before:#?}");
    assert_eq!(before.findings[0].effects.len(), 3);

    let after = confirm(before, &snapshot, &set, Probing::Live(None)).await;
    assert_eq!(ids(&after), ["gunicorn-worker-reinit"]);
    let cause = &after.findings[0];
    assert_eq!(
        cause.probes[0].outcome,
        Outcome::Confirmed,
        "Flask's 404 page"
    );
    let mut effects: Vec<&str> = cause.effects.iter().map(|e| e.id.as_str()).collect();
    effects.sort();
    assert_eq!(effects, ["health-route-missing", "route-not-decorated"]);
    let ruled_out: Vec<&String> = cause.effects.iter().flat_map(|e| &e.ruled_out).collect();
    assert!(
        ruled_out
            .iter()
            .any(|r| r.starts_with("blueprint-prefix-mismatch: ")),
        "{ruled_out:?}"
    );
}
