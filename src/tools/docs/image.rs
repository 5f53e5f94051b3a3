//! Images (PNG, JPEG, GIF, WebP, BMP) as image content sized for a model:
//! downscaled so the longest edge is at most `image_max_edge`, re-encoded
//! when that is needed or makes it smaller. The header's dimensions are
//! checked against the pixel limit before anything is decoded, so a
//! decompression bomb (a few KB claiming 50,000×50,000) costs nothing.

use super::{invalid, Budget, DocError, Extracted, Request};
use crate::protocol::Content;
use base64::Engine;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use serde_json::json;
use std::io::Cursor;

/// The MIME type of an image from its first bytes.
pub(crate) fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else if head.len() >= 18
        && head.starts_with(b"BM")
        && matches!(
            u32::from_le_bytes([head[14], head[15], head[16], head[17]]),
            12 | 40 | 52 | 56 | 64 | 108 | 124
        )
    {
        Some("image/bmp")
    } else {
        None
    }
}

fn encode(img: &DynamicImage, jpeg: bool) -> Result<(Vec<u8>, &'static str), DocError> {
    let mut out = Cursor::new(Vec::new());
    if jpeg {
        let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
        rgb.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 85,
        ))
        .map_err(|e| invalid(format!("cannot re-encode the image: {e}")))?;
        Ok((out.into_inner(), "image/jpeg"))
    } else {
        img.write_to(&mut out, ImageFormat::Png)
            .map_err(|e| invalid(format!("cannot re-encode the image: {e}")))?;
        Ok((out.into_inner(), "image/png"))
    }
}

/// An image as image content, downscaled to `req.image_max_edge`.
pub(crate) fn read(data: &[u8], req: &Request, budget: &Budget) -> Result<Extracted, DocError> {
    let mime = sniff(data).ok_or_else(|| invalid("not a PNG, JPEG, GIF, WebP or BMP image"))?;
    let reader = || {
        ImageReader::new(Cursor::new(data))
            .with_guessed_format()
            .map_err(|e| invalid(format!("cannot read the image: {e}")))
    };
    let (w, h) = reader()?
        .into_dimensions()
        .map_err(|e| invalid(format!("cannot read the image's header: {e}")))?;
    let max_pixels = budget.limits().pixels;
    if u64::from(w) * u64::from(h) > max_pixels || w == 0 || h == 0 {
        return Err(invalid(format!(
            "the image claims {w}×{h} pixels, more than the limit of {max_pixels} pixels (or none); not decoded"
        )));
    }
    let edge = req.image_max_edge.max(1);
    let needs_scaling = w.max(h) > edge;
    let is_jpeg = mime == "image/jpeg";
    let passthrough = !needs_scaling && mime != "image/bmp" && data.len() <= req.max_media;
    let (bytes, sent_mime, sw, sh) = if passthrough {
        (data.to_vec(), mime, w, h)
    } else {
        budget.check()?;
        let mut r = reader()?;
        let mut limits = Limits::default();
        limits.max_image_width = Some(w);
        limits.max_image_height = Some(h);
        limits.max_alloc = Some(max_pixels * 8);
        r.limits(limits);
        let img = r
            .decode()
            .map_err(|e| invalid(format!("cannot decode the image (damaged?): {e}")))?;
        budget.check()?;
        let img = if needs_scaling {
            img.thumbnail(edge, edge)
        } else {
            img
        };
        budget.check()?;
        let (mut bytes, mut m) = encode(&img, is_jpeg)?;
        if bytes.len() > req.max_media && !is_jpeg && !img.color().has_alpha() {
            (bytes, m) = encode(&img, true)?;
        }
        (bytes, m, img.width(), img.height())
    };
    if bytes.len() > req.max_media {
        return Err(invalid(format!(
            "the image is {} bytes even after re-encoding, more than the limit of {} bytes",
            bytes.len(),
            req.max_media
        )));
    }
    let s = json!({
        "format": mime.trim_start_matches("image/"),
        "mime_type": sent_mime,
        "width": w,
        "height": h,
        "sent_width": sw,
        "sent_height": sh,
        "bytes": data.len(),
        "sent_bytes": bytes.len(),
        "downscaled": needs_scaling,
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok((Content::image(b64, sent_mime), s))
}
