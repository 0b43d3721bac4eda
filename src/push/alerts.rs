//! Event alerts to the channels of an org that opted in (`alerts: true`):
//! - **check-in closed**: the attendance summary of an occurrence right after its check-in
//!   closes — from the change queue (consumer `push`), written in the transaction that
//!   takes the change, so a crash neither loses nor repeats it;
//! - **meeting tomorrow, many not answered**: the day before a meeting, when at least three
//!   invitees (and a fifth of them) have neither asked for leave nor will get a WeChat
//!   reminder, the organizers are told whom to phone.
//!
//! - **check-in closes soon**: [`closing::LEAD_MINUTES`] before check-in that is still open
//!   is closed automatically (`DANGKE_CHECKIN_AUTO_CLOSE` after the end), the organizers
//!   are told who has no record yet, so they can record late arrivals or proxies first.
//!
//! Each alert is keyed per channel (`alert:closed:{occurrence}:{channel}`,
//! `alert:tomorrow:{occurrence}:{channel}`, `alert:closing:{occurrence}:{channel}`), so it
//! is written once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use actix_web::web;
use chrono::{NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::closing;
use super::model::{Channel, ChannelKind, Part, Purpose};
use super::outbox::{self, NewDelivery, Target};
use super::tomorrow::{self, Tomorrow};
use crate::activities::access::{OccurrenceCtx, find_activity, find_occurrence};
use crate::activities::model::CheckinState;
use crate::changes::{self, CHUNK, Change, Consumer};
use crate::db::DbConnection;
use crate::db::schema::{activity_leaves, push_channels as pc, push_deliveries as pd, users};
use crate::error::ApiResult;
use crate::state::AppState;

/// Names listed in an alert at most.
const NAMES_SHOWN: usize = 15;

/// The live channels that take alerts, of one org or of all.
pub(super) fn alert_channels(
    conn: &mut DbConnection,
    org_id: Option<i64>,
) -> ApiResult<Vec<Channel>> {
    let mut q = pc::table
        .filter(pc::alerts.eq(true))
        .filter(pc::deleted_at.is_null())
        .filter(pc::broken_at.is_null())
        .order(pc::id.asc())
        .select(Channel::as_select())
        .into_boxed();
    if let Some(id) = org_id {
        q = q.filter(pc::org_id.eq(id));
    }
    Ok(q.load(conn)?)
}

/// The parts of an alert for a channel of `kind`.
fn parts(kind: ChannelKind, title: &str, markdown: &str, event: &str, data: &Value) -> Vec<Part> {
    match kind {
        ChannelKind::WecomRobot => vec![Part::WecomMarkdown {
            content: markdown.to_string(),
        }],
        ChannelKind::DingtalkRobot => vec![Part::DingtalkMarkdown {
            title: title.to_string(),
            text: markdown.to_string(),
        }],
        ChannelKind::Webhook => vec![Part::Webhook {
            event_type: event.to_string(),
            data: data.clone(),
        }],
    }
}

/// Writes one alert to each of `channels`; returns how many were new.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_all(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    give_up: Duration,
    channels: &[Channel],
    org_id: i64,
    key: &str,
    title: &str,
    markdown: &str,
    event: &str,
    data: &Value,
) -> ApiResult<usize> {
    let mut written = 0;
    for ch in channels {
        let kind = ChannelKind::from_db(&ch.kind)?;
        if outbox::enqueue(
            conn,
            now,
            give_up,
            NewDelivery {
                target: Target::Channel(ch.id),
                org_id,
                purpose: Purpose::Alert,
                dedup_key: format!("{key}:{}", ch.id),
                parts: parts(kind, title, markdown, event, data),
            },
        )? {
            written += 1;
        }
    }
    Ok(written)
}

/// Names joined with "、", at most [`NAMES_SHOWN`], then "等 N 人".
pub(super) fn names_line(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(NAMES_SHOWN).map(String::as_str).collect();
    let mut line = shown.join("、");
    if names.len() > NAMES_SHOWN {
        line.push_str(&format!(" 等 {} 人", names.len()));
    }
    line
}

/// Applies the pending `push` changes (a chunk per transaction): each occurrence whose
/// check-in is closed gets its summary written to its org's alert channels. Returns the
/// alerts written.
pub async fn apply_changes(state: &web::Data<AppState>) -> ApiResult<usize> {
    let give_up = state.config.push.give_up_after;
    let mut written = 0;
    loop {
        let now = state.clock.now_naive();
        let (taken, w) = state
            .db
            .write(move |c| {
                changes::lock(c, Consumer::Push)?;
                let taken = changes::take(c, Consumer::Push, CHUNK, None)?;
                if taken.ids.is_empty() {
                    return Ok((0, 0));
                }
                let occurrences: BTreeSet<i64> = taken
                    .changes
                    .iter()
                    .filter_map(|ch| match ch {
                        Change::OccurrenceChanged { occurrence_id } => Some(*occurrence_id),
                        _ => None,
                    })
                    .collect();
                let mut w = 0;
                for id in occurrences {
                    w += checkin_closed(c, now, give_up, id)?;
                }
                changes::done(c, &taken.ids)?;
                Ok((taken.ids.len(), w))
            })
            .await?;
        written += w;
        if taken < CHUNK {
            return Ok(written);
        }
    }
}

/// The attendance summary of occurrence `id`, if its check-in is closed.
fn checkin_closed(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    give_up: Duration,
    id: i64,
) -> ApiResult<usize> {
    let Ok(occ) = find_occurrence(conn, id) else {
        return Ok(0);
    };
    if occ.checkin() != CheckinState::Closed || occ.is_cancelled() {
        return Ok(0);
    }
    let channels = alert_channels(conn, Some(occ.org_id))?;
    if channels.is_empty() {
        return Ok(0);
    }
    let activity = find_activity(conn, occ.activity_id)?;
    let org = crate::orgs::tree::find(conn, occ.org_id)?;
    let tz = tomorrow::zone_of(&activity);
    let start = tz
        .from_utc_datetime(&occ.starts_at)
        .format("%Y-%m-%d %H:%M");
    let ctx = OccurrenceCtx {
        occ,
        activity,
        org,
        manage: true,
    };
    let list = crate::activities::attendance::list(conn, &ctx)?;
    let k = &list.counts;
    let attended = k.present + k.late + k.proxy;
    let missing: Vec<String> = list
        .items
        .iter()
        .filter(|i| {
            use crate::activities::model::AttendanceStatus as S;
            matches!(i.status, None | Some(S::Absent))
        })
        .map(|i| i.name.clone())
        .collect();
    let title = format!("{} 签到结束", ctx.activity.title);
    let mut md = format!(
        "**{}**\n> 组织：{}\n> 时间：{start}\n> 应到 {}，实到 <font color=\"info\">{attended}</font>（迟到 {}，代签 {}），请假 {}，缺席 <font color=\"warning\">{}</font>\n",
        title,
        ctx.org.name,
        k.invited,
        k.late,
        k.proxy,
        k.leave,
        missing.len(),
    );
    if !missing.is_empty() {
        md.push_str(&format!("\n缺席：{}\n", names_line(&missing)));
    }
    let data = json!({
        "occurrence_id": ctx.occ.id,
        "org_id": ctx.org.id,
        "org_name": ctx.org.name,
        "title": ctx.activity.title,
        "starts_at": ctx.occ.starts_at.and_utc(),
        "counts": k,
        "absent": missing,
    });
    write_all(
        conn,
        now,
        give_up,
        &channels,
        ctx.org.id,
        &format!("alert:closed:{}", ctx.occ.id),
        &title,
        &md,
        "alert.checkin_closed",
        &data,
    )
}

/// Check-in still open whose automatic close comes within [`closing::LEAD_MINUTES`]: the
/// organizers' alert channels learn when it closes and who has no record yet. Nothing when
/// auto-close is off. Returns the alerts written.
pub async fn checkin_closing_soon(state: &web::Data<AppState>) -> ApiResult<usize> {
    let Some(after) = closing::delay(state) else {
        return Ok(0);
    };
    let now = state.clock.now_naive();
    let give_up = state.config.push.give_up_after;
    state
        .db
        .write(move |c| {
            let mut by_org: BTreeMap<i64, Vec<Channel>> = BTreeMap::new();
            for ch in alert_channels(c, None)? {
                by_org.entry(ch.org_id).or_default().push(ch);
            }
            if by_org.is_empty() {
                return Ok(0);
            }
            let orgs: Vec<i64> = by_org.keys().copied().collect();
            let mut written = 0;
            for occ in closing::due(c, now, after, Some(&orgs))? {
                let channels = by_org.get(&occ.org_id).map_or(&[][..], Vec::as_slice);
                let soon = closing::snapshot(c, occ, after)?;
                written += closing_soon(c, now, give_up, channels, &soon)?;
            }
            Ok(written)
        })
        .await
}

fn closing_soon(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    give_up: Duration,
    channels: &[Channel],
    soon: &closing::Closing,
) -> ApiResult<usize> {
    let (ctx, k) = (&soon.ctx, &soon.counts);
    let title = format!(
        "{} 签到将于 {} 自动结束",
        ctx.activity.title, soon.closes_local
    );
    let mut md = format!(
        "**{title}**\n> 组织：{}\n> 时间：{}\n> 应到 {}，已到 {}，尚无记录 <font color=\"warning\">{}</font>\n\n结束后尚无记录的党员记为缺席；迟到或代签请在此之前登记。\n",
        ctx.org.name,
        soon.start_local,
        k.invited,
        soon.attended(),
        soon.unrecorded.len(),
    );
    if !soon.unrecorded.is_empty() {
        md.push_str(&format!("\n尚无记录：{}\n", names_line(&soon.unrecorded)));
    }
    let data = json!({
        "occurrence_id": ctx.occ.id,
        "org_id": ctx.org.id,
        "org_name": ctx.org.name,
        "title": ctx.activity.title,
        "starts_at": ctx.occ.starts_at.and_utc(),
        "closes_at": soon.closes_at.and_utc(),
        "counts": k,
        "unrecorded": soon.unrecorded,
    });
    write_all(
        conn,
        now,
        give_up,
        channels,
        ctx.org.id,
        &format!("alert:closing:{}", ctx.occ.id),
        &title,
        &md,
        "alert.checkin_closing",
        &data,
    )
}

/// The day before a meeting (daytime in its zone): whom the organizers should phone.
pub async fn meetings_tomorrow(state: &web::Data<AppState>) -> ApiResult<usize> {
    let now_utc = state.clock.now();
    let now = now_utc.naive_utc();
    let give_up = state.config.push.give_up_after;
    state
        .db
        .write(move |c| {
            let mut by_org: BTreeMap<i64, Vec<Channel>> = BTreeMap::new();
            for ch in alert_channels(c, None)? {
                by_org.entry(ch.org_id).or_default().push(ch);
            }
            if by_org.is_empty() {
                return Ok(0);
            }
            let orgs: Vec<i64> = by_org.keys().copied().collect();
            let mut written = 0;
            for t in tomorrow::meetings(c, now_utc, Some(&orgs))? {
                let channels = by_org.get(&t.occ.org_id).map_or(&[][..], Vec::as_slice);
                written += unanswered(c, now, give_up, channels, t)?;
            }
            Ok(written)
        })
        .await
}

fn unanswered(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    give_up: Duration,
    channels: &[Channel],
    t: Tomorrow,
) -> ApiResult<usize> {
    let Tomorrow {
        occ,
        activity,
        local_start,
        place,
    } = t;
    let org = crate::orgs::tree::find(conn, occ.org_id)?;
    let invited = crate::activities::invitees::of(conn, &occ, &activity, &org)?;
    let asked_leave: BTreeSet<i64> = activity_leaves::table
        .filter(activity_leaves::occurrence_id.eq(occ.id))
        .select(activity_leaves::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let prefix = format!("remind:meeting:{}:", occ.id);
    // The keys `remind:meeting:{occurrence}:{user}` sort between the prefix and the prefix
    // with its last ':' bumped to ';'.
    let reminded: BTreeSet<i64> = pd::table
        .filter(pd::org_id.eq(occ.org_id))
        .filter(pd::channel_id.is_null())
        .filter(pd::dedup_key.gt(&prefix))
        .filter(pd::dedup_key.lt(format!("remind:meeting:{};", occ.id)))
        .select(pd::dedup_key)
        .load::<String>(conn)?
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix)?.parse().ok())
        .collect();
    let silent: Vec<i64> = invited
        .iter()
        .copied()
        .filter(|u| !asked_leave.contains(u) && !reminded.contains(u))
        .collect();
    let n = invited.len();
    if silent.len() < 3 || silent.len() * 5 < n {
        return Ok(0);
    }
    let mut names: Vec<String> = users::table
        .filter(users::id.eq_any(&silent))
        .select(users::name)
        .load(conn)?;
    names.sort();
    let title = format!("明日{}", activity.title);
    let md = format!(
        "**{title}：{} 人未回应**\n> 组织：{}\n> 时间：{}\n> 地点：{place}\n> 应到 {n} 人，其中 {} 人未请假、也收不到微信提醒\n\n请电话通知：{}\n",
        silent.len(),
        org.name,
        local_start.format("%Y-%m-%d %H:%M"),
        silent.len(),
        names_line(&names),
    );
    let data = json!({
        "occurrence_id": occ.id,
        "org_id": org.id,
        "org_name": org.name,
        "title": activity.title,
        "starts_at": occ.starts_at.and_utc(),
        "invited": n,
        "unanswered": names,
    });
    write_all(
        conn,
        now,
        give_up,
        channels,
        org.id,
        &format!("alert:tomorrow:{}", occ.id),
        &title,
        &md,
        "alert.meeting_tomorrow",
        &data,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_capped_with_a_count() {
        let names: Vec<String> = (0..20).map(|i| format!("党员{i}")).collect();
        let line = names_line(&names);
        assert!(line.ends_with(" 等 20 人"), "{line}");
        assert_eq!(line.matches('、').count(), NAMES_SHOWN - 1);
        assert_eq!(names_line(&names[..2]), "党员0、党员1");
    }
}
