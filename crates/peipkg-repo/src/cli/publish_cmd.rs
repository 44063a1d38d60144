//! `peipkg-repo publish`.

use std::path::PathBuf;

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, EXIT_OK};

use super::{load_key, optional, print_warnings, required, timestamp, wait, CmdResult};
use crate::publish::{publish, PublishOptions};

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new(
        "peipkg-repo publish",
        "--in DIR --new DIR --sign-key PATH --timestamp T --out DIR [flags]",
    );
    f.about(
        "Add the .peipkg files of --new to the state in --in and write the new state to --out\n\
         (which may equal --in). Every package is verified first: structure, manifest, hashes,\n\
         and a signature by an active key of the repository. The switch is atomic.",
    );
    f.flag("in", FlagKind::String, "previous state directory")
        .required()
        .value_name("DIR");
    f.flag(
        "new",
        FlagKind::String,
        "directory of new .peipkg files (not with --rebuild)",
    )
    .value_name("DIR");
    f.flag(
        "sign-key",
        FlagKind::String,
        "Ed25519 private key: an active key of the repository",
    )
    .required()
    .value_name("PATH");
    f.flag(
        "timestamp",
        FlagKind::String,
        "RFC 3339 UTC ending in Z; generated_at of the new indexes",
    )
    .required()
    .value_name("T");
    f.flag(
        "out",
        FlagKind::String,
        "new state directory; equal to --in publishes in place",
    )
    .required()
    .value_name("DIR");
    f.flag(
        "package-url-template",
        FlagKind::String,
        "URL of new entries; placeholders {name} {version} {arch} {filename}\n(default /p/{name}/{version}/{filename})",
    )
    .value_name("TMPL");
    f.flag(
        "rebuild",
        FlagKind::Bool,
        "discard the previous archive and re-ingest --all-packages-dir",
    );
    f.flag(
        "all-packages-dir",
        FlagKind::String,
        "directory holding every .peipkg (with --rebuild)",
    )
    .value_name("DIR");
    f.flag(
        "allow-unsigned",
        FlagKind::Bool,
        "accept unsigned packages, with a warning",
    );
    f.flag(
        "wait",
        FlagKind::Duration,
        "wait this long for another publish's lock instead of failing",
    )
    .default("0s");
    f
}

pub fn run(m: &Matches) -> CmdResult {
    let input = PathBuf::from(required(m, "in")?);
    let rebuild = m.flag("rebuild");
    let new_dir = optional(m, "new").map(PathBuf::from);
    if !rebuild && new_dir.is_none() {
        return Err(CliError::Usage(
            "--new is required (or use --rebuild + --all-packages-dir)".into(),
        ));
    }
    required(m, "sign-key")?;
    required(m, "timestamp")?;
    let out = PathBuf::from(required(m, "out")?);
    let key = load_key(m, "sign-key")?;
    let ts = timestamp(m, "timestamp")?;
    let report = publish(&PublishOptions {
        input,
        new_dir,
        key,
        timestamp: ts,
        out,
        url_template: m
            .string("package-url-template")
            .unwrap_or_default()
            .to_string(),
        rebuild,
        all_packages_dir: optional(m, "all-packages-dir").map(PathBuf::from),
        allow_unsigned: m.flag("allow-unsigned"),
        wait: wait(m),
    })?;
    print_warnings(&report.warnings);
    println!(
        "published index_version {} ({} new packages)",
        report.index_version,
        report.added.len()
    );
    for f in &report.added {
        println!("  + {f}");
    }
    Ok(EXIT_OK)
}
