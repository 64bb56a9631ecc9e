//! Content types by file extension: a built-in table, extended by `/etc/mime.types` when
//! the system has one (Twisted's `loadMimeTypes`).

use std::collections::HashMap;

const BUILT_IN: &[(&str, &str)] = &[
    ("html", "text/html"),
    ("htm", "text/html"),
    ("txt", "text/plain"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("svg", "image/svg+xml"),
    ("ico", "image/x-icon"),
    ("webp", "image/webp"),
    ("pdf", "application/pdf"),
    ("wasm", "application/wasm"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("mp4", "video/mp4"),
    ("mp3", "audio/mpeg"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("rs", "text/plain"),
    ("py", "text/plain"),
];

/// The content-type table: extension (lower case, no dot) to type.
pub(crate) fn load() -> HashMap<String, String> {
    let mut map = HashMap::new();
    if let Ok(text) = std::fs::read_to_string("/etc/mime.types") {
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let Some(ty) = words.next().filter(|t| !t.starts_with('#')) else {
                continue;
            };
            for ext in words {
                map.insert(ext.to_ascii_lowercase(), ty.to_string());
            }
        }
    }
    for (ext, ty) in BUILT_IN {
        map.insert((*ext).to_string(), (*ty).to_string());
    }
    map
}
