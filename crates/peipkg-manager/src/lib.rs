//! `peipkg-manager`: the build farm daemon, as a library.
//!
//! The binary is a thin shell over this crate so that every behaviour (config
//! strictness, tag-to-version rules, the queue and backoff, the pipeline's
//! child processes) can be tested without spawning the daemon.
#![forbid(unsafe_code)]

pub mod check;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod control;
pub mod daemon;
pub mod demo;
pub mod executor;
pub mod explain;
pub mod failpoint;
pub mod farm;
pub mod http;
pub mod log;
pub mod notify;
pub mod once;
pub mod pipeline;
pub mod process;
pub mod redact;
pub mod roster;
pub mod sandbox;
pub mod sign_grant;
pub mod store;
pub use peipkg_recipe::tag_version;
pub mod upload;
pub mod watch;
