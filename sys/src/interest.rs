//! [`Interest`] (what a source asks to hear about) and [`Readiness`] (what the poller reports).
//!
//! Tests: `sys/tests/conformance.rs`.

bitflags::bitflags! {
    /// What a registered source wants to be told about.
    ///
    /// Hang-up and error conditions are always reported, whatever the interest, as every
    /// backend's kernel interface does (see the [`Poller`](crate::Poller) contract for what
    /// counts as a hang-up, and the kqueue exception for an empty interest).
    ///
    /// An empty interest is allowed: the source stays registered but quiet (Twisted's
    /// `removeReader` + `removeWriter` without `removeAll`), which is how a transport pauses
    /// reading without giving up its slot.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Interest: u8 {
        /// Data (or a connection, or EOF) can be read.
        const READABLE = 0b01;
        /// Data can be written.
        const WRITABLE = 0b10;
        /// Report a change of readiness rather than a state (edge-triggered, where the
        /// backend has it): a source that stays ready without anything new arriving need
        /// not be reported again. It is a permission, not a promise: a backend may go on
        /// reporting the state (poll(2) does, and kqueue here, which leaves `EV_CLEAR` for
        /// a machine that can test it), so an owner must work either way.
        ///
        /// What the owner of an `EDGE` source must do, and what it gets:
        /// - read until a read comes back short (less than asked for), empty or
        ///   `WouldBlock`; a stream socket that gave a short read had nothing more queued
        ///   at that moment, and anything that arrives later is a new edge, reported;
        /// - when it stops reading with data still there (a full buffer, a bound on the
        ///   work per wait), [`reregister`](crate::Poller::reregister) the source with the
        ///   same interest: every backend then looks at its state again and reports it if
        ///   ready (epoll's `EPOLL_CTL_MOD` queues a ready source, even edge-triggered);
        /// - a report with `HUP` may come once: read until EOF or an error, even after a
        ///   short read;
        /// - registering, reregistering and adding an interest all report a source that is
        ///   already ready, as without `EDGE`.
        ///
        /// Why: with level triggering, epoll puts every source it reported back on its
        /// ready list and checks it again on the next wait, in the same order; a busy
        /// server then serves its connections in a fixed order rather than in the order
        /// their data arrived, which lengthens the latency tail (`BENCHMARKS.md`, TCP echo).
        const EDGE = 0b100;
    }
}

bitflags::bitflags! {
    /// What the poller reported for a source in one wait.
    ///
    /// # Portability
    ///
    /// `HUP` means the peer closed its side or both sides are shut (`EPOLLHUP`/`EPOLLRDHUP`,
    /// `POLLHUP`, kqueue's `EV_EOF`); there may still be data to read, so a reader should read
    /// until it sees EOF. `ERROR` means a pending socket error (`EPOLLERR`, `POLLERR`,
    /// `EV_ERROR`); fetch it with `SO_ERROR` or by the next read or write.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Readiness: u8 {
        /// Readable (this includes EOF and a pending connection on a listening socket).
        const READABLE = 0b0001;
        /// Writable.
        const WRITABLE = 0b0010;
        /// The peer hung up, or the read side is closed.
        const HUP = 0b0100;
        /// An error is pending on the descriptor.
        const ERROR = 0b1000;
    }
}

impl Readiness {
    /// True if a reader should try to read: readable, hung up or in error (the read will
    /// return the data, EOF or the error).
    #[inline]
    pub fn wants_read(self) -> bool {
        self.intersects(Readiness::READABLE | Readiness::HUP | Readiness::ERROR)
    }

    /// True if a writer should try to write (a pending error also shows up on write).
    #[inline]
    pub fn wants_write(self) -> bool {
        self.intersects(Readiness::WRITABLE | Readiness::ERROR)
    }
}
