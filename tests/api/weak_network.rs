//! HTTP that spares a weak network (issue 19): gzipped request bodies, `HEAD` on every
//! `GET`, `ETag`s on what a phone reopens every day — and a to-do list whose `ETag` does not
//! roll with the media-signing clock, because covers have lasting URLs.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, ClockExt, Resp, TestApp, spawn};
use crate::media::{Part, upload_multipart, wav};

/// `bytes`, gzip-compressed as a phone's HTTP library would send them.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/media")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

async fn upload(by: &Client, file_name: &str, content_type: &str, bytes: &[u8]) -> i64 {
    let r = upload_multipart(
        by,
        &[Part::File {
            name: "file",
            file_name,
            content_type,
            bytes,
        }],
    )
    .await;
    assert!(r.status.is_success(), "upload: {}", r.text());
    r.json()["id"].as_i64().unwrap()
}

/// What [`course_with_cover`] made.
struct Course {
    id: i64,
    cover: i64,
    audio_media: i64,
    audio: i64,
    article: i64,
}

/// A required course for branch A with an uploaded cover image, an audio lesson of uploaded
/// media and an article (60 s of reading completes it).
async fn course_with_cover(w: &World) -> Course {
    let s = &w.secretary_a;
    let cover = upload(s, "cover.png", "image/png", &fixture("cover.png")).await;
    let audio_media = upload(s, "talk.wav", "audio/wav", &wav(5)).await;
    let r = s
        .post(
            "/v1/courses",
            json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "有封面的微党课",
                   "credit_centi": 100, "cover_media_id": cover}),
        )
        .await;
    r.expect(201);
    let id = r.json()["id"].as_i64().unwrap();
    let audio = s
        .post(
            &format!("/v1/courses/{id}/lessons"),
            json!({"kind": "audio", "title": "讲话", "media_id": audio_media}),
        )
        .await;
    audio.expect(201);
    let article = s
        .post(
            &format!("/v1/courses/{id}/lessons"),
            json!({"kind": "article", "title": "原文", "body": "<p>正文</p>", "min_reading_s": 60}),
        )
        .await;
    article.expect(201);
    s.publish_and_assign(
        id,
        json!({"org_ids": [w.branch_a], "required": true, "due_date": "2026-12-31"}),
    )
    .await;
    Course {
        id,
        cover,
        audio_media,
        audio: audio.json()["id"].as_i64().unwrap(),
        article: article.json()["id"].as_i64().unwrap(),
    }
}

/// A batch that reads `lesson` for 60 s, ending now on the app clock.
fn read_batch(app: &TestApp, id: &str, lesson: i64) -> Value {
    let end = DateTime::<Utc>::from_timestamp(app.clock.now_ts(), 0).unwrap();
    json!({"events": [{"client_event_id": id, "lesson_id": lesson, "kind": "read",
        "from_s": 0, "to_s": 60, "started_at": (end - Duration::seconds(60)).to_rfc3339(),
        "ended_at": end.to_rfc3339()}]})
}

/// `POST path` with a JSON body sent with `Content-Encoding: encoding` (already encoded).
async fn post_encoded(c: &Client, path: &str, encoding: &str, body: Vec<u8>) -> Resp {
    c.send(
        c.request(Method::POST, path)
            .header("content-type", "application/json")
            .header("content-encoding", encoding)
            .body(body),
    )
    .await
}

async fn get_if_none_match(c: &Client, path: &str, tag: &str) -> Resp {
    c.send(c.request(Method::GET, path).header("if-none-match", tag))
        .await
}

/// Fetches an absolute-path URL with no `Authorization` header, as an `<image>` would.
async fn fetch(app: &TestApp, method: Method, url: &str, headers: &[(&str, &str)]) -> Resp {
    let anon = app.client();
    let mut rb = anon.http.request(method, format!("{}{url}", app.base));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    anon.send(rb).await
}

#[tokio::test]
async fn a_gzipped_sync_batch_is_applied_and_other_codings_are_415() {
    let app = spawn().await;
    let w = app.world().await;
    let course = course_with_cover(&w).await;
    let m = &w.member_a;
    let batch = serde_json::to_vec(&read_batch(&app, "gz-1", course.article)).unwrap();

    // Codings the server cannot read are refused, and nothing is applied.
    for coding in ["br", "deflate", "x-foo", "gzip, br"] {
        post_encoded(m, "/v1/progress/sync", coding, gzip(&batch))
            .await
            .expect_problem(415, "unsupported_content_encoding");
    }
    // Gzip (by either name) is decoded; a replay under the other name is the same event.
    let r = post_encoded(m, "/v1/progress/sync", "gzip", gzip(&batch)).await;
    r.expect(200);
    let res = r.json();
    assert_eq!(res["results"][0]["status"], "accepted", "{res}");
    assert_eq!(res["results"][0]["replayed"], false);
    let again = post_encoded(m, "/v1/progress/sync", "x-gzip", gzip(&batch)).await;
    again.expect(200);
    assert_eq!(again.json()["results"][0]["replayed"], true);
    let mine = m.get("/v1/me/courses").await.json();
    assert_eq!(mine["items"][0]["lessons_done"], 1);

    // Any JSON route takes a gzipped body: a login.
    let login = serde_json::to_vec(
        &json!({"phone": "13900000003", "password": crate::helpers::world::PASSWORD}),
    )
    .unwrap();
    let r = post_encoded(&app.client(), "/v1/auth/login", "gzip", gzip(&login)).await;
    r.expect(200);
    assert!(r.json()["access_token"].is_string());
    // Data that is not gzip, or gzip cut short, is malformed, not a crash.
    let whole = gzip(&batch);
    for bad in [b"not gzip".to_vec(), whole[..whole.len() / 2].to_vec()] {
        post_encoded(m, "/v1/progress/sync", "gzip", bad)
            .await
            .expect_problem(400, "malformed_json");
    }
    // Media files are sent as they are.
    let s = &w.secretary_a;
    let r = s
        .send(
            s.request(Method::POST, "/v1/media")
                .header("content-type", "image/png")
                .header("content-encoding", "gzip")
                .body(gzip(&fixture("cover.png"))),
        )
        .await;
    r.expect_problem(415, "unsupported_content_encoding");
}

#[tokio::test]
async fn a_gzip_bomb_json_body_is_413_like_a_large_plain_one() {
    let app = spawn().await;
    let w = app.world().await;
    let m = &w.member_a;
    // 32 MiB of white space inflate from some 32 KiB: under the 64 KiB limit as sent.
    let bomb = gzip(&vec![b' '; 32 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let started = std::time::Instant::now();
    post_encoded(m, "/v1/progress/sync", "gzip", bomb)
        .await
        .expect_problem(413, "payload_too_large");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "refused while inflating, not after"
    );
    // Just over the limit once inflated is refused too; just under is read (and parsed).
    let mut over = b"{\"events\": []".to_vec();
    over.resize(64 * 1024 + 1, b' ');
    post_encoded(m, "/v1/progress/sync", "gzip", gzip(&over))
        .await
        .expect_problem(413, "payload_too_large");
    let mut under = b"{\"events\": []".to_vec();
    under.resize(64 * 1024 - 1, b' ');
    under.push(b'}');
    post_encoded(m, "/v1/progress/sync", "gzip", gzip(&under))
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn().await;
    let w = app.world().await;
    let mp4 = fixture("clip-2s.mp4");
    let s = &w.secretary_a;
    let up = upload_multipart(
        s,
        &[Part::File {
            name: "file",
            file_name: "clip.mp4",
            content_type: "video/mp4",
            bytes: &mp4,
        }],
    )
    .await;
    up.expect(201);
    let url = up.json()["url"].as_str().unwrap().to_string();

    // A player probes the signed media URL.
    let get = fetch(&app, Method::GET, &url, &[]).await;
    get.expect(200);
    let head = fetch(&app, Method::HEAD, &url, &[]).await;
    head.expect(200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some(mp4.len().to_string()));
    assert_eq!(head.header("content-length"), get.header("content-length"));
    for name in ["etag", "content-type", "accept-ranges", "cache-control"] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    let part = fetch(&app, Method::HEAD, &url, &[("range", "bytes=100-199")]).await;
    part.expect(206);
    assert!(part.body.is_empty());
    assert_eq!(part.header("content-length").as_deref(), Some("100"));
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", mp4.len()))
    );
    let etag = get.header("etag").unwrap();
    fetch(&app, Method::HEAD, &url, &[("if-none-match", &etag)])
        .await
        .expect(304);
    let (path, _) = url.split_once('?').unwrap();
    let bad = fetch(&app, Method::HEAD, &format!("{path}?exp=1&sig=x"), &[]).await;
    bad.expect(403);
    assert!(bad.body.is_empty());

    // Any GET route: my account, with the GET's length and tag.
    let m = &w.member_a;
    let get = m.get("/v1/me").await;
    get.expect(200);
    let head = m.send(m.request(Method::HEAD, "/v1/me")).await;
    head.expect(200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string())
    );
    assert_eq!(head.header("etag"), get.header("etag"));
    let anon = app.client();
    anon.send(anon.request(Method::HEAD, "/v1/me"))
        .await
        .expect(401);
    anon.send(anon.request(Method::HEAD, "/healthz"))
        .await
        .expect(200);

    // Unknown routes stay 404; a path without GET stays 405, and Allow names HEAD by GET.
    let r = anon
        .send(anon.request(Method::HEAD, "/v1/nothing-here"))
        .await;
    r.expect(404);
    assert!(r.body.is_empty());
    let r = anon
        .send(anon.request(Method::HEAD, "/v1/auth/login"))
        .await;
    r.expect(405);
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    let r = anon.delete("/healthz").await;
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD"));
}

#[tokio::test]
async fn my_study_answers_304_until_i_study() {
    let app = spawn().await;
    let w = app.world().await;
    let course = course_with_cover(&w).await;
    let m = &w.member_a;
    let first = m.get("/v1/me/study").await;
    first.expect(200);
    let tag = first.header("etag").expect("an ETag");
    assert_eq!(
        first.header("cache-control").as_deref(),
        Some("private, no-cache")
    );
    let again = get_if_none_match(m, "/v1/me/study", &tag).await;
    again.expect(304);
    assert!(again.body.is_empty());
    // An hour later nothing changed: still 304.
    app.clock.advance(Duration::hours(1));
    let m = app.login_as("13900000003").await;
    get_if_none_match(&m, "/v1/me/study", &tag)
        .await
        .expect(304);
    // A lesson studied: a new answer with a new tag.
    m.post(
        "/v1/progress/sync",
        read_batch(&app, "study-1", course.article),
    )
    .await
    .expect(200);
    let changed = get_if_none_match(&m, "/v1/me/study", &tag).await;
    changed.expect(200);
    assert_ne!(changed.header("etag").unwrap(), tag);
    let open = &changed.json()["open_required_courses"][0];
    assert_eq!(open["lessons_done"], 1);
}

#[tokio::test]
async fn my_course_list_keeps_its_etag_as_signed_urls_roll_and_covers_stay_cacheable() {
    let app = spawn().await;
    let w = app.world().await;
    let course = course_with_cover(&w).await;
    let m = &w.member_a;
    let first = m.get("/v1/me/courses").await;
    first.expect(200);
    let tag = first.header("etag").unwrap();
    let cover_url = first.json()["items"][0]["cover_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cover_url.starts_with(&format!("/v1/media/{}/image?sig=", course.cover)),
        "{cover_url}"
    );
    assert!(!cover_url.contains("exp="), "{cover_url}");
    let lesson = m.get(&format!("/v1/lessons/{}", course.audio)).await.json();
    let play_url = lesson["url"].as_str().unwrap().to_string();
    assert!(play_url.contains("/content?exp="), "{play_url}");

    // The phone opens the list again in the evening: the signing step rolled many times,
    // yet nothing changed, so 304.
    app.clock.advance(Duration::hours(12));
    let m = app.login_as("13900000003").await;
    let evening = get_if_none_match(&m, "/v1/me/courses", &tag).await;
    evening.expect(304);
    assert!(evening.body.is_empty());
    // The course page shows the same cover URL; its lesson gets a fresh playback URL.
    let detail = m.get(&format!("/v1/courses/{}", course.id)).await.json();
    assert_eq!(detail["cover_url"], cover_url.as_str());
    let lesson = m.get(&format!("/v1/lessons/{}", course.audio)).await.json();
    assert_ne!(lesson["url"], play_url.as_str());

    // Lesson playback stays short-lived; the cover still shows, cached for good.
    fetch(&app, Method::GET, &play_url, &[])
        .await
        .expect_problem(403, "media_url_expired");
    let cover = fetch(&app, Method::GET, &cover_url, &[]).await;
    cover.expect(200);
    assert_eq!(cover.body, fixture("cover.png"));
    assert_eq!(cover.header("content-type").as_deref(), Some("image/png"));
    let cache = cover.header("cache-control").unwrap();
    assert!(
        cache.contains("public") && cache.contains("immutable"),
        "{cache}"
    );
    let etag = cover.header("etag").unwrap();
    fetch(&app, Method::GET, &cover_url, &[("if-none-match", &etag)])
        .await
        .expect(304);
    let probe = fetch(&app, Method::HEAD, &cover_url, &[]).await;
    probe.expect(200);
    assert_eq!(
        probe.header("content-length"),
        Some(cover.body.len().to_string())
    );

    // The URL is still a credential: no other id, no forged signature, no non-image.
    let sig = cover_url.split("sig=").nth(1).unwrap();
    for bad in [
        format!("/v1/media/{}/image?sig={sig}", course.audio_media),
        format!(
            "/v1/media/{}/image?sig=AAAAAAAAAAAAAAAAAAAAAA",
            course.cover
        ),
        format!("/v1/media/{}/image", course.cover),
        format!(
            "/v1/media/{}/content?exp=99999999999&sig={sig}",
            course.cover
        ),
    ] {
        fetch(&app, Method::GET, &bad, &[])
            .await
            .expect_problem(403, "media_url_invalid");
    }
    let audio_as_image = app.app_state.media.image_url(course.audio_media);
    fetch(&app, Method::GET, &audio_as_image, &[])
        .await
        .expect_problem(404, "not_found");
    // And a cover must be an image.
    let s = app.login_as("13900000001").await;
    let p = s
        .patch(
            &format!("/v1/courses/{}", course.id),
            json!({"cover_media_id": course.audio_media}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["field"], "cover_media_id");
    assert_eq!(p["errors"][0]["code"], "not_an_image");

    // Something changes — the member studies — and the list answers anew.
    m.post(
        "/v1/progress/sync",
        read_batch(&app, "ev-1", course.article),
    )
    .await
    .expect(200);
    let changed = get_if_none_match(&m, "/v1/me/courses", &tag).await;
    changed.expect(200);
    assert_ne!(changed.header("etag").unwrap(), tag);
    let item = &changed.json()["items"][0];
    assert_eq!(item["lessons_done"], 1);
    assert_eq!(item["status"], "in_progress");
    assert_eq!(item["cover_url"], cover_url.as_str());
}
