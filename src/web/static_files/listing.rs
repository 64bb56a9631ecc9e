//! The HTML directory listing (Twisted's `DirectoryLister`).

use std::fmt::Write as _;
use std::path::Path;

/// Escapes `s` for HTML text and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment for a link.
pub(crate) fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The listing page of `dir`, shown at `url_path`.
pub(crate) fn render(dir: &Path, url_path: &str) -> std::io::Result<String> {
    let mut entries: Vec<(String, bool, u64)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| {
            let md = e.metadata().ok();
            (
                e.file_name().to_string_lossy().into_owned(),
                md.as_ref().is_some_and(|m| m.is_dir()),
                md.map_or(0, |m| m.len()),
            )
        })
        .collect();
    entries.sort();
    let title = html_escape(&format!("Directory listing for {url_path}"));
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<table>\n<tr><th>Filename</th><th>Size</th></tr>\n"
    );
    for (name, is_dir, size) in entries {
        let slash = if is_dir { "/" } else { "" };
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td>{}</td></tr>",
            url_escape(&name),
            html_escape(&name),
            if is_dir {
                "-".to_string()
            } else {
                size.to_string()
            },
        );
    }
    page.push_str("</table>\n</body>\n</html>\n");
    Ok(page)
}
