//! [`BodySection`]: what `fetch_specific` asks for, `BODY[section]<partial>`.

use std::fmt;

/// Which part of the section: the whole, its header (all or some fields), its text, its
/// MIME header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    /// The whole part (`BODY[]`, `BODY[1.2]`).
    Whole,
    /// `HEADER`.
    Header,
    /// `HEADER.FIELDS (names)`.
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`.
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`.
    Text,
    /// `MIME` (of a part, not of the message).
    Mime,
}

/// A `BODY[section]<partial>` fetch item (Twisted's `fetchSpecific` arguments
/// `headerType`, `headerNumber`, `headerArgs`, `peek`, `offset`, `length`).
///
/// # Examples
///
/// ```
/// use torsion::mail::imap4::BodySection;
///
/// assert_eq!(BodySection::whole().to_string(), "BODY[]");
/// assert_eq!(
///     BodySection::header_fields(["Subject", "From"]).peek().to_string(),
///     "BODY.PEEK[HEADER.FIELDS (Subject From)]"
/// );
/// assert_eq!(BodySection::text().part([1, 2]).partial(0, 100).to_string(), "BODY[1.2.TEXT]<0.100>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodySection {
    /// The part number path (`[1, 2]` is part 1.2); empty for the message.
    pub part: Vec<u32>,
    /// Which text of it.
    pub text: SectionText,
    /// `BODY.PEEK`: do not set `\Seen`.
    pub peek: bool,
    /// `<offset.length>`.
    pub partial: Option<(u64, u64)>,
}

impl BodySection {
    fn of(text: SectionText) -> BodySection {
        BodySection {
            part: Vec::new(),
            text,
            peek: false,
            partial: None,
        }
    }

    /// `BODY[]`: the whole message.
    pub fn whole() -> BodySection {
        BodySection::of(SectionText::Whole)
    }

    /// `BODY[HEADER]`.
    pub fn header() -> BodySection {
        BodySection::of(SectionText::Header)
    }

    /// `BODY[HEADER.FIELDS (names)]`.
    pub fn header_fields<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> BodySection {
        BodySection::of(SectionText::HeaderFields(
            names.into_iter().map(Into::into).collect(),
        ))
    }

    /// `BODY[HEADER.FIELDS.NOT (names)]`.
    pub fn header_fields_not<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> BodySection {
        BodySection::of(SectionText::HeaderFieldsNot(
            names.into_iter().map(Into::into).collect(),
        ))
    }

    /// `BODY[TEXT]`.
    pub fn text() -> BodySection {
        BodySection::of(SectionText::Text)
    }

    /// `BODY[<part>.MIME]`.
    pub fn mime() -> BodySection {
        BodySection::of(SectionText::Mime)
    }

    /// Of part `path` (`[1, 2]`: part 1.2).
    pub fn part<I: IntoIterator<Item = u32>>(mut self, path: I) -> BodySection {
        self.part = path.into_iter().collect();
        self
    }

    /// As `BODY.PEEK` (the message is not marked `\Seen`).
    pub fn peek(mut self) -> BodySection {
        self.peek = true;
        self
    }

    /// Only `length` octets from `offset`.
    pub fn partial(mut self, offset: u64, length: u64) -> BodySection {
        self.partial = Some((offset, length));
        self
    }

    /// What goes between the brackets (and comes back in the response's item name).
    pub fn spec(&self) -> String {
        let mut parts: Vec<String> = self.part.iter().map(u32::to_string).collect();
        let names = |n: &[String]| n.join(" ");
        match &self.text {
            SectionText::Whole => {}
            SectionText::Header => parts.push("HEADER".into()),
            SectionText::HeaderFields(n) => parts.push(format!("HEADER.FIELDS ({})", names(n))),
            SectionText::HeaderFieldsNot(n) => {
                parts.push(format!("HEADER.FIELDS.NOT ({})", names(n)))
            }
            SectionText::Text => parts.push("TEXT".into()),
            SectionText::Mime => parts.push("MIME".into()),
        }
        parts.join(".")
    }
}

impl fmt::Display for BodySection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = if self.peek { "BODY.PEEK" } else { "BODY" };
        write!(f, "{body}[{}]", self.spec())?;
        if let Some((offset, length)) = self.partial {
            write!(f, "<{offset}.{length}>")?;
        }
        Ok(())
    }
}
