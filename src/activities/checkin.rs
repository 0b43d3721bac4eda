//! A member checking in with the rotating code, always for themself.
//!
//! The checks run first on a reader connection ([`prepare`]): the occurrence is visible
//! to the caller, not cancelled, check-in open, the code current, the phone inside the
//! radius when the activity has a location, the caller invited. The write
//! ([`apply`]) is short: it re-checks that check-in is still open with a conditional
//! update (which also orders it against a concurrent close on PostgreSQL), freezes the
//! invitees once the occurrence has started, and inserts the record once — a repeated
//! check-in returns the first one with `already: true`.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::access::{self, OccurrenceCtx};
use super::attendance::{self, Record};
use super::checkin_code;
use super::invitees;
use super::model::{
    AttendanceSource, AttendanceStatus, CheckinRequest, CheckinResult, CheckinState,
};
use super::session::CodeSettings;
use crate::db::DbConnection;
use crate::db::schema::activity_occurrences as ao;
use crate::error::{ApiError, ApiResult, ErrorCode, Text};
use crate::orgs::access::Right;

/// Mean Earth radius in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two WGS-84 points (haversine).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// What the write needs from the checks.
pub enum Prepared {
    /// Checked in before: answer with the first record, write nothing.
    Already(CheckinResult),
    Fresh {
        ctx: Box<OccurrenceCtx>,
        status: AttendanceStatus,
        distance_m: Option<i32>,
    },
}

fn check_location(ctx: &OccurrenceCtx, req: &CheckinRequest) -> ApiResult<Option<i32>> {
    let Some(place) = ctx.activity.details().location else {
        return Ok(None);
    };
    let (Some(lat), Some(lon)) = (req.latitude, req.longitude) else {
        return Err(ApiError::invalid_field(
            "latitude",
            "required",
            Text::new(
                "本次活动需要定位签到，请允许获取位置",
                "This activity needs your location to check in",
            ),
        ));
    };
    if !(lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon))
    {
        return Err(ApiError::invalid_field(
            "latitude",
            "out_of_range",
            Text::new("坐标不合理", "Coordinates out of range"),
        ));
    }
    let d = distance_m(place.latitude, place.longitude, lat, lon);
    if d > f64::from(place.radius_m) {
        return Err(ApiError::new(ErrorCode::CheckinOutOfRange).with_detail(
            format!(
                "距活动地点约 {} 米，需在 {} 米以内",
                d.round(),
                place.radius_m
            ),
            format!(
                "About {} m from the place; check-in needs {} m or less",
                d.round(),
                place.radius_m
            ),
        ));
    }
    Ok(Some(d.round() as i32))
}

fn result_of(
    occurrence_id: i64,
    row: &super::model::AttendanceRow,
    already: bool,
) -> ApiResult<CheckinResult> {
    Ok(CheckinResult {
        occurrence_id,
        status: AttendanceStatus::from_db(&row.status)?,
        checked_in_at: row.checked_in_at.map(|t| t.and_utc()),
        already,
    })
}

/// The checks, on a reader connection.
pub fn prepare(
    conn: &mut DbConnection,
    settings: &CodeSettings,
    grace: Duration,
    now: DateTime<Utc>,
    user_id: i64,
    occurrence_id: i64,
    req: &CheckinRequest,
) -> ApiResult<Prepared> {
    let ctx = access::occurrence(conn, user_id, occurrence_id, Right::View)?;
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    if let Some(row) = attendance::find(conn, ctx.occ.id, user_id)?
        && AttendanceStatus::parse(&row.status)
            .is_some_and(|s| s.attended() || s == AttendanceStatus::MadeUp)
    {
        return Ok(Prepared::Already(result_of(ctx.occ.id, &row, true)?));
    }
    if ctx.occ.checkin() != CheckinState::Open {
        return Err(ApiError::new(ErrorCode::CheckinNotOpen));
    }
    let key = settings.key(&ctx.occ.checkin_secret);
    if !checkin_code::verify(&key, &req.code, now.timestamp(), settings.step_secs) {
        return Err(ApiError::new(ErrorCode::CheckinCodeInvalid));
    }
    let distance_m = check_location(&ctx, req)?;
    if !invitees::contains(conn, &ctx.occ, &ctx.activity, &ctx.org, user_id)? {
        return Err(ApiError::new(ErrorCode::NotInvited));
    }
    let status = if now.naive_utc() > ctx.occ.starts_at + grace {
        AttendanceStatus::Late
    } else {
        AttendanceStatus::Present
    };
    Ok(Prepared::Fresh {
        ctx: Box::new(ctx),
        status,
        distance_m,
    })
}

/// The write, in one short transaction.
pub fn apply(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    user_id: i64,
    prepared: Prepared,
) -> ApiResult<CheckinResult> {
    let (mut ctx, status, distance_m) = match prepared {
        Prepared::Already(result) => return Ok(result),
        Prepared::Fresh {
            ctx,
            status,
            distance_m,
        } => (ctx, status, distance_m),
    };
    let stamp = now.naive_utc();
    let still_open = diesel::update(
        ao::table
            .find(ctx.occ.id)
            .filter(ao::checkin_state.eq(CheckinState::Open.as_str())),
    )
    // Takes the row lock that orders this against a close, and marks the occurrence held
    // (a no-op after the first check-in) in the same statement.
    .set((
        ao::checkin_state.eq(ao::checkin_state),
        ao::held_at.eq(crate::db::sql::coalesce_timestamp(ao::held_at, stamp).nullable()),
    ))
    .execute(conn)?;
    if still_open == 0 {
        return Err(ApiError::new(ErrorCode::CheckinNotOpen));
    }
    invitees::freeze_if_due(conn, &mut ctx.occ, &ctx.activity, &ctx.org, stamp, false)?;
    let record = Record {
        status,
        source: AttendanceSource::Checkin,
        checked_in_at: Some(stamp),
        distance_m,
        reason: None,
        recorded_by: None,
    };
    if attendance::insert_new(conn, ctx.occ.id, user_id, &record, stamp)? {
        attendance::record_change(conn, stamp, ctx.occ.id, &[user_id])?;
        return Ok(CheckinResult {
            occurrence_id: ctx.occ.id,
            status,
            checked_in_at: Some(now),
            already: false,
        });
    }
    let existing = attendance::find(conn, ctx.occ.id, user_id)?.ok_or_else(ApiError::not_found)?;
    match AttendanceStatus::from_db(&existing.status)? {
        // Leave was approved (or a correction said absent), and the member came after all.
        AttendanceStatus::Leave | AttendanceStatus::Absent => {
            attendance::set(conn, ctx.occ.id, user_id, &record, stamp)?;
            attendance::record_change(conn, stamp, ctx.occ.id, &[user_id])?;
            Ok(CheckinResult {
                occurrence_id: ctx.occ.id,
                status,
                checked_in_at: Some(now),
                already: false,
            })
        }
        _ => result_of(ctx.occ.id, &existing, true),
    }
}

#[cfg(test)]
mod tests {
    use super::distance_m;

    #[test]
    fn distances_on_the_ground() {
        // One thousandth of a degree of latitude is about 111 m.
        let d = distance_m(28.0, 112.0, 28.001, 112.0);
        assert!((d - 111.2).abs() < 0.5, "{d}");
        assert_eq!(distance_m(28.0, 112.0, 28.0, 112.0), 0.0);
        // Changsha to Beijing, about 1340 km.
        let far = distance_m(28.228, 112.939, 39.904, 116.407);
        assert!((1_300_000.0..1_400_000.0).contains(&far), "{far}");
    }
}
