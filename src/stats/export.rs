//! Exports of the member table and the compliance grid: `.xlsx` (Chinese headers, a frozen
//! header row, column widths; the member table gets one more sheet per child org when the
//! org has several) and `.csv` (UTF-8 with a byte-order mark, so Excel shows Chinese).

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Deserialize;
use utoipa::ToSchema;

use std::collections::HashSet;

use super::compliance::{Compliance, NotApplicableReason, SlotStatus};
use super::context::Subtree;
use super::members::{MemberStatsRow, Pace};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Xlsx,
    Csv,
}

impl FileFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileFormat::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Csv => "csv",
        }
    }
}

/// Column headers and widths of the member table.
const MEMBER_COLUMNS: [(&str, f64); 24] = [
    ("姓名", 10.0),
    ("党员编号", 10.0),
    ("手机号", 14.0),
    ("所在组织", 22.0),
    ("类别", 8.0),
    ("干部", 6.0),
    ("状态", 8.0),
    ("已获学时", 10.0),
    ("年度应完成学时", 14.0),
    ("按进度应获学时", 14.0),
    ("进度", 8.0),
    ("必修课已完成", 12.0),
    ("必修课总数", 10.0),
    ("出席", 6.0),
    ("迟到", 6.0),
    ("代签", 6.0),
    ("补学", 6.0),
    ("缺席", 6.0),
    ("请假", 6.0),
    ("出勤率", 8.0),
    ("本期活跃", 8.0),
    ("最近活动时间", 20.0),
    ("最近组织生活", 20.0),
    ("六个月无组织生活", 16.0),
];

fn category_zh(c: &str) -> &'static str {
    match c {
        "full" => "正式党员",
        "probationary" => "预备党员",
        "activist" => "入党积极分子",
        _ => "其他",
    }
}

fn status_zh(s: &str) -> &'static str {
    match s {
        "active" => "正常",
        "migrant" => "流动",
        "suspended" => "停止党籍",
        _ => "其他",
    }
}

fn pace_zh(p: Pace) -> &'static str {
    match p {
        Pace::Met => "已完成",
        Pace::OnTrack => "进度正常",
        Pace::Behind => "落后",
    }
}

fn yes(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}

/// A cell value: text, a count (an integer), credit hours (two decimals) or a rate (a
/// percentage with one decimal).
enum Cell {
    Text(String),
    Count(i64),
    Hours(f64),
    Rate(f64),
}

fn hours(centi: i64) -> Cell {
    Cell::Hours(centi as f64 / 100.0)
}

/// How the member table shows phone numbers: masked (`138****0001`) unless asked for in
/// full by someone allowed to administer the org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneColumn {
    Masked,
    Full,
}

/// What a member row needs beyond the statistics: the zone times are shown in, and the
/// phone numbers by user id.
pub struct MemberExtras {
    pub tz: chrono_tz::Tz,
    pub phones: std::collections::HashMap<i64, String>,
    pub phone_column: PhoneColumn,
}

impl MemberExtras {
    fn phone(&self, user_id: i64) -> String {
        let Some(phone) = self.phones.get(&user_id) else {
            return String::new();
        };
        match self.phone_column {
            PhoneColumn::Full => phone.clone(),
            PhoneColumn::Masked => crate::auth::phone::mask(phone),
        }
    }
}

fn member_cells(r: &MemberStatsRow, extras: &MemberExtras) -> Vec<Cell> {
    let a = &r.attendance;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        Cell::Text(
            t.map(|t| {
                t.with_timezone(&extras.tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default(),
        )
    };
    vec![
        Cell::Text(r.name.clone()),
        Cell::Count(r.user_id),
        Cell::Text(extras.phone(r.user_id)),
        Cell::Text(r.org_name.clone()),
        Cell::Text(category_zh(&r.category).into()),
        Cell::Text(yes(r.is_cadre).into()),
        Cell::Text(status_zh(&r.status).into()),
        hours(r.credit_centi),
        hours(r.quota_centi),
        hours(r.expected_centi),
        Cell::Text(pace_zh(r.pace).into()),
        Cell::Count(r.required_done),
        Cell::Count(r.required_total),
        Cell::Count(a.present),
        Cell::Count(a.late),
        Cell::Count(a.proxy),
        Cell::Count(a.made_up),
        Cell::Count(a.absent),
        Cell::Count(a.leave),
        a.rate.map_or(Cell::Text(String::new()), Cell::Rate),
        Cell::Text(yes(r.active).into()),
        time(r.last_active_at),
        time(r.last_org_life_at),
        Cell::Text(yes(r.no_org_life_6m).into()),
    ]
}

const COMPLIANCE_COLUMNS: [(&str, f64); 5] = [
    ("支部", 24.0),
    ("活动类型", 16.0),
    ("频次", 8.0),
    ("时段", 10.0),
    ("状态", 8.0),
];

pub use crate::activities::kind::kind_zh;

fn compliance_rows(c: &Compliance) -> Vec<Vec<Cell>> {
    let mut out = Vec::new();
    for row in &c.rows {
        let freq = match row.frequency.as_str() {
            "monthly" => "每月",
            "quarterly" => "每季度",
            "yearly" => "每年",
            _ => "",
        };
        for slot in &row.slots {
            out.push(vec![
                Cell::Text(row.org_name.clone()),
                Cell::Text(kind_zh(&row.kind).into()),
                Cell::Text(freq.into()),
                Cell::Text(slot.slot.clone()),
                Cell::Text(
                    match slot.status {
                        SlotStatus::Held => "已开展",
                        SlotStatus::Missing => "缺失",
                        SlotStatus::Upcoming => "待开展",
                        SlotStatus::NotApplicable => match slot.reason {
                            Some(NotApplicableReason::NoPartyGroups) => "不适用（无党小组）",
                            Some(NotApplicableReason::NoCommittee) => "不适用（未设支委会）",
                            Some(NotApplicableReason::BeforeAdoption) => "不适用（启用前）",
                            None => "不适用",
                        },
                    }
                    .into(),
                ),
            ]);
        }
    }
    // Missing slots first across the whole grid.
    out.sort_by_key(|cells| match cells.get(4) {
        Some(Cell::Text(s)) if s == "缺失" => 0,
        _ => 1,
    });
    out
}

fn xlsx_err(e: XlsxError) -> ApiError {
    ApiError::internal(anyhow::anyhow!("xlsx: {e}"))
}

fn sheet(
    book: &mut Workbook,
    name: &str,
    columns: &[(&str, f64)],
    rows: &[Vec<Cell>],
) -> Result<(), XlsxError> {
    let header = Format::new().set_bold();
    let hours = Format::new().set_num_format("0.00");
    let count = Format::new().set_num_format("0");
    let rate = Format::new().set_num_format("0.0%");
    let ws: &mut Worksheet = book.add_worksheet();
    ws.set_name(name)?;
    for (i, (title, width)) in columns.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *title, &header)?;
        ws.set_column_width(i as u16, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (r, cells) in rows.iter().enumerate() {
        let row = r as u32 + 1;
        for (c, cell) in cells.iter().enumerate() {
            match cell {
                Cell::Text(s) => ws.write_string(row, c as u16, s)?,
                Cell::Count(n) => ws.write_number_with_format(row, c as u16, *n as f64, &count)?,
                Cell::Hours(n) => ws.write_number_with_format(row, c as u16, *n, &hours)?,
                Cell::Rate(n) => ws.write_number_with_format(row, c as u16, *n, &rate)?,
            };
        }
    }
    Ok(())
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str, used: &mut Vec<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(28)
        .collect();
    let mut candidate = clean.clone();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{clean}{n}");
        n += 1;
    }
    used.push(candidate.clone());
    candidate
}

/// A text cell as a spreadsheet must read it: text that Excel, WPS or LibreOffice would
/// evaluate as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets
/// a leading apostrophe, so `=HYPERLINK(…)` in a member's name stays a name (OWASP's CSV
/// injection advice). Numbers are written as numbers and never pass through here.
pub fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn csv_bytes(columns: &[(&str, f64)], rows: &[Vec<Cell>]) -> ApiResult<Vec<u8>> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let fail = |e: csv::Error| ApiError::internal(anyhow::anyhow!("csv: {e}"));
        w.write_record(columns.iter().map(|(t, _)| *t))
            .map_err(fail)?;
        for cells in rows {
            w.write_record(cells.iter().map(|c| match c {
                Cell::Text(s) => csv_text(s),
                Cell::Count(n) => n.to_string(),
                Cell::Hours(n) => format!("{n:.2}"),
                Cell::Rate(n) => format!("{:.1}%", n * 100.0),
            }))
            .map_err(fail)?;
        }
        w.flush()
            .map_err(|e| ApiError::internal(anyhow::anyhow!("csv: {e}")))?;
    }
    Ok(out)
}

/// The member table of the subtree `tree` as a file: the rows on one sheet, and in xlsx one
/// more sheet per direct child org with rows, and one for the members attached to the org
/// itself (`…（直属）`), when that splits the rows in more than one sheet.
pub fn members_export(
    format: FileFormat,
    tree: &Subtree,
    rows: &[MemberStatsRow],
    extras: &MemberExtras,
) -> ApiResult<Vec<u8>> {
    let children = tree.children();
    let mut groups: Vec<(String, Vec<&MemberStatsRow>)> = children
        .iter()
        .map(|child| {
            let ids: HashSet<i64> = tree
                .orgs
                .iter()
                .filter(|o| o.path.starts_with(&child.path))
                .map(|o| o.id)
                .collect();
            let mine = rows.iter().filter(|r| ids.contains(&r.org_id)).collect();
            (child.name.clone(), mine)
        })
        .collect();
    groups.push((
        format!("{}（直属）", tree.root.name),
        rows.iter().filter(|r| r.org_id == tree.root.id).collect(),
    ));
    groups.retain(|(_, mine)| !mine.is_empty());
    if groups.len() < 2 {
        groups.clear();
    }
    members_file(format, rows, &groups, extras)
}

/// The member table as a file. `groups` are (sheet name, rows) for one sheet each.
fn members_file(
    format: FileFormat,
    rows: &[MemberStatsRow],
    groups: &[(String, Vec<&MemberStatsRow>)],
    extras: &MemberExtras,
) -> ApiResult<Vec<u8>> {
    let all: Vec<Vec<Cell>> = rows.iter().map(|r| member_cells(r, extras)).collect();
    match format {
        FileFormat::Csv => csv_bytes(&MEMBER_COLUMNS, &all),
        FileFormat::Xlsx => {
            let mut book = Workbook::new();
            let mut used = Vec::new();
            sheet(
                &mut book,
                &sheet_name("全部党员", &mut used),
                &MEMBER_COLUMNS,
                &all,
            )
            .map_err(xlsx_err)?;
            for (name, members) in groups {
                let cells: Vec<Vec<Cell>> =
                    members.iter().map(|r| member_cells(r, extras)).collect();
                sheet(
                    &mut book,
                    &sheet_name(name, &mut used),
                    &MEMBER_COLUMNS,
                    &cells,
                )
                .map_err(xlsx_err)?;
            }
            book.save_to_buffer().map_err(xlsx_err)
        }
    }
}

/// The compliance grid as a file (one row per branch, kind and slot).
pub fn compliance_file(format: FileFormat, grid: &Compliance) -> ApiResult<Vec<u8>> {
    let rows = compliance_rows(grid);
    match format {
        FileFormat::Csv => csv_bytes(&COMPLIANCE_COLUMNS, &rows),
        FileFormat::Xlsx => {
            let mut book = Workbook::new();
            sheet(
                &mut book,
                &format!("{}年组织生活", grid.year),
                &COMPLIANCE_COLUMNS,
                &rows,
            )
            .map_err(xlsx_err)?;
            book.save_to_buffer().map_err(xlsx_err)
        }
    }
}

/// Parses `format` (default `xlsx`).
/// Parses `phone` (`masked` by default, or `full`).
pub fn parse_phone_column(s: Option<&str>) -> ApiResult<PhoneColumn> {
    match s.unwrap_or("masked") {
        "masked" => Ok(PhoneColumn::Masked),
        "full" => Ok(PhoneColumn::Full),
        _ => Err(
            ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
                "phone",
                "invalid_value",
                Text::new("phone 应为 masked 或 full", "phone must be masked or full"),
            )),
        ),
    }
}

pub fn parse_format(s: Option<&str>) -> ApiResult<FileFormat> {
    match s.unwrap_or("xlsx") {
        "xlsx" => Ok(FileFormat::Xlsx),
        "csv" => Ok(FileFormat::Csv),
        _ => Err(
            ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
                "format",
                "invalid_value",
                Text::new("格式应为 xlsx 或 csv", "format must be xlsx or csv"),
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::csv_text;

    #[test]
    fn formulas_become_text() {
        for f in [
            "=1+1",
            "+1",
            "-2+3",
            "@SUM(1)",
            "\t=1",
            "\r=1",
            "=cmd|' /C calc'!A0",
        ] {
            assert_eq!(csv_text(f), format!("'{f}"));
        }
        assert_eq!(csv_text("王党员"), "王党员");
        assert_eq!(csv_text("1-2"), "1-2");
    }
}
