//! Activities: the theme party day, the "three meetings and one lesson", mini party classes
//! and other organizational life on the calendar.
//!
//! An activity is a one-off or a series (an RFC 5545 RRULE with a local DTSTART and the
//! org's TZID, [`recurrence`]); its occurrences are rows, materialized a year ahead
//! ([`materialize`]) and regenerated when the series changes without touching those held,
//! moved or cancelled on their own ([`regenerate`], [`exceptions`]). Invitees are live
//! until an occurrence starts and frozen then ([`invitees`]). Members see their calendar
//! and subscribe to an iCalendar feed ([`views`], [`calendar`], [`ics`]); they check in
//! with a rotating code ([`checkin_code`], [`session`], [`checkin`]) and ask for leave
//! ([`leave`]); organizers record proxy attendance, correct records, write minutes
//! and record guests ([`attendance`], [`minutes`], [`guests`]). An absence is made up by completing the linked course
//! ([`makeup`], called by progress sync).
//!
//! It does not own statistics (compliance, rates) nor media uploads.

pub mod access;
pub mod attendance;
pub mod auto_close;
pub mod calendar;
pub mod checkin;
pub mod checkin_code;
pub mod checkin_routes;
pub mod demo;
pub mod exceptions;
pub mod guest_routes;
pub mod guests;
pub mod ics;
pub mod invitees;
pub mod kind;
pub mod leave;
pub mod leave_routes;
pub mod live;
pub mod live_routes;
pub mod makeup;
pub mod materialize;
pub mod me_routes;
pub mod media_use;
pub mod minutes;
pub mod model;
pub mod occurrence_routes;
pub mod record;
pub mod record_pdf;
pub mod record_xlsx;
pub mod recurrence;
pub mod regenerate;
pub mod routes;
pub mod schedule;
pub mod schedule_routes;
pub mod session;
pub mod start;
pub mod views;
