//! Small text encodings used by the format: lowercase hex and standard padded base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    write_hex(bytes, &mut out);
    // Only ASCII hex digits were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Append lowercase hex of `bytes` to `out` (what [`hex`] returns, without a `String`).
pub(crate) fn write_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize]);
        out.push(DIGITS[(byte & 0x0F) as usize]);
    }
}

/// Decode exactly `N` bytes of lowercase hex; `None` on any other input (uppercase included).
pub fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (index, pair) in digits.chunks_exact(2).enumerate() {
        out[index] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some(out)
}

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Standard padded base64 of `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decode standard padded base64, refusing non-canonical encodings (stray bits, missing padding).
pub fn parse_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(text).ok()?;
    // Re-encoding must give the same text, so that each value has exactly one spelling.
    (STANDARD.encode(&bytes) == text).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_uppercase() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(parse_hex::<3>("00abff"), Some([0x00, 0xab, 0xff]));
        assert_eq!(parse_hex::<3>("00ABff"), None);
        assert_eq!(parse_hex::<2>("00abff"), None);
    }

    #[test]
    fn base64_is_canonical() {
        assert_eq!(parse_base64("AQ=="), Some(vec![1]));
        assert_eq!(parse_base64("AR=="), None);
        assert_eq!(parse_base64("AQ"), None);
    }
}
