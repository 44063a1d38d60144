//! The deterministic archive writer and the streaming verifier.
