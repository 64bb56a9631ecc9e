//! Imap4Client transcripts through the testing kit (no sockets): pipelining through the
//! queue, routing of untagged responses, hooks, literals with continuation, SASL, IDLE,
//! typed fetch results, error paths and unusual replies; one whole session at every
//! chunking.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use torsion::defer::{Deferred, Failure};
use torsion::mail::imap4::{
    BodySection, BodyStructure, ClientProtocol, CramMd5Authenticator, Flag, Imap4Client,
    Imap4Error, Imap4Hooks, LoginAuthenticator, MessageSet, PlainAuthenticator, Query,
};
use torsion::testing::{feed, Chunking, Driver};

const GREETING: &[u8] =
    b"* OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5] hi\r\n";

fn connected() -> (Imap4Client, Driver<ClientProtocol>) {
    let client = Imap4Client::new();
    let server = Driver::new(client.protocol());
    server.data_received(GREETING);
    (client, server)
}

fn written(server: &Driver<ClientProtocol>) -> String {
    String::from_utf8_lossy(&server.take_written()).into_owned()
}

#[track_caller]
fn value<T: 'static>(d: &Deferred<T>) -> T {
    match d.take_result() {
        Some(Ok(v)) => v,
        Some(Err(f)) => panic!("failed: {f}"),
        None => panic!("not fired"),
    }
}

#[track_caller]
fn failure<T: 'static + std::fmt::Debug>(d: &Deferred<T>) -> Imap4Error {
    match d.take_result() {
        Some(Err(f)) => f
            .downcast_ref::<Imap4Error>()
            .expect("an Imap4Error")
            .clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[derive(Default)]
struct Recorder {
    events: RefCell<Vec<String>>,
}

impl Imap4Hooks for Recorder {
    fn server_greeting(&self, caps: &[String]) {
        self.events
            .borrow_mut()
            .push(format!("greeting {}", caps.len()));
    }
    fn new_messages(&self, exists: Option<u32>, recent: Option<u32>) {
        self.events
            .borrow_mut()
            .push(format!("new {exists:?} {recent:?}"));
    }
    fn expunged(&self, seq: u32) {
        self.events.borrow_mut().push(format!("expunged {seq}"));
    }
    fn flags_changed(&self, flags: &BTreeMap<u32, Vec<Flag>>) {
        self.events.borrow_mut().push(format!("flags {flags:?}"));
    }
    fn mailbox_flags(&self, flags: &[Flag]) {
        self.events
            .borrow_mut()
            .push(format!("mailbox flags {}", flags.len()));
    }
    fn mode_changed(&self, writeable: bool) {
        self.events.borrow_mut().push(format!("mode {writeable}"));
    }
}

#[test]
fn commands_wait_for_the_greeting_then_go_one_at_a_time_with_unique_tags() {
    let client = Imap4Client::new();
    let greeted = client.when_greeted();
    let select = client.select("INBOX");
    let flags = client.fetch_flags(&"1:2".parse().unwrap(), false);
    let search = client.search(&Query::unseen(), true);
    let server = Driver::new(client.protocol());
    assert_eq!(written(&server), "", "nothing before the greeting");
    server.data_received(GREETING);
    assert_eq!(value(&greeted).len(), 7);
    assert_eq!(written(&server), "A0001 SELECT \"INBOX\"\r\n");
    // The server answers the first command; the second goes at once, and so on: all the
    // replies may come in one read.
    server.data_received(
        b"* 2 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Deleted $Junk)\r\n\
* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 9] ok\r\nA0001 OK [READ-WRITE] done\r\n\
* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS ())\r\nA0002 OK done\r\n",
    );
    assert_eq!(
        written(&server),
        "A0002 FETCH 1:2 (FLAGS)\r\nA0003 UID SEARCH UNSEEN\r\n"
    );
    server.data_received(b"* SEARCH 4 9\r\nA0003 OK done\r\n");
    let info = value(&select);
    assert_eq!(
        (info.exists, info.recent, info.uid_validity, info.uid_next),
        (2, 0, Some(7), Some(9))
    );
    assert!(info.read_write);
    assert_eq!(
        info.flags,
        [Flag::Seen, Flag::Deleted, Flag::Keyword("$Junk".into())]
    );
    assert_eq!(
        value(&flags),
        BTreeMap::from([(1, vec![Flag::Seen]), (2, vec![])])
    );
    assert_eq!(value(&search), [4, 9]);
}

#[test]
fn unsolicited_responses_reach_the_hooks() {
    let client = Imap4Client::new();
    let hooks = Rc::new(Recorder::default());
    client.set_hooks(hooks.clone());
    let server = Driver::new(client.protocol());
    server.data_received(GREETING);
    let fetch = client.fetch_uid(&MessageSet::one(1), false);
    // During a FETCH: EXISTS and EXPUNGE are not its business, FETCH is.
    server.data_received(b"* 5 EXISTS\r\n* 1 FETCH (UID 10)\r\n* 3 EXPUNGE\r\nA0001 OK ok\r\n");
    assert_eq!(value(&fetch), BTreeMap::from([(1, 10)]));
    let noop = client.noop();
    server.data_received(
        b"* 4 RECENT\r\n* 2 FETCH (FLAGS (\\Deleted))\r\n* FLAGS (\\Seen)\r\n\
* OK [READ-ONLY] now read-only\r\n* OK still here\r\nA0002 OK ok\r\n",
    );
    value(&noop);
    assert_eq!(
        *hooks.events.borrow(),
        [
            "greeting 7",
            "new Some(5) None",
            "expunged 3",
            "new None Some(4)",
            "flags {2: [Deleted]}",
            "mailbox flags 1",
            "mode false",
        ]
    );
}

#[test]
fn append_sends_its_literal_after_the_continuation() {
    let (client, server) = connected();
    server.take_written();
    let message = b"Subject: hi\r\n\r\nhello\r\n".to_vec();
    let appended = client.append(
        "Sent",
        message.clone(),
        &[Flag::Seen],
        Some("01-Jan-2024 10:00:00 +0000"),
    );
    assert_eq!(
        written(&server),
        "A0001 APPEND \"Sent\" (\\Seen) \"01-Jan-2024 10:00:00 +0000\" {22}\r\n"
    );
    server.data_received(b"+ Ready for literal data\r\n");
    assert_eq!(
        server.take_written(),
        [message.as_slice(), b"\r\n"].concat()
    );
    server.data_received(b"A0001 OK [APPENDUID 38505 3955] APPEND completed\r\n");
    let uid = value(&appended).unwrap();
    assert_eq!((uid.uid_validity, uid.uid), (38505, 3955));
}

#[test]
fn login_sends_strings_it_cannot_quote_as_literals() {
    let (client, server) = connected();
    server.take_written();
    let login = client.login("al\"ice", "pässwörd");
    assert_eq!(written(&server), "A0001 LOGIN \"al\\\"ice\" {10}\r\n");
    server.data_received(b"+ go\r\n");
    assert_eq!(written(&server), "pässwörd\r\n");
    server.data_received(b"A0001 OK Logged in\r\n");
    value(&login);
}

#[test]
fn login_then_select_at_once_selects_after_logging_in() {
    let client = Imap4Client::new();
    let server = Driver::new(client.protocol());
    server.data_received(b"* OK no capabilities here\r\n");
    let login = client.login("alice", "secret");
    let select = client.select("INBOX");
    assert_eq!(written(&server), "A0001 CAPABILITY\r\n");
    server.data_received(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA0001 OK done\r\n");
    assert_eq!(written(&server), "A0002 LOGIN \"alice\" \"secret\"\r\n");
    server.data_received(b"A0002 OK Logged in\r\n");
    value(&login);
    assert_eq!(written(&server), "A0003 SELECT \"INBOX\"\r\n");
    server.data_received(b"* 0 EXISTS\r\nA0003 OK [READ-ONLY] done\r\n");
    assert!(!value(&select).read_write);
}

#[test]
fn login_refuses_logindisabled_and_reports_no() {
    let client = Imap4Client::new();
    let server = Driver::new(client.protocol());
    server.data_received(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n");
    assert!(matches!(
        failure(&client.login("a", "b")),
        Imap4Error::Unsupported(_)
    ));
    assert_eq!(written(&server), "");
    let (client, server) = connected();
    server.take_written();
    let login = client.login("alice", "wrong");
    server.data_received(b"A0001 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
    assert_eq!(
        failure(&login),
        Imap4Error::No("[AUTHENTICATIONFAILED] Authentication failed.".into())
    );
    assert!(!server.is_closed(), "a NO is not fatal");
}

#[cfg(feature = "tls")]
#[test]
fn login_upgrades_with_starttls_when_offered_and_configured() {
    let client = Imap4Client::new();
    client.set_tls_config(Some(torsion::tls::TlsClientConfig::new("localhost")));
    let server = Driver::new(client.protocol());
    server.data_received(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
    let login = client.login("alice", "secret");
    assert_eq!(written(&server), "A0001 STARTTLS\r\n");
    server.data_received(b"A0001 OK Begin TLS negotiation now\r\n");
    // The in-memory transport cannot start TLS: the login fails with that, not silently
    // in plain text.
    assert!(matches!(failure(&login), Imap4Error::Tls(_)));
    assert!(!written(&server).contains("LOGIN"));
}

#[test]
fn authenticate_plain_login_and_cram_md5() {
    let (client, server) = connected();
    server.take_written();
    let plain = client.authenticate(PlainAuthenticator::new("alice", "secret"));
    assert_eq!(written(&server), "A0001 AUTHENTICATE PLAIN\r\n");
    server.data_received(b"+ \r\n");
    assert_eq!(written(&server), "AGFsaWNlAHNlY3JldA==\r\n");
    server.data_received(b"A0001 OK done\r\n");
    value(&plain);

    let login = client.authenticate(LoginAuthenticator::new("alice", "secret"));
    assert_eq!(written(&server), "A0002 AUTHENTICATE LOGIN\r\n");
    server.data_received(b"+ VXNlcm5hbWU6\r\n");
    assert_eq!(written(&server), "YWxpY2U=\r\n");
    server.data_received(b"+ UGFzc3dvcmQ6\r\n");
    assert_eq!(written(&server), "c2VjcmV0\r\n");
    server.data_received(b"A0002 OK done\r\n");
    value(&login);

    // RFC 2195's example.
    let cram = client.authenticate(CramMd5Authenticator::new("tim", "tanstaaftanstaaf"));
    assert_eq!(written(&server), "A0003 AUTHENTICATE CRAM-MD5\r\n");
    server.data_received(b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    assert_eq!(
        written(&server),
        "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"
    );
    server.data_received(b"A0003 NO bad secret\r\n");
    assert!(matches!(failure(&cram), Imap4Error::No(_)));

    // A challenge that is not base64 cancels the exchange.
    let bad = client.authenticate(PlainAuthenticator::new("a", "b"));
    written(&server);
    server.data_received(b"+ !!!\r\n");
    assert_eq!(written(&server), "*\r\n");
    server.data_received(b"A0004 BAD cancelled\r\n");
    assert!(matches!(failure(&bad), Imap4Error::Bad(_)));
}

#[test]
fn authenticate_needs_the_mechanism() {
    let client = Imap4Client::new();
    let server = Driver::new(client.protocol());
    server.data_received(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n");
    let d = client.authenticate(CramMd5Authenticator::new("a", "b"));
    assert_eq!(failure(&d), Imap4Error::Unsupported("AUTH=CRAM-MD5".into()));
    assert_eq!(written(&server), "");
}

#[test]
fn idle_then_done_with_news_in_between() {
    let (client, server) = connected();
    let hooks = Rc::new(Recorder::default());
    client.set_hooks(hooks.clone());
    server.take_written();
    let idling = client.idle();
    assert_eq!(written(&server), "A0001 IDLE\r\n");
    let later = client.noop(); // waits for the IDLE to end
    assert!(!idling.called());
    server.data_received(b"+ idling\r\n");
    value(&idling);
    server.data_received(b"* 4 EXISTS\r\n* 1 RECENT\r\n");
    assert_eq!(
        *hooks.events.borrow(),
        ["new Some(4) None", "new None Some(1)"]
    );
    let done = client.done();
    assert_eq!(written(&server), "DONE\r\n");
    server.data_received(b"A0001 OK Idle completed\r\n");
    value(&done);
    assert_eq!(written(&server), "A0002 NOOP\r\n");
    server.data_received(b"A0002 OK done\r\n");
    value(&later);
    assert!(matches!(failure(&client.done()), Imap4Error::Usage(_)));
}

#[test]
fn done_before_the_continuation_is_sent_after_it() {
    let (client, server) = connected();
    server.take_written();
    let idling = client.idle();
    let done = client.done();
    assert_eq!(written(&server), "A0001 IDLE\r\n");
    server.data_received(b"+ idling\r\n");
    assert_eq!(written(&server), "DONE\r\n");
    server.data_received(b"A0001 OK done\r\n");
    value(&idling);
    value(&done);
}

#[test]
fn idle_move_and_uid_expunge_need_their_capabilities() {
    let client = Imap4Client::new();
    let server = Driver::new(client.protocol());
    server.data_received(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
    assert_eq!(
        failure(&client.idle()),
        Imap4Error::Unsupported("IDLE".into())
    );
    let set = MessageSet::one(1);
    assert_eq!(
        failure(&client.move_messages(&set, "X", false)),
        Imap4Error::Unsupported("MOVE".into())
    );
    assert_eq!(
        failure(&client.uid_expunge(&set)),
        Imap4Error::Unsupported("UIDPLUS".into())
    );
    assert_eq!(written(&server), "");
}

#[test]
fn move_copy_store_and_expunge_results() {
    let (client, server) = connected();
    server.take_written();
    let set: MessageSet = "2:3".parse().unwrap();
    let moved = client.move_messages(&set, "Archive", true);
    assert_eq!(written(&server), "A0001 UID MOVE 2:3 \"Archive\"\r\n");
    server.data_received(
        b"* OK [COPYUID 432 2:3 10:11] Moved UIDs.\r\n* 2 EXPUNGE\r\n* 2 EXPUNGE\r\nA0001 OK Move completed\r\n",
    );
    let moved = value(&moved);
    assert_eq!(moved.expunged, [2, 2]);
    let copy_uid = moved.copy_uid.unwrap();
    assert_eq!(
        (copy_uid.uid_validity, copy_uid.destination.to_string()),
        (432, "10:11".to_string())
    );

    let copied = client.copy(&MessageSet::one(1), "Trash", false);
    assert_eq!(written(&server), "A0002 COPY 1 \"Trash\"\r\n");
    server.data_received(b"A0002 OK [COPYUID 9 5 6] done\r\n");
    assert_eq!(value(&copied).unwrap().source.to_string(), "5");

    let stored = client.add_flags(
        &MessageSet::all(),
        &[Flag::Deleted, Flag::Seen],
        false,
        false,
    );
    assert_eq!(
        written(&server),
        "A0003 STORE 1:* +FLAGS (\\Deleted \\Seen)\r\n"
    );
    server.data_received(b"* 1 FETCH (FLAGS (\\Deleted \\Seen))\r\nA0003 OK done\r\n");
    assert_eq!(
        value(&stored),
        BTreeMap::from([(1, vec![Flag::Deleted, Flag::Seen])])
    );
    let silent = client.remove_flags(&MessageSet::one(1), &[Flag::Seen], true, true);
    assert_eq!(
        written(&server),
        "A0004 UID STORE 1 -FLAGS.SILENT (\\Seen)\r\n"
    );
    server.data_received(b"A0004 OK done\r\n");
    assert!(value(&silent).is_empty());

    let expunged = client.expunge();
    server.data_received(b"* 1 EXPUNGE\r\nA0005 OK done\r\n");
    assert_eq!(value(&expunged), [1]);
}

#[test]
fn typed_fetches() {
    let (client, server) = connected();
    server.take_written();
    let one = MessageSet::one(1);
    let envelope = client.fetch_envelope(&one, false);
    server.data_received(
        b"* 1 FETCH (ENVELOPE (\"Mon, 1 Jan 2024 10:01:00 +0000\" \"Test message 1\" ((\"Bob\" NIL \"bob\" \"example.com\")) NIL NIL ((NIL NIL \"alice\" \"example.com\")) NIL NIL NIL \"<msg1@example.com>\"))\r\nA0001 OK done\r\n",
    );
    let e = value(&envelope).remove(&1).unwrap();
    assert_eq!(e.subject.as_deref(), Some("Test message 1"));
    assert_eq!(e.from[0].name.as_deref(), Some("Bob"));
    assert_eq!(e.to[0].email().as_deref(), Some("alice@example.com"));
    assert!(e.sender.is_empty());

    let structure = client.fetch_body_structure(&one, false);
    server.data_received(
        b"* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 18 1 NIL NIL NIL NIL)(\"application\" \"octet-stream\" (\"name\" \"data.bin\") NIL NIL \"base64\" 12 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"XYZ\") NIL NIL NIL))\r\nA0002 OK done\r\n",
    );
    let BodyStructure::Multipart { parts, subtype, .. } = value(&structure).remove(&1).unwrap()
    else {
        panic!()
    };
    assert_eq!(subtype, "mixed");
    assert_eq!(parts[0].mime_type(), "text/plain");
    let BodyStructure::Basic { fields, .. } = &parts[1] else {
        panic!()
    };
    assert_eq!(
        (fields.size, fields.params["name"].as_str()),
        (12, "data.bin")
    );

    let section = BodySection::header_fields(["SUBJECT"]).peek();
    let specific = client.fetch_specific(&one, &section, true);
    assert_eq!(
        written(&server).lines().last().unwrap(),
        "A0003 UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
    );
    server.data_received(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {14}\r\nSubject: x\r\n\r\n)\r\nA0003 OK done\r\n");
    assert_eq!(value(&specific)[&1], b"Subject: x\r\n\r\n");

    let size = client.fetch_size(&one, false);
    let date = client.fetch_internal_date(&one, false);
    let message = client.fetch_message(&one, false);
    let headers = client.fetch_headers(&one, false);
    server.data_received(
        b"* 1 FETCH (RFC822.SIZE 120)\r\nA0004 OK done\r\n\
* 1 FETCH (INTERNALDATE \"01-Jan-2024 10:01:00 +0000\")\r\nA0005 OK done\r\n\
* 1 FETCH (RFC822 {4}\r\nabcd)\r\nA0006 OK done\r\n\
* 1 FETCH (RFC822.HEADER {2}\r\nab FLAGS (\\Seen))\r\nA0007 OK done\r\n",
    );
    assert_eq!(value(&size)[&1], 120);
    assert_eq!(value(&date)[&1], "01-Jan-2024 10:01:00 +0000");
    assert_eq!(value(&message)[&1], b"abcd");
    assert_eq!(value(&headers)[&1], b"ab");

    // An item that is there but malformed is an error, not a silent gap.
    let broken = client.fetch_envelope(&one, false);
    server.data_received(b"* 1 FETCH (ENVELOPE (\"too short\"))\r\nA0008 OK done\r\n");
    assert!(matches!(failure(&broken), Imap4Error::IllegalResponse(_)));
}

#[test]
fn list_status_namespace_and_mailbox_names() {
    let (client, server) = connected();
    server.take_written();
    let created = client.create("Entwürfe");
    assert_eq!(written(&server), "A0001 CREATE \"Entw&APw-rfe\"\r\n");
    server.data_received(b"A0001 OK done\r\n");
    value(&created);
    let list = client.list("", "*");
    server.data_received(
        b"* LIST (\\HasNoChildren) \".\" INBOX\r\n* LIST (\\HasNoChildren \\Drafts) \".\" \"Entw&APw-rfe\"\r\nA0002 OK done\r\n",
    );
    let list = value(&list);
    assert_eq!(list[1].name, "Entwürfe");
    assert_eq!(list[1].attributes, ["\\HasNoChildren", "\\Drafts"]);
    assert_eq!(list[0].delimiter.as_deref(), Some("."));
    let status = client.status("INBOX", &["MESSAGES", "UIDNEXT"]);
    assert_eq!(
        written(&server).lines().last().unwrap(),
        "A0003 STATUS \"INBOX\" (MESSAGES UIDNEXT)"
    );
    server.data_received(b"* STATUS INBOX (MESSAGES 3 UIDNEXT 4)\r\nA0003 OK done\r\n");
    assert_eq!(value(&status)["UIDNEXT"], 4);
    let ns = client.namespace();
    server.data_received(
        b"* NAMESPACE ((\"\" \".\")) NIL ((\"Shared.\" \".\"))\r\nA0004 OK done\r\n",
    );
    let ns = value(&ns);
    assert_eq!(ns.personal, [("".to_string(), Some(".".to_string()))]);
    assert!(ns.other_users.is_empty());
    assert_eq!(ns.shared[0].0, "Shared.");
}

#[test]
fn search_with_and_or_not_and_utf8() {
    let (client, server) = connected();
    server.take_written();
    let q =
        Query::since("1-Jan-2024").and(Query::or(Query::from("bob"), Query::not(Query::seen())));
    drop(client.search(&q, false));
    assert_eq!(
        written(&server),
        "A0001 SEARCH SINCE 1-Jan-2024 OR FROM \"bob\" NOT SEEN\r\n"
    );
    server.data_received(b"* SEARCH\r\nA0001 OK done\r\n");
    let d = client.search(&Query::subject("grüße"), true);
    assert_eq!(
        written(&server),
        "A0002 UID SEARCH CHARSET UTF-8 SUBJECT {7}\r\n"
    );
    server.data_received(b"+ go\r\n");
    assert_eq!(written(&server), "grüße\r\n");
    server.data_received(b"* SEARCH 7\r\nA0002 OK done\r\n");
    assert_eq!(value(&d), [7]);
}

#[test]
fn garbage_fails_every_pending_command_and_closes() {
    let (client, server) = connected();
    let select = client.select("INBOX");
    let fetch = client.fetch_uid(&MessageSet::one(1), false);
    server.data_received(b"* 1 EXISTS\r\nHTTP/1.1 400 Bad Request\r\n");
    for e in [failure(&select), failure(&fetch)] {
        let Imap4Error::Parse(p) = e else {
            panic!("{e:?}")
        };
        assert!(p.message().contains("expected OK, NO or BAD"), "{p}");
    }
    assert!(server.transport().disconnecting());
    server.take_written();
    server.run_pending();
    assert!(server.is_closed());
    // Later commands fail at once with the same reason.
    assert!(matches!(failure(&client.noop()), Imap4Error::Parse(_)));
}

#[test]
fn a_tagged_response_for_nobody_is_fatal() {
    let (client, server) = connected();
    let noop = client.noop();
    server.data_received(b"A0042 OK what?\r\n");
    assert!(matches!(failure(&noop), Imap4Error::IllegalResponse(_)));
    assert!(server.transport().disconnecting() || server.is_closed());
}

#[test]
fn a_lost_connection_fails_everything_but_logout() {
    let (client, server) = connected();
    let select = client.select("INBOX");
    let queued = client.noop();
    server.connection_lost(torsion::protocol::ConnectionLost::Done);
    assert!(matches!(failure(&select), Imap4Error::ConnectionLost(_)));
    assert!(matches!(failure(&queued), Imap4Error::ConnectionLost(_)));
    assert!(matches!(
        failure(&client.noop()),
        Imap4Error::ConnectionLost(_)
    ));

    let (client, server) = connected();
    server.take_written();
    let logout = client.logout();
    assert_eq!(written(&server), "A0001 LOGOUT\r\n");
    server.data_received(b"* BYE Logging out\r\n");
    server.connection_lost(torsion::protocol::ConnectionLost::Done);
    value(&logout);

    let (client, server) = connected();
    let logout = client.logout();
    server.data_received(b"* BYE bye\r\nA0001 OK Logout completed\r\n");
    value(&logout);
    assert!(server.transport().disconnecting() || server.is_closed());
}

#[test]
fn a_bye_greeting_refuses_the_connection() {
    let client = Imap4Client::new();
    let greeted = client.when_greeted();
    let noop = client.noop();
    let server = Driver::new(client.protocol());
    server.data_received(b"* BYE Too many connections\r\n");
    server.connection_lost(torsion::protocol::ConnectionLost::Done);
    for e in [failure(&greeted).to_string(), failure(&noop).to_string()] {
        assert!(e.contains("BYE Too many connections"), "{e}");
    }
    // Anything but a greeting first is an error.
    let client = Imap4Client::new();
    let greeted = client.when_greeted();
    let server = Driver::new(client.protocol());
    server.data_received(b"A1 OK hello\r\n");
    assert!(matches!(failure(&greeted), Imap4Error::IllegalResponse(_)));
}

#[test]
fn callbacks_may_issue_commands() {
    let (client, server) = connected();
    server.take_written();
    let c = client.clone();
    let chained: Rc<RefCell<Option<Deferred<()>>>> = Rc::default();
    let slot = chained.clone();
    drop(client.select("INBOX").add_callback(move |_| {
        *slot.borrow_mut() = Some(c.noop());
        Ok::<(), Failure>(())
    }));
    server.data_received(b"A0001 OK done\r\n");
    assert_eq!(written(&server), "A0001 SELECT \"INBOX\"\r\nA0002 NOOP\r\n");
    server.data_received(b"A0002 OK done\r\n");
    value(chained.borrow().as_ref().unwrap());
}

/// One session with literals, continuations and unsolicited news, fed whole, in chunks of
/// 1..9 bytes and split at every position: the same results and the same bytes out.
#[test]
fn a_whole_session_at_every_chunking() {
    let replies: &[u8] = b"* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n\
A0001 OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] Logged in\r\n\
* 3 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\nA0002 OK [READ-WRITE] done\r\n\
* 1 FETCH (UID 1 BODY[] {12}\r\nHi (there)\r\n)\r\n* 4 EXISTS\r\nA0003 OK done\r\n\
+ go ahead\r\nA0004 OK [APPENDUID 5 9] done\r\n\
* BYE bye\r\nA0005 OK bye\r\n";
    let outcome = |chunking: Chunking| {
        let client = Imap4Client::new();
        let hooks = Rc::new(Recorder::default());
        client.set_hooks(hooks.clone());
        let server = Driver::new(client.protocol());
        let login = client.login("alice", "secret");
        let select = client.select("INBOX");
        let body = client.fetch_specific(&MessageSet::one(1), &BodySection::whole(), false);
        let appended = client.append("INBOX", b"x".to_vec(), &[], None);
        let logout = client.logout();
        feed(&server, replies, chunking);
        (
            value(&login),
            value(&select).exists,
            value(&body),
            value(&appended).map(|a| a.uid),
            value(&logout),
            hooks.events.take(),
            server.written(),
        )
    };
    let whole = outcome(Chunking::Whole);
    assert_eq!(whole.2[&1], b"Hi (there)\r\n");
    assert_eq!(whole.3, Some(9));
    assert_eq!(whole.5, ["greeting 2", "new Some(4) None"]);
    for chunking in Chunking::standard(replies.len()) {
        assert_eq!(outcome(chunking), whole, "{chunking}");
    }
}

#[test]
fn a_silent_server_times_out_but_an_idle_does_not() {
    use std::time::Duration;
    use torsion::time::Clock;

    let clock = Clock::new();
    let (client, server) = connected();
    client.set_time(Rc::new(clock.clone()));
    client.set_timeout(Some(Duration::from_secs(10)));
    clock.advance(Duration::from_secs(60)); // nothing running: no timeout
    let idling = client.idle();
    server.data_received(b"+ idling\r\n");
    value(&idling);
    clock.advance(Duration::from_secs(60)); // idling: no timeout
    let done = client.done();
    clock.advance(Duration::from_secs(9));
    server.data_received(b"* 3 EXISTS\r\n"); // the server spoke: the wait starts again
    clock.advance(Duration::from_secs(9));
    assert!(!done.called());
    let queued = client.noop();
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        failure(&done),
        Imap4Error::TimedOut(Duration::from_secs(10))
    );
    assert_eq!(
        failure(&queued),
        Imap4Error::TimedOut(Duration::from_secs(10))
    );
    assert!(server.transport().disconnecting() || server.is_closed());
}
