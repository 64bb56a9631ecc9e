//! `torsion::web::fuzzing::http_head`: see that function's module docs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion::web::fuzzing::http_head;

fuzz_target!(|data: &[u8]| http_head(data));
