//! Any text as an activity's RRULE: parsed (and its occurrences over a year ordered) or
//! refused — never a panic or a hang.
#![no_main]

use dangke::activities::recurrence::Rule;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Some(start) = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).and_then(|d| d.and_hms_opt(9, 0, 0))
    else {
        return;
    };
    if let Ok(rule) = Rule::parse(chrono_tz::Asia::Shanghai, start, Some(text)) {
        let from = rule.first_start();
        let starts = rule.starts_between(from, from + chrono::Duration::days(366));
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
    }
});
