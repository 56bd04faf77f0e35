//! One customer message through the engine, and its result in the shapes the outside sees:
//! the Watson response (`wire`) and the transcript entries (`baton_store::NewEntry`).
//!
//! Pure apart from the classifier call: no store, no clock (time arrives as `now`), so the
//! stateful and stateless routes, and the tests, share it. Conversion from `dialog` types to the
//! wire format happens here by hand, so the runtime can change without breaking clients.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use baton_assistant::Value;
use baton_dialog::{Effect, Engine, Event, FinishReason, Message, Session, TransferReason, TransferRequest};

use crate::wire::{
    ACTIONS_SKILL, AgentAvailabilityMessage, BatonDebug, GenericItem, MessageOutput, MessageOutputDebug,
    MessageResponse, OptionChoice, OptionInput, OptionValue, RuntimeIntent, TransferInfo, TurnEvent, TurnEventSource,
};
use baton_store::{EntryKind, NewEntry};

/// What the customer sent, validated.
#[derive(Debug, Clone, Default)]
pub struct TurnInput {
    /// `None` or empty: start the conversation (Greet customer).
    pub text: Option<String>,
    pub restart: bool,
    /// Variables the client sets through `context.skills["actions skill"].skill_variables`.
    pub variables: Map<String, Json>,
    pub user_id: Option<String>,
}

/// Which optional parts the response carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseShape {
    pub alternate_intents: bool,
    pub debug: bool,
    pub return_context: bool,
    /// Include `system.state` in the context (IBM: `export`, or `debug` with `return_context`;
    /// always for stateless messages, which cannot continue without it).
    pub state: bool,
}

/// What a turn produced.
#[derive(Debug, Clone)]
pub struct TurnResult {
    pub session: Session,
    pub response: MessageResponse,
    pub entries: Vec<NewEntry>,
    pub transfers: Vec<TransferReason>,
    /// The transfers the turn asks for (at most one in practice), for the server to open.
    pub requests: Vec<TransferRequest>,
}

/// What a turn without a customer message produced (a transfer ended, an agent handed back).
#[derive(Debug, Clone)]
pub struct EventTurn {
    pub session: Session,
    pub entries: Vec<NewEntry>,
    pub generic: Vec<GenericItem>,
}

/// Runs an event that is not a customer message through `engine`: what the assistant says
/// becomes transcript entries and `generic` items.
/// A transfer asked for here is not opened: the runtime stays silent until the next customer
/// message finds no open transfer and takes the conversation back.
pub fn event_turn(engine: &Engine, session: Session, event: Event, now: DateTime<Utc>) -> EventTurn {
    let turn = engine.event(session, event, now);
    let mut entries = Vec::new();
    let mut generic = Vec::new();
    for effect in &turn.effects {
        match effect {
            Effect::Say(message) => {
                entries.push(entry(now, EntryKind::Assistant, message));
                generic.push(generic_item(message));
            }
            Effect::Transfer(request) => {
                tracing::warn!(
                    reason = request.reason.as_str(),
                    "a transfer asked for outside a customer turn is not opened"
                );
            }
            Effect::ActionStarted { .. } | Effect::ActionFinished { .. } => {}
        }
    }
    EventTurn {
        session: turn.session,
        entries,
        generic,
    }
}

/// Runs one message through `engine`.
pub fn take_turn(
    engine: &Engine,
    mut session: Session,
    session_id: &str,
    input: &TurnInput,
    shape: ResponseShape,
    agents_online: bool,
    now: DateTime<Utc>,
) -> TurnResult {
    if session.user_id.is_none() {
        session.user_id = input.user_id.clone();
    }
    for (name, value) in &input.variables {
        session.set_variable(name.clone(), Value::from_json(value));
    }
    if input.restart {
        session = Session {
            variables: session.variables,
            user_id: session.user_id,
            channel: session.channel,
            ..Session::default()
        };
    }
    let mut entries = Vec::new();
    let mut intents = Vec::new();
    let text = input.text.as_deref().map(str::trim).filter(|text| !text.is_empty());
    let turn = match text {
        None => engine.start(session, now),
        Some(text) => {
            // A conversation whose first message has text has not run Greet customer, which
            // sets the session variables' initial values: run it first, without showing its
            // messages, as IBM's first turn with text does not show the welcome.
            // (`started` is new; a session stored before it has lines in its history instead.)
            let fresh =
                !session.started && session.turn_count == 0 && session.history.is_empty() && session.stack.is_empty();
            if fresh {
                session = engine.start(session, now).session;
            }
            entries.push(entry(now, EntryKind::Customer, CustomerText { text }));
            let scores = engine.classifier().classify(text);
            // Kept for the response only when it lists every intent.
            if shape.alternate_intents {
                intents.clone_from(&scores);
            }
            let event = Event::UserSaid {
                text: text.to_owned(),
                intents: scores,
            };
            engine.event(session, event, now)
        }
    };

    let mut generic = Vec::new();
    let mut transfers = Vec::new();
    let mut requests = Vec::new();
    let mut turn_events = Vec::new();
    for effect in &turn.effects {
        match effect {
            Effect::Say(message) => {
                entries.push(entry(now, EntryKind::Assistant, message));
                generic.push(generic_item(message));
            }
            Effect::Transfer(request) => {
                transfers.push(request.reason);
                requests.push(request.clone());
                entries.push(entry(now, EntryKind::Event, transfer_entry(request)));
                let response = match agents_online {
                    true => &request.online_response,
                    false => &request.offline_response,
                };
                entries.push(entry(
                    now,
                    EntryKind::Assistant,
                    json!({"type": "text", "text": response}),
                ));
                generic.push(connect_to_agent(request));
            }
            // Turn events are built only for a response that shows them (`options.debug`).
            Effect::ActionStarted { .. } | Effect::ActionFinished { .. } if !shape.debug => {}
            Effect::ActionStarted { action } => turn_events.push(TurnEvent {
                event: "action_visited".to_owned(),
                source: action_source(engine, action),
                reason: None,
            }),
            Effect::ActionFinished { action, reason } => turn_events.push(TurnEvent {
                event: "action_finished".to_owned(),
                source: action_source(engine, action),
                reason: Some(finish_reason(*reason, turn.debug.fallback_reason.is_some()).to_owned()),
            }),
        }
    }

    let intents = match (shape.alternate_intents, &turn.debug.matched) {
        (true, _) => intents
            .iter()
            .map(|score| RuntimeIntent {
                intent: score.intent.clone(),
                confidence: f64::from(score.confidence),
            })
            .collect(),
        (false, Some((intent, confidence))) => vec![RuntimeIntent {
            intent: intent.clone(),
            confidence: f64::from(*confidence),
        }],
        (false, None) => Vec::new(),
    };
    let debug = shape.debug.then(|| MessageOutputDebug {
        turn_events,
        baton: BatonDebug {
            matched_action: turn.debug.matched.as_ref().map(|(action, _)| action.clone()),
            confidence: turn
                .debug
                .matched
                .as_ref()
                .map(|(_, confidence)| f64::from(*confidence)),
            action: turn.debug.action.clone(),
            step: turn.debug.step.clone(),
            fallback_reason: turn.debug.fallback_reason.map(|reason| reason.as_str().to_owned()),
        },
    });
    let context =
        (shape.return_context || shape.state).then(|| context(engine, &turn.session, session_id, shape.state));
    let user_id = turn.session.user_id.clone().unwrap_or_else(|| session_id.to_owned());
    TurnResult {
        response: MessageResponse {
            output: MessageOutput {
                generic,
                intents,
                entities: Vec::new(),
                debug,
            },
            context,
            user_id,
        },
        session: turn.session,
        entries,
        transfers,
        requests,
    }
}

/// A transcript entry; the payloads are the server's own format: a [`Message`] as the dialog
/// crate serialises it (`{"type": "text", "text": …}`, …) or an event.
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

/// A customer's text in the transcript, the same shape as [`Message::Text`].
#[derive(Serialize)]
#[serde(tag = "type", rename = "text")]
struct CustomerText<'a> {
    text: &'a str,
}

fn transfer_entry(request: &TransferRequest) -> Json {
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

pub fn generic_item(message: &Message) -> GenericItem {
    match message {
        Message::Text { text } => GenericItem::Text {
            text: text.clone(),
            agent: None,
        },
        Message::Options { title, choices } => GenericItem::Option {
            title: title.clone(),
            options: choices
                .iter()
                .map(|choice| OptionChoice {
                    label: choice.label.clone(),
                    value: OptionValue {
                        input: OptionInput {
                            text: choice.value.clone(),
                        },
                    },
                })
                .collect(),
        },
        // IBM's v2 output has no link type; its text responses are Markdown, which every
        // Watson client renders, so a link travels as a Markdown link.
        // Concatenated rather than `format!`ted: the formatting machinery cost 1,200 instructions.
        Message::Link { label, url } => GenericItem::Text {
            text: ["[", label, "](", url, ")"].concat(),
            agent: None,
        },
        Message::Pause { milliseconds } => GenericItem::Pause {
            time: *milliseconds,
            typing: true,
        },
    }
}

fn connect_to_agent(request: &TransferRequest) -> GenericItem {
    GenericItem::ConnectToAgent {
        message_to_human_agent: request.message_to_agent.clone(),
        agent_available: AgentAvailabilityMessage {
            message: request.online_response.clone(),
        },
        agent_unavailable: AgentAvailabilityMessage {
            message: request.offline_response.clone(),
        },
        transfer_info: TransferInfo {
            target: json!({"baton": {"queue": request.queue, "reason": request.reason.as_str()}}),
        },
    }
}

fn action_source(engine: &Engine, action: &str) -> TurnEventSource {
    let title = engine.assistant().action(action).map_or(action, |found| found.title());
    TurnEventSource {
        kind: "action".to_owned(),
        action: action.to_owned(),
        action_title: title.to_owned(),
    }
}

/// IBM's `action_finished` reasons where one fits, Baton's own names where none does.
fn finish_reason(reason: FinishReason, fallback_ran: bool) -> &'static str {
    match reason {
        FinishReason::Completed => "all_steps_done",
        FinishReason::Transferred if fallback_ran => "fallback",
        FinishReason::Transferred => "connect_to_agent",
        FinishReason::Interrupted => "interrupted",
        FinishReason::Abandoned => "abandoned",
    }
}

/// IBM's context: `global.system` (turn count, user id), `global.session_id`, and the actions
/// skill's variables: declared session variables in `skill_variables`, the rest (action
/// variables) in `action_variables`.
fn context(engine: &Engine, session: &Session, session_id: &str, with_state: bool) -> Json {
    let declared = &engine.assistant().variables;
    let mut skill_variables = Map::new();
    let mut action_variables = Map::new();
    for (name, value) in &session.variables {
        let target = match declared.contains_key(name) {
            true => &mut skill_variables,
            false => &mut action_variables,
        };
        target.insert(name.clone(), value.to_json());
    }
    let mut system = Map::new();
    if with_state {
        system.insert("state".to_owned(), Json::String(encode_state(session)));
    }
    let user_id = session.user_id.clone().unwrap_or_else(|| session_id.to_owned());
    json!({
        "global": {
            "system": {
                "turn_count": session.turn_count,
                "user_id": user_id,
                "timezone": engine.assistant().timezone,
                "locale": engine.assistant().locale,
            },
            "session_id": session_id,
        },
        "skills": {
            ACTIONS_SKILL: {
                "skill_variables": skill_variables,
                "action_variables": action_variables,
                "system": system,
            }
        }
    })
}

/// The session as the opaque `system.state` string (base64 of its JSON), as IBM carries state
/// for stateless messages.
pub fn encode_state(session: &Session) -> String {
    let json = serde_json::to_vec(session).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Reads a `system.state` string back; `None` when it is not one of ours.
pub fn decode_state(state: &str) -> Option<Session> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(state).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_dialog::Choice;

    fn payload(message: &Message) -> Json {
        let entry = entry(DateTime::<Utc>::UNIX_EPOCH, EntryKind::Assistant, message);
        serde_json::from_str(entry.payload.get()).unwrap()
    }

    /// Greet customer runs once: at the start (a message without text, as the web chat sends
    /// first) or silently before a first message with text, whether or not the session keeps
    /// `session_history` (whose lines used to tell that it had run).
    #[test]
    fn greet_runs_once_per_conversation() {
        let yaml = r#"
variables:
  greeted: { type: number, initial: 0 }
system:
  greet:
    steps:
      - say: Hello.
        set: { greeted: "greeted + 1" }
actions:
  - id: hours
    examples: [what are your opening hours, when are you open, what time do you close]
    steps:
      - say: "Nine to five (greeted ${greeted})."
  - id: balance
    examples: [what is my balance, how much money do I have, show my balance]
    steps:
      - say: You have $100.
"#;
        let loaded = baton_assistant::load_str("assistant.yaml", yaml);
        let engine = Engine::new(loaded.assistant.expect("a valid assistant"));
        assert!(!engine.assistant().keeps_history);
        let input = |text: &str| TurnInput {
            text: Some(text.to_owned()).filter(|text| !text.is_empty()),
            restart: false,
            variables: Map::new(),
            user_id: None,
        };
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let said = |turn: &TurnResult| -> Vec<String> {
            turn.response
                .output
                .generic
                .iter()
                .filter_map(|item| match item {
                    GenericItem::Text { text, .. } => Some(text.clone()),
                    _ => None,
                })
                .collect()
        };
        // Greeted first, then asked.
        let start = take_turn(
            &engine,
            Session::default(),
            "s",
            &input(""),
            ResponseShape::default(),
            true,
            now,
        );
        assert_eq!(said(&start), ["Hello."]);
        let turn = take_turn(
            &engine,
            start.session,
            "s",
            &input("when are you open"),
            ResponseShape::default(),
            true,
            now,
        );
        assert_eq!(said(&turn), ["Nine to five (greeted 1)."]);
        assert!(turn.session.history.is_empty());
        // Asked straight away: greeted silently, once.
        let mut session = Session::default();
        for text in ["when are you open", "what time do you close"] {
            let turn = take_turn(&engine, session, "s", &input(text), ResponseShape::default(), true, now);
            assert_eq!(said(&turn), ["Nine to five (greeted 1)."], "{text}");
            session = turn.session;
        }
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
        let customer = entry(
            DateTime::<Utc>::UNIX_EPOCH,
            EntryKind::Customer,
            CustomerText { text: "hello" },
        );
        assert_eq!(customer.payload.get(), r#"{"type":"text","text":"hello"}"#);
    }
}
