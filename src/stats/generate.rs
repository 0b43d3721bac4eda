//! `dangke gen --members … --branches … --events … --occurrences … [--counties N]`: fills an
//! empty database with a county (or, with `--counties` above 1, a province-sized tree of
//! counties) for benchmarks and performance work — townships of branches,
//! members (mostly full members, some probationary, a few activists and cadres), required
//! courses of five article lessons, study events with the progress, credit and completions
//! they imply, and held meetings with their invitees and attendance — then rebuilds the
//! statistics roll-ups. Fixed-seed random, bulk inserts on both backends; members, events
//! and attendance are generated and inserted in chunks, so memory stays bounded whatever
//! the sizes (beyond a few words per member).
//!
//! With `--counties N` (N > 1) the root stands for a province. The org kinds stop at the
//! county committee, so the tree is built from the kinds there are: the root is a
//! `county_committee` named 生成省委, each county a `township_committee` under it (生成第k县委),
//! each township a `general_branch` under its county (生成第k县第t镇党委), and the branches sit
//! under the townships. With one county (the default) the root is the county 生成县委 with
//! `township_committee` townships, as before.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::DbConnection;
use crate::db::schema::{
    activities, activity_attendance, activity_invitees, activity_occurrences, course_assignments,
    course_completions, courses, credit_ledger, lesson_progress, lessons, orgs, study_events,
};
use crate::error::{ApiError, ApiResult};
use crate::orgs::import::bulk::{NewMembershipRow, NewUserRow, insert_memberships, insert_users};
use crate::orgs::model::{Org, OrgKind, Sector};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub members: usize,
    pub branches: usize,
    pub events: usize,
    pub occurrences: usize,
    /// Counties under the root: 1 (or 0) makes the root the county itself.
    pub counties: usize,
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Default, Clone, Copy)]
pub struct Generated {
    pub orgs: usize,
    pub members: usize,
    pub study_events: usize,
    pub lessons_completed: usize,
    pub occurrences: usize,
    pub attendance: usize,
}

const ROWS: usize = 400;
const COURSES: usize = 20;
const LESSONS_PER_COURSE: usize = 5;
const EVENTS_PER_LESSON: usize = 3;
/// Branches per township.
const BRANCHES_PER_TOWNSHIP: usize = 40;
/// Members generated (users and memberships inserted) per round.
const MEMBERS_PER_ROUND: usize = 20_000;
/// Study events held before they are inserted.
const EVENTS_PER_ROUND: usize = 20_000;

fn fail(what: &str) -> ApiError {
    ApiError::internal(anyhow::anyhow!("gen: {what}"))
}

/// Generates into an empty database (refuses when there are orgs). One transaction.
pub fn run(conn: &mut DbConnection, now: NaiveDateTime, plan: Plan) -> ApiResult<Generated> {
    let existing: i64 = orgs::table.count().get_result(conn)?;
    if existing > 0 {
        return Err(fail("the database already has organizations"));
    }
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut out = Generated::default();
    let branches = org_tree(conn, now, plan.branches.max(1), plan.counties, &mut out)?;
    let members = people(conn, now, &branches, plan.members, &mut rng)?;
    out.members = members.len();
    let owner = branches[0].1;
    let lesson_ids = catalog(conn, now, owner, members.first().map_or(0, |m| m.0))?;
    study(
        conn,
        now,
        &members,
        &lesson_ids,
        plan.events,
        &mut rng,
        &mut out,
    )?;
    meetings(
        conn,
        now,
        &branches,
        &members,
        plan.occurrences,
        &mut rng,
        &mut out,
    )?;
    crate::stats::rollup::rebuild(conn)?;
    Ok(out)
}

/// The root, its counties (with more than one), townships of up to 40 branches, branches.
/// Returns (branch id, township id).
fn org_tree(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    branches: usize,
    counties: usize,
    out: &mut Generated,
) -> ApiResult<Vec<(i64, i64)>> {
    let tree = crate::orgs::tree::create;
    let mut ids = Vec::with_capacity(branches);
    if counties <= 1 {
        let county = tree(
            conn,
            now,
            None,
            "生成县委",
            OrgKind::CountyCommittee,
            Sector::Other,
        )?;
        let townships = townships(conn, now, &county, 0, branches, 0, &mut ids)?;
        out.orgs = 1 + townships + ids.len();
        return Ok(ids);
    }
    // No kind above the county committee: the province is one, its counties are
    // township committees and their townships general branches (see the module doc).
    let province = tree(
        conn,
        now,
        None,
        "生成省委",
        OrgKind::CountyCommittee,
        Sector::Other,
    )?;
    let mut orgs = 1;
    for c in 0..counties {
        // Branches spread evenly: county c has those from c·B/N up to (c+1)·B/N.
        let (first, last) = (c * branches / counties, (c + 1) * branches / counties);
        let county = tree(
            conn,
            now,
            Some(&province),
            &format!("生成第{}县委", c + 1),
            OrgKind::TownshipCommittee,
            Sector::Other,
        )?;
        orgs += 1 + townships(conn, now, &county, c + 1, last - first, first, &mut ids)?;
    }
    out.orgs = orgs + ids.len();
    Ok(ids)
}

/// Townships of up to 40 branches under `parent` and `n` branches numbered from `first + 1`
/// in them, pushed onto `ids`. `county` 0: `parent` is the root county and the townships
/// are township committees; otherwise `parent` is that county of a province and they are
/// general branches. Returns the number of townships.
fn townships(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    parent: &Org,
    county: usize,
    n: usize,
    first: usize,
    ids: &mut Vec<(i64, i64)>,
) -> ApiResult<usize> {
    let tree = crate::orgs::tree::create;
    let count = n.div_ceil(BRANCHES_PER_TOWNSHIP);
    for t in 0..count {
        let town = if county == 0 {
            let name = format!("生成第{}镇党委", t + 1);
            tree(
                conn,
                now,
                Some(parent),
                &name,
                OrgKind::TownshipCommittee,
                Sector::Other,
            )?
        } else {
            let name = format!("生成第{county}县第{}镇党委", t + 1);
            tree(
                conn,
                now,
                Some(parent),
                &name,
                OrgKind::GeneralBranch,
                Sector::Village,
            )?
        };
        let start = t * BRANCHES_PER_TOWNSHIP;
        for b in start..(start + BRANCHES_PER_TOWNSHIP).min(n) {
            let name = format!("生成第{}村党支部", first + b + 1);
            let branch = tree(
                conn,
                now,
                Some(&town),
                &name,
                OrgKind::Branch,
                Sector::Village,
            )?;
            ids.push((branch.id, town.id));
        }
    }
    Ok(count)
}

/// Members spread evenly over branches, inserted in rounds. Returns (user id, branch id,
/// is committee).
fn people(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    branches: &[(i64, i64)],
    n: usize,
    rng: &mut StdRng,
) -> ApiResult<Vec<(i64, i64, bool)>> {
    let from = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default();
    let mut members = Vec::with_capacity(n);
    for start in (0..n).step_by(MEMBERS_PER_ROUND) {
        let round = start..(start + MEMBERS_PER_ROUND).min(n);
        let phones: Vec<String> = round.clone().map(|i| format!("19{i:09}")).collect();
        let names: Vec<String> = round.clone().map(|i| format!("党员{i:06}")).collect();
        let rows: Vec<NewUserRow> = phones
            .iter()
            .zip(&names)
            .map(|(phone, name)| NewUserRow {
                phone,
                name,
                gender: None,
                birth_date: None,
            })
            .collect();
        let users = insert_users(conn, now, &rows)?;
        let mut rows = Vec::with_capacity(users.len());
        for (i, (id, _)) in round.zip(&users) {
            let branch = branches[i % branches.len()].0;
            let roll: u32 = rng.random_range(0..100);
            let category = match roll {
                0..85 => "full",
                85..95 => "probationary",
                _ => "activist",
            };
            let committee = i / branches.len() < 5;
            members.push((*id, branch, committee));
            rows.push(NewMembershipRow {
                user_id: *id,
                org_id: branch,
                category,
                is_cadre: committee && category != "activist",
                joined_party_on: (category != "activist").then_some(from),
                status: "active",
                from_date: from,
            });
        }
        insert_memberships(conn, now, &rows)?;
    }
    Ok(members)
}

/// Published courses of article lessons, assigned to the county, the first five required.
fn catalog(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    _owner: i64,
    by: i64,
) -> ApiResult<Vec<(i64, i64)>> {
    let county: i64 = orgs::table
        .filter(orgs::parent_id.is_null())
        .select(orgs::id)
        .first(conn)?;
    let mut out = Vec::new();
    for c in 0..COURSES {
        let course: i64 = diesel::insert_into(courses::table)
            .values((
                courses::owner_org_id.eq(county),
                courses::kind.eq("online_class"),
                courses::title.eq(format!("生成课程{}", c + 1)),
                courses::summary.eq(""),
                courses::credit_centi.eq(100),
                courses::tags.eq("[]"),
                courses::status.eq("published"),
                courses::created_by.eq(by),
                courses::created_at.eq(now),
                courses::updated_at.eq(now),
                courses::published_at.eq(Some(now)),
            ))
            .returning(courses::id)
            .get_result(conn)?;
        for p in 0..LESSONS_PER_COURSE {
            let lesson: i64 = diesel::insert_into(lessons::table)
                .values((
                    lessons::course_id.eq(course),
                    lessons::position.eq(p as i32 + 1),
                    lessons::kind.eq("article"),
                    lessons::title.eq(format!("第{}课", p + 1)),
                    lessons::body.eq(Some("<p>正文</p>")),
                    lessons::min_coverage_permille.eq(900),
                    lessons::min_reading_s.eq(Some(60)),
                    lessons::credit_centi.eq(20),
                    lessons::created_at.eq(now),
                    lessons::updated_at.eq(now),
                ))
                .returning(lessons::id)
                .get_result(conn)?;
            out.push((course, lesson));
        }
        diesel::insert_into(course_assignments::table)
            .values((
                course_assignments::course_id.eq(course),
                course_assignments::org_id.eq(county),
                course_assignments::required.eq(c < 5),
                course_assignments::assigned_by.eq(by),
                course_assignments::created_at.eq(now),
                course_assignments::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(out)
}

/// A moment of this year before `now`.
fn moment(now: NaiveDateTime, rng: &mut StdRng) -> NaiveDateTime {
    let start = NaiveDate::from_ymd_opt(now.year(), 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(now);
    let span = (now - start).num_seconds().max(3600);
    start + Duration::seconds(rng.random_range(0..span - 3600))
}

/// Study events, progress, credit and course completions, member by member, inserted
/// every 20,000 events (nothing is held for longer).
fn study(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    members: &[(i64, i64, bool)],
    lessons: &[(i64, i64)],
    events: usize,
    rng: &mut StdRng,
    out: &mut Generated,
) -> ApiResult<()> {
    let completions = events / EVENTS_PER_LESSON;
    if members.is_empty() || lessons.is_empty() {
        return Ok(());
    }
    let mut ev = Vec::new();
    let mut progress = Vec::new();
    let mut ledger = Vec::new();
    let mut done = Vec::new();
    macro_rules! flush {
        () => {
            for chunk in ev.chunks(ROWS) {
                crate::with_backend!(&mut *conn, |c| diesel::insert_into(study_events::table)
                    .values(chunk.to_vec())
                    .execute(c))?;
            }
            for chunk in progress.chunks(ROWS) {
                crate::with_backend!(&mut *conn, |c| diesel::insert_into(lesson_progress::table)
                    .values(chunk.to_vec())
                    .execute(c))?;
            }
            for chunk in ledger.chunks(ROWS) {
                crate::with_backend!(&mut *conn, |c| diesel::insert_into(credit_ledger::table)
                    .values(chunk.to_vec())
                    .execute(c))?;
            }
            for chunk in done.chunks(ROWS) {
                crate::with_backend!(&mut *conn, |c| diesel::insert_into(
                    course_completions::table
                )
                .values(chunk.to_vec())
                .execute(c))?;
            }
            ev.clear();
            progress.clear();
            ledger.clear();
            done.clear();
        };
    }
    let per_user = completions / members.len();
    let extra = completions % members.len();
    // This member's courses: lessons completed and the last completion.
    let mut per_course: HashMap<i64, (usize, NaiveDateTime)> = HashMap::new();
    for (u, (user, home, _)) in members.iter().enumerate() {
        let k = (per_user + usize::from(u < extra)).min(lessons.len());
        let first = (u * 7) % lessons.len();
        per_course.clear();
        for j in 0..k {
            let (course, lesson) = lessons[(first + j) % lessons.len()];
            let end = moment(now, rng);
            for e in 0..EVENTS_PER_LESSON {
                let (from, to) = (e as i32 * 20, e as i32 * 20 + 20);
                let at = end - Duration::seconds(i64::from(60 - to));
                ev.push((
                    study_events::user_id.eq(*user),
                    study_events::client_event_id.eq(format!("gen-{lesson}-{e}")),
                    study_events::lesson_id.eq(lesson),
                    study_events::kind.eq("read"),
                    study_events::from_s.eq(from),
                    study_events::to_s.eq(to),
                    study_events::started_at.eq(at - Duration::seconds(20)),
                    study_events::ended_at.eq(at),
                    study_events::content_hash.eq("gen"),
                    study_events::outcome.eq("accepted"),
                    study_events::received_at.eq(at),
                ));
            }
            progress.push((
                lesson_progress::user_id.eq(*user),
                lesson_progress::lesson_id.eq(lesson),
                lesson_progress::covered.eq("[[0,60]]"),
                lesson_progress::covered_s.eq(0),
                lesson_progress::read_s.eq(60),
                lesson_progress::resume_s.eq(0),
                lesson_progress::last_event_at.eq(Some(end)),
                lesson_progress::completed_at.eq(Some(end)),
                lesson_progress::updated_at.eq(end),
            ));
            // Shanghai months: the generator's orgs keep the default zone.
            let local = end + Duration::hours(8);
            ledger.push((
                credit_ledger::user_id.eq(*user),
                credit_ledger::year.eq(local.year()),
                credit_ledger::month.eq(local.month() as i32),
                credit_ledger::source_kind.eq("lesson"),
                credit_ledger::source_id.eq(lesson),
                credit_ledger::credit_centi.eq(20),
                credit_ledger::org_id.eq(Some(*home)),
                credit_ledger::earned_at.eq(end),
            ));
            let c = per_course.entry(course).or_insert((0, end));
            c.0 += 1;
            c.1 = c.1.max(end);
            out.lessons_completed += 1;
            out.study_events += EVENTS_PER_LESSON;
        }
        let mut courses: Vec<_> = per_course
            .iter()
            .filter(|(_, (n, _))| *n == LESSONS_PER_COURSE)
            .map(|(course, (_, at))| (*course, *at))
            .collect();
        courses.sort_unstable();
        done.extend(courses.into_iter().map(|(course, at)| {
            (
                course_completions::user_id.eq(*user),
                course_completions::course_id.eq(course),
                course_completions::completed_at.eq(at),
            )
        }));
        if ev.len() >= EVENTS_PER_ROUND {
            flush!();
        }
    }
    flush!();
    Ok(())
}

const KINDS: [&str; 6] = [
    "theme_party_day",
    "party_group_meeting",
    "branch_committee_meeting",
    "party_lesson",
    "branch_general_meeting",
    "mini_party_class",
];

fn meetings(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    branches: &[(i64, i64)],
    members: &[(i64, i64, bool)],
    occurrences: usize,
    rng: &mut StdRng,
    out: &mut Generated,
) -> ApiResult<()> {
    let mut by_branch: HashMap<i64, Vec<(i64, bool)>> = HashMap::new();
    for (u, b, committee) in members {
        by_branch.entry(*b).or_default().push((*u, *committee));
    }
    let per_branch = occurrences / branches.len().max(1);
    let start = NaiveDate::from_ymd_opt(now.year(), 1, 1)
        .and_then(|d| d.and_hms_opt(1, 0, 0))
        .unwrap_or(now);
    let days = (now - start).num_days().max(1);
    let mut invitees = Vec::new();
    let mut attendance = Vec::new();
    for (branch, _) in branches {
        let mut activity_of: HashMap<&str, i64> = HashMap::new();
        for kind in KINDS {
            let id: i64 = diesel::insert_into(activities::table)
                .values((
                    activities::org_id.eq(*branch),
                    activities::kind.eq(kind),
                    activities::title.eq(kind),
                    activities::details.eq("{}"),
                    activities::time_zone.eq("Asia/Shanghai"),
                    activities::dtstart_local.eq(start),
                    activities::duration_min.eq(60),
                    activities::credit_centi.eq(0),
                    activities::makeup_window_days.eq(30),
                    activities::materialized_until.eq(now),
                    activities::created_at.eq(start),
                    activities::updated_at.eq(start),
                ))
                .returning(activities::id)
                .get_result(conn)?;
            activity_of.insert(kind, id);
        }
        let people = by_branch.get(branch).cloned().unwrap_or_default();
        for i in 0..per_branch {
            let kind = KINDS[i % KINDS.len()];
            let at = start
                + Duration::days(i as i64 * days / per_branch.max(1) as i64)
                + Duration::minutes(i as i64);
            let activity = activity_of.get(kind).copied().unwrap_or_default();
            let occ: i64 = diesel::insert_into(activity_occurrences::table)
                .values((
                    activity_occurrences::activity_id.eq(activity),
                    activity_occurrences::org_id.eq(*branch),
                    activity_occurrences::original_start.eq(at),
                    activity_occurrences::starts_at.eq(at),
                    activity_occurrences::ends_at.eq(at + Duration::hours(1)),
                    activity_occurrences::status.eq("scheduled"),
                    activity_occurrences::is_exception.eq(false),
                    activity_occurrences::sequence.eq(0),
                    activity_occurrences::checkin_state.eq("closed"),
                    activity_occurrences::checkin_secret.eq("gen"),
                    activity_occurrences::invitees_frozen_at.eq(Some(at)),
                    activity_occurrences::held_at.eq(Some(at)),
                    activity_occurrences::updated_at.eq(at),
                ))
                .returning(activity_occurrences::id)
                .get_result(conn)?;
            out.occurrences += 1;
            for (user, committee) in &people {
                if kind == "branch_committee_meeting" && !committee {
                    continue;
                }
                invitees.push((
                    activity_invitees::occurrence_id.eq(occ),
                    activity_invitees::user_id.eq(*user),
                ));
                let roll: u32 = rng.random_range(0..100);
                let status = match roll {
                    0..78 => "present",
                    78..84 => "late",
                    84..88 => "proxy",
                    88..93 => "leave",
                    _ => "absent",
                };
                attendance.push((
                    activity_attendance::occurrence_id.eq(occ),
                    activity_attendance::user_id.eq(*user),
                    activity_attendance::status.eq(status),
                    activity_attendance::source.eq("close"),
                    activity_attendance::recorded_at.eq(at),
                ));
            }
        }
        if invitees.len() >= 20_000 {
            flush_meetings(conn, &mut invitees, &mut attendance, out)?;
        }
    }
    flush_meetings(conn, &mut invitees, &mut attendance, out)
}

type Invitee = (
    diesel::dsl::Eq<activity_invitees::occurrence_id, i64>,
    diesel::dsl::Eq<activity_invitees::user_id, i64>,
);
type Record = (
    diesel::dsl::Eq<activity_attendance::occurrence_id, i64>,
    diesel::dsl::Eq<activity_attendance::user_id, i64>,
    diesel::dsl::Eq<activity_attendance::status, &'static str>,
    diesel::dsl::Eq<activity_attendance::source, &'static str>,
    diesel::dsl::Eq<activity_attendance::recorded_at, NaiveDateTime>,
);

fn flush_meetings(
    conn: &mut DbConnection,
    invitees: &mut Vec<Invitee>,
    attendance: &mut Vec<Record>,
    out: &mut Generated,
) -> ApiResult<()> {
    for chunk in invitees.chunks(ROWS) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(
            activity_invitees::table
        )
        .values(chunk)
        .execute(c))?;
    }
    for chunk in attendance.chunks(ROWS) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(
            activity_attendance::table
        )
        .values(chunk)
        .execute(c))?;
    }
    out.attendance += attendance.len();
    invitees.clear();
    attendance.clear();
    Ok(())
}
