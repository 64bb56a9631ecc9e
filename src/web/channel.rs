//! [`HttpChannel`]: one HTTP/1.1 connection (Twisted's `HTTPChannel`): input buffering and
//! framing, dispatch of each request in order, keep-alive, pipelining, flow control and
//! the header and idle timeouts.
//!
//! # Design
//!
//! * **One request at a time, in order.** Pipelined requests wait in the input buffer
//!   until the one before is finished (head-of-line, as Twisted); so responses are in
//!   request order without a reorder buffer. Beyond `Limits::max_pipelined_bytes` of
//!   waiting input, reading pauses; it resumes once the buffer is consumed.
//! * **Bounded output.** Before answering the next pipelined request, a channel whose
//!   transport holds more than `Limits::max_output_backlog` unsent bytes waits (as a pull
//!   producer, asked again whenever the buffer empties) until it drains: a client that sends without reading cannot grow memory.
//! * **Errors close.** A framing error is answered with its status and `Connection: close`;
//!   nothing read after it is looked at.
//! * **Timeouts without timer churn.** One timer per connection, armed for the earliest
//!   deadline: the header timeout while a head is incomplete (slowloris), the idle timeout
//!   between requests and while a body trickles in. Deadlines move by updating a number;
//!   the timer re-arms itself when it fires early, so a busy keep-alive connection does no
//!   timer work per request.
//! * **One write per read.** Responses written while the channel works through one read's
//!   requests are gathered and handed to the transport in one write at the end (or each
//!   64 KiB); writes from outside (a Deferred firing, a producer) go straight through.
//! * **Reuse.** The request state (head copy, buffers) is reused for the next request on
//!   the connection when nobody holds the previous [`Request`]: no allocation per request
//!   in steady state (`tests/web_alloc.rs`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::http::{reason_phrase, DateBatch, Framer, Framing, FramingError, Progress};
use super::request::state::State;
use super::site::{combined_log_line, dispatch, SiteInner};
use super::Request;
use crate::protocol::{ConnectionLost, Protocol};
use crate::time::{DelayedCall, LocalFn, ReactorTime};
use crate::transport::{Producer, PullProducer, Transport};

pub(crate) struct ChannelShared {
    site: Rc<SiteInner>,
    st: RefCell<ChanState>,
    me: Weak<ChannelShared>,
    /// Responses written while `process` runs, sent in one transport write at its end.
    batch: RefCell<Vec<u8>>,
    batching: Cell<bool>,
}

/// A batch is sent early once it holds this much.
const BATCH_LIMIT: usize = 64 * 1024;

struct ChanState {
    transport: Option<Transport>,
    framer: Framer,
    inbuf: Vec<u8>,
    pos: usize,
    current: Option<Request>,
    in_flight: bool,
    processing: bool,
    closing: bool,
    lost: bool,
    paused: bool,
    draining: bool,
    secure: bool,
    clock: Option<Rc<dyn ReactorTime>>,
    timer: Option<DelayedCall>,
    first: bool,
    head_started: Option<Duration>,
    last_activity: Duration,
    /// A request finished since `last_activity` was last set.
    activity: bool,
}

/// One HTTP/1.1 connection of a [`Site`](super::Site): the protocol its factory builds.
pub struct HttpChannel {
    shared: Rc<ChannelShared>,
}

impl fmt::Debug for HttpChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpChannel").finish_non_exhaustive()
    }
}

impl HttpChannel {
    pub(crate) fn new(site: Rc<SiteInner>) -> HttpChannel {
        let limits = site.options.limits.clone();
        let clock = site.options.clock.clone();
        let shared = Rc::new_cyclic(|me| ChannelShared {
            site,
            me: me.clone(),
            batch: RefCell::new(Vec::new()),
            batching: Cell::new(false),
            st: RefCell::new(ChanState {
                transport: None,
                framer: Framer::new(limits),
                inbuf: Vec::new(),
                pos: 0,
                current: None,
                in_flight: false,
                processing: false,
                closing: false,
                lost: false,
                paused: false,
                draining: false,
                secure: false,
                clock,
                timer: None,
                first: true,
                head_started: None,
                last_activity: Duration::ZERO,
                activity: false,
            }),
        });
        HttpChannel { shared }
    }
}

enum Step {
    Stop,
    Continue,
    Dispatch(Request),
}

/// Waits for the output to drain (see the module docs): a pull producer, asked again each
/// time the transport's buffer empties, whatever the watermarks.
struct DrainWaiter(Weak<ChannelShared>);

impl PullProducer for DrainWaiter {
    fn resume_producing(&self) {
        let Some(c) = self.0.upgrade() else {
            return;
        };
        let t = {
            let mut st = c.st.borrow_mut();
            let Some(t) = st.transport.clone() else {
                return;
            };
            if !st.draining || t.write_buffer_len() > st.framer.limits().max_output_backlog {
                return; // still too much queued: asked again once it is sent
            }
            st.draining = false;
            t
        };
        t.unregister_producer();
        c.process();
    }
    fn stop_producing(&self) {}
}

impl ChannelShared {
    /// Writes `pieces` for a request: into the batch while `process` runs, else at once.
    pub(crate) fn emit(&self, t: &Transport, pieces: &[&[u8]]) {
        if !self.batching.get() {
            match pieces {
                [one] | [one, b""] => t.write(one),
                pieces => t.write_sequence(pieces),
            }
            return;
        }
        let mut batch = self.batch.borrow_mut();
        for p in pieces {
            batch.extend_from_slice(p);
        }
        if batch.len() >= BATCH_LIMIT {
            t.write(&batch);
            batch.clear();
        }
    }

    /// Sends what the batch holds.
    fn flush_batch(&self, t: &Transport) {
        let mut batch = self.batch.borrow_mut();
        if !batch.is_empty() {
            t.write(&batch);
            batch.clear();
        }
    }

    pub(crate) fn closing(&self) -> bool {
        self.st
            .try_borrow()
            .map(|st| st.closing || st.lost)
            .unwrap_or(false)
    }

    fn now(st: &ChanState) -> Duration {
        st.clock.as_ref().map_or(Duration::ZERO, |c| c.now())
    }

    /// A request was finished: go on with the next one, or close.
    pub(crate) fn request_finished(&self, request: &Request, keep_alive: bool) {
        let log = {
            let mut st = self.st.borrow_mut();
            let ours = st
                .current
                .as_ref()
                .is_some_and(|r| Rc::ptr_eq(&r.st, &request.st));
            if !ours || !st.in_flight {
                return;
            }
            st.in_flight = false;
            st.activity = true; // (the time is read once, at the end of `process`)
            if !keep_alive || st.closing {
                st.closing = true;
                if let Some(t) = &st.transport {
                    self.flush_batch(t);
                    t.lose_connection();
                }
            }
            self.site.options.access_log.clone()
        };
        if let Some(log) = log {
            log(&combined_log_line(request));
        }
        if let Some(me) = self.me.upgrade() {
            me.process();
        }
    }

    fn step(&self) -> Step {
        let mut guard = self.st.borrow_mut();
        let st = &mut *guard;
        if st.lost || st.closing || st.in_flight || st.draining {
            return Step::Stop;
        }
        let Some(t) = st.transport.clone() else {
            return Step::Stop;
        };
        if st.framer.between_requests()
            && st.pos < st.inbuf.len()
            && t.write_buffer_len() + self.batch.borrow().len()
                > st.framer.limits().max_output_backlog
        {
            let waiter: Rc<dyn PullProducer> = Rc::new(DrainWaiter(self.me.clone()));
            self.flush_batch(&t);
            if t.register_producer(Producer::Pull(waiter)).is_ok() {
                st.draining = true;
                return Step::Stop;
            }
        }
        let input = &st.inbuf[st.pos..];
        let current = st.current.clone();
        let (n, progress) = st.framer.advance(input, &mut |d| {
            if let Some(r) = &current {
                r.st.borrow_mut().content.extend_from_slice(d);
            }
        });
        drop(current); // (so the previous request's state can be reused below)
        match progress {
            Progress::NeedMore => {
                st.pos += n;
                Step::Stop
            }
            Progress::Head => {
                let state = match st.current.take() {
                    Some(r) if Rc::strong_count(&r.st) == 1 => r.st,
                    _ => Rc::new(RefCell::new(State::default())),
                };
                let head = st.framer.head();
                {
                    let mut s = state.borrow_mut();
                    s.start(&st.inbuf[st.pos..], head, &t, st.secure);
                    if s.channel.upgrade().is_none() {
                        s.channel = self.me.clone();
                        s.omit_server = self.site.options.omit_server_header;
                    }
                }
                let has_body = matches!(head.framing, Framing::Chunked)
                    || matches!(head.framing, Framing::Length(n) if n > 0);
                if head.expect_continue && head.minor == 1 && has_body {
                    self.flush_batch(&t);
                    t.write(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                let request = Request::from_state(state);
                st.head_started = None;
                st.pos += n;
                if has_body {
                    st.current = Some(request);
                    return Step::Continue;
                }
                // No body: the request is complete now (the framer says so on the next
                // call, given nothing); dispatch it without another step.
                let (_, done) = st.framer.advance(&[], &mut |_| {});
                debug_assert_eq!(done, Progress::Complete);
                st.in_flight = true;
                st.first = false;
                st.current = Some(request.clone());
                Step::Dispatch(request)
            }
            Progress::Complete => {
                st.pos += n;
                st.in_flight = true;
                st.first = false;
                match &st.current {
                    Some(r) => Step::Dispatch(r.clone()),
                    None => Step::Stop,
                }
            }
            Progress::Failed(e) => {
                st.closing = true;
                self.flush_batch(&t);
                error_response(&t, e);
                t.lose_connection();
                Step::Stop
            }
        }
    }

    /// Parses and dispatches what the input buffer holds, as far as it can.
    fn process(self: &Rc<Self>) {
        {
            let mut st = self.st.borrow_mut();
            if st.processing {
                return;
            }
            st.processing = true;
        }
        let date = DateBatch::begin();
        self.batching.set(true);
        loop {
            match self.step() {
                Step::Stop => break,
                Step::Continue => {}
                Step::Dispatch(request) => dispatch(&self.site.root, &request),
            }
        }
        self.batching.set(false);
        drop(date);
        let mut st = self.st.borrow_mut();
        st.processing = false;
        if let Some(t) = st.transport.clone() {
            self.flush_batch(&t);
        }
        // Compact the input buffer.
        if st.pos == st.inbuf.len() {
            st.inbuf.clear();
            st.pos = 0;
        } else if st.pos > 0 && (st.pos >= 4096 || st.pos * 2 >= st.inbuf.len()) {
            let pos = st.pos;
            st.inbuf.drain(..pos);
            st.pos = 0;
        }
        if std::mem::take(&mut st.activity) {
            st.last_activity = Self::now(&st);
        }
        let waiting = st.inbuf.len() - st.pos;
        if st.framer.between_requests() && waiting > 0 {
            if st.head_started.is_none() {
                st.head_started = Some(Self::now(&st));
            }
        } else {
            st.head_started = None;
        }
        if let Some(t) = st.transport.clone() {
            let max = st.framer.limits().max_pipelined_bytes;
            if !st.paused && waiting > max && !st.lost {
                st.paused = true;
                t.pause_producing();
            } else if st.paused && waiting <= max && !st.draining {
                st.paused = false;
                t.resume_producing();
            }
        }
        self.update_timer(&mut st);
    }

    fn deadline(&self, st: &ChanState) -> Option<Duration> {
        if st.lost || st.closing || st.in_flight || st.draining {
            return None;
        }
        let limits = st.framer.limits();
        if st.framer.between_requests() && (st.pos < st.inbuf.len() || st.first) {
            let start = st.head_started.unwrap_or(st.last_activity);
            limits.header_timeout.map(|t| start + t)
        } else {
            limits.idle_timeout.map(|t| st.last_activity + t)
        }
    }

    fn update_timer(&self, st: &mut ChanState) {
        let Some(clock) = st.clock.clone() else {
            return;
        };
        let Some(deadline) = self.deadline(st) else {
            return; // a running timer finds nothing to do and is not re-armed
        };
        match &st.timer {
            Some(call) if call.active() && call.time() <= deadline => {}
            Some(call) if call.active() => {
                let _ = call.reset(deadline.saturating_sub(clock.now()));
            }
            _ => {
                let me = self.me.clone();
                st.timer = Some(clock.call_later_fn(
                    deadline.saturating_sub(clock.now()),
                    LocalFn::new(move || {
                        if let Some(c) = me.upgrade() {
                            c.timer_fired();
                        }
                    }),
                ));
            }
        }
    }

    fn timer_fired(&self) {
        let mut st = self.st.borrow_mut();
        st.timer = None;
        let Some(deadline) = self.deadline(&st) else {
            return;
        };
        if Self::now(&st) < deadline {
            self.update_timer(&mut st);
            return;
        }
        st.closing = true;
        let partial_head = st.framer.between_requests() && st.pos < st.inbuf.len();
        if let Some(t) = st.transport.clone() {
            if partial_head || !st.framer.between_requests() {
                write_simple(&t, 408, "request timed out");
            }
            t.lose_connection();
        }
    }
}

/// Writes a short `text/plain` error response with `Connection: close`.
fn write_simple(t: &Transport, code: u16, text: &str) {
    let body = format!("{code} {}: {text}\n", reason_phrase(code));
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason_phrase(code),
        body.len()
    );
    t.write_sequence(&[head.as_bytes(), body.as_bytes()]);
}

fn error_response(t: &Transport, e: FramingError) {
    log::debug!("refusing a request from {}: {e}", t.get_peer());
    write_simple(t, e.status(), &e.to_string());
}

impl Protocol for HttpChannel {
    fn connection_made(&mut self, transport: &Transport) {
        let mut st = self.shared.st.borrow_mut();
        st.transport = Some(transport.clone());
        #[cfg(feature = "tls")]
        {
            st.secure = crate::tls::tls_of(transport).is_some();
        }
        if st.clock.is_none() {
            if let Some(r) = transport.reactor() {
                st.clock = Some(Rc::new(r));
            }
        }
        st.last_activity = ChannelShared::now(&st);
        self.shared.update_timer(&mut st);
    }

    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        {
            let mut st = self.shared.st.borrow_mut();
            if st.closing || st.lost {
                return; // nothing after an error (or a close) is read as a request
            }
            st.inbuf.extend_from_slice(data);
            if !st.framer.between_requests() {
                st.last_activity = ChannelShared::now(&st);
            }
        }
        self.shared.process();
    }

    fn connection_lost(&mut self, _: &Transport, _reason: ConnectionLost) {
        let current = {
            let mut st = self.shared.st.borrow_mut();
            st.lost = true;
            self.shared.batch.borrow_mut().clear();
            if let Some(call) = st.timer.take() {
                let _ = call.cancel();
            }
            let in_flight = st.in_flight;
            st.transport = None;
            st.current.take().filter(|_| in_flight)
        };
        if let Some(request) = current {
            request.connection_lost();
        }
    }
}
