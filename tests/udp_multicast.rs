//! Multicast on loopback: two ports bound to the same port with `listen_multiple` join a
//! group on 127.0.0.1 and both receive what a third sends to it; options round-trip;
//! leaving the group stops delivery. Skips cleanly if the kernel refuses multicast on lo.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use torsion::udp::{DatagramProtocol, UdpPort};
use torsion::Reactor;

mod udp_util;

use udp_util::{run_for, run_until, Recorder};

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 42, 99);
const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Quiet;
impl DatagramProtocol for Quiet {
    fn datagram_received(&mut self, _: &UdpPort, _: &[u8], _: SocketAddr) {}
}

#[test]
fn group_members_on_loopback_all_receive() {
    let reactor = Reactor::new().unwrap();
    let (rec_a, log_a) = Recorder::new();
    let a = reactor
        .listen_multicast(0, rec_a, "0.0.0.0", 1024, true)
        .unwrap();
    let port = a.get_host().port();
    let (rec_b, log_b) = Recorder::new();
    let b = reactor
        .listen_multicast(port, rec_b, "0.0.0.0", 1024, true)
        .unwrap();
    if let Err(e) = a.join_group(GROUP.into(), Some(LO)) {
        eprintln!("skipped: the kernel refuses multicast on lo ({e})");
        reactor.close();
        return;
    }
    b.join_group(GROUP.into(), Some(LO)).unwrap();
    let sender = reactor
        .listen_multicast(0, Quiet, "127.0.0.1", 1024, false)
        .unwrap();
    sender.set_outgoing_interface(LO).unwrap();
    assert_eq!(sender.get_outgoing_interface(), LO);
    sender.set_ttl(1).unwrap();
    assert_eq!(sender.get_ttl().unwrap(), 1);
    sender.set_loopback_mode(true).unwrap();
    assert!(sender.get_loopback_mode().unwrap());
    let to = SocketAddr::new(GROUP.into(), port);
    sender.write(b"to the group", to).unwrap();
    let delivered = (0..100).any(|_| {
        reactor.iterate(Duration::from_millis(20)).unwrap();
        !log_a.borrow().datagrams.is_empty() && !log_b.borrow().datagrams.is_empty()
    });
    if !delivered {
        eprintln!("skipped: joined, but no multicast is routed over lo on this machine");
        reactor.close();
        return;
    }
    assert_eq!(log_a.borrow().datagrams[0].0, b"to the group");
    assert_eq!(log_b.borrow().datagrams[0].0, b"to the group");
    assert_eq!(log_a.borrow().datagrams[0].1, sender.get_host());
    // b leaves (a second leave fails: not a member). Linux still delivers to b while
    // another socket of the host is a member (IP_MULTICAST_ALL), so once a leaves too,
    // nobody hears the group.
    b.leave_group(GROUP.into(), Some(LO)).unwrap();
    assert!(b.leave_group(GROUP.into(), Some(LO)).is_err());
    sender.write(b"second", to).unwrap();
    run_until(&reactor, || log_a.borrow().datagrams.len() == 2);
    a.leave_group(GROUP.into(), Some(LO)).unwrap();
    sender.write(b"third", to).unwrap();
    run_for(&reactor, Duration::from_millis(100));
    assert_eq!(log_a.borrow().datagrams.len(), 2);
    // Errors: not a group; an IPv6 interface for an IPv4 port.
    assert!(a.join_group("10.1.2.3".parse().unwrap(), None).is_err());
    assert!(a
        .join_group(GROUP.into(), Some("::1".parse().unwrap()))
        .is_err());
    reactor.close();
}

#[test]
fn without_listen_multiple_the_port_is_exclusive() {
    let reactor = Reactor::new().unwrap();
    let a = reactor
        .listen_multicast(0, Quiet, "0.0.0.0", 512, false)
        .unwrap();
    let taken = a.get_host().port();
    assert!(reactor
        .listen_multicast(taken, Quiet, "0.0.0.0", 512, false)
        .is_err());
    reactor.close();
}
