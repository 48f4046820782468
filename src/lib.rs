//! analylit-doctor finds the root cause when an AnalyLit Docker Compose stack fails to start.
//!
//! Data flows one way and the modules name the stages:
//! collect ([`stack`]) → match and rank ([`engine`]) → report ([`report`]).
//! Rules are data ([`rules`], loaded from `rules/*.toml`); the failure classes they may name are
//! listed in [`catalogue`]. Secrets are masked by [`redact`] before anything is shown.
pub mod catalogue;
pub mod cli;
pub mod engine;
pub mod error;
pub mod fix;
pub mod probes;
pub mod redact;
pub mod report;
pub mod rules;
pub mod stack;
