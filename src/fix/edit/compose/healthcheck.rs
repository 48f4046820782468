//! A service's healthcheck: its `start_period`, and a `test:` that needs no curl.
use super::doc::{Doc, HcBlock, Key, Splice};
use super::scan::{Value, comment_in};
use super::verify::verify;
use super::{Edit, EditError, find_service, no_healthcheck};
use crate::stack::compose::{ComposeModel, Pos};
use std::time::Duration;

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
                HcBlock::Flow { open, close } => doc.insert_in_flow(*open, *close, &entry, true)?,
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
pub(super) fn python_code(url: &str) -> String {
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
        (None, HcBlock::Flow { open, close }) => {
            doc.insert_in_flow(*open, *close, &format!("test: {new_value}"), false)?
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
