//! `GET /fhir/package.tgz`: Samhand's definitions as a FHIR NPM package
//! (`package/package.json`, `package/.index.json` and one file per
//! StructureDefinition), for validators and IG tools that load packages. Written
//! here as a ustar archive in a gzip stream of stored (uncompressed) deflate
//! blocks: a few kilobytes, no compression library needed, and the same bytes
//! for the same definitions (every time stamp is the definitions' date).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::conformance::{DATE, VERSION, definitions};
use super::{FHIR_VERSION, SAMHAND_SYSTEM};

/// The package's name (lower case, as FHIR package names are).
pub const NAME: &str = "no.samhand.fhir";

/// The package's files: (path in the archive, content).
pub fn files() -> Vec<(String, Vec<u8>)> {
    let definitions = definitions();
    let manifest = json!({
        "name": NAME,
        "version": VERSION,
        "description": "Samhand's extensions and LAR profiles for FHIR R4",
        "author": "Samhand",
        "canonical": SAMHAND_SYSTEM,
        "url": SAMHAND_SYSTEM,
        "fhirVersions": [FHIR_VERSION],
        "dependencies": {"hl7.fhir.r4.core": FHIR_VERSION},
        "date": DATE.replace('-', ""),
    });
    let index: Vec<Value> = definitions
        .iter()
        .map(|sd| {
            json!({
                "filename": file_name(sd),
                "resourceType": "StructureDefinition",
                "id": sd["id"],
                "url": sd["url"],
                "version": sd["version"],
                "kind": sd["kind"],
                "type": sd["type"],
            })
        })
        .collect();
    let mut files = vec![
        (
            "package/package.json".to_string(),
            manifest.to_string().into_bytes(),
        ),
        (
            "package/.index.json".to_string(),
            json!({"index-version": 1, "files": index})
                .to_string()
                .into_bytes(),
        ),
    ];
    for sd in &definitions {
        files.push((format!("package/{}", file_name(sd)), sd.to_string().into_bytes()));
    }
    files
}

fn file_name(sd: &Value) -> String {
    format!("StructureDefinition-{}.json", sd["id"].as_str().unwrap_or(""))
}

pub async fn package() -> Response {
    let mtime = jiff::civil::Date::strptime("%Y-%m-%d", DATE)
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map_or(0, |z| z.timestamp().as_second() as u64);
    let body = gzip_stored(&tar(&files(), mtime));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/gzip")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"no.samhand.fhir.tgz\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A ustar archive of regular files.
fn tar(files: &[(String, Vec<u8>)], mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, content) in files {
        let mut block = [0u8; 512];
        let mut field = |at: usize, text: &[u8]| block[at..at + text.len()].copy_from_slice(text);
        field(0, path.as_bytes());
        field(100, b"0000644\0");
        field(108, b"0000000\0");
        field(116, b"0000000\0");
        field(124, format!("{:011o}\0", content.len()).as_bytes());
        field(136, format!("{mtime:011o}\0").as_bytes());
        field(148, b"        ");
        field(156, b"0");
        field(257, b"ustar\0");
        field(263, b"00");
        let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&block);
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// `data` as gzip with stored deflate blocks (RFC 1951 BTYPE 00, RFC 1952).
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = data.chunks(u16::MAX as usize).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    if chunks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_gzip_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_tar_entry_has_its_name_size_and_a_valid_checksum() {
        let archive = tar(&[("package/a.json".into(), b"{}".to_vec())], 0);
        assert_eq!(archive.len(), 512 + 512 + 1024);
        assert_eq!(&archive[..14], b"package/a.json");
        assert_eq!(&archive[124..136], b"00000000002\0");
        let mut header = archive[..512].to_vec();
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        assert_eq!(&archive[148..155], format!("{sum:06o}\0").as_bytes());
    }
}
