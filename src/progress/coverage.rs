//! Coverage as merged intervals of unique seconds: pure functions, property-tested.
//!
//! An interval `[from, to)` is the span of media positions (or reading seconds) an event
//! covered. Merging is a set union, so it does not depend on order and replaying an event
//! changes nothing; dragging the slider covers nothing because only played spans are
//! events.

use serde::{Deserialize, Serialize};

/// A half-open span `[from, to)` of seconds.
pub type Span = (i32, i32);

/// A sorted list of disjoint, non-adjacent spans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Coverage(Vec<Span>);

impl Coverage {
    pub fn new() -> Coverage {
        Coverage(Vec::new())
    }

    /// Parses the stored JSON form; garbage (never written by us) reads as empty.
    pub fn from_json(s: &str) -> Coverage {
        let spans: Vec<Span> = serde_json::from_str(s).unwrap_or_default();
        let mut c = Coverage::new();
        for span in spans {
            c.add(span);
        }
        c
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }

    pub fn spans(&self) -> &[Span] {
        &self.0
    }

    /// Adds a span (empty or inverted spans add nothing). Returns the seconds newly covered.
    pub fn add(&mut self, (from, to): Span) -> i32 {
        if to <= from {
            return 0;
        }
        let before = self.seconds();
        let mut merged = Vec::with_capacity(self.0.len() + 1);
        let (mut lo, mut hi) = (from, to);
        let mut placed = false;
        for &(a, b) in &self.0 {
            if b < lo {
                merged.push((a, b));
            } else if a > hi {
                if !placed {
                    merged.push((lo, hi));
                    placed = true;
                }
                merged.push((a, b));
            } else {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        if !placed {
            merged.push((lo, hi));
        }
        self.0 = merged;
        self.seconds() - before
    }

    /// Unique seconds covered.
    pub fn seconds(&self) -> i32 {
        self.0.iter().map(|(a, b)| b - a).sum()
    }

    /// Unique seconds covered within `[0, limit)`.
    pub fn seconds_within(&self, limit: i32) -> i32 {
        self.0
            .iter()
            .map(|&(a, b)| (b.min(limit) - a.max(0)).max(0))
            .sum()
    }
}

/// Whether `covered` seconds of a `duration`-second lesson reach `min_permille`/1000.
pub fn reaches(covered: i32, duration: i32, min_permille: i32) -> bool {
    duration > 0 && i64::from(covered) * 1000 >= i64::from(duration) * i64::from(min_permille)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cov(spans: &[Span]) -> Coverage {
        let mut c = Coverage::new();
        for s in spans {
            c.add(*s);
        }
        c
    }

    #[test]
    fn overlaps_and_adjacent_spans_merge() {
        let c = cov(&[(0, 60), (30, 90), (90, 120), (200, 210)]);
        assert_eq!(c.spans(), &[(0, 120), (200, 210)]);
        assert_eq!(c.seconds(), 130);
    }

    #[test]
    fn replaying_a_minute_covers_it_once() {
        let mut c = cov(&[(0, 60)]);
        assert_eq!(c.add((0, 60)), 0);
        assert_eq!(c.add((10, 50)), 0);
        assert_eq!(c.seconds(), 60);
    }

    #[test]
    fn out_of_order_and_duplicates() {
        let a = cov(&[(300, 360), (0, 60), (120, 180), (0, 60), (60, 120)]);
        assert_eq!(a.spans(), &[(0, 180), (300, 360)]);
    }

    #[test]
    fn zero_length_and_inverted_spans_add_nothing() {
        let mut c = Coverage::new();
        assert_eq!(c.add((50, 50)), 0);
        assert_eq!(c.add((60, 10)), 0);
        assert!(c.spans().is_empty());
    }

    #[test]
    fn a_slider_drag_to_the_end_covers_nothing_but_the_played_bits() {
        // Played 0-30, dragged to 2690, played the last 10 seconds.
        let c = cov(&[(0, 30), (2690, 2700)]);
        assert_eq!(c.seconds(), 40);
        assert!(!reaches(c.seconds(), 2700, 900));
    }

    #[test]
    fn a_45_minute_lesson_in_five_sittings_over_three_days() {
        // Day 1: two sittings (one replays a bit); day 2: two; day 3: the end. Synced at once.
        let sittings = [
            (0, 600),
            (540, 1200),
            (1200, 1500),
            (1500, 2100),
            (2100, 2700),
        ];
        let c = cov(&sittings);
        assert_eq!(c.seconds(), 2700);
        assert!(reaches(c.seconds(), 2700, 900));
        let mut partial = cov(&sittings[..4]);
        assert_eq!(partial.seconds(), 2100);
        assert!(!reaches(partial.seconds(), 2700, 900));
        assert_eq!(partial.add(sittings[4]), 600);
    }

    #[test]
    fn threshold_uses_exact_integer_math() {
        assert!(reaches(162, 180, 900));
        assert!(!reaches(161, 180, 900));
        assert!(!reaches(0, 0, 900));
    }

    #[test]
    fn json_round_trip() {
        let c = cov(&[(0, 10), (20, 30)]);
        assert_eq!(Coverage::from_json(&c.to_json()), c);
        assert_eq!(Coverage::from_json("not json"), Coverage::new());
    }

    fn spans() -> impl Strategy<Value = Vec<Span>> {
        prop::collection::vec(
            (0i32..3000, 0i32..300).prop_map(|(a, len)| (a, a + len)),
            0..40,
        )
    }

    /// The reference: a bitmap of covered seconds.
    fn bitmap(spans: &[Span]) -> Vec<bool> {
        let mut bits = vec![false; 3400];
        for &(a, b) in spans {
            for s in a.max(0)..b {
                bits[s as usize] = true;
            }
        }
        bits
    }

    proptest! {
        #[test]
        fn merging_is_order_independent(mut list in spans(), seed in any::<u64>()) {
            let a = cov(&list);
            // A deterministic shuffle from the seed.
            let n = list.len();
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                list.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(a, cov(&list));
        }

        #[test]
        fn merging_is_idempotent(list in spans()) {
            let mut c = cov(&list);
            let once = c.clone();
            for s in &list {
                prop_assert_eq!(c.add(*s), 0);
            }
            prop_assert_eq!(c, once);
        }

        #[test]
        fn seconds_equal_the_bitmap_and_spans_stay_canonical(list in spans()) {
            let c = cov(&list);
            let bits = bitmap(&list);
            prop_assert_eq!(c.seconds() as usize, bits.iter().filter(|b| **b).count());
            for w in c.spans().windows(2) {
                prop_assert!(w[0].1 < w[1].0, "sorted, disjoint and not adjacent");
            }
            for &(a, b) in c.spans() {
                prop_assert!(a < b);
            }
        }

        #[test]
        fn new_seconds_are_what_the_union_grew_by(list in spans(), extra in (0i32..3000, 0i32..300)) {
            let mut c = cov(&list);
            let before = c.seconds();
            let added = c.add((extra.0, extra.0 + extra.1));
            prop_assert_eq!(c.seconds() - before, added);
            let mut all = list.clone();
            all.push((extra.0, extra.0 + extra.1));
            prop_assert_eq!(c, cov(&all));
        }
    }
}
