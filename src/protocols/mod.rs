//! Reusable protocols built on [`Protocol`](crate::protocol::Protocol): framing of a byte
//! stream into lines and length-prefixed strings (Twisted's `twisted.protocols`).
//!
//! - [`basic`]: [`LineReceiver`](basic::LineReceiver) (lines and raw mode),
//!   [`LineOnlyReceiver`](basic::LineOnlyReceiver), netstrings, `Int8` / `Int16` /
//!   `Int32` length-prefixed strings and a [`StatefulStringProtocol`](basic::StatefulStringProtocol).
//!
//! Tests: see each module.

pub mod basic;
