//! HTTP/1.1 hello-world on torsion's web server: `examples/web_counter.rs`'s shape (a leaf
//! resource, `render_get` setting `content-type: text/plain`) answering the same
//! `Hello, World!` body as `hyper_hello`, from a constant.
//!
//! Like hyper, it sends no `Server` field (`SiteOptions::omit_server_header`), so both
//! servers put the same bytes on the wire and wrk, which parses every response byte by byte
//! (a third of its time at a million responses per second), does the same work for each.
//! `HELLO_SERVER_FIELD=1` keeps torsion's default `Server: torsion` (17 bytes more per
//! response).
//!
//! `torsion_hello PORT [ADDR]` (ADDR defaults to 127.0.0.1; PORT 0 picks a free port).
//! Prints `torsion_hello listening on ADDR:PORT` on stderr. Runs until killed.

use std::rc::Rc;

use torsion::web::{Rendered, Request, Resource, Site, SiteOptions};
use torsion::Reactor;

struct Hello;

impl Resource for Hello {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        request.set_header("content-type", "text/plain");
        Rendered::Static(b"Hello, World!")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let reactor = Reactor::new()?;
    let options = SiteOptions {
        omit_server_header: std::env::var_os("HELLO_SERVER_FIELD").is_none_or(|v| v != "1"),
        ..SiteOptions::default()
    };
    let site = Site::with_options(Rc::new(Hello), options);
    let listening = reactor.listen_tcp(port, site, 1024, &host)?;
    eprintln!("torsion_hello listening on {}", listening.get_host());
    reactor.run()?;
    Ok(())
}
