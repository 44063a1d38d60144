//! The `null`-tolerant member reader shared by every repository document.
//!
//! The reference tool writes `[]` for empty arrays but reads `null` as the
//! empty value, and states in the wild were written by it; a member that is
//! `null` must therefore decode like a missing one instead of failing.

use serde::{Deserialize, Deserializer};

/// Reads `null` as `T::default()`. Use together with `#[serde(default)]` so
/// that a missing member behaves the same.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
