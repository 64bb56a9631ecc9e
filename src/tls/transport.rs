//! [`TlsTransport`]: the transport a protocol gets on a TLS connection, and the producer
//! membrane that merges the TLS layer's pauses with those of the transport underneath.
//!
//! Tests: `tests/tls_flow.rs`, `tests/tls_tcp.rs`.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::rc::Rc;

use super::error::{TlsError, TlsErrorKind};
use super::layer::{Close, Core, FULL_RECORD};
use super::TlsVersion;
use crate::defer::{fail, succeed, Deferred};
use crate::protocol::Address;
use crate::transport::{Producer, ProducerError, PushProducer, Transport, TransportCore};
use crate::Reactor;

/// Stands for the user's push producer at the transport underneath, and merges its
/// pauses with the TLS layer's own (plaintext piling up during the handshake), as
/// Twisted's `_ProducerMembrane` does.
pub(super) struct Membrane {
    pub(super) producer: Rc<dyn PushProducer>,
    pub(super) lower_paused: Cell<bool>,
    pub(super) tls_paused: Cell<bool>,
    pub(super) told_paused: Cell<bool>,
}

impl Membrane {
    pub(super) fn sync(&self) {
        let want = self.lower_paused.get() || self.tls_paused.get();
        if want != self.told_paused.replace(want) {
            if want {
                self.producer.pause_producing();
            } else {
                self.producer.resume_producing();
            }
        }
    }
}

impl PushProducer for Membrane {
    fn pause_producing(&self) {
        self.lower_paused.set(true);
        self.sync();
    }
    fn resume_producing(&self) {
        self.lower_paused.set(false);
        self.sync();
    }
    fn stop_producing(&self) {
        self.producer.stop_producing();
    }
}

/// The transport a protocol gets on a TLS connection: it writes plaintext, which is
/// encrypted, and closes with `close_notify`. Reach it with
/// `transport.downcast::<TlsTransport>()` (connections of the `ssl:` / `tls:` endpoints
/// and of [`TlsServerFactory`](super::TlsServerFactory) /
/// [`TlsClientFactory`](super::TlsClientFactory)) or with [`tls_of`](super::tls_of),
/// which also finds TLS started with [`start_tls`](super::start_tls).
///
/// Its handle compares equal to nothing but itself, and clones are cheap.
#[derive(Clone)]
pub struct TlsTransport {
    core: Rc<Core>,
}

impl TlsTransport {
    pub(crate) fn new(core: Rc<Core>) -> TlsTransport {
        TlsTransport { core }
    }

    /// Fires once the handshake has completed, or fails with the [`TlsError`] (or the
    /// connection's end) that stopped it (Twisted's `IHandshakeListener.handshakeCompleted`).
    /// Callbacks run from the top of the loop and may write.
    pub fn handshake_done(&self) -> Deferred<()> {
        let mut st = self.core.st.borrow_mut();
        if !st.handshaking {
            return succeed(());
        }
        if st.dead {
            let e = st.error.clone().unwrap_or_else(|| {
                TlsError::new(
                    TlsErrorKind::HandshakeInterrupted,
                    "the connection is closed",
                )
            });
            return fail(e);
        }
        let d = Deferred::new();
        st.waiters.push(d.clone());
        d
    }

    /// True once the handshake has completed.
    pub fn is_handshake_complete(&self) -> bool {
        !self.core.st.borrow().handshaking
    }

    /// The peer's certificate chain, DER-encoded, leaf first (empty before the handshake
    /// completes, and for a client that presented none). Twisted's `getPeerCertificate`.
    pub fn peer_certificates(&self) -> Vec<Vec<u8>> {
        self.core.st.borrow().details.peer_certificates.clone()
    }

    /// The protocol ALPN settled on, if any (Twisted's `negotiatedProtocol`).
    pub fn negotiated_protocol(&self) -> Option<Vec<u8>> {
        self.core.st.borrow().details.alpn.clone()
    }

    /// On a server: the host name the client asked for with SNI, if any.
    pub fn server_name(&self) -> Option<String> {
        self.core.st.borrow().details.server_name.clone()
    }

    /// The protocol version in use, once the handshake has completed.
    pub fn protocol_version(&self) -> Option<TlsVersion> {
        self.core.st.borrow().details.version
    }

    /// The cipher suite in use (its IANA name), once the handshake has completed.
    pub fn cipher_suite(&self) -> Option<String> {
        self.core.st.borrow().details.cipher_suite.clone()
    }

    fn lower(&self) -> Option<Transport> {
        self.core.lower()
    }
}

impl TransportCore for TlsTransport {
    fn write(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let pause = {
            let mut st = self.core.st.borrow_mut();
            if st.dead || st.close != Close::None {
                return;
            }
            if st.pending.is_empty() && !st.handshaking && data.len() >= FULL_RECORD {
                // Full records gain nothing from waiting: encrypt now, saving a copy.
                st.session.write_plaintext(data);
                st.sealed += data.len();
            } else {
                st.pending.extend_from_slice(data);
            }
            // During the handshake nothing reaches the transport underneath, whose
            // high-water mark would pause a producer: pause it here.
            match &st.membrane {
                Some(m)
                    if st.handshaking
                        && st.pending.len() > st.high_water
                        && !m.tls_paused.get() =>
                {
                    m.tls_paused.set(true);
                    Some(m.clone())
                }
                _ => None,
            }
        };
        if let Some(m) = pause {
            self.core.sched.borrow().soon(move || m.sync());
        }
        self.core.schedule_flush();
    }

    fn lose_connection(&self) {
        self.core.request_close(Close::Full);
    }

    fn abort_connection(&self) {
        self.core.st.borrow_mut().dead = true;
        if let Some(l) = self.lower() {
            l.abort_connection();
        }
    }

    fn lose_write_connection(&self) {
        self.core.request_close(Close::Write);
    }

    fn get_peer(&self) -> Address {
        match self.core.addresses.borrow().as_ref() {
            Some((_, peer)) => peer.clone(),
            None => Address::Memory("(not connected)".into()),
        }
    }

    fn get_host(&self) -> Address {
        match self.core.addresses.borrow().as_ref() {
            Some((host, _)) => host.clone(),
            None => Address::Memory("(not connected)".into()),
        }
    }

    fn pause_producing(&self) {
        self.core.st.borrow_mut().read_paused = true;
        if let Some(l) = self.lower() {
            l.pause_producing();
        }
    }

    fn resume_producing(&self) {
        let held = {
            let mut st = self.core.st.borrow_mut();
            st.read_paused = false;
            !st.dead
        };
        if let Some(l) = self.lower() {
            l.resume_producing();
        }
        if held {
            self.core.schedule_delivery();
        }
    }

    fn register_producer(&self, producer: Producer) -> Result<(), ProducerError> {
        let lower = self.lower().ok_or(ProducerError::Closed)?;
        let registered = {
            let st = self.core.st.borrow();
            if st.dead {
                return Err(ProducerError::Closed);
            }
            if st.producer.is_some() {
                return Err(ProducerError::AlreadyRegistered);
            }
            match &producer {
                Producer::Push(p) => {
                    let m = Rc::new(Membrane {
                        producer: p.clone(),
                        lower_paused: Cell::new(false),
                        tls_paused: Cell::new(false),
                        told_paused: Cell::new(false),
                    });
                    (Producer::Push(m.clone()), Some(m))
                }
                Producer::Pull(p) => (Producer::Pull(p.clone()), None),
            }
        };
        let (below, membrane) = registered;
        lower.register_producer(below)?;
        let mut st = self.core.st.borrow_mut();
        st.producer = Some(producer);
        st.membrane = membrane;
        Ok(())
    }

    fn unregister_producer(&self) {
        let closing = {
            let mut st = self.core.st.borrow_mut();
            if st.producer.take().is_none() {
                return;
            }
            st.membrane = None;
            st.close != Close::None
        };
        if let Some(l) = self.lower() {
            l.unregister_producer();
        }
        if closing {
            self.core.schedule_flush();
        }
    }

    fn set_write_watermarks(&self, high: usize, low: usize) {
        self.core.st.borrow_mut().high_water = high;
        if let Some(l) = self.lower() {
            l.set_write_watermarks(high, low);
        }
    }

    fn write_buffer_len(&self) -> usize {
        let pending = {
            let st = self.core.st.borrow();
            st.pending.len() + st.sealed
        };
        pending + self.lower().map(|l| l.write_buffer_len()).unwrap_or(0)
    }

    fn is_disconnecting(&self) -> bool {
        let st = self.core.st.borrow();
        !st.dead && st.close == Close::Full
    }

    fn is_connected(&self) -> bool {
        !self.core.st.borrow().dead && self.lower().is_some_and(|l| l.is_connected())
    }

    fn set_tcp_no_delay(&self, on: bool) -> io::Result<()> {
        self.lower()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?
            .set_tcp_no_delay(on)
    }

    fn set_tcp_keep_alive(&self, on: bool) -> io::Result<()> {
        self.lower()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?
            .set_tcp_keep_alive(on)
    }

    fn reactor(&self) -> Option<Reactor> {
        self.lower().and_then(|l| l.reactor())
    }
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.st.borrow();
        f.debug_struct("TlsTransport")
            .field("handshaking", &st.handshaking)
            .field("pending", &st.pending.len())
            .field("dead", &st.dead)
            .finish()
    }
}
