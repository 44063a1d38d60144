//! Hidden subcommands for `peipkg-manager`, not in the usage text.
//!
//! `capabilities` lets the manager tell this `peipkg-repo` from another
//! implementation: the reference rewrites a state in place without
//! atomicity, so the manager publishes into a copy of the live state for it;
//! this one switches its state atomically (see `commit`), so the manager
//! publishes in place and a publish costs what the two index documents
//! cost, not a copy of every file of the state. `recover` finishes or undoes
//! an in-place switch a killed writer left, so the manager can bring its
//! live state to a complete one at start, before uploading it.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_OK};

use super::{required, wait, CmdResult};
use crate::commit;
use crate::lock::{LockMode, StateLock};

/// What `capabilities` prints, one per line.
pub const CAPABILITIES: &[&str] = &["atomic-publish", "recover"];

pub fn capabilities_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-repo capabilities", "");
    f.about("Print the features peipkg-manager may rely on, one per line.");
    f
}

pub fn capabilities(_: &Matches) -> CmdResult {
    for c in CAPABILITIES {
        println!("{c}");
    }
    Ok(EXIT_OK)
}

pub fn recover_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-repo recover", "--repo DIR");
    f.about("Finish or undo an in-place state switch that an interrupted writer left.");
    f.flag("repo", FlagKind::String, "state directory")
        .required()
        .value_name("DIR");
    super::wait_flag(&mut f, "wait this long for another writer's lock");
    f
}

pub fn recover(m: &Matches) -> CmdResult {
    let repo = PathBuf::from(required(m, "repo")?);
    let _lock = StateLock::acquire(&repo, LockMode::Exclusive, wait(m))?;
    let r = commit::recover(&repo, &crate::site::refresh_in_place)?;
    println!("{r:?}");
    Ok(EXIT_OK)
}
