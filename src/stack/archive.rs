//! Files read out of a container through the engine's archive endpoint, even when it is not
//! running.
//!
//! The services worth diagnosing are the ones that crash: `exec` into them fails (HTTP 409), and
//! a helper container would need the right mounts. The archive endpoint (`GET
//! /containers/{id}/archive?path=…`) answers for created, exited and crash-looping containers
//! alike, and sees the named volumes and bind mounts mounted in the container. It answers with a
//! tar stream — of a whole directory tree when the path is a directory — so this module reads
//! that stream incrementally, 512-byte block by block, keeps only what the caller asked for, and
//! drops the connection as soon as it has it: [`read`] of a volume's root reads one header, not
//! the volume.
//!
//! - [`read`]: stat one path and read the start of it (a symlink is reported, not followed).
//! - [`read_tree`]: the regular files under a directory that pass a filter, within limits.
//! - [`which`]: where a program is on the container's PATH, as a shell would find it.
//!
//! The tar reader is written here rather than taken from the `tar` crate's `Archive`, which
//! wants a blocking `Read`: it parses headers with `tar::Header` and handles GNU long names and
//! PAX extended headers itself. Every call runs under one deadline.
use bollard::Docker;
use bollard::query_parameters::DownloadFromContainerOptionsBuilder;
use futures_util::{Stream, StreamExt};
use std::future::Future;
use std::time::Duration;
use tar::EntryType;

/// One path in a container, as the archive endpoint describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file. `head` is its first bytes, at most the `max_bytes` asked for; `size` is
    /// the whole size.
    File {
        path: String,
        mode: u32,
        uid: u64,
        gid: u64,
        size: u64,
        head: Vec<u8>,
    },
    Dir {
        path: String,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    /// A symbolic link, not followed; `target` as stored in the link.
    Symlink { path: String, target: String },
    /// A device, FIFO, socket or hard link.
    Other { path: String },
}

impl Entry {
    /// The path in the container.
    pub fn path(&self) -> &str {
        match self {
            Entry::File { path, .. }
            | Entry::Dir { path, .. }
            | Entry::Symlink { path, .. }
            | Entry::Other { path } => path,
        }
    }
}

/// Why a path could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// The engine answered 404 for the path: nothing there (or a parent is not a directory).
    #[error("{0} does not exist in the container")]
    Absent(String),
    /// The engine answered 404 for the container itself.
    #[error("the container no longer exists (removed while the doctor looked at it)")]
    ContainerGone,
    #[error("the engine did not send the file within {}s", .0.as_secs_f32())]
    Timeout(Duration),
    /// Any other refusal or transport error, with the engine's words.
    #[error("the engine could not give the file: {0}")]
    Engine(String),
    /// The tar stream did not parse.
    #[error("the engine sent a malformed archive: {0}")]
    Malformed(String),
}

/// Bounds of [`read_tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Stop (truncated) before keeping one more file than this.
    pub max_files: usize,
    /// Stop (truncated) before the kept files' bytes would pass this.
    pub max_total_bytes: u64,
    /// Skip (listed in [`Tree::skipped`]) any file larger than this.
    pub max_file_bytes: u64,
}

impl Default for TreeLimits {
    /// Enough for an application's Python sources: 2000 files, 16 MiB, 1 MiB each.
    fn default() -> Self {
        TreeLimits {
            max_files: 2000,
            max_total_bytes: 16 << 20,
            max_file_bytes: 1 << 20,
        }
    }
}

/// What [`read_tree`] kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    /// Absolute path and whole content of each kept file, in archive order.
    pub files: Vec<(String, Vec<u8>)>,
    /// Files that passed the filter but were over `max_file_bytes` (at most `max_files` names).
    pub skipped: Vec<String>,
    /// Reading stopped at `max_files` or `max_total_bytes`: more files may match.
    pub truncated: bool,
}

/// Debian's default PATH, used when the container's environment sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Symlinks followed by [`which`] before giving up (`/usr/bin/awk` → `/etc/alternatives/awk` →
/// `/usr/bin/mawk` takes two).
const MAX_LINK_HOPS: usize = 8;
/// The largest GNU long name or PAX header accepted.
const MAX_META: u64 = 64 * 1024;
/// Extension headers (long names, PAX) in a row before the archive is called malformed.
const MAX_EXTENSIONS: usize = 16;
const BLOCK: usize = 512;

/// Stat `path` in `container` and read its first `max_bytes` bytes when it is a regular file.
/// A directory gives its own header only (the stream is dropped there: a volume is never
/// downloaded); a symlink is reported with its target, not followed.
pub async fn read(
    docker: &Docker,
    container: &str,
    path: &str,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Entry, ArchiveError> {
    let path = normalize(path);
    within(timeout, async {
        let mut tar = TarReader::new(download(docker, container, &path), &path);
        first_entry(&mut tar, &path, max_bytes).await
    })
    .await
}

/// All regular files under the directory `dir` whose absolute path passes `keep` (`|p|
/// p.ends_with(".py")`), within `limits`. When `dir` is a symlink to a directory, the engine
/// follows it (the request ends in `/`) and the files are named under `dir` as given. Not a
/// directory: [`ArchiveError::Absent`].
pub async fn read_tree(
    docker: &Docker,
    container: &str,
    dir: &str,
    keep: &(dyn Fn(&str) -> bool + Sync),
    limits: TreeLimits,
    timeout: Duration,
) -> Result<Tree, ArchiveError> {
    let dir = normalize(dir);
    // A trailing `/` makes the engine resolve a final symlink, and refuse a non-directory.
    let request = if dir == "/" {
        dir.clone()
    } else {
        format!("{dir}/")
    };
    within(timeout, async {
        let stream = download(docker, container, &request).map(|item| {
            item.map_err(|e| match e {
                ArchiveError::Absent(_) => ArchiveError::Absent(dir.clone()),
                other => other,
            })
        });
        let mut tar = TarReader::new(stream, &dir);
        collect_tree(&mut tar, &dir, keep, limits).await
    })
    .await
}

/// Where a shell would find `program` in the container: the first `dir/program` on `path_var`
/// (the container's `PATH`; [`DEFAULT_PATH`] when `None`) that is an executable regular file,
/// or a symlink leading to one (followed up to 8 hops, within the container). Stat only: no
/// file content is read. `Ok(None)`: found nowhere. A name with a `/` is checked as it is when
/// absolute; a relative one needs a working directory and gives `Ok(None)`.
pub async fn which(
    docker: &Docker,
    container: &str,
    program: &str,
    path_var: Option<&str>,
    timeout: Duration,
) -> Result<Option<String>, ArchiveError> {
    within(
        timeout,
        which_with(
            |path: String| async move {
                let mut tar = TarReader::new(download(docker, container, &path), &path);
                first_entry(&mut tar, &path, 0).await
            },
            program,
            path_var,
        ),
    )
    .await
}

/// [`which`] over any `stat`, so the search can be tested without an engine.
async fn which_with<F, Fut>(
    mut stat: F,
    program: &str,
    path_var: Option<&str>,
) -> Result<Option<String>, ArchiveError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Entry, ArchiveError>>,
{
    let candidates: Vec<String> = if program.contains('/') {
        if !program.starts_with('/') {
            return Ok(None);
        }
        vec![normalize(program)]
    } else {
        path_var
            .unwrap_or(DEFAULT_PATH)
            .split(':')
            // Empty and relative entries mean the working directory, which a stat cannot know.
            .filter(|dir| dir.starts_with('/'))
            .map(|dir| join(dir, program))
            .collect()
    };
    let mut first_error = None;
    for candidate in candidates {
        let mut path = candidate.clone();
        for _ in 0..=MAX_LINK_HOPS {
            match stat(path.clone()).await {
                Ok(Entry::File { mode, .. }) if mode & 0o111 != 0 => return Ok(Some(candidate)),
                Ok(Entry::Symlink { target, .. }) => {
                    let parent = path.rsplit_once('/').map_or("/", |(p, _)| p);
                    path = join(if parent.is_empty() { "/" } else { parent }, &target);
                    continue;
                }
                Ok(_) | Err(ArchiveError::Absent(_)) => {}
                Err(e @ (ArchiveError::ContainerGone | ArchiveError::Timeout(_))) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            break;
        }
    }
    // "Not found anywhere" only when every place could be looked at.
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// The archive stream of `path`, or its first error.
fn download(
    docker: &Docker,
    container: &str,
    path: &str,
) -> impl Stream<Item = Result<Vec<u8>, ArchiveError>> + Unpin + Send + 'static {
    let options = DownloadFromContainerOptionsBuilder::new()
        .path(path)
        .build();
    let path = path.to_owned();
    Box::pin(
        docker
            .download_from_container(container, Some(options))
            .map(move |item| item.map(|b| b.to_vec()).map_err(|e| engine_error(e, &path))),
    )
}

/// bollard's errors in the caller's terms.
fn engine_error(e: bollard::errors::Error, path: &str) -> ArchiveError {
    use bollard::errors::Error;
    match e {
        Error::DockerResponseServerError {
            status_code: 404,
            message,
        } => {
            if message.contains("No such container") {
                ArchiveError::ContainerGone
            } else {
                ArchiveError::Absent(path.to_owned())
            }
        }
        // A parent that is a file: the engine's lstat fails with ENOTDIR, as a 500.
        Error::DockerResponseServerError {
            status_code: 500,
            message,
        } if message.contains("not a directory") => ArchiveError::Absent(path.to_owned()),
        Error::DockerResponseServerError {
            status_code,
            message,
        } => ArchiveError::Engine(format!("HTTP {status_code}: {}", message.trim())),
        Error::RequestTimeoutError => {
            ArchiveError::Engine("the Docker client's own request timeout passed".into())
        }
        other => ArchiveError::Engine(crate::stack::connect::error_chain(&other)),
    }
}

async fn within<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, ArchiveError>>,
) -> Result<T, ArchiveError> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or(Err(ArchiveError::Timeout(timeout)))
}

/// The first entry of an archive, as an [`Entry`] named `path`.
async fn first_entry<S>(
    tar: &mut TarReader<S>,
    path: &str,
    max_bytes: usize,
) -> Result<Entry, ArchiveError>
where
    S: Stream<Item = Result<Vec<u8>, ArchiveError>> + Unpin,
{
    let Some(meta) = tar.next().await? else {
        return Err(ArchiveError::Malformed(format!(
            "the archive of {path} has no entry"
        )));
    };
    Ok(match meta.kind {
        Kind::File => {
            let keep = usize::try_from(meta.size).map_or(max_bytes, |s| s.min(max_bytes));
            Entry::File {
                path: path.to_owned(),
                mode: meta.mode,
                uid: meta.uid,
                gid: meta.gid,
                size: meta.size,
                head: tar.read_exact_data(keep).await?,
            }
        }
        Kind::Dir => Entry::Dir {
            path: path.to_owned(),
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
        },
        Kind::Symlink => Entry::Symlink {
            path: path.to_owned(),
            target: meta.link.unwrap_or_default(),
        },
        Kind::HardLink | Kind::Other => Entry::Other {
            path: path.to_owned(),
        },
    })
}

/// The body of [`read_tree`], over any tar stream.
async fn collect_tree<S>(
    tar: &mut TarReader<S>,
    root: &str,
    keep: &(dyn Fn(&str) -> bool + Sync),
    limits: TreeLimits,
) -> Result<Tree, ArchiveError>
where
    S: Stream<Item = Result<Vec<u8>, ArchiveError>> + Unpin,
{
    let mut tree = Tree::default();
    let mut total = 0u64;
    // The archive names entries after the last element of `root` (`/app` → `app/x.py`).
    let mut root_name: Option<String> = None;
    while let Some(meta) = tar.next().await? {
        let name = meta.path.trim_end_matches('/').to_owned();
        let rname = root_name.get_or_insert_with(|| name.clone());
        let abs = rebase(root, rname, &name);
        let content = match meta.kind {
            Kind::File if keep(&abs) => {
                if meta.size > limits.max_file_bytes {
                    if tree.skipped.len() < limits.max_files {
                        tree.skipped.push(abs);
                    }
                    tar.finish_entry().await?;
                    continue;
                }
                if tree.files.len() >= limits.max_files
                    || total.saturating_add(meta.size) > limits.max_total_bytes
                {
                    tree.truncated = true;
                    break;
                }
                // Bounded by max_file_bytes above.
                tar.read_data(meta.size).await?
            }
            // A hard link repeats a file already in the archive.
            Kind::HardLink if keep(&abs) => {
                tar.finish_entry().await?;
                let target = rebase(root, rname, meta.link.as_deref().unwrap_or_default());
                match tree.files.iter().find(|(p, _)| *p == target) {
                    Some((_, data)) => {
                        if tree.files.len() >= limits.max_files
                            || total.saturating_add(data.len() as u64) > limits.max_total_bytes
                        {
                            tree.truncated = true;
                            break;
                        }
                        data.clone()
                    }
                    None => continue,
                }
            }
            _ => {
                tar.finish_entry().await?;
                continue;
            }
        };
        total += content.len() as u64;
        tree.files.push((abs, content));
    }
    Ok(tree)
}

/// The absolute path of archive entry `name`, given that `root_name` stands for `root`.
fn rebase(root: &str, root_name: &str, name: &str) -> String {
    let name = name.trim_end_matches('/');
    if name == root_name {
        return root.to_owned();
    }
    match name
        .strip_prefix(root_name)
        .and_then(|r| r.strip_prefix('/'))
    {
        Some(rest) => join(root, rest),
        None => join(root, name),
    }
}

/// What an entry is, as far as callers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Other,
}

/// One logical entry: its header with long names and PAX records applied. Its data follows in
/// the stream.
#[derive(Debug)]
struct Meta {
    path: String,
    link: Option<String>,
    kind: Kind,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
}

/// A tar stream read block by block from chunks as they arrive. Holds one chunk and one partial
/// block, plus the data a caller asked to keep; skipped data is never buffered.
struct TarReader<S> {
    stream: S,
    buf: Vec<u8>,
    pos: usize,
    /// The requested path, for messages.
    what: String,
    /// Data bytes (with padding) of the current entry not yet consumed.
    pending: u64,
}

impl<S> TarReader<S>
where
    S: Stream<Item = Result<Vec<u8>, ArchiveError>> + Unpin,
{
    fn new(stream: S, what: &str) -> Self {
        TarReader {
            stream,
            buf: Vec::new(),
            pos: 0,
            what: what.to_owned(),
            pending: 0,
        }
    }

    fn available(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Pull chunks until `n` bytes are buffered; false when the stream ends first.
    async fn fill(&mut self, n: usize) -> Result<bool, ArchiveError> {
        while self.available() < n {
            match self.stream.next().await {
                Some(Ok(chunk)) => {
                    if self.pos > 0 {
                        self.buf.drain(..self.pos);
                        self.pos = 0;
                    }
                    self.buf.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let start = self.pos;
        self.pos += n;
        &self.buf[start..start + n]
    }

    fn cut_short(&self) -> ArchiveError {
        ArchiveError::Malformed(format!("the archive of {} ends inside an entry", self.what))
    }

    /// Consume `n` bytes without keeping them.
    async fn discard(&mut self, mut n: u64) -> Result<(), ArchiveError> {
        while n > 0 {
            if self.available() == 0 && !self.fill(1).await? {
                return Err(self.cut_short());
            }
            let step = usize::try_from(n).map_or(self.available(), |n| n.min(self.available()));
            self.pos += step;
            n -= step as u64;
        }
        Ok(())
    }

    /// Skip whatever is left of the current entry's data.
    async fn finish_entry(&mut self) -> Result<(), ArchiveError> {
        let left = std::mem::take(&mut self.pending);
        self.discard(left).await
    }

    /// The current entry's whole data (`size` bytes), then on to the next header.
    async fn read_data(&mut self, size: u64) -> Result<Vec<u8>, ArchiveError> {
        let n = usize::try_from(size).map_err(|_| self.cut_short())?;
        let data = self.read_exact_data(n).await?;
        self.finish_entry().await?;
        Ok(data)
    }

    /// The first `n` bytes of the current entry's data; the rest stays unread.
    async fn read_exact_data(&mut self, n: usize) -> Result<Vec<u8>, ArchiveError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        if !self.fill(n).await? {
            return Err(self.cut_short());
        }
        self.pending = self.pending.saturating_sub(n as u64);
        Ok(self.take(n).to_vec())
    }

    /// The next 512-byte block; `None` at the end of the stream.
    async fn block(&mut self) -> Result<Option<[u8; BLOCK]>, ArchiveError> {
        if !self.fill(BLOCK).await? {
            if self.available() == 0 {
                return Ok(None);
            }
            return Err(self.cut_short());
        }
        let mut b = [0u8; BLOCK];
        b.copy_from_slice(self.take(BLOCK));
        Ok(Some(b))
    }

    /// The next logical entry, with GNU long names and PAX records applied; `None` at the end
    /// of the archive. Skips the rest of the previous entry's data first.
    async fn next(&mut self) -> Result<Option<Meta>, ArchiveError> {
        self.finish_entry().await?;
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        for _ in 0..=MAX_EXTENSIONS {
            let Some(block) = self.block().await? else {
                return Ok(None);
            };
            if block.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            let header = tar::Header::from_byte_slice(&block);
            self.check_sum(header)?;
            let size = match pax_u64(&pax, "size") {
                Some(s) => s,
                None => header.entry_size().map_err(|e| self.bad_field("size", e))?,
            };
            self.pending = size.div_ceil(BLOCK as u64) * BLOCK as u64;
            let kind = header.entry_type();
            if kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions() {
                let data = self.read_meta(size).await?;
                if kind.is_gnu_longname() {
                    long_name = Some(trim_nul(data));
                } else if kind.is_gnu_longlink() {
                    long_link = Some(trim_nul(data));
                } else {
                    for ext in tar::PaxExtensions::new(&data) {
                        let ext = ext.map_err(|e| {
                            ArchiveError::Malformed(format!("a PAX record of {}: {e}", self.what))
                        })?;
                        let key = String::from_utf8_lossy(ext.key_bytes()).into_owned();
                        pax.push((key, ext.value_bytes().to_vec()));
                    }
                }
                continue;
            }
            if kind.is_pax_global_extensions() {
                self.finish_entry().await?;
                continue;
            }
            let path = pax_bytes(&pax, "path")
                .map(<[u8]>::to_vec)
                .or(long_name)
                .unwrap_or_else(|| header.path_bytes().into_owned());
            let link = pax_bytes(&pax, "linkpath")
                .map(<[u8]>::to_vec)
                .or(long_link)
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned()));
            let uid = match pax_u64(&pax, "uid") {
                Some(u) => u,
                None => header.uid().map_err(|e| self.bad_field("uid", e))?,
            };
            let gid = match pax_u64(&pax, "gid") {
                Some(g) => g,
                None => header.gid().map_err(|e| self.bad_field("gid", e))?,
            };
            let mode = header.mode().map_err(|e| self.bad_field("mode", e))? & 0o7777;
            let kind = match kind {
                EntryType::Regular | EntryType::Continuous => Kind::File,
                EntryType::Directory => Kind::Dir,
                EntryType::Symlink => Kind::Symlink,
                EntryType::Link => Kind::HardLink,
                _ => Kind::Other,
            };
            return Ok(Some(Meta {
                path: String::from_utf8_lossy(&path).into_owned(),
                link: link.map(|l| String::from_utf8_lossy(&l).into_owned()),
                kind,
                mode,
                uid,
                gid,
                size,
            }));
        }
        Err(ArchiveError::Malformed(format!(
            "more than {MAX_EXTENSIONS} extension headers in a row in the archive of {}",
            self.what
        )))
    }

    /// The data of a long-name or PAX entry: small, read whole.
    async fn read_meta(&mut self, size: u64) -> Result<Vec<u8>, ArchiveError> {
        if size > MAX_META {
            return Err(ArchiveError::Malformed(format!(
                "an extension header of {size} bytes in the archive of {}",
                self.what
            )));
        }
        self.read_data(size).await
    }

    fn check_sum(&self, header: &tar::Header) -> Result<(), ArchiveError> {
        let stored = header.cksum().map_err(|e| self.bad_field("checksum", e))?;
        let bytes = header.as_bytes();
        let sum: u32 = bytes
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    u32::from(b' ')
                } else {
                    u32::from(b)
                }
            })
            .sum();
        if sum != stored {
            return Err(ArchiveError::Malformed(format!(
                "a header checksum does not match in the archive of {}",
                self.what
            )));
        }
        Ok(())
    }

    fn bad_field(&self, field: &str, e: std::io::Error) -> ArchiveError {
        ArchiveError::Malformed(format!(
            "a bad {field} field in the archive of {}: {e}",
            self.what
        ))
    }
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

fn pax_bytes<'a>(pax: &'a [(String, Vec<u8>)], key: &str) -> Option<&'a [u8]> {
    pax.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

fn pax_u64(pax: &[(String, Vec<u8>)], key: &str) -> Option<u64> {
    std::str::from_utf8(pax_bytes(pax, key)?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `path` resolved against `base` (absolute paths kept), `.` and `..` removed lexically — as
/// the engine cleans archive paths.
pub(crate) fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{}/{path}", base.trim_end_matches('/')))
    }
}

/// `.` and `..` removed lexically, slashes collapsed; always absolute.
pub(crate) fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An archive built with the `tar` crate, the way the engine lays one out.
    struct Archive(tar::Builder<Vec<u8>>);

    impl Archive {
        fn new() -> Self {
            Archive(tar::Builder::new(Vec::new()))
        }

        fn header(kind: EntryType, mode: u32, size: u64) -> tar::Header {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(1234);
            h.set_gid(2345);
            h.set_size(size);
            h
        }

        fn dir(mut self, path: &str) -> Self {
            let mut h = Self::header(EntryType::Directory, 0o755, 0);
            self.0.append_data(&mut h, path, &[][..]).unwrap();
            self
        }

        fn file(mut self, path: &str, data: &[u8]) -> Self {
            let mut h = Self::header(EntryType::Regular, 0o640, data.len() as u64);
            // append_data writes a GNU long-name entry for paths over 100 bytes.
            self.0.append_data(&mut h, path, data).unwrap();
            self
        }

        fn symlink(mut self, path: &str, target: &str) -> Self {
            let mut h = Self::header(EntryType::Symlink, 0o777, 0);
            self.0.append_link(&mut h, path, target).unwrap();
            self
        }

        fn hardlink(mut self, path: &str, target: &str) -> Self {
            let mut h = Self::header(EntryType::Link, 0o640, 0);
            self.0.append_link(&mut h, path, target).unwrap();
            self
        }

        fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
            self.0
                .append_pax_extensions(records.iter().map(|(k, v)| (*k, *v)))
                .unwrap();
            self
        }

        fn bytes(self) -> Vec<u8> {
            self.0.into_inner().unwrap()
        }
    }

    /// A stream that hands `bytes` out in chunks of `chunk` bytes.
    fn chunks(
        bytes: &[u8],
        chunk: usize,
    ) -> impl Stream<Item = Result<Vec<u8>, ArchiveError>> + Unpin {
        let parts: Vec<Result<Vec<u8>, ArchiveError>> =
            bytes.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
        futures_util::stream::iter(parts)
    }

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    const CHUNK_SIZES: [usize; 5] = [1, 7, 512, 1000, 1 << 20];

    fn first(bytes: &[u8], path: &str, max: usize) -> Entry {
        let mut results = CHUNK_SIZES.iter().map(|&c| {
            let mut tar = TarReader::new(chunks(bytes, c), path);
            block_on(first_entry(&mut tar, path, max)).unwrap()
        });
        let one = results.next().unwrap();
        for other in results {
            assert_eq!(one, other, "the chunking must not change the answer");
        }
        one
    }

    #[test]
    fn a_file_gives_mode_owner_size_and_head() {
        let bytes = Archive::new().file("hello.txt", b"hello archive\n").bytes();
        assert_eq!(
            first(&bytes, "/data/hello.txt", 5),
            Entry::File {
                path: "/data/hello.txt".into(),
                mode: 0o640,
                uid: 1234,
                gid: 2345,
                size: 14,
                head: b"hello".to_vec(),
            }
        );
        let Entry::File { head, .. } = first(&bytes, "/data/hello.txt", 100) else {
            panic!()
        };
        assert_eq!(head, b"hello archive\n");
    }

    #[test]
    fn a_directory_gives_its_own_header_only() {
        let bytes = Archive::new()
            .dir("data/")
            .file("data/a", &[7u8; 5000])
            .bytes();
        assert_eq!(
            first(&bytes, "/data", 10),
            Entry::Dir {
                path: "/data".into(),
                mode: 0o755,
                uid: 1234,
                gid: 2345
            }
        );
    }

    #[test]
    fn symlinks_and_hard_links_are_reported() {
        let bytes = Archive::new().symlink("link", "hello.txt").bytes();
        assert_eq!(
            first(&bytes, "/data/link", 10),
            Entry::Symlink {
                path: "/data/link".into(),
                target: "hello.txt".into()
            }
        );
        let bytes = Archive::new().hardlink("h", "data/x").bytes();
        assert_eq!(first(&bytes, "/h", 10), Entry::Other { path: "/h".into() });
    }

    #[test]
    fn long_names_and_pax_records_apply_to_the_next_entry() {
        let long = format!("app/{}/module.py", "deep".repeat(40));
        let bytes = Archive::new()
            .dir("app/")
            .file(&long, b"x = 1\n")
            .pax(&[
                ("path", b"app/pax-name.py"),
                ("uid", b"4000000"),
                ("size", b"6"),
            ])
            .file("app/short", b"y = 2\n")
            .file("app/after.py", b"z = 3\n")
            .bytes();
        for c in CHUNK_SIZES {
            let mut tar = TarReader::new(chunks(&bytes, c), "/app");
            let tree = block_on(collect_tree(
                &mut tar,
                "/app",
                &|_: &str| true,
                TreeLimits::default(),
            ))
            .unwrap();
            let names: Vec<&str> = tree.files.iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(
                names,
                [
                    format!("/{long}").as_str(),
                    "/app/pax-name.py",
                    "/app/after.py"
                ],
                "chunks of {c}"
            );
            assert_eq!(tree.files[1].1, b"y = 2\n");
            assert!(!tree.truncated);
        }
        // The PAX uid wins over the header's.
        let bytes = Archive::new()
            .pax(&[("uid", b"4000000")])
            .file("f", b"1")
            .bytes();
        let Entry::File { uid, .. } = first(&bytes, "/f", 1) else {
            panic!()
        };
        assert_eq!(uid, 4_000_000);
    }

    fn tree_of(
        bytes: &[u8],
        root: &str,
        keep: &(dyn Fn(&str) -> bool + Sync),
        l: TreeLimits,
    ) -> Tree {
        let mut tar = TarReader::new(chunks(bytes, 333), root);
        block_on(collect_tree(&mut tar, root, keep, l)).unwrap()
    }

    fn sources() -> Vec<u8> {
        Archive::new()
            .dir("app/")
            .file("app/a.py", b"import b\n")
            .file("app/README", b"not python\n")
            .dir("app/pkg/")
            .file("app/pkg/b.py", b"x = 1\n")
            .file("app/pkg/big.py", &[b'#'; 3000])
            .hardlink("app/pkg/c.py", "app/a.py")
            .symlink("app/d.py", "a.py")
            .file("app/pkg/e.py", b"e = 5\n")
            .bytes()
    }

    #[test]
    fn a_tree_keeps_filtered_files_and_skips_big_ones() {
        let py = |p: &str| p.ends_with(".py");
        let limits = TreeLimits {
            max_file_bytes: 1000,
            ..TreeLimits::default()
        };
        let tree = tree_of(&sources(), "/app", &py, limits);
        assert_eq!(
            tree.files,
            vec![
                ("/app/a.py".to_string(), b"import b\n".to_vec()),
                ("/app/pkg/b.py".to_string(), b"x = 1\n".to_vec()),
                ("/app/pkg/c.py".to_string(), b"import b\n".to_vec()),
                ("/app/pkg/e.py".to_string(), b"e = 5\n".to_vec()),
            ]
        );
        assert_eq!(tree.skipped, vec!["/app/pkg/big.py".to_string()]);
        assert!(!tree.truncated);
    }

    #[test]
    fn a_tree_stops_at_its_limits() {
        let py = |p: &str| p.ends_with(".py");
        let by_count = TreeLimits {
            max_files: 2,
            max_file_bytes: 1000,
            ..TreeLimits::default()
        };
        let tree = tree_of(&sources(), "/app", &py, by_count);
        assert_eq!(tree.files.len(), 2);
        assert!(tree.truncated);

        let by_bytes = TreeLimits {
            max_total_bytes: 12,
            ..by_count
        };
        let tree = tree_of(&sources(), "/app", &py, by_bytes);
        assert_eq!(tree.files.len(), 1, "9 bytes kept, 6 more would pass 12");
        assert!(tree.truncated);

        // Exactly at the limit is not truncated.
        let exact = TreeLimits {
            max_files: 4,
            max_file_bytes: 1000,
            ..TreeLimits::default()
        };
        assert!(!tree_of(&sources(), "/app", &py, exact).truncated);
    }

    #[test]
    fn a_file_as_tree_root() {
        let bytes = Archive::new().file("main.py", b"print(1)\n").bytes();
        let tree = tree_of(
            &bytes,
            "/app/main.py",
            &|_: &str| true,
            TreeLimits::default(),
        );
        assert_eq!(
            tree.files,
            vec![("/app/main.py".into(), b"print(1)\n".to_vec())]
        );
    }

    #[test]
    fn broken_archives_are_malformed_not_panics() {
        let bytes = Archive::new().file("f", &[1u8; 2000]).bytes();
        // Cut inside the data.
        let mut tar = TarReader::new(chunks(&bytes[..1000], 100), "/f");
        let err = block_on(collect_tree(
            &mut tar,
            "/f",
            &|_: &str| true,
            TreeLimits::default(),
        ));
        assert!(matches!(err, Err(ArchiveError::Malformed(m)) if m.contains("ends inside")));
        // A flipped byte in the header.
        let mut bad = bytes.clone();
        bad[0] ^= 0x20;
        let mut tar = TarReader::new(chunks(&bad, 512), "/f");
        let err = block_on(first_entry(&mut tar, "/f", 10));
        assert!(matches!(err, Err(ArchiveError::Malformed(m)) if m.contains("checksum")));
        // An empty answer.
        let mut tar = TarReader::new(chunks(&[], 512), "/f");
        assert!(matches!(
            block_on(first_entry(&mut tar, "/f", 10)),
            Err(ArchiveError::Malformed(_))
        ));
        // Errors from the stream come through as they are.
        let mut tar = TarReader::new(
            futures_util::stream::iter(vec![Err(ArchiveError::ContainerGone)]),
            "/f",
        );
        assert_eq!(
            block_on(first_entry(&mut tar, "/f", 10)),
            Err(ArchiveError::ContainerGone)
        );
    }

    #[test]
    fn reading_stops_early() {
        // A file's head is read without pulling the rest of the stream.
        let bytes = Archive::new().file("big", &[1u8; 100_000]).bytes();
        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = pulled.clone();
        let stream = chunks(&bytes, 1024).inspect(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let mut tar = TarReader::new(stream, "/big");
        let entry = block_on(first_entry(&mut tar, "/big", 10)).unwrap();
        assert!(matches!(entry, Entry::File { size: 100_000, .. }));
        assert_eq!(pulled.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    /// A fake container filesystem for `which`.
    fn fs() -> HashMap<String, Entry> {
        let file = |p: &str, mode: u32| Entry::File {
            path: p.into(),
            mode,
            uid: 0,
            gid: 0,
            size: 10,
            head: vec![],
        };
        let link = |p: &str, t: &str| Entry::Symlink {
            path: p.into(),
            target: t.into(),
        };
        [
            ("/usr/bin/python3.11", file("/usr/bin/python3.11", 0o755)),
            ("/usr/bin/python3", link("/usr/bin/python3", "python3.11")),
            ("/usr/bin/mawk", file("/usr/bin/mawk", 0o755)),
            (
                "/usr/bin/awk",
                link("/usr/bin/awk", "/etc/alternatives/awk"),
            ),
            (
                "/etc/alternatives/awk",
                link("/etc/alternatives/awk", "../../usr/bin/mawk"),
            ),
            ("/usr/local/bin/notes", file("/usr/local/bin/notes", 0o644)),
            ("/usr/bin/notes", file("/usr/bin/notes", 0o700)),
            ("/usr/bin/dangling", link("/usr/bin/dangling", "nowhere")),
            ("/usr/bin/loop", link("/usr/bin/loop", "loop")),
            ("/opt/tool", file("/opt/tool", 0o755)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn which_in(
        fs: &HashMap<String, Entry>,
        program: &str,
        path: Option<&str>,
    ) -> Result<Option<String>, ArchiveError> {
        let stat = |p: String| {
            let found = fs.get(&p).cloned();
            async move { found.ok_or(ArchiveError::Absent(p)) }
        };
        block_on(which_with(stat, program, path))
    }

    #[test]
    fn which_searches_path_like_a_shell() {
        let fs = fs();
        let found = |p: &str| which_in(&fs, p, None).unwrap();
        assert_eq!(found("python3").as_deref(), Some("/usr/bin/python3"));
        assert_eq!(found("awk").as_deref(), Some("/usr/bin/awk"), "two hops");
        assert_eq!(
            found("notes").as_deref(),
            Some("/usr/bin/notes"),
            "the first is not +x"
        );
        assert_eq!(found("wget"), None);
        assert_eq!(found("dangling"), None);
        assert_eq!(found("loop"), None, "a link loop ends");
        assert_eq!(found("/opt/tool").as_deref(), Some("/opt/tool"));
        assert_eq!(found("./tool"), None);
        assert_eq!(
            which_in(&fs, "tool", Some("relative:/opt::/nope"))
                .unwrap()
                .as_deref(),
            Some("/opt/tool")
        );
        assert_eq!(which_in(&fs, "python3", Some("/opt")).unwrap(), None);
    }

    #[test]
    fn which_does_not_claim_absence_it_could_not_check() {
        let stat = |p: String| async move {
            if p.starts_with("/usr/local") {
                Err(ArchiveError::Engine("HTTP 500: boom".into()))
            } else {
                Err(ArchiveError::Absent(p))
            }
        };
        assert_eq!(
            block_on(which_with(stat, "wget", None)),
            Err(ArchiveError::Engine("HTTP 500: boom".into()))
        );
        let gone = |_p: String| async move { Err(ArchiveError::ContainerGone) };
        assert_eq!(
            block_on(which_with(gone, "wget", None)),
            Err(ArchiveError::ContainerGone)
        );
    }

    #[test]
    fn engine_errors_are_told_apart() {
        use bollard::errors::Error;
        let e = |code: u16, msg: &str| Error::DockerResponseServerError {
            status_code: code,
            message: msg.into(),
        };
        assert_eq!(
            engine_error(e(404, "No such container: abc"), "/x"),
            ArchiveError::ContainerGone
        );
        assert_eq!(
            engine_error(e(404, "Could not find the file /x in container abc"), "/x"),
            ArchiveError::Absent("/x".into())
        );
        assert_eq!(
            engine_error(
                e(
                    500,
                    "lstat /var/lib/docker/overlay2/abc/merged/etc/hostname/x: not a directory"
                ),
                "/etc/hostname/x"
            ),
            ArchiveError::Absent("/etc/hostname/x".into())
        );
        assert!(matches!(
            engine_error(e(500, "boom\n"), "/x"),
            ArchiveError::Engine(m) if m == "HTTP 500: boom"
        ));
    }

    #[test]
    fn paths_are_cleaned_like_the_engine_does() {
        assert_eq!(normalize("/data/./a//b/../c/"), "/data/a/c");
        assert_eq!(normalize(""), "/");
        assert_eq!(join("/usr/bin", "../../etc/x"), "/etc/x");
        assert_eq!(join("/app/", "/abs"), "/abs");
        assert_eq!(rebase("/app", "app", "app/pkg/x.py"), "/app/pkg/x.py");
        assert_eq!(rebase("/app", "app", "app/"), "/app");
    }

    /// Compiles only if the futures can move between threads (callers spawn them).
    #[allow(dead_code)]
    fn the_futures_are_send(docker: &Docker) {
        fn send<T: Send>(_: &T) {}
        let keep = |_: &str| true;
        let t = Duration::from_secs(1);
        send(&read(docker, "c", "/x", 1, t));
        send(&read_tree(
            docker,
            "c",
            "/x",
            &keep,
            TreeLimits::default(),
            t,
        ));
        send(&which(docker, "c", "sh", None, t));
    }
}
