//! "A required meeting is about to be missed": when a month, quarter or year is nearly over
//! (a week, about two weeks, a month before its end) and a branch has neither held a
//! meeting its kind requires in it nor scheduled one before the end, the alert channels of
//! every org above it (that opted in) are told which branches still owe which meetings —
//! one message per channel and slot (`alert:slot:{org}:{slot}:{channel}`), in the daytime
//! of the org's zone. Statistics decide what is at risk ([`super::PushState::slots_at_risk`]).

use std::collections::BTreeMap;

use actix_web::web;
use chrono::Timelike;
use serde_json::json;

use super::alerts::{alert_channels, names_line, write_all};
use super::model::Channel;
use super::tomorrow::daytime;
use super::{SlotAtRisk, SlotsAtRisk};
use crate::error::ApiResult;
use crate::state::AppState;

/// Branch lines shown in one alert at most.
const BRANCHES_SHOWN: usize = 20;

/// Writes the alerts due now; returns how many were new.
pub async fn enqueue_due(state: &web::Data<AppState>) -> ApiResult<usize> {
    let channels = state.db.read(|c| alert_channels(c, None)).await?;
    let mut by_org: BTreeMap<i64, Vec<Channel>> = BTreeMap::new();
    for ch in channels {
        by_org.entry(ch.org_id).or_default().push(ch);
    }
    let mut written = 0;
    for (org_id, channels) in by_org {
        let found = (state.push.slots_at_risk)(state.clone(), org_id).await?;
        if !daytime(found.local_now.hour()) || found.items.is_empty() {
            continue;
        }
        let org_name = state
            .db
            .read(move |c| crate::orgs::tree::find(c, org_id))
            .await?
            .name;
        for (slot, items) in by_slot(found) {
            let message = Message::new(&org_name, &slot, &items);
            let give_up = state.config.push.give_up_after;
            let now = state.clock.now_naive();
            let channels = channels.clone();
            written += state
                .db
                .write(move |c| {
                    write_all(
                        c,
                        now,
                        give_up,
                        &channels,
                        org_id,
                        &format!("alert:slot:{org_id}:{slot}"),
                        &message.title,
                        &message.markdown,
                        "alert.meeting_slot_at_risk",
                        &message.data,
                    )
                })
                .await?;
        }
    }
    if written > 0 {
        tracing::info!(written, "required-meeting alerts written");
    }
    Ok(written)
}

/// The items grouped by slot (`2026-11`, `2026-Q4`, `2026`).
fn by_slot(found: SlotsAtRisk) -> BTreeMap<String, Vec<SlotAtRisk>> {
    let mut out: BTreeMap<String, Vec<SlotAtRisk>> = BTreeMap::new();
    for item in found.items {
        out.entry(item.slot.clone()).or_default().push(item);
    }
    out
}

/// "本月", "本季度" or "本年度" for a slot label.
fn slot_word(slot: &str) -> &'static str {
    if slot.contains('Q') {
        "本季度"
    } else if slot.contains('-') {
        "本月"
    } else {
        "本年度"
    }
}

/// One alert, rendered for every kind of channel.
struct Message {
    title: String,
    markdown: String,
    data: serde_json::Value,
}

impl Message {
    fn new(org_name: &str, slot: &str, items: &[SlotAtRisk]) -> Message {
        // Branches in the order statistics gave them, each with its kinds.
        let mut branches: Vec<(i64, &str, Vec<&SlotAtRisk>)> = Vec::new();
        for item in items {
            match branches.iter_mut().find(|(id, _, _)| *id == item.org_id) {
                Some((_, _, list)) => list.push(item),
                None => branches.push((item.org_id, &item.org_name, vec![item])),
            }
        }
        let days_left = items.iter().map(|i| i.days_left).min().unwrap_or(0);
        let slot_end = items.iter().map(|i| i.slot_end).max();
        let word = slot_word(slot);
        let title = format!("{word}必开会议提醒（{slot}）");
        let mut markdown = format!(
            "**{title}**\n> 组织：{org_name}\n> {word}还剩 <font color=\"warning\">{days_left}</font> 天，以下 {} 个支部的必开会议尚未召开，也未安排：\n\n",
            branches.len()
        );
        for (_, name, kinds) in branches.iter().take(BRANCHES_SHOWN) {
            let kinds: Vec<String> = kinds.iter().map(|k| k.kind_name.clone()).collect();
            markdown.push_str(&format!("- {name}：{}\n", names_line(&kinds)));
        }
        if branches.len() > BRANCHES_SHOWN {
            markdown.push_str(&format!(
                "- …… 等 {} 个支部（详见合规统计）\n",
                branches.len()
            ));
        }
        let data = json!({
            "org_name": org_name,
            "slot": slot,
            "slot_end": slot_end,
            "days_left": days_left,
            "branches": branches
                .iter()
                .map(|(id, name, kinds)| json!({
                    "org_id": id,
                    "org_name": name,
                    "kinds": kinds.iter().map(|k| k.kind.as_str()).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>(),
        });
        Message {
            title,
            markdown,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn item(org_id: i64, name: &str, kind: &str, kind_name: &str) -> SlotAtRisk {
        SlotAtRisk {
            org_id,
            org_name: name.into(),
            kind: kind.into(),
            kind_name: kind_name.into(),
            slot: "2026-11".into(),
            slot_end: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            days_left: 7,
        }
    }

    #[test]
    fn one_line_per_branch_with_its_kinds_and_a_cap() {
        let items = vec![
            item(1, "东山村党支部", "branch_committee_meeting", "支委会"),
            item(1, "东山村党支部", "party_group_meeting", "党小组会"),
            item(2, "西河村党支部", "theme_party_day", "主题党日"),
        ];
        let m = Message::new("城关镇党委", "2026-11", &items);
        assert_eq!(m.title, "本月必开会议提醒（2026-11）");
        assert!(
            m.markdown.contains("- 东山村党支部：支委会、党小组会\n"),
            "{}",
            m.markdown
        );
        assert!(m.markdown.contains("- 西河村党支部：主题党日\n"));
        assert!(m.markdown.contains("以下 2 个支部"));
        assert_eq!(m.data["branches"][0]["kinds"][1], "party_group_meeting");
        let many: Vec<SlotAtRisk> = (0..25)
            .map(|i| item(i, &format!("第{i}村党支部"), "theme_party_day", "主题党日"))
            .collect();
        let m = Message::new("城关镇党委", "2026-11", &many);
        assert_eq!(m.markdown.matches("：主题党日").count(), BRANCHES_SHOWN);
        assert!(m.markdown.contains("等 25 个支部"));
        assert!(m.markdown.len() < 4096);
        assert_eq!(slot_word("2026-Q4"), "本季度");
        assert_eq!(slot_word("2026"), "本年度");
    }
}
