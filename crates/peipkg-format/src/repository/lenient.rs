//! The `null`-tolerant member reader shared by every repository document
//! (it lives in [`crate::json`], beside the encoder, because package
//! documents use it too).

pub(crate) use crate::json::null_default;
