//! Backups: every byte a fix changes is copied here first, with a manifest that says what it was,
//! where it came from and its checksum.
//!
//! A backup is a folder `.analylit-doctor/backups/<id>/` beside the compose file (`<id>` =
//! `<UTC timestamp>-<finding id>`): `manifest.json` and `files/<n>`. The manifest is written
//! before anything changes and rewritten after each step, so an interrupted fix (Ctrl-C, kill -9)
//! leaves a manifest that says which steps ran: the original is then either still in place or in
//! this folder. A backup that cannot be written stops the fix before it changes anything.
use crate::digest::sha256;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where backups live, relative to the compose file's directory.
pub const BACKUP_DIR: &str = ".analylit-doctor/backups";

/// The largest manifest read back: one entry per file or volume a fix touched, a few hundred
/// bytes each. A larger one is not a manifest this tool wrote, and restoring is refused.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// One thing saved before a change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A file read from a service's container (or a volume mounted in it).
    ContainerFile {
        service: String,
        path: String,
        /// `files/<n>` inside the backup folder.
        stored: String,
        sha256: String,
        size: u64,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    /// A file of the compose project on the host.
    HostFile {
        path: String,
        stored: String,
        sha256: String,
        /// The file's permission bits, when a fix changes them (`exec-bit`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<u32>,
        /// The mode git's index recorded (`100644`), when a fix changes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        git_mode: Option<u32>,
    },
    /// Owner and mode of a path in a service's container, before a chown.
    Owner {
        service: String,
        path: String,
        uid: u64,
        gid: u64,
        mode: u32,
    },
}

/// How far a fix got.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Originals saved; nothing changed yet.
    BackedUp,
    /// Some steps ran (see `done`).
    Applying,
    /// Every step ran and the verification passed.
    Verified,
    /// Every step ran; nothing verified it (`--no-rebuild`: the patched source is not running).
    Applied,
    /// Every step ran, the verification failed, the originals were put back.
    RolledBack,
    /// Every step ran, the verification failed, and putting the originals back failed too: they
    /// are in this folder.
    Failed,
    /// `restore` put the originals back.
    Restored,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub id: String,
    pub finding: String,
    pub service: String,
    pub project: String,
    pub created: String,
    pub entries: Vec<Entry>,
    /// The steps that ran, as shown in the plan.
    pub done: Vec<String>,
    pub state: State,
    /// The services rebuilt after a source patch: rebuilt again when the originals go back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rebuild: Vec<String>,
}

/// An open backup folder.
#[derive(Debug)]
pub struct Backup {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

#[derive(Debug, thiserror::Error)]
#[error("backup {dir}: {reason}")]
pub struct BackupError {
    pub dir: String,
    pub reason: String,
}

fn err(dir: &Path, reason: impl std::fmt::Display) -> BackupError {
    BackupError {
        dir: dir.display().to_string(),
        reason: reason.to_string(),
    }
}

impl Backup {
    /// Create `<root>/<id>/` with an empty manifest (state `backed-up`).
    pub fn create(
        root: &Path,
        id: String,
        finding: &str,
        service: &str,
        project: &str,
        created: &str,
    ) -> Result<Backup, BackupError> {
        let dir = root.join(&id);
        private_dir(&dir)
            .and_then(|()| private_dir(&dir.join("files")))
            .map_err(|e| err(&dir, e))?;
        let b = Backup {
            dir,
            manifest: Manifest {
                id,
                finding: finding.into(),
                service: service.into(),
                project: project.into(),
                created: created.into(),
                entries: vec![],
                done: vec![],
                state: State::BackedUp,
                rebuild: vec![],
            },
        };
        b.save()?;
        Ok(b)
    }

    /// Open an existing backup folder. Its manifest is read up to [`MAX_MANIFEST_BYTES`].
    pub fn open(dir: &Path) -> Result<Backup, BackupError> {
        let text = crate::capped::text(&dir.join("manifest.json"), MAX_MANIFEST_BYTES)
            .map_err(|e| err(dir, e))?;
        let manifest = serde_json::from_str(&text).map_err(|e| err(dir, e))?;
        Ok(Backup {
            dir: dir.to_owned(),
            manifest,
        })
    }

    /// Write the manifest atomically (temporary file, fsync, rename).
    pub fn save(&self) -> Result<(), BackupError> {
        let text = serde_json::to_string_pretty(&self.manifest).map_err(|e| err(&self.dir, e))?;
        let tmp = self.dir.join("manifest.json.tmp");
        write_synced(&tmp, text.as_bytes()).map_err(|e| err(&self.dir, e))?;
        std::fs::rename(&tmp, self.dir.join("manifest.json")).map_err(|e| err(&self.dir, e))
    }

    /// Store `bytes` as the next `files/<n>`, synced to disk, and return its name.
    pub fn store(&mut self, bytes: &[u8]) -> Result<String, BackupError> {
        let name = format!("files/{}", self.manifest.entries.len());
        write_synced(&self.dir.join(&name), bytes).map_err(|e| err(&self.dir, e))?;
        Ok(name)
    }

    /// The stored bytes of an entry, checked against its checksum.
    pub fn read(&self, stored: &str, sha: &str) -> Result<Vec<u8>, BackupError> {
        // Nothing larger was ever stored (the applier refuses to back it up).
        let bytes = crate::capped::whole(&self.dir.join(stored), super::apply::MAX_BACKUP_BYTES)
            .map_err(|e| err(&self.dir, e))?;
        if sha256(&bytes) != sha {
            return Err(err(
                &self.dir,
                format!("{stored} does not match its checksum: the backup is damaged"),
            ));
        }
        Ok(bytes)
    }

    pub fn record(&mut self, entry: Entry) -> Result<(), BackupError> {
        self.manifest.entries.push(entry);
        self.save()
    }

    pub fn step_done(&mut self, step: &str) -> Result<(), BackupError> {
        self.manifest.done.push(step.to_owned());
        self.manifest.state = State::Applying;
        self.save()
    }

    pub fn finish(&mut self, state: State) -> Result<(), BackupError> {
        self.manifest.state = state;
        self.save()
    }
}

/// Write `bytes` to `path`, readable by its owner only (a backup holds project files, `.env`
/// and compose files with their passwords), and sync it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    // An existing file keeps its mode through `open`: narrow it too.
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A backup folder readable by its owner only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Every backup under `root`, oldest first (unreadable folders are skipped).
pub fn list(root: &Path) -> Vec<Backup> {
    let mut out: Vec<Backup> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Backup::open(&e.path()).ok())
        .collect();
    out.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_round_trips_and_detects_damage() {
        let root = tempfile::tempdir().unwrap();
        let mut b = Backup::create(
            root.path(),
            "20261121T100000Z-flower-db-empty".into(),
            "flower-db-empty",
            "flower",
            "lab",
            "2026-11-21T10:00:00Z",
        )
        .unwrap();
        let stored = b.store(b"gdbm bytes").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&b.dir.join(&stored)), 0o600, "a stored original");
            assert_eq!(mode(&b.dir.join("manifest.json")), 0o600, "the manifest");
            assert_eq!(mode(&b.dir), 0o700, "the backup folder");
            assert_eq!(mode(&b.dir.join("files")), 0o700);
        }
        let sha = sha256(b"gdbm bytes");
        b.record(Entry::HostFile {
            path: "/x".into(),
            stored: stored.clone(),
            sha256: sha.clone(),
            mode: None,
            git_mode: None,
        })
        .unwrap();
        b.step_done("stop flower").unwrap();

        let listed = list(root.path());
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].manifest.state, State::Applying);
        assert_eq!(listed[0].manifest.done, ["stop flower"]);
        assert_eq!(listed[0].read(&stored, &sha).unwrap(), b"gdbm bytes");

        std::fs::write(b.dir.join(&stored), b"changed").unwrap();
        let e = listed[0].read(&stored, &sha).unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
    }
}
