//! Diagnosing from pasted output: what fixtures/transcripts/capture.sh captured from real lab
//! stacks (compose logs transcripts, `docker-compose up` of a stack the daemon refuses to start,
//! `docker inspect` JSON whole and trimmed to `.State`, `docker events`, `docker-compose ps`, the
//! kernel's OOM-killer lines from dmesg) is recognised, split, and diagnosed by `check --logs`
//! with no Docker engine reachable: the same rule as live, on the same service, with the
//! decisive evidence, and a report that says what was read and what was ignored.
mod support;

use analylit_doctor::stack::paste::{self, Kind, Pasted};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use support::doctor::Doctor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/transcripts")
        .join(name)
}

fn path_of(name: &str) -> String {
    fixture(name).display().to_string()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn pasted(text: &str) -> Pasted {
    paste::read_text(text, None, "").unwrap_or_else(|e| panic!("{}: {}", e.input, e.reason))
}

/// Lines per container, by the name the snapshot gives it.
fn counts(text: &str) -> BTreeMap<String, usize> {
    pasted(text)
        .snapshot
        .containers
        .iter()
        .map(|c| (c.name.clone(), c.logs.lines.len()))
        .collect()
}

fn expect(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// The doctor with an engine address nothing listens on: a Docker connection would fail (exit 2).
fn doctor() -> Doctor {
    Doctor::new()
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .env_remove("DOCKER_CONTEXT")
}

/// Run with `stdin` fed in; (exit code, stdout, stderr).
fn run(doctor: Doctor, stdin: &str) -> (i32, String, String) {
    let ran = doctor.stdin(stdin).run();
    (ran.code, ran.stdout, ran.stderr)
}

fn check(args: &[&str], format: &str, stdin: &str) -> (i32, String, String) {
    let cmd = doctor()
        .args(["check"])
        .args(args)
        .args(["--format", format]);
    run(cmd, stdin)
}

fn check_json(args: &[&str], stdin: &str) -> Value {
    let (code, out, err) = check(args, "json", stdin);
    assert_eq!(code, 1, "findings expected; stderr: {err}\nstdout: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("json: {e}\n{out}"))
}

fn ids(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().expect("id"))
        .collect()
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {report:#}"))
}

/// The first evidence entry of a finding whose text matches.
fn evidence<'a>(f: &'a Value, kind: &str, field_or_text: &str) -> &'a Value {
    f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .find(|e| {
            e["kind"] == kind
                && (e["field"] == field_or_text
                    || e["text"]
                        .as_str()
                        .is_some_and(|t| t.contains(field_or_text)))
        })
        .unwrap_or_else(|| panic!("no {kind} evidence {field_or_text:?} in {f:#}"))
}

/// The `input` summary of one source: (kind, detail) pairs, ignored lines, the sentence.
fn input(report: &Value, i: usize) -> (Vec<(String, String)>, u64, String) {
    let s = &report["input"]["sources"][i];
    let kinds = s["recognised"]
        .as_array()
        .unwrap_or_else(|| panic!("no input summary: {report:#}"))
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap().to_owned(),
                k["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (
        kinds,
        s["ignored_lines"].as_u64().unwrap(),
        s["summary"].as_str().unwrap().to_owned(),
    )
}

fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no service {name} in {report:#}"))
}

/// A service's plain log: its lines of a v1 transcript, prefix removed (what `docker logs`
/// prints).
fn plain_log(transcript: &str, prefix: &str) -> String {
    transcript
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|l| format!("{l}\n"))
        .collect()
}

// --- compose logs transcripts ---------------------------------------------------------------

#[test]
fn v1_transcripts_split_by_container() {
    assert_eq!(
        counts(&read("name-not-defined.log")),
        expect(&[
            ("db_1", 50),
            ("flower_1", 21),
            ("redis_1", 8),
            ("web_1", 1078),
            ("worker_1", 5)
        ])
    );
    assert_eq!(
        counts(&read("flower-db-needs-recovery.log")),
        expect(&[
            ("db_1", 50),
            ("flower_1", 312),
            ("redis_1", 8),
            ("web_1", 24),
            ("worker_1", 5)
        ])
    );
    let p = pasted(&read("name-not-defined.log"));
    assert!(
        p.snapshot
            .containers
            .iter()
            .all(|c| c.logs.lines.iter().all(|l| l.ts.is_none()))
    );
    let web = p
        .snapshot
        .containers
        .iter()
        .find(|c| c.service == "web")
        .unwrap();
    assert!(
        web.logs
            .lines
            .iter()
            .any(|l| l.text.starts_with("NameError: name 'init_db'"))
    );
    // `Attaching to` names the containers; nothing is said about their state.
    let s = &p.input.sources[0];
    assert_eq!(s.recognised.len(), 1);
    assert_eq!(
        (s.recognised[0].kind, s.recognised[0].detail.as_str()),
        (Kind::ComposeLogs, "5 services")
    );
    assert_eq!(s.ignored_lines, 0);
    assert!(p.known.values().all(|k| !k.any()));
}

#[test]
fn timestamps_are_parsed_off_every_line() {
    for name in ["name-not-defined.ts.log", "flower-db-needs-recovery.ts.log"] {
        let p = pasted(&read(name));
        assert_eq!(p.snapshot.containers.len(), 5, "{name}");
        for c in &p.snapshot.containers {
            for l in &c.logs.lines {
                let ts =
                    l.ts.as_deref()
                        .unwrap_or_else(|| panic!("{name}: {}: no stamp on {:?}", c.name, l.text));
                assert!(ts.starts_with("2026-") && ts.ends_with('Z'), "{ts}");
                assert!(
                    !l.text.starts_with("2026-12-06T"),
                    "stamp left in {:?}",
                    l.text
                );
            }
            let stamps: Vec<&str> = c
                .logs
                .lines
                .iter()
                .filter_map(|l| l.ts.as_deref())
                .collect();
            assert!(stamps.is_sorted(), "{name}: {} out of order", c.name);
        }
    }
}

#[test]
fn v2_prefixes_and_colours_converted_by_hand() {
    let p = pasted(&read("name-not-defined.v2-converted.log"));
    assert_eq!(
        counts(&read("name-not-defined.v2-converted.log")),
        expect(&[("redis-1", 3), ("web-1", 166)])
    );
    assert!(
        p.snapshot
            .containers
            .iter()
            .flat_map(|c| &c.logs.lines)
            .all(|l| !l.text.contains('\x1b'))
    );
    assert_eq!(p.snapshot.services(), ["redis", "web"]);
    // Its three `#` comment lines, said to be ignored.
    assert_eq!(p.input.sources[0].ignored_lines, 3);
}

#[test]
fn lines_wrapped_by_a_terminal_stay_with_their_container() {
    // A paste from an 80-column terminal: long lines continue without a prefix.
    let mut wrapped = String::new();
    for line in read("flower-db-needs-recovery.log").lines() {
        let chars: Vec<char> = line.chars().collect();
        for (i, piece) in chars.chunks(80).enumerate() {
            if i > 0 {
                wrapped.push('\n');
            }
            wrapped.extend(piece);
        }
        wrapped.push('\n');
    }
    let p = pasted(&wrapped);
    assert_eq!(p.snapshot.containers.len(), 5);
    let flower = p
        .snapshot
        .containers
        .iter()
        .find(|c| c.service == "flower")
        .unwrap();
    assert!(flower.logs.lines.len() > 312, "continuations kept");
    assert!(
        flower
            .logs
            .lines
            .iter()
            .any(|l| l.text == "_gdbm.error: Database needs recovery")
    );
    assert_eq!(p.input.sources[0].recognised[0].kind, Kind::ComposeLogs);
}

#[test]
fn check_logs_names_flower_db_needs_recovery_without_docker() {
    let report = check_json(&["--logs", &path_of("flower-db-needs-recovery.log")], "");
    assert_eq!(ids(&report)[0], "flower-db-needs-recovery");
    assert_eq!(report["project"], "(from logs)");
    let f = finding(&report, "flower-db-needs-recovery");
    assert_eq!(f["service"], "flower");
    evidence(f, "log", "_gdbm.error: Database needs recovery");
    // A transcript tells no state: none is made up.
    for s in report["services"].as_array().unwrap() {
        assert_eq!(s["state"], "unknown", "{s}");
        assert!(s["exit_code"].is_null() && s["restarts"].is_null(), "{s}");
    }
    let (kinds, ignored, _) = input(&report, 0);
    assert_eq!(
        kinds,
        [("compose-logs".to_owned(), "5 services".to_owned())]
    );
    assert_eq!(ignored, 0);
}

#[test]
fn check_logs_names_name_not_defined_without_docker() {
    let report = check_json(&["--logs", &path_of("name-not-defined.ts.log")], "");
    // The postgres image's init prints one `FATAL: database "analylit" does not exist` before it
    // creates the database: `CREATE DATABASE` follows, so that finding is kept as info only.
    assert_eq!(ids(&report)[0], "name-not-defined");
    // (The init race does not show in every capture.)
    for init in report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "pg-database-missing")
    {
        assert_eq!(init["severity"], "info", "{init}");
    }
    let f = finding(&report, "name-not-defined");
    assert_eq!(f["service"], "web");
    evidence(f, "log", "NameError: name 'init_db' is not defined");
    let python = &f["probes"][0];
    assert_eq!(python["outcome"], "unknown");
    assert_eq!(
        python["summary"],
        "needs the live stack (diagnosing offline)"
    );

    // The v2 excerpt has no database lines: the name error is the root cause.
    let report = check_json(
        &["--logs", &path_of("name-not-defined.v2-converted.log")],
        "",
    );
    assert_eq!(ids(&report), ["name-not-defined"]);
}

/// Where the compose project is on disk (the current directory, or `-f`), the source probes of an
/// offline check answer from the working tree and say so; elsewhere they need the live stack.
#[test]
fn check_logs_in_the_project_folder_confirms_from_the_working_tree() {
    let stack = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks/name-not-defined");
    let confirmed = |report: &Value| {
        let f = finding(report, "name-not-defined");
        assert_eq!(f["service"], "web");
        let python = &f["probes"][0];
        assert_eq!(python["kind"], "python", "{f:#}");
        assert_eq!(python["outcome"], "confirmed", "{f:#}");
        assert!(
            python["summary"]
                .as_str()
                .unwrap()
                .contains("server_v4_complete.py:14: `init_db` is used"),
            "{python:#}"
        );
        assert!(
            python["facts"][0]
                .as_str()
                .unwrap()
                .starts_with("read from the working tree"),
            "{python:#}"
        );
    };
    let transcript = path_of("name-not-defined.ts.log");
    let cmd = doctor()
        .in_dir(&stack)
        .args(["check", "--logs", &transcript, "--format", "json"]);
    let (code, out, err) = run(cmd, "");
    assert_eq!(code, 1, "{err}");
    confirmed(&serde_json::from_str(&out).expect("json"));

    let compose = stack.join("docker-compose.yml");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let cmd = doctor().in_dir(elsewhere.path()).args([
        "check",
        "-f",
        compose.to_str().unwrap(),
        "--logs",
        &transcript,
        "--format",
        "json",
    ]);
    let (code, out, err) = run(cmd, "");
    assert_eq!(code, 1, "{err}");
    confirmed(&serde_json::from_str(&out).expect("json"));

    // compose up's daemon error names the script its base image starts: the working tree's
    // copy has no execute bit.
    let stack =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks/entrypoint-not-executable");
    let cmd = doctor().in_dir(&stack).args([
        "check",
        "--logs",
        &path_of("entrypoint-not-executable.up.log"),
        "--format",
        "json",
    ]);
    let (code, out, err) = run(cmd, "");
    assert_eq!(code, 1, "{err}");
    let report: Value = serde_json::from_str(&out).expect("json");
    let f = finding(&report, "entrypoint-not-executable");
    let probe = &f["probes"][0];
    assert_eq!(probe["kind"], "entrypoint", "{f:#}");
    assert_eq!(probe["outcome"], "confirmed", "{f:#}");
    assert!(
        probe["summary"]
            .as_str()
            .unwrap()
            .contains("entrypoint.sh: it has no execute bit"),
        "{probe:#}"
    );
}

// --- plain logs -----------------------------------------------------------------------------

#[test]
fn a_service_log_on_stdin_and_a_file_per_service() {
    // `docker logs web > web.log` has no prefixes: strip them to make one.
    let web = plain_log(&read("name-not-defined.log"), "web_1     | ");
    assert!(web.len() > 1000);
    let report = check_json(&["--logs", "web=-", "-p", "analylit"], &web);
    assert_eq!(ids(&report), ["name-not-defined"]);
    assert_eq!(report["project"], "analylit (from logs)");
    let (kinds, _, summary) = input(&report, 0);
    assert_eq!(kinds[0].0, "plain");
    assert!(summary.starts_with("read stdin ("), "{summary}");
    assert!(summary.contains(" lines): plain log ("), "{summary}");
    assert!(summary.ends_with("lines → web)"), "{summary}");
    assert_eq!(report["input"]["sources"][0]["service"], "web");

    let dir = tempfile::tempdir().unwrap();
    let flower = plain_log(&read("flower-db-needs-recovery.log"), "flower_1  | ");
    let path = dir.path().join("flower.log");
    std::fs::write(&path, flower).unwrap();
    let spec = format!("flower={}", path.display());
    let report = check_json(&["--logs", &spec, "--logs", "web=-"], &web);
    let mut found = ids(&report);
    found.sort();
    assert_eq!(found, ["flower-db-needs-recovery", "name-not-defined"]);
    assert_eq!(report["input"]["sources"].as_array().unwrap().len(), 2);

    // A bare file of plain lines is `app`'s.
    let (code, out, err) = check(&["--logs", "-"], "table", &web);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("name-not-defined on app"), "{out}");
}

#[test]
fn logs_alone_show_no_state_table() {
    let web = plain_log(&read("name-not-defined.log"), "web_1     | ");
    let (code, out, err) = check(&["--logs", "web=-"], "table", &web);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.starts_with("project (from logs)\nread stdin (")
            && out.contains(" lines): plain log ("),
        "{out}"
    );
    assert!(
        !out.contains("restarts") && !out.contains('│'),
        "no state table:\n{out}"
    );
}

// --- docker compose up ----------------------------------------------------------------------

#[test]
fn compose_up_daemon_error_is_entrypoint_not_executable() {
    let report = check_json(
        &["--logs", &path_of("entrypoint-not-executable.up.log")],
        "",
    );
    assert_eq!(ids(&report)[0], "entrypoint-not-executable");
    let f = finding(&report, "entrypoint-not-executable");
    assert_eq!(f["service"], "web");
    assert_eq!(
        f["summary"],
        "web's entrypoint `./entrypoint.sh` is not executable"
    );
    let e = evidence(f, "state", "error");
    assert!(
        e["value"]
            .as_str()
            .unwrap()
            .contains("exec: \"./entrypoint.sh\": permission denied"),
        "{e}"
    );
    assert_eq!(e["container"], "entrypoint-not-executable_web_1");
    // What the engine records for such a container, and nothing the text did not say.
    let web = service(&report, "web");
    assert_eq!(web["state"], "created");
    assert_eq!(web["exit_code"], 126);
    assert!(web["restarts"].is_null());
    let (kinds, ignored, summary) = input(&report, 0);
    assert_eq!(kinds, [("compose-up".to_owned(), "about web".to_owned())]);
    assert_eq!(ignored, 0);
    assert!(summary.starts_with("read "), "{summary}");
    assert!(
        summary
            .ends_with("entrypoint-not-executable.up.log (1016 B, 14 lines): compose up output (12 lines, about web)"),
        "{summary}"
    );
}

#[test]
fn compose_up_port_conflict_is_host_port_conflict() {
    let report = check_json(&["--logs", &path_of("host-port-conflict.up.log")], "");
    assert_eq!(ids(&report)[0], "host-port-conflict");
    let f = finding(&report, "host-port-conflict");
    assert_eq!(f["service"], "web");
    assert!(f["summary"].as_str().unwrap().contains("8080"), "{f}");
    evidence(f, "state", "error");
    assert_eq!(service(&report, "web")["exit_code"], 128);

    let report = check_json(&["--logs", &path_of("host-port-conflict.v2-up.log")], "");
    let f = finding(&report, "host-port-conflict");
    let e = evidence(f, "state", "error");
    assert!(
        e["value"]
            .as_str()
            .unwrap()
            .contains("bind: address already in use"),
        "{e}"
    );
    // Nothing says which service `analylit_web` is: its container name stands for it.
    assert_eq!(f["service"], "analylit_web");
}

// --- docker inspect -------------------------------------------------------------------------

#[test]
fn inspect_json_whole_is_oom_killed() {
    let report = check_json(&["--logs", &path_of("oom-killed.inspect.json")], "");
    assert_eq!(ids(&report)[0], "oom-killed");
    let f = finding(&report, "oom-killed");
    assert_eq!(f["service"], "worker");
    assert_eq!(evidence(f, "state", "oom_killed")["value"], "true");
    assert_eq!(evidence(f, "state", "exit_code")["value"], "137");
    // The memory limit came with HostConfig: the probe confirms offline.
    let probe = &f["probes"][0];
    assert_eq!(probe["outcome"], "confirmed", "{probe}");
    assert_eq!(
        probe["summary"],
        "killed by the kernel at its 64 MiB memory limit"
    );
    let (kinds, _, _) = input(&report, 0);
    assert_eq!(kinds[0].0, "inspect");
    assert!(
        kinds[0]
            .1
            .contains("worker: Config, HostConfig, Mounts, RestartCount, State"),
        "{kinds:?}"
    );
    let worker = service(&report, "worker");
    assert!(worker["restarts"].as_i64().unwrap() >= 1, "{worker}");
}

#[test]
fn inspect_state_part_belongs_to_the_service_it_is_given_for() {
    let spec = format!("worker={}", path_of("oom-killed.state.json"));
    let report = check_json(&["--logs", &spec], "");
    let f = finding(&report, "oom-killed");
    assert_eq!(f["service"], "worker");
    assert_eq!(evidence(f, "state", "oom_killed")["value"], "true");
    // No HostConfig: the limit is unknown, and the probe does not pretend it was none.
    let probe = &f["probes"][0];
    assert_eq!(probe["outcome"], "unknown", "{probe}");
    let (kinds, _, _) = input(&report, 0);
    assert_eq!(kinds, [("inspect".to_owned(), "worker: State".to_owned())]);

    // Retyped by hand, trimmed, with a trailing comma: still read.
    let relaxed =
        "State: {\n  Status: \"exited\",\n  ExitCode: 137,\n  ...\n  OOMKilled: true,\n},\n";
    let report = check_json(&["--logs", "worker=-"], relaxed);
    assert_eq!(finding(&report, "oom-killed")["service"], "worker");
}

// --- docker events, kernel, ps --------------------------------------------------------------

#[test]
fn events_alone_are_oom_killed_with_restarts() {
    let report = check_json(&["--logs", &path_of("oom-killed.events.log")], "");
    assert_eq!(ids(&report)[0], "oom-killed");
    let f = finding(&report, "oom-killed");
    assert_eq!(f["service"], "worker");
    assert_eq!(evidence(f, "state", "exit_code")["value"], "137");
    let restarts = service(&report, "worker")["restarts"].as_i64().unwrap();
    assert!(restarts >= 1, "restarts counted from start after die");
    assert_eq!(
        f["probes"][0]["outcome"], "unknown",
        "the limit is not in events"
    );
    let (kinds, _, _) = input(&report, 0);
    assert_eq!(kinds, [("events".to_owned(), "3 containers".to_owned())]);
}

#[test]
fn kernel_oom_lines_name_the_process_or_the_container_whose_id_the_paste_carries() {
    // Alone: the kernel names a process and a cgroup id nothing else in the paste carries.
    let report = check_json(&["--logs", &path_of("oom-killed.dmesg.log")], "");
    let f = finding(&report, "oom-killed");
    assert_eq!(f["service"], "python3");
    let (kinds, ignored, _) = input(&report, 0);
    assert_eq!(
        kinds,
        [("kernel".to_owned(), "1 kill → python3".to_owned())]
    );
    assert_eq!(ignored, 0);
    // Given for a service.
    let spec = format!("worker={}", path_of("oom-killed.dmesg.log"));
    let report = check_json(&["--logs", &spec], "");
    assert_eq!(finding(&report, "oom-killed")["service"], "worker");
    // With the events of the same run: the cgroup id is the worker container's.
    let report = check_json(
        &[
            "--logs",
            &path_of("oom-killed.dmesg.log"),
            "--logs",
            &path_of("oom-killed.events.log"),
        ],
        "",
    );
    assert_eq!(ids(&report), ["oom-killed"]);
    assert_eq!(finding(&report, "oom-killed")["service"], "worker");
    let (kinds, _, _) = input(&report, 0);
    assert_eq!(kinds, [("kernel".to_owned(), "1 kill → worker".to_owned())]);
}

#[test]
fn a_plain_web_log_and_a_ps_table_are_name_not_defined() {
    let web = plain_log(&read("name-not-defined.log"), "web_1     | ");
    let report = check_json(
        &[
            "--logs",
            "web=-",
            "--logs",
            &path_of("name-not-defined.ps.txt"),
        ],
        &web,
    );
    assert_eq!(ids(&report)[0], "name-not-defined");
    let f = finding(&report, "name-not-defined");
    assert_eq!(f["service"], "web");
    evidence(f, "log", "NameError: name 'init_db' is not defined");
    // The table's state, on the log's service: caught between two restarts, web was `Up (health:
    // starting)` when the table was captured.
    let web = service(&report, "web");
    assert_eq!(
        (&web["state"], &web["health"]),
        (&Value::from("running"), &Value::from("starting"))
    );
    assert!(
        web["exit_code"].is_null() && web["restarts"].is_null(),
        "{web}"
    );
    assert_eq!(service(&report, "db")["health"], "healthy");
    let (kinds, _, _) = input(&report, 1);
    assert_eq!(kinds, [("ps".to_owned(), "5 rows".to_owned())]);
}

// --- a ticket: several kinds in one paste ---------------------------------------------------

#[test]
fn a_ticket_with_every_kind_is_diagnosed_in_one_go() {
    let web = plain_log(&read("name-not-defined.log"), "web_1     | ");
    let ticket = format!(
        "Hi, the worker keeps dying and web never comes up. Here is what I ran:\n\n\
         $ docker-compose ps\n{}\n\
         $ docker events --since 10m --filter label=com.docker.compose.project=oom-killed\n{}\n\
         $ sudo dmesg | tail -20\n{}\n\
         $ docker inspect -f '{{{{json .State}}}}' oom-killed_worker_1\n{}\n\
         $ docker logs name-not-defined_web_1\n{}",
        read("oom-killed.ps.txt"),
        read("oom-killed.events.log"),
        read("oom-killed.dmesg.log"),
        read("oom-killed.state.json"),
        web,
    );
    let report = check_json(&["--logs", "-"], &ticket);
    let mut found = ids(&report);
    found.sort();
    assert_eq!(found, ["name-not-defined", "oom-killed"], "{report:#}");
    assert_eq!(finding(&report, "oom-killed")["service"], "worker");
    assert_eq!(finding(&report, "name-not-defined")["service"], "web");
    let (kinds, ignored, summary) = input(&report, 0);
    let got: Vec<&str> = kinds.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        got,
        ["ps", "inspect", "events", "kernel", "plain"],
        "{summary}"
    );
    assert!(
        kinds.contains(&("kernel".to_owned(), "1 kill → worker".to_owned())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("inspect".to_owned(), "worker: State".to_owned())),
        "{kinds:?}"
    );
    // The five command lines (the greeting is a plain line, of `app`).
    assert_eq!(ignored, 5, "{summary}");
    let (_, out, _) = check(&["--logs", "-"], "table", &ticket);
    assert!(out.contains(&summary), "the table says it too:\n{out}");
}

// --- bounds, garbage, secrets ---------------------------------------------------------------

#[test]
fn a_large_input_is_read_whole_and_its_first_error_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.log");
    let mut lines = 0u64;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        // 65 MiB in all, the decisive line first, then more lines than the tail keeps. The
        // bulk is long blank lines: what is tested is reading everything, and a debug build
        // matches long log lines slowly.
        f.write_all(b"web_1  | NameError: name 'init_db' is not defined\n")
            .unwrap();
        let blank = format!("{}\n", " ".repeat(64 * 1024 - 1));
        for _ in 0..(65 * 1024 / 64) {
            f.write_all(blank.as_bytes()).unwrap();
        }
        for i in 0..3000 {
            writeln!(f, "web_1  | GET /api/health {i} 200").unwrap();
        }
        lines += 1 + 65 * 1024 / 64 + 3000;
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    let spec = path.display().to_string();
    let report = check_json(&["--logs", &spec, "--tail", "2000"], "");
    let f = finding(&report, "name-not-defined");
    assert_eq!(f["service"], "web");
    assert!(
        f["evidence"].as_array().unwrap().iter().any(|e| e["text"]
            .as_str()
            .is_some_and(|t| t.contains("name 'init_db' is not defined"))),
        "the first error, older than the tail, is evidence: {f}"
    );
    let s = &report["input"]["sources"][0];
    assert_eq!(s["bytes"].as_u64().unwrap(), bytes);
    assert_eq!(s["bytes_read"].as_u64().unwrap(), bytes);
    assert_eq!(s["lines"].as_u64().unwrap(), lines);
    let summary = s["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("read {spec} (65 MiB, {lines} lines): ")),
        "{summary}"
    );
}

#[test]
fn garbage_is_refused_with_what_is_read() {
    let bundle =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/bundles/oom-killed.tar.gz");
    let blank = "\n\n   \n";
    for (args, stdin, why) in [
        (vec!["--logs", bundle.to_str().unwrap()], "", "not text"),
        (vec!["--logs", "-"], blank, "holds no lines"),
        (
            vec!["--logs", "-"],
            "```\n# nothing here\n```\n",
            "none of its 3 line(s) was recognised",
        ),
    ] {
        let (code, out, err) = check(&args, "table", stdin);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        // miette wraps at the terminal's width: compare the words, not the layout.
        let flat = err
            .split_whitespace()
            .filter(|w| *w != "│")
            .collect::<Vec<_>>()
            .join(" ");
        assert!(flat.contains(why), "{err}");
        assert!(
            err.contains("docker inspect") && err.contains("dmesg"),
            "kinds listed: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn cut_or_shuffled_pastes_never_panic() {
    // What people do to pastes: cut them anywhere, paste parts out of order.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/transcripts");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let text: String = text.chars().take(20_000).collect();
        for _ in 0..8 {
            let (a, b) = (next() % (text.len() + 1), next() % (text.len() + 1));
            let (a, b) = (floor(&text, a.min(b)), floor(&text, a.max(b)));
            let _ = paste::read_text(&text[a..b], None, "");
            let mut lines: Vec<&str> = text.lines().collect();
            for i in (1..lines.len()).rev() {
                lines.swap(i, next() % (i + 1));
            }
            let _ = paste::read_text(&lines.join("\n"), Some("web"), "p");
        }
    }
}

fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[test]
fn bad_specs_and_fixing_from_logs_are_refused() {
    for args in [
        vec!["check", "--logs", "=x"],
        vec!["check", "--logs", "/no/such/file.log"],
        vec!["check", "--logs", "web=-", "--fix"],
        vec!["fix", "--logs", "web=-"],
    ] {
        let cmd = doctor().args(&args);
        let (code, _, err) = run(cmd, "NameError: name 'x' is not defined\n");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("--logs") || err.contains("logs"), "{err}");
    }
}

#[test]
fn a_password_in_pasted_logs_is_never_printed() {
    let secret = "Lab-Pg-Secret-7f3a9c";
    let log = format!(
        "DATABASE_URL=postgresql://analylit:{secret}@db:5432/analylit \
         FATAL:  password authentication failed for user \"analylit\"\n"
    );
    for format in ["table", "json"] {
        let (code, out, err) = check(&["--logs", "web=-"], format, &log);
        assert_eq!(code, 1, "{err}");
        assert!(out.contains("pg-auth-failed"), "{out}");
        assert!(!out.contains(secret) && !err.contains(secret), "{out}{err}");
    }
}

#[test]
fn a_secret_in_pasted_inspect_env_is_never_printed() {
    // The captured inspect JSON holds db's POSTGRES_PASSWORD and the worker's DATABASE_URL; the
    // redactor learns the password from that env, so even a log line echoing it bare is masked.
    let secret = "Lab-Pg-Secret-7f3a9c";
    let inspect = read("oom-killed.inspect.json");
    assert!(inspect.contains(&format!("POSTGRES_PASSWORD={secret}")));
    let echo = format!(
        "db_1  | FATAL:  password authentication failed for user \"analylit\" (tried {secret})\n"
    );
    for format in ["table", "json", "sarif", "junit", "github"] {
        let (code, out, err) = check(
            &["--logs", &path_of("oom-killed.inspect.json"), "--logs", "-"],
            format,
            &echo,
        );
        assert_eq!(code, 1, "{format}: {err}");
        assert!(out.contains("oom-killed"), "{format}: {out}");
        // What was read is said in every format.
        assert!(out.contains("docker inspect JSON ("), "{format}: {out}");
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{format}: {out}{err}"
        );
    }
    let report = check_json(
        &["--logs", &path_of("oom-killed.inspect.json"), "--logs", "-"],
        &echo,
    );
    let masked = finding(&report, "pg-auth-failed");
    evidence(masked, "log", "(tried ***)");
}
