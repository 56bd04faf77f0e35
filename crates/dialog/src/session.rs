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
/// Fields at their default value are left out of the JSON (`#[serde(default)]` reads them back),
/// which halves a typical session's text: it is written with every turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    /// Session and action variables by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Value>,
    /// The customer's id (`user_id`), when the channel knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The channel the customer writes from (`channel`): `web`, `api`, `preview`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Customer messages so far.
    #[serde(skip_serializing_if = "is_zero")]
    pub turn_count: u32,
    /// The running actions, innermost last.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<Frame>,
    /// A question of the runtime's own that waits for the customer's reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Consecutive misses (`no_action_matches_count`).
    #[serde(skip_serializing_if = "is_zero")]
    pub no_match_count: u32,
    /// Profanity warnings given so far.
    #[serde(skip_serializing_if = "is_zero")]
    pub profanity_count: u32,
    /// Inputs that failed since the last success (misses, invalid answers); the brief of a
    /// Fallback transfer lists them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_inputs: Vec<String>,
    /// Set while Fallback runs (its custom steps may ask questions) and until the transfer ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackContext>,
    /// The title of the action a change of topic interrupted (`digressed_from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digressed_from: Option<String>,
    /// True while a transfer is open: the assistant stays silent.
    #[serde(skip_serializing_if = "is_false")]
    pub transfer_open: bool,
    /// The last [`HISTORY_LINES`] lines, `customer: …` / `assistant: …` (`session_history`);
    /// kept only for an assistant that reads `session_history` ([`baton_assistant::Assistant::keeps_history`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<String>,
    /// Whether the conversation has started (Greet customer has run).
    #[serde(skip_serializing_if = "is_false")]
    pub started: bool,
    /// The values of the options shown in the last turn, in order, for channels that answer by
    /// position (a keypad's `1` is the first); empty when the last turn showed none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<String>,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

fn is_false(flag: &bool) -> bool {
    !*flag
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
    /// "Did you mean:" with these action ids, after the customer `said` this; the action chosen
    /// takes the values the message holds, as if it had started it.
    Clarify {
        candidates: Vec<String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        said: String,
    },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_left_out_and_read_back() {
        let fresh = Session::default();
        assert_eq!(serde_json::to_string(&fresh).unwrap(), "{}");
        assert_eq!(serde_json::from_str::<Session>("{}").unwrap(), fresh);

        let mut variables = BTreeMap::new();
        variables.insert("plan".to_owned(), Value::Text("gold".to_owned()));
        let busy = Session {
            variables,
            user_id: Some("u1".to_owned()),
            channel: Some("web".to_owned()),
            turn_count: 3,
            stack: vec![Frame {
                action: ActionRef::Fallback,
                step: 1,
                waiting: true,
                attempts: 2,
                on_end: OnEnd::OfferReturn,
            }],
            pending: Some(Pending::Clarify {
                candidates: vec!["a".to_owned(), "b".to_owned()],
                said: "a or b".to_owned(),
            }),
            no_match_count: 1,
            profanity_count: 1,
            failed_inputs: vec!["zzz".to_owned()],
            fallback: Some(FallbackContext {
                reason: TransferReason::NoActionMatches,
                action: None,
                step: None,
                failed_inputs: vec!["zzz".to_owned()],
            }),
            digressed_from: Some("Pay a bill".to_owned()),
            transfer_open: true,
            history: vec!["customer: zzz".to_owned()],
            started: true,
            offered: vec!["Billing".to_owned()],
        };
        let text = serde_json::to_string(&busy).unwrap();
        assert_eq!(serde_json::from_str::<Session>(&text).unwrap(), busy);
        // A state written before fields were left out still reads.
        let full = r#"{"variables":{},"user_id":null,"channel":"api","turn_count":0,"stack":[],"pending":null,
            "no_match_count":0,"profanity_count":0,"failed_inputs":[],"fallback":null,"digressed_from":null,
            "transfer_open":false,"history":[],"started":true}"#;
        let read: Session = serde_json::from_str(full).unwrap();
        assert_eq!(
            read,
            Session {
                channel: Some("api".to_owned()),
                started: true,
                ..Session::default()
            }
        );
    }
}
