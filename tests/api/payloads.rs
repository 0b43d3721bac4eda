//! What a phone downloads at start-up stays small as a member's year fills up (issue 19):
//! `/v1/me`, `/v1/me/courses`, `/v1/me/activities` and `/v1/me/study`, gzipped as the app
//! asks for them, each at most 4 KB for a member with 20 assigned courses (some studied)
//! and a year of monthly meetings.

use chrono::Duration;
use serde_json::json;

use crate::activities::{schedule, spawn};
use crate::helpers::Client;

const LIMIT: usize = 4 * 1024;

/// The body size as sent with `Accept-Encoding: gzip`, and whether it was gzipped.
async fn gzipped(c: &Client, path: &str) -> (usize, bool) {
    let r = c
        .send(
            c.request(reqwest::Method::GET, path)
                .header("accept-encoding", "gzip"),
        )
        .await;
    r.expect(200);
    (
        r.body.len(),
        r.header("content-encoding").as_deref() == Some("gzip"),
    )
}

#[tokio::test]
async fn start_up_reads_stay_under_4_kb_gzipped_for_a_lived_in_year() {
    let app = spawn().await;
    let w = app.world().await;
    let sec = &w.secretary_a;
    let mut lessons = Vec::new();
    // Twenty different titles, as a county's catalogue has (repeated text would flatter gzip).
    let titles = [
        "学习贯彻党的二十大精神",
        "新时代党章学习",
        "乡村振兴战略解读",
        "基层党组织建设",
        "党风廉政建设警示教育",
        "习近平新时代中国特色社会主义思想概论",
        "党史学习：从井冈山到延安",
        "农村集体经济发展",
        "网络安全与保密常识",
        "民法典与农村生活",
        "生态文明与美丽乡村",
        "中国共产党纪律处分条例",
        "发展党员工作细则",
        "村务公开与民主管理",
        "防汛抗旱应急知识",
        "传承红色基因",
        "优化营商环境",
        "农业科技推广",
        "党员先锋模范作用",
        "基层治理现代化",
    ];
    for (i, title) in titles.iter().enumerate() {
        let ids = crate::statements::course(&w, &format!("{title}（第{}讲）", i + 1), 3).await;
        lessons.push(ids[0]);
    }
    // The member has studied 8 of them.
    let now = {
        use dangke::clock::Clock;
        app.clock.now()
    };
    for (i, lesson) in lessons.iter().take(8).enumerate() {
        let end = now - Duration::hours(48 - i as i64);
        let r = w
            .member_a
            .post(
                "/v1/progress/sync",
                json!({"events": [{"client_event_id": format!("s{i}"), "lesson_id": lesson, "kind": "read",
                    "from_s": 0, "to_s": 600, "started_at": (end - Duration::seconds(600)).to_rfc3339(),
                    "ended_at": end.to_rfc3339()}]}),
            )
            .await;
        r.expect(200);
    }
    // A year of meetings: the monthly theme party day and a monthly general meeting,
    // and a party lesson each quarter.
    for (kind, title, rrule) in [
        (
            "theme_party_day",
            "主题党日：重温入党誓词",
            "FREQ=MONTHLY;BYMONTHDAY=1",
        ),
        (
            "branch_general_meeting",
            "支部党员大会",
            "FREQ=MONTHLY;BYMONTHDAY=10",
        ),
        (
            "party_lesson",
            "党课：学习新思想",
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=20",
        ),
    ] {
        schedule(
            sec,
            w.branch_a,
            json!({"kind": kind, "title": title, "agenda": "学习；讨论；总结", "place": "东山村党群服务中心",
                   "start_local": "2026-12-01T09:00:00", "end_local": "2026-12-01T11:00:00", "rrule": rrule}),
        )
        .await;
    }
    let mut sizes = Vec::new();
    for path in [
        "/v1/me",
        "/v1/me/courses",
        "/v1/me/activities",
        "/v1/me/activities?from=2026-12-01&to=2027-11-30",
        "/v1/me/study",
    ] {
        let (len, gz) = gzipped(&w.member_a, path).await;
        sizes.push(format!("{path}: {len} B{}", if gz { " gzip" } else { "" }));
        assert!(len <= LIMIT, "{path}: {len} bytes gzipped, over {LIMIT}");
    }
    // The list really holds the year: 20 courses, meetings over 12 months.
    let courses = w.member_a.get("/v1/me/courses").await.json();
    assert_eq!(courses["items"].as_array().unwrap().len(), 20);
    let year = w
        .member_a
        .get("/v1/me/activities?from=2026-12-01&to=2027-11-30")
        .await
        .json();
    assert!(year["items"].as_array().unwrap().len() >= 24, "{year}");
    eprintln!("start-up payloads: {}", sizes.join(", "));
}
