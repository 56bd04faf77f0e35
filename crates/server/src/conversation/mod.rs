//! The conversation: a session's turns, its transfer to a human agent, and the events between
//! turns. HTTP handlers (`api`, `agents`, `events`, `web`) call [`Conversations`] and map its
//! [`ConversationError`] to responses; nothing here knows HTTP or the wire format.
//!
//! - `turn`: one customer message, from the stored session to the committed reply;
//! - `transfer`: opening a transfer with a turn, the customer's side of it, resuming after a
//!   restart; `pump`: what the desk says back, one task per chat;
//! - `agents`: the agent's side, through the desk's [`AgentConsole`](baton_desk::AgentConsole);
//! - `events`: what reaches the customer's socket between turns;
//! - `transcript`: entries in the store's terms; `sessions`: locks and the recent sessions;
//!   `desk`: the desk and what this process keeps about its chats.
//!
//! Invariant: every change to a session, and to its transfer, happens under the session's lock
//! after reloading it from the store; a reply is rendered and committed with its turn before it
//! is sent.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::to_raw_value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use baton_desk::own::AgentConfig;
use baton_desk::{QueueName, ServiceDesk, TransferCommand};
use baton_dialog::{Engine, Event, Session, TransferOutcome};
use baton_store::{NewSession, SessionId, Store, StoreError, StoredSession, TranscriptEntry};

use crate::assistants::Assistants;
use crate::clock::Clock;
use crate::config::ConfiguredAgent;
use crate::metrics::Metrics;

pub mod agents;
mod calls;
mod desk;
pub mod events;
pub mod history;
mod lead;
mod pump;
mod sessions;
mod stored;
pub mod transcript;
pub mod transfer;
pub mod turn;
mod webhooks;

pub use calls::{keypad_answer, waiting_question};
pub use desk::Notice;
pub use events::{EventHub, Numbered, SessionEvent};
pub use pump::ended_by;
pub use transfer::CustomerSignal;
pub use turn::{CustomerMessage, Render, Reply, TurnInput};

use desk::Desk;
use sessions::{ActiveSessions, SessionLocks};

/// What a conversation can fail with; the HTTP side maps each to a response.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error("assistant {0} not found")]
    AssistantNotFound(String),
    /// Unknown, or of another assistant.
    #[error("session not found")]
    SessionNotFound,
    /// Ended by inactivity or deleted.
    #[error("session has ended")]
    SessionExpired,
    #[error("the session was changed by another writer at the same time")]
    Conflict,
    /// No such transfer, or not one the agent may see (the same for both).
    #[error("transfer not found")]
    TransferNotFound,
    #[error("the transfer is not offered to this agent")]
    NotOffered,
    #[error("the agent is not in this chat")]
    NotInChat,
    #[error("that agent cannot take the chat now")]
    AgentUnavailable,
    /// No, an unknown, an expired or a revoked agent token.
    #[error("not signed in")]
    Unauthorized,
    #[error("wrong username or password")]
    BadCredentials,
    /// The desk's agents do not use Baton's console.
    #[error("the desk has no agent console")]
    NoConsole,
    #[error("{0}")]
    InvalidRequest(String),
    /// No configured desk of that name takes webhooks.
    #[error("no desk {0} takes webhooks")]
    DeskNotFound(String),
    #[error("desk signature rejected: {0}")]
    DeskSignature(String),
    #[error("invalid desk event: {0}")]
    DeskEvent(String),
    #[error("no open chat {0}")]
    ChatNotFound(String),
    /// With replicas: no server holding the desk answered in time (one is taking over).
    #[error("no server holds the desk now")]
    DeskElsewhere,
    #[error("history link not valid")]
    HistoryLinkInvalid,
    /// A phone turn answering a prompt that is not the session's current one, and not answered before.
    #[error("turn {turn} is not the call's current turn")]
    StaleTurn { turn: u32 },
    /// An agent's message was not stored in time; the customer may or may not have it.
    #[error("the message was not stored in time")]
    NotStored,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// What the conversation needs to know of the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A session idle this long ends.
    pub session_timeout: Duration,
    /// The queue of a transfer that names none.
    pub default_queue: QueueName,
    /// The queues the configuration lists (the supervisor view shows them even when empty).
    pub queues: Vec<QueueName>,
    /// Agents listed in the configuration, who may log in with their password hash.
    pub agents: Vec<ConfiguredAgent>,
    /// Whether the simulated desk of stateless messages has agents online.
    pub agents_online: bool,
    /// Per queue, the desks in failover order (`[routes]`).
    pub routes: std::collections::BTreeMap<String, Vec<String>>,
    /// This server's address as desks reach it, for history links.
    pub public_url: String,
    /// How long a history link stays valid.
    pub history_link_ttl: Duration,
    /// The key history links are signed with.
    pub history_key: Vec<u8>,
}

/// Every conversation this process serves.
pub struct Conversations {
    assistants: Assistants,
    store: Arc<dyn Store>,
    clock: Clock,
    settings: Settings,
    desk: Desk,
    events: EventHub,
    locks: SessionLocks,
    active: ActiveSessions,
    metrics: Arc<Metrics>,
    /// Turns in flight and the sweeper: shutdown waits for them.
    tracker: TaskTracker,
    /// This process among the replicas sharing the database: events it relays carry it.
    replica: String,
    /// Whether this process holds the desk, and its calls to the one that does.
    lead: lead::Lead,
    /// This value itself, for work that outlives a call (a desk call answered for another server).
    me: std::sync::Weak<Conversations>,
}

impl Conversations {
    pub fn new(
        settings: Settings,
        assistants: Assistants,
        store: Arc<dyn Store>,
        clock: Clock,
        desk: Arc<dyn ServiceDesk>,
        named: Vec<crate::desks::NamedDesk>,
        metrics: Arc<Metrics>,
    ) -> Arc<Conversations> {
        let configured: Vec<AgentConfig> = settings.agents.iter().map(ConfiguredAgent::desk_agent).collect();
        Arc::new_cyclic(|me| Conversations {
            me: me.clone(),
            desk: Desk::new(desk, &configured, named, &settings.routes),
            assistants,
            store,
            clock,
            settings,
            events: EventHub::default(),
            locks: SessionLocks::default(),
            active: ActiveSessions::default(),
            metrics,
            tracker: TaskTracker::new(),
            replica: uuid::Uuid::new_v4().simple().to_string(),
            lead: lead::Lead::new(),
        })
    }

    /// Takes the desk (with replicas, once this process holds it: `lead`), and starts ending
    /// idle sessions until `stop`.
    pub async fn start(self: &Arc<Self>, stop: CancellationToken) {
        if self.store.shared() {
            relay(self, stop.clone()).await;
            tokio::spawn(lead::contest(self.clone(), stop.clone()));
        } else {
            self.lead.set_holds(true);
            self.take_desk().await;
        }
        self.tracker.spawn(sweep(self.clone(), stop));
    }

    /// Makes the store's agents known to the desk and re-attaches the open transfers.
    async fn take_desk(self: &Arc<Self>) {
        match self.store.list_agents().await {
            Ok(records) => {
                for record in &records {
                    if let Some(agent) = desk::desk_agent(record) {
                        self.desk.register_agent(agent).await;
                    }
                }
            }
            Err(error) => tracing::error!(%error, "loading agents failed"),
        }
        match self.store.open_transfers().await {
            Ok(open) => self.metrics.set_transfers_open(open.len() as i64),
            Err(error) => tracing::error!(%error, "counting open transfers failed"),
        }
        match transfer::resume_all(self).await {
            Ok(0) => {}
            Ok(resumed) => tracing::info!(n_transfers = resumed, "open transfers resumed"),
            Err(error) => tracing::error!(%error, "resuming open transfers failed"),
        }
    }

    /// Whether this process holds the desk now: always with one server; with replicas, the one
    /// that took it (agent routes are served there).
    pub fn holds_desk(&self) -> bool {
        self.lead.holds()
    }

    /// Cancelled when this process must stop because another server took the desk while it had
    /// lost its database connection.
    pub fn desk_superseded(&self) -> CancellationToken {
        self.lead.superseded.clone()
    }

    /// Stops the chat pumps and agent consoles: what the desk says from here on is lost with
    /// the process, and an agent's message not yet stored was not acknowledged.
    pub fn stop_desk(&self) {
        self.desk.stop.cancel();
    }

    /// A token cancelled by [`Conversations::stop_desk`], for sockets to close on.
    pub fn desk_stopped(&self) -> CancellationToken {
        self.desk.stop.clone()
    }

    /// Waits up to `grace` for the turns in flight; false if some were still running.
    pub async fn finish(&self, grace: Duration) -> bool {
        self.tracker.close();
        match tokio::time::timeout(grace, self.tracker.wait()).await {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!(
                    n_turns = self.tracker.len(),
                    "shutdown grace period over with turns still running"
                );
                false
            }
        }
    }

    /// The engine serving an assistant now.
    pub fn engine(&self, assistant_id: &str) -> Option<Arc<Engine>> {
        self.assistants.get(assistant_id)
    }

    pub fn assistants(&self) -> &Assistants {
        &self.assistants
    }

    /// A history link to the conversation of `session_id`, for a desk's agent.
    pub fn history_link(&self, session_id: &str) -> String {
        history::link(self, session_id)
    }

    /// The session's events, for its sockets.
    pub fn events(&self) -> &EventHub {
        &self.events
    }

    /// Open sessions active within the timeout, as seen by this process.
    pub fn count_active(&self) -> usize {
        let timeout = chrono::Duration::from_std(self.settings.session_timeout).unwrap_or(chrono::Duration::MAX);
        self.active.count_since(self.clock.now() - timeout)
    }

    /// Starts a session of an assistant; its id.
    pub async fn create_session(&self, assistant_id: &str) -> Result<String, ConversationError> {
        if !self.assistants.contains(assistant_id) {
            return Err(ConversationError::AssistantNotFound(assistant_id.to_owned()));
        }
        let now = self.clock.now();
        let id = uuid::Uuid::new_v4().to_string();
        let session = Session::new(None, Some("api".to_owned()));
        let state = to_raw_value(&session).map_err(|error| ConversationError::Internal(error.to_string()))?;
        let new = NewSession {
            id: SessionId::new(id.clone()),
            assistant_id: assistant_id.to_owned(),
            state,
            created_at: now,
            idle_timeout: self.settings.session_timeout,
        };
        self.store.create_session(new).await?;
        self.active.touch(&id, now);
        self.metrics.session_created();
        tracing::info!(session_id = %id, assistant = %assistant_id, "session created");
        Ok(id)
    }

    /// Loads a session that exists, belongs to this assistant, and is open.
    pub async fn open_session(&self, assistant_id: &str, session_id: &str) -> Result<StoredSession, ConversationError> {
        let stored = self
            .store
            .load_session(&SessionId::new(session_id), self.clock.now())
            .await
            .map_err(session_error)?;
        match stored.assistant_id == assistant_id {
            true => Ok(stored),
            false => Err(ConversationError::SessionNotFound),
        }
    }

    /// An open session's transcript.
    pub async fn transcript(
        &self,
        assistant_id: &str,
        session_id: &str,
    ) -> Result<Vec<TranscriptEntry>, ConversationError> {
        let stored = self.open_session(assistant_id, session_id).await?;
        Ok(self.store.transcript(&stored.id).await?)
    }

    /// Ends a session (its transcript is kept); an open transfer is abandoned.
    pub async fn delete_session(&self, assistant_id: &str, session_id: &str) -> Result<(), ConversationError> {
        let _guard = self.locks.lock(session_id).await;
        let stored = self.open_session(assistant_id, session_id).await?;
        self.store.end_session(&stored.id, self.clock.now()).await?;
        transfer::end_by_customer(self, session_id, TransferCommand::Abandon, None).await?;
        self.active.forget(session_id);
        self.metrics.session_deleted();
        tracing::info!(session_id = %session_id, "session deleted");
        Ok(())
    }

    /// The customer no longer waits for an agent (or leaves the chat); the assistant answers
    /// again. False when no transfer was open.
    pub async fn cancel_transfer(&self, assistant_id: &str, session_id: &str) -> Result<bool, ConversationError> {
        let _guard = self.locks.lock(session_id).await;
        self.open_session(assistant_id, session_id).await?;
        let event = Event::TransferEnded {
            outcome: TransferOutcome::Cancelled,
        };
        let cancelled = transfer::end_by_customer(self, session_id, TransferCommand::Cancel, Some(event)).await?;
        if cancelled {
            tracing::info!(session_id = %session_id, "transfer cancelled by the customer");
        }
        Ok(cancelled)
    }

    /// Typing or read receipts from the customer's socket, for the agent.
    pub async fn customer_signal(&self, session_id: &str, signal: CustomerSignal) {
        transfer::customer_signal(self, session_id, signal).await;
    }

    /// The preview's simulated desk: publishes `event` to an open session's sockets.
    pub async fn simulate(&self, session_id: &str, event: SessionEvent) -> Result<u64, ConversationError> {
        self.store
            .load_session(&SessionId::new(session_id), self.clock.now())
            .await
            .map_err(session_error)?;
        Ok(self.events.publish(session_id, event))
    }

    /// The customer of an expired session has gone: their transfer is abandoned.
    async fn abandon(&self, session_id: &str) {
        let guard = self.locks.lock(session_id).await;
        let result = transfer::end_by_customer(self, session_id, TransferCommand::Abandon, None).await;
        drop(guard);
        if let Err(error) = result {
            tracing::warn!(%error, session_id = %session_id, "abandoning the transfer of an expired session failed");
        }
    }
}

/// A store error about the session itself.
fn session_error(error: StoreError) -> ConversationError {
    match error {
        StoreError::NotFound(_) => ConversationError::SessionNotFound,
        StoreError::Expired(_) => ConversationError::SessionExpired,
        other => ConversationError::Store(other),
    }
}

/// With replicas (a database other processes share): events published here are broadcast to the
/// other replicas, and theirs delivered here; calls for the desk and their answers are heard
/// (`lead`). Until `stop`.
async fn relay(conversations: &Arc<Conversations>, stop: CancellationToken) {
    tracing::info!(
        "the database is shared with other servers: conversations are served by any of them, the desk by \
         the one holding it (docs/deploy.md)"
    );
    let mut incoming = match conversations.store.listen().await {
        Ok(Some(incoming)) => incoming,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "cannot hear the other replicas: sockets get only this replica's events");
            return;
        }
    };
    let (outgoing, mut outbox) = tokio::sync::mpsc::unbounded_channel();
    conversations.events.relay_to(outgoing);
    let (store, replica, stopped) = (conversations.store.clone(), conversations.replica.clone(), stop.clone());
    tokio::spawn(async move {
        loop {
            let (session, event) = tokio::select! {
                () = stopped.cancelled() => return,
                next = outbox.recv() => match next {
                    Some(next) => next,
                    None => return,
                },
            };
            let relayed = lead::Bus::Event(events::Relayed {
                from: replica.clone(),
                session,
                event,
            });
            let Ok(message) = serde_json::to_string(&relayed) else {
                continue;
            };
            if let Err(error) = store.broadcast(&message).await {
                tracing::warn!(%error, "an event did not reach the other replicas");
            }
        }
    });
    let conversations = conversations.clone();
    tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                next = incoming.recv() => match next {
                    Some(message) => message,
                    None => return,
                },
            };
            match serde_json::from_str::<lead::Bus>(&message) {
                Ok(lead::Bus::Event(relayed)) if relayed.from != conversations.replica => {
                    conversations.events.deliver_relayed(&relayed.session, relayed.event);
                }
                Ok(lead::Bus::Event(_)) => {}
                Ok(other) => lead::heard(&conversations, other),
                Err(error) => tracing::warn!(%error, "an unreadable message from another replica"),
            }
        }
    });
}

/// Ends sessions idle past their timeout, every quarter of the timeout (at most every minute),
/// so the store marks them ended and the expired counter moves even if nobody writes to them again.
async fn sweep(conversations: Arc<Conversations>, stop: CancellationToken) {
    let period = (conversations.settings.session_timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        match conversations.store.expire_idle(conversations.clock.now()).await {
            Ok(expired) => {
                for id in &expired {
                    conversations.active.forget(id.as_str());
                    conversations.metrics.session_expired();
                    conversations.abandon(id.as_str()).await;
                }
                if !expired.is_empty() {
                    tracing::info!(n_sessions = expired.len(), "sessions expired");
                }
            }
            Err(error) => tracing::warn!(%error, "expiring idle sessions failed"),
        }
    }
}
