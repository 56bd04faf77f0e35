//! Transfers: from a turn's `Effect::Transfer` to a desk chat, and everything the desk says back.
//!
//! A transfer is the desk crate's [`Transfer`] state machine, stored as opaque JSON with its
//! [`ChatRequest`] (brief, customer, routing). It is opened in the same commit as the turn that
//! asked for it; every transition is a transcript entry (`event`, `{"type": "transfer", …}`).
//!
//! One task per chat (the pump) reads the chat's [`DeskEvent`]s in order and, under the
//! session's lock, applies each to the stored transfer, persists it (agent messages as `agent`
//! entries), and publishes it on the session's event socket. When the chat ends the pump runs
//! the dialog (`TransferEnded` or `HandedBack`) and commits that turn with the transfer's last
//! change; what the assistant says goes to the socket as an `assistant` event.
//!
//! Design decisions:
//! - Every change to a transfer happens under the session lock (`App::locks`), whoever makes
//!   it (a customer message, the pump, a cancel), and reloads the transfer from the store first:
//!   the store is the only copy, so a restart loses nothing but the running pumps, which
//!   [`resume_all`] starts again.
//! - An agent's message is acknowledged (`201`) only after the pump committed its entry: the
//!   route waits on an [`Acks`] slot the pump fills. The slot may be filled before the route
//!   waits; both orders work.
//! - Baton's own desk is the only desk for now; it is reached through `Arc<dyn ServiceDesk>` for
//!   everything the customer side does, and as [`OwnDesk`] for what agents do (`agents.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use baton_assistant::Value;
use baton_desk::own::AgentConfig;
use baton_desk::{
    AgentId, Availability, Brief, BriefReason, ChatId, ChatRequest, ChatResume, Customer, CustomerMessage, DeskError,
    DeskEvent, DeskEvents, EndReason, EndedBy, FallbackReason, MessageId, OfflinePolicy, Online, OwnDesk, QueueName,
    Routing, ServiceDesk, Speaker, TranscriptLine, Transfer, TransferCommand, TransferEntry, TransferId, TransferState,
};
use baton_dialog::{Engine, Event, Session, TransferOutcome, TransferReason, TransferRequest};
use baton_store::{
    EntryKind, NewEntry, NewTransfer, SessionId, StoreError, StoredTransfer, TranscriptEntry, TransferUpdate,
    TransferWrite, TurnRecord,
};

use crate::events::SessionEvent;
use crate::turn::{EventTurn, entry, event_turn, raw};
use crate::wire::{AgentName, GenericItem};
use crate::{ApiError, App};

/// How long an agent's message route waits for the pump to commit the message.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a turn the pump commits is redone after another writer changed the session.
const COMMIT_ATTEMPTS: usize = 3;
/// What the customer reads after leaving a message for the agents.
pub const MESSAGE_LEFT: &str = "Thank you, your message has been passed on. Someone will get back to you.";

/// The desk as the server sees it.
pub(crate) struct Desk {
    /// Baton's own desk: agents act on it directly.
    pub own: OwnDesk,
    /// The desk customers' transfers go to.
    pub service: Arc<dyn ServiceDesk>,
    /// Chat → transfer, for the chats this process has open.
    links: Mutex<HashMap<ChatId, Link>>,
    acks: Acks,
    /// The agents known to this process (from the configuration, and from the store at login).
    agents: Mutex<HashMap<AgentId, AgentConfig>>,
    /// Stops every pump at shutdown.
    pub stop: CancellationToken,
    /// Frames for one agent's consoles that the desk does not send (presence, a chat accepted
    /// on another console); every agent socket listens and keeps its own.
    notices: tokio::sync::broadcast::Sender<(AgentId, Json)>,
}

/// The transfer and session a chat belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub transfer: TransferId,
    pub session: String,
}

impl Desk {
    pub fn new(own: OwnDesk, configured: &[AgentConfig]) -> Desk {
        let agents = configured
            .iter()
            .map(|agent| (agent.id.clone(), agent.clone()))
            .collect();
        Desk {
            service: Arc::new(own.clone()),
            own,
            links: Mutex::new(HashMap::new()),
            acks: Acks::default(),
            agents: Mutex::new(agents),
            stop: CancellationToken::new(),
            notices: tokio::sync::broadcast::channel(256).0,
        }
    }

    /// Sends a frame to every console of an agent.
    pub fn notify(&self, agent: &AgentId, frame: Json) {
        // No receiver (no console open) is fine.
        let _ = self.notices.send((agent.clone(), frame));
    }

    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<(AgentId, Json)> {
        self.notices.subscribe()
    }

    pub fn link(&self, chat: &ChatId) -> Option<Link> {
        let links = self.links.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        links.get(chat).cloned()
    }

    fn add_link(&self, chat: ChatId, link: Link) {
        let mut links = self.links.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        links.insert(chat, link);
    }

    fn remove_link(&self, chat: &ChatId) {
        let mut links = self.links.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        links.remove(chat);
    }

    /// Adds or updates an agent in this process and in the desk.
    pub fn register_agent(&self, agent: AgentConfig) {
        self.own.upsert_agent(agent.clone());
        let mut agents = self.agents.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        agents.insert(agent.id.clone(), agent);
    }

    pub fn agent(&self, id: &AgentId) -> Option<AgentConfig> {
        let agents = self.agents.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        agents.get(id).cloned()
    }

    pub fn agents(&self) -> Vec<AgentConfig> {
        let agents = self.agents.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut list: Vec<AgentConfig> = agents.values().cloned().collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// Waits until the pump has committed the agent message the desk calls `id`; returns the id
    /// it was stored under (unique, unlike the desk's, which restart with the chat), or `None`
    /// if it was not stored.
    pub async fn committed(&self, id: &MessageId) -> Option<String> {
        let receiver = {
            let mut slots = self.acks.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match slots.remove(id.as_str()) {
                Some(Ack::Done(stored)) => return stored,
                Some(Ack::Waiting(_)) | None => {
                    let (sender, receiver) = oneshot::channel();
                    slots.insert(id.as_str().to_owned(), Ack::Waiting(sender));
                    receiver
                }
            }
        };
        match tokio::time::timeout(ACK_TIMEOUT, receiver).await {
            Ok(Ok(stored)) => stored,
            _ => {
                let mut slots = self.acks.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                slots.remove(id.as_str());
                None
            }
        }
    }
}

/// Agent messages committed (or not) by the pump, for the routes that wait for them.
#[derive(Default)]
struct Acks {
    slots: Mutex<HashMap<String, Ack>>,
}

enum Ack {
    /// The id the message was stored under, or `None` if storing it failed.
    Done(Option<String>),
    Waiting(oneshot::Sender<Option<String>>),
}

impl Acks {
    fn fill(&self, id: &MessageId, stored: Option<String>) {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match slots.remove(id.as_str()) {
            Some(Ack::Waiting(sender)) => {
                let _ = sender.send(stored);
            }
            _ => {
                // Only Baton's own desk's message route waits, and it always does; keep the
                // map from growing if a message came some other way.
                if slots.len() > 10_000 {
                    slots.retain(|_, ack| matches!(ack, Ack::Waiting(_)));
                }
                slots.insert(id.as_str().to_owned(), Ack::Done(stored));
            }
        }
    }
}

/// A stored transfer, read back.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub stored: StoredTransfer,
    pub transfer: Transfer,
    pub request: ChatRequest,
}

impl Loaded {
    pub fn decode(stored: StoredTransfer) -> Result<Loaded, ApiError> {
        let transfer = serde_json::from_str(stored.value.get())
            .map_err(|error| ApiError::Internal(format!("stored transfer {}: {error}", stored.id)))?;
        let request = serde_json::from_str(stored.request.get())
            .map_err(|error| ApiError::Internal(format!("stored chat request {}: {error}", stored.id)))?;
        Ok(Loaded {
            stored,
            transfer,
            request,
        })
    }

    /// The queue the transfer waits in (the desk's default when the assistant named none).
    pub fn queue(&self, default: &QueueName) -> QueueName {
        self.transfer.queue().cloned().unwrap_or_else(|| default.clone())
    }

    /// Unavailable without a chat: the offline policy was "leave a message", so the customer's
    /// next message is the message.
    pub fn takes_message(&self) -> bool {
        self.transfer.state() == TransferState::Unavailable && self.transfer.chat().is_none()
    }
}

pub(crate) async fn load(app: &App, id: &str) -> Result<Option<Loaded>, ApiError> {
    match app.store.load_transfer(id).await? {
        Some(stored) => Ok(Some(Loaded::decode(stored)?)),
        None => Ok(None),
    }
}

/// A transition as a transcript entry: the [`TransferEntry`] with `"type": "transfer"` first.
pub(crate) fn transition_entry(transition: &TransferEntry) -> NewEntry {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), json!("transfer"));
    if let Ok(Json::Object(fields)) = serde_json::to_value(transition) {
        object.extend(fields);
    }
    entry(transition.at, EntryKind::Event, Json::Object(object))
}

/// The stored form of a transfer after a change.
pub(crate) fn update_of(transfer: &Transfer, entries: Vec<NewEntry>, at: DateTime<Utc>) -> TransferUpdate {
    TransferUpdate {
        id: transfer.id().to_string(),
        state: transfer.state().as_str().to_owned(),
        open: transfer.is_open(),
        agent_id: transfer.agent().map(|agent| agent.id.to_string()),
        chat_id: transfer.chat().map(ToString::to_string),
        value: raw(&serde_json::to_value(transfer).unwrap_or_default()),
        at,
        entries,
    }
}

fn desk_error(error: DeskError) -> ApiError {
    ApiError::Internal(format!("desk: {error}"))
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
            value: raw(&serde_json::to_value(&self.transfer).unwrap_or_default()),
            request: raw(&serde_json::to_value(&self.request).unwrap_or_default()),
            at,
        })
    }
}

/// What the desk says about the queue of `request`; a desk that cannot answer counts as online,
/// so the customer is not told "nobody is there" by mistake and `start_chat` decides.
pub(crate) async fn availability(app: &App, request: &TransferRequest) -> Availability {
    let queue = request.queue.as_deref().and_then(|queue| QueueName::parse(queue).ok());
    match app.desk.service.availability(queue.as_ref()).await {
        Ok(availability) => availability,
        Err(error) => {
            tracing::warn!(%error, "desk availability failed");
            Availability {
                online: Online::Unknown,
                position: None,
                estimated_wait: None,
                offline_policy: None,
            }
        }
    }
}

/// Builds the transfer a turn asks for. With the queue offline and the policy "back to the
/// assistant" it is closed at once and `session.transfer_open` is cleared.
pub(crate) fn open(
    engine: &Engine,
    session: &mut Session,
    session_id: &str,
    request: &TransferRequest,
    availability: &Availability,
    transcript: Vec<TranscriptLine>,
    now: DateTime<Utc>,
) -> Result<Opening, ApiError> {
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
                session.transfer_open = false;
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
        entries: transitions.iter().map(transition_entry).collect(),
        start_chat,
        offline,
    })
}

fn apply(
    transfer: &mut Transfer,
    input: impl Into<baton_desk::TransferInput>,
    now: DateTime<Utc>,
) -> Vec<TransferEntry> {
    match transfer.apply(input, now) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(%error, "transfer input refused");
            Vec::new()
        }
    }
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
    Brief {
        reason,
        message_to_agent: request.message_to_agent.clone(),
        variables,
    }
}

/// The conversation so far as the agent reads it: the stored transcript and this turn's entries.
pub(crate) fn transcript_lines(stored: &[TranscriptEntry], turn: &[NewEntry]) -> Vec<TranscriptLine> {
    let stored = stored.iter().map(|entry| (entry.kind, entry.at, entry.payload.get()));
    let turn = turn.iter().map(|entry| (entry.kind, entry.at, entry.payload.get()));
    stored
        .chain(turn)
        .filter_map(|(kind, at, payload)| {
            let payload: Json = serde_json::from_str(payload).ok()?;
            let text = match payload["type"].as_str() {
                Some("text") => payload["text"].as_str()?.to_owned(),
                Some("options") => payload["title"].as_str()?.to_owned(),
                Some("link") => format!("{} ({})", payload["label"].as_str()?, payload["url"].as_str()?),
                _ => return None,
            };
            let speaker = match kind {
                EntryKind::Customer => Speaker::Customer,
                EntryKind::Assistant => Speaker::Assistant,
                EntryKind::Agent => Speaker::Agent(payload["agent"]["name"].as_str().unwrap_or("").to_owned()),
                EntryKind::Event => return None,
            };
            Some(TranscriptLine { at, speaker, text })
        })
        .collect()
}

/// After the turn that opened the transfer committed: ask the desk for a chat. Runs under the
/// session's lock.
pub(crate) async fn start(app: &Arc<App>, session_id: &str, opening: Opening) {
    if let Some(message) = &opening.offline {
        app.events.publish(
            session_id,
            SessionEvent::Offline {
                message: message.clone(),
            },
        );
    }
    if !opening.start_chat {
        if !opening.transfer.is_open() {
            app.metrics.transfer_ended(opening.transfer.state().as_str());
        }
        return;
    }
    let mut transfer = opening.transfer;
    match app.desk.service.start_chat(opening.request).await {
        Ok(chat) => {
            transfer.attach_chat(chat.id.clone());
            let update = update_of(&transfer, Vec::new(), app.clock.now());
            if let Err(error) = app.store.update_transfer(update).await {
                tracing::error!(%error, transfer = %transfer.id(), "recording the desk's chat id failed");
            }
            spawn_pump(app, chat.id, transfer.id().clone(), session_id.to_owned(), chat.events);
        }
        Err(error) => {
            tracing::warn!(%error, transfer = %transfer.id(), "the desk refused the chat");
            fail(app, session_id, transfer, error.to_string()).await;
        }
    }
}

/// The desk returned an error: the transfer fails and the assistant takes the customer back.
async fn fail(app: &Arc<App>, session_id: &str, mut transfer: Transfer, error: String) {
    let now = app.clock.now();
    let entries = apply(&mut transfer, TransferCommand::Fail { error }, now);
    let entries = entries.iter().map(transition_entry).collect();
    let event = Event::TransferEnded {
        outcome: TransferOutcome::Failed,
    };
    finish(app, session_id, &transfer, entries, Some(event), now).await;
}

// ---- the pump ----

fn spawn_pump(app: &Arc<App>, chat: ChatId, transfer: TransferId, session: String, events: DeskEvents) {
    let link = Link { transfer, session };
    app.desk.add_link(chat.clone(), link.clone());
    let app = app.clone();
    tokio::spawn(async move {
        let stop = app.desk.stop.clone();
        let mut events = events;
        // Waiting for an agent, or reading what they write, is not idleness: the session is kept
        // from expiring while its chat is open.
        let period = (app.config.session_timeout() / 3).max(Duration::from_secs(1));
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => break,
                event = events.recv() => event,
                _ = keepalive.tick() => {
                    keep_alive(&app, &link.session).await;
                    continue;
                }
            };
            let Some(event) = event else {
                break;
            };
            handle(&app, &link, event).await;
        }
        app.desk.remove_link(&chat);
        tracing::debug!(chat = %chat, "chat pump stopped");
    });
}

/// Commits an empty turn, so the session's idle time starts again.
async fn keep_alive(app: &App, session_id: &str) {
    let lock = app.locks.get(session_id);
    let guard = lock.lock().await;
    let now = app.clock.now();
    let result = match app.store.load_session(&SessionId::new(session_id), now).await {
        Ok(stored) => {
            let record = TurnRecord {
                session_id: stored.id.clone(),
                expected_version: stored.version,
                state: stored.state.clone(),
                at: now,
                entries: Vec::new(),
                reply: None,
                transfer: None,
            };
            app.store.commit_turn(record).await.map(|_| ())
        }
        Err(error) => Err(error),
    };
    drop(guard);
    app.locks.release(session_id, lock);
    match result {
        Ok(()) => app.touch(session_id, now),
        // Ended meanwhile, or written by another process: nothing to keep alive now.
        Err(StoreError::Expired(_) | StoreError::NotFound(_) | StoreError::Conflict(_)) => {}
        Err(error) => tracing::warn!(%error, "keeping the session of an open chat alive failed"),
    }
}

/// One desk event: apply, persist, publish; at the end, the dialog takes the customer back.
#[tracing::instrument(skip_all, fields(session_id = %link.session, transfer = %link.transfer))]
async fn handle(app: &Arc<App>, link: &Link, event: DeskEvent) {
    // Typing and read receipts change nothing stored.
    match &event {
        DeskEvent::AgentTyping(typing) => {
            app.events
                .publish(&link.session, SessionEvent::AgentTyping { typing: *typing });
            return;
        }
        DeskEvent::AgentRead { up_to } => {
            app.events.publish(
                &link.session,
                SessionEvent::AgentRead {
                    up_to: up_to.to_string(),
                },
            );
            return;
        }
        _ => {}
    }
    let lock = app.locks.get(&link.session);
    let guard = lock.lock().await;
    let result = handle_locked(app, link, event.clone()).await;
    drop(guard);
    app.locks.release(&link.session, lock);
    if let Err(error) = result {
        tracing::error!(%error, "handling a desk event failed");
        if let DeskEvent::AgentMessage(message) = &event {
            app.desk.acks.fill(&message.id, None);
        }
    }
}

async fn handle_locked(app: &Arc<App>, link: &Link, event: DeskEvent) -> Result<(), ApiError> {
    let now = app.clock.now();
    let Some(loaded) = load(app, link.transfer.as_str()).await? else {
        return Err(ApiError::Internal(format!("transfer {} is not stored", link.transfer)));
    };
    let mut transfer = loaded.transfer;
    if !transfer.is_open() {
        if let DeskEvent::AgentMessage(message) = &event {
            app.desk.acks.fill(&message.id, None);
        }
        return Ok(());
    }
    let previous_agent = transfer.agent().cloned();
    let was_active = transfer.state() == TransferState::Active;
    let transitions = match transfer.apply(event.clone(), now) {
        Ok(transitions) => transitions,
        Err(error) => {
            tracing::warn!(%error, "desk event refused by the transfer");
            return Ok(());
        }
    };
    let mut entries: Vec<NewEntry> = transitions.iter().map(transition_entry).collect();
    match event {
        DeskEvent::AgentMessage(message) => {
            // Our own id: a desk's may repeat (Baton's own desk counts per chat from 0 again
            // after a restart), and clients match read receipts and duplicates by it.
            let id = uuid::Uuid::new_v4().to_string();
            entries.push(entry(
                message.at,
                EntryKind::Agent,
                json!({
                    "type": "text",
                    "text": message.text,
                    "agent": {"id": message.agent.id, "name": message.agent.name},
                    "id": id,
                }),
            ));
            let committed = app
                .store
                .update_transfer(update_of(&transfer, entries, now))
                .await
                .map_err(ApiError::from);
            app.desk.acks.fill(&message.id, committed.is_ok().then(|| id.clone()));
            committed?;
            app.events.publish(
                &link.session,
                SessionEvent::AgentMessage {
                    agent_name: message.agent.name,
                    text: message.text,
                    id: Some(id),
                },
            );
        }
        DeskEvent::Ended { by, reason } => {
            let event = match reason {
                EndReason::HandBack { resume, variables } => Event::HandedBack {
                    resume,
                    variables: variables
                        .into_iter()
                        .map(|(name, value)| (name, Value::from_json(&value)))
                        .collect(),
                },
                _ => Event::TransferEnded {
                    outcome: outcome(transfer.state()),
                },
            };
            app.events.publish(
                &link.session,
                SessionEvent::Ended {
                    by: ended_by(by).to_owned(),
                },
            );
            finish(app, &link.session, &transfer, entries, Some(event), now).await;
        }
        DeskEvent::Error(_) if !transfer.is_open() => {
            let event = Event::TransferEnded {
                outcome: TransferOutcome::Failed,
            };
            app.events
                .publish(&link.session, SessionEvent::Ended { by: "desk".to_owned() });
            finish(app, &link.session, &transfer, entries, Some(event), now).await;
        }
        other => {
            app.store.update_transfer(update_of(&transfer, entries, now)).await?;
            // The agent passed the chat on (to an agent or a queue): the customer sees them go.
            let left = was_active && transfer.state() != TransferState::Active;
            if let Some(agent) = previous_agent
                .as_ref()
                .filter(|_| left || matches!(other, DeskEvent::AgentLeft))
            {
                app.events.publish(
                    &link.session,
                    SessionEvent::AgentLeft {
                        agent_name: agent.name.clone(),
                    },
                );
            }
            let published = match other {
                DeskEvent::Queued { position, wait, .. } => Some(SessionEvent::Queued {
                    position,
                    estimated_wait_secs: wait.map(|wait| wait.as_secs()),
                }),
                DeskEvent::AgentJoined(agent) => Some(SessionEvent::AgentJoined { agent_name: agent.name }),
                _ => None,
            };
            if let Some(published) = published {
                app.events.publish(&link.session, published);
            }
        }
    }
    Ok(())
}

fn outcome(state: TransferState) -> TransferOutcome {
    match state {
        TransferState::Cancelled | TransferState::Abandoned => TransferOutcome::Cancelled,
        TransferState::TimedOut => TransferOutcome::TimedOut,
        TransferState::Failed => TransferOutcome::Failed,
        TransferState::Returned => TransferOutcome::Unavailable,
        _ => TransferOutcome::Ended,
    }
}

pub(crate) fn ended_by(by: EndedBy) -> &'static str {
    match by {
        EndedBy::Agent => "agent",
        EndedBy::Customer => "customer",
        EndedBy::Desk => "desk",
    }
}

/// Stores a transfer's last change and, if the session is still open and `event` is given,
/// runs the dialog and commits that turn with it; what the assistant says is published.
/// Runs under the session's lock. Errors are logged: the caller has nobody to tell.
pub(crate) async fn finish(
    app: &Arc<App>,
    session_id: &str,
    transfer: &Transfer,
    entries: Vec<NewEntry>,
    event: Option<Event>,
    now: DateTime<Utc>,
) {
    if !transfer.is_open() {
        app.metrics.transfer_ended(transfer.state().as_str());
    }
    let mut entries = Some(entries);
    for _ in 0..COMMIT_ATTEMPTS {
        let stored = match app.store.load_session(&SessionId::new(session_id), now).await {
            Ok(stored) => stored,
            Err(StoreError::Expired(_) | StoreError::NotFound(_)) => break,
            Err(error) => {
                tracing::error!(%error, "loading the session to end its transfer failed");
                break;
            }
        };
        let (Some(event), Ok(engine)) = (event.clone(), app.engine(&stored.assistant_id, None)) else {
            break;
        };
        let session: Session = match serde_json::from_str(stored.state.get()) {
            Ok(session) => session,
            Err(error) => {
                tracing::error!(%error, "stored session unreadable");
                break;
            }
        };
        let EventTurn {
            session,
            entries: said,
            generic,
        } = event_turn(&engine, session, event, now);
        let state = serde_json::to_value(&session).unwrap_or_default();
        let record = TurnRecord {
            session_id: stored.id.clone(),
            expected_version: stored.version,
            state: raw(&state),
            at: now,
            entries: said,
            reply: None,
            transfer: Some(TransferWrite::Update(update_of(
                transfer,
                entries.clone().unwrap_or_default(),
                now,
            ))),
        };
        match app.store.commit_turn(record).await {
            Ok(_) => {
                entries = None;
                app.touch(session_id, now);
                if !generic.is_empty() {
                    app.events.publish(session_id, SessionEvent::Assistant { generic });
                }
                break;
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => {
                tracing::error!(%error, "committing the turn after the transfer failed");
                break;
            }
        }
    }
    // The session is gone (or its turn could not be committed): store the transfer alone.
    if let Some(entries) = entries
        && let Err(error) = app.store.update_transfer(update_of(transfer, entries, now)).await
    {
        tracing::error!(%error, "storing the transfer's end failed");
    }
}

// ---- the customer's side ----

/// Relays a committed customer message (stored with `id` in its payload) to the desk.
pub(crate) async fn relay(app: &App, loaded: &Loaded, id: &str, text: &str, at: DateTime<Utc>) {
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
    if let Err(error) = app.desk.service.send_to_agent(chat, message).await {
        tracing::warn!(%error, "relaying a customer message to the desk failed");
    }
}

/// The agent messages stored after the customer's previous message, before `seq` (this
/// message), as `output.generic` items.
pub(crate) async fn agent_messages_since_previous(
    app: &App,
    session_id: &SessionId,
    seq: u64,
) -> Result<Vec<GenericItem>, ApiError> {
    let entries = app.store.transcript(session_id).await?;
    let before: Vec<&TranscriptEntry> = entries.iter().filter(|entry| entry.seq < seq).collect();
    let after_customer = before
        .iter()
        .rposition(|entry| entry.kind == EntryKind::Customer)
        .map_or(0, |idx| idx + 1);
    Ok(before[after_customer..]
        .iter()
        .filter(|entry| entry.kind == EntryKind::Agent)
        .filter_map(|entry| {
            let payload: Json = serde_json::from_str(entry.payload.get()).ok()?;
            Some(GenericItem::Text {
                text: payload["text"].as_str()?.to_owned(),
                agent: Some(AgentName {
                    name: payload["agent"]["name"].as_str().unwrap_or("").to_owned(),
                }),
            })
        })
        .collect())
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
    app: &Arc<App>,
    session_id: &str,
    command: TransferCommand,
    event: Option<Event>,
) -> Result<bool, ApiError> {
    let Some(stored) = app.store.open_transfer_of(&SessionId::new(session_id)).await? else {
        return Ok(false);
    };
    let loaded = Loaded::decode(stored)?;
    let mut transfer = loaded.transfer;
    if let Some(chat) = transfer.chat().cloned() {
        let reason = match command {
            TransferCommand::Cancel => EndReason::Cancelled,
            _ => EndReason::CustomerLeft,
        };
        if let Err(error) = app.desk.service.end_chat(&chat, reason).await {
            tracing::warn!(%error, "the desk could not end the chat");
        }
        app.desk.remove_link(&chat);
    }
    let now = app.clock.now();
    let entries = transfer
        .apply(command, now)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let entries = entries.iter().map(transition_entry).collect();
    app.events.publish(
        session_id,
        SessionEvent::Ended {
            by: "customer".to_owned(),
        },
    );
    finish(app, session_id, &transfer, entries, event, now).await;
    Ok(true)
}

/// Customer typing or read frames from the session socket, to the desk.
pub(crate) async fn customer_signal(app: &App, session_id: &str, signal: CustomerSignal) {
    let chat = match app.store.open_transfer_of(&SessionId::new(session_id)).await {
        Ok(Some(stored)) => stored.chat_id,
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, "looking up the session's transfer failed");
            None
        }
    };
    let Some(chat) = chat.and_then(|chat| ChatId::parse(&chat).ok()) else {
        return;
    };
    let result = match signal {
        CustomerSignal::Typing(typing) => app.desk.service.customer_typing(&chat, typing).await,
        CustomerSignal::Read(up_to) => match MessageId::parse(&up_to) {
            Ok(up_to) => app.desk.service.customer_read(&chat, &up_to).await,
            Err(error) => Err(error),
        },
    };
    if let Err(error) = result {
        tracing::debug!(%error, "customer signal not delivered");
    }
}

pub(crate) enum CustomerSignal {
    Typing(bool),
    Read(String),
}

// ---- after a restart ----

/// Re-attaches every open transfer to the desk and starts its pump again.
pub(crate) async fn resume_all(app: &Arc<App>) -> Result<usize, ApiError> {
    let open = app.store.open_transfers().await?;
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
        let chat = match transfer.chat().cloned() {
            Some(chat) => {
                let agent = match transfer.state() {
                    TransferState::Active => transfer.agent().map(|agent| agent.id.clone()),
                    _ => None,
                };
                if let Some(agent) = &agent {
                    ensure_agent(app, agent).await;
                }
                let resume = ChatResume {
                    chat,
                    request: loaded.request.clone(),
                    queued_at: transfer.opened_at(),
                    agent,
                };
                app.desk.service.resume(resume).await
            }
            // Opened, but the process stopped before the desk was asked.
            None => app.desk.service.start_chat(loaded.request.clone()).await,
        };
        match chat {
            Ok(chat) => {
                if transfer.chat() != Some(&chat.id) {
                    transfer.attach_chat(chat.id.clone());
                    app.store
                        .update_transfer(update_of(&transfer, Vec::new(), app.clock.now()))
                        .await?;
                }
                spawn_pump(app, chat.id, transfer.id().clone(), session_id, chat.events);
                resumed += 1;
            }
            Err(error) => {
                tracing::warn!(%error, transfer = %transfer.id(), "an open transfer could not be resumed");
                fail(app, &session_id, transfer, error.to_string()).await;
            }
        }
    }
    Ok(resumed)
}

/// Makes sure the desk knows an agent (from the store) before a chat names them.
pub(crate) async fn ensure_agent(app: &App, id: &AgentId) -> Option<AgentConfig> {
    if let Some(agent) = app.desk.agent(id) {
        return Some(agent);
    }
    let record = match app.store.find_agent(id.as_str()).await {
        Ok(record) => record?,
        Err(error) => {
            tracing::warn!(%error, "loading an agent failed");
            return None;
        }
    };
    let agent = crate::agents::desk_agent(&record)?;
    app.desk.register_agent(agent.clone());
    Some(agent)
}
