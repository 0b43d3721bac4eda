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
    }
}

diesel::joinable!(refresh_families -> users (user_id));
diesel::joinable!(refresh_tokens -> refresh_families (family_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_meta,
    audit_log,
    refresh_families,
    refresh_tokens,
    users,
);
