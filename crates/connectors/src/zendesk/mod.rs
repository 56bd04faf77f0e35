//! The Zendesk desk (`kind = "zendesk"`): agents work in Zendesk's Agent Workspace, reached
//! through Sunshine Conversations v2 and its Switchboard (`docs/desks/zendesk.md`). Written from
//! Zendesk's developer documentation: the Sunshine Conversations API reference (Users,
//! Conversations, Messages, Activities, Switchboard Actions: `passControl`, `releaseControl`),
//! "Receiving messages" (the webhook payload: `{app, webhook, events: [{id, type, createdAt,
//! payload}]}`), "Securing webhooks" (the integration's shared secret in `X-API-Key`), the
//! Switchboard guide ("Passing control to Zendesk Agent Workspace": `first_message_id` and
//! `dataCapture.ticketField.<id>` metadata) and the Agent Availability API.
//!
//! - A transfer makes a user (`externalId` `baton-{session}`) and a personal conversation,
//!   posts the transcript into it (the customer's lines as the user's messages, the assistant's as
//!   business messages), and passes control to the Agent Workspace with `first_message_id` set to
//!   the transcript's first message, so the ticket shows the whole history, and the brief in a
//!   ticket field when one is configured. The chat id is `{conversation id}:{user id}`.
//! - The customer's messages and reads go to the conversation as that user, in order, through one
//!   outbox per chat. Sunshine Conversations takes no typing from a user, so none is sent.
//! - From the integration's webhook (verified by `X-API-Key` before anything else; each event id
//!   is seen once): business messages that did not come from the API (the agent's), typing and
//!   reads by the business, and the Switchboard taking control back: `releaseControl` (the ticket
//!   was solved or the session ended) ends the chat, `passControl` back with `baton_resume` /
//!   `baton_var_*` metadata hands the customer back to the assistant. Sunshine Conversations
//!   tells of no assignment: the first sign of an agent in the conversation (reading it, typing,
//!   writing) is the agent joining.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use baton_desk::{
    AgentId, AgentMessage, AgentProfile, Availability, Capabilities, Chat, ChatId, ChatRequest, ChatResume,
    CustomerMessage, DeskError, DeskEvent, DeskFuture, EndReason, EndedBy, MessageId, QueueName, ServiceDesk, Speaker,
    WebhookOutcome, WebhookReceiver, WebhookRequest,
};

use crate::chats::{Chats, Outcome, online_if, unknown};
use crate::dedup::{self, SeenIds};
use crate::guard::{Guard, Policy};
use crate::lock;
use crate::signing;

pub mod sim;

/// The header Sunshine Conversations sends the integration's webhook secret in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// How many event ids are remembered to drop duplicates.
const SEEN_EVENTS: usize = 20_000;

/// The Agent Workspace's switchboard integration, by name.
pub const AGENT_WORKSPACE: &str = "zd-agentWorkspace";

/// A Zendesk desk's settings, secrets resolved (the server reads them from `*_env` or `*_file`).
#[derive(Clone)]
pub struct ZendeskConfig {
    /// Sunshine Conversations' base, `https://{subdomain}.zendesk.com/sc`.
    pub url: String,
    pub app_id: String,
    /// An API key of the app (`keyId` and its secret), for HTTP Basic authentication.
    pub key_id: String,
    pub key_secret: String,
    /// The conversations integration's webhook secret, sent by Zendesk as `X-API-Key`.
    pub webhook_secret: String,
    /// The switchboard integration agents work in (default `zd-agentWorkspace`).
    pub switchboard_integration: String,
    /// A ticket field (its id) the brief's summary is written into.
    pub summary_field: Option<u64>,
    /// The Support API, for the Agent Availability API: `https://{subdomain}.zendesk.com`, an
    /// agent's email and an API token (optional; without them availability is unknown).
    pub support: Option<SupportApi>,
    pub retry: Policy,
}

#[derive(Clone)]
pub struct SupportApi {
    pub url: String,
    pub email: String,
    pub token: String,
}

impl std::fmt::Debug for ZendeskConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZendeskConfig")
            .field("url", &self.url)
            .field("app_id", &self.app_id)
            .field("key_id", &self.key_id)
            .field("key_secret", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .field("switchboard_integration", &self.switchboard_integration)
            .field("summary_field", &self.summary_field)
            .field("support", &self.support.as_ref().map(|support| &support.url))
            .field("retry", &self.retry)
            .finish()
    }
}

/// A desk on Zendesk messaging.
pub struct ZendeskDesk {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    base: reqwest::Url,
    config: ZendeskConfig,
    guard: Guard,
    /// Open chats by conversation id.
    /// With the customer's last message, which an agent's read covers.
    chats: Chats<Outgoing, Option<MessageId>>,
    seen: Mutex<SeenIds>,
}

enum Outgoing {
    Message(CustomerMessage),
    Read,
    Leave,
}

/// Sunshine Conversations' ids are hex; anything else in a path is refused.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `{conversation}:{user}` → both parts.
fn parse_chat(chat: &ChatId) -> Result<(String, String), DeskError> {
    chat.as_str()
        .split_once(':')
        .filter(|(conversation, user)| valid_id(conversation) && valid_id(user))
        .map(|(conversation, user)| (conversation.to_owned(), user.to_owned()))
        .ok_or_else(|| DeskError::UnknownChat(chat.clone()))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |value, key| value.get(key))?.as_str()
}

impl ZendeskDesk {
    pub fn new(name: &str, config: ZendeskConfig) -> Result<ZendeskDesk, DeskError> {
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
        if !valid_id(&config.app_id) {
            return Err(DeskError::Config(format!(
                "desk {name}: app_id {:?} is not an id",
                config.app_id
            )));
        }
        Ok(ZendeskDesk {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                base,
                guard: Guard::new(name, config.retry.clone())?,
                config,
                chats: Chats::default(),
                seen: Mutex::new(SeenIds::new(SEEN_EVENTS)),
            }),
        })
    }

    fn open(
        &self,
        conversation: &str,
        user: &str,
        agent: Option<AgentProfile>,
        queued: bool,
    ) -> Result<Chat, DeskError> {
        let chat = ChatId::parse(&format!("{conversation}:{user}"))?;
        let inner = self.inner.clone();
        let (key, user) = (conversation.to_owned(), user.to_owned());
        let events = self
            .inner
            .chats
            .open(conversation, (chat.clone(), agent, None), queued, move |call| {
                let (inner, key, user) = (inner.clone(), key.clone(), user.clone());
                async move { deliver(&inner, &key, &user, call).await }
            });
        Ok(Chat { id: chat, events })
    }

    fn enqueue(&self, chat: &ChatId, call: Outgoing) -> Result<(), DeskError> {
        let (conversation, _) = parse_chat(chat)?;
        if let Outgoing::Message(message) = &call {
            let id = message.id.clone();
            self.inner.chats.with(&conversation, |open| open.extra = Some(id));
        }
        self.inner.chats.enqueue(&conversation, chat, call)
    }
}

impl Inner {
    /// A call to the app's Sunshine Conversations API (`v2/apps/{app}/{rest}`), authenticated
    /// with the app's key; the answer's JSON.
    async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> Result<Value, DeskError> {
        let url = self
            .base
            .join(&format!("v2/apps/{}/{rest}", self.config.app_id))
            .map_err(|error| DeskError::Desk(format!("zendesk: {rest}: {error}")))?;
        self.guard
            .send_json(&format!("zendesk: {rest}"), |client| {
                let mut request = client
                    .request(method.clone(), url.clone())
                    .basic_auth(&self.config.key_id, Some(&self.config.key_secret));
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            })
            .await
    }

    /// "Post message": the id of the message made.
    async fn post_message(&self, conversation: &str, author: Value, text: &str) -> Result<Option<String>, DeskError> {
        let body = json!({"author": author, "content": {"type": "text", "text": text}});
        let answer = self
            .call(
                Method::POST,
                &format!("conversations/{conversation}/messages"),
                Some(&body),
            )
            .await?;
        Ok(answer
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|messages| messages.first())
            .and_then(|message| message.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned))
    }
}

/// One customer call, as the chat's outbox sends it.
async fn deliver(inner: &Inner, conversation: &str, user: &str, call: Outgoing) -> Outcome {
    let author = json!({"type": "user", "userId": user});
    let (result, is_message) = match call {
        Outgoing::Message(message) => (
            inner.post_message(conversation, author, &message.text).await.map(drop),
            true,
        ),
        // "Post activity": a user may only post `conversation:read`.
        Outgoing::Read => (
            inner
                .call(
                    Method::POST,
                    &format!("conversations/{conversation}/activity"),
                    Some(&json!({"author": author, "type": "conversation:read"})),
                )
                .await
                .map(drop),
            false,
        ),
        // "Release control": the conversation goes back to the default integration, which is
        // what a customer leaving means on the Switchboard.
        Outgoing::Leave => (
            inner
                .call(
                    Method::POST,
                    &format!("conversations/{conversation}/releaseControl"),
                    Some(&json!({"reason": "ticketClosed", "metadata": {"baton_reason": "customer_left"}})),
                )
                .await
                .map(drop),
            false,
        ),
    };
    Outcome::of(result, is_message)
}

fn customer_given_name(request: &ChatRequest) -> String {
    request
        .customer
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map_or_else(|| format!("Customer {}", request.session), str::to_owned)
}

impl ServiceDesk for ZendeskDesk {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            agent_typing: true,
            customer_typing: false,
            agent_read: true,
            customer_read: true,
            queue_position: false,
            estimated_wait: false,
            transfer_events: false,
            customer_end: true,
            files: false,
            resume: true,
            offers: false,
        }
    }

    fn availability<'a>(&'a self, _queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move {
            let Some(support) = &self.inner.config.support else {
                return Ok(unknown());
            };
            if self.inner.guard.is_open() {
                return Ok(online_if(false));
            }
            // Agent Availability API: agents whose messaging channel is online.
            let url = format!(
                "{}/api/v2/agent_availabilities?filter[channel_status]=messaging:online",
                support.url.trim_end_matches('/')
            );
            let user = format!("{}/token", support.email);
            let response = self
                .inner
                .guard
                .send(|client| client.get(&url).basic_auth(&user, Some(&support.token)))
                .await?;
            let answer: Value = response
                .json()
                .await
                .map_err(|error| DeskError::Desk(format!("zendesk: agent availabilities: {error}")))?;
            let data = answer
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| DeskError::Desk("zendesk: agent availabilities answered without data".into()))?;
            Ok(online_if(!data.is_empty()))
        })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let inner = &self.inner;
            // "Create user": one per session, so a second transfer of the session finds it.
            let external = format!("baton-{}", request.session);
            let body = json!({"externalId": external, "profile": {"givenName": customer_given_name(&request)}});
            let user = match inner.call(Method::POST, "users", Some(&body)).await {
                Ok(created) => created,
                Err(DeskError::Refused { status: 409, .. }) => {
                    inner.call(Method::GET, &format!("users/{external}"), None).await?
                }
                Err(error) => return Err(error),
            };
            let user = str_at(&user, &["user", "id"])
                .filter(|id| valid_id(id))
                .ok_or_else(|| DeskError::Desk("zendesk: the user has no id".into()))?
                .to_owned();
            let body = json!({
                "type": "personal",
                "participants": [{"userId": user, "subscribeSDKClient": false}],
                "metadata": {"baton_transfer": request.transfer.as_str(), "baton_session": request.session.as_str()},
            });
            let conversation = inner.call(Method::POST, "conversations", Some(&body)).await?;
            let conversation = str_at(&conversation, &["conversation", "id"])
                .filter(|id| valid_id(id))
                .ok_or_else(|| DeskError::Desk("zendesk: the conversation has no id".into()))?
                .to_owned();
            let mut first_message = None;
            for line in &request.transcript {
                let author = match line.speaker {
                    Speaker::Customer => json!({"type": "user", "userId": user}),
                    _ => json!({"type": "business", "displayName": "Assistant"}),
                };
                let id = inner.post_message(&conversation, author, &line.text).await?;
                first_message = first_message.or(id);
            }
            // The brief as the first thing the agent reads when the transcript is empty.
            if first_message.is_none() {
                let author = json!({"type": "business", "displayName": "Assistant"});
                first_message = inner
                    .post_message(&conversation, author, "The customer asks for an agent.")
                    .await?;
            }
            let mut metadata = serde_json::Map::new();
            if let Some(first) = &first_message {
                metadata.insert("first_message_id".into(), json!(first));
            }
            if let Some(field) = inner.config.summary_field {
                let mut summary = request.brief.summary.trim().to_owned();
                if let Some(url) = &request.transcript_url {
                    summary.push_str(&format!("\nTranscript: {url}"));
                }
                metadata.insert(format!("dataCapture.ticketField.{field}"), json!(summary));
            }
            if let Some(queue) = &request.routing.queue {
                metadata.insert("baton_queue".into(), json!(queue.as_str()));
            }
            // Registered before control passes: an agent may answer at once.
            let chat = self.open(&conversation, &user, None, true)?;
            let body = json!({"switchboardIntegration": inner.config.switchboard_integration, "metadata": metadata});
            if let Err(error) = inner
                .call(
                    Method::POST,
                    &format!("conversations/{conversation}/passControl"),
                    Some(&body),
                )
                .await
            {
                inner.chats.remove(&conversation);
                return Err(error);
            }
            tracing::info!(desk = %inner.name, %conversation, transfer = %request.transfer, "zendesk conversation passed to the agent workspace");
            Ok(chat)
        })
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Message(message)) })
    }

    /// Sunshine Conversations takes no typing from a user: nothing is sent.
    fn customer_typing<'a>(&'a self, chat: &'a ChatId, _typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move { parse_chat(chat).map(drop) })
    }

    fn customer_read<'a>(&'a self, chat: &'a ChatId, _up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Read) })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, _reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            self.enqueue(chat, Outgoing::Leave)?;
            let (conversation, _) = parse_chat(chat)?;
            self.inner.chats.remove(&conversation);
            Ok(())
        })
    }

    fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let (conversation, user) = parse_chat(&resume.chat)?;
            // "Get conversation": still there, and who has control now.
            let now = self
                .inner
                .call(Method::GET, &format!("conversations/{conversation}"), None)
                .await
                .map_err(|error| match error {
                    DeskError::Refused { status: 404, .. } => DeskError::UnknownChat(resume.chat.clone()),
                    other => other,
                })?;
            let agent = crate::chats::resumed_agent("zendesk", &resume);
            let chat = self.open(&conversation, &user, agent, false)?;
            let active = str_at(&now, &["conversation", "activeSwitchboardIntegration", "name"]);
            if active.is_some_and(|active| active != self.inner.config.switchboard_integration) {
                // Control went back while Baton was down: the chat is over.
                self.inner.chats.resolved_meanwhile(&conversation)?;
            }
            Ok(chat)
        })
    }

    fn webhook(&self) -> Option<&dyn WebhookReceiver> {
        Some(self)
    }
}

impl WebhookReceiver for ZendeskDesk {
    fn receive<'a>(&'a self, request: WebhookRequest<'a>) -> DeskFuture<'a, WebhookOutcome> {
        Box::pin(async move { self.receive_now(request, Utc::now()) })
    }
}

impl ZendeskDesk {
    /// [`WebhookReceiver::receive`] at `now`: verify, parse, drop duplicate events, translate.
    pub fn receive_now(&self, request: WebhookRequest<'_>, now: DateTime<Utc>) -> Result<WebhookOutcome, DeskError> {
        let key = request
            .header(API_KEY_HEADER)
            .ok_or_else(|| DeskError::Unauthenticated("no X-API-Key header".to_owned()))?;
        if !signing::same_secret(key.trim(), &self.inner.config.webhook_secret) {
            return Err(DeskError::Unauthenticated(
                "X-API-Key is not the webhook's secret".to_owned(),
            ));
        }
        let body: Value =
            serde_json::from_slice(request.body).map_err(|error| DeskError::BadEvent(format!("not JSON: {error}")))?;
        let events = body
            .get("events")
            .and_then(Value::as_array)
            .ok_or_else(|| DeskError::BadEvent("no \"events\" list".to_owned()))?;
        let mut n_new = 0;
        let mut n_applied = 0;
        for event in events {
            let id = event
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty() && id.len() <= 200)
                .ok_or_else(|| DeskError::BadEvent("an event without an id".to_owned()))?;
            if !lock(&self.inner.seen).insert(id) {
                continue;
            }
            n_new += 1;
            let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
            let payload = event.get("payload").unwrap_or(&Value::Null);
            n_applied += self.translate(kind, payload, now)?;
        }
        if n_new == 0 && !events.is_empty() {
            return Ok(WebhookOutcome::Duplicate);
        }
        Ok(WebhookOutcome::Accepted { events: n_applied })
    }

    fn translate(&self, kind: &str, payload: &Value, now: DateTime<Utc>) -> Result<usize, DeskError> {
        let Some(conversation) = str_at(payload, &["conversation", "id"]) else {
            return Ok(0);
        };
        let business = |author: Option<&Value>| {
            author.and_then(|author| author.get("type")).and_then(Value::as_str) == Some("business")
        };
        self.inner.chats.apply(conversation, |open, out| {
            match kind {
                "conversation:message" => {
                    let message = payload.get("message").unwrap_or(&Value::Null);
                    let from_api = str_at(message, &["source", "type"])
                        .is_some_and(|source| source == "api" || source.starts_with("api:"));
                    if business(message.get("author")) && !from_api {
                        let agent = agent_of(message.get("author"))?;
                        let id = str_at(message, &["id"])
                            .ok_or_else(|| DeskError::BadEvent("a message without an id".to_owned()))?;
                        let text = str_at(message, &["content", "text"])
                            .map(str::trim)
                            .filter(|text| !text.is_empty())
                            .unwrap_or("(the agent sent something this chat cannot show)");
                        open.taken_by(agent.clone(), out);
                        out.push(DeskEvent::AgentMessage(AgentMessage {
                            id: MessageId::parse(&format!("zendesk-{id}"))?,
                            at: now,
                            agent,
                            text: text.chars().take(10_000).collect(),
                        }));
                    }
                }
                "conversation:typing" | "conversation:read" => {
                    let author = payload.get("activity").and_then(|activity| activity.get("author"));
                    if business(author) {
                        let agent = agent_of(author)?;
                        open.taken_by(agent, out);
                        if kind == "conversation:typing" {
                            out.push(DeskEvent::AgentTyping(
                                str_at(payload, &["activity", "type"]) == Some("typing:start"),
                            ));
                        } else if let Some(up_to) = open.extra.clone() {
                            out.push(DeskEvent::AgentRead { up_to });
                        }
                    }
                }
                "switchboard:releaseControl" => out.push(DeskEvent::Ended {
                    by: EndedBy::Agent,
                    reason: EndReason::Resolved,
                }),
                "switchboard:passControl" => {
                    let to = str_at(payload, &["switchboardIntegration", "name"]);
                    if to.is_some_and(|to| to != self.inner.config.switchboard_integration) {
                        out.push(DeskEvent::Ended {
                            by: EndedBy::Agent,
                            reason: dedup::hand_back(payload.get("metadata").and_then(Value::as_object)),
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }
}

/// A business author (the agent) as an agent profile: Sunshine Conversations gives a display
/// name (and an avatar), not the agent's Zendesk id.
fn agent_of(author: Option<&Value>) -> Result<AgentProfile, DeskError> {
    let name = author
        .and_then(|author| author.get("displayName"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("Agent");
    let name: String = name.chars().take(200).collect();
    Ok(AgentProfile {
        id: AgentId::parse(&format!("zendesk-{name}"))?,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_id_carries_the_conversation_and_the_user() {
        let chat = ChatId::parse("c0ffee:beef01").unwrap();
        assert_eq!(parse_chat(&chat).unwrap(), ("c0ffee".to_owned(), "beef01".to_owned()));
        for bad in ["c0ffee", "c0ffee:", ":beef", "a/b:c", "a:b/../c"] {
            assert!(parse_chat(&ChatId::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }
}
