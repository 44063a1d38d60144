//! `peipkg-repo rotate-key`.

use std::path::PathBuf;

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, EXIT_OK};

use super::{load_key, optional, required, timestamp_or_now, wait, CmdResult};
use crate::rotate::{rotate, Retire, RotateOptions};
use crate::timestamp::parse_period;

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new(
        "peipkg-repo rotate-key",
        "--repo DIR --new-key NEW --sign-key OLD [--transition 30d | --revoke]",
    );
    f.about(
        "Add NEW as an active signing key and retire OLD: transitioning until the end of the\n\
         transition period (the descriptor is signed with OLD, so consumers can follow), or revoked\n\
         after a compromise (everything is signed with NEW; give users the new fingerprint out of\n\
         band). The indexes are re-signed with NEW and keys/<fingerprint>.pub is added.",
    );
    f.flag("repo", FlagKind::String, "state directory")
        .required()
        .value_name("DIR");
    f.flag(
        "new-key",
        FlagKind::String,
        "the new private key (create one with keygen)",
    )
    .required()
    .value_name("NEW");
    f.flag(
        "sign-key",
        FlagKind::String,
        "the current active private key being retired",
    )
    .required()
    .value_name("OLD");
    f.flag(
        "transition",
        FlagKind::String,
        "how long OLD stays acceptable: days (30d) or a Go duration",
    )
    .value_name("PERIOD");
    f.flag(
        "revoke",
        FlagKind::Bool,
        "mark OLD revoked instead (key compromise)",
    );
    f.flag(
        "timestamp",
        FlagKind::String,
        "the rotation time valid_until counts from (default now)",
    )
    .value_name("T");
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
    required(m, "new-key")?;
    required(m, "sign-key")?;
    let transition = optional(m, "transition");
    let retire = match (m.flag("revoke"), transition) {
        (true, Some(_)) => {
            return Err(CliError::Usage(
                "--transition and --revoke exclude each other".into(),
            ))
        }
        (true, None) => Retire::Revoke,
        (false, t) => {
            let t = t.unwrap_or_else(|| "30d".to_string());
            let secs = parse_period(&t)
                .map_err(|e| CliError::Usage(format!("--transition {t:?}: {e}")))?;
            Retire::Transition(secs)
        }
    };
    let new_key = load_key(m, "new-key")?;
    let old_key = load_key(m, "sign-key")?;
    let report = rotate(&RotateOptions {
        repo,
        new_key,
        old_key,
        retire,
        timestamp: timestamp_or_now(m, "timestamp")?,
        wait: wait(m),
    })?;
    println!("new active key: {}", report.new_fingerprint);
    println!("old key {}: {}", report.old_fingerprint, report.old_status);
    if !report.signed_by_old.is_empty() {
        println!(
            "{} archived package(s) are signed by the old key{}:",
            report.signed_by_old.len(),
            if retire == Retire::Revoke {
                " and are now rejected by consumers; rebuild them with a new revision"
            } else {
                "; rebuild them before the transition ends"
            }
        );
        for p in &report.signed_by_old {
            println!("  {p}");
        }
    }
    println!("sign new packages and publishes with the new key from now on");
    Ok(EXIT_OK)
}
