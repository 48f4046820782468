//! The archive reader against a real engine: a container from the lab's base image with a named
//! volume, read while it is created (never started), then after it ran and exited, then after it
//! is removed. The volume holds a file with a known owner and mode, a symlink, a small Python
//! tree (one name long enough to need a GNU/PAX header), a file too big to keep, and a Flower
//! state file cut short the way a SIGKILL mid-save leaves it.
mod support;

use analylit_doctor::probes::gdbm::{self, GdbmState};
use analylit_doctor::stack::archive::{self, ArchiveError, Entry, TreeLimits};
use analylit_doctor::stack::connect::{EndpointEnv, connect, resolve_endpoint};
use bollard::Docker;
use std::process::Command;
use std::time::{Duration, Instant};
use support::lab::{MachineLock, docker_or_skip, run_bounded};

const IMAGE: &str = "analylit-lab/base:bookworm";
const T: Duration = Duration::from_secs(20);
/// The directory with the long name, > 100 bytes with its parents.
const LONG_DIR: &str = "a-directory-name-long-enough-that-the-archive-needs-a-long-name-header-\
                        for-every-entry-beneath-it";

/// Removes what the test made, even when an assertion fails.
struct Cleanup {
    containers: Vec<String>,
    volumes: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            run_bounded(
                Command::new("docker").args(["rm", "-f", "-v", c]),
                Duration::from_secs(60),
            );
        }
        for v in &self.volumes {
            run_bounded(
                Command::new("docker").args(["volume", "rm", "-f", v]),
                Duration::from_secs(60),
            );
        }
    }
}

fn docker_cli(args: &[&str], limit: Duration) -> String {
    let out = run_bounded(Command::new("docker").args(args), limit);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn ensure_image() {
    let present = run_bounded(
        Command::new("docker").args(["image", "inspect", IMAGE]),
        Duration::from_secs(30),
    );
    if !present.status.success() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images/build.sh");
        let out = run_bounded(Command::new("bash").arg(script), Duration::from_secs(1200));
        assert!(out.status.success(), "{script} failed");
    }
}

/// Poll `docker inspect` until the container's status is `want`, for at most `limit`.
fn wait_status(container: &str, want: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let status = docker_cli(
            &["inspect", "-f", "{{.State.Status}}", container],
            Duration::from_secs(30),
        );
        if status == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{container} is {status}, not {want}, after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The shell script that fills the volume, run once in a throw-away container.
fn populate_script() -> String {
    format!(
        r#"
cd /data
printf 'hello archive\n' > hello.txt
chown 1234:2345 hello.txt
chmod 640 hello.txt
ln -s hello.txt link
ln -s src srclink
mkdir -p src/pkg "src/{LONG_DIR}"
for i in 1 2 3 4 5; do printf 'x = %s\n' "$i" > "src/pkg/m$i.py"; done
printf 'not python\n' > src/README
head -c 300000 /dev/zero > src/pkg/big.py
printf 'deep = True\n' > "src/{LONG_DIR}/long.py"
python3 -c 'import shelve
s = shelve.open("/data/flower", flag="n")
s["events"] = {{"tasks": {{}}}}
s.close()'
truncate -s +4096 /data/flower
"#
    )
}

async fn engine() -> Docker {
    let endpoint = resolve_endpoint(&EndpointEnv::from_process()).expect("an engine endpoint");
    connect(&endpoint, Duration::from_secs(10))
        .await
        .expect("the engine answers")
}

/// What every container state must answer the same way.
async fn reads_the_volume(docker: &Docker, c: &str) {
    // A regular file: mode, owner, size, first bytes.
    let entry = archive::read(docker, c, "/data/hello.txt", 5, T)
        .await
        .unwrap();
    assert_eq!(
        entry,
        Entry::File {
            path: "/data/hello.txt".into(),
            mode: 0o640,
            uid: 1234,
            gid: 2345,
            size: 14,
            head: b"hello".to_vec(),
        }
    );

    // The volume's root: its own header only.
    let entry = archive::read(docker, c, "/data", 100, T).await.unwrap();
    assert!(
        matches!(&entry, Entry::Dir { path, uid: 0, .. } if path == "/data"),
        "{entry:?}"
    );

    // A symlink is reported, not followed.
    assert_eq!(
        archive::read(docker, c, "/data/link", 100, T).await,
        Ok(Entry::Symlink {
            path: "/data/link".into(),
            target: "hello.txt".into()
        })
    );

    // Nothing there; a parent that is a file.
    assert_eq!(
        archive::read(docker, c, "/data/nope", 100, T).await,
        Err(ArchiveError::Absent("/data/nope".into()))
    );
    assert_eq!(
        archive::read(docker, c, "/data/hello.txt/x", 100, T).await,
        Err(ArchiveError::Absent("/data/hello.txt/x".into()))
    );

    // A bounded tree: .py files only, the big one skipped, the long name intact.
    let py = |p: &str| p.ends_with(".py");
    let limits = TreeLimits {
        max_file_bytes: 100_000,
        ..TreeLimits::default()
    };
    let tree = archive::read_tree(docker, c, "/data/src", &py, limits, T)
        .await
        .unwrap();
    let mut names: Vec<&str> = tree.files.iter().map(|(p, _)| p.as_str()).collect();
    names.sort();
    let long = format!("/data/src/{LONG_DIR}/long.py");
    let mut want = vec![long.as_str()];
    let small: Vec<String> = (1..=5).map(|i| format!("/data/src/pkg/m{i}.py")).collect();
    want.extend(small.iter().map(String::as_str));
    want.sort();
    assert_eq!(names, want);
    assert!(
        tree.files
            .iter()
            .any(|(p, data)| p == "/data/src/pkg/m3.py" && data == b"x = 3\n")
    );
    assert_eq!(tree.skipped, vec!["/data/src/pkg/big.py".to_string()]);
    assert!(!tree.truncated);

    let few = TreeLimits {
        max_files: 2,
        ..limits
    };
    let tree = archive::read_tree(docker, c, "/data/src", &py, few, T)
        .await
        .unwrap();
    assert_eq!(tree.files.len(), 2);
    assert!(tree.truncated, "max_files reached");

    // A symlinked directory is followed, its files named under the path asked for: `srclink`
    // → `src`.
    let tree = archive::read_tree(docker, c, "/data/srclink", &py, few, T)
        .await
        .unwrap();
    assert!(
        tree.files
            .iter()
            .all(|(p, _)| p.starts_with("/data/srclink/") && p.ends_with(".py")),
        "{:?}",
        tree.files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert_eq!(tree.files.len(), 2);
    assert_eq!(
        archive::read_tree(docker, c, "/data/hello.txt", &py, few, T).await,
        Err(ArchiveError::Absent("/data/hello.txt".into())),
        "not a directory"
    );

    // Programs on the image's PATH.
    assert_eq!(
        archive::which(docker, c, "python3", None, T).await,
        Ok(Some("/usr/bin/python3".into())),
        "a symlink to python3.11"
    );
    assert_eq!(archive::which(docker, c, "wget", None, T).await, Ok(None));
    assert_eq!(
        archive::which(docker, c, "curl", Some("/usr/local/bin:/bin"), T).await,
        Ok(Some("/bin/curl".into())),
        "/bin is a symlink to usr/bin on bookworm: the engine resolves it"
    );

    // Flower's state file, classified from what the archive gives.
    let entry = archive::read(docker, c, "/data/flower", gdbm::HEAD_BYTES, T)
        .await
        .unwrap();
    let Entry::File { head, size, .. } = entry else {
        panic!("the flower db is not a file: {entry:?}");
    };
    assert_eq!(
        gdbm::classify(&head, size),
        GdbmState::NeedsRecovery {
            next_block: size - 4096,
            size
        }
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_archive_reads_stopped_containers_and_their_volumes() {
    if !docker_or_skip("the_archive_reads_stopped_containers_and_their_volumes") {
        return;
    }
    let _lock = MachineLock::take();
    ensure_image();
    let tag = format!("adoc-archive-{}", std::process::id());
    let volume = format!("{tag}-data");
    let container = format!("{tag}-c");
    let mut cleanup = Cleanup {
        containers: vec![],
        volumes: vec![volume.clone()],
    };
    let minute = Duration::from_secs(60);
    docker_cli(&["volume", "create", &volume], minute);
    let mount = format!("{volume}:/data");
    let script = populate_script();
    docker_cli(
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--dns",
            "127.0.0.1",
            "-v",
            &mount,
            IMAGE,
            "sh",
            "-ec",
            &script,
        ],
        Duration::from_secs(120),
    );
    cleanup.containers.push(container.clone());
    docker_cli(
        &[
            "create",
            "--name",
            &container,
            "--network",
            "none",
            "--dns",
            "127.0.0.1",
            "-v",
            &mount,
            IMAGE,
            "sh",
            "-c",
            "exit 3",
        ],
        minute,
    );
    let docker = engine().await;

    wait_status(&container, "created", minute);
    reads_the_volume(&docker, &container).await;

    docker_cli(&["start", &container], minute);
    wait_status(&container, "exited", minute);
    reads_the_volume(&docker, &container).await;

    docker_cli(&["rm", &container], minute);
    assert_eq!(
        archive::read(&docker, &container, "/data/hello.txt", 5, T).await,
        Err(ArchiveError::ContainerGone)
    );
    assert_eq!(
        archive::which(&docker, &container, "python3", None, T).await,
        Err(ArchiveError::ContainerGone)
    );
    drop(cleanup);
}
