//! Backend-specific statements behind small functions. Each is written once with
//! [`crate::with_backend`] and compiled for both backends.

use super::{Backend, DbConnection};

/// Which backend a connection is on.
pub fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Pg(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}
