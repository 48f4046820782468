//! Flask extensions bound twice to one app.
//!
//! A Flask extension (Flask-SQLAlchemy, Flask-Migrate, Flask-SocketIO, Flask-Limiter…) is bound
//! to an app by its constructor (`SQLAlchemy(app)`) or by `ext.init_app(app)`. Binding one
//! extension class to the same app a second time — two modules each making their own
//! `SQLAlchemy()`, or `init_app` called in `create_app()` and again in a helper it calls — is at
//! best wasted work and at worst fatal at import: Flask-SQLAlchemy 3 raises `A 'SQLAlchemy'
//! instance has already been registered on this Flask app`, and the gunicorn worker fails to boot.
//!
//! The registrations are collected per place that runs them — the top level of each module, and
//! each function with the functions it calls and hands the app to (followed a few calls deep,
//! with the app renamed to the callee's parameter) — and two of one extension class on one app
//! in one place are reported. The app is known by name: a local variable or parameter inside a
//! function, the module-level binding it resolves to at the top level.
use super::Location;
use super::project::{Func, ImportKind, Project, Target};
use super::syntax::{self, CallArgs, text, walk_body, walk_import_time};
use super::tree::Module;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use tree_sitter::Node;

/// How many calls deep registrations are followed from one function.
const MAX_DEPTH: usize = 4;

/// One extension class bound twice to one app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TwiceRegistered {
    /// The extension class as called (`SQLAlchemy`).
    pub extension: String,
    /// The app as written where the second registration happens (`app`).
    pub app: String,
    pub first: Location,
    pub second: Location,
    /// Where both run: `create_app` (with what it calls), or `module top level`.
    pub place: String,
}

/// A registration as seen from the place that runs it.
#[derive(Clone, Debug)]
struct Registration {
    /// The class's dotted path (`flask_sqlalchemy.SQLAlchemy`) or, when unknown, the object.
    class: String,
    /// The class as written.
    class_shown: String,
    /// `local:<name>` inside a function, `module:<module>.<name>` at the top level.
    app: String,
    app_shown: String,
    at: Location,
}

/// What is worth resolving: the names of extension classes and `flask_*` modules imported
/// anywhere, and the functions (by name) that register or call one that does. Resolving every
/// call of a large project is what costs; most calls are none of these.
struct Worth {
    classes: HashSet<String>,
    modules: HashSet<String>,
    functions: HashSet<String>,
}

impl Worth {
    fn of(p: &Project) -> Option<Worth> {
        let mut classes = HashSet::new();
        let mut modules = HashSet::new();
        for m in p.tree.modules() {
            for imp in p.imports(m.name()) {
                match &imp.kind {
                    ImportKind::From {
                        module: Some(src),
                        names,
                        ..
                    } if is_extension_class(&format!("{src}.x")) => {
                        classes.extend(
                            names
                                .iter()
                                .map(|n| n.alias.clone().unwrap_or_else(|| n.name.clone())),
                        );
                    }
                    ImportKind::Module { module, alias }
                        if is_extension_class(&format!("{module}.x")) =>
                    {
                        modules.insert(alias.clone().unwrap_or_else(|| module.clone()));
                    }
                    _ => {}
                }
            }
        }
        let init_app = p.tree.modules().any(|m| m.text().contains("init_app"));
        if classes.is_empty() && modules.is_empty() && !init_app {
            return None;
        }
        // Function bodies by name, to find who registers, and who calls those.
        let mut bodies: Vec<(String, &str)> = Vec::new();
        for m in p.tree.modules() {
            let src = m.text();
            syntax::walk(m.root(), |n| {
                if n.kind() == "function_definition"
                    && let (Some(name), Some(body)) =
                        (n.child_by_field_name("name"), n.child_by_field_name("body"))
                {
                    bodies.push((text(name, src).to_owned(), text(body, src)));
                }
                true
            });
        }
        let mentions = |body: &str, names: &HashSet<String>| {
            names.iter().any(|c| body.contains(&format!("{c}(")))
        };
        let mut functions: HashSet<String> = bodies
            .iter()
            .filter(|(_, b)| b.contains("init_app") || mentions(b, &classes))
            .map(|(n, _)| n.clone())
            .collect();
        for _ in 0..MAX_DEPTH {
            let more: Vec<String> = bodies
                .iter()
                .filter(|(n, b)| !functions.contains(n) && mentions(b, &functions))
                .map(|(n, _)| n.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            functions.extend(more);
        }
        Some(Worth {
            classes,
            modules,
            functions,
        })
    }

    /// Whether a call may register an extension or reach one that does.
    fn call(&self, f: Node, src: &str) -> bool {
        let Some(shown) = syntax::dotted(f, src) else {
            return false;
        };
        let last = syntax::last_segment(&shown);
        let first = shown.split('.').next().unwrap_or("");
        last == "init_app"
            || self.classes.contains(last)
            || self.modules.contains(first)
            || self.functions.contains(last)
    }
}

pub(crate) fn registered_twice(p: &Project) -> Vec<TwiceRegistered> {
    let mut out: Vec<TwiceRegistered> = Vec::new();
    let Some(worth) = Worth::of(p) else {
        return out;
    };
    let worth = &worth;
    let mut memo: HashMap<(String, usize), Vec<Registration>> = HashMap::new();
    // The top level of every module together: module-level apps are shared objects.
    let mut top: Vec<Registration> = Vec::new();
    for m in p.tree.modules() {
        let src = m.text();
        let mut calls = Vec::new();
        walk_import_time(m.root(), src, |v| {
            if v.node.kind() == "call" {
                calls.push(v.node);
            }
        });
        top.extend(
            calls
                .into_iter()
                .flat_map(|c| registrations_of_call(p, worth, m, c, None, &mut memo, 0)),
        );
        let mut defs = Vec::new();
        syntax::walk(m.root(), |n| {
            if n.kind() == "function_definition" {
                defs.push(n);
            }
            true
        });
        for def in defs {
            let func = Func { module: m, def };
            let regs = function_registrations(p, worth, func, &mut memo, 0);
            let name = def
                .child_by_field_name("name")
                .map_or("?", |n| text(n, src))
                .to_owned();
            report(&regs, &name, &mut out);
        }
    }
    report(&top, "module top level", &mut out);
    out.sort_by(|a, b| a.second.cmp(&b.second).then(a.first.cmp(&b.first)));
    out.dedup_by(|a, b| a.first == b.first && a.second == b.second);
    out
}

fn report(regs: &[Registration], place: &str, out: &mut Vec<TwiceRegistered>) {
    let mut seen: HashMap<(&str, &str), &Registration> = HashMap::new();
    for r in regs {
        match seen.get(&(r.class.as_str(), r.app.as_str())) {
            Some(first) if first.at != r.at => out.push(TwiceRegistered {
                extension: r.class_shown.clone(),
                app: r.app_shown.clone(),
                first: first.at.clone(),
                second: r.at.clone(),
                place: place.to_owned(),
            }),
            Some(_) => {}
            None => {
                seen.insert((r.class.as_str(), r.app.as_str()), r);
            }
        }
    }
}

/// The registrations running `func` makes, with apps named as `func` names them.
fn function_registrations<'a>(
    p: &Project<'a>,
    worth: &Worth,
    func: Func<'a>,
    memo: &mut HashMap<(String, usize), Vec<Registration>>,
    depth: usize,
) -> Vec<Registration> {
    let key = (func.module.name().to_owned(), func.def.id());
    if let Some(r) = memo.get(&key) {
        return r.clone();
    }
    // A recursion guard while this function is being computed.
    memo.insert(key.clone(), Vec::new());
    let mut calls = Vec::new();
    if let Some(body) = syntax::body(func.def) {
        walk_body(body, |n| {
            if n.kind() == "call" {
                calls.push(n);
            }
        });
    }
    let regs: Vec<Registration> = calls
        .into_iter()
        .flat_map(|c| registrations_of_call(p, worth, func.module, c, Some(func), memo, depth))
        .collect();
    memo.insert(key, regs.clone());
    regs
}

/// What the app argument of a registration is, as seen where it is written.
fn app_key<'a>(p: &Project<'a>, m: &'a Module, arg: Node<'a>, inside: Option<Func<'a>>) -> String {
    let src = m.text();
    if arg.kind() != "identifier" {
        return format!("expr:{}", text(arg, src));
    }
    let name = text(arg, src);
    if inside.is_some() {
        return format!("local:{name}");
    }
    match p.resolve_expr(m, arg) {
        Target::Value { module, name, .. } => format!("module:{}.{name}", module.name()),
        _ => format!("module:{}.{name}", m.name()),
    }
}

/// The app argument of a constructor or `init_app` call: `app=`, else the first positional.
fn app_argument<'a>(args: &CallArgs<'a>) -> Option<Node<'a>> {
    args.keyword("app")
        .or_else(|| args.positional.first().copied())
}

/// The extension class an object is made from, when the object is `name = Class(...)`.
fn class_of<'a>(p: &Project<'a>, m: &'a Module, obj: Node<'a>) -> Option<(String, String)> {
    match p.resolve_at(m, obj) {
        Target::Value { module, value, .. } if value.kind() == "call" => {
            let f = value.child_by_field_name("function")?;
            class_path(p, module, f)
        }
        _ => None,
    }
}

/// `(dotted path, as written)` of a class expression: an outside class by its import path, a
/// class of the tree by module and name.
fn class_path<'a>(p: &Project<'a>, m: &'a Module, f: Node<'a>) -> Option<(String, String)> {
    let shown = syntax::dotted(f, m.text())?;
    let last = syntax::last_segment(&shown).to_owned();
    match p.resolve_at(m, f) {
        Target::External(path) => Some((path, last)),
        Target::Class => Some((format!("{}.{shown}", m.name()), last)),
        _ => None,
    }
}

/// Whether an outside class is a Flask extension: it comes from a `flask_*` package (or the old
/// `flask.ext` namespace).
fn is_extension_class(path: &str) -> bool {
    let root = path.split('.').next().unwrap_or("");
    root.starts_with("flask_") || path.starts_with("flask.ext.")
}

fn registrations_of_call<'a>(
    p: &Project<'a>,
    worth: &Worth,
    m: &'a Module,
    call: Node<'a>,
    inside: Option<Func<'a>>,
    memo: &mut HashMap<(String, usize), Vec<Registration>>,
    depth: usize,
) -> Vec<Registration> {
    let src = m.text();
    let Some(f) = call.child_by_field_name("function") else {
        return vec![];
    };
    if !worth.call(f, src) {
        return vec![];
    }
    let args = CallArgs::of(call, src);
    let at = p.location(m, call);
    // `ext.init_app(app)`.
    if f.kind() == "attribute"
        && f.child_by_field_name("attribute")
            .is_some_and(|a| text(a, src) == "init_app")
        && let Some(obj) = f.child_by_field_name("object")
        && let Some(app) = app_argument(&args)
    {
        let (class, class_shown) = class_of(p, m, obj).unwrap_or_else(|| {
            // Not made in the tree: the object itself is all that is known.
            let shown = text(obj, src).to_owned();
            (format!("object:{}:{shown}", m.name()), shown)
        });
        return vec![Registration {
            class,
            class_shown,
            app: app_key(p, m, app, inside),
            app_shown: text(app, src).to_owned(),
            at,
        }];
    }
    // `Extension(app)`: an extension class constructed with an app.
    if let Some((class, class_shown)) = class_path(p, m, f).filter(|(c, _)| is_extension_class(c)) {
        let app = args.keyword("app").or_else(|| {
            args.positional
                .first()
                .copied()
                .filter(|a| looks_like_app(p, m, *a))
        });
        return match app {
            Some(app) => vec![Registration {
                class,
                class_shown,
                app: app_key(p, m, app, inside),
                app_shown: text(app, src).to_owned(),
                at,
            }],
            None => vec![],
        };
    }
    // A function of the tree handed the app: its registrations, renamed.
    if depth >= MAX_DEPTH {
        return vec![];
    }
    let Some(callee) = p.callee(m, call) else {
        return vec![];
    };
    let params = callee
        .def
        .child_by_field_name("parameters")
        .map(|ps| syntax::parameter_names(ps, callee.module.text()))
        .unwrap_or_default();
    // Parameter name in the callee → the app key in the caller.
    let mut bound: HashMap<String, (String, String)> = HashMap::new();
    for (i, a) in args.positional.iter().enumerate() {
        if let Some(param) = params.get(i) {
            bound.insert(
                param.clone(),
                (app_key(p, m, *a, inside), text(*a, src).to_owned()),
            );
        }
    }
    for (name, v) in &args.keywords {
        bound.insert(
            name.clone(),
            (app_key(p, m, *v, inside), text(*v, src).to_owned()),
        );
    }
    function_registrations(p, worth, callee, memo, depth + 1)
        .into_iter()
        .filter_map(|mut r| match r.app.strip_prefix("local:") {
            Some(param) => {
                let (key, shown) = bound.get(param)?.clone();
                r.app = key;
                r.app_shown = shown;
                Some(r)
            }
            None => Some(r),
        })
        .collect()
}

/// Whether a positional argument is the app: a name bound to `Flask(...)` or a factory's result,
/// or simply called like one (`app`, `flask_app`, a parameter of that name).
fn looks_like_app<'a>(p: &Project<'a>, m: &'a Module, arg: Node<'a>) -> bool {
    if arg.kind() != "identifier" {
        return false;
    }
    let name = text(arg, m.text());
    if name == "app" || name.ends_with("_app") || name.starts_with("app_") {
        return true;
    }
    match p.resolve_at(m, arg) {
        Target::Value { module, value, .. } if value.kind() == "call" => value
            .child_by_field_name("function")
            .and_then(|f| syntax::dotted(f, module.text()))
            .is_some_and(|c| c == "Flask" || c.ends_with(".Flask") || c.ends_with("create_app")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::python::project::tests::tree;

    fn twice(files: &[(&str, &str)]) -> Vec<(String, String, String)> {
        let t = tree(files);
        let p = Project::new(&t);
        registered_twice(&p)
            .into_iter()
            .map(|r| (r.extension, r.first.to_string(), r.second.to_string()))
            .collect()
    }

    const EXT: (&str, &str) = (
        "extensions.py",
        "from flask_sqlalchemy import SQLAlchemy\nfrom flask_migrate import Migrate\ndb = SQLAlchemy()\nmigrate = Migrate()\n",
    );

    #[test]
    fn init_app_twice_in_the_factory_and_a_helper_it_calls() {
        let server = "\
from flask import Flask
from extensions import db, migrate

def init_extensions(application):
    db.init_app(application)

def create_app():
    app = Flask(__name__)
    db.init_app(app)
    migrate.init_app(app, db)
    init_extensions(app)
    return app

app = create_app()
";
        assert_eq!(
            twice(&[EXT, ("server.py", server)]),
            [(
                "SQLAlchemy".to_owned(),
                "/app/server.py:9".to_owned(),
                "/app/server.py:5".to_owned()
            )]
        );
    }

    #[test]
    fn two_instances_of_one_class_on_one_app() {
        let server = "\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from extensions import db

def create_app():
    app = Flask(__name__)
    db.init_app(app)
    other = SQLAlchemy(app)
    return app
";
        let found = twice(&[EXT, ("server.py", server)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, "/app/server.py:7");
        assert_eq!(found[0].2, "/app/server.py:8");
    }

    #[test]
    fn one_registration_each_and_two_apps_are_fine() {
        let server = "\
from flask import Flask
from extensions import db, migrate

def create_app():
    app = Flask(__name__)
    db.init_app(app)
    migrate.init_app(app, db)
    return app

def create_admin():
    admin = Flask('admin')
    db.init_app(admin)
    return admin

app = create_app()
";
        assert!(twice(&[EXT, ("server.py", server)]).is_empty());
    }

    #[test]
    fn module_level_constructors_in_two_modules_share_the_app() {
        let files = [
            (
                "server.py",
                "from flask import Flask\napp = Flask(__name__)\nimport models, other\n",
            ),
            (
                "models.py",
                "from flask_sqlalchemy import SQLAlchemy\nfrom server import app\ndb = SQLAlchemy(app)\n",
            ),
            (
                "other.py",
                "from flask_sqlalchemy import SQLAlchemy\nfrom server import app\ndb2 = SQLAlchemy(app)\n",
            ),
        ];
        let found = twice(&files);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].1.as_str(), found[0].2.as_str()),
            ("/app/models.py:3", "/app/other.py:3")
        );
    }
}
