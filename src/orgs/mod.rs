//! Organizations, members and scoped access: the tree from county committee to party
//! group, per-org settings inherited down it, memberships with history, roles, and the
//! one authorization function every feature calls ([`access::authorize`]).

pub mod access;
pub mod audit_log;
pub mod demo;
pub mod identity;
pub mod import;
pub mod member_routes;
pub mod members;
pub mod model;
pub mod roles;
pub mod routes;
pub mod settings;
pub mod tree;
