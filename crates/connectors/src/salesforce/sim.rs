//! A simulated Salesforce Enhanced Chat (Messaging for In-App and Web), for the Salesforce desk's
//! tests and `baton bench transfer --desk salesforce`. It answers the guest API as Salesforce's
//! "Messaging for In-App and Web APIs" guide and its reference client
//! (`messaging-web-api-sample-app`) describe it: an unauthenticated access token (a JWT with an
//! `exp`), continuation tokens, conversations with `routingAttributes`, messages, entries
//! (typing), entry acknowledgements and closing; and `GET /eventrouter/v1/sse` with `X-Org-Id`,
//! named events, event ids and `Last-Event-ID` replay, each event's `conversationEntry` carrying
//! its `entryPayload` as a JSON string. Like the real service it echoes the guest's own messages,
//! can send an event twice, closes a stream when its token expires (and on demand), answers an
//! expired token with `401`, and can answer `429` with `Retry-After`. Loopback only, in memory.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::lock;
pub use crate::simulation::{Observed, within};

pub const ORG_ID: &str = "00DSIM0000000001";
pub const DEPLOYMENT: &str = "Baton_Handoff";
/// The Omni-Channel queue conversations are routed to.
pub const QUEUE_ID: &str = "00GSIM000000001";

static IDS: AtomicU64 = AtomicU64::new(1);

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One message in a conversation.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    /// `EndUser` or `Agent`.
    pub role: String,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Conversation {
    pub subject: String,
    pub routing_attributes: serde_json::Map<String, Value>,
    pub messages: Vec<Stored>,
    /// The guest's last typing indicator.
    pub customer_typing: Option<bool>,
    /// Entry ids the guest acknowledged as read.
    pub reads: Vec<String>,
    pub closed: bool,
}

struct Token {
    subject: String,
    expires: Instant,
}

/// One event as the stream sends it.
#[derive(Clone)]
struct Sent {
    id: u64,
    name: String,
    data: String,
}

#[derive(Default)]
struct World {
    tokens: BTreeMap<String, Token>,
    conversations: BTreeMap<String, Conversation>,
    /// Every event of each guest, oldest first, for `Last-Event-ID`.
    log: BTreeMap<String, Vec<Sent>>,
    streams: Vec<(String, mpsc::UnboundedSender<Sent>)>,
    token_lifetime: Option<Duration>,
    throttle: u32,
    down: bool,
    duplicate: bool,
    routing_fails: bool,
    /// Tokens renewed and streams opened, for the tests.
    renewals: usize,
    connections: usize,
}

pub struct Sim {
    pub url: String,
    world: Arc<Mutex<World>>,
    observers: Arc<crate::simulation::Outlet>,
    task: tokio::task::JoinHandle<()>,
}

type AppState = (Arc<Mutex<World>>, Arc<crate::simulation::Outlet>);

impl Sim {
    /// Starts on a free loopback port; tokens live an hour.
    pub async fn start() -> std::io::Result<Arc<Sim>> {
        let observers = Arc::new(crate::simulation::Outlet::default());
        let world = Arc::new(Mutex::new(World {
            token_lifetime: Some(Duration::from_secs(3600)),
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let router = axum::Router::new()
            .route(
                "/iamessage/api/v2/authorization/unauthenticated/access-token",
                post(access_token),
            )
            .route(
                "/iamessage/api/v2/authorization/continuation-access-token",
                get(continuation_token),
            )
            .route("/iamessage/api/v2/conversation", post(create_conversation))
            .route(
                "/iamessage/api/v2/conversation/{id}",
                axum::routing::delete(close_conversation),
            )
            .route("/iamessage/api/v2/conversation/{id}/{what}", post(conversation_call))
            .route("/eventrouter/v1/sse", get(events))
            .with_state((world.clone(), observers.clone()));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Arc::new(Sim {
            url,
            world,
            observers,
            task,
        }))
    }

    pub fn conversation<T>(&self, id: &str, read: impl FnOnce(&Conversation) -> T) -> Option<T> {
        lock(&self.world).conversations.get(id).map(read)
    }

    pub fn conversation_ids(&self) -> Vec<String> {
        lock(&self.world).conversations.keys().cloned().collect()
    }

    /// What happens from now on, as it happens.
    pub fn observe(&self) -> mpsc::UnboundedReceiver<Observed> {
        self.observers.observe()
    }

    /// Tokens issued from now on expire after `lifetime`.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.world).token_lifetime = Some(lifetime);
    }

    /// Every token issued so far expires now: calls with it answer `401`, its streams close.
    pub fn expire_tokens(&self) {
        let mut world = lock(&self.world);
        let now = Instant::now();
        for token in world.tokens.values_mut() {
            token.expires = now;
        }
        world.streams.clear();
    }

    /// Every open event stream is cut (clients reconnect with `Last-Event-ID`).
    pub fn drop_streams(&self) {
        lock(&self.world).streams.clear();
    }

    /// Every token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.world).tokens.keys().cloned().collect()
    }

    /// Continuation tokens issued, and event streams opened, so far.
    pub fn renewals(&self) -> usize {
        lock(&self.world).renewals
    }

    pub fn connections(&self) -> usize {
        lock(&self.world).connections
    }

    /// Every API call answers `503` while down.
    pub fn set_down(&self, down: bool) {
        lock(&self.world).down = down;
    }

    /// The next `n` API calls answer `429` with `Retry-After: 1`.
    pub fn throttle(&self, n: u32) {
        lock(&self.world).throttle = n;
    }

    /// Every event is sent twice (the same id) while on.
    pub fn duplicate_events(&self, on: bool) {
        lock(&self.world).duplicate = on;
    }

    /// New conversations fail to route (`failureType: RoutingError`).
    pub fn fail_routing(&self, on: bool) {
        lock(&self.world).routing_fails = on;
    }

    // ---- the agent's side (the Service Console) ----

    pub fn agent_joins(&self, conversation: &str, agent: &str) {
        self.participant(conversation, agent, "add");
    }

    pub fn agent_leaves(&self, conversation: &str, agent: &str) {
        self.participant(conversation, agent, "remove");
    }

    /// Another agent takes the chat over: a transfer's routing result, the new agent added, the
    /// old removed.
    pub fn transfer(&self, conversation: &str, from: &str, to: &str) {
        let payload = json!({"entryType": "RoutingResult", "routingType": "Transfer", "failureType": "None",
                             "estimatedWaitTime": {"estimatedWaitTimeInSeconds": -1, "isEWTRequested": false}});
        self.emit(conversation, "CONVERSATION_ROUTING_RESULT", &system(), None, payload);
        self.participant(conversation, to, "add");
        self.participant(conversation, from, "remove");
    }

    pub fn agent_says(&self, conversation: &str, agent: &str, text: &str) {
        let id = new_id();
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.messages.push(Stored {
                id: id.clone(),
                role: "Agent".into(),
                text: text.to_owned(),
            });
        }
        let payload = message_payload(&id, text);
        self.emit_entry(
            conversation,
            "CONVERSATION_MESSAGE",
            &agent_sender(agent),
            Some(agent),
            payload,
            &id,
        );
    }

    pub fn agent_typing(&self, conversation: &str, agent: &str, typing: bool) {
        let (name, entry) = if typing {
            ("CONVERSATION_TYPING_STARTED_INDICATOR", "TypingStartedIndicator")
        } else {
            ("CONVERSATION_TYPING_STOPPED_INDICATOR", "TypingStoppedIndicator")
        };
        self.emit(
            conversation,
            name,
            &agent_sender(agent),
            Some(agent),
            json!({"entryType": entry}),
        );
    }

    /// The agent has read the guest's last message.
    pub fn agent_reads(&self, conversation: &str, agent: &str) {
        let last = self.conversation(conversation, |found| {
            found
                .messages
                .iter()
                .rev()
                .find(|message| message.role == "EndUser")
                .map(|message| message.id.clone())
        });
        let Some(Some(last)) = last else { return };
        let payload = json!({"entryType": "ReadAcknowledgement", "acknowledgedConversationEntryIdentifier": last,
                             "acknowledgementTimestamp": chrono::Utc::now().timestamp_millis()});
        self.emit(
            conversation,
            "CONVERSATION_READ_ACKNOWLEDGEMENT",
            &agent_sender(agent),
            Some(agent),
            payload,
        );
    }

    /// The agent closes the conversation.
    pub fn close(&self, conversation: &str) {
        if let Some(found) = lock(&self.world).conversations.get_mut(conversation) {
            found.closed = true;
        }
        self.emit(
            conversation,
            "CONVERSATION_CLOSE_CONVERSATION",
            &system(),
            None,
            json!({"entryType": "CloseConversation"}),
        );
    }

    fn participant(&self, conversation: &str, agent: &str, operation: &str) {
        let payload = json!({"entryType": "ParticipantChanged", "entries": [{
            "operation": operation, "displayName": agent,
            "participant": {"role": "Agent", "appType": "agent", "subject": agent_subject(agent), "clientIdentifier": ""},
        }]});
        self.emit(
            conversation,
            "CONVERSATION_PARTICIPANT_CHANGED",
            &system(),
            None,
            payload,
        );
    }

    fn emit(&self, conversation: &str, name: &str, sender: &Value, display: Option<&str>, payload: Value) {
        self.emit_entry(conversation, name, sender, display, payload, &new_id());
    }

    fn emit_entry(
        &self,
        conversation: &str,
        name: &str,
        sender: &Value,
        display: Option<&str>,
        payload: Value,
        entry: &str,
    ) {
        publish(
            &mut lock(&self.world),
            conversation,
            name,
            sender,
            display,
            payload,
            entry,
        );
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn system() -> Value {
    json!({"role": "System", "appType": "conversation", "subject": "005SIM000000SYS", "clientIdentifier": ""})
}

/// The Salesforce user id (`005…`) the simulation gives the agent named `agent`.
pub fn agent_subject(agent: &str) -> String {
    let digest = crate::signing::digest_hex(b"agent", agent.as_bytes());
    format!("005{}", &digest[..12])
}

fn agent_sender(agent: &str) -> Value {
    json!({"role": "Agent", "appType": "agent", "subject": agent_subject(agent), "clientIdentifier": ""})
}

fn message_payload(id: &str, text: &str) -> Value {
    json!({"entryType": "Message", "id": id, "messageReason": null, "abstractMessage": {
        "messageType": "StaticContentMessage", "id": id, "inReplyToMessageId": null, "references": null,
        "staticContent": {"formatType": "Text", "text": text},
    }})
}

/// Logs an event for the conversation's guest and sends it on the guest's open streams.
fn publish(
    world: &mut World,
    conversation: &str,
    name: &str,
    sender: &Value,
    display: Option<&str>,
    payload: Value,
    entry: &str,
) {
    let Some(subject) = world.conversations.get(conversation).map(|found| found.subject.clone()) else {
        return;
    };
    let now = chrono::Utc::now().timestamp_millis();
    let data = json!({
        "channelPlatformKey": format!("{ORG_ID}-{DEPLOYMENT}"),
        "channelType": "embedded_messaging",
        "channelAddressIdentifier": uuid::Uuid::new_v4().to_string(),
        "conversationId": conversation,
        "conversationEntry": {
            "identifier": entry,
            "entryType": payload["entryType"],
            "entryPayload": payload.to_string(),
            "sender": sender,
            "senderDisplayName": display.unwrap_or("Platform Integration User"),
            "clientTimestamp": now,
            "transcriptedTimestamp": now,
            "clientDuration": 0,
        },
    });
    let sent = Sent {
        id: IDS.fetch_add(1, Ordering::SeqCst),
        name: name.to_owned(),
        data: data.to_string(),
    };
    world.log.entry(subject.clone()).or_default().push(sent.clone());
    let duplicate = world.duplicate;
    world.streams.retain(|(owner, stream)| {
        if *owner != subject {
            return !stream.is_closed();
        }
        let delivered = stream.send(sent.clone()).is_ok();
        if duplicate {
            let _ = stream.send(sent.clone());
        }
        delivered
    });
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"code": status.as_u16(), "message": message}))).into_response()
}

/// Gates every API call: down, the throttle, and (where `authorized`) the bearer token; the
/// token's guest.
fn gate(world: &mut World, headers: &HeaderMap, authorized: bool) -> Result<Option<String>, Box<Response>> {
    if world.down {
        return Err(Box::new(error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")));
    }
    if world.throttle > 0 {
        world.throttle -= 1;
        return Err(Box::new(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                Json(json!({"code": 429, "message": "Too many requests"})),
            )
                .into_response(),
        ));
    }
    if !authorized {
        return Ok(None);
    }
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    match world.tokens.get(token) {
        Some(found) if found.expires > Instant::now() => Ok(Some(found.subject.clone())),
        _ => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "Invalid or expired access token",
        ))),
    }
}

/// A JWT-shaped token for `subject` (not signed: only the simulation reads it).
fn issue(world: &mut World, subject: &str) -> String {
    let lifetime = world.token_lifetime.unwrap_or(Duration::from_secs(3600));
    let encode = |value: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    let exp = chrono::Utc::now().timestamp() + i64::try_from(lifetime.as_secs()).unwrap_or(3600);
    let token = format!(
        "{}.{}.{}",
        encode(json!({"alg": "RS256", "typ": "JWT"})),
        encode(json!({"sub": subject, "exp": exp, "jti": new_id()})),
        new_id().replace('-', "")
    );
    world.tokens.insert(
        token.clone(),
        Token {
            subject: subject.to_owned(),
            expires: Instant::now() + lifetime,
        },
    );
    token
}

fn last_event_id(world: &World, subject: &str) -> String {
    world
        .log
        .get(subject)
        .and_then(|log| log.last())
        .map_or_else(|| "0".to_owned(), |sent| sent.id.to_string())
}

async fn access_token(State((world, _)): State<AppState>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut world = lock(&world);
    if let Err(response) = gate(&mut world, &headers, false) {
        return *response;
    }
    if body["orgId"] != ORG_ID || body["esDeveloperName"] != DEPLOYMENT || body["platform"] != "Web" {
        return error(StatusCode::BAD_REQUEST, "Invalid orgId, esDeveloperName or platform");
    }
    let subject = format!("v2/iamessage/UNAUTH/NA/uid:{}", new_id());
    let token = issue(&mut world, &subject);
    let last = last_event_id(&world, &subject);
    Json(json!({"accessToken": token, "lastEventId": last, "context": {"configuration": {"embeddedServiceConfig": {"name": DEPLOYMENT}}}})).into_response()
}

async fn continuation_token(State((world, _)): State<AppState>, headers: HeaderMap) -> Response {
    let mut world = lock(&world);
    let subject = match gate(&mut world, &headers, true) {
        Ok(subject) => subject.unwrap_or_default(),
        Err(response) => return *response,
    };
    world.renewals += 1;
    let token = issue(&mut world, &subject);
    let last = last_event_id(&world, &subject);
    Json(json!({"accessToken": token, "lastEventId": last})).into_response()
}

async fn create_conversation(
    State((world, observers)): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut world = lock(&world);
    let subject = match gate(&mut world, &headers, true) {
        Ok(subject) => subject.unwrap_or_default(),
        Err(response) => return *response,
    };
    let Some(id) = body["conversationId"]
        .as_str()
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
    else {
        return error(StatusCode::BAD_REQUEST, "conversationId must be a UUID");
    };
    if body["esDeveloperName"] != DEPLOYMENT {
        return error(StatusCode::BAD_REQUEST, "Unknown esDeveloperName");
    }
    if world.conversations.contains_key(id) {
        return error(StatusCode::CONFLICT, "Conversation already exists");
    }
    let attributes = body["routingAttributes"].as_object().cloned().unwrap_or_default();
    let session = attributes
        .get("Baton_Session")
        .and_then(Value::as_str)
        .map(str::to_owned);
    world.conversations.insert(
        id.to_owned(),
        Conversation {
            subject,
            routing_attributes: attributes,
            ..Conversation::default()
        },
    );
    let payload = if world.routing_fails {
        json!({"entryType": "RoutingResult", "routingType": "Initial", "failureType": "RoutingError",
               "failureReason": "No routing configuration", "errorMessages": ["No routing configuration"]})
    } else {
        json!({"entryType": "RoutingResult", "routingType": "Initial", "failureType": "None", "failureReason": "",
               "estimatedWaitTime": {"estimatedWaitTimeInSeconds": 45, "isEWTRequested": true},
               "routingConfigurationDetails": {"routingConfigurationType": "QueueRoutingType", "queueId": QUEUE_ID}})
    };
    publish(
        &mut world,
        id,
        "CONVERSATION_ROUTING_RESULT",
        &system(),
        None,
        payload,
        &new_id(),
    );
    drop(world);
    observers.notify(Observed::Opened {
        conversation: id.to_owned(),
        session,
        at: Instant::now(),
    });
    (StatusCode::CREATED, Json(json!({}))).into_response()
}

/// `message`, `entry` and `acknowledge-entries` on a conversation of the token's guest.
async fn conversation_call(
    State((world, observers)): State<AppState>,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut world = lock(&world);
    let subject = match gate(&mut world, &headers, true) {
        Ok(subject) => subject.unwrap_or_default(),
        Err(response) => return *response,
    };
    let Some(found) = world
        .conversations
        .get_mut(&id)
        .filter(|found| found.subject == subject)
    else {
        return error(StatusCode::NOT_FOUND, "Conversation not found");
    };
    if found.closed {
        return error(StatusCode::BAD_REQUEST, "The conversation is closed");
    }
    match what.as_str() {
        "message" => {
            let message = &body["message"];
            let (Some(entry), Some(text)) = (message["id"].as_str(), message["staticContent"]["text"].as_str()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "message.id and message.staticContent.text are required",
                );
            };
            if message["messageType"] != "StaticContentMessage" || body["esDeveloperName"] != DEPLOYMENT {
                return error(StatusCode::BAD_REQUEST, "Unsupported message");
            }
            found.messages.push(Stored {
                id: entry.to_owned(),
                role: "EndUser".into(),
                text: text.to_owned(),
            });
            let sender = json!({"role": "EndUser", "appType": "iamessage", "subject": subject, "clientIdentifier": ""});
            let (entry, text) = (entry.to_owned(), text.to_owned());
            publish(
                &mut world,
                &id,
                "CONVERSATION_MESSAGE",
                &sender,
                Some("Guest"),
                message_payload(&entry, &text),
                &entry,
            );
            drop(world);
            observers.notify(Observed::CustomerMessage {
                conversation: id,
                content: text,
                at: Instant::now(),
            });
            (StatusCode::ACCEPTED, Json(json!({}))).into_response()
        }
        "entry" => {
            match body["entryType"].as_str() {
                Some("TypingStartedIndicator") => found.customer_typing = Some(true),
                Some("TypingStoppedIndicator") => found.customer_typing = Some(false),
                _ => return error(StatusCode::BAD_REQUEST, "Unsupported entryType"),
            }
            (StatusCode::ACCEPTED, Json(json!({}))).into_response()
        }
        "acknowledge-entries" => {
            for ack in body["acks"].as_array().into_iter().flatten() {
                if ack["type"] == "Read"
                    && let Some(entry) = ack["conversationEntryId"].as_str()
                {
                    found.reads.push(entry.to_owned());
                }
            }
            (StatusCode::ACCEPTED, Json(json!({}))).into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

async fn close_conversation(
    State((world, _)): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let mut world = lock(&world);
    let subject = match gate(&mut world, &headers, true) {
        Ok(subject) => subject.unwrap_or_default(),
        Err(response) => return *response,
    };
    if query.get("esDeveloperName").map(String::as_str) != Some(DEPLOYMENT) {
        return error(StatusCode::BAD_REQUEST, "esDeveloperName is required");
    }
    let Some(found) = world
        .conversations
        .get_mut(&id)
        .filter(|found| found.subject == subject)
    else {
        return error(StatusCode::NOT_FOUND, "Conversation not found");
    };
    found.closed = true;
    publish(
        &mut world,
        &id,
        "CONVERSATION_CLOSE_CONVERSATION",
        &system(),
        None,
        json!({"entryType": "CloseConversation"}),
        &new_id(),
    );
    StatusCode::NO_CONTENT.into_response()
}

/// The guest's event stream: what came after `Last-Event-ID`, then what happens, until the token
/// expires or the stream is cut.
async fn events(State((world, _)): State<AppState>, headers: HeaderMap) -> Response {
    let mut world = lock(&world);
    let subject = match gate(&mut world, &headers, true) {
        Ok(subject) => subject.unwrap_or_default(),
        Err(response) => return *response,
    };
    if headers.get("x-org-id").and_then(|value| value.to_str().ok()) != Some(ORG_ID) {
        return error(StatusCode::BAD_REQUEST, "X-Org-Id is required");
    }
    let expires = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| world.tokens.get(token))
        .map_or_else(Instant::now, |token| token.expires);
    let after: u64 = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(u64::MAX);
    let (sender, receiver) = mpsc::unbounded_channel();
    if after != u64::MAX {
        for sent in world
            .log
            .get(&subject)
            .into_iter()
            .flatten()
            .filter(|sent| sent.id > after)
        {
            let _ = sender.send(sent.clone());
        }
    }
    world.streams.push((subject, sender));
    world.connections += 1;
    drop(world);
    let deadline = tokio::time::Instant::from_std(expires);
    let stream = futures_util::stream::unfold(receiver, move |mut receiver| async move {
        let sent = tokio::select! {
            sent = receiver.recv() => sent?,
            () = tokio::time::sleep_until(deadline) => return None,
        };
        let event = Event::default()
            .event(sent.name)
            .id(sent.id.to_string())
            .data(sent.data);
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
