//! The seed's chat room, one to one with Twisted's publish/subscribe server
//! ("Writing Servers" howto):
//!
//! ```python
//! class PubProtocol(basic.LineReceiver):
//!     def __init__(self, factory):
//!         self.factory = factory
//!
//!     def connectionMade(self):
//!         self.factory.clients.add(self)
//!
//!     def connectionLost(self, reason):
//!         self.factory.clients.remove(self)
//!
//!     def lineReceived(self, line):
//!         for c in self.factory.clients:
//!             source = "<{}> ".format(self.transport.getHost()).encode("ascii")
//!             c.sendLine(source + line)
//!
//! class PubFactory(protocol.Factory):
//!     def __init__(self):
//!         self.clients = set()
//!
//!     def buildProtocol(self, addr):
//!         return PubProtocol(self)
//!
//! endpoints.serverFromString(reactor, "tcp:1025").listen(PubFactory())
//! reactor.run()
//! ```
//!
//! The set holds transports rather than protocols (see
//! `torsion::manual::programming_model`), and each line names the server's own address,
//! as Twisted's does with `getHost()`. A line longer than 16384 bytes closes its sender's
//! connection only (LineReceiver's default `line_length_exceeded`).
//!
//! `cargo run --example chat [ENDPOINT]`, e.g. `cargo run --example chat -- tcp:0:interface=127.0.0.1`
//! (default `tcp:1025`); it prints `chat server listening on tcp:ADDRESS:PORT` once
//! listening. Then `nc 127.0.0.1 1025` (or `telnet`) from two terminals. Ctrl-C stops it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;

use torsion::endpoints::server_from_string;
use torsion::protocol::{Address, ConnectionLost, Factory, Protocol};
use torsion::protocols::basic::{LineProtocol, LineReceiver, Lines};
use torsion::transport::Transport;
use torsion::Reactor;

type Clients = Rc<RefCell<HashSet<Transport>>>;

struct PubProtocol {
    clients: Clients,
}

impl LineReceiver for PubProtocol {
    fn connection_made(&mut self, lines: &mut Lines<'_>) {
        self.clients.borrow_mut().insert(lines.transport().clone());
    }

    fn connection_lost(&mut self, lines: &mut Lines<'_>, _reason: ConnectionLost) {
        self.clients.borrow_mut().remove(lines.transport());
    }

    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
        for c in self.clients.borrow().iter() {
            let source = format!("<{}> ", lines.transport().get_host());
            c.write_sequence(&[source.as_bytes(), line, lines.delimiter()]);
        }
    }
}

#[derive(Default)]
struct PubFactory {
    clients: Clients,
}

impl Factory for PubFactory {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(LineProtocol::new(PubProtocol {
            clients: self.clients.clone(),
        })))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let description = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp:1025".to_string());
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let r = reactor.clone();
    let listening = server_from_string(&reactor, &description)?
        .listen(Rc::new(PubFactory::default()))
        .add_callbacks(
            |port| {
                println!("chat server listening on {}", port.get_host());
                let _ = std::io::stdout().flush();
                Ok(())
            },
            move |failure| {
                eprintln!("could not listen on {description}: {failure}");
                let _ = r.stop();
                Ok(())
            },
        );
    drop(listening);
    reactor.run()?;
    Ok(())
}
