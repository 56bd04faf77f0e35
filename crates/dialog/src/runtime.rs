//! The step function: one event in, the next session and the effects out.
//!
//! A turn is a small interpreter over the session's action stack. Decisions are taken in a fixed
//! order for a customer message, and that order is the behaviour authors rely on (docs/format.md):
//! open transfer (silence) → trigger words → a request for a human (in any state) →
//! the runtime's own pending question (clarifying, return offer) → the waiting question's answer
//! (or a change of topic) → matching an action (or no match).
//!
//! Steps then run until a question waits or the stack is empty; every turn has a step budget, so a
//! `reask` or `go_to` cycle in an assistant ends the action with an apology instead of hanging.
//! System wording comes from the assistant (the loader fills in defaults); where a system action
//! is absent altogether the runtime falls back to `baton_assistant::defaults` itself.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use baton_assistant::defaults;
use baton_assistant::expr::Template;
use baton_assistant::{
    AnswerOption, Assistant, ConnectToAgent, FullThen, GoTo, OneOrMany, Output, Question, ResponseType, RichOutput,
    SimpleThen, Step, Then, Value, VariableSpec, VariableType,
};
use baton_nlu::IntentScore;

use crate::answer::{self, Answer};
use crate::scope::Scope;
use crate::session::{ActionRef, FallbackContext, Frame, OnEnd, Pending};
use crate::{
    Choice, Effect, Event, FALLBACK_INTENT, FinishReason, Message, Session, TransferOutcome, TransferReason,
    TransferRequest, Turn, TurnDebug, VOICE_CHANNEL, words,
};

/// Steps run in one turn before the runtime gives up on the action (a `reask`/`go_to` cycle).
pub const MAX_STEPS_PER_TURN: u32 = 1000;

/// Said when the step budget runs out.
pub const RUNAWAY_MESSAGE: &str = "Sorry, something went wrong on my side. Let's start again: how can I help?";
/// Said when the customer declines to go back to an interrupted action.
pub const DECLINED_RETURN: &str = "Okay.";
/// The buttons of the return offer.
const YES: &str = "Yes";
const NO: &str = "No";

pub(crate) fn step(assistant: &Assistant, session: Session, event: Event, now: DateTime<Utc>) -> Turn {
    let mut run = Run {
        assistant,
        session,
        now,
        effects: Vec::new(),
        debug: TurnDebug::default(),
        budget: MAX_STEPS_PER_TURN,
    };
    run.drop_vanished_actions();
    run.session.offered.clear();
    match event {
        Event::Start => run.start(),
        Event::UserSaid { text, intents } => run.user_said(&text, &intents),
        Event::TransferEnded { outcome } => run.transfer_ended(outcome),
        Event::HandedBack { resume, variables } => run.handed_back(resume.as_deref(), variables),
    }
    run.finish()
}

struct Run<'a> {
    assistant: &'a Assistant,
    session: Session,
    now: DateTime<Utc>,
    effects: Vec<Effect>,
    debug: TurnDebug,
    budget: u32,
}

impl<'a> Run<'a> {
    fn finish(mut self) -> Turn {
        if let Some(frame) = self.session.stack.last() {
            let step = self.step_at(&frame.action, frame.step).map(|step| step.id().to_owned());
            self.debug.action = Some(frame.action.id().to_owned());
            self.debug.step = step;
        }
        Turn {
            session: self.session,
            effects: self.effects,
            debug: self.debug,
        }
    }

    /// A session stored against an earlier version of the assistant (the server reloads an
    /// edited one) may name actions that are gone. Where the conversation stood then means
    /// nothing now: its actions are abandoned, and a clarifying question keeps only the
    /// candidates that still exist, so the message is read against the assistant as it is.
    fn drop_vanished_actions(&mut self) {
        let assistant = self.assistant;
        let exists = |action: &ActionRef| match action {
            ActionRef::Action(id) => assistant.action(id).is_some(),
            _ => true,
        };
        if !self.session.stack.iter().all(|frame| exists(&frame.action)) {
            self.abandon_all();
        }
        if let Some(Pending::Clarify { candidates, .. }) = &mut self.session.pending {
            candidates.retain(|id| assistant.action(id).is_some());
            if candidates.is_empty() {
                self.session.pending = None;
            }
        }
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            assistant: self.assistant,
            session: &self.session,
            now: self.now,
        }
    }

    // ----- events -------------------------------------------------------------------------

    fn start(&mut self) {
        for (name, spec) in &self.assistant.variables {
            if self.session.variable(name).is_none() {
                self.session.set_variable(name.clone(), initial_value(spec));
            }
        }
        self.session.started = true;
        self.push(ActionRef::Greet, OnEnd::Stop);
        self.run();
    }

    fn user_said(&mut self, text: &str, intents: &[IntentScore]) {
        self.session.turn_count += 1;
        self.remember(format_args!("customer: {text}"));
        let settings = self.settings_here();
        if self.session.transfer_open {
            // The message is for the queue or the agent, which the caller relays it to; asking
            // for a person again only gets the customer told where they stand.
            if self.requests_a_person(text, intents, &settings) {
                self.effects.push(Effect::AgentRequestedAgain);
            }
            return;
        }
        let trigger_words = self.assistant.system.trigger_words.as_ref();
        let danger = trigger_words.and_then(|groups| groups.danger.as_ref());
        let said = words::Words::new(text);
        if danger.is_some_and(|group| said.contains_any(&group.words)) {
            self.fallback(TransferReason::DangerWord, vec![text.to_owned()]);
            return;
        }
        let profanity = trigger_words.and_then(|groups| groups.profanity.as_ref());
        let profane = match profanity {
            Some(group) => said.contains_any(&group.words),
            None => said.contains_any(defaults::PROFANITY_WORDS),
        };
        if profane {
            self.session.profanity_count += 1;
            if self.session.profanity_count > settings.profanity_warnings {
                self.fallback(TransferReason::Profanity, vec![text.to_owned()]);
                return;
            }
            let warning = match profanity.and_then(|group| group.warning.as_ref()) {
                Some(template) => self.scope().render(template),
                None => defaults::PROFANITY_WARNING.to_owned(),
            };
            self.say(Message::Text { text: warning });
            return;
        }
        if self.requests_a_person(text, intents, &settings)
            && let Some(top) = best(intents)
        {
            self.debug.matched = Some((top.intent.clone(), top.confidence));
            self.fallback(TransferReason::AgentRequested, Vec::new());
            return;
        }
        let handled = match self.session.pending.take() {
            Some(Pending::Clarify { candidates, said }) => self.clarify_reply(text, &candidates, &said),
            Some(Pending::ReturnOffer) => self.return_reply(text),
            None => false,
        };
        if handled {
            return;
        }
        if self.session.stack.last().is_some_and(|frame| frame.waiting) {
            self.answer(text, intents);
            return;
        }
        self.match_action(text, intents);
    }

    fn transfer_ended(&mut self, outcome: TransferOutcome) {
        self.session.transfer_open = false;
        let sorry = match outcome {
            TransferOutcome::Ended | TransferOutcome::Cancelled => return,
            TransferOutcome::Unavailable => "Sorry, no agent is available right now.",
            TransferOutcome::TimedOut => "Sorry, no agent could join in time.",
            TransferOutcome::Failed => "Sorry, I couldn't reach an agent.",
        };
        self.say(Message::Text {
            text: format!("{sorry} I can still help you here: what do you need?"),
        });
    }

    fn handed_back(&mut self, resume: Option<&str>, variables: Vec<(String, Value)>) {
        self.session.transfer_open = false;
        let resume = resume.filter(|id| self.assistant.action(id).is_some());
        if let Some(id) = resume {
            // Start first (which clears the action's answers), so handed-back values fill its questions.
            self.push(ActionRef::Action(id.to_owned()), OnEnd::Stop);
        }
        for (name, value) in variables {
            self.session.set_variable(name, value);
        }
        self.run();
    }

    // ----- a customer message -----------------------------------------------------------

    /// The reply to "Did you mean:"; false when it is none of the choices (then it is a new input).
    fn clarify_reply(&mut self, text: &str, candidates: &[String], said: &str) -> bool {
        let clarifying = self.assistant.system.clarifying_question.as_ref();
        let options: Vec<AnswerOption> = self
            .clarify_choices(candidates)
            .into_iter()
            .map(|choice| AnswerOption::Label(choice.label))
            .collect();
        let Some(index) = answer::choose(text, &options) else {
            return false;
        };
        if index < candidates.len() {
            let id = candidates[index].clone();
            self.debug.matched = Some((id.clone(), 1.0));
            self.action_matched();
            self.push(ActionRef::Action(id), OnEnd::Stop);
            self.fill_from(said);
            self.run();
        } else if index == candidates.len() {
            let response = match clarifying.and_then(|clarifying| clarifying.none_response.as_ref()) {
                Some(template) => self.scope().render(template),
                None => defaults::CLARIFY_NONE_RESPONSE.to_owned(),
            };
            self.say(Message::Text { text: response });
        } else {
            self.fallback(TransferReason::AgentRequested, Vec::new());
        }
        true
    }

    /// The reply to "Do you want to go back to …?"; false when it is neither yes nor no (the
    /// interrupted action is then dropped and the text is a new input).
    fn return_reply(&mut self, text: &str) -> bool {
        self.session.digressed_from = None;
        let yes = yes_or_no(text);
        if yes == Some(true) {
            // Ask the interrupted question again, from its step's say.
            if let Some(frame) = self.session.stack.last_mut() {
                frame.waiting = false;
                frame.attempts = 0;
            }
            self.run();
            return true;
        }
        self.abandon_all();
        if yes == Some(false) {
            self.say(Message::Text {
                text: DECLINED_RETURN.to_owned(),
            });
            return true;
        }
        false
    }

    fn answer(&mut self, text: &str, intents: &[IntentScore]) {
        let Some(frame) = self.session.stack.last() else {
            return;
        };
        let (action, index) = (frame.action.clone(), frame.step);
        let Some(step) = self.step_at(&action, index).filter(|step| step.question.is_some()) else {
            // The assistant was edited under a stored session and its steps changed, so the
            // waiting question is gone (a deleted action was dropped before the event, in
            // `drop_vanished_actions`): the message is read afresh rather than swallowed.
            self.abandon_all();
            self.match_action(text, intents);
            return;
        };
        let Some(question) = &step.question else {
            return;
        };
        let answer = answer::read(question, text, &self.scope());
        let (reprompt_with, kind) = match answer {
            Answer::Valid(value) => {
                self.session.set_variable(question.variable(), value);
                let frame = self.top();
                frame.waiting = false;
                frame.attempts = 0;
                self.session.failed_inputs.clear();
                self.apply_set(&step);
                self.follow_then(&step);
                self.run();
                return;
            }
            Answer::Unreadable => (question.invalid.as_ref(), Answer::Unreadable),
            Answer::OutOfRange => (
                question.out_of_range.as_ref().or(question.invalid.as_ref()),
                Answer::OutOfRange,
            ),
        };
        let settings = self.settings_here();
        // Fallback's own questions are the way to a human: no leaving them for another topic.
        if settings.change_topic
            && action != ActionRef::Fallback
            && let Some((other, confidence)) = self.candidates(intents).into_iter().next()
            && other != action.id()
        {
            self.change_topic(other, confidence, text);
            return;
        }
        self.session.failed_inputs.push(text.to_owned());
        let frame = self.top();
        frame.attempts += 1;
        if frame.attempts > settings.invalid_answer_limit {
            let failed = std::mem::take(&mut self.session.failed_inputs);
            self.fallback(TransferReason::StepValidationFailed, failed);
            return;
        }
        let reprompt = match (reprompt_with, kind) {
            (Some(template), _) => self.scope().render(template),
            (None, Answer::OutOfRange) => answer::default_out_of_range(question, &self.scope()),
            (None, _) => answer::default_invalid(question, &self.assistant.locale),
        };
        self.say(Message::Text { text: reprompt });
        if question.kind == ResponseType::Options {
            self.say(options_message(question));
        }
    }

    /// Leaves the waiting question for another action; the question is offered again when it
    /// ends. A question of Greet customer or No action matches is simply dropped: there is
    /// nothing to go back to.
    fn change_topic(&mut self, other: String, confidence: f32, text: &str) {
        self.session.failed_inputs.clear();
        self.debug.matched = Some((other.clone(), confidence));
        self.action_matched();
        let interrupted = self.session.stack.last().map(|frame| frame.action.clone());
        let on_end = match interrupted {
            Some(action @ ActionRef::Action(_)) => {
                self.session.digressed_from = Some(self.title_of(&action));
                OnEnd::OfferReturn
            }
            _ => {
                self.pop(FinishReason::Abandoned);
                OnEnd::Stop
            }
        };
        self.push(ActionRef::Action(other), on_end);
        self.fill_from(text);
        self.run();
    }

    fn match_action(&mut self, text: &str, intents: &[IntentScore]) {
        let candidates = self.candidates(intents);
        let Some((top, confidence)) = candidates.first().cloned() else {
            self.no_match(text);
            return;
        };
        let settings = self.assistant.action(&top).map_or(self.assistant.settings, |action| {
            action.settings.resolve(self.assistant.settings)
        });
        let clarifying = self.assistant.system.clarifying_question.as_ref();
        let max_candidates = clarifying
            .and_then(|clarifying| clarifying.max_candidates)
            .unwrap_or(defaults::CLARIFY_MAX_CANDIDATES) as usize;
        let close: Vec<String> = candidates
            .iter()
            .filter(|(_, score)| f64::from(confidence - score) <= settings.clarify_margin + 1e-6)
            .take(max_candidates)
            .map(|(id, _)| id.clone())
            .collect();
        if settings.clarify && close.len() >= 2 {
            self.ask_clarifying(close, text);
            return;
        }
        self.debug.matched = Some((top.clone(), confidence));
        self.action_matched();
        self.push(ActionRef::Action(top), OnEnd::Stop);
        self.fill_from(text);
        self.run();
    }

    /// Answers the questions of the action just started that the message which started it
    /// already answers, as IBM's actions do unless a step always asks: "send $50 to Sam
    /// tomorrow" fills the amount and the date, so they are not asked again. Only answer types
    /// that a sentence shows unambiguously are read (amounts, percentages, dates, times, email
    /// addresses, phone numbers), each for the first question of its type only (a second date
    /// could be either), and only a valid answer counts: one out of range is asked as usual.
    /// Options questions take an option the message names ("I lost my credit card"), never a
    /// position, number or misspelling.
    fn fill_from(&mut self, text: &str) {
        let Some(frame) = self.session.stack.last() else {
            return;
        };
        let steps = self.steps_of(&frame.action);
        let mut seen: Vec<ResponseType> = Vec::new();
        for question in steps.iter().filter_map(|step| step.question.as_ref()) {
            let value = match question.kind {
                ResponseType::Options => answer::named_option(question, text),
                kind @ (ResponseType::Currency
                | ResponseType::Percentage
                | ResponseType::Date
                | ResponseType::Time
                | ResponseType::Email
                | ResponseType::Phone) => {
                    // Only the first question of a type: the type counts as seen even when it
                    // always asks.
                    if seen.contains(&kind) {
                        continue;
                    }
                    seen.push(kind);
                    match answer::read(question, text, &self.scope()) {
                        Answer::Valid(value) => Some(value),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(value) = value.filter(|_| !question.always_ask) {
                self.session.set_variable(question.variable(), value);
            }
        }
    }

    fn ask_clarifying(&mut self, candidates: Vec<String>, said: &str) {
        let clarifying = self.assistant.system.clarifying_question.as_ref();
        let title = match clarifying.and_then(|clarifying| clarifying.prompt.as_ref()) {
            Some(template) => self.scope().render(template),
            None => defaults::CLARIFY_PROMPT.to_owned(),
        };
        let choices = self.clarify_choices(&candidates);
        self.session.pending = Some(Pending::Clarify {
            candidates,
            said: said.to_owned(),
        });
        self.say(Message::Options { title, choices });
    }

    /// The buttons of "Did you mean:": each candidate's title, "None of the above", "Connect to support".
    fn clarify_choices(&self, candidates: &[String]) -> Vec<Choice> {
        let clarifying = self.assistant.system.clarifying_question.as_ref();
        let none_of_the_above = clarifying
            .and_then(|clarifying| clarifying.none_of_the_above.clone())
            .unwrap_or_else(|| defaults::CLARIFY_NONE_OF_THE_ABOVE.to_owned());
        let connect_to_support = clarifying
            .and_then(|clarifying| clarifying.connect_to_support.clone())
            .unwrap_or_else(|| defaults::CLARIFY_CONNECT_TO_SUPPORT.to_owned());
        candidates
            .iter()
            .map(|id| self.title_of(&ActionRef::Action(id.clone())))
            .chain([none_of_the_above, connect_to_support])
            .map(|label| Choice {
                value: label.clone(),
                label,
            })
            .collect()
    }

    fn no_match(&mut self, text: &str) {
        self.session.no_match_count += 1;
        self.session.failed_inputs.push(text.to_owned());
        if self.session.no_match_count > self.assistant.settings.no_match_limit {
            let failed = std::mem::take(&mut self.session.failed_inputs);
            self.fallback(TransferReason::NoActionMatches, failed);
            return;
        }
        self.push(ActionRef::NoActionMatches, OnEnd::Stop);
        self.run();
    }

    /// Whether the message asks for a human: the phrases that ask for one rank first with enough
    /// confidence, and the message says something about a person ([`Run::asks_for_a_person`]).
    /// The phrases that ask for a person are few and alike, so in a small assistant a message
    /// that shares only "I want to" with them can rank them first.
    fn requests_a_person(&self, text: &str, intents: &[IntentScore], settings: &baton_assistant::Resolved) -> bool {
        best(intents).is_some_and(|top| {
            top.intent == FALLBACK_INTENT && f64::from(top.confidence) >= settings.confidence_threshold
        }) && self.asks_for_a_person(text)
    }

    /// Whether `text` shares a word that says something with the phrases that ask for a person,
    /// or names a person to talk to ([`defaults::PERSON_WORDS`]).
    fn asks_for_a_person(&self, text: &str) -> bool {
        let fallback = self.assistant.system.fallback.as_ref();
        let phrases: Vec<&str> = match fallback.and_then(|fallback| fallback.examples.as_ref()) {
            Some(phrases) => phrases.iter().map(String::as_str).collect(),
            None => defaults::AGENT_REQUESTED_EXAMPLES.to_vec(),
        };
        let person_words = defaults::PERSON_WORDS.iter().copied();
        baton_assistant::words::shares_content_word(text, phrases.into_iter().chain(person_words))
    }

    /// An action matched: the miss streak ends.
    fn action_matched(&mut self) {
        self.session.no_match_count = 0;
        self.session.failed_inputs.clear();
    }

    /// Author actions whose confidence reaches their threshold, best first.
    fn candidates(&self, intents: &[IntentScore]) -> Vec<(String, f32)> {
        let mut candidates: Vec<(String, f32)> = intents
            .iter()
            .filter(|score| score.intent != FALLBACK_INTENT)
            .filter(|score| {
                self.assistant.action(&score.intent).is_some_and(|action| {
                    let threshold = action.settings.resolve(self.assistant.settings).confidence_threshold;
                    f64::from(score.confidence) >= threshold
                })
            })
            .map(|score| (score.intent.clone(), score.confidence))
            .collect();
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
        candidates
    }

    // ----- running steps ----------------------------------------------------------------

    /// Runs steps until a question waits or no action is left.
    fn run(&mut self) {
        while let Some(frame) = self.session.stack.last() {
            if frame.waiting {
                return;
            }
            if self.budget == 0 {
                self.runaway();
                return;
            }
            self.budget -= 1;
            let (action, index) = (frame.action.clone(), frame.step);
            let Some(step) = self.step_at(&action, index) else {
                self.end_action(FinishReason::Completed);
                continue;
            };
            if let Some(condition) = &step.condition
                && !self.scope().holds(condition)
            {
                self.top().step += 1;
                continue;
            }
            match &step.question {
                Some(question) if question.always_ask || self.session.variable(question.variable()).is_none() => {
                    self.say_outputs(&step);
                    let authored_buttons = step
                        .say
                        .as_slice()
                        .iter()
                        .any(|output| matches!(output, Output::Rich(RichOutput::Options(_))));
                    if question.kind == ResponseType::Options && !authored_buttons {
                        self.say(options_message(question));
                    }
                    let frame = self.top();
                    frame.waiting = true;
                    frame.attempts = 0;
                    return;
                }
                // Already answered: the step is skipped, but its assignments and "and then" still apply.
                Some(_) => {}
                None => self.say_outputs(&step),
            }
            self.apply_set(&step);
            self.follow_then(&step);
        }
    }

    fn follow_then(&mut self, step: &Step) {
        match &step.then {
            Then::Continue | Then::Simple(SimpleThen::Continue) => self.top().step += 1,
            Then::Simple(SimpleThen::End) => self.end_action(FinishReason::Completed),
            Then::Simple(SimpleThen::HangUp) => {
                self.end_action(FinishReason::Completed);
                self.effects.push(Effect::HangUp);
            }
            Then::Simple(SimpleThen::ConnectToAgent) => self.connect(&ConnectToAgent::default(), step),
            Then::Full(FullThen::ConnectToAgent(connect)) => self.connect(connect, step),
            Then::Full(FullThen::GoTo(go_to)) => self.go_to(go_to),
            Then::Full(FullThen::Reask(step_ids)) => self.reask(step_ids),
        }
    }

    fn reask(&mut self, step_ids: &[String]) {
        let Some(frame) = self.session.stack.last() else {
            return;
        };
        let action = frame.action.clone();
        let steps = self.steps_of(&action);
        let mut first = None;
        for (index, step) in steps.iter().enumerate() {
            if !step_ids.iter().any(|id| id == step.id()) {
                continue;
            }
            first = Some(first.map_or(index, |first: usize| first.min(index)));
            if let Some(question) = &step.question {
                self.session.set_variable(question.variable(), Value::Null);
            }
        }
        let frame = self.top();
        match first {
            Some(index) => frame.step = index,
            None => frame.step += 1,
        }
    }

    fn go_to(&mut self, go_to: &GoTo) {
        if self.assistant.action(&go_to.action).is_none() {
            // The loader rejects unknown targets; a stale session just goes on.
            self.top().step += 1;
            return;
        }
        let on_end = if go_to.return_after {
            self.top().step += 1;
            OnEnd::ReturnToCaller
        } else {
            let frame = self.pop(FinishReason::Interrupted);
            frame.map_or(OnEnd::Stop, |frame| frame.on_end)
        };
        self.push(ActionRef::Action(go_to.action.clone()), on_end);
    }

    /// Ends the innermost action and does what its ending asks for.
    fn end_action(&mut self, reason: FinishReason) {
        let Some(frame) = self.pop(reason) else {
            return;
        };
        if frame.action == ActionRef::Fallback {
            // Custom Fallback steps ran to the end without connecting themselves.
            let connect = self
                .assistant
                .system
                .fallback
                .as_ref()
                .map(|fallback| fallback.connect.clone())
                .unwrap_or_default();
            self.fallback_transfer(&connect);
            return;
        }
        if frame.on_end == OnEnd::OfferReturn && self.session.stack.last().is_some_and(|below| below.waiting) {
            self.offer_return();
        }
    }

    fn offer_return(&mut self) {
        let Some(frame) = self.session.stack.last() else {
            return;
        };
        let title = self.title_of(&frame.action);
        let prompt = self
            .assistant
            .system
            .change_topic
            .as_ref()
            .and_then(|change_topic| change_topic.return_prompt.as_deref())
            .unwrap_or(defaults::CHANGE_TOPIC_RETURN)
            .replace("{action}", &title);
        self.session.pending = Some(Pending::ReturnOffer);
        self.say(Message::Options {
            title: prompt,
            choices: [YES, NO]
                .into_iter()
                .map(|label| Choice {
                    label: label.to_owned(),
                    value: label.to_owned(),
                })
                .collect(),
        });
    }

    fn runaway(&mut self) {
        self.abandon_all();
        self.say(Message::Text {
            text: RUNAWAY_MESSAGE.to_owned(),
        });
    }

    // ----- transfers --------------------------------------------------------------------

    /// `then: connect_to_agent`: a planned transfer, or the end of custom Fallback steps.
    fn connect(&mut self, connect: &ConnectToAgent, step: &Step) {
        let in_fallback = self
            .session
            .stack
            .last()
            .is_some_and(|frame| frame.action == ActionRef::Fallback);
        if in_fallback {
            self.fallback_transfer(connect);
            return;
        }
        let action = self.session.current_action().map(str::to_owned);
        let request = self.transfer_request(
            TransferReason::Planned,
            connect,
            action,
            Some(step.id().to_owned()),
            Vec::new(),
        );
        self.open_transfer(request);
    }

    /// Runs Fallback: drops whatever was going on, says the reason's message (or runs the
    /// author's Fallback steps) and asks for a human.
    fn fallback(&mut self, reason: TransferReason, failed_inputs: Vec<String>) {
        self.debug.fallback_reason = Some(reason);
        let in_progress = self
            .session
            .stack
            .iter()
            .rev()
            .find(|frame| matches!(frame.action, ActionRef::Action(_)))
            .map(|frame| {
                let step = self.step_at(&frame.action, frame.step).map(|step| step.id().to_owned());
                (frame.action.id().to_owned(), step)
            });
        let in_fallback = self
            .session
            .stack
            .last()
            .is_some_and(|frame| frame.action == ActionRef::Fallback);
        let (action, step) = match (in_progress, &self.session.fallback) {
            (Some((action, step)), _) => (Some(action), step),
            // Fallback again from Fallback's own question: the action it came from still counts.
            (None, Some(previous)) if in_fallback => (previous.action.clone(), previous.step.clone()),
            (None, _) => (None, None),
        };
        while self.pop(FinishReason::Interrupted).is_some() {}
        self.session.pending = None;
        self.session.digressed_from = None;
        self.session.fallback = Some(FallbackContext {
            reason,
            action,
            step,
            failed_inputs,
        });
        let fallback = self.assistant.system.fallback.as_ref();
        let custom_steps = fallback.and_then(|fallback| fallback.steps.as_ref());
        if custom_steps.is_some_and(|steps| !steps.is_empty()) {
            self.push(ActionRef::Fallback, OnEnd::Stop);
            self.run();
            return;
        }
        let messages = fallback.map(|fallback| &fallback.messages);
        let (custom, default) = match reason {
            TransferReason::NoActionMatches => (
                messages.and_then(|messages| messages.no_action_matches.as_ref()),
                defaults::FALLBACK_NO_ACTION_MATCHES,
            ),
            TransferReason::StepValidationFailed => (
                messages.and_then(|messages| messages.step_validation_failed.as_ref()),
                defaults::FALLBACK_STEP_VALIDATION_FAILED,
            ),
            TransferReason::AgentRequested | TransferReason::Planned => (
                messages.and_then(|messages| messages.agent_requested.as_ref()),
                defaults::FALLBACK_AGENT_REQUESTED,
            ),
            TransferReason::DangerWord => (
                messages.and_then(|messages| messages.danger_word.as_ref()),
                defaults::FALLBACK_DANGER_WORD,
            ),
            TransferReason::Profanity => (
                messages.and_then(|messages| messages.profanity.as_ref()),
                defaults::FALLBACK_PROFANITY,
            ),
        };
        let text = match custom {
            Some(template) => self.scope().render(template),
            None => default.to_owned(),
        };
        self.say(Message::Text { text });
        let connect = fallback.map(|fallback| fallback.connect.clone()).unwrap_or_default();
        self.fallback_transfer(&connect);
    }

    /// The transfer that ends Fallback, with the reason and inputs it was started with.
    fn fallback_transfer(&mut self, connect: &ConnectToAgent) {
        let context = self.session.fallback.clone().unwrap_or(FallbackContext {
            reason: TransferReason::AgentRequested,
            action: None,
            step: None,
            failed_inputs: Vec::new(),
        });
        let request = self.transfer_request(
            context.reason,
            connect,
            context.action,
            context.step,
            context.failed_inputs,
        );
        self.open_transfer(request);
    }

    fn transfer_request(
        &self,
        reason: TransferReason,
        connect: &ConnectToAgent,
        action: Option<String>,
        step: Option<String>,
        failed_inputs: Vec<String>,
    ) -> TransferRequest {
        let scope = self.scope();
        let render_or = |template: Option<&Template>, default: &str| {
            template.map_or_else(|| default.to_owned(), |template| scope.render(template))
        };
        TransferRequest {
            reason,
            queue: connect.queue.clone(),
            message_to_agent: render_or(connect.message_to_agent.as_ref(), ""),
            online_response: render_or(connect.online.as_ref(), defaults::DEFAULT_AGENT_ONLINE),
            offline_response: render_or(connect.offline.as_ref(), defaults::DEFAULT_AGENT_OFFLINE),
            action,
            step,
            failed_inputs,
        }
    }

    /// Ends every action (the innermost as transferred) and asks for a human.
    fn open_transfer(&mut self, request: TransferRequest) {
        while self.pop(FinishReason::Transferred).is_some() {}
        self.session.pending = None;
        self.session.digressed_from = None;
        self.session.no_match_count = 0;
        self.session.profanity_count = 0;
        self.session.failed_inputs.clear();
        self.session.transfer_open = true;
        self.effects.push(Effect::Transfer(request));
    }

    // ----- the stack --------------------------------------------------------------------

    /// Starts an action: clears its answers, announces it, and puts it on top.
    fn push(&mut self, action: ActionRef, on_end: OnEnd) {
        for step in self.steps_of(&action).iter() {
            if let Some(question) = &step.question {
                self.session.set_variable(question.variable(), Value::Null);
            }
        }
        if let ActionRef::Action(id) = &action {
            self.effects.push(Effect::ActionStarted { action: id.clone() });
        }
        self.session.stack.push(Frame {
            action,
            step: 0,
            waiting: false,
            attempts: 0,
            on_end,
        });
    }

    /// Removes the innermost action, announcing how it finished.
    fn pop(&mut self, reason: FinishReason) -> Option<Frame> {
        let frame = self.session.stack.pop()?;
        if let ActionRef::Action(id) = &frame.action {
            self.effects.push(Effect::ActionFinished {
                action: id.clone(),
                reason,
            });
        }
        Some(frame)
    }

    /// Drops every action as abandoned, and any pending question.
    fn abandon_all(&mut self) {
        while self.pop(FinishReason::Abandoned).is_some() {}
        self.session.pending = None;
        self.session.digressed_from = None;
    }

    /// The innermost frame; only called where one exists.
    fn top(&mut self) -> &mut Frame {
        self.session.stack.last_mut().expect("a running action")
    }

    // ----- reading the assistant --------------------------------------------------------

    fn steps_of(&self, action: &ActionRef) -> Cow<'a, [Step]> {
        let system = &self.assistant.system;
        match action {
            ActionRef::Action(id) => self
                .assistant
                .action(id)
                .map_or(Cow::Borrowed(&[][..]), |action| Cow::Borrowed(&action.steps[..])),
            ActionRef::Greet => match &system.greet {
                Some(greet) => Cow::Borrowed(&greet.steps[..]),
                None => Cow::Owned(vec![say_step(defaults::GREETING)]),
            },
            ActionRef::NoActionMatches => match &system.no_action_matches {
                Some(no_match) => Cow::Borrowed(&no_match.steps[..]),
                None => Cow::Owned(vec![say_step(defaults::NO_ACTION_MATCHES)]),
            },
            ActionRef::Fallback => system
                .fallback
                .as_ref()
                .and_then(|fallback| fallback.steps.as_deref())
                .map_or(Cow::Borrowed(&[][..]), Cow::Borrowed),
        }
    }

    fn step_at(&self, action: &ActionRef, index: usize) -> Option<Cow<'a, Step>> {
        match self.steps_of(action) {
            Cow::Borrowed(steps) => steps.get(index).map(Cow::Borrowed),
            Cow::Owned(mut steps) => (index < steps.len()).then(|| Cow::Owned(steps.swap_remove(index))),
        }
    }

    fn title_of(&self, action: &ActionRef) -> String {
        match action {
            ActionRef::Action(id) => self
                .assistant
                .action(id)
                .map_or(id.as_str(), |action| action.title())
                .to_owned(),
            other => other.id().to_owned(),
        }
    }

    /// Settings where the conversation is: the innermost step, its action, the assistant.
    fn settings_here(&self) -> baton_assistant::Resolved {
        let base = self.assistant.settings;
        let Some(frame) = self.session.stack.last() else {
            return base;
        };
        let base = match &frame.action {
            ActionRef::Action(id) => self
                .assistant
                .action(id)
                .map_or(base, |action| action.settings.resolve(base)),
            _ => base,
        };
        self.step_at(&frame.action, frame.step)
            .map_or(base, |step| step.settings.resolve(base))
    }

    // ----- saying things ----------------------------------------------------------------

    fn say(&mut self, message: Message) {
        match &message {
            Message::Text { text } if text.is_empty() => return,
            Message::Text { text } => self.remember(format_args!("assistant: {text}")),
            _ => {}
        }
        if let Message::Options { title, choices } = &message {
            if !title.is_empty() {
                self.remember(format_args!("assistant: {title}"));
            }
            self.session.offered = choices.iter().map(|choice| choice.value.clone()).collect();
        }
        self.effects.push(Effect::Say(message));
    }

    /// Adds a line to `session_history`, for an assistant that reads it.
    fn remember(&mut self, line: std::fmt::Arguments<'_>) {
        if self.assistant.keeps_history {
            self.session.remember(line.to_string());
        }
    }

    fn say_outputs(&mut self, step: &Step) {
        self.say_these(step.say.as_slice());
    }

    fn say_these(&mut self, outputs: &[Output]) {
        for output in outputs {
            let scope = self.scope();
            let message = match output {
                Output::Rich(RichOutput::Channels(channels)) => {
                    let on_the_phone = self.session.channel.as_deref() == Some(VOICE_CHANNEL);
                    let chosen = match (on_the_phone, &channels.voice) {
                        (true, Some(voice)) => voice,
                        _ => &channels.web,
                    };
                    // One level only (`baton check` refuses a `channels` inside another).
                    let flat: Vec<Output> = chosen
                        .as_slice()
                        .iter()
                        .filter(|output| !matches!(output, Output::Rich(RichOutput::Channels(_))))
                        .cloned()
                        .collect();
                    self.say_these(&flat);
                    continue;
                }
                Output::Text(template) | Output::Rich(RichOutput::Text(template)) => Message::Text {
                    text: scope.render(template),
                },
                Output::Rich(RichOutput::Options(buttons)) => Message::Options {
                    title: buttons
                        .title
                        .as_ref()
                        .map(|title| scope.render(title))
                        .unwrap_or_default(),
                    choices: buttons
                        .choices
                        .iter()
                        .map(|choice| Choice {
                            label: choice.label().to_owned(),
                            value: choice.value().to_owned(),
                        })
                        .collect(),
                },
                Output::Rich(RichOutput::Link(link)) => Message::Link {
                    label: scope.render(&link.label),
                    url: scope.render(&link.url),
                },
                Output::Rich(RichOutput::Pause(milliseconds)) => Message::Pause {
                    milliseconds: *milliseconds,
                },
            };
            self.say(message);
        }
    }

    fn apply_set(&mut self, step: &Step) {
        for (name, expression) in &step.set {
            let value = self.scope().evaluate(expression).unwrap_or(Value::Null);
            self.session.set_variable(name.clone(), value);
        }
    }
}

/// The best-scored intent; of equally scored ones the first, as the classifier lists intents
/// best first and gives an intent a message names beside the top one the top one's confidence.
fn best(intents: &[IntentScore]) -> Option<&IntentScore> {
    intents
        .iter()
        .reduce(|best, next| match next.confidence > best.confidence {
            true => next,
            false => best,
        })
}

/// Yes or no, as the extractor reads it, or the button labels.
fn yes_or_no(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case(YES) {
        return Some(true);
    }
    if text.eq_ignore_ascii_case(NO) {
        return Some(false);
    }
    baton_nlu::extract::yes_no(text)
}

/// The buttons of an options question.
fn options_message(question: &Question) -> Message {
    Message::Options {
        title: String::new(),
        choices: question
            .options
            .iter()
            .map(|option| Choice {
                label: option.label().to_owned(),
                value: option.value().to_owned(),
            })
            .collect(),
    }
}

/// A step that only says `text` (a system action the assistant left out).
fn say_step(text: &str) -> Step {
    Step {
        id: Some("step_1".to_owned()),
        condition: None,
        say: OneOrMany::One(Output::Text(Template::new(text))),
        question: None,
        set: Default::default(),
        then: Then::Continue,
        settings: Default::default(),
    }
}

/// A declared variable's initial value, read as its type.
fn initial_value(spec: &VariableSpec) -> Value {
    let Some(json) = &spec.initial else {
        return Value::Null;
    };
    let value = Value::from_json(json);
    match (spec.kind, value) {
        (VariableType::Date, Value::Text(text)) => {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_or(Value::Null, Value::Date)
        }
        (VariableType::Time, Value::Text(text)) => NaiveTime::parse_from_str(&text, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M"))
            .map_or(Value::Null, Value::Time),
        (VariableType::Currency, Value::Number(amount)) => Value::Money { amount, currency: None },
        (VariableType::Percentage, Value::Number(number)) => Value::Percent(number),
        (_, value) => value,
    }
}
