//! The state of Baton's own desk and every change to it, as pure functions of `(state, input, now)`.
//!
//! Each change returns the [`Output`]s to deliver (events for a chat, events for an agent); the
//! async shell in [`super`] only delivers them and wakes up at [`DeskState::next_deadline`].
//! Routing decisions (who gets offered what, queue positions, timeouts) are made by
//! [`super::routing::decide`] and carried out by [`DeskState::settle`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::hours::BusinessHours;
use super::routing::{self, Decision};
use crate::DeskError;
use crate::ids::{AgentId, ChatId, MessageId, QueueName};
use crate::service_desk::{
    AgentMessage, AgentProfile, Availability, ChatRequest, ChatResume, CustomerMessage, DeskEvent, EndReason, EndedBy,
    OfflinePolicy, Online,
};

/// A human agent of Baton's own desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub id: AgentId,
    pub name: String,
    /// The queues this agent serves; empty = every queue.
    #[serde(default)]
    pub queues: Vec<QueueName>,
    /// How many chats (active or offered) the agent takes at once.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
}

fn default_capacity() -> u32 {
    3
}

impl AgentConfig {
    pub fn serves(&self, queue: &QueueName) -> bool {
        self.queues.is_empty() || self.queues.contains(queue)
    }
    pub fn profile(&self) -> AgentProfile {
        AgentProfile {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// A queue of Baton's own desk. Queues that are not configured behave as open, waiting queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub name: QueueName,
    /// Outside these hours the queue is unavailable; none = always open.
    #[serde(default)]
    pub hours: Option<BusinessHours>,
    #[serde(default)]
    pub offline_policy: OfflinePolicy,
}

/// Timeouts and defaults of Baton's own desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeskSettings {
    /// How long an offered agent has to accept before the chat goes to the next agent.
    #[serde(with = "secs")]
    pub accept_timeout: Duration,
    /// How long a customer waits for an agent to join before the transfer times out.
    #[serde(with = "secs")]
    pub join_timeout: Duration,
    /// The queue of transfers that name none.
    pub default_queue: QueueName,
    /// The assumed length of a chat until the desk has measured some, for the estimated wait.
    #[serde(with = "secs")]
    pub mean_handle_time: Duration,
    /// How often the desk re-checks business hours while someone waits on a closed queue.
    #[serde(with = "secs")]
    pub hours_check_interval: Duration,
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            accept_timeout: Duration::from_secs(30),
            join_timeout: Duration::from_secs(15 * 60),
            default_queue: QueueName::parse("default").expect("valid queue name"),
            mean_handle_time: Duration::from_secs(5 * 60),
            hours_check_interval: Duration::from_secs(60),
        }
    }
}

/// Everything Baton's own desk is configured with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OwnDeskConfig {
    pub settings: DeskSettings,
    pub agents: Vec<AgentConfig>,
    pub queues: Vec<QueueConfig>,
}

/// Whether an agent takes chats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    /// Logged in, keeps their chats, gets no new offers.
    Away,
    Offline,
}

/// Desk → one agent (every console the agent has open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// A chat for this agent; accept before `expires_at` or it goes to the next agent.
    Offer {
        chat: ChatId,
        request: Box<ChatRequest>,
        /// Customer messages sent while waiting.
        waiting_messages: Vec<CustomerMessage>,
        expires_at: DateTime<Utc>,
        /// Another agent passed the chat on to this one.
        from_agent: Option<AgentProfile>,
    },
    OfferWithdrawn {
        chat: ChatId,
        reason: WithdrawReason,
    },
    CustomerMessage {
        chat: ChatId,
        message: CustomerMessage,
    },
    CustomerTyping {
        chat: ChatId,
        typing: bool,
    },
    CustomerRead {
        chat: ChatId,
        up_to: MessageId,
    },
    /// The chat is over for this agent (the customer left, or the chat timed out).
    ChatEnded {
        chat: ChatId,
        by: EndedBy,
        reason: EndReason,
    },
    /// How many customers wait in a queue this agent serves, and since when the first.
    QueueChanged {
        queue: QueueName,
        waiting: u32,
        oldest_since: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawReason {
    Declined,
    TimedOut,
    CustomerLeft,
    AgentOffline,
}

/// Where an agent action sends a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum TransferTarget {
    Agent(AgentId),
    Queue(QueueName),
}

/// How the agent ends a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Disposition {
    Resolved,
    /// Back to the assistant, which sets `variables` and runs action `resume` if given.
    HandBack {
        resume: Option<String>,
        #[serde(default)]
        variables: BTreeMap<String, serde_json::Value>,
    },
}

/// Something to deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Chat(ChatId, DeskEvent),
    Agent(AgentId, AgentEvent),
    /// The chat is gone: end its event stream.
    Closed(ChatId),
}

#[derive(Debug, Clone)]
pub(crate) struct AgentState {
    pub config: AgentConfig,
    pub presence: Presence,
    /// Since when the agent has had nothing new: came online, took a chat, or finished their last one.
    pub idle_since: DateTime<Utc>,
    pub active: BTreeSet<ChatId>,
    pub offers: BTreeSet<ChatId>,
}

impl AgentState {
    pub fn load(&self) -> u32 {
        (self.active.len() + self.offers.len()) as u32
    }
    /// Online, serving `queue`, and below capacity even with `extra` chats offered this round.
    pub fn can_take(&self, queue: &QueueName, extra: u32) -> bool {
        self.presence == Presence::Online && self.config.serves(queue) && self.load() + extra < self.config.capacity
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Phase {
    Waiting,
    Offered {
        agent: AgentId,
        until: DateTime<Utc>,
        from_agent: Option<AgentId>,
    },
    Active {
        agent: AgentId,
        since: DateTime<Utc>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct ChatState {
    pub request: ChatRequest,
    pub queue: QueueName,
    pub phase: Phase,
    /// The place in line: earlier first.
    pub queued_at: DateTime<Utc>,
    pub join_deadline: DateTime<Utc>,
    /// Agents who declined or let the offer expire; not offered again.
    pub passed: BTreeSet<AgentId>,
    /// Customer messages sent before an agent joined, the last [`MAX_WAITING_MESSAGES`] of them
    /// (the agent has the whole transcript anyway; the offer carries what is new).
    pub waiting_messages: Vec<CustomerMessage>,
    /// The position and wait last told to the customer.
    pub last_pushed: Option<(u32, Option<Duration>)>,
    pub n_agent_messages: u64,
}

/// The whole desk: agents, queues, chats.
#[derive(Debug, Clone)]
pub struct DeskState {
    pub(crate) settings: DeskSettings,
    pub(crate) agents: BTreeMap<AgentId, AgentState>,
    pub(crate) queues: BTreeMap<QueueName, QueueConfig>,
    pub(crate) chats: BTreeMap<ChatId, ChatState>,
    /// Measured mean chat length per queue (exponential moving average).
    pub(crate) handle_time: BTreeMap<QueueName, Duration>,
    /// Waiting counts last told to agents.
    pub(crate) last_waiting: BTreeMap<QueueName, u32>,
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

impl DeskState {
    /// A desk with every agent offline.
    pub fn new(config: OwnDeskConfig, now: DateTime<Utc>) -> DeskState {
        let mut state = DeskState {
            settings: config.settings,
            agents: BTreeMap::new(),
            queues: config
                .queues
                .into_iter()
                .map(|queue| (queue.name.clone(), queue))
                .collect(),
            chats: BTreeMap::new(),
            handle_time: BTreeMap::new(),
            last_waiting: BTreeMap::new(),
        };
        for agent in config.agents {
            state.upsert_agent(agent, now);
        }
        state
    }

    /// Adds an agent (offline) or updates one's name, queues and capacity.
    pub fn upsert_agent(&mut self, config: AgentConfig, now: DateTime<Utc>) {
        match self.agents.get_mut(&config.id) {
            Some(agent) => agent.config = config,
            None => {
                let state = AgentState {
                    config: config.clone(),
                    presence: Presence::Offline,
                    idle_since: now,
                    active: BTreeSet::new(),
                    offers: BTreeSet::new(),
                };
                self.agents.insert(config.id, state);
            }
        }
    }

    pub fn agent(&self, id: &AgentId) -> Option<&AgentConfig> {
        self.agents.get(id).map(|agent| &agent.config)
    }

    pub fn presence(&self, id: &AgentId) -> Option<Presence> {
        self.agents.get(id).map(|agent| agent.presence)
    }

    /// The chats offered to an agent and not yet accepted, with their offers (for a console that
    /// reconnects).
    pub fn pending_offers(&self, id: &AgentId) -> Vec<AgentEvent> {
        let Some(agent) = self.agents.get(id) else {
            return Vec::new();
        };
        agent
            .offers
            .iter()
            .filter_map(|chat| match &self.chats.get(chat)?.phase {
                Phase::Offered { until, from_agent, .. } => Some(self.offer_event(chat, *until, from_agent.as_ref())),
                _ => None,
            })
            .collect()
    }

    /// The chats an agent is in.
    pub fn active_chats(&self, id: &AgentId) -> Vec<ChatId> {
        self.agents
            .get(id)
            .map(|agent| agent.active.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The queue a request routes to.
    pub fn queue_of(&self, request: &ChatRequest) -> QueueName {
        request
            .routing
            .queue
            .clone()
            .unwrap_or_else(|| self.settings.default_queue.clone())
    }

    pub(crate) fn offline_policy(&self, queue: &QueueName) -> OfflinePolicy {
        self.queues
            .get(queue)
            .map(|queue| queue.offline_policy)
            .unwrap_or_default()
    }

    /// Whether the queue's business hours include `now`.
    pub fn is_open(&self, queue: &QueueName, now: DateTime<Utc>) -> bool {
        match self.queues.get(queue).and_then(|queue| queue.hours.as_ref()) {
            Some(hours) => hours.is_open(now),
            None => true,
        }
    }

    /// Open, and at least one agent serving it is online (busy or not).
    pub fn is_available(&self, queue: &QueueName, now: DateTime<Utc>) -> bool {
        let agent_online = self
            .agents
            .values()
            .any(|agent| agent.presence == Presence::Online && agent.config.serves(queue));
        self.is_open(queue, now) && agent_online
    }

    pub(crate) fn waiting_in(&self, queue: &QueueName) -> impl Iterator<Item = (&ChatId, &ChatState)> {
        let mut waiting: Vec<_> = self
            .chats
            .iter()
            .filter(|(_, chat)| &chat.queue == queue && chat.phase == Phase::Waiting)
            .collect();
        waiting.sort_by_key(|(id, chat)| (chat.queued_at, (*id).clone()));
        waiting.into_iter()
    }

    /// The estimated wait at `position` (1 = next): that many chats must end across the online
    /// agents' free slots. `None` when nobody is online or the queue is closed.
    pub(crate) fn estimate_wait(&self, queue: &QueueName, position: u32, now: DateTime<Utc>) -> Option<Duration> {
        if !self.is_available(queue, now) {
            return None;
        }
        let slots: u32 = self
            .agents
            .values()
            .filter(|agent| agent.presence == Presence::Online && agent.config.serves(queue))
            .map(|agent| agent.config.capacity)
            .sum();
        let handle = self
            .handle_time
            .get(queue)
            .copied()
            .unwrap_or(self.settings.mean_handle_time);
        Some(Duration::from_secs(
            handle.as_secs() * u64::from(position) / u64::from(slots.max(1)),
        ))
    }

    /// What a customer asking now would get.
    pub fn availability(&self, queue: &QueueName, now: DateTime<Utc>) -> Availability {
        let position = self.waiting_in(queue).count() as u32 + 1;
        let available = self.is_available(queue, now);
        Availability {
            online: if available { Online::Yes } else { Online::No },
            position: Some(position),
            estimated_wait: self.estimate_wait(queue, position, now),
            offline_policy: (!available).then(|| self.offline_policy(queue)),
        }
    }

    /// Opens a chat: it waits in its queue until routing offers it. Refused when the queue is
    /// unavailable and its policy is not to wait.
    pub fn start_chat(
        &mut self,
        chat: ChatId,
        request: ChatRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<Output>, DeskError> {
        let queue = self.queue_of(&request);
        let available = self.is_available(&queue, now);
        let policy = self.offline_policy(&queue);
        if !available && policy != OfflinePolicy::WaitInQueue {
            return Err(DeskError::Unavailable { queue, policy });
        }
        let note = (!available).then(|| "no agent is available yet".to_owned());
        self.enqueue(
            chat.clone(),
            request,
            queue,
            now,
            now + delta(self.settings.join_timeout),
        );
        let outputs = vec![self.queued_event(&chat, note, now)];
        Ok(outputs)
    }

    fn enqueue(
        &mut self,
        id: ChatId,
        request: ChatRequest,
        queue: QueueName,
        queued_at: DateTime<Utc>,
        join_deadline: DateTime<Utc>,
    ) {
        let chat = ChatState {
            request,
            queue,
            phase: Phase::Waiting,
            queued_at,
            join_deadline,
            passed: BTreeSet::new(),
            waiting_messages: Vec::new(),
            last_pushed: None,
            n_agent_messages: 0,
        };
        self.chats.insert(id, chat);
    }

    /// A `Queued` event with the chat's current position, remembered as pushed.
    fn queued_event(&mut self, id: &ChatId, note: Option<String>, now: DateTime<Utc>) -> Output {
        let (position, wait) = self.position_of(id, now).unwrap_or((1, None));
        if let Some(chat) = self.chats.get_mut(id) {
            chat.last_pushed = Some((position, wait));
        }
        Output::Chat(
            id.clone(),
            DeskEvent::Queued {
                position: Some(position),
                wait,
                note,
            },
        )
    }

    pub(crate) fn position_of(&self, id: &ChatId, now: DateTime<Utc>) -> Option<(u32, Option<Duration>)> {
        let chat = self.chats.get(id)?;
        let idx = self.waiting_in(&chat.queue).position(|(other, _)| other == id)?;
        let position = idx as u32 + 1;
        Some((position, self.estimate_wait(&chat.queue, position, now)))
    }

    /// Re-attaches a chat after a restart: back in line at its old place, or in its agent's chat.
    /// Resuming a chat the desk already has changes nothing (a reconnect resumes twice).
    pub fn resume(&mut self, resume: ChatResume, now: DateTime<Utc>) -> Result<Vec<Output>, DeskError> {
        if self.chats.contains_key(&resume.chat) {
            return Ok(Vec::new());
        }
        let queue = self.queue_of(&resume.request);
        let join_deadline =
            (resume.queued_at + delta(self.settings.join_timeout)).max(now + delta(self.settings.accept_timeout));
        self.enqueue(
            resume.chat.clone(),
            resume.request,
            queue,
            resume.queued_at,
            join_deadline,
        );
        let Some(agent_id) = resume.agent else {
            return Ok(vec![self.queued_event(&resume.chat, None, now)]);
        };
        let Some(agent) = self.agents.get_mut(&agent_id) else {
            self.chats.remove(&resume.chat);
            return Err(DeskError::UnknownAgent(agent_id));
        };
        agent.active.insert(resume.chat.clone());
        if let Some(chat) = self.chats.get_mut(&resume.chat) {
            chat.phase = Phase::Active {
                agent: agent_id,
                since: now,
            };
        }
        Ok(Vec::new())
    }

    pub fn set_presence(
        &mut self,
        id: &AgentId,
        presence: Presence,
        now: DateTime<Utc>,
    ) -> Result<Vec<Output>, DeskError> {
        let agent = self
            .agents
            .get_mut(id)
            .ok_or_else(|| DeskError::UnknownAgent(id.clone()))?;
        let was = agent.presence;
        agent.presence = presence;
        if presence == Presence::Online && was != Presence::Online && agent.active.is_empty() {
            agent.idle_since = now;
        }
        let mut outputs = Vec::new();
        if presence != Presence::Online {
            // Offers to someone who stepped away go to the next agent at once.
            let offers: Vec<ChatId> = agent.offers.iter().cloned().collect();
            for chat in offers {
                outputs.extend(self.withdraw_offer(&chat, WithdrawReason::AgentOffline, now));
            }
        }
        if presence == Presence::Online && was != Presence::Online {
            // Tell the agent where their queues stand.
            let queues: Vec<QueueName> = self
                .queue_names()
                .into_iter()
                .filter(|queue| self.agents[id].config.serves(queue))
                .collect();
            for queue in queues {
                outputs.push(Output::Agent(id.clone(), self.queue_changed(&queue)));
            }
        }
        Ok(outputs)
    }

    fn queue_names(&self) -> BTreeSet<QueueName> {
        let mut names: BTreeSet<QueueName> = self.queues.keys().cloned().collect();
        names.extend(self.chats.values().map(|chat| chat.queue.clone()));
        names.insert(self.settings.default_queue.clone());
        names
    }

    fn queue_changed(&self, queue: &QueueName) -> AgentEvent {
        let mut waiting = self.waiting_in(queue);
        let oldest_since = waiting.next().map(|(_, chat)| chat.queued_at);
        AgentEvent::QueueChanged {
            queue: queue.clone(),
            waiting: oldest_since.map_or(0, |_| 1 + waiting.count() as u32),
            oldest_since,
        }
    }

    /// Puts an offered chat back in line; the agent is not offered it again.
    fn withdraw_offer(&mut self, id: &ChatId, reason: WithdrawReason, now: DateTime<Utc>) -> Vec<Output> {
        let Some(chat) = self.chats.get_mut(id) else {
            return Vec::new();
        };
        let Phase::Offered { agent, .. } = chat.phase.clone() else {
            return Vec::new();
        };
        chat.phase = Phase::Waiting;
        chat.passed.insert(agent.clone());
        if let Some(state) = self.agents.get_mut(&agent) {
            state.offers.remove(id);
        }
        let note = match reason {
            WithdrawReason::Declined => "the agent declined",
            WithdrawReason::TimedOut => "the agent did not answer in time",
            WithdrawReason::AgentOffline => "the agent went away",
            WithdrawReason::CustomerLeft => "the customer left",
        };
        vec![
            Output::Agent(
                agent,
                AgentEvent::OfferWithdrawn {
                    chat: id.clone(),
                    reason,
                },
            ),
            self.queued_event(id, Some(format!("{note}; offering the next agent")), now),
        ]
    }

    fn chat_for_agent(&mut self, id: &ChatId, agent: &AgentId) -> Result<&mut ChatState, DeskError> {
        let chat = self
            .chats
            .get_mut(id)
            .ok_or_else(|| DeskError::UnknownChat(id.clone()))?;
        match &chat.phase {
            Phase::Active { agent: in_chat, .. } if in_chat == agent => Ok(chat),
            _ => Err(DeskError::NotInChat {
                chat: id.clone(),
                agent: agent.clone(),
            }),
        }
    }

    fn profile(&self, agent: &AgentId) -> AgentProfile {
        match self.agents.get(agent) {
            Some(state) => state.config.profile(),
            None => AgentProfile {
                id: agent.clone(),
                name: agent.to_string(),
            },
        }
    }

    pub fn accept(&mut self, agent: &AgentId, id: &ChatId, now: DateTime<Utc>) -> Result<Vec<Output>, DeskError> {
        let not_offered = || DeskError::NotOffered {
            chat: id.clone(),
            agent: agent.clone(),
        };
        let chat = self.chats.get_mut(id).ok_or_else(not_offered)?;
        match &chat.phase {
            Phase::Offered { agent: offered, .. } if offered == agent => {}
            _ => return Err(not_offered()),
        }
        chat.phase = Phase::Active {
            agent: agent.clone(),
            since: now,
        };
        // Messages sent while waiting travelled with the offer; the agent has them.
        chat.waiting_messages.clear();
        let state = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| DeskError::UnknownAgent(agent.clone()))?;
        state.offers.remove(id);
        state.active.insert(id.clone());
        state.idle_since = now;
        tracing::info!(chat = %id, agent = %agent, "human agent joined");
        Ok(vec![Output::Chat(
            id.clone(),
            DeskEvent::AgentJoined(state.config.profile()),
        )])
    }

    pub fn decline(&mut self, agent: &AgentId, id: &ChatId, now: DateTime<Utc>) -> Result<Vec<Output>, DeskError> {
        match self.chats.get(id).map(|chat| &chat.phase) {
            Some(Phase::Offered { agent: offered, .. }) if offered == agent => {}
            _ => {
                return Err(DeskError::NotOffered {
                    chat: id.clone(),
                    agent: agent.clone(),
                });
            }
        }
        Ok(self.withdraw_offer(id, WithdrawReason::Declined, now))
    }

    /// The agent writes to the customer; returns the message as the customer gets it.
    pub fn agent_message(
        &mut self,
        agent: &AgentId,
        id: &ChatId,
        text: String,
        now: DateTime<Utc>,
    ) -> Result<(AgentMessage, Vec<Output>), DeskError> {
        let profile = self.profile(agent);
        let chat = self.chat_for_agent(id, agent)?;
        chat.n_agent_messages += 1;
        let message_id = MessageId::parse(&format!("{id}/agent/{}", chat.n_agent_messages))
            .map_err(|_| DeskError::UnknownChat(id.clone()))?;
        let message = AgentMessage {
            id: message_id,
            at: now,
            agent: profile,
            text,
        };
        Ok((
            message.clone(),
            vec![Output::Chat(id.clone(), DeskEvent::AgentMessage(message))],
        ))
    }

    pub fn agent_typing(&mut self, agent: &AgentId, id: &ChatId, typing: bool) -> Result<Vec<Output>, DeskError> {
        self.chat_for_agent(id, agent)?;
        Ok(vec![Output::Chat(id.clone(), DeskEvent::AgentTyping(typing))])
    }

    pub fn agent_read(&mut self, agent: &AgentId, id: &ChatId, up_to: MessageId) -> Result<Vec<Output>, DeskError> {
        self.chat_for_agent(id, agent)?;
        Ok(vec![Output::Chat(id.clone(), DeskEvent::AgentRead { up_to })])
    }

    /// The agent passes the chat to a named agent (offered to them, who must accept) or to a queue.
    pub fn transfer(
        &mut self,
        agent: &AgentId,
        id: &ChatId,
        target: TransferTarget,
        now: DateTime<Utc>,
    ) -> Result<Vec<Output>, DeskError> {
        self.chat_for_agent(id, agent)?;
        let mut outputs = Vec::new();
        match target {
            TransferTarget::Agent(target) => {
                let target_state = self
                    .agents
                    .get(&target)
                    .ok_or_else(|| DeskError::UnknownAgent(target.clone()))?;
                let can_take = target_state.presence == Presence::Online
                    && target_state.load() < target_state.config.capacity
                    && target != *agent;
                if !can_take {
                    return Err(DeskError::AgentBusy(target));
                }
                self.release(agent, id, now);
                let until = now + delta(self.settings.accept_timeout);
                let chat = self.chats.get_mut(id).expect("checked above");
                chat.phase = Phase::Offered {
                    agent: target.clone(),
                    until,
                    from_agent: Some(agent.clone()),
                };
                chat.join_deadline = now + delta(self.settings.join_timeout);
                let offer = self.offer_event(id, until, Some(agent));
                self.agents
                    .get_mut(&target)
                    .expect("checked above")
                    .offers
                    .insert(id.clone());
                outputs.push(Output::Chat(
                    id.clone(),
                    DeskEvent::TransferStarted(self.profile(&target)),
                ));
                outputs.push(Output::Agent(target, offer));
            }
            TransferTarget::Queue(queue) => {
                self.release(agent, id, now);
                let chat = self.chats.get_mut(id).expect("checked above");
                chat.queue = queue.clone();
                // Offers made from now on name the queue the chat waits in.
                chat.request.routing.queue = Some(queue.clone());
                chat.phase = Phase::Waiting;
                // The agent who passed it on is not offered it back.
                chat.passed.clear();
                chat.passed.insert(agent.clone());
                chat.join_deadline = now + delta(self.settings.join_timeout);
                outputs.push(self.queued_event(id, Some(format!("transferred to queue {queue}")), now));
            }
        }
        Ok(outputs)
    }

    pub(crate) fn offer_event(&self, id: &ChatId, until: DateTime<Utc>, from_agent: Option<&AgentId>) -> AgentEvent {
        let chat = &self.chats[id];
        AgentEvent::Offer {
            chat: id.clone(),
            request: Box::new(chat.request.clone()),
            waiting_messages: chat.waiting_messages.clone(),
            expires_at: until,
            from_agent: from_agent.map(|from| self.profile(from)),
        }
    }

    /// The agent no longer handles the chat; their idle time starts now if nothing else is open.
    fn release(&mut self, agent: &AgentId, id: &ChatId, now: DateTime<Utc>) {
        if let Some(state) = self.agents.get_mut(agent) {
            state.active.remove(id);
            state.offers.remove(id);
            if state.active.is_empty() {
                state.idle_since = now;
            }
        }
    }

    /// The agent ends the chat: resolved, or handed back to the assistant.
    pub fn end(
        &mut self,
        agent: &AgentId,
        id: &ChatId,
        disposition: Disposition,
        now: DateTime<Utc>,
    ) -> Result<Vec<Output>, DeskError> {
        self.chat_for_agent(id, agent)?;
        let chat = self.chats.remove(id).expect("checked above");
        if let Phase::Active { since, .. } = chat.phase {
            self.record_handle_time(&chat.queue, now - since);
        }
        self.release(agent, id, now);
        let reason = match disposition {
            Disposition::Resolved => EndReason::Resolved,
            Disposition::HandBack { resume, variables } => EndReason::HandBack { resume, variables },
        };
        tracing::info!(chat = %id, agent = %agent, "human agent ended the chat");
        Ok(vec![
            Output::Chat(
                id.clone(),
                DeskEvent::Ended {
                    by: EndedBy::Agent,
                    reason,
                },
            ),
            Output::Closed(id.clone()),
        ])
    }

    fn record_handle_time(&mut self, queue: &QueueName, length: TimeDelta) {
        let Ok(length) = length.to_std() else {
            return;
        };
        let mean = self
            .handle_time
            .get(queue)
            .copied()
            .unwrap_or(self.settings.mean_handle_time);
        // Exponential moving average: recent chats count most, one odd chat does not swing it.
        let updated = (mean.as_secs_f64() * 0.8 + length.as_secs_f64() * 0.2).max(1.0);
        self.handle_time.insert(queue.clone(), Duration::from_secs_f64(updated));
    }

    /// A customer message: to the agent if one is in the chat, else kept for whoever accepts.
    pub fn customer_message(&mut self, id: &ChatId, message: CustomerMessage) -> Result<Vec<Output>, DeskError> {
        let chat = self
            .chats
            .get_mut(id)
            .ok_or_else(|| DeskError::UnknownChat(id.clone()))?;
        match &chat.phase {
            Phase::Active { agent, .. } => Ok(vec![Output::Agent(
                agent.clone(),
                AgentEvent::CustomerMessage {
                    chat: id.clone(),
                    message,
                },
            )]),
            Phase::Offered { agent, .. } => {
                remember_waiting(&mut chat.waiting_messages, message.clone());
                Ok(vec![Output::Agent(
                    agent.clone(),
                    AgentEvent::CustomerMessage {
                        chat: id.clone(),
                        message,
                    },
                )])
            }
            Phase::Waiting => {
                remember_waiting(&mut chat.waiting_messages, message);
                Ok(Vec::new())
            }
        }
    }

    pub fn customer_typing(&mut self, id: &ChatId, typing: bool) -> Result<Vec<Output>, DeskError> {
        let chat = self.chats.get(id).ok_or_else(|| DeskError::UnknownChat(id.clone()))?;
        match &chat.phase {
            Phase::Active { agent, .. } => Ok(vec![Output::Agent(
                agent.clone(),
                AgentEvent::CustomerTyping {
                    chat: id.clone(),
                    typing,
                },
            )]),
            _ => Ok(Vec::new()),
        }
    }

    pub fn customer_read(&mut self, id: &ChatId, up_to: MessageId) -> Result<Vec<Output>, DeskError> {
        let chat = self.chats.get(id).ok_or_else(|| DeskError::UnknownChat(id.clone()))?;
        match &chat.phase {
            Phase::Active { agent, .. } => Ok(vec![Output::Agent(
                agent.clone(),
                AgentEvent::CustomerRead {
                    chat: id.clone(),
                    up_to,
                },
            )]),
            _ => Ok(Vec::new()),
        }
    }

    /// The customer's side ends the chat; the agent (offered or in it) is told.
    pub fn end_chat(&mut self, id: &ChatId, reason: EndReason, now: DateTime<Utc>) -> Result<Vec<Output>, DeskError> {
        let chat = self
            .chats
            .remove(id)
            .ok_or_else(|| DeskError::UnknownChat(id.clone()))?;
        let mut outputs = Vec::new();
        match chat.phase {
            Phase::Waiting => {}
            Phase::Offered { agent, .. } => {
                if let Some(state) = self.agents.get_mut(&agent) {
                    state.offers.remove(id);
                }
                outputs.push(Output::Agent(
                    agent,
                    AgentEvent::OfferWithdrawn {
                        chat: id.clone(),
                        reason: WithdrawReason::CustomerLeft,
                    },
                ));
            }
            Phase::Active { agent, since } => {
                self.record_handle_time(&chat.queue, now - since);
                self.release(&agent, id, now);
                outputs.push(Output::Agent(
                    agent,
                    AgentEvent::ChatEnded {
                        chat: id.clone(),
                        by: EndedBy::Customer,
                        reason,
                    },
                ));
            }
        }
        outputs.push(Output::Closed(id.clone()));
        Ok(outputs)
    }

    /// The earliest moment something is due: an offer expiring, a join timeout, or a business-hours
    /// check while someone waits on a closed queue.
    pub fn next_deadline(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut next: Option<DateTime<Utc>> = None;
        let mut consider = |at: DateTime<Utc>| next = Some(next.map_or(at, |current| current.min(at)));
        for chat in self.chats.values() {
            match &chat.phase {
                Phase::Offered { until, .. } => {
                    consider(*until);
                    consider(chat.join_deadline);
                }
                Phase::Waiting => {
                    consider(chat.join_deadline);
                    if !self.is_open(&chat.queue, now) {
                        consider(now + delta(self.settings.hours_check_interval));
                    }
                }
                Phase::Active { .. } => {}
            }
        }
        next
    }

    /// Carries out routing decisions until there are none left, then tells agents about queues
    /// whose waiting count changed.
    pub fn settle(&mut self, now: DateTime<Utc>) -> Vec<Output> {
        let mut outputs = Vec::new();
        // Each round removes a deadline, fills a slot or records a pushed position, so this ends;
        // the bound is a guard against a routing bug turning into a hang.
        for _ in 0..10_000 {
            let decisions = routing::decide(self, now);
            if decisions.is_empty() {
                break;
            }
            for decision in decisions {
                outputs.extend(self.carry_out(decision, now));
            }
        }
        for queue in self.queue_names() {
            let AgentEvent::QueueChanged { waiting, .. } = self.queue_changed(&queue) else {
                unreachable!("queue_changed builds QueueChanged")
            };
            let last = self.last_waiting.get(&queue).copied().unwrap_or(0);
            if waiting == last {
                continue;
            }
            self.last_waiting.insert(queue.clone(), waiting);
            let event = self.queue_changed(&queue);
            for (id, agent) in &self.agents {
                if agent.presence != Presence::Offline && agent.config.serves(&queue) {
                    outputs.push(Output::Agent(id.clone(), event.clone()));
                }
            }
        }
        outputs
    }

    fn carry_out(&mut self, decision: Decision, now: DateTime<Utc>) -> Vec<Output> {
        match decision {
            Decision::ExpireOffer { chat } => self.withdraw_offer(&chat, WithdrawReason::TimedOut, now),
            Decision::TimeOut { chat: id } => {
                let Some(chat) = self.chats.remove(&id) else {
                    return Vec::new();
                };
                let mut outputs = Vec::new();
                if let Phase::Offered { agent, .. } = chat.phase {
                    if let Some(state) = self.agents.get_mut(&agent) {
                        state.offers.remove(&id);
                    }
                    outputs.push(Output::Agent(
                        agent,
                        AgentEvent::OfferWithdrawn {
                            chat: id.clone(),
                            reason: WithdrawReason::TimedOut,
                        },
                    ));
                }
                tracing::info!(chat = %id, "no human agent joined in time");
                outputs.push(Output::Chat(
                    id.clone(),
                    DeskEvent::Ended {
                        by: EndedBy::Desk,
                        reason: EndReason::JoinTimedOut,
                    },
                ));
                outputs.push(Output::Closed(id));
                outputs
            }
            Decision::Offer { chat: id, agent } => {
                let until = now + delta(self.settings.accept_timeout);
                let Some(chat) = self.chats.get_mut(&id) else {
                    return Vec::new();
                };
                chat.phase = Phase::Offered {
                    agent: agent.clone(),
                    until,
                    from_agent: None,
                };
                chat.last_pushed = None;
                let offer = self.offer_event(&id, until, None);
                let profile = self.profile(&agent);
                if let Some(state) = self.agents.get_mut(&agent) {
                    state.offers.insert(id.clone());
                }
                vec![
                    Output::Agent(agent, offer),
                    Output::Chat(id, DeskEvent::Offered(profile)),
                ]
            }
            Decision::PushPosition { chat, position, wait } => {
                if let Some(state) = self.chats.get_mut(&chat) {
                    state.last_pushed = Some((position, wait));
                }
                vec![Output::Chat(
                    chat,
                    DeskEvent::Queued {
                        position: Some(position),
                        wait,
                        note: None,
                    },
                )]
            }
        }
    }
}

/// How many messages sent while waiting an offer carries: a customer who keeps writing while
/// nobody is there must not grow the desk's memory, or every offer, without bound.
pub const MAX_WAITING_MESSAGES: usize = 200;

fn remember_waiting(waiting: &mut Vec<CustomerMessage>, message: CustomerMessage) {
    if waiting.len() >= MAX_WAITING_MESSAGES {
        waiting.remove(0);
    }
    waiting.push(message);
}

/// `Duration` as whole seconds.
mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(deserializer)?))
    }
}
