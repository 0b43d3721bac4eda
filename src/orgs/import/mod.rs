//! Bulk import of the member list a branch secretary exports from Excel (to be written).

/// Mounts the import route.
pub fn routes(_cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {}
