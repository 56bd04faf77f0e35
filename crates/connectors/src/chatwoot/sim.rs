//! A simulated Chatwoot, for the Chatwoot desk's tests: the routes the desk calls, answered as
//! Chatwoot's developer documentation describes them ("Client APIs" for an API-channel inbox,
//! "Application APIs" for conversations, messages, status, assignments and inbox members), and
//! the inbox's webhook deliveries ("Webhooks": `message_created`, `conversation_updated`,
//! `conversation_status_changed`, `conversation_typing_on` / `_off`), signed as Chatwoot signs
//! them: `X-Chatwoot-Signature: sha256=HEX` over `"{X-Chatwoot-Timestamp}.{body}"`, with an
//! `X-Chatwoot-Delivery` id.
//!
//! It also does what a real installation does to a client: it echoes the bot's own messages back
//! as webhooks, can deliver each webhook twice, can deliver an agent's message before the
//! assignment that preceded it, and can answer `429` with `Retry-After`.
//!
//! The agent's side is driven by its user ([`Sim::assign`], [`Sim::agent_says`], …). Webhooks go
//! to whatever [`Sink`] it is given: the desk itself, or a Baton server's webhook router. It is
//! part of the library for the desk's tests and for `baton bench transfer --desk chatwoot`; it
//! listens on loopback only and keeps everything in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const ACCOUNT: u64 = 7;
pub const INBOX: u64 = 3;
pub const INBOX_IDENTIFIER: &str = "inbox-ident-3";
pub const BOT_TOKEN: &str = "bot-token-sim";
pub const ADMIN_TOKEN: &str = "admin-token-sim";
pub const WEBHOOK_SECRET: &str = "chatwoot-webhook-secret-sim";

/// Delivery ids, unique in the process.
static DELIVERIES: AtomicU64 = AtomicU64::new(1);

use crate::lock;
pub use crate::simulation::{Observed, Outlet, Sink, within};

/// A message as the simulated Chatwoot stored it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub content: String,
    /// "incoming" (the contact) or "outgoing" (the bot or an agent).
    pub message_type: String,
    pub private: bool,
    /// "contact", "agent_bot" or "user".
    pub sender_type: String,
}

#[derive(Debug, Default)]
pub struct Conversation {
    pub id: u64,
    pub source_id: String,
    pub status: String,
    pub assignee: Option<(u64, String)>,
    pub team: Option<u64>,
    pub custom_attributes: serde_json::Map<String, Value>,
    pub messages: Vec<Stored>,
    pub contact_typing: Vec<bool>,
    pub contact_seen: usize,
}

#[derive(Default)]
struct World {
    next_id: u64,
    contacts: HashMap<String, (u64, String)>,
    conversations: BTreeMap<u64, Conversation>,
    /// Agents of the inbox and whether they are online.
    members: Vec<(u64, String, bool)>,
    /// The next this-many calls answer 429.
    throttle: u32,
    /// An assignment's webhook waits for the next webhook, and goes after it.
    late_assignment: bool,
    held_back: Option<Value>,
    down: bool,
    calls: Vec<String>,
    outlet: Arc<Outlet>,
}

pub struct Sim {
    pub url: String,
    world: Arc<Mutex<World>>,
    outlet: Arc<Outlet>,
    task: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<World>>;

impl Sim {
    /// Starts the simulation on a free loopback port, with one agent, Ann (id 11), online.
    pub async fn start() -> std::io::Result<Arc<Sim>> {
        let outlet = Arc::new(Outlet::default());
        let world: Shared = Arc::new(Mutex::new(World {
            members: vec![(11, "Ann Agent".into(), true)],
            outlet: outlet.clone(),
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        Ok(Arc::new_cyclic(|weak: &std::sync::Weak<Sim>| {
            let weak = weak.clone();
            let router = axum::Router::new()
                .route("/public/api/v1/inboxes/{inbox}/contacts", post(create_contact))
                .route(
                    "/public/api/v1/inboxes/{inbox}/contacts/{source}/conversations/{id}/{action}",
                    post(public_action),
                )
                .route("/api/v1/accounts/{account}/conversations", post(create_conversation))
                .route("/api/v1/accounts/{account}/conversations/{id}", get(show_conversation))
                .route(
                    "/api/v1/accounts/{account}/conversations/{id}/{action}",
                    post(app_action),
                )
                .route("/api/v1/accounts/{account}/inbox_members/{inbox}", get(inbox_members))
                .with_state((world.clone(), weak));
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

    /// Reads conversation `id`; `None` when there is no such conversation.
    pub fn conversation<T>(&self, id: u64, read: impl FnOnce(&Conversation) -> T) -> Option<T> {
        lock(&self.world).conversations.get(&id).map(read)
    }

    /// Webhook deliveries the sink refused (its status and the event), oldest first.
    pub fn refused(&self) -> Vec<(u16, String)> {
        self.outlet.refused()
    }

    /// What happens from now on, as it happens.
    pub fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        self.outlet.observe()
    }

    /// The conversations made so far, oldest first.
    pub fn conversation_ids(&self) -> Vec<u64> {
        lock(&self.world).conversations.keys().copied().collect()
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.world).calls.clone()
    }

    pub fn set_online(&self, online: bool) {
        for member in &mut lock(&self.world).members {
            member.2 = online;
        }
    }

    /// The next `n` calls answer `429 Too Many Requests` with `Retry-After: 1`.
    pub fn throttle(&self, n: u32) {
        lock(&self.world).throttle = n;
    }

    /// Every webhook is delivered twice, with the same delivery id.
    pub fn duplicate_webhooks(&self, on: bool) {
        self.outlet.duplicate(on);
    }

    /// The next assignment's webhook is delivered after the webhook that follows it.
    pub fn late_assignment(&self) {
        lock(&self.world).late_assignment = true;
    }

    /// Every call fails with `503` while down.
    pub fn set_down(&self, down: bool) {
        lock(&self.world).down = down;
    }

    // ---- the agent's side ----

    /// An agent takes the conversation (`conversation_updated` with the assignee).
    pub async fn assign(&self, conversation: u64, agent: (u64, &str)) {
        let payload = {
            let mut world = lock(&self.world);
            let Some(found) = world.conversations.get_mut(&conversation) else {
                return;
            };
            let previous = found.assignee.as_ref().map(|(id, _)| *id);
            found.assignee = Some((agent.0, agent.1.to_owned()));
            let mut payload = conversation_json(found);
            payload["event"] = json!("conversation_updated");
            payload["changed_attributes"] =
                json!([{"assignee_id": {"previous_value": previous, "current_value": agent.0}}]);
            payload
        };
        let late = std::mem::take(&mut lock(&self.world).late_assignment);
        if late {
            lock(&self.world).held_back = Some(payload);
        } else {
            self.deliver(payload).await;
        }
    }

    pub async fn agent_says(&self, conversation: u64, agent: (u64, &str), text: &str) {
        let payload = {
            let mut world = lock(&self.world);
            let id = world.next();
            let Some(found) = world.conversations.get_mut(&conversation) else {
                return;
            };
            found.messages.push(Stored {
                content: text.to_owned(),
                message_type: "outgoing".into(),
                private: false,
                sender_type: "user".into(),
            });
            message_json(
                found,
                id,
                text,
                "outgoing",
                false,
                json!({"id": agent.0, "name": agent.1, "available_name": agent.1, "type": "user"}),
            )
        };
        self.deliver(payload).await;
    }

    /// A private note: agents only, never the customer.
    pub async fn agent_notes(&self, conversation: u64, agent: (u64, &str), text: &str) {
        let payload = {
            let mut world = lock(&self.world);
            let id = world.next();
            let Some(found) = world.conversations.get_mut(&conversation) else {
                return;
            };
            message_json(
                found,
                id,
                text,
                "outgoing",
                true,
                json!({"id": agent.0, "name": agent.1, "type": "user"}),
            )
        };
        self.deliver(payload).await;
    }

    pub async fn agent_typing(&self, conversation: u64, agent: (u64, &str), typing: bool) {
        let payload = {
            let world = lock(&self.world);
            let Some(found) = world.conversations.get(&conversation) else {
                return;
            };
            json!({
                "event": if typing { "conversation_typing_on" } else { "conversation_typing_off" },
                "conversation": conversation_json(found),
                "user": {"id": agent.0, "name": agent.1, "type": "user"},
                "is_private": false,
            })
        };
        self.deliver(payload).await;
    }

    /// The agent resolves the conversation, or moves it back to pending with custom attributes.
    pub async fn set_status(&self, conversation: u64, status: &str, attributes: Value) {
        let payload = {
            let mut world = lock(&self.world);
            let Some(found) = world.conversations.get_mut(&conversation) else {
                return;
            };
            found.status = status.to_owned();
            if let Value::Object(attributes) = attributes {
                found.custom_attributes.extend(attributes);
            }
            let mut payload = conversation_json(found);
            payload["event"] = json!("conversation_status_changed");
            payload
        };
        self.deliver(payload).await;
    }

    /// Signs and sends one webhook (twice when duplicating); a held-back assignment goes after it.
    pub async fn deliver(&self, payload: Value) {
        self.send_signed(&payload).await;
        let held = lock(&self.world).held_back.take();
        if let Some(held) = held {
            self.send_signed(&held).await;
        }
    }

    async fn send_signed(&self, payload: &Value) {
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let timestamp = chrono::Utc::now().timestamp();
        let digest = crate::signing::timestamped_hex(WEBHOOK_SECRET.as_bytes(), timestamp, &body);
        let headers = vec![
            ("x-chatwoot-signature".to_owned(), format!("sha256={digest}")),
            ("x-chatwoot-timestamp".to_owned(), timestamp.to_string()),
            (
                "x-chatwoot-delivery".to_owned(),
                format!("delivery-{}", DELIVERIES.fetch_add(1, Ordering::SeqCst)),
            ),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let event = payload["event"].as_str().unwrap_or_default();
        self.outlet.deliver(headers, body, event).await;
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl World {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `None` to go on; `Some(response)` for a throttled or downed call.
    fn gate(&mut self, call: String) -> Option<Response> {
        self.calls.push(call);
        if self.down {
            return Some((StatusCode::SERVICE_UNAVAILABLE, "down").into_response());
        }
        if self.throttle > 0 {
            self.throttle -= 1;
            return Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    Json(json!({"error": "Too many requests"})),
                )
                    .into_response(),
            );
        }
        None
    }
}

fn conversation_json(conversation: &Conversation) -> Value {
    let assignee = conversation
        .assignee
        .as_ref()
        .map(|(id, name)| json!({"id": id, "name": name, "available_name": name, "type": "user"}));
    json!({
        "id": conversation.id,
        "inbox_id": INBOX,
        "account_id": ACCOUNT,
        "status": conversation.status,
        "custom_attributes": conversation.custom_attributes,
        "meta": {"assignee": assignee, "team": conversation.team.map(|id| json!({"id": id}))},
    })
}

fn message_json(
    conversation: &Conversation,
    id: u64,
    content: &str,
    kind: &str,
    private: bool,
    sender: Value,
) -> Value {
    json!({
        "event": "message_created",
        "id": id,
        "content": content,
        "message_type": kind,
        "private": private,
        "created_at": chrono::Utc::now().to_rfc3339(),
        "sender": sender,
        "conversation": conversation_json(conversation),
        "account": {"id": ACCOUNT},
        "inbox": {"id": INBOX},
    })
}

type AppState = (Shared, std::sync::Weak<Sim>);

fn token_is(headers: &HeaderMap, token: &str) -> bool {
    headers.get("api_access_token").and_then(|value| value.to_str().ok()) == Some(token)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"errors": ["You need to sign in or sign up before continuing."]})),
    )
        .into_response()
}

async fn create_contact(
    State((world, _)): State<AppState>,
    Path(inbox): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = world.gate("create_contact".into()) {
        return response;
    }
    if inbox != INBOX_IDENTIFIER {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "inbox not found"}))).into_response();
    }
    let id = world.next();
    let source_id = format!("source-{id}-{}", std::process::id());
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    world.contacts.insert(source_id.clone(), (id, name.clone()));
    Json(json!({"id": id, "source_id": source_id, "pubsub_token": "pubsub", "name": name})).into_response()
}

async fn create_conversation(
    State((world, _)): State<AppState>,
    Path(account): Path<u64>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = world.gate("create_conversation".into()) {
        return response;
    }
    if !token_is(&headers, BOT_TOKEN) {
        return unauthorized();
    }
    let source_id = body["source_id"].as_str().unwrap_or_default().to_owned();
    if account != ACCOUNT || body["inbox_id"] != INBOX || !world.contacts.contains_key(&source_id) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "invalid source_id or inbox"})),
        )
            .into_response();
    }
    let id = world.next();
    let conversation = Conversation {
        id,
        source_id,
        status: body["status"].as_str().unwrap_or("open").to_owned(),
        custom_attributes: body["custom_attributes"].as_object().cloned().unwrap_or_default(),
        ..Conversation::default()
    };
    let answer = conversation_json(&conversation);
    world.conversations.insert(id, conversation);
    Json(answer).into_response()
}

async fn show_conversation(
    State((world, _)): State<AppState>,
    Path((_, id)): Path<(u64, u64)>,
    headers: HeaderMap,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = world.gate("show_conversation".into()) {
        return response;
    }
    if !token_is(&headers, BOT_TOKEN) {
        return unauthorized();
    }
    match world.conversations.get(&id) {
        Some(conversation) => Json(conversation_json(conversation)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "Resource could not be found"})),
        )
            .into_response(),
    }
}

async fn app_action(
    State((world, sim)): State<AppState>,
    Path((_, id, action)): Path<(u64, u64, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let echo = {
        let mut world = lock(&world);
        if let Some(response) = world.gate(format!("app_{action}")) {
            return response;
        }
        if !token_is(&headers, BOT_TOKEN) {
            return unauthorized();
        }
        let message_id = world.next();
        let Some(conversation) = world.conversations.get_mut(&id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "Resource could not be found"})),
            )
                .into_response();
        };
        match action.as_str() {
            "messages" => {
                let content = body["content"].as_str().unwrap_or_default().to_owned();
                let kind = body["message_type"].as_str().unwrap_or("outgoing").to_owned();
                let private = body["private"].as_bool().unwrap_or(false);
                let sender_type = if kind == "incoming" { "contact" } else { "agent_bot" };
                conversation.messages.push(Stored {
                    content: content.clone(),
                    message_type: kind.clone(),
                    private,
                    sender_type: sender_type.into(),
                });
                // Chatwoot sends every message of the inbox to its webhook, the bot's own too.
                Some(message_json(
                    conversation,
                    message_id,
                    &content,
                    &kind,
                    private,
                    json!({"id": 1, "name": "Baton", "type": sender_type}),
                ))
            }
            "toggle_status" => {
                conversation.status = body["status"].as_str().unwrap_or("open").to_owned();
                let mut payload = conversation_json(conversation);
                payload["event"] = json!("conversation_status_changed");
                if conversation.status == "open" {
                    let observed = Observed::Opened {
                        conversation: id.to_string(),
                        session: conversation.custom_attributes["baton_session"]
                            .as_str()
                            .map(str::to_owned),
                        at: std::time::Instant::now(),
                    };
                    world.outlet.notify(observed);
                }
                Some(payload)
            }
            "assignments" => {
                conversation.team = body["team_id"].as_u64();
                None
            }
            _ => return StatusCode::NOT_FOUND.into_response(),
        }
    };
    if let (Some(echo), Some(sim)) = (echo, sim.upgrade()) {
        tokio::spawn(async move { sim.deliver(echo).await });
    }
    Json(json!({"id": id})).into_response()
}

async fn public_action(
    State((world, sim)): State<AppState>,
    Path((inbox, source, id, action)): Path<(String, String, u64, String)>,
    Json(body): Json<Value>,
) -> Response {
    let echo = {
        let mut world = lock(&world);
        if let Some(response) = world.gate(format!("public_{action}")) {
            return response;
        }
        let message_id = world.next();
        let found = world.conversations.get_mut(&id);
        let Some(conversation) =
            found.filter(|conversation| conversation.source_id == source && inbox == INBOX_IDENTIFIER)
        else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "Resource could not be found"})),
            )
                .into_response();
        };
        match action.as_str() {
            "messages" => {
                let content = body["content"].as_str().unwrap_or_default().to_owned();
                conversation.messages.push(Stored {
                    content: content.clone(),
                    message_type: "incoming".into(),
                    private: false,
                    sender_type: "contact".into(),
                });
                let payload = message_json(
                    conversation,
                    message_id,
                    &content,
                    "incoming",
                    false,
                    json!({"id": 2, "type": "contact"}),
                );
                world.outlet.notify(Observed::CustomerMessage {
                    conversation: id.to_string(),
                    content,
                    at: std::time::Instant::now(),
                });
                Some(payload)
            }
            "toggle_typing" => {
                conversation.contact_typing.push(body["typing_status"] == "on");
                None
            }
            "update_last_seen" => {
                conversation.contact_seen += 1;
                None
            }
            "toggle_status" => {
                conversation.status = "resolved".into();
                None
            }
            _ => return StatusCode::NOT_FOUND.into_response(),
        }
    };
    if let (Some(echo), Some(sim)) = (echo, sim.upgrade()) {
        tokio::spawn(async move { sim.deliver(echo).await });
    }
    Json(json!({"id": id})).into_response()
}

async fn inbox_members(
    State((world, _)): State<AppState>,
    Path((_, inbox)): Path<(u64, u64)>,
    headers: HeaderMap,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = world.gate("inbox_members".into()) {
        return response;
    }
    if !token_is(&headers, ADMIN_TOKEN) {
        return unauthorized();
    }
    if inbox != INBOX {
        return StatusCode::NOT_FOUND.into_response();
    }
    let payload: Vec<Value> = world
        .members
        .iter()
        .map(|(id, name, online)| json!({"id": id, "name": name, "availability_status": if *online { "online" } else { "offline" }}))
        .collect();
    Json(json!({"payload": payload})).into_response()
}
