//! Unit tests of the chart drawing (a child module of `chart.rs`).

use std::time::Instant;

use super::*;
use crate::config::chart::WELL_KNOWN_FONTS;
use ab_glyph::FontVec;

/// The first well-known CJK font. Missing, the test is skipped with a line, or fails when
/// `DANGKE_TEST_NO_SKIP=1` (CI installs `fonts-wqy-microhei`).
fn cjk_font() -> Option<FontArc> {
    let candidates: Vec<PathBuf> = WELL_KNOWN_FONTS.iter().map(PathBuf::from).collect();
    let found = load_first(&candidates, false).unwrap();
    if found.is_none() {
        assert!(
            std::env::var("DANGKE_TEST_NO_SKIP").as_deref() != Ok("1"),
            "no CJK font in {WELL_KNOWN_FONTS:?} and DANGKE_TEST_NO_SKIP=1: apt-get install fonts-wqy-microhei"
        );
        eprintln!("skipped: no CJK font installed (apt-get install fonts-wqy-microhei)");
    }
    found.map(|(_, f)| f)
}

/// RGBA pixels and size of a PNG.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn bar(label: &str, hours: f64) -> Bar {
    Bar {
        label: label.to_string(),
        hours,
        quota: 32.0,
        expected: 24.0,
        standing: Standing::of(hours, 32.0, 24.0),
    }
}

fn spec(n: usize) -> ChartSpec {
    ChartSpec {
        title: "柳林镇党委 · 2026年11月 学习学时".into(),
        subtitle: "各下级组织人均学时（小时，2026年累计），完成比例低的在前".into(),
        bars: (0..n.min(MAX_BARS))
            .map(|i| bar(&format!("第{i}村党支部"), i as f64 * 4.0))
            .collect(),
        more: n.saturating_sub(MAX_BARS),
        more_noun: "个组织",
    }
}

/// Dark pixels (text) in the rectangle `x0..x1`, `y0..y1`.
fn dark_in(w: u32, px: &[u8], (x0, x1): (u32, u32), (y0, y1): (u32, u32)) -> usize {
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * w + x) * 4) as usize;
            if px[i] < 100 && px[i + 1] < 100 && px[i + 2] < 100 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_chinese_label_leaves_ink_left_of_its_bar() {
    let Some(font) = cjk_font() else { return };
    let mut one = spec(1);
    one.bars[0].label = "党支部".into();
    let (w, h, px) = decode(&render(&font, &one).unwrap());
    assert_eq!(w, WIDTH);
    let row = (TOP as u32, (TOP + ROW) as u32);
    let label_area = ((PAD as u32), (BAR_X - 8.0) as u32);
    assert!(
        dark_in(w, &px, label_area, row) > 40,
        "no ink in the label area"
    );
    // The same chart with an empty label has none there.
    one.bars[0].label = String::new();
    let (_, h2, blank) = decode(&render(&font, &one).unwrap());
    assert_eq!(h, h2);
    assert_eq!(dark_in(w, &blank, label_area, row), 0);
}

#[test]
fn a_font_without_chinese_glyphs_is_refused() {
    let latin = minimal_font();
    // The bytes parse as a font: only the missing glyph refuses it.
    assert!(FontVec::try_from_vec_and_index(latin.clone(), 0).is_ok());
    let err = font_from_bytes(latin).unwrap_err();
    assert!(err.contains("no Chinese glyphs"), "{err}");
    assert!(font_from_bytes(b"not a font at all".to_vec()).is_err());
    // A configured font that is missing or refused is an error; a well-known one skipped.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin.ttf");
    std::fs::write(&path, minimal_font()).unwrap();
    assert!(load_first(std::slice::from_ref(&path), true).is_err());
    assert!(load_first(&[dir.path().join("missing.ttf")], true).is_err());
    assert!(
        load_first(&[path, dir.path().join("missing.ttf")], false)
            .unwrap()
            .is_none()
    );
}

#[test]
fn height_grows_with_the_bars_and_stops_at_the_cap() {
    let Some(font) = cjk_font() else { return };
    let heights: Vec<u32> = [0, 3, 10, MAX_BARS, 45]
        .iter()
        .map(|n| {
            let (w, h, _) = decode(&render(&font, &spec(*n)).unwrap());
            assert_eq!(w, WIDTH);
            h
        })
        .collect();
    assert!(
        heights[1] < heights[2] && heights[2] < heights[3],
        "{heights:?}"
    );
    // 45 bars: 20 drawn and a line saying 25 more.
    assert_eq!(heights[4], heights[3] + 30, "{heights:?}");
    assert_eq!(heights[0], heights[1] - 2 * ROW as u32, "{heights:?}");
}

#[test]
fn ten_bars_are_small_and_quick() {
    let Some(font) = cjk_font() else { return };
    let s = spec(10);
    let started = Instant::now();
    let png_bytes = render(&font, &s).unwrap();
    let took = started.elapsed();
    eprintln!(
        "digest chart, 10 bars: {} bytes, rendered in {:.1} ms",
        png_bytes.len(),
        took.as_secs_f64() * 1000.0
    );
    assert!(png_bytes.len() < 200 * 1024, "{} bytes", png_bytes.len());
    // `DANGKE_CHART_PNG=/tmp/chart.png cargo test --lib ten_bars` keeps the picture to look at.
    if let Ok(path) = std::env::var("DANGKE_CHART_PNG") {
        std::fs::write(path, &png_bytes).unwrap();
    }
    let (w, h, px) = decode(&png_bytes);
    // Every standing's colour is there.
    let colours: std::collections::HashSet<[u8; 3]> =
        px.chunks(4).map(|p| [p[0], p[1], p[2]]).collect();
    for s in [Standing::Met, Standing::OnTrack, Standing::Behind] {
        let (r, g, b) = s.colour();
        assert!(colours.contains(&[r, g, b]), "{s:?} missing");
    }
    let ink = px.chunks(4).filter(|p| p[0] < 250 || p[1] < 250).count();
    assert!(
        ink > (w * h / 20) as usize,
        "{ink} of {} pixels inked",
        w * h
    );
}

#[test]
fn standings() {
    assert_eq!(Standing::of(32.0, 32.0, 30.0), Standing::Met);
    assert_eq!(Standing::of(30.0, 32.0, 30.0), Standing::OnTrack);
    assert_eq!(Standing::of(29.9, 32.0, 30.0), Standing::Behind);
    // Without a quota nothing is met, and nothing is behind either.
    assert_eq!(Standing::of(0.0, 0.0, 0.0), Standing::OnTrack);
}

/// A TrueType font with only the tables a parser requires (`head`, `hhea`, `maxp`): one
/// glyph, no character map, so no character has a glyph.
fn minimal_font() -> Vec<u8> {
    let mut head = vec![0u8; 54];
    head[0..4].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // version
    head[12..16].copy_from_slice(&0x5F0F_3CF5u32.to_be_bytes()); // magic
    head[18..20].copy_from_slice(&1000u16.to_be_bytes()); // units per em
    let mut hhea = vec![0u8; 36];
    hhea[0..4].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    hhea[34..36].copy_from_slice(&1u16.to_be_bytes()); // metrics
    let mut maxp = Vec::new();
    maxp.extend_from_slice(&0x0000_5000u32.to_be_bytes());
    maxp.extend_from_slice(&1u16.to_be_bytes()); // glyphs
    let tables: [(&[u8; 4], &[u8]); 3] = [(b"head", &head), (b"hhea", &hhea), (b"maxp", &maxp)];
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    out.extend_from_slice(&3u16.to_be_bytes());
    out.extend_from_slice(&[0, 32, 0, 1, 0, 16]); // search range, entry selector, range shift
    let mut offset = 12 + 16 * tables.len();
    let mut data = Vec::new();
    for (tag, table) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&0u32.to_be_bytes()); // checksum (not checked)
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(table.len() as u32).to_be_bytes());
        data.extend_from_slice(table);
        while data.len() % 4 != 0 {
            data.push(0);
        }
        offset = 12 + 16 * tables.len() + data.len();
    }
    out.extend_from_slice(&data);
    out
}
