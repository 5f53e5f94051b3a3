//! Audio (WAV, MP3, OGG, FLAC) as audio content, within the media size cap.
//! Nothing is decoded: the bytes are sent as they are.

use super::{invalid, DocError, Extracted, Request};
use crate::protocol::Content;
use base64::Engine;
use serde_json::json;

/// The MIME type of an audio file from its first bytes.
pub(crate) fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        Some("audio/wav")
    } else if head.starts_with(b"OggS") {
        Some("audio/ogg")
    } else if head.starts_with(b"fLaC") {
        Some("audio/flac")
    } else if head.starts_with(b"ID3")
        || (head.len() >= 2 && head[0] == 0xFF && (head[1] & 0xE6) == 0xE2)
    {
        Some("audio/mpeg")
    } else {
        None
    }
}

/// `data` as audio content of type `mime`, if it fits the cap.
pub(crate) fn read(mime: &'static str, data: &[u8], req: &Request) -> Result<Extracted, DocError> {
    if data.len() > req.max_media {
        return Err(invalid(format!(
            "this audio file is {} bytes, more than the limit of {} bytes for audio content",
            data.len(),
            req.max_media
        )));
    }
    let s = json!({
        "format": mime.trim_start_matches("audio/"),
        "mime_type": mime,
        "bytes": data.len(),
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    Ok((Content::audio(b64, mime), s))
}
