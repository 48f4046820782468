//! The `compose` probe: what the compose file declares about the service.
//!
//! Some causes live only in the file: `depends_on: [db]` makes compose wait for the database
//! container to *start*, not to accept connections; `${POSTGRES_PASSWORD}` unset becomes an empty
//! string with a warning nobody reads. The model is parsed once by `collect`
//! ([`crate::stack::compose`]), so this probe only reads the snapshot, with file:line positions
//! for the report and for fixes.
use super::dependency::hosts_in_text;
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::{ComposeExpectation, Expectation, ProbeSpec};
use crate::stack::compose::{ComposeModel, Condition};

/// Judge every `compose` spec for `ctx.container`'s service.
pub fn probe(expects: &[ComposeExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    let model = match (&ctx.snapshot.compose, &ctx.snapshot.compose_error) {
        (Some(m), _) => Ok(m),
        (None, Some(e)) => Err(format!("the compose file could not be read: {e}")),
        (None, None) => Err("no compose file was found for the project (use -f)".to_owned()),
    };
    specs
        .iter()
        .zip(expects)
        .map(|(spec, expect)| match &model {
            Err(why) => ProbeResult::unknown(spec, why.clone(), &[]),
            Ok(m) => match expect {
                ComposeExpectation::DependsOnStartedOnly => started_only(spec, m, ctx),
                ComposeExpectation::EnvUnset => env_unset(spec, m),
                ComposeExpectation::SwarmIgnoredKeys => swarm_ignored(spec, m, ctx),
            },
        })
        .collect()
}

fn file_name(m: &ComposeModel) -> String {
    m.file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| m.file.display().to_string())
}

/// The answer when the compose file declares no service `name`: the probe cannot tell.
fn undeclared(spec: &ProbeSpec, m: &ComposeModel, name: &str) -> ProbeResult {
    ProbeResult::unknown(
        spec,
        format!("{} declares no service {name}", file_name(m)),
        &[],
    )
}

fn started_only(spec: &ProbeSpec, m: &ComposeModel, ctx: &Ctx<'_>) -> ProbeResult {
    let name = &ctx.container.service;
    let Some(service) = m.service(name) else {
        return undeclared(spec, m, name);
    };
    // The dependencies the client's errors name; every server-like dependency otherwise.
    let named: Vec<String> = ctx.hints.iter().flat_map(|t| hosts_in_text(t)).collect();
    let targets: Vec<String> = if named.is_empty() {
        // The class is about PostgreSQL: a database server among them is judged first.
        let mut deps: Vec<String> = service
            .depends_on
            .iter()
            .map(|d| d.service.clone())
            .collect();
        deps.sort_by_key(|d| !is_postgres_server(ctx, d));
        deps
    } else {
        named
    };
    let mut facts = Vec::new();
    let mut weak = None;
    let mut strong = None;
    for target in &targets {
        match service.depends_on.iter().find(|d| &d.service == target) {
            None => {
                facts.push(format!("{name} has no depends_on on {target}"));
                weak.get_or_insert((
                    format!("{name} does not depend_on {target} at all"),
                    target.clone(),
                    service.pos.line,
                ));
            }
            Some(d) => {
                let at = format!("{}:{}", file_name(m), d.pos.line);
                facts.push(format!(
                    "{at}: {name} depends_on {target} ({}{})",
                    d.condition.as_str(),
                    if d.long_form { "" } else { ", short form" }
                ));
                let has_check = m
                    .service(target)
                    .and_then(|t| t.healthcheck.as_ref())
                    .is_some_and(|h| !h.disable);
                match d.condition {
                    Condition::Healthy if has_check => {
                        strong.get_or_insert(format!(
                            "{name} waits for {target} to be healthy ({at})"
                        ));
                    }
                    _ => {
                        weak.get_or_insert((
                            format!(
                                "{at}: {name} waits only for {target} to start{}",
                                if has_check {
                                    ""
                                } else {
                                    ", and it has no health check"
                                }
                            ),
                            target.clone(),
                            d.pos.line,
                        ));
                    }
                }
            }
        }
    }
    match (weak, strong) {
        (Some((w, dep, line)), _) => ProbeResult::new(spec, Outcome::Confirmed, w, &facts)
            .with("dependency", dep)
            .with("compose_line", line.to_string()),
        (None, Some(s)) => ProbeResult::new(spec, Outcome::RuledOut, s, &facts),
        (None, None) => {
            ProbeResult::unknown(spec, format!("{name} has no dependency to check"), &facts)
        }
    }
}

/// Whether the service `name` of the stack is itself a PostgreSQL server (by its image's own name
/// or its program, as [`super::endpoint::urls_of`] tells servers from clients).
fn is_postgres_server(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.snapshot
        .containers
        .iter()
        .filter(|c| c.service == name)
        .any(|c| {
            super::endpoint::urls_of(c, |s| s == super::endpoint::Scheme::Postgres)
                .iter()
                .any(|u| u.host == name)
        })
}

/// The keys of a service `docker stack deploy` ignores: under compose they order, build, name
/// and restart the containers; under Swarm nothing does (the restart policy is
/// `deploy.restart_policy`, images must exist on the nodes, tasks start in any order).
pub const SWARM_IGNORED_KEYS: [&str; 4] = ["depends_on", "build", "container_name", "restart"];

fn swarm_ignored(spec: &ProbeSpec, m: &ComposeModel, ctx: &Ctx<'_>) -> ProbeResult {
    use crate::stack::snapshot::BackendKind;
    if ctx.snapshot.backend.kind != BackendKind::Swarm {
        return ProbeResult::unknown(spec, "the stack is not a Swarm stack".to_owned(), &[]);
    }
    let name = &ctx.container.service;
    let Some(service) = m.service(name) else {
        return undeclared(spec, m, name);
    };
    let file = file_name(m);
    let mut used: Vec<(u32, String)> = SWARM_IGNORED_KEYS
        .iter()
        .filter_map(|key| {
            let pos = service.key_pos.get(*key)?;
            let what = match *key {
                "depends_on" => format!(
                    "depends_on {}",
                    service
                        .depends_on
                        .iter()
                        .map(|d| d.service.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "build" => format!("build {}", service.build.as_deref().unwrap_or(".")),
                "container_name" => format!(
                    "container_name {}",
                    service.container_name.as_deref().unwrap_or_default()
                ),
                _ => format!("restart {}", service.restart.as_deref().unwrap_or_default()),
            };
            Some((pos.line, what))
        })
        .collect();
    used.sort();
    let facts: Vec<String> = used
        .iter()
        .map(|(line, what)| format!("{file}:{line}: {what} (ignored by docker stack deploy)"))
        .collect();
    match used.first() {
        Some((line, _)) => ProbeResult::new(
            spec,
            Outcome::Confirmed,
            format!(
                "{name} relies on {} in {file}, which Swarm ignores",
                used.iter()
                    .map(|(_, w)| w.split(' ').next().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &facts,
        )
        .with(
            "keys",
            used.iter()
                .map(|(_, w)| w.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )
        .with("compose_line", line.to_string()),
        None => ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!("{name} uses no compose key Swarm ignores"),
            &facts,
        ),
    }
}

fn env_unset(spec: &ProbeSpec, m: &ComposeModel) -> ProbeResult {
    let facts: Vec<String> = m
        .unset_vars
        .iter()
        .map(|v| {
            format!(
                "{}:{}: ${{{}}} is not set",
                file_name(m),
                v.pos.line,
                v.name
            )
        })
        .collect();
    match m.unset_vars.first() {
        Some(v) => ProbeResult::new(
            spec,
            Outcome::Confirmed,
            format!(
                "{} uses ${{{}}}, which is not set (compose substitutes \"\")",
                file_name(m),
                v.name
            ),
            &facts,
        )
        .with("compose_line", v.pos.line.to_string()),
        None => ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!("every variable {} uses is set", file_name(m)),
            &facts,
        ),
    }
}
