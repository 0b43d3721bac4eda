//! Which meetings are "tomorrow": occurrences, not cancelled, whose start falls on the day
//! after today in their activity's zone — looked at only in the daytime there (08:00–21:00),
//! when reminders and alerts may go out. Shared by [`super::reminders`] and
//! [`super::alerts`].

use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, TimeZone, Timelike, Utc};
use diesel::prelude::*;

use crate::activities::model::{Activity, Occurrence, OccurrenceStatus};
use crate::db::DbConnection;
use crate::db::schema::{activities, activity_occurrences as ao};
use crate::error::ApiResult;

/// Messages go out from this local hour …
const FROM_HOUR: u32 = 8;
/// … until this one.
const UNTIL_HOUR: u32 = 21;

/// Whether `hour` (local) is one messages may go out in.
pub fn daytime(hour: u32) -> bool {
    (FROM_HOUR..UNTIL_HOUR).contains(&hour)
}

/// The zone an activity's times are in.
pub fn zone_of(activity: &Activity) -> chrono_tz::Tz {
    activity
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai)
}

/// A meeting tomorrow.
pub struct Tomorrow {
    pub occ: Occurrence,
    pub activity: Activity,
    /// Its start, local.
    pub local_start: NaiveDateTime,
    /// Where (the occurrence's own place, else the activity's, else "见通知").
    pub place: String,
}

/// The meetings tomorrow (of `orgs` only, when given), earliest first.
pub fn meetings(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    orgs: Option<&[i64]>,
) -> ApiResult<Vec<Tomorrow>> {
    let naive = now.naive_utc();
    // Every zone's "tomorrow" lies within the next 48 hours.
    let mut q = ao::table
        .inner_join(activities::table)
        .filter(ao::starts_at.gt(naive))
        .filter(ao::starts_at.le(naive + ChronoDuration::hours(48)))
        .filter(ao::status.ne(OccurrenceStatus::Cancelled.as_str()))
        .order(ao::starts_at.asc())
        .select((Occurrence::as_select(), Activity::as_select()))
        .into_boxed();
    if let Some(ids) = orgs {
        q = q.filter(ao::org_id.eq_any(ids.to_vec()));
    }
    let rows: Vec<(Occurrence, Activity)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(occ, activity)| {
            let tz = zone_of(&activity);
            let local_now = now.with_timezone(&tz);
            let local_start = tz.from_utc_datetime(&occ.starts_at);
            let tomorrow = local_now.date_naive() + ChronoDuration::days(1);
            if !daytime(local_now.hour()) || local_start.date_naive() != tomorrow {
                return None;
            }
            let place = occ
                .place
                .clone()
                .or_else(|| activity.details().place)
                .unwrap_or_else(|| "见通知".to_string());
            Some(Tomorrow {
                local_start: local_start.naive_local(),
                place,
                occ,
                activity,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daytime_is_eight_to_nine() {
        assert!(!daytime(7));
        assert!(daytime(8));
        assert!(daytime(20));
        assert!(!daytime(21));
    }
}
