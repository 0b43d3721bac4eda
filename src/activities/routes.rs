//! Registers every activity route (the handlers live in the `*_routes` files by what they
//! serve).

use super::{
    checkin_routes, guest_routes, leave_routes, live_routes, me_routes, occurrence_routes,
    schedule_routes,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(schedule_routes::create_activity)
        .service(schedule_routes::list_org_activities)
        .service(schedule_routes::get_activity)
        .service(schedule_routes::update_activity)
        .service(schedule_routes::cancel_activity)
        .service(schedule_routes::list_activity_occurrences)
        .service(occurrence_routes::get_occurrence)
        .service(occurrence_routes::move_occurrence)
        .service(occurrence_routes::cancel_occurrence)
        .service(occurrence_routes::put_minutes)
        .service(guest_routes::add_guest)
        .service(guest_routes::remove_guest)
        .service(occurrence_routes::get_meeting_record)
        .service(checkin_routes::open_checkin)
        .service(checkin_routes::close_checkin)
        .service(checkin_routes::get_checkin_code)
        .service(checkin_routes::check_in)
        .service(checkin_routes::list_attendance)
        .service(checkin_routes::record_proxy_attendance)
        .service(checkin_routes::correct_attendance)
        .service(live_routes::get_live_board)
        .service(leave_routes::ask_leave)
        .service(leave_routes::list_leaves)
        .service(leave_routes::decide_leave)
        .service(me_routes::list_my_activities)
        .service(me_routes::create_calendar_token)
        .service(me_routes::revoke_calendar_token)
        .service(me_routes::get_my_calendar);
}
