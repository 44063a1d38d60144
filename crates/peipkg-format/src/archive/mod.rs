//! The `.peipkg` container (PSD-009 chapter 3 and §5.1): the deterministic
//! writer and the streaming reader that runs the whole consumer-side
//! verification.
//!
//! Both stream: the writer reads each payload file once and spools the
//! payload tar section to a temporary file (the files manifest, which holds
//! every hash, must precede the payload); the reader holds one entry header
//! and one I/O buffer at a time. Memory does not grow with package size.

mod hashing_io;
pub mod reader;
mod signed_digest;
pub mod tar_header;
pub mod writer;

pub use reader::{
    verify_package, verify_reader, PayloadKind, PayloadSummary, SignatureStatus, VerifiedPackage,
    VerifyError, VerifyOptions,
};
pub use writer::{
    write_package, write_sorted_package, zstd_encoder, ArchiveError, EntryKind, PackOptions,
    PackOutcome, PayloadEntry,
};

/// zstd level used when the caller has no preference, chosen from the
/// `peipkg-build` benchmark in docs/BENCHMARKS.md: on the 256 MiB baseline
/// workload level 11 (with the writer's hash-log cap) gives packages 0.6%
/// larger than the reference's at about half its wall time and 0.85x its
/// CPU, in 30 MiB. Level 9 is faster for +2.8%; pass `--zstd-level`.
pub const DEFAULT_ZSTD_LEVEL: i32 = 11;
