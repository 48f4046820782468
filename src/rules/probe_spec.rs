//! The `[[probe]]` vocabulary: every probe kind and, per kind, the expectations a rule may name.
//!
//! A rule says *which* question to ask (`kind`) and *which answer confirms it* (`expect`); the
//! question itself is Rust code in `crate::probes`, one module per kind. Keeping the vocabulary in
//! one table (the [`probe_kinds!`] invocation below) means the rule loader, `explain`, the docs and
//! the probe runner cannot disagree about what exists: adding an expectation is one line here and
//! one arm in the kind's `judge`.
use std::fmt;

/// One kind's typed expectations, drawn out of (and back into) the specs rules declare: what a
/// probe kind's code receives, so it never sees another kind's spec.
pub trait Expectation: Copy {
    /// The expectation of `spec`, when `spec` is of this kind.
    fn of(spec: &ProbeSpec) -> Option<Self>;
    /// The spec this expectation comes from (its kind and `expect`, for the result).
    fn spec(self) -> ProbeSpec;
}

macro_rules! probe_kinds {
    ($(
        $(#[doc = $kdoc:literal])*
        $variant:ident ($expect_ty:ident) = $kind:literal {
            $( $(#[doc = $edoc:literal])* $ev:ident = $es:literal, )+
        }
    )+) => {
        /// A live check that confirms or rules out a rule's finding: one `[[probe]]` table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProbeSpec {
            $( $(#[doc = $kdoc])* $variant { expect: $expect_ty }, )+
        }

        $(
            #[doc = concat!("What a `", $kind, "` probe must see to confirm its finding.")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $expect_ty {
                $( $(#[doc = $edoc])* $ev, )+
            }

            impl Expectation for $expect_ty {
                fn of(spec: &ProbeSpec) -> Option<Self> {
                    match spec {
                        ProbeSpec::$variant { expect } => Some(*expect),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }

                fn spec(self) -> ProbeSpec {
                    ProbeSpec::$variant { expect: self }
                }
            }

            impl $expect_ty {
                pub const ALL: &[$expect_ty] = &[$($expect_ty::$ev),+];

                pub fn as_str(self) -> &'static str {
                    match self {
                        $( $expect_ty::$ev => $es, )+
                    }
                }
            }
        )+

        impl ProbeSpec {
            /// Every probe kind, as written in `kind = "…"`.
            pub const KINDS: &[&str] = &[$($kind),+];

            /// The `kind` as written in the rule file.
            pub fn kind(&self) -> &'static str {
                match self {
                    $( ProbeSpec::$variant { .. } => $kind, )+
                }
            }

            /// The `expect` as written in the rule file.
            pub fn expectation(&self) -> &'static str {
                match self {
                    $( ProbeSpec::$variant { expect } => expect.as_str(), )+
                }
            }

            /// The expectations `kind` knows, or `None` for an unknown kind.
            pub fn expectations(kind: &str) -> Option<Vec<&'static str>> {
                match kind {
                    $( $kind => Some($expect_ty::ALL.iter().map(|e| e.as_str()).collect()), )+
                    _ => None,
                }
            }

            /// The spec for `kind` and `expect`, when both are known.
            pub fn parse(kind: &str, expect: &str) -> Option<ProbeSpec> {
                match kind {
                    $( $kind => $expect_ty::ALL
                        .iter()
                        .find(|e| e.as_str() == expect)
                        .map(|&expect| ProbeSpec::$variant { expect }), )+
                    _ => None,
                }
            }
        }
    };
}

probe_kinds! {
    /// GET the service's health-check URL and its look-alikes (first path segment doubled or
    /// missing): on the port published on 127.0.0.1, else from inside the service's network.
    HttpRoute(RouteExpectation) = "http-route" {
        /// The health URL answers Flask's 404 page while a prefix variant answers anything but
        /// 404: the route lives under another prefix.
        PrefixVariantAnswers = "prefix-variant-answers",
        /// The health URL answers Flask's 404 page and no prefix variant answers.
        NoVariantAnswers = "no-variant-answers",
        /// The health URL answers Flask's own 404 page: Flask is up, the route is missing.
        Flask404 = "flask-404",
        /// The health URL answers 2xx/3xx when the doctor asks it: the app works, the check itself
        /// fails.
        Answers = "answers",
    }

    /// Parse the app's Python source and gunicorn's config file read from the container (never
    /// import them).
    Python(PythonExpectation) = "python" {
        /// Every gunicorn worker re-runs the app's initialisation: the target module runs it at
        /// import time without preload, or a per-worker hook of the config file (`post_fork`,
        /// `post_worker_init`) reaches it. Once in the master (preload, the config file, `when_ready`)
        /// counts only after the entrypoint's own `flask` init.
        InitAtImport = "init-at-import",
        /// A name used in the source is never defined nor imported.
        UndefinedName = "undefined-name",
        /// `from X import Y` where module X binds no Y.
        ImportNameMissing = "import-name-missing",
        /// The module-level import graph has a cycle.
        ImportCycle = "import-cycle",
        /// `NAME = None` rebound under `global` and imported by value elsewhere.
        NoneRebound = "none-rebound",
        /// A route-like or teardown-like function lost its decorator.
        HandlerUndecorated = "handler-undecorated",
        /// The health URL matches a route once a prefix is doubled or dropped.
        RoutePrefixMismatch = "route-prefix-mismatch",
        /// No route of the app serves the health URL, under any prefix, and no handler-like
        /// function lost its decorator: the check asks for a route that was never written.
        HealthRouteAbsent = "health-route-absent",
        /// The gunicorn `module:var` target names no module-level binding.
        WsgiTargetUnbound = "wsgi-target-unbound",
        /// `current_app`/`g`/`request` used at module level.
        AppContextAtImport = "app-context-at-import",
        /// The migrations use the table the error names before a later migration creates it.
        MigrationOrder = "migration-order",
        /// The migrations create the table the error names before using it: they simply did not
        /// run against this database.
        MigrationsInOrder = "migrations-in-order",
        /// A Celery task the worker received is defined in a module the worker's app never imports.
        TaskNotIncluded = "task-not-included",
        /// gunicorn runs with a `--timeout` and the app does slow work at import.
        SlowImport = "slow-import",
        /// No bind of gunicorn's effective configuration (config file, `GUNICORN_CMD_ARGS`, command
        /// line) serves the health check URL's port.
        HealthPortUnbound = "health-port-unbound",
        /// A module uses syntax newer than the image's Python (a PEP 701 f-string on 3.11, a
        /// `match` on 3.9): it does not compile there.
        SyntaxNewer = "syntax-newer",
        /// One Flask extension class is bound twice to one app (`init_app` or its constructor),
        /// in one place that runs at start-up.
        ExtensionRegisteredTwice = "extension-registered-twice",
    }

    /// Classify Flower's GDBM state file (`--db`) from its header bytes, read through the
    /// archive endpoint (works on crash-looping containers).
    Gdbm(GdbmExpectation) = "gdbm" {
        /// Valid magic, `next_block` below the file size.
        NeedsRecovery = "needs-recovery",
        /// The header's fields point outside the file.
        BadHeader = "bad-header",
        /// The file is 0 bytes (or holds no GDBM magic).
        Empty = "empty",
    }

    /// Owner, mode and mount of the path named in the error, against the container's user.
    File(FileExpectation) = "file" {
        /// The container's user cannot write the path (owner/mode), on a writable mount.
        NotWritable = "not-writable",
        /// The path is on a read-only mount.
        ReadOnlyMount = "read-only-mount",
        /// The path is a directory where a file is expected.
        IsDirectory = "is-directory",
        /// The path belongs to another uid than the one the container runs as (not root).
        NotOwner = "not-owner",
        /// The path grants its group write access or others any access (more than u=rwx,g=rx).
        ModeTooOpen = "mode-too-open",
    }

    /// The bytes and mode of the script the container starts.
    Entrypoint(EntrypointExpectation) = "entrypoint" {
        /// The first line ends in CR LF.
        Crlf = "crlf",
        /// No execute bit.
        NotExecutable = "not-executable",
        /// A UTF-8 BOM before `#!`.
        Bom = "bom",
        /// No `#!` line.
        NoShebang = "no-shebang",
        /// A UTF-8 BOM before `#!`, or no `#!` line in a file that is no binary: the kernel
        /// cannot run it (`exec format error`). First bytes that are fine leave it unknown: the
        /// image may be built for another platform.
        BadFirstBytes = "bad-first-bytes",
    }

    /// Connect to PostgreSQL with the app's URL (a published loopback port, else from inside the
    /// network).
    Postgres(PostgresExpectation) = "postgres" {
        /// SQLSTATE 28P01, and the server's own configured password (`POSTGRES_PASSWORD`) is
        /// refused too: the volume kept another password.
        AuthFailed = "auth-failed",
        /// The client's URL gets SQLSTATE 28P01 while the server's configured password, or
        /// another client's URL, logs in as the same user: the client's URL is stale.
        ClientUrlStale = "client-url-stale",
        /// SQLSTATE 3D000.
        DatabaseMissing = "database-missing",
        /// SQLSTATE 57P03.
        StartingUp = "starting-up",
        /// Connected; a table named in the evidence does not exist.
        TablesMissing = "tables-missing",
        /// Connected and answered: the database is up now.
        Reachable = "reachable",
        /// A session of this client waits on a lock another session holds (`pg_stat_activity`,
        /// `pg_blocking_pids`): its requests hang.
        LockWait = "lock-wait",
        /// No session waits on a lock: a hang is not the database's.
        NoLockWait = "no-lock-wait",
    }

    /// PING Redis with the app's URL (a published loopback port, else from inside the network),
    /// read `INFO persistence`.
    Redis(RedisExpectation) = "redis" {
        /// The server wants a password the URL does not give.
        Noauth = "noauth",
        /// The URL's password is refused.
        Wrongpass = "wrongpass",
        /// Protected mode refuses the client.
        Denied = "denied",
        /// The last background save failed (`rdb_last_bgsave_status:err`).
        Misconf = "misconf",
        /// The server is loading its dataset.
        Loading = "loading",
        /// Nothing listens.
        Refused = "refused",
        /// Nothing listens on the URL's port, while the server listens on another (`--port` in
        /// its command, `port=` in its log) and answers there.
        PortMismatch = "port-mismatch",
    }

    /// The compose file's model of the service.
    Compose(ComposeExpectation) = "compose" {
        /// The service starts after a dependency has started, not once it is healthy.
        DependsOnStartedOnly = "depends-on-started-only",
        /// A variable the file uses is not set.
        EnvUnset = "env-unset",
        /// In a Swarm stack, the service relies on keys `docker stack deploy` ignores
        /// (`depends_on`, `build`, `container_name`, `restart`).
        SwarmIgnoredKeys = "swarm-ignored-keys",
    }

    /// The container's inspect data and image, read through the Engine API.
    Docker(DockerExpectation) = "docker" {
        /// The health check's program is in no directory of the image's PATH.
        HealthToolMissing = "health-tool-missing",
        /// A memory limit is set and the kernel killed the container for it.
        MemoryLimitHit = "memory-limit-hit",
        /// The health check turned healthy later than start_period + interval × retries allows.
        StartPeriodShort = "start-period-short",
        /// The service reserves NVIDIA GPUs (`deploy.resources.reservations.devices`) and the
        /// engine has no NVIDIA runtime.
        GpuRuntimeMissing = "gpu-runtime-missing",
        /// The engine's events of the last exit 137: a SIGTERM kill, then a SIGKILL once the
        /// stop grace period ran out (`docker stop`, `compose down`). Reads the snapshot only.
        KilledAfterGrace = "killed-after-grace",
    }

    /// The port the health check asks against the ports the server says it listens on (its
    /// `Listening at` / `Running on` lines, gunicorn's bind on the command line or in
    /// `GUNICORN_CMD_ARGS`). Reads the snapshot only.
    Ports(PortsExpectation) = "ports" {
        /// The health check's port is none of the ports the server listens on.
        HealthPortUnbound = "health-port-unbound",
        /// Another container of the stack publishes the host port the engine could not bind
        /// (`Bind for 0.0.0.0:5001 failed`): the conflict is inside the stack.
        HostPortHeld = "host-port-held",
    }

    /// The service a client's error names, in the stack.
    Dependency(DependencyExpectation) = "dependency" {
        /// The host names a service of the stack whose container is not running.
        TargetDown = "target-down",
        /// The host names no service, alias or container of the stack.
        NotAService = "not-a-service",
        /// The dependency the client talks to is up and answering now.
        TargetUp = "target-up",
        /// The password in the client's URL for a database service differs from the one that
        /// service is configured with (`POSTGRES_PASSWORD`, `MYSQL_PASSWORD`, …).
        UrlPasswordStale = "url-password-stale",
        /// The server requires a password (`--requirepass`, `REDIS_PASSWORD`) and the client's
        /// URL for it gives none.
        UrlPasswordMissing = "url-password-missing",
        /// A Redis URL in the client's environment or command names a loopback host
        /// (`localhost`, `127.0.0.1`, `::1`) — its own container — and the container does not
        /// share the host's network, where that would be the host.
        UrlHostLoopback = "url-host-loopback",
    }
}

impl fmt::Display for ProbeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind(), self.expectation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_expectation_round_trips_through_parse() {
        for kind in ProbeSpec::KINDS {
            let expectations = ProbeSpec::expectations(kind).expect("known kind");
            assert!(!expectations.is_empty());
            for e in expectations {
                let spec = ProbeSpec::parse(kind, e).expect("parses");
                assert_eq!((spec.kind(), spec.expectation()), (*kind, e));
            }
        }
        assert_eq!(ProbeSpec::parse("http-route", "nope"), None);
        assert_eq!(ProbeSpec::expectations("nope"), None);
    }

    /// A bundle records every kind's version: a kind without one could change unnoticed.
    #[test]
    fn every_probe_kind_has_a_version() {
        let mut kinds: Vec<&str> = ProbeSpec::KINDS.to_vec();
        let mut versioned: Vec<&str> = crate::probes::VERSIONS.iter().map(|(k, _)| *k).collect();
        kinds.sort_unstable();
        versioned.sort_unstable();
        assert_eq!(kinds, versioned);
        assert!(crate::probes::VERSIONS.iter().all(|(_, v)| *v >= 1));
    }
}
