//! What the converters know about the assistant they wrote, for deriving its conversation tests,
//! and the notes they collect for the report.

use baton_assistant::ResponseType;

use crate::import::report::{Note, Outcome};

/// What a step's condition is known to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Always,
    /// Written as `false`: the condition could not be translated.
    Never,
    /// True exactly for these Fallback reasons.
    Reasons(Vec<&'static str>),
    /// True when the variable holds the text.
    Equals(String, String),
    Unknown,
}

/// What a step does after it.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Continue,
    End,
    Connect,
    GoTo { action: String },
    Other,
}

#[derive(Debug, Clone)]
pub struct QuestionModel {
    pub kind: ResponseType,
    pub variable: String,
    /// Labels and values of an options question.
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct StepModel {
    pub cond: Cond,
    pub question: Option<QuestionModel>,
    /// The step's first text without `${…}`, if any.
    pub text: Option<String>,
    pub next: Next,
}

#[derive(Debug, Clone)]
pub struct ActionModel {
    pub id: String,
    pub examples: Vec<String>,
    pub steps: Vec<StepModel>,
}

/// The converted assistant as far as its derived tests need it.
#[derive(Debug, Clone, Default)]
pub struct AssistantModel {
    pub actions: Vec<ActionModel>,
    pub greet: Vec<StepModel>,
    pub no_match: Vec<StepModel>,
    /// `None`: Baton's built-in Fallback (a message and a transfer for every reason).
    pub fallback: Option<Vec<StepModel>>,
    pub fallback_examples: Vec<String>,
    pub no_match_limit: u32,
    /// Whether the export's No action matches ran Fallback after `no_match_limit` misses, as
    /// Baton's does.
    pub no_match_escalates: bool,
}

/// Notes for the report, and the worst outcome since the element being converted began.
#[derive(Debug, Default)]
pub struct Notes {
    pub notes: Vec<Note>,
    worst: Option<Outcome>,
}

impl Notes {
    pub fn add(&mut self, pointer: &str, outcome: Outcome, message: impl Into<String>) {
        self.worst = Some(self.worst.map_or(outcome, |worst| worst.max(outcome)));
        self.notes.push(Note {
            pointer: pointer.to_owned(),
            outcome,
            message: message.into(),
        });
    }

    /// The worst outcome noted since the last call (exact when nothing was noted).
    pub fn take_worst(&mut self) -> Outcome {
        self.worst.take().unwrap_or(Outcome::Exact)
    }
}
