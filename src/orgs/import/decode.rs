//! Bytes to text. A CSV saved by Excel on a Chinese Windows machine is GBK; saved as
//! "CSV UTF-8" it is UTF-8 with a BOM; "Unicode text" is UTF-16 with a BOM. The order:
//! a BOM decides; else a charset the client declared, if the bytes decode cleanly in it;
//! else UTF-8 if valid; else GB18030 (a superset of GBK and GB2312). Bytes that decode in
//! none of these are rejected rather than imported as mojibake.

use encoding_rs::{Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};

/// Decoded text and the name of the encoding it was read in.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

/// Decodes `bytes`; `declared` is the `charset` of the request or file part, if any.
/// `None` when no supported encoding reads the bytes without errors.
pub fn decode(bytes: &[u8], declared: Option<&str>) -> Option<Decoded> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return strict(UTF_8, rest).map(|text| Decoded {
            text,
            encoding: "utf-8-bom",
        });
    }
    for (bom, enc, name) in [
        (&b"\xFF\xFE"[..], UTF_16LE, "utf-16le"),
        (&b"\xFE\xFF"[..], UTF_16BE, "utf-16be"),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return strict(enc, rest).map(|text| Decoded {
                text,
                encoding: name,
            });
        }
    }
    if let Some(enc) = declared.and_then(|l| Encoding::for_label(l.trim().as_bytes()))
        && let Some(text) = strict(enc, bytes)
    {
        return Some(Decoded {
            text,
            encoding: name_of(enc),
        });
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Some(Decoded {
            text: text.to_string(),
            encoding: "utf-8",
        });
    }
    strict(GB18030, bytes).map(|text| Decoded {
        text,
        encoding: "gb18030",
    })
}

/// Decodes without BOM sniffing and without replacement characters.
fn strict(enc: &'static Encoding, bytes: &[u8]) -> Option<String> {
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
}

fn name_of(enc: &'static Encoding) -> &'static str {
    if enc == UTF_8 {
        "utf-8"
    } else if enc == UTF_16LE {
        "utf-16le"
    } else if enc == UTF_16BE {
        "utf-16be"
    } else if enc == GB18030 || enc == encoding_rs::GBK {
        "gb18030"
    } else {
        // Lower-case WHATWG names of the other encodings a client may declare.
        match enc.name() {
            "Big5" => "big5",
            "windows-1252" => "windows-1252",
            _ => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_encoding() {
        let text = "姓名,手机号\r\n王建国,13807310001\r\n";
        let (gbk, _, _) = GB18030.encode(text);
        let d = decode(&gbk, None).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (text, "gb18030"));

        let d = decode(text.as_bytes(), None).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (text, "utf-8"));

        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let d = decode(&bom, None).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (text, "utf-8-bom"));

        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let d = decode(&le, None).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (text, "utf-16le"));

        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        let d = decode(&be, None).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (text, "utf-16be"));
    }

    #[test]
    fn a_wrong_declared_charset_falls_back_to_detection() {
        let (gbk, _, _) = GB18030.encode("姓名,手机号\n");
        let d = decode(&gbk, Some("utf-8")).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("姓名,手机号\n", "gb18030"));
        let d = decode(&gbk, Some("gbk")).unwrap();
        assert_eq!(d.encoding, "gb18030");
    }

    #[test]
    fn undecodable_bytes_are_refused() {
        assert!(decode(b"\xEF\xBB\xBF\xFF\xFF", None).is_none());
        assert!(decode(b"name\xFF\xFF\xFF", None).is_none());
    }
}
