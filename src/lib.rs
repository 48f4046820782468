//! analylit-doctor finds the root cause when an AnalyLit Docker Compose stack fails to start.
//!
//! Data flows one way and the modules name the stages:
//! collect ([`stack`]) → match ([`engine`]) → report ([`report`]).
//! Rules are data ([`rules`], loaded from `rules/*.toml`); the failure classes they may name are
//! listed in [`catalogue`].
pub mod catalogue;
pub mod cli;
pub mod rules;
