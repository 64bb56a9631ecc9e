//! [`StringTransport`]: an in-memory transport that records what is done to it (Twisted's
//! `twisted.internet.testing.StringTransport`).
//!
//! Tests: `tests/testing_string_transport.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::Rc;

use crate::protocol::{Address, ConnectionLost};
use crate::tcp::{DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};
use crate::transport::{Producer, ProducerError, Transport, TransportCore};

/// What the transport's own read side is doing, as a push producer of the bytes it reads
/// (Twisted's `StringTransport.producerState`).
///
/// # Examples
///
/// A protocol that pauses reading while it works on something:
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::{Driver, ProducerState};
/// use torsion::transport::Transport;
///
/// struct Busy;
/// impl Protocol for Busy {
///     fn data_received(&mut self, t: &Transport, _: &[u8]) {
///         t.pause_producing();
///     }
/// }
///
/// let d = Driver::new(Busy);
/// d.data_received(b"job");
/// assert_eq!(d.transport().producer_state(), ProducerState::Paused);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerState {
    /// Reading (the initial state, and after `resume_producing`).
    Producing,
    /// The protocol (or a consumer it feeds) called `pause_producing`.
    Paused,
    /// Reading is over for good: the transport is closing or closed, or the peer ended its
    /// input.
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    /// `lose_connection`: closes once nothing is queued and no producer is registered.
    Closing,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteSide {
    Open,
    /// `lose_write_connection`: shut down once nothing is queued.
    ShutdownRequested,
    Shut,
}

/// A producer call the transport owes (made later, never from inside a transport method).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Pause,
    Resume,
}

struct State {
    /// Written and not yet taken: the send buffer (`value()`).
    written: Vec<u8>,
    phase: Phase,
    write_side: WriteSide,
    /// Why the connection closes, while `Closing`, or why it closed, until delivered.
    reason: Option<ConnectionLost>,
    lose_called: bool,
    abort_called: bool,
    write_shut_called: bool,
    read_paused: bool,
    /// Reading was resumed and the protocol's `reading_resumed` is owed.
    resume_owed: bool,
    read_eof: bool,
    producer: Option<Producer>,
    producer_paused: bool,
    owed: VecDeque<(Producer, Call)>,
    high_water: usize,
    low_water: usize,
    host: Address,
    peer: Address,
    no_delay: Option<bool>,
    keep_alive: Option<bool>,
}

/// A transport that keeps everything written to it in memory and records its state:
/// disconnect requests, the registered producer, read-side pauses, addresses, watermarks
/// (Twisted's `StringTransport`).
///
/// It follows the rules of every transport ([`TransportCore`]) and behaves like our TCP
/// where a test can tell: writes after `lose_connection`, `abort_connection` or
/// `lose_write_connection` are ignored, a push producer is paused when the buffer passes the
/// high-water mark and resumed at the low-water mark, a pull producer is asked for a piece
/// when it registers and each time the buffer empties. The written bytes *are* the send
/// buffer: they leave it when the test (or an [`IoPump`](super::IoPump)) takes them with
/// [`take`](StringTransport::take) or [`clear`](StringTransport::clear).
///
/// It never calls anything synchronously from a transport method. Producer calls it owes
/// are made by [`run_pending`](StringTransport::run_pending) (a
/// [`Driver`](super::Driver) or an [`IoPump`](super::IoPump) calls it for you), and the
/// protocol's `connection_lost` is delivered by the driver or pump that owns the protocol.
///
/// Shared as an `Rc`: [`transport`](StringTransport::transport) makes the [`Transport`]
/// handle a protocol gets, and `transport.downcast::<StringTransport>()` leads back.
///
/// # Examples
///
/// ```
/// use torsion::testing::StringTransport;
///
/// let st = StringTransport::new();
/// let transport = st.transport();
/// transport.write(b"hello, ");
/// transport.write_sequence(&[b"wor", b"ld"]);
/// transport.lose_connection();
/// transport.write(b"ignored: the transport is closing");
///
/// assert_eq!(st.value(), b"hello, world");
/// assert!(st.disconnecting());
/// assert_eq!(transport.write_buffer_len(), 12);
/// assert_eq!(st.take(), b"hello, world");
/// assert_eq!(transport.write_buffer_len(), 0);
/// ```
pub struct StringTransport {
    st: RefCell<State>,
}

impl StringTransport {
    /// A connected transport with host `Address::Memory("host")` and peer
    /// `Address::Memory("peer")`.
    pub fn new() -> Rc<StringTransport> {
        StringTransport::with_addresses(
            Address::Memory("host".into()),
            Address::Memory("peer".into()),
        )
    }

    /// A connected transport with these addresses.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::protocol::Address;
    /// use torsion::testing::StringTransport;
    ///
    /// let st = StringTransport::with_addresses(
    ///     Address::Tcp("10.0.0.1:12345".parse().unwrap()),
    ///     Address::Tcp("192.168.1.1:54321".parse().unwrap()),
    /// );
    /// assert_eq!(st.transport().get_peer().port(), Some(54321));
    /// ```
    pub fn with_addresses(host: Address, peer: Address) -> Rc<StringTransport> {
        Rc::new(StringTransport {
            st: RefCell::new(State {
                written: Vec::new(),
                phase: Phase::Open,
                write_side: WriteSide::Open,
                reason: None,
                lose_called: false,
                abort_called: false,
                write_shut_called: false,
                read_paused: false,
                resume_owed: false,
                read_eof: false,
                producer: None,
                producer_paused: false,
                owed: VecDeque::new(),
                high_water: DEFAULT_HIGH_WATER,
                low_water: DEFAULT_LOW_WATER,
                host,
                peer,
                no_delay: None,
                keep_alive: None,
            }),
        })
    }

    /// A new transport and the [`Transport`] handle to give a protocol.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::testing::StringTransport;
    ///
    /// let (st, transport) = StringTransport::pair();
    /// transport.write(b"x");
    /// assert_eq!(st.value(), b"x");
    /// ```
    pub fn pair() -> (Rc<StringTransport>, Transport) {
        let st = StringTransport::new();
        let transport = st.transport();
        (st, transport)
    }

    /// The [`Transport`] handle over this transport. Handles made by repeated calls are
    /// equal (they point at the same transport).
    pub fn transport(self: &Rc<Self>) -> Transport {
        Transport::new(self.clone())
    }

    /// Everything written and not yet taken (Twisted's `value()`).
    pub fn value(&self) -> Vec<u8> {
        self.st.borrow().written.clone()
    }

    /// [`value`](StringTransport::value) as text, with invalid UTF-8 replaced, for
    /// readable assertions.
    pub fn value_lossy(&self) -> String {
        String::from_utf8_lossy(&self.st.borrow().written).into_owned()
    }

    /// Takes everything written so far, as if it had been sent: the buffer empties, so a
    /// producer paused at the high-water mark is owed a resume, and a pull producer is owed
    /// a request for its next piece (made by [`run_pending`](StringTransport::run_pending)).
    pub fn take(&self) -> Vec<u8> {
        let mut st = self.st.borrow_mut();
        let data = std::mem::take(&mut st.written);
        // (A closed transport's buffer was dropped already: nothing to tell a producer.)
        if !data.is_empty() && st.phase != Phase::Closed {
            st.drained();
        }
        data
    }

    /// Discards everything written so far (Twisted's `clear()`), with the effects of
    /// [`take`](StringTransport::take). The buffer keeps its capacity, so a test can write
    /// and clear in a loop without allocating.
    pub fn clear(&self) {
        let mut st = self.st.borrow_mut();
        if !st.written.is_empty() && st.phase != Phase::Closed {
            st.drained();
        }
        st.written.clear();
    }

    /// Makes the producer calls the transport owes, in order: `pause_producing` when a
    /// write passed the high-water mark, `resume_producing` when the buffer drained to the
    /// low-water mark (push producers) or emptied (pull producers, and once on
    /// registration). Returns whether it made any.
    ///
    /// No borrow is held while a producer runs, so a producer may write from here.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use torsion::testing::StringTransport;
    /// use torsion::transport::{Producer, PushProducer};
    ///
    /// #[derive(Default)]
    /// struct Flag(Cell<bool>);
    /// impl PushProducer for Flag {
    ///     fn pause_producing(&self) { self.0.set(true) }
    ///     fn resume_producing(&self) { self.0.set(false) }
    ///     fn stop_producing(&self) {}
    /// }
    ///
    /// let (st, transport) = StringTransport::pair();
    /// let paused = Rc::new(Flag::default());
    /// transport.register_producer(Producer::Push(paused.clone())).unwrap();
    /// transport.set_write_watermarks(4, 0);
    /// transport.write(b"12345");
    /// assert!(st.producer_paused());      // decided now...
    /// assert!(!paused.0.get());           // ...said later
    /// st.run_pending();
    /// assert!(paused.0.get());
    /// st.clear();
    /// st.run_pending();
    /// assert!(!paused.0.get());
    /// ```
    pub fn run_pending(&self) -> bool {
        let mut any = false;
        loop {
            let next = self.st.borrow_mut().owed.pop_front();
            let Some((producer, call)) = next else {
                return any;
            };
            any = true;
            match (producer, call) {
                (Producer::Push(p), Call::Pause) => p.pause_producing(),
                (Producer::Push(p), Call::Resume) => p.resume_producing(),
                (Producer::Pull(p), _) => p.resume_producing(),
            }
        }
    }

    /// True once `lose_connection` was called (Twisted's `disconnecting`; stays true).
    pub fn disconnecting(&self) -> bool {
        self.st.borrow().lose_called
    }

    /// True once `abort_connection` was called.
    pub fn aborted(&self) -> bool {
        self.st.borrow().abort_called
    }

    /// True once the connection is closed: after `abort_connection`, or once a close has
    /// completed or been delivered by a [`Driver`](super::Driver) or
    /// [`IoPump`](super::IoPump) (Twisted's `disconnected`).
    pub fn disconnected(&self) -> bool {
        self.st.borrow().phase == Phase::Closed
    }

    /// True once `lose_write_connection` was called.
    pub fn write_shut(&self) -> bool {
        self.st.borrow().write_shut_called
    }

    /// The registered producer, if any (Twisted's `producer`).
    pub fn producer(&self) -> Option<Producer> {
        self.st.borrow().producer.clone()
    }

    /// Whether the registered producer is a push (streaming) one; `None` without a producer
    /// (Twisted's `streaming`).
    pub fn streaming(&self) -> Option<bool> {
        self.st
            .borrow()
            .producer
            .as_ref()
            .map(|p| matches!(p, Producer::Push(_)))
    }

    /// True while the transport holds its push producer paused (the buffer passed the
    /// high-water mark and has not drained to the low-water mark since).
    pub fn producer_paused(&self) -> bool {
        self.st.borrow().producer_paused
    }

    /// What the transport's read side is doing (Twisted's `producerState`).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::testing::{ProducerState, StringTransport};
    ///
    /// let (st, transport) = StringTransport::pair();
    /// transport.pause_producing();
    /// assert_eq!(st.producer_state(), ProducerState::Paused);
    /// transport.resume_producing();
    /// assert_eq!(st.producer_state(), ProducerState::Producing);
    /// transport.lose_connection();
    /// assert_eq!(st.producer_state(), ProducerState::Stopped);
    /// ```
    pub fn producer_state(&self) -> ProducerState {
        let st = self.st.borrow();
        if st.phase != Phase::Open || st.read_eof {
            ProducerState::Stopped
        } else if st.read_paused {
            ProducerState::Paused
        } else {
            ProducerState::Producing
        }
    }

    /// The write buffer's `(high, low)` watermarks (64 KiB and 0 unless set).
    pub fn watermarks(&self) -> (usize, usize) {
        let st = self.st.borrow();
        (st.high_water, st.low_water)
    }

    /// The last value given to `set_tcp_no_delay`, if any.
    pub fn tcp_no_delay(&self) -> Option<bool> {
        self.st.borrow().no_delay
    }

    /// The last value given to `set_tcp_keep_alive`, if any.
    pub fn tcp_keep_alive(&self) -> Option<bool> {
        self.st.borrow().keep_alive
    }

    /// Sets what `get_host` returns.
    pub fn set_host(&self, host: Address) {
        self.st.borrow_mut().host = host;
    }

    /// Sets what `get_peer` returns.
    pub fn set_peer(&self, peer: Address) {
        self.st.borrow_mut().peer = peer;
    }

    // ---- for drivers and pumps ----

    /// Would data arriving now be read (open, not paused, no end of input)?
    /// Takes the owed `reading_resumed` call, if any.
    pub(crate) fn take_resume_owed(&self) -> bool {
        std::mem::replace(&mut self.st.borrow_mut().resume_owed, false)
    }

    pub(crate) fn reading(&self) -> bool {
        let st = self.st.borrow();
        st.phase == Phase::Open && !st.read_paused && !st.read_eof
    }

    /// Is reading only paused (arriving data should wait, not be dropped)?
    pub(crate) fn read_held(&self) -> bool {
        let st = self.st.borrow();
        st.phase == Phase::Open && st.read_paused && !st.read_eof
    }

    /// The peer ended its input. Returns false if reading was already over.
    pub(crate) fn set_read_eof(&self) -> bool {
        let mut st = self.st.borrow_mut();
        if st.phase != Phase::Open || st.read_eof {
            return false;
        }
        st.read_eof = true;
        true
    }

    /// Starts a clean close, as `lose_connection` does (without setting its flag).
    pub(crate) fn begin_close(&self, reason: ConnectionLost) {
        let mut st = self.st.borrow_mut();
        if st.phase == Phase::Open {
            st.phase = Phase::Closing;
            st.reason = Some(reason);
        }
    }

    /// Closes now; `connection_lost(reason)` is owed. Ignored if already closed.
    pub(crate) fn close_now(&self, reason: ConnectionLost) {
        let mut st = self.st.borrow_mut();
        if st.phase != Phase::Closed {
            st.phase = Phase::Closed;
            st.reason = Some(reason);
        }
    }

    /// The bytes to send, if the transport still sends (they leave the buffer).
    pub(crate) fn take_output(&self) -> Vec<u8> {
        if self.st.borrow().phase == Phase::Closed {
            return Vec::new();
        }
        self.take()
    }

    /// If a requested write shutdown can happen now (nothing queued), does it.
    pub(crate) fn take_due_write_shutdown(&self) -> bool {
        let mut st = self.st.borrow_mut();
        let due = st.phase == Phase::Open
            && st.write_side == WriteSide::ShutdownRequested
            && st.written.is_empty();
        if due {
            st.write_side = WriteSide::Shut;
        }
        due
    }

    /// Has the write side been shut down (the peer told of the end of input)?
    pub(crate) fn write_side_shut(&self) -> bool {
        self.st.borrow().write_side == WriteSide::Shut
    }

    /// If a close is due (a clean close whose buffer drained with no producer left, or a
    /// close already made and not yet delivered), completes it: returns the reason and the
    /// producer to stop.
    pub(crate) fn take_due_close(&self) -> Option<(ConnectionLost, Option<Producer>)> {
        let mut st = self.st.borrow_mut();
        let due = match st.phase {
            Phase::Open => false,
            Phase::Closing => st.written.is_empty() && st.producer.is_none(),
            Phase::Closed => st.reason.is_some(),
        };
        if !due {
            return None;
        }
        st.phase = Phase::Closed;
        let reason = st.reason.take().unwrap_or(ConnectionLost::Done);
        Some((reason, st.closed()))
    }

    /// Closes for a reason delivered by the test itself: returns the producer to stop.
    pub(crate) fn close_delivered(&self) -> Option<Producer> {
        let mut st = self.st.borrow_mut();
        st.phase = Phase::Closed;
        st.reason = None;
        st.closed()
    }
}

impl State {
    /// The buffer emptied: owe the producer what our TCP gives it after a flush.
    fn drained(&mut self) {
        match self.producer.clone() {
            // (Empty is at or below any low-water mark.)
            Some(p @ Producer::Push(_)) if self.producer_paused => {
                self.producer_paused = false;
                self.owed.push_back((p, Call::Resume));
            }
            Some(p @ Producer::Pull(_)) => self.owed.push_back((p, Call::Resume)),
            _ => {}
        }
    }

    /// The connection closed: forget the producer (returned, to be stopped).
    fn closed(&mut self) -> Option<Producer> {
        self.producer_paused = false;
        self.producer.take()
    }
}

impl TransportCore for StringTransport {
    fn write(&self, data: &[u8]) {
        let mut st = self.st.borrow_mut();
        if data.is_empty() || st.phase != Phase::Open || st.write_side != WriteSide::Open {
            return;
        }
        st.written.extend_from_slice(data);
        if st.written.len() > st.high_water && !st.producer_paused {
            if let Some(p @ Producer::Push(_)) = st.producer.clone() {
                st.producer_paused = true;
                st.owed.push_back((p, Call::Pause));
            }
        }
    }

    fn lose_connection(&self) {
        self.st.borrow_mut().lose_called = true;
        self.begin_close(ConnectionLost::Done);
    }

    fn abort_connection(&self) {
        self.st.borrow_mut().abort_called = true;
        self.close_now(ConnectionLost::Aborted);
    }

    fn lose_write_connection(&self) {
        let mut st = self.st.borrow_mut();
        st.write_shut_called = true;
        if st.phase == Phase::Open && st.write_side == WriteSide::Open {
            st.write_side = WriteSide::ShutdownRequested;
        }
    }

    fn get_peer(&self) -> Address {
        self.st.borrow().peer.clone()
    }

    fn get_host(&self) -> Address {
        self.st.borrow().host.clone()
    }

    fn pause_producing(&self) {
        self.st.borrow_mut().read_paused = true;
    }

    fn resume_producing(&self) {
        let mut st = self.st.borrow_mut();
        if std::mem::replace(&mut st.read_paused, false) {
            st.resume_owed = true;
        }
    }

    fn register_producer(&self, producer: Producer) -> Result<(), ProducerError> {
        let mut st = self.st.borrow_mut();
        if st.phase == Phase::Closed {
            return Err(ProducerError::Closed);
        }
        if st.producer.is_some() {
            return Err(ProducerError::AlreadyRegistered);
        }
        st.producer = Some(producer.clone());
        st.producer_paused = false;
        match producer {
            Producer::Push(_) if st.written.len() > st.high_water => {
                st.producer_paused = true;
                st.owed.push_back((producer, Call::Pause));
            }
            Producer::Pull(_) => st.owed.push_back((producer, Call::Resume)),
            Producer::Push(_) => {}
        }
        Ok(())
    }

    fn unregister_producer(&self) {
        let mut st = self.st.borrow_mut();
        st.producer = None;
        st.producer_paused = false;
    }

    fn set_write_watermarks(&self, high: usize, low: usize) {
        let mut st = self.st.borrow_mut();
        st.high_water = high;
        st.low_water = low.min(high);
    }

    fn write_buffer_len(&self) -> usize {
        let st = self.st.borrow();
        match st.phase {
            Phase::Closed => 0,
            _ => st.written.len(),
        }
    }

    fn is_disconnecting(&self) -> bool {
        self.st.borrow().phase == Phase::Closing
    }

    fn is_connected(&self) -> bool {
        self.st.borrow().phase != Phase::Closed
    }

    /// Records the setting (see [`StringTransport::tcp_no_delay`]) and succeeds.
    fn set_tcp_no_delay(&self, on: bool) -> io::Result<()> {
        self.st.borrow_mut().no_delay = Some(on);
        Ok(())
    }

    /// Records the setting (see [`StringTransport::tcp_keep_alive`]) and succeeds.
    fn set_tcp_keep_alive(&self, on: bool) -> io::Result<()> {
        self.st.borrow_mut().keep_alive = Some(on);
        Ok(())
    }
}

impl fmt::Debug for StringTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.st.borrow();
        f.debug_struct("StringTransport")
            .field("host", &st.host)
            .field("peer", &st.peer)
            .field("phase", &st.phase)
            .field("buffered", &st.written.len())
            .field("producer", &st.producer)
            .finish()
    }
}
