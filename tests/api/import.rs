//! Bulk import of the member list a branch secretary exports from Excel, over HTTP.
//!
//! The orgs the sample file names are built under the world's township:
//! 东山村党支部 (branch A) with 东山村第一党小组 and 东山村第二党小组, and
//! 东山村合作社党支部 (a cooperative branch). The admin imports at the township.

use std::collections::BTreeMap;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::world::World;
use crate::helpers::{Client, Resp, TestApp, spawn};

/// The sample as saved by Excel on a Chinese Windows machine (GBK, CRLF).
const SAMPLE_GBK: &[u8] = include_bytes!("../fixtures/members-gbk.csv");

/// The same ten members as UTF-8 text.
fn sample_text() -> String {
    let (text, _, had_errors) = encoding_rs::GBK.decode(SAMPLE_GBK);
    assert!(!had_errors);
    text.into_owned()
}

struct Orgs {
    group_1: i64,
    group_2: i64,
    coop: i64,
}

/// The world plus the orgs the sample names.
async fn setup(app: &TestApp) -> (World, Orgs) {
    let w = app.world().await;
    let group_2 = app
        .create_org(&w.admin, w.branch_a, "东山村第二党小组", "party_group")
        .await;
    let coop = app
        .create_org(&w.admin, w.township, "东山村合作社党支部", "branch")
        .await;
    let orgs = Orgs {
        group_1: w.group_a,
        group_2,
        coop,
    };
    (w, orgs)
}

fn import_path(org: i64, dry_run: bool) -> String {
    format!("/v1/orgs/{org}/members/import?dry_run={dry_run}")
}

/// Sends the file as a `text/csv` body.
async fn import_csv(by: &Client, org: i64, body: impl Into<Vec<u8>>, dry_run: bool) -> Resp {
    by.send(
        by.request(Method::POST, &import_path(org, dry_run))
            .header("content-type", "text/csv")
            .body(body.into()),
    )
    .await
}

/// Sends the file the way `wx.uploadFile` does: multipart, a form field, then the file
/// part under the name the mini-program chose.
async fn import_multipart(by: &Client, org: i64, file: &[u8], dry_run: bool) -> Resp {
    let (content_type, body) = wx_upload_form(file);
    by.send(
        by.request(Method::POST, &import_path(org, dry_run))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

/// The multipart body `wx.uploadFile` sends for `file`, and its content type.
fn wx_upload_form(file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----WxUploadBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"org\"\r\n\r\n东山村\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"tmp_8a1f.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends `body` (already encoded) with `Content-Encoding: encoding`.
async fn import_encoded(
    by: &Client,
    org: i64,
    content_type: &str,
    encoding: &str,
    body: Vec<u8>,
) -> Resp {
    by.send(
        by.request(Method::POST, &import_path(org, false))
            .header("content-type", content_type)
            .header("content-encoding", encoding)
            .body(body),
    )
    .await
}

/// Rows of a report by line.
fn by_line(report: &Value) -> BTreeMap<u64, Value> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r.clone()))
        .collect()
}

fn counts(report: &Value) -> (u64, u64, u64, u64) {
    let c = &report["counts"];
    (
        c["created"].as_u64().unwrap(),
        c["updated"].as_u64().unwrap(),
        c["unchanged"].as_u64().unwrap(),
        c["rejected"].as_u64().unwrap(),
    )
}

/// (users, membership rows, current memberships, audit rows of imports) in the database.
async fn db_counts(app: &TestApp) -> (i64, i64, i64, i64) {
    app.app_state
        .db
        .read(|c| {
            use dangke::db::schema::{audit_log, memberships, users};
            Ok((
                users::table.count().get_result(c)?,
                memberships::table.count().get_result(c)?,
                memberships::table
                    .filter(memberships::to_date.is_null())
                    .count()
                    .get_result(c)?,
                audit_log::table
                    .filter(audit_log::action.eq("members_imported"))
                    .count()
                    .get_result(c)?,
            ))
        })
        .await
        .unwrap()
}

/// The current member view of a phone, through the members list of `org`'s subtree.
async fn member_by_phone(by: &Client, org: i64, phone: &str) -> Value {
    let r = by
        .get(&format!("/v1/orgs/{org}/members?q={phone}&limit=5"))
        .await;
    r.expect(200);
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "members with phone {phone}: {items:?}");
    items[0].clone()
}

#[tokio::test]
async fn gbk_sample_imports_eight_members_and_reports_lines_9_and_11() {
    let app = spawn().await;
    let (w, o) = setup(&app).await;
    let before = db_counts(&app).await;
    let r = import_csv(&w.admin, w.township, SAMPLE_GBK, false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(report["encoding"], "gb18030");
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["counts"]["rows"], 10);
    assert_eq!(counts(&report), (8, 0, 0, 2));
    let rows = by_line(&report);
    assert_eq!(
        rows.keys().copied().collect::<Vec<_>>(),
        (2..=11).collect::<Vec<_>>()
    );
    assert_eq!(rows[&9]["outcome"], "rejected");
    assert_eq!(rows[&9]["reason"], "invalid_phone");
    assert_eq!(rows[&9]["name"], "黄小红");
    assert_eq!(rows[&11]["outcome"], "rejected");
    assert_eq!(rows[&11]["reason"], "duplicate_phone");
    assert_eq!(rows[&11]["duplicate_of_line"], 3);
    for line in [2, 3, 4, 5, 6, 7, 8, 10] {
        assert_eq!(rows[&line]["outcome"], "created", "line {line}");
        assert!(rows[&line]["user_id"].is_i64(), "line {line}");
    }
    assert_eq!(rows[&5]["org_id"], o.group_1);
    assert_eq!(rows[&8]["org_id"], o.group_2);
    assert_eq!(rows[&10]["org_id"], o.coop);
    assert_eq!(rows[&2]["org_id"], w.branch_a);

    let after = db_counts(&app).await;
    assert_eq!(after.0 - before.0, 8, "users");
    assert_eq!(after.2 - before.2, 8, "current memberships");
    assert_eq!(after.3 - before.3, 1, "one audit record");

    // The first 13807310002 (李秀英, line 3) is the one kept.
    let li = member_by_phone(&w.admin, w.township, "13807310002").await;
    assert_eq!(li["name"], "李秀英");
    assert_eq!(li["gender"], "female");
    assert_eq!(li["birth_date"], "1962-11-05");
    let yang = member_by_phone(&w.admin, w.township, "17707310006").await;
    assert_eq!(yang["category"], "activist");
    assert!(yang["joined_party_on"].is_null());
    let zhang = member_by_phone(&w.admin, w.township, "13907310003").await;
    assert_eq!(zhang["category"], "probationary");
    assert_eq!(zhang["joined_party_on"], "2019-12-15");
    assert_eq!(zhang["from_date"], "2026-11-27");

    // The audit record holds the counts and the file's SHA-256.
    let details: String = app
        .app_state
        .db
        .read(|c| {
            use dangke::db::schema::audit_log;
            Ok(audit_log::table
                .filter(audit_log::action.eq("members_imported"))
                .select(audit_log::details)
                .first(c)?)
        })
        .await
        .unwrap();
    let details: Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["file_sha256"], report["file_sha256"]);
    assert_eq!(report["file_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(details["counts"]["created"], 8);
    assert_eq!(details["counts"]["rejected"], 2);
}

#[tokio::test]
async fn utf8_file_imports_the_same_way() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    let r = import_csv(&w.admin, w.township, sample_text(), false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(report["encoding"], "utf-8");
    assert_eq!(counts(&report), (8, 0, 0, 2));
    let rows = by_line(&report);
    assert_eq!(rows[&9]["reason"], "invalid_phone");
    assert_eq!(rows[&11]["reason"], "duplicate_phone");
}

#[tokio::test]
async fn utf8_with_bom_recognizes_the_first_header() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(sample_text().as_bytes());
    let r = import_csv(&w.admin, w.township, body, false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(report["encoding"], "utf-8-bom");
    assert_eq!(report["columns"][0]["header"], "姓名");
    assert_eq!(report["columns"][0]["field"], "name");
    assert_eq!(counts(&report), (8, 0, 0, 2));
    let wang = member_by_phone(&w.admin, w.township, "13807310001").await;
    assert_eq!(wang["name"], "王建国");
}

#[tokio::test]
async fn english_headers_and_values_import() {
    let app = spawn().await;
    let (w, o) = setup(&app).await;
    let csv = "Name,Sex,Mobile,Birth Date,Joined Party On,Category,Branch,Cadre\n\
               Wang Jianguo,male,13807310001,1958/3/12,1985.7.1,full,东山村党支部,yes\n\
               Li Xiuying,F,13807310002,1962年11月5日,19900628,Probationary,东山村第一党小组,no\n\
               Yang Li,female,17707310006,1998-09-09,,activist,,\n";
    let r = import_csv(&w.admin, w.branch_a, csv, false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (3, 0, 0, 0), "{report}");
    let wang = member_by_phone(&w.admin, w.branch_a, "13807310001").await;
    assert_eq!(wang["gender"], "male");
    assert_eq!(wang["birth_date"], "1958-03-12");
    assert_eq!(wang["joined_party_on"], "1985-07-01");
    assert_eq!(wang["is_cadre"], true);
    let li = member_by_phone(&w.admin, w.branch_a, "13807310002").await;
    assert_eq!(li["category"], "probationary");
    assert_eq!(li["birth_date"], "1962-11-05");
    assert_eq!(li["org_id"], o.group_1);
    // An empty branch cell means the org imported into.
    let yang = member_by_phone(&w.admin, w.branch_a, "17707310006").await;
    assert_eq!(yang["org_id"], w.branch_a);
    assert_eq!(yang["category"], "activist");
}

#[tokio::test]
async fn duplicate_phones_in_one_file_keep_the_first_and_name_it() {
    let app = spawn().await;
    let w = app.world().await;
    let csv = "姓名,手机号\r\n王一,13807310001\r\n王二,13807310002\r\n\r\n王三,138 0731 0001\r\n王四,+86 13807310001\r\n";
    let r = import_csv(&w.secretary_a, w.branch_a, csv, false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (2, 0, 0, 2));
    let rows = by_line(&report);
    for line in [5, 6] {
        assert_eq!(rows[&line]["reason"], "duplicate_phone");
        assert_eq!(rows[&line]["duplicate_of_line"], 2);
        assert!(rows[&line]["message"].as_str().unwrap().contains('2'));
    }
    let m = member_by_phone(&w.secretary_a, w.branch_a, "13807310001").await;
    assert_eq!(m["name"], "王一");
}

#[tokio::test]
async fn reimporting_the_same_file_changes_nothing() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    import_csv(&w.admin, w.township, SAMPLE_GBK, false)
        .await
        .expect(200);
    let before = db_counts(&app).await;
    let r = import_csv(&w.admin, w.township, SAMPLE_GBK, false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (0, 0, 8, 2));
    let after = db_counts(&app).await;
    assert_eq!((after.0, after.1, after.2), (before.0, before.1, before.2));
    // Through multipart too: the same bytes, the same answer.
    let r = import_multipart(&w.admin, w.township, SAMPLE_GBK, false).await;
    r.expect(200);
    assert_eq!(counts(&r.json()), (0, 0, 8, 2));
}

#[tokio::test]
async fn dry_run_reports_the_same_outcomes_and_writes_nothing() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    let before = db_counts(&app).await;
    let r = import_csv(&w.admin, w.township, SAMPLE_GBK, true).await;
    r.expect(200);
    let dry = r.json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(counts(&dry), (8, 0, 0, 2));
    assert_eq!(db_counts(&app).await, before, "a dry run writes nothing");

    let real = import_csv(&w.admin, w.township, SAMPLE_GBK, false)
        .await
        .json();
    let outcomes = |rep: &Value| -> Vec<(u64, Value, Value)> {
        by_line(rep)
            .into_iter()
            .map(|(l, r)| (l, r["outcome"].clone(), r["reason"].clone()))
            .collect()
    };
    assert_eq!(outcomes(&dry), outcomes(&real));

    // A dry run of a change reports it and still writes nothing.
    let changed = sample_text().replace(
        "张伟,男,13907310003,1991-01-20,2019-12-15,预备党员",
        "张伟,男,13907310003,1991-01-20,2019-12-15,正式党员",
    );
    let before = db_counts(&app).await;
    let dry = import_csv(&w.admin, w.township, changed, true).await.json();
    assert_eq!(counts(&dry), (0, 1, 7, 2));
    assert_eq!(db_counts(&app).await, before);
    let zhang = member_by_phone(&w.admin, w.township, "13907310003").await;
    assert_eq!(zhang["category"], "probationary");
}

#[tokio::test]
async fn multipart_and_text_csv_bodies_are_accepted_and_others_are_415() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    let r = import_multipart(&w.admin, w.township, SAMPLE_GBK, false).await;
    r.expect(200);
    assert_eq!(counts(&r.json()), (8, 0, 0, 2));
    let r = import_csv(&w.admin, w.township, SAMPLE_GBK, false).await;
    r.expect(200);
    assert_eq!(counts(&r.json()), (0, 0, 8, 2));
    let r = w
        .admin
        .post(
            &import_path(w.township, false),
            serde_json::json!({"rows": []}),
        )
        .await;
    r.expect_problem(415, "unsupported_media_type");
    // A multipart body without a file part.
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--{boundary}--\r\n"
    );
    let r = w
        .admin
        .send(
            w.admin
                .request(Method::POST, &import_path(w.township, false))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
        .await;
    let p = r.expect_problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["field"], "file");
}

#[tokio::test]
async fn a_gzipped_member_list_imports_like_the_plain_one_and_other_codings_are_415() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    // As a gzipped text/csv body: the report of the plain file.
    let r = import_encoded(
        &w.admin,
        w.township,
        "text/csv",
        "gzip",
        crate::weak_network::gzip(SAMPLE_GBK),
    )
    .await;
    r.expect(200);
    let report = r.json();
    assert_eq!(report["encoding"], "gb18030");
    assert_eq!(counts(&report), (8, 0, 0, 2));
    assert_eq!(by_line(&report)[&11]["reason"], "duplicate_phone");
    // As a gzipped multipart form: the same file again, so nothing changes.
    let (content_type, form) = wx_upload_form(SAMPLE_GBK);
    let r = import_encoded(
        &w.admin,
        w.township,
        &content_type,
        "gzip",
        crate::weak_network::gzip(&form),
    )
    .await;
    r.expect(200);
    assert_eq!(counts(&r.json()), (0, 0, 8, 2));
    assert_eq!(db_counts(&app).await.3, 2, "two imports recorded");
    // Codings the server does not read are refused before anything is imported.
    for coding in ["br", "deflate", "x-foo"] {
        import_encoded(
            &w.admin,
            w.township,
            "text/csv",
            coding,
            SAMPLE_GBK.to_vec(),
        )
        .await
        .expect_problem(415, "unsupported_content_encoding");
        import_encoded(&w.admin, w.township, &content_type, coding, form.clone())
            .await
            .expect_problem(415, "unsupported_content_encoding");
    }
    assert_eq!(db_counts(&app).await.3, 2);
}

#[tokio::test]
async fn a_gzip_bomb_import_is_413_as_soon_as_it_inflates_past_20_mib() {
    let app = spawn().await;
    let w = app.world().await;
    // 64 MiB of one byte shrink to about 64 KiB: far under the limit as sent.
    let mut csv = b"\xE5\xA7\x93\xE5\x90\x8D,phone\n".to_vec();
    csv.resize(64 * 1024 * 1024, b'x');
    let bomb = crate::weak_network::gzip(&csv);
    drop(csv);
    assert!(bomb.len() < 256 * 1024, "{}", bomb.len());
    import_encoded(&w.secretary_a, w.branch_a, "text/csv", "gzip", bomb.clone())
        .await
        .expect_problem(413, "payload_too_large");
    // The same inside a gzipped form.
    let (content_type, form) = wx_upload_form(&vec![b'x'; 30 * 1024 * 1024]);
    let form_bomb = crate::weak_network::gzip(&form);
    drop(form);
    import_encoded(&w.secretary_a, w.branch_a, &content_type, "gzip", form_bomb)
        .await
        .expect_problem(413, "payload_too_large");
    // Data that is not gzip, or gzip cut short, is an unreadable file, not a crash.
    let short = crate::weak_network::gzip(SAMPLE_GBK);
    for body in [
        b"not gzip at all".to_vec(),
        short[..short.len() / 2].to_vec(),
    ] {
        let r = import_encoded(&w.secretary_a, w.branch_a, "text/csv", "gzip", body).await;
        let p = r.expect_problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["field"], "file");
        assert_eq!(p["errors"][0]["code"], "unreadable");
    }
    assert_eq!(db_counts(&app).await.3, 0);
}

#[tokio::test]
async fn changed_values_on_reimport_are_updated_and_empty_cells_keep_values() {
    let app = spawn().await;
    let w = app.world().await;
    let csv = "姓名,性别,手机号,出生日期,入党日期,类别,是否干部\n\
               王建国,男,13807310001,1958-03-12,1985-07-01,正式党员,否\n\
               张伟,男,13907310003,1991-01-20,2019-12-15,预备党员,否\n\
               李四,,13807310004,,,正式党员,否\n\
               杨丽,女,17707310006,1998-09-09,,入党积极分子,否\n";
    let first = import_csv(&w.secretary_a, w.branch_a, csv, false)
        .await
        .json();
    assert_eq!(counts(&first), (4, 0, 0, 0));
    let csv = "姓名,性别,手机号,出生日期,入党日期,类别,是否干部\n\
               王建国,男,13807310001,,,正式党员,是\n\
               张卫,男,13907310003,1991-01-20,2019-12-15,正式党员,否\n\
               李泗,,13807310004,,,正式党员,否\n\
               杨丽,女,17707310006,1998-09-09,,预备党员,否\n";
    let r = import_csv(&w.secretary_a, w.branch_a, csv, false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (0, 4, 0, 0));
    let rows = by_line(&report);
    assert_eq!(rows[&2]["changes"], serde_json::json!(["is_cadre"]));
    assert_eq!(rows[&3]["changes"], serde_json::json!(["name", "category"]));
    assert_eq!(rows[&4]["changes"], serde_json::json!(["name"]));
    assert_eq!(rows[&5]["changes"], serde_json::json!(["category"]));
    let wang = member_by_phone(&w.secretary_a, w.branch_a, "13807310001").await;
    assert_eq!(wang["is_cadre"], true);
    assert_eq!(
        wang["birth_date"], "1958-03-12",
        "an empty cell keeps the value"
    );
    assert_eq!(wang["joined_party_on"], "1985-07-01");
    let zhang = member_by_phone(&w.secretary_a, w.branch_a, "13907310003").await;
    assert_eq!(zhang["name"], "张卫");
    assert_eq!(zhang["category"], "full");
    let li = member_by_phone(&w.secretary_a, w.branch_a, "13807310004").await;
    assert_eq!(li["name"], "李泗");
    assert!(li["gender"].is_null() && li["birth_date"].is_null());
    let yang = member_by_phone(&w.secretary_a, w.branch_a, "17707310006").await;
    assert_eq!(yang["category"], "probationary");
    assert!(yang["joined_party_on"].is_null());
    // And again: nothing left to change.
    let again = import_csv(&w.secretary_a, w.branch_a, csv, false)
        .await
        .json();
    assert_eq!(counts(&again), (0, 0, 4, 0));
}

#[tokio::test]
async fn a_member_moved_between_branches_by_import_keeps_history() {
    let app = spawn().await;
    let (w, o) = setup(&app).await;
    let csv = "姓名,手机号,类别,所在支部\n周海军,13607310009,正式党员,东山村党支部\n";
    let first = import_csv(&w.admin, w.township, csv, false).await.json();
    assert_eq!(counts(&first), (1, 0, 0, 0));
    let user_id = first["rows"][0]["user_id"].as_i64().unwrap();
    app.clock.advance(chrono::Duration::days(30));
    // A month later the old access token has expired: log in again.
    let admin = app.login_as("13900000000").await;
    let moved = csv.replace("东山村党支部", "东山村合作社党支部");
    let r = import_csv(&admin, w.township, moved.clone(), false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (0, 1, 0, 0));
    assert_eq!(report["rows"][0]["changes"], serde_json::json!(["org"]));
    assert_eq!(report["rows"][0]["org_id"], o.coop);

    let detail = admin.get(&format!("/v1/members/{user_id}")).await;
    detail.expect(200);
    let detail = detail.json();
    assert_eq!(detail["org_id"], o.coop);
    assert_eq!(detail["from_date"], "2026-12-27");
    let history = detail["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{detail}");
    assert_eq!(history[1]["org_id"], w.branch_a);
    assert_eq!(history[1]["from_date"], "2026-11-27");
    assert_eq!(history[1]["to_date"], "2026-12-26");
    assert_eq!(history[1]["end_reason"], "transfer");
    // Re-importing the moved file changes nothing more.
    let again = import_csv(&admin, w.township, moved, false).await.json();
    assert_eq!(counts(&again), (0, 0, 1, 0));
}

#[tokio::test]
async fn sibling_organizer_gets_404_and_committee_member_403() {
    let app = spawn().await;
    let w = app.world().await;
    let csv = "姓名,手机号\n王一,13807310001\n";
    import_csv(&w.organizer_b, w.branch_a, csv, false)
        .await
        .expect_problem(404, "not_found");
    import_csv(&w.committee_a, w.branch_a, csv, false)
        .await
        .expect_problem(403, "forbidden");
    import_csv(&w.committee_a, w.branch_a, csv, true)
        .await
        .expect_problem(403, "forbidden");
    // An ancestor is outside a branch secretary's scope.
    import_csv(&w.secretary_a, w.township, csv, false)
        .await
        .expect_problem(404, "not_found");
    import_csv(&w.member_a, w.branch_a, csv, false)
        .await
        .expect_problem(404, "not_found");
    import_csv(&app.client(), w.branch_a, csv, false)
        .await
        .expect_problem(401, "token_missing");
    assert_eq!(db_counts(&app).await.3, 0);
    let r = import_csv(&w.secretary_a, w.branch_a, csv, false).await;
    r.expect(200);
    assert_eq!(counts(&r.json()), (1, 0, 0, 0));
}

#[tokio::test]
async fn rows_naming_unusable_orgs_or_members_elsewhere_are_rejected() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    // The same group name under two branches is ambiguous from the township.
    app.create_org(&w.admin, w.branch_a, "第三党小组", "party_group")
        .await;
    app.create_org(&w.admin, w.branch_b, "第三党小组", "party_group")
        .await;
    let csv = "姓名,手机号,所在支部\n\
               甲,13807310001,南山村党支部\n\
               乙,13807310002,城关镇党委\n\
               丙,13807310003,第三党小组\n\
               丁,13807310004,\n\
               戊,13807310005,东山村第二党小组\n\
               县委管理员,13900000000,东山村党支部\n";
    let r = import_csv(&w.admin, w.township, csv, false).await;
    r.expect(200);
    let rows = by_line(&r.json());
    assert_eq!(rows[&2]["reason"], "unknown_org");
    assert_eq!(rows[&3]["reason"], "org_cannot_hold_members");
    assert_eq!(rows[&4]["reason"], "ambiguous_org");
    assert_eq!(rows[&5]["reason"], "org_required");
    assert_eq!(rows[&6]["outcome"], "created");
    // A known user without a home org (the county admin) joins.
    assert_eq!(rows[&7]["outcome"], "created");
    assert_eq!(rows[&7]["user_id"], w.admin_id);

    // Branch A's secretary cannot take branch B's organizer, nor see branch B's orgs.
    let csv = "姓名,手机号,所在支部\n赵组织员,13900000004,\n某人,13807310009,西河村党支部\n";
    let r = import_csv(&w.secretary_a, w.branch_a, csv, false).await;
    r.expect(200);
    let rows = by_line(&r.json());
    assert_eq!(rows[&2]["reason"], "member_not_addable");
    assert_eq!(rows[&3]["reason"], "unknown_org");
    let organizer = w
        .organizer_b
        .get(&format!("/v1/members/{}", w.organizer_b_id))
        .await
        .json();
    assert_eq!(organizer["org_id"], w.branch_b);
}

#[tokio::test]
async fn bad_values_are_reported_per_row_in_the_callers_language() {
    let app = spawn().await;
    let w = app.world().await;
    let csv = "姓名,性别,手机号,出生日期,类别\n\
               王一,未知,13807310001,1958-02-30,群众\n\
               ,男,,,\n\
               王三,男,13807310003,1958-03-12,正式党员\n";
    let r = w
        .secretary_a
        .send(
            w.secretary_a
                .request(Method::POST, &import_path(w.branch_a, false))
                .header("content-type", "text/csv; charset=utf-8")
                .header("accept-language", "en")
                .body(csv),
        )
        .await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (1, 0, 0, 2));
    let rows = by_line(&report);
    let reasons: Vec<&str> = rows[&2]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["invalid_gender", "invalid_date", "invalid_category"]
    );
    assert_eq!(rows[&2]["problems"][1]["column"], "birth_date");
    assert!(rows[&2]["message"].as_str().unwrap().starts_with("Gender"));
    assert_eq!(rows[&3]["reason"], "missing_name");
    assert_eq!(rows[&3]["problems"][1]["reason"], "missing_phone");
}

#[tokio::test]
async fn a_file_without_a_required_column_is_refused_whole() {
    let app = spawn().await;
    let w = app.world().await;
    let r = import_csv(&w.secretary_a, w.branch_a, "姓名,性别\n王一,男\n", false).await;
    let p = r.expect_problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["field"], "phone");
    assert_eq!(p["errors"][0]["code"], "missing_column");
    assert!(p["detail"].as_str().unwrap().contains("手机号"));
    let r = import_csv(&w.secretary_a, w.branch_a, b"\xFF\xFE\xFF".to_vec(), false).await;
    let p = r.expect_problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["code"], "unrecognized_encoding");
    let r = import_csv(&w.secretary_a, w.branch_a, b"\x81\x30\xFF".to_vec(), false).await;
    let p = r.expect_problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["code"], "unrecognized_encoding");
    assert_eq!(db_counts(&app).await.3, 0);
}

#[tokio::test]
async fn an_upload_over_20_mib_is_413() {
    let app = spawn().await;
    let w = app.world().await;
    let mut body = b"\xE5\xA7\x93\xE5\x90\x8D,phone\n".to_vec();
    body.resize(20 * 1024 * 1024 + 1, b'x');
    let r = import_csv(&w.secretary_a, w.branch_a, body.clone(), false).await;
    r.expect_problem(413, "payload_too_large");
    let r = import_multipart(&w.secretary_a, w.branch_a, &body, false).await;
    r.expect_problem(413, "payload_too_large");

    // Streamed without a declared length, the limit holds as the bytes arrive.
    let token = w.secretary_a.access_token.clone().unwrap();
    let path = import_path(w.branch_a, false);
    let status = chunked_status(&app.base, &token, &path, "text/csv", body.clone()).await;
    assert_eq!(status, 413);
    let boundary = "b0undary";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.csv\"\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&body);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let status = chunked_status(&app.base, &token, &path, &ct, form).await;
    assert_eq!(status, 413);
    assert_eq!(db_counts(&app).await.3, 0);
}

/// Sends `body` with `Transfer-Encoding: chunked` (no declared length) over a plain
/// socket and returns the response status, read while the body is still being written.
async fn chunked_status(
    base: &str,
    token: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> u16 {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    tokio::task::spawn_blocking(move || {
        let mut w = std::net::TcpStream::connect(&addr).unwrap();
        w.set_write_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let mut r = w.try_clone().unwrap();
        r.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while !got.windows(2).any(|p| p == b"\r\n") {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            got
        });
        let mut send = || -> std::io::Result<()> {
            w.write_all(head.as_bytes())?;
            for chunk in body.chunks(64 * 1024) {
                w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                w.write_all(chunk)?;
                w.write_all(b"\r\n")?;
            }
            w.write_all(b"0\r\n\r\n")
        };
        let _ = send();
        let got = reader.join().unwrap();
        let line = String::from_utf8_lossy(&got).into_owned();
        line.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {line:?}"))
    })
    .await
    .unwrap()
}

/// A generated member list: `n` rows over the three branches and groups of branch A.
fn generated(n: usize) -> String {
    let orgs = [
        "东山村党支部",
        "东山村第一党小组",
        "东山村第二党小组",
        "东山村合作社党支部",
    ];
    let cats = ["正式党员", "预备党员", "入党积极分子"];
    let mut s = String::from("序号,姓名,性别,手机号,出生日期,入党日期,类别,所在支部,是否干部\r\n");
    for i in 0..n {
        let cat = cats[i % 3];
        let born = 1940 + i % 50;
        let joined = if i % 3 == 2 {
            String::new()
        } else {
            format!("{}-07-01", born + 20 + i % 10)
        };
        s.push_str(&format!(
            "{},党员{i:05},{},135{:08},{}-{:02}-{:02},{joined},{cat},{},{}\r\n",
            i + 1,
            if i % 2 == 0 { "男" } else { "女" },
            i,
            born,
            1 + i % 12,
            1 + i % 28,
            orgs[i % 4],
            if i % 10 == 0 { "是" } else { "否" },
        ));
    }
    s
}

#[tokio::test]
async fn ten_thousand_rows_import_in_one_request() {
    let app = spawn().await;
    let (w, _) = setup(&app).await;
    let csv = generated(10_000);
    let before = db_counts(&app).await;
    let r = import_csv(&w.admin, w.township, csv.clone(), false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (10_000, 0, 0, 0));
    let after = db_counts(&app).await;
    assert_eq!(after.0 - before.0, 10_000);
    assert_eq!(after.2 - before.2, 10_000);
    let again = import_csv(&w.admin, w.township, csv, true).await.json();
    assert_eq!(counts(&again), (0, 0, 10_000, 0));
    let m = member_by_phone(&w.admin, w.township, "13500009999").await;
    assert_eq!(m["name"], "党员09999");
}

#[tokio::test]
async fn existing_members_without_an_org_cell_stay_where_they_are() {
    let app = spawn().await;
    let w = app.world().await;
    // The world's people, listed by branch A's secretary without a 所在支部 column.
    let csv = "姓名,手机号,类别\n李书记,13900000001,正式党员\n张委员,13900000002,\n王党员,13900000003,正式党员\n";
    let r = import_csv(&w.secretary_a, w.branch_a, csv, false).await;
    r.expect(200);
    let report = r.json();
    assert_eq!(counts(&report), (0, 0, 3, 0));
    let rows = by_line(&report);
    assert_eq!(rows[&2]["user_id"], w.secretary_a_id);
    assert_eq!(rows[&3]["user_id"], w.committee_a_id);
    assert_eq!(rows[&4]["user_id"], w.member_a_id);
    assert_eq!(
        rows[&4]["org_id"], w.group_a,
        "a group member is not moved up"
    );

    // An edit made in the app since is put back to the list's value by a re-import.
    w.secretary_a
        .patch(
            &format!("/v1/members/{}", w.member_a_id),
            serde_json::json!({"name": "王党员（改）"}),
        )
        .await
        .expect(200);
    let report = import_csv(&w.secretary_a, w.branch_a, csv, false)
        .await
        .json();
    assert_eq!(counts(&report), (0, 1, 2, 0));
    assert_eq!(by_line(&report)[&4]["changes"], serde_json::json!(["name"]));
    let m = w
        .secretary_a
        .get(&format!("/v1/members/{}", w.member_a_id))
        .await
        .json();
    assert_eq!(m["name"], "王党员");
    assert_eq!(m["org_id"], w.group_a);
}
