//! The organization tree: create, rename, move a subtree (paths rewritten in one statement,
//! cycles rejected), children, subtree to a depth, ancestors.
//!
//! Paths are materialized (`/1/7/23/`) and compared byte-wise, so a subtree is the range
//! `[path, path-with-trailing-'/'-replaced-by-'0')`, answered from the unique path index.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text as SqlText};

use super::model::{Org, OrgKind, OrgTreeNode, OrgView, Sector, subtree_range};
use crate::changes::{self, Change};
use crate::db::DbConnection;
use crate::db::schema::orgs;
use crate::error::{ApiError, ApiResult, ErrorCode, Text};

pub fn find(conn: &mut DbConnection, id: i64) -> ApiResult<Org> {
    orgs::table
        .find(id)
        .select(Org::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// Checks an org name: 1–100 characters after trimming.
pub fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 100 {
        return Err(ApiError::invalid_field(
            "name",
            "invalid_length",
            Text::new(
                "名称应为 1 到 100 个字符",
                "The name must be 1 to 100 characters",
            ),
        ));
    }
    Ok(name.to_string())
}

fn name_taken(
    conn: &mut DbConnection,
    parent_id: Option<i64>,
    name: &str,
    except: Option<i64>,
) -> ApiResult<bool> {
    let mut q = orgs::table.filter(orgs::name.eq(name)).into_boxed();
    q = match parent_id {
        Some(p) => q.filter(orgs::parent_id.eq(p)),
        None => q.filter(orgs::parent_id.is_null()),
    };
    if let Some(id) = except {
        q = q.filter(orgs::id.ne(id));
    }
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

fn name_conflict() -> ApiError {
    ApiError::new(ErrorCode::Conflict).with_detail(
        "同一上级组织下已有同名组织",
        "Another organization under the same parent has this name",
    )
}

/// Creates an org under `parent` (or a root when `None`), checking the kind hierarchy.
pub fn create(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    parent: Option<&Org>,
    name: &str,
    kind: OrgKind,
    sector: Sector,
) -> ApiResult<Org> {
    let name = check_name(name)?;
    let parent_kind = parent.map(|p| OrgKind::from_db(&p.kind)).transpose()?;
    if !kind.may_sit_under(parent_kind) {
        return Err(ApiError::new(ErrorCode::OrgHierarchyInvalid).with_detail(
            format!(
                "{} 不能设在 {} 之下",
                kind.as_str(),
                parent_kind.map(|k| k.as_str()).unwrap_or("（根）")
            ),
            format!(
                "A {} cannot sit under {}",
                kind.as_str(),
                parent_kind.map(|k| k.as_str()).unwrap_or("the root")
            ),
        ));
    }
    let parent_id = parent.map(|p| p.id);
    if name_taken(conn, parent_id, &name, None)? {
        return Err(name_conflict());
    }
    // Insert with a placeholder path, then set the real one (it contains the new id).
    let placeholder = format!("#{}", uuid::Uuid::new_v4().simple());
    let id: i64 = diesel::insert_into(orgs::table)
        .values((
            orgs::parent_id.eq(parent_id),
            orgs::name.eq(&name),
            orgs::kind.eq(kind.as_str()),
            orgs::sector.eq(sector.as_str()),
            orgs::path.eq(&placeholder),
            orgs::depth.eq(parent.map(|p| p.depth + 1).unwrap_or(0)),
            orgs::created_at.eq(now),
            orgs::updated_at.eq(now),
        ))
        .returning(orgs::id)
        .get_result(conn)?;
    let path = format!("{}{id}/", parent.map(|p| p.path.as_str()).unwrap_or("/"));
    diesel::update(orgs::table.find(id))
        .set(orgs::path.eq(&path))
        .execute(conn)?;
    // The parent's children (and so the figures of every ancestor) now include it.
    changes::record(conn, now, &[Change::OrgChanged { org_id: id }])?;
    find(conn, id)
}

/// Renames an org and/or changes its sector.
pub fn update(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    org: &Org,
    name: Option<&str>,
    sector: Option<Sector>,
) -> ApiResult<Org> {
    if let Some(name) = name {
        let name = check_name(name)?;
        if name_taken(conn, org.parent_id, &name, Some(org.id))? {
            return Err(name_conflict());
        }
        diesel::update(orgs::table.find(org.id))
            .set((orgs::name.eq(&name), orgs::updated_at.eq(now)))
            .execute(conn)?;
    }
    if let Some(sector) = sector {
        diesel::update(orgs::table.find(org.id))
            .set((orgs::sector.eq(sector.as_str()), orgs::updated_at.eq(now)))
            .execute(conn)?;
    }
    if name.is_some() {
        // Rankings of child orgs show the name.
        changes::record(conn, now, &[Change::OrgChanged { org_id: org.id }])?;
    }
    find(conn, org.id)
}

/// Moves `org` and its whole subtree under `new_parent`. Rejects moving an org under itself
/// or a descendant (409 `org_cycle`) and kinds that may not sit there. All paths and depths
/// change in one statement.
pub fn move_subtree(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    org: &Org,
    new_parent: &Org,
) -> ApiResult<Org> {
    if new_parent.path.starts_with(&org.path) {
        return Err(ApiError::new(ErrorCode::OrgCycle));
    }
    if org.parent_id == Some(new_parent.id) {
        return Ok(org.clone());
    }
    let kind = OrgKind::from_db(&org.kind)?;
    if !kind.may_sit_under(Some(OrgKind::from_db(&new_parent.kind)?)) {
        return Err(ApiError::new(ErrorCode::OrgHierarchyInvalid));
    }
    if name_taken(conn, Some(new_parent.id), &org.name, Some(org.id))? {
        return Err(name_conflict());
    }
    let new_path = format!("{}{}/", new_parent.path, org.id);
    let delta = new_parent.depth + 1 - org.depth;
    let (lo, hi) = subtree_range(&org.path);
    diesel::sql_query(
        "UPDATE orgs SET path = $1 || substr(path, $2), depth = depth + $3, updated_at = $4 \
         WHERE path >= $5 AND path < $6",
    )
    .bind::<SqlText, _>(&new_path)
    .bind::<Integer, _>(org.path.len() as i32 + 1)
    .bind::<Integer, _>(delta)
    .bind::<diesel::sql_types::Timestamp, _>(now)
    .bind::<SqlText, _>(&lo)
    .bind::<SqlText, _>(&hi)
    .execute(conn)?;
    diesel::update(orgs::table.find(org.id))
        .set(orgs::parent_id.eq(new_parent.id))
        .execute(conn)?;
    let moved = find(conn, org.id)?;
    if let Some(from_parent) = org.parent_id {
        changes::record(
            conn,
            now,
            &[Change::OrgMoved {
                org_id: org.id,
                from_parent,
            }],
        )?;
    }
    Ok(moved)
}

/// Direct children, by name.
pub fn children(conn: &mut DbConnection, org_id: i64) -> ApiResult<Vec<Org>> {
    Ok(orgs::table
        .filter(orgs::parent_id.eq(org_id))
        .order((orgs::name.asc(), orgs::id.asc()))
        .select(Org::as_select())
        .load(conn)?)
}

/// Every org in the subtree of `org` (itself included) down to `max_depth` levels below it.
pub fn subtree(conn: &mut DbConnection, org: &Org, max_depth: i32) -> ApiResult<Vec<Org>> {
    let (lo, hi) = subtree_range(&org.path);
    Ok(orgs::table
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .filter(orgs::depth.le(org.depth + max_depth))
        .order(orgs::path.asc())
        .select(Org::as_select())
        .load(conn)?)
}

/// The orgs on the path to `org`, root first, `org` included.
pub fn ancestors(conn: &mut DbConnection, org: &Org) -> ApiResult<Vec<Org>> {
    let ids = org.path_ids();
    let mut rows: Vec<Org> = orgs::table
        .filter(orgs::id.eq_any(&ids))
        .select(Org::as_select())
        .load(conn)?;
    rows.sort_by_key(|o| o.depth);
    Ok(rows)
}

/// Builds the nested tree from a subtree listing (as returned by [`subtree`]).
pub fn nest(root_id: i64, rows: &[Org]) -> ApiResult<Option<OrgTreeNode>> {
    fn build(id: i64, rows: &[Org]) -> ApiResult<Option<OrgTreeNode>> {
        let Some(org) = rows.iter().find(|o| o.id == id) else {
            return Ok(None);
        };
        let mut children = Vec::new();
        for child in rows.iter().filter(|o| o.parent_id == Some(id)) {
            if let Some(node) = build(child.id, rows)? {
                children.push(node);
            }
        }
        children.sort_by(|a, b| crate::collate::cmp_names(&a.org.name, &b.org.name));
        Ok(Some(OrgTreeNode {
            org: OrgView::from_row(org)?,
            children,
        }))
    }
    build(root_id, rows)
}

/// Finds an org by name inside a subtree (for imports naming 所在支部).
#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Ids of orgs named `name` in the subtree of `root`.
pub fn find_by_name_in_subtree(
    conn: &mut DbConnection,
    root: &Org,
    name: &str,
) -> ApiResult<Vec<i64>> {
    let (lo, hi) = subtree_range(&root.path);
    let rows: Vec<IdRow> =
        diesel::sql_query("SELECT id FROM orgs WHERE path >= $1 AND path < $2 AND name = $3")
            .bind::<SqlText, _>(lo)
            .bind::<SqlText, _>(hi)
            .bind::<SqlText, _>(name)
            .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[cfg(test)]
mod tests {
    use super::super::model::{path_ids, subtree_range};

    #[test]
    fn subtree_range_excludes_siblings_with_longer_ids() {
        let (lo, hi) = subtree_range("/1/7/");
        assert_eq!((lo.as_str(), hi.as_str()), ("/1/7/", "/1/70"));
        for inside in ["/1/7/", "/1/7/23/", "/1/7/9/99/"] {
            assert!(inside >= lo.as_str() && inside < hi.as_str(), "{inside}");
        }
        for outside in ["/1/70/", "/1/71/", "/1/8/", "/1/", "/1/6/"] {
            assert!(
                !(outside >= lo.as_str() && outside < hi.as_str()),
                "{outside}"
            );
        }
        assert_eq!(path_ids("/1/7/23/"), vec![1, 7, 23]);
    }
}
