//! The change queue: the one way features say what changed, and the one way listeners
//! (statistics today, pushes next) learn it.
//!
//! A write path calls [`record`] inside its own transaction with the [`Change`]s it made,
//! named in domain words and carrying keys only (listeners recompute from the raw rows).
//! [`record`] writes one row per [`Consumer`] in one multi-row insert, so the change commits
//! or rolls back with the write that made it: nothing is lost in a crash, nothing is
//! announced that did not happen. Write paths record in feature logic, never in a handler,
//! and only when something a consumer reads changed.
//!
//! A consumer [`take`]s its own rows and deletes them with [`done`] in the transaction that
//! applies them — not an id cursor: on PostgreSQL sequence ids commit out of order, so
//! "everything after id N" would skip a row whose transaction committed late. A crash
//! therefore never applies a change twice or loses one. [`lock`] serializes a consumer's
//! transactions across instances (it waits; it never skips rows another instance holds, so
//! a read that must see every committed change waits out an apply in progress).
//! [`runner`] applies pending changes in the background.
//!
//! This module stands on `db` and `error` only; it names no feature.

pub mod runner;

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::changes;
use crate::error::ApiResult;

/// Changes per consumer transaction: the single SQLite writer is never held for long.
pub const CHUNK: usize = 500;

/// Rows per multi-row insert (six columns each, well under every bind limit).
const INSERT_ROWS: usize = 500;

/// What happened, in domain words. Keys only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// A member's study changed what is counted: a lesson started or completed, credit
    /// granted, a quiz passed, a course completed.
    Studied { user_id: i64 },
    /// A member was placed, moved or left, or their name, status, category or cadre flag
    /// changed.
    Placed { user_id: i64 },
    /// A member's attendance record at an occurrence changed (check-in, proxy, leave,
    /// correction, make-up).
    Attended { occurrence_id: i64, user_id: i64 },
    /// An occurrence started: its invitees are frozen and it counts from now on.
    OccurrenceStarted { occurrence_id: i64 },
    /// An occurrence moved, was closed, cancelled or restored.
    OccurrenceChanged { occurrence_id: i64 },
    /// An org was created or renamed (`org_id`: the org), or removed (`org_id`: its parent).
    OrgChanged { org_id: i64 },
    /// An org moved, with its subtree, from under `from_parent`.
    OrgMoved { org_id: i64, from_parent: i64 },
    /// An org's settings changed; `zone` when its time zone did.
    SettingsChanged { org_id: i64, zone: bool },
    /// An assignment of a course to an org was made, changed or revoked.
    AssignmentChanged { course_id: i64, org_id: i64 },
}

impl Change {
    /// The stored form: kind, subject, object.
    fn to_row(self) -> (&'static str, i64, Option<i64>) {
        match self {
            Change::Studied { user_id } => ("studied", user_id, None),
            Change::Placed { user_id } => ("placed", user_id, None),
            Change::Attended {
                occurrence_id,
                user_id,
            } => ("attended", occurrence_id, Some(user_id)),
            Change::OccurrenceStarted { occurrence_id } => {
                ("occurrence_started", occurrence_id, None)
            }
            Change::OccurrenceChanged { occurrence_id } => {
                ("occurrence_changed", occurrence_id, None)
            }
            Change::OrgChanged { org_id } => ("org_changed", org_id, None),
            Change::OrgMoved {
                org_id,
                from_parent,
            } => ("org_moved", org_id, Some(from_parent)),
            Change::SettingsChanged { org_id, zone } => {
                ("settings_changed", org_id, Some(i64::from(zone)))
            }
            Change::AssignmentChanged { course_id, org_id } => {
                ("assignment_changed", course_id, Some(org_id))
            }
        }
    }

    /// The change a stored row names (`None` for a kind this build does not know).
    fn from_row(kind: &str, subject: i64, object: Option<i64>) -> Option<Change> {
        let object = || object;
        Some(match kind {
            "studied" => Change::Studied { user_id: subject },
            "placed" => Change::Placed { user_id: subject },
            "attended" => Change::Attended {
                occurrence_id: subject,
                user_id: object()?,
            },
            "occurrence_started" => Change::OccurrenceStarted {
                occurrence_id: subject,
            },
            "occurrence_changed" => Change::OccurrenceChanged {
                occurrence_id: subject,
            },
            "org_changed" => Change::OrgChanged { org_id: subject },
            "org_moved" => Change::OrgMoved {
                org_id: subject,
                from_parent: object()?,
            },
            "settings_changed" => Change::SettingsChanged {
                org_id: subject,
                zone: object()? != 0,
            },
            "assignment_changed" => Change::AssignmentChanged {
                course_id: subject,
                org_id: object()?,
            },
            _ => return None,
        })
    }
}

/// Who consumes changes. Every change is recorded once for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consumer {
    /// The statistics roll-ups, digests and cache versions.
    Stats,
    /// Event alerts to organizers' push channels (an occurrence's check-in closed).
    Push,
}

impl Consumer {
    pub const ALL: &'static [Consumer] = &[Consumer::Stats, Consumer::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Consumer::Stats => "stats",
            Consumer::Push => "push",
        }
    }

    /// Whether this consumer is told of `change` (statistics read everything; pushes only
    /// what an alert is about, so the queue does not grow with changes nobody reads).
    pub fn wants(self, change: &Change) -> bool {
        match self {
            Consumer::Stats => true,
            Consumer::Push => matches!(change, Change::OccurrenceChanged { .. }),
        }
    }
}

/// Records `changes` (duplicates once) for every consumer, in the caller's transaction.
pub fn record(conn: &mut DbConnection, at: NaiveDateTime, changes: &[Change]) -> ApiResult<()> {
    let distinct: BTreeSet<Change> = changes.iter().copied().collect();
    if distinct.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = Consumer::ALL
        .iter()
        .flat_map(|consumer| {
            distinct
                .iter()
                .filter(|c| consumer.wants(c))
                .map(move |change| {
                    let (kind, subject, object) = change.to_row();
                    (
                        changes::consumer.eq(consumer.as_str()),
                        changes::kind.eq(kind),
                        changes::subject.eq(subject),
                        changes::object.eq(object),
                        changes::recorded_at.eq(at),
                    )
                })
        })
        .collect();
    for chunk in rows.chunks(INSERT_ROWS) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(changes::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Changes taken by a consumer: the row ids to delete once applied, and the changes they
/// name (rows of a kind this build does not know are in `ids` only, and logged).
#[derive(Debug, Default)]
pub struct Taken {
    pub ids: Vec<i64>,
    pub changes: Vec<Change>,
}

/// The consumer's oldest pending changes, at most `limit`, with ids up to `upto` if given.
/// Call under [`lock`], in the transaction that applies them and calls [`done`].
pub fn take(
    conn: &mut DbConnection,
    consumer: Consumer,
    limit: usize,
    upto: Option<i64>,
) -> ApiResult<Taken> {
    let rows: Vec<(i64, String, i64, Option<i64>)> = changes::table
        .filter(changes::consumer.eq(consumer.as_str()))
        .filter(changes::id.le(upto.unwrap_or(i64::MAX)))
        .select((
            changes::id,
            changes::kind,
            changes::subject,
            changes::object,
        ))
        .order(changes::id.asc())
        .limit(limit as i64)
        .load(conn)?;
    let mut taken = Taken::default();
    for (id, kind, subject, object) in rows {
        taken.ids.push(id);
        match Change::from_row(&kind, subject, object) {
            Some(change) => taken.changes.push(change),
            None => tracing::warn!(id, kind, "change of an unknown kind skipped"),
        }
    }
    Ok(taken)
}

/// Deletes applied changes (in the transaction that applied them).
pub fn done(conn: &mut DbConnection, ids: &[i64]) -> ApiResult<()> {
    for chunk in ids.chunks(CHUNK) {
        diesel::delete(changes::table.filter(changes::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

/// Deletes `consumer`'s changes up to `upto` unapplied (a full rebuild subsumes them).
pub fn discard(conn: &mut DbConnection, consumer: Consumer, upto: i64) -> ApiResult<usize> {
    Ok(diesel::delete(
        changes::table
            .filter(changes::consumer.eq(consumer.as_str()))
            .filter(changes::id.le(upto)),
    )
    .execute(conn)?)
}

/// The newest pending change of `consumer` (one indexed probe): everything committed before
/// this call has an id up to it.
pub fn newest_pending(conn: &mut DbConnection, consumer: Consumer) -> ApiResult<Option<i64>> {
    Ok(changes::table
        .filter(changes::consumer.eq(consumer.as_str()))
        .select(diesel::dsl::max(changes::id))
        .first::<Option<i64>>(conn)?)
}

/// How many changes each consumer has pending, and when the oldest was recorded.
pub fn backlog(conn: &mut DbConnection) -> ApiResult<Vec<(Consumer, i64, Option<NaiveDateTime>)>> {
    let mut out = Vec::new();
    for consumer in Consumer::ALL {
        let (count, oldest): (i64, Option<NaiveDateTime>) = changes::table
            .filter(changes::consumer.eq(consumer.as_str()))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(changes::recorded_at),
            ))
            .first(conn)?;
        out.push((*consumer, count, oldest));
    }
    Ok(out)
}

/// Serializes `consumer`'s transactions across instances: waits (never skips) until no
/// other transaction holds it, and holds it until this transaction ends. On SQLite the one
/// writer connection already serializes them.
pub fn lock(conn: &mut DbConnection, consumer: Consumer) -> ApiResult<()> {
    Ok(crate::db::sql::transaction_lock(
        conn,
        &format!("dangke.changes.{}", consumer.as_str()),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_survives_its_stored_form() {
        let all = [
            Change::Studied { user_id: 7 },
            Change::Placed { user_id: 8 },
            Change::Attended {
                occurrence_id: 3,
                user_id: 9,
            },
            Change::OccurrenceStarted { occurrence_id: 4 },
            Change::OccurrenceChanged { occurrence_id: 5 },
            Change::OrgChanged { org_id: 6 },
            Change::OrgMoved {
                org_id: 6,
                from_parent: 2,
            },
            Change::SettingsChanged {
                org_id: 6,
                zone: true,
            },
            Change::SettingsChanged {
                org_id: 6,
                zone: false,
            },
            Change::AssignmentChanged {
                course_id: 11,
                org_id: 6,
            },
        ];
        for change in all {
            let (kind, subject, object) = change.to_row();
            assert_eq!(Change::from_row(kind, subject, object), Some(change));
        }
        assert_eq!(Change::from_row("later_kind", 1, None), None);
        assert_eq!(Change::from_row("attended", 1, None), None);
    }
}
