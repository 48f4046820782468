//! Fixes: preview, confirm, back up, apply, verify, roll back.
//!
//! A doctor that fixes must never make things worse. [`plan`] turns a diagnosis into plans whose
//! every step is spelled out; [`apply`] carries a plan out through the Engine API, with a
//! [`backup`] of everything it changes taken first; a [`session`] shows each plan, asks, applies,
//! verifies (re-collects, re-runs the rule's probes, waits for the service) and rolls back from
//! the backup when the fix did not work, saying all of it as events the CLI renders. Host files of the compose project change only through [`edit`]: minimal
//! edits computed on the file's own text (comments, quoting, key order and line endings kept),
//! each shown first as a unified diff ([`diff::unified`]).
pub mod apply;
pub mod backup;
pub mod diff;
pub mod edit;
pub mod patch;
pub mod plan;
pub mod session;
