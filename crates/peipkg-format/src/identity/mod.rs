//! Package identity: PSD-009 chapter 2 (names, versions and their order,
//! architectures, file names) and the identity parts of chapter 4 (version
//! constraints, the dependency `arch` qualifier, side-effect identifiers).
//!
//! Every other crate takes these types instead of strings, so an identity
//! value that exists has already passed the spec's MUST rules, and every
//! tool orders versions the same way. Parsing never panics; failures are
//! [`IdentityError`]s that name the value, the rule and its section.
//!
//! Deliberate choices where the spec is ambiguous or contradicts itself are
//! documented on the item concerned:
//! - the version order is a total order that follows §2.2.7 as written,
//!   including a pre-release tail that runs to the end of the upstream
//!   version (the reference repository tool resets it at `-`), and resolves
//!   the one non-transitive case of the literal rules (see `version_order`);
//! - `Version` equality is the spec's "compares equal", so `0:1.0-1 ==
//!   1.0-1`; the canonical text drops a zero epoch;
//! - package names follow the normative §2.1.2 rules, which reject the
//!   spec's own `libstdc++` example;
//! - package file names split at the first two underscores, since `x86_64`
//!   contains one.

mod architecture;
mod constraint;
mod error;
mod file_name;
mod name;
mod serde_impls;
mod side_effect;
mod version;
mod version_order;

pub use architecture::{validate_arch_qualifier, ArchQualifier, Architecture, MAX_ARCH_LEN};
pub use constraint::{Clause, Constraint, Operator};
pub use error::IdentityError;
pub use file_name::{package_file_name, parse_package_file_name, PACKAGE_EXTENSION};
pub use name::{PackageName, MAX_NAME_LEN, MIN_NAME_LEN};
pub use side_effect::SideEffect;
pub use version::Version;
pub use version_order::{
    compare_upstream, prerelease_rank, upstream_segments, SegmentKind, UpstreamSegment, OTHER_RANK,
};
