//! The agent API (`/v1/agent/…`, contract in `docs/agent-api.md`): login, presence, the agent's
//! event socket, and what an agent does with a transfer.
//!
//! The handlers check requests and show results; what they mean for the desk and the transfer is
//! the conversation's (`conversation::agents`), which reaches the desk through the same
//! `ServiceDesk` as the customer side. Every route but login takes the login token as
//! `Authorization: Bearer`; the WebSocket takes it the same way, or as `?token=` from a browser,
//! which cannot set headers on a WebSocket (a token in a query string ends up in access logs, so
//! other clients should send the header).
//!
//! Console frames are built here from the desk's `AgentEvent`s (ids are transfer ids, never
//! the desk's chat ids), so the desk's types are not the wire format.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json_, json};
use utoipa::ToSchema;

use baton_desk::own::{AgentConfig, AgentEvent, Disposition, Presence};
use baton_desk::{ChatId, ChatRequest, TransferState};
use baton_store::SessionId;

use crate::conversation::agents::{AgentSignal, PassOn, SignedIn, wait_secs};
use crate::conversation::{Conversations, Notice};
use crate::error::{ApiError, ErrorBody};
use crate::request::{Body, parse_body};
use crate::state::App;

/// How often an idle agent socket is pinged.
const KEEPALIVE: Duration = Duration::from_secs(30);

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/agent/login", post(login))
        .route("/v1/agent/logout", post(logout))
        .route("/v1/agent/presence", put(presence))
        .route("/v1/agent/events", get(events))
        .route("/v1/agent/transfers/{id}", get(transfer))
        .route("/v1/agent/transfers/{id}/accept", post(accept))
        .route("/v1/agent/transfers/{id}/decline", post(decline))
        .route("/v1/agent/transfers/{id}/messages", post(message))
        .route("/v1/agent/transfers/{id}/transfer", post(pass_on))
        .route("/v1/agent/transfers/{id}/end", post(end))
        .route("/v1/agent/queues", get(queues))
        .route("/v1/agent/tickets", get(tickets))
}

fn agent_json(agent: &AgentConfig) -> Json_ {
    json!({"id": agent.id, "name": agent.name, "queues": agent.queues, "capacity": agent.capacity})
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn from_headers(app: &App, headers: &HeaderMap) -> Result<SignedIn, ApiError> {
    Ok(app.conversations.sign_in(bearer(headers)).await?)
}

fn parse<T: serde::de::DeserializeOwned + Serialize>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    parse_body(headers, body)
}

// ---- login ----

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

/// Log in: a token for the other agent routes, valid 12 hours.
#[utoipa::path(
    post,
    path = "/v1/agent/login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "`{\"token\", \"agent\": {\"id\", \"name\", \"queues\", \"capacity\"}, \"expires_at\"}`"),
        (status = 400, body = ErrorBody, description = "`invalid_request`: not JSON, or without `username` or `password`"),
        (status = 401, body = ErrorBody, description = "`bad_credentials`"),
        (status = 429, body = ErrorBody, description = "`rate_limited`, per client address and per username"),
    ),
    security(()),
    tag = "agents"
)]
pub(crate) async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let request: LoginRequest = parse(&headers, body)?;
    let ip = address.ip().to_string();
    let username = request.username.trim().to_owned();
    for client in [format!("ip:{ip}"), format!("user:{username}")] {
        if let Err(retry_after_secs) = app.login_limiter.check(&client) {
            tracing::warn!(client = %client, "agent login rate limited");
            return Err(ApiError::RateLimited { retry_after_secs });
        }
    }
    let login = app.conversations.log_in(&username, request.password).await?;
    Ok(Json(json!({
        "token": login.token,
        "agent": agent_json(&login.agent),
        "expires_at": login.expires_at,
        "presence": login.presence,
    })))
}

/// Log out: the token stops working.
#[utoipa::path(
    post,
    path = "/v1/agent/logout",
    responses((status = 200, description = "`{}`"), (status = 401, body = ErrorBody)),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    app.conversations.log_out(&signed_in).await?;
    Ok(Json(json!({})))
}

// ---- presence ----

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresenceRequest {
    /// `online`, `away` (keeps chats, no new offers) or `offline`.
    #[schema(value_type = String)]
    presence: Presence,
}

/// Set the agent's presence.
#[utoipa::path(
    put,
    path = "/v1/agent/presence",
    request_body = PresenceRequest,
    responses((status = 200, description = "`{\"presence\": \"online\"}`"), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn presence(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    let request: PresenceRequest = parse(&headers, body)?;
    app.conversations
        .set_presence(&signed_in.agent.id, request.presence)
        .await?;
    Ok(Json(json!({"presence": request.presence})))
}

// ---- the event socket ----

#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    #[serde(default)]
    token: Option<String>,
}

/// Frames a console may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ConsoleFrame {
    Ping,
    Typing { transfer: String, typing: bool },
    Read { transfer: String, up_to: String },
}

/// The agent's event socket: `hello`, then offers, chats, customer messages, typing, read
/// receipts, queue changes and presence, one JSON text frame each (see `docs/agent-api.md`).
#[utoipa::path(
    get,
    path = "/v1/agent/events",
    params(("token" = Option<String>, Query, description = "The login token, from a browser (which cannot set headers on a WebSocket); other clients send `Authorization: Bearer`")),
    responses((status = 101, description = "Switching to the WebSocket protocol"), (status = 401, body = ErrorBody)),
    security((), ("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn events(
    State(app): State<Arc<App>>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let result = async {
        let Query(query) = query.map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))?;
        // The header when there is one, else the query string (browsers).
        let token = bearer(&headers).or(query.token.as_deref());
        let signed_in = app.conversations.sign_in(token).await?;
        let upgrade = upgrade.map_err(|rejection| ApiError::InvalidRequest(rejection.body_text()))?;
        Ok::<_, ApiError>((signed_in, upgrade))
    }
    .await;
    match result {
        Ok((signed_in, upgrade)) => upgrade
            .max_message_size(16 * 1024)
            .read_buffer_size(crate::events::READ_BUFFER_BYTES)
            .on_upgrade(move |socket| serve(app, signed_in.agent, socket)),
        Err(error) => error.into_response(),
    }
}

async fn serve(app: Arc<App>, agent: AgentConfig, mut socket: WebSocket) {
    let conversations = &app.conversations;
    let Ok((mut desk_events, offers, chats)) = conversations.open_console(&agent.id).await else {
        return;
    };
    let mut notices = conversations.notices();
    let presence = conversations.presence(&agent.id).await;
    let mut opening = vec![json!({"type": "hello", "agent": agent_json(&agent), "presence": presence})];
    for offer in offers {
        if let Some(frame) = console_frame(conversations, offer).await {
            opening.push(frame);
        }
    }
    for chat in chats {
        if let Some(frame) = chat_frame(conversations, &chat).await {
            opening.push(frame);
        }
    }
    for frame in opening {
        if send(&mut socket, &frame).await.is_err() {
            return;
        }
    }
    tracing::debug!(agent = %agent.id, "agent socket opened");
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    let stop = conversations.desk_stopped();
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                let _ = socket.send(Frame::Close(None)).await;
                return;
            }
            event = desk_events.recv() => {
                let Some(event) = event else { return };
                if let Some(frame) = console_frame(conversations, event).await
                    && send(&mut socket, &frame).await.is_err()
                {
                    return;
                }
            }
            notice = notices.recv() => match notice {
                Ok((to, notice)) => {
                    if to != agent.id {
                        continue;
                    }
                    if let Some(frame) = notice_frame(conversations, notice).await
                        && send(&mut socket, &frame).await.is_err()
                    {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            frame = socket.recv() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    let reply = console_input(conversations, &agent, &text).await;
                    if let Some(reply) = reply
                        && send(&mut socket, &reply).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(Frame::Binary(_))) => {
                    let reply = json!({"type": "error", "baton_code": "bad_frame", "error": "binary frames are not accepted"});
                    if send(&mut socket, &reply).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            _ = keepalive.tick() => {
                if socket.send(Frame::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn send(socket: &mut WebSocket, frame: &Json_) -> Result<(), axum::Error> {
    socket.send(Frame::Text(frame.to_string().into())).await
}

/// A console frame: answered (ping, errors) or passed to the desk (typing, read).
async fn console_input(conversations: &Conversations, agent: &AgentConfig, text: &str) -> Option<Json_> {
    let bad = |error: String| Some(json!({"type": "error", "baton_code": "bad_frame", "error": error}));
    let frame = match serde_json::from_str::<ConsoleFrame>(text) {
        Ok(frame) => frame,
        Err(error) => return bad(format!("invalid frame: {error}")),
    };
    let (transfer, signal) = match frame {
        ConsoleFrame::Ping => return Some(json!({"type": "pong"})),
        ConsoleFrame::Typing { transfer, typing } => (transfer, AgentSignal::Typing(typing)),
        ConsoleFrame::Read { transfer, up_to } => (transfer, AgentSignal::Read(up_to)),
    };
    match conversations.agent_signal(agent, &transfer, signal).await {
        Ok(()) => None,
        Err(error) => bad(error),
    }
}

/// The frame for a notice from another console of the same agent.
async fn notice_frame(conversations: &Conversations, notice: Notice) -> Option<Json_> {
    match notice {
        Notice::Presence(presence) => Some(json!({"type": "presence", "presence": presence})),
        Notice::ChatAccepted(chat) => chat_frame(conversations, &chat).await,
    }
}

fn brief_json(request: &ChatRequest) -> Json_ {
    json!({
        "summary": request.brief.summary,
        "reason": request.brief.reason,
        "message_to_agent": request.brief.message_to_agent,
        "variables": request.brief.variables,
        "customer": request.customer,
    })
}

async fn chat_frame(conversations: &Conversations, chat: &ChatId) -> Option<Json_> {
    let loaded = conversations.chat_transfer(chat).await?;
    Some(json!({
        "type": "chat",
        "transfer": loaded.stored.id,
        "queue": conversations.queue_of(&loaded.request),
        "brief": brief_json(&loaded.request),
    }))
}

fn message_json(message: &baton_desk::CustomerMessage) -> Json_ {
    json!({"id": message.id, "at": message.at, "text": message.text})
}

/// The console's frame for a desk event.
async fn console_frame(conversations: &Conversations, event: AgentEvent) -> Option<Json_> {
    Some(match event {
        AgentEvent::Offer {
            request,
            waiting_messages,
            expires_at,
            from_agent,
            ..
        } => json!({
            "type": "offer",
            "transfer": request.transfer,
            "queue": conversations.queue_of(&request),
            "expires_at": expires_at,
            "from_agent": from_agent,
            "brief": brief_json(&request),
            "waiting_messages": waiting_messages.iter().map(message_json).collect::<Vec<_>>(),
        }),
        AgentEvent::OfferWithdrawn { chat, reason } => json!({
            "type": "offer_withdrawn",
            "transfer": conversations.transfer_of_chat(&chat).await?,
            "reason": reason,
        }),
        AgentEvent::CustomerMessage { chat, message } => json!({
            "type": "customer_message",
            "transfer": conversations.transfer_of_chat(&chat).await?,
            "message": message_json(&message),
        }),
        AgentEvent::CustomerTyping { chat, typing } => json!({
            "type": "customer_typing",
            "transfer": conversations.transfer_of_chat(&chat).await?,
            "typing": typing,
        }),
        AgentEvent::CustomerRead { chat, up_to } => json!({
            "type": "customer_read",
            "transfer": conversations.transfer_of_chat(&chat).await?,
            "up_to": up_to,
        }),
        AgentEvent::ChatEnded { chat, by, reason } => json!({
            "type": "chat_ended",
            "transfer": conversations.transfer_of_chat(&chat).await?,
            "by": crate::conversation::ended_by(by),
            "reason": reason,
        }),
        AgentEvent::QueueChanged {
            queue,
            waiting,
            oldest_since,
        } => json!({
            "type": "queue",
            "queue": queue,
            "waiting": waiting,
            "oldest_wait_secs": oldest_since.map(|since| wait_secs(since, conversations.desk_now())),
        }),
    })
}

fn entry_json(entry: &baton_store::TranscriptEntry) -> Json_ {
    let payload: Json_ = serde_json::from_str(entry.payload.get()).unwrap_or(Json_::Null);
    json!({"seq": entry.seq, "at": entry.at, "kind": entry.kind.as_str(), "payload": payload})
}

/// A transfer: state, brief and the whole transcript.
#[utoipa::path(
    get,
    path = "/v1/agent/transfers/{id}",
    params(("id" = String, Path, description = "The transfer's id")),
    responses(
        (status = 401, body = ErrorBody, description = "`unauthorized`: no, an unknown, an expired or a revoked token"),
        (status = 200, description = "`{\"id\", \"session_id\", \"state\", \"queue\", \"agent\", \"opened_at\", \"brief\", \"transcript\": [{\"seq\", \"at\", \"kind\", \"payload\"}]}`"),
        (status = 404, body = ErrorBody, description = "`not_found`: unknown, or not of the agent's queues"),
    ),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn transfer(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    let (loaded, transcript) = app.conversations.transfer_for_agent(&signed_in.agent, &id).await?;
    Ok(Json(json!({
        "id": loaded.stored.id,
        "session_id": loaded.stored.session_id.as_str(),
        "state": loaded.transfer.state(),
        "queue": loaded.queue(app.conversations.default_queue()),
        "agent": loaded.transfer.agent(),
        "opened_at": loaded.transfer.opened_at(),
        "brief": brief_json(&loaded.request),
        "transcript": transcript.iter().map(entry_json).collect::<Vec<_>>(),
    })))
}

/// Accept an offered transfer.
#[utoipa::path(
    post,
    path = "/v1/agent/transfers/{id}/accept",
    params(("id" = String, Path, description = "The transfer's id")),
    responses(
        (status = 401, body = ErrorBody, description = "`unauthorized`: no, an unknown, an expired or a revoked token"),
        (status = 200, description = "`{\"state\": \"active\"}`"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_offered`: the offer is gone"),
    ),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn accept(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    app.conversations.accept(&signed_in.agent, &id).await?;
    Ok(Json(json!({"state": TransferState::Active})))
}

/// Decline an offered transfer: it is offered to the next agent.
#[utoipa::path(
    post,
    path = "/v1/agent/transfers/{id}/decline",
    params(("id" = String, Path, description = "The transfer's id")),
    responses((status = 401, body = ErrorBody, description = "`unauthorized`: no, an unknown, an expired or a revoked token"), (status = 200, description = "`{}`"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn decline(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    app.conversations.decline(&signed_in.agent, &id).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentMessageRequest {
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageOut {
    id: String,
    #[schema(value_type = String, format = DateTime)]
    at: DateTime<Utc>,
    text: String,
}

/// Write to the customer; answered once the message is in the transcript.
#[utoipa::path(
    post,
    path = "/v1/agent/transfers/{id}/messages",
    params(("id" = String, Path, description = "The transfer's id")),
    request_body = AgentMessageRequest,
    responses(
        (status = 401, body = ErrorBody, description = "`unauthorized`: no, an unknown, an expired or a revoked token"),
        (status = 201, body = MessageOut),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_in_chat`"),
        (status = 503, body = ErrorBody, description = "not stored in time; the customer may or may not have it"),
    ),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn message(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    let request: AgentMessageRequest = parse(&headers, body)?;
    let text = request.text.trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::InvalidRequest("text: must not be empty".to_owned()));
    }
    if text.chars().count() > app.config.max_text_chars {
        return Err(ApiError::TextTooLong(app.config.max_text_chars));
    }
    let (id, sent) = app.conversations.agent_message(&signed_in.agent, &id, text).await?;
    Ok((
        StatusCode::CREATED,
        Json(MessageOut {
            id,
            at: sent.at,
            text: sent.text,
        }),
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PassOnRequest {
    /// Another agent's id, who must accept.
    #[serde(default)]
    agent: Option<String>,
    /// Or a queue.
    #[serde(default)]
    queue: Option<String>,
}

/// Pass an active chat to another agent or to a queue.
#[utoipa::path(
    post,
    path = "/v1/agent/transfers/{id}/transfer",
    params(("id" = String, Path, description = "The transfer's id")),
    request_body = PassOnRequest,
    responses(
        (status = 401, body = ErrorBody, description = "`unauthorized`: no, an unknown, an expired or a revoked token"),
        (status = 200, description = "`{}`"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_in_chat`, or `agent_unavailable`: the other agent is offline, away or at capacity"),
    ),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn pass_on(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    let request: PassOnRequest = parse(&headers, body)?;
    let target = match (request.agent, request.queue) {
        (Some(agent), None) => PassOn::Agent(agent),
        (None, Some(queue)) => PassOn::Queue(queue),
        _ => {
            return Err(ApiError::InvalidRequest(
                "give exactly one of agent and queue".to_owned(),
            ));
        }
    };
    app.conversations.pass_on(&signed_in.agent, &id, target).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "disposition", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum EndRequest {
    Resolved,
    HandBack {
        /// The action the assistant runs next.
        #[serde(default)]
        resume: Option<String>,
        /// Variables the assistant sets first.
        #[serde(default)]
        #[schema(value_type = Object)]
        variables: BTreeMap<String, Json_>,
    },
}

/// End the chat: resolved, or hand the customer back to the assistant.
#[utoipa::path(
    post,
    path = "/v1/agent/transfers/{id}/end",
    params(("id" = String, Path, description = "The transfer's id")),
    request_body = EndRequest,
    responses((status = 401, body = ErrorBody, description = "`unauthorized`: no, an unknown, an expired or a revoked token"), (status = 200, description = "`{}`"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn end(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    let request: EndRequest = parse(&headers, body)?;
    let disposition = match request {
        EndRequest::Resolved => Disposition::Resolved,
        EndRequest::HandBack { resume, variables } => Disposition::HandBack { resume, variables },
    };
    app.conversations.end(&signed_in.agent, &id, disposition).await?;
    Ok(Json(json!({})))
}

// ---- supervisor view and tickets ----

/// Queues, agents and waiting customers, for the queues the agent serves.
#[utoipa::path(
    get,
    path = "/v1/agent/queues",
    responses(
        (status = 200, description = "`{\"queues\": [{\"name\", \"waiting\", \"oldest_wait_secs\", \"agents_online\"}], \"agents\": [{\"id\", \"name\", \"presence\", \"chats\", \"capacity\"}], \"waiting\": [{\"transfer\", \"queue\", \"since\", \"reason\"}]}`"),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn queues(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    let overview = app.conversations.overview(&signed_in.agent).await?;
    let queues: Vec<Json_> = overview
        .queues
        .iter()
        .map(|queue| {
            json!({
                "name": queue.name,
                "waiting": queue.waiting,
                "oldest_wait_secs": queue.oldest_wait_secs,
                "agents_online": queue.agents_online,
            })
        })
        .collect();
    let colleagues: Vec<Json_> = overview
        .agents
        .iter()
        .map(|colleague| {
            json!({
                "id": colleague.agent.id,
                "name": colleague.agent.name,
                "presence": colleague.presence,
                "chats": colleague.chats,
                "capacity": colleague.agent.capacity,
            })
        })
        .collect();
    let waiting: Vec<Json_> = overview
        .waiting
        .iter()
        .map(|waiting| {
            json!({
                "transfer": waiting.loaded.stored.id,
                "queue": waiting.queue,
                "since": waiting.since,
                "reason": waiting.loaded.request.brief.reason,
            })
        })
        .collect();
    Ok(Json(
        json!({"queues": queues, "agents": colleagues, "waiting": waiting}),
    ))
}

/// Messages customers left while no agent was available, for the agent's queues.
#[utoipa::path(
    get,
    path = "/v1/agent/tickets",
    responses(
        (status = 200, description = "`{\"tickets\": [{\"id\", \"session_id\", \"queue\", \"text\", \"created_at\"}]}`"),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = [])),
    tag = "agents"
)]
pub(crate) async fn tickets(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Json_>, ApiError> {
    let signed_in = from_headers(&app, &headers).await?;
    let tickets: Vec<Json_> = app
        .conversations
        .tickets_for(&signed_in.agent)
        .await?
        .into_iter()
        .map(|ticket| {
            json!({
                "id": ticket.id,
                "session_id": SessionId::as_str(&ticket.session_id),
                "queue": ticket.queue,
                "text": ticket.text,
                "created_at": ticket.created_at,
            })
        })
        .collect();
    Ok(Json(json!({"tickets": tickets})))
}
