//! `torsion chat`: Twisted's publish / subscribe chat server ("Writing Servers"): every
//! line a client sends goes to every connected client, prefixed with the server's address.

use std::cell::RefCell;
use std::collections::HashSet;
use std::error::Error;
use std::rc::Rc;

use torsion::protocol::{Address, ConnectionLost, Factory, Protocol};
use torsion::protocols::basic::{LineProtocol, LineReceiver, Lines};
use torsion::transport::Transport;

use crate::args::Args;
use crate::serve::serve_factory;

pub(crate) const HELP: &str = "\
torsion chat: a chat room (each line a client sends goes to every client)

usage: torsion chat [--listen ENDPOINT]... [--log-level LEVEL] [--grace DURATION]

  --listen ENDPOINT   where to listen; repeat for several (default tcp:1025)
  --log-level LEVEL   off, error, warn, info (default), debug, trace; logs go to stderr
  --grace DURATION    on SIGINT / SIGTERM, how long connections get to finish sending (default 10s)
  -h, --help          this text

Try it with `nc 127.0.0.1 1025` from two terminals. Lines are CRLF- or LF-terminated,
at most 16384 bytes (a longer one closes its sender's connection).
";

type Clients = Rc<RefCell<HashSet<Transport>>>;

struct PubProtocol {
    clients: Clients,
}

impl LineReceiver for PubProtocol {
    fn connection_made(&mut self, lines: &mut Lines<'_>) {
        log::debug!("chat: {} joined", lines.transport().get_peer());
        self.clients.borrow_mut().insert(lines.transport().clone());
    }

    fn connection_lost(&mut self, lines: &mut Lines<'_>, _reason: ConnectionLost) {
        log::debug!("chat: {} left", lines.transport().get_peer());
        self.clients.borrow_mut().remove(lines.transport());
    }

    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let source = format!("<{}> ", lines.transport().get_host());
        for c in self.clients.borrow().iter() {
            c.write_sequence(&[source.as_bytes(), line, b"\r\n"]);
        }
    }
}

#[derive(Default)]
struct PubFactory {
    clients: Clients,
}

impl Factory for PubFactory {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        // `\n` as the delimiter accepts `nc`'s bare LF as well as CRLF (the CR is
        // stripped in line_received).
        Some(Box::new(
            LineProtocol::new(PubProtocol {
                clients: self.clients.clone(),
            })
            .with_delimiter(b"\n"),
        ))
    }
}

pub(crate) fn main(args: Args) -> Result<(), Box<dyn Error>> {
    serve_factory(
        args,
        HELP,
        "chat",
        "tcp:1025",
        Rc::new(PubFactory::default()),
    )
}
