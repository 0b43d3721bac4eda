//! The demo's courses (seeded with the demo county, see [`crate::orgs::demo`]): ten online
//! and mini party classes with video, audio, article and PDF lessons, four quizzes, and
//! assignments to the county, the townships and the village branches, some required with
//! a due date. Credit is 0.5 h for a mini party class and 1–2 h for an online class.
//!
//! Video and audio lessons are external (CDN) links with declared durations, as a county
//! that buys its classes from a provider enters them: 20–45 minutes for online classes,
//! 10–15 minutes for mini party classes (DESIGN.md). The links are placeholders under
//! `.example` (nothing plays them offline). The PDF handout and the cover are small files
//! under `tests/fixtures/media/`, stored through the media store like any upload. Articles
//! and PDFs ask for a realistic reading time.
//!
//! The catalog is authored and published at the start of the credit year (or now, early on
//! 1 January), so the year's study history ([`crate::progress::demo`]) comes after it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::model::{CourseStatus, CreateCourseRequest, CreateLessonRequest};
use super::quiz::PutQuizRequest;
use super::{assignments, authoring, quiz};
use crate::audit::{self, Actor, Target};
use crate::db::DbConnection;
use crate::db::schema::{org_roles, orgs};
use crate::error::{ApiError, ApiResult};
use crate::media::form::UploadMeta;
use crate::media::upload;
use crate::state::AppState;

/// Where the external lessons of the demo live (a reserved domain: placeholders).
const CDN: &str = "https://vod.dangke-demo.example/qinghe";

const PDF: &[u8] = include_bytes!("../../tests/fixtures/media/handout.pdf");
const COVER: &[u8] = include_bytes!("../../tests/fixtures/media/cover.png");

/// Which orgs of the demo a course is assigned to.
#[derive(Clone, Copy)]
enum Audience {
    County,
    Township(usize),
    FirstVillage,
    Villages,
}

/// One demo course: owner and audience, required with a due date in days or optional.
struct Plan {
    audience: Audience,
    required_due_days: Option<i64>,
    course: Value,
    lessons: Vec<Value>,
    /// A quiz on the last lesson.
    quiz: Option<Value>,
}

/// Media ids of the demo files.
struct Files {
    pdf: i64,
    cover: i64,
}

/// The orgs and the admin the courses hang on.
struct Orgs {
    county: i64,
    townships: Vec<i64>,
    villages: Vec<i64>,
    admin: i64,
}

/// What was seeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoCourses {
    pub courses: usize,
    pub lessons: usize,
    pub quizzes: usize,
    pub assignments: usize,
}

/// Seeds the demo courses into the demo county rooted at `county_id`, authored and
/// published at `published_at`.
pub async fn seed(
    state: &AppState,
    county_id: i64,
    published_at: NaiveDateTime,
) -> ApiResult<DemoCourses> {
    let found = state.db.read(move |c| demo_orgs(c, county_id)).await?;
    let store = |bytes: &'static [u8], name: &str| {
        let meta = UploadMeta {
            duration_s: None,
            file_name: Some(name.to_string()),
        };
        upload::save_bytes(state, found.admin, bytes, meta)
    };
    let files = Files {
        pdf: store(PDF, "乡村振兴政策汇编.pdf").await?.media.id,
        cover: store(COVER, "封面.png").await?.media.id,
    };
    let today = state.clock.now_naive().date();
    state
        .db
        .write(move |c| insert_all(c, published_at, today, &found, &files))
        .await
}

/// The county's townships (in creation order), village branches and admin.
fn demo_orgs(conn: &mut DbConnection, county_id: i64) -> ApiResult<Orgs> {
    let county_path: String = orgs::table.find(county_id).select(orgs::path).first(conn)?;
    let below: Vec<(i64, String, String)> = orgs::table
        .filter(orgs::path.like(format!("{county_path}%")))
        .order(orgs::id)
        .select((orgs::id, orgs::kind, orgs::sector))
        .load(conn)?;
    let of = |kind: &str, sector: Option<&str>| -> Vec<i64> {
        below
            .iter()
            .filter(|(_, k, s)| k == kind && sector.is_none_or(|want| s == want))
            .map(|(id, _, _)| *id)
            .collect()
    };
    let admin: i64 = org_roles::table
        .filter(org_roles::org_id.eq(county_id))
        .filter(org_roles::role.eq("admin"))
        .select(org_roles::user_id)
        .first(conn)?;
    let found = Orgs {
        county: county_id,
        townships: of("township_committee", None),
        villages: of("branch", Some("village")),
        admin,
    };
    if found.townships.len() < 2 || found.villages.is_empty() {
        return Err(ApiError::internal(anyhow::anyhow!(
            "demo courses: the demo county lacks townships or village branches"
        )));
    }
    Ok(found)
}

/// Writes the catalog at `now` (the publication time); due dates count from `today`.
fn insert_all(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    today: chrono::NaiveDate,
    orgs: &Orgs,
    files: &Files,
) -> ApiResult<DemoCourses> {
    let mut seeded = DemoCourses {
        courses: 0,
        lessons: 0,
        quizzes: 0,
        assignments: 0,
    };
    for plan in plans(files) {
        let audience: Vec<i64> = match plan.audience {
            Audience::County => vec![orgs.county],
            Audience::Township(i) => vec![orgs.townships[i % orgs.townships.len()]],
            Audience::FirstVillage => vec![orgs.villages[0]],
            Audience::Villages => orgs.villages.clone(),
        };
        let mut course_json = plan.course;
        course_json["owner_org_id"] = json!(if audience.len() == 1 {
            audience[0]
        } else {
            orgs.county
        });
        let req: CreateCourseRequest = from_json(course_json)?;
        let course = authoring::create(conn, now, orgs.admin, &req)?;
        let mut last = None;
        for lesson_json in plan.lessons {
            let req: CreateLessonRequest = from_json(lesson_json)?;
            let duration = super::media_duration(conn, req.media_id)?;
            last = Some(authoring::add_lesson(conn, now, &course, &req, duration)?);
            seeded.lessons += 1;
        }
        if let (Some(quiz_json), Some(lesson)) = (plan.quiz, &last) {
            let req: PutQuizRequest = from_json(quiz_json)?;
            quiz::put(conn, now, lesson, &req)?;
            seeded.quizzes += 1;
        }
        let course = authoring::set_status(conn, now, &course, CourseStatus::Published)?;
        let due = plan.required_due_days.map(|d| today + Duration::days(d));
        for org in audience {
            assignments::assign(conn, now, &course, org, due.is_some(), due, orgs.admin)?;
            seeded.assignments += 1;
        }
        seeded.courses += 1;
    }
    audit::record(
        conn,
        now,
        &Actor::system(),
        "demo_courses_seeded",
        &Target::new("org", orgs.county),
        json!({"courses": seeded.courses, "lessons": seeded.lessons}),
    )?;
    Ok(seeded)
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_json::from_value(v).map_err(|e| ApiError::internal(anyhow::anyhow!("demo course: {e}")))
}

fn article(title: &str, body: &str, min_reading_s: i32) -> Value {
    json!({"kind": "article", "title": title, "body": body, "min_reading_s": min_reading_s})
}

/// A video or audio lesson at an external link, with its declared length in minutes.
fn external(kind: &str, title: &str, file: &str, minutes: i32) -> Value {
    json!({"kind": kind, "title": title, "external_url": format!("{CDN}/{file}"),
           "duration_s": minutes * 60})
}

fn plans(f: &Files) -> Vec<Plan> {
    let tf =
        |text: &str, answer: bool| json!({"kind": "true_false", "text": text, "answer": answer});
    let single = |text: &str, options: &[(&str, bool)]| {
        json!({"kind": "single", "text": text,
               "options": options.iter().map(|(t, c)| json!({"text": t, "correct": c})).collect::<Vec<_>>()})
    };
    vec![
        Plan {
            audience: Audience::County,
            required_due_days: Some(30),
            course: json!({"kind": "online_class", "title": "学习贯彻党的二十大精神", "credit_centi": 200,
                "summary": "全面学习把握党的二十大精神，结合农村工作实际抓好贯彻落实。",
                "cover_media_id": f.cover, "tags": ["理论学习", "二十大"]}),
            lessons: vec![
                external("video", "第一讲：大会主题与主要成果", "ershida-01.mp4", 45),
                article(
                    "第二讲：以中国式现代化全面推进乡村振兴",
                    "<h2>学习要点</h2><p>全面推进乡村振兴，坚持农业农村优先发展，巩固拓展脱贫攻坚成果。</p><p>发展乡村特色产业，拓宽农民增收致富渠道。</p>",
                    20 * 60,
                ),
            ],
            quiz: Some(
                json!({"pass_mark_pct": 60, "max_attempts": 3, "questions": [
                    single("党的二十大的主题中强调要“全面建设”什么？", &[("社会主义现代化国家", true), ("小康社会", false), ("创新型国家", false)]),
                    tf("全面推进乡村振兴要坚持农业农村优先发展。", true),
                ]}),
            ),
        },
        Plan {
            audience: Audience::County,
            required_due_days: Some(60),
            course: json!({"kind": "online_class", "title": "党章党规学习", "credit_centi": 200,
                "summary": "逐章学习党章，熟悉《中国共产党支部工作条例（试行）》。", "tags": ["党章党规"]}),
            lessons: vec![
                article(
                    "党章总纲",
                    "<p>中国共产党是中国工人阶级的先锋队，同时是中国人民和中华民族的先锋队。</p>",
                    15 * 60,
                ),
                article(
                    "党员的义务和权利",
                    "<p>党员必须履行八项义务，享有八项权利。</p><ul><li>认真学习</li><li>按时交纳党费</li></ul>",
                    15 * 60,
                ),
                json!({"kind": "pdf", "title": "支部工作条例（原文）", "media_id": f.pdf, "min_reading_s": 20 * 60}),
            ],
            quiz: Some(json!({"pass_mark_pct": 60, "questions": [
                single("党员有几项义务？", &[("六项", false), ("八项", true), ("十项", false)]),
                tf("党员应当按时交纳党费。", true),
                tf("党支部委员会每届任期为五年。", false),
            ]})),
        },
        Plan {
            audience: Audience::County,
            required_due_days: None,
            course: json!({"kind": "online_class", "title": "乡村振兴政策解读", "credit_centi": 150,
                "summary": "土地、产业、人才政策一次讲清。", "tags": ["乡村振兴", "政策"]}),
            lessons: vec![
                external("audio", "产业扶持政策（音频）", "zhengce-chanye.m4a", 38),
                json!({"kind": "pdf", "title": "政策汇编", "media_id": f.pdf, "min_reading_s": 15 * 60}),
            ],
            quiz: None,
        },
        Plan {
            audience: Audience::Township(0),
            required_due_days: Some(45),
            course: json!({"kind": "mini_class", "title": "微党课：红色家风代代传", "credit_centi": 50,
                "summary": "老党员讲述家风故事。", "tags": ["微党课", "家风"]}),
            lessons: vec![external("audio", "红色家风", "weidangke-jiafeng.m4a", 13)],
            quiz: None,
        },
        Plan {
            audience: Audience::Township(1),
            required_due_days: Some(45),
            course: json!({"kind": "mini_class", "title": "微党课：身边的榜样", "credit_centi": 50,
                "summary": "记录本镇优秀共产党员的故事。", "tags": ["微党课", "榜样"]}),
            lessons: vec![external(
                "video",
                "身边的榜样",
                "weidangke-bangyang.mp4",
                12,
            )],
            quiz: None,
        },
        Plan {
            audience: Audience::County,
            required_due_days: Some(90),
            course: json!({"kind": "online_class", "title": "农村基层党组织工作条例", "credit_centi": 200,
                "summary": "村党组织的职责、组织设置和工作机制。", "tags": ["党章党规", "基层治理"]}),
            lessons: vec![
                article(
                    "组织设置",
                    "<p>村党组织一般设置为党支部；党员人数超过一百人的，可以成立党委。</p>",
                    25 * 60,
                ),
                article(
                    "主要职责",
                    "<p>村党组织全面领导村级各类组织和各项工作。</p>",
                    25 * 60,
                ),
            ],
            quiz: Some(json!({"pass_mark_pct": 50, "questions": [
                tf("党员人数超过一百人的村可以成立党委。", true),
                single("村级各类组织由谁全面领导？", &[("村党组织", true), ("村民委员会", false), ("合作社", false)]),
            ]})),
        },
        Plan {
            audience: Audience::FirstVillage,
            required_due_days: None,
            course: json!({"kind": "online_class", "title": "发展壮大村级集体经济", "credit_centi": 100,
                "summary": "盘活资源、发展合作社的做法与案例。", "tags": ["集体经济"]}),
            lessons: vec![
                external("video", "案例：果蔬合作社", "jiti-jingji-hezuoshe.mp4", 34),
                article(
                    "做法与经验",
                    "<p>坚持党建引领，因地制宜发展特色产业。</p>",
                    10 * 60,
                ),
            ],
            quiz: None,
        },
        Plan {
            audience: Audience::Villages,
            required_due_days: Some(30),
            course: json!({"kind": "mini_class", "title": "微党课：党员先锋岗", "credit_centi": 50,
                "summary": "农忙时节，党员带头。", "tags": ["微党课"]}),
            lessons: vec![external(
                "audio",
                "党员先锋岗",
                "weidangke-xianfenggang.m4a",
                10,
            )],
            quiz: None,
        },
        Plan {
            audience: Audience::County,
            required_due_days: None,
            course: json!({"kind": "mini_class", "title": "微党课：安全生产与防灾减灾", "credit_centi": 50,
                "summary": "汛期防汛、秋冬防火常识。", "tags": ["微党课", "安全"]}),
            lessons: vec![article(
                "防汛防火常识",
                "<p>汛期注意收听预警，及时转移；秋冬季节严禁野外用火。</p>",
                8 * 60,
            )],
            quiz: None,
        },
        Plan {
            audience: Audience::County,
            required_due_days: Some(60),
            course: json!({"kind": "online_class", "title": "廉洁自律教育", "credit_centi": 150,
                "summary": "学习中央八项规定精神，筑牢拒腐防变思想防线。", "tags": ["党风廉政"]}),
            lessons: vec![
                external("audio", "警示教育（音频）", "lianjie-jingshi.m4a", 27),
                article(
                    "八项规定精神",
                    "<p>改进调查研究，精简会议活动，厉行勤俭节约。</p>",
                    15 * 60,
                ),
            ],
            quiz: Some(
                json!({"pass_mark_pct": 100, "max_attempts": 5, "questions": [
                    tf("厉行勤俭节约是中央八项规定的内容。", true),
                ]}),
            ),
        },
    ]
}
