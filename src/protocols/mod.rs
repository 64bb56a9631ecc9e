//! Reusable protocols and protocol helpers (Twisted's `twisted.protocols`).
//!
//! Tests: `tests/policies_*.rs`.

pub mod policies;
