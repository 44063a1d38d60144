//! Package identity (PSD-009 chapter 2 and §4.1, §4.3): filled in by the identity work.
