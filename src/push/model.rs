//! Push rows and their API shapes: channels, schedules, deliveries (the outbox) and attempts.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{
    push_attempts, push_channels, push_deliveries, push_grants, push_schedules,
};
use crate::http::text::{Code, HttpUrl, Name};
use crate::text_enum;

text_enum! {
    /// Where a channel sends: a WeCom group robot, a DingTalk group robot, or a webhook
    /// signed per Standard Webhooks.
    pub enum ChannelKind {
        WecomRobot = "wecom_robot",
        DingtalkRobot = "dingtalk_robot",
        Webhook = "webhook",
    }
}

text_enum! {
    /// Where a delivery is: `pending` (waiting for its next attempt), `delivered`, `dead`
    /// (refused for good or not delivered within the give-up time; can be retried), or
    /// `cancelled` (its channel was deleted).
    pub enum DeliveryStatus {
        Pending = "pending",
        Delivered = "delivered",
        Dead = "dead",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// Why a message was written: a scheduled `digest`, a `test` asked for by an organizer,
    /// or an event `alert`.
    pub enum Purpose {
        Digest = "digest",
        Test = "test",
        Alert = "alert",
        Reminder = "reminder",
    }
}

text_enum! {
    /// What one attempt came to: `sent` (accepted), `retry` (a transient failure: busy,
    /// rate limited, timeout, 5xx), `failed` (the message was refused; not retried),
    /// `broken` (the service refused the channel's credentials: the channel is marked
    /// broken), `refused` (the webhook address is not allowed).
    pub enum AttemptOutcome {
        Sent = "sent",
        Retry = "retry",
        Failed = "failed",
        Broken = "broken",
        Refused = "refused",
    }
}

text_enum! {
    /// How often a digest goes out.
    pub enum DigestFrequency {
        Daily = "daily",
        Weekly = "weekly",
        Monthly = "monthly",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = push_channels)]
pub struct Channel {
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    pub name: String,
    pub url: Option<String>,
    pub secret_sealed: String,
    pub secret_hint: String,
    pub alerts: bool,
    pub broken_reason: Option<String>,
    pub broken_at: Option<NaiveDateTime>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = push_schedules)]
pub struct Schedule {
    pub id: i64,
    pub channel_id: i64,
    pub frequency: String,
    pub weekday: Option<i32>,
    pub month_day: Option<i32>,
    pub local_time: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = push_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub channel_id: Option<i64>,
    pub org_id: i64,
    pub purpose: String,
    pub dedup_key: String,
    pub message_id: String,
    pub parts: String,
    pub parts_done: i32,
    pub status: String,
    pub attempts: i32,
    pub next_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = push_attempts)]
pub struct Attempt {
    pub id: i64,
    pub delivery_id: i64,
    pub channel_id: Option<i64>,
    pub part: i32,
    pub at: NaiveDateTime,
    pub outcome: String,
    pub http_status: Option<i32>,
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// One message of a delivery, as stored in `parts` (sent in order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    /// A WeCom markdown message.
    WecomMarkdown { content: String },
    /// A WeCom image message (the PNG, base64).
    WecomImage { base64: String, md5: String },
    /// A DingTalk markdown message.
    DingtalkMarkdown { title: String, text: String },
    /// A webhook event: `{"type": event_type, "timestamp": …, "data": data}`.
    Webhook {
        event_type: String,
        data: serde_json::Value,
    },
    /// A WeChat subscription message to a member (`subscribeMessage.send`): the body's
    /// `template_id`, `page` and `data` (values already cut to WeChat's limits); the openid
    /// is read when it is sent.
    WechatSubscribe {
        /// The member it goes to.
        user_id: i64,
        template_id: String,
        page: String,
        data: serde_json::Value,
    },
}

/// Credentials as sealed in `secret_sealed` (JSON), by kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credentials {
    WecomRobot {
        key: String,
    },
    DingtalkRobot {
        access_token: String,
        secret: String,
    },
    Webhook {
        secret: String,
    },
}

// --- API shapes ---------------------------------------------------------------------------

/// A new channel. Per kind: `wecom_robot` needs `key` (the `key=` of the robot's webhook
/// address); `dingtalk_robot` needs `access_token` and `secret` (the `SEC…` signing secret);
/// `webhook` needs `url` (HTTPS, public) and takes an optional `secret` (`whsec_` + base64;
/// one is generated and shown once in the answer when omitted).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    pub kind: ChannelKind,
    pub name: Name,
    #[serde(default)]
    pub key: Option<Code>,
    #[serde(default)]
    pub access_token: Option<Code>,
    #[serde(default)]
    pub secret: Option<Code>,
    #[serde(default)]
    pub url: Option<HttpUrl>,
    /// Send event alerts too (default false).
    #[serde(default)]
    pub alerts: bool,
}

/// Changes to a channel; absent fields stay. New credentials (all of the kind's) or a new
/// URL clear the channel's broken mark.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    #[serde(default)]
    pub name: Option<Name>,
    #[serde(default)]
    pub alerts: Option<bool>,
    #[serde(default)]
    pub key: Option<Code>,
    #[serde(default)]
    pub access_token: Option<Code>,
    #[serde(default)]
    pub secret: Option<Code>,
    #[serde(default)]
    pub url: Option<HttpUrl>,
}

/// Why a channel is broken: the service refused its credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrokenView {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A digest schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: i64,
    pub channel_id: i64,
    pub frequency: DigestFrequency,
    /// For `weekly`: 1 = Monday … 7 = Sunday.
    pub weekday: Option<i32>,
    /// For `monthly`: the day of the month, 1–28.
    pub month_day: Option<i32>,
    /// Local time in the org's zone, `HH:MM`.
    pub time: String,
}

/// A channel as its organizers see it: never its secret, only a hint of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub org_id: i64,
    pub kind: ChannelKind,
    pub name: String,
    /// The webhook URL (webhooks only).
    pub url: Option<String>,
    /// The last characters of the key, token or secret (`…3f9a`).
    pub secret_hint: String,
    pub alerts: bool,
    /// Set when the service refused the credentials; cleared by new ones.
    pub broken: Option<BrokenView>,
    pub schedules: Vec<ScheduleView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A created channel; for a webhook whose secret was generated, the secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelCreated {
    pub channel: ChannelView,
    /// The generated Standard Webhooks secret (`whsec_…`); null otherwise.
    pub signing_secret: Option<String>,
}

/// A new digest schedule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScheduleRequest {
    pub frequency: DigestFrequency,
    /// For `weekly` (required): 1 = Monday … 7 = Sunday.
    #[serde(default)]
    pub weekday: Option<i32>,
    /// For `monthly`: the day of the month, 1–28 (default 1).
    #[serde(default)]
    pub month_day: Option<i32>,
    /// Local time in the org's zone, `HH:MM` (24-hour).
    pub time: String,
}

/// One attempt to send one part of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// Which message of the delivery (0 = the first).
    pub part: i32,
    pub outcome: AttemptOutcome,
    /// The HTTP status, when an answer came.
    pub http_status: Option<i32>,
    /// WeCom/DingTalk `errcode`, when the answer had one.
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A message in the outbox, with every attempt to send it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The channel it goes to (`null` for a reminder to a member).
    pub channel_id: Option<i64>,
    pub channel_name: Option<String>,
    /// The member a reminder goes to (`null` for a channel's message).
    pub user_id: Option<i64>,
    pub org_id: i64,
    pub purpose: Purpose,
    pub status: DeliveryStatus,
    /// The stable id receivers deduplicate by (Standard Webhooks `webhook-id`).
    pub message_id: String,
    /// How many messages it has (a digest: the text, then the chart).
    pub parts: i32,
    pub parts_done: i32,
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub attempt_log: Vec<AttemptView>,
}

text_enum! {
    /// What a WeChat subscription reminder is about; each has its own template
    /// (`DANGKE_WECHAT_TEMPLATE_MEETING`, `DANGKE_WECHAT_TEMPLATE_STUDY`,
    /// `DANGKE_WECHAT_TEMPLATE_CHECKIN`): `meeting_tomorrow` and `study_behind` go to
    /// members, `checkin_closing` (check-in closes by itself within 30 minutes) to the role
    /// holders of the meeting's org.
    pub enum ReminderKind {
        MeetingTomorrow = "meeting_tomorrow",
        StudyBehind = "study_behind",
        CheckinClosing = "checkin_closing",
    }
}

/// A member's remaining one-time grants for one template.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = push_grants)]
pub struct Grant {
    pub user_id: i64,
    pub template_id: String,
    pub remaining: i32,
    pub updated_at: NaiveDateTime,
}

/// `POST /v1/me/subscriptions`: what `wx.requestSubscribeMessage` answered for one
/// template — how many times the member tapped "allow" (each allows one message).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionGrantRequest {
    pub template_id: Code,
    /// One-time grants accepted (1–10 per report).
    pub accepted: i32,
}

/// A member's reminders of one kind: its template and the messages it may still send.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub kind: ReminderKind,
    pub template_id: String,
    /// Messages that may still be sent (one per grant; at most 20 are kept).
    pub remaining: i32,
}

/// `GET /v1/me/subscriptions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionsView {
    /// Every configured reminder, with what is left of its grants.
    pub items: Vec<SubscriptionView>,
    /// The member's WeChat is bound: without it nothing can be sent.
    pub wechat_bound: bool,
}
