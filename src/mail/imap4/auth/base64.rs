//! Base64 (RFC 4648), the standard alphabet for SASL and the modified one (`,` for `/`,
//! no padding) of IMAP's modified UTF-7 mailbox names.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const IMAP: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn encode_with(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn decode_with(text: &[u8], alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    let text: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let text = match text.iter().position(|&b| b == b'=') {
        Some(i) if text[i..].iter().all(|&b| b == b'=') && text.len() % 4 == 0 => &text[..i],
        Some(_) => return None,
        None => &text[..],
    };
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text {
        let v = alphabet.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Standard base64 with padding.
pub(crate) fn encode(data: &[u8]) -> String {
    encode_with(data, STANDARD, true)
}

/// Standard base64 (padding optional, whitespace ignored); `None` if malformed.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    decode_with(text, STANDARD)
}

/// Modified base64 of modified UTF-7 (`,` for `/`, no padding).
pub(crate) fn encode_imap(data: &[u8]) -> String {
    encode_with(data, IMAP, false)
}

/// Decodes modified base64; `None` if malformed.
pub(crate) fn decode_imap(text: &[u8]) -> Option<Vec<u8>> {
    decode_with(text, IMAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded.as_bytes()).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode(b"Zm9vYg").unwrap(), b"foob");
        assert_eq!(decode(b"Zm9v\r\nYg==").unwrap(), b"foob");
        assert!(decode(b"Zm9v!").is_none());
        assert!(decode(b"Z").is_none());
        assert!(decode(b"Zg=a").is_none());
    }

    #[test]
    fn imap_alphabet() {
        assert_eq!(encode_imap(&[0xfb, 0xff]), "+,8");
        assert_eq!(decode_imap(b"+,8").unwrap(), [0xfb, 0xff]);
    }
}
