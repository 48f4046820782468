//! Files of unbounded size read with a total cap.
//!
//! The doctor reads files it did not write: a project tree's sources, Dockerfiles, `.env` files,
//! `--rules` folders, the docker CLI's config, backups. Any of them can be huge by accident (a
//! log committed as `app.py`, a generated file) or not a file at all (a FIFO blocks the open; a
//! device or `/proc` entry never ends, and reports a length of 0). Checking the length first and
//! then reading the whole file is not enough: the file can grow in between. So every such read
//! goes through here: only regular files are opened, and never more than `cap + 1` bytes are
//! read, whatever the file holds by then.
use std::io::{self, Read};
use std::path::Path;

/// The start of a file and whether there was more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// At most the cap asked for.
    pub bytes: Vec<u8>,
    /// The file held more than the cap: `bytes` is only its start.
    pub truncated: bool,
}

/// The first `cap` bytes of the regular file at `path` (symlinks followed). Anything else (a
/// directory, FIFO, device, socket) is an error of kind `InvalidInput`, never opened.
pub fn head(path: &Path, cap: usize) -> io::Result<Head> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let mut bytes = Vec::with_capacity(cap.min(meta.len() as usize).saturating_add(1));
    std::fs::File::open(path)?
        .take(cap as u64 + 1)
        .read_to_end(&mut bytes)?;
    let truncated = bytes.len() > cap;
    bytes.truncate(cap);
    Ok(Head { bytes, truncated })
}

/// The whole regular file at `path`, or an error of kind `FileTooLarge` that names the cap when
/// it holds more than `cap` bytes (nothing is silently cut).
pub fn whole(path: &Path, cap: usize) -> io::Result<Vec<u8>> {
    let h = head(path, cap)?;
    if h.truncated {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "{} holds more than {} bytes, the most the doctor reads of such a file",
                path.display(),
                cap
            ),
        ));
    }
    Ok(h.bytes)
}

/// [`whole`] as UTF-8 text; invalid UTF-8 is an error of kind `InvalidData`.
pub fn text(path: &Path, cap: usize) -> io::Result<String> {
    String::from_utf8(whole(path, cap)?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is not UTF-8 text (byte {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// [`whole`] as text, bytes that are not UTF-8 replaced.
pub fn lossy(path: &Path, cap: usize) -> io::Result<String> {
    whole(path, cap).map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_over_cap_file_is_cut_or_refused_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.py");
        std::fs::write(&p, vec![b'x'; 1000]).unwrap();
        let h = head(&p, 100).unwrap();
        assert_eq!(h.bytes.len(), 100);
        assert!(h.truncated);
        let h = head(&p, 1000).unwrap();
        assert_eq!((h.bytes.len(), h.truncated), (1000, false));
        let e = whole(&p, 999).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("more than 999 bytes"), "{e}");
        assert_eq!(text(&p, 1000).unwrap().len(), 1000);
    }

    #[cfg(unix)]
    #[test]
    fn endless_and_blocking_files_are_never_opened() {
        // A device that never ends: reported as 0 bytes long, and refused.
        let e = head(Path::new("/dev/zero"), 16).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        // A FIFO with no writer would block the open forever.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.py");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = whole(&fifo, 16).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
