//! The webhook desk (`kind = "webhook"`): a documented protocol for a desk that is a team's own
//! software (`docs/desks/webhook.md`). Baton POSTs [`ToDesk`] events to the desk's URL; the
//! desk POSTs [`FromDesk`] events to Baton's webhook router, which hands them to
//! [`WebhookDesk::receive`](baton_desk::WebhookReceiver::receive). Both ways are signed with
//! the shared secret (`crate::signing`) and carry an event id.
//!
//! - The chat's id is Baton's transfer id, so the desk needs nothing from Baton but the events.
//! - Opening a chat (`chat.requested`) is delivered before `start_chat` returns, so a desk that
//!   is down fails the call and the transfer can go to the next desk. Everything after it goes
//!   through one outbox per chat, in order, retried by the desk's [`Guard`]; a call that still
//!   fails is reported on the chat as `Error(MessageFailed)`.
//! - Received event ids are remembered (the last [`SEEN_IDS`]) and a repeat is dropped; a call
//!   older than the replay window is refused by its signature, so the two together drop every
//!   duplicate while the process runs.
//! - Availability is what the desk last said in `availability` events; until it says anything
//!   it is unknown (and a transfer is tried).

pub mod protocol;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::mpsc;

use baton_desk::{
    AgentMessage, AgentProfile, Availability, Capabilities, Chat, ChatId, ChatRequest, ChatResume, CustomerMessage,
    DeskError, DeskErrorKind, DeskEvent, DeskFuture, EndReason, EndedBy, MessageId, Online, QueueName, ServiceDesk,
    WebhookOutcome, WebhookReceiver, WebhookRequest,
};

use crate::dedup::SeenIds;
use crate::guard::{Guard, Policy};
use crate::signing;
use protocol::{CustomerEndReason, Envelope, FromDesk, ToDesk};

/// How many received event ids are remembered per desk.
pub const SEEN_IDS: usize = 20_000;

/// The `[desks.NAME]` table of a webhook desk (the server resolves `secret_env` or
/// `secret_file` into `secret`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where Baton POSTs its events (`http://` or `https://`).
    pub url: String,
    /// The shared secret both ways sign with.
    pub secret: String,
    /// Timeouts, retries and the circuit breaker for calls to the desk.
    #[serde(default)]
    pub retry: Policy,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &"…")
            .field("retry", &self.retry)
            .finish()
    }
}

/// The keys of [`WebhookConfig`] that are secrets: never accepted as plain values in a file.
pub const SECRET_KEYS: &[&str] = &["secret"];

/// A desk reached by signed webhooks.
pub struct WebhookDesk {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    url: reqwest::Url,
    secret: Vec<u8>,
    guard: Guard,
    chats: Mutex<HashMap<ChatId, OpenChat>>,
    seen: Mutex<SeenIds>,
    /// What the desk last said, per queue ("" for the whole desk).
    availability: Mutex<HashMap<String, protocol::AvailabilityUpdate>>,
}

struct OpenChat {
    events: mpsc::UnboundedSender<DeskEvent>,
    outbox: mpsc::UnboundedSender<ToDesk>,
}

impl WebhookDesk {
    pub fn new(name: &str, config: WebhookConfig) -> Result<WebhookDesk, DeskError> {
        let url = reqwest::Url::parse(&config.url)
            .map_err(|error| DeskError::Config(format!("desk {name}: url {:?}: {error}", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DeskError::Config(format!(
                "desk {name}: url must be http:// or https://, not {url}"
            )));
        }
        if config.secret.len() < 16 {
            return Err(DeskError::Config(format!(
                "desk {name}: the secret must be at least 16 characters (it has {})",
                config.secret.len()
            )));
        }
        Ok(WebhookDesk {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                url,
                secret: config.secret.into_bytes(),
                guard: Guard::new(name, config.retry)?,
                chats: Mutex::new(HashMap::new()),
                seen: Mutex::new(SeenIds::new(SEEN_IDS)),
                availability: Mutex::new(HashMap::new()),
            }),
        })
    }

    fn chat_events(&self, chat: &ChatId) -> Option<mpsc::UnboundedSender<DeskEvent>> {
        let chats = self.inner.chats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        chats.get(chat).map(|open| open.events.clone())
    }

    fn enqueue(&self, chat: &ChatId, event: ToDesk) -> Result<(), DeskError> {
        let chats = self.inner.chats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let open = chats.get(chat).ok_or_else(|| DeskError::UnknownChat(chat.clone()))?;
        open.outbox
            .send(event)
            .map_err(|_| DeskError::UnknownChat(chat.clone()))
    }

    /// Registers a chat and starts its outbox.
    fn open(&self, chat: &ChatId) -> Chat {
        let (events, receiver) = mpsc::unbounded_channel();
        let (outbox, pending) = mpsc::unbounded_channel();
        let inner = self.inner.clone();
        tokio::spawn(deliver(inner, chat.clone(), pending, events.clone()));
        let mut chats = self.inner.chats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        chats.insert(chat.clone(), OpenChat { events, outbox });
        Chat {
            id: chat.clone(),
            events: receiver,
        }
    }
}

impl Inner {
    /// Delivers one event now (with the guard's retries).
    async fn post(&self, chat: Option<&ChatId>, event: ToDesk) -> Result<(), DeskError> {
        let envelope = Envelope {
            id: uuid::Uuid::new_v4().to_string(),
            version: protocol::VERSION,
            created_at: Utc::now(),
            chat_id: chat.map(ToString::to_string),
            event,
        };
        let body = serde_json::to_vec(&envelope).map_err(|error| DeskError::Desk(error.to_string()))?;
        self.guard
            .send(|client| {
                // Signed at each attempt, so a retry after a long backoff is still in the window.
                let signature = signing::sign(&self.secret, Utc::now().timestamp(), &body);
                client
                    .post(self.url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(signing::HEADER, signature)
                    .header("baton-event-id", envelope.id.as_str())
                    .body(body.clone())
            })
            .await
            .map(drop)
    }
}

/// One chat's outbox: its events in order, each retried by the guard; a failure is reported on
/// the chat. Ends when the chat is closed and the outbox is empty.
async fn deliver(
    inner: Arc<Inner>,
    chat: ChatId,
    mut pending: mpsc::UnboundedReceiver<ToDesk>,
    events: mpsc::UnboundedSender<DeskEvent>,
) {
    while let Some(event) = pending.recv().await {
        // Only a lost customer message is worth telling the customer's side about.
        let is_message = matches!(event, ToDesk::CustomerMessage { .. });
        if let Err(error) = inner.post(Some(&chat), event).await {
            tracing::warn!(desk = %inner.name, chat = %chat, %error, "an event for the desk was not delivered");
            if is_message {
                let _ = events.send(DeskEvent::Error(DeskErrorKind::MessageFailed));
            }
        }
    }
}

impl ServiceDesk for WebhookDesk {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            agent_typing: true,
            customer_typing: true,
            agent_read: true,
            customer_read: true,
            queue_position: true,
            estimated_wait: true,
            transfer_events: true,
            customer_end: true,
            files: false,
            resume: true,
            offers: false,
        }
    }

    fn availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move {
            let known = self
                .inner
                .availability
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let update = queue
                .and_then(|queue| known.get(queue.as_str()))
                .or_else(|| known.get(""));
            let online = match update.and_then(|update| update.online_agents) {
                _ if self.inner.guard.is_open() => Online::No,
                Some(0) => Online::No,
                Some(_) => Online::Yes,
                None => Online::Unknown,
            };
            Ok(Availability {
                online,
                position: update.and_then(|update| update.queue_position),
                estimated_wait: update
                    .and_then(|update| update.wait_seconds)
                    .map(std::time::Duration::from_secs),
                offline_policy: None,
            })
        })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let chat = ChatId::parse(request.transfer.as_str())?;
            let event = ToDesk::ChatRequested(Box::new(protocol::chat_requested(&request)));
            // The chat is registered, and queued, before the desk is asked: a desk may post
            // `agent.joined` before it has answered this call, and that event must find the
            // chat and come after `Queued`.
            let opened = self.open(&chat);
            if let Some(events) = self.chat_events(&chat) {
                let _ = events.send(DeskEvent::Queued {
                    position: None,
                    wait: None,
                    note: None,
                });
            }
            if let Err(error) = self.inner.post(Some(&chat), event).await {
                // Dropping the chat closes its outbox, which is empty.
                let mut chats = self.inner.chats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                chats.remove(&chat);
                return Err(error);
            }
            Ok(opened)
        })
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            self.enqueue(
                chat,
                ToDesk::CustomerMessage {
                    message_id: message.id.to_string(),
                    text: message.text,
                },
            )
        })
    }

    fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, ToDesk::CustomerTyping { typing }) })
    }

    fn customer_read<'a>(&'a self, chat: &'a ChatId, up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            self.enqueue(
                chat,
                ToDesk::CustomerRead {
                    up_to: up_to.to_string(),
                },
            )
        })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            let reason = match reason {
                EndReason::Cancelled => CustomerEndReason::Cancelled,
                EndReason::CustomerLeft => CustomerEndReason::CustomerLeft,
                EndReason::JoinTimedOut => CustomerEndReason::JoinTimedOut,
                _ => CustomerEndReason::Other,
            };
            self.enqueue(chat, ToDesk::ChatEndedByCustomer { reason })?;
            // Dropping the chat closes its outbox after this last event.
            let mut chats = self.inner.chats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            chats.remove(chat);
            Ok(())
        })
    }

    fn resume(&self, chat: ChatResume) -> DeskFuture<'_, Chat> {
        // The desk keeps the chat on its side; Baton only listens again.
        Box::pin(async move { Ok(self.open(&chat.chat)) })
    }

    fn webhook(&self) -> Option<&dyn WebhookReceiver> {
        Some(self)
    }
}

impl WebhookReceiver for WebhookDesk {
    fn receive<'a>(&'a self, request: WebhookRequest<'a>) -> DeskFuture<'a, WebhookOutcome> {
        Box::pin(async move { self.receive_now(request, Utc::now()) })
    }
}

impl WebhookDesk {
    /// [`WebhookReceiver::receive`] at `now`: verify, parse, drop a duplicate, apply.
    pub fn receive_now(&self, request: WebhookRequest<'_>, now: DateTime<Utc>) -> Result<WebhookOutcome, DeskError> {
        signing::verify(
            &self.inner.secret,
            request.header(signing::HEADER),
            request.body,
            now.timestamp(),
        )?;
        let envelope: Envelope<FromDesk> = serde_json::from_slice(request.body)
            .map_err(|error| DeskError::BadEvent(format!("not a webhook desk event: {error}")))?;
        if envelope.version != protocol::VERSION {
            return Err(DeskError::BadEvent(format!(
                "protocol version {} is not supported (this server speaks {})",
                envelope.version,
                protocol::VERSION
            )));
        }
        if envelope.id.is_empty() || envelope.id.chars().count() > 200 {
            return Err(DeskError::BadEvent("id must be 1 to 200 characters".to_owned()));
        }
        let chat = envelope.chat_id.as_deref().map(ChatId::parse).transpose()?;
        // An unknown chat is checked before the id is remembered, so the desk may retry it.
        let events = match &chat {
            Some(chat) => Some(
                self.chat_events(chat)
                    .ok_or_else(|| DeskError::UnknownChat(chat.clone()))?,
            ),
            None => None,
        };
        let translated = translate(envelope.event.clone(), envelope.created_at)?;
        {
            let mut seen = self.inner.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !seen.insert(&envelope.id) {
                return Ok(WebhookOutcome::Duplicate);
            }
        }
        match (translated, events) {
            (Translated::Availability(update), events) => {
                let says_where = update.queue_position.is_some() || update.wait_seconds.is_some();
                if let Some(events) = events.filter(|_| says_where) {
                    let _ = events.send(DeskEvent::Queued {
                        position: update.queue_position,
                        wait: update.wait_seconds.map(std::time::Duration::from_secs),
                        note: None,
                    });
                }
                if chat.is_none() || update.online_agents.is_some() {
                    let key = update.queue.clone().unwrap_or_default();
                    let mut known = self
                        .inner
                        .availability
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    known.insert(key, update);
                }
                Ok(WebhookOutcome::Accepted { events: 1 })
            }
            (Translated::Chat(event), Some(events)) => {
                let ends = matches!(event, DeskEvent::Ended { .. });
                let _ = events.send(event);
                if let (true, Some(chat)) = (ends, &chat) {
                    let mut chats = self.inner.chats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    chats.remove(chat);
                }
                Ok(WebhookOutcome::Accepted { events: 1 })
            }
            (Translated::Chat(_), None) => Err(DeskError::BadEvent("this event needs a chat_id".to_owned())),
        }
    }
}

enum Translated {
    Chat(DeskEvent),
    Availability(protocol::AvailabilityUpdate),
}

fn profile(agent: protocol::Agent) -> Result<AgentProfile, DeskError> {
    let name = agent.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DeskError::BadEvent("agent.name must be 1 to 200 characters".to_owned()));
    }
    Ok(AgentProfile {
        id: baton_desk::AgentId::parse(&agent.id)?,
        name: name.to_owned(),
    })
}

fn translate(event: FromDesk, at: DateTime<Utc>) -> Result<Translated, DeskError> {
    let event = match event {
        FromDesk::AgentJoined { agent } => DeskEvent::AgentJoined(profile(agent)?),
        FromDesk::AgentMessage {
            message_id,
            text,
            agent,
        } => {
            if text.trim().is_empty() || text.chars().count() > 10_000 {
                return Err(DeskError::BadEvent(
                    "agent.message text must be 1 to 10,000 characters".to_owned(),
                ));
            }
            DeskEvent::AgentMessage(AgentMessage {
                id: MessageId::parse(&message_id)?,
                at,
                agent: profile(agent)?,
                text,
            })
        }
        FromDesk::AgentTyping { typing } => DeskEvent::AgentTyping(typing),
        FromDesk::AgentRead { up_to } => DeskEvent::AgentRead {
            up_to: MessageId::parse(&up_to)?,
        },
        FromDesk::TransferStarted { agent } => DeskEvent::TransferStarted(profile(agent)?),
        FromDesk::AgentLeft {} => DeskEvent::AgentLeft,
        FromDesk::ChatEnded(ended) => DeskEvent::Ended {
            by: EndedBy::Agent,
            reason: match ended.disposition {
                protocol::Disposition::Resolved => EndReason::Resolved,
                protocol::Disposition::HandBack => EndReason::HandBack {
                    resume: ended.resume_action,
                    variables: ended.variables,
                },
            },
        },
        FromDesk::Availability(update) => return Ok(Translated::Availability(update)),
    };
    Ok(Translated::Chat(event))
}
