//! The settings gunicorn ends up with, each with where it came from.
//!
//! gunicorn 20–23 (`gunicorn/app/base.py`, `Application.load_config`) layers its settings:
//! defaults (`WEB_CONCURRENCY` is the default of `workers`, `PORT` of `bind`), then the config
//! file, then `GUNICORN_CMD_ARGS`, then the command line — each layer replacing a setting
//! entirely (three `-b` on the command line replace the file's whole `bind` list). The config
//! file is the command line's `-c`, else `GUNICORN_CMD_ARGS`' `-c`, else `gunicorn.conf.py` in
//! the directory gunicorn starts in, which it loads on its own. `-c` takes a path (relative to
//! that directory), `file:PATH`, or `python:MODULE`. `--chdir` is applied after the file is
//! loaded, so it never decides where the file is.
//!
//! [`Effective`] answers "how many workers, which class, preloaded or not, bound where, killed
//! after how long" with the place each answer came from, so a report can say "workers = 3 from
//! backend/config/gunicorn.conf.py:4" instead of guessing gunicorn's default.
use super::super::{Location, WsgiTarget};
use super::cli::Gunicorn;
use super::config::{ConfigFile, EnvRead, HookDef, Misnamed, Py, Value};
use crate::stack::archive::join;
use serde::Serialize;
use std::fmt;

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "from")]
pub enum Origin {
    /// gunicorn's built-in default.
    Default,
    /// An environment variable gunicorn takes as the default (`WEB_CONCURRENCY`, `PORT`).
    EnvDefault { var: String },
    /// A module-level assignment of the config file, and the variables its value reads.
    ConfigFile { at: Location, reads: Vec<EnvRead> },
    /// `GUNICORN_CMD_ARGS` in the environment.
    CmdArgs,
    /// The command line; where in the entrypoint script when it was read there.
    CommandLine { at: Option<Location> },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "gunicorn's default"),
            Origin::EnvDefault { var } => write!(f, "{var} in the environment"),
            Origin::ConfigFile { at, reads } => {
                write!(f, "{at}")?;
                for r in reads {
                    if r.set {
                        write!(f, ", from {}", r.name)?;
                    } else {
                        write!(f, ", {} unset", r.name)?;
                    }
                }
                Ok(())
            }
            Origin::CmdArgs => write!(f, "GUNICORN_CMD_ARGS"),
            Origin::CommandLine { at: Some(at) } => write!(f, "the command line at {at}"),
            Origin::CommandLine { at: None } => write!(f, "the command line"),
        }
    }
}

/// One setting: its value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    pub value: Value<T>,
    pub from: Origin,
}

impl<T: Shown> Setting<T> {
    fn new(value: T, from: Origin) -> Setting<T> {
        Setting {
            value: Value::Known { value },
            from,
        }
    }

    pub fn known(&self) -> Option<&T> {
        self.value.known()
    }

    /// `workers = 3 (from /app/gunicorn.conf.py:4)`; a computed value shows its expression and
    /// why it is not known here.
    pub fn describe(&self, name: &str) -> String {
        match &self.value {
            Value::Known { value } => format!("{name} = {} (from {})", value.shown(), self.from),
            Value::Unknown { expr, why } => {
                format!("{name} = `{expr}` (from {}; {why})", self.from)
            }
        }
    }

    /// The value as shown (the expression when computed).
    pub fn shown(&self) -> String {
        match &self.value {
            Value::Known { value } => value.shown(),
            Value::Unknown { expr, .. } => format!("`{expr}`"),
        }
    }
}

/// A setting's value as a person reads it.
pub trait Shown {
    fn shown(&self) -> String;
}

impl Shown for u32 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for bool {
    fn shown(&self) -> String {
        if *self { "True" } else { "False" }.into()
    }
}

impl Shown for String {
    fn shown(&self) -> String {
        self.clone()
    }
}

impl Shown for Vec<String> {
    fn shown(&self) -> String {
        self.join(", ")
    }
}

impl Shown for WsgiTarget {
    fn shown(&self) -> String {
        format!("{}:{}", self.module, self.var)
    }
}

/// Which layer named the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigChoice {
    /// `-c`/`--config` on the command line.
    CommandLine,
    /// `-c` in `GUNICORN_CMD_ARGS`.
    CmdArgs,
    /// No `-c`: `gunicorn.conf.py` in the directory gunicorn starts in, if it exists.
    Implicit,
}

/// Where the config file is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ConfigSource {
    /// A file, by absolute path in the image.
    File { path: String },
    /// `python:MODULE`: a module imported from the directory gunicorn starts in.
    Module { name: String },
}

/// The config file gunicorn loads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigRef {
    /// As written (`backend/config/gunicorn.conf.py`, `python:conf`); `gunicorn.conf.py` when
    /// implicit.
    pub spec: String,
    pub chosen_by: ConfigChoice,
    pub source: ConfigSource,
}

impl fmt::Display for ConfigRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            ConfigSource::File { path } => write!(f, "{path}")?,
            ConfigSource::Module { name } => write!(f, "python:{name}")?,
        }
        match self.chosen_by {
            ConfigChoice::CommandLine => write!(f, " (-c on the command line)"),
            ConfigChoice::CmdArgs => write!(f, " (-c in GUNICORN_CMD_ARGS)"),
            ConfigChoice::Implicit => write!(f, " (found in gunicorn's working directory)"),
        }
    }
}

/// The directory gunicorn starts in: the script's `cd`, else the container's working
/// directory.
pub fn start_dir(g: &Gunicorn, working_dir: &str) -> String {
    let base = if working_dir.trim().is_empty() {
        "/"
    } else {
        working_dir
    };
    join(base, g.cwd.as_deref().unwrap_or("."))
}

/// The config file gunicorn loads (when no `-c` is given, the implicit one, which exists or
/// not).
pub fn config_location(g: &Gunicorn, working_dir: &str) -> ConfigRef {
    let cwd = start_dir(g, working_dir);
    let (spec, chosen_by) = match (&g.argv.config, &g.cmd_args.config) {
        (Some(c), _) => (c.clone(), ConfigChoice::CommandLine),
        (None, Some(c)) => (c.clone(), ConfigChoice::CmdArgs),
        (None, None) => ("gunicorn.conf.py".to_owned(), ConfigChoice::Implicit),
    };
    let source = match spec.strip_prefix("python:") {
        Some(name) => ConfigSource::Module {
            name: name.to_owned(),
        },
        None => ConfigSource::File {
            path: join(&cwd, spec.strip_prefix("file:").unwrap_or(&spec)),
        },
    };
    ConfigRef {
        spec,
        chosen_by,
        source,
    }
}

/// The settings gunicorn runs with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// The application: the command line's target, else the config file's `wsgi_app`.
    pub target: Option<Setting<WsgiTarget>>,
    pub workers: Setting<u32>,
    pub worker_class: Setting<String>,
    pub threads: Setting<u32>,
    pub preload: Setting<bool>,
    pub bind: Setting<Vec<String>>,
    pub timeout: Setting<u32>,
    pub graceful_timeout: Setting<u32>,
    pub chdir: Setting<String>,
    pub raw_env: Setting<Vec<String>>,
    pub reload: Setting<bool>,
    /// The config file gunicorn loaded, when there is one.
    pub config: Option<ConfigRef>,
    /// The server hooks the config file defines.
    pub hooks: Vec<HookDef>,
    /// Names of the config file gunicorn ignores though they read like settings.
    pub misnamed: Vec<Misnamed>,
}

impl Effective {
    /// The worker class gunicorn runs: `sync` with more than one thread is `gthread`.
    pub fn worker_class_runs(&self) -> Option<String> {
        let class = self.worker_class.known()?;
        let sync = class == "sync" || class.ends_with("SyncWorker");
        match self.threads.known() {
            Some(t) if sync && *t > 1 => Some("gthread".into()),
            _ => Some(class.clone()),
        }
    }

    /// Whether the worker class keeps telling the master it is alive while it serves a
    /// request (every class but `sync`): a timeout long after boot then means a blocked
    /// worker, not a slow request.
    pub fn async_workers(&self) -> Option<bool> {
        self.worker_class_runs().map(|c| {
            let c = c.to_lowercase();
            !(c == "sync" || c.ends_with("syncworker"))
        })
    }

    /// The TCP ports of the binds (`unix:` sockets and `fd://` have none).
    pub fn ports(&self) -> Option<Vec<u16>> {
        self.bind
            .known()
            .map(|b| b.iter().filter_map(|a| bind_port(a)).collect())
    }
}

/// Layer the settings as gunicorn does. `config` is the file gunicorn loads with what it sets;
/// `script` the entrypoint script's path (for the command line's place); `working_dir` the
/// container's.
pub fn effective(
    g: &Gunicorn,
    config: Option<(&ConfigRef, &ConfigFile)>,
    script: Option<&str>,
    working_dir: &str,
) -> Effective {
    let file = config.map(|(_, f)| f);
    let cli = Origin::CommandLine {
        at: match (script, g.script_line) {
            (Some(path), Some(line)) if line > 0 => Some(Location {
                file: path.to_owned(),
                line,
            }),
            _ => None,
        },
    };
    let from_file = |name: &str| {
        file.and_then(|f| f.setting(name)).map(|s| {
            (
                &s.value,
                Origin::ConfigFile {
                    at: s.at.clone(),
                    reads: s.reads.clone(),
                },
            )
        })
    };
    // default < file < GUNICORN_CMD_ARGS < command line, for one setting.
    fn layer<T: Shown + Clone>(
        default: Setting<T>,
        file: Option<(&Value<Py>, Origin)>,
        convert: fn(&Py) -> Result<T, String>,
        cmd_args: Option<T>,
        argv: Option<T>,
        cli: &Origin,
    ) -> Setting<T> {
        let mut s = default;
        if let Some((value, from)) = file {
            s = Setting {
                value: match value {
                    Value::Known { value } => match convert(value) {
                        Ok(v) => Value::Known { value: v },
                        Err(why) => Value::Unknown {
                            expr: value_text(value),
                            why,
                        },
                    },
                    Value::Unknown { expr, why } => Value::Unknown {
                        expr: expr.clone(),
                        why: why.clone(),
                    },
                },
                from,
            };
        }
        if let Some(v) = cmd_args {
            s = Setting::new(v, Origin::CmdArgs);
        }
        if let Some(v) = argv {
            s = Setting::new(v, cli.clone());
        }
        s
    }
    let nonempty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let flag = |b: bool| b.then_some(true);

    let workers_default = match g.env_var("WEB_CONCURRENCY") {
        Some(w) => match w.trim().parse::<u32>() {
            Ok(n) => Setting::new(
                n,
                Origin::EnvDefault {
                    var: "WEB_CONCURRENCY".into(),
                },
            ),
            Err(_) => Setting {
                value: Value::Unknown {
                    expr: w.to_owned(),
                    why: "WEB_CONCURRENCY is not a whole number: gunicorn refuses to start".into(),
                },
                from: Origin::EnvDefault {
                    var: "WEB_CONCURRENCY".into(),
                },
            },
        },
        None => Setting::new(1, Origin::Default),
    };
    let bind_default = match g.env_var("PORT") {
        Some(port) => Setting::new(
            vec![format!("0.0.0.0:{port}")],
            Origin::EnvDefault { var: "PORT".into() },
        ),
        None => Setting::new(vec!["127.0.0.1:8000".to_owned()], Origin::Default),
    };
    let cwd = start_dir(g, working_dir);
    let target = match &g.target {
        Some(t) => Some(Setting::new(t.clone(), cli.clone())),
        None => from_file("wsgi_app").map(|(value, from)| Setting {
            value: match value {
                Value::Known {
                    value: Py::Str(spec),
                } => match WsgiTarget::parse(spec) {
                    Some(t) => Value::Known { value: t },
                    None => Value::Unknown {
                        expr: spec.clone(),
                        why: "not a module:variable".into(),
                    },
                },
                Value::Known { value } => Value::Unknown {
                    expr: value_text(value),
                    why: "not a string".into(),
                },
                Value::Unknown { expr, why } => Value::Unknown {
                    expr: expr.clone(),
                    why: why.clone(),
                },
            },
            from,
        }),
    };
    Effective {
        target,
        workers: layer(
            workers_default,
            from_file("workers"),
            to_u32,
            g.cmd_args.workers,
            g.argv.workers,
            &cli,
        ),
        worker_class: layer(
            Setting::new("sync".to_owned(), Origin::Default),
            from_file("worker_class"),
            to_class,
            g.cmd_args.worker_class.clone(),
            g.argv.worker_class.clone(),
            &cli,
        ),
        threads: layer(
            Setting::new(1, Origin::Default),
            from_file("threads"),
            to_u32,
            g.cmd_args.threads,
            g.argv.threads,
            &cli,
        ),
        preload: layer(
            Setting::new(false, Origin::Default),
            from_file("preload_app"),
            to_bool,
            flag(g.cmd_args.preload),
            flag(g.argv.preload),
            &cli,
        ),
        bind: layer(
            bind_default,
            from_file("bind"),
            to_list,
            nonempty(&g.cmd_args.bind),
            nonempty(&g.argv.bind),
            &cli,
        ),
        timeout: layer(
            Setting::new(30, Origin::Default),
            from_file("timeout"),
            to_u32,
            g.cmd_args.timeout,
            g.argv.timeout,
            &cli,
        ),
        graceful_timeout: layer(
            Setting::new(30, Origin::Default),
            from_file("graceful_timeout"),
            to_u32,
            g.cmd_args.graceful_timeout,
            g.argv.graceful_timeout,
            &cli,
        ),
        chdir: layer(
            Setting::new(cwd.clone(), Origin::Default),
            from_file("chdir"),
            |p| to_string(p).map(|d| d.to_owned()),
            g.cmd_args.chdir.clone(),
            g.argv.chdir.clone(),
            &cli,
        )
        .resolved_against(&cwd),
        raw_env: layer(
            Setting::new(Vec::new(), Origin::Default),
            from_file("raw_env"),
            to_list,
            nonempty(&g.cmd_args.raw_env),
            nonempty(&g.argv.raw_env),
            &cli,
        ),
        reload: layer(
            Setting::new(false, Origin::Default),
            from_file("reload"),
            to_bool,
            flag(g.cmd_args.reload),
            flag(g.argv.reload),
            &cli,
        ),
        config: config.map(|(r, _)| r.clone()),
        hooks: file.map(|f| f.hooks.clone()).unwrap_or_default(),
        misnamed: file.map(|f| f.misnamed.clone()).unwrap_or_default(),
    }
}

impl Setting<String> {
    /// A relative `chdir` is relative to where gunicorn starts.
    fn resolved_against(mut self, cwd: &str) -> Setting<String> {
        if let Value::Known { value } = &mut self.value {
            *value = join(cwd, value);
        }
        self
    }
}

fn value_text(v: &Py) -> String {
    match v {
        Py::Str(s) => format!("{s:?}"),
        Py::None => "None".into(),
        Py::Bool(b) => if *b { "True" } else { "False" }.into(),
        Py::Int(i) => i.to_string(),
        Py::List(l) => format!(
            "[{}]",
            l.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        Py::Object(p) => p.clone(),
    }
}

/// gunicorn's `validate_pos_int`.
fn to_u32(v: &Py) -> Result<u32, String> {
    let n = match v {
        Py::Int(i) => *i,
        Py::Bool(b) => *b as i64,
        Py::Str(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| "not a whole number: gunicorn refuses to start".to_owned())?,
        _ => return Err("not a whole number: gunicorn refuses to start".into()),
    };
    u32::try_from(n).map_err(|_| "negative or too large: gunicorn refuses to start".into())
}

/// gunicorn's `validate_bool`.
fn to_bool(v: &Py) -> Result<bool, String> {
    match v {
        Py::Bool(b) => Ok(*b),
        Py::Str(s) => match s.trim().to_lowercase().as_str() {
            "y" | "yes" | "true" | "1" | "on" => Ok(true),
            "n" | "no" | "false" | "0" | "off" => Ok(false),
            _ => Err("not a boolean: gunicorn refuses to start".into()),
        },
        _ => Err("not a boolean: gunicorn refuses to start".into()),
    }
}

fn to_string(v: &Py) -> Result<&str, String> {
    match v {
        Py::Str(s) => Ok(s),
        _ => Err("not a string: gunicorn refuses to start".into()),
    }
}

/// A worker class: a name or dotted path, or a class the file imports.
fn to_class(v: &Py) -> Result<String, String> {
    match v {
        Py::Str(s) => Ok(s.clone()),
        Py::Object(p) => Ok(p.clone()),
        _ => Err("not a worker class: gunicorn refuses to start".into()),
    }
}

/// gunicorn's `validate_list_string`: a string is a list of one.
fn to_list(v: &Py) -> Result<Vec<String>, String> {
    match v {
        Py::Str(s) => Ok(vec![s.clone()]),
        Py::List(items) => items
            .iter()
            .map(|i| to_string(i).map(str::to_owned))
            .collect(),
        _ => Err("not a string or a list of strings: gunicorn refuses to start".into()),
    }
}

/// The TCP port of a gunicorn bind as gunicorn's `parse_address` reads it: `0.0.0.0:80`,
/// `:8000`, `[::]:5000`, `tcp://host:80`; a host alone is port 8000. `unix:` and `fd://` have
/// none.
pub fn bind_port(bind: &str) -> Option<u16> {
    let bind = bind.trim();
    if bind.starts_with("unix:") || bind.starts_with("fd://") {
        return None;
    }
    let netloc = bind.strip_prefix("tcp://").unwrap_or(bind);
    let port = if netloc.contains('[') && netloc.contains(']') {
        netloc.split_once("]:").map_or("8000", |(_, p)| p)
    } else if let Some((_, rest)) = netloc.split_once(':') {
        rest.split(':').next().unwrap_or("")
    } else {
        "8000"
    };
    port.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::cli::gunicorn_invocation;
    use super::super::config::tests::config;
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_explicit_file_the_env_file_and_the_implicit_one() {
        let g = gunicorn_invocation(
            &argv("gunicorn --conf backend/config/gunicorn.conf.py backend.server:app"),
            None,
            &[],
        )
        .unwrap();
        let c = config_location(&g, "/app");
        assert_eq!(c.chosen_by, ConfigChoice::CommandLine);
        assert_eq!(
            c.source,
            ConfigSource::File {
                path: "/app/backend/config/gunicorn.conf.py".into()
            }
        );
        let g = gunicorn_invocation(
            &argv("gunicorn app:app"),
            None,
            &env(&[("GUNICORN_CMD_ARGS", "-c python:settings.gunicorn")]),
        )
        .unwrap();
        let c = config_location(&g, "/app");
        assert_eq!(c.chosen_by, ConfigChoice::CmdArgs);
        assert_eq!(
            c.source,
            ConfigSource::Module {
                name: "settings.gunicorn".into()
            }
        );
        // No -c: gunicorn.conf.py where the script cd'd to.
        let g = gunicorn_invocation(
            &argv("./start.sh"),
            Some("cd src\nexec gunicorn --chdir /elsewhere app:app\n"),
            &[],
        )
        .unwrap();
        let c = config_location(&g, "/srv");
        assert_eq!(c.chosen_by, ConfigChoice::Implicit);
        assert_eq!(
            c.source,
            ConfigSource::File {
                path: "/srv/src/gunicorn.conf.py".into()
            }
        );
    }

    #[test]
    fn file_bind_is_overridden_by_gunicorn_cmd_args_then_by_argv() {
        let file = config("bind = '0.0.0.0:5000'\nworkers = 3\n", &[]);
        let r = |g: &Gunicorn| {
            let loc = config_location(g, "/app");
            effective(g, Some((&loc, &file)), Some("/app/entrypoint.sh"), "/app")
        };
        let plain = gunicorn_invocation(&argv("gunicorn app:app"), None, &[]).unwrap();
        let e = r(&plain);
        assert_eq!(e.bind.known().unwrap(), &["0.0.0.0:5000"]);
        assert_eq!(
            e.bind.from,
            Origin::ConfigFile {
                at: Location {
                    file: "/app/gunicorn.conf.py".into(),
                    line: 1
                },
                reads: vec![]
            }
        );
        assert_eq!(
            e.bind.describe("bind"),
            "bind = 0.0.0.0:5000 (from /app/gunicorn.conf.py:1)"
        );

        let env_args = env(&[("GUNICORN_CMD_ARGS", "--bind=0.0.0.0:80")]);
        let with_env = gunicorn_invocation(&argv("gunicorn app:app"), None, &env_args).unwrap();
        let e = r(&with_env);
        assert_eq!(e.bind.known().unwrap(), &["0.0.0.0:80"]);
        assert_eq!(e.bind.from, Origin::CmdArgs);
        assert_eq!(e.ports(), Some(vec![80]));

        let script = "#!/bin/sh\nexec gunicorn -b :8000 -b unix:/tmp/g.sock app:app\n";
        let with_argv = gunicorn_invocation(&argv("./e.sh"), Some(script), &env_args).unwrap();
        let e = r(&with_argv);
        assert_eq!(e.bind.known().unwrap(), &[":8000", "unix:/tmp/g.sock"]);
        assert_eq!(
            e.bind.from.to_string(),
            "the command line at /app/entrypoint.sh:2"
        );
        assert_eq!(e.ports(), Some(vec![8000]));
        // The file's workers stand: nothing else sets them.
        assert_eq!(e.workers.known(), Some(&3));
    }

    #[test]
    fn web_concurrency_is_only_the_default_of_workers() {
        let env = env(&[("WEB_CONCURRENCY", "7")]);
        let g = gunicorn_invocation(&argv("gunicorn app:app"), None, &env).unwrap();
        let e = effective(&g, None, None, "/app");
        assert_eq!(e.workers.known(), Some(&7));
        assert_eq!(
            e.workers.from.to_string(),
            "WEB_CONCURRENCY in the environment"
        );
        let file = config("workers = 3\n", &[]);
        let loc = config_location(&g, "/app");
        let e = effective(&g, Some((&loc, &file)), None, "/app");
        assert_eq!(
            e.workers.known(),
            Some(&3),
            "the file wins over WEB_CONCURRENCY"
        );
        let g = gunicorn_invocation(&argv("gunicorn -w 2 app:app"), None, &[]).unwrap();
        let e = effective(&g, Some((&loc, &file)), None, "/app");
        assert_eq!(
            e.workers.known(),
            Some(&2),
            "the command line wins over the file"
        );
    }

    #[test]
    fn defaults_and_the_file_settings_gunicorn_converts() {
        let g = gunicorn_invocation(&argv("gunicorn"), None, &env(&[("PORT", "9000")]));
        let g = g.unwrap();
        let e = effective(&g, None, None, "/app");
        assert_eq!(e.target, None);
        assert_eq!(e.bind.known().unwrap(), &["0.0.0.0:9000"]);
        assert_eq!(e.timeout.known(), Some(&30));
        assert_eq!(e.worker_class_runs().as_deref(), Some("sync"));
        assert_eq!(e.async_workers(), Some(false));

        let file = config(
            "wsgi_app = 'srv:application'\nworkers = '4'\npreload_app = 'yes'\nthreads = 4\nchdir = 'backend'\ntimeout = 'soon'\n",
            &[],
        );
        let loc = config_location(&g, "/app");
        let e = effective(&g, Some((&loc, &file)), None, "/app");
        assert_eq!(
            e.target.as_ref().unwrap().known(),
            WsgiTarget::parse("srv:application").as_ref()
        );
        assert_eq!(e.workers.known(), Some(&4));
        assert_eq!(e.preload.known(), Some(&true));
        assert_eq!(e.worker_class_runs().as_deref(), Some("gthread"));
        assert_eq!(e.async_workers(), Some(true));
        assert_eq!(e.chdir.known().map(String::as_str), Some("/app/backend"));
        assert!(matches!(e.timeout.value, Value::Unknown { .. }));
    }

    #[test]
    fn the_preload_flag_wins_over_the_file() {
        let file = config("preload_app = False\n", &[]);
        let g = gunicorn_invocation(&argv("gunicorn --pre app:app"), None, &[]).unwrap();
        let loc = config_location(&g, "/app");
        let e = effective(&g, Some((&loc, &file)), None, "/app");
        assert_eq!(e.preload.known(), Some(&true));
        let g = gunicorn_invocation(&argv("gunicorn app:app"), None, &[]).unwrap();
        let e = effective(&g, Some((&loc, &file)), None, "/app");
        assert_eq!(e.preload.known(), Some(&false));
        assert_eq!(e.preload.from.to_string(), "/app/gunicorn.conf.py:1");
    }

    #[test]
    fn bind_ports_as_gunicorn_parses_them() {
        assert_eq!(bind_port("0.0.0.0:80"), Some(80));
        assert_eq!(bind_port(":8000"), Some(8000));
        assert_eq!(bind_port("[::]:5000"), Some(5000));
        assert_eq!(bind_port("[::1]"), Some(8000));
        assert_eq!(bind_port("localhost"), Some(8000));
        assert_eq!(bind_port("tcp://0.0.0.0:81"), Some(81));
        assert_eq!(bind_port("unix:/tmp/g.sock"), None);
        assert_eq!(bind_port("fd://3"), None);
    }
}
