//! Twisted's IMAP4 client example (`imap4client.py`), in torsion: connect, log in, select
//! INBOX, fetch the envelope of message 1 and print its subject.
//!
//! ```python
//! @defer.inlineCallbacks
//! def main(reactor, username="alice", password="secret", strport="tls:example.com:993"):
//!     endpoint = endpoints.clientFromString(reactor, strport)
//!     factory = protocol.Factory.forProtocol(imap4.IMAP4Client)
//!     try:
//!         client = yield endpoint.connect(factory)
//!         yield client.login(username, password)
//!         yield client.select("INBOX")
//!         info = yield client.fetchEnvelope(imap4.MessageSet(1))
//!         print("First message subject:", info[1]["ENVELOPE"][1])
//!     except BaseException:
//!         print("IMAP4 client interaction failed")
//!         failure.Failure().printTraceback()
//!
//! task.react(main, sys.argv[1:])
//! ```
//!
//! `cargo run --example imap_fetch -- [USERNAME [PASSWORD [ENDPOINT]]]` (defaults `alice`,
//! `secret`, `tls:example.com:993`). To trust a test CA, add `trustRoots=ca.pem` to the
//! endpoint: `tls:localhost:10993:trustRoots=/tmp/certs/ca.pem`. Plain `tcp:` endpoints work
//! too (no STARTTLS is attempted without a TLS configuration). On failure it prints
//! `IMAP4 client interaction failed` and the failure, and exits with status 1.

use torsion::defer::Deferred;
use torsion::endpoints::{client_from_string, connect_protocol};
use torsion::mail::imap4::{Imap4Client, MessageSet};
use torsion::task::{react, SystemExit};

fn main() {
    let mut args = std::env::args().skip(1);
    let username = args.next().unwrap_or_else(|| "alice".to_string());
    let password = args.next().unwrap_or_else(|| "secret".to_string());
    let strport = args
        .next()
        .unwrap_or_else(|| "tls:example.com:993".to_string());
    let status = react(move |reactor| {
        let reactor = reactor.clone();
        Deferred::from_future(async move {
            let endpoint = client_from_string(&reactor, &strport)?;
            let client = Imap4Client::new();
            connect_protocol(&endpoint, client.protocol()).await?;
            client.login(&username, &password).await?;
            client.select("INBOX").await?;
            let info = client.fetch_envelope(&MessageSet::one(1), false).await?;
            let subject = info
                .get(&1)
                .and_then(|envelope| envelope.subject.clone())
                .unwrap_or_default();
            println!("First message subject: {subject}");
            let _ = client.logout().await;
            Ok(())
        })
        .add_errback(|failure| {
            println!("IMAP4 client interaction failed");
            eprintln!("{failure}");
            Err(SystemExit(1).into())
        })
    });
    std::process::exit(status);
}
