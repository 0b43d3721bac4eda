//! The whole demo data set (`dangke seed-demo`, `dangke serve --demo`): the county with its
//! people ([`crate::orgs::demo`]), then its courses ([`crate::courses::demo`]).

use crate::courses::demo::DemoCourses;
use crate::error::ApiResult;
use crate::orgs::demo::Seeded;
use crate::state::AppState;

/// Seeds an empty database; a database with data is left unchanged. The courses are
/// seeded only when the county was.
pub async fn seed(state: &AppState) -> ApiResult<(Seeded, Option<DemoCourses>)> {
    let seeded = crate::orgs::demo::seed(&state.db, state.clock.now_naive()).await?;
    let courses = match &seeded {
        Seeded::Created(summary) => {
            Some(crate::courses::demo::seed(state, summary.county_id).await?)
        }
        Seeded::AlreadyHasData(_) => None,
    };
    Ok((seeded, courses))
}
