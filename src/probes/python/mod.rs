//! Python source analysis: why the Flask app fails, read from its source, never by importing it.
//!
//! Importing the user's application to inspect it would re-run its initialisation (the very
//! thing that may be failing), so the doctor reads the `.py` files out of the image and parses
//! them. [`analyse`] answers the questions the failure catalogue asks of the source: what runs at
//! import ([`Analysis::init_at_import`]), which errors are swallowed around blueprint
//! registration, which names are used but never bound, which imports name nothing, import
//! cycles, `None` copied before it is set, handlers that lost their decorator, the static route
//! map, Flask proxies used at import, and whether the gunicorn `module:var` exists. Given how
//! gunicorn starts ([`Startup`]: its config file, `--preload`), [`analyse_startup`] also follows
//! the config file and its server hooks into the app ([`Analysis::hook_init`]) and says which
//! modules the master imports before forking ([`Analysis::master_imports`]), so an
//! initialisation can be placed: once in the master, or once per worker.
//! [`gunicorn`] reads how the container starts gunicorn and with which settings.
//! Everything here is pure and synchronous over text; the glue that reads files out of
//! containers lives elsewhere.
//!
//! Why tree-sitter (with tree-sitter-python) rather than rustpython-parser or ruff's parser:
//! it is maintained and released in step with its grammar; it is error-tolerant, so a file with
//! a syntax error still yields a tree (with `ERROR` nodes) and the rest of the project is still
//! analysed — a crash-looping container often has exactly such a file; it gives exact lines and
//! columns for every node; and it is a small C build with no Python toolchain. The price is an
//! untyped concrete syntax tree: node kinds are strings, which [`syntax`] keeps in one place.
//!
//! Bounds: a [`SourceTree`] keeps at most [`tree::MAX_FILES`] files of at most
//! [`tree::MAX_FILE_BYTES`]; walks are iterative; call chains, resolution hops and blueprint
//! nesting have fixed depths.
mod builtins;
mod extensions;
mod flask;
pub mod gunicorn;
mod hooks;
mod imports;
mod init;
pub mod migrations;
pub mod newer;
pub mod probe;
mod project;
mod scope;
mod shell;
mod syntax;
mod tree;

pub use extensions::TwiceRegistered;
pub use flask::match_route;
pub use gunicorn::{
    ConfigFile, Effective, FlaskCommand, Gunicorn, HookRuns, effective, gunicorn_invocation,
    read_config, script_runs_flask_command,
};
pub use newer::{NewerSyntax, PyVersion, newer_than};
pub use tree::{
    MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES, Module, SkipReason, Skipped, SourceFile, SourceTree,
};

use project::Project;
use serde::Serialize;
use std::collections::BTreeSet;

/// A place in the image's source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// The path in the image: `/app/server_v4_complete.py`.
    pub file: String,
    /// 1-based.
    pub line: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A gunicorn application target, `module:var`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WsgiTarget {
    /// Dotted module name: `server_v4_complete`.
    pub module: String,
    /// The variable (`app`), or a factory call (`create_app()`). Gunicorn's default is
    /// `application`.
    pub var: String,
}

impl WsgiTarget {
    /// `server:app` → module `server`, var `app`; `server` → var `application` (gunicorn's
    /// default). `None` for an empty module.
    pub fn parse(spec: &str) -> Option<WsgiTarget> {
        let (module, var) = match spec.split_once(':') {
            Some((m, v)) => (m.trim(), v.trim()),
            None => (spec.trim(), "application"),
        };
        if module.is_empty() || var.is_empty() {
            return None;
        }
        Some(WsgiTarget {
            module: module.to_owned(),
            var: var.to_owned(),
        })
    }
}

/// A name used at a place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NameUse {
    pub name: String,
    pub at: Location,
}

/// One call of a chain: the call as written (`app_globals.initialize_app`) and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub call: String,
    pub at: Location,
    /// Where the called function is defined, when it is a function of the tree.
    pub defined_at: Option<Location>,
}

/// What an import-time call chain ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    /// Data writes (`session.commit()`, `INSERT`): not safe to repeat per worker.
    Writes,
    /// An init-named function whose body is not in the tree (`initialize_app` from a package).
    Opaque,
    /// Schema creation only (`create_all`, `CREATE TABLE`): idempotent, though racy across
    /// workers (`init-ddl-race`).
    Schema,
}

/// A module-level call that reaches initialisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The initialisation, by the name it is called with: `app_globals.initialize_app`.
    pub what: String,
    pub kind: InitKind,
    /// The module-level call (`app = create_app()`).
    pub at: Location,
    /// From the module-level call down to the effect: `create_app` →
    /// `app_globals.initialize_app` → `seed_default_data` → `session.commit`.
    pub chain: Vec<Step>,
}

/// A `try:` around blueprint registration whose broad handler swallows the error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SwallowedRegistration {
    /// The `try:`.
    pub at: Location,
    /// The broad `except` clause.
    pub handler_at: Location,
    /// The registering call in the `try` body: `register_blueprints(app)`.
    pub call: String,
    /// The handler as written: `except Exception as exc:`.
    pub handler: String,
}

/// How gunicorn loads the app, as far as where code runs is concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Startup {
    /// The WSGI target.
    pub target: Option<WsgiTarget>,
    /// The config file's module in the tree (`__config__` for a file added with
    /// [`SourceTree::add_script`]).
    pub config_module: Option<String>,
    /// `--preload` / `preload_app`: the master imports the target before forking.
    pub preload: bool,
}

/// Why the master process imports a module before forking the workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MasterReason {
    /// `--preload` / `preload_app = True`.
    Preload,
    /// The config file imports it when gunicorn loads the file.
    ConfigFile,
    /// A master hook imports it (`on_starting`, `when_ready`, `pre_fork`).
    Hook(String),
}

/// A module the master imports before forking: its import-time code runs once, and the workers
/// inherit it imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MasterImport {
    pub module: String,
    pub path: String,
    pub reason: MasterReason,
    /// The import that leads there (the config file's or the hook's).
    pub at: Option<Location>,
}

/// An initialisation a gunicorn server hook reaches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HookInit {
    /// `post_fork`.
    pub hook: String,
    pub runs: HookRuns,
    /// Where the config file binds the hook (`def post_fork` or `post_fork = f`).
    pub at: Location,
    /// The module whose import-time code runs the init, when the hook reaches it by importing.
    pub via_import: Option<String>,
    /// The initialisation; its chain starts at the hook's own call (or import).
    pub init: Finding,
}

/// `from module import name` where `module` binds no `name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingImport {
    pub module: String,
    pub name: String,
    pub at: Location,
    /// Names `module` does bind that are close to `name` (a renamed export), closest first.
    pub defined_nearby: Vec<String>,
}

/// A cycle of module-level imports: `modules[i]` imports `modules[i + 1]` at `at[i]`, and the
/// last imports the first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportCycle {
    pub modules: Vec<String>,
    pub at: Vec<Location>,
}

/// `NAME = None` in `module`, rebound under `global NAME`, copied by value elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoneRebound {
    pub module: String,
    pub name: String,
    pub bound_at: Location,
    pub rebound_at: Location,
    /// The module-level `from module import NAME` that copy the `None`.
    pub imported_at: Vec<Location>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HandlerKind {
    /// Looks like a view (returns `jsonify(..)`, a `(body, status)` tuple, named `health*`...).
    Route,
    /// Looks like a teardown function (`shutdown_session(exception=None)`).
    Teardown,
    /// Looks like a CLI command (`init_db_command()`, talks through `click.echo`): without
    /// `@app.cli.command(...)`, `flask <command>` says `No such command`.
    Command,
}

/// A handler-like function with no decorator and no reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Handler {
    pub function: String,
    pub kind: HandlerKind,
    /// The `def`.
    pub at: Location,
    /// The decorator it most likely lost: `@health_bp.route(...)`, `@app.teardown_appcontext`.
    pub suggested_decorator: Option<String>,
}

/// One route of the static route map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The effective URL rule: prefix and rule joined as Flask joins them.
    pub url: String,
    /// The rule as written in `@route(...)`.
    pub rule: String,
    /// The effective prefix (`register_blueprint`'s `url_prefix`, else the blueprint's).
    pub prefix: Option<String>,
    pub methods: Vec<String>,
    /// The view function.
    pub function: String,
    /// The blueprint's name (`Blueprint("settings", ...)` → `settings`); `None` for app routes.
    pub blueprint: Option<String>,
    /// Whether the blueprint is registered anywhere (app routes always are).
    pub registered: bool,
    /// The `@route(...)` decorator (or `add_url_rule` call).
    pub at: Location,
}

/// How a URL path relates to the route map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteMatch<'a> {
    /// A registered route serves it.
    Exact(&'a Route),
    /// Only a route of a blueprint that is never registered would serve it.
    Unregistered(&'a Route),
    /// The route exists with the path's first segment twice (`/api/api/settings/profiles`).
    PrefixDoubled {
        route: &'a Route,
    },
    /// The route exists without the path's first segment (`/settings/profiles`).
    PrefixMissing {
        route: &'a Route,
    },
    NoRoute,
}

/// The WSGI target checked against its module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WsgiCheck {
    pub target: WsgiTarget,
    pub module_found: bool,
    /// The variable (or factory function) is bound at module level.
    pub var_bound: bool,
    /// Where it is first bound.
    pub bound_at: Option<Location>,
    /// When not bound: module-level names that look like the app (`app`, `create_app()`).
    pub candidates: Vec<String>,
}

/// Everything [`analyse`] found. Each list is empty when its question has nothing to report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// Module-level calls of the entry module and the project modules it imports at module
    /// level, whose call chain (followed through project functions) reaches data writes, or an
    /// init-named function outside the tree. Flask(..), Blueprint(..), logging and environment
    /// reads are not initialisation.
    pub init_at_import: Vec<Finding>,
    /// Like `init_at_import`, for chains that only create the schema (idempotent `create_all`):
    /// not a fault by itself, the evidence for `init-ddl-race`.
    pub schema_at_import: Vec<Finding>,
    /// `try:` blocks registering blueprints with a broad handler that does not re-raise.
    pub broad_except_register: Vec<SwallowedRegistration>,
    /// Names loaded but bound in no visible scope, not imported, not builtins; also `__all__`
    /// entries the module does not bind.
    pub undefined_names: Vec<NameUse>,
    /// `from X import Y` where X is in the tree and binds no Y.
    pub missing_imports: Vec<MissingImport>,
    /// Cycles among module-level imports of the tree.
    pub import_cycles: Vec<ImportCycle>,
    /// `NAME = None` rebound under `global`, copied at import by another module.
    pub none_rebound: Vec<NoneRebound>,
    /// Handler-like functions without decorator nor reference, in modules that do Flask routing.
    pub undecorated_handlers: Vec<Handler>,
    /// The static route map, sorted by URL.
    pub routes: Vec<Route>,
    /// `current_app`, `g`, `request`, `session` used at import.
    pub app_context_at_import: Vec<NameUse>,
    /// The WSGI target checked against the tree (when one was given).
    pub wsgi: Option<WsgiCheck>,
    /// Files the parser had to recover in (first error line of each).
    pub syntax_errors: Vec<Location>,
    /// Files not analysed, and why.
    pub skipped: Vec<Skipped>,
    /// Initialisation gunicorn's config file runs when gunicorn loads it (its module-level calls
    /// and the import-time code of the modules it imports, outside the app's own import
    /// closure): once, in the master.
    pub config_init: Vec<Finding>,
    /// Initialisation gunicorn's server hooks reach.
    pub hook_init: Vec<HookInit>,
    /// Modules the master imports before forking, and why.
    pub master_imports: Vec<MasterImport>,
    /// One Flask extension class bound twice to one app in one place.
    pub extension_registered_twice: Vec<TwiceRegistered>,
}

/// The stack of the thread an analysis runs on: the scope binder recurses with the syntax (up
/// to a fixed depth), which the 2 MiB of a test or tokio blocking thread may not hold in a debug
/// build. Only the pages used are committed.
const ANALYSIS_STACK: usize = 64 * 1024 * 1024;

/// Analyse `tree`. With an `entry` (the gunicorn target), import-time initialisation is looked
/// for in the entry module and the project modules it imports at module level; without, in
/// every module. The other questions cover the whole tree.
///
/// Runs on a thread of its own with a large stack (see [`ANALYSIS_STACK`]), joined before
/// returning; inline if that thread cannot be started.
pub fn analyse(tree: &SourceTree, entry: Option<&WsgiTarget>) -> Analysis {
    analyse_startup(
        tree,
        &Startup {
            target: entry.cloned(),
            ..Startup::default()
        },
    )
}

/// [`analyse`], knowing how gunicorn starts: its config file and its hooks are followed too.
pub fn analyse_startup(tree: &SourceTree, startup: &Startup) -> Analysis {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("python-analysis".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(s, || analyse_here(tree, startup));
        match worker {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => analyse_here(tree, startup),
        }
    })
}

fn analyse_here(tree: &SourceTree, startup: &Startup) -> Analysis {
    let p = Project::new(tree);
    let entry = startup.target.as_ref();
    let closure = entry
        .map(|e| hooks::import_closure_from(&p, std::slice::from_ref(&e.module), &BTreeSet::new()))
        .unwrap_or_default();
    let reached = match entry {
        Some(_) => closure.clone(),
        // The config file is gunicorn's, not the app's: its own code is `config_init`.
        None => tree
            .modules()
            .filter(|m| Some(m.name()) != startup.config_module.as_deref())
            .collect(),
    };
    // The routes of the app gunicorn serves: those of the modules its target can import. A
    // tree often holds other apps (a status service beside the main one); without a target
    // found in the tree, every module's.
    let served: Option<BTreeSet<&str>> =
        entry
            .filter(|e| p.tree.module(&e.module).is_some())
            .map(|e| {
                hooks::reachable_from(&p, std::slice::from_ref(&e.module))
                    .into_iter()
                    .map(|m| m.path())
                    .collect()
            });
    let routes = flask::routes(&p)
        .into_iter()
        .filter(|r| {
            served
                .as_ref()
                .is_none_or(|s| s.contains(r.at.file.as_str()))
        })
        .collect();
    let (init_at_import, schema_at_import) = init::init_at_import(&p, &reached);
    let hooks = hooks::analyse(&p, startup, &closure);
    Analysis {
        config_init: hooks.config_init,
        hook_init: hooks.hook_init,
        master_imports: hooks.master_imports,
        init_at_import,
        schema_at_import,
        broad_except_register: init::broad_except_register(&p),
        undefined_names: undefined_names(&p),
        missing_imports: imports::missing_imports(&p),
        import_cycles: imports::import_cycles(&p),
        none_rebound: imports::none_rebound(&p),
        undecorated_handlers: flask::undecorated_handlers(&p),
        routes,
        app_context_at_import: flask::app_context_at_import(&p),
        wsgi: entry.map(|e| flask::wsgi_check(&p, e)),
        syntax_errors: tree
            .modules()
            .filter_map(|m| {
                m.syntax_error_line().map(|line| Location {
                    file: m.path().to_owned(),
                    line,
                })
            })
            .collect(),
        skipped: tree.skipped().to_vec(),
        extension_registered_twice: extensions::registered_twice(&p),
    }
}

fn undefined_names(p: &Project) -> Vec<NameUse> {
    let mut out = Vec::new();
    for m in p.tree.modules() {
        let scope = p.scope(m.name());
        let at = |line| Location {
            file: m.path().to_owned(),
            line,
        };
        for (name, line) in &scope.undefined {
            out.push(NameUse {
                name: name.clone(),
                at: at(*line),
            });
        }
        for (name, line) in &scope.all_names {
            let submodule = m.is_package() && p.tree.importable(&format!("{}.{name}", m.name()));
            if !scope.may_bind(name) && !submodule {
                out.push(NameUse {
                    name: name.clone(),
                    at: at(*line),
                });
            }
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.name.cmp(&b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> SourceTree {
        project::tests::tree(files)
    }

    #[test]
    fn wsgi_targets_parse_like_gunicorn() {
        let t = WsgiTarget::parse("server:app").unwrap();
        assert_eq!((t.module.as_str(), t.var.as_str()), ("server", "app"));
        assert_eq!(WsgiTarget::parse("server").unwrap().var, "application");
        assert_eq!(
            WsgiTarget::parse("pkg.app:create_app()").unwrap().var,
            "create_app()"
        );
        assert_eq!(WsgiTarget::parse(":app"), None);
    }

    /// Seen on the lab's group-python: a status service beside the main app; its health check
    /// asks a route only the main app has, which the status app does not serve.
    #[test]
    fn the_route_map_is_the_served_apps() {
        let t = tree(&[
            (
                "server.py",
                "from flask import Flask\ndef create_app():\n    from api import bp\n    app = Flask(__name__)\n    app.register_blueprint(bp, url_prefix='/api')\n    return app\n",
            ),
            (
                "api.py",
                "from flask import Blueprint\nbp = Blueprint('api', __name__)\n@bp.route('/health')\ndef health():\n    return 'ok'\n",
            ),
            (
                "status.py",
                "from flask import Flask\napp = Flask(__name__)\n@app.route('/status')\ndef status():\n    return 'ok'\n",
            ),
        ]);
        let urls = |target: &str| -> Vec<String> {
            let target = WsgiTarget::parse(target).expect("target");
            analyse(&t, Some(&target))
                .routes
                .into_iter()
                .map(|r| r.url)
                .collect()
        };
        assert_eq!(urls("status:app"), ["/status"]);
        // Imported inside the factory: still the served app's.
        assert_eq!(urls("server:create_app()"), ["/api/health"]);
        // A target the tree does not hold: every module's routes.
        assert_eq!(urls("elsewhere:app").len(), 2);
    }

    #[test]
    fn a_syntax_error_file_still_lets_the_rest_be_analysed() {
        let t = tree(&[
            ("broken.py", "def f(:\n    return 1\nclass A(\n"),
            (
                "ok.py",
                "from missing_mod import x\ndef g():\n    return y\n",
            ),
        ]);
        let a = analyse(&t, None);
        assert_eq!(
            a.syntax_errors,
            [Location {
                file: "/app/broken.py".into(),
                line: 1
            }]
        );
        assert!(
            a.undefined_names
                .iter()
                .any(|u| u.name == "y" && u.at.file == "/app/ok.py" && u.at.line == 3),
            "{:?}",
            a.undefined_names
        );
    }

    #[test]
    fn deep_nesting_gives_up_on_that_module_without_crashing() {
        let deep = format!(
            "x = {}1{}\nprint(undefined_after_parens)\n",
            "(".repeat(20_000),
            ")".repeat(20_000)
        );
        let t = tree(&[
            ("deep.py", &deep),
            ("ok.py", "print(undefined_elsewhere)\n"),
        ]);
        let a = analyse(&t, None);
        let names: Vec<_> = a.undefined_names.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["undefined_elsewhere"]);
    }

    #[test]
    fn wsgi_check_finds_or_suggests() {
        let t = tree(&[(
            "server.py",
            "from flask import Flask\ndef create_app():\n    return Flask(__name__)\napplication = create_app()\n",
        )]);
        let ok = analyse(&t, WsgiTarget::parse("server:application").as_ref());
        let w = ok.wsgi.unwrap();
        assert!(w.module_found && w.var_bound);
        assert_eq!(w.bound_at.unwrap().line, 4);
        let factory = analyse(&t, WsgiTarget::parse("server:create_app()").as_ref());
        assert!(factory.wsgi.unwrap().var_bound);
        let wrong = analyse(&t, WsgiTarget::parse("server:app").as_ref())
            .wsgi
            .unwrap();
        assert!(wrong.module_found && !wrong.var_bound);
        assert_eq!(wrong.candidates, ["application", "create_app()"]);
        let none = analyse(&t, WsgiTarget::parse("srv:app").as_ref())
            .wsgi
            .unwrap();
        assert!(!none.module_found && !none.var_bound);
    }

    #[test]
    fn all_entries_must_be_bound() {
        let t = tree(&[
            (
                "pkg/__init__.py",
                "__all__ = ['sub', 'ghost', 'here']\nhere = 1\n",
            ),
            ("pkg/sub.py", ""),
        ]);
        let a = analyse(&t, None);
        let names: Vec<_> = a.undefined_names.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["ghost"]);
    }

    #[test]
    fn app_context_proxies_at_import() {
        let t = tree(&[(
            "m.py",
            "\
import flask
from flask import current_app, g as flask_g, request
log = current_app.logger
user = flask_g.user
def view():
    return request.args
with app.app_context():
    cfg = current_app.config
x = flask.session
",
        )]);
        let a = analyse(&t, None);
        let uses: Vec<_> = a
            .app_context_at_import
            .iter()
            .map(|u| (u.name.as_str(), u.at.line))
            .collect();
        assert_eq!(uses, [("current_app", 3), ("g", 4), ("session", 9)]);
    }

    #[test]
    fn import_closure_follows_module_level_imports_and_parents() {
        let t = tree(&[
            ("server.py", "from api import routes\n"),
            ("api/__init__.py", "from utils.db import x\n"),
            ("api/routes.py", "def f():\n    import lazy\n"),
            ("utils/__init__.py", ""),
            ("utils/db.py", "x = 1\n"),
            ("lazy.py", ""),
            ("unrelated.py", ""),
        ]);
        let p = Project::new(&t);
        let names: Vec<_> =
            hooks::import_closure_from(&p, &["server".to_owned()], &BTreeSet::new())
                .iter()
                .map(|m| m.name())
                .collect();
        assert_eq!(names, ["server", "api", "api.routes", "utils", "utils.db"]);
    }
}
