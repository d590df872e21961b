//! Base64 for photos sent in JSON (the `base64` crate): the standard and the URL-safe
//! alphabet, with or without padding, whitespace (line-wrapped base64) ignored.

use base64::Engine;
use base64::alphabet::{STANDARD, URL_SAFE};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The bytes of a base64 text, or `None` if it is not base64.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    [STANDARD, URL_SAFE]
        .iter()
        .find_map(|alphabet| GeneralPurpose::new(alphabet, config).decode(&compact).ok())
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
