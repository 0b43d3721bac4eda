//! Bulk statements on users and memberships (imports, and the statistics generator): multi-row
//! inserts and updates that report which rows they changed, written once for both backends
//! with [`crate::with_backend`].

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamp};

use crate::auth::model::USER_ACTIVE;
use crate::db::DbConnection;
use crate::db::schema::{memberships, users};

/// Rows per multi-row statement: a few hundred keeps every statement well under SQLite's
/// and PostgreSQL's bind-parameter limits (32,766 and 65,535) whatever the column count.
pub const BATCH_ROWS: usize = 500;

/// A user to insert in bulk.
#[derive(Debug, Clone, Copy)]
pub struct NewUserRow<'a> {
    pub phone: &'a str,
    pub name: &'a str,
    pub gender: Option<&'a str>,
    pub birth_date: Option<NaiveDate>,
}

/// Inserts active users without passwords in multi-row statements and returns
/// `(id, phone)` of those inserted. A phone that exists already (a concurrent insert) is
/// skipped (`ON CONFLICT DO NOTHING`), not an error, so the caller can tell which rows lost.
pub fn insert_users(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    rows: &[NewUserRow<'_>],
) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    users::phone.eq(r.phone),
                    users::name.eq(r.name),
                    users::name_key.eq(crate::collate::sort_key(r.name)),
                    users::gender.eq(r.gender),
                    users::birth_date.eq(r.birth_date),
                    users::status.eq(USER_ACTIVE),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                )
            })
            .collect();
        let inserted: Vec<(i64, String)> = crate::with_backend!(&mut *conn, |c| {
            diesel::insert_into(users::table)
                .values(values)
                .on_conflict_do_nothing()
                .returning((users::id, users::phone))
                .get_results(c)
        })?;
        out.extend(inserted);
    }
    Ok(out)
}

/// A membership to insert in bulk.
#[derive(Debug, Clone, Copy)]
pub struct NewMembershipRow<'a> {
    pub user_id: i64,
    pub org_id: i64,
    pub category: &'a str,
    pub is_cadre: bool,
    pub joined_party_on: Option<NaiveDate>,
    pub status: &'a str,
    pub from_date: NaiveDate,
}

/// Inserts current memberships in multi-row statements and returns the user ids whose
/// membership was inserted. A user who has a current membership already (a concurrent
/// change) is skipped by the unique index, not an error.
pub fn insert_memberships(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    rows: &[NewMembershipRow<'_>],
) -> QueryResult<Vec<i64>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    memberships::user_id.eq(r.user_id),
                    memberships::org_id.eq(r.org_id),
                    memberships::category.eq(r.category),
                    memberships::is_cadre.eq(r.is_cadre),
                    memberships::joined_party_on.eq(r.joined_party_on),
                    memberships::status.eq(r.status),
                    memberships::from_date.eq(r.from_date),
                    memberships::created_at.eq(now),
                    memberships::updated_at.eq(now),
                )
            })
            .collect();
        let inserted: Vec<i64> = crate::with_backend!(&mut *conn, |c| {
            diesel::insert_into(memberships::table)
                .values(values)
                .on_conflict_do_nothing()
                .returning(memberships::user_id)
                .get_results(c)
        })?;
        out.extend(inserted);
    }
    Ok(out)
}

/// `($n, $n+1, …), (…)` for `rows` rows of `cols` placeholders, numbered from `first`.
/// SQLite numbers `$N` parameters by first appearance, so statements must use them in
/// ascending order.
fn values_placeholders(rows: usize, cols: usize, first: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    let mut n = first;
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&n.to_string());
            n += 1;
        }
        s.push(')');
    }
    s
}

/// `sql_query(sql)` boxed for `C`'s backend, so a loop can bind any number of values.
fn boxed_sql<'f, C: Connection>(_conn: &C, sql: String) -> BoxedSqlQuery<'f, C::Backend, SqlQuery>
where
    C::Backend: diesel::backend::Backend,
{
    diesel::sql_query(sql).into_boxed()
}

/// New details of a user, for [`update_user_details`].
#[derive(Debug, Clone, Copy)]
pub struct UserDetailsRow<'a> {
    pub id: i64,
    pub name: &'a str,
    pub gender: Option<&'a str>,
    pub birth_date: Option<NaiveDate>,
}

/// Sets name, gender and birth date of many users, a few hundred per statement
/// (`UPDATE … FROM (VALUES …)`, which both backends support; the columns of a `VALUES`
/// list are `column1, column2, …` on both).
pub fn update_user_details(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    rows: &[UserDetailsRow<'_>],
) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(BATCH_ROWS) {
        let sql = format!(
            "UPDATE users SET name = v.column2, gender = v.column3, birth_date = v.column4, \
             updated_at = $1 FROM (VALUES {}) AS v WHERE users.id = v.column1",
            values_placeholders(chunk.len(), 4, 2)
        );
        n += crate::with_backend!(&mut *conn, |c| {
            let mut q = boxed_sql(c, sql).bind::<Timestamp, _>(now);
            for r in chunk {
                q = q
                    .bind::<BigInt, _>(r.id)
                    .bind::<Text, _>(r.name)
                    .bind::<Nullable<Text>, _>(r.gender)
                    .bind::<Nullable<Date>, _>(r.birth_date);
            }
            q.execute(c)
        })?;
    }
    Ok(n)
}

/// New details of a current membership, for [`update_membership_details`].
#[derive(Debug, Clone, Copy)]
pub struct MembershipDetailsRow<'a> {
    pub id: i64,
    pub category: &'a str,
    pub is_cadre: bool,
    pub joined_party_on: Option<NaiveDate>,
}

/// Sets category, cadre flag and party joining date of many memberships, a few hundred per
/// statement.
pub fn update_membership_details(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    rows: &[MembershipDetailsRow<'_>],
) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(BATCH_ROWS) {
        let sql = format!(
            "UPDATE memberships SET category = v.column2, is_cadre = v.column3, \
             joined_party_on = v.column4, updated_at = $1 FROM (VALUES {}) AS v \
             WHERE memberships.id = v.column1",
            values_placeholders(chunk.len(), 4, 2)
        );
        n += crate::with_backend!(&mut *conn, |c| {
            let mut q = boxed_sql(c, sql).bind::<Timestamp, _>(now);
            for r in chunk {
                q = q
                    .bind::<BigInt, _>(r.id)
                    .bind::<Text, _>(r.category)
                    .bind::<Bool, _>(r.is_cadre)
                    .bind::<Nullable<Date>, _>(r.joined_party_on);
            }
            q.execute(c)
        })?;
    }
    Ok(n)
}

/// Ends many current memberships: each `(id, last_day)` gets `to_date = last_day` and
/// `end_reason = reason`. Rows already ended (by a concurrent change) are left alone.
/// Returns the ids that ended.
pub fn end_memberships(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    reason: &str,
    rows: &[(i64, NaiveDate)],
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Ended {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH_ROWS) {
        let sql = format!(
            "UPDATE memberships SET to_date = v.column2, updated_at = $1, end_reason = $2 \
             FROM (VALUES {}) AS v WHERE memberships.id = v.column1 \
             AND memberships.to_date IS NULL RETURNING memberships.id",
            values_placeholders(chunk.len(), 2, 3)
        );
        let ended: Vec<Ended> = crate::with_backend!(&mut *conn, |c| {
            let mut q = boxed_sql(c, sql)
                .bind::<Timestamp, _>(now)
                .bind::<Text, _>(reason);
            for (id, last_day) in chunk {
                q = q.bind::<BigInt, _>(*id).bind::<Date, _>(*last_day);
            }
            q.load(c)
        })?;
        out.extend(ended.into_iter().map(|e| e.id));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::values_placeholders;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(values_placeholders(2, 2, 3), "($3, $4), ($5, $6)");
        assert_eq!(values_placeholders(1, 1, 1), "($1)");
    }
}
