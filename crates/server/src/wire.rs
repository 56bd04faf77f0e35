//! The Watson Assistant v2 wire format: what clients send and receive, and nothing else.
//!
//! These types are the API's contract, changed only on purpose; domain types from `dialog` are
//! converted to them by hand in `render.rs`, so the runtime can be reshaped without breaking
//! clients.
//! Field names follow IBM's (`ibm_watson.assistant_v2` model classes). Requests accept and
//! ignore the fields Baton has no use for (`analytics`, `spelling`, `attachments`, …), as IBM
//! does with fields it does not know, so existing clients keep working.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST …/sessions` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    pub session_id: String,
}

/// The body of `POST …/message` (stateful and stateless).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct MessageRequest {
    #[serde(default)]
    pub input: Option<MessageInput>,
    #[serde(default)]
    pub context: Option<MessageContext>,
    /// The customer's id; kept for the session on its first message.
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct MessageInput {
    /// Only `text` is supported.
    #[serde(default)]
    #[schema(pattern = "^text$")]
    pub message_type: Option<String>,
    /// What the customer said; empty or absent starts the conversation (Greet customer).
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub options: Option<MessageInputOptions>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct MessageInputOptions {
    /// Start the conversation over (Greet customer), keeping session variables.
    #[serde(default)]
    pub restart: Option<bool>,
    /// Return every intent with its confidence, not only the matched one.
    #[serde(default)]
    pub alternate_intents: Option<bool>,
    /// Return `output.debug`.
    #[serde(default)]
    pub debug: Option<bool>,
    /// Return `context`.
    #[serde(default)]
    pub return_context: Option<bool>,
    /// Return `context` with `system.state`.
    #[serde(default)]
    pub export: Option<bool>,
}

/// Request context: only what Baton reads is typed; the rest is accepted and ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct MessageContext {
    #[serde(default)]
    pub global: Option<ContextGlobal>,
    /// By skill name; Baton reads `"actions skill"` (`skill_variables`, `system.state`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub skills: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ContextGlobal {
    #[serde(default)]
    pub system: Option<ContextGlobalSystem>,
    #[serde(default)]
    pub session_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ContextGlobalSystem {
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The name of the skill whose context carries session variables, as IBM's actions skill.
pub const ACTIONS_SKILL: &str = "actions skill";

/// The answer to a message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageResponse {
    pub output: MessageOutput,
    /// Present when `input.options.return_context` or `export` was set, and always for stateless messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
    pub user_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageOutput {
    pub generic: Vec<GenericItem>,
    pub intents: Vec<RuntimeIntent>,
    /// Always empty for now: extracted values are not reported as entities.
    #[schema(value_type = Vec<Object>)]
    pub entities: Vec<serde_json::Value>,
    /// Present when `input.options.debug` was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<MessageOutputDebug>,
}

/// One response item, tagged by `response_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "response_type", rename_all = "snake_case")]
pub enum GenericItem {
    Text {
        text: String,
        /// Set when a human agent wrote this text (during a transfer).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentName>,
    },
    Option {
        title: String,
        options: Vec<OptionChoice>,
    },
    ConnectToAgent {
        message_to_human_agent: String,
        agent_available: AgentAvailabilityMessage,
        agent_unavailable: AgentAvailabilityMessage,
        transfer_info: TransferInfo,
    },
    Pause {
        /// Milliseconds.
        time: u32,
        typing: bool,
    },
}

/// Who wrote an agent's text, as the customer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentName {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OptionChoice {
    pub label: String,
    pub value: OptionValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OptionValue {
    pub input: OptionInput,
}

/// What choosing an option sends back as `input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OptionInput {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentAvailabilityMessage {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransferInfo {
    /// By service desk; Baton's own is `baton`: `{"baton": {"queue": ..., "reason": ...}}`.
    #[schema(value_type = Object)]
    pub target: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuntimeIntent {
    pub intent: String,
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageOutputDebug {
    pub turn_events: Vec<TurnEvent>,
    /// Baton's own detail: what matched, where the session is, why Fallback ran.
    pub baton: BatonDebug,
}

/// `action_visited` and `action_finished`, as IBM's turn events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TurnEvent {
    pub event: String,
    pub source: TurnEventSource,
    /// For `action_finished`: `all_steps_done`, `connect_to_agent`, `fallback`, `interrupted`, `abandoned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TurnEventSource {
    #[serde(rename = "type")]
    pub kind: String,
    pub action: String,
    pub action_title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatonDebug {
    pub matched_action: Option<String>,
    pub confidence: Option<f64>,
    pub action: Option<String>,
    pub step: Option<String>,
    pub fallback_reason: Option<String>,
}
