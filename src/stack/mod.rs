//! Collect: find the compose project, reach the engine, and read everything into a
//! [`snapshot::StackSnapshot`]. Nothing after this stage talks to Docker (except probes).
pub mod archive;
pub mod collect;
pub mod compose;
pub mod connect;
pub mod context;
pub mod git;
pub mod graph;
pub mod logs;
pub mod paste;
pub mod project;
pub mod snapshot;
pub mod swarm;
pub mod wait;
