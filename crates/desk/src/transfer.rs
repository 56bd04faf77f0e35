//! The transfer state machine: a pure value the server persists, one open per session (its states,
//! as agents see them, are in docs/agent-api.md).
//!
//! ```text
//! requested → queued → offered → active → ended
//!      │         │        │         └────→ handed_back
//!      │         │        └──→ queued (declined / not accepted in time: offered to the next)
//!      │         └──→ cancelled · abandoned · timed_out
//!      └──→ unavailable → queued (wait in queue) · message_left (ticket) · returned (to the assistant)
//!      any open state → failed
//! ```
//!
//! Besides the diagram's arrows, a few that real desks need are legal and listed in [`is_legal`]:
//! the customer may cancel or leave at any point before an agent joins, a desk without offers goes
//! straight from queued to active, an agent passes an active chat on (active → offered to a named
//! agent, active → queued for another queue), and a desk may close a chat before anyone joined
//! (queued/offered → ended).
//!
//! Every transition yields one timestamped [`TransferEntry`]; the server appends them to the
//! transcript in the same transaction that saves the transfer.
//! Updates that change no state (a new queue position, a message) yield no entry.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChatId, QueueName, SessionId, TransferId};
use crate::service_desk::{
    AgentProfile, ChatState, DeskErrorKind, DeskEvent, EndReason, EndedBy, OfflinePolicy, secs_opt,
};

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    Requested,
    Queued,
    Offered,
    Active,
    /// No agent online or the queue is closed; the offline policy decides what comes next.
    Unavailable,
    Ended,
    HandedBack,
    Cancelled,
    Abandoned,
    TimedOut,
    /// Offline policy "leave a message": the message is a ticket.
    MessageLeft,
    /// Offline policy "back to the assistant".
    Returned,
    Failed,
}

impl TransferState {
    pub const ALL: [TransferState; 13] = [
        TransferState::Requested,
        TransferState::Queued,
        TransferState::Offered,
        TransferState::Active,
        TransferState::Unavailable,
        TransferState::Ended,
        TransferState::HandedBack,
        TransferState::Cancelled,
        TransferState::Abandoned,
        TransferState::TimedOut,
        TransferState::MessageLeft,
        TransferState::Returned,
        TransferState::Failed,
    ];

    /// Open transfers keep the assistant silent; a session has at most one.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TransferState::Requested
                | TransferState::Queued
                | TransferState::Offered
                | TransferState::Active
                | TransferState::Unavailable
        )
    }

    /// The stable name, as stored and as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Requested => "requested",
            TransferState::Queued => "queued",
            TransferState::Offered => "offered",
            TransferState::Active => "active",
            TransferState::Unavailable => "unavailable",
            TransferState::Ended => "ended",
            TransferState::HandedBack => "handed_back",
            TransferState::Cancelled => "cancelled",
            TransferState::Abandoned => "abandoned",
            TransferState::TimedOut => "timed_out",
            TransferState::MessageLeft => "message_left",
            TransferState::Returned => "returned",
            TransferState::Failed => "failed",
        }
    }
}

impl std::fmt::Display for TransferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `from → to` is a transition of the machine.
pub fn is_legal(from: TransferState, to: TransferState) -> bool {
    use TransferState::*;
    if from.is_open() && to == Failed {
        return true;
    }
    matches!(
        (from, to),
        (Requested, Queued | Unavailable | Cancelled | Abandoned)
            | (Queued, Offered | Active | Cancelled | Abandoned | TimedOut | Ended)
            | (Offered, Queued | Active | Cancelled | Abandoned | TimedOut | Ended)
            | (Active, Ended | HandedBack | Offered | Queued | Active)
            | (Unavailable, Queued | MessageLeft | Returned | Cancelled | Abandoned)
    )
}

/// What Baton's side does to a transfer (the desk's side arrives as [`DeskEvent`]s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransferCommand {
    /// The desk's availability said no agent can be reached.
    MarkUnavailable { policy: OfflinePolicy },
    /// After unavailable: the customer left a message, stored as this ticket.
    LeaveMessage { ticket: String },
    /// After unavailable: the assistant takes the customer back.
    ReturnToAssistant,
    /// The customer cancelled.
    Cancel,
    /// The customer went away.
    Abandon,
    /// No agent joined within the join timeout (for desks that do not time out themselves).
    TimeOut,
    /// The desk returned an error.
    Fail { error: String },
}

/// Anything [`Transfer::apply`] accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferInput {
    Command(TransferCommand),
    Desk(DeskEvent),
}

impl From<TransferCommand> for TransferInput {
    fn from(command: TransferCommand) -> Self {
        TransferInput::Command(command)
    }
}

impl From<DeskEvent> for TransferInput {
    fn from(event: DeskEvent) -> Self {
        TransferInput::Desk(event)
    }
}

/// Why a transition happened, for the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransferCause {
    Requested { queue: Option<QueueName> },
    Queued { note: Option<String> },
    Offered { agent: AgentProfile },
    AgentJoined { agent: AgentProfile },
    TransferStarted { agent: AgentProfile },
    Unavailable { policy: OfflinePolicy },
    MessageLeft { ticket: String },
    ReturnedToAssistant,
    Cancelled,
    Abandoned,
    TimedOut,
    Ended { by: EndedBy, reason: EndReason },
    Failed { error: String },
}

/// One transition, as the transcript records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferEntry {
    pub transfer: TransferId,
    pub at: DateTime<Utc>,
    /// `None` for the entry that opens the transfer.
    pub from: Option<TransferState>,
    pub to: TransferState,
    pub cause: TransferCause,
}

/// An input the machine refuses; the transfer is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransitionError {
    #[error("transfer {transfer} cannot go from {from} to {to}")]
    Illegal {
        transfer: TransferId,
        from: TransferState,
        to: TransferState,
    },
    #[error("transfer {transfer} is {state} and closed; it takes no more input")]
    Closed { transfer: TransferId, state: TransferState },
    #[error("transfer {transfer} is {state}; '{input}' makes no sense there")]
    Unexpected {
        transfer: TransferId,
        state: TransferState,
        input: &'static str,
    },
}

/// A transfer: the persisted object behind one request for a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    id: TransferId,
    session: SessionId,
    queue: Option<QueueName>,
    state: TransferState,
    /// The desk's id of the chat, once it is open.
    chat: Option<ChatId>,
    /// The configured desk that holds the chat (`None`: the default desk); with `chat`, what
    /// a restart needs to find the chat again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desk: Option<String>,
    /// The desk's state for finding the chat again after a restart (`DeskEvent::Resumable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desk_state: Option<ChatState>,
    /// The agent offered or in the chat.
    agent: Option<AgentProfile>,
    position: Option<u32>,
    #[serde(with = "secs_opt")]
    estimated_wait: Option<Duration>,
    opened_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Transfer {
    /// A new transfer in `requested`, with the entry that records it.
    pub fn request(
        id: TransferId,
        session: SessionId,
        queue: Option<QueueName>,
        now: DateTime<Utc>,
    ) -> (Transfer, TransferEntry) {
        let entry = TransferEntry {
            transfer: id.clone(),
            at: now,
            from: None,
            to: TransferState::Requested,
            cause: TransferCause::Requested { queue: queue.clone() },
        };
        let transfer = Transfer {
            id,
            session,
            queue,
            state: TransferState::Requested,
            chat: None,
            desk: None,
            desk_state: None,
            agent: None,
            position: None,
            estimated_wait: None,
            opened_at: now,
            updated_at: now,
        };
        (transfer, entry)
    }

    pub fn id(&self) -> &TransferId {
        &self.id
    }
    pub fn session(&self) -> &SessionId {
        &self.session
    }
    pub fn queue(&self) -> Option<&QueueName> {
        self.queue.as_ref()
    }
    pub fn state(&self) -> TransferState {
        self.state
    }
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }
    pub fn chat(&self) -> Option<&ChatId> {
        self.chat.as_ref()
    }
    pub fn agent(&self) -> Option<&AgentProfile> {
        self.agent.as_ref()
    }
    /// The last queue position the desk reported, while waiting.
    pub fn position(&self) -> Option<u32> {
        self.position
    }
    pub fn estimated_wait(&self) -> Option<Duration> {
        self.estimated_wait
    }
    pub fn opened_at(&self) -> DateTime<Utc> {
        self.opened_at
    }
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// Records the desk's id for the chat (after `start_chat`); not a transition. A state the
    /// desk kept for another chat is dropped.
    pub fn attach_chat(&mut self, chat: ChatId) {
        if self.chat.as_ref() != Some(&chat) {
            self.desk_state = None;
        }
        self.chat = Some(chat);
    }

    /// The desk's last state for the chat (`DeskEvent::Resumable`), for `ChatResume`.
    pub fn desk_state(&self) -> Option<&ChatState> {
        self.desk_state.as_ref()
    }

    /// The configured desk that holds the chat; `None` for the default desk.
    pub fn desk(&self) -> Option<&str> {
        self.desk.as_deref()
    }

    /// Records which configured desk holds the chat (after `start_chat` there, or when a
    /// transfer fails over to the next desk); not a transition.
    pub fn attach_desk(&mut self, desk: Option<String>) {
        self.desk = desk;
    }

    /// Applies a command or a desk event. On success the transfer has moved and the entries
    /// (zero for updates that change no state, else one) say how; on error nothing changed.
    pub fn apply(
        &mut self,
        input: impl Into<TransferInput>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransferEntry>, TransitionError> {
        let input = input.into();
        if !self.state.is_open() {
            return Err(TransitionError::Closed {
                transfer: self.id.clone(),
                state: self.state,
            });
        }
        match input {
            TransferInput::Command(command) => self.apply_command(command, now),
            TransferInput::Desk(event) => self.apply_event(event, now),
        }
    }

    fn apply_command(
        &mut self,
        command: TransferCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransferEntry>, TransitionError> {
        use TransferState::*;
        let (to, cause) = match command {
            TransferCommand::MarkUnavailable { policy } => (Unavailable, TransferCause::Unavailable { policy }),
            TransferCommand::LeaveMessage { ticket } => (MessageLeft, TransferCause::MessageLeft { ticket }),
            TransferCommand::ReturnToAssistant => (Returned, TransferCause::ReturnedToAssistant),
            // Once an agent has joined, the customer leaving ends the chat.
            TransferCommand::Cancel if self.state == Active => (Ended, TransferCause::Cancelled),
            TransferCommand::Abandon if self.state == Active => (Ended, TransferCause::Abandoned),
            TransferCommand::Cancel => (Cancelled, TransferCause::Cancelled),
            TransferCommand::Abandon => (Abandoned, TransferCause::Abandoned),
            TransferCommand::TimeOut => (TimedOut, TransferCause::TimedOut),
            TransferCommand::Fail { error } => (Failed, TransferCause::Failed { error }),
        };
        self.transition(to, cause, now).map(|entry| vec![entry])
    }

    fn apply_event(&mut self, event: DeskEvent, now: DateTime<Utc>) -> Result<Vec<TransferEntry>, TransitionError> {
        use TransferState::*;
        let (to, cause) = match event {
            DeskEvent::Queued { position, wait, note } => {
                self.position = position;
                self.estimated_wait = wait;
                if self.state == Queued {
                    self.updated_at = now;
                    return Ok(Vec::new());
                }
                (Queued, TransferCause::Queued { note })
            }
            DeskEvent::Offered(agent) => (Offered, TransferCause::Offered { agent }),
            DeskEvent::AgentJoined(agent) => {
                let same_agent = self.agent.as_ref().map(|current| &current.id) == Some(&agent.id);
                if self.state == Active && same_agent {
                    // A desk repeats the join after reconnecting; nothing happened.
                    return Ok(Vec::new());
                }
                (Active, TransferCause::AgentJoined { agent })
            }
            DeskEvent::TransferStarted(agent) => {
                if self.state != Active {
                    return Err(self.unexpected("transfer_started"));
                }
                (Offered, TransferCause::TransferStarted { agent })
            }
            DeskEvent::Resumable(state) => {
                self.desk_state = Some(state);
                return Ok(Vec::new());
            }
            DeskEvent::AgentTyping(_)
            | DeskEvent::AgentMessage(_)
            | DeskEvent::AgentRead { .. }
            | DeskEvent::AgentLeft => return Ok(Vec::new()),
            DeskEvent::Ended { by, reason } => {
                let to = match (&reason, self.state) {
                    (EndReason::HandBack { .. }, Active) => HandedBack,
                    (_, Active) => Ended,
                    (EndReason::Cancelled, _) => Cancelled,
                    (EndReason::CustomerLeft, _) => Abandoned,
                    (EndReason::JoinTimedOut, _) => TimedOut,
                    _ => Ended,
                };
                (to, TransferCause::Ended { by, reason })
            }
            DeskEvent::Error(DeskErrorKind::Connecting) => (
                Failed,
                TransferCause::Failed {
                    error: "could not connect to the desk".to_owned(),
                },
            ),
            // Temporary trouble: the desk reconnects or the message is retried; no state change.
            DeskEvent::Error(DeskErrorKind::Disconnected | DeskErrorKind::MessageFailed) => {
                return Ok(Vec::new());
            }
        };
        let mut entries = Vec::new();
        if self.state == Requested && matches!(to, Offered | Active) {
            // Desks that skip the queue (or do not report it) still pass through it. Both steps
            // are legal from here, so the transfer never stops half-way.
            entries.push(self.transition(Queued, TransferCause::Queued { note: None }, now)?);
        }
        entries.push(self.transition(to, cause, now)?);
        Ok(entries)
    }

    fn transition(
        &mut self,
        to: TransferState,
        cause: TransferCause,
        now: DateTime<Utc>,
    ) -> Result<TransferEntry, TransitionError> {
        let from = self.state;
        if !is_legal(from, to) {
            return Err(TransitionError::Illegal {
                transfer: self.id.clone(),
                from,
                to,
            });
        }
        match &cause {
            TransferCause::Offered { agent }
            | TransferCause::AgentJoined { agent }
            | TransferCause::TransferStarted { agent } => self.agent = Some(agent.clone()),
            TransferCause::Queued { .. } => self.agent = None,
            _ => {}
        }
        if to != TransferState::Queued {
            self.position = None;
            self.estimated_wait = None;
        }
        self.state = to;
        self.updated_at = now;
        Ok(TransferEntry {
            transfer: self.id.clone(),
            at: now,
            from: Some(from),
            to,
            cause,
        })
    }

    fn unexpected(&self, input: &'static str) -> TransitionError {
        TransitionError::Unexpected {
            transfer: self.id.clone(),
            state: self.state,
            input,
        }
    }
}
