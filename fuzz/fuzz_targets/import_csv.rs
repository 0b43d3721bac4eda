//! Any bytes as an uploaded member list: decoded (UTF-8 or GBK), parsed and checked row by
//! row, or refused — never a panic.
#![no_main]

use dangke::orgs::import::pipeline::prepare;
use dangke::orgs::import::upload::Upload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default();
    let upload = Upload {
        bytes: bytes.to_vec(),
        charset: None,
        file_name: None,
    };
    let _ = prepare(upload, today);
});
