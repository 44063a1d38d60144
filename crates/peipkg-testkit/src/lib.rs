//! What several crates' integration tests need and should not each write
//! again: finding and driving a real headless Chromium, a real Slurm
//! cluster, the processes a killed run left behind, throwaway package
//! manifests and payloads, and snapshot files of what a program printed.
//!
//! Tests (and the benchmarks) only; nothing here is shipped. Helpers panic
//! with a message instead of returning errors, because a test that cannot
//! set itself up should fail loudly.

pub mod chromium;
pub mod packages;
pub mod procs;
pub mod slurm;
pub mod snapshot;
