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
//! Each input is read bounded (its last [`MAX_INPUT_BYTES`]) and the report says what was read,
//! what each part was recognised as, and how many lines were ignored.
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
use super::snapshot::{ContainerSnapshot, LogLine, LogTail, SNAPSHOT_VERSION, StackSnapshot};
use facts::{Facts, Subject};
use regex::Regex;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::LazyLock;

/// At most this much of each input is read (its end: the most recent lines).
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// The status of a container the text says nothing about.
pub const UNKNOWN_STATUS: &str = "unknown";

/// The service of plain lines when nothing names one.
pub const DEFAULT_SERVICE: &str = "app";

/// What `--logs` reads, for error messages and help.
pub const KINDS_HELP: &str = "--logs reads, in any mix: `docker compose logs` transcripts, \
`docker compose up` output (with the daemon's errors), `docker inspect` JSON (whole, or its State \
or Health), `docker events` lines, kernel OOM-killer lines (dmesg, journalctl -k), `docker \
compose ps` / `docker ps` tables, and plain logs (name their service with SERVICE=FILE). A \
snapshot bundle (.tar.gz) goes to --from.";

/// One input, read bounded: its text (the end, when it was too large) and its whole size.
pub struct Bounded {
    pub text: String,
    pub total_bytes: u64,
}

impl Bounded {
    pub fn truncated(&self) -> bool {
        self.total_bytes > self.text.len() as u64
    }
}

/// Read at most [`MAX_INPUT_BYTES`] of `r`, keeping the end (from a line start); bytes that are
/// not UTF-8 are replaced.
pub fn read_bounded(mut r: impl Read) -> std::io::Result<Bounded> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    let mut dropped = false;
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 2 * MAX_INPUT_BYTES {
            buf.drain(..buf.len() - MAX_INPUT_BYTES);
            dropped = true;
        }
    }
    if buf.len() > MAX_INPUT_BYTES {
        buf.drain(..buf.len() - MAX_INPUT_BYTES);
        dropped = true;
    }
    if dropped {
        // The cut may have landed mid-line: drop the partial first line.
        let nl = buf.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        buf.drain(..nl);
    }
    Ok(Bounded {
        text: String::from_utf8_lossy(&buf).into_owned(),
        total_bytes: total,
    })
}

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
    /// Less than `bytes` when the input was too large: its end was read.
    pub bytes_read: u64,
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

impl Pasted {
    /// Make the overview show only what the text told (no `restarts 0` the text never said),
    /// and attach the input summary.
    pub fn apply(&self, d: &mut crate::engine::Diagnosis) {
        for s in &mut d.services {
            let k = self.known.get(&s.name).copied().unwrap_or_default();
            if !k.status {
                s.state = UNKNOWN_STATUS.into();
            }
            if !k.exit_code {
                s.exit_code = None;
            }
            if !k.restarts {
                s.restarts = None;
            }
            if !k.health {
                s.health = None;
            }
        }
        d.input = Some(self.input.clone());
    }
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
    bytes_read: u64,
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

/// The cursor of one input, and the readers' state.
struct Pass<'t> {
    text: &'t str,
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

impl<'t> Pass<'t> {
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

    /// Read one input, given as `source` (a path, or `stdin`), for `service` when the spec named
    /// one (`SERVICE=FILE`).
    pub fn read(
        &mut self,
        source: &str,
        service: Option<&str>,
        input: &Bounded,
    ) -> Result<(), PasteError> {
        if looks_binary(&input.text) {
            return Err(PasteError {
                input: source.to_owned(),
                reason: "it is not text (binary data)".into(),
            });
        }
        let mut tally = Tally {
            source: source.to_owned(),
            service: service.map(String::from),
            bytes: input.total_bytes,
            bytes_read: input.text.len() as u64,
            kinds: BTreeMap::new(),
            ignored: 0,
        };
        let mut pass = Pass {
            text: &input.text,
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
        self.pass(&mut pass, &mut tally);
        if tally.kinds.is_empty() {
            return Err(PasteError {
                input: source.to_owned(),
                reason: if tally.ignored == 0 {
                    "it holds no lines".into()
                } else {
                    format!("none of its {} line(s) was recognised", tally.ignored)
                },
            });
        }
        self.tallies.push(tally);
        Ok(())
    }

    /// One pass over the lines. A JSON block that turns out not to be JSON is read again from
    /// its first line, as lines of other kinds; lines inside it never open a block again, so no
    /// line is read more than twice.
    fn pass(&mut self, p: &mut Pass, tally: &mut Tally) {
        let text = p.text;
        let mut pos = 0;
        let mut no_json_before = 0;
        let mut block: Option<(json::Block, usize)> = None;
        loop {
            if pos >= text.len() {
                if let Some((b, start)) = block.take() {
                    let body = b.finish();
                    if !self.take_json(&body, &text[start..], p, tally) {
                        no_json_before = text.len();
                        pos = start;
                        continue;
                    }
                }
                break;
            }
            let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
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
            self.line(&line, p, tally);
            pos = next;
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
    paste.read(
        service.unwrap_or("text"),
        service,
        &Bounded {
            text: text.to_owned(),
            total_bytes: text.len() as u64,
        },
    )?;
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
    let what = if t.bytes_read < t.bytes {
        format!(
            "read the last {} of {} of {}",
            size(t.bytes_read),
            size(t.bytes),
            t.source
        )
    } else {
        format!("read {}", t.source)
    };
    let mut summary = format!("{what}: {}", parts.join(", "));
    if t.ignored > 0 {
        summary.push_str(&format!("; ignored {}", plural(t.ignored, "line")));
    }
    SourceSummary {
        source: t.source.clone(),
        service: t.service.clone(),
        bytes: t.bytes,
        bytes_read: t.bytes_read,
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
            "read text: ps table (2 rows), docker inspect JSON (web: State), docker events (1 line, \
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
    fn reading_keeps_the_end_and_replaces_bad_bytes() {
        let mut data = vec![b'a'; MAX_INPUT_BYTES + 10];
        data.extend_from_slice(b"\ncaf\xe9 end\n");
        let b = read_bounded(&data[..]).unwrap();
        assert!(b.truncated());
        assert_eq!(b.total_bytes, data.len() as u64);
        assert_eq!(b.text, "caf\u{fffd} end\n");
    }
}
