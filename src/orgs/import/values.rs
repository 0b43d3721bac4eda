//! Cell values to typed values: phone, gender, dates in the forms Excel and people write
//! them, category, cadre flag; and a whole row to a [`RowInput`] or its problems.
//!
//! An empty cell means "not given": a new member gets the default (no gender or dates,
//! category `full`, not a cadre) and an existing member keeps what is stored.

use chrono::{Datelike, Duration, NaiveDate};

use super::model::{Problem, RejectReason};
use super::parse::{Field, RawRow};
use crate::auth::phone::Phone;
use crate::error::Text;
use crate::http::text::TextProblem;
use crate::orgs::model::{Category, Gender};

/// A valid row, ready to be compared with the database.
#[derive(Debug, Clone)]
pub struct RowInput {
    pub line: u64,
    pub name: String,
    pub phone: Phone,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub joined_party_on: Option<NaiveDate>,
    pub category: Option<Category>,
    pub is_cadre: Option<bool>,
    /// The org named in the row (所在支部), if any.
    pub org: Option<String>,
}

/// Excel's text-forcing spellings: `="13807310001"` and a leading apostrophe.
fn unquote_excel(s: &str) -> &str {
    let s = s
        .strip_prefix("=\"")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s);
    s.strip_prefix('\'').unwrap_or(s).trim()
}

/// The phone of a row, if its cell holds a valid one.
pub fn row_phone(row: &RawRow) -> Option<Phone> {
    row.get(Field::Phone)
        .and_then(|raw| Phone::parse(unquote_excel(raw)))
}

pub fn parse_gender(s: &str) -> Option<Gender> {
    match s.trim().to_ascii_lowercase().as_str() {
        "男" | "男性" | "male" | "m" => Some(Gender::Male),
        "女" | "女性" | "female" | "f" => Some(Gender::Female),
        _ => None,
    }
}

pub fn parse_category(s: &str) -> Option<Category> {
    let s: String = s
        .split_whitespace()
        .collect::<String>()
        .to_ascii_lowercase();
    match s.as_str() {
        "正式党员" | "正式" | "党员" | "full" | "fullmember" => Some(Category::Full),
        "预备党员" | "预备" | "probationary" | "probationarymember" => {
            Some(Category::Probationary)
        }
        "入党积极分子" | "积极分子" | "activist" => Some(Category::Activist),
        _ => None,
    }
}

pub fn parse_cadre(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "是" | "是干部" | "干部" | "y" | "yes" | "true" | "1" | "√" | "✓" | "✔" => {
            Some(true)
        }
        "否" | "不是" | "非干部" | "n" | "no" | "false" | "0" | "×" | "✗" | "x" => {
            Some(false)
        }
        _ => None,
    }
}

/// A date as written in a member list: `1958-03-12`, `1958/3/12`, `1958.3.12`,
/// `1958年3月12日`, `19580312`, an Excel date-time (`1958/3/12 0:00`) or an Excel serial
/// day number (`21256`, what a date cell formatted as "General" exports).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = unquote_excel(s);
    // Drop a time part: "1958/3/12 0:00:00".
    let s = s.split_whitespace().next()?;
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.len() {
            8 => NaiveDate::parse_from_str(s, "%Y%m%d").ok(),
            // Four digits are a year, not a serial number: only 5-digit serials (from 1927).
            5 => excel_serial(s.parse().ok()?),
            _ => None,
        };
    }
    let s = s.strip_suffix('日').unwrap_or(s);
    let parts: Vec<&str> = s
        .split(['-', '/', '.', '年', '月'])
        .map(str::trim)
        .collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 || m.is_empty() || d.is_empty() || m.len() > 2 || d.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Excel's serial day number (1900 date system; valid as written from day 61 on).
fn excel_serial(n: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(Duration::days(n))
}

fn problem(reason: RejectReason, field: Field, zh: String, en: String) -> Problem {
    Problem::new(reason, Some(field.as_str()), Text::new(zh, en))
}

/// Checks one row. `today` bounds the dates (in the org's zone).
pub fn check_row(row: &RawRow, today: NaiveDate) -> Result<RowInput, Vec<Problem>> {
    let mut problems = Vec::new();
    let name = match row.get(Field::Name) {
        None => {
            problems.push(problem(
                RejectReason::MissingName,
                Field::Name,
                "姓名为空".into(),
                "The name is empty".into(),
            ));
            String::new()
        }
        Some(n) if crate::http::text::clean_line(n, 64) == Err(TextProblem::Control) => {
            problems.push(problem(
                RejectReason::InvalidName,
                Field::Name,
                "姓名含有控制字符（如换行、制表符或空字符）".into(),
                "The name contains control characters (line breaks, tabs, NUL)".into(),
            ));
            String::new()
        }
        Some(n) if n.chars().count() > 64 => {
            problems.push(problem(
                RejectReason::InvalidName,
                Field::Name,
                "姓名超过 64 个字符".into(),
                "The name is longer than 64 characters".into(),
            ));
            String::new()
        }
        Some(n) => n.to_string(),
    };
    let phone = match row.get(Field::Phone) {
        None => {
            problems.push(problem(
                RejectReason::MissingPhone,
                Field::Phone,
                "手机号为空".into(),
                "The phone number is empty".into(),
            ));
            None
        }
        Some(raw) => {
            let parsed = Phone::parse(unquote_excel(raw));
            if parsed.is_none() {
                problems.push(problem(
                    RejectReason::InvalidPhone,
                    Field::Phone,
                    format!("手机号“{raw}”格式不正确（应为 11 位大陆手机号）"),
                    format!("“{raw}” is not a mainland mobile number (11 digits)"),
                ));
            }
            parsed
        }
    };
    let gender = optional(row, Field::Gender, parse_gender, &mut problems, |raw| {
        (
            RejectReason::InvalidGender,
            format!("性别“{raw}”无法识别（应为 男 或 女）"),
            format!("Gender “{raw}” is not male/female (男/女)"),
        )
    });
    let date = |field: Field, problems: &mut Vec<Problem>| {
        optional(row, field, parse_date, problems, |raw| {
            (
                RejectReason::InvalidDate,
                format!("日期“{raw}”无法识别（如 1958-03-12）"),
                format!("Date “{raw}” is not recognized (e.g. 1958-03-12)"),
            )
        })
    };
    let birth_date = date(Field::BirthDate, &mut problems);
    let joined_party_on = date(Field::JoinedPartyOn, &mut problems);
    check_date_range(birth_date, joined_party_on, today, &mut problems);
    let category = optional(row, Field::Category, parse_category, &mut problems, |raw| {
        (
            RejectReason::InvalidCategory,
            format!("类别“{raw}”无法识别（应为 正式党员、预备党员 或 入党积极分子）"),
            format!("Category “{raw}” is not full/probationary/activist"),
        )
    });
    let is_cadre = optional(row, Field::Cadre, parse_cadre, &mut problems, |raw| {
        (
            RejectReason::InvalidCadre,
            format!("是否干部“{raw}”无法识别（应为 是 或 否）"),
            format!("Cadre “{raw}” is not yes/no (是/否)"),
        )
    });
    match phone {
        Some(phone) if problems.is_empty() => Ok(RowInput {
            line: row.line,
            name,
            phone,
            gender,
            birth_date,
            joined_party_on,
            category,
            is_cadre,
            org: row.get(Field::Org).map(str::to_string),
        }),
        _ => Err(problems),
    }
}

/// Parses an optional cell; an unparsable one adds the problem `bad` describes.
fn optional<T>(
    row: &RawRow,
    field: Field,
    parse: impl Fn(&str) -> Option<T>,
    problems: &mut Vec<Problem>,
    bad: impl Fn(&str) -> (RejectReason, String, String),
) -> Option<T> {
    let raw = row.get(field)?;
    let parsed = parse(raw);
    if parsed.is_none() {
        let (reason, zh, en) = bad(raw);
        problems.push(problem(reason, field, zh, en));
    }
    parsed
}

fn check_date_range(
    birth: Option<NaiveDate>,
    joined: Option<NaiveDate>,
    today: NaiveDate,
    problems: &mut Vec<Problem>,
) {
    let plausible = |d: NaiveDate| d.year() >= 1900 && d <= today;
    if let Some(b) = birth.filter(|d| !plausible(*d)) {
        problems.push(problem(
            RejectReason::DateOutOfRange,
            Field::BirthDate,
            format!("出生日期 {b} 不合理"),
            format!("Birth date {b} is not plausible"),
        ));
    }
    if let Some(j) = joined.filter(|d| !plausible(*d) || birth.is_some_and(|b| *d < b)) {
        problems.push(problem(
            RejectReason::DateOutOfRange,
            Field::JoinedPartyOn,
            format!("入党日期 {j} 不合理"),
            format!("Party joining date {j} is not plausible"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn reads_dates_in_every_common_form() {
        for s in [
            "1958-03-12",
            "1958-3-12",
            "1958/3/12",
            "1958/03/12 0:00",
            "1958.3.12",
            "1958年3月12日",
            "1958年03月12日",
            "19580312",
            "21256",
            "=\"1958-03-12\"",
        ] {
            assert_eq!(parse_date(s), Some(d(1958, 3, 12)), "{s}");
        }
        for s in [
            "1958-02-30",
            "58-3-12",
            "1958",
            "1958.3",
            "三月",
            "123456789",
            "12",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn reads_values_in_chinese_and_english() {
        assert_eq!(parse_gender("男"), Some(Gender::Male));
        assert_eq!(parse_gender("Female"), Some(Gender::Female));
        assert_eq!(parse_gender("未知"), None);
        assert_eq!(parse_category("正式党员"), Some(Category::Full));
        assert_eq!(parse_category("预备党员"), Some(Category::Probationary));
        assert_eq!(parse_category("入党积极分子"), Some(Category::Activist));
        assert_eq!(parse_category("Probationary"), Some(Category::Probationary));
        assert_eq!(parse_category("群众"), None);
        assert_eq!(parse_cadre("是"), Some(true));
        assert_eq!(parse_cadre("否"), Some(false));
        assert_eq!(parse_cadre("Yes"), Some(true));
        assert_eq!(parse_cadre("村支书"), None);
    }

    #[test]
    fn a_row_reports_every_problem() {
        let text = "姓名,手机号,性别,出生日期,入党日期,类别\n,1380731000,未知,2099-01-01,1950-01-01,群众\n";
        let sheet = super::super::parse::parse(text, 10).unwrap();
        let problems = check_row(&sheet.rows[0], d(2026, 11, 27)).unwrap_err();
        let reasons: Vec<&str> = problems.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "missing_name",
                "invalid_phone",
                "invalid_gender",
                "date_out_of_range",
                "date_out_of_range",
                "invalid_category"
            ]
        );
    }

    #[test]
    fn a_good_row_is_typed() {
        let text = "姓名,手机号,性别,出生日期,入党日期,类别,所在支部,是否干部\n 王建国 ,'138 0731 0001,男,1958/3/12,1985年7月1日,正式党员,东山村党支部,是\n";
        let sheet = super::super::parse::parse(text, 10).unwrap();
        let r = check_row(&sheet.rows[0], d(2026, 11, 27)).unwrap();
        assert_eq!(r.name, "王建国");
        assert_eq!(r.phone.as_str(), "13807310001");
        assert_eq!(r.gender, Some(Gender::Male));
        assert_eq!(r.birth_date, Some(d(1958, 3, 12)));
        assert_eq!(r.joined_party_on, Some(d(1985, 7, 1)));
        assert_eq!(r.category, Some(Category::Full));
        assert_eq!(r.org.as_deref(), Some("东山村党支部"));
        assert_eq!(r.is_cadre, Some(true));
    }
}
