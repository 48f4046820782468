//! The file modes git records, which a fresh clone gets whatever this working tree says.
//!
//! `COPY` keeps the build context's mode, and on a Linux checkout that is the mode git recorded:
//! an entrypoint committed as `100644` (from Windows, where the execute bit does not exist) loses
//! its `x` on every clone, though it may be executable here. `git ls-files -s` lists the index's
//! modes; the doctor runs it once per repository, bounded in time, and does without it when git
//! is missing or the project is not a repository.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `git` may take to list the index.
const GIT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most bytes of `git ls-files` output read.
const MAX_OUTPUT: usize = 64 * 1024 * 1024;

/// Index modes by absolute path.
#[derive(Debug, Default)]
pub struct GitModes {
    modes: HashMap<PathBuf, u32>,
}

impl GitModes {
    /// The modes of the repository `dir` is in; empty when there is none or git is missing.
    pub fn for_dir(dir: &Path) -> GitModes {
        let Some(top) = run(dir, &["rev-parse", "--show-toplevel"])
            .and_then(|o| String::from_utf8(o).ok())
            .map(|t| PathBuf::from(t.trim()))
        else {
            return GitModes::default();
        };
        let Some(out) = run(&top, &["ls-files", "-s", "-z"]) else {
            return GitModes::default();
        };
        GitModes::parse(&top, &out)
    }

    /// `<mode> <object> <stage>\t<path>` records, NUL-separated.
    pub fn parse(top: &Path, out: &[u8]) -> GitModes {
        let mut modes = HashMap::new();
        for rec in out.split(|b| *b == 0) {
            let Ok(rec) = std::str::from_utf8(rec) else {
                continue;
            };
            let Some((meta, path)) = rec.split_once('\t') else {
                continue;
            };
            let Some(mode) = meta
                .split_whitespace()
                .next()
                .and_then(|m| u32::from_str_radix(m, 8).ok())
            else {
                continue;
            };
            modes.insert(top.join(path), mode);
        }
        let canonical = top.canonicalize().ok();
        if let Some(c) = canonical.filter(|c| c != top) {
            let extra: Vec<(PathBuf, u32)> = modes
                .iter()
                .filter_map(|(p, m)| Some((c.join(p.strip_prefix(top).ok()?), *m)))
                .collect();
            modes.extend(extra);
        }
        GitModes { modes }
    }

    /// The index mode of `path` (`0o100644`, `0o100755`), when git tracks it.
    pub fn mode(&self, path: &Path) -> Option<u32> {
        self.modes.get(path).copied().or_else(|| {
            let c = path.canonicalize().ok()?;
            self.modes.get(&c).copied()
        })
    }
}

/// Run `git -C dir args…`, its stdout when it exits 0 within [`GIT_TIMEOUT`].
fn run(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(MAX_OUTPUT as u64).read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let out = reader.join().ok()?;
                return status.success().then_some(out);
            }
            Ok(None) if started.elapsed() < GIT_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_records_give_modes_by_path() {
        let out = b"100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tapp/entrypoint.sh\x00100755 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tbin/run.sh\0";
        let g = GitModes::parse(Path::new("/repo"), out);
        assert_eq!(g.mode(Path::new("/repo/app/entrypoint.sh")), Some(0o100644));
        assert_eq!(g.mode(Path::new("/repo/bin/run.sh")), Some(0o100755));
        assert_eq!(g.mode(Path::new("/repo/other")), None);
    }

    #[test]
    fn this_repository_lists_its_own_files() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let g = GitModes::for_dir(here);
        // Without git (or outside a checkout) there is simply nothing to say.
        if let Some(m) = g.mode(&here.join("Cargo.toml")) {
            assert_eq!(m, 0o100644);
        }
    }
}
