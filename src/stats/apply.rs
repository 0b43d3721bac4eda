//! Statistics as a consumer of the change queue ([`crate::changes`]).
//!
//! [`apply`] takes a chunk of pending changes under the statistics lock, folds them into
//! the sets of members, occurrences and orgs they name, recomputes each of those **once**
//! however many changes name it (64 syncs of one member: one recompute), rebuilds the
//! digests of the orgs whose roll-up rows changed, bumps the version of every org whose
//! figures moved and of its ancestors ([`super::versions`]), and deletes the changes — all
//! in one transaction, so a crash never applies a change twice or loses one.
//!
//! [`catch_up`] is what a statistics read calls first: one indexed probe, and when something
//! is pending it applies everything committed before the read (waiting out an apply in
//! progress on another instance) before the read's own queries run.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::changes::runner::{Instruments, Listener};
use crate::changes::{self, Change, Consumer};
use crate::db::schema::orgs;
use crate::db::{Db, DbConnection};
use crate::error::ApiResult;
use crate::orgs::model::{Org, path_ids, subtree_range};

use super::rollup::{self, Touched};
use super::{digest, totals, versions};

/// The statistics consumer.
pub const LISTENER: Listener = Listener {
    consumer: Consumer::Stats,
    apply,
};

/// Applies at most `limit` pending statistics changes (with ids up to `upto` if given) in
/// the caller's transaction. Returns how many it took.
pub fn apply(conn: &mut DbConnection, limit: usize, upto: Option<i64>) -> ApiResult<usize> {
    changes::lock(conn, Consumer::Stats)?;
    let taken = changes::take(conn, Consumer::Stats, limit, upto)?;
    if taken.ids.is_empty() {
        return Ok(0);
    }
    apply_changes(conn, &taken.changes)?;
    changes::done(conn, &taken.ids)?;
    Ok(taken.ids.len())
}

/// What a chunk of changes asks for, each member, occurrence and org once.
#[derive(Debug, Default)]
struct Work {
    members: BTreeSet<i64>,
    occurrences: BTreeSet<i64>,
    /// Orgs whose digests are rebuilt even if no roll-up row of theirs changed (a rename
    /// changes nothing in them, but a move changes their path).
    digests: Touched,
    /// Paths whose orgs (each org on the path) get a new version.
    paths: BTreeSet<String>,
    /// Paths whose whole subtree gets a new version (settings, assignments and moves change
    /// every figure below).
    subtrees: BTreeSet<String>,
}

fn apply_changes(conn: &mut DbConnection, list: &[Change]) -> ApiResult<()> {
    let mut work = Work::default();
    for change in list {
        fold(conn, *change, &mut work)?;
    }
    let mut touched = work.digests;
    rollup::recompute_members(conn, &work.members, &mut touched)?;
    rollup::recompute_occurrences(conn, &work.occurrences, &mut touched)?;
    let ids: Vec<i64> = touched.keys().copied().collect();
    digest::build(conn, &ids)?;
    totals::update(
        conn,
        &touched.keys().copied().collect(),
        &work.paths,
        &work.subtrees,
    )?;

    let mut bumped: BTreeSet<i64> = BTreeSet::new();
    for path in touched.values().chain(work.paths.iter()) {
        bumped.extend(path_ids(path));
    }
    for path in &work.subtrees {
        bumped.extend(path_ids(path));
        bumped.extend(orgs_under(conn, path)?.into_iter().map(|o| o.id));
    }
    versions::bump(conn, &bumped)
}

/// Adds what `change` asks for to `work`. Changes naming an org that no longer exists ask
/// for nothing (orgs are never deleted today; a later removal records its parent).
fn fold(conn: &mut DbConnection, change: Change, work: &mut Work) -> ApiResult<()> {
    match change {
        Change::Studied { user_id } | Change::Placed { user_id } => {
            work.members.insert(user_id);
        }
        Change::Attended {
            occurrence_id,
            user_id,
        } => {
            work.occurrences.insert(occurrence_id);
            work.members.insert(user_id);
        }
        Change::OccurrenceStarted { occurrence_id }
        | Change::OccurrenceChanged { occurrence_id } => {
            work.occurrences.insert(occurrence_id);
        }
        Change::OrgChanged { org_id } => {
            if let Some(org) = find(conn, org_id)? {
                work.digests.insert(org.id, org.path);
            }
        }
        Change::OrgMoved {
            org_id,
            from_parent,
        } => {
            if let Some(from) = find(conn, from_parent)? {
                work.paths.insert(from.path);
            }
            if let Some(org) = find(conn, org_id)? {
                work.members
                    .extend(rollup::current_members_under(conn, &org.path)?);
                work.occurrences
                    .extend(rollup::occurrences_under(conn, &org.path)?);
                for o in orgs_under(conn, &org.path)? {
                    work.digests.insert(o.id, o.path);
                }
                work.subtrees.insert(org.path);
            }
        }
        Change::SettingsChanged { org_id, zone } => {
            if let Some(org) = find(conn, org_id)? {
                if zone {
                    // A new zone re-dates its members' study into the zone's months.
                    work.members
                        .extend(rollup::current_members_under(conn, &org.path)?);
                }
                work.subtrees.insert(org.path);
            }
        }
        Change::AssignmentChanged { course_id, org_id } => {
            if let Some(org) = find(conn, org_id)? {
                work.members
                    .extend(rollup::completers_under(conn, course_id, &org.path)?);
                work.subtrees.insert(org.path);
            }
        }
    }
    Ok(())
}

fn find(conn: &mut DbConnection, org_id: i64) -> ApiResult<Option<Org>> {
    Ok(orgs::table
        .find(org_id)
        .select(Org::as_select())
        .first(conn)
        .optional()?)
}

fn orgs_under(conn: &mut DbConnection, path: &str) -> ApiResult<Vec<Org>> {
    let (lo, hi) = subtree_range(path);
    Ok(orgs::table
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .select(Org::as_select())
        .load(conn)?)
}

/// Before a statistics read: applies every statistics change committed before this call
/// (one indexed probe when none is pending).
pub async fn catch_up(db: &Db, instruments: &Instruments) -> ApiResult<()> {
    let Some(newest) = db
        .read(|c| changes::newest_pending(c, Consumer::Stats))
        .await?
    else {
        return Ok(());
    };
    changes::runner::drain(db, LISTENER, Some(newest), instruments).await?;
    Ok(())
}

/// [`catch_up`], then the version of `org_id` that cached responses over it are keyed on.
pub async fn fresh_version(db: &Db, instruments: &Instruments, org_id: i64) -> ApiResult<i64> {
    let (pending, version) = db
        .read(move |c| {
            Ok((
                changes::newest_pending(c, Consumer::Stats)?,
                versions::of(c, org_id)?,
            ))
        })
        .await?;
    let Some(newest) = pending else {
        return Ok(version);
    };
    changes::runner::drain(db, LISTENER, Some(newest), instruments).await?;
    db.read(move |c| versions::of(c, org_id)).await
}
