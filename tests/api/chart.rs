//! The digest chart organizers get with the digest: a PNG of bars over HTTP, fetched by an
//! organizer or through a signed URL that needs no token (a group chat's image fetch), and
//! the functions the push module calls ([`chart_between`], [`signed_chart_url`]).
//!
//! Tests that draw need a font with Chinese glyphs: without one they print a line and
//! skip, or fail when `DANGKE_TEST_NO_SKIP=1` (as `scripts/test` sets for its PostgreSQL
//! run).

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use dangke::stats::chart::{WIDTH, height_for};
use dangke::stats::chart_data::{chart_between, signed_chart_url};
use serde_json::json;

use crate::activities::sh;
use crate::helpers::backend::skip_unless;
use crate::helpers::{Options, TestApp, spawn, spawn_with};
use crate::stats::{add, the_day};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Whether the app has a chart font; without one the test skips (or fails with
/// `DANGKE_TEST_NO_SKIP=1`).
fn has_font(app: &TestApp) -> bool {
    !skip_unless(
        app.app_state.chart.font.is_some(),
        "a chart font (apt-get install fonts-wqy-microhei)",
    )
}

/// A decoded PNG.
struct Image {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl Image {
    fn decode(bytes: &[u8]) -> Image {
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        buf.truncate(info.buffer_size());
        Image {
            width: info.width,
            height: info.height,
            rgba: buf,
        }
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]]
    }

    /// Pixels that are not the white background.
    fn inked(&self) -> usize {
        self.rgba
            .chunks(4)
            .filter(|p| p[0] != 255 || p[1] != 255 || p[2] != 255)
            .count()
    }

    fn colours(&self) -> usize {
        self.rgba
            .chunks(4)
            .map(|p| [p[0], p[1], p[2]])
            .collect::<HashSet<_>>()
            .len()
    }

    /// Dark (text) pixels left of the bars (which start at x = 226), in the rows (from
    /// y = 120).
    fn label_ink(&self) -> usize {
        let mut n = 0;
        for y in 120..self.height - 24 {
            for x in 24..222 {
                if self.pixel(x, y).iter().all(|c| *c < 100) {
                    n += 1;
                }
            }
        }
        n
    }
}

/// Fetches a chart, which must be a PNG the browser may keep a while.
async fn fetch(c: &crate::helpers::Client, path: &str) -> Image {
    let r = c.get(path).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("image/png"));
    let cache = r.header("cache-control").unwrap_or_default();
    assert!(cache.starts_with("private, max-age="), "{cache}");
    assert!(r.body.len() < 2 * 1024 * 1024, "{} bytes", r.body.len());
    Image::decode(&r.body)
}

async fn members_of(c: &crate::helpers::Client, org: i64) -> usize {
    let r = c.get(&format!("/v1/orgs/{org}/stats?period=2026")).await;
    r.expect(200);
    r.json()["members"]["total"].as_i64().unwrap() as usize
}

#[tokio::test]
async fn a_township_is_charted_by_child_org_and_a_branch_by_member() {
    let d0 = the_day().await;
    let (app, w) = (&d0.app, &d0.w);
    if !has_font(app) {
        return;
    }
    app.clock.set(sh(2026, 12, 2, 9, 0));
    // The township: one bar per child org with members (branches A and B), with ink in the
    // label column, the bars' colours and the values.
    let town = fetch(
        &w.admin,
        &format!("/v1/orgs/{}/digest/chart.png", w.township),
    )
    .await;
    assert_eq!(town.width, WIDTH);
    assert_eq!(town.height, height_for(2, 0));
    assert!(town.inked() > 5_000, "{} inked pixels", town.inked());
    assert!(town.colours() >= 8, "{} colours", town.colours());
    assert!(
        town.label_ink() > 100,
        "{} dark label pixels",
        town.label_ink()
    );

    // One more branch with a member: one more bar, the chart grows by a row.
    let r = w
        .admin
        .post(
            "/v1/orgs",
            json!({"parent_id": w.township, "name": "南坡村党支部", "kind": "branch"}),
        )
        .await;
    r.expect(201);
    let south = r.json()["id"].as_i64().unwrap();
    add(app, w, south, "13900000020", "赵南", "full").await;
    let grown = fetch(
        &w.admin,
        &format!("/v1/orgs/{}/digest/chart.png", w.township),
    )
    .await;
    assert_eq!(grown.height, height_for(3, 0));
    assert!(grown.height > town.height);

    // A branch: one bar per member of its subtree.
    let n = members_of(&w.admin, w.branch_b).await;
    assert!(n >= 4, "{n}");
    let branch = fetch(
        &w.organizer_b,
        &format!("/v1/orgs/{}/digest/chart.png?period=2026-11", w.branch_b),
    )
    .await;
    assert_eq!(branch.width, WIDTH);
    assert_eq!(branch.height, height_for(n, 0));
    assert!(branch.label_ink() > 100, "{}", branch.label_ink());
    assert!(branch.colours() >= 8);

    // What the push module calls draws the same chart as the route for the same days.
    let png = chart_between(&app.app_state, w.township, d(2026, 11, 1), d(2026, 11, 30))
        .await
        .unwrap()
        .expect("a chart with a font");
    let r = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/digest/chart.png?from=2026-11-01&to=2026-11-30",
            w.township
        ))
        .await;
    r.expect(200);
    assert_eq!(r.body, png);
    let by_label = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/digest/chart.png?period=2026-11",
            w.township
        ))
        .await;
    assert_eq!(by_label.body, png, "a whole month is that month");
}

#[tokio::test]
async fn a_signed_url_needs_no_token_until_it_is_tampered_with_or_expires() {
    let app = spawn().await;
    // Ten past the hour: URLs issued in the next fifty minutes are the same.
    app.clock.set(sh(2026, 12, 2, 9, 10));
    let w = app.world().await;
    if !has_font(&app) {
        return;
    }
    let (from, to) = (d(2026, 11, 1), d(2026, 11, 30));
    let url = signed_chart_url(&app.app_state, w.township, from, to);
    assert!(
        url.starts_with(&format!(
            "/v1/orgs/{}/digest/chart.png?from=2026-11-01&to=2026-11-30&exp=",
            w.township
        )),
        "{url}"
    );
    // Issued again within the hour: the same URL.
    app.clock.advance(Duration::minutes(1));
    assert_eq!(url, signed_chart_url(&app.app_state, w.township, from, to));
    let anonymous = app.client();
    let image = fetch(&anonymous, &url).await;
    assert_eq!(image.width, WIDTH);
    assert!(image.label_ink() > 100);

    // Tampered: another org, other days, another signature, a later expiry.
    let other_org = url.replacen(
        &format!("/orgs/{}/", w.township),
        &format!("/orgs/{}/", w.branch_a),
        1,
    );
    let other_days = url.replace("to=2026-11-30", "to=2026-11-29");
    let (head, sig) = url.rsplit_once("sig=").unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let other_sig = format!("{head}sig={flipped}{}", &sig[1..]);
    let exp: i64 = url
        .split("exp=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let later = url.replace(&format!("exp={exp}"), &format!("exp={}", exp + 86400));
    let with_period = format!("{url}&period=2026");
    let unsigned_exp = url.split("&sig=").next().unwrap().to_string();
    for bad in [
        other_org,
        other_days,
        other_sig,
        later,
        with_period,
        unsigned_exp,
    ] {
        anonymous
            .get(&bad)
            .await
            .expect_problem(403, "chart_url_invalid");
    }
    // A bad signature is refused even for an organizer who could fetch the chart anyway.
    let (head, _) = url.rsplit_once("sig=").unwrap();
    w.admin
        .get(&format!("{head}sig=AAAAAAAAAAAAAAAAAAAAAA"))
        .await
        .expect_problem(403, "chart_url_invalid");

    // Valid for a week (rounded up to the hour), then expired.
    app.clock.advance(Duration::days(7) - Duration::minutes(5));
    fetch(&anonymous, &url).await;
    app.clock.advance(Duration::hours(2));
    anonymous
        .get(&url)
        .await
        .expect_problem(403, "chart_url_expired");
}

#[tokio::test]
async fn without_a_signature_only_the_orgs_organizers_get_the_chart() {
    let app = spawn().await;
    app.clock.set(sh(2026, 12, 2, 9, 0));
    let w = app.world().await;
    let chart = format!("/v1/orgs/{}/digest/chart.png", w.branch_a);
    let digest = format!("/v1/orgs/{}/digest", w.branch_a);
    // No token, no signature: 401.
    app.client()
        .get(&chart)
        .await
        .expect_problem(401, "token_missing");
    // A plain member and another branch's organizer are refused exactly as for the digest
    // (outside their scope: 404, which hides the org).
    for who in [&w.member_a, &w.organizer_b] {
        let r = who.get(&chart).await;
        let same = who.get(&digest).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
        assert_eq!(r.status, same.status);
        assert_eq!(r.json()["code"], same.json()["code"]);
    }
    if !has_font(&app) {
        return;
    }
    fetch(&w.secretary_a, &chart).await;
    // Bad periods and dates: 400.
    for q in [
        "period=november",
        "from=2026-11-30&to=2026-11-01",
        "from=2026-06-01&to=2027-05-31",
        "from=2026-11-01",
        "period=2026-11&from=2026-11-01&to=2026-11-30",
        "from=yesterday&to=2026-11-30",
    ] {
        let r = w.secretary_a.get(&format!("{chart}?{q}")).await;
        r.expect(400);
        assert!(
            matches!(
                r.json()["code"].as_str(),
                Some("invalid_query" | "invalid_query_parameter")
            ),
            "{q}: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn without_a_font_there_is_no_chart_and_signed_urls_are_absolute() {
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_CHART_FONT", "off".into()),
            ("DANGKE_MEDIA_PUBLIC_URL", "https://api.example.org/".into()),
        ],
        ..Options::default()
    })
    .await;
    app.clock.set(sh(2026, 12, 2, 9, 0));
    let w = app.world().await;
    assert!(app.app_state.chart.font.is_none());
    let (from, to) = (d(2026, 11, 1), d(2026, 11, 30));
    assert_eq!(
        chart_between(&app.app_state, w.township, from, to)
            .await
            .unwrap(),
        None
    );
    w.admin
        .get(&format!("/v1/orgs/{}/digest/chart.png", w.township))
        .await
        .expect_problem(404, "chart_unavailable");
    let url = signed_chart_url(&app.app_state, w.township, from, to);
    let path = url
        .strip_prefix("https://api.example.org")
        .unwrap_or_else(|| panic!("not absolute: {url}"));
    assert!(path.starts_with("/v1/orgs/"), "{url}");
    app.client()
        .get(path)
        .await
        .expect_problem(404, "chart_unavailable");
    // The text digest still goes.
    w.admin
        .get(&format!("/v1/orgs/{}/digest", w.township))
        .await
        .expect(200);
}
