//! The service-desk contract: what Baton asks of a desk, and the typed events a desk sends back.
//!
//! It mirrors the contract Watson web chat gives service desks (`ServiceDesk` and
//! `ServiceDeskCallback`), moved to the server so it works for every channel.
//! Every desk, Baton's own included, implements [`ServiceDesk`], and every implementation
//! passes the shared suite in `contract` (feature `contract-tests`).
//!
//! Design decision: the trait returns boxed futures rather than using `async fn`, so the server
//! can hold an `Arc<dyn ServiceDesk>` chosen by configuration.
//! Events come back on one unbounded channel per chat: a desk never waits for Baton, and a slow
//! customer socket never blocks a desk.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::DeskError;
use crate::console::AgentConsole;
use crate::ids::{AgentId, ChatId, MessageId, QueueName, SessionId, TransferId};
use crate::webhook::WebhookReceiver;

/// What a desk call returns.
pub type DeskFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DeskError>> + Send + 'a>>;

/// The events of one chat, desk → Baton. The stream ends when the desk closes the chat.
pub type DeskEvents = mpsc::UnboundedReceiver<DeskEvent>;

/// One service desk.
pub trait ServiceDesk: Send + Sync {
    /// Which signals this desk supports, so clients degrade gracefully where one is missing.
    fn capabilities(&self) -> Capabilities;

    /// Whether a transfer to `queue` (the desk's default queue when `None`) would reach an agent now.
    fn availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability>;

    /// Opens a chat for a transfer. The first event is usually `Queued` (or `AgentJoined`).
    /// Fails with [`DeskError::Unavailable`] when no agent can be reached and the queue's offline
    /// policy is not to wait.
    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat>;

    /// Relays a customer message: to the agent when one has joined, else kept for the agent.
    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()>;

    /// The customer started or stopped typing. A no-op on desks without typing.
    fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()>;

    /// The customer has read the agent's messages up to and including `up_to`.
    fn customer_read<'a>(&'a self, chat: &'a ChatId, up_to: &'a MessageId) -> DeskFuture<'a, ()>;

    /// The customer's side ends the chat (cancelled, left, session closed). The chat's event
    /// stream ends; no `Ended` event follows, since Baton already knows.
    fn end_chat<'a>(&'a self, chat: &'a ChatId, reason: EndReason) -> DeskFuture<'a, ()>;

    /// Re-attaches to a chat that was open before a restart and returns its event stream anew.
    fn resume(&self, chat: ChatResume) -> DeskFuture<'_, Chat>;

    /// The agent side, for a desk whose agents work in Baton's own console; `None` for a desk
    /// with its own agent workspace.
    fn console(&self) -> Option<&dyn AgentConsole> {
        None
    }

    /// What takes the desk's calls to Baton's webhook router, for a desk that makes them.
    fn webhook(&self) -> Option<&dyn WebhookReceiver> {
        None
    }
}

/// An open chat: the desk's id for it and its events.
#[derive(Debug)]
pub struct Chat {
    pub id: ChatId,
    pub events: DeskEvents,
}

/// Which optional signals a desk supports, so the widget and the API offer only what reaches the
/// other side. Each way of a signal is separate: many desks show the customer's typing to the
/// agent but never send the agent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    /// The agent's typing reaches the customer (`AgentTyping`).
    pub agent_typing: bool,
    /// The customer's typing reaches the agent (`customer_typing` does something).
    pub customer_typing: bool,
    /// The agent's read receipts reach the customer (`AgentRead`).
    pub agent_read: bool,
    /// The customer's read receipts reach the agent (`customer_read` does something).
    pub customer_read: bool,
    /// `Queued` carries the customer's position.
    pub queue_position: bool,
    /// `Queued` carries an estimated wait.
    pub estimated_wait: bool,
    /// An agent can pass the chat to another agent (`TransferStarted`).
    pub transfer_events: bool,
    /// The customer can end the chat from their side and the agent is told (`end_chat`).
    pub customer_end: bool,
    pub files: bool,
    /// `resume` works after a restart.
    pub resume: bool,
    /// `Offered` events (the desk routes to a named agent who then accepts).
    pub offers: bool,
}

/// Whether agents are online, as far as the desk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Online {
    Yes,
    No,
    Unknown,
}

/// The answer to [`ServiceDesk::availability`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    pub online: Online,
    /// The position a customer starting a chat now would get (1 = next).
    pub position: Option<u32>,
    #[serde(with = "secs_opt")]
    pub estimated_wait: Option<Duration>,
    /// What the queue does when `online` is `No`; `None` when the desk leaves it to Baton.
    pub offline_policy: Option<OfflinePolicy>,
}

/// What happens to a transfer when no agent is online or the queue is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflinePolicy {
    /// Wait in the queue until an agent comes (the default, as the offline response promises).
    #[default]
    WaitInQueue,
    /// Take a message and store it as a ticket.
    LeaveMessage,
    /// The assistant takes the customer back.
    BackToAssistant,
}

/// Everything a desk needs to open a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub transfer: TransferId,
    pub session: SessionId,
    pub customer: Customer,
    pub brief: Brief,
    pub transcript: Vec<TranscriptLine>,
    /// Baton's read-only transcript view, for desks that show a link.
    pub transcript_url: Option<String>,
    pub routing: Routing,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// Who the customer is, as far as Baton knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub channel: Option<String>,
    pub locale: Option<String>,
}

/// What the agent reads first: why the customer is here and what is already known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brief {
    /// The brief as text, for desks that show only text: why, where the customer was (the
    /// action's title and the question asked), the message to the agent and the variables.
    #[serde(default)]
    pub summary: String,
    pub reason: BriefReason,
    pub message_to_agent: String,
    /// The collected variables, without those marked private (the server filters them).
    pub variables: BTreeMap<String, serde_json::Value>,
}

/// Why the transfer was requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BriefReason {
    /// A step's "and then" is connect to agent.
    Planned { action: String, step: Option<String> },
    /// Fallback ran: why, where, and the customer inputs that failed.
    Fallback {
        reason: FallbackReason,
        action: Option<String>,
        step: Option<String>,
        failed_inputs: Vec<String>,
    },
}

/// The reasons Fallback runs (docs/format.md, Fallback), as `fallback_reason` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackReason {
    NoActionMatches,
    StepValidationFailed,
    AgentRequested,
    DangerWord,
    Profanity,
}

/// One line of the conversation so far, for the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub at: DateTime<Utc>,
    pub speaker: Speaker,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Speaker {
    Customer,
    Assistant,
    Agent(String),
    System,
}

/// Where to route: a queue and, for desks that route on it, a skill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    pub queue: Option<QueueName>,
    pub skill: Option<String>,
}

/// A customer message for the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerMessage {
    pub id: MessageId,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// How the agent appears to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub id: AgentId,
    pub name: String,
}

/// An agent's message for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMessage {
    pub id: MessageId,
    pub at: DateTime<Utc>,
    pub agent: AgentProfile,
    pub text: String,
}

/// Desk → Baton, one channel per chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum DeskEvent {
    /// Waiting for an agent; sent again whenever the position or the wait changes.
    Queued {
        position: Option<u32>,
        #[serde(with = "secs_opt")]
        wait: Option<Duration>,
        note: Option<String>,
    },
    /// The chat was offered to this agent, who has not accepted yet (desks with `offers`).
    Offered(AgentProfile),
    AgentJoined(AgentProfile),
    AgentTyping(bool),
    AgentMessage(AgentMessage),
    /// The agent has read the customer's messages up to and including this one.
    AgentRead {
        up_to: MessageId,
    },
    /// The agent is passing the chat to this agent; `AgentJoined` follows when they accept.
    TransferStarted(AgentProfile),
    AgentLeft,
    Ended {
        by: EndedBy,
        reason: EndReason,
    },
    Error(DeskErrorKind),
    /// What the desk needs to find this chat again after a restart (a guest token, the last
    /// event seen), which Baton stores with the transfer and hands back in [`ChatResume::state`].
    /// Sent again whenever it changes; the customer sees nothing of it.
    Resumable(ChatState),
}

/// A desk's opaque state for one chat, kept by Baton between restarts. It may hold a secret (an
/// access token), so its `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChatState(pub String);

impl std::fmt::Debug for ChatState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChatState([{} bytes redacted])", self.0.len())
    }
}

/// Who ended a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Agent,
    Customer,
    Desk,
}

/// Why a chat ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndReason {
    /// The agent resolved it; the assistant answers again.
    Resolved,
    /// The agent hands the customer back: set `variables`, then run action `resume` if given.
    HandBack {
        resume: Option<String>,
        variables: BTreeMap<String, serde_json::Value>,
    },
    /// The customer cancelled while waiting.
    Cancelled,
    /// The customer went away (closed the session, stopped answering).
    CustomerLeft,
    /// No agent joined in time.
    JoinTimedOut,
    Other {
        note: String,
    },
}

/// What went wrong between Baton and the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeskErrorKind {
    /// The chat could not be opened: the transfer fails.
    Connecting,
    /// The connection dropped; the desk is reconnecting.
    Disconnected,
    /// A customer message did not reach the agent.
    MessageFailed,
}

/// What the server knows about an open transfer after a restart, to hand back to the desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResume {
    pub chat: ChatId,
    pub request: ChatRequest,
    /// When the chat first entered the queue (keeps its place in line).
    pub queued_at: DateTime<Utc>,
    /// The agent in the chat, if one had joined.
    pub agent: Option<AgentId>,
    /// The desk's last [`DeskEvent::Resumable`] state for the chat, if it sent one.
    #[serde(default)]
    pub state: Option<ChatState>,
}

/// `Option<Duration>` as whole seconds.
pub(crate) mod secs_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_some(&duration.as_secs()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_secs))
    }
}
