//! The console's classes page (issue 21), in a real Chromium: branch A's secretary creates a
//! course, adds an article lesson and a PDF lesson (uploaded through the file input, with a
//! progress bar), writes a quiz, publishes, assigns the course to branch A with a due date,
//! and reads the funnel. Every step is checked through the API, and the funnel's figures
//! on the page are those `GET /v1/courses/{id}/stats` gives.

use std::path::PathBuf;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::browser::{self, Browser};
use crate::helpers::spawn;
use crate::helpers::world::PASSWORD;

fn handout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/handout.pdf")
}

/// Sets a `<select>` or `<input>` in the open dialog as a person would (value + events).
async fn set(b: &Browser, css: &str, value: &str) {
    b.wait(css).await;
    b.js(&format!(
        "const el = document.querySelector({css:?}); el.value = {value:?}; \
         el.dispatchEvent(new Event('input', {{bubbles: true}})); \
         el.dispatchEvent(new Event('change', {{bubbles: true}})); return el.value"
    ))
    .await;
}

/// Waits until no `<dialog>` is open (the form was accepted).
async fn dialog_closed(b: &Browser) {
    for _ in 0..200 {
        if b.js("return document.querySelectorAll('dialog[open]').length")
            .await
            == json!(0)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let err = b
        .js("const e = document.querySelector('dialog .dialog-error'); return e ? e.textContent : ''")
        .await;
    panic!("the dialog stayed open: {err}");
}

#[tokio::test]
async fn a_secretary_builds_publishes_and_assigns_a_course_and_reads_its_funnel() {
    if !browser::available() {
        return;
    }
    let app = spawn().await;
    let w = app.world().await;
    let b = Browser::start(&app).await;
    b.login("13900000001", PASSWORD).await;
    b.open(&format!("#/classes/{}", w.branch_a)).await;
    b.wait_text("main h1", "课程").await;
    b.wait_text("main table", "还没有课程").await;

    // A new course: a draft owned by branch A.
    b.click_text("main button", "新建课程").await;
    b.fill("dialog input[name=title]", "乡村振兴专题学习").await;
    b.fill("dialog input[name=credit]", "2").await;
    b.fill("dialog textarea[name=summary]", "学习乡村振兴战略。")
        .await;
    b.fill("dialog input[name=tags]", "乡村振兴,三农").await;
    b.click("dialog button[type=submit]").await;
    b.wait_text("main h1", "乡村振兴专题学习").await;
    let hash = b.js("return location.hash").await;
    let course: i64 = hash
        .as_str()
        .and_then(|h| h.rsplit('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no course id in {hash}"));
    let c = w
        .secretary_a
        .get(&format!("/v1/courses/{course}"))
        .await
        .json();
    assert_eq!(c["status"], "draft");
    assert_eq!(c["owner_org_id"], w.branch_a);
    assert_eq!(c["credit_centi"], 200);
    assert_eq!(c["tags"], json!(["乡村振兴", "三农"]));
    b.wait("main [data-status=draft]").await;
    // Publishing an empty course: the API's reason, and it stays a draft.
    b.click("main button[data-action=publish]").await;
    b.wait_text("#toasts", "至少需要一个课时").await;
    let c = w
        .secretary_a
        .get(&format!("/v1/courses/{course}"))
        .await
        .json();
    assert_eq!(c["status"], "draft");

    // An article lesson: HTML with a live preview that never runs a script.
    b.click_text("main button", "添加课时").await;
    set(&b, "dialog select[name=kind]", "article").await;
    b.fill("dialog input[name=title]", "学习原文").await;
    b.fill(
        "dialog textarea[name=body]",
        "<h2>总要求</h2><p>产业兴旺、生态宜居。</p><script>window.hacked = 1</script>",
    )
    .await;
    b.wait_text("dialog .article-preview", "产业兴旺").await;
    let preview = b
        .js("return document.querySelector('dialog .article-preview').innerHTML")
        .await;
    let preview = preview.as_str().unwrap_or_default();
    assert!(
        preview.contains("<h2>总要求</h2>") && !preview.contains("script"),
        "{preview}"
    );
    b.click("dialog button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text("main table", "学习原文").await;

    // A PDF lesson: the file uploaded through the file input, with its progress bar.
    b.click_text("main button", "添加课时").await;
    set(&b, "dialog select[name=kind]", "pdf").await;
    b.fill("dialog input[name=title]", "学习材料").await;
    b.choose_file("dialog input[type=file]", &handout()).await;
    b.wait_text("dialog .upload-status", "已上传").await;
    let media: i64 = b
        .js("return Number(document.querySelector('dialog .upload-status [data-media]').dataset.media)")
        .await
        .as_i64()
        .expect("media id");
    assert_eq!(
        b.js("return document.querySelector('dialog progress').value")
            .await,
        json!(1)
    );
    b.fill("dialog input[name=min_reading_s]", "120").await;
    b.click("dialog button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text("main table", "学习材料").await;

    let c = w
        .secretary_a
        .get(&format!("/v1/courses/{course}"))
        .await
        .json();
    let lessons = c["lessons"].as_array().expect("lessons").clone();
    assert_eq!(lessons.len(), 2, "{c}");
    let (article, pdf) = (&lessons[0], &lessons[1]);
    assert_eq!(article["kind"], "article");
    assert_eq!(pdf["kind"], "pdf");
    assert_eq!(pdf["media_id"], media);
    assert_eq!(pdf["min_reading_s"], 120);
    let article_id = article["id"].as_i64().expect("lesson id");
    let m = w.secretary_a.get(&format!("/v1/media/{media}")).await;
    m.expect(200);
    assert_eq!(m.json()["kind"], "pdf");
    let bytes = std::fs::read(handout()).expect("fixture");
    assert_eq!(m.json()["sha256"], hex::encode(Sha256::digest(&bytes)));
    let body = w
        .secretary_a
        .get(&format!("/v1/lessons/{article_id}"))
        .await
        .json()["body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        body.contains("<h2>总要求</h2>") && body.contains("产业兴旺") && !body.contains("script"),
        "{body}"
    );
    assert_eq!(
        b.js("return window.hacked === undefined").await,
        json!(true)
    );

    // The article's quiz: a single-choice question and a true/false one, pass mark 80 %.
    b.click_text(
        &format!("main tr[data-lesson=\"{article_id}\"] button"),
        "添加测验",
    )
    .await;
    let q0 = "dialog li.question[data-question=\"0\"]";
    b.fill(&format!("{q0} textarea"), "乡村振兴的总要求包括？")
        .await;
    for (i, text) in ["城市优先", "产业兴旺", "只抓生态", "只抓文化"]
        .iter()
        .enumerate()
    {
        b.fill(
            &format!("{q0} div.option:nth-of-type({}) input[type=text]", i + 1),
            text,
        )
        .await;
    }
    b.click(&format!("{q0} div.option:nth-of-type(2) input[type=radio]"))
        .await;
    b.click_text("dialog button", "添加题目").await;
    let q1 = "dialog li.question[data-question=\"1\"]";
    set(&b, &format!("{q1} select"), "true_false").await;
    b.fill(&format!("{q1} textarea"), "生态宜居是总要求之一。")
        .await;
    b.click(&format!("{q1} input[type=radio][value=true]"))
        .await;
    b.fill("dialog input[name=pass_mark_pct]", "80").await;
    b.click("dialog button[type=submit]").await;
    dialog_closed(&b).await;
    b.wait_text(&format!("main tr[data-lesson=\"{article_id}\"]"), "有测验")
        .await;
    let quiz = w
        .secretary_a
        .get(&format!("/v1/lessons/{article_id}/quiz"))
        .await
        .json();
    assert_eq!(quiz["pass_mark_pct"], 80);
    let qs = quiz["questions"].as_array().expect("questions");
    assert_eq!(qs.len(), 2, "{quiz}");
    assert_eq!(qs[0]["kind"], "single");
    assert_eq!(qs[0]["text"], "乡村振兴的总要求包括？");
    let right: Vec<&Value> = qs[0]["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter(|o| o["correct"] == true)
        .collect();
    assert_eq!(right.len(), 1, "{quiz}");
    assert_eq!(right[0]["text"], "产业兴旺");
    assert_eq!(qs[1]["kind"], "true_false");
    let tf_right: Vec<&Value> = qs[1]["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter(|o| o["correct"] == true)
        .collect();
    assert_eq!(tf_right[0]["text"], "正确", "{quiz}");

    // Publish, then assign to branch A with a due date.
    b.click("main button[data-action=publish]").await;
    b.wait("main [data-status=published]").await;
    let c = w
        .secretary_a
        .get(&format!("/v1/courses/{course}"))
        .await
        .json();
    assert_eq!(c["status"], "published");
    assert!(c["published_at"].is_string());
    b.click_text("main button", "分配课程").await;
    b.click(&format!("dialog input[name=org][value=\"{}\"]", w.branch_a))
        .await;
    set(&b, "dialog input[name=due_date]", "2026-12-31").await;
    b.click("dialog button[type=submit]").await;
    dialog_closed(&b).await;
    let row = format!("main tr[data-org=\"{}\"]", w.branch_a);
    b.wait_text(&row, "东山村党支部").await;
    b.wait_text(&row, "2026/12/31").await;
    let list = w
        .secretary_a
        .get(&format!("/v1/courses/{course}/assignments"))
        .await
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["org_id"], w.branch_a);
    assert_eq!(list[0]["due_date"], "2026-12-31");
    assert_eq!(list[0]["required"], true);

    // The member starts reading the article; the funnel on the page is the API's.
    let end = Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0).unwrap();
    w.member_a
        .post(
            "/v1/progress/sync",
            json!({"events": [{"client_event_id": "r1", "lesson_id": article_id, "kind": "read",
                "from_s": 0, "to_s": 30, "started_at": (end - Duration::seconds(30)).to_rfc3339(),
                "ended_at": end.to_rfc3339()}]}),
        )
        .await
        .expect(200);
    let stats = w
        .secretary_a
        .get(&format!("/v1/courses/{course}/stats?org_id={}", w.branch_a))
        .await
        .json();
    assert_eq!(stats["started"], 1, "{stats}");
    b.js("location.reload()").await;
    b.wait_text(
        "main [data-figure=started] .value",
        &stats["started"].to_string(),
    )
    .await;
    for key in ["assigned", "started", "completed"] {
        let shown = b.text(&format!("main [data-figure={key}] .value")).await;
        assert_eq!(shown, stats[key].to_string(), "{key}: {stats}");
    }
    let quiz_figure = b
        .js("return document.querySelectorAll('main [data-figure=quiz_passed]').length")
        .await;
    if stats["quiz_passed"].is_null() {
        assert_eq!(quiz_figure, json!(0));
    } else {
        assert_eq!(
            b.text("main [data-figure=quiz_passed] .value").await,
            stats["quiz_passed"].to_string()
        );
    }
    let funnel = b.text("main .funnel-box table").await;
    for l in stats["lessons"].as_array().expect("lessons") {
        let title = l["title"].as_str().unwrap_or_default();
        assert!(funnel.contains(title), "{funnel}");
    }
    b.js("document.getElementById('assign-h').scrollIntoView()")
        .await;
    b.screenshot("classes").await;

    // A course that does not exist (or is out of scope) is "not found", as the API says.
    b.open(&format!("#/classes/{}/course/999999", w.branch_a))
        .await;
    b.wait_text("main .not-found", "未找到").await;
    w.secretary_a.get("/v1/courses/999999").await.expect(404);
    b.close().await;

    let undocumented = browser::undocumented_requests(&app);
    assert!(undocumented.is_empty(), "{undocumented:#?}");
}
