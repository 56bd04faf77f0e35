//! Reading conversation test files (`tests/*.yaml` or `.json` in an assistant folder); format in docs/testing.md.
//!
//! Every problem in a file is collected with its line and column, so an author fixes them all in one go;
//! a bad file is reported and counted as failed, it never stops the other files from running.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use baton_assistant::{Assistant, Value, VariableType};

use crate::conversation::Agents;
use crate::yaml::{self, Kind, Node, Position};

/// The reasons a transfer can have (`reason:` in a `transfer` expectation).
pub const REASONS: &[&str] = &[
    "planned",
    "no_action_matches",
    "step_validation_failed",
    "agent_requested",
    "danger_word",
    "profanity",
];

/// One parsed test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub path: PathBuf,
    pub name: String,
    pub agents: Agents,
    /// The clock for the whole conversation; the real time when absent.
    pub now: Option<DateTime<Utc>>,
    pub channel: Option<String>,
    /// Initial variable values, converted to the declared type when the test runs.
    pub variables: Vec<(String, Node)>,
    /// The first turn has no customer line when the file checks the greeting.
    pub turns: Vec<Turn>,
}

/// A customer line (none for the greeting) and what must happen in reply.
#[derive(Debug, Clone, Default)]
pub struct Turn {
    pub customer: Option<String>,
    pub expectations: Vec<Expectation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub position: Position,
    pub expect: Expect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Exactly these assistant lines, in order.
    Assistant(Vec<String>),
    /// Some assistant line contains this text.
    AssistantContains(String),
    /// This action started (or was matched) during the turn.
    Action(String),
    Transfer(TransferExpectation),
    NoTransfer,
}

/// The fields given are checked; the others may be anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransferExpectation {
    pub reason: Option<String>,
    pub queue: Option<String>,
    pub message: Option<String>,
    pub message_contains: Option<String>,
}

/// A problem in a test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub position: Position,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: error[bad-test]: {}",
            self.path.display(),
            self.position,
            self.message
        )
    }
}

const FILE_KEYS: &[&str] = &["name", "agents", "now", "channel", "variables", "conversation"];
const TURN_KEYS: &[&str] = &[
    "customer",
    "assistant",
    "assistant_contains",
    "action",
    "transfer",
    "no_transfer",
];
const TRANSFER_KEYS: &[&str] = &["reason", "queue", "message", "message_contains"];

/// Reads and parses one test file.
pub fn read(path: &Path) -> Result<TestFile, Vec<Problem>> {
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(error) => {
            return Err(vec![Problem {
                path: path.to_owned(),
                position: Position { line: 1, column: 1 },
                message: format!("cannot read the file: {error}"),
            }]);
        }
    };
    parse(path, &source)
}

/// Parses a test file's text; `path` names it in problems.
pub fn parse(path: &Path, source: &str) -> Result<TestFile, Vec<Problem>> {
    let mut reader = Reader {
        path: path.to_owned(),
        problems: Vec::new(),
    };
    let root = match yaml::parse(source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            reader.problem(
                Position { line: 1, column: 1 },
                "the file is empty; expected `conversation:`",
            );
            return Err(reader.problems);
        }
        Err(error) => {
            reader.problem(error.position, &format!("not valid YAML or JSON: {}", error.message));
            return Err(reader.problems);
        }
    };
    let test = reader.file(&root);
    match reader.problems.is_empty() {
        true => Ok(test),
        false => Err(reader.problems),
    }
}

struct Reader {
    path: PathBuf,
    problems: Vec<Problem>,
}

impl Reader {
    fn problem(&mut self, position: Position, message: &str) {
        self.problems.push(Problem {
            path: self.path.clone(),
            position,
            message: message.to_owned(),
        });
    }

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> &'n [(Node, Node)] {
        match &node.kind {
            Kind::Mapping(entries) => entries,
            _ => {
                self.problem(
                    node.position,
                    &format!("{what} must be a mapping, found {}", node.describe()),
                );
                &[]
            }
        }
    }

    fn text(&mut self, node: &Node, key: &str) -> Option<String> {
        match node.as_str() {
            Some(text) if !node.is_null() => Some(text.to_owned()),
            _ => {
                self.problem(
                    node.position,
                    &format!("`{key}` must be text, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn unknown_key(&mut self, key: &Node, name: &str, known: &[&str]) {
        let message = format!("unknown key `{name}`; expected one of: {}", known.join(", "));
        self.problem(key.position, &message);
    }

    fn file(&mut self, root: &Node) -> TestFile {
        let default_name = self
            .path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut test = TestFile {
            path: self.path.clone(),
            name: default_name,
            agents: Agents::Online,
            now: None,
            channel: None,
            variables: Vec::new(),
            turns: Vec::new(),
        };
        let mut has_conversation = false;
        for (key, value) in self.mapping(root, "a test file") {
            let Some(name) = key.as_str() else {
                self.problem(key.position, "keys must be text");
                continue;
            };
            match name {
                "name" => test.name = self.text(value, name).unwrap_or(test.name),
                "agents" => match value.as_str().and_then(Agents::parse) {
                    Some(agents) => test.agents = agents,
                    None => self.problem(value.position, "`agents` must be `online` or `offline`"),
                },
                "now" => test.now = self.now(value),
                "channel" => test.channel = self.text(value, name),
                "variables" => {
                    for (variable, initial) in self.mapping(value, "`variables`") {
                        match variable.as_str() {
                            Some(variable) => test.variables.push((variable.to_owned(), initial.clone())),
                            None => self.problem(variable.position, "variable names must be text"),
                        }
                    }
                }
                "conversation" => {
                    has_conversation = true;
                    test.turns = self.conversation(value);
                }
                _ => self.unknown_key(key, name, FILE_KEYS),
            }
        }
        if !has_conversation && matches!(root.kind, Kind::Mapping(_)) {
            self.problem(
                root.position,
                "missing `conversation:`, the list of customer lines and expectations",
            );
        }
        test
    }

    fn now(&mut self, node: &Node) -> Option<DateTime<Utc>> {
        let text = node.as_str().unwrap_or_default();
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Some(time.with_timezone(&Utc));
        }
        // A bare date means noon UTC, which is the same day in every time zone from UTC-11 to UTC+11.
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some(date.and_time(NaiveTime::from_hms_opt(12, 0, 0)?).and_utc());
        }
        self.problem(
            node.position,
            "`now` must be a date (2026-11-25) or a time stamp (2026-11-25T15:00:00Z)",
        );
        None
    }

    fn conversation(&mut self, node: &Node) -> Vec<Turn> {
        let Kind::Sequence(items) = &node.kind else {
            self.problem(
                node.position,
                &format!("`conversation` must be a list, found {}", node.describe()),
            );
            return Vec::new();
        };
        let mut turns: Vec<Turn> = Vec::new();
        for item in items {
            let entries = self.mapping(item, "each item of `conversation`");
            let customer = entries.iter().find(|(key, _)| key.as_str() == Some("customer"));
            if let Some((_, value)) = customer {
                let text = self.customer_text(value);
                turns.push(Turn {
                    customer: Some(text),
                    expectations: Vec::new(),
                });
            } else if turns.is_empty() {
                // Expectations before any customer line check the greeting.
                turns.push(Turn {
                    customer: None,
                    expectations: Vec::new(),
                });
            }
            for (key, value) in entries {
                let Some(name) = key.as_str() else {
                    self.problem(key.position, "keys must be text");
                    continue;
                };
                if name == "customer" {
                    continue;
                }
                if let Some(expect) = self.expectation(key, name, value) {
                    let turn = turns.last_mut().expect("a turn was pushed above");
                    turn.expectations.push(Expectation {
                        position: key.position,
                        expect,
                    });
                }
            }
        }
        if turns.is_empty() {
            self.problem(node.position, "`conversation` is empty");
        }
        turns
    }

    fn customer_text(&mut self, node: &Node) -> String {
        match &node.kind {
            Kind::Scalar { text, .. } => text.clone(),
            _ => {
                self.problem(
                    node.position,
                    &format!("`customer` must be one line of text, found {}", node.describe()),
                );
                String::new()
            }
        }
    }

    fn expectation(&mut self, key: &Node, name: &str, value: &Node) -> Option<Expect> {
        match name {
            "assistant" => self.lines(value, name).map(Expect::Assistant),
            "assistant_contains" => self.text(value, name).map(Expect::AssistantContains),
            "action" => self.text(value, name).map(Expect::Action),
            "transfer" => self.transfer(value).map(Expect::Transfer),
            "no_transfer" => match value.as_str() {
                Some("true") => Some(Expect::NoTransfer),
                Some("false") => None,
                _ => {
                    self.problem(value.position, "`no_transfer` must be true or false");
                    None
                }
            },
            _ => {
                self.unknown_key(key, name, TURN_KEYS);
                None
            }
        }
    }

    fn lines(&mut self, node: &Node, key: &str) -> Option<Vec<String>> {
        match &node.kind {
            Kind::Scalar { .. } => self.text(node, key).map(|line| vec![line]),
            Kind::Sequence(items) => {
                let lines: Vec<Option<String>> = items.iter().map(|item| self.text(item, key)).collect();
                lines.into_iter().collect()
            }
            Kind::Mapping(_) => {
                self.problem(
                    node.position,
                    &format!("`{key}` must be a line or a list of lines, found a mapping"),
                );
                None
            }
        }
    }

    fn transfer(&mut self, node: &Node) -> Option<TransferExpectation> {
        if node.as_str() == Some("true") {
            return Some(TransferExpectation::default());
        }
        let mut expected = TransferExpectation::default();
        let entries = self.mapping(node, "`transfer`");
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                self.problem(key.position, "keys must be text");
                continue;
            };
            match name {
                "reason" => {
                    expected.reason = self.text(value, name);
                    if let Some(reason) = &expected.reason
                        && !REASONS.contains(&reason.as_str())
                    {
                        let message = format!("unknown reason `{reason}`; expected one of: {}", REASONS.join(", "));
                        self.problem(value.position, &message);
                    }
                }
                "queue" => expected.queue = self.text(value, name),
                "message" => expected.message = self.text(value, name),
                "message_contains" => expected.message_contains = self.text(value, name),
                _ => self.unknown_key(key, name, TRANSFER_KEYS),
            }
        }
        Some(expected)
    }
}

/// Converts a test's initial value to the declared type of the variable (text when undeclared).
pub fn variable_value(assistant: &Assistant, name: &str, node: &Node) -> Result<Value, String> {
    let Some(text) = node.as_str() else {
        return Err(format!("the value of `{name}` must be a single value"));
    };
    let quoted = matches!(node.kind, Kind::Scalar { quoted: true, .. });
    if node.is_null() {
        return Ok(Value::Null);
    }
    let declared = assistant.variables.get(name).map(|spec| spec.kind);
    let number = || {
        text.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{name}` is a number; `{text}` is not"))
    };
    let value = match declared {
        Some(VariableType::Text) => Value::Text(text.to_owned()),
        Some(VariableType::Number) => Value::Number(number()?),
        Some(VariableType::Currency) => Value::Money {
            amount: number()?,
            currency: None,
        },
        Some(VariableType::Percentage) => Value::Percent(number()?),
        Some(VariableType::Boolean) => match text {
            "true" | "yes" => Value::Bool(true),
            "false" | "no" => Value::Bool(false),
            _ => return Err(format!("`{name}` is a boolean; use true or false")),
        },
        Some(VariableType::Date) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Value::Date)
            .map_err(|_| format!("`{name}` is a date; write it as 2026-11-25"))?,
        Some(VariableType::Time) => NaiveTime::parse_from_str(text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
            .map(Value::Time)
            .map_err(|_| format!("`{name}` is a time; write it as 14:30"))?,
        Some(VariableType::Any) | None if quoted => Value::Text(text.to_owned()),
        Some(VariableType::Any) | None => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => text
                .parse::<f64>()
                .map_or_else(|_| Value::Text(text.to_owned()), Value::Number),
        },
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(source: &str) -> Vec<String> {
        match parse(Path::new("t.yaml"), source) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn reads_turns_and_expectations() {
        let test = parse(
            Path::new("t.yaml"),
            "name: Pay\nagents: offline\nnow: 2026-11-25\nconversation:\n  - assistant: Hello\n  - customer: pay my bill\n    action: pay_bill\n    transfer: {reason: planned, queue: billing}\n  - no_transfer: true\n",
        )
        .unwrap();
        assert_eq!(test.name, "Pay");
        assert_eq!(test.agents, Agents::Offline);
        assert_eq!(test.turns.len(), 2);
        assert_eq!(test.turns[0].customer, None);
        assert_eq!(test.turns[1].customer.as_deref(), Some("pay my bill"));
        assert_eq!(test.turns[1].expectations.len(), 3);
        assert_eq!(test.turns[1].expectations[0].position, Position { line: 7, column: 5 });
    }

    #[test]
    fn reports_every_problem_with_its_place() {
        let found = problems("conversation:\n  - customer: hi\n    asistant: Hello\n    transfer: {reason: lunch}\n");
        assert_eq!(
            found,
            [
                "t.yaml:3:5: error[bad-test]: unknown key `asistant`; expected one of: customer, assistant, assistant_contains, action, transfer, no_transfer",
                "t.yaml:4:24: error[bad-test]: unknown reason `lunch`; expected one of: planned, no_action_matches, step_validation_failed, agent_requested, danger_word, profanity",
            ]
        );
        assert_eq!(
            problems("name: x\n"),
            ["t.yaml:1:1: error[bad-test]: missing `conversation:`, the list of customer lines and expectations"]
        );
        assert_eq!(problems("- a\n- b\n").len(), 1);
        assert_eq!(problems("conversation: [\n").len(), 1);
        assert_eq!(problems("").len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn any_text_gives_a_test_or_problems_never_a_panic(source in "\\PC*") {
            let _ = parse(Path::new("t.yaml"), &source);
        }

        #[test]
        fn yaml_like_text_gives_a_test_or_problems(source in "[a-z_:\\-\\[\\]{}\"' \n]{0,80}") {
            if let Err(problems) = parse(Path::new("t.yaml"), &source) {
                proptest::prop_assert!(!problems.is_empty());
            }
        }
    }
}
