//! Bulk import of the member list a branch secretary exports from Excel.
//!
//! `POST /v1/orgs/{id}/members/import` takes the CSV as a multipart file part or a
//! `text/csv` body and answers a per-row report. The stages, each in its own file:
//!
//! - [`upload`]: the body, streamed with a 20 MiB limit;
//! - [`decode`]: bytes to text (BOM, declared charset, UTF-8, else GB18030);
//! - [`parse`]: CSV records, the header found, blank lines skipped; [`columns`]: the
//!   headers recognized in Chinese or English;
//! - [`values`]: cells to typed values, a row to a checked input or its problems;
//!   [`check`]: every row, and phones repeated in the file;
//! - [`preload`]: the subtree's orgs, existing users and memberships, read in chunks;
//! - [`plan`]: each row's outcome, without writing (all a dry run does);
//! - [`apply`]: the batch write (multi-row inserts and updates through `db::sql`);
//! - [`report`]: counts, per-row report, audit details; [`pipeline`] strings them together.
//!
//! It does not own members (see [`crate::orgs::members`]) or authorization
//! ([`crate::orgs::access::authorize`], `Administer` on the org).

pub mod apply;
pub mod bulk;
pub mod check;
pub mod columns;
pub mod decode;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod plan;
pub mod preload;
pub mod report;
pub mod routes;
pub mod upload;
pub mod values;

/// Mounts the import route.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::import_members);
}
