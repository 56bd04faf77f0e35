//! The Watson Assistant v2 message API: sessions, stateful and stateless messages.
//!
//! Every route exists twice: on the environment-scoped paths the current `ibm-watson` SDKs call
//! (`/v2/assistants/{assistant_id}/environments/{environment_id}/…`, environments `draft` and
//! `live`) and on the older paths without `environments/{environment_id}`.
//!
//! The handlers read and check the request, hand it to the conversation (`conversation::turn`
//! says what a message does), and show the result in IBM's shape (`render`).
//!
//! A retried message is recognised by the `X-Client-Message-Id` header (chosen over a body
//! field because IBM's request has no such field and the header passes through every SDK's
//! `headers=` argument unchanged): within one session, a message id already answered gets the
//! stored reply again and the turn does not run twice.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use baton_dialog::Session;

use crate::conversation::{CustomerMessage, TurnInput};
use crate::error::{ApiError, ErrorBody};
use crate::render::{ResponseShape, decode_state};
use crate::request::{Body, Params, RawJson, client_message_id, parse_body, path_error, require_version};
use crate::state::App;
use crate::wire::{ACTIONS_SKILL, MessageRequest, MessageResponse, SessionResponse};

// ---- routes: the environment-scoped paths and the older ones, each a thin wrapper ----

/// Create a session.
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/environments/{environment_id}/sessions",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("environment_id" = String, Path, description = "`draft` or `live`"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date, e.g. `2024-08-25`"),
    ),
    responses(
        (status = 201, body = SessionResponse),
        (status = "4XX", body = ErrorBody),
    ),
    tag = "sessions"
)]
pub(crate) async fn create_session_env(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let Path((assistant_id, environment_id)) = path.map_err(path_error)?;
    create_session(app, &assistant_id, Some(&environment_id), query, headers, body).await
}

/// Create a session (path without environment).
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/sessions",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
    ),
    responses((status = 201, body = SessionResponse), (status = "4XX", body = ErrorBody)),
    tag = "sessions"
)]
pub(crate) async fn create_session_legacy(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let Path(assistant_id) = path.map_err(path_error)?;
    create_session(app, &assistant_id, None, query, headers, body).await
}

/// Send a message in a session.
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/environments/{environment_id}/sessions/{session_id}/message",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("environment_id" = String, Path, description = "`draft` or `live`"),
        ("session_id" = String, Path, description = "From create session"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
        ("X-Client-Message-Id" = Option<String>, Header, min_length = 1, max_length = 128, description = "Makes a retried message answered once (1 to 128 characters)"),
    ),
    request_body(content = MessageRequest, description = "May be left out: an empty message starts the conversation"),
    responses((status = 200, body = MessageResponse), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    tag = "messages"
)]
pub(crate) async fn message_env(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<RawJson, ApiError> {
    let Path((assistant_id, environment_id, session_id)) = path.map_err(path_error)?;
    message(
        app,
        assistant_id,
        Some(environment_id),
        session_id,
        query,
        headers,
        body,
    )
    .await
}

/// Send a message in a session (path without environment).
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/sessions/{session_id}/message",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("session_id" = String, Path, description = "From create session"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
        ("X-Client-Message-Id" = Option<String>, Header, min_length = 1, max_length = 128, description = "Makes a retried message answered once (1 to 128 characters)"),
    ),
    request_body(content = MessageRequest, description = "May be left out: an empty message starts the conversation"),
    responses((status = 200, body = MessageResponse), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    tag = "messages"
)]
pub(crate) async fn message_legacy(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<RawJson, ApiError> {
    let Path((assistant_id, session_id)) = path.map_err(path_error)?;
    message(app, assistant_id, None, session_id, query, headers, body).await
}

/// Delete a session; its transcript is kept.
#[utoipa::path(
    delete,
    path = "/v2/assistants/{assistant_id}/environments/{environment_id}/sessions/{session_id}",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("environment_id" = String, Path, description = "`draft` or `live`"),
        ("session_id" = String, Path, description = "From create session"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
    ),
    responses((status = 200, description = "Deleted: `{}`"), (status = "4XX", body = ErrorBody)),
    tag = "sessions"
)]
pub(crate) async fn delete_session_env(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((assistant_id, environment_id, session_id)) = path.map_err(path_error)?;
    delete_session(app, &assistant_id, Some(&environment_id), session_id, query).await
}

/// Delete a session (path without environment).
#[utoipa::path(
    delete,
    path = "/v2/assistants/{assistant_id}/sessions/{session_id}",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("session_id" = String, Path, description = "From create session"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
    ),
    responses((status = 200, description = "Deleted: `{}`"), (status = "4XX", body = ErrorBody)),
    tag = "sessions"
)]
pub(crate) async fn delete_session_legacy(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((assistant_id, session_id)) = path.map_err(path_error)?;
    delete_session(app, &assistant_id, None, session_id, query).await
}

/// Cancel the session's transfer: the customer no longer waits for an agent (or leaves the chat);
/// the assistant answers again.
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/environments/{environment_id}/sessions/{session_id}/transfer/cancel",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("environment_id" = String, Path, description = "`draft` or `live`"),
        ("session_id" = String, Path, description = "From create session"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
    ),
    responses(
        (status = 200, description = "`{\"cancelled\": true}`; `false` when no transfer was open"),
        (status = "4XX", body = ErrorBody),
    ),
    tag = "sessions"
)]
pub(crate) async fn cancel_transfer_env(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((assistant_id, environment_id, session_id)) = path.map_err(path_error)?;
    cancel_transfer(app, &assistant_id, Some(&environment_id), session_id, query).await
}

/// Cancel the session's transfer (path without environment).
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/sessions/{session_id}/transfer/cancel",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("session_id" = String, Path, description = "From create session"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
    ),
    responses(
        (status = 200, description = "`{\"cancelled\": true}`; `false` when no transfer was open"),
        (status = "4XX", body = ErrorBody),
    ),
    tag = "sessions"
)]
pub(crate) async fn cancel_transfer_legacy(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((assistant_id, session_id)) = path.map_err(path_error)?;
    cancel_transfer(app, &assistant_id, None, session_id, query).await
}

/// Send a stateless message: the state travels in `context.skills["actions skill"].system.state`.
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/environments/{environment_id}/message",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("environment_id" = String, Path, description = "`draft` or `live`"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
    ),
    request_body(content = MessageRequest, description = "May be left out: an empty message starts the conversation"),
    responses((status = 200, body = MessageResponse), (status = "4XX", body = ErrorBody)),
    tag = "messages"
)]
pub(crate) async fn stateless_env(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<RawJson, ApiError> {
    let Path((assistant_id, environment_id)) = path.map_err(path_error)?;
    stateless(app, &assistant_id, Some(&environment_id), query, headers, body).await
}

/// Send a stateless message (path without environment).
#[utoipa::path(
    post,
    path = "/v2/assistants/{assistant_id}/message",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("version" = String, Query, min_length = 1, pattern = r"\S", description = "API version date"),
    ),
    request_body(content = MessageRequest, description = "May be left out: an empty message starts the conversation"),
    responses((status = 200, body = MessageResponse), (status = "4XX", body = ErrorBody)),
    tag = "messages"
)]
pub(crate) async fn stateless_legacy(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<RawJson, ApiError> {
    let Path(assistant_id) = path.map_err(path_error)?;
    stateless(app, &assistant_id, None, query, headers, body).await
}

// ---- what the routes do ----

async fn create_session(
    app: Arc<App>,
    assistant_id: &str,
    environment_id: Option<&str>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    app.engine(assistant_id, environment_id)?;
    require_version(query)?;
    // The body (`analytics`) is optional and unused, but must still be well-formed.
    let _: serde_json::Value = parse_body(&headers, body)?;
    let session_id = app.conversations.create_session(assistant_id).await?;
    Ok((StatusCode::CREATED, Json(SessionResponse { session_id })))
}

async fn delete_session(
    app: Arc<App>,
    assistant_id: &str,
    environment_id: Option<&str>,
    session_id: String,
    query: Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    app.engine(assistant_id, environment_id)?;
    require_version(query)?;
    app.conversations.delete_session(assistant_id, &session_id).await?;
    Ok(Json(json!({})))
}

async fn cancel_transfer(
    app: Arc<App>,
    assistant_id: &str,
    environment_id: Option<&str>,
    session_id: String,
    query: Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    app.engine(assistant_id, environment_id)?;
    require_version(query)?;
    let cancelled = app.conversations.cancel_transfer(assistant_id, &session_id).await?;
    Ok(Json(json!({"cancelled": cancelled})))
}

async fn message(
    app: Arc<App>,
    assistant_id: String,
    environment_id: Option<String>,
    session_id: String,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<RawJson, ApiError> {
    app.engine(&assistant_id, environment_id.as_deref())?;
    require_version(query)?;
    let request: MessageRequest = parse_body(&headers, body)?;
    let (input, shape) = validate(&app, request, false)?;
    let client_message_id = client_message_id(&headers)?;
    let message = CustomerMessage {
        assistant_id,
        session_id,
        input,
        client_message_id,
    };
    let reply = app.conversations.message(message, shape).await?;
    Ok(RawJson(reply))
}

async fn stateless(
    app: Arc<App>,
    assistant_id: &str,
    environment_id: Option<&str>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<RawJson, ApiError> {
    let engine = app.engine(assistant_id, environment_id)?;
    require_version(query)?;
    let request: MessageRequest = parse_body(&headers, body)?;
    let state = request
        .context
        .as_ref()
        .and_then(|context| context.skills.as_ref())
        .and_then(|skills| skills.get(ACTIONS_SKILL))
        .and_then(|skill| skill.pointer("/system/state"))
        .cloned();
    let session_id = request
        .context
        .as_ref()
        .and_then(|context| context.global.as_ref())
        .and_then(|global| global.session_id.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let session = match state {
        None => Session::new(None, Some("api".to_owned())),
        Some(serde_json::Value::String(state)) => decode_state(&state).ok_or_else(|| {
            ApiError::InvalidRequest(
                "context.skills.actions skill.system.state: not a state this server issued".to_owned(),
            )
        })?,
        Some(_) => {
            return Err(ApiError::InvalidRequest(
                "context.skills.actions skill.system.state: expected a string".to_owned(),
            ));
        }
    };
    let (input, mut shape) = validate(&app, request, true)?;
    shape.state = true;
    let reply = app
        .conversations
        .stateless(&engine, session, &session_id, &input, &shape);
    Ok(RawJson(reply))
}

// ---- shared pieces ----

/// Checks the request against IBM's limits and reads what the turn needs.
fn validate(app: &App, request: MessageRequest, stateless: bool) -> Result<(TurnInput, ResponseShape), ApiError> {
    let input = request.input.unwrap_or_default();
    if let Some(kind) = &input.message_type
        && kind != "text"
    {
        return Err(ApiError::UnsupportedMessageType(kind.clone()));
    }
    let text = input.text;
    if let Some(text) = &text
        && text.chars().count() > app.config.max_text_chars
    {
        return Err(ApiError::TextTooLong(app.config.max_text_chars));
    }
    let options = input.options.unwrap_or_default();
    let mut variables = serde_json::Map::new();
    let context = request.context.unwrap_or_default();
    if let Some(skill) = context.skills.as_ref().and_then(|skills| skills.get(ACTIONS_SKILL)) {
        match skill.get("skill_variables") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Object(given)) => variables = given.clone(),
            Some(_) => {
                return Err(ApiError::InvalidRequest(
                    "context.skills.actions skill.skill_variables: expected an object".to_owned(),
                ));
            }
        }
    }
    let user_id = request.user_id.or_else(|| {
        context
            .global
            .and_then(|global| global.system)
            .and_then(|system| system.user_id)
    });
    let export = options.export.unwrap_or(false);
    let debug = options.debug.unwrap_or(false);
    let return_context = options.return_context.unwrap_or(false) || export || stateless;
    let shape = ResponseShape {
        alternate_intents: options.alternate_intents.unwrap_or(false),
        debug,
        return_context,
        state: export || (debug && return_context),
    };
    let input = TurnInput {
        text,
        restart: options.restart.unwrap_or(false),
        variables,
        user_id,
        ..TurnInput::default()
    };
    Ok((input, shape))
}
