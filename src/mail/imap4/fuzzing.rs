//! The entry point of the `imap_response` fuzz target (`fuzz/fuzz_targets/imap_response.rs`),
//! public so the committed corpus also runs under plain `cargo test`
//! (`tests/fuzz_corpus.rs`).
//!
//! It checks, on the same input:
//!
//! 1. **Cut-independence of the parser**: the reads the fuzzer chose
//!    ([`crate::testing::fuzz::reads`]), the whole input and (for inputs up to
//!    4 KiB) one byte at a time give the same responses and the same error.
//! 2. **The client under [`crate::testing::fuzz::drive_protocol`]** with
//!    commands of every kind queued: it never panics, and once the connection is closed
//!    every command's Deferred has fired; after a parse error the connection is closing.

use super::{Imap4Client, MessageSet, ParseError, Query, Response, ResponseParser};
use crate::testing::fuzz::{drive_protocol, reads};

fn parse_pieces(pieces: &[&[u8]]) -> (Vec<Response>, Option<ParseError>) {
    let mut parser = ResponseParser::new();
    let mut out = Vec::new();
    for piece in pieces {
        if let Err(e) = parser.feed_with(piece, |r| out.push(r)) {
            return (out, Some(e));
        }
    }
    (out, None)
}

/// Feeds `data` to the parser in several ways and to the client (see the module docs).
pub fn imap_response(data: &[u8]) {
    let pieces = reads(data);
    let whole = pieces.concat();
    let at_once = parse_pieces(&[&whole]);
    assert_eq!(parse_pieces(&pieces), at_once, "the cuts changed the parse");
    if whole.len() <= 4096 {
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(
            parse_pieces(&bytes),
            at_once,
            "byte by byte changed the parse"
        );
    }

    let client = Imap4Client::new();
    let set = MessageSet::range(1, 3);
    let pending = vec![
        client.login("alice", "secret"),
        client.select("INBOX").add_callback(|_| Ok(())),
        client.fetch_envelope(&set, false).add_callback(|_| Ok(())),
        client
            .fetch_body_structure(&set, true)
            .add_callback(|_| Ok(())),
        client
            .search(&Query::or(Query::unseen(), Query::subject("x")), false)
            .add_callback(|_| Ok(())),
        client
            .append("INBOX", b"Subject: x\r\n\r\nbody\r\n".to_vec(), &[], None)
            .add_callback(|_| Ok(())),
        client.idle(),
        client.done(),
        client.logout(),
    ];
    let driver = drive_protocol(data, || client.protocol());
    if at_once.1.is_some() && !driver.is_closed() {
        assert!(
            driver.transport().disconnecting() || driver.transport().disconnected(),
            "a parse error must close the connection"
        );
    }
    let closed = driver.is_closed();
    for d in pending {
        if closed {
            assert!(d.called(), "a command still pending after the close");
        }
        let _ = d.take_result();
    }
}
