//! `torsion::web::fuzzing::http_chunked`: see that function's module docs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion::web::fuzzing::http_chunked;

fuzz_target!(|data: &[u8]| http_chunked(data));
