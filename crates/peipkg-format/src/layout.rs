//! Payload path and layout rules (PSD-009 §3.2.7, §3.4).
