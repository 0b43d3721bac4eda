//! Members: add, list (a subtree, searched and filtered, cursor-paginated), read with
//! history, edit, transfer (history kept), change status. Authorization is the caller's
//! job (see [`super::access`]); audit records are written by the callers in the same
//! transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::access::Scope;
use super::identity;
use super::model::{
    AddMemberRequest, Category, Gender, MemberDetail, MemberStatus, MemberView, Membership,
    MembershipHistoryItem, Org, OrgKind, Role, RoleView, UpdateMemberRequest, subtree_range,
};
use crate::auth::phone::Phone;
use crate::auth::users;
use crate::changes::{self, Change};
use crate::db::schema::{memberships, org_roles, orgs, users as users_t};
use crate::db::{DbConnection, sql};
use crate::error::{ApiError, ApiResult, ErrorCode, Text};
use crate::http::pagination::{Page, PageParams};
use crate::http::text::SearchText;

/// Filters of the member list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    /// Part of a name or phone number (`%` and `_` match themselves).
    pub q: Option<SearchText>,
    pub category: Option<Category>,
    pub status: Option<MemberStatus>,
    pub is_cadre: Option<bool>,
}

type MemberRow = (
    Membership,
    (
        String,
        String,
        Option<String>,
        Option<NaiveDate>,
        Option<String>,
    ),
    String,
);

fn view(row: MemberRow) -> ApiResult<MemberView> {
    let (m, (name, phone, gender, birth_date, openid), org_name) = row;
    Ok(MemberView {
        user_id: m.user_id,
        membership_id: m.id,
        name,
        phone,
        gender,
        birth_date,
        org_id: m.org_id,
        org_name,
        category: Category::from_db(&m.category)?,
        is_cadre: m.is_cadre,
        joined_party_on: m.joined_party_on,
        status: MemberStatus::from_db(&m.status)?,
        from_date: m.from_date,
        wechat_bound: openid.is_some(),
    })
}

macro_rules! member_select {
    () => {
        (
            Membership::as_select(),
            (
                users_t::name,
                users_t::phone,
                users_t::gender,
                users_t::birth_date,
                users_t::wechat_openid,
            ),
            orgs::name,
        )
    };
}

/// The current membership of a user, if any.
pub fn current(conn: &mut DbConnection, user_id: i64) -> ApiResult<Option<Membership>> {
    Ok(memberships::table
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::to_date.is_null())
        .select(Membership::as_select())
        .first(conn)
        .optional()?)
}

/// The current member view of a user, or 404.
pub fn member_view(conn: &mut DbConnection, user_id: i64) -> ApiResult<MemberView> {
    current_view(conn, user_id)?.ok_or_else(ApiError::not_found)
}

/// The current member view of a user, if they are a member (one query).
pub fn current_view(conn: &mut DbConnection, user_id: i64) -> ApiResult<Option<MemberView>> {
    let row: Option<MemberRow> = memberships::table
        .inner_join(users_t::table)
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::to_date.is_null())
        .select(member_select!())
        .first(conn)
        .optional()?;
    row.map(view).transpose()
}

/// Members whose home org is in the subtree of `org`, ordered by membership id.
pub fn list(
    conn: &mut DbConnection,
    org: &Org,
    filter: &MemberFilter,
    page: &PageParams,
) -> ApiResult<Page<MemberView>> {
    let limit = page.limit()?;
    let after: Option<i64> = page.after()?;
    let (lo, hi) = subtree_range(&org.path);
    let mut q = memberships::table
        .inner_join(users_t::table)
        .inner_join(orgs::table)
        .filter(memberships::to_date.is_null())
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .select(member_select!())
        .order(memberships::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(memberships::id.gt(after));
    }
    if let Some(text) = filter.q.as_deref().filter(|s| !s.is_empty()) {
        let pattern = sql::like_contains(text);
        q = q.filter(
            users_t::name
                .like(pattern.clone())
                .escape(sql::LIKE_ESCAPE)
                .or(users_t::phone.like(pattern).escape(sql::LIKE_ESCAPE)),
        );
    }
    if let Some(c) = filter.category {
        q = q.filter(memberships::category.eq(c.as_str()));
    }
    if let Some(s) = filter.status {
        q = q.filter(memberships::status.eq(s.as_str()));
    }
    if let Some(cadre) = filter.is_cadre {
        q = q.filter(memberships::is_cadre.eq(cadre));
    }
    let rows: Vec<MemberRow> = q.load(conn)?;
    let page = Page::from_rows(rows, limit, |r| r.0.id);
    let items = page
        .items
        .into_iter()
        .map(view)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// A member with membership history and roles.
pub fn detail(conn: &mut DbConnection, user_id: i64) -> ApiResult<MemberDetail> {
    let member = member_view(conn, user_id)?;
    let history_rows: Vec<(Membership, String)> = memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(user_id))
        .order(memberships::from_date.desc())
        .then_order_by(memberships::id.desc())
        .select((Membership::as_select(), orgs::name))
        .load(conn)?;
    let history = history_rows
        .into_iter()
        .map(|(m, org_name)| {
            Ok(MembershipHistoryItem {
                membership_id: m.id,
                org_id: m.org_id,
                org_name,
                category: Category::from_db(&m.category)?,
                status: MemberStatus::from_db(&m.status)?,
                from_date: m.from_date,
                to_date: m.to_date,
                end_reason: m.end_reason,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let roles = roles_of(conn, user_id)?;
    Ok(MemberDetail {
        member,
        history,
        roles,
    })
}

/// Every role a user holds.
pub fn roles_of(conn: &mut DbConnection, user_id: i64) -> ApiResult<Vec<RoleView>> {
    let rows: Vec<(i64, String, String, NaiveDateTime, String)> = org_roles::table
        .inner_join(orgs::table)
        .inner_join(users_t::table)
        .filter(org_roles::user_id.eq(user_id))
        .order(org_roles::id.asc())
        .select((
            org_roles::org_id,
            orgs::name,
            org_roles::role,
            org_roles::granted_at,
            users_t::name,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(org_id, org_name, role, granted_at, user_name)| {
            Ok(RoleView {
                user_id,
                user_name,
                org_id,
                org_name,
                role: Role::from_db(&role)?,
                granted_at: granted_at.and_utc(),
            })
        })
        .collect()
}

fn check_home(org: &Org) -> ApiResult<()> {
    if OrgKind::from_db(&org.kind)?.can_hold_members() {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::OrgHierarchyInvalid).with_detail(
        "党员只能编入党支部或党小组",
        "Members belong to a branch or a party group",
    ))
}

/// What adding a member did.
pub enum Added {
    Created(MemberView),
    /// Already a member of this org: nothing changed (a retried request).
    Existing(MemberView),
}

/// Adds a member to `org` (a branch or party group) for the organizer with `scope`. A new
/// phone creates the user. A known user joins only when they lie wholly inside the scope
/// and have no password ([`identity`]); otherwise the answer is 409 `member_not_addable`,
/// which does not say why. A member of this org already is returned unchanged (so a
/// retried request is harmless); a member elsewhere inside the scope is 409
/// `already_member` (transfer them instead).
pub fn add(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    today: NaiveDate,
    org: &Org,
    scope: &Scope,
    req: &AddMemberRequest,
) -> ApiResult<Added> {
    check_home(org)?;
    let phone = Phone::parse_field(&req.phone, "phone")?;
    let name = users::check_name(&req.name, "name")?;
    check_dates(req.birth_date, req.joined_party_on, today)?;
    let user = match users::find_by_phone(conn, &phone)? {
        Some(u) => u,
        None => users::create(conn, now, &phone, &name, None)?,
    };
    if !identity::standing(conn, user.id)?.manageable_by(scope) {
        return Err(identity::not_addable());
    }
    if let Some(m) = current(conn, user.id)? {
        if m.org_id == org.id {
            return Ok(Added::Existing(member_view(conn, user.id)?));
        }
        return Err(ApiError::new(ErrorCode::AlreadyMember).with_detail(
            "此人已是您管辖范围内其他组织的党员，请使用组织关系转接",
            "This person is a member of another org in your scope: transfer them instead",
        ));
    }
    // A known person joining keeps what is stored unless the request gives a value.
    if req.gender.is_some() || req.birth_date.is_some() {
        diesel::update(users_t::table.find(user.id))
            .set((
                req.gender.map(|g| users_t::gender.eq(g.as_str())),
                req.birth_date.map(|d| users_t::birth_date.eq(d)),
                users_t::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    insert_membership(
        conn,
        now,
        user.id,
        org.id,
        req.category,
        req.is_cadre,
        req.joined_party_on,
        MemberStatus::Active,
        req.from_date.unwrap_or(today),
    )?;
    Ok(Added::Created(member_view(conn, user.id)?))
}

/// Inserts a current membership row.
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub fn insert_membership(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    org_id: i64,
    category: Category,
    is_cadre: bool,
    joined_party_on: Option<NaiveDate>,
    status: MemberStatus,
    from_date: NaiveDate,
) -> ApiResult<i64> {
    let id = diesel::insert_into(memberships::table)
        .values((
            memberships::user_id.eq(user_id),
            memberships::org_id.eq(org_id),
            memberships::category.eq(category.as_str()),
            memberships::is_cadre.eq(is_cadre),
            memberships::joined_party_on.eq(joined_party_on),
            memberships::status.eq(status.as_str()),
            memberships::from_date.eq(from_date),
            memberships::created_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .returning(memberships::id)
        .get_result(conn)?;
    changes::record(conn, now, &[Change::Placed { user_id }])?;
    Ok(id)
}

fn check_dates(
    birth: Option<NaiveDate>,
    joined: Option<NaiveDate>,
    today: NaiveDate,
) -> ApiResult<()> {
    let bad = |field: &str| {
        ApiError::invalid_field(
            field,
            "out_of_range",
            Text::new("日期不合理", "The date is not plausible"),
        )
    };
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if birth.is_some_and(|d| d < earliest || d > today) {
        return Err(bad("birth_date"));
    }
    if joined.is_some_and(|d| d < earliest || d > today || birth.is_some_and(|b| d < b)) {
        return Err(bad("joined_party_on"));
    }
    Ok(())
}

/// What an edit did.
#[derive(Debug, Default)]
pub struct Updated {
    /// The names of the fields that changed.
    pub changed: Vec<&'static str>,
    /// A new phone number: every session of the person was revoked (these access tokens go
    /// on the denylist after commit) and their WeChat binding removed.
    pub phone_change: Option<PhoneChange>,
}

/// A phone number changed (invariant 4 of [`identity`]).
#[derive(Debug)]
pub struct PhoneChange {
    pub from: String,
    pub to: String,
    pub revoked: Vec<crate::auth::sessions::RevokedAccess>,
    pub wechat_unbound: bool,
}

/// Applies an edit.
pub fn update(
    conn: &mut DbConnection,
    now: chrono::DateTime<chrono::Utc>,
    today: NaiveDate,
    user_id: i64,
    req: &UpdateMemberRequest,
) -> ApiResult<Updated> {
    let m = current(conn, user_id)?.ok_or_else(ApiError::not_found)?;
    let user = users::find(conn, user_id)?;
    let mut phone_change = None;
    let mut changed = Vec::new();
    let now_utc = now;
    let now = now.naive_utc();
    if let Some(name) = &req.name {
        let name = users::check_name(name, "name")?;
        if name != user.name {
            diesel::update(users_t::table.find(user_id))
                .set((
                    users_t::name.eq(&name),
                    users_t::name_key.eq(crate::collate::sort_key(&name)),
                ))
                .execute(conn)?;
            changed.push("name");
        }
    }
    if let Some(phone) = &req.phone {
        let phone = Phone::parse_field(phone, "phone")?;
        if phone.as_str() != user.phone {
            if users::find_by_phone(conn, &phone)?.is_some() {
                return Err(ApiError::new(ErrorCode::PhoneTaken));
            }
            // The phone is how the person logs in and how WeChat finds them: whoever held
            // the old sessions or the WeChat binding is no longer known to be them.
            diesel::update(users_t::table.find(user_id))
                .set((
                    users_t::phone.eq(phone.as_str()),
                    users_t::wechat_openid.eq(None::<String>),
                    users_t::wechat_unionid.eq(None::<String>),
                ))
                .execute(conn)?;
            let revoked = crate::auth::sessions::revoke_all_for_user(
                conn,
                now_utc,
                user_id,
                "phone_changed",
            )?;
            phone_change = Some(PhoneChange {
                from: user.phone.clone(),
                to: phone.as_str().to_string(),
                revoked,
                wechat_unbound: user.wechat_openid.is_some(),
            });
            changed.push("phone");
        }
    }
    if let Some(gender) = req.gender {
        diesel::update(users_t::table.find(user_id))
            .set(users_t::gender.eq(gender.map(Gender::as_str)))
            .execute(conn)?;
        changed.push("gender");
    }
    if let Some(birth) = req.birth_date {
        check_dates(birth, None, today)?;
        diesel::update(users_t::table.find(user_id))
            .set(users_t::birth_date.eq(birth))
            .execute(conn)?;
        changed.push("birth_date");
    }
    if let Some(category) = req.category {
        diesel::update(memberships::table.find(m.id))
            .set(memberships::category.eq(category.as_str()))
            .execute(conn)?;
        changed.push("category");
    }
    if let Some(cadre) = req.is_cadre {
        diesel::update(memberships::table.find(m.id))
            .set(memberships::is_cadre.eq(cadre))
            .execute(conn)?;
        changed.push("is_cadre");
    }
    if let Some(joined) = req.joined_party_on {
        check_dates(None, joined, today)?;
        diesel::update(memberships::table.find(m.id))
            .set(memberships::joined_party_on.eq(joined))
            .execute(conn)?;
        changed.push("joined_party_on");
    }
    if !changed.is_empty() {
        diesel::update(users_t::table.find(user_id))
            .set(users_t::updated_at.eq(now))
            .execute(conn)?;
        diesel::update(memberships::table.find(m.id))
            .set(memberships::updated_at.eq(now))
            .execute(conn)?;
    }
    if !changed.is_empty() {
        // The member table shows the name; the roll-ups carry the category and cadre flag.
        changes::record(conn, now, &[Change::Placed { user_id }])?;
    }
    Ok(Updated {
        changed,
        phone_change,
    })
}

/// Moves a member to `to`: the current membership ends the day before `date`, a new one
/// starts on `date` with the same category, cadre flag and status.
pub fn transfer(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    to: &Org,
    date: NaiveDate,
    reason: Option<&str>,
) -> ApiResult<MemberView> {
    check_home(to)?;
    let m = current(conn, user_id)?.ok_or_else(ApiError::not_found)?;
    if m.org_id == to.id {
        return member_view(conn, user_id);
    }
    if date < m.from_date {
        return Err(ApiError::invalid_field(
            "date",
            "out_of_range",
            Text::new(
                "转接日期早于当前组织关系的开始日期",
                "The transfer date is before the current membership began",
            ),
        ));
    }
    end_membership(
        conn,
        now,
        &m,
        date.pred_opt().unwrap_or(date),
        reason.unwrap_or("transfer"),
    )?;
    insert_membership(
        conn,
        now,
        user_id,
        to.id,
        Category::from_db(&m.category)?,
        m.is_cadre,
        m.joined_party_on,
        MemberStatus::from_db(&m.status)?,
        date,
    )?;
    member_view(conn, user_id)
}

fn end_membership(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    m: &Membership,
    last_day: NaiveDate,
    reason: &str,
) -> ApiResult<()> {
    diesel::update(memberships::table.find(m.id))
        .set((
            memberships::to_date.eq(last_day.max(m.from_date)),
            memberships::end_reason.eq(reason),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Changes a member's status. `left` ends the membership on `date` (history kept).
pub fn change_status(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    status: MemberStatus,
    date: NaiveDate,
    reason: Option<&str>,
) -> ApiResult<Option<MemberView>> {
    let m = current(conn, user_id)?.ok_or_else(ApiError::not_found)?;
    changes::record(conn, now, &[Change::Placed { user_id }])?;
    if status == MemberStatus::Left {
        diesel::update(memberships::table.find(m.id))
            .set(memberships::status.eq(status.as_str()))
            .execute(conn)?;
        end_membership(conn, now, &m, date, reason.unwrap_or("left"))?;
        return Ok(None);
    }
    diesel::update(memberships::table.find(m.id))
        .set((
            memberships::status.eq(status.as_str()),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)?;
    member_view(conn, user_id).map(Some)
}

/// The org of a member's current membership, for other features.
pub fn home_org(conn: &mut DbConnection, user_id: i64) -> ApiResult<Option<Org>> {
    match current(conn, user_id)? {
        Some(m) => super::tree::find(conn, m.org_id).map(Some),
        None => Ok(None),
    }
}
