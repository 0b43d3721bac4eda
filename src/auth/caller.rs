//! `Caller`: the authenticated user of a request, from the bearer access token.
//!
//! No database hit: the token is verified by signature and the app clock, and only the
//! revocation denylist is consulted, through kv. If kv is unreachable the check falls back
//! to the database, so a Redis outage neither lets revoked tokens through nor fails logins.
//! [`UncheckedCaller`] is the same with the denylist lookup left to the route, which folds it
//! into its own kv round trip.

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

/// A caller whose bearer token verified (signature, algorithm, type, issuer, audience and
/// expiry on the app clock) but whose revocation is not checked yet: for a route that asks
/// kv for the denylist entry in the same round trip as its own reads (`GET /v1/me`, see
/// [`super::identity_cache`]). It yields a [`Caller`] only through [`Self::denied_by`] or
/// [`Self::check_in_db`].
#[derive(Debug)]
pub struct UncheckedCaller {
    caller: Caller,
}

impl UncheckedCaller {
    /// The user the token names.
    pub fn user_id(&self) -> i64 {
        self.caller.user_id
    }

    /// The kv key whose presence means the token was revoked.
    pub fn denylist_key(&self) -> String {
        denylist_key(&self.caller.jti)
    }

    /// Finishes authentication with the denylist entry read from kv (`Some` = revoked).
    pub fn denied_by(self, entry: Option<&str>) -> Result<Caller, ApiError> {
        if entry.is_some() {
            return Err(ApiError::new(ErrorCode::TokenRevoked));
        }
        Ok(self.caller)
    }

    /// Finishes authentication from the database (when kv is unreachable).
    pub async fn check_in_db(self, state: &AppState) -> Result<Caller, ApiError> {
        let jti = self.caller.jti.clone();
        if state.db.read(move |c| is_revoked_in_db(c, &jti)).await? {
            return Err(ApiError::new(ErrorCode::TokenRevoked));
        }
        Ok(self.caller)
    }

    /// Finishes authentication through kv, falling back to the database when kv is
    /// unreachable.
    pub async fn check(self, state: &AppState) -> Result<Caller, ApiError> {
        match state.kv.get(&self.denylist_key()).await {
            Ok(entry) => self.denied_by(entry.as_deref()),
            Err(e) => {
                tracing::warn!(error = %e, "kv unreachable; checking revocation in the database");
                self.check_in_db(state).await
            }
        }
    }
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("app state missing")))
}

fn verify(req: &HttpRequest, state: &AppState) -> Result<UncheckedCaller, ApiError> {
    let token = bearer(req)?;
    let claims = state
        .tokens
        .decode_access(&token, state.clock.now().timestamp())?;
    let user_id = claims
        .sub
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::TokenInvalid))?;
    let ip = crate::http::client_ip::client_ip(req, &state.config.trusted_proxies)
        .map(|ip| ip.to_string());
    Ok(UncheckedCaller {
        caller: Caller {
            user_id,
            session_id: claims.sid,
            jti: claims.jti,
            ip,
        },
    })
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = app_state(&req)?;
    verify(&req, &state)?.check(&state).await
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

impl FromRequest for UncheckedCaller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<UncheckedCaller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(app_state(req).and_then(|state| verify(req, &state)))
    }
}
