//! Reminders to members and alerts to organizers, over HTTP against loopback WeChat and
//! robots: one-time subscription grants reported by the phone, one message per grant and
//! never one without, WeChat's `43101` zeroing the grants, `thing` values cut to 20
//! characters, "behind on study" once a month; the attendance summary when check-in closes
//! (from the change queue), the day-before alert about invitees nobody reached, and the alert
//! about required meetings about to be missed.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::activities::{schedule, sh};
use crate::helpers::push_receivers::{PushReceivers, Target};
use crate::helpers::wechat_server::WechatServer;
use crate::helpers::world::PASSWORD;
use crate::helpers::world::World;
use crate::helpers::{Client, Options, TestApp, spawn_with, start_time};
use dangke::clock::ManualClock;

const MEETING: &str = "tmpl-meeting-3fA9";
const STUDY: &str = "tmpl-study-77Qe";
const CHECKIN: &str = "tmpl-checkin-Zk21";
const WECOM_KEY: &str = "5b2f3c1e-aaaa-4bc4-97a0-0ec2reminder";

async fn setup() -> (TestApp, WechatServer, PushReceivers) {
    let clock = Arc::new(ManualClock::new(start_time()));
    let wx = WechatServer::start(clock.clone()).await;
    let robots = PushReceivers::start(clock.clone()).await;
    robots.add_wecom_key(WECOM_KEY);
    let mut vars = wx.vars();
    vars.extend([
        ("DANGKE_WECHAT_TEMPLATE_MEETING", MEETING.to_string()),
        ("DANGKE_WECHAT_TEMPLATE_STUDY", STUDY.to_string()),
        ("DANGKE_WECHAT_TEMPLATE_CHECKIN", CHECKIN.to_string()),
        ("DANGKE_WECOM_API_BASE", robots.base()),
        ("DANGKE_PUSH_EVERY", "off".to_string()),
        ("DANGKE_PUSH_TIMEOUT", "3s".to_string()),
        // The tests move the clock over weeks; the people stay logged in.
        ("DANGKE_ACCESS_TOKEN_TTL", "90d".to_string()),
    ]);
    let app = spawn_with(Options {
        vars,
        clock: Some(clock),
        ..Options::default()
    })
    .await;
    (app, wx, robots)
}

/// One pass of the push worker.
async fn pass(app: &TestApp) -> dangke::push::worker::Pass {
    dangke::push::worker::run_once(&app.app_state)
        .await
        .expect("worker pass")
}

/// Binds `phone`'s account to WeChat `openid` the way the mini-program does.
async fn bind_wechat(app: &TestApp, wx: &WechatServer, tag: &str, openid: &str, phone: &str) {
    wx.add_login(&format!("js-{tag}"), openid, None);
    let r = app
        .client()
        .post("/v1/auth/wechat", json!({"code": format!("js-{tag}")}))
        .await;
    r.expect(200);
    let token = r.json()["bind_token"].as_str().unwrap().to_string();
    wx.add_phone(&format!("ph-{tag}"), phone);
    app.client()
        .post(
            "/v1/auth/wechat/bind",
            json!({"bind_token": token, "phone_code": format!("ph-{tag}"), "password": PASSWORD}),
        )
        .await
        .expect(200);
}

async fn grant(c: &Client, template: &str, accepted: i32) -> Value {
    let r = c
        .post(
            "/v1/me/subscriptions",
            json!({"template_id": template, "accepted": accepted}),
        )
        .await;
    r.expect(200);
    r.json()
}

fn remaining(view: &Value, kind: &str) -> i64 {
    view["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {view}"))["remaining"]
        .as_i64()
        .unwrap()
}

/// A one-off meeting of branch A at `start_local` (Shanghai), two hours long.
async fn meeting(w: &World, title: &str, start_local: &str, end_local: &str) -> i64 {
    let a = schedule(
        &w.secretary_a,
        w.branch_a,
        json!({"kind": "theme_party_day", "title": title, "agenda": "学习",
               "place": "东山村党群服务中心", "start_local": start_local, "end_local": end_local}),
    )
    .await;
    a["upcoming"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no occurrence in {a}"))
}

async fn reminders(app: &TestApp, c: &Client, org: i64) -> Vec<Value> {
    let r = c.get(&format!("/v1/orgs/{org}/deliveries?limit=200")).await;
    r.expect(200);
    let _ = app;
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["purpose"] == "reminder")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_meeting_reminder_spends_one_grant_and_none_goes_without() {
    let (app, wx, _robots) = setup().await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    let phone_a = "13900000003";
    // Reporting grants: the template must be a reminder's, 1–10 at a time, WeChat bound.
    w.member_a
        .post(
            "/v1/me/subscriptions",
            json!({"template_id": MEETING, "accepted": 1}),
        )
        .await
        .expect_problem(409, "wechat_not_bound");
    bind_wechat(&app, &wx, "a", "openid-a", phone_a).await;
    w.member_a
        .post(
            "/v1/me/subscriptions",
            json!({"template_id": "tmpl-someone-else", "accepted": 1}),
        )
        .await
        .expect_problem(422, "unknown_template");
    w.member_a
        .post(
            "/v1/me/subscriptions",
            json!({"template_id": MEETING, "accepted": 0}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let before = w.member_a.get("/v1/me/subscriptions").await;
    before.expect(200);
    assert_eq!(before.json()["wechat_bound"], true);
    assert_eq!(remaining(&before.json(), "meeting_tomorrow"), 0);
    // She allows one message on the phone; WeChat counts it too.
    wx.grant("openid-a", MEETING, 1);
    let v = grant(&w.member_a, MEETING, 1).await;
    assert_eq!(remaining(&v, "meeting_tomorrow"), 1);
    assert_eq!(remaining(&v, "study_behind"), 0);

    // A meeting tomorrow with a title longer than WeChat's 20-character `thing`.
    let long_title = "柳林镇东山村党支部二〇二六年十一月主题党日暨专题学习会";
    let occ = meeting(&w, long_title, "2026-11-28T09:00:00", "2026-11-28T11:00:00").await;
    // At night nothing goes out; in the evening before, one reminder.
    app.clock.set(sh(2026, 11, 27, 6, 0));
    assert_eq!(pass(&app).await.reminders_written, 0);
    app.clock.set(sh(2026, 11, 27, 19, 0));
    let p = pass(&app).await;
    assert_eq!(p.reminders_written, 1, "{p:?}");
    let sent = wx.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = &sent[0];
    assert_eq!(m["touser"], "openid-a");
    assert_eq!(m["template_id"], MEETING);
    assert_eq!(m["miniprogram_state"], "formal");
    assert!(
        m["page"].as_str().unwrap().ends_with(&format!("id={occ}")),
        "{m}"
    );
    let thing = m["data"]["thing1"]["value"].as_str().unwrap();
    assert_eq!(thing.chars().count(), 20, "{thing}");
    assert!(thing.ends_with('…') && long_title.starts_with(thing.trim_end_matches('…')));
    assert_eq!(m["data"]["time2"]["value"], "2026-11-28 09:00");
    assert_eq!(m["data"]["thing3"]["value"], "东山村党群服务中心");
    assert_eq!(wx.grants_left("openid-a", MEETING), 0);
    assert_eq!(wx.refused(), 0);
    let after = w.member_a.get("/v1/me/subscriptions").await.json();
    assert_eq!(remaining(&after, "meeting_tomorrow"), 0);
    // The organizer sees it delivered, addressed to her, not to a channel.
    let list = reminders(&app, &w.secretary_a, w.branch_a).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["status"], "delivered");
    assert_eq!(list[0]["user_id"], w.member_a_id);
    assert!(list[0]["channel_id"].is_null());

    // Later passes, and a second meeting, send nothing more: no grant is left.
    app.clock.set(sh(2026, 11, 27, 19, 30));
    pass(&app).await;
    let occ2 = meeting(
        &w,
        "支部委员会",
        "2026-11-29T15:00:00",
        "2026-11-29T16:00:00",
    )
    .await;
    app.clock.set(sh(2026, 11, 28, 19, 0));
    let p = pass(&app).await;
    assert_eq!(p.reminders_written, 0, "{p:?}");
    assert_eq!(wx.sent().len(), 1);
    assert_eq!(wx.refused(), 0, "a message went without a grant");

    // The phone reports two grants, but WeChat only holds one (the other was refused on
    // its side): the second message answers 43101, ends dead, and zeroes her grants.
    wx.grant("openid-a", MEETING, 1);
    assert_eq!(
        remaining(&grant(&w.member_a, MEETING, 2).await, "meeting_tomorrow"),
        2
    );
    let _occ3 = meeting(&w, "党课", "2026-11-29T19:00:00", "2026-11-29T20:00:00").await;
    app.clock.set(sh(2026, 11, 28, 19, 10));
    let p = pass(&app).await;
    assert_eq!(p.reminders_written, 2, "{p:?}");
    assert_eq!(wx.sent().len(), 2);
    assert_eq!(wx.refused(), 1);
    let list = reminders(&app, &w.secretary_a, w.branch_a).await;
    let dead: Vec<&Value> = list.iter().filter(|d| d["status"] == "dead").collect();
    assert_eq!(dead.len(), 1, "{list:?}");
    assert_eq!(dead[0]["attempt_log"][0]["errcode"], 43101);
    assert_eq!(dead[0]["attempt_log"][0]["outcome"], "refused");
    let after = w.member_a.get("/v1/me/subscriptions").await.json();
    assert_eq!(remaining(&after, "meeting_tomorrow"), 0);
    let _ = occ2;
}

#[tokio::test]
async fn a_member_behind_gets_one_study_reminder_a_month_from_the_20th() {
    let (app, wx, _robots) = setup().await;
    app.clock.set(sh(2026, 11, 10, 10, 0));
    let w = app.world().await;
    bind_wechat(&app, &wx, "a", "openid-a", "13900000003").await;
    wx.grant("openid-a", STUDY, 3);
    grant(&w.member_a, STUDY, 3).await;
    // Before the 20th: nothing, although she has studied nothing.
    assert_eq!(pass(&app).await.reminders_written, 0);
    app.clock.set(sh(2026, 11, 20, 10, 0));
    let p = pass(&app).await;
    assert_eq!(p.reminders_written, 1, "{p:?}");
    let sent = wx.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["template_id"], STUDY);
    let hours = sent[0]["data"]["thing2"]["value"].as_str().unwrap();
    // 32 h a year, pro rata on 20 November (day 324 of 365): 28.4 h expected.
    assert_eq!(hours, "已学0.0学时，应达28.4学时");
    assert!(hours.chars().count() <= 20);
    // Once a month, however many passes and grants.
    for h in [11, 14, 18] {
        app.clock.set(sh(2026, 11, 25, h, 0));
        pass(&app).await;
    }
    assert_eq!(wx.sent().len(), 1);
    // December's goes on the 20th.
    app.clock.set(sh(2026, 12, 20, 9, 0));
    assert_eq!(pass(&app).await.reminders_written, 1);
    assert_eq!(wx.sent().len(), 2);
    assert_eq!(wx.refused(), 0);
    assert_eq!(
        remaining(
            &w.member_a.get("/v1/me/subscriptions").await.json(),
            "study_behind"
        ),
        1
    );
}

/// Issue 22: before check-in closes by itself (`DANGKE_CHECKIN_AUTO_CLOSE`, 2 h after the
/// end), the meeting org's role holders who allowed it get one WeChat reminder with the
/// close time and who has no record yet; members with the same grant get none.
#[tokio::test]
async fn organizers_are_reminded_on_wechat_before_check_in_closes_by_itself() {
    let (app, wx, _robots) = setup().await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    bind_wechat(&app, &wx, "sec", "openid-sec", "13900000001").await;
    bind_wechat(&app, &wx, "mem", "openid-mem", "13900000003").await;
    for (client, openid) in [(&w.secretary_a, "openid-sec"), (&w.member_a, "openid-mem")] {
        wx.grant(openid, CHECKIN, 1);
        let v = grant(client, CHECKIN, 1).await;
        assert_eq!(remaining(&v, "checkin_closing"), 1, "{v}");
    }
    let title = "十一月主题党日";
    let occ = meeting(&w, title, "2026-11-30T09:00:00", "2026-11-30T11:00:00").await;
    let sec = &w.secretary_a;
    app.clock.set(sh(2026, 11, 30, 9, 0));
    sec.post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    let code = sec.checkin_code(occ).await;
    w.member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": code}),
        )
        .await
        .expect(200);

    // Nobody closes it. Forty minutes before the automatic close (13:00): nothing yet.
    app.clock.set(sh(2026, 11, 30, 12, 20));
    assert_eq!(pass(&app).await.reminders_written, 0);
    assert!(wx.sent().is_empty());
    // Twenty minutes before: one reminder, to the secretary only.
    app.clock.set(sh(2026, 11, 30, 12, 40));
    let p = pass(&app).await;
    assert_eq!(p.reminders_written, 1, "{p:?}");
    let sent = wx.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = &sent[0];
    assert_eq!(m["touser"], "openid-sec");
    assert_eq!(m["template_id"], CHECKIN);
    assert_eq!(m["data"]["thing1"]["value"], title);
    assert_eq!(m["data"]["time2"]["value"], "2026-11-30 13:00");
    // Invited: 李书记, 张委员, 王党员; 王党员 checked in.
    assert_eq!(m["data"]["thing3"]["value"], "已到1人，尚无记录2人");
    assert!(
        m["page"].as_str().unwrap().ends_with(&format!("id={occ}")),
        "{m}"
    );
    assert_eq!(wx.refused(), 0);
    let after = sec.get("/v1/me/subscriptions").await.json();
    assert_eq!(remaining(&after, "checkin_closing"), 0);
    let member = w.member_a.get("/v1/me/subscriptions").await.json();
    assert_eq!(remaining(&member, "checkin_closing"), 1, "not an organizer");

    // Once only: the next pass writes nothing.
    app.clock.set(sh(2026, 11, 30, 12, 55));
    wx.grant("openid-sec", CHECKIN, 1);
    grant(sec, CHECKIN, 1).await;
    assert_eq!(pass(&app).await.reminders_written, 0);
    assert_eq!(wx.sent().len(), 1);
}

async fn alert_channel(w: &World, alerts: bool) -> i64 {
    let r = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/push-channels", w.branch_a),
            json!({"kind": "wecom_robot", "name": "东山村支部群", "key": WECOM_KEY, "alerts": alerts}),
        )
        .await;
    r.expect(201);
    r.json()["channel"]["id"].as_i64().unwrap()
}

fn wecom() -> Target {
    Target::Wecom(WECOM_KEY.into())
}

/// The markdown of the WeCom messages containing `needle`, and the first lines of the others.
fn split_alerts(robots: &PushReceivers, needle: &str) -> (Vec<String>, Vec<String>) {
    let (got, others): (Vec<String>, Vec<String>) = robots
        .accepted(&wecom())
        .iter()
        .map(|g| g.body["markdown"]["content"].as_str().unwrap().to_string())
        .partition(|md| md.contains(needle));
    let others = others
        .iter()
        .map(|md| md.lines().next().unwrap_or_default().to_string())
        .collect();
    (got, others)
}

#[tokio::test]
async fn closing_check_in_sends_the_attendance_summary_to_channels_that_want_alerts() {
    let (app, _wx, robots) = setup().await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    let channel = alert_channel(&w, false).await;
    let occ = meeting(&w, "主题党日", "2026-11-30T09:00:00", "2026-11-30T11:00:00").await;
    let sec = &w.secretary_a;
    app.clock.set(sh(2026, 11, 30, 9, 10));
    sec.post(
        &format!("/v1/occurrences/{occ}/proxy"),
        json!({"user_id": w.member_a_id, "reason": "年迈行动不便"}),
    )
    .await
    .expect(200);
    // Alerts off: closing sends nothing.
    app.clock.set(sh(2026, 11, 30, 11, 0));
    sec.post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await
        .expect(200);
    let p = pass(&app).await;
    assert_eq!(p.alerts_written, 0, "{p:?}");
    assert!(robots.accepted(&wecom()).is_empty());

    // Alerts on: the next meeting's close sends the summary, once.
    w.secretary_a
        .patch(
            &format!("/v1/push-channels/{channel}"),
            json!({"alerts": true}),
        )
        .await
        .expect(200);
    let occ2 = meeting(
        &w,
        "支部党员大会",
        "2026-12-02T09:00:00",
        "2026-12-02T11:00:00",
    )
    .await;
    app.clock.set(sh(2026, 12, 2, 9, 5));
    sec.post(
        &format!("/v1/occurrences/{occ2}/proxy"),
        json!({"user_id": w.member_a_id, "reason": "外出务工，视频参会"}),
    )
    .await
    .expect(200);
    app.clock.set(sh(2026, 12, 2, 11, 0));
    sec.post(&format!("/v1/occurrences/{occ2}/checkin/close"), json!({}))
        .await
        .expect(200);
    let p = pass(&app).await;
    // The summary, and the year's required-meeting alert (December: branch A has held no
    // organizational life meeting this year).
    assert_eq!(p.alerts_written, 2, "{p:?}");
    pass(&app).await;
    let (got, others) = split_alerts(&robots, "签到结束");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(others, ["**本年度必开会议提醒（2026）**"]);
    let md = got[0].as_str();
    assert!(md.contains("支部党员大会 签到结束"), "{md}");
    assert!(md.contains("应到 3"), "{md}");
    assert!(md.contains("实到 <font color=\"info\">1</font>"), "{md}");
    assert!(md.contains("代签 1"), "{md}");
    // The two who were neither present nor excused are named.
    assert!(md.contains("李书记") && md.contains("张委员"), "{md}");
    assert!(!md.contains("王党员"), "{md}");
}

#[tokio::test]
async fn the_day_before_a_meeting_organizers_learn_whom_nobody_reached() {
    let (app, wx, robots) = setup().await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    for (phone, name) in [("13900000011", "刘大爷"), ("13900000012", "陈阿姨")] {
        app.add_member(&w.admin, w.branch_a, phone, name).await;
    }
    alert_channel(&w, true).await;
    // 王党员 will get a WeChat reminder; the other four are nobody's.
    bind_wechat(&app, &wx, "a", "openid-a", "13900000003").await;
    wx.grant("openid-a", MEETING, 1);
    grant(&w.member_a, MEETING, 1).await;
    let occ = meeting(&w, "主题党日", "2026-11-28T09:00:00", "2026-11-28T11:00:00").await;
    // 张委员 asks for leave: an answer.
    w.committee_a
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "到县里开会"}),
        )
        .await
        .expect(201);
    app.clock.set(sh(2026, 11, 27, 18, 0));
    let p = pass(&app).await;
    assert_eq!(p.reminders_written, 1, "{p:?}");
    // This alert, and the month's required-meeting alert (four days left, no committee
    // meeting on the calendar).
    assert_eq!(p.alerts_written, 2, "{p:?}");
    app.clock.set(sh(2026, 11, 27, 18, 20));
    let p = pass(&app).await;
    assert_eq!(p.alerts_written, 0, "written twice: {p:?}");
    let (got, others) = split_alerts(&robots, "人未回应");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(others, ["**本月必开会议提醒（2026-11）**"]);
    let md = got[0].as_str();
    assert!(md.contains("3 人未回应"), "{md}");
    for name in ["李书记", "刘大爷", "陈阿姨"] {
        assert!(md.contains(name), "{name} missing: {md}");
    }
    for name in ["王党员", "张委员"] {
        assert!(!md.contains(name), "{name} listed: {md}");
    }
}

/// A week before the month ends, the township's alert channel learns which branches have
/// neither held nor scheduled a meeting the month requires — once per slot, in the
/// daytime, and again for the quarter and the year when their ends come near.
#[tokio::test]
async fn organizers_learn_which_required_meetings_are_about_to_be_missed() {
    let (app, _wx, robots) = setup().await;
    app.clock.set(sh(2026, 11, 20, 10, 0));
    let w = app.world().await;
    // The world's branches are small: a committee from one full member, so that
    // committee meetings are asked of them.
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.township),
            json!({"committee_min_members": 1}),
        )
        .await
        .expect(200);
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "镇党委群", "key": WECOM_KEY, "alerts": true}),
        )
        .await;
    r.expect(201);
    // Branch A has its theme party day on the calendar for the 28th.
    meeting(&w, "主题党日", "2026-11-28T09:00:00", "2026-11-28T11:00:00").await;
    // Eleven days before the month ends: too early.
    let p = pass(&app).await;
    assert_eq!(p.alerts_written, 0, "{p:?}");

    app.clock.set(sh(2026, 11, 24, 10, 0));
    let p = pass(&app).await;
    assert_eq!(p.alerts_written, 1, "{p:?}");
    let got = robots.accepted(&wecom());
    assert_eq!(got.len(), 1, "{got:?}");
    let md = got[0].body["markdown"]["content"].as_str().unwrap();
    assert!(md.starts_with("**本月必开会议提醒（2026-11）**"), "{md}");
    assert!(
        md.contains("本月还剩 <font color=\"warning\">7</font> 天"),
        "{md}"
    );
    let line = |branch: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("- {branch}：")))
            .unwrap_or_else(|| panic!("no line for {branch}: {md}"))
            .to_string()
    };
    // Branch A: the theme party day is scheduled, the committee meeting is not.
    let a = line("东山村党支部");
    assert!(a.contains("支委会") && !a.contains("主题党日"), "{a}");
    let b = line("西河村党支部");
    assert!(b.contains("主题党日") && b.contains("支委会"), "{b}");
    // Once per slot, however many passes.
    app.clock.set(sh(2026, 11, 24, 10, 20));
    assert_eq!(pass(&app).await.alerts_written, 0);
    app.clock.set(sh(2026, 11, 29, 15, 0));
    assert_eq!(pass(&app).await.alerts_written, 0);

    // Late December, at night: nothing until morning; then the month, the quarter and the
    // year, one message each.
    app.clock.set(sh(2026, 12, 24, 22, 30));
    assert_eq!(pass(&app).await.alerts_written, 0);
    app.clock.set(sh(2026, 12, 25, 9, 0));
    let p = pass(&app).await;
    assert_eq!(p.alerts_written, 3, "{p:?}");
    let titles: Vec<String> = robots.accepted(&wecom())[1..]
        .iter()
        .map(|g| {
            let md = g.body["markdown"]["content"].as_str().unwrap();
            md.lines().next().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        titles,
        [
            "**本年度必开会议提醒（2026）**",
            "**本月必开会议提醒（2026-12）**",
            "**本季度必开会议提醒（2026-Q4）**",
        ],
        "{titles:?}"
    );
}
