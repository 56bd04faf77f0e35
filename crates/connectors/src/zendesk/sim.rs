//! A simulated Zendesk messaging (Sunshine Conversations v2 and the Agent Availability API), for
//! the Zendesk desk's tests and `baton bench transfer --desk zendesk`. It answers the routes the
//! desk calls as the Sunshine Conversations API reference describes them (HTTP Basic with the
//! app's key; `409` for a user whose `externalId` exists; `{user}`, `{conversation}`,
//! `{messages: [...]}` bodies) and sends the integration's webhooks as "Receiving messages"
//! shows them (`{app, webhook, events: [{id, type, createdAt, payload}]}`, the secret in
//! `X-API-Key`). Like the real service it echoes the API's own messages back as
//! `conversation:message` events, can deliver an event twice, can batch events, and can answer
//! `429` with `Retry-After`. Loopback only, in memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::lock;

pub const APP: &str = "5e4af71a81966cfff3ef6550";
pub const KEY_ID: &str = "app_5e4af7";
pub const KEY_SECRET: &str = "key-secret-sim";
pub const WEBHOOK_SECRET: &str = "zendesk-webhook-secret-sim";
pub const SUPPORT_EMAIL: &str = "admin@example.com";
pub const SUPPORT_TOKEN: &str = "support-token-sim";
/// The switchboard integration that has a conversation until it is passed on.
pub const BOT: &str = "baton-bot";

static IDS: AtomicU64 = AtomicU64::new(1);

/// A fresh hex id, as Sunshine Conversations makes them.
fn new_id() -> String {
    format!(
        "{:024x}",
        IDS.fetch_add(1, Ordering::SeqCst) + (u64::from(std::process::id()) << 32)
    )
}

pub use crate::simulation::{Observed, Outlet, Sink, within};

#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    /// "user" or "business".
    pub author: String,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Conversation {
    pub user: String,
    pub metadata: serde_json::Map<String, Value>,
    pub active: String,
    pub pass_metadata: serde_json::Map<String, Value>,
    pub messages: Vec<Stored>,
    pub reads: usize,
    pub released: bool,
}

#[derive(Default)]
struct World {
    users: BTreeMap<String, String>,
    conversations: BTreeMap<String, Conversation>,
    online_agents: usize,
    throttle: u32,
    /// Every call answers 503 while down.
    down: bool,
    outlet: Arc<Outlet>,
}

pub struct Sim {
    pub url: String,
    world: Arc<Mutex<World>>,
    outlet: Arc<Outlet>,
    task: tokio::task::JoinHandle<()>,
}

type AppState = (Arc<Mutex<World>>, std::sync::Weak<Sim>);

impl Sim {
    /// Starts on a free loopback port, one agent online. The desk's `url` is `{url}/sc`, the
    /// Support API's is `{url}`.
    pub async fn start() -> std::io::Result<Arc<Sim>> {
        let outlet = Arc::new(Outlet::default());
        let world = Arc::new(Mutex::new(World {
            online_agents: 1,
            outlet: outlet.clone(),
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        Ok(Arc::new_cyclic(|weak: &std::sync::Weak<Sim>| {
            let router = axum::Router::new()
                .route("/sc/v2/apps/{app}/users", post(create_user))
                .route("/sc/v2/apps/{app}/users/{user}", get(get_user))
                .route("/sc/v2/apps/{app}/conversations", post(create_conversation))
                .route("/sc/v2/apps/{app}/conversations/{id}", get(get_conversation))
                .route(
                    "/sc/v2/apps/{app}/conversations/{id}/{action}",
                    post(conversation_action),
                )
                .route("/api/v2/agent_availabilities", get(availabilities))
                .with_state((world.clone(), weak.clone()));
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            Sim {
                url,
                world,
                outlet,
                task,
            }
        }))
    }

    pub fn set_sink(&self, sink: Sink) {
        self.outlet.set_sink(sink);
    }

    pub fn conversation<T>(&self, id: &str, read: impl FnOnce(&Conversation) -> T) -> Option<T> {
        lock(&self.world).conversations.get(id).map(read)
    }

    /// What happens from now on, as it happens.
    pub fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        self.outlet.observe()
    }

    pub fn conversation_ids(&self) -> Vec<String> {
        lock(&self.world).conversations.keys().cloned().collect()
    }

    /// Every API call answers `503` while down.
    pub fn set_down(&self, down: bool) {
        lock(&self.world).down = down;
    }

    pub fn refused(&self) -> Vec<(u16, String)> {
        self.outlet.refused()
    }

    pub fn set_online_agents(&self, n: usize) {
        lock(&self.world).online_agents = n;
    }

    /// The next `n` API calls answer `429` with `Retry-After: 1`.
    pub fn throttle(&self, n: u32) {
        lock(&self.world).throttle = n;
    }

    /// Every webhook delivery is sent twice.
    pub fn duplicate_webhooks(&self, on: bool) {
        self.outlet.duplicate(on);
    }

    // ---- the agent's side (Agent Workspace) ----

    pub async fn agent_says(&self, conversation: &str, agent: &str, text: &str) {
        let id = new_id();
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.messages.push(Stored {
                id: id.clone(),
                author: "business".into(),
                text: text.to_owned(),
            });
        }
        let message = json!({
            "id": id, "received": chrono::Utc::now().to_rfc3339(),
            "author": {"type": "business", "displayName": agent, "avatarUrl": "https://example.com/a.png"},
            "content": {"type": "text", "text": text},
            "source": {"type": "zd:agentWorkspace"},
        });
        self.send(vec![event(
            "conversation:message",
            conversation,
            json!({"message": message}),
        )])
        .await;
    }

    pub async fn agent_typing(&self, conversation: &str, agent: &str, typing: bool) {
        let activity = json!({"type": if typing { "typing:start" } else { "typing:stop" },
                              "author": {"type": "business", "displayName": agent}});
        self.send(vec![event(
            "conversation:typing",
            conversation,
            json!({"activity": activity}),
        )])
        .await;
    }

    pub async fn agent_reads(&self, conversation: &str, agent: &str) {
        let activity = json!({"type": "conversation:read", "author": {"type": "business", "displayName": agent}});
        self.send(vec![event(
            "conversation:read",
            conversation,
            json!({"activity": activity}),
        )])
        .await;
    }

    /// The ticket is solved (or the session ended): control goes back, `releaseControl`.
    pub async fn solve(&self, conversation: &str) {
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.active = BOT.into();
        }
        self.send(vec![event(
            "switchboard:releaseControl",
            conversation,
            json!({"reason": "ticketClosed"}),
        )])
        .await;
    }

    /// Control is passed back to the bot with `metadata` (a hand-back).
    pub async fn hand_back(&self, conversation: &str, metadata: Value) {
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.active = BOT.into();
        }
        let payload =
            json!({"switchboardIntegration": {"name": BOT, "integrationType": "custom"}, "metadata": metadata});
        self.send(vec![event("switchboard:passControl", conversation, payload)])
            .await;
    }

    /// Sends several events in one delivery, in the order given.
    pub async fn send(&self, events: Vec<Value>) {
        let body = serde_json::to_vec(
            &json!({"app": {"id": APP}, "webhook": {"id": "wh1", "version": "v2"}, "events": events}),
        )
        .unwrap_or_default();
        let headers = vec![
            ("x-api-key".to_owned(), WEBHOOK_SECRET.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let kind = events
            .first()
            .and_then(|event| event["type"].as_str())
            .unwrap_or_default();
        self.outlet.deliver(headers, body, kind).await;
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One webhook event about `conversation`.
pub fn event(kind: &str, conversation: &str, mut payload: Value) -> Value {
    payload["conversation"] = json!({"id": conversation, "type": "personal"});
    json!({"id": new_id(), "type": kind, "createdAt": chrono::Utc::now().to_rfc3339(), "payload": payload})
}

fn authorized(headers: &HeaderMap, user: &str, secret: &str) -> bool {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    let expected = format!("Basic {encoded}");
    headers.get("authorization").and_then(|value| value.to_str().ok()) == Some(expected.as_str())
}

/// Gates every API call: the app's key, and the throttle.
fn gate(world: &mut World, headers: &HeaderMap, app: &str) -> Option<Response> {
    if world.down {
        return Some((StatusCode::SERVICE_UNAVAILABLE, "down").into_response());
    }
    if world.throttle > 0 {
        world.throttle -= 1;
        return Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                Json(json!({"errors": [{"code": "too_many_requests"}]})),
            )
                .into_response(),
        );
    }
    if !authorized(headers, KEY_ID, KEY_SECRET) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"errors": [{"code": "unauthorized", "title": "Authorization is required"}]})),
            )
                .into_response(),
        );
    }
    if app != APP {
        return Some(
            (
                StatusCode::NOT_FOUND,
                Json(json!({"errors": [{"code": "app_not_found"}]})),
            )
                .into_response(),
        );
    }
    None
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"errors": [{"code": "not_found", "title": "Not found"}]})),
    )
        .into_response()
}

async fn create_user(
    State((world, _)): State<AppState>,
    Path(app): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers, &app) {
        return response;
    }
    let external = body["externalId"].as_str().unwrap_or_default().to_owned();
    if world.users.contains_key(&external) {
        return (
            StatusCode::CONFLICT,
            Json(json!({"errors": [{"code": "conflict", "title": "User already exists"}]})),
        )
            .into_response();
    }
    let id = new_id();
    world.users.insert(external.clone(), id.clone());
    (
        StatusCode::CREATED,
        Json(json!({"user": {"id": id, "externalId": external}})),
    )
        .into_response()
}

async fn get_user(
    State((world, _)): State<AppState>,
    Path((app, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers, &app) {
        return response;
    }
    match world.users.get(&user) {
        Some(id) => Json(json!({"user": {"id": id, "externalId": user}})).into_response(),
        None => not_found(),
    }
}

async fn create_conversation(
    State((world, _)): State<AppState>,
    Path(app): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers, &app) {
        return response;
    }
    let user = body["participants"][0]["userId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !world.users.values().any(|id| *id == user) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"code": "bad_request", "title": "user not found"}]})),
        )
            .into_response();
    }
    let id = new_id();
    world.conversations.insert(
        id.clone(),
        Conversation {
            user,
            active: BOT.into(),
            metadata: body["metadata"].as_object().cloned().unwrap_or_default(),
            ..Conversation::default()
        },
    );
    (
        StatusCode::CREATED,
        Json(json!({"conversation": {"id": id, "type": "personal"}})),
    )
        .into_response()
}

async fn get_conversation(
    State((world, _)): State<AppState>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers, &app) {
        return response;
    }
    match world.conversations.get(&id) {
        Some(found) => Json(json!({"conversation": {"id": id, "type": "personal",
            "activeSwitchboardIntegration": {"name": found.active}}}))
        .into_response(),
        None => not_found(),
    }
}

async fn conversation_action(
    State((world, sim)): State<AppState>,
    Path((app, id, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (answer, echo) = {
        let mut world = lock(&world);
        if let Some(response) = gate(&mut world, &headers, &app) {
            return response;
        }
        let Some(found) = world.conversations.get_mut(&id) else {
            return not_found();
        };
        match action.as_str() {
            "messages" => {
                let message_id = new_id();
                let author = body["author"]["type"].as_str().unwrap_or_default().to_owned();
                let text = body["content"]["text"].as_str().unwrap_or_default().to_owned();
                found.messages.push(Stored {
                    id: message_id.clone(),
                    author: author.clone(),
                    text: text.clone(),
                });
                let message = json!({"id": message_id, "author": body["author"], "content": body["content"],
                                     "source": {"type": "api"}, "received": chrono::Utc::now().to_rfc3339()});
                // Every message of the conversation goes to the webhook, the API's own too.
                let echo = event("conversation:message", &id, json!({"message": message.clone()}));
                if author == "user" {
                    let observed = Observed::CustomerMessage {
                        conversation: id.clone(),
                        content: text,
                        at: std::time::Instant::now(),
                    };
                    world.outlet.notify(observed);
                }
                (
                    (StatusCode::CREATED, Json(json!({"messages": [message]}))).into_response(),
                    Some(echo),
                )
            }
            "activity" => {
                found.reads += 1;
                (Json(json!({})).into_response(), None)
            }
            "passControl" => {
                found.active = body["switchboardIntegration"].as_str().unwrap_or_default().to_owned();
                found.pass_metadata = body["metadata"].as_object().cloned().unwrap_or_default();
                let session = found
                    .metadata
                    .get("baton_session")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                world.outlet.notify(Observed::Opened {
                    conversation: id.clone(),
                    session,
                    at: std::time::Instant::now(),
                });
                (Json(json!({})).into_response(), None)
            }
            "releaseControl" => {
                found.active = BOT.into();
                found.released = true;
                (Json(json!({})).into_response(), None)
            }
            _ => return not_found(),
        }
    };
    if let (Some(echo), Some(sim)) = (echo, sim.upgrade()) {
        tokio::spawn(async move { sim.send(vec![echo]).await });
    }
    answer
}

async fn availabilities(
    State((world, _)): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if !authorized(&headers, &format!("{SUPPORT_EMAIL}/token"), SUPPORT_TOKEN) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Couldn't authenticate you"})),
        )
            .into_response();
    }
    let online = lock(&world).online_agents;
    let wanted = query.get("filter[channel_status]").map(String::as_str) == Some("messaging:online");
    let n = if wanted { online } else { 0 };
    let data: Vec<Value> = (0..n)
        .map(|index| json!({"type": "agent_availabilities", "id": index + 1, "attributes": {"agent_status": {"name": "online"}}}))
        .collect();
    Json(json!({"data": data})).into_response()
}
