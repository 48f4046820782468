//! `gunicorn-worker-reinit`: remove the initialisation every worker repeats, keeping the one the
//! entrypoint runs before gunicorn (`flask init-db`), as the user's own resolution did.
//!
//! The call removed is the one in the chain from the module-level call down to the writes that
//! names the initialisation (`app_globals.initialize_app()` inside `create_app()`): a statement
//! of its own line. A block it leaves empty gets `pass`. Without an init command in the
//! entrypoint (the one init that stays), or when the call is the module-level statement itself,
//! or a gunicorn hook's, nothing is patched: where the init should run is for a person to choose.
use super::{FileChange, Input, PatchError, SourcePatch, refuse, short};
use crate::probes::python::{Analysis, Finding, InitKind, script_runs_flask_command};

fn target<'a>(input: &'a Input<'_>) -> Result<&'a Finding, PatchError> {
    input
        .analysis
        .init_at_import
        .iter()
        .find(|f| f.kind != InitKind::Schema)
        .ok_or_else(|| {
            if input.analysis.hook_init.is_empty() {
                PatchError::NothingFound("initialisation at import".into())
            } else {
                refuse("the initialisation runs in a gunicorn hook: moving it is for a person to choose")
            }
        })
}

pub fn patch(input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let f = target(input)?;
    let kept: Vec<String> = input
        .others
        .iter()
        .flat_map(|(path, text)| {
            script_runs_flask_command(text)
                .into_iter()
                .filter(|c| !matches!(c.command.as_str(), "run" | "shell" | "routes"))
                .map(move |c| format!("`flask {}` in {}", c.command, short(path)))
        })
        .collect();
    if kept.is_empty() {
        return Err(refuse(
            "the entrypoint runs no `flask` init command: removing the call would leave no \
             initialisation; make it idempotent instead",
        ));
    }
    let step = f
        .chain
        .iter()
        .skip(1)
        .find(|s| s.call == f.what)
        .ok_or_else(|| {
            refuse(format!(
                "`{}` is called at module level ({}): where else it should run is for a person to choose",
                f.what, f.at
            ))
        })?;
    let m = super::module(input.tree, &step.at.file)?;
    let text = m.text();
    let line = super::text::line(text, step.at.line)
        .ok_or_else(|| refuse(format!("{} has no line {}", step.at.file, step.at.line)))?;
    let stmt = line.trim();
    let alone = stmt.starts_with(&format!("{}(", step.call))
        && stmt.ends_with(')')
        && stmt.matches('(').count() == stmt.matches(')').count();
    if !alone {
        return Err(refuse(format!(
            "{}:{} is not a call statement of its own (`{stmt}`): edit it by hand",
            short(&step.at.file),
            step.at.line
        )));
    }
    // Does the block keep a statement? The previous code line opens it with `:`.
    let ls = super::text::lines(text);
    let i = step.at.line as usize - 1;
    let ind = super::text::indent(line).len();
    let code = |l: &&&str| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    };
    let opens = ls[..i]
        .iter()
        .rev()
        .find(code)
        .is_some_and(|l| l.trim_end().ends_with(':'));
    let next_in_block = ls[i + 1..]
        .iter()
        .find(code)
        .is_some_and(|l| super::text::indent(l).len() >= ind);
    let new = if opens && !next_in_block {
        super::text::replace_line(
            text,
            step.at.line,
            &format!("{}pass", super::text::indent(line)),
        )
    } else {
        super::text::remove_line(text, step.at.line)
    }
    .ok_or_else(|| refuse("the line moved"))?;
    Ok(SourcePatch {
        class: "gunicorn-worker-reinit".into(),
        changes: vec![FileChange {
            path: step.at.file.clone(),
            old: text.to_owned(),
            new,
        }],
        how: vec![format!(
            "remove `{stmt}` ({}:{}): every gunicorn worker ran it on import; the \
             initialisation stays in one place, {}",
            short(&step.at.file),
            step.at.line,
            kept.join(", ")
        )],
    })
}

pub fn holds(input: &Input<'_>, after: &Analysis) -> Option<String> {
    let f = target(input).ok()?;
    after
        .init_at_import
        .iter()
        .find(|a| a.what == f.what && a.kind != InitKind::Schema)
        .map(|a| format!("`{}` still runs at import ({})", a.what, a.at))
}
