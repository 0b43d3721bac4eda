//! Turning row results into the report in the caller's language, and the summary the
//! audit log keeps.

use serde_json::{Value, json};

use super::apply::RowResult;
use super::model::{
    ImportColumn, ImportCounts, ImportReport, ImportRowReport, RowOutcome, RowProblem,
};
use super::parse::Sheet;
use crate::http::lang::Lang;

/// What was read from the file, apart from the rows.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub sha256: String,
    pub bytes: usize,
    pub file_name: Option<String>,
    pub encoding: &'static str,
    pub header_line: u64,
    pub columns: Vec<ImportColumn>,
    pub ignored_columns: Vec<String>,
}

impl FileFacts {
    pub fn new(
        sha256: String,
        bytes: usize,
        file_name: Option<String>,
        encoding: &'static str,
        sheet: &Sheet,
    ) -> FileFacts {
        FileFacts {
            sha256,
            bytes,
            file_name,
            encoding,
            header_line: sheet.header_line,
            columns: sheet
                .columns
                .iter()
                .map(|(header, field)| ImportColumn {
                    header: header.clone(),
                    field: field.as_str().to_string(),
                })
                .collect(),
            ignored_columns: sheet.ignored_columns.clone(),
        }
    }
}

pub fn counts(results: &[RowResult]) -> ImportCounts {
    let mut c = ImportCounts {
        rows: results.len() as u64,
        ..ImportCounts::default()
    };
    for r in results {
        match r.outcome {
            RowOutcome::Created => c.created += 1,
            RowOutcome::Updated => c.updated += 1,
            RowOutcome::Unchanged => c.unchanged += 1,
            RowOutcome::Rejected => c.rejected += 1,
        }
    }
    c
}

/// The audit details of an import: counts, the file's hash, and who moved where.
pub fn audit_details(facts: &FileFacts, results: &[RowResult]) -> Value {
    let moved: Vec<Value> = results
        .iter()
        .filter_map(|r| {
            let (from, to) = r.moved?;
            Some(json!({"user_id": r.user_id, "from_org_id": from, "to_org_id": to}))
        })
        .collect();
    json!({
        "counts": counts(results),
        "file_sha256": facts.sha256,
        "file_bytes": facts.bytes,
        "file_name": facts.file_name,
        "encoding": facts.encoding,
        "moved": moved,
    })
}

/// The report in `lang`.
pub fn render(
    facts: FileFacts,
    dry_run: bool,
    results: Vec<RowResult>,
    lang: Lang,
) -> ImportReport {
    let counts = counts(&results);
    let rows = results
        .into_iter()
        .map(|r| {
            let problems: Vec<RowProblem> = r
                .rejection
                .as_ref()
                .map(|rej| {
                    rej.problems
                        .iter()
                        .map(|p| RowProblem::render(p, lang))
                        .collect()
                })
                .unwrap_or_default();
            ImportRowReport {
                line: r.line,
                outcome: r.outcome,
                name: r.name,
                phone: r.phone,
                user_id: r.user_id,
                org_id: r.org_id,
                changes: r.changes.iter().map(|c| c.to_string()).collect(),
                reason: problems.first().map(|p| p.reason),
                message: problems.first().map(|p| p.message.clone()),
                duplicate_of_line: r.rejection.and_then(|rej| rej.duplicate_of_line),
                problems,
            }
        })
        .collect();
    ImportReport {
        dry_run,
        file_sha256: facts.sha256,
        encoding: facts.encoding.to_string(),
        header_line: facts.header_line,
        columns: facts.columns,
        ignored_columns: facts.ignored_columns,
        counts,
        rows,
    }
}
