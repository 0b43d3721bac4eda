//! What goes into the outbox: the scheduled digests (one per channel and period) and test
//! messages, shaped for each kind of channel.

use actix_web::web;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::{Channel, ChannelKind, DigestFrequency, Part, Purpose, Schedule};
use super::outbox::{self, NewDelivery};
use super::schedule;
use super::{Digest, PushState};
use crate::db::schema::{push_channels as pc, push_deliveries as pd, push_schedules as ps};
use crate::error::ApiResult;
use crate::state::AppState;

/// WeCom's limit on an image, before encoding.
const WECOM_IMAGE_MAX: usize = 2 * 1024 * 1024;

/// The parts of a digest for a channel of `kind`: WeCom markdown, then the chart as an
/// image message; DingTalk markdown ending with the chart by its signed URL (when the URL
/// is absolute, i.e. `DANGKE_MEDIA_PUBLIC_URL` is set: DingTalk fetches it); the JSON
/// report with `chart_url` for a webhook (event type `digest`).
pub fn digest_parts(kind: ChannelKind, d: &Digest) -> Vec<Part> {
    match kind {
        ChannelKind::WecomRobot => {
            let mut parts = vec![Part::WecomMarkdown {
                content: d.wecom_markdown.clone(),
            }];
            if let Some(png) = d.chart_png.as_ref().filter(|p| p.len() <= WECOM_IMAGE_MAX) {
                use md5::Digest as _;
                parts.push(Part::WecomImage {
                    base64: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png),
                    md5: hex::encode(md5::Md5::digest(png)),
                });
            }
            parts
        }
        ChannelKind::DingtalkRobot => {
            let mut text = d.dingtalk_text.clone();
            if let Some(url) = d.chart_url.as_ref().filter(|u| u.starts_with("http")) {
                text.push_str(&format!("\n\n![学时图]({url})\n"));
            }
            vec![Part::DingtalkMarkdown {
                title: d.dingtalk_title.clone(),
                text,
            }]
        }
        ChannelKind::Webhook => {
            let mut data = d.json.clone();
            if let (Some(obj), Some(url)) = (data.as_object_mut(), d.chart_url.as_ref()) {
                obj.insert("chart_url".into(), serde_json::Value::String(url.clone()));
            }
            vec![Part::Webhook {
                event_type: "digest".into(),
                data,
            }]
        }
    }
}

/// The parts of a test message.
pub fn test_parts(kind: ChannelKind, org_name: &str, channel_name: &str, local: &str) -> Vec<Part> {
    let text = format!(
        "**党课学习平台 · 测试消息**\n> 组织：{org_name}\n> 渠道：{channel_name}\n> 时间：{local}\n\n收到这条消息，说明推送已接通。"
    );
    match kind {
        ChannelKind::WecomRobot => vec![Part::WecomMarkdown { content: text }],
        ChannelKind::DingtalkRobot => vec![Part::DingtalkMarkdown {
            title: "党课学习平台 · 测试消息".into(),
            text,
        }],
        ChannelKind::Webhook => vec![Part::Webhook {
            event_type: "test".into(),
            data: serde_json::json!({
                "org_name": org_name,
                "channel_name": channel_name,
                "local_time": local,
            }),
        }],
    }
}

/// A digest due now: the channel, the org, and the days it covers.
struct Due {
    channel: Channel,
    from: NaiveDate,
    to: NaiveDate,
    key: String,
}

fn digest_key(channel_id: i64, from: NaiveDate, to: NaiveDate) -> String {
    format!("digest:{channel_id}:{from}..{to}")
}

/// Writes the digests that are due and not yet written; returns how many it wrote.
pub async fn enqueue_due(state: &web::Data<AppState>, push: &PushState) -> ApiResult<usize> {
    let now = state.clock.now_naive();
    let due: Vec<Due> = state
        .db
        .read(move |c| {
            let rows: Vec<(Schedule, Channel)> = ps::table
                .inner_join(pc::table)
                .filter(pc::deleted_at.is_null())
                .order(ps::id.asc())
                .select((Schedule::as_select(), Channel::as_select()))
                .load(c)?;
            let mut due = Vec::new();
            for (s, ch) in rows {
                let org = crate::orgs::tree::find(c, ch.org_id)?;
                let zone = crate::orgs::settings::time_zone(c, &org)?;
                let now_local = chrono::TimeZone::from_utc_datetime(&zone, &now).naive_local();
                let frequency = DigestFrequency::from_db(&s.frequency)?;
                let Some(fired) = schedule::last_firing(
                    frequency,
                    s.weekday,
                    s.month_day,
                    &s.local_time,
                    now_local,
                ) else {
                    continue;
                };
                if schedule::to_utc(zone, fired) < s.created_at {
                    continue;
                }
                let Some((from, to)) = schedule::period_for(frequency, fired.date()) else {
                    continue;
                };
                let key = digest_key(ch.id, from, to);
                let written: i64 = pd::table
                    .filter(pd::dedup_key.eq(&key))
                    .count()
                    .get_result(c)?;
                if written == 0 {
                    due.push(Due {
                        channel: ch,
                        from,
                        to,
                        key,
                    });
                }
            }
            Ok(due)
        })
        .await?;
    let mut written = 0;
    for d in due {
        let digest = (push.digest)(state.clone(), d.channel.org_id, d.from, d.to).await?;
        let kind = ChannelKind::from_db(&d.channel.kind)?;
        let give_up = state.config.push.give_up_after;
        let delivery = NewDelivery {
            target: outbox::Target::Channel(d.channel.id),
            org_id: d.channel.org_id,
            purpose: Purpose::Digest,
            dedup_key: d.key,
            parts: digest_parts(kind, &digest),
        };
        if state
            .db
            .write(move |c| outbox::enqueue(c, now, give_up, delivery))
            .await?
        {
            written += 1;
        }
    }
    Ok(written)
}

/// The local time in the org's zone, for messages.
pub fn local_label(zone: chrono_tz::Tz, now: NaiveDateTime) -> String {
    chrono::TimeZone::from_utc_datetime(&zone, &now)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
