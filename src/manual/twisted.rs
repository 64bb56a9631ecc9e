//! Twisted → torsion: the names, method by method, for what exists so far.
//!
//! | Twisted | torsion |
//! |---|---|
//! | `reactor.run()` | [`Reactor::run`](crate::Reactor::run) (may be called again after a stop) |
//! | `reactor.stop()` | [`Reactor::stop`](crate::Reactor::stop) → `Err(NotRunning)` as `ReactorNotRunning` |
//! | `reactor.crash()` | [`Reactor::crash`](crate::Reactor::crash) |
//! | `reactor.iterate(delay)` | [`Reactor::iterate`](crate::Reactor::iterate), [`Reactor::run_once`](crate::Reactor::run_once) |
//! | `reactor.running` | [`Reactor::running`](crate::Reactor::running) |
//! | `callWhenRunning(f)` | [`Reactor::call_when_running`](crate::Reactor::call_when_running) |
//! | `addSystemEventTrigger(phase, event, f)` | [`Reactor::add_system_event_trigger`](crate::Reactor::add_system_event_trigger) with [`Phase`](crate::reactor::Phase), [`SystemEvent`](crate::reactor::SystemEvent) |
//! | `removeSystemEventTrigger(id)` | [`Reactor::remove_system_event_trigger`](crate::Reactor::remove_system_event_trigger) |
//! | `fireSystemEvent(event)` | [`Reactor::fire_system_event`](crate::Reactor::fire_system_event) |
//! | `seconds()` | [`Reactor::seconds`](crate::Reactor::seconds) (monotonic, since the reactor's creation), [`Reactor::now`](crate::Reactor::now) as a `Duration` |
//! | `callLater(delay, f, *a)` | [`Reactor::call_later`](crate::Reactor::call_later)`(Duration, closure)` |
//! | `getDelayedCalls()` | [`Reactor::get_delayed_calls`](crate::Reactor::get_delayed_calls) |
//! | `IDelayedCall.cancel / reset / delay / active / getTime` | [`DelayedCall`](crate::time::DelayedCall)`::cancel / reset / delay / active / get_time` |
//! | `AlreadyCalled`, `AlreadyCancelled` | [`DelayedCallError`](crate::time::DelayedCallError) |
//! | `IReactorTime` | [`ReactorTime`](crate::time::ReactorTime) |
//! | `task.Clock` (`advance`, `pump`) | [`time::Clock`](crate::time::Clock) |
//! | `callFromThread(f)` | [`ThreadHandle::call_from_thread`](crate::reactor::ThreadHandle::call_from_thread) (from [`Reactor::thread_handle`](crate::Reactor::thread_handle)) |
//! | `threads.blockingCallFromThread` | [`ThreadHandle::blocking_call_from_thread`](crate::reactor::ThreadHandle::blocking_call_from_thread) |
//! | `callInThread(f)` | [`Reactor::call_in_thread`](crate::Reactor::call_in_thread) |
//! | `suggestThreadPoolSize(n)` | [`Reactor::suggest_thread_pool_size`](crate::Reactor::suggest_thread_pool_size) |
//! | `addReader` / `addWriter` / `removeReader` / `removeWriter` | [`Reactor::add_source`](crate::Reactor::add_source), [`set_interest`](crate::Reactor::set_interest), [`remove_source`](crate::Reactor::remove_source) with an [`IoHandler`](crate::reactor::IoHandler) |
//! | `run(installSignalHandlers=True)` | opt-in: [`ReactorBuilder::handle_signals`](crate::reactor::ReactorBuilder::handle_signals) |
//! | `threads.deferToThread(f)` | [`Reactor::defer_to_thread`](crate::Reactor::defer_to_thread) |
//! | `addSystemEventTrigger('before', ...)` returning a Deferred | [`Reactor::add_system_event_trigger_deferred`](crate::Reactor::add_system_event_trigger_deferred) |
//!
//! # Protocols, factories, transports
//!
//! | Twisted | torsion |
//! |---|---|
//! | `Protocol.makeConnection` / `connectionMade()` | [`Protocol::connection_made`](crate::protocol::Protocol::connection_made)`(&mut self, &Transport)` |
//! | `dataReceived(data)` | [`Protocol::data_received`](crate::protocol::Protocol::data_received) |
//! | `connectionLost(reason)` | [`Protocol::connection_lost`](crate::protocol::Protocol::connection_lost) with [`ConnectionLost`](crate::protocol::ConnectionLost) (`Done`, `Lost`, `Aborted`, `TimedOut`) |
//! | `IHalfCloseableProtocol.readConnectionLost` / `writeConnectionLost` | [`Protocol::half_closeable`](crate::protocol::Protocol::half_closeable) + [`read_connection_lost`](crate::protocol::Protocol::read_connection_lost) / [`write_connection_lost`](crate::protocol::Protocol::write_connection_lost) |
//! | `self.transport` | the `&Transport` every callback receives (keep a clone if needed) |
//! | `Factory.buildProtocol(addr)` (None refuses) | [`Factory::build_protocol`](crate::protocol::Factory::build_protocol) (`None` refuses) |
//! | `startFactory` / `stopFactory`, `doStart` / `doStop` | [`Factory::start_factory`](crate::protocol::Factory::start_factory) / [`stop_factory`](crate::protocol::Factory::stop_factory), [`do_start`](crate::protocol::do_start) / [`do_stop`](crate::protocol::do_stop) |
//! | `Factory.forProtocol(P)` | [`for_protocol`](crate::protocol::for_protocol)`(\|\| P)` |
//! | `ClientFactory.startedConnecting` / `clientConnectionFailed` / `clientConnectionLost` | [`ClientFactory`](crate::protocol::ClientFactory)`::started_connecting` / `client_connection_failed` / `client_connection_lost` |
//! | `ReconnectingClientFactory` | [`ReconnectingClientFactory`](crate::protocol::ReconnectingClientFactory) |
//! | `ITransport.write` / `writeSequence` / `loseConnection` / `getPeer` / `getHost` | [`Transport`](crate::transport::Transport)`::write` / `write_sequence` / `lose_connection` / `get_peer` / `get_host` |
//! | `ITCPTransport.abortConnection` / `loseWriteConnection` / `setTcpNoDelay` / `setTcpKeepAlive` | `Transport::abort_connection` / `lose_write_connection` / `set_tcp_no_delay` / `set_tcp_keep_alive` |
//! | `registerProducer(p, streaming)` / `unregisterProducer` | [`Transport::register_producer`](crate::transport::Transport::register_producer)`(Producer::Push \| Producer::Pull)` / `unregister_producer` |
//! | `IPushProducer` / `IPullProducer` | [`PushProducer`](crate::transport::PushProducer) / [`PullProducer`](crate::transport::PullProducer) |
//! | `pauseProducing` / `resumeProducing` on a transport | `Transport::pause_producing` / `resume_producing` (reading) |
//! | `reactor.listenTCP(port, f, backlog, interface)` | [`Reactor::listen_tcp`](crate::Reactor::listen_tcp) |
//! | `reactor.connectTCP(host, port, f, timeout, bindAddress)` | [`Reactor::connect_tcp`](crate::Reactor::connect_tcp) |
//! | `listenUNIX` / `connectUNIX` | [`Reactor::listen_unix`](crate::Reactor::listen_unix) / [`connect_unix`](crate::Reactor::connect_unix) |
//! | `IListeningPort.stopListening` / `getHost` | [`ListeningPort`](crate::tcp::ListeningPort)`::stop_listening` / `get_host` |
//! | `IConnector.connect` / `disconnect` / `stopConnecting` / `getDestination` | [`Connector`](crate::tcp::Connector)`::connect` / ... |
//! | `IReactorTCP` | [`ReactorTcp`](crate::tcp::ReactorTcp) |
//! | `reactor.listenUDP(port, protocol, interface, maxPacketSize)` | [`Reactor::listen_udp`](crate::Reactor::listen_udp) |
//! | `reactor.listenMulticast(port, protocol, interface, maxPacketSize, listenMultiple)` | [`Reactor::listen_multicast`](crate::Reactor::listen_multicast) |
//! | `DatagramProtocol.startProtocol` / `stopProtocol` / `datagramReceived(data, addr)` / `connectionRefused` | [`DatagramProtocol`](crate::udp::DatagramProtocol)`::start_protocol` / `stop_protocol` / `datagram_received` / `connection_refused` (plus `datagram_truncated`: Twisted cuts silently) |
//! | `ConnectedDatagramProtocol.datagramReceived(data)` / `connectionFailed` | [`ConnectedDatagramProtocol`](crate::udp::ConnectedDatagramProtocol), through [`Connected`](crate::udp::Connected) |
//! | `IUDPTransport.write(packet, addr)` / `connect(host, port)` / `getHost` / `stopListening` / `setBroadcastAllowed` / `getBroadcastAllowed` | [`UdpPort`](crate::udp::UdpPort)`::write` / `connect` / `get_host` / `stop_listening` / `set_broadcast_allowed` / `get_broadcast_allowed` |
//! | `IMulticastTransport.joinGroup` / `leaveGroup` / `setTTL` / `getTTL` / `setLoopbackMode` / `getLoopbackMode` / `setOutgoingInterface` / `getOutgoingInterface` | `UdpPort::join_group` / `leave_group` / `set_ttl` / `get_ttl` / `set_loopback_mode` / `get_loopback_mode` / `set_outgoing_interface` / `get_outgoing_interface` (synchronous: `io::Result`, not a Deferred) |
//! | `error.MessageLengthError` | `UdpPort::write` fails with `InvalidInput` |
//! | `serverFromString` / `clientFromString` | [`server_from_string`](crate::endpoints::server_from_string) / [`client_from_string`](crate::endpoints::client_from_string) |
//! | `connectProtocol(endpoint, p)` | [`connect_protocol`](crate::endpoints::connect_protocol) |
//!
//! The Deferred names are mapped in [`crate::defer`]'s module docs; endpoint classes in
//! [`crate::endpoints`]'s; `twisted.mail.imap4` (`IMAP4Client`, `MessageSet`, `Query`,
//! the authenticators) in [`crate::mail::imap4`]'s; twisted.web (`Resource`, `Site`,
//! `Request`, `static.File`) in [`crate::web`]'s.
//!
//! Not (yet) here: `resolve` (connectors resolve names themselves, off the reactor thread),
//! `getThreadPool` (the pool is internal), persist events.
//!
//! # The command line
//!
//! | Twisted | torsion (the `torsion` binary, `src/bin/torsion/`) |
//! |---|---|
//! | `twist web --listen tcp:8080 --path .` | `torsion web --listen tcp:8080 --path .` (needs the web module, issue 8) |
//! | `twist portforward --port 8000 --host H --dest_port P` | `torsion portforward --listen tcp:8000 --dest tcp:H:P` (a client endpoint string, so `tls:` and `unix:` work too) |
//! | the `Echo` and chat ("Writing Servers") examples under `twistd` | `torsion echo --listen ...`, `torsion chat --listen ...` |
//! | `twist --log-level` | `--log-level` (a stderr logger behind the `log` facade) |
//! | `twistd`'s graceful stop on SIGINT / SIGTERM | the same: stop listening, `lose_connection` every connection (queued data is sent), stop when all are closed or after `--grace` |
//! | (no Twisted counterpart) | `torsion bench echo\|http\|udp`: the closed-loop load generator of the benchmark suite |
//!
//! Not here: `twistd`'s daemonizing, pid files and plugins (`twisted.plugins`): use a
//! process supervisor; subcommands are compiled in.
