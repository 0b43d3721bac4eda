//! Push channels of an org: create, change, delete and show them, with their credentials
//! sealed ([`super::secrets`]) and never shown, and their digest schedules.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{
    BrokenView, Channel, ChannelKind, ChannelView, CreateChannelRequest, CreateScheduleRequest,
    Credentials, DigestFrequency, Schedule, ScheduleView, UpdateChannelRequest,
};
use super::secrets::{self, SecretBox};
use crate::db::DbConnection;
use crate::db::schema::{push_channels as pc, push_deliveries as pd, push_schedules as ps};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};

/// The most channels one org may have.
pub const MAX_CHANNELS_PER_ORG: i64 = 20;
/// The most schedules one channel may have.
pub const MAX_SCHEDULES_PER_CHANNEL: i64 = 5;

fn invalid(field: &str, zh: &str, en: &str) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_field(FieldError::new(
        field,
        "invalid_format",
        Text::new(zh, en),
    ))
}

fn required(field: &str) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_field(FieldError::new(
        field,
        "required",
        Text::new("此类渠道必须填写", "required for this kind of channel"),
    ))
}

fn check_len(field: &str, v: &str, min: usize, max: usize) -> ApiResult<()> {
    if (min..=max).contains(&v.len()) {
        Ok(())
    } else {
        Err(invalid(
            field,
            &format!("长度须为 {min} 到 {max} 个字符"),
            &format!("must be {min} to {max} characters"),
        ))
    }
}

/// Checks a Standard Webhooks secret: `whsec_` + base64 of 24 to 64 bytes.
fn check_webhook_secret(s: &str) -> ApiResult<()> {
    let ok = s
        .strip_prefix("whsec_")
        .and_then(|b| STANDARD.decode(b).ok())
        .is_some_and(|b| (24..=64).contains(&b.len()));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "secret",
            "须为 whsec_ 加 24 到 64 字节的 base64",
            "must be whsec_ followed by base64 of 24 to 64 bytes",
        ))
    }
}

/// The credentials of a new channel of `kind` from the request's fields, and the
/// generated webhook secret if one was made. Fields of another kind are refused.
pub fn credentials_for(
    kind: ChannelKind,
    key: Option<&str>,
    access_token: Option<&str>,
    secret: Option<&str>,
    url: Option<&str>,
) -> ApiResult<(Credentials, Option<String>)> {
    let stray = |field: &str| {
        ApiError::new(ErrorCode::ValidationFailed).with_field(FieldError::new(
            field,
            "not_allowed",
            Text::new("此类渠道不使用该字段", "not used by this kind of channel"),
        ))
    };
    match kind {
        ChannelKind::WecomRobot => {
            for (f, v) in [
                ("access_token", access_token),
                ("secret", secret),
                ("url", url),
            ] {
                if v.is_some() {
                    return Err(stray(f));
                }
            }
            let key = key.ok_or_else(|| required("key"))?;
            check_len("key", key, 8, 128)?;
            Ok((Credentials::WecomRobot { key: key.into() }, None))
        }
        ChannelKind::DingtalkRobot => {
            for (f, v) in [("key", key), ("url", url)] {
                if v.is_some() {
                    return Err(stray(f));
                }
            }
            let token = access_token.ok_or_else(|| required("access_token"))?;
            check_len("access_token", token, 8, 256)?;
            let secret = secret.ok_or_else(|| required("secret"))?;
            if !secret.starts_with("SEC") {
                return Err(invalid(
                    "secret",
                    "钉钉加签密钥以 SEC 开头",
                    "a DingTalk signing secret starts with SEC",
                ));
            }
            check_len("secret", secret, 16, 256)?;
            Ok((
                Credentials::DingtalkRobot {
                    access_token: token.into(),
                    secret: secret.into(),
                },
                None,
            ))
        }
        ChannelKind::Webhook => {
            for (f, v) in [("key", key), ("access_token", access_token)] {
                if v.is_some() {
                    return Err(stray(f));
                }
            }
            if url.is_none() {
                return Err(required("url"));
            }
            match secret {
                Some(s) => {
                    check_webhook_secret(s)?;
                    Ok((Credentials::Webhook { secret: s.into() }, None))
                }
                None => {
                    let s = secrets::generate_webhook_secret();
                    Ok((Credentials::Webhook { secret: s.clone() }, Some(s)))
                }
            }
        }
    }
}

fn hint_of(c: &Credentials) -> String {
    match c {
        Credentials::WecomRobot { key } => secrets::hint(key),
        Credentials::DingtalkRobot { access_token, .. } => secrets::hint(access_token),
        Credentials::Webhook { secret } => secrets::hint(secret),
    }
}

/// Seals credentials for a channel of `org_id`: (sealed, hint).
pub fn seal(sb: &SecretBox, org_id: i64, c: &Credentials) -> ApiResult<(String, String)> {
    let json = serde_json::to_string(c).map_err(ApiError::internal)?;
    Ok((sb.seal(org_id, &json)?, hint_of(c)))
}

/// Opens a channel's credentials.
pub fn open(sb: &SecretBox, ch: &Channel) -> ApiResult<Credentials> {
    let json = sb.open(ch.org_id, &ch.secret_sealed)?;
    serde_json::from_str(&json).map_err(ApiError::internal)
}

/// Creates a channel (the webhook URL was checked by the caller).
pub fn create(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    sb: &SecretBox,
    org_id: i64,
    by: i64,
    req: &CreateChannelRequest,
    creds: &Credentials,
) -> ApiResult<Channel> {
    let count: i64 = pc::table
        .filter(pc::org_id.eq(org_id))
        .filter(pc::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    if count >= MAX_CHANNELS_PER_ORG {
        return Err(ApiError::new(ErrorCode::Conflict).with_detail(
            format!("每个组织最多 {MAX_CHANNELS_PER_ORG} 个推送渠道"),
            format!("an org has at most {MAX_CHANNELS_PER_ORG} push channels"),
        ));
    }
    let (sealed, hint) = seal(sb, org_id, creds)?;
    let ch = diesel::insert_into(pc::table)
        .values((
            pc::org_id.eq(org_id),
            pc::kind.eq(req.kind.as_str()),
            pc::name.eq(req.name.as_str()),
            pc::url.eq(req.url.as_ref().map(|u| u.as_str())),
            pc::secret_sealed.eq(sealed),
            pc::secret_hint.eq(hint),
            pc::alerts.eq(req.alerts),
            pc::created_by.eq(by),
            pc::created_at.eq(now),
            pc::updated_at.eq(now),
        ))
        .returning(pc::id)
        .get_result::<i64>(conn)?;
    find(conn, ch)
}

/// A live (not deleted) channel; 404 otherwise.
pub fn find(conn: &mut DbConnection, id: i64) -> ApiResult<Channel> {
    pc::table
        .find(id)
        .filter(pc::deleted_at.is_null())
        .select(Channel::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// Applies a change. `creds` are the new credentials when the request carried any.
pub fn update(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    sb: &SecretBox,
    ch: &Channel,
    req: &UpdateChannelRequest,
    creds: Option<&Credentials>,
) -> ApiResult<Channel> {
    let sealed = creds.map(|c| seal(sb, ch.org_id, c)).transpose()?;
    let repaired = sealed.is_some() || req.url.is_some();
    let name = req.name.as_ref().map_or(ch.name.as_str(), |n| n.as_str());
    let url = req
        .url
        .as_ref()
        .map(|u| u.as_str().to_string())
        .or_else(|| ch.url.clone());
    let (secret_sealed, secret_hint) =
        sealed.unwrap_or_else(|| (ch.secret_sealed.clone(), ch.secret_hint.clone()));
    let (broken_reason, broken_at) = if repaired {
        (None, None)
    } else {
        (ch.broken_reason.clone(), ch.broken_at)
    };
    diesel::update(pc::table.find(ch.id))
        .set((
            pc::name.eq(name),
            pc::alerts.eq(req.alerts.unwrap_or(ch.alerts)),
            pc::url.eq(url),
            pc::secret_sealed.eq(secret_sealed),
            pc::secret_hint.eq(secret_hint),
            pc::broken_reason.eq(broken_reason),
            pc::broken_at.eq(broken_at),
            pc::updated_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, ch.id)
}

/// Deletes a channel: it stops sending, its pending deliveries are cancelled, and its
/// history stays readable in the deliveries list.
pub fn delete(conn: &mut DbConnection, now: NaiveDateTime, ch: &Channel) -> ApiResult<()> {
    diesel::update(pc::table.find(ch.id))
        .set((pc::deleted_at.eq(now), pc::updated_at.eq(now)))
        .execute(conn)?;
    diesel::delete(ps::table.filter(ps::channel_id.eq(ch.id))).execute(conn)?;
    diesel::update(
        pd::table
            .filter(pd::channel_id.eq(ch.id))
            .filter(pd::status.eq("pending")),
    )
    .set((pd::status.eq("cancelled"), pd::updated_at.eq(now)))
    .execute(conn)?;
    Ok(())
}

/// Marks a channel broken (the service refused its credentials).
pub fn mark_broken(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    channel_id: i64,
    reason: &str,
) -> ApiResult<()> {
    diesel::update(pc::table.find(channel_id))
        .set((pc::broken_reason.eq(reason), pc::broken_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Checks a schedule request: `HH:MM`, a weekday for weekly, a day 1–28 for monthly.
pub fn check_schedule(
    req: &CreateScheduleRequest,
) -> ApiResult<(Option<i32>, Option<i32>, String)> {
    let time = chrono::NaiveTime::parse_from_str(&req.time, "%H:%M")
        .map_err(|_| invalid("time", "时间格式为 HH:MM", "expected HH:MM (24-hour)"))?;
    let time = time.format("%H:%M").to_string();
    match req.frequency {
        DigestFrequency::Daily => {
            if req.weekday.is_some() {
                return Err(invalid("weekday", "每日推送不用星期", "not used by daily"));
            }
            if req.month_day.is_some() {
                return Err(invalid(
                    "month_day",
                    "每日推送不用日期",
                    "not used by daily",
                ));
            }
            Ok((None, None, time))
        }
        DigestFrequency::Weekly => {
            let w = req.weekday.ok_or_else(|| required("weekday"))?;
            if !(1..=7).contains(&w) {
                return Err(invalid(
                    "weekday",
                    "星期为 1（周一）到 7（周日）",
                    "1 = Monday … 7 = Sunday",
                ));
            }
            if req.month_day.is_some() {
                return Err(invalid(
                    "month_day",
                    "每周推送不用日期",
                    "not used by weekly",
                ));
            }
            Ok((Some(w), None, time))
        }
        DigestFrequency::Monthly => {
            let d = req.month_day.unwrap_or(1);
            if !(1..=28).contains(&d) {
                return Err(invalid("month_day", "日期为 1 到 28", "a day from 1 to 28"));
            }
            if req.weekday.is_some() {
                return Err(invalid(
                    "weekday",
                    "每月推送不用星期",
                    "not used by monthly",
                ));
            }
            Ok((None, Some(d), time))
        }
    }
}

/// Adds a digest schedule to a channel.
pub fn add_schedule(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    ch: &Channel,
    req: &CreateScheduleRequest,
) -> ApiResult<Schedule> {
    let (weekday, month_day, time) = check_schedule(req)?;
    let count: i64 = ps::table
        .filter(ps::channel_id.eq(ch.id))
        .count()
        .get_result(conn)?;
    if count >= MAX_SCHEDULES_PER_CHANNEL {
        return Err(ApiError::new(ErrorCode::Conflict).with_detail(
            format!("每个渠道最多 {MAX_SCHEDULES_PER_CHANNEL} 个推送计划"),
            format!("a channel has at most {MAX_SCHEDULES_PER_CHANNEL} schedules"),
        ));
    }
    let id: i64 = diesel::insert_into(ps::table)
        .values((
            ps::channel_id.eq(ch.id),
            ps::frequency.eq(req.frequency.as_str()),
            ps::weekday.eq(weekday),
            ps::month_day.eq(month_day),
            ps::local_time.eq(time),
            ps::created_at.eq(now),
        ))
        .returning(ps::id)
        .get_result(conn)?;
    Ok(ps::table
        .find(id)
        .select(Schedule::as_select())
        .first(conn)?)
}

/// A schedule with its (live) channel; 404 otherwise.
pub fn find_schedule(conn: &mut DbConnection, id: i64) -> ApiResult<(Schedule, Channel)> {
    let s: Schedule = ps::table
        .find(id)
        .select(Schedule::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let ch = find(conn, s.channel_id)?;
    Ok((s, ch))
}

pub fn delete_schedule(conn: &mut DbConnection, id: i64) -> ApiResult<()> {
    diesel::delete(ps::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn schedule_view(s: &Schedule) -> ApiResult<ScheduleView> {
    Ok(ScheduleView {
        id: s.id,
        channel_id: s.channel_id,
        frequency: DigestFrequency::from_db(&s.frequency)?,
        weekday: s.weekday,
        month_day: s.month_day,
        time: s.local_time.clone(),
    })
}

/// The views of channels, with their schedules (one query for all schedules).
pub fn views(conn: &mut DbConnection, channels: &[Channel]) -> ApiResult<Vec<ChannelView>> {
    let ids: Vec<i64> = channels.iter().map(|c| c.id).collect();
    let schedules: Vec<Schedule> = ps::table
        .filter(ps::channel_id.eq_any(&ids))
        .order(ps::id.asc())
        .select(Schedule::as_select())
        .load(conn)?;
    channels
        .iter()
        .map(|ch| {
            Ok(ChannelView {
                id: ch.id,
                org_id: ch.org_id,
                kind: ChannelKind::from_db(&ch.kind)?,
                name: ch.name.clone(),
                url: ch.url.clone(),
                secret_hint: ch.secret_hint.clone(),
                alerts: ch.alerts,
                broken: match (&ch.broken_reason, ch.broken_at) {
                    (Some(reason), Some(at)) => Some(BrokenView {
                        reason: reason.clone(),
                        at: at.and_utc(),
                    }),
                    _ => None,
                },
                schedules: schedules
                    .iter()
                    .filter(|s| s.channel_id == ch.id)
                    .map(schedule_view)
                    .collect::<ApiResult<_>>()?,
                created_at: ch.created_at.and_utc(),
                updated_at: ch.updated_at.and_utc(),
            })
        })
        .collect()
}

pub fn view(conn: &mut DbConnection, ch: &Channel) -> ApiResult<ChannelView> {
    let mut v = views(conn, std::slice::from_ref(ch))?;
    v.pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("channel view missing")))
}

/// The live channels of an org, oldest first.
pub fn list(conn: &mut DbConnection, org_id: i64) -> ApiResult<Vec<ChannelView>> {
    let rows: Vec<Channel> = pc::table
        .filter(pc::org_id.eq(org_id))
        .filter(pc::deleted_at.is_null())
        .order(pc::id.asc())
        .select(Channel::as_select())
        .load(conn)?;
    views(conn, &rows)
}
