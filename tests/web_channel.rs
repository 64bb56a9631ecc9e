//! The HTTP/1.1 channel over an in-memory transport: keep-alive, HTTP/1.0, pipelining in
//! order with bounded buffering, chunked bodies both ways, 100-continue, asynchronous
//! answers (NOT_DONE_YET, Deferred, async), writes after the client left, 405 / HEAD /
//! 304, arguments and cookies, and the timeouts on a manual clock (slowloris).

mod web_util;

use std::time::Duration;

use torsion::protocol::ConnectionLost;
use torsion::testing::{assert_same_for_every_chunking, feed_bytewise};
use torsion::web::http::Limits;
use torsion::web::ClientGone;
use torsion::web::SiteOptions;
use web_util::{fixture, fixture_with, parse_responses};

const GET: &[u8] = b"GET /count HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn keep_alive_answers_each_request_on_one_connection() {
    let f = fixture(Limits::default());
    let d = f.driver();
    for i in 1..=3 {
        d.data_received(GET);
        let r = parse_responses(&d.take_written(), &[]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].code, 200);
        assert_eq!(r[0].body, format!("I am request #{i}\n").as_bytes());
        assert_eq!(r[0].header("content-type"), Some("text/plain"));
        assert_eq!(r[0].header("date").map(str::len), Some(29));
        assert!(!d.transport().disconnecting());
    }
}

#[test]
fn connection_close_and_http_1_0_close_after_the_response() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].header("connection"), Some("close"));
    assert!(d.transport().disconnecting());

    let d = f.driver();
    d.data_received(b"GET /count HTTP/1.0\r\n\r\n");
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!((r[0].code, r[0].header("connection")), (200, Some("close")));
    assert!(d.transport().disconnecting());

    // HTTP/1.0 keep-alive is honoured.
    let d = f.driver();
    d.data_received(b"GET /count HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].header("connection"), Some("keep-alive"));
    assert!(!d.transport().disconnecting());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let f = fixture(Limits::default());
    let d = f.driver();
    let mut input = Vec::new();
    input.extend_from_slice(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    input.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    input.extend_from_slice(GET);
    d.data_received(&input);
    // The first is answered later: nothing may be written for the others meanwhile.
    assert_eq!(d.written(), b"");
    let first = f.later.pending.borrow_mut().remove(0);
    first.write(b"first");
    first.finish();
    let r = parse_responses(&d.take_written(), &[]);
    let bodies: Vec<_> = r.iter().map(|r| r.body.clone()).collect();
    assert_eq!(
        bodies,
        [
            b"first".to_vec(),
            b"hello".to_vec(),
            b"I am request #1\n".to_vec()
        ]
    );
}

#[test]
fn pipelined_input_beyond_the_limit_pauses_reading() {
    let limits = Limits {
        max_pipelined_bytes: 1024,
        ..Limits::default()
    };
    let f = fixture(limits);
    let d = f.driver();
    d.data_received(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    for _ in 0..60 {
        d.data_received(GET);
    }
    assert!(d.transport().producer_paused() || d.held_input() > 0);
    let first = f.later.pending.borrow_mut().remove(0);
    first.finish();
    d.run_pending();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r.len(), 61);
    assert_eq!(r[60].body, b"I am request #60\n");
}

#[test]
fn the_same_responses_however_the_input_is_cut() {
    let mut input = Vec::new();
    input.extend_from_slice(GET);
    input.extend_from_slice(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n",
    );
    input.extend_from_slice(b"GET /echo/a%20b/c?x=1&y=%41 HTTP/1.1\r\nHost: x\r\n\r\n");
    let strip = |v: Vec<web_util::Response>| -> Vec<(u16, Vec<u8>)> {
        v.into_iter().map(|r| (r.code, r.body)).collect()
    };
    let f = fixture(Limits::default());
    let d = f.driver();
    feed_bytewise(&d, &input);
    let bytewise = strip(parse_responses(&d.take_written(), &[]));
    let whole = assert_same_for_every_chunking(
        &input,
        || fixture(Limits::default()).site.channel(),
        |d| strip(parse_responses(&d.written(), &[])),
    );
    assert_eq!(whole, bytewise);
    assert_eq!(whole.len(), 3);
    assert_eq!(whole[1].1, b"abcde");
    assert_eq!(whole[2].1, b"/a b/c x=1 y=A");
}

#[test]
fn chunked_responses_and_head() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(
        b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nHEAD /count HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let out = d.take_written();
    let r = parse_responses(&out, &[false, true]);
    assert_eq!(r[0].header("transfer-encoding"), Some("chunked"));
    assert_eq!(r[0].body, b"piece0;piece1;piece2;");
    assert_eq!(r[1].header("content-length"), Some("16"));
    assert!(out.ends_with(b"\r\n\r\n"), "HEAD answered without a body");
    // HTTP/1.0: no chunking, the close ends the body.
    let d = f.driver();
    d.data_received(b"GET /stream HTTP/1.0\r\n\r\n");
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].body, b"piece0;piece1;piece2;");
    assert!(d.transport().disconnecting());
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    assert_eq!(d.take_written(), b"HTTP/1.1 100 Continue\r\n\r\n");
    d.data_received(b"body");
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!((r[0].code, r[0].body.as_slice()), (200, &b"body"[..]));
}

#[test]
fn a_missing_method_is_405_with_allow() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"DELETE /count HTTP/1.1\r\nHost: x\r\n\r\nPUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!((r[0].code, r[0].header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(
        (r[1].code, r[1].header("allow")),
        (405, Some("GET, HEAD, POST"))
    );
    assert!(!d.transport().disconnecting());
}

#[test]
fn unknown_children_are_404() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!((r[0].code, r[1].code), (404, 404));
}

#[test]
fn deferred_and_async_bodies() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(d.written(), b"");
    let def = f.deferring.pending.borrow_mut().remove(0);
    def.callback(b"fired".to_vec()).unwrap();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].body, b"fired");

    d.data_received(b"GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n");
    let def = f.deferring.pending.borrow_mut().remove(0);
    def.errback(torsion::Failure::msg("boom")).unwrap();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].code, 500);
}

#[test]
fn writes_after_the_client_left_do_nothing_and_notify_finish_fails() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    let req = f.later.pending.borrow_mut().remove(0);
    let notified = req.notify_finish();
    d.connection_lost(ConnectionLost::Aborted);
    assert!(req.client_gone());
    req.write(b"ignored");
    req.finish();
    req.finish();
    let failure = notified.take_result().unwrap().unwrap_err();
    assert!(failure.check::<ClientGone>());
    assert_eq!(d.written(), b"");
}

#[test]
fn notify_finish_fires_on_finish() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    let req = f.later.pending.borrow_mut().remove(0);
    let notified = req.notify_finish();
    req.finish();
    assert!(notified.take_result().unwrap().is_ok());
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!((r[0].code, r[0].header("content-length")), (200, Some("0")));
}

#[test]
fn conditional_requests_answer_304() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"GET /later HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"v1\"\r\n\r\n");
    let req = f.later.pending.borrow_mut().remove(0);
    assert!(req.set_etag("\"v1\""));
    req.write(b"not sent");
    req.finish();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!((r[0].code, r[0].header("etag")), (304, Some("\"v1\"")));

    d.data_received(b"GET /later HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
    let req = f.later.pending.borrow_mut().remove(0);
    assert!(req.set_last_modified(784111777));
    req.finish();
    d.data_received(b"GET /later HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
    let req = f.later.pending.borrow_mut().remove(0);
    assert!(!req.set_last_modified(784111778));
    req.finish();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!((r[0].code, r[1].code), (304, 200));
}

#[test]
fn request_details() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(
        b"POST /later/a/b?q=1 HTTP/1.1\r\nHost: example.org:8080\r\nCookie: s=abc; t=\"2\"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nf=x+y&g",
    );
    // POST isn't allowed on Later: 405.
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].code, 405);
    d.data_received(b"GET /later/a/b?q=1&q=2 HTTP/1.1\r\nHost: example.org:8080\r\nCookie: s=abc; t=\"2\"\r\n\r\n");
    let req = f.later.pending.borrow_mut().remove(0);
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri(), "/later/a/b?q=1&q=2");
    assert_eq!(req.path(), "/later/a/b");
    assert_eq!(req.prepath(), [b"later".to_vec()]);
    assert_eq!(req.postpath(), [b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(req.args().len(), 2);
    assert_eq!(req.get_cookie("t"), Some(b"2".to_vec()));
    assert_eq!(req.get_request_hostname().as_deref(), Some("example.org"));
    assert!(!req.is_secure());
    req.add_cookie(
        "k",
        "v",
        &torsion::web::CookieOptions {
            http_only: true,
            path: Some("/".into()),
            ..Default::default()
        },
    );
    req.redirect("/elsewhere");
    req.finish();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].code, 302);
    assert_eq!(r[0].header("location"), Some("/elsewhere"));
    assert_eq!(r[0].header("set-cookie"), Some("k=v; Path=/; HttpOnly"));
}

#[test]
fn slowloris_is_closed_by_the_header_timeout_while_others_are_served() {
    let limits = Limits {
        header_timeout: Some(Duration::from_secs(10)),
        idle_timeout: Some(Duration::from_secs(60)),
        ..Limits::default()
    };
    let f = fixture(limits);
    let slow = f.driver();
    let good = f.driver();
    slow.data_received(b"GET /count HTTP/1.1\r\n");
    for _ in 0..9 {
        f.clock.advance(Duration::from_secs(1));
        slow.data_received(b"X-a: b\r\n"); // activity does not extend the header timeout
        good.data_received(GET);
        assert_eq!(parse_responses(&good.take_written(), &[])[0].code, 200);
    }
    assert!(!slow.transport().disconnecting());
    f.clock.advance(Duration::from_secs(1));
    assert!(slow.transport().disconnecting());
    assert_eq!(parse_responses(&slow.take_written(), &[])[0].code, 408);
    // The well-behaved connection is idle but within its 60 s.
    assert!(!good.transport().disconnecting());
    f.clock.advance(Duration::from_secs(59));
    assert!(good.transport().disconnecting());
    assert_eq!(good.written(), b"", "an idle close writes nothing");
}

#[test]
fn a_silent_connection_is_closed_by_the_header_timeout() {
    let f = fixture(Limits::default());
    let d = f.driver();
    f.clock.advance(Duration::from_secs(9));
    assert!(!d.transport().disconnecting());
    f.clock.advance(Duration::from_secs(1));
    assert!(d.transport().disconnecting());
}

#[test]
fn a_request_being_answered_is_not_timed_out() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    f.clock.advance(Duration::from_secs(600));
    assert!(!d.transport().disconnecting());
    f.later.pending.borrow_mut().remove(0).finish();
    f.clock.advance(Duration::from_secs(60));
    assert!(d.transport().disconnecting());
}

#[test]
fn async_bodies_and_the_access_log() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use torsion::defer::Deferred;
    use torsion::testing::Driver;
    use torsion::web::{Rendered, Request, Resource, Site, SiteOptions};

    struct Awaits(Deferred<u32>);
    impl Resource for Awaits {
        fn is_leaf(&self) -> bool {
            true
        }
        fn render_get(&self, _: &Request) -> Rendered {
            let d = self.0.clone();
            Rendered::from_future(async move {
                let n = d.await?;
                Ok(format!("n={n}").into_bytes())
            })
        }
    }
    let input = Deferred::new();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = lines.clone();
    let options = SiteOptions {
        access_log: Some(Rc::new(move |line: &str| {
            sink.borrow_mut().push(line.to_string())
        })),
        ..SiteOptions::default()
    };
    let site = Site::with_options(Rc::new(Awaits(input.clone())), options);
    let d = Driver::new(site.channel());
    d.data_received(
        b"GET /x?y=\"z\" HTTP/1.1\r\nHost: x\r\nUser-Agent: t/1\r\nReferer: http://r/\r\n\r\n",
    );
    assert_eq!(d.written(), b"");
    input.callback(7).unwrap();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r[0].body, b"n=7");
    let lines = lines.borrow();
    assert_eq!(lines.len(), 1);
    // host - - [date] "request line" status bytes "referer" "user-agent"
    let line = &lines[0];
    assert!(line.starts_with("- - - ["), "{line}"); // (an in-memory peer has no IP)
    assert!(
        line.ends_with("] \"GET /x?y=%22z%22 HTTP/1.1\" 200 3 \"http://r/\" \"t/1\""),
        "{line}"
    );
}

#[test]
fn a_client_that_does_not_read_stops_the_answers_until_it_does() {
    let limits = Limits {
        max_output_backlog: 2000,
        ..Limits::default()
    };
    let f = fixture(limits);
    let d = f.driver();
    d.data_received(&GET.repeat(100));
    let first = d.written().len();
    assert!(
        first > 2000 && first < 3000,
        "stopped just past the backlog limit: {first}"
    );
    assert!(f.counter.n.get() < 100);
    let mut out = Vec::new();
    for _ in 0..1000 {
        out.extend(d.take_written());
        if !d.run_pending() && d.written().is_empty() {
            break;
        }
    }
    out.extend(d.take_written());
    let r = parse_responses(&out, &[]);
    assert_eq!(r.len(), 100);
    assert_eq!(r[99].body, b"I am request #100\n");
}

#[test]
fn fields_the_server_sets_can_be_set_by_the_resource() {
    let f = fixture(Limits::default());
    let d = f.driver();
    d.data_received(
        b"GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /count HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let req = f.later.pending.borrow_mut().remove(0);
    req.set_header("server", "custom/1");
    req.set_header("date", "Sun, 06 Nov 1994 08:49:37 GMT");
    req.set_header("content-length", "2");
    req.set_header("connection", "close");
    req.write(b"ok");
    req.finish();
    let r = parse_responses(&d.take_written(), &[]);
    assert_eq!(r.len(), 1, "the connection closed after it");
    assert_eq!(r[0].header("server"), Some("custom/1"));
    assert_eq!(r[0].header("date"), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
    assert_eq!(r[0].header("connection"), Some("close"));
    assert_eq!(
        r[0].headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("server"))
            .count(),
        1
    );
    assert_eq!(r[0].body, b"ok");
    assert!(d.transport().disconnecting());
    assert_eq!(f.counter.n.get(), 0);
}

#[test]
fn the_server_field_is_sent_unless_the_site_omits_it() {
    let servers = |omit_server_header: bool| {
        let f = fixture_with(SiteOptions {
            omit_server_header,
            ..SiteOptions::default()
        });
        let d = f.driver();
        d.data_received(&GET.repeat(2));
        let r = parse_responses(&d.take_written(), &[]);
        assert_eq!(r.len(), 2);
        for resp in &r {
            assert_eq!(resp.header("date").map(str::len), Some(29));
            assert_eq!(resp.header("content-type"), Some("text/plain"));
        }
        r.iter()
            .map(|resp| resp.header("server").map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(servers(false), vec![Some("torsion".to_string()); 2]);
    assert_eq!(servers(true), vec![None, None]);
}
