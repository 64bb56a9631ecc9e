//! `torsion::protocols::basic::fuzzing::line_receiver`: the sans-IO parser cut as the fuzzer
//! chooses against the whole input, then the protocol through `testing::fuzz::drive_protocol`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion::protocols::basic::fuzzing::line_receiver;

fuzz_target!(|data: &[u8]| line_receiver(data));
