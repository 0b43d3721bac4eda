//! The response language, chosen from `Accept-Language`: Chinese unless English is preferred.

use actix_web::http::header::{ACCEPT_LANGUAGE, HeaderMap};

/// The two languages messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The BCP 47 tag sent in `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the language from `Accept-Language`: the highest-weighted tag that is `zh*` or
    /// `en*` wins; anything else (or no header) is Chinese.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::parse)
            .unwrap_or_default()
    }

    pub fn parse(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag.starts_with("en") {
                Lang::En
            } else if tag.starts_with("zh") {
                Lang::Zh
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn picks_preferred_language() {
        assert_eq!(Lang::parse("en"), Lang::En);
        assert_eq!(Lang::parse("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::parse("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::parse("fr, en;q=0.5"), Lang::En);
        assert_eq!(Lang::parse("fr"), Lang::Zh);
        assert_eq!(Lang::parse("zh;q=0.1, en;q=0.2"), Lang::En);
    }
}
