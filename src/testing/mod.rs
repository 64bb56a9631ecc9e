//! The deterministic testing kit: drive protocols, clients and servers with no sockets,
//! no threads and no sleeping (Twisted's `twisted.internet.testing` and
//! `twisted.test.iosim`).
//!
//! Unit tests of protocols and of code above the reactor never open a socket or wait for
//! real time. They feed bytes, look at what was written, and move time by hand; the
//! outcome is the same on every run and every machine. Real I/O belongs only in the tests
//! of transports and backends (`tests/tcp_*.rs`).
//!
//! # Which piece to use
//!
//! | To test | Use |
//! |---|---|
//! | one protocol: bytes in, bytes out, how it closes | [`Driver`] (over a [`StringTransport`]) |
//! | a parser or protocol against every way its input can be cut | [`assert_same_for_every_chunking`], [`for_each_chunking`], [`feed_chunked`] |
//! | code that writes to a transport (a producer, a consumer) | [`StringTransport`] alone |
//! | a client and a server talking to each other | [`connected_server_and_client`] and its [`IoPump`] |
//! | code that listens or connects (endpoints, client factories, reconnecting) | [`MemoryReactor`] (as a `&dyn ReactorTcp`), then [`MemoryReactor::succeed_once`] or [`MemoryReactor::fail_once`] |
//! | timeouts, retries, anything scheduled | a [`Clock`](crate::time::Clock), or the one inside the [`MemoryReactor`] |
//!
//! # The rule that shapes it
//!
//! A transport never calls its protocol from inside a transport method
//! ([`manual::programming_model`](crate::manual::programming_model)): `connection_lost`,
//! producer pauses and resumes arrive later, from the top of the loop. Here "later" is when
//! the test says: [`Driver::run_pending`] for one connection, [`IoPump::pump`] and
//! [`IoPump::flush`] for a connected pair. So a protocol may write to, pause or close its
//! own transport (or another connection's) from any callback, and no `RefCell` is ever
//! borrowed twice. The in-memory transports follow our TCP wherever a test can tell:
//! writes after a close are ignored, `lose_connection` completes once the buffer has
//! drained and no producer is registered, a push producer is paused above the high-water
//! mark and resumed at the low-water mark, the peer of an aborted connection sees a reset.
//!
//! # Example
//!
//! A line protocol, checked against every chunking of its input, then talking to a client
//! through a pump:
//!
//! ```
//! use torsion::protocol::{ConnectionLost, Protocol};
//! use torsion::testing::{assert_same_for_every_chunking, connected_server_and_client, Connected};
//! use torsion::transport::Transport;
//!
//! /// Answers each line with its length; "quit" closes.
//! #[derive(Default)]
//! struct Lengths {
//!     buf: Vec<u8>,
//! }
//!
//! impl Protocol for Lengths {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         self.buf.extend_from_slice(data);
//!         while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
//!             if transport.is_disconnecting() {
//!                 return; // (what Twisted's LineReceiver does)
//!             }
//!             let line: Vec<u8> = self.buf.drain(..=i).collect();
//!             if line == b"quit\n" {
//!                 transport.lose_connection();
//!             } else {
//!                 transport.write(format!("{}\n", line.len() - 1).as_bytes());
//!             }
//!         }
//!     }
//! }
//!
//! // 1. Whole, in chunks of 1..=9 bytes, split at every position: same bytes out.
//! let out = assert_same_for_every_chunking(b"a\nbcd\nquit\nignored\n", Lengths::default, |d| {
//!     d.written()
//! });
//! assert_eq!(out, b"1\n3\n");
//!
//! // 2. Against a client, through an in-memory connection.
//! #[derive(Default)]
//! struct Client {
//!     answers: Vec<u8>,
//!     closed: Option<ConnectionLost>,
//! }
//! impl Protocol for Client {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(b"hello\nquit\n");
//!     }
//!     fn data_received(&mut self, _: &Transport, data: &[u8]) {
//!         self.answers.extend_from_slice(data);
//!     }
//!     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
//!         self.closed = Some(reason);
//!     }
//! }
//!
//! let Connected { server, client, pump } =
//!     connected_server_and_client(Lengths::default(), Client::default());
//! pump.flush(); // (already flushed once on connect; nothing more to do here)
//! assert_eq!(client.with_protocol(|c| c.answers.clone()), b"5\n");
//! assert!(client.with_protocol(|c| c.closed.as_ref().unwrap().is_clean()));
//! assert!(server.is_closed());
//! ```
//!
//! # Twisted names
//!
//! | Twisted | torsion |
//! |---|---|
//! | `StringTransport`, `.value()`, `.clear()`, `.disconnecting`, `.producer`, `.streaming`, `.producerState` | [`StringTransport`]: [`value`](StringTransport::value), [`clear`](StringTransport::clear) / [`take`](StringTransport::take), [`disconnecting`](StringTransport::disconnecting), [`producer`](StringTransport::producer), [`streaming`](StringTransport::streaming), [`producer_state`](StringTransport::producer_state) |
//! | `proto.makeConnection(tr)`; `proto.dataReceived(b)`; `proto.connectionLost(r)` | [`make_connection`] / [`Driver::new`]; [`Driver::data_received`]; [`Driver::connection_lost`] |
//! | `StringTransportWithDisconnection` | [`Driver`] (delivers the close through [`run_pending`](Driver::run_pending)) |
//! | `for packet_size in range(1, 10)` | [`assert_same_for_every_chunking`], [`Chunking`] |
//! | `MemoryReactor`, `MemoryReactorClock`, `.tcpServers`, `.tcpClients` | [`MemoryReactor`], [`listens`](MemoryReactor::listens), [`connects`](MemoryReactor::connects) |
//! | `RaisingMemoryReactor` | [`MemoryReactor::set_listen_error`] |
//! | `_FakePort`, `_FakeConnector.stoppedConnecting` | [`MemoryPort`], [`MemoryConnector::stop_connecting_calls`] |
//! | `ConnectionCompleter.succeedOnce()` / `.failOnce()` | [`MemoryReactor::succeed_once_with_server`] (or [`succeed_once`](MemoryReactor::succeed_once) without a server) / [`MemoryReactor::fail_once`] |
//! | `iosim.connectedServerAndClient(S, C)` → `(c, s, pump)` | [`connected_server_and_client`]`(s, c)` → [`Connected`] `{ server, client, pump }` |
//! | `IOPump.pump()`, `.flush()`, `debug=True` | [`IoPump::pump`], [`IoPump::flush`], [`PumpBuilder::debug`] |
//! | `task.Clock` | [`Clock`](crate::time::Clock) |
//!
//! Tests: `tests/testing_string_transport.rs`, `tests/testing_driver.rs`,
//! `tests/testing_chunked.rs`, `tests/testing_iosim.rs`, `tests/testing_memory_reactor.rs`,
//! and the unit tests in `src/testing/chunked.rs`.

mod chunked;
mod driver;
pub mod fuzz;
mod iosim;
mod memory_reactor;
mod string_transport;

pub use chunked::{
    assert_same_for_every_chunking, feed, feed_bytewise, feed_chunked, feed_whole,
    for_each_chunking, Chunking, MAX_SPLITS,
};
pub use driver::{make_connection, Driver};
pub use iosim::{connected_server_and_client, Connected, IoPump, PumpBuilder, MAX_FLUSH_ROUNDS};
pub use memory_reactor::{
    ConnectCall, ConnectorState, ListenCall, ListenOn, MemoryConnector, MemoryPort, MemoryReactor,
    FIRST_FAKE_PORT,
};
pub use string_transport::{ProducerState, StringTransport};
