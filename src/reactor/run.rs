//! Driving the loop: `run`, `stop`, `crash`, `iterate`, the phases of one turn, and the
//! system event triggers.
//!
//! Tests: `tests/reactor_lifecycle.rs`, `tests/reactor_reentrancy.rs`.

use std::io;
use std::time::Duration;

use torsion_sys::signal::SignalWatch;
use torsion_sys::{Interest, LocalFn, Readiness, Token};

use super::triggers::Trigger;
use super::{Phase, Reactor, ReactorError, SystemEvent, TriggerId};
use crate::defer::{Deferred, DeferredList};

/// The signals `handle_signals` turns into a graceful stop.
const SIGNALS: [i32; 2] = [torsion_sys::signal::SIGINT, torsion_sys::signal::SIGTERM];

impl Reactor {
    /// Fires the startup event, then runs the loop until [`stop`](Reactor::stop) (after the
    /// shutdown event) or [`crash`](Reactor::crash). Can be called again afterwards.
    ///
    /// # Errors
    ///
    /// [`AlreadyRunning`](ReactorError::AlreadyRunning) if called from inside the loop,
    /// [`Closed`](ReactorError::Closed) after [`close`](Reactor::close), or the poller's
    /// error (the loop then stops as by `crash`).
    pub fn run(&self) -> Result<(), ReactorError> {
        let flags = &self.inner.flags;
        if flags.closed.get() {
            return Err(ReactorError::Closed);
        }
        if flags.in_turn.get() || flags.started.get() {
            return Err(ReactorError::AlreadyRunning);
        }
        flags.started.set(true);
        flags.stopping.set(false);
        flags.shutdown_due.set(false);
        self.inner.exit_signal.set(None);
        self.update_time();
        self.fire_system_event(SystemEvent::Startup);
        let mut result = Ok(());
        while flags.started.get() {
            if let Err(e) = self.turn(None, true) {
                log::error!("reactor loop stopped by a poller error: {e}");
                result = Err(ReactorError::Io(e));
                self.crash();
            }
        }
        flags.started.set(false);
        flags.running.set(false);
        flags.stopping.set(false);
        flags.shutdown_due.set(false);
        let signals = self.inner.signals.borrow_mut().take();
        drop(signals);
        result
    }

    /// Asks a running reactor to stop: in the next pending phase the shutdown event fires
    /// (its triggers run with the reactor still working), then the loop ends.
    ///
    /// # Errors
    ///
    /// [`NotRunning`](ReactorError::NotRunning) if the reactor is not in `run`, or is
    /// already stopping.
    pub fn stop(&self) -> Result<(), ReactorError> {
        let flags = &self.inner.flags;
        if !flags.started.get() || flags.stopping.get() {
            return Err(ReactorError::NotRunning);
        }
        flags.stopping.set(true);
        flags.shutdown_due.set(true);
        Ok(())
    }

    /// Leaves the loop at the end of the current turn without firing the shutdown event.
    pub fn crash(&self) {
        self.inner.flags.started.set(false);
        self.inner.flags.running.set(false);
    }

    /// Runs one turn, waiting at most `timeout` for I/O (Twisted's `iterate(delay)`), for
    /// embedding the reactor in another loop. It does not fire startup or shutdown.
    ///
    /// # Errors
    ///
    /// [`AlreadyRunning`](ReactorError::AlreadyRunning) from inside a callback,
    /// [`Closed`](ReactorError::Closed) after `close`, or the poller's error.
    pub fn iterate(&self, timeout: Duration) -> Result<(), ReactorError> {
        self.check_can_turn()?;
        self.turn(Some(timeout), false).map_err(ReactorError::Io)
    }

    /// Runs one turn, waiting as long as it takes for I/O, a timer or a wake-up. With
    /// nothing registered and nothing scheduled it would wait forever.
    ///
    /// # Errors
    ///
    /// As for [`iterate`](Reactor::iterate).
    pub fn run_once(&self) -> Result<(), ReactorError> {
        self.check_can_turn()?;
        self.turn(None, false).map_err(ReactorError::Io)
    }

    fn check_can_turn(&self) -> Result<(), ReactorError> {
        if self.inner.flags.closed.get() {
            return Err(ReactorError::Closed);
        }
        // Inside `run` (its startup triggers included) or inside any callback of a turn.
        if self.inner.flags.in_turn.get() || self.inner.flags.started.get() {
            return Err(ReactorError::AlreadyRunning);
        }
        Ok(())
    }

    /// One turn of the loop; `max_wait` caps the poll timeout. `in_run` says the turn is
    /// part of `run`, which skips the wait once the loop is leaving.
    fn turn(&self, max_wait: Option<Duration>, in_run: bool) -> io::Result<()> {
        let inner = &self.inner;
        inner.flags.in_turn.set(true);
        let _guard = TurnGuard(self);
        super::io_shared::Counters::bump(&inner.io.stats.turns);

        // 1-2. Time, then the timers due now. Calls scheduled during this phase wait for
        // the next turn (the sequence cut-off), so a self-rescheduling call can't spin here.
        self.update_time();
        let now = inner.timers.now();
        let cutoff = inner.timers.next_seq();
        inner.timers.run_due(now, Some(cutoff), |f| {
            self.guarded("a timed call", || f.call())
        });

        // 3. Pending work.
        self.run_pending();

        // 4. Before-poll hooks (write flushes), bounded to those queued now.
        let n = inner.before_poll.borrow().len();
        for _ in 0..n {
            let next = inner.before_poll.borrow_mut().pop_front();
            let Some(f) = next else { break };
            self.guarded("a before-poll hook", || f.call());
        }

        // 5. Poll. A loop that is leaving does not wait.
        let leaving = in_run && !inner.flags.started.get();
        if leaving || inner.flags.closed.get() {
            return Ok(());
        }
        let timeout = self.poll_timeout(max_wait);
        super::io_shared::Counters::bump(&inner.io.stats.polls);
        {
            let mut events = inner.events.borrow_mut();
            inner.poller.borrow_mut().wait(&mut events, timeout)?;
        }

        // 6-7. Time again (the wait may have been long), then dispatch.
        self.update_time();
        self.dispatch();
        Ok(())
    }

    /// Zero if work is queued, else until the next timer, capped by `max_wait`.
    fn poll_timeout(&self, max_wait: Option<Duration>) -> Option<Duration> {
        let inner = &self.inner;
        let now = inner.timers.now();
        let busy = !inner.soon.borrow().is_empty()
            || !inner.before_poll.borrow().is_empty()
            || inner.mailbox.has_pending()
            || inner.flags.shutdown_due.get()
            || inner.timers.has_due(now);
        if busy {
            return Some(Duration::ZERO);
        }
        let until_timer = inner
            .timers
            .next_deadline()
            .map(|deadline| deadline.saturating_sub(now));
        match (until_timer, max_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn run_pending(&self) {
        let inner = &self.inner;

        // Signals: the handler only flagged them and woke us.
        let signal = inner
            .signals
            .borrow()
            .as_ref()
            .and_then(SignalWatch::take_pending);
        if let Some(signo) = signal {
            log::info!("received signal {signo}, shutting down");
            inner.exit_signal.set(Some(signo));
            let _ = self.stop();
        }

        // `from_future` tasks woken from other threads resume here, on their own thread.
        if inner.mailbox.take_tasks_woken() {
            self.guarded(
                "a task woken from another thread",
                crate::defer::run_remote_wakeups,
            );
        }

        // Calls from other threads, in the order they were posted.
        if inner.mailbox.has_pending() {
            let mut calls = std::mem::take(&mut *inner.thread_calls.borrow_mut());
            inner.mailbox.take(&mut calls);
            for call in calls.drain(..) {
                self.guarded("a call from another thread", || call(self));
            }
            // Keep the buffer's capacity for next time.
            *inner.thread_calls.borrow_mut() = calls;
        }

        // call_soon: only what was queued before this phase began.
        let n = inner.soon.borrow().len();
        for _ in 0..n {
            let next = inner.soon.borrow_mut().pop_front();
            let Some(f) = next else { break };
            self.guarded("a call_soon call", || f.call());
        }

        if inner.flags.shutdown_due.replace(false) {
            self.fire_system_event(SystemEvent::Shutdown);
        }
    }

    fn dispatch(&self) {
        let inner = &self.inner;
        let n = inner.events.borrow().len();
        for i in 0..n {
            let Some(event) = inner.events.borrow().get(i) else {
                break;
            };
            if event.token == Token::WAKER {
                inner.mailbox.waker.drain();
                continue;
            }
            // Look the source up afresh: an earlier handler in this batch may have removed
            // it (stale generation) or changed its interest.
            let found = inner.sources.borrow().get(event.token).and_then(|entry| {
                if entry.interest.is_empty() {
                    return None;
                }
                let mut wanted = Readiness::HUP | Readiness::ERROR;
                if entry.interest.contains(Interest::READABLE) {
                    wanted |= Readiness::READABLE;
                }
                if entry.interest.contains(Interest::WRITABLE) {
                    wanted |= Readiness::WRITABLE;
                }
                let readiness = event.readiness & wanted;
                (!readiness.is_empty()).then(|| (entry.handler.clone(), readiness))
            });
            if let Some((handler, readiness)) = found {
                self.guarded("an I/O handler", || handler.ready(self, readiness));
            }
        }
    }

    // ----- system events -----

    /// Runs `f` when the reactor is running: now if it is, else just after startup (an
    /// "after startup" trigger, whose id is returned).
    pub fn call_when_running<F: FnOnce() + 'static>(&self, f: F) -> Option<TriggerId> {
        if self.running() {
            f();
            None
        } else {
            Some(self.add_system_event_trigger(Phase::After, SystemEvent::Startup, f))
        }
    }

    /// Adds a trigger that runs once, the next time `event` fires, in `phase`. Triggers of
    /// one phase run in the order they were added.
    pub fn add_system_event_trigger<F: FnOnce() + 'static>(
        &self,
        phase: Phase,
        event: SystemEvent,
        f: F,
    ) -> TriggerId {
        self.inner
            .triggers
            .borrow_mut()
            .add(phase, event, Trigger::Plain(LocalFn::new(f)))
    }

    /// Adds a "before" trigger that returns a Deferred: the event's "during" and "after"
    /// phases wait until every such Deferred has fired (Twisted's behaviour for a
    /// before-trigger that returns a Deferred). A shutdown trigger can so finish work (say,
    /// let connections drain) while the reactor keeps running. A failure is logged.
    pub fn add_system_event_trigger_deferred<F>(&self, event: SystemEvent, f: F) -> TriggerId
    where
        F: FnOnce() -> Deferred<()> + 'static,
    {
        self.inner
            .triggers
            .borrow_mut()
            .add(Phase::Before, event, Trigger::Waiting(Box::new(f)))
    }

    /// Removes a trigger that has not run yet; false if there is no such trigger.
    pub fn remove_system_event_trigger(&self, id: TriggerId) -> bool {
        let removed = self.inner.triggers.borrow_mut().remove(id);
        removed.is_some()
    }

    /// Fires `event`: its "before" triggers, then (once the Deferreds any of them returned
    /// have fired) the reactor's own work for it together with the "during" triggers, then
    /// the "after" triggers (Twisted's order).
    pub fn fire_system_event(&self, event: SystemEvent) {
        let mut waits = Vec::new();
        loop {
            let next = self
                .inner
                .triggers
                .borrow_mut()
                .take_first(event, Phase::Before);
            match next {
                None => break,
                Some(Trigger::Plain(f)) => self.guarded("a system event trigger", || f.call()),
                Some(Trigger::Waiting(f)) => {
                    let mut out = None;
                    self.guarded("a system event trigger", || out = Some(f()));
                    if let Some(d) = out.filter(|d| !d.called()) {
                        waits.push(d);
                    }
                }
            }
        }
        if waits.is_empty() {
            self.continue_firing(event);
            return;
        }
        let reactor = self.clone();
        // The inputs hold the list (whoever fires a Deferred holds it), so our handle to the
        // result can go.
        let resumed = DeferredList::new(waits)
            .consume_errors(true)
            .into_deferred()
            .add_callback(move |results| {
                for failure in results.into_iter().filter_map(Result::err) {
                    log::error!("a before-{event:?} trigger failed: {failure}");
                }
                reactor.continue_firing(event);
                Ok(())
            });
        drop(resumed);
    }

    fn continue_firing(&self, event: SystemEvent) {
        match event {
            SystemEvent::Startup => self.really_start_running(),
            SystemEvent::Shutdown => {
                self.crash();
                self.inner.pool.borrow_mut().stop();
            }
        }
        self.run_triggers(event, Phase::During);
        self.run_triggers(event, Phase::After);
    }

    fn run_triggers(&self, event: SystemEvent, phase: Phase) {
        loop {
            let next = self.inner.triggers.borrow_mut().take_first(event, phase);
            match next {
                None => break,
                Some(Trigger::Plain(f)) => self.guarded("a system event trigger", || f.call()),
                Some(Trigger::Waiting(f)) => {
                    self.guarded("a system event trigger", || drop(f()));
                }
            }
        }
    }

    fn really_start_running(&self) {
        self.inner.flags.running.set(true);
        if self.inner.handle_signals && self.inner.signals.borrow().is_none() {
            match SignalWatch::install(&self.inner.mailbox.waker, &SIGNALS) {
                Ok(watch) => *self.inner.signals.borrow_mut() = Some(watch),
                Err(e) => log::warn!("could not install SIGINT/SIGTERM handlers: {e}"),
            }
        }
    }
}

/// Clears the in-turn flag however the turn ends (a panic with `catch_panics` off included).
struct TurnGuard<'a>(&'a Reactor);

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        self.0.inner.flags.in_turn.set(false);
    }
}
