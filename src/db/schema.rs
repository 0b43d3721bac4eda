// @generated in the shape of `diesel print-schema` from the PostgreSQL migrations.
// A test checks that both backends' databases have exactly these tables and columns.

diesel::table! {
    activities (id) {
        id -> BigInt,
        org_id -> BigInt,
        kind -> Text,
        title -> Text,
        details -> Text,
        course_id -> Nullable<BigInt>,
        time_zone -> Text,
        dtstart_local -> Timestamp,
        duration_min -> Integer,
        rrule -> Nullable<Text>,
        credit_centi -> Integer,
        makeup_window_days -> Integer,
        materialized_until -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    activity_attendance (occurrence_id, user_id) {
        occurrence_id -> BigInt,
        user_id -> BigInt,
        status -> Text,
        source -> Text,
        checked_in_at -> Nullable<Timestamp>,
        distance_m -> Nullable<Integer>,
        reason -> Nullable<Text>,
        recorded_by -> Nullable<BigInt>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    activity_invitees (occurrence_id, user_id) {
        occurrence_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    activity_guests (id) {
        id -> BigInt,
        occurrence_id -> BigInt,
        name -> Text,
        org_id -> Nullable<BigInt>,
        org_name -> Nullable<Text>,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    activity_leaves (id) {
        id -> BigInt,
        occurrence_id -> BigInt,
        user_id -> BigInt,
        reason -> Text,
        status -> Text,
        requested_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    activity_minutes (occurrence_id) {
        occurrence_id -> BigInt,
        text -> Text,
        photo_media_ids -> Text,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    activity_occurrences (id) {
        id -> BigInt,
        activity_id -> BigInt,
        org_id -> BigInt,
        original_start -> Timestamp,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        is_exception -> Bool,
        place -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        sequence -> Integer,
        checkin_state -> Text,
        checkin_secret -> Text,
        invitees_frozen_at -> Nullable<Timestamp>,
        held_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    app_meta (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    push_channels (id) {
        id -> BigInt,
        org_id -> BigInt,
        kind -> Text,
        name -> Text,
        url -> Nullable<Text>,
        secret_sealed -> Text,
        secret_hint -> Text,
        alerts -> Bool,
        broken_reason -> Nullable<Text>,
        broken_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    push_schedules (id) {
        id -> BigInt,
        channel_id -> BigInt,
        frequency -> Text,
        weekday -> Nullable<Integer>,
        month_day -> Nullable<Integer>,
        local_time -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    push_deliveries (id) {
        id -> BigInt,
        channel_id -> Nullable<BigInt>,
        org_id -> BigInt,
        purpose -> Text,
        dedup_key -> Text,
        message_id -> Text,
        parts -> Text,
        parts_done -> Integer,
        status -> Text,
        attempts -> Integer,
        next_at -> Timestamp,
        expires_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    push_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        channel_id -> Nullable<BigInt>,
        part -> Integer,
        at -> Timestamp,
        outcome -> Text,
        http_status -> Nullable<Integer>,
        errcode -> Nullable<BigInt>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    push_grants (user_id, template_id) {
        user_id -> BigInt,
        template_id -> Text,
        remaining -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    changes (id) {
        id -> BigInt,
        consumer -> Text,
        kind -> Text,
        subject -> BigInt,
        object -> Nullable<BigInt>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        org_id -> Nullable<BigInt>,
        ip -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    calendar_tokens (user_id) {
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    course_assignments (id) {
        id -> BigInt,
        course_id -> BigInt,
        org_id -> BigInt,
        required -> Bool,
        due_date -> Nullable<Date>,
        assigned_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    course_completions (user_id, course_id) {
        user_id -> BigInt,
        course_id -> BigInt,
        completed_at -> Timestamp,
    }
}

diesel::table! {
    courses (id) {
        id -> BigInt,
        owner_org_id -> BigInt,
        kind -> Text,
        title -> Text,
        summary -> Text,
        cover_media_id -> Nullable<BigInt>,
        cover_url -> Nullable<Text>,
        credit_centi -> Integer,
        tags -> Text,
        status -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    credit_ledger (id) {
        id -> BigInt,
        user_id -> BigInt,
        year -> Integer,
        month -> Integer,
        source_kind -> Text,
        source_id -> BigInt,
        credit_centi -> Integer,
        org_id -> Nullable<BigInt>,
        earned_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (user_id, method, route, key) {
        user_id -> BigInt,
        method -> Text,
        route -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        status -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    lesson_progress (user_id, lesson_id) {
        user_id -> BigInt,
        lesson_id -> BigInt,
        covered -> Text,
        covered_s -> Integer,
        read_s -> Integer,
        resume_s -> Integer,
        last_event_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lessons (id) {
        id -> BigInt,
        course_id -> BigInt,
        position -> Integer,
        kind -> Text,
        title -> Text,
        media_id -> Nullable<BigInt>,
        external_url -> Nullable<Text>,
        duration_s -> Nullable<Integer>,
        body -> Nullable<Text>,
        min_coverage_permille -> Integer,
        min_reading_s -> Nullable<Integer>,
        credit_centi -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    media (id) {
        id -> BigInt,
        sha256 -> Text,
        kind -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        storage_key -> Text,
        duration_s -> Nullable<Integer>,
        duration_source -> Nullable<Text>,
        file_name -> Nullable<Text>,
        uploaded_by -> BigInt,
        created_at -> Timestamp,
        unreferenced_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    media_owners (media_id, org_id) {
        media_id -> BigInt,
        org_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    memberships (id) {
        id -> BigInt,
        user_id -> BigInt,
        org_id -> BigInt,
        category -> Text,
        is_cadre -> Bool,
        joined_party_on -> Nullable<Date>,
        status -> Text,
        from_date -> Date,
        to_date -> Nullable<Date>,
        end_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    org_roles (id) {
        id -> BigInt,
        user_id -> BigInt,
        org_id -> BigInt,
        role -> Text,
        granted_at -> Timestamp,
        granted_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    org_settings (org_id, key) {
        org_id -> BigInt,
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    orgs (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        name -> Text,
        kind -> Text,
        sector -> Text,
        path -> Text,
        depth -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    quiz_attempt_grants (id) {
        id -> BigInt,
        lesson_id -> BigInt,
        user_id -> BigInt,
        attempts -> Integer,
        reason -> Text,
        granted_by -> BigInt,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    quiz_attempts (id) {
        id -> BigInt,
        lesson_id -> BigInt,
        user_id -> BigInt,
        attempt_no -> Integer,
        answers -> Text,
        score_pct -> Integer,
        passed -> Bool,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    quiz_options (id) {
        id -> BigInt,
        question_id -> BigInt,
        position -> Integer,
        text -> Text,
        is_correct -> Bool,
    }
}

diesel::table! {
    quiz_questions (id) {
        id -> BigInt,
        lesson_id -> BigInt,
        position -> Integer,
        kind -> Text,
        text -> Text,
        points -> Integer,
    }
}

diesel::table! {
    quizzes (lesson_id) {
        lesson_id -> BigInt,
        pass_mark_pct -> Integer,
        max_attempts -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reveal_answers -> Text,
    }
}

diesel::table! {
    refresh_families (id) {
        id -> Text,
        user_id -> BigInt,
        method -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        family_id -> Text,
        token_hash -> Text,
        access_jti -> Text,
        access_iat -> BigInt,
        access_exp -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    stats_digests (org_id, part, year) {
        org_id -> BigInt,
        part -> Integer,
        year -> Integer,
        org_path -> Text,
        data -> Binary,
    }
}

diesel::table! {
    stats_versions (org_id) {
        org_id -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    stats_org_totals (org_id) {
        org_id -> BigInt,
        org_path -> Text,
        zone -> Text,
        data -> Binary,
    }
}

diesel::table! {
    stats_member_months (user_id, year, month) {
        user_id -> BigInt,
        year -> Integer,
        month -> Integer,
        credit_centi -> BigInt,
        lessons_completed -> Integer,
        present -> Integer,
        late -> Integer,
        proxy -> Integer,
        made_up -> Integer,
        absent -> Integer,
        leave -> Integer,
        org_life -> Integer,
        active_days -> Integer,
    }
}

diesel::table! {
    stats_member_years (user_id, year) {
        user_id -> BigInt,
        year -> Integer,
        org_id -> Nullable<BigInt>,
        org_path -> Nullable<Text>,
        category -> Text,
        is_cadre -> Bool,
        credit_centi -> BigInt,
        active_months -> Integer,
        days_01_02 -> BigInt,
        days_03_04 -> BigInt,
        days_05_06 -> BigInt,
        days_07_08 -> BigInt,
        days_09_10 -> BigInt,
        days_11_12 -> BigInt,
    }
}

diesel::table! {
    stats_members (user_id) {
        user_id -> BigInt,
        required_done -> Integer,
        last_active_at -> Nullable<Timestamp>,
        last_org_life_at -> Nullable<Timestamp>,
        org_id -> Nullable<BigInt>,
        org_path -> Nullable<Text>,
        category -> Text,
        is_cadre -> Bool,
        latest_year -> Nullable<Integer>,
        latest_credit_centi -> BigInt,
    }
}

diesel::table! {
    stats_occurrences (occurrence_id) {
        occurrence_id -> BigInt,
        org_id -> BigInt,
        kind -> Text,
        starts_at -> Timestamp,
        held -> Bool,
        invited -> Integer,
        present -> Integer,
        late -> Integer,
        proxy -> Integer,
        made_up -> Integer,
        absent -> Integer,
        leave -> Integer,
        org_path -> Nullable<Text>,
    }
}

diesel::table! {
    study_events (id) {
        id -> BigInt,
        user_id -> BigInt,
        client_event_id -> Text,
        lesson_id -> BigInt,
        kind -> Text,
        from_s -> Integer,
        to_s -> Integer,
        started_at -> Timestamp,
        ended_at -> Timestamp,
        content_hash -> Text,
        outcome -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    login_codes (user_id) {
        user_id -> BigInt,
        code_sha256 -> Text,
        expires_at -> Timestamp,
        issued_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    wechat_bind_codes (user_id) {
        user_id -> BigInt,
        code_sha256 -> Text,
        expires_at -> Timestamp,
        issued_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    wechat_access_tokens (appid) {
        appid -> Text,
        token -> Nullable<Text>,
        refresh_at_ms -> BigInt,
        expires_at_ms -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until_ms -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    wechat_bind_tokens (token_sha256) {
        token_sha256 -> Text,
        openid -> Text,
        unionid -> Nullable<Text>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    occurrence_live_heads (occurrence_id) {
        occurrence_id -> BigInt,
        seq -> BigInt,
    }
}

diesel::table! {
    occurrence_live_events (occurrence_id, seq) {
        occurrence_id -> BigInt,
        seq -> BigInt,
        user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        phone -> Text,
        name -> Text,
        password_hash -> Nullable<Text>,
        wechat_openid -> Nullable<Text>,
        wechat_unionid -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        gender -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        name_key -> Text,
    }
}

diesel::joinable!(activities -> courses (course_id));
diesel::joinable!(activities -> orgs (org_id));
diesel::joinable!(activity_attendance -> activity_occurrences (occurrence_id));
diesel::joinable!(activity_attendance -> users (user_id));
diesel::joinable!(activity_invitees -> activity_occurrences (occurrence_id));
diesel::joinable!(activity_invitees -> users (user_id));
diesel::joinable!(activity_guests -> activity_occurrences (occurrence_id));
diesel::joinable!(activity_leaves -> activity_occurrences (occurrence_id));
diesel::joinable!(activity_leaves -> users (user_id));
diesel::joinable!(activity_minutes -> activity_occurrences (occurrence_id));
diesel::joinable!(activity_occurrences -> activities (activity_id));
diesel::joinable!(activity_occurrences -> orgs (org_id));
diesel::joinable!(calendar_tokens -> users (user_id));
diesel::joinable!(course_assignments -> courses (course_id));
diesel::joinable!(course_completions -> courses (course_id));
diesel::joinable!(course_completions -> users (user_id));
diesel::joinable!(credit_ledger -> users (user_id));
diesel::joinable!(lesson_progress -> lessons (lesson_id));
diesel::joinable!(lesson_progress -> users (user_id));
diesel::joinable!(course_assignments -> orgs (org_id));
diesel::joinable!(courses -> orgs (owner_org_id));
diesel::joinable!(lessons -> courses (course_id));
diesel::joinable!(media -> users (uploaded_by));
diesel::joinable!(media_owners -> media (media_id));
diesel::joinable!(media_owners -> orgs (org_id));
diesel::joinable!(memberships -> orgs (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(org_roles -> orgs (org_id));
diesel::joinable!(org_roles -> users (user_id));
diesel::joinable!(org_settings -> orgs (org_id));
diesel::joinable!(push_channels -> orgs (org_id));
diesel::joinable!(push_schedules -> push_channels (channel_id));
diesel::joinable!(push_deliveries -> push_channels (channel_id));
diesel::joinable!(push_attempts -> push_deliveries (delivery_id));
diesel::joinable!(push_grants -> users (user_id));
diesel::joinable!(quiz_attempt_grants -> lessons (lesson_id));
diesel::joinable!(quiz_attempt_grants -> users (user_id));
diesel::joinable!(quiz_attempts -> lessons (lesson_id));
diesel::joinable!(quiz_attempts -> users (user_id));
diesel::joinable!(quiz_options -> quiz_questions (question_id));
diesel::joinable!(quiz_questions -> quizzes (lesson_id));
diesel::joinable!(quizzes -> lessons (lesson_id));
diesel::joinable!(refresh_families -> users (user_id));
diesel::joinable!(refresh_tokens -> refresh_families (family_id));
diesel::joinable!(stats_member_months -> users (user_id));
diesel::joinable!(stats_member_years -> users (user_id));
diesel::joinable!(stats_members -> users (user_id));
diesel::joinable!(stats_occurrences -> activity_occurrences (occurrence_id));
diesel::joinable!(stats_occurrences -> orgs (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    activities,
    activity_attendance,
    activity_invitees,
    activity_guests,
    activity_leaves,
    activity_minutes,
    activity_occurrences,
    app_meta,
    audit_log,
    calendar_tokens,
    course_assignments,
    changes,
    push_attempts,
    push_channels,
    push_deliveries,
    push_grants,
    push_schedules,
    course_completions,
    courses,
    credit_ledger,
    idempotency_keys,
    lesson_progress,
    lessons,
    media,
    media_owners,
    memberships,
    org_roles,
    org_settings,
    orgs,
    quiz_attempt_grants,
    quiz_attempts,
    quiz_options,
    quiz_questions,
    quizzes,
    refresh_families,
    refresh_tokens,
    stats_digests,
    stats_member_months,
    stats_member_years,
    stats_members,
    stats_occurrences,
    stats_org_totals,
    stats_versions,
    study_events,
    users,
    wechat_bind_codes,
    login_codes,
    wechat_access_tokens,
    wechat_bind_tokens,
    occurrence_live_heads,
    occurrence_live_events,
);
