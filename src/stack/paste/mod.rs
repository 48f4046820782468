//! Diagnosing from pasted output: whatever people paste into a ticket, turned into the same
//! [`StackSnapshot`] a live collection makes, so the same rules fire on the same facts.
//!
//! The stack that printed the text is gone or out of reach; the text is all there is, and it is
//! of every kind at once: a compose logs transcript, `docker compose up` with the daemon's own
//! errors, `docker inspect` JSON trimmed to `State`, `docker events`, the kernel's OOM-killer
//! lines, a `ps` table, a plain log with no prefix. [`Paste::read`] recognises and splits them in
//! one pass over the lines, each kind behind a small reader of its own (one module per kind, each
//! with its negatives: a log line holding a `|` or a `{` stays a log line). A line no reader
//! takes continues a transcript line a terminal wrapped, or is plain log of the service the input
//! was given for (`SERVICE=FILE`), of the container a preceding `$ docker logs NAME` names, or
//! of `app`. Readers record facts under the names the text uses; [`facts`] decides at the end
//! which names are one container.
//!
//! Only what the text tells is known: a service seen only in logs has the status `unknown` and
//! no exit code, and [`Pasted::apply`] makes the report say so rather than show a made-up `0`.
//! Each input is read whole, once, in chunks, whatever its size: memory stays bounded because
//! only what the rules need is kept (each container's tail, the lines a rule matches from before
//! it: see [`Paste::keep`], the facts the readers took), and the report says how much was read
//! (bytes, lines), what each part was recognised as, and how many lines were ignored.
mod compose_up;
mod events;
mod facts;
mod inspect;
mod json;
mod kernel;
mod ps;
mod transcript;

pub use compose_up::COMPOSE_SERVICE;
pub use facts::Known;

use super::collect::LogLimits;
use super::logs::Keep;
use super::snapshot::{ContainerSnapshot, LogLine, LogTail, SNAPSHOT_VERSION, StackSnapshot};
use facts::{Facts, Subject};
use regex::Regex;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::LazyLock;
use std::sync::mpsc::{Receiver, SyncSender};

/// Inputs are read in chunks of this size: memory does not grow with the input.
const CHUNK_BYTES: usize = 256 * 1024;
/// A line longer than this is cut (the rest of it is skipped, not held).
const MAX_LINE_BYTES: usize = 1 << 20;
/// Where a line is cut.
const CUT_LINE_BYTES: usize = 64 * 1024;
/// The first bytes of an input, read before anything else, to refuse binary data.
const HEAD_BYTES: usize = 64 * 1024;

/// The status of a container the text says nothing about.
pub const UNKNOWN_STATUS: &str = "unknown";

/// The service of plain lines when nothing names one.
pub const DEFAULT_SERVICE: &str = "app";

/// What a part of an input was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ComposeLogs,
    ComposeUp,
    Ps,
    Inspect,
    Events,
    Kernel,
    Plain,
}

/// One kind found in an input.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Recognised {
    pub kind: Kind,
    pub lines: usize,
    /// `5 services`, `web: State, Health`, `1 kill → worker`.
    pub detail: String,
}

/// What was read from one input (`--logs` spec).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceSummary {
    /// The file as given, or `stdin`.
    pub source: String,
    /// The service of `SERVICE=FILE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub bytes: u64,
    /// Always `bytes`: every input is read whole.
    pub bytes_read: u64,
    /// Lines read.
    pub lines: u64,
    pub recognised: Vec<Recognised>,
    pub ignored_lines: usize,
    /// The same in one sentence, as the table report prints it.
    pub summary: String,
}

/// What the inputs of a diagnosis were, when it was made from pasted text (`check --logs`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct InputSummary {
    pub sources: Vec<SourceSummary>,
}

/// Pasted input that cannot be diagnosed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteError {
    pub input: String,
    pub reason: String,
}

/// The facts of a diagnosis from pasted text, and what the report may claim about them.
pub struct Pasted {
    pub snapshot: StackSnapshot,
    pub input: InputSummary,
    /// Per service, which state fields the text told.
    pub known: BTreeMap<String, Known>,
}

#[derive(Default)]
struct KindTally {
    lines: usize,
    subjects: BTreeSet<usize>,
    rows: usize,
    kills: Vec<usize>,
    parts: Vec<(usize, BTreeSet<&'static str>)>,
}

struct Tally {
    source: String,
    service: Option<String>,
    bytes: u64,
    lines: u64,
    kinds: BTreeMap<Kind, KindTally>,
    ignored: usize,
}

impl Tally {
    fn add(&mut self, kind: Kind, lines: usize, subject: Option<usize>) -> &mut KindTally {
        let t = self.kinds.entry(kind).or_default();
        t.lines += lines;
        if let Some(s) = subject
            && t.subjects.last() != Some(&s)
        {
            t.subjects.insert(s);
        }
        t
    }
}

/// The reader of pasted inputs: [`Paste::read`] each, then [`Paste::finish`].
pub struct Paste {
    facts: Facts,
    tallies: Vec<Tally>,
}

static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("ANSI pattern"));
/// A shell command line in a paste (`$ docker logs analylit_web`, `user@host:~$ docker compose
/// ps`, `PS C:\app> docker inspect web`): it says what the lines after it are.
static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:PS [^>]*> ?|[^\s$#>%]*[$#>%] ?)?(?:sudo )?(?P<tool>docker-compose|docker compose|docker|dmesg|journalctl|kubectl)(?: (?P<args>.*))?$")
        .expect("command pattern")
});
/// Flags of docker and compose that take a value, before the subcommand and after it.
const GLOBAL_VALUE_FLAGS: &[&str] = &[
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--env-file",
    "--profile",
    "-H",
    "--host",
    "--context",
    "--project-directory",
    "-c",
    "--config",
];
const VALUE_FLAGS: &[&str] = &["--format", "-n", "--tail", "--since", "--until", "--filter"];

/// What a command line says the following lines are about: `Some(subject)` for one container
/// or service, `None` for anything else.
fn command_hint(line: &str) -> Option<Option<Subject>> {
    if !["docker", "dmesg", "journalctl", "kubectl"]
        .iter()
        .any(|w| line.contains(w))
    {
        return None;
    }
    let caps = COMMAND.captures(line.trim())?;
    let tool = &caps["tool"];
    let args = shell_words(caps.name("args").map_or("", |m| m.as_str()));
    // A prose line that merely starts with "docker" is not a command: it names a subcommand.
    let mut words = Vec::new();
    let mut skip = false;
    for a in &args {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with('-') {
            skip = match words
                .iter()
                .find(|w| **w != "compose" && **w != "container")
            {
                None => GLOBAL_VALUE_FLAGS.contains(&a.as_str()),
                // `logs -f` follows; `inspect -f` / `ps -f` take a format or a filter.
                Some(&sub) => VALUE_FLAGS.contains(&a.as_str()) || (a == "-f" && sub != "logs"),
            };
            continue;
        }
        words.push(a.as_str());
    }
    let compose = tool != "docker" || words.first() == Some(&"compose");
    if tool == "docker" && words.first() == Some(&"compose") {
        words.remove(0);
    }
    if words.first() == Some(&"container") {
        words.remove(0);
    }
    let known = [
        "logs", "inspect", "ps", "events", "up", "start", "restart", "run", "exec", "top",
        "config", "stats", "version", "info",
    ];
    if tool.starts_with("docker") && !words.first().is_some_and(|w| known.contains(w)) {
        return None;
    }
    let subject = match (words.first().copied(), &words[1.min(words.len())..]) {
        (Some("logs"), [one]) if compose => Some(Subject::service(one)),
        (Some("logs" | "inspect"), [one]) if !compose => {
            let hex = one.len() >= 12 && one.chars().all(|c| c.is_ascii_hexdigit());
            Some(if hex {
                Subject::id(one)
            } else {
                Subject::name(one)
            })
        }
        _ => None,
    };
    Some(subject)
}

/// Words of a shell line, quotes removed (`-f '{{json .State}}'` is two words).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// A line as a reader sees it: colours stripped, no `\r`.
fn clean(raw: &str) -> Cow<'_, str> {
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    if raw.contains('\x1b') {
        Cow::Owned(ANSI.replace_all(raw, "").into_owned())
    } else {
        Cow::Borrowed(raw)
    }
}

/// Not text: NUL bytes, or many bytes that were not UTF-8 (a gzip file, a bundle).
fn looks_binary(text: &str) -> bool {
    let head: String = text.chars().take(64 * 1024).collect();
    let bad = head.chars().filter(|&c| c == '\u{fffd}').count();
    head.contains('\0') || bad * 20 > head.chars().count().max(1)
}

/// Complete lines of an input, as text, and where the prefilter found the rules' literals in
/// them (`None`: it could not tell, every line may be kept).
struct Segment {
    text: String,
    hits: Option<Vec<usize>>,
    /// The input ends with it.
    last: bool,
}

/// The reading stage of [`Paste::read`]: `input` whole, in chunks of [`CHUNK_BYTES`], as
/// segments of complete lines sent to the line reader. Refuses binary data (before anything is
/// sent). Returns the bytes and lines read and the last byte.
fn read_segments(
    source: &str,
    input: &mut impl Read,
    keep: Option<&dyn super::logs::KeepLines>,
    send: &SyncSender<Segment>,
) -> std::io::Result<Result<(u64, u64, u8), PasteError>> {
    let mut chunk = vec![0u8; CHUNK_BYTES];
    // Bytes after the last line end.
    let mut pending: Vec<u8> = Vec::new();
    let (mut bytes, mut lines) = (0u64, 0u64);
    let mut checked = false;
    let mut skipping = false;
    let mut last_byte = b'\n';
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let eof = n == 0;
        let mut data = &chunk[..n];
        bytes += n as u64;
        lines += memchr::memchr_iter(b'\n', data).count() as u64;
        if let Some(&b) = data.last() {
            last_byte = b;
        }
        if skipping {
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    data = &data[i + 1..];
                    skipping = false;
                }
                None => data = &[],
            }
        }
        pending.extend_from_slice(data);
        let line_start = memchr::memrchr(b'\n', &pending).map_or(0, |i| i + 1);
        if pending.len() - line_start > MAX_LINE_BYTES {
            pending.truncate(line_start + CUT_LINE_BYTES);
            pending.extend_from_slice(" …[line cut]".as_bytes());
            skipping = true;
        }
        if !checked {
            if pending.len() < HEAD_BYTES && !eof {
                continue;
            }
            checked = true;
            let head = String::from_utf8_lossy(&pending[..pending.len().min(HEAD_BYTES)]);
            if looks_binary(&head) {
                return Ok(Err(PasteError {
                    input: source.to_owned(),
                    reason: "it is not text (binary data)".into(),
                }));
            }
        }
        let complete = if eof || skipping {
            pending.len()
        } else {
            memchr::memrchr(b'\n', &pending).map_or(0, |i| i + 1)
        };
        let mut text = String::from_utf8_lossy(&pending[..complete]).into_owned();
        if skipping && !text.ends_with('\n') {
            text.push('\n');
        }
        pending.drain(..complete);
        let hits = keep.and_then(|k| {
            let mut hits = Vec::new();
            k.may_keep(&text, &mut hits).then_some(hits)
        });
        let segment = Segment {
            text,
            hits,
            last: eof,
        };
        // The line reader stops only at the last segment.
        if send.send(segment).is_err() || eof {
            break;
        }
    }
    Ok(Ok((bytes, lines, last_byte)))
}

/// The cursor of one input, and the readers' state.
struct Pass {
    given: Option<String>,
    default: Subject,
    hint: Option<Subject>,
    /// The subject index of plain lines, while the hint stays.
    plain: Option<usize>,
    transcript: transcript::Reader,
    compose: compose_up::Reader,
    kernel: kernel::Reader,
    ps: ps::Reader,
}

impl Pass {
    /// Who plain lines and nameless JSON are about.
    fn subject(&self) -> &Subject {
        self.hint.as_ref().unwrap_or(&self.default)
    }
}

impl Paste {
    pub fn new(limits: LogLimits) -> Self {
        Paste {
            facts: Facts::new(limits),
            tallies: vec![],
        }
    }

    /// Keep, from before each container's tail, the lines `keep` selects (those a rule
    /// matches): a log longer than the tail still shows where its failure started.
    pub fn keep(&mut self, keep: Keep) {
        self.facts.keep(keep);
    }

    /// Read one input, given as `source` (a path, or `stdin`), for `service` when the spec named
    /// one (`SERVICE=FILE`): whole, once, in chunks of [`CHUNK_BYTES`], whatever its size.
    /// Bytes that are not UTF-8 are replaced; a line longer than [`MAX_LINE_BYTES`] is cut.
    pub fn read(
        &mut self,
        source: &str,
        service: Option<&str>,
        mut input: impl Read + Send,
    ) -> std::io::Result<Result<(), PasteError>> {
        let mut tally = Tally {
            source: source.to_owned(),
            service: service.map(String::from),
            bytes: 0,
            lines: 0,
            kinds: BTreeMap::new(),
            ignored: 0,
        };
        let mut pass = Pass {
            given: service.map(String::from),
            default: match service {
                Some(s) => Subject::service(s),
                None => Subject::fallback(DEFAULT_SERVICE),
            },
            hint: None,
            plain: None,
            transcript: Default::default(),
            compose: Default::default(),
            kernel: Default::default(),
            ps: Default::default(),
        };
        // Two stages, one thread each: a reader reads, checks, converts the bytes to text and
        // runs the prefilter over each chunk; this thread reads the text line by line (and
        // holds what is kept). The prefilter (one automaton over every byte) then costs no time
        // of the line reader's.
        let keep = self.facts.keep_filter().cloned();
        let (send, receive) = std::sync::mpsc::sync_channel::<Segment>(1);
        let read = std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("paste reader".into())
                .spawn_scoped(scope, move || {
                    read_segments(source, &mut input, keep.as_deref(), &send)
                })?;
            // Ends when the segments do: the last one, or the reader stopped.
            self.lines(receive, &mut pass, &mut tally);
            match reader.join() {
                Ok(read) => read,
                // A panic there is a bug: passed on.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        let (bytes, lines, last_byte) = match read? {
            Ok(counts) => counts,
            Err(e) => return Ok(Err(e)),
        };
        tally.bytes = bytes;
        tally.lines = lines;
        if last_byte != b'\n' {
            tally.lines += 1;
        }
        if tally.kinds.is_empty() {
            return Ok(Err(PasteError {
                input: source.to_owned(),
                reason: if tally.ignored == 0 {
                    "it holds no lines".into()
                } else {
                    format!("none of its {} line(s) was recognised", tally.ignored)
                },
            }));
        }
        self.tallies.push(tally);
        Ok(Ok(()))
    }

    /// One pass over the complete lines of `text`. A JSON block that turns out not to be JSON
    /// is read again from its first line, as lines of other kinds; lines inside it never open a
    /// block again, so no line is read more than twice. Returns how much of `text` was taken:
    /// all of it, or (when more input follows, `!last`) up to a JSON block still open, read
    /// again with the next chunk.
    fn pass(
        &mut self,
        text: &str,
        hits: Option<&[usize]>,
        last: bool,
        p: &mut Pass,
        tally: &mut Tally,
    ) -> usize {
        let mut pos = 0;
        let mut no_json_before = 0;
        let mut block: Option<(json::Block, usize)> = None;
        // Where the rules' literals are in `text` (the prefilter's pass over it): a line holding
        // none is logged as one no rule keeps, and is not scanned again when it leaves the tail.
        let prefiltered = hits.is_some();
        let hits = hits.unwrap_or_default();
        let mut hit: usize = 0;
        let taken = loop {
            if pos >= text.len() && !last {
                break block.map_or(text.len(), |(_, start)| start);
            }
            if pos >= text.len() {
                if let Some((b, start)) = block.take() {
                    let body = b.finish();
                    if !self.take_json(&body, &text[start..], p, tally) {
                        no_json_before = text.len();
                        pos = start;
                        continue;
                    }
                }
                break text.len();
            }
            let end =
                memchr::memchr(b'\n', &text.as_bytes()[pos..]).map_or(text.len(), |i| pos + i);
            let next = (end + 1).min(text.len().max(end + 1));
            let line = clean(&text[pos..end]);
            if let Some((b, start)) = block.as_mut() {
                let start = *start;
                match b.feed(&line) {
                    json::Feed::More => {
                        pos = next;
                        continue;
                    }
                    json::Feed::Done(body) => {
                        block = None;
                        if self.take_json(&body, &text[start..next.min(text.len())], p, tally) {
                            pos = next;
                        } else {
                            no_json_before = next;
                            pos = start;
                        }
                        continue;
                    }
                    json::Feed::DoneBefore(body) => {
                        block = None;
                        if !self.take_json(&body, &text[start..pos], p, tally) {
                            no_json_before = pos;
                            pos = start;
                            continue;
                        }
                    }
                    json::Feed::NotJson => {
                        block = None;
                        no_json_before = pos;
                        pos = start;
                        continue;
                    }
                }
            }
            if pos >= no_json_before && !p.ps.in_table() && json::opens(&line) {
                let (b, first) = json::Block::open(&line).expect("opens");
                match first {
                    json::Feed::More => {
                        block = Some((b, pos));
                        pos = next;
                        continue;
                    }
                    json::Feed::Done(body) | json::Feed::DoneBefore(body) => {
                        if self.take_json(&body, &text[pos..next.min(text.len())], p, tally) {
                            pos = next;
                            continue;
                        }
                    }
                    json::Feed::NotJson => {}
                }
                // Not JSON after all: an ordinary line.
            }
            if prefiltered {
                // Lines are read again from a JSON block's start: the cursor goes back too.
                if hits.get(hit.wrapping_sub(1)).is_some_and(|&h| h >= pos) {
                    hit = hits.partition_point(|&h| h < pos);
                }
                while hits.get(hit).is_some_and(|&h| h < pos) {
                    hit += 1;
                }
                // A line whose colours were stripped may join a literal the raw text split.
                let may = hits.get(hit).is_some_and(|&h| h < end) || matches!(line, Cow::Owned(_));
                self.facts.line_may_keep(may);
            }
            self.line(&line, p, tally);
            pos = next;
        };
        self.facts.line_may_keep(true);
        taken
    }

    /// The line reader's stage of [`Paste::read`]: the segments of text, in order, through
    /// [`Paste::pass`]. Lines of an open JSON block wait for the next segment (with their
    /// prefilter offsets).
    fn lines(&mut self, segments: Receiver<Segment>, p: &mut Pass, tally: &mut Tally) {
        let mut text = String::new();
        let mut hits: Vec<usize> = Vec::new();
        let mut prefiltered = true;
        for segment in segments {
            let base = text.len();
            text.push_str(&segment.text);
            match segment.hits {
                Some(h) => hits.extend(h.into_iter().map(|o| o + base)),
                None => prefiltered = false,
            }
            let taken = self.pass(
                &text,
                prefiltered.then_some(&hits[..]),
                segment.last,
                p,
                tally,
            );
            text.drain(..taken);
            let gone = hits.partition_point(|&h| h < taken);
            hits.drain(..gone);
            for h in &mut hits {
                *h -= taken;
            }
            if segment.last {
                break;
            }
        }
    }

    /// A JSON value the paste held (`raw` is its text in the paste, for counting lines).
    fn take_json(&mut self, body: &str, raw: &str, p: &mut Pass, tally: &mut Tally) -> bool {
        let Some(v) = json::parse_relaxed(body) else {
            return false;
        };
        let lines = body.lines().count().min(raw.lines().count()).max(1);
        if let serde_json::Value::Object(o) = &v
            && let Some(subject) = events::read_json(o, &mut self.facts)
        {
            p.transcript.interrupt();
            tally.add(Kind::Events, lines, subject);
            return true;
        }
        let Some(parts) = inspect::read(&v, p.subject(), &mut self.facts) else {
            return false;
        };
        p.transcript.interrupt();
        let t = tally.add(Kind::Inspect, lines, None);
        for (i, set) in parts {
            t.subjects.insert(i);
            t.parts.push((i, set));
        }
        true
    }

    /// One line that is not inside a JSON block.
    fn line(&mut self, line: &str, p: &mut Pass, tally: &mut Tally) {
        let facts = &mut self.facts;
        if line.trim().is_empty() {
            p.transcript.interrupt();
            return;
        }
        if p.ps.in_table()
            && let Some(took) = p.ps.take(line, facts)
        {
            let row = matches!(took, ps::Took::Row(_));
            let subject = match took {
                ps::Took::Row(s) => s,
                ps::Took::Header => None,
            };
            tally.add(Kind::Ps, 1, subject).rows += usize::from(row);
            return;
        }
        if let Some(subject) = p.transcript.take(line, facts) {
            tally.add(Kind::ComposeLogs, 1, subject);
            return;
        }
        if let Some(took) = p
            .compose
            .take(line, p.hint.as_ref().unwrap_or(&p.default), facts)
        {
            p.transcript.interrupt();
            match took {
                compose_up::Took::Fact(s) => tally.add(Kind::ComposeUp, 1, s),
                compose_up::Took::Progress => tally.add(Kind::ComposeUp, 1, None),
                compose_up::Took::Attaching => tally.add(Kind::ComposeLogs, 1, None),
            };
            return;
        }
        if let Some(subject) = events::read(line, facts) {
            p.transcript.interrupt();
            tally.add(Kind::Events, 1, subject);
            return;
        }
        if let Some(took) = p.kernel.take(line, p.given.as_deref(), facts) {
            p.transcript.interrupt();
            match took {
                kernel::Took::Kill(subject) => {
                    tally.add(Kind::Kernel, 1, subject).kills.extend(subject);
                }
                kernel::Took::Episode => {
                    tally.add(Kind::Kernel, 1, None);
                }
                kernel::Took::Other => tally.ignored += 1,
            }
            return;
        }
        if let Some(took) = p.ps.take(line, facts) {
            p.transcript.interrupt();
            if took == ps::Took::Header {
                tally.add(Kind::Ps, 1, None);
            }
            return;
        }
        if let Some(hint) = command_hint(line) {
            p.transcript.interrupt();
            p.hint = hint;
            p.plain = None;
            tally.ignored += 1;
            return;
        }
        let t = line.trim_start();
        if t.starts_with("```") || t == "#" || t.starts_with("# ") {
            p.transcript.interrupt();
            tally.ignored += 1;
            return;
        }
        if let Some(subject) = p.transcript.continue_line(line, facts) {
            tally.add(Kind::ComposeLogs, 1, subject);
            return;
        }
        // Plain lines come in runs: the subject's index is kept for the run.
        let index = match p.plain {
            Some(i) => Some(i),
            None => facts.of(p.subject()).map(|(i, _)| i),
        };
        p.plain = index;
        match index {
            Some(i) => {
                facts.log_to(i, line);
                tally.add(Kind::Plain, 1, Some(i));
            }
            None => tally.ignored += 1,
        }
    }

    /// Decide which names are one container and build the snapshot. `project` is `-p`, or empty.
    pub fn finish(self, project: &str) -> Pasted {
        let resolved = self.facts.resolve(project);
        let sources = self
            .tallies
            .iter()
            .map(|t| summarise(t, &resolved))
            .collect();
        let snapshot = StackSnapshot {
            snapshot_version: SNAPSHOT_VERSION,
            project: project.to_owned(),
            compose_file: None,
            collected_at: String::new(),
            engine_version: None,
            containers: resolved.containers,
            compose: None,
            compose_error: None,
            backend: Default::default(),
        };
        Pasted {
            snapshot,
            input: InputSummary { sources },
            known: resolved.known,
        }
    }
}

/// Read one text as `check --logs` does: a convenience for tests and tools.
pub fn read_text(text: &str, service: Option<&str>, project: &str) -> Result<Pasted, PasteError> {
    let mut paste = Paste::new(LogLimits::default());
    paste
        .read(service.unwrap_or("text"), service, text.as_bytes())
        .expect("reading memory does not fail")?;
    Ok(paste.finish(project))
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// `1.2 GiB`, `64 MiB`, `512 B`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn summarise(t: &Tally, r: &facts::Resolved) -> SourceSummary {
    let services = |subjects: &mut dyn Iterator<Item = usize>| -> Vec<String> {
        let set: BTreeSet<&str> = subjects.map(|i| r.service_of(i)).collect();
        set.into_iter().map(String::from).collect()
    };
    let mut recognised = Vec::new();
    for (kind, k) in &t.kinds {
        let detail = match kind {
            Kind::ComposeLogs => plural(services(&mut k.subjects.iter().copied()).len(), "service"),
            Kind::ComposeUp => {
                let about = services(&mut k.subjects.iter().copied());
                if about.is_empty() {
                    "progress only".into()
                } else {
                    format!("about {}", about.join(", "))
                }
            }
            Kind::Ps => plural(k.rows, "row"),
            Kind::Inspect => {
                let mut per: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
                for (i, parts) in &k.parts {
                    per.entry(r.service_of(*i).to_owned())
                        .or_default()
                        .extend(parts.iter().copied());
                }
                per.iter()
                    .map(|(s, parts)| {
                        format!(
                            "{s}: {}",
                            parts.iter().copied().collect::<Vec<_>>().join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            Kind::Events => plural(services(&mut k.subjects.iter().copied()).len(), "container"),
            Kind::Kernel => {
                if k.kills.is_empty() {
                    "no kill".into()
                } else {
                    format!(
                        "{} → {}",
                        plural(k.kills.len(), "kill"),
                        services(&mut k.kills.iter().copied()).join(", ")
                    )
                }
            }
            Kind::Plain => format!("→ {}", services(&mut k.subjects.iter().copied()).join(", ")),
        };
        recognised.push(Recognised {
            kind: *kind,
            lines: k.lines,
            detail,
        });
    }
    let parts: Vec<String> = recognised
        .iter()
        .map(|k| {
            let what = match k.kind {
                Kind::ComposeLogs => "compose logs transcript",
                Kind::ComposeUp => "compose up output",
                Kind::Ps => "ps table",
                Kind::Inspect => "docker inspect JSON",
                Kind::Events => "docker events",
                Kind::Kernel => "OOM-killer lines",
                Kind::Plain => "plain log",
            };
            let lines = plural(k.lines, "line");
            match k.kind {
                Kind::Inspect | Kind::Kernel | Kind::Ps => format!("{what} ({})", k.detail),
                Kind::Plain => format!("{what} ({lines} {})", k.detail),
                _ => format!("{what} ({lines}, {})", k.detail),
            }
        })
        .collect();
    let mut summary = format!(
        "read {} ({}, {}): {}",
        t.source,
        size(t.bytes),
        plural(t.lines as usize, "line"),
        parts.join(", ")
    );
    if t.ignored > 0 {
        summary.push_str(&format!("; ignored {}", plural(t.ignored, "line")));
    }
    SourceSummary {
        source: t.source.clone(),
        service: t.service.clone(),
        bytes: t.bytes,
        bytes_read: t.bytes,
        lines: t.lines,
        recognised,
        ignored_lines: t.ignored,
        summary,
    }
}

/// A snapshot of one container per entry of `per_service`, holding its lines and nothing else
/// (the state of each is unknown): for rule tests that give a service's text inline.
pub fn snapshot_from_logs(
    project: &str,
    per_service: BTreeMap<String, Vec<LogLine>>,
) -> StackSnapshot {
    let containers = per_service
        .into_iter()
        .map(|(service, lines)| ContainerSnapshot {
            id: service.clone(),
            name: service.clone(),
            service,
            state: crate::stack::snapshot::ContainerState {
                status: UNKNOWN_STATUS.into(),
                started_at: "0001-01-01T00:00:00Z".into(),
                finished_at: "0001-01-01T00:00:00Z".into(),
                ..Default::default()
            },
            logs: LogTail {
                truncated: false,
                lines,
                elided: 0,
                counted: vec![],
            },
            ..Default::default()
        })
        .collect();
    StackSnapshot {
        snapshot_version: SNAPSHOT_VERSION,
        project: project.to_owned(),
        compose_file: None,
        collected_at: String::new(),
        engine_version: None,
        containers,
        compose: None,
        compose_error: None,
        backend: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, service: Option<&str>) -> Pasted {
        read_text(text, service, "").expect("recognised")
    }

    fn kinds(p: &Pasted) -> Vec<(Kind, usize, String)> {
        p.input.sources[0]
            .recognised
            .iter()
            .map(|r| (r.kind, r.lines, r.detail.clone()))
            .collect()
    }

    #[test]
    fn a_mixed_paste_is_split_by_kind_in_one_pass() {
        let text = "\
$ docker compose ps
NAME            IMAGE     COMMAND             SERVICE   CREATED         STATUS                         PORTS
analylit_web    app       \"./entrypoint.sh\"   web       2 minutes ago   Restarting (3) 5 seconds ago
analylit_db     pg        \"postgres\"          db        2 minutes ago   Up 2 minutes (healthy)         5432/tcp

$ docker logs analylit_web
[2024-05-02 10:00:00 +0000] [8] [ERROR] Exception in worker process
NameError: name 'init_db' is not defined
{\"level\": \"info\", \"msg\": \"a JSON log line\"}
$ docker inspect -f '{{json .State}}' analylit_web
{\"Status\":\"restarting\",\"Running\":true,\"Restarting\":true,\"OOMKilled\":false,\"ExitCode\":3,\"Error\":\"\",\"StartedAt\":\"2024-05-02T10:00:01Z\",\"FinishedAt\":\"2024-05-02T10:00:00Z\"}
```
[ 1261.686781] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,mems_allowed=0,oom_memcg=/docker/38b840705aa2b209212aae99ca2a71f92dcdeaea90ed76bc3f34b004c1cc5c36,task_memcg=/docker/38b840705aa2b209212aae99ca2a71f92dcdeaea90ed76bc3f34b004c1cc5c36,task=python3,pid=15483,uid=0
2024-05-02T10:00:05.000000000Z container die 38b840705aa2b209212aae99ca2a71f92dcdeaea90ed76bc3f34b004c1cc5c36 (com.docker.compose.service=worker, exitCode=137, name=analylit_worker)
```
";
        let p = read(text, None);
        assert_eq!(
            kinds(&p),
            [
                (Kind::Ps, 3, "2 rows".to_owned()),
                (Kind::Inspect, 1, "web: State".to_owned()),
                (Kind::Events, 1, "1 container".to_owned()),
                (Kind::Kernel, 1, "1 kill → worker".to_owned()),
                (Kind::Plain, 3, "→ web".to_owned()),
            ]
        );
        assert_eq!(p.input.sources[0].ignored_lines, 5);
        let s = &p.snapshot;
        assert_eq!(s.services(), ["db", "web", "worker"]);
        let web = &s.containers[1];
        assert_eq!(web.name, "analylit_web");
        assert_eq!(
            web.logs.lines.len(),
            3,
            "the JSON log line stays a log line"
        );
        assert_eq!(
            (web.state.status.as_str(), web.state.exit_code),
            ("restarting", 3)
        );
        let worker = &s.containers[2];
        assert!(worker.oom_killed_recently());
        assert_eq!(worker.telling_exit_code(), Some(137));
        assert_eq!(
            p.input.sources[0].summary,
            "read text (1.2 KiB, 15 lines): ps table (2 rows), docker inspect JSON (web: State), docker events (1 line, \
             1 container), OOM-killer lines (1 kill → worker), plain log (3 lines → web); ignored 5 lines"
        );
    }

    #[test]
    fn plain_logs_belong_to_the_given_service_or_app() {
        let p = read(
            "Traceback (most recent call last):\nNameError: name 'x' is not defined\n",
            None,
        );
        assert_eq!(p.snapshot.services(), ["app"]);
        assert!(!p.known["app"].any());
        let p = read("NameError: name 'x' is not defined\n", Some("web"));
        assert_eq!(p.snapshot.services(), ["web"]);
        assert_eq!(p.snapshot.containers[0].state.status, UNKNOWN_STATUS);
        assert_eq!(p.snapshot.containers[0].telling_exit_code(), None);
    }

    #[test]
    fn garbage_is_refused_with_what_is_read() {
        for (text, why) in [
            ("", "no lines"),
            ("\n\n  \n", "no lines"),
            ("# a comment\n```\n", "none of its 2 line(s)"),
            ("\u{1f}\u{8b}\u{8}\0\0\0binary", "not text"),
        ] {
            let e = read_text(text, None, "")
                .err()
                .unwrap_or_else(|| panic!("{text:?} accepted"));
            assert!(e.reason.contains(why), "{text:?}: {}", e.reason);
        }
    }

    #[test]
    fn commands_say_who_the_next_lines_are_about() {
        assert_eq!(
            command_hint("$ docker logs --tail 50 analylit_web"),
            Some(Some(Subject::name("analylit_web")))
        );
        assert_eq!(
            command_hint("user@host:~/app$ docker compose logs -f web"),
            Some(Some(Subject::service("web")))
        );
        assert_eq!(
            command_hint("PS C:\\app> docker-compose logs worker"),
            Some(Some(Subject::service("worker")))
        );
        assert_eq!(
            command_hint("# docker inspect 3f2a4b5c6d7e"),
            Some(Some(Subject::id("3f2a4b5c6d7e")))
        );
        assert_eq!(command_hint("$ docker compose ps"), Some(None));
        assert_eq!(command_hint("docker: Error response from daemon: x"), None);
        assert_eq!(command_hint("docker is a container runtime"), None);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size(64 * 1024 * 1024), "64 MiB");
        assert_eq!(size(1_288_490_189), "1.2 GiB");
        assert_eq!(size(512), "512 B");
    }

    #[test]
    fn a_large_input_is_read_whole_in_chunks_and_bad_bytes_are_replaced() {
        // More than a chunk, a JSON block across a chunk boundary, a cut line, bad bytes.
        let mut data = Vec::new();
        let filler = format!("{}\n", "x".repeat(999));
        while data.len() < CHUNK_BYTES - 40 {
            data.extend_from_slice(filler.as_bytes());
        }
        data.extend_from_slice(
            b"$ docker inspect -f '{{json .State}}' analylit_web\n{\"Status\": \"exited\",\n",
        );
        data.extend_from_slice(b" \"ExitCode\": 3}\n");
        data.extend(std::iter::repeat_n(b'y', 2 * MAX_LINE_BYTES));
        data.extend_from_slice(b"\ncaf\xe9 end");
        let mut paste = Paste::new(LogLimits::default());
        paste.read("big", None, &data[..]).unwrap().unwrap();
        let p = paste.finish("");
        let s = &p.input.sources[0];
        assert_eq!(s.bytes, data.len() as u64);
        let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        assert_eq!(s.lines, lines);
        let web = p
            .snapshot
            .containers
            .iter()
            .find(|c| c.name == "analylit_web")
            .expect("web");
        assert_eq!(web.state.exit_code, 3, "the block across chunks is JSON");
        let last = &web.logs.lines;
        assert_eq!(last.last().unwrap().text, "caf\u{fffd} end");
        let cut = &last[last.len() - 2].text;
        assert!(
            cut.len() < CUT_LINE_BYTES + 100 && cut.ends_with("[line cut]"),
            "{}",
            cut.len()
        );
    }
}
