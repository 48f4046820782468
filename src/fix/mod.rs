//! Fixes: change host files inside the compose project, minimally and visibly. Every change is
//! an [`edit::Edit`] computed on the file's own text (comments, quoting, key order and line
//! endings kept) and shown first as a unified diff ([`diff::unified`]) so a person sees exactly
//! the lines that change before anything is written.
pub mod diff;
pub mod edit;
