//! `torsion::mail::imap4::fuzzing::imap_response`: the IMAP4 response parser cut as the
//! fuzzer chooses, whole and byte by byte (same responses, same error), then the
//! Imap4Client with commands of every kind queued, through `testing::fuzz::drive_protocol`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion::mail::imap4::fuzzing::imap_response;

fuzz_target!(|data: &[u8]| imap_response(data));
