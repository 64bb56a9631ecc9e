//! The timer wheel against a BTreeMap model, driven by arbitrary operation sequences.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion::time::wheel::check_against_model;

fuzz_target!(|data: &[u8]| check_against_model(data));
