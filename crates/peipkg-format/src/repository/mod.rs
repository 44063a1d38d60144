//! Repository documents (PSD-009 chapter 6): descriptor, active and archive indexes.
