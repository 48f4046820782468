//! The doctor run as a person runs it, for every test binary: one fluent builder, bounded in
//! time with both pipes drained ([`super::child`]), from the repository root, without colour.
//!
//! ```ignore
//! let ran = Doctor::new().args(["check", "--from", "x.tar.gz"]).offline().run();
//! assert_eq!(ran.code, 1);
//! ```
use super::child::{Ran, run_bounded_with};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub struct Doctor {
    cmd: Command,
    limit: Duration,
    stdin: Option<Vec<u8>>,
}

impl Default for Doctor {
    fn default() -> Self {
        Self::new()
    }
}

impl Doctor {
    /// The binary this test run built, in the repository root, `NO_COLOR` set, 120 s at most.
    pub fn new() -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_analylit-doctor"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1");
        Doctor {
            cmd,
            limit: Duration::from_secs(120),
            stdin: None,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Feed `text` to its stdin (closed otherwise).
    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(text.into());
        self
    }

    /// Run it from `dir` instead of the repository root.
    pub fn in_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// No engine answers: `DOCKER_HOST` names a socket that does not exist.
    pub fn offline(self) -> Self {
        self.env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    }

    /// Kill it (and fail the test) after `limit` instead of 120 s.
    pub fn within(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    pub fn run(mut self) -> Ran {
        run_bounded_with(&mut self.cmd, self.stdin.take(), self.limit)
    }
}
