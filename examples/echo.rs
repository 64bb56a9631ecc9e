//! The seed's TCP echo server, one to one with Twisted's:
//!
//! ```python
//! class Echo(protocol.Protocol):
//!     def dataReceived(self, data):
//!         self.transport.write(data)
//!
//! class EchoFactory(protocol.Factory):
//!     def buildProtocol(self, addr):
//!         return Echo()
//!
//! endpoints.serverFromString(reactor, "tcp:1234").listen(EchoFactory())
//! reactor.run()
//! ```
//!
//! `cargo run --release --example echo [PORT [INTERFACE]]` (default 1234 on every interface).
//! The endpoint-string form arrives with the endpoints module.

use std::rc::Rc;

use torsion::protocol::{Address, Factory, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

struct EchoFactory;

impl Factory for EchoFactory {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Echo))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(1234);
    let interface = args.next().unwrap_or_default();
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let listening = reactor.listen_tcp(port, Rc::new(EchoFactory), 50, &interface)?;
    eprintln!("echo server on {}", listening.get_host());
    reactor.run()?;
    Ok(())
}
