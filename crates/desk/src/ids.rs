//! Ids and names as newtypes, so a `ChatId` can never be passed where an `AgentId` is meant.
//!
//! They are checked once, where they enter (`parse`), and trusted afterwards.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::DeskError;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `raw`: not empty, at most 200 characters, no control characters.
            pub fn parse(raw: &str) -> Result<Self, DeskError> {
                let valid = !raw.is_empty() && raw.chars().count() <= 200 && !raw.chars().any(char::is_control);
                if !valid {
                    return Err(DeskError::InvalidId { kind: $what, value: raw.chars().take(200).collect() });
                }
                Ok($name(raw.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DeskError;
            fn try_from(raw: String) -> Result<Self, DeskError> {
                $name::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// Baton's id of a transfer (one per transfer, several per session over time).
    TransferId,
    "transfer id"
);
string_id!(
    /// The session (one customer's conversation) a transfer belongs to.
    SessionId,
    "session id"
);
string_id!(
    /// The desk's id of a chat; the server stores the mapping to its `TransferId`.
    ChatId,
    "chat id"
);
string_id!(
    /// A human agent of a desk.
    AgentId,
    "agent id"
);
string_id!(
    /// A queue (department, skill) a transfer is routed to.
    QueueName,
    "queue name"
);
string_id!(
    /// A message in a chat, customer's or agent's; read receipts point at one.
    MessageId,
    "message id"
);
