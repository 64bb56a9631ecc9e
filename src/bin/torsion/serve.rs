//! What every serving subcommand shares: listening on endpoint strings with errors that
//! name the fix, tracking live connections, and the graceful stop on SIGINT / SIGTERM
//! (stop listening, `lose_connection` on every connection so queued data is still sent,
//! wait until they are closed or the grace period is over, then stop).

use std::cell::RefCell;
use std::collections::HashSet;
use std::error::Error;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::Deferred;
use torsion::endpoints::{server_from_string, CannotListen};
use torsion::protocol::{Address, ConnectionLost, Factory, Protocol};
use torsion::reactor::SystemEvent;
use torsion::tcp::ListeningPort;
use torsion::transport::Transport;
use torsion::Reactor;

use crate::args::Args;
use crate::Common;

/// The whole of a subcommand that only listens with one factory (`echo`, `chat`): its
/// flags are `--help`, `--listen` (repeatable; `default_listen` when none) and the
/// [`Common`] ones; then it serves until stopped gracefully.
pub(crate) fn serve_factory(
    mut args: Args,
    help: &str,
    name: &str,
    default_listen: &str,
    factory: Rc<dyn Factory>,
) -> Result<(), Box<dyn Error>> {
    let mut common = Common::default();
    let mut listen = Vec::new();
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{help}");
                return Ok(());
            }
            "--listen" | "-l" => listen.push(args.value("--listen")?),
            _ if common.parse(&flag, &mut args)? => {}
            _ => return Err(args.unknown(&flag).into()),
        }
    }
    if listen.is_empty() {
        listen.push(default_listen.to_string());
    }
    common.apply();
    let server = Server::new()?;
    server.listen_all(name, &listen, factory)?;
    server.stop_gracefully(common.grace);
    server.run()
}

/// How long the graceful stop waits for connections to finish sending before it aborts
/// the rest.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Live {
    connections: HashSet<Transport>,
    /// Fired once the last connection is gone, during a graceful stop.
    drained: Option<Deferred<()>>,
}

impl Live {
    fn remove(&mut self, transport: &Transport) -> Option<Deferred<()>> {
        self.connections.remove(transport);
        if self.connections.is_empty() {
            self.drained.take()
        } else {
            None
        }
    }
}

/// The listening ports and live connections of one server process.
pub(crate) struct Server {
    reactor: Reactor,
    ports: RefCell<Vec<ListeningPort>>,
    live: Rc<RefCell<Live>>,
}

impl Server {
    /// A reactor that turns SIGINT / SIGTERM into a graceful stop, and an empty server.
    pub(crate) fn new() -> Result<Rc<Server>, Box<dyn Error>> {
        let reactor = Reactor::builder().handle_signals(true).build()?;
        Ok(Rc::new(Server {
            reactor,
            ports: RefCell::new(Vec::new()),
            live: Rc::default(),
        }))
    }

    pub(crate) fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// Wraps `factory` so that the server knows every connection it makes.
    pub(crate) fn tracked(&self, factory: Rc<dyn Factory>) -> Rc<dyn Factory> {
        self.tracker().wrap(factory)
    }

    /// What wraps factories into the live set, for connections made later (portforward's
    /// outgoing ones), so that the graceful stop waits for them too.
    pub(crate) fn tracker(&self) -> Tracker {
        Tracker(self.live.clone())
    }

    /// Listens on each endpoint with (a tracked) `factory` and prints
    /// `NAME listening on ADDRESS` on stdout for each. A bad description or a port that
    /// cannot be opened is an error that says what to change.
    pub(crate) fn listen_all(
        &self,
        name: &str,
        endpoints: &[String],
        factory: Rc<dyn Factory>,
    ) -> Result<(), Box<dyn Error>> {
        let factory = self.tracked(factory);
        for description in endpoints {
            let endpoint = server_from_string(&self.reactor, description).map_err(|e| {
                format!(
                    "--listen {description:?}: {e} (examples: tcp:8000, \
                     tcp:8000:interface=127.0.0.1, unix:/tmp/sock)"
                )
            })?;
            let listening = endpoint.listen(factory.clone());
            // TCP and Unix listens answer at once; give any other kind a bounded wait.
            for _ in 0..500 {
                if listening.called() {
                    break;
                }
                self.reactor.iterate(Duration::from_millis(10))?;
            }
            let port = match listening.take_result() {
                Some(Ok(port)) => port,
                Some(Err(failure)) => {
                    return Err(match failure.downcast_ref::<CannotListen>() {
                        Some(cannot) => listen_error(description, cannot).into(),
                        None => format!("--listen {description}: {failure}").into(),
                    })
                }
                None => return Err(format!("--listen {description}: no answer in 5 s").into()),
            };
            log::info!("{name} listening on {}", port.get_host());
            println!("{name} listening on {}", port.get_host());
            let _ = io::stdout().flush();
            self.ports.borrow_mut().push(port);
        }
        Ok(())
    }

    /// On shutdown (SIGINT, SIGTERM or `stop`): stop listening, close every connection
    /// once what is queued for it is sent, and let the reactor stop when they are all
    /// closed, or after `grace` (the rest are aborted then).
    pub(crate) fn stop_gracefully(self: &Rc<Self>, grace: Duration) {
        let server = self.clone();
        self.reactor
            .add_system_event_trigger_deferred(SystemEvent::Shutdown, move || {
                for port in server.ports.borrow_mut().drain(..) {
                    drop(port.stop_listening());
                }
                let done = Deferred::new();
                let open: Vec<Transport> = {
                    let mut live = server.live.borrow_mut();
                    if live.connections.is_empty() {
                        let _ = done.callback(());
                        return done;
                    }
                    live.drained = Some(done.clone());
                    live.connections.iter().cloned().collect()
                };
                log::info!(
                    "stopping: closing {} connection(s) once their data is sent",
                    open.len()
                );
                for t in &open {
                    t.lose_connection();
                }
                let live = server.live.clone();
                let timer = server.reactor.call_later(grace, move || {
                    let rest: Vec<Transport> = live.borrow().connections.iter().cloned().collect();
                    log::warn!(
                        "{} connection(s) still sending after {grace:?}: aborted",
                        rest.len()
                    );
                    for t in &rest {
                        t.abort_connection();
                    }
                    if let Some(d) = live.borrow_mut().drained.take() {
                        let _ = d.callback(());
                    }
                });
                done.add_both(move |r| {
                    if timer.active() {
                        let _ = timer.cancel();
                    }
                    r
                })
            });
    }

    /// Runs the reactor until it stops; then closes it.
    pub(crate) fn run(&self) -> Result<(), Box<dyn Error>> {
        let result = self.reactor.run();
        if let Some(signo) = self.reactor.exit_signal() {
            log::info!("stopped by signal {signo}");
        }
        self.reactor.close();
        Ok(result?)
    }
}

/// The message for a port that cannot be opened: which one, why, and what to do.
pub(crate) fn listen_error(description: &str, cannot: &CannotListen) -> String {
    let what = cannot.what();
    let port: Option<u16> = what
        .split("port ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok());
    match (cannot.kind(), port) {
        (io::ErrorKind::AddrInUse, Some(p)) => format!(
            "{cannot}\n  port {p} is in use by another program: pick another one, say \
             --listen {} (or tcp:0 for any free port), or stop the program using it \
             (`ss -ltnp 'sport = :{p}'` shows which)",
            description.replacen(&p.to_string(), &(p.wrapping_add(1)).to_string(), 1)
        ),
        (io::ErrorKind::PermissionDenied, Some(p)) if p < 1024 => format!(
            "{cannot}\n  ports below 1024 need privileges: use a port of 1024 or more, say \
             --listen {}",
            description.replacen(&p.to_string(), &(u32::from(p) + 8000).to_string(), 1)
        ),
        (io::ErrorKind::AddrNotAvailable, _) => format!(
            "{cannot}\n  that interface address is not on this machine: use one of its \
             addresses, or leave interface= out to listen on all of them"
        ),
        (io::ErrorKind::AddrInUse, None) => format!(
            "{cannot}\n  the socket path exists: remove it if no server uses it, or pick \
             another path"
        ),
        _ => format!("--listen {description}: {cannot}"),
    }
}

/// Puts the connections of a factory into a server's live set.
#[derive(Clone)]
pub(crate) struct Tracker(Rc<RefCell<Live>>);

impl Tracker {
    pub(crate) fn wrap(&self, factory: Rc<dyn Factory>) -> Rc<dyn Factory> {
        Rc::new(TrackedFactory {
            inner: factory,
            live: self.0.clone(),
        })
    }
}

struct TrackedFactory {
    inner: Rc<dyn Factory>,
    live: Rc<RefCell<Live>>,
}

impl Factory for TrackedFactory {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        let inner = self.inner.build_protocol(addr)?;
        Some(Box::new(Tracked {
            inner,
            live: self.live.clone(),
        }))
    }

    fn start_factory(&self) {
        self.inner.start_factory();
    }

    fn stop_factory(&self) {
        self.inner.stop_factory();
    }
}

/// Forwards everything to the protocol it wraps, and keeps the connection in the live set
/// while it is open.
struct Tracked {
    inner: Box<dyn Protocol>,
    live: Rc<RefCell<Live>>,
}

impl Protocol for Tracked {
    fn connection_made(&mut self, transport: &Transport) {
        let draining = {
            let mut live = self.live.borrow_mut();
            live.connections.insert(transport.clone());
            live.drained.is_some()
        };
        self.inner.connection_made(transport);
        if draining {
            // Accepted just before the port closed: it is served what it sent, then closed.
            transport.lose_connection();
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.inner.data_received(transport, data);
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.inner.connection_lost(transport, reason);
        let drained = self.live.borrow_mut().remove(transport);
        if let Some(d) = drained {
            let _ = d.callback(());
        }
    }

    fn half_closeable(&self) -> bool {
        self.inner.half_closeable()
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.inner.read_connection_lost(transport);
    }

    fn reading_resumed(&mut self, transport: &Transport) {
        self.inner.reading_resumed(transport);
    }

    fn write_connection_lost(&mut self, transport: &Transport) {
        self.inner.write_connection_lost(transport);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_names_the_port_and_another_one() {
        let cannot = CannotListen::new(
            "TCP port 8000 (interface 127.0.0.1)",
            io::ErrorKind::AddrInUse.into(),
        );
        let msg = listen_error("tcp:8000:interface=127.0.0.1", &cannot);
        assert!(msg.contains("port 8000 is in use"), "{msg}");
        assert!(
            msg.contains("--listen tcp:8001:interface=127.0.0.1"),
            "{msg}"
        );
    }

    #[test]
    fn a_privileged_port_suggests_a_high_one() {
        let cannot = CannotListen::new(
            "TCP port 80 (all interfaces)",
            io::ErrorKind::PermissionDenied.into(),
        );
        let msg = listen_error("tcp:80", &cannot);
        assert!(msg.contains("--listen tcp:8080"), "{msg}");
    }
}
