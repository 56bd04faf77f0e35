//! The Genesys Cloud desk (`kind = "genesys"`): agents work in Genesys Cloud, reached through an
//! **Open Messaging** integration (`docs/desks/genesys.md`). Written from Genesys Cloud's
//! developer documentation: "Open Messaging" (inbound messages, events and receipts:
//! `POST /api/v2/conversations/messages/{integrationId}/inbound/open/message|event|receipt`; the
//! outbound notification webhook and its `X-Hub-Signature-256` signature), "OAuth client
//! credentials grant" (`POST https://login.{region}/oauth/token`), the Notifications API
//! (`POST /api/v2/notifications/channels`, topic subscriptions, the WebSocket's heartbeats and
//! `v2.system.socket_closing`), `POST /api/v2/conversations/{id}/disconnect` and the queue
//! observation query of the Analytics API.
//!
//! - A transfer sends the transcript as the customer's first inbound message (its
//!   `channel.metadata.customAttributes` carry the brief: the summary, the history link, the
//!   session and the queue, for the Architect inbound message flow to route on and the agent's
//!   script to show), with `prefetchConversationId=true` so Genesys names the conversation. The
//!   customer's id on the integration (`from.id`, opaque) is `baton-{transfer}`; the chat id is
//!   `{customer id}:{conversation id}`.
//! - The customer's messages, typing and reads go out in order through one outbox per chat.
//! - The agent's messages and typing come on the integration's outbound webhook, verified by
//!   `X-Hub-Signature-256` before anything else, each message id applied once. An agent hands the
//!   customer back with `!handback [action] [name=value …]`, which the customer never sees.
//! - Open Messaging does not tell of agents: the desk subscribes to the configured queues'
//!   conversation topics on the Notifications API's WebSocket, where an agent participant
//!   connecting is the agent joining (another one, a transfer), and the last agent disconnecting,
//!   or the customer's side being disconnected, ends the chat.
//! - A client-credentials token is fetched when needed and again before it expires, or on a `401`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use baton_desk::{
    AgentMessage, AgentProfile, Availability, Capabilities, Chat, ChatId, ChatRequest, ChatResume, CustomerMessage,
    DeskError, DeskEvent, DeskFuture, EndReason, EndedBy, MessageId, QueueName, ServiceDesk, WebhookOutcome,
    WebhookReceiver, WebhookRequest,
};

use crate::chats::{Chats, Outcome, online_if, unknown};
use crate::dedup::{self, SeenIds};
use crate::guard::{Guard, Policy};
use crate::lock;

pub mod sim;

/// The header Genesys signs its outbound webhook deliveries in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// How many message ids are remembered to drop duplicates.
const SEEN_MESSAGES: usize = 20_000;
/// The longest text sent in one inbound message (Genesys caps a message's text).
const MESSAGE_CHARS: usize = 4_000;

/// A Genesys Cloud desk's settings, secrets resolved.
#[derive(Clone)]
pub struct GenesysConfig {
    /// The region's API, `https://api.mypurecloud.com` (or `.de`, `.ie`, `.com.au`, …).
    pub api_url: String,
    /// The region's login, `https://login.mypurecloud.com`.
    pub login_url: String,
    /// An OAuth client (client credentials grant) with the Open Messaging, Notifications,
    /// conversations and analytics permissions.
    pub client_id: String,
    pub client_secret: String,
    /// The Open Messaging integration's id.
    pub integration_id: String,
    /// The integration's outbound webhook signature secret.
    pub webhook_secret: String,
    /// The Genesys queue (id) of each Baton queue, and of the default (`"*"`): whose conversation
    /// topics tell of agents joining and leaving, and whose observations give availability.
    pub queues: BTreeMap<String, String>,
    pub retry: Policy,
}

impl std::fmt::Debug for GenesysConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenesysConfig")
            .field("api_url", &self.api_url)
            .field("login_url", &self.login_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("integration_id", &self.integration_id)
            .field("webhook_secret", &"[redacted]")
            .field("queues", &self.queues)
            .field("retry", &self.retry)
            .finish()
    }
}

/// A desk on Genesys Cloud through Open Messaging.
pub struct GenesysDesk {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    api: reqwest::Url,
    login: reqwest::Url,
    config: GenesysConfig,
    guard: Guard,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    /// Open chats by the customer's id on the integration.
    chats: Chats<Outgoing, Extra>,
    /// Conversation id → customer id, for the notifications.
    conversations: Mutex<HashMap<String, String>>,
    seen: Mutex<SeenIds>,
    /// Customers whose chat is being started, with the webhooks that came for them before
    /// Genesys answered the message that opened the conversation (an auto-answered greeting can).
    starting: Mutex<HashMap<String, Vec<HeldWebhook>>>,
    notifications: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.notifications).take() {
            task.abort();
        }
    }
}

/// A verified webhook body held for a chat being started, with when it came.
type HeldWebhook = (Value, DateTime<Utc>);

/// What a chat keeps besides what every connector keeps.
struct Extra {
    /// The user ids of the agents connected, as last told by the notifications.
    agent_users: Vec<String>,
}

enum Outgoing {
    Message(CustomerMessage),
    Typing(bool),
    Read(String),
    Leave,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `{customer}:{conversation}` → both parts.
fn parse_chat(chat: &ChatId) -> Result<(String, String), DeskError> {
    chat.as_str()
        .split_once(':')
        .filter(|(customer, conversation)| valid_id(customer) && valid_id(conversation))
        .map(|(customer, conversation)| (customer.to_owned(), conversation.to_owned()))
        .ok_or_else(|| DeskError::UnknownChat(chat.clone()))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |value, key| value.get(key))?.as_str()
}

fn base_url(name: &str, key: &str, url: &str) -> Result<reqwest::Url, DeskError> {
    let mut base =
        reqwest::Url::parse(url).map_err(|error| DeskError::Config(format!("desk {name}: {key} {url:?}: {error}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(DeskError::Config(format!(
            "desk {name}: {key} must be http:// or https://, not {base}"
        )));
    }
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    Ok(base)
}

impl GenesysDesk {
    pub fn new(name: &str, config: GenesysConfig) -> Result<GenesysDesk, DeskError> {
        let api = base_url(name, "api_url", &config.api_url)?;
        let login = base_url(name, "login_url", &config.login_url)?;
        if !valid_id(&config.integration_id) {
            return Err(DeskError::Config(format!(
                "desk {name}: integration_id {:?} is not an id",
                config.integration_id
            )));
        }
        if let Some((queue, id)) = config.queues.iter().find(|(_, id)| !valid_id(id)) {
            return Err(DeskError::Config(format!(
                "desk {name}: queues.{queue} = {id:?} is not a queue id"
            )));
        }
        Ok(GenesysDesk {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                api,
                login,
                guard: Guard::new(name, config.retry.clone())?,
                config,
                token: tokio::sync::Mutex::new(None),
                chats: Chats::default(),
                conversations: Mutex::new(HashMap::new()),
                seen: Mutex::new(SeenIds::new(SEEN_MESSAGES)),
                starting: Mutex::default(),
                notifications: Mutex::new(None),
            }),
        })
    }

    fn open(
        &self,
        customer: &str,
        conversation: &str,
        agent: Option<AgentProfile>,
        queued: bool,
    ) -> Result<Chat, DeskError> {
        let chat = ChatId::parse(&format!("{customer}:{conversation}"))?;
        let inner = self.inner.clone();
        let (key, id) = (customer.to_owned(), conversation.to_owned());
        let events = self.inner.chats.open(
            customer,
            (
                chat.clone(),
                agent,
                Extra {
                    agent_users: Vec::new(),
                },
            ),
            queued,
            move |call| {
                let (inner, key, id) = (inner.clone(), key.clone(), id.clone());
                async move { deliver(&inner, &key, &id, call).await }
            },
        );
        lock(&self.inner.conversations).insert(conversation.to_owned(), customer.to_owned());
        self.watch_agents();
        Ok(Chat { id: chat, events })
    }

    /// Starts following the queues' conversations on the Notifications API, once.
    fn watch_agents(&self) {
        let mut task = lock(&self.inner.notifications);
        if task.as_ref().is_some_and(|task| !task.is_finished()) || self.inner.config.queues.is_empty() {
            return;
        }
        *task = Some(tokio::spawn(notifications(Arc::downgrade(&self.inner))));
    }

    fn enqueue(&self, chat: &ChatId, call: Outgoing) -> Result<(), DeskError> {
        let (customer, _) = parse_chat(chat)?;
        self.inner.chats.enqueue(&customer, chat, call)
    }

    fn forget(&self, customer: &str) {
        self.inner.chats.remove(customer);
        self.inner.forget_if_closed(customer);
    }
}

impl Inner {
    /// A client-credentials token, fetched again a minute before it expires.
    async fn token(&self, stale: Option<&str>) -> Result<String, DeskError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
            && Some(token.as_str()) != stale
        {
            return Ok(token.clone());
        }
        let url = self
            .login
            .join("oauth/token")
            .map_err(|error| DeskError::Desk(format!("genesys: oauth/token: {error}")))?;
        let answer = self
            .guard
            .send_json("genesys: oauth token", |client| {
                client
                    .post(url.clone())
                    .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
                    .form(&[("grant_type", "client_credentials")])
            })
            .await?;
        let token = str_at(&answer, &["access_token"])
            .filter(|token| !token.is_empty())
            .ok_or_else(|| DeskError::Desk("genesys: the token answer has no access_token".into()))?
            .to_owned();
        let lifetime = answer.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// A Platform API call; a `401` fetches a new token once and tries again.
    async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> Result<Value, DeskError> {
        let url = self
            .api
            .join(rest)
            .map_err(|error| DeskError::Desk(format!("genesys: {rest}: {error}")))?;
        let mut stale = None;
        loop {
            let token = self.token(stale.as_deref()).await?;
            let result = self
                .guard
                .send_json(&format!("genesys: {rest}"), |client| {
                    let mut request = client.request(method.clone(), url.clone()).bearer_auth(&token);
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    request
                })
                .await;
            match result {
                Err(DeskError::Refused { status: 401, .. }) if stale.is_none() => stale = Some(token),
                other => return other,
            }
        }
    }

    fn inbound(&self, what: &str) -> String {
        format!(
            "api/v2/conversations/messages/{}/inbound/open/{what}",
            self.config.integration_id
        )
    }

    /// The `channel` of an inbound call from `customer`.
    fn channel(&self, customer: &str, name: Option<&str>, message_id: Option<&str>) -> Value {
        let mut channel = json!({
            "platform": "Open",
            "type": "Private",
            "to": {"id": self.config.integration_id},
            "from": {"id": customer, "idType": "Opaque", "nickname": name.unwrap_or("Customer")},
            "time": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        if let Some(id) = message_id {
            channel["messageId"] = json!(id);
        }
        channel
    }

    /// An inbound text from the customer; the answer's JSON.
    async fn send_text(
        &self,
        customer: &str,
        id: &str,
        text: &str,
        attributes: Option<Value>,
    ) -> Result<Value, DeskError> {
        let mut channel = self.channel(customer, None, Some(id));
        if let Some(attributes) = attributes {
            channel["metadata"] = json!({"customAttributes": attributes});
        }
        let text: String = text.chars().take(MESSAGE_CHARS).collect();
        let body = json!({"channel": channel, "type": "Text", "text": text, "direction": "Inbound"});
        let rest = format!("{}?prefetchConversationId=true", self.inbound("message"));
        self.call(Method::POST, &rest, Some(&body)).await
    }
}

/// One customer call, as the chat's outbox sends it.
async fn deliver(inner: &Inner, customer: &str, conversation: &str, call: Outgoing) -> Outcome {
    let (result, is_message) = match call {
        Outgoing::Message(message) => (
            inner
                .send_text(customer, message.id.as_str(), &message.text, None)
                .await
                .map(drop),
            true,
        ),
        Outgoing::Typing(typing) => {
            let body = json!({
                "channel": inner.channel(customer, None, None),
                "events": [{"eventType": "Typing", "typing": {"type": if typing { "On" } else { "Off" }}}],
            });
            (
                inner
                    .call(Method::POST, &inner.inbound("event"), Some(&body))
                    .await
                    .map(drop),
                false,
            )
        }
        Outgoing::Read(id) => {
            let body = json!({"id": id, "channel": inner.channel(customer, None, None), "status": "Read", "direction": "Outbound"});
            (
                inner
                    .call(Method::POST, &inner.inbound("receipt"), Some(&body))
                    .await
                    .map(drop),
                false,
            )
        }
        Outgoing::Leave => (
            inner
                .call(
                    Method::POST,
                    &format!("api/v2/conversations/{conversation}/disconnect"),
                    None,
                )
                .await
                .map(drop),
            false,
        ),
    };
    Outcome::of(result, is_message)
}

/// Custom attributes are strings; longer ones are cut.
fn attribute(value: &str) -> Value {
    json!(value.chars().take(2_000).collect::<String>())
}

impl ServiceDesk for GenesysDesk {
    fn capabilities(&self) -> Capabilities {
        let agents_seen = !self.inner.config.queues.is_empty();
        Capabilities {
            agent_typing: true,
            customer_typing: true,
            agent_read: false,
            customer_read: true,
            queue_position: false,
            estimated_wait: false,
            transfer_events: agents_seen,
            customer_end: true,
            files: false,
            resume: true,
            offers: false,
        }
    }

    /// Agents on the queue (`oOnQueueUsers`) from the Analytics API's queue observations.
    fn availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move {
            let queues = &self.inner.config.queues;
            let Some(id) = queue
                .and_then(|queue| queues.get(queue.as_str()))
                .or_else(|| queues.get("*"))
            else {
                return Ok(unknown());
            };
            if self.inner.guard.is_open() {
                return Ok(online_if(false));
            }
            let body = json!({
                "filter": {"type": "and", "predicates": [{"type": "dimension", "dimension": "queueId", "operator": "matches", "value": id}]},
                "metrics": ["oOnQueueUsers"],
            });
            let answer = self
                .inner
                .call(Method::POST, "api/v2/analytics/queues/observations/query", Some(&body))
                .await?;
            let on_queue: u64 = answer
                .get("results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|result| result.get("data").and_then(Value::as_array).into_iter().flatten())
                .filter(|datum| datum.get("metric").and_then(Value::as_str) == Some("oOnQueueUsers"))
                .filter(|datum| datum.get("qualifier").and_then(Value::as_str) != Some("OFFLINE"))
                .filter_map(|datum| datum.pointer("/stats/count").and_then(Value::as_u64))
                .sum();
            Ok(online_if(on_queue > 0))
        })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let inner = &self.inner;
            let customer = format!("baton-{}", request.transfer);
            if !valid_id(&customer) {
                return Err(DeskError::Desk(format!(
                    "genesys: transfer id {} cannot name a customer",
                    request.transfer
                )));
            }
            let mut attributes = serde_json::Map::new();
            for (name, value) in &request.custom_fields {
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                attributes.insert(name.clone(), attribute(&text));
            }
            attributes.insert("baton_summary".into(), attribute(&crate::chats::brief_text(&request)));
            attributes.insert("baton_session".into(), attribute(request.session.as_str()));
            if let Some(url) = &request.transcript_url {
                attributes.insert("baton_transcript_url".into(), attribute(url));
            }
            if let Some(queue) = &request.routing.queue {
                attributes.insert("baton_queue".into(), attribute(queue.as_str()));
            }
            if let Some(name) = &request.customer.name {
                attributes.insert("baton_customer_name".into(), attribute(name));
            }
            let first = format!("{}-transcript", request.transfer);
            lock(&inner.starting).insert(customer.clone(), Vec::new());
            let answer = inner
                .send_text(
                    &customer,
                    &first,
                    &crate::chats::transcript_message(&request, MESSAGE_CHARS),
                    Some(Value::Object(attributes)),
                )
                .await;
            let conversation = answer.and_then(|answer| {
                str_at(&answer, &["conversationId"])
                    .filter(|id| valid_id(id))
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        DeskError::Desk("genesys: the inbound message was not given a conversation id".into())
                    })
            });
            // Opened and given what came meanwhile under one lock, so a webhook is either held
            // and given here, in order, or finds the chat open.
            let mut starting = lock(&inner.starting);
            let held = starting.remove(&customer).unwrap_or_default();
            let conversation = conversation?;
            tracing::info!(desk = %inner.name, %conversation, transfer = %request.transfer, "genesys conversation started");
            let chat = self.open(&customer, &conversation, None, true)?;
            for (body, at) in held {
                if let Err(error) = self.translate(&customer, &body, at) {
                    tracing::warn!(desk = %inner.name, %error, "a webhook held while the chat started could not be read");
                }
            }
            drop(starting);
            Ok(chat)
        })
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Message(message)) })
    }

    fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Typing(typing)) })
    }

    fn customer_read<'a>(&'a self, chat: &'a ChatId, up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            let id = up_to
                .as_str()
                .strip_prefix("genesys-")
                .ok_or_else(|| DeskError::Desk(format!("genesys: {up_to} is not a Genesys message")))?;
            self.enqueue(chat, Outgoing::Read(id.to_owned()))
        })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, _reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            self.enqueue(chat, Outgoing::Leave)?;
            self.forget(&parse_chat(chat)?.0);
            Ok(())
        })
    }

    fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let (customer, conversation) = parse_chat(&resume.chat)?;
            // "Get conversation": still there, and whether it ended while Baton was away.
            let now = self
                .inner
                .call(Method::GET, &format!("api/v2/conversations/{conversation}"), None)
                .await
                .map_err(|error| match error {
                    DeskError::Refused { status: 404, .. } => DeskError::UnknownChat(resume.chat.clone()),
                    other => other,
                })?;
            let agent = crate::chats::resumed_agent("genesys", &resume);
            let chat = self.open(&customer, &conversation, agent, false)?;
            if let Some(found) = Participants::of(&now) {
                self.inner.apply_participants(&customer, &found)?;
            }
            Ok(chat)
        })
    }

    fn webhook(&self) -> Option<&dyn WebhookReceiver> {
        Some(self)
    }
}

impl WebhookReceiver for GenesysDesk {
    fn receive<'a>(&'a self, request: WebhookRequest<'a>) -> DeskFuture<'a, WebhookOutcome> {
        Box::pin(async move { self.receive_now(request, Utc::now()) })
    }
}

/// An outbound webhook's id (its message's, for a text): what duplicates are told apart by.
fn webhook_id(body: &Value) -> Option<String> {
    str_at(body, &["id"])
        .or_else(|| str_at(body, &["channel", "messageId"]))
        .filter(|id| !id.is_empty() && id.len() <= 200)
        .map(str::to_owned)
}

/// Whether `header` is Genesys's signature of `body`: `sha256=` and the HMAC-SHA256 under the
/// integration's secret, Base64 (as Genesys documents it) or hex.
pub fn verify_signature(secret: &str, header: Option<&str>, body: &[u8]) -> Result<(), DeskError> {
    let header = header.ok_or_else(|| DeskError::Unauthenticated("no X-Hub-Signature-256 header".to_owned()))?;
    let given = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| DeskError::Unauthenticated("X-Hub-Signature-256 does not start with sha256=".to_owned()))?;
    let digest = crate::signing::digest(secret.as_bytes(), body);
    let base64 = base64::engine::general_purpose::STANDARD.encode(&digest);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    if crate::signing::same_secret(given, &base64) || crate::signing::same_secret(given, &hex) {
        Ok(())
    } else {
        Err(DeskError::Unauthenticated(
            "X-Hub-Signature-256 does not match the body".to_owned(),
        ))
    }
}

/// The signature Genesys sends for `body` (for the simulation).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let digest = crate::signing::digest(secret.as_bytes(), body);
    format!("sha256={}", base64::engine::general_purpose::STANDARD.encode(digest))
}

impl GenesysDesk {
    /// [`WebhookReceiver::receive`] at `now`: verify, parse, drop duplicates, translate.
    pub fn receive_now(&self, request: WebhookRequest<'_>, now: DateTime<Utc>) -> Result<WebhookOutcome, DeskError> {
        verify_signature(
            &self.inner.config.webhook_secret,
            request.header(SIGNATURE_HEADER),
            request.body,
        )?;
        let body: Value =
            serde_json::from_slice(request.body).map_err(|error| DeskError::BadEvent(format!("not JSON: {error}")))?;
        if str_at(&body, &["direction"]) != Some("Outbound") {
            return Ok(WebhookOutcome::Accepted { events: 0 });
        }
        let customer = str_at(&body, &["channel", "to", "id"])
            .ok_or_else(|| DeskError::BadEvent("no channel.to.id".to_owned()))?
            .to_owned();
        if str_at(&body, &["type"]) == Some("Text") {
            let Some(id) = &webhook_id(&body) else {
                return Err(DeskError::BadEvent("a message without an id".to_owned()));
            };
            if !lock(&self.inner.seen).insert(id) {
                return Ok(WebhookOutcome::Duplicate);
            }
        }
        if let Some(held) = lock(&self.inner.starting).get_mut(&customer) {
            held.push((body, now));
            return Ok(WebhookOutcome::Accepted { events: 0 });
        }
        let events = self.translate(&customer, &body, now)?;
        Ok(WebhookOutcome::Accepted { events })
    }

    /// What an outbound webhook (verified, not a duplicate) tells the customer's open chat: how
    /// many events it gave.
    fn translate(&self, customer: &str, body: &Value, now: DateTime<Utc>) -> Result<usize, DeskError> {
        let kind = str_at(body, &["type"]).unwrap_or_default();
        let id = webhook_id(body);
        let events = self.inner.chats.apply(customer, |open, out| {
            match kind {
                "Text" => {
                    // Messages from a bot flow (`originatingEntity: Bot`) are not an agent's.
                    let human = str_at(body, &["originatingEntity"]) != Some("Bot");
                    let text = str_at(body, &["text"]).map(str::trim).unwrap_or_default();
                    if !human {
                        return Ok(());
                    }
                    let agent = crate::chats::agent_profile("genesys", None, str_at(body, &["channel", "from", "nickname"]))?;
                    let agent = open.agent.clone().unwrap_or(agent);
                    open.taken_by(agent.clone(), out);
                    if let Some(words) = text.strip_prefix("!handback") {
                        match dedup::hand_back_words(words.split_whitespace()) {
                            Ok(reason) => out.push(DeskEvent::Ended { by: EndedBy::Agent, reason }),
                            Err(word) => tracing::warn!(desk = %self.inner.name, %word, "a hand-back the desk did not understand"),
                        }
                        return Ok(());
                    }
                    let text = if text.is_empty() {
                        "(the agent sent something this chat cannot show)"
                    } else {
                        text
                    };
                    out.push(DeskEvent::AgentMessage(AgentMessage {
                        id: MessageId::parse(&format!("genesys-{}", id.as_deref().unwrap_or_default()))?,
                        at: now,
                        agent,
                        text: text.chars().take(10_000).collect(),
                    }));
                }
                "Event" => {
                    for event in body.get("events").and_then(Value::as_array).into_iter().flatten() {
                        if str_at(event, &["eventType"]) == Some("Typing") {
                            out.push(DeskEvent::AgentTyping(str_at(event, &["typing", "type"]) != Some("Off")));
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        self.inner.forget_if_closed(customer);
        Ok(events)
    }
}

/// The agents and the customer of a conversation, from a notification or `GET` of it.
struct Participants {
    /// Connected agents, by participant id: (user id, name).
    agents: Vec<(String, String)>,
    /// Whether any agent was ever in it (and since left).
    had_agent: bool,
    customer_gone: bool,
}

impl Participants {
    fn of(conversation: &Value) -> Option<Participants> {
        let participants = conversation.get("participants")?.as_array()?;
        let mut found = Participants {
            agents: Vec::new(),
            had_agent: false,
            customer_gone: false,
        };
        for participant in participants {
            let purpose = str_at(participant, &["purpose"]).unwrap_or_default();
            let state = str_at(participant, &["state"])
                .or_else(|| participant.pointer("/messages/0/state").and_then(Value::as_str))
                .unwrap_or_default()
                .to_ascii_lowercase();
            match purpose {
                "agent" => {
                    found.had_agent = true;
                    if state == "connected" {
                        let user = str_at(participant, &["userId"])
                            .or_else(|| str_at(participant, &["user", "id"]))
                            .unwrap_or_default();
                        let name = str_at(participant, &["name"])
                            .or_else(|| str_at(participant, &["user", "name"]))
                            .unwrap_or_default();
                        found.agents.push((user.to_owned(), name.to_owned()));
                    }
                }
                "customer" if state == "disconnected" || state == "terminated" => found.customer_gone = true,
                _ => {}
            }
        }
        Some(found)
    }
}

impl Inner {
    /// What the conversation's participants mean for the chat of `customer`: a first agent
    /// connected joins; a new one after another is a transfer; none left (or the customer's side
    /// gone) ends the chat. An agent first seen by their message (by name) is the same agent.
    fn apply_participants(&self, customer: &str, found: &Participants) -> Result<usize, DeskError> {
        let applied = self.chats.apply(customer, |open, out| {
            let users: Vec<String> = found.agents.iter().map(|(user, _)| user.clone()).collect();
            // After a restart Baton knows the agent by id only: their name comes from here.
            for (user, name) in &found.agents {
                let profile = crate::chats::agent_profile("genesys", Some(user), Some(name))?;
                if let Some(known) = open.agent.as_mut().filter(|known| known.id == profile.id) {
                    known.name = profile.name;
                }
            }
            let newcomer = found
                .agents
                .iter()
                .rev()
                .find(|(user, _)| !open.extra.agent_users.contains(user));
            match newcomer {
                Some((user, name)) if open.agent.is_none() || !open.extra.agent_users.is_empty() => {
                    open.taken_by(crate::chats::agent_profile("genesys", Some(user), Some(name))?, out);
                }
                _ => {}
            }
            if found.agents.is_empty() && (found.customer_gone || (found.had_agent && open.agent.is_some())) {
                out.push(DeskEvent::Ended {
                    by: if found.customer_gone {
                        EndedBy::Desk
                    } else {
                        EndedBy::Agent
                    },
                    reason: EndReason::Resolved,
                });
            }
            open.extra.agent_users = users;
            Ok(())
        })?;
        self.forget_if_closed(customer);
        Ok(applied)
    }

    /// Drops the conversation of `customer` from the notifications' map once its chat is gone.
    fn forget_if_closed(&self, customer: &str) {
        if self.chats.with(customer, |_| ()).is_none() {
            lock(&self.conversations).retain(|_, known| known != customer);
        }
    }
}

/// The Notifications API: a channel subscribed to the queues' conversation topics, its WebSocket
/// read until it closes (heartbeats ignored, `socket_closing` honoured), then a new channel.
async fn notifications(inner: std::sync::Weak<Inner>) {
    let mut failures: u32 = 0;
    loop {
        let result = follow_channel(&inner).await;
        let Some(desk) = inner.upgrade() else { return };
        if let Err(error) = &result {
            failures += 1;
            tracing::warn!(desk = %desk.name, %error, "genesys notifications lost; reconnecting");
        } else {
            failures = 0;
        }
        let wait = desk.config.retry.backoff(failures.max(1)).min(Duration::from_secs(30));
        drop(desk);
        tokio::time::sleep(wait).await;
    }
}

/// One notification channel, until its socket closes (or the desk is gone).
async fn follow_channel(inner: &std::sync::Weak<Inner>) -> Result<(), DeskError> {
    let Some(desk) = inner.upgrade() else { return Ok(()) };
    let channel = desk.call(Method::POST, "api/v2/notifications/channels", None).await?;
    let (Some(id), Some(uri)) = (str_at(&channel, &["id"]), str_at(&channel, &["connectUri"])) else {
        return Err(DeskError::Desk(
            "genesys: the notification channel has no id or connectUri".into(),
        ));
    };
    let topics: Vec<Value> = desk
        .config
        .queues
        .values()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|queue| json!({"id": format!("v2.routing.queues.{queue}.conversations.messages")}))
        .collect();
    let (socket, _) = tokio_tungstenite::connect_async(uri)
        .await
        .map_err(|error| DeskError::Desk(format!("genesys: notifications socket: {error}")))?;
    desk.call(
        Method::PUT,
        &format!("api/v2/notifications/channels/{id}/subscriptions"),
        Some(&Value::Array(topics)),
    )
    .await?;
    // Conversations that changed while no socket was open: read them once.
    let open: Vec<(String, String)> = lock(&desk.conversations)
        .iter()
        .map(|(conversation, customer)| (conversation.clone(), customer.clone()))
        .collect();
    for (conversation, customer) in open {
        if let Ok(now) = desk
            .call(Method::GET, &format!("api/v2/conversations/{conversation}"), None)
            .await
            && let Some(found) = Participants::of(&now)
        {
            desk.apply_participants(&customer, &found)?;
        }
    }
    drop(desk);
    let (_, mut read) = socket.split();
    while let Some(frame) = read.next().await {
        let Some(desk) = inner.upgrade() else { return Ok(()) };
        let frame = frame.map_err(|error| DeskError::Desk(format!("genesys: notifications socket: {error}")))?;
        let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
            continue;
        };
        let Ok(notification) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let topic = str_at(&notification, &["topicName"]).unwrap_or_default();
        if topic == "v2.system.socket_closing" {
            return Ok(());
        }
        if !topic.ends_with(".conversations.messages") {
            continue;
        }
        let body = notification.get("eventBody").unwrap_or(&Value::Null);
        let Some(conversation) = str_at(body, &["id"]) else {
            continue;
        };
        let customer = lock(&desk.conversations).get(conversation).cloned();
        if let (Some(customer), Some(found)) = (customer, Participants::of(body)) {
            desk.apply_participants(&customer, &found)?;
        }
    }
    Ok(())
}
