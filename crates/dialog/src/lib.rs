//! The dialog runtime: `step(&Assistant, Session, Event, now) -> Turn`.
//!
//! Pure and deterministic: no I/O, no clock (time arrives as `now`), no randomness.
//! Everything the runtime needs arrives as a value ([`Session`], [`Event`]); everything it wants
//! done leaves as a value ([`Effect`]). Callers hold an [`Engine`] (the assistant and its trained
//! [`baton_nlu::Classifier`]), which classifies the customer's text before building the event;
//! they carry out the effects afterwards. The order in which a customer message is handled is
//! documented at the top of `runtime.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use baton_assistant::{Assistant, Value};

mod answer;
pub mod engine;
mod runtime;
pub mod scope;
pub mod session;
mod words;

pub use baton_nlu::IntentScore;
pub use engine::Engine;
pub use runtime::MAX_STEPS_PER_TURN;
pub use session::Session;

/// The session's `channel` on the phone: responses given per channel pick their `voice` wording.
pub const VOICE_CHANNEL: &str = "voice";

/// The id under which the Fallback action's own examples ("I want to talk to a person") are
/// given to the classifier; an intent with this id means the customer asked for a human.
pub const FALLBACK_INTENT: &str = "fallback";

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The session starts: runs Greet customer.
    Start,
    /// The customer said something; `intents` are the classifier's scores for `text`, best first.
    UserSaid { text: String, intents: Vec<IntentScore> },
    /// The open transfer ended without a hand-back (agent ended the chat, customer cancelled,
    /// no agent joined, desk failed): the assistant answers again.
    TransferEnded { outcome: TransferOutcome },
    /// A human agent handed the customer back: set these variables, then run `resume` if given.
    HandedBack {
        resume: Option<String>,
        variables: Vec<(String, Value)>,
    },
}

/// How a transfer ended, for the transcript and for what the assistant says next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    Ended,
    Cancelled,
    TimedOut,
    Unavailable,
    Failed,
}

/// Why a transfer was requested: `planned` (a step's "and then" is connect to agent) or a
/// Fallback reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferReason {
    Planned,
    NoActionMatches,
    StepValidationFailed,
    AgentRequested,
    DangerWord,
    Profanity,
}

impl TransferReason {
    /// The stable name (`planned`, `no_action_matches`, …), also the value of `fallback_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferReason::Planned => "planned",
            TransferReason::NoActionMatches => "no_action_matches",
            TransferReason::StepValidationFailed => "step_validation_failed",
            TransferReason::AgentRequested => "agent_requested",
            TransferReason::DangerWord => "danger_word",
            TransferReason::Profanity => "profanity",
        }
    }
}

/// A request for a human agent, with everything the desk and the agent need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub reason: TransferReason,
    pub queue: Option<String>,
    /// The note for the agent, interpolated.
    pub message_to_agent: String,
    /// What to tell the customer when agents are online / offline; the caller picks one.
    pub online_response: String,
    pub offline_response: String,
    /// The action and step the transfer came from (for fallback: the action in progress, if any).
    pub action: Option<String>,
    pub step: Option<String>,
    /// For fallback: the customer inputs that failed (misses, invalid answers, trigger words).
    pub failed_inputs: Vec<String>,
}

/// Something the assistant shows the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Text {
        text: String,
    },
    /// Option buttons: choosing one sends its value.
    Options {
        title: String,
        choices: Vec<Choice>,
    },
    Link {
        label: String,
        url: String,
    },
    Pause {
        milliseconds: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    pub value: String,
}

/// Something the runtime wants done, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    Say(Message),
    /// Ask for a human agent. The caller shows `online_response` or `offline_response`.
    Transfer(TransferRequest),
    ActionStarted {
        action: String,
    },
    ActionFinished {
        action: String,
        reason: FinishReason,
    },
    /// What the customer is told about the transfer just requested: its online or its offline
    /// response, chosen by [`answer_transfer`] from what the desk said. Clients of the message
    /// API already have both in `connect_to_agent`; this is the transcript's line.
    TransferResponse {
        text: String,
    },
    /// The customer asked for a human while their transfer is open: they are told where they
    /// stand rather than given a second transfer (the caller knows the queue and the agent).
    AgentRequestedAgain,
    /// A step's `then: hang_up`: on the phone the call ends after what was said; other channels
    /// ignore it (the action has ended as with `then: end`).
    HangUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Ran its last step or `then: end`.
    Completed,
    /// Ended by connect to agent.
    Transferred,
    /// Left for another action (change topic, go to without return).
    Interrupted,
    /// Abandoned by the customer (e.g. "None of the above", declined to return).
    Abandoned,
}

/// What one event did to a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub session: Session,
    pub effects: Vec<Effect>,
    pub debug: TurnDebug,
}

/// What the preview's debug panel and `output.debug` show for a turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnDebug {
    /// The action the input matched, if any, and its confidence.
    pub matched: Option<(String, f32)>,
    /// The action and step the session is at after the turn.
    pub action: Option<String>,
    pub step: Option<String>,
    /// Set when Fallback ran this turn.
    pub fallback_reason: Option<TransferReason>,
}

/// What the desk said about agents for the transfer a turn requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentsAvailable {
    /// An agent can be reached now, or the desk cannot tell (the chat's start then decides).
    Online,
    /// No agent can be reached now; `back_to_assistant` when the queue's offline policy gives
    /// the customer back to the assistant at once instead of letting them wait.
    Offline { back_to_assistant: bool },
}

/// Completes a turn that requested a transfer, once the caller has asked the desk: the runtime
/// cannot ask it (no I/O), so the turn leaves out what the customer is told, and this adds it
/// right after the transfer (the online or the offline response) and, when the queue gives the
/// customer back to the assistant, closes the transfer in the session.
/// A turn without a transfer is left as it is.
pub fn answer_transfer(turn: &mut Turn, agents: AgentsAvailable) {
    let Some(index) = turn
        .effects
        .iter()
        .position(|effect| matches!(effect, Effect::Transfer(_)))
    else {
        return;
    };
    let Effect::Transfer(request) = &turn.effects[index] else {
        return;
    };
    let text = match agents {
        AgentsAvailable::Online => request.online_response.clone(),
        AgentsAvailable::Offline { .. } => request.offline_response.clone(),
    };
    turn.effects.insert(index + 1, Effect::TransferResponse { text });
    if agents
        == (AgentsAvailable::Offline {
            back_to_assistant: true,
        })
    {
        turn.session.transfer_open = false;
    }
}

/// Runs one event through the assistant.
pub fn step(assistant: &Assistant, session: Session, event: Event, now: DateTime<Utc>) -> Turn {
    runtime::step(assistant, session, event, now)
}
