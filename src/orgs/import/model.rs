//! API types of the import: the query, the upload as the spec shows it, and the report.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::Text;
use crate::http::lang::Lang;

/// `?dry_run=true` checks the file and reports what an import would do, writing nothing.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Report the outcome without writing anything (default `false`).
    #[serde(default)]
    pub dry_run: bool,
}

/// The multipart form `wx.uploadFile` sends: the CSV in a file part (any part name; the
/// first part with a file name, else the part named `file`). Other parts are ignored.
#[derive(Debug, ToSchema)]
pub struct ImportUpload {
    /// The CSV file: UTF-8 (with or without BOM), GBK/GB18030 or UTF-16 with BOM.
    #[schema(value_type = String, content_media_type = "text/csv")]
    pub file: Vec<u8>,
}

/// What happened to one data row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    /// A new member: a new user and membership, or a known user without a home org joined.
    Created,
    /// A member whose details changed, or who moved to another org inside the subtree
    /// (a transfer: the old membership ends, history kept).
    Updated,
    /// Already exactly as in the file.
    Unchanged,
    /// Not imported; `problems` says why.
    Rejected,
}

/// Stable codes of the reasons a row is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The name cell is empty.
    MissingName,
    /// The name is longer than 64 characters.
    InvalidName,
    /// The phone cell is empty.
    MissingPhone,
    /// Not an 11-digit mainland mobile number.
    InvalidPhone,
    /// An earlier line of the same file has this phone (`duplicate_of_line`).
    DuplicatePhone,
    /// Gender is not 男/女 (male/female).
    InvalidGender,
    /// A date is not in a recognized form.
    InvalidDate,
    /// A date is before 1900, in the future, or the party date is before the birth date.
    DateOutOfRange,
    /// Category is not 正式党员/预备党员/入党积极分子 (full/probationary/activist).
    InvalidCategory,
    /// The cadre cell is not yes/no (是/否).
    InvalidCadre,
    /// No org of that name in the subtree of the import's org.
    UnknownOrg,
    /// Several orgs of that name in the subtree.
    AmbiguousOrg,
    /// The named org is not a branch or party group.
    OrgCannotHoldMembers,
    /// No org named, and the import's org is not a branch or party group.
    OrgRequired,
    /// The phone belongs to a person outside the importer's scope (a member of another
    /// org, a role holder above, an account with a password); which, is not said.
    #[serde(rename = "member_not_addable")]
    NotAddable,
    /// Someone else changed this member while the import ran; import again.
    ConcurrentChange,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MissingName => "missing_name",
            RejectReason::InvalidName => "invalid_name",
            RejectReason::MissingPhone => "missing_phone",
            RejectReason::InvalidPhone => "invalid_phone",
            RejectReason::DuplicatePhone => "duplicate_phone",
            RejectReason::InvalidGender => "invalid_gender",
            RejectReason::InvalidDate => "invalid_date",
            RejectReason::DateOutOfRange => "date_out_of_range",
            RejectReason::InvalidCategory => "invalid_category",
            RejectReason::InvalidCadre => "invalid_cadre",
            RejectReason::UnknownOrg => "unknown_org",
            RejectReason::AmbiguousOrg => "ambiguous_org",
            RejectReason::OrgCannotHoldMembers => "org_cannot_hold_members",
            RejectReason::OrgRequired => "org_required",
            RejectReason::NotAddable => "member_not_addable",
            RejectReason::ConcurrentChange => "concurrent_change",
        }
    }
}

/// One problem with a row, before it is rendered in the caller's language.
#[derive(Debug, Clone)]
pub struct Problem {
    pub reason: RejectReason,
    /// The column (as the API names it: `phone`, `birth_date`, `org`, …).
    pub column: Option<&'static str>,
    pub message: Text,
}

impl Problem {
    pub fn new(reason: RejectReason, column: Option<&'static str>, message: Text) -> Problem {
        Problem {
            reason,
            column,
            message,
        }
    }
}

/// One problem with a row, as reported.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowProblem {
    pub reason: RejectReason,
    /// `name`, `phone`, `gender`, `birth_date`, `joined_party_on`, `category`, `org`, `cadre`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl RowProblem {
    pub fn render(p: &Problem, lang: Lang) -> RowProblem {
        RowProblem {
            reason: p.reason,
            column: p.column.map(str::to_string),
            message: p.message.get(lang).to_string(),
        }
    }
}

/// The report on one data row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportRowReport {
    /// The line in the file where the row starts (the header is line 1 when it is first).
    pub line: u64,
    pub outcome: RowOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The phone as normalized (11 digits), or as written when it is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The member's user id (absent for rejected rows and for new users on a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The member's home org after the import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<i64>,
    /// For `updated`: what changed (`name`, `gender`, `birth_date`, `category`, `is_cadre`,
    /// `joined_party_on`, `org`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// For `rejected`: the first problem's code (every problem is in `problems`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// For `rejected`: the first problem's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RowProblem>,
    /// For `duplicate_phone`: the earlier line with the same phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of_line: Option<u64>,
}

/// How many rows ended how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportCounts {
    /// Data rows read (blank lines are not rows).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// A recognized column: the header as written and the field it fills.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportColumn {
    pub header: String,
    /// `name`, `phone`, `gender`, `birth_date`, `joined_party_on`, `category`, `org`, `cadre`.
    pub field: String,
}

/// The answer to an import: what was read, the counts, and one entry per data row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// True when nothing was written.
    pub dry_run: bool,
    /// SHA-256 of the uploaded bytes (hex), also in the audit log.
    pub file_sha256: String,
    /// The encoding the file was read in: `utf-8`, `utf-8-bom`, `gb18030`, `utf-16le`,
    /// `utf-16be`.
    pub encoding: String,
    /// The line of the header row.
    pub header_line: u64,
    pub columns: Vec<ImportColumn>,
    /// Headers that were not recognized and were skipped.
    pub ignored_columns: Vec<String>,
    pub counts: ImportCounts,
    /// Every data row in file order.
    pub rows: Vec<ImportRowReport>,
}
