//! [`PortInner`]: a UDP socket registered with the reactor, its protocol, its receive
//! buffers and its send queue. The batching and re-entrancy rules are in the
//! [module docs](super).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};

use torsion_sys::socket::{self, RecvBatch, SendBatch};
use torsion_sys::{Interest, Readiness};

use super::queue::SendQueue;
use super::{DatagramProtocol, UdpPort, MAX_BATCHES_PER_EVENT, MAX_QUEUED, RECV_BATCH, SEND_BATCH};
use crate::buffer::CHUNK_SIZE;
use crate::defer::{succeed, Deferred};
use crate::reactor::{Counters, IoHandler, Reactor, SourceKey};

/// The receive side: the batch headers and the buffers of the current read.
struct Rx {
    batch: RecvBatch,
    /// Pool chunks while a read is in progress (empty otherwise), or, for slots bigger
    /// than a chunk, the port's own buffers (kept).
    bufs: Vec<Box<[u8]>>,
}

/// The send side's batch headers and state.
struct Tx {
    queue: SendQueue,
    batch: SendBatch,
}

pub(crate) struct PortInner {
    pub(super) reactor: Reactor,
    me: Weak<PortInner>,
    pub(super) fd: RefCell<Option<OwnedFd>>,
    key: Cell<Option<SourceKey>>,
    protocol: RefCell<Option<Box<dyn DatagramProtocol>>>,
    pub(super) host: SocketAddr,
    pub(super) max_packet_size: usize,
    pub(super) connected: Cell<Option<SocketAddr>>,
    rx: RefCell<Rx>,
    tx: RefCell<Tx>,
    flush_scheduled: Cell<bool>,
    want_write: Cell<bool>,
    pub(super) batching: Cell<bool>,
    /// `stop_protocol` is due once the protocol's current callback returns.
    stop_due: RefCell<Option<Deferred<()>>>,
    /// The interface multicast datagrams leave through (as set by the user).
    pub(super) outgoing_interface: Cell<IpAddr>,
    /// The queue was full (logged once per episode).
    overflowing: Cell<bool>,
}

impl PortInner {
    /// Registers a bound UDP socket and calls the protocol's `start_protocol`.
    pub(super) fn start(
        reactor: &Reactor,
        fd: OwnedFd,
        protocol: Box<dyn DatagramProtocol>,
        max_packet_size: usize,
    ) -> io::Result<UdpPort> {
        let host = socket::local_addr(&fd)?;
        let batch = if max_packet_size <= CHUNK_SIZE {
            RECV_BATCH
        } else {
            // Own buffers for big slots: at most about 1 MiB of them.
            (1 << 20) / max_packet_size
        };
        let inner = Rc::new_cyclic(|me| PortInner {
            reactor: reactor.clone(),
            me: me.clone(),
            fd: RefCell::new(None),
            key: Cell::new(None),
            protocol: RefCell::new(Some(protocol)),
            host,
            max_packet_size,
            connected: Cell::new(None),
            rx: RefCell::new(Rx {
                batch: RecvBatch::new(batch),
                bufs: Vec::with_capacity(batch),
            }),
            tx: RefCell::new(Tx {
                queue: SendQueue::new(),
                batch: SendBatch::new(SEND_BATCH),
            }),
            flush_scheduled: Cell::new(false),
            want_write: Cell::new(false),
            batching: Cell::new(socket::NATIVE_BATCHING),
            stop_due: RefCell::new(None),
            outgoing_interface: Cell::new(Ipv4Addr::UNSPECIFIED.into()),
            overflowing: Cell::new(false),
        });
        let handler: Rc<dyn IoHandler> = inner.clone();
        let key = reactor.add_source(&fd, Interest::READABLE, handler)?;
        inner.key.set(Some(key));
        *inner.fd.borrow_mut() = Some(fd);
        inner.set_segmentation(true);
        let port = UdpPort::new(inner.clone());
        inner.call_protocol(&port, |p, port| p.start_protocol(port));
        Ok(port)
    }

    fn this(&self) -> Rc<PortInner> {
        self.me
            .upgrade()
            .expect("a port is alive while its methods run")
    }

    pub(super) fn is_listening(&self) -> bool {
        self.fd.borrow().is_some()
    }

    /// Calls into the protocol, containing a panic (logged; the port goes on), then runs a
    /// `stop_protocol` that the callback made due.
    fn call_protocol(&self, port: &UdpPort, f: impl FnOnce(&mut dyn DatagramProtocol, &UdpPort)) {
        {
            let Ok(mut slot) = self.protocol.try_borrow_mut() else {
                log::error!(
                    "re-entrant datagram protocol call on {}; dropped",
                    self.host
                );
                return;
            };
            let Some(protocol) = slot.as_mut() else {
                return;
            };
            let result = catch_unwind(AssertUnwindSafe(|| f(&mut **protocol, port)));
            if let Err(panic) = result {
                log::error!(
                    "datagram protocol on udp {} panicked: {}",
                    self.host,
                    crate::reactor::panic_message(&*panic)
                );
            }
        }
        self.run_due_stop(port);
    }

    fn run_due_stop(&self, port: &UdpPort) {
        let due = self.stop_due.borrow_mut().take();
        if let Some(done) = due {
            self.stop_protocol(port);
            let _ = done.callback(());
        }
    }

    fn stop_protocol(&self, port: &UdpPort) {
        let protocol = self.protocol.borrow_mut().take();
        if let Some(mut protocol) = protocol {
            let result = catch_unwind(AssertUnwindSafe(|| protocol.stop_protocol(port)));
            if result.is_err() {
                log::error!("stop_protocol of udp {} panicked", self.host);
            }
        }
    }

    // ----- writing -----

    /// Queues a datagram and makes sure a flush is due before the next poll.
    pub(super) fn write(&self, data: &[u8], addr: Option<SocketAddr>) -> io::Result<()> {
        if !self.is_listening() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the port is not listening",
            ));
        }
        let dest = match (addr, self.connected.get()) {
            (Some(a), Some(c)) if a != c => {
                return Err(invalid(format!(
                    "the port is connected to {c}; cannot write to {a}"
                )))
            }
            (_, Some(_)) => None,
            (Some(a), None) => Some(a),
            (None, None) => return Err(invalid("no address to write to".into())),
        };
        let target = dest.or(self.connected.get()).unwrap_or(self.host);
        if target.is_ipv4() != self.host.is_ipv4() {
            return Err(invalid(format!(
                "cannot write to {target} from a port on {}",
                self.host
            )));
        }
        if data.len() > socket::max_datagram(&target) {
            return Err(invalid(format!(
                "message too long: {} bytes (Twisted's MessageLengthError)",
                data.len()
            )));
        }
        {
            let mut tx = self.tx.borrow_mut();
            if tx.queue.len() >= MAX_QUEUED {
                if !self.overflowing.replace(true) {
                    log::warn!(
                        "udp {}: send queue full ({MAX_QUEUED} datagrams); dropping writes",
                        self.host
                    );
                }
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the port's send queue is full",
                ));
            }
            tx.queue.push(self.reactor.buffer_pool(), data, dest);
        }
        if !self.want_write.get() && !self.flush_scheduled.replace(true) {
            let me = self.this();
            self.reactor.call_before_poll(move || me.flush_hook());
        }
        Ok(())
    }

    fn flush_hook(&self) {
        self.flush_scheduled.set(false);
        if !self.want_write.get() {
            self.flush();
        }
    }

    /// Sends what is queued until it is all gone or the kernel's buffer is full.
    fn flush(&self) {
        let mut refused = false;
        loop {
            let result = {
                let fd = self.fd.borrow();
                let Some(fd) = fd.as_ref() else { return };
                let mut tx = self.tx.borrow_mut();
                let tx = &mut *tx;
                if tx.queue.is_empty() {
                    break;
                }
                Counters::bump(&self.reactor.counters().writes);
                if self.batching.get() {
                    tx.batch.send(fd, tx.queue.iter())
                } else {
                    let (data, addr) = tx.queue.iter().next().unwrap_or((&[], None));
                    match addr {
                        Some(addr) => socket::send_to(fd, data, addr).map(|_| 1),
                        None => socket::send_connected(fd, data).map(|_| 1),
                    }
                }
            };
            let pool = self.reactor.buffer_pool();
            match result {
                Ok(n) => self.tx.borrow_mut().queue.consume(pool, n.max(1)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.set_want_write(true);
                    return self.notify_refused(refused);
                }
                Err(e) => {
                    if e.kind() == io::ErrorKind::ConnectionRefused {
                        refused = true;
                    } else {
                        log::warn!("udp {}: dropped a datagram: {e}", self.host);
                    }
                    self.tx.borrow_mut().queue.consume(pool, 1);
                }
            }
        }
        self.overflowing.set(false);
        self.set_want_write(false);
        self.notify_refused(refused);
    }

    fn notify_refused(&self, refused: bool) {
        if refused && self.connected.get().is_some() {
            let port = UdpPort::new(self.this());
            self.call_protocol(&port, |p, port| p.connection_refused(port));
        }
    }

    fn set_want_write(&self, on: bool) {
        if self.want_write.replace(on) == on {
            return;
        }
        let interest = if on {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let fd = self.fd.borrow();
        if let (Some(key), Some(fd)) = (self.key.get(), fd.as_ref()) {
            let _ = self.reactor.set_interest(key, fd, interest);
        }
    }

    /// Switches `UDP_SEGMENT` sends on (where the kernel has it) or off, and with them
    /// coalesced receives (UDP GRO) when the port's slots can hold any run; whether
    /// segmentation is on.
    pub(super) fn set_segmentation(&self, on: bool) -> bool {
        let fd = self.fd.borrow();
        let Some(fd) = fd.as_ref() else {
            return false;
        };
        let supported = socket::udp_segmentation_supported(fd);
        let mut tx = self.tx.borrow_mut();
        tx.batch.set_segmentation(on && supported);
        let coalesce = tx.batch.segmentation()
            && self.batching.get()
            && self.max_packet_size >= socket::COALESCED_SLOT;
        let mut rx = self.rx.borrow_mut();
        if rx.batch.coalescing() != coalesce {
            if let Err(e) = rx.batch.set_coalescing(fd, coalesce) {
                log::debug!("udp {}: no receive coalescing: {e}", self.host);
            }
        }
        tx.batch.segmentation()
    }

    pub(super) fn segmentation(&self) -> bool {
        self.tx.borrow().batch.segmentation()
    }

    /// Bytes and datagrams waiting to be sent.
    pub(super) fn queued(&self) -> (usize, usize) {
        let tx = self.tx.borrow();
        (tx.queue.len(), tx.queue.bytes())
    }

    // ----- reading -----

    fn read(&self) {
        let port = UdpPort::new(self.this());
        let mut rx = self.rx.borrow_mut();
        let rx = &mut *rx;
        let slot = self.max_packet_size;
        let pool = self.reactor.buffer_pool();
        let pooled = slot <= CHUNK_SIZE;
        if pooled {
            let per_chunk = CHUNK_SIZE / slot;
            let chunks = rx.batch.capacity().div_ceil(per_chunk);
            rx.bufs.extend((0..chunks).map(|_| pool.take()));
        } else if rx.bufs.is_empty() {
            let n = rx.batch.capacity();
            rx.bufs
                .extend((0..n).map(|_| vec![0u8; slot].into_boxed_slice()));
        }
        if self.batching.get() {
            self.read_batches(&port, rx, slot);
        } else {
            self.read_singly(&port, rx, slot);
        }
        if pooled {
            for chunk in rx.bufs.drain(..) {
                pool.give(chunk);
            }
        } else if !self.is_listening() {
            rx.bufs = Vec::new();
        }
    }

    /// Receives with `recvmmsg`, a batch at a time.
    fn read_batches(&self, port: &UdpPort, rx: &mut Rx, slot: usize) {
        for _ in 0..MAX_BATCHES_PER_EVENT {
            let result = {
                let fd = self.fd.borrow();
                let Some(fd) = fd.as_ref() else { return };
                Counters::bump(&self.reactor.counters().reads);
                rx.batch.recv(fd, &mut rx.bufs, slot)
            };
            let n = match result {
                Ok(n) => n,
                Err(e) => match self.receive_error(port, e) {
                    true => continue,
                    false => return,
                },
            };
            for i in 0..n {
                let Some(got) = rx.batch.get(i) else { break };
                let addr = got.addr.unwrap_or(self.host);
                for (offset, len) in got.datagrams() {
                    if !self.is_listening() {
                        return;
                    }
                    let data = &rx.bufs[got.buf][offset..offset + len];
                    self.deliver(port, data, addr, got.truncated);
                }
            }
            // A short batch means the socket's queue is (very likely) empty: save the
            // system call that would say so.
            if n < rx.batch.capacity() {
                return;
            }
        }
    }

    /// Receives with `recvmsg`, one datagram per system call.
    fn read_singly(&self, port: &UdpPort, rx: &mut Rx, slot: usize) {
        for _ in 0..MAX_BATCHES_PER_EVENT * rx.batch.capacity() {
            let Some(buf) = rx.bufs.first_mut() else {
                return;
            };
            let result = {
                let fd = self.fd.borrow();
                let Some(fd) = fd.as_ref() else { return };
                Counters::bump(&self.reactor.counters().reads);
                socket::recv_msg(fd, &mut buf[..slot])
            };
            match result {
                Ok((len, addr, truncated)) => self.deliver(port, &buf[..len], addr, truncated),
                Err(e) => {
                    if !self.receive_error(port, e) {
                        return;
                    }
                }
            }
        }
    }

    fn deliver(&self, port: &UdpPort, data: &[u8], addr: SocketAddr, truncated: bool) {
        if truncated {
            self.call_protocol(port, |p, port| p.datagram_truncated(port, data, addr));
        } else {
            self.call_protocol(port, |p, port| p.datagram_received(port, data, addr));
        }
    }

    /// Handles a receive error; true to go on receiving.
    fn receive_error(&self, port: &UdpPort, e: io::Error) -> bool {
        match e.kind() {
            io::ErrorKind::WouldBlock => false,
            io::ErrorKind::Interrupted => true,
            io::ErrorKind::ConnectionRefused => {
                if self.connected.get().is_some() {
                    self.call_protocol(port, |p, port| p.connection_refused(port));
                }
                self.is_listening()
            }
            _ => {
                log::warn!("udp {}: receive failed: {e}", self.host);
                false
            }
        }
    }

    // ----- stopping -----

    pub(super) fn stop_listening(&self) -> Deferred<()> {
        if !self.is_listening() {
            return succeed(());
        }
        // Best effort for what this turn wrote: one pass, no waiting.
        self.flush_once();
        let fd = self.fd.borrow_mut().take();
        if let (Some(key), Some(fd)) = (self.key.take(), fd.as_ref()) {
            let _ = self.reactor.remove_source(key, fd);
        }
        drop(fd);
        self.tx.borrow_mut().queue.clear(self.reactor.buffer_pool());
        let port = UdpPort::new(self.this());
        if self.protocol.try_borrow_mut().is_ok() {
            self.stop_protocol(&port);
            return succeed(());
        }
        // Inside one of the protocol's callbacks: stop it once that returns.
        let done = Deferred::new();
        *self.stop_due.borrow_mut() = Some(done.clone());
        done
    }

    /// One flush pass that never waits for writability.
    fn flush_once(&self) {
        let fd = self.fd.borrow();
        let Some(fd) = fd.as_ref() else { return };
        let mut tx = self.tx.borrow_mut();
        let tx = &mut *tx;
        let pool = self.reactor.buffer_pool();
        while !tx.queue.is_empty() {
            match tx.batch.send(fd, tx.queue.iter()) {
                Ok(n) => tx.queue.consume(pool, n.max(1)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => tx.queue.consume(pool, 1),
            }
        }
    }

    /// Runs `f` with the socket, if listening.
    pub(super) fn with_fd<R>(&self, f: impl FnOnce(&OwnedFd) -> io::Result<R>) -> io::Result<R> {
        match self.fd.borrow().as_ref() {
            Some(fd) => f(fd),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the port is not listening",
            )),
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl IoHandler for PortInner {
    fn ready(&self, _reactor: &Reactor, readiness: Readiness) {
        if readiness.intersects(Readiness::WRITABLE) && self.want_write.get() {
            self.flush();
        }
        if readiness.intersects(Readiness::READABLE | Readiness::ERROR | Readiness::HUP) {
            self.read();
        }
    }
}

impl fmt::Debug for PortInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpPort")
            .field("host", &self.host)
            .field("connected", &self.connected.get())
            .field("listening", &self.is_listening())
            .field("max_packet_size", &self.max_packet_size)
            .finish_non_exhaustive()
    }
}
