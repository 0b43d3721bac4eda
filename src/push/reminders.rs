//! Reminders as WeChat subscription messages: to members "meeting tomorrow" (the evening
//! before, to every invitee not on approved leave) and "behind on study hours this month"
//! (from the 20th, once a month, to members below an even pace); to organizers "check-in
//! closes by itself soon" (within [`closing::LEAD_MINUTES`] of the automatic close, to
//! the role holders of the meeting's own org, with how many have no record yet). Only to
//! people who gave a one-time grant for the template on the phone: writing the reminder
//! spends one, in the same transaction, and a reminder without a grant is never written.
//! Members' reminders are sent between 08:00 and 21:00 in the meeting's (or the member's
//! org's) zone; the closing reminder whenever it is due, since it cannot wait. Each at most
//! once (keyed `remind:meeting:{occurrence}:{user}`, `remind:study:{YYYY-MM}:{user}`,
//! `remind:closing:{occurrence}:{user}`).
//!
//! Written by the worker's scan (at most once every ten minutes, see
//! [`super::worker`]), since it reads invitees and credit.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::{Datelike, NaiveDateTime, Timelike};
use diesel::prelude::*;
use serde_json::json;

use super::model::{AttemptOutcome, Delivery, Part, Purpose};
use super::outbox::{self, NewDelivery, Target};
use super::send;
use super::{closing, grants, tomorrow};
use crate::activities::model::LeaveStatus;
use crate::auth::wechat::client::WechatClient;
use crate::db::DbConnection;
use crate::db::schema::push_deliveries as pd;
use crate::db::schema::{activity_leaves, org_roles};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// WeChat's limit on a `thing` value, in characters.
pub const THING_MAX: usize = 20;
/// The study reminder goes out from this day of the month.
pub const STUDY_FROM_DAY: u32 = 20;

/// `s` cut to `max` characters (never inside one), ending with "…" when cut.
pub fn cut(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Hours from hundredths, one decimal.
fn hours(centi: i64) -> String {
    format!("{:.1}", centi as f64 / 100.0)
}

/// Writes the reminders that are due; returns how many it wrote.
pub async fn enqueue_due(state: &web::Data<AppState>) -> ApiResult<usize> {
    let cfg = &state.config.push;
    if state.config.wechat.is_none()
        || (cfg.meeting_template.is_none()
            && cfg.study_template.is_none()
            && cfg.checkin_template.is_none())
    {
        return Ok(0);
    }
    let mut written = 0;
    if let Some(template) = cfg.meeting_template.clone() {
        written += meetings(state, template).await?;
    }
    if let Some(template) = cfg.study_template.clone() {
        written += study(state, template).await?;
    }
    if let Some(template) = cfg.checkin_template.clone()
        && let Some(after) = closing::delay(state)
    {
        written += checkin_closing(state, template, after).await?;
    }
    Ok(written)
}

/// A reminder to write: to whom, keyed how, with what.
struct Reminder {
    user_id: i64,
    org_id: i64,
    key: String,
    part: Part,
}

/// Spends a grant and writes the reminder, or neither (no grant left, or written before).
fn write(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    give_up: Duration,
    template: &str,
    r: Reminder,
) -> ApiResult<bool> {
    if !grants::spend(conn, now, r.user_id, template)? {
        return Ok(false);
    }
    let written = outbox::enqueue(
        conn,
        now,
        give_up,
        NewDelivery {
            target: Target::Member,
            org_id: r.org_id,
            purpose: Purpose::Reminder,
            dedup_key: r.key,
            parts: vec![r.part],
        },
    )?;
    if !written {
        grants::refund(conn, now, r.user_id, template)?;
    }
    Ok(written)
}

/// Which of `keys` were written already.
fn existing(conn: &mut DbConnection, keys: &[String]) -> ApiResult<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for chunk in keys.chunks(500) {
        out.extend(
            pd::table
                .filter(pd::dedup_key.eq_any(chunk))
                .select(pd::dedup_key)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

fn meeting_key(occurrence_id: i64, user_id: i64) -> String {
    format!("remind:meeting:{occurrence_id}:{user_id}")
}

/// Invitees of occurrences starting tomorrow (local), in the daytime today.
async fn meetings(state: &web::Data<AppState>, template: String) -> ApiResult<usize> {
    let now_utc = state.clock.now();
    let now = now_utc.naive_utc();
    let give_up = state.config.push.give_up_after;
    let page = |id: i64| format!("pages/activity/detail?id={id}");
    state
        .db
        .write(move |c| {
            let holders: BTreeSet<i64> = grants::holders(c, &template)?.into_iter().collect();
            if holders.is_empty() {
                return Ok(0);
            }
            let mut written = 0;
            for t in tomorrow::meetings(c, now_utc, None)? {
                let (occ, activity) = (&t.occ, &t.activity);
                let org = crate::orgs::tree::find(c, occ.org_id)?;
                let invited = crate::activities::invitees::of(c, occ, activity, &org)?;
                let on_leave: BTreeSet<i64> = activity_leaves::table
                    .filter(activity_leaves::occurrence_id.eq(occ.id))
                    .filter(activity_leaves::status.eq(LeaveStatus::Approved.as_str()))
                    .select(activity_leaves::user_id)
                    .load::<i64>(c)?
                    .into_iter()
                    .collect();
                let candidates: Vec<i64> = invited
                    .into_iter()
                    .filter(|u| holders.contains(u) && !on_leave.contains(u))
                    .collect();
                let keys: Vec<String> =
                    candidates.iter().map(|u| meeting_key(occ.id, *u)).collect();
                let done = existing(c, &keys)?;
                let data = json!({
                    "thing1": {"value": cut(&activity.title, THING_MAX)},
                    "time2": {"value": t.local_start.format("%Y-%m-%d %H:%M").to_string()},
                    "thing3": {"value": cut(&t.place, THING_MAX)},
                });
                for (user_id, key) in candidates.into_iter().zip(keys) {
                    if done.contains(&key) {
                        continue;
                    }
                    let r = Reminder {
                        user_id,
                        org_id: occ.org_id,
                        key,
                        part: Part::WechatSubscribe {
                            user_id,
                            template_id: template.clone(),
                            page: page(occ.id),
                            data: data.clone(),
                        },
                    };
                    if write(c, now, give_up, &template, r)? {
                        written += 1;
                    }
                }
            }
            Ok(written)
        })
        .await
}

/// Members behind an even pace, from the 20th of the month, once a month.
async fn study(state: &web::Data<AppState>, template: String) -> ApiResult<usize> {
    let now_utc = state.clock.now();
    let now = now_utc.naive_utc();
    let give_up = state.config.push.give_up_after;
    state
        .db
        .write(move |c| {
            let mut due = Vec::new();
            for user_id in grants::holders(c, &template)? {
                let Some((pace, _, _)) = crate::progress::study::pace(c, user_id, None, now_utc)?
                else {
                    continue;
                };
                let local_now = now_utc.with_timezone(&pace.zone);
                if pace.today.day() >= STUDY_FROM_DAY
                    && tomorrow::daytime(local_now.hour())
                    && pace.behind()
                {
                    let key = format!(
                        "remind:study:{:04}-{:02}:{user_id}",
                        pace.today.year(),
                        pace.today.month()
                    );
                    due.push((user_id, pace, key));
                }
            }
            let keys: Vec<String> = due.iter().map(|(_, _, k)| k.clone()).collect();
            let done = existing(c, &keys)?;
            let mut written = 0;
            for (user_id, pace, key) in due {
                if done.contains(&key) {
                    continue;
                }
                let progress = format!(
                    "已学{}学时，应达{}学时",
                    hours(pace.earned_centi),
                    hours(pace.expected_centi)
                );
                let r = Reminder {
                    user_id,
                    org_id: pace.org_id,
                    key,
                    part: Part::WechatSubscribe {
                        user_id,
                        template_id: template.clone(),
                        page: "pages/study/index".to_string(),
                        data: json!({
                            "thing1": {"value": cut("本月学习进度落后，请抓紧学习", THING_MAX)},
                            "thing2": {"value": cut(&progress, THING_MAX)},
                        }),
                    },
                };
                if write(c, now, give_up, &template, r)? {
                    written += 1;
                }
            }
            Ok(written)
        })
        .await
}

/// The role holders of the meeting's own org (secretary, deputies, committee, organizers)
/// whose check-in closes by itself soon: when, and how many have no record yet.
async fn checkin_closing(
    state: &web::Data<AppState>,
    template: String,
    after: chrono::Duration,
) -> ApiResult<usize> {
    let now = state.clock.now_naive();
    let give_up = state.config.push.give_up_after;
    state
        .db
        .write(move |c| {
            let holders: BTreeSet<i64> = grants::holders(c, &template)?.into_iter().collect();
            if holders.is_empty() {
                return Ok(0);
            }
            let mut written = 0;
            for occ in closing::due(c, now, after, None)? {
                let organizers: BTreeSet<i64> = org_roles::table
                    .filter(org_roles::org_id.eq(occ.org_id))
                    .select(org_roles::user_id)
                    .load::<i64>(c)?
                    .into_iter()
                    .filter(|u| holders.contains(u))
                    .collect();
                if organizers.is_empty() {
                    continue;
                }
                let keys: Vec<String> = organizers
                    .iter()
                    .map(|u| format!("remind:closing:{}:{u}", occ.id))
                    .collect();
                let done = existing(c, &keys)?;
                if keys.iter().all(|k| done.contains(k)) {
                    continue;
                }
                let soon = closing::snapshot(c, occ, after)?;
                let standing = format!(
                    "已到{}人，尚无记录{}人",
                    soon.attended(),
                    soon.unrecorded.len()
                );
                let data = json!({
                    "thing1": {"value": cut(&soon.ctx.activity.title, THING_MAX)},
                    "time2": {"value": soon.closes_local_full},
                    "thing3": {"value": cut(&standing, THING_MAX)},
                });
                for (user_id, key) in organizers.into_iter().zip(keys) {
                    if done.contains(&key) {
                        continue;
                    }
                    let r = Reminder {
                        user_id,
                        org_id: soon.ctx.org.id,
                        key,
                        part: Part::WechatSubscribe {
                            user_id,
                            template_id: template.clone(),
                            page: format!("pages/activity/detail?id={}", soon.ctx.occ.id),
                            data: data.clone(),
                        },
                    };
                    if write(c, now, give_up, &template, r)? {
                        written += 1;
                    }
                }
            }
            Ok(written)
        })
        .await
}

/// Sends one claimed reminder and records the attempt; WeChat's `43101` zeroes the
/// member's grants of that template.
pub async fn deliver(state: &web::Data<AppState>, d: Delivery) -> ApiResult<()> {
    let parts: Vec<Part> = serde_json::from_str(&d.parts).map_err(ApiError::internal)?;
    let user_id = match parts.first() {
        Some(Part::WechatSubscribe { user_id, .. }) => *user_id,
        _ => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "delivery {} has no channel and is no reminder",
                d.id
            )));
        }
    };
    let openid = state.db.read(move |c| grants::openid(c, user_id)).await?;
    let (answer, template) = match (parts.first(), openid, state.config.wechat.as_ref()) {
        (
            Some(Part::WechatSubscribe {
                template_id,
                page,
                data,
                ..
            }),
            Some(openid),
            Some(cfg),
        ) => {
            let body = json!({
                "touser": openid,
                "template_id": template_id,
                "page": page,
                "data": data,
                "miniprogram_state": state.config.push.miniprogram_state,
                "lang": "zh_CN",
            });
            let started = Instant::now();
            let result = send_with_token(state, cfg, &body).await;
            let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            (send::wechat_answer(result, ms), Some(template_id.clone()))
        }
        (Some(Part::WechatSubscribe { .. }), None, _) => (
            send::not_sent("the member's WeChat is not bound any more"),
            None,
        ),
        (Some(Part::WechatSubscribe { .. }), _, None) => (
            send::not_sent("WeChat is not configured (DANGKE_WECHAT_APPID)"),
            None,
        ),
        _ => (send::not_sent("not a reminder"), None),
    };
    let now = state.clock.now_naive();
    let base = state.config.push.retry_base;
    let outcome = answer.outcome;
    let errcode = answer.errcode;
    let after = state
        .db
        .write(move |c| {
            let after = outbox::record_attempt(c, now, &d, 1, 0, &answer, base)?;
            if outcome == AttemptOutcome::Refused
                && let Some(t) = &template
            {
                grants::exhaust(c, now, user_id, t)?;
            }
            Ok(after)
        })
        .await?;
    match outcome {
        AttemptOutcome::Sent => tracing::info!(user = user_id, "reminder sent"),
        _ => tracing::warn!(user = user_id, %outcome, ?errcode, ?after, "reminder not sent"),
    }
    Ok(())
}

/// `subscribeMessage.send` with the shared access token (replaced once if WeChat rejects
/// it); failing to get a token at all counts as a transport failure (tried again later).
async fn send_with_token(
    state: &AppState,
    cfg: &crate::config::WechatConfig,
    body: &serde_json::Value,
) -> Result<(), crate::auth::wechat::client::WechatError> {
    use crate::auth::wechat::client::{Endpoint, WechatError};
    let client = WechatClient::new(&state.http, cfg);
    crate::auth::wechat::token::with_token_answer(state, cfg, |tok| {
        let client = &client;
        async move { client.subscribe_send(&tok, body).await }
    })
    .await
    .unwrap_or_else(|e| {
        Err(WechatError::Transport {
            endpoint: Endpoint::StableToken,
            message: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn things_are_cut_on_characters_with_an_ellipsis() {
        assert_eq!(cut("主题党日", 20), "主题党日");
        let long = "柳林镇党委二〇二六年十二月主题党日暨专题组织生活会";
        let c = cut(long, 20);
        assert_eq!(c.chars().count(), 20);
        assert!(c.ends_with('…'));
        assert_eq!(cut("  abc  ", 2), "a…");
    }

    #[test]
    fn study_progress_fits_a_thing() {
        let s = format!("已学{}学时，应达{}学时", hours(123_456), hours(5_600));
        assert!(s.chars().count() <= THING_MAX, "{s}");
    }
}
