//! WeChat mini-program login and phone binding (to be written).

/// Mounts the WeChat login routes.
pub fn routes(_cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {}
