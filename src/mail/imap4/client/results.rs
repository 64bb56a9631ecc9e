//! What commands give: [`MailboxInfo`], [`ListEntry`], [`FetchData`] ..., and how they
//! are built from the collected untagged responses.

use std::collections::BTreeMap;

use super::error::Imap4Error;
use crate::mail::imap4::parser::{ResponseCode, StatusText, Untagged, Value};
use crate::mail::imap4::types::{decode_mailbox_name, Flag, MessageSet};

/// A finished command: the untagged responses it collected and its tagged status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completed {
    /// The untagged responses routed to the command, in order.
    pub untagged: Vec<Untagged>,
    /// The tagged `OK` (with its code, if any).
    pub status: StatusText,
}

/// What `SELECT` / `EXAMINE` tell about a mailbox (Twisted's dict: `EXISTS`, `RECENT`,
/// `FLAGS`, `PERMANENTFLAGS`, `UIDVALIDITY`, `UIDNEXT`, `READ-WRITE`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Messages in the mailbox.
    pub exists: u32,
    /// Messages with `\Recent`.
    pub recent: u32,
    /// The flags defined in the mailbox.
    pub flags: Vec<Flag>,
    /// The flags that can be changed permanently (`\*`: new keywords too).
    pub permanent_flags: Option<Vec<Flag>>,
    /// The UID validity value.
    pub uid_validity: Option<u32>,
    /// The predicted next UID.
    pub uid_next: Option<u32>,
    /// The first unseen message's number.
    pub unseen: Option<u32>,
    /// Whether the mailbox was opened read-write (`[READ-WRITE]`).
    pub read_write: bool,
}

fn flags_of(values: &[Value]) -> Vec<Flag> {
    values
        .iter()
        .filter_map(Value::as_text)
        .map(|s| Flag::parse(&s))
        .collect()
}

fn code_number(code: &ResponseCode) -> Option<u32> {
    code.args
        .first()?
        .as_number()
        .and_then(|n| u32::try_from(n).ok())
}

pub(super) fn mailbox_info(done: Completed) -> Result<MailboxInfo, Imap4Error> {
    let mut info = MailboxInfo::default();
    for u in &done.untagged {
        match u {
            Untagged::Numbered { number, name, .. } => {
                let n = u32::try_from(*number).unwrap_or(u32::MAX);
                match name.as_str() {
                    "EXISTS" => info.exists = n,
                    "RECENT" => info.recent = n,
                    _ => {}
                }
            }
            Untagged::Data { name, values } if name == "FLAGS" => {
                info.flags = flags_of(values.first().and_then(Value::as_list).unwrap_or(&[]));
            }
            Untagged::Status(StatusText {
                code: Some(code), ..
            }) => match code.name.as_str() {
                "PERMANENTFLAGS" => {
                    let l = code.args.first().and_then(Value::as_list).unwrap_or(&[]);
                    info.permanent_flags = Some(flags_of(l));
                }
                "UIDVALIDITY" => info.uid_validity = code_number(code),
                "UIDNEXT" => info.uid_next = code_number(code),
                "UNSEEN" => info.unseen = code_number(code),
                _ => {}
            },
            _ => {}
        }
    }
    info.read_write = done
        .status
        .code
        .as_ref()
        .is_some_and(|c| c.name == "READ-WRITE");
    Ok(info)
}

/// One `LIST` / `LSUB` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// Attributes: `\HasNoChildren`, `\Noselect` ...
    pub attributes: Vec<String>,
    /// The hierarchy delimiter (`None` for a flat name space).
    pub delimiter: Option<String>,
    /// The name, decoded from modified UTF-7 (left as sent if it is not valid).
    pub name: String,
}

pub(super) fn list_entries(done: Completed) -> Result<Vec<ListEntry>, Imap4Error> {
    let mut out = Vec::new();
    for u in done.untagged {
        let Untagged::Data { values, .. } = u else {
            continue;
        };
        let (Some(attrs), Some(delim), Some(name)) = (
            values.first(),
            values.get(1),
            values.get(2).and_then(Value::as_text),
        ) else {
            return Err(Imap4Error::IllegalResponse(format!(
                "LIST reply {values:?}"
            )));
        };
        out.push(ListEntry {
            attributes: attrs
                .as_list()
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_text)
                .collect(),
            delimiter: delim.as_text(),
            name: decode_mailbox_name(&name).unwrap_or(name),
        });
    }
    Ok(out)
}

pub(super) fn status_items(done: Completed) -> Result<BTreeMap<String, u64>, Imap4Error> {
    let mut out = BTreeMap::new();
    for u in done.untagged {
        if let Untagged::Data { values, .. } = u {
            let items = values.get(1).and_then(Value::as_list).unwrap_or(&[]);
            for pair in items.chunks(2) {
                if let [Value::Atom(k), Value::Number(v)] = pair {
                    out.insert(k.to_ascii_uppercase(), *v);
                }
            }
        }
    }
    Ok(out)
}

pub(super) fn numbers(done: Completed) -> Result<Vec<u32>, Imap4Error> {
    let mut out = Vec::new();
    for u in done.untagged {
        match u {
            Untagged::Data { values, .. } => out.extend(
                values
                    .iter()
                    .filter_map(|v| v.as_number())
                    .map(|n| n as u32),
            ),
            Untagged::Numbered { number, .. } => out.push(number as u32),
            Untagged::Status(_) => {}
        }
    }
    Ok(out)
}

/// One namespace: its prefix and hierarchy delimiter.
pub type Namespace = (String, Option<String>);

/// `NAMESPACE` (RFC 2342): personal, other users', shared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// The user's own.
    pub personal: Vec<Namespace>,
    /// Other users'.
    pub other_users: Vec<Namespace>,
    /// Shared.
    pub shared: Vec<Namespace>,
}

pub(super) fn namespaces(done: Completed) -> Result<Namespaces, Imap4Error> {
    let mut out = Namespaces::default();
    let one = |v: Option<&Value>| -> Vec<Namespace> {
        v.and_then(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .filter_map(|ns| {
                let l = ns.as_list()?;
                Some((l.first()?.as_text()?, l.get(1).and_then(Value::as_text)))
            })
            .collect()
    };
    for u in done.untagged {
        if let Untagged::Data { values, .. } = u {
            out.personal = one(values.first());
            out.other_users = one(values.get(1));
            out.shared = one(values.get(2));
        }
    }
    Ok(out)
}

/// `[APPENDUID validity uid]` (UIDPLUS, RFC 4315).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendUid {
    /// The destination's UID validity.
    pub uid_validity: u32,
    /// The new message's UID.
    pub uid: u32,
}

/// `[COPYUID validity source-uids destination-uids]` (UIDPLUS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyUid {
    /// The destination's UID validity.
    pub uid_validity: u32,
    /// The copied messages' UIDs.
    pub source: MessageSet,
    /// Their UIDs in the destination, in the same order.
    pub destination: MessageSet,
}

pub(super) fn append_uid(code: Option<&ResponseCode>) -> Option<AppendUid> {
    let code = code.filter(|c| c.name == "APPENDUID")?;
    Some(AppendUid {
        uid_validity: code.args.first()?.as_number()? as u32,
        uid: code.args.get(1)?.as_text()?.parse().ok()?,
    })
}

pub(super) fn copy_uid(code: Option<&ResponseCode>) -> Option<CopyUid> {
    let code = code.filter(|c| c.name == "COPYUID")?;
    Some(CopyUid {
        uid_validity: code.args.first()?.as_number()? as u32,
        source: code.args.get(1)?.as_text()?.parse().ok()?,
        destination: code.args.get(2)?.as_text()?.parse().ok()?,
    })
}

/// The result of `MOVE`: the UIDs (with UIDPLUS) and the messages expunged from the
/// source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoveResult {
    /// `[COPYUID ...]`, if the server sent it.
    pub copy_uid: Option<CopyUid>,
    /// Sequence numbers expunged, in the order sent.
    pub expunged: Vec<u32>,
}

pub(super) fn move_result(done: Completed) -> Result<MoveResult, Imap4Error> {
    let mut out = MoveResult {
        copy_uid: copy_uid(done.status.code.as_ref()),
        expunged: Vec::new(),
    };
    for u in done.untagged {
        match u {
            Untagged::Numbered { number, .. } => out.expunged.push(number as u32),
            Untagged::Status(s) => {
                if let Some(c) = copy_uid(s.code.as_ref()) {
                    out.copy_uid = Some(c);
                }
            }
            Untagged::Data { .. } => {}
        }
    }
    Ok(out)
}

/// The items of one message's `FETCH` responses, as sent (names upper-cased).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchData {
    /// `(name, value)` pairs in order: `("UID", Number(4))`, `("BODY[]", String(..))`.
    pub items: Vec<(String, Value)>,
}

impl FetchData {
    /// The value of item `name` (any case).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.items
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The first `BODY[section]` item (any partial origin), moved out.
    pub(super) fn take_section(&mut self, section: &str) -> Option<Vec<u8>> {
        let want = format!("BODY[{}]", section.to_ascii_uppercase());
        let i = self
            .items
            .iter()
            .position(|(k, _)| k.to_ascii_uppercase().starts_with(&want))?;
        match self.items.swap_remove(i).1 {
            Value::String(s) => Some(s),
            Value::Nil => Some(Vec::new()),
            other => other.as_bytes().map(|b| b.into_owned()),
        }
    }
}

pub(super) fn fetch_data(done: Completed) -> Result<BTreeMap<u32, FetchData>, Imap4Error> {
    let mut out: BTreeMap<u32, FetchData> = BTreeMap::new();
    for u in done.untagged {
        let Untagged::Numbered { number, values, .. } = u else {
            continue;
        };
        let Some(Value::List(items)) = values.into_iter().next() else {
            return Err(Imap4Error::IllegalResponse(format!(
                "FETCH {number} without a list of items"
            )));
        };
        let entry = out.entry(number as u32).or_default();
        let mut it = items.into_iter();
        while let Some(name) = it.next() {
            let (Value::Atom(name), Some(value)) = (name, it.next()) else {
                return Err(Imap4Error::IllegalResponse(format!(
                    "FETCH {number}: items are not name-value pairs"
                )));
            };
            entry.items.push((name.to_ascii_uppercase(), value));
        }
    }
    Ok(out)
}

/// Maps each message's [`FetchData`] through `item`. Messages without an item whose name
/// starts with `key` are skipped (an unsolicited `FETCH` of other items, say); one whose
/// item does not convert is an error.
pub(super) fn each<T>(
    data: BTreeMap<u32, FetchData>,
    key: &str,
    mut item: impl FnMut(&mut FetchData) -> Option<T>,
) -> Result<BTreeMap<u32, T>, Imap4Error> {
    let mut out = BTreeMap::new();
    for (n, mut d) in data {
        let present = d
            .items
            .iter()
            .any(|(k, _)| k.starts_with(&key.to_ascii_uppercase()));
        if !present {
            continue;
        }
        match item(&mut d) {
            Some(v) => {
                out.insert(n, v);
            }
            None => {
                return Err(Imap4Error::IllegalResponse(format!(
                    "FETCH {n}: {key} is not what it should be"
                )))
            }
        }
    }
    Ok(out)
}

pub(super) fn flags_value(v: &Value) -> Option<Vec<Flag>> {
    Some(flags_of(v.as_list()?))
}
