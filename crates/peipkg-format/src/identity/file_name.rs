//! Package file names `<name>_<version>_<architecture>.peipkg` (PSD-009 §2.1.4).
//!
//! §2.1.4 says the *last* underscore separates version from architecture, but
//! `x86_64` itself contains one, so that rule would read
//! `nginx_1.26.2-3_x86_64.peipkg` as version `1.26.2-3_x86` and architecture
//! `64`. Names and versions can never contain `_`, so we split at the first
//! two underscores instead: the architecture is everything after the second.

use super::architecture::Architecture;
use super::error::{IdentityError, Shown};
use super::name::PackageName;
use super::version::Version;

/// The file extension, with its dot.
pub const PACKAGE_EXTENSION: &str = ".peipkg";

/// `<name>_<version>_<architecture>.peipkg`, the version in canonical form
/// (so epoch 0 is left out and a non-zero epoch keeps its `:`).
///
/// `version` should be a complete version (with a revision); an operand from
/// [`Version::parse_operand`] would give a name that
/// [`parse_package_file_name`] rejects.
pub fn package_file_name(name: &PackageName, version: &Version, arch: &Architecture) -> String {
    format!("{name}_{version}_{arch}{PACKAGE_EXTENSION}")
}

fn err(value: &str, reason: impl Into<String>, section: &'static str) -> IdentityError {
    IdentityError::InvalidFileName {
        value: value.to_owned(),
        reason: reason.into(),
        section,
    }
}

/// Splits and validates a package file name (just the file name, no
/// directories). The version must be complete; a non-canonical spelling such
/// as `0:1.0-1` is accepted and comes back in canonical form.
pub fn parse_package_file_name(
    file_name: &str,
) -> Result<(PackageName, Version, Architecture), IdentityError> {
    let stem = file_name.strip_suffix(PACKAGE_EXTENSION).ok_or_else(|| {
        err(
            file_name,
            format!("must end in {PACKAGE_EXTENSION:?}"),
            "§2.1.4",
        )
    })?;
    let (name, rest) = stem
        .split_once('_')
        .ok_or_else(|| err(file_name, "missing '_' between name and version", "§2.1.4"))?;
    let (version, arch) = rest.split_once('_').ok_or_else(|| {
        err(
            file_name,
            "missing '_' between version and architecture",
            "§2.1.4",
        )
    })?;
    let field = |what: &str, e: IdentityError| {
        err(
            file_name,
            format!("{what} field {}: {}", Shown(e.value()), e.reason()),
            e.section(),
        )
    };
    let name = PackageName::parse(name).map_err(|e| field("name", e))?;
    let version = Version::parse(version).map_err(|e| field("version", e))?;
    let arch = Architecture::parse(arch).map_err(|e| field("architecture", e))?;
    Ok((name, version, arch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_names() {
        let n = PackageName::parse("hello").unwrap();
        let v = Version::parse("0.1-1").unwrap();
        assert_eq!(
            package_file_name(&n, &v, &Architecture::NOARCH),
            "hello_0.1-1_noarch.peipkg"
        );
        let v = Version::parse("0:0.1-1").unwrap();
        assert_eq!(
            package_file_name(&n, &v, &Architecture::X86_64),
            "hello_0.1-1_x86_64.peipkg"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_package_file_name("Hello_1.0-1_noarch.peipkg").unwrap_err();
        assert!(e.reason().starts_with("name field \"Hello\""), "{e}");
        assert_eq!(e.section(), "§2.1.1");
        let e = parse_package_file_name("hello_1.0_noarch.peipkg").unwrap_err();
        assert!(e.reason().starts_with("version field \"1.0\""), "{e}");
        let e = parse_package_file_name("hello_1.0-1_X86.peipkg").unwrap_err();
        assert!(e.reason().starts_with("architecture field"), "{e}");
    }
}
