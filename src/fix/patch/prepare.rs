//! A `patch-source` plan's patch: computed on the sources the service's image holds, proven
//! there, mapped onto the project's files on this host.
use super::{Input, propose};
use crate::fix::plan::{Plan, PreparedPatch};
use crate::probes::python::{Startup, probe};
use crate::stack::snapshot::StackSnapshot;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// For a plan with a `patch-source` step: read the sources out of the service's container,
/// compute the patch on them ([`super::propose`], proven there), and map it onto the
/// project's files. Each project file must hold exactly the text the image holds: one that
/// differs changed since the image was built, and the patch would not be the one proven.
pub async fn prepare(
    docker: &bollard::Docker,
    snapshot: &StackSnapshot,
    compose_file: Option<&std::path::Path>,
    plan: &Plan,
) -> Result<PreparedPatch, String> {
    let compose = compose_file.ok_or("no compose file found for the project")?;
    let dir = compose
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let c = snapshot
        .containers
        .iter()
        .find(|c| c.service == plan.service)
        .ok_or_else(|| format!("no container of {}", plan.service))?;
    let files = probe::read_files(docker, c, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    let obs = probe::observe_files(c, &files, &plan.hints).map_err(|(why, _)| why)?;
    let analysis = obs.analysis();
    let env: Vec<(String, String)> = c
        .env
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let health_path = c
        .healthcheck
        .as_ref()
        .and_then(|h| crate::probes::http::health_url(&h.test, &env).ok())
        .map(|u| u.target);
    // The texts that may name gunicorn's target or run the init: the files read that are not
    // Python (the entrypoint script, a config file), the compose file, the service's Dockerfile.
    let mut others = BTreeMap::new();
    let mut on_host: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (p, t) in files.iter().filter(|(p, _)| !p.ends_with(".py")) {
        others.insert(p.clone(), t.clone());
    }
    let model = snapshot.compose.as_ref();
    let context = model
        .and_then(|m| m.service(&plan.service))
        .and_then(|s| s.build.clone())
        .map(|b| dir.join(b));
    let mut host_texts = vec![compose.to_path_buf()];
    if let Some(ctx) = &context {
        host_texts.push(ctx.join("Dockerfile"));
    }
    for p in host_texts {
        if let Ok(t) = crate::capped::text(&p, crate::fix::apply::MAX_EDIT_BYTES) {
            let key = format!("{}", p.display());
            others.insert(key.clone(), t);
            on_host.insert(key, p);
        }
    }
    let input = Input {
        tree: obs.source(),
        analysis,
        startup: Startup {
            target: analysis.wsgi.as_ref().map(|w| w.target.clone()),
            config_module: None,
            preload: false,
        },
        health_path,
        others,
        hints: plan.hints.clone(),
    };
    let patch = propose(&plan.finding, &input).map_err(|e| e.to_string())?;
    let host = crate::fix::apply::HostFiles {
        snapshot,
        compose_file: Some(compose.to_path_buf()),
    };
    let mut edits = Vec::new();
    for change in &patch.changes {
        let file = match on_host.get(&change.path) {
            Some(p) => p.clone(),
            None => host
                .source_of(&plan.service, &change.path, &dir, false)
                .map_err(|e| format!("{}: {e}", change.path))?,
        };
        let rel = file
            .strip_prefix(&dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        let now = crate::capped::text(&file, crate::fix::apply::MAX_EDIT_BYTES)
            .map_err(|e| format!("reading {rel}: {e}"))?;
        if now != change.old {
            return Err(format!(
                "the project's {rel} is not the {} {} runs (it changed since the image was \
                 built): the patch was proven on the image's copy, so it is not applied; \
                 rebuild, then run the doctor again",
                change.path, plan.service
            ));
        }
        edits.push((
            file,
            crate::fix::edit::Edit {
                path: rel,
                old: change.old.clone(),
                new: change.new.clone(),
            },
        ));
    }
    // Every service built from a context that holds a patched file runs it: rebuild them all.
    let mut services: Vec<String> = model
        .map(|m| {
            m.services
                .iter()
                .filter(|s| {
                    s.build.as_ref().is_some_and(|b| {
                        let ctx: PathBuf = dir.join(b).components().collect();
                        edits.iter().any(|(f, _)| {
                            let f: PathBuf = f.components().collect();
                            f.starts_with(&ctx)
                        })
                    })
                })
                .map(|s| s.name.clone())
                .collect()
        })
        .unwrap_or_default();
    if !services.contains(&plan.service) {
        services.insert(0, plan.service.clone());
    }
    Ok(PreparedPatch {
        how: patch.how,
        edits,
        services,
    })
}
