//! Turning the engine's log frames into a bounded tail of lines.
//!
//! Frames are not lines: one frame may hold several lines or half of one. Each stream keeps its
//! own partial line. Memory is bounded whatever the container printed: at most `max_lines` lines
//! and `max_bytes` bytes are kept (the oldest are dropped first), and a single line longer than
//! [`MAX_LINE_BYTES`] is cut. Bytes that are not UTF-8 are replaced, never fatal.
use super::snapshot::{LogLine, LogTail, Stream};
use std::collections::VecDeque;
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
    /// Whether `line` is worth keeping.
    fn keeps(&self, line: &str) -> bool;
    /// A prefilter over many lines at once: push to `out`, in increasing order, byte offsets
    /// in `text` such that a line [`KeepLines::keeps`] holds one of them (a line holding none
    /// is not kept, and is not looked at again). `false` when no such offsets can be told (every
    /// line must be looked at).
    fn may_keep(&self, text: &str, out: &mut Vec<usize>) -> bool;
}

/// The lines worth keeping, shared by the assemblers.
pub type Keep = Arc<dyn KeepLines>;

/// At most this many lines a [`Keep`] selects are kept from before the tail (the earliest: the
/// first occurrences, where a failure starts); later ones are only counted.
pub const KEEP_EARLY: usize = 200;

/// A longer line is cut (and marked) rather than grown without bound.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

pub struct LogAssembler {
    max_lines: usize,
    max_bytes: usize,
    lines: VecDeque<LogLine>,
    /// Per line of `lines`: whether `keep` may select it (false when a prefilter said no).
    may_keep: VecDeque<bool>,
    bytes: usize,
    truncated: bool,
    partial: [Vec<u8>; 3],
    keep: Option<Keep>,
    kept: Vec<LogLine>,
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
            lines: VecDeque::new(),
            may_keep: VecDeque::new(),
            bytes: 0,
            truncated: false,
            partial: [Vec::new(), Vec::new(), Vec::new()],
            keep: None,
            kept: Vec::new(),
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
    /// count the others: a long log read whole still shows where its failure started.
    pub fn keeping(mut self, keep: Option<Keep>) -> Self {
        self.keep = keep;
        self
    }

    /// Feed one frame's bytes.
    pub fn push(&mut self, stream: Stream, mut data: &[u8]) {
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            self.extend_partial(stream, &data[..nl]);
            let line = std::mem::take(&mut self.partial[slot(stream)]);
            self.emit(stream, &line, true);
            data = &data[nl + 1..];
        }
        self.extend_partial(stream, data);
    }

    /// Feed one whole line (no line end in it). `may_keep` false: a prefilter said the
    /// [`Keep`] will not select it. The same as [`LogAssembler::push`] of the line and a line
    /// end, without copying the text through the partial line.
    pub fn line(&mut self, stream: Stream, text: &str, may_keep: bool) {
        if !self.partial[slot(stream)].is_empty()
            || text.len() > MAX_LINE_BYTES
            || memchr::memchr(b'\n', text.as_bytes()).is_some()
        {
            self.push(stream, text.as_bytes());
            self.push(stream, b"\n");
            return;
        }
        let text = text.strip_suffix('\r').unwrap_or(text);
        let (ts, body) = split_timestamp(text.as_bytes());
        let body = &text[text.len() - body.len()..];
        self.add(
            LogLine {
                ts,
                stream,
                text: body.to_owned(),
            },
            may_keep,
        );
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
        let (ts, body) = split_timestamp(raw);
        let mut text = String::from_utf8_lossy(body).into_owned();
        if cut {
            text.push_str(" …[line cut]");
        }
        self.add(LogLine { ts, stream, text }, may_keep);
    }

    fn add(&mut self, line: LogLine, may_keep: bool) {
        self.bytes += line.text.len();
        if let Some(b) = &self.budget {
            b.used.fetch_add(line.text.len(), Ordering::Relaxed);
        }
        self.lines.push_back(line);
        self.may_keep.push_back(may_keep);
        while self.lines.len() > self.max_lines
            || self.bytes > self.max_bytes
            || (self.lines.len() > 1 && self.budget.as_ref().is_some_and(Budget::over))
        {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            let may_keep = self.may_keep.pop_front().unwrap_or(true);
            self.bytes -= old.text.len();
            if let Some(b) = &self.budget {
                b.used.fetch_sub(old.text.len(), Ordering::Relaxed);
            }
            self.truncated = true;
            if may_keep
                && let Some(keep) = &self.keep
                && keep.keeps(&old.text)
            {
                if self.kept.len() < KEEP_EARLY {
                    self.kept.push(old);
                } else {
                    self.elided += 1;
                }
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
        let mut lines = self.kept;
        lines.extend(self.lines);
        // Stdout and stderr arrive interleaved by frame; the stamps give the real order.
        lines.sort_by(|a, b| a.ts.cmp(&b.ts));
        LogTail {
            lines,
            truncated: self.truncated,
            elided: self.elided,
        }
    }
}

/// `2024-05-01T10:00:00.123456789Z rest` → (Some(stamp), rest). Lines without a stamp are kept whole.
fn split_timestamp(raw: &[u8]) -> (Option<String>, &[u8]) {
    let Some(sp) = raw.iter().position(|&b| b == b' ') else {
        return (None, raw);
    };
    let head = &raw[..sp];
    let looks_like_stamp = head.len() >= 20
        && head[..4].iter().all(u8::is_ascii_digit)
        && head[4] == b'-'
        && head[10] == b'T'
        && head.iter().all(|b| b.is_ascii_graphic());
    if looks_like_stamp {
        (
            Some(String::from_utf8_lossy(head).into_owned()),
            &raw[sp + 1..],
        )
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

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut a = LogAssembler::new(10, 1 << 20);
        a.push(Stream::Stderr, b"caf\xe9 \xff\xfe ok\n");
        let tail = a.finish();
        assert_eq!(tail.lines[0].text, "caf\u{fffd} \u{fffd}\u{fffd} ok");
    }
}
