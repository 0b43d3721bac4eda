//! The checks a file needs no database for: each row on its own (see [`super::values`]),
//! and phones repeated within the file — the first occurrence counts, later ones are
//! rejected naming the earlier line.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::model::{Problem, RejectReason};
use super::parse::{Field, Sheet};
use super::values::{RowInput, check_row, row_phone};
use crate::error::Text;

/// A row after the file-only checks (no database yet).
#[derive(Debug)]
pub struct CheckedRow {
    pub line: u64,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub input: Result<RowInput, Rejection>,
}

/// Why a row is rejected.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub problems: Vec<Problem>,
    pub duplicate_of_line: Option<u64>,
}

impl Rejection {
    pub fn one(reason: RejectReason, column: Option<&'static str>, message: Text) -> Self {
        Rejection {
            problems: vec![Problem::new(reason, column, message)],
            duplicate_of_line: None,
        }
    }
}

/// Checks every row of the sheet on its own and marks later repeats of a phone.
pub fn check_rows(sheet: &Sheet, today: NaiveDate) -> Vec<CheckedRow> {
    let mut first_line: HashMap<String, u64> = HashMap::new();
    sheet
        .rows
        .iter()
        .map(|row| {
            let phone = row_phone(row);
            let input = match phone
                .as_ref()
                .and_then(|p| first_line.get(p.as_str()).copied())
            {
                Some(first) => Err(Rejection {
                    problems: vec![Problem::new(
                        RejectReason::DuplicatePhone,
                        Some(Field::Phone.as_str()),
                        Text::new(
                            format!("手机号与第 {first} 行重复，以第 {first} 行为准"),
                            format!("Same phone as line {first}; line {first} counts"),
                        ),
                    )],
                    duplicate_of_line: Some(first),
                }),
                None => {
                    if let Some(p) = &phone {
                        first_line.insert(p.as_str().to_string(), row.line);
                    }
                    check_row(row, today).map_err(|problems| Rejection {
                        problems,
                        duplicate_of_line: None,
                    })
                }
            };
            CheckedRow {
                line: row.line,
                name: row.get(Field::Name).map(str::to_string),
                phone: phone
                    .map(|p| p.as_str().to_string())
                    .or_else(|| row.get(Field::Phone).map(str::to_string)),
                input,
            }
        })
        .collect()
}
