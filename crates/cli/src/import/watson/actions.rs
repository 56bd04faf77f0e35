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

    fn session_variables(&mut self) {
        let workspace = self.workspace;
        let mut variables = Node::map();
        let mut used: HashSet<String> = BUILT_IN_VARIABLES.iter().map(|name| (*name).to_owned()).collect();
        for (index, variable) in items(workspace.get("variables")).iter().enumerate() {
            let pointer = format!("{}/variables/{index}", self.pointer);
            let Some(watson) = variable.get("variable").and_then(Value::as_str) else {
                continue;
            };
            let mut name = identifier(watson);
            let mut comments = Vec::new();
            if used.contains(&name) {
                let base = name.clone();
                let mut n = 2;
                while used.contains(&name) {
                    name = format!("{base}_{n}");
                    n += 1;
                }
                comments.push(format!("Watson's `{watson}` (renamed: the name is taken in Baton)."));
            } else if name != watson {
                comments.push(format!("Watson's `{watson}`."));
            }
            used.insert(name.clone());
            // A name listed twice keeps its first Baton name for references.
            self.names
                .session
                .entry(watson.to_owned())
                .or_insert_with(|| name.clone());
            let data_type = variable.get("data_type").and_then(Value::as_str).unwrap_or("any");
            let kind = match data_type {
                "string" => "text",
                "number" | "integer" => "number",
                "boolean" => "boolean",
                "date" => "date",
                "time" => "time",
                "currency" => "currency",
                "percentage" => "percentage",
                _ => "any",
            };
            if !matches!(
                data_type,
                "string" | "number" | "integer" | "boolean" | "date" | "time" | "currency" | "percentage" | "any"
            ) {
                comments.push(format!(
                    "Watson's type `{data_type}` has no Baton equivalent; `any` holds any value."
                ));
            }
            let mut spec = Node::map().with("type", Node::str(kind));
            let initial = variable.get("initial_value").or_else(|| variable.get("default_value"));
            if let Some(initial) = initial {
                match initial.get("scalar").filter(|scalar| fits(kind, scalar)) {
                    Some(scalar) => spec.insert("initial", scalar_node(scalar)),
                    None => {
                        self.notes.add(
                            &format!("{pointer}/initial_value"),
                            Outcome::Approximate,
                            format!("the initial value of `{watson}` is not a plain value of its type, so the variable starts unset"),
                        );
                        comments.push(format!(
                            "Its initial value in Watson was {}, which the import could not carry over.",
                            clip(&initial.to_string())
                        ));
                    }
                }
            }
            if variable
                .get("privacy")
                .and_then(|privacy| privacy.get("enabled"))
                .and_then(Value::as_bool)
                == Some(true)
            {
                spec.insert("private", Node::raw("true"));
            }
            if let Some(description) = text_of(variable.get("description")) {
                spec.insert("description", Node::str(description));
            }
            let mut node = spec;
            for comment in comments {
                node = node.comment(comment);
            }
            variables.insert(&name, node);
        }
        self.assistant.insert("variables", variables);
    }

    /// Watson's settings Baton has no equivalent for, noted once.
    fn settings_notes(&mut self) {
        let settings = self.workspace.get("system_settings");
        let pointer = format!("{}/system_settings", self.pointer);
        if let Some(generative) = settings.and_then(|s| s.get("generative_ai")) {
            self.notes.add(
                &format!("{pointer}/generative_ai"),
                Outcome::NotCarried,
                format!(
                    "generative AI settings ({}) have no Baton equivalent",
                    clip(&generative.to_string())
                ),
            );
        }
        if let Some(routing) = settings.and_then(|s| s.get("search_routing")) {
            self.notes.add(
                &format!("{pointer}/search_routing"),
                Outcome::NotCarried,
                format!(
                    "search routing ({}) has no Baton equivalent",
                    clip(&routing.to_string())
                ),
            );
        }
        if let Some(switch) = settings.and_then(|s| s.get("topic_switch"))
            && switch.get("enabled").and_then(Value::as_bool) == Some(false)
        {
            self.setting("change_topic", Node::raw("false"));
        }
    }

    /// Sets one of the assistant's settings (one `settings` mapping, however many are set).
    fn setting(&mut self, key: &str, value: Node) {
        let yaml_out::Y::Map(entries) = &mut self.assistant.value else {
            return;
        };
        match entries.iter_mut().find(|(name, _)| name == "settings") {
            Some((_, settings)) => settings.insert(key, value),
            None => entries.push(("settings".to_owned(), Node::map().with(key, value))),
        }
    }

    /// Disambiguation and the topic switch's return prompt, as Baton's clarifying question and
    /// change of topic.
    fn clarifying_question(&mut self) {
        let settings = self.workspace.get("system_settings");
        if let Some(disambiguation) = settings.and_then(|s| s.get("disambiguation")) {
            if disambiguation.get("enabled").and_then(Value::as_bool) == Some(false) {
                self.setting("clarify", Node::raw("false"));
            }
            let mut clarify = Node::map();
            for (watson, baton) in [
                ("prompt", "prompt"),
                ("none_of_the_above_prompt", "none_of_the_above"),
                ("use_connect_to_support_prompt", "connect_to_support"),
            ] {
                if let Some(text) = text_of(disambiguation.get(watson)) {
                    let text = match baton {
                        "prompt" => escape_text(text),
                        _ => text.to_owned(),
                    };
                    clarify.insert(baton, Node::str(text));
                }
            }
            if let Some(max) = disambiguation
                .get("max_suggestions")
                .and_then(Value::as_u64)
                .filter(|max| (2..=10).contains(max))
            {
                clarify.insert("max_candidates", Node::number(max as f64));
            }
            if !clarify.is_empty_collection() {
                self.system.insert(
                    "clarifying_question",
                    clarify.comment("Watson's disambiguation settings (/system_settings/disambiguation)."),
                );
            }
        }
        let request = settings
            .and_then(|s| s.get("topic_switch"))
            .and_then(|switch| switch.get("messages"))
            .and_then(|messages| messages.get("confirmation_request"));
        if let Some(request) = request {
            let mut problems = Vec::new();
            let step = serde_json::json!({ "output": request });
            let prompt = self
                .first_text(&step, &mut problems)
                .map(|text| text.replace("${digressed_from}", "{action}"));
            match prompt {
                Some(prompt) if problems.is_empty() && !prompt.contains("${") && !prompt.contains("$${") => {
                    self.system.insert(
                        "change_topic",
                        Node::map().with("return_prompt", Node::str(prompt)).comment(
                            "Watson's topic-switch confirmation (/system_settings/topic_switch/messages/confirmation_request).",
                        ),
                    );
                }
                _ => self.notes.add(
                    &format!(
                        "{}/system_settings/topic_switch/messages/confirmation_request",
                        self.pointer
                    ),
                    Outcome::Approximate,
                    "the topic-switch confirmation has text Baton's return prompt cannot say; Baton's default is used",
                ),
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

    fn greet(&mut self, action: &Value, pointer: &str) {
        let before = self.notes.take_worst();
        let (steps, models, worst) = self.steps(action, WELCOME, pointer, StepsOf::System);
        self.actions_counts.add(worst.max(before));
        self.model.greet = models;
        self.system.insert(
            "greet",
            Node::map()
                .with("steps", Node::seq(steps))
                .comment(format!("Watson's \"Greet customer\" ({pointer}).")),
        );
    }

    fn no_action_matches(&mut self, action: &Value, pointer: &str) {
        let before = self.notes.take_worst();
        let (steps, models, worst) = self.steps(action, ANYTHING_ELSE, pointer, StepsOf::NoActionMatches);
        let worst = match self.no_match_escalates {
            true => worst,
            false => {
                self.notes.add(
                    pointer,
                    Outcome::Approximate,
                    "Watson's No action matches never ran Fallback; Baton runs Fallback (a transfer) after `no_match_limit` (3) misses in a row",
                );
                worst.max(Outcome::Approximate)
            }
        };
        self.actions_counts.add(worst.max(before));
        self.model.no_match = models;
        self.model.no_match_escalates = self.no_match_escalates;
        let mut node = Node::map()
            .with("steps", Node::seq(steps))
            .comment(format!("Watson's \"No action matches\" ({pointer})."));
        if self.model.no_match_limit != 3 {
            self.setting("no_match_limit", Node::number(f64::from(self.model.no_match_limit)));
            node = node.comment(format!(
                "Watson ran Fallback after {} misses in a row: see `no_match_limit` in settings.",
                self.model.no_match_limit
            ));
        }
        self.system.insert("no_action_matches", node);
    }

    fn fallback(&mut self, action: &Value, pointer: &str) {
        let examples = self.examples(action, pointer);
        let before = self.notes.take_worst();
        let (steps, models, worst) = self.steps(action, FALLBACK, pointer, StepsOf::Fallback);
        let mut node = Node::map().comment(format!(
            "Watson's \"Fallback\" ({pointer}): its steps choose by `fallback_reason`, as in Watson."
        ));
        if !examples.is_empty() {
            self.model.fallback_examples = examples.clone();
            node.insert("examples", Node::seq(examples.iter().map(Node::str).collect()));
        }
        if !steps.is_empty() {
            // Baton's Fallback always ends in a transfer: steps that end it without one (or the
            // end of the list) connect with the Fallback's default settings.
            let ends_quietly: Vec<&str> = models
                .iter()
                .zip(&steps)
                .filter(|(model, _)| model.cond != Cond::Never && model.next == Next::End)
                .filter_map(|(_, step)| match &step.value {
                    yaml_out::Y::Map(entries) => {
                        entries
                            .iter()
                            .find(|(key, _)| key == "id")
                            .and_then(|(_, id)| match &id.value {
                                yaml_out::Y::Str(id) => Some(id.as_str()),
                                _ => None,
                            })
                    }
                    _ => None,
                })
                .collect();
            let last_continues = models
                .iter()
                .rev()
                .find(|model| model.cond != Cond::Never)
                .is_some_and(|model| model.next == Next::Continue);
            if !ends_quietly.is_empty() || last_continues {
                let mut places = ends_quietly.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>();
                if last_continues {
                    places.push("the end of its steps".to_owned());
                }
                self.notes.add(
                    &format!("{pointer}/steps"),
                    Outcome::Approximate,
                    format!(
                        "Watson's Fallback ends without a transfer at {}; Baton's Fallback always ends in a transfer, so it connects to an agent there",
                        places.join(", ")
                    ),
                );
                node = node.comment("Baton's Fallback always ends in a transfer: where Watson's ended without one, Baton connects to an agent.");
            }
            node.insert("steps", Node::seq(steps));
            self.model.fallback = Some(models);
        }
        // The note on how the Fallback ends counts for the action.
        let ending = self.notes.take_worst();
        self.actions_counts.add(worst.max(before).max(ending));
        self.system.insert("fallback", node);
    }

    /// "Trigger word detected": its `danger_words` and `profane_words` entities become Baton's
    /// two word groups.
    fn trigger_words(&mut self, action: &Value, pointer: &str) {
        self.notes.take_worst();
        let mut danger = Node::map();
        let mut profanity = Node::map();
        let mut seen = (false, false);
        for (index, step) in items(action.get("steps")).iter().enumerate() {
            let step_pointer = format!("{pointer}/steps/{index}");
            let entity = step
                .get("condition")
                .and_then(|condition| condition.get("entity"))
                .and_then(Value::as_str);
            let words = entity.map(|entity| self.entity_words(entity)).unwrap_or_default();
            let resolver = step.get("resolver").and_then(|r| r.get("type")).and_then(Value::as_str);
            match (entity, resolver) {
                (Some("danger_words"), Some("fallback")) if !seen.0 => {
                    seen.0 = true;
                    danger.insert("words", Node::seq(words.iter().map(Node::str).collect()));
                }
                (Some("profane_words"), _) if !seen.1 => {
                    seen.1 = true;
                    profanity.insert("words", Node::seq(words.iter().map(Node::str).collect()));
                    let mut problems = Vec::new();
                    let warning = self.first_text(step, &mut problems);
                    if let Some(warning) = warning {
                        profanity.insert("warning", Node::str(warning));
                    }
                    for problem in problems {
                        self.notes.add(&step_pointer, Outcome::Approximate, problem);
                    }
                    let max_hits = step.get("max_hits").and_then(Value::as_u64);
                    if let Some(max_hits) = max_hits.filter(|hits| *hits != 2 && *hits <= 1000) {
                        self.setting("profanity_warnings", Node::number(max_hits as f64));
                    }
                }
                _ => self.notes.add(
                    &step_pointer,
                    Outcome::NotCarried,
                    "Baton runs no steps on every message besides its two trigger-word groups; this step was left out",
                ),
            }
            let worst = self.notes.take_worst();
            self.steps_counts.add(worst);
        }
        for (group, present, name) in [
            (&mut danger, seen.0, "danger_words"),
            (&mut profanity, seen.1, "profane_words"),
        ] {
            if !present {
                group.insert("words", Node::seq(Vec::new()));
            } else if group.is_empty_collection()
                || matches!(&group.value, yaml_out::Y::Map(entries) if entries.iter().any(|(key, value)| key == "words" && value.is_empty_collection()))
            {
                *group = std::mem::replace(group, Node::map()).comment(format!(
                    "The `{name}` entity of the export lists no words, so none are watched for, as in Watson."
                ));
            }
        }
        let worst = self.notes.take_worst();
        self.actions_counts.add(worst);
        self.system.insert(
            "trigger_words",
            Node::map()
                .with("danger", danger)
                .with("profanity", profanity)
                .comment(format!("Watson's \"Trigger word detected\" ({pointer}).")),
        );
    }

    fn entity_words(&self, entity: &str) -> Vec<String> {
        let mut words = Vec::new();
        let Some(entity) = self.entities.get(entity) else {
            return words;
        };
        for value in items(entity.get("values")) {
            words.extend(text_of(value.get("value")).map(str::to_owned));
            words.extend(
                items(value.get("synonyms"))
                    .iter()
                    .filter_map(|synonym| text_of(Some(synonym)))
                    .map(str::to_owned),
            );
        }
        words
    }

    /// The steps of an action in execution order, with their models and the worst outcome.
    fn steps(
        &mut self,
        action: &Value,
        watson: &str,
        pointer: &str,
        of: StepsOf,
    ) -> (Vec<Node>, Vec<StepModel>, Outcome) {
        let steps = items(action.get("steps"));
        if action.get("steps").is_some_and(|steps| !steps.is_array()) {
            self.notes.add(
                &format!("{pointer}/steps"),
                Outcome::NotCarried,
                "`steps` is not a list; no steps were read",
            );
        }
        let order = execution_order(steps);
        if order.iter().enumerate().any(|(position, index)| position != *index) {
            self.notes.add(
                &format!("{pointer}/steps"),
                Outcome::Exact,
                "the steps are written in the order `next_step` runs them, which differs from the order of the `steps` list",
            );
        }
        // Action variables: each step's variable, named like the step.
        self.names.action.clear();
        self.names.types.clear();
        let mut ids: HashMap<usize, String> = HashMap::new();
        let mut used = HashSet::new();
        for &index in &order {
            let step = &steps[index];
            let watson_id = step.get("step").and_then(Value::as_str).unwrap_or("step");
            let mut id = identifier(watson_id);
            let base = id.clone();
            let mut n = 2;
            while !used.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            if let Some(variable) = step.get("variable").and_then(Value::as_str) {
                self.names.action.insert(variable.to_owned(), id.clone());
            }
            self.names.action.insert(watson_id.to_owned(), id.clone());
            ids.insert(index, id.clone());
            if let Some(question) = step.get("question") {
                let kind = self.question_kind(question).0;
                self.names.types.insert(id, kind);
            }
        }
        let mut nodes = Vec::new();
        let mut models = Vec::new();
        let mut worst = Outcome::Exact;
        for &index in &order {
            let step_pointer = format!("{pointer}/steps/{index}");
            let id = ids.get(&index).cloned().unwrap_or_default();
            let converted = self.step(&steps[index], &id, watson, index, &step_pointer, of, &ids, steps);
            let outcome = self.notes.take_worst();
            self.steps_counts.add(outcome);
            worst = worst.max(outcome);
            if let Some((node, model)) = converted {
                nodes.push(node);
                models.push(model);
            }
        }
        (nodes, models, worst)
    }

    fn question_kind(&self, question: &Value) -> QuestionKind {
        let entity = question.get("entity").and_then(Value::as_str);
        let kind = match entity {
            Some("sys-number") => ResponseType::Number,
            Some("sys-currency") => ResponseType::Currency,
            Some("sys-percentage") => ResponseType::Percentage,
            Some("sys-date") => ResponseType::Date,
            Some("sys-time") => ResponseType::Time,
            Some("sys-yes-no") => ResponseType::YesNo,
            Some(name) => {
                let Some(entity) = self.entities.get(name) else {
                    return (ResponseType::FreeText, Vec::new(), None);
                };
                let values = items(entity.get("values"));
                let patterns: Vec<String> = values
                    .iter()
                    .filter(|value| value.get("type").and_then(Value::as_str) == Some("patterns"))
                    .flat_map(|value| items(value.get("patterns")).iter().filter_map(|p| text_of(Some(p))))
                    .map(str::to_owned)
                    .collect();
                if !patterns.is_empty() {
                    let pattern = match patterns.as_slice() {
                        [one] => one.clone(),
                        many => many.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|"),
                    };
                    let kind = match pattern.contains('@') {
                        true => ResponseType::Email,
                        false => ResponseType::Regex,
                    };
                    return (kind, Vec::new(), Some(pattern));
                }
                let options = values
                    .iter()
                    .filter_map(|value| {
                        let label = text_of(value.get("value"))?.to_owned();
                        let synonyms = items(value.get("synonyms"))
                            .iter()
                            .filter_map(|s| text_of(Some(s)))
                            .map(str::to_owned)
                            .collect();
                        Some((label.clone(), label, synonyms))
                    })
                    .fold(Vec::<(String, String, Vec<String>)>::new(), |mut options, option| {
                        if !options
                            .iter()
                            .any(|(label, _, _)| label.eq_ignore_ascii_case(&option.0))
                        {
                            options.push(option);
                        }
                        options
                    });
                return match options.is_empty() {
                    true => (ResponseType::FreeText, Vec::new(), None),
                    false => (ResponseType::Options, options, None),
                };
            }
            None => ResponseType::FreeText,
        };
        (kind, Vec::new(), None)
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        step: &Value,
        id: &str,
        action: &str,
        index: usize,
        pointer: &str,
        of: StepsOf,
        ids: &HashMap<usize, String>,
        steps: &[Value],
    ) -> Option<(Node, StepModel)> {
        let mut node = Node::map().with("id", Node::str(id));
        if let Some(title) = text_of(step.get("title")) {
            node = node.comment(format!("Watson step title: {title}"));
        }
        let resolver = step.get("resolver").cloned().unwrap_or(Value::Null);
        let resolver_type = resolver.get("type").and_then(Value::as_str).unwrap_or("continue");
        let invoked = resolver
            .get("invoke_action")
            .and_then(|invoke| invoke.get("action"))
            .and_then(Value::as_str);
        // Condition.
        let mut cond = Cond::Always;
        if let Some(condition) = step.get("condition") {
            cond = condition_model(condition, &self.names);
            // In No action matches, Baton counts the misses itself: `count <= N` holds whenever
            // these steps run, and `count > N` with Fallback is Baton's `no_match_limit`.
            let count = no_match_count(condition);
            let escalates = resolver_type == "fallback" || invoked == Some(FALLBACK);
            match (of, count) {
                (StepsOf::NoActionMatches, Some(("gt", limit))) if escalates && limit <= 1000 => {
                    self.model.no_match_limit = limit;
                    self.no_match_escalates = true;
                    return None;
                }
                (StepsOf::NoActionMatches, Some(("gte", limit))) if escalates && (1..=1001).contains(&limit) => {
                    self.model.no_match_limit = limit - 1;
                    self.no_match_escalates = true;
                    return None;
                }
                (StepsOf::NoActionMatches, Some(("lte" | "lt", _))) => {
                    cond = Cond::Always;
                    node = node.comment(format!(
                        "Watson's condition {} always holds here: Baton runs these steps only until `no_match_limit`.",
                        clip(&condition.to_string())
                    ));
                }
                _ => match self.names.condition(condition) {
                    Ok(expression) => node.insert("condition", Node::str(expression)),
                    Err(why) => {
                        cond = Cond::Never;
                        self.notes.add(
                            &format!("{pointer}/condition"),
                            Outcome::NotCarried,
                            format!("the condition was not translated ({why}); the step is written with `condition: \"false\"` so it never runs until rewritten"),
                        );
                        node.insert(
                            "condition",
                            Node::str("false").comment(format!(
                                "TODO(import): Watson's condition {} was not translated: {why}.",
                                clip(&condition.to_string())
                            )),
                        );
                    }
                },
            }
        }
        // What the step says.
        let question = step.get("question");
        let (say, text, output_connect) = self.outputs(step.get("output"), &format!("{pointer}/output"));
        if !say.is_empty() {
            node.insert("say", say_node(say));
        }
        // The question.
        let mut question_model = None;
        if let Some(question) = question {
            let (q, model) = self.question(step, question, id, pointer);
            node.insert("question", q);
            question_model = Some(model);
            if let Some(tries) = question
                .get("max_tries")
                .and_then(Value::as_u64)
                .filter(|tries| *tries != 3 && (1..=1000).contains(tries))
            {
                node.insert(
                    "settings",
                    Node::map().with("invalid_answer_limit", Node::number(tries as f64)),
                );
            }
        } else {
            self.handlers_without_question(step, pointer);
        }
        // Assignments.
        let set = self.assignments(step, pointer);
        match set.is_empty_collection() {
            // `settings` was written before `set` for a question; YAML order does not matter.
            false => node.insert("set", set),
            // Only assignments that were left out: their TODO comments go above the step.
            true => {
                for comment in set.comments {
                    node = node.comment(comment);
                }
            }
        }
        // And then.
        let (mut then, mut next) = self.then(&resolver, action, index, pointer, of, ids, steps, question.is_some());
        // A connect_to_agent response in a step that otherwise continues is its transfer.
        if let Some(connect) = output_connect {
            match next {
                Next::Continue => {
                    then = Some(connect);
                    next = Next::Connect;
                }
                _ => self.notes.add(
                    &format!("{pointer}/output"),
                    Outcome::Approximate,
                    "a connect_to_agent response in a step that already goes elsewhere was left out",
                ),
            }
        }
        if let Some(then) = then {
            let settings = match &mut node.value {
                yaml_out::Y::Map(entries) => entries.iter().position(|(key, _)| key == "settings"),
                _ => None,
            };
            match settings {
                Some(at) => {
                    if let yaml_out::Y::Map(entries) = &mut node.value {
                        entries.insert(at, ("then".to_owned(), then));
                    }
                }
                None => node.insert("then", then),
            }
        }
        Some((
            node,
            StepModel {
                cond,
                question: question_model,
                text,
                next,
            },
        ))
    }

    /// The step's outputs, and its first static text.
    fn outputs(&mut self, output: Option<&Value>, pointer: &str) -> (Vec<Node>, Option<String>, Option<Node>) {
        let mut say = Vec::new();
        let mut first_text = None;
        let mut connect = None;
        for (index, response) in items(output.and_then(|o| o.get("generic"))).iter().enumerate() {
            let pointer = format!("{pointer}/generic/{index}");
            let kind = response.get("response_type").and_then(Value::as_str).unwrap_or("");
            if let Some(channels) = response.get("channels").and_then(Value::as_array) {
                let names: Vec<&str> = channels
                    .iter()
                    .filter_map(|channel| channel.get("channel").and_then(Value::as_str))
                    .collect();
                if !names.iter().any(|name| CHAT_CHANNELS.contains(name)) {
                    self.notes.add(
                        &pointer,
                        Outcome::Approximate,
                        format!(
                            "a `{kind}` response only for {} was left out: Baton answers every channel alike",
                            names.join(", ")
                        ),
                    );
                    continue;
                }
            }
            match kind {
                "text" => {
                    let values = items(response.get("values"));
                    let policy = response
                        .get("selection_policy")
                        .and_then(Value::as_str)
                        .unwrap_or("sequential");
                    let take = match policy {
                        "multiline" => values.len(),
                        _ => values.len().min(1),
                    };
                    if values.len() > take {
                        self.notes.add(
                            &format!("{pointer}/values"),
                            Outcome::Approximate,
                            format!(
                                "Baton says one text where Watson varied {} texts ({policy}); the first is kept",
                                values.len()
                            ),
                        );
                    }
                    for (value_index, value) in values.iter().take(take).enumerate() {
                        let mut problems = Vec::new();
                        let text = self.value_text(value, &mut problems);
                        for problem in problems {
                            self.notes.add(
                                &format!("{pointer}/values/{value_index}"),
                                Outcome::Approximate,
                                format!("part of the text was left out: {problem}"),
                            );
                        }
                        if text.trim().is_empty() {
                            continue;
                        }
                        if first_text.is_none() && !text.contains("${") {
                            first_text = Some(text.replace("$${", "${"));
                        }
                        say.push(Node::str(text));
                    }
                }
                "option" => {
                    let mut buttons = Node::map();
                    if let Some(title) = text_of(response.get("title")) {
                        let mut problems = Vec::new();
                        buttons.insert("title", Node::str(self.names.text(title, &mut problems)));
                        for problem in problems {
                            self.notes.add(&pointer, Outcome::Approximate, problem);
                        }
                    }
                    let mut choices = Vec::new();
                    for option in items(response.get("options")) {
                        let Some(label) = text_of(option.get("label")) else {
                            continue;
                        };
                        let value = option
                            .get("value")
                            .and_then(|v| v.get("input"))
                            .and_then(|input| input.get("text"))
                            .and_then(Value::as_str)
                            .unwrap_or(label);
                        choices.push(match value == label {
                            true => Node::str(label),
                            false => Node::map()
                                .with("label", Node::str(label))
                                .with("value", Node::str(value)),
                        });
                    }
                    if choices.is_empty() {
                        self.notes.add(
                            &pointer,
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
                "image" | "video" | "audio" | "iframe" | "embed" => {
                    let Some(url) = text_of(response.get("source")) else {
                        self.notes.add(
                            &pointer,
                            Outcome::NotCarried,
                            format!("a `{kind}` response without a source was left out"),
                        );
                        continue;
                    };
                    let label = text_of(response.get("title"))
                        .or_else(|| text_of(response.get("alt_text")))
                        .unwrap_or(url);
                    self.notes.add(
                        &pointer,
                        Outcome::Approximate,
                        format!("the `{kind}` response is written as a link: Baton shows no media"),
                    );
                    say.push(
                        Node::map().with(
                            "link",
                            Node::map()
                                .with("label", Node::str(escape_text(label)))
                                .with("url", Node::str(escape_text(url))),
                        ),
                    );
                }
                "connect_to_agent" => {
                    // The response carries the same fields as the resolver's `response`.
                    connect = Some(self.connect(response, &pointer));
                }
                "date" => self.notes.add(
                    &pointer,
                    Outcome::Approximate,
                    "the date picker was left out: Baton's date question reads dates the customer types",
                ),
                _ => self.notes.add(
                    &pointer,
                    Outcome::NotCarried,
                    format!("the `{kind}` response has no Baton equivalent and was left out"),
                ),
            }
        }
        (say, first_text, connect)
    }

    /// A `values[]` item: `text`, or `text_expression.concat`.
    fn value_text(&mut self, value: &Value, problems: &mut Vec<String>) -> String {
        if let Some(parts) = value
            .get("text_expression")
            .and_then(|expression| expression.get("concat"))
            .and_then(Value::as_array)
        {
            let mut text = String::new();
            for part in parts {
                if let Some(scalar) = part.get("scalar") {
                    match scalar {
                        Value::String(literal) => text.push_str(&escape_text(literal)),
                        other => text.push_str(&other.to_string()),
                    }
                    continue;
                }
                match self.names.value(part) {
                    Ok(expression) => text.push_str(&format!("${{{expression}}}")),
                    Err(why) => problems.push(why),
                }
            }
            return text;
        }
        match value.get("text").and_then(Value::as_str) {
            Some(text) => self.names.text(text, problems),
            None => String::new(),
        }
    }

    fn first_text(&mut self, step: &Value, problems: &mut Vec<String>) -> Option<String> {
        let generic = items(step.get("output").and_then(|output| output.get("generic")));
        let response = generic
            .iter()
            .find(|response| response.get("response_type").and_then(Value::as_str) == Some("text"))?;
        let value = items(response.get("values")).first()?;
        Some(self.value_text(value, problems)).filter(|text| !text.trim().is_empty())
    }

    fn question(&mut self, step: &Value, question: &Value, id: &str, pointer: &str) -> (Node, QuestionModel) {
        let question_pointer = format!("{pointer}/question");
        let (kind, options, pattern) = self.question_kind(question);
        let type_name = type_name(kind);
        let mut node = Node::map().with("type", Node::str(type_name));
        let entity = question.get("entity").and_then(Value::as_str);
        match (entity, kind) {
            (Some(entity), ResponseType::FreeText) if entity.starts_with("sys-") => self.notes.add(
                &question_pointer,
                Outcome::Approximate,
                format!("the `{entity}` entity has no Baton question type; the answer is taken as free text"),
            ),
            (Some(entity), ResponseType::FreeText) => self.notes.add(
                &question_pointer,
                Outcome::Approximate,
                format!("the entity `{entity}` has no values in the export; the answer is taken as free text"),
            ),
            (_, ResponseType::Email) => self.notes.add(
                &question_pointer,
                Outcome::Approximate,
                format!(
                    "the pattern entity `{}` looks for an email address; Baton's email type replaces its pattern",
                    entity.unwrap_or("?")
                ),
            ),
            (_, ResponseType::Regex) => self.notes.add(
                &question_pointer,
                Outcome::Approximate,
                format!(
                    "the pattern entity `{}` found its pattern anywhere in the answer; Baton's regex must match the whole answer",
                    entity.unwrap_or("?")
                ),
            ),
            _ => {}
        }
        if question.get("option_list").is_some() || question.get("source_variable").is_some() {
            self.notes.add(
                &question_pointer,
                Outcome::NotCarried,
                "the options built from a variable at run time have no Baton equivalent; the answer is taken as free text",
            );
            node = node.comment("TODO(import): Watson built this question's options from a variable at run time.");
        }
        let variable = step.get("variable").and_then(Value::as_str).unwrap_or(id);
        let variable = self
            .names
            .action
            .get(variable)
            .cloned()
            .unwrap_or_else(|| identifier(variable));
        if variable != id {
            node.insert("variable", Node::str(&variable));
        }
        if !options.is_empty() {
            node.insert(
                "options",
                Node::seq(
                    options
                        .iter()
                        .map(|(label, _, synonyms)| match synonyms.is_empty() {
                            true => Node::str(label),
                            false => Node::map()
                                .with("label", Node::str(label))
                                .with("synonyms", Node::seq(synonyms.iter().map(Node::str).collect())),
                        })
                        .collect(),
                ),
            );
        }
        if let Some(pattern) = pattern.filter(|_| kind == ResponseType::Regex) {
            match regex_valid(&pattern) {
                true => node.insert("pattern", Node::str(pattern)),
                false => {
                    self.notes.add(
                        &question_pointer,
                        Outcome::Approximate,
                        "the entity's pattern is not a regular expression Baton reads; the answer is taken as free text",
                    );
                    node = Node::map()
                        .with("type", Node::str("free_text"))
                        .comment(format!("TODO(import): Watson's pattern was {}.", clip(&pattern)));
                }
            }
        }
        // Handlers: re-prompts and validation.
        for (index, handler) in items(step.get("handlers")).iter().enumerate() {
            let handler_pointer = format!("{pointer}/handlers/{index}");
            let handler_type = handler.get("type").and_then(Value::as_str).unwrap_or("");
            let resolver = handler
                .get("resolver")
                .and_then(|r| r.get("type"))
                .and_then(Value::as_str);
            let mut problems = Vec::new();
            let text = self.first_text(handler, &mut problems);
            for problem in problems {
                self.notes.add(&handler_pointer, Outcome::Approximate, problem);
            }
            match (handler_type, resolver) {
                ("not_found", Some("prompt_again") | None) => {
                    if let Some(text) = text {
                        node.insert("invalid", Node::str(text));
                    }
                }
                ("not_found_max_tries", Some("fallback") | None) => {}
                ("input_validation", _) => {
                    for (constraint_index, constraint) in items(handler.get("input_constraints")).iter().enumerate() {
                        let name = constraint.get("name").and_then(Value::as_str).unwrap_or("");
                        let value = constraint
                            .get("value")
                            .and_then(|v| v.get("scalar"))
                            .and_then(Value::as_f64);
                        match (name, value) {
                            ("minimum", Some(value)) => node.insert("min", Node::number(value)),
                            ("maximum", Some(value)) => node.insert("max", Node::number(value)),
                            _ => self.notes.add(
                                &format!("{handler_pointer}/input_constraints/{constraint_index}"),
                                Outcome::NotCarried,
                                format!("the validation `{name}` has no Baton equivalent"),
                            ),
                        }
                    }
                    if let Some(text) = text {
                        node.insert("out_of_range", Node::str(text));
                    }
                    if let Some(expression) = handler.get("condition") {
                        self.notes.add(
                            &format!("{handler_pointer}/condition"),
                            Outcome::NotCarried,
                            format!(
                                "the validation condition {} has no Baton equivalent",
                                clip(&expression.to_string())
                            ),
                        );
                    }
                }
                (other, resolver) => self.notes.add(
                    &handler_pointer,
                    Outcome::Approximate,
                    format!(
                        "the `{other}` handler (then `{}`) has no Baton equivalent; Baton re-asks, then runs Fallback",
                        resolver.unwrap_or("?")
                    ),
                ),
            }
        }
        if let yaml_out::Y::Map(entries) = &mut node.value {
            let bound = |key: &str, entries: &[(String, Node)]| {
                entries
                    .iter()
                    .find(|(name, _)| name == key)
                    .and_then(|(_, value)| match &value.value {
                        yaml_out::Y::Raw(number) => number.parse::<f64>().ok(),
                        _ => None,
                    })
            };
            let numeric = matches!(
                kind,
                ResponseType::Number | ResponseType::Currency | ResponseType::Percentage
            );
            let crossed = matches!((bound("min", entries), bound("max", entries)), (Some(min), Some(max)) if min > max);
            if crossed || !numeric {
                let before = entries.len();
                entries.retain(|(name, _)| name != "min" && name != "max");
                if entries.len() != before {
                    self.notes.add(
                        &question_pointer,
                        Outcome::NotCarried,
                        "the minimum and maximum were left out: they cross, or the question is not a number",
                    );
                }
            }
        }
        let always = question.get("response_collection_behavior").and_then(Value::as_str) == Some("always_ask");
        let prompted_only = question.get("only_populate_when_prompted").and_then(Value::as_bool) == Some(true);
        let fills_up_front = matches!(
            kind,
            ResponseType::Currency
                | ResponseType::Percentage
                | ResponseType::Date
                | ResponseType::Time
                | ResponseType::Email
                | ResponseType::Phone
                | ResponseType::Options
        );
        if always || (prompted_only && fills_up_front) {
            node.insert("always_ask", Node::raw("true"));
        }
        let model = QuestionModel {
            kind,
            variable,
            options: options.into_iter().map(|(label, value, _)| (label, value)).collect(),
        };
        (node, model)
    }

    fn handlers_without_question(&mut self, step: &Value, pointer: &str) {
        for (index, handler) in items(step.get("handlers")).iter().enumerate() {
            let handler_type = handler.get("type").and_then(Value::as_str).unwrap_or("?");
            self.notes.add(
                &format!("{pointer}/handlers/{index}"),
                Outcome::Approximate,
                format!("the `{handler_type}` handler of a step without a question has no Baton equivalent"),
            );
        }
    }

    fn assignments(&mut self, step: &Value, pointer: &str) -> Node {
        let mut set = Node::map();
        for (index, assignment) in items(step.get("context").and_then(|c| c.get("variables")))
            .iter()
            .enumerate()
        {
            let assignment_pointer = format!("{pointer}/context/variables/{index}");
            let target = match (
                assignment.get("skill_variable").and_then(Value::as_str),
                assignment.get("variable").and_then(Value::as_str),
            ) {
                (Some(session), _) => self
                    .names
                    .session
                    .get(session)
                    .cloned()
                    .unwrap_or_else(|| identifier(session)),
                (None, Some(action)) => self
                    .names
                    .action
                    .get(action)
                    .cloned()
                    .unwrap_or_else(|| identifier(action)),
                (None, None) => {
                    self.notes.add(
                        &assignment_pointer,
                        Outcome::NotCarried,
                        "an assignment without a variable was left out",
                    );
                    continue;
                }
            };
            if BUILT_IN_VARIABLES.contains(&target.as_str()) {
                self.notes.add(
                    &assignment_pointer,
                    Outcome::NotCarried,
                    format!("`{target}` is a built-in variable in Baton and cannot be set"),
                );
                continue;
            }
            let Some(value) = assignment.get("value") else { continue };
            match self.names.value(value) {
                Ok(expression) => {
                    // A variable set twice in one step keeps its last value, as in Watson.
                    if let yaml_out::Y::Map(entries) = &mut set.value {
                        entries.retain(|(name, _)| *name != target);
                    }
                    set.insert(&target, Node::str(expression));
                }
                Err(why) => {
                    self.notes.add(
                        &assignment_pointer,
                        Outcome::NotCarried,
                        format!("setting `{target}` was left out: {why}"),
                    );
                    self.unset.insert(target.clone());
                    set = set.comment(format!(
                        "TODO(import): `{target}` was set to {} in Watson: {why}.",
                        clip(&value.to_string())
                    ));
                }
            }
        }
        set
    }

    #[allow(clippy::too_many_arguments)]
    fn then(
        &mut self,
        resolver: &Value,
        action: &str,
        index: usize,
        pointer: &str,
        of: StepsOf,
        ids: &HashMap<usize, String>,
        steps: &[Value],
        has_question: bool,
    ) -> (Option<Node>, Next) {
        let resolver_pointer = format!("{pointer}/resolver");
        let kind = resolver.get("type").and_then(Value::as_str).unwrap_or("continue");
        match kind {
            "continue" => (None, Next::Continue),
            "end_action" => (Some(Node::str("end")), Next::End),
            "end_session" => {
                self.notes.add(
                    &resolver_pointer,
                    Outcome::Approximate,
                    "ending the session is written as ending the action: Baton keeps the session open",
                );
                (Some(Node::str("end")), Next::End)
            }
            "connect_to_agent" => {
                let response = resolver.get("response").cloned().unwrap_or(Value::Null);
                (
                    Some(self.connect(&response, &format!("{resolver_pointer}/response"))),
                    Next::Connect,
                )
            }
            "fallback" => {
                self.notes.add(
                    &resolver_pointer,
                    Outcome::Approximate,
                    "a step cannot run Fallback in Baton; it connects to an agent (reason `planned`) instead",
                );
                (
                    Some(Node::str("connect_to_agent").comment("Watson ran Fallback here.")),
                    Next::Connect,
                )
            }
            "replay" => {
                // "Re-ask previous steps": `clear` lists the variables to ask again.
                let cleared: Vec<String> = items(resolver.get("clear"))
                    .iter()
                    .filter_map(|clear| clear.get("variable").and_then(Value::as_str))
                    .filter_map(|variable| {
                        steps.iter().enumerate().find_map(|(at, step)| {
                            let same = step.get("variable").and_then(Value::as_str) == Some(variable);
                            (same && step.get("question").is_some())
                                .then(|| ids.get(&at).cloned())
                                .flatten()
                        })
                    })
                    .collect();
                match (cleared.is_empty(), has_question) {
                    (false, _) => (
                        Some(Node::map().with("reask", Node::seq(cleared.iter().map(Node::str).collect()))),
                        Next::Other,
                    ),
                    (true, true) => {
                        let own = ids.get(&index).cloned().unwrap_or_default();
                        self.notes.add(
                            &resolver_pointer,
                            Outcome::Approximate,
                            "\"replay\" is written as asking this step's question again",
                        );
                        (
                            Some(Node::map().with("reask", Node::seq(vec![Node::str(own)]))),
                            Next::Other,
                        )
                    }
                    (true, false) => {
                        self.notes.add(
                            &resolver_pointer,
                            Outcome::NotCarried,
                            "\"replay\" of a step without a question has no Baton equivalent; the action continues",
                        );
                        (None, Next::Continue)
                    }
                }
            }
            "invoke_another_action" | "invoke_another_action_and_end" => {
                let target = resolver
                    .get("invoke_action")
                    .and_then(|invoke| invoke.get("action"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let back = kind == "invoke_another_action";
                if target == FALLBACK {
                    if of == StepsOf::Fallback {
                        self.notes.add(
                            &resolver_pointer,
                            Outcome::NotCarried,
                            "Fallback going to itself was left out",
                        );
                        return (None, Next::Continue);
                    }
                    self.notes.add(
                        &resolver_pointer,
                        Outcome::Approximate,
                        "going to Fallback is written as a connect to agent (reason `planned`): Baton's steps cannot run Fallback",
                    );
                    return (
                        Some(Node::str("connect_to_agent").comment("Watson went to its Fallback action here.")),
                        Next::Connect,
                    );
                }
                let Some(baton) = self.action_ids.get(target).cloned() else {
                    self.notes.add(
                        &resolver_pointer,
                        Outcome::NotCarried,
                        format!("going to `{target}` was left out: Baton cannot go to that action"),
                    );
                    let then = match back {
                        true => None,
                        false => Some(Node::str("end")),
                    };
                    return (then, if back { Next::Continue } else { Next::End });
                };
                let mut go_to = Node::map().with("action", Node::str(&baton));
                let breaks_cycle = self.cycle_breaks.contains(&(action.to_owned(), index));
                if back && breaks_cycle {
                    self.notes.add(
                        &resolver_pointer,
                        Outcome::Approximate,
                        format!("going to `{target}` and back would close a cycle of actions, which Baton refuses; this one does not come back"),
                    );
                    go_to.insert(
                        "return",
                        Node::raw("false").comment("Watson came back here, but that closes a cycle of go_to's."),
                    );
                } else if !back {
                    go_to.insert("return", Node::raw("false"));
                }
                let invoke = resolver.get("invoke_action");
                if invoke
                    .and_then(|invoke| invoke.get("parameters"))
                    .is_some_and(|parameters| !parameters.is_null())
                {
                    self.notes.add(
                        &format!("{resolver_pointer}/invoke_action/parameters"),
                        Outcome::Approximate,
                        "parameters passed to the other action have no Baton equivalent",
                    );
                }
                if let Some(result) = invoke
                    .and_then(|invoke| invoke.get("result_variable"))
                    .and_then(Value::as_str)
                {
                    self.unset.insert(identifier(result));
                }
                (Some(Node::map().with("go_to", go_to)), Next::GoTo { action: baton })
            }
            "callout" => {
                let callout = resolver.get("callout").cloned().unwrap_or(Value::Null);
                let method = callout.get("method").and_then(Value::as_str).unwrap_or("?");
                let path = callout.get("path").and_then(Value::as_str).unwrap_or("?");
                let result = callout.get("result_variable").and_then(Value::as_str).map(identifier);
                if let Some(result) = &result {
                    self.unset.insert(result.clone());
                }
                self.notes.add(
                    &resolver_pointer,
                    Outcome::NotCarried,
                    format!(
                        "the call to a custom extension ({method} {path}) has no Baton equivalent; the step is marked TODO for the author"
                    ),
                );
                let mut comment = format!(
                    "TODO(import): Watson called a custom extension here: {method} {path}{}. Baton has no callouts: do this work before the customer reaches this step, or hand over to an agent.",
                    result
                        .as_deref()
                        .map(|result| format!(", result in `{result}`"))
                        .unwrap_or_default()
                );
                if let Some(catalog) = callout
                    .get("internal")
                    .and_then(|i| i.get("catalog_item_id"))
                    .and_then(Value::as_str)
                {
                    comment.push_str(&format!(" (extension {catalog})"));
                }
                (Some(Node::str("continue").comment(comment)), Next::Continue)
            }
            other => {
                self.notes.add(
                    &resolver_pointer,
                    Outcome::NotCarried,
                    format!("the resolver `{other}` has no Baton equivalent; the action continues"),
                );
                (None, Next::Continue)
            }
        }
    }

    /// A connect_to_agent `response` (at `pointer`) as Baton's `then`.
    fn connect(&mut self, response: &Value, pointer: &str) -> Node {
        let mut connect = Node::map();
        let text = |key: &str, node_key: &str, connect: &mut Node, names: &mut Names, notes: &mut Notes| {
            let message = response.get(key).and_then(|value| match value {
                Value::String(text) => Some(text.as_str()),
                other => other.get("message").and_then(Value::as_str),
            });
            if let Some(message) = message.filter(|message| !message.trim().is_empty()) {
                let mut problems = Vec::new();
                connect.insert(node_key, Node::str(names.text(message, &mut problems)));
                for problem in problems {
                    notes.add(&format!("{pointer}/{key}"), Outcome::Approximate, problem);
                }
            }
        };
        text(
            "agent_available",
            "online",
            &mut connect,
            &mut self.names,
            &mut self.notes,
        );
        text(
            "agent_unavailable",
            "offline",
            &mut connect,
            &mut self.names,
            &mut self.notes,
        );
        text(
            "message_to_human_agent",
            "message_to_agent",
            &mut connect,
            &mut self.names,
            &mut self.notes,
        );
        let target = response.get("transfer_info").and_then(|info| info.get("target"));
        if let Some(target) = target.filter(|target| target.as_object().is_some_and(|object| !object.is_empty())) {
            self.notes.add(
                &format!("{pointer}/transfer_info"),
                Outcome::Approximate,
                format!(
                    "the desk-specific routing {} has no Baton equivalent; set `queue` by hand",
                    clip(&target.to_string())
                ),
            );
            connect = connect.comment(format!(
                "TODO(import): Watson routed with {}.",
                clip(&target.to_string())
            ));
        }
        match connect.is_empty_collection() && connect.comments.is_empty() {
            true => Node::str("connect_to_agent"),
            false => Node::map().with("connect_to_agent", connect),
        }
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
        for action in &self.model.actions {
            for step in &action.steps {
                known.extend(step.question.as_ref().map(|question| question.variable.clone()));
            }
        }
        for steps in [&self.model.greet, &self.model.no_match] {
            known.extend(
                steps
                    .iter()
                    .filter_map(|step| step.question.as_ref().map(|q| q.variable.clone())),
            );
        }
        for step in self.model.fallback.iter().flatten() {
            known.extend(step.question.as_ref().map(|q| q.variable.clone()));
        }
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

/// A question's type, its options (label, value, synonyms) and its pattern.
type QuestionKind = (ResponseType, Vec<(String, String, Vec<String>)>, Option<String>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepsOf {
    Action,
    System,
    NoActionMatches,
    Fallback,
}

/// Indices of `steps` in the order `next_step` runs them: from the step no other step names,
/// then any step the chain does not reach, in list order.
fn execution_order(steps: &[Value]) -> Vec<usize> {
    let id_of = |step: &Value| step.get("step").and_then(Value::as_str).map(str::to_owned);
    let by_id: HashMap<String, usize> = steps
        .iter()
        .enumerate()
        .filter_map(|(index, step)| id_of(step).map(|id| (id, index)))
        .collect();
    let targets: HashSet<String> = steps
        .iter()
        .filter_map(|step| step.get("next_step").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    let first = steps
        .iter()
        .position(|step| id_of(step).is_none_or(|id| !targets.contains(&id)));
    let mut current = first;
    while let Some(index) = current {
        if !seen.insert(index) {
            break;
        }
        order.push(index);
        current = steps[index]
            .get("next_step")
            .and_then(Value::as_str)
            .and_then(|next| by_id.get(next).copied());
    }
    for index in 0..steps.len() {
        if seen.insert(index) {
            order.push(index);
        }
    }
    order
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

/// `no_action_matches_count OP N`, as (OP, N).
fn no_match_count(condition: &Value) -> Option<(&str, u32)> {
    let object = condition.as_object()?;
    let (operator, operands) = object.iter().next()?;
    let [left, right] = operands.as_array()?.as_slice() else {
        return None;
    };
    if left.get("system_variable").and_then(Value::as_str) != Some("no_action_matches_count") {
        return None;
    }
    let limit = right.get("scalar").and_then(Value::as_u64)?;
    Some((operator.as_str(), u32::try_from(limit).ok()?))
}

/// What a condition is known to be, for the derived tests.
fn condition_model(condition: &Value, names: &Names) -> Cond {
    let reason = |value: &Value| -> Option<Cond> {
        let [left, right] = value.get("eq")?.as_array()?.as_slice() else {
            return None;
        };
        (left.get("system_variable").and_then(Value::as_str) == Some("fallback_reason")).then_some(())?;
        let text = right.get("scalar").and_then(Value::as_str)?;
        Some(match fallback_reason(text) {
            Some(reason) => Cond::Reasons(vec![reason]),
            None => Cond::Never,
        })
    };
    if let Some(cond) = reason(condition) {
        return cond;
    }
    if let Some(alternatives) = condition.get("or").and_then(Value::as_array) {
        let mut reasons = Vec::new();
        for alternative in alternatives {
            match reason(alternative) {
                Some(Cond::Reasons(found)) => reasons.extend(found),
                Some(_) => {}
                None => return Cond::Unknown,
            }
        }
        return Cond::Reasons(reasons);
    }
    if let Some([left, right]) = condition.get("eq").and_then(Value::as_array).map(Vec::as_slice)
        && let (Some(variable), Some(text)) = (
            left.get("variable").and_then(Value::as_str),
            right.get("scalar").and_then(Value::as_str),
        )
        && left.get("variable_path").is_none()
    {
        let baton = names
            .action
            .get(variable)
            .cloned()
            .unwrap_or_else(|| identifier(variable));
        return Cond::Equals(baton, text.to_owned());
    }
    Cond::Unknown
}

fn type_name(kind: ResponseType) -> &'static str {
    match kind {
        ResponseType::FreeText => "free_text",
        ResponseType::Number => "number",
        ResponseType::Currency => "currency",
        ResponseType::Percentage => "percentage",
        ResponseType::Date => "date",
        ResponseType::Time => "time",
        ResponseType::YesNo => "yes_no",
        ResponseType::Options => "options",
        ResponseType::Regex => "regex",
        ResponseType::Email => "email",
        ResponseType::Phone => "phone",
    }
}

fn say_node(mut say: Vec<Node>) -> Node {
    match say.len() {
        1 => say.remove(0),
        _ => Node::seq(say),
    }
}

fn fits(kind: &str, scalar: &Value) -> bool {
    match kind {
        "text" => scalar.is_string(),
        "number" | "currency" | "percentage" => scalar.is_number(),
        "boolean" => scalar.is_boolean(),
        "any" => !scalar.is_null(),
        // Dates and times are checked by the loader's parser; only plain ISO text is kept.
        "date" => scalar
            .as_str()
            .is_some_and(|text| text.len() == 10 && text.as_bytes()[4] == b'-'),
        "time" => scalar
            .as_str()
            .is_some_and(|text| (5..=8).contains(&text.len()) && text.as_bytes()[2] == b':'),
        _ => false,
    }
}

fn scalar_node(scalar: &Value) -> Node {
    match scalar {
        Value::String(text) => Node::str(text),
        Value::Number(number) => Node::raw(number.to_string()),
        Value::Bool(boolean) => Node::raw(boolean.to_string()),
        _ => Node::str(scalar.to_string()),
    }
}

/// Whether Baton reads the pattern: it compiles patterns with the `regex` crate, which refuses
/// Java's lookaround, possessive quantifiers and back-references.
fn regex_valid(pattern: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok()
}

/// A value in a sentence, at most 120 characters.
pub fn clip(text: &str) -> String {
    match text.chars().count() > 120 {
        true => format!("{}…", text.chars().take(120).collect::<String>()),
        false => text.to_owned(),
    }
}
