//! Transfers: from a turn's `Effect::Transfer` to a desk chat, and the customer's side of it.
//!
//! A transfer is the desk crate's [`Transfer`] state machine, stored as opaque JSON with its
//! [`ChatRequest`] (brief, customer, routing). It is opened in the same commit as the turn that
//! asked for it; every transition is a transcript entry (`event`, `{"type": "transfer", …}`).
//! What the desk says back is handled by the chat's pump (`pump.rs`).
//!
//! Every change to a transfer happens under the session's lock, whoever makes it (a customer
//! message, the pump, a cancel), and reloads the transfer from the store first: the store is the
//! only copy, so a restart loses nothing but the running pumps, which [`resume_all`] starts again.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use baton_desk::own::AgentConfig;
use baton_desk::{
    AgentId, Availability, Brief, BriefReason, ChatRequest, ChatResume, Customer, CustomerMessage, DeskError,
    EndReason, FallbackReason, MessageId, OfflinePolicy, Online, QueueName, Routing, TranscriptLine, Transfer,
    TransferCommand, TransferId, TransferState,
};
use baton_dialog::{AgentsAvailable, Engine, Event, Session, TransferReason, TransferRequest};
use baton_store::{NewEntry, NewTransfer, SessionId, TransferWrite};

use super::events::SessionEvent;
use super::lead::{self, DeskCall};
use super::stored::{Loaded, apply, update_of};
use super::{ConversationError, Conversations, pump, transcript};

/// What the customer reads after leaving a message for the agents.
pub const MESSAGE_LEFT: &str = "Thank you, your message has been passed on. Someone will get back to you.";

fn desk_error(error: DeskError) -> ConversationError {
    ConversationError::Internal(format!("desk: {error}"))
}

// ---- opening ----

/// A transfer about to be opened with a turn.
pub(crate) struct Opening {
    pub transfer: Transfer,
    pub request: ChatRequest,
    /// The transitions so far, for the turn's transcript.
    pub entries: Vec<NewEntry>,
    /// Whether to ask the desk for a chat once the turn is committed.
    pub start_chat: bool,
    /// The offline response, when no agent can be reached.
    pub offline: Option<String>,
}

impl Opening {
    pub fn write(&self, session_id: &SessionId, at: DateTime<Utc>) -> TransferWrite {
        TransferWrite::Open(NewTransfer {
            id: self.transfer.id().to_string(),
            session_id: session_id.clone(),
            queue: self.transfer.queue().map(ToString::to_string),
            state: self.transfer.state().as_str().to_owned(),
            value: transcript::raw(&serde_json::to_value(&self.transfer).unwrap_or_default()),
            request: transcript::raw(&serde_json::to_value(&self.request).unwrap_or_default()),
            at,
        })
    }
}

/// What the desks of the queue's route say ([`Desk::availability`](super::desk::Desk::availability)), asked of
/// the server holding the desk.
pub(crate) async fn availability(conversations: &Conversations, request: &TransferRequest) -> Availability {
    lead::availability(conversations, request.queue.clone()).await
}

/// The desk's availability as the runtime takes it.
pub(crate) fn agents_available(availability: &Availability) -> AgentsAvailable {
    match availability.online {
        Online::Yes | Online::Unknown => AgentsAvailable::Online,
        Online::No => AgentsAvailable::Offline {
            back_to_assistant: availability.offline_policy == Some(OfflinePolicy::BackToAssistant),
        },
    }
}

/// Builds the transfer a turn asks for, in the state the desk's availability puts it: waiting
/// for a chat, unavailable and waiting for the customer's message (leave a message), or closed
/// at once (back to the assistant, which the runtime has already done to the session).
pub(crate) fn open(
    engine: &Engine,
    session: &Session,
    session_id: &str,
    request: &TransferRequest,
    availability: &Availability,
    transcript: Vec<TranscriptLine>,
    now: DateTime<Utc>,
) -> Result<Opening, ConversationError> {
    let id = TransferId::parse(&uuid::Uuid::new_v4().to_string()).map_err(desk_error)?;
    let desk_session = baton_desk::SessionId::parse(session_id).map_err(desk_error)?;
    let queue = match &request.queue {
        Some(queue) => Some(QueueName::parse(queue).map_err(desk_error)?),
        None => None,
    };
    let (mut transfer, first) = Transfer::request(id.clone(), desk_session.clone(), queue.clone(), now);
    let mut transitions = vec![first];
    let mut start_chat = true;
    let mut offline = None;
    if availability.online == Online::No {
        let policy = availability.offline_policy.unwrap_or_default();
        offline = Some(request.offline_response.clone());
        transitions.extend(apply(&mut transfer, TransferCommand::MarkUnavailable { policy }, now));
        match policy {
            OfflinePolicy::WaitInQueue => {}
            OfflinePolicy::LeaveMessage => start_chat = false,
            OfflinePolicy::BackToAssistant => {
                start_chat = false;
                transitions.extend(apply(&mut transfer, TransferCommand::ReturnToAssistant, now));
            }
        }
    }
    let chat_request = ChatRequest {
        transfer: id,
        session: desk_session,
        customer: Customer {
            user_id: session.user_id.clone(),
            name: None,
            channel: session.channel.clone(),
            locale: Some(engine.assistant().locale.clone()),
        },
        brief: brief(engine, session, request),
        transcript,
        transcript_url: None,
        routing: Routing { queue, skill: None },
        custom_fields: Default::default(),
    };
    Ok(Opening {
        transfer,
        request: chat_request,
        entries: transitions.iter().map(transcript::transition).collect(),
        start_chat,
        offline,
    })
}

/// The brief: why, the note, and the variables except those marked private.
fn brief(engine: &Engine, session: &Session, request: &TransferRequest) -> Brief {
    let declared = &engine.assistant().variables;
    let variables = session
        .variables
        .iter()
        .filter(|(name, _)| !declared.get(*name).is_some_and(|spec| spec.private))
        .map(|(name, value)| (name.clone(), value.to_json()))
        .collect();
    let fallback = |reason| BriefReason::Fallback {
        reason,
        action: request.action.clone(),
        step: request.step.clone(),
        failed_inputs: request.failed_inputs.clone(),
    };
    let reason = match request.reason {
        TransferReason::Planned => BriefReason::Planned {
            action: request.action.clone().unwrap_or_default(),
            step: request.step.clone(),
        },
        TransferReason::NoActionMatches => fallback(FallbackReason::NoActionMatches),
        TransferReason::StepValidationFailed => fallback(FallbackReason::StepValidationFailed),
        TransferReason::AgentRequested => fallback(FallbackReason::AgentRequested),
        TransferReason::DangerWord => fallback(FallbackReason::DangerWord),
        TransferReason::Profanity => fallback(FallbackReason::Profanity),
    };
    let mut brief = Brief {
        summary: String::new(),
        reason,
        message_to_agent: request.message_to_agent.clone(),
        variables,
    };
    brief.summary = summary(engine, request, &brief);
    brief
}

/// The brief as text, for desks that show only text (and as the first thing every desk shows):
/// why, where the customer was (the action's title and the step), what failed, the message to
/// the agent and what is known.
fn summary(engine: &Engine, request: &TransferRequest, brief: &Brief) -> String {
    let why = match request.reason {
        TransferReason::Planned => "the assistant hands this conversation to an agent as planned",
        TransferReason::NoActionMatches => "the assistant did not understand the customer",
        TransferReason::StepValidationFailed => "the customer's answers to a question were not accepted",
        TransferReason::AgentRequested => "the customer asked for a person",
        TransferReason::DangerWord => "the customer used a word that always goes to an agent",
        TransferReason::Profanity => "the customer used abusive language",
    };
    let mut lines = vec![format!("Why: {why}.")];
    if let Some(action) = &request.action {
        let title = engine
            .assistant()
            .action(action)
            .map_or(action.as_str(), |action| action.title());
        lines.push(match &request.step {
            Some(step) => format!("Where: \"{title}\", at step {step}."),
            None => format!("Where: \"{title}\"."),
        });
    }
    if !request.failed_inputs.is_empty() {
        let inputs: Vec<String> = request
            .failed_inputs
            .iter()
            .map(|input| format!("\"{input}\""))
            .collect();
        lines.push(format!("What the customer said that failed: {}.", inputs.join(", ")));
    }
    if !brief.message_to_agent.trim().is_empty() {
        lines.push(format!("Message to the agent: {}", brief.message_to_agent.trim()));
    }
    if !brief.variables.is_empty() {
        let known: Vec<String> = brief
            .variables
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => format!("{name} = {text}"),
                other => format!("{name} = {other}"),
            })
            .collect();
        lines.push(format!("Known: {}.", known.join("; ")));
    }
    lines.join("\n")
}

/// After the turn that opened the transfer committed: ask the desk for a chat. Runs under the
/// session's lock.
pub(crate) async fn start(conversations: &Arc<Conversations>, session_id: &str, opening: Opening) {
    if let Some(message) = &opening.offline {
        conversations.events.publish(
            session_id,
            SessionEvent::Offline {
                message: message.clone(),
            },
        );
    }
    if !opening.start_chat {
        if !opening.transfer.is_open() {
            conversations.metrics.transfer_ended(opening.transfer.state().as_str());
        }
        return;
    }
    if !conversations.lead.holds() {
        // Another server holds the desk: it opens the chat of the transfer just committed.
        let call = DeskCall::Start {
            session: session_id.to_owned(),
        };
        if let Err(error) = lead::call(conversations, call).await {
            tracing::warn!(?error, transfer = %opening.transfer.id(), "the server holding the desk did not open the chat; it will when it resumes the open transfers");
        }
        return;
    }
    pump::open_chat(conversations, session_id, opening.transfer, &opening.request).await;
}

// ---- the customer's side ----

/// Relays a committed customer message (stored with `id` in its payload) to the desk.
pub(crate) async fn relay(conversations: &Conversations, loaded: &Loaded, id: &str, text: &str, at: DateTime<Utc>) {
    let Some(chat) = loaded.transfer.chat() else {
        return;
    };
    let Ok(id) = MessageId::parse(id) else {
        return;
    };
    let message = CustomerMessage {
        id,
        at,
        text: text.to_owned(),
    };
    let call = DeskCall::SendToAgent {
        desk: loaded.transfer.desk().map(str::to_owned),
        chat: chat.clone(),
        message,
    };
    if let Err(error) = lead::call(conversations, call).await {
        tracing::warn!(?error, transfer = %loaded.transfer.id(), "relaying a customer message to the desk failed");
    }
}

/// Where the customer stands, for a customer who asks for a human while one is coming.
pub(crate) fn where_they_stand(loaded: &Loaded) -> String {
    match (loaded.transfer.state(), loaded.transfer.position()) {
        (TransferState::Active, _) => match loaded.transfer.agent() {
            Some(agent) => format!("You are talking with {}, a human agent.", agent.name),
            None => "You are talking with a human agent.".to_owned(),
        },
        (_, Some(position)) => format!(
            "You are already waiting for an agent: number {position} in the queue. An agent will be with you as soon as possible."
        ),
        _ => "You are already waiting for an agent. An agent will be with you as soon as possible.".to_owned(),
    }
}

/// The customer's side ends the transfer (cancel, session deleted or expired): the desk is told,
/// the transfer closed, and with `event` the dialog takes the customer back.
/// Runs under the session's lock. `Ok(false)` when the session has no open transfer.
pub(crate) async fn end_by_customer(
    conversations: &Conversations,
    session_id: &str,
    command: TransferCommand,
    event: Option<Event>,
) -> Result<bool, ConversationError> {
    let Some(stored) = conversations
        .store
        .open_transfer_of(&SessionId::new(session_id))
        .await?
    else {
        return Ok(false);
    };
    let loaded = Loaded::decode(stored)?;
    let mut transfer = loaded.transfer;
    if let Some(chat) = transfer.chat().cloned() {
        let reason = match command {
            TransferCommand::Cancel => EndReason::Cancelled,
            _ => EndReason::CustomerLeft,
        };
        let call = DeskCall::EndChat {
            desk: transfer.desk().map(str::to_owned),
            chat,
            reason,
        };
        if let Err(error) = lead::call(conversations, call).await {
            tracing::warn!(?error, "the desk could not end the chat");
        }
    }
    let now = conversations.clock.now();
    let entries = transfer
        .apply(command, now)
        .map_err(|error| ConversationError::Internal(error.to_string()))?;
    let entries = entries.iter().map(transcript::transition).collect();
    conversations.events.publish(
        session_id,
        SessionEvent::Ended {
            by: "customer".to_owned(),
        },
    );
    pump::finish(conversations, session_id, &transfer, entries, event, now).await;
    Ok(true)
}

/// A signal from the customer's socket for the agent.
pub enum CustomerSignal {
    Typing(bool),
    /// Read up to this message id.
    Read(String),
}

/// Customer typing or read frames from the session socket, to the desk.
pub(crate) async fn customer_signal(conversations: &Conversations, session_id: &str, signal: CustomerSignal) {
    let loaded = match conversations.store.open_transfer_of(&SessionId::new(session_id)).await {
        Ok(Some(stored)) => Loaded::decode(stored).ok(),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, "looking up the session's transfer failed");
            None
        }
    };
    let Some(loaded) = loaded else {
        return;
    };
    let Some(chat) = loaded.transfer.chat().cloned() else {
        return;
    };
    let desk = loaded.transfer.desk().map(str::to_owned);
    let call = match signal {
        CustomerSignal::Typing(typing) => DeskCall::Typing { desk, chat, typing },
        CustomerSignal::Read(up_to) => match MessageId::parse(&up_to) {
            Ok(up_to) => DeskCall::Read { desk, chat, up_to },
            Err(error) => {
                tracing::debug!(%error, "customer read receipt for an invalid message id");
                return;
            }
        },
    };
    if let Err(error) = lead::call(conversations, call).await {
        tracing::debug!(?error, "customer signal not delivered");
    }
}

// ---- after a restart ----

/// Re-attaches every open transfer to the desk and starts its pump again.
pub(crate) async fn resume_all(conversations: &Arc<Conversations>) -> Result<usize, ConversationError> {
    let open = conversations.store.open_transfers().await?;
    let mut resumed = 0;
    for stored in open {
        let loaded = match Loaded::decode(stored) {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::error!(%error, "an open transfer cannot be read; left as it is");
                continue;
            }
        };
        if loaded.takes_message() {
            continue;
        }
        let session_id = loaded.stored.session_id.as_str().to_owned();
        let mut transfer = loaded.transfer.clone();
        let Some(chat) = transfer.chat().cloned() else {
            // Opened, but no desk was asked yet (the process stopped, or the server that
            // committed it could not reach the one holding the desk).
            let _guard = conversations.locks.lock(&session_id).await;
            if pump::open_chat(conversations, &session_id, loaded.transfer.clone(), &loaded.request).await {
                resumed += 1;
            }
            continue;
        };
        let agent = match transfer.state() {
            TransferState::Active => transfer.agent().map(|agent| agent.id.clone()),
            _ => None,
        };
        if let Some(agent) = &agent {
            ensure_agent(conversations, agent).await;
        }
        let resume = ChatResume {
            chat,
            request: loaded.request.clone(),
            queued_at: transfer.opened_at(),
            agent,
            state: transfer.desk_state().cloned(),
        };
        let desk = transfer.desk().map(str::to_owned);
        match conversations.desk.of(desk.as_deref()).resume(resume).await {
            Ok(chat) => {
                if transfer.chat() != Some(&chat.id) {
                    transfer.attach_chat(chat.id.clone());
                    conversations
                        .store
                        .update_transfer(update_of(&transfer, Vec::new(), conversations.clock.now()))
                        .await?;
                }
                if transfer.state() != TransferState::Active {
                    pump::watch_join(conversations, &session_id, transfer.id().clone(), desk, chat.id.clone());
                }
                pump::spawn(conversations, chat.id, transfer.id().clone(), session_id, chat.events);
                resumed += 1;
            }
            Err(error) => {
                tracing::warn!(%error, transfer = %transfer.id(), "an open transfer could not be resumed");
                pump::fail(conversations, &session_id, transfer, error.to_string()).await;
            }
        }
    }
    Ok(resumed)
}

/// Makes sure the desk knows an agent (from the store) before a chat names them.
pub(crate) async fn ensure_agent(conversations: &Conversations, id: &AgentId) -> Option<AgentConfig> {
    if let Some(agent) = conversations.desk.agent(id) {
        return Some(agent);
    }
    let record = match conversations.store.find_agent(id.as_str()).await {
        Ok(record) => record?,
        Err(error) => {
            tracing::warn!(%error, "loading an agent failed");
            return None;
        }
    };
    let agent = super::desk::desk_agent(&record)?;
    conversations.desk.register_agent(agent.clone()).await;
    Some(agent)
}
