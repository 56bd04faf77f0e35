//! The state of one customer's conversation, as stored between turns.
//!
//! Everything the runtime remembers lives here and nowhere else, so a session can be saved as
//! JSON after a turn, loaded by another replica, and the next turn continues exactly.
//! Invariant between turns: the action stack is either empty or its top frame waits for an
//! answer (a question, or — with [`Pending::ReturnOffer`] — the question the customer left).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use baton_assistant::Value;

use crate::TransferReason;

/// How many lines of the conversation `session_history` keeps.
pub const HISTORY_LINES: usize = 20;

/// One session's state. Serializable: the store keeps it as JSON between turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    /// Session and action variables by name.
    pub variables: BTreeMap<String, Value>,
    /// The customer's id (`user_id`), when the channel knows it.
    pub user_id: Option<String>,
    /// The channel the customer writes from (`channel`): `web`, `api`, `preview`, …
    pub channel: Option<String>,
    /// Customer messages so far.
    pub turn_count: u32,
    /// The running actions, innermost last.
    pub stack: Vec<Frame>,
    /// A question of the runtime's own that waits for the customer's reply.
    pub pending: Option<Pending>,
    /// Consecutive misses (`no_action_matches_count`).
    pub no_match_count: u32,
    /// Profanity warnings given so far.
    pub profanity_count: u32,
    /// Inputs that failed since the last success (misses, invalid answers); the brief of a
    /// Fallback transfer lists them.
    pub failed_inputs: Vec<String>,
    /// Set while Fallback runs (its custom steps may ask questions) and until the transfer ends.
    pub fallback: Option<FallbackContext>,
    /// The title of the action a change of topic interrupted (`digressed_from`).
    pub digressed_from: Option<String>,
    /// True while a transfer is open: the assistant stays silent.
    pub transfer_open: bool,
    /// The last [`HISTORY_LINES`] lines, `customer: …` / `assistant: …` (`session_history`);
    /// kept only for an assistant that reads `session_history` ([`baton_assistant::Assistant::keeps_history`]).
    pub history: Vec<String>,
    /// Whether the conversation has started (Greet customer has run).
    pub started: bool,
}

/// A running action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub action: ActionRef,
    /// The index of the current step.
    pub step: usize,
    /// True when the current step's question waits for an answer.
    pub waiting: bool,
    /// Invalid answers given to the waiting question.
    pub attempts: u32,
    /// What happens when this action ends.
    pub on_end: OnEnd,
}

/// An author's action or one of the system actions that have steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionRef {
    Action(String),
    Greet,
    NoActionMatches,
    Fallback,
}

impl ActionRef {
    /// The author's action id, or the system action's name (`greet`, `no_action_matches`, `fallback`).
    pub fn id(&self) -> &str {
        match self {
            ActionRef::Action(id) => id,
            ActionRef::Greet => "greet",
            ActionRef::NoActionMatches => "no_action_matches",
            ActionRef::Fallback => "fallback",
        }
    }
}

/// What happens when an action ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnEnd {
    /// Nothing: the conversation waits for the customer.
    #[default]
    Stop,
    /// The action below it (which ran `go_to` with `return`) continues with its next step.
    ReturnToCaller,
    /// The action below it was interrupted by a change of topic: offer to go back to it.
    OfferReturn,
}

/// A question the runtime itself asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pending {
    /// "Did you mean:" with these action ids.
    Clarify { candidates: Vec<String> },
    /// "Do you want to go back to …?": the interrupted action is the top of the stack.
    ReturnOffer,
}

/// Why Fallback runs and what was going on, for the transfer it ends in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FallbackContext {
    pub reason: TransferReason,
    pub action: Option<String>,
    pub step: Option<String>,
    pub failed_inputs: Vec<String>,
}

impl Session {
    /// A new session for a customer on a channel.
    pub fn new(user_id: Option<String>, channel: Option<String>) -> Session {
        Session {
            user_id,
            channel,
            ..Session::default()
        }
    }

    /// A variable's value; `None` when it is not set.
    pub fn variable(&self, name: &str) -> Option<&Value> {
        self.variables.get(name).filter(|value| value.is_set())
    }

    /// Sets a variable; `Value::Null` unsets it.
    pub fn set_variable(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        if value.is_set() {
            self.variables.insert(name, value);
        } else {
            self.variables.remove(&name);
        }
    }

    /// The innermost running action's id.
    pub fn current_action(&self) -> Option<&str> {
        self.stack.last().map(|frame| frame.action.id())
    }

    /// The innermost running action's step index.
    pub fn current_step_index(&self) -> Option<usize> {
        self.stack.last().map(|frame| frame.step)
    }

    /// True when a question (the assistant's or the runtime's own) waits for the customer.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some() || self.stack.last().is_some_and(|frame| frame.waiting)
    }

    pub(crate) fn remember(&mut self, line: String) {
        self.history.push(line);
        if self.history.len() > HISTORY_LINES {
            let excess = self.history.len() - HISTORY_LINES;
            self.history.drain(..excess);
        }
    }
}
