//! Scanning a YAML value as written after a key: how far a scalar, a quoted string or a flow
//! collection goes, and a trailing comment, without parsing the file again.
use super::doc::Doc;

/// The byte offset of 1-based character column `col` in `line` (its end when beyond).
pub(super) fn char_to_byte(line: &str, col: u32) -> usize {
    line.char_indices()
        .nth(col.saturating_sub(1) as usize)
        .map_or(line.len(), |(i, _)| i)
}

/// The comment on `line` from byte `from` on (`# …`), scanning past quoted text.
pub(super) fn comment_in(line: &str, from: usize) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut chars = line[from..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            // The guard consumes what `c` escapes, whether or not it closes the scalar.
            Some(q) if closes_quote(q, c, &mut chars) => quote = None,
            Some(_) => {}
            None if c == '#' && prev.is_whitespace() => return Some(&line[from + i..]),
            None if (c == '"' || c == '\'') && "[{,: ".contains(prev) => quote = Some(c),
            None => {}
        }
        prev = c;
    }
    None
}

/// One character `c` inside a YAML scalar quoted with `quote`: consumes what it escapes from
/// `rest` (`\x` in "…", the second `'` of `''` in '…') and tells whether `c` closes the scalar.
pub(super) fn closes_quote(
    quote: char,
    c: char,
    rest: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> bool {
    let escaped = (quote == '"' && c == '\\')
        || (quote == '\'' && c == '\'' && rest.peek().is_some_and(|(_, n)| *n == '\''));
    if escaped {
        rest.next();
        return false;
    }
    c == quote
}

/// A value as written after a key's colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value {
    /// Nothing (or only a comment) on the key's line.
    Empty,
    /// A plain or quoted scalar; `end` is exclusive, on `end_line`.
    Scalar {
        start: usize,
        end_line: usize,
        end: usize,
        quote: Option<char>,
    },
    /// `[…]` or `{…}`, `end` just after the closing bracket.
    Flow {
        start: usize,
        end_line: usize,
        end: usize,
    },
    /// `|` or `>`: the lines below are text, not YAML.
    BlockScalar { header_end: usize },
    /// `&anchor` or `*alias`.
    Node,
}

impl Doc<'_> {
    /// What follows byte `from` of `line` (after a key's colon): which kind of value, where.
    pub(super) fn value(&self, line: usize, from: usize, in_flow: bool) -> Value {
        let text = self.lines[line].text;
        let rest = &text[from..];
        let start = from + (rest.len() - rest.trim_start_matches(' ').len());
        let Some(c) = text[start..].chars().next() else {
            return Value::Empty;
        };
        match c {
            '#' => Value::Empty,
            '&' | '*' => Value::Node,
            '|' | '>' => Value::BlockScalar {
                header_end: start + text[start..].find([' ', '#']).unwrap_or(text.len() - start),
            },
            '"' | '\'' => match self.quoted_end(line, start, c) {
                Some((end_line, end)) => Value::Scalar {
                    start,
                    end_line,
                    end,
                    quote: Some(c),
                },
                None => Value::Scalar {
                    start,
                    end_line: line,
                    end: text.len(),
                    quote: Some(c),
                },
            },
            '[' | '{' => match self.flow_end(line, start) {
                Some((end_line, end)) => Value::Flow {
                    start,
                    end_line,
                    end,
                },
                None => Value::Flow {
                    start,
                    end_line: self.lines.len() - 1,
                    end: self.lines.last().map_or(0, |l| l.text.len()),
                },
            },
            _ => {
                let stops: &[char] = if in_flow { &[',', ']', '}'] } else { &[] };
                let mut end = text.len();
                let mut prev = ' ';
                for (i, ch) in text[start..].char_indices() {
                    if stops.contains(&ch) || (ch == '#' && prev == ' ') {
                        end = start + i;
                        break;
                    }
                    prev = ch;
                }
                Value::Scalar {
                    start,
                    end_line: line,
                    end: start + text[start..end].trim_end().len(),
                    quote: None,
                }
            }
        }
    }

    /// Just after the closing quote of the scalar opened at (line, start).
    pub(super) fn quoted_end(
        &self,
        line: usize,
        start: usize,
        quote: char,
    ) -> Option<(usize, usize)> {
        let mut from = start + 1;
        for (i, l) in self.lines.iter().enumerate().skip(line) {
            let text = l.text;
            let mut chars = text[from.min(text.len())..].char_indices().peekable();
            while let Some((j, c)) = chars.next() {
                if closes_quote(quote, c, &mut chars) {
                    return Some((i, from + j + 1));
                }
            }
            from = 0;
        }
        None
    }

    /// Just after the bracket closing the flow collection opened at (line, start).
    pub(super) fn flow_end(&self, line: usize, start: usize) -> Option<(usize, usize)> {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut from = start;
        for (i, l) in self.lines.iter().enumerate().skip(line) {
            let text = l.text;
            let mut prev = ' ';
            let mut chars = text[from.min(text.len())..].char_indices().peekable();
            while let Some((j, c)) = chars.next() {
                match quote {
                    // The guard consumes what `c` escapes, whether or not it closes the scalar.
                    Some(q) if closes_quote(q, c, &mut chars) => quote = None,
                    Some(_) => {}
                    None => match c {
                        '[' | '{' => depth += 1,
                        ']' | '}' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return Some((i, from + j + 1));
                            }
                        }
                        '#' if prev.is_whitespace() => break,
                        '"' | '\'' if "[{,: ".contains(prev) => quote = Some(c),
                        _ => {}
                    },
                }
                prev = c;
            }
            from = 0;
        }
        None
    }

    /// What follows byte `from` of `line` when it is only spaces and a comment: that text
    /// (with its spaces), `None` when something else follows.
    pub(super) fn trailing_comment(&self, line: usize, from: usize) -> Option<String> {
        let rest = &self.lines[line].text[from..];
        let t = rest.trim_start_matches(' ');
        (t.is_empty() || t.starts_with('#')).then(|| {
            if t.is_empty() {
                String::new()
            } else {
                rest.to_string()
            }
        })
    }
}
