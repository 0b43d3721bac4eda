// @generated in the shape of `diesel print-schema` from the PostgreSQL migrations.
// A test checks that both backends' databases have exactly these tables and columns.

diesel::table! {
    app_meta (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
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
    }
}

diesel::joinable!(media -> users (uploaded_by));
diesel::joinable!(memberships -> orgs (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(org_roles -> orgs (org_id));
diesel::joinable!(org_roles -> users (user_id));
diesel::joinable!(org_settings -> orgs (org_id));
diesel::joinable!(refresh_families -> users (user_id));
diesel::joinable!(refresh_tokens -> refresh_families (family_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_meta,
    audit_log,
    idempotency_keys,
    media,
    memberships,
    org_roles,
    org_settings,
    orgs,
    refresh_families,
    refresh_tokens,
    users,
);
