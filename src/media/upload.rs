//! Keeping a received upload: de-duplicate by SHA-256, store the object, read the duration,
//! record the row and the audit entry.
//!
//! The same content uploaded twice is one object and one row: the second upload returns the
//! first row (`created == false`, 200 instead of 201). Two uploads of the same new content
//! at the same moment both write the same object under the same key (harmless), and the
//! insert that loses the race returns the winner's row.

use serde_json::json;

use super::duration;
use super::form::UploadMeta;
use super::model::{DurationSource, Media, NewMedia};
use super::receive::{Received, Receiver};
use super::records;
use super::storage::MediaStore;
use crate::audit::{self, Actor, Target};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A kept upload: the row, and whether this upload created it.
pub struct Saved {
    pub media: Media,
    pub created: bool,
}

/// Keeps `received` (see the module doc).
pub async fn save(
    state: &AppState,
    caller: &Caller,
    received: Received,
    meta: UploadMeta,
) -> ApiResult<Saved> {
    save_as(state, caller.user_id, caller.actor(), received, meta).await
}

/// Keeps `bytes` as an upload by `user_id` (media that ships with the binary: the demo's).
pub async fn save_bytes(
    state: &AppState,
    user_id: i64,
    bytes: &[u8],
    meta: UploadMeta,
) -> ApiResult<Saved> {
    let size = u64::try_from(bytes.len()).map_err(ApiError::internal)?;
    let mut receiver = Receiver::start(
        &state.media.staging_dir,
        state.config.media.limits,
        Some(size),
    )
    .await?;
    receiver.push(bytes).await?;
    let received = receiver.finish().await?;
    save_as(state, user_id, Actor::system(), received, meta).await
}

async fn save_as(
    state: &AppState,
    uploaded_by: i64,
    actor: Actor,
    received: Received,
    meta: UploadMeta,
) -> ApiResult<Saved> {
    let store = &state.media.store;
    let sha = received.sha256.clone();
    if let Some(existing) = state
        .db
        .read(move |c| records::find_by_sha(c, &sha))
        .await?
    {
        // Heal a store that lost the object (restored database, emptied bucket).
        if !store
            .exists(&existing.storage_key)
            .await
            .map_err(super::storage::unavailable)?
        {
            tracing::warn!(
                media_id = existing.id,
                "stored object missing; storing it again"
            );
            put(store, &existing.storage_key, &received).await?;
        }
        // The same content from another org: it may see it now (it had the bytes anyway).
        let (id, now) = (existing.id, state.clock.now_naive());
        state
            .db
            .write(move |c| record_uploader(c, now, uploaded_by, id).map(drop))
            .await?;
        return Ok(Saved {
            media: existing,
            created: false,
        });
    }
    let sniffed = received.sniffed;
    let key = MediaStore::key_for(&received.sha256, sniffed.extension);
    put(store, &key, &received).await?;
    let path = received.path.to_path_buf();
    let from_file = tokio::task::spawn_blocking(move || duration::of_file(&path, sniffed))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading the duration failed");
            None
        });
    let (duration_s, duration_source) = match (from_file, meta.duration_s) {
        (Some(s), _) => (Some(duration::whole_seconds(s)), Some(DurationSource::File)),
        (None, Some(given)) if sniffed.kind.is_timed() => {
            (Some(given), Some(DurationSource::Uploader))
        }
        _ => (None, None),
    };
    let now = state.clock.now_naive();
    let row = NewMedia {
        sha256: received.sha256.clone(),
        kind: sniffed.kind.as_str().to_string(),
        content_type: sniffed.content_type.to_string(),
        size_bytes: i64::try_from(received.size).map_err(ApiError::internal)?,
        storage_key: key,
        duration_s,
        duration_source: duration_source.map(|d| d.as_str().to_string()),
        file_name: meta.file_name,
        uploaded_by,
        created_at: now,
    };
    let saved = state
        .db
        .write(move |c| {
            let (media, created) = records::insert_or_existing(c, &row)?;
            let orgs = record_uploader(c, now, uploaded_by, media.id)?;
            if created {
                audit::record(
                    c,
                    now,
                    &actor,
                    "media_uploaded",
                    &match orgs.first() {
                        Some(org) => Target::new("media", media.id).in_org(*org),
                        None => Target::new("media", media.id),
                    },
                    json!({
                        "sha256": media.sha256,
                        "kind": media.kind,
                        "size_bytes": media.size_bytes,
                        "file_name": media.file_name,
                    }),
                )?;
            }
            Ok(Saved { media, created })
        })
        .await?;
    drop(received);
    Ok(saved)
}

/// Records the orgs where the uploader operates as orgs the media was uploaded for;
/// returns them.
fn record_uploader(
    conn: &mut crate::db::DbConnection,
    now: chrono::NaiveDateTime,
    uploaded_by: i64,
    media_id: i64,
) -> ApiResult<Vec<i64>> {
    let scope = crate::orgs::access::Scope::load(conn, uploaded_by)?;
    super::access::record_upload(conn, now, &scope, media_id)
}

async fn put(store: &MediaStore, key: &str, received: &Received) -> ApiResult<()> {
    store
        .put_file(key, &received.path, received.sniffed.content_type)
        .await
        .map_err(|e| super::storage::unavailable(e.context(format!("storing media object {key}"))))
}
