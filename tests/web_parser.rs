//! The sans-IO framing: request heads whole, at every prefix and byte by byte; each
//! framing rejection RFC 9112 asks for, through the parser and through a connection (400
//! and close, nothing after the error read as a request); the chunked decoder.

mod web_util;

use torsion::web::http::{
    parse_head, ChunkError, ChunkedDecoder, Framer, Framing, FramingError, Head, Limits, Progress,
};
use web_util::{fixture, parse_responses};

fn parse(input: &[u8]) -> Result<Option<usize>, FramingError> {
    parse_head(input, &Limits::default(), &mut Head::default())
}

const GOOD: &[u8] =
    b"POST /a/b?c=d HTTP/1.1\r\nHost: example.org\r\nUser-Agent: t\r\nContent-Length: 3\r\n\r\n";

#[test]
fn a_head_is_partial_at_every_prefix_and_complete_whole() {
    let mut head = Head::default();
    assert_eq!(
        parse_head(GOOD, &Limits::default(), &mut head),
        Ok(Some(GOOD.len()))
    );
    assert_eq!(&GOOD[head.method.clone()], b"POST");
    assert_eq!(&GOOD[head.target.clone()], b"/a/b?c=d");
    assert_eq!(
        (head.minor, head.framing, head.keep_alive),
        (1, Framing::Length(3), true)
    );
    assert_eq!(head.headers.len(), 3);
    for i in 0..GOOD.len() {
        assert_eq!(parse(&GOOD[..i]), Ok(None), "prefix of {i} bytes");
    }
}

#[test]
fn the_framer_gives_the_same_events_byte_by_byte() {
    let mut input = GOOD.to_vec();
    input.extend_from_slice(
        b"abcGET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
    );
    let run = |piece: usize| {
        let mut framer = Framer::new(Limits::default());
        let mut events = Vec::new();
        let mut buf = Vec::new();
        let mut body = Vec::new();
        for chunk in input.chunks(piece) {
            buf.extend_from_slice(chunk);
            loop {
                let (n, p) = framer.advance(&buf, &mut |d| body.extend_from_slice(d));
                if p == Progress::Head {
                    events.push(format!(
                        "head {}",
                        String::from_utf8_lossy(&buf[framer.head().target.clone()])
                    ));
                }
                if p == Progress::Complete {
                    events.push(format!("body {}", String::from_utf8_lossy(&body)));
                    body.clear();
                }
                buf.drain(..n);
                if p == Progress::NeedMore {
                    break;
                }
            }
        }
        events
    };
    let whole = run(input.len());
    assert_eq!(whole, ["head /a/b?c=d", "body abc", "head /", "body z"]);
    for piece in 1..16 {
        assert_eq!(run(piece), whole, "pieces of {piece}");
    }
}

/// Each of these is refused by the parser, and by a connection with 400 and a close.
const REJECTED: &[(&str, &[u8])] = &[
    ("CL and TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ("differing CLs", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
    ("CL list", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n"),
    ("signed CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n"),
    ("negative CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
    ("hex CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n"),
    ("overflowing CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
    ("TE not ending in chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
    ("TE twice chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ("TE unknown", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n"),
    ("bare CR in value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n"),
    ("NUL in value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: b\0c\r\n\r\n"),
    ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n"),
    ("missing Host", b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n"),
    ("duplicate Host", b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
    ("header line before the request line", b"Host: x\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("whitespace before the request line", b" GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bad version", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
];

#[test]
fn each_framing_violation_is_refused_by_the_parser() {
    for (what, input) in REJECTED {
        assert!(parse(input).is_err(), "{what}: {:?}", parse(input));
    }
    assert_eq!(
        parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        Err(FramingError::UnsupportedCoding)
    );
    // Identical duplicate lengths are one length.
    let mut head = Head::default();
    let same = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n";
    assert!(parse_head(same, &Limits::default(), &mut head)
        .unwrap()
        .is_some());
    assert_eq!(head.framing, Framing::Length(3));
}

#[test]
fn each_framing_violation_is_400_and_close_and_nothing_after_it_is_a_request() {
    for (what, input) in REJECTED {
        let f = fixture(Limits::default());
        let d = f.driver();
        let mut stream = input.to_vec();
        stream.extend_from_slice(b"GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
        d.data_received(&stream);
        d.data_received(b"GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = parse_responses(&d.take_written(), &[]);
        assert_eq!(r.len(), 1, "{what}: one response only");
        assert_eq!(r[0].code, 400, "{what}");
        assert_eq!(r[0].header("connection"), Some("close"), "{what}");
        assert!(d.transport().disconnecting(), "{what}");
        assert_eq!(f.counter.n.get(), 0, "{what}: no request after the error");
    }
}

#[test]
fn limits_are_431_and_413() {
    let limits = Limits {
        max_headers: 5,
        max_body_bytes: 10,
        ..Limits::default()
    };
    let f = fixture(limits);
    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..6 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let long = [b"GET /".as_slice(), &[b'a'; 20000], b" HTTP/1.1\r\n"].concat();
    let big = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n".to_vec();
    let big_chunked =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n".to_vec();
    for (input, code) in [(many, 431), (long, 431), (big, 413), (big_chunked, 413)] {
        let d = f.driver();
        d.data_received(&input);
        let r = parse_responses(&d.take_written(), &[]);
        assert_eq!(r[0].code, code);
        assert!(d.transport().disconnecting());
    }
}

#[test]
fn malformed_chunked_bodies_are_400() {
    let bodies: &[&[u8]] = &[
        b"g\r\n",
        b"-1\r\n",
        b"+1\r\n",
        b" 1\r\n",
        b"\r\n",
        b"11111111111111111\r\n",
        b"1\nx\r\n",
        b"1\r\nxy\r\n",
        b"1\r\nx\n0\r\n\r\n",
        b"1;a\0b\r\nx\r\n",
        b"0\r\nTrailer: a\rb\r\n\r\n",
    ];
    for body in bodies {
        let f = fixture(Limits::default());
        let d = f.driver();
        let mut input =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        input.extend_from_slice(body);
        input.extend_from_slice(b"0\r\n\r\nGET /count HTTP/1.1\r\nHost: x\r\n\r\n");
        d.data_received(&input);
        let r = parse_responses(&d.take_written(), &[]);
        assert_eq!(
            (r.len(), r[0].code),
            (1, 400),
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert!(d.transport().disconnecting());
    }
}

#[test]
fn the_chunked_decoder_is_cut_independent() {
    let input =
        b"4;ext=1\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX: y\r\n\r\nREST";
    let mut whole = Vec::new();
    let mut d = ChunkedDecoder::new(1024);
    let used = d.decode(input, |x| whole.extend_from_slice(x)).unwrap();
    assert!(d.is_done());
    assert_eq!(&input[used..], b"REST");
    assert_eq!(whole, b"wikipedia in\r\n\r\nchunks.");
    for piece in 1..8 {
        let mut d = ChunkedDecoder::new(1024);
        let mut out = Vec::new();
        let mut total = 0;
        for chunk in input.chunks(piece) {
            if d.is_done() {
                break;
            }
            total += d.decode(chunk, |x| out.extend_from_slice(x)).unwrap();
        }
        assert_eq!((out.as_slice(), total), (whole.as_slice(), used));
    }
    let mut d = ChunkedDecoder::new(8);
    assert_eq!(
        d.decode(b"1;aaaaaaaaaaaa\r\n", |_| {}),
        Err(ChunkError::LineTooLong)
    );
    assert_eq!(
        d.decode(b"0\r\n\r\n", |_| {}),
        Err(ChunkError::LineTooLong),
        "stays failed"
    );
}
