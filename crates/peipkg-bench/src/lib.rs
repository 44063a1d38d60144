//! Benchmark support: a deterministic synthetic payload generator and a way
//! to measure one operation in a child process (wall, CPU, peak RSS).
//!
//! Benchmarks are programs, not tests: numbers depend on the machine, so
//! they are recorded in docs/BENCHMARKS.md with the command that made them,
//! never asserted in CI.
//!
//! The workload mirrors the baseline the reference tools were measured on
//! (reference/baseline.md, W2): files nested under `usr/`, about 40% text,
//! 40% structured binary-like records, 20% random bytes, a few relative
//! symlinks. Every byte comes from a seeded generator, so the same
//! parameters give the same tree on any machine.

pub mod cli;
pub mod farm;
pub mod measure;
pub mod synthetic;
pub mod walk;
