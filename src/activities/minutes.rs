//! Minutes of a held meeting: text and photos (media ids), written by the organizer once
//! the occurrence has started, replaced as a whole on each save.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::access::OccurrenceCtx;
use super::model::{MinutesPhoto, MinutesRequest, MinutesView};
use crate::db::DbConnection;
use crate::db::schema::activity_minutes as am;
use crate::error::{ApiError, ApiResult, ErrorCode, Text};

/// Most photos per minutes.
pub const MAX_PHOTOS: usize = 20;
/// Longest minutes text, in characters.
pub const MAX_TEXT: usize = crate::http::text::Body::MAX;

/// Checks that the photos are uploaded images.
pub fn photos_exist(conn: &mut DbConnection, ids: &[i64]) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = crate::media::find_many(conn, ids)?;
    let images: HashSet<i64> = found
        .iter()
        .filter(|m| m.kind == crate::media::model::MediaKind::Image.as_str())
        .map(|m| m.id)
        .collect();
    if ids.iter().all(|id| images.contains(id)) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "photo_media_ids",
            "not_an_image",
            Text::new("照片应为已上传的图片", "Photos must be uploaded images"),
        ))
    }
}

/// The minutes of an occurrence, if written.
pub fn view(conn: &mut DbConnection, occurrence_id: i64) -> ApiResult<Option<MinutesView>> {
    let row: Option<(String, String, i64, chrono::NaiveDateTime)> = am::table
        .find(occurrence_id)
        .select((
            am::text,
            am::photo_media_ids,
            am::recorded_by,
            am::recorded_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(text, photos, by, at)| MinutesView {
        text,
        photo_media_ids: serde_json::from_str(&photos).unwrap_or_default(),
        photos: Vec::new(),
        recorded_by: Some(by),
        recorded_at: Some(at.and_utc()),
    }))
}

/// Gives the minutes' photos signed URLs issued at `now` — only for a reader who was
/// invited or organizes the meeting; for anyone else the minutes keep ids only.
pub fn sign_photos(
    minutes: &mut MinutesView,
    media: &crate::media::MediaState,
    now: DateTime<Utc>,
) {
    minutes.photos = minutes
        .photo_media_ids
        .iter()
        .map(|id| {
            let (url, expires_at) = media.sign(*id, now);
            MinutesPhoto {
                media_id: *id,
                url,
                expires_at,
            }
        })
        .collect();
}

/// Which of these occurrences have minutes.
pub fn among(conn: &mut DbConnection, occurrence_ids: &[i64]) -> ApiResult<HashSet<i64>> {
    if occurrence_ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(am::table
        .filter(am::occurrence_id.eq_any(occurrence_ids))
        .select(am::occurrence_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// Saves the minutes.
pub fn save(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &OccurrenceCtx,
    by: i64,
    req: &MinutesRequest,
) -> ApiResult<MinutesView> {
    let text = req.text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            "text",
            "invalid_length",
            Text::new(
                format!("纪要应为 1 到 {MAX_TEXT} 字"),
                format!("Minutes must be 1-{MAX_TEXT} characters"),
            ),
        ));
    }
    let mut seen = HashSet::new();
    let mut photos = req.photo_media_ids.clone();
    photos.retain(|id| seen.insert(*id));
    if photos.len() > MAX_PHOTOS || photos.iter().any(|id| *id <= 0) {
        return Err(ApiError::invalid_field(
            "photo_media_ids",
            "invalid_length",
            Text::new("最多 20 张照片", "At most 20 photos"),
        ));
    }
    photos_exist(conn, &photos)?;
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    let stamp = now.naive_utc();
    if stamp < ctx.occ.starts_at {
        return Err(ApiError::new(ErrorCode::Conflict).with_detail(
            "活动开始后才能填写纪要",
            "Minutes can be written once the activity has started",
        ));
    }
    let photos_json = serde_json::to_string(&photos).unwrap_or_else(|_| "[]".into());
    diesel::delete(am::table.find(ctx.occ.id)).execute(conn)?;
    diesel::insert_into(am::table)
        .values((
            am::occurrence_id.eq(ctx.occ.id),
            am::text.eq(text),
            am::photo_media_ids.eq(photos_json),
            am::recorded_by.eq(by),
            am::recorded_at.eq(stamp),
        ))
        .execute(conn)?;
    view(conn, ctx.occ.id)?.ok_or_else(|| ApiError::internal(anyhow::anyhow!("minutes not saved")))
}
