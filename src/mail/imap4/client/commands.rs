//! The commands of [`Imap4Client`], each returning a Deferred.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::error::Imap4Error;
use super::results::{self, each, flags_value, AppendUid, Completed, CopyUid, FetchData};
use super::results::{ListEntry, MailboxInfo, MoveResult, Namespaces};
use super::wire::CommandLine;
use super::{IdleState, Imap4Client, Pending, Special};
use crate::defer::{fail, Deferred, Failure};
use crate::mail::imap4::auth::Authenticator;
use crate::mail::imap4::types::{BodySection, BodyStructure, Envelope, Flag, MessageSet, Query};

/// Message number to a value, for the `fetch_*` and `STORE` results.
pub type PerMessage<T> = BTreeMap<u32, T>;

fn map<T: 'static>(
    d: Deferred<Completed>,
    f: impl FnOnce(Completed) -> Result<T, Imap4Error> + 'static,
) -> Deferred<T> {
    d.add_callback(move |c| f(c).map_err(Failure::new))
}

fn unit(d: Deferred<Completed>) -> Deferred<()> {
    d.add_callback(|_| Ok(()))
}

fn has(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn uid_name(uid: bool, name: &str) -> CommandLine {
    CommandLine::new(&if uid {
        format!("UID {name}")
    } else {
        name.to_string()
    })
}

fn flag_list(flags: &[Flag]) -> String {
    let names: Vec<String> = flags.iter().map(Flag::to_string).collect();
    format!("({})", names.join(" "))
}

impl Imap4Client {
    fn command(&self, line: CommandLine, claims: &'static [&'static str]) -> Deferred<Completed> {
        self.submit(line, claims, Special::None)
    }

    /// `CAPABILITY`: the server's capabilities, upper-cased (Twisted's
    /// `getCapabilities(useCache)`); with `use_cache`, the last announced ones if known
    /// (before the greeting, it waits for the greeting's).
    pub fn capability(&self, use_cache: bool) -> Deferred<Vec<String>> {
        if use_cache {
            if let Some(caps) = self.cached_capabilities() {
                return crate::defer::succeed(caps);
            }
            if !self.is_greeted() {
                // The greeting may announce them.
                let c = self.clone();
                return self
                    .when_greeted()
                    .add_callback(move |_| c.capability(true));
            }
        }
        let client = self.clone();
        map(
            self.command(CommandLine::new("CAPABILITY"), &["CAPABILITY"]),
            move |_| Ok(client.cached_capabilities().unwrap_or_default()),
        )
    }

    /// `NOOP` (unsolicited news reaches the hooks).
    pub fn noop(&self) -> Deferred<()> {
        unit(self.command(CommandLine::new("NOOP"), &[]))
    }

    /// `LOGOUT`; succeeds when the server confirms or closes the connection.
    pub fn logout(&self) -> Deferred<()> {
        unit(self.submit(CommandLine::new("LOGOUT"), &["BYE"], Special::Logout))
    }

    /// `STARTTLS`, then TLS with `config` on this connection (Twisted's `startTLS`). Fails
    /// with [`Imap4Error::Unsupported`] if the server does not offer it. The cached
    /// capabilities are dropped (the next `capability` asks again).
    #[cfg(feature = "tls")]
    pub fn start_tls(&self, config: crate::tls::TlsClientConfig) -> Deferred<()> {
        let c = self.internal();
        self.compound(async move {
            let caps = c.capability(true).await?;
            if !has(&caps, "STARTTLS") {
                return Err(Failure::new(Imap4Error::Unsupported("STARTTLS".into())));
            }
            if c.is_secure() {
                return Err(Failure::new(Imap4Error::Usage("already secure".into())));
            }
            let line = CommandLine::new("STARTTLS");
            c.submit(line, &[], Special::StartTls(config)).await?;
            Ok(())
        })
    }

    /// The capabilities, after upgrading with STARTTLS if the server offers it, the
    /// connection is not secure yet and a TLS configuration was set.
    async fn upgraded_capabilities(c: &Imap4Client) -> Result<Vec<String>, Failure> {
        let caps = c.capability(true).await?;
        #[cfg(feature = "tls")]
        {
            let config = c.inner.borrow().tls_config.clone();
            if let Some(config) = config.filter(|_| has(&caps, "STARTTLS") && !c.is_secure()) {
                c.submit(CommandLine::new("STARTTLS"), &[], Special::StartTls(config))
                    .await?;
                return c.capability(false).await;
            }
        }
        Ok(caps)
    }

    /// `LOGIN user password`, after STARTTLS when the server offers it and a TLS
    /// configuration is set ([`set_tls_config`](Imap4Client::set_tls_config)) and the
    /// connection is not secure yet (Twisted's `login`). Fails with
    /// [`Imap4Error::Unsupported`] if the server says `LOGINDISABLED`. Commands issued
    /// after it run after it.
    pub fn login(&self, user: &str, password: &str) -> Deferred<()> {
        let (user, password) = (user.to_string(), password.to_string());
        let c = self.internal();
        self.compound(async move {
            let caps = Imap4Client::upgraded_capabilities(&c).await?;
            if has(&caps, "LOGINDISABLED") {
                let why = "LOGINDISABLED (no TLS configuration to upgrade with STARTTLS?)";
                return Err(Failure::new(Imap4Error::Unsupported(why.into())));
            }
            let mut line = CommandLine::new("LOGIN");
            line.string(user.as_bytes()).string(password.as_bytes());
            c.command(line, &[]).await?;
            Ok(())
        })
    }

    /// `AUTHENTICATE` with a SASL mechanism ([`PlainAuthenticator`](crate::mail::imap4::PlainAuthenticator),
    /// [`LoginAuthenticator`](crate::mail::imap4::LoginAuthenticator),
    /// [`CramMd5Authenticator`](crate::mail::imap4::CramMd5Authenticator)), after
    /// STARTTLS as [`login`](Imap4Client::login) does. Fails with
    /// [`Imap4Error::Unsupported`] if the server does not announce `AUTH=<name>`.
    pub fn authenticate(&self, authenticator: impl Authenticator + 'static) -> Deferred<()> {
        let c = self.internal();
        let auth: Box<dyn Authenticator> = Box::new(authenticator);
        self.compound(async move {
            let caps = Imap4Client::upgraded_capabilities(&c).await?;
            let name = auth.name().to_string();
            if !has(&caps, &format!("AUTH={name}")) {
                return Err(Failure::new(Imap4Error::Unsupported(format!(
                    "AUTH={name}"
                ))));
            }
            let mut line = CommandLine::new("AUTHENTICATE");
            line.arg(&name);
            c.submit(line, &[], Special::Authenticate(auth)).await?;
            Ok(())
        })
    }

    /// `NAMESPACE` (RFC 2342).
    pub fn namespace(&self) -> Deferred<Namespaces> {
        map(
            self.command(CommandLine::new("NAMESPACE"), &["NAMESPACE"]),
            results::namespaces,
        )
    }

    fn open(&self, name: &str, mailbox: &str) -> Deferred<MailboxInfo> {
        let mut line = CommandLine::new(name);
        line.mailbox(mailbox);
        let claims = &["FLAGS", "EXISTS", "RECENT", "OK"];
        map(self.command(line, claims), results::mailbox_info)
    }

    /// `SELECT mailbox` (read-write if allowed).
    pub fn select(&self, mailbox: &str) -> Deferred<MailboxInfo> {
        self.open("SELECT", mailbox)
    }

    /// `EXAMINE mailbox` (read-only).
    pub fn examine(&self, mailbox: &str) -> Deferred<MailboxInfo> {
        self.open("EXAMINE", mailbox)
    }

    fn on_mailbox(&self, name: &str, mailbox: &str) -> Deferred<()> {
        let mut line = CommandLine::new(name);
        line.mailbox(mailbox);
        unit(self.command(line, &[]))
    }

    /// `CREATE mailbox`.
    pub fn create(&self, mailbox: &str) -> Deferred<()> {
        self.on_mailbox("CREATE", mailbox)
    }

    /// `DELETE mailbox`.
    pub fn delete(&self, mailbox: &str) -> Deferred<()> {
        self.on_mailbox("DELETE", mailbox)
    }

    /// `RENAME from to`.
    pub fn rename(&self, from: &str, to: &str) -> Deferred<()> {
        let mut line = CommandLine::new("RENAME");
        line.mailbox(from).mailbox(to);
        unit(self.command(line, &[]))
    }

    /// `SUBSCRIBE mailbox`.
    pub fn subscribe(&self, mailbox: &str) -> Deferred<()> {
        self.on_mailbox("SUBSCRIBE", mailbox)
    }

    /// `UNSUBSCRIBE mailbox`.
    pub fn unsubscribe(&self, mailbox: &str) -> Deferred<()> {
        self.on_mailbox("UNSUBSCRIBE", mailbox)
    }

    /// `LIST reference pattern` (`*` and `%` are wildcards).
    pub fn list(&self, reference: &str, pattern: &str) -> Deferred<Vec<ListEntry>> {
        let mut line = CommandLine::new("LIST");
        line.mailbox(reference).mailbox(pattern);
        map(self.command(line, &["LIST"]), results::list_entries)
    }

    /// `LSUB reference pattern`: the subscribed mailboxes.
    pub fn lsub(&self, reference: &str, pattern: &str) -> Deferred<Vec<ListEntry>> {
        let mut line = CommandLine::new("LSUB");
        line.mailbox(reference).mailbox(pattern);
        map(self.command(line, &["LSUB"]), results::list_entries)
    }

    /// `STATUS mailbox (names)`: `MESSAGES`, `RECENT`, `UIDNEXT`, `UIDVALIDITY`,
    /// `UNSEEN` ... to their values (names upper-cased).
    pub fn status(&self, mailbox: &str, names: &[&str]) -> Deferred<BTreeMap<String, u64>> {
        let mut line = CommandLine::new("STATUS");
        line.mailbox(mailbox).arg(&format!("({})", names.join(" ")));
        map(self.command(line, &["STATUS"]), results::status_items)
    }

    /// `APPEND mailbox (flags) "date" {n}` and the message as a literal, sent after the
    /// server's continuation. With UIDPLUS, the new message's UID.
    pub fn append(
        &self,
        mailbox: &str,
        message: impl Into<Vec<u8>>,
        flags: &[Flag],
        date: Option<&str>,
    ) -> Deferred<Option<AppendUid>> {
        let mut line = CommandLine::new("APPEND");
        line.mailbox(mailbox);
        if !flags.is_empty() {
            line.arg(&flag_list(flags));
        }
        if let Some(date) = date {
            line.string(date.as_bytes());
        }
        line.raw(b" ").literal(message.into());
        map(self.command(line, &[]), |c| {
            Ok(results::append_uid(c.status.code.as_ref()))
        })
    }

    /// `CHECK`.
    pub fn check(&self) -> Deferred<()> {
        unit(self.command(CommandLine::new("CHECK"), &[]))
    }

    /// `CLOSE`: expunges silently and leaves the selected state.
    pub fn close(&self) -> Deferred<()> {
        unit(self.command(CommandLine::new("CLOSE"), &[]))
    }

    /// `EXPUNGE`: the sequence numbers expunged, in the order sent.
    pub fn expunge(&self) -> Deferred<Vec<u32>> {
        map(
            self.command(CommandLine::new("EXPUNGE"), &["EXPUNGE"]),
            results::numbers,
        )
    }

    /// Fails unless the server announces `capability` (asking it first if unknown).
    fn requiring<T: 'static>(
        &self,
        capability: &'static str,
        then: impl FnOnce(&Imap4Client) -> Deferred<T> + 'static,
    ) -> Deferred<T> {
        let unsupported = || fail(Imap4Error::Unsupported(capability.into()));
        match self.cached_capabilities() {
            Some(caps) if has(&caps, capability) => then(self),
            Some(_) => unsupported(),
            None => {
                let c = self.internal();
                self.compound(async move {
                    let caps = c.capability(true).await?;
                    if !has(&caps, capability) {
                        return Err(Failure::new(Imap4Error::Unsupported(capability.into())));
                    }
                    then(&c).await
                })
            }
        }
    }

    /// `UID EXPUNGE set` (UIDPLUS): expunges only those of `uids` marked `\Deleted`.
    pub fn uid_expunge(&self, uids: &MessageSet) -> Deferred<Vec<u32>> {
        let set = uids.to_string();
        self.requiring("UIDPLUS", move |c| {
            let mut line = CommandLine::new("UID EXPUNGE");
            line.arg(&set);
            map(c.command(line, &["EXPUNGE"]), results::numbers)
        })
    }

    /// `SEARCH criteria` (`UID SEARCH` with `uid`): the matching numbers (UIDs with
    /// `uid`). `CHARSET UTF-8` is added when a string is not ASCII.
    pub fn search(&self, query: &Query, uid: bool) -> Deferred<Vec<u32>> {
        let mut line = uid_name(uid, "SEARCH");
        if query.needs_utf8() {
            line.arg("CHARSET UTF-8");
        }
        query.write(&mut line, false);
        map(self.command(line, &["SEARCH"]), results::numbers)
    }

    /// `FETCH set items` (`UID FETCH` with `uid`; `set` then holds UIDs): each message's
    /// items, by sequence number. `items` is IMAP syntax: `(FLAGS UID)`, `FAST` ...
    pub fn fetch(
        &self,
        set: &MessageSet,
        items: &str,
        uid: bool,
    ) -> Deferred<PerMessage<FetchData>> {
        if set.is_empty() {
            return fail(Imap4Error::Usage("empty message set".into()));
        }
        let mut line = uid_name(uid, "FETCH");
        line.arg(&set.to_string()).arg(items);
        map(self.command(line, &["FETCH"]), results::fetch_data)
    }

    fn fetch_each<T: 'static>(
        &self,
        set: &MessageSet,
        items: &str,
        uid: bool,
        key: &'static str,
        item: impl FnMut(&mut FetchData) -> Option<T> + 'static,
    ) -> Deferred<PerMessage<T>> {
        self.fetch(set, items, uid)
            .add_callback(move |data| each(data, key, item).map_err(Failure::new))
    }

    /// The UIDs (Twisted's `fetchUID`).
    pub fn fetch_uid(&self, set: &MessageSet, uid: bool) -> Deferred<PerMessage<u32>> {
        self.fetch_each(set, "(UID)", uid, "UID", |d| {
            d.get("UID")?
                .as_number()
                .and_then(|n| u32::try_from(n).ok())
        })
    }

    /// The flags (`fetchFlags`).
    pub fn fetch_flags(&self, set: &MessageSet, uid: bool) -> Deferred<PerMessage<Vec<Flag>>> {
        self.fetch_each(set, "(FLAGS)", uid, "FLAGS", |d| {
            flags_value(d.get("FLAGS")?)
        })
    }

    /// The internal dates, as sent (`fetchInternalDate`): `01-Jan-2024 10:01:00 +0000`.
    pub fn fetch_internal_date(&self, set: &MessageSet, uid: bool) -> Deferred<PerMessage<String>> {
        self.fetch_each(set, "(INTERNALDATE)", uid, "INTERNALDATE", |d| {
            d.get("INTERNALDATE")?.as_text()
        })
    }

    /// The envelopes (`fetchEnvelope`).
    pub fn fetch_envelope(&self, set: &MessageSet, uid: bool) -> Deferred<PerMessage<Envelope>> {
        self.fetch_each(set, "(ENVELOPE)", uid, "ENVELOPE", |d| {
            Envelope::from_value(d.get("ENVELOPE")?)
        })
    }

    /// The body structures (`fetchBodyStructure`).
    pub fn fetch_body_structure(
        &self,
        set: &MessageSet,
        uid: bool,
    ) -> Deferred<PerMessage<BodyStructure>> {
        self.fetch_each(set, "(BODYSTRUCTURE)", uid, "BODYSTRUCTURE", |d| {
            BodyStructure::from_value(d.get("BODYSTRUCTURE")?)
        })
    }

    fn fetch_bytes(
        &self,
        set: &MessageSet,
        uid: bool,
        item: &'static str,
    ) -> Deferred<PerMessage<Vec<u8>>> {
        self.fetch_each(set, &format!("({item})"), uid, item, move |d| {
            let i = d.items.iter().position(|(k, _)| k == item)?;
            d.items.swap_remove(i).1.as_bytes().map(|b| b.into_owned())
        })
    }

    /// The whole messages, `RFC822` (`fetchMessage`; sets `\Seen`).
    pub fn fetch_message(&self, set: &MessageSet, uid: bool) -> Deferred<PerMessage<Vec<u8>>> {
        self.fetch_bytes(set, uid, "RFC822")
    }

    /// The headers, `RFC822.HEADER` (`fetchHeaders`).
    pub fn fetch_headers(&self, set: &MessageSet, uid: bool) -> Deferred<PerMessage<Vec<u8>>> {
        self.fetch_bytes(set, uid, "RFC822.HEADER")
    }

    /// The sizes in octets, `RFC822.SIZE` (`fetchSize`).
    pub fn fetch_size(&self, set: &MessageSet, uid: bool) -> Deferred<PerMessage<u64>> {
        self.fetch_each(set, "(RFC822.SIZE)", uid, "RFC822.SIZE", |d| {
            d.get("RFC822.SIZE")?.as_number()
        })
    }

    /// One `BODY[section]<partial>` (`fetchSpecific`).
    pub fn fetch_specific(
        &self,
        set: &MessageSet,
        section: &BodySection,
        uid: bool,
    ) -> Deferred<PerMessage<Vec<u8>>> {
        let spec = section.spec();
        self.fetch_each(set, &format!("({section})"), uid, "BODY[", move |d| {
            d.take_section(&spec)
        })
    }

    fn store(
        &self,
        set: &MessageSet,
        mode: &str,
        flags: &[Flag],
        silent: bool,
        uid: bool,
    ) -> Deferred<PerMessage<Vec<Flag>>> {
        if set.is_empty() {
            return fail(Imap4Error::Usage("empty message set".into()));
        }
        let mut line = uid_name(uid, "STORE");
        let silent = if silent { ".SILENT" } else { "" };
        line.arg(&set.to_string())
            .arg(&format!("{mode}{silent}"))
            .arg(&flag_list(flags));
        map(self.command(line, &["FETCH"]), |c| {
            each(results::fetch_data(c)?, "FLAGS", |d| {
                flags_value(d.get("FLAGS")?)
            })
        })
    }

    /// `STORE set FLAGS (flags)`: replaces the flags; without `silent`, the new flags of
    /// each message (`setFlags`).
    pub fn set_flags(
        &self,
        set: &MessageSet,
        flags: &[Flag],
        silent: bool,
        uid: bool,
    ) -> Deferred<PerMessage<Vec<Flag>>> {
        self.store(set, "FLAGS", flags, silent, uid)
    }

    /// `STORE set +FLAGS (flags)` (`addFlags`).
    pub fn add_flags(
        &self,
        set: &MessageSet,
        flags: &[Flag],
        silent: bool,
        uid: bool,
    ) -> Deferred<PerMessage<Vec<Flag>>> {
        self.store(set, "+FLAGS", flags, silent, uid)
    }

    /// `STORE set -FLAGS (flags)` (`removeFlags`).
    pub fn remove_flags(
        &self,
        set: &MessageSet,
        flags: &[Flag],
        silent: bool,
        uid: bool,
    ) -> Deferred<PerMessage<Vec<Flag>>> {
        self.store(set, "-FLAGS", flags, silent, uid)
    }

    /// `COPY set mailbox`; with UIDPLUS, the UIDs of the copies.
    pub fn copy(&self, set: &MessageSet, mailbox: &str, uid: bool) -> Deferred<Option<CopyUid>> {
        let mut line = uid_name(uid, "COPY");
        line.arg(&set.to_string()).mailbox(mailbox);
        map(self.command(line, &[]), |c| {
            Ok(results::copy_uid(c.status.code.as_ref()))
        })
    }

    /// `MOVE set mailbox` (RFC 6851; fails with [`Imap4Error::Unsupported`] unless the
    /// server announces `MOVE`).
    pub fn move_messages(
        &self,
        set: &MessageSet,
        mailbox: &str,
        uid: bool,
    ) -> Deferred<MoveResult> {
        let mut line = uid_name(uid, "MOVE");
        line.arg(&set.to_string()).mailbox(mailbox);
        self.requiring("MOVE", move |c| {
            map(c.command(line, &["EXPUNGE", "OK"]), results::move_result)
        })
    }

    /// `IDLE` (RFC 2177): fires once the server is idling; unsolicited responses then
    /// reach the hooks until [`done`](Imap4Client::done). Commands issued meanwhile wait
    /// until after `done`. Fails with [`Imap4Error::Unsupported`] if the server's
    /// capabilities are known and lack `IDLE`.
    pub fn idle(&self) -> Deferred<()> {
        if self.cached_capabilities().is_some() && !self.has_capability("IDLE") {
            return fail(Imap4Error::Unsupported("IDLE".into()));
        }
        let started = Deferred::new();
        let state = Rc::new(RefCell::new(IdleState {
            started: Some(started.clone()),
            ..IdleState::default()
        }));
        self.inner.borrow_mut().idle = Some(state.clone());
        let finished = state.clone();
        self.enqueue(Pending {
            line: CommandLine::new("IDLE"),
            claims: &[],
            special: Special::Idle(state),
            finish: Box::new(move |result| {
                let (started, done) = {
                    let mut s = finished.borrow_mut();
                    s.outcome = Some(result.as_ref().map(|_| ()).map_err(Clone::clone));
                    (s.started.take(), s.finished.take())
                };
                for d in started.into_iter().chain(done) {
                    let _ = d.fire(
                        result
                            .as_ref()
                            .map(|_| ())
                            .map_err(|e| Failure::new(e.clone())),
                    );
                }
            }),
        });
        started
    }

    /// `DONE`: ends the `IDLE`; fires when the server has finished it.
    pub fn done(&self) -> Deferred<()> {
        let (state, transport) = {
            let mut inner = self.inner.borrow_mut();
            (inner.idle.take(), inner.transport.clone())
        };
        let Some(state) = state else {
            return fail(Imap4Error::Usage("done without idle".into()));
        };
        let mut s = state.borrow_mut();
        if let Some(outcome) = s.outcome.clone() {
            return match outcome {
                Ok(()) => crate::defer::succeed(()),
                Err(e) => fail(e),
            };
        }
        let d = Deferred::new();
        s.finished = Some(d.clone());
        if !s.done_requested {
            s.done_requested = true;
            if s.continued {
                if let Some(t) = transport {
                    t.write(b"DONE\r\n");
                }
            }
        }
        drop(s);
        self.rearm();
        d
    }
}
