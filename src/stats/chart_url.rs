//! Signed chart URLs: `/v1/orgs/{id}/digest/chart.png?from=…&to=…&exp=UNIX&sig=MAC`.
//!
//! A robot message shows its image by URL, and the group chat fetches it without any
//! `Authorization` header, so the URL is the credential: `sig` signs the org, the dates and
//! the expiry under the chart purpose's [`UrlKey`] (another label than media URLs, so
//! neither signs for the other; see [`crate::http::url_key`]). A URL
//! lives [`LIFETIME_SECS`] (a digest is read for days after it is sent) and its expiry is
//! rounded up to the hour, so URLs issued within an hour are the same string.

use chrono::NaiveDate;

use crate::error::{ApiError, ErrorCode};
use crate::http::url_key::{UrlFault, UrlKey, rounded_expiry};
use crate::state::AppState;

/// How long a chart URL works: a week.
pub const LIFETIME_SECS: i64 = 7 * 86400;
/// Expiries are rounded up to this step.
const STEP_SECS: i64 = 3600;

/// The chart URL key: differs from the token and media keys.
pub fn url_key(secret: &[u8]) -> anyhow::Result<UrlKey> {
    UrlKey::derive(secret, "dangke digest chart url key v1")
}

/// The expiry of a URL issued at `now` (Unix seconds).
pub fn expiry_for(now: i64) -> i64 {
    rounded_expiry(now, LIFETIME_SECS, STEP_SECS)
}

fn subject(org_id: i64, from: NaiveDate, to: NaiveDate) -> String {
    format!("digest chart\n{org_id}\n{from}\n{to}")
}

/// The query string (`from=…&to=…&exp=…&sig=…`) of a chart URL issued at `now`.
pub fn sign(key: &UrlKey, org_id: i64, from: NaiveDate, to: NaiveDate, now: i64) -> String {
    let exp = expiry_for(now);
    let sig = key.sign(&subject(org_id, from, to), exp);
    format!("from={from}&to={to}&exp={exp}&sig={sig}")
}

/// Checks a chart URL's `exp` and `sig` for the org and dates at `now`: 403
/// `chart_url_invalid` when missing, malformed or not matching, 403 `chart_url_expired`
/// after the expiry.
pub fn verify(
    key: &UrlKey,
    org_id: i64,
    (from, to): (NaiveDate, NaiveDate),
    (exp, sig): (Option<&str>, Option<&str>),
    now: i64,
) -> Result<(), ApiError> {
    key.verify(&subject(org_id, from, to), exp, sig, now)
        .map_err(|f| {
            ApiError::new(match f {
                UrlFault::Invalid => ErrorCode::ChartUrlInvalid,
                UrlFault::Expired => ErrorCode::ChartUrlExpired,
            })
        })
}

/// A signed, expiring URL of the digest chart of `org_id` for the days `from..=to`:
/// absolute when `DANGKE_MEDIA_PUBLIC_URL` is set (a robot needs one), else a path. Give it
/// out only where the org's digest goes (its organizers' group chat).
pub fn signed_chart_url(state: &AppState, org_id: i64, from: NaiveDate, to: NaiveDate) -> String {
    let query = sign(
        &state.chart.url_key,
        org_id,
        from,
        to,
        state.clock.now().timestamp(),
    );
    let path = format!("/v1/orgs/{org_id}/digest/chart.png?{query}");
    match &state.media.public_url {
        Some(base) => format!("{base}{path}"),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn parts(q: &str) -> (String, String) {
        let get = |k: &str| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")).map(str::to_string))
                .unwrap_or_default()
        };
        (get("exp"), get("sig"))
    }

    #[test]
    fn a_signed_url_verifies_for_its_org_and_dates_until_it_expires() {
        let keyed = url_key(b"0123456789abcdef0123456789abcdef").unwrap();
        let now = 1_800_000_030;
        let (from, to) = (d(2026, 11, 1), d(2026, 11, 30));
        let q = sign(&keyed, 7, from, to, now);
        assert!(q.starts_with("from=2026-11-01&to=2026-11-30&exp="), "{q}");
        let (exp, sig) = parts(&q);
        let e: i64 = exp.parse().unwrap();
        assert!(e >= now + LIFETIME_SECS && e < now + LIFETIME_SECS + STEP_SECS);
        assert_eq!(e % STEP_SECS, 0);
        let ok = |id, dates, now| verify(&keyed, id, dates, (Some(&exp), Some(&sig)), now);
        assert!(ok(7, (from, to), now).is_ok());
        assert_eq!(
            ok(7, (from, to), e).unwrap_err().code,
            ErrorCode::ChartUrlExpired
        );
        for (id, dates) in [(8, (from, to)), (7, (d(2026, 10, 1), to))] {
            assert_eq!(
                ok(id, dates, now).unwrap_err().code,
                ErrorCode::ChartUrlInvalid
            );
        }
        let later = (e + 86400).to_string();
        for (x, s) in [
            (Some(later.as_str()), Some(sig.as_str())),
            (Some(exp.as_str()), Some("AAAAAAAAAAAAAAAAAAAAAA")),
            (Some(exp.as_str()), None),
            (None, Some(sig.as_str())),
        ] {
            let err = verify(&keyed, 7, (from, to), (x, s), now).unwrap_err();
            assert_eq!(err.code, ErrorCode::ChartUrlInvalid, "{x:?} {s:?}");
        }
        // Within the hour the URL is the same string; another secret's key does not verify it.
        assert_eq!(q, sign(&keyed, 7, from, to, now + 60));
        let other = url_key(b"another secret, another key.....").unwrap();
        assert!(verify(&other, 7, (from, to), (Some(&exp), Some(&sig)), now).is_err());
    }
}
