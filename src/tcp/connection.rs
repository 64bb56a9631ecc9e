//! [`Connection`]: one connected stream socket (TCP or Unix) and the protocol on it.
//!
//! Reading: one `recv` per readiness event into the reactor's shared buffer, handed to
//! `data_received` by reference. The socket is registered edge-triggered
//! (`Interest::EDGE`, where the poller has it): epoll then reports connections in the order
//! their data arrived instead of rescanning every one it reported last time in a fixed
//! order, which shortens the latency tail under many busy connections. What that asks of
//! the reads and sends (a full read or a whole send that left data queued has the poller
//! look again; a hang-up is read to its end) is in `poll_io.rs`. Writing: `write` copies into the connection's
//! [`WriteQueue`] and asks for a flush just before the loop next polls, so all writes of a
//! turn leave in one `sendmsg`; if the kernel takes less, the rest waits for writability.
//! One exception, for latency: what a `data_received` wrote to its own connection leaves
//! right after that read returns (still one `sendmsg` for all of it), so an answer does
//! not wait while the other ready connections of the turn are read.
//!
//! STARTTLS: [`TransportCore::start_tls`] installs a TLS layer (see `layer.rs`); from then
//! on the connection's own handle forwards writes, closes and flow control to it, and the
//! layer writes ciphertext through a bypass, so a protocol's `Transport` stays the same.
//!
//! Tests: `tests/tcp_*.rs`, `tests/tls_starttls.rs`.

mod layer;
mod poll_io;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};

use torsion_sys::{socket, Interest};

use crate::buffer::WriteQueue;
use crate::defer::Failure;
use crate::protocol::{Address, ConnectionLost, Protocol};
use crate::reactor::{IoHandler, Reactor, SourceKey};
use crate::transport::{Producer, ProducerError, TlsStarter, Transport, TransportCore};

use super::connector::ConnectorInner;

/// Default high-water mark of the write buffer: 64 KiB, Twisted's `bufferSize`.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;
/// Default low-water mark: 0, so a paused producer resumes once the buffer is empty, as in
/// Twisted.
pub const DEFAULT_LOW_WATER: usize = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    /// Closing once the queue is empty (and no producer is registered).
    Closing,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteSide {
    Open,
    /// `lose_write_connection`: shut down once the queue is empty.
    ShutdownRequested,
    Shut,
}

struct State {
    phase: Phase,
    write_side: WriteSide,
    queue: WriteQueue,
    /// The user paused reading (`pause_producing`).
    read_paused: bool,
    /// End of input seen (or reading stopped for good).
    read_closed: bool,
    flush_scheduled: bool,
    /// The kernel's buffer was full: wait for writability before writing again.
    want_write: bool,
    /// Interest registered with the reactor now.
    interest: Interest,
    producer: Option<Producer>,
    /// The producer was told (or is about to be told) to pause.
    producer_paused: bool,
    /// A pause was requested but not delivered yet (it goes out from the pending phase).
    pause_pending: bool,
    high_water: usize,
    low_water: usize,
    /// Why the connection closes, once `Closing` completes.
    closing_reason: Option<ConnectionLost>,
}

impl State {
    /// Still reading: open, not paused, not at EOF.
    fn reads(&self) -> bool {
        self.phase == Phase::Open && !self.read_paused && !self.read_closed
    }
}

/// A connected stream socket with its protocol. Shared as an `Rc`: the reactor holds it as
/// the source's handler and every [`Transport`] handed to the protocol points at it.
pub(crate) struct Connection {
    reactor: Reactor,
    me: Weak<Connection>,
    fd: RefCell<Option<OwnedFd>>,
    key: Cell<Option<SourceKey>>,
    protocol: RefCell<Option<Box<dyn Protocol>>>,
    st: RefCell<State>,
    host: Address,
    peer: Address,
    is_tcp: bool,
    client: Option<Rc<ConnectorInner>>,
    /// The TLS layer `start_tls` installed, if any.
    tls: layer::Slot,
}

impl Connection {
    /// Registers an established socket and calls the protocol's `connection_made`.
    pub(crate) fn start(
        reactor: &Reactor,
        fd: OwnedFd,
        host: Address,
        peer: Address,
        protocol: Box<dyn Protocol>,
        client: Option<Rc<ConnectorInner>>,
    ) -> io::Result<Rc<Connection>> {
        let is_tcp = matches!(host, Address::Tcp(_));
        let conn = Rc::new_cyclic(|me| Connection {
            reactor: reactor.clone(),
            me: me.clone(),
            fd: RefCell::new(None),
            key: Cell::new(None),
            protocol: RefCell::new(Some(protocol)),
            st: RefCell::new(State {
                phase: Phase::Open,
                write_side: WriteSide::Open,
                queue: WriteQueue::new(),
                read_paused: false,
                read_closed: false,
                flush_scheduled: false,
                want_write: false,
                interest: Interest::READABLE | Interest::EDGE,
                producer: None,
                producer_paused: false,
                pause_pending: false,
                high_water: DEFAULT_HIGH_WATER,
                low_water: DEFAULT_LOW_WATER,
                closing_reason: None,
            }),
            host,
            peer,
            is_tcp,
            client,
            tls: layer::Slot::default(),
        });
        let handler: Rc<dyn IoHandler> = conn.clone();
        let key = reactor.add_source(&fd, Interest::READABLE | Interest::EDGE, handler)?;
        conn.key.set(Some(key));
        *conn.fd.borrow_mut() = Some(fd);
        conn.call_protocol(|p, t| p.connection_made(t));
        Ok(conn)
    }

    fn this(&self) -> Rc<Connection> {
        self.me
            .upgrade()
            .expect("a connection is alive while its methods run")
    }

    pub(crate) fn transport(&self) -> Transport {
        Transport::new(self.this())
    }

    /// Calls into the protocol with the transport, containing a panic to this connection.
    fn call_protocol(&self, f: impl FnOnce(&mut dyn Protocol, &Transport)) {
        self.tls.wrap_protocol(&self.protocol);
        let transport = self.transport();
        let Ok(mut slot) = self.protocol.try_borrow_mut() else {
            // Not reachable by design (protocols are only called from the top of the loop);
            // if it ever happens, dropping the event beats a RefCell panic.
            log::error!("re-entrant protocol call on {}; event dropped", self.peer);
            return;
        };
        let Some(protocol) = slot.as_mut() else {
            return;
        };
        let result = catch_unwind(AssertUnwindSafe(|| f(&mut **protocol, &transport)));
        drop(slot);
        if let Err(panic) = result {
            let msg = crate::reactor::panic_message(&*panic);
            log::error!(
                "protocol for {} panicked: {msg}; closing that connection",
                self.peer
            );
            self.close_now(ConnectionLost::Lost(Failure::msg(format!(
                "the protocol panicked: {msg}"
            ))));
        }
    }

    fn half_closeable(&self) -> bool {
        self.protocol
            .try_borrow()
            .ok()
            .and_then(|p| p.as_ref().map(|p| p.half_closeable()))
            .unwrap_or(false)
    }

    /// The peer will send no more.
    fn read_eof(&self) {
        self.st.borrow_mut().read_closed = true;
        self.update_interest();
        if self.half_closeable() {
            self.call_protocol(|p, t| p.read_connection_lost(t));
        } else {
            // Send what was written before closing: the peer may still be reading. A
            // producer is stopped rather than waited for (nothing will consume its output
            // once we close), so the close cannot hang on it.
            let producer = {
                let mut st = self.st.borrow_mut();
                st.producer_paused = false;
                st.pause_pending = false;
                st.producer.take()
            };
            if let Some(producer) = producer {
                self.reactor.call_soon(move || producer.stop_producing());
            }
            self.begin_close(ConnectionLost::Done);
        }
    }

    /// Marks the producer paused and tells it so from the pending phase (never from inside
    /// `write`, whose caller may be the producer itself).
    fn request_pause(&self, st: &mut State) {
        st.producer_paused = true;
        if st.pause_pending {
            return;
        }
        st.pause_pending = true;
        let me = self.this();
        self.reactor.call_soon(move || me.deliver_pause());
    }

    fn deliver_pause(&self) {
        let producer = {
            let mut st = self.st.borrow_mut();
            if !st.pause_pending {
                return; // cancelled: the buffer drained before the pause went out
            }
            st.pause_pending = false;
            match &st.producer {
                Some(Producer::Push(p)) => p.clone(),
                _ => return,
            }
        };
        producer.pause_producing();
    }

    fn begin_close(&self, reason: ConnectionLost) {
        {
            let mut st = self.st.borrow_mut();
            if st.phase != Phase::Open {
                return;
            }
            st.phase = Phase::Closing;
            st.closing_reason = Some(reason);
        }
        self.update_interest();
        self.schedule_flush();
    }

    fn schedule_flush(&self) {
        let mut st = self.st.borrow_mut();
        if st.flush_scheduled || st.want_write || st.phase == Phase::Closed {
            return;
        }
        st.flush_scheduled = true;
        drop(st);
        let me = self.this();
        self.reactor.call_before_poll(move || {
            // A read may have flushed already (see `do_read`).
            if me.st.borrow().flush_scheduled {
                me.flush();
            }
        });
    }

    fn shut_write(&self) {
        let result = match self.fd.borrow().as_ref() {
            Some(fd) => socket::shutdown_write(fd),
            None => return,
        };
        self.st.borrow_mut().write_side = WriteSide::Shut;
        match result {
            Ok(()) if self.half_closeable() => {
                self.call_protocol(|p, t| p.write_connection_lost(t))
            }
            Ok(()) => {}
            Err(e) => self.close_now(ConnectionLost::from_io(e)),
        }
    }

    /// Closes the socket now and delivers `connection_lost` from the next pending phase.
    pub(crate) fn close_now(&self, reason: ConnectionLost) {
        let producer = {
            let mut st = self.st.borrow_mut();
            if st.phase == Phase::Closed {
                return;
            }
            st.phase = Phase::Closed;
            st.want_write = false;
            let pool = self.reactor.buffer_pool().clone();
            st.queue.clear(&pool);
            st.producer.take()
        };
        let fd = self.fd.borrow_mut().take();
        if let (Some(key), Some(fd)) = (self.key.take(), fd.as_ref()) {
            let _ = self.reactor.remove_source(key, fd);
        }
        drop(fd);
        let me = self.this();
        self.reactor
            .call_soon(move || me.deliver_lost(producer, reason));
    }

    fn deliver_lost(&self, producer: Option<Producer>, reason: ConnectionLost) {
        if let Some(producer) = producer {
            producer.stop_producing();
        }
        let transport = self.transport();
        self.tls.wrap_protocol(&self.protocol);
        let protocol = self.protocol.borrow_mut().take();
        if let Some(mut protocol) = protocol {
            let lost = reason.clone();
            let result = catch_unwind(AssertUnwindSafe(|| {
                protocol.connection_lost(&transport, lost)
            }));
            if let Err(panic) = result {
                log::error!(
                    "connection_lost of the protocol for {} panicked: {}",
                    self.peer,
                    crate::reactor::panic_message(&*panic)
                );
            }
            drop(protocol);
        }
        if let Some(client) = &self.client {
            client.connection_lost(&reason);
        }
    }
}

impl TransportCore for Connection {
    fn write(&self, data: &[u8]) {
        if let Some(tls) = self.tls.upper() {
            return tls.write(data);
        }
        if data.is_empty() {
            return;
        }
        {
            let mut st = self.st.borrow_mut();
            if st.phase != Phase::Open || st.write_side != WriteSide::Open {
                return;
            }
            st.queue.write(self.reactor.buffer_pool(), data);
            let over = st.queue.len() > st.high_water && !st.producer_paused;
            if over && matches!(st.producer, Some(Producer::Push(_))) {
                self.request_pause(&mut st);
            }
        }
        self.schedule_flush();
    }

    fn write_sequence(&self, data: &[&[u8]]) {
        if let Some(tls) = self.tls.upper() {
            return tls.write_sequence(data);
        }
        for d in data {
            self.write(d);
        }
    }

    fn lose_connection(&self) {
        if let Some(tls) = self.tls.upper() {
            return tls.lose_connection();
        }
        self.begin_close(ConnectionLost::Done);
    }

    fn abort_connection(&self) {
        // Tell the peer the close is unclean: a reset, not an orderly end of stream.
        if self.is_tcp {
            if let Some(fd) = self.fd.borrow().as_ref() {
                let _ = socket::set_linger_zero(fd);
            }
        }
        self.close_now(ConnectionLost::Aborted);
    }

    fn lose_write_connection(&self) {
        if let Some(tls) = self.tls.upper() {
            return tls.lose_write_connection();
        }
        {
            let mut st = self.st.borrow_mut();
            if st.phase != Phase::Open || st.write_side != WriteSide::Open {
                return;
            }
            st.write_side = WriteSide::ShutdownRequested;
        }
        self.schedule_flush();
    }

    fn get_peer(&self) -> Address {
        self.peer.clone()
    }

    fn get_host(&self) -> Address {
        self.host.clone()
    }

    fn pause_producing(&self) {
        if let Some(tls) = self.tls.upper() {
            return tls.pause_producing();
        }
        self.st.borrow_mut().read_paused = true;
        self.update_interest();
    }

    fn resume_producing(&self) {
        if let Some(tls) = self.tls.upper() {
            return tls.resume_producing();
        }
        let was_paused = std::mem::replace(&mut self.st.borrow_mut().read_paused, false);
        self.update_interest();
        if was_paused {
            // Tell the protocol from the top of the loop (the caller may be the protocol).
            let me = self.this();
            self.reactor
                .call_soon(move || me.call_protocol(|p, t| p.reading_resumed(t)));
        }
    }

    fn register_producer(&self, producer: Producer) -> Result<(), ProducerError> {
        if let Some(tls) = self.tls.upper() {
            return tls.register_producer(producer);
        }
        let mut st = self.st.borrow_mut();
        if st.phase == Phase::Closed {
            return Err(ProducerError::Closed);
        }
        if st.producer.is_some() {
            return Err(ProducerError::AlreadyRegistered);
        }
        st.producer = Some(producer.clone());
        st.producer_paused = false;
        st.pause_pending = false;
        match producer {
            Producer::Push(_) if st.queue.len() > st.high_water => self.request_pause(&mut st),
            // A pull producer is asked for its first piece at once (from the loop).
            Producer::Pull(p) => self.reactor.call_soon(move || p.resume_producing()),
            Producer::Push(_) => {}
        }
        Ok(())
    }

    fn unregister_producer(&self) {
        if let Some(tls) = self.tls.upper() {
            return tls.unregister_producer();
        }
        let closing = {
            let mut st = self.st.borrow_mut();
            st.producer = None;
            st.producer_paused = false;
            st.pause_pending = false;
            st.phase == Phase::Closing
        };
        if closing {
            self.schedule_flush();
        }
    }

    fn set_write_watermarks(&self, high: usize, low: usize) {
        if let Some(tls) = self.tls.upper() {
            return tls.set_write_watermarks(high, low);
        }
        let mut st = self.st.borrow_mut();
        st.high_water = high;
        st.low_water = low.min(high);
    }

    fn write_buffer_len(&self) -> usize {
        if let Some(tls) = self.tls.upper() {
            return tls.write_buffer_len();
        }
        self.st.borrow().queue.len()
    }

    fn is_disconnecting(&self) -> bool {
        if let Some(tls) = self.tls.upper() {
            return tls.is_disconnecting();
        }
        self.st.borrow().phase == Phase::Closing
    }

    fn is_connected(&self) -> bool {
        self.st.borrow().phase != Phase::Closed
    }

    fn set_tcp_no_delay(&self, on: bool) -> io::Result<()> {
        match (self.is_tcp, self.fd.borrow().as_ref()) {
            (true, Some(fd)) => socket::set_nodelay(fd, on),
            (false, _) => Err(io::ErrorKind::Unsupported.into()),
            (true, None) => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn set_tcp_keep_alive(&self, on: bool) -> io::Result<()> {
        match (self.is_tcp, self.fd.borrow().as_ref()) {
            (true, Some(fd)) => socket::set_keepalive(fd, on),
            (false, _) => Err(io::ErrorKind::Unsupported.into()),
            (true, None) => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn reactor(&self) -> Option<Reactor> {
        Some(self.reactor.clone())
    }

    fn start_tls(&self, starter: Box<dyn TlsStarter>) -> io::Result<()> {
        if self.st.borrow().phase == Phase::Closed {
            return Err(io::ErrorKind::NotConnected.into());
        }
        self.tls.start(self.this(), starter, &self.protocol)
    }

    fn started_tls(&self) -> Option<Rc<dyn TransportCore>> {
        self.tls.core()
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.st.borrow();
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .field("phase", &st.phase)
            .field("queued", &st.queue.len())
            .finish()
    }
}
