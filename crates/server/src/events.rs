//! The per-session event socket: what reaches a customer between turns (queue position, human
//! agent joined, typing, message, left, ended), over a WebSocket at
//! `GET /v2/assistants/{assistant_id}/sessions/{session_id}/events`.
//!
//! The conversation publishes each session's events (`conversation::events`); every socket open
//! on that session receives each as one JSON text frame `{"seq": N, "type": …, …}`, and a client
//! that reconnects with `?after=N` gets what it missed first.
//!
//! Design decisions:
//! - The socket is opened by a browser, which cannot send an `Authorization` header: the
//!   session id (a random v4 UUID the customer got at creation) is the capability, and outside
//!   `--dev` the request must also come from an allowed origin (see `access`).
//!   The session must exist, be open and belong to the assistant in the path.
//! - Client frames: `{"type": "ping"}` is answered, `typing` and `read` go to the desk of the
//!   session's open transfer, anything else gets an error frame; none changes stored state.
//!   Customer messages still go through the message API, so the transcript and the idempotency
//!   rules stay in one place.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tokio::sync::broadcast;

use crate::access;
use crate::conversation::{CustomerSignal, Numbered, SessionEvent};
use crate::error::ApiError;
use crate::render;
use crate::state::App;

/// How often an idle socket is pinged, so proxies keep it open.
const KEEPALIVE: Duration = Duration::from_secs(30);
/// The buffer a socket reads into. tungstenite's default, 128 KiB, is zeroed on the first read,
/// so each open socket kept 140 KiB resident (`baton bench sockets`): 6.8 GiB for 50,000
/// sockets. Clients send only small frames here; a larger one still arrives, in several reads.
pub(crate) const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The routes of this module, merged into the server's router.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v2/assistants/{assistant_id}/sessions/{session_id}/events",
            get(connect_legacy),
        )
        .route(
            "/v2/assistants/{assistant_id}/environments/{environment_id}/sessions/{session_id}/events",
            get(connect_env),
        )
}

#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    /// The last event number the client has seen; it gets the kept ones after it.
    #[serde(default)]
    after: u64,
}

/// Frames a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Ping,
    /// The customer started or stopped typing: passed to the agent.
    Typing {
        typing: bool,
    },
    /// The customer has read the agent's messages up to this one: passed to the agent.
    Read {
        up_to: String,
    },
}

/// The session's event socket: a WebSocket of JSON text frames `{"seq": N, "type": "queued" |
/// "agent_joined" | "agent_typing" | "agent_message" | "agent_left" | "ended", …}`.
#[utoipa::path(
    get,
    path = "/v2/assistants/{assistant_id}/sessions/{session_id}/events",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("session_id" = String, Path, description = "From create session"),
        ("after" = Option<i64>, Query, minimum = 0, description = "The last event number seen; kept events after it are sent first"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = "4XX", body = crate::error::ErrorBody),
    ),
    security((), ("basic" = []), ("bearer" = [])),
    tag = "web chat"
)]
pub(crate) async fn connect_legacy(
    State(app): State<Arc<App>>,
    Path((assistant_id, session_id)): Path<(String, String)>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    connect(app, assistant_id, None, session_id, query, headers, upgrade).await
}

/// The session's event socket (environment-scoped path).
#[utoipa::path(
    get,
    path = "/v2/assistants/{assistant_id}/environments/{environment_id}/sessions/{session_id}/events",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("environment_id" = String, Path, description = "`draft` or `live`"),
        ("session_id" = String, Path, description = "From create session"),
        ("after" = Option<i64>, Query, minimum = 0, description = "The last event number seen"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = "4XX", body = crate::error::ErrorBody),
    ),
    security((), ("basic" = []), ("bearer" = [])),
    tag = "web chat"
)]
pub(crate) async fn connect_env(
    State(app): State<Arc<App>>,
    Path((assistant_id, environment_id, session_id)): Path<(String, String, String)>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    connect(
        app,
        assistant_id,
        Some(environment_id),
        session_id,
        query,
        headers,
        upgrade,
    )
    .await
}

async fn connect(
    app: Arc<App>,
    assistant_id: String,
    environment_id: Option<String>,
    session_id: String,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let result = async {
        access::customer_allowed(&app, &headers).await?;
        app.engine(&assistant_id, environment_id.as_deref())?;
        let Query(query) = query.map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))?;
        // Event numbers are documented as JSON's 64-bit signed integers.
        if i64::try_from(query.after).is_err() {
            return Err(ApiError::InvalidQuery(format!("after: at most {}", i64::MAX)));
        }
        app.conversations.open_session(&assistant_id, &session_id).await?;
        let upgrade = upgrade.map_err(|rejection| ApiError::InvalidRequest(rejection.body_text()))?;
        Ok((upgrade, query.after))
    }
    .await;
    match result {
        Ok((upgrade, after)) => {
            let (missed, receiver) = app.conversations.events().subscribe(&session_id, after);
            tracing::debug!(session_id = %session_id, n_missed = missed.len(), "event socket opened");
            let upgrade = upgrade.max_message_size(4 * 1024).read_buffer_size(READ_BUFFER_BYTES);
            upgrade.on_upgrade(move |socket| async move {
                serve(socket, &app, &session_id, missed, receiver).await;
                app.conversations.events().release(&session_id);
            })
        }
        Err(error) => error.into_response(),
    }
}

/// Sends what was missed, then every new event, until either side closes.
async fn serve(
    mut socket: WebSocket,
    app: &App,
    session_id: &str,
    missed: Vec<Numbered>,
    mut receiver: broadcast::Receiver<Numbered>,
) {
    for event in missed {
        if send(&mut socket, &event).await.is_err() {
            return;
        }
    }
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    loop {
        tokio::select! {
            received = receiver.recv() => match received {
                Ok(event) => {
                    if send(&mut socket, &event).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // The client reconnects with `after` and gets the kept events again.
                    let _ = socket.send(Frame::Close(Some(axum::extract::ws::CloseFrame {
                        code: 4000,
                        reason: "fell behind: reconnect with after".into(),
                    }))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = socket.send(Frame::Close(None)).await;
                    return;
                }
            },
            frame = socket.recv() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    let reply = match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Ping) => serde_json::json!({"type": "pong"}),
                        Ok(ClientFrame::Typing { typing }) => {
                            app.conversations.customer_signal(session_id, CustomerSignal::Typing(typing)).await;
                            continue;
                        }
                        Ok(ClientFrame::Read { up_to }) => {
                            app.conversations.customer_signal(session_id, CustomerSignal::Read(up_to)).await;
                            continue;
                        }
                        Err(error) => serde_json::json!({
                            "type": "error",
                            "baton_code": "invalid_frame",
                            "error": format!("invalid frame: {error}"),
                        }),
                    };
                    if socket.send(Frame::Text(reply.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Frame::Binary(_))) => {
                    let reply = serde_json::json!({"type": "error", "baton_code": "invalid_frame", "error": "binary frames are not accepted"});
                    if socket.send(Frame::Text(reply.to_string().into())).await.is_err() {
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

async fn send(socket: &mut WebSocket, event: &Numbered) -> Result<(), axum::Error> {
    socket.send(Frame::Text(frame(event).to_string().into())).await
}

/// An event as its frame: `{"seq": N, "type": …, …}`; what the assistant says as
/// `output.generic` items.
fn frame(event: &Numbered) -> Json {
    let mut frame = match &event.event {
        SessionEvent::Assistant { messages } => {
            let generic: Vec<_> = messages.iter().map(render::generic_item).collect();
            json!({"type": "assistant", "generic": generic})
        }
        // The other events are the frame's fields as they are.
        other => serde_json::to_value(other).unwrap_or(Json::Null),
    };
    if let Json::Object(fields) = &mut frame {
        fields.shift_insert(0, "seq".to_owned(), json!(event.seq));
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_frame_carries_its_number_first() {
        let queued = Numbered {
            seq: 2,
            event: SessionEvent::Queued {
                position: Some(1),
                estimated_wait_secs: None,
            },
        };
        assert_eq!(
            frame(&queued).to_string(),
            r#"{"seq":2,"type":"queued","position":1,"estimated_wait_secs":null}"#
        );
        let said = Numbered {
            seq: 3,
            event: SessionEvent::Assistant {
                messages: vec![baton_dialog::Message::Text { text: "Hi".to_owned() }],
            },
        };
        assert_eq!(
            frame(&said),
            json!({"seq": 3, "type": "assistant", "generic": [{"response_type": "text", "text": "Hi"}]})
        );
    }
}
