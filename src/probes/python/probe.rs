//! The `python` probe: read the app's source out of the image and answer the rule's question
//! from the analysis ([`super::analyse`]), never by importing the app.
//!
//! Where the source is: the gunicorn invocation (the container's argv, else the script it starts,
//! read through the archive endpoint) gives the `module:var` target and `--chdir`; the container's
//! working directory otherwise. The `.py` files under that directory are read in one bounded
//! archive stream (site-packages and caches left out), parsed once, and every `python` spec of
//! the finding is judged on the one analysis, focused by what the error names (the undefined name,
//! the missing import, the gunicorn target).
use super::{
    Analysis, Gunicorn, HandlerKind, RouteMatch, SourceFile, SourceTree, WsgiTarget, analyse,
    gunicorn_invocation, match_route,
};
use crate::probes::archive::{self, Entry, TreeLimits};
use crate::probes::{Ctx, Outcome, ProbeResult, entrypoint, http};
use crate::rules::{ProbeSpec, PythonExpectation};
use regex::Regex;
use std::sync::OnceLock;

/// The most bytes read of the script a container starts.
const SCRIPT_BYTES: usize = 64 * 1024;

/// What was read and parsed for one container.
struct Observation {
    analysis: Analysis,
    source: SourceTree,
    /// The module a `celery -A X worker` command loads (`X`, before any `:` or `.app`).
    celery_app: Option<String>,
    /// The container's log lines, for timing gunicorn's worker boots.
    logs: Vec<(Option<String>, String)>,
    gunicorn: Option<Gunicorn>,
    /// The health check's path (`/api/settings/profiles`), when it requests a local URL.
    health_path: Option<String>,
    facts: Vec<String>,
}

/// Judge every `python` spec for `ctx.container`.
pub async fn probe(specs: &[ProbeSpec], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    match observe(ctx).await {
        Ok(obs) => specs
            .iter()
            .map(|spec| {
                let ProbeSpec::Python { expect } = spec else {
                    unreachable!("python specs only")
                };
                judge(spec, *expect, &obs, ctx.hints)
            })
            .collect(),
        Err((why, facts)) => specs
            .iter()
            .map(|s| ProbeResult::unknown(s, why.clone(), &facts))
            .collect(),
    }
}

async fn observe(ctx: &Ctx<'_>) -> Result<Observation, (String, Vec<String>)> {
    let c = ctx.container;
    let docker = ctx.docker().map_err(|e| (e, vec![]))?;
    let env = ctx.env();
    let argv: Vec<String> = c.entrypoint.iter().chain(&c.command).cloned().collect();
    let mut facts = Vec::new();
    let script = match entrypoint::script_path(&c.entrypoint, &c.command, &c.working_dir) {
        Some(path) => {
            match archive::read(docker, &c.id, &path, SCRIPT_BYTES, ctx.opts.timeout).await {
                Ok(Entry::File { head, .. }) => Some(String::from_utf8_lossy(&head).into_owned()),
                _ => None,
            }
        }
        None => None,
    };
    let gunicorn = gunicorn_invocation(&argv, script.as_deref(), &env);
    // The target gunicorn said it could not load, when argv and script do not tell.
    if gunicorn.is_none()
        && let Some(target) = failed_target(ctx.hints)
    {
        facts.push(format!(
            "gunicorn target from the error: {}:{}",
            target.module, target.var
        ));
        return finish(ctx, docker, facts, None, Some(target)).await;
    }
    if let Some(g) = &gunicorn {
        facts.push(format!(
            "gunicorn {}:{} — {} worker(s), {}{}",
            g.target.module,
            g.target.var,
            g.workers.map_or("default".into(), |w| w.to_string()),
            if g.preload {
                "--preload"
            } else {
                "no --preload"
            },
            g.timeout_secs
                .map(|t| format!(", --timeout {t}"))
                .unwrap_or_default()
        ));
    }
    let target = gunicorn.as_ref().map(|g| g.target.clone());
    finish(ctx, docker, facts, gunicorn, target).await
}

async fn finish(
    ctx: &Ctx<'_>,
    docker: &bollard::Docker,
    mut facts: Vec<String>,
    gunicorn: Option<Gunicorn>,
    target: Option<WsgiTarget>,
) -> Result<Observation, (String, Vec<String>)> {
    let c = ctx.container;
    let root = gunicorn
        .as_ref()
        .and_then(|g| g.chdir.clone())
        .unwrap_or_else(|| c.working_dir.clone());
    if root.trim_end_matches('/').is_empty() {
        return Err((
            format!("{} works in `/`: no application directory to read", c.name),
            facts,
        ));
    }
    let keep = |p: &str| {
        p.ends_with(".py") && !p.contains("/site-packages/") && !p.contains("/__pycache__/")
    };
    let tree = archive::read_tree(
        docker,
        &c.id,
        &root,
        &keep,
        TreeLimits::default(),
        ctx.opts.timeout * 3,
    )
    .await
    .map_err(|e| (format!("reading {root}: {e}"), facts.clone()))?;
    facts.push(format!(
        "read {} Python file(s) under {root}{}",
        tree.files.len(),
        if tree.truncated {
            " (stopped at the limit)"
        } else {
            ""
        }
    ));
    let files = tree
        .files
        .into_iter()
        .map(|(path, bytes)| SourceFile {
            path,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
        .collect();
    let source = SourceTree::new(&root, files);
    let analysis = analyse(&source, target.as_ref());
    let env = ctx.env();
    let health_path = c
        .healthcheck
        .as_ref()
        .and_then(|h| http::health_url(&h.test, &env).ok())
        .map(|u| u.target.split('?').next().unwrap_or_default().to_owned());
    let argv: Vec<String> = c.entrypoint.iter().chain(&c.command).cloned().collect();
    Ok(Observation {
        analysis,
        source,
        celery_app: celery_app(&argv),
        logs: c
            .logs
            .lines
            .iter()
            .map(|l| (l.ts.clone(), l.text.clone()))
            .collect(),
        gunicorn,
        health_path,
        facts,
    })
}

fn first<'h>(hints: &'h [String], re: &Regex) -> Option<regex::Captures<'h>> {
    hints.iter().find_map(|h| re.captures(h))
}

/// `Failed to find attribute 'application' in 'server'.`
fn failed_target(hints: &[String]) -> Option<WsgiTarget> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"Failed to find attribute '([^']+)' in '([^']+)'").expect("regex")
    });
    first(hints, re).map(|c| WsgiTarget {
        module: c[2].to_owned(),
        var: c[1].to_owned(),
    })
}

fn judge(
    spec: &ProbeSpec,
    expect: PythonExpectation,
    obs: &Observation,
    hints: &[String],
) -> ProbeResult {
    use PythonExpectation as E;
    let a = &obs.analysis;
    let mut facts = obs.facts.clone();
    let mut r = |o: Outcome, s: String, more: Vec<String>| {
        facts.extend(more);
        ProbeResult::new(spec, o, s, &facts)
    };
    match expect {
        E::InitAtImport => match a.init_at_import.first() {
            Some(f) => {
                let workers = obs
                    .gunicorn
                    .as_ref()
                    .and_then(|g| g.workers)
                    .map_or("every worker".into(), |w| {
                        format!("each of the {w} workers")
                    });
                let chain: Vec<String> = f
                    .chain
                    .iter()
                    .map(|s| format!("{} ({})", s.call, s.at))
                    .collect();
                let mut more = vec![format!("call chain: {}", chain.join(" → "))];
                more.extend(a.broad_except_register.iter().map(|s| {
                    format!(
                        "{}: `{}` swallows errors of {}",
                        s.handler_at, s.handler, s.call
                    )
                }));
                r(
                    Outcome::Confirmed,
                    format!("{} calls {} at import: {workers} re-runs it", f.at, f.what),
                    more,
                )
            }
            None => r(
                Outcome::RuledOut,
                "no module-level call of the app reaches initialisation".into(),
                vec![],
            ),
        },
        E::UndefinedName => {
            static RE: OnceLock<Regex> = OnceLock::new();
            let re =
                RE.get_or_init(|| Regex::new(r"name '([^']+)' is not defined").expect("regex"));
            let named = first(hints, re).map(|c| c[1].to_owned());
            let hit = a
                .undefined_names
                .iter()
                .find(|u| named.as_ref().is_none_or(|n| *n == u.name));
            match (hit, named) {
                (Some(u), _) => {
                    // The module that defines the name, for the patch a person applies.
                    let def = Regex::new(&format!(
                        r"(?m)^(?:async\s+)?(?:def|class)\s+{n}\b|^{n}\s*(?::[^=]*)?=",
                        n = regex::escape(&u.name)
                    ))
                    .expect("escaped");
                    let home = obs
                        .source
                        .modules()
                        .find(|m| def.is_match(m.text()))
                        .map(|m| m.name().to_owned());
                    let mut result = r(
                        Outcome::Confirmed,
                        format!(
                            "{}: `{}` is used, and never defined nor imported{}",
                            u.at,
                            u.name,
                            home.as_deref()
                                .map(|m| format!(" (it is defined in {m})"))
                                .unwrap_or_default()
                        ),
                        vec![],
                    )
                    .with("name", u.name.clone())
                    .with("file", u.at.file.clone())
                    .with("line", u.at.line.to_string());
                    if let Some(m) = home {
                        result = result.with("import", format!("from {m} import {}", u.name));
                    }
                    result
                }
                (None, Some(n)) => r(
                    Outcome::RuledOut,
                    format!("`{n}` is bound in the app's source"),
                    vec![],
                ),
                (None, None) => r(Outcome::RuledOut, "every name used is bound".into(), vec![]),
            }
        }
        E::ImportNameMissing => {
            static RE: OnceLock<Regex> = OnceLock::new();
            let re = RE.get_or_init(|| {
                Regex::new(r"cannot import name '([^']+)' from '([^']+)'").expect("regex")
            });
            let named = first(hints, re).map(|c| (c[1].to_owned(), c[2].to_owned()));
            let hit = a.missing_imports.iter().find(|m| {
                named
                    .as_ref()
                    .is_none_or(|(n, module)| *n == m.name && *module == m.module)
            });
            match (hit, named) {
                (Some(m), _) => r(
                    Outcome::Confirmed,
                    format!(
                        "{}: `from {} import {}`, and {} binds no `{}`{}",
                        m.at,
                        m.module,
                        m.name,
                        m.module,
                        m.name,
                        if m.defined_nearby.is_empty() {
                            String::new()
                        } else {
                            format!(" (it binds {})", m.defined_nearby.join(", "))
                        }
                    ),
                    vec![],
                ),
                (None, Some((n, m))) => r(
                    Outcome::RuledOut,
                    format!("`{m}` binds `{n}` in the source, or is not part of the app"),
                    vec![],
                ),
                (None, None) => r(
                    Outcome::RuledOut,
                    "every import names a bound name".into(),
                    vec![],
                ),
            }
        }
        E::ImportCycle => match a.import_cycles.first() {
            Some(cy) => r(
                Outcome::Confirmed,
                format!(
                    "module-level imports form a cycle: {} → {}",
                    cy.modules.join(" → "),
                    cy.modules[0]
                ),
                cy.at.iter().map(|l| format!("import at {l}")).collect(),
            ),
            None => r(
                Outcome::RuledOut,
                "the module-level imports form no cycle".into(),
                vec![],
            ),
        },
        E::NoneRebound => match a.none_rebound.first() {
            Some(n) => r(
                Outcome::Confirmed,
                format!(
                    "{} binds `{} = None` ({}), rebinds it under `global` ({}), and {} copy the None at import",
                    n.module,
                    n.name,
                    n.bound_at,
                    n.rebound_at,
                    n.imported_at
                        .iter()
                        .map(|l| l.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                vec![],
            ),
            None => r(
                Outcome::RuledOut,
                "no module-level None is copied by value".into(),
                vec![],
            ),
        },
        E::HandlerUndecorated => match a.undecorated_handlers.first() {
            Some(h) => r(
                Outcome::Confirmed,
                format!(
                    "{}: `{}` looks like a {} but has no decorator and no caller{}",
                    h.at,
                    h.function,
                    match h.kind {
                        HandlerKind::Route => "view",
                        HandlerKind::Teardown => "teardown function",
                    },
                    h.suggested_decorator
                        .as_deref()
                        .map(|d| format!(" (lost `{d}`?)"))
                        .unwrap_or_default()
                ),
                a.undecorated_handlers[1..]
                    .iter()
                    .map(|h| format!("also {}: `{}`", h.at, h.function))
                    .collect(),
            ),
            None => r(
                Outcome::RuledOut,
                "every handler-like function is decorated or called".into(),
                vec![],
            ),
        },
        E::RoutePrefixMismatch => {
            let Some(path) = &obs.health_path else {
                return ProbeResult::unknown(
                    spec,
                    "the health check requests no local URL".into(),
                    &facts,
                );
            };
            match match_route(&a.routes, path) {
                RouteMatch::PrefixDoubled { route } | RouteMatch::PrefixMissing { route } => r(
                    Outcome::Confirmed,
                    format!(
                        "the health check asks {path}; the source routes it at {} ({})",
                        route.url, route.at
                    ),
                    vec![],
                ),
                RouteMatch::Exact(route) => r(
                    Outcome::RuledOut,
                    format!("{path} is routed ({})", route.at),
                    vec![],
                ),
                RouteMatch::Unregistered(route) => r(
                    Outcome::RuledOut,
                    format!(
                        "{path} belongs to a blueprint that is never registered ({})",
                        route.at
                    ),
                    vec![],
                ),
                RouteMatch::NoRoute => r(
                    Outcome::RuledOut,
                    format!("no route serves {path}, with or without a prefix"),
                    vec![],
                ),
            }
        }
        E::HealthRouteAbsent => {
            let Some(path) = &obs.health_path else {
                return ProbeResult::unknown(
                    spec,
                    "the health check requests no local URL".into(),
                    &facts,
                );
            };
            if a.routes.is_empty() {
                return ProbeResult::unknown(
                    spec,
                    "no route was found in the source read".into(),
                    &facts,
                );
            }
            match (match_route(&a.routes, path), a.undecorated_handlers.first()) {
                (RouteMatch::NoRoute, None) => r(
                    Outcome::Confirmed,
                    format!(
                        "no route of the app serves {path}, with or without a prefix ({} route(s) read)",
                        a.routes.len()
                    ),
                    a.routes
                        .iter()
                        .take(8)
                        .map(|route| format!("route {} ({})", route.url, route.at))
                        .collect(),
                ),
                (RouteMatch::NoRoute, Some(h)) => r(
                    Outcome::RuledOut,
                    format!(
                        "{}: `{}` has lost its decorator: the route exists in the source",
                        h.at, h.function
                    ),
                    vec![],
                ),
                (RouteMatch::Exact(route), _) => r(
                    Outcome::RuledOut,
                    format!("{path} is routed ({})", route.at),
                    vec![],
                ),
                (RouteMatch::PrefixDoubled { route } | RouteMatch::PrefixMissing { route }, _) => {
                    r(
                        Outcome::RuledOut,
                        format!(
                            "{path} is routed under another prefix: {} ({})",
                            route.url, route.at
                        ),
                        vec![],
                    )
                }
                (RouteMatch::Unregistered(route), _) => r(
                    Outcome::RuledOut,
                    format!(
                        "{path} belongs to a blueprint that is never registered ({})",
                        route.at
                    ),
                    vec![],
                ),
            }
        }
        E::WsgiTargetUnbound => match &a.wsgi {
            Some(w) if !w.module_found => ProbeResult::unknown(
                spec,
                format!("module {} is not in the source read", w.target.module),
                &facts,
            ),
            Some(w) if !w.var_bound => r(
                Outcome::Confirmed,
                format!(
                    "{} binds no `{}` at module level{}",
                    w.target.module,
                    w.target.var,
                    if w.candidates.is_empty() {
                        String::new()
                    } else {
                        format!(" (the app is `{}`)", w.candidates.join("`, `"))
                    }
                ),
                vec![],
            ),
            Some(w) => r(
                Outcome::RuledOut,
                format!(
                    "{}:{} is bound{}",
                    w.target.module,
                    w.target.var,
                    w.bound_at
                        .as_ref()
                        .map(|l| format!(" at {l}"))
                        .unwrap_or_default()
                ),
                vec![],
            ),
            None => ProbeResult::unknown(spec, "no gunicorn target found".into(), &facts),
        },
        E::AppContextAtImport => match a.app_context_at_import.first() {
            Some(u) => r(
                Outcome::Confirmed,
                format!(
                    "{}: `{}` is used at import, outside any application context",
                    u.at, u.name
                ),
                vec![],
            ),
            None => r(
                Outcome::RuledOut,
                "no Flask context global is used at import".into(),
                vec![],
            ),
        },
        E::TaskNotIncluded => {
            let (outcome, summary, more) = task_not_included(obs, hints);
            match outcome {
                Some(o) => r(o, summary, more),
                None => ProbeResult::unknown(spec, summary, &facts),
            }
        }
        E::SlowImport => {
            let (outcome, summary, more) = slow_boot(obs);
            match outcome {
                Some(o) => r(o, summary, more),
                None => ProbeResult::unknown(spec, summary, &facts),
            }
        }
    }
}

/// `celery -A proj worker`, `celery --app=proj.celery:app worker` → `proj` / `proj.celery`.
fn celery_app(argv: &[String]) -> Option<String> {
    let words: Vec<&str> = argv.iter().flat_map(|a| a.split_whitespace()).collect();
    let at = words.iter().position(|w| w.ends_with("celery"))?;
    let rest = &words[at + 1..];
    let value = rest.iter().enumerate().find_map(|(i, w)| {
        if *w == "-A" || *w == "--app" {
            rest.get(i + 1).copied()
        } else {
            w.strip_prefix("--app=").or_else(|| w.strip_prefix("-A"))
        }
    })?;
    let module = value.split(':').next()?.trim_end_matches(".app");
    (!module.is_empty()).then(|| module.to_owned())
}

/// A task the worker received but does not know (`Received unregistered task of type
/// 'tasks.ping'`): is it defined in the source, in a module the worker's Celery app neither
/// imports nor lists in `include`/`imports`?
fn task_not_included(
    obs: &Observation,
    hints: &[String],
) -> (Option<Outcome>, String, Vec<String>) {
    static RECEIVED: OnceLock<Regex> = OnceLock::new();
    let received = RECEIVED.get_or_init(|| {
        Regex::new(r"unregistered task of type '([A-Za-z0-9_.]+)'").expect("regex")
    });
    let Some(task) = first(hints, received).map(|c| c[1].to_owned()) else {
        return (None, "the error names no task".into(), vec![]);
    };
    let Some((module, func)) = task.rsplit_once('.') else {
        return (
            None,
            format!("`{task}` is not a module.function task name"),
            vec![],
        );
    };
    let Some(app) = &obs.celery_app else {
        return (
            None,
            "the container runs no `celery -A <app> worker`".into(),
            vec![],
        );
    };
    let Some(app_module) = obs.source.module(app) else {
        return (
            None,
            format!("the worker's app module `{app}` is not in the source read"),
            vec![],
        );
    };
    let Some(task_module) = obs.source.module(module) else {
        return (
            Some(Outcome::RuledOut),
            format!(
                "no module `{module}` in the app's source defines `{task}`: the producer's name is wrong"
            ),
            vec![],
        );
    };
    let def = Regex::new(&format!(
        r"(?m)^@[\w.]*task\b[^\n]*\n(?:@[^\n]*\n)*(?:async\s+)?def\s+{}\s*\(",
        regex::escape(func)
    ))
    .expect("escaped");
    let named =
        Regex::new(&format!(r#"name\s*=\s*['"]{}['"]"#, regex::escape(&task))).expect("escaped");
    if !def.is_match(task_module.text()) && !named.is_match(task_module.text()) {
        return (
            Some(Outcome::RuledOut),
            format!("{} defines no task `{func}`", task_module.path()),
            vec![],
        );
    }
    let text = app_module.text();
    let quoted = Regex::new(&format!(r#"['"]{}['"]"#, regex::escape(module))).expect("escaped");
    let imported = Regex::new(&format!(
        r"(?m)^\s*(?:import\s+{m}\b|from\s+{m}\s+import\b)",
        m = regex::escape(module)
    ))
    .expect("escaped");
    let listed = text
        .lines()
        .filter(|l| l.contains("include") || l.contains("imports") || l.contains("autodiscover"))
        .any(|l| quoted.is_match(l));
    if imported.is_match(text) || listed {
        return (
            Some(Outcome::RuledOut),
            format!("{} imports or includes `{module}`", app_module.path()),
            vec![],
        );
    }
    let include_line = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("include") || l.contains("imports"))
        .map(|(i, l)| format!("{}:{}: {}", app_module.path(), i + 1, l.trim()));
    (
        Some(Outcome::Confirmed),
        format!(
            "`{task}` is defined in {}, which the worker's app `{app}` never imports nor includes",
            task_module.path()
        ),
        include_line.into_iter().collect(),
    )
}

/// gunicorn kills a worker that has not checked in for `--timeout` seconds. When the kill comes
/// `--timeout` after the worker booted, the worker never finished importing the app: slow work at
/// import time (not a slow request).
fn slow_boot(obs: &Observation) -> (Option<Outcome>, String, Vec<String>) {
    static BOOT: OnceLock<Regex> = OnceLock::new();
    static KILL: OnceLock<Regex> = OnceLock::new();
    let boot = BOOT.get_or_init(|| Regex::new(r"Booting worker with pid: (\d+)").expect("regex"));
    let kill = KILL.get_or_init(|| Regex::new(r"WORKER TIMEOUT \(pid:(\d+)\)").expect("regex"));
    let timeout = obs
        .gunicorn
        .as_ref()
        .and_then(|g| g.timeout_secs)
        .unwrap_or(30) as f64;
    let mut booted: Vec<(String, f64)> = Vec::new();
    let mut deltas: Vec<f64> = Vec::new();
    for (ts, text) in &obs.logs {
        let Some(t) = ts.as_deref().and_then(crate::probes::docker::rfc3339_secs) else {
            continue;
        };
        if let Some(c) = boot.captures(text) {
            booted.push((c[1].to_owned(), t));
        } else if let Some(c) = kill.captures(text)
            && let Some((_, b)) = booted.iter().find(|(pid, _)| *pid == c[1])
        {
            deltas.push(t - b);
        }
    }
    if deltas.is_empty() {
        return (
            None,
            "no worker boot and timeout pair in the log tail".into(),
            vec![],
        );
    }
    let at_boot = deltas
        .iter()
        .filter(|d| (timeout - 1.0..=timeout + 5.0).contains(*d))
        .count();
    let fact = format!(
        "{} worker(s) killed {} s after booting; --timeout {timeout:.0}",
        deltas.len(),
        deltas
            .iter()
            .map(|d| format!("{d:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if at_boot == deltas.len() {
        (
            Some(Outcome::Confirmed),
            format!(
                "every timed-out worker was killed {timeout:.0} s after it booted: the app's import takes longer than gunicorn's --timeout"
            ),
            vec![fact],
        )
    } else {
        (
            Some(Outcome::RuledOut),
            "workers time out well after booting: slow requests, not a slow import".into(),
            vec![fact],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(files: &[(&str, &str)], argv: &[&str], logs: &[(&str, &str)]) -> Observation {
        let files = files
            .iter()
            .map(|(p, t)| SourceFile {
                path: format!("/app/{p}"),
                text: t.to_string(),
            })
            .collect();
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        Observation {
            analysis: Analysis::default(),
            source: SourceTree::new("/app", files),
            celery_app: celery_app(&argv),
            logs: logs
                .iter()
                .map(|(ts, t)| (Some(ts.to_string()), t.to_string()))
                .collect(),
            gunicorn: gunicorn_invocation(&argv, None, &[]),
            health_path: None,
            facts: vec![],
        }
    }

    #[test]
    fn the_celery_app_module_of_a_worker_command() {
        let a = |s: &str| celery_app(&s.split(' ').map(String::from).collect::<Vec<_>>());
        assert_eq!(
            a("celery -A celery_app worker -l INFO").as_deref(),
            Some("celery_app")
        );
        assert_eq!(
            a("celery --app=proj.celery:app worker").as_deref(),
            Some("proj.celery")
        );
        assert_eq!(a("python -m celery -Aproj worker").as_deref(), Some("proj"));
        assert_eq!(a("gunicorn server:app"), None);
    }

    #[test]
    fn a_task_outside_the_workers_includes_is_confirmed_and_an_included_one_ruled_out() {
        let hint = vec!["Received unregistered task of type 'tasks.ping'.".to_owned()];
        let tasks = "from celery_app import app\n\n@app.task\ndef ping():\n    return 'pong'\n";
        let missing = obs(
            &[
                (
                    "celery_app.py",
                    "from celery import Celery\napp = Celery('a', include=['tasks_export'])\n",
                ),
                ("tasks.py", tasks),
            ],
            &["celery", "-A", "celery_app", "worker"],
            &[],
        );
        let (o, summary, facts) = task_not_included(&missing, &hint);
        assert_eq!(o, Some(Outcome::Confirmed), "{summary}");
        assert!(facts[0].contains("celery_app.py:2"), "{facts:?}");

        let included = obs(
            &[
                (
                    "celery_app.py",
                    "from celery import Celery\napp = Celery('a', include=['tasks', 'tasks_export'])\n",
                ),
                ("tasks.py", tasks),
            ],
            &["celery", "-A", "celery_app", "worker"],
            &[],
        );
        assert_eq!(
            task_not_included(&included, &hint).0,
            Some(Outcome::RuledOut)
        );
    }

    #[test]
    fn a_worker_killed_timeout_seconds_after_booting_never_finished_importing() {
        let argv = ["gunicorn", "--timeout", "5", "-w", "2", "server:app"];
        let logs = [
            (
                "2026-11-21T10:00:00.0Z",
                "[INFO] Booting worker with pid: 8",
            ),
            (
                "2026-11-21T10:00:05.6Z",
                "[CRITICAL] WORKER TIMEOUT (pid:8)",
            ),
            (
                "2026-11-21T10:00:05.9Z",
                "[INFO] Booting worker with pid: 9",
            ),
            (
                "2026-11-21T10:00:11.2Z",
                "[CRITICAL] WORKER TIMEOUT (pid:9)",
            ),
        ];
        let (o, _, facts) = slow_boot(&obs(&[], &argv, &logs));
        assert_eq!(o, Some(Outcome::Confirmed), "{facts:?}");

        let late = [
            (
                "2026-11-21T10:00:00.0Z",
                "[INFO] Booting worker with pid: 8",
            ),
            (
                "2026-11-21T10:02:00.0Z",
                "[CRITICAL] WORKER TIMEOUT (pid:8)",
            ),
        ];
        assert_eq!(
            slow_boot(&obs(&[], &argv, &late)).0,
            Some(Outcome::RuledOut)
        );
    }
}
