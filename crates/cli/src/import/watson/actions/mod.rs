//! An actions skill (`workspace.actions`) as a Baton assistant: one file per action, the system
//! actions (Greet customer, No action matches, Fallback, Trigger word detected) in `assistant.yaml`.
//!
//! Steps are written in execution order, following `next_step` from the step no other step
//! points to, because the `steps` array is not always in that order. Each choice the conversion
//! makes is a comment in the YAML and, when it changes behaviour, a note in the report.

use std::collections::{BTreeSet, HashMap, HashSet};

use baton_assistant::{BUILT_IN_VARIABLES, ResponseType};
use serde_json::Value;

use super::Imported;
use super::derive;
use super::expr::{Names, escape_text, fallback_reason, identifier};
use super::model::{ActionModel, AssistantModel, Cond, Next, Notes, QuestionModel, StepModel};
use crate::import::report::Outcome;
use crate::import::report::{Counts, Report};
use crate::import::yaml_out::{self, Node};

mod questions;
mod resolvers;
mod responses;
mod settings;
mod steps;
mod system;

use responses::say_node;

/// Watson's system actions, by their `action` id.
const WELCOME: &str = "welcome";
const ANYTHING_ELSE: &str = "anything_else";
const FALLBACK: &str = "fallback";
const RUN_ALWAYS: &str = "run_always";

/// Text Watson shows on every channel, or on web chat.
const CHAT_CHANNELS: &[&str] = &["chat", "web", "webchat"];

pub fn convert(root: &Value, workspace: &Value, pointer: &str) -> Imported {
    let mut converter = Converter::new(workspace, pointer);
    converter.run();
    let name = root
        .get("name")
        .or_else(|| workspace.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("Imported assistant")
        .to_owned();
    converter.finish(name)
}

struct Converter<'a> {
    workspace: &'a Value,
    pointer: String,
    notes: Notes,
    names: Names,
    intents: HashMap<&'a str, Vec<String>>,
    entities: HashMap<&'a str, &'a Value>,
    /// Watson action id → Baton action id, for the actions that become files.
    action_ids: HashMap<String, String>,
    /// `invoke_another_action` edges written with `return: false` to break a cycle.
    cycle_breaks: HashSet<(String, usize)>,
    actions_counts: Counts,
    steps_counts: Counts,
    files: Vec<(String, String)>,
    assistant: Node,
    system: Node,
    model: AssistantModel,
    /// Variables whose values came from callouts or sub-action results the import could not keep.
    unset: BTreeSet<String>,
    /// Each written action's place in the export and outcome, by Baton id.
    written: HashMap<String, (String, Outcome)>,
    /// Whether No action matches had the step that runs Fallback after N misses.
    no_match_escalates: bool,
}

fn text_of(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|text| !text.is_empty())
}

fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

impl<'a> Converter<'a> {
    fn new(workspace: &'a Value, pointer: &str) -> Converter<'a> {
        let mut intents = HashMap::new();
        for intent in items(workspace.get("intents")) {
            let Some(name) = intent.get("intent").and_then(Value::as_str) else {
                continue;
            };
            let examples = items(intent.get("examples"))
                .iter()
                .filter_map(|example| text_of(example.get("text")))
                .map(|text| text.trim().to_owned())
                .filter(|text| !text.is_empty())
                .collect();
            intents.insert(name, examples);
        }
        let mut entities = HashMap::new();
        for entity in items(workspace.get("entities")) {
            if let Some(name) = entity.get("entity").and_then(Value::as_str) {
                entities.insert(name, entity);
            }
        }
        Converter {
            workspace,
            pointer: pointer.to_owned(),
            notes: Notes::default(),
            names: Names::default(),
            intents,
            entities,
            action_ids: HashMap::new(),
            cycle_breaks: HashSet::new(),
            actions_counts: Counts::default(),
            steps_counts: Counts::default(),
            files: Vec::new(),
            assistant: Node::map(),
            system: Node::map(),
            model: AssistantModel {
                no_match_limit: 3,
                // Without a No action matches action the export keeps Watson's, which escalates.
                no_match_escalates: true,
                ..AssistantModel::default()
            },
            unset: BTreeSet::new(),
            written: HashMap::new(),
            no_match_escalates: false,
        }
    }

    fn run(&mut self) {
        let workspace = self.workspace;
        let actions = items(workspace.get("actions"));
        self.session_variables();
        // Ids first: a step may go to an action written after it.
        let mut used: HashSet<String> = HashSet::new();
        for action in actions {
            let Some(watson) = action.get("action").and_then(Value::as_str) else {
                continue;
            };
            if [WELCOME, ANYTHING_ELSE, FALLBACK, RUN_ALWAYS].contains(&watson) {
                continue;
            }
            let mut id = identifier(watson);
            let base = id.clone();
            let mut n = 2;
            while !used.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            self.action_ids.insert(watson.to_owned(), id);
        }
        self.find_cycles(actions);
        let mut system_seen = HashSet::new();
        for (index, action) in actions.iter().enumerate() {
            let pointer = format!("{}/actions/{index}", self.pointer);
            self.notes.take_worst();
            let Some(watson) = action.get("action").and_then(Value::as_str) else {
                self.notes.add(
                    &pointer,
                    Outcome::NotCarried,
                    "an action without an `action` id was left out",
                );
                let worst = self.notes.take_worst();
                self.actions_counts.add(worst);
                continue;
            };
            let is_system = [WELCOME, ANYTHING_ELSE, FALLBACK, RUN_ALWAYS].contains(&watson);
            if is_system && !system_seen.insert(watson.to_owned()) {
                self.notes.add(
                    &pointer,
                    Outcome::NotCarried,
                    format!("a second `{watson}` system action was left out; the first one is kept"),
                );
                let worst = self.notes.take_worst();
                self.actions_counts.add(worst);
                continue;
            }
            match watson {
                WELCOME => self.greet(action, &pointer),
                ANYTHING_ELSE => self.no_action_matches(action, &pointer),
                FALLBACK => self.fallback(action, &pointer),
                RUN_ALWAYS => self.trigger_words(action, &pointer),
                _ => self.action(action, watson, &pointer),
            }
        }
        if !system_seen.contains(RUN_ALWAYS) {
            // Without a "Trigger word detected" action Watson watches for no words; Baton would use
            // its built-in profanity list.
            let group = || Node::map().with("words", Node::seq(Vec::new()));
            self.system.insert(
                "trigger_words",
                Node::map().with("danger", group()).with("profanity", group()).comment(
                    "The export has no \"Trigger word detected\" action, so no words are watched for, as in Watson.",
                ),
            );
        }
        let counterexamples: Vec<Node> = items(workspace.get("counterexamples"))
            .iter()
            .filter_map(|example| text_of(example.get("text")))
            .map(Node::str)
            .collect();
        if !counterexamples.is_empty() {
            self.assistant.insert("counterexamples", Node::seq(counterexamples));
        }
        self.settings_notes();
        self.clarifying_question();
    }

    /// `invoke_another_action` with return that would close a cycle: Baton refuses such cycles.
    fn find_cycles(&mut self, actions: &[Value]) {
        let mut graph: HashMap<String, Vec<String>> = HashMap::new();
        for action in actions {
            let Some(from) = action.get("action").and_then(Value::as_str) else {
                continue;
            };
            for (index, step) in items(action.get("steps")).iter().enumerate() {
                let resolver = step.get("resolver");
                if resolver.and_then(|r| r.get("type")).and_then(Value::as_str) != Some("invoke_another_action") {
                    continue;
                }
                let Some(to) = resolver
                    .and_then(|r| r.get("invoke_action"))
                    .and_then(|invoke| invoke.get("action"))
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                if reaches(&graph, to, from) {
                    self.cycle_breaks.insert((from.to_owned(), index));
                } else {
                    graph.entry(from.to_owned()).or_default().push(to.to_owned());
                }
            }
        }
    }

    fn examples(&mut self, action: &Value, pointer: &str) -> Vec<String> {
        let condition = action.get("condition");
        match condition.and_then(|c| c.get("intent")).and_then(Value::as_str) {
            Some(intent) => match self.intents.get(intent) {
                Some(examples) => examples.clone(),
                None => {
                    self.notes.add(
                        &format!("{pointer}/condition"),
                        Outcome::Approximate,
                        format!("the intent `{intent}` is not in the export, so the action has no examples"),
                    );
                    Vec::new()
                }
            },
            None => {
                if let Some(condition) = condition {
                    self.notes.add(
                        &format!("{pointer}/condition"),
                        Outcome::Approximate,
                        format!(
                            "the action starts on {}, not an intent; Baton starts actions from examples, so it can only be reached with go_to",
                            clip(&condition.to_string())
                        ),
                    );
                }
                Vec::new()
            }
        }
    }

    fn action(&mut self, action: &Value, watson: &str, pointer: &str) {
        let id = self
            .action_ids
            .get(watson)
            .cloned()
            .unwrap_or_else(|| identifier(watson));
        let examples = self.examples(action, pointer);
        let title = text_of(action.get("title")).unwrap_or(watson).to_owned();
        let mut node = Node::map()
            .with("id", Node::str(&id))
            .comment(format!("Imported from the Watson action `{watson}` ({pointer})."));
        node.insert("title", Node::str(&title));
        if examples.is_empty() {
            node.insert(
                "examples",
                Node::seq(Vec::new()).comment("No examples in the export: reached only by go_to from another action."),
            );
        } else {
            node.insert("examples", Node::seq(examples.iter().map(Node::str).collect()));
        }
        if action
            .get("topic_switch")
            .and_then(|t| t.get("enabled"))
            .and_then(Value::as_bool)
            == Some(false)
        {
            node.insert("settings", Node::map().with("change_topic", Node::raw("false")));
        }
        let action_worst = self.notes.take_worst();
        let (steps, models, worst) = self.steps(action, watson, pointer, StepsOf::Action);
        let worst = worst.max(action_worst);
        self.actions_counts.add(worst);
        self.written.insert(id.clone(), (pointer.to_owned(), worst));
        node.insert("steps", Node::seq(steps));
        self.files
            .push((format!("actions/{id}.yaml"), yaml_out::to_string(&node)));
        self.model.actions.push(ActionModel {
            id,
            examples,
            steps: models,
        });
    }

    /// Actions Baton could never run (no examples, and no go_to from an action that can run)
    /// are moved out of `actions/` into `unreachable/`, which Baton does not load: its checker
    /// refuses such actions, and the author may still want their steps.
    fn set_aside_unreachable(&mut self) {
        loop {
            let mut targets: HashSet<&str> = HashSet::new();
            let system_steps = self
                .model
                .greet
                .iter()
                .chain(&self.model.no_match)
                .chain(self.model.fallback.iter().flatten());
            for step in system_steps {
                if let Next::GoTo { action } = &step.next {
                    targets.insert(action);
                }
            }
            // As Baton's checker counts them: a go_to from another action, not from itself.
            for action in &self.model.actions {
                for step in &action.steps {
                    if let Next::GoTo { action: target } = &step.next
                        && *target != action.id
                    {
                        targets.insert(target);
                    }
                }
            }
            let unreachable: Vec<String> = self
                .model
                .actions
                .iter()
                .filter(|action| action.examples.is_empty() && !targets.contains(action.id.as_str()))
                .map(|action| action.id.clone())
                .collect();
            if unreachable.is_empty() {
                return;
            }
            for id in unreachable {
                self.model.actions.retain(|action| action.id != id);
                let (pointer, outcome) = self.written.get(&id).cloned().unwrap_or_default();
                self.actions_counts.replace(outcome, Outcome::NotCarried);
                self.notes.add(
                    &pointer,
                    Outcome::NotCarried,
                    format!(
                        "the action has no examples and no step goes to it, so Baton could never run it; it is written to unreachable/{id}.yaml, which Baton does not load"
                    ),
                );
                let path = format!("actions/{id}.yaml");
                if let Some(file) = self.files.iter_mut().find(|(file, _)| *file == path) {
                    file.0 = format!("unreachable/{id}.yaml");
                    file.1 = format!(
                        "# Not loaded: this action has no examples and nothing goes to it, so Baton could never run it.\n# Give it examples (or a go_to from another action) and move it to actions/ to use it.\n{}",
                        file.1
                    );
                }
            }
        }
    }

    fn finish(mut self, name: String) -> Imported {
        self.set_aside_unreachable();
        // Variables expressions read that nothing declares (callout results, sub-action results,
        // variables of other skills) are declared unset, so the folder loads and the author sees them.
        let mut known: HashSet<String> = BUILT_IN_VARIABLES.iter().map(|name| (*name).to_owned()).collect();
        known.extend(self.names.session.values().cloned());
        if let yaml_out::Y::Map(entries) = &self.assistant.value
            && let Some((_, variables)) = entries.iter().find(|(key, _)| key == "variables")
            && let yaml_out::Y::Map(declared) = &variables.value
        {
            known.extend(declared.iter().map(|(name, _)| name.clone()));
        }
        // A question's variable belongs to its action: reads of it from the action itself were
        // not recorded, and a read from any other action needs a declaration of its own.
        let undeclared: Vec<String> = self
            .names
            .read
            .iter()
            .filter(|name| !known.contains(*name))
            .cloned()
            .collect();
        if let yaml_out::Y::Map(entries) = &mut self.assistant.value
            && let Some((_, variables)) = entries.iter_mut().find(|(key, _)| key == "variables")
        {
            for variable in undeclared {
                let why = match self.unset.contains(&variable) {
                    true => {
                        "Watson set it from a custom extension, another action's result or the customer's message, which the import could not carry over"
                    }
                    false => "Watson's expressions read it, but nothing in the export declares it",
                };
                variables.insert(
                    &variable,
                    Node::map()
                        .with("type", Node::str("any"))
                        .comment(format!("TODO(import): declared by the import and never set: {why}.")),
                );
            }
        }
        let id = identifier(&name.to_lowercase());
        let mut assistant = Node::map()
            .with("id", Node::str(&id))
            .comment(format!("Imported from the Watson Assistant actions skill \"{name}\" by `baton import watson`."))
            .comment("Comments marked TODO(import) are where the import could not carry something over; `baton import` printed the full report.");
        assistant.insert("name", Node::str(&name));
        let language = self.workspace.get("language").and_then(Value::as_str).unwrap_or("en");
        if language != "en" {
            assistant.insert("locale", Node::str(language));
        }
        if let yaml_out::Y::Map(entries) = std::mem::replace(&mut self.assistant.value, yaml_out::Y::Map(Vec::new())) {
            for (key, value) in entries {
                if !value.is_empty_collection() || key == "variables" && !value.comments.is_empty() {
                    assistant.insert(&key, value);
                }
            }
        }
        assistant.insert("system", self.system);
        let mut files = vec![("assistant.yaml".to_owned(), yaml_out::to_string(&assistant))];
        files.append(&mut self.files);
        let (tests, tests_not_written) = derive::tests(&self.model);
        let report = Report {
            skill: "actions",
            name,
            actions: self.actions_counts,
            steps: self.steps_counts,
            nodes: Counts::default(),
            tests: tests.iter().map(|(path, _)| path.clone()).collect(),
            tests_not_written,
            notes: self.notes.notes,
        };
        files.extend(tests);
        Imported { files, report }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepsOf {
    Action,
    System,
    NoActionMatches,
    Fallback,
}

fn reaches(graph: &HashMap<String, Vec<String>>, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen = HashSet::new();
    while let Some(node) = stack.pop() {
        if node == to {
            return true;
        }
        if seen.insert(node.clone()) {
            stack.extend(graph.get(&node).cloned().unwrap_or_default());
        }
    }
    false
}

/// A value in a sentence, at most 120 characters.
pub fn clip(text: &str) -> String {
    match text.chars().count() > 120 {
        true => format!("{}…", text.chars().take(120).collect::<String>()),
        false => text.to_owned(),
    }
}
