//! Fuzzing of the parsers that take outside input, as bounded property runs (proptest):
//! arbitrary input must give an answer — a value or an error — never a panic, a hang or an
//! answer that breaks the parser's own promises. Part of the test command; a longer run:
//! `PROPTEST_CASES=200000 cargo test --test fuzz --release`.
//!
//! (libFuzzer through `cargo fuzz` needs a nightly toolchain, which this project's machines
//! cannot install; these targets cover the same parsers with proptest's generators.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly (inside proptest! the lint may not see them)"
)]

use chrono::{NaiveDate, TimeZone, Utc};
use dangke::orgs::import::pipeline::prepare;
use dangke::orgs::import::upload::Upload;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

/// CSV-ish text: the import's header names, separators, quotes and line ends, Chinese and
/// control characters, in any order.
fn csvish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "姓名",
        "手机号",
        "性别",
        "出生日期",
        "入党日期",
        "类别",
        "所在支部",
        "是否干部",
        ",",
        ",",
        "\"",
        "\"\"",
        "\r\n",
        "\n",
        "\r",
        "13807310001",
        "1380731000",
        "男",
        "女",
        "正式党员",
        "预备党员",
        "入党积极分子",
        "是",
        "否",
        "1985-07-01",
        "1985/7/1",
        "19850701",
        "二〇〇一年",
        "东山村党支部",
        "\u{0}",
        "\t",
        "\u{feff}",
        "=HYPERLINK(1)",
        " ",
        "王建国",
        "😀",
    ]);
    prop::collection::vec(atoms, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Any bytes as an uploaded member list (UTF-8, GBK, or neither).
    #[test]
    fn import_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let _ = prepare(Upload { bytes, charset: None, file_name: None }, today);
    }

    /// Structured CSV text, in UTF-8 and as GBK, with and without a declared charset: every
    /// row is checked, and a row's line number lies in the file.
    #[test]
    fn import_takes_any_csv(text in csvish(), gbk in any::<bool>(), declare in any::<bool>()) {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let bytes = if gbk { encoding_rs::GBK.encode(&text).0.into_owned() } else { text.clone().into_bytes() };
        let charset = declare.then(|| if gbk { "gbk".to_string() } else { "utf-8".to_string() });
        if let Ok(prepared) = prepare(Upload { bytes, charset, file_name: None }, today) {
            let lines = text.split('\n').count() as u64 + 1;
            for row in &prepared.rows {
                prop_assert!(row.line >= 1 && row.line <= lines, "line {} of {lines}", row.line);
            }
        }
    }

    /// Any text as an RRULE, from any start: parsed or refused, and a parsed rule's
    /// occurrences within a year are ordered and bounded.
    #[test]
    fn rrule_takes_any_text(
        text in prop_oneof![
            ".{0,120}",
            prop::collection::vec(prop::sample::select(vec![
                "FREQ=", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", ";", "INTERVAL=", "0", "1", "-1",
                "400", "BYDAY=", "MO", "FR", "-1FR", "BYMONTHDAY=", "31", "-31", "COUNT=", "UNTIL=",
                "20271231T000000Z", "BYSETPOS=", "BYHOUR=", "25", ",", "RRULE:", "DTSTART=", "\n",
            ]), 0..16).prop_map(|v| v.concat()),
        ],
        day in 0i64..3650,
        minute in 0i64..1440,
    ) {
        let tz = chrono_tz::Asia::Shanghai;
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + chrono::Duration::days(day) + chrono::Duration::minutes(minute);
        if let Ok(rule) = dangke::activities::recurrence::Rule::parse(tz, start, Some(&text)) {
            let from = rule.first_start();
            let starts = rule.starts_between(from, from + chrono::Duration::days(366));
            prop_assert!(starts.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(starts.len() <= 366 * 24 * 60);
        }
    }

    /// Any sync event against any lesson: accepted or refused with a reason, never credited
    /// beyond the lesson.
    #[test]
    fn sync_events_take_any_values(
        from_s in any::<i32>(), to_s in any::<i32>(),
        start in -10_000_000i64..10_000_000, length in -100_000i64..100_000,
        duration in prop::option::of(any::<i32>()), media in any::<bool>(),
    ) {
        use dangke::progress::model::{EventInput, EventKind};
        use dangke::progress::validate::{LessonMeta, Limits, check};
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 8, 0, 0).unwrap();
        let started_at = now + chrono::Duration::seconds(start);
        let ev = EventInput {
            client_event_id: "4c0d7a4e-5b7b-4b35-9d1c-2f6f3b6e0a11".into(),
            lesson_id: 1,
            kind: if media { EventKind::Play } else { EventKind::Read },
            from_s,
            to_s,
            started_at,
            ended_at: started_at + chrono::Duration::seconds(length),
        };
        let lesson = LessonMeta {
            id: 1,
            course_id: 1,
            kind: if media { dangke::courses::model::LessonKind::Video } else { dangke::courses::model::LessonKind::Article },
            duration_s: duration,
            min_coverage_permille: 900,
            min_reading_s: Some(60),
            credit_centi: 100,
            has_quiz: false,
        };
        let limits = Limits { now, max_age: chrono::Duration::days(30), future_skew: chrono::Duration::minutes(5), max_span: chrono::Duration::hours(4) };
        if check(&ev, Some(&lesson), &limits).is_ok() {
            prop_assert!(ev.from_s >= 0 && ev.to_s >= ev.from_s);
            prop_assert!(ev.ended_at >= ev.started_at);
            prop_assert!(ev.ended_at - ev.started_at <= limits.max_span);
            if media && let Some(d) = duration {
                prop_assert!(i64::from(ev.to_s) <= i64::from(d.max(0)) + 2, "{ev:?} beyond {d}");
            }
        }
    }

    /// Any bytes as a stored statistics digest: decoded or refused, never a panic.
    #[test]
    fn digests_take_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        use dangke::stats::digest::{decode_days, decode_occurrences, decode_roster, decode_years};
        let _ = decode_roster(1, &bytes);
        let _ = decode_years(1, &bytes);
        let _ = decode_days(&bytes);
        let _ = decode_occurrences(1, &bytes);
    }
}
