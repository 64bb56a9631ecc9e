//! Writes made during one turn leave in one system call per connection, and an echo costs
//! one read and one write per message.

mod util;

use std::io::{Read, Write};
use std::time::Duration;

use torsion::protocol::{for_protocol, Protocol};
use torsion::transport::Transport;
use util::{reactors, run_until, std_client};

const LIMIT: Duration = Duration::from_secs(15);

struct Chatty;
impl Protocol for Chatty {
    fn data_received(&mut self, t: &Transport, _: &[u8]) {
        for i in 0..10u8 {
            t.write(&[b'a' + i; 100]);
        }
        t.write_sequence(&[b"x", b"y", b"z"]);
    }
}

#[test]
fn many_writes_in_one_callback_make_one_write_call() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Chatty), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            s.write_all(b"go").unwrap();
            let mut got = vec![0u8; 1003];
            s.read_exact(&mut got).unwrap();
            got
        });
        let before = reactor.stats().writes;
        run_until(&reactor, LIMIT, || client.is_finished());
        let got = client.join().unwrap();
        assert_eq!(&got[1000..], b"xyz");
        assert_eq!(
            reactor.stats().writes - before,
            1,
            "one sendmsg for 13 writes"
        );
        reactor.close();
    }
}

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

#[test]
fn an_echo_costs_one_read_and_one_write_per_message() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            s.set_nodelay(true).unwrap();
            let mut buf = [0u8; 64];
            for _ in 0..500 {
                s.write_all(&[7u8; 64]).unwrap();
                s.read_exact(&mut buf).unwrap();
            }
        });
        run_until(&reactor, LIMIT, || reactor.stats().accepts == 1);
        let before = reactor.stats();
        run_until(&reactor, LIMIT, || client.is_finished());
        client.join().unwrap();
        let after = reactor.stats();
        let (reads, writes) = (after.reads - before.reads, after.writes - before.writes);
        // One read and one write per message (ping-pong never leaves two messages queued);
        // a read or two more for the connection's end.
        assert!(
            (500..=503).contains(&reads),
            "{reads} reads for 500 messages"
        );
        assert_eq!(writes, 500, "{writes} writes for 500 messages");
        reactor.close();
    }
}
