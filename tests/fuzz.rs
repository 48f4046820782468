//! No panic on any input: a mutation fuzzer on the stable toolchain over every reader of outside
//! input — rule TOML, compose YAML with `${VAR}` interpolation and `.env`, Dockerfiles, pasted
//! logs of every kind (compose logs and up output, `docker inspect` JSON, events, kernel lines,
//! ps tables), bundles (gzip/tar: flipped, truncated, oversized entries, many entries), gdbm
//! headers and Python sources. Each case starts from a real fixture of the repository and is
//! mutated by a seeded generator (byte flips, cuts, splices of another seed, repeated slices,
//! tokens the formats care about), then goes through the reader and what reads its result (the
//! matcher on a pasted snapshot, the pipeline on a bundle).
//!
//! `FUZZ_CASES` cases per reader (default 400: a few thousand in all, in CI); `bench/fuzz.sh`
//! runs a million per reader in release mode. `FUZZ_SEED` picks the sequence (a failure prints
//! the seed and case that reproduce it, and keeps the input under `target/fuzz-failures/`).
use analylit_doctor::rules::{RuleSet, load_embedded, load_files};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Tokens that steer the readers into their corners.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "\"",
    "'",
    "'''",
    "\\",
    "${",
    "}",
    "${X:-",
    "${X?err}",
    "$$",
    ":",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "#",
    "|",
    ">",
    "&",
    "*",
    "<<:",
    "---",
    "\u{feff}",
    "\u{1b}[31m",
    "web_1  | ",
    "web-1  | ",
    "2026-11-21T10:00:00.000000000Z ",
    "null",
    "true",
    "-1",
    "18446744073709551616",
    "1e999",
    "\"State\":",
    "\"Health\":",
    "\"Log\":[",
    "...",
    "[[symptom]]",
    "[[test]]",
    "[fix]",
    "logs = '",
    "(?P<x>",
    "a{1000}",
    "(((((",
    "\u{0}",
    "def ",
    "class ",
    "import ",
    "from . import ",
    "    ",
    "@app.route(",
    "lambda:",
    "\"\"\"",
    "async def ",
    "match x:",
    "FROM ",
    "COPY ",
    "RUN ",
    "ARG ",
    "\\\n",
    "Out of memory: Killed process",
    "Traceback (most recent call last):",
    "é",
    "💥",
];

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 => data.truncate(rng.below(len + 1)),
            3 if len > 0 => {
                // Remove a slice.
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                data.drain(a..b);
            }
            4 if len > 0 => {
                // Repeat a slice, sometimes many times.
                let a = rng.below(len);
                let b = (a + 1 + rng.below(256)).min(len);
                let slice = data[a..b].to_vec();
                let times = if rng.chance(8) { 1 + rng.below(200) } else { 1 };
                for _ in 0..times {
                    let at = rng.below(data.len() + 1);
                    data.splice(at..at, slice.iter().copied());
                }
            }
            5 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let at = rng.below(len + 1);
                data.splice(at..at, t.iter().copied());
            }
            6 if !other.is_empty() => {
                // Splice in part of another seed.
                let a = rng.below(other.len());
                let b = (a + rng.below(512)).min(other.len());
                let at = rng.below(len + 1);
                data.splice(at..at, other[a..b].iter().copied());
            }
            7 if len > 1 => {
                // Swap two lines' worth of bytes.
                let a = rng.below(len);
                let b = rng.below(len);
                data.swap(a, b);
            }
            _ => {
                let at = rng.below(len + 1);
                data.insert(at, rng.next() as u8);
            }
        }
    }
    data.truncate(1 << 20);
    data
}

fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

fn seed_base() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_0016)
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` whose name ends with one of `ends` (all when empty), sorted.
fn seeds(dir: &str, ends: &[&str]) -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root().join(dir), &mut paths);
    paths.retain(|p| {
        let name = p.to_string_lossy();
        ends.is_empty() || ends.iter().any(|e| name.ends_with(e))
    });
    paths.sort();
    let out: Vec<Vec<u8>> = paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() < 4 << 20)
        .collect();
    assert!(!out.is_empty(), "no seed under {dir} ending {ends:?}");
    out
}

fn embedded() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| load_embedded().expect("embedded rules"))
}

/// Run `target` on `cases()` mutations of `corpus`; on a panic, keep the input and fail with
/// what reproduces it.
fn fuzz(name: &str, corpus: &[Vec<u8>], target: impl Fn(&[u8])) {
    let n = cases();
    let base = seed_base();
    let mut rng = Rng(base
        ^ name
            .bytes()
            .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b)));
    // Each seed as it is first: the readers must take the real thing.
    for seed in corpus {
        target(seed);
    }
    let started = std::time::Instant::now();
    for case in 0..n {
        let seed = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, seed, other);
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            let dir = root().join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}-{base}-{case}"));
            let _ = std::fs::write(&file, &input);
            panic!(
                "{name}: case {case} of FUZZ_SEED={base} panicked; input kept in {}",
                file.display()
            );
        }
    }
    eprintln!("fuzz {name}: {n} cases, no panic, {:?}", started.elapsed());
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn rule_toml() {
    let corpus = seeds("rules", &[".toml"]);
    fuzz("rule-toml", &corpus, |b| {
        let t = text(b);
        let path = "rules/fuzz.toml";
        if let Ok(set) = load_files(&[(path, t.clone())]) {
            // A rule that loads is usable: the matcher builds and scans.
            let m = analylit_doctor::engine::matcher::Matcher::new(&set);
            let _ = m
                .rules_matching_line("FATAL: password authentication failed")
                .count();
        } else if let Err(e) = load_files(&[(path, t)]) {
            // Its report renders (labels inside the text).
            let mut out = String::new();
            let _ = miette::GraphicalReportHandler::new().render_report(&mut out, &e);
        }
    });
}

#[test]
fn compose_yaml_and_interpolation() {
    let mut corpus = seeds("fixtures/stacks", &["docker-compose.yml"]);
    corpus.extend(seeds("fixtures/compose", &[".yml"]));
    let dotenv = seeds("fixtures/stacks", &[".env"]);
    fuzz("compose", &corpus, |b| {
        let t = text(b);
        let vars = |name: &str| match name.len() % 3 {
            0 => None,
            1 => Some(String::new()),
            _ => Some(format!("v-{name}-${{NESTED}}")),
        };
        let _ = analylit_doctor::stack::compose::parse(Path::new("docker-compose.yml"), &t, &vars);
    });
    fuzz("dotenv", &dotenv, |b| {
        let _ = analylit_doctor::stack::compose::parse_dotenv(&text(b));
    });
}

#[test]
fn dockerfiles() {
    let corpus = seeds("fixtures", &["Dockerfile"]);
    fuzz("dockerfile", &corpus, |b| {
        let _ = analylit_doctor::preflight::dockerfile::parse(
            &text(b),
            &[("APP".into(), Some("x".into())), ("EMPTY".into(), None)],
        );
    });
}

/// Every kind of paste (logs, up output, inspect JSON, events, kernel lines, ps tables), read
/// and then diagnosed: the snapshot a paste makes is matched like a live one.
#[test]
fn pasted_logs_and_inspect_json() {
    let all = seeds("fixtures/transcripts", &[".log", ".json", ".txt"]);
    let read = |b: &[u8]| {
        if let Ok(pasted) = analylit_doctor::stack::paste::read_text(&text(b), None, "fuzz") {
            let _ = analylit_doctor::engine::diagnose(&pasted.snapshot, embedded());
        }
    };
    // The long transcripts (100 KiB of logs) are read as they are; the mutations start from the
    // shorter ones, of every kind, so a few hundred cases fit in a debug build's minute.
    let (long, short): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
        all.into_iter().partition(|b| b.len() > 24 << 10);
    for b in &long {
        read(b);
    }
    fuzz("paste", &short, read);
}

#[test]
fn gdbm_headers() {
    let corpus = seeds("fixtures/gdbm", &[]);
    fuzz("gdbm", &corpus, |b| {
        let head = &b[..b.len().min(4096)];
        let _ = analylit_doctor::probes::gdbm::classify(head, b.len() as u64);
        let _ = analylit_doctor::probes::gdbm::classify(head, u64::MAX);
        let _ = analylit_doctor::probes::gdbm::python_whichdb_recognises(head);
    });
}

#[test]
fn python_sources() {
    let corpus = seeds("fixtures", &[".py"]);
    let target = analylit_doctor::probes::python::WsgiTarget::parse("app:app");
    fuzz("python", &corpus, |b| {
        use analylit_doctor::probes::python::{SourceFile, SourceTree, analyse};
        let files = vec![
            SourceFile {
                path: "/app/app.py".into(),
                text: text(b),
            },
            SourceFile {
                path: "/app/pkg/__init__.py".into(),
                text: "from .app import *\nfrom . import missing\n".into(),
            },
        ];
        let tree = SourceTree::new("/app", files);
        let _ = analyse(&tree, target.as_ref());
    });
}

/// A tar.gz of the given entries; `declared` overrides an entry's header size (a header that
/// promises more than follows).
fn tar_gz(entries: &[(String, Vec<u8>)], declared: Option<u64>) -> Vec<u8> {
    let mut tar = Vec::new();
    {
        let mut b = tar::Builder::new(&mut tar);
        for (name, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            let _ = b.append_data(&mut h, name, bytes.as_slice());
        }
        let _ = b.finish();
    }
    if let Some(size) = declared
        && tar.len() >= 512
    {
        // Rewrite the first header's size field (octal, 12 bytes at 124) and its checksum.
        let field = format!("{size:011o}\0");
        if field.len() == 12 {
            tar[124..136].copy_from_slice(field.as_bytes());
            tar[148..156].copy_from_slice(b"        ");
            let sum: u32 = tar[..512].iter().map(|&b| u32::from(b)).sum();
            tar[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        }
    }
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(&tar);
    gz.finish().unwrap_or_default()
}

fn entries_of(gz: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    for e in a.entries().expect("seed bundle").flatten() {
        let mut e = e;
        let name = e
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut bytes = Vec::new();
        let _ = e.read_to_end(&mut bytes);
        out.push((name, bytes));
    }
    out
}

/// Bundles: the compressed bytes mutated (gzip and tar framing, truncation anywhere), and
/// bundles rebuilt from mutated entries (the JSON inside), with headers that lie about sizes,
/// entries repeated, unknown ones added; each that reads is diagnosed.
#[test]
fn bundles() {
    let raw = seeds("fixtures/bundles", &[".tar.gz"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let read_and_diagnose = |b: &[u8]| {
        if let Ok(bundle) = analylit_doctor::bundle::read(b) {
            let _ = rt.block_on(analylit_doctor::bundle::diagnose(&bundle, embedded()));
        }
    };
    let small: Vec<Vec<u8>> = raw.iter().take(6).cloned().collect();
    fuzz("bundle-bytes", &small, |b| {
        let _ = analylit_doctor::bundle::read(b);
    });
    let unpacked: Vec<Vec<(String, Vec<u8>)>> = raw.iter().map(|g| entries_of(g)).collect();
    // Rebuilding a bundle costs more than reading one: a quarter of the cases in CI, all of
    // them when FUZZ_CASES asks.
    let n = if std::env::var_os("FUZZ_CASES").is_some() {
        cases()
    } else {
        cases().div_ceil(4).max(1)
    };
    let mut rng = Rng(seed_base() ^ 0xB0B);
    for case in 0..n {
        let mut entries = unpacked[rng.below(unpacked.len())].clone();
        let other = &unpacked[rng.below(unpacked.len())];
        if !entries.is_empty() {
            let i = rng.below(entries.len());
            let donor = &other[rng
                .below(other.len().max(1))
                .min(other.len().saturating_sub(1))]
            .1;
            entries[i].1 = mutate(&mut rng, &entries[i].1, donor);
        }
        if rng.chance(4) && !entries.is_empty() {
            let dup = entries[rng.below(entries.len())].clone();
            entries.push(dup);
        }
        if rng.chance(4) {
            entries.insert(0, ("unknown.bin".into(), vec![0; rng.below(1 << 16)]));
        }
        if rng.chance(6) && !entries.is_empty() {
            entries.remove(rng.below(entries.len()));
        }
        let declared = rng
            .chance(5)
            .then(|| [0, 1, 1 << 40, u64::from(u32::MAX)][rng.below(4)]);
        let gz = tar_gz(&entries, declared);
        let cut = if rng.chance(3) {
            rng.below(gz.len() + 1)
        } else {
            gz.len()
        };
        if catch_unwind(AssertUnwindSafe(|| read_and_diagnose(&gz[..cut]))).is_err() {
            let dir = root().join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("bundle-entries-{}-{case}", seed_base()));
            let _ = std::fs::write(&file, &gz[..cut]);
            panic!(
                "bundle entries: case {case} panicked; input kept in {}",
                file.display()
            );
        }
    }
    eprintln!("fuzz bundle-entries: {n} cases, no panic");
}
