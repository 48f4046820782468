//! What a person sees in a real terminal: `check` run inside tmux panes of 80 and 120 columns,
//! with colour and with `NO_COLOR`, on the bundle captured from a failing lab stack. The pane is
//! captured as the terminal shows it and kept as a snapshot; the tests also hold it to what a
//! reader needs: the terminal never had to break a line (the report broke its long lines between
//! words itself), colour is there only when wanted, and the verdict is the last line.
//!
//! tmux is required under `CI` (.ci/run installs it); elsewhere the tests say they skipped.
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A tmux server of its own (`-L`), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str) -> Option<Tmux> {
        let found = Command::new("tmux")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "{name}: tmux is missing, and CI requires the terminal tests"
            );
            eprintln!("SKIP {name}: no tmux (set CI to make this a failure)");
            return None;
        }
        Some(Tmux {
            socket: format!("doctor-{name}-{}", std::process::id()),
        })
    }

    /// `tmux -L socket -f /dev/null args…`, bounded: killed after 30 s.
    fn run(&self, args: &[&str]) -> Output {
        let mut child = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tmux starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait().expect("tmux wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("tmux {args:?} did not finish in 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("tmux output");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run `command` in a detached pane `cols` wide and wait (bounded) until it has finished;
    /// the pane keeps its output. Returns the pane's text: with colour escapes when `escapes`,
    /// and with the lines the terminal broke joined again when `joined`.
    fn pane(&self, cols: u16, env: &[(&str, &str)], command: &str) -> Pane {
        let done = format!("{}-done", self.socket);
        // The command, then a signal to the test; the pane stays (remain-on-exit).
        let script = format!("{command}; tmux -L {} wait-for -S {done}", self.socket);
        let cols = cols.to_string();
        let mut args: Vec<String> = vec![
            "new-session".into(),
            "-d".into(),
            "-x".into(),
            cols,
            "-y".into(),
            "50".into(),
        ];
        for (k, v) in env {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        args.push("sh".into());
        args.push("-c".into());
        // The pane must outlive the command: set remain-on-exit before it can end.
        args.push(format!(
            "tmux -L {} set-option remain-on-exit on >/dev/null; {script}",
            self.socket
        ));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs);
        self.run(&["wait-for", &done]);
        let capture = |extra: &[&str]| {
            let mut a = vec!["capture-pane", "-p", "-S", "-", "-E", "-"];
            a.extend_from_slice(extra);
            String::from_utf8(self.run(&a).stdout).expect("utf-8 pane")
        };
        let pane = Pane {
            plain: capture(&[]),
            joined: capture(&["-J"]),
            escapes: capture(&["-e"]),
        };
        self.run(&["kill-server"]);
        pane
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

struct Pane {
    plain: String,
    joined: String,
    escapes: String,
}

/// A capture's lines without tmux's own `Pane is dead` line and the blank rows below the output.
fn output_lines(capture: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = capture
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.starts_with("Pane is dead"))
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

impl Pane {
    fn lines(&self) -> Vec<&str> {
        output_lines(&self.plain)
    }
}

fn doctor_command(args: &str) -> String {
    format!(
        "cd {} && DOCKER_HOST=tcp://127.0.0.1:1 {} {args}",
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_BIN_EXE_analylit-doctor")
    )
}

const BUNDLE: &str = "fixtures/bundles/name-not-defined.tar.gz";

fn check_in_a_pane(name: &str, cols: u16, colour: bool) -> Option<Pane> {
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLE).is_file());
    let tmux = Tmux::start(name)?;
    let env: Vec<(&str, &str)> = if colour {
        vec![("TERM", "xterm-256color")]
    } else {
        vec![("TERM", "xterm-256color"), ("NO_COLOR", "1")]
    };
    // stderr's progress and notes stay out of the pane: it is the report that is read.
    Some(tmux.pane(
        cols,
        &env,
        &doctor_command(&format!("check --from {BUNDLE} 2>/dev/null")),
    ))
}

fn assert_readable(pane: &Pane, cols: u16) {
    let lines = pane.lines();
    assert_eq!(
        lines,
        output_lines(&pane.joined),
        "the terminal broke a line the report did not break itself"
    );
    for l in &lines {
        assert!(
            textwrap_width(l) <= usize::from(cols),
            "wider than the pane: {l:?}"
        );
    }
    let last = lines.last().expect("output");
    assert!(
        last.starts_with("✗ ") && last.contains("root cause: name-not-defined on web"),
        "the verdict is not the last line: {last:?}"
    );
    // The evidence line is whole somewhere: broken only between words.
    let text = lines.join(" ");
    let squeezed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squeezed.contains("NameError: name 'init_db' is not defined"));
}

fn textwrap_width(s: &str) -> usize {
    s.chars().count()
}

#[test]
fn check_in_a_terminal_of_80_columns_in_colour() {
    let Some(pane) = check_in_a_pane("c80", 80, true) else {
        return;
    };
    assert_readable(&pane, 80);
    assert!(pane.escapes.contains("\x1b["), "no colour in a terminal");
    insta::assert_snapshot!("pane_80_colour", pane.lines().join("\n"));
}

#[test]
fn check_in_a_terminal_of_120_columns_in_colour() {
    let Some(pane) = check_in_a_pane("c120", 120, true) else {
        return;
    };
    assert_readable(&pane, 120);
    assert!(pane.escapes.contains("\x1b["), "no colour in a terminal");
    insta::assert_snapshot!("pane_120_colour", pane.lines().join("\n"));
}

#[test]
fn no_color_turns_colour_off_at_80_and_120_columns() {
    for cols in [80, 120] {
        let Some(pane) = check_in_a_pane(&format!("n{cols}"), cols, false) else {
            return;
        };
        assert_readable(&pane, cols);
        assert!(
            !pane.escapes.contains("\x1b["),
            "colour with NO_COLOR: {:?}",
            pane.escapes
        );
        insta::assert_snapshot!(format!("pane_{cols}_no_color"), pane.lines().join("\n"));
    }
}
