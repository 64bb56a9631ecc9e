//! IMAP4rev1 client (Twisted's `twisted.mail.imap4.IMAP4Client`): a sans-IO response
//! parser, the types commands take and give, and the client protocol whose every command
//! returns a [`Deferred`](crate::defer::Deferred).
//!
//! ```no_run
//! use torsion::defer::Deferred;
//! use torsion::endpoints::{client_from_string, connect_protocol};
//! use torsion::mail::imap4::{Imap4Client, MessageSet};
//! use torsion::task::react;
//!
//! let status = react(|reactor| {
//!     let reactor = reactor.clone();
//!     Deferred::from_future(async move {
//!         let endpoint = client_from_string(&reactor, "tls:imap.example.com:993")?;
//!         let client = Imap4Client::new();
//!         connect_protocol(&endpoint, client.protocol()).await?;
//!         client.login("alice", "secret").await?;
//!         let inbox = client.select("INBOX").await?;
//!         println!("{} messages", inbox.exists);
//!         let envelopes = client.fetch_envelope(&MessageSet::one(1), false).await?;
//!         println!("{:?}", envelopes[&1].subject);
//!         client.logout().await?;
//!         Ok(())
//!     })
//! });
//! std::process::exit(status);
//! ```
//!
//! # Pieces
//!
//! * [`ResponseParser`] (`parser/`): bytes to [`Response`]s; streaming literals, named
//!   [`Limits`]. See its module docs for the design and the limits.
//! * Types (`types/`): [`MessageSet`], [`Flag`], [`Envelope`], [`Address`],
//!   [`BodyStructure`], [`BodySection`], [`Query`], [`encode_mailbox_name`] /
//!   [`decode_mailbox_name`] (modified UTF-7).
//! * [`Imap4Client`] (`client/`): queued commands with unique tags, untagged responses
//!   routed to their command, unsolicited ones to [`Imap4Hooks`]; STARTTLS, IDLE, MOVE,
//!   UIDPLUS.
//! * Authenticators (`auth/`): [`PlainAuthenticator`], [`LoginAuthenticator`],
//!   [`CramMd5Authenticator`] (with a small, tested MD5 / HMAC-MD5 instead of a crate).
//!
//! # Twisted → torsion
//!
//! | Twisted (`twisted.mail.imap4`) | torsion (`torsion::mail::imap4`) |
//! |---|---|
//! | `IMAP4Client` | [`Imap4Client`] (a handle) + [`ClientProtocol`] (`client.protocol()`) |
//! | `getCapabilities(useCache)`, `noop`, `logout`, `startTLS(ctx)` | [`capability`](Imap4Client::capability), [`noop`](Imap4Client::noop), [`logout`](Imap4Client::logout), [`start_tls`](Imap4Client::start_tls) |
//! | `IMAP4Client(contextFactory)` | [`set_tls_config`](Imap4Client::set_tls_config) |
//! | `IMAP4Client.timeout` (`TimeoutMixin`) | [`set_timeout`](Imap4Client::set_timeout) ([`Imap4Error::TimedOut`]) |
//! | `login`, `authenticate(secret)` + `registerAuthenticator` | [`login`](Imap4Client::login), [`authenticate`](Imap4Client::authenticate)`(authenticator)` |
//! | `select`, `examine` → dict | [`select`](Imap4Client::select), [`examine`](Imap4Client::examine) → [`MailboxInfo`] |
//! | `create`, `delete`, `rename`, `subscribe`, `unsubscribe`, `list`, `lsub`, `status`, `append`, `check`, `close`, `expunge`, `namespace` | same names |
//! | `search(*queries, uid)`, `Query`, `Or`, `Not` | [`search`](Imap4Client::search)`(&query, uid)`, [`Query`], [`Query::or`], [`Query::not`] |
//! | `fetchUID`, `fetchFlags`, `fetchInternalDate`, `fetchEnvelope`, `fetchBodyStructure`, `fetchMessage`, `fetchHeaders`, `fetchSize`, `fetchSpecific` | `fetch_uid` ... [`fetch_specific`](Imap4Client::fetch_specific)`(set, &BodySection, uid)`; any items: [`fetch`](Imap4Client::fetch) |
//! | `setFlags`, `addFlags`, `removeFlags`, `copy` | [`set_flags`](Imap4Client::set_flags), [`add_flags`](Imap4Client::add_flags), [`remove_flags`](Imap4Client::remove_flags), [`copy`](Imap4Client::copy) |
//! | `serverGreeting`, `newMessages`, `flagsChanged`, `modeChanged` | [`Imap4Hooks`] (and [`when_greeted`](Imap4Client::when_greeted)) |
//! | `MessageSet`, `parseIdList` | [`MessageSet`] (`"1:3,5:*".parse()`) |
//! | `parseNestedParens`, `_FetchParser` | [`ResponseParser`], [`Value`], [`FetchData`] |
//! | `imap4-utf-7` codec | [`encode_mailbox_name`], [`decode_mailbox_name`] |
//! | `IMAP4Exception`, `IllegalServerResponse`, `NoSupportedAuthentication` | [`Imap4Error`] |
//! | (not in Twisted's client) | [`idle`](Imap4Client::idle) / [`done`](Imap4Client::done), [`move_messages`](Imap4Client::move_messages), [`uid_expunge`](Imap4Client::uid_expunge), [`AppendUid`], [`CopyUid`] |
//!
//! Not here: the server side (`IMAP4Server`), `fetchSimplifiedBody` / `fetchFull` /
//! `fetchAll` / `fetchFast` (use [`fetch`](Imap4Client::fetch) with those macros),
//! spooling big
//! literals to a temporary file (they stay in memory, bounded by [`Limits`]),
//! `LITERAL+`, `CONDSTORE`, `COMPRESS`.
//!
//! Tests: unit tests in each file; `tests/imap_parser.rs` (every chunking, byte by byte,
//! limits, garbage), `tests/imap_client.rs` (transcripts through the testing kit),
//! `tests/imap_dovecot.rs` (a real Dovecot, plain + STARTTLS + IMAPS, and the
//! `imap_fetch` example), `tests/fuzz_corpus.rs` (the `imap_response` corpus).

pub mod auth;
pub mod client;
pub mod fuzzing;
pub mod parser;
pub mod types;

pub use auth::{Authenticator, CramMd5Authenticator, LoginAuthenticator, PlainAuthenticator};
pub use client::{
    AppendUid, ClientProtocol, Completed, CopyUid, FetchData, Imap4Client, Imap4Error, Imap4Hooks,
    ListEntry, MailboxInfo, MoveResult, Namespace, Namespaces, PerMessage,
};
pub use parser::{
    Limits, ParseError, Response, ResponseCode, ResponseParser, Status, StatusText, Untagged,
    Value, DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LITERALS,
    DEFAULT_MAX_LITERAL_SIZE, DEFAULT_MAX_RESPONSE_SIZE, LITERAL_PREALLOCATION,
};
pub use types::{
    decode_mailbox_name, encode_mailbox_name, Address, BadMailboxName, BadMessageSet, BodyFields,
    BodySection, BodyStructure, Envelope, Flag, MessageSet, Query, SectionText, SeqNumber,
};
