//! GDBM files judged from their header bytes, the way gdbm 1.23 judges them when it opens one.
//!
//! Flower keeps its state in a `shelve`, which on Debian is a GDBM file. When Flower is killed
//! while it rewrites that file, the next start fails in `shelve`/`_gdbm` (`Database needs
//! recovery`, `Malformed database file header`, `db type could not be determined`). The doctor
//! reads the file through the archive endpoint (the Flower container is usually crash-looping, so
//! nothing can run inside it) and needs to know which of those states the file is in without a
//! gdbm library: [`classify`] repeats the checks of gdbm's `validate_header` and
//! `gdbm_avail_block_validate` (gdbm 1.23, `gdbmopen.c` and `avail.c`) on the first bytes of the
//! file and its size.
//!
//! The layout (64-bit `off_t`, native little-endian, as on amd64 and arm64):
//!
//! ```text
//! 0  magic u32      4  block_size i32   8  dir i64        16 dir_size i32   20 dir_bits i32
//! 24 bucket_size    28 bucket_elems     32 next_block i64
//! standard header: 40 avail.size i32, 44 avail.count i32, 48 avail.next i64, 56 avail table
//! numsync header:  40 version, 44 numsync, 48..72 padding, then the avail block at 72
//! ```
//!
//! [`flower_db_path`] finds the file: Flower's `--db` (default `flower`) relative to the working
//! directory, only when `--persistent` is on.
use super::archive::join;
use super::entrypoint::{is_separator, shell_words};
use crate::rules::{Expectation, GdbmExpectation};

/// The most bytes [`classify`] looks at: one 4 KiB header block, the usual GDBM block size.
/// Give it at least this much (or the whole file, when it is smaller).
pub const HEAD_BYTES: usize = 4096;

/// `GDBM_OMAGIC`: the original magic. gdbm reads such files with its native `off_t`.
const OMAGIC: u32 = 0x1357_9ace;
/// `GDBM_MAGIC32`: a file written by a gdbm with a 32-bit `off_t`.
const MAGIC32: u32 = 0x1357_9acd;
/// `GDBM_MAGIC64`: the standard format of a 64-bit gdbm.
const MAGIC64: u32 = 0x1357_9acf;
/// `GDBM_NUMSYNC_MAGIC32`: extended (numsync) format, 32-bit `off_t`.
const NUMSYNC_MAGIC32: u32 = 0x1357_9ad0;
/// `GDBM_NUMSYNC_MAGIC64`: extended (numsync) format of a 64-bit gdbm (gdbm >= 1.21).
const NUMSYNC_MAGIC64: u32 = 0x1357_9ad1;

/// `sizeof (gdbm_file_header)`: the fixed part, up to and including `next_block`.
const FIXED_HEADER: u64 = 40;
/// `sizeof (gdbm_ext_header)`: version, numsync and six reserved ints.
const EXT_HEADER: u64 = 32;
/// `sizeof (avail_block)` with its one-element table.
const AVAIL_BLOCK: u64 = 32;
/// `sizeof (avail_elem)`.
const AVAIL_ELEM: u64 = 16;
/// `sizeof (hash_bucket)` with its one-element table.
const HASH_BUCKET: u64 = 136;
/// `sizeof (bucket_element)`.
const BUCKET_ELEMENT: u64 = 24;
/// `GDBM_HASH_BITS`.
const HASH_BITS: u32 = 31;

/// What gdbm 1.23 would make of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GdbmState {
    /// gdbm opens it and can use it.
    Ok,
    /// gdbm >= 1.18.1 opens it but refuses to read or write (`Database needs recovery`): the
    /// header says the file ends at `next_block`, and the file is longer — a save that never
    /// finished.
    NeedsRecovery { next_block: u64, size: u64 },
    /// gdbm refuses to open it. The text starts with gdbm's own error message (`Malformed
    /// database file header`, `Block size error`, `Malformed avail_block`, `Byte-swapped file`,
    /// `File header assumes wrong off_t size`, `Unexpected end of file`), then says why.
    BadHeader(String),
    /// 0 bytes: a reader gets `Empty database`; Python's `dbm.open` says `db type could not be
    /// determined` before gdbm is even asked.
    Empty,
    /// Not a GDBM file at all; `magic` is its first four bytes (zero-padded when shorter).
    NotGdbm { magic: [u8; 4] },
}

impl GdbmState {
    /// A short kebab-case name: `ok`, `needs-recovery`, `bad-header`, `empty`, `not-gdbm`.
    pub fn as_str(&self) -> &'static str {
        match self {
            GdbmState::Ok => "ok",
            GdbmState::NeedsRecovery { .. } => "needs-recovery",
            GdbmState::BadHeader(_) => "bad-header",
            GdbmState::Empty => "empty",
            GdbmState::NotGdbm { .. } => "not-gdbm",
        }
    }
}

impl std::fmt::Display for GdbmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GdbmState::Ok => f.write_str("a valid GDBM file"),
            GdbmState::NeedsRecovery { next_block, size } => write!(
                f,
                "a GDBM file that needs recovery: its header ends the data at byte {next_block}, \
                 the file has {size} bytes"
            ),
            GdbmState::BadHeader(why) => write!(f, "a GDBM file gdbm refuses: {why}"),
            GdbmState::Empty => f.write_str("an empty file (0 bytes)"),
            GdbmState::NotGdbm { magic } => write!(
                f,
                "not a GDBM file (starts with {:02x} {:02x} {:02x} {:02x})",
                magic[0], magic[1], magic[2], magic[3]
            ),
        }
    }
}

/// Classify a GDBM file from its first bytes (`head`, see [`HEAD_BYTES`]) and its size on disk.
pub fn classify(head: &[u8], size: u64) -> GdbmState {
    if size == 0 {
        return GdbmState::Empty;
    }
    let mut magic_bytes = [0u8; 4];
    let n = head.len().min(4);
    magic_bytes[..n].copy_from_slice(&head[..n]);
    let magic = u32::from_le_bytes(magic_bytes);
    let format = match Format::of(magic) {
        Some(Ok(format)) => format,
        Some(Err(refusal)) => return GdbmState::BadHeader(refusal),
        None => return GdbmState::NotGdbm { magic: magic_bytes },
    };
    if size < FIXED_HEADER {
        return GdbmState::BadHeader(format!(
            "Unexpected end of file: the file has {size} bytes, fewer than the {FIXED_HEADER}-byte \
             header"
        ));
    }
    let h = Header { bytes: head };
    let Some(fixed) = h.fixed() else {
        return GdbmState::BadHeader(format!(
            "only {} bytes of the header were read: cannot judge it",
            head.len()
        ));
    };
    match validate(&h, &fixed, format, size) {
        Err(why) => GdbmState::BadHeader(why),
        Ok(()) if fixed.next_block < size as i64 => GdbmState::NeedsRecovery {
            next_block: fixed.next_block as u64,
            size,
        },
        Ok(()) => GdbmState::Ok,
    }
}

/// Whether Python's `dbm.whichdb` (3.11) takes the file for a GDBM file. It knows only the
/// magics `0x13579ace`, `0x13579acd` and `0x13579acf` in native order: a numsync file (which
/// gdbm itself opens) or a byte-swapped one is "db type could not be determined" to `shelve`,
/// hence to Flower.
pub fn python_whichdb_recognises(head: &[u8]) -> bool {
    head.get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .is_some_and(|m| matches!(m, OMAGIC | MAGIC32 | MAGIC64))
}

/// The two header formats a 64-bit gdbm accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Standard,
    Numsync,
}

impl Format {
    /// `None`: not a GDBM magic. `Some(Err)`: a GDBM file this gdbm refuses, with its message.
    fn of(magic: u32) -> Option<Result<Format, String>> {
        match magic {
            OMAGIC | MAGIC64 => Some(Ok(Format::Standard)),
            NUMSYNC_MAGIC64 => Some(Ok(Format::Numsync)),
            MAGIC32 | NUMSYNC_MAGIC32 => Some(Err(format!(
                "File header assumes wrong off_t size: magic {magic:#010x} is a GDBM file written \
                 with 32-bit file offsets"
            ))),
            _ => {
                let swapped = magic.swap_bytes();
                matches!(
                    swapped,
                    OMAGIC | MAGIC32 | MAGIC64 | NUMSYNC_MAGIC32 | NUMSYNC_MAGIC64
                )
                .then(|| {
                    Err(format!(
                        "Byte-swapped file: magic {swapped:#010x} in the other byte order (written \
                         on a big-endian machine)"
                    ))
                })
            }
        }
    }

    /// Where the avail block starts in the header.
    fn avail_offset(self) -> u64 {
        match self {
            Format::Standard => FIXED_HEADER,
            Format::Numsync => FIXED_HEADER + EXT_HEADER,
        }
    }
}

/// The fixed part of the header.
struct Fixed {
    block_size: i32,
    dir: i64,
    dir_size: i32,
    dir_bits: i32,
    bucket_size: i32,
    bucket_elems: i32,
    next_block: i64,
}

/// Little-endian reads that say "not there" instead of panicking on a short head.
struct Header<'a> {
    bytes: &'a [u8],
}

impl Header<'_> {
    fn i32_at(&self, at: u64) -> Option<i32> {
        let at = usize::try_from(at).ok()?;
        let b = self.bytes.get(at..at.checked_add(4)?)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64_at(&self, at: u64) -> Option<i64> {
        let at = usize::try_from(at).ok()?;
        let b = self.bytes.get(at..at.checked_add(8)?)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(i64::from_le_bytes(a))
    }

    fn fixed(&self) -> Option<Fixed> {
        Some(Fixed {
            block_size: self.i32_at(4)?,
            dir: self.i64_at(8)?,
            dir_size: self.i32_at(16)?,
            dir_bits: self.i32_at(20)?,
            bucket_size: self.i32_at(24)?,
            bucket_elems: self.i32_at(28)?,
            next_block: self.i64_at(32)?,
        })
    }
}

/// gdbm's `compute_directory_size`: the smallest directory for a block size, and its bits.
fn directory_size(block_size: i64) -> (i64, i32) {
    let block_size = block_size.min(i64::from(i32::MAX / 2));
    let (mut size, mut bits) = (8 * 8i64, 3i32);
    while size < block_size && bits < HASH_BITS as i32 - 3 {
        size <<= 1;
        bits += 1;
    }
    (size, bits)
}

/// The checks gdbm makes before it uses a header, in gdbm's order, each failure with gdbm's
/// message. "Needs recovery" is not decided here: gdbm lets a bad header win over it.
fn validate(h: &Header<'_>, f: &Fixed, format: Format, size: u64) -> Result<(), String> {
    let size_i = i64::try_from(size).unwrap_or(i64::MAX);
    let block = i64::from(f.block_size);
    let avail_at = format.avail_offset() as i64;
    if !(block > avail_at && block - avail_at >= AVAIL_BLOCK as i64) {
        return Err(format!(
            "Block size error: block_size {} is too small for the header",
            f.block_size
        ));
    }
    let dir_end = f.dir.checked_add(i64::from(f.dir_size));
    if !(f.dir > 0 && f.dir < size_i && f.dir_size > 0 && dir_end.is_some_and(|e| e < size_i)) {
        return Err(format!(
            "Malformed database file header: the hash directory (at byte {}, {} bytes) does not \
             fit in the file ({size} bytes)",
            f.dir, f.dir_size
        ));
    }
    let (min_dir, _) = directory_size(block);
    if i64::from(f.dir_size) < min_dir {
        return Err(format!(
            "Malformed database file header: dir_size {} is below {min_dir} for block_size {}",
            f.dir_size, f.block_size
        ));
    }
    let (_, bits) = directory_size(i64::from(f.dir_size));
    if f.dir_bits != bits {
        return Err(format!(
            "Malformed database file header: dir_bits {} does not match dir_size {} ({bits} \
             expected)",
            f.dir_bits, f.dir_size
        ));
    }
    let bucket = i64::from(f.bucket_size);
    if bucket <= HASH_BUCKET as i64 {
        return Err(format!(
            "Malformed database file header: bucket_size {} is too small",
            f.bucket_size
        ));
    }
    let elems = (bucket - HASH_BUCKET as i64) / BUCKET_ELEMENT as i64 + 1;
    if i64::from(f.bucket_elems) != elems {
        return Err(format!(
            "Malformed database file header: bucket_elems {} does not match bucket_size {} \
             ({elems} expected)",
            f.bucket_elems, f.bucket_size
        ));
    }
    // gdbm then reads the whole header block.
    if block > size_i {
        return Err(format!(
            "Unexpected end of file: the header block ({} bytes) is longer than the file \
             ({size} bytes)",
            f.block_size
        ));
    }
    validate_avail(h, f, format)
}

/// The avail block at the end of the header: its declared size, its count, and each element
/// that `head` holds (elements past the end of `head` are not checked).
fn validate_avail(h: &Header<'_>, f: &Fixed, format: Format) -> Result<(), String> {
    let at = format.avail_offset();
    let block = i64::from(f.block_size);
    let (Some(avail_size), Some(count)) = (h.i32_at(at), h.i32_at(at + 4)) else {
        return Err(format!(
            "only {} bytes of the header were read: cannot judge its avail block",
            h.bytes.len()
        ));
    };
    let expected = (block - (at + AVAIL_BLOCK) as i64) / AVAIL_ELEM as i64 + 1;
    if i64::from(avail_size) != expected {
        return Err(format!(
            "Malformed database file header: the avail table has {avail_size} slots, {expected} \
             expected for block_size {}",
            f.block_size
        ));
    }
    let room = (block - at as i64 - AVAIL_BLOCK as i64) / AVAIL_ELEM as i64 + 1;
    if !(avail_size > 1 && count >= 0 && count <= avail_size && i64::from(count) <= room) {
        return Err(format!(
            "Malformed avail_block: count {count} for a table of {avail_size}"
        ));
    }
    for i in 0..count as u64 {
        let elem = at + AVAIL_BLOCK - AVAIL_ELEM + i * AVAIL_ELEM;
        let (Some(av_size), Some(av_adr)) = (h.i32_at(elem), h.i64_at(elem + 8)) else {
            break;
        };
        let end = av_adr.checked_add(i64::from(av_size));
        let ok = av_adr >= i64::from(f.bucket_size)
            && av_size >= 0
            && end.is_some_and(|e| e <= f.next_block);
        if !ok {
            return Err(format!(
                "Malformed avail_block: free block {i} ({av_size} bytes at {av_adr}) lies outside \
                 the data area"
            ));
        }
    }
    Ok(())
}

/// Where Flower keeps its state, when it keeps one: the `--db` option (`--db=X` or `--db X`),
/// else `FLOWER_DB`, else `flower`; relative paths are resolved against celery's `--workdir`
/// when given, else the container's `working_dir` (`/` when empty). Flower saves state only
/// with `--persistent` (`--persistent`, `--persistent=True`; or `FLOWER_PERSISTENT=true`): `None`
/// otherwise. Command-line options win over the environment, as in Flower.
///
/// `argv` is the container's command (entrypoint then cmd); a `sh -c "…"` script is split into
/// words. Options are read after the `flower` word when there is one (`celery -A app flower
/// --db=…`), so a `--db` meant for another program before it is not taken.
pub fn flower_db_path(
    argv: &[String],
    env: &[(String, String)],
    working_dir: &str,
) -> Option<String> {
    let words = command_words(argv);
    let flower_at = words
        .iter()
        .position(|w| w == "flower" || w.rsplit('/').next() == Some("flower"));
    let (before, options) = match flower_at {
        Some(i) => (&words[..i], &words[i + 1..]),
        None => (&words[..0], &words[..]),
    };
    // Only the simple command that runs flower: `cd x && celery --workdir … flower`.
    let before = match before.iter().rposition(|w| is_separator(w)) {
        Some(i) => &before[i + 1..],
        None => before,
    };
    let env_get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());

    let persistent = match option_value(options, "persistent", true) {
        Some(v) => tornado_bool(&v),
        None => env_get("FLOWER_PERSISTENT").is_some_and(strtobool),
    };
    if !persistent {
        return None;
    }
    let db = option_value(options, "db", false)
        .or_else(|| env_get("FLOWER_DB").map(str::to_owned))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "flower".to_owned());
    let base = match option_value(before, "workdir", false) {
        Some(w) => join(dir_or_root(working_dir), &w),
        None => dir_or_root(working_dir).to_owned(),
    };
    Some(join(&base, &db))
}

fn dir_or_root(dir: &str) -> &str {
    if dir.is_empty() { "/" } else { dir }
}

/// The words of a command: `argv` itself, or the words of the script of `sh -c "…"` /
/// `bash -c "…"` when the command is a shell running one.
fn command_words(argv: &[String]) -> Vec<String> {
    let is_shell = argv.first().is_some_and(|p| {
        matches!(
            p.rsplit('/').next(),
            Some("sh" | "bash" | "dash" | "ash" | "zsh")
        )
    });
    if is_shell
        && let Some(i) = argv
            .iter()
            .position(|a| a == "-c" || a == "-ec" || a == "-ce")
        && let Some(script) = argv.get(i + 1)
    {
        return shell_words(script);
    }
    argv.to_vec()
}

/// The last value of a tornado-style option in `words` (`--name=value`, `--name value`,
/// `-name=value`; `_` and `-` alike in names). A `flag` option given bare is `"true"`. Stops at
/// a shell separator.
fn option_value(words: &[String], name: &str, flag: bool) -> Option<String> {
    let norm = |s: &str| s.replace('_', "-");
    let name = norm(name);
    let mut found = None;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if is_separator(w) {
            break;
        }
        if let Some(opt) = w.strip_prefix('-') {
            let opt = opt.strip_prefix('-').unwrap_or(opt);
            let (key, value) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v.to_owned())),
                None => (opt, None),
            };
            if norm(key) == name {
                found = match value {
                    Some(v) => Some(v),
                    None if flag => {
                        // `--persistent True` is not tornado syntax, but read it kindly.
                        match words.get(i + 1).map(|n| n.to_ascii_lowercase()) {
                            Some(n) if matches!(n.as_str(), "true" | "false" | "1" | "0") => {
                                i += 1;
                                Some(n)
                            }
                            _ => Some("true".to_owned()),
                        }
                    }
                    None => {
                        i += 1;
                        words.get(i).cloned()
                    }
                };
            }
        }
        i += 1;
    }
    found
}

/// tornado's `_parse_bool`: anything but `false`, `0`, `f` (any case) is true.
fn tornado_bool(v: &str) -> bool {
    !matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "f")
}

/// Python's `strtobool`, as Flower applies it to `FLOWER_*` booleans; unknown words are false.
fn strtobool(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "y" | "yes" | "t" | "true" | "on" | "1"
    )
}

/// Judge every `gdbm` spec for `ctx.container` (Flower): find its `--db` file, read the file's
/// first [`HEAD_BYTES`] through the archive endpoint (Flower is usually crash-looping: nothing can
/// run inside it) and classify the header.
pub async fn probe(expects: &[GdbmExpectation], ctx: &super::Ctx<'_>) -> Vec<super::ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    use super::archive::{self, ArchiveError, Entry};
    use super::{Outcome, ProbeResult};
    use crate::rules::{GdbmExpectation, ProbeSpec};

    let c = ctx.container;
    let argv: Vec<String> = c.entrypoint.iter().chain(&c.command).cloned().collect();
    let all = |outcome: &dyn Fn(&ProbeSpec) -> ProbeResult| specs.iter().map(outcome).collect();
    if let Err(why) = ctx.docker() {
        return all(&|s| ProbeResult::unknown(s, why.to_string(), &[]));
    }
    let Some(path) = flower_db_path(&argv, &ctx.env(), &c.working_dir) else {
        return all(&|s| {
            ProbeResult::unknown(
                s,
                format!("{} does not run Flower with --persistent=True", c.name),
                &[],
            )
        });
    };
    let docker = match ctx.docker() {
        Ok(d) => d,
        Err(why) => return all(&|s| ProbeResult::unknown(s, why.to_string(), &[])),
    };
    // What the file is: a GDBM state, or why it is not one.
    let mut whichdb_knows = true;
    let state: Result<GdbmState, String> =
        match archive::read(docker, &c.id, &path, HEAD_BYTES, ctx.opts.timeout).await {
            Ok(Entry::File { size, head, .. }) => {
                whichdb_knows = python_whichdb_recognises(&head);
                Ok(classify(&head, size))
            }
            Ok(Entry::Dir { .. }) => Err(format!("{path} is a directory")),
            Ok(other) => Err(format!("{} is not a regular file", other.path())),
            Err(ArchiveError::Absent(_)) => {
                Err(format!("{path} does not exist (Flower creates it)"))
            }
            Err(e) => {
                let why = e.to_string();
                return all(&|s| ProbeResult::unknown(s, why.clone(), &[]));
            }
        };
    let mut facts = vec![match &state {
        Ok(s) => format!("{path}: {s}"),
        Err(why) => why.clone(),
    }];
    if state.is_ok() && !whichdb_knows {
        facts.push("Python's dbm.whichdb cannot tell its type (Flower cannot open it)".into());
    }
    specs
        .iter()
        .zip(expects)
        .map(|(spec, expect)| {
            let holds = match (&state, expect) {
                (Ok(GdbmState::NeedsRecovery { .. }), GdbmExpectation::NeedsRecovery) => true,
                (Ok(GdbmState::BadHeader(_)), GdbmExpectation::BadHeader) => true,
                (Ok(GdbmState::Empty | GdbmState::NotGdbm { .. }), GdbmExpectation::Empty) => true,
                // A numsync file is valid GDBM, but Python's dbm.whichdb cannot name it: Flower
                // fails on it exactly as on an empty file.
                (Ok(GdbmState::Ok), GdbmExpectation::Empty) => !whichdb_knows,
                _ => false,
            };
            let summary = match (&state, holds) {
                (Ok(s), true) => format!("{path}: {s}"),
                (Ok(s), false) => format!("{path} is {}", s.as_str()),
                (Err(why), _) => why.clone(),
            };
            ProbeResult::new(spec, Outcome::of(holds), summary, &facts).with("path", path.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A captured fixture (see fixtures/gdbm/README.md): its head and size.
    fn fixture(name: &str) -> (Vec<u8>, u64) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/gdbm")
            .join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let size = bytes.len() as u64;
        let head = bytes[..bytes.len().min(HEAD_BYTES)].to_vec();
        (head, size)
    }

    fn classify_fixture(name: &str) -> GdbmState {
        let (head, size) = fixture(name);
        classify(&head, size)
    }

    #[test]
    fn a_healthy_shelve_is_ok() {
        assert_eq!(classify_fixture("ok"), GdbmState::Ok);
    }

    #[test]
    fn a_file_grown_past_next_block_needs_recovery() {
        assert_eq!(
            classify_fixture("needs-recovery"),
            GdbmState::NeedsRecovery {
                next_block: 16384,
                size: 20480
            }
        );
    }

    #[test]
    fn numsync_files_are_read_with_their_own_layout() {
        assert_eq!(classify_fixture("numsync"), GdbmState::Ok);
        assert_eq!(
            classify_fixture("numsync-needs-recovery"),
            GdbmState::NeedsRecovery {
                next_block: 16384,
                size: 20480
            }
        );
        // gdbm opens them, Python's whichdb does not know the magic.
        assert!(!python_whichdb_recognises(&fixture("numsync").0));
        assert!(python_whichdb_recognises(&fixture("ok").0));
    }

    #[test]
    fn a_cut_file_has_a_bad_header() {
        let state = classify_fixture("bad-header");
        let GdbmState::BadHeader(why) = &state else {
            panic!("expected a bad header, got {state:?}");
        };
        assert!(
            why.starts_with("Malformed database file header"),
            "gdbm's own words first: {why}"
        );
    }

    #[test]
    fn empty_and_text_files() {
        assert_eq!(classify_fixture("empty"), GdbmState::Empty);
        assert_eq!(
            classify_fixture("text"),
            GdbmState::NotGdbm { magic: *b"this" }
        );
        assert_eq!(
            classify(b"ab", 2),
            GdbmState::NotGdbm {
                magic: [b'a', b'b', 0, 0]
            }
        );
    }

    /// The `ok` fixture with one field overwritten.
    fn patched(at: usize, bytes: &[u8]) -> (Vec<u8>, u64) {
        let (mut head, size) = fixture("ok");
        head[at..at + bytes.len()].copy_from_slice(bytes);
        (head, size)
    }

    fn bad_header_text(head: &[u8], size: u64) -> String {
        match classify(head, size) {
            GdbmState::BadHeader(why) => why,
            other => panic!("expected a bad header, got {other:?}"),
        }
    }

    #[test]
    fn each_header_field_is_checked() {
        let cases: [(usize, &[u8], &str); 6] = [
            (4, &16i32.to_le_bytes(), "Block size error"),
            (
                8,
                &0i64.to_le_bytes(),
                "Malformed database file header: the hash directory",
            ),
            (
                16,
                &64i32.to_le_bytes(),
                "Malformed database file header: dir_size",
            ),
            (
                20,
                &8i32.to_le_bytes(),
                "Malformed database file header: dir_bits",
            ),
            (
                28,
                &165i32.to_le_bytes(),
                "Malformed database file header: bucket_elems",
            ),
            (
                40,
                &100i32.to_le_bytes(),
                "Malformed database file header: the avail table",
            ),
        ];
        for (at, bytes, want) in cases {
            let (head, size) = patched(at, bytes);
            let why = bad_header_text(&head, size);
            assert!(why.starts_with(want), "field at {at}: {why}");
        }
    }

    #[test]
    fn the_avail_block_is_checked() {
        // count above the table size
        let (head, size) = patched(44, &300i32.to_le_bytes());
        assert!(bad_header_text(&head, size).starts_with("Malformed avail_block"));
        // one free block past next_block (16384)
        let (mut head, size) = patched(44, &1i32.to_le_bytes());
        head[56..60].copy_from_slice(&4096i32.to_le_bytes());
        head[64..72].copy_from_slice(&16384i64.to_le_bytes());
        assert!(bad_header_text(&head, size).contains("free block 0"));
        // the same block inside the data area is fine
        head[64..72].copy_from_slice(&8192i64.to_le_bytes());
        assert_eq!(classify(&head, size), GdbmState::Ok);
    }

    #[test]
    fn a_bad_header_wins_over_needs_recovery() {
        // As in gdbm: next_block < size, but the directory lies outside the file.
        let (head, _) = fixture("needs-recovery");
        let why = bad_header_text(&head, 8000);
        assert!(why.starts_with("Malformed database file header"), "{why}");
    }

    #[test]
    fn foreign_magics_are_refused_with_gdbm_words() {
        for magic in [0x1357_9acfu32.swap_bytes(), 0x1357_9ad1u32.swap_bytes()] {
            let (head, size) = patched(0, &magic.to_le_bytes());
            assert!(bad_header_text(&head, size).starts_with("Byte-swapped file"));
        }
        for magic in [MAGIC32, NUMSYNC_MAGIC32] {
            let (head, size) = patched(0, &magic.to_le_bytes());
            assert!(bad_header_text(&head, size).starts_with("File header assumes wrong off_t"));
        }
        // The original magic is read with the native layout.
        let (head, size) = patched(0, &OMAGIC.to_le_bytes());
        assert_eq!(classify(&head, size), GdbmState::Ok);
    }

    #[test]
    fn short_files_and_short_heads() {
        let (head, _) = fixture("ok");
        assert!(bad_header_text(&head[..30], 30).starts_with("Unexpected end of file"));
        assert!(bad_header_text(&head[..30], 16384).starts_with("only 30 bytes"));
        // Cut inside the data area: next_block past the end is what old gdbm versions left
        // behind, so gdbm accepts the header (and fails later, on a missing bucket). The header
        // cannot tell; the doctor says "ok" like gdbm's open does.
        assert_eq!(classify(&head, 12289), GdbmState::Ok);
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn e(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn flower_db_from_argv() {
        let argv = s(&[
            "celery",
            "-A",
            "tasks",
            "flower",
            "--port=5555",
            "--persistent=True",
            "--db=/data/flower.db",
        ]);
        assert_eq!(
            flower_db_path(&argv, &[], "/app").as_deref(),
            Some("/data/flower.db")
        );
        let argv = s(&["celery", "flower", "--persistent", "--db", "state/flower"]);
        assert_eq!(
            flower_db_path(&argv, &[], "/app").as_deref(),
            Some("/app/state/flower")
        );
    }

    #[test]
    fn flower_db_default_and_env() {
        let argv = s(&["celery", "-A", "tasks", "flower", "--persistent=True"]);
        assert_eq!(
            flower_db_path(&argv, &[], "").as_deref(),
            Some("/flower"),
            "default name, relative to / when no working dir"
        );
        let env = e(&[("FLOWER_DB", "/data/flower")]);
        assert_eq!(
            flower_db_path(&argv, &env, "/app").as_deref(),
            Some("/data/flower")
        );
        let argv = s(&["celery", "flower"]);
        let env = e(&[("FLOWER_PERSISTENT", "yes"), ("FLOWER_DB", "db/flower")]);
        assert_eq!(
            flower_db_path(&argv, &env, "/srv").as_deref(),
            Some("/srv/db/flower")
        );
    }

    #[test]
    fn flower_without_persistence_keeps_no_file() {
        let argv = s(&["celery", "flower", "--db=/data/flower.db"]);
        assert_eq!(flower_db_path(&argv, &[], "/app"), None);
        let argv = s(&["celery", "flower", "--persistent=False", "--db=/x"]);
        assert_eq!(flower_db_path(&argv, &[], "/app"), None);
        // The command line wins over the environment.
        let env = e(&[("FLOWER_PERSISTENT", "true")]);
        assert_eq!(flower_db_path(&argv, &env, "/app"), None);
        let env = e(&[("FLOWER_PERSISTENT", "false")]);
        assert_eq!(flower_db_path(&s(&["celery", "flower"]), &env, "/"), None);
    }

    #[test]
    fn flower_db_through_a_shell_and_workdir() {
        let argv = s(&[
            "sh",
            "-c",
            "sleep 2 && exec celery --workdir /srv -A tasks flower --persistent=1 \
             --db='state/flower db' --port=5555",
        ]);
        assert_eq!(
            flower_db_path(&argv, &[], "/app").as_deref(),
            Some("/srv/state/flower db")
        );
        // A --db before `flower` belongs to another program.
        let argv = s(&["tool", "--db=/nope", "flower", "--persistent"]);
        assert_eq!(flower_db_path(&argv, &[], "/").as_deref(), Some("/flower"));
    }
}
