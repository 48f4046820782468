//! The HTML report as a browser shows it: three bundles' pages rendered by headless Chromium at
//! 1280 and 800 pixels wide, with no network (every host unresolvable, the proxy a closed port).
//! Each must paint something (a decoded screenshot that is not blank), hold the element ids the
//! report promises in the DOM Chromium built, log no console message (the page has no script:
//! any message is an error), and name no URL it would fetch, in the page as written and in the
//! DOM. (Chromium does not log a failed fetch of a page resource; that is why the URLs are
//! looked for.)
//!
//! Chromium comes from Debian's `chromium` package, which `.ci/run` installs. Without it the
//! test says why and skips; under CI (`CI` set) it fails. The screenshots stay under
//! `target/tmp/render/` as artefacts to look at.
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::bundle::bundles_dir;
use support::doctor::Doctor;

/// A cascade with a restart loop and a service that never started; a fold from a server to its
/// client; a container compose created and never started.
const BUNDLES: [&str; 3] = [
    "real-pg-auth-stale-url",
    "redis-misconf-rdb",
    "entrypoint-not-executable",
];
const WIDTHS: [u32; 2] = [1280, 800];
const HEIGHT: u32 = 2000;
/// One Chromium run; a cold start takes a second or two.
const RUN_LIMIT: Duration = Duration::from_secs(90);

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Run `cmd` in a process group of its own, its pipes drained on threads, and kill the whole
/// group (Chromium's zygote and renderers with it) when it overstays `limit` or leaves children
/// behind.
fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let group = child.id();
    let kill_group = || {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stderr(Stdio::null())
            .status();
    };
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut b).ok();
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut b).ok();
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            kill_group();
            let status = child.wait().expect("wait after kill");
            eprintln!("killed after {limit:?}: {cmd:?}");
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Anything of the group still alive holds the pipes open: end it.
    kill_group();
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Chromium, headless, with no way out to a network: every host name fails to resolve and the
/// proxy is a closed port, so a page that fetched anything would log the failure.
fn browser(chromium: &Path, profile: &Path, width: u32) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--window-size={width},{HEIGHT}"));
    cmd
}

fn report(bundle: &str) -> String {
    let path = bundles_dir().join(format!("{bundle}.tar.gz"));
    let out = Doctor::new()
        .args(["check", "--from", path.to_str().expect("utf-8")])
        .args(["--format", "html"])
        .offline()
        .run();
    out.stdout
}

/// The ids the page must hold: its sections, the root cause's node and finding, a lane per
/// container (from the bundle's own JSON report and manifest).
fn expected_ids(bundle: &str, html: &str) -> Vec<String> {
    let mut ids: Vec<String> = [
        "summary",
        "verdict",
        "services",
        "graph",
        "graph-svg",
        "timeline",
        "timeline-svg",
        "key-moments",
        "findings",
    ]
    .map(String::from)
    .to_vec();
    let path = bundles_dir().join(format!("{bundle}.tar.gz"));
    let json = Doctor::new()
        .args(["check", "--from", path.to_str().expect("utf-8")])
        .args(["--format", "json"])
        .offline()
        .run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("json report");
    let slug = |s: &str| {
        s.to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    let first = &doc["findings"][0];
    let (id, service) = (
        first["id"].as_str().expect("a finding"),
        first["service"].as_str().expect("its service"),
    );
    ids.push(format!("finding-{}-{}", slug(id), slug(service)));
    ids.push(format!("node-{}", slug(service)));
    for s in doc["services"].as_array().expect("services") {
        ids.push(format!(
            "service-{}",
            slug(s["name"].as_str().expect("name"))
        ));
    }
    let manifest = support::bundle::entries(&path)
        .into_iter()
        .find(|(n, _)| n == "manifest.json")
        .map(|(_, b)| serde_json::from_slice::<serde_json::Value>(&b).expect("manifest"))
        .expect("manifest.json");
    for c in manifest["containers"].as_array().expect("containers") {
        ids.push(format!("lane-{}", slug(c.as_str().expect("name"))));
    }
    assert!(!html.is_empty(), "{bundle}: empty report");
    ids
}

/// No URL a browser would fetch: in every tag, links only to fragments, no `src`, no script,
/// stylesheet link or embedded document, `url()` only of a fragment (SVG markers); in the
/// stylesheet, no `@import` and no `url()` but of a fragment. (Text is not looked at: a log line
/// may well quote a URL.)
fn assert_offline(what: &str, dom: &str) {
    let fragment_only = |text: &str, key: &str| {
        for (i, _) in text.match_indices(key) {
            let rest = &text[i + key.len()..];
            assert!(
                rest.starts_with('#'),
                "{what}: {key}{}",
                &rest[..rest.len().min(80)]
            );
        }
    };
    let mut rest = dom;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        assert!(
            !["script", "link", "iframe", "object", "embed", "img", "base"]
                .contains(&name.to_ascii_lowercase().as_str()),
            "{what}: a <{name}> tag"
        );
        assert!(!tag.contains(" src="), "{what}: <{tag}>");
        fragment_only(tag, "href=\"");
        fragment_only(tag, "url(");
        if name == "style" {
            let css = &rest[tag.len()..rest.find("</style>").unwrap_or(rest.len())];
            assert!(!css.contains("@import"), "{what}: the stylesheet imports");
            fragment_only(css, "url(");
        }
    }
}

/// Decode the PNG and judge it painted: the promised size, a good share of pixels not the
/// background, and many colours (text, boxes, bars), which a blank or an error page lacks.
fn assert_painted(what: &str, png_path: &Path, width: u32) {
    let file = std::fs::File::open(png_path).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{what}: not a PNG: {e}"));
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!((info.width, info.height), (width, HEIGHT), "{what}: size");
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{what}: {:?}", info.color_type);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()]
        .chunks(info.line_size)
        .flat_map(|row| row[..width as usize * channels].chunks(channels))
        .collect();
    let background = pixels[pixels.len() - 1];
    let painted = pixels.iter().filter(|p| p[..3] != background[..3]).count();
    let mut colours: Vec<[u8; 3]> = pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    colours.sort_unstable();
    colours.dedup();
    let share = painted as f64 / pixels.len() as f64;
    assert!(share > 0.05, "{what}: only {:.1}% painted", share * 100.0);
    assert!(colours.len() > 50, "{what}: {} colours", colours.len());
}

#[test]
fn the_html_report_renders_in_chromium_at_two_widths_with_no_network() {
    let Some(chromium) = chromium() else {
        let why = "no chromium in PATH (Debian's `chromium` package; .ci/run installs it)";
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("SKIP the_html_report_renders_in_chromium: {why}");
        return;
    };
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("render");
    std::fs::create_dir_all(&out).expect("target/tmp/render");
    for bundle in BUNDLES {
        let html = report(bundle);
        assert_offline(&format!("{bundle}.html"), &html);
        let page = out.join(format!("{bundle}.html"));
        std::fs::write(&page, &html).expect("write the page");
        let url = format!("file://{}", page.display());
        let ids = expected_ids(bundle, &html);
        for width in WIDTHS {
            let what = format!("{bundle} at {width}px");
            let profile = tempfile::tempdir().expect("profile dir");
            let png = out.join(format!("{bundle}-{width}.png"));
            let _ = std::fs::remove_file(&png);
            let shot = run_bounded(
                browser(&chromium, profile.path(), width)
                    .arg(format!("--screenshot={}", png.display()))
                    .arg(&url),
                RUN_LIMIT,
            );
            let log = String::from_utf8_lossy(&shot.stderr);
            assert!(png.is_file(), "{what}: no screenshot\n{log}");
            assert_painted(&what, &png, width);
            let console: Vec<&str> = log
                .lines()
                .filter(|l| {
                    l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("net::ERR")
                })
                .collect();
            assert!(
                console.is_empty(),
                "{what}: console says\n{}",
                console.join("\n")
            );

            let dump = run_bounded(
                browser(&chromium, profile.path(), width)
                    .arg("--dump-dom")
                    .arg(&url),
                RUN_LIMIT,
            );
            let dom = String::from_utf8_lossy(&dump.stdout);
            let log = String::from_utf8_lossy(&dump.stderr);
            assert!(dom.contains("</html>"), "{what}: no DOM\n{log}");
            for id in &ids {
                assert!(
                    dom.contains(&format!("id=\"{id}\"")),
                    "{what}: no #{id} in the DOM"
                );
            }
            assert_offline(&what, &dom);
            let console: Vec<&str> = log
                .lines()
                .filter(|l| {
                    l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("net::ERR")
                })
                .collect();
            assert!(
                console.is_empty(),
                "{what}: console says\n{}",
                console.join("\n")
            );
        }
    }
}
