//! Accounts and sessions: users, password login, access and refresh tokens, the `Caller`
//! extractor, rate limits on login. Organizations, roles and WeChat login build on this.

pub mod account;
pub mod account_events;
pub mod admin;
pub mod caller;
pub mod identity_cache;
pub mod login;
pub mod login_code;
pub mod model;
pub mod one_time;
pub mod password;
pub mod password_reset;
pub mod phone;
pub mod routes;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod wechat;

pub use caller::Caller;
