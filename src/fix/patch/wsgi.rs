//! `wsgi-app-not-found`: point gunicorn at the variable the module binds.
//!
//! The target `module:var` names a variable the module does not bind; the module binds one that
//! holds the app (`app`). The target is rewritten where it is written: the one place among the
//! entrypoint script, the compose file and the Dockerfile ([`Input::others`]) that holds
//! `module:var` as a word. Several places, or none, and nothing is patched.
use super::{FileChange, Input, PatchError, SourcePatch, refuse, short};
use crate::probes::python::{Analysis, SourceTree, Startup, WsgiTarget};

pub fn patch(input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let w = input
        .analysis
        .wsgi
        .as_ref()
        .filter(|w| w.module_found && !w.var_bound)
        .ok_or_else(|| {
            PatchError::NothingFound("gunicorn target naming an unbound variable".into())
        })?;
    let var = w
        .candidates
        .iter()
        .find(|c| c.as_str() == "app")
        .or_else(|| w.candidates.iter().find(|c| !c.contains('(')))
        .or_else(|| w.candidates.first())
        .ok_or_else(|| {
            refuse(format!(
                "{} binds nothing that looks like the app: which variable gunicorn should load is \
                 for a person to say",
                w.target.module
            ))
        })?;
    let old_target = format!("{}:{}", w.target.module, w.target.var);
    let new_target = format!("{}:{var}", w.target.module);
    let places: Vec<(&String, &String, Vec<usize>)> = input
        .others
        .iter()
        .map(|(p, t)| (p, t, super::text::token_positions(t, &old_target)))
        .filter(|(_, _, hits)| !hits.is_empty())
        .collect();
    let (path, text, at) = match places.as_slice() {
        [(p, t, hits)] if hits.len() == 1 => (*p, *t, hits[0]),
        [] => {
            return Err(refuse(format!(
                "`{old_target}` is written in none of the files read (entrypoint, compose file, \
                 Dockerfile)"
            )));
        }
        _ => {
            return Err(refuse(format!(
                "`{old_target}` is written in more than one place ({}): which one gunicorn runs \
                 is for a person to say",
                places
                    .iter()
                    .map(|(p, _, _)| short(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let mut new = text.clone();
    new.replace_range(at..at + old_target.len(), &new_target);
    Ok(SourcePatch {
        class: "wsgi-app-not-found".into(),
        changes: vec![FileChange {
            path: path.clone(),
            old: text.clone(),
            new,
        }],
        how: vec![format!(
            "{}: gunicorn's target `{old_target}` becomes `{new_target}`: {} binds the app as \
             `{var}` and no `{}`",
            short(path),
            w.target.module,
            w.target.var
        )],
    })
}

/// The target a patch writes.
pub fn new_target(patch: &SourcePatch) -> Option<WsgiTarget> {
    let line = patch.how.first()?;
    let new = line.split("becomes `").nth(1)?.split('`').next()?;
    WsgiTarget::parse(new)
}

pub fn holds(_tree: &SourceTree, startup: &Startup, after: &Analysis) -> Option<String> {
    let t = startup.target.as_ref()?;
    match &after.wsgi {
        Some(w) if w.var_bound => None,
        _ => Some(format!("{}:{} is not bound either", t.module, t.var)),
    }
}
