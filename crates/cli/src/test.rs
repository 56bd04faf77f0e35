//! `baton test DIR`: runs the conversation tests in `DIR/tests/` and reports each failure as a diff.
//!
//! A test drives the same [`Conversation`] as the preview and renders the same transcript, so what
//! an author sees in the preview is what a test checks. For a failing test the runner prints the
//! place of each failing expectation and a unified diff between the transcript the test expects
//! and the one the assistant produced; expectations that hold add nothing to either side.

use std::path::{Path, PathBuf};

use chrono::Utc;

use baton_dialog::Engine;

use crate::conversation::{self, Conversation, Exchange};
use crate::test_file::{self, Expect, Expectation, TestFile, TransferExpectation};
use crate::transcript::{self, LineKind, Style};
use crate::yaml::Position;

/// Arguments of `baton test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The assistant folder; its tests are `tests/*.yaml` (or `.yml`, `.json`).
    pub dir: PathBuf,
    /// Run only the test files whose file name or `name:` contains this text.
    #[arg(long)]
    pub filter: Option<String>,
}

/// Runs the tests; the exit code is 0 when every test passed.
pub fn run(args: TestArgs) -> anyhow::Result<i32> {
    let style = Style::detect();
    let Some(assistant) = crate::check::load_reporting(&args.dir) else {
        eprintln!("cannot run the tests: the assistant has errors");
        return Ok(1);
    };
    let files = test_files(&args.dir.join("tests"))?;
    if files.is_empty() {
        eprintln!("no test files in {}", args.dir.join("tests").display());
        return Ok(1);
    }
    let engine = Engine::new(assistant);
    let (mut passed, mut failed) = (0, 0);
    for path in files {
        let test = match test_file::read(&path) {
            Ok(test) => test,
            Err(problems) => {
                println!("{} {}", style.red("FAIL"), path.display());
                for problem in problems {
                    println!("  {problem}");
                }
                failed += 1;
                continue;
            }
        };
        if let Some(filter) = &args.filter
            && !test.name.contains(filter.as_str())
            && !path.to_string_lossy().contains(filter.as_str())
        {
            continue;
        }
        // A panic in the runtime is a failed test, not the end of the run.
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_test(&engine, &test)))
            .unwrap_or_else(|_| Report {
                failures: vec![Failure {
                    position: Position { line: 1, column: 1 },
                    message: "the runtime panicked during this conversation (see the message above)".to_owned(),
                }],
                ..Report::default()
            });
        let path = &test.path;
        if report.failures.is_empty() {
            println!("{} {} ({})", style.green("ok  "), test.name, path.display());
            passed += 1;
            continue;
        }
        failed += 1;
        println!("{} {} ({})", style.red("FAIL"), test.name, path.display());
        for failure in &report.failures {
            println!("  {}:{}: {}", path.display(), failure.position, failure.message);
        }
        print!("{}", indent(&diff(&report.expected, &report.actual, style)));
    }
    println!();
    let summary = format!("{passed} passed, {failed} failed");
    match failed {
        0 => println!("{}", style.green(&summary)),
        _ => println!("{}", style.red(&summary)),
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

fn test_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
        let is_test = path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| matches!(extension, "yaml" | "yml" | "json"));
        if is_test && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A failing expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub position: Position,
    pub message: String,
}

/// The result of one test: the failures, and both transcripts for the diff.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub failures: Vec<Failure>,
    pub expected: Vec<String>,
    pub actual: Vec<String>,
}

/// Runs one test file's conversation.
pub fn run_test(engine: &Engine, test: &TestFile) -> Report {
    let mut report = Report::default();
    let mut variables = Vec::new();
    for (name, node) in &test.variables {
        match test_file::variable_value(engine.assistant(), name, node) {
            Ok(value) => variables.push((name.clone(), value)),
            Err(message) => report.failures.push(Failure {
                position: node.position,
                message,
            }),
        }
    }
    if !report.failures.is_empty() {
        return report;
    }
    let options = conversation::Options {
        agents: test.agents,
        channel: test.channel.clone(),
        variables,
        debug: false,
    };
    let mut conversation = Conversation::new(engine.clone(), options);
    let now = test.now.unwrap_or_else(Utc::now);
    let greeting = conversation.start(now);
    let mut turns = test.turns.iter().peekable();
    let checks_greeting = turns.peek().is_some_and(|turn| turn.customer.is_none());
    let greeting_expectations: &[Expectation] = match checks_greeting {
        true => &turns.next().expect("peeked above").expectations,
        false => &[],
    };
    check(&greeting, greeting_expectations, &mut report);
    for turn in turns {
        let text = turn.customer.as_deref().unwrap_or_default();
        let exchange = conversation.said(text, now);
        check(&exchange, &turn.expectations, &mut report);
    }
    report
}

/// Checks one exchange and appends both sides of its transcript to the report.
fn check(exchange: &Exchange, expectations: &[Expectation], report: &mut Report) {
    let lines = transcript::lines(&exchange.entries);
    let actual_assistant: Vec<&str> = lines
        .iter()
        .filter(|line| line.kind == LineKind::Assistant)
        .map(|line| line.content.trim())
        .collect();
    let mut actual: Vec<String> = lines.iter().map(|line| line.text.clone()).collect();
    let mut expected = actual.clone();
    let after_customer = usize::from(matches!(lines.first(), Some(line) if line.kind == LineKind::Customer));
    let mut fail = |position: Position, message: String| report.failures.push(Failure { position, message });

    for expectation in expectations {
        let position = expectation.position;
        match &expectation.expect {
            Expect::Assistant(wanted) => {
                let wanted: Vec<&str> = wanted.iter().map(|line| line.trim()).collect();
                if wanted == actual_assistant {
                    continue;
                }
                fail(position, "the assistant said something else (see the diff)".to_owned());
                expected = replace_assistant_lines(&expected, &lines, &wanted, after_customer);
            }
            Expect::AssistantContains(text) => {
                if actual_assistant.iter().any(|line| line.contains(text.as_str())) {
                    continue;
                }
                fail(position, format!("no assistant line contains {text:?}"));
                let at = last_index(&lines, LineKind::Assistant).map_or(expected.len(), |index| index + 1);
                expected.insert(at.min(expected.len()), format!("assistant: …{text}…"));
            }
            Expect::Action(id) => {
                let matched = exchange.debug.matched.as_ref().map(|(action, _)| action.as_str());
                if exchange.actions_started.iter().any(|started| started == id) || matched == Some(id) {
                    continue;
                }
                let ran = match exchange.actions_started.is_empty() {
                    true => matched.unwrap_or("none").to_owned(),
                    false => exchange.actions_started.join(", "),
                };
                fail(position, format!("expected action `{id}`, but the turn ran: {ran}"));
                expected.insert(after_customer, format!("[action] {id}"));
                actual.insert(after_customer, format!("[action] {ran}"));
            }
            Expect::Transfer(wanted) => {
                let found = exchange.transfer();
                let Some(line) = transfer_mismatch(wanted, found) else {
                    continue;
                };
                let message = match found {
                    Some(request) => format!(
                        "the transfer differs: got {}",
                        transcript::transfer_line(request).trim_start_matches("[Connect to an agent] ")
                    ),
                    None => "expected a transfer, but there was none".to_owned(),
                };
                fail(position, message);
                match expected
                    .iter()
                    .position(|text| text.starts_with("[Connect to an agent]"))
                {
                    Some(index) => expected[index] = line,
                    None => expected.push(line),
                }
            }
            Expect::NoTransfer => {
                let Some(request) = exchange.transfer() else {
                    continue;
                };
                fail(
                    position,
                    format!(
                        "expected no transfer, but the assistant transferred (reason={})",
                        request.reason.as_str()
                    ),
                );
                expected.retain(|text| !text.starts_with("[Connect to an agent]") && !is_desk_line(text));
            }
        }
    }
    report.expected.extend(expected);
    report.actual.extend(actual);
}

fn is_desk_line(text: &str) -> bool {
    text == "[Agent ended the chat]" || text == "[No agent joined in time]"
}

fn last_index(lines: &[transcript::Line], kind: LineKind) -> Option<usize> {
    lines.iter().rposition(|line| line.kind == kind)
}

/// The expected side of a turn whose assistant lines differ: the actual lines with the assistant's replaced.
fn replace_assistant_lines(
    current: &[String],
    lines: &[transcript::Line],
    wanted: &[&str],
    after_customer: usize,
) -> Vec<String> {
    let render = |slot: Option<&transcript::Line>, content: &str| match slot {
        Some(line) if line.content.trim() == content => line.text.clone(),
        _ if is_option_line(content) => format!("  {content}"),
        _ => format!("assistant: {content}"),
    };
    let mut wanted = wanted.iter();
    let mut result = Vec::new();
    let last_assistant = last_index(lines, LineKind::Assistant);
    for (index, text) in current.iter().enumerate() {
        let line = lines.get(index);
        if line.is_some_and(|line| line.kind == LineKind::Assistant && line.text == *text) {
            if let Some(content) = wanted.next() {
                result.push(render(line, content));
            }
        } else {
            result.push(text.clone());
        }
        let rest_goes_here = match last_assistant {
            Some(last) => index == last,
            None => after_customer == 1 && index == 0,
        };
        if rest_goes_here {
            result.extend(wanted.by_ref().map(|content| render(None, content)));
        }
    }
    result.extend(wanted.map(|content| render(None, content)));
    result
}

/// `1. Savings`: how an option button reads in an `assistant:` expectation.
fn is_option_line(content: &str) -> bool {
    let digits = content.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && content[digits..].starts_with(". ")
}

/// The expected transfer line when the transfer differs from what the test wants; `None` when it matches.
fn transfer_mismatch(wanted: &TransferExpectation, found: Option<&baton_dialog::TransferRequest>) -> Option<String> {
    let reason = found.map(|request| request.reason.as_str());
    let queue = found.and_then(|request| request.queue.as_deref());
    let message = found.map(|request| request.message_to_agent.as_str());
    let reason_ok = wanted.reason.is_none() || wanted.reason.as_deref() == reason;
    let queue_ok = wanted.queue.is_none() || wanted.queue.as_deref() == queue.or(Some("default"));
    let message_ok = wanted.message.is_none() || wanted.message.as_deref() == message;
    let contains_ok = match (&wanted.message_contains, message) {
        (None, _) => true,
        (Some(part), Some(message)) => message.contains(part.as_str()),
        (Some(_), None) => false,
    };
    if found.is_some() && reason_ok && queue_ok && message_ok && contains_ok {
        return None;
    }
    let expected_message = match (&wanted.message, &wanted.message_contains) {
        (Some(message), _) => message.clone(),
        (None, Some(part)) if !contains_ok => format!("…{part}…"),
        _ => message.unwrap_or("?").to_owned(),
    };
    let expected_reason = wanted.reason.as_deref().or(reason).unwrap_or("?");
    let expected_queue = wanted.queue.as_deref().or(queue);
    Some(transcript::transfer_line_parts(
        expected_reason,
        expected_queue,
        &expected_message,
    ))
}

/// A unified diff, `-` for what the test expects and `+` for what the assistant did.
pub fn diff(expected: &[String], actual: &[String], style: Style) -> String {
    let expected = expected.join("\n") + "\n";
    let actual = actual.join("\n") + "\n";
    let diff = similar::TextDiff::from_lines(&expected, &actual);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string();
    if !style.colour {
        return text;
    }
    text.lines()
        .map(|line| match line.chars().next() {
            Some('-') if !line.starts_with("---") => style.red(line),
            Some('+') if !line.starts_with("+++") => style.green(line),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Agents, Entry};
    use baton_dialog::{Message, TransferReason, TransferRequest};

    #[test]
    fn option_lines_are_recognised() {
        assert!(is_option_line("1. Savings"));
        assert!(is_option_line("12. More"));
        assert!(!is_option_line("Savings"));
        assert!(!is_option_line("1.5 percent"));
    }

    fn exchange(entries: Vec<Entry>, started: &[&str]) -> Exchange {
        Exchange {
            entries,
            actions_started: started.iter().map(|action| (*action).to_owned()).collect(),
            debug: Default::default(),
        }
    }

    fn text(text: &str) -> Entry {
        Entry::Say(Message::Text { text: text.to_owned() })
    }

    fn at(line: usize) -> Position {
        Position { line, column: 5 }
    }

    fn expect(line: usize, expect: Expect) -> Expectation {
        Expectation {
            position: at(line),
            expect,
        }
    }

    fn transfer() -> Entry {
        Entry::Transfer {
            request: TransferRequest {
                reason: TransferReason::Planned,
                queue: Some("billing".into()),
                message_to_agent: "Pay".into(),
                online_response: "Connecting".into(),
                offline_response: "Offline".into(),
                action: None,
                step: None,
                failed_inputs: Vec::new(),
            },
            response: "Connecting".into(),
        }
    }

    #[test]
    fn passing_expectations_leave_both_sides_equal() {
        let turn = exchange(
            vec![
                Entry::Customer("pay".into()),
                text("Billing."),
                transfer(),
                Entry::TransferEnded(Agents::Online),
            ],
            &["pay_bill"],
        );
        let expectations = [
            expect(2, Expect::Assistant(vec!["Billing.".into(), " Connecting ".into()])),
            expect(3, Expect::AssistantContains("Bill".into())),
            expect(4, Expect::Action("pay_bill".into())),
            expect(
                5,
                Expect::Transfer(TransferExpectation {
                    reason: Some("planned".into()),
                    queue: Some("billing".into()),
                    message: Some("Pay".into()),
                    message_contains: Some("Pa".into()),
                }),
            ),
        ];
        let mut report = Report::default();
        check(&turn, &expectations, &mut report);
        assert_eq!(report.failures, []);
        assert_eq!(report.expected, report.actual);
    }

    #[test]
    fn failing_expectations_show_in_the_expected_side() {
        let turn = exchange(
            vec![
                Entry::Customer("pay".into()),
                text("Billing."),
                transfer(),
                Entry::TransferEnded(Agents::Online),
            ],
            &["pay_bill"],
        );
        let expectations = [
            expect(
                2,
                Expect::Assistant(vec!["Payments.".into(), "Connecting".into(), "Bye".into()]),
            ),
            expect(3, Expect::Action("hours".into())),
            expect(4, Expect::NoTransfer),
        ];
        let mut report = Report::default();
        check(&turn, &expectations, &mut report);
        let lines: Vec<usize> = report.failures.iter().map(|failure| failure.position.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert_eq!(
            report.expected,
            [
                "customer: pay",
                "[action] hours",
                "assistant: Payments.",
                "assistant: Connecting",
                "assistant: Bye"
            ]
        );
        assert_eq!(
            report.actual,
            [
                "customer: pay",
                "[action] pay_bill",
                "assistant: Billing.",
                "[Connect to an agent] reason=planned queue=billing message=\"Pay\"",
                "assistant: Connecting",
                "[Agent ended the chat]",
            ]
        );
    }

    #[test]
    fn a_missing_transfer_and_missing_lines_are_added_to_the_expected_side() {
        let turn = exchange(vec![Entry::Customer("hi".into())], &[]);
        let expectations = [
            expect(2, Expect::Assistant(vec!["Hello".into()])),
            expect(
                3,
                Expect::Transfer(TransferExpectation {
                    reason: Some("agent_requested".into()),
                    ..TransferExpectation::default()
                }),
            ),
        ];
        let mut report = Report::default();
        check(&turn, &expectations, &mut report);
        assert_eq!(report.failures.len(), 2);
        assert_eq!(
            report.expected,
            [
                "customer: hi",
                "assistant: Hello",
                "[Connect to an agent] reason=agent_requested queue=default message=\"?\"",
            ]
        );
        assert_eq!(report.actual, ["customer: hi"]);
    }

    #[test]
    fn the_diff_shows_expected_and_actual() {
        let style = Style { colour: false };
        let text = diff(
            &["customer: hi".to_owned(), "assistant: Hello".to_owned()],
            &["customer: hi".to_owned(), "assistant: Welcome".to_owned()],
            style,
        );
        assert!(text.contains("--- expected\n+++ actual\n"), "{text}");
        assert!(text.contains("-assistant: Hello\n+assistant: Welcome\n"), "{text}");
    }
}
