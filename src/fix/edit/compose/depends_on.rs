//! `depends_on` waits for a dependency's health: the short form rewritten into the mapping
//! form, a long form's condition replaced or inserted.
use super::doc::{Doc, Key, Splice};
use super::scan::{Value, char_to_byte, comment_in};
use super::verify::verify;
use super::{Edit, EditError, find_service};
use crate::stack::compose::{self, ComposeModel, ComposeService, Condition, Pos};

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
