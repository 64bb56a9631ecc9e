//! Completing or failing the connects a [`MemoryReactor`] recorded (Twisted's
//! `iosim.ConnectionCompleter`).
//!
//! Tests: `tests/testing_memory_reactor.rs`.

use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;

use super::{ListenOn, MemoryConnector, MemoryReactor};
use crate::defer::Failure;
use crate::protocol::{Address, Protocol};
use crate::tcp::Destination;
use crate::testing::driver::Endpoint;
use crate::testing::{Connected, Driver, PumpBuilder, StringTransport};
use crate::transport::Transport;

/// Stands in for a server whose factory refused the connection: closes at once, as the
/// real port does.
struct Refused;

impl Protocol for Refused {
    fn connection_made(&mut self, transport: &Transport) {
        transport.lose_connection();
    }

    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

impl MemoryReactor {
    /// Completes the oldest pending connect: builds the client protocol with its factory
    /// (for the destination's address), connects it to a
    /// [`StringTransport`](crate::testing::StringTransport), calls `connection_made`
    /// and returns the driver; the test plays the server. When the connection is lost,
    /// the factory's `client_connection_lost` is called, as by a real connector.
    ///
    /// Returns `None` if no connect is pending, or if the factory refused to build a
    /// protocol (then the factory's `client_connection_failed` was called, as by the real
    /// connector).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use torsion::protocol::{Address, ClientFactory, ConnectionLost, Factory, Protocol};
    /// use torsion::tcp::{Connector, ReactorTcp};
    /// use torsion::testing::MemoryReactor;
    /// use torsion::transport::Transport;
    ///
    /// struct Ask;
    /// impl Protocol for Ask {
    ///     fn connection_made(&mut self, t: &Transport) {
    ///         t.write(b"GET\r\n");
    ///     }
    ///     fn data_received(&mut self, t: &Transport, _: &[u8]) {
    ///         t.lose_connection();
    ///     }
    /// }
    ///
    /// #[derive(Default)]
    /// struct Counting {
    ///     lost: Cell<u32>,
    /// }
    /// impl Factory for Counting {
    ///     fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
    ///         Some(Box::new(Ask))
    ///     }
    /// }
    /// impl ClientFactory for Counting {
    ///     fn client_connection_lost(&self, _: &Connector, _: &ConnectionLost) {
    ///         self.lost.set(self.lost.get() + 1);
    ///     }
    /// }
    ///
    /// let reactor = MemoryReactor::new();
    /// let factory = Rc::new(Counting::default());
    /// reactor.connect_tcp_dyn("127.0.0.1", 80, factory.clone(), None, None);
    /// let client = reactor.succeed_once().unwrap();
    /// assert_eq!(client.take_written(), b"GET\r\n");
    /// client.data_received(b"200 OK\r\n");
    /// client.run_pending();
    /// assert!(client.is_closed());
    /// assert_eq!(factory.lost.get(), 1);
    /// ```
    pub fn succeed_once(&self) -> Option<Driver<Box<dyn Protocol>>> {
        self.begin_attempts();
        let connector = self.shared.pending.borrow_mut().pop_front()?;
        let peer = connector.peer_address();
        let Some(protocol) = connector.factory().build_protocol(&peer) else {
            connector.fail_attempt(Failure::msg("the factory refused to build a protocol"));
            return None;
        };
        let transport = StringTransport::with_addresses(self.client_address(&connector), peer);
        let endpoint = client_endpoint(protocol, transport, &connector);
        endpoint.make_connection();
        Some(Driver::from_endpoint(endpoint))
    }

    /// Completes the oldest pending connect that a recorded, still listening port accepts
    /// (the same TCP port number, or the same Unix path), Twisted's
    /// `ConnectionCompleter.succeedOnce`: builds both protocols with their factories,
    /// connects them through an [`IoPump`](crate::testing::IoPump) on this reactor's
    /// clock, calls `connection_made` (server first) and flushes once.
    ///
    /// If the server's factory refuses the connection, the server side closes at once (the
    /// client sees a clean close), as a real port does. Returns `None` if no pending connect
    /// matches a port, or if the client's factory refused to build a protocol (then its
    /// `client_connection_failed` was called).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use torsion::protocol::{for_protocol, Protocol};
    /// use torsion::tcp::ReactorTcp;
    /// use torsion::testing::MemoryReactor;
    /// use torsion::transport::Transport;
    ///
    /// struct Echo;
    /// impl Protocol for Echo {
    ///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
    ///         t.write(data);
    ///     }
    /// }
    ///
    /// struct Client(Rc<RefCell<Vec<u8>>>);
    /// impl Protocol for Client {
    ///     fn connection_made(&mut self, t: &Transport) {
    ///         t.write(b"ping");
    ///     }
    ///     fn data_received(&mut self, _: &Transport, data: &[u8]) {
    ///         self.0.borrow_mut().extend_from_slice(data);
    ///     }
    /// }
    ///
    /// let reactor = MemoryReactor::new();
    /// reactor.listen_tcp_dyn(7, for_protocol(|| Echo), 50, "").unwrap();
    /// let heard = Rc::new(RefCell::new(Vec::new()));
    /// let h = heard.clone();
    /// reactor.connect_tcp_dyn("127.0.0.1", 7, for_protocol(move || Client(h.clone())), None, None);
    ///
    /// let connected = reactor.succeed_once_with_server().unwrap();
    /// assert_eq!(*heard.borrow(), b"ping");
    /// assert_eq!(connected.pump.bytes_from_server(), b"ping");
    /// ```
    pub fn succeed_once_with_server(
        &self,
    ) -> Option<Connected<Box<dyn Protocol>, Box<dyn Protocol>>> {
        self.begin_attempts();
        let (connector, server_factory, server_host) = self.take_matching_attempt()?;
        let peer = connector.peer_address();
        let Some(client_protocol) = connector.factory().build_protocol(&peer) else {
            connector.fail_attempt(Failure::msg("the factory refused to build a protocol"));
            return None;
        };
        let client_host = self.client_address(&connector);
        let server_protocol = server_factory
            .build_protocol(&client_host)
            .unwrap_or_else(|| Box::new(Refused));
        let server_transport = StringTransport::with_addresses(server_host, client_host.clone());
        let client_transport = StringTransport::with_addresses(client_host, peer);
        let server = Endpoint::new(server_protocol, server_transport);
        let client = client_endpoint(client_protocol, client_transport, &connector);
        let pump = PumpBuilder::new()
            .clock(self.clock().clone())
            .link(server.clone(), client.clone());
        Some(Connected {
            server: Driver::from_endpoint(server),
            client: Driver::from_endpoint(client),
            pump,
        })
    }

    /// Fails the oldest pending connect with `reason`: the factory's
    /// `client_connection_failed` is called (Twisted's `ConnectionCompleter.failOnce`,
    /// whose default reason is a refused connection:
    /// `Failure::new(io::Error::from(io::ErrorKind::ConnectionRefused))`). Returns false if
    /// none was pending.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::io;
    /// use std::rc::Rc;
    /// use torsion::defer::Failure;
    /// use torsion::protocol::{Address, ClientFactory, Factory, Protocol};
    /// use torsion::tcp::{Connector, ReactorTcp};
    /// use torsion::testing::MemoryReactor;
    ///
    /// #[derive(Default)]
    /// struct Failing {
    ///     why: RefCell<Option<Failure>>,
    /// }
    /// impl Factory for Failing {
    ///     fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
    ///         None
    ///     }
    /// }
    /// impl ClientFactory for Failing {
    ///     fn client_connection_failed(&self, _: &Connector, reason: Failure) {
    ///         *self.why.borrow_mut() = Some(reason);
    ///     }
    /// }
    ///
    /// let reactor = MemoryReactor::new();
    /// let factory = Rc::new(Failing::default());
    /// reactor.connect_tcp_dyn("127.0.0.1", 80, factory.clone(), None, None);
    /// assert!(reactor.fail_once(Failure::new(io::Error::from(io::ErrorKind::ConnectionRefused))));
    /// let why = factory.why.borrow_mut().take().unwrap();
    /// assert_eq!(why.downcast_ref::<io::Error>().unwrap().kind(), io::ErrorKind::ConnectionRefused);
    /// assert!(!reactor.fail_once(Failure::msg("nothing pending")));
    /// ```
    pub fn fail_once(&self, reason: Failure) -> bool {
        self.begin_attempts();
        let next = self.shared.pending.borrow_mut().pop_front();
        match next {
            Some(connector) => {
                connector.fail_attempt(reason);
                true
            }
            None => false,
        }
    }

    /// Begins the pending attempts the loop has not begun yet (their factories'
    /// `started_connecting`), oldest first, as a loop turn would before any could
    /// complete. One the factory stops meanwhile is no longer pending.
    fn begin_attempts(&self) {
        let waiting: Vec<Rc<MemoryConnector>> =
            self.shared.pending.borrow().iter().cloned().collect();
        for connector in waiting {
            connector.begin_now();
        }
    }

    /// The client's own address: a fake port on 127.0.0.1 for TCP, unnamed for Unix.
    fn client_address(&self, connector: &MemoryConnector) -> Address {
        match connector.get_destination_ref() {
            Destination::Tcp { .. } => Address::Tcp(SocketAddr::new(
                Ipv4Addr::LOCALHOST.into(),
                self.shared.fake_port(),
            )),
            Destination::Unix(_) => Address::Unix(None),
        }
    }

    /// Removes and returns the oldest pending attempt some listening port accepts, with
    /// that port's factory and address.
    #[allow(clippy::type_complexity)]
    fn take_matching_attempt(
        &self,
    ) -> Option<(
        Rc<MemoryConnector>,
        Rc<dyn crate::protocol::Factory>,
        Address,
    )> {
        let listens = self.listens();
        let mut pending = self.shared.pending.borrow_mut();
        for (i, connector) in pending.iter().enumerate() {
            let found = listens.iter().find(|l| {
                l.port.is_listening()
                    && match (connector.get_destination_ref(), &l.on) {
                        (Destination::Tcp { port, .. }, ListenOn::Tcp { .. }) => {
                            l.port.get_host().port() == Some(*port)
                        }
                        (Destination::Unix(a), ListenOn::Unix { path, .. }) => a == path,
                        _ => false,
                    }
            });
            if let Some(listen) = found {
                let connector = pending.remove(i).expect("index in range");
                return Some((connector, listen.factory.clone(), listen.port.get_host()));
            }
        }
        None
    }
}

/// The client side of a completed connect: tells the connector now and when it ends.
fn client_endpoint(
    protocol: Box<dyn Protocol>,
    transport: Rc<StringTransport>,
    connector: &Rc<MemoryConnector>,
) -> Rc<Endpoint<Box<dyn Protocol>>> {
    connector.connected(transport.transport());
    let endpoint = Endpoint::new(protocol, transport);
    let connector = connector.clone();
    endpoint.set_after_lost(Box::new(move |reason| connector.lost(reason)));
    endpoint
}
