//! The import from uploaded bytes to row results: [`prepare`] (decode, parse, check each
//! row — no database, run off the async workers), then [`dry_run`] (plan only, on a read
//! connection) or [`import`] (plan, write, audit — one transaction).

use chrono::{DateTime, Utc};
use diesel::Connection;
use sha2::{Digest, Sha256};

use super::apply::{self, RowResult};
use super::check::{self, CheckedRow};
use super::plan::{self, Context};
use super::report::{self, FileFacts};
use super::upload::Upload;
use super::{decode, parse};
use crate::audit::{self, Actor, Target};
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult, Text};
use crate::orgs::access::{Right, authorize};
use crate::orgs::settings;

/// Most data rows one import takes.
pub const MAX_ROWS: usize = 50_000;

/// A file read and checked row by row, not yet compared with the database.
#[derive(Debug)]
pub struct Prepared {
    pub facts: FileFacts,
    pub rows: Vec<CheckedRow>,
}

/// Decodes, parses and checks the upload. `today` (in the org's zone) bounds the dates.
pub fn prepare(upload: Upload, today: chrono::NaiveDate) -> ApiResult<Prepared> {
    let sha256 = hex::encode(Sha256::digest(&upload.bytes));
    let decoded = decode::decode(&upload.bytes, upload.charset.as_deref()).ok_or_else(|| {
        ApiError::invalid_field(
            "file",
            "unrecognized_encoding",
            Text::new(
                "无法识别文件编码：请另存为 CSV（UTF-8 或 GBK）",
                "The file's encoding is not recognized: save it as CSV (UTF-8 or GBK)",
            ),
        )
    })?;
    let sheet = parse::parse(&decoded.text, MAX_ROWS)?;
    let rows = check::check_rows(&sheet, today);
    Ok(Prepared {
        facts: FileFacts::new(
            sha256,
            upload.bytes.len(),
            upload.file_name,
            decoded.encoding,
            &sheet,
        ),
        rows,
    })
}

/// What an import would do, read-only.
pub fn dry_run(
    conn: &mut DbConnection,
    caller_id: i64,
    org_id: i64,
    now: DateTime<Utc>,
    prepared: Prepared,
) -> ApiResult<(FileFacts, Vec<RowResult>)> {
    // A read-only transaction: one snapshot for every read, and the plan settings of
    // `plan::plan` stay local to it.
    conn.transaction(|conn| {
        let (org, scope) = authorize(conn, caller_id, org_id, Right::Administer)?;
        let today = settings::today(conn, &org, now)?;
        let ctx = Context {
            root: &org,
            scope: &scope,
            today,
        };
        let planned = plan::plan(conn, &ctx, prepared.rows)?;
        let results = planned
            .into_iter()
            .map(|r| RowResult::from_plan(r, None))
            .collect();
        Ok((prepared.facts, results))
    })
}

/// The import, in the caller's transaction: plan, write, and one audit record with the
/// counts and the file's SHA-256.
pub fn import(
    conn: &mut DbConnection,
    actor: &Actor,
    caller_id: i64,
    org_id: i64,
    now: DateTime<Utc>,
    prepared: Prepared,
) -> ApiResult<(FileFacts, Vec<RowResult>)> {
    let (org, scope) = authorize(conn, caller_id, org_id, Right::Administer)?;
    let today = settings::today(conn, &org, now)?;
    let ctx = Context {
        root: &org,
        scope: &scope,
        today,
    };
    let planned = plan::plan(conn, &ctx, prepared.rows)?;
    let results = apply::apply(conn, now.naive_utc(), today, planned)?;
    audit::record(
        conn,
        now.naive_utc(),
        actor,
        "members_imported",
        &Target::new("org", org.id).in_org(org.id),
        report::audit_details(&prepared.facts, &results),
    )?;
    Ok((prepared.facts, results))
}
