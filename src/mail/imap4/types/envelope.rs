//! [`Envelope`], [`Address`] and [`BodyStructure`]: the typed forms of the `ENVELOPE` and
//! `BODYSTRUCTURE` fetch items (RFC 3501 §7.4.2).

use std::collections::BTreeMap;

use crate::mail::imap4::parser::Value;

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_text)
}

/// One address of an envelope: `(name adl mailbox host)`. A group is sent as an address
/// with `host` `None` opening it (the group name in `mailbox`) and one with `mailbox`
/// `None` closing it; they are kept as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// The display name (`Bob`), undecoded (RFC 2047 words stay encoded).
    pub name: Option<String>,
    /// The source route (obsolete).
    pub adl: Option<String>,
    /// The part before `@`.
    pub mailbox: Option<String>,
    /// The part after `@`.
    pub host: Option<String>,
}

impl Address {
    /// `mailbox@host`, if both are there.
    pub fn email(&self) -> Option<String> {
        Some(format!(
            "{}@{}",
            self.mailbox.as_ref()?,
            self.host.as_ref()?
        ))
    }

    fn from_value(v: &Value) -> Option<Address> {
        let l = v.as_list()?;
        if l.len() != 4 {
            return None;
        }
        Some(Address {
            name: text(l.first()),
            adl: text(l.get(1)),
            mailbox: text(l.get(2)),
            host: text(l.get(3)),
        })
    }
}

fn addresses(v: Option<&Value>) -> Option<Vec<Address>> {
    match v? {
        Value::Nil => Some(Vec::new()),
        Value::List(items) => items.iter().map(Address::from_value).collect(),
        _ => None,
    }
}

/// A message's envelope (Twisted's `fetchEnvelope` list, with names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The `Date:` header, as sent.
    pub date: Option<String>,
    /// The `Subject:` header (undecoded).
    pub subject: Option<String>,
    /// `From:`.
    pub from: Vec<Address>,
    /// `Sender:` (the server fills it from `From:`).
    pub sender: Vec<Address>,
    /// `Reply-To:` (the server fills it from `From:`).
    pub reply_to: Vec<Address>,
    /// `To:`.
    pub to: Vec<Address>,
    /// `Cc:`.
    pub cc: Vec<Address>,
    /// `Bcc:`.
    pub bcc: Vec<Address>,
    /// `In-Reply-To:`.
    pub in_reply_to: Option<String>,
    /// `Message-ID:`.
    pub message_id: Option<String>,
}

impl Envelope {
    /// From the fetch item's value; `None` if it is not a 10-item envelope.
    pub fn from_value(v: &Value) -> Option<Envelope> {
        let l = v.as_list()?;
        if l.len() != 10 {
            return None;
        }
        Some(Envelope {
            date: text(l.first()),
            subject: text(l.get(1)),
            from: addresses(l.get(2))?,
            sender: addresses(l.get(3))?,
            reply_to: addresses(l.get(4))?,
            to: addresses(l.get(5))?,
            cc: addresses(l.get(6))?,
            bcc: addresses(l.get(7))?,
            in_reply_to: text(l.get(8)),
            message_id: text(l.get(9)),
        })
    }
}

/// The fields every non-multipart body part has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyFields {
    /// `text`, `image`, `message` ... (lower-cased).
    pub media_type: String,
    /// `plain`, `rfc822` ... (lower-cased).
    pub subtype: String,
    /// Content-Type parameters (names lower-cased): `charset` ...
    pub params: BTreeMap<String, String>,
    /// `Content-ID`.
    pub id: Option<String>,
    /// `Content-Description`.
    pub description: Option<String>,
    /// `Content-Transfer-Encoding` (as sent: `7BIT`, `base64` ...).
    pub encoding: Option<String>,
    /// Size in octets of the encoded body.
    pub size: u64,
}

/// A body structure (RFC 3501 `body`), as a tree. Extension data beyond the fields named
/// here is kept raw in `extension`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyStructure {
    /// `text/*`: the fields and the number of lines.
    Text {
        /// Type, subtype, parameters, encoding, size ...
        fields: BodyFields,
        /// Lines of the encoded body.
        lines: u64,
        /// Extension data (MD5, disposition, language, location), raw.
        extension: Vec<Value>,
    },
    /// `message/rfc822`: the fields, the inner message's envelope and body, its lines.
    Message {
        /// Type, subtype, parameters, encoding, size ...
        fields: BodyFields,
        /// The inner message's envelope.
        envelope: Box<Envelope>,
        /// The inner message's body.
        body: Box<BodyStructure>,
        /// Lines of the encoded body.
        lines: u64,
        /// Extension data, raw.
        extension: Vec<Value>,
    },
    /// Any other single part (`image/png` ...).
    Basic {
        /// Type, subtype, parameters, encoding, size ...
        fields: BodyFields,
        /// Extension data, raw.
        extension: Vec<Value>,
    },
    /// `multipart/*`: the parts and the subtype.
    Multipart {
        /// The parts, in order.
        parts: Vec<BodyStructure>,
        /// `mixed`, `alternative` ... (lower-cased).
        subtype: String,
        /// Extension data (parameters, disposition ...), raw.
        extension: Vec<Value>,
    },
}

fn params(v: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(l) = v.and_then(Value::as_list) {
        for pair in l.chunks(2) {
            if let [k, v] = pair {
                if let (Some(k), Some(v)) = (k.as_text(), v.as_text()) {
                    out.insert(k.to_ascii_lowercase(), v);
                }
            }
        }
    }
    out
}

impl BodyStructure {
    /// From the fetch item's value; `None` if it does not have the shape of a body.
    /// Recursion follows the value's nesting, which the parser bounds
    /// ([`Limits::max_depth`](crate::mail::imap4::Limits)).
    pub fn from_value(v: &Value) -> Option<BodyStructure> {
        let l = v.as_list()?;
        if matches!(l.first(), Some(Value::List(_))) {
            let n = l.iter().take_while(|v| matches!(v, Value::List(_))).count();
            let parts = l[..n]
                .iter()
                .map(BodyStructure::from_value)
                .collect::<Option<Vec<_>>>()?;
            let subtype = l.get(n)?.as_text()?.to_ascii_lowercase();
            return Some(BodyStructure::Multipart {
                parts,
                subtype,
                extension: l[n + 1..].to_vec(),
            });
        }
        if l.len() < 7 {
            return None;
        }
        let fields = BodyFields {
            media_type: l[0].as_text()?.to_ascii_lowercase(),
            subtype: l[1].as_text()?.to_ascii_lowercase(),
            params: params(l.get(2)),
            id: text(l.get(3)),
            description: text(l.get(4)),
            encoding: text(l.get(5)),
            size: l[6].as_number()?,
        };
        let kind = (fields.media_type.as_str(), fields.subtype.as_str());
        Some(match kind {
            ("text", _) => BodyStructure::Text {
                lines: l.get(7)?.as_number()?,
                extension: l.get(8..).unwrap_or_default().to_vec(),
                fields,
            },
            ("message", "rfc822") if l.len() >= 10 => BodyStructure::Message {
                envelope: Box::new(Envelope::from_value(&l[7])?),
                body: Box::new(BodyStructure::from_value(&l[8])?),
                lines: l[9].as_number()?,
                extension: l[10..].to_vec(),
                fields,
            },
            _ => BodyStructure::Basic {
                extension: l[7..].to_vec(),
                fields,
            },
        })
    }

    /// The media type, `type/subtype` (`multipart/mixed` for a multipart).
    pub fn mime_type(&self) -> String {
        match self {
            BodyStructure::Text { fields, .. }
            | BodyStructure::Message { fields, .. }
            | BodyStructure::Basic { fields, .. } => {
                format!("{}/{}", fields.media_type, fields.subtype)
            }
            BodyStructure::Multipart { subtype, .. } => format!("multipart/{subtype}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::imap4::parser::{Response, ResponseParser, Untagged};

    fn fetched(line: &[u8]) -> Vec<Value> {
        let mut r = ResponseParser::new().feed(line).unwrap();
        let Some(Response::Untagged(Untagged::Numbered { values, .. })) = r.pop() else {
            panic!()
        };
        values[0].as_list().unwrap().to_vec()
    }

    #[test]
    fn a_forwarded_message_inside_a_multipart() {
        let items = fetched(
            b"* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"8bit\" 5 1 NIL NIL NIL)\
(\"message\" \"rfc822\" NIL \"<id>\" \"fwd\" \"7bit\" 99 (NIL \"inner\" ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL NIL NIL NIL) \
(\"image\" \"png\" (\"name\" \"a.png\") NIL NIL \"base64\" 40) 4) \"MIXED\" (\"boundary\" \"b\") NIL NIL))\r\n",
        );
        let body = BodyStructure::from_value(&items[1]).unwrap();
        let BodyStructure::Multipart {
            parts,
            subtype,
            extension,
        } = &body
        else {
            panic!("{body:?}")
        };
        assert_eq!((subtype.as_str(), extension.len()), ("mixed", 3));
        let BodyStructure::Text { fields, lines, .. } = &parts[0] else {
            panic!()
        };
        assert_eq!((fields.params["charset"].as_str(), *lines), ("utf-8", 1));
        assert_eq!(parts[0].mime_type(), "text/plain");
        let BodyStructure::Message {
            fields,
            envelope,
            body,
            lines,
            ..
        } = &parts[1]
        else {
            panic!("{:?}", parts[1])
        };
        assert_eq!(
            (fields.id.as_deref(), fields.size, *lines),
            (Some("<id>"), 99, 4)
        );
        assert_eq!(envelope.subject.as_deref(), Some("inner"));
        // A group: opened with a NIL host, closed with a NIL mailbox; kept as sent.
        assert_eq!(envelope.from.len(), 2);
        assert_eq!(
            envelope.from[0].mailbox.as_deref(),
            Some("undisclosed-recipients")
        );
        assert_eq!(envelope.from[0].email(), None);
        assert_eq!(body.mime_type(), "image/png");
    }

    #[test]
    fn malformed_shapes_are_refused() {
        assert!(Envelope::from_value(&Value::List(vec![Value::Nil; 9])).is_none());
        assert!(BodyStructure::from_value(&Value::Nil).is_none());
        assert!(BodyStructure::from_value(&Value::List(vec![Value::Nil; 7])).is_none());
        let bad_address = fetched(
            b"* 1 FETCH (ENVELOPE (NIL NIL ((\"a\" NIL)) NIL NIL NIL NIL NIL NIL NIL))\r\n",
        );
        assert!(Envelope::from_value(&bad_address[1]).is_none());
    }
}
