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
//! `cargo run --release --example echo [ENDPOINT]`, e.g.
//! `cargo run --release --example echo -- tcp:9000:interface=127.0.0.1`
//! (default `tcp:1234`). Ctrl-C stops it.

use std::rc::Rc;

use torsion::endpoints::server_from_string;
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
    let description = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp:1234".to_string());
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let r = reactor.clone();
    let listening = server_from_string(&reactor, &description)?
        .listen(Rc::new(EchoFactory))
        .add_callbacks(
            |port| {
                eprintln!("echo server listening on {}", port.get_host());
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
