//! The TLS layer of one connection: [`Core`], the state shared by the TLS protocol (which
//! the transport underneath feeds with ciphertext) and the [`TlsTransport`] (which the
//! user's protocol writes plaintext to).
//!
//! Data flow, and where each step runs:
//!
//! ```text
//!   lower transport ──ciphertext──▶ Core::on_data ─▶ Session::feed ─▶ plaintext ─▶ inner.data_received
//!   inner writes ─▶ TlsTransport::write ─▶ pending (plaintext, this turn) ─▶ Core::flush:
//!        one Session::write_plaintext for all of it ─▶ Session::take_ciphertext ─▶ lower.write
//! ```
//!
//! `flush` runs at the end of every callback of the TLS protocol (so what the user's
//! protocol wrote while handling a read leaves as one batch of records) and, for writes
//! made elsewhere (a timer, another connection), from the reactor's before-poll phase. The
//! user's protocol is called only from the TLS protocol's own callbacks, which the
//! transport underneath makes from the top of the loop, or from calls scheduled on the
//! reactor (or, for transports with no reactor, on the configured clock). This file has
//! the state, the attachment, the writing side, failures and timeouts; the receiving side
//! is in `input.rs`, the user's transport in `transport.rs`.
//!
//! Tests: `tests/tls_memory.rs`, `tests/tls_flow.rs`, `tests/tls_tcp.rs`.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::config::Common;
use super::error::{TlsError, TlsErrorKind};
use super::session::{Details, Session};
use super::transport::Membrane;
use crate::defer::Deferred;
use crate::protocol::{Address, Protocol};
use crate::tcp::DEFAULT_HIGH_WATER;
use crate::time::{DelayedCall, LocalFn, ReactorTime};
use crate::transport::{Producer, Transport};
use crate::Reactor;

/// The most plaintext one TLS record carries.
pub(super) const FULL_RECORD: usize = 16 * 1024;

/// Where the layer schedules its own calls.
pub(super) enum Sched {
    /// Not connected yet.
    None,
    Reactor(Reactor),
    Time(Rc<dyn ReactorTime>),
}

impl Sched {
    /// Runs `f` from the top of the loop, soon. False if there is nowhere to run it.
    pub(super) fn soon(&self, f: impl FnOnce() + 'static) -> bool {
        match self {
            Sched::Reactor(r) => r.call_soon(f),
            Sched::Time(t) => drop(t.call_later_fn(Duration::ZERO, LocalFn::new(f))),
            Sched::None => return false,
        }
        true
    }

    /// Runs `f` before the loop next waits (for flushes). False if there is nowhere.
    fn before_poll(&self, f: impl FnOnce() + 'static) -> bool {
        match self {
            Sched::Reactor(r) => r.call_before_poll(f),
            _ => return self.soon(f),
        }
        true
    }

    fn later(&self, delay: Duration, f: impl FnOnce() + 'static) -> Option<DelayedCall> {
        match self {
            Sched::Reactor(r) => Some(r.call_later(delay, f)),
            Sched::Time(t) => Some(t.call_later_fn(delay, LocalFn::new(f))),
            Sched::None => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Close {
    /// Open both ways.
    None,
    /// `lose_write_connection`: send `close_notify`, then shut down the lower write side.
    Write,
    /// `lose_connection`: send `close_notify`, then close the lower transport.
    Full,
}

pub(super) struct State {
    pub(super) session: Session,
    pub(super) handshaking: bool,
    pub(super) details: Details,
    /// Plaintext written and not yet handed to the session.
    pub(super) pending: Vec<u8>,
    /// Plaintext encrypted at once (a write of at least a full record) whose records wait
    /// in the session for the next flush.
    pub(super) sealed: usize,
    pub(super) flush_scheduled: bool,
    pub(super) close: Close,
    pub(super) close_notify_sent: bool,
    /// What was done underneath for `close` so far.
    pub(super) close_done: Close,
    /// The first failure; what the protocol's `connection_lost` will say.
    pub(super) error: Option<TlsError>,
    /// No more reading or writing (failed, aborted, or the lower transport is gone).
    pub(super) dead: bool,
    /// The peer sent `close_notify`.
    pub(super) peer_closed: bool,
    /// The transport underneath reached its end of input (handled once what was held
    /// back has been fed).
    pub(super) eof: bool,
    pub(super) read_paused: bool,
    pub(super) resume_scheduled: bool,
    /// Ciphertext received and not yet fed (the user paused reading).
    pub(super) inbuf: Vec<u8>,
    pub(super) producer: Option<Producer>,
    pub(super) membrane: Option<Rc<Membrane>>,
    pub(super) high_water: usize,
    pub(super) waiters: Vec<Deferred<()>>,
    pub(super) timeout: Option<DelayedCall>,
}

/// The shared state of one TLS connection.
pub(crate) struct Core {
    pub(super) me: Weak<Core>,
    pub(super) st: RefCell<State>,
    /// The user's protocol (owned here so that calls scheduled on the reactor can reach it).
    pub(super) inner: RefCell<Option<Box<dyn Protocol>>>,
    /// The transport underneath (ciphertext).
    pub(super) lower: RefCell<Option<Transport>>,
    /// The (host, peer) addresses underneath, kept for after the close.
    pub(super) addresses: RefCell<Option<(Address, Address)>>,
    /// The handle the user's protocol gets.
    pub(super) upper: RefCell<Option<Transport>>,
    pub(super) sched: RefCell<Sched>,
    /// A callback of the user's protocol (or of a handshake Deferred) is running: its
    /// writes are flushed when it returns.
    pub(super) in_callback: Cell<bool>,
    /// Scratch for decrypted data (reused).
    pub(super) plain: RefCell<Vec<u8>>,
    pub(super) handshake_timeout: Option<Duration>,
    pub(super) time: Option<Rc<dyn ReactorTime>>,
}

impl Core {
    pub(crate) fn new(
        session: Session,
        inner: Option<Box<dyn Protocol>>,
        common: &Common,
    ) -> Rc<Core> {
        let handshaking = session.is_handshaking();
        Rc::new_cyclic(|me| Core {
            me: me.clone(),
            st: RefCell::new(State {
                session,
                handshaking,
                details: Details::default(),
                pending: Vec::new(),
                sealed: 0,
                flush_scheduled: false,
                close: Close::None,
                close_notify_sent: false,
                close_done: Close::None,
                error: None,
                dead: false,
                peer_closed: false,
                eof: false,
                read_paused: false,
                resume_scheduled: false,
                inbuf: Vec::new(),
                producer: None,
                membrane: None,
                high_water: DEFAULT_HIGH_WATER,
                waiters: Vec::new(),
                timeout: None,
            }),
            inner: RefCell::new(inner),
            lower: RefCell::new(None),
            addresses: RefCell::new(None),
            upper: RefCell::new(None),
            sched: RefCell::new(Sched::None),
            in_callback: Cell::new(false),
            plain: RefCell::new(Vec::new()),
            handshake_timeout: common.handshake_timeout,
            time: common.time.clone(),
        })
    }

    pub(super) fn this(&self) -> Rc<Core> {
        self.me
            .upgrade()
            .expect("the TLS core is alive while its methods run")
    }

    pub(super) fn lower(&self) -> Option<Transport> {
        self.lower.borrow().clone()
    }

    /// The handle the user's protocol gets.
    pub(crate) fn upper(&self) -> Option<Transport> {
        self.upper.borrow().clone()
    }

    /// Sets the inner protocol (`start_tls`: the connection's protocol, wrapped late).
    pub(crate) fn set_inner(&self, inner: Box<dyn Protocol>) {
        *self.inner.borrow_mut() = Some(inner);
    }

    /// Attaches the layer to its transports, arms the handshake timeout and sends the
    /// first flight (a client's ClientHello). `connect_inner` calls the user's
    /// `connection_made` first (not for `start_tls`, whose protocol is connected already).
    pub(crate) fn attach(&self, lower: Transport, upper: Transport, connect_inner: bool) {
        let sched = match (lower.reactor(), &self.time) {
            (Some(r), _) => Sched::Reactor(r),
            (None, Some(t)) => Sched::Time(t.clone()),
            (None, None) => Sched::None,
        };
        *self.sched.borrow_mut() = sched;
        *self.addresses.borrow_mut() = Some((lower.get_host(), lower.get_peer()));
        *self.lower.borrow_mut() = Some(lower);
        *self.upper.borrow_mut() = Some(upper);
        if let Some(delay) = self
            .handshake_timeout
            .filter(|_| self.st.borrow().handshaking)
        {
            let weak = self.me.clone();
            let call = self.sched.borrow().later(delay, move || {
                if let Some(core) = weak.upgrade() {
                    core.on_timeout(delay);
                }
            });
            self.st.borrow_mut().timeout = call;
        }
        self.entry(|core| {
            if connect_inner {
                core.call_inner(|p, t| p.connection_made(t));
            }
        });
    }

    /// Runs one entry point from the top of the loop: user callbacks inside it may write
    /// freely, and everything they wrote is flushed once at the end.
    pub(super) fn entry(&self, f: impl FnOnce(&Core)) {
        let was = self.in_callback.replace(true);
        f(self);
        self.in_callback.set(was);
        if !was {
            self.flush();
        }
    }

    /// Calls the user's protocol with its handle; no borrow of the state is held.
    pub(super) fn call_inner(&self, f: impl FnOnce(&mut dyn Protocol, &Transport)) {
        let Some(upper) = self.upper.borrow().clone() else {
            return;
        };
        let Ok(mut slot) = self.inner.try_borrow_mut() else {
            log::error!("re-entrant call into a TLS connection's protocol; event dropped");
            return;
        };
        if let Some(p) = slot.as_mut() {
            f(&mut **p, &upper);
        }
    }

    pub(super) fn inner_half_closeable(&self) -> bool {
        self.inner
            .try_borrow()
            .ok()
            .and_then(|p| p.as_ref().map(|p| p.half_closeable()))
            .unwrap_or(false)
    }

    // ----- failures and timeouts -----

    /// A TLS failure: send the alert rustls queued, close underneath, remember why.
    pub(super) fn fail(&self, error: TlsError) {
        let lower = self.lower();
        {
            let mut st = self.st.borrow_mut();
            if st.dead {
                return;
            }
            if let Some(l) = &lower {
                log::info!("TLS with {} failed: {error}", l.get_peer());
                st.session.take_ciphertext(&mut LowerWriter(l));
            }
            st.dead = true;
            st.error = Some(error);
            st.pending.clear();
        }
        if let Some(l) = lower {
            l.lose_connection();
        }
    }

    fn on_timeout(&self, delay: Duration) {
        let (handshaking, dead) = {
            let st = self.st.borrow();
            (st.handshaking, st.dead)
        };
        if !handshaking || dead {
            return;
        }
        {
            let mut st = self.st.borrow_mut();
            st.dead = true;
            st.error = Some(TlsError::new(
                TlsErrorKind::HandshakeTimeout,
                format!("no handshake within {delay:?}"),
            ));
        }
        if let Some(l) = self.lower() {
            log::info!("TLS handshake with {} timed out", l.get_peer());
            l.abort_connection();
        }
    }

    // ----- writing -----

    /// Encrypts what is pending, sends every record, and finishes a requested close.
    /// Never calls user code.
    pub(crate) fn flush(&self) {
        let Some(lower) = self.lower() else {
            return;
        };
        let finish = {
            let mut st = self.st.borrow_mut();
            st.flush_scheduled = false;
            if st.dead {
                return;
            }
            let st = &mut *st;
            if !st.handshaking && !st.pending.is_empty() {
                st.session.write_plaintext(&st.pending);
                st.pending.clear();
                if st.pending.capacity() > 256 * 1024 {
                    st.pending = Vec::new();
                }
            }
            let notify = st.close != Close::None
                && !st.close_notify_sent
                && st.pending.is_empty()
                && st.producer.is_none();
            if notify {
                st.session.send_close_notify();
                st.close_notify_sent = true;
            }
            st.session.take_ciphertext(&mut LowerWriter(&lower));
            st.sealed = 0;
            let due = st.close_notify_sent && st.close_done != st.close;
            if due {
                st.close_done = st.close;
            }
            due.then_some(st.close)
        };
        match finish {
            Some(Close::Full) => lower.lose_connection(),
            Some(Close::Write) => lower.lose_write_connection(),
            _ => {}
        }
    }

    /// A write from outside the layer's callbacks: flush before the loop next waits.
    pub(super) fn schedule_flush(&self) {
        if self.in_callback.get() {
            return; // flushed when the callback returns
        }
        {
            let mut st = self.st.borrow_mut();
            if st.flush_scheduled {
                return;
            }
            st.flush_scheduled = true;
        }
        let core = self.this();
        let scheduled = self.sched.borrow().before_poll(move || core.flush());
        if !scheduled {
            self.flush();
        }
    }

    pub(super) fn request_close(&self, how: Close) {
        {
            let mut st = self.st.borrow_mut();
            if st.dead || st.close == Close::Full || st.close == how {
                return;
            }
            st.close = how;
        }
        self.schedule_flush();
    }

    /// Resumed reading: deliver what was held back, from the top of the loop.
    pub(super) fn schedule_delivery(&self) {
        {
            let mut st = self.st.borrow_mut();
            if st.resume_scheduled || st.dead {
                return;
            }
            st.resume_scheduled = true;
        }
        let core = self.this();
        let scheduled = self.sched.borrow().soon(move || {
            core.st.borrow_mut().resume_scheduled = false;
            core.on_data(&[]);
            // Then tell the protocol, as a plain transport does, so that it can deliver
            // what it holds itself (a line receiver's buffered lines).
            let resumed = {
                let st = core.st.borrow();
                !st.read_paused && !st.dead
            };
            if resumed {
                core.entry(|c| c.call_inner(|p, t| p.reading_resumed(t)));
            }
        });
        if !scheduled {
            // No scheduler (a bare in-memory transport): the next read delivers it.
            self.st.borrow_mut().resume_scheduled = false;
        }
    }
}

/// Writes ciphertext straight to the transport underneath.
pub(super) struct LowerWriter<'a>(pub(super) &'a Transport);

impl Write for LowerWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
