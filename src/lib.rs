//! analylit-doctor finds the root cause when an AnalyLit Docker Compose stack fails to start.
//!
//! Data flows one way and the modules name the stages:
//! collect ([`stack`]) → match and rank ([`engine`]) → report ([`report`]).
//! A snapshot and its probe results can be kept in a [`bundle`] and diagnosed again offline.
//! Rules are data ([`rules`], loaded from `rules/*.toml`); the failure classes they may name are
//! listed in [`catalogue`]. Findings, evidence and probe results are plain data ([`model`]).
//! Files of any size are read through [`capped`].
//! Secrets are masked by [`redact`] before anything is shown. The modules are layers:
//! `tests/architecture.rs` holds their order and fails on an arrow upwards.
pub mod bundle;
pub mod capped;
pub mod catalogue;
pub mod cli;
pub mod digest;
pub mod engine;
pub mod error;
pub mod fix;
pub mod model;
pub mod preflight;
pub mod probes;
pub mod redact;
pub mod report;
pub mod rules;
pub mod ruletest;
pub mod stack;
