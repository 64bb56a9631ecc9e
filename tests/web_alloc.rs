//! No heap allocation per keep-alive request for a fixed body in steady state: after a
//! warm-up that grows the buffers, thousands of requests on one connection (one at a time,
//! and pipelined by 16) go through the channel, the resource and the response writing with
//! a counting allocator showing no allocation at all.
//!
//! The channel is called directly (not through a `Driver`, which copies each read) over a
//! transport that keeps its written bytes in one buffer, cleared between rounds.

mod alloc_count;

use std::rc::Rc;

use alloc_count::count;
use std::cell::RefCell;

use torsion::protocol::{Address, Protocol};
use torsion::time::Clock;
use torsion::transport::{Producer, ProducerError, Transport, TransportCore};
use torsion::web::{Rendered, Request, Resource, Site, SiteOptions};

struct Hello;

impl Resource for Hello {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        request.set_header("content-type", "text/plain");
        Rendered::Static(b"Hello, World!\n")
    }
}

/// A transport that keeps what is written in one reused buffer (the testing kit's
/// `StringTransport` hands its buffer out on each `take`, so it would allocate anew).
#[derive(Default)]
struct Sink {
    written: RefCell<Vec<u8>>,
}

impl TransportCore for Sink {
    fn write(&self, data: &[u8]) {
        self.written.borrow_mut().extend_from_slice(data);
    }
    fn lose_connection(&self) {}
    fn abort_connection(&self) {}
    fn lose_write_connection(&self) {}
    fn get_peer(&self) -> Address {
        Address::Memory("peer".into())
    }
    fn get_host(&self) -> Address {
        Address::Memory("host".into())
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn register_producer(&self, _: Producer) -> Result<(), ProducerError> {
        Ok(())
    }
    fn unregister_producer(&self) {}
    fn set_write_watermarks(&self, _: usize, _: usize) {}
    fn write_buffer_len(&self) -> usize {
        0
    }
    fn is_disconnecting(&self) -> bool {
        false
    }
    fn is_connected(&self) -> bool {
        true
    }
}

const REQ: &[u8] =
    b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n";

#[test]
fn keep_alive_requests_allocate_nothing_in_steady_state() {
    let clock = Clock::new();
    let options = SiteOptions {
        clock: Some(Rc::new(clock.clone())),
        ..SiteOptions::default()
    };
    let site = Site::with_options(Rc::new(Hello), options);
    let mut channel = site.channel();
    let sink = Rc::new(Sink::default());
    let t = Transport::new(sink.clone());
    channel.connection_made(&t);
    let pipelined: Vec<u8> = REQ.repeat(16);
    let mut round = |n: usize| {
        for _ in 0..n {
            channel.data_received(&t, REQ);
            channel.data_received(&t, &pipelined);
            // A request cut in two reads.
            channel.data_received(&t, &REQ[..20]);
            channel.data_received(&t, &REQ[20..]);
            sink.written.borrow_mut().clear();
        }
    };
    round(50); // warm-up: buffers grow to their steady size
    let (allocations, ()) = count(|| round(1000));
    assert_eq!(allocations, 0, "allocations for 18 000 requests");
    // And the responses are right.
    channel.data_received(&t, REQ);
    let out = sink.written.borrow().clone();
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(out.ends_with(b"Content-Length: 14\r\n\r\nHello, World!\n"));
}
