//! Why the reactor looks the way it does.
//!
//! # A value, not a global
//!
//! Twisted installs one reactor per process and cannot restart it. A torsion [`Reactor`]
//! is an ordinary value: one per thread if you like, several in one test binary, and `run`
//! may be called again after `stop`. It is an `Rc` handle, so callbacks can keep a clone;
//! [`Reactor::close`] breaks the resulting cycles when a reactor is retired.
//!
//! # No borrow across user code
//!
//! All loop state sits in `RefCell`s that are borrowed only for a few lines at a time, never
//! while a callback runs: a timer's closure is taken out of the wheel before it is called, an
//! I/O handler's `Rc` is cloned out of the slab, queued closures are popped one at a time,
//! and every closure or handler the loop drops is dropped after the borrow ends (its captures
//! may run arbitrary code on drop). That is what makes "a callback may do anything to the
//! reactor" a guarantee rather than a hope, and it is tested case by case in
//! `tests/reactor_reentrancy.rs`.
//!
//! # Backends chosen at run time
//!
//! The model codebases (mio, smol-rs/polling) pick a backend at compile time, and the
//! proposal was to make the reactor generic over `P: Poller`. We hold an
//! [`AnyPoller`](torsion_sys::AnyPoller) enum instead: `Reactor` stays one concrete type
//! that transports and protocols can name without a type parameter, one test binary runs
//! every backend (`Backend::available()`), and `TORSION_POLLER=poll` forces the fallback in
//! CI without a rebuild. The cost is one predictable branch per poller call, beside a system
//! call.
//!
//! # Level-triggered by default, edge-triggered connections, and a quiet source leaves the kernel poller
//!
//! The poller contract is level-triggered, like Twisted's epoll reactor: nothing has to be
//! drained to re-arm, which keeps listening ports, UDP ports, the waker and user sources
//! simple. Connected stream sockets (TCP, Unix) ask for [`Interest::EDGE`](torsion_sys::Interest)
//! instead, because of what level triggering does to a busy server on epoll: every source
//! reported by one wait goes back on the kernel's ready list and is checked again by the
//! next, in the same order, so fifty busy connections are served in a fixed round rather
//! than in the order their data arrived; the connections whose data came just after their
//! turn wait longest. At 50 connections of ping-pong this was a p99 35 % above tokio's
//! (edge-triggered, as mio is) with the same median; edge triggering brought it level
//! (`BENCHMARKS.md`, TCP echo). A connection still reads once per report: a short read
//! means the kernel had nothing more queued (anything later is a new edge), so no second
//! read to see `EAGAIN` is needed (tokio relies on the same rule); a full read or a whole
//! send that left data queued calls [`Reactor::rearm`](crate::Reactor::rearm), and a
//! hang-up is read to its end. poll(2) and kqueue stay level-triggered, which the same
//! rules tolerate. When a source's interest becomes empty (a paused transport) the reactor
//! removes it from the kernel poller, as Twisted does when a descriptor is neither reader
//! nor writer: otherwise a hung-up descriptor nobody reads would be reported forever and
//! spin the loop; adding it back has the kernel look at its state again.
//!
//! # Generational tokens
//!
//! A source is named by slot index + generation ([`Token`](torsion_sys::Token)). Dispatch
//! looks each event's token up afresh, so a source removed earlier in the same batch, or a
//! newcomer that reused its slot, never receives a stale event (libuv's
//! `uv__platform_invalidate_fd`; mio leaves this to its users).
//!
//! # Timers: a hierarchical wheel with index lists
//!
//! tokio's wheel shape (6 levels × 64 slots of 1 ms) with the slot lists threaded through a
//! node table by index instead of intrusive pointers, so it needs no `unsafe`. Insert and
//! cancel are O(1); the next deadline comes from per-level occupancy bitmaps. Time is an
//! argument, never read inside, which is what lets the manual [`Clock`](crate::time::Clock)
//! share the code. Closures are stored inline when small
//! ([`LocalFn`](torsion_sys::LocalFn)), so scheduling allocates nothing in steady state.
//! A timer scheduled during a turn never runs in that same turn (the sequence cut-off), so
//! `call_later(0, ...)` loops cannot starve I/O; the manual clock, like Twisted's, does run
//! calls that become due during an `advance`.
//!
//! # Time is read once per phase
//!
//! The loop reads the monotonic clock at the start of a turn and after the poll returns (as
//! libuv does); `seconds()` and `call_later` inside a turn use that reading, which saves a
//! clock read per call. Outside a turn they read the clock afresh.
//!
//! # Panics
//!
//! Twisted logs an exception raised by a callback and goes on. By default torsion catches a
//! panic in a timer, pending call, trigger or I/O handler, logs it with the `log` facade, and
//! goes on; [`ReactorBuilder::catch_panics(false)`](crate::reactor::ReactorBuilder::catch_panics)
//! lets it unwind out of `run` instead. Nothing is left half-borrowed either way, by the
//! rule above.
//!
//! [`Reactor`]: crate::Reactor
//! [`Reactor::close`]: crate::Reactor::close
