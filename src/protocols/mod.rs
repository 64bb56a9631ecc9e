//! Reusable protocols and protocol helpers built on [`Protocol`](crate::protocol::Protocol)
//! (Twisted's `twisted.protocols`).
//!
//! - [`basic`]: framing a byte stream into lines and length-prefixed strings:
//!   [`LineReceiver`](basic::LineReceiver) (lines and raw mode),
//!   [`LineOnlyReceiver`](basic::LineOnlyReceiver), netstrings, `Int8` / `Int16` /
//!   `Int32` length-prefixed strings and a [`StatefulStringProtocol`](basic::StatefulStringProtocol).
//! - [`policies`]: wrappers that limit, time out, throttle or log any protocol:
//!   [`WrappingFactory`](policies::WrappingFactory) under a [`Policy`](policies::Policy).
//!
//! Tests: `tests/basic_*.rs`, `tests/policies_*.rs`, `tests/fuzz_corpus.rs`, `tests/chat_nc.rs`.

pub mod basic;
pub mod policies;
