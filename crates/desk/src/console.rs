//! The agent side of a desk whose agents work in Baton's own console (the agent API,
//! `docs/agent-api.md`): presence, offers, chats, and what an agent does in them.
//!
//! A desk offers it through [`ServiceDesk::console`](crate::ServiceDesk::console), so the server
//! reaches the desk through the one trait for both sides of a transfer; an external desk has its
//! own agent workspace and offers none. Baton's own desk ([`OwnDesk`]) is the implementation.
//! Like [`ServiceDesk`](crate::ServiceDesk), every call that acts returns a boxed future, so an
//! implementation may keep its state elsewhere (a database shared by several servers).

use tokio::sync::mpsc;

use chrono::{DateTime, Utc};

use crate::ids::{AgentId, ChatId, MessageId, QueueName};
use crate::own::{AgentConfig, AgentEvent, Disposition, OwnDesk, Presence, TransferTarget};
use crate::service_desk::{AgentMessage, Availability, DeskFuture};

/// The events of one open agent console.
pub type AgentEvents = mpsc::UnboundedReceiver<AgentEvent>;

/// What the agent console does with a desk.
pub trait AgentConsole: Send + Sync {
    /// The desk's time (offer expiry and waits are measured with it).
    fn now(&self) -> DateTime<Utc>;

    /// Adds an agent (offline until they set their presence) or updates one.
    fn register_agent(&self, agent: AgentConfig) -> DeskFuture<'_, ()>;

    /// The event stream of one console; an agent may have several open.
    fn agent_events<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, AgentEvents>;

    fn set_presence<'a>(&'a self, agent: &'a AgentId, presence: Presence) -> DeskFuture<'a, ()>;

    /// `None` for an agent the desk does not know.
    fn presence<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, Option<Presence>>;

    /// The offers waiting for an agent's answer, as `Offer` events (for a console that reconnects).
    fn pending_offers<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, Vec<AgentEvent>>;

    /// The chats an agent is in (for a console that reconnects).
    fn active_chats<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, Vec<ChatId>>;

    fn accept<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId) -> DeskFuture<'a, ()>;

    fn decline<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId) -> DeskFuture<'a, ()>;

    /// The agent writes to the customer; returns the message as delivered (with its id).
    fn agent_message<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, text: String) -> DeskFuture<'a, AgentMessage>;

    fn agent_typing<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()>;

    fn agent_read<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, up_to: MessageId) -> DeskFuture<'a, ()>;

    /// Passes an active chat to another agent (who must accept) or to a queue.
    fn pass_on<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, target: TransferTarget) -> DeskFuture<'a, ()>;

    /// Ends an active chat: resolved, or handed back to the assistant.
    fn end<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, disposition: Disposition) -> DeskFuture<'a, ()>;

    /// Availability of a queue now, for the supervisor view.
    fn queue_availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability>;
}

impl AgentConsole for OwnDesk {
    fn now(&self) -> DateTime<Utc> {
        OwnDesk::now(self)
    }

    fn register_agent(&self, agent: AgentConfig) -> DeskFuture<'_, ()> {
        Box::pin(async move {
            self.upsert_agent(agent);
            Ok(())
        })
    }

    fn agent_events<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, AgentEvents> {
        Box::pin(async move { OwnDesk::agent_events(self, agent) })
    }

    fn set_presence<'a>(&'a self, agent: &'a AgentId, presence: Presence) -> DeskFuture<'a, ()> {
        Box::pin(async move { OwnDesk::set_presence(self, agent, presence) })
    }

    fn presence<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, Option<Presence>> {
        Box::pin(async move { Ok(OwnDesk::presence(self, agent)) })
    }

    fn pending_offers<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, Vec<AgentEvent>> {
        Box::pin(async move { Ok(OwnDesk::pending_offers(self, agent)) })
    }

    fn active_chats<'a>(&'a self, agent: &'a AgentId) -> DeskFuture<'a, Vec<ChatId>> {
        Box::pin(async move { Ok(OwnDesk::active_chats(self, agent)) })
    }

    fn accept<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId) -> DeskFuture<'a, ()> {
        Box::pin(async move { OwnDesk::accept(self, agent, chat) })
    }

    fn decline<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId) -> DeskFuture<'a, ()> {
        Box::pin(async move { OwnDesk::decline(self, agent, chat) })
    }

    fn agent_message<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, text: String) -> DeskFuture<'a, AgentMessage> {
        Box::pin(async move { OwnDesk::agent_message(self, agent, chat, text) })
    }

    fn agent_typing<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move { OwnDesk::agent_typing(self, agent, chat, typing) })
    }

    fn agent_read<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, up_to: MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move { OwnDesk::agent_read(self, agent, chat, up_to) })
    }

    fn pass_on<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, target: TransferTarget) -> DeskFuture<'a, ()> {
        Box::pin(async move { OwnDesk::transfer(self, agent, chat, target) })
    }

    fn end<'a>(&'a self, agent: &'a AgentId, chat: &'a ChatId, disposition: Disposition) -> DeskFuture<'a, ()> {
        Box::pin(async move { OwnDesk::end(self, agent, chat, disposition) })
    }

    fn queue_availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move { Ok(OwnDesk::queue_availability(self, queue)) })
    }
}
