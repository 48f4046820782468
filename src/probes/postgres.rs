//! The PostgreSQL probe: can a client log in with the credentials the app uses, and did the
//! schema get made?
//!
//! Several failure classes print the same client text: `password authentication failed` is a
//! changed password env on an old volume or a missing role; `relation "projects" does not exist`
//! is an init that never ran or failed. Asking the server settles them: the probe connects over
//! 127.0.0.1 (the port the database container publishes) or, when it publishes none, from inside
//! its network ([`super::transport`]), with the app's user, password and database, classifies the outcome by SQLSTATE
//! ([`PgConnect`]), and when it gets in, reads the server version, which of the app's tables
//! exist (`to_regclass`) and the `alembic_version` rows.
//!
//! Read-only: `SELECT`s only, nothing is created, locked or changed. Bounded: the whole exchange
//! (TCP connect, startup, authentication, queries) runs under one deadline —
//! `Config::connect_timeout` would bound only the TCP connect, and a server that accepts and
//! never answers would hang the startup forever. The password goes to the server and nowhere
//! else: no message this module builds contains it.
use super::endpoint::{self, Scheme, mask};
use super::transport::{self, Duplex, OpenError};
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::Expectation;
use crate::rules::{PostgresExpectation, ProbeSpec};
use std::error::Error as _;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

/// The most `alembic_version` rows read (there is one, unless branches were merged badly).
const MAX_REVISIONS: i64 = 16;
/// The most lock waits read from `pg_stat_activity`.
pub const MAX_LOCK_WAITS: i64 = 8;
/// The most bytes read from the server in one observation. Every answer the probe asks for is
/// small (a version, a few booleans, at most [`MAX_REVISIONS`] revisions and
/// [`MAX_LOCK_WAITS`] rows of 200-character queries): a server — or something else on the port —
/// that sends more is cut off here rather than buffered by the client library, which believes
/// whatever message length it is told.
pub const MAX_SERVER_BYTES: usize = 1024 * 1024;

/// A session waiting on a lock, and the session holding it: what makes a request hang with no
/// error anywhere (`idle in transaction` after a `LOCK TABLE`, a migration left open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWait {
    pub pid: i32,
    /// The waiting client's address (`172.18.0.5`), empty for a Unix socket.
    pub client_addr: String,
    /// What it waits for: the table, else the lock type (`transactionid`).
    pub relation: String,
    /// The start of its query (200 characters at most).
    pub query: String,
    pub blocker_pid: i32,
    /// `idle in transaction`, `active`, …
    pub blocker_state: String,
    pub blocker_application: String,
    pub blocker_addr: String,
    pub blocker_query: String,
    /// The lock mode the blocker holds on that relation (`AccessExclusiveLock`), when known.
    pub blocker_mode: String,
    /// How long the blocker's transaction has been open, in seconds.
    pub blocker_xact_secs: i64,
}

/// Every lock wait and its blocker. `pg_blocking_pids` (PostgreSQL ≥ 9.6) names the blockers;
/// the relation comes from the waiter's ungranted lock.
const LOCK_WAITS: &str = "SELECT w.pid, coalesce(host(w.client_addr), ''),      coalesce((SELECT c.relname::text FROM pg_locks l JOIN pg_class c ON c.oid = l.relation                WHERE l.pid = w.pid AND NOT l.granted LIMIT 1),               (SELECT l.locktype FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted LIMIT 1), ''),      left(coalesce(w.query, ''), 200),      b.pid, coalesce(b.state, ''), coalesce(b.application_name, ''),      coalesce(host(b.client_addr), ''), left(coalesce(b.query, ''), 200),      coalesce((SELECT l.mode FROM pg_locks l WHERE l.pid = b.pid AND l.granted AND l.relation =                (SELECT l2.relation FROM pg_locks l2 WHERE l2.pid = w.pid AND NOT l2.granted LIMIT 1)                LIMIT 1), ''),      coalesce(extract(epoch FROM now() - b.xact_start)::bigint, 0)      FROM pg_stat_activity w      CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)      JOIN pg_stat_activity b ON b.pid = bp.pid      WHERE w.wait_event_type = 'Lock' ORDER BY w.pid LIMIT $1";

/// How a connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgConnect {
    /// Logged in.
    Ok,
    /// `28P01`: wrong password, or a role that does not exist (the server says the same to the
    /// client for both; its own log tells them apart).
    AuthFailed,
    /// The server asks for a password and the client has none (libpq: `fe_sendauth: no password
    /// supplied`) — typically an unset `POSTGRES_PASSWORD` in the client's env.
    PasswordMissing,
    /// `3D000`: the database does not exist.
    DatabaseMissing,
    /// `57P03`: the server is starting up, shutting down or in recovery.
    StartingUp,
    /// `53300`: `sorry, too many clients already`.
    TooManyConnections,
    /// Nothing listens on the port.
    Refused,
    /// No answer within the deadline (connect, startup, authentication or queries).
    Timeout(Duration),
    /// The server closed or reset the connection without an error message.
    Reset,
    /// Another server error, with its SQLSTATE and message (`28000`, `no pg_hba.conf entry …`).
    OtherSql { code: String, message: String },
    /// Another failure on the client side (TLS demanded, protocol error, …).
    Io(String),
}

impl fmt::Display for PgConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgConnect::Ok => f.write_str("connected"),
            PgConnect::AuthFailed => f.write_str("password authentication failed (28P01)"),
            PgConnect::PasswordMissing => {
                f.write_str("the server asks for a password and none is configured")
            }
            PgConnect::DatabaseMissing => f.write_str("the database does not exist (3D000)"),
            PgConnect::StartingUp => f.write_str("the database system is starting up (57P03)"),
            PgConnect::TooManyConnections => f.write_str("too many connections (53300)"),
            PgConnect::Refused => f.write_str("connection refused"),
            PgConnect::Timeout(d) => write!(f, "no answer within {}", human(*d)),
            PgConnect::Reset => f.write_str("the server closed the connection"),
            PgConnect::OtherSql { code, message } => write!(f, "{message} ({code})"),
            PgConnect::Io(e) => f.write_str(e),
        }
    }
}

/// What the probe learned from one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgObservation {
    pub connect: PgConnect,
    /// The server's own message when it refused the login
    /// (`password authentication failed for user "analylit"`).
    pub server_message: Option<String>,
    /// `server_version` (`15.8 (Debian 15.8-0+deb12u1)`), when logged in.
    pub server_version: Option<String>,
    /// Each expected table, in order, and whether `public.<name>` exists. Empty when not logged
    /// in or when the query did not complete.
    pub tables: Vec<(String, bool)>,
    /// The revisions in `alembic_version`; `None` when there is no such table (or it was not
    /// read: see `connect` and `query_error`).
    pub alembic_version: Option<Vec<String>>,
    /// Logged in, but a query then failed or ran out of time: the fields after it are missing.
    pub query_error: Option<String>,
    /// Sessions waiting on a lock, each with the session that blocks it (at most
    /// [`MAX_LOCK_WAITS`]); empty when none waits or they could not be read.
    pub lock_waits: Vec<LockWait>,
}

/// Log in to `addr` (a loopback address) as `user` on `database` and look at the schema.
/// Everything — connect, startup, authentication and the queries — shares one `timeout`.
pub async fn observe(
    addr: SocketAddr,
    user: &str,
    password: Option<&str>,
    database: &str,
    expected_tables: &[&str],
    timeout: Duration,
) -> PgObservation {
    let deadline = tokio::time::Instant::now() + timeout;
    let stream = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => Err(PgConnect::Timeout(timeout)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(PgConnect::Refused),
        Ok(Err(e)) => Err(PgConnect::Io(e.to_string())),
        Ok(Ok(s)) => Ok(Box::new(s) as Box<dyn Duplex>),
    };
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    observe_over(
        stream,
        user,
        password,
        database,
        expected_tables,
        left,
        timeout,
    )
    .await
}

/// [`observe`] over a stream already open (`Err`: why none could be opened), with `left` of the
/// deadline `timeout` remaining for startup, authentication and the queries.
pub async fn observe_over(
    stream: Result<Box<dyn Duplex>, PgConnect>,
    user: &str,
    password: Option<&str>,
    database: &str,
    expected_tables: &[&str],
    left: Duration,
    timeout: Duration,
) -> PgObservation {
    let mut obs = PgObservation {
        connect: PgConnect::Timeout(timeout),
        server_message: None,
        server_version: None,
        tables: Vec::new(),
        alembic_version: None,
        query_error: None,
        lock_waits: Vec::new(),
    };
    let stream: Box<dyn Duplex> = match stream {
        Ok(s) => Box::new(transport::ReadCap::new(s, MAX_SERVER_BYTES)),
        Err(why) => {
            obs.connect = why;
            return obs;
        }
    };
    let mut config = Config::new();
    config
        .user(user)
        .dbname(database)
        .application_name("analylit-doctor");
    if let Some(pw) = password {
        config.password(pw);
    }
    let run = gather(&mut obs, &config, stream, expected_tables, password);
    if tokio::time::timeout(left, run).await.is_err() && obs.connect == PgConnect::Ok {
        obs.query_error = Some(format!("no answer within {}", human(timeout)));
    }
    obs
}

/// Log in, then query while driving the connection; records into `obs` as it goes so that a
/// deadline in the middle keeps what was learned.
async fn gather(
    obs: &mut PgObservation,
    config: &Config,
    stream: Box<dyn Duplex>,
    expected_tables: &[&str],
    password: Option<&str>,
) {
    let (client, connection) = match config.connect_raw(stream, NoTls).await {
        Ok(pair) => pair,
        Err(e) => {
            obs.connect = classify(&e);
            obs.server_message = e
                .as_db_error()
                .map(|db| mask(db.message().to_owned(), password));
            return;
        }
    };
    obs.connect = PgConnect::Ok;
    // The connection future does the socket I/O; it must be polled while the queries wait.
    let outcome = tokio::select! {
        r = queries(&client, obs, expected_tables) => r,
        r = connection => Err(match r {
            Err(e) => QueryError::Pg(e),
            Ok(()) => QueryError::Text(PgConnect::Reset.to_string()),
        }),
    };
    if let Err(e) = outcome {
        obs.query_error = Some(mask(e.to_string(), password));
    }
}

/// A query that failed after login.
#[derive(Debug)]
enum QueryError {
    Pg(tokio_postgres::Error),
    Text(String),
}

impl From<tokio_postgres::Error> for QueryError {
    fn from(e: tokio_postgres::Error) -> Self {
        QueryError::Pg(e)
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Pg(e) => match e.as_db_error() {
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => write!(f, "{}", classify(e)),
            },
            QueryError::Text(t) => f.write_str(t),
        }
    }
}

async fn queries(
    client: &Client,
    obs: &mut PgObservation,
    expected_tables: &[&str],
) -> Result<(), QueryError> {
    let row = client
        .query_one("SELECT current_setting('server_version')", &[])
        .await?;
    obs.server_version = Some(row.try_get(0)?);
    if !expected_tables.is_empty() {
        // `%I` quotes like SQLAlchemy does: `projects` stays as is, `Projects` is quoted.
        let rows = client
            .query(
                "SELECT t, to_regclass(format('public.%I', t)) IS NOT NULL \
                 FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n) ORDER BY n",
                &[&expected_tables],
            )
            .await?;
        obs.tables = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?;
    }
    let has_alembic: bool = client
        .query_one(
            "SELECT to_regclass('public.alembic_version') IS NOT NULL",
            &[],
        )
        .await?
        .try_get(0)?;
    if has_alembic {
        let rows = client
            .query(
                "SELECT version_num::text FROM public.alembic_version LIMIT $1",
                &[&MAX_REVISIONS],
            )
            .await?;
        obs.alembic_version = Some(
            rows.iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?,
        );
    }
    let rows = client.query(LOCK_WAITS, &[&MAX_LOCK_WAITS]).await?;
    obs.lock_waits = rows
        .iter()
        .map(|r| {
            Ok(LockWait {
                pid: r.try_get(0)?,
                client_addr: r.try_get(1)?,
                relation: r.try_get(2)?,
                query: r.try_get(3)?,
                blocker_pid: r.try_get(4)?,
                blocker_state: r.try_get(5)?,
                blocker_application: r.try_get(6)?,
                blocker_addr: r.try_get(7)?,
                blocker_query: r.try_get(8)?,
                blocker_mode: r.try_get(9)?,
                blocker_xact_secs: r.try_get(10)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    Ok(())
}

/// A connect error as a [`PgConnect`]: by SQLSTATE when the server answered, else by the I/O
/// error underneath.
fn classify(e: &tokio_postgres::Error) -> PgConnect {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD {
            PgConnect::AuthFailed
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            PgConnect::DatabaseMissing
        } else if *code == SqlState::CANNOT_CONNECT_NOW {
            PgConnect::StartingUp
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            PgConnect::TooManyConnections
        } else {
            PgConnect::OtherSql {
                code: code.code().to_owned(),
                message: db.message().to_owned(),
            }
        };
    }
    if e.is_closed() {
        return PgConnect::Reset;
    }
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return match io.kind() {
                K::ConnectionRefused => PgConnect::Refused,
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    PgConnect::Reset
                }
                _ => PgConnect::Io(format!("{e}: {io}")),
            };
        }
        if s.to_string() == "password missing" {
            return PgConnect::PasswordMissing;
        }
        source = s.source();
    }
    PgConnect::Io(e.to_string())
}

/// `3s`, `500ms`: how people write a timeout.
pub(crate) fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Tables an error names: `relation "projects" does not exist`.
fn tables_in(hints: &[String]) -> Vec<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r#"relation "(?:public\.)?([^"]+)" does not exist"#).expect("regex")
    });
    let mut out: Vec<String> = hints
        .iter()
        .flat_map(|h| re.captures_iter(h).map(|c| c[1].to_owned()))
        .collect();
    out.dedup();
    out
}

/// Judge every `postgres` spec for `ctx.container`: log in with the URL its environment gives
/// (its own credentials when it is the server), over the port published on 127.0.0.1 or, when the
/// server publishes none, from inside its network ([`transport`]).
pub async fn probe(expects: &[PostgresExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    let (url, route, mut facts) =
        match endpoint::target(ctx, "PostgreSQL", |s| s == Scheme::Postgres) {
            Ok(t) => t,
            Err((why, facts)) => {
                return specs
                    .iter()
                    .map(|s| ProbeResult::unknown(s, why.clone(), &facts))
                    .collect();
            }
        };
    let tables = tables_in(ctx.hints);
    let wanted: Vec<&str> = tables.iter().map(String::as_str).collect();
    let user = url.user.as_deref().unwrap_or("postgres");
    let opened = transport::open(
        &route,
        ctx.docker,
        &ctx.snapshot.project,
        ctx.opts.timeout,
        ctx.opts.open_timeout,
    )
    .await;
    let via = match &opened {
        Ok(conn) => conn.via.clone(),
        Err(e) => e.via().map_or_else(|| route.to_string(), str::to_owned),
    };
    let (stream, closer) = match opened {
        Ok(conn) => (Ok(conn.stream), Some(conn.closer)),
        Err(OpenError::NoPath(why)) => {
            facts.push(format!("route: {route}"));
            let why = format!("cannot reach the database: {}", why.join("; "));
            return specs
                .iter()
                .map(|s| ProbeResult::unknown(s, why.clone(), &facts))
                .collect();
        }
        Err(OpenError::Refused { .. }) => (Err(PgConnect::Refused), None),
        Err(OpenError::Timeout { .. }) => (Err(PgConnect::Timeout(ctx.opts.timeout)), None),
        Err(OpenError::Unreachable { reason, .. }) => (Err(PgConnect::Io(reason)), None),
    };
    let obs = observe_over(
        stream,
        user,
        url.password(),
        url.postgres_database(),
        &wanted,
        ctx.opts.timeout,
        ctx.opts.timeout,
    )
    .await;
    if let Some(closer) = closer {
        closer.close().await;
    }
    let refused = matches!(
        obs.connect,
        PgConnect::AuthFailed | PgConnect::PasswordMissing
    );
    let wants_references = specs.iter().any(|s| {
        matches!(
            s,
            ProbeSpec::Postgres {
                expect: PostgresExpectation::AuthFailed | PostgresExpectation::ClientUrlStale
            }
        )
    });
    let references = if refused && wants_references {
        reference_logins(ctx, &url, &route).await
    } else {
        Vec::new()
    };
    facts.push(format!(
        "login as {user} on {} via {via}: {}{}",
        url.postgres_database(),
        obs.connect,
        obs.server_message
            .as_deref()
            .map(|m| format!(" — {m}"))
            .unwrap_or_default()
    ));
    if let Some(v) = &obs.server_version {
        facts.push(format!("server version {v}"));
    }
    for (t, present) in &obs.tables {
        facts.push(format!(
            "public.{t} {}",
            if *present { "exists" } else { "does not exist" }
        ));
    }
    if let Some(e) = &obs.query_error {
        facts.push(format!("query: {e}"));
    }
    facts.extend(references.iter().map(Reference::fact));
    let client = UrlOwner {
        service: ctx.container.service.clone(),
        var: url.var.clone(),
        user: user.to_owned(),
        origin: endpoint::origin_of(ctx.snapshot, &ctx.container.service, &url.var),
        is_server: endpoint::server_named(ctx.snapshot, &url.host)
            .is_some_and(|s| s.id == ctx.container.id),
    };
    specs
        .iter()
        .zip(expects)
        .map(|(spec, expect)| {
            let judged = match expect {
                PostgresExpectation::AuthFailed | PostgresExpectation::ClientUrlStale => {
                    judge_login(spec, *expect, &obs, &client, &references, &facts)
                }
                PostgresExpectation::LockWait | PostgresExpectation::NoLockWait => {
                    judge_locks(spec, *expect, &obs, ctx, &facts)
                }
                _ => judge(spec, *expect, &obs, &facts),
            };
            let judged = judged.with("via", via.clone());
            match (expect, &judged.outcome) {
                (PostgresExpectation::ClientUrlStale, Outcome::Confirmed) => judged
                    .with("client", client.service.clone())
                    .with("variable", client.var.clone()),
                _ => judged,
            }
        })
        .collect()
}

/// `lock-wait` and `no-lock-wait`: the sessions waiting on a lock, those of the probed client
/// (by its addresses on the stack's networks) first, with who holds the lock.
fn judge_locks(
    spec: &ProbeSpec,
    expect: PostgresExpectation,
    obs: &PgObservation,
    ctx: &Ctx<'_>,
    facts: &[String],
) -> ProbeResult {
    if obs.connect != PgConnect::Ok {
        return ProbeResult::unknown(spec, format!("login: {}", obs.connect), facts);
    }
    if obs.query_error.is_some() && obs.lock_waits.is_empty() {
        return ProbeResult::unknown(spec, "pg_stat_activity could not be read".into(), facts);
    }
    let own: Vec<&str> = ctx
        .container
        .networks
        .iter()
        .map(|n| n.ip.as_str())
        .filter(|ip| !ip.is_empty())
        .collect();
    let service_at = |addr: &str| {
        ctx.snapshot
            .containers
            .iter()
            .find(|c| !addr.is_empty() && c.networks.iter().any(|n| n.ip == addr))
            .map(|c| c.service.clone())
    };
    let mine: Vec<&LockWait> = obs
        .lock_waits
        .iter()
        .filter(|w| own.is_empty() || own.contains(&w.client_addr.as_str()))
        .collect();
    let mut facts = facts.to_vec();
    for w in &obs.lock_waits {
        facts.push(format!(
            "session {} ({}) waits on {} for session {} ({}{}, {}, transaction open {} s): {}",
            w.pid,
            service_at(&w.client_addr).unwrap_or_else(|| w.client_addr.clone()),
            w.relation,
            w.blocker_pid,
            service_at(&w.blocker_addr).unwrap_or_else(|| {
                if w.blocker_addr.is_empty() {
                    "local socket".into()
                } else {
                    w.blocker_addr.clone()
                }
            }),
            if w.blocker_application.is_empty() {
                String::new()
            } else {
                format!(", application {}", w.blocker_application)
            },
            w.blocker_state,
            w.blocker_xact_secs,
            w.blocker_query.trim()
        ));
    }
    let r = |o: Outcome, summary: String| ProbeResult::new(spec, o, summary, &facts);
    let confirmed = expect == PostgresExpectation::LockWait;
    match mine.first() {
        Some(w) => {
            let holder = service_at(&w.blocker_addr)
                .map(|s| format!("{s}'s session {}", w.blocker_pid))
                .unwrap_or_else(|| format!("session {}", w.blocker_pid));
            let mode = if w.blocker_mode.is_empty() {
                String::new()
            } else {
                format!(" {}", w.blocker_mode)
            };
            r(
                Outcome::of(confirmed),
                format!(
                    "{}'s query waits for the{mode} lock on {} held by {holder}, {} for {} s (`{}`): a request hung on a lock, not a slow boot",
                    ctx.container.service,
                    w.relation,
                    w.blocker_state,
                    w.blocker_xact_secs,
                    w.blocker_query.trim()
                ),
            )
            .with("relation", w.relation.clone())
            .with("blocker_pid", w.blocker_pid.to_string())
        }
        None if obs.lock_waits.is_empty() => {
            r(Outcome::of(!confirmed), "no session waits on a lock".into())
        }
        None => ProbeResult::unknown(
            spec,
            format!(
                "{} session(s) wait on a lock, none from {}",
                obs.lock_waits.len(),
                ctx.container.service
            ),
            &facts,
        ),
    }
}

/// The container whose URL the probe used (a client, or the server with its own credentials).
struct UrlOwner {
    service: String,
    /// The variable (`DATABASE_URL`) or flag the URL came from.
    var: String,
    user: String,
    /// Where that variable is set, when the compose file tells (`env_file .env`).
    origin: Option<String>,
    /// The probed container is the database server itself (its own configured credentials).
    is_server: bool,
}

/// Another login to the same server, to tell a stale client URL from a server whose volume kept
/// another password.
struct Reference {
    /// `db's POSTGRES_PASSWORD`, `migrate's DATABASE_URL`.
    who: String,
    /// The server's own configured credentials (what `ALTER ROLE` would be about).
    configured: bool,
    user: String,
    connect: PgConnect,
}

impl Reference {
    fn fact(&self) -> String {
        format!("login as {} with {}: {}", self.user, self.who, self.connect)
    }
}

/// The most other logins tried (each may cost a relay container).
const MAX_REFERENCES: usize = 3;

/// Log in with the server's configured credentials and with the other clients' URLs to the same
/// server (different passwords only), along `route`.
async fn reference_logins(
    ctx: &Ctx<'_>,
    url: &endpoint::ServiceUrl,
    route: &transport::Route,
) -> Vec<Reference> {
    let is_pg = |s: Scheme| s == Scheme::Postgres;
    let server = endpoint::server_named(ctx.snapshot, &url.host);
    let mut candidates: Vec<(String, bool, endpoint::ServiceUrl)> = Vec::new();
    if let Some(server) = server.filter(|s| s.id != ctx.container.id) {
        for own in endpoint::urls_of(server, is_pg) {
            candidates.push((format!("{}'s POSTGRES_PASSWORD", server.service), true, own));
        }
    }
    for c in &ctx.snapshot.containers {
        if c.id == ctx.container.id || server.is_some_and(|s| s.id == c.id) {
            continue;
        }
        for other in endpoint::urls_of(c, is_pg) {
            let same_server = endpoint::server_named(ctx.snapshot, &other.host)
                .zip(server)
                .is_some_and(|(a, b)| a.id == b.id);
            if same_server {
                candidates.push((format!("{}'s {}", c.service, other.var), false, other));
            }
        }
    }
    let mut seen: Vec<(Option<String>, Option<String>)> =
        vec![(url.user.clone(), url.password().map(str::to_owned))];
    let mut out = Vec::new();
    for (who, configured, cand) in candidates {
        let key = (cand.user.clone(), cand.password().map(str::to_owned));
        if seen.contains(&key) || out.len() >= MAX_REFERENCES {
            continue;
        }
        seen.push(key);
        let user = cand.user.clone().unwrap_or_else(|| "postgres".into());
        let stream = match transport::open(
            route,
            ctx.docker,
            &ctx.snapshot.project,
            ctx.opts.timeout,
            ctx.opts.open_timeout,
        )
        .await
        {
            Ok(conn) => (Ok(conn.stream), Some(conn.closer)),
            Err(e) => (Err(PgConnect::Io(e.to_string())), None),
        };
        let obs = observe_over(
            stream.0,
            &user,
            cand.password(),
            cand.postgres_database(),
            &[],
            ctx.opts.timeout,
            ctx.opts.timeout,
        )
        .await;
        if let Some(closer) = stream.1 {
            closer.close().await;
        }
        out.push(Reference {
            who,
            configured,
            user,
            connect: obs.connect,
        });
    }
    out
}

/// `auth-failed` and `client-url-stale`: the client's login, against the reference logins.
fn judge_login(
    spec: &ProbeSpec,
    expect: PostgresExpectation,
    obs: &PgObservation,
    client: &UrlOwner,
    references: &[Reference],
    facts: &[String],
) -> ProbeResult {
    use PostgresExpectation as E;
    let r = |o: Outcome, s: String| ProbeResult::new(spec, o, s, facts);
    let refused = matches!(
        obs.connect,
        PgConnect::AuthFailed | PgConnect::PasswordMissing
    );
    if expect == E::ClientUrlStale && client.is_server {
        return r(
            Outcome::RuledOut,
            "these are the server's own configured credentials, not a client's URL".into(),
        );
    }
    if !refused && client.is_server && obs.connect == PgConnect::Ok {
        return r(
            Outcome::RuledOut,
            format!(
                "{}'s configured password logs in as {}: the server has the password it was given",
                client.service, client.user
            ),
        );
    }
    if !refused {
        return judge(spec, expect, obs, facts);
    }
    let same_user = |x: &&Reference| x.user == client.user;
    let configured_ok = references
        .iter()
        .filter(same_user)
        .find(|x| x.configured && x.connect == PgConnect::Ok);
    let configured_refused = references
        .iter()
        .filter(same_user)
        .any(|x| x.configured && x.connect == PgConnect::AuthFailed);
    let any_ok: Vec<&Reference> = references
        .iter()
        .filter(same_user)
        .filter(|x| x.connect == PgConnect::Ok)
        .collect();
    let origin = client
        .origin
        .as_deref()
        .map(|o| format!(" (set in {o})"))
        .unwrap_or_default();
    match expect {
        E::AuthFailed => match configured_ok {
            Some(x) => r(
                Outcome::RuledOut,
                format!(
                    "the server accepts {} as {}: its password is the configured one; {}'s {} is stale",
                    x.who, client.user, client.service, client.var
                ),
            ),
            None => r(
                Outcome::Confirmed,
                if configured_refused {
                    format!(
                        "the server refuses the app's credentials and its own configured password: \
                         password authentication failed (28P01) for {}",
                        client.user
                    )
                } else {
                    "the server refuses the app's credentials: password authentication failed (28P01)"
                        .into()
                },
            ),
        },
        E::ClientUrlStale => {
            if configured_refused && configured_ok.is_none() {
                return r(
                    Outcome::RuledOut,
                    format!(
                        "the server refuses its own configured password for {} too: the volume kept another password",
                        client.user
                    ),
                );
            }
            match any_ok.first() {
                Some(_) => r(
                    Outcome::Confirmed,
                    format!(
                        "{}'s {}{origin} is refused (28P01) while {} log{} in as {}: the client's URL carries a stale password",
                        client.service,
                        client.var,
                        any_ok
                            .iter()
                            .map(|x| x.who.as_str())
                            .collect::<Vec<_>>()
                            .join(" and "),
                        if any_ok.len() == 1 { "s" } else { "" },
                        client.user
                    ),
                ),
                None => ProbeResult::unknown(
                    spec,
                    format!(
                        "no other credentials for {} to compare with (no configured password, no other client)",
                        client.user
                    ),
                    facts,
                ),
            }
        }
        _ => judge(spec, expect, obs, facts),
    }
}

fn judge(
    spec: &ProbeSpec,
    expect: PostgresExpectation,
    obs: &PgObservation,
    facts: &[String],
) -> ProbeResult {
    use PostgresExpectation as E;
    let r = |o: Outcome, s: String| ProbeResult::new(spec, o, s, facts);
    let unreachable_now = matches!(
        obs.connect,
        PgConnect::Timeout(_) | PgConnect::Io(_) | PgConnect::TooManyConnections
    );
    if unreachable_now {
        return ProbeResult::unknown(spec, obs.connect.to_string(), facts);
    }
    match (expect, &obs.connect) {
        (E::ClientUrlStale, PgConnect::Ok) => r(
            Outcome::RuledOut,
            "the client's credentials log in now".into(),
        ),
        (E::AuthFailed, PgConnect::AuthFailed) => r(
            Outcome::Confirmed,
            "the server refuses the app's credentials: password authentication failed (28P01)"
                .into(),
        ),
        (E::AuthFailed, PgConnect::Ok) => {
            r(Outcome::RuledOut, "the app's credentials log in now".into())
        }
        (E::DatabaseMissing, PgConnect::DatabaseMissing) => r(
            Outcome::Confirmed,
            "the database the app's URL names does not exist (3D000)".into(),
        ),
        (E::DatabaseMissing, PgConnect::Ok) => r(
            Outcome::RuledOut,
            "the app's database exists: the login succeeds".into(),
        ),
        (E::StartingUp, PgConnect::StartingUp) => r(
            Outcome::Confirmed,
            "the server is still starting up (57P03)".into(),
        ),
        (E::StartingUp, PgConnect::Ok) => r(
            Outcome::RuledOut,
            "the server accepts connections now".into(),
        ),
        (E::Reachable, PgConnect::Ok) => r(
            Outcome::Confirmed,
            format!(
                "the database answers now{}: the failure was transient",
                obs.server_version
                    .as_deref()
                    .map(|v| format!(" (PostgreSQL {v})"))
                    .unwrap_or_default()
            ),
        ),
        (E::Reachable, PgConnect::Refused | PgConnect::Reset | PgConnect::StartingUp) => r(
            Outcome::RuledOut,
            format!("the database still does not answer: {}", obs.connect),
        ),
        (E::TablesMissing, PgConnect::Ok) => {
            if let Some((t, _)) = obs.tables.iter().find(|(_, present)| !present) {
                r(
                    Outcome::Confirmed,
                    format!("logged in with the app's URL: public.{t} does not exist"),
                )
            } else if obs.tables.is_empty() {
                ProbeResult::unknown(
                    spec,
                    obs.query_error
                        .clone()
                        .unwrap_or_else(|| "the error names no table to look for".into()),
                    facts,
                )
            } else {
                r(
                    Outcome::RuledOut,
                    "every table the error names exists now".into(),
                )
            }
        }
        (_, other) => ProbeResult::unknown(spec, format!("login: {other}"), facts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_sentences() {
        assert_eq!(
            PgConnect::Timeout(Duration::from_millis(500)).to_string(),
            "no answer within 500ms"
        );
        assert_eq!(
            PgConnect::OtherSql {
                code: "28000".into(),
                message: "no pg_hba.conf entry for host \"172.18.0.1\"".into()
            }
            .to_string(),
            "no pg_hba.conf entry for host \"172.18.0.1\" (28000)"
        );
    }
}
