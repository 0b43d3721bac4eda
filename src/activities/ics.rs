//! The iCalendar (RFC 5545) text of a member's feed: one `VEVENT` per occurrence with
//! local `DTSTART`/`DTEND` and their `TZID`, a `VTIMEZONE` for every zone used (with the
//! zone's real offset changes over the years covered), `SEQUENCE` bumped on every change
//! and `STATUS:CANCELLED` for cancelled occurrences. Pure: values in, text out.

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
};
use chrono_tz::{OffsetComponents, Tz};

/// One event of the feed.
#[derive(Debug, Clone)]
pub struct Event {
    pub uid: String,
    pub sequence: i32,
    pub cancelled: bool,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tz: Tz,
    pub summary: String,
    pub location: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub last_modified: DateTime<Utc>,
}

/// Escapes a TEXT value per RFC 5545 3.3.11: backslash, semicolon, comma and newline are
/// escaped; other control characters (which TEXT does not allow) are dropped, so no value
/// can end its content line and start a property of its own.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI value as written: URI values are not escaped in iCalendar, so one that could end
/// the line (white space, control characters) is left out rather than written. Input URLs
/// are refused with such characters (see `crate::http::text::HttpUrl`); this guards rows
/// stored before that.
fn uri(u: &str) -> Option<&str> {
    (!u.is_empty() && !u.chars().any(|c| c.is_whitespace() || c.is_control())).then_some(u)
}

/// Folds a content line at 75 octets (never inside a UTF-8 character) and ends it with CRLF.
pub fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn local(dt: NaiveDateTime) -> String {
    dt.format("%Y%m%dT%H%M%S").to_string()
}

fn utc(dt: DateTime<Utc>) -> String {
    dt.format("%Y%m%dT%H%M%SZ").to_string()
}

fn offset(o: FixedOffset) -> String {
    let secs = o.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("{sign}{:02}{:02}", secs / 3600, (secs % 3600) / 60)
}

fn fixed_at(tz: Tz, t: DateTime<Utc>) -> FixedOffset {
    tz.offset_from_utc_datetime(&t.naive_utc()).fix()
}

fn is_dst(tz: Tz, t: DateTime<Utc>) -> bool {
    !tz.offset_from_utc_datetime(&t.naive_utc())
        .dst_offset()
        .is_zero()
}

/// The instants in `[from, until)` where the zone's offset changes.
pub fn transitions(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = from;
    while t < until {
        let next = (t + Duration::days(1)).min(until);
        if fixed_at(tz, t) != fixed_at(tz, next) {
            // The change lies in (t, next]: narrow it to the whole second (zone changes
            // fall on whole seconds; halving a Duration would leave nanoseconds).
            let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let at = DateTime::<Utc>::from_timestamp(mid, 0).unwrap_or(t);
                if fixed_at(tz, at) == fixed_at(tz, t) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let hi = DateTime::<Utc>::from_timestamp(hi, 0).unwrap_or(next);
            out.push(hi);
        }
        t = next;
    }
    out
}

/// A `VTIMEZONE` for `tz` covering the calendar years `from_year..=to_year`.
pub fn vtimezone(tz: Tz, from_year: i32, to_year: i32, out: &mut String) {
    let year_start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or_default()
    };
    let (from, until) = (year_start(from_year), year_start(to_year + 1));
    fold("BEGIN:VTIMEZONE", out);
    fold(&format!("TZID:{}", tz.name()), out);
    let mut observance = |at: DateTime<Utc>, before: FixedOffset, after: FixedOffset, dst: bool| {
        let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
        fold(&format!("BEGIN:{kind}"), out);
        fold(
            &format!(
                "DTSTART:{}",
                local(at.naive_utc() + Duration::seconds(i64::from(before.local_minus_utc())))
                    .as_str()
            ),
            out,
        );
        fold(&format!("TZOFFSETFROM:{}", offset(before)), out);
        fold(&format!("TZOFFSETTO:{}", offset(after)), out);
        fold(&format!("END:{kind}"), out);
    };
    let first = fixed_at(tz, from);
    observance(from, first, first, is_dst(tz, from));
    for t in transitions(tz, from, until) {
        let before = fixed_at(tz, t - Duration::seconds(1));
        observance(t, before, fixed_at(tz, t), is_dst(tz, t));
    }
    fold("END:VTIMEZONE", out);
}

/// The whole calendar.
pub fn render(name: &str, events: &[Event], stamp: DateTime<Utc>) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//dangke//activities//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ] {
        fold(line, &mut out);
    }
    fold(&format!("X-WR-CALNAME:{}", escape(name)), &mut out);
    let mut zones: BTreeMap<&str, (Tz, i32, i32)> = BTreeMap::new();
    for e in events {
        let y = e.start.with_timezone(&e.tz).year();
        let entry = zones.entry(e.tz.name()).or_insert((e.tz, y, y));
        entry.1 = entry.1.min(y);
        entry.2 = entry.2.max(e.end.with_timezone(&e.tz).year());
    }
    for (tz, from, to) in zones.values() {
        vtimezone(*tz, *from, *to, &mut out);
    }
    for e in events {
        event(e, stamp, &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

fn event(e: &Event, stamp: DateTime<Utc>, out: &mut String) {
    let tzid = e.tz.name();
    fold("BEGIN:VEVENT", out);
    fold(&format!("UID:{}", e.uid), out);
    fold(&format!("DTSTAMP:{}", utc(stamp)), out);
    fold(
        &format!(
            "DTSTART;TZID={tzid}:{}",
            local(e.start.with_timezone(&e.tz).naive_local())
        ),
        out,
    );
    fold(
        &format!(
            "DTEND;TZID={tzid}:{}",
            local(e.end.with_timezone(&e.tz).naive_local())
        ),
        out,
    );
    fold(&format!("SEQUENCE:{}", e.sequence), out);
    fold(&format!("LAST-MODIFIED:{}", utc(e.last_modified)), out);
    fold(&format!("SUMMARY:{}", escape(&e.summary)), out);
    if let Some(l) = &e.location {
        fold(&format!("LOCATION:{}", escape(l)), out);
    }
    if let Some(d) = e.description.as_deref().filter(|d| !d.is_empty()) {
        fold(&format!("DESCRIPTION:{}", escape(d)), out);
    }
    if let Some(u) = e.url.as_deref().and_then(uri) {
        fold(&format!("URL:{u}"), out);
    }
    let status = if e.cancelled {
        "CANCELLED"
    } else {
        "CONFIRMED"
    };
    fold(&format!("STATUS:{status}"), out);
    fold("END:VEVENT", out);
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_value_can_start_a_property_of_its_own() {
        assert_eq!(escape("a\r\nX-INJ:1\u{0}"), "a\\nX-INJ:1");
        assert_eq!(
            uri("https://meet.example/a"),
            Some("https://meet.example/a")
        );
        assert_eq!(uri("https://meet.example/a\r\nX-INJ:1"), None);
        assert_eq!(uri("https://meet.example/a b"), None);
    }

    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_fold_between_characters() {
        assert_eq!(escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        fold(&format!("SUMMARY:{}", "主题党日".repeat(10)), &mut out);
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{line}");
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{}\r\n", "主题党日".repeat(10)));
    }

    #[test]
    fn berlin_has_its_two_changes_of_2027() {
        let berlin = chrono_tz::Europe::Berlin;
        let from = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            transitions(berlin, from, until),
            vec![
                Utc.with_ymd_and_hms(2027, 3, 28, 1, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2027, 10, 31, 1, 0, 0).unwrap(),
            ]
        );
        let mut out = String::new();
        vtimezone(berlin, 2027, 2027, &mut out);
        assert!(out.contains(
            "BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200"
        ));
        assert!(out.contains(
            "BEGIN:STANDARD\r\nDTSTART:20271031T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100"
        ));
    }

    #[test]
    fn shanghai_is_one_standard_observance() {
        let mut out = String::new();
        vtimezone(chrono_tz::Asia::Shanghai, 2026, 2027, &mut out);
        assert_eq!(out.matches("BEGIN:STANDARD").count(), 1);
        assert!(!out.contains("DAYLIGHT"));
        assert!(out.contains("TZOFFSETTO:+0800"));
    }
}
