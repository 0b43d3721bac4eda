//! The chart part of the process configuration: which font the statistics digest chart
//! (a PNG pushed with the digest) is drawn with. Parsed once by
//! [`Config::from_map`](super::Config::from_map) into its `chart` field; a bad value names
//! its variable. Settings only: statistics load the font at start-up and refuse one without
//! Chinese glyphs.
//!
//! `DANGKE_CHART_FONT` forms:
//!
//! | value | font |
//! |---|---|
//! | unset | the first of [`WELL_KNOWN_FONTS`] that exists (none: charts are skipped) |
//! | `/path/to/font.ttc` (`.ttf`, `.ttc`, `.otf`, `.otc`) | that file; start-up fails if it cannot be used |
//! | `off` | no chart: digests go as text only |

use std::path::PathBuf;

use super::values::ConfigError;

/// Where Debian's CJK font packages put their fonts, in the order they are tried when
/// `DANGKE_CHART_FONT` is unset (`fonts-wqy-microhei` first: small and complete).
pub const WELL_KNOWN_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// Which font charts are drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartFont {
    /// Unset: the first well-known font that exists, if any.
    WellKnown,
    /// This file, which must load and have Chinese glyphs.
    File(PathBuf),
    /// `off`: no charts.
    Off,
}

/// Chart settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartConfig {
    pub font: ChartFont,
}

impl ChartConfig {
    /// Parses the chart variables. `get` reads a (trimmed, non-empty) variable.
    pub fn parse<'a>(get: &dyn Fn(&str) -> Option<&'a str>) -> Result<ChartConfig, ConfigError> {
        const VAR: &str = "DANGKE_CHART_FONT";
        let font = match get("DANGKE_CHART_FONT") {
            None => ChartFont::WellKnown,
            Some("off" | "0") => ChartFont::Off,
            Some(path) => {
                let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
                if !matches!(ext.as_deref(), Some("ttf" | "ttc" | "otf" | "otc")) {
                    return Err(ConfigError {
                        var: VAR,
                        message: format!(
                            "expected the path of a .ttf, .ttc or .otf font with Chinese glyphs (or off), got {path:?}"
                        ),
                    });
                }
                ChartFont::File(PathBuf::from(path))
            }
        };
        Ok(ChartConfig { font })
    }

    /// The font files to try, in order.
    pub fn candidates(&self) -> Vec<PathBuf> {
        match &self.font {
            ChartFont::WellKnown => WELL_KNOWN_FONTS.iter().map(PathBuf::from).collect(),
            ChartFont::File(p) => vec![p.clone()],
            ChartFont::Off => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: Option<&str>) -> Result<ChartConfig, ConfigError> {
        let get = |k: &str| (k == "DANGKE_CHART_FONT").then_some(value).flatten();
        ChartConfig::parse(&get)
    }

    #[test]
    fn unset_searches_the_well_known_fonts_in_order() {
        let c = parse(None).unwrap();
        assert_eq!(c.font, ChartFont::WellKnown);
        let tried = c.candidates();
        assert_eq!(tried.len(), WELL_KNOWN_FONTS.len());
        assert!(tried[0].ends_with("wqy-microhei.ttc"));
    }

    #[test]
    fn a_path_or_off() {
        let c = parse(Some("/srv/fonts/NotoSansSC.OTF")).unwrap();
        assert_eq!(
            c.candidates(),
            vec![PathBuf::from("/srv/fonts/NotoSansSC.OTF")]
        );
        assert_eq!(parse(Some("off")).unwrap().font, ChartFont::Off);
        assert!(parse(Some("off")).unwrap().candidates().is_empty());
        for bad in ["/srv/fonts", "arial", "/srv/font.woff2"] {
            assert_eq!(parse(Some(bad)).unwrap_err().var, "DANGKE_CHART_FONT");
        }
    }
}
