//! [`ApiError`]: every error the HTTP API returns, and the one place it becomes a response.
//!
//! The body has IBM's shape, `{"error": "...", "code": 404}`, so the `ibm-watson` SDKs raise
//! their usual `ApiException` with the message, plus `baton_code`, a stable machine-readable
//! name that clients and tests match on (the English text may change, the code does not).
//! A 5xx body never says what went wrong inside; that goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use baton_store::StoreError;

use crate::conversation::ConversationError;

/// The error body: IBM's `error` and `code`, and our stable `baton_code`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A human-readable description of what was wrong.
    pub error: String,
    /// The HTTP status code, as IBM repeats it in the body.
    pub code: u16,
    /// A stable name for the error, e.g. `session_not_found`, `invalid_json`.
    pub baton_code: &'static str,
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Resource not found")]
    RouteNotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("Assistant '{0}' not found")]
    AssistantNotFound(String),
    #[error("Environment '{0}' not found: use 'draft' or 'live'")]
    EnvironmentNotFound(String),
    /// IBM answers an unknown session with exactly this text.
    #[error("Invalid Session")]
    SessionNotFound,
    /// Ended by inactivity or deleted. IBM does not tell these from unknown; `baton_code` does.
    #[error("Invalid Session")]
    SessionExpired,
    #[error("Missing required query parameter 'version'")]
    MissingVersion,
    #[error("Invalid query string: {0}")]
    InvalidQuery(String),
    #[error("Invalid JSON: {0}")]
    InvalidJson(String),
    #[error("Invalid request body: {0}")]
    InvalidRequest(String),
    #[error("Request body is not valid UTF-8")]
    InvalidUtf8,
    #[error("Request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("Unsupported content type: send 'application/json'")]
    UnsupportedMediaType,
    #[error("Invalid header: {0}")]
    InvalidHeader(String),
    #[error("Validation error: input.text cannot be longer than {0} characters")]
    TextTooLong(usize),
    #[error("Unsupported input.message_type '{0}': only 'text' is supported")]
    UnsupportedMessageType(String),
    #[error("Unauthorized")]
    Unauthorized,
    /// An agent login with an unknown username or a wrong password (the same answer for both).
    #[error("Wrong username or password")]
    BadCredentials,
    /// No such transfer, or not one of the agent's queues (the same answer for both).
    #[error("Transfer not found")]
    TransferNotFound,
    #[error("The transfer is not offered to you (any more)")]
    NotOffered,
    #[error("You are not in this chat")]
    NotInChat,
    #[error("That agent cannot take the chat now (offline, away or at capacity)")]
    AgentUnavailable,
    #[error("Rate limit exceeded: retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("The session was changed by another request at the same time; retry")]
    Conflict,
    #[error("Service unavailable")]
    Unavailable,
    /// The database cannot be reached now (PostgreSQL down or restarting); nothing was changed.
    #[error("The database cannot be reached; nothing was changed, retry shortly")]
    DatabaseUnavailable,
    /// An agent route at a server that does not hold the desk (replicas: the load balancer
    /// sends agent routes to the one whose `/readyz/desk` answers 200).
    #[error("This server does not hold the desk now; agent routes go to the one that does, retry shortly")]
    DeskElsewhere,
    #[error("No desk named '{0}' takes webhooks here")]
    DeskNotFound(String),
    /// A desk's webhook call whose signature is missing, wrong or too old.
    #[error("Desk signature rejected: {0}")]
    DeskSignature(String),
    #[error("Invalid desk event: {0}")]
    DeskEvent(String),
    /// A desk event for a chat this server does not have open.
    #[error("No open chat '{0}'")]
    ChatNotFound(String),
    /// A history link that is malformed, forged or past its expiry (the same answer for all).
    #[error("This history link is not valid (it may have expired)")]
    HistoryLinkInvalid,
    #[error("The phone channel is not configured: set [voice] auth_token_env or auth_token_file")]
    VoiceNotConfigured,
    #[error("Carrier signature rejected: {0}")]
    VoiceSignature(String),
    #[error("Missing field '{0}' in the carrier's request")]
    MissingField(&'static str),
    #[error("Turn {0} is not the call's current turn and was not answered before")]
    StaleTurn(u32),
    #[error("Internal Server Error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::RouteNotFound
            | ApiError::AssistantNotFound(_)
            | ApiError::EnvironmentNotFound(_)
            | ApiError::SessionNotFound
            | ApiError::SessionExpired
            | ApiError::TransferNotFound
            | ApiError::DeskNotFound(_)
            | ApiError::ChatNotFound(_)
            | ApiError::HistoryLinkInvalid
            | ApiError::VoiceNotConfigured => StatusCode::NOT_FOUND,
            ApiError::VoiceSignature(_) => StatusCode::FORBIDDEN,
            ApiError::MissingField(_) => StatusCode::BAD_REQUEST,
            ApiError::StaleTurn(_) => StatusCode::CONFLICT,
            ApiError::DeskSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::DeskEvent(_) => StatusCode::BAD_REQUEST,
            ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::NotOffered | ApiError::NotInChat | ApiError::AgentUnavailable => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MissingVersion
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidJson(_)
            | ApiError::InvalidRequest(_)
            | ApiError::InvalidUtf8
            | ApiError::InvalidHeader(_)
            | ApiError::TextTooLong(_)
            | ApiError::UnsupportedMessageType(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict => StatusCode::CONFLICT,
            ApiError::Unavailable | ApiError::DatabaseUnavailable | ApiError::DeskElsewhere => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable name (`baton_code`).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::RouteNotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::AssistantNotFound(_) => "assistant_not_found",
            ApiError::EnvironmentNotFound(_) => "environment_not_found",
            ApiError::SessionNotFound => "session_not_found",
            ApiError::SessionExpired => "session_expired",
            ApiError::MissingVersion => "missing_version",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::InvalidUtf8 => "invalid_utf8",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::InvalidHeader(_) => "invalid_header",
            ApiError::TextTooLong(_) => "text_too_long",
            ApiError::UnsupportedMessageType(_) => "unsupported_message_type",
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::TransferNotFound => "not_found",
            ApiError::NotOffered => "not_offered",
            ApiError::NotInChat => "not_in_chat",
            ApiError::AgentUnavailable => "agent_unavailable",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Conflict => "session_conflict",
            ApiError::Unavailable => "unavailable",
            ApiError::DatabaseUnavailable => "database_unavailable",
            ApiError::DeskElsewhere => "desk_elsewhere",
            ApiError::DeskNotFound(_) => "desk_not_found",
            ApiError::DeskSignature(_) => "desk_signature_invalid",
            ApiError::DeskEvent(_) => "desk_event_invalid",
            ApiError::ChatNotFound(_) => "chat_not_found",
            ApiError::HistoryLinkInvalid => "history_link_invalid",
            ApiError::VoiceNotConfigured => "voice_not_configured",
            ApiError::VoiceSignature(_) => "voice_signature_invalid",
            ApiError::MissingField(_) => "missing_field",
            ApiError::StaleTurn(_) => "stale_turn",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(_) => ApiError::SessionNotFound,
            StoreError::Expired(_) => ApiError::SessionExpired,
            StoreError::Conflict(_) => ApiError::Conflict,
            StoreError::Closed => ApiError::Unavailable,
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "database unavailable");
                ApiError::DatabaseUnavailable
            }
            other => ApiError::Internal(error_chain(&other)),
        }
    }
}

impl From<ConversationError> for ApiError {
    fn from(error: ConversationError) -> ApiError {
        match error {
            ConversationError::AssistantNotFound(id) => ApiError::AssistantNotFound(id),
            ConversationError::SessionNotFound => ApiError::SessionNotFound,
            ConversationError::SessionExpired => ApiError::SessionExpired,
            ConversationError::Conflict => ApiError::Conflict,
            ConversationError::TransferNotFound => ApiError::TransferNotFound,
            ConversationError::NotOffered => ApiError::NotOffered,
            ConversationError::NotInChat => ApiError::NotInChat,
            ConversationError::AgentUnavailable => ApiError::AgentUnavailable,
            ConversationError::Unauthorized => ApiError::Unauthorized,
            ConversationError::BadCredentials => ApiError::BadCredentials,
            // The agent API exists only for a desk whose agents use Baton's console.
            ConversationError::NoConsole => ApiError::RouteNotFound,
            ConversationError::InvalidRequest(detail) => ApiError::InvalidRequest(detail),
            ConversationError::NotStored => ApiError::Unavailable,
            ConversationError::Store(error) => ApiError::from(error),
            ConversationError::Internal(detail) => ApiError::Internal(detail),
            ConversationError::DeskNotFound(name) => ApiError::DeskNotFound(name),
            ConversationError::DeskElsewhere => ApiError::DeskElsewhere,
            ConversationError::DeskSignature(detail) => ApiError::DeskSignature(detail),
            ConversationError::DeskEvent(detail) => ApiError::DeskEvent(detail),
            ConversationError::ChatNotFound(chat) => ApiError::ChatNotFound(chat),
            ConversationError::HistoryLinkInvalid => ApiError::HistoryLinkInvalid,
            ConversationError::StaleTurn { turn } => ApiError::StaleTurn(turn),
        }
    }
}

/// The error and its sources, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        // The Display text of every variant is safe to show: Internal's detail is not in it.
        let body = ErrorBody {
            error: self.to_string(),
            code: status.as_u16(),
            baton_code: self.code(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::DatabaseUnavailable | ApiError::DeskElsewhere => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Unauthorized => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"baton\", Bearer"),
                );
            }
            _ => {}
        }
        response
    }
}
