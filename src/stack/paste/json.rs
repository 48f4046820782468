//! JSON blocks inside a paste, and the relaxed JSON people paste.
//!
//! `docker inspect` prints an array over hundreds of lines; people paste it whole, trim it to
//! its `"State": {…}` member, cut lines out with `...`, leave a trailing comma where they cut, or
//! retype it as `State: {…}`. A [`Block`] gathers the lines of one JSON value as they come (a
//! bracket count that knows about strings), bounded in bytes and lines, and gives up as soon as a
//! line cannot be JSON, so a log line that merely holds a `{` costs one line, not the paste.
//! [`parse_relaxed`] tries strict `serde_json` first, then a small normaliser that quotes bare
//! keys and words, drops `...`, removes trailing commas, adds missing ones between lines, wraps a
//! bare member in braces and closes what a cut left open. The `json5` crate would cover only the
//! first two (and adds a parser dependency): the rest are paste damage, not a JSON dialect.
use serde_json::Value;

/// A block longer than this is not a paste of `docker inspect` (one container is ~10 KiB).
pub const MAX_BLOCK_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_BLOCK_LINES: usize = 100_000;

/// Top-level keys of `docker inspect` a trimmed paste may start with.
const INSPECT_KEYS: &[&str] = &[
    "Id",
    "Created",
    "Path",
    "Args",
    "State",
    "Health",
    "Image",
    "Name",
    "RestartCount",
    "Config",
    "HostConfig",
    "Mounts",
    "NetworkSettings",
    "Status",
    "ExitCode",
    "OOMKilled",
    "Error",
    "FailingStreak",
    "Log",
];

/// How a block starts: a whole value (`[`, `{`) ends with its closing bracket; a bare member
/// (`"State": {`) may be followed by more members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Value,
    Member,
}

/// Whether `line` can open a JSON block: `[`, `[{`, `{`, `{"…`, or a member whose key is one of
/// `docker inspect`'s (`"State": …`, `State: {`).
pub fn opens(line: &str) -> bool {
    start_of(line).is_some()
}

fn start_of(line: &str) -> Option<Start> {
    let t = line.trim_start();
    let rest = |s: &str| s[1..].trim_start().to_owned();
    if let Some(after) = t.strip_prefix('[') {
        let after = after.trim_start();
        return (after.is_empty() || after.starts_with('{') || after.starts_with(']'))
            .then_some(Start::Value);
    }
    if t.starts_with('{') {
        let after = rest(t);
        return (after.is_empty()
            || after.starts_with('"')
            || after.starts_with('}')
            || bare_key(&after).is_some())
        .then_some(Start::Value);
    }
    let (key, quoted) = if let Some(q) = t.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], true)
    } else {
        (bare_key(t)?, false)
    };
    if !INSPECT_KEYS.contains(&key) {
        return None;
    }
    let after_key = if quoted {
        &t[key.len() + 2..]
    } else {
        &t[key.len()..]
    };
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    // An unquoted key must open an object or array: `Status: running` is YAML or prose.
    (quoted || value.starts_with('{') || value.starts_with('[')).then_some(Start::Member)
}

/// `Key` of `Key:` / `Key :`, for keys that are identifiers.
fn bare_key(t: &str) -> Option<&str> {
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
        .unwrap_or(t.len());
    let key = &t[..end];
    let first = key.chars().next()?;
    (first.is_ascii_alphabetic() || first == '_')
        .then_some(())
        .and_then(|_| t[end..].trim_start().starts_with(':').then_some(key))
}

/// Whether a line can continue a JSON block (outside a string).
fn plausible(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() || t.starts_with("...") || t.starts_with('…') {
        return true;
    }
    let c = t.chars().next().expect("not empty");
    matches!(c, '"' | '{' | '}' | '[' | ']' | ',' | '-' | '0'..='9')
        || ["true", "false", "null"].iter().any(|w| t.starts_with(w))
        || bare_key(t).is_some()
}

/// What a block did with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Feed {
    /// Taken; the value goes on.
    More,
    /// Taken; the value is complete: its text.
    Done(String),
    /// Not taken: the value ended before this line (a bare member not followed by another).
    DoneBefore(String),
    /// This line cannot belong to JSON, or the block outgrew its bounds: not JSON after all.
    NotJson,
}

/// The lines of one JSON value being gathered.
#[derive(Debug, Default)]
pub struct Block {
    text: String,
    lines: usize,
    start: Option<Start>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The brackets were opened and closed again.
    closed: bool,
}

impl Block {
    /// Open a block on `line` when it can start one.
    pub fn open(line: &str) -> Option<(Block, Feed)> {
        let start = start_of(line)?;
        let mut b = Block {
            start: Some(start),
            ..Default::default()
        };
        let feed = b.push(line);
        Some((b, feed))
    }

    /// The next line of the paste.
    pub fn feed(&mut self, line: &str) -> Feed {
        if !self.in_string {
            if self.closed && self.start == Some(Start::Member) {
                // A closed member goes on only with another member.
                let t = line.trim_start();
                // Members, and the closers of the bigger value the member was cut from.
                let closers =
                    !t.is_empty() && t.chars().all(|c| "}],".contains(c) || c.is_whitespace());
                let member = closers
                    || t.starts_with(',')
                    || (t.starts_with('"') && t.contains("\":"))
                    || bare_key(t).is_some();
                if !member {
                    return Feed::DoneBefore(std::mem::take(&mut self.text));
                }
            } else if !plausible(line) {
                return Feed::NotJson;
            }
        }
        self.push(line)
    }

    /// The paste ended inside the block: what was gathered (the normaliser closes it).
    pub fn finish(self) -> String {
        self.text
    }

    fn push(&mut self, line: &str) -> Feed {
        self.lines += 1;
        if self.text.len() + line.len() > MAX_BLOCK_BYTES || self.lines > MAX_BLOCK_LINES {
            return Feed::NotJson;
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(line);
        for c in line.chars() {
            if self.in_string {
                match (self.escaped, c) {
                    (true, _) => self.escaped = false,
                    (false, '\\') => self.escaped = true,
                    (false, '"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => self.in_string = true,
                '{' | '[' => self.depth += 1,
                '}' | ']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.closed = true;
                    }
                }
                _ => {}
            }
        }
        if self.depth == 0 && self.closed && !self.in_string && self.start == Some(Start::Value) {
            return Feed::Done(std::mem::take(&mut self.text));
        }
        if self.depth == 0 && !self.in_string && self.start == Some(Start::Member) {
            // `"Status": "exited",` alone is a whole member too.
            self.closed = true;
        }
        Feed::More
    }
}

/// Parse pasted JSON: strict first, then through [`normalise`].
pub fn parse_relaxed(text: &str) -> Option<Value> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&normalise(text)).ok())
}

/// Repair what pasting does to JSON (see the module comment). Strings are kept as they are,
/// except that a line break inside one (a terminal wrapped it) is removed.
pub fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut stack: Vec<char> = Vec::new();
    // The last significant character written, to know whether a comma is missing.
    let mut last = ' ';
    let mut i = 0;
    let value_end = |c: char| c == '"' || c == '}' || c == ']' || c.is_ascii_alphanumeric();
    let comma_if_needed = |out: &mut String, last: char, stack: &[char]| {
        if value_end(last) && !stack.is_empty() {
            out.push(',');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                // A string: a key or a value.
                if last != ':' && last != ',' && last != '{' && last != '[' {
                    comma_if_needed(&mut out, last, &stack);
                }
                out.push('"');
                i += 1;
                let mut escaped = false;
                while i < chars.len() {
                    let s = chars[i];
                    i += 1;
                    if escaped {
                        escaped = false;
                        out.push(s);
                        continue;
                    }
                    match s {
                        '\\' => {
                            escaped = true;
                            out.push(s);
                        }
                        '"' => {
                            out.push('"');
                            break;
                        }
                        '\n' | '\r' => {}
                        _ => out.push(s),
                    }
                }
                last = '"';
                continue;
            }
            '{' | '[' => {
                if last != ':' && last != ',' && last != '{' && last != '[' {
                    comma_if_needed(&mut out, last, &stack);
                }
                stack.push(if c == '{' { '}' } else { ']' });
                out.push(c);
                last = c;
            }
            '}' | ']' => {
                // A closer with nothing open: the rest of a bigger value the paste cut.
                if stack.pop().is_some() {
                    trim_trailing_comma(&mut out);
                    out.push(c);
                    last = c;
                }
            }
            ',' => {
                if last != ',' && last != '{' && last != '[' {
                    out.push(',');
                    last = ',';
                }
            }
            ':' => {
                out.push(':');
                last = ':';
            }
            '.' if chars[i..].starts_with(&['.', '.', '.']) => {
                i += 3;
                continue;
            }
            '…' => {}
            c if c.is_whitespace() => out.push(c),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.' | '-'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if last != ':' && last != ',' && last != '{' && last != '[' {
                    comma_if_needed(&mut out, last, &stack);
                }
                if matches!(word.as_str(), "true" | "false" | "null") {
                    out.push_str(&word);
                } else {
                    out.push('"');
                    out.push_str(&word);
                    out.push('"');
                }
                last = 'w';
                continue;
            }
            c if c == '-' || c.is_ascii_digit() => {
                if last != ':' && last != ',' && last != '{' && last != '[' {
                    comma_if_needed(&mut out, last, &stack);
                }
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || matches!(chars[i], '-' | '+' | '.' | 'e' | 'E'))
                {
                    out.push(chars[i]);
                    i += 1;
                }
                last = '0';
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    trim_trailing_comma(&mut out);
    while let Some(close) = stack.pop() {
        trim_trailing_comma(&mut out);
        out.push(close);
    }
    // A bare member (`"State": {…}`) becomes an object.
    if let Some(key) = out.trim_start().strip_prefix('"') {
        let after_key = key.find('"').map(|e| key[e + 1..].trim_start());
        if after_key.is_some_and(|a| a.starts_with(':')) {
            return format!("{{{}}}", out.trim());
        }
    }
    out
}

fn trim_trailing_comma(out: &mut String) {
    let trimmed = out.trim_end().len();
    if out[..trimmed].ends_with(',') {
        out.truncate(trimmed - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gather(text: &str) -> Vec<Feed> {
        let mut lines = text.lines();
        let (mut b, first) = Block::open(lines.next().unwrap()).expect("opens");
        let mut feeds = vec![first];
        for l in lines {
            feeds.push(b.feed(l));
        }
        feeds
    }

    #[test]
    fn blocks_open_on_json_starts_only() {
        for yes in [
            "[",
            "[{",
            "{",
            "{\"Status\":\"exited\"}",
            "\"State\": {",
            "State: {",
            "  \"ExitCode\": 137,",
        ] {
            assert!(opens(yes), "{yes}");
        }
        for no in [
            "INFO {'a': 1}",
            "web_1  | {",
            "Status: running",
            "\"hello\": world",
            "[2024-05-02 10:00:00 +0000] [1] [INFO] Starting gunicorn",
            "[INFO] done",
            "{% block %}",
        ] {
            assert!(!opens(no), "{no}");
        }
    }

    #[test]
    fn a_value_ends_with_its_bracket_and_a_member_with_the_next_non_member() {
        let feeds = gather("[\n  {\n    \"Id\": \"a{b\",\n    \"X\": [1, 2]\n  }\n]");
        assert!(matches!(feeds.last(), Some(Feed::Done(_))), "{feeds:?}");
        let feeds = gather(
            "\"State\": {\n  \"Status\": \"exited\"\n},\n\"Name\": \"/web\",\nweb_1 | hello",
        );
        assert_eq!(feeds[..4], [Feed::More, Feed::More, Feed::More, Feed::More]);
        let Feed::DoneBefore(text) = &feeds[4] else {
            panic!("{feeds:?}")
        };
        assert_eq!(
            parse_relaxed(text).unwrap(),
            json!({"State": {"Status": "exited"}, "Name": "/web"})
        );
    }

    #[test]
    fn a_line_that_cannot_be_json_ends_the_attempt() {
        let feeds = gather("{\nTraceback (most recent call last):\n}");
        assert_eq!(feeds[1], Feed::NotJson);
        // A brace inside a string does not count.
        let feeds = gather("{\"msg\": \"}\", \"level\": \"info\"}");
        assert!(matches!(feeds[0], Feed::Done(_)));
    }

    #[test]
    fn pasted_damage_is_repaired() {
        let cases = [
            (
                "State: {Status: exited, ExitCode: 137, OOMKilled: true,}",
                json!({"State": {"Status": "exited", "ExitCode": 137, "OOMKilled": true}}),
            ),
            (
                "\"State\": {\n \"Status\": \"exited\",\n ...\n \"ExitCode\": 3,\n},",
                json!({"State": {"Status": "exited", "ExitCode": 3}}),
            ),
            (
                "{\n \"Status\": \"exited\"\n \"ExitCode\": 1\n}",
                json!({"Status": "exited", "ExitCode": 1}),
            ),
            (
                "[{\"Id\": \"abc\", \"State\": {\"Status\": \"running\"",
                json!([{"Id": "abc", "State": {"Status": "running"}}]),
            ),
            (
                "{\"Output\": \"curl: (7) Failed to conn\nect\\n\"}",
                json!({"Output": "curl: (7) Failed to connect\n"}),
            ),
            (
                "{\"ExitCode\": -1, \"Log\": […]}",
                json!({"ExitCode": -1, "Log": []}),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_relaxed(text),
                Some(want),
                "{text}\n→ {}",
                normalise(text)
            );
        }
    }

    #[test]
    fn blocks_are_bounded() {
        let (mut b, _) = Block::open("[").unwrap();
        let line = format!("\"{}\",", "x".repeat(1 << 20));
        let mut last = Feed::More;
        for _ in 0..10 {
            last = b.feed(&line);
            if last != Feed::More {
                break;
            }
        }
        assert_eq!(last, Feed::NotJson);
    }
}
