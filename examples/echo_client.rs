//! A ClientFactory-based echo client, like Twisted's `echoclient.py`: it connects, sends a
//! few lines, prints each echo as it arrives, and stops the reactor when the connection
//! ends (or could not be made).
//!
//! `cargo run --release --example echo_client [HOST [PORT]]` (default 127.0.0.1 1234), with
//! `cargo run --release --example echo` running.

use std::rc::Rc;

use torsion::defer::Failure;
use torsion::protocol::{Address, ClientFactory, ConnectionLost, Factory, Protocol};
use torsion::tcp::Connector;
use torsion::transport::Transport;
use torsion::Reactor;

const LINES: [&str; 3] = ["hello, world", "what a fine day it is", "bye-bye!"];

struct EchoClient {
    received: Vec<u8>,
}

impl Protocol for EchoClient {
    fn connection_made(&mut self, transport: &Transport) {
        for line in LINES {
            transport.write(line.as_bytes());
            transport.write(b"\r\n");
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.received.extend_from_slice(data);
        while let Some(end) = self.received.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.received.drain(..end + 2).collect();
            let line = String::from_utf8_lossy(&line[..end]).to_string();
            println!("receive: {line}");
            if line == LINES[LINES.len() - 1] {
                transport.lose_connection();
            }
        }
    }
}

struct EchoClientFactory {
    reactor: Reactor,
}

impl Factory for EchoClientFactory {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(EchoClient {
            received: Vec::new(),
        }))
    }
}

impl ClientFactory for EchoClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: Failure) {
        println!("connection failed: {reason}");
        let _ = self.reactor.stop();
    }

    fn client_connection_lost(&self, _connector: &Connector, reason: &ConnectionLost) {
        println!("connection lost: {reason}");
        let _ = self.reactor.stop();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(1234);
    let reactor = Reactor::new()?;
    let factory = Rc::new(EchoClientFactory {
        reactor: reactor.clone(),
    });
    let r = reactor.clone();
    reactor.call_when_running(move || {
        r.connect_tcp(
            &host,
            port,
            factory,
            Some(std::time::Duration::from_secs(30)),
            None,
        );
    });
    reactor.run()?;
    Ok(())
}
