//! Twisted's countdown from "Scheduling tasks for the future", one to one:
//!
//! ```python
//! class Countdown:
//!     counter = 5
//!     def count(self):
//!         if self.counter == 0:
//!             reactor.stop()
//!         else:
//!             print(self.counter, '...')
//!             self.counter -= 1
//!             reactor.callLater(1, self.count)
//!
//! reactor.callWhenRunning(Countdown().count)
//! reactor.run()
//! ```
//!
//! `cargo run --release --example countdown [SECONDS_PER_STEP]`

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use torsion::Reactor;

struct Countdown {
    reactor: Reactor,
    counter: Cell<u32>,
    step: Duration,
}

impl Countdown {
    fn count(self: Rc<Self>) {
        if self.counter.get() == 0 {
            self.reactor.stop().expect("the reactor is running");
        } else {
            println!("{} ...", self.counter.get());
            self.counter.set(self.counter.get() - 1);
            let me = self.clone();
            self.reactor.call_later(self.step, move || me.count());
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let step = std::env::args()
        .nth(1)
        .map(|s| s.parse::<f64>())
        .transpose()?
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(1));
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let countdown = Rc::new(Countdown {
        reactor: reactor.clone(),
        counter: Cell::new(5),
        step,
    });
    reactor.call_when_running(move || countdown.count());
    reactor.run()?;
    println!("done");
    reactor.close();
    Ok(())
}
