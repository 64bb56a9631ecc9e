//! TrafficLogging: what is logged, numbering, files, elision, failures (Twisted's
//! `LoggingFactoryTests`).

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use torsion::protocol::{for_protocol, Address, Protocol};
use torsion::protocols::policies::{TrafficLogging, TrafficLoggingFactory};
use torsion::testing::Driver;
use torsion::transport::Transport;

/// Twisted's `WriteSequenceEchoProtocol`.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        if data.windows(7).any(|w| w == b"vector!") {
            t.write_sequence(&[data]);
        } else {
            t.write(data);
        }
    }
}

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).unwrap()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Every log opened, with its connection's number.
type Logs = Rc<RefCell<Vec<(u64, Shared)>>>;

/// A factory logging every connection to its own `Shared`, kept in `logs`.
fn logging(limit: Option<usize>) -> (Rc<TrafficLoggingFactory>, Logs) {
    let logs = Rc::new(RefCell::new(Vec::new()));
    let l = logs.clone();
    let policy = TrafficLogging::to_writers(move |n, _addr| {
        let w = Shared::default();
        l.borrow_mut().push((n, w.clone()));
        Ok(Box::new(w) as Box<dyn Write>)
    })
    .length_limit(limit);
    (
        TrafficLoggingFactory::with_policy(for_protocol(|| Echo), policy),
        logs,
    )
}

fn addr() -> Address {
    Address::Tcp("1.2.3.4:5678".parse().unwrap())
}

#[test]
fn things_get_logged() {
    // test_thingsGetLogged
    let (factory, logs) = logging(None);
    let d = Driver::new(factory.build_wrapper(&addr()).unwrap());
    let log = logs.borrow()[0].1.clone();
    assert_eq!(log.text(), "*\n");
    assert!(d.written().is_empty());

    d.data_received(b"here are some bytes");
    assert!(log.text().contains("C 1: b\"here are some bytes\"\n"));
    assert!(log.text().contains("S 1: b\"here are some bytes\"\n"));
    assert_eq!(d.take_written(), b"here are some bytes");

    d.data_received(b"prepare for vector! to the extreme");
    assert!(log
        .text()
        .contains("SV 1: [b\"prepare for vector! to the extreme\"]\n"));
    assert_eq!(d.take_written(), b"prepare for vector! to the extreme");

    d.with_protocol(|w| w.wrapper().transport())
        .lose_connection();
    assert!(log.text().ends_with("S 1: *\n"));
    d.run_pending();
    assert!(log.text().ends_with("C 1: connection was closed cleanly\n"));
}

#[test]
fn bytes_are_escaped_and_a_sequence_lists_each_buffer() {
    let (factory, logs) = logging(None);
    let d = Driver::new(factory.build_wrapper(&addr()).unwrap());
    let t = d.with_protocol(|w| w.wrapper().transport());
    t.write(b"\x00\r\n\"");
    t.write_sequence(&[b"a", b"b\t"]);
    let log = logs.borrow()[0].1.text();
    assert!(log.contains("S 1: b\"\\x00\\r\\n\\\"\"\n"), "{log}");
    assert!(log.contains("SV 1: [b\"a\", b\"b\\t\"]\n"), "{log}");
}

#[test]
fn long_data_is_elided() {
    let (factory, logs) = logging(Some(20));
    let d = Driver::new(factory.build_wrapper(&addr()).unwrap());
    d.data_received(b"0123456789abcdefghijXYZ"); // 23 > 20: 8 bytes shown
    d.data_received(b"exactly 20 bytes!!!!");
    let log = logs.borrow()[0].1.text();
    assert!(log.contains("C 1: b\"01234567\"<... elided>\n"), "{log}");
    assert!(log.contains("C 1: b\"exactly 20 bytes!!!!\"\n"), "{log}");
}

#[test]
fn connections_are_numbered_and_the_counter_resets() {
    // test_counter
    let (factory, logs) = logging(None);
    assert_eq!(factory.policy().counter(), 0);
    let a = Driver::new(factory.build_wrapper(&addr()).unwrap());
    assert_eq!(factory.policy().counter(), 1);
    let b = Driver::new(factory.build_wrapper(&addr()).unwrap());
    assert_eq!(factory.policy().counter(), 2);
    assert_eq!(b.with_protocol(|w| w.wrapper().state().number()), 2);
    b.data_received(b"x");
    a.data_received(b"y");
    assert!(logs.borrow()[1].1.text().contains("C 2: b\"x\""));
    assert!(logs.borrow()[0].1.text().contains("C 1: b\"y\""));
    factory.policy().reset_counter();
    assert_eq!(factory.policy().counter(), 0);
    let _c = Driver::new(factory.build_wrapper(&addr()).unwrap());
    let numbers: Vec<u64> = logs.borrow().iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [1, 2, 1]);
}

#[test]
fn logs_go_to_numbered_files() {
    // test_loggingFactoryOpensLogfileAutomatically
    let dir = std::env::temp_dir().join(format!("torsion-traffic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("test");
    let factory = TrafficLoggingFactory::with_policy(
        for_protocol(|| Echo),
        TrafficLogging::to_files(&prefix),
    );
    let first = Driver::new(factory.build_wrapper(&addr()).unwrap());
    let _second = Driver::new(factory.build_wrapper(&addr()).unwrap());
    first.data_received(b"ping");
    let one = std::fs::read_to_string(dir.join("test-1")).unwrap();
    let two = std::fs::read_to_string(dir.join("test-2")).unwrap();
    assert_eq!(one, "*\nC 1: b\"ping\"\nS 1: b\"ping\"\n");
    assert_eq!(two, "*\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_log_that_cannot_be_opened_refuses_the_connection() {
    let factory = TrafficLoggingFactory::with_policy(
        for_protocol(|| Echo),
        TrafficLogging::to_files("/nonexistent-dir-for-torsion-tests/log"),
    );
    assert!(factory.build_wrapper(&addr()).is_none());
    assert_eq!(factory.policy().counter(), 1);
}

#[test]
fn a_failing_log_stops_and_the_connection_goes_on() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let factory = TrafficLoggingFactory::with_policy(
        for_protocol(|| Echo),
        TrafficLogging::to_writers(|_, _| Ok(Box::new(Broken) as Box<dyn Write>)),
    );
    let d = Driver::new(factory.build_wrapper(&addr()).unwrap());
    d.data_received(b"still echoed");
    assert_eq!(d.written(), b"still echoed");
    assert!(format!("{:?}", d.with_protocol(|w| w.wrapper().clone())).contains("WrapperTransport"));
}
