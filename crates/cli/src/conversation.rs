//! Drives one session through the runtime with a simulated desk; shared by `preview` and `test`.
//!
//! The runtime decides and this module carries out its effects the way the preview promises
//! (docs/testing.md): a transfer is shown, not sent, the simulated desk says whether agents are
//! online (the runtime then picks the response), and the agent immediately ends the chat so the
//! assistant answers again.
//! Nothing here prints: each exchange comes back as [`Entry`] values for [`crate::transcript`] to render.

use chrono::{DateTime, Utc};

use baton_assistant::Value;
use baton_dialog::{
    AgentsAvailable, Effect, Engine, Event, Message, Session, TransferOutcome, TransferRequest, Turn, TurnDebug,
};

/// Whether the simulated desk has agents online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Agents {
    #[default]
    Online,
    Offline,
}

impl Agents {
    pub fn parse(raw: &str) -> Option<Agents> {
        match raw {
            "online" => Some(Agents::Online),
            "offline" => Some(Agents::Offline),
            _ => None,
        }
    }
}

/// One line of a transcript, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Customer(String),
    Say(Message),
    /// A transfer request and the response the customer was shown.
    Transfer {
        request: TransferRequest,
        response: String,
    },
    /// The simulated desk ended the transfer: the agent ended the chat, or none was available.
    TransferEnded(Agents),
    Debug(String),
}

/// What one customer line (or the start of the session) produced.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub entries: Vec<Entry>,
    /// Actions that started during the exchange, in order.
    pub actions_started: Vec<String>,
    pub debug: TurnDebug,
}

impl Exchange {
    /// The transfer requested during the exchange, if any.
    pub fn transfer(&self) -> Option<&TransferRequest> {
        self.entries.iter().find_map(|entry| match entry {
            Entry::Transfer { request, .. } => Some(request),
            _ => None,
        })
    }

    /// The option buttons shown last, for picking one by its number.
    pub fn last_options(&self) -> Option<&[baton_dialog::Choice]> {
        self.entries.iter().rev().find_map(|entry| match entry {
            Entry::Say(Message::Options { choices, .. }) => Some(choices.as_slice()),
            _ => None,
        })
    }
}

/// A session with an assistant, driven through its [`Engine`].
pub struct Conversation {
    engine: Engine,
    session: Session,
    agents: Agents,
    debug: bool,
}

/// How a conversation is set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub agents: Agents,
    /// The `channel` built-in (`preview` unless a test says otherwise).
    pub channel: Option<String>,
    /// Initial values that replace the assistant's.
    pub variables: Vec<(String, Value)>,
    /// Adds a `[debug]` entry per exchange.
    pub debug: bool,
}

impl Conversation {
    /// A new session; cloning an [`Engine`] is cheaper than training another.
    pub fn new(engine: Engine, options: Options) -> Conversation {
        let mut session = Session::new(None, options.channel.or_else(|| Some("preview".to_owned())));
        for (name, value) in options.variables {
            session.set_variable(name, value);
        }
        Conversation {
            engine,
            session,
            agents: options.agents,
            debug: options.debug,
        }
    }

    /// Starts the session: the greeting.
    pub fn start(&mut self, now: DateTime<Utc>) -> Exchange {
        let mut exchange = Exchange::default();
        let session = std::mem::take(&mut self.session);
        let turn = self.engine.start(session, now);
        self.carry_out_turn(turn, now, &mut exchange);
        exchange
    }

    /// The customer says `text`.
    pub fn said(&mut self, text: &str, now: DateTime<Utc>) -> Exchange {
        let mut exchange = Exchange {
            entries: vec![Entry::Customer(text.to_owned())],
            ..Exchange::default()
        };
        let session = std::mem::take(&mut self.session);
        let intents = self.engine.classifier().classify(text);
        let best = intents.first().map(|score| (score.intent.clone(), score.confidence));
        let event = Event::UserSaid {
            text: text.to_owned(),
            intents,
        };
        let turn = self.engine.event(session, event, now);
        self.carry_out_turn(turn, now, &mut exchange);
        if let Some(Entry::Debug(line)) = exchange
            .entries
            .iter_mut()
            .find(|entry| matches!(entry, Entry::Debug(_)))
            && exchange.debug.matched.is_none()
            && let Some((intent, confidence)) = best
        {
            // On a miss, the closest candidate tells the author what almost matched.
            line.push_str(&format!(" best={intent}({confidence:.2})"));
        }
        exchange
    }

    fn carry_out_turn(&mut self, mut turn: Turn, now: DateTime<Utc>, exchange: &mut Exchange) {
        // The simulated desk answers at once; the runtime picks what the customer is told.
        let agents = match self.agents {
            Agents::Online => AgentsAvailable::Online,
            Agents::Offline => AgentsAvailable::Offline {
                back_to_assistant: false,
            },
        };
        baton_dialog::answer_transfer(&mut turn, agents);
        self.session = turn.session;
        exchange.debug = turn.debug;
        let mut transferred = false;
        for effect in turn.effects {
            transferred |= self.carry_out(effect, exchange);
        }
        // The debug line describes the turn itself, before the simulated desk ends the transfer.
        let debug_line = self.debug.then(|| debug_line(&exchange.debug, &self.session));
        if transferred {
            // The simulated desk: the agent ends the chat at once (or, with agents offline, the customer waits and no agent joins in time), so the
            // author can go on trying the assistant in the same session.
            exchange.entries.push(Entry::TransferEnded(self.agents));
            let outcome = match self.agents {
                Agents::Online => TransferOutcome::Ended,
                Agents::Offline => TransferOutcome::TimedOut,
            };
            let session = std::mem::take(&mut self.session);
            let turn = self.engine.event(session, Event::TransferEnded { outcome }, now);
            self.session = turn.session;
            for effect in turn.effects {
                self.carry_out(effect, exchange);
            }
        }
        if let Some(line) = debug_line {
            exchange.entries.push(Entry::Debug(line));
        }
    }

    /// Returns true when the effect was a transfer.
    fn carry_out(&self, effect: Effect, exchange: &mut Exchange) -> bool {
        match effect {
            Effect::Say(message) => exchange.entries.push(Entry::Say(message)),
            Effect::Transfer(request) => {
                exchange.entries.push(Entry::Transfer {
                    request,
                    response: String::new(),
                });
                return true;
            }
            // Right after its transfer (`answer_transfer`).
            Effect::TransferResponse { text } => {
                if let Some(Entry::Transfer { response, .. }) = exchange.entries.last_mut() {
                    *response = text;
                }
            }
            Effect::ActionStarted { action } => exchange.actions_started.push(action),
            // The simulated desk ends every transfer in the turn that opens it.
            Effect::ActionFinished { .. } | Effect::AgentRequestedAgain | Effect::HangUp => {}
        }
        false
    }
}

/// `action=… confidence=… step=… variables={…}`, for `--debug`.
fn debug_line(debug: &TurnDebug, session: &Session) -> String {
    let (matched, confidence) = match &debug.matched {
        Some((action, confidence)) => (action.as_str(), format!("{confidence:.2}")),
        None => ("none", "-".to_owned()),
    };
    let step = match (&debug.action, &debug.step) {
        (Some(action), Some(step)) => format!("{action}.{step}"),
        (Some(action), None) => action.clone(),
        _ => "none".to_owned(),
    };
    let variables: serde_json::Map<String, serde_json::Value> = session
        .variables
        .iter()
        .map(|(name, value)| (name.clone(), debug_json(value)))
        .collect();
    let mut line = format!(
        "action={matched} confidence={confidence} step={step} variables={}",
        serde_json::Value::Object(variables)
    );
    if let Some(reason) = debug.fallback_reason {
        line.push_str(&format!(" fallback_reason={}", reason.as_str()));
    }
    line
}

/// A value as JSON, with whole numbers written without a fraction (`0`, not `0.0`).
fn debug_json(value: &Value) -> serde_json::Value {
    let json = value.to_json();
    match json.as_f64() {
        Some(number) if number.fract() == 0.0 && number.abs() < 1e15 => serde_json::Value::from(number as i64),
        _ => json,
    }
}
