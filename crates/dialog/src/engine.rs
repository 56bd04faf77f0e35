//! [`Engine`]: an assistant with its trained classifier, the one way callers drive conversations.
//!
//! The preview, `baton test` and the server all hold an `Engine`; it trains the classifier once,
//! classifies what the customer says, and hands the event to the pure [`crate::step`].

use chrono::{DateTime, Utc};

use baton_assistant::{Assistant, defaults};
use baton_nlu::{Classifier, TrainingExample};

use crate::{Event, FALLBACK_INTENT, Session, Turn};

/// An assistant ready to talk: its definition and its trained classifier.
#[derive(Debug, Clone)]
pub struct Engine {
    assistant: Assistant,
    classifier: Classifier,
}

impl Engine {
    /// Trains the classifier on every action's examples (intent = action id), the Fallback
    /// examples (intent [`FALLBACK_INTENT`]) and the assistant's counterexamples.
    pub fn new(assistant: Assistant) -> Engine {
        let classifier = Classifier::train(&training_examples(&assistant), &assistant.counterexamples);
        Engine { assistant, classifier }
    }

    pub fn assistant(&self) -> &Assistant {
        &self.assistant
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Starts a session: runs Greet customer.
    pub fn start(&self, session: Session, now: DateTime<Utc>) -> Turn {
        self.event(session, Event::Start, now)
    }

    /// The customer said `text`: classifies it, then steps.
    pub fn said(&self, session: Session, text: &str, now: DateTime<Utc>) -> Turn {
        let intents = self.classifier.classify(text);
        self.event(
            session,
            Event::UserSaid {
                text: text.to_owned(),
                intents,
            },
            now,
        )
    }

    /// Any event.
    pub fn event(&self, session: Session, event: Event, now: DateTime<Utc>) -> Turn {
        crate::step(&self.assistant, session, event, now)
    }
}

/// What the classifier learns from: each action's examples under its id, and the phrases that
/// ask for a human under [`FALLBACK_INTENT`] (the built-in list unless the author replaced it).
pub fn training_examples(assistant: &Assistant) -> Vec<TrainingExample> {
    let example = |text: &str, intent: &str| TrainingExample {
        text: text.to_owned(),
        intent: intent.to_owned(),
    };
    let mut examples: Vec<TrainingExample> = assistant
        .actions
        .iter()
        .flat_map(|action| action.examples.iter().map(|text| example(text, &action.id)))
        .collect();
    match assistant
        .system
        .fallback
        .as_ref()
        .and_then(|fallback| fallback.examples.as_ref())
    {
        Some(phrases) => examples.extend(phrases.iter().map(|text| example(text, FALLBACK_INTENT))),
        None => examples.extend(
            defaults::AGENT_REQUESTED_EXAMPLES
                .iter()
                .map(|text| example(text, FALLBACK_INTENT)),
        ),
    }
    examples
}
