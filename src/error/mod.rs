//! The one error type of the API: [`ApiError`] with a stable [`ErrorCode`].
//!
//! Every failure a client can see is an `ApiError`, rendered as RFC 9457
//! `application/problem+json` with a machine-readable `code` and, for bad input, per-field
//! `errors`. Each code has one fixed HTTP status. 5xx bodies are opaque: the cause is kept
//! on the error and logged by the request middleware, never sent. Messages are Chinese by
//! default and English when the request prefers it (see [`crate::http::lang`]).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub mod lang;

use lang::Lang;

/// Defines [`ErrorCode`] with its status and its Chinese and English titles in one table,
/// so a code cannot exist without a status or a translation.
macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($status:literal, $code:literal, $zh:literal, $en:literal), )+) => {
        /// Stable, machine-readable error codes. The string form never changes once shipped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )+
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )+ ];

            /// The fixed HTTP status of this code.
            pub fn status(self) -> StatusCode {
                match self {
                    $( ErrorCode::$variant => match StatusCode::from_u16($status) {
                        Ok(s) => s,
                        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    }, )+
                }
            }

            /// The snake_case string sent as `code`.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )+ }
            }

            /// A short human title in the given language.
            pub fn title(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $( (ErrorCode::$variant, Lang::Zh) => $zh,
                       (ErrorCode::$variant, Lang::En) => $en, )+
                }
            }
        }
    };
}

error_codes! {
    // --- request shape -------------------------------------------------------------------
    /// The body is not syntactically valid JSON.
    MalformedJson = (400, "malformed_json", "请求体不是合法的 JSON", "The request body is not valid JSON"),
    /// The JSON is well formed but does not fit the expected shape (unknown field, wrong type, missing field).
    InvalidBody = (422, "invalid_body", "请求体字段有误", "The request body has invalid fields"),
    /// Values are well typed but break a rule (format, range, length).
    ValidationFailed = (422, "validation_failed", "提交的内容未通过校验", "The submitted values are not valid"),
    /// The `Content-Type` is not one this route accepts.
    UnsupportedMediaType = (415, "unsupported_media_type", "不支持的内容类型", "Unsupported content type"),
    /// The body is sent with a `Content-Encoding` this route cannot read (only `gzip` is
    /// decoded, and not on media uploads).
    UnsupportedContentEncoding = (415, "unsupported_content_encoding", "不支持的请求体压缩方式", "Unsupported content encoding"),
    /// The body is larger than this route accepts.
    PayloadTooLarge = (413, "payload_too_large", "请求体过大", "The request body is too large"),
    /// A path parameter has the wrong form (e.g. a non-numeric id).
    InvalidPathParam = (400, "invalid_path_param", "路径参数有误", "A path parameter is invalid"),
    /// A query parameter is missing or has the wrong form.
    InvalidQuery = (400, "invalid_query", "查询参数有误", "A query parameter is invalid"),
    /// A header has the wrong form.
    InvalidHeader = (400, "invalid_header", "请求头有误", "A request header is invalid"),
    /// No route has this path.
    RouteNotFound = (404, "route_not_found", "接口不存在", "No such route"),
    /// The path exists but not with this method.
    MethodNotAllowed = (405, "method_not_allowed", "不支持该请求方法", "Method not allowed on this route"),
    // --- generic outcomes -----------------------------------------------------------------
    /// The object does not exist or is outside the caller's scope.
    NotFound = (404, "not_found", "对象不存在", "Not found"),
    /// The caller can see the object but lacks the right to do this.
    Forbidden = (403, "forbidden", "没有权限执行此操作", "You do not have the right to do this"),
    /// The request conflicts with the current state.
    Conflict = (409, "conflict", "与当前状态冲突", "Conflicts with the current state"),
    /// Too many requests; `Retry-After` says when to try again.
    RateLimited = (429, "rate_limited", "请求过于频繁，请稍后再试", "Too many requests, try again later"),
    /// An unexpected failure inside the server (details are in the log only).
    Internal = (500, "internal", "服务器内部错误", "Internal server error"),
    /// A dependency the server needs is unreachable.
    ServiceUnavailable = (503, "service_unavailable", "服务暂不可用", "Service temporarily unavailable"),
    /// An outside service (WeChat, …) failed or answered unexpectedly.
    UpstreamFailed = (502, "upstream_failed", "外部服务调用失败", "An upstream service failed"),
    // --- authentication -------------------------------------------------------------------
    /// No bearer token was sent.
    TokenMissing = (401, "token_missing", "缺少访问令牌", "Access token missing"),
    /// The access token has expired.
    TokenExpired = (401, "token_expired", "访问令牌已过期", "Access token expired"),
    /// The access token is malformed, tampered with, or not ours.
    TokenInvalid = (401, "token_invalid", "访问令牌无效", "Access token invalid"),
    /// The access token was revoked (logout, password change, token reuse).
    TokenRevoked = (401, "token_revoked", "访问令牌已被撤销", "Access token revoked"),
    /// Phone or password is wrong (deliberately not saying which).
    InvalidCredentials = (401, "invalid_credentials", "手机号或密码错误", "Wrong phone number or password"),
    /// The refresh token is unknown, expired or revoked.
    RefreshTokenInvalid = (401, "refresh_token_invalid", "刷新令牌无效，请重新登录", "Refresh token invalid, please log in again"),
    /// A refresh token was used twice outside the grace window; its family is revoked.
    RefreshTokenReused = (401, "refresh_token_reused", "刷新令牌被重复使用，已退出所有相关会话", "Refresh token reused; the session was revoked"),
    /// The account is disabled.
    AccountDisabled = (403, "account_disabled", "账号已停用", "Account disabled"),
    /// The current password given for a change is wrong.
    WrongPassword = (403, "wrong_password", "当前密码错误", "Current password is wrong"),
    /// Another user already has this phone number.
    PhoneTaken = (409, "phone_taken", "该手机号已被使用", "This phone number is already in use"),
    // --- organizations and members --------------------------------------------------------
    /// An org move would put an org under itself.
    OrgCycle = (409, "org_cycle", "不能把组织移动到其自身或下级组织之下", "An organization cannot be moved under itself or its descendants"),
    /// The org kind cannot sit under that parent kind.
    OrgHierarchyInvalid = (422, "org_hierarchy_invalid", "组织层级不符合要求", "This kind of organization cannot sit there"),
    /// The user is already a member of an organization.
    AlreadyMember = (409, "already_member", "该用户已是党员（已有所属组织）", "The user already has a home organization"),
    /// This phone cannot be enrolled here: it belongs to a person outside the caller's scope
    /// (a member elsewhere, a role holder, an account with a password). Deliberately says
    /// no more, so that it does not reveal whether or where the phone is known.
    MemberNotAddable = (409, "member_not_addable", "无法在此添加该手机号。如此人已在其他组织，请由其所在组织办理组织关系转接", "This phone number cannot be added here. If the person belongs to another organization, ask it to transfer them"),
    /// No member with that phone exists (ask the branch secretary to add you).
    MemberNotFound = (404, "member_not_found", "未找到该手机号对应的党员，请联系所在支部书记", "No member with this phone number; ask your branch secretary"),
    // --- WeChat ---------------------------------------------------------------------------
    /// The WeChat login or phone code is invalid or used.
    WechatCodeInvalid = (400, "wechat_code_invalid", "微信登录凭证无效或已使用", "The WeChat code is invalid or already used"),
    /// The bind token is unknown or expired.
    BindTokenInvalid = (401, "bind_token_invalid", "绑定凭证无效或已过期，请重新登录", "The bind token is invalid or expired"),
    /// This WeChat account is bound to someone else.
    WechatAlreadyBound = (409, "wechat_already_bound", "该微信已绑定其他账号", "This WeChat account is bound to another user"),
    /// The account is bound to another WeChat account (its owner unbinds it, or a secretary
    /// resets it).
    AccountBoundToOtherWechat = (409, "account_bound_to_other_wechat", "该账号已绑定其他微信，请联系支部书记重置微信绑定", "This account is bound to another WeChat account; ask your branch secretary to reset it"),
    /// The WeChat account that sent the code is not the one bound to this account.
    WechatNotThisAccount = (403, "wechat_not_this_account", "当前微信不是此账号绑定的微信", "This WeChat account is not the one bound to this account"),
    /// Unbinding needs proof: the account's password or a login code from the bound WeChat.
    UnbindProofRequired = (422, "unbind_proof_required", "解除绑定需要输入账号密码，或在已绑定的微信中操作", "Give the account's password, or unbind from the bound WeChat"),
    /// The one-time login code is wrong, expired or used (or the phone is unknown).
    LoginCodeInvalid = (401, "login_code_invalid", "手机号或一次性登录码错误，或登录码已过期、已使用，请联系支部书记重新获取", "Wrong phone number or one-time login code, or the code has expired or was used; ask your branch secretary for a new one"),
    /// The account has no WeChat bound (log in through the mini-program first).
    WechatNotBound = (409, "wechat_not_bound", "此账号尚未绑定微信，请先在小程序中登录", "This account has no WeChat bound; log in through the mini-program first"),
    /// The subscription-message template is none of this platform's reminders.
    UnknownTemplate = (422, "unknown_template", "不认识的订阅消息模板", "This subscription-message template is none of our reminders"),
    /// The account holds a role or has a password: binding WeChat to it needs its password
    /// or a one-time code issued to it.
    WechatPasswordRequired = (403, "wechat_password_required", "此账号担任职务或设有密码，绑定微信需要输入账号密码或管理员发放的绑定码", "This account holds a role or has a password: give its password, or a one-time code from your administrator, to bind WeChat"),
    /// The one-time bind code is wrong, expired or already used.
    BindCodeInvalid = (403, "bind_code_invalid", "绑定码错误或已过期，请联系管理员重新获取", "The one-time bind code is wrong or has expired; ask your administrator for a new one"),
    /// WeChat login is not configured on this server.
    WechatNotConfigured = (503, "wechat_not_configured", "未配置微信登录", "WeChat login is not configured"),
    // --- courses --------------------------------------------------------------------------
    /// The course is published: lessons can be corrected but not added or removed.
    CourseLocked = (409, "course_locked", "课程已发布：课时可以修改但不能增删", "The course is published: lessons can be corrected, not added or removed"),
    /// Only published courses can be assigned.
    CourseNotPublished = (409, "course_not_published", "课程尚未发布", "The course is not published"),
    /// No quiz attempts are left.
    QuizAttemptsExhausted = (409, "quiz_attempts_exhausted", "测验次数已用完", "No quiz attempts left"),
    /// The quiz has attempts and can no longer be replaced.
    QuizLocked = (409, "quiz_locked", "已有人作答，测验不能再修改", "The quiz has attempts and cannot be replaced"),
    /// Extra attempts were asked for a quiz whose attempts are unlimited.
    QuizAttemptsUnlimited = (409, "quiz_attempts_unlimited", "该测验不限作答次数，无需增加", "This quiz has no attempt limit; there is nothing to grant"),
    // --- retries --------------------------------------------------------------------------
    /// The `Idempotency-Key` was used before with a different request body.
    IdempotencyKeyReused = (409, "idempotency_key_reused", "该幂等键已用于另一个请求", "This Idempotency-Key was used for a different request"),
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyInProgress = (409, "idempotency_in_progress", "相同请求正在处理中，请稍后重试", "The same request is still in progress; retry shortly"),
    // --- media ----------------------------------------------------------------------------
    /// The multipart body of an upload is malformed or was cut off.
    MalformedMultipart = (400, "malformed_multipart", "上传的表单格式错误或不完整", "The multipart upload is malformed or incomplete"),
    /// A media URL's signature is missing, malformed or does not match.
    MediaUrlInvalid = (403, "media_url_invalid", "媒体链接无效", "The media URL is not valid"),
    /// A signed media URL has expired; fetch the media or lesson again for a fresh one.
    MediaUrlExpired = (403, "media_url_expired", "媒体链接已过期，请刷新后重试", "The media URL has expired; reload to get a new one"),
    /// The requested byte range lies outside the media (`Content-Range` gives the size).
    RangeNotSatisfiable = (416, "range_not_satisfiable", "请求的字节范围超出文件大小", "The requested byte range is outside the file"),
    // --- activities -----------------------------------------------------------------------
    /// Check-in for this occurrence is not open (not opened yet, or closed).
    CheckinNotOpen = (409, "checkin_not_open", "签到尚未开始或已经结束", "Check-in is not open"),
    /// The check-in code is wrong or has expired.
    CheckinCodeInvalid = (422, "checkin_code_invalid", "签到码错误或已过期，请扫描最新的签到码", "The check-in code is wrong or has expired"),
    /// The location sent with a check-in is outside the activity's radius.
    CheckinOutOfRange = (422, "checkin_out_of_range", "不在活动地点范围内，无法签到", "You are outside the activity's check-in area"),
    /// The caller (or the member named) is not invited to this occurrence.
    NotInvited = (403, "not_invited", "不在本次活动的参加人员名单中", "Not invited to this activity"),
    /// The occurrence was cancelled.
    OccurrenceCancelled = (409, "occurrence_cancelled", "本次活动已取消", "This activity was cancelled"),
    /// The occurrence has attendance recorded and can no longer be moved or cancelled.
    OccurrenceHeld = (409, "occurrence_held", "本次活动已记录考勤，不能再调整或取消", "Attendance is recorded for this activity; it can no longer be moved or cancelled"),
    /// Leave must be asked before the occurrence starts.
    LeaveTooLate = (409, "leave_too_late", "活动已开始，不能再请假", "The activity has started; leave can no longer be asked"),
    /// Check-in is closed: attendance changes only through an audited correction.
    AttendanceFinal = (409, "attendance_final", "签到已结束，考勤只能通过更正修改", "Check-in is closed; attendance changes only through a correction"),
    /// No PDF of a meeting record can be made: the server has no font with Chinese glyphs
    /// (`DANGKE_CHART_FONT`); the `.xlsx` still can.
    RecordPdfUnavailable = (404, "record_pdf_unavailable", "服务器未安装中文字体，无法生成 PDF 会议记录（可导出 xlsx）", "No PDF record: the server has no font with Chinese glyphs (xlsx still works)"),
    // --- statistics -----------------------------------------------------------------------
    /// No digest chart can be drawn: the server has no font with Chinese glyphs
    /// (`DANGKE_CHART_FONT`); the text digest still goes.
    ChartUnavailable = (404, "chart_unavailable", "服务器未安装中文字体，无法生成统计图", "No chart: the server has no font with Chinese glyphs"),
    /// A chart URL's signature is missing, malformed or does not match its org and dates.
    ChartUrlInvalid = (403, "chart_url_invalid", "统计图链接无效", "The chart URL is not valid"),
    /// A signed chart URL has expired; preview the digest again for a fresh one.
    ChartUrlExpired = (403, "chart_url_expired", "统计图链接已过期", "The chart URL has expired"),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A localized text: Chinese and English.
#[derive(Debug, Clone)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// One problem with one input field.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// Dotted path of the field (`members[3].phone`), or the parameter name.
    pub field: String,
    /// Stable code of the problem (`required`, `invalid_type`, `unknown_field`, `invalid_format`, …).
    pub code: &'static str,
    pub message: Text,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: Text) -> Self {
        FieldError {
            field: field.into(),
            code,
            message,
        }
    }
}

/// The wire shape of a field error.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The wire shape of every error (RFC 9457 problem details plus `code` and `errors`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:dangke:error:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
}

/// An error as returned by handlers and feature logic.
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Option<Text>,
    pub fields: Vec<FieldError>,
    /// Extra headers (`Retry-After`, `Allow`, rate-limit headers).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The underlying cause, logged for 5xx, never sent.
    pub cause: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        ApiError {
            code,
            detail: None,
            fields: Vec::new(),
            headers: Vec::new(),
            cause: None,
        }
    }

    /// A 500 with its cause kept for the log.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::new(ErrorCode::Internal).with_cause(cause)
    }

    pub fn not_found() -> Self {
        ApiError::new(ErrorCode::NotFound)
    }

    pub fn forbidden() -> Self {
        ApiError::new(ErrorCode::Forbidden)
    }

    /// A 422 `validation_failed` for one field.
    pub fn invalid_field(field: impl Into<String>, code: &'static str, message: Text) -> Self {
        ApiError::new(ErrorCode::ValidationFailed).with_field(FieldError::new(field, code, message))
    }

    pub fn with_detail(mut self, zh: impl Into<String>, en: impl Into<String>) -> Self {
        self.detail = Some(Text::new(zh, en));
        self
    }

    pub fn with_field(mut self, field: FieldError) -> Self {
        self.fields.push(field);
        self
    }

    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.fields.extend(fields);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl fmt::Display) -> Self {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            self.headers.push((name, v));
        }
        self
    }

    pub fn with_cause(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The body sent for this error in `lang`. 5xx details are replaced by the generic title.
    pub fn problem(&self, lang: Lang) -> Problem {
        let opaque = self.code.status().is_server_error();
        let title = self.code.title(lang).to_string();
        let detail = match (&self.detail, opaque) {
            (Some(d), false) => d.get(lang).to_string(),
            _ => title.clone(),
        };
        Problem {
            type_: format!("urn:dangke:error:{}", self.code.as_str()),
            title,
            status: self.code.status().as_u16(),
            detail,
            code: self.code,
            errors: self
                .fields
                .iter()
                .map(|f| FieldErrorBody {
                    field: f.field.clone(),
                    code: f.code.to_string(),
                    message: f.message.get(lang).to_string(),
                })
                .collect(),
        }
    }

    /// Renders the problem document in `lang`.
    pub fn render(&self, lang: Lang) -> HttpResponse {
        let body = serde_json::to_vec(&self.problem(lang)).unwrap_or_default();
        let mut res = HttpResponse::build(self.code.status());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        res.insert_header((header::CONTENT_LANGUAGE, lang.tag()));
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.clone()));
        }
        res.body(body)
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ApiError");
        d.field("code", &self.code);
        if let Some(detail) = &self.detail {
            d.field("detail", &detail.en);
        }
        if !self.fields.is_empty() {
            d.field("fields", &self.fields);
        }
        if let Some(cause) = &self.cause {
            d.field("cause", &format_args!("{cause:#}"));
        }
        d.finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause:#}")?;
        } else if let Some(detail) = &self.detail {
            write!(f, ": {}", detail.en)?;
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    /// Chinese by default; [`crate::http::lang`] re-renders it when the caller prefers English.
    fn error_response(&self) -> HttpResponse {
        self.render(Lang::Zh)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => ApiError::not_found(),
            other => ApiError::internal(other),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::new(ErrorCode::ServiceUnavailable).with_cause(e)
    }
}

/// Result alias used by handlers and feature logic.
pub type ApiResult<T> = Result<T, ApiError>;

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_ref()
            .map(|c| c.as_ref() as &(dyn std::error::Error + 'static))
    }
}
