//! The deterministic testing kit: drive protocols, clients and servers with no sockets,
//! no threads and no sleeping (Twisted's `twisted.internet.testing` and
//! `twisted.test.iosim`).
//!
//! - [`StringTransport`]: an in-memory transport that records what is done to it.
//! - [`Driver`]: owns a protocol on a `StringTransport` and delivers its events.
//! - [`assert_same_for_every_chunking`] and friends: feed input cut every way.
//! - [`connected_server_and_client`] and [`IoPump`]: two protocols connected in memory.
//!
//! Tests: `tests/testing_string_transport.rs`, `tests/testing_driver.rs`,
//! `tests/testing_chunked.rs`, `tests/testing_iosim.rs`, and the unit tests in
//! `src/testing/chunked.rs`.

mod chunked;
mod driver;
mod iosim;
mod string_transport;

pub use chunked::{
    assert_same_for_every_chunking, feed, feed_bytewise, feed_chunked, feed_whole,
    for_each_chunking, Chunking, MAX_SPLITS,
};
pub use driver::{make_connection, Driver};
pub use iosim::{connected_server_and_client, Connected, IoPump, PumpBuilder, MAX_FLUSH_ROUNDS};
pub use string_transport::{ProducerState, StringTransport};
