//! HTTPS: a `Site` behind `TlsProtocol` (in memory, through the testing kit's pump): the
//! request is served, and `Request::is_secure` says so.
#![cfg(feature = "tls")]

#[macro_use]
mod tls_util;

use std::cell::Cell;
use std::rc::Rc;

use tls_util::{client_config, server_config, Recorder};
use torsion::testing::connected_server_and_client;
use torsion::tls::TlsProtocol;
use torsion::web::{Rendered, Request, Resource, Site};

#[derive(Default)]
struct Secure {
    seen: Cell<Option<bool>>,
}

impl Resource for Secure {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        self.seen.set(Some(request.is_secure()));
        if request.is_secure() {
            "secure\n".into()
        } else {
            "plain\n".into()
        }
    }
}

#[test]
fn a_site_over_tls_serves_and_knows_it_is_secure() {
    let dir = certs_or_skip!();
    let resource = Rc::new(Secure::default());
    let site = Site::new(resource.clone());
    let (client, seen) =
        Recorder::greeting(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let c = connected_server_and_client(
        TlsProtocol::server(&server_config(dir, "server"), site.channel()).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    c.pump.flush();
    assert_eq!(resource.seen.get(), Some(true));
    let data = seen.borrow().data.clone();
    assert!(
        data.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&data)
    );
    assert!(data.ends_with(b"\r\n\r\nsecure\n"));
    assert!(
        seen.borrow().lost.is_some(),
        "Connection: close was honoured"
    );

    // The same site over plain TCP is not secure.
    let d = torsion::testing::Driver::new(site.channel());
    d.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(d.written().ends_with(b"plain\n"));
    assert_eq!(resource.seen.get(), Some(false));
}
