//! `peipkg-repo verify`.

use std::path::PathBuf;

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, EXIT_FAILURE, EXIT_OK};

use super::{optional, required, timestamp_or_now, wait, CmdResult, PROGRAM};
use crate::verify::{verify, Mode, VerifyOptions};

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new(
        "peipkg-repo verify",
        "--repo DIR [--mode metadata|hashes|both] [--deep] [--all-packages-dir DIR] [--json]",
    );
    f.about(
        "Audit a repository state. metadata: keys, signatures, index rules, archive order,\n\
         active = per-name maximum of the archive, package signers. hashes: every package file's\n\
         SHA-256 and size against the signed index (the state's own copies under p/ unless\n\
         --all-packages-dir is given); --deep fully re-verifies each package instead.",
    );
    f.flag("repo", FlagKind::String, "state directory to audit")
        .required()
        .value_name("DIR");
    f.flag("mode", FlagKind::String, "metadata, hashes or both")
        .default("both")
        .value_name("MODE");
    f.flag(
        "all-packages-dir",
        FlagKind::String,
        "look packages up here (flat by file name, or laid out like the state's p/) instead of under --repo",
    )
    .value_name("DIR");
    f.flag(
        "deep",
        FlagKind::Bool,
        "hashes: fully re-verify every package (payload hashes, signature, manifest vs index)",
    );
    f.flag("json", FlagKind::Bool, "print the report as JSON on stdout");
    f.flag(
        "allow-unsigned",
        FlagKind::Bool,
        "report unsigned documents and packages as warnings, not issues",
    );
    f.flag(
        "at",
        FlagKind::String,
        "judge key validity at this RFC 3339 time instead of now",
    )
    .value_name("T");
    f.flag(
        "jobs",
        FlagKind::Int,
        "worker threads for the hash stage (0 = one per core)",
    )
    .default("0");
    f.flag(
        "wait",
        FlagKind::Duration,
        "wait this long for a running publish instead of failing",
    )
    .default("0s");
    f
}

pub fn run(m: &Matches) -> CmdResult {
    let repo = PathBuf::from(required(m, "repo")?);
    let mode_s = m.string("mode").unwrap_or("both");
    let Some(mode) = Mode::parse(mode_s) else {
        return Err(CliError::Usage(format!(
            "--mode must be one of metadata, hashes, both (got {mode_s:?})"
        )));
    };
    let at = timestamp_or_now(m, "at")?;
    let report = verify(&VerifyOptions {
        repo,
        mode,
        all_packages_dir: optional(m, "all-packages-dir").map(PathBuf::from),
        at,
        allow_unsigned: m.flag("allow-unsigned"),
        wait: wait(m),
        jobs: usize::try_from(m.int("jobs").unwrap_or(0)).unwrap_or(0),
        deep: m.flag("deep"),
    })?;
    if m.flag("json") {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Failure(format!("encode report: {e}")))?;
        println!("{text}");
    } else {
        for w in &report.warnings {
            eprintln!("WARN: {}", w.message);
        }
        if report.ok {
            println!("OK");
        } else {
            for i in &report.issues {
                eprintln!("FAIL: {}", i.message);
            }
            eprintln!("{PROGRAM}: {} issue(s) found", report.issues.len());
        }
    }
    Ok(if report.ok { EXIT_OK } else { EXIT_FAILURE })
}
