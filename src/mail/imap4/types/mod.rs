//! The values commands take and give: [`MessageSet`], [`Flag`], [`Envelope`] /
//! [`Address`], [`BodyStructure`], [`BodySection`], [`Query`], modified UTF-7 mailbox
//! names.

mod envelope;
mod flags;
mod message_set;
mod query;
mod section;
mod utf7;

pub use envelope::{Address, BodyFields, BodyStructure, Envelope};
pub use flags::Flag;
pub use message_set::{BadMessageSet, MessageSet, SeqNumber};
pub use query::Query;
pub use section::{BodySection, SectionText};
pub use utf7::{decode_mailbox_name, encode_mailbox_name, BadMailboxName};
