//! The Watson Assistant v2 message API: sessions, stateful and stateless messages.
//!
//! Every route exists twice: on the environment-scoped paths the current `ibm-watson` SDKs call
//! (`/v2/assistants/{assistant_id}/environments/{environment_id}/…`, environments `draft` and
//! `live`) and on the older paths without `environments/{environment_id}`.
//!
//! A stateful message: lock the session in this process (so concurrent messages on one session
//! queue up instead of racing), load it, run the turn, and commit state, transcript and the
//! remembered reply in one transaction *before* answering; the store's version check catches a
//! writer in another process, and the turn is then redone on the fresh state.
//! The turn runs in a task the server tracks, so a client hanging up cannot cancel it halfway,
//! and shutdown waits for it.
//!
//! A retried message is recognised by the `X-Client-Message-Id` header (chosen over a body
//! field because IBM's request has no such field and the header passes through every SDK's
//! `headers=` argument unchanged): within one session, a message id already answered gets the
//! stored reply again and the turn does not run twice.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use serde_json::value::{RawValue, to_raw_value};

use baton_desk::{Online, TransferCommand, TransferState};
use baton_dialog::{Engine, Event, FALLBACK_INTENT, Session, TransferOutcome};

use crate::App;
use crate::error::{ApiError, ErrorBody};
use baton_store::{
    EntryKind, NewSession, SessionId, StoreError, StoredReply, StoredSession, Ticket, TransferWrite, TurnRecord,
};

use crate::transfers;
use crate::turn::{ResponseShape, TurnInput, decode_state, entry, event_turn, take_turn};
use crate::wire::{ACTIONS_SKILL, GenericItem, MessageRequest, MessageResponse, SessionResponse};

/// The header that carries a client's message id.
pub const CLIENT_MESSAGE_ID: &str = "x-client-message-id";
/// Longest client message id accepted.
const MAX_CLIENT_MESSAGE_ID: usize = 128;
/// How often a turn is redone after another writer changed the session first.
const COMMIT_ATTEMPTS: usize = 3;
/// The environments every assistant has.
pub const ENVIRONMENTS: [&str; 2] = ["draft", "live"];

type Body = Result<Bytes, BytesRejection>;

/// A reply already serialised (the text a turn also stores), sent as it is. Through `Json` it
/// was written out once more, into a buffer grown from 128 bytes.
pub(crate) struct RawJson(Box<RawValue>);

impl IntoResponse for RawJson {
    fn into_response(self) -> Response {
        let text: Box<str> = self.0.into();
        let mut response = axum::body::Body::from(String::from(text)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// The query string: the routes read only `version` from it, so it is scanned, not parsed into
/// a map (a map cost 3,700 instructions per message).
type Params = RawQuery;

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
) -> Result<Json<MessageResponse>, ApiError> {
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
) -> Result<Json<MessageResponse>, ApiError> {
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
    let now = app.clock.now();
    let id = uuid::Uuid::new_v4().to_string();
    let session = Session::new(None, Some("api".to_owned()));
    let state = to_raw_value(&session).map_err(|error| ApiError::Internal(error.to_string()))?;
    let new = NewSession {
        id: SessionId::new(id.clone()),
        assistant_id: assistant_id.to_owned(),
        state,
        created_at: now,
        idle_timeout: app.config.session_timeout(),
    };
    app.store.create_session(new).await?;
    app.touch(&id, now);
    app.metrics.session_created();
    tracing::info!(session_id = %id, assistant = %assistant_id, "session created");
    Ok((StatusCode::CREATED, Json(SessionResponse { session_id: id })))
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
    let lock = app.locks.get(&session_id);
    let _guard = lock.lock().await;
    let result = async {
        let now = app.clock.now();
        let stored = load_open_session(&app, assistant_id, &session_id, now).await?;
        app.store.end_session(&stored.id, now).await?;
        transfers::end_by_customer(&app, &session_id, TransferCommand::Abandon, None).await?;
        app.forget(&session_id);
        app.metrics.session_deleted();
        tracing::info!(session_id = %session_id, "session deleted");
        Ok(Json(json!({})))
    }
    .await;
    drop(_guard);
    app.locks.release(&session_id, lock);
    result
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
    let lock = app.locks.get(&session_id);
    let guard = lock.lock().await;
    let result = async {
        load_open_session(&app, assistant_id, &session_id, app.clock.now()).await?;
        let event = Event::TransferEnded {
            outcome: TransferOutcome::Cancelled,
        };
        let cancelled = transfers::end_by_customer(&app, &session_id, TransferCommand::Cancel, Some(event)).await?;
        if cancelled {
            tracing::info!(session_id = %session_id, "transfer cancelled by the customer");
        }
        Ok(Json(json!({"cancelled": cancelled})))
    }
    .await;
    drop(guard);
    app.locks.release(&session_id, lock);
    result
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
    let engine = app.engine(&assistant_id, environment_id.as_deref())?;
    require_version(query)?;
    let request: MessageRequest = parse_body(&headers, body)?;
    let (input, shape) = validate(&app, request, false)?;
    let client_message_id = client_message_id(&headers)?;
    // Spawned on the tracker: the turn completes (and commits) even if the client goes away,
    // and graceful shutdown waits for it.
    // Boxed: the turn's future is a few KiB, which spawning would otherwise copy more than once.
    let task = app.tracker.spawn({
        let app = app.clone();
        Box::pin(async move {
            stateful_turn(
                &app,
                &engine,
                &assistant_id,
                &session_id,
                input,
                shape,
                client_message_id,
            )
            .await
        })
    });
    let response = task
        .await
        .map_err(|error| ApiError::Internal(format!("turn task failed: {error}")))??;
    Ok(RawJson(response))
}

#[tracing::instrument(skip_all, fields(session_id = %session_id, assistant = %assistant_id, step = tracing::field::Empty))]
async fn stateful_turn(
    app: &Arc<App>,
    engine: &Engine,
    assistant_id: &str,
    session_id: &str,
    input: TurnInput,
    shape: ResponseShape,
    client_message_id: Option<String>,
) -> Result<Box<RawValue>, ApiError> {
    let started = std::time::Instant::now();
    let lock = app.locks.get(session_id);
    let guard = lock.lock().await;
    let result = async {
        for attempt in 0..COMMIT_ATTEMPTS {
            let now = app.clock.now();
            let stored = match load_open_session(app, assistant_id, session_id, now).await {
                Err(ApiError::SessionExpired) => {
                    app.forget(session_id);
                    tracing::info!("message for an ended session");
                    return Err(ApiError::SessionExpired);
                }
                other => other?,
            };
            // A retried message is caught when its turn commits: the reply's unique key refuses a
            // second answer to the same message id, and the next attempt finds the stored reply.
            // Nothing the turn does before its commit is seen outside, and looking the reply up
            // first would cost every message a read.
            if attempt > 0
                && let Some(message_id) = &client_message_id
                && let Some(reply) = app.store.find_reply(&stored.id, message_id).await?
            {
                app.metrics.replayed();
                tracing::debug!("answered a retried message from the stored reply");
                return Ok(reply);
            }
            let mut session = match app.take_session(session_id, stored.version) {
                Some(session) => session,
                None => read_session(&stored)?,
            };
            let open = match session.transfer_open {
                true => app.store.open_transfer_of(&stored.id).await?,
                false => None,
            };
            let open = open.map(transfers::Loaded::decode).transpose()?;
            if session.transfer_open && open.is_none() {
                // The runtime waits for a transfer that is not open (one asked for outside a
                // customer turn, or from before the desk was wired): the assistant answers again.
                session.transfer_open = false;
            }
            let text = input.text.as_deref().map(str::trim).filter(|text| !text.is_empty());
            // A copy of the session is kept only while a transfer is open, for a turn without text;
            // the rare turn redone with the offline response reads it again instead.
            let kept = open.as_ref().map(|_| session.clone());
            let mut turn = take_turn(engine, session, session_id, &input, shape, true, now);
            let mut transfer_write = None;
            let mut after = After::Nothing;
            let mut catch_up = false;
            match (&open, text, turn.requests.first().cloned()) {
                (Some(loaded), Some(text), _) if loaded.takes_message() => {
                    // Offline policy "leave a message": this message is it.
                    let ticket_id = loaded.transfer.id().to_string();
                    let ticket = Ticket {
                        id: ticket_id.clone(),
                        session_id: stored.id.clone(),
                        transfer_id: Some(ticket_id.clone()),
                        queue: Some(loaded.queue(&app.config.desk.settings.default_queue).to_string()),
                        text: text.to_owned(),
                        created_at: now,
                    };
                    match app.store.create_ticket(ticket).await {
                        // Taken: this turn is being redone after a conflict.
                        Ok(()) | Err(StoreError::Conflict(_)) => {}
                        Err(error) => return Err(error.into()),
                    }
                    let mut transfer = loaded.transfer.clone();
                    let transitions = transfer
                        .apply(TransferCommand::LeaveMessage { ticket: ticket_id }, now)
                        .map_err(|error| ApiError::Internal(error.to_string()))?;
                    turn.entries.extend(transitions.iter().map(transfers::transition_entry));
                    let back = event_turn(
                        engine,
                        turn.session,
                        Event::TransferEnded {
                            outcome: TransferOutcome::Ended,
                        },
                        now,
                    );
                    turn.session = back.session;
                    turn.entries.extend(back.entries);
                    turn.entries.push(entry(
                        now,
                        EntryKind::Assistant,
                        json!({"type": "text", "text": transfers::MESSAGE_LEFT}),
                    ));
                    turn.response.output.generic.extend(back.generic);
                    turn.response.output.generic.push(GenericItem::Text {
                        text: transfers::MESSAGE_LEFT.to_owned(),
                        agent: None,
                    });
                    transfer_write = Some(TransferWrite::Update(transfers::update_of(&transfer, Vec::new(), now)));
                    after = After::Closed(transfer.state());
                }
                (Some(loaded), Some(text), _) => {
                    let asks_for_human = engine.classifier().classify(text).first().is_some_and(|top| {
                        top.intent == FALLBACK_INTENT
                            && f64::from(top.confidence) >= engine.assistant().settings.confidence_threshold
                    });
                    if asks_for_human && loaded.transfer.state() != TransferState::Active {
                        let stand = transfers::where_they_stand(loaded);
                        turn.entries
                            .push(entry(now, EntryKind::Assistant, json!({"type": "text", "text": stand})));
                        turn.response.output.generic.push(GenericItem::Text {
                            text: stand,
                            agent: None,
                        });
                    }
                    // The message's id, for read receipts, in its transcript entry too.
                    let message_id = uuid::Uuid::new_v4().to_string();
                    if let Some(customer) = turn.entries.iter_mut().find(|entry| entry.kind == EntryKind::Customer) {
                        *customer = entry(
                            now,
                            EntryKind::Customer,
                            json!({"type": "text", "text": text, "id": message_id}),
                        );
                    }
                    after = After::Relay(Box::new(loaded.clone()), text.to_owned(), message_id);
                    catch_up = true;
                }
                (Some(_), None, _) => {
                    // No text (a client starting over) while a transfer is open: the assistant
                    // stays silent rather than greeting again; the reply brings what agents wrote.
                    if let Some(kept) = kept {
                        turn.session = kept;
                    }
                    turn.entries.clear();
                    turn.response.output.generic.clear();
                    turn.transfers.clear();
                    catch_up = true;
                }
                (None, _, Some(request)) => {
                    // The transfer paths' futures are boxed (here and below) so that they do not
                    // enlarge every turn's future.
                    let availability = Box::pin(transfers::availability(app, &request)).await;
                    if availability.online == Online::No {
                        // The same turn again, with the offline response in the transcript.
                        // No transfer is open (this arm), as when the turn first ran.
                        let mut session = read_session(&stored)?;
                        session.transfer_open = false;
                        turn = take_turn(engine, session, session_id, &input, shape, false, now);
                    }
                    let history = app.store.transcript(&stored.id).await?;
                    let lines = transfers::transcript_lines(&history, &turn.entries);
                    let opening = transfers::open(
                        engine,
                        &mut turn.session,
                        session_id,
                        &request,
                        &availability,
                        lines,
                        now,
                    )?;
                    turn.entries.extend(opening.entries.iter().cloned());
                    transfer_write = Some(opening.write(&stored.id, now));
                    after = After::Start(Box::new(opening));
                }
                _ => {}
            }
            if let Some(step) = current_step(engine, &turn.session) {
                tracing::Span::current().record("step", step.as_str());
            }
            if catch_up {
                // Agent messages since the customer's previous message, for clients of this API
                // alone; this turn's entries are not stored yet, so every stored one is earlier.
                let mut generic = Box::pin(transfers::agent_messages_since_previous(app, &stored.id, u64::MAX)).await?;
                generic.append(&mut turn.response.output.generic);
                turn.response.output.generic = generic;
            }
            // Serialised once: the same text is the stored reply (with a message id) and the body.
            let response = to_raw_value(&turn.response).map_err(|error| ApiError::Internal(error.to_string()))?;
            let reply = client_message_id.as_ref().map(|message_id| StoredReply {
                client_message_id: message_id.clone(),
                response: response.clone(),
            });
            // Straight to JSON text, not through a `Value` first: the same text (`preserve_order`
            // keeps fields in serialisation order) for one pass instead of two.
            let state = to_raw_value(&turn.session).map_err(|error| ApiError::Internal(error.to_string()))?;
            let record = TurnRecord {
                session_id: stored.id.clone(),
                expected_version: stored.version,
                state,
                at: now,
                entries: turn.entries,
                reply,
                transfer: transfer_write,
            };
            let committed = match app.store.commit_turn(record).await {
                Ok(committed) => committed,
                Err(StoreError::Conflict(_) | StoreError::TransferAlreadyOpen { .. }) => {
                    // Another writer got there first, or this message id has been answered
                    // already (a retry): reload and look again.
                    tracing::debug!("turn refused at commit; reloading the session");
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let n_generic = turn.response.output.generic.len();
            app.touch_with(session_id, now, committed.version, turn.session);
            for reason in &turn.transfers {
                app.metrics.transfer(*reason);
                tracing::info!(reason = reason.as_str(), "transfer requested");
            }
            match after {
                After::Nothing => {}
                After::Closed(state) => app.metrics.transfer_ended(state.as_str()),
                After::Relay(loaded, text, message_id) => {
                    Box::pin(transfers::relay(app, &loaded, &message_id, &text, now)).await;
                }
                After::Start(opening) => {
                    app.metrics.transfer_opened();
                    Box::pin(transfers::start(app, session_id, *opening)).await;
                }
            }
            app.metrics.message(started.elapsed());
            tracing::debug!(n_generic, "turn committed");
            return Ok(response);
        }
        Err(ApiError::Conflict)
    }
    .await;
    drop(guard);
    app.locks.release(session_id, lock);
    result
}

/// What a committed turn still has to do about a transfer.
enum After {
    Nothing,
    /// The transfer closed in the turn.
    Closed(TransferState),
    /// Relay the customer's message (text, id) to the desk.
    Relay(Box<transfers::Loaded>, String, String),
    /// Ask the desk for a chat.
    Start(Box<transfers::Opening>),
}

async fn stateless(
    app: Arc<App>,
    assistant_id: &str,
    environment_id: Option<&str>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<MessageResponse>, ApiError> {
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
    let started = std::time::Instant::now();
    let turn = take_turn(
        &engine,
        session,
        &session_id,
        &input,
        shape,
        app.config.agents_online,
        app.clock.now(),
    );
    for reason in &turn.transfers {
        app.metrics.transfer(*reason);
    }
    app.metrics.message(started.elapsed());
    Ok(Json(turn.response))
}

// ---- shared pieces ----

/// The runtime's session from its stored state.
fn read_session(stored: &StoredSession) -> Result<Session, ApiError> {
    serde_json::from_str(stored.state.get()).map_err(|error| ApiError::Internal(format!("stored session: {error}")))
}

/// Loads a session that exists, belongs to this assistant, and is open.
async fn load_open_session(
    app: &App,
    assistant_id: &str,
    session_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<StoredSession, ApiError> {
    let stored = app.store.load_session(&SessionId::new(session_id), now).await?;
    match stored.assistant_id == assistant_id {
        true => Ok(stored),
        false => Err(ApiError::SessionNotFound),
    }
}

/// IBM requires `version` on every call; the SDKs always send it.
fn require_version(RawQuery(query): Params) -> Result<(), ApiError> {
    // The last `version` counts, as when the pairs were collected into a map.
    let version = form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "version")
        .last();
    match version {
        Some((_, version)) if !version.trim().is_empty() => Ok(()),
        _ => Err(ApiError::MissingVersion),
    }
}

fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::InvalidRequest(format!("path: {}", rejection.body_text()))
}

/// Reads a JSON body: checks size, content type, UTF-8 and shape, naming the field at fault.
/// An empty body without a content type reads as `{}`.
pub(crate) fn parse_body<T: DeserializeOwned + Serialize>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(0),
        _ => ApiError::InvalidRequest(rejection.body_text()),
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or(""));
    let bytes: &[u8] = match (content_type, bytes.is_empty()) {
        (None, true) => b"{}",
        (None, false) => return Err(ApiError::UnsupportedMediaType),
        (Some(content_type), _) if !is_json(content_type) => return Err(ApiError::UnsupportedMediaType),
        (Some(_), true) => b"{}",
        (Some(_), false) => &bytes,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::InvalidUtf8)?;
    // serde reads a struct from an array too (`[null, null]` as a message with no input); every
    // body of this API is an object.
    if text.trim_start().starts_with('[') {
        return Err(ApiError::InvalidRequest(
            "the body must be a JSON object, not an array".to_owned(),
        ));
    }
    // Read plainly first; only a body that fails is read again to name the field at fault
    // (tracking the path cost every message 2,700 instructions).
    if let Ok(value) = serde_json::from_str(text) {
        // Inside the body too, serde reads a struct from an array of its fields; only a body
        // with a `[` can hold one, so the others are not read twice.
        if bytes.contains(&b'[') {
            refuse_arrays_for_objects(text, &value)?;
        }
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => ApiError::InvalidRequest(format!("{path}: {inner}")),
            serde_json::error::Category::Data => ApiError::InvalidRequest(inner.to_string()),
            _ => ApiError::InvalidJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    Ok(value)
}

/// Refuses a body that gives an array where the request has an object (`"input": [null]`),
/// naming the first such place: `read` is what serde made of `text`.
fn refuse_arrays_for_objects<T: Serialize>(text: &str, read: &T) -> Result<(), ApiError> {
    let (Ok(sent), Ok(read)) = (
        serde_json::from_str::<serde_json::Value>(text),
        serde_json::to_value(read),
    ) else {
        return Ok(());
    };
    match array_for_object(&sent, &read) {
        Some(path) => Err(ApiError::InvalidRequest(format!(
            "{path}: invalid type: sequence, expected an object"
        ))),
        None => Ok(()),
    }
}

/// The path of the first place where `sent` has an array and `read` an object (`.` for the
/// whole body).
fn array_for_object(sent: &serde_json::Value, read: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let under = |step: String, path: String| match path.as_str() {
        "." => step,
        _ => format!("{step}.{path}"),
    };
    match (sent, read) {
        (Value::Array(_), Value::Object(_)) => Some(".".to_owned()),
        (Value::Object(sent), Value::Object(read)) => sent
            .iter()
            .find_map(|(key, sent)| Some(under(key.clone(), array_for_object(sent, read.get(key)?)?))),
        (Value::Array(sent), Value::Array(read)) => sent
            .iter()
            .zip(read)
            .enumerate()
            .find_map(|(index, (sent, read))| Some(under(format!("[{index}]"), array_for_object(sent, read)?))),
        _ => None,
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn client_message_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(CLIENT_MESSAGE_ID) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::InvalidHeader(format!("{CLIENT_MESSAGE_ID} must be visible ASCII")))?
        .trim();
    let valid = !value.is_empty() && value.len() <= MAX_CLIENT_MESSAGE_ID;
    if !valid {
        return Err(ApiError::InvalidHeader(format!(
            "{CLIENT_MESSAGE_ID} must be 1 to {MAX_CLIENT_MESSAGE_ID} characters"
        )));
    }
    Ok(Some(value.to_owned()))
}

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
    };
    Ok((input, shape))
}

/// For the span: the id of the step the session is at.
fn current_step(engine: &Engine, session: &Session) -> Option<String> {
    let frame = session.stack.last()?;
    let action = engine.assistant().action(frame.action.id())?;
    action.steps.get(frame.step).map(|step| step.id().to_owned())
}
