//! Mainland China mobile numbers: `1[3-9]` followed by nine digits, optionally written with
//! `+86`/`86`, spaces or dashes. Stored as the bare eleven digits.

use crate::error::{ApiError, Text};

/// A validated mainland mobile number (eleven digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Option<Phone> {
        let digits: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| {
                (digits.len() == 13)
                    .then(|| digits.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        let ok = b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1]);
        ok.then(|| Phone(digits.to_string()))
    }

    /// Parses or fails with a 422 naming `field`.
    pub fn parse_field(raw: &str, field: &str) -> Result<Phone, ApiError> {
        Phone::parse(raw).ok_or_else(|| {
            ApiError::invalid_field(
                field,
                "invalid_format",
                Text::new(
                    "手机号格式不正确（应为 11 位大陆手机号）",
                    "Not a mainland China mobile number (11 digits starting with 13–19)",
                ),
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****0001`, for logs and messages to third parties.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

/// A stored phone number as shown where the full number is not needed: `138****0001`
/// (anything shorter than 8 characters entirely as `*`).
pub fn mask(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::Phone;

    #[test]
    fn accepts_common_spellings() {
        for s in [
            "13807310001",
            "+86 138 0731 0001",
            "86-138-0731-0001",
            "008613807310001",
        ] {
            assert_eq!(Phone::parse(s).unwrap().as_str(), "13807310001", "{s}");
        }
    }

    #[test]
    fn rejects_non_mobile_numbers() {
        for s in [
            "1380731000",
            "138073100011",
            "12807310001",
            "23807310001",
            "1380731000a",
            "",
        ] {
            assert!(Phone::parse(s).is_none(), "{s}");
        }
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(Phone::parse("13807310001").unwrap().masked(), "138****0001");
    }
}
