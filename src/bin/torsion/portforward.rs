//! `torsion portforward`: Twisted's `portforward` (`twist portforward`): every connection
//! accepted on `--listen` gets a connection to `--dest`, and bytes are copied both ways.
//!
//! Backpressure both ways, as in Twisted's `ProxyClient.connectionMade`: each transport is
//! registered as the (push) producer of the other, so a side that reads faster than the
//! other side can send is paused when the other's write buffer passes its high-water mark,
//! and resumed when it drains; the proxy never buffers more than a buffer's worth per
//! direction. The accepted connection is not read from until the outgoing one is made.

use std::cell::RefCell;
use std::error::Error;
use std::rc::Rc;

use torsion::endpoints::{client_from_string, ClientEndpoint};
use torsion::protocol::{for_protocol, Address, ConnectionLost, Factory, Protocol};
use torsion::transport::{Producer, Transport};

use crate::args::{usage, Args};
use crate::serve::{Server, Tracker};
use crate::Common;

pub(crate) const HELP: &str = "\
torsion portforward: forward every connection to another address (a TCP proxy)

usage: torsion portforward --listen ENDPOINT [--listen ENDPOINT]... --dest ENDPOINT
                           [--log-level LEVEL] [--grace DURATION]

  --listen ENDPOINT   where to accept connections, say tcp:8000 (repeatable; default tcp:8000)
  --dest ENDPOINT     where to connect for each of them, say tcp:example.com:80
                      (a client endpoint: tcp:HOST:PORT, unix:PATH, tls:HOST:PORT)
  --log-level LEVEL   off, error, warn, info (default), debug, trace; logs go to stderr
  --grace DURATION    on SIGINT / SIGTERM, how long connections get to finish sending (default 10s)
  -h, --help          this text

Flow control works both ways: a fast sender is paused while the other side cannot keep up.
";

/// One forwarded connection: the accepted side and, once made, the outgoing side.
struct Link {
    server: Transport,
    client: RefCell<Option<Transport>>,
    /// What the accepted side sent before the outgoing side was up (normally nothing:
    /// it is paused until then).
    early: RefCell<Vec<u8>>,
}

/// The accepted connection (Twisted's `ProxyServer`).
struct ProxyServer {
    dest: ClientEndpoint,
    /// Makes the outgoing connections part of the graceful stop.
    tracker: Tracker,
    link: Option<Rc<Link>>,
}

impl Protocol for ProxyServer {
    fn connection_made(&mut self, transport: &Transport) {
        // Nothing is read until there is somewhere to send it.
        transport.pause_producing();
        let link = Rc::new(Link {
            server: transport.clone(),
            client: RefCell::new(None),
            early: RefCell::new(Vec::new()),
        });
        self.link = Some(link.clone());
        let for_client = link.clone();
        let connecting = self
            .dest
            .connect(self.tracker.wrap(for_protocol(move || ProxyClient {
                link: for_client.clone(),
            })))
            .add_callbacks(
                |_| Ok(()),
                move |failure| {
                    log::warn!(
                        "portforward: cannot reach the destination for {}: {failure}",
                        link.server.get_peer()
                    );
                    link.server.lose_connection();
                    Ok(())
                },
            );
        drop(connecting);
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        let Some(link) = &self.link else { return };
        let client = link.client.borrow().clone();
        match client {
            Some(c) => c.write(data),
            None => link.early.borrow_mut().extend_from_slice(data),
        }
    }

    fn connection_lost(&mut self, transport: &Transport, _reason: ConnectionLost) {
        transport.unregister_producer();
        if let Some(link) = self.link.take() {
            if let Some(c) = link.client.borrow_mut().take() {
                c.unregister_producer();
                c.lose_connection();
            }
        }
    }
}

/// The outgoing connection (Twisted's `ProxyClient`).
struct ProxyClient {
    link: Rc<Link>,
}

impl Protocol for ProxyClient {
    fn connection_made(&mut self, transport: &Transport) {
        let server = self.link.server.clone();
        if !server.is_connected() || server.is_disconnecting() {
            transport.lose_connection();
            return;
        }
        *self.link.client.borrow_mut() = Some(transport.clone());
        // Each side pauses the other when its own write buffer is full.
        let _ = transport.register_producer(Producer::Push(Rc::new(server.clone())));
        let _ = server.register_producer(Producer::Push(Rc::new(transport.clone())));
        log::debug!(
            "portforward: {} -> {}",
            server.get_peer(),
            transport.get_peer()
        );
        let early = std::mem::take(&mut *self.link.early.borrow_mut());
        if !early.is_empty() {
            transport.write(&early);
        }
        server.resume_producing();
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        self.link.server.write(data);
    }

    fn connection_lost(&mut self, transport: &Transport, _reason: ConnectionLost) {
        transport.unregister_producer();
        if self.link.client.borrow_mut().take().is_some() {
            self.link.server.unregister_producer();
        }
        self.link.server.lose_connection();
    }
}

struct ProxyFactory {
    dest: ClientEndpoint,
    tracker: Tracker,
}

impl Factory for ProxyFactory {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(ProxyServer {
            dest: self.dest.clone(),
            tracker: self.tracker.clone(),
            link: None,
        }))
    }
}

pub(crate) fn main(mut args: Args) -> Result<(), Box<dyn Error>> {
    let mut common = Common::default();
    let mut listen = Vec::new();
    let mut dest = None;
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "--listen" | "-l" => listen.push(args.value("--listen")?),
            "--dest" => dest = Some(args.value("--dest")?),
            _ if common.parse(&flag, &mut args)? => {}
            _ => return Err(args.unknown(&flag).into()),
        }
    }
    let dest = dest.ok_or_else(|| {
        usage!("portforward: --dest is required, say --dest tcp:127.0.0.1:80 (see `torsion portforward --help`)")
    })?;
    if listen.is_empty() {
        listen.push("tcp:8000".to_string());
    }
    common.apply();
    let server = Server::new()?;
    let endpoint = client_from_string(server.reactor(), &dest)
        .map_err(|e| usage!("portforward: --dest {dest:?}: {e} (say --dest tcp:HOST:PORT)"))?;
    log::info!("portforward: forwarding to {dest}");
    server.listen_all(
        "portforward",
        &listen,
        Rc::new(ProxyFactory {
            dest: endpoint,
            tracker: server.tracker(),
        }),
    )?;
    server.stop_gracefully(common.grace);
    server.run()
}
