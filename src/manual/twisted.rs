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
//!
//! Not (yet) here: `resolve` (name resolution arrives with TCP clients), `getThreadPool`
//! (the pool is internal), persist events.
