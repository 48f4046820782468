//! A YAML tree that remembers where every key and value was written.
//!
//! yaml-rust2's loader builds values without positions, and compose findings, SARIF locations
//! and fixes all need the line and column of a key or a scalar. So this builds its own tree from
//! the parser's marked events, driving the parser one event at a time with an explicit stack
//! (the loader recurses once per nesting level; a hostile file could exhaust the stack).
//!
//! It also resolves what belongs to the YAML layer before compose sees the document:
//! - anchors and aliases: an alias becomes a copy of the anchored node, whose positions still
//!   point at the anchor (where the text lives, which is what a fix must edit);
//! - `<<` merge keys (YAML 1.1, honoured by both compose v1 and v2): keys written in the mapping
//!   win over merged ones, and among several merged mappings (`<<: [*a, *b]`) the first wins.
//!
//! Limits keep memory bounded: nesting depth and the number of nodes after alias expansion (a
//! "billion laughs" file fails with an error instead of eating the machine).
use super::{Fail, Pos};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Most nodes in one document, aliases expanded. Real compose files have a few thousand.
pub(crate) const MAX_NODES: usize = 200_000;
/// Deepest nesting of mappings and lists. Real compose files stay under ten.
pub(crate) const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Where the node starts: the first character of a scalar (its quote, if quoted), the `-` of
    /// a block list, the `[`/`{` of a flow collection, the first key of a block mapping. For a
    /// null written as nothing (`key:`), the position the parser gave, which may be the next
    /// line: use the key's position instead.
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null`, or nothing at all.
    Null,
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    /// The text as written (after YAML unescaping), before compose interpolation.
    pub text: String,
    /// The text after interpolation; equal to `text` until the interpolation pass runs.
    pub value: String,
    pub style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Quoted,
    /// `|` block: the text keeps the file's line breaks.
    Literal,
    /// `>` block: line breaks folded into spaces.
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

impl Node {
    /// The entries of a mapping, or `None` for anything else.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry with this key, when this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    /// The scalar, when this node is one (not null, not a collection).
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// What this node is, for error messages ("found a list").
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "nothing",
            Kind::Scalar(_) => "text",
            Kind::Seq(_) => "list",
            Kind::Map(_) => "mapping",
        }
    }

    /// How many nodes this one holds, itself included. Keys count with their values.
    fn size(&self) -> usize {
        match &self.kind {
            Kind::Null | Kind::Scalar(_) => 1,
            Kind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Kind::Map(entries) => 1 + entries.iter().map(|e| 1 + e.value.size()).sum::<usize>(),
        }
    }
}

/// A collection being built, with the anchor it will be recorded under (0 = none).
enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        /// A key read, waiting for its value.
        key: Option<(String, Pos)>,
        /// Values of `<<` keys, in the order written.
        merges: Vec<(Node, Pos)>,
    },
}

/// Parse the first YAML document of `text` into a marked tree; `None` when there is none (an
/// empty file or only comments).
pub(crate) fn parse(text: &str) -> Result<Option<Node>, Fail> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    // Each iteration consumes at least one character of input or ends: bounded by the text.
    loop {
        let (event, mark) = parser.next_token().map_err(|e| Fail {
            pos: Some(pos_of(*e.marker())),
            message: format!("this is not valid YAML: {}{}", e.info(), hint(e.info())),
        })?;
        match event {
            Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
            // Compose reads the first document only.
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Scalar(text, style, anchor, _tag) => {
                let pos = pos_of(mark);
                let kind = if style == TScalarStyle::Plain && is_null(&text) {
                    Kind::Null
                } else {
                    let style = match style {
                        TScalarStyle::Plain => Style::Plain,
                        TScalarStyle::Literal => Style::Literal,
                        TScalarStyle::Folded => Style::Folded,
                        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => Style::Quoted,
                    };
                    Kind::Scalar(Scalar {
                        value: text.clone(),
                        text,
                        style,
                    })
                };
                builder.complete(Node { pos, kind }, anchor)?;
            }
            Event::SequenceStart(anchor, _tag) => builder.open(Frame::Seq {
                pos: pos_of(mark),
                anchor,
                items: Vec::new(),
            })?,
            Event::MappingStart(anchor, _tag) => builder.open(Frame::Map {
                pos: pos_of(mark),
                anchor,
                entries: Vec::new(),
                key: None,
                merges: Vec::new(),
            })?,
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
            Event::Alias(id) => {
                let node = builder.alias(id, pos_of(mark))?;
                builder.complete(node, 0)?;
            }
        }
    }
    Ok(builder.root)
}

/// Most broken compose files are mis-indented; the parser's wording does not say so.
fn hint(info: &str) -> &'static str {
    if info.contains("did not find expected key")
        || info.contains("mapping values are not allowed")
        || info.contains("did not find expected '-'")
    {
        " (check the indentation of this line and the one above)"
    } else {
        ""
    }
}

/// YAML 1.1/1.2 core-schema nulls; only plain scalars can be null (`"~"` is text).
fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// yaml-rust2 counts lines from 1 and columns from 0; we count both from 1.
fn pos_of(mark: Marker) -> Pos {
    Pos {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        col: u32::try_from(mark.col().saturating_add(1)).unwrap_or(u32::MAX),
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
}

impl Builder {
    fn count(&mut self, n: usize, pos: Pos) -> Result<(), Fail> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Fail {
                pos: Some(pos),
                message: format!(
                    "the file expands to more than {MAX_NODES} values (aliases repeated inside \
                     aliases?); not reading further"
                ),
            });
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), Fail> {
        let pos = match &frame {
            Frame::Seq { pos, .. } | Frame::Map { pos, .. } => *pos,
        };
        if self.stack.len() >= MAX_DEPTH {
            return Err(Fail {
                pos: Some(pos),
                message: format!("lists and mappings nest deeper than {MAX_DEPTH} levels"),
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), Fail> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (node, anchor) = match frame {
            Frame::Seq { pos, anchor, items } => (
                Node {
                    pos,
                    kind: Kind::Seq(items),
                },
                anchor,
            ),
            Frame::Map {
                pos,
                anchor,
                mut entries,
                key: _,
                merges,
            } => {
                // A block mapping's start mark lies after its first key: the key is the start.
                let pos = entries
                    .first()
                    .map(|e| e.key_pos)
                    .filter(|k| (k.line, k.col) < (pos.line, pos.col))
                    .unwrap_or(pos);
                for (merged, at) in merges {
                    merge_into(&mut entries, merged, at)?;
                }
                (
                    Node {
                        pos,
                        kind: Kind::Map(entries),
                    },
                    anchor,
                )
            }
        };
        self.complete(node, anchor)
    }

    fn alias(&mut self, id: usize, pos: Pos) -> Result<Node, Fail> {
        let Some(node) = self.anchors.get(&id) else {
            // The parser rejects unknown anchors itself; an anchor still open (a mapping that
            // contains an alias to itself) ends up here.
            return Err(Fail {
                pos: Some(pos),
                message: "this alias refers to a node that contains it".into(),
            });
        };
        let size = node.size();
        // Count before cloning: the clone is what could blow up.
        self.count(size.saturating_sub(1), pos)?;
        Ok(self.anchors[&id].clone())
    }

    /// A finished node goes to its anchor, then into its parent (or becomes the root).
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), Fail> {
        self.count(1, node.pos)?;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                merges,
                ..
            }) => match key.take() {
                None => {
                    let text = match node.kind {
                        Kind::Scalar(s) => s.text,
                        _ => {
                            return Err(Fail {
                                pos: Some(node.pos),
                                message: format!(
                                    "a mapping key must be text, found {}",
                                    with_article(node.kind_name())
                                ),
                            });
                        }
                    };
                    *key = Some((text, node.pos));
                }
                Some((k, key_pos)) if k == "<<" => merges.push((node, key_pos)),
                Some((k, key_pos)) => {
                    if let Some(first) = entries.iter().find(|e| e.key == k) {
                        return Err(Fail {
                            pos: Some(key_pos),
                            message: format!(
                                "the key `{k}` is already defined at line {} (compose v2 \
                                 rejects duplicate keys; v1 silently keeps the last)",
                                first.key_pos.line
                            ),
                        });
                    }
                    entries.push(Entry {
                        key: k,
                        key_pos,
                        value: node,
                    });
                }
            },
        }
        Ok(())
    }
}

/// Apply one `<<` value: a mapping, or a list of mappings where earlier ones win.
fn merge_into(entries: &mut Vec<Entry>, merged: Node, at: Pos) -> Result<(), Fail> {
    let sources = match merged.kind {
        Kind::Map(m) => vec![m],
        Kind::Seq(items) => {
            let mut maps = Vec::with_capacity(items.len());
            for item in items {
                match item.kind {
                    Kind::Map(m) => maps.push(m),
                    _ => return Err(merge_error(at, item.kind_name())),
                }
            }
            maps
        }
        Kind::Null | Kind::Scalar(_) => return Err(merge_error(at, merged.kind_name())),
    };
    for source in sources {
        for entry in source {
            if !entries.iter().any(|e| e.key == entry.key) {
                entries.push(entry);
            }
        }
    }
    Ok(())
}

fn merge_error(at: Pos, found: &str) -> Fail {
    Fail {
        pos: Some(at),
        message: format!(
            "`<<` merges mappings (`<<: *anchor` or `<<: [*a, *b]`), found {}",
            with_article(found)
        ),
    }
}

pub(crate) fn with_article(kind: &str) -> String {
    match kind {
        "nothing" => "nothing".into(),
        "text" => "text".into(),
        other => format!("a {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }

    fn tree(text: &str) -> Node {
        parse(text).expect("parses").expect("has a document")
    }

    fn text_of(node: &Node) -> &str {
        &node.scalar().expect("a scalar").text
    }

    #[test]
    fn keys_and_scalars_keep_line_and_column() {
        let root = tree("services:\n  web:\n    image: \"app:1\"\n    ports: [a, 'b']\n");
        let services = &root.get("services").unwrap().value;
        let web = services.get("web").unwrap();
        assert_eq!(web.key_pos, p(2, 3));
        let image = web.value.get("image").unwrap();
        assert_eq!(image.key_pos, p(3, 5));
        assert_eq!(image.value.pos, p(3, 12));
        assert_eq!(text_of(&image.value), "app:1");
        let Kind::Seq(ports) = &web.value.get("ports").unwrap().value.kind else {
            panic!("ports is a list")
        };
        assert_eq!(ports[1].pos, p(4, 16));
        assert_eq!(ports[1].scalar().unwrap().style, Style::Quoted);
        // The block mapping starts at its first key, not where the parser's mark is.
        assert_eq!(web.value.pos, p(3, 5));
    }

    #[test]
    fn nulls_are_plain_only() {
        let root = tree("a:\nb: ~\nc: null\nd: '~'\n");
        for key in ["a", "b", "c"] {
            assert_eq!(root.get(key).unwrap().value.kind, Kind::Null, "{key}");
        }
        assert_eq!(text_of(&root.get("d").unwrap().value), "~");
    }

    #[test]
    fn aliases_copy_the_anchored_node_with_its_positions() {
        let root = tree("x: &img\n  image: base\nweb: *img\n");
        let web = &root.get("web").unwrap().value;
        let image = web.get("image").unwrap();
        assert_eq!(text_of(&image.value), "base");
        assert_eq!(image.key_pos, p(2, 3), "points at the anchor's text");
    }

    #[test]
    fn merge_keys_let_written_keys_win_and_earlier_merges_win() {
        let text = "\
a: &a {restart: always, user: a}
b: &b {user: b, image: b}
web:
  <<: [*a, *b]
  restart: 'no'
";
        let root = tree(text);
        let web = &root.get("web").unwrap().value;
        assert_eq!(text_of(&web.get("restart").unwrap().value), "no");
        assert_eq!(text_of(&web.get("user").unwrap().value), "a");
        assert_eq!(text_of(&web.get("image").unwrap().value), "b");
        assert!(web.get("<<").is_none());
    }

    #[test]
    fn merging_a_scalar_is_an_error_at_the_merge_key() {
        let err = parse("a: &a x\nweb:\n  <<: *a\n").unwrap_err();
        assert_eq!(err.pos, Some(p(3, 3)));
        assert!(err.message.contains("merges mappings"), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_are_an_error_at_the_second() {
        let err = parse("web:\n  image: a\n  image: b\n").unwrap_err();
        assert_eq!(err.pos, Some(p(3, 3)));
        assert!(
            err.message.contains("already defined at line 2"),
            "{}",
            err.message
        );
    }

    #[test]
    fn broken_yaml_reports_where() {
        let err = parse("services:\n  web:\n    image: foo\n   bad: x\n").unwrap_err();
        assert_eq!(err.pos.map(|p| p.line), Some(4));
        assert!(
            err.message.starts_with("this is not valid YAML"),
            "{}",
            err.message
        );
    }

    #[test]
    fn empty_document_is_none() {
        assert_eq!(parse("# nothing here\n").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
    }

    #[test]
    fn alias_bombs_stop_at_the_node_limit() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, \
                 *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("expands to more than"),
            "{}",
            err.message
        );
    }

    #[test]
    fn deep_nesting_stops_at_the_depth_limit() {
        let text = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nest deeper"), "{}", err.message);
    }

    #[test]
    fn only_the_first_document_counts() {
        let root = tree("a: 1\n---\nb: [\n");
        assert!(root.get("a").is_some());
    }
}
