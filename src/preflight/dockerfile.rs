//! A Dockerfile read as the builder reads it, for the instructions that decide what a container
//! starts and which files it holds: `FROM` (stages), `WORKDIR`, `COPY`/`ADD`, `ENV`, `ARG`,
//! `ENTRYPOINT`, `CMD`, `USER`, `HEALTHCHECK` and `RUN` (kept as text, for what
//! [`super::image`] can tell from it: a `chmod`, a stripped `\r`, a package installed or
//! purged).
//!
//! Line continuations, comments, the exec (JSON) and shell forms, and `$VAR` / `${VAR}` /
//! `${VAR:-default}` substitution from `ARG` and `ENV` follow the builder. Heredocs and parser
//! directives other than the default escape character are not read: an instruction the reader
//! does not understand is kept as [`Kind::Other`], never guessed at.
use std::collections::BTreeMap;

/// The largest Dockerfile read.
pub const MAX_BYTES: usize = 1024 * 1024;

/// A command as written: `["gunicorn", "app:app"]` or `gunicorn app:app` (run by `/bin/sh -c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

impl Command {
    /// The argv Docker runs.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
        }
    }
}

/// One `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// Paths in the build context (or in the `--from` stage or image), substituted.
    pub sources: Vec<String>,
    pub dest: String,
    /// `--from=stage|image`.
    pub from: Option<String>,
    /// `--chmod=755`.
    pub chmod: Option<u32>,
    pub add: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Workdir(String),
    Copy(Copy),
    Env(Vec<(String, String)>),
    Arg(String, Option<String>),
    Entrypoint(Command),
    Cmd(Command),
    User(String),
    /// `HEALTHCHECK CMD …` as a compose-style test (`["CMD", …]` / `["CMD-SHELL", "…"]`), or
    /// `["NONE"]`.
    Healthcheck(Vec<String>),
    /// The shell text (or the exec form joined by spaces), substituted.
    Run(String),
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: u32,
    pub kind: Kind,
}

/// One build stage: `FROM image [AS name]` and what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The image reference, substituted (`python:3.11-slim`, or an earlier stage's name).
    pub from: String,
    pub from_line: u32,
    pub name: Option<String>,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dockerfile {
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// The stage an image is built from: the last one (or the `target:` one, when named).
    pub fn final_stage(&self, target: Option<&str>) -> Option<&Stage> {
        match target {
            Some(t) => self
                .stages
                .iter()
                .find(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t))),
            None => self.stages.last(),
        }
    }

    /// The stage named `name` (`FROM … AS name`), or by index (`--from=0`).
    pub fn stage(&self, name: &str) -> Option<(usize, &Stage)> {
        if let Ok(i) = name.parse::<usize>() {
            return self.stages.get(i).map(|s| (i, s));
        }
        self.stages.iter().enumerate().find(|(_, s)| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }
}

/// Parse a Dockerfile. `build_args` are compose's `build.args` (a name without a value takes
/// the `ARG` default).
pub fn parse(text: &str, build_args: &[(String, Option<String>)]) -> Dockerfile {
    let args: BTreeMap<String, String> = build_args
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    let mut out = Dockerfile::default();
    // ARGs before the first FROM are visible to FROM lines only (and to a stage that redeclares
    // them).
    let mut global: BTreeMap<String, String> = BTreeMap::new();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (line, keyword, rest) in logical_lines(text) {
        let kw = keyword.to_ascii_uppercase();
        if kw == "FROM" {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let mut i = 0;
            while words.get(i).is_some_and(|w| w.starts_with("--")) {
                i += 1;
            }
            let from = substitute(words.get(i).copied().unwrap_or(""), &global);
            let name = match (words.get(i + 1), words.get(i + 2)) {
                (Some(as_kw), Some(n)) if as_kw.eq_ignore_ascii_case("as") => Some((*n).to_owned()),
                _ => None,
            };
            out.stages.push(Stage {
                from,
                from_line: line,
                name,
                instructions: Vec::new(),
            });
            vars = BTreeMap::new();
            continue;
        }
        let Some(stage) = out.stages.last_mut() else {
            if kw == "ARG" {
                for (k, v) in arg_decls(&rest) {
                    let value = args.get(&k).cloned().or(v).unwrap_or_default();
                    global.insert(k, value);
                }
            }
            continue;
        };
        let kind = match kw.as_str() {
            "WORKDIR" => Kind::Workdir(substitute(rest.trim(), &vars)),
            "COPY" | "ADD" => copy(&rest, kw == "ADD", &vars),
            "ENV" => {
                let pairs: Vec<(String, String)> = env_pairs(&rest)
                    .into_iter()
                    .map(|(k, v)| (k, substitute(&v, &vars)))
                    .collect();
                for (k, v) in &pairs {
                    vars.insert(k.clone(), v.clone());
                }
                Kind::Env(pairs)
            }
            "ARG" => {
                let decls = arg_decls(&rest);
                let mut last = Kind::Other(rest.clone());
                for (k, v) in decls {
                    let value = args
                        .get(&k)
                        .cloned()
                        .or_else(|| v.clone())
                        .or_else(|| global.get(&k).cloned());
                    if let Some(value) = &value {
                        vars.insert(k.clone(), value.clone());
                    }
                    last = Kind::Arg(k, value);
                }
                last
            }
            "ENTRYPOINT" => Kind::Entrypoint(command(&rest)),
            "CMD" => Kind::Cmd(command(&rest)),
            "USER" => Kind::User(substitute(rest.trim(), &vars)),
            "HEALTHCHECK" => healthcheck(&rest),
            "RUN" => Kind::Run(substitute(
                &match command(&rest) {
                    Command::Exec(v) => v.join(" "),
                    Command::Shell(s) => s,
                },
                &vars,
            )),
            _ => Kind::Other(format!("{kw} {rest}")),
        };
        stage.instructions.push(Instruction { line, kind });
    }
    out
}

/// `(line, keyword, rest)` per instruction: comments dropped, `\` continuations joined.
fn logical_lines(text: &str) -> Vec<(u32, String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(u32, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let trimmed = raw.trim_end_matches('\r');
        let t = trimmed.trim_start();
        if t.starts_with('#') {
            // A comment inside a continued instruction is skipped, not a terminator.
            continue;
        }
        if current.is_none() && t.is_empty() {
            continue;
        }
        let (body, continued) = match t.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (t, false),
        };
        match &mut current {
            Some((_, acc)) => {
                acc.push(' ');
                acc.push_str(body.trim());
            }
            None => current = Some((line_no, body.trim_end().to_owned())),
        }
        if !continued && let Some((at, acc)) = current.take() {
            let acc = acc.trim().to_owned();
            let (kw, rest) = acc.split_once(char::is_whitespace).unwrap_or((&acc, ""));
            out.push((at, kw.to_owned(), rest.trim().to_owned()));
        }
    }
    if let Some((at, acc)) = current {
        let (kw, rest) = acc.split_once(char::is_whitespace).unwrap_or((&acc, ""));
        out.push((at, kw.to_owned(), rest.trim().to_owned()));
    }
    out
}

/// The exec form when the text is a JSON array of strings, else the shell form.
fn command(rest: &str) -> Command {
    let t = rest.trim();
    if t.starts_with('[')
        && let Ok(v) = serde_json::from_str::<Vec<String>>(t)
    {
        return Command::Exec(v);
    }
    Command::Shell(t.to_owned())
}

fn copy(rest: &str, add: bool, vars: &BTreeMap<String, String>) -> Kind {
    let mut from = None;
    let mut chmod = None;
    let mut words: Vec<String> = Vec::new();
    let body = rest.trim();
    let mut tail = body;
    // Flags come first.
    loop {
        let t = tail.trim_start();
        if !t.starts_with("--") {
            tail = t;
            break;
        }
        let (flag, after) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        if let Some(v) = flag.strip_prefix("--from=") {
            from = Some(substitute(v, vars));
        } else if let Some(v) = flag.strip_prefix("--chmod=") {
            chmod = u32::from_str_radix(v, 8).ok();
        }
        tail = after;
    }
    if tail.starts_with('[')
        && let Ok(v) = serde_json::from_str::<Vec<String>>(tail)
    {
        words = v;
    } else {
        words.extend(tail.split_whitespace().map(str::to_owned));
    }
    let words: Vec<String> = words.iter().map(|w| substitute(w, vars)).collect();
    match words.split_last() {
        Some((dest, sources)) if !sources.is_empty() => Kind::Copy(Copy {
            sources: sources.to_vec(),
            dest: dest.clone(),
            from,
            chmod,
            add,
        }),
        _ => Kind::Other(format!("COPY {rest}")),
    }
}

fn healthcheck(rest: &str) -> Kind {
    let t = rest.trim();
    if t.eq_ignore_ascii_case("NONE") {
        return Kind::Healthcheck(vec!["NONE".into()]);
    }
    // Options (`--interval=5s`) before CMD.
    let mut tail = t;
    while tail.starts_with("--") {
        tail = tail
            .split_once(char::is_whitespace)
            .map_or("", |(_, a)| a)
            .trim_start();
    }
    let Some(cmd) = tail
        .strip_prefix("CMD")
        .or_else(|| tail.strip_prefix("cmd"))
    else {
        return Kind::Other(format!("HEALTHCHECK {rest}"));
    };
    match command(cmd) {
        Command::Exec(v) => Kind::Healthcheck(std::iter::once("CMD".to_owned()).chain(v).collect()),
        Command::Shell(s) => Kind::Healthcheck(vec!["CMD-SHELL".into(), s]),
    }
}

/// `ENV A=1 B="two words"` or the legacy `ENV A 1`.
fn env_pairs(rest: &str) -> Vec<(String, String)> {
    let words = split_quoted(rest);
    if words.first().is_some_and(|w| !w.contains('=')) {
        let (key, value) = rest
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((rest, ""));
        return vec![(key.to_owned(), unquote(value.trim()))];
    }
    words
        .iter()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_owned(), unquote(v)))
        })
        .collect()
}

/// `ARG NAME[=default] …`.
fn arg_decls(rest: &str) -> Vec<(String, Option<String>)> {
    split_quoted(rest)
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(unquote(v))),
            None => (w, None),
        })
        .collect()
}

/// Words split at blanks outside quotes, quotes kept (for [`unquote`]).
fn split_quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (_, '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` from `vars`; unknown names become empty,
/// as the builder does.
pub fn substitute(s: &str, vars: &BTreeMap<String, String>) -> String {
    if !s.contains('$') {
        return s.to_owned();
    }
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if b[i] != b'$' {
            let ch = s[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        if b.get(i + 1) == Some(&b'{')
            && let Some(end) = s[i + 2..].find('}')
        {
            let inner = &s[i + 2..i + 2 + end];
            let (name, op, word) = match inner.find(":-").or_else(|| inner.find(":+")) {
                Some(at) => (&inner[..at], &inner[at..at + 2], &inner[at + 2..]),
                None => (inner, "", ""),
            };
            let value = vars.get(name).filter(|v| !v.is_empty());
            out.push_str(&match (op, value) {
                (":-", None) => word.to_owned(),
                (":+", Some(_)) => word.to_owned(),
                (":+", None) => String::new(),
                (_, v) => v.cloned().unwrap_or_default(),
            });
            i += 3 + end;
            continue;
        }
        let name: String = s[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            out.push('$');
            i += 1;
        } else {
            out.push_str(vars.get(&name).map_or("", String::as_str));
            i += 1 + name.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_instructions_and_forms() {
        let text = "\
# syntax=docker/dockerfile:1
ARG PY=3.11
FROM python:${PY}-slim AS base
ENV PYTHONUNBUFFERED=1 APP_HOME=/home/app \\
    FLASK_APP=backend.server
WORKDIR $APP_HOME
COPY --chmod=755 entrypoint.sh ./
COPY . .
RUN apt-get update \\
 # a comment inside the continuation
 && apt-get install -y curl
HEALTHCHECK --interval=5s CMD curl -f http://localhost:5000/health || exit 1
ENTRYPOINT [\"./entrypoint.sh\"]
CMD gunicorn -c gunicorn.conf.py app:app
";
        let d = parse(text, &[]);
        assert_eq!(d.stages.len(), 1);
        let s = &d.stages[0];
        assert_eq!((s.from.as_str(), s.from_line), ("python:3.11-slim", 3));
        assert_eq!(s.name.as_deref(), Some("base"));
        let kinds: Vec<&Kind> = s.instructions.iter().map(|i| &i.kind).collect();
        assert_eq!(
            kinds[0],
            &Kind::Env(vec![
                ("PYTHONUNBUFFERED".into(), "1".into()),
                ("APP_HOME".into(), "/home/app".into()),
                ("FLASK_APP".into(), "backend.server".into()),
            ])
        );
        assert_eq!(kinds[1], &Kind::Workdir("/home/app".into()));
        assert_eq!(
            kinds[2],
            &Kind::Copy(Copy {
                sources: vec!["entrypoint.sh".into()],
                dest: "./".into(),
                from: None,
                chmod: Some(0o755),
                add: false
            })
        );
        assert_eq!(
            kinds[4],
            &Kind::Run("apt-get update && apt-get install -y curl".into())
        );
        assert_eq!(s.instructions[4].line, 9);
        assert_eq!(
            kinds[5],
            &Kind::Healthcheck(vec![
                "CMD-SHELL".into(),
                "curl -f http://localhost:5000/health || exit 1".into()
            ])
        );
        assert_eq!(
            kinds[6],
            &Kind::Entrypoint(Command::Exec(vec!["./entrypoint.sh".into()]))
        );
        assert_eq!(
            Command::Shell("gunicorn app:app".into()).argv(),
            ["/bin/sh", "-c", "gunicorn app:app"]
        );
    }

    #[test]
    fn build_args_override_defaults_and_stages_are_found() {
        let text = "ARG PY=3.11\nFROM python:$PY AS build\nRUN make\nFROM debian:bookworm-slim\nCOPY --from=build /out /app\n";
        let d = parse(text, &[("PY".into(), Some("3.12".into()))]);
        assert_eq!(d.stages[0].from, "python:3.12");
        assert_eq!(d.stage("build").map(|(i, _)| i), Some(0));
        assert_eq!(d.stage("0").map(|(i, _)| i), Some(0));
        assert_eq!(d.final_stage(None).unwrap().from, "debian:bookworm-slim");
        assert_eq!(d.final_stage(Some("build")).unwrap().from, "python:3.12");
        let Kind::Copy(c) = &d.stages[1].instructions[0].kind else {
            panic!("copy")
        };
        assert_eq!(c.from.as_deref(), Some("build"));
    }

    #[test]
    fn substitution_like_the_builder() {
        let vars: BTreeMap<String, String> =
            [("A".to_owned(), "x".to_owned())].into_iter().collect();
        assert_eq!(
            substitute("$A/${A}/${B:-d}/${A:+y}/${B:+z}/\\$A", &vars),
            "x/x/d/y//$A"
        );
        assert_eq!(
            env_pairs("LEGACY some value"),
            [("LEGACY".into(), "some value".into())]
        );
        assert_eq!(
            env_pairs("A=\"two words\" B='$x'"),
            [("A".into(), "two words".into()), ("B".into(), "$x".into())]
        );
    }
}
