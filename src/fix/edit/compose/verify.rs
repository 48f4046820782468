//! The re-parse guard: an edit's new text must give the old model with exactly the intended
//! change.
use super::EditError;
use crate::stack::compose::{self, ComposeModel, ComposeService, Pos};
use std::path::Path;

/// The model of the new text must be the model of the old with `intended` applied to
/// `service`, positions aside: nothing else changed, and the change is the one meant.
pub(super) fn verify(
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
pub(super) fn without_positions(s: &ComposeService) -> ComposeService {
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
