//! The console's meetings page (issue 21), in a real Chromium: the village secretary of
//! branch A schedules meetings through the page (recurrence in words → the RRULE the API
//! stores), opens an occurrence, opens check-in and projects the rotating code (QR and
//! digits equal to what the API gives, turning over with the server's clock); a member
//! checks in with the projected digits and appears on the live list; check-in closes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::browser::{self, Browser};
use crate::helpers::world::{PASSWORD, World};
use crate::helpers::{TestApp, spawn};

/// Sets an input's value the way typing would (date and time inputs take locale-shaped
/// keystrokes, so the value is set directly) and fires `input`/`change`.
async fn set_value(b: &Browser, css: &str, value: &str) {
    b.wait(css).await;
    let script = format!(
        "const el = document.querySelector({css:?}); el.value = {value:?}; \
         el.dispatchEvent(new Event('input', {{bubbles: true}})); \
         el.dispatchEvent(new Event('change', {{bubbles: true}})); return el.value;"
    );
    assert_eq!(b.js(&script).await, json!(value), "{css}");
}

/// The activities of branch A with this title, as the API lists them.
async fn activities_titled(w: &World, title: &str) -> Vec<Value> {
    let r = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/activities?limit=200", w.branch_a))
        .await;
    r.expect(200);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["title"] == title)
        .cloned()
        .collect()
}

/// Opens the schedule dialog and fills kind, title, first day, time and place.
async fn fill_schedule(b: &Browser, title: &str, day: &str, time: &str) {
    b.click_text("button", "安排会议").await;
    b.wait("dialog[open] select[name=kind]").await;
    set_value(b, "dialog select[name=kind]", "theme_party_day").await;
    b.fill("dialog input[name=title]", title).await;
    set_value(b, "dialog input[name=date]", day).await;
    set_value(b, "dialog input[name=time]", time).await;
    set_value(b, "dialog select[name=duration]", "120").await;
    b.fill("dialog input[name=place]", "东山村党群服务中心")
        .await;
}

/// The six digits on the projected screen, waiting until they show a code (and differ
/// from `not`, when given).
async fn projected_digits(b: &Browser, not: Option<&str>) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v = b
            .js("const d = document.querySelector('.projector .digits'); return d ? d.textContent : '';")
            .await;
        let t = v.as_str().unwrap_or_default().to_string();
        if t.len() == 6 && t.chars().all(|c| c.is_ascii_digit()) && Some(t.as_str()) != not {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the projector never showed a (new) code; last {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn api_code(w: &World, occ: i64) -> Value {
    let r = w
        .secretary_a
        .get(&format!("/v1/occurrences/{occ}/checkin/code"))
        .await;
    r.expect(200);
    r.json()
}

async fn start(app: &TestApp) -> (World, Browser) {
    let w = app.world().await;
    let b = Browser::start(app).await;
    b.login("13900000001", PASSWORD).await;
    b.open(&format!("#/meetings/{}?month=2026-11", w.branch_a))
        .await;
    b.wait_text("h1", "东山村党支部").await;
    (w, b)
}

#[tokio::test]
async fn a_secretary_schedules_series_in_words_and_the_api_stores_the_rrule() {
    if !browser::available() {
        return;
    }
    let app = spawn().await;
    let (w, b) = start(&app).await;

    // 每月1日: the page shows the RRULE it will send, and the API stores it.
    fill_schedule(&b, "每月主题党日", "2026-11-27", "09:00").await;
    set_value(&b, "dialog select[name=pattern]", "monthly_day").await;
    set_value(&b, "dialog input[name=day]", "1").await;
    b.wait_text("dialog .recurrence-preview", "FREQ=MONTHLY;BYMONTHDAY=1")
        .await;
    // The first meeting is the first 1st on or after the chosen day.
    b.wait_text("dialog .recurrence-preview", "首次：2026年12月1日 09:00")
        .await;
    b.click("dialog button[type=submit]").await;
    b.wait_text(".toast", "已安排").await;
    let made = activities_titled(&w, "每月主题党日").await;
    assert_eq!(made.len(), 1, "{made:?}");
    let a = &made[0];
    assert_eq!(a["kind"], "theme_party_day");
    assert_eq!(a["rrule"], "FREQ=MONTHLY;BYMONTHDAY=1");
    assert_eq!(a["start_local"], "2026-12-01T09:00:00");
    assert_eq!(a["end_local"], "2026-12-01T11:00:00");
    assert_eq!(a["place"], "东山村党群服务中心");
    // The page moved to the first meeting's month and lists the series in words.
    b.wait_text("table", "每月1日").await;
    b.wait_text(".month-grid", "每月主题党日").await;

    // 每月第一个星期五 and 每季度第一个月的5日.
    fill_schedule(&b, "第一个星期五党课", "2026-11-27", "14:30").await;
    set_value(&b, "dialog select[name=kind]", "party_lesson").await;
    set_value(&b, "dialog select[name=pattern]", "monthly_weekday").await;
    set_value(&b, "dialog select[name=ordinal]", "1").await;
    set_value(&b, "dialog select[name=weekday]", "FR").await;
    b.wait_text(
        "dialog .recurrence-preview",
        "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=1",
    )
    .await;
    b.click("dialog button[type=submit]").await;
    b.wait_text("table", "每月第一个星期五").await;
    let made = activities_titled(&w, "第一个星期五党课").await;
    assert_eq!(made[0]["kind"], "party_lesson");
    // The API normalizes the order of the parts.
    let mut parts: Vec<&str> = made[0]["rrule"].as_str().unwrap().split(';').collect();
    parts.sort_unstable();
    assert_eq!(parts, ["BYDAY=FR", "BYSETPOS=1", "FREQ=MONTHLY"]);
    // 2026-12-04 is the first Friday of December (the 27th of November is past its first).
    assert_eq!(made[0]["start_local"], "2026-12-04T14:30:00");
    let occ = w
        .secretary_a
        .get(&format!(
            "/v1/activities/{}/occurrences?from=2026-12-01&to=2027-02-28",
            made[0]["id"]
        ))
        .await
        .json();
    let starts: Vec<&str> = occ
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["local_start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-12-04T14:30:00",
            "2027-01-01T14:30:00",
            "2027-02-05T14:30:00"
        ]
    );

    fill_schedule(&b, "季度党员大会", "2026-11-27", "09:00").await;
    set_value(&b, "dialog select[name=pattern]", "quarterly_day").await;
    set_value(&b, "dialog input[name=day]", "5").await;
    b.wait_text(
        "dialog .recurrence-preview",
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=5",
    )
    .await;
    b.click("dialog button[type=submit]").await;
    b.wait_text("table", "每季度第一个月的5日").await;
    let made = activities_titled(&w, "季度党员大会").await;
    assert_eq!(made[0]["rrule"], "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=5");
    assert_eq!(made[0]["start_local"], "2027-01-05T09:00:00");
    let occ = w
        .secretary_a
        .get(&format!(
            "/v1/activities/{}/occurrences?from=2027-01-01&to=2027-12-31",
            made[0]["id"]
        ))
        .await
        .json();
    let starts: Vec<&str> = occ
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["local_start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2027-01-05T09:00:00",
            "2027-04-05T09:00:00",
            "2027-07-05T09:00:00",
            "2027-10-05T09:00:00"
        ]
    );

    let bad = browser::undocumented_requests(&app);
    assert!(bad.is_empty(), "undocumented requests: {bad:?}");
    b.close().await;
}

#[tokio::test]
async fn the_projected_code_is_the_apis_and_a_member_who_checks_in_with_it_shows_up_live() {
    if !browser::available() {
        return;
    }
    let app = spawn().await;
    let (w, b) = start(&app).await;

    // A one-off theme party day at 10:00 today (the server's clock: 09:30 Shanghai), so
    // check-in may open (from two hours before the start).
    fill_schedule(&b, "十一月主题党日", "2026-11-27", "10:00").await;
    set_value(&b, "dialog select[name=pattern]", "once").await;
    b.wait_text("dialog .recurrence-preview", "RRULE: 无").await;
    b.click("dialog button[type=submit]").await;
    b.wait_text(".month-grid", "十一月主题党日").await;
    let made = activities_titled(&w, "十一月主题党日").await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0]["kind"], "theme_party_day");
    assert_eq!(made[0]["rrule"], Value::Null);
    assert_eq!(made[0]["start_local"], "2026-11-27T10:00:00");
    let occs = w
        .secretary_a
        .get(&format!(
            "/v1/activities/{}/occurrences?from=2026-11-27&to=2026-11-27",
            made[0]["id"]
        ))
        .await
        .json();
    let occ = occs[0]["id"].as_i64().expect("one occurrence");

    // The calendar links to it; the occurrence page opens check-in.
    b.click(&format!(".month-grid a[data-occurrence=\"{occ}\"]"))
        .await;
    b.wait_text("h1", "十一月主题党日").await;
    b.wait_text("dl.details", "东山村党群服务中心").await;
    b.click_text("button", "开启签到").await;
    let shown = projected_digits(&b, None).await;
    let code = api_code(&w, occ).await;
    assert_eq!(shown, code["code"].as_str().unwrap());
    // The QR code encodes the API's payload.
    let qr = b
        .js("const i = document.querySelector('.projector .qr img'); \
             return [i.getAttribute('src').slice(0, 15), i.parentElement.dataset.payload, i.naturalWidth];")
        .await;
    assert_eq!(qr[0], "data:image/gif;");
    assert_eq!(qr[1], code["qr_payload"]);
    assert!(qr[2].as_i64().unwrap() > 100, "{qr:?}");
    assert_eq!(
        w.secretary_a
            .get(&format!("/v1/occurrences/{occ}"))
            .await
            .json()["checkin"],
        "open"
    );

    // The member checks in with the projected digits and appears present on the live list.
    let r = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({ "code": shown }),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "present");
    let board = w
        .secretary_a
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    let name = board["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user_id"] == w.member_a_id)
        .expect("the member is invited")["name"]
        .as_str()
        .unwrap()
        .to_string();
    let li = format!(".projector .live-list li[data-user=\"{}\"]", w.member_a_id);
    let text = b.wait_text(&li, "出席").await;
    assert!(text.contains(&name), "{text}");
    b.wait_text(&format!("tr[data-user=\"{}\"]", w.member_a_id), "扫码签到")
        .await;
    let present = board["counts"]["present"].as_i64().unwrap();
    assert_eq!(present, 1);
    b.wait_text(".projector .counts", "出席 1").await;

    // The code turns over with the server's clock; the screen follows.
    app.clock.advance(chrono::Duration::seconds(
        code["step_s"].as_i64().expect("step_s"),
    ));
    let next = api_code(&w, occ).await;
    assert_ne!(next["code"], code["code"]);
    let shown_next = projected_digits(&b, Some(&shown)).await;
    assert_eq!(shown_next, next["code"].as_str().unwrap());

    // The projector view alone: QR, digits and the live list (the committed screenshot).
    b.open(&format!(
        "#/meetings/{}/occurrence/{occ}/projector",
        w.branch_a
    ))
    .await;
    let shown_proj = projected_digits(&b, None).await;
    assert_eq!(
        shown_proj,
        api_code(&w, occ).await["code"].as_str().unwrap()
    );
    b.wait_text(&li, "出席").await;
    b.wait(".projector .qr img[src^='data:image']").await;
    b.screenshot("checkin-projector").await;

    // Back on the occurrence page, once the meeting has started check-in closes: the
    // others are absent.
    app.clock.advance(chrono::Duration::minutes(40));
    b.click_text("a", "返回会议").await;
    b.click_text("button", "结束签到").await;
    b.click("dialog[open] button[type=submit]").await;
    b.wait_text(".toast", "签到已结束").await;
    // (The test client's access token has expired on the moved clock: log in again.)
    let secretary = app.login_as("13900000001").await;
    let after = secretary
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    assert_eq!(after["checkin"], "closed");
    let absent = after["counts"]["absent"].as_i64().unwrap();
    assert!(absent >= 1, "{after}");
    b.wait_text("section p.counts", &format!("缺席 {absent}"))
        .await;
    assert!(
        !b.js("return !!document.querySelector('.projector')")
            .await
            .as_bool()
            .unwrap()
    );

    let bad = browser::undocumented_requests(&app);
    assert!(bad.is_empty(), "undocumented requests: {bad:?}");
    b.close().await;
}

#[tokio::test]
async fn a_secretary_decides_leave_proxies_corrects_and_writes_minutes_with_a_photo() {
    if !browser::available() {
        return;
    }
    let app = spawn().await;
    let (w, b) = start(&app).await;
    let a = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "branch_general_meeting", "title": "支部党员大会",
                   "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:30:00"}),
        )
        .await;
    a.expect(201);
    let occ = a.json()["upcoming"][0]["id"].as_i64().expect("occurrence");
    let leave = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "外出务工"}),
        )
        .await;
    leave.expect(201);

    b.open(&format!("#/meetings/{}/occurrence/{occ}", w.branch_a))
        .await;
    b.wait_text("h1", "支部党员大会").await;

    // The leave request, approved with a note.
    b.wait_text("#leave-title + .table-wrap", "外出务工").await;
    b.click_text("button", "批准").await;
    b.fill("dialog[open] input[name=note]", "同意，注意安全")
        .await;
    b.click("dialog[open] button[type=submit]").await;
    b.wait_text("#leave-title + .table-wrap", "已批准").await;
    let leaves = w
        .secretary_a
        .get(&format!("/v1/occurrences/{occ}/leaves"))
        .await
        .json();
    assert_eq!(leaves[0]["status"], "approved");
    assert_eq!(leaves[0]["decision_note"], "同意，注意安全");

    // Check-in opens; the committee member is checked in by proxy with a reason.
    b.click_text("button", "开启签到").await;
    projected_digits(&b, None).await;
    let row = |id: i64| format!("tr[data-user=\"{id}\"]");
    b.click_text(&format!("{} button", row(w.committee_a_id)), "代签")
        .await;
    b.fill("dialog[open] input[name=reason]", "手机坏了").await;
    b.click("dialog[open] button[type=submit]").await;
    b.wait_text(&row(w.committee_a_id), "手机坏了").await;
    // The member on leave came after all: corrected to present.
    b.wait_text(&row(w.member_a_id), "请假").await;
    b.click_text(&format!("{} button", row(w.member_a_id)), "更正")
        .await;
    set_value(&b, "dialog[open] select[name=status]", "present").await;
    b.fill("dialog[open] input[name=reason]", "会议中途赶到")
        .await;
    b.click("dialog[open] button[type=submit]").await;
    b.wait_text(&row(w.member_a_id), "会议中途赶到").await;
    let list = w
        .secretary_a
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    let item = |id: i64| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["user_id"] == id)
            .cloned()
            .expect("invitee")
    };
    assert_eq!(item(w.committee_a_id)["status"], "proxy");
    assert_eq!(item(w.committee_a_id)["reason"], "手机坏了");
    assert_eq!(item(w.member_a_id)["status"], "present");
    assert_eq!(item(w.member_a_id)["source"], "correction");
    let shown = b.text(&row(w.member_a_id)).await;
    assert!(shown.contains("出席") && shown.contains("更正"), "{shown}");

    // After the start, minutes with a photo uploaded through the page.
    app.clock.advance(chrono::Duration::minutes(30));
    let png =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/cover.png");
    b.choose_file("form.minutes input[type=file]", &png).await;
    b.wait_text("form.minutes", "上传完成").await;
    b.wait("ul.photos li[data-media] img[src^='blob:']").await;
    b.fill(
        "form.minutes textarea[name=minutes]",
        "重温入党誓词，学习党章。",
    )
    .await;
    b.click_text("form.minutes button", "保存纪要").await;
    b.wait_text(".toast", "纪要已保存").await;
    let secretary = app.login_as("13900000001").await;
    let detail = secretary
        .get(&format!("/v1/occurrences/{occ}"))
        .await
        .json();
    assert_eq!(detail["minutes"]["text"], "重温入党誓词，学习党章。");
    let photos = detail["minutes"]["photo_media_ids"].as_array().unwrap();
    assert_eq!(photos.len(), 1, "{detail}");
    let shown_id = b
        .js("return Number(document.querySelector('ul.photos li[data-media]').dataset.media)")
        .await;
    assert_eq!(&shown_id, &photos[0]);

    let bad = browser::undocumented_requests(&app);
    assert!(bad.is_empty(), "undocumented requests: {bad:?}");
    b.close().await;
}
