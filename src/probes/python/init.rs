//! Initialisation that runs when a module is imported, and errors swallowed around blueprint
//! registration: the two halves of "every gunicorn worker re-runs the init and silently loses
//! its routes".
//!
//! Gunicorn workers each import the WSGI module (without `--preload`), so whatever the module
//! runs at import runs once per worker, after the entrypoint's `flask init-db` already did.
//! Idempotent schema creation (`create_all` creates only missing tables) survives that; data
//! writes (`INSERT`, `session.commit()`) do not. So the call graph from each module-level call is
//! followed through the project's functions (at most [`MAX_CALL_DEPTH`] deep) and classified by
//! the strongest effect it reaches: [`InitKind::Writes`] and [`InitKind::Opaque`] (an
//! init-named function whose body is outside the tree) go to `init_at_import`,
//! [`InitKind::Schema`] alone to `schema_at_import`.
use super::project::{Func, Project, Target};
use super::syntax::{self, CallArgs, children, text};
use super::tree::Module;
use super::{Finding, InitKind, Step, SwallowedRegistration};
use std::collections::{HashMap, HashSet};
use tree_sitter::Node;

/// How many project functions deep a call chain is followed.
pub(crate) const MAX_CALL_DEPTH: usize = 6;

/// Method names that write data.
const WRITE_CALLS: &[&str] = &[
    "commit",
    "add_all",
    "bulk_save_objects",
    "bulk_insert_mappings",
    "bulk_update_mappings",
    "insert_one",
    "insert_many",
    "executemany",
];

/// Methods that run SQL given as their first argument.
const SQL_CALLS: &[&str] = &["execute", "exec_driver_sql", "executescript"];

/// An effect found at the end of a call chain.
#[derive(Debug, Clone)]
struct Effect {
    kind: InitKind,
    chain: Vec<Step>,
}

fn rank(kind: InitKind) -> u8 {
    match kind {
        InitKind::Schema => 1,
        InitKind::Opaque => 2,
        InitKind::Writes => 3,
    }
}

/// Whether a function name reads like initialisation (`initialize_app`, `init_db`, `seed_data`);
/// `init_app` (a Flask extension binding itself to the app) is not.
pub(crate) fn init_like(name: &str) -> bool {
    let n = name.trim_start_matches('_').to_lowercase();
    if n == "init_app" {
        return false;
    }
    [
        "init",
        "initialize",
        "initialise",
        "setup",
        "bootstrap",
        "seed",
        "populate",
    ]
    .iter()
    .any(|w| n == *w || n.starts_with(&format!("{w}_")) || n.ends_with(&format!("_{w}")))
        || n.starts_with("initiali")
}

/// Whether a function whose body is not in the tree is likely to write the application's data
/// when called: `initialize_app`, `seed_data`, `populate`, `init_db`, `setup_database`; not
/// `setup_logging` or `init_sentry`.
fn opaque_init(name: &str) -> bool {
    let n = name.trim_start_matches('_').to_lowercase();
    n.starts_with("initiali")
        || n.starts_with("seed")
        || n.starts_with("populate")
        || (init_like(&n)
            && n.split('_').any(|w| {
                matches!(
                    w,
                    "db" | "database" | "data" | "schema" | "table" | "tables" | "models"
                )
            }))
}

struct Walker<'p, 'a> {
    p: &'p Project<'a>,
    /// Complete answers per function (`None` while one is being computed).
    memo: HashMap<(&'a str, usize), Option<Effect>>,
    in_progress: HashSet<(&'a str, usize)>,
    /// Set when an answer was cut short (depth limit, recursion): such answers are not kept.
    cut: bool,
}

impl<'a> Walker<'_, 'a> {
    /// The effect of one call, with the chain that leads to it (this call first).
    fn call(&mut self, module: &'a Module, call: Node<'a>, depth: usize) -> Option<Effect> {
        let src = module.text();
        let callee = syntax::callee(call, src);
        let function = call.child_by_field_name("function")?;
        let mut step = Step {
            call: callee.clone().unwrap_or_else(|| short(text(function, src))),
            at: self.p.location(module, call),
            defined_at: None,
        };
        if let Some(kind) = direct_effect(call, callee.as_deref(), src) {
            return Some(Effect {
                kind,
                chain: vec![step],
            });
        }
        match self.p.resolve_at(module, function) {
            Target::Function(_) if depth >= MAX_CALL_DEPTH => {
                self.cut = true;
                None
            }
            Target::Function(func) => {
                step.defined_at = Some(self.p.location(func.module, func.def));
                let mut e = self.function(func, depth + 1)?;
                e.chain.insert(0, step);
                Some(e)
            }
            Target::External(path) if opaque_init(syntax::last_segment(&path)) => Some(Effect {
                kind: InitKind::Opaque,
                chain: vec![step],
            }),
            _ => None,
        }
    }

    /// The strongest effect a call made by this function's body reaches.
    fn function(&mut self, func: Func<'a>, depth: usize) -> Option<Effect> {
        match self.memo.get(&func.key()) {
            Some(None) if self.in_progress.contains(&func.key()) => {
                // Recursion: this call adds nothing, but the caller's answer is partial.
                self.cut = true;
                return None;
            }
            Some(known) => return known.clone(),
            None => {}
        }
        let outer_cut = std::mem::replace(&mut self.cut, false);
        self.in_progress.insert(func.key());
        self.memo.insert(func.key(), None);
        let best = self.body_effect(func, depth);
        self.in_progress.remove(&func.key());
        // A cut answer may miss effects, unless it already found the strongest one.
        let complete = best.as_ref().is_some_and(|e| e.kind == InitKind::Writes);
        if self.cut && !complete {
            self.memo.remove(&func.key());
        } else {
            self.memo.insert(func.key(), best.clone());
        }
        self.cut |= outer_cut;
        best
    }

    fn body_effect(&mut self, func: Func<'a>, depth: usize) -> Option<Effect> {
        let body = syntax::body(func.def)?;
        let mut calls = Vec::new();
        syntax::walk_body(body, |n| {
            if let Some(c) = as_call(n) {
                calls.push(c);
            }
        });
        let mut best: Option<Effect> = None;
        for c in calls {
            if let Some(e) = self.call(func.module, c, depth)
                && best.as_ref().is_none_or(|b| rank(e.kind) > rank(b.kind))
            {
                let done = e.kind == InitKind::Writes;
                best = Some(e);
                if done {
                    break;
                }
            }
        }
        best
    }
}

/// The node as a call expression, if it is one. (A bare decorator such as `@with_db_session`
/// also calls its function at import, but a decorator that initialises has not been seen in the
/// wild: left out.)
fn as_call(n: Node) -> Option<Node> {
    (n.kind() == "call").then_some(n)
}

/// A call's own effect, without following it: data writes, or schema creation.
fn direct_effect(call: Node, callee: Option<&str>, src: &str) -> Option<InitKind> {
    let last = syntax::last_segment(callee?);
    if WRITE_CALLS.contains(&last) {
        return Some(InitKind::Writes);
    }
    if last == "create_all" {
        return Some(InitKind::Schema);
    }
    if last == "upgrade" {
        let c = callee.unwrap_or("");
        if c.contains("command") || c.contains("migrate") || c.contains("alembic") {
            return Some(InitKind::Schema);
        }
    }
    if SQL_CALLS.contains(&last) {
        let first = CallArgs::of(call, src).positional.into_iter().next()?;
        let sql = syntax::string_value(first, src).or_else(|| {
            // `text("...")` / `sa.text("...")`
            (first.kind() == "call"
                && syntax::callee(first, src).is_some_and(|c| syntax::last_segment(&c) == "text"))
            .then(|| CallArgs::of(first, src).positional.into_iter().next())
            .flatten()
            .and_then(|s| syntax::string_value(s, src))
        })?;
        let verb = sql
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        return match verb.as_str() {
            "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "MERGE" | "COPY" | "UPSERT" => {
                Some(InitKind::Writes)
            }
            "CREATE" | "ALTER" | "DROP" => Some(InitKind::Schema),
            _ => None,
        };
    }
    None
}

fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        let cut: String = one_line.chars().take(77).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

/// What calling `func` reaches: the strongest effect and its chain (the calls made by `func`'s
/// body first), for a gunicorn hook.
pub(crate) fn function_init<'a>(p: &Project<'a>, func: Func<'a>) -> Option<(InitKind, Vec<Step>)> {
    let mut w = Walker {
        p,
        memo: HashMap::new(),
        in_progress: HashSet::new(),
        cut: false,
    };
    w.function(func, 0).map(|e| (e.kind, e.chain))
}

/// Module-level calls of `modules` that reach initialisation: (`init_at_import`,
/// `schema_at_import`).
pub(crate) fn init_at_import<'a>(
    p: &Project<'a>,
    modules: &[&'a Module],
) -> (Vec<Finding>, Vec<Finding>) {
    let mut w = Walker {
        p,
        memo: HashMap::new(),
        in_progress: HashSet::new(),
        cut: false,
    };
    let mut init = Vec::new();
    let mut schema = Vec::new();
    for &m in modules {
        let mut calls = Vec::new();
        syntax::walk_import_time(m.root(), m.text(), |v| {
            if let Some(c) = as_call(v.node) {
                calls.push(c);
            }
        });
        // A call nested in another module-level call (`app = create_app(load())`) is reported
        // on its own; findings are per call.
        for c in calls {
            let Some(effect) = w.call(m, c, 0) else {
                continue;
            };
            let finding = Finding {
                what: what(&effect.chain),
                kind: effect.kind,
                at: p.location(m, c),
                chain: effect.chain,
            };
            match finding.kind {
                InitKind::Schema => schema.push(finding),
                _ => init.push(finding),
            }
        }
    }
    (init, schema)
}

/// The name a finding goes by: the first init-like call of the chain, else the function that
/// makes the effectful call, else the call itself.
pub(crate) fn what(chain: &[Step]) -> String {
    chain
        .iter()
        .find(|s| init_like(syntax::last_segment(&s.call)))
        .or_else(|| chain.len().checked_sub(2).map(|i| &chain[i]))
        .or(chain.first())
        .map_or_else(String::new, |s| s.call.clone())
}

/// `try:` blocks whose body registers blueprints (`register_blueprint`, or a project function
/// that does) and whose handler is broad (`except Exception`, `except BaseException`, bare
/// `except:`) and neither re-raises nor exits.
pub(crate) fn broad_except_register(p: &Project) -> Vec<SwallowedRegistration> {
    let mut out = Vec::new();
    for m in p.tree.modules() {
        let src = m.text();
        let mut tries = Vec::new();
        syntax::walk(m.root(), |n| {
            if n.kind() == "try_statement" {
                tries.push(n);
            }
            true
        });
        for t in tries {
            let Some(body) = t.child_by_field_name("body") else {
                continue;
            };
            let mut calls = Vec::new();
            syntax::walk_body(body, |n| {
                if n.kind() == "call" {
                    calls.push(n);
                }
            });
            let mut seen = HashSet::new();
            let Some(reg) = calls
                .into_iter()
                .find(|c| registers_blueprints(p, m, *c, 0, &mut seen))
            else {
                continue;
            };
            for clause in children(t)
                .into_iter()
                .filter(|c| c.kind() == "except_clause")
            {
                if is_broad(clause, src) && !reraises(clause, src) {
                    out.push(SwallowedRegistration {
                        at: p.location(m, t),
                        handler_at: p.location(m, clause),
                        call: short(text(reg, src)),
                        handler: handler_head(clause, src),
                    });
                    break;
                }
            }
        }
    }
    out
}

/// `except Exception as exc:` without the handler's body or a trailing comment.
fn handler_head(clause: Node, src: &str) -> String {
    let end = children(clause)
        .into_iter()
        .find(|c| c.kind() == "block")
        .map_or(clause.end_byte(), |b| b.start_byte());
    let head = src.get(clause.start_byte()..end).unwrap_or("");
    let head = head.lines().next().unwrap_or("");
    short(head.split('#').next().unwrap_or(head).trim())
}

/// Whether a call registers blueprints, itself or through project functions (each function is
/// looked into once: `seen`).
fn registers_blueprints<'a>(
    p: &Project<'a>,
    m: &'a Module,
    call: Node<'a>,
    depth: usize,
    seen: &mut HashSet<(&'a str, usize)>,
) -> bool {
    let src = m.text();
    if syntax::callee(call, src)
        .is_some_and(|c| syntax::last_segment(&c).starts_with("register_blueprint"))
    {
        return true;
    }
    if depth >= MAX_CALL_DEPTH {
        return false;
    }
    let Some(func) = p.callee(m, call) else {
        return false;
    };
    if !seen.insert(func.key()) {
        return false;
    }
    let Some(body) = syntax::body(func.def) else {
        return false;
    };
    let mut calls = Vec::new();
    syntax::walk_body(body, |n| {
        if n.kind() == "call" {
            calls.push(n);
        }
    });
    calls
        .into_iter()
        .any(|c| registers_blueprints(p, func.module, c, depth + 1, seen))
}

fn is_broad(clause: Node, src: &str) -> bool {
    let names = super::project::exception_names(clause, src);
    let has_value = children(clause).iter().any(|c| c.kind() != "block");
    !has_value
        || names
            .iter()
            .any(|n| n == "Exception" || n == "BaseException")
}

/// Whether a handler re-raises or ends the process (`raise`, `sys.exit`, `os._exit`, `abort`).
fn reraises(clause: Node, src: &str) -> bool {
    let Some(block) = children(clause).into_iter().find(|c| c.kind() == "block") else {
        return false;
    };
    let mut found = false;
    syntax::walk_body(block, |n| match n.kind() {
        "raise_statement" => found = true,
        "call" => {
            if let Some(c) = syntax::callee(n, src)
                && matches!(
                    c.as_str(),
                    "sys.exit" | "os._exit" | "exit" | "quit" | "abort"
                )
            {
                found = true;
            }
        }
        _ => {}
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::python::project::tests::tree;

    fn run(files: &[(&str, &str)], entry: &str) -> (Vec<Finding>, Vec<Finding>) {
        let t = tree(files);
        let p = Project::new(&t);
        let m = t.module(entry).unwrap();
        init_at_import(&p, &[m])
    }

    const DB: &str = "\
def init_db():
    Base.metadata.create_all(engine)

def seed():
    session.add_all([1])
    session.commit()

def initialize_app():
    init_db()
    seed()
";

    #[test]
    fn create_app_reaching_a_commit_is_init_at_import() {
        let (init, schema) = run(
            &[
                ("db.py", DB),
                (
                    "server.py",
                    "import db\nfrom flask import Flask\n\ndef create_app():\n    app = Flask(__name__)\n    db.initialize_app()\n    return app\n\napp = create_app()\n",
                ),
            ],
            "server",
        );
        assert!(schema.is_empty(), "{schema:?}");
        assert_eq!(init.len(), 1, "{init:?}");
        let f = &init[0];
        assert_eq!(f.kind, InitKind::Writes);
        assert_eq!(f.what, "db.initialize_app");
        assert_eq!(f.at.line, 9);
        let chain: Vec<_> = f.chain.iter().map(|s| s.call.as_str()).collect();
        assert_eq!(
            chain,
            ["create_app", "db.initialize_app", "seed", "session.add_all"]
        );
    }

    #[test]
    fn idempotent_schema_creation_is_schema_only() {
        let (init, schema) = run(
            &[
                ("db.py", DB),
                ("server.py", "from db import init_db\ninit_db()\n"),
            ],
            "server",
        );
        assert!(init.is_empty());
        assert_eq!(schema.len(), 1);
        assert_eq!(schema[0].what, "init_db");
        assert_eq!(schema[0].kind, InitKind::Schema);
    }

    #[test]
    fn flask_blueprint_logging_and_env_are_not_init() {
        let (init, schema) = run(
            &[(
                "server.py",
                "import logging, os\nfrom flask import Flask, Blueprint\nlog = logging.getLogger('x')\nURL = os.environ.get('X')\napp = Flask(__name__)\nbp = Blueprint('b', __name__)\ndb.init_app(app)\n",
            )],
            "server",
        );
        assert!(init.is_empty() && schema.is_empty(), "{init:?} {schema:?}");
    }

    #[test]
    fn calls_in_function_bodies_and_main_guard_do_not_run_at_import() {
        let (init, _) = run(
            &[
                ("db.py", DB),
                (
                    "server.py",
                    "from db import initialize_app\ndef later():\n    initialize_app()\nif __name__ == '__main__':\n    initialize_app()\n",
                ),
            ],
            "server",
        );
        assert!(init.is_empty(), "{init:?}");
    }

    #[test]
    fn init_named_function_from_outside_is_opaque() {
        let (init, _) = run(
            &[(
                "server.py",
                "from analylit_core import initialize_app\ninitialize_app()\n",
            )],
            "server",
        );
        assert_eq!(init.len(), 1);
        assert_eq!(init[0].kind, InitKind::Opaque);
    }

    #[test]
    fn sql_text_is_classified() {
        let (init, schema) = run(
            &[(
                "server.py",
                "conn.execute(text(\"INSERT INTO t VALUES (1)\"))\nconn.execute('CREATE TABLE IF NOT EXISTS t (x int)')\nconn.execute('SELECT 1')\n",
            )],
            "server",
        );
        assert_eq!(init.len(), 1);
        assert_eq!(schema.len(), 1);
    }

    #[test]
    fn an_answer_cut_by_recursion_is_not_kept() {
        // `b` is first met inside the cycle a -> b -> a (cut short), then called directly.
        let (init, _) = run(
            &[(
                "server.py",
                "def a():\n    b()\n    session.commit()\ndef b():\n    a()\na()\nb()\n",
            )],
            "server",
        );
        let lines: Vec<_> = init.iter().map(|f| f.at.line).collect();
        assert_eq!(lines, [6, 7]);
    }

    #[test]
    fn recursion_is_bounded() {
        let (init, _) = run(
            &[("server.py", "def a():\n    b()\ndef b():\n    a()\na()\n")],
            "server",
        );
        assert!(init.is_empty());
    }

    #[test]
    fn broad_except_around_registration() {
        let t = tree(&[
            (
                "api.py",
                "def register_all(app):\n    app.register_blueprint(bp)\n",
            ),
            (
                "server.py",
                "\
from api import register_all
def create_app(app):
    try:
        register_all(app)
    except Exception as exc:
        app.logger.error(exc)
    try:
        app.register_blueprint(x)
    except:
        pass
    try:
        app.register_blueprint(y)
    except Exception:
        log(); raise
    try:
        app.register_blueprint(z)
    except KeyError:
        pass
    try:
        other()
    except Exception:
        pass
",
            ),
        ]);
        let p = Project::new(&t);
        let found = broad_except_register(&p);
        let lines: Vec<_> = found
            .iter()
            .map(|f| (f.at.line, f.handler_at.line))
            .collect();
        assert_eq!(lines, [(3, 5), (7, 9)]);
        assert_eq!(found[0].call, "register_all(app)");
    }

    #[test]
    fn outside_functions_count_only_when_named_like_data_init() {
        for yes in [
            "initialize_app",
            "init_db",
            "seed",
            "populate_defaults",
            "setup_database",
        ] {
            assert!(opaque_init(yes), "{yes}");
        }
        for no in ["setup_logging", "init_sentry", "init_app", "configure"] {
            assert!(!opaque_init(no), "{no}");
        }
    }

    #[test]
    fn init_like_names() {
        for yes in [
            "initialize_app",
            "init_db",
            "init",
            "seed_default_data",
            "setup",
            "_init_db_command",
            "db_init",
        ] {
            assert!(init_like(yes), "{yes}");
        }
        for no in [
            "init_app",
            "create_app",
            "get_engine",
            "initial",
            "register_blueprints",
        ] {
            assert!(!init_like(no), "{no}");
        }
    }
}
