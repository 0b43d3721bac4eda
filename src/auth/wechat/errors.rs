//! How WeChat's failures become API errors. Codes the phone can act on get their own
//! answer (a fresh code, wait, blocked); everything else is an opaque 502 with the cause
//! kept for the log.

use actix_web::http::header::RETRY_AFTER;

use super::client::WechatError;
use crate::error::{ApiError, ErrorCode};

/// The code is invalid.
pub const ERR_CODE_INVALID: i64 = 40029;
/// The code was already used.
pub const ERR_CODE_USED: i64 = 40163;
/// WeChat blocks this user as high-risk.
pub const ERR_HIGH_RISK: i64 = 40226;
/// Too many calls for this user (100 a minute).
pub const ERR_RATE_LIMIT: i64 = 45011;
/// Bad appid / bad secret: our configuration is wrong.
pub const ERR_BAD_APPID: i64 = 40013;
pub const ERR_BAD_SECRET: i64 = 40125;

/// Seconds the phone is told to wait after WeChat's per-minute limit.
const RATE_LIMIT_RETRY_SECS: u64 = 60;

impl From<WechatError> for ApiError {
    fn from(e: WechatError) -> Self {
        match e.errcode() {
            Some(ERR_CODE_INVALID | ERR_CODE_USED) => ApiError::new(ErrorCode::WechatCodeInvalid),
            Some(ERR_RATE_LIMIT) => ApiError::new(ErrorCode::RateLimited)
                .with_header(RETRY_AFTER, RATE_LIMIT_RETRY_SECS)
                .with_detail(
                    "微信登录过于频繁，请一分钟后再试",
                    "Too many WeChat logins; try again in a minute",
                ),
            Some(ERR_HIGH_RISK) => ApiError::forbidden().with_detail(
                "微信判定该账号存在风险，暂时无法登录",
                "WeChat flags this account as high-risk; login is blocked",
            ),
            Some(ERR_BAD_APPID | ERR_BAD_SECRET) => {
                tracing::error!(
                    error = %e,
                    "WeChat rejects our credentials: check DANGKE_WECHAT_APPID and DANGKE_WECHAT_SECRET"
                );
                ApiError::new(ErrorCode::UpstreamFailed).with_cause(e)
            }
            _ => ApiError::new(ErrorCode::UpstreamFailed).with_cause(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::{Endpoint, WechatError};
    use super::*;

    fn mapped(errcode: i64) -> ApiError {
        ApiError::from(WechatError::Api {
            endpoint: Endpoint::JsCode2Session,
            errcode,
            errmsg: "x".into(),
        })
    }

    #[test]
    fn wechat_codes_map_to_what_the_phone_can_act_on() {
        assert_eq!(mapped(40029).code, ErrorCode::WechatCodeInvalid);
        assert_eq!(mapped(40163).code, ErrorCode::WechatCodeInvalid);
        assert_eq!(mapped(40226).code, ErrorCode::Forbidden);
        let limited = mapped(45011);
        assert_eq!(limited.code, ErrorCode::RateLimited);
        assert!(limited.headers.iter().any(|(name, _)| name == RETRY_AFTER));
        for opaque in [-1, 40001, 40013, 40125, 99999] {
            let e = mapped(opaque);
            assert_eq!(e.code, ErrorCode::UpstreamFailed, "{opaque}");
            assert!(e.cause.is_some());
        }
        let timeout = ApiError::from(WechatError::Timeout {
            endpoint: Endpoint::StableToken,
            timeout: std::time::Duration::from_secs(5),
        });
        assert_eq!(timeout.code, ErrorCode::UpstreamFailed);
    }
}
