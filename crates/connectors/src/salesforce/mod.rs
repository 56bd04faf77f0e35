//! The Salesforce desk (`kind = "salesforce"`): agents work in Salesforce's Service Console,
//! reached through Enhanced Chat (Messaging for In-App and Web) and its guest REST API plus
//! server-sent events (`docs/desks/salesforce.md`). Written from Salesforce's "Messaging for
//! In-App and Web APIs" developer guide (Generate an Unauthenticated Access Token, Generate a
//! Continuation Token, Create a Conversation, Send a Message, Send an Entry, Acknowledge
//! Entries, Close a Conversation, Subscribe to Server-Sent Events) and the reference client that
//! guide points to, Salesforce's `messaging-web-api-sample-app`.
//!
//! - A transfer gets a guest access token (a JWT) for the deployment, opens the event stream
//!   (`GET /eventrouter/v1/sse`, which must be open before the conversation starts), creates a
//!   conversation whose `routingAttributes` carry the brief into the deployment's hidden pre-chat
//!   fields, and posts the assistant's transcript as the first message. The chat id is the
//!   conversation id, a lower-case UUID Baton chooses.
//! - The token and the id of the last event applied are the chat's resumable state
//!   (`DeskEvent::Resumable`): Baton stores them with the transfer, and after a restart the
//!   stream is opened again with that token and `Last-Event-ID`, so what the agent did meanwhile
//!   is replayed and nothing already applied is applied again. The token is renewed with a
//!   continuation token before it expires.
//! - The customer's messages, typing and reads go out in order through one outbox per chat.
//! - From the stream (each entry id applied once): `CONVERSATION_MESSAGE` from an agent,
//!   `CONVERSATION_PARTICIPANT_CHANGED` (an agent added or removed), `CONVERSATION_ROUTING_RESULT`
//!   (the estimated wait; a failed first routing fails the chat over), typing indicators, read
//!   acknowledgements and `CONVERSATION_CLOSE_CONVERSATION`. An agent hands the customer back to
//!   the assistant by sending `!handback [action] [name=value …]`, which the customer never sees.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use baton_desk::{
    AgentMessage, AgentProfile, Availability, Capabilities, Chat, ChatId, ChatRequest, ChatResume, ChatState,
    CustomerMessage, DeskError, DeskErrorKind, DeskEvent, DeskFuture, EndReason, EndedBy, MessageId, QueueName,
    ServiceDesk,
};

use crate::chats::{Chats, Outcome, unknown};
use crate::guard::{Guard, Policy};
use crate::{dedup, lock};

pub mod sim;

/// How long the stream may stay silent before it is opened again (the reference client's
/// heartbeat timeout).
const STREAM_SILENCE: Duration = Duration::from_secs(90);
/// How many agent entries a chat remembers, to name the one a read acknowledgement covers.
const REMEMBERED_ENTRIES: usize = 200;
/// The longest transcript posted as the first message (Salesforce caps a message's text).
const TRANSCRIPT_CHARS: usize = 8_000;

/// A Salesforce desk's settings. The guest API takes no secret: each chat gets its own token.
#[derive(Debug, Clone)]
pub struct SalesforceConfig {
    /// The deployment's Salesforce Messaging URL, `https://{domain}.my.salesforce-scrt.com`.
    pub url: String,
    /// The org's id (`00D…`), sent as `orgId` and `X-Org-Id`.
    pub org_id: String,
    /// The Embedded Service deployment's API name (`esDeveloperName`).
    pub deployment: String,
    /// The hidden pre-chat fields the brief goes into (`routingAttributes`), by purpose.
    pub fields: PreChatFields,
    /// Post the assistant's transcript as the conversation's first message.
    pub post_transcript: bool,
    pub retry: Policy,
}

/// The names of the deployment's hidden pre-chat fields Baton fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreChatFields {
    /// Why the customer is here and what is known (the brief's summary and message to the agent).
    pub summary: String,
    /// The link to Baton's read-only transcript.
    pub transcript_url: String,
    /// Baton's session id.
    pub session: String,
    /// The queue the assistant asked for, for an Omni-Channel flow to route on.
    pub queue: String,
}

impl Default for PreChatFields {
    fn default() -> Self {
        PreChatFields {
            summary: "Baton_Summary".into(),
            transcript_url: "Baton_Transcript_URL".into(),
            session: "Baton_Session".into(),
            queue: "Baton_Queue".into(),
        }
    }
}

/// A desk on Salesforce Enhanced Chat.
pub struct SalesforceDesk {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    base: reqwest::Url,
    config: SalesforceConfig,
    guard: Guard,
    /// For the event streams, which stay open: no overall timeout.
    streams: reqwest::Client,
    chats: Chats<Outgoing, Extra>,
}

/// What a chat keeps besides what every connector keeps.
struct Extra {
    auth: Arc<Mutex<Auth>>,
    /// The agent entries seen (Salesforce's id and Baton's), for read acknowledgements.
    entries: VecDeque<(String, MessageId)>,
    /// Customer messages: Baton's id → Salesforce's entry id, for the agent's reads.
    sent: VecDeque<(String, MessageId)>,
    /// The stream's task, stopped with the chat.
    stream: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Extra {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.abort();
        }
    }
}

/// A chat's guest token and the last event applied: its resumable state.
#[derive(Clone, Serialize, Deserialize)]
struct Auth {
    token: String,
    #[serde(default)]
    last_event_id: Option<String>,
}

impl Auth {
    fn state(&self) -> ChatState {
        ChatState(serde_json::to_string(self).unwrap_or_default())
    }

    /// When the token expires, from its `exp` claim (not verified: Salesforce checks it).
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        let payload = self.token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        Utc.timestamp_opt(claims.get("exp")?.as_i64()?, 0).single()
    }
}

enum Outgoing {
    Message(CustomerMessage),
    Typing(bool),
    Read(String),
    Leave,
}

/// Conversation ids are UUIDs Baton makes; anything else in a path is refused.
fn conversation_of(chat: &ChatId) -> Result<String, DeskError> {
    uuid::Uuid::parse_str(chat.as_str())
        .map(|id| id.hyphenated().to_string())
        .ok()
        .filter(|id| id == chat.as_str())
        .ok_or_else(|| DeskError::UnknownChat(chat.clone()))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |value, key| value.get(key))?.as_str()
}

impl SalesforceDesk {
    pub fn new(name: &str, config: SalesforceConfig) -> Result<SalesforceDesk, DeskError> {
        let mut base = reqwest::Url::parse(&config.url)
            .map_err(|error| DeskError::Config(format!("desk {name}: url {:?}: {error}", config.url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(DeskError::Config(format!(
                "desk {name}: url must be http:// or https://, not {base}"
            )));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let plain = |value: &str| {
            !value.is_empty() && value.len() <= 80 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !plain(&config.org_id) {
            return Err(DeskError::Config(format!(
                "desk {name}: org_id {:?} is not an org id",
                config.org_id
            )));
        }
        if !plain(&config.deployment) {
            return Err(DeskError::Config(format!(
                "desk {name}: deployment {:?} is not a deployment's API name",
                config.deployment
            )));
        }
        let streams = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs_f64(config.retry.timeout_secs))
            .read_timeout(STREAM_SILENCE)
            .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| DeskError::Config(format!("desk {name}: HTTP client: {error}")))?;
        Ok(SalesforceDesk {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                base,
                guard: Guard::new(name, config.retry.clone())?,
                streams,
                config,
                chats: Chats::default(),
            }),
        })
    }

    /// Registers the chat and opens its event stream; the stream's first connection (or why it
    /// failed) on the returned receiver.
    fn open(
        &self,
        conversation: &str,
        auth: Auth,
        agent: Option<AgentProfile>,
        queued: bool,
    ) -> Result<(Chat, oneshot::Receiver<Result<(), DeskError>>), DeskError> {
        let chat = ChatId::parse(conversation)?;
        let auth = Arc::new(Mutex::new(auth));
        let extra = Extra {
            auth: auth.clone(),
            entries: VecDeque::new(),
            sent: VecDeque::new(),
            stream: None,
        };
        let inner = self.inner.clone();
        let key = conversation.to_owned();
        let outbox_auth = auth.clone();
        let events = self
            .inner
            .chats
            .open(conversation, (chat.clone(), agent, extra), queued, move |call| {
                let (inner, key, auth) = (inner.clone(), key.clone(), outbox_auth.clone());
                async move { deliver(&inner, &key, &auth, call).await }
            });
        let (connected, first) = oneshot::channel();
        let stream = tokio::spawn(follow(self.inner.clone(), conversation.to_owned(), auth, connected));
        self.inner
            .chats
            .with(conversation, |open| open.extra.stream = Some(stream));
        Ok((Chat { id: chat, events }, first))
    }

    fn enqueue(&self, chat: &ChatId, call: Outgoing) -> Result<(), DeskError> {
        let conversation = conversation_of(chat)?;
        self.inner.chats.enqueue(&conversation, chat, call)
    }
}

impl Inner {
    fn url(&self, rest: &str) -> Result<reqwest::Url, DeskError> {
        self.base
            .join(rest)
            .map_err(|error| DeskError::Desk(format!("salesforce: {rest}: {error}")))
    }

    /// A call with the chat's guest token; a `401` renews the token once and tries again.
    async fn call(
        &self,
        auth: &Mutex<Auth>,
        method: Method,
        rest: &str,
        body: Option<&Value>,
    ) -> Result<Value, DeskError> {
        let url = self.url(rest)?;
        let mut renewed = false;
        loop {
            let token = lock(auth).token.clone();
            let result = self
                .guard
                .send_json(&format!("salesforce: {rest}"), |client| {
                    let mut request = client.request(method.clone(), url.clone()).bearer_auth(&token);
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    request
                })
                .await;
            match result {
                Err(DeskError::Refused { status: 401, .. }) if !renewed => {
                    renewed = true;
                    self.renew(auth).await?;
                }
                other => return other,
            }
        }
    }

    /// "Generate an Unauthenticated Access Token" for a new guest.
    async fn guest_token(&self) -> Result<Auth, DeskError> {
        let url = self.url("iamessage/api/v2/authorization/unauthenticated/access-token")?;
        let body = json!({
            "orgId": self.config.org_id,
            "esDeveloperName": self.config.deployment,
            "capabilitiesVersion": "1",
            "platform": "Web",
            "context": {"appName": "Baton", "clientVersion": env!("CARGO_PKG_VERSION")},
        });
        let answer = self
            .guard
            .send_json("salesforce: access token", |client| {
                client.post(url.clone()).json(&body)
            })
            .await?;
        auth_from(&answer, None)
    }

    /// "Generate a Continuation Token": a new token for the same guest, before the old expires.
    async fn renew(&self, auth: &Mutex<Auth>) -> Result<(), DeskError> {
        let url = self.url("iamessage/api/v2/authorization/continuation-access-token")?;
        let token = lock(auth).token.clone();
        let answer = self
            .guard
            .send_json("salesforce: continuation token", |client| {
                client.get(url.clone()).bearer_auth(&token)
            })
            .await?;
        let mut auth = lock(auth);
        let renewed = auth_from(&answer, auth.last_event_id.clone())?;
        auth.token = renewed.token;
        Ok(())
    }
}

fn auth_from(answer: &Value, last_event_id: Option<String>) -> Result<Auth, DeskError> {
    let token = str_at(answer, &["accessToken"])
        .filter(|token| !token.is_empty() && token.len() <= 16_384)
        .ok_or_else(|| DeskError::Desk("salesforce: the token answer has no accessToken".into()))?;
    let last_event_id = last_event_id.or_else(|| {
        answer.get("lastEventId").and_then(|id| match id {
            Value::String(id) => Some(id.clone()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        })
    });
    Ok(Auth {
        token: token.to_owned(),
        last_event_id,
    })
}

/// One customer call, as the chat's outbox sends it.
async fn deliver(inner: &Inner, conversation: &str, auth: &Mutex<Auth>, call: Outgoing) -> Outcome {
    let deployment = inner.config.deployment.as_str();
    let (result, is_message) = match call {
        Outgoing::Message(message) => {
            let entry = uuid::Uuid::new_v4().to_string();
            inner.chats.with(conversation, |open| {
                remember(&mut open.extra.sent, entry.clone(), message.id.clone());
            });
            (send_text(inner, auth, conversation, &entry, &message.text).await, true)
        }
        Outgoing::Typing(typing) => {
            let body = json!({
                "entryType": if typing { "TypingStartedIndicator" } else { "TypingStoppedIndicator" },
                "id": uuid::Uuid::new_v4().to_string(),
                "timestamp": Utc::now().timestamp_millis(),
            });
            let rest = format!("iamessage/api/v2/conversation/{conversation}/entry");
            (
                inner.call(auth, Method::POST, &rest, Some(&body)).await.map(drop),
                false,
            )
        }
        Outgoing::Read(entry) => {
            let body = json!({"acks": [{"type": "Read", "conversationEntryId": entry}]});
            let rest = format!("iamessage/api/v2/conversation/{conversation}/acknowledge-entries");
            (
                inner.call(auth, Method::POST, &rest, Some(&body)).await.map(drop),
                false,
            )
        }
        Outgoing::Leave => {
            let rest = format!("iamessage/api/v2/conversation/{conversation}?esDeveloperName={deployment}");
            (inner.call(auth, Method::DELETE, &rest, None).await.map(drop), false)
        }
    };
    Outcome::of(result, is_message)
}

/// "Send a Message": a text from the guest.
async fn send_text(
    inner: &Inner,
    auth: &Mutex<Auth>,
    conversation: &str,
    id: &str,
    text: &str,
) -> Result<(), DeskError> {
    let body = json!({
        "message": {
            "id": id,
            "messageType": "StaticContentMessage",
            "staticContent": {"formatType": "Text", "text": text},
        },
        "esDeveloperName": inner.config.deployment,
        "isNewMessagingSession": false,
    });
    let rest = format!("iamessage/api/v2/conversation/{conversation}/message");
    inner.call(auth, Method::POST, &rest, Some(&body)).await.map(drop)
}

fn remember(list: &mut VecDeque<(String, MessageId)>, theirs: String, ours: MessageId) {
    list.push_back((theirs, ours));
    if list.len() > REMEMBERED_ENTRIES {
        list.pop_front();
    }
}

/// The chat's event stream, for as long as the chat is open: opened again after a drop (with
/// `Last-Event-ID`), its token renewed before it expires.
async fn follow(
    inner: Arc<Inner>,
    conversation: String,
    auth: Arc<Mutex<Auth>>,
    connected: oneshot::Sender<Result<(), DeskError>>,
) {
    let mut connected = Some(connected);
    let mut failures: u32 = 0;
    loop {
        let (token, last) = {
            let auth = lock(&auth);
            (auth.token.clone(), auth.last_event_id.clone())
        };
        let Ok(url) = inner.url("eventrouter/v1/sse") else {
            return;
        };
        let mut request = inner
            .streams
            .get(url)
            .bearer_auth(&token)
            .header("X-Org-Id", &inner.config.org_id)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(last) = &last {
            request = request.header("Last-Event-ID", last);
        }
        let response = request.send().await;
        let outcome = match response {
            Ok(response) if response.status().is_success() => {
                failures = 0;
                if let Some(connected) = connected.take() {
                    let _ = connected.send(Ok(()));
                }
                read_stream(&inner, &conversation, &auth, response).await
            }
            Ok(response) if response.status() == reqwest::StatusCode::UNAUTHORIZED => Err(StreamEnd::Unauthorized),
            Ok(response) => Err(StreamEnd::Dropped(format!(
                "the event stream answered {}",
                response.status()
            ))),
            Err(error) => Err(StreamEnd::Dropped(format!("the event stream: {error}"))),
        };
        match outcome {
            Ok(Closed::ChatOver) => return,
            Ok(Closed::Renew) | Err(StreamEnd::Unauthorized) => match inner.renew(&auth).await {
                Ok(()) => {
                    let state = lock(&auth).state();
                    let _ = inner.chats.apply(&conversation, |_, out| {
                        out.push(DeskEvent::Resumable(state));
                        Ok(())
                    });
                    continue;
                }
                Err(error) => {
                    tracing::warn!(desk = %inner.name, %conversation, %error, "salesforce no longer takes the chat's token");
                    if let Some(connected) = connected.take() {
                        let _ = connected.send(Err(error));
                        return;
                    }
                    let _ = inner.chats.apply(&conversation, |_, out| {
                        out.push(DeskEvent::Ended {
                            by: EndedBy::Desk,
                            reason: EndReason::Other {
                                note: "Salesforce no longer accepts this chat's token".into(),
                            },
                        });
                        Ok(())
                    });
                    return;
                }
            },
            Ok(Closed::Dropped) | Err(StreamEnd::Dropped(_)) => {
                if let Err(StreamEnd::Dropped(error)) = &outcome {
                    tracing::debug!(desk = %inner.name, %conversation, %error, "salesforce event stream lost");
                }
                failures += 1;
                if let Some(sender) = connected.take() {
                    if failures >= inner.config.retry.attempts {
                        let _ = sender.send(Err(DeskError::Desk(
                            "salesforce: the event stream could not be opened".into(),
                        )));
                        return;
                    }
                    connected = Some(sender);
                } else if failures == 2 {
                    let _ = inner.chats.apply(&conversation, |_, out| {
                        out.push(DeskEvent::Error(DeskErrorKind::Disconnected));
                        Ok(())
                    });
                }
                let wait = inner.config.retry.backoff(failures).min(Duration::from_secs(30));
                tokio::time::sleep(wait).await;
            }
        }
        if inner.chats.with(&conversation, |_| ()).is_none() {
            return;
        }
    }
}

enum Closed {
    /// The chat ended (closed, or no longer open here).
    ChatOver,
    /// The token is about to expire: renew it and open the stream again.
    Renew,
    Dropped,
}

enum StreamEnd {
    Unauthorized,
    Dropped(String),
}

/// Reads one connection of the stream until it drops, the chat ends or the token needs renewing.
async fn read_stream(
    inner: &Inner,
    conversation: &str,
    auth: &Mutex<Auth>,
    response: reqwest::Response,
) -> Result<Closed, StreamEnd> {
    use eventsource_stream::Eventsource;
    let renew_at = lock(auth).expires_at().map(|expires| {
        let left = (expires - Utc::now()).to_std().unwrap_or_default();
        tokio::time::Instant::now() + left.mul_f64(0.8)
    });
    let mut events = response.bytes_stream().eventsource();
    loop {
        let next = match renew_at {
            Some(at) => tokio::select! {
                next = events.next() => next,
                () = tokio::time::sleep_until(at) => return Ok(Closed::Renew),
            },
            None => events.next().await,
        };
        let event = match next {
            Some(Ok(event)) => event,
            Some(Err(error)) => return Err(StreamEnd::Dropped(error.to_string())),
            None => return Ok(Closed::Dropped),
        };
        if event.data.is_empty() {
            continue;
        }
        match apply_event(inner, conversation, auth, &event.event, &event.id, &event.data) {
            Ok(true) => return Ok(Closed::ChatOver),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(desk = %inner.name, %conversation, %error, "a salesforce event was not understood")
            }
        }
        if inner.chats.with(conversation, |_| ()).is_none() {
            return Ok(Closed::ChatOver);
        }
    }
}

/// Applies one server-sent event to the chat; `true` when the chat is over.
fn apply_event(
    inner: &Inner,
    conversation: &str,
    auth: &Mutex<Auth>,
    name: &str,
    id: &str,
    data: &str,
) -> Result<bool, DeskError> {
    let data: Value =
        serde_json::from_str(data).map_err(|error| DeskError::BadEvent(format!("{name}: not JSON: {error}")))?;
    // One stream carries the guest's every conversation: only this one's events count.
    if str_at(&data, &["conversationId"]).is_some_and(|id| !id.eq_ignore_ascii_case(conversation)) {
        return Ok(false);
    }
    let entry = data.get("conversationEntry").unwrap_or(&Value::Null);
    let payload: Value = match entry.get("entryPayload") {
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let role = str_at(entry, &["sender", "role"]).unwrap_or_default();
    let entry_id = str_at(entry, &["identifier"]).unwrap_or_default().to_owned();
    let at = entry
        .get("clientTimestamp")
        .or_else(|| entry.get("transcriptedTimestamp"))
        .and_then(Value::as_i64)
        .and_then(|millis| Utc.timestamp_millis_opt(millis).single())
        .unwrap_or_else(Utc::now);
    let applied = inner.chats.apply(conversation, |open, out| {
        // A replayed event (after `Last-Event-ID`) or a repeated one changes nothing.
        {
            let mut auth = lock(auth);
            if !id.is_empty() {
                if auth.last_event_id.as_deref().is_some_and(|last| !is_after(id, last)) {
                    return Ok(());
                }
                auth.last_event_id = Some(id.to_owned());
            }
        }
        if !entry_id.is_empty() && open.extra.entries.iter().any(|(seen, _)| *seen == entry_id) {
            return Ok(());
        }
        let mut changed = true;
        match name {
            "CONVERSATION_MESSAGE" if role == "Agent" => {
                let agent = agent_of(entry)?;
                let text = str_at(&payload, &["abstractMessage", "staticContent", "text"])
                    .map(str::trim)
                    .filter(|text| !text.is_empty())
                    .unwrap_or("(the agent sent something this chat cannot show)");
                open.taken_by(agent.clone(), out);
                if let Some(words) = text.strip_prefix("!handback") {
                    match dedup::hand_back_words(words.split_whitespace()) {
                        Ok(reason) => out.push(DeskEvent::Ended { by: EndedBy::Agent, reason }),
                        Err(word) => tracing::warn!(desk = %inner.name, %conversation, %word, "a hand-back the desk did not understand"),
                    }
                } else {
                    let id = MessageId::parse(&format!("salesforce-{entry_id}"))?;
                    remember(&mut open.extra.entries, entry_id.clone(), id.clone());
                    out.push(DeskEvent::AgentMessage(AgentMessage {
                        id,
                        at,
                        agent,
                        text: text.chars().take(10_000).collect(),
                    }));
                }
            }
            "CONVERSATION_PARTICIPANT_CHANGED" => {
                for change in payload.get("entries").and_then(Value::as_array).into_iter().flatten() {
                    if str_at(change, &["participant", "role"]) != Some("Agent") {
                        continue;
                    }
                    let agent = crate::chats::agent_profile("salesforce", str_at(change, &["participant", "subject"]), str_at(change, &["displayName"]))?;
                    match str_at(change, &["operation"]) {
                        Some("add") => open.taken_by(agent, out),
                        Some("remove") if open.agent.as_ref().map(|known| &known.id) == Some(&agent.id) => {
                            open.agent = None;
                            out.push(DeskEvent::AgentLeft);
                        }
                        _ => {}
                    }
                }
            }
            "CONVERSATION_ROUTING_RESULT" => {
                let failed = str_at(&payload, &["failureType"]).is_some_and(|failure| failure != "None");
                let initial = str_at(&payload, &["routingType"]) != Some("Transfer");
                if failed && initial && open.agent.is_none() {
                    out.push(DeskEvent::Error(DeskErrorKind::Connecting));
                } else if !failed && open.agent.is_none() {
                    let wait = payload
                        .pointer("/estimatedWaitTime/estimatedWaitTimeInSeconds")
                        .and_then(Value::as_i64)
                        .filter(|seconds| *seconds >= 0)
                        .map(|seconds| Duration::from_secs(seconds.unsigned_abs()));
                    out.push(DeskEvent::Queued {
                        position: None,
                        wait,
                        note: None,
                    });
                }
            }
            "CONVERSATION_TYPING_STARTED_INDICATOR" | "CONVERSATION_TYPING_STOPPED_INDICATOR" if role == "Agent" => {
                changed = false;
                out.push(DeskEvent::AgentTyping(name == "CONVERSATION_TYPING_STARTED_INDICATOR"));
            }
            "CONVERSATION_READ_ACKNOWLEDGEMENT" if role == "Agent" => {
                changed = false;
                let acknowledged = str_at(&payload, &["acknowledgedConversationEntryIdentifier"]).unwrap_or_default();
                if let Some((_, ours)) = open.extra.sent.iter().find(|(theirs, _)| theirs == acknowledged) {
                    out.push(DeskEvent::AgentRead { up_to: ours.clone() });
                }
            }
            "CONVERSATION_CLOSE_CONVERSATION" => out.push(DeskEvent::Ended {
                by: EndedBy::Agent,
                reason: EndReason::Resolved,
            }),
            _ => changed = false,
        }
        // What changed the chat is stored with the id of its event, so a restart replays only
        // what came after it.
        let ends = out.iter().any(|event| matches!(event, DeskEvent::Ended { .. }));
        if changed && !ends && !out.is_empty() {
            out.push(DeskEvent::Resumable(lock(auth).state()));
        }
        Ok(())
    });
    Ok(applied.is_ok_and(|_| inner.chats.with(conversation, |_| ()).is_none()))
}

/// Whether event id `id` comes after `last`: numerically where both are numbers, else any
/// other id (Salesforce's ids are opaque to a client; only the numeric ones have an order).
fn is_after(id: &str, last: &str) -> bool {
    match (id.parse::<u128>(), last.parse::<u128>()) {
        (Ok(id), Ok(last)) => id > last,
        _ => id != last,
    }
}

/// The sending agent, from a message entry.
fn agent_of(entry: &Value) -> Result<AgentProfile, DeskError> {
    crate::chats::agent_profile(
        "salesforce",
        str_at(entry, &["sender", "subject"]),
        str_at(entry, &["senderDisplayName"]),
    )
}

impl ServiceDesk for SalesforceDesk {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            agent_typing: true,
            customer_typing: true,
            agent_read: true,
            customer_read: true,
            queue_position: false,
            estimated_wait: true,
            transfer_events: true,
            customer_end: true,
            files: false,
            resume: true,
            offers: false,
        }
    }

    /// The guest API tells nothing of agents' presence: Omni-Channel decides when the
    /// conversation arrives.
    fn availability<'a>(&'a self, _queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move { Ok(unknown()) })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let inner = &self.inner;
            let auth = inner.guest_token().await?;
            let conversation = uuid::Uuid::new_v4().hyphenated().to_string();
            let (chat, connected) = self.open(&conversation, auth, None, true)?;
            let auth = inner
                .chats
                .with(&conversation, |open| open.extra.auth.clone())
                .ok_or_else(|| DeskError::UnknownChat(chat.id.clone()))?;
            let opened = async {
                // The stream must be open before the conversation starts, or its first events
                // are missed.
                connected
                    .await
                    .map_err(|_| DeskError::Desk("salesforce: the event stream stopped".into()))??;
                let fields = &inner.config.fields;
                let mut attributes = serde_json::Map::new();
                for (name, value) in &request.custom_fields {
                    attributes.insert(name.clone(), value.clone());
                }
                attributes.insert(fields.summary.clone(), json!(crate::chats::brief_text(&request)));
                attributes.insert(fields.session.clone(), json!(request.session.as_str()));
                if let Some(url) = &request.transcript_url {
                    attributes.insert(fields.transcript_url.clone(), json!(url));
                }
                if let Some(queue) = &request.routing.queue {
                    attributes.insert(fields.queue.clone(), json!(queue.as_str()));
                }
                let body = json!({
                    "conversationId": conversation,
                    "esDeveloperName": inner.config.deployment,
                    "routingAttributes": attributes,
                    "language": request.customer.locale.as_deref().unwrap_or("en"),
                });
                inner
                    .call(&auth, Method::POST, "iamessage/api/v2/conversation", Some(&body))
                    .await?;
                if inner.config.post_transcript && !request.transcript.is_empty() {
                    let text = crate::chats::transcript_message(&request, TRANSCRIPT_CHARS);
                    send_text(inner, &auth, &conversation, &uuid::Uuid::new_v4().to_string(), &text).await?;
                }
                Ok::<_, DeskError>(())
            };
            if let Err(error) = opened.await {
                inner.chats.remove(&conversation);
                return Err(error);
            }
            // The token, for a restart: stored before any event the agent causes.
            let state = inner
                .chats
                .with(&conversation, |open| lock(&open.extra.auth).state())
                .ok_or_else(|| DeskError::UnknownChat(chat.id.clone()))?;
            inner.chats.apply(&conversation, |_, out| {
                out.push(DeskEvent::Resumable(state));
                Ok(())
            })?;
            tracing::info!(desk = %inner.name, %conversation, transfer = %request.transfer, "salesforce conversation started");
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
            let entry = up_to
                .as_str()
                .strip_prefix("salesforce-")
                .ok_or_else(|| DeskError::Desk(format!("salesforce: {up_to} is not a Salesforce entry")))?;
            self.enqueue(chat, Outgoing::Read(entry.to_owned()))
        })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, _reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            self.enqueue(chat, Outgoing::Leave)?;
            // The outbox still closes the conversation; its events end here.
            self.inner.chats.remove(&conversation_of(chat)?);
            Ok(())
        })
    }

    fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let conversation = conversation_of(&resume.chat)?;
            let auth: Auth = resume
                .state
                .as_ref()
                .and_then(|state| serde_json::from_str(&state.0).ok())
                .ok_or_else(|| {
                    DeskError::Desk("salesforce: the chat's token was not kept; it cannot be resumed".into())
                })?;
            let agent = crate::chats::resumed_agent("salesforce", &resume);
            let (chat, connected) = self.open(&conversation, auth, agent, false)?;
            match connected.await {
                Ok(Ok(())) => Ok(chat),
                Ok(Err(error)) => {
                    self.inner.chats.remove(&conversation);
                    Err(match error {
                        DeskError::Refused { status: 401 | 403, .. } => DeskError::UnknownChat(resume.chat.clone()),
                        other => other,
                    })
                }
                Err(_) => {
                    self.inner.chats.remove(&conversation);
                    Err(DeskError::Desk("salesforce: the event stream stopped".into()))
                }
            }
        })
    }
}
