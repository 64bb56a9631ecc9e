//! Unix socket endpoints with the real reactor, under a temporary directory whose name
//! needs escaping in a description.

mod util;

use std::cell::RefCell;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use torsion::endpoints::{
    client_from_string, quote_string_argument, server_from_string, CannotListen,
};
use torsion::protocol::{for_protocol, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;
use util::{reactors, turn_until};

const LIMIT: Duration = Duration::from_secs(10);

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "torsion-ep:{}={}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn quoted(path: &Path) -> String {
    quote_string_argument(path.to_str().unwrap())
}

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

struct Collect(Rc<RefCell<Vec<u8>>>);

impl Protocol for Collect {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(b"over unix");
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.0.borrow_mut().extend_from_slice(data);
    }
}

#[test]
fn round_trip_with_mode() {
    for reactor in reactors() {
        let dir = TempDir::new();
        let path = dir.join("echo.sock");
        let server =
            server_from_string(&reactor, &format!("unix:{}:mode=600", quoted(&path))).unwrap();
        let port = server
            .listen(for_protocol(|| Echo))
            .take_result()
            .unwrap()
            .expect("listening");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        let client = client_from_string(&reactor, &format!("unix:path={}", quoted(&path))).unwrap();
        let d = client.connect(for_protocol(move || Collect(g.clone())));
        turn_until(&reactor, LIMIT, || d.called());
        let transport = d.take_result().unwrap().expect("connected");
        turn_until(&reactor, LIMIT, || got.borrow().len() == 9);
        assert_eq!(&*got.borrow(), b"over unix");
        transport.lose_connection();
        drop(port.stop_listening());
        turn_until(&reactor, LIMIT, || !transport.is_connected());
        assert!(!path.exists(), "the socket file goes with the port");
        reactor.close();
    }
}

#[test]
fn connecting_to_a_missing_path_fails() {
    let reactor = Reactor::new().unwrap();
    let dir = TempDir::new();
    let client = client_from_string(
        &reactor,
        &format!("unix:{}", quoted(&dir.join("none.sock"))),
    )
    .unwrap();
    let d = client.connect(for_protocol(|| Echo));
    turn_until(&reactor, LIMIT, || d.called());
    let failure = d.take_result().unwrap().unwrap_err();
    let err = failure.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    reactor.close();
}

#[test]
fn listening_where_another_port_listens_fails() {
    let reactor = Reactor::new().unwrap();
    let dir = TempDir::new();
    let path = dir.join("busy.sock");
    let description = format!("unix:address={}", quoted(&path));
    let first = server_from_string(&reactor, &description)
        .unwrap()
        .listen(for_protocol(|| Echo))
        .take_result()
        .unwrap()
        .unwrap();
    let failure = server_from_string(&reactor, &description)
        .unwrap()
        .listen(for_protocol(|| Echo))
        .take_result()
        .unwrap()
        .unwrap_err();
    let err = failure
        .downcast_ref::<CannotListen>()
        .expect("CannotListen");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert_eq!(err.what(), format!("Unix socket {}", path.display()));
    drop(first.stop_listening());
    reactor.close();
}
