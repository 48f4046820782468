//! Test support: the reproduction lab (one compose stack at a time) and its scenarios.
#![allow(dead_code)]

pub mod bundle;
pub mod child;
pub mod lab;
pub mod scenario;
