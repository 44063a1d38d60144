//! The pipeline for one new version: fetch the tagged source, build it with
//! `peipkg-build`, fold the outputs into the repository with `peipkg-repo`.

pub(crate) mod archive;
pub(crate) mod build;
pub(crate) mod fetch;
pub(crate) mod publish;
pub(crate) mod stages;
pub(crate) mod tree;
