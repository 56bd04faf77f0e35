//! A simulated Twilio Flex (the Conversations API of a Flex Conversations service, the
//! Interactions API and TaskRouter's queue statistics), for the Twilio Flex desk's tests and
//! `baton bench transfer --desk twilio_flex`. It answers form-encoded requests with JSON, as the
//! API reference shows (HTTP Basic with the account SID and auth token; `{code, message, status}`
//! errors; SIDs with their two-letter prefixes), fires no webhook for REST-made changes, and sends
//! the service's post-event webhooks form-encoded, signed with `X-Twilio-Signature` over the
//! configured URL, with an `I-Twilio-Idempotency-Token`. Like the real service it can deliver a
//! webhook twice and answer `429`. Loopback only, in memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::lock;

pub use crate::simulation::{Observed, Outlet, Sink, within};

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const AUTH_TOKEN: &str = "twilio-auth-token-sim";
pub const SERVICE_SID: &str = "IS00000000000000000000000000000001";
pub const WORKSPACE_SID: &str = "WS00000000000000000000000000000001";
pub const WORKFLOW_SID: &str = "WW00000000000000000000000000000001";
pub const TASK_QUEUE_SID: &str = "WQ00000000000000000000000000000001";

static SIDS: AtomicU64 = AtomicU64::new(1);

fn new_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", SIDS.fetch_add(1, Ordering::SeqCst))
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub author: String,
    pub body: String,
}

#[derive(Debug, Default)]
pub struct Conversation {
    pub attributes: Value,
    pub state: String,
    pub participants: Vec<String>,
    pub messages: Vec<Stored>,
    /// The task attributes of its interaction, and the interaction channel's status.
    pub task: Value,
    pub interaction_channel: Option<(String, String, String)>,
}

#[derive(Default)]
struct World {
    conversations: BTreeMap<String, Conversation>,
    available_workers: u64,
    throttle: u32,
    /// Every call answers 503 while down.
    down: bool,
    outlet: Arc<Outlet>,
}

pub struct Sim {
    pub url: String,
    world: Arc<Mutex<World>>,
    outlet: Arc<Outlet>,
    /// The URL the webhooks are signed over.
    signed_url: Mutex<String>,
    task: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<World>>;

impl Sim {
    /// Starts on a free loopback port, with one worker available. Every API host of the desk's
    /// configuration is this `url`.
    pub async fn start() -> std::io::Result<Arc<Sim>> {
        let outlet = Arc::new(Outlet::default());
        let world: Shared = Arc::new(Mutex::new(World {
            available_workers: 1,
            outlet: outlet.clone(),
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let router = axum::Router::new()
            .route("/v1/Services/{service}/Conversations", post(create_conversation))
            .route("/v1/Services/{service}/Conversations/{id}", get(show_conversation))
            .route(
                "/v1/Services/{service}/Conversations/{id}/{resource}",
                post(conversation_child),
            )
            .route("/v1/Interactions", post(create_interaction))
            .route(
                "/v1/Interactions/{interaction}/Channels/{channel}",
                post(update_channel),
            )
            .route(
                "/v1/Workspaces/{workspace}/TaskQueues/{queue}/RealTimeStatistics",
                get(queue_statistics),
            )
            .with_state(world.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Arc::new(Sim {
            url,
            world,
            outlet,
            signed_url: Mutex::default(),
            task,
        }))
    }

    /// Webhooks go to `sink`, signed over `url` (the URL configured on the service).
    pub fn set_sink(&self, sink: Sink, url: &str) {
        *lock(&self.signed_url) = url.to_owned();
        self.outlet.set_sink(sink);
    }

    pub fn conversation<T>(&self, id: &str, read: impl FnOnce(&Conversation) -> T) -> Option<T> {
        lock(&self.world).conversations.get(id).map(read)
    }

    pub fn conversation_ids(&self) -> Vec<String> {
        lock(&self.world).conversations.keys().cloned().collect()
    }

    pub fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        self.outlet.observe()
    }

    /// Every API call answers `503` while down.
    pub fn set_down(&self, down: bool) {
        lock(&self.world).down = down;
    }

    pub fn refused(&self) -> Vec<(u16, String)> {
        self.outlet.refused()
    }

    pub fn set_available_workers(&self, n: u64) {
        lock(&self.world).available_workers = n;
    }

    /// The next `n` API calls answer `429 Too Many Requests`.
    pub fn throttle(&self, n: u32) {
        lock(&self.world).throttle = n;
    }

    pub fn duplicate_webhooks(&self, on: bool) {
        self.outlet.duplicate(on);
    }

    // ---- the agent's side (Flex) ----

    /// A Flex agent accepts the task: they are added to the conversation.
    pub async fn agent_joins(&self, conversation: &str, identity: &str) {
        let participant = new_sid("MB");
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.participants.push(identity.to_owned());
        }
        self.webhook(&[
            ("EventType", "onParticipantAdded"),
            ("ConversationSid", conversation),
            ("ParticipantSid", &participant),
            ("Identity", identity),
            ("Source", "SDK"),
        ])
        .await;
    }

    pub async fn agent_leaves(&self, conversation: &str, identity: &str) {
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.participants.retain(|participant| participant != identity);
        }
        self.webhook(&[
            ("EventType", "onParticipantRemoved"),
            ("ConversationSid", conversation),
            ("Identity", identity),
            ("Source", "SDK"),
        ])
        .await;
    }

    pub async fn agent_says(&self, conversation: &str, identity: &str, text: &str) {
        let message = new_sid("IM");
        let index = {
            let mut world = lock(&self.world);
            match world.conversations.get_mut(conversation) {
                Some(found) => {
                    found.messages.push(Stored {
                        author: identity.to_owned(),
                        body: text.to_owned(),
                    });
                    found.messages.len() - 1
                }
                None => 0,
            }
        };
        self.webhook(&[
            ("EventType", "onMessageAdded"),
            ("ConversationSid", conversation),
            ("MessageSid", &message),
            ("Index", &index.to_string()),
            ("Author", identity),
            ("Body", text),
            ("Source", "SDK"),
        ])
        .await;
    }

    /// The agent completes the task and the conversation closes, with `attributes` set on it.
    pub async fn close(&self, conversation: &str, attributes: Value) {
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.state = "closed".into();
            found.attributes = attributes.clone();
        }
        self.webhook(&[
            ("EventType", "onConversationUpdated"),
            ("ConversationSid", conversation),
            ("State", "closed"),
            ("Attributes", &attributes.to_string()),
            ("Source", "SDK"),
        ])
        .await;
    }

    async fn webhook(&self, params: &[(&str, &str)]) {
        let mut params: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        params.push(("AccountSid".into(), ACCOUNT_SID.into()));
        params.push(("ChatServiceSid".into(), SERVICE_SID.into()));
        let url = lock(&self.signed_url).clone();
        let signature = crate::signing::twilio_signature(AUTH_TOKEN, &url, &params);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish()
            .into_bytes();
        let headers = vec![
            ("x-twilio-signature".to_owned(), signature),
            ("i-twilio-idempotency-token".to_owned(), new_sid("idem")),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ];
        let event = params
            .iter()
            .find(|(name, _)| name == "EventType")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        self.outlet.deliver(headers, body, &event).await;
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "message": message, "status": status.as_u16()})),
    )
        .into_response()
}

/// Every API call: the account's credentials, and the throttle.
fn gate(world: &mut World, headers: &HeaderMap) -> Option<Response> {
    if world.down {
        return Some((StatusCode::SERVICE_UNAVAILABLE, "down").into_response());
    }
    use base64::Engine as _;
    if world.throttle > 0 {
        world.throttle -= 1;
        return Some(error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests"));
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    if headers.get("authorization").and_then(|value| value.to_str().ok()) != Some(expected.as_str()) {
        return Some(error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"));
    }
    None
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found")
}

async fn create_conversation(
    State(world): State<Shared>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers) {
        return response;
    }
    if service != SERVICE_SID {
        return not_found();
    }
    let params = form(&body);
    let sid = new_sid("CH");
    let attributes: Value = params
        .get("Attributes")
        .and_then(|attributes| serde_json::from_str(attributes).ok())
        .unwrap_or(json!({}));
    world.conversations.insert(
        sid.clone(),
        Conversation {
            attributes: attributes.clone(),
            state: "active".into(),
            ..Conversation::default()
        },
    );
    (
        StatusCode::CREATED,
        Json(json!({"sid": sid, "chat_service_sid": service, "state": "active",
        "friendly_name": params.get("FriendlyName"), "attributes": attributes.to_string()})),
    )
        .into_response()
}

async fn show_conversation(
    State(world): State<Shared>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers) {
        return response;
    }
    match world.conversations.get(&id) {
        Some(found) => {
            Json(json!({"sid": id, "state": found.state, "attributes": found.attributes.to_string()})).into_response()
        }
        None => not_found(),
    }
}

async fn conversation_child(
    State(world): State<Shared>,
    Path((_, id, resource)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers) {
        return response;
    }
    let params = form(&body);
    let Some(found) = world.conversations.get_mut(&id) else {
        return not_found();
    };
    match resource.as_str() {
        "Participants" => {
            let identity = params.get("Identity").cloned().unwrap_or_default();
            if found.participants.contains(&identity) {
                return error(StatusCode::CONFLICT, 50433, "Participant already exists");
            }
            found.participants.push(identity.clone());
            (
                StatusCode::CREATED,
                Json(json!({"sid": new_sid("MB"), "conversation_sid": id, "identity": identity})),
            )
                .into_response()
        }
        "Messages" => {
            let author = params.get("Author").cloned().unwrap_or_else(|| "system".into());
            let text = params.get("Body").cloned().unwrap_or_default();
            found.messages.push(Stored {
                author: author.clone(),
                body: text.clone(),
            });
            let index = found.messages.len() - 1;
            if author.starts_with("baton-") {
                world.outlet.notify(Observed::CustomerMessage {
                    conversation: id.clone(),
                    content: text.clone(),
                    at: std::time::Instant::now(),
                });
            }
            // REST-made messages fire no post-event webhook ("Conversations Webhooks").
            (StatusCode::CREATED, Json(json!({"sid": new_sid("IM"), "conversation_sid": id, "author": author, "body": text, "index": index}))).into_response()
        }
        _ => not_found(),
    }
}

async fn create_interaction(State(world): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers) {
        return response;
    }
    let params = form(&body);
    let parse = |name: &str| -> Value {
        params
            .get(name)
            .and_then(|value| serde_json::from_str(value).ok())
            .unwrap_or(Value::Null)
    };
    let (channel, routing) = (parse("Channel"), parse("Routing"));
    let conversation = channel["properties"]["media_channel_sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let properties = &routing["properties"];
    if properties["workspace_sid"] != WORKSPACE_SID || properties["workflow_sid"] != WORKFLOW_SID {
        return error(StatusCode::BAD_REQUEST, 20001, "Invalid routing properties");
    }
    let (interaction, channel_sid) = (new_sid("KD"), new_sid("UO"));
    let Some(found) = world.conversations.get_mut(&conversation) else {
        return error(
            StatusCode::BAD_REQUEST,
            20001,
            "media_channel_sid is not a conversation",
        );
    };
    found.task = properties["attributes"].clone();
    found.interaction_channel = Some((interaction.clone(), channel_sid.clone(), "setup".into()));
    let session = found.attributes["baton_session"].as_str().map(str::to_owned);
    world.outlet.notify(Observed::Opened {
        conversation,
        session,
        at: std::time::Instant::now(),
    });
    (
        StatusCode::CREATED,
        Json(json!({"sid": interaction, "channel": {"sid": channel_sid, "type": "web"}, "routing": routing})),
    )
        .into_response()
}

async fn update_channel(
    State(world): State<Shared>,
    Path((interaction, channel)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers) {
        return response;
    }
    let status = form(&body).get("Status").cloned().unwrap_or_default();
    let found = world.conversations.values_mut().find(|found| {
        found
            .interaction_channel
            .as_ref()
            .is_some_and(|(kd, uo, _)| *kd == interaction && *uo == channel)
    });
    match found {
        Some(found) => {
            if let Some(known) = &mut found.interaction_channel {
                known.2 = status.clone();
            }
            Json(json!({"sid": channel, "interaction_sid": interaction, "status": status})).into_response()
        }
        None => not_found(),
    }
}

async fn queue_statistics(
    State(world): State<Shared>,
    Path((workspace, queue)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = lock(&world);
    if let Some(response) = gate(&mut world, &headers) {
        return response;
    }
    if workspace != WORKSPACE_SID || queue != TASK_QUEUE_SID {
        return not_found();
    }
    Json(json!({"task_queue_sid": queue, "total_available_workers": world.available_workers, "longest_task_waiting_age": 0})).into_response()
}
