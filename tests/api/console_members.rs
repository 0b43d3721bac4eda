//! The console's members page (issue 21), in a real Chromium.
//!
//! The import: the village secretary of branch A chooses the shared GBK sample (Excel's
//! CSV), runs the dry run, and the page's per-row report must be the API's own dry run of
//! the same file (lines, names, phones, outcomes, reasons) while nothing is written; then
//! "apply" imports for real and the members are in the API's list and on the page.
//! The edits: add, edit, status, roles, a login code and the filters through the page,
//! each checked against the API.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{self, Browser};
use crate::helpers::world::PASSWORD;
use crate::helpers::{Client, spawn};

/// The shared sample as Excel saves it on a Chinese Windows machine (GBK, CRLF), the
/// same bytes `tests/api/import.rs` reads (`../shared/samples/members-gbk.csv` in the
/// workspace is this file).
fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/members-gbk.csv")
}

/// Every member of `org`'s subtree, page by page.
async fn all_members(by: &Client, org: i64, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/orgs/{org}/members?limit=200{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = by.get(&path).await;
        r.expect(200);
        let page = r.json();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "created" => "新增",
        "updated" => "更新",
        "unchanged" => "不变",
        "rejected" => "拒绝",
        other => panic!("unknown outcome {other}"),
    }
}

/// The rows of the report table on the page: line, outcome and the cells' text.
const REPORT_ROWS: &str = "return [...document.querySelectorAll('.import-report tbody tr')]
    .map((tr) => ({ line: Number(tr.dataset.line), outcome: tr.dataset.outcome,
                    cells: [...tr.cells].map((td) => td.innerText.trim()) }))";

#[tokio::test]
async fn a_secretary_imports_the_gbk_sample_with_a_dry_run_first() {
    if !browser::available() {
        return;
    }
    let app = spawn().await;
    let w = app.world().await;
    // The second party group the sample names; the cooperative branch it names is not
    // under branch A, so that row is refused.
    app.create_org(&w.admin, w.branch_a, "东山村第二党小组", "party_group")
        .await;
    let file = std::fs::read(sample()).expect("the shared sample");

    let before = all_members(&w.secretary_a, w.branch_a, "").await;
    // The API's own dry run of the same file: what the page must show.
    let r = w
        .secretary_a
        .send(
            w.secretary_a
                .request(
                    Method::POST,
                    &format!("/v1/orgs/{}/members/import?dry_run=true", w.branch_a),
                )
                .header("content-type", "text/csv")
                .body(file.clone()),
        )
        .await;
    r.expect(200);
    let expected = r.json();
    let expected_rows = expected["rows"].as_array().unwrap().clone();
    assert_eq!(expected_rows.len(), 10, "{expected}");
    // The sample's two bad lines, and the branch outside branch A, are among them.
    let rejected: Vec<i64> = expected_rows
        .iter()
        .filter(|r| r["outcome"] == "rejected")
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    assert!(
        rejected.contains(&9) && rejected.contains(&11),
        "{rejected:?}"
    );
    let created = expected["counts"]["created"].as_i64().unwrap();
    assert!(created >= 6, "{expected}");

    let b = Browser::start(&app).await;
    b.login("13900000001", PASSWORD).await;
    b.open(&format!("#/members/{}", w.branch_a)).await;
    b.wait_text("main h1", "党员").await;
    b.wait_text(".members-list", "王党员").await;
    b.choose_file("section.import input[type=file]", &sample())
        .await;
    b.wait_text("section.import .chosen", "members-gbk.csv")
        .await;
    b.click_text("section.import button", "检查").await;
    b.wait_text(".import-report h3", "检查结果").await;

    // The page's table is the API's report, row by row.
    let shown = b.js(REPORT_ROWS).await;
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), expected_rows.len(), "{shown:#?}");
    for (row, want) in shown.iter().zip(&expected_rows) {
        let cells: Vec<&str> = row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(row["line"], want["line"], "{row} vs {want}");
        assert_eq!(row["outcome"], want["outcome"], "{row} vs {want}");
        assert_eq!(cells[0], want["line"].to_string(), "{cells:?}");
        assert_eq!(cells[1], want["name"].as_str().unwrap_or(""), "{cells:?}");
        assert_eq!(cells[2], want["phone"].as_str().unwrap_or(""), "{cells:?}");
        assert_eq!(
            cells[4],
            outcome_label(want["outcome"].as_str().unwrap()),
            "{cells:?}"
        );
        if want["outcome"] == "rejected" {
            for p in want["problems"].as_array().unwrap() {
                let message = p["message"].as_str().unwrap();
                assert!(cells[5].contains(message), "{cells:?} lacks {message}");
            }
        } else {
            assert!(!cells[3].is_empty(), "no org for {cells:?}");
        }
    }
    let figures = b.text(".import-report .counts").await;
    let c = &expected["counts"];
    for (label, key) in [
        ("数据行", "rows"),
        ("新增", "created"),
        ("拒绝", "rejected"),
    ] {
        let want = format!("{label} {}", c[key]);
        assert!(figures.contains(&want), "{figures:?} lacks {want:?}");
    }
    // The dry run wrote nothing.
    let after_dry = all_members(&w.secretary_a, w.branch_a, "").await;
    assert_eq!(after_dry.len(), before.len());

    b.js("document.querySelector('.import-report').scrollIntoView({block: 'start'}); window.scrollBy(0, -70); return true")
        .await;
    b.screenshot("members-import").await;

    // Apply: the same file for real.
    b.click_text("section.import button", "确认导入").await;
    b.wait_text(".import-report h3", "导入结果").await;
    let after = all_members(&w.secretary_a, w.branch_a, "").await;
    assert_eq!(
        after.len() as i64,
        before.len() as i64 + created,
        "{after:#?}"
    );
    let phones: Vec<&str> = after.iter().map(|m| m["phone"].as_str().unwrap()).collect();
    for want in expected_rows.iter().filter(|r| r["outcome"] == "created") {
        let phone = want["phone"].as_str().unwrap();
        assert!(phones.contains(&phone), "{phone} was not imported");
    }
    // The list on the page is reloaded and shows every member the API lists.
    b.wait_text(".members-list", "王建国").await;
    let listed = b
        .js("return [...document.querySelectorAll('.members-list tbody tr')].map((tr) => Number(tr.dataset.user))")
        .await;
    let mut listed: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut api_ids: Vec<i64> = after
        .iter()
        .map(|m| m["user_id"].as_i64().unwrap())
        .collect();
    listed.sort_unstable();
    api_ids.sort_unstable();
    assert_eq!(listed, api_ids);
    // The applied report repeats the dry run's outcome.
    let applied = b.js(REPORT_ROWS).await;
    for (row, want) in applied.as_array().unwrap().iter().zip(&expected_rows) {
        assert_eq!(row["line"], want["line"]);
        assert_eq!(row["outcome"], want["outcome"]);
    }
    b.close().await;

    let undocumented = browser::undocumented_requests(&app);
    assert!(undocumented.is_empty(), "{undocumented:#?}");
}

/// Sets a `<select>` in the open dialog, as a person choosing an option does.
async fn choose(b: &Browser, css: &str, value: &str) {
    b.wait(css).await;
    let script = format!(
        "const s = document.querySelector({css:?}); s.value = {value:?}; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value"
    );
    assert_eq!(b.js(&script).await, json!(value), "{css} has no {value}");
}

/// Clicks `css` after scrolling it to the middle of the window (a toast in the bottom
/// corner must not take the click, as it would not for a person who waits a moment).
async fn press(b: &Browser, css: &str) {
    b.wait(css).await;
    let free = format!(
        "const el = document.querySelector({css:?}); el.scrollIntoView({{block: 'center'}}); \
         const r = el.getBoundingClientRect(); \
         return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2))"
    );
    let deadline = tokio::time::Instant::now() + browser::WAIT;
    while b.js(&free).await != json!(true) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} stays covered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    b.click(css).await;
}

/// Waits until no dialog is open (the dialog closes when the API answered).
async fn dialog_closed(b: &Browser) {
    let deadline = tokio::time::Instant::now() + browser::WAIT;
    while tokio::time::Instant::now() < deadline {
        if b.js("return document.querySelector('dialog[open]') === null")
            .await
            == json!(true)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let text = b.text("dialog[open]").await;
    panic!("the dialog stayed open: {text}");
}

#[tokio::test]
async fn a_secretary_adds_edits_and_changes_a_member_through_the_page() {
    if !browser::available() {
        return;
    }
    let app = spawn().await;
    let w = app.world().await;
    let b = Browser::start(&app).await;
    b.login("13900000001", PASSWORD).await;
    b.open(&format!("#/members/{}", w.branch_a)).await;
    b.wait_text(".members-list", "王党员").await;

    // Add a probationary member to the party group.
    b.click_text("main .page-actions button", "添加党员").await;
    choose(
        &b,
        "dialog[open] select[name=org_id]",
        &w.group_a.to_string(),
    )
    .await;
    b.fill("dialog[open] input[name=name]", "孙新党员").await;
    b.fill("dialog[open] input[name=phone]", "13700000099")
        .await;
    choose(&b, "dialog[open] select[name=category]", "probationary").await;
    choose(&b, "dialog[open] select[name=gender]", "female").await;
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text(".members-list", "孙新党员").await;
    let found = all_members(&w.secretary_a, w.branch_a, "&q=13700000099").await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let m = &found[0];
    let id = m["user_id"].as_i64().unwrap();
    assert_eq!(m["name"], "孙新党员");
    assert_eq!(m["org_id"], w.group_a);
    assert_eq!(m["category"], "probationary");
    assert_eq!(m["gender"], "female");
    assert_eq!(m["is_cadre"], false);
    let row = format!(".members-list tr[data-user='{id}']");
    let text = b.text(&row).await;
    assert!(
        text.contains("东山村第一党小组") && text.contains("预备党员") && text.contains("正常"),
        "{text}"
    );

    // Edit: a new name, full member, a cadre.
    press(&b, "button[aria-label='编辑 孙新党员']").await;
    b.fill("dialog[open] input[name=name]", "孙党员").await;
    choose(&b, "dialog[open] select[name=category]", "full").await;
    b.click("dialog[open] input[name=is_cadre]").await;
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text(&row, "孙党员").await;
    let r = w.secretary_a.get(&format!("/v1/members/{id}")).await;
    r.expect(200);
    let d = r.json();
    assert_eq!(d["name"], "孙党员");
    assert_eq!(d["category"], "full");
    assert_eq!(d["is_cadre"], true);
    assert_eq!(d["phone"], "13700000099", "unchanged fields stay");
    let text = b.text(&row).await;
    assert!(text.contains("正式党员") && text.contains("是"), "{text}");

    // Status: a migrant member (works away from the village).
    press(&b, "button[aria-label='变更状态 孙党员']").await;
    choose(&b, "dialog[open] select[name=status]", "migrant").await;
    b.fill("dialog[open] input[name=reason]", "外出务工").await;
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text(&row, "流动党员").await;
    let r = w.secretary_a.get(&format!("/v1/members/{id}")).await;
    assert_eq!(r.json()["status"], "migrant");

    // The filters ask the API the same question: migrants of the subtree.
    choose(&b, "form.filters select[name=status]", "migrant").await;
    let want = all_members(&w.secretary_a, w.branch_a, "&status=migrant").await;
    assert_eq!(want.len(), 1);
    b.wait_text("main [role=status]", "已显示 1 人").await;
    let names = b.text(".members-list tbody").await;
    assert!(
        names.contains("孙党员") && !names.contains("王党员"),
        "{names}"
    );
    choose(&b, "form.filters select[name=status]", "").await;
    b.fill("form.filters input[name=q]", "王党").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_text("main [role=status]", "已显示 1 人").await;
    let names = b.text(".members-list tbody").await;
    let want = all_members(&w.secretary_a, w.branch_a, "&q=%E7%8E%8B%E5%85%9A").await;
    assert_eq!(want.len(), 1);
    assert!(names.contains(want[0]["name"].as_str().unwrap()), "{names}");
    b.click_text("form.filters button", "清除").await;
    b.wait_text(".members-list", "孙党员").await;

    // A role of the branch, granted and revoked through the page.
    press(&b, "button[aria-label='授予职务 孙党员']").await;
    choose(&b, "dialog[open] select[name=org]", &w.branch_a.to_string()).await;
    choose(&b, "dialog[open] select[name=role]", "organizer").await;
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    let roles = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/roles", w.branch_a))
        .await
        .json();
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["user_id"] == id && r["role"] == "organizer" && r["org_id"] == w.branch_a),
        "{roles}"
    );
    b.wait_text("section[aria-labelledby=roles-title] tbody", "孙党员")
        .await;
    press(
        &b,
        "button[aria-label='撤销 孙党员 的组织委员（东山村党支部）']",
    )
    .await;
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    let roles = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/roles", w.branch_a))
        .await
        .json();
    assert!(
        !roles.as_array().unwrap().iter().any(|r| r["user_id"] == id),
        "{roles}"
    );

    // A login code: the one shown sets her password.
    press(&b, "button[aria-label='登录码 孙党员']").await;
    b.click("dialog[open] button[type=submit]").await;
    let code = b.text("dialog[open] .login-code .code").await;
    assert_eq!(code.len(), 8, "{code}");
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    let r = app
        .client()
        .post(
            "/v1/auth/password-reset",
            json!({"phone": "13700000099", "code": code, "new_password": "sun-dangyuan-2026"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());

    // A transfer from the party group to the branch itself: history is kept.
    press(&b, "button[aria-label='转移 孙党员']").await;
    choose(
        &b,
        "dialog[open] select[name=to_org_id]",
        &w.branch_a.to_string(),
    )
    .await;
    b.fill("dialog[open] input[name=reason]", "调整党小组")
        .await;
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text(&row, "东山村党支部").await;
    let d = w.secretary_a.get(&format!("/v1/members/{id}")).await.json();
    assert_eq!(d["org_id"], w.branch_a, "{d}");
    let history = d["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{d}");
    assert!(
        history
            .iter()
            .any(|x| x["org_id"] == w.group_a && !x["to_date"].is_null()),
        "{d}"
    );

    // Leaving ends the membership: the row goes, as from the API's list.
    press(&b, "button[aria-label='变更状态 孙党员']").await;
    choose(&b, "dialog[open] select[name=status]", "left").await;
    b.click("dialog[open] button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text("main [role=status]", "已显示").await;
    let deadline = tokio::time::Instant::now() + browser::WAIT;
    while b
        .js(&format!(
            "return !!document.querySelector(\".members-list tr[data-user='{id}']\")"
        ))
        .await
        == json!(true)
    {
        assert!(tokio::time::Instant::now() < deadline, "the row stayed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listed = all_members(&w.secretary_a, w.branch_a, "").await;
    assert!(!listed.iter().any(|m| m["user_id"] == id));
    b.close().await;

    let undocumented = browser::undocumented_requests(&app);
    assert!(undocumented.is_empty(), "{undocumented:#?}");
}
