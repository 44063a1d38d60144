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
pub use writer::{write_package, ArchiveError, EntryKind, PackOptions, PackOutcome, PayloadEntry};

/// zstd level used when the caller has no preference. Chosen from the
/// benchmark in docs/BENCHMARKS.md.
pub const DEFAULT_ZSTD_LEVEL: i32 = 19;
