//! What a gunicorn config file sets, read without running it.
//!
//! A gunicorn config file is a Python module: gunicorn executes it and keeps every module-level
//! name that is a setting (`workers`, `bind`, `post_fork`…) — lower-case names only; `WORKERS`
//! and `preload` are silently ignored. Real files mix literals with values computed when gunicorn
//! loads them: `int(os.environ.get("GUNICORN_WORKERS", "2"))`, `f"0.0.0.0:{PORT}"`,
//! `multiprocessing.cpu_count() * 2 + 1`. So the file's module-level statements are walked in
//! order with a small evaluator that knows literals, names bound earlier in the file, the
//! environment gunicorn starts with (`os.environ`, `os.getenv`), `int()`/`str()`, string
//! methods, f-strings and arithmetic; what depends on the machine (the CPU count) or on a
//! condition it cannot decide is kept as "computed at start-up", with the expression — never
//! guessed. Each setting keeps the line that sets it, so the report can point at it.
//!
//! Server hooks are settings too (`def post_fork(server, worker)`, or `post_fork = f`). Where a
//! hook runs decides what an initialisation in it does: once in the master, or once per worker
//! ([`HookRuns`]); following a hook into the app is [`crate::probes::python`]'s job.
use super::super::Location;
use super::super::syntax::{self, CallArgs, children, line, text};
use super::super::tree::Module;
use serde::Serialize;
use std::collections::HashMap;
use tree_sitter::Node;

/// How deep nested blocks (`if` in `try` in `with`…) and expressions are followed.
const MAX_DEPTH: usize = 24;
/// The longest string a computed value may grow to.
const MAX_STR: usize = 4096;
/// The largest value (items, and strings by 64 bytes) kept: `a = [a, a]` repeated stays small.
const MAX_WEIGHT: usize = 4096;

/// Where and when gunicorn calls a server hook (gunicorn 20–23, `gunicorn/arbiter.py` and
/// `gunicorn/workers/base.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookRuns {
    /// Once, in the master, before any worker exists (`on_starting`, `when_ready`,
    /// `nworkers_changed` at start).
    MasterOnce,
    /// In the master, before each worker is forked (`pre_fork`): once per worker.
    MasterPerWorker,
    /// In each worker as it boots (`post_fork`, `post_worker_init`).
    WorkerBoot,
    /// In a worker around each request (`pre_request`, `post_request`).
    PerRequest,
    /// In the master on a signal, a reload or an exit (`on_reload`, `pre_exec`, `child_exit`,
    /// `on_exit`).
    MasterEvent,
    /// In a worker on a signal or at its exit (`worker_int`, `worker_abort`, `worker_exit`).
    WorkerEvent,
}

impl HookRuns {
    /// Whether what the hook does at start is repeated for every worker.
    pub fn per_worker(self) -> bool {
        matches!(
            self,
            HookRuns::MasterPerWorker | HookRuns::WorkerBoot | HookRuns::PerRequest
        )
    }

    /// Whether the hook runs in the master process (what it imports, workers inherit).
    pub fn in_master(self) -> bool {
        matches!(
            self,
            HookRuns::MasterOnce | HookRuns::MasterPerWorker | HookRuns::MasterEvent
        )
    }

    /// Whether the hook runs while gunicorn starts (not only on a later event).
    pub fn at_start(self) -> bool {
        !matches!(self, HookRuns::MasterEvent | HookRuns::WorkerEvent)
    }

    /// "in every worker", "once, in the master"…
    pub fn describe(self) -> &'static str {
        match self {
            HookRuns::MasterOnce => "once, in the master",
            HookRuns::MasterPerWorker => "in the master, before every worker is forked",
            HookRuns::WorkerBoot => "in every worker",
            HookRuns::PerRequest => "in every worker, around each request",
            HookRuns::MasterEvent => "in the master, on a reload, a signal or at exit",
            HookRuns::WorkerEvent => "in a worker, on a signal or at its exit",
        }
    }
}

/// gunicorn's server hooks and where each runs.
pub const HOOKS: &[(&str, HookRuns)] = &[
    ("on_starting", HookRuns::MasterOnce),
    ("when_ready", HookRuns::MasterOnce),
    ("nworkers_changed", HookRuns::MasterOnce),
    ("pre_fork", HookRuns::MasterPerWorker),
    ("post_fork", HookRuns::WorkerBoot),
    ("post_worker_init", HookRuns::WorkerBoot),
    ("pre_request", HookRuns::PerRequest),
    ("post_request", HookRuns::PerRequest),
    ("on_reload", HookRuns::MasterEvent),
    ("pre_exec", HookRuns::MasterEvent),
    ("child_exit", HookRuns::MasterEvent),
    ("on_exit", HookRuns::MasterEvent),
    ("worker_int", HookRuns::WorkerEvent),
    ("worker_abort", HookRuns::WorkerEvent),
    ("worker_exit", HookRuns::WorkerEvent),
];

/// Where the hook `name` runs, if it is one.
pub fn hook_runs(name: &str) -> Option<HookRuns> {
    HOOKS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// The settings this reader interprets (the others are left to gunicorn).
pub const SETTINGS: &[&str] = &[
    "workers",
    "worker_class",
    "threads",
    "preload_app",
    "bind",
    "timeout",
    "graceful_timeout",
    "chdir",
    "wsgi_app",
    "raw_env",
    "reload",
];

/// Names people write for a setting that gunicorn does not know, so ignores.
const MISNAMED: &[(&str, &str)] = &[
    ("preload", "preload_app"),
    ("worker", "workers"),
    ("thread", "threads"),
    ("workers_class", "worker_class"),
    ("worker_type", "worker_class"),
    ("log_level", "loglevel"),
    ("access_log", "accesslog"),
    ("error_log", "errorlog"),
    ("keep_alive", "keepalive"),
];

/// A Python value the evaluator could compute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Py {
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Py>),
    /// A module, class or function, by dotted path (`uvicorn.workers.UvicornWorker`).
    Object(String),
}

impl Py {
    /// Roughly how large the value is, counting no further than `MAX_WEIGHT`.
    fn weight(&self) -> usize {
        match self {
            Py::Str(s) | Py::Object(s) => 1 + s.len() / 64,
            Py::List(items) => {
                let mut w = 1;
                for i in items {
                    w += i.weight();
                    if w > MAX_WEIGHT {
                        break;
                    }
                }
                w
            }
            _ => 1,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Py::None => false,
            Py::Bool(b) => *b,
            Py::Int(n) => *n != 0,
            Py::Str(s) => !s.is_empty(),
            Py::List(l) => !l.is_empty(),
            Py::Object(_) => true,
        }
    }

    /// `str(value)`.
    fn to_str(&self) -> String {
        match self {
            Py::None => "None".into(),
            Py::Bool(true) => "True".into(),
            Py::Bool(false) => "False".into(),
            Py::Int(n) => n.to_string(),
            Py::Str(s) => s.clone(),
            Py::List(l) => format!(
                "[{}]",
                l.iter()
                    .map(|v| match v {
                        Py::Str(s) => format!("'{s}'"),
                        other => other.to_str(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Py::Object(p) => format!("<{p}>"),
        }
    }
}

/// A setting's value: known, or computed when gunicorn starts (with the expression as written
/// and why it cannot be known here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Value<T> {
    Known { value: T },
    Unknown { expr: String, why: String },
}

impl<T> Value<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Value::Known { value } => Some(value),
            Value::Unknown { .. } => None,
        }
    }
}

/// An environment variable a setting's value reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvRead {
    pub name: String,
    /// Whether the environment gunicorn starts with sets it (else the default was taken).
    pub set: bool,
}

/// One setting the file binds (its last binding: gunicorn reads the module once executed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigSetting {
    pub name: String,
    pub value: Value<Py>,
    pub at: Location,
    /// Environment variables the value depends on.
    pub reads: Vec<EnvRead>,
}

/// A server hook the file binds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HookDef {
    pub name: String,
    pub runs: HookRuns,
    /// The `def` (or the assignment).
    pub at: Location,
    /// For `post_fork = on_fork`: the value as written.
    pub assigned: Option<String>,
}

/// A module-level name gunicorn ignores, though it reads like a setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Misnamed {
    pub name: String,
    /// The setting it was meant to be.
    pub setting: String,
    pub at: Location,
}

/// What a gunicorn config file sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigFile {
    /// The file's path in the image.
    pub path: String,
    pub settings: Vec<ConfigSetting>,
    pub hooks: Vec<HookDef>,
    pub misnamed: Vec<Misnamed>,
    /// The first line the parser had to recover at: gunicorn would refuse the file.
    pub syntax_error: Option<u32>,
}

impl ConfigFile {
    pub fn setting(&self, name: &str) -> Option<&ConfigSetting> {
        self.settings.iter().find(|s| s.name == name)
    }
}

/// A hook's binding in the module: the statement, and for an assignment its value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HookSite<'a> {
    pub name: &'static str,
    pub runs: HookRuns,
    /// The `function_definition`, or the `assignment`.
    pub stmt: Node<'a>,
    /// The assignment's right-hand side.
    pub value: Option<Node<'a>>,
}

/// The hooks `m` binds at module level, each by its last binding, in file order.
pub(crate) fn hook_sites<'a>(m: &'a Module) -> Vec<HookSite<'a>> {
    let src = m.text();
    let mut by_name: HashMap<&'static str, HookSite<'a>> = HashMap::new();
    for stmt in syntax::module_statements(m.root(), src) {
        let def = syntax::undecorated(stmt);
        let mut bind = |name: &str, stmt: Node<'a>, value: Option<Node<'a>>| {
            if let Some(&(n, runs)) = HOOKS.iter().find(|(n, _)| *n == name) {
                by_name.insert(
                    n,
                    HookSite {
                        name: n,
                        runs,
                        stmt,
                        value,
                    },
                );
            }
        };
        match def.kind() {
            "function_definition" => {
                if let Some(n) = def.child_by_field_name("name") {
                    bind(text(n, src), def, None);
                }
            }
            "expression_statement" => {
                for a in children(def)
                    .into_iter()
                    .filter(|a| a.kind() == "assignment")
                {
                    let value = final_value(a);
                    for left in assignment_targets(a) {
                        bind(text(left, src), a, value);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<HookSite<'a>> = by_name.into_values().collect();
    out.sort_by_key(|h| h.stmt.start_byte());
    out
}

/// The identifiers `a = b = value` binds.
fn assignment_targets(a: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut cur = Some(a);
    while let Some(asg) = cur.filter(|c| c.kind() == "assignment") {
        if let Some(left) = asg.child_by_field_name("left")
            && left.kind() == "identifier"
        {
            out.push(left);
        }
        cur = asg.child_by_field_name("right");
    }
    out
}

/// `value` of `a = b = value`.
fn final_value(a: Node<'_>) -> Option<Node<'_>> {
    let mut v = a.child_by_field_name("right")?;
    while v.kind() == "assignment" {
        v = v.child_by_field_name("right")?;
    }
    Some(v)
}

/// Read the settings and hooks of the config module `m`; `env` is the environment gunicorn
/// starts with (what `os.environ` holds when the file runs).
pub fn read_config(m: &Module, env: &[(String, String)]) -> ConfigFile {
    let env: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut ev = Eval {
        m,
        src: m.text(),
        env: &env,
        names: HashMap::new(),
        imports: HashMap::new(),
        reads: Vec::new(),
        settings: Vec::new(),
        bound: Vec::new(),
    };
    ev.block(m.root(), None, 0);
    let at = |node: Node| Location {
        file: m.path().to_owned(),
        line: line(node),
    };
    let hooks = hook_sites(m)
        .into_iter()
        .map(|h| HookDef {
            name: h.name.to_owned(),
            runs: h.runs,
            at: at(h.stmt),
            assigned: h.value.map(|v| text(v, m.text()).to_owned()),
        })
        .collect();
    let bound_names: Vec<&str> = ev.bound.iter().map(|(n, _)| n.as_str()).collect();
    let misnamed = ev
        .bound
        .iter()
        .filter_map(|(name, l)| {
            let setting = MISNAMED
                .iter()
                .find(|(wrong, _)| wrong == name)
                .map(|(_, right)| (*right).to_owned())
                .or_else(|| {
                    // `WORKERS = 4`: gunicorn keeps lower-case names only.
                    let lower = name.to_lowercase();
                    (lower != *name && SETTINGS.contains(&lower.as_str())).then_some(lower)
                })?;
            (!bound_names.contains(&setting.as_str())).then(|| Misnamed {
                name: name.clone(),
                setting,
                at: Location {
                    file: m.path().to_owned(),
                    line: *l,
                },
            })
        })
        .collect();
    ConfigFile {
        path: m.path().to_owned(),
        settings: ev.settings,
        hooks,
        misnamed,
        syntax_error: m.syntax_error_line(),
    }
}

type Eval_ = Result<Py, String>;

struct Eval<'a> {
    m: &'a Module,
    src: &'a str,
    env: &'a HashMap<&'a str, &'a str>,
    /// Module-level names bound so far, with their values (or why they are unknown) and the
    /// environment variables those read.
    names: HashMap<String, (Eval_, Vec<EnvRead>)>,
    /// Names bound by imports: local name → dotted path.
    imports: HashMap<String, String>,
    /// Environment variables read by the expression being evaluated.
    reads: Vec<EnvRead>,
    settings: Vec<ConfigSetting>,
    /// Every module-level name bound by an assignment, with its line.
    bound: Vec<(String, u32)>,
}

const BUILTINS: &[&str] = &["int", "str", "bool", "max", "min", "len", "abs"];

impl<'a> Eval<'a> {
    /// Run the statements of `block` (the module, or a block of it). `uncertain`: why the
    /// block may not run as read (a condition decided at start-up).
    fn block(&mut self, block: Node<'a>, uncertain: Option<&str>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in children(block) {
            self.statement(stmt, uncertain, depth);
        }
    }

    fn statement(&mut self, stmt: Node<'a>, uncertain: Option<&str>, depth: usize) {
        let src = self.src;
        match stmt.kind() {
            "import_statement" => {
                for name in syntax::field_all(stmt, "name") {
                    let (dotted, alias) = match name.kind() {
                        "aliased_import" => (
                            name.child_by_field_name("name"),
                            name.child_by_field_name("alias"),
                        ),
                        _ => (Some(name), None),
                    };
                    let Some(d) = dotted else { continue };
                    let path = text(d, src);
                    match alias {
                        Some(a) => self.bind_import(text(a, src), path),
                        None => {
                            let first = path.split('.').next().unwrap_or(path);
                            self.bind_import(first, first);
                        }
                    }
                }
            }
            "import_from_statement" => {
                let Some(module) = stmt
                    .child_by_field_name("module_name")
                    .filter(|m| m.kind() == "dotted_name")
                else {
                    return;
                };
                let module = text(module, src);
                for name in syntax::field_all(stmt, "name") {
                    let (id, alias) = match name.kind() {
                        "aliased_import" => (
                            name.child_by_field_name("name"),
                            name.child_by_field_name("alias"),
                        ),
                        _ => (Some(name), None),
                    };
                    let Some(id) = id else { continue };
                    let local = text(alias.unwrap_or(id), src);
                    self.bind_import(local, &format!("{module}.{}", text(id, src)));
                }
            }
            "expression_statement" => {
                for c in children(stmt) {
                    match c.kind() {
                        "assignment" => self.assignment(c, uncertain),
                        "augmented_assignment" => self.augmented(c, uncertain),
                        _ => {}
                    }
                }
            }
            "decorated_definition" => {
                if let Some(def) = stmt.child_by_field_name("definition") {
                    self.statement(def, uncertain, depth);
                }
            }
            "function_definition" | "class_definition" => {
                if let Some(n) = stmt.child_by_field_name("name") {
                    let name = text(n, src);
                    self.imports.remove(name);
                    self.names.insert(
                        name.to_owned(),
                        (Ok(Py::Object(format!("__config__.{name}"))), Vec::new()),
                    );
                }
            }
            "if_statement" => self.if_statement(stmt, uncertain, depth),
            "try_statement" => {
                if let Some(body) = stmt.child_by_field_name("body") {
                    self.block(body, uncertain, depth + 1);
                }
                for c in children(stmt) {
                    match c.kind() {
                        "except_clause" => {
                            let why = format!(
                                "set in an `except` handler (line {}): only when the `try` fails",
                                line(c)
                            );
                            for b in children(c).into_iter().filter(|b| b.kind() == "block") {
                                self.block(b, Some(&why), depth + 1);
                            }
                        }
                        "else_clause" => {
                            if let Some(b) = c.child_by_field_name("body") {
                                self.block(b, uncertain, depth + 1);
                            }
                        }
                        "finally_clause" => {
                            for b in children(c).into_iter().filter(|b| b.kind() == "block") {
                                self.block(b, uncertain, depth + 1);
                            }
                        }
                        _ => {}
                    }
                }
            }
            "with_statement" => {
                if let Some(b) = stmt.child_by_field_name("body") {
                    self.block(b, uncertain, depth + 1);
                }
            }
            "for_statement" | "while_statement" => {
                let why = format!("set in a loop (line {})", line(stmt));
                if let Some(b) = stmt.child_by_field_name("body") {
                    self.block(b, Some(&why), depth + 1);
                }
            }
            _ => {}
        }
    }

    fn bind_import(&mut self, local: &str, path: &str) {
        self.names.remove(local);
        self.imports.insert(local.to_owned(), path.to_owned());
    }

    fn if_statement(&mut self, stmt: Node<'a>, uncertain: Option<&str>, depth: usize) {
        let src = self.src;
        // (condition, block) in order; the `else` has no condition.
        let mut arms: Vec<(Option<Node<'a>>, Option<Node<'a>>)> = vec![(
            stmt.child_by_field_name("condition"),
            stmt.child_by_field_name("consequence"),
        )];
        for alt in syntax::field_all(stmt, "alternative") {
            match alt.kind() {
                "elif_clause" => arms.push((
                    alt.child_by_field_name("condition"),
                    alt.child_by_field_name("consequence"),
                )),
                _ => arms.push((None, alt.child_by_field_name("body"))),
            }
        }
        let mut undecided: Option<String> = uncertain.map(str::to_owned);
        for (cond, body) in arms {
            let Some(body) = body else { continue };
            let Some(cond) = cond else {
                self.block(body, undecided.as_deref(), depth + 1);
                return;
            };
            if undecided.is_some() {
                self.block(body, undecided.as_deref(), depth + 1);
                continue;
            }
            let saved = std::mem::take(&mut self.reads);
            let value = self.eval(cond, 0);
            self.reads = saved;
            match value {
                Ok(v) if v.truthy() => {
                    self.block(body, None, depth + 1);
                    return;
                }
                Ok(_) => {}
                Err(_) => {
                    let why = format!(
                        "set under `if {}` (line {}), decided at start-up",
                        short(text(cond, src)),
                        line(cond)
                    );
                    self.block(body, Some(&why), depth + 1);
                    undecided = Some(why);
                }
            }
        }
    }

    fn assignment(&mut self, a: Node<'a>, uncertain: Option<&str>) {
        let Some(value_node) = final_value(a) else {
            return;
        };
        self.reads.clear();
        let mut value = self.eval(value_node, 0);
        if let Some(why) = uncertain {
            value = Err(why.to_owned());
        }
        // `a, b = 1, 2` and other unpacking: the names are bound, their values not followed.
        let mut cur = Some(a);
        while let Some(asg) = cur.filter(|c| c.kind() == "assignment") {
            if let Some(left) = asg.child_by_field_name("left") {
                if left.kind() == "identifier" {
                    self.bind(left, value_node, value.clone());
                } else {
                    let mut ids = Vec::new();
                    syntax::walk(left, |c| {
                        if c.kind() == "identifier" {
                            ids.push(c);
                        }
                        !matches!(c.kind(), "attribute" | "subscript")
                    });
                    for id in ids {
                        self.bind(id, value_node, Err("bound by unpacking".into()));
                    }
                }
            }
            cur = asg.child_by_field_name("right");
        }
    }

    fn augmented(&mut self, a: Node<'a>, uncertain: Option<&str>) {
        let (Some(left), Some(op), Some(right)) = (
            a.child_by_field_name("left"),
            a.child_by_field_name("operator"),
            a.child_by_field_name("right"),
        ) else {
            return;
        };
        if left.kind() != "identifier" {
            return;
        }
        self.reads.clear();
        let name = text(left, self.src);
        let before = self.lookup(name);
        let value = match (before, self.eval(right, 0), uncertain) {
            (_, _, Some(why)) => Err(why.to_owned()),
            (Ok(l), Ok(r), None) => binary(&l, text(op, self.src).trim_end_matches('='), &r),
            (Err(e), _, _) | (_, Err(e), _) => Err(e),
        };
        self.bind(left, a, value);
    }

    fn bind(&mut self, name_node: Node<'a>, value_node: Node<'a>, value: Eval_) {
        let src = self.src;
        let name = text(name_node, src).to_owned();
        self.imports.remove(&name);
        self.bound.push((name.clone(), line(name_node)));
        if SETTINGS.contains(&name.as_str()) {
            let setting = ConfigSetting {
                name: name.clone(),
                value: match &value {
                    Ok(v) => Value::Known { value: v.clone() },
                    Err(why) => Value::Unknown {
                        expr: short(text(value_node, src)),
                        why: why.clone(),
                    },
                },
                at: Location {
                    file: self.m.path().to_owned(),
                    line: line(name_node),
                },
                reads: self.reads.clone(),
            };
            self.settings.retain(|s| s.name != name);
            self.settings.push(setting);
        }
        self.names.insert(name, (value, self.reads.clone()));
    }

    fn lookup(&mut self, name: &str) -> Eval_ {
        if let Some((v, reads)) = self.names.get(name) {
            for r in reads {
                if !self.reads.contains(r) {
                    self.reads.push(r.clone());
                }
            }
            return v.clone();
        }
        if let Some(p) = self.imports.get(name) {
            return Ok(Py::Object(p.clone()));
        }
        if BUILTINS.contains(&name) {
            return Ok(Py::Object(format!("builtins.{name}")));
        }
        Err(format!("`{name}` is not bound in the file"))
    }

    fn eval(&mut self, n: Node<'a>, depth: usize) -> Eval_ {
        let v = self.eval_here(n, depth)?;
        if v.weight() > MAX_WEIGHT || matches!(&v, Py::Str(s) if s.len() > MAX_STR) {
            return Err("too large a value".into());
        }
        Ok(v)
    }

    fn eval_here(&mut self, n: Node<'a>, depth: usize) -> Eval_ {
        if depth > MAX_DEPTH {
            return Err("too deeply nested".into());
        }
        let src = self.src;
        let d = depth + 1;
        match n.kind() {
            "integer" => parse_int(text(n, src)).map(Py::Int),
            "float" => Err("a float, where gunicorn wants a whole number".into()),
            "true" => Ok(Py::Bool(true)),
            "false" => Ok(Py::Bool(false)),
            "none" => Ok(Py::None),
            "string" => self.string(n, d).map(Py::Str),
            "concatenated_string" => {
                let mut out = String::new();
                for part in children(n) {
                    out.push_str(&self.string(part, d)?);
                }
                Ok(Py::Str(out))
            }
            "list" | "tuple" | "expression_list" => children(n)
                .into_iter()
                .map(|c| self.eval(c, d))
                .collect::<Result<Vec<_>, _>>()
                .map(Py::List),
            "parenthesized_expression" => match children(n).as_slice() {
                [one] => self.eval(*one, d),
                _ => Err("not followed".into()),
            },
            "identifier" => self.lookup(text(n, src)),
            "attribute" => {
                let (Some(obj), Some(attr)) = (
                    n.child_by_field_name("object"),
                    n.child_by_field_name("attribute"),
                ) else {
                    return Err("not followed".into());
                };
                match self.eval(obj, d)? {
                    Py::Object(p) => Ok(Py::Object(format!("{p}.{}", text(attr, src)))),
                    _ => Err(format!("`{}` is not followed", short(text(n, src)))),
                }
            }
            "subscript" => {
                let base = n
                    .child_by_field_name("value")
                    .map(|v| self.eval(v, d))
                    .ok_or("not followed")??;
                let key = n
                    .child_by_field_name("subscript")
                    .map(|k| self.eval(k, d))
                    .ok_or("not followed")??;
                match (base, key) {
                    (Py::Object(p), Py::Str(name)) if p == "os.environ" => {
                        match self.read_env(&name) {
                            Some(v) => Ok(Py::Str(v)),
                            None => Err(format!(
                                "reads {name}, which the environment does not set (KeyError)"
                            )),
                        }
                    }
                    (Py::List(l), Py::Int(i)) => {
                        let i = if i < 0 { l.len() as i64 + i } else { i };
                        usize::try_from(i)
                            .ok()
                            .and_then(|i| l.get(i).cloned())
                            .ok_or_else(|| "index out of range".into())
                    }
                    _ => Err(format!("`{}` is not followed", short(text(n, src)))),
                }
            }
            "call" => self.call(n, d),
            "binary_operator" => {
                let (Some(l), Some(op), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("operator"),
                    n.child_by_field_name("right"),
                ) else {
                    return Err("not followed".into());
                };
                let l = self.eval(l, d)?;
                let r = self.eval(r, d)?;
                binary(&l, text(op, src), &r)
            }
            "unary_operator" => {
                let arg = n
                    .child_by_field_name("argument")
                    .map(|a| self.eval(a, d))
                    .ok_or("not followed")??;
                let op = n.child_by_field_name("operator").map(|o| text(o, src));
                match (op, arg) {
                    (Some("-"), Py::Int(v)) => {
                        v.checked_neg().map(Py::Int).ok_or("overflow".into())
                    }
                    (Some("+"), Py::Int(v)) => Ok(Py::Int(v)),
                    _ => Err("not followed".into()),
                }
            }
            "not_operator" => n
                .child_by_field_name("argument")
                .map(|a| self.eval(a, d))
                .ok_or("not followed")?
                .map(|v| Py::Bool(!v.truthy())),
            "boolean_operator" => {
                let (Some(l), Some(op), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("operator"),
                    n.child_by_field_name("right"),
                ) else {
                    return Err("not followed".into());
                };
                let left = self.eval(l, d)?;
                match (text(op, src), left.truthy()) {
                    ("or", true) | ("and", false) => Ok(left),
                    _ => self.eval(r, d),
                }
            }
            "comparison_operator" => {
                let operands = children(n);
                let mut cursor = n.walk();
                let ops: Vec<String> = n
                    .children_by_field_name("operators", &mut cursor)
                    .map(|o| {
                        text(o, src)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                let ([l, r], [op]) = (operands.as_slice(), ops.as_slice()) else {
                    return Err("a chained comparison".into());
                };
                let l = self.eval(*l, d)?;
                let r = self.eval(*r, d)?;
                compare(&l, op, &r).map(Py::Bool)
            }
            "conditional_expression" => {
                let parts = children(n);
                let [body, cond, alt] = parts.as_slice() else {
                    return Err("not followed".into());
                };
                if self.eval(*cond, d)?.truthy() {
                    self.eval(*body, d)
                } else {
                    self.eval(*alt, d)
                }
            }
            _ => Err(format!("`{}` is computed at start-up", short(text(n, src)))),
        }
    }

    /// A string literal's value; f-strings are formatted when every part is known.
    fn string(&mut self, n: Node<'a>, depth: usize) -> Result<String, String> {
        let src = self.src;
        if n.kind() != "string" {
            return Err("not a string".into());
        }
        let mut out = String::new();
        for c in children(n) {
            match c.kind() {
                "string_start" if text(c, src).to_ascii_lowercase().contains('b') => {
                    return Err("a bytes literal".into());
                }
                "string_content" => out.push_str(text(c, src)),
                "interpolation" => {
                    if c.child_by_field_name("format_specifier").is_some() {
                        return Err("an f-string with a format specifier".into());
                    }
                    let e = c
                        .child_by_field_name("expression")
                        .ok_or("an empty interpolation")?;
                    out.push_str(&self.eval(e, depth)?.to_str());
                }
                _ => {}
            }
            if out.len() > MAX_STR {
                return Err("too long".into());
            }
        }
        Ok(out)
    }

    fn read_env(&mut self, name: &str) -> Option<String> {
        let v = self.env.get(name).map(|v| (*v).to_owned());
        if !self.reads.iter().any(|r| r.name == name) {
            self.reads.push(EnvRead {
                name: name.to_owned(),
                set: v.is_some(),
            });
        }
        v
    }

    fn call(&mut self, n: Node<'a>, depth: usize) -> Eval_ {
        let src = self.src;
        let f = n.child_by_field_name("function").ok_or("not followed")?;
        let args = CallArgs::of(n, src);
        // A method of a string value: `os.environ.get("X", "a").lower()`.
        if f.kind() == "attribute"
            && let (Some(obj), Some(attr)) = (
                f.child_by_field_name("object"),
                f.child_by_field_name("attribute"),
            )
        {
            match self.eval(obj, depth)? {
                Py::Str(s) => return self.str_method(&s, text(attr, src), &args, depth),
                Py::Object(_) => {}
                _ => return Err(format!("`{}` is computed at start-up", short(text(n, src)))),
            }
        }
        let Py::Object(path) = self.eval(f, depth)? else {
            return Err("calls something that is not a function".into());
        };
        let mut positional = Vec::new();
        for a in &args.positional {
            positional.push(*a);
        }
        match path.as_str() {
            "os.environ.get" | "os.getenv" => {
                let name = match positional.first() {
                    Some(p) => self.eval(*p, depth)?,
                    None => return Err("reads no variable".into()),
                };
                let Py::Str(name) = name else {
                    return Err("the variable's name is computed".into());
                };
                match self.read_env(&name) {
                    Some(v) => Ok(Py::Str(v)),
                    None => match positional.get(1).copied().or(args.keyword("default")) {
                        Some(default) => self.eval(default, depth),
                        None => Ok(Py::None),
                    },
                }
            }
            "builtins.int" => {
                let v = match positional.first() {
                    Some(p) => self.eval(*p, depth)?,
                    None => return Ok(Py::Int(0)),
                };
                let base = match positional.get(1) {
                    Some(b) => match self.eval(*b, depth)? {
                        Py::Int(b) if (2..=36).contains(&b) => b as u32,
                        _ => return Err("int() with an unusual base".into()),
                    },
                    None => 10,
                };
                match v {
                    Py::Int(i) => Ok(Py::Int(i)),
                    Py::Bool(b) => Ok(Py::Int(b as i64)),
                    Py::Str(s) => i64::from_str_radix(s.trim(), base)
                        .map(Py::Int)
                        .map_err(|_| format!("int({s:?}) fails: not a whole number")),
                    other => Err(format!("int({}) fails", other.to_str())),
                }
            }
            "builtins.str" => match positional.first() {
                Some(p) => Ok(Py::Str(self.eval(*p, depth)?.to_str())),
                None => Ok(Py::Str(String::new())),
            },
            "builtins.bool" => match positional.first() {
                Some(p) => Ok(Py::Bool(self.eval(*p, depth)?.truthy())),
                None => Ok(Py::Bool(false)),
            },
            "builtins.max" | "builtins.min" => {
                let mut vals = Vec::new();
                for p in &positional {
                    match self.eval(*p, depth)? {
                        Py::Int(i) => vals.push(i),
                        _ => return Err("max()/min() of something else than numbers".into()),
                    }
                }
                let pick = if path.ends_with("max") {
                    vals.into_iter().max()
                } else {
                    vals.into_iter().min()
                };
                pick.map(Py::Int).ok_or("max()/min() of nothing".into())
            }
            "multiprocessing.cpu_count" | "os.cpu_count" | "psutil.cpu_count" => {
                Err("depends on the number of CPUs where it runs".into())
            }
            _ => Err(format!(
                "calls `{}` when gunicorn loads the file",
                path.trim_start_matches("builtins.")
            )),
        }
    }

    fn str_method(&mut self, s: &str, method: &str, args: &CallArgs<'a>, depth: usize) -> Eval_ {
        match method {
            "lower" => Ok(Py::Str(s.to_lowercase())),
            "upper" => Ok(Py::Str(s.to_uppercase())),
            "strip" if args.positional.is_empty() => Ok(Py::Str(s.trim().to_owned())),
            "split" => {
                let parts: Vec<Py> = match args.positional.first() {
                    Some(sep) => match self.eval(*sep, depth)? {
                        Py::Str(sep) if !sep.is_empty() => s
                            .split(sep.as_str())
                            .map(|p| Py::Str(p.to_owned()))
                            .collect(),
                        _ => return Err("split() on an unusual separator".into()),
                    },
                    None => s
                        .split_whitespace()
                        .map(|p| Py::Str(p.to_owned()))
                        .collect(),
                };
                Ok(Py::List(parts))
            }
            "format" => {
                let mut pos = Vec::new();
                for a in &args.positional {
                    pos.push(self.eval(*a, depth)?.to_str());
                }
                let mut kw = HashMap::new();
                for (k, v) in &args.keywords {
                    kw.insert(k.clone(), self.eval(*v, depth)?.to_str());
                }
                format_braces(s, &pos, &kw).map(Py::Str)
            }
            _ => Err(format!("calls str.{method}() when gunicorn loads the file")),
        }
    }
}

/// `"{}:{}".format(a, b)`, `"{0}"`, `"{port}"`; anything fancier is not followed.
fn format_braces(s: &str, pos: &[String], kw: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut next = 0;
    let mut rest = s;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let close = tail.find('}').ok_or("an unclosed `{`")?;
        let field = &tail[1..close];
        let value = if field.is_empty() {
            next += 1;
            pos.get(next - 1)
        } else if let Ok(i) = field.parse::<usize>() {
            pos.get(i)
        } else {
            kw.get(field)
        };
        out.push_str(value.ok_or("a format field not given")?);
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_int(t: &str) -> Result<i64, String> {
    let t = t.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h.to_owned(), 16)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o.to_owned(), 8)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b.to_owned(), 2)
    } else {
        (lower, 10)
    };
    i64::from_str_radix(&digits, radix).map_err(|_| format!("`{t}` is too large"))
}

fn binary(l: &Py, op: &str, r: &Py) -> Eval_ {
    let overflow = || "overflows".to_owned();
    match (l, op, r) {
        (Py::Int(a), "+", Py::Int(b)) => a.checked_add(*b).map(Py::Int).ok_or_else(overflow),
        (Py::Int(a), "-", Py::Int(b)) => a.checked_sub(*b).map(Py::Int).ok_or_else(overflow),
        (Py::Int(a), "*", Py::Int(b)) => a.checked_mul(*b).map(Py::Int).ok_or_else(overflow),
        (Py::Int(a), "//", Py::Int(b)) if *b != 0 => Ok(Py::Int(a.div_euclid(*b))),
        (Py::Int(a), "%", Py::Int(b)) if *b != 0 => Ok(Py::Int(a.rem_euclid(*b))),
        (Py::Str(a), "+", Py::Str(b)) if a.len() + b.len() <= MAX_STR => {
            Ok(Py::Str(format!("{a}{b}")))
        }
        (Py::List(a), "+", Py::List(b)) => Ok(Py::List(a.iter().chain(b).cloned().collect())),
        (Py::Str(f), "%", args) => {
            let args: Vec<&Py> = match args {
                Py::List(l) => l.iter().collect(),
                one => vec![one],
            };
            percent_format(f, &args).map(Py::Str)
        }
        _ => Err(format!(
            "`{} {op} {}` is not followed",
            l.to_str(),
            r.to_str()
        )),
    }
}

/// `"%s:%d" % (host, port)` with `%s`, `%d`, `%i`, `%%` only.
fn percent_format(f: &str, args: &[&Py]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => out.push_str(&args.next().ok_or("too few % arguments")?.to_str()),
            Some('d' | 'i') => match args.next() {
                Some(Py::Int(i)) => out.push_str(&i.to_string()),
                _ => return Err("%d of something else than a number".into()),
            },
            _ => return Err("an unusual % format".into()),
        }
    }
    Ok(out)
}

fn compare(l: &Py, op: &str, r: &Py) -> Result<bool, String> {
    Ok(match op {
        "==" => l == r,
        "!=" => l != r,
        "is" => matches!((l, r), (Py::None, Py::None)) || (l == r && matches!(l, Py::Bool(_))),
        "is not" => {
            !(matches!((l, r), (Py::None, Py::None)) || (l == r && matches!(l, Py::Bool(_))))
        }
        "in" | "not in" => {
            let found = match r {
                Py::List(items) => items.contains(l),
                Py::Str(s) => match l {
                    Py::Str(sub) => s.contains(sub.as_str()),
                    _ => return Err("`in` of a non-string".into()),
                },
                _ => return Err("`in` something not followed".into()),
            };
            found == (op == "in")
        }
        "<" | "<=" | ">" | ">=" => match (l, r) {
            (Py::Int(a), Py::Int(b)) => match op {
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                _ => a >= b,
            },
            _ => return Err("an ordering of something else than numbers".into()),
        },
        _ => return Err(format!("`{op}` is not followed")),
    })
}

/// One line, at most 80 characters.
fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        let cut: String = one_line.chars().take(77).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::probes::python::{SourceFile, SourceTree};

    pub(crate) fn config(text: &str, env: &[(&str, &str)]) -> ConfigFile {
        let mut t = SourceTree::new("/app", vec![]);
        let name = t
            .add_script(
                "__config__",
                SourceFile {
                    path: "/app/gunicorn.conf.py".into(),
                    text: text.into(),
                },
            )
            .expect("small");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        read_config(t.module(&name).expect("added"), &env)
    }

    fn value(c: &ConfigFile, name: &str) -> Value<Py> {
        c.setting(name)
            .unwrap_or_else(|| panic!("{name} not set: {:?}", c.settings))
            .value
            .clone()
    }

    fn known(v: Py) -> Value<Py> {
        Value::Known { value: v }
    }

    const EVERY_FORM: &str = r#"
import multiprocessing
import os
from os import environ

PORT = os.getenv("PORT", "5000")
bind = f"0.0.0.0:{PORT}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(environ.get("THREADS", 4)) * 2
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
preload_app = os.environ.get("PRELOAD", "false").lower() in ("1", "true", "yes")
timeout = 120
graceful_timeout = timeout // 4
chdir = "/app/" + "backend"
wsgi_app = "backend.server_v4_complete:app"
raw_env = ["FLASK_ENV=production", "SECRET_KEY=%s" % os.environ["SECRET_KEY"]]
reload = False
max_requests = 1000
if os.environ.get("DEBUG"):
    reload = True
"#;

    #[test]
    fn every_setting_form_with_its_line() {
        let c = config(EVERY_FORM, &[("SECRET_KEY", "s3cret"), ("THREADS", "3")]);
        assert_eq!(value(&c, "bind"), known(Py::Str("0.0.0.0:5000".into())));
        assert_eq!(c.setting("bind").unwrap().at.line, 7);
        assert_eq!(
            c.setting("bind").unwrap().reads,
            [EnvRead {
                name: "PORT".into(),
                set: false
            }]
        );
        assert_eq!(value(&c, "workers"), known(Py::Int(2)));
        assert_eq!(c.setting("workers").unwrap().at.line, 8);
        assert_eq!(value(&c, "threads"), known(Py::Int(6)));
        assert_eq!(
            value(&c, "worker_class"),
            known(Py::Str(
                "geventwebsocket.gunicorn.workers.GeventWebSocketWorker".into()
            ))
        );
        assert_eq!(value(&c, "preload_app"), known(Py::Bool(false)));
        assert_eq!(value(&c, "timeout"), known(Py::Int(120)));
        assert_eq!(value(&c, "graceful_timeout"), known(Py::Int(30)));
        assert_eq!(value(&c, "chdir"), known(Py::Str("/app/backend".into())));
        assert_eq!(
            value(&c, "wsgi_app"),
            known(Py::Str("backend.server_v4_complete:app".into()))
        );
        assert!(matches!(value(&c, "raw_env"), Value::Known { .. }));
        // DEBUG is unset: the `if` is decided, `reload` keeps its first value.
        assert_eq!(value(&c, "reload"), known(Py::Bool(false)));
        assert_eq!(c.setting("reload").unwrap().at.line, 17);
        // Settings this reader does not interpret are left alone.
        assert!(c.setting("max_requests").is_none());
    }

    #[test]
    fn the_container_environment_wins_over_the_default() {
        let c = config(EVERY_FORM, &[("GUNICORN_WORKERS", "5"), ("DEBUG", "1")]);
        assert_eq!(value(&c, "workers"), known(Py::Int(5)));
        assert_eq!(
            c.setting("workers").unwrap().reads,
            [EnvRead {
                name: "GUNICORN_WORKERS".into(),
                set: true
            }]
        );
        assert_eq!(value(&c, "reload"), known(Py::Bool(true)));
        assert_eq!(c.setting("reload").unwrap().at.line, 20);
        // os.environ["SECRET_KEY"] without the variable: gunicorn would fail; unknown here.
        assert!(matches!(value(&c, "raw_env"), Value::Unknown { .. }));
    }

    #[test]
    fn the_cpu_count_is_computed_at_start_up() {
        let c = config(
            "import multiprocessing\nworkers = multiprocessing.cpu_count() * 2 + 1\n",
            &[],
        );
        match value(&c, "workers") {
            Value::Unknown { expr, why } => {
                assert_eq!(expr, "multiprocessing.cpu_count() * 2 + 1");
                assert!(why.contains("CPUs"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn undecidable_conditions_leave_the_value_unknown() {
        let c = config(
            "import socket\nif socket.gethostname() == 'prod':\n    workers = 8\nelse:\n    workers = 2\n",
            &[],
        );
        match value(&c, "workers") {
            Value::Unknown { why, .. } => assert!(why.contains("decided at start-up"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bind_list_and_an_imported_worker_class() {
        let c = config(
            "from uvicorn.workers import UvicornWorker\nbind = ['0.0.0.0:80', 'unix:/tmp/g.sock']\nworker_class = UvicornWorker\n",
            &[],
        );
        assert_eq!(
            value(&c, "bind"),
            known(Py::List(vec![
                Py::Str("0.0.0.0:80".into()),
                Py::Str("unix:/tmp/g.sock".into())
            ]))
        );
        assert_eq!(
            value(&c, "worker_class"),
            known(Py::Object("uvicorn.workers.UvicornWorker".into()))
        );
    }

    #[test]
    fn hooks_by_def_and_by_assignment_and_where_they_run() {
        let c = config(
            "\
from backend.hooks import on_fork

def when_ready(server):
    pass

def post_fork(server, worker):
    pass

post_fork = on_fork
pre_request = lambda worker, req: None
",
            &[],
        );
        let hooks: Vec<(&str, HookRuns, u32, Option<&str>)> = c
            .hooks
            .iter()
            .map(|h| (h.name.as_str(), h.runs, h.at.line, h.assigned.as_deref()))
            .collect();
        assert_eq!(
            hooks,
            [
                ("when_ready", HookRuns::MasterOnce, 3, None),
                ("post_fork", HookRuns::WorkerBoot, 9, Some("on_fork")),
                (
                    "pre_request",
                    HookRuns::PerRequest,
                    10,
                    Some("lambda worker, req: None")
                ),
            ]
        );
        assert!(HookRuns::WorkerBoot.per_worker() && !HookRuns::MasterOnce.per_worker());
        assert!(HookRuns::MasterPerWorker.per_worker() && HookRuns::MasterPerWorker.in_master());
    }

    #[test]
    fn names_gunicorn_ignores_are_noted() {
        let c = config(
            "WORKERS = 4\npreload = True\nTIMEOUT = 60\ntimeout = TIMEOUT\n",
            &[],
        );
        let names: Vec<(&str, &str)> = c
            .misnamed
            .iter()
            .map(|m| (m.name.as_str(), m.setting.as_str()))
            .collect();
        assert_eq!(names, [("WORKERS", "workers"), ("preload", "preload_app")]);
        assert_eq!(value(&c, "timeout"), known(Py::Int(60)));
    }

    #[test]
    fn values_that_double_stay_bounded() {
        let mut text = String::from("a = ['x']\ns = 'abcdefgh'\n");
        for _ in 0..64 {
            text.push_str("a = [a, a]\ns = f'{s}{s}'\n");
        }
        text.push_str("bind = s\nraw_env = a\n");
        let c = config(&text, &[]);
        assert!(matches!(value(&c, "bind"), Value::Unknown { .. }));
        assert!(matches!(value(&c, "raw_env"), Value::Unknown { .. }));
    }

    #[test]
    fn format_forms() {
        let c = config(
            "HOST = '0.0.0.0'\nbind = '{}:{port}'.format(HOST, port=8000)\nchdir = '%s/%s' % ('/srv', 'app')\n",
            &[],
        );
        assert_eq!(value(&c, "bind"), known(Py::Str("0.0.0.0:8000".into())));
        assert_eq!(value(&c, "chdir"), known(Py::Str("/srv/app".into())));
    }
}
