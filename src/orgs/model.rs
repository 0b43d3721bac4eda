//! Rows and API types of organizations, memberships and roles, and their text enums.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{memberships, org_roles, orgs};
use crate::http::text::{Name, Title};
use crate::text_enum;

text_enum! {
    /// The kind of an organization, from the county committee down to a party group.
    pub enum OrgKind {
        CountyCommittee = "county_committee",
        TownshipCommittee = "township_committee",
        GeneralBranch = "general_branch",
        Branch = "branch",
        PartyGroup = "party_group",
    }
}

impl OrgKind {
    /// Whether an org of this kind may sit under `parent` (`None`: a root).
    pub fn may_sit_under(self, parent: Option<OrgKind>) -> bool {
        use OrgKind::*;
        matches!(
            (self, parent),
            (CountyCommittee | TownshipCommittee, None)
                | (TownshipCommittee, Some(CountyCommittee))
                | (GeneralBranch, Some(CountyCommittee | TownshipCommittee))
                | (
                    Branch,
                    Some(CountyCommittee | TownshipCommittee | GeneralBranch)
                )
                | (PartyGroup, Some(Branch | GeneralBranch))
        )
    }

    /// Whether members can have this org as their home org.
    pub fn can_hold_members(self) -> bool {
        matches!(self, OrgKind::Branch | OrgKind::PartyGroup)
    }
}

text_enum! {
    /// Where a branch sits: village organizations lead those in cooperatives, enterprises,
    /// family farms and associations.
    pub enum Sector {
        Village = "village",
        Cooperative = "cooperative",
        Enterprise = "enterprise",
        FamilyFarm = "family_farm",
        Association = "association",
        Other = "other",
    }
}

text_enum! {
    /// A role over an org's subtree.
    pub enum Role {
        Secretary = "secretary",
        DeputySecretary = "deputy_secretary",
        CommitteeMember = "committee_member",
        Organizer = "organizer",
        Admin = "admin",
    }
}

text_enum! {
    /// Member category.
    pub enum Category {
        Full = "full",
        Probationary = "probationary",
        Activist = "activist",
    }
}

text_enum! {
    /// Membership status. `left` ends the membership.
    pub enum MemberStatus {
        Active = "active",
        /// Working away from home (流动党员); still a member of the home org.
        Migrant = "migrant",
        Suspended = "suspended",
        Left = "left",
    }
}

/// An organization.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = orgs)]
pub struct Org {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub kind: String,
    pub sector: String,
    pub path: String,
    pub depth: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Org {
    /// The ids on the path from the root to this org, root first.
    pub fn path_ids(&self) -> Vec<i64> {
        path_ids(&self.path)
    }

    /// Whether `other` is this org or inside its subtree.
    pub fn contains(&self, other_path: &str) -> bool {
        other_path.starts_with(&self.path)
    }
}

/// Ids in a materialized path, root first.
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

/// The half-open range `[lo, hi)` of paths in the subtree of `path` (`/1/7/` -> `/1/70`).
pub fn subtree_range(path: &str) -> (String, String) {
    let hi = format!("{}0", path.trim_end_matches('/'));
    (path.to_string(), hi)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub id: i64,
    pub user_id: i64,
    pub org_id: i64,
    pub category: String,
    pub is_cadre: bool,
    pub joined_party_on: Option<NaiveDate>,
    pub status: String,
    pub from_date: NaiveDate,
    pub to_date: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = org_roles)]
pub struct OrgRole {
    pub id: i64,
    pub user_id: i64,
    pub org_id: i64,
    pub role: String,
    pub granted_at: NaiveDateTime,
    pub granted_by: Option<i64>,
}

/// An organization as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgView {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub kind: OrgKind,
    pub sector: Sector,
    /// Materialized path of ids, `/1/7/23/`.
    pub path: String,
    pub depth: i32,
    pub created_at: DateTime<Utc>,
}

impl OrgView {
    pub fn from_row(o: &Org) -> Result<OrgView, crate::error::ApiError> {
        Ok(OrgView {
            id: o.id,
            parent_id: o.parent_id,
            name: o.name.clone(),
            kind: OrgKind::from_db(&o.kind)?,
            sector: Sector::from_db(&o.sector)?,
            path: o.path.clone(),
            depth: o.depth,
            created_at: o.created_at.and_utc(),
        })
    }
}

/// An org with its descendants to some depth.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgTreeNode {
    #[serde(flatten)]
    pub org: OrgView,
    #[schema(no_recursion)]
    pub children: Vec<OrgTreeNode>,
}

/// `POST /v1/orgs`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    pub parent_id: i64,
    pub name: Name,
    pub kind: OrgKind,
    #[serde(default)]
    pub sector: Option<Sector>,
}

/// `PATCH /v1/orgs/{id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgRequest {
    #[serde(default)]
    pub name: Option<Name>,
    #[serde(default)]
    pub sector: Option<Sector>,
}

/// `POST /v1/orgs/{id}/move`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveOrgRequest {
    pub new_parent_id: i64,
}

/// A member as organizers see them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub user_id: i64,
    pub membership_id: i64,
    pub name: String,
    pub phone: String,
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub org_id: i64,
    pub org_name: String,
    pub category: Category,
    pub is_cadre: bool,
    pub joined_party_on: Option<NaiveDate>,
    pub status: MemberStatus,
    /// Member of this org since.
    pub from_date: NaiveDate,
    pub wechat_bound: bool,
}

/// One row of a member's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipHistoryItem {
    pub membership_id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub category: Category,
    pub status: MemberStatus,
    pub from_date: NaiveDate,
    pub to_date: Option<NaiveDate>,
    pub end_reason: Option<String>,
}

/// A role someone holds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    pub user_id: i64,
    pub user_name: String,
    pub org_id: i64,
    pub org_name: String,
    pub role: Role,
    pub granted_at: DateTime<Utc>,
}

/// A member with history and roles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberDetail {
    #[serde(flatten)]
    pub member: MemberView,
    pub history: Vec<MembershipHistoryItem>,
    pub roles: Vec<RoleView>,
}

/// `POST /v1/orgs/{id}/members`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    pub phone: String,
    pub name: Name,
    pub category: Category,
    #[serde(default)]
    pub is_cadre: bool,
    #[serde(default)]
    pub joined_party_on: Option<NaiveDate>,
    /// `male` or `female`.
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// First day in this org; today (in the org's zone) when absent.
    #[serde(default)]
    pub from_date: Option<NaiveDate>,
}

text_enum! {
    /// Gender as recorded in the member list.
    pub enum Gender {
        Male = "male",
        Female = "female",
    }
}

/// `PATCH /v1/members/{user_id}`: only the fields present change. `null` clears an
/// optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    #[serde(default)]
    pub name: Option<Name>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub is_cadre: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub joined_party_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub birth_date: Option<Option<NaiveDate>>,
}

/// `POST /v1/members/{user_id}/transfer`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub to_org_id: i64,
    /// The first day in the new org; today (in the org's zone) when absent.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub reason: Option<Title>,
}

/// `PUT /v1/members/{user_id}/status`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStatusRequest {
    pub status: MemberStatus,
    #[serde(default)]
    pub reason: Option<Title>,
    /// For `left`: the last day; today when absent.
    #[serde(default)]
    pub date: Option<NaiveDate>,
}

/// `POST /v1/orgs/{id}/roles`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRoleRequest {
    pub user_id: i64,
    pub role: Role,
}
