//! A dialog skill (`dialog_nodes`) as a Baton assistant.
//!
//! Baton has actions, not a dialog tree, so only the common shape comes across: a top-level node
//! whose condition is one intent (`#order_status`) becomes an action with that intent's examples
//! and one step with the node's responses, its context assignments and its transfer
//! (`connect_to_agent`); `welcome` becomes Greet customer and `anything_else` No action matches.
//! Everything else — child nodes, slots, `jump_to`, digressions, webhooks, conditions on entities
//! or variables — is reported per node, never silently lost.

use std::collections::{BTreeSet, HashMap, HashSet};

use baton_assistant::BUILT_IN_VARIABLES;
use serde_json::Value;

use super::Imported;
use super::actions::clip;
use super::derive;
use super::expr::{Names, escape_text, identifier, quote};
use super::model::{ActionModel, AssistantModel, Cond, Next, Notes, StepModel};
use crate::import::report::Outcome;
use crate::import::report::{Counts, Report};
use crate::import::yaml_out::{self, Node};

fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn text_of(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|text| !text.is_empty())
}

pub fn convert(root: &Value, workspace: &Value, pointer: &str) -> Imported {
    let mut notes = Notes::default();
    let mut names = Names::default();
    let mut nodes_counts = Counts::default();
    let mut files = Vec::new();
    let mut system = Node::map();
    let mut model = AssistantModel {
        no_match_limit: 3,
        // A dialog answers every miss with its anything_else node; it never runs a Fallback.
        no_match_escalates: false,
        ..AssistantModel::default()
    };
    let mut context_variables: BTreeSet<String> = BTreeSet::new();

    let mut intents: HashMap<&str, (usize, Vec<String>)> = HashMap::new();
    for (index, intent) in items(workspace.get("intents")).iter().enumerate() {
        let Some(name) = intent.get("intent").and_then(Value::as_str) else {
            continue;
        };
        let examples = items(intent.get("examples"))
            .iter()
            .filter_map(|example| text_of(example.get("text")))
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
            .collect();
        intents.insert(name, (index, examples));
    }
    let nodes = items(workspace.get("dialog_nodes"));
    let by_id: HashMap<&str, &Value> = nodes
        .iter()
        .filter_map(|node| Some((node.get("dialog_node")?.as_str()?, node)))
        .collect();
    let is_folder =
        |id: &str| by_id.get(id).and_then(|node| node.get("type")).and_then(Value::as_str) == Some("folder");
    let mut used_intents = HashSet::new();
    let mut used_ids = HashSet::new();
    let mut system_seen: HashSet<String> = HashSet::new();
    for (index, node) in nodes.iter().enumerate() {
        let node_pointer = format!("{pointer}/dialog_nodes/{index}");
        notes.take_worst();
        let parent = node.get("parent").and_then(Value::as_str);
        let node_type = node.get("type").and_then(Value::as_str).unwrap_or("standard");
        let top_level = parent.is_none_or(is_folder);
        if node_type == "folder" {
            notes.add(
                &node_pointer,
                Outcome::Exact,
                "a folder only groups nodes; its nodes are read as top-level nodes",
            );
            if let Some(condition) = text_of(node.get("conditions")) {
                notes.add(
                    &format!("{node_pointer}/conditions"),
                    Outcome::Approximate,
                    format!("the folder's condition `{}` was left out", clip(condition)),
                );
            }
            nodes_counts.add(notes.take_worst());
            continue;
        }
        if !top_level {
            let what = match node_type {
                "slot" => "a slot (with its handlers)",
                "event_handler" => "a slot or node handler",
                "response_condition" => "a conditional response",
                _ => "a child node",
            };
            notes.add(
                &node_pointer,
                Outcome::NotCarried,
                format!(
                    "{what} of `{}` has no Baton equivalent and was left out",
                    parent.unwrap_or("?")
                ),
            );
            nodes_counts.add(notes.take_worst());
            continue;
        }
        let condition = node.get("conditions").and_then(Value::as_str).unwrap_or("").trim();
        let intent = condition
            .strip_prefix('#')
            .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)));
        let role = match (condition, intent) {
            ("welcome" | "anything_else", _) if !system_seen.insert(condition.to_owned()) => {
                notes.add(
                    &node_pointer,
                    Outcome::NotCarried,
                    format!("a second `{condition}` node was left out; the first one is kept"),
                );
                nodes_counts.add(notes.take_worst());
                continue;
            }
            ("welcome", _) => Role::Greet,
            ("anything_else", _) => Role::NoMatch,
            (_, Some(intent)) => Role::Intent(intent),
            _ => {
                notes.add(
                    &format!("{node_pointer}/conditions"),
                    Outcome::NotCarried,
                    format!(
                        "the node's condition `{}` is not one intent; Baton starts actions from examples, so the node was left out",
                        clip(condition)
                    ),
                );
                nodes_counts.add(notes.take_worst());
                continue;
            }
        };
        let mut extra = Vec::new();
        if let Some(next) = node.get("next_step") {
            let behavior = next.get("behavior").and_then(Value::as_str).unwrap_or("?");
            let target = next.get("dialog_node").and_then(Value::as_str).unwrap_or("?");
            notes.add(
                &format!("{node_pointer}/next_step"),
                Outcome::Approximate,
                format!("`{behavior}` to `{target}` has no Baton equivalent and was left out"),
            );
            extra.push(format!(
                "TODO(import): Watson then did `{behavior}` to the node `{target}`."
            ));
        }
        if node
            .get("actions")
            .is_some_and(|actions| actions.as_array().is_none_or(|list| !list.is_empty()))
        {
            notes.add(
                &format!("{node_pointer}/actions"),
                Outcome::NotCarried,
                "the node's webhook or client actions have no Baton equivalent and were left out",
            );
            extra.push("TODO(import): Watson called actions (webhooks) here.".to_owned());
        }
        for key in ["digress_in", "digress_out", "digress_out_slots"] {
            if let Some(setting) = text_of(node.get(key)) {
                let is_default = matches!(setting, "does_not_return" | "allow_all" | "not_allowed")
                    && !(key == "digress_in" && setting == "returns");
                if !is_default {
                    notes.add(
                        &format!("{node_pointer}/{key}"),
                        Outcome::Approximate,
                        format!("the digression setting `{key}: {setting}` is approximated by Baton's change of topic"),
                    );
                }
            }
        }
        let mut step = Node::map();
        let (say, first_text, connect) = outputs(node, &node_pointer, &mut names, &mut notes, &mut context_variables);
        if !say.is_empty() {
            step.insert(
                "say",
                match say.len() {
                    1 => say.into_iter().next().unwrap_or_else(|| Node::str("")),
                    _ => Node::seq(say),
                },
            );
        }
        let set = context(node, &node_pointer, &mut names, &mut notes, &mut context_variables);
        if !set.is_empty_collection() || !set.comments.is_empty() {
            step.insert("set", set);
        }
        let next = match connect {
            Some(connect) => {
                step.insert("then", connect);
                Next::Connect
            }
            None => Next::Continue,
        };
        for comment in extra {
            step = step.comment(comment);
        }
        let step_model = StepModel {
            cond: Cond::Always,
            question: None,
            text: first_text,
            next,
        };
        match role {
            Role::Greet => {
                model.greet = vec![step_model];
                system.insert(
                    "greet",
                    Node::map()
                        .with("steps", Node::seq(vec![step]))
                        .comment(format!("Watson's welcome node ({node_pointer}).")),
                );
            }
            Role::NoMatch => {
                model.no_match = vec![step_model];
                notes.add(
                    &node_pointer,
                    Outcome::Approximate,
                    "Baton runs Fallback (a transfer) after 3 misses in a row; the dialog answered every miss with this node",
                );
                system.insert(
                    "no_action_matches",
                    Node::map()
                        .with("steps", Node::seq(vec![step]))
                        .comment(format!("Watson's anything_else node ({node_pointer}).")),
                );
            }
            Role::Intent(intent) => {
                let examples = match intents.get(intent) {
                    Some((_, examples)) => {
                        used_intents.insert(intent.to_owned());
                        examples.clone()
                    }
                    None => {
                        notes.add(
                            &format!("{node_pointer}/conditions"),
                            Outcome::Approximate,
                            format!("the intent `{intent}` is not in the export, so the action has no examples"),
                        );
                        Vec::new()
                    }
                };
                if examples.is_empty() {
                    notes.add(
                        &node_pointer,
                        Outcome::NotCarried,
                        format!(
                            "#{intent} has no examples, so Baton could never start this node's action; it was left out"
                        ),
                    );
                    nodes_counts.add(notes.take_worst());
                    continue;
                }
                let mut id = identifier(intent);
                let base = id.clone();
                let mut n = 2;
                while !used_ids.insert(id.clone()) {
                    id = format!("{base}_{n}");
                    n += 1;
                }
                let title = text_of(node.get("title")).unwrap_or(intent);
                let action = Node::map()
                    .with("id", Node::str(&id))
                    .comment(format!(
                        "Imported from the dialog node `{}` (#{intent}, {node_pointer}).",
                        node.get("dialog_node").and_then(Value::as_str).unwrap_or("?")
                    ))
                    .with("title", Node::str(title))
                    .with("examples", Node::seq(examples.iter().map(Node::str).collect()))
                    .with("steps", Node::seq(vec![step]));
                files.push((format!("actions/{id}.yaml"), yaml_out::to_string(&action)));
                model.actions.push(ActionModel {
                    id,
                    examples,
                    steps: vec![step_model],
                });
            }
        }
        nodes_counts.add(notes.take_worst());
    }
    for (name, (index, examples)) in &intents {
        if !used_intents.contains(*name) {
            notes.add(
                &format!("{pointer}/intents/{index}"),
                Outcome::NotCarried,
                format!(
                    "no top-level node answers #{name} alone, so its {} examples were not carried over",
                    examples.len()
                ),
            );
        }
    }
    for (index, entity) in items(workspace.get("entities")).iter().enumerate() {
        let name = entity.get("entity").and_then(Value::as_str).unwrap_or("?");
        notes.add(
            &format!("{pointer}/entities/{index}"),
            Outcome::NotCarried,
            format!("the entity @{name} was not carried over: Baton reads values only as answers to a question"),
        );
    }
    notes.notes.sort_by(|a, b| a.pointer.cmp(&b.pointer));

    let name = root
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("Imported assistant")
        .to_owned();
    let mut assistant = Node::map()
        .with("id", Node::str(identifier(&name.to_lowercase())))
        .comment(format!("Imported from the Watson Assistant dialog skill \"{name}\" by `baton import watson`."))
        .comment("Comments marked TODO(import) are where the import could not carry something over; `baton import` printed the full report.")
        .with("name", Node::str(&name));
    let language = workspace
        .get("language")
        .or_else(|| root.get("language"))
        .and_then(Value::as_str)
        .unwrap_or("en");
    if language != "en" {
        assistant.insert("locale", Node::str(language));
    }
    let mut variables = Node::map();
    for variable in context_variables
        .iter()
        .chain(names.read.iter())
        .collect::<BTreeSet<_>>()
    {
        if BUILT_IN_VARIABLES.contains(&variable.as_str()) {
            continue;
        }
        variables.insert(
            variable,
            Node::map()
                .with("type", Node::str("any"))
                .comment("A context variable of the dialog."),
        );
    }
    if !variables.is_empty_collection() {
        assistant.insert("variables", variables);
    }
    let counterexamples: Vec<Node> = items(workspace.get("counterexamples"))
        .iter()
        .filter_map(|example| text_of(example.get("text")))
        .map(Node::str)
        .collect();
    if !counterexamples.is_empty() {
        assistant.insert("counterexamples", Node::seq(counterexamples));
    }
    let group = || Node::map().with("words", Node::seq(Vec::new()));
    system.insert(
        "trigger_words",
        Node::map()
            .with("danger", group())
            .with("profanity", group())
            .comment("A dialog skill watches for no trigger words."),
    );
    assistant.insert("system", system);
    let mut all_files = vec![("assistant.yaml".to_owned(), yaml_out::to_string(&assistant))];
    all_files.append(&mut files);
    let (tests, tests_not_written) = derive::tests(&model);
    let report = Report {
        skill: "dialog",
        name,
        actions: Counts::default(),
        steps: Counts::default(),
        nodes: nodes_counts,
        tests: tests.iter().map(|(path, _)| path.clone()).collect(),
        tests_not_written,
        notes: notes.notes,
    };
    all_files.extend(tests);
    Imported {
        files: all_files,
        report,
    }
}

enum Role<'a> {
    Greet,
    NoMatch,
    Intent(&'a str),
}

/// Dialog text: `$name` and `<? expression ?>` in Baton's `${…}`.
fn dialog_text(text: &str, names: &mut Names, variables: &mut BTreeSet<String>, problems: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let dollar = rest.find('$').filter(|at| {
            rest[at + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        });
        let spel = rest.find("<?");
        let next = match (dollar, spel) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let Some(at) = next else {
            out.push_str(&escape_text(rest));
            return out;
        };
        out.push_str(&escape_text(&rest[..at]));
        if rest[at..].starts_with("<?") {
            let Some(end) = rest[at + 2..].find("?>").map(|end| at + 2 + end) else {
                out.push_str(&escape_text(&rest[at..]));
                return out;
            };
            let inner = rest[at + 2..end].trim();
            let braced = brace_variables(inner);
            match names.spel(&braced) {
                Ok(expression) => out.push_str(&format!("${{{expression}}}")),
                Err(why) => problems.push(why),
            }
            rest = &rest[end + 2..];
        } else {
            let name: String = rest[at + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let variable = identifier(&name);
            variables.insert(variable.clone());
            out.push_str(&format!("${{{variable}}}"));
            rest = &rest[at + 1 + name.len()..];
        }
    }
}

/// `$name` → `${name}` inside a dialog expression.
fn brace_variables(expression: &str) -> String {
    let mut out = String::new();
    let mut chars = expression.chars().peekable();
    while let Some(character) = chars.next() {
        if character == '$' && chars.peek().is_some_and(|c| c.is_alphabetic() || *c == '_') {
            let mut name = String::new();
            while let Some(&next) = chars.peek() {
                if !(next.is_alphanumeric() || next == '_') {
                    break;
                }
                name.push(next);
                chars.next();
            }
            out.push_str(&format!("${{{name}}}"));
        } else {
            out.push(character);
        }
    }
    out
}

type Outputs = (Vec<Node>, Option<String>, Option<Node>);

fn outputs(
    node: &Value,
    pointer: &str,
    names: &mut Names,
    notes: &mut Notes,
    variables: &mut BTreeSet<String>,
) -> Outputs {
    let mut say = Vec::new();
    let mut first_text = None;
    let mut connect = None;
    let output = node.get("output");
    let mut texts: Vec<(String, String)> = Vec::new();
    // The legacy shape: `output.text` as a string or `{values, selection_policy}`.
    match output.and_then(|output| output.get("text")) {
        Some(Value::String(text)) => texts.push((format!("{pointer}/output/text"), text.clone())),
        Some(text) => {
            let values = items(text.get("values"));
            if values.len() > 1 && text.get("selection_policy").and_then(Value::as_str) != Some("multiline") {
                notes.add(
                    &format!("{pointer}/output/text/values"),
                    Outcome::Approximate,
                    format!(
                        "Baton says one text where Watson varied {} texts; the first is kept",
                        values.len()
                    ),
                );
                texts
                    .extend(text_of(values.first()).map(|t| (format!("{pointer}/output/text/values/0"), t.to_owned())));
            } else {
                for (index, value) in values.iter().enumerate() {
                    texts.extend(
                        text_of(Some(value)).map(|t| (format!("{pointer}/output/text/values/{index}"), t.to_owned())),
                    );
                }
            }
        }
        None => {}
    }
    for (text_pointer, text) in texts {
        let mut problems = Vec::new();
        let converted = dialog_text(&text, names, variables, &mut problems);
        for problem in problems {
            notes.add(
                &text_pointer,
                Outcome::Approximate,
                format!("part of the text was left out: {problem}"),
            );
        }
        if first_text.is_none() && !converted.contains("${") {
            first_text = Some(converted.replace("$${", "${"));
        }
        say.push(Node::str(converted));
    }
    for (index, response) in items(output.and_then(|output| output.get("generic")))
        .iter()
        .enumerate()
    {
        let response_pointer = format!("{pointer}/output/generic/{index}");
        let kind = response.get("response_type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "text" => {
                let values = items(response.get("values"));
                let multiline = response.get("selection_policy").and_then(Value::as_str) == Some("multiline");
                let take = if multiline { values.len() } else { values.len().min(1) };
                if values.len() > take {
                    notes.add(
                        &format!("{response_pointer}/values"),
                        Outcome::Approximate,
                        format!(
                            "Baton says one text where Watson varied {} texts; the first is kept",
                            values.len()
                        ),
                    );
                }
                for (value_index, value) in values.iter().take(take).enumerate() {
                    let Some(text) = text_of(value.get("text")) else {
                        continue;
                    };
                    let mut problems = Vec::new();
                    let converted = dialog_text(text, names, variables, &mut problems);
                    for problem in problems {
                        notes.add(
                            &format!("{response_pointer}/values/{value_index}"),
                            Outcome::Approximate,
                            format!("part of the text was left out: {problem}"),
                        );
                    }
                    if converted.trim().is_empty() {
                        continue;
                    }
                    if first_text.is_none() && !converted.contains("${") {
                        first_text = Some(converted.replace("$${", "${"));
                    }
                    say.push(Node::str(converted));
                }
            }
            "option" => {
                let mut buttons = Node::map();
                if let Some(title) = text_of(response.get("title")) {
                    let mut problems = Vec::new();
                    buttons.insert("title", Node::str(dialog_text(title, names, variables, &mut problems)));
                    for problem in problems {
                        notes.add(&response_pointer, Outcome::Approximate, problem);
                    }
                }
                let choices: Vec<Node> = items(response.get("options"))
                    .iter()
                    .filter_map(|option| {
                        let label = text_of(option.get("label"))?;
                        let value = option
                            .get("value")
                            .and_then(|v| v.get("input"))
                            .and_then(|input| input.get("text"))
                            .and_then(Value::as_str)
                            .unwrap_or(label);
                        Some(match value == label {
                            true => Node::str(label),
                            false => Node::map()
                                .with("label", Node::str(label))
                                .with("value", Node::str(value)),
                        })
                    })
                    .collect();
                if choices.is_empty() {
                    notes.add(
                        &response_pointer,
                        Outcome::NotCarried,
                        "an option response without options was left out",
                    );
                    continue;
                }
                buttons.insert("choices", Node::seq(choices));
                say.push(Node::map().with("options", buttons));
            }
            "pause" => {
                let time = response.get("time").and_then(Value::as_u64).unwrap_or(1000).min(60_000);
                say.push(Node::map().with("pause", Node::number(time as f64)));
            }
            "connect_to_agent" => {
                let mut settings = Node::map();
                for (key, baton) in [
                    ("agent_available", "online"),
                    ("agent_unavailable", "offline"),
                    ("message_to_human_agent", "message_to_agent"),
                ] {
                    let message = response.get(key).and_then(|value| match value {
                        Value::String(text) => Some(text.as_str()),
                        other => other.get("message").and_then(Value::as_str),
                    });
                    if let Some(message) = message.filter(|message| !message.trim().is_empty()) {
                        let mut problems = Vec::new();
                        settings.insert(baton, Node::str(dialog_text(message, names, variables, &mut problems)));
                        for problem in problems {
                            notes.add(&format!("{response_pointer}/{key}"), Outcome::Approximate, problem);
                        }
                    }
                }
                if let Some(target) = response
                    .get("transfer_info")
                    .and_then(|info| info.get("target"))
                    .filter(|target| target.as_object().is_some_and(|object| !object.is_empty()))
                {
                    notes.add(
                        &format!("{response_pointer}/transfer_info"),
                        Outcome::Approximate,
                        format!(
                            "the desk-specific routing {} has no Baton equivalent; set `queue` by hand",
                            clip(&target.to_string())
                        ),
                    );
                }
                connect = Some(match settings.is_empty_collection() {
                    true => Node::str("connect_to_agent"),
                    false => Node::map().with("connect_to_agent", settings),
                });
            }
            _ => notes.add(
                &response_pointer,
                Outcome::NotCarried,
                format!("the `{kind}` response has no Baton equivalent and was left out"),
            ),
        }
    }
    (say, first_text, connect)
}

/// The node's `context` as assignments: plain values and `$variable` references; objects
/// and lists are reported.
fn context(
    node: &Value,
    pointer: &str,
    names: &mut Names,
    notes: &mut Notes,
    variables: &mut BTreeSet<String>,
) -> Node {
    let mut set = Node::map();
    let Some(context) = node.get("context").and_then(Value::as_object) else {
        return set;
    };
    let mut targets = BTreeSet::new();
    for (key, value) in context {
        let key_pointer = format!("{pointer}/context/{}", crate::import::report::segment(key));
        let target = identifier(key);
        if !targets.insert(target.clone()) {
            // Two keys that differ only in what a Baton name cannot hold ("" and "-").
            notes.add(
                &key_pointer,
                Outcome::NotCarried,
                format!("`{key}` reads as `{target}` in Baton, as an earlier key of this node does; it was left out"),
            );
            continue;
        }
        if BUILT_IN_VARIABLES.contains(&target.as_str()) {
            notes.add(
                &key_pointer,
                Outcome::NotCarried,
                format!("`{target}` is a built-in variable in Baton and cannot be set"),
            );
            continue;
        }
        let expression = match value {
            Value::String(text) if text.contains("<?") || text.trim_start().starts_with('$') => {
                let inner = text.trim().trim_start_matches("<?").trim_end_matches("?>").trim();
                names.spel(&brace_variables(inner))
            }
            Value::String(text) => Ok(quote(text)),
            Value::Number(number) => Ok(number.to_string()),
            Value::Bool(boolean) => Ok(boolean.to_string()),
            Value::Null => Ok("null".to_owned()),
            _ => Err("a list or object value has no Baton equivalent".to_owned()),
        };
        match expression {
            Ok(expression) => {
                variables.insert(target.clone());
                set.insert(&target, Node::str(expression));
            }
            Err(why) => {
                notes.add(
                    &key_pointer,
                    Outcome::NotCarried,
                    format!("setting `{key}` was left out: {why}"),
                );
                set = set.comment(format!(
                    "TODO(import): Watson set `{key}` to {}.",
                    clip(&value.to_string())
                ));
            }
        }
    }
    set
}
