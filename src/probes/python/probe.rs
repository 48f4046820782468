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
    Ok(Observation {
        analysis,
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
                (Some(u), _) => r(
                    Outcome::Confirmed,
                    format!(
                        "{}: `{}` is used, and never defined nor imported",
                        u.at, u.name
                    ),
                    vec![],
                ),
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
        E::TaskNotIncluded | E::SlowImport => ProbeResult::unknown(
            spec,
            format!(
                "the source analysis does not answer `{}` yet",
                expect.as_str()
            ),
            &facts,
        ),
    }
}
