//! Exports: a township of 10,000 members (bulk-inserted, credit granted through the
//! ledger, roll-ups rebuilt) exported as `.xlsx` and parsed back with calamine — the
//! right rows on the right sheets with the right values — and as `.csv` with a BOM.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{NaiveDate, TimeZone, Utc};

use crate::activities::spawn;
use crate::helpers::TestApp;
use crate::helpers::world::World;

const N: usize = 10_000;

/// Member `i` earned `(i % 40)` whole credit hours.
fn hours_of(i: usize) -> f64 {
    (i % 40) as f64
}

/// 10,000 members, half in each branch, with their credit.
async fn ten_thousand(app: &TestApp, w: &World) {
    let (a, b) = (w.branch_a, w.branch_b);
    let now = dangke::clock::Clock::now_naive(&*app.clock);
    app.app_state
        .db
        .write(move |c| {
            use dangke::orgs::import::bulk::{
                NewMembershipRow, NewUserRow, insert_memberships, insert_users,
            };
            let phones: Vec<String> = (0..N).map(|i| format!("137{i:08}")).collect();
            let names: Vec<String> = (0..N).map(|i| format!("导出{i:05}")).collect();
            let rows: Vec<NewUserRow> = (0..N)
                .map(|i| NewUserRow {
                    phone: &phones[i],
                    name: &names[i],
                    gender: None,
                    birth_date: None,
                })
                .collect();
            let users = insert_users(c, now, &rows)?;
            let index = |phone: &str| phone[3..].parse::<usize>().unwrap();
            let from = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
            let members: Vec<NewMembershipRow> = users
                .iter()
                .map(|(id, phone)| NewMembershipRow {
                    user_id: *id,
                    org_id: if index(phone).is_multiple_of(2) { a } else { b },
                    category: "full",
                    is_cadre: false,
                    joined_party_on: None,
                    status: "active",
                    from_date: from,
                })
                .collect();
            insert_memberships(c, now, &members)?;
            let tz = chrono_tz::Asia::Shanghai;
            for (id, phone) in &users {
                let credit = (index(phone) % 40) as i32 * 100;
                if credit == 0 {
                    continue;
                }
                let grant = dangke::progress::ledger::Credit {
                    user_id: *id,
                    source_kind: dangke::progress::ledger::SOURCE_LESSON,
                    source_id: 1,
                    credit_centi: credit,
                    org_id: None,
                    earned_at: Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap(),
                };
                dangke::progress::ledger::grant(c, &grant, tz)?;
            }
            dangke::stats::rollup::rebuild(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn number(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[tokio::test]
async fn ten_thousand_members_export_to_xlsx_and_parse_back() {
    let app = spawn().await;
    let w = app.world().await;
    ten_thousand(&app, &w).await;

    let r = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/stats/members/export?period=2026&format=xlsx",
            w.township
        ))
        .await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(r.header("content-disposition").unwrap().contains(".xlsx"));
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(r.body.clone())).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["全部党员", "东山村党支部", "西河村党支部"]
    );
    let all = book.worksheet_range("全部党员").unwrap();
    let header: Vec<String> = all.rows().next().unwrap().iter().map(text).collect();
    assert_eq!(
        &header[..8],
        [
            "姓名",
            "党员编号",
            "手机号",
            "所在组织",
            "类别",
            "干部",
            "状态",
            "已获学时"
        ]
    );
    // The world's four members and the 10,000, lowest credit first.
    assert_eq!(all.height(), 1 + N + 4);
    let mut seen = 0;
    let mut last = -1.0;
    for row in all.rows().skip(1) {
        let name = text(&row[0]);
        let credit = number(&row[7]);
        assert!(credit >= last, "sorted by credit");
        last = credit;
        if let Some(i) = name.strip_prefix("导出") {
            let i: usize = i.parse().unwrap();
            assert_eq!(credit, hours_of(i), "{name}");
            assert_eq!(number(&row[8]), 32.0);
            // The member id, and the phone masked (137 + the index in 8 digits).
            assert!(number(&row[1]) > 0.0);
            assert_eq!(text(&row[2]), format!("137****{i:04}"));
            assert_eq!(
                text(&row[3]),
                if i.is_multiple_of(2) {
                    "东山村党支部"
                } else {
                    "西河村党支部"
                }
            );
            assert_eq!(text(&row[4]), "正式党员");
            // Even pace by 27 November: 32 h × 331/365 = 29.01 h.
            let pace = match credit {
                c if c >= 32.0 => "已完成",
                c if c >= 29.01 => "进度正常",
                _ => "落后",
            };
            assert_eq!(text(&row[10]), pace);
            seen += 1;
        }
    }
    assert_eq!(seen, N);
    // One sheet per branch: A has its three world members, B its organizer.
    assert_eq!(
        book.worksheet_range("东山村党支部").unwrap().height(),
        1 + N / 2 + 3
    );
    assert_eq!(
        book.worksheet_range("西河村党支部").unwrap().height(),
        1 + N / 2 + 1
    );

    // CSV: UTF-8 with a BOM, one line per member.
    let csv = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/stats/members/export?period=2026&format=csv&filter=behind",
            w.branch_b
        ))
        .await;
    csv.expect(200);
    assert!(csv.body.starts_with(&[0xEF, 0xBB, 0xBF]));
    let body = String::from_utf8(csv.body[3..].to_vec()).unwrap();
    let mut lines = body.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("姓名,党员编号,手机号,所在组织,类别")
    );
    // Odd members below the even pace (under 29.01 h: i % 40 < 30) and the organizer.
    let behind = (0..N).filter(|i| i % 2 == 1 && (i % 40) < 30).count() + 1;
    assert_eq!(lines.count(), behind);

    // The compliance grid exports the same way.
    // (Adopted at the start of the year: by default nothing before the orgs' creation.)
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.township),
            serde_json::json!({"adoption_date": "2026-01-01"}),
        )
        .await
        .expect(200);
    let g = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/compliance/export?year=2026",
            w.township
        ))
        .await;
    g.expect(200);
    let mut grid: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(g.body.clone())).unwrap();
    let sheet = grid.worksheet_range("2026年组织生活").unwrap();
    let first: Vec<String> = sheet.rows().nth(1).unwrap().iter().map(text).collect();
    assert_eq!(first[4], "缺失");
    w.organizer_b
        .get(&format!("/v1/orgs/{}/stats/members/export", w.township))
        .await
        .expect(404);
    w.admin
        .get(&format!(
            "/v1/orgs/{}/stats/members/export?format=pdf",
            w.township
        ))
        .await
        .expect_problem(400, "invalid_query");
}

/// Issue 22: counts are integers and hours have two decimals, times are in the org's zone,
/// every row has the member id and the phone (masked unless a secretary asks for it in
/// full), and members attached to a branch beside its party groups get their own sheet.
#[tokio::test]
async fn exports_tell_members_apart_and_format_each_figure_for_what_it_is() {
    let d = crate::stats::the_day().await;
    let w = &d.w;
    let base = format!("/v1/orgs/{}/stats/members/export?period=2026", w.branch_b);
    let api: serde_json::Value = w
        .organizer_b
        .get(&format!(
            "/v1/orgs/{}/stats/members?period=2026&limit=200",
            w.branch_b
        ))
        .await
        .json();
    let csv = w.organizer_b.get(&format!("{base}&format=csv")).await;
    csv.expect(200);
    let body = String::from_utf8(csv.body[3..].to_vec()).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let items = api["items"].as_array().unwrap();
    assert_eq!(records.len(), items.len());
    let mut times = 0;
    for (rec, item) in records.iter().zip(items) {
        assert_eq!(rec[col("党员编号")], item["user_id"].to_string());
        let phone = &rec[col("手机号")];
        assert!(
            phone.len() == 11 && &phone[3..7] == "****",
            "masked: {phone}"
        );
        // Hours with two decimals, counts as integers, the rate as a percentage.
        let credit = item["credit_centi"].as_i64().unwrap();
        assert_eq!(
            rec[col("已获学时")],
            format!("{}.{:02}", credit / 100, credit % 100)
        );
        for (name, key) in [("出席", "present"), ("缺席", "absent"), ("请假", "leave")] {
            assert_eq!(
                rec[col(name)],
                item["attendance"][key].to_string(),
                "{name}"
            );
        }
        match item["attendance"]["rate"].as_f64() {
            Some(r) => assert_eq!(rec[col("出勤率")], format!("{:.1}%", r * 100.0)),
            None => assert_eq!(&rec[col("出勤率")], ""),
        }
        // Times in Shanghai (UTC+8), as a secretary reads her clock.
        if let Some(t) = item["last_active_at"].as_str() {
            let utc: chrono::DateTime<Utc> = t.parse().unwrap();
            let local = utc.with_timezone(&chrono_tz::Asia::Shanghai);
            assert_eq!(
                rec[col("最近活动时间")],
                local.format("%Y-%m-%d %H:%M").to_string()
            );
            times += 1;
        }
    }
    assert!(times > 0, "no row with a time to check");

    // Full phone numbers: for those who administer the org, not for an organizer.
    w.organizer_b
        .get(&format!("{base}&format=csv&phone=full"))
        .await
        .expect_problem(403, "forbidden");
    let full = w.admin.get(&format!("{base}&format=csv&phone=full")).await;
    full.expect(200);
    let full = String::from_utf8(full.body[3..].to_vec()).unwrap();
    assert!(full.contains("13900000004"), "{full}");
    w.admin
        .get(&format!("{base}&phone=everything"))
        .await
        .expect_problem(400, "invalid_query");
}

/// A branch with a party group: one sheet for the group, one for the members attached to
/// the branch itself (before, those were on no sheet but the first).
#[tokio::test]
async fn members_attached_to_a_branch_get_their_own_sheet() {
    let app = spawn().await;
    let w = app.world().await;
    let x = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/stats/members/export?period=2026",
            w.branch_a
        ))
        .await;
    x.expect(200);
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(x.body.clone())).unwrap();
    let names = book.sheet_names();
    assert_eq!(
        names,
        vec!["全部党员", "东山村第一党小组", "东山村党支部（直属）"]
    );
    let all = book.worksheet_range("全部党员").unwrap().height();
    let group = book.worksheet_range("东山村第一党小组").unwrap().height();
    let direct = book
        .worksheet_range("东山村党支部（直属）")
        .unwrap()
        .height();
    assert_eq!(
        (group - 1) + (direct - 1),
        all - 1,
        "every member on one sheet"
    );
}
