//! One integration binary: every test starts the real server and drives it over HTTP.
//! Run twice by `scripts/test`: on SQLite + in-process kv, and on PostgreSQL + Redis.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod helpers;

mod account_care;
mod activities;
mod activities_walk;
mod audit;
mod auth;
mod authz_matrix;
mod changes;
mod chart;
mod checkin_auto_close;
mod classes_walk;
mod compliance_applies;
mod console_classes;
mod console_dashboard;
mod console_meetings;
mod console_members;
mod console_pushes;
mod console_shell;
mod courses;
mod demo;
mod digest;
mod errors;
mod floors;
mod foundation;
mod generate;
mod housekeeping;
mod idempotency;
mod identity_matrix;
mod import;
mod kv;
mod live_board;
mod me_snapshot;
mod media;
mod meeting_minutes;
mod meeting_record;
mod meeting_records;
mod ops;
mod org_totals;
mod orgs;
mod orgs_walk;
mod payloads;
mod process_smoke;
mod progress;
mod push;
mod push_process;
mod push_receivers_selftest;
mod push_reminders;
mod quizzes;
mod read_replica;
mod scale_out;
mod security;
mod statements;
mod stats;
mod stats_export;
mod stats_rebuild;
mod study_integrity;
mod sync_process;
mod weak_network;
mod wechat;
