//! A turn as the Watson v2 message API shows it: the conversation's [`Reply`] converted by hand
//! to the wire types (`wire`), so the runtime can change without breaking clients.
//!
//! [`ResponseShape`] is the request's choice of optional parts; it is the [`Render`] the
//! conversation stores the reply with.

use base64::Engine as _;
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Map, Value as Json, json};

use baton_dialog::{Effect, Engine, FinishReason, Message, Session, TransferRequest};

use crate::conversation::transcript::AgentLine;
use crate::conversation::{Render, Reply};
use crate::wire::{
    ACTIONS_SKILL, AgentAvailabilityMessage, AgentName, BatonDebug, GenericItem, MessageOutput, MessageOutputDebug,
    MessageResponse, OptionChoice, OptionInput, OptionValue, RuntimeIntent, TransferInfo, TurnEvent, TurnEventSource,
};

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

impl Render for ResponseShape {
    fn all_intents(&self) -> bool {
        self.alternate_intents
    }

    fn render(&self, reply: &Reply<'_>) -> Box<RawValue> {
        // Straight to JSON text: the response's types serialise without failing.
        to_raw_value(&self.response(reply)).unwrap_or_default()
    }
}

impl ResponseShape {
    /// The response for a turn.
    pub fn response(&self, reply: &Reply<'_>) -> MessageResponse {
        let mut generic: Vec<GenericItem> = reply.agent_lines.iter().map(agent_item).collect();
        let mut turn_events = Vec::new();
        for effect in reply.effects {
            match effect {
                Effect::Say(message) => generic.push(generic_item(message)),
                Effect::Transfer(request) => generic.push(connect_to_agent(request)),
                // Turn events are built only for a response that shows them (`options.debug`).
                Effect::ActionStarted { .. } | Effect::ActionFinished { .. } if !self.debug => {}
                Effect::ActionStarted { action } => turn_events.push(TurnEvent {
                    event: "action_visited".to_owned(),
                    source: action_source(reply.engine, action),
                    reason: None,
                }),
                Effect::ActionFinished { action, reason } => turn_events.push(TurnEvent {
                    event: "action_finished".to_owned(),
                    source: action_source(reply.engine, action),
                    reason: Some(finish_reason(*reason, reply.debug.fallback_reason.is_some()).to_owned()),
                }),
                // Clients read both responses in `connect_to_agent`; the transcript keeps the one
                // shown. Where the customer stands comes in `after`.
                // The web chat has no call to hang up: the action has ended, as with `then: end`.
                Effect::TransferResponse { .. } | Effect::AgentRequestedAgain | Effect::HangUp => {}
            }
        }
        generic.extend(reply.after.iter().map(generic_item));
        let intents = match (self.alternate_intents, &reply.debug.matched) {
            (true, _) => reply
                .intents
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
        let debug = self.debug.then(|| MessageOutputDebug {
            turn_events,
            baton: BatonDebug {
                matched_action: reply.debug.matched.as_ref().map(|(action, _)| action.clone()),
                confidence: reply
                    .debug
                    .matched
                    .as_ref()
                    .map(|(_, confidence)| f64::from(*confidence)),
                action: reply.debug.action.clone(),
                step: reply.debug.step.clone(),
                fallback_reason: reply.debug.fallback_reason.map(|reason| reason.as_str().to_owned()),
            },
        });
        let context = (self.return_context || self.state)
            .then(|| context(reply.engine, reply.session, reply.session_id, self.state));
        let user_id = reply
            .session
            .user_id
            .clone()
            .unwrap_or_else(|| reply.session_id.to_owned());
        MessageResponse {
            output: MessageOutput {
                generic,
                intents,
                entities: Vec::new(),
                debug,
            },
            context,
            user_id,
        }
    }
}

fn agent_item(line: &AgentLine) -> GenericItem {
    GenericItem::Text {
        text: line.text.clone(),
        agent: Some(AgentName {
            name: line.agent_name.clone(),
        }),
    }
}

/// A message of the assistant as an `output.generic` item.
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

    #[test]
    fn a_state_string_reads_back_and_a_foreign_one_does_not() {
        let session = Session::new(Some("u1".to_owned()), Some("api".to_owned()));
        let state = encode_state(&session);
        assert_eq!(decode_state(&state), Some(session));
        assert_eq!(decode_state("not base64!"), None);
        assert_eq!(
            decode_state(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1]")),
            None
        );
    }
}
