//! The seed's counter web server, one to one with Twisted's:
//!
//! ```python
//! class Counter(resource.Resource):
//!     isLeaf = True
//!     numberRequests = 0
//!
//!     def render_GET(self, request):
//!         self.numberRequests += 1
//!         request.setHeader(b"content-type", b"text/plain")
//!         content = "I am request #{}\n".format(self.numberRequests)
//!         return content.encode("ascii")
//!
//! endpoints.serverFromString(reactor, "tcp:8080").listen(server.Site(Counter()))
//! reactor.run()
//! ```
//!
//! `cargo run --release --example web_counter [ENDPOINT]`, e.g.
//! `cargo run --release --example web_counter -- tcp:9000:interface=127.0.0.1`
//! (default `tcp:8080`). Ctrl-C stops it.

use std::cell::Cell;
use std::rc::Rc;

use torsion::endpoints::server_from_string;
use torsion::web::{Rendered, Request, Resource, Site};
use torsion::Reactor;

#[derive(Default)]
struct Counter {
    number_requests: Cell<u64>,
}

impl Resource for Counter {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render_get(&self, request: &Request) -> Rendered {
        self.number_requests.set(self.number_requests.get() + 1);
        request.set_header("content-type", "text/plain");
        format!("I am request #{}\n", self.number_requests.get()).into()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let description = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp:8080".to_string());
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let r = reactor.clone();
    let listening = server_from_string(&reactor, &description)?
        .listen(Site::new(Rc::new(Counter::default())))
        .add_callbacks(
            |port| {
                eprintln!("web counter listening on {}", port.get_host());
                Ok(())
            },
            move |failure| {
                eprintln!("could not listen on {description}: {failure}");
                let _ = r.stop();
                Ok(())
            },
        );
    drop(listening);
    reactor.run()?;
    Ok(())
}
