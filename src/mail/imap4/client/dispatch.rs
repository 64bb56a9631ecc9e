//! Responses in: the greeting, routing untagged responses to the running command or to
//! the hooks, continuations, tagged completions, and failing everything on a bad stream
//! or a lost connection.

use std::collections::BTreeMap;

use super::error::Imap4Error;
use super::results::{flags_value, Completed};
use super::wire::Chunk;
use super::{send_until_literal, Imap4Client, Imap4Hooks, Inner, Phase, Special};
use crate::defer::Failure;
use crate::mail::imap4::auth::base64;
use crate::mail::imap4::parser::{Response, Status, StatusText, Untagged, Value};
use crate::mail::imap4::types::Flag;
use crate::protocol::ConnectionLost;
use crate::transport::Transport;

type Action = Box<dyn FnOnce()>;

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Ok => "OK",
        Status::No => "NO",
        Status::Bad => "BAD",
        Status::PreAuth => "PREAUTH",
        Status::Bye => "BYE",
    }
}

fn untagged_name(u: &Untagged) -> &str {
    match u {
        Untagged::Status(s) => status_name(s.status),
        Untagged::Numbered { name, .. } | Untagged::Data { name, .. } => name,
    }
}

fn capabilities_of(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .filter_map(Value::as_text)
        .map(|s| s.to_ascii_uppercase())
        .collect()
}

/// `[CODE args] text`, for error messages.
fn describe(status: &StatusText) -> String {
    match &status.code {
        Some(code) if code.args.is_empty() => format!("[{}] {}", code.name, status.text),
        Some(code) => {
            let args: Vec<String> = code.args.iter().map(Value::to_string).collect();
            format!("[{} {}] {}", code.name, args.join(" "), status.text)
        }
        None => status.text.clone(),
    }
}

fn hook(inner: &Inner, actions: &mut Vec<Action>, f: impl FnOnce(&dyn Imap4Hooks) + 'static) {
    if let Some(h) = inner.hooks.clone() {
        actions.push(Box::new(move || f(&*h)));
    }
}

impl Imap4Client {
    pub(super) fn data_received(&self, transport: &Transport, data: &[u8]) {
        let mut responses = Vec::new();
        let parsed = {
            let mut inner = self.inner.borrow_mut();
            if matches!(inner.phase, Phase::Closed(_)) {
                return;
            }
            inner.parser.feed_with(data, |r| responses.push(r))
        };
        for response in responses {
            if matches!(self.inner.borrow().phase, Phase::Closed(_)) {
                return;
            }
            self.handle(transport, response);
        }
        if let Err(e) = parsed {
            self.fatal(transport, Imap4Error::Parse(e));
        }
        // The server spoke: the timeout starts again (or stops).
        self.rearm();
    }

    /// Fails every pending command with `error` and closes the connection.
    pub(super) fn fatal(&self, transport: &Transport, error: Imap4Error) {
        log::warn!("IMAP4 client closing the connection: {error}");
        self.fail_all(error);
        transport.lose_connection();
    }

    pub(super) fn connection_lost(&self, reason: ConnectionLost) {
        let error = {
            let mut inner = self.inner.borrow_mut();
            inner.transport = None;
            match inner.bye.take() {
                Some(text) => Imap4Error::ConnectionLost(format!("the server said BYE {text}")),
                None => Imap4Error::ConnectionLost(reason.to_string()),
            }
        };
        self.fail_all(error);
    }

    fn fail_all(&self, error: Imap4Error) {
        let mut actions: Vec<Action> = Vec::new();
        {
            let mut inner = self.inner.borrow_mut();
            if let Some(timer) = inner.timer.take() {
                let _ = timer.cancel();
            }
            let error = match &inner.phase {
                Phase::Closed(first) => first.clone(),
                _ => error,
            };
            inner.phase = Phase::Closed(error.clone());
            if let Some(r) = inner.running.take() {
                let result = if matches!(r.special, Special::Logout) {
                    Ok(Completed {
                        untagged: r.collected,
                        status: StatusText {
                            status: Status::Ok,
                            code: None,
                            text: "connection closed".into(),
                        },
                    })
                } else {
                    Err(error.clone())
                };
                actions.push(Box::new(move || (r.finish)(result)));
            }
            let inner = &mut *inner;
            let queued: Vec<_> = inner.queue.drain(..).chain(inner.held.drain(..)).collect();
            for p in queued {
                let e = error.clone();
                actions.push(Box::new(move || (p.finish)(Err(e))));
            }
            for d in inner.greeting.drain(..) {
                let e = error.clone();
                actions.push(Box::new(move || {
                    let _ = d.errback(Failure::new(e));
                }));
            }
        }
        for a in actions {
            a();
        }
    }

    fn handle(&self, transport: &Transport, response: Response) {
        let mut actions: Vec<Action> = Vec::new();
        let mut fatal = None;
        {
            let mut inner = self.inner.borrow_mut();
            let inner = &mut *inner;
            if matches!(inner.phase, Phase::Connecting) {
                match response {
                    Response::Untagged(Untagged::Status(s))
                        if matches!(s.status, Status::Ok | Status::PreAuth) =>
                    {
                        let caps = match &s.code {
                            Some(c) if c.name == "CAPABILITY" => capabilities_of(&c.args),
                            _ => Vec::new(),
                        };
                        if !caps.is_empty() {
                            inner.capabilities = Some(caps.clone());
                        }
                        inner.phase = Phase::Ready;
                        inner.greeted = Some(caps.clone());
                        for d in inner.greeting.drain(..) {
                            let caps = caps.clone();
                            actions.push(Box::new(move || {
                                let _ = d.callback(caps);
                            }));
                        }
                        hook(inner, &mut actions, move |h| h.server_greeting(&caps));
                    }
                    Response::Untagged(Untagged::Status(s)) if s.status == Status::Bye => {
                        inner.bye = Some(s.text);
                    }
                    other => {
                        fatal = Some(Imap4Error::IllegalResponse(format!(
                            "expected a greeting, got {other:?}"
                        )));
                    }
                }
            } else {
                match response {
                    Response::Untagged(u) => route(inner, u, &mut actions),
                    Response::Continuation(text) => {
                        continuation(inner, transport, &text, &mut actions)
                    }
                    Response::Tagged { tag, status } => {
                        if inner.running.as_ref().is_some_and(|r| r.tag == tag) {
                            complete(inner, transport, status, &mut actions);
                        } else {
                            fatal = Some(Imap4Error::IllegalResponse(format!(
                                "tagged response {tag} {} for no running command",
                                status_name(status.status)
                            )));
                        }
                    }
                }
            }
        }
        for a in actions {
            a();
        }
        match fatal {
            Some(e) => self.fatal(transport, e),
            None => self.pump(),
        }
    }
}

fn route(inner: &mut Inner, u: Untagged, actions: &mut Vec<Action>) {
    match &u {
        Untagged::Data { name, values } if name == "CAPABILITY" => {
            inner.capabilities = Some(capabilities_of(values));
        }
        Untagged::Status(s) => {
            if let Some(c) = s.code.as_ref().filter(|c| c.name == "CAPABILITY") {
                inner.capabilities = Some(capabilities_of(&c.args));
            }
            if s.status == Status::Bye {
                inner.bye = Some(s.text.clone());
            }
        }
        _ => {}
    }
    if let Some(r) = inner.running.as_mut() {
        if r.claims.contains(&untagged_name(&u)) {
            r.collected.push(u);
            return;
        }
    }
    match u {
        Untagged::Numbered {
            number,
            name,
            values,
        } => {
            let n = u32::try_from(number).unwrap_or(u32::MAX);
            match name.as_str() {
                "EXISTS" => hook(inner, actions, move |h| h.new_messages(Some(n), None)),
                "RECENT" => hook(inner, actions, move |h| h.new_messages(None, Some(n))),
                "EXPUNGE" => hook(inner, actions, move |h| h.expunged(n)),
                "FETCH" => {
                    let items = values.first().and_then(Value::as_list).unwrap_or(&[]);
                    let flags = items
                        .chunks(2)
                        .find(|p| {
                            p[0].as_atom()
                                .is_some_and(|a| a.eq_ignore_ascii_case("FLAGS"))
                        })
                        .and_then(|p| p.get(1))
                        .and_then(flags_value);
                    if let Some(flags) = flags {
                        let map = BTreeMap::from([(n, flags)]);
                        hook(inner, actions, move |h| h.flags_changed(&map));
                    }
                }
                _ => log::debug!("IMAP4 client: unsolicited {number} {name}"),
            }
        }
        Untagged::Data { name, values } if name == "FLAGS" => {
            let flags: Vec<Flag> = values.first().and_then(flags_value).unwrap_or_default();
            hook(inner, actions, move |h| h.mailbox_flags(&flags));
        }
        Untagged::Status(s) => match s.code.as_ref().map(|c| c.name.as_str()) {
            Some("READ-ONLY") => hook(inner, actions, |h| h.mode_changed(false)),
            Some("READ-WRITE") => hook(inner, actions, |h| h.mode_changed(true)),
            _ => {}
        },
        _ => {}
    }
}

fn continuation(inner: &mut Inner, transport: &Transport, text: &[u8], actions: &mut Vec<Action>) {
    let Some(r) = inner.running.as_mut() else {
        log::debug!("IMAP4 client: continuation with no running command");
        return;
    };
    if matches!(r.rest.front(), Some(Chunk::Literal(_))) {
        let Some(Chunk::Literal(literal)) = r.rest.pop_front() else {
            unreachable!()
        };
        // The literal's bytes go as they are (no copy into the rest of the line).
        transport.write(&literal);
        let mut out = Vec::new();
        send_until_literal(&mut out, &mut r.rest);
        transport.write(&out);
        return;
    }
    match &mut r.special {
        Special::Authenticate(auth) => {
            let out = match base64::decode(text) {
                Some(challenge) => base64::encode(&auth.challenge_response(&challenge)),
                None => "*".to_string(), // cancels the exchange; the server answers BAD
            };
            transport.write(format!("{out}\r\n").as_bytes());
        }
        Special::Idle(state) => {
            let mut state = state.borrow_mut();
            state.continued = true;
            if state.done_requested {
                transport.write(b"DONE\r\n");
            }
            if let Some(d) = state.started.take() {
                actions.push(Box::new(move || {
                    let _ = d.callback(());
                }));
            }
        }
        _ => log::debug!("IMAP4 client: unexpected continuation"),
    }
}

fn complete(
    inner: &mut Inner,
    transport: &Transport,
    status: StatusText,
    actions: &mut Vec<Action>,
) {
    let r = inner.running.take().expect("a running command");
    let result = match status.status {
        Status::Ok => Ok(Completed {
            untagged: r.collected,
            status,
        }),
        Status::No => Err(Imap4Error::No(describe(&status))),
        _ => Err(Imap4Error::Bad(describe(&status))),
    };
    if let Some(c) = status_code_capabilities(&result) {
        inner.capabilities = Some(c);
    }
    let result = match (r.special, result) {
        #[cfg(feature = "tls")]
        (Special::StartTls(config), Ok(done)) => {
            inner.capabilities = None;
            match crate::tls::start_tls(transport, config) {
                Ok(_) => Ok(done),
                Err(e) => Err(Imap4Error::Tls(e.to_string())),
            }
        }
        (Special::Logout, result) => {
            transport.lose_connection();
            result
        }
        (_, result) => result,
    };
    let finish = r.finish;
    actions.push(Box::new(move || finish(result)));
}

fn status_code_capabilities(result: &Result<Completed, Imap4Error>) -> Option<Vec<String>> {
    let code = result.as_ref().ok()?.status.code.as_ref()?;
    (code.name == "CAPABILITY").then(|| capabilities_of(&code.args))
}
