//! The kqueue backend's logic in plain Rust: which kevent changes an interest change needs,
//! what a received kevent means, and the per-descriptor bookkeeping. Nothing here calls
//! the kernel, so it compiles and is tested on every platform; the BSD-only shim in
//! `kqueue/mod.rs` only converts these types to and from `struct kevent`.
//!
//! Tests: `kqueue/tests.rs`.

use std::io;
use std::os::fd::RawFd;

use rustix::io::Errno;

use crate::{Event, Events, Interest, Readiness, Token};

/// A kqueue filter this backend uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    /// `EVFILT_READ`.
    Read,
    /// `EVFILT_WRITE`.
    Write,
}

/// What a change does to a filter (the `EV_*` action flag it carries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `EV_ADD`: create the knote, enabled.
    Add,
    /// `EV_ENABLE`: report a disabled knote again.
    Enable,
    /// `EV_DISABLE`: keep the knote but report nothing for it.
    Disable,
    /// `EV_DELETE`: remove the knote.
    Delete,
}

/// One entry of a kevent change list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// The descriptor (`ident`).
    pub fd: RawFd,
    /// The filter.
    pub filter: Filter,
    /// What to do to it.
    pub action: Action,
}

/// The changes for one operation: at most one per filter, so at most two. No allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changes {
    list: [Option<Change>; 2],
}

impl Changes {
    /// No changes.
    pub const NONE: Changes = Changes { list: [None, None] };

    /// The changes, read filter first.
    pub fn iter(&self) -> impl Iterator<Item = Change> + '_ {
        self.list.iter().flatten().copied()
    }

    /// How many changes there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if the operation needs no kernel call.
    pub fn is_empty(&self) -> bool {
        self.list == [None, None]
    }
}

/// The state of one filter of one descriptor in the kernel, as far as we know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FilterState {
    /// No knote.
    #[default]
    Absent,
    /// A knote that reports.
    Enabled,
    /// A knote that is kept but reports nothing.
    Disabled,
}

/// The kernel state of both filters of a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Filters {
    /// `EVFILT_READ`.
    pub read: FilterState,
    /// `EVFILT_WRITE`.
    pub write: FilterState,
}

impl Filters {
    /// The state of `filter`.
    pub fn get(&self, filter: Filter) -> FilterState {
        match filter {
            Filter::Read => self.read,
            Filter::Write => self.write,
        }
    }

    /// Records that `change` was applied by the kernel.
    pub fn apply(&mut self, change: Change) {
        let state = match change.action {
            Action::Add | Action::Enable => FilterState::Enabled,
            Action::Disable => FilterState::Disabled,
            Action::Delete => FilterState::Absent,
        };
        match change.filter {
            Filter::Read => self.read = state,
            Filter::Write => self.write = state,
        }
    }

    /// The interest these filters report.
    pub fn reporting(&self) -> Interest {
        let mut i = Interest::empty();
        if self.read == FilterState::Enabled {
            i |= Interest::READABLE;
        }
        if self.write == FilterState::Enabled {
            i |= Interest::WRITABLE;
        }
        i
    }
}

/// The changes that take `fd` from `current` to reporting exactly `want`, or, for `None`,
/// to having no knotes at all (deregistration).
///
/// Turning a filter off disables its knote rather than deleting it, and turning it back on
/// enables it, so a transport that pauses and resumes reading does not free and reallocate
/// a knote each time. Deregistration deletes whatever exists, disabled or not.
pub fn changes_for(fd: RawFd, current: Filters, want: Option<Interest>) -> Changes {
    let mut out = Changes::NONE;
    for (slot, filter, bit) in [
        (0, Filter::Read, Interest::READABLE),
        (1, Filter::Write, Interest::WRITABLE),
    ] {
        let state = current.get(filter);
        let action = match want {
            None => (state != FilterState::Absent).then_some(Action::Delete),
            Some(w) => match (w.contains(bit), state) {
                (true, FilterState::Absent) => Some(Action::Add),
                (true, FilterState::Disabled) => Some(Action::Enable),
                (false, FilterState::Enabled) => Some(Action::Disable),
                _ => None,
            },
        };
        out.list[slot] = action.map(|action| Change { fd, filter, action });
    }
    out
}

/// A kevent as the kernel returned it, in portable form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// `ident`: the descriptor.
    pub ident: usize,
    /// `filter`, or `None` for a filter this backend never registers.
    pub filter: Option<Filter>,
    /// `EV_EOF` is set in `flags`.
    pub eof: bool,
    /// `EV_ERROR` is set in `flags` (`data` holds the errno).
    pub error: bool,
    /// `data`: bytes readable or writable, or an errno with `EV_ERROR`.
    pub data: i64,
    /// `fflags`: with `EV_EOF` on a socket, its pending error (`so_error`), else 0.
    pub fflags: u32,
}

/// What a received kevent reports.
///
/// `EVFILT_READ` → `READABLE`, `EVFILT_WRITE` → `WRITABLE`; `EV_EOF` (the read side closed
/// for the read filter, the peer gone for the write filter) adds `HUP`, and a non-zero
/// `fflags` with it (the socket's error) adds `ERROR`. `EV_ERROR` means the kernel could not
/// poll the descriptor: `ERROR` alone.
pub fn readiness_of(r: &Received) -> Readiness {
    if r.error {
        return Readiness::ERROR;
    }
    let mut out = match r.filter {
        Some(Filter::Read) => Readiness::READABLE,
        Some(Filter::Write) => Readiness::WRITABLE,
        None => Readiness::empty(),
    };
    if r.eof {
        out |= Readiness::HUP;
        if r.fflags != 0 {
            out |= Readiness::ERROR;
        }
    }
    out
}

/// What we know about one registered descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The token events are reported with.
    pub token: Token,
    /// The interest asked for.
    pub interest: Interest,
    /// The knotes the kernel holds for it.
    pub filters: Filters,
    /// `(wait epoch, index in Events)` of this descriptor's event in the current wait, to
    /// merge its read and write kevents into one event.
    mark: (u64, usize),
}

/// The per-descriptor bookkeeping of a kqueue poller: a table indexed by descriptor number.
///
/// Events are mapped back to tokens through this table (by `ident`), not through `udata`:
/// `udata` is pointer-sized and cannot carry a 64-bit [`Token`] on 32-bit BSDs.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<Option<Entry>>,
    /// Incremented once per wait; never wraps in practice.
    epoch: u64,
    len: usize,
}

/// Does nothing with `e` if it only says the knote or descriptor is already gone.
fn ignore_gone(e: io::Error) -> Option<io::Error> {
    match Errno::from_io_error(&e) {
        Some(Errno::NOENT) | Some(Errno::BADF) => None,
        _ => Some(e),
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Number of registered descriptors.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry for `fd`, if registered.
    pub fn get(&self, fd: RawFd) -> Option<&Entry> {
        let i = usize::try_from(fd).ok()?;
        self.entries.get(i)?.as_ref()
    }

    fn get_mut(&mut self, fd: RawFd) -> Option<&mut Entry> {
        let i = usize::try_from(fd).ok()?;
        self.entries.get_mut(i)?.as_mut()
    }

    /// Registers `fd`, calling `apply` for each kernel change in order.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if `fd` is registered; otherwise the first error `apply` returns, in
    /// which case the changes already applied are undone (best effort) and `fd` stays
    /// unregistered.
    pub fn register(
        &mut self,
        fd: RawFd,
        token: Token,
        interest: Interest,
        mut apply: impl FnMut(Change) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.get(fd).is_some() {
            return Err(Errno::EXIST.into());
        }
        let slot = usize::try_from(fd).map_err(|_| io::Error::from(Errno::BADF))?;
        let mut filters = Filters::default();
        for change in changes_for(fd, filters, Some(interest)).iter() {
            if let Err(e) = apply(change) {
                for undo in changes_for(fd, filters, None).iter() {
                    let _ = apply(undo);
                }
                return Err(e);
            }
            filters.apply(change);
        }
        if self.entries.len() <= slot {
            self.entries.resize(slot + 1, None);
        }
        self.entries[slot] = Some(Entry {
            token,
            interest,
            filters,
            mark: (0, 0),
        });
        self.len += 1;
        Ok(())
    }

    /// Changes the token and interest of `fd`, calling `apply` for each kernel change.
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered; otherwise the first error `apply` returns. The
    /// changes applied before it are kept and recorded, so the bookkeeping always matches
    /// the kernel; the token and interest stay the old ones.
    pub fn reregister(
        &mut self,
        fd: RawFd,
        token: Token,
        interest: Interest,
        mut apply: impl FnMut(Change) -> io::Result<()>,
    ) -> io::Result<()> {
        let entry = self
            .get_mut(fd)
            .ok_or_else(|| io::Error::from(Errno::NOENT))?;
        for change in changes_for(fd, entry.filters, Some(interest)).iter() {
            apply(change)?;
            entry.filters.apply(change);
        }
        entry.token = token;
        entry.interest = interest;
        Ok(())
    }

    /// Forgets `fd`, calling `apply` to delete each of its knotes.
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered; otherwise the first error `apply` returns,
    /// except `ENOENT` and `EBADF` (the knote, or the descriptor, is already gone: closing
    /// a descriptor deletes its knotes). `fd` is forgotten in every case but `NotFound`.
    pub fn deregister(
        &mut self,
        fd: RawFd,
        mut apply: impl FnMut(Change) -> io::Result<()>,
    ) -> io::Result<()> {
        let entry = self
            .get(fd)
            .copied()
            .ok_or_else(|| io::Error::from(Errno::NOENT))?;
        self.entries[fd as usize] = None;
        self.len -= 1;
        let mut first_err = None;
        for change in changes_for(fd, entry.filters, None).iter() {
            if let Err(e) = apply(change) {
                if first_err.is_none() {
                    first_err = ignore_gone(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Translates the kevents of one wait into `events` (which the caller has cleared):
    /// one event per registered descriptor, its read and write kevents merged whether or
    /// not they are adjacent. Kevents for descriptors not registered are dropped. At most
    /// `events.capacity()` events are produced; a kevent that would need one more slot is
    /// dropped (it is level-triggered and comes back on the next wait).
    pub fn collect(&mut self, received: impl IntoIterator<Item = Received>, events: &mut Events) {
        self.epoch += 1;
        for r in received {
            let Ok(fd) = RawFd::try_from(r.ident) else {
                continue;
            };
            let epoch = self.epoch;
            let Some(entry) = self.get_mut(fd) else {
                continue;
            };
            let readiness = readiness_of(&r);
            if entry.mark.0 == epoch {
                events.add_readiness(entry.mark.1, readiness);
            } else if events.remaining() > 0 {
                entry.mark = (epoch, events.len());
                events.push(Event {
                    token: entry.token,
                    readiness,
                });
            }
        }
    }
}
