//! Watson Assistant exports (actions and dialog skills) converted into a Baton assistant folder.
//!
//! [`convert`] is pure: the export's bytes in, the folder's files (path, text) and the report out,
//! or a [`Refusal`] for input that is not an export. Reading the file and writing the folder are
//! `import::run`'s business.
//!
//! The input is checked before it is parsed: its size, how deeply it nests and how long its strings
//! are, so a hostile file is refused with a sentence instead of exhausting the stack or memory.
//! An actions skill is recognised by `workspace.actions` (real exports put `dialog` in `type` for
//! some actions skills), a dialog skill by `dialog_nodes`.

mod actions;
mod derive;
mod dialog;
pub mod expr;
mod model;

use std::fmt;

use serde_json::Value;

use super::report::Report;

/// Exports larger than this are refused (the largest public sample is 130 KB; a big real workspace
/// a few MB).
pub const MAX_EXPORT_BYTES: u64 = 64 * 1024 * 1024;
/// Deeper nesting than this is refused (real exports nest about 15 deep).
pub const MAX_DEPTH: usize = 128;
/// Strings longer than this are refused.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

/// A converted export.
#[derive(Debug)]
pub struct Imported {
    /// Paths relative to the output folder, with their contents.
    pub files: Vec<(String, String)>,
    pub report: Report,
}

/// Why a file is not converted. Each has a stable code.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    TooLarge {
        bytes: u64,
    },
    TooDeep {
        line: usize,
        column: usize,
    },
    StringTooLong {
        line: usize,
        column: usize,
    },
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    NotAnExport(String),
    /// A skill with no action or intent node: Baton needs at least one action.
    NoActions {
        skill: &'static str,
    },
}

impl Refusal {
    /// The stable code, as in `error[import-not-json]`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } => "import-too-large",
            Refusal::TooDeep { .. } => "import-too-deep",
            Refusal::StringTooLong { .. } => "import-string-too-long",
            Refusal::NotJson { .. } => "import-not-json",
            Refusal::NotAnExport(_) => "import-not-an-export",
            Refusal::NoActions { .. } => "import-no-actions",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooLarge { bytes } => write!(
                f,
                "the file is {bytes} bytes; exports over {} MB are refused",
                MAX_EXPORT_BYTES / 1024 / 1024
            ),
            Refusal::TooDeep { line, column } => write!(
                f,
                "{line}:{column}: the JSON nests deeper than {MAX_DEPTH} levels, which no Watson export does"
            ),
            Refusal::StringTooLong { line, column } => write!(
                f,
                "{line}:{column}: a string is longer than {} KB, which no Watson export has",
                MAX_STRING_BYTES / 1024
            ),
            Refusal::NotJson { line, column, message } => {
                write!(f, "{line}:{column}: the file is not JSON: {message}")
            }
            Refusal::NotAnExport(why) => write!(f, "{why}"),
            Refusal::NoActions { skill } => write!(
                f,
                "the {skill} skill has no action that Baton could carry over (an assistant needs at least one), so nothing was written"
            ),
        }
    }
}

/// Converts an export's bytes into an assistant folder and its report.
pub fn convert(bytes: &[u8]) -> Result<Imported, Refusal> {
    // Some editors and downloads put a byte-order mark before the JSON.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let root = parse(bytes)?;
    let not_export = || {
        Refusal::NotAnExport(
            "the file is not a Watson Assistant skill export: it has neither `workspace.actions` (an actions skill) nor `dialog_nodes` (a dialog skill)"
                .to_owned(),
        )
    };
    let Some(object) = root.as_object() else {
        return Err(not_export());
    };
    let (workspace, pointer) = match object.get("workspace") {
        Some(workspace) if workspace.is_object() => (workspace, "/workspace"),
        _ => (&root, ""),
    };
    let imported = match () {
        _ if workspace.get("actions").is_some_and(Value::is_array) => actions::convert(&root, workspace, pointer),
        _ if workspace.get("dialog_nodes").is_some_and(Value::is_array) => dialog::convert(&root, workspace, pointer),
        _ => return Err(not_export()),
    };
    match imported.files.iter().any(|(path, _)| path.starts_with("actions/")) {
        true => Ok(imported),
        false => Err(Refusal::NoActions {
            skill: imported.report.skill,
        }),
    }
}

/// Parses JSON after checking size, nesting and string length without recursion.
fn parse(bytes: &[u8]) -> Result<Value, Refusal> {
    if bytes.len() as u64 > MAX_EXPORT_BYTES {
        return Err(Refusal::TooLarge {
            bytes: bytes.len() as u64,
        });
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'\n' {
            line += 1;
            column = 0;
        } else if byte & 0xC0 != 0x80 {
            column += 1;
        }
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ if index - string_start > MAX_STRING_BYTES => {
                    return Err(Refusal::StringTooLong { line, column });
                }
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                string_start = index;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Refusal::TooDeep { line, column });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    serde_json::from_slice(bytes).map_err(|error| Refusal::NotJson {
        line: error.line(),
        column: error.column(),
        message: error
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_input_is_refused_with_a_code() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_STRING_BYTES + 10));
        for (input, code) in [
            (deep.as_str(), "import-too-deep"),
            (long.as_str(), "import-string-too-long"),
            ("{\"a\": ", "import-not-json"),
            ("\u{feff}", "import-not-json"),
            ("[1, 2]", "import-not-an-export"),
            ("{\"name\": \"x\"}", "import-not-an-export"),
            ("{\"workspace\": {\"actions\": 3}}", "import-not-an-export"),
        ] {
            let refused = convert(input.as_bytes()).expect_err(input.get(..20).unwrap_or(input));
            assert_eq!(refused.code(), code, "{refused}");
        }
    }

    #[test]
    fn minimal_exports_convert_or_say_there_is_nothing_to_carry_over() {
        for input in [
            r#"{"workspace": {"intents": [{"intent": "i", "examples": [{"text": "hi"}]}], "actions": [{"action": "a", "condition": {"intent": "i"}, "steps": []}]}}"#,
            "\u{feff}{\"intents\": [{\"intent\": \"a\", \"examples\": [{\"text\": \"hi\"}]}], \"dialog_nodes\": [{\"conditions\": \"#a\"}]}",
            r##"{"intents": [{"intent": "a", "examples": [{"text": "hi"}]}], "dialog_nodes": [{"conditions": "#a", "output": {"text": "hi"}}]}"##,
        ] {
            let imported = convert(input.as_bytes()).expect(input);
            assert!(
                imported.files.iter().any(|(path, _)| path == "assistant.yaml"),
                "{input}"
            );
        }
        for input in [
            r#"{"workspace": {"actions": []}}"#,
            r#"{"dialog_nodes": []}"#,
            r#"{"workspace": {"actions": [{"action": 1, "steps": "x"}, {}, 3]}}"#,
            r#"{"dialog_nodes": [{}, 1, {"conditions": 3, "output": {"generic": "x"}}]}"#,
        ] {
            let refused = convert(input.as_bytes()).expect_err(input);
            assert_eq!(refused.code(), "import-no-actions", "{input}");
        }
    }
}

/// Random exports, shaped like Watson's with hostile names, texts and conditions: converting one
/// never panics, and the folder it makes loads without errors.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z ]{0,12}",
            Just("${step_1}".to_owned()),
            Just("a ${x.get(0)} b ${".to_owned()),
            Just("<? $x ?> <?> $y".to_owned()),
            Just("yes".to_owned()),
            Just("- [x]: #y".to_owned()),
            Just("'quote\" and \\ back".to_owned()),
            Just("and".to_owned()),
            any::<String>().prop_map(|text| text.chars().take(20).collect()),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("step_1".to_owned()),
            Just("step_2".to_owned()),
            Just("now".to_owned()),
            Just("not".to_owned()),
            Just("a-b".to_owned()),
            Just("9x".to_owned()),
            Just("fallback".to_owned()),
            Just("act".to_owned()),
            "[a-z_.-]{0,6}",
        ]
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            text().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            Just(json!("Agent requested")),
            Just(json!("Failed to confirm topic return")),
        ]
    }

    fn operand() -> impl Strategy<Value = Value> {
        prop_oneof![
            scalar().prop_map(|scalar| json!({ "scalar": scalar })),
            name().prop_map(|name| json!({ "variable": name })),
            (name(), text()).prop_map(|(name, path)| json!({ "variable": name, "variable_path": path })),
            name().prop_map(|name| json!({ "skill_variable": name })),
            Just(json!({ "system_variable": "fallback_reason" })),
            Just(json!({ "system_variable": "no_action_matches_count" })),
            text().prop_map(|source| json!({ "expression": source })),
        ]
    }

    fn condition() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            (
                prop_oneof![
                    Just("eq"),
                    Just("neq"),
                    Just("gt"),
                    Just("lte"),
                    Just("matches"),
                    Just("add")
                ],
                operand(),
                operand()
            )
                .prop_map(|(op, a, b)| json!({ op: [a, b] })),
            operand().prop_map(|a| json!({ "exists": a })),
            Just(json!({ "entity": "danger_words" })),
            Just(json!({ "eq": [1] })),
            Just(json!(3)),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(|items| json!({ "and": items })),
                proptest::collection::vec(inner.clone(), 0..3).prop_map(|items| json!({ "or": items })),
                inner.prop_map(|item| json!({ "not": item })),
            ]
        })
    }

    fn response() -> impl Strategy<Value = Value> {
        prop_oneof![
            (text(), text()).prop_map(|(a, b)| json!({"response_type": "text", "values": [{"text": a}, {"text": b}]})),
            (text(), operand()).prop_map(|(a, b)| json!({"response_type": "text", "values": [{"text_expression": {"concat": [{"scalar": a}, b]}}]})),
            (text(), text()).prop_map(|(a, b)| json!({"response_type": "option", "title": a, "options": [{"label": b, "value": {"input": {"text": a}}}, {"label": ""}]})),
            any::<u64>().prop_map(|time| json!({"response_type": "pause", "time": time})),
            text().prop_map(|url| json!({"response_type": "image", "source": url})),
            text().prop_map(|message| json!({"response_type": "connect_to_agent", "agent_available": {"message": message}})),
            Just(json!({"response_type": "user_defined", "channels": [{"channel": "voice_telephony"}]})),
        ]
    }

    fn resolver() -> impl Strategy<Value = Value> {
        prop_oneof![
            prop_oneof![Just("continue"), Just("end_action"), Just("end_session"), Just("fallback"), Just("replay"), Just("weird")]
                .prop_map(|kind| json!({ "type": kind })),
            (name(), any::<bool>()).prop_map(|(action, back)| json!({
                "type": if back { "invoke_another_action" } else { "invoke_another_action_and_end" },
                "invoke_action": { "action": action, "parameters": null }
            })),
            text().prop_map(|message| json!({"type": "connect_to_agent", "response": {"agent_unavailable": {"message": message}, "transfer_info": {"target": {"zendesk": {"department": "x"}}}}})),
            Just(json!({"type": "callout", "callout": {"path": "/x", "method": "GET", "result_variable": "step_1_result_1"}})),
            Just(json!({"type": "replay", "clear": [{"variable": "step_1"}]})),
        ]
    }

    fn step() -> impl Strategy<Value = Value> {
        (
            name(),
            proptest::option::of(name()),
            proptest::option::of(condition()),
            proptest::collection::vec(response(), 0..3),
            proptest::option::of(prop_oneof![
                Just("sys-number"), Just("sys-yes-no"), Just("sys-date"), Just("sizes"), Just("email"), Just("empty"), Just("sys-person")
            ]),
            resolver(),
            proptest::collection::vec((name(), operand()), 0..3),
            (any::<i64>(), any::<i64>()),
        )
            .prop_map(|(id, next, condition, generic, entity, resolver, sets, (min, max))| {
                let mut step = json!({
                    "step": id, "variable": id, "output": {"generic": generic}, "resolver": resolver,
                    "context": {"variables": sets.into_iter().map(|(name, value)| json!({"skill_variable": name, "value": value})).collect::<Vec<_>>()},
                    "handlers": [
                        {"type": "not_found", "resolver": {"type": "prompt_again"}, "output": {"generic": [{"response_type": "text", "values": [{"text": "again"}]}]}},
                        {"type": "input_validation", "input_constraints": [{"name": "minimum", "value": {"scalar": min}}, {"name": "maximum", "value": {"scalar": max}}, {"name": "odd"}]},
                        {"type": "max_hits", "resolver": {"type": "fallback"}}
                    ]
                });
                if let Some(next) = next {
                    step["next_step"] = json!(next);
                }
                if let Some(condition) = condition {
                    step["condition"] = condition;
                }
                if let Some(entity) = entity {
                    step["question"] = json!({"entity": entity, "max_tries": 0});
                }
                step
            })
    }

    fn export() -> impl Strategy<Value = Value> {
        let action = (
            prop_oneof![
                name(),
                Just("welcome".to_owned()),
                Just("anything_else".to_owned()),
                Just("run_always".to_owned())
            ],
            proptest::collection::vec(step(), 0..4),
            proptest::collection::vec(text(), 0..3),
        )
            .prop_map(|(id, steps, examples)| {
                json!({
                    "action": id, "title": id, "steps": steps, "condition": {"intent": format!("{id}_intent")},
                    "examples_for_test": examples
                })
            });
        (proptest::collection::vec(action, 0..5), proptest::collection::vec((name(), scalar()), 0..3)).prop_map(|(actions, variables)| {
            let intents: Vec<Value> = actions
                .iter()
                .map(|action| json!({
                    "intent": format!("{}_intent", action["action"].as_str().unwrap_or("")),
                    "examples": action["examples_for_test"].as_array().into_iter().flatten().map(|text| json!({"text": text})).collect::<Vec<_>>()
                }))
                .collect();
            json!({
                "name": "Random",
                "workspace": {
                    "actions": actions,
                    "intents": intents,
                    "counterexamples": [{"text": "weather"}],
                    "entities": [
                        {"entity": "sizes", "values": [{"type": "synonyms", "value": "S", "synonyms": ["s"]}, {"type": "synonyms", "value": "s"}]},
                        {"entity": "email", "values": [{"type": "patterns", "value": "e", "patterns": ["(?<=x)@"]}]},
                        {"entity": "empty", "values": []},
                        {"entity": "danger_words", "values": [{"value": "fraud"}]}
                    ],
                    "variables": variables.into_iter().map(|(name, initial)| json!({"variable": name, "data_type": "string", "initial_value": {"scalar": initial}})).collect::<Vec<_>>()
                }
            })
        })
    }

    /// Converts an export, writes the folder, loads it: `Err` with every error and the files.
    fn converts_into_a_folder_that_loads(export: &Value) -> Result<(), TestCaseError> {
        let bytes = export.to_string();
        let imported = match super::convert(bytes.as_bytes()) {
            Ok(imported) => imported,
            Err(refusal) => {
                prop_assert_eq!(refusal.code(), "import-no-actions");
                return Ok(());
            }
        };
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in &imported.files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let loaded = baton_assistant::load_dir(dir.path());
        let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
        let files: String = imported
            .files
            .iter()
            .map(|(path, text)| format!("== {path}\n{text}"))
            .collect();
        prop_assert!(errors.is_empty(), "{errors:#?}\n{files}");
        Ok(())
    }

    fn dialog_node() -> impl Strategy<Value = Value> {
        (
            prop_oneof![
                Just("#a".to_owned()),
                Just("#b".to_owned()),
                Just("#none".to_owned()),
                Just("welcome".to_owned()),
                Just("anything_else".to_owned()),
                Just("@x && $y".to_owned()),
                text(),
            ],
            proptest::option::of(name()),
            proptest::collection::vec(response(), 0..3),
            text(),
            proptest::collection::vec(
                (
                    name(),
                    prop_oneof![
                        scalar(),
                        Just(json!({"a": 1})),
                        text().prop_map(|t| json!(format!("<? {t} ?>")))
                    ],
                ),
                0..3,
            ),
            any::<bool>(),
        )
            .prop_map(|(conditions, parent, generic, legacy, context, jump)| {
                let mut node = json!({
                    "dialog_node": conditions.clone(), "conditions": conditions,
                    "output": {"generic": generic, "text": {"values": [legacy, "second"]}},
                    "context": context.into_iter().collect::<serde_json::Map<String, Value>>(),
                    "digress_in": "returns",
                });
                if let Some(parent) = parent {
                    node["parent"] = json!(parent);
                }
                if jump {
                    node["next_step"] = json!({"behavior": "jump_to", "dialog_node": "x"});
                }
                node
            })
    }

    #[test]
    fn random_dialog_exports_convert_into_folders_that_load() {
        let exports = proptest::collection::vec(dialog_node(), 0..6).prop_map(|nodes| {
            json!({
                "name": "Dialog",
                "intents": [{"intent": "a", "examples": [{"text": "hello there"}]}, {"intent": "b", "examples": [{"text": "and"}, {"text": "${x}"}]}, {"intent": "none", "examples": []}],
                "entities": [{"entity": "x", "values": []}],
                "dialog_nodes": nodes
            })
        });
        let runner = std::thread::Builder::new().stack_size(32 * 1024 * 1024).spawn(move || {
            let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
                cases: 128,
                ..ProptestConfig::default()
            });
            runner.run(&exports, |export| converts_into_a_folder_that_loads(&export))
        });
        if let Err(failure) = runner.unwrap().join().unwrap() {
            panic!("{failure}");
        }
    }

    #[test]
    fn random_exports_convert_into_folders_that_load() {
        // The generated values are built by deep closures; a debug build needs more than the
        // 2 MB a test thread has.
        let runner = std::thread::Builder::new().stack_size(32 * 1024 * 1024).spawn(|| {
            let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
                cases: 128,
                ..ProptestConfig::default()
            });
            runner.run(&export(), |export| converts_into_a_folder_that_loads(&export))
        });
        if let Err(failure) = runner.unwrap().join().unwrap() {
            panic!("{failure}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = super::convert(&bytes);
        }
    }
}
