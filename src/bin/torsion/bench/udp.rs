//! `bench udp`: each socket keeps `--pipeline` datagrams in flight to an echoing UDP
//! server. A datagram carries its socket and sequence number, then a pattern; a reply
//! must come from the server, match a datagram in flight and carry the same bytes. A
//! datagram without a reply after [`LOSS_TIMEOUT`] counts as lost and is replaced.
//!
//! Each socket is a port of torsion's UDP transport ([`Reactor::listen_udp`], batched
//! `recvmmsg` / `sendmmsg` on Linux) with a [`DatagramProtocol`]; a timer sweeps for lost
//! datagrams.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::endpoints::Description;
use torsion::udp::{DatagramProtocol, UdpPort};
use torsion::Reactor;

use super::echo::pattern;
use super::{Closer, Config, Fault, Stats};
use crate::args::{usage, UsageError};

/// Socket id (4 bytes) and sequence number (8 bytes), plus a little pattern.
pub(crate) const MIN_SIZE: usize = 16;
/// How long a reply may take before its datagram counts as lost.
pub(crate) const LOSS_TIMEOUT: Duration = Duration::from_secs(1);

/// `udp:HOST:PORT` or `udp:host=HOST:port=PORT`.
pub(crate) fn parse_target(connect: &str) -> Result<SocketAddr, UsageError> {
    let hint =
        || usage!("bench udp: --connect {connect:?}: say udp:HOST:PORT, e.g. udp:127.0.0.1:9000");
    let d = Description::parse(connect).map_err(|_| hint())?;
    if !d.prefix.eq_ignore_ascii_case("udp") {
        return Err(hint());
    }
    let kw = |k: &str| {
        d.kwargs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut positional = d.args.iter().cloned();
    let host = kw("host").or_else(|| positional.next()).ok_or_else(hint)?;
    let port = kw("port").or_else(|| positional.next()).ok_or_else(hint)?;
    let port: u16 = port.parse().map_err(|_| hint())?;
    (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| usage!("bench udp: --connect {connect:?}: cannot resolve {host:?}"))
}

/// One socket's datagrams in flight (shared by its protocol and the loss sweep).
struct Flight {
    id: u32,
    size: usize,
    target: SocketAddr,
    stats: Rc<Stats>,
    next_seq: u64,
    in_flight: HashMap<u64, Instant>,
    scratch: Vec<u8>,
}

impl Flight {
    fn datagram(&self, seq: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend((12..self.size).map(|i| pattern(u64::from(self.id), seq, i)));
    }

    fn send(&mut self, port: &UdpPort) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut out = std::mem::take(&mut self.scratch);
        self.datagram(seq, &mut out);
        self.in_flight.insert(seq, Instant::now());
        if let Err(e) = port.write(&out, self.target) {
            // Left in flight: the loss sweep replaces it.
            log::debug!("bench udp: send: {e}");
        }
        self.scratch = out;
    }

    fn received(&mut self, port: &UdpPort, data: &[u8], from: SocketAddr) {
        if from != self.target {
            self.stats.fault(
                Fault::Mismatch,
                format!("a datagram from {from}, not the server"),
            );
            return;
        }
        let seq = data
            .get(4..12)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap()));
        let sent = seq.and_then(|s| self.in_flight.remove(&s));
        let (Some(seq), Some(sent)) = (seq, sent) else {
            self.stats
                .fault(Fault::Mismatch, "a reply to no datagram in flight");
            return;
        };
        let mut expect = std::mem::take(&mut self.scratch);
        self.datagram(seq, &mut expect);
        if data != expect {
            self.stats.fault(
                Fault::Mismatch,
                format!(
                    "socket {} datagram {seq}: {} bytes came back, not what was sent",
                    self.id,
                    data.len()
                ),
            );
        } else {
            self.stats.complete(sent.elapsed(), data.len());
        }
        self.scratch = expect;
        if !self.stats.stopping.get() {
            self.send(port);
        }
    }

    /// Counts and replaces the datagrams that waited too long.
    fn sweep(&mut self, port: &UdpPort, now: Instant) {
        let late: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, &t)| now.duration_since(t) > LOSS_TIMEOUT)
            .map(|(&s, _)| s)
            .collect();
        for seq in late {
            self.in_flight.remove(&seq);
            self.stats.fault(
                Fault::Lost,
                format!(
                    "socket {} datagram {seq}: no reply in {LOSS_TIMEOUT:?}",
                    self.id
                ),
            );
            if !self.stats.stopping.get() {
                self.send(port);
            }
        }
    }
}

struct UdpClient {
    flight: Rc<RefCell<Flight>>,
    pipeline: usize,
}

impl DatagramProtocol for UdpClient {
    fn start_protocol(&mut self, port: &UdpPort) {
        let mut f = self.flight.borrow_mut();
        for _ in 0..self.pipeline {
            f.send(port);
        }
    }

    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
        self.flight.borrow_mut().received(port, data, addr);
    }

    fn datagram_truncated(&mut self, _port: &UdpPort, data: &[u8], addr: SocketAddr) {
        self.flight.borrow().stats.fault(
            Fault::Mismatch,
            format!(
                "a datagram from {addr} longer than the {} bytes sent",
                data.len() - 1
            ),
        );
    }

    fn connection_refused(&mut self, _port: &UdpPort) {
        // ICMP port unreachable: the datagrams stay in flight; the sweep counts them lost.
        log::debug!("bench udp: connection refused");
    }
}

pub(super) fn start(
    reactor: &Reactor,
    config: &Config,
    stats: &Rc<Stats>,
) -> Result<Closer, Box<dyn Error>> {
    let target = parse_target(&config.connect)?;
    let interface = if target.is_ipv4() { "0.0.0.0" } else { "::" };
    let mut sockets = Vec::new();
    for id in 0..config.connections {
        let flight = Rc::new(RefCell::new(Flight {
            id: id as u32,
            size: config.size,
            target,
            stats: stats.clone(),
            next_seq: 0,
            in_flight: HashMap::new(),
            scratch: Vec::with_capacity(config.size),
        }));
        let protocol = UdpClient {
            flight: flight.clone(),
            pipeline: config.pipeline,
        };
        // One byte more than is sent, so that a longer reply shows up as truncated.
        let port = reactor.listen_udp(0, protocol, interface, config.size + 1)?;
        stats.connected.set(stats.connected.get() + 1);
        stats.open.set(stats.open.get() + 1);
        sockets.push((port, flight));
    }
    let sockets = Rc::new(sockets);
    sweep_every(reactor, sockets.clone(), Duration::from_millis(100));
    Ok(Box::new(move || {
        for (port, _) in sockets.iter() {
            drop(port.stop_listening());
        }
    }))
}

type Sockets = Rc<Vec<(UdpPort, Rc<RefCell<Flight>>)>>;

fn sweep_every(reactor: &Reactor, sockets: Sockets, period: Duration) {
    let r = reactor.clone();
    drop(reactor.call_later(period, move || {
        let now = Instant::now();
        for (port, flight) in sockets.iter() {
            flight.borrow_mut().sweep(port, now);
        }
        sweep_every(&r, sockets, period);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("udp:127.0.0.1:9000").unwrap(),
            "127.0.0.1:9000".parse().unwrap()
        );
        assert_eq!(
            parse_target("udp:port=53:host=127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert!(parse_target("tcp:127.0.0.1:9000").is_err());
        assert!(parse_target("udp:127.0.0.1:x").is_err());
    }
}
