//! The agent API (`/v1/agent/…`, contract in `docs/agent-api.md`): login, presence, the agent's
//! event socket, and what an agent does with a transfer.
//!
//! Agents log in with a username and password checked against the store (`baton agents add`,
//! argon2) or the configuration; a login gets a random token, stored by its SHA-256 like API
//! keys (the token is random, so a plain hash is enough), valid for [`TOKEN_LIFETIME`], which
//! survives restarts. Every other route takes it as `Authorization: Bearer`, the WebSocket
//! (opened by a browser) as `?token=`.
//!
//! Design decisions:
//! - An agent sees only transfers of the queues they serve; any other id answers `404`, exactly
//!   like an unknown id, so ids do not leak.
//! - Agents act on Baton's own desk directly ([`baton_desk::OwnDesk`]); what the desk tells the
//!   customer comes back through the chat's pump (`transfers.rs`), which stores it. A message
//!   route answers `201` only once the pump has committed the message.
//! - Console frames are built here from the desk's `AgentEvent`s (ids are transfer ids, never
//!   the desk's chat ids), so the desk's types are not the wire format.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json_, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use baton_desk::own::{AgentConfig, AgentEvent, Disposition, Presence, TransferTarget};
use baton_desk::{AgentId, ChatId, ChatRequest, DeskError, QueueName, TransferState};
use baton_store::{AgentRecord, AgentToken, SessionId, Store};

use crate::error::ErrorBody;
use crate::transfers::{self, Loaded};
use crate::{ApiError, App};

/// How long a login lasts.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// How often an idle agent socket is pinged.
const KEEPALIVE: Duration = Duration::from_secs(30);

type Body = Result<Bytes, BytesRejection>;

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

/// The desk's view of a stored agent; `None` if the stored names are not valid ids.
pub(crate) fn desk_agent(record: &AgentRecord) -> Option<AgentConfig> {
    let queues = record
        .queues
        .iter()
        .map(|queue| QueueName::parse(queue).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(AgentConfig {
        id: AgentId::parse(&record.username).ok()?,
        name: record.display_name.clone(),
        queues,
        capacity: record.capacity,
    })
}

fn agent_json(agent: &AgentConfig) -> Json_ {
    json!({"id": agent.id, "name": agent.name, "queues": agent.queues, "capacity": agent.capacity})
}

fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The logged-in agent of a request.
pub(crate) struct SignedIn {
    pub agent: AgentConfig,
    token_hash: String,
}

async fn signed_in(app: &App, token: Option<&str>) -> Result<SignedIn, ApiError> {
    let token = token.filter(|token| !token.is_empty()).ok_or(ApiError::Unauthorized)?;
    let hash = token_hash(token);
    let found = app.store.find_agent_token(&hash, app.clock.now()).await?;
    let found = found.ok_or(ApiError::Unauthorized)?;
    let id = AgentId::parse(&found.username).map_err(|_| ApiError::Unauthorized)?;
    let agent = transfers::ensure_agent(app, &id).await.ok_or(ApiError::Unauthorized)?;
    Ok(SignedIn {
        agent,
        token_hash: hash,
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn from_headers(app: &App, headers: &HeaderMap) -> Result<SignedIn, ApiError> {
    signed_in(app, bearer(headers)).await
}

fn parse<T: serde::de::DeserializeOwned + Serialize>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    crate::api::parse_body(headers, body)
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
    let record = credentials(&app, &username).await?;
    let Some(record) = record else {
        return Err(ApiError::BadCredentials);
    };
    let password = request.password;
    let hash = record.password_hash.clone();
    let verified = tokio::task::spawn_blocking(move || baton_store::password::verify(&password, &hash))
        .await
        .unwrap_or(false);
    if !verified {
        tracing::info!(agent = %username, "agent login refused");
        return Err(ApiError::BadCredentials);
    }
    let agent = desk_agent(&record).ok_or(ApiError::BadCredentials)?;
    app.desk.register_agent(agent.clone());
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let now = app.clock.now();
    let expires_at = now + chrono::Duration::from_std(TOKEN_LIFETIME).unwrap_or(chrono::Duration::MAX);
    app.store
        .create_agent_token(AgentToken {
            hash: token_hash(&token),
            username: record.username.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    tracing::info!(agent = %agent.id, "agent logged in");
    Ok(Json(json!({
        "token": token,
        "agent": agent_json(&agent),
        "expires_at": expires_at,
        "presence": app.desk.own.presence(&agent.id),
    })))
}

/// The stored agent, or one from the configuration (then stored, so its tokens are valid).
async fn credentials(app: &App, username: &str) -> Result<Option<AgentRecord>, ApiError> {
    if let Some(record) = app.store.find_agent(username).await? {
        return Ok(Some(record));
    }
    let configured = app
        .config
        .desk
        .agents
        .iter()
        .find(|agent| agent.id.as_str() == username);
    let Some(configured) = configured else {
        return Ok(None);
    };
    let Some(password_hash) = configured.password_hash.clone() else {
        return Ok(None);
    };
    let record = AgentRecord {
        username: username.to_owned(),
        display_name: configured.name.clone(),
        password_hash,
        queues: configured.queues.iter().map(ToString::to_string).collect(),
        capacity: configured.capacity,
        created_at: app.clock.now(),
    };
    app.store.upsert_agent(record.clone()).await?;
    Ok(Some(record))
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
    app.store.revoke_agent_token(&signed_in.token_hash).await?;
    tracing::info!(agent = %signed_in.agent.id, "agent logged out");
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
    app.desk
        .own
        .set_presence(&signed_in.agent.id, request.presence)
        .map_err(desk_error)?;
    let frame = json!({"type": "presence", "presence": request.presence});
    app.desk.notify(&signed_in.agent.id, frame);
    tracing::info!(agent = %signed_in.agent.id, presence = ?request.presence, "agent presence");
    Ok(Json(json!({"presence": request.presence})))
}

fn desk_error(error: DeskError) -> ApiError {
    match error {
        DeskError::NotOffered { .. } => ApiError::NotOffered,
        DeskError::NotInChat { .. } | DeskError::UnknownChat(_) => ApiError::NotInChat,
        DeskError::AgentBusy(_) | DeskError::UnknownAgent(_) => ApiError::AgentUnavailable,
        DeskError::InvalidId { kind, value } => ApiError::InvalidRequest(format!("invalid {kind}: {value:?}")),
        other => ApiError::Internal(format!("desk: {other}")),
    }
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
    params(("token" = String, Query, description = "The login token (a browser cannot set headers on a WebSocket)")),
    responses((status = 101, description = "Switching to the WebSocket protocol"), (status = 401, body = ErrorBody)),
    security(()),
    tag = "agents"
)]
pub(crate) async fn events(
    State(app): State<Arc<App>>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let result = async {
        let Query(query) = query.map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))?;
        let signed_in = signed_in(&app, query.token.as_deref()).await?;
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
    let Ok(mut desk_events) = app.desk.own.agent_events(&agent.id) else {
        return;
    };
    let mut notices = app.desk.notices();
    let presence = app.desk.own.presence(&agent.id).unwrap_or(Presence::Offline);
    let mut opening = vec![json!({"type": "hello", "agent": agent_json(&agent), "presence": presence})];
    for offer in app.desk.own.pending_offers(&agent.id) {
        if let Some(frame) = console_frame(&app, offer).await {
            opening.push(frame);
        }
    }
    for chat in app.desk.own.active_chats(&agent.id) {
        if let Some(frame) = chat_frame(&app, &chat).await {
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
    let stop = app.desk.stop.clone();
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                let _ = socket.send(Frame::Close(None)).await;
                return;
            }
            event = desk_events.recv() => {
                let Some(event) = event else { return };
                if let Some(frame) = console_frame(&app, event).await
                    && send(&mut socket, &frame).await.is_err()
                {
                    return;
                }
            }
            notice = notices.recv() => match notice {
                Ok((to, frame)) => {
                    if to == agent.id && send(&mut socket, &frame).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            frame = socket.recv() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    let reply = console_input(&app, &agent, &text).await;
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
async fn console_input(app: &App, agent: &AgentConfig, text: &str) -> Option<Json_> {
    let bad = |error: String| Some(json!({"type": "error", "baton_code": "bad_frame", "error": error}));
    let frame = match serde_json::from_str::<ConsoleFrame>(text) {
        Ok(frame) => frame,
        Err(error) => return bad(format!("invalid frame: {error}")),
    };
    let (transfer, signal) = match frame {
        ConsoleFrame::Ping => return Some(json!({"type": "pong"})),
        ConsoleFrame::Typing { transfer, typing } => (transfer, Ok(typing)),
        ConsoleFrame::Read { transfer, up_to } => (transfer, Err(up_to)),
    };
    let chat = match visible(app, agent, &transfer).await {
        Ok(loaded) => loaded.transfer.chat().cloned(),
        Err(_) => None,
    };
    let Some(chat) = chat else {
        return bad(format!("transfer {transfer} is not one of your chats"));
    };
    let result = match signal {
        Ok(typing) => app.desk.own.agent_typing(&agent.id, &chat, typing),
        Err(up_to) => match baton_desk::MessageId::parse(&up_to) {
            Ok(up_to) => app.desk.own.agent_read(&agent.id, &chat, up_to),
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(()) => None,
        Err(error) => bad(error.to_string()),
    }
}

/// The transfer a chat belongs to: this process's link, else the store.
async fn transfer_of_chat(app: &App, chat: &ChatId) -> Option<String> {
    if let Some(link) = app.desk.link(chat) {
        return Some(link.transfer.to_string());
    }
    match app.store.find_transfer_by_chat(chat.as_str()).await {
        Ok(found) => found.map(|stored| stored.id),
        Err(error) => {
            tracing::warn!(%error, "looking up a chat's transfer failed");
            None
        }
    }
}

fn brief_json(request: &ChatRequest) -> Json_ {
    json!({
        "reason": request.brief.reason,
        "message_to_agent": request.brief.message_to_agent,
        "variables": request.brief.variables,
        "customer": request.customer,
    })
}

fn queue_of(app: &App, request: &ChatRequest) -> QueueName {
    request
        .routing
        .queue
        .clone()
        .unwrap_or_else(|| app.config.desk.settings.default_queue.clone())
}

async fn chat_frame(app: &App, chat: &ChatId) -> Option<Json_> {
    let transfer = transfer_of_chat(app, chat).await?;
    let loaded = transfers::load(app, &transfer).await.ok()??;
    Some(json!({
        "type": "chat",
        "transfer": transfer,
        "queue": queue_of(app, &loaded.request),
        "brief": brief_json(&loaded.request),
    }))
}

fn message_json(message: &baton_desk::CustomerMessage) -> Json_ {
    json!({"id": message.id, "at": message.at, "text": message.text})
}

/// The console's frame for a desk event.
async fn console_frame(app: &App, event: AgentEvent) -> Option<Json_> {
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
            "queue": queue_of(app, &request),
            "expires_at": expires_at,
            "from_agent": from_agent,
            "brief": brief_json(&request),
            "waiting_messages": waiting_messages.iter().map(message_json).collect::<Vec<_>>(),
        }),
        AgentEvent::OfferWithdrawn { chat, reason } => json!({
            "type": "offer_withdrawn",
            "transfer": transfer_of_chat(app, &chat).await?,
            "reason": reason,
        }),
        AgentEvent::CustomerMessage { chat, message } => json!({
            "type": "customer_message",
            "transfer": transfer_of_chat(app, &chat).await?,
            "message": message_json(&message),
        }),
        AgentEvent::CustomerTyping { chat, typing } => json!({
            "type": "customer_typing",
            "transfer": transfer_of_chat(app, &chat).await?,
            "typing": typing,
        }),
        AgentEvent::CustomerRead { chat, up_to } => json!({
            "type": "customer_read",
            "transfer": transfer_of_chat(app, &chat).await?,
            "up_to": up_to,
        }),
        AgentEvent::ChatEnded { chat, by, reason } => json!({
            "type": "chat_ended",
            "transfer": transfer_of_chat(app, &chat).await?,
            "by": transfers::ended_by(by),
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
            "oldest_wait_secs": oldest_since.map(|since| wait_secs(since, app.desk.own.now())),
        }),
    })
}

fn wait_secs(since: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((now - since).num_seconds()).unwrap_or(0)
}

// ---- transfers ----

/// The transfer, if it exists and belongs to a queue the agent serves, or the desk has offered
/// it to the agent or put them in its chat (after it was passed on to their queue or to them).
async fn visible(app: &App, agent: &AgentConfig, id: &str) -> Result<Loaded, ApiError> {
    let loaded = transfers::load(app, id).await?.ok_or(ApiError::TransferNotFound)?;
    let queue = loaded.queue(&app.config.desk.settings.default_queue);
    if agent.serves(&queue) {
        return Ok(loaded);
    }
    let Some(chat) = loaded.transfer.chat() else {
        return Err(ApiError::TransferNotFound);
    };
    let offered = app.desk.own.pending_offers(&agent.id).iter().any(|offer| match offer {
        AgentEvent::Offer { chat: offered, .. } => offered == chat,
        _ => false,
    });
    match offered || app.desk.own.active_chats(&agent.id).contains(chat) {
        true => Ok(loaded),
        false => Err(ApiError::TransferNotFound),
    }
}

fn chat(loaded: &Loaded) -> Result<ChatId, ApiError> {
    loaded.transfer.chat().cloned().ok_or(ApiError::NotOffered)
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
    let loaded = visible(&app, &signed_in.agent, &id).await?;
    let transcript = app.store.transcript(&loaded.stored.session_id).await?;
    Ok(Json(json!({
        "id": loaded.stored.id,
        "session_id": loaded.stored.session_id.as_str(),
        "state": loaded.transfer.state(),
        "queue": loaded.queue(&app.config.desk.settings.default_queue),
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
    let loaded = visible(&app, &signed_in.agent, &id).await?;
    let chat = chat(&loaded)?;
    app.desk.own.accept(&signed_in.agent.id, &chat).map_err(desk_error)?;
    // The agent's other consoles learn about the chat too.
    if let Some(frame) = chat_frame(&app, &chat).await {
        app.desk.notify(&signed_in.agent.id, frame);
    }
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
    let loaded = visible(&app, &signed_in.agent, &id).await?;
    let chat = chat(&loaded)?;
    app.desk.own.decline(&signed_in.agent.id, &chat).map_err(desk_error)?;
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
    let loaded = visible(&app, &signed_in.agent, &id).await?;
    let chat = chat(&loaded).map_err(|_| ApiError::NotInChat)?;
    let sent = app
        .desk
        .own
        .agent_message(&signed_in.agent.id, &chat, text)
        .map_err(desk_error)?;
    let Some(id) = app.desk.committed(&sent.id).await else {
        return Err(ApiError::Unavailable);
    };
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
        (Some(agent), None) => {
            let agent = AgentId::parse(&agent).map_err(desk_error)?;
            transfers::ensure_agent(&app, &agent).await;
            TransferTarget::Agent(agent)
        }
        (None, Some(queue)) => TransferTarget::Queue(QueueName::parse(&queue).map_err(desk_error)?),
        _ => {
            return Err(ApiError::InvalidRequest(
                "give exactly one of agent and queue".to_owned(),
            ));
        }
    };
    let loaded = visible(&app, &signed_in.agent, &id).await?;
    let chat = chat(&loaded).map_err(|_| ApiError::NotInChat)?;
    app.desk
        .own
        .transfer(&signed_in.agent.id, &chat, target)
        .map_err(desk_error)?;
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
    let loaded = visible(&app, &signed_in.agent, &id).await?;
    let chat = chat(&loaded).map_err(|_| ApiError::NotInChat)?;
    app.desk
        .own
        .end(&signed_in.agent.id, &chat, disposition)
        .map_err(desk_error)?;
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
    let me = &signed_in.agent;
    let default = app.config.desk.settings.default_queue.clone();
    let open = app.store.open_transfers().await?;
    let mut waiting = Vec::new();
    let mut names: BTreeSet<QueueName> = app.config.desk.queues.iter().map(|queue| queue.name.clone()).collect();
    names.insert(default.clone());
    let agents = app.desk.agents();
    for agent in &agents {
        names.extend(agent.queues.iter().cloned());
    }
    let mut oldest: BTreeMap<QueueName, DateTime<Utc>> = BTreeMap::new();
    for stored in open {
        let Ok(loaded) = Loaded::decode(stored) else {
            continue;
        };
        let queue = loaded.queue(&default);
        names.insert(queue.clone());
        let is_waiting = matches!(
            loaded.transfer.state(),
            TransferState::Requested | TransferState::Queued | TransferState::Offered | TransferState::Unavailable
        );
        if !is_waiting || !me.serves(&queue) {
            continue;
        }
        let since = loaded.transfer.opened_at();
        oldest
            .entry(queue.clone())
            .and_modify(|first| *first = (*first).min(since))
            .or_insert(since);
        waiting.push(json!({
            "transfer": loaded.stored.id,
            "queue": queue,
            "since": since,
            "reason": loaded.request.brief.reason,
        }));
    }
    let now = app.clock.now();
    let queues: Vec<Json_> = names
        .iter()
        .filter(|queue| me.serves(queue))
        .map(|queue| {
            let availability = app.desk.own.queue_availability(Some(queue));
            let online = agents
                .iter()
                .filter(|agent| agent.serves(queue) && app.desk.own.presence(&agent.id) == Some(Presence::Online))
                .count();
            json!({
                "name": queue,
                "waiting": availability.position.unwrap_or(1).saturating_sub(1),
                "oldest_wait_secs": oldest.get(queue).map(|since| wait_secs(*since, now)),
                "agents_online": online,
            })
        })
        .collect();
    let colleagues: Vec<Json_> = agents
        .iter()
        .filter(|agent| names.iter().any(|queue| me.serves(queue) && agent.serves(queue)))
        .map(|agent| {
            json!({
                "id": agent.id,
                "name": agent.name,
                "presence": app.desk.own.presence(&agent.id).unwrap_or(Presence::Offline),
                "chats": app.desk.own.active_chats(&agent.id).len(),
                "capacity": agent.capacity,
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
    let default = &app.config.desk.settings.default_queue;
    let tickets: Vec<Json_> = app
        .store
        .list_tickets()
        .await?
        .into_iter()
        .filter(|ticket| {
            let queue = ticket
                .queue
                .as_deref()
                .and_then(|queue| QueueName::parse(queue).ok())
                .unwrap_or_else(|| default.clone());
            signed_in.agent.serves(&queue)
        })
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
