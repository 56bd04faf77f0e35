//! Baton's own desk, in-process: agents, presence, queues with business hours, routing.
//!
//! [`state::DeskState`] holds everything and changes only through pure methods that take `now`
//! and return what to deliver; [`routing::decide`] makes the routing decisions. [`OwnDesk`] is the
//! async shell: one mutex around the state, one channel per chat and per agent console, and one
//! timer task that wakes at the state's next deadline (offer expiry, join timeout, hours check).
//!
//! Time comes from a [`Clock`] built on tokio's clock, so tests pause and advance time and
//! nothing in them really sleeps.
//! The mutex is a `std::sync::Mutex`, never held across an `.await`: every operation locks,
//! changes the state, sends on unbounded channels (which never wait) and unlocks.

pub mod hours;
pub mod routing;
pub mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, mpsc};

pub use hours::{BusinessHours, BusinessHoursSpec, OpeningSpec};
pub use state::{
    AgentConfig, AgentEvent, DeskSettings, DeskState, Disposition, OwnDeskConfig, Presence, QueueConfig,
    TransferTarget, WithdrawReason,
};

use crate::DeskError;
use crate::console::AgentConsole;
use crate::ids::{AgentId, ChatId, MessageId, QueueName};
use crate::service_desk::{
    AgentMessage, Availability, Capabilities, Chat, ChatRequest, ChatResume, CustomerMessage, DeskEvent, DeskFuture,
    EndReason, ServiceDesk,
};
use state::Output;

/// Wall-clock time that follows tokio's clock, so `tokio::time::pause`/`advance` move it too.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin_utc: DateTime<Utc>,
    origin: tokio::time::Instant,
}

impl Clock {
    /// The system's time.
    pub fn system() -> Clock {
        Clock::starting_at(Utc::now())
    }

    /// A clock that reads `at` now and advances with tokio's clock.
    pub fn starting_at(at: DateTime<Utc>) -> Clock {
        Clock {
            origin_utc: at,
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.origin);
        self.origin_utc + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX)
    }

    fn instant_at(&self, at: DateTime<Utc>) -> tokio::time::Instant {
        let offset = (at - self.origin_utc).to_std().unwrap_or_default();
        self.origin + offset
    }
}

/// Baton's own service desk. Cheap to clone; all clones are the same desk.
#[derive(Clone)]
pub struct OwnDesk {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Mutex<Shared>,
    clock: Clock,
    wake: Arc<Notify>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Lets the timer task see that the desk is gone and stop.
        self.wake.notify_one();
    }
}

struct Shared {
    state: DeskState,
    chats: HashMap<ChatId, mpsc::UnboundedSender<DeskEvent>>,
    agents: HashMap<AgentId, Vec<mpsc::UnboundedSender<AgentEvent>>>,
    n_chats: u64,
}

impl Shared {
    fn deliver(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Chat(chat, event) => {
                    if let Some(sender) = self.chats.get(&chat) {
                        // A dropped receiver means Baton stopped listening; the chat still runs.
                        let _ = sender.send(event);
                    }
                }
                Output::Agent(agent, event) => {
                    if let Some(consoles) = self.agents.get_mut(&agent) {
                        consoles.retain(|console| console.send(event.clone()).is_ok());
                    }
                }
                Output::Closed(chat) => {
                    self.chats.remove(&chat);
                }
            }
        }
    }
}

impl OwnDesk {
    /// Starts the desk and its timer task on the current tokio runtime (panics outside one, like
    /// `tokio::spawn`). The task stops when the last clone of the desk is dropped.
    pub fn start(config: OwnDeskConfig, clock: Clock) -> OwnDesk {
        let wake = Arc::new(Notify::new());
        let shared = Shared {
            state: DeskState::new(config, clock.now()),
            chats: HashMap::new(),
            agents: HashMap::new(),
            n_chats: 0,
        };
        let inner = Arc::new(Inner {
            shared: Mutex::new(shared),
            clock,
            wake: wake.clone(),
        });
        tokio::spawn(run_timer(Arc::downgrade(&inner), wake, clock));
        OwnDesk { inner }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock leaves the state as consistent as the last completed
        // operation made it; keep serving rather than poisoning every later call.
        self.inner
            .shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one change, settles routing, delivers, and wakes the timer for the new deadline.
    fn change<T>(
        &self,
        change: impl FnOnce(&mut Shared, DateTime<Utc>) -> Result<(T, Vec<Output>), DeskError>,
    ) -> Result<T, DeskError> {
        let now = self.inner.clock.now();
        let mut shared = self.lock();
        let (value, outputs) = change(&mut shared, now)?;
        shared.deliver(outputs);
        let settled = shared.state.settle(now);
        shared.deliver(settled);
        drop(shared);
        self.inner.wake.notify_one();
        Ok(value)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Adds an agent (offline until they set their presence) or updates one.
    pub fn upsert_agent(&self, agent: AgentConfig) {
        let _ = self.change(|shared, now| {
            shared.state.upsert_agent(agent, now);
            Ok(((), Vec::new()))
        });
    }

    /// The event stream of one agent console; an agent may have several open.
    pub fn agent_events(&self, agent: &AgentId) -> Result<mpsc::UnboundedReceiver<AgentEvent>, DeskError> {
        let mut shared = self.lock();
        if shared.state.agent(agent).is_none() {
            return Err(DeskError::UnknownAgent(agent.clone()));
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        shared.agents.entry(agent.clone()).or_default().push(sender);
        Ok(receiver)
    }

    pub fn set_presence(&self, agent: &AgentId, presence: Presence) -> Result<(), DeskError> {
        self.change(|shared, now| Ok(((), shared.state.set_presence(agent, presence, now)?)))
    }

    pub fn presence(&self, agent: &AgentId) -> Option<Presence> {
        self.lock().state.presence(agent)
    }

    /// The offers waiting for an agent's answer, as `Offer` events (for a console that reconnects).
    pub fn pending_offers(&self, agent: &AgentId) -> Vec<AgentEvent> {
        self.lock().state.pending_offers(agent)
    }

    /// The chats an agent is in (for a console that reconnects).
    pub fn active_chats(&self, agent: &AgentId) -> Vec<ChatId> {
        self.lock().state.active_chats(agent)
    }

    pub fn accept(&self, agent: &AgentId, chat: &ChatId) -> Result<(), DeskError> {
        self.change(|shared, now| Ok(((), shared.state.accept(agent, chat, now)?)))
    }

    pub fn decline(&self, agent: &AgentId, chat: &ChatId) -> Result<(), DeskError> {
        self.change(|shared, now| Ok(((), shared.state.decline(agent, chat, now)?)))
    }

    /// The agent writes to the customer; returns the message as delivered (with its id).
    pub fn agent_message(&self, agent: &AgentId, chat: &ChatId, text: String) -> Result<AgentMessage, DeskError> {
        self.change(|shared, now| shared.state.agent_message(agent, chat, text, now))
    }

    pub fn agent_typing(&self, agent: &AgentId, chat: &ChatId, typing: bool) -> Result<(), DeskError> {
        self.change(|shared, _| Ok(((), shared.state.agent_typing(agent, chat, typing)?)))
    }

    pub fn agent_read(&self, agent: &AgentId, chat: &ChatId, up_to: MessageId) -> Result<(), DeskError> {
        self.change(|shared, _| Ok(((), shared.state.agent_read(agent, chat, up_to)?)))
    }

    /// Passes an active chat to another agent (who must accept) or to a queue.
    pub fn transfer(&self, agent: &AgentId, chat: &ChatId, target: TransferTarget) -> Result<(), DeskError> {
        self.change(|shared, now| Ok(((), shared.state.transfer(agent, chat, target, now)?)))
    }

    /// Ends an active chat: resolved, or handed back to the assistant.
    pub fn end(&self, agent: &AgentId, chat: &ChatId, disposition: Disposition) -> Result<(), DeskError> {
        self.change(|shared, now| Ok(((), shared.state.end(agent, chat, disposition, now)?)))
    }

    /// Availability of a queue now (synchronous form of [`ServiceDesk::availability`]).
    pub fn queue_availability(&self, queue: Option<&QueueName>) -> Availability {
        let now = self.inner.clock.now();
        let shared = self.lock();
        let queue = queue
            .cloned()
            .unwrap_or_else(|| shared.state.settings.default_queue.clone());
        shared.state.availability(&queue, now)
    }

    fn open_chat(
        &self,
        id: ChatId,
        events: mpsc::UnboundedSender<DeskEvent>,
        open: impl FnOnce(&mut DeskState, DateTime<Utc>) -> Result<Vec<Output>, DeskError>,
    ) -> Result<(), DeskError> {
        self.change(|shared, now| {
            let outputs = open(&mut shared.state, now)?;
            shared.chats.insert(id, events);
            Ok(((), outputs))
        })
    }
}

async fn run_timer(desk: Weak<Inner>, wake: Arc<Notify>, clock: Clock) {
    loop {
        let deadline = {
            let Some(inner) = desk.upgrade() else {
                return;
            };
            let now = clock.now();
            let mut shared = inner.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let settled = shared.state.settle(now);
            shared.deliver(settled);
            shared.state.next_deadline(now)
        };
        match deadline {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(clock.instant_at(at)) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

impl ServiceDesk for OwnDesk {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            agent_typing: true,
            customer_typing: true,
            agent_read: true,
            customer_read: true,
            customer_end: true,
            queue_position: true,
            estimated_wait: true,
            transfer_events: true,
            files: false,
            resume: true,
            offers: true,
        }
    }

    fn availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move { Ok(self.queue_availability(queue)) })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let id = {
                let mut shared = self.lock();
                shared.n_chats += 1;
                ChatId::parse(&format!("own-{}-{}", request.transfer, shared.n_chats))?
            };
            let (sender, events) = mpsc::unbounded_channel();
            let chat = id.clone();
            self.open_chat(id.clone(), sender, |state, now| state.start_chat(chat, request, now))?;
            Ok(Chat { id, events })
        })
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.change(|shared, _| Ok(((), shared.state.customer_message(chat, message)?))) })
    }

    fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.change(|shared, _| Ok(((), shared.state.customer_typing(chat, typing)?))) })
    }

    fn customer_read<'a>(&'a self, chat: &'a ChatId, up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.change(|shared, _| Ok(((), shared.state.customer_read(chat, up_to.clone())?))) })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move { self.change(|shared, now| Ok(((), shared.state.end_chat(chat, reason, now)?))) })
    }

    fn resume(&self, chat: ChatResume) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let id = chat.chat.clone();
            let (sender, events) = mpsc::unbounded_channel();
            self.open_chat(id.clone(), sender, |state, now| state.resume(chat, now))?;
            Ok(Chat { id, events })
        })
    }

    fn console(&self) -> Option<&dyn AgentConsole> {
        Some(self)
    }
}
