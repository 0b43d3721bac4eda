//! The demo county's meetings of the year so far (`dangke seed-demo`, wired by
//! [`crate::demo`]): every branch schedules, at the start of the year, the series its
//! required frequencies ask for (org settings, [`super::kind`]) — the monthly theme party
//! day (主题党日), committee meeting and party group meetings, the quarterly general meeting
//! and party lesson, and the yearly organizational life meeting and democratic appraisal —
//! and every past occurrence is then run as a real one is: check-in opened, invitees frozen
//! at the start, members checking in (some late), organizers recording proxies for members
//! without phones and approving leave, and check-in closed after the end, which marks the
//! rest absent, books the activity's credit and marks the meeting held.
//!
//! A few required meetings are deliberately not held, so compliance shows gaps: in a branch
//! far behind its pace (河湾村) the meetings of two summer months are cancelled or never
//! recorded, and a lagging branch (王家庄村) leaves one committee meeting unrecorded.
//!
//! The series and occurrences are written by [`super::schedule`] and
//! [`super::materialize`], and attendance by the session, attendance, exception and
//! invitee functions that the routes call (only the members' own records are written in
//! bulk, as check-ins, proxies and approved leave are), so the change queue hears of every
//! occurrence started, changed and attended. Draws come from each branch's own seed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::access::{OccurrenceCtx, find_activity};
use super::kind::{ActivityKind, Frequency};
use super::model::{AttendanceSource, AttendanceStatus, LeaveStatus, Occurrence, OccurrenceStatus};
use super::recurrence::local_to_utc;
use super::schedule::{self, Fields};
use super::{attendance, exceptions, invitees, materialize, session};
use crate::db::DbConnection;
use crate::db::schema::{
    activity_attendance as aa, activity_leaves as al, activity_occurrences as ao, org_roles,
};
use crate::error::{ApiError, ApiResult};
use crate::orgs::demo::{DemoMember, DemoOrg, Rng, hash};
use crate::orgs::model::{MemberStatus, Org, OrgKind, path_ids};

/// Rows per multi-row insert.
const ROWS: usize = 200;

/// Attendance credit of the kinds that carry it (hundredths of a credit hour).
fn credit_of(kind: ActivityKind) -> i32 {
    match kind {
        ActivityKind::ThemePartyDay => 150,
        ActivityKind::PartyLesson => 200,
        ActivityKind::BranchCommitteeMeeting
        | ActivityKind::BranchGeneralMeeting
        | ActivityKind::OrgLifeMeeting
        | ActivityKind::DemocraticAppraisal => 100,
        _ => 0,
    }
}

/// Below this pace a branch loses two summer months of meetings; below the second, one
/// committee meeting goes unrecorded.
const FLOODED_BELOW: u8 = 65;
const LAGGING_BELOW: u8 = 75;

/// A meeting to schedule: org, kind, title, local start, minutes, RRULE.
type Planned = (
    i64,
    ActivityKind,
    &'static str,
    NaiveDateTime,
    i64,
    Option<String>,
);

/// What the history holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeetingHistory {
    pub activities: usize,
    /// Past occurrences held (attendance recorded, check-in closed).
    pub held: usize,
    /// Past occurrences cancelled.
    pub cancelled: usize,
    /// Past occurrences that started and were never recorded.
    pub unrecorded: usize,
    /// Attendance records of held occurrences.
    pub records: usize,
}

/// What happens to a past occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Held,
    Cancelled,
    Unrecorded,
}

/// Schedules the year's meetings of every branch in `orgs` and runs the past ones (see the
/// module docs). Runs inside one write transaction.
pub fn seed_history(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    people: &[DemoMember],
    orgs: &[DemoOrg],
) -> ApiResult<MeetingHistory> {
    let members: HashMap<i64, &DemoMember> = people.iter().map(|m| (m.user_id, m)).collect();
    let mut history = MeetingHistory::default();
    for branch in orgs.iter().filter(|o| o.kind == OrgKind::Branch) {
        let org = crate::orgs::tree::find(conn, branch.org_id)?;
        let mut b = Branch::load(conn, now, org, branch.pace)?;
        let series = b.schedule(conn, orgs)?;
        history.activities += series.len();
        materialize::extend(conn, &series, now)?;
        let past: Vec<Occurrence> = ao::table
            .filter(ao::activity_id.eq_any(&series))
            .filter(ao::starts_at.le(now.naive_utc()))
            .filter(ao::status.eq(OccurrenceStatus::Scheduled.as_str()))
            .order((ao::starts_at.asc(), ao::id.asc()))
            .select(Occurrence::as_select())
            .load(conn)?;
        for occ in past {
            b.run(conn, occ, &members, &mut history)?;
        }
    }
    Ok(history)
}

/// One branch being given its year.
struct Branch {
    org: Org,
    tz: Tz,
    now: DateTime<Utc>,
    year: i32,
    today: NaiveDate,
    pace: u8,
    rng: Rng,
    /// Who schedules and records (the branch secretary, else the nearest one above).
    organizer: i64,
    /// The day of the month of the theme party day; the other meetings follow it.
    day: u32,
    orgs: BTreeMap<i64, Org>,
}

impl Branch {
    fn load(conn: &mut DbConnection, now: DateTime<Utc>, org: Org, pace: u8) -> ApiResult<Branch> {
        let tz = crate::orgs::settings::time_zone(conn, &org)?;
        let today = now.with_timezone(&tz).date_naive();
        let chain = path_ids(&org.path);
        let holders: Vec<(i64, i64)> = org_roles::table
            .filter(org_roles::org_id.eq_any(&chain))
            .filter(org_roles::role.eq_any(["secretary", "admin"]))
            .select((org_roles::org_id, org_roles::user_id))
            .load(conn)?;
        let organizer = chain
            .iter()
            .rev()
            .find_map(|id| holders.iter().find(|(o, _)| o == id).map(|(_, u)| *u))
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("demo: nobody runs branch {}", org.id))
            })?;
        let mut rng = Rng(hash(&org.name, 0x6d65_6574));
        let day = [5, 8, 10, 12, 15, 18, 20][rng.range(0, 6) as usize];
        Ok(Branch {
            tz,
            now,
            year: today.year(),
            today,
            pace,
            rng,
            organizer,
            day,
            orgs: BTreeMap::from([(org.id, org.clone())]),
            org,
        })
    }

    fn local(&self, date: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
        date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default())
    }

    fn date(&self, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, month, day).unwrap_or(self.today)
    }

    /// Creates the year's series (and one-offs) of every kind the branch must hold.
    fn schedule(&mut self, conn: &mut DbConnection, orgs: &[DemoOrg]) -> ApiResult<Vec<i64>> {
        let settings = crate::orgs::settings::effective(conn, &self.org)?;
        let required = |kind: ActivityKind| {
            settings
                .frequencies
                .get(kind.as_str())
                .map(|e| e.value)
                .unwrap_or_else(|| kind.default_frequency())
                != Frequency::None
        };
        let village = self.org.name.contains('村');
        let place = if village {
            format!("{}党群服务中心", self.org.name.trim_end_matches("党支部"))
        } else {
            "党员活动室".to_string()
        };
        let d = self.day;
        let monthly = format!("FREQ=MONTHLY;BYMONTHDAY={d}");
        let quarterly = format!("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY={d}");
        let life = 20 + self.rng.range(0, 8) as u32;
        let life_day = self.date(1, life);
        let mut plans: Vec<Planned> = vec![
            (
                self.org.id,
                ActivityKind::ThemePartyDay,
                "主题党日",
                self.local(self.date(1, d), 9, 0),
                150,
                Some(monthly.clone()),
            ),
            (
                self.org.id,
                ActivityKind::BranchGeneralMeeting,
                "支部党员大会",
                self.local(self.date(3, d), 14, 0),
                120,
                Some(quarterly.clone()),
            ),
            (
                self.org.id,
                ActivityKind::PartyLesson,
                "书记讲党课",
                self.local(self.date(2, d), 14, 30),
                90,
                Some(quarterly),
            ),
            (
                self.org.id,
                ActivityKind::OrgLifeMeeting,
                "年度组织生活会",
                self.local(life_day, 9, 0),
                180,
                None,
            ),
            (
                self.org.id,
                ActivityKind::DemocraticAppraisal,
                "民主评议党员",
                self.local(life_day, 14, 0),
                150,
                None,
            ),
        ];
        if required(ActivityKind::BranchCommitteeMeeting) {
            plans.push((
                self.org.id,
                ActivityKind::BranchCommitteeMeeting,
                "支委会",
                self.local(self.date(1, d - 3), 15, 0),
                90,
                Some(format!("FREQ=MONTHLY;BYMONTHDAY={}", d - 3)),
            ));
        }
        if required(ActivityKind::PartyGroupMeeting) {
            let groups: Vec<i64> = crate::orgs::tree::children(conn, self.org.id)?
                .into_iter()
                .filter(|g| OrgKind::parse(&g.kind) == Some(OrgKind::PartyGroup))
                .filter(|g| orgs.iter().any(|o| o.org_id == g.id))
                .map(|g| {
                    let id = g.id;
                    self.orgs.insert(g.id, g);
                    id
                })
                .collect();
            for g in groups {
                plans.push((
                    g,
                    ActivityKind::PartyGroupMeeting,
                    "党小组学习会",
                    self.local(self.date(1, d + 4), 19, 30),
                    90,
                    Some(format!("FREQ=MONTHLY;BYMONTHDAY={}", d + 4)),
                ));
            }
        }
        // Scheduled when the year began (or now, early on its first morning).
        let at = local_to_utc(self.tz, self.local(self.date(1, 1), 9, 0))
            .unwrap_or(self.now)
            .min(self.now);
        let mut ids = Vec::new();
        for (org_id, kind, title, start, minutes, rrule) in plans {
            if !required(kind) {
                continue;
            }
            let org = self
                .orgs
                .get(&org_id)
                .cloned()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("demo: org {org_id}")))?;
            let fields = Fields {
                kind,
                title: title.to_string(),
                agenda: String::new(),
                place: Some(place.clone()),
                location: None,
                online_url: None,
                course_id: None,
                start_local: start,
                end_local: start + Duration::minutes(minutes),
                rrule,
                credit_centi: credit_of(kind),
                makeup_window_days: 30,
            };
            ids.push(schedule::create(conn, at, &org, self.organizer, &fields)?.id);
        }
        Ok(ids)
    }

    /// What happens to an occurrence: the gaps of a flooded or lagging branch, else held.
    fn fate(&self, kind: ActivityKind, start: NaiveDate) -> Fate {
        let month = start.month() as i64;
        let back = i64::from(self.today.month()) - month;
        if self.pace < FLOODED_BELOW
            && (3..=4).contains(&back)
            && matches!(
                kind,
                ActivityKind::ThemePartyDay
                    | ActivityKind::BranchCommitteeMeeting
                    | ActivityKind::PartyGroupMeeting
                    | ActivityKind::PartyLesson
            )
        {
            return if kind == ActivityKind::ThemePartyDay {
                Fate::Cancelled
            } else {
                Fate::Unrecorded
            };
        }
        if self.pace < LAGGING_BELOW && back == 2 && kind == ActivityKind::BranchCommitteeMeeting {
            return Fate::Unrecorded;
        }
        Fate::Held
    }

    /// Runs a past (or started) occurrence.
    fn run(
        &mut self,
        conn: &mut DbConnection,
        occ: Occurrence,
        members: &HashMap<i64, &DemoMember>,
        h: &mut MeetingHistory,
    ) -> ApiResult<()> {
        let activity = find_activity(conn, occ.activity_id)?;
        let kind = ActivityKind::from_db(&activity.kind)?;
        let org = match self.orgs.get(&occ.org_id) {
            Some(o) => o.clone(),
            None => crate::orgs::tree::find(conn, occ.org_id)?,
        };
        let start = occ.starts_at.and_utc();
        let end = occ.ends_at.and_utc();
        let mut ctx = OccurrenceCtx {
            occ,
            activity,
            org,
            manage: true,
        };
        let closing = end + Duration::minutes(self.rng.range(5, 30) as i64);
        let fate = if closing > self.now {
            // Still going on: only the start has happened.
            Fate::Unrecorded
        } else {
            self.fate(kind, start.with_timezone(&self.tz).date_naive())
        };
        match fate {
            Fate::Cancelled => {
                let reason = "防汛抗洪，全体党员上堤值守，本月主题党日取消";
                exceptions::cancel_one(conn, start - Duration::days(3), &ctx, Some(reason))?;
                h.cancelled += 1;
                return Ok(());
            }
            Fate::Unrecorded => {
                // Nobody opened check-in: the occurrence counts from its start all the same.
                invitees::freeze_if_due(
                    conn,
                    &mut ctx.occ,
                    &ctx.activity,
                    &ctx.org,
                    start.naive_utc(),
                    false,
                )?;
                if closing <= self.now {
                    h.unrecorded += 1;
                }
                return Ok(());
            }
            Fate::Held => {}
        }
        session::open(conn, start - Duration::minutes(20), &mut ctx)?;
        invitees::freeze_if_due(
            conn,
            &mut ctx.occ,
            &ctx.activity,
            &ctx.org,
            start.naive_utc(),
            false,
        )?;
        let invited = invitees::of(conn, &ctx.occ, &ctx.activity, &ctx.org)?;
        let mut records = Vec::new();
        let mut leaves = Vec::new();
        let mut first_in: Option<DateTime<Utc>> = None;
        for user_id in invited {
            let Some(m) = members.get(&user_id) else {
                continue;
            };
            let mut chance = u64::from(m.engagement.attend);
            if kind == ActivityKind::BranchCommitteeMeeting && chance > 0 {
                chance = chance.max(88);
            }
            let (status, source, at, reason) = if self.rng.range(0, 99) < chance {
                if self.rng.chance(7) {
                    let at = start + Duration::minutes(self.rng.range(8, 35) as i64);
                    (AttendanceStatus::Late, AttendanceSource::Checkin, at, None)
                } else if kind != ActivityKind::BranchCommitteeMeeting && self.rng.chance(6) {
                    let at = start + Duration::minutes(self.rng.range(1, 15) as i64);
                    let why = "年老行动不便，无智能手机，由支部代为登记";
                    (
                        AttendanceStatus::Proxy,
                        AttendanceSource::Proxy,
                        at,
                        Some(why),
                    )
                } else {
                    let at = start - Duration::minutes(self.rng.range(0, 20) as i64);
                    (
                        AttendanceStatus::Present,
                        AttendanceSource::Checkin,
                        at,
                        None,
                    )
                }
            } else {
                let away = m.status == MemberStatus::Migrant;
                if (away && self.rng.chance(70)) || (!away && self.rng.chance(35)) {
                    let why = if away {
                        "在外务工，无法返乡参加"
                    } else {
                        ["身体不适", "农忙抢收", "外出就医", "家中有事"]
                            [self.rng.range(0, 3) as usize]
                    };
                    let asked = start - Duration::hours(self.rng.range(14, 60) as i64);
                    let decided = asked + Duration::minutes(self.rng.range(20, 300) as i64);
                    leaves.push((user_id, why, asked.naive_utc(), decided.naive_utc()));
                    (
                        AttendanceStatus::Leave,
                        AttendanceSource::Leave,
                        decided,
                        Some(why),
                    )
                } else {
                    // Absent: marked so when check-in closes.
                    continue;
                }
            };
            if matches!(status, AttendanceStatus::Present | AttendanceStatus::Late) {
                first_in = Some(first_in.map_or(at, |f| f.min(at)));
            }
            let checked = matches!(
                status,
                AttendanceStatus::Present | AttendanceStatus::Late | AttendanceStatus::Proxy
            );
            let by = matches!(status, AttendanceStatus::Proxy | AttendanceStatus::Leave)
                .then_some(self.organizer);
            records.push((
                aa::occurrence_id.eq(ctx.occ.id),
                aa::user_id.eq(user_id),
                aa::status.eq(status.as_str()),
                aa::source.eq(source.as_str()),
                aa::checked_in_at.eq(checked.then_some(at.naive_utc())),
                aa::reason.eq(reason),
                aa::recorded_by.eq(by),
                aa::recorded_at.eq(at.naive_utc()),
            ));
        }
        let leave_rows: Vec<_> = leaves
            .iter()
            .map(|(user_id, why, asked, decided)| {
                (
                    al::occurrence_id.eq(ctx.occ.id),
                    al::user_id.eq(*user_id),
                    al::reason.eq(*why),
                    al::status.eq(LeaveStatus::Approved.as_str()),
                    al::requested_at.eq(*asked),
                    al::decided_by.eq(Some(self.organizer)),
                    al::decided_at.eq(Some(*decided)),
                )
            })
            .collect();
        for chunk in leave_rows.chunks(ROWS) {
            crate::with_backend!(&mut *conn, |c| diesel::insert_into(al::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in records.chunks(ROWS) {
            crate::with_backend!(&mut *conn, |c| diesel::insert_into(aa::table)
                .values(chunk)
                .execute(c))?;
        }
        if let Some(at) = first_in {
            attendance::mark_held(conn, ctx.occ.id, at.naive_utc())?;
        }
        let summary = session::close(conn, closing, &mut ctx)?;
        h.held += 1;
        h.records += records.len() + summary.marked_absent;
        Ok(())
    }
}
