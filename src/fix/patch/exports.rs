//! `import-name-missing`: restore the export a module lost.
//!
//! When the module binds a name close to the missing one (a rename: `Session` →
//! `ScopedSession`), the old name is bound again right after the new one's module-level
//! binding (`Session = ScopedSession`), so every importer keeps working and none has to be
//! found and changed. An import cycle (`import-name-missing-cycle`) is not patched here: turning
//! it into a late import changes when code runs, which is for a person to choose.
use super::{FileChange, Input, PatchError, SourcePatch, hinted, refuse, short};
use crate::probes::python::{Analysis, MissingImport};

fn target<'a>(input: &'a Input<'_>) -> Result<&'a MissingImport, PatchError> {
    let named = hinted(&input.hints, r"cannot import name '([^']+)' from '([^']+)'");
    input
        .analysis
        .missing_imports
        .iter()
        .find(|m| {
            named
                .as_ref()
                .is_none_or(|c| c[0] == m.name && c[1] == m.module)
        })
        .ok_or_else(|| PatchError::NothingFound("import of a missing name".into()))
}

pub fn patch(input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let mi = target(input)?;
    let Some(m) = input.tree.module(&mi.module) else {
        return Err(refuse(format!("{} is not in the source read", mi.module)));
    };
    let Some(nearby) = mi.defined_nearby.first() else {
        return Err(refuse(format!(
            "{} binds no name close to `{}`: where it went is for a person to find",
            mi.module, mi.name
        )));
    };
    let text = m.text();
    let ls = super::text::lines(text);
    let assign = regex::Regex::new(&format!(
        r"^{n}\s*(?::[^=]*)?=[^=]",
        n = regex::escape(nearby)
    ))
    .expect("escaped");
    let def = regex::Regex::new(&format!(
        r"^(?:async\s+)?(?:def|class)\s+{n}\b",
        n = regex::escape(nearby)
    ))
    .expect("escaped");
    let assigned: Vec<usize> = (0..ls.len()).filter(|&i| assign.is_match(ls[i])).collect();
    let defined = ls.iter().any(|l| def.is_match(l));
    let line = format!("{} = {nearby}", mi.name);
    let new = match (assigned.as_slice(), defined) {
        ([i], false) => {
            // After the whole statement: its brackets closed.
            let mut end = *i;
            let mut depth = 0i32;
            loop {
                for c in ls[end].chars() {
                    match c {
                        '(' | '[' | '{' => depth += 1,
                        ')' | ']' | '}' => depth -= 1,
                        _ => {}
                    }
                }
                if depth <= 0 || end + 1 >= ls.len() {
                    break;
                }
                end += 1;
            }
            super::text::insert_before(text, end as u32 + 2, &line)
        }
        ([], true) => {
            // After a def or class: at the end of the module, where it is bound.
            let nl = super::text::eol(text);
            let mut t = text.to_owned();
            if !t.ends_with('\n') {
                t.push_str(nl);
            }
            t.push_str(nl);
            t.push_str(&line);
            t.push_str(nl);
            Some(t)
        }
        _ => None,
    }
    .ok_or_else(|| {
        refuse(format!(
            "`{nearby}` is bound more than once at module level in {}: where to restore `{}` is \
             for a person to choose",
            short(m.path()),
            mi.name
        ))
    })?;
    Ok(SourcePatch {
        class: "import-name-missing".into(),
        changes: vec![FileChange {
            path: m.path().to_owned(),
            old: text.to_owned(),
            new,
        }],
        how: vec![format!(
            "restore the export: {} binds `{}` again as `{nearby}` (its new name), so {}:{} and \
             every other importer of `{}` work unchanged; not a cycle, so no late import",
            short(m.path()),
            mi.name,
            short(&mi.at.file),
            mi.at.line,
            mi.name
        )],
    })
}

pub fn holds(input: &Input<'_>, after: &Analysis) -> Option<String> {
    let mi = target(input).ok()?;
    after
        .missing_imports
        .iter()
        .find(|a| a.module == mi.module && a.name == mi.name)
        .map(|a| format!("{} still binds no `{}` ({})", a.module, a.name, a.at))
}
