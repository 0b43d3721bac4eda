//! The per-meeting record a branch files as its 三会一课 record (issue 22), on both
//! backends: a theme party day built through the API (check-in, a proxy, approved leave, a
//! correction, minutes with a photo), closed, then `GET /v1/occurrences/{id}/record` as
//! `.xlsx` parsed back with calamine and as PDF with its text extracted, every field
//! compared with the API's own answers.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::activities::schedule;
use crate::helpers::backend::skip_unless;
use crate::helpers::{Options, TestApp, spawn_with};

const TITLE: &str = "十一月主题党日：学习贯彻全会精神";
const PLACE: &str = "西河村党群服务中心二楼";
const AGENDA: &str = "一、重温入党誓词；二、集中学习；三、讨论发言";
const MINUTES: &str =
    "会议由支部书记主持。\n全体党员重温入党誓词，集中学习全会精神，并就村集体经济发展讨论发言。";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn app() -> TestApp {
    spawn_with(Options {
        vars: vec![("DANGKE_ACCESS_TOKEN_TTL", "1d".into())],
        ..Options::default()
    })
    .await
}

/// A held theme party day of branch A; returns its occurrence id and the ids of the
/// member on leave and the member recorded by proxy.
async fn the_meeting(app: &TestApp, w: &crate::helpers::world::World) -> (i64, i64, i64) {
    let sec = &w.secretary_a;
    let on_leave = app
        .add_member(sec, w.branch_a, "13900000301", "李秀英")
        .await;
    let by_proxy = app
        .add_member(sec, w.branch_a, "13900000302", "张建国")
        .await;
    let a = schedule(
        sec,
        w.branch_a,
        json!({"kind": "theme_party_day", "title": TITLE, "place": PLACE, "agenda": AGENDA,
               "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:30:00"}),
    )
    .await;
    let occ = sec
        .get(&format!(
            "/v1/activities/{}/occurrences?from=2026-11-27&to=2026-11-27",
            a["id"]
        ))
        .await
        .json()[0]["id"]
        .as_i64()
        .unwrap();
    let li = app.login_as("13900000301").await;
    let leave = li
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "在县医院陪护住院的母亲"}),
        )
        .await;
    leave.expect(201);
    sec.post(
        &format!("/v1/leaves/{}/decision", leave.json()["id"]),
        json!({"approve": true, "note": "同意，会后补学"}),
    )
    .await
    .expect(200);
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
    sec.post(
        &format!("/v1/occurrences/{occ}/proxy"),
        json!({"user_id": by_proxy, "reason": "年老不会用手机，到场由书记代签"}),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::minutes(45));
    sec.put(
        &format!("/v1/occurrences/{occ}/attendance/{}", w.committee_a_id),
        json!({"status": "late", "reason": "10:20 到场，补记迟到"}),
    )
    .await
    .expect(200);
    let png = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/cover.png"),
    )
    .unwrap();
    let up = sec
        .send(
            sec.request(Method::POST, "/v1/media")
                .header("content-type", "image/png")
                .body(png),
        )
        .await;
    assert!(up.status.is_success(), "upload: {}", up.text());
    let photo = up.json()["id"].as_i64().unwrap();
    sec.put(
        &format!("/v1/occurrences/{occ}/minutes"),
        json!({"text": MINUTES, "photo_media_ids": [photo]}),
    )
    .await
    .expect(200);
    // Guests (列席): a township cadre from the tree, a county official by org name.
    let guests = format!("/v1/occurrences/{occ}/guests");
    sec.post(&guests, json!({"name": "赵镇长", "org_id": w.township}))
        .await
        .expect(201);
    sec.post(
        &guests,
        json!({"name": "钱干事", "org_name": "县农业农村局"}),
    )
    .await
    .expect(201);
    sec.post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await
        .expect(200);
    (occ, on_leave, by_proxy)
}

fn shanghai(t: &Value) -> String {
    let t: DateTime<Utc> = t.as_str().unwrap().parse().unwrap();
    t.with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn cell(rows: &[Vec<String>], r: usize, c: usize) -> &str {
    rows.get(r)
        .and_then(|row| row.get(c))
        .map_or("", |s| s.as_str())
}

/// The value beside label `label` in column A.
fn field<'a>(rows: &'a [Vec<String>], label: &str) -> &'a str {
    let r = rows
        .iter()
        .position(|row| row.first().is_some_and(|s| s == label))
        .unwrap_or_else(|| panic!("no {label} row"));
    cell(rows, r, 1)
}

/// The rows of the table under heading `heading` (its header row skipped), to a blank row.
fn table<'a>(rows: &'a [Vec<String>], heading: &str) -> Vec<&'a Vec<String>> {
    let start = rows
        .iter()
        .position(|row| row.first().is_some_and(|s| s == heading))
        .unwrap_or_else(|| panic!("no {heading} table"));
    rows[start + 2..]
        .iter()
        .take_while(|row| row.first().is_some_and(|s| !s.is_empty()))
        .collect()
}

fn status_zh(s: &Value) -> &'static str {
    match s.as_str() {
        Some("present") => "出席",
        Some("late") => "迟到",
        Some("proxy") => "代签",
        Some("leave") => "请假",
        Some("absent") => "缺席",
        Some("made_up") => "补学",
        _ => "未记录",
    }
}

#[tokio::test]
async fn the_record_of_a_theme_party_day_holds_every_field_the_api_knows() {
    let app = app().await;
    let w = app.world().await;
    let (occ, on_leave, by_proxy) = the_meeting(&app, &w).await;
    let sec = &w.secretary_a;
    let detail = sec.get(&format!("/v1/occurrences/{occ}")).await.json();
    let list = sec
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    let leaves = sec
        .get(&format!("/v1/occurrences/{occ}/leaves"))
        .await
        .json();
    assert_eq!(detail["held"], true);

    let r = sec.get(&format!("/v1/occurrences/{occ}/record")).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some(XLSX));
    let disposition = r.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''20261127"),
        "{disposition}"
    );
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(r.body.clone())).unwrap();
    let range = book.worksheet_range("会议记录").unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => format!("{i}"),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();

    // What the meeting was, in Shanghai time.
    assert_eq!(field(&rows, "会议名称"), detail["title"].as_str().unwrap());
    assert_eq!(detail["kind"], "theme_party_day");
    assert_eq!(field(&rows, "会议类型"), "主题党日");
    let start = detail["local_start"].as_str().unwrap().replace('T', " ");
    let end = detail["local_end"].as_str().unwrap();
    assert_eq!(
        field(&rows, "时间"),
        format!("{}–{}", &start[..16], &end[11..16])
    );
    assert_eq!(field(&rows, "时间"), "2026-11-27 10:00–11:30");
    assert_eq!(field(&rows, "时区"), detail["time_zone"].as_str().unwrap());
    assert_eq!(field(&rows, "地点"), detail["place"].as_str().unwrap());
    assert_eq!(field(&rows, "议程"), detail["agenda"].as_str().unwrap());
    assert_eq!(field(&rows, "状态"), "已召开");

    // The counts.
    let counts = &list["counts"];
    for (label, key) in [
        ("应到", "invited"),
        ("出席", "present"),
        ("迟到", "late"),
        ("代签", "proxy"),
        ("请假", "leave"),
        ("缺席", "absent"),
    ] {
        assert_eq!(field(&rows, label), counts[key].to_string(), "{label}");
    }
    assert_eq!(counts["present"], 1);
    assert_eq!(counts["late"], 1);
    assert_eq!(counts["proxy"], 1);
    assert_eq!(counts["leave"], 1);

    // Attendance: one line per invitee, as the list says, with who recorded it.
    let lines = table(&rows, "考勤记录");
    let items = list["items"].as_array().unwrap();
    assert_eq!(lines.len(), items.len());
    for (line, item) in lines.iter().zip(items) {
        assert_eq!(line[0], item["name"].as_str().unwrap());
        assert_eq!(line[1], status_zh(&item["status"]), "{}", line[0]);
        let at = if item["checked_in_at"].is_null() {
            String::new()
        } else {
            shanghai(&item["checked_in_at"])
        };
        assert_eq!(line[2], at, "{}", line[0]);
        assert_eq!(
            line[4],
            item["reason"].as_str().unwrap_or(""),
            "{}",
            line[0]
        );
    }
    let line_of = |name: &str| *lines.iter().find(|l| l[0] == name).unwrap();
    let secretary = name_of(&list, w.secretary_a_id);
    assert_eq!(line_of("李秀英")[3], format!("请假批准（{secretary}）"));
    assert_eq!(line_of("张建国")[1], "代签");
    assert!(
        line_of("张建国")[3].starts_with("代签（"),
        "{:?}",
        line_of("张建国")
    );
    assert_eq!(line_of("张建国")[4], "年老不会用手机，到场由书记代签");
    let member = &items
        .iter()
        .find(|i| i["user_id"] == w.member_a_id)
        .unwrap();
    assert_eq!(line_of(member["name"].as_str().unwrap())[3], "本人签到");
    let late = &items
        .iter()
        .find(|i| i["user_id"] == w.committee_a_id)
        .unwrap();
    let late = line_of(late["name"].as_str().unwrap());
    assert_eq!(late[1], "迟到");
    assert!(late[3].starts_with("更正（"), "{late:?}");
    assert_eq!(late[4], "10:20 到场，补记迟到");
    let _ = (on_leave, by_proxy);

    // Leave: reason and decision, as the leave list says.
    let leave_lines = table(&rows, "请假记录");
    let leaves = leaves.as_array().unwrap();
    assert_eq!(leave_lines.len(), leaves.len());
    assert_eq!(leave_lines[0][0], "李秀英");
    assert_eq!(leave_lines[0][1], "已批准");
    assert_eq!(leave_lines[0][2], shanghai(&leaves[0]["decided_at"]));
    assert_eq!(leave_lines[0][4], leaves[0]["reason"].as_str().unwrap());
    assert_eq!(
        leave_lines[0][5],
        leaves[0]["decision_note"].as_str().unwrap()
    );

    // Guests: as the attendance list names them, with their org and who recorded them;
    // not among the invitees or the counts.
    let guest_lines = table(&rows, "列席人员");
    let guests = list["guests"].as_array().unwrap();
    assert_eq!(guest_lines.len(), 2, "{guest_lines:?}");
    assert_eq!(guest_lines.len(), guests.len());
    for (line, g) in guest_lines.iter().zip(guests) {
        assert_eq!(line[0], g["name"].as_str().unwrap());
        assert_eq!(line[1], g["org_name"].as_str().unwrap());
        assert_eq!(line[2], secretary);
        assert_eq!(line[3], shanghai(&g["recorded_at"]));
    }
    assert_eq!(guest_lines[1][1], "县农业农村局");
    assert!(lines.iter().all(|l| l[0] != "赵镇长" && l[0] != "钱干事"));
    assert_eq!(field(&rows, "应到"), items.len().to_string());

    // Minutes: the text and who wrote it when; the photo embedded.
    let minutes = &detail["minutes"];
    assert_eq!(field(&rows, "纪要"), minutes["text"].as_str().unwrap());
    assert_eq!(
        field(&rows, "记录人"),
        name_of(&list, minutes["recorded_by"].as_i64().unwrap())
    );
    let at = rows
        .iter()
        .find(|r| r.first().is_some_and(|s| s == "记录人"))
        .unwrap();
    assert_eq!(at[3], shanghai(&minutes["recorded_at"]));
    let pictures = book.pictures().unwrap_or_default();
    assert_eq!(pictures.len(), 1, "one embedded photo");
    assert_eq!(pictures[0].0, "png");
    assert!(
        field(&rows, "照片 1").is_empty(),
        "the photo is an image, not a note"
    );
}

/// A user's name, from the attendance list.
fn name_of(list: &Value, user_id: i64) -> String {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user_id"] == user_id)
        .map(|i| i["name"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("user {user_id} not in the list"))
}

#[tokio::test]
async fn the_pdf_record_shows_the_title_and_every_name_in_an_embedded_chinese_font() {
    let app = app().await;
    if skip_unless(
        app.app_state.chart.font_path.is_some(),
        "a CJK font (apt-get install fonts-wqy-microhei)",
    ) {
        return;
    }
    let w = app.world().await;
    let (occ, _, _) = the_meeting(&app, &w).await;
    let sec = &w.secretary_a;
    let list = sec
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    let r = sec
        .get(&format!("/v1/occurrences/{occ}/record?format=pdf"))
        .await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("application/pdf"));
    assert!(r.body.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(&r.body).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text: String = doc
        .extract_text(&pages)
        .unwrap()
        .split_whitespace()
        .collect();
    for want in [
        TITLE,
        PLACE,
        "主题党日",
        "2026-11-27",
        "在县医院陪护住院的母亲",
        "年老不会用手机",
        "列席人员",
        "赵镇长",
        "钱干事",
        "县农业农村局",
    ] {
        let want: String = want.split_whitespace().collect();
        assert!(
            text.contains(&want),
            "{want} missing from the PDF text: {text}"
        );
    }
    for item in list["items"].as_array().unwrap() {
        let name = item["name"].as_str().unwrap();
        assert!(text.contains(name), "{name} missing from the PDF text");
    }
    // The font is embedded (a subset of the CJK TrueType face), and the photo too.
    let raw = String::from_utf8_lossy(&r.body);
    assert!(raw.contains("/FontFile2"), "no embedded TrueType font");
    assert!(
        raw.contains("/Subtype /Image") || raw.contains("/Subtype/Image"),
        "no image"
    );
}

#[tokio::test]
async fn only_the_meetings_organizers_get_its_record() {
    let app = app().await;
    let w = app.world().await;
    let (occ, _, _) = the_meeting(&app, &w).await;
    let path = format!("/v1/occurrences/{occ}/record");
    w.member_a.get(&path).await.expect_problem(403, "forbidden");
    w.organizer_b
        .get(&path)
        .await
        .expect_problem(404, "not_found");
    w.organizer_b
        .get(&format!("{path}?format=pdf"))
        .await
        .expect_problem(404, "not_found");
    w.secretary_a
        .get(&format!("{path}?format=docx"))
        .await
        .expect_problem(400, "invalid_query");
    w.secretary_a
        .get("/v1/occurrences/999999/record")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn without_a_chinese_font_the_pdf_is_refused_and_the_xlsx_still_comes() {
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "1d".into()),
            ("DANGKE_CHART_FONT", "off".into()),
        ],
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let (occ, _, _) = the_meeting(&app, &w).await;
    let path = format!("/v1/occurrences/{occ}/record");
    w.secretary_a
        .get(&format!("{path}?format=pdf"))
        .await
        .expect_problem(404, "record_pdf_unavailable");
    let r = w.secretary_a.get(&format!("{path}?format=xlsx")).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some(XLSX));
}
