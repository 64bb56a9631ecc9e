//! The receiving side of the TLS layer: ciphertext from the transport underneath is fed
//! to the session and the plaintext delivered to the user's protocol; the handshake's
//! completion, the peer's `close_notify`, the end of input and the close are handled here.
//! Handshakes are spread over the reactor's turns ([`HANDSHAKE_SLICE`]).
//!
//! Tests: `tests/tls_memory.rs`, `tests/tls_flow.rs`, `tests/tls_tcp.rs`.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::error::{TlsError, TlsErrorKind};
use super::layer::{Close, Core, Sched};
use super::session::Plain;
use crate::defer::Failure;
use crate::protocol::ConnectionLost;

/// Handshake work one loop turn does before the next handshake message waits for the
/// next turn (see [`Core::on_data`]): about one server handshake's key exchange and
/// signature with the ring provider, so a turn completes one ClientHello plus the cheap
/// messages (Finished) that arrived with it. Measured on the TLS benchmark: 100 µs or
/// 300 µs both give the pipelining, 300 µs with fewer turns.
const HANDSHAKE_SLICE: Duration = Duration::from_micros(300);

thread_local! {
    /// The reactor turn of the last handshake step on this thread, and the time that
    /// turn spent on handshakes.
    static HANDSHAKE_TIME: Cell<(u64, Duration)> = const { Cell::new((u64::MAX, Duration::ZERO)) };
}

impl Core {
    // ----- from the transport underneath -----

    /// Ciphertext arrived.
    ///
    /// Handshakes are spread over the loop's turns: once a turn has spent
    /// [`HANDSHAKE_SLICE`] on handshake messages (a server's ClientHello costs a key
    /// exchange and a signature, a few hundred microseconds), further handshake input
    /// waits for the next turn. The flights computed so far then leave at this turn's
    /// flush, instead of every connection's waiting for all the others' crypto.
    pub(crate) fn on_data(&self, data: &[u8]) {
        let Some(turn) = self.handshake_turn() else {
            return self.entry(|core| core.receive(data));
        };
        let (last, used) = HANDSHAKE_TIME.get();
        if last == turn && used >= HANDSHAKE_SLICE {
            self.st.borrow_mut().inbuf.extend_from_slice(data);
            return self.schedule_delivery();
        }
        let start = Instant::now();
        self.entry(|core| core.receive(data));
        let spent = start.elapsed();
        let (last, used) = HANDSHAKE_TIME.get();
        HANDSHAKE_TIME.set((turn, if last == turn { used + spent } else { spent }));
    }

    /// The reactor's turn, if this connection is handshaking on a reactor.
    fn handshake_turn(&self) -> Option<u64> {
        if !self.st.borrow().handshaking {
            return None;
        }
        match &*self.sched.borrow() {
            Sched::Reactor(r) => Some(r.stats().turns),
            _ => None,
        }
    }

    /// Feeds what was held back, then `data`; then handles a pending end of input.
    fn receive(&self, data: &[u8]) {
        {
            let core = self;
            let held = !core.st.borrow().inbuf.is_empty();
            if held {
                // Keep the order: what was held back goes first.
                let mut buf = std::mem::take(&mut core.st.borrow_mut().inbuf);
                buf.extend_from_slice(data);
                let used = core.consume(&buf);
                buf.drain(..used);
                core.st.borrow_mut().inbuf = buf;
            } else {
                let used = core.consume(data);
                if used < data.len() {
                    core.st.borrow_mut().inbuf.extend_from_slice(&data[used..]);
                }
            }
        }
        let eof_now = {
            let st = self.st.borrow();
            st.eof && !st.dead && !st.read_paused && st.inbuf.is_empty()
        };
        if eof_now {
            self.finish_eof();
        }
    }

    /// Feeds `data` and delivers the plaintext, until all is fed or reading stops (a
    /// pause, an error, the peer's `close_notify`). Returns how much was fed.
    fn consume(&self, data: &[u8]) -> usize {
        let mut pos = 0;
        let mut stalls = 0;
        loop {
            if !self.deliver() {
                return if self.st.borrow().dead {
                    data.len()
                } else {
                    pos
                };
            }
            if pos == data.len() {
                return pos;
            }
            let fed = self.st.borrow_mut().session.feed(&data[pos..]);
            match fed {
                Ok(0) if stalls > 2 => {
                    self.fail(TlsError::new(
                        TlsErrorKind::Protocol,
                        "the TLS session takes no more input",
                    ));
                    return data.len();
                }
                Ok(0) => stalls += 1,
                Ok(n) => {
                    pos += n;
                    stalls = 0;
                }
                Err(e) => {
                    self.fail(e);
                    return data.len();
                }
            }
            self.check_handshake();
        }
    }

    /// Hands the user's protocol the plaintext the session has. False if reading should
    /// stop (paused, dead, or the peer closed).
    fn deliver(&self) -> bool {
        loop {
            {
                let st = self.st.borrow();
                if st.dead || st.peer_closed {
                    return false;
                }
                if st.read_paused {
                    return false;
                }
            }
            let mut plain = std::mem::take(&mut *self.plain.borrow_mut());
            plain.clear();
            let got = self.st.borrow_mut().session.read_plaintext(&mut plain);
            match got {
                Plain::Data(_) => self.call_inner(|p, t| p.data_received(t, &plain)),
                Plain::Nothing => {
                    *self.plain.borrow_mut() = plain;
                    return true;
                }
                Plain::Closed => {
                    self.on_close_notify();
                    return false;
                }
                Plain::Truncated => {
                    let handshaking = self.st.borrow().handshaking;
                    self.fail(truncated(handshaking));
                    return false;
                }
            }
            *self.plain.borrow_mut() = plain;
        }
    }

    /// The peer's `close_notify`: its end of input.
    fn on_close_notify(&self) {
        self.st.borrow_mut().peer_closed = true;
        if self.inner_half_closeable() {
            self.call_inner(|p, t| p.read_connection_lost(t));
        } else {
            self.request_close(Close::Full);
        }
    }

    fn check_handshake(&self) {
        let done = {
            let mut st = self.st.borrow_mut();
            if !st.handshaking || st.session.is_handshaking() {
                return;
            }
            st.handshaking = false;
            st.details = st.session.details();
            if let Some(call) = st.timeout.take() {
                let _ = call.cancel();
            }
            if let Some(m) = &st.membrane {
                m.tls_paused.set(false);
            }
            (std::mem::take(&mut st.waiters), st.membrane.clone())
        };
        let (waiters, membrane) = done;
        if let Some(m) = membrane {
            m.sync();
        }
        self.call_inner(|p, t| p.handshake_completed(t));
        for d in waiters {
            let _ = d.callback(());
        }
    }

    /// The transport underneath reached the end of its input.
    pub(crate) fn on_eof(&self) {
        self.st.borrow_mut().eof = true;
        self.entry(|core| core.receive(&[]));
    }

    /// The end of input, once everything before it was fed: without the peer's
    /// `close_notify` it is a truncation (or an interrupted handshake).
    fn finish_eof(&self) {
        if self.st.borrow().peer_closed {
            return; // a clean end, handled when the close_notify arrived
        }
        self.st.borrow_mut().session.feed_eof();
        self.check_handshake();
        let _ = self.deliver();
        let (handshaking, peer_closed, dead) = {
            let st = self.st.borrow();
            (st.handshaking, st.peer_closed, st.dead)
        };
        if !dead && !peer_closed {
            // (`deliver` saw neither a close_notify nor the truncation: report it anyway.)
            self.fail(truncated(handshaking));
        }
    }

    /// Our write side underneath was shut down (after `lose_write_connection`).
    pub(crate) fn on_write_shut(&self) {
        if self.inner_half_closeable() {
            self.entry(|core| core.call_inner(|p, t| p.write_connection_lost(t)));
        }
    }

    /// The transport underneath closed: the user's protocol gets `connection_lost`.
    pub(crate) fn on_lost(&self, reason: ConnectionLost) {
        let (waiters, error, handshaking) = {
            let mut st = self.st.borrow_mut();
            st.dead = true;
            if let Some(call) = st.timeout.take() {
                let _ = call.cancel();
            }
            st.pending.clear();
            st.inbuf.clear();
            st.producer = None;
            st.membrane = None;
            (
                std::mem::take(&mut st.waiters),
                st.error.clone(),
                st.handshaking,
            )
        };
        let reason = match (error, &reason) {
            (Some(e), _) => ConnectionLost::Lost(Failure::new(e)),
            (None, ConnectionLost::Lost(f)) if handshaking => {
                ConnectionLost::Lost(Failure::new(TlsError::new(
                    TlsErrorKind::HandshakeInterrupted,
                    format!(
                        "the connection was lost during the handshake: {}",
                        f.error()
                    ),
                )))
            }
            _ => reason,
        };
        if !waiters.is_empty() {
            let failure = match &reason {
                ConnectionLost::Lost(f) => f.clone(),
                other => Failure::new(TlsError::new(
                    TlsErrorKind::HandshakeInterrupted,
                    format!("the connection closed during the handshake ({other})"),
                )),
            };
            for d in waiters {
                let _ = d.errback(failure.clone());
            }
        }
        self.in_callback.set(true);
        self.call_inner(|p, t| p.connection_lost(t, reason));
        // Break the cycles (connection → protocol → core → transports).
        let inner = self.inner.borrow_mut().take();
        drop(inner);
        let lower = self.lower.borrow_mut().take();
        let upper = self.upper.borrow_mut().take();
        drop((lower, upper));
    }
}

/// The failure for an end of input without `close_notify`.
fn truncated(handshaking: bool) -> TlsError {
    if handshaking {
        TlsError::new(
            TlsErrorKind::HandshakeInterrupted,
            "the peer closed the connection during the handshake",
        )
    } else {
        TlsError::new(
            TlsErrorKind::UnexpectedEof,
            "the peer closed the connection without close_notify",
        )
    }
}
