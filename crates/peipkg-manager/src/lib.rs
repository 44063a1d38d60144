//! `peipkg-manager`: the build farm daemon, as a library.
//!
//! The binary is a thin shell over this crate so that every behaviour (config
//! strictness, tag-to-version rules, the queue and backoff, the pipeline's
//! child processes) can be tested without spawning the daemon.
//!
//! Only what another crate needs is public: the CLI (the binary), the
//! build node's side of a cluster job (`peipkg-node`) and the store's file
//! name (the tests). `config`, `roster` and `process` stay public while
//! they move to crates of their own; everything else is crate-private, so
//! the compiler reports what nothing uses.

#![forbid(unsafe_code)]

pub(crate) mod check;
pub mod cli;
pub mod cluster;
pub mod config;
pub(crate) mod control;
pub(crate) mod daemon;
pub(crate) mod demo;
pub(crate) mod executor;
pub(crate) mod explain;
pub(crate) mod failpoint;
pub(crate) mod farm;
pub(crate) mod http;
pub(crate) mod log;
pub(crate) mod notify;
pub(crate) mod once;
pub(crate) mod pipeline;
pub mod process;
pub(crate) mod redact;
pub mod roster;
pub(crate) mod sandbox;
pub(crate) mod sign_grant;
pub mod store;
pub(crate) use peipkg_recipe::tag_version;
pub(crate) mod upload;
pub(crate) mod watch;
