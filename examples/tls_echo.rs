//! A TLS echo server, Twisted's `echoserv_ssl.py` in torsion: the server comes from an
//! `ssl:` (or `tls:`) endpoint description given as the first argument.
//!
//! ```python
//! class Echo(protocol.Protocol):
//!     def dataReceived(self, data):
//!         self.transport.write(data)
//!
//! endpoints.serverFromString(reactor, "ssl:8443:privateKey=server.key:certKey=server.pem") \
//!     .listen(protocol.Factory.forProtocol(Echo))
//! reactor.run()
//! ```
//!
//! Try it with throw-away certificates:
//!
//! ```sh
//! scripts/tls-certs.sh /tmp/certs
//! cargo run --release --example tls_echo -- \
//!     'ssl:8443:interface=127.0.0.1:privateKey=/tmp/certs/server.key:certKey=/tmp/certs/server.pem'
//! openssl s_client -connect 127.0.0.1:8443 -CAfile /tmp/certs/ca.pem -verify_hostname localhost -quiet
//! ```
//!
//! The protocol is the plain TCP echo: it cannot tell it runs over TLS. Ctrl-C stops it.

use torsion::endpoints::server_from_string;
use torsion::protocol::{for_protocol, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(description) = std::env::args().nth(1) else {
        eprintln!("usage: tls_echo 'ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem[:interface=IP]'");
        std::process::exit(2);
    };
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let r = reactor.clone();
    let listening = server_from_string(&reactor, &description)?
        .listen(for_protocol(|| Echo))
        .add_callbacks(
            |port| {
                eprintln!("TLS echo server listening on {}", port.get_host());
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
