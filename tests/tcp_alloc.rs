//! The echo path makes no heap allocation per message in steady state: a torsion client and
//! a torsion echo server ping-pong 64-byte messages over loopback in one reactor, and a
//! counting global allocator shows that, after warm-up, thousands of round trips allocate
//! nothing.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::protocol::{for_protocol, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;

mod alloc_count;

use alloc_count::count;

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

/// Sends one 64-byte message, and another each time the whole previous one came back.
struct Pinger {
    pending: usize,
    round_trips: Rc<Cell<u64>>,
}

impl Protocol for Pinger {
    fn connection_made(&mut self, t: &Transport) {
        t.write(&[b'p'; 64]);
    }
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        self.pending += data.len();
        while self.pending >= 64 {
            self.pending -= 64;
            self.round_trips.set(self.round_trips.get() + 1);
            t.write(&[b'p'; 64]);
        }
    }
}

fn run_until(reactor: &Reactor, round_trips: &Rc<Cell<u64>>, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while round_trips.get() < target {
        assert!(
            Instant::now() < deadline,
            "stalled at {}",
            round_trips.get()
        );
        reactor.iterate(Duration::from_millis(10)).unwrap();
    }
}

#[test]
fn echo_round_trips_allocate_nothing_in_steady_state() {
    for &backend in torsion::sys::Backend::available() {
        let reactor = Reactor::builder().backend(backend).build().unwrap();
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let round_trips = Rc::new(Cell::new(0u64));
        let clients = 10;
        for _ in 0..clients {
            let rt = round_trips.clone();
            let factory = for_protocol(move || Pinger {
                pending: 0,
                round_trips: rt.clone(),
            });
            reactor.connect_tcp(
                "127.0.0.1",
                port.get_host().port().unwrap(),
                factory,
                None,
                None,
            );
        }
        // Warm-up: connections, buffers, queues reach their working sizes.
        run_until(&reactor, &round_trips, 2_000);
        let start = round_trips.get();
        let (allocs, ()) = count(|| run_until(&reactor, &round_trips, start + 20_000));
        let done = round_trips.get() - start;
        assert_eq!(
            allocs, 0,
            "{backend}: {allocs} allocations over {done} round trips on {clients} connections"
        );
        reactor.close();
    }
}
