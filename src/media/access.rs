//! Who may upload media and read its metadata: anyone holding a role somewhere (a right to
//! operate in some subtree). Media is not owned by an org — the same content is stored once
//! whoever uploads it — so there is no subtree to check beyond that; members reach media
//! only through signed URLs in the lessons they may study.

use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult};
use crate::orgs::access::{Right, Scope};

/// 403 unless `user_id` may operate somewhere.
pub fn require_operator(conn: &mut DbConnection, user_id: i64) -> ApiResult<()> {
    let scope = Scope::load(conn, user_id)?;
    if scope.roots(Right::Operate).is_empty() {
        return Err(ApiError::forbidden().with_detail(
            "只有组织的书记、委员、组织员或管理员可以上传和管理媒体文件",
            "Only secretaries, committee members, organizers and administrators manage media",
        ));
    }
    Ok(())
}
