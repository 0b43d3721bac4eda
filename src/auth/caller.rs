//! `Caller`: the authenticated user of a request, from the bearer access token.
//!
//! No database hit: the token is verified by signature and the app clock, and only the
//! revocation denylist is consulted, through kv. If kv is unreachable the check falls back
//! to the database, so a Redis outage neither lets revoked tokens through nor fails logins.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};

use super::sessions::{denylist_key, is_revoked_in_db};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    /// The refresh family (session) of the token.
    pub session_id: String,
    pub jti: String,
    /// Client address (for the audit log), honouring trusted proxies.
    pub ip: Option<String>,
}

impl Caller {
    /// The audit actor for this caller.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::user(self.user_id, self.ip.clone())
    }
}

/// The token from `Authorization: Bearer …`.
fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Err(ApiError::new(ErrorCode::TokenMissing));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(ErrorCode::TokenInvalid))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    Ok(token.trim().to_string())
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("app state missing")))?;
    let token = bearer(&req)?;
    let claims = state
        .tokens
        .decode_access(&token, state.clock.now().timestamp())?;
    let revoked = match state.kv.get(&denylist_key(&claims.jti)).await {
        Ok(v) => v.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "kv unreachable; checking revocation in the database");
            let jti = claims.jti.clone();
            state.db.read(move |c| is_revoked_in_db(c, &jti)).await?
        }
    };
    if revoked {
        return Err(ApiError::new(ErrorCode::TokenRevoked));
    }
    let user_id = claims
        .sub
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::TokenInvalid))?;
    let ip = crate::http::client_ip::client_ip(&req, &state.config.trusted_proxies)
        .map(|ip| ip.to_string());
    Ok(Caller {
        user_id,
        session_id: claims.sid,
        jti: claims.jti,
        ip,
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
