//! peipkg-build as a library: recipe -> staged tree -> one `.peipkg` per
//! `[[package]]` stanza, plus `pack`, key generation, inspection and
//! verification. The binary (`main.rs`) is a thin shell over [`cli::run`],
//! so every behaviour here is testable without spawning a process.
//!
//! The data flows one way: [`recipe`] (load and validate) -> [`script`]
//! (run the build script in a [`staging`] area) -> [`walk`] (read the
//! staged tree) -> [`partition`] (assign entries to stanzas by [`glob`]) ->
//! [`layout_check`] -> [`manifest_build`] -> `peipkg_format::archive`
//! (write the bytes). [`build`] runs that pipeline; [`pack`] is the short
//! path from a hand-written manifest.

pub mod binary_sign;
pub mod build;
pub mod cli;
pub use peipkg_recipe::glob;
pub mod layout_check;
pub mod limits;
pub mod manifest_build;
pub mod pack;
pub mod partition;
pub use peipkg_recipe as recipe;
pub mod sandbox;
pub mod script;
pub mod sign_stanzas;
pub mod signals;
pub mod split;
pub mod staging;
pub mod walk;
