//! `peipkg-manager`: the build farm daemon, as a library.
//!
//! The binary is a thin shell over this crate so that every behaviour (config
//! strictness, tag-to-version rules, the queue and backoff, the pipeline's
//! child processes) can be tested without spawning the daemon.

pub mod config;
pub mod log;
pub mod roster;
pub mod tag_version;
pub mod process;
pub mod watch;
pub mod store;
pub mod pipeline;
pub mod executor;
pub mod upload;
pub mod farm;
pub mod once;
pub mod explain;
pub mod check;
pub mod daemon;
pub mod http;
pub mod cli;
pub mod demo;
