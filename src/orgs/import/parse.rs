//! Text to rows: the CSV read with the `csv` crate, the header row found and its columns
//! recognized (see [`super::columns`]), blank lines skipped.
//!
//! The header is the first non-blank record that names both required columns (姓名 and
//! 手机号), searched among the first few records so a title row above the header
//! ("东山村党支部党员名册") does not break the import. Unrecognized columns (序号, 身份证号,
//! 学历 …) are skipped and reported. The delimiter is the one of `,`, tab and `;` that the
//! header line uses most (Excel's "Unicode text" is tab-separated).

pub use super::columns::Field;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};

/// One data row: its line and its cells by field.
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    pub line: u64,
    cells: [Option<String>; 8],
}

impl RawRow {
    /// The trimmed cell of `field`; `None` when the column is absent or the cell empty.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.cells[field as usize].as_deref()
    }
}

/// The file as rows.
#[derive(Debug)]
pub struct Sheet {
    pub header_line: u64,
    /// Recognized columns: the header as written and its field.
    pub columns: Vec<(String, Field)>,
    pub ignored_columns: Vec<String>,
    pub rows: Vec<RawRow>,
}

/// How many records may come before the header (title rows).
const HEADER_SEARCH: usize = 5;

/// Reads `text` as CSV. Fails (422) when no header row names 姓名 and 手机号, or when the
/// file has more than `max_rows` data rows.
pub fn parse(text: &str, max_rows: usize) -> ApiResult<Sheet> {
    let records = read_records(text)?;
    let (header_idx, mapping) = find_header(&records)?;
    let (header_line, header) = &records[header_idx];
    let mut columns = Vec::new();
    let mut ignored_columns = Vec::new();
    let mut index: Vec<Option<Field>> = Vec::with_capacity(header.len());
    for (cell, field) in header.iter().zip(&mapping) {
        match field {
            Some(f) if !index.contains(&Some(*f)) => {
                columns.push((cell.trim().to_string(), *f));
                index.push(Some(*f));
            }
            _ => {
                if !cell.trim().is_empty() {
                    ignored_columns.push(cell.trim().to_string());
                }
                index.push(None);
            }
        }
    }
    let data = &records[header_idx + 1..];
    if data.len() > max_rows {
        return Err(ApiError::invalid_field(
            "file",
            "too_many_rows",
            Text::new(
                format!("一次最多导入 {max_rows} 行，请分批导入"),
                format!("At most {max_rows} rows per import; split the file"),
            ),
        ));
    }
    let rows = data
        .iter()
        .map(|(line, record)| {
            let mut row = RawRow {
                line: *line,
                ..RawRow::default()
            };
            for (cell, field) in record.iter().zip(&index) {
                if let Some(f) = field {
                    let v = clean_cell(cell);
                    row.cells[*f as usize] = (!v.is_empty()).then(|| v.to_string());
                }
            }
            row
        })
        .collect();
    Ok(Sheet {
        header_line: *header_line,
        columns,
        ignored_columns,
        rows,
    })
}

/// A cell without surrounding whitespace (full-width spaces included).
fn clean_cell(cell: &str) -> &str {
    cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

type Record = (u64, Vec<String>);

/// Every non-blank record with the line it starts on. A record whose cells are all empty
/// (Excel writes `,,,,` for a formatted empty row) counts as blank.
fn read_records(text: &str) -> ApiResult<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut lines = LineCounter::new(text);
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if record.iter().all(|c| clean_cell(c).is_empty()) {
                    continue;
                }
                let line = lines.line_at(record.position().map(|p| p.byte()).unwrap_or(0));
                out.push((line, record.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                let line = lines.line_at(e.position().map(|p| p.byte()).unwrap_or(0));
                return Err(ApiError::invalid_field(
                    "file",
                    "malformed_csv",
                    Text::new(
                        format!("第 {line} 行不是合法的 CSV"),
                        format!("Line {line} is not valid CSV"),
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Line numbers from byte offsets, for offsets that only grow. (The reader's own line
/// count lags by one after a CRLF, because the LF is consumed with the next record.)
struct LineCounter<'a> {
    bytes: &'a [u8],
    cursor: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            cursor: 0,
            line: 1,
        }
    }

    /// The line of the first character at or after `offset` that ends no line.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.cursor {
            let newlines = self.bytes[self.cursor..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += newlines as u64;
            self.cursor = start;
        }
        self.line
    }
}

/// `,`, tab or `;`, whichever the first non-blank line holds most of (`,` on a tie).
fn sniff_delimiter(text: &str) -> u8 {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let count = |c: char| first.chars().filter(|&x| x == c).count();
    let (commas, tabs, semis) = (count(','), count('\t'), count(';'));
    if tabs > commas && tabs >= semis {
        b'\t'
    } else if semis > commas && semis > tabs {
        b';'
    } else {
        b','
    }
}

/// The header record among the first few and its column mapping, or the 422 naming the
/// required columns the best candidate lacks.
fn find_header(records: &[Record]) -> ApiResult<(usize, Vec<Option<Field>>)> {
    let mut best: Option<(usize, Vec<Option<Field>>)> = None;
    for (i, (_, record)) in records.iter().enumerate().take(HEADER_SEARCH) {
        let mapping: Vec<Option<Field>> = record.iter().map(|h| Field::from_header(h)).collect();
        let has = |f: Field| mapping.contains(&Some(f));
        if has(Field::Name) && has(Field::Phone) {
            return Ok((i, mapping));
        }
        let known = mapping.iter().flatten().count();
        if best
            .as_ref()
            .is_none_or(|(_, m)| m.iter().flatten().count() < known)
        {
            best = Some((i, mapping));
        }
    }
    let Some((_, mapping)) = best else {
        return Err(ApiError::invalid_field(
            "file",
            "empty",
            Text::new(
                "文件是空的：第一行应为表头（姓名、手机号……）",
                "The file is empty: the first row must be the header (name, phone, …)",
            ),
        ));
    };
    let missing: Vec<FieldError> = [Field::Name, Field::Phone]
        .into_iter()
        .filter(|f| !mapping.contains(&Some(*f)))
        .map(|f| {
            FieldError::new(
                f.as_str(),
                "missing_column",
                Text::new(
                    format!("缺少必需的列：{}", f.chinese()),
                    format!("Missing required column: {}", f.as_str()),
                ),
            )
        })
        .collect();
    let names: Vec<&str> = [Field::Name, Field::Phone]
        .into_iter()
        .filter(|f| !mapping.contains(&Some(*f)))
        .map(Field::chinese)
        .collect();
    Err(ApiError::new(ErrorCode::ValidationFailed)
        .with_detail(
            format!("表头缺少必需的列：{}", names.join("、")),
            format!(
                "The header lacks required columns: {}",
                missing
                    .iter()
                    .map(|f| f.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_fields(missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_the_header_as_one_and_skip_blank_lines() {
        let text = "序号,姓名,手机号\r\n1,王建国,13807310001\r\n\r\n,,\r\n2,\"李\r\n秀英\",13807310002\r\n3,张伟,13907310003";
        let sheet = parse(text, 100).unwrap();
        let lf = parse(&text.replace("\r\n", "\n"), 100).unwrap();
        let lf_lines: Vec<u64> = lf.rows.iter().map(|r| r.line).collect();
        assert_eq!(lf_lines, vec![2, 5, 7]);
        assert_eq!(sheet.header_line, 1);
        assert_eq!(sheet.ignored_columns, vec!["序号"]);
        let lines: Vec<u64> = sheet.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 5, 7]);
        assert_eq!(sheet.rows[1].get(Field::Name), Some("李\r\n秀英"));
        assert_eq!(sheet.rows[2].get(Field::Phone), Some("13907310003"));
        assert_eq!(sheet.rows[0].get(Field::Org), None);
    }

    #[test]
    fn a_title_row_above_the_header_is_skipped() {
        let text = "东山村党支部党员名册,,\n姓名,性别,手机号\n王建国,男,13807310001\n";
        let sheet = parse(text, 100).unwrap();
        assert_eq!(sheet.header_line, 2);
        assert_eq!(sheet.rows[0].line, 3);
        assert_eq!(sheet.rows[0].get(Field::Gender), Some("男"));
    }

    #[test]
    fn tab_separated_text_is_read() {
        let sheet = parse("姓名\t手机号\n王建国\t13807310001\n", 100).unwrap();
        assert_eq!(sheet.rows[0].get(Field::Phone), Some("13807310001"));
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let e = parse("姓名,性别\n王建国,男\n", 100).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.fields[0].field, "phone");
        assert_eq!(e.fields[0].code, "missing_column");
        let e = parse("", 100).unwrap_err();
        assert_eq!(e.fields[0].code, "empty");
        let e = parse("姓名,手机号\n1,2\n3,4\n", 1).unwrap_err();
        assert_eq!(e.fields[0].code, "too_many_rows");
    }

    #[test]
    fn a_repeated_column_keeps_the_first() {
        let sheet = parse("姓名,手机号,联系电话\n王建国,13807310001,0731-1234\n", 100).unwrap();
        assert_eq!(sheet.rows[0].get(Field::Phone), Some("13807310001"));
        assert_eq!(sheet.ignored_columns, vec!["联系电话"]);
    }
}
