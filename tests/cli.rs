//! CLI behaviour that needs no compose stack: generated files are fresh, rule commands work,
//! errors are clear and exit 2 within their bound.
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::doctor::Doctor;

/// The doctor, killed (and the test failed) after [`LIMIT`].
fn doctor() -> Doctor {
    Doctor::new().within(LIMIT)
}

/// No command here takes more than this; a hang fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(60);

/// What starting a process and printing an error may take on a loaded machine, beyond the
/// bound under test.
const SLACK: Duration = Duration::from_secs(6);

fn run(doctor: Doctor) -> (i32, String, String) {
    let ran = doctor.run();
    (ran.code, ran.stdout, ran.stderr)
}

const SHELLS: [(&str, &str); 5] = [
    ("bash", "analylit-doctor.bash"),
    ("zsh", "_analylit-doctor"),
    ("fish", "analylit-doctor.fish"),
    ("powershell", "_analylit-doctor.ps1"),
    ("elvish", "analylit-doctor.elv"),
];

/// The committed completion scripts are what the binary generates today; completions/README.md
/// has the loop that refreshes them.
#[test]
fn completions_are_not_stale() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in SHELLS {
        let (code, generated, _) = run(doctor().args(["completions", shell]));
        assert_eq!(code, 0);
        let committed = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("completions/{file}: {e}"));
        assert!(
            committed == generated,
            "completions/{file} is stale: run `analylit-doctor completions {shell} > completions/{file}`"
        );
    }
}

/// `man/analylit-doctor.1` is what `analylit-doctor man` prints.
#[test]
fn man_page_is_not_stale() {
    let (code, generated, _) = run(doctor().args(["man"]));
    assert_eq!(code, 0);
    assert!(
        generated.starts_with(".ie \\n(.g .ds Aq"),
        "roff: {generated:.80}"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/analylit-doctor.1");
    let committed =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        committed == generated,
        "man/analylit-doctor.1 is stale: run `analylit-doctor man > man/analylit-doctor.1`"
    );
}

#[test]
fn version_and_help_name_the_exit_codes() {
    let (code, out, _) = run(doctor().args(["--version"]));
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("analylit-doctor {}", env!("CARGO_PKG_VERSION"))
    );
    let (_, help, _) = run(doctor().args(["check", "--help"]));
    assert!(help.contains("1  findings"), "{help}");
    assert!(help.contains("2  usage or tool error"), "{help}");
}

#[test]
fn rules_list_json_has_every_rule_file() {
    let (code, out, _) = run(doctor().args(["rules", "list", "--format", "json"]));
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&out).expect("json");
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let files = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap();
    for f in files {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        let id = name.trim_end_matches(".toml");
        assert!(ids.contains(&id), "rules list misses {id}");
    }
}

#[test]
fn explain_shows_the_rule_and_its_fix() {
    let (code, out, _) = run(doctor().args(["explain", "flower-db-needs-recovery"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("flower-db-needs-recovery — "), "{out}");
    assert!(out.contains("Database needs recovery"), "{out}");
    assert!(out.contains("fix (safe)"), "{out}");
    assert!(
        out.contains("`analylit-doctor fix` does: stop → backup → move-aside → start"),
        "{out}"
    );
    assert!(out.contains("gdbm (needs-recovery)"), "{out}");
    let (code, _, err) = run(doctor().args(["explain", "flower-db"]));
    assert_eq!(code, 2);
    assert!(err.contains("did you mean"), "{err}");
}

#[test]
fn bad_rule_dir_is_a_miette_report_and_exit_2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules-bad/several-problems");
    let (code, out, err) = run(doctor()
        .args(["check", "-p", "nothing"])
        .args(["--rules".as_ref(), dir.as_os_str()]));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "nothing on stdout: {out}");
    assert!(err.contains("rules::bad-regex"), "{err}");
    assert!(err.contains("unknown severity `fatal`"), "{err}");
}

#[test]
fn daemon_down_is_a_clear_error_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("no-such.sock");
    let ran = doctor()
        .args(["check", "-p", "analylit", "--connect-timeout", "2"])
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .run();
    let (code, out, err) = (ran.code, ran.stdout, ran.stderr);
    assert!(
        ran.elapsed < Duration::from_secs(2) + SLACK,
        "took {:?} for a 2 s connect timeout",
        ran.elapsed
    );
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("cannot reach the Docker engine"), "{err}");
    assert!(err.contains("DOCKER_HOST"), "{err}");
}

/// A "daemon" that accepts connections and never answers: the ping times out, exit 2.
#[test]
fn silent_daemon_is_bounded_by_the_connect_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("silent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    // Every connection is accepted and held, unanswered, for longer than the test may take:
    // only the doctor's own bound can end it. (The thread is never joined; it ends with the
    // test process.)
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(16) {
            held.push(conn);
        }
        std::thread::sleep(LIMIT * 2);
    });
    let ran = doctor()
        .args(["check", "-p", "analylit", "--connect-timeout", "1"])
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .run();
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("no answer within"), "{}", ran.stderr);
    assert!(
        ran.elapsed < Duration::from_secs(1) + SLACK,
        "took {:?} for a 1 s connect timeout",
        ran.elapsed
    );
}

#[test]
fn unknown_project_lists_the_known_ones() {
    if Command::new("docker")
        .arg("info")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI requires a Docker engine"
        );
        support::record_skip("unknown_project_lists_the_known_ones", "no Docker engine");
        return;
    }
    let (code, out, err) = run(doctor().args(["check", "-p", "no-such-project-here"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no containers for compose project"), "{err}");
}

/// A reader that goes away (`| head`) ends the doctor quietly with success, whatever it prints:
/// no panic on the closed pipe.
#[test]
fn a_closed_stdout_is_no_panic() {
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bundles/healthy.tar.gz");
    let bundle = bundle.to_str().unwrap();
    for args in [
        &["rules", "list", "--format", "json"][..],
        &["explain"][..],
        &["check", "--from", bundle, "--format", "json"][..],
    ] {
        // Its stdout closed as soon as it starts: not what the bounded runner does.
        let mut child = Command::new(env!("CARGO_BIN_EXE_analylit-doctor"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
