//! Per-org settings, inherited down the tree: time zone, yearly quotas per category, and the
//! required frequency of each activity kind. An org stores only what it overrides; the
//! effective value is the nearest ancestor's, else the default, and every value says
//! where it comes from. Two settings say what compliance asks of a branch (`stats::compliance`):
//! the adoption date (nothing is required before it; default: the day the org was created
//! in dangke, in its zone) and the committee threshold (a branch with at least that many
//! full members has a branch committee and holds committee meetings; default 7, the branch
//! work rules).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::Org;
use crate::activities::kind::{ActivityKind, Frequency};
use crate::db::DbConnection;
use crate::db::schema::org_settings;
use crate::error::{ApiError, ApiResult, FieldError, Text};

pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// The quota categories.
pub const QUOTA_KEYS: [&str; 3] = ["member", "cadre", "activist"];

/// Default yearly quota in hundredths of a credit hour: members 32 h, cadres 56 h, activists 0.
pub fn default_quota_centi(category: &str) -> i64 {
    match category {
        "member" => 3200,
        "cadre" => 5600,
        _ => 0,
    }
}

/// Default committee threshold: a branch with 7 or more full members sets up a branch
/// committee (the branch work rules); below it the members' meeting does its work.
pub const DEFAULT_COMMITTEE_MIN_MEMBERS: i64 = 7;

/// Where an effective value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Set on this org.
    Own,
    /// Set on an ancestor (`from_org_id`).
    Inherited,
    /// Nobody set it.
    Default,
}

/// An effective setting.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Effective<T> {
    pub value: T,
    pub source: Source,
    /// The org that set it (`null` for defaults).
    pub from_org_id: Option<i64>,
}

/// `GET /v1/orgs/{id}/settings`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgSettingsView {
    pub org_id: i64,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub time_zone: Effective<String>,
    /// Yearly quotas in hundredths of a credit hour, per category (`member`, `cadre`, `activist`).
    pub quotas: HashMap<String, Effective<i64>>,
    /// Required frequency per activity kind.
    pub frequencies: HashMap<String, Effective<Frequency>>,
    /// The day the org started using dangke: compliance asks for nothing in a slot that
    /// ends before it. Default (`source: default`): the day the org was created in dangke,
    /// in its zone.
    pub adoption_date: Effective<NaiveDate>,
    /// A branch with at least this many full members has a committee and is asked for
    /// branch committee meetings (default 7, the branch work rules).
    pub committee_min_members: Effective<i64>,
}

/// `PATCH /v1/orgs/{id}/settings`: present keys set an override, `null` removes it (the
/// value is inherited again), absent keys stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSettingsRequest {
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub time_zone: Option<Option<String>>,
    /// Per category, hundredths of a credit hour (0–100000) or `null`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub quotas: HashMap<String, Option<i64>>,
    /// Per activity kind, a frequency or `null`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub frequencies: HashMap<String, Option<Frequency>>,
    /// `YYYY-MM-DD`, or `null` (inherited again, else the creation date).
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub adoption_date: Option<Option<NaiveDate>>,
    /// 1–1000 full members, or `null`.
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub committee_min_members: Option<Option<i64>>,
}

pub fn key_time_zone() -> String {
    "time_zone".into()
}
pub fn key_quota(cat: &str) -> String {
    format!("quota.{cat}")
}
pub fn key_frequency(kind: ActivityKind) -> String {
    format!("frequency.{}", kind.as_str())
}
pub fn key_adoption_date() -> String {
    "adoption_date".into()
}
pub fn key_committee_min_members() -> String {
    "committee_min_members".into()
}

/// The day `org` was created in dangke, in `tz`: the default adoption date.
pub fn created_on(org: &Org, tz: chrono_tz::Tz) -> NaiveDate {
    org.created_at.and_utc().with_timezone(&tz).date_naive()
}

/// The stored overrides of `org` and its ancestors: key -> (depth-ordered) [(org_id, value)].
fn overrides(conn: &mut DbConnection, org: &Org) -> ApiResult<HashMap<String, Vec<(i64, String)>>> {
    let ids = org.path_ids();
    let rows: Vec<(i64, String, String)> = org_settings::table
        .filter(org_settings::org_id.eq_any(&ids))
        .select((org_settings::org_id, org_settings::key, org_settings::value))
        .load(conn)?;
    let depth_of = |id: i64| ids.iter().position(|x| *x == id).unwrap_or(0);
    let mut map: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for (org_id, key, value) in rows {
        map.entry(key).or_default().push((org_id, value));
    }
    for v in map.values_mut() {
        v.sort_by_key(|(id, _)| std::cmp::Reverse(depth_of(*id)));
    }
    Ok(map)
}

fn resolve<T>(
    org: &Org,
    map: &HashMap<String, Vec<(i64, String)>>,
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
    default: T,
) -> Effective<T> {
    if let Some(list) = map.get(key) {
        for (org_id, raw) in list {
            if let Some(value) = parse(raw) {
                let source = if *org_id == org.id {
                    Source::Own
                } else {
                    Source::Inherited
                };
                return Effective {
                    value,
                    source,
                    from_org_id: Some(*org_id),
                };
            }
        }
    }
    Effective {
        value: default,
        source: Source::Default,
        from_org_id: None,
    }
}

/// The effective settings of an org.
pub fn effective(conn: &mut DbConnection, org: &Org) -> ApiResult<OrgSettingsView> {
    let map = overrides(conn, org)?;
    let time_zone = resolve(
        org,
        &map,
        &key_time_zone(),
        |s| s.parse::<chrono_tz::Tz>().ok().map(|_| s.to_string()),
        DEFAULT_TIME_ZONE.to_string(),
    );
    let quotas = QUOTA_KEYS
        .iter()
        .map(|cat| {
            let e = resolve(
                org,
                &map,
                &key_quota(cat),
                |s| s.parse().ok(),
                default_quota_centi(cat),
            );
            (cat.to_string(), e)
        })
        .collect();
    let frequencies = ActivityKind::ALL
        .iter()
        .map(|k| {
            let e = resolve(
                org,
                &map,
                &key_frequency(*k),
                Frequency::parse,
                k.default_frequency(),
            );
            (k.as_str().to_string(), e)
        })
        .collect();
    let tz: chrono_tz::Tz = time_zone.value.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let adoption_date = resolve(
        org,
        &map,
        &key_adoption_date(),
        |s| s.parse().ok(),
        created_on(org, tz),
    );
    let committee_min_members = resolve(
        org,
        &map,
        &key_committee_min_members(),
        |s| s.parse().ok(),
        DEFAULT_COMMITTEE_MIN_MEMBERS,
    );
    Ok(OrgSettingsView {
        org_id: org.id,
        time_zone,
        quotas,
        frequencies,
        adoption_date,
        committee_min_members,
    })
}

/// The effective time zone of an org.
pub fn time_zone(conn: &mut DbConnection, org: &Org) -> ApiResult<chrono_tz::Tz> {
    let map = overrides(conn, org)?;
    let tz = resolve(
        org,
        &map,
        &key_time_zone(),
        |s| s.parse::<chrono_tz::Tz>().ok(),
        chrono_tz::Asia::Shanghai,
    );
    Ok(tz.value)
}

/// Validates a patch into (key, Some(value) to set | None to remove) pairs.
fn validate(req: &PatchSettingsRequest) -> ApiResult<Vec<(String, Option<String>)>> {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    if let Some(tz) = &req.time_zone {
        match tz {
            Some(s) if s.parse::<chrono_tz::Tz>().is_err() => errors.push(FieldError::new(
                "time_zone",
                "invalid_value",
                Text::new(
                    "不是有效的 IANA 时区（如 Asia/Shanghai）",
                    "Not an IANA time zone such as Asia/Shanghai",
                ),
            )),
            other => changes.push((key_time_zone(), other.clone())),
        }
    }
    for (cat, value) in &req.quotas {
        if !QUOTA_KEYS.contains(&cat.as_str()) {
            errors.push(FieldError::new(
                format!("quotas.{cat}"),
                "unknown_field",
                Text::new(
                    "未知的类别（member、cadre、activist）",
                    "Unknown category (member, cadre, activist)",
                ),
            ));
            continue;
        }
        match value {
            Some(v) if !(0..=100_000).contains(v) => errors.push(FieldError::new(
                format!("quotas.{cat}"),
                "out_of_range",
                Text::new(
                    "学时应在 0 到 1000 小时之间",
                    "The quota must be between 0 and 1000 hours",
                ),
            )),
            other => changes.push((key_quota(cat), other.map(|v| v.to_string()))),
        }
    }
    for (kind, value) in &req.frequencies {
        match ActivityKind::parse(kind) {
            Some(k) => changes.push((key_frequency(k), value.map(|f| f.as_str().to_string()))),
            None => errors.push(FieldError::new(
                format!("frequencies.{kind}"),
                "unknown_field",
                Text::new("未知的活动类型", "Unknown activity kind"),
            )),
        }
    }
    if let Some(date) = req.adoption_date {
        changes.push((key_adoption_date(), date.map(|d| d.to_string())));
    }
    if let Some(min) = req.committee_min_members {
        match min {
            Some(v) if !(1..=1000).contains(&v) => errors.push(FieldError::new(
                "committee_min_members",
                "out_of_range",
                Text::new(
                    "设立支委会的正式党员人数应在 1 到 1000 之间",
                    "The committee threshold must be 1-1000 full members",
                ),
            )),
            other => changes.push((key_committee_min_members(), other.map(|v| v.to_string()))),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::new(crate::error::ErrorCode::ValidationFailed).with_fields(errors));
    }
    Ok(changes)
}

/// Applies a patch; returns the changed keys (for the audit log).
pub fn patch(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    org: &Org,
    by: i64,
    req: &PatchSettingsRequest,
) -> ApiResult<Vec<(String, Option<String>)>> {
    let changes = validate(req)?;
    for (key, value) in &changes {
        diesel::delete(
            org_settings::table
                .filter(org_settings::org_id.eq(org.id))
                .filter(org_settings::key.eq(key)),
        )
        .execute(conn)?;
        if let Some(value) = value {
            diesel::insert_into(org_settings::table)
                .values((
                    org_settings::org_id.eq(org.id),
                    org_settings::key.eq(key),
                    org_settings::value.eq(value),
                    org_settings::updated_at.eq(now),
                    org_settings::updated_by.eq(by),
                ))
                .execute(conn)?;
        }
    }
    if !changes.is_empty() {
        crate::changes::record(
            conn,
            now,
            &[crate::changes::Change::SettingsChanged {
                org_id: org.id,
                zone: req.time_zone.is_some(),
            }],
        )?;
    }
    Ok(changes)
}

/// Today's date in the org's time zone.
pub fn today(
    conn: &mut DbConnection,
    org: &Org,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<chrono::NaiveDate> {
    let tz = time_zone(conn, org)?;
    Ok(now.with_timezone(&tz).date_naive())
}
