//! How a network probe reaches a server: over a port published on 127.0.0.1, or from inside the
//! stack's own network through the Engine API.
//!
//! Real stacks publish nothing but their front door: `web` sits behind nginx with `ports: []`, and
//! PostgreSQL and Redis are often unpublished. From the host the doctor may connect to 127.0.0.1
//! only — never to a container address, which on Docker Desktop or a remote engine is not even
//! routable. So when the server publishes no port, the probe's bytes travel through the Engine:
//!
//! 1. **A relay container** (preferred). A short-lived container made from an image the stack
//!    already has (there is no registry to pull from), attached to the server's network, with no
//!    published port, no capabilities, a read-only root, 64 MiB, a bounded lifetime, labelled like
//!    the fix helpers and removed afterwards. Its process opens one TCP connection to the server's
//!    address on that network and relays it over the container's attached stdio, using what the
//!    image has: python3, bash's `/dev/tcp`, perl, or `nc`. The doctor's side of that stdio is a
//!    plain [`AsyncRead`] + [`AsyncWrite`] stream, so the existing clients do the talking
//!    unchanged: tokio-postgres `connect_raw`, the RESP client, the HTTP request.
//! 2. **The same relay run with `exec`** in a running container of that network (the client, or
//!    the server itself on its loopback) when no relay container can be made — no image has a
//!    relay tool, or the engine refuses to create one.
//!
//! The relay first reports on stderr, in one line, whether its connection succeeded — `connected
//! python3`, or the error (`Connection refused`, a timeout) — so a refused connection reads as
//! refused, exactly as over TCP. Every step is bounded: opening (create, attach, start, handshake)
//! has its own deadline, the relay process kills itself after its lifetime, and the container is
//! force-removed when the probe is done (or auto-removed by the engine when the relay exits, if the
//! doctor died first). [`Conn::via`] says which path a connection took; probes put it in their
//! evidence.
use crate::stack::snapshot::ContainerSnapshot;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bytes::{Buf, BytesMut};
use futures_util::{Stream, StreamExt};
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::stack::collect::{HELPER_LABEL, HELPER_PROJECT_LABEL};
/// What a helper container is for: `relay` here.
pub const HELPER_PURPOSE_LABEL: &str = "analylit-doctor.purpose";

/// How long a relay process may live, whatever happens to the doctor.
const RELAY_LIFETIME: Duration = Duration::from_secs(30);
/// The most bytes of relay stderr kept (its handshake and error lines).
const MAX_STDERR: usize = 8 * 1024;
/// The prefix of the relay's one handshake line on stderr.
const HANDSHAKE: &str = "analylit-doctor-relay: ";
/// Images tried for a relay container, at most.
const MAX_IMAGES: usize = 3;

/// A byte stream to a server, whatever carries it.
pub trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

/// A stream that reads at most `cap` bytes in all: past that, a read fails (kind `Other`, a
/// message naming the cap) instead of handing a client library a server's endless answer to
/// buffer. For clients whose own buffering has no bound (tokio-postgres takes a message's
/// length from the server and waits for that many bytes).
pub struct ReadCap<S> {
    inner: S,
    left: usize,
    cap: usize,
}

impl<S> ReadCap<S> {
    pub fn new(inner: S, cap: usize) -> Self {
        ReadCap {
            inner,
            left: cap,
            cap,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadCap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(Err(std::io::Error::other(format!(
                "the server sent more than {} bytes, the most the probe reads",
                self.cap
            ))));
        }
        let room = buf.remaining().min(self.left);
        let mut limited = ReadBuf::new(buf.initialize_unfilled_to(room));
        let r = Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        let n = limited.filled().len();
        buf.advance(n);
        self.left -= n;
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadCap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Where a probe connects to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A port the server's container publishes on 127.0.0.1 (or on every address).
    Loopback {
        addr: SocketAddr,
        /// The server's service and its port inside the container, for the evidence.
        service: String,
        port: u16,
    },
    /// From inside the server's network, through the Engine.
    InNetwork(InNetwork),
}

/// A server reached from inside its network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InNetwork {
    /// The server's compose service (for the evidence).
    pub service: String,
    /// The network a relay container joins.
    pub network: String,
    /// What the relay dials on that network: the server's address there (an IP needs no DNS), or
    /// its name when the address is unknown.
    pub dial: String,
    pub port: u16,
    /// Images for a relay container, most likely to have a relay tool first.
    pub images: Vec<String>,
    /// Running containers to `exec` the relay in when no relay container can be made: container
    /// id, container name, and the host to dial from there.
    pub exec_in: Vec<ExecTarget>,
}

/// A running container the relay can be `exec`ed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    pub id: String,
    pub name: String,
    /// The host dialled from inside it: the server's address, or `127.0.0.1` when it is the
    /// server itself.
    pub dial: String,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Loopback {
                addr,
                service,
                port,
            } => write!(f, "{addr} ({service} publishes {port} there)"),
            Route::InNetwork(n) => write!(
                f,
                "{}:{} on network {} ({} publishes no port)",
                n.dial, n.port, n.network, n.service
            ),
        }
    }
}

/// An open connection, and how it was made.
pub struct Conn {
    pub stream: Box<dyn Duplex>,
    /// The path taken, for the evidence: `127.0.0.1:49153 (db publishes 5432 there)`,
    /// `172.18.0.3:5432 on network lab_default, relayed by a helper container (image …, python3)`.
    pub via: String,
    pub closer: Closer,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn").field("via", &self.via).finish()
    }
}

/// What must be cleaned up once a connection is done: the relay container, if one was made.
/// Dropping it without [`Closer::close`] still ends the relay (its stdin closes and the engine
/// removes the container when the relay exits), only later.
#[derive(Default)]
pub struct Closer(Option<(Docker, String)>);

impl Closer {
    /// Remove the relay container now (after the stream was dropped).
    pub async fn close(self) {
        if let Some((docker, id)) = self.0 {
            remove(&docker, &id).await;
        }
    }
}

/// Why no connection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The server's address answered with a refusal: nothing listens on that port.
    #[error("connection refused ({via})")]
    Refused { via: String },
    /// No answer within the deadline.
    #[error("no answer within {} ({via})", crate::probes::postgres::human(*after))]
    Timeout { via: String, after: Duration },
    /// The address could not be reached at all (no route, a name that does not resolve).
    #[error("{reason} ({via})")]
    Unreachable { via: String, reason: String },
    /// No path could be built: every way was tried, each reason is listed.
    #[error("no way into the network: {}", .0.join("; "))]
    NoPath(Vec<String>),
}

impl OpenError {
    /// The path the failed attempt took, when it got as far as dialling.
    pub fn via(&self) -> Option<&str> {
        match self {
            OpenError::Refused { via }
            | OpenError::Timeout { via, .. }
            | OpenError::Unreachable { via, .. } => Some(via),
            OpenError::NoPath(_) => None,
        }
    }
}

/// Open a connection along `route`. `connect` bounds the TCP connect itself (from the host, or
/// inside the relay); opening a relay (create, attach, start, handshake) gets `open` on top.
pub async fn open(
    route: &Route,
    docker: Option<&Docker>,
    project: &str,
    connect: Duration,
    open: Duration,
) -> Result<Conn, OpenError> {
    match route {
        Route::Loopback { addr, .. } => {
            let via = route.to_string();
            match tokio::time::timeout(connect, TcpStream::connect(addr)).await {
                Err(_) => Err(OpenError::Timeout {
                    via,
                    after: connect,
                }),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    Err(OpenError::Refused { via })
                }
                Ok(Err(e)) => Err(OpenError::Unreachable {
                    via,
                    reason: e.to_string(),
                }),
                Ok(Ok(stream)) => Ok(Conn {
                    stream: Box::new(stream),
                    via,
                    closer: Closer::default(),
                }),
            }
        }
        Route::InNetwork(n) => {
            let Some(docker) = docker else {
                return Err(OpenError::NoPath(vec![
                    "needs the live stack (diagnosing offline)".into(),
                ]));
            };
            open_in_network(docker, project, n, connect, open).await
        }
    }
}

async fn open_in_network(
    docker: &Docker,
    project: &str,
    n: &InNetwork,
    connect: Duration,
    open: Duration,
) -> Result<Conn, OpenError> {
    let mut reasons = Vec::new();
    for image in n.images.iter().take(MAX_IMAGES) {
        let via = |tool: &str| {
            format!(
                "{}:{} on network {}, relayed by a helper container (image {image}, {tool})",
                n.dial, n.port, n.network
            )
        };
        match tokio::time::timeout(open, relay_container(docker, project, n, image, connect)).await
        {
            Err(_) => reasons.push(format!(
                "a relay from image {image} did not start within {}",
                crate::probes::postgres::human(open)
            )),
            Ok(Err(Attempt::Unusable(why))) => reasons.push(format!("image {image}: {why}")),
            Ok(Err(Attempt::Dialled(failure))) => return Err(failure.into_error(via("relay"))),
            Ok(Ok((stream, tool, id))) => {
                return Ok(Conn {
                    stream: Box::new(stream),
                    via: via(&tool),
                    closer: Closer(Some((docker.clone(), id))),
                });
            }
        }
    }
    for target in &n.exec_in {
        let via = |tool: &str| {
            format!(
                "{}:{} from inside {} (exec, {tool})",
                target.dial, n.port, target.name
            )
        };
        let argv = relay_argv(&target.dial, n.port, connect);
        match tokio::time::timeout(open, relay_exec(docker, &target.id, argv)).await {
            Err(_) => reasons.push(format!(
                "exec in {} did not start within {}",
                target.name,
                crate::probes::postgres::human(open)
            )),
            Ok(Err(Attempt::Unusable(why))) => {
                reasons.push(format!("exec in {}: {why}", target.name))
            }
            Ok(Err(Attempt::Dialled(failure))) => return Err(failure.into_error(via("relay"))),
            Ok(Ok((stream, tool))) => {
                return Ok(Conn {
                    stream: Box::new(stream),
                    via: via(&tool),
                    closer: Closer::default(),
                });
            }
        }
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "no image and no running container of the stack to relay from on {}",
            n.network
        ));
    }
    Err(OpenError::NoPath(reasons))
}

/// How one relay attempt ended short of a connection.
enum Attempt {
    /// This relay could not run (no tool, no shell, the engine refused): try another way.
    Unusable(String),
    /// The relay ran and dialled: the network's own answer, which another relay would get too.
    Dialled(Dial),
}

/// A dial that failed, as the relay reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dial {
    Refused,
    Timeout(Duration),
    Unreachable(String),
}

impl Dial {
    fn into_error(self, via: String) -> OpenError {
        match self {
            Dial::Refused => OpenError::Refused { via },
            Dial::Timeout(after) => OpenError::Timeout { via, after },
            Dial::Unreachable(reason) => OpenError::Unreachable { via, reason },
        }
    }
}

/// Create, attach, start a relay container from `image` on `n.network`; wait for its handshake.
/// Returns the stream, the tool it used and the container id (for removal).
async fn relay_container(
    docker: &Docker,
    project: &str,
    n: &InNetwork,
    image: &str,
    connect: Duration,
) -> Result<(RelayStream, String, String), Attempt> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: Some(relay_argv(&n.dial, n.port, connect)),
        cmd: Some(vec![]),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        tty: Some(false),
        working_dir: Some("/".into()),
        labels: Some(
            [
                (HELPER_LABEL.to_owned(), "true".to_owned()),
                (HELPER_PROJECT_LABEL.to_owned(), project.to_owned()),
                (HELPER_PURPOSE_LABEL.to_owned(), "relay".to_owned()),
            ]
            .into(),
        ),
        host_config: Some(HostConfig {
            network_mode: Some(n.network.clone()),
            auto_remove: Some(true),
            readonly_rootfs: Some(true),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            memory: Some(64 * 1024 * 1024),
            pids_limit: Some(32),
            // The relay dials an address; names of the stack still resolve through Docker's own
            // DNS, and nothing is ever forwarded outside.
            dns: Some(vec!["127.0.0.1".into()]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let name = format!(
        "analylit-doctor-relay-{}-{}",
        std::process::id(),
        next_serial()
    );
    let opts = CreateContainerOptionsBuilder::default().name(&name).build();
    let created = docker
        .create_container(Some(opts), body)
        .await
        .map_err(|e| Attempt::Unusable(format!("creating a relay container: {}", engine(&e))))?;
    let id = created.id;
    let attached = async {
        let attach = AttachContainerOptionsBuilder::default()
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .build();
        let io = docker
            .attach_container(&id, Some(attach))
            .await
            .map_err(|e| Attempt::Unusable(format!("attaching: {}", engine(&e))))?;
        docker
            .start_container(&id, None)
            .await
            .map_err(|e| Attempt::Unusable(format!("starting: {}", engine(&e))))?;
        let mut stream = RelayStream::new(io.output, io.input);
        let tool = stream.handshake().await?;
        Ok((stream, tool))
    }
    .await;
    match attached {
        Ok((stream, tool)) => Ok((stream, tool, id)),
        Err(e) => {
            remove(docker, &id).await;
            Err(e)
        }
    }
}

/// `exec` the relay in a running container; wait for its handshake.
async fn relay_exec(
    docker: &Docker,
    container: &str,
    argv: Vec<String>,
) -> Result<(RelayStream, String), Attempt> {
    let exec = docker
        .create_exec(
            container,
            ExecConfig {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(false),
                cmd: Some(argv),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Attempt::Unusable(engine(&e)))?;
    let started = docker
        .start_exec(
            &exec.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(|e| Attempt::Unusable(engine(&e)))?;
    let StartExecResults::Attached { output, input } = started else {
        return Err(Attempt::Unusable("the exec started detached".into()));
    };
    let mut stream = RelayStream::new(output, input);
    let tool = stream.handshake().await?;
    Ok((stream, tool))
}

/// Remove a relay container and the anonymous volumes its image declares (`VOLUME` in a
/// database image's Dockerfile): a relay owns nothing worth keeping.
async fn remove(docker: &Docker, id: &str) {
    let rm = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let _ = docker.remove_container(id, Some(rm)).await;
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// The engine's own message, without bollard's wrapping.
fn engine(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The relay's command line: `/bin/sh -c SCRIPT relay HOST PORT LIFETIME CONNECT PY BASH PERL`.
/// The relay programs travel as positional arguments, so no quoting is involved.
fn relay_argv(host: &str, port: u16, connect: Duration) -> Vec<String> {
    [
        "/bin/sh",
        "-c",
        RELAY_SH,
        "relay",
        host,
        &port.to_string(),
        &RELAY_LIFETIME.as_secs().to_string(),
        &connect.as_secs().max(1).to_string(),
        RELAY_PY,
        RELAY_BASH,
        RELAY_PERL,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Pick the first relay tool the image has. Each reports `connected TOOL` or `failed …` on
/// stderr before relaying; `nc` cannot tell, so it claims success and its own error line (and an
/// immediate end of stream) tells the rest.
const RELAY_SH: &str = r#"h=$1 p=$2 t=$3 c=$4
if command -v python3 >/dev/null 2>&1; then exec python3 -c "$5" "$h" "$p" "$t" "$c"; fi
if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then exec timeout "$t" bash -c "$6" relay "$h" "$p"; fi
if command -v perl >/dev/null 2>&1; then exec perl -e "$7" "$h" "$p" "$t" "$c"; fi
if command -v nc >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then echo "analylit-doctor-relay: connected nc" >&2; exec timeout "$t" nc "$h" "$p"; fi
echo "analylit-doctor-relay: unusable: none of python3, bash, perl, nc" >&2
exit 127
"#;

const RELAY_PY: &str = r#"import os, select, signal, socket, sys
signal.signal(signal.SIGALRM, lambda *a: os._exit(124))
signal.alarm(int(sys.argv[3]))
def say(m):
    os.write(2, ("analylit-doctor-relay: " + m + "\n").encode())
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[4]))
except socket.timeout:
    say("failed timeout")
    sys.exit(1)
except OSError as e:
    say("failed %s" % (e.strerror or e))
    sys.exit(1)
s.settimeout(None)
say("connected python3")
ins = [0, s]
while True:
    r = select.select(ins, [], [])[0]
    if 0 in r:
        d = os.read(0, 65536)
        if d:
            s.sendall(d)
        else:
            ins.remove(0)
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
    if s in r:
        try:
            d = s.recv(65536)
        except OSError:
            d = b""
        if not d:
            break
        while d:
            d = d[os.write(1, d):]
"#;

const RELAY_BASH: &str = r#"if ! exec 3<>"/dev/tcp/$1/$2"; then echo "analylit-doctor-relay: failed connect" >&2; exit 1; fi
echo "analylit-doctor-relay: connected bash" >&2
cat <&3 &
r=$!
cat >&3
wait $r
"#;

const RELAY_PERL: &str = r#"use IO::Socket::INET; use IO::Select;
$SIG{ALRM} = sub { exit 124 }; alarm $ARGV[2];
my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Proto => 'tcp', Timeout => $ARGV[3]);
unless ($s) { print STDERR "analylit-doctor-relay: failed $!\n"; exit 1; }
print STDERR "analylit-doctor-relay: connected perl\n";
binmode STDIN; binmode STDOUT; binmode $s;
my $sel = IO::Select->new(\*STDIN, $s);
while (my @ready = $sel->can_read) {
  for my $h (@ready) {
    my $buf; my $n = sysread($h, $buf, 65536);
    if ($h == $s) {
      exit 0 unless $n;
      my $off = 0; while ($off < $n) { my $w = syswrite(STDOUT, $buf, $n - $off, $off); exit 1 unless defined $w; $off += $w; }
    } elsif (!$n) {
      $sel->remove(\*STDIN); shutdown($s, 1);
    } else {
      my $off = 0; while ($off < $n) { my $w = syswrite($s, $buf, $n - $off, $off); exit 1 unless defined $w; $off += $w; }
    }
  }
}
"#;

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

/// The relay's attached stdio as one byte stream: stdout frames are the server's bytes, stderr
/// frames the relay's own lines (kept, bounded), stdin the client's bytes.
struct RelayStream {
    output: Output,
    input: Pin<Box<dyn AsyncWrite + Send>>,
    pending: BytesMut,
    stderr: Vec<u8>,
    eof: bool,
}

impl RelayStream {
    fn new(output: Output, input: Pin<Box<dyn AsyncWrite + Send>>) -> Self {
        RelayStream {
            output,
            input,
            pending: BytesMut::new(),
            stderr: Vec::new(),
            eof: false,
        }
    }

    fn keep_stderr(&mut self, bytes: &[u8]) {
        let room = MAX_STDERR.saturating_sub(self.stderr.len());
        self.stderr
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Read frames until the relay's handshake line: `Ok(tool)` once connected.
    async fn handshake(&mut self) -> Result<String, Attempt> {
        loop {
            if let Some(line) = handshake_line(&self.stderr) {
                return parse_handshake(&line, &String::from_utf8_lossy(&self.stderr));
            }
            match self.output.next().await {
                Some(Ok(LogOutput::StdErr { message })) => self.keep_stderr(&message),
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                    self.pending.extend_from_slice(&message)
                }
                Some(Ok(LogOutput::StdIn { .. })) => {}
                Some(Err(e)) => return Err(Attempt::Unusable(engine(&e))),
                None => {
                    let said = String::from_utf8_lossy(&self.stderr).trim().to_owned();
                    return Err(Attempt::Unusable(if said.is_empty() {
                        "the relay ended without a word (no /bin/sh in the image?)".into()
                    } else {
                        format!("the relay ended: {}", last_line(&said))
                    }));
                }
            }
        }
    }
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or(text)
}

/// The relay's handshake line, once it is complete in `stderr`.
fn handshake_line(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .find(|l| l.starts_with(HANDSHAKE))
        .filter(|_| text.contains('\n'))
        .map(|l| l[HANDSHAKE.len()..].trim().to_owned())
}

/// `connected python3` → the tool; `failed …` → the dial's failure, read from the whole of the
/// relay's stderr (bash prints `connect: Connection refused` before the line); `unusable: …` →
/// try another way.
fn parse_handshake(line: &str, stderr: &str) -> Result<String, Attempt> {
    if let Some(tool) = line.strip_prefix("connected ") {
        return Ok(tool.trim().to_owned());
    }
    if let Some(why) = line.strip_prefix("unusable: ") {
        return Err(Attempt::Unusable(why.to_owned()));
    }
    let lower = stderr.to_ascii_lowercase();
    Err(Attempt::Dialled(if lower.contains("refused") {
        Dial::Refused
    } else if lower.contains("timeout") || lower.contains("timed out") {
        Dial::Timeout(Duration::ZERO)
    } else {
        let said = stderr
            .lines()
            .filter(|l| !l.starts_with(HANDSHAKE))
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or(line.strip_prefix("failed ").unwrap_or(line));
        Dial::Unreachable(said.to_owned())
    }))
}

impl AsyncRead for RelayStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.remaining());
                buf.put_slice(&self.pending[..n]);
                self.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            if self.eof {
                return Poll::Ready(Ok(()));
            }
            match self.output.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(
                    LogOutput::StdOut { message } | LogOutput::Console { message },
                ))) => self.pending.extend_from_slice(&message),
                Poll::Ready(Some(Ok(LogOutput::StdErr { message }))) => self.keep_stderr(&message),
                Poll::Ready(Some(Ok(LogOutput::StdIn { .. }))) => {}
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(std::io::Error::other(engine(&e))));
                }
                Poll::Ready(None) => self.eof = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl AsyncWrite for RelayStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.input.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.input.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.input.as_mut().poll_shutdown(cx)
    }
}

/// The route from the stack's own network to `server` on `port`, seen from `client` (which may
/// be `server` itself): the network they share (else the server's first), the server's address
/// there, the images to make a relay from (the client's first: it is the app's and most likely
/// has python3), and the containers to `exec` the relay in when no relay container can be made.
/// `None` when the snapshot knows no network of the server (a bundle from an older doctor).
pub fn in_network(
    snapshot: &crate::stack::snapshot::StackSnapshot,
    client: &ContainerSnapshot,
    server: &ContainerSnapshot,
    port: u16,
) -> Option<InNetwork> {
    let shared = server
        .networks
        .iter()
        .find(|n| client.networks.iter().any(|c| c.name == n.name));
    let net = shared.or_else(|| server.networks.first())?;
    let dial = if net.ip.is_empty() {
        server.service.clone()
    } else {
        net.ip.clone()
    };
    let mut images: Vec<String> = Vec::new();
    for c in std::iter::once(client)
        .chain(std::iter::once(server))
        .chain(snapshot.containers.iter())
    {
        if !c.image.is_empty() && !images.contains(&c.image) {
            images.push(c.image.clone());
        }
    }
    let mut exec_in = Vec::new();
    if client.state.status == "running" && client.networks.iter().any(|c| c.name == net.name) {
        exec_in.push(ExecTarget {
            id: client.id.clone(),
            name: client.name.clone(),
            dial: if client.id == server.id {
                "127.0.0.1".into()
            } else {
                dial.clone()
            },
        });
    }
    if client.id != server.id && server.state.status == "running" {
        exec_in.push(ExecTarget {
            id: server.id.clone(),
            name: server.name.clone(),
            dial: "127.0.0.1".into(),
        });
    }
    Some(InNetwork {
        service: server.service.clone(),
        network: net.name.clone(),
        dial,
        port,
        images,
        exec_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::snapshot::NetworkAttachment;
    use crate::stack::snapshot::testing::{container, exited, stack};

    fn on(mut c: ContainerSnapshot, net: &str, ip: &str) -> ContainerSnapshot {
        c.networks.push(NetworkAttachment {
            name: net.into(),
            ip: ip.into(),
            aliases: vec![c.service.clone()],
        });
        c
    }

    #[test]
    fn the_handshake_says_connected_or_why_not() {
        assert_eq!(
            handshake_line(b"analylit-doctor-relay: connected python3\n").as_deref(),
            Some("connected python3")
        );
        assert_eq!(handshake_line(b"analylit-doctor-relay: conn"), None);
        assert!(matches!(
            parse_handshake("connected bash", ""),
            Ok(tool) if tool == "bash"
        ));
        let bash = "relay: line 1: connect: Connection refused\nrelay: line 1: /dev/tcp/172.18.0.3/5432: Connection refused\nanalylit-doctor-relay: failed connect\n";
        assert!(matches!(
            parse_handshake("failed connect", bash),
            Err(Attempt::Dialled(Dial::Refused))
        ));
        assert!(matches!(
            parse_handshake("failed Name does not resolve", "analylit-doctor-relay: failed Name does not resolve\n"),
            Err(Attempt::Dialled(Dial::Unreachable(why))) if why == "Name does not resolve"
        ));
        assert!(matches!(
            parse_handshake("unusable: none of python3, bash, perl, nc", ""),
            Err(Attempt::Unusable(_))
        ));
    }

    #[test]
    fn a_route_joins_the_shared_network_and_dials_the_servers_address() {
        let web = on(container("web"), "lab_default", "172.18.0.5");
        let mut db = on(container("db"), "lab_default", "172.18.0.3");
        db.image = "postgres:15-alpine".into();
        let s = stack(vec![db.clone(), web.clone()]);
        let n = in_network(&s, &web, &db, 5432).expect("route");
        assert_eq!(n.network, "lab_default");
        assert_eq!(n.dial, "172.18.0.3");
        assert_eq!(n.images, ["web-image", "postgres:15-alpine"]);
        assert_eq!(
            n.exec_in
                .iter()
                .map(|t| (t.name.as_str(), t.dial.as_str()))
                .collect::<Vec<_>>(),
            [("web_1", "172.18.0.3"), ("db_1", "127.0.0.1")]
        );
        assert_eq!(
            Route::InNetwork(n).to_string(),
            "172.18.0.3:5432 on network lab_default (db publishes no port)"
        );
    }

    #[test]
    fn a_service_probing_itself_execs_on_its_own_loopback_and_old_bundles_have_no_route() {
        let web = on(container("web"), "front", "10.0.0.2");
        let s = stack(vec![web.clone()]);
        let n = in_network(&s, &web, &web, 5001).expect("route");
        assert_eq!(n.exec_in.len(), 1);
        assert_eq!(n.exec_in[0].dial, "127.0.0.1");

        let stopped = exited(on(container("worker"), "front", ""), 1, false);
        let n = in_network(&s, &stopped, &web, 5001).expect("route");
        assert_eq!(
            n.exec_in
                .iter()
                .map(|t| (t.name.as_str(), t.dial.as_str()))
                .collect::<Vec<_>>(),
            [("web_1", "127.0.0.1")],
            "a stopped client cannot exec; the server, on its own loopback, can"
        );

        let bare = container("db");
        assert_eq!(in_network(&s, &web, &bare, 5432), None);
    }
}
