//! The Python source analysis on the lab's real sources: the healthy app (fixtures/app) and each
//! stack's overlay of it (fixtures/stacks/<id>/app/... replaces the same path), read as the
//! doctor reads them from the image (root `/app`, paths `/app/...`); and the python probe's whole
//! judgement on fixtures/python/gunicorn-hook, whose gunicorn settings and `post_fork` hook live
//! in a config file.
use analylit_doctor::probes::Outcome;
use analylit_doctor::probes::python::probe::{judge_all, observe_files};
use analylit_doctor::probes::python::{
    Analysis, HandlerKind, InitKind, RouteMatch, SourceFile, SourceTree, WsgiTarget, analyse,
    gunicorn_invocation, match_route, script_runs_flask_command,
};
use analylit_doctor::rules::ProbeSpec;
use analylit_doctor::stack::snapshot::{ContainerSnapshot, EnvVar, HealthcheckConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every file under `dir`, keyed by its path relative to `dir` (bounded: the fixtures are small).
fn files_under(dir: &Path, out: &mut BTreeMap<String, String>) {
    let mut stack = vec![dir.to_path_buf()];
    let mut visited = 0;
    while let Some(d) = stack.pop() {
        visited += 1;
        assert!(visited < 1000, "fixture tree unexpectedly large");
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).expect("fixture is text");
                out.insert(rel, text);
            }
        }
    }
}

/// fixtures/app with the stack's overlay, as the image holds it under /app.
fn stack_files(stack: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    files_under(&fixtures().join("app"), &mut files);
    let overlay = fixtures().join("stacks").join(stack).join("app");
    if stack != "healthy" {
        assert!(overlay.is_dir(), "stack {stack} has no app overlay");
    }
    files_under(&overlay, &mut files);
    files
}

fn source_tree(stack: &str) -> SourceTree {
    let files = stack_files(stack)
        .into_iter()
        .map(|(rel, text)| SourceFile {
            path: format!("/app/{rel}"),
            text,
        })
        .collect();
    SourceTree::new("/app", files)
}

fn entry() -> WsgiTarget {
    WsgiTarget::parse("server_v4_complete:app").expect("target")
}

fn analysis(stack: &str) -> Analysis {
    analyse(&source_tree(stack), Some(&entry()))
}

/// The line of the first line of `path` (in the stack's files) that contains `needle`.
fn line_of(stack: &str, path: &str, needle: &str) -> u32 {
    let files = stack_files(stack);
    let text = &files[path];
    let idx = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {path}"));
    u32::try_from(idx + 1).expect("small")
}

const HEALTH_URL: &str = "/api/settings/profiles";

#[test]
fn healthy_reports_nothing_but_the_route_map() {
    let a = analysis("healthy");
    assert!(a.init_at_import.is_empty(), "{:?}", a.init_at_import);
    assert!(a.broad_except_register.is_empty());
    assert!(a.undefined_names.is_empty(), "{:?}", a.undefined_names);
    assert!(a.missing_imports.is_empty(), "{:?}", a.missing_imports);
    assert!(a.import_cycles.is_empty(), "{:?}", a.import_cycles);
    assert!(a.none_rebound.is_empty(), "{:?}", a.none_rebound);
    assert!(
        a.undecorated_handlers.is_empty(),
        "{:?}",
        a.undecorated_handlers
    );
    assert!(a.app_context_at_import.is_empty());
    assert!(a.syntax_errors.is_empty());
    assert!(
        a.skipped.iter().all(|s| !s.path.ends_with(".py")),
        "{:?}",
        a.skipped
    );
    let wsgi = a.wsgi.as_ref().expect("checked");
    assert!(wsgi.module_found && wsgi.var_bound, "{wsgi:?}");
    assert_eq!(
        wsgi.bound_at.as_ref().map(|l| l.line),
        Some(line_of(
            "healthy",
            "server_v4_complete.py",
            "app = create_app()"
        ))
    );

    let urls: Vec<(&str, bool)> = a
        .routes
        .iter()
        .map(|r| (r.url.as_str(), r.registered))
        .collect();
    assert_eq!(
        urls,
        [
            ("/api/health", true),
            ("/api/healthz", true),
            ("/api/projects", true),
            ("/api/settings/profiles", true),
        ]
    );
    match match_route(&a.routes, HEALTH_URL) {
        RouteMatch::Exact(r) => {
            assert_eq!(r.function, "list_profiles");
            assert_eq!(r.blueprint.as_deref(), Some("settings"));
            assert_eq!(r.prefix.as_deref(), Some("/api"));
            assert_eq!(r.rule, "/settings/profiles");
            assert_eq!(r.methods, ["GET"]);
            assert_eq!(r.at.file, "/app/api/settings.py");
        }
        other => panic!("{other:?}"),
    }
    // What the report and JSON output get.
    let json = serde_json::to_value(&a).expect("serializable");
    assert_eq!(json["routes"].as_array().map(Vec::len), Some(4));
    assert_eq!(json["wsgi"]["target"]["var"], "app");
    assert_eq!(json["schema_at_import"][0]["kind"], "schema");
    // The healthy app creates its schema at import (idempotent): evidence, not a fault.
    assert_eq!(a.schema_at_import.len(), 1, "{:?}", a.schema_at_import);
    assert_eq!(a.schema_at_import[0].what, "init_db");
}

#[test]
fn gunicorn_worker_reinit() {
    let stack = "gunicorn-worker-reinit";
    let a = analysis(stack);
    assert_eq!(a.init_at_import.len(), 1, "{:?}", a.init_at_import);
    let f = &a.init_at_import[0];
    assert_eq!(f.what, "app_globals.initialize_app");
    assert_eq!(f.kind, InitKind::Writes);
    assert_eq!(f.at.file, "/app/server_v4_complete.py");
    assert_eq!(
        f.at.line,
        line_of(stack, "server_v4_complete.py", "app = create_app()")
    );
    let chain: Vec<&str> = f.chain.iter().map(|s| s.call.as_str()).collect();
    assert_eq!(
        chain[..3],
        [
            "create_app",
            "app_globals.initialize_app",
            "seed_default_data"
        ]
    );
    assert_eq!(
        f.chain[1].at.line,
        line_of(
            stack,
            "server_v4_complete.py",
            "app_globals.initialize_app()"
        )
    );

    assert_eq!(
        a.broad_except_register.len(),
        1,
        "{:?}",
        a.broad_except_register
    );
    let b = &a.broad_except_register[0];
    assert_eq!(b.call, "register_blueprints(app)");
    assert_eq!(b.handler, "except Exception as exc:");
    assert_eq!(b.at.line, line_of(stack, "server_v4_complete.py", "try:"));
    assert_eq!(
        b.handler_at.line,
        line_of(stack, "server_v4_complete.py", "except Exception")
    );

    assert!(a.undefined_names.is_empty(), "{:?}", a.undefined_names);
    assert!(a.missing_imports.is_empty());
    assert!(matches!(
        match_route(&a.routes, HEALTH_URL),
        RouteMatch::Exact(_)
    ));
}

#[test]
fn engine_used_before_init() {
    let stack = "engine-used-before-init";
    let a = analysis(stack);
    assert_eq!(a.none_rebound.len(), 1, "{:?}", a.none_rebound);
    let n = &a.none_rebound[0];
    assert_eq!(
        (n.module.as_str(), n.name.as_str()),
        ("utils.database", "engine")
    );
    assert_eq!(
        n.bound_at.line,
        line_of(stack, "utils/database.py", "engine = None")
    );
    assert_eq!(
        n.rebound_at.line,
        line_of(stack, "utils/database.py", "engine = create_engine(")
    );
    assert_eq!(n.imported_at.len(), 1);
    assert_eq!(n.imported_at[0].file, "/app/api/settings.py");
    assert_eq!(
        n.imported_at[0].line,
        line_of(
            stack,
            "api/settings.py",
            "from utils.database import engine"
        )
    );
    assert!(a.undefined_names.is_empty() && a.missing_imports.is_empty());
    assert!(a.init_at_import.is_empty());
}

#[test]
fn import_name_missing() {
    let stack = "import-name-missing";
    let a = analysis(stack);
    let session: Vec<_> = a
        .missing_imports
        .iter()
        .filter(|m| m.name == "Session")
        .collect();
    assert!(!session.is_empty(), "{:?}", a.missing_imports);
    for m in &session {
        assert_eq!(m.module, "utils.database");
        assert_eq!(
            m.defined_nearby.first().map(String::as_str),
            Some("ScopedSession")
        );
    }
    // The importer the scenario names, at its line.
    let files: Vec<(&str, u32)> = session
        .iter()
        .map(|m| (m.at.file.as_str(), m.at.line))
        .collect();
    assert!(
        files.contains(&(
            "/app/utils/app_globals.py",
            line_of(stack, "utils/app_globals.py", "from utils.database import")
        )),
        "{files:?}"
    );
    // __all__ of app_globals lists Session, which it no longer binds: not reported twice as an
    // undefined name, since the failed import binds it.
    assert!(a.undefined_names.is_empty(), "{:?}", a.undefined_names);
}

#[test]
fn name_not_defined() {
    let stack = "name-not-defined";
    let a = analysis(stack);
    let uses: Vec<(&str, &str, u32)> = a
        .undefined_names
        .iter()
        .map(|u| (u.name.as_str(), u.at.file.as_str(), u.at.line))
        .collect();
    assert!(!uses.is_empty());
    assert!(
        uses.iter()
            .all(|(n, f, _)| *n == "init_db" && *f == "/app/server_v4_complete.py"),
        "{uses:?}"
    );
    let first_use = line_of(stack, "server_v4_complete.py", "    init_db()");
    assert_eq!(uses[0].2, first_use);
    // An undefined function is no initialisation.
    assert!(a.init_at_import.is_empty(), "{:?}", a.init_at_import);
}

#[test]
fn blueprint_prefix_mismatch() {
    let a = analysis("blueprint-prefix-mismatch");
    match match_route(&a.routes, HEALTH_URL) {
        RouteMatch::PrefixDoubled { route } => {
            assert_eq!(route.url, "/api/api/settings/profiles");
            assert_eq!(route.rule, "/api/settings/profiles");
            assert_eq!(route.prefix.as_deref(), Some("/api"));
            assert_eq!(route.function, "list_profiles");
        }
        other => panic!("{other:?}"),
    }
    assert!(a.undefined_names.is_empty() && a.missing_imports.is_empty());
}

#[test]
fn route_not_decorated() {
    let stack = "route-not-decorated";
    let a = analysis(stack);
    let handlers: Vec<(&str, HandlerKind, &str, u32)> = a
        .undecorated_handlers
        .iter()
        .map(|h| (h.function.as_str(), h.kind, h.at.file.as_str(), h.at.line))
        .collect();
    assert_eq!(
        handlers,
        [
            (
                "health_check",
                HandlerKind::Route,
                "/app/api/health.py",
                line_of(stack, "api/health.py", "def health_check")
            ),
            (
                "shutdown_session",
                HandlerKind::Teardown,
                "/app/server_v4_complete.py",
                line_of(stack, "server_v4_complete.py", "def shutdown_session")
            ),
        ]
    );
    let hints: Vec<Option<&str>> = a
        .undecorated_handlers
        .iter()
        .map(|h| h.suggested_decorator.as_deref())
        .collect();
    assert_eq!(
        hints,
        [
            Some("@health_bp.route(...)"),
            Some("@app.teardown_appcontext")
        ]
    );
    assert_eq!(match_route(&a.routes, "/api/health"), RouteMatch::NoRoute);
    assert!(matches!(
        match_route(&a.routes, "/api/healthz"),
        RouteMatch::Exact(_)
    ));
}

#[test]
fn entrypoint_of_the_lab_image() {
    let files = stack_files("healthy");
    let script = &files["entrypoint.sh"];
    let g = gunicorn_invocation(&["/app/entrypoint.sh".to_owned()], Some(script), &[])
        .expect("the entrypoint runs gunicorn");
    assert_eq!(g.target, Some(entry()));
    assert_eq!(g.workers, Some(3));
    assert!(!g.preload);
    let flask = script_runs_flask_command(script);
    assert_eq!(flask.len(), 1);
    assert_eq!(flask[0].command, "init-db");
    assert_eq!(
        flask[0].line,
        line_of("healthy", "entrypoint.sh", "flask init-db ||")
    );
}

#[test]
fn wrong_wsgi_variable_suggests_the_app() {
    let a = analyse(
        &source_tree("healthy"),
        WsgiTarget::parse("server_v4_complete:application").as_ref(),
    );
    let w = a.wsgi.expect("checked");
    assert!(w.module_found && !w.var_bound);
    assert_eq!(w.candidates, ["app", "create_app()"]);
}

/// fixtures/python/gunicorn-hook as the image holds it: every file under /app.
fn hook_image() -> std::collections::BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    files_under(&fixtures().join("python").join("gunicorn-hook"), &mut files);
    files
        .into_iter()
        .map(|(rel, text)| (format!("/app/{rel}"), text))
        .collect()
}

/// The web container of that image: `./entrypoint.sh` in /app, checked on port 5000.
fn hook_container(env: &[(&str, &str)]) -> ContainerSnapshot {
    ContainerSnapshot {
        name: "web_1".into(),
        service: "web".into(),
        working_dir: "/app".into(),
        command: vec!["./entrypoint.sh".into()],
        healthcheck: Some(HealthcheckConfig {
            test: vec![
                "CMD-SHELL".into(),
                "curl -f http://localhost:5000/api/health || exit 1".into(),
            ],
            interval_ns: 0,
            timeout_ns: 0,
            start_period_ns: 0,
            retries: 3,
        }),
        env: env
            .iter()
            .map(|(k, v)| EnvVar {
                name: (*k).into(),
                value: (*v).into(),
            })
            .collect(),
        ..ContainerSnapshot::default()
    }
}

fn python(expect: &str) -> ProbeSpec {
    ProbeSpec::parse("python", expect).expect("a python expectation")
}

fn hook_line(path: &str, needle: &str) -> u32 {
    let files = hook_image();
    let text = &files[&format!("/app/{path}")];
    let idx = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {path}"));
    u32::try_from(idx + 1).expect("small")
}

#[test]
fn gunicorn_worker_reinit_through_a_post_fork_hook() {
    let obs = observe_files(&hook_container(&[]), &hook_image(), &[]).expect("observed");
    let conf = "/app/backend/config/gunicorn.conf.py";

    // gunicorn's settings come from the file named by `--conf` in the entrypoint.
    let e = obs.gunicorn().expect("gunicorn runs");
    assert_eq!(
        e.target.as_ref().and_then(|t| t.known()),
        WsgiTarget::parse("backend.server_v4_complete:app").as_ref()
    );
    assert_eq!(e.workers.known(), Some(&3));
    assert_eq!(
        e.workers.from.to_string(),
        format!(
            "{conf}:{}, GUNICORN_WORKERS unset",
            hook_line("backend/config/gunicorn.conf.py", "workers =")
        )
    );
    assert_eq!(e.preload.known(), Some(&false));
    let gunicorn_fact = &obs.facts()[0];
    assert!(
        gunicorn_fact.starts_with("gunicorn backend.server_v4_complete:app — workers 3 (")
            && gunicorn_fact.contains(&format!("bind 0.0.0.0:5000 ({conf}:")),
        "{gunicorn_fact}"
    );

    // The app module initialises nothing at import: the hook does, in every worker.
    let a = obs.analysis();
    assert!(a.init_at_import.is_empty(), "{:?}", a.init_at_import);
    assert_eq!(a.hook_init.len(), 1, "{:?}", a.hook_init);
    assert_eq!(a.hook_init[0].hook, "post_fork");
    assert!(
        a.master_imports
            .iter()
            .any(|m| m.module == "backend.server_v4_complete"),
        "{:?}",
        a.master_imports
    );

    let specs = [
        python("init-at-import"),
        python("route-prefix-mismatch"),
        python("health-route-absent"),
        python("health-port-unbound"),
    ];
    let results = judge_all(&specs, &obs, &[]);
    let init = &results[0];
    assert_eq!(init.outcome, Outcome::Confirmed, "{init:?}");
    assert_eq!(
        init.summary,
        format!(
            "post_fork ({conf}:{}) calls initialize_app() (/app/backend/utils/app_globals.py:{}) in every worker (workers = 3 from {conf}:{}, GUNICORN_WORKERS unset)",
            hook_line("backend/config/gunicorn.conf.py", "def post_fork"),
            hook_line("backend/utils/app_globals.py", "def initialize_app"),
            hook_line("backend/config/gunicorn.conf.py", "workers ="),
        )
    );
    assert!(
        init.facts
            .iter()
            .any(|f| f.contains("swallows errors of register_blueprints(app)")),
        "{:?}",
        init.facts
    );
    assert!(
        init.facts
            .iter()
            .any(|f| f.starts_with("gunicorn hook post_fork (")
                && f.ends_with("runs in every worker")),
        "{:?}",
        init.facts
    );
    // Not a route prefix: the route map serves the health path as asked.
    assert_eq!(results[1].outcome, Outcome::RuledOut, "{:?}", results[1]);
    assert!(
        results[1].summary.contains("/api/health is routed"),
        "{}",
        results[1].summary
    );
    assert_eq!(results[2].outcome, Outcome::RuledOut, "{:?}", results[2]);
    // The health check's port is the file's bind.
    assert_eq!(results[3].outcome, Outcome::RuledOut, "{:?}", results[3]);
}

#[test]
fn gunicorn_cmd_args_moves_the_bind_away_from_the_health_check() {
    let c = hook_container(&[("GUNICORN_CMD_ARGS", "--bind=0.0.0.0:80")]);
    let obs = observe_files(&c, &hook_image(), &[]).expect("observed");
    let r = judge_all(&[python("health-port-unbound")], &obs, &[]).remove(0);
    assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
    assert_eq!(
        r.summary,
        "the health check asks port 5000; gunicorn binds 80 (from GUNICORN_CMD_ARGS)"
    );
}
