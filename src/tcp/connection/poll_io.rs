//! The connection's reads and writes against the poller: one read per readiness report,
//! one send per flush, and the rules of its edge-triggered registration
//! (`Interest::EDGE`): a full read or a whole send that left data queued has the poller look
//! again (`rearm`), a hang-up is read to its end.

use std::io::{self, IoSlice};
use std::os::fd::OwnedFd;

use torsion_sys::{socket, Interest, Readiness};

use super::{Connection, Phase, WriteSide};
use crate::protocol::ConnectionLost;
use crate::reactor::{IoHandler, Reactor, SourceKey};
use crate::transport::Producer;

/// Most buffers handed to one `sendmsg`.
const MAX_IOV: usize = 64;

/// Reads one hang-up report may make before the rest waits for the next turn.
const MAX_READS_ON_HANGUP: usize = 16;

/// What a read told about the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterRead {
    /// Nothing more to read now (`WouldBlock`, end of file, an error that closed, no
    /// socket).
    Drained,
    /// Some bytes, less than the buffer: nothing more was queued, unless the peer hung up.
    Short,
    /// The buffer was filled: more may be waiting.
    Full,
}

impl Connection {
    /// One read into the reactor's buffer, handed to the protocol. Returns what is known of
    /// the socket afterwards.
    fn do_read(&self) -> AfterRead {
        let result = self.reactor.with_read_buffer(|buf| {
            let n = {
                let fd = self.fd.borrow();
                let Some(fd) = fd.as_ref() else {
                    return Ok(AfterRead::Drained);
                };
                crate::reactor::Counters::bump(&self.reactor.counters().reads);
                match socket::recv(fd, buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(AfterRead::Drained)
                    }
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.read_eof();
                return Ok(AfterRead::Drained);
            }
            self.call_protocol(|p, t| p.data_received(t, &buf[..n]));
            Ok(if n == buf.len() {
                AfterRead::Full
            } else {
                AfterRead::Short
            })
        });
        let after = match result {
            Ok(after) => after,
            Err(e) => {
                self.close_now(ConnectionLost::from_io(e));
                return AfterRead::Drained;
            }
        };
        // What the protocol wrote to this connection in answer leaves now, in one
        // system call, before the other ready connections are read: an answer does not
        // wait for the whole turn (lower and flatter latency under many connections).
        // Writes to other connections still leave together before the next poll, and so
        // does this one while a pause of its producer is on its way (backpressure keeps
        // the order of events it always had: pause, then drain, then resume).
        let flush_now = {
            let st = self.st.borrow();
            st.flush_scheduled && !st.pause_pending
        };
        if flush_now {
            self.flush();
        }
        after
    }

    /// Writes what is queued (one system call), then finishes a pending close or
    /// write shutdown and resumes a paused producer if the queue drained.
    pub(super) fn flush(&self) {
        let mut st = self.st.borrow_mut();
        st.flush_scheduled = false;
        if st.phase == Phase::Closed {
            return;
        }
        // One send per flush. Under edge triggering (`Interest::EDGE`) a socket that took
        // everything it was given is not reported writable again, so when a whole send
        // leaves the queue non-empty (longer than one `sendmsg` takes) the poller is asked
        // to look again; a short send means the kernel buffer is full, and its draining
        // will be reported.
        let mut rearm = false;
        if !st.queue.is_empty() {
            let (result, asked) = {
                let fd = self.fd.borrow();
                let Some(fd) = fd.as_ref() else {
                    return;
                };
                crate::reactor::Counters::bump(&self.reactor.counters().writes);
                if let Some(run) = st.queue.single_run() {
                    (socket::send_nosignal(fd, run), run.len())
                } else {
                    let mut slices = [IoSlice::new(&[]); MAX_IOV];
                    let n = st.queue.io_slices(&mut slices);
                    let asked = slices[..n].iter().map(|s| s.len()).sum();
                    (socket::sendv_nosignal(fd, &slices[..n]), asked)
                }
            };
            match result {
                Ok(n) => {
                    let pool = self.reactor.buffer_pool().clone();
                    st.queue.consume(&pool, n);
                    st.want_write = !st.queue.is_empty();
                    rearm = st.want_write && n == asked;
                }
                // (`EINTR` never gets here: torsion-sys retries it.)
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => st.want_write = true,
                Err(e) => {
                    drop(st);
                    self.close_now(ConnectionLost::from_io(e));
                    return;
                }
            }
        }
        let len = st.queue.len();
        let resume = match st.producer.clone() {
            Some(Producer::Push(_))
                if st.producer_paused && len <= st.low_water && st.pause_pending =>
            {
                // The pause has not gone out yet: cancel it instead of resuming.
                st.producer_paused = false;
                st.pause_pending = false;
                None
            }
            Some(Producer::Push(p)) if st.producer_paused && len <= st.low_water => {
                st.producer_paused = false;
                Some(Producer::Push(p))
            }
            Some(Producer::Pull(p)) if len == 0 => Some(Producer::Pull(p)),
            _ => None,
        };
        let finish_close = len == 0 && st.phase == Phase::Closing && st.producer.is_none();
        let shut_write = len == 0 && st.write_side == WriteSide::ShutdownRequested;
        drop(st);
        self.update_interest();
        if rearm {
            self.rearm();
        }
        // The producer and protocol run with no borrow held, from the top of the loop.
        match resume {
            Some(Producer::Push(p)) => p.resume_producing(),
            Some(Producer::Pull(p)) => p.resume_producing(),
            None => {}
        }
        if finish_close {
            let reason = self.st.borrow_mut().closing_reason.take();
            self.close_now(reason.unwrap_or(ConnectionLost::Done));
        } else if shut_write {
            self.shut_write();
        }
    }

    /// Has the poller report the socket again if it is still ready (data left behind by a
    /// full read, room left after a whole send, under edge triggering).
    pub(super) fn rearm(&self) {
        if let Some(Err(e)) = self.with_source(|key, fd| self.reactor.rearm(key, fd)) {
            self.close_now(ConnectionLost::from_io(e));
        }
    }

    /// Registers the interest the state calls for, if it changed.
    pub(super) fn update_interest(&self) {
        let mut st = self.st.borrow_mut();
        if st.phase == Phase::Closed {
            return;
        }
        let mut want = Interest::empty();
        if st.reads() {
            want |= Interest::READABLE;
        }
        if st.want_write {
            want |= Interest::WRITABLE;
        }
        if !want.is_empty() {
            want |= Interest::EDGE; // (see `ready` for what this asks of the reads)
        }
        if want == st.interest {
            return;
        }
        match self.with_source(|key, fd| self.reactor.set_interest(key, fd, want)) {
            None => {}
            Some(Ok(())) => st.interest = want,
            Some(Err(e)) => {
                drop(st);
                self.close_now(ConnectionLost::from_io(e));
            }
        }
    }

    /// Calls `f` with the source's key and socket (`None` once either is gone).
    fn with_source(
        &self,
        f: impl FnOnce(SourceKey, &OwnedFd) -> io::Result<()>,
    ) -> Option<io::Result<()>> {
        let key = self.key.get()?;
        let fd = self.fd.borrow();
        Some(f(key, fd.as_ref()?))
    }
}

impl IoHandler for Connection {
    fn ready(&self, _reactor: &Reactor, readiness: Readiness) {
        if self.st.borrow().reads() && readiness.wants_read() {
            // The source is edge-triggered (`Interest::EDGE`): a short read leaves nothing
            // behind (what arrives later is a new edge), but a full buffer may, and a
            // hang-up may be reported only once. One read per connection per turn, as
            // level triggering gave; a full read has the poller look again, so the rest is
            // read next turn, after the other connections had theirs.
            let hung_up = readiness.intersects(Readiness::HUP | Readiness::ERROR);
            for reads in 1.. {
                let more = match self.do_read() {
                    AfterRead::Full => true,
                    AfterRead::Short => hung_up,
                    AfterRead::Drained => false,
                };
                if !more || !self.st.borrow().reads() {
                    break;
                }
                if !hung_up || reads == MAX_READS_ON_HANGUP {
                    self.rearm();
                    break;
                }
            }
        }
        if readiness.wants_write() && self.st.borrow().want_write {
            self.st.borrow_mut().want_write = false;
            self.flush();
        }
    }
}
