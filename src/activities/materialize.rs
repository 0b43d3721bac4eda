//! Occurrences as rows: inserting a series' occurrences up to a year ahead, extending the
//! horizon when it runs short (lazily, when a calendar read finds it stale), and applying
//! a regeneration plan after an edit.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::checkin_code::new_secret;
use super::model::{Activity, CheckinState, Occurrence, OccurrenceStatus};
use super::recurrence::Rule;
use super::regenerate::{self, Existing, Plan};
use crate::db::DbConnection;
use crate::db::schema::{activities, activity_occurrences as ao};
use crate::error::{ApiError, ApiResult};

/// Occurrences exist as rows this far ahead.
pub const HORIZON_DAYS: i64 = 365;
/// A horizon closer than a year minus this is extended.
const REFRESH_DAYS: i64 = 30;
/// How far back a newly scheduled series is materialized (recording past meetings).
const PAST_DAYS: i64 = 365;

/// The stored schedule of an activity as a rule.
pub fn rule_of(activity: &Activity) -> ApiResult<Rule> {
    Rule::parse(
        activity.tz(),
        activity.dtstart_local,
        activity.rrule.as_deref(),
    )
    .map_err(|e| {
        ApiError::internal(anyhow::anyhow!(
            "activity {} has an unusable schedule: {e:?}",
            activity.id
        ))
    })
}

/// The horizon for a materialization at `now`.
pub fn horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(HORIZON_DAYS)
}

/// Inserts occurrences at `starts` (those already there are skipped).
fn insert_starts(
    conn: &mut DbConnection,
    activity: &Activity,
    starts: &[DateTime<Utc>],
    now: NaiveDateTime,
) -> ApiResult<usize> {
    let duration = Duration::minutes(i64::from(activity.duration_min));
    let mut inserted = 0;
    for chunk in starts.chunks(100) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|s| {
                let s = s.naive_utc();
                (
                    ao::activity_id.eq(activity.id),
                    ao::org_id.eq(activity.org_id),
                    ao::original_start.eq(s),
                    ao::starts_at.eq(s),
                    ao::ends_at.eq(s + duration),
                    ao::status.eq(OccurrenceStatus::Scheduled.as_str()),
                    ao::is_exception.eq(false),
                    ao::sequence.eq(0),
                    ao::checkin_state.eq(CheckinState::NotOpen.as_str()),
                    ao::checkin_secret.eq(new_secret()),
                    ao::updated_at.eq(now),
                )
            })
            .collect();
        inserted += crate::insert_ignore!(conn, ao::table, &rows)?;
    }
    Ok(inserted)
}

/// Materializes a new activity: its occurrences from its start (at most a year back) to
/// the horizon.
pub fn initial(
    conn: &mut DbConnection,
    activity: &Activity,
    rule: &Rule,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    let until = horizon(now);
    let from = rule.first_start().max(now - Duration::days(PAST_DAYS));
    let starts = rule.starts_between(from, until);
    let n = insert_starts(conn, activity, &starts, now.naive_utc())?;
    set_horizon(conn, activity.id, until)?;
    Ok(n)
}

fn set_horizon(conn: &mut DbConnection, id: i64, until: DateTime<Utc>) -> ApiResult<()> {
    diesel::update(activities::table.find(id))
        .set(activities::materialized_until.eq(until.naive_utc()))
        .execute(conn)?;
    Ok(())
}

/// Series among `org_ids`' activities whose horizon is stale (a read query).
pub fn stale(conn: &mut DbConnection, org_ids: &[i64], now: DateTime<Utc>) -> ApiResult<Vec<i64>> {
    let limit = (now + Duration::days(HORIZON_DAYS - REFRESH_DAYS)).naive_utc();
    Ok(activities::table
        .filter(activities::org_id.eq_any(org_ids))
        .filter(activities::rrule.is_not_null())
        .filter(activities::ended_at.is_null())
        .filter(activities::materialized_until.lt(limit))
        .select(activities::id)
        .load(conn)?)
}

/// Extends the horizon of the given series to a year from `now`. Idempotent.
pub fn extend(conn: &mut DbConnection, ids: &[i64], now: DateTime<Utc>) -> ApiResult<usize> {
    let rows: Vec<Activity> = activities::table
        .filter(activities::id.eq_any(ids))
        .filter(activities::ended_at.is_null())
        .select(Activity::as_select())
        .load(conn)?;
    let until = horizon(now);
    let mut n = 0;
    for activity in rows {
        let from = activity.materialized_until.and_utc();
        if from >= until {
            continue;
        }
        let rule = rule_of(&activity)?;
        n += insert_starts(
            conn,
            &activity,
            &rule.starts_between(from, until),
            now.naive_utc(),
        )?;
        set_horizon(conn, activity.id, until)?;
    }
    Ok(n)
}

/// What regeneration did, for the audit log.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Regenerated {
    pub kept: usize,
    pub moved: usize,
    pub removed: usize,
    pub added: usize,
}

/// Regenerates the occurrences of an edited activity (see [`regenerate`]).
pub fn regenerate(
    conn: &mut DbConnection,
    activity: &Activity,
    now: DateTime<Utc>,
) -> ApiResult<Regenerated> {
    let rule = rule_of(activity)?;
    let rows: Vec<Occurrence> = ao::table
        .filter(ao::activity_id.eq(activity.id))
        .select(Occurrence::as_select())
        .load(conn)?;
    let existing: Vec<Existing> = rows
        .iter()
        .map(|o| Existing {
            id: o.id,
            original_start: o.original_start.and_utc(),
            starts_at: o.starts_at.and_utc(),
            held: o.held_at.is_some(),
            exception: o.is_exception,
        })
        .collect();
    let until = horizon(now);
    let starts = rule.starts_between(now, until);
    let plan: Plan = regenerate::plan(&existing, &starts, now, rule.tz, !rule.is_series());
    let stamp = now.naive_utc();
    let duration = Duration::minutes(i64::from(activity.duration_min));
    for (id, start) in &plan.update {
        let s = start.naive_utc();
        diesel::update(ao::table.find(id))
            .set((
                ao::original_start.eq(s),
                ao::starts_at.eq(s),
                ao::ends_at.eq(s + duration),
                ao::sequence.eq(ao::sequence + 1),
                ao::updated_at.eq(stamp),
            ))
            .execute(conn)?;
    }
    if !plan.delete.is_empty() {
        diesel::delete(ao::table.filter(ao::id.eq_any(&plan.delete))).execute(conn)?;
    }
    // Future exceptions keep their time and status; their calendar entries still change
    // (title, place, agenda come from the activity).
    let future_fixed: Vec<i64> = existing
        .iter()
        .filter(|e| e.starts_at > now && !e.held && plan.fixed.contains(&e.id))
        .map(|e| e.id)
        .collect();
    if !future_fixed.is_empty() {
        diesel::update(ao::table.filter(ao::id.eq_any(&future_fixed)))
            .set((ao::sequence.eq(ao::sequence + 1), ao::updated_at.eq(stamp)))
            .execute(conn)?;
    }
    let added = insert_starts(conn, activity, &plan.insert, stamp)?;
    set_horizon(conn, activity.id, until)?;
    Ok(Regenerated {
        kept: plan.fixed.len(),
        moved: plan.update.len(),
        removed: plan.delete.len(),
        added,
    })
}

/// Extends the stale series of `org_ids` before a calendar read (one read query; a write
/// only when a horizon is short).
pub async fn ensure_horizon(
    state: &crate::state::AppState,
    org_ids: Vec<i64>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if org_ids.is_empty() {
        return Ok(());
    }
    let ids = state.db.read(move |c| stale(c, &org_ids, now)).await?;
    if !ids.is_empty() {
        state.db.write(move |c| extend(c, &ids, now)).await?;
    }
    Ok(())
}
