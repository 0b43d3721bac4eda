//! What members and organizers read: activities, occurrences, my calendar (the
//! occurrences I am invited to, with my status) and an occurrence's detail.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::access::OccurrenceCtx;
use super::invitees::COMMITTEE_ROLES;
use super::model::{
    Activity, ActivityKind, ActivityView, AttendanceRow, AttendanceStatus, LeaveRow, LeaveView,
    MyAttendance, MyOccurrence, Occurrence, OccurrenceDetail, OccurrenceStatus, OccurrenceView,
};
use super::recurrence::utc_to_local;
use super::{attendance, invitees, leave, minutes};
use crate::db::DbConnection;
use crate::db::schema::{
    activities, activity_attendance as aa, activity_invitees as ai, activity_leaves as al,
    activity_occurrences as ao, memberships, org_roles, orgs,
};
use crate::error::ApiResult;
use crate::orgs::model::{MemberStatus, path_ids};

pub fn activity_view(a: &Activity) -> ApiResult<ActivityView> {
    let d = a.details();
    Ok(ActivityView {
        id: a.id,
        org_id: a.org_id,
        kind: ActivityKind::from_db(&a.kind)?,
        title: a.title.clone(),
        agenda: d.agenda,
        place: d.place,
        location: d.location,
        online_url: d.online_url,
        course_id: a.course_id,
        audience: a.audience(),
        time_zone: a.time_zone.clone(),
        start_local: a.dtstart_local,
        end_local: a.dtstart_local + Duration::minutes(i64::from(a.duration_min)),
        rrule: a.rrule.clone(),
        credit_centi: a.credit_centi,
        makeup_window_days: a.makeup_window_days,
        ended: a.ended_at.is_some(),
        created_at: a.created_at.and_utc(),
        updated_at: a.updated_at.and_utc(),
    })
}

pub fn occurrence_view(
    o: &Occurrence,
    a: &Activity,
    has_minutes: bool,
) -> ApiResult<OccurrenceView> {
    let tz = a.tz();
    Ok(OccurrenceView {
        id: o.id,
        activity_id: a.id,
        org_id: o.org_id,
        kind: ActivityKind::from_db(&a.kind)?,
        title: a.title.clone(),
        place: o.place.clone().or_else(|| a.details().place),
        starts_at: o.starts_at.and_utc(),
        ends_at: o.ends_at.and_utc(),
        time_zone: a.time_zone.clone(),
        local_start: utc_to_local(tz, o.starts_at.and_utc()),
        local_end: utc_to_local(tz, o.ends_at.and_utc()),
        status: OccurrenceStatus::from_db(&o.status)?,
        is_exception: o.is_exception,
        original_start: o.original_start.and_utc(),
        cancel_reason: o.cancel_reason.clone(),
        sequence: o.sequence,
        checkin: o.checkin(),
        held: o.held_at.is_some(),
        has_minutes,
    })
}

/// Occurrences of one activity starting in `[from, to)`.
pub fn occurrences_of(
    conn: &mut DbConnection,
    a: &Activity,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<OccurrenceView>> {
    let rows: Vec<Occurrence> = ao::table
        .filter(ao::activity_id.eq(a.id))
        .filter(ao::starts_at.ge(from.naive_utc()))
        .filter(ao::starts_at.lt(to.naive_utc()))
        .order(ao::starts_at.asc())
        .select(Occurrence::as_select())
        .load(conn)?;
    occurrence_views(conn, &rows, a)
}

/// Views of several occurrences of one activity.
pub fn occurrence_views(
    conn: &mut DbConnection,
    rows: &[Occurrence],
    a: &Activity,
) -> ApiResult<Vec<OccurrenceView>> {
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    let with_minutes = minutes::among(conn, &ids)?;
    rows.iter()
        .map(|o| occurrence_view(o, a, with_minutes.contains(&o.id)))
        .collect()
}

/// The view of one occurrence.
pub fn occurrence_view_of(
    conn: &mut DbConnection,
    o: &Occurrence,
    a: &Activity,
) -> ApiResult<OccurrenceView> {
    let has = !minutes::among(conn, &[o.id])?.is_empty();
    occurrence_view(o, a, has)
}

/// The orgs on the caller's home chain (home org and ancestors).
pub fn home_chain(conn: &mut DbConnection, user_id: i64) -> ApiResult<Vec<i64>> {
    crate::courses::catalog::home_chain(conn, user_id)
}

/// The occurrences I am invited to that start in `[from, to)`, each with its activity.
pub fn my_occurrences(
    conn: &mut DbConnection,
    user_id: i64,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> ApiResult<Vec<(Occurrence, Activity)>> {
    // Frozen lists that name me (kept after a transfer).
    let mut found: BTreeMap<i64, (Occurrence, Activity)> = ao::table
        .inner_join(ai::table)
        .inner_join(activities::table)
        .filter(ai::user_id.eq(user_id))
        .filter(ao::starts_at.ge(from))
        .filter(ao::starts_at.lt(to))
        .select((Occurrence::as_select(), Activity::as_select()))
        .load::<(Occurrence, Activity)>(conn)?
        .into_iter()
        .map(|(o, a)| (o.id, (o, a)))
        .collect();
    // Live lists: my home org and its ancestors (members), where I sit on the committee.
    let membership: Option<(String, String)> = memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::to_date.is_null())
        .select((orgs::path, memberships::status))
        .first(conn)
        .optional()?;
    let chain = match &membership {
        Some((path, status))
            if MemberStatus::parse(status).is_some_and(|s| s != MemberStatus::Suspended) =>
        {
            path_ids(path)
        }
        _ => Vec::new(),
    };
    let committee: Vec<i64> = org_roles::table
        .filter(org_roles::user_id.eq(user_id))
        .filter(
            org_roles::role.eq_any(
                COMMITTEE_ROLES
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>(),
            ),
        )
        .select(org_roles::org_id)
        .load(conn)?;
    let committee_kind = ActivityKind::BranchCommitteeMeeting.as_str();
    let live: Vec<(Occurrence, Activity)> = ao::table
        .inner_join(activities::table)
        .filter(ao::invitees_frozen_at.is_null())
        .filter(ao::starts_at.ge(from))
        .filter(ao::starts_at.lt(to))
        .filter(
            (activities::kind
                .ne(committee_kind)
                .and(ao::org_id.eq_any(&chain)))
            .or(activities::kind
                .eq(committee_kind)
                .and(ao::org_id.eq_any(&committee))),
        )
        .select((Occurrence::as_select(), Activity::as_select()))
        .load(conn)?;
    for (o, a) in live {
        found.entry(o.id).or_insert((o, a));
    }
    let mut list: Vec<(Occurrence, Activity)> = found.into_values().collect();
    list.sort_by_key(|(o, _)| (o.starts_at, o.id));
    Ok(list)
}

/// My attendance from a record and a leave request.
pub fn my_attendance(
    invited: bool,
    row: Option<&AttendanceRow>,
    leave: Option<&LeaveRow>,
) -> ApiResult<MyAttendance> {
    Ok(MyAttendance {
        invited,
        status: row
            .map(|r| AttendanceStatus::from_db(&r.status))
            .transpose()?,
        checked_in_at: row.and_then(|r| r.checked_in_at).map(|t| t.and_utc()),
        leave: leave.map(LeaveView::from_row).transpose()?,
    })
}

/// My calendar between two instants, with my status on each occurrence.
pub fn my_calendar(
    conn: &mut DbConnection,
    user_id: i64,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> ApiResult<Vec<MyOccurrence>> {
    let list = my_occurrences(conn, user_id, from, to)?;
    let ids: Vec<i64> = list.iter().map(|(o, _)| o.id).collect();
    let with_minutes = minutes::among(conn, &ids)?;
    let rows: HashMap<i64, AttendanceRow> = aa::table
        .filter(aa::user_id.eq(user_id))
        .filter(aa::occurrence_id.eq_any(&ids))
        .select(AttendanceRow::as_select())
        .load::<AttendanceRow>(conn)?
        .into_iter()
        .map(|r| (r.occurrence_id, r))
        .collect();
    let leaves: HashMap<i64, LeaveRow> = al::table
        .filter(al::user_id.eq(user_id))
        .filter(al::occurrence_id.eq_any(&ids))
        .select(LeaveRow::as_select())
        .load::<LeaveRow>(conn)?
        .into_iter()
        .map(|r| (r.occurrence_id, r))
        .collect();
    list.iter()
        .map(|(o, a)| {
            Ok(MyOccurrence {
                occurrence: occurrence_view(o, a, with_minutes.contains(&o.id))?,
                my: my_attendance(true, rows.get(&o.id), leaves.get(&o.id))?,
            })
        })
        .collect()
}

/// An occurrence's detail for the caller.
pub fn detail(
    conn: &mut DbConnection,
    ctx: &OccurrenceCtx,
    user_id: i64,
) -> ApiResult<OccurrenceDetail> {
    let invited = invitees::contains(conn, &ctx.occ, &ctx.activity, &ctx.org, user_id)?;
    let row = attendance::find(conn, ctx.occ.id, user_id)?;
    let my_leave = leave::mine(conn, ctx.occ.id, user_id)?;
    let counts = if ctx.manage {
        Some(attendance::list(conn, ctx)?.counts)
    } else {
        None
    };
    let minutes = minutes::view(conn, ctx.occ.id)?;
    let d = ctx.activity.details();
    Ok(OccurrenceDetail {
        occurrence: occurrence_view(&ctx.occ, &ctx.activity, minutes.is_some())?,
        agenda: d.agenda,
        online_url: d.online_url,
        course_id: ctx.activity.course_id,
        location: d.location,
        credit_centi: ctx.activity.credit_centi,
        minutes,
        guests: super::guests::list(conn, ctx.occ.id)?,
        my: my_attendance(invited || row.is_some(), row.as_ref(), my_leave.as_ref())?,
        can_manage: ctx.manage,
        counts,
    })
}

/// The orgs whose activities may invite me: my home chain and where I sit on a committee.
pub fn my_org_ids(conn: &mut DbConnection, user_id: i64) -> ApiResult<Vec<i64>> {
    let mut ids = home_chain(conn, user_id)?;
    let committee: Vec<i64> = org_roles::table
        .filter(org_roles::user_id.eq(user_id))
        .filter(
            org_roles::role.eq_any(
                COMMITTEE_ROLES
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>(),
            ),
        )
        .select(org_roles::org_id)
        .load(conn)?;
    ids.extend(committee);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The zone a member's dates are read in: their home org's, else the default.
pub fn my_zone(conn: &mut DbConnection, user_id: i64) -> ApiResult<chrono_tz::Tz> {
    match crate::orgs::members::home_org(conn, user_id)? {
        Some(org) => crate::orgs::settings::time_zone(conn, &org),
        None => Ok(chrono_tz::Asia::Shanghai),
    }
}

/// A `from..=to` range of dates (query parameters) in `tz`, as UTC instants `[start, end)`.
/// `from` defaults to today, `to` to `default_days` later; at most 400 days.
pub fn day_range(
    tz: chrono_tz::Tz,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
    default_days: i64,
) -> ApiResult<(
    chrono::NaiveDate,
    chrono::NaiveDate,
    NaiveDateTime,
    NaiveDateTime,
)> {
    use crate::error::{ApiError, ErrorCode, FieldError, Text};
    let from = from.unwrap_or(today);
    let to = to.unwrap_or(from + Duration::days(default_days));
    if to < from || (to - from).num_days() > 400 {
        return Err(
            ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
                "to",
                "out_of_range",
                Text::new(
                    "日期范围应在 0 到 400 天之间",
                    "The range must be 0 to 400 days",
                ),
            )),
        );
    }
    let midnight = |d: chrono::NaiveDate| -> NaiveDateTime {
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        super::recurrence::local_to_utc(tz, local)
            .or_else(|| super::recurrence::local_to_utc(tz, local + Duration::hours(1)))
            .map(|t| t.naive_utc())
            .unwrap_or(local)
    };
    Ok((from, to, midnight(from), midnight(to + Duration::days(1))))
}
