//! The definition format: the types that `assistant.yaml` and the action files deserialize into.
//!
//! These types *are* the format: the JSON Schema that `baton schema` prints is derived from them,
//! and every field carries `deny_unknown_fields` so a typo is a diagnostic, not a silent default.
//! Expressions and `${...}` templates are parsed while deserializing ([`Expression`], [`Template`]);
//! a parse failure is kept inside the value and reported by the loader with its file, line and column.
//!
//! Defaults live in [`Settings::resolve`] and in the `default_*` constants, in one place,
//! so the runtime, the docs and the schema agree.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::expr::{Expression, Template};

/// Default response when a transfer is requested and agents are online (the seed's wording, kept exactly).
pub const DEFAULT_AGENT_ONLINE: &str = "Let's send you to an available agent";
/// Default response when a transfer is requested and no agent is online.
pub const DEFAULT_AGENT_OFFLINE: &str =
    "There are no agents available at this time. When one becomes available, we'll connect you.";

/// The contents of `assistant.yaml` (or `assistant.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistantFile {
    /// The assistant's id, used as `assistant_id` in the API. Defaults to the folder name.
    #[serde(default)]
    pub id: Option<String>,
    /// A human-readable name.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// BCP 47 locale used to read dates and numbers ("en-US" reads 03/04 as March 4th, "en-GB" as 3 April). Default `en-US`.
    #[serde(default)]
    pub locale: Option<String>,
    /// IANA time zone or a fixed offset such as `+02:00`, for `now`, `current_date` and `current_time`. Default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Assistant-wide settings; each can be overridden per action and per step.
    #[serde(default)]
    pub settings: Settings,
    /// Session variables, available to every action for the whole session.
    #[serde(default)]
    pub variables: IndexMap<String, VariableSpec>,
    /// Phrases that must *not* match any action (Watson's counterexamples); they teach the classifier what "nothing" looks like.
    #[serde(default)]
    pub counterexamples: Vec<String>,
    /// The built-in system actions, each editable.
    #[serde(default)]
    pub system: SystemActions,
    /// Actions may be written inline here as well as in files under `actions/`.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// The phone channel: how the assistant speaks and where a call is transferred (`docs/voice.md`).
    #[serde(default)]
    pub voice: VoiceSettings,
}

/// The phone channel's settings for the whole assistant.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceSettings {
    /// The language of speech recognition and synthesis (`<Say language>`, `<Gather language>`), e.g. `en-GB`. Default: the assistant's `locale`.
    #[serde(default)]
    pub language: Option<String>,
    /// The carrier's text-to-speech voice (`<Say voice>`), e.g. `Polly.Joanna`. Default: the carrier's.
    #[serde(default)]
    pub voice: Option<String>,
    /// Seconds of silence, before the caller starts speaking, after which the answer counts as no input. Default 5.
    #[serde(default)]
    pub timeout_secs: Option<u32>,
    /// Where a call goes when the assistant connects to an agent, unless the step says otherwise.
    #[serde(default)]
    pub transfer: Option<VoiceTransfer>,
}

/// Where and how a call is transferred to a human agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceTransfer {
    /// A SIP URI to dial (`<Dial><Sip>`), e.g. `sip:support@pbx.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<String>,
    /// A phone number to dial (`<Dial><Number>`), in E.164 form, e.g. `+15551234567`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// A Twilio Flex (TaskRouter) workflow to enqueue the call into (`<Enqueue workflowSid>`), e.g. `WW…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flex_workflow: Option<String>,
    /// Extra SIP headers sent with a SIP transfer (names starting `X-`, or `User-to-User`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// What happens when the transfer fails (busy, no answer, failed): `continue` with the assistant (default) or `hang_up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<OnTransferFailure>,
    /// Said when the transfer fails. Default with `continue`: "Sorry, I couldn't reach an agent. I can still help you here: what do you need?"; with `hang_up`: "Sorry, no one could take your call. Please try again later. Goodbye."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// What a failed call transfer leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnTransferFailure {
    /// The assistant says the failure message and carries on with the caller.
    Continue,
    /// The assistant says the failure message and hangs up.
    HangUp,
}

impl VoiceTransfer {
    /// These settings over `base`: a target given here replaces the base's target (and its headers).
    pub fn over(&self, base: &VoiceTransfer) -> VoiceTransfer {
        let has_target = self.sip.is_some() || self.number.is_some() || self.flex_workflow.is_some();
        let target = match has_target {
            true => self,
            false => base,
        };
        VoiceTransfer {
            sip: target.sip.clone(),
            number: target.number.clone(),
            flex_workflow: target.flex_workflow.clone(),
            headers: target.headers.clone(),
            on_failure: self.on_failure.or(base.on_failure),
            failure_message: self.failure_message.clone().or_else(|| base.failure_message.clone()),
        }
    }
}

/// Tunable thresholds. Every field is optional; unset fields inherit from the enclosing level
/// (step → action → assistant → built-in default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Minimum calibrated confidence for an action to match. Default 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_threshold: Option<f64>,
    /// When the second candidate is within this margin of the first (and both match), ask a clarifying question. Default 0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarify_margin: Option<f64>,
    /// Consecutive misses answered with "please rephrase"; the next miss runs Fallback. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_match_limit: Option<u32>,
    /// Invalid answers to one question that are re-prompted; the next invalid answer runs Fallback. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_answer_limit: Option<u32>,
    /// Profanity warnings given before the next profanity runs Fallback. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profanity_warnings: Option<u32>,
    /// Whether the customer may change topic away from this action while a question waits, and be offered to return. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_topic: Option<bool>,
    /// Whether a clarifying question is asked when candidates are close. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarify: Option<bool>,
}

/// Settings with every default applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub confidence_threshold: f64,
    pub clarify_margin: f64,
    pub no_match_limit: u32,
    pub invalid_answer_limit: u32,
    pub profanity_warnings: u32,
    pub change_topic: bool,
    pub clarify: bool,
}

impl Resolved {
    /// The built-in defaults, as docs/format.md (Settings) lists them.
    pub const DEFAULT: Resolved = Resolved {
        confidence_threshold: 0.5,
        clarify_margin: 0.1,
        no_match_limit: 3,
        invalid_answer_limit: 3,
        profanity_warnings: 2,
        change_topic: true,
        clarify: true,
    };
}

impl Settings {
    /// Applies these settings on top of `base`; unset fields keep `base`'s value.
    pub fn resolve(&self, base: Resolved) -> Resolved {
        Resolved {
            confidence_threshold: self.confidence_threshold.unwrap_or(base.confidence_threshold),
            clarify_margin: self.clarify_margin.unwrap_or(base.clarify_margin),
            no_match_limit: self.no_match_limit.unwrap_or(base.no_match_limit),
            invalid_answer_limit: self.invalid_answer_limit.unwrap_or(base.invalid_answer_limit),
            profanity_warnings: self.profanity_warnings.unwrap_or(base.profanity_warnings),
            change_topic: self.change_topic.unwrap_or(base.change_topic),
            clarify: self.clarify.unwrap_or(base.clarify),
        }
    }
}

/// A declared session variable.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    #[serde(rename = "type")]
    pub kind: VariableType,
    /// Initial value; must fit the type. Unset means "not set" (`is_set(x)` is false).
    #[serde(default)]
    pub initial: Option<serde_json::Value>,
    /// Private variables are never shown to human agents in the transfer brief.
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// The type of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VariableType {
    Text,
    Number,
    Currency,
    Percentage,
    Date,
    Time,
    Boolean,
    Any,
}

/// An action: something the customer wants done.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Unique id: letters, digits and underscores.
    pub id: String,
    /// Shown in clarifying questions and the change-topic offer. Defaults to the id.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Example phrases a customer might say to start this action. An action without examples can only be reached by `go_to`.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Overrides of the assistant's settings for this action.
    #[serde(default)]
    pub settings: Settings,
    /// The ordered steps.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One step of an action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique within the action. Defaults to `step_N` (1-based position).
    #[serde(default)]
    pub id: Option<String>,
    /// The step runs only when this expression is true.
    #[serde(default)]
    pub condition: Option<Expression>,
    /// What the assistant says: text with `${...}` interpolation, option buttons, links, pauses.
    #[serde(default)]
    pub say: OneOrMany<Output>,
    /// A question whose answer is collected into a variable.
    #[serde(default)]
    pub question: Option<Question>,
    /// Variable assignments, evaluated in order after the answer is collected.
    #[serde(default)]
    pub set: IndexMap<String, Expression>,
    /// What happens after this step. Default `continue`.
    #[serde(default)]
    pub then: Then,
    /// Overrides for this step.
    #[serde(default)]
    pub settings: Settings,
}

/// A value written either as a single item or as a list.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(item) => std::slice::from_ref(item),
            OneOrMany::Many(items) => items,
        }
    }
}

/// One thing the assistant says.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Output {
    /// Plain text with `${...}` interpolation.
    Text(Template),
    Rich(RichOutput),
}

/// A non-text output, written as a one-key mapping.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RichOutput {
    Text(Template),
    /// Option buttons; choosing one sends its value as the customer's input.
    Options(Buttons),
    Link(Link),
    /// A pause in milliseconds (shown as a typing indicator by the web chat, silence on the phone).
    Pause(u32),
    /// A response per channel: `web` is said everywhere `voice` is not given.
    Channels(ChannelOutputs),
}

/// What is said on each channel; the web wording is the default.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelOutputs {
    /// Said on the web chat, the API, and any channel without its own wording.
    pub web: Box<OneOrMany<Output>>,
    /// Said on the phone.
    #[serde(default)]
    pub voice: Option<Box<OneOrMany<Output>>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Buttons {
    #[serde(default)]
    pub title: Option<Template>,
    pub choices: Vec<Choice>,
}

/// A button: a label, and the value sent when it is chosen (default: the label).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Choice {
    Label(String),
    Full {
        label: String,
        #[serde(default)]
        value: Option<String>,
    },
}

impl Choice {
    pub fn label(&self) -> &str {
        match self {
            Choice::Label(label) | Choice::Full { label, .. } => label,
        }
    }
    pub fn value(&self) -> &str {
        match self {
            Choice::Label(label) => label,
            Choice::Full { label, value } => value.as_deref().unwrap_or(label),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub label: Template,
    pub url: Template,
}

/// A question: the customer's answer is checked against the response type and validation,
/// then stored in `variable`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    #[serde(rename = "type")]
    pub kind: ResponseType,
    /// Where the answer is stored. Defaults to the step's id.
    #[serde(default)]
    pub variable: Option<String>,
    /// The choices of an `options` question.
    #[serde(default)]
    pub options: Vec<AnswerOption>,
    /// Smallest accepted value (number, currency, percentage).
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest accepted value (number, currency, percentage).
    #[serde(default)]
    pub max: Option<f64>,
    /// Earliest accepted date (an expression, e.g. `current_date` or `"2026-01-01"`); inclusive.
    #[serde(default)]
    pub after: Option<Expression>,
    /// Latest accepted date (an expression); inclusive.
    #[serde(default)]
    pub before: Option<Expression>,
    /// A regular expression the whole answer must match (`regex` questions, or extra validation of `free_text`).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Re-prompt when the answer cannot be read as the response type.
    #[serde(default)]
    pub invalid: Option<Template>,
    /// Re-prompt when the answer was read but fails validation (range, dates, pattern). Defaults to `invalid`.
    #[serde(default)]
    pub out_of_range: Option<Template>,
    /// Ask even when the variable already has a value. Default false: a filled variable skips the question.
    #[serde(default)]
    pub always_ask: bool,
    /// On the phone, accept the answer typed on the keypad too.
    #[serde(default)]
    pub dtmf: Option<Dtmf>,
}

/// Keypad entry for a question on the phone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dtmf {
    /// The answer is complete after this many digits (1 to 64). Default: when the terminator is pressed.
    #[serde(default)]
    pub max_digits: Option<u32>,
    /// The key that ends the entry: a digit, `*` or `#`. Default `#`.
    #[serde(default)]
    pub terminator: Option<char>,
}

/// How an answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    FreeText,
    Number,
    Currency,
    Percentage,
    Date,
    Time,
    YesNo,
    Options,
    Regex,
    Email,
    Phone,
}

/// One choice of an options question: accepted by label, value, synonym, position or a close misspelling.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AnswerOption {
    Label(String),
    Full {
        label: String,
        /// Stored in the variable; defaults to the label.
        #[serde(default)]
        value: Option<String>,
        #[serde(default)]
        synonyms: Vec<String>,
    },
}

impl AnswerOption {
    pub fn label(&self) -> &str {
        match self {
            AnswerOption::Label(label) | AnswerOption::Full { label, .. } => label,
        }
    }
    pub fn value(&self) -> &str {
        match self {
            AnswerOption::Label(label) => label,
            AnswerOption::Full { label, value, .. } => value.as_deref().unwrap_or(label),
        }
    }
    pub fn synonyms(&self) -> &[String] {
        match self {
            AnswerOption::Label(_) => &[],
            AnswerOption::Full { synonyms, .. } => synonyms,
        }
    }
}

/// What happens after a step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Then {
    #[default]
    #[serde(skip)]
    Continue,
    Simple(SimpleThen),
    Full(FullThen),
}

/// `then:` written as a single word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimpleThen {
    /// Go on to the next step (the default).
    Continue,
    /// End this action.
    End,
    /// Connect to an agent with every setting at its default.
    ConnectToAgent,
    /// End this action and, on the phone, hang up (elsewhere the same as `end`).
    HangUp,
}

/// `then:` written as a one-key mapping.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FullThen {
    /// Clear the variables of these steps and ask them again, starting from the first.
    Reask(Vec<String>),
    /// Run another action.
    GoTo(GoTo),
    /// End the action and request a transfer to a human agent.
    ConnectToAgent(ConnectToAgent),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoTo {
    pub action: String,
    /// Come back to the next step of this action when the other one ends (default true); false ends this action.
    #[serde(default = "yes", rename = "return")]
    pub return_after: bool,
}

fn yes() -> bool {
    true
}

/// Settings of a transfer to a human agent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectToAgent {
    /// Said when agents are online. Default: "Let's send you to an available agent".
    #[serde(default)]
    pub online: Option<Template>,
    /// Said when no agent is online. Default: "There are no agents available at this time. When one becomes available, we'll connect you."
    #[serde(default)]
    pub offline: Option<Template>,
    /// A note for the agent, with interpolation.
    #[serde(default)]
    pub message_to_agent: Option<Template>,
    /// The queue (department, skill) to route to. Default: the desk's default queue.
    #[serde(default)]
    pub queue: Option<String>,
    /// On the phone: where the call goes, over the assistant's `voice.transfer`.
    #[serde(default)]
    pub voice: Option<Box<VoiceTransfer>>,
}

/// The built-in system actions; each is editable, none can be removed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemActions {
    /// Runs when a session starts.
    #[serde(default)]
    pub greet: Option<StepsOnly>,
    /// Runs when no action matches; counts consecutive misses.
    #[serde(default)]
    pub no_action_matches: Option<StepsOnly>,
    #[serde(default)]
    pub fallback: Option<Fallback>,
    #[serde(default)]
    pub trigger_words: Option<TriggerWords>,
    #[serde(default)]
    pub clarifying_question: Option<ClarifyingQuestion>,
    #[serde(default)]
    pub change_topic: Option<ChangeTopic>,
}

/// A system action written as its steps.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepsOnly {
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// The Fallback action: a transfer to a human, with a message per reason (`fallback_reason`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// Phrases by which a customer asks for a human; recognised like any action, in any state.
    /// Replaces the built-in list when given.
    #[serde(default)]
    pub examples: Option<Vec<String>>,
    /// What is said for each reason before connecting.
    #[serde(default)]
    pub messages: FallbackMessages,
    /// How the transfer is made.
    #[serde(default)]
    pub connect: ConnectToAgent,
    /// Replace the whole action with these steps (conditions over `fallback_reason`); the last step should connect to an agent.
    #[serde(default)]
    pub steps: Option<Vec<Step>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackMessages {
    #[serde(default)]
    pub no_action_matches: Option<Template>,
    #[serde(default)]
    pub step_validation_failed: Option<Template>,
    #[serde(default)]
    pub agent_requested: Option<Template>,
    #[serde(default)]
    pub danger_word: Option<Template>,
    #[serde(default)]
    pub profanity: Option<Template>,
}

/// Trigger words: the connect-to-agent (danger) group and the warning (profanity) group.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerWords {
    #[serde(default)]
    pub danger: Option<WordGroup>,
    #[serde(default)]
    pub profanity: Option<WordGroup>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WordGroup {
    /// Words or phrases, matched case-insensitively on word boundaries.
    #[serde(default)]
    pub words: Vec<String>,
    /// For the profanity group: the warning said each time before the limit is reached.
    #[serde(default)]
    pub warning: Option<Template>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClarifyingQuestion {
    /// Default "Did you mean:".
    #[serde(default)]
    pub prompt: Option<Template>,
    /// Default "None of the above".
    #[serde(default)]
    pub none_of_the_above: Option<String>,
    /// Default "Connect to support"; choosing it runs Fallback.
    #[serde(default)]
    pub connect_to_support: Option<String>,
    /// Said after "None of the above". Default "Sorry about that. Could you rephrase what you need?"
    #[serde(default)]
    pub none_response: Option<Template>,
    /// At most this many candidates are offered. Default 3.
    #[serde(default)]
    pub max_candidates: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeTopic {
    /// Asked when the digression ends; `{action}` is replaced by the interrupted action's title.
    /// Default "Do you want to go back to {action}?"
    #[serde(default)]
    pub return_prompt: Option<String>,
}
