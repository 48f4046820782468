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
use regex::Regex;
use std::sync::LazyLock;

/// `web_1  | text`, `web-1 | text`, `project-web-1  |` (an empty line).
static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*) *\|(?: (?P<text>.*)|)$")
        .expect("prefix pattern")
});
/// The container number that makes a prefix safe to read without knowing the name.
static NUMBERED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[-_][0-9]+$").expect("number pattern"));

#[derive(Default)]
pub struct Reader {
    /// The container the last prefixed line was of, and its latest stamp.
    current: Option<(Subject, Option<String>)>,
}

impl Reader {
    /// Take `line` when it has a container prefix. `Some(subject index)`, `Some(None)` past the
    /// subject bound.
    pub fn take(&mut self, line: &str, facts: &mut Facts) -> Option<Option<usize>> {
        if !line.contains('|') {
            return None;
        }
        let caps = PREFIX.captures(line)?;
        let name = &caps["name"];
        if !NUMBERED.is_match(name) && !facts.is_known_name(name) {
            return None;
        }
        let text = caps.name("text").map_or("", |m| m.as_str());
        let subject = Subject {
            name: Some(name.to_owned()),
            short: true,
            ..Default::default()
        };
        let ts = stamp_of(text).map(String::from);
        let last_ts = match (&self.current, ts) {
            (_, Some(ts)) => Some(ts),
            (Some((s, last)), None) if *s == subject => last.clone(),
            _ => None,
        };
        let index = facts.of(&subject).map(|(i, _)| i);
        if let Some(i) = index {
            facts.log_to(i, text);
        }
        self.current = Some((subject, last_ts));
        Some(index)
    }

    /// A line no reader took: the rest of the current container's line, when there is one.
    pub fn continue_line(&mut self, line: &str, facts: &mut Facts) -> Option<Option<usize>> {
        let (subject, last_ts) = self.current.as_ref()?;
        let text = match last_ts {
            Some(ts) if stamp_of(line).is_none() => format!("{ts} {line}"),
            _ => line.to_owned(),
        };
        let index = facts.of(subject).map(|(i, _)| i);
        if let Some(i) = index {
            facts.log_to(i, &text);
        }
        Some(index)
    }

    /// A blank line or another kind's line: what follows is not a wrapped line.
    pub fn interrupt(&mut self) {
        self.current = None;
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
