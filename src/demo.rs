//! The whole demo data set (`dangke seed-demo`, `dangke serve --demo`): the county with its
//! people ([`crate::orgs::demo`]), its courses ([`crate::courses::demo`]), and the credit
//! year so far — the meetings held, with their attendance ([`crate::activities::demo`]),
//! and the members' study ([`crate::progress::demo`]). The history is recorded in the
//! change queue like any write, and the queue's consumers ([`crate::LISTENERS`]) apply it
//! before seeding returns, so the first dashboard is current and quick.

use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::activities::demo::MeetingHistory;
use crate::courses::demo::DemoCourses;
use crate::error::ApiResult;
use crate::orgs::demo::Seeded;
use crate::progress::demo::StudyHistory;
use crate::state::AppState;

/// What seeding added besides the county (nothing when the database had data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extras {
    pub courses: DemoCourses,
    pub meetings: MeetingHistory,
    pub study: StudyHistory,
}

/// Seeds an empty database; a database with data is left unchanged. The courses and the
/// history are seeded only when the county was.
pub async fn seed(state: &AppState) -> ApiResult<(Seeded, Option<Extras>)> {
    let now = state.clock.now();
    let seeded = crate::orgs::demo::seed(&state.db, now.naive_utc()).await?;
    let Seeded::Created(summary) = &seeded else {
        return Ok((seeded, None));
    };
    let courses = crate::courses::demo::seed(state, summary.county_id, catalog_time(now)).await?;
    let (people, orgs) = (summary.people.clone(), summary.org_paces.clone());
    let meetings = state
        .db
        .write(move |c| crate::activities::demo::seed_history(c, now, &people, &orgs))
        .await?;
    let people = summary.people.clone();
    let study = state
        .db
        .write(move |c| crate::progress::demo::seed_history(c, now, &people))
        .await?;
    for listener in crate::LISTENERS {
        crate::changes::runner::drain(&state.db, *listener, None, &state.changes).await?;
    }
    Ok((
        seeded,
        Some(Extras {
            courses,
            meetings,
            study,
        }),
    ))
}

/// When the demo catalog was published: the morning of 2 January of the credit year in
/// the demo's zone (or `now`, earlier than that).
fn catalog_time(now: DateTime<Utc>) -> chrono::NaiveDateTime {
    let tz = chrono_tz::Asia::Shanghai;
    let year = now.with_timezone(&tz).year();
    tz.with_ymd_and_hms(year, 1, 2, 9, 0, 0)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
        .min(now)
        .naive_utc()
}
