//! WeChat mini-program login with phone binding.
//!
//! `POST /v1/auth/wechat` turns the phone's `wx.login()` code into an openid
//! (`jscode2session`): a bound openid logs in, an unknown one gets a short-lived,
//! single-use bind token. `POST /v1/auth/wechat/bind` turns the phone-number code into the
//! number WeChat vouches for (`getuserphonenumber`, with the app's cached access token) and
//! gives the openid to the member a branch secretary imported with that number.
//!
//! Files: [`client`] talks to WeChat (timeouts, retries on "busy"), [`errors`] maps its
//! answers to API errors, [`token`] keeps the shared access token, [`bind_token`] the
//! pending binds, [`binding`] the database side, [`login`] the flow, [`unbind`] taking a
//! binding off (by the member, or reset by her secretary), [`routes`] the HTTP.
//! Member import and roles are not here: binding only finds what they created.

pub mod bind_code;
pub mod bind_token;
pub mod binding;
pub mod client;
pub mod errors;
pub mod login;
pub mod model;
pub mod routes;
pub mod token;
pub mod unbind;

/// Mounts the WeChat login routes.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::login_with_wechat)
        .service(routes::bind_wechat)
        .service(routes::unbind_my_wechat);
}
