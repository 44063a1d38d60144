//! peipkg-build as a library: recipe -> staged tree -> one `.peipkg` per stanza.
pub mod glob;
pub mod partition;
pub mod recipe;
pub mod script;
pub mod signals;
pub mod staging;
pub mod walk;
