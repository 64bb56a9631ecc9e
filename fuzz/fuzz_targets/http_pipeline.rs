//! `torsion::web::fuzzing::http_pipeline`: see that function's module docs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion::web::fuzzing::http_pipeline;

fuzz_target!(|data: &[u8]| http_pipeline(data));
