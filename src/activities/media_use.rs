//! Media seen through minutes: a photo in a meeting's minutes is visible to whoever may see
//! that occurrence (its org's members and organizers above). Wired into
//! [`crate::media::access::MediaUses`] in `lib.rs`.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{activity_minutes as am, activity_occurrences as ao, orgs};
use crate::error::ApiResult;
use crate::orgs::access::{Right, Scope};

/// How many minutes are looked at (a photo is rarely in more than one).
const MAX_MINUTES: i64 = 200;

/// Whether the caller with `scope` sees minutes that show `media_id`.
pub fn visible_through_minutes(
    conn: &mut DbConnection,
    scope: &Scope,
    media_id: i64,
) -> ApiResult<bool> {
    // The ids are stored as a JSON array of numbers: narrow by text, then parse.
    let candidates: Vec<(String, String)> = am::table
        .inner_join(ao::table.inner_join(orgs::table))
        .filter(am::photo_media_ids.like(format!("%{media_id}%")))
        .order(am::occurrence_id)
        .limit(MAX_MINUTES)
        .select((am::photo_media_ids, orgs::path))
        .load(conn)?;
    Ok(candidates.iter().any(|(photos, path)| {
        serde_json::from_str::<Vec<i64>>(photos).is_ok_and(|ids| ids.contains(&media_id))
            && scope.check(path, Right::View).is_ok()
    }))
}

/// Which of `ids` appear in some minutes (for housekeeping: unused media expire). Minutes
/// are one row per held meeting, read whole.
pub fn referenced(
    conn: &mut DbConnection,
    ids: &[i64],
) -> ApiResult<std::collections::HashSet<i64>> {
    let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
    let mut used = std::collections::HashSet::new();
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, String)> = am::table
            .filter(am::occurrence_id.gt(after))
            .filter(am::photo_media_ids.ne("[]"))
            .order(am::occurrence_id)
            .limit(1000)
            .select((am::occurrence_id, am::photo_media_ids))
            .load(conn)?;
        let Some((last, _)) = rows.last() else {
            return Ok(used);
        };
        after = *last;
        for (_, photos) in &rows {
            for id in serde_json::from_str::<Vec<i64>>(photos).unwrap_or_default() {
                if wanted.contains(&id) {
                    used.insert(id);
                }
            }
        }
    }
}
