//! Exceptions on one occurrence: moving it to another time (and place) or cancelling it.
//! Either marks the row as an exception, which regeneration of the series leaves alone,
//! and bumps its calendar SEQUENCE. An occurrence with attendance recorded is held and can
//! no longer be moved or cancelled.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::access::OccurrenceCtx;
use super::model::{MoveOccurrenceRequest, Occurrence, OccurrenceStatus};
use super::schedule::local_span;
use crate::db::DbConnection;
use crate::db::schema::activity_occurrences as ao;
use crate::error::{ApiError, ApiResult, ErrorCode};

fn changeable(occ: &Occurrence) -> ApiResult<()> {
    if occ.held_at.is_some() {
        return Err(ApiError::new(ErrorCode::OccurrenceHeld));
    }
    if occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    Ok(())
}

/// Moves one occurrence; returns the updated row.
pub fn move_one(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &OccurrenceCtx,
    req: &MoveOccurrenceRequest,
) -> ApiResult<Occurrence> {
    changeable(&ctx.occ)?;
    let (start, end) = local_span(ctx.activity.tz(), req.start_local, req.end_local)?;
    let place = req
        .place
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    if place.as_deref().is_some_and(|p| p.chars().count() > 200) {
        return Err(ApiError::invalid_field(
            "place",
            "invalid_length",
            crate::error::Text::new(
                "地点不能超过 200 字",
                "The place must be at most 200 characters",
            ),
        ));
    }
    diesel::update(ao::table.find(ctx.occ.id))
        .set((
            ao::starts_at.eq(start.naive_utc()),
            ao::ends_at.eq(end.naive_utc()),
            ao::place.eq(place.or_else(|| ctx.occ.place.clone())),
            ao::is_exception.eq(true),
            ao::sequence.eq(ao::sequence + 1),
            ao::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    crate::changes::record(
        conn,
        now.naive_utc(),
        &[crate::changes::Change::OccurrenceChanged {
            occurrence_id: ctx.occ.id,
        }],
    )?;
    super::access::find_occurrence(conn, ctx.occ.id)
}

/// Cancels one occurrence; cancelling it again changes nothing.
pub fn cancel_one(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &OccurrenceCtx,
    reason: Option<&str>,
) -> ApiResult<Occurrence> {
    if ctx.occ.is_cancelled() {
        return Ok(ctx.occ.clone());
    }
    changeable(&ctx.occ)?;
    diesel::update(ao::table.find(ctx.occ.id))
        .set((
            ao::status.eq(OccurrenceStatus::Cancelled.as_str()),
            ao::cancel_reason.eq(reason.map(str::trim).filter(|r| !r.is_empty())),
            ao::is_exception.eq(true),
            ao::sequence.eq(ao::sequence + 1),
            ao::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    crate::changes::record(
        conn,
        now.naive_utc(),
        &[crate::changes::Change::OccurrenceChanged {
            occurrence_id: ctx.occ.id,
        }],
    )?;
    super::access::find_occurrence(conn, ctx.occ.id)
}
