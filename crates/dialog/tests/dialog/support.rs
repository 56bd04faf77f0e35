//! Fixtures and the conversation driver shared by the runtime tests.
//!
//! Assistants are written as JSON in the definition format (JSON is accepted wherever YAML is)
//! and loaded by the real loader, so each test holds only what it needs. Customer lines carry their classifier scores in the script
//! (`"text => action:0.9, other:0.8"`), so the runtime is tested apart from the classifier.

use baton_assistant::load::load_str;
use baton_assistant::{Assistant, Severity};
use baton_dialog::{Effect, Event, Message, Session, TransferOutcome, Turn};
use baton_nlu::IntentScore;
use chrono::{DateTime, TimeZone, Utc};

/// A fixed instant: Wednesday 2026-11-25 14:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 14, 0, 0).unwrap()
}

/// Loads an assistant from the JSON form of `assistant.yaml` (with inline `actions`) through
/// the real loader, so defaults are filled in exactly as for an author's folder.
/// Actions without examples get their id as one (scripts give scores directly anyway).
pub fn assistant(mut json: serde_json::Value) -> Assistant {
    let actions = json.get_mut("actions").and_then(|actions| actions.as_array_mut());
    for action in actions.into_iter().flatten() {
        if action.get("examples").is_none() {
            action["examples"] = serde_json::json!([action["id"].clone()]);
        }
    }
    let loaded = load_str("assistant.json", &json.to_string());
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "fixture does not load:\n{}", errors.join("\n"));
    loaded.assistant.expect("an assistant without errors")
}

/// A customer line with scores: `"text => a:0.9, b:0.7"`; a bare intent means 0.9.
pub fn user_said(line: &str) -> Event {
    let (text, scores) = line.split_once(" => ").unwrap_or((line, ""));
    let intents = scores
        .split(',')
        .map(str::trim)
        .filter(|score| !score.is_empty())
        .map(|score| {
            let (intent, confidence) = score.split_once(':').unwrap_or((score, "0.9"));
            IntentScore {
                intent: intent.to_owned(),
                confidence: confidence.parse().expect("a confidence"),
            }
        })
        .collect();
    Event::UserSaid {
        text: text.to_owned(),
        intents,
    }
}

/// One line of a script: a customer line, or `!ended <outcome>`, or `!handed_back [action] [name=value…]`.
pub fn event(line: &str) -> Event {
    if let Some(outcome) = line.strip_prefix("!ended ") {
        let outcome: TransferOutcome = serde_json::from_value(serde_json::Value::String(outcome.to_owned())).unwrap();
        return Event::TransferEnded { outcome };
    }
    if let Some(rest) = line.strip_prefix("!handed_back") {
        let mut resume = None;
        let mut variables = Vec::new();
        for word in rest.split_whitespace() {
            match word.split_once('=') {
                Some((name, value)) => {
                    variables.push((name.to_owned(), baton_assistant::Value::Text(value.to_owned())))
                }
                None => resume = Some(word.to_owned()),
            }
        }
        return Event::HandedBack { resume, variables };
    }
    user_said(line)
}

/// Starts a session and plays the script; returns the transcript and the last session.
pub fn converse(assistant: &Assistant, script: &[&str]) -> (String, Session) {
    let mut out = String::new();
    let mut turn = baton_dialog::step(assistant, Session::default(), Event::Start, t0());
    out.push_str(&render(&turn.effects));
    for line in script {
        let event = event(line);
        match &event {
            Event::UserSaid { text, .. } => out.push_str(&format!("customer: {text}\n")),
            _ => out.push_str(&format!("<{}>\n", line.trim_start_matches('!'))),
        }
        turn = baton_dialog::step(assistant, turn.session, event, t0());
        out.push_str(&render(&turn.effects));
    }
    (out, turn.session)
}

/// Plays the script and returns only the transcript.
pub fn transcript(assistant: &Assistant, script: &[&str]) -> String {
    converse(assistant, script).0
}

/// The session after `script`, and the turn of the line after it.
pub fn turn_after(assistant: &Assistant, script: &[&str], line: &str) -> Turn {
    let (_, session) = converse(assistant, script);
    baton_dialog::step(assistant, session, event(line), t0())
}

/// Effects as transcript lines; action start and finish are left out.
pub fn render(effects: &[Effect]) -> String {
    let mut out = String::new();
    for effect in effects {
        let line = match effect {
            Effect::Say(Message::Text { text }) => format!("assistant: {text}"),
            Effect::Say(Message::Options { title, choices }) => {
                let labels: Vec<&str> = choices.iter().map(|choice| choice.label.as_str()).collect();
                format!("assistant: {title} [{}]", labels.join(" | ")).replace(":  [", ": [")
            }
            Effect::Say(Message::Link { label, url }) => format!("assistant: {label} <{url}>"),
            Effect::Say(Message::Pause { milliseconds }) => format!("assistant: (pause {milliseconds} ms)"),
            Effect::Transfer(request) => {
                let mut line = format!(
                    "[Connect to an agent] reason={} queue={} message={}",
                    request.reason.as_str(),
                    request.queue.as_deref().unwrap_or("-"),
                    request.message_to_agent
                );
                if !request.failed_inputs.is_empty() {
                    line.push_str(&format!(" failed={:?}", request.failed_inputs));
                }
                line
            }
            Effect::TransferResponse { text } => format!("assistant: {text}"),
            Effect::AgentRequestedAgain => "[asked for an agent again]".to_owned(),
            Effect::HangUp => "[hang up]".to_owned(),
            Effect::ActionStarted { .. } | Effect::ActionFinished { .. } => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The texts said, in order (options by title).
pub fn said(turn: &Turn) -> Vec<String> {
    render(&turn.effects).lines().map(str::to_owned).collect()
}

/// The transfer a turn requested, if any.
pub fn transfer(turn: &Turn) -> Option<&baton_dialog::TransferRequest> {
    turn.effects.iter().find_map(|effect| match effect {
        Effect::Transfer(request) => Some(request),
        _ => None,
    })
}
