//! Endpoint discovery: which PostgreSQL and Redis servers a container talks to, and where the
//! host can reach them.
//!
//! A client container names its servers in its environment (`DATABASE_URL`,
//! `CELERY_BROKER_URL`, `POSTGRES_HOST` + `POSTGRES_PORT` + …) or on its command line
//! (`celery --broker=redis://…`). Those names are compose service names seen from inside the
//! stack's network (`db:5432`); the doctor runs on the host, where the only address it may use is
//! 127.0.0.1 and a port the target container publishes there. This module reads the URLs
//! ([`urls_in_env`], [`urls_in_argv`]) and maps a URL's host and port to a [`Route`]: that
//! loopback address ([`loopback_addr`]) when the server publishes the port, else the server's
//! address inside its network, reached through the Engine ([`route`], [`super::transport`]). Or it
//! says why there is none ([`Unreachable`]) — which is itself evidence: a host that is no service
//! of the stack is a typo or another network, a stopped target is the real cause behind a "Name
//! or service not known".
//!
//! Pure: no I/O. The password of a URL is kept (the probes need it to connect) inside a
//! [`Secret`] that never prints: `Display` and `Debug` show `***` in its place.
use super::http::loopback_port;
use super::transport::{self, Route};
use crate::stack::snapshot::{ContainerSnapshot, StackSnapshot};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Default PostgreSQL port (libpq, SQLAlchemy, psycopg2).
pub const POSTGRES_PORT: u16 = 5432;
/// Default Redis port (redis-py, kombu), also for `rediss://`.
pub const REDIS_PORT: u16 = 6379;

/// Which kind of server a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `postgres://`, `postgresql://`, `postgresql+<driver>://`, Celery's `db+postgresql://`.
    Postgres,
    /// `redis://` or, with `tls`, `rediss://`.
    Redis { tls: bool },
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Postgres => POSTGRES_PORT,
            Scheme::Redis { .. } => REDIS_PORT,
        }
    }

    fn canonical(self) -> &'static str {
        match self {
            Scheme::Postgres => "postgresql",
            Scheme::Redis { tls: false } => "redis",
            Scheme::Redis { tls: true } => "rediss",
        }
    }
}

/// A password: readable by the code that connects, never shown. `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::redact::MASK)
    }
}

/// A service URL found in a container's env or argv. The password is kept for connecting but
/// never shown: `Display` and `Debug` mask it (`postgresql://analylit:***@db:5432/analylit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    /// Where it was found: the variable (`DATABASE_URL`; `POSTGRES_HOST` for one assembled from
    /// `POSTGRES_*` variables), or the flag (`--broker`), or `argv`.
    pub var: String,
    pub scheme: Scheme,
    /// The scheme as written, lowercased (`postgresql+psycopg2`, `postgres`, `db+postgresql`):
    /// `postgres://` works with libpq but not with SQLAlchemy 1.4, so the spelling can matter.
    pub scheme_text: String,
    /// Percent-decoded.
    pub user: Option<String>,
    password: Option<Secret>,
    /// As written (percent-decoded). Empty or a path (`/var/run/postgresql`) means a Unix socket.
    pub host: String,
    pub port: u16,
    /// PostgreSQL database name, or Redis database number as written (`0`). `None` when the URL
    /// names none (libpq then uses the user name, Redis database 0).
    pub database: Option<String>,
}

impl ServiceUrl {
    /// The password, for connecting. Never log or show it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(Secret::expose)
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The Redis database number (`/2`, `?db=2`), 0 when absent or not a number.
    pub fn redis_db(&self) -> i64 {
        self.database
            .as_deref()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    }

    /// The PostgreSQL database a client connects to: the named one, else (libpq) the user name,
    /// else `postgres`.
    pub fn postgres_database(&self) -> &str {
        self.database
            .as_deref()
            .or(self.user.as_deref())
            .unwrap_or("postgres")
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme_text)?;
        if self.user.is_some() || self.password.is_some() {
            f.write_str(self.user.as_deref().unwrap_or(""))?;
            if self.password.is_some() {
                write!(f, ":{}", crate::redact::MASK)?;
            }
            f.write_str("@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        write!(f, ":{}", self.port)?;
        if let Some(db) = &self.database {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

/// Every PostgreSQL and Redis URL in a container's environment, in env order; then, for a kind of
/// server no URL names, one assembled from the libpq/compose style variables
/// (`POSTGRES_HOST`/`_PORT`/`_USER`/`_PASSWORD`/`_DB`, `PGHOST`…, `DB_HOST`…, `DATABASE_HOST`…,
/// `REDIS_HOST`/`_PORT`/`_PASSWORD`/`_DB`). A family counts only when its host variable is set:
/// the database container's own `POSTGRES_USER`/`POSTGRES_PASSWORD` name no server.
pub fn urls_in_env(env: &[(String, String)]) -> Vec<ServiceUrl> {
    let mut out: Vec<ServiceUrl> = env
        .iter()
        .flat_map(|(name, value)| urls_in_value(name, value))
        .collect();
    for family in &FAMILIES {
        if !out.iter().any(|u| same_kind(u.scheme, family.scheme)) {
            out.extend(assemble(family, env));
        }
    }
    out
}

/// The URLs on a command line: `--broker=redis://…`, `--broker redis://…`, `-b redis://…`, or a
/// bare URL; also inside a `sh -c "…"` string. `var` is the flag when there is one, else `argv`.
pub fn urls_in_argv(argv: &[String]) -> Vec<ServiceUrl> {
    let words: Vec<&str> = argv
        .iter()
        .flat_map(|a| a.split_whitespace())
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
        .collect();
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if let Some((flag, value)) = word.split_once('=').filter(|(f, _)| f.starts_with('-')) {
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            out.extend(urls_in_value(flag, value));
            continue;
        }
        let var = match i.checked_sub(1).map(|p| words[p]) {
            Some(prev) if prev.starts_with('-') && !prev.contains('=') => prev,
            _ => "argv",
        };
        out.extend(urls_in_value(var, word));
    }
    out
}

/// Kombu accepts several broker URLs separated by `;` (failover).
fn urls_in_value(var: &str, value: &str) -> Vec<ServiceUrl> {
    value
        .split(';')
        .filter_map(|part| parse_url(var, part.trim()))
        .collect()
}

fn same_kind(a: Scheme, b: Scheme) -> bool {
    matches!(
        (a, b),
        (Scheme::Postgres, Scheme::Postgres) | (Scheme::Redis { .. }, Scheme::Redis { .. })
    )
}

/// One URL, or `None` when `text` is no PostgreSQL/Redis URL or its port is not a number.
fn parse_url(var: &str, text: &str) -> Option<ServiceUrl> {
    let (scheme_text, rest) = text.split_once("://")?;
    let scheme_text = scheme_text.to_ascii_lowercase();
    let base = scheme_text.strip_prefix("db+").unwrap_or(&scheme_text);
    let scheme = match base.split('+').next()? {
        "postgres" | "postgresql" => Scheme::Postgres,
        "redis" => Scheme::Redis { tls: false },
        "rediss" => Scheme::Redis { tls: true },
        _ => return None,
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    // A password may hold an unencoded `@`: the host follows the last one.
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (mut user, mut password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pw)) => (non_empty(user), non_empty(pw)),
            None => (non_empty(u), None),
        },
        None => (None, None),
    };
    // libpq: `host1:5432,host2:5433` — the first is where a client starts.
    let hostport = hostport.split(',').next().unwrap_or("");
    let (mut host, port) = split_host_port(hostport)?;
    let mut port = port.unwrap_or(scheme.default_port());
    let mut database = non_empty(path.trim_end_matches('/'));
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "password" => password = non_empty(value),
            "user" | "username" => user = non_empty(value),
            "host" if !value.is_empty() => host = decode(value),
            "port" => port = value.parse().ok().filter(|&p| p != 0)?,
            "dbname" | "db" => database = non_empty(value),
            _ => {}
        }
    }
    if host.is_empty() && matches!(scheme, Scheme::Redis { .. }) {
        host = "localhost".into();
    }
    Some(ServiceUrl {
        var: var.to_owned(),
        scheme,
        scheme_text,
        user: user.map(|u| decode(&u)),
        password: password.map(|p| Secret(decode(&p))),
        host,
        port,
        database: database.map(|d| decode(&d)),
    })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` → (decoded host, port). `None` for a bad port.
fn split_host_port(hostport: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0)?),
    };
    Some((decode(host), port))
}

/// Percent-decoding; a `%` not followed by two hex digits stays as written.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).expect("hex") * 16 + hex(l).expect("hex")) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A family of split connection variables (`POSTGRES_HOST`, `POSTGRES_PORT`, …).
struct Family {
    scheme: Scheme,
    host: &'static str,
    port: &'static [&'static str],
    user: &'static [&'static str],
    password: &'static [&'static str],
    database: &'static [&'static str],
}

const FAMILIES: [Family; 5] = [
    Family {
        scheme: Scheme::Postgres,
        host: "POSTGRES_HOST",
        port: &["POSTGRES_PORT"],
        user: &["POSTGRES_USER", "POSTGRES_USERNAME"],
        password: &["POSTGRES_PASSWORD"],
        database: &["POSTGRES_DB", "POSTGRES_DATABASE", "POSTGRES_NAME"],
    },
    Family {
        scheme: Scheme::Postgres,
        host: "PGHOST",
        port: &["PGPORT"],
        user: &["PGUSER"],
        password: &["PGPASSWORD"],
        database: &["PGDATABASE"],
    },
    Family {
        scheme: Scheme::Postgres,
        host: "DB_HOST",
        port: &["DB_PORT"],
        user: &["DB_USER", "DB_USERNAME"],
        password: &["DB_PASSWORD", "DB_PASS"],
        database: &["DB_NAME", "DB_DATABASE"],
    },
    Family {
        scheme: Scheme::Postgres,
        host: "DATABASE_HOST",
        port: &["DATABASE_PORT"],
        user: &["DATABASE_USER", "DATABASE_USERNAME"],
        password: &["DATABASE_PASSWORD"],
        database: &["DATABASE_NAME", "DATABASE_DB"],
    },
    Family {
        scheme: Scheme::Redis { tls: false },
        host: "REDIS_HOST",
        port: &["REDIS_PORT"],
        user: &["REDIS_USERNAME", "REDIS_USER"],
        password: &["REDIS_PASSWORD"],
        database: &["REDIS_DB"],
    },
];

fn assemble(family: &Family, env: &[(String, String)]) -> Option<ServiceUrl> {
    let get = |names: &[&str]| {
        names.iter().find_map(|n| {
            env.iter()
                .find(|(k, v)| k == n && !v.is_empty())
                .map(|(_, v)| v.clone())
        })
    };
    let host = get(&[family.host])?;
    let port = match get(family.port) {
        Some(p) => p.trim().parse::<u16>().ok().filter(|&p| p != 0)?,
        None => family.scheme.default_port(),
    };
    Some(ServiceUrl {
        var: family.host.to_owned(),
        scheme: family.scheme,
        scheme_text: family.scheme.canonical().to_owned(),
        user: get(family.user),
        password: get(family.password).map(Secret),
        host,
        port,
        database: get(family.database),
    })
}

/// Why the host cannot reach a URL's `host:port` over 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreachable {
    /// No service, container name or compose service label of the stack is called that.
    #[error("`{0}` is no service or container of this stack")]
    NotAService(String),
    /// The container of that service is not running (`exited`, `restarting`, `created`…).
    #[error("{service} is {status}, not running")]
    NotRunning { service: String, status: String },
    /// Running, but the container port is not published on 127.0.0.1 or 0.0.0.0.
    #[error("{service} does not publish port {port} on 127.0.0.1")]
    NotPublished { service: String, port: u16 },
    /// An address outside the stack: an IP address or a dotted name no container answers to
    /// (`db.example.com`, `host.docker.internal`).
    #[error("`{0}` is outside the stack")]
    External(String),
    /// `localhost`, a loopback address or a Unix socket path: inside a container that is the
    /// client container itself, not the server's.
    #[error("`{0}` is the client container itself, not another service")]
    Localhost(String),
}

/// Where the host can reach `host:port` named in a URL: the running container whose compose
/// service, container name or `com.docker.compose.service` label is `host` (DNS-style: case
/// aside, a trailing dot ignored) and that publishes container port `port` on 127.0.0.1 or
/// 0.0.0.0 → `127.0.0.1:<host port>`. Never a container IP.
pub fn loopback_addr(
    snapshot: &StackSnapshot,
    host: &str,
    port: u16,
) -> Result<SocketAddr, Unreachable> {
    let wanted = host.trim_end_matches('.').to_ascii_lowercase();
    if is_container_itself(&wanted) {
        return Err(Unreachable::Localhost(host.to_owned()));
    }
    let named: Vec<&ContainerSnapshot> = snapshot
        .containers
        .iter()
        .filter(|c| answers_to(c, &wanted))
        .collect();
    let Some(first) = named.first() else {
        return Err(
            if wanted.parse::<IpAddr>().is_ok() || wanted.contains('.') {
                Unreachable::External(host.to_owned())
            } else {
                Unreachable::NotAService(host.to_owned())
            },
        );
    };
    let running: Vec<&&ContainerSnapshot> = named
        .iter()
        .filter(|c| c.state.status == "running")
        .collect();
    if running.is_empty() {
        return Err(Unreachable::NotRunning {
            service: service_name(first),
            status: first.state.status.clone(),
        });
    }
    running
        .iter()
        .find_map(|c| loopback_port(c, port))
        .map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p)))
        .ok_or_else(|| Unreachable::NotPublished {
            service: service_name(running[0]),
            port,
        })
}

fn is_container_itself(host: &str) -> bool {
    host.is_empty()
        || host.starts_with('/')
        || matches!(host, "localhost" | "ip6-localhost" | "ip6-loopback")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

fn answers_to(c: &ContainerSnapshot, wanted: &str) -> bool {
    let label = c.labels.get("com.docker.compose.service");
    [Some(&c.service), Some(&c.name), label]
        .into_iter()
        .flatten()
        .any(|n| !n.is_empty() && n.eq_ignore_ascii_case(wanted))
        // Docker's DNS also answers to the 12-character short id.
        || (wanted.len() == 12 && c.id.to_ascii_lowercase().starts_with(wanted))
}

fn service_name(c: &ContainerSnapshot) -> String {
    if c.service.is_empty() {
        c.name.clone()
    } else {
        c.service.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::snapshot::{ContainerState, PortBinding};
    use std::collections::BTreeMap;

    #[test]
    fn a_password_never_gets_through_a_message() {
        assert_eq!(
            mask("bad hunter2 here".into(), Some("hunter2")),
            "bad *** here"
        );
        assert_eq!(mask("fine".into(), None), "fine");
        assert_eq!(mask("fine".into(), Some("")), "fine");
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn one(var: &str, value: &str) -> ServiceUrl {
        let urls = urls_in_env(&env(&[(var, value)]));
        assert_eq!(urls.len(), 1, "{value}: {urls:?}");
        urls.into_iter().next().expect("one")
    }

    #[test]
    fn postgres_urls_in_every_spelling() {
        for scheme in [
            "postgres",
            "postgresql",
            "postgresql+psycopg2",
            "postgresql+asyncpg",
            "db+postgresql",
        ] {
            let u = one(
                "DATABASE_URL",
                &format!("{scheme}://analylit:s3cr%40t@db/analylit"),
            );
            assert_eq!(u.scheme, Scheme::Postgres);
            assert_eq!(u.scheme_text, scheme);
            assert_eq!(u.user.as_deref(), Some("analylit"));
            assert_eq!(u.password(), Some("s3cr@t"));
            assert_eq!((u.host.as_str(), u.port), ("db", 5432));
            assert_eq!(u.database.as_deref(), Some("analylit"));
        }
        let u = one(
            "SQLALCHEMY_DATABASE_URI",
            "postgresql://u@[fd00::5]:6543/app?sslmode=disable",
        );
        assert_eq!((u.host.as_str(), u.port), ("fd00::5", 6543));
        assert!(!u.has_password());
        assert_eq!(u.to_string(), "postgresql://u@[fd00::5]:6543/app");
        let q = one(
            "DATABASE_URL",
            "postgresql:///app?host=pg&port=5433&user=me&password=p%26w",
        );
        assert_eq!((q.host.as_str(), q.port), ("pg", 5433));
        assert_eq!((q.user.as_deref(), q.password()), (Some("me"), Some("p&w")));
        let bare = one("DATABASE_URL", "postgresql://db");
        assert_eq!(bare.database, None);
        assert_eq!(bare.postgres_database(), "postgres");
        let multi = one("DATABASE_URL", "postgresql://a@db1:5433,db2:5434/x");
        assert_eq!((multi.host.as_str(), multi.port), ("db1", 5433));
    }

    #[test]
    fn redis_urls_with_every_kind_of_password() {
        let u = one("CELERY_BROKER_URL", "redis://:pa%3Ass@redis:6380/2");
        assert_eq!(u.scheme, Scheme::Redis { tls: false });
        assert_eq!((u.user.as_deref(), u.password()), (None, Some("pa:ss")));
        assert_eq!((u.host.as_str(), u.port, u.redis_db()), ("redis", 6380, 2));
        assert_eq!(u.to_string(), "redis://:***@redis:6380/2");

        let acl = one("REDIS_URL", "rediss://worker:pw@cache/0");
        assert_eq!(acl.scheme, Scheme::Redis { tls: true });
        assert_eq!(
            (acl.user.as_deref(), acl.password()),
            (Some("worker"), Some("pw"))
        );
        assert_eq!(acl.port, 6379);

        let q = one("RQ_REDIS_URL", "redis://redis?password=x&db=3");
        assert_eq!((q.password(), q.redis_db()), (Some("x"), 3));
        let local = one("REDIS_URL", "redis://");
        assert_eq!((local.host.as_str(), local.port), ("localhost", 6379));
        // redis-py: a lone userinfo word is a user name, not a password.
        let user_only = one("REDIS_URL", "redis://someone@redis");
        assert_eq!(
            (user_only.user.as_deref(), user_only.password()),
            (Some("someone"), None)
        );
    }

    #[test]
    fn passwords_never_show() {
        let u = one(
            "DATABASE_URL",
            "postgresql://analylit:hunter22@db:5432/analylit",
        );
        assert_eq!(u.to_string(), "postgresql://analylit:***@db:5432/analylit");
        let debug = format!(
            "{u:?} {:?}",
            urls_in_env(&env(&[("REDIS_PASSWORD", "hunter22"), ("REDIS_HOST", "r")]))
        );
        assert!(!debug.contains("hunter22"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
    }

    #[test]
    fn what_is_not_a_service_url() {
        let env = env(&[
            ("HOME", "/root"),
            ("FLOWER_BROKER_API", "http://guest@rabbit:15672/api/"),
            ("DATABASE_URL", "postgresql://db:notaport/x"),
            ("URL", "mysql://db/x"),
            ("POSTGRES_USER", "analylit"),
            ("POSTGRES_PASSWORD", "secret"),
        ]);
        assert_eq!(urls_in_env(&env), []);
    }

    #[test]
    fn split_variables_when_no_url_names_the_server() {
        let urls = urls_in_env(&env(&[
            ("POSTGRES_HOST", "db"),
            ("POSTGRES_PORT", "5433"),
            ("POSTGRES_USER", "analylit"),
            ("POSTGRES_PASSWORD", "pw"),
            ("POSTGRES_DB", "analylit"),
            ("REDIS_HOST", "redis"),
            ("REDIS_PASSWORD", "rpw"),
        ]));
        assert_eq!(urls.len(), 2, "{urls:?}");
        assert_eq!(urls[0].var, "POSTGRES_HOST");
        assert_eq!(
            urls[0].to_string(),
            "postgresql://analylit:***@db:5433/analylit"
        );
        assert_eq!(urls[0].password(), Some("pw"));
        assert_eq!(urls[1].to_string(), "redis://:***@redis:6379");

        let db = urls_in_env(&env(&[
            ("DB_HOST", "pg"),
            ("DB_USER", "u"),
            ("DB_NAME", "n"),
        ]));
        assert_eq!(db[0].to_string(), "postgresql://u@pg:5432/n");

        // A URL wins over the split variables of the same kind.
        let both = urls_in_env(&env(&[
            ("REDIS_HOST", "other"),
            ("REDIS_URL", "redis://redis:6379/0"),
        ]));
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].host, "redis");
    }

    #[test]
    fn broker_urls_on_the_command_line() {
        let argv: Vec<String> = [
            "celery",
            "-A",
            "tasks",
            "worker",
            "--broker=redis://:pw@redis:6379/0",
            "--result-backend",
            "db+postgresql://u:p@db/app",
        ]
        .map(String::from)
        .to_vec();
        let urls = urls_in_argv(&argv);
        assert_eq!(urls.len(), 2, "{urls:?}");
        assert_eq!(
            (urls[0].var.as_str(), urls[0].password()),
            ("--broker", Some("pw"))
        );
        assert_eq!(urls[1].var, "--result-backend");
        assert_eq!(urls[1].scheme, Scheme::Postgres);

        let shell = [
            "sh",
            "-c",
            "exec celery flower --broker='redis://redis:6379/1' --port=5555",
        ]
        .map(String::from);
        let urls = urls_in_argv(&shell);
        assert_eq!(urls.len(), 1, "{urls:?}");
        assert_eq!((urls[0].var.as_str(), urls[0].redis_db()), ("--broker", 1));

        let failover = urls_in_argv(&["-b".into(), "redis://a:6379;redis://b:6379".into()]);
        assert_eq!(
            failover.iter().map(|u| u.host.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(failover[0].var, "-b");
    }

    fn container(
        service: &str,
        name: &str,
        status: &str,
        ports: &[(&str, &str, &str)],
    ) -> ContainerSnapshot {
        let mut labels = BTreeMap::new();
        labels.insert(
            "com.docker.compose.service".to_string(),
            service.to_string(),
        );
        ContainerSnapshot {
            id: format!("{:0<64}", name.len()),
            name: name.into(),
            service: service.into(),
            number: Some(1),
            image: "img".into(),
            state: ContainerState {
                status: status.into(),
                running: status == "running",
                ..ContainerState::default()
            },
            ports: ports
                .iter()
                .map(|(c, ip, h)| PortBinding {
                    container_port: c.to_string(),
                    host_ip: ip.to_string(),
                    host_port: h.to_string(),
                })
                .collect(),
            labels,
            ..Default::default()
        }
    }

    fn stack(containers: Vec<ContainerSnapshot>) -> StackSnapshot {
        StackSnapshot {
            snapshot_version: 1,
            project: "analylit".into(),
            compose_file: None,
            collected_at: String::new(),
            engine_version: None,
            containers,
            compose: None,
            compose_error: None,
            backend: Default::default(),
        }
    }

    #[test]
    fn a_remote_engines_published_port_is_not_dialled_from_here() {
        let mut db = container(
            "db",
            "analylit_db_1",
            "running",
            &[("5432/tcp", "127.0.0.1", "49153")],
        );
        db.networks = vec![crate::stack::snapshot::NetworkAttachment {
            name: "analylit_default".into(),
            ip: "10.0.1.7".into(),
            aliases: vec!["db".into()],
        }];
        let mut web = container("web", "analylit_web_1", "running", &[]);
        web.networks = db.networks.clone();
        web.networks[0].ip = "10.0.1.8".into();
        let mut s = stack(vec![db, web.clone()]);
        assert!(matches!(
            route(&s, &web, "db", 5432),
            Ok(Route::Loopback { .. })
        ));
        s.backend.remote_engine = true;
        match route(&s, &web, "db", 5432) {
            Ok(Route::InNetwork(n)) => {
                assert_eq!(
                    (n.network.as_str(), n.dial.as_str()),
                    ("analylit_default", "10.0.1.7")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn loopback_addresses_only_through_published_ports() {
        let s = stack(vec![
            container(
                "db",
                "analylit_db_1",
                "running",
                &[("5432/tcp", "127.0.0.1", "49153")],
            ),
            container(
                "redis",
                "analylit-redis-1",
                "running",
                &[("6379/tcp", "0.0.0.0", "6379")],
            ),
            container(
                "cache",
                "cache",
                "running",
                &[("6379/tcp", "192.168.1.2", "7000")],
            ),
            container("worker", "w", "restarting", &[]),
            container("web", "web", "running", &[("5001/tcp", "", "5001")]),
        ]);
        let lo = |p| Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
        assert_eq!(loopback_addr(&s, "db", 5432), lo(49153));
        assert_eq!(loopback_addr(&s, "DB.", 5432), lo(49153));
        assert_eq!(loopback_addr(&s, "analylit_db_1", 5432), lo(49153));
        assert_eq!(loopback_addr(&s, "analylit-redis-1", 6379), lo(6379));
        assert_eq!(loopback_addr(&s, "web", 5001), lo(5001));
        assert_eq!(
            loopback_addr(&s, "db", 5433),
            Err(Unreachable::NotPublished {
                service: "db".into(),
                port: 5433
            })
        );
        assert_eq!(
            loopback_addr(&s, "cache", 6379),
            Err(Unreachable::NotPublished {
                service: "cache".into(),
                port: 6379
            }),
            "published on another address only"
        );
        assert_eq!(
            loopback_addr(&s, "worker", 6379),
            Err(Unreachable::NotRunning {
                service: "worker".into(),
                status: "restarting".into()
            })
        );
        assert_eq!(
            loopback_addr(&s, "postgres", 5432),
            Err(Unreachable::NotAService("postgres".into()))
        );
        assert_eq!(
            loopback_addr(&s, "db.example.com", 5432),
            Err(Unreachable::External("db.example.com".into()))
        );
        assert_eq!(
            loopback_addr(&s, "172.18.0.3", 5432),
            Err(Unreachable::External("172.18.0.3".into()))
        );
        for itself in ["localhost", "127.0.0.1", "::1", "", "/var/run/postgresql"] {
            assert_eq!(
                loopback_addr(&s, itself, 6379),
                Err(Unreachable::Localhost(itself.into())),
                "{itself}"
            );
        }
    }

    #[test]
    fn a_scaled_service_answers_through_any_running_replica() {
        let s = stack(vec![
            container("redis", "r1", "exited", &[]),
            container(
                "redis",
                "r2",
                "running",
                &[("6379/tcp", "127.0.0.1", "40000")],
            ),
        ]);
        assert_eq!(
            loopback_addr(&s, "redis", 6379),
            Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, 40000)))
        );
    }
}

/// Belt and braces for what a server says back: a message never echoes the password a probe
/// sent, but if one ever did, it would not get through here.
pub(crate) fn mask(text: String, password: Option<&str>) -> String {
    match password {
        Some(pw) if !pw.is_empty() && text.contains(pw) => text.replace(pw, crate::redact::MASK),
        _ => text,
    }
}

/// Why a network probe cannot run, with the facts gathered so far.
pub(crate) type NoTarget = (String, Vec<String>);

/// The server a network probe of `ctx.container` asks, and the route to it: the first URL of
/// kind `what` ([`urls_for`]) and [`route`], with the fact that names the URL (password masked).
/// `Err` is the reason the probe cannot run, with the facts so far.
pub(crate) fn target(
    ctx: &super::Ctx<'_>,
    what: &str,
    want: fn(Scheme) -> bool,
) -> Result<(ServiceUrl, Route, Vec<String>), NoTarget> {
    // A network probe needs the live stack (and the env, which pasted logs do not carry).
    ctx.docker().map_err(|why| (why.to_string(), vec![]))?;
    let url = urls_for(ctx, want).into_iter().next().ok_or_else(|| {
        (
            format!("{} names no {what} URL to try", ctx.container.service),
            vec![],
        )
    })?;
    let facts = vec![format!("{} = {url}", url.var)];
    if url.scheme == (Scheme::Redis { tls: true }) {
        return Err(("rediss:// (TLS) is not probed".into(), facts));
    }
    match route(ctx.snapshot, ctx.container, &url.host, url.port) {
        Ok(route) => Ok((url, route, facts)),
        Err(e) => Err((e.to_string(), facts)),
    }
}

/// How a probe running for `client` reaches `host:port` as the client names it: the port the
/// server publishes on 127.0.0.1 when there is one (see [`loopback_addr`]) and the engine is this
/// machine's, else from inside the server's network ([`transport::in_network`]). The same reasons as [`loopback_addr`] when the
/// host is no running server of the stack; [`Unreachable::NotPublished`] only when the snapshot
/// knows no network of the server.
pub fn route(
    snapshot: &StackSnapshot,
    client: &ContainerSnapshot,
    host: &str,
    port: u16,
) -> Result<Route, Unreachable> {
    let service_of = || server_named(snapshot, host).map_or_else(|| host.to_owned(), service_name);
    // A remote engine publishes on its own host: the published port is not ours to dial.
    let published = match loopback_addr(snapshot, host, port) {
        Ok(_) if snapshot.backend.remote_engine => Err(Unreachable::NotPublished {
            service: service_of(),
            port,
        }),
        other => other,
    };
    match published {
        Ok(addr) => Ok(Route::Loopback {
            addr,
            service: service_of(),
            port,
        }),
        Err(Unreachable::NotPublished { service, port }) => server_named(snapshot, host)
            .and_then(|server| transport::in_network(snapshot, client, server, port))
            .map(Route::InNetwork)
            .ok_or(Unreachable::NotPublished { service, port }),
        Err(other) => Err(other),
    }
}

/// Where a service's variable is set, as the compose file says: `docker-compose.yml:12
/// (environment)`, or `env_file .env` when it is not in `environment:` and the service reads env
/// files. `None` without a compose model.
pub(crate) fn origin_of(snapshot: &StackSnapshot, service: &str, var: &str) -> Option<String> {
    let model = snapshot.compose.as_ref()?;
    let svc = model.service(service)?;
    let file = model
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(e) = svc.environment.iter().find(|e| e.key == var) {
        return Some(format!("{file}:{} (environment)", e.pos.line));
    }
    let dir = model.file.parent()?;
    svc.env_file
        .iter()
        .find(|f| {
            crate::capped::text(
                &dir.join(f.as_str()),
                crate::stack::compose::MAX_FILE_BYTES as usize,
            )
            .is_ok_and(|text| {
                text.lines()
                    .map(|l| l.trim_start().trim_start_matches("export "))
                    .any(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == var))
            })
        })
        .or(svc.env_file.first())
        .map(|f| format!("env_file {f}"))
}

/// The running container answering to `host`, if any.
pub(crate) fn server_named<'s>(
    snapshot: &'s StackSnapshot,
    host: &str,
) -> Option<&'s ContainerSnapshot> {
    let wanted = host.trim_end_matches('.').to_ascii_lowercase();
    snapshot
        .containers
        .iter()
        .filter(|c| answers_to(c, &wanted))
        .find(|c| c.state.status == "running")
}

/// The URLs a probe of `ctx.container` should try for servers of one kind (`want`): the ones its
/// environment and command line name (it is a client), else — when the container is itself such
/// a server — its own service, with the credentials its environment or command line give the
/// server (`POSTGRES_USER`/`POSTGRES_PASSWORD`, `--requirepass`).
pub(crate) fn urls_for(ctx: &super::Ctx<'_>, want: fn(Scheme) -> bool) -> Vec<ServiceUrl> {
    urls_of(ctx.container, want)
}

/// An image's own name, lowercased: `bitnami/redis:7.2@sha256:…` → `redis`.
fn image_name(image: &str) -> String {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split(':').next().unwrap_or(last).to_ascii_lowercase()
}

/// [`urls_for`] of any container of the stack.
pub(crate) fn urls_of(c: &ContainerSnapshot, want: fn(Scheme) -> bool) -> Vec<ServiceUrl> {
    let env: Vec<(String, String)> = c
        .env
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let argv: Vec<String> = c.entrypoint.iter().chain(&c.command).cloned().collect();
    let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    // A server is asked with its own credentials: a client URL in its environment (a shared
    // `env_file: .env`) is not what the server itself uses. What makes a server is its image's
    // own name (`postgres:15-alpine`, `bitnami/redis`) or its program, never a project name that
    // happens to contain the word (`real-redis-port_worker`).
    let image = image_name(&c.image);
    // An image compose built for this service is named after the project, which may contain
    // any word (`redis-noauth_worker`): its name says nothing about what it runs.
    let built_here = match (
        c.labels.get("com.docker.compose.project"),
        c.labels.get("com.docker.compose.service"),
    ) {
        (Some(p), Some(s)) => [format!("{p}_{s}"), format!("{p}-{s}")]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&image)),
        _ => false,
    };
    // A client names its server on its own command line (`rq worker --url redis://…`).
    let client_argv =
        |scheme: fn(Scheme) -> bool| urls_in_argv(&argv).iter().any(|u| scheme(u.scheme));
    let named = |word: &str| {
        !built_here
            && (image == word
                || image.starts_with(&format!("{word}-"))
                || image.starts_with(&format!("{word}_")))
    };
    let runs = |program: &str| argv.iter().any(|a| a.rsplit('/').next() == Some(program));
    let pg_server = want(Scheme::Postgres)
        && (runs("postgres")
            || get("PGDATA").is_some()
            || ((named("postgres") || named("postgresql"))
                && !client_argv(|s| s == Scheme::Postgres)));
    let redis_server = want(Scheme::Redis { tls: false })
        && (runs("redis-server")
            || (named("redis") && !client_argv(|s| matches!(s, Scheme::Redis { .. }))));
    let mut urls: Vec<ServiceUrl> = if pg_server || redis_server {
        Vec::new()
    } else {
        urls_in_env(&env)
            .into_iter()
            .chain(urls_in_argv(&argv))
            .filter(|u| want(u.scheme))
            .collect()
    };
    if urls.is_empty() {
        let mut own: Vec<(String, String)> = Vec::new();
        if pg_server {
            own.push(("POSTGRES_HOST".into(), c.service.clone()));
            own.push(("POSTGRES_PORT".into(), POSTGRES_PORT.to_string()));
            let user = get("POSTGRES_USER").unwrap_or_else(|| "postgres".into());
            own.push((
                "POSTGRES_DB".into(),
                get("POSTGRES_DB").unwrap_or(user.clone()),
            ));
            own.push(("POSTGRES_USER".into(), user));
            if let Some(pw) = get("POSTGRES_PASSWORD") {
                own.push(("POSTGRES_PASSWORD".into(), pw));
            }
        } else if redis_server {
            own.push(("REDIS_HOST".into(), c.service.clone()));
            own.push(("REDIS_PORT".into(), REDIS_PORT.to_string()));
            let requirepass = argv
                .iter()
                .position(|a| a == "--requirepass")
                .and_then(|i| argv.get(i + 1).cloned())
                .or_else(|| get("REDIS_PASSWORD"));
            if let Some(pw) = requirepass {
                own.push(("REDIS_PASSWORD".into(), pw));
            }
        }
        urls = urls_in_env(&own)
            .into_iter()
            .filter(|u| want(u.scheme))
            .collect();
    }
    let mut seen = Vec::new();
    urls.retain(|u| {
        let key = (u.host.clone(), u.port, u.user.clone(), u.database.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    urls
}

#[cfg(test)]
mod urls_for_tests {
    use super::*;
    use crate::probes::{Ctx, Options};
    use crate::stack::snapshot::testing::{container, stack, with_env};

    fn urls(c: ContainerSnapshot, want: fn(Scheme) -> bool) -> Vec<String> {
        let snapshot = stack(vec![c.clone()]);
        let ctx = Ctx {
            snapshot: &snapshot,
            container: &c,
            docker: None,
            opts: &Options::default(),
            hints: &[],
        };
        urls_for(&ctx, want)
            .iter()
            .map(|u| {
                format!(
                    "{} {}@{}:{} {}",
                    u.var,
                    u.user.clone().unwrap_or_default(),
                    u.host,
                    u.port,
                    u.has_password()
                )
            })
            .collect()
    }

    #[test]
    fn a_project_named_after_redis_does_not_make_its_workers_servers() {
        let mut built = container("worker");
        built.image = "redis-noauth_worker".into();
        built
            .labels
            .insert("com.docker.compose.project".into(), "redis-noauth".into());
        built
            .labels
            .insert("com.docker.compose.service".into(), "worker".into());
        built = with_env(built, "REDIS_URL", "redis://redis:6379/0");
        assert_eq!(
            urls(built, |s| matches!(s, Scheme::Redis { .. })),
            ["REDIS_URL @redis:6379 false"]
        );
        let mut worker = container("worker-fast");
        worker.image = "real-redis-port_worker-fast".into();
        worker.command = ["rq", "worker", "-u", "redis://redis:6379/0", "fast_queue"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            urls(worker, |s| matches!(s, Scheme::Redis { .. })),
            ["-u @redis:6379 false"]
        );
        // A shared env_file gives the server a client URL: it is still asked as itself.
        let mut db = with_env(container("db"), "DATABASE_URL", "postgresql://u:stale@db/x");
        db = with_env(db, "POSTGRES_USER", "u");
        db.image = "docker.io/library/postgres:15-alpine@sha256:abc".into();
        let got = urls(db, |s| s == Scheme::Postgres);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("POSTGRES_HOST u@db:5432"), "{got:?}");
        assert_eq!(image_name("bitnami/redis:7.2"), "redis");
    }

    #[test]
    fn a_client_uses_its_own_urls_and_a_server_its_own_credentials() {
        let web = with_env(
            container("web"),
            "DATABASE_URL",
            "postgresql://app:pw@db:5432/x",
        );
        assert_eq!(
            urls(web, |s| s == Scheme::Postgres),
            ["DATABASE_URL app@db:5432 true"]
        );

        let mut db = with_env(container("db"), "POSTGRES_USER", "analylit");
        db = with_env(db, "POSTGRES_PASSWORD", "pw");
        db.image = "analylit-lab/postgres:15".into();
        let got = urls(db, |s| s == Scheme::Postgres);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].ends_with("analylit@db:5432 true"), "{got:?}");

        let mut redis = container("redis");
        redis.image = "redis:7".into();
        redis.command = vec![
            "redis-server".into(),
            "--requirepass".into(),
            "s3cret".into(),
        ];
        let got = urls(redis, |s| matches!(s, Scheme::Redis { .. }));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].ends_with("@redis:6379 true"), "{got:?}");
    }
}
