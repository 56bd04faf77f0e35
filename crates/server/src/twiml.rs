//! A turn as a phone call hears it: TwiML, the XML that Twilio Programmable Voice and the
//! TwiML-compatible carriers (Telnyx TeXML, SignalWire) execute.
//!
//! What the assistant says is `<Say>`, nested in a `<Gather input="speech dtmf">` so the caller
//! can answer by voice or keypad and interrupt it (barge-in); options are read with their
//! numbers, links by their label, Markdown without its marks, a pause as `<Pause>`. A transfer is
//! `<Dial>` to a SIP URI or a number, or `<Enqueue>` into a Twilio Flex workflow, after the agent
//! online or offline response; `then: hang_up` is `<Hangup/>`. Every text put in the document
//! goes through [`escape`]: what the caller said can come back in an interpolated variable.
//!
//! [`VoiceRender`] is the [`Render`] a phone turn is stored with, so a carrier's retry gets
//! the same document. It is the TwiML text as a JSON string (the stored reply is JSON).

use std::fmt::Write as _;

use serde_json::value::{RawValue, to_raw_value};

use baton_assistant::{OnTransferFailure, Question, ResponseType, VoiceTransfer};
use baton_dialog::{Effect, Engine, Message, Session, TransferReason, TransferRequest};

use crate::conversation::{Render, Reply, waiting_question};

/// Said before hanging up when a call transfer fails and the caller is not kept.
pub const TRANSFER_FAILED_GOODBYE: &str = "Sorry, no one could take your call. Please try again later. Goodbye.";
/// Seconds of silence before an answer counts as no input, unless the assistant says.
const DEFAULT_TIMEOUT_SECS: u32 = 5;
/// How long a dialled agent's phone rings before the transfer counts as not answered.
const DIAL_TIMEOUT_SECS: u32 = 30;
/// At most this many speech hints (Twilio reads up to 500; a long list slows recognition).
const MAX_HINTS: usize = 50;
/// A hint longer than this is left out (Twilio's limit per hint is 100 characters).
const MAX_HINT_CHARS: usize = 100;

/// How a phone turn is shown, and the call's own details the document needs.
#[derive(Debug, Clone)]
pub struct VoiceRender {
    /// The assistant's webhook as the carrier calls it (`{public_url}/v1/voice/{assistant_id}`).
    pub webhook_url: String,
    /// The session's history link, for the agent a call is transferred to.
    pub history_link: String,
    /// Set for the turn that follows a failed call transfer: where the transfer went and what
    /// its failure leads to.
    pub after_failed_transfer: Option<VoiceTransfer>,
}

impl Render for VoiceRender {
    fn all_intents(&self) -> bool {
        false
    }

    fn render(&self, reply: &Reply<'_>) -> Box<RawValue> {
        // A string serialises without failing.
        to_raw_value(&self.document(reply)).unwrap_or_default()
    }
}

/// What the call does after what is said.
enum Next<'a> {
    Gather,
    Hangup,
    Transfer(&'a TransferRequest),
}

impl VoiceRender {
    /// The TwiML document for a turn.
    pub fn document(&self, reply: &Reply<'_>) -> String {
        let assistant = reply.engine.assistant();
        let say = SayAttributes {
            language: assistant.voice.language.as_deref().unwrap_or(&assistant.locale),
            voice: assistant.voice.voice.as_deref(),
        };
        let mut said = String::new();
        let mut next = Next::Gather;
        for line in reply.agent_lines {
            say.push(&mut said, &line.text);
        }
        let failed = self.after_failed_transfer.as_ref();
        let hang_up_after_failure = failed.is_some_and(|failed| failed.on_failure == Some(OnTransferFailure::HangUp));
        match failed {
            Some(failed) if hang_up_after_failure => {
                let goodbye = failed.failure_message.as_deref().unwrap_or(TRANSFER_FAILED_GOODBYE);
                say.push(&mut said, goodbye);
                next = Next::Hangup;
            }
            // The assistant's own line for a failed transfer, unless the author wrote one.
            Some(VoiceTransfer {
                failure_message: Some(message),
                ..
            }) => say.push(&mut said, message),
            _ => {}
        }
        let replaced_by_failure_message = failed.is_some_and(|failed| failed.failure_message.is_some());
        for effect in reply.effects {
            match effect {
                Effect::Say(_) if replaced_by_failure_message => {}
                Effect::Say(message) => say.message(&mut said, message),
                Effect::TransferResponse { text } => say.push(&mut said, text),
                Effect::Transfer(request) => next = Next::Transfer(request),
                Effect::HangUp => next = Next::Hangup,
                Effect::ActionStarted { .. } | Effect::ActionFinished { .. } | Effect::AgentRequestedAgain => {}
            }
        }
        for message in reply.after {
            say.message(&mut said, message);
        }
        let mut document = String::with_capacity(said.len() + 512);
        document.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        match next {
            Next::Hangup => {
                document.push_str(&said);
                document.push_str("<Hangup/>");
            }
            Next::Transfer(request) if reply.session.transfer_open => {
                let target = assistant.voice_transfer(
                    request.reason == TransferReason::Planned,
                    request.action.as_deref(),
                    request.step.as_deref(),
                );
                document.push_str(&said);
                match self.transfer(&target, request, reply) {
                    Some(transfer) => document.push_str(&transfer),
                    // No target for calls: the caller stays with Baton, and what they say goes to
                    // the agent as text (their replies are read at the caller's next turn).
                    None => self.gather(&mut document, "", reply),
                }
            }
            Next::Transfer(_) | Next::Gather => self.gather(&mut document, &said, reply),
        }
        document.push_str("</Response>");
        document
    }

    /// `<Gather>` around what is said, answering to the webhook with the turn it answers.
    fn gather(&self, document: &mut String, said: &str, reply: &Reply<'_>) {
        let assistant = reply.engine.assistant();
        let question = waiting_question(reply.engine, reply.session);
        let language = assistant.voice.language.as_deref().unwrap_or(&assistant.locale);
        let timeout = assistant.voice.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        let _ = write!(
            document,
            r#"<Gather input="speech dtmf" action="{}?t={}" method="POST" actionOnEmptyResult="true" language="{}" speechTimeout="auto" timeout="{timeout}""#,
            escape(&self.webhook_url),
            reply.session.turn_count,
            escape(language),
        );
        let dtmf = question.and_then(|question| question.dtmf);
        let n_choices = match (reply.session.offered.len(), question) {
            (0, Some(question)) if question.kind == ResponseType::Options => question.options.len(),
            (offered, _) => offered,
        };
        match dtmf {
            Some(dtmf) => {
                if let Some(digits) = dtmf.max_digits {
                    let _ = write!(document, r#" numDigits="{digits}""#);
                }
                let key = dtmf.terminator.unwrap_or('#');
                let _ = write!(document, r#" finishOnKey="{}""#, escape(key.encode_utf8(&mut [0; 4])));
            }
            // One key picks one of up to nine options.
            None if (1..=9).contains(&n_choices) => document.push_str(r##" numDigits="1" finishOnKey="#""##),
            None => document.push_str(r##" finishOnKey="#""##),
        }
        let hints = hints(reply.engine, reply.session, question);
        if !hints.is_empty() {
            let _ = write!(document, r#" hints="{}""#, escape(&hints));
        }
        document.push('>');
        document.push_str(said);
        document.push_str("</Gather>");
    }

    /// The transfer verb for a call: `None` when the assistant names no target for calls.
    fn transfer(&self, target: &VoiceTransfer, request: &TransferRequest, reply: &Reply<'_>) -> Option<String> {
        let mut action = format!("{}/dial?t={}", self.webhook_url, reply.session.turn_count);
        if request.reason == TransferReason::Planned {
            for (name, value) in [("a", &request.action), ("s", &request.step)] {
                if let Some(value) = value {
                    action.push('&');
                    action.push_str(name);
                    action.push('=');
                    action.extend(form_urlencoded::byte_serialize(value.as_bytes()));
                }
            }
        } else {
            action.push_str("&r=fallback");
        }
        let action = escape(&action);
        if let Some(sip) = &target.sip {
            let uri = sip_uri(sip, target, reply.session_id, &self.history_link);
            return Some(format!(
                r#"<Dial action="{action}" method="POST" timeout="{DIAL_TIMEOUT_SECS}"><Sip>{}</Sip></Dial>"#,
                escape(&uri)
            ));
        }
        if let Some(number) = &target.number {
            return Some(format!(
                r#"<Dial action="{action}" method="POST" timeout="{DIAL_TIMEOUT_SECS}"><Number>{}</Number></Dial>"#,
                escape(number)
            ));
        }
        let workflow = target.flex_workflow.as_ref()?;
        let task = serde_json::json!({
            "baton_session": reply.session_id,
            "history_link": self.history_link,
            "reason": request.reason.as_str(),
            "queue": request.queue,
            "message_to_agent": request.message_to_agent,
            "action": request.action,
            "step": request.step,
            "caller": reply.session.user_id,
        });
        Some(format!(
            r#"<Enqueue workflowSid="{}" action="{action}" method="POST"><Task>{}</Task></Enqueue>"#,
            escape(workflow),
            escape(&task.to_string())
        ))
    }
}

/// A SIP URI with its headers: `User-to-User` carries the session id (the key to the brief in the
/// console and the agent API), `X-Baton-History` the history link, then the author's headers.
fn sip_uri(sip: &str, target: &VoiceTransfer, session_id: &str, history_link: &str) -> String {
    let mut headers: Vec<(String, String)> = vec![
        (
            "User-to-User".to_owned(),
            format!("{};encoding=hex", hex(session_id.as_bytes())),
        ),
        ("X-Baton-History".to_owned(), history_link.to_owned()),
    ];
    for (name, value) in &target.headers {
        headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    let mut uri = sip.to_owned();
    let mut separator = match uri.contains('?') {
        true => '&',
        false => '?',
    };
    for (name, value) in headers {
        uri.push(separator);
        separator = '&';
        uri.push_str(&name);
        uri.push('=');
        uri.push_str(&percent(&value));
    }
    uri
}

/// The document for one turn of the runtime outside a server (`baton preview --voice`): what
/// `effects` say and do for `session` after them, with callbacks to `webhook_url`.
pub fn document_for(
    engine: &Engine,
    session_id: &str,
    session: &Session,
    effects: &[Effect],
    after_failed_transfer: Option<VoiceTransfer>,
) -> String {
    let render = VoiceRender {
        webhook_url: "https://baton.invalid/v1/voice/preview".to_owned(),
        history_link: "https://baton.invalid/v1/history/preview".to_owned(),
        after_failed_transfer,
    };
    let reply = Reply {
        engine,
        session_id,
        session,
        agent_lines: &[],
        effects,
        debug: &baton_dialog::TurnDebug::default(),
        intents: &[],
        after: &[],
    };
    render.document(&reply)
}

/// What keys pressed on a phone mean for `session` (an option's value, or the digits).
pub fn keypad(engine: &Engine, session: &Session, digits: &str) -> String {
    crate::conversation::keypad_answer(engine, session, digits)
}

/// What a TwiML document of [`VoiceRender`] does, one line per verb, as the preview prints
/// it: `[Say] …`, `[Pause 1s]`, `[Gather speech,dtmf]` (after what it says), `[Dial sip:…]`,
/// `[Dial +1…]`, `[Enqueue WW…]`, `[Hangup]`. A reader of Baton's own documents, not of any XML.
pub fn actions(document: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = document;
    let mut gather = String::new();
    let mut dial_action = false;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        let after = &rest[open + close + 1..];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
            .collect();
        let text_until_close = |element: &str| -> (String, usize) {
            let end = after.find(&format!("</{element}>")).unwrap_or(after.len());
            (unescape(&after[..end]), end)
        };
        rest = after;
        match name.as_str() {
            "Say" => {
                let (text, end) = text_until_close("Say");
                lines.push(format!("[Say] {text}"));
                rest = &after[end..];
            }
            "Pause" => lines.push(format!("[Pause {}s]", attribute(tag, "length").unwrap_or_default())),
            "Gather" => {
                let input = attribute(tag, "input").unwrap_or_default().replace(' ', ",");
                gather = format!("[Gather {input}");
                if let Some(digits) = attribute(tag, "numDigits") {
                    gather.push_str(&format!(" numDigits={digits}"));
                }
                gather.push(']');
            }
            "/Gather" => lines.push(std::mem::take(&mut gather)),
            "Dial" => dial_action = true,
            "Sip" | "Number" => {
                let element = name.clone();
                let (target, end) = text_until_close(&element);
                let target = target.split('?').next().unwrap_or_default().to_owned();
                if dial_action {
                    lines.push(format!("[Dial {target}]"));
                }
                rest = &after[end..];
            }
            "Enqueue" => lines.push(format!(
                "[Enqueue {}]",
                attribute(tag, "workflowSid").unwrap_or_default()
            )),
            "Hangup/" | "Hangup" => lines.push("[Hangup]".to_owned()),
            _ => {}
        }
    }
    lines
}

/// An attribute's value in a start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + end]))
}

/// The inverse of [`escape`].
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Percent-encoding of everything but the unreserved characters (RFC 3986), for a SIP URI's
/// header values.
fn percent(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(byte)),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The attributes every `<Say>` carries.
struct SayAttributes<'a> {
    language: &'a str,
    voice: Option<&'a str>,
}

impl SayAttributes<'_> {
    /// `<Say>` of a text as it should be heard.
    fn push(&self, out: &mut String, text: &str) {
        let spoken = speakable(text);
        if spoken.trim().is_empty() {
            return;
        }
        out.push_str("<Say");
        if let Some(voice) = self.voice {
            let _ = write!(out, r#" voice="{}""#, escape(voice));
        }
        let _ = write!(
            out,
            r#" language="{}">{}</Say>"#,
            escape(self.language),
            escape(&spoken)
        );
    }

    fn message(&self, out: &mut String, message: &Message) {
        match message {
            Message::Text { text } => self.push(out, text),
            Message::Options { title, choices } => {
                let mut text = title.trim().to_owned();
                for (index, choice) in choices.iter().enumerate() {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    let _ = write!(text, "Say {} or press {}.", choice.label, index + 1);
                }
                self.push(out, &text);
            }
            Message::Link { label, .. } => self.push(out, label),
            Message::Pause { milliseconds } => {
                let seconds = milliseconds.div_ceil(1000).max(1);
                let _ = write!(out, r#"<Pause length="{seconds}"/>"#);
            }
        }
    }
}

/// Speech hints: the options the caller can say now, then the actions' titles and examples.
fn hints(engine: &Engine, session: &Session, question: Option<&Question>) -> String {
    let mut phrases: Vec<&str> = session.offered.iter().map(String::as_str).collect();
    if let Some(question) = question {
        for option in &question.options {
            phrases.push(option.label());
            phrases.extend(option.synonyms().iter().map(String::as_str));
        }
    }
    if question.is_none() {
        for action in &engine.assistant().actions {
            phrases.push(action.title());
        }
        for action in &engine.assistant().actions {
            phrases.extend(action.examples.iter().map(String::as_str));
        }
    }
    let mut hints = String::new();
    let mut taken: Vec<&str> = Vec::new();
    for phrase in phrases {
        let phrase = phrase.trim();
        // A comma would split the hint; an underscore id is no phrase anyone says.
        let usable = !phrase.is_empty() && phrase.chars().count() <= MAX_HINT_CHARS && !phrase.contains([',', '_']);
        if !usable || taken.iter().any(|seen| seen.eq_ignore_ascii_case(phrase)) {
            continue;
        }
        if !hints.is_empty() {
            hints.push_str(", ");
        }
        hints.push_str(phrase);
        taken.push(phrase);
        if taken.len() == MAX_HINTS {
            break;
        }
    }
    hints
}

/// A text as it should be heard: a Markdown link by its label, a bare URL by its host, and
/// emphasis, code and heading marks left out.
pub fn speakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        // `[label](url)`: the label.
        if c == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close + 2..].find(')')
            && !rest[1..close].contains(['[', ']'])
        {
            out.push_str(&rest[1..close]);
            rest = &rest[close + 2 + end + 1..];
            continue;
        }
        if (rest.starts_with("https://") || rest.starts_with("http://"))
            && out.chars().next_back().is_none_or(|before| !before.is_alphanumeric())
        {
            let after_scheme = &rest[rest.find("//").map_or(0, |at| at + 2)..];
            let end = after_scheme
                .find(|c: char| c.is_whitespace() || c == ')' || c == '>')
                .unwrap_or(after_scheme.len());
            let url = after_scheme[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
            let host = url.split(['/', '?', '#']).next().unwrap_or(url);
            out.push_str(host.strip_prefix("www.").unwrap_or(host));
            rest = &after_scheme[url.len()..];
            continue;
        }
        match c {
            '*' | '`' | '~' => {}
            // `_` marks emphasis only at a word's edge (`snake_case` stays).
            '_' => {
                let before = out.chars().next_back().is_some_and(char::is_alphanumeric);
                let after = rest[1..].chars().next().is_some_and(char::is_alphanumeric);
                if before && after {
                    out.push('_');
                }
            }
            '#' if out.is_empty() || out.ends_with('\n') => {
                rest = rest.trim_start_matches('#').trim_start_matches(' ');
                continue;
            }
            other => out.push(other),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Text as XML character data or an attribute value: the five special characters escaped and
/// characters XML 1.0 does not allow (most control characters) left out.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_special_characters_and_drops_what_xml_forbids() {
        assert_eq!(
            escape(r#"<Say>"Tom" & 'Jerry'</Say>"#),
            "&lt;Say&gt;&quot;Tom&quot; &amp; &apos;Jerry&apos;&lt;/Say&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\nd\u{FFFF}"), "abc\nd");
        assert_eq!(escape("café ☎"), "café ☎");
    }

    #[test]
    fn links_and_formatting_are_spoken_sensibly() {
        let cases = [
            ("See [our rates](https://bank.example/rates).", "See our rates."),
            (
                "Go to https://www.bank.example/help/cards now",
                "Go to bank.example now",
            ),
            ("**Important**: use `PIN` _only_ once", "Important: use PIN only once"),
            ("## Opening hours\nNine to five", "Opening hours\nNine to five"),
            ("snake_case and 3 * 4", "snake_case and 3  4"),
            ("[not a link", "[not a link"),
        ];
        for (text, spoken) in cases {
            assert_eq!(speakable(text), spoken, "{text}");
        }
    }

    #[test]
    fn a_sip_uri_carries_the_session_and_the_history_link() {
        let mut target = VoiceTransfer {
            sip: Some("sip:support@pbx.example.com".to_owned()),
            ..VoiceTransfer::default()
        };
        target.headers.insert("X-Team".to_owned(), "cards & loans".to_owned());
        let uri = sip_uri(
            "sip:support@pbx.example.com",
            &target,
            "CA1",
            "https://baton.example/v1/history/x",
        );
        assert_eq!(
            uri,
            "sip:support@pbx.example.com?User-to-User=434131%3Bencoding%3Dhex\
             &X-Baton-History=https%3A%2F%2Fbaton.example%2Fv1%2Fhistory%2Fx&X-Team=cards%20%26%20loans"
        );
    }
}
