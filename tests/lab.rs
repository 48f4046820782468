//! The reproduction lab proves itself, then the doctor is judged against it. Each stack in
//! fixtures/stacks is brought up once; in that one bring-up:
//! 1. the decisive evidence its scenario.toml names must really appear (real log lines, real
//!    health results, real exit codes), read with the docker CLI;
//! 2. `analylit-doctor check --format json` must name the scenario's catalogue id first, on the
//!    faulty service, with the decisive evidence (the healthy stack: exit 0, nothing above info);
//! 3. no output of the doctor may contain the stack's passwords;
//! 4. `snapshot` writes a bundle holding none of them, and `check --from` that bundle names the
//!    same first finding as the live check (`CAPTURE_BUNDLES=1` keeps it in fixtures/bundles).
mod support;

use regex::Regex;
use serde_json::Value;
use std::process::Command;

use std::time::Duration;
use support::bundle;
use support::lab::{Lab, docker_or_skip, run_bounded};
use support::scenario::Source;

fn doctor(lab: &Lab, format: &str) -> (i32, String, String) {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_analylit-doctor"))
            .args(["check", "--format", format, "-p", &lab.project])
            .current_dir(&lab.dir),
        Duration::from_secs(120),
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether a container name (`proj_web_1`, `proj-web-1`, `web`) is one of `service`'s.
fn of_service(container: &str, project: &str, service: &str) -> bool {
    container == service
        || [
            format!("{project}_{service}_"),
            format!("{project}-{service}-"),
        ]
        .iter()
        .any(|prefix| {
            container
                .strip_prefix(prefix.as_str())
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
}

/// The evidence of `service` in the finding and its effects on that same service, as `text`
/// lines for logs and health and as `state:<field>=<value>` for state fields: an effect folded
/// under it from another service, or a line of another service's container, decides nothing.
fn evidence_texts(finding: &Value, project: &str, service: &str, named: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if finding["service"] == service {
        out.extend(
            finding["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| {
                    e["container"].as_str().is_some_and(|c| {
                        of_service(c, project, service) || named.iter().any(|n| n == c)
                    })
                })
                .filter_map(|e| match (e["text"].as_str(), e["field"].as_str()) {
                    (Some(text), _) => Some(text.to_owned()),
                    (None, Some(field)) => Some(format!(
                        "state:{field}={}",
                        e["value"].as_str().unwrap_or_default()
                    )),
                    _ => None,
                }),
        );
    }
    for effect in finding["effects"].as_array().into_iter().flatten() {
        out.extend(evidence_texts(effect, project, service, named));
    }
    out
}

#[test]
fn decisive_lines_count_only_on_the_findings_own_service() {
    let finding = serde_json::json!({
        "service": "web",
        "evidence": [
            {"kind": "log", "container": "lab_web_1", "text": "own line"},
            {"kind": "log", "container": "lab_web2_1", "text": "a look-alike service's line"},
        ],
        "effects": [
            {"service": "worker", "evidence": [
                {"kind": "log", "container": "lab_worker_1", "text": "an effect's line"}
            ], "effects": []},
            {"service": "web", "evidence": [
                {"kind": "state", "container": "lab-web-2", "field": "error", "value": "x"}
            ], "effects": []},
        ],
    });
    assert_eq!(
        evidence_texts(&finding, "lab", "web", &[]),
        ["own line", "state:error=x"]
    );
}

/// Judge the live `check`; returns its JSON report.
fn assert_doctor(lab: &Lab) -> Value {
    let volumes_before = Lab::dangling_volumes();
    let (code, stdout, stderr) = doctor(lab, "json");
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("check --format json is not JSON ({e}):\n{stdout}\n{stderr}"));
    let findings = report["findings"].as_array().expect("findings array");
    let scenario = &lab.scenario;
    if scenario.is_healthy() {
        assert_eq!(code, 0, "healthy stack: exit code\n{stdout}");
        // Transient lines of a healthy start (e.g. a health probe refused while PostgreSQL runs
        // its initdb server) may be listed, as info only.
        assert!(
            findings.iter().all(|f| f["severity"] == "info"),
            "healthy stack has findings above info:\n{stdout}"
        );
    } else {
        assert_eq!(code, 1, "{}: exit code\n{stdout}\n{stderr}", scenario.id);
        let head = findings
            .first()
            .unwrap_or_else(|| panic!("no finding:\n{stdout}"));
        if scenario.also.is_empty() {
            assert_eq!(
                head["id"],
                scenario.class(),
                "{}: first finding:\n{stdout}",
                scenario.id
            );
            assert_eq!(
                head["service"],
                scenario.service.as_deref().unwrap_or_default(),
                "service of the first finding:\n{stdout}"
            );
        } else {
            // A grouped stack: its causes rank by when each broke; the first is one of them.
            let key = (
                head["id"].as_str().unwrap_or_default().to_owned(),
                head["service"].as_str().unwrap_or_default().to_owned(),
            );
            assert!(
                scenario.causes().contains(&key),
                "{}: the first finding {key:?} is none of the stack's causes {:?}:\n{stdout}",
                scenario.id,
                scenario.causes()
            );
            for also in &scenario.also {
                assert_also(scenario, also, findings, &stdout);
            }
        }
        let first = cause(
            findings,
            scenario.class(),
            scenario.service.as_deref().unwrap_or_default(),
        )
        .unwrap_or_else(|| {
            panic!(
                "{}: {} on {:?} is not reported as a cause:\n{stdout}",
                scenario.id,
                scenario.class(),
                scenario.service
            )
        });
        let confirmed: Vec<&str> = first["probes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["outcome"] == "confirmed")
            .filter_map(|p| p["kind"].as_str())
            .collect();
        match &scenario.confirmed_by {
            Some(kind) => assert!(
                confirmed.contains(&kind.as_str()),
                "{}: the first finding is not confirmed by a `{kind}` probe:\n{stdout}",
                scenario.id
            ),
            // The built-in answer for a failure no rule explains has no probe of its own.
            None if scenario.class() == "unclassified-failure" => {}
            None => assert!(
                !confirmed.is_empty(),
                "{}: no probe confirms the first finding:\n{stdout}",
                scenario.id
            ),
        }
        if let Some(via) = &scenario.confirmed_via {
            let kind = scenario
                .confirmed_by
                .as_deref()
                .expect("confirmed_via needs confirmed_by");
            let paths: Vec<&str> = first["probes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["outcome"] == "confirmed" && p["kind"] == kind)
                .filter_map(|p| p["data"]["via"].as_str())
                .collect();
            let took = |p: &&str| match via.as_str() {
                "loopback" => p.starts_with("127.0.0.1:"),
                "relay" => p.contains("relayed by a helper container"),
                "exec" => p.contains("(exec, "),
                other => panic!("{}: confirmed_via {other:?}", scenario.id),
            };
            assert!(
                paths.iter().any(took),
                "{}: the `{kind}` probe did not go through the {via} path: {paths:?}\n{stdout}",
                scenario.id
            );
        }
        for look_alike in &scenario.look_alikes {
            // Ruled out by a probe with no look-alike to hold it, a finding stays, as info.
            assert!(
                findings
                    .iter()
                    .all(|f| f["id"] != look_alike.as_str() || f["severity"] == "info"),
                "{}: the look-alike {look_alike} is reported as a cause:\n{stdout}",
                scenario.id
            );
        }
        let places: Vec<&str> = first["probes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["data"]["project_file"].as_str())
            .collect();
        for place in &places {
            assert!(
                lab.dir.join(place).is_file(),
                "{}: the finding points at {place}, which is not a project file",
                scenario.id
            );
        }
        if let Some(want) = &scenario.location {
            assert!(
                places.contains(&want.as_str()),
                "{}: the first finding is not tied to {want}:\n{stdout}",
                scenario.id
            );
        }
        let service = scenario.service.as_deref().unwrap_or_default();
        let texts = evidence_texts(first, &lab.project, service, &lab.container_names(service));
        // Log and health lines, and state fields the engine sets in words (`error`): an exit code
        // or a restart count alone decides nothing.
        let decisive: Vec<Regex> = scenario
            .evidence
            .iter()
            .filter_map(|e| match (e.source, e.field.as_deref()) {
                (Source::Logs | Source::Health, _) => Some(e.pattern.clone()),
                (Source::State, Some(field @ ("error" | "oom_killed"))) => {
                    let pattern = e.pattern.trim_end_matches('$');
                    Some(match pattern.strip_prefix('^') {
                        Some(anchored) => format!("^state:{field}={anchored}"),
                        None => format!("^state:{field}=.*{pattern}"),
                    })
                }
                _ => None,
            })
            .map(|p| Regex::new(&p).expect("scenario pattern"))
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| decisive.iter().any(|re| re.is_match(t))),
            "{}: none of the scenario's decisive lines is in the finding's evidence:\n{stdout}",
            scenario.id
        );
    }
    let (_, table, table_err) = doctor(lab, "table");
    // The probes' relay containers are gone, with the anonymous volumes their images declare.
    assert!(
        lab.helper_containers().is_empty(),
        "{}: the doctor left helper containers behind",
        scenario.id
    );
    let left: Vec<String> = Lab::dangling_volumes()
        .into_iter()
        .filter(|v| !volumes_before.contains(v))
        .collect();
    assert!(
        left.is_empty(),
        "{}: the doctor left volumes behind: {left:?}",
        scenario.id
    );
    for (what, text) in [
        ("json", &stdout),
        ("json stderr", &stderr),
        ("table", &table),
        ("table stderr", &table_err),
    ] {
        for secret in bundle::LAB_SECRETS {
            assert!(
                !text.contains(secret),
                "{}: a secret leaked into the {what} output",
                scenario.id
            );
        }
    }
    report
}

/// The top-level finding `id` on `service`, when it is reported above info.
fn cause<'a>(findings: &'a [Value], id: &str, service: &str) -> Option<&'a Value> {
    findings
        .iter()
        .find(|f| f["id"] == id && f["service"] == service && f["severity"] != "info")
}

/// One more failure of a grouped stack: reported as a cause, on its service, confirmed by a probe
/// (the one named, if any), with one of its decisive lines in its own evidence.
fn assert_also(
    scenario: &support::scenario::Scenario,
    also: &support::scenario::Also,
    findings: &[Value],
    stdout: &str,
) {
    let id = &scenario.id;
    let f = cause(findings, &also.id, &also.service).unwrap_or_else(|| {
        panic!(
            "{id}: {} on {} is not reported as a cause:\n{stdout}",
            also.id, also.service
        )
    });
    let confirmed: Vec<&str> = f["probes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["outcome"] == "confirmed")
        .filter_map(|p| p["kind"].as_str())
        .collect();
    match (&also.confirmed_by, also.unconfirmed) {
        (Some(kind), _) => assert!(
            confirmed.contains(&kind.as_str()),
            "{id}: {} is not confirmed by a `{kind}` probe:\n{stdout}",
            also.id
        ),
        (None, false) => assert!(
            !confirmed.is_empty(),
            "{id}: no probe confirms {}:\n{stdout}",
            also.id
        ),
        (None, true) => {}
    }
    // Its own evidence only: a line folded in from another service's effect decides nothing.
    let own: Vec<String> = f["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| match (e["text"].as_str(), e["field"].as_str()) {
            (Some(text), _) => Some(text.to_owned()),
            (None, Some(field)) => Some(format!(
                "state:{field}={}",
                e["value"].as_str().unwrap_or_default()
            )),
            _ => None,
        })
        .collect();
    let patterns: Vec<Regex> = also
        .evidence
        .iter()
        .map(|p| Regex::new(p).expect("also pattern"))
        .collect();
    assert!(
        own.iter().any(|t| patterns.iter().any(|re| re.is_match(t))),
        "{id}: none of the decisive lines of {} is in its evidence {own:?}:\n{stdout}",
        also.id
    );
}

/// `snapshot` then `check --from`, on the bring-up the live check judged (before any fix): the
/// bundle holds no secret, and its offline diagnosis names the live check's first finding. With
/// `CAPTURE_BUNDLES` set, the bundle is kept as `fixtures/bundles/<id>.tar.gz` for the tests that
/// need no Docker.
fn assert_bundle(lab: &Lab, live: &Value) {
    let id = &lab.scenario.id;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("{id}.tar.gz"));
    let path_arg = path.to_str().expect("utf-8 path");
    let (code, out, err) = doctor_args(lab, &["snapshot", "-o", path_arg]);
    assert_eq!(code, 0, "{id}: snapshot\n{out}\n{err}");
    assert!(out.contains("redacted: "), "{id}: snapshot\n{out}");
    bundle::assert_no_secret(&path);
    let (code, stdout, stderr) =
        doctor_args(lab, &["check", "--from", path_arg, "--format", "json"]);
    let offline: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{id}: check --from is not JSON ({e}):\n{stdout}\n{stderr}"));
    let want = bundle::first_cause(live);
    if lab.scenario.also.is_empty() {
        assert_eq!(
            bundle::first_cause(&offline),
            want,
            "{id}: check --from names another first finding than the live check:\n{stdout}"
        );
    } else {
        let findings = offline["findings"].as_array().cloned().unwrap_or_default();
        for (class, service) in lab.scenario.causes() {
            assert!(
                cause(&findings, &class, &service).is_some(),
                "{id}: check --from does not report {class} on {service}:\n{stdout}"
            );
        }
    }
    assert_eq!(
        code,
        if want.is_some() { 1 } else { 0 },
        "{id}: check --from exit code"
    );
    if std::env::var_os("CAPTURE_BUNDLES").is_some() {
        let keep = bundle::bundles_dir().join(format!("{id}.tar.gz"));
        std::fs::create_dir_all(bundle::bundles_dir()).expect("fixtures/bundles");
        std::fs::copy(&path, &keep).expect("keep the bundle");
        eprintln!("{id}: bundle kept as {}", keep.display());
    }
}

fn lab_case(id: &str) {
    if !docker_or_skip(id) {
        return;
    }
    let t0 = std::time::Instant::now();
    let lab = Lab::up(id);
    let mut phases = vec![("up", t0.elapsed())];
    lab.assert_evidence();
    // While a stack is being built, its evidence can be checked alone.
    if std::env::var_os("LAB_EVIDENCE_ONLY").is_some() {
        eprintln!("{id}: LAB_EVIDENCE_ONLY set, the doctor is not judged");
        return;
    }
    let mut mark = |name: &'static str| {
        let total: Duration = phases.iter().map(|(_, d)| *d).sum();
        phases.push((name, t0.elapsed() - total));
    };
    let live = assert_doctor(&lab);
    mark("check");
    assert_bundle(&lab, &live);
    mark("bundle");
    assert_wait(&lab);
    mark("wait");
    if lab.scenario.doctor_fix.is_some() {
        assert_fix(&lab);
        mark("fix");
    }
    // Last: a code fix leaves the stack healthy (then restores the source, not the containers).
    if let Some(spec) = &lab.scenario.code_fix {
        support::code_fix::assert_code_fix(&lab, spec);
        mark("code fix");
    }
    drop(lab);
    mark("down");
    // Where a stack's time goes (CI's budget is the lab's sum): one line per stack.
    let parts: Vec<String> = phases
        .iter()
        .map(|(name, d)| format!("{name} {:.1}s", d.as_secs_f64()))
        .collect();
    eprintln!(
        "{id}: lab phases {} (total {:.1}s)",
        parts.join(", "),
        t0.elapsed().as_secs_f64()
    );
}

/// `wait` on every settled stack, in the bring-up the check judged: a healthy one is up (exit 0,
/// a time per service); a failing one gets the diagnosis (exit 1, the scenario's id first on its
/// service) before `wait`'s own timeout — reaching the timeout would also exit 1, so the time
/// it took is what tells the two apart.
fn assert_wait(lab: &Lab) {
    const TIMEOUT: Duration = Duration::from_secs(60);
    let id = &lab.scenario.id;
    let started = std::time::Instant::now();
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_analylit-doctor"))
            .args(["wait", "--timeout", &TIMEOUT.as_secs().to_string()])
            .args(["--format", "json", "-q", "-p", &lab.project])
            .current_dir(&lab.dir),
        TIMEOUT + Duration::from_secs(60),
    );
    let elapsed = started.elapsed();
    let (code, stdout, stderr) = (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{id}: wait --format json is not JSON ({e}):\n{stdout}\n{stderr}")
    });
    assert!(
        elapsed < TIMEOUT,
        "{id}: wait took {elapsed:?}, its whole {TIMEOUT:?} timeout: it did not see the stack \
         {}\n{stdout}\n{stderr}",
        if lab.scenario.is_healthy() {
            "up"
        } else {
            "fail"
        }
    );
    // A fault that shows and passes (the stack settles healthy, its failed checks kept in the
    // record) leaves a stack that is up by the time `wait` looks.
    let settled = &lab.scenario.lab.settled;
    let recovers = !settled.is_empty()
        && settled
            .iter()
            .all(|s| s.health.as_deref() == Some("healthy"));
    if lab.scenario.is_healthy() || recovers {
        assert_eq!(code, 0, "{id}: wait\n{stdout}\n{stderr}");
        assert_eq!(report["verdict"], "up", "{stdout}");
        assert!(
            report["services"].as_array().is_some_and(|s| s.len() >= 3),
            "{stdout}"
        );
    } else {
        assert_eq!(code, 1, "{id}: wait\n{stdout}\n{stderr}");
        // A grouped stack's causes rank by when each broke: any of them may come first.
        let first = bundle::first_cause(&report);
        let causes = lab.scenario.causes();
        assert!(
            first.as_ref().is_some_and(|f| causes.contains(f)),
            "{id}: wait's first finding {first:?} is none of {causes:?}\n{stdout}"
        );
    }
}

fn doctor_args(lab: &Lab, args: &[&str]) -> (i32, String, String) {
    let ran = support::doctor::Doctor::new()
        .in_dir(&lab.dir)
        .args(args)
        .args(["-q", "-p", &lab.project])
        .within(Duration::from_secs(400))
        .run();
    (ran.code, ran.stdout, ran.stderr)
}

/// Start `fix --yes`, SIGKILL it once its manifest records a finished step, and check that each
/// file is either untouched or saved in the backup with its original bytes. Leaves the backup
/// folder in place for the caller to remove.
fn interrupt_midway(lab: &Lab, before: &[String]) {
    let id = &lab.scenario.id;
    let spec = lab.scenario.doctor_fix.as_ref().expect("fix spec");
    let backups = lab.dir.join(".analylit-doctor/backups");
    let mut child = Command::new(env!("CARGO_BIN_EXE_analylit-doctor"))
        .args(["fix", "--yes", "-q", "-p", &lab.project])
        .current_dir(&lab.dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the doctor");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let manifest = loop {
        let found = std::fs::read_dir(&backups)
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|d| std::fs::read_to_string(d.path().join("manifest.json")).ok())
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .filter(|m| m["done"].as_array().is_some_and(|d| !d.is_empty()));
        if let Some(m) = found {
            child.kill().expect("SIGKILL the doctor");
            child.wait().expect("reap");
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline && child.try_wait().expect("wait").is_none(),
            "{id}: the fix ended before a step could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let dir = std::fs::read_dir(&backups)
        .expect("backups")
        .flatten()
        .next()
        .expect("a backup")
        .path();
    for (f, sum) in spec.files.iter().zip(before) {
        let in_place = lab.file_sum_if_present(&f.service, &f.path).as_ref() == Some(sum);
        let in_backup = manifest["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["path"] == f.path.as_str())
            .filter_map(|e| e["stored"].as_str())
            .any(|stored| {
                let bytes = std::fs::read(dir.join(stored)).unwrap_or_default();
                sum.starts_with(&analylit_doctor::digest::sha256(&bytes))
            });
        assert!(
            in_place || in_backup,
            "{id}: after a kill at {:?}, {} is neither in place nor in the backup",
            manifest["done"],
            f.path
        );
    }
    // The next run says so, and `restore` puts the originals back (the service running again).
    let backup_id = dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let (_, out, _) = doctor_args(lab, &["fix", "--dry-run"]);
    assert!(
        out.contains(&format!("interrupted: backup {backup_id}")),
        "{id}: the next run does not mention the interrupted fix:\n{out}"
    );
    let (code, out, err) = doctor_args(lab, &["restore", &backup_id]);
    assert_eq!(
        code, 0,
        "{id}: restore after an interrupted fix\n{out}\n{err}"
    );
    let now: Vec<String> = spec
        .files
        .iter()
        .map(|f| lab.file_sum(&f.service, &f.path))
        .collect();
    assert_eq!(now, before, "{id}: restore after an interrupted fix");
    let _ = std::fs::remove_dir_all(lab.dir.join(".analylit-doctor"));
}

/// Run the doctor on a pseudo-terminal (util-linux `script`), typing `answer`; stdout and stderr
/// come back together, as a person sees them.
fn doctor_on_pty(lab: &Lab, args: &[&str], answer: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = vec![env!("CARGO_BIN_EXE_analylit-doctor").to_owned()];
    cmd.extend(args.iter().map(|a| a.to_string()));
    cmd.extend(["-q".into(), "-p".into(), lab.project.clone()]);
    let line = cmd
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(&lab.dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("type the answer");
    let out = support::lab::wait_bounded(child, Duration::from_secs(400));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The fix, on the stack the diagnosis was judged on: a dry run and a run without a terminal
/// change nothing; `fix --yes` backs up, applies and verifies; the backup holds the original
/// bytes; `restore` puts them back.
fn assert_fix(lab: &Lab) {
    let spec = lab.scenario.doctor_fix.as_ref().expect("fix spec");
    let id = &lab.scenario.id;
    let sums = |lab: &Lab| -> Vec<String> {
        spec.files
            .iter()
            .map(|f| lab.file_sum(&f.service, &f.path))
            .collect()
    };
    let host = |lab: &Lab| -> Vec<Vec<u8>> {
        spec.host_files
            .iter()
            .map(|f| std::fs::read(lab.dir.join(f)).expect("host file"))
            .collect()
    };
    let before = sums(lab);
    let host_before = host(lab);
    let backups = lab.dir.join(".analylit-doctor");
    let _ = std::fs::remove_dir_all(&backups);

    let (code, out, err) = doctor_args(lab, &["fix", "--dry-run", "--yes", "--unsafe-fixes"]);
    assert_eq!(code, 1, "{id}: fix --dry-run exit code\n{out}\n{err}");
    assert!(
        out.contains("dry run: nothing changed") || spec.expect == "manual",
        "{id}: {out}"
    );
    assert_eq!(sums(lab), before, "{id}: a dry run changed a file");
    assert!(
        host(lab) == host_before,
        "{id}: a dry run changed a project file"
    );
    // With a machine format, stdout is the report alone: the plans go to stderr.
    let (_, out, err) = doctor_args(
        lab,
        &[
            "check",
            "--fix",
            "--dry-run",
            "--yes",
            "--unsafe-fixes",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!("{id}: check --fix --format json mixed text into stdout ({e}):\n{out}")
    });
    assert_eq!(
        report["findings"][0]["id"],
        lab.scenario.class(),
        "{id}: {out}"
    );
    assert!(
        err.contains("dry run: nothing changed") || spec.expect == "manual",
        "{id}: the plan is not on stderr:\n{err}"
    );
    assert_eq!(sums(lab), before, "{id}: a dry run changed a file");

    let (code, out, _) = doctor_args(lab, &["fix", "--unsafe-fixes"]);
    assert_eq!(code, 1, "{id}: fix without a terminal nor --yes\n{out}");
    assert_eq!(
        sums(lab),
        before,
        "{id}: a run without --yes changed a file"
    );
    assert!(
        !backups.exists(),
        "{id}: a run that applied nothing left a backup"
    );

    if spec.interrupt {
        interrupt_midway(lab, &before);
    }
    let (code, out, err) = if spec.prompt {
        for answer in ["n\n", "\n"] {
            let (_, out, _) = doctor_on_pty(lab, &["fix"], answer);
            assert!(
                out.contains("Apply fix for") && out.contains("not applied: declined"),
                "{id}: answering {answer:?} at the prompt:\n{out}"
            );
            assert_eq!(sums(lab), before, "{id}: a declined fix changed a file");
        }
        doctor_on_pty(lab, &["fix"], "y\n")
    } else {
        doctor_args(lab, &["fix", "--yes", "--unsafe-fixes"])
    };
    match spec.expect.as_str() {
        "manual" => {
            assert_eq!(code, 1, "{id}: a manual fix is not applied\n{out}");
            assert!(out.contains("for a person to apply"), "{id}: {out}");
            if let Some(patch) = &spec.patch {
                let re = Regex::new(&format!("(?m){patch}")).expect("patch regex");
                assert!(re.is_match(&out), "{id}: the patch is not shown:\n{out}");
            }
            assert_eq!(sums(lab), before, "{id}: a manual fix changed a file");
            assert!(
                host(lab) == host_before,
                "{id}: a manual fix changed a project file"
            );
        }
        "fixed" => {
            assert_eq!(code, 0, "{id}: fix --yes\n{out}\n{err}");
            assert!(
                out.contains(&format!("{} no longer fires", lab.scenario.class())),
                "{id}: {out}"
            );
            let (code, out, _) = doctor(lab, "json");
            let report: Value = serde_json::from_str(&out).expect("json");
            let still: Vec<&Value> = report["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["id"] == lab.scenario.class() && f["severity"] != "info")
                .collect();
            assert!(
                still.is_empty(),
                "{id}: still reported after the fix:\n{out}"
            );
            // Fixed means the stack is healthy again: nothing above info, exit 0.
            assert_eq!(code, 0, "{id}: check after the fix\n{out}");
            // The backup holds the originals byte for byte.
            let dirs: Vec<_> = std::fs::read_dir(backups.join("backups"))
                .expect("a backup folder")
                .flatten()
                .collect();
            assert_eq!(dirs.len(), 1, "{id}: one backup");
            let manifest: Value = serde_json::from_str(
                &std::fs::read_to_string(dirs[0].path().join("manifest.json")).expect("manifest"),
            )
            .expect("manifest json");
            assert_eq!(manifest["state"], "verified", "{id}: {manifest}");
            for (f, sum) in spec.files.iter().zip(&before) {
                let entry = manifest["entries"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|e| e["path"] == f.path.as_str())
                    .unwrap_or_else(|| panic!("{id}: {} not in the backup: {manifest}", f.path));
                if let Some(stored) = entry["stored"].as_str() {
                    let bytes = std::fs::read(dirs[0].path().join(stored)).expect("stored");
                    let got = analylit_doctor::digest::sha256(&bytes);
                    assert!(sum.starts_with(&got), "{id}: backup of {} differs", f.path);
                }
            }
            // `restore` puts the originals back.
            let backup_id = dirs[0].file_name().to_string_lossy().into_owned();
            let (code, out, err) = doctor_args(lab, &["restore", &backup_id]);
            assert_eq!(code, 0, "{id}: restore\n{out}\n{err}");
            assert_eq!(
                sums(lab),
                before,
                "{id}: restore did not bring the originals back"
            );
        }
        other => panic!("{id}: unknown fix expectation {other:?}"),
    }
    assert!(
        lab.helper_containers().is_empty(),
        "{id}: the doctor left helper containers behind"
    );
    let _ = std::fs::remove_dir_all(&backups);
}

macro_rules! lab_tests {
    ($($name:ident => $id:literal,)*) => {
        $(
            #[test]
            fn $name() {
                lab_case($id);
            }
        )*

        /// Every stack folder has its test above.
        #[test]
        fn every_stack_has_a_test() {
            let known = [$($id),*];
            let mut folders: Vec<String> = std::fs::read_dir(support::scenario::stacks_dir())
                .expect("fixtures/stacks")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            folders.sort();
            let missing: Vec<&String> =
                folders.iter().filter(|f| !known.contains(&f.as_str())).collect();
            assert!(missing.is_empty(), "stacks without a lab test: {missing:?}");
        }
    };
}

lab_tests! {
    healthy => "healthy",
    gunicorn_worker_reinit => "gunicorn-worker-reinit",
    engine_used_before_init => "engine-used-before-init",
    import_name_missing => "import-name-missing",
    name_not_defined => "name-not-defined",
    blueprint_prefix_mismatch => "blueprint-prefix-mismatch",
    route_not_decorated => "route-not-decorated",
    flower_db_needs_recovery => "flower-db-needs-recovery",
    pg_auth_failed => "pg-auth-failed",
    depends_on_not_healthy => "depends-on-not-healthy",
    tables_missing => "tables-missing",
    redis_misconf_rdb => "redis-misconf-rdb",
    redis_noauth => "redis-noauth",
    host_unresolvable => "host-unresolvable",
    celery_unregistered_task => "celery-unregistered-task",
    gunicorn_worker_timeout => "gunicorn-worker-timeout",
    entrypoint_crlf => "entrypoint-crlf",
    entrypoint_not_executable => "entrypoint-not-executable",
    volume_permission_denied => "volume-permission-denied",
    flower_db_empty => "flower-db-empty",
    healthcheck_tool_missing => "healthcheck-tool-missing",
    healthcheck_start_period_short => "healthcheck-start-period-short",
    oom_killed => "oom-killed",
    wsgi_app_not_found => "wsgi-app-not-found",
    real_healthy => "real-healthy",
    real_pg_auth_stale_url => "real-pg-auth-stale-url",
    real_migrate_order => "real-migrate-order",
    real_redis_port => "real-redis-port",
    real_name_not_defined => "real-name-not-defined",
    real_gunicorn_hook_reinit => "real-gunicorn-hook-reinit",
    real_hung_lock => "real-hung-lock",
    unclassified_worker_crash => "unclassified-worker-crash",
    group_postgres => "group-postgres",
    group_redis => "group-redis",
    group_runtime => "group-runtime",
    group_python => "group-python",
}
