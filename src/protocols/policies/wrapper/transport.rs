//! [`WrapperTransport`]: the transport a wrapped protocol sees, forwarding to the real one
//! through its [`Policy`], with read and write holds a policy can put on.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::io;
use std::rc::{Rc, Weak};

use super::{Policy, Registry};
use crate::protocol::Address;
use crate::transport::{
    Producer, ProducerError, PullProducer, PushProducer, Transport, TransportCore,
};
use crate::Reactor;

/// Who wants reading paused, and where a registered producer is.
#[derive(Default)]
struct Flow {
    /// The wrapped protocol paused its transport.
    protocol_paused: bool,
    /// The policy holds reads ([`WrapperTransport::hold_reads`]).
    reads_held: bool,
    /// What the real transport was last told.
    lower_paused: bool,
    /// The policy holds writes ([`WrapperTransport::hold_writes`]).
    writes_held: bool,
    /// The wrapped protocol's producer, as registered with the real transport.
    producer: Option<Rc<ProducerProxy>>,
}

/// The transport a wrapped protocol sees (the transport half of Twisted's
/// `ProtocolWrapper`), shared as an `Rc`: `transport.downcast::<WrapperTransport<P>>()`
/// leads here from the wrapped protocol's [`Transport`].
///
/// Writes and `lose_connection` go through the [`Policy`]'s hooks to the real transport;
/// everything else is forwarded as is, except for two pieces of flow control that let a
/// policy slow a connection down without fighting the wrapped protocol:
///
/// - **Reading** is paused on the real transport while the wrapped protocol paused it *or*
///   the policy [holds reads](WrapperTransport::hold_reads), and resumed only when neither
///   does.
/// - **A registered producer** is registered with the real transport through a proxy: a
///   push producer is paused while the real transport's buffer is full *or* the policy
///   [holds writes](WrapperTransport::hold_writes); a pull producer's requests for more are
///   kept back while writes are held and made when they are released.
///
/// So the producer the real transport reports (`StringTransport::producer`, say) is that
/// proxy, not the wrapped protocol's own.
///
/// Before the connection is made (a wrapper built and not yet connected), writes are
/// ignored, `is_connected` is false and `get_peer` tells the address the connection was
/// built for.
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Address, Protocol};
/// use torsion::protocols::policies::{Plain, WrapperTransport, WrappingFactory};
/// use torsion::testing::{Driver, ProducerState};
/// use torsion::transport::Transport;
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let factory = WrappingFactory::new(for_protocol(|| Quiet));
/// let d = Driver::new(factory.build_wrapper(&Address::Memory("peer".into())).unwrap());
/// let wrapper = d.with_protocol(|w| w.wrapper().clone());
/// let seen_by_protocol = wrapper.transport();
/// assert!(seen_by_protocol.downcast::<WrapperTransport<Plain>>().is_some());
///
/// // The protocol pauses, the policy holds: reading resumes once both let go.
/// seen_by_protocol.pause_producing();
/// wrapper.hold_reads(true);
/// seen_by_protocol.resume_producing();
/// assert_eq!(d.transport().producer_state(), ProducerState::Paused);
/// wrapper.hold_reads(false);
/// assert_eq!(d.transport().producer_state(), ProducerState::Producing);
/// ```
pub struct WrapperTransport<P: Policy> {
    me: Weak<WrapperTransport<P>>,
    policy: Rc<P>,
    state: P::Conn,
    address: Address,
    lower: OnceCell<Transport>,
    registry: Weak<RefCell<Registry<P>>>,
    id: Cell<Option<u64>>,
    finished: Cell<bool>,
    flow: RefCell<Flow>,
}

impl<P: Policy> WrapperTransport<P> {
    pub(super) fn new(
        policy: Rc<P>,
        state: P::Conn,
        address: Address,
        registry: Weak<RefCell<Registry<P>>>,
    ) -> Rc<WrapperTransport<P>> {
        Rc::new_cyclic(|me| WrapperTransport {
            me: me.clone(),
            policy,
            state,
            address,
            lower: OnceCell::new(),
            registry,
            id: Cell::new(None),
            finished: Cell::new(false),
            flow: RefCell::new(Flow::default()),
        })
    }

    /// The connection is made over `lower`: remember it and join the factory's live set.
    pub(super) fn connect(&self, lower: &Transport) {
        if self.lower.set(lower.clone()).is_err() || self.finished.get() {
            return;
        }
        if let (Some(registry), Some(me)) = (self.registry.upgrade(), self.me.upgrade()) {
            let id = registry.borrow_mut().insert(me);
            self.id.set(Some(id));
        }
        // Holds put on before the connection was made apply now.
        self.sync_reads();
    }

    /// The connection is over: leave the live set and release the policy's state (once).
    pub(super) fn finish(&self) {
        if self.finished.replace(true) {
            return;
        }
        let removed = match (self.id.take(), self.registry.upgrade()) {
            (Some(id), Some(registry)) => registry.borrow_mut().remove(id),
            _ => None,
        };
        drop(removed);
        self.policy.release(&self.state);
    }

    /// This connection's state, as the policy's [`admit`](Policy::admit) made it.
    pub fn state(&self) -> &P::Conn {
        &self.state
    }

    /// The policy (shared by all the factory's connections).
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The address the connection was built for (the `addr` of `build_protocol`).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The real transport, once the connection is made.
    pub fn lower(&self) -> Option<&Transport> {
        self.lower.get()
    }

    /// A weak handle on this wrapper, for a policy's timers (they should not keep a
    /// connection alive).
    pub fn downgrade(&self) -> Weak<WrapperTransport<P>> {
        self.me.clone()
    }

    /// The [`Transport`] handle the wrapped protocol gets (handles from repeated calls are
    /// equal).
    pub fn transport(&self) -> Transport {
        Transport::new(
            self.me
                .upgrade()
                .expect("a WrapperTransport lives in an Rc"),
        )
    }

    /// Holds reading on the real transport (`true`) or lets it go (`false`), whatever the
    /// wrapped protocol asks: reading runs only when neither holds it. Throttling uses this.
    pub fn hold_reads(&self, on: bool) {
        self.flow.borrow_mut().reads_held = on;
        self.sync_reads();
    }

    /// True while the policy holds reads.
    pub fn reads_held(&self) -> bool {
        self.flow.borrow().reads_held
    }

    /// Holds the wrapped protocol's producer (`true`) or lets it go (`false`): a push
    /// producer is paused now, and resumed on release unless the real transport's buffer
    /// still wants it paused; a pull producer's requests are kept back, and one kept back is
    /// made on release. A producer registered while writes are held is paused at the next
    /// `hold_writes(true)` (as in Twisted, where throttling pauses the producers registered
    /// when it decides).
    ///
    /// This calls the producer at once, so call it from the top of the loop (a timer), not
    /// from inside a protocol callback that the producer may belong to.
    pub fn hold_writes(&self, on: bool) {
        let producer = {
            let mut flow = self.flow.borrow_mut();
            flow.writes_held = on;
            flow.producer.clone()
        };
        if let Some(producer) = producer {
            producer.set_held(on);
        }
    }

    /// True while the policy holds writes.
    pub fn writes_held(&self) -> bool {
        self.flow.borrow().writes_held
    }

    /// Tells the real transport to pause or resume reading if what is wanted changed.
    fn sync_reads(&self) {
        let Some(lower) = self.lower.get() else {
            return;
        };
        let change = {
            let mut flow = self.flow.borrow_mut();
            let want = flow.protocol_paused || flow.reads_held;
            (want != flow.lower_paused).then(|| {
                flow.lower_paused = want;
                want
            })
        };
        match change {
            Some(true) => lower.pause_producing(),
            Some(false) => lower.resume_producing(),
            None => {}
        }
    }
}

impl<P: Policy> TransportCore for WrapperTransport<P> {
    fn write(&self, data: &[u8]) {
        if let Some(lower) = self.lower.get() {
            self.policy.write(self, lower, data);
        }
    }

    fn write_sequence(&self, data: &[&[u8]]) {
        if let Some(lower) = self.lower.get() {
            self.policy.write_sequence(self, lower, data);
        }
    }

    fn lose_connection(&self) {
        if let Some(lower) = self.lower.get() {
            self.policy.lose_connection(self, lower);
        }
    }

    fn abort_connection(&self) {
        if let Some(lower) = self.lower.get() {
            lower.abort_connection();
        }
    }

    fn lose_write_connection(&self) {
        if let Some(lower) = self.lower.get() {
            lower.lose_write_connection();
        }
    }

    fn get_peer(&self) -> Address {
        match self.lower.get() {
            Some(lower) => lower.get_peer(),
            None => self.address.clone(),
        }
    }

    fn get_host(&self) -> Address {
        match self.lower.get() {
            Some(lower) => lower.get_host(),
            None => Address::Memory("unconnected".into()),
        }
    }

    fn pause_producing(&self) {
        self.flow.borrow_mut().protocol_paused = true;
        self.sync_reads();
    }

    fn resume_producing(&self) {
        self.flow.borrow_mut().protocol_paused = false;
        self.sync_reads();
    }

    fn register_producer(&self, producer: Producer) -> Result<(), ProducerError> {
        let Some(lower) = self.lower.get() else {
            return Err(ProducerError::Closed);
        };
        let held = {
            let flow = self.flow.borrow();
            if flow.producer.is_some() {
                return Err(ProducerError::AlreadyRegistered);
            }
            flow.writes_held
        };
        let proxy = Rc::new(ProducerProxy {
            inner: producer,
            lower_paused: Cell::new(false),
            held: Cell::new(held),
            told_paused: Cell::new(false),
            owed_resume: Cell::new(false),
        });
        let registered = match &proxy.inner {
            Producer::Push(_) => Producer::Push(proxy.clone()),
            Producer::Pull(_) => Producer::Pull(proxy.clone()),
        };
        lower.register_producer(registered)?;
        self.flow.borrow_mut().producer = Some(proxy);
        Ok(())
    }

    fn unregister_producer(&self) {
        let proxy = self.flow.borrow_mut().producer.take();
        if proxy.is_some() {
            if let Some(lower) = self.lower.get() {
                lower.unregister_producer();
            }
        }
    }

    fn set_write_watermarks(&self, high: usize, low: usize) {
        if let Some(lower) = self.lower.get() {
            lower.set_write_watermarks(high, low);
        }
    }

    fn write_buffer_len(&self) -> usize {
        self.lower.get().map_or(0, Transport::write_buffer_len)
    }

    fn is_disconnecting(&self) -> bool {
        self.lower.get().is_some_and(Transport::is_disconnecting)
    }

    fn is_connected(&self) -> bool {
        self.lower.get().is_some_and(Transport::is_connected)
    }

    fn set_tcp_no_delay(&self, on: bool) -> io::Result<()> {
        match self.lower.get() {
            Some(lower) => lower.set_tcp_no_delay(on),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn set_tcp_keep_alive(&self, on: bool) -> io::Result<()> {
        match self.lower.get() {
            Some(lower) => lower.set_tcp_keep_alive(on),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn reactor(&self) -> Option<Reactor> {
        self.lower.get().and_then(Transport::reactor)
    }
}

impl<P: Policy> fmt::Debug for WrapperTransport<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flow = self.flow.borrow();
        f.debug_struct("WrapperTransport")
            .field("address", &self.address)
            .field("connected", &self.lower.get().is_some())
            .field("finished", &self.finished.get())
            .field("reads_held", &flow.reads_held)
            .field("writes_held", &flow.writes_held)
            .field("producer", &flow.producer.as_ref().map(|p| &p.inner))
            .finish()
    }
}

/// The wrapped protocol's producer as the real transport sees it: pauses from the real
/// transport and holds from the policy are combined, and the producer hears only changes.
struct ProducerProxy {
    inner: Producer,
    /// The real transport asked a push producer to pause.
    lower_paused: Cell<bool>,
    /// The policy holds writes.
    held: Cell<bool>,
    /// What the push producer was last told.
    told_paused: Cell<bool>,
    /// A pull producer's request for more, kept back while held.
    owed_resume: Cell<bool>,
}

impl ProducerProxy {
    /// Tells a push producer to pause or resume if what is wanted changed.
    fn sync(&self) {
        let Producer::Push(p) = &self.inner else {
            return;
        };
        let want = self.lower_paused.get() || self.held.get();
        if want != self.told_paused.replace(want) {
            if want {
                p.pause_producing();
            } else {
                p.resume_producing();
            }
        }
    }

    fn set_held(&self, on: bool) {
        self.held.set(on);
        match &self.inner {
            Producer::Push(_) => self.sync(),
            Producer::Pull(p) => {
                if !on && self.owed_resume.replace(false) {
                    p.resume_producing();
                }
            }
        }
    }
}

impl PushProducer for ProducerProxy {
    fn pause_producing(&self) {
        self.lower_paused.set(true);
        self.sync();
    }

    fn resume_producing(&self) {
        self.lower_paused.set(false);
        self.sync();
    }

    fn stop_producing(&self) {
        self.inner.stop_producing();
    }
}

impl PullProducer for ProducerProxy {
    fn resume_producing(&self) {
        if self.held.get() {
            self.owed_resume.set(true);
        } else if let Producer::Pull(p) = &self.inner {
            p.resume_producing();
        }
    }

    fn stop_producing(&self) {
        self.inner.stop_producing();
    }
}
