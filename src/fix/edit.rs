//! Minimal text edits to the files a fix changes: entrypoint scripts and the compose file.
//!
//! A fix must change what it says and nothing else, so a person reading its diff sees only the
//! lines that matter and the file keeps its comments, quoting, key order, indentation and line
//! endings. So the compose file is never re-serialised: the compose model
//! ([`crate::stack::compose`]) says where each service, key and dependency is written, and each
//! edit splices a few lines of the original text at those places, in the file's own style
//! (its indentation unit, its quotes, its CRLF if it has them).
//!
//! What a splice cannot change safely is refused with an [`EditError`] that says what to edit
//! by hand: a value written through a YAML anchor or alias (changing it would change every
//! service sharing it), a shape this module does not rewrite, a model that no longer matches
//! the text. And every compose edit is checked before it is returned: the new text is parsed
//! again and must give the old model with exactly the intended change (other services and
//! keys equal, positions aside), else [`EditError::Unverified`]. That check parses without
//! variables; a file whose typed values need them to parse is checked by position only.
//!
//! Every edit is idempotent: applied to its own output it changes nothing.
use super::diff;
use crate::stack::compose::{self, ComposeModel, ComposeService, Condition, Pos};
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

/// A change to one file: its whole text before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The file as the user knows it (relative to the project), shown in the diff.
    pub path: String,
    pub old: String,
    pub new: String,
}

impl Edit {
    /// The unified diff to show before applying; empty when nothing changes.
    pub fn diff(&self) -> String {
        diff::unified(&self.path, &self.old, &self.new)
    }

    /// Nothing to do: the file already says what the fix would make it say.
    pub fn is_noop(&self) -> bool {
        self.old == self.new
    }

    fn unchanged(path: &str, text: &str) -> Edit {
        Edit {
            path: path.to_string(),
            old: text.to_string(),
            new: text.to_string(),
        }
    }
}

/// Why an edit cannot be made; each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("{path} has no service `{service}`")]
    NoService { path: String, service: String },
    #[error("{service} has no depends_on on {dependency} in {path}")]
    NoDependency {
        path: String,
        service: String,
        dependency: String,
    },
    #[error(
        "{service} waits for {dependency} with service_completed_successfully (a one-shot \
         job, which has no health check to wait for): not changing it"
    )]
    WaitsForCompletion { service: String, dependency: String },
    #[error("{service} has no healthcheck block in {path}: add one by hand")]
    NoHealthcheck { path: String, service: String },
    #[error("{what} is written as an anchor/alias ({path}:{line}): edit it by hand")]
    Shared {
        path: String,
        what: String,
        line: u32,
    },
    #[error(
        "{what} is written in a form this fix does not rewrite ({path}:{line}, {form}): edit it by hand"
    )]
    Unsupported {
        path: String,
        what: String,
        line: u32,
        form: String,
    },
    #[error(
        "{path}:{line} does not hold `{expected}` where the compose model says it is: read \
         the file again before fixing it"
    )]
    Stale {
        path: String,
        line: u32,
        expected: String,
    },
    #[error("the URL `{url}` cannot be used in a health check: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the edited {path} would not say what was intended ({reason}): edit it by hand")]
    Unverified { path: String, reason: String },
}

/// A Python source with `import` added after its last top-level import (or at the top, after a
/// module docstring's first line when there is no import): the patch for a missing import, shown
/// to a person, never applied by the doctor.
pub fn add_import(path: &str, text: &str, import: &str) -> Edit {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.iter().any(|l| l.trim_end() == import) {
        return Edit {
            path: path.into(),
            old: text.into(),
            new: text.into(),
        };
    }
    let at = lines
        .iter()
        .rposition(|l| l.starts_with("import ") || l.starts_with("from "))
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut new = String::with_capacity(text.len() + import.len() + 1);
    for l in &lines[..at] {
        new.push_str(l);
    }
    if at > 0 && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(import);
    new.push('\n');
    for l in &lines[at..] {
        new.push_str(l);
    }
    Edit {
        path: path.into(),
        old: text.into(),
        new,
    }
}

/// CRLF → LF, a CR left at the end of the last line too; also drops a UTF-8 byte-order mark
/// at the start when `strip_bom`. Carriage returns inside a line are kept: they are data.
pub fn to_lf(path: &str, text: &str, strip_bom: bool) -> Edit {
    let body = match text.strip_prefix('\u{feff}') {
        Some(rest) if strip_bom => rest,
        _ => text,
    };
    let mut new = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(content) => {
                new.push_str(content.trim_end_matches('\r'));
                new.push('\n');
            }
            None => new.push_str(line.trim_end_matches('\r')),
        }
    }
    Edit {
        path: path.to_string(),
        old: text.to_string(),
        new,
    }
}

/// In `service`, make the dependency on `dependency` wait for `condition: service_healthy`:
/// - short form (`depends_on: [db, redis]` or a block list of `- db`): that `depends_on` is
///   rewritten into the mapping form, every entry keeping `service_started` except the target
///   (compose cannot mix the forms); comments between the items stay where they were;
/// - long form with a condition: only that value changes (its quotes kept);
/// - long form without one: `condition: service_healthy` is inserted under it.
///
/// Already `service_healthy`: no change. `service_completed_successfully` is refused.
/// Whether `dependency` has a health check at all (in the file or its image) is for the
/// caller to know: compose refuses `service_healthy` on a service without one.
pub fn depends_on_healthy(
    path: &str,
    text: &str,
    model: &ComposeModel,
    service: &str,
    dependency: &str,
) -> Result<Edit, EditError> {
    let svc = find_service(path, model, service)?;
    let Some(dep) = svc.depends_on.iter().find(|d| d.service == dependency) else {
        return Err(EditError::NoDependency {
            path: path.into(),
            service: service.into(),
            dependency: dependency.into(),
        });
    };
    match dep.condition {
        Condition::Healthy => return Ok(Edit::unchanged(path, text)),
        Condition::CompletedSuccessfully => {
            return Err(EditError::WaitsForCompletion {
                service: service.into(),
                dependency: dependency.into(),
            });
        }
        Condition::Started => {}
    }
    let doc = Doc::new(path, text);
    let block = doc.service_block(svc)?;
    let what = format!("{service}'s depends_on");
    // The model records every key it read; a dependency implies its `depends_on`.
    let don_pos = svc.key_pos.get("depends_on").copied().unwrap_or_default();
    let don = doc.key(don_pos, "depends_on")?;
    doc.inside(&don, &block.lines, &what)?;
    doc.not_shared(&don, &what)?;
    let don_lines = don.line..=doc.block_end(&don, false);
    let rewrite = !dep.long_form;
    for d in &svc.depends_on {
        if (rewrite || d.service == dependency) && !don_lines.contains(&doc.line_of(d.pos)) {
            return Err(doc.shared(format!("{what} entry {}", d.service), d.pos.line));
        }
    }
    let splice = if rewrite {
        short_to_mapping(&doc, svc, &don, block.unit, dependency)?
    } else {
        let dep_key = doc.key(dep.pos, &dep.service)?;
        match dep.condition_pos {
            Some(at) => {
                let cond = doc.key(at, "condition")?;
                let dep_lines = dep_key.line..=doc.block_end(&dep_key, false);
                doc.inside(&cond, &dep_lines, &format!("{what} entry {dependency}"))?;
                doc.replace_scalar(&cond, "service_healthy", &format!("{what}.{dependency}"))?
            }
            None => insert_condition(&doc, &dep_key, block.unit, &what)?,
        }
    };
    let new = doc.apply(&splice);
    verify(path, text, &new, service, |s| {
        for d in &mut s.depends_on {
            if rewrite {
                d.long_form = true;
                d.condition_pos = Some(Pos::default());
            }
            if d.service == dependency {
                d.condition = Condition::Healthy;
                d.condition_pos = Some(Pos::default());
            }
        }
    })?;
    Ok(Edit {
        path: path.into(),
        old: text.into(),
        new,
    })
}

/// Set the healthcheck's `start_period` of `service` to `secs`, written `{secs}s` (quoted when
/// the block's other durations are): the value is replaced when the key is written in the
/// block, else the key is inserted after the last of `interval`/`timeout`/`retries` (or at
/// the end of the block) at the block's indentation. A flow-style `healthcheck: {…}` gets it
/// before its `}`. Already that value: no change.
pub fn set_start_period(
    path: &str,
    text: &str,
    model: &ComposeModel,
    service: &str,
    secs: u64,
) -> Result<Edit, EditError> {
    let svc = find_service(path, model, service)?;
    let hc = svc
        .healthcheck
        .as_ref()
        .ok_or_else(|| no_healthcheck(path, service))?;
    if hc.start_period == Some(Duration::from_secs(secs)) {
        return Ok(Edit::unchanged(path, text));
    }
    let doc = Doc::new(path, text);
    let hcb = doc.healthcheck_block(svc, hc.pos)?;
    let written = |key: &str| {
        hc.key_pos
            .get(key)
            .copied()
            .filter(|p| doc.hc_contains(&hcb, *p))
    };
    let what = format!("{service}'s healthcheck start_period");
    // The block's duration quoting, for a new value.
    let quote = ["interval", "timeout", "start_interval"]
        .into_iter()
        .filter_map(|k| written(k).map(|p| (k, p)))
        .find_map(|(k, p)| {
            let key = doc.key(p, k).ok()?;
            match doc.value(key.line, key.after, key.in_flow()) {
                Value::Scalar { quote, .. } => Some(quote),
                _ => None,
            }
        })
        .flatten();
    let value = format!("{secs}s");
    let splice = match written("start_period") {
        Some(at) => {
            let key = doc.key(at, "start_period")?;
            doc.replace_scalar(&key, &value, &what)?
        }
        None => {
            let q = quote.map(String::from).unwrap_or_default();
            let entry = format!("start_period: {q}{value}{q}");
            match &hcb {
                HcBlock::Block { key, lines } => {
                    let after = ["interval", "timeout", "retries"]
                        .iter()
                        .filter_map(|k| written(k).map(|p| (p, *k)))
                        .max_by_key(|(p, _)| p.line);
                    let at = match after {
                        Some((p, k)) => doc.block_end(&doc.key(p, k)?, false) + 1,
                        None => lines.end() + 1,
                    };
                    let indent = doc
                        .child_indent(key, *lines.end())
                        .unwrap_or(key.indent + 2);
                    Splice::insert(at, vec![format!("{}{entry}", " ".repeat(indent))])
                }
                HcBlock::Flow { .. } => doc.insert_in_flow(&hcb, &entry, true)?,
            }
        }
    };
    let new = doc.apply(&splice);
    verify(path, text, &new, service, |s| {
        if let Some(h) = &mut s.healthcheck {
            h.start_period = Some(Duration::from_secs(secs));
            h.key_pos.insert("start_period".into(), Pos::default());
        }
    })?;
    Ok(Edit {
        path: path.into(),
        old: text.into(),
        new,
    })
}

/// The exec-form test [`python_healthcheck`] writes, as the compose model reads it.
pub fn python_test(url: &str) -> Vec<String> {
    vec![
        "CMD".into(),
        "python3".into(),
        "-c".into(),
        python_code(url),
    ]
}

/// The one-liner: `urlopen` raises on a 4xx/5xx answer (HTTPError), a refused connection or a
/// timeout, and an uncaught exception exits 1, which Docker counts as unhealthy; redirects are
/// followed.
fn python_code(url: &str) -> String {
    let quoted = url.replace('\\', "\\\\").replace('\'', "\\'");
    format!(
        "import sys, urllib.request; urllib.request.urlopen('{quoted}', timeout=3); sys.exit(0)"
    )
}

/// Replace the healthcheck `test:` of `service` (a string, a flow list or a block list) with a
/// python3 urllib one-liner requesting `url`, for images without curl:
/// `["CMD", "python3", "-c", "import sys, urllib.request; urllib.request.urlopen('URL', timeout=3); sys.exit(0)"]`.
/// Comments inside the old value are kept, on their own lines above `test:`. A test written
/// through an anchor or alias is refused; a healthcheck that only tunes the image's check gets
/// the test inserted.
pub fn python_healthcheck(
    path: &str,
    text: &str,
    model: &ComposeModel,
    service: &str,
    url: &str,
) -> Result<Edit, EditError> {
    check_url(url)?;
    let svc = find_service(path, model, service)?;
    let hc = svc
        .healthcheck
        .as_ref()
        .ok_or_else(|| no_healthcheck(path, service))?;
    let expected = python_test(url);
    if hc.test == expected {
        return Ok(Edit::unchanged(path, text));
    }
    let doc = Doc::new(path, text);
    let hcb = doc.healthcheck_block(svc, hc.pos)?;
    let code = python_code(url).replace('$', "$$");
    let yaml_code = code.replace('\\', "\\\\").replace('"', "\\\"");
    let new_value = format!("[\"CMD\", \"python3\", \"-c\", \"{yaml_code}\"]");
    let what = format!("{service}'s healthcheck test");
    let written = hc
        .key_pos
        .get("test")
        .copied()
        .filter(|p| doc.hc_contains(&hcb, *p));
    let splice = match (written, &hcb) {
        (Some(at), _) => {
            let key = doc.key(at, "test")?;
            replace_test(&doc, &key, &new_value, &what)?
        }
        (None, HcBlock::Block { key, lines }) => {
            let indent = doc
                .child_indent(key, *lines.end())
                .unwrap_or(key.indent + 2);
            let line = format!("{}test: {new_value}", " ".repeat(indent));
            Splice::insert(key.line + 1, vec![line])
        }
        (None, HcBlock::Flow { .. }) => {
            doc.insert_in_flow(&hcb, &format!("test: {new_value}"), false)?
        }
    };
    let new = doc.apply(&splice);
    verify(path, text, &new, service, |s| {
        if let Some(h) = &mut s.healthcheck {
            h.test = expected.clone();
            h.key_pos.insert("test".into(), Pos::default());
        }
    })?;
    Ok(Edit {
        path: path.into(),
        old: text.into(),
        new,
    })
}

/// An http(s) URL of printable characters: anything else would not be what the old check
/// requested, or could not be written into the one-liner safely.
fn check_url(url: &str) -> Result<(), EditError> {
    let bad = |reason: &str| {
        Err(EditError::BadUrl {
            url: url.chars().take(200).collect(),
            reason: reason.into(),
        })
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return bad("it must start with http:// or https://");
    }
    if url.len() > 2048 {
        return bad("it is longer than 2048 bytes");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces or control characters");
    }
    Ok(())
}

fn find_service<'m>(
    path: &str,
    model: &'m ComposeModel,
    service: &str,
) -> Result<&'m ComposeService, EditError> {
    model.service(service).ok_or_else(|| EditError::NoService {
        path: path.into(),
        service: service.into(),
    })
}

fn no_healthcheck(path: &str, service: &str) -> EditError {
    EditError::NoHealthcheck {
        path: path.into(),
        service: service.into(),
    }
}

/// The short-form `depends_on` (flow or block list) as the mapping form.
fn short_to_mapping(
    doc: &Doc,
    svc: &ComposeService,
    don: &Key,
    unit: usize,
    target: &str,
) -> Result<Splice, EditError> {
    let what = format!("{}'s depends_on", svc.name);
    let condition = |name: &str| {
        if name == target {
            Condition::Healthy.as_str()
        } else {
            Condition::Started.as_str()
        }
    };
    let token = |d: &compose::Dependency, in_flow: bool| -> Result<String, EditError> {
        let line = doc.line_of(d.pos);
        let at = char_to_byte(doc.lines[line].text, d.pos.col);
        match doc.value(line, at, in_flow) {
            Value::Scalar {
                start,
                end,
                end_line,
                ..
            } if end_line == line => Ok(doc.lines[line].text[start..end].to_string()),
            _ => Err(doc.unsupported(&what, d.pos.line, "an item that is not a plain name")),
        }
    };
    match doc.value(don.line, don.after, don.in_flow()) {
        Value::Flow {
            start,
            end_line,
            end,
        } => {
            let names = svc
                .depends_on
                .iter()
                .map(|d| Ok((token(d, true)?, condition(&d.service))))
                .collect::<Result<Vec<_>, EditError>>()?;
            let first = doc.lines[don.line].text;
            let last = doc.lines[end_line].text;
            if don.in_flow() {
                // A flow-style service: keep it on its line, as a flow mapping.
                if end_line != don.line {
                    return Err(doc.unsupported(&what, don.number(), "a multi-line flow list"));
                }
                let map: Vec<String> = names
                    .iter()
                    .map(|(n, c)| format!("{n}: {{condition: {c}}}"))
                    .collect();
                let line = format!("{}{{{}}}{}", &first[..start], map.join(", "), &last[end..]);
                return Ok(Splice::replace(don.line, 1, vec![line]));
            }
            let tail = doc.trailing_comment(end_line, end).ok_or_else(|| {
                doc.unsupported(&what, don.number(), "text after the closing `]`")
            })?;
            let entry = don.indent + unit;
            let mut out = vec![format!("{}{tail}", first[..don.after].trim_end())];
            // Comments inside a multi-line list: their own lines, above the entries.
            for (i, line) in doc.lines.iter().enumerate().take(end_line).skip(don.line) {
                let from = if i == don.line { start } else { 0 };
                if let Some(c) = comment_in(line.text, from) {
                    out.push(format!("{}{c}", " ".repeat(entry)));
                }
            }
            for (name, cond) in names {
                out.push(format!("{}{name}:", " ".repeat(entry)));
                out.push(format!("{}condition: {cond}", " ".repeat(entry + unit)));
            }
            Ok(Splice::replace(don.line, end_line - don.line + 1, out))
        }
        Value::Empty => {
            let end = doc.block_end(don, false);
            let dash = doc.child_indent(don, end).unwrap_or(don.indent + unit);
            // Items at their key's indentation become entries one unit deeper.
            let entry = if dash > don.indent {
                dash
            } else {
                don.indent + unit
            };
            let mut out = Vec::new();
            for i in don.line + 1..=end {
                let text = doc.lines[i].text;
                let trimmed = text.trim_start_matches(' ');
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    // A comment aligned with the items moves with them.
                    if text.len() - trimmed.len() == dash && !trimmed.is_empty() {
                        out.push(format!("{}{trimmed}", " ".repeat(entry)));
                    } else {
                        out.push(text.to_string());
                    }
                    continue;
                }
                let number = i as u32 + 1;
                let Some(d) = svc.depends_on.iter().find(|d| d.pos.line == number) else {
                    return Err(doc.unsupported(
                        &what,
                        number,
                        "a line that is not a `- name` item",
                    ));
                };
                let at = char_to_byte(text, d.pos.col);
                let name = token(d, false)?;
                let item_dash = text.len() - trimmed.len();
                if !(item_dash == dash
                    && trimmed.starts_with("- ")
                    && text[dash + 1..at].trim().is_empty())
                {
                    return Err(doc.unsupported(&what, number, "an item not written `- name`"));
                }
                let comment = doc
                    .trailing_comment(i, at + name.len())
                    .ok_or_else(|| doc.unsupported(&what, number, "text after the name"))?;
                out.push(format!("{}{name}:{comment}", " ".repeat(entry)));
                out.push(format!(
                    "{}condition: {}",
                    " ".repeat(entry + unit),
                    condition(&d.service)
                ));
            }
            Ok(Splice::replace(don.line + 1, end - don.line, out))
        }
        _ => Err(doc.unsupported(&what, don.number(), "neither a list nor a mapping")),
    }
}

/// `condition: service_healthy` under a long-form entry that has no condition.
fn insert_condition(doc: &Doc, dep: &Key, unit: usize, what: &str) -> Result<Splice, EditError> {
    let line = doc.lines[dep.line].text;
    let entry = "condition: service_healthy";
    match doc.value(dep.line, dep.after, dep.in_flow()) {
        Value::Empty if !dep.in_flow() => {
            let end = doc.block_end(dep, false);
            let indent = doc.child_indent(dep, end).unwrap_or(dep.indent + unit);
            Ok(Splice::insert(
                dep.line + 1,
                vec![format!("{}{entry}", " ".repeat(indent))],
            ))
        }
        Value::Scalar {
            start,
            end,
            end_line,
            quote: None,
        } if !dep.in_flow()
            && end_line == dep.line
            && matches!(&line[start..end], "~" | "null" | "Null" | "NULL") =>
        {
            let rest = doc.trailing_comment(dep.line, end).unwrap_or_default();
            let key_line = format!("{}{rest}", line[..dep.after].trim_end());
            let indent = " ".repeat(dep.indent + unit);
            Ok(Splice::replace(
                dep.line,
                1,
                vec![key_line, format!("{indent}{entry}")],
            ))
        }
        Value::Flow { start, .. } if line[start..].starts_with('{') => {
            let inner = line[start + 1..].trim_start();
            let new = if inner.starts_with('}') {
                let close = start + 1 + (line[start + 1..].len() - inner.len());
                format!("{}{{{entry}}}{}", &line[..start], &line[close + 1..])
            } else {
                format!("{}{{{entry}, {}", &line[..start], inner)
            };
            Ok(Splice::replace(dep.line, 1, vec![new]))
        }
        _ => Err(doc.unsupported(
            &format!("{what} entry"),
            dep.number(),
            "an entry that is neither a block nor a flow mapping",
        )),
    }
}

/// The `test:` value replaced by `new_value`, the comments of the old value kept.
fn replace_test(doc: &Doc, key: &Key, new_value: &str, what: &str) -> Result<Splice, EditError> {
    let line = doc.lines[key.line].text;
    let value = doc.value(key.line, key.after, key.in_flow());
    if key.in_flow() {
        // Inside `healthcheck: {test: …, …}`: replace the value's text in place.
        let (start, end_line, end) = match value {
            Value::Scalar {
                start,
                end_line,
                end,
                ..
            }
            | Value::Flow {
                start,
                end_line,
                end,
            } => (start, end_line, end),
            Value::Node => return Err(doc.shared(what.into(), key.number())),
            _ => return Err(doc.unsupported(what, key.number(), "an empty or block value")),
        };
        let last = doc.lines[end_line].text;
        let new = format!("{}{new_value}{}", &line[..start], &last[end..]);
        return Ok(Splice::replace(
            key.line,
            end_line - key.line + 1,
            vec![new],
        ));
    }
    let (value_end_line, tail_from, literal) = match value {
        Value::Node => return Err(doc.shared(what.into(), key.number())),
        Value::Empty => (key.line, key.after, false),
        Value::BlockScalar { header_end } => (key.line, header_end, true),
        Value::Scalar { end_line, end, .. } | Value::Flow { end_line, end, .. } => {
            (end_line, end, false)
        }
    };
    let end = doc.block_end(key, literal).max(value_end_line);
    // The comment after the value stays on the `test:` line when the value was one line.
    let key_comment = if value_end_line == key.line {
        doc.trailing_comment(key.line, tail_from)
            .ok_or_else(|| doc.unsupported(what, key.number(), "text after the value"))?
    } else {
        String::new()
    };
    let indent = " ".repeat(key.indent);
    let mut out = Vec::new();
    if !literal {
        for i in key.line..=end {
            let from = if i == key.line { key.after } else { 0 };
            if i == key.line && value_end_line == key.line {
                continue;
            }
            if let Some(c) = comment_in(doc.lines[i].text, from) {
                out.push(format!("{indent}{c}"));
            }
        }
    }
    out.push(format!(
        "{} {new_value}{key_comment}",
        line[..key.after].trim_end()
    ));
    Ok(Splice::replace(key.line, end - key.line + 1, out))
}

/// The model of the new text must be the model of the old with `intended` applied to
/// `service`, positions aside: nothing else changed, and the change is the one meant.
fn verify(
    path: &str,
    old: &str,
    new: &str,
    service: &str,
    intended: impl Fn(&mut ComposeService),
) -> Result<(), EditError> {
    let parse = |text: &str| compose::parse(Path::new(path), text, &|_| None);
    let Ok(before) = parse(old) else {
        // Typed values built from variables: checked by position only.
        return Ok(());
    };
    let unverified = |reason: String| EditError::Unverified {
        path: path.into(),
        reason,
    };
    let after = parse(new).map_err(|e| unverified(format!("it no longer parses: {e}")))?;
    if before.version != after.version || before.name != after.name {
        return Err(unverified("the top-level keys changed".into()));
    }
    let names =
        |m: &ComposeModel| -> Vec<String> { m.services.iter().map(|s| s.name.clone()).collect() };
    if names(&before) != names(&after) {
        return Err(unverified("the list of services changed".into()));
    }
    for (b, a) in before.services.iter().zip(&after.services) {
        let mut want = without_positions(b);
        if b.name == service {
            intended(&mut want);
        }
        if want != without_positions(a) {
            let reason = if b.name == service {
                format!("{service} changed in another way than intended")
            } else {
                format!("{} changed too (a shared anchor?)", b.name)
            };
            return Err(unverified(reason));
        }
    }
    Ok(())
}

/// The service with every position zeroed, to compare what it says rather than where.
fn without_positions(s: &ComposeService) -> ComposeService {
    let zero = Pos::default();
    let mut s = s.clone();
    s.pos = zero;
    s.key_pos.values_mut().for_each(|p| *p = zero);
    for d in &mut s.depends_on {
        d.pos = zero;
        d.condition_pos = d.condition_pos.map(|_| zero);
    }
    if let Some(h) = &mut s.healthcheck {
        h.pos = zero;
        h.key_pos.values_mut().for_each(|p| *p = zero);
    }
    for e in &mut s.environment {
        e.pos = zero;
        e.value_pos = e.value_pos.map(|_| zero);
    }
    for v in &mut s.volumes {
        v.pos = zero;
    }
    s.gpu_reservation = s.gpu_reservation.map(|_| zero);
    s
}

/// The byte offset of 1-based character column `col` in `line` (its end when beyond).
fn char_to_byte(line: &str, col: u32) -> usize {
    line.char_indices()
        .nth(col.saturating_sub(1) as usize)
        .map_or(line.len(), |(i, _)| i)
}

/// The comment on `line` from byte `from` on (`# …`), scanning past quoted text.
fn comment_in(line: &str, from: usize) -> Option<&str> {
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
fn closes_quote(
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

/// A run of lines replaced by others (`remove` 0 for an insertion before line `at`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Splice {
    at: usize,
    remove: usize,
    lines: Vec<String>,
}

impl Splice {
    fn insert(at: usize, lines: Vec<String>) -> Splice {
        Splice {
            at,
            remove: 0,
            lines,
        }
    }

    fn replace(at: usize, remove: usize, lines: Vec<String>) -> Splice {
        Splice { at, remove, lines }
    }
}

/// One line of the text: its content and its ending (`\n`, `\r\n` or none for the last).
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    eol: &'a str,
}

/// The text being edited, as lines.
struct Doc<'a> {
    path: &'a str,
    lines: Vec<Line<'a>>,
    /// The file's line ending, for new lines.
    newline: &'static str,
}

/// A key found in the text where the model says it is.
#[derive(Debug, Clone, Copy)]
struct Key {
    /// 0-based line.
    line: usize,
    /// Its column minus one: the indentation of its siblings in a block mapping.
    indent: usize,
    /// The byte just after its `:`.
    after: usize,
    /// Only spaces (or a list item's `- `) before it: a block mapping key.
    first: bool,
}

impl Key {
    fn in_flow(&self) -> bool {
        !self.first
    }

    fn number(&self) -> u32 {
        self.line as u32 + 1
    }
}

/// A value as written after a key's colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
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

/// A service's lines and the indentation unit its keys use.
struct ServiceBlock {
    lines: RangeInclusive<usize>,
    unit: usize,
}

/// Where a healthcheck's keys are written.
enum HcBlock {
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
    fn new(path: &'a str, text: &'a str) -> Doc<'a> {
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
    fn hc_contains(&self, hcb: &HcBlock, pos: Pos) -> bool {
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

    fn line_of(&self, pos: Pos) -> usize {
        pos.line.saturating_sub(1) as usize
    }

    fn shared(&self, what: String, line: u32) -> EditError {
        EditError::Shared {
            path: self.path.into(),
            what,
            line,
        }
    }

    fn unsupported(&self, what: &str, line: u32, form: &str) -> EditError {
        EditError::Unsupported {
            path: self.path.into(),
            what: what.into(),
            line,
            form: form.into(),
        }
    }

    /// The key `name` at `pos`, checked against the text.
    fn key(&self, pos: Pos, name: &str) -> Result<Key, EditError> {
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
    fn not_shared(&self, key: &Key, what: &str) -> Result<(), EditError> {
        match self.value(key.line, key.after, key.in_flow()) {
            Value::Node => Err(self.shared(what.into(), key.number())),
            _ => Ok(()),
        }
    }

    /// Refuse a key the model found outside `lines` (merged from an anchor elsewhere).
    fn inside(
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

    fn service_block(&self, svc: &ComposeService) -> Result<ServiceBlock, EditError> {
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

    fn healthcheck_block(&self, svc: &ComposeService, at: Pos) -> Result<HcBlock, EditError> {
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
    fn block_end(&self, key: &Key, literal: bool) -> usize {
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
    fn child_indent(&self, key: &Key, end: usize) -> Option<usize> {
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

    /// What follows byte `from` of `line` (after a key's colon): which kind of value, where.
    fn value(&self, line: usize, from: usize, in_flow: bool) -> Value {
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
    fn quoted_end(&self, line: usize, start: usize, quote: char) -> Option<(usize, usize)> {
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
    fn flow_end(&self, line: usize, start: usize) -> Option<(usize, usize)> {
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
    fn trailing_comment(&self, line: usize, from: usize) -> Option<String> {
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

    /// Replace the scalar value of `key` (on its line) by `value`, keeping its quotes.
    fn replace_scalar(&self, key: &Key, value: &str, what: &str) -> Result<Splice, EditError> {
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

    /// `entry` added to a flow-style healthcheck: last (`at_end`) or first.
    fn insert_in_flow(
        &self,
        hcb: &HcBlock,
        entry: &str,
        at_end: bool,
    ) -> Result<Splice, EditError> {
        let HcBlock::Flow { open, close } = hcb else {
            unreachable!("insert_in_flow is given a flow block");
        };
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
    fn apply(&self, splice: &Splice) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::compose::Healthcheck;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/edits")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn model(text: &str) -> ComposeModel {
        compose::parse(Path::new("docker-compose.yml"), text, &|_| None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Snapshot the diff (in `fixtures/edits/snapshots/`).
    fn snapshot(name: &str, edit: &Edit) {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../../fixtures/edits/snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(name, edit.diff()));
    }

    /// The lines the diff removes and adds, without the markers.
    fn changed(edit: &Edit) -> (Vec<String>, Vec<String>) {
        let diff = edit.diff();
        let body = diff.lines().skip(2).filter(|l| !l.starts_with("@@"));
        let (mut minus, mut plus) = (Vec::new(), Vec::new());
        for l in body {
            if let Some(t) = l.strip_prefix('-') {
                minus.push(t.to_string());
            } else if let Some(t) = l.strip_prefix('+') {
                plus.push(t.to_string());
            }
        }
        (minus, plus)
    }

    /// The new text's model equals the old one's, positions aside, except `service`, which
    /// equals the old one with `intended` applied; and the edit is idempotent.
    fn assert_only(
        edit: &Edit,
        service: &str,
        intended: impl Fn(&mut ComposeService),
        again: impl Fn(&str, &ComposeModel) -> Result<Edit, EditError>,
    ) -> ComposeModel {
        let (before, after) = (model(&edit.old), model(&edit.new));
        assert_eq!(before.version, after.version);
        assert_eq!(before.services.len(), after.services.len());
        for (b, a) in before.services.iter().zip(&after.services) {
            let mut want = without_positions(b);
            if b.name == service {
                intended(&mut want);
            }
            assert_eq!(without_positions(a), want, "service {}", b.name);
        }
        let second = again(&edit.new, &after).expect("applies again");
        assert!(second.is_noop(), "not idempotent:\n{}", second.diff());
        after
    }

    fn condition_of(m: &ComposeModel, service: &str, dep: &str) -> Condition {
        let svc = m.service(service).unwrap();
        svc.depends_on
            .iter()
            .find(|d| d.service == dep)
            .unwrap()
            .condition
    }

    fn healthcheck(m: &ComposeModel, service: &str) -> Healthcheck {
        m.service(service).unwrap().healthcheck.clone().unwrap()
    }

    /// Every edit that applies to the lab's stacks and these fixtures succeeds, passes its
    /// own check and is idempotent.
    #[test]
    fn every_applicable_edit_on_every_fixture_succeeds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files: Vec<_> = std::fs::read_dir(root.join("stacks"))
            .unwrap()
            .map(|e| e.unwrap().path().join("docker-compose.yml"))
            .filter(|p| p.is_file())
            .collect();
        for name in [
            "v38-four-spaces.yml",
            "spec-block-list.yml",
            "string-test.yml",
        ] {
            files.push(root.join("edits").join(name));
        }
        let mut edits = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let m = model(&text);
            let at = file.display().to_string();
            let mut check = |edit: Result<Edit, EditError>, again: &dyn Fn(&Edit) -> Edit| {
                let edit = edit.unwrap_or_else(|e| panic!("{at}: {e}"));
                assert!(!edit.is_noop(), "{at}");
                assert!(again(&edit).is_noop(), "{at}: not idempotent");
                edits += 1;
            };
            for svc in &m.services {
                let name = svc.name.as_str();
                for d in svc
                    .depends_on
                    .iter()
                    .filter(|d| d.condition == Condition::Started)
                {
                    let dep = d.service.as_str();
                    check(depends_on_healthy(&at, &text, &m, name, dep), &|e| {
                        depends_on_healthy(&at, &e.new, &model(&e.new), name, dep).unwrap()
                    });
                }
                if svc.healthcheck.is_some() {
                    check(set_start_period(&at, &text, &m, name, 99), &|e| {
                        set_start_period(&at, &e.new, &model(&e.new), name, 99).unwrap()
                    });
                    check(python_healthcheck(&at, &text, &m, name, URL), &|e| {
                        python_healthcheck(&at, &e.new, &model(&e.new), name, URL).unwrap()
                    });
                }
            }
        }
        assert!(edits > 100, "only {edits} edits tried");
    }

    // ---- to_lf -------------------------------------------------------------------------

    #[test]
    fn crlf_becomes_lf_and_the_diff_shows_it() {
        let script = "#!/bin/sh\r\nset -e\r\nexec gunicorn app:app\r\n";
        let edit = to_lf("entrypoint.sh", script, false);
        assert_eq!(edit.new, "#!/bin/sh\nset -e\nexec gunicorn app:app\n");
        assert_eq!(
            edit.diff(),
            "--- a/entrypoint.sh\n+++ b/entrypoint.sh\n@@ -1,3 +1,3 @@\n-#!/bin/sh␍\n\
             -set -e␍\n-exec gunicorn app:app␍\n+#!/bin/sh\n+set -e\n+exec gunicorn app:app\n"
        );
        assert!(to_lf("entrypoint.sh", &edit.new, false).is_noop());
    }

    #[test]
    fn a_cr_at_the_very_end_goes_too_but_not_one_inside_a_line() {
        let edit = to_lf("x.sh", "echo 'a\rb'\r\nexit 0\r", false);
        assert_eq!(edit.new, "echo 'a\rb'\nexit 0");
        assert!(to_lf("x.sh", "a\nb\n", false).is_noop());
    }

    #[test]
    fn the_bom_goes_only_when_asked() {
        let text = "\u{feff}#!/bin/sh\r\n";
        assert_eq!(to_lf("x.sh", text, true).new, "#!/bin/sh\n");
        assert_eq!(to_lf("x.sh", text, false).new, "\u{feff}#!/bin/sh\n");
        assert!(
            to_lf("x.sh", text, true)
                .diff()
                .contains("-<U+FEFF>#!/bin/sh␍\n")
        );
    }

    // ---- depends_on_healthy --------------------------------------------------------------

    fn healthy(dep: &'static str, rewrite: bool) -> impl Fn(&mut ComposeService) {
        move |s: &mut ComposeService| {
            for d in &mut s.depends_on {
                if rewrite {
                    d.long_form = true;
                    d.condition_pos = Some(Pos::default());
                }
                if d.service == dep {
                    d.condition = Condition::Healthy;
                    d.condition_pos = Some(Pos::default());
                }
            }
        }
    }

    fn depends(name: &str, service: &'static str, dep: &'static str) -> (Edit, ComposeModel) {
        let text = fixture(name);
        let m = model(&text);
        let edit =
            depends_on_healthy(name, &text, &m, service, dep).unwrap_or_else(|e| panic!("{e}"));
        let rewrite = !m.service(service).unwrap().depends_on[0].long_form;
        let after = assert_only(&edit, service, healthy(dep, rewrite), |t, m| {
            depends_on_healthy(name, t, m, service, dep)
        });
        assert_eq!(condition_of(&after, service, dep), Condition::Healthy);
        (edit, after)
    }

    #[test]
    fn a_short_block_list_becomes_the_mapping_form() {
        let (edit, after) = depends("depends-on-not-healthy.yml", "web", "db");
        assert_eq!(condition_of(&after, "web", "redis"), Condition::Started);
        assert_eq!(
            changed(&edit),
            (
                vec!["      - db".into(), "      - redis".into()],
                vec![
                    "      db:".into(),
                    "        condition: service_healthy".into(),
                    "      redis:".into(),
                    "        condition: service_started".into(),
                ]
            )
        );
        // The lab's expected fix, recorded with GNU diff in fixtures/edits/diff/.
        assert_eq!(
            edit.diff(),
            fixture("diff/compose-depends.diff")
                .replace("compose-depends", "depends-on-not-healthy.yml")
        );
    }

    #[test]
    fn a_flow_list_becomes_the_mapping_form_with_four_spaces_and_its_comment() {
        let (edit, _) = depends("v38-four-spaces.yml", "web", "redis");
        assert_eq!(
            changed(&edit),
            (
                vec![
                    r#"        depends_on: [db, "redis"]   # short form: started, not ready"#
                        .into()
                ],
                vec![
                    "        depends_on:   # short form: started, not ready".into(),
                    "            db:".into(),
                    "                condition: service_started".into(),
                    r#"            "redis":"#.into(),
                    "                condition: service_healthy".into(),
                ]
            )
        );
        snapshot("v38_web_redis_healthy", &edit);
    }

    #[test]
    fn a_block_list_keeps_its_comments() {
        let (edit, _) = depends("v38-four-spaces.yml", "worker", "db");
        snapshot("v38_worker_db_healthy", &edit);
        let (_, plus) = changed(&edit);
        assert!(
            plus.contains(&"            redis:   # the queue".to_string()),
            "{plus:?}"
        );
        assert!(
            !edit.diff().contains("-            # the database"),
            "comment kept in place"
        );
    }

    #[test]
    fn a_block_list_at_its_keys_indentation() {
        let (edit, _) = depends("spec-block-list.yml", "web", "db");
        snapshot("spec_web_db_healthy", &edit);
        let (_, plus) = changed(&edit);
        assert_eq!(plus[0], "      redis:");
        assert_eq!(plus[1], "        condition: service_started");
    }

    #[test]
    fn long_form_without_condition_gets_one_inserted() {
        // `db:` with nothing: a new indented line.
        let (edit, _) = depends("spec-block-list.yml", "worker", "db");
        assert_eq!(
            changed(&edit),
            (vec![], vec!["        condition: service_healthy".into()])
        );
        // `redis: {restart: true}`: into the flow mapping.
        let (edit, _) = depends("spec-block-list.yml", "worker", "redis");
        assert_eq!(
            changed(&edit).1,
            vec!["      redis: {condition: service_healthy, restart: true}".to_string()]
        );
        // `web:` with keys below: at their indentation.
        let (edit, _) = depends("spec-block-list.yml", "worker", "web");
        snapshot("spec_worker_web_healthy", &edit);
        // `redis: ~   # …` and `db: {}`.
        let (edit, _) = depends("spec-block-list.yml", "flower", "redis");
        assert_eq!(
            changed(&edit).1,
            vec![
                "      redis:   # nothing to wait for".to_string(),
                "        condition: service_healthy".into()
            ]
        );
        let (edit, _) = depends("spec-block-list.yml", "flower", "db");
        assert_eq!(
            changed(&edit).1,
            vec!["      db: {condition: service_healthy}".to_string()]
        );
    }

    #[test]
    fn long_form_started_changes_only_the_value_and_keeps_quotes() {
        let (edit, _) = depends("string-test.yml", "flower", "web");
        assert_eq!(
            changed(&edit),
            (
                vec![r#"        condition: "service_started""#.into()],
                vec![r#"        condition: "service_healthy""#.into()]
            )
        );
    }

    #[test]
    fn already_healthy_is_no_change_and_missing_is_an_error() {
        let text = fixture("healthcheck-start-period-short.yml");
        let m = model(&text);
        assert!(
            depends_on_healthy("f", &text, &m, "worker", "web")
                .unwrap()
                .is_noop()
        );
        let err = depends_on_healthy("f", &text, &m, "web", "worker").unwrap_err();
        assert_eq!(err.to_string(), "web has no depends_on on worker in f");
        let err = depends_on_healthy("f", &text, &m, "nginx", "db").unwrap_err();
        assert!(matches!(err, EditError::NoService { .. }), "{err}");
    }

    #[test]
    fn dependencies_written_through_anchors_are_refused() {
        let text = fixture("anchors.yml");
        let m = model(&text);
        for service in ["web", "api"] {
            let err = depends_on_healthy("anchors.yml", &text, &m, service, "db").unwrap_err();
            assert!(matches!(err, EditError::Shared { .. }), "{service}: {err}");
            assert!(err.to_string().contains("edit it by hand"), "{err}");
        }
        // A plain list in the same file is fine.
        let edit = depends_on_healthy("anchors.yml", &text, &m, "worker", "db").unwrap();
        assert_eq!(
            condition_of(&model(&edit.new), "worker", "db"),
            Condition::Healthy
        );
    }

    #[test]
    fn a_stale_model_is_refused() {
        let text = fixture("depends-on-not-healthy.yml");
        let m = model(&text);
        let shifted = format!("# one more line\n{text}");
        let err = depends_on_healthy("f", &shifted, &m, "web", "db").unwrap_err();
        assert!(matches!(err, EditError::Stale { .. }), "{err}");
    }

    #[test]
    fn crlf_compose_files_stay_crlf() {
        let text = fixture("depends-on-not-healthy.yml").replace('\n', "\r\n");
        let m = model(&text);
        let edit = depends_on_healthy("f", &text, &m, "web", "db").unwrap();
        assert_eq!(
            edit.new.matches('\n').count(),
            edit.new.matches("\r\n").count()
        );
        assert_eq!(
            condition_of(&model(&edit.new), "web", "db"),
            Condition::Healthy
        );
        let edit = set_start_period("f", &text, &m, "redis", 30).unwrap();
        assert_eq!(
            edit.new.matches('\n').count(),
            edit.new.matches("\r\n").count()
        );
        assert_eq!(
            changed(&edit),
            (vec![], vec!["      start_period: 30s␍".into()])
        );
    }

    #[test]
    fn a_flow_style_service_stays_on_its_line() {
        let text = "services:\n  db: {image: pg, healthcheck: {test: [\"CMD\", \"true\"]}}\n  web: {image: app, depends_on: [db]}\n";
        let m = model(text);
        let edit = depends_on_healthy("f", text, &m, "web", "db").unwrap();
        assert_eq!(
            changed(&edit).1,
            vec!["  web: {image: app, depends_on: {db: {condition: service_healthy}}}".to_string()]
        );
        assert_eq!(
            condition_of(&model(&edit.new), "web", "db"),
            Condition::Healthy
        );
    }

    // ---- set_start_period ----------------------------------------------------------------

    fn start_period(name: &str, service: &'static str, secs: u64) -> (Edit, ComposeModel) {
        let text = fixture(name);
        let m = model(&text);
        let edit =
            set_start_period(name, &text, &m, service, secs).unwrap_or_else(|e| panic!("{e}"));
        let intended = |s: &mut ComposeService| {
            let h = s.healthcheck.as_mut().unwrap();
            h.start_period = Some(Duration::from_secs(secs));
            h.key_pos.insert("start_period".into(), Pos::default());
        };
        let after = assert_only(&edit, service, intended, |t, m| {
            set_start_period(name, t, m, service, secs)
        });
        assert_eq!(
            healthcheck(&after, service).start_period,
            Some(Duration::from_secs(secs))
        );
        (edit, after)
    }

    #[test]
    fn start_period_is_replaced_in_place() {
        let (edit, _) = start_period("healthcheck-start-period-short.yml", "web", 60);
        assert_eq!(
            changed(&edit),
            (
                vec!["      start_period: 2s".into()],
                vec!["      start_period: 60s".into()]
            )
        );
        let (edit, _) = start_period("string-test.yml", "web", 90);
        assert_eq!(
            changed(&edit).1,
            vec!["      start_period: '90s'".to_string()]
        );
        let (edit, _) = start_period("spec-block-list.yml", "web", 120);
        assert_eq!(
            changed(&edit).1,
            vec!["      start_period: 120s".to_string()]
        );
    }

    #[test]
    fn start_period_is_inserted_after_the_last_timing_key() {
        let (edit, _) = start_period("healthcheck-start-period-short.yml", "redis", 30);
        assert_eq!(
            changed(&edit),
            (vec![], vec!["      start_period: 30s".into()])
        );
        assert!(
            edit.diff()
                .contains("       retries: 20\n+      start_period: 30s\n \n   web:")
        );
        // Quoted like the block's other durations, at four spaces.
        let (edit, _) = start_period("v38-four-spaces.yml", "db", 45);
        assert_eq!(
            changed(&edit),
            (vec![], vec![r#"            start_period: "45s""#.into()])
        );
        let (edit, _) = start_period("v38-four-spaces.yml", "web", 45);
        snapshot("v38_web_start_period", &edit);
        // After `interval` when that is the only timing key.
        let (edit, _) = start_period("string-test.yml", "flower", 30);
        assert!(
            edit.diff()
                .contains("       interval: 10s\n+      start_period: 30s\n"),
            "{}",
            edit.diff()
        );
    }

    #[test]
    fn start_period_in_a_flow_healthcheck() {
        let (edit, _) = start_period("spec-block-list.yml", "db", 20);
        assert_eq!(
            changed(&edit).1,
            vec![
                r#"    healthcheck: {test: ["CMD-SHELL", "pg_isready"], interval: 5s, retries: 5, start_period: 20s}"#
                    .to_string()
            ]
        );
    }

    #[test]
    fn start_period_replaced_inside_a_flow_healthcheck() {
        let (first, after) = start_period("spec-block-list.yml", "redis", 20);
        assert_eq!(
            changed(&first).1,
            vec![r#"    healthcheck: {test: "redis-cli ping", start_period: 20s}"#.to_string()]
        );
        let second = set_start_period("f", &first.new, &after, "redis", 40).unwrap();
        assert_eq!(
            changed(&second).1,
            vec![r#"    healthcheck: {test: "redis-cli ping", start_period: 40s}"#.to_string()]
        );
    }

    #[test]
    fn a_file_without_final_newline_keeps_it_that_way() {
        let text = "services:\n  web:\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      retries: 3";
        let edit = set_start_period("f", text, &model(text), "web", 30).unwrap();
        assert_eq!(edit.new, format!("{text}\n      start_period: 30s"));
        let edit = python_healthcheck("f", text, &model(text), "web", URL).unwrap();
        assert!(edit.new.ends_with("\n      retries: 3"), "{}", edit.new);
    }

    #[test]
    fn durations_from_variables_are_edited_by_position() {
        let text = "services:\n  web:\n    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: ${HC_INTERVAL}\n";
        let vars = |name: &str| (name == "HC_INTERVAL").then(|| "5s".to_string());
        let m = compose::parse(Path::new("f"), text, &vars).unwrap();
        let edit = set_start_period("f", text, &m, "web", 30).unwrap();
        assert_eq!(
            changed(&edit),
            (vec![], vec!["      start_period: 30s".into()])
        );
        let after = compose::parse(Path::new("f"), &edit.new, &vars).unwrap();
        assert_eq!(
            healthcheck(&after, "web").start_period,
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn the_check_refuses_a_change_to_another_service() {
        let old = fixture("depends-on-not-healthy.yml");
        let new = old.replace("retries: 20\n\n  web:", "retries: 21\n\n  web:");
        let err = verify("f", &old, &new, "web", |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the edited f would not say what was intended (redis changed too (a shared \
             anchor?)): edit it by hand"
        );
        let err = verify(
            "f",
            &old,
            &old.replace("retries: 3", "retries: 4"),
            "web",
            |_| {},
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("web changed in another way"),
            "{err}"
        );
        let err = verify("f", &old, &old.replace("  web:", "  web: ["), "web", |_| {}).unwrap_err();
        assert!(err.to_string().contains("no longer parses"), "{err}");
        assert_eq!(verify("f", &old, &old, "web", |_| {}), Ok(()));
    }

    #[test]
    fn a_merged_start_period_is_overridden_in_the_service_not_in_the_anchor() {
        let (edit, _) = start_period("anchors.yml", "api", 40);
        assert_eq!(
            changed(&edit),
            (vec![], vec!["      start_period: 40s".into()])
        );
    }

    #[test]
    fn start_period_needs_a_healthcheck_of_its_own() {
        let text = fixture("spec-block-list.yml");
        let m = model(&text);
        let err = set_start_period("f", &text, &m, "worker", 30).unwrap_err();
        assert_eq!(
            err.to_string(),
            "worker has no healthcheck block in f: add one by hand"
        );
        let text = fixture("anchors.yml");
        let m = model(&text);
        let err = set_start_period("anchors.yml", &text, &m, "web", 30).unwrap_err();
        assert!(matches!(err, EditError::Shared { .. }), "{err}");
        // Already long enough: nothing to do.
        let text = fixture("healthcheck-tool-missing.yml");
        let m = model(&text);
        assert!(
            set_start_period("f", &text, &m, "web", 10)
                .unwrap()
                .is_noop()
        );
    }

    // ---- python_healthcheck --------------------------------------------------------------

    const URL: &str = "http://localhost:5001/api/settings/profiles";

    fn python(name: &str, service: &'static str, url: &'static str) -> (Edit, ComposeModel) {
        let text = fixture(name);
        let m = model(&text);
        let edit =
            python_healthcheck(name, &text, &m, service, url).unwrap_or_else(|e| panic!("{e}"));
        let intended = |s: &mut ComposeService| {
            let h = s.healthcheck.as_mut().unwrap();
            h.test = python_test(url);
            h.key_pos.insert("test".into(), Pos::default());
        };
        let after = assert_only(&edit, service, intended, |t, m| {
            python_healthcheck(name, t, m, service, url)
        });
        assert_eq!(healthcheck(&after, service).test, python_test(url));
        (edit, after)
    }

    #[test]
    fn a_curl_flow_list_becomes_the_python_one_liner() {
        let (edit, _) = python("healthcheck-tool-missing.yml", "web", URL);
        assert_eq!(
            changed(&edit),
            (
                vec![r#"      test: ["CMD-SHELL", "curl -fsS http://localhost:5001/api/settings/profiles || exit 1"]"#.into()],
                vec![r#"      test: ["CMD", "python3", "-c", "import sys, urllib.request; urllib.request.urlopen('http://localhost:5001/api/settings/profiles', timeout=3); sys.exit(0)"]"#.into()]
            )
        );
        snapshot("tool_missing_web_python", &edit);
    }

    #[test]
    fn a_plain_string_test_keeps_its_comment() {
        let (edit, _) = python("string-test.yml", "web", URL);
        let (minus, plus) = changed(&edit);
        assert_eq!(minus.len(), 1);
        assert!(
            plus[0].starts_with(r#"      test: ["CMD", "python3", "-c", "#),
            "{plus:?}"
        );
        assert!(plus[0].ends_with("\"]   # needs curl"), "{plus:?}");
    }

    #[test]
    fn block_lists_and_folded_tests_are_replaced_whole() {
        let (edit, _) = python("v38-four-spaces.yml", "web", URL);
        snapshot("v38_web_python", &edit);
        let (minus, plus) = changed(&edit);
        assert_eq!(minus.len(), 4, "{minus:?}");
        assert_eq!(
            &plus[..2],
            [
                "            # through a shell",
                "            # curl is not in the slim image"
            ]
        );
        let (edit, _) = python(
            "string-test.yml",
            "flower",
            "http://localhost:5555/healthcheck",
        );
        assert_eq!(changed(&edit).0.len(), 3);
        assert_eq!(changed(&edit).1.len(), 1);
    }

    #[test]
    fn tests_inside_flow_healthchecks() {
        let (edit, _) = python("spec-block-list.yml", "redis", "http://localhost:6379/");
        let plus = changed(&edit).1;
        assert!(
            plus[0].starts_with(r#"    healthcheck: {test: ["CMD", "python3""#),
            "{plus:?}"
        );
        assert!(plus[0].ends_with("sys.exit(0)\"]}"), "{plus:?}");
    }

    #[test]
    fn tests_written_through_anchors_are_refused() {
        let text = fixture("anchors.yml");
        let m = model(&text);
        for service in ["web", "worker", "beat"] {
            let err = python_healthcheck("anchors.yml", &text, &m, service, URL).unwrap_err();
            assert!(matches!(err, EditError::Shared { .. }), "{service}: {err}");
        }
        let err = python_healthcheck("anchors.yml", &text, &m, "beat", URL).unwrap_err();
        assert_eq!(
            err.to_string(),
            "beat's healthcheck test is written as an anchor/alias (anchors.yml:41): edit it by hand"
        );
        // A merged test is overridden in the service's own block.
        let (edit, _) = python("anchors.yml", "api", URL);
        assert_eq!(changed(&edit).0.len(), 0);
        assert!(changed(&edit).1[0].starts_with("      test: [\"CMD\", \"python3\""));
    }

    #[test]
    fn awkward_urls_are_quoted_for_yaml_compose_and_python() {
        let url = r#"http://localhost:5001/a'b"c\d$e?x=1"#;
        let (edit, _) = python("healthcheck-tool-missing.yml", "web", url);
        let code = python_test(url).pop().unwrap();
        assert!(
            code.contains(r#"urlopen('http://localhost:5001/a\'b"c\\d$e?x=1', timeout=3)"#),
            "{code}"
        );
        assert!(edit.new.contains("$$e"), "compose needs $$ for a literal $");
        for bad in ["ftp://x/", "http://a b/", "localhost:5001/", "http://x/\n"] {
            let text = fixture("healthcheck-tool-missing.yml");
            let err = python_healthcheck("f", &text, &model(&text), "web", bad).unwrap_err();
            assert!(matches!(err, EditError::BadUrl { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn no_healthcheck_is_an_error() {
        let text = fixture("spec-block-list.yml");
        let err = python_healthcheck("f", &text, &model(&text), "worker", URL).unwrap_err();
        assert!(matches!(err, EditError::NoHealthcheck { .. }), "{err}");
    }

    /// The one-liner exits 0 on a 200 and non-zero on a 500 or a refused connection, as
    /// Docker needs (needs `python3` on the host).
    #[test]
    fn the_one_liner_fails_on_http_errors() {
        use std::io::{Read, Write};
        use std::net::TcpListener;
        use std::process::Command;
        if Command::new("python3").arg("-V").output().is_err() {
            eprintln!("python3 not found: skipped");
            return;
        }
        let run = |status: &'static str| -> i32 {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = std::thread::spawn(move || {
                let (mut conn, _) = listener.accept().unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                let answer = format!("HTTP/1.0 {status}\r\nContent-Length: 2\r\n\r\nok");
                conn.write_all(answer.as_bytes()).unwrap();
            });
            let code = python_code(&format!("http://127.0.0.1:{port}/health"));
            let out = Command::new("python3")
                .args(["-c", &code])
                .output()
                .unwrap();
            server.join().unwrap();
            out.status.code().unwrap_or(-1)
        };
        assert_eq!(run("200 OK"), 0);
        assert_ne!(run("500 Internal Server Error"), 0);
        assert_ne!(run("404 Not Found"), 0);
        // Nothing listening: refused.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let code = python_code(&format!("http://127.0.0.1:{port}/"));
        let out = Command::new("python3")
            .args(["-c", &code])
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0));
    }
}
