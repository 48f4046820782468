//! `blueprint-prefix-mismatch`: the route's rule so the effective URL is the health check's.
//!
//! The route that serves the health path with its first segment doubled (`/api/api/x`) or
//! dropped (`/x`) gets the rule `health path − its effective prefix`, written in place of the
//! old rule in its `@route(...)` (the prefix stays where it is given, once).
use super::{FileChange, Input, PatchError, SourcePatch, refuse, short};
use crate::probes::python::{Analysis, RouteMatch, match_route};

pub fn patch(input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let health = input
        .health_path
        .as_deref()
        .ok_or_else(|| refuse("no health-check path to match the routes against"))?;
    let route = match match_route(&input.analysis.routes, health) {
        RouteMatch::PrefixDoubled { route } | RouteMatch::PrefixMissing { route } => route,
        _ => {
            return Err(PatchError::NothingFound(format!(
                "route one prefix away from {health}"
            )));
        }
    };
    let prefix = route.prefix.as_deref().unwrap_or("").trim_end_matches('/');
    let rule = health
        .split(['?', '#'])
        .next()
        .unwrap_or(health)
        .strip_prefix(prefix)
        .filter(|r| r.starts_with('/'))
        .ok_or_else(|| refuse(format!("{health} is not under the prefix {prefix}")))?;
    let m = super::module(input.tree, &route.at.file)?;
    let old_line = super::text::line(m.text(), route.at.line)
        .ok_or_else(|| refuse(format!("{} has no line {}", route.at.file, route.at.line)))?;
    let hits: Vec<(char, usize)> = ['"', '\'']
        .into_iter()
        .flat_map(|q| {
            let quoted = format!("{q}{}{q}", route.rule);
            old_line
                .match_indices(&quoted)
                .map(|(i, _)| (q, i))
                .collect::<Vec<_>>()
        })
        .collect();
    let [(q, at)] = hits.as_slice() else {
        return Err(refuse(format!(
            "{}:{} does not hold the rule {:?} exactly once",
            short(&route.at.file),
            route.at.line,
            route.rule
        )));
    };
    let new_line = format!(
        "{}{q}{rule}{q}{}",
        &old_line[..*at],
        &old_line[at + route.rule.len() + 2..]
    );
    let new = super::text::replace_line(m.text(), route.at.line, &new_line)
        .ok_or_else(|| refuse("the line moved"))?;
    Ok(SourcePatch {
        class: "blueprint-prefix-mismatch".into(),
        changes: vec![FileChange {
            path: route.at.file.clone(),
            old: m.text().to_owned(),
            new,
        }],
        how: vec![format!(
            "{}:{}: the rule {:?} becomes {rule:?}: with the prefix {} given at registration, \
             `{}` answers {health}, the health check's path",
            short(&route.at.file),
            route.at.line,
            route.rule,
            if prefix.is_empty() { "(none)" } else { prefix },
            route.function
        )],
    })
}

pub fn holds(input: &Input<'_>, after: &Analysis) -> Option<String> {
    let health = input.health_path.as_deref()?;
    match match_route(&after.routes, health) {
        RouteMatch::Exact(_) => None,
        _ => Some(format!("no route serves {health}")),
    }
}
