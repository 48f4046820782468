//! The network path, against a real engine: a Redis container on an internal network with no
//! published port is reached through a relay container, then through `exec`; a refused port reads
//! as refused; an address nobody answers gives up within its bound; nothing is left behind.
//!
//! The host never connects to the container's address: every byte goes through the Engine API.
mod support;

use analylit_doctor::probes::transport::{self, ExecTarget, InNetwork, OpenError, Route};
use analylit_doctor::stack::connect::{EndpointEnv, connect, resolve_endpoint};
use std::process::Command;
use std::time::{Duration, Instant};
use support::lab::{Lab, MachineLock, docker_or_skip, run_bounded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "Lab-Redis-Secret-5e1d";

/// A private, internal network with one Redis container on it (no port published); removed,
/// with the container and its volume, on drop.
struct Net {
    name: String,
    redis: String,
}

impl Net {
    fn up() -> Net {
        let name = format!("adr-transport-{}", std::process::id());
        let docker = |args: &[&str]| {
            let out = run_bounded(Command::new("docker").args(args), Duration::from_secs(60));
            assert!(
                out.status.success(),
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        docker(&["network", "create", "--internal", &name]);
        let mut net = Net {
            name: name.clone(),
            redis: String::new(),
        };
        net.redis = docker(&[
            "run",
            "-d",
            "--network",
            &name,
            "--dns",
            "127.0.0.1",
            "--label",
            "analylit-doctor-test=transport",
            "analylit-lab/redis:7",
            "redis-server",
            "--requirepass",
            PASSWORD,
        ]);
        // Bounded wait for Redis to accept connections (inside its container).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = run_bounded(
                Command::new("docker").args([
                    "exec",
                    &net.redis,
                    "redis-cli",
                    "--no-auth-warning",
                    "-a",
                    PASSWORD,
                    "ping",
                ]),
                Duration::from_secs(10),
            );
            if String::from_utf8_lossy(&out.stdout).contains("PONG") {
                break;
            }
            assert!(Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        net
    }

    fn ip(&self) -> String {
        let out = run_bounded(
            Command::new("docker").args([
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &self.redis,
            ]),
            Duration::from_secs(30),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn route(&self, dial: &str, port: u16, images: &[&str], exec_in: Vec<ExecTarget>) -> Route {
        Route::InNetwork(InNetwork {
            service: "cache".into(),
            network: self.name.clone(),
            dial: dial.into(),
            port,
            images: images.iter().map(|s| s.to_string()).collect(),
            exec_in,
        })
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if !self.redis.is_empty() {
            run_bounded(
                Command::new("docker").args(["rm", "-f", "-v", &self.redis]),
                Duration::from_secs(60),
            );
        }
        run_bounded(
            Command::new("docker").args(["network", "rm", &self.name]),
            Duration::from_secs(60),
        );
    }
}

/// The relay containers still on the engine.
fn relays() -> Vec<String> {
    let out = run_bounded(
        Command::new("docker").args([
            "ps",
            "-aq",
            "--filter",
            "label=analylit-doctor.purpose=relay",
        ]),
        Duration::from_secs(30),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// Send an inline `PING` and read the first line of the answer.
async fn ping(conn: transport::Conn) -> (String, String) {
    let transport::Conn {
        mut stream,
        via,
        closer,
    } = conn;
    stream.write_all(b"PING\r\n").await.expect("write");
    let mut buf = vec![0u8; 256];
    let mut got = Vec::new();
    let read = async {
        while !got.contains(&b'\n') {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("an answer within 5 s");
    drop(stream);
    closer.close().await;
    (String::from_utf8_lossy(&got).trim().to_owned(), via)
}

#[tokio::test]
async fn an_unpublished_server_is_reached_through_a_relay_then_through_exec() {
    if !docker_or_skip("an_unpublished_server_is_reached_through_a_relay_then_through_exec") {
        return;
    }
    let _lock = MachineLock::take();
    let volumes_before = Lab::dangling_volumes();
    let net = Net::up();
    let ip = net.ip();
    let docker = connect(
        &resolve_endpoint(&EndpointEnv::from_process()).expect("endpoint"),
        Duration::from_secs(10),
    )
    .await
    .expect("engine");
    let (connect_t, open_t) = (Duration::from_secs(3), Duration::from_secs(15));

    // 1. A relay container from the server's own image (it has python3): Redis answers, and
    //    the answer (NOAUTH: the relay sent no password) crossed the relay both ways.
    let route = net.route(&ip, 6379, &["analylit-lab/redis:7"], vec![]);
    let conn = transport::open(&route, Some(&docker), "transport-test", connect_t, open_t)
        .await
        .expect("a relay container opens the connection");
    let (answer, via) = ping(conn).await;
    assert!(answer.starts_with("-NOAUTH"), "{answer:?}");
    assert!(
        via.contains("relayed by a helper container") && via.contains("python3"),
        "{via}"
    );

    // 2. No image to make a relay from: the relay runs with exec, in the server on its loopback.
    let inside = ExecTarget {
        id: net.redis.clone(),
        name: "cache".into(),
        dial: "127.0.0.1".into(),
    };
    let route = net.route(&ip, 6379, &[], vec![inside]);
    let conn = transport::open(&route, Some(&docker), "transport-test", connect_t, open_t)
        .await
        .expect("exec opens the connection");
    let (answer, via) = ping(conn).await;
    assert!(answer.starts_with("-NOAUTH"), "{answer:?}");
    assert!(via.contains("from inside cache (exec, "), "{via}");

    // 3. A port nothing listens on: refused, as over TCP.
    let route = net.route(&ip, 6390, &["analylit-lab/redis:7"], vec![]);
    let err = transport::open(&route, Some(&docker), "transport-test", connect_t, open_t)
        .await
        .expect_err("nothing listens on 6390");
    assert!(matches!(err, OpenError::Refused { .. }), "{err:?}");

    // 4. An image that does not exist: no path, said plainly, no hang.
    let route = net.route(&ip, 6379, &["analylit-lab/no-such-image:0"], vec![]);
    let err = transport::open(&route, Some(&docker), "transport-test", connect_t, open_t)
        .await
        .expect_err("no image");
    assert!(matches!(err, OpenError::NoPath(_)), "{err:?}");

    // 5. An address on the network that nobody holds: given up within the connect bound plus
    //    the relay's start, never hung.
    let octets: Vec<u8> = ip.split('.').filter_map(|o| o.parse().ok()).collect();
    let nobody = format!("{}.{}.{}.{}", octets[0], octets[1], octets[2], 250);
    let route = net.route(&nobody, 6379, &["analylit-lab/redis:7"], vec![]);
    let started = Instant::now();
    let err = transport::open(&route, Some(&docker), "transport-test", connect_t, open_t)
        .await
        .expect_err("nobody answers");
    assert!(
        matches!(
            err,
            OpenError::Timeout { .. } | OpenError::Unreachable { .. } | OpenError::NoPath(_)
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < open_t + connect_t + Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // Nothing of the doctor's is left: no relay container, no volume.
    assert!(relays().is_empty(), "relays left: {:?}", relays());
    drop(net);
    let left: Vec<String> = Lab::dangling_volumes()
        .into_iter()
        .filter(|v| !volumes_before.contains(v))
        .collect();
    assert!(left.is_empty(), "volumes left: {left:?}");
}
