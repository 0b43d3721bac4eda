//! Scheduling: creating one-off activities and series, editing them (the occurrences are
//! regenerated, see [`super::materialize::regenerate`]), and cancelling a series. Every
//! value is checked here; authorization and the audit record are the caller's.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::materialize::{self, Regenerated};
use super::model::{
    Activity, ActivityKind, CreateActivityRequest, Details, Location, OccurrenceStatus,
    UpdateActivityRequest,
};
use super::recurrence::{Rule, RuleError, local_to_utc};
use crate::db::DbConnection;
use crate::db::schema::{activities, activity_occurrences as ao};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};
use crate::orgs::model::{Org, OrgKind};

/// Every schedulable value of an activity, as created or after a patch.
#[derive(Debug, Clone)]
pub struct Fields {
    pub kind: ActivityKind,
    pub title: String,
    pub agenda: String,
    pub place: Option<String>,
    pub location: Option<Location>,
    pub online_url: Option<String>,
    pub course_id: Option<i64>,
    pub start_local: NaiveDateTime,
    pub end_local: NaiveDateTime,
    pub rrule: Option<String>,
    pub credit_centi: i32,
    pub makeup_window_days: i32,
}

impl Fields {
    pub fn from_create(req: &CreateActivityRequest, default_makeup_days: i32) -> Fields {
        Fields {
            kind: req.kind,
            title: req.title.trim().to_string(),
            agenda: req.agenda.clone().map(String::from).unwrap_or_default(),
            place: clean(req.place.clone()),
            location: req.location,
            online_url: clean(req.online_url.clone()),
            course_id: req.course_id,
            start_local: req.start_local,
            end_local: req.end_local,
            rrule: clean(req.rrule.clone()),
            credit_centi: req.credit_centi.unwrap_or(0),
            makeup_window_days: req.makeup_window_days.unwrap_or(default_makeup_days),
        }
    }

    /// The descriptive part as stored.
    pub fn details_json(&self) -> String {
        let d = Details {
            agenda: self.agenda.clone(),
            place: self.place.clone(),
            location: self.location,
            online_url: self.online_url.clone(),
        };
        serde_json::to_string(&d).unwrap_or_else(|_| "{}".into())
    }

    /// The activity's current values with a patch applied.
    pub fn patched(a: &Activity, req: &UpdateActivityRequest) -> ApiResult<Fields> {
        let d = a.details();
        let end = a.dtstart_local + Duration::minutes(i64::from(a.duration_min));
        let start_local = req.start_local.unwrap_or(a.dtstart_local);
        // Moving only the start keeps the length.
        let end_local = req
            .end_local
            .unwrap_or_else(|| start_local + (end - a.dtstart_local));
        Ok(Fields {
            kind: ActivityKind::from_db(&a.kind)?,
            title: req.title.as_deref().unwrap_or(&a.title).trim().to_string(),
            agenda: req.agenda.clone().map_or(d.agenda, String::from),
            place: req.place.clone().map(clean).unwrap_or(d.place),
            location: req.location.unwrap_or(d.location),
            online_url: req.online_url.clone().map(clean).unwrap_or(d.online_url),
            course_id: req.course_id.unwrap_or(a.course_id),
            start_local,
            end_local,
            rrule: req
                .rrule
                .clone()
                .map(clean)
                .unwrap_or_else(|| a.rrule.clone()),
            credit_centi: req.credit_centi.unwrap_or(a.credit_centi),
            makeup_window_days: req.makeup_window_days.unwrap_or(a.makeup_window_days),
        })
    }
}

fn clean<T: Into<String>>(s: Option<T>) -> Option<String> {
    s.map(Into::into).filter(|s: &String| !s.is_empty())
}

fn field(name: &str, code: &'static str, zh: &str, en: &str) -> FieldError {
    FieldError::new(name, code, Text::new(zh, en))
}

fn check_text(errors: &mut Vec<FieldError>, f: &Fields) {
    let len = |s: &str| s.chars().count();
    if f.title.is_empty() || len(&f.title) > 100 {
        errors.push(field(
            "title",
            "invalid_length",
            "标题应为 1 到 100 个字",
            "The title must be 1-100 characters",
        ));
    }
    if len(&f.agenda) > 5000 {
        errors.push(field(
            "agenda",
            "invalid_length",
            "议程不能超过 5000 字",
            "The agenda must be at most 5000 characters",
        ));
    }
    if f.place.as_deref().is_some_and(|p| len(p) > 200) {
        errors.push(field(
            "place",
            "invalid_length",
            "地点不能超过 200 字",
            "The place must be at most 200 characters",
        ));
    }
    if let Some(url) = &f.online_url
        && (len(url) > 500 || !(url.starts_with("https://") || url.starts_with("http://")))
    {
        errors.push(field(
            "online_url",
            "invalid_format",
            "应为 http(s) 链接",
            "Must be an http(s) URL",
        ));
    }
    if let Some(l) = &f.location {
        let ok = l.latitude.is_finite()
            && l.longitude.is_finite()
            && (-90.0..=90.0).contains(&l.latitude)
            && (-180.0..=180.0).contains(&l.longitude)
            && (20..=5000).contains(&l.radius_m);
        if !ok {
            errors.push(field(
                "location",
                "out_of_range",
                "坐标或范围不合理（范围 20 到 5000 米）",
                "Coordinates or radius out of range (radius 20-5000 m)",
            ));
        }
    }
    if !(0..=1000).contains(&f.credit_centi) {
        errors.push(field(
            "credit_centi",
            "out_of_range",
            "学时应在 0 到 10 小时之间",
            "The credit must be between 0 and 10 hours",
        ));
    }
    if !(1..=366).contains(&f.makeup_window_days) {
        errors.push(field(
            "makeup_window_days",
            "out_of_range",
            "补学期限应在 1 到 366 天之间",
            "The make-up window must be 1-366 days",
        ));
    }
}

/// Checks every value; returns the rule and the length in minutes.
pub fn validate(
    conn: &mut DbConnection,
    caller: i64,
    org: &Org,
    tz: chrono_tz::Tz,
    f: &Fields,
) -> ApiResult<(Rule, i32)> {
    let mut errors = Vec::new();
    check_text(&mut errors, f);
    if f.kind == ActivityKind::PartyGroupMeeting
        && OrgKind::from_db(&org.kind)? != OrgKind::PartyGroup
    {
        errors.push(field(
            "kind",
            "invalid_value",
            "党小组会应安排在党小组",
            "A party group meeting is scheduled on the party group",
        ));
    }
    let minutes = (f.end_local - f.start_local).num_minutes();
    if !(5..=24 * 60).contains(&minutes) {
        errors.push(field(
            "end_local",
            "out_of_range",
            "结束时间应在开始后 5 分钟到 24 小时之间",
            "The end must be 5 minutes to 24 hours after the start",
        ));
    }
    if f.rrule.as_deref().is_some_and(|r| r.len() > 500) {
        errors.push(field(
            "rrule",
            "invalid_length",
            "重复规则过长",
            "The RRULE is too long",
        ));
    }
    let rule = match Rule::parse(tz, f.start_local, f.rrule.as_deref()) {
        Ok(rule) => Some(rule),
        Err(RuleError::StartInGap) => {
            errors.push(field(
                "start_local",
                "invalid_value",
                "该时区在此时刻因夏令时跳过，不存在这个时间",
                "This local time does not exist in the zone (daylight saving gap)",
            ));
            None
        }
        Err(RuleError::TooFrequent) => {
            errors.push(field(
                "rrule",
                "invalid_value",
                "重复频率最多每天一次",
                "A series repeats at most daily",
            ));
            None
        }
        Err(RuleError::Invalid(why)) => {
            errors.push(field(
                "rrule",
                "invalid_format",
                &format!("不是有效的 RRULE：{why}"),
                &format!("Not a valid RRULE: {why}"),
            ));
            None
        }
    };
    if let Some(course_id) = f.course_id {
        let visible = crate::courses::authoring::find(conn, course_id)
            .and_then(|c| crate::courses::catalog::access(conn, caller, &c));
        if visible.is_err() {
            errors.push(field(
                "course_id",
                "not_found",
                "课程不存在或不可用",
                "No such course available to you",
            ));
        }
    }
    match rule {
        Some(rule) if errors.is_empty() => Ok((rule, minutes as i32)),
        _ => Err(ApiError::new(ErrorCode::ValidationFailed).with_fields(errors)),
    }
}

/// Creates an activity on `org` and materializes its occurrences.
pub fn create(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    org: &Org,
    by: i64,
    f: &Fields,
) -> ApiResult<Activity> {
    let tz = crate::orgs::settings::time_zone(conn, org)?;
    let (rule, minutes) = validate(conn, by, org, tz, f)?;
    let stamp = now.naive_utc();
    let id: i64 = diesel::insert_into(activities::table)
        .values((
            activities::org_id.eq(org.id),
            activities::kind.eq(f.kind.as_str()),
            activities::title.eq(&f.title),
            activities::details.eq(f.details_json()),
            activities::course_id.eq(f.course_id),
            activities::time_zone.eq(tz.name()),
            activities::dtstart_local.eq(f.start_local),
            activities::duration_min.eq(minutes),
            activities::rrule.eq(rule.rrule_text()),
            activities::credit_centi.eq(f.credit_centi),
            activities::makeup_window_days.eq(f.makeup_window_days),
            activities::materialized_until.eq(stamp),
            activities::created_at.eq(stamp),
            activities::updated_at.eq(stamp),
        ))
        .returning(activities::id)
        .get_result(conn)?;
    let activity = super::access::find_activity(conn, id)?;
    materialize::initial(conn, &activity, &rule, now)?;
    super::access::find_activity(conn, id)
}

/// Applies an edit and regenerates the occurrences (never those held, moved or cancelled
/// on their own, or past). 409 on a cancelled series.
pub fn update(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    org: &Org,
    by: i64,
    activity: &Activity,
    req: &UpdateActivityRequest,
) -> ApiResult<(Activity, Regenerated)> {
    if activity.ended_at.is_some() {
        return Err(ApiError::new(ErrorCode::Conflict)
            .with_detail("该活动已取消", "The activity was cancelled"));
    }
    let f = Fields::patched(activity, req)?;
    let (rule, minutes) = validate(conn, by, org, activity.tz(), &f)?;
    diesel::update(activities::table.find(activity.id))
        .set((
            activities::title.eq(&f.title),
            activities::details.eq(f.details_json()),
            activities::course_id.eq(f.course_id),
            activities::dtstart_local.eq(f.start_local),
            activities::duration_min.eq(minutes),
            activities::rrule.eq(rule.rrule_text()),
            activities::credit_centi.eq(f.credit_centi),
            activities::makeup_window_days.eq(f.makeup_window_days),
            activities::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    let updated = super::access::find_activity(conn, activity.id)?;
    let regenerated = materialize::regenerate(conn, &updated, now)?;
    Ok((updated, regenerated))
}

/// Cancels a series: it ends, and every coming occurrence not held is cancelled. Returns
/// how many were cancelled.
pub fn cancel_series(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    activity: &Activity,
    reason: Option<&str>,
) -> ApiResult<usize> {
    let stamp = now.naive_utc();
    diesel::update(
        activities::table
            .find(activity.id)
            .filter(activities::ended_at.is_null()),
    )
    .set((
        activities::ended_at.eq(stamp),
        activities::updated_at.eq(stamp),
    ))
    .execute(conn)?;
    Ok(diesel::update(
        ao::table
            .filter(ao::activity_id.eq(activity.id))
            .filter(ao::starts_at.gt(stamp))
            .filter(ao::held_at.is_null())
            .filter(ao::status.eq(OccurrenceStatus::Scheduled.as_str())),
    )
    .set((
        ao::status.eq(OccurrenceStatus::Cancelled.as_str()),
        ao::cancel_reason.eq(reason),
        ao::sequence.eq(ao::sequence + 1),
        ao::updated_at.eq(stamp),
    ))
    .execute(conn)?)
}

/// The UTC start and end of local times in the activity's zone, checked.
pub fn local_span(
    tz: chrono_tz::Tz,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let bad = |name: &str| {
        ApiError::invalid_field(
            name,
            "invalid_value",
            Text::new(
                "该时区不存在这个时间（夏令时）",
                "This local time does not exist in the zone",
            ),
        )
    };
    let s = local_to_utc(tz, start).ok_or_else(|| bad("start_local"))?;
    let e = local_to_utc(tz, end).ok_or_else(|| bad("end_local"))?;
    let minutes = (e - s).num_minutes();
    if !(5..=24 * 60).contains(&minutes) {
        return Err(ApiError::invalid_field(
            "end_local",
            "out_of_range",
            Text::new(
                "结束时间应在开始后 5 分钟到 24 小时之间",
                "The end must be 5 minutes to 24 hours after the start",
            ),
        ));
    }
    Ok((s, e))
}
