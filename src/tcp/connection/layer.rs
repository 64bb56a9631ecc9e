//! STARTTLS on a [`Connection`]: the [`Slot`] holding the TLS layer `start_tls` installed,
//! and [`Raw`], the transport the layer writes its ciphertext through.
//!
//! Twisted's design (`_newtls.ConnectionMixin` and `_BypassTLS`): once TLS has started, the
//! connection's own handle (the one its protocol already holds) forwards `write`,
//! `lose_connection`, producer and flow-control calls to the TLS transport, and the TLS
//! layer reaches the socket through a bypass. Here the bypass is [`Raw`]: it runs the
//! connection's methods with forwarding switched off. Those methods never call user code,
//! so nothing can see the switch. The protocol is wrapped (the TLS protocol owns it) the
//! first time it is not running: at once if `start_tls` is called from outside it, else
//! just before its next callback.
//!
//! Tests: `tests/tls_starttls.rs`.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;

use super::Connection;
use crate::protocol::{Address, Protocol};
use crate::transport::{
    InstalledTls, Producer, ProducerError, ProtocolWrap, TlsStarter, Transport, TransportCore,
};
use crate::Reactor;

/// The TLS layer of a connection, once started.
#[derive(Default)]
pub(super) struct Slot {
    core: RefCell<Option<Rc<dyn TransportCore>>>,
    wrap: RefCell<Option<ProtocolWrap>>,
    /// Set while [`Raw`] runs a connection method: no forwarding then.
    bypass: Cell<bool>,
}

impl Slot {
    /// The TLS transport to forward to, unless the layer itself is writing.
    pub(super) fn upper(&self) -> Option<Rc<dyn TransportCore>> {
        if self.bypass.get() {
            return None;
        }
        self.core.borrow().clone()
    }

    /// The TLS transport, if started.
    pub(super) fn core(&self) -> Option<Rc<dyn TransportCore>> {
        self.core.borrow().clone()
    }

    pub(super) fn start(
        &self,
        conn: Rc<Connection>,
        starter: Box<dyn TlsStarter>,
        protocol: &RefCell<Option<Box<dyn Protocol>>>,
    ) -> io::Result<()> {
        if self.core.borrow().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "TLS was already started on this connection",
            ));
        }
        let handle = conn.transport();
        let raw = Transport::new(Rc::new(Raw(conn)));
        let InstalledTls { core, wrap } = starter.install(raw, handle);
        *self.core.borrow_mut() = Some(core);
        *self.wrap.borrow_mut() = Some(wrap);
        // From outside the protocol's callbacks: wrap now. From inside: `call_protocol`
        // does it before the next callback.
        self.wrap_protocol(protocol);
        Ok(())
    }

    /// Wraps the protocol if a wrap is pending and the protocol is not running.
    pub(super) fn wrap_protocol(&self, protocol: &RefCell<Option<Box<dyn Protocol>>>) {
        if self.wrap.borrow().is_none() {
            return;
        }
        let Ok(mut slot) = protocol.try_borrow_mut() else {
            return;
        };
        let wrap = self.wrap.borrow_mut().take();
        if let (Some(wrap), Some(inner)) = (wrap, slot.take()) {
            *slot = Some(wrap(inner));
        }
    }
}

/// The connection underneath TLS: its methods with forwarding to the TLS layer off.
pub(super) struct Raw(Rc<Connection>);

impl Raw {
    fn run<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        let slot = &self.0.tls;
        let was = slot.bypass.replace(true);
        let r = f(&self.0);
        slot.bypass.set(was);
        r
    }
}

impl TransportCore for Raw {
    fn write(&self, data: &[u8]) {
        self.run(|c| c.write(data))
    }
    fn write_sequence(&self, data: &[&[u8]]) {
        self.run(|c| c.write_sequence(data))
    }
    fn lose_connection(&self) {
        self.run(|c| c.lose_connection())
    }
    fn abort_connection(&self) {
        self.run(|c| c.abort_connection())
    }
    fn lose_write_connection(&self) {
        self.run(|c| c.lose_write_connection())
    }
    fn get_peer(&self) -> Address {
        self.0.get_peer()
    }
    fn get_host(&self) -> Address {
        self.0.get_host()
    }
    fn pause_producing(&self) {
        self.run(|c| c.pause_producing())
    }
    fn resume_producing(&self) {
        self.run(|c| c.resume_producing())
    }
    fn register_producer(&self, producer: Producer) -> Result<(), ProducerError> {
        self.run(|c| c.register_producer(producer))
    }
    fn unregister_producer(&self) {
        self.run(|c| c.unregister_producer())
    }
    fn set_write_watermarks(&self, high: usize, low: usize) {
        self.run(|c| c.set_write_watermarks(high, low))
    }
    fn write_buffer_len(&self) -> usize {
        self.run(|c| c.write_buffer_len())
    }
    fn is_disconnecting(&self) -> bool {
        self.run(|c| c.is_disconnecting())
    }
    fn is_connected(&self) -> bool {
        self.0.is_connected()
    }
    fn set_tcp_no_delay(&self, on: bool) -> io::Result<()> {
        self.0.set_tcp_no_delay(on)
    }
    fn set_tcp_keep_alive(&self, on: bool) -> io::Result<()> {
        self.0.set_tcp_keep_alive(on)
    }
    fn reactor(&self) -> Option<Reactor> {
        Some(self.0.reactor.clone())
    }
}
