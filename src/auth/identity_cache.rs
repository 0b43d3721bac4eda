//! The identity snapshot behind `GET /v1/me`, cached in kv so that a phone asking "who am I"
//! costs one kv round trip instead of a denylist lookup plus three database reads.
//!
//! Keys (under the kv prefix):
//!
//! - `identity:v:{user_id}`: the user's version, a random token replaced after every
//!   committed write to the user's row, memberships or roles ([`forget`]);
//! - `identity:v:orgs`: one version for every org name, replaced after an org is renamed or
//!   moved ([`forget_orgs`]) — the snapshot shows the names of the home org and role orgs;
//! - `identity:{user_id}`: `{user version}\n{orgs version}\n{ETag}\n{body}`, the rendered
//!   `MeView` and the versions it was read under (10 minutes).
//!
//! One `MGET` reads the caller's denylist entry, both versions and the snapshot; the snapshot
//! is served only while both versions it carries are current. A reader takes the versions
//! *before* it reads the database, and a writer replaces them *after* its commit, so a
//! snapshot read before a write carries a version the write has replaced by the time its
//! request returns. Versions are random, never counters, so a version key lost to expiry,
//! eviction or a Redis restart can never come back equal to one a stale snapshot carries.
//! When kv is unreachable, revocation is checked and the snapshot read in the database: a
//! cache that cannot be validated is never served. A version that could not be replaced
//! (kv down at the end of a write) is retried in the background for the snapshot lifetime.

use std::time::Duration;

use crate::auth::caller::UncheckedCaller;
use crate::auth::model::MeView;
use crate::auth::users;
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult};
use crate::kv::{Kv, KvError};
use crate::state::AppState;

/// How long a snapshot is kept.
const SNAPSHOT_TTL: Duration = Duration::from_secs(600);
/// How long a version is kept after it was last replaced (a lost one only costs a miss).
const VERSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Versions replaced per kv round trip.
const CHUNK: usize = 1000;
/// Pause between retries of a version that could not be replaced.
const RETRY_EVERY: Duration = Duration::from_secs(1);

const ORGS_VERSION_KEY: &str = "identity:v:orgs";

fn version_key(user_id: i64) -> String {
    format!("identity:v:{user_id}")
}

fn snapshot_key(user_id: i64) -> String {
    format!("identity:{user_id}")
}

fn new_version() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `GET /v1/me` rendered: the JSON body and its `ETag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub tag: String,
    pub body: String,
}

impl Rendered {
    fn of(me: &MeView) -> ApiResult<Rendered> {
        let body = serde_json::to_string(me).map_err(ApiError::internal)?;
        Ok(Rendered {
            tag: crate::http::etag::tag_of(body.as_bytes()),
            body,
        })
    }
}

/// A snapshot as stored, with the versions it was read under.
struct Stored<'a> {
    user_version: &'a str,
    orgs_version: &'a str,
    tag: &'a str,
    body: &'a str,
}

impl<'a> Stored<'a> {
    fn parse(raw: &'a str) -> Option<Stored<'a>> {
        let mut parts = raw.splitn(4, '\n');
        Some(Stored {
            user_version: parts.next()?,
            orgs_version: parts.next()?,
            tag: parts.next()?,
            body: parts.next()?,
        })
    }

    fn format(user_version: &str, orgs_version: &str, r: &Rendered) -> String {
        format!("{user_version}\n{orgs_version}\n{}\n{}", r.tag, r.body)
    }
}

/// The caller's `MeView` as the database has it now.
pub fn load(conn: &mut DbConnection, user_id: i64) -> ApiResult<MeView> {
    let user = users::find(conn, user_id)?;
    let mut me = MeView::from(&user);
    me.membership = crate::orgs::members::current_view(conn, user_id)?;
    me.roles = crate::orgs::members::roles_of(conn, user_id)?;
    Ok(me)
}

async fn load_rendered(state: &AppState, user_id: i64) -> ApiResult<Rendered> {
    let me = state.db.read(move |c| load(c, user_id)).await?;
    Rendered::of(&me)
}

/// Authenticates `caller` and answers `GET /v1/me`: from the snapshot when it is current,
/// else from the database (storing a new snapshot).
pub async fn me(state: &AppState, caller: UncheckedCaller) -> ApiResult<Rendered> {
    let user_id = caller.user_id();
    let keys = [
        caller.denylist_key(),
        version_key(user_id),
        ORGS_VERSION_KEY.to_string(),
        snapshot_key(user_id),
    ];
    let values = match state.kv.get_many(&keys).await {
        Ok(values) => values,
        Err(e) => {
            tracing::warn!(error = %e, "kv unreachable; reading the identity from the database");
            caller.check_in_db(state).await?;
            return load_rendered(state, user_id).await;
        }
    };
    let [denied, user_version, orgs_version, stored] = <[Option<String>; 4]>::try_from(values)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("kv answered a different count")))?;
    caller.denied_by(denied.as_deref())?;
    if let (Some(uv), Some(ov), Some(raw)) = (&user_version, &orgs_version, &stored)
        && let Some(s) = Stored::parse(raw)
        && s.user_version == uv
        && s.orgs_version == ov
    {
        return Ok(Rendered {
            tag: s.tag.to_string(),
            body: s.body.to_string(),
        });
    }
    // Versions first, then the database: what is read is at least as new as the versions.
    let user_version = established(&state.kv, &version_key(user_id), user_version).await;
    let orgs_version = established(&state.kv, ORGS_VERSION_KEY, orgs_version).await;
    let rendered = load_rendered(state, user_id).await?;
    if let (Some(uv), Some(ov)) = (user_version, orgs_version) {
        let value = Stored::format(&uv, &ov, &rendered);
        if let Err(e) = state
            .kv
            .set(&snapshot_key(user_id), &value, Some(SNAPSHOT_TTL))
            .await
        {
            tracing::warn!(error = %e, user_id, "could not cache the identity snapshot");
        }
    }
    Ok(rendered)
}

/// The version at `key`: `current` when there is one, else a new one this call stored.
/// `None` when that failed or another request stored one first (then nothing is cached).
async fn established(kv: &Kv, key: &str, current: Option<String>) -> Option<String> {
    if current.is_some() {
        return current;
    }
    let version = new_version();
    match kv.set_nx(key, &version, VERSION_TTL).await {
        Ok(true) => Some(version),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, key, "could not store an identity version");
            None
        }
    }
}

/// After a write to these users' rows, memberships or roles has committed: their snapshots
/// are no longer served (on every instance sharing the kv). Call it before the write's
/// response is sent.
pub async fn forget(kv: &Kv, user_ids: &[i64]) {
    let mut ids = user_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|id| version_key(*id)).collect();
        replace_versions(kv, keys).await;
    }
}

/// After an org was renamed or moved: no snapshot showing an org name is served any more.
pub async fn forget_orgs(kv: &Kv) {
    replace_versions(kv, vec![ORGS_VERSION_KEY.to_string()]).await;
}

async fn replace_versions(kv: &Kv, keys: Vec<String>) {
    if let Err(e) = set_new_versions(kv, &keys).await {
        tracing::error!(error = %e, count = keys.len(), "could not replace identity versions; retrying in the background");
        let kv = kv.clone();
        tokio::spawn(async move {
            let attempts = SNAPSHOT_TTL.as_secs() / RETRY_EVERY.as_secs();
            for _ in 0..attempts {
                tokio::time::sleep(RETRY_EVERY).await;
                if set_new_versions(&kv, &keys).await.is_ok() {
                    tracing::info!(
                        count = keys.len(),
                        "identity versions replaced after a retry"
                    );
                    return;
                }
            }
            tracing::error!(count = keys.len(), "gave up replacing identity versions");
        });
    }
}

async fn set_new_versions(kv: &Kv, keys: &[String]) -> Result<(), KvError> {
    let entries: Vec<(String, String, Duration)> = keys
        .iter()
        .map(|k| (k.clone(), new_version(), VERSION_TTL))
        .collect();
    kv.set_many(&entries).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_snapshot_reads_back() {
        let r = Rendered {
            tag: "\"abc\"".into(),
            body: r#"{"name":"王\n建国"}"#.into(),
        };
        let raw = Stored::format("u1", "o1", &r);
        let s = Stored::parse(&raw).expect("parses");
        assert_eq!(
            (s.user_version, s.orgs_version, s.tag, s.body),
            ("u1", "o1", r.tag.as_str(), r.body.as_str())
        );
    }

    #[test]
    fn versions_are_not_repeated() {
        assert_ne!(new_version(), new_version());
    }
}
