//! What a file is, from its first bytes (magic numbers, via the `infer` crate) — never from
//! its name or the type the uploader declared, so a text file renamed `.mp3` is refused.

use super::model::MediaKind;

/// How many leading bytes are enough to decide (ISO-BMFF `ftyp`, RIFF, ID3, `%PDF`, …).
pub const SNIFF_LEN: usize = 8 * 1024;

/// An accepted type: its kind, the content type it is served with, and the key suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: MediaKind,
    pub content_type: &'static str,
    pub extension: &'static str,
}

const fn s(kind: MediaKind, content_type: &'static str, extension: &'static str) -> Sniffed {
    Sniffed {
        kind,
        content_type,
        extension,
    }
}

/// The accepted types, by the MIME type `infer` reports. Everything else is refused.
const ACCEPTED: &[(&str, Sniffed)] = &[
    ("video/mp4", s(MediaKind::Video, "video/mp4", "mp4")),
    ("audio/mpeg", s(MediaKind::Audio, "audio/mpeg", "mp3")),
    ("audio/m4a", s(MediaKind::Audio, "audio/mp4", "m4a")),
    ("audio/x-wav", s(MediaKind::Audio, "audio/wav", "wav")),
    ("audio/ogg", s(MediaKind::Audio, "audio/ogg", "ogg")),
    ("audio/opus", s(MediaKind::Audio, "audio/ogg", "opus")),
    ("image/jpeg", s(MediaKind::Image, "image/jpeg", "jpg")),
    ("image/png", s(MediaKind::Image, "image/png", "png")),
    ("image/webp", s(MediaKind::Image, "image/webp", "webp")),
    (
        "application/pdf",
        s(MediaKind::Pdf, "application/pdf", "pdf"),
    ),
];

/// Decides the type from the leading bytes; `None` when it is not an accepted type.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    let found = infer::get(head)?;
    ACCEPTED
        .iter()
        .find(|(mime, _)| *mime == found.mime_type())
        .map(|(_, sniffed)| *sniffed)
}

/// The accepted content types, for error messages and documentation.
pub fn accepted_list() -> String {
    let mut types: Vec<&str> = ACCEPTED.iter().map(|(_, s)| s.content_type).collect();
    types.dedup();
    types.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_by_content() {
        assert_eq!(
            sniff(b"%PDF-1.7\n...").map(|s| s.kind),
            Some(MediaKind::Pdf)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").map(|s| s.content_type),
            Some("image/png")
        );
        assert_eq!(
            sniff(b"ID3\x04\0\0\0\0\0\0").map(|s| s.content_type),
            Some("audio/mpeg")
        );
        assert_eq!(
            sniff(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41").map(|s| s.kind),
            Some(MediaKind::Video)
        );
        assert_eq!(
            sniff(b"\0\0\0\x1cftypM4A \0\0\x02\0M4A isomiso2").map(|s| s.content_type),
            Some("audio/mp4")
        );
        assert_eq!(
            sniff(b"RIFF\x24\0\0\0WAVEfmt ").map(|s| s.content_type),
            Some("audio/wav")
        );
    }

    #[test]
    fn refuses_what_is_not_accepted() {
        assert_eq!(sniff(b"just some text that claims to be an mp3"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), None);
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0"), None);
        assert_eq!(sniff(b"<!DOCTYPE html><html>"), None);
    }
}
