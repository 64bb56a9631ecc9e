//! The description grammar and the standard parsers: every form of Twisted's
//! `ParserTests`, `ServerStringTests`, `ClientStringTests` and `TCP6ServerEndpointPluginTests`
//! that applies, escapes, and errors that name the bad part. Parsing never touches the
//! reactor, so a reactor that panics when used stands in.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use torsion::endpoints::{
    client_from_string, quote_string_argument, server_from_string, ClientEndpoint, Description,
    EndpointError, Param, Registry, ServerEndpoint, TcpClientEndpoint, TcpServerEndpoint,
    UnixClientEndpoint, UnixServerEndpoint,
};
use torsion::protocol::{ClientFactory, Factory};
use torsion::tcp::{Connector, ListeningPort, ReactorTcp};

#[derive(Clone)]
struct NoReactor;

impl ReactorTcp for NoReactor {
    fn listen_tcp_dyn(
        &self,
        _: u16,
        _: Rc<dyn Factory>,
        _: i32,
        _: &str,
    ) -> io::Result<ListeningPort> {
        unreachable!("parsing never listens")
    }
    fn connect_tcp_dyn(
        &self,
        _: &str,
        _: u16,
        _: Rc<dyn ClientFactory>,
        _: Option<Duration>,
        _: Option<SocketAddr>,
    ) -> Connector {
        unreachable!("parsing never connects")
    }
    fn listen_unix_dyn(
        &self,
        _: &Path,
        _: Rc<dyn Factory>,
        _: i32,
        _: u32,
    ) -> io::Result<ListeningPort> {
        unreachable!("parsing never listens")
    }
    fn connect_unix_dyn(
        &self,
        _: &Path,
        _: Rc<dyn ClientFactory>,
        _: Option<Duration>,
    ) -> Connector {
        unreachable!("parsing never connects")
    }
}

fn server(s: &str) -> ServerEndpoint {
    server_from_string(&NoReactor, s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn client(s: &str) -> ClientEndpoint {
    client_from_string(&NoReactor, s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn tcp_server(s: &str) -> (u16, String, i32) {
    let e = server(s);
    let t = e
        .downcast_ref::<TcpServerEndpoint>()
        .expect("a TCP endpoint");
    (t.port(), t.interface().to_string(), t.backlog())
}

fn unix_server(s: &str) -> (String, u32, i32, bool) {
    let e = server(s);
    let u = e
        .downcast_ref::<UnixServerEndpoint>()
        .expect("a Unix endpoint");
    (
        u.path().display().to_string(),
        u.mode(),
        u.backlog(),
        u.lockfile(),
    )
}

fn tcp_client(s: &str) -> TcpClientEndpoint {
    client(s)
        .downcast_ref::<TcpClientEndpoint>()
        .expect("a TCP endpoint")
        .clone()
}

fn unix_client(s: &str) -> UnixClientEndpoint {
    client(s)
        .downcast_ref::<UnixClientEndpoint>()
        .expect("a Unix endpoint")
        .clone()
}

fn server_err(s: &str) -> String {
    server_from_string(&NoReactor, s).unwrap_err().to_string()
}

fn client_err(s: &str) -> String {
    client_from_string(&NoReactor, s).unwrap_err().to_string()
}

// ----- Twisted's ParserTests -----

#[test]
fn simple_tcp() {
    assert_eq!(tcp_server("tcp:80"), (80, String::new(), 50));
}

#[test]
fn interface_tcp() {
    assert_eq!(
        tcp_server("tcp:80:interface=127.0.0.1"),
        (80, "127.0.0.1".into(), 50)
    );
}

#[test]
fn backlog_tcp() {
    assert_eq!(tcp_server("tcp:80:backlog=6"), (80, String::new(), 6));
}

#[test]
fn simple_unix() {
    assert_eq!(
        unix_server("unix:/var/run/finger"),
        ("/var/run/finger".into(), 0o666, 50, true)
    );
}

#[test]
fn mode_unix() {
    assert_eq!(
        unix_server("unix:/var/run/finger:mode=0660"),
        ("/var/run/finger".into(), 0o660, 50, true)
    );
}

#[test]
fn want_pid_unix() {
    assert_eq!(
        unix_server("unix:/var/run/finger:lockfile=0"),
        ("/var/run/finger".into(), 0o666, 50, false)
    );
}

#[test]
fn escape() {
    assert_eq!(
        unix_server(r"unix:foo\:bar\=baz\:qux\\"),
        (r"foo:bar=baz:qux\".into(), 0o666, 50, true)
    );
}

#[test]
fn quote_string_argument_escapes() {
    assert_eq!(
        quote_string_argument(r"some : stuff \"),
        r"some \: stuff \\"
    );
    assert_eq!(quote_string_argument("a=b"), r"a\=b");
    let nasty = r"C:\dir\a=b:c";
    let d = Description::parse(&format!("unix:{}", quote_string_argument(nasty))).unwrap();
    assert_eq!(d.args, [nasty]);
}

#[test]
fn implied_escape() {
    assert_eq!(
        unix_server("unix:address=foo=bar"),
        ("foo=bar".into(), 0o666, 50, true)
    );
}

/// The list of known types in a message: `ssl` and `tls` too with the `tls` feature.
fn known(message: &str) -> String {
    let types = if cfg!(feature = "tls") {
        "(expected tcp, tcp6, unix, ssl, tls)"
    } else {
        "(expected tcp, tcp6, unix)"
    };
    message.replace("(expected tcp, tcp6, unix)", types)
}

#[test]
fn unknown_type() {
    assert_eq!(
        server_err("bogus-type:nothing"),
        known(r#"unknown endpoint type "bogus-type" (expected tcp, tcp6, unix)"#)
    );
}

// ----- ServerStringTests -----

#[test]
fn server_tcp() {
    assert_eq!(
        tcp_server("tcp:1234:backlog=12:interface=10.0.0.1"),
        (1234, "10.0.0.1".into(), 12)
    );
}

#[test]
fn server_unix() {
    assert_eq!(
        unix_server("unix:/var/foo/bar:backlog=7:mode=0123:lockfile=1"),
        ("/var/foo/bar".into(), 0o123, 7, true)
    );
}

#[test]
fn server_unknown_type() {
    assert_eq!(
        server_err("ftl:andromeda/carcosa/hali/2387"),
        known(r#"unknown endpoint type "ftl" (expected tcp, tcp6, unix)"#)
    );
}

#[test]
fn server_tcp6() {
    assert_eq!(
        tcp_server(r"tcp6:8080:backlog=12:interface=\:\:1"),
        (8080, "::1".into(), 12)
    );
    assert_eq!(tcp_server("tcp6:8080"), (8080, "::".into(), 50));
    // Twisted's tcp6 positional order is port, backlog, interface.
    assert_eq!(tcp_server(r"tcp6:8080:7:\:\:1"), (8080, "::1".into(), 7));
}

#[test]
fn server_positional_forms() {
    assert_eq!(
        tcp_server("tcp:80:127.0.0.1:9"),
        (80, "127.0.0.1".into(), 9)
    );
    assert_eq!(tcp_server("tcp:port=80"), (80, String::new(), 50));
    assert_eq!(tcp_server("TCP:80"), (80, String::new(), 50));
    assert_eq!(
        tcp_server(r"tcp:80:interface=[\:\:1]"),
        (80, "[::1]".into(), 50)
    );
    assert_eq!(
        unix_server("unix:/s:600:5:0"),
        ("/s".into(), 0o600, 5, false)
    );
}

// ----- ClientStringTests -----

#[test]
fn client_tcp() {
    let c = tcp_client("tcp:host=example.com:port=1234:timeout=7:bindAddress=10.0.0.2");
    assert_eq!(c.host(), "example.com");
    assert_eq!(c.port(), 1234);
    assert_eq!(c.timeout(), Some(Duration::from_secs(7)));
    assert_eq!(c.bind_address(), Some("10.0.0.2:0".parse().unwrap()));
}

#[test]
fn client_tcp_positional_args() {
    let c = tcp_client("tcp:example.com:1234:timeout=7:bindAddress=10.0.0.2");
    assert_eq!((c.host(), c.port()), ("example.com", 1234));
    assert_eq!(c.timeout(), Some(Duration::from_secs(7)));
    assert_eq!(c.bind_address(), Some("10.0.0.2:0".parse().unwrap()));
}

#[test]
fn client_tcp_host_positional_arg() {
    let c = tcp_client("tcp:example.com:port=1234:timeout=7:bindAddress=10.0.0.2");
    assert_eq!((c.host(), c.port()), ("example.com", 1234));
}

#[test]
fn client_tcp_port_positional_arg() {
    let c = tcp_client("tcp:host=example.com:1234:timeout=7:bindAddress=10.0.0.2");
    assert_eq!((c.host(), c.port()), ("example.com", 1234));
}

#[test]
fn client_tcp_defaults() {
    let c = tcp_client("tcp:host=example.com:port=1234");
    assert_eq!(c.timeout(), Some(Duration::from_secs(30)));
    assert_eq!(c.bind_address(), None);
}

#[test]
fn client_tcp_extras() {
    let c = tcp_client("tcp:127.0.0.1:80:timeout=0.5:bindAddress=[\\:\\:1]");
    assert_eq!(c.timeout(), Some(Duration::from_millis(500)));
    assert_eq!(c.bind_address(), Some("[::1]:0".parse().unwrap()));
    let c = tcp_client(r"tcp6:\:\:1:8080");
    assert_eq!((c.host(), c.port()), ("::1", 8080));
}

#[test]
fn client_unix() {
    let c = unix_client("unix:path=/var/foo/bar:lockfile=1:timeout=9");
    assert_eq!(c.path(), Path::new("/var/foo/bar"));
    assert_eq!(c.timeout(), Some(Duration::from_secs(9)));
    assert!(c.check_pid());
}

#[test]
fn client_unix_defaults() {
    let c = unix_client("unix:path=/var/foo/bar");
    assert_eq!(c.timeout(), Some(Duration::from_secs(30)));
    assert!(!c.check_pid());
}

#[test]
fn client_unix_path_positional_arg() {
    let c = unix_client("unix:/var/foo/bar:lockfile=1:timeout=9");
    assert_eq!(c.path(), Path::new("/var/foo/bar"));
    assert_eq!(c.timeout(), Some(Duration::from_secs(9)));
    assert!(c.check_pid());
    assert!(unix_client("unix:/p:checkPID=1").check_pid());
}

#[test]
fn client_unknown_type() {
    assert_eq!(
        client_err("ftl:andromeda/carcosa/hali/2387"),
        known(r#"unknown endpoint type "ftl" (expected tcp, tcp6, unix)"#)
    );
}

// ----- the tokenizer -----

#[test]
fn tokenizer_forms() {
    let d = Description::parse("a:b:d=1:c").unwrap();
    assert_eq!(d.prefix, "a");
    assert_eq!(d.args, ["b", "c"]);
    assert_eq!(d.kwargs, [("d".to_string(), "1".to_string())]);

    let d = Description::parse(r"x:k\=ey=v\:al=ue::").unwrap();
    assert_eq!(d.kwargs, [("k=ey".to_string(), "v:al=ue".to_string())]);
    assert_eq!(d.args, ["", ""]);

    let d = Description::parse("tcp").unwrap();
    assert!(d.args.is_empty() && d.kwargs.is_empty());

    // Display quotes back to something that parses the same.
    let d = Description::parse(r"unix:foo\:bar\=baz:mode=6\=6").unwrap();
    assert_eq!(Description::parse(&d.to_string()).unwrap(), d);
}

// ----- errors name the bad part -----

#[test]
fn errors_name_the_bad_part() {
    let cases: &[(&str, &str)] = &[
        (
            "tpc:80",
            r#"unknown endpoint type "tpc" (expected tcp, tcp6, unix)"#,
        ),
        ("tcp:80a", r#"tcp: port "80a" is not a number"#),
        (
            "tcp:70000",
            r#"tcp: port "70000" is not a port number (0 to 65535)"#,
        ),
        (
            "tcp:80:intreface=127.0.0.1",
            r#"tcp: unknown parameter "intreface" (did you mean interface?)"#,
        ),
        (
            "tcp:80:colour=red",
            r#"tcp: unknown parameter "colour" (expected port, interface, backlog)"#,
        ),
        ("tcp", "tcp: missing port"),
        (
            "tcp:80:interface=localhost",
            r#"tcp: interface "localhost" is not an IP address"#,
        ),
        ("tcp:80:backlog=-1", r#"tcp: backlog "-1" is not a number"#),
        (
            "tcp:80:backlog=1:backlog=2",
            r#"tcp: parameter "backlog" is given twice"#,
        ),
        (
            "tcp:80:127.0.0.1:5:extra",
            r#"tcp: unexpected argument "extra""#,
        ),
        ("unix:/s:mode=9", r#"unix: mode "9" is not an octal mode"#),
        (
            "unix:/s:lockfile=yes",
            r#"unix: lockfile "yes" is not 0 or 1"#,
        ),
        ("unix:", r#"unix: address "" is not a path"#),
        ("", "empty endpoint description"),
        (
            r"tcp:80\",
            r#"endpoint description "tcp:80\\" ends with a lone backslash"#,
        ),
        (
            "port=80:tcp",
            r#"endpoint description must start with its type (such as tcp:), not "port=80""#,
        ),
        (
            "ssl:443",
            "ssl: TLS endpoints are not available (torsion was built without its `tls` feature)",
        ),
    ];
    // (With the `tls` feature, `ssl:` and `tls:` parse: tests/tls_endpoints.rs.)
    let tls_off =
        |s: &str| cfg!(not(feature = "tls")) || !(s.starts_with("ssl") || s.starts_with("tls"));
    for (s, message) in cases.iter().filter(|(s, _)| tls_off(s)) {
        assert_eq!(server_err(s), known(message), "server_from_string({s:?})");
    }
    let cases: &[(&str, &str)] = &[
        ("tcp:example.com", "tcp: missing port"),
        ("tcp:port=80", "tcp: missing host"),
        (
            "tcp:h:80:timeout=soon",
            r#"tcp: timeout "soon" is not a number of seconds"#,
        ),
        (
            "tcp:h:80:timeout=-1",
            r#"tcp: timeout "-1" is not a number of seconds"#,
        ),
        (
            "tcp:h:80:bindAddress=me",
            r#"tcp: bindAddress "me" is not an IP address"#,
        ),
        (
            "tcp:h:80:bindaddress=10.0.0.1",
            r#"tcp: unknown parameter "bindaddress" (did you mean bindAddress?)"#,
        ),
        ("tcp:h:80:5", r#"tcp: unexpected argument "5""#),
        (
            "tcp:host=h:host=i:80",
            r#"tcp: parameter "host" is given twice"#,
        ),
        ("unix", "unix: missing path"),
        (
            "tls:example.com:443",
            "tls: TLS endpoints are not available (torsion was built without its `tls` feature)",
        ),
    ];
    for (s, message) in cases.iter().filter(|(s, _)| tls_off(s)) {
        assert_eq!(&client_err(s), message, "client_from_string({s:?})");
    }
}

#[test]
fn error_variants() {
    #[cfg(not(feature = "tls"))]
    assert!(matches!(
        server_from_string(&NoReactor, "ssl:443").unwrap_err(),
        EndpointError::TlsUnavailable { .. }
    ));
    assert!(matches!(
        client_from_string(&NoReactor, "tcp:h:x").unwrap_err(),
        EndpointError::BadValue { name: "port", .. }
    ));
    match server_from_string(&NoReactor, "tpc:80").unwrap_err() {
        EndpointError::UnknownType { prefix, expected } => {
            assert_eq!(prefix, "tpc");
            let tls: &[&str] = if cfg!(feature = "tls") {
                &["ssl", "tls"]
            } else {
                &[]
            };
            assert_eq!(expected, [&["tcp", "tcp6", "unix"][..], tls].concat());
        }
        other => panic!("{other:?}"),
    }
}

// ----- the registry -----

#[test]
fn registry_extends_and_replaces() {
    let mut registry = Registry::standard();
    // A TLS module would register "ssl" like this; the placeholder error then goes away.
    registry.add_client("ssl", |reactor, d| {
        let p = d.bind(&[Param::positional("host"), Param::positional("port")])?;
        let port = p.parse_required("port", "a number", |s| s.parse().ok())?;
        Ok(ClientEndpoint::new(TcpClientEndpoint::new(
            reactor,
            p.required("host")?,
            port,
        )))
    });
    let e = registry
        .client_from_string(&NoReactor, "SSL:h:443")
        .unwrap();
    assert_eq!(e.downcast_ref::<TcpClientEndpoint>().unwrap().port(), 443);
    let before: &[&str] = if cfg!(feature = "tls") {
        &["tcp", "tcp6", "unix", "tls"]
    } else {
        &["tcp", "tcp6", "unix"]
    };
    assert_eq!(registry.client_prefixes(), [before, &["ssl"]].concat());

    let empty = Registry::new();
    assert_eq!(
        empty
            .server_from_string(&NoReactor, "tcp:80")
            .unwrap_err()
            .to_string(),
        r#"unknown endpoint type "tcp" (no endpoint types are registered)"#
    );
}
