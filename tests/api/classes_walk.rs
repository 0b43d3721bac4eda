//! The issue-5 walk: a secretary records a 3-minute mini party class on her phone, makes it
//! a course with one audio lesson and a quiz, publishes it to her branch as required with a
//! due date; her member sees it and plays it through a signed URL that resumes with
//! `Range` and stops working when it expires; the sibling branch sees nothing.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn;
use crate::media::{Part, upload_multipart, wav};

#[tokio::test]
async fn a_recorded_mini_class_reaches_the_branch_and_plays_on_a_bad_connection() {
    let app = spawn().await;
    let w = app.world().await;
    let s = &w.secretary_a;

    // Recorded on the phone: 3 minutes of audio, uploaded as wx.uploadFile sends it.
    let audio = wav(180);
    let up = upload_multipart(
        s,
        &[Part::File {
            name: "file",
            file_name: "wx_rec_0001.wav",
            content_type: "audio/wav",
            bytes: &audio,
        }],
    )
    .await;
    up.expect(201);
    let media = up.json();
    assert_eq!(media["duration_s"], 180, "read from the file");
    let media_id = media["id"].as_i64().unwrap();

    let course = s
        .post(
            "/v1/courses",
            json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "我们村的好日子", "credit_centi": 25}),
        )
        .await;
    course.expect(201);
    let course = course.json()["id"].as_i64().unwrap();
    let lesson = s
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "audio", "title": "微党课", "media_id": media_id}),
        )
        .await;
    lesson.expect(201);
    let lesson = lesson.json();
    assert_eq!(
        lesson["duration_s"], 180,
        "the lesson takes the media's duration"
    );
    let lesson_id = lesson["id"].as_i64().unwrap();
    s.put(
        &format!("/v1/lessons/{lesson_id}/quiz"),
        json!({"questions": [{"kind": "true_false", "text": "乡村振兴要靠党的领导。", "answer": true}]}),
    )
    .await
    .expect(200);
    s.publish_and_assign(
        course,
        json!({"org_ids": [w.branch_a], "required": true, "due_date": "2026-12-20"}),
    )
    .await;
    // An unknown media id is refused.
    let draft = s
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "x", "credit_centi": 1}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    s.post(
        &format!("/v1/courses/{draft}/lessons"),
        json!({"kind": "audio", "title": "x", "media_id": 999_999}),
    )
    .await
    .expect_problem(422, "validation_failed");
    // A lesson's source is switched by PATCH: `null` clears the media, then the URL.
    let l = s
        .post(
            &format!("/v1/courses/{draft}/lessons"),
            json!({"kind": "audio", "title": "换源", "media_id": media_id}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let to_url = s
        .patch(
            &format!("/v1/lessons/{l}"),
            json!({"media_id": null, "external_url": "https://cdn.example.com/b.mp3", "duration_s": 60}),
        )
        .await;
    to_url.expect(200);
    let v = to_url.json();
    assert_eq!(
        (&v["media_id"], &v["url"], &v["duration_s"]),
        (
            &json!(null),
            &json!("https://cdn.example.com/b.mp3"),
            &json!(60)
        ),
        "{v}"
    );
    s.patch(&format!("/v1/lessons/{l}"), json!({"external_url": null}))
        .await
        .expect_problem(422, "validation_failed");
    let back = s
        .patch(
            &format!("/v1/lessons/{l}"),
            json!({"media_id": media_id, "external_url": null}),
        )
        .await;
    back.expect(200);
    let v = back.json();
    assert_eq!(
        (&v["media_id"], &v["duration_s"]),
        (&json!(media_id), &json!(180)),
        "{v}"
    );

    // The member sees it in todo; the sibling branch does not.
    let todo = w.member_a.get("/v1/me/courses?status=todo").await.json();
    assert_eq!(todo["items"][0]["course_id"], course);
    assert_eq!(todo["items"][0]["required"], true);
    assert_eq!(todo["items"][0]["due_date"], "2026-12-20");
    assert!(
        w.organizer_b.get("/v1/me/courses").await.json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // It plays through the signed URL, without any auth header.
    let l = w
        .member_a
        .get(&format!("/v1/lessons/{lesson_id}"))
        .await
        .json();
    let url = l["url"].as_str().unwrap().to_string();
    assert!(url.contains("sig="), "{url}");
    let anon = app.client();
    let full = anon.get(&url).await;
    full.expect(200);
    assert_eq!(full.body, audio);
    // The connection dropped after 100 KB: resume from there.
    let resumed = anon
        .send(
            anon.request(Method::GET, &url)
                .header("range", "bytes=102400-"),
        )
        .await;
    resumed.expect(206);
    assert_eq!(resumed.body, audio[102_400..]);
    assert_eq!(
        resumed.header("content-range").unwrap(),
        format!("bytes 102400-{}/{}", audio.len() - 1, audio.len())
    );
    // Later the URL expires; a fresh lesson read gives a new one.
    app.clock.advance(Duration::hours(3));
    anon.get(&url)
        .await
        .expect_problem(403, "media_url_expired");
    let member = app.login_as("13900000003").await;
    let fresh = member.get(&format!("/v1/lessons/{lesson_id}")).await.json()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(fresh, url);
    anon.get(&fresh).await.expect(200);
}
