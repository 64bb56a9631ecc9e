//! The sans-IO parsers on their own: `LineBuffer`, `NetstringParser`, `IntParser`, at
//! every chunking, against simple reference splitters.

use torsion::protocols::basic::{
    IntParser, IntWidth, LineBuffer, LineTooLong, NetstringParser, Status, StringError,
};
use torsion::testing::for_each_chunking;

/// Every line of `pieces` fed in turn, and the first error.
fn lines(mut parser: LineBuffer, pieces: &[&[u8]]) -> (Vec<Vec<u8>>, Option<LineTooLong>) {
    let mut out = Vec::new();
    for piece in pieces {
        let mut input = *piece;
        loop {
            match parser.next_line(&mut input) {
                Ok(Status::Complete(line)) => out.push(line.to_vec()),
                Ok(Status::Partial) => break,
                Err(e) => return (out, Some(e)),
            }
        }
        assert!(input.is_empty());
    }
    (out, None)
}

/// The reference: split on the delimiter, drop the unterminated tail.
fn reference(data: &[u8], delimiter: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(delimiter.len()).position(|w| w == delimiter) {
        out.push(rest[..i].to_vec());
        rest = &rest[i + delimiter.len()..];
    }
    out
}

#[test]
fn lines_match_the_reference_for_every_chunking_and_delimiter() {
    let data =
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nab\rc\n\r\r\n\n\r\n12345678901234567890\r\ntail\r";
    for delimiter in [&b"\r\n"[..], b"\n", b"\r", b"\r\n\r\n", b"12"] {
        let expected = reference(data, delimiter);
        for_each_chunking(data, |chunking, pieces| {
            let (got, err) = lines(LineBuffer::with_delimiter(delimiter, 100), pieces);
            assert_eq!(err, None, "{chunking}");
            assert_eq!(got, expected, "{chunking} {}", delimiter.escape_ascii());
        });
    }
}

#[test]
fn long_input_without_delimiters_uses_the_fast_search_correctly() {
    // Long runs exercise the eight-bytes-at-a-time search at every alignment.
    for len in 0..40 {
        for at in 0..len {
            let mut data = vec![b'a'; len];
            data[at] = b'\n';
            data.push(b'\n');
            let (got, _) = lines(LineBuffer::with_delimiter(b"\n", 100), &[&data]);
            assert_eq!(got[0].len(), at, "len {len} at {at}");
        }
    }
}

#[test]
fn the_limit_is_max_length_plus_the_delimiter_for_partial_lines() {
    let (got, err) = lines(LineBuffer::with_delimiter(b"\r\n", 4), &[b"abcd\r", b"\n"]);
    assert_eq!((got.len(), err), (1, None));
    let (_, err) = lines(LineBuffer::with_delimiter(b"\r\n", 4), &[b"abcde", b"\r\n"]);
    assert_eq!(
        err,
        Some(LineTooLong {
            length: 7,
            max_length: 4
        })
    );
    let (_, err) = lines(LineBuffer::with_delimiter(b"\r\n", 4), &[b"abcdef"]);
    assert_eq!(err.map(|e| e.length), Some(6));
    let mut parser = LineBuffer::new();
    let mut input = &b"partial"[..];
    assert_eq!(parser.next_line(&mut input), Ok(Status::Partial));
    assert_eq!(parser.buffered(), b"partial");
    assert_eq!(parser.clear(), 7);
    assert_eq!(parser.buffered(), b"");
}

fn netstrings(pieces: &[&[u8]]) -> (Vec<Vec<u8>>, Option<StringError>) {
    let mut parser = NetstringParser::with_max_length(1000);
    let mut out = Vec::new();
    for piece in pieces {
        let mut input = *piece;
        loop {
            match parser.next_string(&mut input) {
                Ok(Status::Complete(s)) => out.push(s.to_vec()),
                Ok(Status::Partial) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

#[test]
fn netstrings_parse_the_same_for_every_chunking() {
    let data = b"0:,1:a,12:hello world!,3:a,b,10:0123456789,";
    let expected: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"a".to_vec(),
        b"hello world!".to_vec(),
        b"a,b".to_vec(),
        b"0123456789".to_vec(),
    ];
    for_each_chunking(data, |chunking, pieces| {
        assert_eq!(netstrings(pieces), (expected.clone(), None), "{chunking}");
    });
    for_each_chunking(b"2:ab,01:x,", |chunking, pieces| {
        assert_eq!(
            netstrings(pieces),
            (vec![b"ab".to_vec()], Some(StringError::BadLength)),
            "{chunking}"
        );
    });
}

#[test]
fn a_failed_parser_keeps_failing_until_reset() {
    let mut parser = NetstringParser::new();
    let mut input = &b"x"[..];
    assert_eq!(parser.next_string(&mut input), Err(StringError::BadLength));
    let mut input = &b"1:a,"[..];
    assert_eq!(parser.next_string(&mut input), Err(StringError::BadLength));
    assert_eq!(parser.error(), Some(StringError::BadLength));
    parser.reset();
    let mut input = &b"1:a,"[..];
    assert_eq!(
        parser.next_string(&mut input),
        Ok(Status::Complete(&b"a"[..]))
    );
}

#[test]
fn int_strings_parse_the_same_for_every_chunking() {
    for width in [IntWidth::Int8, IntWidth::Int16, IntWidth::Int32] {
        let mut data = Vec::new();
        let payloads: [&[u8]; 4] = [b"", b"x", b"hello", &[7u8; 200]];
        for p in payloads {
            data.extend_from_slice(&(p.len() as u32).to_be_bytes()[4 - width.bytes()..]);
            data.extend_from_slice(p);
        }
        for_each_chunking(&data, |chunking, pieces| {
            let mut parser = IntParser::new(width);
            let mut out = Vec::new();
            for piece in pieces {
                let mut input = *piece;
                while let Status::Complete(s) = parser.next_string(&mut input).unwrap() {
                    out.push(s.to_vec());
                }
            }
            assert_eq!(out, payloads.map(<[u8]>::to_vec), "{width:?} {chunking}");
        });
        assert_eq!(IntParser::new(width).width(), width);
    }
    assert_eq!(IntWidth::Int16.max_encodable(), 65535);
}
