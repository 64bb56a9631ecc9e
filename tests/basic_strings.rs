//! `StringProtocol` (netstrings, Int8/16/32) and `Stateful`, with Twisted's
//! `NetstringReceiverTests` and `IntNTestCaseMixin` cases ported, every chunking.

use torsion::protocols::basic::{
    IntWidth, Next, Stateful, StatefulStringProtocol, StringError, StringProtocol, StringReceiver,
    StringTooLong, Strings,
};
use torsion::testing::{assert_same_for_every_chunking, Driver};

#[derive(Default)]
struct Collect {
    strings: Vec<Vec<u8>>,
    errors: Vec<StringError>,
    too_long: Vec<u64>,
}

impl StringReceiver for Collect {
    fn string_received(&mut self, strings: &mut Strings<'_>, string: &[u8]) {
        self.strings.push(string.to_vec());
        if string == b"pause" {
            strings.pause_producing();
        }
        if string == b"close" {
            strings.transport().lose_connection();
        }
    }
    fn length_limit_exceeded(&mut self, strings: &mut Strings<'_>, length: u64) {
        self.too_long.push(length);
        strings.transport().lose_connection();
    }
    fn parse_error(&mut self, strings: &mut Strings<'_>, error: StringError) {
        self.errors.push(error);
        strings.transport().lose_connection();
    }
}

type Outcome = (Vec<Vec<u8>>, Vec<StringError>, Vec<u64>, bool);

fn outcome(d: &Driver<StringProtocol<Collect>>) -> Outcome {
    d.with_protocol(|p| {
        let r = p.receiver();
        (
            r.strings.clone(),
            r.errors.clone(),
            r.too_long.clone(),
            d.transport().disconnecting(),
        )
    })
}

fn netstrings(data: &[u8]) -> Outcome {
    assert_same_for_every_chunking(
        data,
        || StringProtocol::netstring(Collect::default()),
        outcome,
    )
}

fn v(items: &[&[u8]]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.to_vec()).collect()
}

#[test]
fn netstrings_are_split_whatever_the_cut() {
    // Twisted's NetstringReceiverTests.strings, sent as netstrings.
    let payloads: Vec<Vec<u8>> = vec![
        b"hello".to_vec(),
        b"world".to_vec(),
        b"how".to_vec(),
        b"are".to_vec(),
        b"you123".to_vec(),
        b":today".to_vec(),
        vec![b'a'; 515],
        Vec::new(),
    ];
    let mut data = Vec::new();
    for p in &payloads {
        data.extend_from_slice(format!("{}:", p.len()).as_bytes());
        data.extend_from_slice(p);
        data.push(b',');
    }
    let (got, errors, _, closed) = netstrings(&data);
    assert_eq!(got, payloads);
    assert!(errors.is_empty() && !closed);
}

#[test]
fn illegal_netstrings_close_the_connection() {
    // Twisted's illegalStrings.
    for (data, error) in [
        (&b"9999999999999999999999"[..], None),
        (b"abc", Some(StringError::BadLength)),
        (b"4:abcde", Some(StringError::MissingComma)),
        (
            b"51:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,",
            None,
        ),
        (b":", Some(StringError::BadLength)),
        (b"007:abcdefg,", Some(StringError::BadLength)),
        (b"3:abc;", Some(StringError::MissingComma)),
    ] {
        // Twisted's tests set MAX_LENGTH = 50.
        let (got, errors, too_long, closed) = assert_same_for_every_chunking(
            data,
            || StringProtocol::netstring(Collect::default()).with_max_length(50),
            outcome,
        );
        assert!(got.is_empty(), "{}", data.escape_ascii());
        assert!(closed, "{}", data.escape_ascii());
        match error {
            Some(e) => assert_eq!(errors, [e], "{}", data.escape_ascii()),
            None => assert_eq!(too_long.len(), 1, "{}", data.escape_ascii()),
        }
    }
}

#[test]
fn a_netstring_length_over_the_limit_is_refused_before_its_payload() {
    let d = Driver::new(StringProtocol::netstring(Collect::default()).with_max_length(50));
    d.data_received(b"51:");
    assert_eq!(outcome(&d).2, [51]);
    let d = Driver::new(StringProtocol::netstring(Collect::default()));
    d.data_received(b"100000");
    assert_eq!(outcome(&d).2, [100000]);
    d.data_received(b"1:a,"); // ignored: the stream cannot be resynchronised
    assert!(outcome(&d).0.is_empty());
}

#[test]
fn nothing_is_delivered_after_close_or_during_a_pause() {
    let out = netstrings(b"1:a,5:close,1:b,");
    assert_eq!(out.0, v(&[b"a", b"close"]));
    let out = assert_same_for_every_chunking(
        b"\x00\x01a\x00\x05pause\x00\x01b",
        || StringProtocol::int16(Collect::default()),
        outcome,
    );
    assert_eq!(out.0, v(&[b"a", b"pause"]));
}

#[test]
fn a_paused_string_protocol_delivers_the_rest_with_the_next_bytes() {
    let d = Driver::new(StringProtocol::int8(Collect::default()));
    d.data_received(b"\x05pause\x01b\x02c");
    assert_eq!(outcome(&d).0, v(&[b"pause"]));
    d.handle().resume_producing();
    d.run_pending();
    d.data_received(b"d");
    assert_eq!(outcome(&d).0, v(&[b"pause", b"b", b"cd"]));
}

fn int_frames(width: IntWidth, payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        let len = (p.len() as u64).to_be_bytes();
        out.extend_from_slice(&len[8 - width.bytes()..]);
        out.extend_from_slice(p);
    }
    out
}

#[test]
fn int_strings_of_every_width_are_split_whatever_the_cut() {
    let big = vec![b'z'; 300];
    for width in [IntWidth::Int8, IntWidth::Int16, IntWidth::Int32] {
        let payloads: Vec<&[u8]> = if width == IntWidth::Int8 {
            vec![b"a", b"", b"abc", &big[..255], b"x"]
        } else {
            vec![b"a", b"", b"abc", &big, b"x"]
        };
        let out = assert_same_for_every_chunking(
            &int_frames(width, &payloads),
            || StringProtocol::int(Collect::default(), width),
            outcome,
        );
        assert_eq!(out.0, v(&payloads), "{width:?}");
        assert!(!out.3);
    }
}

#[test]
fn an_int_length_over_max_length_calls_length_limit_exceeded() {
    // Twisted's test_lengthLimitExceeded / test_longStringNotDelivered.
    let d = Driver::new(StringProtocol::int32(Collect::default()).with_max_length(10));
    d.data_received(b"\x00\x00\x00\x0bhello world!");
    let (got, _, too_long, closed) = outcome(&d);
    assert!(got.is_empty());
    assert_eq!(too_long, [11]);
    assert!(closed);
    let d = Driver::new(StringProtocol::int32(Collect::default()));
    d.data_received(&[0xff, 0xff, 0xff, 0xff]);
    assert_eq!(outcome(&d).2, [u64::from(u32::MAX)]);
}

#[test]
fn send_string_frames_and_refuses_strings_too_long_for_the_prefix() {
    struct Send;
    impl StringReceiver for Send {
        fn connection_made(&mut self, strings: &mut Strings<'_>) {
            strings.send_string(b"hi").unwrap();
            let long = vec![0u8; 256];
            let r = strings.send_string(&long);
            if strings.max_length() == 99999 && r.is_err() {
                assert_eq!(
                    r,
                    Err(StringTooLong {
                        length: 256,
                        max_length: 255
                    })
                );
                strings.send_string(b"refused").unwrap();
            }
        }
        fn string_received(&mut self, _: &mut Strings<'_>, _: &[u8]) {}
    }
    assert_eq!(
        Driver::new(StringProtocol::int8(Send)).written(),
        b"\x02hi\x07refused"
    );
    let written = Driver::new(StringProtocol::int16(Send)).written();
    assert_eq!(&written[..4], b"\x00\x02hi");
    assert_eq!(written.len(), 4 + 2 + 256);
    let written = Driver::new(StringProtocol::netstring(Send)).written();
    assert!(written.starts_with(b"2:hi,256:\0"));
    assert!(written.ends_with(b"\0,"));
    assert_eq!(
        Driver::new(StringProtocol::int32(Send)).written()[..6],
        *b"\x00\x00\x00\x02hi"
    );
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Init,
    Second,
}

#[derive(Default)]
struct Machine(Vec<String>);

impl StatefulStringProtocol for Machine {
    type State = Phase;
    fn init(&self) -> Phase {
        Phase::Init
    }
    fn proto(&mut self, _: &mut Strings<'_>, state: Phase, string: &[u8]) -> Next<Phase> {
        self.0
            .push(format!("{state:?} {}", String::from_utf8_lossy(string)));
        match (state, string) {
            (_, b"done") => Next::Done,
            (Phase::Init, _) => Next::To(Phase::Second),
            (Phase::Second, _) => Next::To(Phase::Init),
        }
    }
}

#[test]
fn stateful_protocols_walk_their_states_and_done_closes() {
    let out = assert_same_for_every_chunking(
        b"1:a,1:b,1:c,4:done,1:d,",
        || StringProtocol::netstring(Stateful::new(Machine::default())),
        |d| {
            d.with_protocol(|p| {
                (
                    p.receiver().inner().0.clone(),
                    p.receiver().state(),
                    d.transport().disconnecting(),
                )
            })
        },
    );
    assert_eq!(out.0, ["Init a", "Second b", "Init c", "Second done"]);
    assert_eq!(out.1, None);
    assert!(out.2);
}
