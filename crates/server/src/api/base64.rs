//! A small base64 decoder for photos sent in JSON, so that the API needs no extra
//! crate for one field. Accepts the standard and the URL-safe alphabet, with or
//! without padding, and ignores whitespace (line-wrapped base64).

/// The bytes of a base64 text, or `None` if it is not base64.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    let mut symbols = 0usize;
    let mut padding = 0usize;
    for byte in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if byte == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None;
        }
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        symbols += 1;
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // One symbol left over carries only six bits, not a byte; the bits left over
    // after the last byte must be zero; padding must fill the last group exactly.
    let whole_groups = padding == 0 || (symbols + padding).is_multiple_of(4);
    if bits == 6 || buffer != 0 || padding > 2 || !whole_groups {
        return None;
    }
    Some(bytes)
}

/// Splits a data URL (`data:image/png;base64,...`) into its content type and payload;
/// plain base64 is returned as it is.
pub fn strip_data_url(text: &str) -> (Option<&str>, &str) {
    match text.strip_prefix("data:").and_then(|rest| rest.split_once(',')) {
        Some((meta, payload)) => {
            let content_type = meta.strip_suffix(";base64").unwrap_or(meta);
            (Some(content_type).filter(|c| !c.is_empty()), payload)
        }
        None => (None, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding_and_refuses_what_is_not_base64() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("TWFu", Some(b"Man")),
            ("TWE=", Some(b"Ma")),
            ("TWE", Some(b"Ma")),
            ("TQ==", Some(b"M")),
            ("TQ", Some(b"M")),
            ("TW\nFu", Some(b"Man")),
            ("_-8=", Some(&[0xff, 0xef])),
            ("T", None),
            ("TW=u", None),
            ("TWF==", None),
            ("TR==", None),
            ("TQ===", None),
            ("ikke base64!", None),
        ];
        for (input, expected) in cases {
            assert_eq!(decode(input).as_deref(), *expected, "input {input:?}");
        }
    }

    #[test]
    fn a_data_url_gives_its_content_type() {
        assert_eq!(
            strip_data_url("data:image/png;base64,AAAA"),
            (Some("image/png"), "AAAA")
        );
        assert_eq!(strip_data_url("AAAA"), (None, "AAAA"));
    }
}
