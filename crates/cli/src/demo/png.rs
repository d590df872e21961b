//! A tiny PNG writer for the demo's identity photos: an RGB image in one
//! uncompressed ("stored") deflate block, with its own CRC-32 and Adler-32, so the
//! demo needs no image crate.

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Encodes `pixels` (row by row, `width` × `height`) as a PNG file. The image must
/// fit one stored deflate block (at most 65,535 bytes of filtered rows).
pub fn encode_rgb(width: u32, height: u32, pixels: &[Rgb]) -> Vec<u8> {
    assert_eq!(pixels.len(), (width * height) as usize, "one pixel per position");
    let row_len = 1 + 3 * width as usize;
    let mut raw = Vec::with_capacity(row_len * height as usize);
    for row in pixels.chunks(width as usize) {
        raw.push(0); // filter type: none
        for pixel in row {
            raw.extend_from_slice(pixel);
        }
    }
    let len = u16::try_from(raw.len()).expect("the image fits one stored deflate block");

    let mut zlib = Vec::with_capacity(raw.len() + 11);
    zlib.extend_from_slice(&[0x78, 0x01]); // deflate, 32 KiB window, no preset dictionary
    zlib.push(0x01); // final block, stored
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit depth, truecolour, no interlace

    let mut png = Vec::with_capacity(zlib.len() + 64);
    png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A head-and-shoulders silhouette on a plain background, like an avatar placeholder.
pub fn avatar(width: u32, height: u32, background: Rgb, figure: Rgb) -> Vec<u8> {
    let (w, h) = (width as i64, height as i64);
    let head = (w / 2, h * 19 / 50, w * 21 / 100);
    let shoulders = (w / 2, h + h / 20, w / 2);
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for y in 0..h {
        for x in 0..w {
            let inside = |(cx, cy, r): (i64, i64, i64)| (x - cx).pow(2) + (y - cy).pow(2) <= r * r;
            pixels.push(if inside(head) || inside(shoulders) {
                figure
            } else {
                background
            });
        }
    }
    encode_rgb(width, height, &pixels)
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 as PNG uses it (polynomial 0xEDB88320, reflected).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
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

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in bytes {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_published_values() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn an_avatar_is_a_well_formed_png() {
        let png = avatar(48, 60, [200, 220, 240], [60, 80, 110]);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 48);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 60);
        assert_eq!(&png[png.len() - 12..], b"\0\0\0\0IEND\xAE\x42\x60\x82");
        // The IDAT chunk holds one stored block with the filtered rows.
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        assert_eq!(idat_len, 2 + 5 + 60 * (1 + 48 * 3) + 4);
    }
}
