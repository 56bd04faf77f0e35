//! The Twilio Flex desk (`kind = "twilio_flex"`): agents work in Flex, on a conversation of the
//! Flex Conversations service that Baton opens and routes with the Interactions API
//! (`docs/desks/twilio-flex.md`). Written from Twilio's documentation: the Conversations API
//! (Conversation, Participant and Message resources, form-encoded, HTTP Basic with the account
//! SID and auth token), "Conversations Webhooks" (post-event webhooks: `onMessageAdded`,
//! `onParticipantAdded`, `onParticipantRemoved`, `onConversationUpdated`; REST-made changes fire
//! none unless asked), "Interactions" (`POST /v1/Interactions` with `Channel` and `Routing`, the
//! interaction channel closed with `Status=closed`), TaskRouter's `RealTimeStatistics`, and
//! "Webhooks security" (`X-Twilio-Signature`, `I-Twilio-Idempotency-Token`).
//!
//! - A transfer makes a conversation in the Flex Conversations service, adds the customer as a
//!   participant (`baton-{session}`), posts the transcript, and creates an interaction whose task
//!   carries the brief, the history link and the queue as attributes for TaskRouter. The chat id
//!   is `{conversation}:{interaction}:{interaction channel}`.
//! - The customer's messages go to the conversation as that participant, in order; leaving
//!   closes the interaction channel. The Conversations REST API has no typing or read for a
//!   participant, so neither is sent.
//! - From the service's post-event webhook (signature checked over the configured URL first, each
//!   idempotency token applied once): an agent participant added (joined; a second one is a
//!   transfer) or removed (left), an agent's message (which, arriving before the participant,
//!   counts as joining), and the conversation closed: resolved, or a hand-back when its attributes
//!   carry `baton_resume` / `baton_var_*`.

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

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
pub const IDEMPOTENCY_HEADER: &str = "i-twilio-idempotency-token";

const SEEN_DELIVERIES: usize = 20_000;

/// A Twilio Flex desk's settings, the auth token resolved.
#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
    /// The Flex Conversations service (`IS…`).
    pub conversations_service_sid: String,
    /// TaskRouter's workspace (`WS…`) and workflow (`WW…`) the interactions are routed with.
    pub workspace_sid: String,
    pub workflow_sid: String,
    /// The task channel, `chat` unless configured otherwise.
    pub task_channel: String,
    /// The exact URL Twilio posts the service's webhooks to (the signature covers it).
    pub webhook_url: String,
    /// Each queue's TaskRouter task queue (`WQ…`), for availability.
    pub task_queues: BTreeMap<String, String>,
    /// The API hosts (overridden only to reach a simulation).
    pub conversations_url: String,
    pub flex_url: String,
    pub taskrouter_url: String,
    pub retry: Policy,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"[redacted]")
            .field("conversations_service_sid", &self.conversations_service_sid)
            .field("workspace_sid", &self.workspace_sid)
            .field("workflow_sid", &self.workflow_sid)
            .field("task_channel", &self.task_channel)
            .field("webhook_url", &self.webhook_url)
            .field("task_queues", &self.task_queues)
            .finish_non_exhaustive()
    }
}

pub const CONVERSATIONS_URL: &str = "https://conversations.twilio.com";
pub const FLEX_URL: &str = "https://flex-api.twilio.com";
pub const TASKROUTER_URL: &str = "https://taskrouter.twilio.com";

/// A desk on Twilio Flex.
pub struct TwilioDesk {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    config: TwilioConfig,
    guard: Guard,
    /// Open chats by conversation SID.
    /// With the customer's participant identity.
    chats: Chats<Outgoing, String>,
    seen: Mutex<SeenIds>,
}

enum Outgoing {
    Message(CustomerMessage),
    /// Close the interaction's channel.
    Leave {
        interaction: String,
        channel: String,
    },
}

/// A Twilio SID: two letters and 32 hex digits (checked loosely: letters and digits).
fn valid_sid(sid: &str) -> bool {
    (2..=64).contains(&sid.len()) && sid.chars().all(|c| c.is_ascii_alphanumeric())
}

struct ChatParts {
    conversation: String,
    interaction: String,
    channel: String,
}

fn parse_chat(chat: &ChatId) -> Result<ChatParts, DeskError> {
    let mut parts = chat.as_str().split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(conversation), Some(interaction), Some(channel), None)
            if [conversation, interaction, channel].into_iter().all(valid_sid) =>
        {
            Ok(ChatParts {
                conversation: conversation.to_owned(),
                interaction: interaction.to_owned(),
                channel: channel.to_owned(),
            })
        }
        _ => Err(DeskError::UnknownChat(chat.clone())),
    }
}

fn customer_identity(request: &ChatRequest) -> String {
    format!("baton-{}", request.session)
}

impl TwilioDesk {
    pub fn new(name: &str, config: TwilioConfig) -> Result<TwilioDesk, DeskError> {
        for (key, sid) in [
            ("account_sid", &config.account_sid),
            ("conversations_service_sid", &config.conversations_service_sid),
            ("workspace_sid", &config.workspace_sid),
            ("workflow_sid", &config.workflow_sid),
        ] {
            if !valid_sid(sid) {
                return Err(DeskError::Config(format!(
                    "desk {name}: {key} {sid:?} is not a Twilio SID"
                )));
            }
        }
        for url in [
            &config.webhook_url,
            &config.conversations_url,
            &config.flex_url,
            &config.taskrouter_url,
        ] {
            let parsed = reqwest::Url::parse(url)
                .map_err(|error| DeskError::Config(format!("desk {name}: {url:?}: {error}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(DeskError::Config(format!(
                    "desk {name}: {url} is not http:// or https://"
                )));
            }
        }
        Ok(TwilioDesk {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                guard: Guard::new(name, config.retry.clone())?,
                config,
                chats: Chats::default(),
                seen: Mutex::new(SeenIds::new(SEEN_DELIVERIES)),
            }),
        })
    }

    /// Registers a chat under its conversation and starts its outbox; `queued` sends `Queued`
    /// first, before anything a webhook may add.
    fn open(
        &self,
        conversation: &str,
        chat: ChatId,
        customer: &str,
        agent: Option<AgentProfile>,
        queued: bool,
    ) -> Chat {
        let inner = self.inner.clone();
        let (key, who) = (conversation.to_owned(), customer.to_owned());
        let events = self.inner.chats.open(
            conversation,
            (chat.clone(), agent, customer.to_owned()),
            queued,
            move |call| {
                let (inner, key, who) = (inner.clone(), key.clone(), who.clone());
                async move { deliver(&inner, &key, &who, call).await }
            },
        );
        Chat { id: chat, events }
    }

    fn enqueue(&self, chat: &ChatId, call: Outgoing) -> Result<(), DeskError> {
        let parts = parse_chat(chat)?;
        self.inner.chats.enqueue(&parts.conversation, chat, call)
    }
}

impl Inner {
    /// A form-encoded call to `{base}{path}`, authenticated with the account; the answer's JSON.
    async fn call(&self, method: Method, base: &str, path: &str, form: &[(&str, String)]) -> Result<Value, DeskError> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(name, value)| (*name, value.as_str())))
            .finish();
        self.guard
            .send_json(&format!("twilio: {path}"), |client| {
                let request = client
                    .request(method.clone(), &url)
                    .basic_auth(&self.config.account_sid, Some(&self.config.auth_token));
                if method == Method::GET {
                    request
                } else {
                    request
                        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(body.clone())
                }
            })
            .await
    }

    fn conversation_path(&self, conversation: &str) -> String {
        format!(
            "/v1/Services/{}/Conversations/{conversation}",
            self.config.conversations_service_sid
        )
    }

    async fn post_message(&self, conversation: &str, author: &str, text: &str) -> Result<(), DeskError> {
        let path = format!("{}/Messages", self.conversation_path(conversation));
        let form = [("Author", author.to_owned()), ("Body", text.to_owned())];
        self.call(Method::POST, &self.config.conversations_url, &path, &form)
            .await
            .map(drop)
    }
}

/// One customer call, as the chat's outbox sends it.
async fn deliver(inner: &Inner, conversation: &str, customer: &str, call: Outgoing) -> Outcome {
    match call {
        Outgoing::Message(message) => {
            Outcome::of(inner.post_message(conversation, customer, &message.text).await, true)
        }
        // "Update an Interaction Channel": closing it ends the agent's task.
        Outgoing::Leave { interaction, channel } => {
            let path = format!("/v1/Interactions/{interaction}/Channels/{channel}");
            let form = [("Status", "closed".to_owned())];
            let result = inner.call(Method::POST, &inner.config.flex_url, &path, &form).await;
            Outcome::of(result.map(drop), false)
        }
    }
}

fn sid_of(answer: &Value) -> Result<String, DeskError> {
    answer
        .get("sid")
        .and_then(Value::as_str)
        .filter(|sid| valid_sid(sid))
        .map(str::to_owned)
        .ok_or_else(|| DeskError::Desk("twilio: an answer without a sid".into()))
}

impl ServiceDesk for TwilioDesk {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            agent_typing: false,
            customer_typing: false,
            agent_read: false,
            customer_read: false,
            queue_position: false,
            estimated_wait: false,
            transfer_events: true,
            customer_end: true,
            files: false,
            resume: true,
            offers: false,
        }
    }

    fn availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move {
            let config = &self.inner.config;
            let Some(task_queue) = queue.and_then(|queue| config.task_queues.get(queue.as_str())) else {
                return Ok(unknown());
            };
            if self.inner.guard.is_open() {
                return Ok(online_if(false));
            }
            // TaskRouter "TaskQueue RealTime Statistics".
            let path = format!(
                "/v1/Workspaces/{}/TaskQueues/{task_queue}/RealTimeStatistics",
                config.workspace_sid
            );
            let statistics = self.inner.call(Method::GET, &config.taskrouter_url, &path, &[]).await?;
            let available = statistics
                .get("total_available_workers")
                .and_then(Value::as_u64)
                .ok_or_else(|| DeskError::Desk("twilio: statistics without total_available_workers".into()))?;
            Ok(online_if(available > 0))
        })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let inner = &self.inner;
            let config = &inner.config;
            let customer = customer_identity(&request);
            let attributes =
                json!({"baton_transfer": request.transfer.as_str(), "baton_session": request.session.as_str()});
            let path = format!("/v1/Services/{}/Conversations", config.conversations_service_sid);
            let form = [
                ("FriendlyName", format!("Customer {}", request.session)),
                ("Attributes", attributes.to_string()),
            ];
            let conversation = sid_of(
                &inner
                    .call(Method::POST, &config.conversations_url, &path, &form)
                    .await?,
            )?;
            let path = format!("{}/Participants", inner.conversation_path(&conversation));
            inner
                .call(
                    Method::POST,
                    &config.conversations_url,
                    &path,
                    &[("Identity", customer.clone())],
                )
                .await?;
            for line in &request.transcript {
                let author = match line.speaker {
                    Speaker::Customer => customer.as_str(),
                    _ => "Assistant",
                };
                inner.post_message(&conversation, author, &line.text).await?;
            }
            let channel = json!({
                "type": "web",
                "initiated_by": "customer",
                "properties": {"media_channel_sid": conversation},
            });
            let mut task = json!({
                "customerName": request.customer.name.clone().unwrap_or_else(|| format!("Customer {}", request.session)),
                "conversationSid": conversation,
                "baton_summary": request.brief.summary,
                "baton_transfer": request.transfer.as_str(),
            });
            if let Some(url) = &request.transcript_url {
                task["baton_history_url"] = json!(url);
            }
            if let Some(queue) = &request.routing.queue {
                task["baton_queue"] = json!(queue.as_str());
            }
            let routing = json!({"properties": {
                "workspace_sid": config.workspace_sid,
                "workflow_sid": config.workflow_sid,
                "task_channel_unique_name": config.task_channel,
                "attributes": task,
            }});
            // Registered before the interaction routes, under the conversation: an agent may be
            // added at once. Its chat id is known once the interaction is.
            let pending = ChatId::parse(&conversation)?;
            let opened = self.open(&conversation, pending, &customer, None, true);
            let created = inner
                .call(
                    Method::POST,
                    &config.flex_url,
                    "/v1/Interactions",
                    &[("Channel", channel.to_string()), ("Routing", routing.to_string())],
                )
                .await;
            let ids = created.and_then(|created| {
                let interaction = sid_of(&created)?;
                let channel = created
                    .get("channel")
                    .map(sid_of)
                    .transpose()?
                    .ok_or_else(|| DeskError::Desk("twilio: the interaction has no channel".into()))?;
                Ok((interaction, channel))
            });
            let (interaction, channel) = match ids {
                Ok(ids) => ids,
                Err(error) => {
                    inner.chats.remove(&conversation);
                    return Err(error);
                }
            };
            let chat = ChatId::parse(&format!("{conversation}:{interaction}:{channel}"))?;
            let known = chat.clone();
            inner.chats.with(&conversation, |open| open.chat = known);
            tracing::info!(desk = %inner.name, %conversation, transfer = %request.transfer, "twilio flex interaction created");
            Ok(Chat {
                id: chat,
                events: opened.events,
            })
        })
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.enqueue(chat, Outgoing::Message(message)) })
    }

    /// The Conversations REST API takes no typing for a participant: nothing is sent.
    fn customer_typing<'a>(&'a self, chat: &'a ChatId, _typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move { parse_chat(chat).map(drop) })
    }

    /// Nor reads: nothing is sent.
    fn customer_read<'a>(&'a self, chat: &'a ChatId, _up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move { parse_chat(chat).map(drop) })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, _reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            let parts = parse_chat(chat)?;
            self.enqueue(
                chat,
                Outgoing::Leave {
                    interaction: parts.interaction.clone(),
                    channel: parts.channel.clone(),
                },
            )?;
            self.inner.chats.remove(&parts.conversation);
            Ok(())
        })
    }

    fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let parts = parse_chat(&resume.chat)?;
            let path = self.inner.conversation_path(&parts.conversation);
            let now = self
                .inner
                .call(Method::GET, &self.inner.config.conversations_url, &path, &[])
                .await
                .map_err(|error| match error {
                    DeskError::Refused { status: 404, .. } => DeskError::UnknownChat(resume.chat.clone()),
                    other => other,
                })?;
            let agent = crate::chats::resumed_agent("twilio", &resume);
            let chat = self.open(
                &parts.conversation,
                resume.chat.clone(),
                &customer_identity(&resume.request),
                agent,
                false,
            );
            if now.get("state").and_then(Value::as_str) == Some("closed") {
                self.inner.chats.resolved_meanwhile(&parts.conversation)?;
            }
            Ok(chat)
        })
    }

    fn webhook(&self) -> Option<&dyn WebhookReceiver> {
        Some(self)
    }
}

impl WebhookReceiver for TwilioDesk {
    fn receive<'a>(&'a self, request: WebhookRequest<'a>) -> DeskFuture<'a, WebhookOutcome> {
        Box::pin(async move { self.receive_now(request, Utc::now()) })
    }
}

impl TwilioDesk {
    /// [`WebhookReceiver::receive`] at `now`: verify, parse, drop a duplicate, translate.
    pub fn receive_now(&self, request: WebhookRequest<'_>, now: DateTime<Utc>) -> Result<WebhookOutcome, DeskError> {
        let params: Vec<(String, String)> = form_urlencoded::parse(request.body).into_owned().collect();
        signing::verify_twilio(
            &self.inner.config.auth_token,
            &self.inner.config.webhook_url,
            &params,
            request.header(SIGNATURE_HEADER),
        )?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let event = param("EventType").ok_or_else(|| DeskError::BadEvent("no EventType".to_owned()))?;
        let delivery = match request.header(IDEMPOTENCY_HEADER) {
            Some(token) if !token.trim().is_empty() && token.len() <= 200 => token.trim().to_owned(),
            _ => format!("{event}:{}", signing::digest_hex(b"twilio-delivery", request.body)),
        };
        if !lock(&self.inner.seen).insert(&delivery) {
            return Ok(WebhookOutcome::Duplicate);
        }
        let conversation =
            param("ConversationSid").ok_or_else(|| DeskError::BadEvent(format!("{event} without ConversationSid")))?;
        let agent_named = |identity: &str| -> Result<AgentProfile, DeskError> {
            let name: String = identity.trim().chars().take(200).collect();
            Ok(AgentProfile {
                id: AgentId::parse(&format!("twilio-{name}"))?,
                name,
            })
        };
        let n_events = self.inner.chats.apply(conversation, |open, out| {
            match event {
                "onParticipantAdded" => {
                    let identity = param("Identity").unwrap_or_default();
                    // An agent already there: their message came before the webhook adding them.
                    if !identity.is_empty() && identity != open.extra {
                        open.taken_by(agent_named(identity)?, out);
                    }
                }
                "onParticipantRemoved" => {
                    let identity = param("Identity").unwrap_or_default();
                    let current = open.agent.as_ref().is_some_and(|agent| agent.name == identity);
                    if current {
                        open.agent = None;
                        out.push(DeskEvent::AgentLeft);
                    }
                }
                "onMessageAdded" => {
                    let author = param("Author").unwrap_or_default();
                    if !author.is_empty() && author != open.extra && author != "Assistant" {
                        let agent = agent_named(author)?;
                        open.taken_by(agent.clone(), out);
                        let sid = param("MessageSid")
                            .ok_or_else(|| DeskError::BadEvent("onMessageAdded without MessageSid".to_owned()))?;
                        let text = param("Body")
                            .map(str::trim)
                            .filter(|text| !text.is_empty())
                            .unwrap_or("(the agent sent something this chat cannot show)");
                        out.push(DeskEvent::AgentMessage(AgentMessage {
                            id: MessageId::parse(&format!("twilio-{sid}"))?,
                            at: now,
                            agent,
                            text: text.chars().take(10_000).collect(),
                        }));
                    }
                }
                "onConversationUpdated" | "onConversationStateUpdated" => {
                    let state = param("State").or_else(|| param("StateTo"));
                    if state == Some("closed") {
                        let attributes: Option<serde_json::Map<String, Value>> =
                            param("Attributes").and_then(|attributes| serde_json::from_str(attributes).ok());
                        let hands_back = attributes.as_ref().is_some_and(|attributes| {
                            attributes
                                .keys()
                                .any(|key| key == dedup::RESUME_KEY || key.starts_with(dedup::VARIABLE_PREFIX))
                        });
                        let reason = if hands_back {
                            dedup::hand_back(attributes.as_ref())
                        } else {
                            EndReason::Resolved
                        };
                        out.push(DeskEvent::Ended {
                            by: EndedBy::Agent,
                            reason,
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(WebhookOutcome::Accepted { events: n_events })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_id_carries_the_conversation_the_interaction_and_its_channel() {
        let chat = ChatId::parse("CH1:KD2:UO3").unwrap();
        let parts = parse_chat(&chat).unwrap();
        assert_eq!(
            (
                parts.conversation.as_str(),
                parts.interaction.as_str(),
                parts.channel.as_str()
            ),
            ("CH1", "KD2", "UO3")
        );
        for bad in ["CH1", "CH1:KD2", "CH1:KD2:UO3:X", "CH1:KD/2:UO3", "CH1::UO3"] {
            assert!(parse_chat(&ChatId::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }
}
