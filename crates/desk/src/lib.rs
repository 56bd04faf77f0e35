//! Service desks: the contract every desk implements, the transfer state machine, and Baton's
//! own desk.
//!
//! - [`transfer`]: the pure state machine the server persists, one open transfer per session.
//! - [`service_desk`]: the [`ServiceDesk`] trait (Baton → desk) and [`DeskEvent`] (desk → Baton).
//! - [`console`]: [`AgentConsole`], the agent side of a desk whose agents use Baton's console.
//! - [`own`]: [`OwnDesk`], the default desk, in-process: agents, presence, queues, business hours,
//!   routing. Its decisions live in the pure [`own::routing`] core; the async shell only delivers.
//! - [`webhook`]: [`WebhookReceiver`], the part of a desk that takes the calls it makes to
//!   Baton's webhook router (`POST /v1/desks/{name}/webhook`).
//! - `contract` (feature `contract-tests`): the suite every desk implementation must pass.
//!
//! Invariant: no other crate sees a desk's wire format; nothing here reads the system clock except
//! [`own::Clock::system`].

pub mod console;
pub mod ids;
pub mod own;
pub mod service_desk;
pub mod transfer;
pub mod webhook;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use console::{AgentConsole, AgentEvents};
pub use ids::{AgentId, ChatId, MessageId, QueueName, SessionId, TransferId};
pub use own::OwnDesk;
pub use service_desk::*;
pub use transfer::{
    Transfer, TransferCause, TransferCommand, TransferEntry, TransferInput, TransferState, TransitionError,
};
pub use webhook::{WebhookOutcome, WebhookReceiver, WebhookRequest};

/// What a desk call can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeskError {
    #[error("invalid {kind}: {value:?}")]
    InvalidId { kind: &'static str, value: String },
    #[error("chat {0} not found or already closed")]
    UnknownChat(ChatId),
    #[error("agent {0} not found")]
    UnknownAgent(AgentId),
    #[error("no agent can take queue {queue} now (offline policy {policy:?})")]
    Unavailable { queue: QueueName, policy: OfflinePolicy },
    #[error("chat {chat} is not offered to agent {agent}")]
    NotOffered { chat: ChatId, agent: AgentId },
    #[error("agent {agent} is not in chat {chat}")]
    NotInChat { chat: ChatId, agent: AgentId },
    #[error("agent {0} cannot take a chat now (offline, away or at capacity)")]
    AgentBusy(AgentId),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("this desk does not support {0}")]
    Unsupported(&'static str),
    #[error("the desk failed: {0}")]
    Desk(String),
    /// The desk answered and refused the call (a `4xx` other than `408` and `429`), with that
    /// status: a connector tells "no such conversation" (`404`) or "already there" (`409`) by it.
    #[error("the desk failed: {detail}")]
    Refused { status: u16, detail: String },
    /// A webhook call whose signature is missing, wrong or outside the replay window.
    #[error("the request is not signed by the desk: {0}")]
    Unauthenticated(String),
    /// A webhook call that is signed but not an event this desk understands.
    #[error("invalid desk event: {0}")]
    BadEvent(String),
}
