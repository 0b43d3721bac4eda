//! The console's dashboard page (issue 21), in a real Chromium.
//!
//! A township secretary opens the township's 概览 after a day of study and a theme party
//! day (the statistics tests' `the_day`): every summary figure on the page is the API's
//! `/stats` answer for the period the API chose, formatted (hours with two decimals,
//! counts, rates in %); the children table is `/stats/children` in its order, with the
//! chart drawn; the members-behind list is `/stats/members?filter=behind`; the compliance
//! grid is `/compliance` cell by cell. A quarter chosen in the picker is mapped to
//! `period=2026-Q4`, and the figures follow. The exports download real files with the
//! server's names: the xlsx parses with calamine and has one row per member, the csv too.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Reader, Xlsx};
use serde_json::Value;

use crate::helpers::Client;
use crate::helpers::browser::{self, Browser};
use crate::helpers::world::PASSWORD;
use crate::stats::the_day;

/// `fmt.int`: an integer with the zh-CN thousands separator.
fn int(v: &Value) -> String {
    let n = v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"));
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Hundredths of a credit hour with two decimals.
fn hours(v: &Value) -> String {
    let c = v.as_i64().unwrap();
    assert!(c >= 0);
    format!("{}.{:02}", c / 100, c % 100)
}

/// A three-decimal rate as a percentage; `null` as a dash.
fn pct(v: &Value) -> String {
    match v.as_f64() {
        Some(r) => format!("{:.1}%", (r * 1000.0).round() / 10.0),
        None => "—".into(),
    }
}

/// Every figure the page must show for a `/stats` answer, by its `data-figure` name.
fn expected_figures(s: &Value) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    put("members", int(&s["members"]["total"]));
    put("members_full", int(&s["members"]["full"]));
    put("members_probationary", int(&s["members"]["probationary"]));
    put("members_activist", int(&s["members"]["activist"]));
    put("members_cadres", int(&s["members"]["cadres"]));
    put("credit_earned", hours(&s["credit"]["earned_centi"]));
    put("credit_quota", hours(&s["credit"]["quota_centi"]));
    put("credit_met", int(&s["credit"]["met"]));
    put("credit_on_track", int(&s["credit"]["on_track"]));
    put("credit_behind", int(&s["credit"]["behind"]));
    put("active", int(&s["active"]));
    put("required_rate", pct(&s["required_courses"]["rate"]));
    put("required_done", int(&s["required_courses"]["done"]));
    put("required_total", int(&s["required_courses"]["total"]));
    put("no_org_life_6m", int(&s["no_org_life_6m"]));
    if s["no_org_life_6m"].as_i64().unwrap() > 0 {
        put("no_org_life_6m_warning", int(&s["no_org_life_6m"]));
    }
    for a in s["attendance"].as_array().unwrap() {
        let kind = a["kind"].as_str().unwrap();
        for key in [
            "occurrences",
            "invited",
            "present",
            "late",
            "proxy",
            "made_up",
            "absent",
            "leave",
        ] {
            put(&format!("attendance.{kind}.{key}"), int(&a[key]));
        }
        put(&format!("attendance.{kind}.rate"), pct(&a["rate"]));
    }
    m
}

/// The figures on the page, by their `data-figure` name.
async fn page_figures(b: &Browser) -> BTreeMap<String, String> {
    let v = b
        .js("return [...document.querySelectorAll('main [data-figure]')].map(e => [e.dataset.figure, e.textContent])")
        .await;
    let mut m = BTreeMap::new();
    for pair in v.as_array().unwrap() {
        let k = pair[0].as_str().unwrap().to_string();
        let previous = m.insert(k.clone(), pair[1].as_str().unwrap().to_string());
        assert!(previous.is_none(), "figure {k} shown twice");
    }
    m
}

async fn get(c: &Client, path: &str) -> Value {
    let r = c.get(path).await;
    r.expect(200);
    r.json()
}

/// Every member row of `/stats/members` for a query, through all pages.
async fn all_members(c: &Client, org: i64, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(
            c,
            &format!("/v1/orgs/{org}/stats/members?{query}&limit=2{cursor}"),
        )
        .await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return out,
        }
    }
}

/// The rows of the children table as the page shows them.
async fn children_rows(b: &Browser) -> Vec<Vec<String>> {
    let v = b
        .js("return [...document.querySelectorAll('[data-children-table] tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))")
        .await;
    serde_json::from_value(v).unwrap()
}

fn expected_children(children: &Value) -> Vec<Vec<String>> {
    children["items"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s["org_name"].as_str().unwrap().to_string(),
                int(&s["members"]["total"]),
                hours(&s["credit"]["earned_centi"]),
                hours(&s["credit"]["quota_centi"]),
                int(&s["credit"]["met"]),
                int(&s["credit"]["on_track"]),
                int(&s["credit"]["behind"]),
                int(&s["active"]),
                pct(&s["required_courses"]["rate"]),
                int(&s["no_org_life_6m"]),
            ]
        })
        .collect()
}

#[tokio::test]
async fn a_township_secretary_sees_the_apis_figures_charts_and_exports() {
    if !browser::available() {
        return;
    }
    let day = the_day().await;
    let (app, w) = (&day.app, &day.w);
    // A township secretary: a new member of branch A, granted the role on the township.
    let id = app
        .add_member(&w.admin, w.branch_a, "13900000020", "周书记")
        .await;
    app.grant(&w.admin, w.township, id, "secretary").await;
    let sec = app.login_as("13900000020").await;
    let t = w.township;
    // The township adopted dangke at the start of the year (by default: the day its orgs
    // were created), so its grid has missing slots.
    sec.patch(
        &format!("/v1/orgs/{t}/settings"),
        serde_json::json!({"adoption_date": "2026-01-01"}),
    )
    .await
    .expect(200);

    let b = Browser::start_sized(app, 1366, 1300).await;
    b.login("13900000020", PASSWORD).await;
    b.open(&format!("#/dashboard/{t}")).await;

    // No period chosen: the page shows the period the API picked (the server's year,
    // 2026 on the test clock, whatever the browser's date).
    let default = get(&sec, &format!("/v1/orgs/{t}/stats")).await;
    assert_eq!(default["period"]["label"], "2026");
    b.wait("[data-period='2026']").await;
    let shown = b.text(".period-answer").await;
    assert!(shown.contains("2026-01-01 至 2026-12-31"), "{shown}");
    // The data is not all zeros, so the comparison means something.
    assert!(default["credit"]["earned_centi"].as_i64().unwrap() > 0);
    assert!(!default["attendance"].as_array().unwrap().is_empty());
    assert_eq!(page_figures(&b).await, expected_figures(&default));

    // The children table is /stats/children in the API's order; the chart is drawn, with
    // a text alternative naming every child.
    let children = get(&sec, &format!("/v1/orgs/{t}/stats/children?period=2026")).await;
    assert_eq!(children["items"].as_array().unwrap().len(), 2);
    b.wait("[data-children-table] tbody tr[data-org]").await;
    assert_eq!(children_rows(&b).await, expected_children(&children));
    b.wait("canvas[role=img][data-rendered=true]").await;
    let label = b
        .js("return document.querySelector('[data-section=children] canvas').getAttribute('aria-label')")
        .await;
    for s in children["items"].as_array().unwrap() {
        let name = s["org_name"].as_str().unwrap();
        let behind = s["credit"]["behind"].as_i64().unwrap();
        assert!(
            label.as_str().unwrap().contains(&format!("{name} 已达标")),
            "{label}"
        );
        assert!(
            label
                .as_str()
                .unwrap()
                .contains(&format!("进度落后 {behind}")),
            "{label}"
        );
    }
    // (the docs' screenshot: the figures and the chart, drawn)
    b.js("window.scrollTo(0, 0)").await;
    b.screenshot("dashboard").await;
    // Ranked by another key: the table follows the API's answer for that sort.
    b.js("const s = document.querySelector('[data-section=children] select[name=sort]'); s.value = 'name'; s.dispatchEvent(new Event('change'))").await;
    b.wait("[data-children-table='name']").await;
    let by_name = get(
        &sec,
        &format!("/v1/orgs/{t}/stats/children?period=2026&sort=name"),
    )
    .await;
    assert_eq!(children_rows(&b).await, expected_children(&by_name));

    // The members behind: the API's behind filter, lowest credit first.
    let behind = get(
        &sec,
        &format!("/v1/orgs/{t}/stats/members?period=2026&filter=behind&sort=credit&limit=20"),
    )
    .await;
    b.wait("[data-section=behind] tbody tr[data-user]").await;
    let shown: Vec<i64> = serde_json::from_value(
        b.js("return [...document.querySelectorAll('[data-section=behind] tbody tr[data-user]')].map(tr => Number(tr.dataset.user))")
            .await,
    )
    .unwrap();
    let api: Vec<i64> = behind["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user_id"].as_i64().unwrap())
        .collect();
    assert!(!api.is_empty());
    assert_eq!(shown, api);

    // The compliance grid: every branch × kind row in the API's order (missing first),
    // every slot's status.
    let compliance = get(&sec, &format!("/v1/orgs/{t}/compliance?year=2026")).await;
    b.wait("[data-compliance-grid] tbody tr[data-kind]").await;
    let grid: Vec<(i64, String, Vec<String>)> = serde_json::from_value(
        b.js("return [...document.querySelectorAll('[data-compliance-grid] tbody tr[data-kind]')].map(tr => [Number(tr.dataset.org), tr.dataset.kind, [...tr.querySelectorAll('td[data-status]')].map(td => td.dataset.slot + ':' + td.dataset.status)])")
            .await,
    )
    .unwrap();
    let api_grid: Vec<(i64, String, Vec<String>)> = compliance["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["org_id"].as_i64().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
                r["slots"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        format!(
                            "{}:{}",
                            s["slot"].as_str().unwrap(),
                            s["status"].as_str().unwrap()
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    assert!(
        api_grid
            .iter()
            .any(|(_, _, slots)| slots.iter().any(|s| s.ends_with(":missing")))
    );
    assert_eq!(grid, api_grid);
    // The six-month warning says the API's count.
    assert!(default["no_org_life_6m"].as_i64().unwrap() > 0);
    b.wait("[data-warning=no_org_life_6m]").await;

    // A quarter chosen in the picker: period=2026-Q4, and the figures follow the API.
    b.js("const s = document.querySelector('.period-picker select[name=kind]'); s.value = 'quarter'; s.dispatchEvent(new Event('change'))").await;
    b.fill(".period-picker input[name=quarter_year]", "2026")
        .await;
    b.js("document.querySelector('.period-picker select[name=quarter]').value = 'Q4'")
        .await;
    b.click(".period-picker button[type=submit]").await;
    b.wait("[data-period='2026-Q4']").await;
    let q4 = get(&sec, &format!("/v1/orgs/{t}/stats?period=2026-Q4")).await;
    assert_eq!(q4["period"]["from"], "2026-10-01");
    assert_eq!(page_figures(&b).await, expected_figures(&q4));
    let url = b.js("return location.hash").await;
    assert!(url.as_str().unwrap().ends_with("?period=2026-Q4"), "{url}");

    // The member export, xlsx: the server's file name, a real workbook, one row per member.
    let everyone = all_members(&sec, t, "period=2026-Q4").await;
    let r = sec
        .get(&format!(
            "/v1/orgs/{t}/stats/members/export?period=2026-Q4&filter=all&format=xlsx"
        ))
        .await;
    r.expect(200);
    let disposition = r.header("content-disposition").unwrap();
    b.click("[data-export=members-xlsx]").await;
    let (name, bytes) = b.downloaded(".xlsx").await;
    assert!(
        disposition.contains(&format!("\"{name}\"")),
        "{disposition} vs {name}"
    );
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let first = book.sheet_names()[0].clone();
    let sheet = book.worksheet_range(&first).unwrap();
    assert_eq!(sheet.height(), 1 + everyone.len());
    let names: Vec<String> = sheet.rows().skip(1).map(|row| row[0].to_string()).collect();
    let api_names: Vec<String> = everyone
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, api_names);

    // The csv: a BOM, a header and one line per member.
    b.click("[data-export=members-csv]").await;
    let (csv_name, csv) = b.downloaded(".csv").await;
    assert_eq!(csv_name, name.replace(".xlsx", ".csv"));
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 1 + everyone.len());
    assert!(text.lines().next().unwrap().starts_with("姓名,"));

    // The compliance export: the year's workbook under the server's name, as many rows as
    // the API's export.
    b.click("[data-export=compliance-xlsx]").await;
    let (grid_name, grid_bytes) = b.downloaded(&format!("compliance-{t}-2026.xlsx")).await;
    let api_file = sec
        .get(&format!(
            "/v1/orgs/{t}/compliance/export?year=2026&format=xlsx"
        ))
        .await;
    assert!(
        api_file
            .header("content-disposition")
            .unwrap()
            .contains(&grid_name)
    );
    let mut page_book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(grid_bytes)).unwrap();
    let mut api_book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(api_file.body.clone())).unwrap();
    assert_eq!(page_book.sheet_names(), api_book.sheet_names());
    let sheet = page_book.sheet_names()[0].clone();
    assert_eq!(
        page_book.worksheet_range(&sheet).unwrap().height(),
        api_book.worksheet_range(&sheet).unwrap().height()
    );
    b.click("[data-export=compliance-csv]").await;
    let (_, grid_csv) = b.downloaded(&format!("compliance-{t}-2026.csv")).await;
    assert!(grid_csv.starts_with(&[0xEF, 0xBB, 0xBF]));
    b.close().await;

    let undocumented = browser::undocumented_requests(app);
    assert!(undocumented.is_empty(), "{undocumented:#?}");
}
