//! The digest chart: a PNG of horizontal bars, one per child org (per-member average study
//! hours of the year so far) or, for a branch, one per member, each against its yearly
//! quota (a solid vertical mark) and the even pace to date (a dashed mark), coloured met /
//! on track / behind, with a legend. Chinese labels need a font with Chinese glyphs: it is
//! loaded once at start-up ([`load_first`]) into app state, and without one no chart is
//! drawn. Pure drawing here; what the bars are is [`super::chart_data`].
//!
//! Drawing is `tiny-skia` (fills, strokes, PNG encoding); text is outlined with `ab_glyph`
//! and its coverage blended into the pixmap. No system font library is involved.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontArc, FontRef, GlyphId, PxScale, ScaleFont, point};
use tiny_skia::{
    Paint, PathBuilder, Pixmap, PremultipliedColorU8, Rect, Stroke, StrokeDash, Transform,
};

/// The most bars drawn; the rest are counted under the chart.
pub const MAX_BARS: usize = 20;
/// The chart's width in pixels (its height grows with the bars).
pub const WIDTH: u32 = 800;
/// A character every usable font must draw.
const PROBE: char = '党';

const PAD: f32 = 24.0;
const LABEL_W: f32 = 190.0;
const ROW: f32 = 30.0;
const BAR_H: f32 = 18.0;
/// Where the first row starts (below the title, subtitle and legend).
const TOP: f32 = 120.0;
const BAR_X: f32 = PAD + LABEL_W + 12.0;
/// Room right of the longest bar for its value.
const VALUE_ROOM: f32 = 70.0;

type Rgb = (u8, u8, u8);
const BACKGROUND: Rgb = (255, 255, 255);
const INK: Rgb = (34, 34, 34);
const GREY: Rgb = (110, 110, 110);
const RULE: Rgb = (210, 210, 210);
const QUOTA: Rgb = (40, 40, 40);
const PACE: Rgb = (120, 120, 120);

/// Where a bar stands against its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Met,
    OnTrack,
    Behind,
}

impl Standing {
    /// Met when `value` reached `quota`, on track when it reached the even pace `expected`.
    pub fn of(value: f64, quota: f64, expected: f64) -> Standing {
        if quota > 0.0 && value >= quota {
            Standing::Met
        } else if value >= expected {
            Standing::OnTrack
        } else {
            Standing::Behind
        }
    }

    fn colour(self) -> Rgb {
        match self {
            Standing::Met => (58, 167, 87),
            Standing::OnTrack => (66, 133, 214),
            Standing::Behind => (217, 83, 79),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Standing::Met => "已达标",
            Standing::OnTrack => "进度正常",
            Standing::Behind => "落后",
        }
    }
}

/// One bar: hours earned, the yearly quota and the even pace to date.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub hours: f64,
    pub quota: f64,
    pub expected: f64,
    pub standing: Standing,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub title: String,
    pub subtitle: String,
    /// At most [`MAX_BARS`], top to bottom.
    pub bars: Vec<Bar>,
    /// Bars left out, named by `more_noun` ("个组织", "名党员").
    pub more: usize,
    pub more_noun: &'static str,
}

/// Refuses a font that has no glyph for Chinese text.
fn usable<F: Font>(font: &F) -> Result<(), String> {
    if font.glyph_id(PROBE) == GlyphId(0) {
        return Err(format!("the font has no Chinese glyphs (no {PROBE})"));
    }
    Ok(())
}

/// Parses a font from its bytes (the first face of a collection) and refuses one that has
/// no glyph for Chinese text (what [`load_font`] checks, for fonts the tests build).
#[cfg(test)]
pub fn font_from_bytes(data: Vec<u8>) -> Result<FontArc, String> {
    let font = ab_glyph::FontVec::try_from_vec_and_index(data, 0)
        .map_err(|e| format!("not a usable font: {e}"))?;
    usable(&font)?;
    Ok(FontArc::new(font))
}

/// Loads a font file (the first face of a collection; refused without Chinese glyphs),
/// memory-mapped rather than read: a CJK font is 5 MB or more, and drawing a chart touches
/// only the pages of the glyphs it uses, so the file costs no heap and next to no resident
/// memory while no chart is drawn.
pub fn load_font(path: &Path) -> Result<FontArc, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    // SAFETY: the map is read-only and the font files we load are installed by the
    // system's packages (or named by the operator), not rewritten while the server runs;
    // a file truncated underneath would be the same hazard as for any mapped library.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(cannot)?;
    // Checked on the borrowed map first, so a refused font is unmapped again; only the
    // font in use is kept for the life of the process (one, loaded once at start-up).
    {
        let font = FontRef::try_from_slice_and_index(&map, 0)
            .map_err(|e| format!("not a usable font: {e}"))?;
        usable(&font)?;
    }
    let bytes: &'static [u8] = Box::leak(Box::new(map));
    let font = FontRef::try_from_slice_and_index(bytes, 0)
        .map_err(|e| format!("not a usable font: {e}"))?;
    Ok(FontArc::new(font))
}

/// The first of `candidates` that exists, loaded. When the font was configured
/// (`explicit`), a file that is missing or refused is an error; a well-known path that is
/// refused is skipped with a warning.
pub fn load_first(
    candidates: &[PathBuf],
    explicit: bool,
) -> Result<Option<(PathBuf, FontArc)>, String> {
    for path in candidates {
        if !explicit && !path.exists() {
            continue;
        }
        match load_font(path) {
            Ok(font) => return Ok(Some((path.clone(), font))),
            Err(e) if explicit => return Err(e),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "chart font skipped"),
        }
    }
    Ok(None)
}

/// The height of a chart of `bars` bars (at least one row) with `more` left out.
pub fn height_for(bars: usize, more: usize) -> u32 {
    let rows = bars.clamp(1, MAX_BARS) as f32;
    let footer = if more > 0 { 30.0 } else { 0.0 };
    (TOP + rows * ROW + 12.0 + footer + PAD).ceil() as u32
}

/// Draws the chart as PNG bytes.
pub fn render(font: &FontArc, spec: &ChartSpec) -> Result<Vec<u8>, String> {
    let rows = spec.bars.len().clamp(1, MAX_BARS) as f32;
    let height = height_for(spec.bars.len(), spec.more);
    let mut c = Canvas::new(font, WIDTH, height)?;

    c.text(&spec.title, PAD, PAD + 24.0, 24.0, INK);
    c.text(&spec.subtitle, PAD, PAD + 52.0, 14.0, GREY);
    legend(&mut c, spec, PAD + 80.0);

    let right = WIDTH as f32 - PAD - VALUE_ROOM;
    let scale_max = spec
        .bars
        .iter()
        .map(|b| b.hours.max(b.quota))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let x_of = |h: f64| BAR_X + ((h / scale_max) as f32).clamp(0.0, 1.0) * (right - BAR_X);
    c.rect(BAR_X - 1.0, TOP, 1.0, rows * ROW, RULE);
    if spec.bars.is_empty() {
        c.text("暂无数据", BAR_X + 12.0, TOP + ROW * 0.7, 15.0, GREY);
    }
    for (i, bar) in spec.bars.iter().take(MAX_BARS).enumerate() {
        let top = TOP + i as f32 * ROW;
        let label = c.fit(&bar.label, 15.0, LABEL_W);
        let w = c.width(&label, 15.0);
        c.text(&label, BAR_X - 10.0 - w, top + ROW * 0.5 + 5.5, 15.0, INK);
        let end = x_of(bar.hours);
        let bar_top = top + (ROW - BAR_H) / 2.0;
        c.rect(
            BAR_X,
            bar_top,
            (end - BAR_X).max(1.0),
            BAR_H,
            bar.standing.colour(),
        );
        if bar.expected > 0.0 && bar.expected < bar.quota {
            c.vline(x_of(bar.expected), top, top + ROW, 1.5, PACE, true);
        }
        if bar.quota > 0.0 {
            c.vline(x_of(bar.quota), top, top + ROW, 2.0, QUOTA, false);
        }
        c.text(
            &format!("{:.1}", bar.hours),
            end + 6.0,
            top + ROW * 0.5 + 4.5,
            13.0,
            INK,
        );
    }
    if spec.more > 0 {
        let line = format!("另有 {} {}未显示", spec.more, spec.more_noun);
        c.text(&line, BAR_X, TOP + rows * ROW + 30.0, 14.0, GREY);
    }
    c.pix.encode_png().map_err(|e| e.to_string())
}

/// The legend: a swatch per standing, then the quota and pace marks.
fn legend(c: &mut Canvas<'_>, spec: &ChartSpec, baseline: f32) {
    let mut x = PAD;
    for s in [Standing::Met, Standing::OnTrack, Standing::Behind] {
        c.rect(x, baseline - 11.0, 12.0, 12.0, s.colour());
        x = c.text(s.label(), x + 17.0, baseline, 13.0, INK) + 16.0;
    }
    c.vline(x + 4.0, baseline - 13.0, baseline + 3.0, 2.0, QUOTA, false);
    x = c.text("年度定额", x + 12.0, baseline, 13.0, INK) + 16.0;
    if spec
        .bars
        .iter()
        .any(|b| b.expected > 0.0 && b.expected < b.quota)
    {
        c.vline(x + 4.0, baseline - 13.0, baseline + 3.0, 1.5, PACE, true);
        c.text("应达进度", x + 12.0, baseline, 13.0, INK);
    }
}

/// A pixmap with a font to write with.
struct Canvas<'f> {
    pix: Pixmap,
    font: &'f FontArc,
}

impl<'f> Canvas<'f> {
    fn new(font: &'f FontArc, width: u32, height: u32) -> Result<Canvas<'f>, String> {
        let mut pix =
            Pixmap::new(width, height).ok_or_else(|| "chart size out of range".to_string())?;
        pix.fill(tiny_skia::Color::from_rgba8(
            BACKGROUND.0,
            BACKGROUND.1,
            BACKGROUND.2,
            255,
        ));
        Ok(Canvas { pix, font })
    }

    fn paint((r, g, b): Rgb) -> Paint<'static> {
        let mut paint = Paint::default();
        paint.set_color_rgba8(r, g, b, 255);
        paint.anti_alias = true;
        paint
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.pix
                .fill_rect(r, &Self::paint(colour), Transform::identity(), None);
        }
    }

    fn vline(&mut self, x: f32, y0: f32, y1: f32, width: f32, colour: Rgb, dashed: bool) {
        let mut pb = PathBuilder::new();
        pb.move_to(x, y0);
        pb.line_to(x, y1);
        let Some(path) = pb.finish() else { return };
        let stroke = Stroke {
            width,
            dash: if dashed {
                StrokeDash::new(vec![3.0, 3.0], 0.0)
            } else {
                None
            },
            ..Stroke::default()
        };
        self.pix.stroke_path(
            &path,
            &Self::paint(colour),
            &stroke,
            Transform::identity(),
            None,
        );
    }

    /// The advance of `s` at `size` pixels.
    fn width(&self, s: &str, size: f32) -> f32 {
        let scaled = self.font.as_scaled(PxScale::from(size));
        let mut w = 0.0;
        let mut prev: Option<GlyphId> = None;
        for ch in s.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(p) = prev {
                w += scaled.kern(p, id);
            }
            w += scaled.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// `s`, cut and ended with "…" if it is wider than `max`.
    fn fit(&self, s: &str, size: f32, max: f32) -> String {
        if self.width(s, size) <= max {
            return s.to_string();
        }
        let mut out: String = s.to_string();
        while out.pop().is_some() {
            let candidate = format!("{out}…");
            if self.width(&candidate, size) <= max {
                return candidate;
            }
        }
        "…".to_string()
    }

    /// Writes `s` with its baseline at `y`, starting at `x`; returns where it ends.
    fn text(&mut self, s: &str, x: f32, y: f32, size: f32, colour: Rgb) -> f32 {
        let font = self.font;
        let scaled = font.as_scaled(PxScale::from(size));
        let (w, h) = (self.pix.width() as i32, self.pix.height() as i32);
        let pixels = self.pix.pixels_mut();
        let mut caret = x;
        let mut prev: Option<GlyphId> = None;
        for ch in s.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(size, point(caret, y));
            caret += scaled.h_advance(id);
            prev = Some(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i32 + gx as i32;
                let py = bounds.min.y as i32 + gy as i32;
                if px < 0 || py < 0 || px >= w || py >= h {
                    return;
                }
                let i = (py * w + px) as usize;
                if let Some(dst) = pixels.get_mut(i) {
                    *dst = blend(*dst, colour, coverage.clamp(0.0, 1.0));
                }
            });
        }
        caret
    }
}

/// `colour` over an opaque pixel at `coverage`.
fn blend(dst: PremultipliedColorU8, (r, g, b): Rgb, coverage: f32) -> PremultipliedColorU8 {
    let mix = |src: u8, under: u8| {
        (f32::from(src) * coverage + f32::from(under) * (1.0 - coverage)).round() as u8
    };
    PremultipliedColorU8::from_rgba(
        mix(r, dst.red()),
        mix(g, dst.green()),
        mix(b, dst.blue()),
        255,
    )
    .unwrap_or(dst)
}

#[cfg(test)]
#[path = "chart_tests.rs"]
mod tests;
