//! Turning the engine's log frames into a bounded tail of lines.
//!
//! Frames are not lines: one frame may hold several lines or half of one. Each stream keeps its
//! own partial line. Memory is bounded whatever the container printed: at most `max_lines` lines
//! and `max_bytes` bytes are kept (the oldest are dropped first), and a single line longer than
//! [`MAX_LINE_BYTES`] is cut. Bytes that are not UTF-8 are replaced, never fatal.
//!
//! The tail is one buffer of bytes and a queue of (offset, length) entries into it, not a
//! `String` per line: a line costs a copy into the buffer and no allocation, and dropping the
//! oldest line moves an offset. Only the lines that leave the tail and that a [`Keep`] selects,
//! and the tail itself at [`LogAssembler::finish`], become [`LogLine`]s.
use super::snapshot::{CountedLines, LogLine, LogTail, Stream};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of text several assemblers share: past its bound, the one being fed drops its oldest
/// lines (pasted logs of many containers stay within one bound together).
#[derive(Clone, Debug)]
pub struct Budget {
    used: Arc<AtomicUsize>,
    max: usize,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Budget {
            used: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    fn over(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.max
    }
}

/// Which lines are worth keeping when they fall out of the tail: those a rule matches.
pub trait KeepLines: Send + Sync {
    /// Whether `line` is worth keeping and, when it is, its class: two lines of one class are
    /// selected for the same reasons (the same rule patterns match them), so past
    /// [`KEEP_EARLY`] kept lines, a class is kept as its first and last line and a count.
    fn class(&self, line: &str) -> Option<u64>;
    /// Whether `line` is worth keeping.
    fn keeps(&self, line: &str) -> bool {
        self.class(line).is_some()
    }
    /// A prefilter over many lines at once: push to `out`, in increasing order, byte offsets
    /// in `text` such that a line [`KeepLines::keeps`] holds one of them (a line holding none
    /// is not kept, and is not looked at again). `false` when no such offsets can be told (every
    /// line must be looked at).
    fn may_keep(&self, text: &str, out: &mut Vec<usize>) -> bool;
}

/// The lines worth keeping, shared by the assemblers.
pub type Keep = Arc<dyn KeepLines>;

/// At most this many lines a [`Keep`] selects are kept from before the tail (the earliest: the
/// first occurrences, where a failure starts); later ones are counted by class (see
/// [`KeepLines::class`]), each class kept as its first and last line.
pub const KEEP_EARLY: usize = 200;

/// At most this many classes of lines are counted past [`KEEP_EARLY`]; the lines of further
/// classes are only counted in [`LogTail::elided`].
pub const COUNTED_CLASSES: usize = 64;

/// A longer line is cut (and marked) rather than grown without bound.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

const CUT_MARK: &str = " …[line cut]";

/// One line of the tail: where its bytes are in the assembler's buffer.
#[derive(Clone, Copy)]
struct Entry {
    /// The line's first byte, as an offset in everything the buffer ever held.
    start: usize,
    /// Its bytes: the engine's stamp and a space (when it has one), then the text.
    len: u32,
    /// Bytes of the stamp and its space (0: no stamp).
    body_at: u32,
    stream: Stream,
    /// Whether `keep` may select it (false when a prefilter said no).
    may_keep: bool,
}

impl Entry {
    /// The bytes of the text, those the bounds count.
    fn text_len(&self) -> usize {
        (self.len - self.body_at) as usize
    }
}

/// The bytes of the tail's lines, oldest first: appended at the end, released from the front.
/// A ring (its capacity follows what it holds, no byte is moved when the front goes).
#[derive(Default)]
struct Ring {
    buf: VecDeque<u8>,
    /// The offset (in everything the buffer ever held) of `buf[0]`.
    base: usize,
}

impl Ring {
    fn end(&self) -> usize {
        self.base + self.buf.len()
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes);
    }

    /// An entry's bytes (copied only when they wrap around the end of the ring).
    fn bytes(&self, e: &Entry) -> Cow<'_, [u8]> {
        let (at, end) = (e.start - self.base, e.start - self.base + e.len as usize);
        let (a, b) = self.buf.as_slices();
        if end <= a.len() {
            Cow::Borrowed(&a[at..end])
        } else if at >= a.len() {
            Cow::Borrowed(&b[at - a.len()..end - a.len()])
        } else {
            Cow::Owned([&a[at..], &b[..end - a.len()]].concat())
        }
    }

    /// The bytes before `offset` are no longer needed.
    fn release(&mut self, offset: usize) {
        self.buf.drain(..offset - self.base);
        self.base = offset;
    }
}

/// Lines of one class dropped past [`KEEP_EARLY`].
struct Counted {
    first: LogLine,
    last: LogLine,
    count: usize,
}

pub struct LogAssembler {
    max_lines: usize,
    max_bytes: usize,
    ring: Ring,
    lines: VecDeque<Entry>,
    /// Bytes of text in `lines` (stamps not counted).
    bytes: usize,
    truncated: bool,
    partial: [Vec<u8>; 3],
    keep: Option<Keep>,
    kept: Vec<LogLine>,
    counted: Vec<Counted>,
    /// Class → index in `counted`.
    classes: HashMap<u64, usize>,
    elided: usize,
    budget: Option<Budget>,
}

fn slot(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
        Stream::Console => 2,
    }
}

impl LogAssembler {
    pub fn new(max_lines: usize, max_bytes: usize) -> Self {
        LogAssembler {
            max_lines,
            max_bytes,
            ring: Ring::default(),
            lines: VecDeque::new(),
            bytes: 0,
            truncated: false,
            partial: [Vec::new(), Vec::new(), Vec::new()],
            keep: None,
            kept: Vec::new(),
            counted: Vec::new(),
            classes: HashMap::new(),
            elided: 0,
            budget: None,
        }
    }

    /// Share `budget` with other assemblers: the whole stays within it.
    pub fn sharing(mut self, budget: Option<Budget>) -> Self {
        self.budget = budget;
        self
    }

    /// Count `n` more lines as elided (merging two tails that each dropped some).
    pub fn elide(&mut self, n: usize) {
        self.elided += n;
    }

    /// Keep the first [`KEEP_EARLY`] lines `keep` selects when they fall out of the tail, and
    /// count the others by class: a long log read whole still shows where its failure started,
    /// and how often it happened.
    pub fn keeping(mut self, keep: Option<Keep>) -> Self {
        self.keep = keep;
        self
    }

    /// Feed one frame's bytes.
    pub fn push(&mut self, stream: Stream, mut data: &[u8]) {
        while let Some(nl) = memchr::memchr(b'\n', data) {
            self.extend_partial(stream, &data[..nl]);
            let line = std::mem::take(&mut self.partial[slot(stream)]);
            self.emit(stream, &line, true);
            // The partial line's allocation is used again.
            let mut line = line;
            line.clear();
            self.partial[slot(stream)] = line;
            data = &data[nl + 1..];
        }
        self.extend_partial(stream, data);
    }

    /// Feed one whole line (no line end in it). `may_keep` false: a prefilter said the
    /// [`Keep`] will not select it. The same as [`LogAssembler::push`] of the line and a line
    /// end, without copying the text through the partial line.
    pub fn line(&mut self, stream: Stream, text: &str, may_keep: bool) {
        self.line_stamped(stream, None, text, may_keep);
    }

    /// [`LogAssembler::line`] of `stamp`, a space and `text` (a wrapped line that keeps the
    /// stamp of the line it continues), without joining them first.
    pub fn line_stamped(
        &mut self,
        stream: Stream,
        stamp: Option<&str>,
        text: &str,
        may_keep: bool,
    ) {
        let whole = stamp.map_or(0, |s| s.len() + 1) + text.len();
        if !self.partial[slot(stream)].is_empty()
            || whole > MAX_LINE_BYTES
            || memchr::memchr(b'\n', text.as_bytes()).is_some()
        {
            if let Some(s) = stamp {
                self.push(stream, s.as_bytes());
                self.push(stream, b" ");
            }
            self.push(stream, text.as_bytes());
            self.push(stream, b"\n");
            return;
        }
        let text = text.strip_suffix('\r').unwrap_or(text);
        let start = self.ring.end();
        let body_at = match stamp {
            // The stamp is read again from the joined line, as a pushed line would be.
            Some(s) if memchr::memchr(b' ', s.as_bytes()).is_none() => {
                self.ring.push(s.as_bytes());
                self.ring.push(b" ");
                if is_stamp(s.as_bytes()) {
                    s.len() + 1
                } else {
                    0
                }
            }
            Some(s) => {
                let joined = format!("{s} ");
                self.ring.push(joined.as_bytes());
                split_timestamp_len(format!("{joined}{text}").as_bytes())
            }
            None => split_timestamp_len(text.as_bytes()),
        };
        self.ring.push(text.as_bytes());
        let len = self.ring.end() - start;
        self.add(Entry {
            start,
            len: len as u32,
            body_at: body_at as u32,
            stream,
            may_keep,
        });
    }

    fn extend_partial(&mut self, stream: Stream, data: &[u8]) {
        let buf = &mut self.partial[slot(stream)];
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn emit(&mut self, stream: Stream, raw: &[u8], may_keep: bool) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let cut = raw.len() > MAX_LINE_BYTES;
        let raw = &raw[..raw.len().min(MAX_LINE_BYTES)];
        let body_at = split_timestamp_len(raw);
        let start = self.ring.end();
        self.ring.push(&raw[..body_at]);
        self.ring
            .push(String::from_utf8_lossy(&raw[body_at..]).as_bytes());
        if cut {
            self.ring.push(CUT_MARK.as_bytes());
        }
        let len = self.ring.end() - start;
        self.add(Entry {
            start,
            len: len as u32,
            body_at: body_at as u32,
            stream,
            may_keep,
        });
    }

    /// The line of an entry still in the buffer.
    fn log_line(&self, e: &Entry) -> LogLine {
        let bytes = self.ring.bytes(e);
        let (ts, text) = bytes.split_at(e.body_at as usize);
        LogLine {
            ts: (!ts.is_empty()).then(|| String::from_utf8_lossy(&ts[..ts.len() - 1]).into_owned()),
            stream: e.stream,
            text: String::from_utf8_lossy(text).into_owned(),
        }
    }

    fn add(&mut self, e: Entry) {
        let len = e.text_len();
        self.bytes += len;
        if let Some(b) = &self.budget {
            b.used.fetch_add(len, Ordering::Relaxed);
        }
        self.lines.push_back(e);
        while self.lines.len() > self.max_lines
            || self.bytes > self.max_bytes
            || (self.lines.len() > 1 && self.budget.as_ref().is_some_and(Budget::over))
        {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            let len = old.text_len();
            self.bytes -= len;
            if let Some(b) = &self.budget {
                b.used.fetch_sub(len, Ordering::Relaxed);
            }
            self.truncated = true;
            if old.may_keep {
                self.drop_line(&old);
            }
            self.ring.release(old.start + old.len as usize);
        }
    }

    /// A line leaving the tail: kept, counted or forgotten.
    fn drop_line(&mut self, old: &Entry) {
        let Some(keep) = &self.keep else {
            return;
        };
        let bytes = self.ring.bytes(old);
        // The buffer holds only text (lines were checked or replaced on the way in).
        let Ok(text) = std::str::from_utf8(&bytes[old.body_at as usize..]) else {
            return;
        };
        let Some(class) = keep.class(text) else {
            return;
        };
        if self.kept.len() < KEEP_EARLY {
            let line = self.log_line(old);
            self.kept.push(line);
            return;
        }
        self.elided += 1;
        match self.classes.get(&class) {
            Some(&i) => {
                let line = self.log_line(old);
                let c = &mut self.counted[i];
                c.last = line;
                c.count += 1;
            }
            None if self.counted.len() < COUNTED_CLASSES => {
                let line = self.log_line(old);
                self.classes.insert(class, self.counted.len());
                self.counted.push(Counted {
                    first: line.clone(),
                    last: line,
                    count: 1,
                });
            }
            None => {}
        }
    }

    /// Count again the lines other tails counted (merging tails): by class, the earlier first
    /// line and the later last line.
    pub fn recount(&mut self, counted: Vec<CountedLines>) {
        for c in counted {
            self.elided += c.count;
            let Some(class) = self.keep.as_ref().and_then(|k| k.class(&c.first.text)) else {
                continue;
            };
            match self.classes.get(&class) {
                Some(&i) => {
                    let mine = &mut self.counted[i];
                    if c.first.ts < mine.first.ts {
                        mine.first = c.first;
                    }
                    if c.last.ts >= mine.last.ts {
                        mine.last = c.last;
                    }
                    mine.count += c.count;
                }
                None if self.counted.len() < COUNTED_CLASSES => {
                    self.classes.insert(class, self.counted.len());
                    self.counted.push(Counted {
                        first: c.first,
                        last: c.last,
                        count: c.count,
                    });
                }
                None => {}
            }
        }
    }

    /// Flush partial lines and return the tail, oldest line first.
    pub fn finish(mut self) -> LogTail {
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Console] {
            let rest = std::mem::take(&mut self.partial[slot(stream)]);
            if !rest.is_empty() {
                self.emit(stream, &rest, true);
            }
        }
        if let Some(b) = &self.budget {
            b.used.fetch_sub(self.bytes, Ordering::Relaxed);
        }
        // The tail's lines, the buffer given back as they are made.
        let mut lines = std::mem::take(&mut self.kept);
        let early = lines.len();
        lines.reserve_exact(self.lines.len());
        while let Some(e) = self.lines.pop_front() {
            lines.push(self.log_line(&e));
            if self.lines.len().is_multiple_of(4096) {
                self.ring.release(e.start + e.len as usize);
                let buf = &mut self.ring.buf;
                if buf.capacity() > 2 * buf.len() + (1 << 20) {
                    buf.shrink_to_fit();
                }
            }
        }
        drop(self.ring);
        // Stdout and stderr arrive interleaved by frame; the stamps give the real order. The
        // counted classes sit between the lines kept early and the tail, each at its last line
        // (as if sorted with them, after the lines kept early and before the tail).
        let mut counted: Vec<Counted> = self.counted;
        let mut at = vec![0; counted.len()];
        if lines.is_sorted_by(|a, b| a.ts <= b.ts) {
            let (kept, tail) = lines.split_at(early);
            for (c, at) in counted.iter().zip(&mut at) {
                let ts = &c.last.ts;
                *at = kept.partition_point(|l| l.ts <= *ts) + tail.partition_point(|l| l.ts < *ts);
            }
        } else {
            let mut order: Vec<(Option<usize>, LogLine)> =
                Vec::with_capacity(lines.len() + counted.len());
            let mut tail = lines;
            let kept: Vec<LogLine> = tail.drain(..early).collect();
            order.extend(kept.into_iter().map(|l| (None, l)));
            let mut marks: Vec<usize> = (0..counted.len()).collect();
            marks.sort_by(|&a, &b| counted[a].last.ts.cmp(&counted[b].last.ts));
            for i in marks {
                let mark = LogLine {
                    ts: counted[i].last.ts.clone(),
                    stream: Stream::Stdout,
                    text: String::new(),
                };
                order.push((Some(i), mark));
            }
            order.extend(tail.into_iter().map(|l| (None, l)));
            order.sort_by(|a, b| a.1.ts.cmp(&b.1.ts));
            lines = Vec::with_capacity(order.len());
            for (mark, line) in order {
                match mark {
                    Some(i) => at[i] = lines.len(),
                    None => lines.push(line),
                }
            }
        }
        let counted = counted
            .drain(..)
            .zip(at)
            .map(|(c, at)| CountedLines {
                first: c.first,
                last: c.last,
                count: c.count,
                at,
            })
            .collect();
        LogTail {
            lines,
            truncated: self.truncated,
            elided: self.elided,
            counted,
        }
    }
}

/// Whether `head` (a line's first word) is an engine stamp.
fn is_stamp(head: &[u8]) -> bool {
    head.len() >= 20
        && head[..4].iter().all(u8::is_ascii_digit)
        && head[4] == b'-'
        && head[10] == b'T'
        && head.iter().all(|b| b.is_ascii_graphic())
}

/// The bytes of a line's leading engine stamp and the space after it (0 when it has none).
fn split_timestamp_len(raw: &[u8]) -> usize {
    let (ts, body) = split_timestamp(raw);
    if ts.is_some() {
        raw.len() - body.len()
    } else {
        0
    }
}

/// `2024-05-01T10:00:00.123456789Z rest` → (Some(stamp), rest). Lines without a stamp are kept whole.
fn split_timestamp(raw: &[u8]) -> (Option<&[u8]>, &[u8]) {
    // A stamp is at least 20 bytes: a shorter line, or one not starting with a digit, has none.
    if raw.len() < 21 || !raw[0].is_ascii_digit() {
        return (None, raw);
    }
    let Some(sp) = memchr::memchr(b' ', raw) else {
        return (None, raw);
    };
    let head = &raw[..sp];
    if is_stamp(head) {
        (Some(head), &raw[sp + 1..])
    } else {
        (None, raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_split_into_lines_with_stamps() {
        let mut a = LogAssembler::new(100, 1 << 20);
        a.push(
            Stream::Stdout,
            b"2024-05-01T10:00:00.000000001Z first\n2024-05-01T10:00",
        );
        a.push(Stream::Stdout, b":00.000000002Z sec");
        a.push(Stream::Stdout, b"ond\r\n");
        let tail = a.finish();
        let texts: Vec<&str> = tail.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);
        assert_eq!(
            tail.lines[1].ts.as_deref(),
            Some("2024-05-01T10:00:00.000000002Z")
        );
        assert!(!tail.truncated);
    }

    #[test]
    fn stdout_and_stderr_are_merged_by_stamp() {
        let mut a = LogAssembler::new(100, 1 << 20);
        a.push(Stream::Stdout, b"2024-05-01T10:00:02Z out\n");
        a.push(Stream::Stderr, b"2024-05-01T10:00:01Z err\n");
        let tail = a.finish();
        assert_eq!(tail.lines[0].text, "err");
        assert_eq!(tail.lines[0].stream, Stream::Stderr);
    }

    #[test]
    fn memory_stays_bounded_by_lines_and_bytes() {
        let mut a = LogAssembler::new(10, 1000);
        for i in 0..10_000 {
            a.push(
                Stream::Stdout,
                format!("line {i} {}\n", "x".repeat(90)).as_bytes(),
            );
        }
        let tail = a.finish();
        assert!(tail.truncated);
        assert!(tail.lines.len() <= 10);
        assert!(tail.lines.iter().map(|l| l.text.len()).sum::<usize>() <= 1000);
        assert!(tail.lines.last().unwrap().text.starts_with("line 9999 "));
    }

    #[test]
    fn a_huge_line_without_newline_is_cut() {
        let mut a = LogAssembler::new(10, 1 << 20);
        for _ in 0..1000 {
            a.push(Stream::Stdout, &[b'y'; 4096]);
        }
        let tail = a.finish();
        assert_eq!(tail.lines.len(), 1);
        assert!(tail.lines[0].text.len() <= MAX_LINE_BYTES + 20);
        assert!(tail.lines[0].text.ends_with("[line cut]"));
    }

    /// Keeps lines holding `ERR`, each word after it a class of its own.
    struct Errors;

    impl KeepLines for Errors {
        fn class(&self, line: &str) -> Option<u64> {
            let (_, rest) = line.split_once("ERR")?;
            Some(rest.split_whitespace().next().map_or(0, |w| w.len() as u64))
        }
        fn may_keep(&self, _: &str, _: &mut Vec<usize>) -> bool {
            false
        }
    }

    #[test]
    fn matching_lines_past_the_early_ones_are_counted_by_class() {
        let mut a = LogAssembler::new(10, 1 << 20).keeping(Some(Arc::new(Errors)));
        for i in 0..10_000 {
            let text = match i % 10 {
                0 => format!(
                    "2024-05-01T10:00:00.{i:09}Z ERR a {i}
"
                ),
                5 => format!(
                    "2024-05-01T10:00:00.{i:09}Z ERR bbb {i}
"
                ),
                _ => format!(
                    "2024-05-01T10:00:00.{i:09}Z ok {i}
"
                ),
            };
            a.push(Stream::Stdout, text.as_bytes());
        }
        let tail = a.finish();
        let kept = tail.lines.iter().filter(|l| l.text.contains("ERR")).count();
        // 2000 matching lines: 200 kept early, two in the tail of 10, the rest counted.
        assert_eq!(kept, KEEP_EARLY + 2);
        assert_eq!(tail.elided, 2000 - KEEP_EARLY - 2);
        let counted: usize = tail.counted.iter().map(|c| c.count).sum();
        assert_eq!(counted, tail.elided);
        assert_eq!(tail.counted.len(), 2);
        let a = &tail.counted[0];
        assert_eq!(a.first.text, "ERR a 1000");
        assert_eq!(a.last.text, "ERR a 9980");
        assert_eq!(tail.counted[1].last.text, "ERR bbb 9985");
        // Between the lines kept early and the tail.
        assert!(tail.counted.iter().all(|c| c.at == KEEP_EARLY));
        assert_eq!(
            a.first.ts.as_deref(),
            Some("2024-05-01T10:00:00.000001000Z")
        );
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut a = LogAssembler::new(10, 1 << 20);
        a.push(Stream::Stderr, b"caf\xe9 \xff\xfe ok\n");
        let tail = a.finish();
        assert_eq!(tail.lines[0].text, "caf\u{fffd} \u{fffd}\u{fffd} ok");
    }
}
