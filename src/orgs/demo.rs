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

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

pub use plan::{Plan, PlannedMembership, PlannedOrg, PlannedPerson, plan};

use super::model::Org;
use super::{members, roles, tree};
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

/// What seeding created.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub county_id: i64,
    pub orgs: usize,
    pub users: usize,
    pub members: usize,
    pub logins: Vec<DemoLogin>,
    pub password: &'static str,
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
        }
        for (role, i) in &p.roles {
            let org = at(&created, *i)?;
            roles::insert(conn, now, org.id, user.id, *role, None)?;
        }
    }
    let county = at(&created, 0)?;
    let summary = DemoSummary {
        county_id: county.id,
        orgs: created.len(),
        users: plan.people.len(),
        members: member_count,
        logins: plan.logins(),
        password: PASSWORD,
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
