//! Interoperability with third-party UDP peers over loopback: socat as an echo server and
//! as a client of our echo, and Twisted's own `DatagramProtocol` echo (Twisted's
//! `echoserv_udp.py`) both ways. Each test skips with a message when the tool is missing
//! (`.ci/run` installs socat and python3-twisted).

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use torsion::Reactor;

mod udp_util;

use udp_util::{run_until, Echo, Recorder};

/// Kills the child (started by this test) when dropped.
struct Peer(Child);
impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A free UDP port on 127.0.0.1 (bound then released).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends datagrams to `to` from a torsion port until `n` echoes came back.
fn exchange(to: SocketAddr, payloads: &[Vec<u8>], wait_for: usize) -> Vec<Vec<u8>> {
    let reactor = Reactor::new().unwrap();
    let (rec, log) = Recorder::new();
    let port = reactor.listen_udp(0, rec, "127.0.0.1", 65535).unwrap();
    // The peer may need a moment to bind: resend until the first echo arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.borrow().datagrams.is_empty() {
        assert!(Instant::now() < deadline, "peer never answered");
        port.write(&payloads[0], to).unwrap();
        for _ in 0..10 {
            reactor.iterate(Duration::from_millis(20)).unwrap();
        }
    }
    let already = log.borrow().datagrams.len();
    for p in &payloads[1..] {
        port.write(p, to).unwrap();
    }
    run_until(&reactor, || {
        log.borrow().datagrams.len() >= already + wait_for
    });
    let got = log
        .borrow()
        .datagrams
        .iter()
        .map(|(d, _)| d.clone())
        .collect();
    reactor.close();
    got
}

#[test]
fn socat_echoes_our_datagrams() {
    if !have("socat", "-V") {
        eprintln!("skipped: socat is not installed (apt-get install socat)");
        return;
    }
    let p = free_port();
    let _peer = Peer(
        Command::new("socat")
            .args([
                "-b65536",
                "-T5",
                &format!("UDP4-RECVFROM:{p},bind=127.0.0.1,reuseaddr,fork"),
                "PIPE",
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let to: SocketAddr = format!("127.0.0.1:{p}").parse().unwrap();
    let payloads = vec![b"ping".to_vec(), vec![b'x'; 60_000], b"three".to_vec()];
    let got = exchange(to, &payloads, 2);
    assert!(
        got.contains(&vec![b'x'; 60_000]),
        "a 60000-byte datagram whole"
    );
    assert!(got.contains(&b"three".to_vec()));
}

#[test]
fn socat_client_against_our_echo() {
    if !have("socat", "-V") {
        eprintln!("skipped: socat is not installed (apt-get install socat)");
        return;
    }
    let reactor = Reactor::new().unwrap();
    let port = reactor.listen_udp(0, Echo, "127.0.0.1", 65535).unwrap();
    let mut child = Command::new("socat")
        .args([
            "-b65536",
            "-t2",
            "-",
            &format!("UDP4:127.0.0.1:{}", port.get_host().port()),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"hello socat")
        .unwrap();
    let mut peer = Peer(child);
    // Serve until socat exits (it waits 2 s for the echo after its stdin ends).
    drop(peer.0.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    while peer.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "socat did not finish");
        reactor.iterate(Duration::from_millis(20)).unwrap();
    }
    let mut out = String::new();
    std::io::Read::read_to_string(peer.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert_eq!(out, "hello socat");
    reactor.close();
}

/// The Python with Twisted: `TWISTED_PYTHON`, else /usr/bin/python3 or python3.
fn twisted_python() -> Option<String> {
    let candidates = [
        std::env::var("TWISTED_PYTHON").ok(),
        Some("/tmp/peers/venv/bin/python".to_string()),
        Some("/usr/bin/python3".to_string()),
        Some("python3".to_string()),
    ];
    candidates.into_iter().flatten().find(|py| {
        Command::new(py)
            .args(["-c", "import twisted.internet.udp"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
}

const TWISTED_ECHO: &str = r#"
import sys
from twisted.internet import reactor, protocol
class Echo(protocol.DatagramProtocol):   # docs/core/examples/echoserv_udp.py
    def datagramReceived(self, data, addr):
        self.transport.write(data, addr)
reactor.listenUDP(int(sys.argv[1]), Echo(), interface="127.0.0.1", maxPacketSize=65535)
reactor.callLater(20, reactor.stop)
reactor.run()
"#;

const TWISTED_CLIENT: &str = r#"
import sys
from twisted.internet import reactor, protocol
port, n = int(sys.argv[1]), int(sys.argv[2])
got = []
class C(protocol.DatagramProtocol):
    def startProtocol(self):
        self.transport.connect("127.0.0.1", port)
        for i in range(n): self.transport.write(b"dgram %d" % i)
        self.transport.write(b"")
    def datagramReceived(self, data, addr):
        got.append(data)
        if len(got) == n + 1: reactor.stop()
reactor.listenUDP(0, C(), interface="127.0.0.1", maxPacketSize=65535)
reactor.callLater(10, reactor.stop)
reactor.run()
want = sorted([b"dgram %d" % i for i in range(n)] + [b""])
print("udp echoed", len(got), "of", n + 1)
sys.exit(0 if sorted(got) == want else 1)
"#;

#[test]
fn twisted_echo_server_and_our_client() {
    let Some(py) = twisted_python() else {
        eprintln!("skipped: no Python with Twisted (apt-get install python3-twisted)");
        return;
    };
    let p = free_port();
    let _peer = Peer(
        Command::new(&py)
            .args(["-c", TWISTED_ECHO, &p.to_string()])
            .spawn()
            .unwrap(),
    );
    let to: SocketAddr = format!("127.0.0.1:{p}").parse().unwrap();
    let payloads = vec![b"first".to_vec(), Vec::new(), vec![7u8; 20_000]];
    let got = exchange(to, &payloads, 2);
    assert!(
        got.contains(&Vec::new()),
        "Twisted echoes a 0-byte datagram"
    );
    assert!(got.contains(&vec![7u8; 20_000]));
}

#[test]
fn twisted_client_against_our_echo() {
    let Some(py) = twisted_python() else {
        eprintln!("skipped: no Python with Twisted (apt-get install python3-twisted)");
        return;
    };
    let reactor = Reactor::new().unwrap();
    let port = reactor.listen_udp(0, Echo, "127.0.0.1", 65535).unwrap();
    let mut peer = Peer(
        Command::new(&py)
            .args([
                "-c",
                TWISTED_CLIENT,
                &port.get_host().port().to_string(),
                "20",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = peer.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the Twisted client did not finish"
        );
        reactor.iterate(Duration::from_millis(20)).unwrap();
    };
    let mut out = String::new();
    std::io::Read::read_to_string(peer.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "Twisted client: {out}");
    assert!(out.contains("udp echoed 21 of 21"), "{out}");
    reactor.close();
}
