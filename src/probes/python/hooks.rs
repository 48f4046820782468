//! What gunicorn's config file and server hooks run in the app, and in which process.
//!
//! The same `initialize_app()` is harmless once and fatal once per worker, so where it runs
//! matters as much as whether it runs. gunicorn executes its config file in the master when it
//! loads it: module-level code there, and the import-time code of every module the file imports,
//! run once, and the workers forked afterwards inherit those modules already imported — they do
//! not import them again. `--preload` does the same for the application module. A server hook
//! runs where gunicorn calls it ([`HookRuns`]): `post_fork` and `post_worker_init` in every
//! worker, `pre_fork` in the master once per worker, `on_starting` and `when_ready` once in the
//! master. So a hook's body is followed like a module-level call ([`super::init`]): the calls it
//! makes, through the project's functions, and the modules it imports (whose import-time code
//! runs then, unless the master already imported them).
//!
//! Imports made by the functions a hook calls are not followed, only the hook's own.
use super::gunicorn::config::hook_sites;
use super::init::{self, function_init};
use super::project::{Func, Project, Target};
use super::tree::Module;
use super::{Finding, HookInit, InitKind, MasterImport, MasterReason, Startup, Step};
use std::collections::{BTreeSet, VecDeque};

/// What the config file and its hooks run.
#[derive(Debug, Default)]
pub(crate) struct HookAnalysis {
    pub config_init: Vec<Finding>,
    pub hook_init: Vec<HookInit>,
    pub master_imports: Vec<MasterImport>,
}

/// The modules importing `starts` executes (parents first), skipping those in `skip` (already
/// imported: Python does not run them again).
pub(crate) fn import_closure_from<'a>(
    p: &Project<'a>,
    starts: &[String],
    skip: &BTreeSet<String>,
) -> Vec<&'a Module> {
    walk_imports(p, starts, skip.clone(), true)
}

/// Every module `starts` can import, at module level or inside a function (an app factory's
/// `from api import register_blueprints`): what a served app may route.
pub(crate) fn reachable_from<'a>(p: &Project<'a>, starts: &[String]) -> Vec<&'a Module> {
    walk_imports(p, starts, BTreeSet::new(), false)
}

/// The modules reached from `starts` through their imports (parents first, each once, none of
/// `seen`): only those run at import time when `at_import_only`.
fn walk_imports<'a>(
    p: &Project<'a>,
    starts: &[String],
    mut seen: BTreeSet<String>,
    at_import_only: bool,
) -> Vec<&'a Module> {
    let mut order = Vec::new();
    let mut queue: VecDeque<String> = starts.iter().cloned().collect();
    while let Some(name) = queue.pop_front() {
        let parts: Vec<&str> = name.split('.').collect();
        for i in 1..=parts.len() {
            let prefix = parts[..i].join(".");
            let Some(m) = p.tree.module(&prefix) else {
                continue;
            };
            if !seen.insert(prefix.clone()) {
                continue;
            }
            order.push(m);
            for imp in p
                .imports(m.name())
                .iter()
                .filter(|i| i.at_import || !at_import_only)
            {
                queue.extend(imp.targets(p.tree, m.name()));
            }
        }
    }
    order
}

struct Master {
    list: Vec<MasterImport>,
    names: BTreeSet<String>,
}

impl Master {
    fn add(&mut self, m: &Module, reason: MasterReason, at: Option<super::Location>) {
        if self.names.insert(m.name().to_owned()) {
            self.list.push(MasterImport {
                module: m.name().to_owned(),
                path: m.path().to_owned(),
                reason,
                at,
            });
        }
    }
}

pub(crate) fn analyse<'a>(
    p: &Project<'a>,
    startup: &Startup,
    entry_closure: &[&'a Module],
) -> HookAnalysis {
    let mut master = Master {
        list: Vec::new(),
        names: BTreeSet::new(),
    };
    if startup.preload {
        for m in entry_closure {
            master.add(m, MasterReason::Preload, None);
        }
    }
    let Some(cfg) = startup
        .config_module
        .as_deref()
        .and_then(|n| p.tree.module(n))
    else {
        return HookAnalysis {
            master_imports: master.list,
            ..HookAnalysis::default()
        };
    };
    // Loading the file: its module-level imports run in the master.
    let mut loaded: Vec<&'a Module> = vec![cfg];
    let entry: BTreeSet<&str> = entry_closure.iter().map(|m| m.name()).collect();
    for imp in p.imports(cfg.name()).iter().filter(|i| i.at_import) {
        let at = p.location(cfg, imp.node);
        for target in imp.targets(p.tree, cfg.name()) {
            let mut skip = master.names.clone();
            skip.insert(cfg.name().to_owned());
            for m in import_closure_from(p, &[target], &skip) {
                master.add(m, MasterReason::ConfigFile, Some(at.clone()));
                // Modules of the app's own import closure are reported there, once.
                if !entry.contains(m.name()) {
                    loaded.push(m);
                }
            }
        }
    }
    let (config_init, _) = init::init_at_import(p, &loaded);

    // Master hooks run before any worker is forked: their imports are the workers' too.
    let mut sites = hook_sites(cfg);
    sites.sort_by_key(|h| !(h.runs.in_master() && h.runs.at_start()));
    let mut hook_init = Vec::new();
    for site in sites {
        let func = match site.value {
            None => Func {
                module: cfg,
                def: site.stmt,
            },
            Some(v) => match p.resolve_expr(cfg, v) {
                Target::Function(f) => f,
                _ => continue,
            },
        };
        let at = p.location(cfg, site.stmt);
        let hook = |init: Finding, via_import: Option<String>| HookInit {
            hook: site.name.to_owned(),
            runs: site.runs,
            at: at.clone(),
            via_import,
            init,
        };
        // The imports the hook makes.
        let own = |i: &&super::project::Import<'a>| {
            !i.at_import
                && p.enclosing_function(func.module, i.node)
                    .is_some_and(|f| f.id() == func.def.id())
        };
        for imp in p.imports(func.module.name()).iter().filter(own) {
            let import_at = p.location(func.module, imp.node);
            for target in imp.targets(p.tree, func.module.name()) {
                let modules = import_closure_from(p, std::slice::from_ref(&target), &master.names);
                let (found, _) = init::init_at_import(p, &modules);
                for f in found {
                    let mut chain = vec![Step {
                        call: format!("import {target}"),
                        at: import_at.clone(),
                        defined_at: None,
                    }];
                    chain.extend(f.chain.iter().cloned());
                    hook_init.push(hook(Finding { chain, ..f }, Some(target.clone())));
                }
                if site.runs.in_master() && site.runs.at_start() {
                    for m in modules {
                        master.add(
                            m,
                            MasterReason::Hook(site.name.to_owned()),
                            Some(import_at.clone()),
                        );
                    }
                }
            }
        }
        // The calls it makes.
        if let Some((kind, chain)) = function_init(p, func)
            && kind != InitKind::Schema
            && let Some(first) = chain.first()
        {
            hook_init.push(hook(
                Finding {
                    what: init::what(&chain),
                    kind,
                    at: first.at.clone(),
                    chain,
                },
                None,
            ));
        }
    }
    HookAnalysis {
        config_init,
        hook_init,
        master_imports: master.list,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Analysis, SourceFile, SourceTree, analyse_startup};
    use super::*;
    use crate::probes::python::project::tests::tree;
    use crate::probes::python::{HookRuns, WsgiTarget};

    /// The analysis of `files` (under /app) started by gunicorn with `conf` as its config file.
    fn run(files: &[(&str, &str)], conf: &str, preload: bool) -> Analysis {
        let mut t: SourceTree = tree(files);
        let config = t.add_script(
            "__config__",
            SourceFile {
                path: "/etc/gunicorn/conf.py".into(),
                text: conf.into(),
            },
        );
        analyse_startup(
            &t,
            &Startup {
                target: WsgiTarget::parse("server:app"),
                config_module: config,
                preload,
            },
        )
    }

    /// The app's module runs `initialize_app()` when imported; its factory does not.
    const APP: &[(&str, &str)] = &[
        (
            "globals.py",
            "def initialize_app():\n    session.add(1)\n    session.commit()\n",
        ),
        (
            "boot.py",
            "from globals import initialize_app\ninitialize_app()\n",
        ),
        (
            "server.py",
            "from flask import Flask\napp = Flask(__name__)\n",
        ),
    ];

    #[test]
    fn a_post_fork_importing_a_module_that_inits_at_import() {
        let a = run(
            APP,
            "def post_fork(server, worker):\n    import boot\n",
            false,
        );
        assert!(a.init_at_import.is_empty(), "{:?}", a.init_at_import);
        assert_eq!(a.hook_init.len(), 1, "{:?}", a.hook_init);
        let h = &a.hook_init[0];
        assert_eq!(
            (h.hook.as_str(), h.runs),
            ("post_fork", HookRuns::WorkerBoot)
        );
        assert_eq!(h.at.to_string(), "/etc/gunicorn/conf.py:1");
        assert_eq!(h.via_import.as_deref(), Some("boot"));
        let chain: Vec<&str> = h.init.chain.iter().map(|s| s.call.as_str()).collect();
        assert_eq!(chain, ["import boot", "initialize_app", "session.commit"]);
        assert_eq!(h.init.at.to_string(), "/app/boot.py:2");
    }

    #[test]
    fn an_import_the_master_already_made_runs_no_more_in_the_workers() {
        let a = run(
            APP,
            "import boot\ndef post_fork(server, worker):\n    import boot\n",
            false,
        );
        assert!(a.hook_init.is_empty(), "{:?}", a.hook_init);
        // Loading the config file ran it, once.
        assert_eq!(a.config_init.len(), 1, "{:?}", a.config_init);
        assert_eq!(a.config_init[0].at.to_string(), "/app/boot.py:2");
        let m: Vec<(&str, &MasterReason)> = a
            .master_imports
            .iter()
            .map(|m| (m.module.as_str(), &m.reason))
            .collect();
        assert!(m.contains(&("boot", &MasterReason::ConfigFile)), "{m:?}");
    }

    #[test]
    fn a_hook_bound_to_a_function_of_another_module() {
        let mut files = APP.to_vec();
        files.push((
            "hooks.py",
            "def on_fork(server, worker):\n    from globals import initialize_app\n    initialize_app()\n",
        ));
        let a = run(
            &files,
            "from hooks import on_fork\npost_fork = on_fork\n",
            false,
        );
        assert_eq!(a.hook_init.len(), 1, "{:?}", a.hook_init);
        let h = &a.hook_init[0];
        assert_eq!(h.at.to_string(), "/etc/gunicorn/conf.py:2");
        assert_eq!(h.init.what, "initialize_app");
        assert_eq!(
            h.init.chain[0]
                .defined_at
                .as_ref()
                .map(|l| l.to_string())
                .as_deref(),
            Some("/app/globals.py:1")
        );
    }

    #[test]
    fn the_app_imported_by_the_config_file_or_preloaded_is_imported_once() {
        let server = [
            ("globals.py", APP[0].1),
            (
                "server.py",
                "from flask import Flask\nfrom globals import initialize_app\ninitialize_app()\napp = Flask(__name__)\n",
            ),
        ];
        let plain = run(&server, "workers = 2\n", false);
        assert_eq!(plain.init_at_import.len(), 1);
        assert!(plain.master_imports.is_empty());
        let by_config = run(&server, "from server import app\n", false);
        assert_eq!(by_config.init_at_import.len(), 1);
        // Reported once, with the app's import closure, not again as the config file's.
        assert!(
            by_config.config_init.is_empty(),
            "{:?}",
            by_config.config_init
        );
        assert!(
            by_config
                .master_imports
                .iter()
                .any(|m| m.module == "server" && m.reason == MasterReason::ConfigFile)
        );
        let preloaded = run(&server, "", true);
        assert!(
            preloaded
                .master_imports
                .iter()
                .any(|m| m.module == "server" && m.reason == MasterReason::Preload)
        );
    }

    #[test]
    fn when_ready_imports_are_the_masters_too() {
        let a = run(
            APP,
            "def when_ready(server):\n    import boot\ndef post_fork(server, worker):\n    import boot\n",
            false,
        );
        let hooks: Vec<(&str, HookRuns)> = a
            .hook_init
            .iter()
            .map(|h| (h.hook.as_str(), h.runs))
            .collect();
        assert_eq!(hooks, [("when_ready", HookRuns::MasterOnce)]);
    }
}
