//! Nothing grows forever: housekeeping removes expired idempotency keys, expired refresh
//! tokens and empty sessions, and media unused for the grace period — moving the test clock
//! and running one pass as the background task does.

use chrono::Duration;
use dangke::housekeeping::{Swept, run_once};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ClockExt, TestApp, files_under, spawn};
use crate::media::{Part, upload_multipart};

const PNG: &[u8] = include_bytes!("../fixtures/media/cover.png");

async fn count(app: &TestApp, table: &'static str) -> i64 {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::*;
            use diesel::prelude::*;
            Ok(match table {
                "idempotency_keys" => idempotency_keys::table.count().get_result::<i64>(c)?,
                "refresh_tokens" => refresh_tokens::table.count().get_result::<i64>(c)?,
                "refresh_families" => refresh_families::table.count().get_result::<i64>(c)?,
                "media" => media::table.count().get_result::<i64>(c)?,
                other => panic!("no table {other}"),
            })
        })
        .await
        .unwrap()
}

async fn pass(app: &TestApp) -> Swept {
    run_once(&app.app_state).await.unwrap()
}

#[tokio::test]
async fn expired_keys_sessions_and_long_unused_media_are_removed() {
    let app = spawn().await;
    let w = app.world().await;
    let t0 = app.clock.now_ts();

    // A retried leave request leaves an idempotency key; a logout leaves a revoked session.
    let act = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "theme_party_day", "title": "主题党日", "start_local": "2027-01-01T09:00:00",
                   "end_local": "2027-01-01T11:00:00"}),
        )
        .await
        .json();
    let occ = act["upcoming"][0]["id"].as_i64().unwrap();
    let m = &w.member_a;
    m.send(
        m.request(Method::POST, &format!("/v1/occurrences/{occ}/leave"))
            .header("idempotency-key", "6f1c2a9e-0d1b-4b8e-9a57-2c1e5b0f7a10")
            .json(&json!({"reason": "外出务工"})),
    )
    .await
    .expect(201);
    assert_eq!(count(&app, "idempotency_keys").await, 1);
    let mut gone = app.client();
    gone.login("13900000003", crate::helpers::world::PASSWORD)
        .await;
    gone.post("/v1/auth/logout", json!({})).await.expect(204);

    // Three uploads: a course cover, one never used, one used only after three weeks.
    let upload = |tag: &'static str| {
        let c = w.secretary_a.clone();
        async move {
            let mut png = PNG.to_vec();
            png.extend_from_slice(tag.as_bytes());
            let r = upload_multipart(
                &c,
                &[Part::File {
                    name: "file",
                    file_name: "a.png",
                    content_type: "image/png",
                    bytes: &png,
                }],
            )
            .await;
            r.expect(201);
            r.json()["id"].as_i64().unwrap()
        }
    };
    let (cover, unused, late) = (
        upload("cover").await,
        upload("unused").await,
        upload("late").await,
    );
    w.secretary_a
        .post(
            "/v1/courses",
            json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "有封面的课", "credit_centi": 10, "cover_media_id": cover}),
        )
        .await
        .expect(201);
    let objects = files_under(&std::path::PathBuf::from(&app.db.data_dir).join("media")).len();
    assert_eq!(objects, 3);

    // Day 0: nothing is old enough; the two unused uploads are marked.
    let swept = pass(&app).await;
    assert_eq!(swept.media_marked, 2, "{swept:?}");
    assert_eq!(
        (
            swept.idempotency_keys,
            swept.refresh_tokens,
            swept.media_removed
        ),
        (0, 0, 0)
    );

    // Day 21: the late one goes into a lesson.
    app.clock.advance(Duration::days(21));
    let mut sec = app.client();
    sec.login("13900000001", crate::helpers::world::PASSWORD)
        .await;
    let course = sec
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "后来的课", "credit_centi": 10}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    sec.post(
        &format!("/v1/courses/{course}/lessons"),
        json!({"kind": "pdf", "title": "图", "media_id": late, "min_reading_s": 30}),
    )
    .await;
    sec.patch(
        &format!("/v1/courses/{course}"),
        json!({"cover_media_id": late}),
    )
    .await
    .expect(200);
    // The key expired after 24 hours; the sessions' refresh tokens last 30 days.
    let swept = pass(&app).await;
    assert_eq!(swept.idempotency_keys, 1, "{swept:?}");
    assert_eq!(
        (swept.refresh_tokens, swept.media_removed),
        (0, 0),
        "{swept:?}"
    );
    assert_eq!(count(&app, "idempotency_keys").await, 0);

    // Day 31: the refresh tokens of day 0 have expired, the unused upload has been unused
    // for 31 days.
    app.clock.advance(Duration::days(10));
    let mut fresh = app.client();
    fresh
        .login("13900000002", crate::helpers::world::PASSWORD)
        .await;
    let before_sessions = count(&app, "refresh_families").await;
    let swept = pass(&app).await;
    assert!(
        swept.refresh_tokens >= 5 && swept.sessions >= 5,
        "{swept:?}"
    );
    assert_eq!(swept.media_removed, 1, "{swept:?}");
    assert_eq!(
        count(&app, "refresh_families").await,
        before_sessions - swept.sessions as i64
    );
    // Live sessions stay: today's, and the secretary's of day 21 (its refresh token works).
    fresh.get("/v1/me").await.expect(200);
    let refreshed = app
        .client()
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": sec.refresh_token.clone().unwrap()}),
        )
        .await;
    refreshed.expect(200);
    sec.access_token = refreshed.json()["access_token"].as_str().map(str::to_owned);
    sec.get("/v1/me").await.expect(200);
    // The unused upload is gone, row and object; the used ones stay.
    assert_eq!(count(&app, "media").await, 2);
    assert_eq!(
        files_under(&std::path::PathBuf::from(&app.db.data_dir).join("media")).len(),
        2
    );
    sec.get(&format!("/v1/media/{unused}"))
        .await
        .expect_problem(404, "not_found");
    sec.get(&format!("/v1/media/{cover}")).await.expect(200);
    sec.get(&format!("/v1/media/{late}")).await.expect(200);
    // A second pass finds nothing more.
    let again = pass(&app).await;
    assert_eq!(
        (
            again.idempotency_keys,
            again.refresh_tokens,
            again.media_removed
        ),
        (0, 0, 0)
    );
    assert!(app.clock.now_ts() - t0 >= 31 * 86400);
}
