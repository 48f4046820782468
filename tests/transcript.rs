//! Diagnosing from pasted logs: real `docker-compose logs` transcripts of two lab stacks
//! (fixtures/transcripts/capture.sh made them) split by container, and `check --logs` naming the
//! stack's failure class from the text alone, with no Docker engine reachable.
use analylit_doctor::stack::transcript::{self, split};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

fn counts(text: &str) -> BTreeMap<String, usize> {
    split(text).into_iter().map(|(k, v)| (k, v.len())).collect()
}

fn expect(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// The doctor with an engine address nothing listens on: a Docker connection would fail (exit 2).
fn doctor() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_analylit-doctor"));
    cmd.env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .env_remove("DOCKER_CONTEXT")
        .env("NO_COLOR", "1");
    cmd
}

/// Run with `stdin` fed in, bounded in time; (exit code, stdout, stderr).
fn run(mut cmd: Command, stdin: &str) -> (i32, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start analylit-doctor");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("check --logs did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check_json(args: &[&str], stdin: &str) -> Value {
    let mut cmd = doctor();
    cmd.arg("check").args(args).args(["--format", "json"]);
    let (code, out, err) = run(cmd, stdin);
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

#[test]
fn v1_transcripts_split_by_container() {
    assert_eq!(
        counts(&read("name-not-defined.log")),
        expect(&[
            ("db_1", 50),
            ("flower_1", 21),
            ("redis_1", 8),
            ("web_1", 923),
            ("worker_1", 5)
        ])
    );
    assert_eq!(
        counts(&read("flower-db-needs-recovery.log")),
        expect(&[
            ("db_1", 49),
            ("flower_1", 312),
            ("redis_1", 8),
            ("web_1", 25),
            ("worker_1", 5)
        ])
    );
    let plain = split(&read("name-not-defined.log"));
    assert!(plain.values().flatten().all(|l| l.ts.is_none()));
    assert!(
        plain["web_1"]
            .iter()
            .any(|l| l.text.starts_with("NameError: name 'init_db'"))
    );
}

#[test]
fn timestamps_are_parsed_off_every_line() {
    for name in ["name-not-defined.ts.log", "flower-db-needs-recovery.ts.log"] {
        let per = split(&read(name));
        assert_eq!(per.len(), 5, "{name}");
        for (container, lines) in &per {
            for l in lines {
                let ts =
                    l.ts.as_deref()
                        .unwrap_or_else(|| panic!("{name}: {container}: no stamp on {:?}", l.text));
                assert!(ts.starts_with("2026-") && ts.ends_with('Z'), "{ts}");
                assert!(
                    !l.text.starts_with("2026-11-21T"),
                    "stamp left in {:?}",
                    l.text
                );
            }
            let stamps: Vec<&str> = lines.iter().filter_map(|l| l.ts.as_deref()).collect();
            assert!(stamps.is_sorted(), "{name}: {container} out of order");
        }
    }
}

#[test]
fn v2_prefixes_and_colours_converted_by_hand() {
    let per = split(&read("name-not-defined.v2-converted.log"));
    assert_eq!(
        per.iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect::<BTreeMap<_, _>>(),
        expect(&[("redis-1", 3), ("web-1", 166)])
    );
    assert!(per.values().flatten().all(|l| !l.text.contains('\x1b')));
    let s = transcript::snapshot_from_logs("p", per);
    assert_eq!(s.services(), ["redis", "web"]);
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
    let per = split(&wrapped);
    assert_eq!(per.len(), 5);
    assert!(per["flower_1"].len() > 312, "continuations kept");
    assert!(
        per["flower_1"]
            .iter()
            .any(|l| l.text == "_gdbm.error: Database needs recovery")
    );
}

#[test]
fn check_logs_names_flower_db_needs_recovery_without_docker() {
    let report = check_json(&["--logs", &path_of("flower-db-needs-recovery.log")], "");
    assert_eq!(ids(&report)[0], "flower-db-needs-recovery");
    assert_eq!(report["project"], "(from logs)");
    assert_eq!(
        finding(&report, "flower-db-needs-recovery")["service"],
        "flower"
    );
    for s in report["services"].as_array().unwrap() {
        assert_eq!(s["state"], "unknown", "{s}");
    }
}

#[test]
fn check_logs_names_name_not_defined_without_docker() {
    let report = check_json(&["--logs", &path_of("name-not-defined.ts.log")], "");
    // The postgres image's init prints one `FATAL: database "analylit" does not exist` before it
    // creates the database: `CREATE DATABASE` follows, so that finding is kept as info only.
    assert_eq!(ids(&report)[0], "name-not-defined");
    let init = finding(&report, "pg-database-missing");
    assert_eq!(init["severity"], "info", "{init}");
    let f = finding(&report, "name-not-defined");
    assert_eq!(f["service"], "web");
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

#[test]
fn a_service_log_on_stdin_and_a_file_per_service() {
    // `docker logs web > web.log` has no prefixes: strip them to make one.
    let web: String = read("name-not-defined.log")
        .lines()
        .filter_map(|l| l.strip_prefix("web_1     | "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(web.len() > 1000);
    let report = check_json(&["--logs", "web=-", "-p", "analylit"], &web);
    assert_eq!(ids(&report), ["name-not-defined"]);
    assert_eq!(report["project"], "analylit (from logs)");

    let dir = tempfile::tempdir().unwrap();
    let flower: String = read("flower-db-needs-recovery.log")
        .lines()
        .filter_map(|l| l.strip_prefix("flower_1  | "))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.path().join("flower.log");
    std::fs::write(&path, flower).unwrap();
    let spec = format!("flower={}", path.display());
    let report = check_json(&["--logs", &spec, "--logs", "web=-"], &web);
    let mut found = ids(&report);
    found.sort();
    assert_eq!(found, ["flower-db-needs-recovery", "name-not-defined"]);
}

#[test]
fn bad_specs_and_fixing_from_logs_are_refused() {
    for args in [
        vec!["check", "--logs", "=x"],
        vec!["check", "--logs", "/no/such/file.log"],
        vec!["check", "--logs", "web=-", "--fix"],
        vec!["fix", "--logs", "web=-"],
    ] {
        let mut cmd = doctor();
        cmd.args(&args);
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
        let mut cmd = doctor();
        cmd.args(["check", "--logs", "web=-", "--format", format]);
        let (code, out, err) = run(cmd, &log);
        assert_eq!(code, 1, "{err}");
        assert!(out.contains("pg-auth-failed"), "{out}");
        assert!(!out.contains(secret) && !err.contains(secret), "{out}{err}");
    }
}
