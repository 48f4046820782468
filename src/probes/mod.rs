//! Probes: live checks that tell look-alike findings apart.
//!
//! Rules match what the stack already said (logs, state, health output). Some failure classes
//! say the same thing there: a health check that gets 404 with nothing in the logs may be a
//! doubled blueprint prefix, a lost `@route` decorator, or an initialisation that failed in every
//! gunicorn worker. A probe asks the running stack one more question and answers, for each
//! [`ProbeSpec`] a rule declares, whether the rule's finding is [`Outcome::Confirmed`],
//! [`Outcome::RuledOut`] or still unknown — with the facts it saw, so a report can show why.
//!
//! A rule names the probe kind and the expectation (`[[probe]]` tables, see [`crate::rules`]);
//! the kind is Rust code here, one file per kind. Probes never change anything and are bounded:
//! every network exchange has a timeout and a size limit, so a hung service gives
//! [`Outcome::Unknown`], never a hung doctor.
pub use crate::stack::archive;
pub mod compose;
pub mod dependency;
pub mod docker;
pub mod endpoint;
pub mod entrypoint;
pub mod file;
pub mod gdbm;
pub mod http;
pub mod ports;
pub mod postgres;
pub mod python;
pub mod redis;
pub mod transport;

pub use crate::model::{Location, Outcome, ProbeResult};
use crate::rules::{Expectation, ProbeSpec};
use crate::stack::snapshot::{ContainerSnapshot, StackSnapshot};
use bollard::Docker;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The version of each probe kind's behaviour: what it asks and how it concludes. Bump a kind's
/// number whenever that changes, and recapture the lab's bundles (`CAPTURE_BUNDLES=1 cargo test
/// --test lab`): a bundle records these numbers in its manifest (`probe_versions`), `check
/// --from` replays the results it recorded, and tests/bundles.rs fails on a bundle whose
/// results of a kind were recorded by an older version of it. Bundles written before versions
/// were recorded count as version 1.
pub const VERSIONS: &[(&str, u32)] = &[
    ("http-route", 1),
    // 2: the route map is that of the app the gunicorn target serves, not of every module.
    ("python", 2),
    ("gdbm", 1),
    ("file", 1),
    ("entrypoint", 1),
    ("postgres", 1),
    // 2: a refusal on the port Redis names (the URL's) rules out a port mismatch.
    ("redis", 2),
    ("compose", 1),
    // 2: killed-after-grace (a stop signal, then SIGKILL).
    ("docker", 2),
    // 2: host-port-held (another container of the stack publishes the port).
    ("ports", 2),
    // 2: url-host-loopback; hosts resolved by the stack's graph (network aliases, entrypoint).
    ("dependency", 2),
];

/// The current version of probe `kind` ([`VERSIONS`]), or `None` for a kind this build does not
/// know.
pub fn version(kind: &str) -> Option<u32> {
    VERSIONS.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

/// A probe result as it was run on one container, kept in a bundle so that `check --from` can
/// replay it offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub container: String,
    pub result: ProbeResult,
}

/// The static half of the probes, answered from the project's files on disk rather than from the
/// image: what an offline diagnosis (pasted logs, a bundle) can still confirm when it runs where
/// the compose project lives. Implemented by pre-flight, which reads the working tree the way it
/// does before a start.
pub trait WorkingTree {
    /// `spec`'s judgement for the compose service `service`, focused by `hints` (the evidence
    /// texts), or `None` when the files cannot answer it (a probe that needs the running stack, a
    /// service the project does not have). The result says it came from the working tree.
    fn judge(&self, service: &str, spec: &ProbeSpec, hints: &[String]) -> Option<ProbeResult>;
}

/// Where the confirm stage gets its probe results.
#[derive(Clone, Copy)]
pub enum Probing<'a> {
    /// Run the probes; without an engine (pasted logs), those that need it say so.
    Live(Option<&'a Docker>),
    /// Replay the results a bundle recorded. A probe it did not record runs only when it reads
    /// nothing but the snapshot (compose, dependency); any other says it needs the live stack.
    Replay(&'a [Recorded]),
    /// Offline, with the project's working tree on disk: what `replay` recorded first (nothing,
    /// for pasted logs), then the snapshot-only probes, then what the working tree answers.
    Offline {
        replay: &'a [Recorded],
        tree: &'a dyn WorkingTree,
    },
}

/// Run `specs` for `ctx.container` the way `probing` says. `ctx.docker` is ignored.
pub async fn run_or_replay(
    specs: &[ProbeSpec],
    ctx: &Ctx<'_>,
    probing: Probing<'_>,
) -> Vec<ProbeResult> {
    let (recorded, tree) = match probing {
        Probing::Live(docker) => {
            let live = Ctx { docker, ..*ctx };
            return run(specs, &live).await;
        }
        Probing::Replay(recorded) => (recorded, None),
        Probing::Offline { replay, tree } => (replay, Some(tree)),
    };
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let found = recorded.iter().find(|r| {
            r.container == ctx.container.name
                && r.result.kind == spec.kind()
                && r.result.expect == spec.expectation()
        });
        if let Some(r) = found {
            let mut replayed = r.result.clone();
            replayed
                .facts
                .push("(replayed: as recorded when the bundle was captured)".to_owned());
            out.push(replayed);
            continue;
        }
        let snapshot_only = matches!(
            spec,
            ProbeSpec::Compose { .. }
                | ProbeSpec::Dependency { .. }
                | ProbeSpec::Ports { .. }
                | ProbeSpec::Docker {
                    expect: crate::rules::DockerExpectation::KilledAfterGrace
                }
        );
        let mut result = None;
        if snapshot_only {
            let offline = Ctx {
                docker: None,
                ..*ctx
            };
            result = Some(run(std::slice::from_ref(spec), &offline).await.remove(0));
        }
        let unanswered = result
            .as_ref()
            .is_none_or(|r| matches!(r.outcome, Outcome::Unknown(_)));
        if unanswered
            && let Some(tree) = tree
            && let Some(from_tree) = tree.judge(&ctx.container.service, spec, ctx.hints)
        {
            result = Some(from_tree);
        }
        out.push(result.unwrap_or_else(|| {
            let why = match (tree.is_some(), recorded.is_empty()) {
                (true, true) => {
                    "needs the live stack (diagnosing offline); the working tree does not answer it"
                }
                (true, false) => {
                    "not recorded in the bundle, and the working tree does not answer it: it \
                     needs the live stack to run"
                }
                (false, _) => "not recorded in the bundle, and it needs the live stack to run",
            };
            ProbeResult::unknown(spec, why.to_owned(), &[])
        }));
    }
    out
}

impl ProbeResult {
    pub(crate) fn new(
        spec: &ProbeSpec,
        outcome: Outcome,
        summary: String,
        facts: &[String],
    ) -> Self {
        ProbeResult {
            kind: spec.kind().to_owned(),
            expect: spec.expectation().to_owned(),
            outcome,
            summary,
            facts: facts.to_vec(),
            location: None,
            project_location: None,
            data: BTreeMap::new(),
        }
    }

    /// The same result located at `line` of `file` in the stack ([`ProbeResult::location`]).
    pub(crate) fn located(mut self, file: impl Into<String>, line: u32) -> Self {
        self.location = Some(Location::new(file, Some(line)));
        self
    }

    /// The same result with `name` = `value` in its [`data`](ProbeResult::data).
    pub(crate) fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.data.insert(name.to_owned(), value.into());
        self
    }

    /// An unknown outcome whose summary is its reason.
    pub(crate) fn unknown(spec: &ProbeSpec, reason: String, facts: &[String]) -> Self {
        ProbeResult::new(spec, Outcome::Unknown(reason.clone()), reason, facts)
    }
}

/// A probe that needs the Engine, run on a snapshot with none (a bundle, pasted logs): its
/// outcome is unknown for this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("needs the live stack (diagnosing offline)")]
pub struct Offline;

/// Bounds of a probe run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Per probe: connect, send, answer together (one HTTP request, one database handshake and
    /// its queries, one archive read).
    pub timeout: Duration,
    /// Containers probed at the same time.
    pub concurrency: usize,
    /// Opening a path into a network (a relay container: create, attach, start, handshake), on
    /// top of `timeout`.
    pub open_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(3),
            concurrency: 4,
            open_timeout: Duration::from_secs(10),
        }
    }
}

/// What a probe may look at: the whole snapshot (other services' ports and states), the container
/// it asks about, the Engine when the stack is live, and the evidence of the findings it is asked
/// about (the table, path or host an error names).
pub struct Ctx<'a> {
    pub snapshot: &'a StackSnapshot,
    pub container: &'a ContainerSnapshot,
    /// `None` when diagnosing offline: probes that need the Engine say so.
    pub docker: Option<&'a Docker>,
    pub opts: &'a Options,
    /// The evidence texts of the findings probed on this container.
    pub hints: &'a [String],
}

impl Ctx<'_> {
    /// The Engine, or why a probe that needs it cannot run.
    pub(crate) fn docker(&self) -> Result<&Docker, Offline> {
        self.docker.ok_or(Offline)
    }

    /// The container's environment as `(name, value)` pairs.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        self.container
            .env
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    }
}

/// Run `specs` for `ctx.container`: one result per spec, in order. Specs of one kind share one
/// observation (the `http-route` requests are made once, then judged per expectation); the kinds
/// run concurrently, each bounded by `ctx.opts.timeout` (a kind that makes several exchanges
/// bounds each).
pub async fn run(specs: &[ProbeSpec], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let mut kinds: Vec<&'static str> = specs.iter().map(|s| s.kind()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let by_kind = futures_util::future::join_all(kinds.iter().map(|&kind| {
        let of_kind: Vec<ProbeSpec> = specs.iter().copied().filter(|s| s.kind() == kind).collect();
        async move { (of_kind.clone(), run_kind(&of_kind, ctx).await) }
    }))
    .await;
    specs
        .iter()
        .map(|spec| {
            by_kind
                .iter()
                .find_map(|(of_kind, results)| {
                    of_kind
                        .iter()
                        .position(|s| s == spec)
                        .map(|at| results[at].clone())
                })
                .expect("every spec was run with its kind")
        })
        .collect()
}

/// One probe kind: the questions it asks the stack for its own typed expectations, one result
/// per expectation, in order. A kind never sees another kind's spec.
pub trait Probe {
    type Expect: Expectation;
    fn judge(expects: &[Self::Expect], ctx: &Ctx<'_>) -> impl Future<Output = Vec<ProbeResult>>;
}

macro_rules! probe_impls {
    ($($name:ident($expect:ty) => |$e:ident, $c:ident| $body:expr;)+) => {
        $(
            #[doc = concat!("The probe kind behind [`", stringify!($expect), "`].")]
            pub struct $name;
            impl Probe for $name {
                type Expect = $expect;
                async fn judge($e: &[$expect], $c: &Ctx<'_>) -> Vec<ProbeResult> {
                    $body
                }
            }
        )+
    };
}

probe_impls! {
    HttpRouteProbe(crate::rules::RouteExpectation) => |expects, ctx| {
        let route = http::observe(ctx).await;
        expects.iter().map(|&e| route.judge(&e.spec(), e)).collect()
    };
    PythonProbe(crate::rules::PythonExpectation) => |expects, ctx| python::probe::probe(expects, ctx).await;
    DependencyProbe(crate::rules::DependencyExpectation) => |expects, ctx| dependency::probe(expects, ctx);
    ComposeProbe(crate::rules::ComposeExpectation) => |expects, ctx| compose::probe(expects, ctx);
    PortsProbe(crate::rules::PortsExpectation) => |expects, ctx| ports::probe(expects, ctx);
    PostgresProbe(crate::rules::PostgresExpectation) => |expects, ctx| postgres::probe(expects, ctx).await;
    RedisProbe(crate::rules::RedisExpectation) => |expects, ctx| redis::probe(expects, ctx).await;
    DockerProbe(crate::rules::DockerExpectation) => |expects, ctx| docker::probe(expects, ctx).await;
    GdbmProbe(crate::rules::GdbmExpectation) => |expects, ctx| gdbm::probe(expects, ctx).await;
    EntrypointProbe(crate::rules::EntrypointExpectation) => |expects, ctx| entrypoint::probe(expects, ctx).await;
    FileProbe(crate::rules::FileExpectation) => |expects, ctx| file::probe(expects, ctx).await;
}

/// The generic runner: the expectations of `P`'s kind among `specs`, judged by `P`. Specs of
/// another kind are not `P`'s: they get no result here.
async fn run_typed<P: Probe>(specs: &[ProbeSpec], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let expects: Vec<P::Expect> = specs.iter().filter_map(P::Expect::of).collect();
    P::judge(&expects, ctx).await
}

/// Every spec of `specs` is of one kind: the kind of the first picks the probe.
async fn run_kind(specs: &[ProbeSpec], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    match specs[0] {
        ProbeSpec::HttpRoute { .. } => run_typed::<HttpRouteProbe>(specs, ctx).await,
        ProbeSpec::Python { .. } => run_typed::<PythonProbe>(specs, ctx).await,
        ProbeSpec::Dependency { .. } => run_typed::<DependencyProbe>(specs, ctx).await,
        ProbeSpec::Compose { .. } => run_typed::<ComposeProbe>(specs, ctx).await,
        ProbeSpec::Ports { .. } => run_typed::<PortsProbe>(specs, ctx).await,
        ProbeSpec::Postgres { .. } => run_typed::<PostgresProbe>(specs, ctx).await,
        ProbeSpec::Redis { .. } => run_typed::<RedisProbe>(specs, ctx).await,
        ProbeSpec::Docker { .. } => run_typed::<DockerProbe>(specs, ctx).await,
        ProbeSpec::Gdbm { .. } => run_typed::<GdbmProbe>(specs, ctx).await,
        ProbeSpec::Entrypoint { .. } => run_typed::<EntrypointProbe>(specs, ctx).await,
        ProbeSpec::File { .. } => run_typed::<FileProbe>(specs, ctx).await,
    }
}
