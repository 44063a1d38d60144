//! `peipkg-repo rotate-key`.

use peipkg_cli::{FlagSet, Matches};

use super::{CmdResult, Failure};

pub fn flags() -> FlagSet {
    FlagSet::new(
        "peipkg-repo rotate-key",
        "--repo DIR --new-key NEW --sign-key OLD [--transition 30d | --revoke]",
    )
}

pub fn run(_m: &Matches) -> CmdResult {
    Err(Failure::Error("rotate-key is not implemented yet".into()))
}
