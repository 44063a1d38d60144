//! `peipkg-build inspect FILE [--json]`: what is in a package.
//!
//! The package is read with the same streaming verifier consumers use, so
//! what is shown has passed every structural and integrity check; only the
//! signature is not checked against a key (use `verify` for that).

use std::path::{Path, PathBuf};

use anyhow::Context;
use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_OK};
use peipkg_format::archive::{
    verify_package, PayloadKind, SignatureStatus, VerifiedPackage, VerifyOptions,
};
use peipkg_format::documents::manifest::relations_text;
use peipkg_format::keys::group_fingerprint;
use serde::{ser::SerializeSeq, Serialize, Serializer};
use std::io::Write;

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build inspect", "FILE [flags]");
    f.about(
        "Show a package's manifest, payload listing, sizes, signature status and signing key.\n\
         The package is fully verified except for the signature itself (see 'verify').",
    );
    f.args("FILE", 1, 1);
    f.flag(
        "json",
        FlagKind::Bool,
        "print one JSON object instead of text",
    );
    f
}

pub fn run(m: &Matches) -> anyhow::Result<i32> {
    let file = PathBuf::from(&m.positionals()[0]);
    let file = std::path::absolute(&file).unwrap_or(file);
    let pkg = verify_package(&file, &VerifyOptions::default())
        .with_context(|| format!("{} failed verification", file.display()))?;
    if m.flag("json") {
        write_json(std::io::stdout().lock(), &file, &pkg)?;
    } else {
        print!("{}", to_text(&file, &pkg));
    }
    Ok(EXIT_OK)
}

fn signature_words(status: &SignatureStatus) -> (String, Option<&str>) {
    match status {
        SignatureStatus::Unsigned => ("unsigned".into(), None),
        SignatureStatus::NotChecked { fingerprint } => (
            "signed (signature not checked; use 'verify --key')".into(),
            Some(fingerprint),
        ),
        SignatureStatus::Verified { fingerprint } => ("signed, verified".into(), Some(fingerprint)),
    }
}

fn kind_letter(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::File => "file",
        PayloadKind::Directory => "dir",
        PayloadKind::Symlink => "symlink",
    }
}

/// A relation list as one line, or `-` when empty.
fn rel<T: std::fmt::Display>(list: &[T]) -> String {
    relations_text(list).unwrap_or_else(|| "-".into())
}

pub fn to_text(file: &Path, pkg: &VerifiedPackage) -> String {
    let m = &pkg.manifest;
    let (signature, fingerprint) = signature_words(&pkg.signature);
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        // At least one space after the label, also for the longest one
        // (`optional_dependencies:`).
        out.push_str(&format!("{label:<21} {value}\n"));
    };
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    line("file:", &file.display().to_string());
    line(
        "package:",
        &format!("{} {} ({})", m.name, m.version, m.architecture),
    );
    line("description:", &or_dash(&m.description));
    line("license:", &or_dash(&m.license));
    line("homepage:", &or_dash(&m.homepage));
    line("dependencies:", &rel(&m.dependencies));
    line("optional_dependencies:", &rel(&m.optional_dependencies));
    line("conflicts:", &rel(&m.conflicts));
    line("provides:", &rel(&m.provides));
    line("replaces:", &rel(&m.replaces));
    line("side_effects:", &or_dash(&m.side_effects.join(", ")));
    line(
        "build:",
        &format!(
            "{} by {} from {}",
            m.build.timestamp, m.build.farm_id, m.build.source_ref
        ),
    );
    line(
        "size:",
        &format!(
            "{} bytes compressed, {} bytes tar, {} bytes installed",
            pkg.size_compressed, pkg.size_uncompressed, m.size_installed
        ),
    );
    line("sha256:", &pkg.sha256);
    line("signature:", &signature);
    if let Some(fp) = fingerprint {
        line("key fingerprint:", &group_fingerprint(fp));
        line("", fp);
    }
    for warning in &pkg.manifest_warnings {
        line("warning:", warning);
    }
    out.push_str(&format!("payload ({} entries):\n", pkg.payload.len()));
    for entry in &pkg.payload {
        match entry.kind {
            PayloadKind::Directory => out.push_str(&format!("  dir      {}/\n", entry.path)),
            PayloadKind::Symlink => out.push_str(&format!(
                "  symlink  {} -> {}\n",
                entry.path,
                entry.link_target.as_deref().unwrap_or("")
            )),
            PayloadKind::File => out.push_str(&format!(
                "  file     {}  ({} bytes)\n",
                entry.path, entry.size
            )),
        }
    }
    out
}

/// The `--json` document. Members are declared in alphabetical order, the
/// order the output has always had; the payload is serialized as it is
/// written, not built as a tree of values first (a package may list
/// 100,000 entries).
#[derive(Serialize)]
struct InspectJson<'a> {
    file: String,
    manifest: serde_json::Value,
    manifest_warnings: &'a [String],
    payload: PayloadJson<'a>,
    sha256: &'a str,
    signature: SignatureJson<'a>,
    size_compressed: u64,
    size_uncompressed: u64,
}

#[derive(Serialize)]
struct SignatureJson<'a> {
    key_fingerprint: Option<&'a str>,
    status: &'static str,
}

struct PayloadJson<'a>(&'a VerifiedPackage);

#[derive(Serialize)]
struct EntryJson<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<Option<&'a str>>,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Serialize for PayloadJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pkg = self.0;
        // Files come in path order in both lists (the verifier checked it),
        // so one cursor pairs each file with its files.json hash.
        let mut listed = pkg.files.entries.iter().peekable();
        let mut seq = s.serialize_seq(Some(pkg.payload.len()))?;
        for e in &pkg.payload {
            let mut entry = EntryJson {
                path: &e.path,
                sha256: None,
                size: None,
                target: None,
                kind: kind_letter(e.kind),
            };
            match e.kind {
                PayloadKind::File => {
                    entry.size = Some(e.size);
                    while listed
                        .next_if(|f| f.path.as_bytes() < e.path.as_bytes())
                        .is_some()
                    {}
                    entry.sha256 = listed
                        .next_if(|f| f.path == e.path)
                        .map(|f| f.hash.as_str());
                }
                PayloadKind::Symlink => entry.target = Some(e.link_target.as_deref()),
                PayloadKind::Directory => {}
            }
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}

fn write_json(out: impl Write, file: &Path, pkg: &VerifiedPackage) -> anyhow::Result<()> {
    let (_, fingerprint) = signature_words(&pkg.signature);
    let status = match pkg.signature {
        SignatureStatus::Unsigned => "unsigned",
        SignatureStatus::NotChecked { .. } => "not-checked",
        SignatureStatus::Verified { .. } => "verified",
    };
    let doc = InspectJson {
        file: file.display().to_string(),
        manifest: serde_json::to_value(&pkg.manifest)?,
        manifest_warnings: &pkg.manifest_warnings,
        payload: PayloadJson(pkg),
        sha256: &pkg.sha256,
        signature: SignatureJson {
            key_fingerprint: fingerprint,
            status,
        },
        size_compressed: pkg.size_compressed,
        size_uncompressed: pkg.size_uncompressed,
    };
    let mut out = std::io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
