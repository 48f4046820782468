//! Snapshot bundles: what the doctor saw of a stack, redacted, in one `.tar.gz` that someone can
//! diagnose later on another machine with no Docker (`check --from`).
//!
//! Entries, all JSON:
//!
//! | entry            | holds                                                                 |
//! |------------------|-----------------------------------------------------------------------|
//! | `manifest.json`  | [`Manifest`]: versions, project, containers, what was redacted (names)|
//! | `snapshot.json`  | the [`StackSnapshot`]: inspect data, health logs, log tails, events, the compose model |
//! | `probes.json`    | every probe result as run on its container ([`Recorded`])            |
//! | `diagnosis.json` | the diagnosis made at capture time, as `check --format json` prints it|
//! | `report.html`    | the same diagnosis as `check --format html` draws it (graph, timeline, diffs): what someone opens first |
//!
//! Every string of every entry passes through the [`Redactor`] (values of secret variables masked
//! whole, URL passwords, `--requirepass`-style arguments, anything named with `--redact`), so a
//! secret echoed into a log line is masked too; the report is drawn from the redacted snapshot,
//! every text of it masked again by the same redactor. Reading is bounded: a bundle is someone
//! else's file, so each entry is capped and unknown entries are skipped.
//!
//! Entries only ever get added: a reader skips those it does not know, so an entry that is new
//! (like `report.html`) keeps [`BUNDLE_VERSION`], and a bundle without it still loads.
use crate::engine::Diagnosis;
use crate::probes::Recorded;
use crate::redact::Redactor;
use crate::report::{self, Report};
use crate::rules::RuleSet;
use crate::stack::snapshot::{SNAPSHOT_VERSION, StackSnapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;

/// Bumped when an entry changes meaning or disappears.
pub const BUNDLE_VERSION: u32 = 1;

/// The largest entry read back (a snapshot of 2000 lines per container for a dozen containers is
/// a few MiB).
const MAX_ENTRY: u64 = 64 << 20;

/// The most a bundle may decompress to, all entries together (known or skipped): a gzip bomb or
/// a tar of many entries stops here, not at the end of the disk or memory.
const MAX_TOTAL: u64 = 160 << 20;
/// The most entries a bundle may hold (it writes five).
const MAX_ENTRIES: usize = 1024;

/// A reader that fails once more than `left` bytes went through it.
struct Capped<R> {
    inner: R,
    left: u64,
    max_total: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a stream that ends exactly at the cap from a bigger one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "it decompresses to more than {} MiB",
                    self.max_total >> 20
                ))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

const MANIFEST: &str = "manifest.json";
const SNAPSHOT: &str = "snapshot.json";
const PROBES: &str = "probes.json";
const DIAGNOSIS: &str = "diagnosis.json";
const REPORT: &str = "report.html";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub bundle_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub snapshot_version: u32,
    pub project: String,
    pub collected_at: String,
    pub engine_version: Option<String>,
    /// Container names, in snapshot order.
    pub containers: Vec<String>,
    pub rules: RulesStamp,
    pub probes_recorded: usize,
    /// Where secrets were found and masked: variable names, command-line flags. Names only.
    pub redacted: Vec<String>,
    pub entries: Vec<String>,
    /// The version of every probe kind at capture time ([`crate::probes::VERSIONS`]); empty in
    /// bundles written before versions were recorded.
    #[serde(default)]
    pub probe_versions: std::collections::BTreeMap<String, u32>,
}

impl Manifest {
    /// The version of probe `kind` this bundle's results were recorded with (1 when the bundle
    /// predates recorded versions).
    pub fn probe_version(&self, kind: &str) -> u32 {
        self.probe_versions.get(kind).copied().unwrap_or(1)
    }
}

/// Which rules made the recorded diagnosis.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RulesStamp {
    pub count: usize,
    /// [`RuleSet::digest`].
    pub digest: String,
}

/// A bundle read back.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub manifest: Manifest,
    pub snapshot: StackSnapshot,
    pub probes: Vec<Recorded>,
    /// `check --format json` of the capture, when the bundle has it.
    pub diagnosis: Option<Value>,
    /// `check --format html` of the capture, when the bundle has it (bundles written before
    /// the report existed do not).
    pub report: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct BundleError {
    pub reason: String,
}

fn err(reason: impl Into<String>) -> BundleError {
    BundleError {
        reason: reason.into(),
    }
}

/// What goes into a bundle, before redaction.
pub struct Capture<'a> {
    pub snapshot: &'a StackSnapshot,
    pub probes: &'a [Recorded],
    pub diagnosis: &'a Diagnosis,
    pub rules: &'a RuleSet,
    /// Variable names whose values are secret whatever their names say (`--redact`).
    pub redact: &'a [String],
    /// The diffs the fixes would apply to the project's files, for the report.
    pub diffs: &'a [report::FixPreview],
}

/// Write the bundle to `out` (gzip-compressed tar); returns its manifest.
pub fn write(capture: &Capture<'_>, out: impl Write) -> Result<Manifest, BundleError> {
    let redactor = Redactor::for_snapshot_with(capture.snapshot, capture.redact);
    let snapshot = redact_json(&masked_env(capture.snapshot, &redactor), &redactor)?;
    let probes = redact_json(&capture.probes, &redactor)?;
    let mut diagnosis = Vec::new();
    report::Json
        .render(capture.diagnosis, &mut diagnosis)
        .map_err(|e| err(format!("rendering the diagnosis: {e}")))?;
    let diagnosis: Value = serde_json::from_slice(&diagnosis)
        .map_err(|e| err(format!("reading back the diagnosis: {e}")))?;
    let diagnosis = redact_json(&diagnosis, &redactor)?;
    // The report is drawn from what the bundle holds (the redacted snapshot), and masks every
    // text again on its way out with the redactor that knows the `--redact` names.
    let shown: StackSnapshot = serde_json::from_value(snapshot.clone())
        .map_err(|e| err(format!("reading back the redacted snapshot: {e}")))?;
    let mut html = Vec::new();
    report::Html {
        context: report::Context {
            snapshot: Some(&shown),
            diffs: capture.diffs,
            redactor: Some(&redactor),
        },
    }
    .render(capture.diagnosis, &mut html)
    .map_err(|e| err(format!("rendering the report: {e}")))?;
    let manifest = Manifest {
        bundle_version: BUNDLE_VERSION,
        tool: env!("CARGO_PKG_NAME").to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        snapshot_version: SNAPSHOT_VERSION,
        project: capture.snapshot.project.clone(),
        collected_at: capture.snapshot.collected_at.clone(),
        engine_version: capture.snapshot.engine_version.clone(),
        containers: capture
            .snapshot
            .containers
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        rules: RulesStamp {
            count: capture.rules.len(),
            digest: capture.rules.digest(),
        },
        probes_recorded: capture.probes.len(),
        redacted: redactor.sources().map(str::to_owned).collect(),
        entries: [MANIFEST, SNAPSHOT, PROBES, DIAGNOSIS, REPORT]
            .map(str::to_owned)
            .to_vec(),
        probe_versions: crate::probes::VERSIONS
            .iter()
            .map(|(kind, v)| ((*kind).to_owned(), *v))
            .collect(),
    };
    // The manifest names variables, never values; it is redacted like the rest all the same.
    let manifest_json = redact_json(&manifest, &redactor)?;

    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut files = Vec::new();
    for (name, value) in [
        (MANIFEST, &manifest_json),
        (SNAPSHOT, &snapshot),
        (PROBES, &probes),
        (DIAGNOSIS, &diagnosis),
    ] {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| err(format!("serialising {name}: {e}")))?;
        files.push((name, bytes));
    }
    files.push((REPORT, html));
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes.as_slice())
            .map_err(|e| err(format!("writing {name}: {e}")))?;
    }
    let gz = tar
        .into_inner()
        .map_err(|e| err(format!("finishing the archive: {e}")))?;
    gz.finish()
        .map_err(|e| err(format!("finishing the gzip stream: {e}")))?
        .flush()
        .map_err(|e| err(format!("flushing: {e}")))?;
    Ok(manifest)
}

/// Write the bundle to `path`, through a temporary file beside it so that a failed write leaves
/// no half bundle.
pub fn write_file(capture: &Capture<'_>, path: &Path) -> Result<Manifest, BundleError> {
    let tmp = path.with_extension("partial");
    let file =
        std::fs::File::create(&tmp).map_err(|e| err(format!("creating {}: {e}", tmp.display())))?;
    let written = write(capture, std::io::BufWriter::new(file));
    match written {
        Ok(manifest) => {
            std::fs::rename(&tmp, path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                err(format!("moving the bundle to {}: {e}", path.display()))
            })?;
            Ok(manifest)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The snapshot with the values of secret variables masked whole (in the containers and in the
/// compose model); the rest is masked by [`redact_json`].
fn masked_env(snapshot: &StackSnapshot, redactor: &Redactor) -> StackSnapshot {
    let mut out = snapshot.clone();
    for c in &mut out.containers {
        for e in &mut c.env {
            e.value = redactor.env_value(&e.name, &e.value);
        }
    }
    for s in out.compose.iter_mut().flat_map(|m| &mut m.services) {
        for e in &mut s.environment {
            if let Some(v) = &mut e.value {
                *v = redactor.env_value(&e.key, v);
            }
        }
    }
    out
}

/// `value` as JSON with every string (keys included) passed through the redactor.
fn redact_json<T: Serialize + ?Sized>(
    value: &T,
    redactor: &Redactor,
) -> Result<Value, BundleError> {
    let value = serde_json::to_value(value).map_err(|e| err(format!("serialising: {e}")))?;
    Ok(redact_value(value, redactor))
}

fn redact_value(value: Value, redactor: &Redactor) -> Value {
    match value {
        Value::String(s) => Value::String(redactor.text(&s)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| redact_value(v, redactor))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (redactor.text(&k), redact_value(v, redactor)))
                .collect(),
        ),
        other => other,
    }
}

/// Read a bundle written by [`write`].
pub fn read(input: impl Read) -> Result<Bundle, BundleError> {
    read_capped(input, MAX_TOTAL, MAX_ENTRIES)
}

/// [`read`] with its bounds given: the decompressed bytes of all entries, and their number.
fn read_capped(
    input: impl Read,
    max_total: u64,
    max_entries: usize,
) -> Result<Bundle, BundleError> {
    let mut archive = tar::Archive::new(Capped {
        inner: flate2::read::GzDecoder::new(input),
        left: max_total,
        max_total,
    });
    let mut manifest = None;
    let mut snapshot = None;
    let mut probes = None;
    let mut diagnosis = None;
    let mut report = None;
    let entries = archive
        .entries()
        .map_err(|e| err(format!("not a tar.gz bundle: {e}")))?;
    for (n, entry) in entries.enumerate() {
        if n >= max_entries {
            return Err(err(format!(
                "it holds more than {max_entries} entries (a bundle has five)"
            )));
        }
        let entry = entry.map_err(|e| err(format!("not a tar.gz bundle: {e}")))?;
        let name = entry
            .path()
            .map_err(|e| err(format!("an entry has a bad name: {e}")))?
            .to_string_lossy()
            .into_owned();
        let slot = match name.as_str() {
            MANIFEST => &mut manifest,
            SNAPSHOT => &mut snapshot,
            PROBES => &mut probes,
            DIAGNOSIS => &mut diagnosis,
            REPORT => &mut report,
            _ => continue,
        };
        let mut bytes = Vec::new();
        entry
            .take(MAX_ENTRY + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(format!("reading {name}: {e}")))?;
        if bytes.len() as u64 > MAX_ENTRY {
            return Err(err(format!(
                "{name} is larger than {} MiB",
                MAX_ENTRY >> 20
            )));
        }
        *slot = Some(bytes);
    }
    // The version first: a newer bundle may not have the fields this one knows.
    let manifest: Value = parse(MANIFEST, manifest)?;
    if let Some(version) = manifest["bundle_version"].as_u64()
        && version > u64::from(BUNDLE_VERSION)
    {
        return Err(err(format!(
            "bundle version {version} was written by a newer analylit-doctor ({}); this one \
             reads version {BUNDLE_VERSION}",
            manifest["tool_version"]
                .as_str()
                .unwrap_or("version unknown")
        )));
    }
    let manifest: Manifest =
        serde_json::from_value(manifest).map_err(|e| err(format!("{MANIFEST}: {e}")))?;
    let snapshot: StackSnapshot = parse(SNAPSHOT, snapshot)?;
    let probes: Vec<Recorded> = match probes {
        Some(bytes) => parse(PROBES, Some(bytes))?,
        None => Vec::new(),
    };
    let diagnosis = match diagnosis {
        Some(bytes) => Some(parse(DIAGNOSIS, Some(bytes))?),
        None => None,
    };
    let report = report.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    Ok(Bundle {
        manifest,
        snapshot,
        probes,
        diagnosis,
        report,
    })
}

/// What `check` does, with the bundle for the stack: match, replay the recorded probes, chain.
pub async fn diagnose(bundle: &Bundle, rules: &RuleSet) -> Diagnosis {
    diagnose_with(bundle, rules, None).await
}

/// [`diagnose`], with the project's working tree answering the static probes the bundle did not
/// record.
pub async fn diagnose_with(
    bundle: &Bundle,
    rules: &RuleSet,
    tree: Option<&dyn crate::probes::WorkingTree>,
) -> Diagnosis {
    use crate::probes::Probing;
    let snapshot = &bundle.snapshot;
    let probing = match tree {
        Some(tree) => Probing::Offline {
            replay: &bundle.probes,
            tree,
        },
        None => Probing::Replay(&bundle.probes),
    };
    let (mut diagnosis, _) =
        crate::engine::run(snapshot, rules, probing, &crate::probes::Options::default()).await;
    diagnosis.project = format!("{} (from a bundle)", snapshot.project);
    diagnosis
}

/// Read the bundle at `path`.
pub fn read_file(path: &Path) -> Result<Bundle, BundleError> {
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    read(std::io::BufReader::new(file))
}

fn parse<T: serde::de::DeserializeOwned>(
    name: &str,
    bytes: Option<Vec<u8>>,
) -> Result<T, BundleError> {
    let bytes = bytes.ok_or_else(|| err(format!("it has no {name}")))?;
    serde_json::from_slice(&bytes).map_err(|e| err(format!("{name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::{Outcome, ProbeResult};
    use crate::stack::snapshot::testing::{container, stack};
    use crate::stack::snapshot::{EnvVar, Health, HealthResult, LogLine, Stream};

    const PW: &str = "Bundle-Secret-31337";

    fn sample() -> (StackSnapshot, Vec<Recorded>) {
        let mut web = container("web");
        web.env = vec![
            EnvVar {
                name: "DATABASE_URL".into(),
                value: format!("postgresql://analylit:{PW}@db:5432/analylit"),
            },
            EnvVar {
                name: "TEAM_CODE".into(),
                value: "kestrel-42".into(),
            },
        ];
        web.logs.lines.push(LogLine {
            ts: None,
            stream: Stream::Stderr,
            text: format!("connecting with {PW} and kestrel-42"),
        });
        // A failing health check the report's timeline shows, echoing the `--redact` value.
        web.state.started_at = "2026-11-21T09:59:50Z".into();
        web.health = Some(Health {
            status: "unhealthy".into(),
            failing_streak: 1,
            log: vec![HealthResult {
                start: "2026-11-21T09:59:55Z".into(),
                end: "2026-11-21T09:59:56Z".into(),
                exit_code: 1,
                output: "token kestrel-42 refused".into(),
            }],
        });
        let mut db = container("db");
        db.env = vec![EnvVar {
            name: "POSTGRES_PASSWORD".into(),
            value: PW.into(),
        }];
        let recorded = vec![Recorded {
            container: web.name.clone(),
            result: ProbeResult {
                kind: "postgres".into(),
                expect: "auth-rejected".into(),
                outcome: Outcome::Unknown(format!("tried {PW}")),
                summary: format!("tried {PW}"),
                facts: vec![],
                location: None,
                project_location: None,
                data: Default::default(),
            },
        }];
        (stack(vec![db, web]), recorded)
    }

    fn written(redact: &[String]) -> Vec<u8> {
        let (snap, recorded) = sample();
        let rules = crate::rules::load_embedded().expect("rules");
        let diagnosis = crate::engine::diagnose(&snap, &rules);
        let mut out = Vec::new();
        write(
            &Capture {
                snapshot: &snap,
                probes: &recorded,
                diagnosis: &diagnosis,
                rules: &rules,
                redact,
                diffs: &[],
            },
            &mut out,
        )
        .expect("write");
        out
    }

    fn entries(gz: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let mut bytes = Vec::new();
                e.read_to_end(&mut bytes).unwrap();
                (name, bytes)
            })
            .collect()
    }

    /// A tar.gz of `entries` (name, size of zeros or the given bytes).
    fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *bytes).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn bombs_and_entry_floods_stop_at_the_total_caps() {
        let good = written(&[]);
        assert!(read_capped(good.as_slice(), 1 << 20, 16).is_ok());
        // A skipped entry that decompresses past the total cap.
        let zeros = vec![0u8; 3 << 20];
        let bomb = tar_gz(&[("junk.bin", &zeros), ("manifest.json", b"{}")]);
        assert!(bomb.len() < 64 << 10, "compressed: {}", bomb.len());
        let e = read_capped(bomb.as_slice(), 1 << 20, 16).expect_err("bomb");
        assert!(e.reason.contains("more than 1 MiB"), "{}", e.reason);
        // Many tiny entries.
        let names: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
        let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let e = read_capped(tar_gz(&many).as_slice(), 1 << 20, 16).expect_err("flood");
        assert!(e.reason.contains("more than 16 entries"), "{}", e.reason);
        // Truncated before its entries end: an error, never a panic (a cut in gzip's trailer
        // may still read: the entries are whole). tests/fuzz.rs cuts everywhere.
        for cut in [0, 1, 10, good.len() / 3, good.len() / 2] {
            assert!(read(&good[..cut]).is_err(), "cut at {cut}");
        }
        let _ = read(&good[..good.len() - 1]);
    }

    #[test]
    fn no_entry_holds_a_secret_and_the_manifest_names_where_they_were() {
        let gz = written(&["TEAM_CODE".to_owned()]);
        let all = entries(&gz);
        assert_eq!(all.len(), 5);
        for (name, bytes) in &all {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(PW), "{name} holds the password:\n{text}");
            assert!(!text.contains("kestrel-42"), "{name} holds TEAM_CODE");
        }
        let back = read(gz.as_slice()).expect("read");
        assert!(
            back.manifest
                .redacted
                .iter()
                .any(|n| n == "POSTGRES_PASSWORD")
        );
        assert!(back.manifest.redacted.iter().any(|n| n == "TEAM_CODE"));
        assert!(
            back.manifest
                .redacted
                .iter()
                .any(|n| n == "DATABASE_URL (URL password)")
        );
        let report = back.report.as_deref().expect("report.html");
        assert!(
            report.contains("token *** refused"),
            "the report shows the health output, masked"
        );
        let url = &back.snapshot.containers[1].env[0].value;
        assert_eq!(url, "postgresql://analylit:***@db:5432/analylit");
        assert_eq!(back.probes.len(), 1);
        assert_eq!(
            back.probes[0].result.outcome,
            Outcome::Unknown("tried ***".into())
        );
    }

    #[test]
    fn what_is_read_back_is_what_was_written_bar_the_secrets() {
        let gz = written(&[]);
        let back = read(gz.as_slice()).expect("read");
        let (snap, _) = sample();
        assert_eq!(back.snapshot.containers.len(), snap.containers.len());
        assert_eq!(back.snapshot.project, snap.project);
        assert_eq!(back.manifest.bundle_version, BUNDLE_VERSION);
        for (kind, v) in crate::probes::VERSIONS {
            assert_eq!(back.manifest.probe_version(kind), *v, "{kind}");
        }
        assert_eq!(back.manifest.containers, vec!["db_1", "web_1"]);
        assert!(back.diagnosis.is_some());
        assert!(back.manifest.entries.iter().any(|e| e == "report.html"));
        let report = back.report.expect("report.html");
        assert!(report.starts_with("<!DOCTYPE html>"), "{report}");
        assert!(report.contains("id=\"timeline-svg\""), "dated: a timeline");
    }

    #[tokio::test]
    async fn a_probe_the_bundle_did_not_record_is_not_run_live() {
        let (mut snap, _) = sample();
        snap.containers[1].logs.lines.push(LogLine {
            ts: None,
            stream: Stream::Stderr,
            text: r#"FATAL:  password authentication failed for user "analylit""#.into(),
        });
        let rules = crate::rules::load_embedded().expect("rules");
        let bundle = Bundle {
            manifest: read(written(&[]).as_slice()).expect("read").manifest,
            snapshot: snap,
            probes: vec![],
            diagnosis: None,
            report: None,
        };
        let d = diagnose(&bundle, &rules).await;
        let f = d
            .findings
            .iter()
            .find(|f| f.id == "pg-auth-failed")
            .expect("pg-auth-failed fires");
        let probe = f
            .probes
            .iter()
            .find(|p| p.kind == "postgres")
            .expect("probe");
        assert!(
            matches!(&probe.outcome, Outcome::Unknown(why) if why.contains("not recorded in the bundle")),
            "{probe:?}"
        );
    }

    #[test]
    fn garbage_and_newer_bundles_are_refused_with_a_reason() {
        let e = read(&b"not a bundle at all"[..]).unwrap_err();
        assert!(e.reason.contains("not a tar.gz bundle"), "{}", e.reason);

        let mut tar = tar::Builder::new(Vec::new());
        let manifest = br#"{"bundle_version": 99}"#;
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.len() as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, &manifest[..])
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar.into_inner().unwrap()).unwrap();
        let e = read(gz.finish().unwrap().as_slice()).unwrap_err();
        assert!(e.reason.contains("newer analylit-doctor"), "{}", e.reason);
    }
}
