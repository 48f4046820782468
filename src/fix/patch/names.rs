//! `name-not-defined`: import the name from the module that defines it.
//!
//! The name goes into the file's existing `from <module> import …` line when there is one
//! (alphabetically when that list is sorted, else at its end), else a new
//! `from <module> import <name>` line after the last top-level import.
use super::{FileChange, Input, PatchError, SourcePatch, binds_re, hinted, module, refuse, short};
use crate::probes::python::{Analysis, NameUse};

fn target<'a>(input: &'a Input<'_>) -> Result<&'a NameUse, PatchError> {
    let named = hinted(&input.hints, r"name '([^']+)' is not defined").map(|c| c[0].clone());
    input
        .analysis
        .undefined_names
        .iter()
        .find(|u| named.as_ref().is_none_or(|n| *n == u.name))
        .ok_or_else(|| PatchError::NothingFound("undefined name".into()))
}

pub fn patch(input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let u = target(input)?;
    let using = module(input.tree, &u.at.file)?;
    let re = binds_re(&u.name);
    let homes: Vec<&str> = input
        .tree
        .modules()
        .filter(|m| m.path() != u.at.file && re.is_match(m.text()))
        .map(|m| m.name())
        .collect();
    let home = match homes.as_slice() {
        [one] => *one,
        [] => {
            return Err(refuse(format!(
                "no module of the source defines `{}`",
                u.name
            )));
        }
        many => {
            return Err(refuse(format!(
                "`{}` is defined in {} modules ({}): which to import is for a person to choose",
                u.name,
                many.len(),
                many.join(", ")
            )));
        }
    };
    let old = using.text();
    let new = add_name(old, home, &u.name);
    Ok(SourcePatch {
        class: "name-not-defined".into(),
        changes: vec![FileChange {
            path: u.at.file.clone(),
            old: old.to_owned(),
            new,
        }],
        how: vec![format!(
            "import `{}` from {home}, the one module that defines it ({}:{} uses it)",
            u.name,
            short(&u.at.file),
            u.at.line
        )],
    })
}

/// `from home import …` with `name` added: to an existing single-line import of that module,
/// else as a new line after the last top-level import.
pub fn add_name(text: &str, home: &str, name: &str) -> String {
    let head = format!("from {home} import ");
    let ls = super::text::lines(text);
    for (i, l) in ls.iter().enumerate() {
        let content = l.trim_end_matches(['\r', '\n']);
        let Some(list) = content.strip_prefix(&head) else {
            continue;
        };
        if list.contains(['(', '\\', '#', ';']) {
            continue;
        }
        let names: Vec<&str> = list.split(',').map(str::trim).collect();
        if names.iter().any(|n| n.is_empty() || n.contains(' ')) {
            continue;
        }
        let mut new_names = names.clone();
        let sorted = names.windows(2).all(|w| w[0] <= w[1]);
        let at = if sorted {
            new_names.partition_point(|n| *n < name)
        } else {
            new_names.len()
        };
        new_names.insert(at, name);
        let line = format!("{head}{}", new_names.join(", "));
        return super::text::replace_line(text, i as u32 + 1, &line).unwrap_or_default();
    }
    let line = format!("from {home} import {name}");
    let last = ls
        .iter()
        .rposition(|l| l.starts_with("import ") || l.starts_with("from "));
    let at = match last {
        Some(i) => {
            // A parenthesised import ends at its `)`.
            let mut end = i;
            if ls[i].contains('(') && !ls[i].contains(')') {
                while end + 1 < ls.len() && !ls[end].contains(')') {
                    end += 1;
                }
            }
            end + 2
        }
        None => 1,
    };
    super::text::insert_before(text, at as u32, &line).unwrap_or_default()
}

/// Whether the name is still undefined where it was.
pub fn holds(input: &Input<'_>, after: &Analysis) -> Option<String> {
    let u = target(input).ok()?;
    after
        .undefined_names
        .iter()
        .find(|a| a.name == u.name && a.at.file == u.at.file)
        .map(|a| format!("`{}` is still undefined at {}", a.name, a.at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_a_sorted_import_in_order() {
        let t = "import x\nfrom utils.database import Session, has_default_data, seed_default_data\n\nx()\n";
        assert_eq!(
            add_name(t, "utils.database", "init_db"),
            "import x\nfrom utils.database import Session, has_default_data, init_db, seed_default_data\n\nx()\n"
        );
        let t = "import x\r\n\r\ndef f():\r\n    pass\r\n";
        assert_eq!(
            add_name(t, "m", "g"),
            "import x\r\nfrom m import g\r\n\r\ndef f():\r\n    pass\r\n"
        );
    }
}
