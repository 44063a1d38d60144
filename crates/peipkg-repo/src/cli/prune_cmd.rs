//! `peipkg-repo prune`.

use std::path::PathBuf;

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, EXIT_OK};

use super::{load_key, print_warnings, required, timestamp_or_now, wait, CmdResult};
use crate::prune::{prune, PruneOptions};
use crate::timestamp::parse_period;

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new(
        "peipkg-repo prune",
        "--repo DIR --prerelease --older-than PERIOD --sign-key PATH [--dry-run]",
    );
    f.about(
        "Remove pre-release versions built more than PERIOD ago from the archive and their files\n\
         from the state (PSD-009 §6.3.7). An entry of the active index is never removed. Lists\n\
         what goes; --dry-run only lists it.",
    );
    f.flag("repo", FlagKind::String, "state directory")
        .required()
        .value_name("DIR");
    f.flag(
        "prerelease",
        FlagKind::Bool,
        "prune pre-release versions (the only kind prune removes)",
    );
    f.flag(
        "older-than",
        FlagKind::String,
        "minimum build age: days (90d) or a Go duration",
    )
    .required()
    .value_name("PERIOD");
    f.flag(
        "sign-key",
        FlagKind::String,
        "an active private key of the repository, to re-sign",
    )
    .value_name("PATH");
    f.flag(
        "timestamp",
        FlagKind::String,
        "now: ages count to it and it becomes generated_at (default now)",
    )
    .value_name("T");
    f.flag(
        "dry-run",
        FlagKind::Bool,
        "list what would go and change nothing",
    );
    f.flag(
        "wait",
        FlagKind::Duration,
        "wait this long for another writer's lock",
    )
    .default("0s");
    f
}

pub fn run(m: &Matches) -> CmdResult {
    let repo = PathBuf::from(required(m, "repo")?);
    if !m.flag("prerelease") {
        return Err(CliError::Usage(
            "--prerelease is required: prune only ever removes pre-release versions (PSD-009 §6.3.2)".into(),
        ));
    }
    let period = required(m, "older-than")?;
    let older_than = parse_period(period)
        .map_err(|e| CliError::Usage(format!("--older-than {period:?}: {e}")))?;
    let dry_run = m.flag("dry-run");
    let key = if dry_run && super::optional(m, "sign-key").is_none() {
        // A dry run signs nothing; any key satisfies the type.
        peipkg_format::keys::SigningKey::from_seed(&[0u8; 32])
    } else {
        required(m, "sign-key")?;
        load_key(m, "sign-key")?
    };
    let report = prune(&PruneOptions {
        repo,
        older_than,
        key,
        timestamp: timestamp_or_now(m, "timestamp")?,
        dry_run,
        wait: wait(m),
    })?;
    print_warnings(&report.warnings);
    let verb = if dry_run { "would remove" } else { "removed" };
    println!("{verb} {} pre-release package(s)", report.removed.len());
    for (file, built) in &report.removed {
        println!("  - {file} (built {built})");
    }
    if !dry_run && !report.removed.is_empty() {
        println!("published index_version {}", report.index_version);
    }
    Ok(EXIT_OK)
}
