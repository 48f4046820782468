//! Bundles as tests read them: every entry's bytes, and the secrets the lab stacks hold.
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every secret a lab stack's configuration holds (PostgreSQL's password in env and in
/// DATABASE_URL; Redis's `--requirepass`; the older password a stale URL or a volume keeps).
pub const LAB_SECRETS: [&str; 3] = [
    "Lab-Pg-Secret-7f3a9c",
    "Lab-Redis-Secret-5e1d",
    "Old-Pg-Secret-2b81",
];

/// The captured bundles, `fixtures/bundles/<stack>.tar.gz`.
pub fn bundles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bundles")
}

/// The entries of a bundle, name and decompressed bytes.
pub fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|entry| {
            let mut entry = entry.expect("entry");
            let name = entry.path().expect("name").display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("entry bytes");
            (name, bytes)
        })
        .collect()
}

/// Panics when any secret is in the bundle: its compressed bytes or any entry's bytes.
pub fn assert_no_secret(path: &Path) {
    let raw = std::fs::read(path).expect("bundle bytes");
    let mut all = vec![(format!("{} (compressed)", path.display()), raw)];
    all.extend(entries(path));
    for (name, bytes) in &all {
        for secret in LAB_SECRETS {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{}: {name} holds the secret {secret:?}",
                path.display()
            );
        }
    }
}

/// `(id, service)` of the first finding of a `check --format json` document, or `None` when no
/// finding is above info.
pub fn first_cause(report: &serde_json::Value) -> Option<(String, String)> {
    let first = report["findings"].as_array()?.first()?;
    (first["severity"] != "info").then(|| {
        (
            first["id"].as_str().unwrap_or_default().to_owned(),
            first["service"].as_str().unwrap_or_default().to_owned(),
        )
    })
}
