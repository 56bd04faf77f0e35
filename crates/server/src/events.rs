//! The per-session event socket: what reaches a customer between turns (queue position, human
//! agent joined, typing, message, left, ended), over a WebSocket at
//! `GET /v2/assistants/{assistant_id}/sessions/{session_id}/events`.
//!
//! Anything in the server publishes a [`SessionEvent`] for a session on the [`EventHub`]; every
//! socket open on that session receives it as one JSON text frame `{"seq": N, "type": …, …}`.
//! The hub keeps the last [`REPLAY`] events of each session, numbered from 1, so a client that
//! reconnects with `?after=N` gets what it missed (resume after reconnect) within this process.
//!
//! Design decisions:
//! - The socket is opened by a browser, which cannot send an `Authorization` header: the
//!   session id (a random v4 UUID the customer got at creation) is the capability, and outside
//!   `--dev` the request must also come from an allowed origin (see `web::customer_allowed`).
//!   The session must exist, be open and belong to the assistant in the path.
//! - Client frames: `{"type": "ping"}` is answered, `typing` and `read` go to the desk of the
//!   session's open transfer, anything else gets an error frame; none changes stored state.
//!   Customer messages still go through the message API, so the transcript and the idempotency
//!   rules stay in one place.
//! - Publishers: the transfer pumps (`transfers.rs`) and the preview's simulated desk. The hub is
//!   in-process, so with several replicas events must later travel over the database's
//!   notifications (DESIGN §3, "Scaling out").

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use baton_store::SessionId;

use crate::transfers::CustomerSignal;
use crate::{ApiError, App};

/// Events kept per session for clients that reconnect.
pub const REPLAY: usize = 32;
/// Events a slow socket may fall behind before it is told to reconnect: as many as are kept for
/// the reconnection to replay (more could not be replayed anyway). Every open socket's session
/// holds this many slots, about 85 bytes each (`baton bench sockets`).
const CHANNEL_CAPACITY: usize = REPLAY;
/// How often an idle socket is pinged, so proxies keep it open.
const KEEPALIVE: Duration = Duration::from_secs(30);
/// The buffer a socket reads into. tungstenite's default, 128 KiB, is zeroed on the first read,
/// so each open socket kept 140 KiB resident (`baton bench sockets`): 6.8 GiB for the 50,000 of
/// DESIGN §6. Clients send only small frames here; a larger one still arrives, in several reads.
pub(crate) const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Something that happened in a session outside a turn, as the customer's client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionEvent {
    /// Waiting for a human agent: place in the queue (1 is next) and the estimate, if known.
    Queued {
        position: Option<u32>,
        estimated_wait_secs: Option<u64>,
    },
    AgentJoined {
        agent_name: String,
    },
    AgentTyping {
        typing: bool,
    },
    AgentMessage {
        agent_name: String,
        text: String,
        /// The message's id, for read receipts (`read` frames).
        #[serde(default)]
        id: Option<String>,
    },
    /// The agent has read the customer's messages up to and including this one.
    AgentRead {
        up_to: String,
    },
    AgentLeft {
        agent_name: String,
    },
    /// The chat with the human agent ended; the customer is back with the assistant.
    Ended {
        by: String,
    },
    /// No agent can be reached now: the offline response.
    Offline {
        message: String,
    },
    /// What the assistant says without a customer message (after the chat ended or the agent
    /// handed the customer back), as `output.generic` items.
    Assistant {
        generic: Vec<crate::wire::GenericItem>,
    },
}

/// An event with its number in the session's stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Numbered {
    pub seq: u64,
    #[serde(flatten)]
    pub event: SessionEvent,
}

/// Routes events to the sockets of each session.
#[derive(Debug, Default)]
pub struct EventHub {
    sessions: Mutex<HashMap<String, Stream>>,
}

#[derive(Debug)]
struct Stream {
    sender: broadcast::Sender<Numbered>,
    recent: VecDeque<Numbered>,
    last_seq: u64,
}

impl EventHub {
    /// Sends `event` to every socket of the session and keeps it for replay; returns its number.
    pub fn publish(&self, session_id: &str, event: SessionEvent) -> u64 {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stream = sessions.entry(session_id.to_owned()).or_insert_with(Stream::new);
        stream.last_seq += 1;
        let numbered = Numbered {
            seq: stream.last_seq,
            event,
        };
        if stream.recent.len() == REPLAY {
            stream.recent.pop_front();
        }
        stream.recent.push_back(numbered.clone());
        // No receiver is fine: the event waits in `recent` for the next connection.
        let _ = stream.sender.send(numbered);
        stream.last_seq
    }

    /// A receiver for new events and the kept ones numbered above `after`, taken under one lock
    /// so none falls between them.
    pub fn subscribe(&self, session_id: &str, after: u64) -> (Vec<Numbered>, broadcast::Receiver<Numbered>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stream = sessions.entry(session_id.to_owned()).or_insert_with(Stream::new);
        let missed = stream
            .recent
            .iter()
            .filter(|event| event.seq > after)
            .cloned()
            .collect();
        (missed, stream.sender.subscribe())
    }

    /// Forgets a session nobody listens to and nothing was published for, after a socket closed,
    /// so idle sockets that came and went leave nothing behind.
    pub fn release(&self, session_id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let unused = sessions
            .get(session_id)
            .is_some_and(|stream| stream.sender.receiver_count() == 0 && stream.recent.is_empty());
        if unused {
            sessions.remove(session_id);
        }
    }

    /// Drops what is kept for an ended session; open sockets see their stream close.
    pub fn forget(&self, session_id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.remove(session_id);
    }
}

impl Stream {
    fn new() -> Stream {
        Stream {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            recent: VecDeque::with_capacity(4),
            last_seq: 0,
        }
    }
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
        crate::web::customer_allowed(&app, &headers).await?;
        app.engine(&assistant_id, environment_id.as_deref())?;
        let Query(query) = query.map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))?;
        // Event numbers are documented as JSON's 64-bit signed integers.
        if i64::try_from(query.after).is_err() {
            return Err(ApiError::InvalidQuery(format!("after: at most {}", i64::MAX)));
        }
        let stored = app
            .store
            .load_session(&SessionId::new(&session_id), app.clock.now())
            .await?;
        if stored.assistant_id != assistant_id {
            return Err(ApiError::SessionNotFound);
        }
        let upgrade = upgrade.map_err(|rejection| ApiError::InvalidRequest(rejection.body_text()))?;
        Ok((upgrade, query.after))
    }
    .await;
    match result {
        Ok((upgrade, after)) => {
            let (missed, receiver) = app.events.subscribe(&session_id, after);
            tracing::debug!(session_id = %session_id, n_missed = missed.len(), "event socket opened");
            let upgrade = upgrade.max_message_size(4 * 1024).read_buffer_size(READ_BUFFER_BYTES);
            upgrade.on_upgrade(move |socket| async move {
                serve(socket, &app, &session_id, missed, receiver).await;
                app.events.release(&session_id);
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
                            crate::transfers::customer_signal(app, session_id, CustomerSignal::Typing(typing)).await;
                            continue;
                        }
                        Ok(ClientFrame::Read { up_to }) => {
                            crate::transfers::customer_signal(app, session_id, CustomerSignal::Read(up_to)).await;
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
    let text = serde_json::to_string(event).unwrap_or_default();
    socket.send(Frame::Text(text.into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_what_a_reconnecting_client_missed() {
        let hub = EventHub::default();
        hub.publish(
            "s",
            SessionEvent::Queued {
                position: Some(2),
                estimated_wait_secs: None,
            },
        );
        hub.publish(
            "s",
            SessionEvent::Queued {
                position: Some(1),
                estimated_wait_secs: None,
            },
        );
        let (missed, _receiver) = hub.subscribe("s", 1);
        assert_eq!(missed.iter().map(|event| event.seq).collect::<Vec<_>>(), [2]);
        let json = serde_json::to_value(&missed[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"seq": 2, "type": "queued", "position": 1, "estimated_wait_secs": null})
        );
    }

    #[test]
    fn forgets_sessions_left_without_listeners_or_events() {
        let hub = EventHub::default();
        let (_, receiver) = hub.subscribe("quiet", 0);
        drop(receiver);
        hub.release("quiet");
        let (_, receiver) = hub.subscribe("busy", 0);
        hub.publish("busy", SessionEvent::AgentTyping { typing: true });
        drop(receiver);
        hub.release("busy");
        let sessions = hub.sessions.lock().unwrap();
        assert_eq!(sessions.keys().collect::<Vec<_>>(), ["busy"]);
    }

    #[test]
    fn keeps_only_the_last_events() {
        let hub = EventHub::default();
        for _ in 0..(REPLAY + 5) {
            hub.publish("s", SessionEvent::AgentTyping { typing: true });
        }
        let (missed, _receiver) = hub.subscribe("s", 0);
        assert_eq!(missed.len(), REPLAY);
        assert_eq!(missed[0].seq, 6);
    }
}
