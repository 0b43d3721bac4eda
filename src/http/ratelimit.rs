//! Rate limiting through kv, with `429`, `Retry-After` and the IETF `RateLimit` /
//! `RateLimit-Policy` headers. While Redis is unreachable each instance counts on its own
//! ([`Kv::rate_limit`], logged): an outage of Redis must not lock every member out, nor
//! lift the limits.

use actix_web::http::header::{HeaderName, RETRY_AFTER};

use crate::config::RateSpec;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::kv::Kv;

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Counts one request of policy `policy` for `subject`; 429 when over the limit.
pub async fn enforce(kv: &Kv, policy: &str, subject: &str, spec: RateSpec) -> ApiResult<()> {
    let key = format!("rl:{policy}:{subject}");
    match kv.rate_limit(&key, spec).await {
        Ok(d) if d.allowed => Ok(()),
        Ok(d) => {
            let retry = d.retry_after.as_millis().div_ceil(1000).max(1);
            Err(ApiError::new(ErrorCode::RateLimited)
                .with_header(RETRY_AFTER, retry)
                .with_header(
                    RATELIMIT_POLICY,
                    format!("\"{policy}\";q={};w={}", spec.limit, spec.period.as_secs()),
                )
                .with_header(RATELIMIT, format!("\"{policy}\";r=0;t={retry}"))
                .with_detail(
                    format!("请求过于频繁，请 {retry} 秒后再试"),
                    format!("Too many requests; try again in {retry} s"),
                ))
        }
        Err(e) => {
            tracing::warn!(error = %e, policy, "rate limit skipped: kv unreachable");
            Ok(())
        }
    }
}
