//! Text that comes in: the one validated type family every request body and query parameter
//! uses for names, titles, free text, URLs and opaque codes.
//!
//! Every value is checked while it is deserialized, so a bad value never reaches a handler
//! or a database, and both backends give the same answer (PostgreSQL refuses NUL in text;
//! SQLite would store it):
//!
//! - single-line kinds ([`Name`], [`Title`], [`SearchText`], [`FileName`]) are trimmed and
//!   refuse every control character (C0 — NUL, CR, LF, tab … — DEL and C1), the Unicode line
//!   and paragraph separators and the bidirectional overrides and isolates (which can make a
//!   name read backwards);
//! - multi-line kinds ([`Note`], [`Body`]) also keep line feeds and tabs (CRLF and lone CR
//!   become LF);
//! - [`HttpUrl`] is an absolute `http`/`https` URL without white space or control
//!   characters (so it can be written into an iCalendar `URL:` line or a link as is);
//! - [`Code`] is an opaque token from a client or WeChat: visible ASCII only.
//!
//! Each kind has a maximum length in characters. A failure is a `422 invalid_body` (or
//! `400 invalid_query`) naming the field, with the field code `control_character`,
//! `invalid_length` or `invalid_format`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// A control character (or line break where one line is expected).
    Control,
    /// Longer than the kind allows.
    TooLong(usize),
    /// Not the expected form (a URL, a code).
    Format,
}

impl TextProblem {
    /// The field error code sent to the client.
    pub fn code(self) -> &'static str {
        match self {
            TextProblem::Control => "control_character",
            TextProblem::TooLong(_) => "invalid_length",
            TextProblem::Format => "invalid_format",
        }
    }

    /// The message in Chinese and English.
    pub fn message(self) -> (String, String) {
        match self {
            TextProblem::Control => (
                "不能包含控制字符（如空字符、换行、制表符）".into(),
                "Must not contain control characters (NUL, line breaks, tabs)".into(),
            ),
            TextProblem::TooLong(max) => (
                format!("不能超过 {max} 个字符"),
                format!("Must be at most {max} characters"),
            ),
            TextProblem::Format => ("格式不正确".into(), "Not in the expected format".into()),
        }
    }

    /// The serde error message; [`parse_serde_message`] reads it back.
    fn serde_message(self) -> String {
        match self {
            TextProblem::TooLong(max) => format!("{PREFIX}invalid_length:{max}"),
            other => format!("{PREFIX}{}", other.code()),
        }
    }
}

const PREFIX: &str = "dangke-text:";

/// Finds a [`TextProblem`] in a serde error message (the JSON and query extractors call it
/// to build the field error).
pub fn parse_serde_message(msg: &str) -> Option<TextProblem> {
    let rest = &msg[msg.find(PREFIX)? + PREFIX.len()..];
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    match token.split_once(':') {
        Some(("invalid_length", n)) => n.parse().ok().map(TextProblem::TooLong),
        _ => match token.as_str() {
            "control_character" => Some(TextProblem::Control),
            "invalid_format" => Some(TextProblem::Format),
            _ => None,
        },
    }
}

/// Characters no text field accepts: controls other than those a kind allows, the line and
/// paragraph separators, and the bidirectional embeddings, overrides and isolates.
fn forbidden(c: char, multi_line: bool) -> bool {
    if multi_line && (c == '\n' || c == '\t') {
        return false;
    }
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks one line of text: trimmed, no control characters, at most `max` characters.
pub fn clean_line(s: &str, max: usize) -> Result<String, TextProblem> {
    let s = s.trim();
    if s.chars().any(|c| forbidden(c, false)) {
        return Err(TextProblem::Control);
    }
    if s.chars().count() > max {
        return Err(TextProblem::TooLong(max));
    }
    Ok(s.to_string())
}

/// Checks multi-line text: line endings made LF, trimmed, no other control characters, at
/// most `max` characters.
pub fn clean_multi_line(s: &str, max: usize) -> Result<String, TextProblem> {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let s = s.trim();
    if s.chars().any(|c| forbidden(c, true)) {
        return Err(TextProblem::Control);
    }
    if s.chars().count() > max {
        return Err(TextProblem::TooLong(max));
    }
    Ok(s.to_string())
}

/// Checks an absolute http(s) URL: no white space or control characters, at most `max`
/// characters, parseable, with a host.
pub fn clean_url(s: &str, max: usize) -> Result<String, TextProblem> {
    let s = s.trim();
    if s.chars().any(|c| c.is_whitespace() || forbidden(c, false)) {
        return Err(TextProblem::Control);
    }
    if s.chars().count() > max {
        return Err(TextProblem::TooLong(max));
    }
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(s.to_string())
        }
        _ => Err(TextProblem::Format),
    }
}

/// Checks an opaque code: visible ASCII only (no spaces), at most `max` characters.
pub fn clean_code(s: &str, max: usize) -> Result<String, TextProblem> {
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TextProblem::Control);
    }
    if s.len() > max {
        return Err(TextProblem::TooLong(max));
    }
    Ok(s.to_string())
}

macro_rules! text_kind {
    ($(#[$doc:meta])* $name:ident, $check:ident, $max:expr, $desc:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(String);

        impl $name {
            /// The most characters this kind holds.
            pub const MAX: usize = $max;

            /// Checks `s` as this kind.
            pub fn parse(s: &str) -> Result<Self, TextProblem> {
                $check(s, $max).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(t: $name) -> String {
                t.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw: Cow<'de, str> = Cow::deserialize(d)?;
                $name::parse(&raw).map_err(|p| serde::de::Error::custom(p.serde_message()))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                text_schema($max, $desc)
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

fn text_schema(max: usize, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(max))
        .description(Some(description))
        .build()
        .into()
}

text_kind!(
    /// A person's or an org's name: one line, at most 100 characters.
    Name, clean_line, 100,
    "One line, trimmed, no control characters; at most 100 characters."
);
text_kind!(
    /// A title, a place, a tag, a short reason: one line, at most 200 characters.
    Title, clean_line, 200,
    "One line, trimmed, no control characters; at most 200 characters."
);
text_kind!(
    /// A search term: one line, at most 64 characters.
    SearchText, clean_line, 64,
    "One line, trimmed, no control characters; at most 64 characters. `%` and `_` match themselves."
);
text_kind!(
    /// A file name as the client sent it: one line, at most 255 characters.
    FileName, clean_line, 255,
    "One line, trimmed, no control characters; at most 255 characters."
);
text_kind!(
    /// Free text that may span lines (an agenda, a reason, quiz text): at most 2,000 characters.
    Note, clean_multi_line, 2000,
    "Text that may span lines (LF; CRLF is converted), trimmed, no other control characters; at most 2,000 characters."
);
text_kind!(
    /// Long free text (an article, minutes): at most 16,000 characters, so that any text of
    /// that length fits the 64 KiB JSON body limit (4 bytes a character at worst) and a
    /// longer one is refused as too long (422), not as too large (413).
    Body, clean_multi_line, 16_000,
    "Text that may span lines (LF; CRLF is converted), trimmed, no other control characters; at most 16,000 characters."
);
text_kind!(
    /// An absolute http(s) URL without white space or control characters.
    HttpUrl, clean_url, 1000,
    "An absolute http or https URL without white space or control characters; at most 1,000 characters."
);
text_kind!(
    /// An opaque code or token (a WeChat code, a bind or refresh token): visible ASCII.
    Code, clean_code, 1024,
    "Visible ASCII characters only; at most 1,024."
);

/// Every text kind's schema, for the OpenAPI components (query parameters refer to them
/// without registering them).
pub fn schemas() -> Vec<(String, RefOr<Schema>)> {
    use utoipa::ToSchema;
    fn one<T: ToSchema>() -> (String, RefOr<Schema>) {
        (T::name().into_owned(), T::schema())
    }
    vec![
        one::<Name>(),
        one::<Title>(),
        one::<SearchText>(),
        one::<FileName>(),
        one::<Note>(),
        one::<Body>(),
        one::<HttpUrl>(),
        one::<Code>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_refuse_controls_and_are_trimmed() {
        assert_eq!(Name::parse("  王 党员 ").unwrap().as_str(), "王 党员");
        for bad in [
            "a\0b",
            "a\nb",
            "a\r\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{2028}b",
            "a\u{202e}b",
        ] {
            assert_eq!(Name::parse(bad), Err(TextProblem::Control), "{bad:?}");
        }
        assert_eq!(
            Name::parse(&"字".repeat(101)),
            Err(TextProblem::TooLong(100))
        );
        assert!(Name::parse(&"字".repeat(100)).is_ok());
    }

    #[test]
    fn multi_line_keeps_line_feeds_and_tabs_only() {
        assert_eq!(
            Note::parse("一\r\n二\r三\t四\n").unwrap().as_str(),
            "一\n二\n三\t四"
        );
        assert_eq!(Note::parse("一\0二"), Err(TextProblem::Control));
        assert_eq!(Note::parse("一\u{1b}[31m"), Err(TextProblem::Control));
    }

    #[test]
    fn urls_are_absolute_http_without_spaces() {
        assert!(HttpUrl::parse("https://meet.example/a?b=1").is_ok());
        assert_eq!(
            HttpUrl::parse("https://meet.example/a\r\nX-INJ:1"),
            Err(TextProblem::Control)
        );
        assert_eq!(
            HttpUrl::parse("https://meet.example/a b"),
            Err(TextProblem::Control)
        );
        assert_eq!(
            HttpUrl::parse("javascript:alert(1)"),
            Err(TextProblem::Format)
        );
        assert_eq!(HttpUrl::parse("/relative"), Err(TextProblem::Format));
    }

    #[test]
    fn serde_errors_carry_the_problem() {
        let err = serde_json::from_str::<Name>("\"a\\u0000b\"").unwrap_err();
        assert_eq!(
            parse_serde_message(&err.to_string()),
            Some(TextProblem::Control)
        );
        let err =
            serde_json::from_str::<SearchText>(&format!("\"{}\"", "x".repeat(65))).unwrap_err();
        assert_eq!(
            parse_serde_message(&err.to_string()),
            Some(TextProblem::TooLong(64))
        );
        assert_eq!(Code::parse("a b"), Err(TextProblem::Control));
    }
}
