//! Any bytes as a stored statistics digest: decoded or refused — never a panic.
#![no_main]

use dangke::stats::digest::{decode_days, decode_occurrences, decode_roster, decode_years};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = decode_roster(1, bytes);
    let _ = decode_years(1, bytes);
    let _ = decode_days(bytes);
    let _ = decode_occurrences(1, bytes);
});
