//! Running a child for a test: a bounded wait (killed at the bound, so a hang fails the test
//! instead of hanging it) and both pipes drained by threads of their own (a report over the
//! 64 KiB a pipe holds never blocks the child), with the time it took.
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Run `cmd` (stdin closed) for at most `limit`; panics when it does not finish by then.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Ran {
    run_bounded_with(cmd, None, limit)
}

/// [`run_bounded`], with `input` written to its stdin by a thread of its own (the child may exit
/// before reading all of it: a broken pipe is fine), or stdin closed.
pub fn run_bounded_with(cmd: &mut Command, input: Option<Vec<u8>>, limit: Duration) -> Ran {
    let started = Instant::now();
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child");
    let writer = input.map(|data| {
        let mut stdin = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        })
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ran {
        code: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        elapsed,
    }
}
