//! The committed seed corpus of each fuzz target (`fuzz/corpus/<target>/`: the
//! `protocols::basic` ones, `mail::imap4`'s `imap_response` and `web`'s `http_*`)
//! run through the same entry points as the fuzzer, under plain `cargo test` on stable.
//! Inputs the fuzzer finds (and minimises) are added to the corpus as regression tests.

use std::fs;
use std::path::Path;

use torsion::mail::imap4::fuzzing::imap_response;
use torsion::protocols::basic::fuzzing;
use torsion::web::fuzzing as web;

fn run_corpus(target: &str, entry: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry_path in fs::read_dir(&dir).expect("corpus directory") {
        let path = entry_path.unwrap().path();
        let data = fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| entry(&data));
        assert!(outcome.is_ok(), "{} fails", path.display());
        n += 1;
    }
    assert!(n >= 5, "only {n} corpus files in {}", dir.display());
}

#[test]
fn line_receiver_corpus() {
    run_corpus("line_receiver", fuzzing::line_receiver);
}

#[test]
fn line_only_corpus() {
    run_corpus("line_only", fuzzing::line_only);
}

#[test]
fn netstring_corpus() {
    run_corpus("netstring", fuzzing::netstring);
}

#[test]
fn int_strings_corpus() {
    run_corpus("int_strings", fuzzing::int_strings);
}

#[test]
fn http_head_corpus() {
    run_corpus("http_head", web::http_head);
}

#[test]
fn http_chunked_corpus() {
    run_corpus("http_chunked", web::http_chunked);
}

#[test]
fn http_pipeline_corpus() {
    run_corpus("http_pipeline", web::http_pipeline);
}

#[test]
fn imap_response_corpus() {
    run_corpus("imap_response", imap_response);
}

#[test]
fn the_entry_points_take_any_bytes() {
    // A cheap stand-in for the fuzzer on stable: pseudo-random inputs of every length.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for len in 0..300usize {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly small read lengths and text, some control bytes.
                match state % 8 {
                    0 => (state >> 8) as u8,
                    1..=3 => (state >> 8) as u8 % 8,
                    _ => b"\r\nRPUCDEMQX:,0123"[(state >> 8) as usize % 16],
                }
            })
            .collect();
        fuzzing::line_receiver(&data);
        fuzzing::line_only(&data);
        fuzzing::netstring(&data);
        fuzzing::int_strings(&data);
        web::http_head(&data);
        web::http_chunked(&data);
        web::http_pipeline(&data);
        imap_response(&data);
    }
}
