//! Remote engines against the local one: a loopback listener on 127.0.0.1 that forwards to this
//! machine's engine socket, plain (`tcp://`) and with TLS terminated by rustls (certificates this
//! test makes with the openssl CLI, client certificates required as `dockerd --tlsverify` does);
//! and the ssh path's tunnel with the command ssh would run on the far side, `docker system
//! dial-stdio`, run here without ssh (no sshd can run on this machine: the ssh argv itself is
//! unit-tested in `src/stack/connect.rs`).
mod support;

use analylit_doctor::stack::connect::{
    Endpoint, EndpointEnv, TlsMaterial, connect, connect_through, resolve_endpoint,
};
use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use support::lab::docker_or_skip;
use tokio::net::{TcpListener, UnixStream};
use tokio_rustls::rustls;

const BOUND: Duration = Duration::from_secs(60);

/// This machine's engine socket, when the engine is reached through one.
fn local_socket() -> Option<PathBuf> {
    let endpoint = resolve_endpoint(&EndpointEnv::from_process()).ok()?;
    endpoint
        .host
        .strip_prefix("unix://")
        .map(PathBuf::from)
        .filter(|p| p.exists())
}

/// Accept on 127.0.0.1 and forward each connection to `socket`, through `tls` when given.
async fn listener(socket: PathBuf, tls: Option<tokio_rustls::TlsAcceptor>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let socket = socket.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let Ok(mut engine) = UnixStream::connect(&socket).await else {
                    return;
                };
                match tls {
                    Some(acceptor) => {
                        if let Ok(mut stream) = acceptor.accept(tcp).await {
                            let _ = tokio::io::copy_bidirectional(&mut stream, &mut engine).await;
                        }
                    }
                    None => {
                        let mut tcp = tcp;
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut engine).await;
                    }
                }
            });
        }
    });
    port
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for IP 127.0.0.1 and a client certificate, both signed by it, in
/// `dir` (`ca.pem`, `server-cert.pem`, `server-key.pem`, `cert.pem`, `key.pem`).
fn make_certs(dir: &Path, ca_name: &str) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "1",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ];
    ca.extend(ec);
    let subj = format!("/CN={ca_name}");
    ca.extend(["-subj", &subj]);
    openssl(dir, &ca);
    for (name, key, cert, ext) in [
        (
            "127.0.0.1",
            "server-key.pem",
            "server-cert.pem",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "key.pem",
            "cert.pem",
            "extendedKeyUsage=clientAuth\n",
        ),
    ] {
        std::fs::write(dir.join("ext.cnf"), ext).unwrap();
        let subj = format!("/CN={name}");
        let mut req = vec![
            "req", "-new", "-keyout", key, "-out", "req.csr", "-subj", &subj,
        ];
        req.extend(ec);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "req.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "1",
                "-out",
                cert,
                "-extfile",
                "ext.cnf",
            ],
        );
    }
}

fn acceptor(dir: &Path) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let chain: Vec<CertificateDer> = CertificateDer::pem_file_iter(dir.join("server-cert.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// The engine answers through the endpoint: its version, and the same containers as the socket.
async fn assert_same_engine(endpoint: &Endpoint, command: Option<Vec<String>>) {
    let remote = tokio::time::timeout(
        BOUND,
        connect_through(endpoint, command, Duration::from_secs(10)),
    )
    .await
    .expect("bounded")
    .unwrap_or_else(|e| panic!("{endpoint:?}: {e:?}"));
    let local = connect(
        &resolve_endpoint(&EndpointEnv::from_process()).unwrap(),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let (a, b) = (
        remote.version().await.unwrap(),
        local.version().await.unwrap(),
    );
    assert_eq!(a.version, b.version);
    let ids = |d: bollard::Docker| async move {
        let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
            .all(true)
            .build();
        let mut v: Vec<String> = d
            .list_containers(Some(opts))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|c| c.id)
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(remote).await, ids(local).await);
}

#[tokio::test]
async fn a_tcp_engine_is_reached_and_the_cli_uses_it() {
    if !docker_or_skip("a_tcp_engine_is_reached_and_the_cli_uses_it") {
        return;
    }
    let Some(socket) = local_socket() else {
        eprintln!("skipped: the engine is not reached through a unix socket here");
        return;
    };
    let port = listener(socket, None).await;
    let host = format!("tcp://127.0.0.1:{port}");
    let endpoint = resolve_endpoint(&EndpointEnv {
        docker_host: Some(host.clone()),
        ..Default::default()
    })
    .unwrap();
    assert!(endpoint.remote() && endpoint.tls.is_none());
    assert_same_engine(&endpoint, None).await;

    // The binary finds it through DOCKER_HOST: it reaches the engine, which has no such project.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_analylit-doctor"))
            .args([
                "check",
                "-p",
                "no-such-project-remote-test",
                "--format",
                "json",
            ])
            .env("DOCKER_HOST", &host)
            .env_remove("DOCKER_CONTEXT")
            .timeout(BOUND)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no containers for compose project"),
        "reached the engine over tcp: {stderr}"
    );
}

#[tokio::test]
async fn a_tls_engine_is_reached_with_docker_tls_verify_and_refused_with_another_ca() {
    if !docker_or_skip("a_tls_engine_is_reached_with_docker_tls_verify_and_refused_with_another_ca")
    {
        return;
    }
    let Some(socket) = local_socket() else {
        eprintln!("skipped: the engine is not reached through a unix socket here");
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path(), "doctor-test-ca");
    let port = listener(socket, Some(acceptor(certs.path()))).await;
    let host = format!("tcp://127.0.0.1:{port}");

    // DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, as the docker CLI reads them.
    let endpoint = resolve_endpoint(&EndpointEnv {
        docker_host: Some(host.clone()),
        tls_verify: true,
        cert_path: Some(certs.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(endpoint.tls, Some(TlsMaterial::in_dir(certs.path())));
    assert_same_engine(&endpoint, None).await;

    // A context with the same material, stored where `docker context create` puts it.
    let config = tempfile::tempdir().unwrap();
    let digest = analylit_doctor::stack::connect::context_digest("tls-lab");
    let meta = config.path().join("contexts/meta").join(&digest);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(r#"{{"Name":"tls-lab","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
    )
    .unwrap();
    let tls = config
        .path()
        .join("contexts/tls")
        .join(&digest)
        .join("docker");
    std::fs::create_dir_all(&tls).unwrap();
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::copy(certs.path().join(f), tls.join(f)).unwrap();
    }
    let endpoint = resolve_endpoint(&EndpointEnv {
        docker_context: Some("tls-lab".into()),
        config_dir: Some(config.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(endpoint.tls, Some(TlsMaterial::in_dir(&tls)));
    assert_same_engine(&endpoint, None).await;

    // Another CA's material: the engine's certificate is not trusted, nothing is read.
    let other = tempfile::tempdir().unwrap();
    make_certs(other.path(), "another-ca");
    let endpoint = resolve_endpoint(&EndpointEnv {
        docker_host: Some(host.clone()),
        tls_verify: true,
        cert_path: Some(other.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let err = tokio::time::timeout(BOUND, connect(&endpoint, Duration::from_secs(5)))
        .await
        .expect("bounded")
        .expect_err("another CA is refused");
    let text = format!("{err}");
    assert!(text.contains(&host), "{text}");

    // Plain HTTP to a TLS listener is not an engine either.
    let plain = Endpoint::plain(&host, "test");
    assert!(connect(&plain, Duration::from_secs(5)).await.is_err());
}

#[tokio::test]
async fn the_ssh_path_relays_the_engine_over_a_commands_stdio() {
    if !docker_or_skip("the_ssh_path_relays_the_engine_over_a_commands_stdio") {
        return;
    }
    if local_socket().is_none() {
        eprintln!("skipped: the engine is not reached through a unix socket here");
        return;
    }
    // What ssh runs on the engine's host, run here: the docker CLI's dial-stdio.
    let endpoint = Endpoint::plain("ssh://doctor@127.0.0.1", "test");
    let dial = vec!["docker".to_string(), "system".into(), "dial-stdio".into()];
    assert_same_engine(&endpoint, Some(dial)).await;

    // A command that fails says why, in the error.
    let failing = vec![
        "sh".to_string(),
        "-c".into(),
        "echo 'Permission denied (publickey).' >&2; exit 255".into(),
    ];
    let err = connect_through(&endpoint, Some(failing), Duration::from_secs(5))
        .await
        .expect_err("no engine behind a failing command");
    assert!(
        format!("{err}").contains("Permission denied (publickey)"),
        "{err}"
    );
}
