//! `peipkg-build build`.

use peipkg_cli::{FlagSet, Matches, EXIT_OK};

use super::build_args::{build_request, out_flag, script_flags, signing_flags, target_flags};
use super::{require_non_empty, zstd_level_flag, StderrReporter};
use crate::build::build;

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build build", "[flags]");
    f.about(
        "Run a recipe's build script and emit one .peipkg per [[package]] stanza.\n\
         On success the absolute path of each package is printed on stdout, one per line;\n\
         the build script's own output goes to stderr.",
    );
    target_flags(&mut f, true);
    out_flag(&mut f);
    signing_flags(&mut f);
    script_flags(
        &mut f,
        "keep the staging directory of a failed build and print where it is",
    );
    zstd_level_flag(&mut f);
    f
}

pub fn run(m: &Matches) -> anyhow::Result<i32> {
    let req = build_request(m, true)?;
    require_non_empty(m, &["recipe", "source", "out"])?;
    let written = build(&req, &mut StderrReporter)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}
