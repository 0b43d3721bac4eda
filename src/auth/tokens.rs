//! Access tokens (JWT, RFC 8725 practices) and refresh-token material.
//!
//! Access tokens are HS256 JWTs with a typed header (`at+jwt`), `iss`, `aud`, `sub`, `exp`,
//! `iat`, `jti` and `sid` (the refresh family). The algorithm is pinned on decode, expiry is
//! checked against the app clock. Refresh tokens are opaque random strings stored as SHA-256
//! hashes; a token's successor is derived from it by HMAC, so a replay inside the grace
//! window can be answered with the very same successor without storing it in clear.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorCode};

pub const ISSUER: &str = "dangke";
pub const AUDIENCE: &str = "dangke-app";
/// The JWT `typ` header of access tokens (RFC 9068).
pub const ACCESS_TYP: &str = "at+jwt";
/// Tolerated clock difference for `iat` in the future, in seconds.
const IAT_SKEW_SECS: i64 = 60;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The refresh family (session) this token was issued in.
    pub sid: String,
}

/// Signing and verification keys, derived from the JWT secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Key for deriving refresh successors (separate from the signing key by derivation).
    refresh_key: Vec<u8>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked against the app clock in `decode_access`.
        validation.validate_exp = false;
        validation.leeway = 0;
        let refresh_key = hmac_sha256(secret, b"dangke refresh successor key").to_vec();
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            refresh_key,
        }
    }

    /// Signs the claims. Deterministic: the same claims give the same token.
    pub fn encode_access(&self, claims: &AccessClaims) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TYP.to_string());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("JWT encoding failed: {e}")))
    }

    /// Verifies signature, algorithm, type, issuer and audience, then expiry at `now`.
    pub fn decode_access(&self, token: &str, now: i64) -> Result<AccessClaims, ApiError> {
        let invalid = || ApiError::new(ErrorCode::TokenInvalid);
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(ACCESS_TYP) {
            return Err(invalid());
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::new(ErrorCode::TokenExpired),
                _ => invalid(),
            })?;
        let claims = data.claims;
        if claims.iat > now + IAT_SKEW_SECS || claims.sub.parse::<i64>().is_err() {
            return Err(invalid());
        }
        if claims.exp <= now {
            return Err(ApiError::new(ErrorCode::TokenExpired));
        }
        Ok(claims)
    }

    /// The successor of a refresh token: HMAC(key, token), base64url.
    pub fn successor_of(&self, refresh_token: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.refresh_key, refresh_token.as_bytes()))
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => return [0; 32],
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// A new random refresh token (256 bits, base64url).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a refresh token is stored: hex SHA-256.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random secret for development, kept in `app_meta`.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> AccessClaims {
        AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "7".into(),
            exp: now + 900,
            iat: now,
            jti: "j1".into(),
            sid: "s1".into(),
        }
    }

    #[test]
    fn round_trip_and_determinism() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let t1 = keys.encode_access(&claims(1000)).unwrap();
        let t2 = keys.encode_access(&claims(1000)).unwrap();
        assert_eq!(t1, t2);
        assert_eq!(keys.decode_access(&t1, 1001).unwrap(), claims(1000));
        assert_eq!(
            keys.decode_access(&t1, 1900).unwrap_err().code,
            ErrorCode::TokenExpired
        );
    }

    #[test]
    fn other_key_is_invalid() {
        let a = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let b = TokenKeys::new(b"fedcba9876543210fedcba9876543210");
        let t = a.encode_access(&claims(1000)).unwrap();
        assert_eq!(
            b.decode_access(&t, 1001).unwrap_err().code,
            ErrorCode::TokenInvalid
        );
    }

    #[test]
    fn successor_is_stable_and_secret_dependent() {
        let a = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let b = TokenKeys::new(b"fedcba9876543210fedcba9876543210");
        assert_eq!(a.successor_of("x"), a.successor_of("x"));
        assert_ne!(a.successor_of("x"), b.successor_of("x"));
        assert_ne!(a.successor_of("x"), a.successor_of("y"));
    }
}
