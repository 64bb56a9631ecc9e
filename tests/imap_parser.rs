//! The IMAP4 response parser: realistic server output, unusual but legal replies, limits
//! and garbage, each parsed whole, in chunks of 1..9 bytes, split in two at every position
//! (`Chunking::standard`) and byte by byte, with the same result every way.

use std::time::Instant;

use torsion::mail::imap4::{
    Limits, ParseError, Response, ResponseCode, ResponseParser, Status, StatusText, Untagged, Value,
};
use torsion::testing::Chunking;

type Outcome = (Vec<Response>, Option<ParseError>);

fn parse_with(limits: Limits, pieces: &[&[u8]]) -> Outcome {
    let mut parser = ResponseParser::with_limits(limits);
    let mut out = Vec::new();
    for piece in pieces {
        if let Err(e) = parser.feed_with(piece, |r| out.push(r)) {
            // The parser stays failed.
            assert_eq!(parser.feed(b"* OK more\r\n"), Err(e.clone()));
            return (out, Some(e));
        }
    }
    (out, None)
}

/// Parses `data` every way and checks the outcomes agree.
#[track_caller]
fn parse_every_way_with(limits: Limits, data: &[u8]) -> Outcome {
    let whole = parse_with(limits, &[data]);
    for chunking in Chunking::standard(data.len()) {
        assert_eq!(
            parse_with(limits, &chunking.chunks(data)),
            whole,
            "{chunking}"
        );
    }
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(parse_with(limits, &bytes), whole, "byte by byte");
    whole
}

#[track_caller]
fn parse_every_way(data: &[u8]) -> Outcome {
    parse_every_way_with(Limits::default(), data)
}

#[track_caller]
fn ok(data: &[u8]) -> Vec<Response> {
    let (responses, error) = parse_every_way(data);
    assert_eq!(error, None, "{}", String::from_utf8_lossy(data));
    responses
}

#[track_caller]
fn error(data: &[u8]) -> String {
    let (_, error) = parse_every_way(data);
    error.expect("an error").to_string()
}

fn atom(s: &str) -> Value {
    Value::Atom(s.into())
}

fn string(s: &str) -> Value {
    Value::String(s.as_bytes().to_vec())
}

const SESSION: &[u8] = b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n\
A0001 OK [CAPABILITY IMAP4rev1 IDLE MOVE] Logged in\r\n\
* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Seen \\*)] Flags permitted.\r\n\
* 3 EXISTS\r\n\
* OK [UIDVALIDITY 1795720975] UIDs valid\r\n\
A0002 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n\
* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {25}\r\nSubject: Test (message)\r\n)\r\n\
* 2 FETCH (ENVELOPE (\"Mon, 1 Jan 2024\" \"say \\\"hi\\\" \\\\o/\" ((\"Bob\" NIL \"bob\" \"example.com\")) NIL NIL NIL NIL NIL NIL \"<m@x>\"))\r\n\
* 3 FETCH (BODY[]<0> {0}\r\n RFC822.SIZE 120)\r\n\
+ Ready for literal data\r\n\
+\r\n\
A0003 NO [TRYCREATE] Mailbox doesn't exist: Foo\r\n\
* BYE Logging out\r\n";

#[test]
fn a_session_parses_the_same_every_way() {
    let r = ok(SESSION);
    assert_eq!(r.len(), 14);
    assert_eq!(
        r[0],
        Response::Untagged(Untagged::Status(StatusText {
            status: Status::Ok,
            code: Some(ResponseCode {
                name: "CAPABILITY".into(),
                args: vec![atom("IMAP4rev1"), atom("STARTTLS"), atom("AUTH=PLAIN")],
            }),
            text: "Dovecot ready.".into(),
        }))
    );
    let Response::Tagged { tag, status } = &r[1] else {
        panic!("{:?}", r[1])
    };
    assert_eq!((tag.as_str(), status.status), ("A0001", Status::Ok));
    assert_eq!(
        r[3],
        Response::Untagged(Untagged::Status(StatusText {
            status: Status::Ok,
            code: Some(ResponseCode {
                name: "PERMANENTFLAGS".into(),
                args: vec![Value::List(vec![
                    atom("\\Answered"),
                    atom("\\Deleted"),
                    atom("\\Seen"),
                    atom("\\*")
                ])],
            }),
            text: "Flags permitted.".into(),
        }))
    );
    assert_eq!(
        r[4],
        Response::Untagged(Untagged::Numbered {
            number: 3,
            name: "EXISTS".into(),
            values: vec![]
        })
    );
    assert_eq!(
        r[7],
        Response::Untagged(Untagged::Numbered {
            number: 1,
            name: "FETCH".into(),
            values: vec![Value::List(vec![
                atom("UID"),
                Value::Number(1),
                atom("FLAGS"),
                Value::List(vec![atom("\\Seen")]),
                atom("BODY[HEADER.FIELDS (SUBJECT)]"),
                string("Subject: Test (message)\r\n"),
            ])]
        })
    );
    let Response::Untagged(Untagged::Numbered { values, .. }) = &r[8] else {
        panic!()
    };
    let envelope = values[0].as_list().unwrap()[1].as_list().unwrap();
    assert_eq!(envelope[1], string("say \"hi\" \\o/"));
    assert_eq!(envelope[3], Value::Nil);
    let Response::Untagged(Untagged::Numbered { values, .. }) = &r[9] else {
        panic!()
    };
    assert_eq!(
        values[0],
        Value::List(vec![
            atom("BODY[]<0>"),
            string(""),
            atom("RFC822.SIZE"),
            Value::Number(120)
        ])
    );
    assert_eq!(
        r[10],
        Response::Continuation(b"Ready for literal data".to_vec())
    );
    assert_eq!(r[11], Response::Continuation(Vec::new()));
    let Response::Tagged { status, .. } = &r[12] else {
        panic!()
    };
    assert_eq!(status.status, Status::No);
    assert_eq!(status.code.as_ref().unwrap().name, "TRYCREATE");
    assert_eq!(status.text, "Mailbox doesn't exist: Foo");
}

#[test]
fn unusual_but_legal_replies() {
    // Bare LF line ends, lower-case names, nil in any case, LITERAL+ announcements,
    // literals holding CRLF and parentheses, two literals in one response, deep nesting,
    // a status without text, a code without text.
    let r = ok(b"* search 2 4 9\n\
* 1 fetch (body[1] {3+}\r\n)\r\n X-TRA nil Nil)\r\n\
* LIST (\\HasNoChildren) \".\" {5}\r\nIN)BO\r\n\
* 4 FETCH (BODY[1] {2}\r\nab BODY[2] {2}\r\ncd)\r\n\
* 5 FETCH (X ((((((((1))))))))) \r\n\
* OK\r\n\
a9 OK [ALERT]\r\n");
    assert_eq!(
        r[0],
        Response::Untagged(Untagged::Data {
            name: "SEARCH".into(),
            values: vec![Value::Number(2), Value::Number(4), Value::Number(9)],
        })
    );
    assert_eq!(
        r[1],
        Response::Untagged(Untagged::Numbered {
            number: 1,
            name: "FETCH".into(),
            values: vec![Value::List(vec![
                atom("body[1]"),
                string(")\r\n"),
                atom("X-TRA"),
                Value::Nil,
                Value::Nil
            ])],
        })
    );
    let Response::Untagged(Untagged::Data { values, .. }) = &r[2] else {
        panic!()
    };
    assert_eq!(values[2], string("IN)BO"));
    let Response::Untagged(Untagged::Numbered { values, .. }) = &r[3] else {
        panic!()
    };
    assert_eq!(values[0].as_list().unwrap()[3], string("cd"));
    let Response::Untagged(Untagged::Status(s)) = &r[5] else {
        panic!()
    };
    assert_eq!(
        (s.status, s.code.is_none(), s.text.as_str()),
        (Status::Ok, true, "")
    );
    let Response::Tagged { status, .. } = &r[6] else {
        panic!()
    };
    assert_eq!(
        (
            status.code.as_ref().unwrap().name.as_str(),
            status.text.as_str()
        ),
        ("ALERT", "")
    );
}

#[test]
fn garbage_is_a_clear_error() {
    let cases: [(&[u8], &str); 9] = [
        (
            b"HTTP/1.1 400 Bad Request\r\n",
            "expected OK, NO or BAD after the tag",
        ),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",
            "expected a tag, '*' or '+'",
        ),
        (b"* 1 FETCH (UID 1\r\n", "unterminated list"),
        (b"* 1 FETCH UID 1)\r\n", "unexpected ')'"),
        (b"* LIST () \".\" \"INBOX\r\n", "unterminated quoted string"),
        (
            b"* OK [UIDVALIDITY 3 hello\r\n",
            "unterminated response code",
        ),
        (b"\r\n", "empty line"),
        (b"* 1\r\n", "expected a space after the number"),
        (b"* 99999999999999999999999 EXISTS\r\n", "too large"),
    ];
    for (data, what) in cases {
        let e = error(data);
        assert!(e.contains(what), "{:?}: {e}", String::from_utf8_lossy(data));
        assert!(e.starts_with("bad IMAP4 response from the server: "), "{e}");
    }
    // Responses before the garbage are given.
    let (responses, e) = parse_every_way(b"* 2 EXISTS\r\n) oops\r\n* 3 EXISTS\r\n");
    assert_eq!(responses.len(), 1);
    assert!(e.is_some());
}

#[test]
fn limits_are_enforced_with_their_names() {
    let limits = Limits {
        max_line_length: 40,
        max_literal_size: 10,
        max_response_size: 60,
        max_literals: 2,
        max_depth: 3,
    };
    let cases: [(&[u8], &str); 5] = [
        (
            b"* OK this line is longer than forty bytes, surely\r\n",
            "line longer than 40 bytes",
        ),
        (
            b"* 1 FETCH (BODY[] {11}\r\n",
            "literal of 11 bytes (the limit is 10)",
        ),
        (b"* X ((((1))))\r\n", "nested deeper than 3"),
        (
            b"* X {1}\r\na {1}\r\nb {1}\r\nc\r\n",
            "more than 2 literals",
        ),
        (
            b"* X {10}\r\n0123456789 {10}\r\n0123456789 and then some more text\r\n",
            "response larger than 60",
        ),
    ];
    for (data, what) in cases {
        let (_, e) = parse_every_way_with(limits, data);
        let e = e.expect("an error").to_string();
        assert!(e.contains(what), "{e}");
    }
    // At the limits exactly: fine.
    let (r, e) = parse_every_way_with(limits, b"* X (((1))) {10}\r\n0123456789 {1}\r\nx\r\n");
    assert_eq!((r.len(), e), (1, None));
    // A huge announcement fails at once, before any byte of it arrives.
    let mut p = ResponseParser::new();
    let e = p
        .feed(b"* 1 FETCH (BODY[] {18446744073709551615}\r\n")
        .unwrap_err();
    assert!(e.message().contains("the limit is 268435456"), "{e}");
    let e = ResponseParser::new()
        .feed(b"* 1 FETCH (BODY[] {99999999999999999999999}\r\n")
        .unwrap_err();
    assert!(e.message().contains("64 bits"), "{e}");
}

/// Literals of any size stream in linear time: every byte is copied once, whatever the
/// chunking. Measured here: 1 MiB byte by byte, and 64 MiB in 16 KiB reads, both against
/// generous bounds (a quadratic copy of 1 MiB byte by byte would take minutes).
#[test]
fn big_literals_stream_in_linear_time() {
    let limits = Limits {
        max_literal_size: u64::MAX,
        max_response_size: u64::MAX,
        ..Limits::default()
    };
    for (size, read) in [(1usize << 20, 1usize), (64 << 20, 16 << 10)] {
        let mut parser = ResponseParser::with_limits(limits);
        let head = format!("* 1 FETCH (BODY[] {{{size}}}\r\n");
        assert!(parser.feed(head.as_bytes()).unwrap().is_empty());
        let chunk = vec![b'x'; read];
        let started = Instant::now();
        let mut left = size;
        while left > 0 {
            let n = left.min(read);
            assert!(parser.feed(&chunk[..n]).unwrap().is_empty());
            left -= n;
        }
        let r = parser.feed(b")\r\n").unwrap();
        let elapsed = started.elapsed();
        eprintln!("literal of {size} bytes in reads of {read}: {elapsed:?}");
        assert!(elapsed.as_secs() < 20, "{elapsed:?}");
        let Response::Untagged(Untagged::Numbered { values, .. }) = &r[0] else {
            panic!()
        };
        let Value::String(body) = &values[0].as_list().unwrap()[1] else {
            panic!()
        };
        assert_eq!(body.len(), size);
    }
}

#[test]
fn partial_state_is_visible() {
    let mut p = ResponseParser::new();
    assert!(!p.is_partial());
    p.feed(b"* 1 FETCH (BODY[] {3}\r\nab").unwrap();
    assert!(p.is_partial());
    assert_eq!(p.feed(b"c)\r\n").unwrap().len(), 1);
    assert!(!p.is_partial());
}
