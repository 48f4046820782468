//! The compose file as lines, found where the model says its keys are, and the splices that
//! change a few of them.
use super::EditError;
use super::scan::{Value, char_to_byte};
use crate::stack::compose::{ComposeService, Pos};
use std::ops::RangeInclusive;

/// A run of lines replaced by others (`remove` 0 for an insertion before line `at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Splice {
    pub(super) at: usize,
    pub(super) remove: usize,
    pub(super) lines: Vec<String>,
}

impl Splice {
    pub(super) fn insert(at: usize, lines: Vec<String>) -> Splice {
        Splice {
            at,
            remove: 0,
            lines,
        }
    }

    pub(super) fn replace(at: usize, remove: usize, lines: Vec<String>) -> Splice {
        Splice { at, remove, lines }
    }
}

/// One line of the text: its content and its ending (`\n`, `\r\n` or none for the last).
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    pub(super) text: &'a str,
    pub(super) eol: &'a str,
}

/// The text being edited, as lines.
pub(super) struct Doc<'a> {
    pub(super) path: &'a str,
    pub(super) lines: Vec<Line<'a>>,
    /// The file's line ending, for new lines.
    pub(super) newline: &'static str,
}

/// A key found in the text where the model says it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Key {
    /// 0-based line.
    pub(super) line: usize,
    /// Its column minus one: the indentation of its siblings in a block mapping.
    pub(super) indent: usize,
    /// The byte just after its `:`.
    pub(super) after: usize,
    /// Only spaces (or a list item's `- `) before it: a block mapping key.
    pub(super) first: bool,
}

impl Key {
    pub(super) fn in_flow(&self) -> bool {
        !self.first
    }

    pub(super) fn number(&self) -> u32 {
        self.line as u32 + 1
    }
}

/// A service's lines and the indentation unit its keys use.
pub(super) struct ServiceBlock {
    pub(super) lines: RangeInclusive<usize>,
    pub(super) unit: usize,
}

/// Where a healthcheck's keys are written.
pub(super) enum HcBlock {
    /// `healthcheck:` then indented keys (lines after the key's).
    Block {
        key: Key,
        lines: RangeInclusive<usize>,
    },
    /// `healthcheck: {…}`: the brackets' first byte and the closing one.
    Flow {
        open: (usize, usize),
        close: (usize, usize),
    },
}

impl<'a> Doc<'a> {
    pub(super) fn new(path: &'a str, text: &'a str) -> Doc<'a> {
        let lines: Vec<Line> = text
            .split_inclusive('\n')
            .map(|l| {
                let eol_len = if l.ends_with("\r\n") {
                    2
                } else if l.ends_with('\n') {
                    1
                } else {
                    0
                };
                let (text, eol) = l.split_at(l.len() - eol_len);
                Line { text, eol }
            })
            .collect();
        let newline = if lines.first().is_some_and(|l| l.eol == "\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        Doc {
            path,
            lines,
            newline,
        }
    }

    /// Whether a key at `pos` belongs to this healthcheck as written (not merged from
    /// elsewhere).
    pub(super) fn hc_contains(&self, hcb: &HcBlock, pos: Pos) -> bool {
        let line = self.line_of(pos);
        match hcb {
            HcBlock::Block { key, lines } => line > key.line && lines.contains(&line),
            HcBlock::Flow { open, close } => {
                let at = self
                    .lines
                    .get(line)
                    .map_or(0, |l| char_to_byte(l.text, pos.col));
                (line, at) > *open && (line, at) < *close
            }
        }
    }

    pub(super) fn line_of(&self, pos: Pos) -> usize {
        pos.line.saturating_sub(1) as usize
    }

    pub(super) fn shared(&self, what: String, line: u32) -> EditError {
        EditError::Shared {
            path: self.path.into(),
            what,
            line,
        }
    }

    pub(super) fn unsupported(&self, what: &str, line: u32, form: &str) -> EditError {
        EditError::Unsupported {
            path: self.path.into(),
            what: what.into(),
            line,
            form: form.into(),
        }
    }

    /// The key `name` at `pos`, checked against the text.
    pub(super) fn key(&self, pos: Pos, name: &str) -> Result<Key, EditError> {
        let stale = || EditError::Stale {
            path: self.path.into(),
            line: pos.line,
            expected: name.into(),
        };
        let line = self.line_of(pos);
        let text = self.lines.get(line).ok_or_else(stale)?.text;
        let at = char_to_byte(text, pos.col);
        let rest = &text[at..];
        let key_len = [name.to_string(), format!("\"{name}\""), format!("'{name}'")]
            .into_iter()
            .find(|k| rest.starts_with(k.as_str()))
            .map(|k| k.len())
            .ok_or_else(stale)?;
        let after_key = &rest[key_len..];
        let colon = after_key.len() - after_key.trim_start_matches(' ').len();
        if !after_key[colon..].starts_with(':') {
            return Err(stale());
        }
        let before = text[..at].trim();
        Ok(Key {
            line,
            indent: pos.col.saturating_sub(1) as usize,
            after: at + key_len + colon + 1,
            first: before.is_empty() || before == "-",
        })
    }

    /// Refuse a key whose value is an anchor (shared with aliases) or an alias.
    pub(super) fn not_shared(&self, key: &Key, what: &str) -> Result<(), EditError> {
        match self.value(key.line, key.after, key.in_flow()) {
            Value::Node => Err(self.shared(what.into(), key.number())),
            _ => Ok(()),
        }
    }

    /// Refuse a key the model found outside `lines` (merged from an anchor elsewhere).
    pub(super) fn inside(
        &self,
        key: &Key,
        lines: &RangeInclusive<usize>,
        what: &str,
    ) -> Result<(), EditError> {
        if lines.contains(&key.line) {
            Ok(())
        } else {
            Err(self.shared(what.into(), key.number()))
        }
    }

    pub(super) fn service_block(&self, svc: &ComposeService) -> Result<ServiceBlock, EditError> {
        let key = self.key(svc.pos, &svc.name)?;
        self.not_shared(&key, &format!("service {}", svc.name))?;
        let end = self.block_end(&key, false);
        let unit = self
            .child_indent(&key, end)
            .map(|c| c.saturating_sub(key.indent))
            .filter(|u| *u > 0)
            .unwrap_or(2);
        Ok(ServiceBlock {
            lines: key.line..=end,
            unit,
        })
    }

    pub(super) fn healthcheck_block(
        &self,
        svc: &ComposeService,
        at: Pos,
    ) -> Result<HcBlock, EditError> {
        let what = format!("{}'s healthcheck", svc.name);
        let block = self.service_block(svc)?;
        let key = self.key(at, "healthcheck")?;
        self.inside(&key, &block.lines, &what)?;
        match self.value(key.line, key.after, key.in_flow()) {
            Value::Node => Err(self.shared(what, key.number())),
            Value::Empty if key.first => Ok(HcBlock::Block {
                key,
                lines: key.line..=self.block_end(&key, false),
            }),
            Value::Flow {
                start,
                end_line,
                end,
            } if self.lines[key.line].text[start..].starts_with('{') => Ok(HcBlock::Flow {
                open: (key.line, start),
                close: (end_line, end - 1),
            }),
            _ => Err(self.unsupported(&what, key.number(), "not a mapping")),
        }
    }

    /// The last line of the value of a block key: the lines below indented deeper, or at the
    /// same indentation starting with `- ` (a block list may sit at its key's indentation).
    /// Comments and blank lines after the value do not belong to it. `literal`: the value is
    /// a `|`/`>` block, whose lines starting with `#` are text.
    pub(super) fn block_end(&self, key: &Key, literal: bool) -> usize {
        let mut end = key.line;
        for (i, line) in self.lines.iter().enumerate().skip(key.line + 1) {
            let trimmed = line.text.trim_start_matches(' ');
            if trimmed.is_empty() || (trimmed.starts_with('#') && !literal) {
                continue;
            }
            let indent = line.text.len() - trimmed.len();
            let item = trimmed == "-" || trimmed.starts_with("- ");
            if indent > key.indent || (indent == key.indent && item && !literal) {
                end = i;
            } else {
                break;
            }
        }
        end
    }

    /// The indentation of the first line below `key` up to `end` that holds YAML.
    pub(super) fn child_indent(&self, key: &Key, end: usize) -> Option<usize> {
        self.lines
            .iter()
            .take(end + 1)
            .skip(key.line + 1)
            .map(|l| l.text)
            .find(|t| {
                let t = t.trim_start();
                !t.is_empty() && !t.starts_with('#')
            })
            .map(|t| t.len() - t.trim_start_matches(' ').len())
    }

    /// Replace the scalar value of `key` (on its line) by `value`, keeping its quotes.
    pub(super) fn replace_scalar(
        &self,
        key: &Key,
        value: &str,
        what: &str,
    ) -> Result<Splice, EditError> {
        let text = self.lines[key.line].text;
        match self.value(key.line, key.after, key.in_flow()) {
            Value::Scalar {
                start,
                end_line,
                end,
                quote,
            } if end_line == key.line => {
                let q = quote.map(String::from).unwrap_or_default();
                let new = format!("{}{q}{value}{q}{}", &text[..start], &text[end..]);
                Ok(Splice::replace(key.line, 1, vec![new]))
            }
            Value::Node => Err(self.shared(what.into(), key.number())),
            _ => Err(self.unsupported(what, key.number(), "not a one-line value")),
        }
    }

    /// `entry` added to a flow-style healthcheck ([`HcBlock::Flow`]'s brackets): last
    /// (`at_end`) or first.
    pub(super) fn insert_in_flow(
        &self,
        open: (usize, usize),
        close: (usize, usize),
        entry: &str,
        at_end: bool,
    ) -> Result<Splice, EditError> {
        let empty = {
            let (a, b) = (self.lines[open.0].text, self.lines[close.0].text);
            if open.0 == close.0 {
                a[open.1 + 1..close.1].trim().is_empty()
            } else {
                a[open.1 + 1..].trim().is_empty() && b[..close.1].trim().is_empty()
            }
        };
        if at_end {
            let text = self.lines[close.0].text;
            let before = text[..close.1].trim_end();
            let sep = if empty { "" } else { ", " };
            let new = format!("{before}{sep}{entry}{}", &text[before.len()..]);
            Ok(Splice::replace(close.0, 1, vec![new]))
        } else {
            let text = self.lines[open.0].text;
            let sep = if empty { "" } else { ", " };
            let new = format!("{}{entry}{sep}{}", &text[..open.1 + 1], &text[open.1 + 1..]);
            Ok(Splice::replace(open.0, 1, vec![new]))
        }
    }

    /// The text with `splice` applied; lines keep their endings, new ones get the file's.
    pub(super) fn apply(&self, splice: &Splice) -> String {
        let mut out = String::new();
        let at = splice.at.min(self.lines.len());
        let end = (at + splice.remove).min(self.lines.len());
        for (i, l) in self.lines[..at].iter().enumerate() {
            out.push_str(l.text);
            // Lines inserted after a last line without newline need one between.
            let eol = if l.eol.is_empty() && i + 1 == at && !splice.lines.is_empty() {
                self.newline
            } else {
                l.eol
            };
            out.push_str(eol);
        }
        // A replaced last line without newline stays without one.
        let unterminated =
            end == self.lines.len() && self.lines.last().is_some_and(|l| l.eol.is_empty());
        let count = splice.lines.len();
        for (i, l) in splice.lines.iter().enumerate() {
            out.push_str(l);
            if !(unterminated && i + 1 == count) {
                out.push_str(self.newline);
            }
        }
        for l in &self.lines[end..] {
            out.push_str(l.text);
            out.push_str(l.eol);
        }
        out
    }
}
