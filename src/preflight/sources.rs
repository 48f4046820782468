//! Which Python files a service runs: what its entry point imports, not everything in the
//! repository.
//!
//! A real project holds hundreds of `.py` files beside the app — tests, scripts, notebooks
//! exported to Python, migrations of another tool — and an analysis of all of them would report
//! the faults of code that never runs in the container. A service runs its entry points: the
//! gunicorn target and config file, `python -m module`, `python script.py`, `celery -A module`,
//! the `FLASK_APP` of a `flask` command its entrypoint runs. From those, the imports are
//! followed through the image's files (every `import`, at any level, so a name imported inside
//! a function can be checked against the module that should define it), parent packages
//! included, and only those files are read and analysed.
//!
//! The import scan is a small lexer, not a parser: it skips strings (all prefixes, triple
//! quotes), comments and bracketed continuations to find `import` and `from … import`
//! statements. The files it selects are then parsed by the python probe's own analysis.
use super::image::{ImageView, join};
use crate::probes::python::{MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::LazyLock;

/// One import statement: `import a.b` (`from_names` empty) or `from ..pkg import x, y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportStmt {
    /// Leading dots of a relative import.
    pub level: usize,
    /// The module as written, without the dots (empty for `from . import x`).
    pub module: String,
    /// The names of `from … import`; `*` for a star import.
    pub names: Vec<String>,
    pub is_from: bool,
}

/// The import statements of `src`, at any nesting, in order.
pub fn scan_imports(src: &str) -> Vec<ImportStmt> {
    let mut out = Vec::new();
    for stmt in statements(src) {
        let s = stmt.trim();
        if let Some(rest) = s.strip_prefix("import ") {
            for part in rest.split(',') {
                let module = part.split_whitespace().next().unwrap_or("");
                if is_dotted(module) {
                    out.push(ImportStmt {
                        level: 0,
                        module: module.to_owned(),
                        names: vec![],
                        is_from: false,
                    });
                }
            }
        } else if let Some(rest) = s.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else {
                continue;
            };
            let module = module.trim();
            let level = module.chars().take_while(|c| *c == '.').count();
            let module = &module[level..];
            if !module.is_empty() && !is_dotted(module) {
                continue;
            }
            let names = names
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .filter_map(|n| n.split_whitespace().next())
                .filter(|n| *n == "*" || is_dotted(n))
                .map(str::to_owned)
                .collect();
            out.push(ImportStmt {
                level,
                module: module.to_owned(),
                names,
                is_from: true,
            });
        }
    }
    out
}

fn is_dotted(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// Logical statements of `src` with strings blanked and comments dropped: newlines inside
/// brackets and after `\` continue a statement, `;` and newlines end one.
fn statements(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let triple = b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if triple {
                        if b[i] == c && b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c) {
                            i += 3;
                            break;
                        }
                    } else if b[i] == c || b[i] == b'\n' {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                cur.push_str("\"\"");
                continue;
            }
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                cur.push(' ');
                i += 2;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' | b';' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                i += 1;
                continue;
            }
            b'\n' => {
                cur.push(' ');
                i += 1;
                continue;
            }
            _ => {}
        }
        // Multi-byte characters are copied whole (they never delimit anything here).
        let ch = src[i..].chars().next().expect("in bounds");
        cur.push(ch);
        i += ch.len_utf8();
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// The Python files one service runs, read: image path → text.
#[derive(Debug, Default)]
pub struct Selected {
    pub files: BTreeMap<String, String>,
    /// Entry points found, as shown in facts (`module backend.server_v4_complete`).
    pub entries: Vec<String>,
    /// Files left out for the bounds.
    pub over_limit: usize,
}

/// Where a service's Python starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Module(String),
    /// An image path run by path (a script, gunicorn's config file).
    File(String),
}

static PY_M: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s/])python[0-9.]*(?:\s+-[A-Za-z]+)*\s+-m\s+([A-Za-z_][\w.]*)")
        .expect("python -m regex")
});
static PY_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s/])python[0-9.]*(?:\s+-[A-Za-z]+)*\s+([\w./-]+\.py)\b").expect("py regex")
});
static CELERY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"celery\s+(?:-A|--app)[=\s]?\s*([A-Za-z_][\w.]*)").expect("celery regex")
});
static ASGI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:uvicorn|hypercorn|waitress-serve|daphne)\b[^\n;&|]*?\s([A-Za-z_][\w.]*):[A-Za-z_]",
    )
    .expect("server regex")
});
static FLASK_CMD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\s/;&|])flask\s+[a-z]").expect("flask regex"));
static PY_C: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"python[0-9.]*\s+-c\s+(?:'([^']*)'|"((?:[^"\\]|\\.)*)")"#)
        .expect("python -c regex")
});

/// The entry points written in a command line and the script it starts (`flask` commands run
/// `FLASK_APP`). `python -c '…'` code is scanned for its imports.
pub fn entries_in(text: &str, env: &[(String, String)]) -> Vec<Entry> {
    let mut out = Vec::new();
    for m in PY_M.captures_iter(text) {
        out.push(Entry::Module(m[1].to_owned()));
    }
    for m in PY_FILE.captures_iter(text) {
        out.push(Entry::File(m[1].to_owned()));
    }
    for m in CELERY.captures_iter(text) {
        out.push(Entry::Module(m[1].trim_end_matches(".app").to_owned()));
    }
    for m in ASGI.captures_iter(text) {
        out.push(Entry::Module(m[1].to_owned()));
    }
    for m in PY_C.captures_iter(text) {
        let code = m.get(1).or(m.get(2)).map_or("", |c| c.as_str());
        for i in scan_imports(&code.replace(';', "\n")) {
            if i.level == 0 && !i.module.is_empty() {
                out.push(Entry::Module(i.module));
            }
        }
    }
    if FLASK_CMD.is_match(text) {
        let app = env
            .iter()
            .rev()
            .find(|(k, _)| k == "FLASK_APP")
            .map(|(_, v)| v.clone());
        match app {
            Some(a) => out.extend(flask_app(&a)),
            // Flask's own discovery: `wsgi.py`, then `app.py`.
            None => {
                out.push(Entry::Module("wsgi".into()));
                out.push(Entry::Module("app".into()));
            }
        }
    }
    out.dedup();
    out
}

/// The entry `FLASK_APP` names: `backend.server:create_app()` → module `backend.server`,
/// `app.py` → that file.
pub fn flask_app(app: &str) -> Option<Entry> {
    let module = app.split(':').next().unwrap_or(app).trim();
    match module.strip_suffix(".py") {
        Some(file) => Some(Entry::File(format!("{file}.py"))),
        None if !module.is_empty() => Some(Entry::Module(module.to_owned())),
        None => None,
    }
}

/// Follow `entries` (modules resolved from `root`, files from `workdir`) through the imports of
/// the image's Python files, and read what is reached.
pub fn select(view: &ImageView, root: &str, workdir: &str, entries: &[Entry]) -> Selected {
    let mut sel = Selected::default();
    let root = root.trim_end_matches('/').to_owned();
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut total = 0usize;
    let module_file = |dotted: &str| -> Option<String> {
        let rel = dotted.replace('.', "/");
        let pkg = format!("{root}/{rel}/__init__.py");
        let file = format!("{root}/{rel}.py");
        if view.file(&pkg).is_some() {
            Some(pkg)
        } else if view.file(&file).is_some() {
            Some(file)
        } else {
            None
        }
    };
    // A module and its parent packages (Python imports them first).
    let enqueue_module = |dotted: &str, queue: &mut VecDeque<String>| {
        let parts: Vec<&str> = dotted.split('.').collect();
        for n in 1..=parts.len() {
            if let Some(f) = module_file(&parts[..n].join(".")) {
                queue.push_back(f);
            }
        }
    };
    for e in entries {
        match e {
            Entry::Module(m) => {
                sel.entries.push(format!("module {m}"));
                enqueue_module(m, &mut queue);
            }
            Entry::File(f) => {
                let path = join(workdir, f);
                sel.entries.push(format!("file {path}"));
                if view.file(&path).is_some() {
                    queue.push_back(path);
                }
            }
        }
    }
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some(source) = view.file(&path) else {
            continue;
        };
        let size = std::fs::metadata(&source.host).map_or(0, |m| m.len() as usize);
        if size > MAX_FILE_BYTES || sel.files.len() >= MAX_FILES || total + size > MAX_TOTAL_BYTES {
            sel.over_limit += 1;
            continue;
        }
        // The length above can be stale (the file grew) or meaningless (not a regular file).
        let bytes = match crate::capped::whole(&source.host, MAX_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(e) => {
                if e.kind() == std::io::ErrorKind::FileTooLarge {
                    sel.over_limit += 1;
                }
                continue;
            }
        };
        total += bytes.len();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // The package this file's relative imports start from.
        let module = path
            .strip_prefix(&format!("{root}/"))
            .and_then(|r| r.strip_suffix(".py"))
            .map(|r| r.replace('/', "."));
        let package = match &module {
            Some(m) if m.ends_with(".__init__") || m == "__init__" => m
                .trim_end_matches("__init__")
                .trim_end_matches('.')
                .to_owned(),
            Some(m) => m
                .rsplit_once('.')
                .map_or(String::new(), |(p, _)| p.to_owned()),
            None => String::new(),
        };
        for imp in scan_imports(&text) {
            let base = if imp.level > 0 {
                let parts: Vec<&str> = package.split('.').filter(|p| !p.is_empty()).collect();
                if parts.len() + 1 < imp.level {
                    continue;
                }
                let mut b: Vec<String> = parts[..parts.len() + 1 - imp.level]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                if !imp.module.is_empty() {
                    b.push(imp.module.clone());
                }
                b.join(".")
            } else {
                imp.module.clone()
            };
            if !base.is_empty() {
                enqueue_module(&base, &mut queue);
            }
            for name in &imp.names {
                if name != "*" {
                    let sub = if base.is_empty() {
                        name.clone()
                    } else {
                        format!("{base}.{name}")
                    };
                    if let Some(f) = module_file(&sub) {
                        queue.push_back(f);
                    }
                }
            }
        }
        sel.files.insert(path, text);
    }
    sel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::image::FileSource;
    use std::path::Path;

    fn from(host: &Path) -> FileSource {
        FileSource {
            host: host.to_owned(),
            mode: None,
            via: "COPY . /app".into(),
            cr_stripped: None,
            bind: false,
        }
    }

    #[cfg(unix)]
    #[test]
    fn over_cap_and_endless_files_are_left_out_and_counted_never_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("app.py"), "import big\nimport pipe\nimport small\n").unwrap();
        std::fs::write(d.join("small.py"), "X = 1\n").unwrap();
        std::fs::write(d.join("big.py"), "#".repeat(MAX_FILE_BYTES + 1)).unwrap();
        // A FIFO reports a length of 0 and would block a plain read forever.
        let made = std::process::Command::new("mkfifo")
            .arg(d.join("pipe.py"))
            .status()
            .unwrap();
        assert!(made.success());
        let mut view = ImageView::default();
        for name in ["app.py", "small.py", "big.py", "pipe.py"] {
            view.files
                .insert(format!("/app/{name}"), from(&d.join(name)));
        }
        let sel = select(&view, "/app", "/app", &[Entry::File("app.py".into())]);
        let read: Vec<&str> = sel.files.keys().map(String::as_str).collect();
        assert_eq!(read, ["/app/app.py", "/app/small.py"]);
        assert_eq!(sel.over_limit, 1, "the big file is counted as cut");
    }

    fn names(src: &str) -> Vec<String> {
        scan_imports(src)
            .into_iter()
            .map(|i| {
                if i.is_from {
                    format!("{}{}:{}", ".".repeat(i.level), i.module, i.names.join(","))
                } else {
                    i.module
                }
            })
            .collect()
    }

    #[test]
    fn imports_in_every_form_and_nothing_in_strings_or_comments() {
        let src = r#"
import os, sys as system
from backend.utils import (
    database,  # the engine
    app_globals as g,
)
from . import health
from ..api import *
def f():
    from utils.database import init_db; import lazy
x = "import not_this"
y = """
from not_this import either
"""
# import nor_this
z = f'{a!r}' ; import after_fstring
w = (1,
     2) \
    ; from k import v
"#;
        assert_eq!(
            names(src),
            [
                "os",
                "sys",
                "backend.utils:database,app_globals",
                ".:health",
                "..api:*",
                "utils.database:init_db",
                "lazy",
                "after_fstring",
                "k:v",
            ]
        );
    }

    #[test]
    fn entry_points_of_commands_and_scripts() {
        let env = vec![(
            "FLASK_APP".to_owned(),
            "backend.server:create_app()".to_owned(),
        )];
        let e = |t: &str| entries_in(t, &env);
        assert_eq!(
            e("python3 -m backend.migrate"),
            [Entry::Module("backend.migrate".into())]
        );
        assert_eq!(
            e("python3 -u front/proxy.py --port 1"),
            [Entry::File("front/proxy.py".into())]
        );
        assert_eq!(
            e("celery -A backend.tasks worker"),
            [Entry::Module("backend.tasks".into())]
        );
        assert_eq!(
            e("uvicorn --port 80 app.main:app"),
            [Entry::Module("app.main".into())]
        );
        assert_eq!(
            e("#!/bin/sh\nflask init-db\nexec gunicorn x:app\n"),
            [Entry::Module("backend.server".into())]
        );
        assert_eq!(
            e("python3 -c 'import os, psycopg2; psycopg2.connect()'"),
            [Entry::Module("os".into()), Entry::Module("psycopg2".into())]
        );
        assert!(e("rq worker -u redis://redis:6379/0 default").is_empty());
    }

    #[test]
    fn only_what_the_entry_imports_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut view = ImageView::default();
        let mut add = |rel: &str, text: &str| {
            let host = d.join(rel.replace('/', "_"));
            std::fs::write(&host, text).unwrap();
            view.files.insert(
                format!("/app/{rel}"),
                FileSource {
                    host,
                    mode: None,
                    via: String::new(),
                    cr_stripped: None,
                    bind: false,
                },
            );
        };
        add("backend/__init__.py", "");
        add(
            "backend/server.py",
            "from .api import routes\nfrom backend.utils import db\n",
        );
        add("backend/api/__init__.py", "");
        add("backend/api/routes.py", "from ..utils.db import engine\n");
        add("backend/utils/__init__.py", "");
        add("backend/utils/db.py", "engine = None\n");
        add("tests/test_server.py", "import backend.server\n");
        add("scripts/oneoff.py", "undefined_thing()\n");
        let sel = select(
            &view,
            "/app",
            "/app",
            &[Entry::Module("backend.server".into())],
        );
        let read: Vec<&str> = sel.files.keys().map(String::as_str).collect();
        assert_eq!(
            read,
            [
                "/app/backend/__init__.py",
                "/app/backend/api/__init__.py",
                "/app/backend/api/routes.py",
                "/app/backend/server.py",
                "/app/backend/utils/__init__.py",
                "/app/backend/utils/db.py",
            ]
        );
        assert!(Path::new(&view.files["/app/tests/test_server.py"].host).exists());
    }
}
