//! The Swarm lab: AnalyLit in stack form (`fixtures/swarm/analylit/docker-compose.yml`) on a
//! single-node swarm (`docker swarm init --advertise-addr 127.0.0.1`, left at the end when this
//! test started it), one deploy with one fault per service, each asserted like the compose lab's:
//! the finding's id on its service, the evidence, and the probe that confirms it. Then the same
//! stack through `snapshot` / `check --from` and `wait`, and everything removed: the stack's
//! services, tasks' containers, networks, secret and config.
mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command as Std;
use std::time::{Duration, Instant};
use support::lab::{MachineLock, docker_or_skip, run_bounded};

const STACK: &str = "doctorswarmlab";
/// The lab images the stack file names, built from the compose lab's stacks (stack deploy builds
/// nothing).
const IMAGES: [&str; 4] = [
    "wsgi-app-not-found",
    "entrypoint-not-executable",
    "host-unresolvable",
    "oom-killed",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stack_file() -> PathBuf {
    root().join("fixtures/swarm/analylit/docker-compose.yml")
}

fn docker(args: &[&str], limit: Duration) -> std::process::Output {
    run_bounded(Std::new("docker").args(args), limit)
}

fn docker_ok(args: &[&str], limit: Duration) -> String {
    let out = docker(args, limit);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the stack left on the engine: containers, networks, secrets, configs, services.
fn leftovers() -> Vec<String> {
    let label = format!("label=com.docker.stack.namespace={STACK}");
    let mut out = Vec::new();
    for (what, args) in [
        ("container", vec!["ps", "-aq", "--filter", &label]),
        ("network", vec!["network", "ls", "-q", "--filter", &label]),
        ("secret", vec!["secret", "ls", "-q", "--filter", &label]),
        ("config", vec!["config", "ls", "-q", "--filter", &label]),
        ("service", vec!["service", "ls", "-q", "--filter", &label]),
    ] {
        let o = docker(&args, Duration::from_secs(20));
        // Outside a swarm, secrets, configs and services cannot be listed: none is left.
        for id in String::from_utf8_lossy(&o.stdout).split_whitespace() {
            out.push(format!("{what} {id}"));
        }
    }
    out
}

/// Removes the stack (and leaves the swarm when the test made it) whatever happens.
struct Swarm {
    started: bool,
}

impl Swarm {
    fn up() -> Swarm {
        let state = docker_ok(
            &[
                "info",
                "--format",
                "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
            ],
            Duration::from_secs(20),
        );
        let started = match state.trim() {
            "active true" => false,
            "inactive false" => {
                docker_ok(
                    &["swarm", "init", "--advertise-addr", "127.0.0.1"],
                    Duration::from_secs(60),
                );
                true
            }
            other => panic!("this engine is in a swarm it does not manage ({other}): not touched"),
        };
        Swarm { started }
    }

    fn remove_stack(&self) {
        let _ = docker(&["stack", "rm", STACK], Duration::from_secs(60));
        // Services go at once; their containers and the network after the tasks stop.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !leftovers().is_empty() && Instant::now() < deadline {
            let _ = docker(
                &["events", "--since", "1s", "--until", "2s"],
                Duration::from_secs(5),
            );
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        self.remove_stack();
        if self.started {
            let _ = docker(&["swarm", "leave", "--force"], Duration::from_secs(60));
            // Made by `swarm init`, left behind by `swarm leave`.
            let _ = docker(
                &["network", "rm", "docker_gwbridge"],
                Duration::from_secs(30),
            );
        }
    }
}

/// The stack's images, built from the lab stacks' folders; removed again when dropped (after
/// the stack, which is declared later and so dropped first), so a run leaves no image behind.
struct Images(Vec<String>);

impl Images {
    fn build() -> Images {
        let mut built = Images(Vec::new());
        for id in IMAGES {
            let ctx = root().join("fixtures/stacks").join(id);
            let tag = format!("analylit-swarm/{id}:lab");
            docker_ok(
                &["build", "-q", "-t", &tag, ctx.to_str().unwrap()],
                Duration::from_secs(300),
            );
            built.0.push(tag);
        }
        built
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        for tag in &self.0 {
            let _ = docker(&["rmi", "-f", tag], Duration::from_secs(60));
        }
    }
}

/// Task states of the stack, by service (`docker service ps`, every task).
fn task_states() -> Vec<(String, String, String)> {
    let out = docker(
        &[
            "stack",
            "ps",
            STACK,
            "--no-trunc",
            "--format",
            "{{.Name}}\t{{.CurrentState}}\t{{.Error}}",
        ],
        Duration::from_secs(20),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            let name = parts.next()?.trim().trim_start_matches("\\_").trim();
            let service = name
                .strip_prefix(&format!("{STACK}_"))?
                .split('.')
                .next()?
                .to_owned();
            Some((
                service,
                parts.next()?.to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Until every fault has shown (bounded): each failing service has failed (or been rejected)
/// at least once, and the unplaceable one is pending with the scheduler's error.
fn settle() {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let tasks = task_states();
        let failed = |s: &str| {
            tasks
                .iter()
                .filter(|(svc, state, _)| {
                    svc == s && (state.starts_with("Failed") || state.starts_with("Rejected"))
                })
                .count()
        };
        let pending = tasks.iter().any(|(svc, state, err)| {
            svc == "search" && state.starts_with("Pending") && err.contains("no suitable node")
        });
        let waiting: Vec<&str> = ["web", "admin", "reports", "worker", "analysis", "flower"]
            .into_iter()
            .filter(|s| failed(s) < 1)
            .collect();
        if waiting.is_empty() && pending {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the stack did not settle: still waiting for {waiting:?} (search pending: {pending})\n{tasks:#?}"
        );
        let _ = docker(
            &["events", "--since", "1s", "--until", "3s"],
            Duration::from_secs(6),
        );
    }
}

fn doctor(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_analylit-doctor"))
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_FILE")
        .timeout(Duration::from_secs(240))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every finding of a JSON report, causes and folded effects.
fn all_findings(report: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for f in list.as_array().into_iter().flatten() {
            out.push(f);
            walk(&f["effects"], out);
        }
    }
    let mut out = Vec::new();
    walk(&report["findings"], &mut out);
    out
}

/// The finding `id` on `service`, as a cause (not folded under another).
fn cause<'a>(report: &'a Value, id: &str, service: &str, text: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["id"] == id && f["service"] == service)
        .unwrap_or_else(|| panic!("no cause {id} on {service}:\n{text}"))
}

fn evidence_text(f: &Value) -> String {
    f["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{} {} {}",
                e["text"].as_str().unwrap_or_default(),
                e["field"].as_str().unwrap_or_default(),
                e["value"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn confirmed_by(f: &Value) -> Vec<(&str, &str)> {
    f["probes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["outcome"] == "confirmed")
        .map(|p| {
            (
                p["kind"].as_str().unwrap_or_default(),
                p["data"]["via"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn analylit_as_a_swarm_stack_is_diagnosed_like_compose() {
    if !docker_or_skip("analylit_as_a_swarm_stack_is_diagnosed_like_compose") {
        return;
    }
    let _lock = MachineLock::take();
    let _images = Images::build();
    let swarm = Swarm::up();
    swarm.remove_stack();
    let file = stack_file();
    docker_ok(
        &["stack", "deploy", "-c", file.to_str().unwrap(), STACK],
        Duration::from_secs(120),
    );
    settle();

    let (code, stdout, stderr) = doctor(&[
        "check",
        "--stack",
        STACK,
        "-f",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1), "{stderr}\n{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("json");

    // Catalogue classes, found as on a compose stack.
    let web = cause(&report, "wsgi-app-not-found", "web", &stdout);
    assert!(
        evidence_text(web).contains("Failed to find attribute"),
        "{}",
        evidence_text(web)
    );
    assert!(
        confirmed_by(web).iter().any(|(k, _)| *k == "python"),
        "{web:#}"
    );

    let admin = cause(&report, "entrypoint-not-executable", "admin", &stdout);
    assert!(
        evidence_text(admin).contains("permission denied"),
        "{}",
        evidence_text(admin)
    );
    assert!(
        confirmed_by(admin).iter().any(|(k, _)| *k == "entrypoint"),
        "{admin:#}"
    );

    let reports = cause(&report, "host-unresolvable", "reports", &stdout);
    assert!(
        evidence_text(reports).contains("could not translate host name"),
        "{}",
        evidence_text(reports)
    );
    assert!(
        confirmed_by(reports)
            .iter()
            .any(|(k, _)| *k == "dependency"),
        "{reports:#}"
    );

    let worker = cause(&report, "redis-noauth", "worker", &stdout);
    assert!(
        evidence_text(worker).contains("Authentication required"),
        "{}",
        evidence_text(worker)
    );
    // Swarm's overlay network takes no relay container: the probe went in through exec.
    assert!(
        confirmed_by(worker)
            .iter()
            .any(|(k, via)| *k == "redis" && via.contains("(exec, ")),
        "{worker:#}"
    );

    let analysis = cause(&report, "oom-killed", "analysis", &stdout);
    assert!(
        evidence_text(analysis).contains("oom_killed true"),
        "{}",
        evidence_text(analysis)
    );
    assert!(
        confirmed_by(analysis).iter().any(|(k, _)| *k == "docker"),
        "{analysis:#}"
    );

    // Swarm-only classes, from the manager's task states.
    let flower = cause(&report, "swarm-image-missing", "flower", &stdout);
    assert!(
        evidence_text(flower).contains("No such image: analylit-swarm/flower:never-built"),
        "{}",
        evidence_text(flower)
    );
    let search = cause(&report, "swarm-placement-impossible", "search", &stdout);
    let e = evidence_text(search);
    assert!(
        e.contains("no suitable node (scheduling constraints not satisfied")
            && e.contains("node.labels.analylit.tier == search"),
        "{e}"
    );
    // The ignored compose keys, from the compose model, on the service that relied on them.
    let keys = all_findings(&report)
        .into_iter()
        .find(|f| f["id"] == "swarm-compose-keys-ignored" && f["service"] == "reports")
        .unwrap_or_else(|| panic!("no swarm-compose-keys-ignored on reports:\n{stdout}"));
    assert!(
        confirmed_by(keys).iter().any(|(k, _)| *k == "compose"),
        "{keys:#}"
    );
    // Healthy services are not blamed.
    for f in all_findings(&report) {
        assert!(
            f["service"] != "db" || f["severity"] == "info",
            "db is healthy: {f:#}"
        );
    }

    // The snapshot says where it came from; `check --from` names the same first finding.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("swarm.tar.gz");
    let (code, _, stderr) = doctor(&[
        "snapshot",
        "--stack",
        STACK,
        "-f",
        file.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
    ]);
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
    support::bundle::assert_no_secret(&bundle);
    let entries = support::bundle::entries(&bundle);
    let snapshot = entries
        .iter()
        .find(|(name, _)| name.ends_with("snapshot.json"))
        .map(|(_, bytes)| serde_json::from_slice::<Value>(bytes).unwrap())
        .expect("snapshot.json");
    assert_eq!(snapshot["backend"]["kind"], "swarm");
    let redis = snapshot["backend"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "redis")
        .expect("redis service");
    assert_eq!(redis["secrets"][0], format!("{STACK}_redis_password"));
    assert_eq!(redis["configs"][0], format!("{STACK}_redis_note"));
    let (_, from, stderr) = doctor(&[
        "check",
        "--from",
        bundle.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let replayed: Value = serde_json::from_str(&from).unwrap_or_else(|_| panic!("{stderr}"));
    // The stack moves on between the two reads (seven independent faults, ranked by when their
    // evidence appeared), so the offline diagnosis is held to the bundle's own: the same first
    // finding, and every class the live check found.
    let recorded = entries
        .iter()
        .find(|(name, _)| name.ends_with("diagnosis.json"))
        .map(|(_, bytes)| serde_json::from_slice::<Value>(bytes).unwrap())
        .expect("diagnosis.json");
    assert_eq!(
        support::bundle::first_cause(&replayed),
        support::bundle::first_cause(&recorded),
        "{from}"
    );
    for (id, service) in [
        ("wsgi-app-not-found", "web"),
        ("entrypoint-not-executable", "admin"),
        ("host-unresolvable", "reports"),
        ("redis-noauth", "worker"),
        ("oom-killed", "analysis"),
        ("swarm-image-missing", "flower"),
        ("swarm-placement-impossible", "search"),
    ] {
        cause(&replayed, id, service, &from);
    }

    // `wait` gives up at once on a stack whose services fail, with the diagnosis.
    let started = Instant::now();
    let (code, stdout, stderr) = doctor(&[
        "wait",
        "--stack",
        STACK,
        "--timeout",
        "60",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "{stderr}");
    let waited: Value = serde_json::from_str(&stdout).expect("json");
    assert!(!all_findings(&waited).is_empty(), "{stdout}");

    drop(swarm);
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "the stack left things behind"
    );
    let state = docker_ok(
        &["info", "--format", "{{.Swarm.LocalNodeState}}"],
        Duration::from_secs(20),
    );
    assert!(
        ["inactive", "active"].contains(&state.trim()),
        "swarm state {state:?}"
    );
}
