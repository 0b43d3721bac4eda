//! Creating and finding users.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{NewUser, USER_ACTIVE, User};
use super::phone::Phone;
use crate::db::DbConnection;
use crate::db::schema::users;
use crate::error::{ApiError, ApiResult, ErrorCode};

pub fn find_by_phone(conn: &mut DbConnection, phone: &Phone) -> ApiResult<Option<User>> {
    Ok(users::table
        .filter(users::phone.eq(phone.as_str()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The phone numbers of `ids` (those that exist), read in chunks of 1,000.
pub fn phones(
    conn: &mut DbConnection,
    ids: &[i64],
) -> ApiResult<std::collections::HashMap<i64, String>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<(i64, String)> = users::table
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::phone))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

pub fn find(conn: &mut DbConnection, id: i64) -> ApiResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// Creates an active user; `phone_taken` if the phone is in use. `password_hash` is an
/// already computed argon2 hash (hash outside the transaction: it is slow).
pub fn create(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    phone: &Phone,
    name: &str,
    password_hash: Option<&str>,
) -> ApiResult<User> {
    if find_by_phone(conn, phone)?.is_some() {
        return Err(ApiError::new(ErrorCode::PhoneTaken));
    }
    let id: i64 = diesel::insert_into(users::table)
        .values(NewUser {
            phone: phone.as_str(),
            name,
            name_key: &crate::collate::sort_key(name),
            password_hash,
            wechat_openid: None,
            wechat_unionid: None,
            status: USER_ACTIVE,
            created_at: now,
            updated_at: now,
        })
        .returning(users::id)
        .get_result(conn)?;
    find(conn, id)
}

/// Fills the name sort key ([`crate::collate::sort_key`]) of users that have none — those
/// created before the key existed — in batches; returns how many. Run at start, after the
/// migrations; every write of a name writes its key from then on.
pub fn fill_name_keys(conn: &mut DbConnection) -> QueryResult<usize> {
    let mut filled = 0;
    loop {
        let batch: Vec<(i64, String)> = users::table
            .filter(users::name_key.eq(""))
            .filter(users::name.ne(""))
            .order(users::id.asc())
            .select((users::id, users::name))
            .limit(1000)
            .load(conn)?;
        if batch.is_empty() {
            return Ok(filled);
        }
        conn.transaction(|c| {
            for (id, name) in &batch {
                diesel::update(users::table.find(id))
                    .set(users::name_key.eq(crate::collate::sort_key(name)))
                    .execute(c)?;
            }
            QueryResult::Ok(())
        })?;
        filled += batch.len();
    }
}

/// Checks a display name: 1–64 characters after trimming.
pub fn check_name(name: &str, field: &str) -> ApiResult<String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 64 {
        return Err(ApiError::invalid_field(
            field,
            "invalid_length",
            crate::error::Text::new(
                "姓名应为 1 到 64 个字符",
                "The name must be 1 to 64 characters",
            ),
        ));
    }
    Ok(name.to_string())
}
