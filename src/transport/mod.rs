//! [`Transport`]: a protocol's handle on its connection, and the producer / consumer
//! interfaces for backpressure ([`PushProducer`], [`PullProducer`]).
//!
//! Tests: `tests/tcp_*.rs`; `testing::StringTransport` implements the same interface.

mod producer;

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::rc::Rc;

use crate::protocol::{Address, Protocol};
use crate::Reactor;

pub use producer::{Producer, ProducerError, PullProducer, PushProducer};

/// What every transport implements (TCP, Unix, TLS, the testing kit's in-memory ones).
/// Protocols use it through [`Transport`]; implement it to write a new kind of transport.
///
/// Implementations never call back into the protocol from these methods: effects that
/// reach the protocol (`connection_lost`, producer calls) are delivered later from the top of
/// the reactor loop.
pub trait TransportCore: Any {
    /// Queues `data` to be sent. Ignored once the transport is closing or closed.
    fn write(&self, data: &[u8]);

    /// Queues each buffer in turn, as one gathered write where possible.
    fn write_sequence(&self, data: &[&[u8]]) {
        for d in data {
            self.write(d);
        }
    }

    /// Closes once everything queued is sent (Twisted's `loseConnection`).
    fn lose_connection(&self);

    /// Closes now, dropping anything queued (Twisted's `abortConnection`).
    fn abort_connection(&self);

    /// Shuts down the writing side once everything queued is sent; reading goes on
    /// (Twisted's `loseWriteConnection`).
    fn lose_write_connection(&self);

    /// The remote address.
    fn get_peer(&self) -> Address;

    /// The local address.
    fn get_host(&self) -> Address;

    /// Stops reading from the connection (backpressure on the peer).
    fn pause_producing(&self);

    /// Starts reading again.
    fn resume_producing(&self);

    /// Registers a producer that writes to this transport and is paused when the write
    /// buffer passes its high-water mark.
    ///
    /// # Errors
    ///
    /// [`ProducerError::AlreadyRegistered`] if one is registered, [`ProducerError::Closed`]
    /// if the transport is closed.
    fn register_producer(&self, producer: Producer) -> Result<(), ProducerError>;

    /// Forgets the registered producer.
    fn unregister_producer(&self);

    /// Sets the write buffer's high-water mark (the producer is paused above it) and
    /// low-water mark (it is resumed at or below it).
    fn set_write_watermarks(&self, high: usize, low: usize);

    /// Bytes queued and not yet sent.
    fn write_buffer_len(&self) -> usize;

    /// True once `lose_connection` (or the peer's end of input) started the close.
    fn is_disconnecting(&self) -> bool;

    /// True until the connection is closed.
    fn is_connected(&self) -> bool;

    /// Sets `TCP_NODELAY` (TCP only).
    ///
    /// # Errors
    ///
    /// `Unsupported` on transports that are not TCP.
    fn set_tcp_no_delay(&self, on: bool) -> io::Result<()> {
        let _ = on;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Sets `SO_KEEPALIVE` (TCP only).
    ///
    /// # Errors
    ///
    /// `Unsupported` on transports that are not TCP.
    fn set_tcp_keep_alive(&self, on: bool) -> io::Result<()> {
        let _ = on;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The reactor driving this transport, if a real one does.
    fn reactor(&self) -> Option<Reactor> {
        None
    }

    /// Starts TLS on this established connection (Twisted's `ITLSTransport.startTLS`):
    /// calls `starter.install` once, then forwards this transport's writes, closes and
    /// flow control to the TLS transport it returns, and wraps the protocol. The
    /// [`Transport`] handle stays the same. Use `torsion::tls::start_tls`, which makes
    /// the starter.
    ///
    /// # Errors
    ///
    /// `Unsupported` (the default: TCP connections support it), `AlreadyExists` if TLS
    /// was started already, `NotConnected` once closed.
    fn start_tls(&self, starter: Box<dyn TlsStarter>) -> io::Result<()> {
        let _ = starter;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The TLS transport [`start_tls`](TransportCore::start_tls) installed, if any.
    fn started_tls(&self) -> Option<Rc<dyn TransportCore>> {
        None
    }
}

/// What [`TransportCore::start_tls`] installs: made by `torsion::tls::start_tls`, so that a
/// transport can support STARTTLS without depending on the TLS module.
pub trait TlsStarter {
    /// Called once by the transport. `raw` writes to the connection underneath TLS,
    /// bypassing it; `handle` is the transport's own handle (the one its protocol holds),
    /// which the TLS layer hands to the protocol from now on. Returns the TLS transport,
    /// to which the connection then forwards its handle's calls, and the function that
    /// wraps the connection's protocol, which the transport calls once, when the protocol
    /// is not running.
    fn install(self: Box<Self>, raw: Transport, handle: Transport) -> InstalledTls;
}

/// What a [`TlsStarter`] gives back to the transport.
pub struct InstalledTls {
    /// The TLS transport: the connection forwards its handle's calls here.
    pub core: Rc<dyn TransportCore>,
    /// Wraps the connection's protocol in the TLS protocol.
    pub wrap: ProtocolWrap,
}

/// A function that wraps a protocol in another (the TLS protocol, for `start_tls`).
pub type ProtocolWrap = Box<dyn FnOnce(Box<dyn Protocol>) -> Box<dyn Protocol>>;

impl fmt::Debug for InstalledTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InstalledTls")
    }
}

/// A protocol's handle on its connection: cheap to clone (an `Rc`), compared and hashed by
/// identity, so a set of connected clients can be a `HashSet<Transport>`.
///
/// Every method may be called from any callback, for this connection or another one.
#[derive(Clone)]
pub struct Transport {
    core: Rc<dyn TransportCore>,
}

impl Transport {
    /// Wraps an implementation.
    pub fn new(core: Rc<dyn TransportCore>) -> Transport {
        Transport { core }
    }

    /// The implementation, to reach transport-specific calls (for example
    /// `transport.downcast::<TlsTransport>()`).
    pub fn downcast<T: TransportCore>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.core;
        any.downcast_ref::<T>()
    }

    /// See [`TransportCore::write`].
    pub fn write(&self, data: &[u8]) {
        self.core.write(data)
    }

    /// See [`TransportCore::write_sequence`].
    pub fn write_sequence(&self, data: &[&[u8]]) {
        self.core.write_sequence(data)
    }

    /// See [`TransportCore::lose_connection`].
    pub fn lose_connection(&self) {
        self.core.lose_connection()
    }

    /// See [`TransportCore::abort_connection`].
    pub fn abort_connection(&self) {
        self.core.abort_connection()
    }

    /// See [`TransportCore::lose_write_connection`].
    pub fn lose_write_connection(&self) {
        self.core.lose_write_connection()
    }

    /// See [`TransportCore::get_peer`].
    pub fn get_peer(&self) -> Address {
        self.core.get_peer()
    }

    /// See [`TransportCore::get_host`].
    pub fn get_host(&self) -> Address {
        self.core.get_host()
    }

    /// See [`TransportCore::pause_producing`].
    pub fn pause_producing(&self) {
        self.core.pause_producing()
    }

    /// See [`TransportCore::resume_producing`].
    pub fn resume_producing(&self) {
        self.core.resume_producing()
    }

    /// See [`TransportCore::register_producer`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn register_producer(&self, producer: Producer) -> Result<(), ProducerError> {
        self.core.register_producer(producer)
    }

    /// See [`TransportCore::unregister_producer`].
    pub fn unregister_producer(&self) {
        self.core.unregister_producer()
    }

    /// See [`TransportCore::set_write_watermarks`].
    pub fn set_write_watermarks(&self, high: usize, low: usize) {
        self.core.set_write_watermarks(high, low)
    }

    /// See [`TransportCore::write_buffer_len`].
    pub fn write_buffer_len(&self) -> usize {
        self.core.write_buffer_len()
    }

    /// See [`TransportCore::is_disconnecting`].
    pub fn is_disconnecting(&self) -> bool {
        self.core.is_disconnecting()
    }

    /// See [`TransportCore::is_connected`].
    pub fn is_connected(&self) -> bool {
        self.core.is_connected()
    }

    /// See [`TransportCore::set_tcp_no_delay`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn set_tcp_no_delay(&self, on: bool) -> io::Result<()> {
        self.core.set_tcp_no_delay(on)
    }

    /// See [`TransportCore::set_tcp_keep_alive`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn set_tcp_keep_alive(&self, on: bool) -> io::Result<()> {
        self.core.set_tcp_keep_alive(on)
    }

    /// See [`TransportCore::reactor`].
    pub fn reactor(&self) -> Option<Reactor> {
        self.core.reactor()
    }

    /// See [`TransportCore::start_tls`] (`torsion::tls::start_tls` is the convenient form).
    ///
    /// # Errors
    ///
    /// As there.
    pub fn start_tls(&self, starter: Box<dyn TlsStarter>) -> io::Result<()> {
        self.core.start_tls(starter)
    }

    /// See [`TransportCore::started_tls`].
    pub fn started_tls(&self) -> Option<Rc<dyn TransportCore>> {
        self.core.started_tls()
    }

    fn addr(&self) -> *const u8 {
        Rc::as_ptr(&self.core) as *const u8
    }
}

impl PartialEq for Transport {
    fn eq(&self, other: &Self) -> bool {
        self.addr() == other.addr()
    }
}

impl Eq for Transport {}

impl Hash for Transport {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.addr().hash(state)
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("peer", &self.get_peer())
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// A transport is itself a push producer of the bytes it reads: pausing it stops reading
/// (Twisted's transports are `IPushProducer`s). Register one transport as the producer of
/// another to forward between them with backpressure.
impl PushProducer for Transport {
    fn pause_producing(&self) {
        Transport::pause_producing(self)
    }
    fn resume_producing(&self) {
        Transport::resume_producing(self)
    }
    fn stop_producing(&self) {
        self.lose_connection()
    }
}
