//! `bench echo`: ping-pong over a stream; every echoed byte is checked against the
//! message's own pattern.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::error::Error;
use std::rc::Rc;
use std::time::Instant;

use torsion::endpoints::client_from_string;
use torsion::protocol::{for_protocol, ConnectionLost, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;

use super::{Closer, Config, Fault, Stats};
use crate::args::usage;

/// Byte `offset` of message `seq` on connection `conn`: a shifted, dropped or repeated
/// byte shows up as a difference.
pub(crate) fn pattern(conn: u64, seq: u64, offset: usize) -> u8 {
    (conn.wrapping_mul(31) ^ seq.wrapping_mul(7)).wrapping_add(offset as u64) as u8
}

struct EchoClient {
    id: u64,
    size: usize,
    pipeline: usize,
    stats: Rc<Stats>,
    open: Rc<RefCell<Vec<Transport>>>,
    next_seq: u64,
    /// Messages sent and not fully echoed: sequence number and send time.
    in_flight: VecDeque<(u64, Instant)>,
    /// Bytes of the oldest in-flight message received so far.
    offset: usize,
    scratch: Vec<u8>,
    failed: bool,
}

impl EchoClient {
    fn send(&mut self, transport: &Transport) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.scratch.clear();
        self.scratch
            .extend((0..self.size).map(|i| pattern(self.id, seq, i)));
        self.in_flight.push_back((seq, Instant::now()));
        transport.write(&self.scratch);
    }
}

impl Protocol for EchoClient {
    fn connection_made(&mut self, transport: &Transport) {
        let _ = transport.set_tcp_no_delay(true);
        self.stats.connected.set(self.stats.connected.get() + 1);
        self.stats.open.set(self.stats.open.get() + 1);
        self.open.borrow_mut().push(transport.clone());
        for _ in 0..self.pipeline {
            self.send(transport);
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if self.failed {
            return;
        }
        let mut rest = data;
        while !rest.is_empty() {
            let Some(&(seq, sent)) = self.in_flight.front() else {
                self.failed = true;
                self.stats
                    .fault(Fault::Mismatch, format!("{} unasked bytes", rest.len()));
                transport.abort_connection();
                return;
            };
            let take = rest.len().min(self.size - self.offset);
            for (i, &b) in rest[..take].iter().enumerate() {
                let want = pattern(self.id, seq, self.offset + i);
                if b != want {
                    self.failed = true;
                    self.stats.fault(
                        Fault::Mismatch,
                        format!(
                            "connection {} message {seq} byte {}: got {b:#04x}, sent {want:#04x}",
                            self.id,
                            self.offset + i
                        ),
                    );
                    transport.abort_connection();
                    return;
                }
            }
            self.offset += take;
            rest = &rest[take..];
            if self.offset == self.size {
                self.offset = 0;
                self.in_flight.pop_front();
                self.stats.complete(sent.elapsed(), self.size);
                if !self.stats.stopping.get() {
                    self.send(transport);
                }
            }
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.stats.open.set(self.stats.open.get() - 1);
        self.open.borrow_mut().retain(|t| t != transport);
        if !self.failed {
            self.stats.fault(
                Fault::Closed,
                format!("connection {} closed by the server: {reason}", self.id),
            );
        }
    }
}

pub(super) fn start(
    reactor: &Reactor,
    config: &Config,
    stats: &Rc<Stats>,
) -> Result<Closer, Box<dyn Error>> {
    let endpoint = client_from_string(reactor, &config.connect)
        .map_err(|e| usage!("bench echo: --connect {:?}: {e}", config.connect))?;
    let open: Rc<RefCell<Vec<Transport>>> = Rc::default();
    let all_stats = stats;
    for id in 0..config.connections as u64 {
        let (stats, open, size, pipeline) =
            (stats.clone(), open.clone(), config.size, config.pipeline);
        let factory = for_protocol(move || EchoClient {
            id,
            size,
            pipeline,
            stats: stats.clone(),
            open: open.clone(),
            next_seq: 0,
            in_flight: VecDeque::with_capacity(pipeline),
            offset: 0,
            scratch: Vec::with_capacity(size),
            failed: false,
        });
        super::connect_counting(&endpoint, factory, all_stats, &config.connect);
    }
    Ok(super::abort_open(open))
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn a_shifted_byte_differs() {
        for seq in 0..50 {
            for off in 0..300 {
                assert_ne!(pattern(3, seq, off), pattern(3, seq, off + 1));
            }
            assert_ne!(
                (0..64).map(|i| pattern(1, seq, i)).collect::<Vec<_>>(),
                (0..64).map(|i| pattern(1, seq + 1, i)).collect::<Vec<_>>()
            );
        }
    }
}
