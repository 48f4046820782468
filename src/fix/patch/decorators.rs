//! `route-not-decorated`: put back the decorator a handler lost, the way its siblings are
//! registered.
//!
//! - a view: `@<bp>.route("<rule>")`, the blueprint (or app) variable the module routes with,
//!   and the rule that makes the effective URL the health check's path: the health path less the
//!   prefix the sibling routes of that blueprint get (`/api/health` − `/api` → `/health`). Only
//!   the one view that the health check needs gets a rule; another view's path is unknown and
//!   left for a person;
//! - a teardown function: `@<app>.teardown_appcontext`;
//! - a CLI command: `@<app>.cli.command("<name>")`, the name the function's own name gives
//!   (`init_db_command` → `init-db`).
//!
//! The decorator goes on the line above the `def`, with the `def`'s indentation.
use super::{FileChange, Input, PatchError, SourcePatch, refuse, short};
use crate::probes::python::{Analysis, Handler, HandlerKind, RouteMatch, match_route};
use std::collections::BTreeMap;

/// The decorator for `h`, and why; `Err` with the reason when it cannot be told.
fn decorator(input: &Input<'_>, h: &Handler, views: usize) -> Result<(String, String), String> {
    let var = |suffix: &str| {
        h.suggested_decorator
            .as_deref()
            .and_then(|d| d.strip_prefix('@'))
            .and_then(|d| d.strip_suffix(suffix))
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "which app or blueprint `{}` belongs to is unknown",
                    h.function
                )
            })
    };
    match h.kind {
        HandlerKind::Teardown => {
            let app = var(".teardown_appcontext")?;
            Ok((
                format!("@{app}.teardown_appcontext"),
                format!("`{}` is {app}'s teardown function again", h.function),
            ))
        }
        HandlerKind::Command => {
            let app = var(".cli.command(...)")?;
            let mut name = h.function.as_str();
            for suffix in ["_wrapper", "_command", "_cmd"] {
                name = name.strip_suffix(suffix).unwrap_or(name);
            }
            let name = name.replace('_', "-");
            Ok((
                format!("@{app}.cli.command(\"{name}\")"),
                format!("`flask {name}` runs `{}` again", h.function),
            ))
        }
        HandlerKind::Route => {
            let bp = var(".route(...)")?;
            let health = input
                .health_path
                .as_deref()
                .ok_or("no health-check path to give the view")?;
            if matches!(
                match_route(&input.analysis.routes, health),
                RouteMatch::Exact(_)
            ) {
                return Err(format!(
                    "the health path {health} is served already: the rule of `{}` is unknown",
                    h.function
                ));
            }
            if views > 1 && !h.function.contains("health") {
                return Err(format!(
                    "several views lost their decorator; `{}` is not the health check's",
                    h.function
                ));
            }
            // The prefix sibling routes of the same variable in the same file get.
            let siblings: Vec<_> = input
                .analysis
                .routes
                .iter()
                .filter(|r| r.at.file == h.at.file && r.registered)
                .filter(|r| {
                    module_line(input, &r.at.file, r.at.line)
                        .is_some_and(|l| l.trim_start().starts_with(&format!("@{bp}.")))
                })
                .collect();
            let prefix = match siblings.first() {
                Some(r) => r.prefix.clone().unwrap_or_default(),
                None => String::new(),
            };
            if siblings.is_empty()
                && input
                    .tree
                    .modules()
                    .any(|m| m.text().contains(&format!("register_blueprint({bp}")))
            {
                return Err(format!(
                    "`{bp}` has no other route to take its prefix from: the rule of `{}` is for a person to write",
                    h.function
                ));
            }
            let prefix = prefix.trim_end_matches('/');
            let rule = health
                .strip_prefix(prefix)
                .filter(|r| r.starts_with('/'))
                .ok_or_else(|| {
                    format!("the health path {health} is not under {bp}'s prefix {prefix}")
                })?;
            let q = siblings
                .first()
                .and_then(|r| module_line(input, &r.at.file, r.at.line))
                .filter(|l| l.contains('\'') && !l.contains('"'))
                .map_or('"', |_| '\'');
            Ok((
                format!("@{bp}.route({q}{rule}{q})"),
                format!(
                    "`{}` serves {health} again ({bp}'s routes get the prefix {})",
                    h.function,
                    if prefix.is_empty() { "none" } else { prefix }
                ),
            ))
        }
    }
}

fn module_line<'a>(input: &'a Input<'_>, file: &str, line: u32) -> Option<&'a str> {
    let m = input.tree.modules().find(|m| m.path() == file)?;
    super::text::line(m.text(), line)
}

pub fn patch(input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let handlers = &input.analysis.undecorated_handlers;
    if handlers.is_empty() {
        return Err(PatchError::NothingFound(
            "handler without its decorator".into(),
        ));
    }
    let views = handlers
        .iter()
        .filter(|h| h.kind == HandlerKind::Route)
        .count();
    let mut texts: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut how = Vec::new();
    let mut left = Vec::new();
    // Bottom-up per file, so line numbers stay right.
    let mut order: Vec<&Handler> = handlers.iter().collect();
    order.sort_by(|a, b| {
        (&a.at.file, std::cmp::Reverse(a.at.line)).cmp(&(&b.at.file, std::cmp::Reverse(b.at.line)))
    });
    for h in order {
        match decorator(input, h, views) {
            Ok((deco, why)) => {
                let m = super::module(input.tree, &h.at.file)?;
                let entry = texts
                    .entry(h.at.file.clone())
                    .or_insert_with(|| (m.text().to_owned(), m.text().to_owned()));
                let def_line = super::text::line(&entry.1, h.at.line)
                    .ok_or_else(|| refuse(format!("{} has no line {}", h.at.file, h.at.line)))?;
                let line = format!("{}{deco}", super::text::indent(def_line));
                entry.1 = super::text::insert_before(&entry.1, h.at.line, &line)
                    .ok_or_else(|| refuse(format!("{} has no line {}", h.at.file, h.at.line)))?;
                how.push(format!(
                    "{}:{}: {deco}: {why}",
                    short(&h.at.file),
                    h.at.line
                ));
            }
            Err(why) => left.push(why),
        }
    }
    if texts.is_empty() {
        return Err(refuse(left.join("; ")));
    }
    for why in left {
        how.push(format!("left for a person: {why}"));
    }
    how.reverse();
    Ok(SourcePatch {
        class: "route-not-decorated".into(),
        changes: texts
            .into_iter()
            .map(|(path, (old, new))| FileChange { path, old, new })
            .collect(),
        how,
    })
}

/// Whether a patched handler is still undecorated, or the health path still unserved.
pub fn holds(input: &Input<'_>, after: &Analysis) -> Option<String> {
    if let Some(h) = after.undecorated_handlers.iter().find(|h| {
        input.analysis.undecorated_handlers.iter().any(|b| {
            b.function == h.function && b.at.file == h.at.file && h.kind != HandlerKind::Route
        })
    }) {
        return Some(format!("`{}` still has no decorator", h.function));
    }
    let health = input.health_path.as_deref()?;
    let served_before = matches!(
        match_route(&input.analysis.routes, health),
        RouteMatch::Exact(_)
    );
    match match_route(&after.routes, health) {
        RouteMatch::Exact(_) => None,
        _ if served_before => None,
        _ => Some(format!("nothing serves {health}")),
    }
}
