//! `peipkg-build stage` and `peipkg-build seal`: a build split between a
//! build node that holds no key and the farm host that signs (see
//! `crate::split`). Both take `build`'s flags, less what their side does
//! not need, plus `--staged DIR`.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_OK};

use super::build_args::{build_request, out_flag, script_flags, signing_flags, target_flags};
use super::{require_non_empty, zstd_level_flag, StderrReporter};

pub fn stage_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build stage", "[flags]");
    f.about(
        "Run a recipe's build script into --staged DIR and stop: no key is read, no package\n\
         is written. 'peipkg-build seal' (on the machine that holds the keys) makes the\n\
         packages from that tree. On success DIR is printed on stdout.",
    );
    target_flags(&mut f, true);
    f.flag(
        "staged",
        FlagKind::String,
        "directory the script installs into ($DESTDIR); must not exist",
    )
    .required()
    .value_name("DIR");
    script_flags(&mut f, "keep the staged tree of a failed build");
    f
}

pub fn seal_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build seal", "[flags]");
    f.about(
        "Make the packages from a tree 'peipkg-build stage' left: the tree is copied (never\n\
         following links) and then signed ([[sign]]), checked, packed and signed exactly as\n\
         'build' does after its script. The absolute path of each package is printed.",
    );
    target_flags(&mut f, false);
    f.flag(
        "staged",
        FlagKind::String,
        "the tree 'peipkg-build stage' installed into",
    )
    .required()
    .value_name("DIR");
    out_flag(&mut f);
    signing_flags(&mut f);
    zstd_level_flag(&mut f);
    f
}

pub fn run_stage(m: &Matches) -> anyhow::Result<i32> {
    // No --zstd-level here: the request keeps the default (a valid) level.
    let req = build_request(m, true)?;
    let staged = PathBuf::from(m.string("staged").unwrap_or_default());
    require_non_empty(m, &["recipe", "source", "staged"])?;
    let dir = crate::split::stage(&req, &staged, &mut StderrReporter)?;
    println!("{}", dir.display());
    Ok(EXIT_OK)
}

pub fn run_seal(m: &Matches) -> anyhow::Result<i32> {
    let req = build_request(m, false)?;
    let staged = PathBuf::from(m.string("staged").unwrap_or_default());
    require_non_empty(m, &["recipe", "staged", "out"])?;
    let written = crate::split::seal(&req, &staged, &mut StderrReporter)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}
