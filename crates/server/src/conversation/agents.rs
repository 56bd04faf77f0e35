//! The agent's side of a transfer, as the agent API (`docs/agent-api.md`) needs it: signing in,
//! presence, which transfers an agent may see, and what an agent does with one. Everything
//! reaches the desk through its [`AgentConsole`](baton_desk::AgentConsole).
//!
//! Agents log in with a username and password checked against the store (`baton agents add`,
//! argon2) or the configuration; a login gets a random token, stored by its SHA-256 like API
//! keys (the token is random, so a plain hash is enough), valid for [`TOKEN_LIFETIME`], which
//! survives restarts.
//!
//! An agent sees only transfers of the queues they serve, or those the desk offered them or put
//! them in; any other id is [`ConversationError::TransferNotFound`], exactly like an unknown id,
//! so ids do not leak. What an agent does comes back through the chat's pump, which stores it:
//! a message is acknowledged only once the pump has committed it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use baton_desk::own::{AgentConfig, AgentEvent, Disposition, Presence, TransferTarget};
use baton_desk::{
    AgentConsole, AgentEvents, AgentId, ChatId, ChatRequest, DeskError, MessageId, QueueName, TransferState,
};
use baton_store::{AgentRecord, AgentToken, Ticket, TranscriptEntry};

use super::desk::{Notice, desk_agent};
use super::stored::{self, Loaded};
use super::transfer;
use super::{ConversationError, Conversations};

/// How long a login lasts.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a desk refusal means to the agent.
fn desk_refused(error: DeskError) -> ConversationError {
    match error {
        DeskError::NotOffered { .. } => ConversationError::NotOffered,
        DeskError::NotInChat { .. } | DeskError::UnknownChat(_) => ConversationError::NotInChat,
        DeskError::AgentBusy(_) | DeskError::UnknownAgent(_) => ConversationError::AgentUnavailable,
        DeskError::InvalidId { kind, value } => ConversationError::InvalidRequest(format!("invalid {kind}: {value:?}")),
        other => ConversationError::Internal(format!("desk: {other}")),
    }
}

/// A signed-in agent.
pub struct SignedIn {
    pub agent: AgentConfig,
    token_hash: String,
}

/// A new login.
pub struct Login {
    pub token: String,
    pub agent: AgentConfig,
    pub expires_at: DateTime<Utc>,
    pub presence: Option<Presence>,
}

/// Where an agent passes a chat on to.
pub enum PassOn {
    Agent(String),
    Queue(String),
}

/// A signal from an agent's console for the customer.
pub enum AgentSignal {
    Typing(bool),
    /// Read up to this message id.
    Read(String),
}

/// A queue as the supervisor view shows it.
pub struct QueueView {
    pub name: QueueName,
    pub waiting: u32,
    pub oldest_wait_secs: Option<u64>,
    pub agents_online: usize,
}

/// A colleague in the supervisor view.
pub struct ColleagueView {
    pub agent: AgentConfig,
    pub presence: Presence,
    pub chats: usize,
}

/// A customer waiting, in the supervisor view.
pub struct WaitingView {
    pub loaded: Loaded,
    pub queue: QueueName,
    pub since: DateTime<Utc>,
}

/// The supervisor view: the queues the agent serves, their colleagues, who waits.
pub struct Overview {
    pub queues: Vec<QueueView>,
    pub agents: Vec<ColleagueView>,
    pub waiting: Vec<WaitingView>,
}

/// Whole seconds from `since` to `now`, never negative.
pub fn wait_secs(since: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((now - since).num_seconds()).unwrap_or(0)
}

impl Conversations {
    /// The desk's agent side; a desk without one has no agent API.
    pub fn console(&self) -> Result<&dyn AgentConsole, ConversationError> {
        self.desk.console().ok_or(ConversationError::NoConsole)
    }

    /// The agent a login token belongs to.
    pub async fn sign_in(&self, token: Option<&str>) -> Result<SignedIn, ConversationError> {
        let token = token
            .filter(|token| !token.is_empty())
            .ok_or(ConversationError::Unauthorized)?;
        let hash = token_hash(token);
        let found = self.store.find_agent_token(&hash, self.clock.now()).await?;
        let found = found.ok_or(ConversationError::Unauthorized)?;
        let id = AgentId::parse(&found.username).map_err(|_| ConversationError::Unauthorized)?;
        let agent = transfer::ensure_agent(self, &id)
            .await
            .ok_or(ConversationError::Unauthorized)?;
        Ok(SignedIn {
            agent,
            token_hash: hash,
        })
    }

    /// Checks a username and password and makes a login token.
    pub async fn log_in(&self, username: &str, password: String) -> Result<Login, ConversationError> {
        let record = self.credentials(username).await?;
        let Some(record) = record else {
            return Err(ConversationError::BadCredentials);
        };
        let hash = record.password_hash.clone();
        let verified = tokio::task::spawn_blocking(move || baton_store::password::verify(&password, &hash))
            .await
            .unwrap_or(false);
        if !verified {
            tracing::info!(agent = %username, "agent login refused");
            return Err(ConversationError::BadCredentials);
        }
        let agent = desk_agent(&record).ok_or(ConversationError::BadCredentials)?;
        self.desk.register_agent(agent.clone()).await;
        let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let now = self.clock.now();
        let expires_at = now + chrono::Duration::from_std(TOKEN_LIFETIME).unwrap_or(chrono::Duration::MAX);
        self.store
            .create_agent_token(AgentToken {
                hash: token_hash(&token),
                username: record.username.clone(),
                created_at: now,
                expires_at,
            })
            .await?;
        tracing::info!(agent = %agent.id, "agent logged in");
        let presence = self.console()?.presence(&agent.id).await.map_err(desk_refused)?;
        Ok(Login {
            token,
            agent,
            expires_at,
            presence,
        })
    }

    /// The stored agent, or one from the configuration (then stored, so its tokens are valid).
    async fn credentials(&self, username: &str) -> Result<Option<AgentRecord>, ConversationError> {
        if let Some(record) = self.store.find_agent(username).await? {
            return Ok(Some(record));
        }
        let configured = self.settings.agents.iter().find(|agent| agent.id.as_str() == username);
        let Some(configured) = configured else {
            return Ok(None);
        };
        let Some(password_hash) = configured.password_hash.clone() else {
            return Ok(None);
        };
        let record = AgentRecord {
            username: username.to_owned(),
            display_name: configured.name.clone(),
            password_hash,
            queues: configured.queues.iter().map(ToString::to_string).collect(),
            capacity: configured.capacity,
            created_at: self.clock.now(),
        };
        self.store.upsert_agent(record.clone()).await?;
        Ok(Some(record))
    }

    /// The token stops working.
    pub async fn log_out(&self, signed_in: &SignedIn) -> Result<(), ConversationError> {
        self.store.revoke_agent_token(&signed_in.token_hash).await?;
        tracing::info!(agent = %signed_in.agent.id, "agent logged out");
        Ok(())
    }

    pub async fn set_presence(&self, agent: &AgentId, presence: Presence) -> Result<(), ConversationError> {
        self.console()?
            .set_presence(agent, presence)
            .await
            .map_err(desk_refused)?;
        self.desk.notify(agent, Notice::Presence(presence));
        tracing::info!(agent = %agent, presence = ?presence, "agent presence");
        Ok(())
    }

    pub async fn presence(&self, agent: &AgentId) -> Presence {
        match self.console() {
            Ok(console) => console
                .presence(agent)
                .await
                .ok()
                .flatten()
                .unwrap_or(Presence::Offline),
            Err(_) => Presence::Offline,
        }
    }

    /// What a console opening needs: the agent's events from now on, the offers waiting for
    /// them and the chats they are in.
    pub async fn open_console(
        &self,
        agent: &AgentId,
    ) -> Result<(AgentEvents, Vec<AgentEvent>, Vec<ChatId>), ConversationError> {
        let console = self.console()?;
        let events = console.agent_events(agent).await.map_err(desk_refused)?;
        let offers = console.pending_offers(agent).await.map_err(desk_refused)?;
        let chats = console.active_chats(agent).await.map_err(desk_refused)?;
        Ok((events, offers, chats))
    }

    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<(AgentId, Notice)> {
        self.desk.notices()
    }

    /// The queue a chat request routes to (the desk's default when it names none).
    pub fn queue_of(&self, request: &ChatRequest) -> QueueName {
        request
            .routing
            .queue
            .clone()
            .unwrap_or_else(|| self.settings.default_queue.clone())
    }

    pub fn default_queue(&self) -> &QueueName {
        &self.settings.default_queue
    }

    /// The desk's time, for waits shown to agents.
    pub fn desk_now(&self) -> DateTime<Utc> {
        match self.console() {
            Ok(console) => console.now(),
            Err(_) => self.clock.now(),
        }
    }

    /// The transfer a chat belongs to: this process's link, else the store.
    pub async fn transfer_of_chat(&self, chat: &ChatId) -> Option<String> {
        if let Some(link) = self.desk.link(chat) {
            return Some(link.transfer.to_string());
        }
        match self.store.find_transfer_by_chat(chat.as_str()).await {
            Ok(found) => found.map(|stored| stored.id),
            Err(error) => {
                tracing::warn!(%error, "looking up a chat's transfer failed");
                None
            }
        }
    }

    /// A chat's transfer, read back.
    pub async fn chat_transfer(&self, chat: &ChatId) -> Option<Loaded> {
        let transfer = self.transfer_of_chat(chat).await?;
        stored::load(self, &transfer).await.ok()?
    }

    /// The transfer, if it exists and belongs to a queue the agent serves, or the desk has
    /// offered it to the agent or put them in its chat (after it was passed on to their queue
    /// or to them).
    pub async fn visible(&self, agent: &AgentConfig, id: &str) -> Result<Loaded, ConversationError> {
        let loaded = stored::load(self, id)
            .await?
            .ok_or(ConversationError::TransferNotFound)?;
        let queue = loaded.queue(&self.settings.default_queue);
        if agent.serves(&queue) {
            return Ok(loaded);
        }
        let Some(chat) = loaded.transfer.chat() else {
            return Err(ConversationError::TransferNotFound);
        };
        let console = self.console()?;
        let offers = console.pending_offers(&agent.id).await.map_err(desk_refused)?;
        let offered = offers.iter().any(|offer| match offer {
            AgentEvent::Offer { chat: offered, .. } => offered == chat,
            _ => false,
        });
        let in_chat = console
            .active_chats(&agent.id)
            .await
            .map_err(desk_refused)?
            .contains(chat);
        match offered || in_chat {
            true => Ok(loaded),
            false => Err(ConversationError::TransferNotFound),
        }
    }

    /// A transfer the agent may see, with the session's whole transcript.
    pub async fn transfer_for_agent(
        &self,
        agent: &AgentConfig,
        id: &str,
    ) -> Result<(Loaded, Vec<TranscriptEntry>), ConversationError> {
        let loaded = self.visible(agent, id).await?;
        let transcript = self.store.transcript(&loaded.stored.session_id).await?;
        Ok((loaded, transcript))
    }

    /// The desk's chat of a visible transfer.
    async fn chat_of(
        &self,
        agent: &AgentConfig,
        id: &str,
        missing: ConversationError,
    ) -> Result<ChatId, ConversationError> {
        let loaded = self.visible(agent, id).await?;
        if let Some(chat) = loaded.transfer.chat() {
            return Ok(chat.clone());
        }
        if !loaded.transfer.is_open() {
            return Err(missing);
        }
        // The desk is being asked for the chat (an offer can reach an agent before the chat's
        // id is stored): the task asking holds the session's lock until it is.
        drop(self.locks.lock(loaded.stored.session_id.as_str()).await);
        let loaded = self.visible(agent, id).await?;
        loaded.transfer.chat().cloned().ok_or(missing)
    }

    /// The agent takes an offered chat; answered once the chat's new state is committed, so an
    /// accepted chat stays with the agent whatever happens to this server next.
    pub async fn accept(&self, agent: &AgentConfig, id: &str) -> Result<(), ConversationError> {
        let chat = self.chat_of(agent, id, ConversationError::NotOffered).await?;
        self.desk.forget_joined(&chat);
        self.console()?.accept(&agent.id, &chat).await.map_err(desk_refused)?;
        if !self.desk.joined_committed(&chat).await {
            return Err(ConversationError::NotStored);
        }
        // The agent's other consoles learn about the chat too.
        self.desk.notify(&agent.id, Notice::ChatAccepted(chat));
        Ok(())
    }

    pub async fn decline(&self, agent: &AgentConfig, id: &str) -> Result<(), ConversationError> {
        let chat = self.chat_of(agent, id, ConversationError::NotOffered).await?;
        self.console()?.decline(&agent.id, &chat).await.map_err(desk_refused)
    }

    /// The agent writes to the customer; answered once the message is in the transcript, with
    /// the id it is stored under.
    pub async fn agent_message(
        &self,
        agent: &AgentConfig,
        id: &str,
        text: String,
    ) -> Result<(String, baton_desk::AgentMessage), ConversationError> {
        let chat = self.chat_of(agent, id, ConversationError::NotInChat).await?;
        let sent = self
            .console()?
            .agent_message(&agent.id, &chat, text)
            .await
            .map_err(desk_refused)?;
        let stored = self
            .desk
            .committed(&sent.id)
            .await
            .ok_or(ConversationError::NotStored)?;
        Ok((stored, sent))
    }

    pub async fn pass_on(&self, agent: &AgentConfig, id: &str, target: PassOn) -> Result<(), ConversationError> {
        let target = match target {
            PassOn::Agent(other) => {
                let other = AgentId::parse(&other).map_err(desk_refused)?;
                transfer::ensure_agent(self, &other).await;
                TransferTarget::Agent(other)
            }
            PassOn::Queue(queue) => TransferTarget::Queue(QueueName::parse(&queue).map_err(desk_refused)?),
        };
        let chat = self.chat_of(agent, id, ConversationError::NotInChat).await?;
        self.console()?
            .pass_on(&agent.id, &chat, target)
            .await
            .map_err(desk_refused)
    }

    pub async fn end(&self, agent: &AgentConfig, id: &str, disposition: Disposition) -> Result<(), ConversationError> {
        let chat = self.chat_of(agent, id, ConversationError::NotInChat).await?;
        self.console()?
            .end(&agent.id, &chat, disposition)
            .await
            .map_err(desk_refused)
    }

    /// Typing or read receipts from the agent's console, for one of their chats.
    pub async fn agent_signal(&self, agent: &AgentConfig, transfer: &str, signal: AgentSignal) -> Result<(), String> {
        let chat = match self.visible(agent, transfer).await {
            Ok(loaded) => loaded.transfer.chat().cloned(),
            Err(_) => None,
        };
        let Some(chat) = chat else {
            return Err(format!("transfer {transfer} is not one of your chats"));
        };
        let console = self.console().map_err(|error| error.to_string())?;
        let result = match signal {
            AgentSignal::Typing(typing) => console.agent_typing(&agent.id, &chat, typing).await,
            AgentSignal::Read(up_to) => match MessageId::parse(&up_to) {
                Ok(up_to) => console.agent_read(&agent.id, &chat, up_to).await,
                Err(error) => Err(error),
            },
        };
        result.map_err(|error| error.to_string())
    }

    /// Queues, agents and waiting customers, for the queues the agent serves.
    pub async fn overview(&self, me: &AgentConfig) -> Result<Overview, ConversationError> {
        let console = self.console()?;
        let default = self.settings.default_queue.clone();
        let open = self.store.open_transfers().await?;
        let mut waiting = Vec::new();
        let mut names: BTreeSet<QueueName> = self.settings.queues.iter().cloned().collect();
        names.insert(default.clone());
        let agents = self.desk.agents();
        for agent in &agents {
            names.extend(agent.queues.iter().cloned());
        }
        let mut oldest: BTreeMap<QueueName, DateTime<Utc>> = BTreeMap::new();
        for stored in open {
            let Ok(loaded) = Loaded::decode(stored) else {
                continue;
            };
            let queue = loaded.queue(&default);
            names.insert(queue.clone());
            let is_waiting = matches!(
                loaded.transfer.state(),
                TransferState::Requested | TransferState::Queued | TransferState::Offered | TransferState::Unavailable
            );
            if !is_waiting || !me.serves(&queue) {
                continue;
            }
            let since = loaded.transfer.opened_at();
            oldest
                .entry(queue.clone())
                .and_modify(|first| *first = (*first).min(since))
                .or_insert(since);
            waiting.push(WaitingView { loaded, queue, since });
        }
        let now = self.clock.now();
        let mut presence = BTreeMap::new();
        for agent in &agents {
            let state = console
                .presence(&agent.id)
                .await
                .ok()
                .flatten()
                .unwrap_or(Presence::Offline);
            presence.insert(agent.id.clone(), state);
        }
        let mut queues = Vec::new();
        for queue in names.iter().filter(|queue| me.serves(queue)) {
            let availability = console.queue_availability(Some(queue)).await.map_err(desk_refused)?;
            let online = agents
                .iter()
                .filter(|agent| agent.serves(queue) && presence.get(&agent.id) == Some(&Presence::Online))
                .count();
            queues.push(QueueView {
                name: queue.clone(),
                waiting: availability.position.unwrap_or(1).saturating_sub(1),
                oldest_wait_secs: oldest.get(queue).map(|since| wait_secs(*since, now)),
                agents_online: online,
            });
        }
        let mut colleagues = Vec::new();
        for agent in agents
            .iter()
            .filter(|agent| names.iter().any(|queue| me.serves(queue) && agent.serves(queue)))
        {
            colleagues.push(ColleagueView {
                agent: agent.clone(),
                presence: presence.get(&agent.id).copied().unwrap_or(Presence::Offline),
                chats: console.active_chats(&agent.id).await.map_err(desk_refused)?.len(),
            });
        }
        Ok(Overview {
            queues,
            agents: colleagues,
            waiting,
        })
    }

    /// Messages customers left while no agent was available, for the agent's queues.
    pub async fn tickets_for(&self, agent: &AgentConfig) -> Result<Vec<Ticket>, ConversationError> {
        let default = &self.settings.default_queue;
        let tickets = self.store.list_tickets().await?;
        Ok(tickets
            .into_iter()
            .filter(|ticket| {
                let queue = ticket
                    .queue
                    .as_deref()
                    .and_then(|queue| QueueName::parse(queue).ok())
                    .unwrap_or_else(|| default.clone());
                agent.serves(&queue)
            })
            .collect())
    }
}
