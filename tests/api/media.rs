//! Media over HTTP, as a secretary's phone uploads it and a member's player fetches it:
//! multipart and raw uploads, typing by content, per-kind limits, de-duplication, durations,
//! signed playback with ranges, and the same flow against a real S3 server on loopback.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::s3_server::S3Server;
use crate::helpers::{Client, ClockExt, Options, Resp, TestApp, files_under, spawn, spawn_with};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/media")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A WAV file of `seconds` of a tone: 8 kHz, 8-bit, mono PCM, made here rather than stored.
pub(crate) fn wav(seconds: u32) -> Vec<u8> {
    let rate = 8000u32;
    let data: Vec<u8> = (0..rate * seconds)
        .map(|i| {
            (128.0 + 60.0 * (i as f64 * 440.0 * std::f64::consts::TAU / rate as f64).sin()) as u8
        })
        .collect();
    let mut out = Vec::with_capacity(44 + data.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes()); // bytes per second
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One part of a hand-built multipart body (what `wx.uploadFile` sends).
pub(crate) enum Part<'a> {
    File {
        name: &'a str,
        file_name: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
    Text(&'a str, &'a str),
}

fn multipart_body(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "----dangkeFormBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::File {
                name,
                file_name,
                content_type,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn upload_multipart(client: &Client, parts: &[Part<'_>]) -> Resp {
    let (content_type, body) = multipart_body(parts);
    client
        .send(
            client
                .request(Method::POST, "/v1/media")
                .header("content-type", content_type)
                .body(body),
        )
        .await
}

async fn upload_file(client: &Client, file_name: &str, bytes: &[u8]) -> Resp {
    upload_multipart(
        client,
        &[Part::File {
            name: "file",
            file_name,
            content_type: "application/octet-stream",
            bytes,
        }],
    )
    .await
}

async fn upload_raw(client: &Client, query: &str, content_type: &str, bytes: &[u8]) -> Resp {
    client
        .send(
            client
                .request(Method::POST, &format!("/v1/media{query}"))
                .header("content-type", content_type)
                .body(bytes.to_vec()),
        )
        .await
}

/// Fetches a signed URL with no `Authorization` header, as a `<video>` element would.
async fn play(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> Resp {
    let player = app.client();
    let mut rb = player.http.get(format!("{}{url}", app.base));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    player.send(rb).await
}

fn media_dir(app: &TestApp) -> PathBuf {
    PathBuf::from(&app.db.data_dir).join("media")
}

fn uploads_dir(app: &TestApp) -> PathBuf {
    PathBuf::from(&app.db.data_dir).join("uploads")
}

fn url_of(body: &Value) -> String {
    body["url"].as_str().expect("url").to_string()
}

async fn media_rows(app: &TestApp) -> i64 {
    app.app_state
        .db
        .read(|c| {
            use diesel::prelude::*;
            Ok(dangke::db::schema::media::table
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn secretary_uploads_audio_by_multipart_and_its_duration_is_read_from_the_file() {
    let app = spawn().await;
    let w = app.world().await;
    let mp3 = fixture("tone-3s.mp3");
    let r = upload_multipart(
        &w.secretary_a,
        &[
            Part::Text("duration_s", "999"),
            Part::File {
                name: "file",
                file_name: "第一课 党章学习.mp3",
                content_type: "audio/mpeg",
                bytes: &mp3,
            },
        ],
    )
    .await;
    r.expect(201);
    let m = r.json();
    assert_eq!(m["kind"], "audio");
    assert_eq!(m["content_type"], "audio/mpeg");
    assert_eq!(m["size_bytes"], mp3.len());
    assert_eq!(m["sha256"], sha_hex(&mp3));
    assert_eq!(
        m["duration_s"], 3,
        "the file's duration wins over the uploader's"
    );
    assert_eq!(m["duration_source"], "file");
    assert_eq!(m["file_name"], "第一课 党章学习.mp3");
    assert_eq!(m["uploaded_by"], w.secretary_a_id);
    assert_eq!(r.header("location"), Some(format!("/v1/media/{}", m["id"])));
    assert_eq!(files_under(&media_dir(&app)).len(), 1);
    assert!(
        files_under(&uploads_dir(&app)).is_empty(),
        "staged file removed"
    );

    let audited = app
        .app_state
        .db
        .read(|c| {
            use dangke::db::schema::audit_log::dsl as a;
            use diesel::prelude::*;
            Ok(a::audit_log
                .filter(a::action.eq("media_uploaded"))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn raw_body_uploads_are_typed_by_content_with_durations_for_video_and_m4a() {
    let app = spawn().await;
    let w = app.world().await;
    let mp4 = fixture("clip-2s.mp4");
    let v = upload_raw(&w.committee_a, "", "application/octet-stream", &mp4).await;
    v.expect(201);
    let v = v.json();
    assert_eq!(
        (&v["kind"], &v["content_type"], &v["duration_s"]),
        (&"video".into(), &"video/mp4".into(), &2.into())
    );

    let m4a = fixture("tone-2s.m4a");
    let a = upload_raw(&w.committee_a, "?file_name=note.m4a", "audio/x-m4a", &m4a).await;
    a.expect(201);
    let a = a.json();
    assert_eq!(
        (&a["kind"], &a["content_type"], &a["duration_s"]),
        (&"audio".into(), &"audio/mp4".into(), &2.into())
    );
    assert_eq!(a["file_name"], "note.m4a");

    // A cover image declared as PDF is still an image; a duration means nothing for it.
    let png = fixture("cover.png");
    let i = upload_raw(&w.committee_a, "?duration_s=5", "application/pdf", &png).await;
    i.expect(201);
    let i = i.json();
    assert_eq!(
        (&i["kind"], &i["content_type"]),
        (&"image".into(), &"image/png".into())
    );
    assert!(i["duration_s"].is_null());

    let pdf = fixture("handout.pdf");
    let p = upload_raw(&w.committee_a, "", "application/pdf", &pdf).await;
    p.expect(201);
    assert_eq!(p.json()["kind"], "pdf");

    // Longer than the bytes needed to decide its type, so it arrives in several chunks.
    let recording = wav(7);
    let r = upload_file(&w.committee_a, "录音.wav", &recording).await;
    r.expect(201);
    let r = r.json();
    assert_eq!(
        (&r["kind"], &r["content_type"], &r["duration_s"]),
        (&"audio".into(), &"audio/wav".into(), &7.into())
    );
    assert_eq!(r["sha256"], sha_hex(&recording));
    assert_eq!(files_under(&media_dir(&app)).len(), 5);
}

#[tokio::test]
async fn the_uploaders_duration_is_kept_when_the_file_has_none() {
    let app = spawn().await;
    let w = app.world().await;
    // An ID3 tag followed by silence-free nothing: typed as MP3, but no frame to measure.
    let mut odd = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    odd.extend(std::iter::repeat_n(0u8, 4096));
    let r = upload_multipart(
        &w.secretary_a,
        &[
            Part::File {
                name: "file",
                file_name: "录音.mp3",
                content_type: "audio/mpeg",
                bytes: &odd,
            },
            Part::Text("duration_s", "180"),
        ],
    )
    .await;
    r.expect(201);
    let m = r.json();
    assert_eq!(m["duration_s"], 180);
    assert_eq!(m["duration_source"], "uploader");

    let bad = upload_multipart(
        &w.secretary_a,
        &[
            Part::Text("duration_s", "three minutes"),
            Part::File {
                name: "file",
                file_name: "x.mp3",
                content_type: "audio/mpeg",
                bytes: &fixture("tone-3s.mp3"),
            },
        ],
    )
    .await;
    let body = bad.expect_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "duration_s");
    let unknown = upload_multipart(
        &w.secretary_a,
        &[Part::Text("title", "党课"), Part::Text("duration_s", "3")],
    )
    .await;
    unknown.expect_problem(422, "validation_failed");
    let missing = upload_multipart(&w.secretary_a, &[Part::Text("duration_s", "3")]).await;
    let body = missing.expect_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "file");
    let garbled = upload_raw(
        &w.secretary_a,
        "",
        "multipart/form-data; boundary=nothing-like-the-body",
        b"--other\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx",
    )
    .await;
    garbled.expect_problem(400, "malformed_multipart");
}

#[tokio::test]
async fn a_text_file_renamed_mp3_is_refused_and_not_kept() {
    let app = spawn().await;
    let w = app.world().await;
    let fake = fixture("not-audio.mp3");
    let r = upload_multipart(
        &w.secretary_a,
        &[Part::File {
            name: "file",
            file_name: "第二课.mp3",
            content_type: "audio/mpeg",
            bytes: &fake,
        }],
    )
    .await;
    r.expect_problem(415, "unsupported_media_type");
    let r = upload_raw(&w.secretary_a, "", "audio/mpeg", &fake).await;
    r.expect_problem(415, "unsupported_media_type");
    let r = upload_raw(&w.secretary_a, "", "audio/mpeg", b"").await;
    r.expect_problem(415, "unsupported_media_type");
    assert!(files_under(&media_dir(&app)).is_empty());
    assert!(files_under(&uploads_dir(&app)).is_empty());
    assert_eq!(media_rows(&app).await, 0);
}

#[tokio::test]
async fn over_the_kinds_limit_is_413_and_nothing_is_kept() {
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_MEDIA_MAX_AUDIO", "2K".into()),
            ("DANGKE_MEDIA_MAX_VIDEO", "16K".into()),
            ("DANGKE_MEDIA_MAX_IMAGE", "1K".into()),
            ("DANGKE_MEDIA_MAX_PDF", "1K".into()),
        ],
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let mp3 = fixture("tone-3s.mp3");
    assert!(mp3.len() > 2048);
    upload_file(&w.secretary_a, "big.mp3", &mp3)
        .await
        .expect_problem(413, "payload_too_large");
    upload_raw(&w.secretary_a, "", "audio/mpeg", &mp3)
        .await
        .expect_problem(413, "payload_too_large");
    // Larger than every limit: refused from Content-Length alone.
    let mut huge = fixture("clip-2s.mp4");
    huge.resize(64 * 1024, 0);
    upload_raw(&w.secretary_a, "", "video/mp4", &huge)
        .await
        .expect_problem(413, "payload_too_large");
    assert!(files_under(&media_dir(&app)).is_empty(), "nothing stored");
    assert!(files_under(&uploads_dir(&app)).is_empty(), "nothing staged");
    assert_eq!(media_rows(&app).await, 0);

    // The video limit is larger: the same size class of file passes as video.
    upload_file(&w.secretary_a, "clip.mp4", &fixture("clip-2s.mp4"))
        .await
        .expect(201);
    assert_eq!(files_under(&media_dir(&app)).len(), 1);
}

#[tokio::test]
async fn the_same_file_twice_is_stored_once_with_one_id() {
    let app = spawn().await;
    let w = app.world().await;
    let mp3 = fixture("tone-3s.mp3");
    let first = upload_file(&w.secretary_a, "a.mp3", &mp3).await;
    first.expect(201);
    let second = upload_raw(&w.organizer_b, "?file_name=b.mp3", "audio/mpeg", &mp3).await;
    second.expect(200);
    assert_eq!(first.json()["id"], second.json()["id"]);
    assert_eq!(
        second.json()["file_name"],
        "a.mp3",
        "the first upload's row"
    );
    assert_eq!(files_under(&media_dir(&app)).len(), 1);
    assert!(files_under(&uploads_dir(&app)).is_empty());
    assert_eq!(media_rows(&app).await, 1);
}

#[tokio::test]
async fn a_member_without_a_role_cannot_upload_and_anonymous_gets_401() {
    let app = spawn().await;
    let w = app.world().await;
    let mp3 = fixture("tone-3s.mp3");
    upload_file(&w.member_a, "a.mp3", &mp3)
        .await
        .expect_problem(403, "forbidden");
    upload_file(&app.client(), "a.mp3", &mp3)
        .await
        .expect_problem(401, "token_missing");
    assert!(files_under(&media_dir(&app)).is_empty());

    let id = upload_file(&w.secretary_a, "a.mp3", &mp3).await.json()["id"].clone();
    // A member sees media only through what uses it (nothing yet); see security.rs.
    w.member_a
        .get(&format!("/v1/media/{id}"))
        .await
        .expect_problem(404, "not_found");
    app.client()
        .get(&format!("/v1/media/{id}"))
        .await
        .expect_problem(401, "token_missing");
    // The uploading branch's organizers read its metadata; another branch's do not.
    let m = w.committee_a.get(&format!("/v1/media/{id}")).await;
    m.expect(200);
    assert_eq!(m.json()["sha256"], sha_hex(&mp3));
    w.organizer_b
        .get(&format!("/v1/media/{id}"))
        .await
        .expect_problem(404, "not_found");
    w.secretary_a
        .get("/v1/media/999999")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_signed_url_plays_without_auth_and_resumes_with_ranges() {
    let app = spawn().await;
    let w = app.world().await;
    let mp4 = fixture("clip-2s.mp4");
    let size = mp4.len();
    let m = upload_file(&w.secretary_a, "clip.mp4", &mp4).await.json();
    let url = url_of(&m);
    assert!(
        url.starts_with(&format!("/v1/media/{}/content?exp=", m["id"])),
        "{url}"
    );

    let whole = play(&app, &url, &[]).await;
    whole.expect(200);
    assert_eq!(whole.body, mp4);
    assert_eq!(whole.header("accept-ranges").as_deref(), Some("bytes"));
    assert_eq!(whole.header("content-type").as_deref(), Some("video/mp4"));
    assert_eq!(whole.header("content-length"), Some(size.to_string()));
    let etag = format!("\"{}\"", sha_hex(&mp4));
    assert_eq!(whole.header("etag"), Some(etag.clone()));
    let cache = whole.header("cache-control").unwrap();
    assert!(
        cache.contains("max-age=31536000") && cache.contains("immutable"),
        "{cache}"
    );

    let mid = play(&app, &url, &[("range", "bytes=100-599")]).await;
    mid.expect(206);
    assert_eq!(mid.body, &mp4[100..600]);
    assert_eq!(
        mid.header("content-range"),
        Some(format!("bytes 100-599/{size}"))
    );
    assert_eq!(mid.header("content-length").as_deref(), Some("500"));

    let rest = play(&app, &url, &[("range", "bytes=1000-")]).await;
    rest.expect(206);
    assert_eq!(rest.body, &mp4[1000..]);

    let tail = play(&app, &url, &[("range", "bytes=-100")]).await;
    tail.expect(206);
    assert_eq!(tail.body, &mp4[size - 100..]);
    assert_eq!(
        tail.header("content-range"),
        Some(format!("bytes {}-{}/{size}", size - 100, size - 1))
    );

    let beyond = play(&app, &url, &[("range", &format!("bytes={size}-"))]).await;
    beyond.expect_problem(416, "range_not_satisfiable");
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{size}"))
    );

    // A cached copy is revalidated for free; a stale If-Range gets the whole file.
    play(&app, &url, &[("if-none-match", &etag)])
        .await
        .expect(304);
    let changed = play(
        &app,
        &url,
        &[("range", "bytes=0-9"), ("if-range", "\"other\"")],
    )
    .await;
    changed.expect(200);
    assert_eq!(changed.body.len(), size);
}

#[tokio::test]
async fn media_is_never_compressed() {
    let app = spawn().await;
    let w = app.world().await;
    let pdf = fixture("handout.pdf");
    let m = upload_file(&w.secretary_a, "handout.pdf", &pdf)
        .await
        .json();
    // The compression middleware is on: a JSON document is compressed for this client.
    let spec = play(&app, "/openapi.json", &[("accept-encoding", "gzip, br")]).await;
    assert!(
        matches!(
            spec.header("content-encoding").as_deref(),
            Some("gzip" | "br")
        ),
        "compression is active for JSON"
    );
    let r = play(&app, &url_of(&m), &[("accept-encoding", "gzip, br")]).await;
    r.expect(200);
    let encoding = r.header("content-encoding");
    assert!(
        encoding.is_none() || encoding.as_deref() == Some("identity"),
        "{encoding:?}"
    );
    assert_eq!(r.body, pdf, "the exact bytes, not a compressed form");
    let r = play(
        &app,
        &url_of(&m),
        &[("accept-encoding", "gzip"), ("range", "bytes=0-99")],
    )
    .await;
    r.expect(206);
    assert_eq!(r.body, &pdf[..100]);
}

#[tokio::test]
async fn tampered_and_expired_urls_are_refused() {
    let app = spawn().await;
    let w = app.world().await;
    let mp3 = fixture("tone-3s.mp3");
    let png = fixture("cover.png");
    let m = upload_file(&w.secretary_a, "a.mp3", &mp3).await.json();
    let other = upload_file(&w.secretary_a, "c.png", &png).await.json();
    let url = url_of(&m);
    play(&app, &url, &[]).await.expect(200);

    let (path, query) = url.split_once('?').unwrap();
    let sig = query.split("sig=").nth(1).unwrap();
    let exp = query
        .split("exp=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 3 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    let later = exp.parse::<i64>().unwrap() + 86_400;
    for bad in [
        format!("{path}?exp={exp}&sig={flipped}"),
        format!("{path}?exp={later}&sig={sig}"),
        format!("/v1/media/{}/content?{query}", other["id"]),
        format!("{path}?exp={exp}"),
        path.to_string(),
    ] {
        play(&app, &bad, &[])
            .await
            .expect_problem(403, "media_url_invalid");
    }
    // A bearer token does not replace the signature.
    let with_token = w.secretary_a.get(path).await;
    with_token.expect_problem(403, "media_url_invalid");

    let expires: chrono::DateTime<chrono::Utc> =
        m["url_expires_at"].as_str().unwrap().parse().unwrap();
    let now = app.clock.now_ts();
    assert!(
        expires.timestamp() - now >= 2 * 3600,
        "valid at least the configured TTL"
    );
    app.clock.set(expires - chrono::Duration::seconds(1));
    play(&app, &url, &[("range", "bytes=0-9")])
        .await
        .expect(206);
    app.clock.set(expires + chrono::Duration::seconds(1));
    play(&app, &url, &[])
        .await
        .expect_problem(403, "media_url_expired");

    // Asking again (signed in anew: hours have passed) gives a fresh URL that works.
    let secretary = app.login_as("13900000001").await;
    let again = secretary.get(&format!("/v1/media/{}", m["id"])).await;
    again.expect(200);
    let fresh = url_of(&again.json());
    assert_ne!(fresh, url);
    let replay = play(&app, &fresh, &[]).await;
    replay.expect(200);
    assert_eq!(replay.body, mp3);
}

#[tokio::test]
async fn upload_and_playback_through_a_real_s3_server_on_loopback() {
    let s3 = S3Server::start("dangke-media").await;
    let mut vars = s3.vars("courses");
    vars.push(("DANGKE_MEDIA_MAX_AUDIO", "8K".into()));
    vars.push((
        "DANGKE_MEDIA_PUBLIC_URL",
        "http://media.example.test/".into(),
    ));
    let app = spawn_with(Options {
        vars,
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let mp3 = fixture("tone-3s.mp3");
    let first = upload_multipart(
        &w.secretary_a,
        &[Part::File {
            name: "file",
            file_name: "三分钟微党课.mp3",
            content_type: "audio/mpeg",
            bytes: &mp3,
        }],
    )
    .await;
    first.expect(201);
    let m = first.json();
    assert_eq!(m["duration_s"], 3);
    let sha = sha_hex(&mp3);
    assert_eq!(
        s3.objects(),
        vec![format!("courses/{}/{sha}.mp3", &sha[..2])]
    );
    let stored = std::fs::read(s3.bucket_dir().join(&s3.objects()[0])).unwrap();
    assert_eq!(stored, mp3, "the object in the bucket is the file");
    assert!(
        media_dir(&app).read_dir().is_err() || files_under(&media_dir(&app)).is_empty(),
        "nothing in the local media directory"
    );

    let second = upload_raw(&w.committee_a, "", "audio/mpeg", &mp3).await;
    second.expect(200);
    assert_eq!(second.json()["id"], m["id"]);
    assert_eq!(s3.objects().len(), 1);

    // Refused uploads leave nothing in the bucket.
    let mut big = mp3.clone();
    big.resize(16 * 1024, 0);
    upload_file(&w.secretary_a, "long.mp3", &big)
        .await
        .expect_problem(413, "payload_too_large");
    upload_file(&w.secretary_a, "fake.mp3", &fixture("not-audio.mp3"))
        .await
        .expect_problem(415, "unsupported_media_type");
    assert_eq!(s3.objects().len(), 1);

    let url = url_of(&m);
    let path = url
        .strip_prefix("http://media.example.test")
        .unwrap_or_else(|| panic!("absolute URL expected: {url}"));
    let whole = play(&app, path, &[]).await;
    whole.expect(200);
    assert_eq!(whole.body, mp3);
    let mid = play(&app, path, &[("range", "bytes=1000-1999")]).await;
    mid.expect(206);
    assert_eq!(mid.body, &mp3[1000..2000]);
    let tail = play(&app, path, &[("range", "bytes=-100")]).await;
    tail.expect(206);
    assert_eq!(tail.body, &mp3[mp3.len() - 100..]);
    let size = mp3.len();
    play(&app, path, &[("range", &format!("bytes={size}-"))])
        .await
        .expect_problem(416, "range_not_satisfiable");

    // The store lost the object (an emptied bucket): the next upload stores it again.
    std::fs::remove_file(s3.bucket_dir().join(&s3.objects()[0])).unwrap();
    upload_file(&w.secretary_a, "again.mp3", &mp3)
        .await
        .expect(200);
    assert_eq!(s3.objects().len(), 1);
    play(&app, path, &[]).await.expect(200);
}
