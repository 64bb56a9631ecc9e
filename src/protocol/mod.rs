//! The programming model: [`Protocol`] (what happens on one connection), [`Factory`] (makes a
//! protocol per connection), [`ClientFactory`] (also hears about connection attempts), and
//! the values they exchange ([`Address`], [`ConnectionLost`]).
//!
//! See [`crate::manual::programming_model`] for why protocols look the way they do.
//!
//! Tests: `tests/tcp_*.rs`, and the protocol tests of every later module.

mod address;
mod factory;
mod lost;
mod reconnecting;

use std::any::Any;

use crate::transport::Transport;

pub use address::Address;
pub use factory::{do_start, do_stop, for_protocol, ClientFactory, Factory, ForProtocol};
pub use lost::ConnectionLost;
pub use reconnecting::{
    standard_normal, Backoff, RandomSource, ReconnectHandle, ReconnectingBuilder,
    ReconnectingClientFactory, XorShift64, DEFAULT_JITTER, MAX_JITTER_SIGMAS,
};

/// What happens on one connection (Twisted's `IProtocol`).
///
/// A protocol is owned by its connection and called with `&mut self`, so its own state needs
/// no `RefCell`. Every callback also gets the connection's [`Transport`]: write to it, close
/// it, or keep a clone of it (a factory's set of connected clients is a set of transports).
/// The reactor calls a protocol only from the top of its loop, never from inside another
/// callback, so writing to or closing any connection, this one included, from any callback is
/// always safe: it changes the transport and the effects (`connection_lost`, say) arrive in
/// later callbacks.
///
/// # Examples
///
/// Twisted's echo protocol:
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::transport::Transport;
///
/// struct Echo;
///
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
/// ```
pub trait Protocol: Any {
    /// The connection is up (Twisted's `makeConnection` + `connectionMade`).
    fn connection_made(&mut self, transport: &Transport) {
        let _ = transport;
    }

    /// Bytes arrived. `data` is borrowed from the reactor's read buffer: copy what you want
    /// to keep. There is no relation between reads and the peer's writes: one message may
    /// arrive in several calls, several messages in one.
    fn data_received(&mut self, transport: &Transport, data: &[u8]);

    /// The connection is closed, for `reason`. The last call the protocol gets; the
    /// transport is already closed (writes to it are ignored) but still tells its addresses.
    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        let _ = (transport, reason);
    }

    /// Whether this protocol handles half-closed connections (Twisted's
    /// `IHalfCloseableProtocol`). If false (the default), the peer's end of input closes the
    /// connection once what was written to it has been sent; if true,
    /// [`read_connection_lost`](Protocol::read_connection_lost) is called instead and the
    /// connection stays open for writing.
    fn half_closeable(&self) -> bool {
        false
    }

    /// The peer will send nothing more (it shut down its writing side). Only called when
    /// [`half_closeable`](Protocol::half_closeable) is true; the protocol must call
    /// `lose_connection` itself when it is done writing.
    fn read_connection_lost(&mut self, transport: &Transport) {
        transport.lose_connection();
    }

    /// Reading resumed after a pause (`Transport::resume_producing`), called from the top
    /// of the loop after the resume. Protocols that hold input while paused (the line and
    /// string receivers do) deliver it here, as Twisted's `LineReceiver.resumeProducing`
    /// does with `dataReceived(b"")`; most protocols ignore it.
    fn reading_resumed(&mut self, transport: &Transport) {
        let _ = transport;
    }

    /// The TLS handshake on this connection completed (Twisted's
    /// `IHandshakeListener.handshakeCompleted`), called from the top of the loop once the
    /// peer is verified; `crate::tls::tls_of(transport)` then gives the peer's certificate,
    /// ALPN protocol and version. Only a TLS transport calls it (after `connection_made`,
    /// and after a `start_tls` too); plain transports never do.
    fn handshake_completed(&mut self, transport: &Transport) {
        let _ = transport;
    }

    /// Our writing side was shut down after
    /// [`Transport::lose_write_connection`] and everything queued was sent. Only called
    /// when [`half_closeable`](Protocol::half_closeable) is true.
    fn write_connection_lost(&mut self, transport: &Transport) {
        let _ = transport;
    }
}

impl<P: Protocol + ?Sized> Protocol for Box<P> {
    fn connection_made(&mut self, transport: &Transport) {
        (**self).connection_made(transport)
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        (**self).data_received(transport, data)
    }
    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        (**self).connection_lost(transport, reason)
    }
    fn half_closeable(&self) -> bool {
        (**self).half_closeable()
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        (**self).read_connection_lost(transport)
    }
    fn reading_resumed(&mut self, transport: &Transport) {
        (**self).reading_resumed(transport)
    }
    fn handshake_completed(&mut self, transport: &Transport) {
        (**self).handshake_completed(transport)
    }
    fn write_connection_lost(&mut self, transport: &Transport) {
        (**self).write_connection_lost(transport)
    }
}
