//! The demo data set a newcomer can log in to (`dangke seed-demo`, `dangke serve --demo`):
//! a county committee, two township committees, four villages with their branches and
//! party groups, a cooperative and an enterprise branch, the townships' organ branches,
//! 120 members with Chinese names and mobile numbers, a county admin and the secretaries.
//!
//! Everything is deterministic: [`plan`] draws names, numbers and dates from a fixed-seed
//! generator, so the printed logins are the same on every machine (dates are relative to
//! the day of seeding). [`seed`] writes the plan in one transaction, and only into a
//! database without organizations or users.

mod plan;

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

pub use plan::{Engagement, Plan, PlannedMembership, PlannedOrg, PlannedPerson, Rng, hash, plan};

use super::model::{MemberStatus, Org, OrgKind, Role};
use super::settings::{self, PatchSettingsRequest};
use super::{members, roles, tree};
use crate::activities::kind::{ActivityKind, Frequency};
use crate::audit::{self, Actor, Target};
use crate::auth::phone::Phone;
use crate::auth::{password, users};
use crate::db::schema::{orgs, users as users_t};
use crate::db::{Db, DbConnection, meta};
use crate::error::{ApiError, ApiResult};

/// The password of every demo user.
pub const PASSWORD: &str = "dangke-demo";

/// A login printed after seeding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// The role identifier (`admin`, `secretary`, …), or `member` for a plain member.
    pub role: String,
    pub org: String,
    pub name: String,
    pub phone: String,
}

/// A seeded member, as the demo's history needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoMember {
    pub user_id: i64,
    /// The home org (a branch or a party group).
    pub org_id: i64,
    pub status: MemberStatus,
    pub is_cadre: bool,
    pub engagement: Engagement,
    /// Where this member's own draws start (from their phone number).
    pub seed: u64,
    /// A plain member whose login is printed, to try the phone app with.
    pub shown: bool,
}

/// A seeded org and its pace (see [`PlannedOrg::pace`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOrg {
    pub org_id: i64,
    pub kind: OrgKind,
    pub pace: u8,
}

/// What seeding created.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub county_id: i64,
    /// The county admin (who authored the demo's courses).
    pub admin_id: i64,
    pub orgs: usize,
    pub users: usize,
    pub members: usize,
    pub logins: Vec<DemoLogin>,
    pub password: &'static str,
    /// Every member, in the order planned.
    pub people: Vec<DemoMember>,
    /// Every org, in the order planned.
    pub org_paces: Vec<DemoOrg>,
}

/// What the database already held when seeding was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingData {
    pub orgs: i64,
    pub users: i64,
}

/// The outcome of [`seed`].
#[derive(Debug, Clone)]
pub enum Seeded {
    Created(DemoSummary),
    /// The database has orgs or users: nothing was changed.
    AlreadyHasData(ExistingData),
}

impl fmt::Display for ExistingData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database already has data ({} organizations, {} users); the demo is only seeded into an empty database",
            self.orgs, self.users
        )
    }
}

/// Seeds the demo into an empty database in one transaction. A database with any org or
/// user is left unchanged ([`Seeded::AlreadyHasData`]), also when another instance seeds
/// it at the same moment (its unique phone numbers make this transaction fail and roll
/// back, and the data found afterwards is reported).
pub async fn seed(db: &Db, now: NaiveDateTime) -> ApiResult<Seeded> {
    if let Some(found) = db.read(existing).await? {
        return Ok(Seeded::AlreadyHasData(found));
    }
    // One argon2 hash for everybody: argon2 is slow by design, 121 hashes take seconds.
    let hash = password::blocking(|| password::hash(PASSWORD)).await??;
    let plan = plan(today(now));
    let result = db
        .write(move |c| match existing(c)? {
            Some(found) => Ok(Seeded::AlreadyHasData(found)),
            None => insert(c, now, &plan, &hash).map(Seeded::Created),
        })
        .await;
    match result {
        Ok(seeded) => Ok(seeded),
        Err(e) => match db.read(existing).await? {
            Some(found) => Ok(Seeded::AlreadyHasData(found)),
            None => Err(e),
        },
    }
}

/// The orgs and users already in the database, if any.
fn existing(conn: &mut DbConnection) -> ApiResult<Option<ExistingData>> {
    let orgs: i64 = orgs::table.count().get_result(conn)?;
    let users: i64 = users_t::table.count().get_result(conn)?;
    Ok((orgs > 0 || users > 0).then_some(ExistingData { orgs, users }))
}

/// The calendar day of `now` in Shanghai (the demo's dates are relative to it).
fn today(now: NaiveDateTime) -> NaiveDate {
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .from_utc_datetime(&now)
        .date_naive()
}

fn at<T>(items: &[T], i: usize) -> ApiResult<&T> {
    items
        .get(i)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("demo plan refers to a missing org {i}")))
}

/// Writes the plan. Every user gets `hash` as their password hash.
fn insert(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    plan: &Plan,
    hash: &str,
) -> ApiResult<DemoSummary> {
    let mut created: Vec<Org> = Vec::with_capacity(plan.orgs.len());
    for o in &plan.orgs {
        let parent = o.parent.map(|i| at(&created, i)).transpose()?;
        let org = tree::create(conn, now, parent, &o.name, o.kind, o.sector)?;
        created.push(org);
    }
    let mut member_count = 0;
    let mut people = Vec::new();
    let mut admin_id = None;
    for p in &plan.people {
        let phone = Phone::parse(&p.phone).ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("demo phone {} is invalid", p.phone))
        })?;
        let user = users::create(conn, now, &phone, &p.name, Some(hash))?;
        diesel::update(users_t::table.find(user.id))
            .set((
                users_t::gender.eq(p.gender.as_str()),
                users_t::birth_date.eq(p.birth_date),
            ))
            .execute(conn)?;
        if let Some(m) = &p.membership {
            let org = at(&created, m.org)?;
            members::insert_membership(
                conn,
                now,
                user.id,
                org.id,
                m.category,
                m.is_cadre,
                m.joined_party_on,
                m.status,
                m.from_date,
            )?;
            member_count += 1;
            people.push(DemoMember {
                user_id: user.id,
                org_id: org.id,
                status: m.status,
                is_cadre: m.is_cadre,
                engagement: plan.engagement(p).unwrap_or(Engagement::NONE),
                seed: plan::hash(&p.phone, 0x6869_7374_6f72),
                shown: p.show_login,
            });
        }
        for (role, i) in &p.roles {
            let org = at(&created, *i)?;
            roles::insert(conn, now, org.id, user.id, *role, None)?;
            if *role == Role::Admin {
                admin_id = Some(user.id);
            }
        }
    }
    let county = at(&created, 0)?;
    let admin_id = admin_id
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the demo plan has no county admin")))?;
    small_branch_settings(conn, now, plan, admin_id, &created)?;
    // The year's history starts on 1 January: the county adopted dangke then, not on the
    // day the demo was seeded (compliance asks for nothing before the adoption date).
    let year = now
        .and_utc()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .year();
    let adopted = PatchSettingsRequest {
        adoption_date: Some(NaiveDate::from_ymd_opt(year, 1, 1)),
        ..Default::default()
    };
    settings::patch(conn, now, county, admin_id, &adopted)?;
    let org_paces = plan
        .orgs
        .iter()
        .zip(&created)
        .map(|(p, o)| DemoOrg {
            org_id: o.id,
            kind: p.kind,
            pace: p.pace,
        })
        .collect();
    let summary = DemoSummary {
        county_id: county.id,
        admin_id,
        orgs: created.len(),
        users: plan.people.len(),
        members: member_count,
        logins: plan.logins(),
        password: PASSWORD,
        people,
        org_paces,
    };
    meta::set(conn, "demo_seeded_at", &now.and_utc().to_rfc3339(), now)?;
    audit::record(
        conn,
        now,
        &Actor::system(),
        "demo_seeded",
        &Target::new("org", county.id).in_org(county.id),
        serde_json::json!({"orgs": summary.orgs, "users": summary.users, "members": summary.members}),
    )?;
    Ok(summary)
}

/// Branches without party groups hold no party group meetings, and branches with fewer
/// than three committee members (too few full members to elect a committee) hold no
/// committee meetings: their secretaries set those frequencies to `none`, as a real branch
/// would, so compliance does not count slots they cannot hold.
fn small_branch_settings(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    plan: &Plan,
    admin_id: i64,
    created: &[Org],
) -> ApiResult<()> {
    const COMMITTEE: [Role; 3] = [
        Role::Secretary,
        Role::DeputySecretary,
        Role::CommitteeMember,
    ];
    for (i, (o, org)) in plan.orgs.iter().zip(created).enumerate() {
        if o.kind != OrgKind::Branch {
            continue;
        }
        let groups = plan.orgs.iter().filter(|g| g.parent == Some(i)).count();
        let committee = plan
            .people
            .iter()
            .flat_map(|p| &p.roles)
            .filter(|(role, at)| *at == i && COMMITTEE.contains(role))
            .count();
        let mut req = PatchSettingsRequest::default();
        if groups == 0 {
            req.frequencies.insert(
                ActivityKind::PartyGroupMeeting.as_str().to_string(),
                Some(Frequency::None),
            );
        }
        if committee < 3 {
            req.frequencies.insert(
                ActivityKind::BranchCommitteeMeeting.as_str().to_string(),
                Some(Frequency::None),
            );
        }
        if !req.frequencies.is_empty() {
            settings::patch(conn, now, org, admin_id, &req)?;
        }
    }
    Ok(())
}

impl DemoSummary {
    /// The logins as an aligned text table, followed by the shared password.
    pub fn logins_table(&self) -> String {
        let header = DemoLogin {
            role: "role".into(),
            org: "organization".into(),
            name: "name".into(),
            phone: "phone".into(),
        };
        let rows: Vec<&DemoLogin> = std::iter::once(&header).chain(&self.logins).collect();
        let w_role = rows.iter().map(|l| width(&l.role)).max().unwrap_or(0);
        let w_org = rows.iter().map(|l| width(&l.org)).max().unwrap_or(0);
        let w_name = rows.iter().map(|l| width(&l.name)).max().unwrap_or(0);
        let mut out = format!(
            "demo data seeded: {} organizations, {} members, {} users\n\n",
            self.orgs, self.members, self.users
        );
        for l in rows {
            out.push_str(&format!(
                "{}  {}  {}  {}\n",
                pad(&l.role, w_role),
                pad(&l.org, w_org),
                pad(&l.name, w_name),
                l.phone
            ));
        }
        out.push_str(&format!(
            "\npassword of every demo user: {}\n",
            self.password
        ));
        out
    }
}

/// Display width in a terminal: CJK characters take two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn pad(s: &str, to: usize) -> String {
    format!("{s}{}", " ".repeat(to.saturating_sub(width(s))))
}
