//! The assistant definition: what an author writes, loaded and checked.
//!
//! `spec` holds the format's types (the JSON Schema is derived from them), `expr` the expression
//! language, `load` reads a folder into an [`Assistant`] and reports every problem at once as
//! [`Diagnostic`]s with file, line and column. Nothing here does I/O except `load`.

mod check;
pub mod defaults;
pub mod diagnostic;
mod document;
pub mod eval;
pub mod expr;
mod expr_parse;
pub mod load;
pub mod schema;
pub mod spec;
mod suggest;
mod translate;
pub mod value;
pub mod words;

pub use check::BUILT_IN_VARIABLES;
pub use diagnostic::{Diagnostic, Severity};
pub use load::{Loaded, MAX_FILE_SIZE, Summary, load_dir, load_str, yaml_to_json};
pub use spec::*;
pub use value::{Value, Wording};

/// A loaded, checked assistant, with defaults filled in: every step has an id, every question a
/// variable, and the system actions hold their default steps and messages unless the author replaced them.
#[derive(Debug, Clone)]
pub struct Assistant {
    pub id: String,
    pub name: String,
    pub locale: String,
    pub timezone: String,
    /// Assistant-level settings with the built-in defaults applied.
    pub settings: Resolved,
    pub variables: indexmap::IndexMap<String, VariableSpec>,
    pub counterexamples: Vec<String>,
    /// The author's actions, in file order (files sorted by name).
    pub actions: Vec<Action>,
    pub system: SystemActions,
    /// Whether a text or condition reads `session_history`: only then does a session keep the
    /// conversation's last lines in its state (the transcript has them all anyway).
    pub keeps_history: bool,
    /// The phone channel's settings.
    pub voice: VoiceSettings,
}

impl Assistant {
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|action| action.id == id)
    }
}

impl Action {
    /// The title shown to customers, or the id.
    pub fn title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.id)
    }
}

impl Assistant {
    /// Where and how a call is transferred for a transfer requested from `action`'s step `step`
    /// (a planned one) or by Fallback (`planned` false): the step's or Fallback's `voice` over the
    /// assistant's `voice.transfer`.
    pub fn voice_transfer(&self, planned: bool, action: Option<&str>, step: Option<&str>) -> VoiceTransfer {
        let base = self.voice.transfer.clone().unwrap_or_default();
        let connect = match planned {
            false => self.system.fallback.as_ref().map(|fallback| &fallback.connect),
            true => action
                .and_then(|id| self.action(id))
                .and_then(|action| action.steps.iter().find(|candidate| Some(candidate.id()) == step))
                .and_then(|step| match &step.then {
                    Then::Full(FullThen::ConnectToAgent(connect)) => Some(connect),
                    _ => None,
                }),
        };
        match connect.and_then(|connect| connect.voice.as_ref()) {
            Some(voice) => voice.over(&base),
            None => base,
        }
    }
}

impl Step {
    /// The step's id (the loader fills in `step_N` where the author gave none).
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }
}

impl Question {
    /// The variable the answer goes to (the loader fills in the step id where the author gave none).
    pub fn variable(&self) -> &str {
        self.variable.as_deref().unwrap_or("")
    }
}
