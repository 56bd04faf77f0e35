//! The webhook desk's protocol, version 1 (`docs/desks/webhook.md`): every call, either way, is
//! one JSON event in an envelope, signed (`crate::signing`). These types are the protocol: the
//! JSON Schemas in `docs/desks/` are generated from them, and a test holds the files to them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The protocol's version, sent in every envelope.
pub const VERSION: u32 = 1;

/// One call: an event with its id (a retry sends the same id; the receiver drops one it has
/// seen), the protocol version, when it happened and the chat it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<E> {
    /// Unique per event, 1 to 200 characters; the same on every delivery attempt.
    pub id: String,
    /// The protocol version, 1.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    /// The chat (Baton's transfer id). Absent only on `availability` for a whole queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(flatten)]
    pub event: E,
}

/// Baton → desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum ToDesk {
    /// A customer is handed over: open a chat and find an agent.
    #[serde(rename = "chat.requested")]
    ChatRequested(Box<ChatRequested>),
    /// The customer wrote to the agent.
    #[serde(rename = "customer.message")]
    CustomerMessage { message_id: String, text: String },
    #[serde(rename = "customer.typing")]
    CustomerTyping { typing: bool },
    /// The customer has read the agent's messages up to and including `up_to` (an agent
    /// message's `message_id`).
    #[serde(rename = "customer.read")]
    CustomerRead { up_to: String },
    /// The customer's side ended the chat; nothing more will be relayed.
    #[serde(rename = "chat.ended_by_customer")]
    ChatEndedByCustomer { reason: CustomerEndReason },
}

/// Why the customer's side ended a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerEndReason {
    /// The customer stopped waiting.
    Cancelled,
    /// The customer went away (closed the chat, the session expired).
    CustomerLeft,
    /// No agent joined within the time configured for this desk: the transfer goes elsewhere.
    JoinTimedOut,
    Other,
}

/// Everything the agent needs, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatRequested {
    pub transfer_id: String,
    pub session_id: String,
    /// The queue the assistant asked for; absent for the default queue.
    pub queue: Option<String>,
    pub customer: Customer,
    pub brief: Brief,
    /// The conversation so far, oldest first.
    pub transcript: Vec<TranscriptLine>,
    /// A read-only page of the whole conversation, signed and expiring, to show the agent.
    pub history_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub channel: Option<String>,
    pub locale: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Brief {
    /// The brief as text, ready to show: why, where, what failed, the message, what is known.
    pub summary: String,
    /// `planned`, `no_action_matches`, `step_validation_failed`, `agent_requested`,
    /// `danger_word` or `profanity`.
    pub reason: String,
    /// The action the customer was in, by id, and its title.
    pub action: Option<String>,
    pub step: Option<String>,
    /// What the customer said that the assistant could not use.
    pub failed_inputs: Vec<String>,
    pub message_to_agent: String,
    /// What the assistant collected, without variables marked private.
    pub variables: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TranscriptLine {
    pub at: DateTime<Utc>,
    /// `customer`, `assistant`, `agent` or `system`.
    pub speaker: String,
    /// The agent's name, on their lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub text: String,
}

/// Desk → Baton.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum FromDesk {
    /// An agent took the chat.
    #[serde(rename = "agent.joined")]
    AgentJoined { agent: Agent },
    #[serde(rename = "agent.message")]
    AgentMessage {
        /// Unique in the chat; the customer's read receipts name it.
        message_id: String,
        text: String,
        agent: Agent,
    },
    #[serde(rename = "agent.typing")]
    AgentTyping { typing: bool },
    /// The agent has read the customer's messages up to and including `up_to` (a customer
    /// message's `message_id`).
    #[serde(rename = "agent.read")]
    AgentRead { up_to: String },
    /// The agent passes the chat to another agent, who joins with `agent.joined`.
    #[serde(rename = "transfer.started")]
    TransferStarted { agent: Agent },
    /// The agent left; the chat waits for another (or ends with `chat.ended`).
    #[serde(rename = "agent.left")]
    AgentLeft {},
    /// The agent ended the chat: resolved, or handed back to the assistant.
    #[serde(rename = "chat.ended")]
    ChatEnded(ChatEnded),
    /// Who is there: for the whole desk (no `chat_id`, optional `queue`) or one waiting chat
    /// (its position and wait).
    #[serde(rename = "availability")]
    Availability(AvailabilityUpdate),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Agent {
    /// 1 to 200 characters.
    pub id: String,
    /// What the customer sees.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatEnded {
    pub disposition: Disposition,
    /// With `hand_back`: the action the assistant starts.
    #[serde(default)]
    pub resume_action: Option<String>,
    /// With `hand_back`: variables the assistant sets first.
    #[serde(default)]
    pub variables: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The agent solved it; the assistant says goodbye and takes new questions.
    Resolved,
    /// The assistant takes the customer back, optionally into `resume_action`.
    HandBack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AvailabilityUpdate {
    /// The queue this is about; absent for every queue of the desk.
    #[serde(default)]
    pub queue: Option<String>,
    /// Agents who could take a chat now.
    #[serde(default)]
    pub online_agents: Option<u32>,
    /// The chat's place in line (1 = next), with a `chat_id`.
    #[serde(default)]
    pub queue_position: Option<u32>,
    #[serde(default)]
    pub wait_seconds: Option<u64>,
}

/// The `chat.requested` event of a chat request.
pub fn chat_requested(request: &baton_desk::ChatRequest) -> ChatRequested {
    use baton_desk::{BriefReason, FallbackReason, Speaker};
    let (reason, action, step, failed_inputs) = match &request.brief.reason {
        BriefReason::Planned { action, step } => ("planned", Some(action.clone()), step.clone(), Vec::new()),
        BriefReason::Fallback {
            reason,
            action,
            step,
            failed_inputs,
        } => {
            let reason = match reason {
                FallbackReason::NoActionMatches => "no_action_matches",
                FallbackReason::StepValidationFailed => "step_validation_failed",
                FallbackReason::AgentRequested => "agent_requested",
                FallbackReason::DangerWord => "danger_word",
                FallbackReason::Profanity => "profanity",
            };
            (reason, action.clone(), step.clone(), failed_inputs.clone())
        }
    };
    ChatRequested {
        transfer_id: request.transfer.to_string(),
        session_id: request.session.to_string(),
        queue: request.routing.queue.as_ref().map(ToString::to_string),
        customer: Customer {
            user_id: request.customer.user_id.clone(),
            name: request.customer.name.clone(),
            channel: request.customer.channel.clone(),
            locale: request.customer.locale.clone(),
        },
        brief: Brief {
            summary: request.brief.summary.clone(),
            reason: reason.to_owned(),
            action,
            step,
            failed_inputs,
            message_to_agent: request.brief.message_to_agent.clone(),
            variables: request.brief.variables.clone(),
        },
        transcript: request
            .transcript
            .iter()
            .map(|line| {
                let (speaker, agent) = match &line.speaker {
                    Speaker::Customer => ("customer", None),
                    Speaker::Assistant => ("assistant", None),
                    Speaker::Agent(name) => ("agent", Some(name.clone())),
                    Speaker::System => ("system", None),
                };
                TranscriptLine {
                    at: line.at,
                    speaker: speaker.to_owned(),
                    agent,
                    text: line.text.clone(),
                }
            })
            .collect(),
        history_url: request.transcript_url.clone(),
    }
}

/// The JSON Schema (draft 2020-12) of an event Baton sends a desk: `Envelope<ToDesk>`, written
/// to `docs/desks/webhook-to-desk.schema.json`.
pub fn to_desk_schema() -> serde_json::Value {
    schema_of::<Envelope<ToDesk>>("Baton webhook desk protocol v1: an event Baton sends the desk")
}

/// The JSON Schema (draft 2020-12) of an event a desk sends Baton: `Envelope<FromDesk>`, written
/// to `docs/desks/webhook-from-desk.schema.json`.
pub fn from_desk_schema() -> serde_json::Value {
    schema_of::<Envelope<FromDesk>>("Baton webhook desk protocol v1: an event the desk sends Baton")
}

fn schema_of<T: JsonSchema>(title: &str) -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("title".to_owned(), serde_json::Value::String(title.to_owned()));
    }
    schema
}
