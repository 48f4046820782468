//! `docker compose logs` transcripts: containers' lines interleaved behind a prefix.
//!
//! Compose v1 prints `web_1  | `, v2 `web-1  | ` (older v2 releases `project-web-1  | `); with
//! `--timestamps` the engine's stamp follows the prefix. A container named with
//! `container_name:` has no replica number (`analylit_web  | `): such a prefix is read only once
//! the paste has named that container (compose's `Attaching to …`, a `ps` row, inspect), because
//! a bare `word | text` is too common inside log text. A line with no prefix right after a
//! prefixed one continues that container's line (a terminal wrapped it) and keeps its stamp, so
//! the order holds; a blank line or a line of another kind ends that.
use super::facts::{Facts, Subject};

/// `web_1  | text`, `web-1 | text`, `project-web-1  |` (an empty line): the name
/// (`[A-Za-z0-9][A-Za-z0-9_.-]*`), spaces, a bar, then nothing or a space and the text.
fn prefix(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    if !b.first()?.is_ascii_alphanumeric() {
        return None;
    }
    let name_end = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')))?;
    let bar = name_end + b[name_end..].iter().position(|&c| c != b' ')?;
    if b[bar] != b'|' {
        return None;
    }
    let text = match b.get(bar + 1) {
        None => "",
        Some(b' ') => &line[bar + 2..],
        Some(_) => return None,
    };
    Some((&line[..name_end], text))
}

/// The container number that makes a prefix safe to read without knowing the name
/// (`[-_][0-9]+` at its end).
fn numbered(name: &str) -> bool {
    let digits = name.bytes().rev().take_while(u8::is_ascii_digit).count();
    digits > 0
        && name
            .len()
            .checked_sub(digits + 1)
            .is_some_and(|i| matches!(name.as_bytes()[i], b'-' | b'_'))
}

/// Lines of one container come in runs: the last prefix read and its subject are kept, so a
/// line of the same container costs no lookup and no allocation.
#[derive(Default)]
pub struct Reader {
    /// The name in the last prefix read, and its subject index (`None` past the bound).
    last: Option<(String, Option<usize>)>,
    /// The last line was a prefixed line (of the container `last` names): a line no reader
    /// takes continues it.
    current: bool,
    /// The current container's latest stamp.
    ts: Option<String>,
}

impl Reader {
    /// Take `line` when it has a container prefix. `Some(subject index)`, `Some(None)` past the
    /// subject bound.
    pub fn take(&mut self, line: &str, facts: &mut Facts) -> Option<Option<usize>> {
        memchr::memchr(b'|', line.as_bytes())?;
        let (name, text) = prefix(line)?;
        let same = self.last.as_ref().is_some_and(|(n, _)| n == name);
        // A name read before stays readable: the known names only grow.
        if !same && !numbered(name) && !facts.is_known_name(name) {
            return None;
        }
        match stamp_of(text) {
            Some(ts) => {
                let buf = self.ts.get_or_insert_with(String::new);
                buf.clear();
                buf.push_str(ts);
            }
            // A line without a stamp after one of the same container keeps its stamp.
            None if self.current && same => {}
            None => self.ts = None,
        }
        if !same {
            let subject = Subject {
                name: Some(name.to_owned()),
                short: true,
                ..Default::default()
            };
            let index = facts.of(&subject).map(|(i, _)| i);
            self.last = Some((name.to_owned(), index));
        }
        let index = self.last.as_ref().and_then(|(_, i)| *i);
        if let Some(i) = index {
            facts.log_to(i, text);
        }
        self.current = true;
        Some(index)
    }

    /// A line no reader took: the rest of the current container's line, when there is one.
    pub fn continue_line(&mut self, line: &str, facts: &mut Facts) -> Option<Option<usize>> {
        if !self.current {
            return None;
        }
        let index = self.last.as_ref().and_then(|(_, i)| *i);
        if let Some(i) = index {
            match &self.ts {
                Some(ts) if stamp_of(line).is_none() => facts.log_to_stamped(i, ts, line),
                _ => facts.log_to(i, line),
            }
        }
        Some(index)
    }

    /// A blank line or another kind's line: what follows is not a wrapped line.
    pub fn interrupt(&mut self) {
        self.current = false;
    }
}

/// The leading engine stamp of a line, when it has one.
pub fn stamp_of(text: &str) -> Option<&str> {
    let head = text.split(' ').next()?;
    let b = head.as_bytes();
    (b.len() >= 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T')
        .then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::collect::LogLimits;

    fn split(text: &str) -> Vec<(String, Vec<String>)> {
        let mut f = Facts::new(LogLimits::default());
        let mut r = Reader::default();
        for l in text.lines() {
            if r.take(l, &mut f).is_none() && r.continue_line(l, &mut f).is_none() {
                panic!("not taken: {l}");
            }
        }
        f.resolve("")
            .containers
            .into_iter()
            .map(|c| (c.name, c.logs.lines.into_iter().map(|l| l.text).collect()))
            .collect()
    }

    #[test]
    fn v1_and_v2_prefixes_and_wrapped_lines() {
        let per = split(
            "web_1  | first\n\
             web-2  | other\n\
             continued\n\
             web_1  |\n\
             web_1  | last | with a bar\n",
        );
        assert_eq!(
            per,
            [
                (
                    "web_1".to_owned(),
                    vec![
                        "first".to_owned(),
                        String::new(),
                        "last | with a bar".to_owned()
                    ]
                ),
                (
                    "web-2".to_owned(),
                    vec!["other".to_owned(), "continued".to_owned()]
                ),
            ]
        );
    }

    #[test]
    fn stamps_are_parsed_and_wrapped_lines_keep_their_place() {
        let mut f = Facts::new(LogLimits::default());
        let mut r = Reader::default();
        for l in [
            "web_1  | 2026-11-21T10:00:00.000000001Z one",
            "wrapped",
            "web_1  | 2026-11-21T10:00:00.000000002Z two",
        ] {
            if r.take(l, &mut f).is_none() {
                r.continue_line(l, &mut f);
            }
        }
        let c = &f.resolve("").containers[0];
        let texts: Vec<&str> = c.logs.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["one", "wrapped", "two"]);
        assert_eq!(
            c.logs.lines[1].ts.as_deref(),
            Some("2026-11-21T10:00:00.000000001Z")
        );
    }

    #[test]
    fn prefixes_are_read_like_the_pattern_says() {
        assert_eq!(prefix("web_1  | text"), Some(("web_1", "text")));
        assert_eq!(prefix("p-web-1 |"), Some(("p-web-1", "")));
        assert_eq!(prefix("web.1| a | b"), Some(("web.1", "a | b")));
        assert_eq!(prefix("web_1  |  two"), Some(("web_1", " two")));
        for no in ["_web | x", "web |x", "web ! | x", "| x", "web"] {
            assert_eq!(prefix(no), None, "{no}");
        }
        assert!(numbered("web_1") && numbered("p-web-12"));
        assert!(!numbered("web") && !numbered("1") && !numbered("web1") && !numbered("web_"));
    }

    #[test]
    fn a_bar_in_a_log_line_is_not_a_prefix() {
        let mut f = Facts::new(LogLimits::default());
        let mut r = Reader::default();
        for l in [
            "INFO | request served",
            "GET /api | 200",
            "a|b",
            "| leading bar",
            "analylit_web  | not known yet",
        ] {
            assert_eq!(r.take(l, &mut f), None, "{l}");
        }
        f.know_name("analylit_web");
        assert!(r.take("analylit_web  | known now", &mut f).is_some());
    }
}
