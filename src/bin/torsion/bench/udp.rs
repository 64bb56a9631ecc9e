//! `bench udp`: each socket keeps `--pipeline` datagrams in flight to an echoing UDP
//! server. A datagram carries its socket and sequence number, then a pattern; a reply
//! must come from the server, match a datagram in flight and carry the same bytes. A
//! datagram without a reply after [`LOSS_TIMEOUT`] counts as lost and is replaced.
//!
//! The sockets are torsion-sys's non-blocking UDP sockets, watched by the reactor directly
//! ([`Reactor::add_source`]): one `recvfrom` / `sendto` per datagram. (torsion's `udp`
//! transport, with its batching, landed after this was written; moving to it is a
//! follow-up.)

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::endpoints::Description;
use torsion::reactor::SourceKey;
use torsion::sys::socket::{recv_from, send_to, udp_bind};
use torsion::sys::{Interest, Readiness};
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

struct UdpClient {
    id: u32,
    size: usize,
    target: SocketAddr,
    fd: OwnedFd,
    stats: Rc<Stats>,
    next_seq: u64,
    in_flight: HashMap<u64, Instant>,
    buf: Vec<u8>,
    key: Option<SourceKey>,
}

impl UdpClient {
    fn datagram(&self, seq: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend((12..self.size).map(|i| pattern(u64::from(self.id), seq, i)));
    }

    fn send(&mut self) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut out = std::mem::take(&mut self.buf);
        self.datagram(seq, &mut out);
        self.in_flight.insert(seq, Instant::now());
        if let Err(e) = send_to(&self.fd, &out, self.target) {
            // Left in flight: the loss sweep replaces it.
            log::debug!("bench udp: send: {e}");
        }
        self.buf = out;
    }

    /// Reads every queued reply.
    fn read(&mut self) {
        let mut buf = vec![0u8; self.size + 1];
        let mut expect = Vec::with_capacity(self.size);
        loop {
            let (n, from) = match recv_from(&self.fd, &mut buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // ECONNREFUSED after an ICMP port unreachable: the datagram stays in
                    // flight and the sweep counts it as lost.
                    log::debug!("bench udp: {}: {e}", self.target);
                    return;
                }
            };
            if from != self.target {
                self.stats.fault(
                    Fault::Mismatch,
                    format!("a datagram from {from}, not the server"),
                );
                continue;
            }
            let seq = (n >= 12).then(|| u64::from_be_bytes(buf[4..12].try_into().unwrap()));
            let sent = seq.and_then(|s| self.in_flight.remove(&s));
            let (Some(seq), Some(sent)) = (seq, sent) else {
                self.stats
                    .fault(Fault::Mismatch, "a reply to no datagram in flight");
                continue;
            };
            self.datagram(seq, &mut expect);
            if buf[..n] != expect[..] {
                self.stats.fault(
                    Fault::Mismatch,
                    format!(
                        "socket {} datagram {seq}: {n} bytes came back, not what was sent",
                        self.id
                    ),
                );
            } else {
                self.stats.complete(sent.elapsed(), n);
            }
            if !self.stats.stopping.get() {
                self.send();
            }
        }
    }

    /// Counts and replaces the datagrams that waited too long.
    fn sweep(&mut self, now: Instant) {
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
                self.send();
            }
        }
    }
}

pub(super) fn start(
    reactor: &Reactor,
    config: &Config,
    stats: &Rc<Stats>,
) -> Result<Closer, Box<dyn Error>> {
    let target = parse_target(&config.connect)?;
    let local = SocketAddr::new(
        match target.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        },
        0,
    );
    let mut clients = Vec::new();
    for id in 0..config.connections {
        let fd = udp_bind(local)?;
        let client = Rc::new(RefCell::new(UdpClient {
            id: id as u32,
            size: config.size,
            target,
            fd,
            stats: stats.clone(),
            next_seq: 0,
            in_flight: HashMap::new(),
            buf: Vec::with_capacity(config.size),
            key: None,
        }));
        let handler = {
            let client = client.clone();
            move |_: &Reactor, _: Readiness| client.borrow_mut().read()
        };
        let key = reactor.add_source(&client.borrow().fd, Interest::READABLE, Rc::new(handler))?;
        client.borrow_mut().key = Some(key);
        stats.connected.set(stats.connected.get() + 1);
        stats.open.set(stats.open.get() + 1);
        for _ in 0..config.pipeline {
            client.borrow_mut().send();
        }
        clients.push(client);
    }
    let clients = Rc::new(clients);
    sweep_every(reactor, clients.clone(), Duration::from_millis(100));
    let r = reactor.clone();
    Ok(Box::new(move || {
        for c in clients.iter() {
            let c = c.borrow();
            if let Some(key) = c.key {
                let _ = r.remove_source(key, &c.fd);
            }
        }
    }))
}

fn sweep_every(reactor: &Reactor, clients: Rc<Vec<Rc<RefCell<UdpClient>>>>, period: Duration) {
    let r = reactor.clone();
    drop(reactor.call_later(period, move || {
        let now = Instant::now();
        for c in clients.iter() {
            c.borrow_mut().sweep(now);
        }
        sweep_every(&r, clients, period);
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
