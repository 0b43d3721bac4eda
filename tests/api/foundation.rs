//! The foundation: migrations and schema on both backends, the checked-in spec, start-up
//! configuration errors, serving from the binary, and concurrent start-up on PostgreSQL.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::helpers::backend::backend;
use crate::helpers::{Backend, Options, TestDb, spawn, spawn_with};

#[test]
fn migration_names_match_between_backends() {
    let sqlite = dangke::db::migrate::names(&dangke::db::migrate::SQLITE).unwrap();
    let pg = dangke::db::migrate::names(&dangke::db::migrate::POSTGRES).unwrap();
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, pg,
        "migrations/sqlite and migrations/postgres must hold the same names"
    );
    let dir = |b: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("migrations/{b}"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(dir("sqlite"), dir("postgres"));
}

#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

/// (table, column, not null, type as diesel maps it).
type ColumnSet = BTreeSet<(String, String, bool, &'static str)>;

/// A declared column type as the Rust side sees it: SQLite's `INTEGER PRIMARY KEY` is the
/// 64-bit rowid, like PostgreSQL's `BIGSERIAL`.
fn kind_of(declared: &str, pk: bool) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "bigint" | "int8" => "int64",
        "integer" | "int4" | "int" if pk => "int64",
        "integer" | "int4" | "int" => "int32",
        "smallint" | "int2" => "int16",
        "text" | "character varying" | "varchar" => "text",
        "boolean" | "bool" => "bool",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "date" => "date",
        "double precision" | "double" | "real" | "float8" => "float64",
        "bytea" | "blob" => "bytes",
        other => panic!("a column type the schema check does not know: {other}"),
    }
}

fn sqlite_columns(conn: &mut dangke::db::DbConnection) -> ColumnSet {
    diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, CAST(p.\"notnull\" AS BIGINT) AS not_null,
                p.type AS data_type, CAST(p.pk AS BIGINT) AS pk
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
    )
    .load::<Column>(conn)
    .unwrap()
    .into_iter()
    // An INTEGER PRIMARY KEY is NOT NULL whatever pragma says.
    .map(|c| {
        let kind = kind_of(&c.data_type, c.pk == 1 && c.data_type.eq_ignore_ascii_case("integer"));
        (c.table_name, c.column_name, c.not_null != 0 || c.pk == 1, kind)
    })
    .collect()
}

fn pg_columns(conn: &mut dangke::db::DbConnection) -> ColumnSet {
    diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name,
                CASE WHEN is_nullable = 'NO' THEN 1::bigint ELSE 0::bigint END AS not_null,
                data_type::text AS data_type, 0::bigint AS pk
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Column>(conn)
    .unwrap()
    .into_iter()
    .map(|c| {
        let kind = kind_of(&c.data_type, false);
        (c.table_name, c.column_name, c.not_null != 0, kind)
    })
    .collect()
}

/// Every table of `schema.rs`, queried with all its columns: fails if a column is missing.
fn query_every_schema_table(conn: &mut dangke::db::DbConnection) -> BTreeSet<String> {
    use dangke::db::schema::*;
    let mut seen = BTreeSet::new();
    macro_rules! check {
        ($($t:ident),* $(,)?) => {$(
            $t::table.select($t::all_columns).limit(0).execute(conn)
                .unwrap_or_else(|e| panic!("schema.rs table {} does not match the database: {e}", stringify!($t)));
            seen.insert(stringify!($t).to_string());
        )*};
    }
    check!(
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
        changes,
        push_attempts,
        push_channels,
        push_deliveries,
        push_grants,
        push_schedules,
        course_assignments,
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
    seen
}

#[tokio::test]
async fn schema_rs_matches_the_database() {
    let app = spawn().await;
    let (tables, in_db) = app
        .app_state
        .db
        .read(|c| {
            let tables = query_every_schema_table(c);
            let cols = match c {
                dangke::db::DbConnection::Sqlite(_) => sqlite_columns(c),
                dangke::db::DbConnection::Pg(_) => pg_columns(c),
            };
            Ok((tables, cols))
        })
        .await
        .unwrap();
    let db_tables: BTreeSet<String> = in_db.iter().map(|c| c.0.clone()).collect();
    assert_eq!(
        tables, db_tables,
        "every table must be in schema.rs (and the check! list)"
    );
}

#[tokio::test]
async fn sqlite_and_postgres_have_the_same_tables_and_columns() {
    if crate::helpers::backend::skip_unless(
        crate::helpers::backend::pg_url().is_some(),
        "PostgreSQL (DANGKE_TEST_PG_URL)",
    ) {
        return;
    }
    let sqlite = TestDb::fresh_sqlite();
    let pg = TestDb::fresh_pg().await;
    let open = |url: &str| {
        let url = dangke::db::DatabaseUrl::parse(url).unwrap();
        let mut c = dangke::db::Manager {
            url,
            role: dangke::db::Role::Writer,
            counter: Default::default(),
            statement_cache: true,
        }
        .connect_now()
        .unwrap();
        dangke::db::migrate::run(&mut c).unwrap();
        c
    };
    let (s, p) = tokio::task::spawn_blocking(move || {
        let s = sqlite_columns(&mut open(&sqlite.url));
        let p = pg_columns(&mut open(&pg.url));
        (s, p)
    })
    .await
    .unwrap();
    let only_sqlite: Vec<_> = s.difference(&p).collect();
    let only_pg: Vec<_> = p.difference(&s).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "schemas differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
}

#[test]
fn checked_in_openapi_is_current() {
    let current = dangke::http::openapi::document_json();
    let checked_in = std::fs::read_to_string("api-spec/openapi.json").unwrap_or_default();
    if current != checked_in {
        panic!(
            "api-spec/openapi.json is stale. Regenerate it with:\n\n    cargo run -- gen openapi > api-spec/openapi.json\n"
        );
    }
}

/// Every handler that honours `Idempotency-Key` (takes the `IdempotencyKey` extractor)
/// documents the header in its `#[utoipa::path]`, so a generated client can send it (and the
/// generator adds the 400/409 answers the key brings). Read from the source of `src/`.
#[test]
fn every_route_that_honours_an_idempotency_key_documents_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut undocumented = Vec::new();
    let mut seen = 0;
    for file in crate::helpers::files_under(&root) {
        if !file.ends_with(".rs") {
            continue;
        }
        let src = std::fs::read_to_string(root.join(&file)).unwrap();
        let mut last_path: Option<usize> = None;
        let lines: Vec<&str> = src.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("#[utoipa::path(") {
                last_path = Some(i);
            }
            let routed = i > 0
                && ["#[get(", "#[post(", "#[put(", "#[patch(", "#[delete("]
                    .iter()
                    .any(|m| lines[i - 1].trim_start().starts_with(m));
            if !routed || !line.trim_start().starts_with("pub async fn ") {
                continue;
            }
            // The signature, to its body.
            let signature: String = lines[i..]
                .iter()
                .take_while(|l| !l.trim_end().ends_with('{'))
                .chain(lines[i..].iter().find(|l| l.trim_end().ends_with('{')))
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            if !signature.contains(": IdempotencyKey") {
                continue;
            }
            seen += 1;
            let documented = last_path.is_some_and(|start| {
                lines[start..i]
                    .join(" ")
                    .contains("(\"Idempotency-Key\" = Option<String>, Header)")
            });
            if !documented {
                undocumented.push(format!("src/{file}:{}", i + 1));
            }
        }
    }
    assert!(seen >= 5, "the scan found only {seen} handlers");
    assert!(
        undocumented.is_empty(),
        "handlers that honour Idempotency-Key without documenting it: {undocumented:#?}"
    );
}

/// Every enum the spec publishes is what the wire carries: each listed value deserializes
/// into the Rust type and serializes back to itself (so a spec that lists `OnlineClass`
/// while the server sends `online_class` fails), and every enum schema is checked here.
#[test]
fn spec_enums_are_the_wire_values() {
    use serde_json::{Value, json};
    let spec: Value = serde_json::from_str(&dangke::http::openapi::document_json()).unwrap();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let values = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum in the spec"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let mut checked = BTreeSet::new();
    macro_rules! round_trip {
        ($($t:ty),* $(,)?) => {$({
            let name = stringify!($t).rsplit("::").next().unwrap().trim().to_string();
            for v in values(&name) {
                let parsed: $t = serde_json::from_value(json!(v))
                    .unwrap_or_else(|e| panic!("{name}: the spec lists {v:?}, the server reads no such value: {e}"));
                assert_eq!(serde_json::to_value(parsed).unwrap(), json!(v), "{name}");
            }
            checked.insert(name);
        })*};
    }
    round_trip!(
        dangke::activities::kind::ActivityKind,
        dangke::activities::model::AttendanceSource,
        dangke::activities::model::AttendanceStatus,
        dangke::activities::model::Audience,
        dangke::orgs::model::Category,
        dangke::activities::model::CheckinState,
        dangke::courses::model::CourseKind,
        dangke::courses::model::CourseStatus,
        dangke::media::model::DurationSource,
        dangke::progress::model::EventKind,
        dangke::progress::model::EventStatus,
        dangke::activities::kind::Frequency,
        dangke::orgs::model::Gender,
        dangke::activities::model::LeaveStatus,
        dangke::courses::model::LessonKind,
        dangke::media::model::MediaKind,
        dangke::orgs::model::MemberStatus,
        dangke::courses::model::MyCourseStatus,
        dangke::activities::model::OccurrenceStatus,
        dangke::orgs::model::OrgKind,
        dangke::stats::members::Pace,
        dangke::courses::model::QuestionKind,
        dangke::orgs::import::model::RejectReason,
        dangke::courses::model::RevealAnswers,
        dangke::orgs::model::Role,
        dangke::orgs::import::model::RowOutcome,
        dangke::orgs::model::Sector,
        dangke::stats::compliance::SlotStatus,
        dangke::stats::compliance::NotApplicableReason,
        dangke::push::model::AttemptOutcome,
        dangke::push::model::ChannelKind,
        dangke::push::model::DeliveryStatus,
        dangke::push::model::DigestFrequency,
        dangke::push::model::Purpose,
        dangke::push::model::ReminderKind,
    );
    // Response-only enums (no Deserialize): the listed values are the serialized ones.
    let codes: Vec<String> = dangke::error::ErrorCode::ALL
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(values("ErrorCode"), codes);
    checked.insert("ErrorCode".to_string());
    {
        use dangke::ops::ReadyStatus as R;
        let wire: Vec<String> = [R::Ready, R::Degraded, R::Unready]
            .iter()
            .map(|v| {
                serde_json::to_value(v)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(values("ReadyStatus"), wire);
        checked.insert("ReadyStatus".to_string());
    }
    for v in values("Source") {
        assert!(
            v.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "Source: {v:?} is not a wire value"
        );
    }
    checked.insert("Source".to_string());
    let published: BTreeSet<String> = schemas
        .iter()
        .filter(|(_, s)| s.get("enum").is_some())
        .map(|(k, _)| k.clone())
        .collect();
    let unchecked: Vec<_> = published.difference(&checked).collect();
    assert!(
        unchecked.is_empty(),
        "enum schemas not checked here: {unchecked:?}"
    );
}

#[test]
fn every_schema_reference_in_the_spec_resolves() {
    let text = dangke::http::openapi::document_json();
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let prefix = "\"#/components/schemas/";
    let mut dangling = BTreeSet::new();
    for part in text.split(prefix).skip(1) {
        let name = part.split('"').next().unwrap_or("");
        if !schemas.contains_key(name) {
            dangling.insert(name.to_string());
        }
    }
    assert!(
        dangling.is_empty(),
        "references to missing schemas: {dangling:?}"
    );
}

/// Every published error code is one the server can answer: each `ErrorCode` variant is
/// constructed somewhere in `src/` (a code nobody returns is a lie in the contract).
#[test]
fn every_error_code_is_returned_somewhere() {
    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut text = String::new();
    sources(std::path::Path::new("src"), &mut text);
    let unused: Vec<String> = dangke::error::ErrorCode::ALL
        .iter()
        .map(|c| format!("{c:?}"))
        .filter(|name| !text.contains(&format!("ErrorCode::{name}")))
        .collect();
    assert!(unused.is_empty(), "error codes nothing returns: {unused:?}");
}

#[test]
fn every_error_code_is_in_the_spec() {
    let spec: serde_json::Value =
        serde_json::from_str(&dangke::http::openapi::document_json()).unwrap();
    let listed: BTreeSet<String> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum in the spec")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for code in dangke::error::ErrorCode::ALL {
        assert!(
            listed.contains(code.as_str()),
            "{code} missing from the spec"
        );
    }
    assert_eq!(listed.len(), dangke::error::ErrorCode::ALL.len());
}

/// The variables the configuration reads, README's configuration table (one table, in
/// the `## Configuration` section) and `.env.example` name exactly the same set: matched as
/// whole names, so `DANGKE_LOG` is not found inside `DANGKE_LOGIN_RATE_PER_IP`.
#[test]
fn every_config_variable_is_documented() {
    let vars: BTreeSet<String> = dangke::config::VARS.iter().map(|v| v.to_string()).collect();
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };

    // Read by the code: every variable name quoted in the configuration parsers (outside
    // the `VARS` list itself).
    let mut read = BTreeSet::new();
    let files: Vec<String> = crate::helpers::files_under(std::path::Path::new("src/config"))
        .into_iter()
        .map(|f| format!("src/config/{f}"))
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let text = match text.split_once("pub const VARS") {
            Some((before, after)) => format!("{before}{}", after.split_once("];").unwrap().1),
            None => text,
        };
        for (i, part) in text.split('"').enumerate() {
            let known = part.starts_with("DANGKE_")
                || part.starts_with("AWS_")
                || part == "DATABASE_URL"
                || part == "DATABASE_READ_URL"
                || part == "REDIS_URL";
            if i % 2 == 1 && known && is_name(part) {
                read.insert(part.to_string());
            }
        }
    }
    assert_eq!(
        read, vars,
        "config::VARS must list exactly what the parsers read"
    );

    // README: the rows of the one table under `## Configuration`, up to the next section.
    let readme = std::fs::read_to_string("README.md").unwrap();
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("README has a Configuration section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let table: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.starts_with("| `"))
        .collect();
    assert_eq!(
        rows, table,
        "README's configuration table is split by other text"
    );
    let documented: BTreeSet<String> = rows
        .iter()
        .filter_map(|l| l.split('`').nth(1))
        .map(str::to_string)
        .collect();
    assert_eq!(documented, vars, "README's configuration table");
    assert!(
        !readme
            .split("\n## Configuration\n")
            .next()
            .unwrap()
            .contains("| `DANGKE_")
            && !readme
                .split("\n## Configuration\n")
                .nth(1)
                .unwrap()
                .split("\n## ")
                .skip(1)
                .any(|s| s.contains("| `DANGKE_")),
        "configuration rows outside the Configuration section"
    );

    // .env.example: `NAME=` or `# NAME=` lines (except docker compose's own `COMPOSE_*`).
    let example = std::fs::read_to_string(".env.example").unwrap();
    let named: BTreeSet<String> = example
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| is_name(k) && !k.starts_with("COMPOSE_"))
        .map(str::to_string)
        .collect();
    assert_eq!(named, vars, ".env.example");
}

fn dangke_bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dangke"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

#[test]
fn every_bad_env_value_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let cases: &[(&str, &str, &str)] = &[
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
        ("DATABASE_URL", "dangke.db", "DATABASE_URL"),
        ("DANGKE_ENV", "staging", "DANGKE_ENV"),
        ("DANGKE_DB_POOL_SIZE", "many", "DANGKE_DB_POOL_SIZE"),
        ("DANGKE_DB_POOL_SIZE", "0", "DANGKE_DB_POOL_SIZE"),
        ("DANGKE_LOG", "info,[[", "DANGKE_LOG"),
        ("DANGKE_WORKERS", "-1", "DANGKE_WORKERS"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL"),
        (
            "DANGKE_TRUSTED_PROXIES",
            "10.0.0.0/40",
            "DANGKE_TRUSTED_PROXIES",
        ),
        (
            "DANGKE_ACCESS_TOKEN_TTL",
            "forever",
            "DANGKE_ACCESS_TOKEN_TTL",
        ),
        ("DANGKE_REFRESH_GRACE", "0", "DANGKE_REFRESH_GRACE"),
        (
            "DANGKE_LOGIN_RATE_PER_IP",
            "lots",
            "DANGKE_LOGIN_RATE_PER_IP",
        ),
        ("DANGKE_WECHAT_APPID", "wx123", "DANGKE_WECHAT_SECRET"),
        (
            "DANGKE_WECHAT_API_BASE",
            "ftp://x",
            "DANGKE_WECHAT_API_BASE",
        ),
    ];
    for (var, value, named) in cases {
        let out = dangke_bin()
            .args(["migrate"])
            .env("DANGKE_DATA_DIR", &data)
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{var}={value}: one line expected: {stderr}"
        );
        assert!(
            stderr.contains(named),
            "{var}={value}: must name {named}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Production refuses a missing or short secret.
    for secret in [None, Some("short")] {
        let mut cmd = dangke_bin();
        cmd.args(["migrate"])
            .env("DANGKE_DATA_DIR", &data)
            .env("DANGKE_ENV", "production");
        if let Some(s) = secret {
            cmd.env("DANGKE_JWT_SECRET", s);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("DANGKE_JWT_SECRET"), "{stderr}");
    }
    // An unreachable database fails start-up with a message, not a panic.
    let out = dangke_bin()
        .args(["migrate"])
        .env("DANGKE_DATA_DIR", &data)
        .env(
            "DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/nothing?connect_timeout=2",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("database"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_binary_serves_on_sqlite_under_the_data_dir_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = dangke_bin()
        .args(["serve"])
        .env("DANGKE_DATA_DIR", &data)
        .env("DANGKE_BIND", "127.0.0.1:0")
        .env("DANGKE_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr on a thread, so a server that never prints its address fails the test
    // after a while instead of hanging it.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let url = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!("the server did not print its address within 60 s");
        };
        if let Some(rest) = line.strip_prefix("dangke listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let health = blocking::get(&format!("{url}/healthz"));
    let ready = blocking::get(&format!("{url}/readyz"));
    assert_eq!(health, 200);
    assert_eq!(ready, 200);
    assert!(
        data.join("dangke.db").exists(),
        "the SQLite file lives under DANGKE_DATA_DIR"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
}

/// Tiny blocking GET for the binary test (no async runtime there).
mod blocking {
    pub fn get(url: &str) -> u16 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            ::reqwest::get(url)
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    }
}

#[tokio::test]
async fn app_meta_holds_instance_facts() {
    let app = spawn().await;
    let (id, backend_name) = app
        .app_state
        .db
        .read(|c| {
            Ok((
                dangke::db::meta::get(c, "instance_id")?,
                dangke::db::meta::get(c, "created_with_backend")?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(id.unwrap(), app.app_state.instance_id);
    let expected = match app.db.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(backend_name.as_deref(), Some(expected));
}

#[tokio::test]
async fn development_secret_is_generated_once_and_kept() {
    let db = TestDb::fresh().await;
    let no_secret = || Options {
        vars: vec![("DANGKE_JWT_SECRET", String::new())],
        share_db: Some(db.clone()),
        ..Default::default()
    };
    let a = spawn_with(no_secret()).await;
    let b = spawn_with(no_secret()).await;
    let secret = a
        .app_state
        .db
        .read(|c| dangke::db::meta::get(c, "dev_jwt_secret"))
        .await
        .unwrap()
        .expect("generated secret stored");
    assert!(secret.len() >= 32);
    // A token from one instance is accepted by the other: same stored secret.
    a.create_user("13900000001", "甲", "correct-horse-1").await;
    let mut ca = a.client();
    ca.login("13900000001", "correct-horse-1").await;
    let cb = b.client().with_token(ca.access_token.as_deref().unwrap());
    cb.get("/v1/me").await.expect(200);
}

#[tokio::test]
async fn two_servers_on_one_empty_postgres_database_both_come_up() {
    if crate::helpers::backend::skip_unless(backend() == Backend::Postgres, "the PostgreSQL run") {
        return;
    }
    let db = TestDb::fresh_pg().await;
    let opts = || Options {
        share_db: Some(db.clone()),
        ..Default::default()
    };
    let (a, b) = tokio::join!(spawn_with(opts()), spawn_with(opts()));
    a.client().get("/readyz").await.expect(200);
    b.client().get("/readyz").await.expect(200);
    let applied: i64 = a
        .app_state
        .db
        .read(|c| {
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            Ok(
                diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
                    .get_result::<N>(c)?
                    .n,
            )
        })
        .await
        .unwrap();
    let expected = dangke::db::migrate::names(&dangke::db::migrate::POSTGRES)
        .unwrap()
        .len() as i64;
    assert_eq!(applied, expected, "each migration applied exactly once");
}

#[test]
fn docker_compose_runs_one_instance_or_two_behind_nginx() {
    use serde_yaml::Value;
    let text = std::fs::read_to_string("docker-compose.yml").unwrap();
    let mut doc: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is YAML");
    doc.apply_merge().expect("merge keys resolve");
    let services = doc["services"].as_mapping().expect("services").clone();
    let svc = |name: &str| {
        services
            .get(Value::from(name))
            .unwrap_or_else(|| panic!("service {name} missing"))
            .clone()
    };
    let profiles = |v: &Value| -> Vec<String> {
        v["profiles"]
            .as_sequence()
            .map(|p| {
                p.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for name in ["postgres", "redis"] {
        let s = svc(name);
        assert!(profiles(&s).is_empty(), "{name} runs in every profile");
        assert!(
            s["healthcheck"]["test"].is_sequence(),
            "{name} has a healthcheck"
        );
        assert!(s["volumes"].is_sequence(), "{name} has a volume");
    }
    for (name, profile) in [("app", "single"), ("app1", "scaled"), ("app2", "scaled")] {
        let app = svc(name);
        assert_eq!(profiles(&app), [profile], "{name}'s profile");
        assert!(
            app["build"].is_string(),
            "{name} builds from the Dockerfile"
        );
        let check = serde_yaml::to_string(&app["healthcheck"]["test"]).unwrap();
        assert!(
            check.contains("/readyz"),
            "{name}'s healthcheck asks /readyz"
        );
        assert!(
            app["volumes"].is_sequence(),
            "{name} keeps media on a volume"
        );
        let env = &app["environment"];
        assert!(
            env["DATABASE_URL"]
                .as_str()
                .unwrap()
                .starts_with("postgres://")
        );
        assert!(env["REDIS_URL"].as_str().unwrap().starts_with("redis://"));
    }
    // Behind nginx the instances trust X-Forwarded-For from nginx's fixed address only.
    let nginx = svc("nginx");
    assert_eq!(profiles(&nginx), ["scaled"]);
    let nginx_ip = nginx["networks"]["dangke"]["ipv4_address"]
        .as_str()
        .expect("nginx has a fixed address");
    for name in ["app1", "app2"] {
        assert_eq!(
            svc(name)["environment"]["DANGKE_TRUSTED_PROXIES"].as_str(),
            Some(nginx_ip),
            "{name} trusts nginx only"
        );
    }
    let conf: String = std::fs::read_to_string("deploy/nginx.conf")
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "server app1:8080",
        "server app2:8080",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
    ] {
        assert!(conf.contains(needle), "deploy/nginx.conf has `{needle}`");
    }
    assert!(
        !conf.contains("non_idempotent"),
        "nginx never sends a POST twice"
    );
    let example = std::fs::read_to_string(".env.example").unwrap();
    assert!(example.contains("\nCOMPOSE_PROFILES=scaled\n"));
    assert!(std::path::Path::new("Dockerfile").exists());
}

/// `DANGKE_DB_STATEMENT_CACHE=off` (for PgBouncer in transaction mode before 1.21): the
/// same API on PostgreSQL without diesel's named prepared statements — a sync, a check of
/// the member's progress and the org's statistics, with no statement prepared by name.
#[tokio::test]
async fn postgres_serves_without_named_prepared_statements() {
    if crate::helpers::backend::skip_unless(backend() == Backend::Postgres, "the PostgreSQL run") {
        return;
    }
    let app = spawn_with(Options {
        vars: vec![("DANGKE_DB_STATEMENT_CACHE", "off".into())],
        ..Default::default()
    })
    .await;
    let w = app.world().await;
    w.member_a.get("/v1/me/courses").await.expect(200);
    w.secretary_a
        .get(&format!("/v1/orgs/{}/stats", w.branch_a))
        .await
        .expect(200);
    w.secretary_a
        .get(&format!("/v1/orgs/{}/stats/members", w.branch_a))
        .await
        .expect(200);
    let named: i64 = app
        .app_state
        .db
        .read(|c| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let rows: Vec<N> = dangke::with_backend!(c, |c| diesel::sql_query(
                "SELECT count(*) AS n FROM pg_prepared_statements WHERE name LIKE '__diesel%'"
            )
            .load(c))?;
            Ok(rows[0].n)
        })
        .await
        .unwrap();
    assert_eq!(
        named, 0,
        "a statement was prepared by name on this connection"
    );
}
