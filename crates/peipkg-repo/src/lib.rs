//! `peipkg-repo`: turns `.peipkg` files into a signed static repository
//! state (PSD-009 chapter 6) and audits such states.
//!
//! The program is a drop-in replacement for the reference tool of the same
//! name: same subcommands and flags, same files byte for byte for the same
//! inputs (the conformance fixtures prove it). Where the reference is unsafe
//! it is replaced, not copied: publishing verifies every package it takes
//! in and is atomic under crashes, the state is locked against concurrent
//! writers, and `verify` checks what a consumer would. Key rotation, pruning
//! and a static browse site are additions.
//!
//! The binary is a thin shell over this library ([`cli::run`]), so every
//! behaviour can be tested without spawning it.

pub mod cli;
pub mod commit;
pub mod error;
pub mod fsutil;
pub mod init;
pub mod lock;
pub mod order;
pub mod parallel;
pub mod prune;
pub mod publish;
pub mod rawindex;
pub mod rotate;
pub mod site;
pub mod state;
pub mod timestamp;
pub mod timings;
pub mod verify;

pub use error::{RepoError, Result};
