//! The state of one customer's conversation, as stored between turns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use baton_assistant::Value;

/// One session's state. Serializable: the store keeps it as JSON between turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Session and action variables by name.
    pub variables: BTreeMap<String, Value>,
    /// Turns taken so far.
    pub turn_count: u32,
    /// Consecutive misses (`no_action_matches_count`).
    pub no_match_count: u32,
    /// True while a transfer is open: the assistant stays silent.
    pub transfer_open: bool,
}
