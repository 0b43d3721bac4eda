//! The per-meeting record as `.xlsx`: one sheet 会议记录, label cells in column A with
//! their values beside them, then the attendance, leave, guest and minutes tables, each under a
//! heading row, and the minutes photos embedded below (PNG, JPEG, GIF and BMP; a WebP photo
//! is named instead, since Excel cannot embed it).

use rust_xlsxwriter::{Format, FormatAlign, Image, Workbook, Worksheet, XlsxError};

use super::record::{self, MeetingRecord};
use crate::error::{ApiError, ApiResult};

/// Column widths (A–F).
const WIDTHS: [f64; 6] = [14.0, 12.0, 20.0, 22.0, 30.0, 20.0];
/// Longest side of an embedded photo, in pixels.
const PHOTO_PX: u32 = 480;

/// Renders the record.
pub fn render(r: &MeetingRecord) -> ApiResult<Vec<u8>> {
    build(r).map_err(ApiError::internal)
}

fn build(r: &MeetingRecord) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("会议记录")?;
    for (col, w) in WIDTHS.iter().enumerate() {
        sheet.set_column_width(col as u16, *w)?;
    }
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(16);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let mut row: u32 = 0;
    sheet.write_string_with_format(row, 0, format!("{} 会议记录", r.title), &title)?;
    row += 2;
    let fields: [(&str, String); 8] = [
        ("会议名称", r.title.clone()),
        ("会议类型", r.kind.clone()),
        ("组织", r.org_name.clone()),
        ("时间", record::when(r)),
        ("时区", r.time_zone.clone()),
        ("地点", r.place.clone()),
        ("状态", r.status.to_string()),
        ("议程", r.agenda.clone()),
    ];
    for (label, value) in fields {
        sheet.write_string_with_format(row, 0, label, &bold)?;
        sheet.merge_range(row, 1, row, 5, &value, &wrap)?;
        row += 1;
    }
    row += 1;
    sheet.write_string_with_format(row, 0, "人数", &bold)?;
    row += 1;
    for (label, n) in record::count_lines(&r.counts) {
        sheet.write_string(row, 0, label)?;
        sheet.write_number(row, 1, n as f64)?;
        row += 1;
    }
    row += 1;
    row = attendance(sheet, r, row, &bold)?;
    row = leaves(sheet, r, row, &bold)?;
    row = guests(sheet, r, row, &bold)?;
    sheet.write_string_with_format(row, 0, "会议纪要", &bold)?;
    row += 1;
    match &r.minutes {
        Some(m) => {
            sheet.write_string(row, 0, "记录人")?;
            sheet.write_string(row, 1, &m.recorded_by)?;
            sheet.write_string(row, 2, "记录时间")?;
            sheet.write_string(row, 3, record::stamp(m.recorded_local))?;
            row += 1;
            sheet.write_string(row, 0, "纪要")?;
            sheet.merge_range(row, 1, row, 5, &m.text, &wrap)?;
            let lines = m.text.lines().count().max(m.text.chars().count() / 60 + 1);
            sheet.set_row_height(row, (lines.min(200) as f64) * 15.0)?;
            row += 1;
        }
        None => {
            sheet.write_string(row, 0, "（尚未填写）")?;
            row += 1;
        }
    }
    row += 1;
    photos(sheet, r, row, &bold)?;
    book.save_to_buffer()
}

fn attendance(
    sheet: &mut Worksheet,
    r: &MeetingRecord,
    mut row: u32,
    bold: &Format,
) -> Result<u32, XlsxError> {
    sheet.write_string_with_format(row, 0, "考勤记录", bold)?;
    row += 1;
    for (col, h) in ["姓名", "状态", "签到时间", "记录方式", "原因"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(row, col as u16, *h, bold)?;
    }
    row += 1;
    for a in &r.attendance {
        sheet.write_string(row, 0, &a.name)?;
        sheet.write_string(row, 1, a.status)?;
        sheet.write_string(row, 2, record::stamp(a.checked_in_local))?;
        sheet.write_string(row, 3, &a.recorded_by)?;
        sheet.write_string(row, 4, &a.reason)?;
        row += 1;
    }
    Ok(row + 1)
}

fn leaves(
    sheet: &mut Worksheet,
    r: &MeetingRecord,
    mut row: u32,
    bold: &Format,
) -> Result<u32, XlsxError> {
    sheet.write_string_with_format(row, 0, "请假记录", bold)?;
    row += 1;
    for (col, h) in ["姓名", "审批结果", "审批时间", "审批人", "事由", "审批意见"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(row, col as u16, *h, bold)?;
    }
    row += 1;
    for l in &r.leaves {
        sheet.write_string(row, 0, &l.name)?;
        sheet.write_string(row, 1, l.status)?;
        sheet.write_string(row, 2, record::stamp(l.decided_local))?;
        sheet.write_string(row, 3, &l.decided_by)?;
        sheet.write_string(row, 4, &l.reason)?;
        sheet.write_string(row, 5, &l.note)?;
        row += 1;
    }
    Ok(row + 1)
}

fn guests(
    sheet: &mut Worksheet,
    r: &MeetingRecord,
    mut row: u32,
    bold: &Format,
) -> Result<u32, XlsxError> {
    sheet.write_string_with_format(row, 0, "列席人员", bold)?;
    row += 1;
    for (col, h) in ["姓名", "单位", "记录人", "记录时间"].iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *h, bold)?;
    }
    row += 1;
    for g in &r.guests {
        sheet.write_string(row, 0, &g.name)?;
        sheet.write_string(row, 1, &g.org)?;
        sheet.write_string(row, 2, &g.recorded_by)?;
        sheet.write_string(row, 3, record::stamp(Some(g.recorded_local)))?;
        row += 1;
    }
    Ok(row + 1)
}

fn photos(
    sheet: &mut Worksheet,
    r: &MeetingRecord,
    mut row: u32,
    bold: &Format,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(row, 0, "会议照片", bold)?;
    row += 1;
    if r.photos.is_empty() {
        sheet.write_string(row, 0, "（无）")?;
        return Ok(());
    }
    for (i, p) in r.photos.iter().enumerate() {
        let label = format!("照片 {}", i + 1);
        match Image::new_from_buffer(&p.bytes) {
            Ok(image) => {
                let image = image
                    .set_scale_to_size(PHOTO_PX, PHOTO_PX, true)
                    .set_alt_text(&label);
                sheet.write_string(row, 0, &label)?;
                sheet.insert_image(row, 1, &image)?;
                let height = image.height() * scale_of(&image);
                row += (height / 20.0).ceil() as u32 + 1;
            }
            Err(_) => {
                sheet.write_string(row, 0, &label)?;
                sheet.write_string(
                    row,
                    1,
                    format!("（{}，无法嵌入表格）", p.media.content_type),
                )?;
                row += 1;
            }
        }
    }
    Ok(())
}

/// The scale `set_scale_to_size` chose (the same rule: fit the longest side).
fn scale_of(image: &Image) -> f64 {
    let longest = image.width().max(image.height());
    if longest <= 0.0 {
        1.0
    } else {
        (f64::from(PHOTO_PX) / longest).min(1.0)
    }
}
