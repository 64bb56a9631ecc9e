//! How a protocol reaches its transport, the reactor and other connections, and why.
//!
//! This is the design choice everything above the reactor stands on. The test it must pass
//! is Twisted's chat room: a factory holds the set of connected clients, and one client's
//! line is written to every client. It must read as plainly as the Python, and no
//! re-entrant call (a callback writing to, or closing, itself or another connection) may be
//! able to panic a `RefCell`.
//!
//! # The shape
//!
//! - A [`Protocol`](crate::protocol::Protocol) is owned by its connection and called with
//!   `&mut self`: its own fields are plain fields, no `RefCell`.
//! - Every callback receives the connection's [`Transport`](crate::transport::Transport), a
//!   cheap `Rc` handle that is `Clone + Eq + Hash`. A protocol that wants its transport later
//!   keeps a clone; a set of clients is a `HashSet<Transport>` or a map of names to
//!   transports.
//! - A [`Factory`](crate::protocol::Factory) is shared (`Rc`) and takes `&self`. State shared
//!   by all connections (the chat room's members) sits in an `Rc<RefCell<..>>` that the
//!   factory hands to each protocol it builds.
//!
//! ```
//! use std::cell::RefCell;
//! use std::collections::HashMap;
//! use std::rc::Rc;
//! use torsion::protocol::{Address, ConnectionLost, Factory, Protocol};
//! use torsion::transport::Transport;
//!
//! type Users = Rc<RefCell<HashMap<String, Transport>>>;
//!
//! struct Chat {
//!     users: Users,
//!     name: Option<String>,
//! }
//!
//! impl Protocol for Chat {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(b"What's your name?\r\n");
//!     }
//!
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         let line = String::from_utf8_lossy(data).trim().to_string();
//!         match &self.name {
//!             None => {
//!                 self.users.borrow_mut().insert(line.clone(), transport.clone());
//!                 self.name = Some(line);
//!             }
//!             Some(name) => {
//!                 // Writing to every other client while the map is borrowed is fine:
//!                 // a write only queues bytes on that transport.
//!                 for (other, t) in self.users.borrow().iter() {
//!                     if other != name {
//!                         t.write(format!("<{name}> {line}\r\n").as_bytes());
//!                     }
//!                 }
//!             }
//!         }
//!     }
//!
//!     fn connection_lost(&mut self, _: &Transport, _: ConnectionLost) {
//!         if let Some(name) = &self.name {
//!             self.users.borrow_mut().remove(name);
//!         }
//!     }
//! }
//!
//! #[derive(Default)]
//! struct ChatFactory {
//!     users: Users,
//! }
//!
//! impl Factory for ChatFactory {
//!     fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
//!         Some(Box::new(Chat { users: self.users.clone(), name: None }))
//!     }
//! }
//! ```
//!
//! (The real chat example uses `LineReceiver` for the line splitting.)
//!
//! # Why no callback can panic a `RefCell`
//!
//! Two rules, both enforced by the transports, make re-entrancy harmless:
//!
//! 1. **Transport methods never call into a protocol.** `write` only queues bytes (the
//!    flush happens in the loop's before-poll phase); `lose_connection` and
//!    `abort_connection` only change the transport's state and close the socket; the
//!    protocol's `connection_lost` is delivered later, from the loop's pending phase;
//!    producer pauses requested from inside `write` are delivered the same way.
//! 2. **The loop calls protocols only from its own top level**: I/O dispatch, the pending
//!    phase, the before-poll phase. No protocol callback is ever on the stack when another
//!    protocol callback starts.
//!
//! So while a protocol runs with its `&mut self` borrowed, nothing can reach that borrow
//! again, and the only `RefCell`s a user sees are the ones holding state shared between
//! connections, which transport calls never touch. Closing the very map you are iterating
//! over (`t.abort_connection()` inside the loop above) is fine too: the member is removed in
//! its own `connection_lost`, a later callback.
//!
//! # Alternatives we did not take
//!
//! - **Protocols as `Rc<RefCell<P>>` with a stored `self.transport`** (Twisted's shape
//!   literally): a chat room would then hold protocol objects, and writing to "every user"
//!   from inside one user's callback means borrowing that same protocol again: a runtime
//!   panic waiting to happen. Holding transports instead of protocols removes the problem.
//! - **`&self` protocols with interior mutability everywhere**: no framework borrow, but
//!   every field of every protocol becomes a `Cell` or `RefCell`, and the panics move into
//!   user code.
//! - **A context object owning all connections, addressed by id** (an ECS-like arena): no
//!   `Rc` at all, but "write to that connection" becomes a lookup through a context that has
//!   to be threaded everywhere, and a transport can no longer be kept in a plain set.
//!
//! # Panics
//!
//! A panic in a protocol callback is caught at the connection: that connection is closed
//! (`connection_lost` gets a `Lost` reason saying the protocol panicked) and every other
//! connection goes on.
