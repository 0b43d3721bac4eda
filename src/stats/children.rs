//! The ranking of an org's direct children: the same figures per child, sorted.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::summary::{OrgStats, rate};
use crate::error::{ApiError, ErrorCode, FieldError, Text};

/// What children are ranked by: a share among their members (or of attendance), lowest
/// first; `-` in front ranks highest first. `name` keeps the tree order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    BehindRate,
    MetRate,
    ActiveRate,
    AttendanceRate,
    RequiredRate,
}

/// `GET /v1/orgs/{id}/stats/children`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChildrenStats {
    pub org_id: i64,
    /// `name`, `behind_rate`, `met_rate`, `active_rate`, `attendance_rate` or
    /// `required_rate`, with `-` in front for highest first.
    pub sort: String,
    pub items: Vec<OrgStats>,
}

/// Parses `sort` (default `-behind_rate`: the children with most members behind first).
pub fn parse_sort(s: Option<&str>) -> Result<(SortKey, bool), ApiError> {
    let s = s.unwrap_or("-behind_rate");
    let (desc, name) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let key = match name {
        "name" => SortKey::Name,
        "behind_rate" => SortKey::BehindRate,
        "met_rate" => SortKey::MetRate,
        "active_rate" => SortKey::ActiveRate,
        "attendance_rate" => SortKey::AttendanceRate,
        "required_rate" => SortKey::RequiredRate,
        _ => {
            return Err(ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
                "sort",
                "invalid_value",
                Text::new(
                    "排序应为 name、behind_rate、met_rate、active_rate、attendance_rate 或 required_rate（可加 - 前缀）",
                    "sort must be name, behind_rate, met_rate, active_rate, attendance_rate or required_rate (optionally with a - prefix)",
                ),
            )));
        }
    };
    Ok((key, desc))
}

/// The value a child is ranked by (`None` sorts last either way).
fn value(s: &OrgStats, key: SortKey) -> Option<f64> {
    let members = s.members.total;
    match key {
        SortKey::Name => None,
        SortKey::BehindRate => rate(s.credit.behind, members),
        SortKey::MetRate => rate(s.credit.met, members),
        SortKey::ActiveRate => rate(s.active, members),
        SortKey::RequiredRate => s.required_courses.rate,
        SortKey::AttendanceRate => s.attendance_rate,
    }
}

/// Sorts the children (stable: ties keep the tree order).
pub fn rank(items: &mut [OrgStats], key: SortKey, desc: bool) {
    if key == SortKey::Name {
        items.sort_by(|a, b| {
            let o = crate::collate::cmp_names(&a.org_name, &b.org_name);
            if desc { o.reverse() } else { o }
        });
        return;
    }
    items.sort_by(|a, b| match (value(a, key), value(b, key)) {
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
            if desc { o.reverse() } else { o }
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}
