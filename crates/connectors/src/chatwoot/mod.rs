//! The Chatwoot desk (`kind = "chatwoot"`): agents work in Chatwoot, on an API-channel inbox
//! that Baton feeds (`docs/desks/chatwoot.md`). Written from Chatwoot's developer documentation:
//! "Client APIs" (the public API of an API-channel inbox: contacts, conversations, messages,
//! typing, last seen, status), "Application APIs" (conversations, messages, status, assignments,
//! inbox members) and "Webhooks" (events, and their signature: `X-Chatwoot-Signature:
//! sha256=HEX`, the HMAC-SHA256 of `"{X-Chatwoot-Timestamp}.{body}"` under the inbox's webhook
//! secret, with `X-Chatwoot-Delivery` naming each delivery).
//!
//! - A transfer makes a contact and a `pending` conversation in the inbox, posts the transcript
//!   into it (the customer's lines as incoming messages, the assistant's as outgoing ones), the
//!   brief as a private note and as custom attributes, assigns the queue's team, and opens the
//!   conversation (`pending` → `open`), which puts it in the agents' queue. The chat id is
//!   `{conversation id}:{contact source id}`, all a restart needs.
//! - The customer's messages, typing, reads and leaving go through the public API as that
//!   contact, in order, through one outbox per chat.
//! - From the inbox's webhook: an agent's (`sender.type == "user"`) public outgoing message, the
//!   assignee (agent joined, or another agent took over), typing, and the status: `resolved`
//!   ends the chat, back to `pending` hands the customer back to the assistant (with the action
//!   and variables the agent set as the custom attributes `baton_resume` and `baton_var_*`).
//!   Deliveries are verified before anything else, duplicates (same delivery id) are dropped, and
//!   a message that arrives before its assignment counts as the agent joining.
//! - Availability is the inbox members' `availability_status`, when an administrator's token is
//!   given for it; otherwise it is unknown and a transfer is tried.

use std::collections::BTreeMap;
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

/// The signature headers of Chatwoot's webhooks.
pub const SIGNATURE_HEADER: &str = "x-chatwoot-signature";
pub const TIMESTAMP_HEADER: &str = "x-chatwoot-timestamp";
pub const DELIVERY_HEADER: &str = "x-chatwoot-delivery";

/// How many delivery ids are remembered to drop duplicates.
const SEEN_DELIVERIES: usize = 20_000;

/// A Chatwoot desk's settings, secrets resolved (the server reads them from `*_env` or `*_file`).
#[derive(Clone)]
pub struct ChatwootConfig {
    /// The Chatwoot installation, `https://chatwoot.example.com`.
    pub url: String,
    pub account_id: u64,
    /// The API-channel inbox's numeric id (Application API) and identifier (public API).
    pub inbox_id: u64,
    pub inbox_identifier: String,
    /// An Agent Bot's access token (connected to the inbox): it posts the transcript and brief,
    /// opens and assigns conversations.
    pub api_access_token: String,
    /// The inbox's webhook secret, which signs its webhook deliveries.
    pub webhook_secret: String,
    /// An administrator's access token, to read the inbox members' availability (optional).
    pub agents_token: Option<String>,
    /// The team each queue goes to (`queue name → team id`).
    pub teams: BTreeMap<String, u64>,
    pub retry: Policy,
}

impl std::fmt::Debug for ChatwootConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatwootConfig")
            .field("url", &self.url)
            .field("account_id", &self.account_id)
            .field("inbox_id", &self.inbox_id)
            .field("inbox_identifier", &self.inbox_identifier)
            .field("api_access_token", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .field("agents_token", &self.agents_token.as_ref().map(|_| "[redacted]"))
            .field("teams", &self.teams)
            .field("retry", &self.retry)
            .finish()
    }
}

/// A desk on a Chatwoot inbox.
pub struct ChatwootDesk {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    base: reqwest::Url,
    config: ChatwootConfig,
    guard: Guard,
    /// Open chats by conversation id.
    chats: Chats<Outgoing>,
    seen: Mutex<SeenIds>,
}

/// A customer call for the desk, in order.
enum Outgoing {
    Message(CustomerMessage),
    Typing(bool),
    Read,
    Resolve,
}

/// `{conversation}:{source_id}` → both parts.
fn parse_chat(chat: &ChatId) -> Result<(u64, String), DeskError> {
    chat.as_str()
        .split_once(':')
        .and_then(|(conversation, source)| Some((conversation.parse().ok()?, source.to_owned())))
        .filter(|(_, source)| !source.is_empty())
        .ok_or_else(|| DeskError::UnknownChat(chat.clone()))
}

impl ChatwootDesk {
    pub fn new(name: &str, config: ChatwootConfig) -> Result<ChatwootDesk, DeskError> {
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
        if config.inbox_identifier.trim().is_empty() {
            return Err(DeskError::Config(format!("desk {name}: inbox_identifier is empty")));
        }
        Ok(ChatwootDesk {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                base,
                guard: Guard::new(name, config.retry.clone())?,
                config,
                chats: Chats::default(),
                seen: Mutex::new(SeenIds::new(SEEN_DELIVERIES)),
            }),
        })
    }

    /// Registers a chat and starts its outbox.
    fn open(&self, conversation: u64, source_id: &str, agent: Option<AgentProfile>, queued: bool) -> Chat {
        let chat = ChatId::parse(&format!("{conversation}:{source_id}")).unwrap_or_else(|_| unreachable!("a valid id"));
        let inner = self.inner.clone();
        let source_id = source_id.to_owned();
        let events = self.inner.chats.open(
            &conversation.to_string(),
            (chat.clone(), agent, ()),
            queued,
            move |call| {
                let (inner, source_id) = (inner.clone(), source_id.clone());
                async move { deliver(&inner, conversation, &source_id, call).await }
            },
        );
        Chat { id: chat, events }
    }

    fn enqueue(&self, chat: &ChatId, call: Outgoing) -> Result<(), DeskError> {
        let (conversation, _) = parse_chat(chat)?;
        self.inner.chats.enqueue(&conversation.to_string(), chat, call)
    }
}

impl Inner {
    fn url(&self, path: &str) -> Result<reqwest::Url, DeskError> {
        self.base
            .join(path)
            .map_err(|error| DeskError::Desk(format!("chatwoot: {path}: {error}")))
    }

    /// A JSON call; `token` is sent as `api_access_token` (the Application API), none for the
    /// public API. The answer's JSON (`Null` when there is none).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, DeskError> {
        let url = self.url(path)?;
        self.guard
            .send_json(&format!("chatwoot: {path}"), |client| {
                let mut request = client.request(method.clone(), url.clone());
                if let Some(token) = token {
                    request = request.header("api_access_token", token);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            })
            .await
    }

    async fn app(&self, method: Method, rest: &str, body: Option<&Value>) -> Result<Value, DeskError> {
        let path = format!("api/v1/accounts/{}/{rest}", self.config.account_id);
        self.call(method, &path, Some(&self.config.api_access_token), body)
            .await
    }

    async fn public(&self, method: Method, rest: &str, body: Option<&Value>) -> Result<Value, DeskError> {
        let path = format!("public/api/v1/inboxes/{}/{rest}", self.config.inbox_identifier);
        self.call(method, &path, None, body).await
    }
}

/// One customer call through the public API, as the chat's outbox sends it.
async fn deliver(inner: &Inner, conversation: u64, source_id: &str, call: Outgoing) -> Outcome {
    let base = format!("contacts/{source_id}/conversations/{conversation}");
    let (rest, body, is_message) = match call {
        // "Create a message" (public API); `echo_id` lets a client match its own message.
        Outgoing::Message(message) => (
            format!("{base}/messages"),
            json!({"content": message.text, "echo_id": message.id.as_str()}),
            true,
        ),
        Outgoing::Typing(typing) => (
            format!("{base}/toggle_typing"),
            json!({"typing_status": if typing { "on" } else { "off" }}),
            false,
        ),
        Outgoing::Read => (format!("{base}/update_last_seen"), json!({}), false),
        Outgoing::Resolve => (format!("{base}/toggle_status"), json!({}), false),
    };
    Outcome::of(
        inner.public(Method::POST, &rest, Some(&body)).await.map(drop),
        is_message,
    )
}

/// The first line of the brief, then its parts: what the agent reads in the private note.
fn brief_note(request: &ChatRequest) -> String {
    let mut note = String::from("Baton: this customer asks for an agent.\n");
    if !request.brief.summary.trim().is_empty() {
        note.push_str(request.brief.summary.trim());
        note.push('\n');
    }
    if let Some(url) = &request.transcript_url {
        note.push_str(&format!("Transcript: {url}\n"));
    }
    note.push_str(&format!(
        "To hand the customer back to the assistant, set the conversation to pending (optionally with the custom attribute {} = an action id, and {}NAME = a value).",
        dedup::RESUME_KEY,
        dedup::VARIABLE_PREFIX
    ));
    note
}

fn customer_name(request: &ChatRequest) -> String {
    request
        .customer
        .name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .map_or_else(
            || format!("Customer {}", request.session),
            |name| name.trim().to_owned(),
        )
}

impl ServiceDesk for ChatwootDesk {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            agent_typing: true,
            customer_typing: true,
            agent_read: false,
            customer_read: true,
            queue_position: false,
            estimated_wait: false,
            transfer_events: true,
            customer_end: true,
            files: false,
            resume: true,
            offers: false,
        }
    }

    fn availability<'a>(&'a self, _queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move {
            let Some(token) = &self.inner.config.agents_token else {
                return Ok(unknown());
            };
            if self.inner.guard.is_open() {
                return Ok(online_if(false));
            }
            // "List agents in inbox": each member with `availability_status`.
            let path = format!(
                "api/v1/accounts/{}/inbox_members/{}",
                self.inner.config.account_id, self.inner.config.inbox_id
            );
            let members = self.inner.call(Method::GET, &path, Some(token), None).await?;
            let list = members
                .get("payload")
                .and_then(Value::as_array)
                .ok_or_else(|| DeskError::Desk("chatwoot: inbox_members answered without payload".into()))?;
            Ok(online_if(list.iter().any(|agent| {
                agent.get("availability_status").and_then(Value::as_str) == Some("online")
            })))
        })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let inner = &self.inner;
            // "Create a contact" (public API): the contact's source id names it from now on.
            let contact = inner
                .public(
                    Method::POST,
                    "contacts",
                    Some(&json!({
                        "name": customer_name(&request),
                        "custom_attributes": {"baton_session": request.session.as_str()},
                    })),
                )
                .await?;
            let source_id = contact
                .get("source_id")
                .and_then(Value::as_str)
                .filter(|source| !source.is_empty() && !source.contains(char::is_control))
                .ok_or_else(|| DeskError::Desk("chatwoot: the new contact has no source_id".into()))?
                .to_owned();
            let contact_id = contact.get("id").and_then(Value::as_u64);
            let mut attributes = json!({
                "baton_transfer": request.transfer.as_str(),
                "baton_session": request.session.as_str(),
            });
            if let Some(url) = &request.transcript_url {
                attributes["baton_history_url"] = json!(url);
            }
            if let Some(queue) = &request.routing.queue {
                attributes["baton_queue"] = json!(queue.as_str());
            }
            // "Create a conversation" (Application API), pending until the history is in.
            let mut body = json!({
                "source_id": source_id,
                "inbox_id": inner.config.inbox_id,
                "status": "pending",
                "custom_attributes": attributes,
            });
            if let Some(contact_id) = contact_id {
                body["contact_id"] = json!(contact_id);
            }
            let conversation = inner.app(Method::POST, "conversations", Some(&body)).await?;
            let conversation = conversation
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| DeskError::Desk("chatwoot: the new conversation has no id".into()))?;
            let messages = format!("conversations/{conversation}/messages");
            for line in &request.transcript {
                let kind = match line.speaker {
                    Speaker::Customer => "incoming",
                    _ => "outgoing",
                };
                let body = json!({"content": line.text, "message_type": kind, "private": false});
                inner.app(Method::POST, &messages, Some(&body)).await?;
            }
            let note = json!({"content": brief_note(&request), "message_type": "outgoing", "private": true});
            inner.app(Method::POST, &messages, Some(&note)).await?;
            // Registered before the conversation opens: an agent may take it at once.
            let chat = self.open(conversation, &source_id, None, true);
            let team = request
                .routing
                .queue
                .as_ref()
                .and_then(|queue| inner.config.teams.get(queue.as_str()));
            let opened = async {
                if let Some(team) = team {
                    let path = format!("conversations/{conversation}/assignments");
                    inner.app(Method::POST, &path, Some(&json!({"team_id": team}))).await?;
                }
                let path = format!("conversations/{conversation}/toggle_status");
                inner.app(Method::POST, &path, Some(&json!({"status": "open"}))).await
            }
            .await;
            if let Err(error) = opened {
                inner.chats.remove(&conversation.to_string());
                return Err(error);
            }
            tracing::info!(desk = %inner.name, conversation, transfer = %request.transfer, "chatwoot conversation opened");
            Ok(chat)
        })
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Message(message)) })
    }

    fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Typing(typing)) })
    }

    fn customer_read<'a>(&'a self, chat: &'a ChatId, _up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Read) })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, _reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            self.enqueue(chat, Outgoing::Resolve)?;
            let (conversation, _) = parse_chat(chat)?;
            // Dropping the chat closes its outbox after this last call.
            self.inner.chats.remove(&conversation.to_string());
            Ok(())
        })
    }

    fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let (conversation, source_id) = parse_chat(&resume.chat)?;
            // "Get a conversation": where it stands now, in case it moved while Baton was down.
            let now = self
                .inner
                .app(Method::GET, &format!("conversations/{conversation}"), None)
                .await
                .map_err(|error| match error {
                    DeskError::Refused { status: 404, .. } => DeskError::UnknownChat(resume.chat.clone()),
                    other => other,
                })?;
            let assignee = assignee_of(&now);
            let known = resume.agent.clone();
            let agent = assignee.clone().filter(|_| known.is_some());
            let chat = self.open(conversation, &source_id, agent, false);
            let status = now.get("status").and_then(Value::as_str).unwrap_or_default().to_owned();
            self.inner.chats.apply(&conversation.to_string(), |open, out| {
                match (status.as_str(), assignee) {
                    ("resolved", _) => out.push(DeskEvent::Ended {
                        by: EndedBy::Agent,
                        reason: EndReason::Resolved,
                    }),
                    (_, Some(agent)) if known.as_ref() != Some(&agent.id) => open.taken_by(agent, out),
                    _ => {}
                }
                Ok(())
            })?;
            Ok(chat)
        })
    }

    fn webhook(&self) -> Option<&dyn WebhookReceiver> {
        Some(self)
    }
}

/// The assignee of a conversation object (`meta.assignee`), as an agent.
fn assignee_of(conversation: &Value) -> Option<AgentProfile> {
    let assignee = conversation.get("meta")?.get("assignee")?;
    agent_of(assignee)
}

/// A Chatwoot user (`{id, name, available_name}`) as an agent.
fn agent_of(user: &Value) -> Option<AgentProfile> {
    let id = user.get("id").and_then(Value::as_u64)?;
    let name = user
        .get("available_name")
        .or_else(|| user.get("name"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("Agent");
    Some(AgentProfile {
        id: AgentId::parse(&format!("chatwoot-{id}")).ok()?,
        name: name.chars().take(200).collect(),
    })
}

impl WebhookReceiver for ChatwootDesk {
    fn receive<'a>(&'a self, request: WebhookRequest<'a>) -> DeskFuture<'a, WebhookOutcome> {
        Box::pin(async move { self.receive_now(request, Utc::now()) })
    }
}

impl ChatwootDesk {
    /// [`WebhookReceiver::receive`] at `now`: verify, parse, drop a duplicate, translate.
    pub fn receive_now(&self, request: WebhookRequest<'_>, now: DateTime<Utc>) -> Result<WebhookOutcome, DeskError> {
        let signature = request
            .header(SIGNATURE_HEADER)
            .map(|value| value.trim().strip_prefix("sha256=").unwrap_or(value));
        signing::verify_timestamped(
            self.inner.config.webhook_secret.as_bytes(),
            request.header(TIMESTAMP_HEADER),
            signature,
            request.body,
            now.timestamp(),
            ("X-Chatwoot-Timestamp", "X-Chatwoot-Signature"),
        )?;
        let payload: Value =
            serde_json::from_slice(request.body).map_err(|error| DeskError::BadEvent(format!("not JSON: {error}")))?;
        let event = payload
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| DeskError::BadEvent("no \"event\" name".to_owned()))?;
        // The delivery id when Chatwoot sends one; otherwise the event and what it is about.
        let delivery = match request.header(DELIVERY_HEADER) {
            Some(id) if !id.trim().is_empty() && id.len() <= 200 => id.trim().to_owned(),
            _ => format!(
                "{event}:{}:{}",
                payload.get("id").map(Value::to_string).unwrap_or_default(),
                signing::digest_hex(b"chatwoot-delivery", request.body)
            ),
        };
        if !lock(&self.inner.seen).insert(&delivery) {
            return Ok(WebhookOutcome::Duplicate);
        }
        let events = self.translate(event, &payload, now)?;
        Ok(WebhookOutcome::Accepted { events })
    }

    /// Applies one event to its chat; how many chat events it made (0 for a conversation that
    /// is not one of Baton's open chats, or an event that says nothing to the customer).
    fn translate(&self, event: &str, payload: &Value, now: DateTime<Utc>) -> Result<usize, DeskError> {
        let conversation_id = match event {
            "message_created" | "conversation_typing_on" | "conversation_typing_off" => payload
                .get("conversation")
                .and_then(|conversation| conversation.get("id"))
                .and_then(Value::as_u64),
            "conversation_updated" | "conversation_status_changed" => payload.get("id").and_then(Value::as_u64),
            _ => return Ok(0),
        }
        .ok_or_else(|| DeskError::BadEvent(format!("{event} without a conversation id")))?;
        self.inner.chats.apply(&conversation_id.to_string(), |open, out| {
            match event {
                "message_created" => {
                    let outgoing = payload.get("message_type").and_then(Value::as_str) == Some("outgoing")
                        || payload.get("message_type").and_then(Value::as_u64) == Some(1);
                    let private = payload.get("private").and_then(Value::as_bool).unwrap_or(false);
                    let sender = payload.get("sender");
                    let by_user = sender.and_then(|sender| sender.get("type")).and_then(Value::as_str) == Some("user");
                    if outgoing && !private && by_user {
                        let agent = sender
                            .and_then(agent_of)
                            .ok_or_else(|| DeskError::BadEvent("message_created: sender without an id".to_owned()))?;
                        let id = payload
                            .get("id")
                            .and_then(Value::as_u64)
                            .ok_or_else(|| DeskError::BadEvent("message_created without a message id".to_owned()))?;
                        let text = payload
                            .get("content")
                            .and_then(Value::as_str)
                            .map(str::trim)
                            .filter(|text| !text.is_empty())
                            .unwrap_or("(the agent sent an attachment, which this chat cannot show)");
                        // Webhooks are not ordered: a message before its assignment is the agent
                        // joining.
                        open.taken_by(agent.clone(), out);
                        out.push(DeskEvent::AgentMessage(AgentMessage {
                            id: MessageId::parse(&format!("chatwoot-{id}"))?,
                            at: now,
                            agent,
                            text: text.chars().take(10_000).collect(),
                        }));
                    }
                }
                "conversation_typing_on" | "conversation_typing_off" => {
                    let private = payload.get("is_private").and_then(Value::as_bool).unwrap_or(false);
                    let by_agent = payload.get("user").and_then(agent_of).is_some()
                        && payload
                            .get("user")
                            .and_then(|user| user.get("type"))
                            .and_then(Value::as_str)
                            .is_none_or(|kind| kind == "user");
                    if by_agent && !private {
                        out.push(DeskEvent::AgentTyping(event == "conversation_typing_on"));
                    }
                }
                "conversation_updated" => {
                    let status = payload.get("status").and_then(Value::as_str).unwrap_or("open");
                    if status == "open"
                        && let Some(agent) = assignee_of(payload)
                    {
                        open.taken_by(agent, out);
                    }
                }
                "conversation_status_changed" => match payload.get("status").and_then(Value::as_str) {
                    Some("resolved") => out.push(DeskEvent::Ended {
                        by: EndedBy::Agent,
                        reason: EndReason::Resolved,
                    }),
                    Some("pending") => out.push(DeskEvent::Ended {
                        by: EndedBy::Agent,
                        reason: hand_back(payload),
                    }),
                    _ => {}
                },
                _ => {}
            }
            Ok(())
        })
    }
}

/// The hand-back the agent set up in the conversation's custom attributes.
fn hand_back(conversation: &Value) -> EndReason {
    dedup::hand_back(conversation.get("custom_attributes").and_then(Value::as_object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_id_carries_the_conversation_and_the_contact() {
        let chat = ChatId::parse("42:abc-123").unwrap();
        assert_eq!(parse_chat(&chat).unwrap(), (42, "abc-123".to_owned()));
        for bad in ["42", "x:abc", "42:", ":abc"] {
            assert!(parse_chat(&ChatId::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hand_back_reads_the_action_and_variables_the_agent_set() {
        let conversation = json!({"custom_attributes": {
            "baton_resume": "pay_bill", "baton_var_amount": 42, "baton_var_": 1, "other": "x"}});
        assert_eq!(
            hand_back(&conversation),
            EndReason::HandBack {
                resume: Some("pay_bill".into()),
                variables: BTreeMap::from([("amount".to_owned(), json!(42))]),
            }
        );
        assert_eq!(
            hand_back(&json!({})),
            EndReason::HandBack {
                resume: None,
                variables: BTreeMap::new()
            }
        );
    }
}
