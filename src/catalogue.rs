//! Catalogue ids (stub; see shared/FAILURES.md).
