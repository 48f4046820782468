//! The diagnosis's vocabulary: findings, their evidence and the probe results that confirm or
//! rule them out. Plain data every stage after matching reads and no stage below it needs, so
//! printers, fixes and bundles depend on it rather than on the engine or the probes.
pub mod finding;
pub mod probe;

pub use finding::{Confirmation, Evidence, Finding, FixView};
pub use probe::{Location, Outcome, ProbeResult};
