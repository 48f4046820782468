//! The script a container starts, and what its first bytes say about why it will not start.
//!
//! `exec ./entrypoint.sh: no such file or directory` for a file that is plainly there, `exec
//! format error`, `permission denied`: the kernel refused the script before it ran a line, and
//! the logs say nothing more. The cause is in the script's first bytes and mode bits — a `\r`
//! at the end of the `#!` line (a Windows checkout: the kernel looks for `/bin/sh\r`), a UTF-8
//! BOM before `#!`, no `#!` at all, no `x` bit. [`script_path`] finds which file the container
//! starts from its `Entrypoint`/`Cmd`; the caller reads it (through the archive endpoint, which
//! works on a container that never started) and [`inspect`] reads the facts off it.
//!
//! Both functions are pure: no Docker here.
use super::archive::join;
use crate::rules::{EntrypointExpectation, Expectation, ProbeSpec};

/// What the first bytes and the mode of a script say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptFacts {
    /// The first line ends in `\r\n`: the kernel reads the interpreter as `…\r`.
    pub crlf: bool,
    /// Lines of the head that end in `\r\n`.
    pub crlf_lines: usize,
    /// Starts with a UTF-8 byte-order mark (`EF BB BF`): the kernel does not see the `#!`.
    pub bom: bool,
    /// The `#!` line (after a BOM, if any), without its line ending; at most 256 bytes, as the
    /// kernel reads it.
    pub shebang: Option<String>,
    /// The program the kernel runs for the script (`/bin/sh`, `/usr/bin/env`), without a `\r`
    /// (see [`ScriptFacts::crlf`]).
    pub interpreter: Option<String>,
    /// The one argument the kernel passes after it, if any (`bash` in `#!/usr/bin/env bash`),
    /// without a `\r`.
    pub interpreter_arg: Option<String>,
    /// An ELF binary, not a script (no shebang expected).
    pub elf: bool,
    /// Any `x` bit in `mode`.
    pub executable: bool,
    /// The permission bits as given.
    pub mode: u32,
}

/// The kernel reads at most this much of a `#!` line (`BINPRM_BUF_SIZE` since Linux 5.1).
const SHEBANG_MAX: usize = 256;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Read the facts off a script's first bytes (`head`; a few KiB is plenty) and its mode bits.
pub fn inspect(head: &[u8], mode: u32) -> ScriptFacts {
    let bom = head.starts_with(BOM);
    let text = if bom { &head[BOM.len()..] } else { head };
    let first_end = text.iter().position(|&b| b == b'\n');
    let crlf = first_end.is_some_and(|i| i > 0 && text[i - 1] == b'\r');
    let crlf_lines = head.windows(2).filter(|w| w == b"\r\n").count();

    let (mut shebang, mut interpreter, mut interpreter_arg) = (None, None, None);
    if text.starts_with(b"#!") {
        let line = &text[..first_end.unwrap_or(text.len())];
        let line = &line[..line.len().min(SHEBANG_MAX)];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        shebang = Some(String::from_utf8_lossy(line).into_owned());
        // As the kernel's load_script: skip blanks, the interpreter runs to the next blank, the
        // rest (trimmed) is one argument.
        let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
        let rest = &line[2..];
        let start = rest.iter().position(|b| !is_blank(b)).unwrap_or(rest.len());
        let rest = &rest[start..];
        let end = rest.iter().position(is_blank).unwrap_or(rest.len());
        let (prog, arg) = rest.split_at(end);
        let arg_start = arg.iter().position(|b| !is_blank(b)).unwrap_or(arg.len());
        let arg_end = arg.iter().rposition(|b| !is_blank(b)).map_or(0, |i| i + 1);
        if !prog.is_empty() {
            interpreter = Some(String::from_utf8_lossy(prog).into_owned());
        }
        if arg_start < arg_end {
            interpreter_arg = Some(String::from_utf8_lossy(&arg[arg_start..arg_end]).into_owned());
        }
    }
    ScriptFacts {
        crlf,
        crlf_lines,
        bom,
        shebang,
        interpreter,
        interpreter_arg,
        elf: head.starts_with(b"\x7FELF"),
        executable: mode & 0o111 != 0,
        mode,
    }
}

/// Programs that start the real command after their own options: `tini -- ./entrypoint.sh`.
const INIT_WRAPPERS: [&str; 4] = ["tini", "tini-static", "dumb-init", "docker-init"];
/// Options of those wrappers that take a value (`dumb-init --rewrite 15:2`, `tini -e 143`).
const WRAPPER_VALUE_OPTIONS: [&str; 4] = ["-r", "--rewrite", "-e", "-p"];
/// Programs that take a user, then the command: `gosu app ./entrypoint.sh`.
const USER_WRAPPERS: [&str; 2] = ["gosu", "su-exec"];
const SHELLS: [&str; 5] = ["sh", "bash", "dash", "ash", "zsh"];
/// `sh -c "sh -c '…'"` nests; a real command line does not nest deeper than this.
const MAX_NESTING: usize = 4;

/// The script a container starts, as an absolute path in the container, when its command
/// (`entrypoint` then `cmd`, as Docker joins them) starts with a path rather than a program on
/// PATH: `./entrypoint.sh` and `entrypoint.sh` are resolved against `working_dir` (`/` when
/// empty), `/docker-entrypoint.sh` is kept. `sh x.sh` / `bash -e x.sh` give `x.sh`; `sh -c
/// "exec ./x.sh"` gives `./x.sh`; init wrappers (`tini --`, `dumb-init`, `gosu user`, `env
/// A=b`) are looked through.
///
/// A bare name is taken for a script only when it ends in `.sh` or `.bash`. Note that runc
/// itself looks a bare name up on PATH, not in the working directory: when the file is absent
/// there, [`super::archive::which`] may find it (`/usr/local/bin/entrypoint.sh`).
pub fn script_path(entrypoint: &[String], cmd: &[String], working_dir: &str) -> Option<String> {
    let argv: Vec<String> = entrypoint.iter().chain(cmd).cloned().collect();
    let base = if working_dir.is_empty() {
        "/"
    } else {
        working_dir
    };
    script_in(&argv, base, 0)
}

fn script_in(argv: &[String], base: &str, depth: usize) -> Option<String> {
    let words = skip_wrappers(argv);
    let first = words.first()?;
    let name = first.rsplit('/').next().unwrap_or(first);
    if SHELLS.contains(&name) {
        return shell_script(&words[1..], base, depth);
    }
    let is_path = first.contains('/');
    let is_script_name = first.ends_with(".sh") || first.ends_with(".bash");
    (is_path || is_script_name).then(|| join(base, first))
}

/// What a shell runs: `-c SCRIPT`'s first command, else its first operand (a script file).
fn shell_script(args: &[String], base: &str, depth: usize) -> Option<String> {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            i += 1;
            break;
        }
        let Some(flags) = arg.strip_prefix('-').or_else(|| arg.strip_prefix('+')) else {
            break;
        };
        if flags.contains('c') && arg.starts_with('-') {
            if depth >= MAX_NESTING {
                return None;
            }
            let words = shell_words(args.get(i + 1)?);
            let end = words.iter().position(|w| is_separator(w));
            let first_command: Vec<String> = words[..end.unwrap_or(words.len())]
                .iter()
                .skip_while(|w| *w == "exec" || is_assignment(w))
                .cloned()
                .collect();
            return script_in(&first_command, base, depth + 1);
        }
        // `-o name` / `+o name` take the option name as the next word.
        if flags == "o" {
            i += 1;
        }
        i += 1;
    }
    args.get(i).map(|script| join(base, script))
}

/// The command after `tini --`, `dumb-init`, `gosu user`, `env A=b`, in any nesting.
fn skip_wrappers(argv: &[String]) -> Vec<String> {
    let mut words = argv;
    for _ in 0..MAX_NESTING {
        let Some(first) = words.first() else { break };
        let name = first.rsplit('/').next().unwrap_or(first);
        let rest = &words[1..];
        if INIT_WRAPPERS.contains(&name) {
            let mut i = 0;
            while let Some(w) = rest.get(i) {
                if w == "--" {
                    i += 1;
                    break;
                }
                if !w.starts_with('-') {
                    break;
                }
                i += if WRAPPER_VALUE_OPTIONS.contains(&w.as_str()) {
                    2
                } else {
                    1
                };
            }
            words = &rest[i.min(rest.len())..];
        } else if USER_WRAPPERS.contains(&name) {
            words = rest.get(1..).unwrap_or(&[]);
        } else if name == "env" {
            let skip = rest
                .iter()
                .position(|w| !w.starts_with('-') && !is_assignment(w))
                .unwrap_or(rest.len());
            words = &rest[skip..];
        } else {
            break;
        }
    }
    words.to_vec()
}

/// `NAME=value`, as the shell and `env` read it before a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// A word [`shell_words`] makes of a command separator.
pub(crate) fn is_separator(word: &str) -> bool {
    matches!(word, ";" | "&&" | "||" | "|" | "&" | "\n")
}

/// Split a shell script into words: quotes and backslashes as the shell reads them; `;`, `&&`,
/// `||`, `|`, `&` and newlines become words of their own (see [`is_separator`]). Enough to find
/// the program and options of a `sh -c "…"` command; not a shell (no expansions).
pub(crate) fn shell_words(script: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next().filter(|&n| n != '\n') {
                    cur.push(n);
                }
            }
            ';' | '&' | '|' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                let mut sep = c.to_string();
                if (c == '&' || c == '|') && chars.peek() == Some(&c) {
                    sep.push(c);
                    chars.next();
                }
                words.push(sep);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The bytes read from the start of a script: enough for the `#!` line and a few more.
const SCRIPT_HEAD: usize = 4096;

/// Judge every `entrypoint` spec for `ctx.container`: read the script it starts from the
/// container's filesystem through the archive endpoint (works on a container that never started,
/// where exec is impossible) and look at its bytes and mode.
pub async fn probe(
    expects: &[EntrypointExpectation],
    ctx: &super::Ctx<'_>,
) -> Vec<super::ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    use super::ProbeResult;
    use super::archive::{self, ArchiveError, Entry};
    use crate::rules::ProbeSpec;

    let c = ctx.container;
    let all = |outcome: &dyn Fn(&ProbeSpec) -> ProbeResult| specs.iter().map(outcome).collect();
    let Some(path) = script_path(&c.entrypoint, &c.command, &c.working_dir) else {
        return all(&|s| ProbeResult::unknown(s, format!("{} starts no script", c.name), &[]));
    };
    let docker = match ctx.docker() {
        Ok(d) => d,
        Err(why) => return all(&|s| ProbeResult::unknown(s, why.to_string(), &[])),
    };
    let t = ctx.opts.timeout;
    let mut read = archive::read(docker, &c.id, &path, SCRIPT_HEAD, t).await;
    if matches!(read, Err(ArchiveError::Absent(_))) {
        // runc looks a bare name up on PATH.
        let bare = c
            .entrypoint
            .first()
            .or(c.command.first())
            .filter(|a| !a.contains('/'));
        if let Some(name) = bare {
            let path_var = c
                .env
                .iter()
                .find(|v| v.name == "PATH")
                .map(|v| v.value.as_str());
            if let Ok(Some(found)) = archive::which(docker, &c.id, name, path_var, t).await {
                read = archive::read(docker, &c.id, &found, SCRIPT_HEAD, t).await;
            }
        }
    }
    let (path, facts) = match read {
        Ok(Entry::File {
            path, mode, head, ..
        }) => (path, inspect(&head, mode)),
        Ok(other) => {
            let why = format!("{} is not a regular file", other.path());
            return all(&|s| ProbeResult::unknown(s, why.clone(), &[]));
        }
        Err(e) => {
            let why = format!("{path}: {e}");
            return all(&|s| ProbeResult::unknown(s, why.clone(), &[]));
        }
    };
    judge(expects, &path, &facts)
}

/// Judge every `entrypoint` spec on the facts of the script at `path` (as the image holds it, or
/// as a build would copy it): pure, so the live probe and pre-flight give the same answers.
pub fn judge(
    expects: &[EntrypointExpectation],
    path: &str,
    facts: &ScriptFacts,
) -> Vec<super::ProbeResult> {
    use super::{Outcome, ProbeResult};
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    let described = vec![format!(
        "{path}: mode {:04o}, first line {}{}{}",
        facts.mode & 0o7777,
        facts
            .shebang
            .as_deref()
            .map(|s| format!("`{}`", s.trim_end_matches('\r')))
            .unwrap_or_else(|| "without #!".into()),
        if facts.crlf {
            format!(", CR LF line ends ({} lines)", facts.crlf_lines)
        } else {
            String::new()
        },
        if facts.bom { ", UTF-8 BOM" } else { "" },
    )];
    specs.iter().zip(expects).map(|(spec, expect)| {
        let (holds, yes, no) = match expect {
            EntrypointExpectation::Crlf => (
                facts.crlf,
                "its first line ends in CR LF: the kernel looks for an interpreter named `…\\r`",
                "its first line ends in LF",
            ),
            EntrypointExpectation::NotExecutable => (
                !facts.executable,
                "it has no execute bit",
                "it is executable",
            ),
            EntrypointExpectation::Bom => (
                facts.bom,
                "it starts with a UTF-8 BOM before `#!`",
                "it has no BOM",
            ),
            EntrypointExpectation::NoShebang => (
                facts.shebang.is_none() && !facts.elf,
                "it has no `#!` line",
                "it starts with `#!` (or is a binary)",
            ),
            EntrypointExpectation::BadFirstBytes => {
                let bad = facts.bom || (facts.shebang.is_none() && !facts.elf);
                if !bad {
                    return ProbeResult::unknown(
                        spec,
                        format!(
                            "{path} starts with `#!` (or is a binary): the image may be built for another platform"
                        ),
                        &described,
                    )
                    .with("path", path.to_owned());
                }
                (
                    true,
                    if facts.bom {
                        "it starts with a UTF-8 BOM: the kernel does not see its `#!`"
                    } else {
                        "it has no `#!` line: the kernel does not know how to run it"
                    },
                    "",
                )
            }
        };
        ProbeResult::new(
            spec,
            Outcome::of(holds),
            format!("{path}: {}", if holds { yes } else { no }),
            &described,
        )
        .with("path", path.to_owned())
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_clean_script() {
        let f = inspect(b"#!/bin/sh\nset -e\nexec gunicorn app:app\n", 0o755);
        assert_eq!(
            f,
            ScriptFacts {
                crlf: false,
                crlf_lines: 0,
                bom: false,
                shebang: Some("#!/bin/sh".into()),
                interpreter: Some("/bin/sh".into()),
                interpreter_arg: None,
                elf: false,
                executable: true,
                mode: 0o755,
            }
        );
    }

    #[test]
    fn a_windows_checkout() {
        let f = inspect(b"#!/bin/sh\r\nset -e\r\nexec gunicorn app:app\r\n", 0o755);
        assert!(f.crlf);
        assert_eq!(f.crlf_lines, 3);
        assert_eq!(f.interpreter.as_deref(), Some("/bin/sh"));
        assert_eq!(f.shebang.as_deref(), Some("#!/bin/sh"));

        let f = inspect(b"#!/usr/bin/env bash\r\necho hi\n", 0o755);
        assert!(f.crlf);
        assert_eq!(f.crlf_lines, 1);
        assert_eq!(f.interpreter.as_deref(), Some("/usr/bin/env"));
        assert_eq!(f.interpreter_arg.as_deref(), Some("bash"));
    }

    #[test]
    fn only_later_lines_in_crlf_is_not_a_crlf_shebang() {
        let f = inspect(b"#!/bin/sh\necho a\r\necho b\r\n", 0o755);
        assert!(!f.crlf);
        assert_eq!(f.crlf_lines, 2);
    }

    #[test]
    fn bom_no_shebang_elf_and_mode() {
        let f = inspect(b"\xEF\xBB\xBF#!/bin/sh\nexit 0\n", 0o644);
        assert!(f.bom);
        assert_eq!(f.shebang.as_deref(), Some("#!/bin/sh"));
        assert!(!f.executable);

        let f = inspect(b"set -e\nexec gunicorn app:app\n", 0o700);
        assert_eq!((f.shebang, f.interpreter), (None, None));
        assert!(f.executable);
        assert!(!f.elf);

        let f = inspect(b"\x7FELF\x02\x01\x01\0", 0o755);
        assert!(f.elf);
        assert_eq!(f.shebang, None);

        assert!(inspect(b"", 0o010).executable, "any x bit counts");
        assert!(!inspect(b"", 0o666).executable);
    }

    #[test]
    fn shebang_spacing_and_arguments() {
        let f = inspect(b"#! \t/usr/bin/python3 -u -B  \nprint(1)\n", 0o755);
        assert_eq!(f.interpreter.as_deref(), Some("/usr/bin/python3"));
        assert_eq!(f.interpreter_arg.as_deref(), Some("-u -B"));
        let f = inspect(b"#!\n", 0o755);
        assert_eq!(f.shebang.as_deref(), Some("#!"));
        assert_eq!(f.interpreter, None);
        // A head that ends inside the first line.
        let f = inspect(b"#!/bin/ba", 0o755);
        assert_eq!(f.interpreter.as_deref(), Some("/bin/ba"));
        assert!(!f.crlf);
    }

    #[test]
    fn script_paths_from_entrypoint_and_cmd() {
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a str, Option<&'a str>);
        let cases: [Case; 8] = [
            (
                &["./entrypoint.sh"],
                &[],
                "/app",
                Some("/app/entrypoint.sh"),
            ),
            (
                &[],
                &["./entrypoint.sh", "web"],
                "/app",
                Some("/app/entrypoint.sh"),
            ),
            (
                &["/docker-entrypoint.sh"],
                &["postgres"],
                "/",
                Some("/docker-entrypoint.sh"),
            ),
            (&["entrypoint.sh"], &[], "/app/", Some("/app/entrypoint.sh")),
            (&["bin/../start.sh"], &[], "", Some("/start.sh")),
            (
                &[],
                &["gunicorn", "-b", "0.0.0.0:5000", "app:app"],
                "/app",
                None,
            ),
            (&[], &["celery", "-A", "tasks", "worker"], "/app", None),
            (&[], &[], "/app", None),
        ];
        for (ep, cmd, wd, want) in cases {
            assert_eq!(
                script_path(&s(ep), &s(cmd), wd).as_deref(),
                want,
                "{ep:?} {cmd:?} in {wd}"
            );
        }
    }

    #[test]
    fn script_paths_through_shells_and_wrappers() {
        let cases: [(&[&str], &[&str], Option<&str>); 9] = [
            (&["sh", "entrypoint.sh"], &[], Some("/app/entrypoint.sh")),
            (
                &["/bin/bash", "-e", "-o", "pipefail", "./run.sh"],
                &[],
                Some("/app/run.sh"),
            ),
            (
                &["sh", "-c", "exec ./entrypoint.sh \"$@\"", "--"],
                &[],
                Some("/app/entrypoint.sh"),
            ),
            (
                &["sh", "-ec", "A=1 ./boot.sh && gunicorn app:app"],
                &[],
                Some("/app/boot.sh"),
            ),
            (&["sh", "-c", "gunicorn app:app"], &[], None),
            (
                &["/usr/bin/tini", "--"],
                &["./entrypoint.sh"],
                Some("/app/entrypoint.sh"),
            ),
            (
                &["dumb-init", "--rewrite", "15:2"],
                &["/start.sh"],
                Some("/start.sh"),
            ),
            (
                &["gosu", "app", "./entrypoint.sh"],
                &[],
                Some("/app/entrypoint.sh"),
            ),
            (&["env", "-i", "A=b", "bash", "/x.sh"], &[], Some("/x.sh")),
        ];
        for (ep, cmd, want) in cases {
            assert_eq!(
                script_path(&s(ep), &s(cmd), "/app").as_deref(),
                want,
                "{ep:?} {cmd:?}"
            );
        }
        // An interactive shell starts no script.
        assert_eq!(script_path(&s(&["bash"]), &[], "/app"), None);
    }

    #[test]
    fn shell_words_split_like_a_shell() {
        assert_eq!(
            shell_words(r#"a 'b c' "d \"e\"" f\ g;h&&i|j"#),
            s(&["a", "b c", "d \"e\"", "f g", ";", "h", "&&", "i", "|", "j"])
        );
    }
}
