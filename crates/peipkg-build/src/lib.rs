//! peipkg-build as a library: recipe -> staged tree -> one `.peipkg` per stanza.
pub mod glob;
pub mod recipe;
