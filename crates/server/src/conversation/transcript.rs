//! The transcript in the store's terms: what a turn, a transfer's transition or a desk event
//! adds ([`NewEntry`]), and the conversation so far as an agent reads it ([`TranscriptLine`]).
//!
//! The payloads are the server's own format: a [`Message`] as the dialog crate serialises it
//! (`{"type": "text", "text": …}`, …), a customer's text with its id, or an event
//! (`{"type": "transfer_requested", …}`, `{"type": "transfer", …}`). The web chat, the agent
//! console and the history API read them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value as Json, json};

use baton_desk::{Speaker, TranscriptLine, TransferEntry};
use baton_dialog::{Effect, Message, TransferRequest};
use baton_store::{EntryKind, NewEntry, TranscriptEntry};

/// The customer's line when a phone caller said nothing when asked.
pub const NO_INPUT: &str = "(no answer)";

/// A transcript entry.
pub fn entry(at: DateTime<Utc>, kind: EntryKind, payload: impl Serialize) -> NewEntry {
    NewEntry {
        kind,
        at,
        // Straight to JSON text rather than through a `serde_json::Value`. The payloads are
        // structs and string-keyed maps, whose serialisation cannot fail.
        payload: serde_json::value::to_raw_value(&payload).unwrap_or_default(),
    }
}

/// JSON text for the store. Serialising a `serde_json::Value` cannot fail.
pub fn raw(value: &Json) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_default()
}

/// A customer's text, the same shape as [`Message::Text`]; with an id when it goes to an agent
/// (read receipts name it).
#[derive(Serialize)]
#[serde(tag = "type", rename = "text")]
struct CustomerText<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

pub fn customer(at: DateTime<Utc>, text: &str, id: Option<&str>) -> NewEntry {
    entry(at, EntryKind::Customer, CustomerText { text, id })
}

/// What the assistant says, as an entry.
pub fn assistant(at: DateTime<Utc>, message: &Message) -> NewEntry {
    entry(at, EntryKind::Assistant, message)
}

/// A plain text the assistant says, as an entry.
pub fn assistant_text(at: DateTime<Utc>, text: &str) -> NewEntry {
    assistant(at, &Message::Text { text: text.to_owned() })
}

/// The entries of a turn's effects: what the assistant said, a transfer requested and what the
/// customer was told about it.
pub fn of_effects(effects: &[Effect], at: DateTime<Utc>, entries: &mut Vec<NewEntry>) {
    for effect in effects {
        match effect {
            Effect::Say(message) => entries.push(assistant(at, message)),
            Effect::Transfer(request) => entries.push(entry(at, EntryKind::Event, transfer_requested(request))),
            Effect::TransferResponse { text } => entries.push(assistant_text(at, text)),
            Effect::ActionStarted { .. }
            | Effect::ActionFinished { .. }
            | Effect::AgentRequestedAgain
            | Effect::HangUp => {}
        }
    }
}

fn transfer_requested(request: &TransferRequest) -> Json {
    json!({
        "type": "transfer_requested",
        "reason": request.reason.as_str(),
        "queue": request.queue,
        "message_to_agent": request.message_to_agent,
        "action": request.action,
        "step": request.step,
        "failed_inputs": request.failed_inputs,
    })
}

/// A transfer's transition: the [`TransferEntry`] with `"type": "transfer"` first.
pub fn transition(transition: &TransferEntry) -> NewEntry {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), json!("transfer"));
    if let Ok(Json::Object(fields)) = serde_json::to_value(transition) {
        object.extend(fields);
    }
    entry(transition.at, EntryKind::Event, Json::Object(object))
}

/// The conversation so far as the agent reads it: the stored transcript and this turn's entries.
/// At most this many lines of the conversation go to the desk with a transfer (its history link
/// has all of them); they come from at most [`BRIEF_ENTRIES`] stored entries.
pub const BRIEF_LINES: usize = 200;
pub const BRIEF_ENTRIES: usize = 2 * BRIEF_LINES;

pub fn lines(stored: &[TranscriptEntry], turn: &[NewEntry]) -> Vec<TranscriptLine> {
    let stored = stored.iter().map(|entry| (entry.kind, entry.at, entry.payload.get()));
    let turn = turn.iter().map(|entry| (entry.kind, entry.at, entry.payload.get()));
    stored
        .chain(turn)
        .filter_map(|(kind, at, payload)| {
            let payload: Json = serde_json::from_str(payload).ok()?;
            let text = match payload["type"].as_str() {
                Some("text") => payload["text"].as_str()?.to_owned(),
                Some("options") => payload["title"].as_str()?.to_owned(),
                Some("link") => format!("{} ({})", payload["label"].as_str()?, payload["url"].as_str()?),
                _ => return None,
            };
            let speaker = match kind {
                EntryKind::Customer => Speaker::Customer,
                EntryKind::Assistant => Speaker::Assistant,
                EntryKind::Agent => Speaker::Agent(payload["agent"]["name"].as_str().unwrap_or("").to_owned()),
                EntryKind::Event => return None,
            };
            Some(TranscriptLine { at, speaker, text })
        })
        .collect()
}

/// An agent's message stored in the transcript, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLine {
    pub agent_name: String,
    pub text: String,
}

/// The agent messages stored after the customer's last message.
pub fn agent_lines_since_customer(entries: &[TranscriptEntry]) -> Vec<AgentLine> {
    let after_customer = entries
        .iter()
        .rposition(|entry| entry.kind == EntryKind::Customer)
        .map_or(0, |idx| idx + 1);
    entries[after_customer..]
        .iter()
        .filter(|entry| entry.kind == EntryKind::Agent)
        .filter_map(|entry| {
            let payload: Json = serde_json::from_str(entry.payload.get()).ok()?;
            Some(AgentLine {
                text: payload["text"].as_str()?.to_owned(),
                agent_name: payload["agent"]["name"].as_str().unwrap_or("").to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_dialog::Choice;

    fn payload(message: &Message) -> Json {
        let entry = assistant(DateTime::<Utc>::UNIX_EPOCH, message);
        serde_json::from_str(entry.payload.get()).unwrap()
    }

    /// The transcript's payloads, which the web chat, the agent console and the history API read.
    #[test]
    fn transcript_payloads_keep_their_shape() {
        let text = Message::Text {
            text: "Say \"hi\"".to_owned(),
        };
        assert_eq!(payload(&text), json!({"type": "text", "text": "Say \"hi\""}));
        let options = Message::Options {
            title: "Which?".to_owned(),
            choices: vec![Choice {
                label: "Savings".to_owned(),
                value: "savings".to_owned(),
            }],
        };
        assert_eq!(
            payload(&options),
            json!({"type": "options", "title": "Which?", "choices": [{"label": "Savings", "value": "savings"}]})
        );
        let link = Message::Link {
            label: "Rates".to_owned(),
            url: "https://example.com/rates".to_owned(),
        };
        assert_eq!(
            payload(&link),
            json!({"type": "link", "label": "Rates", "url": "https://example.com/rates"})
        );
        assert_eq!(
            payload(&Message::Pause { milliseconds: 500 }),
            json!({"type": "pause", "milliseconds": 500})
        );
        let at = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(
            customer(at, "hello", None).payload.get(),
            r#"{"type":"text","text":"hello"}"#
        );
        assert_eq!(
            customer(at, "hello", Some("m1")).payload.get(),
            r#"{"type":"text","text":"hello","id":"m1"}"#
        );
    }
}
