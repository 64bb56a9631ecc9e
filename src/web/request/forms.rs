//! Parsing of what a request carries besides its head: percent-decoding, query strings and
//! urlencoded bodies, multipart/form-data bodies, and `Cookie` headers.

/// One decoded argument list: names with their values, in order (Twisted's
/// `dict[bytes, list[bytes]]`, kept as pairs so order and duplicates survive).
pub type Args = Vec<(Vec<u8>, Vec<u8>)>;

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decodes `s` into `out`; with `plus`, `+` becomes a space (form encoding).
/// Malformed escapes are kept as they are (as Python's `unquote` does).
pub fn percent_decode_into(s: &[u8], plus: bool, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                match (
                    s.get(i + 1).copied().and_then(hex),
                    s.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
}

/// Percent-decodes `s` (no `+` rule).
///
/// # Examples
///
/// ```
/// use torsion::web::percent_decode;
/// assert_eq!(percent_decode(b"a%20b%2F%zz"), b"a b/%zz");
/// ```
pub fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    percent_decode_into(s, false, &mut out);
    out
}

/// Parses `a=1&b=2&a=3` (a query string or an `application/x-www-form-urlencoded` body)
/// into `args`. Fields without `=` get an empty value (Twisted's `keep_blank_values`).
pub fn parse_qs_into(s: &[u8], args: &mut Args) {
    for field in s.split(|&c| c == b'&' || c == b';') {
        if field.is_empty() {
            continue;
        }
        let (name, value) = match field.iter().position(|&c| c == b'=') {
            Some(i) => (&field[..i], &field[i + 1..]),
            None => (field, &b""[..]),
        };
        let (mut n, mut v) = (Vec::new(), Vec::new());
        percent_decode_into(name, true, &mut n);
        percent_decode_into(value, true, &mut v);
        args.push((n, v));
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A parameter of a header value (`boundary=...`, `name="..."`), unquoted.
pub fn header_param<'a>(value: &'a [u8], param: &[u8]) -> Option<&'a [u8]> {
    for part in value.split(|&c| c == b';').skip(1) {
        let part = trim(part);
        let Some(eq) = part.iter().position(|&c| c == b'=') else {
            continue;
        };
        if trim(&part[..eq]).eq_ignore_ascii_case(param) {
            let v = trim(&part[eq + 1..]);
            return Some(match v {
                [b'"', inner @ .., b'"'] => inner,
                v => v,
            });
        }
    }
    None
}

pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Parses a `multipart/form-data` body with `boundary` into `args`: each part's
/// `Content-Disposition` name and its content (file parts too: the content, as Twisted's
/// `request.args` has it). Malformed bodies give what was parsed before the fault.
pub fn parse_multipart_into(body: &[u8], boundary: &[u8], args: &mut Args) {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let Some(first) = find(body, &delim) else {
        return;
    };
    let mut rest = &body[first + delim.len()..];
    let mut sep = b"\r\n".to_vec();
    sep.extend_from_slice(&delim);
    loop {
        if rest.starts_with(b"--") {
            return; // the closing delimiter
        }
        let Some(rest2) = rest.strip_prefix(b"\r\n") else {
            return;
        };
        let Some(head_end) = find(rest2, b"\r\n\r\n") else {
            return;
        };
        let headers = &rest2[..head_end];
        let content_and_more = &rest2[head_end + 4..];
        let Some(end) = find(content_and_more, &sep) else {
            return;
        };
        let name = headers
            .split(|&c| c == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .find(|l| l.len() > 20 && l[..20].eq_ignore_ascii_case(b"content-disposition:"))
            .and_then(|l| header_param(l, b"name"));
        if let Some(name) = name {
            args.push((name.to_vec(), content_and_more[..end].to_vec()));
        }
        rest = &content_and_more[end + sep.len()..];
    }
}

/// Parses a `Cookie` header value (`a=1; b=2`) into pairs.
pub fn parse_cookies_into(value: &[u8], out: &mut Args) {
    for part in value.split(|&c| c == b';') {
        let part = trim(part);
        if let Some(eq) = part.iter().position(|&c| c == b'=') {
            let v = trim(&part[eq + 1..]);
            let v = match v {
                [b'"', inner @ .., b'"'] => inner,
                v => v,
            };
            out.push((trim(&part[..eq]).to_vec(), v.to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings() {
        let mut a = Args::new();
        parse_qs_into(b"a=1&b=x+y&a=%41&flag", &mut a);
        assert_eq!(
            a,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"x y".to_vec()),
                (b"a".to_vec(), b"A".to_vec()),
                (b"flag".to_vec(), b"".to_vec()),
            ]
        );
    }

    #[test]
    fn multipart() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\nbody\r\n--XX--\r\n";
        let mut a = Args::new();
        parse_multipart_into(body, b"XX", &mut a);
        assert_eq!(
            a,
            vec![
                (b"a".to_vec(), b"one".to_vec()),
                (b"f".to_vec(), b"file\r\nbody".to_vec())
            ]
        );
    }

    #[test]
    fn cookies() {
        let mut a = Args::new();
        parse_cookies_into(b"a=1; b=\"two\" ;c", &mut a);
        assert_eq!(
            a,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"two".to_vec())
            ]
        );
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode(b"%2e%2E/%"), b"../%");
        assert_eq!(percent_decode(b"%4"), b"%4");
    }
}
