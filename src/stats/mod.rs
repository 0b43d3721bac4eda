//! Statistics for organizers: org summaries rolled up over the subtree, the ranking of
//! child orgs, the member table, course funnels, meeting-frequency compliance and their
//! Excel/CSV exports, and the digest pushed to organizers with its bar chart (PNG).
//!
//! Statistics own the roll-up tables ([`rollup`]), the org digests built from them
//! ([`digest`]) and the per-org versions cached responses are keyed on ([`versions`]). No
//! feature calls in here: write paths record what changed in the change queue
//! ([`crate::changes`]), and statistics consume it ([`apply`]) — in the background and
//! before every read, so a read sees every committed write. Reads use the roll-ups,
//! digests, memberships and orgs, never the event tables. Statistics own none of the raw
//! data they summarise.

pub mod apply;
pub mod cache;
pub mod chart;
pub mod chart_data;
pub mod chart_url;
pub mod children;
pub mod compliance;
pub mod context;
pub mod digest;
pub mod digest_codec;
pub mod export;
pub mod funnel;
pub mod generate;
pub mod members;
pub mod period;
pub mod report;
pub mod report_render;
pub mod rollup;
pub mod routes;
pub mod summary;
pub mod totals;
pub mod totals_read;
pub mod versions;
