//! `peipkg-repo init`.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_OK};

use super::{go_quote, load_key, required, timestamp, CmdResult};
use crate::init::{init, InitOptions};

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new(
        "peipkg-repo init",
        "--name N --sign-key PATH --timestamp T --out DIR [--description D]",
    );
    f.about("Create an empty, signed repository state in DIR, which must be absent or empty.");
    f.flag(
        "name",
        FlagKind::String,
        "repository name, recorded in repo.json",
    )
    .required()
    .value_name("N");
    f.flag(
        "description",
        FlagKind::String,
        "human-readable one-line description",
    )
    .value_name("D");
    f.flag(
        "sign-key",
        FlagKind::String,
        "Ed25519 private key (32-byte seed or PEM PKCS#8)",
    )
    .required()
    .value_name("PATH");
    f.flag(
        "timestamp",
        FlagKind::String,
        "RFC 3339 UTC ending in Z; generated_at of the empty indexes",
    )
    .required()
    .value_name("T");
    f.flag(
        "out",
        FlagKind::String,
        "directory to create the state in (absent or empty)",
    )
    .required()
    .value_name("DIR");
    f
}

pub fn run(m: &Matches) -> CmdResult {
    let name = required(m, "name")?.to_string();
    required(m, "sign-key")?;
    required(m, "timestamp")?;
    let out = PathBuf::from(required(m, "out")?);
    let key = load_key(m, "sign-key")?;
    let ts = timestamp(m, "timestamp")?;
    init(&InitOptions {
        name: name.clone(),
        description: m.string("description").unwrap_or_default().to_string(),
        key,
        timestamp: ts,
        out: out.clone(),
    })?;
    println!(
        "initialised repository {} at {}",
        go_quote(&name),
        out.display()
    );
    Ok(EXIT_OK)
}
