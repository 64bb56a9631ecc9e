//! `bench http`: pipelined `GET`s over kept-alive connections; each response's framing is
//! checked ([`ResponseParser`]) and its status must be 2xx.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::error::Error;
use std::rc::Rc;
use std::time::Instant;

use torsion::endpoints::{client_from_string, Description};
use torsion::protocol::{for_protocol, ConnectionLost, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;

use super::framing::ResponseParser;
use super::{Closer, Config, Fault, Stats};
use crate::args::usage;

struct HttpClient {
    request: Rc<[u8]>,
    pipeline: usize,
    stats: Rc<Stats>,
    open: Rc<RefCell<Vec<Transport>>>,
    in_flight: VecDeque<Instant>,
    parser: ResponseParser,
    bytes: usize,
    failed: bool,
}

impl Protocol for HttpClient {
    fn connection_made(&mut self, transport: &Transport) {
        let _ = transport.set_tcp_no_delay(true);
        self.stats.connected.set(self.stats.connected.get() + 1);
        self.stats.open.set(self.stats.open.get() + 1);
        self.open.borrow_mut().push(transport.clone());
        let now = Instant::now();
        let all: Vec<&[u8]> = (0..self.pipeline).map(|_| &self.request[..]).collect();
        self.in_flight
            .extend(std::iter::repeat_n(now, self.pipeline));
        transport.write_sequence(&all);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if self.failed {
            return;
        }
        self.bytes += data.len();
        let mut finished: Vec<u16> = Vec::new();
        let result = self.parser.feed(data, &mut |status| finished.push(status));
        for status in finished {
            let Some(sent) = self.in_flight.pop_front() else {
                self.failed = true;
                self.stats
                    .fault(Fault::Framing, "a response nobody asked for");
                transport.abort_connection();
                return;
            };
            if !(200..300).contains(&status) {
                self.stats
                    .fault(Fault::Status, format!("status {status} (not 2xx)"));
            }
            self.stats
                .complete(sent.elapsed(), std::mem::take(&mut self.bytes));
            if !self.stats.stopping.get() {
                self.in_flight.push_back(Instant::now());
                transport.write(&self.request);
            }
        }
        if let Err(e) = result {
            self.failed = true;
            self.stats.fault(Fault::Framing, e);
            transport.abort_connection();
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.stats.open.set(self.stats.open.get() - 1);
        self.open.borrow_mut().retain(|t| t != transport);
        if !self.failed {
            let mid = if self.parser.idle() {
                ""
            } else {
                " in the middle of a response"
            };
            self.stats.fault(
                Fault::Closed,
                format!("connection closed by the server{mid}: {reason}"),
            );
        }
    }
}

/// The `Host` header for a client endpoint description: its `host` (`localhost` for
/// unix: and anything without one).
pub(crate) fn host_of(connect: &str) -> String {
    let Ok(d) = Description::parse(connect) else {
        return "localhost".to_string();
    };
    if !["tcp", "tcp6", "tls", "ssl"].contains(&d.prefix.to_ascii_lowercase().as_str()) {
        return "localhost".to_string();
    }
    let host = d
        .kwargs
        .iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.clone())
        .or_else(|| d.args.first().cloned())
        .unwrap_or_else(|| "localhost".to_string());
    if host.contains(':') {
        format!("[{host}]") // an IPv6 literal
    } else {
        host
    }
}

pub(super) fn start(
    reactor: &Reactor,
    config: &Config,
    stats: &Rc<Stats>,
) -> Result<Closer, Box<dyn Error>> {
    let endpoint = client_from_string(reactor, &config.connect)
        .map_err(|e| usage!("bench http: --connect {:?}: {e}", config.connect))?;
    let request: Rc<[u8]> = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: torsion-bench\r\n\r\n",
        config.path,
        host_of(&config.connect)
    )
    .into_bytes()
    .into();
    let open: Rc<RefCell<Vec<Transport>>> = Rc::default();
    let all_stats = stats;
    for _ in 0..config.connections {
        let (stats, open, request, pipeline) = (
            stats.clone(),
            open.clone(),
            request.clone(),
            config.pipeline,
        );
        let factory = for_protocol(move || HttpClient {
            request: request.clone(),
            pipeline,
            stats: stats.clone(),
            open: open.clone(),
            in_flight: VecDeque::with_capacity(pipeline),
            parser: ResponseParser::new(),
            bytes: 0,
            failed: false,
        });
        super::connect_counting(&endpoint, factory, all_stats, &config.connect);
    }
    Ok(super::abort_open(open))
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_header_from_the_endpoint() {
        assert_eq!(host_of("tcp:127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("tcp:port=80:host=example.com"), "example.com");
        assert_eq!(host_of(r"tcp6:\:\:1:80"), "[::1]");
        assert_eq!(host_of("unix:/tmp/s"), "localhost");
    }
}
