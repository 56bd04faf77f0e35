//! A simulated Genesys Cloud (Open Messaging, the Notifications API, OAuth client credentials and
//! queue observations), for the Genesys desk's tests and `baton bench transfer --desk genesys`.
//! It answers the routes the desk calls as Genesys Cloud's developer documentation describes them:
//! `POST /oauth/token` (HTTP Basic with the client's id and secret, `grant_type=client_credentials`,
//! `{access_token, token_type, expires_in}`), the Open Messaging inbound routes (a message's
//! answer carries `conversationId` with `prefetchConversationId=true`), `GET` and
//! `POST …/disconnect` of a conversation, notification channels (`{id, connectUri}`) with topic
//! subscriptions and a WebSocket that sends `{topicName, eventBody}` notifications, heartbeats on
//! `channel.metadata` and `v2.system.socket_closing`, and the queue observation query. The agent's
//! messages and typing go to the integration's outbound webhook signed with `X-Hub-Signature-256`.
//! Like the real service it can deliver a webhook twice, expires tokens (`401`), closes sockets,
//! and answers `429` with `Retry-After`. Loopback only, in memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::lock;
pub use crate::simulation::{Observed, Outlet, Sink, within};

pub const CLIENT_ID: &str = "6b0f1c4e-sim-client";
pub const CLIENT_SECRET: &str = "genesys-client-secret-sim";
pub const INTEGRATION: &str = "5d3a2c1b-0000-4000-8000-000000000001";
pub const WEBHOOK_SECRET: &str = "genesys-webhook-secret-sim";
pub const QUEUE: &str = "9f8e7d6c-0000-4000-8000-000000000002";

static IDS: AtomicU64 = AtomicU64::new(1);

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One message in a conversation.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    /// `Inbound` (the customer's) or `Outbound` (the agent's).
    pub direction: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Agent {
    pub user: String,
    pub name: String,
    pub connected: bool,
}

#[derive(Debug, Default)]
pub struct Conversation {
    /// The customer's id on the integration.
    pub customer: String,
    pub custom_attributes: serde_json::Map<String, Value>,
    pub messages: Vec<Stored>,
    pub agents: Vec<Agent>,
    pub customer_typing: Option<bool>,
    pub reads: Vec<String>,
    pub disconnected: bool,
}

struct Socket {
    topics: Vec<String>,
    sender: Option<mpsc::UnboundedSender<String>>,
}

#[derive(Default)]
struct World {
    tokens: BTreeMap<String, Instant>,
    conversations: BTreeMap<String, Conversation>,
    channels: BTreeMap<String, Socket>,
    token_lifetime: Option<Duration>,
    on_queue: u64,
    throttle: u32,
    down: bool,
    tokens_issued: usize,
    /// The agent and text of [`Sim::greet_new_conversations`].
    greeting: Option<(String, String)>,
}

pub struct Sim {
    pub url: String,
    world: Arc<Mutex<World>>,
    outlet: Arc<Outlet>,
    task: tokio::task::JoinHandle<()>,
}

type AppState = (Arc<Mutex<World>>, Arc<Outlet>, String);

impl Sim {
    /// Starts on a free loopback port, one agent on queue; tokens live a day, as Genesys's do.
    /// The desk's `api_url` and `login_url` are both `url`.
    pub async fn start() -> std::io::Result<Arc<Sim>> {
        let outlet = Arc::new(Outlet::default());
        let world = Arc::new(Mutex::new(World {
            token_lifetime: Some(Duration::from_secs(86_399)),
            on_queue: 1,
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let url = format!("http://{address}");
        let router = axum::Router::new()
            .route("/oauth/token", post(token))
            .route(
                "/api/v2/conversations/messages/{integration}/inbound/open/{what}",
                post(inbound),
            )
            .route("/api/v2/conversations/{id}", get(conversation))
            .route("/api/v2/conversations/{id}/disconnect", post(disconnect))
            .route("/api/v2/notifications/channels", post(create_channel))
            .route("/api/v2/notifications/channels/{id}/subscriptions", put(subscribe))
            .route("/channels/{id}", get(socket))
            .route("/api/v2/analytics/queues/observations/query", post(observations))
            .with_state((world.clone(), outlet.clone(), format!("ws://{address}")));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Arc::new(Sim {
            url,
            world,
            outlet,
            task,
        }))
    }

    pub fn set_sink(&self, sink: Sink) {
        self.outlet.set_sink(sink);
    }

    pub fn conversation<T>(&self, id: &str, read: impl FnOnce(&Conversation) -> T) -> Option<T> {
        lock(&self.world).conversations.get(id).map(read)
    }

    pub fn conversation_ids(&self) -> Vec<String> {
        lock(&self.world).conversations.keys().cloned().collect()
    }

    pub fn observe(&self) -> mpsc::UnboundedReceiver<Observed> {
        self.outlet.observe()
    }

    pub fn refused(&self) -> Vec<(u16, String)> {
        self.outlet.refused()
    }

    pub fn set_on_queue(&self, agents: u64) {
        lock(&self.world).on_queue = agents;
    }

    /// Tokens issued from now on expire after `lifetime`.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.world).token_lifetime = Some(lifetime);
    }

    /// Every token issued so far expires now.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expires in lock(&self.world).tokens.values_mut() {
            *expires = now;
        }
    }

    pub fn tokens_issued(&self) -> usize {
        lock(&self.world).tokens_issued
    }

    /// Every notification socket is told it is closing, then closed.
    pub fn close_sockets(&self) {
        let mut world = lock(&self.world);
        for socket in world.channels.values_mut() {
            if let Some(sender) = socket.sender.take() {
                let _ = sender.send(
                    json!({"topicName": "v2.system.socket_closing", "eventBody": {"message": "Socket closing"}})
                        .to_string(),
                );
            }
        }
    }

    pub fn set_down(&self, down: bool) {
        lock(&self.world).down = down;
    }

    /// The next `n` API calls answer `429` with `Retry-After: 1`.
    pub fn throttle(&self, n: u32) {
        lock(&self.world).throttle = n;
    }

    /// Every webhook delivery is sent twice.
    pub fn duplicate_webhooks(&self, on: bool) {
        self.outlet.duplicate(on);
    }

    // ---- the agent's side ----

    /// The agent (`name`) answers the conversation: connected, notified on the queue's topic.
    pub fn agent_joins(&self, conversation: &str, name: &str) {
        let mut world = lock(&self.world);
        if let Some(found) = world.conversations.get_mut(conversation) {
            found.agents.push(Agent {
                user: user_of(name),
                name: name.to_owned(),
                connected: true,
            });
        }
        notify(&mut world, conversation);
    }

    /// The agent (`name`) disconnects (ends their part, or after a transfer).
    pub fn agent_leaves(&self, conversation: &str, name: &str) {
        let mut world = lock(&self.world);
        if let Some(found) = world.conversations.get_mut(conversation) {
            for agent in found.agents.iter_mut().filter(|agent| agent.name == name) {
                agent.connected = false;
            }
        }
        notify(&mut world, conversation);
    }

    /// A blind transfer from one agent to another.
    pub fn transfer(&self, conversation: &str, from: &str, to: &str) {
        self.agent_joins(conversation, to);
        self.agent_leaves(conversation, from);
    }

    pub async fn agent_says(&self, conversation: &str, agent: &str, text: &str) {
        let body = agent_text(&mut lock(&self.world), conversation, agent, text);
        if let Some(body) = body {
            self.deliver(&body, "Text").await;
        }
    }

    /// From now on, a new conversation's first agent message (`agent` writes `text`, as an
    /// auto-answered greeting would) reaches the webhook before the request that opened the
    /// conversation is answered: Genesys sends webhooks on its own schedule, not after its
    /// answers.
    pub fn greet_new_conversations(&self, agent: &str, text: &str) {
        lock(&self.world).greeting = Some((agent.to_owned(), text.to_owned()));
    }

    pub async fn agent_typing(&self, conversation: &str, agent: &str) {
        let Some(customer) = self.conversation(conversation, |found| found.customer.clone()) else {
            return;
        };
        let body = json!({
            "id": new_id(),
            "channel": {"id": INTEGRATION, "platform": "Open", "type": "Private",
                        "to": {"id": customer, "idType": "Opaque"},
                        "from": {"nickname": agent, "id": INTEGRATION, "idType": "Opaque"},
                        "time": chrono::Utc::now().to_rfc3339()},
            "type": "Event", "events": [{"eventType": "Typing", "typing": {"type": "On", "duration": 5000}}],
            "direction": "Outbound", "conversationId": conversation,
        });
        self.deliver(&body, "Event").await;
    }

    async fn deliver(&self, body: &Value, event: &str) {
        deliver(&self.outlet, body, event).await;
    }
}

/// Sends `body` to the webhook, signed as Genesys signs it.
async fn deliver(outlet: &Outlet, body: &Value, event: &str) {
    let body = body.to_string().into_bytes();
    let headers = vec![
        (super::SIGNATURE_HEADER.to_owned(), super::sign(WEBHOOK_SECRET, &body)),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    outlet.deliver(headers, body, event).await;
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Genesys user id the simulation gives the agent named `name`.
pub fn user_of(name: &str) -> String {
    let digest = crate::signing::digest_hex(b"user", name.as_bytes());
    format!("{}-{}-{}", &digest[..8], &digest[8..12], &digest[12..24])
}

/// The conversation as the API and the notifications show it.
fn view(id: &str, found: &Conversation) -> Value {
    let mut participants = vec![json!({
        "id": format!("{id}-customer"), "purpose": "customer", "name": found.customer,
        "state": if found.disconnected { "disconnected" } else { "connected" },
    })];
    for agent in &found.agents {
        participants.push(json!({
            "id": format!("{id}-{}", agent.user), "purpose": "agent", "userId": agent.user, "name": agent.name,
            "state": if agent.connected && !found.disconnected { "connected" } else { "disconnected" },
        }));
    }
    json!({"id": id, "participants": participants})
}

/// Sends the conversation's state on the queue topic to the sockets subscribed to it.
fn notify(world: &mut World, conversation: &str) {
    let Some(found) = world.conversations.get(conversation) else {
        return;
    };
    let topic = format!("v2.routing.queues.{QUEUE}.conversations.messages");
    let text = json!({"topicName": topic, "version": "2", "eventBody": view(conversation, found)}).to_string();
    for socket in world.channels.values_mut() {
        if socket.topics.contains(&topic)
            && let Some(sender) = &socket.sender
            && sender.send(text.clone()).is_err()
        {
            socket.sender = None;
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"status": status.as_u16(), "code": code, "message": message})),
    )
        .into_response()
}

fn gate(world: &mut World, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if world.down {
        return Err(Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service.unavailable",
            "Service unavailable",
        )));
    }
    if world.throttle > 0 {
        world.throttle -= 1;
        return Err(Box::new(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                Json(json!({"status": 429, "code": "too.many.requests", "message": "Rate limit exceeded"})),
            )
                .into_response(),
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    match world.tokens.get(token) {
        Some(expires) if *expires > Instant::now() => Ok(()),
        _ => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        ))),
    }
}

async fn token(State((world, _, _)): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let mut world = lock(&world);
    if world.down {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service.unavailable",
            "Service unavailable",
        );
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|value| value.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "description": "client not found"})),
        )
            .into_response();
    }
    if body.trim() != "grant_type=client_credentials" {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let lifetime = world.token_lifetime.unwrap_or(Duration::from_secs(86_399));
    let token = new_id().replace('-', "");
    world.tokens.insert(token.clone(), Instant::now() + lifetime);
    world.tokens_issued += 1;
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": lifetime.as_secs()})).into_response()
}

/// Stores an agent's message in `conversation` and gives the webhook body that tells of it
/// (nothing when there is no such conversation).
fn agent_text(world: &mut World, conversation: &str, agent: &str, text: &str) -> Option<Value> {
    let id = format!(
        "{:032x}",
        IDS.fetch_add(1, Ordering::SeqCst) + (u64::from(std::process::id()) << 40)
    );
    let found = world.conversations.get_mut(conversation)?;
    found.messages.push(Stored {
        id: id.clone(),
        direction: "Outbound".into(),
        text: text.to_owned(),
    });
    Some(json!({
        "id": id,
        "channel": {"id": INTEGRATION, "platform": "Open", "type": "Private",
                    "to": {"id": found.customer, "idType": "Opaque"},
                    "from": {"nickname": agent, "id": INTEGRATION, "idType": "Opaque"},
                    "time": chrono::Utc::now().to_rfc3339(), "messageId": id},
        "type": "Text", "text": text, "originatingEntity": "Human", "direction": "Outbound",
        "conversationId": conversation,
    }))
}

async fn inbound(
    State((world, outlet, _)): State<AppState>,
    Path((integration, what)): Path<(String, String)>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<BTreeMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let mut greeting = None;
    let response = inbound_now(
        &world,
        &outlet,
        (&integration, &what),
        &headers,
        &query,
        &body,
        &mut greeting,
    );
    if let Some(body) = greeting {
        deliver(&outlet, &body, "Text").await;
    }
    response
}

/// [`inbound`] but the greeting's delivery, which it leaves in `greeting`.
fn inbound_now(
    world: &Mutex<World>,
    outlet: &Outlet,
    (integration, what): (&str, &str),
    headers: &HeaderMap,
    query: &BTreeMap<String, String>,
    body: &Value,
    greeting: &mut Option<Value>,
) -> Response {
    let mut world = lock(world);
    if let Err(response) = gate(&mut world, headers) {
        return *response;
    }
    if integration != INTEGRATION {
        return error(StatusCode::NOT_FOUND, "not.found", "Integration not found");
    }
    let Some(customer) = body["channel"]["from"]["id"].as_str().map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, "bad.request", "channel.from.id is required");
    };
    let open = world
        .conversations
        .iter()
        .find(|(_, found)| found.customer == customer && !found.disconnected)
        .map(|(id, _)| id.clone());
    match what {
        "message" => {
            let (Some(text), "Text", "Inbound") = (
                body["text"].as_str(),
                body["type"].as_str().unwrap_or_default(),
                body["direction"].as_str().unwrap_or_default(),
            ) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad.request",
                    "a Text message, direction Inbound",
                );
            };
            let opened = open.is_none();
            let conversation = open.unwrap_or_else(new_id);
            let id = new_id().replace('-', "");
            let found = world.conversations.entry(conversation.clone()).or_default();
            found.customer.clone_from(&customer);
            if let Some(attributes) = body["channel"]["metadata"]["customAttributes"].as_object() {
                found.custom_attributes.extend(attributes.clone());
            }
            found.messages.push(Stored {
                id: id.clone(),
                direction: "Inbound".into(),
                text: text.to_owned(),
            });
            let session = found
                .custom_attributes
                .get("baton_session")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let mut answer =
                json!({"id": id, "channel": body["channel"], "type": "Text", "text": text, "direction": "Inbound"});
            if query.get("prefetchConversationId").map(String::as_str) == Some("true") {
                answer["conversationId"] = json!(conversation);
            }
            *greeting = match (opened, world.greeting.clone()) {
                (true, Some((agent, text))) => agent_text(&mut world, &conversation, &agent, &text),
                _ => None,
            };
            let observed = if opened {
                Observed::Opened {
                    conversation,
                    session,
                    at: Instant::now(),
                }
            } else {
                Observed::CustomerMessage {
                    conversation,
                    content: text.to_owned(),
                    at: Instant::now(),
                }
            };
            drop(world);
            outlet.notify(observed);
            (StatusCode::ACCEPTED, Json(answer)).into_response()
        }
        "event" => {
            let Some(found) = open.and_then(|id| world.conversations.get_mut(&id)) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad.request",
                    "no open conversation for this customer",
                );
            };
            for event in body["events"].as_array().into_iter().flatten() {
                if event["eventType"] == "Typing" {
                    found.customer_typing = Some(event["typing"]["type"] == "On");
                }
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({"channel": body["channel"], "events": body["events"]})),
            )
                .into_response()
        }
        "receipt" => {
            let Some(found) = open.and_then(|id| world.conversations.get_mut(&id)) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad.request",
                    "no open conversation for this customer",
                );
            };
            if let (Some(id), "Read") = (body["id"].as_str(), body["status"].as_str().unwrap_or_default()) {
                found.reads.push(id.to_owned());
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({"id": body["id"], "status": body["status"]})),
            )
                .into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "not.found", "Not found"),
    }
}

async fn conversation(State((world, _, _)): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut world = lock(&world);
    if let Err(response) = gate(&mut world, &headers) {
        return *response;
    }
    match world.conversations.get(&id) {
        Some(found) => Json(view(&id, found)).into_response(),
        None => error(StatusCode::NOT_FOUND, "not.found", "Conversation not found"),
    }
}

async fn disconnect(State((world, _, _)): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut world = lock(&world);
    if let Err(response) = gate(&mut world, &headers) {
        return *response;
    }
    let Some(found) = world.conversations.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "not.found", "Conversation not found");
    };
    found.disconnected = true;
    notify(&mut world, &id);
    StatusCode::ACCEPTED.into_response()
}

async fn create_channel(State((world, _, ws)): State<AppState>, headers: HeaderMap) -> Response {
    let mut world = lock(&world);
    if let Err(response) = gate(&mut world, &headers) {
        return *response;
    }
    let id = new_id();
    world.channels.insert(
        id.clone(),
        Socket {
            topics: Vec::new(),
            sender: None,
        },
    );
    let expires = (chrono::Utc::now() + chrono::Duration::hours(24)).to_rfc3339();
    Json(json!({"id": id, "connectUri": format!("{ws}/channels/{id}"), "expires": expires})).into_response()
}

async fn subscribe(
    State((world, _, _)): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut world = lock(&world);
    if let Err(response) = gate(&mut world, &headers) {
        return *response;
    }
    let Some(socket) = world.channels.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "not.found", "Channel not found");
    };
    socket.topics = body
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|topic| topic["id"].as_str().map(str::to_owned))
        .collect();
    Json(json!({"entities": body})).into_response()
}

async fn socket(State((world, _, _)): State<AppState>, Path(id): Path<String>, upgrade: WebSocketUpgrade) -> Response {
    let (sender, mut receiver) = mpsc::unbounded_channel::<String>();
    {
        let mut world = lock(&world);
        let Some(socket) = world.channels.get_mut(&id) else {
            return error(StatusCode::NOT_FOUND, "not.found", "Channel not found");
        };
        socket.sender = Some(sender);
    }
    upgrade.on_upgrade(move |mut socket: WebSocket| async move {
        let mut heartbeat = tokio::time::interval(Duration::from_secs(30));
        loop {
            let text = tokio::select! {
                text = receiver.recv() => match text {
                    Some(text) => text,
                    None => break,
                },
                _ = heartbeat.tick() => json!({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}).to_string(),
            };
            let closing = text.contains("v2.system.socket_closing");
            if socket.send(Message::Text(text.into())).await.is_err() || closing {
                break;
            }
        }
        let _ = socket.send(Message::Close(None)).await;
    })
}

async fn observations(State((world, _, _)): State<AppState>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut world = lock(&world);
    if let Err(response) = gate(&mut world, &headers) {
        return *response;
    }
    let queue = body
        .pointer("/filter/predicates/0/value")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let count = if queue == QUEUE { world.on_queue } else { 0 };
    Json(json!({"results": [{"group": {"queueId": queue}, "data": [
        {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": count}},
        {"metric": "oOnQueueUsers", "qualifier": "OFFLINE", "stats": {"count": 3}},
    ]}]}))
    .into_response()
}
