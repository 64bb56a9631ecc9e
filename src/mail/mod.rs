//! Mail protocols (Twisted's `twisted.mail`): so far the [`imap4`] client.

pub mod imap4;
