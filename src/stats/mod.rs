//! Statistics for organizers: org summaries rolled up over the subtree, the ranking of
//! child orgs, the member table, course funnels, meeting-frequency compliance and their
//! Excel/CSV exports.
//!
//! Owns the roll-up tables ([`rollup`]) that the write paths of progress, activities and
//! orgs keep current in their own transactions; reads use only those, memberships and orgs,
//! never the event tables; [`digest`] packs them per org for county-wide reads. Does not own any of the raw data it summarises.

pub mod cache;
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
pub mod rollup;
pub mod routes;
pub mod summary;
