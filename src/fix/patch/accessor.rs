//! `engine-used-before-init`: read the global through its accessor instead of a copy.
//!
//! `from utils.database import engine` copies the `None` the module holds at import; the
//! module rebinds its own `engine` later, the copy stays `None`. When the module has an accessor
//! (`def get_engine()` that returns the global), the import takes the accessor instead and every
//! read of the name in the importing file becomes a call (`engine.begin()` →
//! `get_engine().begin()`). Without an accessor, or when the file assigns the name itself,
//! nothing is patched.
use super::{FileChange, Input, PatchError, SourcePatch, refuse, short};
use crate::probes::python::{Analysis, NoneRebound};

fn target<'a>(input: &'a Input<'_>) -> Result<&'a NoneRebound, PatchError> {
    input
        .analysis
        .none_rebound
        .iter()
        .find(|n| !n.imported_at.is_empty())
        .ok_or_else(|| PatchError::NothingFound("None global copied by value".into()))
}

pub fn patch(input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let nr = target(input)?;
    let home = input
        .tree
        .module(&nr.module)
        .ok_or_else(|| refuse(format!("{} is not in the source read", nr.module)))?;
    let accessor = format!("get_{}", nr.name);
    let def = regex::Regex::new(&format!(
        r"(?m)^def\s+{}\s*\(\s*\)",
        regex::escape(&accessor)
    ))
    .expect("escaped");
    if !def.is_match(home.text()) {
        return Err(refuse(format!(
            "{} has no `{accessor}()` accessor: import the module and read `{}.{}` late, by hand",
            nr.module, nr.module, nr.name
        )));
    }
    let mut changes = Vec::new();
    let mut how = Vec::new();
    let mut files: Vec<&str> = nr.imported_at.iter().map(|l| l.file.as_str()).collect();
    files.dedup();
    for file in files {
        let m = super::module(input.tree, file)?;
        let at = nr
            .imported_at
            .iter()
            .find(|l| l.file == file)
            .map(|l| l.line)
            .unwrap_or(0);
        let (new, reads) = rewrite(m, &nr.module, &nr.name, &accessor, at)?;
        how.push(format!(
            "{}:{at}: import `{accessor}` instead of `{}` and call it at the {reads} place(s) \
             that read it: the copy taken at import stays None, the accessor returns the engine \
             {} creates",
            short(file),
            nr.name,
            nr.module
        ));
        changes.push(FileChange {
            path: file.to_owned(),
            old: m.text().to_owned(),
            new,
        });
    }
    Ok(SourcePatch {
        class: "engine-used-before-init".into(),
        changes,
        how,
    })
}

/// The file with the import at `line` taking `accessor` and every read of `name` a call.
fn rewrite(
    m: &crate::probes::python::Module,
    module: &str,
    name: &str,
    accessor: &str,
    line: u32,
) -> Result<(String, usize), PatchError> {
    let src = m.text();
    let import_line = super::text::line(src, line).unwrap_or_default();
    let head = format!("from {module} import ");
    let Some(list) = import_line.trim_start().strip_prefix(&head) else {
        return Err(refuse(format!(
            "{}:{line} is not a one-line `{head}…`",
            short(m.path())
        )));
    };
    if list.contains(['(', '\\', ';', '#']) {
        return Err(refuse(format!(
            "{}:{line}: a form this patch does not rewrite",
            short(m.path())
        )));
    }
    let names: Vec<&str> = list.split(',').map(str::trim).collect();
    if !names.contains(&name) {
        return Err(refuse(format!(
            "{}:{line} imports `{name}` under another name",
            short(m.path())
        )));
    }
    let mut new_names: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| *n != name && *n != accessor)
        .collect();
    let at = names
        .iter()
        .position(|n| *n == name)
        .unwrap_or(0)
        .min(new_names.len());
    new_names.insert(at, accessor);
    let new_import = format!(
        "{}{head}{}",
        super::text::indent(import_line),
        new_names.join(", ")
    );
    // Every identifier `name` that is read (not an attribute, keyword, parameter, import or
    // assignment target).
    let mut reads: Vec<(usize, usize)> = Vec::new();
    let mut assigned = false;
    let mut stack = vec![m.root()];
    let mut seen = 0usize;
    while let Some(n) = stack.pop() {
        seen += 1;
        if seen > 200_000 {
            return Err(refuse("the file is too large to rewrite"));
        }
        if n.kind() == "identifier" && &src[n.byte_range()] == name {
            let parent = n.parent();
            let pk = parent.map(|p| p.kind()).unwrap_or("");
            let field_is = |f: &str| {
                parent.is_some_and(|p| p.child_by_field_name(f).is_some_and(|c| c.id() == n.id()))
            };
            if matches!(
                pk,
                "import_from_statement" | "dotted_name" | "aliased_import"
            ) {
                continue;
            }
            if pk == "attribute" && field_is("attribute")
                || pk == "keyword_argument" && field_is("name")
            {
                continue;
            }
            if matches!(
                pk,
                "parameters"
                    | "default_parameter"
                    | "typed_parameter"
                    | "global_statement"
                    | "nonlocal_statement"
            ) || (matches!(
                pk,
                "assignment" | "augmented_assignment" | "for_statement" | "as_pattern_target"
            ) && field_is("left"))
            {
                assigned = true;
                continue;
            }
            reads.push((n.start_byte(), n.end_byte()));
        }
        let mut cursor = n.walk();
        stack.extend(n.children(&mut cursor));
    }
    if assigned {
        return Err(refuse(format!(
            "{} binds `{name}` itself: rewriting its reads is for a person",
            short(m.path())
        )));
    }
    // Splice from the end so offsets stay right; the import line last (it is above the reads).
    reads.sort();
    let mut out = src.to_owned();
    for (s, e) in reads.iter().rev() {
        out.replace_range(*s..*e, &format!("{accessor}()"));
    }
    let out = super::text::replace_line(&out, line, &new_import)
        .ok_or_else(|| refuse("the import line moved"))?;
    Ok((out, reads.len()))
}

pub fn holds(input: &Input<'_>, after: &Analysis) -> Option<String> {
    let nr = target(input).ok()?;
    after
        .none_rebound
        .iter()
        .find(|a| a.module == nr.module && a.name == nr.name && !a.imported_at.is_empty())
        .map(|a| {
            format!(
                "`{}` is still copied by value at {}",
                a.name, a.imported_at[0]
            )
        })
}
