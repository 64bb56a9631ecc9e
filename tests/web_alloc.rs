//! No heap allocation per keep-alive request for a fixed body in steady state: after a
//! warm-up that grows the buffers, thousands of requests on one connection (one at a time,
//! and pipelined by 16) go through the channel, the resource and the response writing with
//! a counting allocator showing no allocation at all.
//!
//! The channel is called directly (not through a `Driver`, which copies each read) over the
//! testing kit's `StringTransport`, cleared between rounds (clearing keeps its capacity).

mod alloc_count;

use std::rc::Rc;

use alloc_count::count;

use torsion::protocol::Protocol;
use torsion::testing::StringTransport;
use torsion::time::Clock;
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
    let st = StringTransport::new();
    let t = st.transport();
    channel.connection_made(&t);
    let pipelined: Vec<u8> = REQ.repeat(16);
    let mut round = |n: usize| {
        for _ in 0..n {
            channel.data_received(&t, REQ);
            channel.data_received(&t, &pipelined);
            // A request cut in two reads.
            channel.data_received(&t, &REQ[..20]);
            channel.data_received(&t, &REQ[20..]);
            st.clear();
        }
    };
    round(50); // warm-up: buffers grow to their steady size
    let (allocations, ()) = count(|| round(1000));
    assert_eq!(allocations, 0, "allocations for 18 000 requests");
    // And the responses are right.
    channel.data_received(&t, REQ);
    let out = st.value();
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(out.ends_with(b"Content-Length: 14\r\n\r\nHello, World!\n"));
}
