//! QR codes as PNG images, for authenticator apps to scan.

use qrcodegen::{QrCode, QrCodeEcc};

/// Pixels per module and quiet-zone width in modules (the standard asks for 4).
const SCALE: usize = 6;
const BORDER: usize = 4;

#[derive(Debug, thiserror::Error)]
#[error("cannot make a QR code: {0}")]
pub struct QrError(String);

/// `text` as a black-on-white PNG.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|e| QrError(e.to_string()))?;
    let modules = usize::try_from(code.size()).map_err(|e| QrError(e.to_string()))?;
    let side = (modules + 2 * BORDER) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / SCALE, y / SCALE);
            if (BORDER..BORDER + modules).contains(&mx) && (BORDER..BORDER + modules).contains(&my)
            {
                let dark = code.get_module((mx - BORDER) as i32, (my - BORDER) as i32);
                if dark {
                    pixels[y * side + x] = 0;
                }
            }
        }
    }
    let side_u32 = u32::try_from(side).map_err(|e| QrError(e.to_string()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side_u32, side_u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| QrError(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| QrError(e.to_string()))?;
    writer.finish().map_err(|e| QrError(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_a_png_of_the_right_size() {
        let bytes = super::png("otpauth://totp/Optralis:a@b?secret=ABC").unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert_eq!(info.width % 6, 0);
        assert!(info.width >= (21 + 8) * 6);
    }
}
