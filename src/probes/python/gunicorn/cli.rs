//! How the container starts gunicorn, read from its command line or its entrypoint script: the
//! options given on the command line and in `GUNICORN_CMD_ARGS` (kept apart, since they rank
//! differently), the directory the script `cd`s to before starting it (where gunicorn looks for
//! an implicit `gunicorn.conf.py`), and the environment it starts with; and the `flask <command>`
//! lines of the script (an entrypoint that runs `flask init-db` before gunicorn already
//! initialises once, so an app that also initialises in its workers does it once more each).
//!
//! Long options are matched as gunicorn's argparse parser matches them, unique prefixes included:
//! `--conf` is `--config`, `--work` is nothing (four options start so).
use super::super::WsgiTarget;
use super::super::shell::{self, Command, assignment};
use serde::Serialize;
use std::collections::HashMap;

/// How deep `sh -c "..."` strings are followed.
const MAX_NESTING: usize = 4;

/// A gunicorn invocation: what the command line and `GUNICORN_CMD_ARGS` say, without the config
/// file (see [`super::effective`] for the settings gunicorn ends up with).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gunicorn {
    /// The application target on the command line (`module:var`); `None` when only the config
    /// file's `wsgi_app` can name it.
    pub target: Option<WsgiTarget>,
    /// `-w`/`--workers`, else `WEB_CONCURRENCY`; `None` when neither is given (the config file
    /// may still set it).
    pub workers: Option<u32>,
    /// `--preload`: the app is imported once in the master, before forking.
    pub preload: bool,
    /// `-t`/`--timeout` in seconds.
    pub timeout_secs: Option<u32>,
    /// `--chdir`: the directory the target's module is imported from.
    pub chdir: Option<String>,
    /// `-c`/`--config` (command line first, then `GUNICORN_CMD_ARGS`).
    pub config: Option<String>,
    /// `-b`/`--bind` addresses (the command line's replace `GUNICORN_CMD_ARGS`').
    pub bind: Vec<String>,
    /// `-k`/`--worker-class`.
    pub worker_class: Option<String>,
    /// The script line it was read from; `None` when read from the container's argv.
    pub script_line: Option<u32>,
    /// The options of the command line itself.
    pub argv: CliOptions,
    /// The options of `GUNICORN_CMD_ARGS`.
    pub cmd_args: CliOptions,
    /// The directory the script changes to before starting gunicorn (`cd /app`), as written:
    /// relative to the container's working directory when not absolute. `None`: no `cd`.
    pub cwd: Option<String>,
    /// The environment gunicorn starts with, as far as it is known: the container's, the
    /// script's assignments and the command's own `NAME=value` prefixes. Never serialized: it
    /// holds secrets.
    #[serde(skip)]
    pub env: Vec<(String, String)>,
}

impl Gunicorn {
    /// The value of an environment variable gunicorn starts with.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A `flask <command>` run by a script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlaskCommand {
    /// The subcommand: `init-db`, `run`.
    pub command: String,
    /// 1-based script line.
    pub line: u32,
}

/// Long options of gunicorn 20–23 that take a value.
const VALUE_OPTIONS: &[&str] = &[
    "--config",
    "--bind",
    "--backlog",
    "--workers",
    "--worker-class",
    "--threads",
    "--worker-connections",
    "--max-requests",
    "--max-requests-jitter",
    "--timeout",
    "--graceful-timeout",
    "--keep-alive",
    "--limit-request-line",
    "--limit-request-fields",
    "--limit-request-field_size",
    "--reload-engine",
    "--reload-extra-file",
    "--chdir",
    "--env",
    "--pid",
    "--worker-tmp-dir",
    "--user",
    "--group",
    "--umask",
    "--forwarded-allow-ips",
    "--access-logfile",
    "--access-logformat",
    "--error-logfile",
    "--log-file",
    "--log-level",
    "--logger-class",
    "--log-config",
    "--log-config-json",
    "--log-syslog-to",
    "--log-syslog-prefix",
    "--log-syslog-facility",
    "--statsd-host",
    "--dogstatsd-tags",
    "--statsd-prefix",
    "--name",
    "--pythonpath",
    "--paste",
    "--paster",
    "--proxy-allow-from",
    "--keyfile",
    "--certfile",
    "--ssl-version",
    "--cert-reqs",
    "--ca-certs",
    "--ciphers",
    "--paste-global",
    "--forwarder-headers",
    "--header-map",
];

/// Long options of gunicorn 20–23 that take no value (they still count when an abbreviation
/// is matched: `--pre` is `--preload` only because no other option starts so).
const FLAG_OPTIONS: &[&str] = &[
    "--help",
    "--version",
    "--reload",
    "--spew",
    "--check-config",
    "--print-config",
    "--preload",
    "--no-sendfile",
    "--reuse-port",
    "--daemon",
    "--initgroups",
    "--disable-redirect-access-to-syslog",
    "--capture-output",
    "--log-syslog",
    "--enable-stdio-inheritance",
    "--proxy-protocol",
    "--suppress-ragged-eofs",
    "--do-handshake-on-connect",
    "--permit-obsolete-folding",
    "--strip-header-spaces",
    "--permit-unconventional-http-method",
    "--permit-unconventional-http-version",
    "--casefold-http-method",
];

/// Short options of gunicorn that take a value.
const SHORT_VALUE_OPTIONS: &str = "bcwktpugmen";

/// The long option `given` stands for: itself, or the one option it is a prefix of (argparse's
/// `allow_abbrev`). `None` when unknown or ambiguous.
fn long_option(given: &str) -> Option<&'static str> {
    let all = || VALUE_OPTIONS.iter().chain(FLAG_OPTIONS).copied();
    if let Some(exact) = all().find(|o| *o == given) {
        return Some(exact);
    }
    let mut candidates = all().filter(|o| o.starts_with(given));
    let first = candidates.next()?;
    candidates.next().is_none().then_some(first)
}

/// Read a gunicorn invocation from the container's argv (Entrypoint + Cmd) or, when argv does
/// not run gunicorn itself (`./entrypoint.sh`), from the script's text. `env` is the container's
/// environment (`GUNICORN_CMD_ARGS`, `WEB_CONCURRENCY`, and variables the script expands).
/// `None` when neither runs gunicorn.
pub fn gunicorn_invocation(
    argv: &[String],
    script: Option<&str>,
    env: &[(String, String)],
) -> Option<Gunicorn> {
    let mut vars: HashMap<String, String> = env.iter().cloned().collect();
    // Exec form: gunicorn may come after a wrapper or an entrypoint that ends in `exec "$@"`.
    for start in 0..argv.len() {
        let cmd = Command {
            words: argv[start..].to_vec(),
            line: 0,
        };
        let found = find_gunicorn(&cmd, &vars, &mut None, 0)
            // Past the first word, a bare `gunicorn` may be any argument of another program.
            .filter(|g| start == 0 || g.target.is_some() || g.config.is_some());
        if let Some(g) = found {
            return Some(Gunicorn {
                script_line: None,
                ..g
            });
        }
    }
    let script = script?;
    let commands = shell::commands(script, &mut vars);
    scan(&commands, &vars, &mut None, 0)
}

/// The first gunicorn of `commands`, following `cd`s on the way.
fn scan(
    commands: &[Command],
    vars: &HashMap<String, String>,
    cwd: &mut Option<String>,
    depth: usize,
) -> Option<Gunicorn> {
    for c in commands {
        let (words, _) = unwrap_command(&c.words);
        if words.first().is_some_and(|w| w == "cd") {
            change_dir(cwd, words.get(1).map(String::as_str));
            continue;
        }
        if let Some(g) = find_gunicorn(c, vars, cwd, depth) {
            return Some(g);
        }
    }
    None
}

/// `cd DIR`: where the shell is now. `cd`, `cd -` and `cd ~` lead somewhere this reading does
/// not know: forgotten.
fn change_dir(cwd: &mut Option<String>, dir: Option<&str>) {
    match dir {
        Some(d) if !d.is_empty() && !d.starts_with('-') && !d.starts_with('~') => {
            *cwd = Some(match cwd.as_deref() {
                Some(base) if !d.starts_with('/') => {
                    format!("{}/{d}", base.trim_end_matches('/'))
                }
                _ => d.to_owned(),
            });
        }
        _ => *cwd = None,
    }
}

/// The `flask <command>` lines of a script (`flask init-db`, `python3 -m flask init-db`).
pub fn script_runs_flask_command(script: &str) -> Vec<FlaskCommand> {
    let mut vars = HashMap::new();
    let mut out = Vec::new();
    for c in shell::commands(script, &mut vars) {
        flask_commands(&c, &vars, 0, &mut out);
    }
    out
}

/// What a command runs once wrappers are peeled off: the words from the program on, and the
/// `NAME=value` assignments in front of it.
fn unwrap_command(words: &[String]) -> (&[String], Vec<(String, String)>) {
    let mut rest = words;
    let mut env = Vec::new();
    loop {
        let Some(first) = rest.first() else {
            return (rest, env);
        };
        let prog = basename(first);
        if let Some((k, v)) = assignment(first) {
            env.push((k.to_owned(), v.to_owned()));
            rest = &rest[1..];
            continue;
        }
        match prog {
            "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "!" | "{" | "time"
            | "exec" | "command" | "nohup" | "builtin" => rest = &rest[1..],
            "env" => {
                rest = &rest[1..];
                while let Some(w) = rest.first() {
                    if w == "-u" || w == "--unset" {
                        rest = rest.get(2..).unwrap_or(&[]);
                    } else if w.starts_with('-') {
                        rest = &rest[1..];
                    } else {
                        break;
                    }
                }
            }
            "tini" | "dumb-init" => {
                rest = &rest[1..];
                while let Some(w) = rest.first() {
                    if w == "--" {
                        rest = &rest[1..];
                        break;
                    }
                    if !w.starts_with('-') {
                        break;
                    }
                    rest = &rest[1..];
                }
            }
            "gosu" | "su-exec" => rest = rest.get(2..).unwrap_or(&[]),
            "runuser" | "setpriv" => match rest.iter().position(|w| w == "--") {
                Some(i) => rest = &rest[i + 1..],
                None => return (&[], env),
            },
            _ => return (rest, env),
        }
    }
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn is_python(prog: &str) -> bool {
    let p = basename(prog);
    p == "python"
        || p.strip_prefix("python")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_shell(prog: &str) -> bool {
    matches!(basename(prog), "sh" | "bash" | "dash" | "ash" | "zsh")
}

/// For `python [opts] -m MODULE args...`: (MODULE, args).
fn python_module(words: &[String]) -> Option<(&str, &[String])> {
    let mut i = 1;
    while let Some(w) = words.get(i) {
        match w.as_str() {
            "-m" => {
                let m = words.get(i + 1)?;
                return Some((m.as_str(), &words[i + 2..]));
            }
            // `-c code`, a script path, or `-` end the interpreter's own options.
            "-c" | "-" => return None,
            // Options that take a value.
            "-W" | "-X" => i += 2,
            o if o.starts_with('-') => i += 1,
            _ => return None,
        }
    }
    None
}

/// `sh -c "string"` → the string.
fn shell_string(words: &[String]) -> Option<&str> {
    if !is_shell(words.first()?) {
        return None;
    }
    let i = words
        .iter()
        .position(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('c'))?;
    words.get(i + 1).map(String::as_str)
}

fn find_gunicorn(
    cmd: &Command,
    vars: &HashMap<String, String>,
    cwd: &mut Option<String>,
    depth: usize,
) -> Option<Gunicorn> {
    let (words, prefix_env) = unwrap_command(&cmd.words);
    let first = words.first()?;
    if let Some(inner) = shell_string(words) {
        if depth >= MAX_NESTING {
            return None;
        }
        let mut v = vars.clone();
        v.extend(prefix_env);
        let cmds = shell::commands(inner, &mut v);
        // A `cd` inside `sh -c` stays in that shell, which is the one that starts gunicorn.
        let mut inner_cwd = cwd.clone();
        return scan(&cmds, &v, &mut inner_cwd, depth + 1).map(|g| Gunicorn {
            script_line: Some(cmd.line),
            ..g
        });
    }
    let args: &[String] = if basename(first) == "gunicorn" {
        &words[1..]
    } else if is_python(first) {
        match python_module(words) {
            Some(("gunicorn" | "gunicorn.app.wsgiapp", args)) => args,
            _ => return None,
        }
    } else {
        return None;
    };
    let mut env: HashMap<String, String> = vars.clone();
    env.extend(prefix_env);
    let lookup = |name: &str| env.get(name).cloned();
    let cmd_args = lookup("GUNICORN_CMD_ARGS")
        .map(|extra| {
            let words: Vec<String> = shell::commands(&extra, &mut HashMap::new())
                .into_iter()
                .flat_map(|c| c.words)
                .collect();
            CliOptions::parse(&words)
        })
        .unwrap_or_default();
    let argv = CliOptions::parse(args);
    if argv.info_only {
        return None;
    }
    let workers = argv
        .workers
        .or(cmd_args.workers)
        .or_else(|| lookup("WEB_CONCURRENCY").and_then(|w| w.trim().parse().ok()));
    let target = argv.target().and_then(|t| WsgiTarget::parse(&t));
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    env.sort();
    Some(Gunicorn {
        target,
        workers,
        preload: argv.preload || cmd_args.preload,
        timeout_secs: argv.timeout.or(cmd_args.timeout),
        chdir: argv.chdir.clone().or_else(|| cmd_args.chdir.clone()),
        config: argv.config.clone().or_else(|| cmd_args.config.clone()),
        bind: if argv.bind.is_empty() {
            cmd_args.bind.clone()
        } else {
            argv.bind.clone()
        },
        worker_class: argv
            .worker_class
            .clone()
            .or_else(|| cmd_args.worker_class.clone()),
        script_line: Some(cmd.line),
        argv,
        cmd_args,
        cwd: cwd.clone(),
        env,
    })
}

/// The settings one list of gunicorn arguments gives (the command line, or
/// `GUNICORN_CMD_ARGS`). Numbers that do not parse are `None` (gunicorn would refuse them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CliOptions {
    pub workers: Option<u32>,
    pub threads: Option<u32>,
    pub timeout: Option<u32>,
    pub graceful_timeout: Option<u32>,
    /// `--preload` given.
    pub preload: bool,
    /// `--reload` given.
    pub reload: bool,
    pub chdir: Option<String>,
    pub config: Option<String>,
    /// Every `-b` (gunicorn appends them).
    pub bind: Vec<String>,
    pub worker_class: Option<String>,
    /// Every `-e NAME=value`.
    pub raw_env: Vec<String>,
    /// The arguments that are no option: the application target.
    pub positional: Vec<String>,
    /// `--version`, `--help`, `--check-config` or `--print-config`: gunicorn answers and exits,
    /// it serves nothing.
    pub info_only: bool,
}

impl CliOptions {
    fn parse(args: &[String]) -> CliOptions {
        let mut o = CliOptions::default();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            i += 1;
            if a == "--" {
                o.positional.extend(args[i..].iter().cloned());
                break;
            }
            let (name, value) = if let Some(long) = a.strip_prefix("--") {
                let (given, attached) = match long.split_once('=') {
                    Some((n, v)) => (format!("--{n}"), Some(v.to_owned())),
                    None => (format!("--{long}"), None),
                };
                let name = long_option(&given).unwrap_or("");
                let value = if VALUE_OPTIONS.contains(&name) && attached.is_none() {
                    let v = args.get(i).cloned();
                    i += 1;
                    v
                } else {
                    attached
                };
                (name, value)
            } else if a.len() > 1 && a.starts_with('-') {
                let mut chars = a[1..].chars();
                let c = chars.next().unwrap_or('-');
                let attached: String = chars.collect();
                let long = match c {
                    'b' => "--bind",
                    'c' => "--config",
                    'w' => "--workers",
                    'k' => "--worker-class",
                    't' => "--timeout",
                    'e' => "--env",
                    'v' => "--version",
                    'h' => "--help",
                    _ => "",
                };
                if SHORT_VALUE_OPTIONS.contains(c) {
                    let v = if attached.is_empty() {
                        let v = args.get(i).cloned();
                        i += 1;
                        v
                    } else {
                        Some(attached.trim_start_matches('=').to_owned())
                    };
                    (long, v)
                } else {
                    (long, None)
                }
            } else {
                o.positional.push(a.to_owned());
                continue;
            };
            let number = || value.as_deref().and_then(|v| v.trim().parse::<u32>().ok());
            match name {
                "--workers" => o.workers = number(),
                "--threads" => o.threads = number(),
                "--timeout" => o.timeout = number(),
                "--graceful-timeout" => o.graceful_timeout = number(),
                "--preload" => o.preload = true,
                "--reload" => o.reload = true,
                "--chdir" => o.chdir = value,
                "--config" => o.config = value,
                "--bind" => o.bind.extend(value),
                "--worker-class" => o.worker_class = value,
                "--env" => o.raw_env.extend(value),
                "--version" | "--help" | "--check-config" | "--print-config" => o.info_only = true,
                _ => {}
            }
        }
        o
    }

    /// The application target: the last positional argument that looks like `module:var`, else
    /// the last one.
    fn target(&self) -> Option<String> {
        self.positional
            .iter()
            .rev()
            .find(|p| p.contains(':'))
            .or(self.positional.last())
            .cloned()
    }
}

fn flask_commands(
    cmd: &Command,
    vars: &HashMap<String, String>,
    depth: usize,
    out: &mut Vec<FlaskCommand>,
) {
    let (words, _) = unwrap_command(&cmd.words);
    let Some(first) = words.first() else {
        return;
    };
    if let Some(inner) = shell_string(words) {
        if depth < MAX_NESTING {
            let mut v = vars.clone();
            for c in shell::commands(inner, &mut v) {
                let mut nested = Vec::new();
                flask_commands(&c, &v, depth + 1, &mut nested);
                out.extend(nested.into_iter().map(|f| FlaskCommand {
                    line: cmd.line,
                    ..f
                }));
            }
        }
        return;
    }
    let args: &[String] = if basename(first) == "flask" {
        &words[1..]
    } else if is_python(first) {
        match python_module(words) {
            Some(("flask", args)) => args,
            _ => return,
        }
    } else {
        return;
    };
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "--app" | "-A" | "--env-file" | "-e" => i += 2,
            o if o.starts_with('-') => i += 1,
            command => {
                out.push(FlaskCommand {
                    command: command.to_owned(),
                    line: cmd.line,
                });
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    const ENTRYPOINT: &str = include_str!("../../../../fixtures/app/entrypoint.sh");

    #[test]
    fn reads_the_lab_entrypoint() {
        let g = gunicorn_invocation(&argv("./entrypoint.sh"), Some(ENTRYPOINT), &[]).unwrap();
        assert_eq!(g.target, WsgiTarget::parse("server_v4_complete:app"));
        assert_eq!(g.workers, Some(3));
        assert!(!g.preload);
        assert_eq!(g.bind, ["0.0.0.0:5001"]);
        assert_eq!(g.script_line, Some(20));
        let flask = script_runs_flask_command(ENTRYPOINT);
        assert_eq!(
            flask,
            [FlaskCommand {
                command: "init-db".into(),
                line: 18
            }]
        );
    }

    #[test]
    fn option_spellings() {
        let g = gunicorn_invocation(
            &argv("python3 -m gunicorn --workers=5 --timeout 90 --preload --chdir /srv -c conf.py -k gevent -b:8000 wsgi"),
            None,
            &[],
        )
        .unwrap();
        let t = g.target.unwrap();
        assert_eq!(t.module, "wsgi");
        assert_eq!(t.var, "application");
        assert_eq!(g.workers, Some(5));
        assert_eq!(g.timeout_secs, Some(90));
        assert!(g.preload);
        assert_eq!(g.chdir.as_deref(), Some("/srv"));
        assert_eq!(g.config.as_deref(), Some("conf.py"));
        assert_eq!(g.worker_class.as_deref(), Some("gevent"));
        assert_eq!(g.bind, [":8000"]);
        assert_eq!(g.script_line, None);
        let g =
            gunicorn_invocation(&argv("gunicorn -w4 -t=20 app:create_app()"), None, &[]).unwrap();
        assert_eq!(g.workers, Some(4));
        assert_eq!(g.timeout_secs, Some(20));
        assert_eq!(g.target.unwrap().var, "create_app()");
    }

    #[test]
    fn env_and_wrappers() {
        let env = vec![
            (
                "GUNICORN_CMD_ARGS".to_owned(),
                "--workers 2 --preload".to_owned(),
            ),
            ("WEB_CONCURRENCY".to_owned(), "7".to_owned()),
        ];
        let g = gunicorn_invocation(&argv("tini -- gunicorn -w 3 app:app"), None, &env).unwrap();
        assert_eq!(
            g.workers,
            Some(3),
            "the command line wins over GUNICORN_CMD_ARGS"
        );
        assert!(g.preload);
        let g = gunicorn_invocation(&argv("gunicorn app:app"), None, &env[1..]).unwrap();
        assert_eq!(g.workers, Some(7));
        let g = gunicorn_invocation(&argv("/docker-entrypoint.sh gunicorn app:app"), None, &[])
            .unwrap();
        assert_eq!(g.target.unwrap().module, "app");
        let g = gunicorn_invocation(
            &[
                "sh".into(),
                "-c".into(),
                "cd /app && exec gunicorn -w ${WORKERS:-2} srv:app".into(),
            ],
            None,
            &[],
        )
        .unwrap();
        assert_eq!(g.workers, Some(2));
        assert_eq!(g.target.unwrap().module, "srv");
    }

    #[test]
    fn not_gunicorn() {
        assert_eq!(
            gunicorn_invocation(&argv("flask run --host 0.0.0.0"), None, &[]),
            None
        );
        assert_eq!(
            gunicorn_invocation(
                &argv("./start.sh"),
                Some("python3 -c 'import gunicorn'\necho gunicorn x:y\n"),
                &[]
            ),
            None
        );
        assert_eq!(gunicorn_invocation(&[], None, &[]), None);
    }

    #[test]
    fn flask_commands_in_many_forms() {
        let script = "\
#!/bin/sh
echo \"running flask init-db\"
FLASK_APP=server python3 -m flask --app server init-db
if ! flask db upgrade; then exit 1; fi
sh -c 'flask seed'
";
        let got: Vec<_> = script_runs_flask_command(script)
            .into_iter()
            .map(|f| (f.command, f.line))
            .collect();
        assert_eq!(
            got,
            [
                ("init-db".to_owned(), 3),
                ("db".to_owned(), 4),
                ("seed".to_owned(), 5)
            ]
        );
    }
}
