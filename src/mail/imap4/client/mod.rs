//! [`Imap4Client`]: the client protocol (Twisted's `IMAP4Client`).
//!
//! # Design
//!
//! The client is a handle (`Rc`) on its state; [`Imap4Client::protocol`] gives the
//! [`Protocol`] that the connection owns, sharing that state. Commands are methods of
//! the handle and return Deferreds, so they can be called from anywhere: from an `async`
//! block awaiting them, from a callback of another command, before the connection is
//! even made.
//!
//! * **Queue and tags.** A command gets a unique tag (`A0001`, `A0002` ...) and waits in a
//!   queue; one command is on the wire at a time (as in Twisted), the next goes as soon as
//!   the previous one's tagged response has arrived, so commands issued together are
//!   pipelined through the queue without a round trip of the caller's own.
//! * **Routing.** Each command names the untagged responses it collects (`SELECT`:
//!   `FLAGS`, `EXISTS`, `RECENT`, `OK` codes; `FETCH`: `FETCH` ...). Anything else is
//!   unsolicited and goes to the [`Imap4Hooks`]: `EXISTS` / `RECENT` to
//!   [`new_messages`](Imap4Hooks::new_messages), `EXPUNGE` to
//!   [`expunged`](Imap4Hooks::expunged), `FETCH ... FLAGS` to
//!   [`flags_changed`](Imap4Hooks::flags_changed), `FLAGS` to
//!   [`mailbox_flags`](Imap4Hooks::mailbox_flags), `[READ-ONLY]` / `[READ-WRITE]` to
//!   [`mode_changed`](Imap4Hooks::mode_changed). `CAPABILITY` (as a response or a code)
//!   always refreshes the cached capabilities.
//! * **Compound commands.** `login` (CAPABILITY, maybe STARTTLS, LOGIN), `authenticate`
//!   and the commands that need a capability first are `async` blocks; while one runs,
//!   commands issued by the user are held and queued after it, so `login(..)` followed at
//!   once by `select(..)` selects after logging in.
//! * **Re-entrancy.** No borrow of the state is held while user code runs: Deferreds are
//!   fired and hooks called after the state is released, one response at a time, so a
//!   callback may issue commands.
//! * **Errors.** `NO` / `BAD` fail the command with [`Imap4Error::No`] / [`Imap4Error::Bad`].
//!   Bytes that do not parse, or a tagged response nobody waits for, fail the running and
//!   queued commands with the reason and close the connection; a lost connection fails
//!   them with [`Imap4Error::ConnectionLost`] (a `LOGOUT` then succeeds).

mod commands;
mod dispatch;
pub(crate) mod error;
pub(crate) mod results;
pub(crate) mod wire;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use crate::defer::{Deferred, Failure};
use crate::mail::imap4::auth::Authenticator;
use crate::mail::imap4::parser::{Limits, ResponseParser, Untagged};
use crate::mail::imap4::types::Flag;
use crate::protocol::{ConnectionLost, Protocol};
use crate::transport::Transport;

pub use commands::PerMessage;
pub use error::Imap4Error;
pub use results::{
    AppendUid, Completed, CopyUid, FetchData, ListEntry, MailboxInfo, MoveResult, Namespace,
    Namespaces,
};
use wire::{Chunk, CommandLine};

/// What the server tells without being asked (Twisted's `IMAP4Client` hooks
/// `serverGreeting`, `newMessages`, `flagsChanged`, `modeChanged`). Every method has an
/// empty default; they are called with no client state borrowed, so they may issue
/// commands.
pub trait Imap4Hooks {
    /// The greeting arrived, with the capabilities it announced (maybe none).
    fn server_greeting(&self, capabilities: &[String]) {
        let _ = capabilities;
    }
    /// Unsolicited `EXISTS` (`exists`) or `RECENT` (`recent`).
    fn new_messages(&self, exists: Option<u32>, recent: Option<u32>) {
        let _ = (exists, recent);
    }
    /// Unsolicited `EXPUNGE` of message `seq`.
    fn expunged(&self, seq: u32) {
        let _ = seq;
    }
    /// Unsolicited `FETCH` with `FLAGS`: message number to its flags.
    fn flags_changed(&self, flags: &BTreeMap<u32, Vec<Flag>>) {
        let _ = flags;
    }
    /// Unsolicited `FLAGS`: the flags defined in the mailbox changed.
    fn mailbox_flags(&self, flags: &[Flag]) {
        let _ = flags;
    }
    /// Unsolicited `[READ-ONLY]` (`false`) or `[READ-WRITE]` (`true`).
    fn mode_changed(&self, writeable: bool) {
        let _ = writeable;
    }
}

/// What the connection is doing.
#[derive(Debug)]
enum Phase {
    /// Waiting for the connection or the greeting.
    Connecting,
    /// Greeted: commands may go.
    Ready,
    /// Closed, with the reason given to later commands.
    Closed(Imap4Error),
}

/// What a command does beyond text in, responses out.
pub(crate) enum Special {
    None,
    Logout,
    #[cfg(feature = "tls")]
    StartTls(crate::tls::TlsClientConfig),
    Authenticate(Box<dyn Authenticator>),
    Idle(Rc<RefCell<IdleState>>),
}

/// The two Deferreds of an `IDLE`.
#[derive(Default)]
pub(crate) struct IdleState {
    started: Option<Deferred<()>>,
    finished: Option<Deferred<()>>,
    continued: bool,
    done_requested: bool,
    outcome: Option<Result<(), Imap4Error>>,
}

type Finish = Box<dyn FnOnce(Result<Completed, Imap4Error>)>;

/// A command not yet sent.
pub(crate) struct Pending {
    line: CommandLine,
    claims: &'static [&'static str],
    special: Special,
    finish: Finish,
}

/// The command on the wire.
struct Running {
    tag: String,
    /// What is left to send: a literal first, after the server's `+`.
    rest: VecDeque<Chunk>,
    collected: Vec<Untagged>,
    claims: &'static [&'static str],
    special: Special,
    finish: Finish,
}

pub(crate) struct Inner {
    transport: Option<Transport>,
    parser: ResponseParser,
    phase: Phase,
    next_tag: u64,
    queue: VecDeque<Pending>,
    held: VecDeque<Pending>,
    compounds: usize,
    running: Option<Running>,
    capabilities: Option<Vec<String>>,
    greeting: Vec<Deferred<Vec<String>>>,
    greeted: Option<Vec<String>>,
    hooks: Option<Rc<dyn Imap4Hooks>>,
    bye: Option<String>,
    idle: Option<Rc<RefCell<IdleState>>>,
    timeout: Option<std::time::Duration>,
    time: Option<Rc<dyn crate::time::ReactorTime>>,
    timer: Option<crate::time::DelayedCall>,
    #[cfg(feature = "tls")]
    tls_config: Option<crate::tls::TlsClientConfig>,
}

/// An IMAP4rev1 client (Twisted's `twisted.mail.imap4.IMAP4Client`): every command
/// returns a [`Deferred`] (awaitable); see the [module docs](self) for the design.
///
/// # Examples
///
/// Against a scripted server, through the testing kit:
///
/// ```
/// use torsion::mail::imap4::Imap4Client;
/// use torsion::testing::Driver;
///
/// let client = Imap4Client::new();
/// let server = Driver::new(client.protocol());
/// server.data_received(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
/// let login = client.login("alice", "secret");
/// assert_eq!(server.take_written(), b"A0001 LOGIN \"alice\" \"secret\"\r\n");
/// server.data_received(b"A0001 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
/// assert!(login.take_result().unwrap().is_ok());
/// assert!(client.cached_capabilities().unwrap().contains(&"IDLE".to_string()));
/// ```
#[derive(Clone)]
pub struct Imap4Client {
    inner: Rc<RefCell<Inner>>,
    /// A handle of a compound command: its commands skip the hold.
    internal: bool,
}

impl fmt::Debug for Imap4Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Imap4Client")
            .field("phase", &inner.phase)
            .field("queued", &inner.queue.len())
            .field("running", &inner.running.as_ref().map(|r| r.tag.clone()))
            .finish()
    }
}

impl Default for Imap4Client {
    fn default() -> Imap4Client {
        Imap4Client::new()
    }
}

impl Imap4Client {
    /// A client with the default parser [`Limits`].
    pub fn new() -> Imap4Client {
        Imap4Client::with_limits(Limits::default())
    }

    /// A client whose parser has `limits`.
    pub fn with_limits(limits: Limits) -> Imap4Client {
        Imap4Client {
            inner: Rc::new(RefCell::new(Inner {
                transport: None,
                parser: ResponseParser::with_limits(limits),
                phase: Phase::Connecting,
                next_tag: 1,
                queue: VecDeque::new(),
                held: VecDeque::new(),
                compounds: 0,
                running: None,
                capabilities: None,
                greeting: Vec::new(),
                greeted: None,
                hooks: None,
                bye: None,
                idle: None,
                timeout: None,
                time: None,
                timer: None,
                #[cfg(feature = "tls")]
                tls_config: None,
            })),
            internal: false,
        }
    }

    /// A handle whose commands are part of a compound (not held behind it).
    pub(crate) fn internal(&self) -> Imap4Client {
        Imap4Client {
            inner: self.inner.clone(),
            internal: true,
        }
    }

    /// The protocol to connect (`connect_protocol(&endpoint, client.protocol())`). One
    /// client serves one connection: connect only one of these.
    pub fn protocol(&self) -> ClientProtocol {
        ClientProtocol {
            client: self.clone(),
        }
    }

    /// Sets the hooks for unsolicited responses.
    pub fn set_hooks(&self, hooks: Rc<dyn Imap4Hooks>) {
        self.inner.borrow_mut().hooks = Some(hooks);
    }

    /// The TLS configuration [`login`](Imap4Client::login) uses to upgrade with STARTTLS
    /// when the server offers it (Twisted's `IMAP4Client(contextFactory)`). Without one,
    /// `login` never upgrades.
    #[cfg(feature = "tls")]
    pub fn set_tls_config(&self, config: Option<crate::tls::TlsClientConfig>) {
        self.inner.borrow_mut().tls_config = config;
    }

    /// Fails every pending command with [`Imap4Error::TimedOut`] and closes the connection
    /// when a command has waited `timeout` without a byte from the server (Twisted's
    /// `IMAP4Client.timeout`, a `TimeoutMixin`); `None` (the default) waits forever. Not
    /// while idling: an `IDLE` waits for news as long as it takes. The clock is the
    /// connection's reactor, or the one given to [`set_time`](Imap4Client::set_time).
    pub fn set_timeout(&self, timeout: Option<std::time::Duration>) {
        self.inner.borrow_mut().timeout = timeout;
        self.rearm();
    }

    /// The clock for [`set_timeout`](Imap4Client::set_timeout) (tests: a
    /// [`Clock`](crate::time::Clock)); by default the connection's reactor.
    pub fn set_time(&self, time: Rc<dyn crate::time::ReactorTime>) {
        self.inner.borrow_mut().time = Some(time);
    }

    /// Restarts the timeout: armed while a command waits for the server (not idling).
    pub(crate) fn rearm(&self) {
        let (old, new) = {
            let mut inner = self.inner.borrow_mut();
            let old = inner.timer.take();
            let waiting = inner.running.as_ref().is_some_and(|r| match &r.special {
                Special::Idle(state) => {
                    let state = state.borrow();
                    !state.continued || state.done_requested
                }
                _ => true,
            });
            let time = match (&inner.time, &inner.transport) {
                (Some(t), _) => Some(t.clone()),
                (None, Some(t)) => t
                    .reactor()
                    .map(|r| Rc::new(r) as Rc<dyn crate::time::ReactorTime>),
                (None, None) => None,
            };
            let new = match (inner.timeout, time) {
                (Some(timeout), Some(time)) if waiting && matches!(inner.phase, Phase::Ready) => {
                    Some((timeout, time))
                }
                _ => None,
            };
            (old, new)
        };
        if let Some(old) = old {
            let _ = old.cancel();
        }
        if let Some((timeout, time)) = new {
            let weak = Rc::downgrade(&self.inner);
            let call = time.call_later_fn(
                timeout,
                crate::time::LocalFn::new(move || {
                    let Some(inner) = weak.upgrade() else {
                        return;
                    };
                    let client = Imap4Client {
                        inner,
                        internal: false,
                    };
                    client.inner.borrow_mut().timer = None;
                    if let Some(t) = client.transport() {
                        client.fatal(&t, Imap4Error::TimedOut(timeout));
                    }
                }),
            );
            self.inner.borrow_mut().timer = Some(call);
        }
    }

    /// Fires with the greeting's capabilities (empty if it announced none) once the
    /// greeting has arrived; fails if the connection ends first.
    pub fn when_greeted(&self) -> Deferred<Vec<String>> {
        let mut inner = self.inner.borrow_mut();
        if let Some(caps) = &inner.greeted {
            return crate::defer::succeed(caps.clone());
        }
        if let Phase::Closed(e) = &inner.phase {
            return crate::defer::fail(e.clone());
        }
        let d = Deferred::new();
        inner.greeting.push(d.clone());
        d
    }

    /// Whether the greeting has arrived.
    pub fn is_greeted(&self) -> bool {
        self.inner.borrow().greeted.is_some()
    }

    /// The capabilities last announced (upper-cased), without asking.
    pub fn cached_capabilities(&self) -> Option<Vec<String>> {
        self.inner.borrow().capabilities.clone()
    }

    /// Whether the last announced capabilities include `name` (any case).
    pub fn has_capability(&self, name: &str) -> bool {
        self.inner
            .borrow()
            .capabilities
            .as_ref()
            .is_some_and(|c| c.iter().any(|x| x.eq_ignore_ascii_case(name)))
    }

    /// The transport, once connected.
    pub fn transport(&self) -> Option<Transport> {
        self.inner.borrow().transport.clone()
    }

    /// Whether the connection runs over TLS (an `ssl:` / `tls:` endpoint or STARTTLS).
    pub fn is_secure(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(t) = self.transport() {
            return crate::tls::tls_of(&t).is_some();
        }
        false
    }

    /// Queues a command; its Deferred fires with what it collected.
    pub(crate) fn submit(
        &self,
        line: CommandLine,
        claims: &'static [&'static str],
        special: Special,
    ) -> Deferred<Completed> {
        let d: Deferred<Completed> = Deferred::new();
        let fire = d.clone();
        self.enqueue(Pending {
            line,
            claims,
            special,
            finish: Box::new(move |r| {
                let _ = fire.fire(r.map_err(Failure::new));
            }),
        });
        d
    }

    /// Queues a command (held behind a running compound unless `self` is internal), or
    /// fails it at once if the connection is closed.
    pub(crate) fn enqueue(&self, pending: Pending) {
        let refused = {
            let mut inner = self.inner.borrow_mut();
            if let Phase::Closed(e) = &inner.phase {
                Some((e.clone(), pending))
            } else {
                if inner.compounds > 0 && !self.internal {
                    inner.held.push_back(pending);
                } else {
                    inner.queue.push_back(pending);
                }
                None
            }
        };
        if let Some((e, pending)) = refused {
            (pending.finish)(Err(e));
            return;
        }
        self.pump();
    }

    /// Sends the next queued command if none is running.
    pub(crate) fn pump(&self) {
        let mut guard = self.inner.borrow_mut();
        let inner = &mut *guard;
        if inner.running.is_some() || !matches!(inner.phase, Phase::Ready) {
            return;
        }
        let (Some(transport), Some(p)) = (inner.transport.clone(), inner.queue.pop_front()) else {
            return;
        };
        let tag = format!("A{:04}", inner.next_tag);
        inner.next_tag += 1;
        let mut rest: VecDeque<Chunk> = p.line.chunks.into();
        let mut out = format!("{tag} ").into_bytes();
        send_until_literal(&mut out, &mut rest);
        transport.write(&out);
        inner.running = Some(Running {
            tag,
            rest,
            collected: Vec::new(),
            claims: p.claims,
            special: p.special,
            finish: p.finish,
        });
        drop(guard);
        self.rearm();
    }

    /// Runs `future` as a compound command: user commands issued meanwhile wait for it.
    pub(crate) fn compound<T: 'static>(
        &self,
        future: impl std::future::Future<Output = Result<T, Failure>> + 'static,
    ) -> Deferred<T> {
        self.inner.borrow_mut().compounds += 1;
        let guard = CompoundGuard {
            client: self.clone(),
        };
        Deferred::from_future(async move {
            let _guard = guard;
            future.await
        })
    }
}

/// Ends a compound (also when its future is dropped): releases the held commands.
struct CompoundGuard {
    client: Imap4Client,
}

impl Drop for CompoundGuard {
    fn drop(&mut self) {
        {
            let mut inner = self.client.inner.borrow_mut();
            inner.compounds -= 1;
            if inner.compounds == 0 {
                let held = std::mem::take(&mut inner.held);
                inner.queue.extend(held);
            }
        }
        self.client.pump();
    }
}

/// Moves text chunks into `out` up to the next literal (announced, so followed by CRLF
/// and a wait for `+`) or the end (CRLF).
fn send_until_literal(out: &mut Vec<u8>, rest: &mut VecDeque<Chunk>) {
    while let Some(Chunk::Text(t)) = rest.front() {
        out.extend_from_slice(t);
        rest.pop_front();
    }
    out.extend_from_slice(b"\r\n");
}

/// The [`Protocol`] of an [`Imap4Client`] (from [`Imap4Client::protocol`]).
pub struct ClientProtocol {
    client: Imap4Client,
}

impl fmt::Debug for ClientProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientProtocol")
            .field("client", &self.client)
            .finish()
    }
}

impl Protocol for ClientProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        self.client.inner.borrow_mut().transport = Some(transport.clone());
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.client.data_received(transport, data);
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: ConnectionLost) {
        self.client.connection_lost(reason);
    }
}
