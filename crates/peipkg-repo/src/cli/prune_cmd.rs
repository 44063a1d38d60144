//! `peipkg-repo prune`.

use peipkg_cli::{FlagSet, Matches};

use super::{CmdResult, Failure};

pub fn flags() -> FlagSet {
    FlagSet::new(
        "peipkg-repo prune",
        "--repo DIR --prerelease --older-than DURATION [--dry-run]",
    )
}

pub fn run(_m: &Matches) -> CmdResult {
    Err(Failure::Error("prune is not implemented yet".into()))
}
