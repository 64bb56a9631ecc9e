//! The `ssl:` and `tls:` descriptions: Twisted's forms and defaults, our additions, and
//! clear errors for files that cannot be used. Also configuration errors of the API.
#![cfg(feature = "tls")]

mod tls_util;

use std::time::Duration;

use torsion::endpoints::{
    client_from_string, server_from_string, EndpointError, TcpClientEndpoint, TcpServerEndpoint,
};
use torsion::tls::{
    TlsClientConfig, TlsClientEndpoint, TlsErrorKind, TlsServerConfig, TlsServerEndpoint,
    TrustRoots,
};
use torsion::Reactor;

fn esc(p: &std::path::Path) -> String {
    p.display().to_string().replace(':', "\\:")
}

#[test]
fn server_forms() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let key = esc(&dir.join("server.key"));
    let cert = esc(&dir.join("server.pem"));
    // Keyword form, `tls:` as an alias, positional form (port, privateKey, certKey).
    for s in [
        format!("ssl:8443:privateKey={key}:certKey={cert}:interface=127.0.0.1"),
        format!("tls:8443:privateKey={key}:certKey={cert}:interface=127.0.0.1"),
        format!("SSL:8443:{key}:{cert}:interface=127.0.0.1:backlog=7"),
    ] {
        let e = server_from_string(&reactor, &s).unwrap();
        let tls = e.downcast_ref::<TlsServerEndpoint>().expect(&s);
        let _ = tls.config();
    }
    // A PEM file with both key and certificate (certKey defaults to privateKey).
    let both = dir.join("both.pem");
    let mut pem = std::fs::read(dir.join("server.key")).unwrap();
    pem.extend(std::fs::read(dir.join("server.pem")).unwrap());
    std::fs::write(&both, pem).unwrap();
    server_from_string(&reactor, &format!("ssl:0:privateKey={}", esc(&both))).unwrap();
    // extraCertChain, sslmethod, dhParameters (ignored), alpn, handshakeTimeout.
    server_from_string(
        &reactor,
        &format!(
            "ssl:0:privateKey={key}:certKey={cert}:extraCertChain={}:sslmethod=TLSv1_2_METHOD:dhParameters=dh.pem:alpn=h2,http/1.1:handshakeTimeout=5",
            esc(&dir.join("ca.pem"))
        ),
    )
    .unwrap();
    let _ = TcpServerEndpoint::new(&reactor, 0);
    reactor.close();
}

#[test]
fn server_errors_name_the_problem() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let key = esc(&dir.join("server.key"));
    let cert = esc(&dir.join("server.pem"));
    let err = |s: String| server_from_string(&reactor, &s).unwrap_err();

    // Twisted's default privateKey is server.pem, which is not here.
    let e = err("ssl:443".to_string());
    assert!(matches!(e, EndpointError::TlsConfig { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with("ssl: cannot read server.pem"),
        "{e}"
    );

    let e = err(format!(
        "ssl:443:privateKey={}:certKey={cert}",
        esc(&dir.join("nope.key"))
    ));
    assert!(e.to_string().contains("nope.key"), "{e}");

    // A key that does not match the certificate.
    let e = err(format!(
        "ssl:443:privateKey={}:certKey={cert}",
        esc(&dir.join("client.key"))
    ));
    assert!(matches!(e, EndpointError::TlsConfig { .. }), "{e}");

    // A certificate file given as the key.
    let e = err(format!("ssl:443:privateKey={cert}:certKey={cert}"));
    assert!(e.to_string().contains("no usable private key"), "{e}");

    let e = err(format!(
        "ssl:443:privateKey={key}:certKey={cert}:sslmethod=SSLv3_METHOD"
    ));
    assert!(
        matches!(
            e,
            EndpointError::BadValue {
                name: "sslmethod",
                ..
            }
        ),
        "{e}"
    );
    let e = err(format!("ssl:99999:privateKey={key}:certKey={cert}"));
    assert!(
        matches!(e, EndpointError::BadValue { name: "port", .. }),
        "{e}"
    );
    let e = err(format!("ssl:443:privateKey={key}:certkey={cert}"));
    assert!(e.to_string().contains("did you mean certKey"), "{e}");
    reactor.close();
}

#[test]
fn client_forms() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let ca = esc(&dir.join("ca.pem"));
    let e = client_from_string(
        &reactor,
        &format!("tls:example.com:443:trustRoots={ca}:timeout=5"),
    )
    .unwrap();
    let tls = e.downcast_ref::<TlsClientEndpoint>().unwrap();
    assert_eq!(tls.config().server_name(), "example.com");

    // A directory of roots, a client certificate, ALPN.
    client_from_string(
        &reactor,
        &format!(
            "tls:host=example.com:port=443:trustRoots={}:certificate={}:privateKey={}:alpn=h2",
            esc(dir),
            esc(&dir.join("client.pem")),
            esc(&dir.join("client.key"))
        ),
    )
    .unwrap();
    // The system roots by default.
    client_from_string(&reactor, "tls:example.com:443").unwrap();
    // Twisted's ssl: client form: hostname= is the name verified, caCertsDir the roots.
    let e = client_from_string(
        &reactor,
        &format!(
            "ssl:127.0.0.1:443:hostname=example.com:caCertsDir={}",
            esc(dir)
        ),
    )
    .unwrap();
    assert_eq!(
        e.downcast_ref::<TlsClientEndpoint>()
            .unwrap()
            .config()
            .server_name(),
        "example.com"
    );
    // endpoint= wraps another client description; host is then only the name.
    client_from_string(
        &reactor,
        "tls:example.com:443:endpoint=tcp\\:10.0.0.1\\:8443",
    )
    .unwrap();

    let err = |s: &str| client_from_string(&reactor, s).unwrap_err();
    assert!(matches!(
        err("tls:example.com"),
        EndpointError::MissingParameter { name: "port", .. }
    ));
    let e = err("tls:example.com:443:trustRoots=/nonexistent/ca.pem");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    let e = err("tls:example.com:443:privateKey=k.pem");
    assert!(
        matches!(
            e,
            EndpointError::MissingParameter {
                name: "certificate",
                ..
            }
        ),
        "{e}"
    );
    let e = err("tls:example.com:443:endpoint=ftp\\:x");
    assert!(matches!(e, EndpointError::UnknownType { .. }), "{e}");
    let _ = TcpClientEndpoint::new(&reactor, "x", 1).with_timeout(Some(Duration::from_secs(1)));
    reactor.close();
}

#[test]
fn api_configuration_errors() {
    let dir = certs_or_skip!();
    let cert = std::fs::read(dir.join("server.pem")).unwrap();
    let key = std::fs::read(dir.join("server.key")).unwrap();
    let e = TlsServerConfig::from_pem(b"not pem", &key).unwrap_err();
    assert_eq!(e.kind(), TlsErrorKind::Config);
    assert!(
        e.to_string()
            .starts_with("TLS configuration error: no certificate"),
        "{e}"
    );
    let e = TlsServerConfig::from_pem(&cert, b"").unwrap_err();
    assert!(e.to_string().contains("no usable private key"), "{e}");
    assert!(TlsServerConfig::from_pem(&cert, &key).is_ok());
    let e = TrustRoots::from_pem(b"").unwrap_err();
    assert_eq!(e.kind(), TlsErrorKind::Config);
    // A host name that cannot be verified is refused when the session starts.
    let bad = TlsClientConfig::new("not a host name!")
        .with_trust_roots(TrustRoots::from_pem_file(dir.join("ca.pem")).unwrap());
    let e = torsion::tls::TlsProtocol::client(&bad, tls_util::Recorder::new().0).unwrap_err();
    assert!(e.to_string().contains("not a valid host name"), "{e}");
    assert!(TrustRoots::system().len() < 100_000);
}
