//! Compose-file edits. The compose file is never re-serialised: the compose model
//! ([`crate::stack::compose`]) says where each service, key and dependency is written, and each
//! edit splices a few lines of the original text at those places ([`doc`]), in the file's own
//! style (its indentation unit, its quotes, its CRLF if it has them).
//!
//! What a splice cannot change safely is refused with an [`EditError`] that says what to edit
//! by hand: a value written through a YAML anchor or alias (changing it would change every
//! service sharing it), a shape this module does not rewrite, a model that no longer matches
//! the text. And every edit is checked before it is returned ([`verify`]): the new text is
//! parsed again and must give the old model with exactly the intended change (other services
//! and keys equal, positions aside), else [`EditError::Unverified`]. That check parses without
//! variables; a file whose typed values need them to parse is checked by position only.
//!
//! Why not a YAML editing crate: tried on these edits (2026-12), `yaml-edit` 0.3 rewrites a
//! short-form `depends_on` as a mapping but drops the comments between its items, and drops a
//! replaced scalar's quotes; `yamlpatch` (1.24, the last that builds on our Rust 1.95; it pulls
//! the deprecated `serde_yaml` and a second tree-sitter) cannot replace a list by a mapping or a
//! healthcheck's `test` list at all, drops quotes too, refuses multi-line flow mappings, and
//! edits an aliased value at its anchor, changing every service that shares it.
mod depends_on;
mod doc;
mod healthcheck;
mod scan;
#[cfg(test)]
mod tests;
mod verify;

pub use depends_on::depends_on_healthy;
pub use healthcheck::{python_healthcheck, python_test, set_start_period};

use super::{Edit, EditError};
use crate::stack::compose::{ComposeModel, ComposeService};

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
