//! One-time WeChat subscription grants: after `wx.requestSubscribeMessage` the phone reports
//! how many times the member allowed a template; each grant allows exactly one message. A
//! reminder spends one in the transaction that writes it (so none is sent without one, and
//! a grant is never spent twice), and WeChat's refusal (`43101`: nothing left on its side)
//! zeroes what we thought was left.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Grant, ReminderKind, SubscriptionView, SubscriptionsView};
use crate::config::push::PushConfig;
use crate::db::DbConnection;
use crate::db::schema::{push_grants as pg, users};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};
use crate::insert_ignore;

/// Grants kept per template: more are accepted but not counted.
pub const MAX_KEPT: i32 = 20;
/// Grants one report may add.
pub const MAX_PER_REPORT: i32 = 10;

/// The template configured for a kind of reminder.
pub fn template_of(cfg: &PushConfig, kind: ReminderKind) -> Option<&str> {
    match kind {
        ReminderKind::MeetingTomorrow => cfg.meeting_template.as_deref(),
        ReminderKind::StudyBehind => cfg.study_template.as_deref(),
        ReminderKind::CheckinClosing => cfg.checkin_template.as_deref(),
    }
}

/// The kind of reminder a template is configured for.
pub fn kind_of(cfg: &PushConfig, template_id: &str) -> Option<ReminderKind> {
    ReminderKind::ALL
        .iter()
        .copied()
        .find(|k| template_of(cfg, *k) == Some(template_id))
}

/// Adds `accepted` grants of `template_id` to the member's (at most [`MAX_KEPT`] kept).
/// 422 for a template that is no reminder's, 409 when her WeChat is not bound (nothing
/// could be sent).
pub fn add(
    conn: &mut DbConnection,
    cfg: &PushConfig,
    now: NaiveDateTime,
    user_id: i64,
    template_id: &str,
    accepted: i32,
) -> ApiResult<()> {
    if kind_of(cfg, template_id).is_none() {
        return Err(ApiError::new(ErrorCode::UnknownTemplate));
    }
    if !(1..=MAX_PER_REPORT).contains(&accepted) {
        return Err(
            ApiError::new(ErrorCode::ValidationFailed).with_field(FieldError::new(
                "accepted",
                "out_of_range",
                Text::new("须为 1 到 10", "must be 1 to 10"),
            )),
        );
    }
    if openid(conn, user_id)?.is_none() {
        return Err(ApiError::new(ErrorCode::WechatNotBound));
    }
    insert_ignore!(
        conn,
        pg::table,
        (
            pg::user_id.eq(user_id),
            pg::template_id.eq(template_id),
            pg::remaining.eq(0),
            pg::updated_at.eq(now),
        )
    )?;
    let row = pg::table.find((user_id, template_id));
    diesel::update(row)
        .set((
            pg::remaining.eq(pg::remaining + accepted),
            pg::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(row.filter(pg::remaining.gt(MAX_KEPT)))
        .set(pg::remaining.eq(MAX_KEPT))
        .execute(conn)?;
    Ok(())
}

/// The member's openid, when her WeChat is bound.
pub fn openid(conn: &mut DbConnection, user_id: i64) -> ApiResult<Option<String>> {
    Ok(users::table
        .find(user_id)
        .select(users::wechat_openid)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Spends one grant; false when none is left.
pub fn spend(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    template_id: &str,
) -> ApiResult<bool> {
    let n = diesel::update(
        pg::table
            .find((user_id, template_id))
            .filter(pg::remaining.gt(0)),
    )
    .set((pg::remaining.eq(pg::remaining - 1), pg::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n > 0)
}

/// Gives back a grant spent on a message that was not written after all.
pub fn refund(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    template_id: &str,
) -> ApiResult<()> {
    diesel::update(pg::table.find((user_id, template_id)))
        .set((pg::remaining.eq(pg::remaining + 1), pg::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// WeChat says nothing is left (`43101`): whatever we counted is gone.
pub fn exhaust(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    template_id: &str,
) -> ApiResult<()> {
    diesel::update(pg::table.find((user_id, template_id)))
        .set((pg::remaining.eq(0), pg::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Members with at least one grant of `template_id` left.
pub fn holders(conn: &mut DbConnection, template_id: &str) -> ApiResult<Vec<i64>> {
    Ok(pg::table
        .filter(pg::template_id.eq(template_id))
        .filter(pg::remaining.gt(0))
        .select(pg::user_id)
        .order(pg::user_id.asc())
        .load(conn)?)
}

/// The member's grants for every configured reminder.
pub fn view(
    conn: &mut DbConnection,
    cfg: &PushConfig,
    user_id: i64,
) -> ApiResult<SubscriptionsView> {
    let rows: Vec<Grant> = pg::table
        .filter(pg::user_id.eq(user_id))
        .select(Grant::as_select())
        .load(conn)?;
    let items = ReminderKind::ALL
        .iter()
        .copied()
        .filter_map(|kind| {
            let template = template_of(cfg, kind)?;
            Some(SubscriptionView {
                kind,
                template_id: template.to_string(),
                remaining: rows
                    .iter()
                    .find(|g| g.template_id == template)
                    .map_or(0, |g| g.remaining),
            })
        })
        .collect();
    Ok(SubscriptionsView {
        items,
        wechat_bound: openid(conn, user_id)?.is_some(),
    })
}
