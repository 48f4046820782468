//! Syntax the image's Python does not know yet.
//!
//! Code written on the developer's Python runs there and fails in the image when the image's
//! interpreter is older: the module does not even compile, so a gunicorn worker fails to boot
//! with a `SyntaxError` that names a line which looks perfectly fine on the developer's machine.
//! The commonest case is PEP 701 (Python 3.12): an f-string that reuses its own quote inside a
//! replacement field (`f"{row["name"]}"`), or puts a backslash or a comment there; 3.11 stops at
//! `f-string: expecting '}'`.
//!
//! The grammar the doctor parses with is the newest one, so every construct parses; this module
//! walks the trees and names each construct with the first Python version that accepts it. A
//! construct newer than the image's version is a module that will not compile in the image.
//! Only constructs that change what *compiles* are listed (not library features such as
//! `X | Y` in annotations, which fail later and differently).
use super::Location;
use super::syntax::{children, line, walk};
use super::tree::{Module, SourceTree};
use serde::Serialize;
use std::fmt;

/// A Python language version, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PyVersion {
    pub major: u32,
    pub minor: u32,
}

impl PyVersion {
    pub const fn new(major: u32, minor: u32) -> PyVersion {
        PyVersion { major, minor }
    }

    /// `3.11`, `3.11.9`, `3.12-slim`, `python3.11`, `Python 3.11.2` → 3.11. Only Python 3.
    pub fn parse(text: &str) -> Option<PyVersion> {
        let t = text.trim();
        let t = t
            .strip_prefix("Python ")
            .or_else(|| t.strip_prefix("python"))
            .unwrap_or(t);
        let mut parts = t.splitn(3, '.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor_text = parts.next()?;
        let digits: String = minor_text
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let minor: u32 = digits.parse().ok()?;
        (major == 3 && minor < 100).then_some(PyVersion { major, minor })
    }
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A construct that needs a newer Python than some image has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewerSyntax {
    pub at: Location,
    /// What it is, in words: `an f-string reusing its quote inside a replacement field`.
    pub construct: &'static str,
    /// The first Python version that compiles it.
    pub needs: PyVersion,
}

const PY38: PyVersion = PyVersion::new(3, 8);
const PY39: PyVersion = PyVersion::new(3, 9);
const PY310: PyVersion = PyVersion::new(3, 10);
const PY311: PyVersion = PyVersion::new(3, 11);
const PY312: PyVersion = PyVersion::new(3, 12);
const PY313: PyVersion = PyVersion::new(3, 13);
const PY314: PyVersion = PyVersion::new(3, 14);

/// Every construct of `tree` that `version` cannot compile, by file and line.
pub fn newer_than(tree: &SourceTree, version: PyVersion) -> Vec<NewerSyntax> {
    let mut out: Vec<NewerSyntax> = tree
        .modules()
        .flat_map(constructs)
        .filter(|c| c.needs > version)
        .collect();
    out.sort_by(|a, b| a.at.cmp(&b.at));
    out.dedup_by(|a, b| a.at == b.at && a.construct == b.construct);
    out
}

/// Every version-dependent construct of one module, with the version it needs.
pub fn constructs(module: &Module) -> Vec<NewerSyntax> {
    let src = module.text();
    let mut out = Vec::new();
    let mut push = |node: tree_sitter::Node, construct: &'static str, needs: PyVersion| {
        out.push(NewerSyntax {
            at: Location {
                file: module.path().to_owned(),
                line: line(node),
            },
            construct,
            needs,
        });
    };
    walk(module.root(), |n| {
        match n.kind() {
            "string" => {
                let Some(start) = children(n).into_iter().find(|c| c.kind() == "string_start")
                else {
                    return true;
                };
                let start_text = &src[start.byte_range()];
                let prefix: String = start_text
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect::<String>()
                    .to_ascii_lowercase();
                let quote = &start_text[prefix.len()..];
                if prefix.contains('t') {
                    push(n, "a template string (t-string)", PY314);
                } else if prefix.contains('f') {
                    for (node, construct, needs) in fstring(n, quote, src) {
                        push(node, construct, needs);
                    }
                }
            }
            "type_alias_statement" => push(n, "a `type` alias statement", PY312),
            // `def f[T]` / `class C[T]`: the grammar also calls `Dict[str, Any]` in an
            // annotation a `type_parameter`, so only a definition's own list counts.
            "function_definition" | "class_definition" => {
                if let Some(params) = all_children(n)
                    .into_iter()
                    .find(|c| c.kind() == "type_parameter")
                {
                    let with_default = all_children(params).iter().any(|c| {
                        c.kind() == "="
                            || (c.is_error() && all_children(*c).iter().any(|d| d.kind() == "="))
                    });
                    if with_default {
                        push(params, "a type parameter with a default", PY313);
                    } else {
                        push(params, "type parameters (`def f[T]`, `class C[T]`)", PY312);
                    }
                }
            }
            "except_clause" if all_children(n).iter().any(|c| c.kind() == "*") => {
                push(n, "`except*` (exception groups)", PY311)
            }
            "match_statement" => push(n, "a `match` statement", PY310),
            "named_expression" => push(n, "an assignment expression (`:=`)", PY38),
            "positional_separator" => push(n, "a positional-only parameter marker (`/`)", PY38),
            "with_clause" => {
                let parts = all_children(n);
                let items = parts.iter().filter(|c| c.kind() == "with_item").count();
                if parts.first().is_some_and(|c| c.kind() == "(") && items > 1 {
                    push(n, "parenthesized context managers", PY39);
                }
            }
            _ => {}
        }
        true
    });
    out
}

/// Every child, anonymous tokens (`*`, `=`, `(`) included.
fn all_children(node: tree_sitter::Node) -> Vec<tree_sitter::Node> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

/// The constructs of one f-string (`node`, opened by `quote`) that need Python 3.12 or 3.8.
fn fstring<'t>(
    node: tree_sitter::Node<'t>,
    quote: &str,
    src: &str,
) -> Vec<(tree_sitter::Node<'t>, &'static str, PyVersion)> {
    let mut out = Vec::new();
    let triple = quote.len() == 3;
    let mut fields: Vec<tree_sitter::Node> = children(node)
        .into_iter()
        .filter(|c| c.kind() == "interpolation")
        .collect();
    let mut i = 0;
    while i < fields.len() {
        let field = fields[i];
        i += 1;
        let parts = all_children(field);
        // The expression part: after `{`, up to `=`, `!r`, `:spec` or `}`.
        let expr_end = parts
            .iter()
            .find(|c| matches!(c.kind(), "=" | "type_conversion" | "format_specifier" | "}"))
            .map_or(field.end_byte(), |c| c.start_byte());
        let expr_start = parts
            .first()
            .filter(|c| c.kind() == "{")
            .map_or(field.start_byte(), |c| c.end_byte());
        if parts.iter().any(|c| c.kind() == "=") {
            out.push((field, "an f-string `=` specifier", PY38));
        }
        // Nested format fields (`{x:>{width}}`) are replacement fields of the same string.
        for spec in parts.iter().filter(|c| c.kind() == "format_specifier") {
            fields.extend(
                children(*spec)
                    .into_iter()
                    .filter(|c| c.kind() == "format_expression"),
            );
        }
        if expr_start >= expr_end {
            continue;
        }
        let mut nested_strings: Vec<(usize, usize)> = Vec::new();
        let mut reuses_quote = false;
        for part in &parts {
            if part.start_byte() < expr_start || part.end_byte() > expr_end {
                continue;
            }
            walk(*part, |d| {
                if d.kind() != "string" {
                    return true;
                }
                nested_strings.push((d.start_byte(), d.end_byte()));
                if let Some(s) = children(d).into_iter().find(|c| c.kind() == "string_start") {
                    let inner =
                        src[s.byte_range()].trim_start_matches(|c: char| c.is_ascii_alphabetic());
                    if inner.starts_with(quote) {
                        reuses_quote = true;
                    }
                }
                false
            });
        }
        let expr = &src[expr_start..expr_end];
        let outside_strings = |pred: &dyn Fn(u8) -> bool| {
            expr.bytes().enumerate().any(|(k, b)| {
                let at = expr_start + k;
                pred(b) && !nested_strings.iter().any(|&(s, e)| s <= at && at < e)
            })
        };
        if reuses_quote {
            out.push((
                field,
                "an f-string reusing its own quote inside a replacement field",
                PY312,
            ));
        } else if expr.contains('\\') {
            out.push((
                field,
                "a backslash inside an f-string replacement field",
                PY312,
            ));
        } else if outside_strings(&|b| b == b'#') {
            out.push((
                field,
                "a comment inside an f-string replacement field",
                PY312,
            ));
        } else if !triple && outside_strings(&|b| b == b'\n') {
            out.push((
                field,
                "a line break inside a single-quoted f-string's replacement field",
                PY312,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::python::SourceFile;

    fn found(src: &str) -> Vec<(u32, &'static str, String)> {
        let tree = SourceTree::new(
            "/app",
            vec![SourceFile {
                path: "/app/m.py".into(),
                text: src.into(),
            }],
        );
        constructs(tree.module("m").expect("parsed"))
            .into_iter()
            .map(|c| (c.at.line, c.construct, c.needs.to_string()))
            .collect()
    }

    fn needs(src: &str) -> Vec<String> {
        found(src).into_iter().map(|(_, _, v)| v).collect()
    }

    #[test]
    fn versions_parse_from_what_images_say() {
        let v = |s| PyVersion::parse(s).map(|v| v.to_string());
        assert_eq!(v("3.11").as_deref(), Some("3.11"));
        assert_eq!(v("3.11.9").as_deref(), Some("3.11"));
        assert_eq!(v("3.12-slim").as_deref(), Some("3.12"));
        assert_eq!(v("python3.11").as_deref(), Some("3.11"));
        assert_eq!(v("Python 3.11.2").as_deref(), Some("3.11"));
        assert_eq!(v("2.7"), None);
        assert_eq!(v("latest"), None);
        assert!(PyVersion::new(3, 12) > PyVersion::new(3, 9));
    }

    #[test]
    fn pep_701_f_strings_need_3_12() {
        let src = "name = 'x'\nd = {}\nlog = f\"project {d[\"name\"]} ready\"\n";
        assert_eq!(
            found(src),
            [(
                3,
                "an f-string reusing its own quote inside a replacement field",
                "3.12".to_owned()
            )]
        );
        assert_eq!(needs("x = f'{\"\\n\".join(a)}'\n"), ["3.12"]);
        assert_eq!(needs("x = f'''{a # why\n}'''\n"), ["3.12"]);
        assert_eq!(needs("x = f'{a +\n b}'\n"), ["3.12"]);
    }

    #[test]
    fn f_strings_3_11_accepts_stay_quiet() {
        for ok in [
            "x = f\"{d['name']}\"\n",
            "x = f'{a!r:>{width}}'\n",
            "x = f\"\"\"{d[\"k\"]}\"\"\"\n",
            "x = f'{a + b}' 'tail'\n",
            "x = f\"a\\nb {c}\"\n",
            "x = '#' + f'{a}'\n",
        ] {
            assert!(needs(ok).is_empty(), "{ok}: {:?}", found(ok));
        }
        assert_eq!(needs("x = f'{a=}'\n"), ["3.8"]);
    }

    #[test]
    fn statements_by_version() {
        assert_eq!(needs("type X = int\n"), ["3.12"]);
        assert_eq!(needs("def f[T](x: T):\n    return x\n"), ["3.12"]);
        assert_eq!(needs("class C[T]:\n    pass\n"), ["3.12"]);
        assert_eq!(
            needs("try:\n    pass\nexcept* ValueError:\n    pass\n"),
            ["3.11"]
        );
        assert_eq!(needs("match x:\n    case 1:\n        pass\n"), ["3.10"]);
        assert_eq!(needs("if (n := 1):\n    pass\n"), ["3.8"]);
        assert_eq!(needs("def g(a, /, b):\n    pass\n"), ["3.8"]);
        assert_eq!(needs("x = t'hi {a}'\n"), ["3.14"]);
        assert_eq!(
            needs("with (open(a) as b, open(c) as d):\n    pass\n"),
            ["3.9"]
        );
        assert!(needs("with open(a) as b:\n    pass\nmatch = 1\n").is_empty());
        assert!(
            needs("from typing import Any, Dict, List\ndef f(x: List[int]) -> Dict[str, Any]:\n    return {}\nclass C(Dict[str, int]):\n    pass\n")
                .is_empty(),
            "generic annotations are no type parameters"
        );
    }

    #[test]
    fn only_what_the_image_cannot_compile_is_kept() {
        let tree = SourceTree::new(
            "/app",
            vec![SourceFile {
                path: "/app/m.py".into(),
                text: "if (n := 1):\n    pass\nx = f\"{d[\"k\"]}\"\n".into(),
            }],
        );
        let on_311 = newer_than(&tree, PyVersion::new(3, 11));
        assert_eq!(on_311.len(), 1);
        assert_eq!(on_311[0].at.to_string(), "/app/m.py:3");
        assert!(newer_than(&tree, PyVersion::new(3, 12)).is_empty());
        assert_eq!(newer_than(&tree, PyVersion::new(3, 7)).len(), 2);
    }
}
