//! A build context on disk: the files `.dockerignore` lets into an image, as the builder sends
//! them. Read by pre-flight (what an image will hold) and by fix (which services a patched file
//! rebuilds), so it lives with the other readers of the project on disk.
//!
//! Bounded: the walk stops at [`MAX_ENTRIES`] entries and [`MAX_DEPTH`] levels; an ignore file is
//! read up to [`MAX_IGNORE_BYTES`].
use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most directory entries a context walk visits.
pub const MAX_ENTRIES: usize = 100_000;
/// The deepest a context walk goes.
pub const MAX_DEPTH: usize = 40;
/// The most of a `.dockerignore` file read.
pub const MAX_IGNORE_BYTES: usize = 1024 * 1024;

/// Files of a directory, by path relative to it.
#[derive(Debug, Default)]
pub struct Listing {
    pub files: BTreeMap<String, PathBuf>,
    pub truncated: bool,
}

/// Every file under `root` that `ignore` lets through (no symlinked directories, no `.git`).
pub fn list_files(root: &Path, ignore: &DockerIgnore) -> Listing {
    let mut out = Listing::default();
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    let mut seen = 0usize;
    while let Some((dir, rel, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                out.truncated = true;
                return out;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if name == ".git" || depth >= MAX_DEPTH || ignore.excludes_dir(&path) {
                    continue;
                }
                stack.push((e.path(), path, depth + 1));
            } else if (ft.is_file() || ft.is_symlink()) && !ignore.excludes(&path) {
                out.files.insert(path, e.path());
            }
        }
    }
    out
}

/// `.dockerignore` patterns (Go's `filepath.Match` with `**`, `!` exceptions, the last match
/// deciding).
#[derive(Debug, Default)]
pub struct DockerIgnore {
    rules: Vec<(Regex, bool)>,
}

impl DockerIgnore {
    /// `<Dockerfile>.dockerignore` beside the Dockerfile, else `.dockerignore` in the context.
    pub fn for_build(context: &Path, dockerfile: &Path) -> DockerIgnore {
        let own = PathBuf::from(format!("{}.dockerignore", dockerfile.display()));
        let read = |p: &Path| crate::capped::text(p, MAX_IGNORE_BYTES).ok();
        let text = read(&own)
            .or_else(|| read(&context.join(".dockerignore")))
            .unwrap_or_default();
        DockerIgnore::parse(&text)
    }

    pub fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .take(10_000)
            .map(|l| {
                let (keep, pat) = match l.strip_prefix('!') {
                    Some(p) => (true, p.trim()),
                    None => (false, l),
                };
                let pat = clean_rel(pat);
                let re = Regex::new(&format!("^{}(?:/.*)?$", glob_body(&pat)))
                    .unwrap_or_else(|_| Regex::new("^$").expect("empty regex"));
                (re, keep)
            })
            .collect();
        DockerIgnore { rules }
    }

    pub fn excludes(&self, rel: &str) -> bool {
        let mut excluded = false;
        for (re, keep) in &self.rules {
            if re.is_match(rel) {
                excluded = !keep;
            }
        }
        excluded
    }

    /// A directory is skipped only when it is excluded and no exception could bring a file
    /// under it back.
    pub fn excludes_dir(&self, rel: &str) -> bool {
        self.excludes(rel) && !self.rules.iter().any(|(_, keep)| *keep)
    }
}

pub fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

pub fn glob_body(pat: &str) -> String {
    let mut re = String::new();
    let mut chars = pat.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re
}

pub fn glob_regex(pat: &str) -> Regex {
    Regex::new(&format!("^{}$", glob_body(pat))).unwrap_or_else(|_| Regex::new("^$").expect("re"))
}

/// A context-relative path without `./`, leading or trailing `/`, `.` for the whole context
/// becoming empty.
pub fn clean_rel(p: &str) -> String {
    let c = clean(&format!("/{p}"));
    c.trim_start_matches('/').to_owned()
}

/// An absolute path with `.` and `..` resolved and no trailing `/`.
pub fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}
