//! The one transcript format, shared by `baton preview` and `baton test` (documented in docs/cli.md).
//!
//! ```text
//! customer: I want to pay my bill
//! assistant: Bill payments are handled by our billing team.
//! [Connect to an agent] reason=planned queue=billing message="Customer wants to pay a bill."
//! assistant: Let's send you to an available agent
//! [Agent ended the chat]
//! ```
//!
//! Option buttons are `assistant: <title>` followed by `  1. <label>` lines; a link is
//! `assistant: <label> <<url>>`; pauses are not shown.

use baton_dialog::Message;

use crate::conversation::{Agents, Entry};

/// What kind of line it is; conversation tests compare the [`LineKind::Assistant`] lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Customer,
    /// Something the customer sees from the assistant: a message, an option, a link, a transfer response.
    Assistant,
    /// `[Connect to an agent] …`
    Transfer,
    /// `[Agent ended the chat]`, `[No agent joined in time]`
    Desk,
    Debug,
}

/// One rendered line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    /// The line as printed, e.g. `assistant: Hello` or `  1. Savings`.
    pub text: String,
    /// What a test's `assistant:` lines are compared with: the text without `assistant: ` and indentation.
    pub content: String,
}

impl Line {
    fn new(kind: LineKind, text: String) -> Line {
        let content = match kind {
            LineKind::Assistant => text.strip_prefix("assistant: ").unwrap_or(text.trim()).to_owned(),
            _ => text.clone(),
        };
        Line { kind, text, content }
    }
}

impl Line {
    /// A line of the preview's own (shown dimmed), not part of the conversation.
    pub fn note(text: String) -> Line {
        Line::new(LineKind::Debug, text)
    }
}

/// Renders entries as lines.
pub fn lines(entries: &[Entry]) -> Vec<Line> {
    let mut lines = Vec::new();
    for entry in entries {
        match entry {
            Entry::Customer(text) => lines.push(Line::new(LineKind::Customer, format!("customer: {text}"))),
            Entry::Say(message) => say(message, &mut lines),
            Entry::Transfer { request, response } => {
                lines.push(Line::new(LineKind::Transfer, transfer_line(request)));
                if !response.is_empty() {
                    lines.push(Line::new(LineKind::Assistant, format!("assistant: {response}")));
                }
            }
            Entry::TransferEnded(Agents::Online) => {
                lines.push(Line::new(LineKind::Desk, "[Agent ended the chat]".to_owned()));
            }
            Entry::TransferEnded(Agents::Offline) => {
                lines.push(Line::new(LineKind::Desk, "[No agent joined in time]".to_owned()));
            }
            Entry::Debug(text) => lines.push(Line::new(LineKind::Debug, format!("[debug] {text}"))),
        }
    }
    lines
}

fn say(message: &Message, lines: &mut Vec<Line>) {
    match message {
        Message::Text { text } => {
            // A message with several lines stays one message; each line gets the prefix so the
            // transcript can be read line by line.
            for part in text.split('\n') {
                lines.push(Line::new(LineKind::Assistant, format!("assistant: {part}")));
            }
        }
        Message::Options { title, choices } => {
            if !title.is_empty() {
                lines.push(Line::new(LineKind::Assistant, format!("assistant: {title}")));
            }
            for (index, choice) in choices.iter().enumerate() {
                lines.push(Line::new(
                    LineKind::Assistant,
                    format!("  {}. {}", index + 1, choice.label),
                ));
            }
        }
        Message::Link { label, url } => {
            lines.push(Line::new(LineKind::Assistant, format!("assistant: {label} <{url}>")));
        }
        Message::Pause { .. } => {}
    }
}

/// `[Connect to an agent] reason=planned queue=billing message="…"`
pub fn transfer_line(request: &baton_dialog::TransferRequest) -> String {
    transfer_line_parts(
        request.reason.as_str(),
        request.queue.as_deref(),
        &request.message_to_agent,
    )
}

/// The transfer line from its parts; a missing queue shows as `default` (the desk's default queue).
pub fn transfer_line_parts(reason: &str, queue: Option<&str>, message: &str) -> String {
    format!(
        "[Connect to an agent] reason={reason} queue={} message={}",
        queue.unwrap_or("default"),
        quote(message)
    )
}

fn quote(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// Terminal colours, used only when stdout is a terminal and `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    /// Decides from the environment: colours on a terminal unless `NO_COLOR` is set (https://no-color.org).
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Style {
            colour: !no_color && std::io::stdout().is_terminal(),
        }
    }

    pub fn paint(&self, line: &Line) -> String {
        if !self.colour {
            return line.text.clone();
        }
        let code = match line.kind {
            LineKind::Customer => "1",
            LineKind::Assistant => "36",
            LineKind::Transfer => "1;33",
            LineKind::Desk => "33",
            LineKind::Debug => "2",
        };
        format!("\x1b[{code}m{}\x1b[0m", line.text)
    }

    pub fn red(&self, text: &str) -> String {
        self.wrap("31", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.wrap("32", text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }

    fn wrap(&self, code: &str, text: &str) -> String {
        match self.colour {
            true => format!("\x1b[{code}m{text}\x1b[0m"),
            false => text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_dialog::{Choice, TransferReason, TransferRequest};

    #[test]
    fn renders_options_links_and_transfers() {
        let entries = vec![
            Entry::Customer("hi".into()),
            Entry::Say(Message::Options {
                title: "Pick one:".into(),
                choices: vec![Choice {
                    label: "Savings".into(),
                    value: "savings".into(),
                }],
            }),
            Entry::Say(Message::Link {
                label: "Branches".into(),
                url: "https://x.example".into(),
            }),
            Entry::Say(Message::Pause { milliseconds: 300 }),
            Entry::Transfer {
                request: TransferRequest {
                    reason: TransferReason::Planned,
                    queue: Some("billing".into()),
                    message_to_agent: "Say \"hi\"".into(),
                    online_response: "on".into(),
                    offline_response: "off".into(),
                    action: None,
                    step: None,
                    failed_inputs: Vec::new(),
                },
                response: "on".into(),
            },
            Entry::TransferEnded(Agents::Online),
        ];
        let text: Vec<String> = lines(&entries).into_iter().map(|line| line.text).collect();
        assert_eq!(
            text,
            [
                "customer: hi",
                "assistant: Pick one:",
                "  1. Savings",
                "assistant: Branches <https://x.example>",
                "[Connect to an agent] reason=planned queue=billing message=\"Say \\\"hi\\\"\"",
                "assistant: on",
                "[Agent ended the chat]",
            ]
        );
        let contents: Vec<String> = lines(&entries).into_iter().map(|line| line.content).collect();
        assert_eq!(contents[2], "1. Savings");
    }
}
