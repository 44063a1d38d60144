//! The pipeline for one new version: fetch the tagged source, build it with
//! `peipkg-build`, fold the outputs into the repository with `peipkg-repo`.

pub mod archive;
pub mod build;
pub mod fetch;
pub mod publish;
pub mod stages;
pub mod tree;
