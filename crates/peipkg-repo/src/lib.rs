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
//!
//! Deliberate differences from the reference (its bugs are listed in the
//! behaviour notes; none is copied):
//!
//! - `publish` verifies each package fully (signature by an *active* key of
//!   the repository unless `--allow-unsigned`, manifest rules, file name =
//!   `<name>_<version>_<arch>.peipkg`), checks the previous state's
//!   signatures, requires `--sign-key` to be an active declared key, refuses
//!   a `--timestamp` older than the state's `generated_at`, a version equal
//!   under §2.2 to an archived one (`1.01-1` vs `1.1-1`), a second
//!   architecture for a name, and package URLs that would leave the state or
//!   land in `index/`, `keys/`, `repo.json`, the site or our work files.
//! - `publish` is atomic and locked ([`commit`], [`lock`]); out of place,
//!   `--out` must be absent or empty (the reference overlays silently).
//! - Versions order by PSD-009 §2.2 as written, not the reference's `-`
//!   reset (DESIGN.md §2).
//! - `verify` checks the state's own package copies by default (no
//!   `--all-packages-dir` needed), treats a missing signature as an issue
//!   (a warning with `--allow-unsigned`), rejects extra envelope members,
//!   revoked signers and transitioning keys past `valid_until`.
//! - Usage errors exit 2 (the reference exits 1); `-h` after a subcommand
//!   prints its usage and exits 0. SIGINT/SIGTERM are not swallowed (a
//!   publish killed at any point leaves the old or the new state).
//! - The browse site is our own static HTML (no scripts, fonts or CDNs),
//!   works under a path prefix, and is rendered from publish records
//!   (`packages/<name>/<label>.json`, `packages/signers.tsv`) instead of the
//!   reference's per-directory `manifest.json`/`files.json` sidecars.
#![forbid(unsafe_code)]

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
pub mod rotate;
pub mod site;
pub mod state;
pub mod timestamp;
pub mod timings;
pub mod verify;

pub use error::{RepoError, Result};
