//! The per-meeting record as PDF (A4, krilla): the same content as the `.xlsx`, in a CJK
//! TrueType font embedded as a subset (the chart's font, `DANGKE_CHART_FONT`; the first
//! face of a `.ttc` collection), with the minutes photos (PNG, JPEG, GIF, WebP) drawn at the
//! end. Laid out first into pages of drawing operations, then drawn.

use std::path::Path;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

use super::record::{self, MeetingRecord};
use crate::error::{ApiError, ApiResult};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 48.0;
const BODY: f32 = 10.5;
const LINE: f32 = 16.0;

/// One drawing operation on a page.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        s: String,
    },
    Rule {
        y: f32,
    },
    Photo {
        index: usize,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// Reads the font file (face 0 of a collection); `None` when it is missing or unusable.
pub fn load_font(path: &Path) -> Option<Font> {
    let data = std::fs::read(path).ok()?;
    Font::new(data.into(), 0)
}

/// Renders the record with `font`.
pub fn render(r: &MeetingRecord, font: &Font) -> ApiResult<Vec<u8>> {
    let images: Vec<Option<Image>> = r
        .photos
        .iter()
        .map(|p| decode(&p.media.content_type, &p.bytes))
        .collect();
    let pages = layout(r, &images);
    let mut doc = Document::new();
    for ops in pages {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad page size")))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, s } => surface.draw_text(
                    Point::from_xy(x, y),
                    font.clone(),
                    size,
                    &s,
                    false,
                    TextDirection::Auto,
                ),
                Op::Rule { y } => {
                    let mut pb = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.6) {
                        pb.push_rect(rect);
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_fill(Some(Fill {
                            paint: rgb::Color::new(160, 160, 160).into(),
                            ..Fill::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_fill(Some(Fill::default()));
                    }
                }
                Op::Photo { index, y, w, h } => {
                    if let (Some(Some(image)), Some(size)) =
                        (images.get(index), Size::from_wh(w, h))
                    {
                        surface.push_transform(&Transform::from_translate(MARGIN, y));
                        surface.draw_image(image.clone(), size);
                        surface.pop();
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    doc.finish()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("pdf: {e:?}")))
}

fn decode(content_type: &str, bytes: &[u8]) -> Option<Image> {
    let data = || krilla::Data::from(bytes.to_vec());
    match content_type {
        "image/png" => Image::from_png(data(), true).ok(),
        "image/jpeg" => Image::from_jpeg(data(), true).ok(),
        "image/gif" => Image::from_gif(data(), true).ok(),
        "image/webp" => Image::from_webp(data(), true).ok(),
        _ => None,
    }
}

/// The width a string takes, roughly: CJK and other wide characters one em, ASCII half.
fn width(s: &str, size: f32) -> f32 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.55 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// Breaks text into lines no wider than `max` (at any character: Chinese has no spaces).
fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for c in para.chars() {
            line.push(c);
            if width(&line, size) > max {
                line.pop();
                out.push(std::mem::take(&mut line));
                line.push(c);
            }
        }
        out.push(line);
    }
    out
}

/// Lays text out top to bottom, starting a new page when one is full.
struct Pager {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pager {
    fn new() -> Pager {
        Pager {
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn room(&mut self, h: f32) {
        if self.y + h > PAGE_H - MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, x: f32, size: f32, s: &str) {
        self.room(size * 1.5);
        self.y += size * 1.2;
        let y = self.y;
        self.push(Op::Text {
            x,
            y,
            size,
            s: s.to_string(),
        });
        self.y += size * 0.3;
    }

    fn heading(&mut self, s: &str) {
        self.room(LINE * 3.0);
        self.y += 8.0;
        self.text(MARGIN, 13.0, s);
        let y = self.y + 2.0;
        self.push(Op::Rule { y });
        self.y += 6.0;
    }

    /// A label with its value wrapped beside it.
    fn field(&mut self, label: &str, value: &str) {
        let x = MARGIN + 70.0;
        for (i, line) in wrap(value, BODY, PAGE_W - MARGIN - x).iter().enumerate() {
            self.room(LINE);
            self.y += LINE;
            let y = self.y;
            if i == 0 {
                self.push(Op::Text {
                    x: MARGIN,
                    y,
                    size: BODY,
                    s: label.to_string(),
                });
            }
            self.push(Op::Text {
                x,
                y,
                size: BODY,
                s: line.clone(),
            });
        }
    }

    /// One table row: each cell at its column, cut to fit.
    fn row(&mut self, cols: &[f32], cells: &[&str], size: f32) {
        self.room(LINE);
        self.y += LINE;
        let y = self.y;
        for (i, (x, cell)) in cols.iter().zip(cells).enumerate() {
            let next = cols.get(i + 1).copied().unwrap_or(PAGE_W - MARGIN);
            let fit = wrap(cell, size, next - x - 4.0);
            let s = fit.into_iter().next().unwrap_or_default();
            self.push(Op::Text { x: *x, y, size, s });
        }
    }
}

fn layout(r: &MeetingRecord, images: &[Option<Image>]) -> Vec<Vec<Op>> {
    let mut p = Pager::new();
    p.text(MARGIN, 18.0, &r.title);
    p.text(MARGIN, 12.0, &format!("{} · 会议记录", r.kind));
    p.heading("基本情况");
    p.field("组织", &r.org_name);
    p.field("会议类型", &r.kind);
    p.field("时间", &format!("{}（{}）", record::when(r), r.time_zone));
    p.field("地点", &r.place);
    p.field("状态", r.status);
    p.field("议程", &r.agenda);
    let counts: Vec<String> = record::count_lines(&r.counts)
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    p.field("人数", &counts.join("　"));
    p.heading("考勤记录");
    let cols = [
        MARGIN,
        MARGIN + 80.0,
        MARGIN + 130.0,
        MARGIN + 250.0,
        MARGIN + 360.0,
    ];
    p.row(
        &cols,
        &["姓名", "状态", "签到时间", "记录方式", "原因"],
        BODY,
    );
    for a in &r.attendance {
        let at = record::stamp(a.checked_in_local);
        p.row(
            &cols,
            &[&a.name, a.status, &at, &a.recorded_by, &a.reason],
            BODY,
        );
    }
    p.heading("请假记录");
    if r.leaves.is_empty() {
        p.field("", "（无）");
    }
    for l in &r.leaves {
        let decided = match (l.decided_by.is_empty(), l.decided_local) {
            (false, Some(t)) => {
                format!("{}，{} {}", l.status, l.decided_by, t.format("%m-%d %H:%M"))
            }
            _ => l.status.to_string(),
        };
        p.field(&l.name, &format!("事由：{}；{}", l.reason, decided));
        if !l.note.is_empty() {
            p.field("", &format!("审批意见：{}", l.note));
        }
    }
    p.heading("列席人员");
    if r.guests.is_empty() {
        p.field("", "（无）");
    }
    for g in &r.guests {
        let org = if g.org.is_empty() {
            "—"
        } else {
            g.org.as_str()
        };
        p.field(&g.name, &format!("{org}（{} 记录）", g.recorded_by));
    }
    p.heading("会议纪要");
    match &r.minutes {
        Some(m) => {
            let by = format!("{} {}", m.recorded_by, record::stamp(m.recorded_local));
            p.field("记录人", &by);
            p.field("纪要", &m.text);
        }
        None => p.field("", "（尚未填写）"),
    }
    if !r.photos.is_empty() {
        p.heading("会议照片");
    }
    for (index, image) in images.iter().enumerate() {
        let Some(image) = image else {
            p.field(&format!("照片 {}", index + 1), "（无法显示）");
            continue;
        };
        let (iw, ih) = image.size();
        let w = (PAGE_W - 2.0 * MARGIN).min(iw as f32).max(1.0);
        let h = (w * ih as f32 / (iw as f32).max(1.0)).min(PAGE_H * 0.45);
        let w = h * iw as f32 / (ih as f32).max(1.0);
        p.room(h + 8.0);
        p.y += 8.0;
        let y = p.y;
        p.push(Op::Photo { index, y, w, h });
        p.y += h;
    }
    p.pages
}
