//! System event triggers: code that runs before, during and after the reactor starts up and
//! shuts down (Twisted's `addSystemEventTrigger`).
//!
//! Tests: `tests/reactor_lifecycle.rs`.

use std::fmt;

use torsion_sys::LocalFn;

use crate::defer::Deferred;

/// A system event the reactor fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SystemEvent {
    /// Fired by [`Reactor::run`](super::Reactor::run) before the loop starts.
    Startup,
    /// Fired after [`Reactor::stop`](super::Reactor::stop), before `run` returns.
    Shutdown,
}

/// When, relative to the reactor's own work for an event, a trigger runs.
///
/// For `Startup`, the reactor's own work ("during") is to mark itself running and install
/// its signal handlers, so `After` startup is where [`call_when_running`] hooks go. For
/// `Shutdown`, it is to leave the loop and stop the thread pool; `Before` shutdown triggers
/// still run with a fully working reactor.
///
/// [`call_when_running`]: super::Reactor::call_when_running
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the reactor's own work for the event.
    Before,
    /// Together with the reactor's own work (after it, in the same step).
    During,
    /// After everything else for the event.
    After,
}

/// Names a trigger, for [`Reactor::remove_system_event_trigger`](super::Reactor::remove_system_event_trigger).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TriggerId(u64);

/// What a trigger runs.
pub(crate) enum Trigger {
    /// A plain call.
    Plain(LocalFn),
    /// A call whose Deferred the event waits for (before-phase only).
    Waiting(Box<dyn FnOnce() -> Deferred<()>>),
}

struct Registered {
    id: TriggerId,
    event: SystemEvent,
    phase: Phase,
    f: Trigger,
}

/// Registered triggers, in the order they were added. Each runs once, when its event fires
/// (as in Twisted, where firing pops triggers off their phase list).
pub(crate) struct Triggers {
    next_id: u64,
    list: Vec<Registered>,
}

impl Triggers {
    pub(crate) fn new() -> Triggers {
        Triggers {
            next_id: 0,
            list: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, phase: Phase, event: SystemEvent, f: Trigger) -> TriggerId {
        let id = TriggerId(self.next_id);
        self.next_id += 1;
        self.list.push(Registered {
            id,
            event,
            phase,
            f,
        });
        id
    }

    /// Removes a trigger that has not run yet; returns it so the caller can drop it outside
    /// any borrow.
    pub(crate) fn remove(&mut self, id: TriggerId) -> Option<Trigger> {
        let at = self.list.iter().position(|t| t.id == id)?;
        Some(self.list.remove(at).f)
    }

    /// Takes the first trigger for `event` in `phase`, if any. Firing calls this until it
    /// returns `None`, so triggers added while firing run too.
    pub(crate) fn take_first(&mut self, event: SystemEvent, phase: Phase) -> Option<Trigger> {
        let at = self
            .list
            .iter()
            .position(|t| t.event == event && t.phase == phase)?;
        Some(self.list.remove(at).f)
    }

    /// Drops every trigger (the caller drops the returned closures outside any borrow).
    pub(crate) fn take_all(&mut self) -> Vec<Trigger> {
        self.list.drain(..).map(|t| t.f).collect()
    }
}

impl fmt::Debug for Triggers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|t| (t.id, t.event, t.phase)))
            .finish()
    }
}
