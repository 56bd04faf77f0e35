//! Loading an assistant folder: read, parse, validate against the schema, check, fill defaults.
//!
//! Every problem is reported at once, each as a [`Diagnostic`] with file, line and column:
//! 1. each file is read (refused whole above [`MAX_FILE_SIZE`]) and parsed as YAML (JSON is YAML)
//!    into a JSON value with the position of every node ([`crate::document`]);
//! 2. each file is validated against the JSON Schema derived from the spec types, and every schema
//!    error is translated into a sentence ([`crate::translate`]);
//! 3. the parts that passed are deserialized into the spec types, and the semantic checks run
//!    ([`crate::check`]): references, names, expressions, patterns, cycles, reachability;
//! 4. when there is no error, defaults are filled in (step ids, question variables, the system
//!    actions' wording) so the runtime never handles "unset".

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde_json::Value as Json;

use crate::check::{ActionEntry, Uses, step_id};
use crate::defaults;
use crate::diagnostic::{Diagnostic, Severity};
use crate::document::{self, Document, Position};
use crate::expr::Template;
use crate::spec::{
    Action, AssistantFile, ChangeTopic, ClarifyingQuestion, ConnectToAgent, Fallback, FallbackMessages, OneOrMany,
    Output, Resolved, Step, StepsOnly, SystemActions, TriggerWords, WordGroup,
};
use crate::{Assistant, schema};

/// Files larger than this are refused without being read.
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// An assistant (when it could be built) and every problem found.
#[derive(Debug)]
pub struct Loaded {
    /// Present when there is no error (warnings allowed).
    pub assistant: Option<Assistant>,
    /// Errors and warnings, in file order, then by line and column.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Warning)
    }
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Counts for `baton check`'s one-line summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub actions: usize,
    pub steps: usize,
    pub examples: usize,
}

/// `3 actions, 12 steps, 40 examples`
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}",
            plural(self.actions, "action"),
            plural(self.steps, "step"),
            plural(self.examples, "example")
        )
    }
}

impl Assistant {
    /// How many author actions, steps and examples the assistant has.
    pub fn summary(&self) -> Summary {
        Summary {
            actions: self.actions.len(),
            steps: self.actions.iter().map(|action| action.steps.len()).sum(),
            examples: self.actions.iter().map(|action| action.examples.len()).sum(),
        }
    }
}

/// A parsed file.
struct SourceFile {
    path: PathBuf,
    document: Document,
}

/// Collects diagnostics, placing them by JSON pointer in a file.
pub(crate) struct Report<'a> {
    files: &'a [SourceFile],
    diagnostics: Vec<Diagnostic>,
}

impl Report<'_> {
    fn path(&self, file: usize) -> PathBuf {
        self.files
            .get(file)
            .map(|source| source.path.clone())
            .unwrap_or_default()
    }

    /// The file and position of the node at `pointer` (its key when `at_key`).
    pub fn place(&self, file: usize, pointer: &str, at_key: bool) -> (PathBuf, Position) {
        let position = match self.files.get(file) {
            Some(source) if at_key => source.document.key_position(pointer),
            Some(source) => source.document.value_position(pointer),
            None => Position { line: 1, column: 1 },
        };
        (self.path(file), position)
    }

    /// The position of byte `offset` inside the text scalar at `pointer`.
    pub fn inside(&self, file: usize, pointer: &str, text: &str, offset: usize) -> Position {
        match self.files.get(file) {
            Some(source) => source.document.position_inside(pointer, text, offset),
            None => Position { line: 1, column: 1 },
        }
    }

    pub fn push_at(&mut self, severity: Severity, code: &'static str, message: String, file: usize, at: Position) {
        self.diagnostics.push(Diagnostic {
            severity,
            code,
            message,
            file: self.path(file),
            line: at.line,
            column: at.column,
        });
    }

    pub fn at_value(&mut self, severity: Severity, code: &'static str, message: String, file: usize, pointer: &str) {
        let (_, at) = self.place(file, pointer, false);
        self.push_at(severity, code, message, file, at);
    }

    pub fn at_key(&mut self, severity: Severity, code: &'static str, message: String, file: usize, pointer: &str) {
        let (_, at) = self.place(file, pointer, true);
        self.push_at(severity, code, message, file, at);
    }
}

struct Schemas {
    assistant: Json,
    assistant_validator: jsonschema::Validator,
    action: Json,
    action_validator: jsonschema::Validator,
}

static SCHEMAS: LazyLock<Result<Schemas, String>> = LazyLock::new(|| {
    let assistant = schema::assistant_schema();
    let action = schema::action_schema();
    let assistant_validator = jsonschema::validator_for(&assistant).map_err(|error| error.to_string())?;
    let action_validator = jsonschema::validator_for(&action).map_err(|error| error.to_string())?;
    Ok(Schemas {
        assistant,
        assistant_validator,
        action,
        action_validator,
    })
});

fn diagnostic(path: &Path, code: &'static str, message: String, at: Position) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        code,
        message,
        file: path.to_path_buf(),
        line: at.line,
        column: at.column,
    }
}

const START: Position = Position { line: 1, column: 1 };

/// Reads a file as text, refusing it whole when it is too large.
fn read_file(path: &Path) -> Result<String, Diagnostic> {
    let unreadable =
        |error: std::io::Error| diagnostic(path, "unreadable", format!("cannot read the file: {error}"), START);
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let too_large = |size: u64| {
        diagnostic(
            path,
            "file-too-large",
            format!(
                "the file is {:.1} MB; files larger than {} MB are refused",
                size as f64 / 1_048_576.0,
                MAX_FILE_SIZE / 1_048_576
            ),
            START,
        )
    };
    if size > MAX_FILE_SIZE {
        return Err(too_large(size));
    }
    // The size can change between the check and the read; never read more than the limit.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let line = error.as_bytes()[..offset].iter().filter(|byte| **byte == b'\n').count() + 1;
        diagnostic(
            path,
            "not-utf8",
            format!("the file is not UTF-8 text (bad byte at offset {offset})"),
            Position {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: 1,
            },
        )
    })
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| extensions.iter().any(|wanted| extension.eq_ignore_ascii_case(wanted)))
}

/// Reads `dir/assistant.yaml` (or `.yml`, `.json`) and `dir/actions/*.{yaml,yml,json}`, one action
/// per file, files in name order. Never panics; every problem is a diagnostic.
pub fn load_dir(dir: &Path) -> Loaded {
    let mut diagnostics = Vec::new();
    if !dir.is_dir() {
        diagnostics.push(diagnostic(
            dir,
            "not-found",
            "no such folder; an assistant is a folder with assistant.yaml and actions/".into(),
            START,
        ));
        return Loaded {
            assistant: None,
            diagnostics,
        };
    }
    let candidates: Vec<PathBuf> = ["assistant.yaml", "assistant.yml", "assistant.json"]
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.is_file())
        .collect();
    if let [first, second, ..] = candidates.as_slice() {
        diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "several-assistant-files",
            message: format!(
                "both {} and {} exist; only {} is read",
                first.display(),
                second.display(),
                first.display()
            ),
            file: second.clone(),
            line: 1,
            column: 1,
        });
    }
    let assistant_text = match candidates.first() {
        Some(path) => match read_file(path) {
            Ok(text) => Some((path.clone(), text)),
            Err(problem) => {
                diagnostics.push(problem);
                None
            }
        },
        None => None,
    };
    let mut action_paths: Vec<PathBuf> = match std::fs::read_dir(dir.join("actions")) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file() && has_extension(path, &["yaml", "yml", "json"]))
            .collect(),
        Err(_) => Vec::new(),
    };
    action_paths.sort();
    let mut action_texts = Vec::new();
    for path in action_paths {
        match read_file(&path) {
            Ok(text) => action_texts.push((path, text)),
            Err(problem) => diagnostics.push(problem),
        }
    }
    if candidates.is_empty() && action_texts.is_empty() && diagnostics.is_empty() {
        diagnostics.push(diagnostic(
            &dir.join("assistant.yaml"),
            "no-assistant-file",
            "the folder has no assistant.yaml and no actions/ files".into(),
            START,
        ));
    }
    let folder_name = dir
        .canonicalize()
        .ok()
        .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|name| name.to_string_lossy().into_owned()));
    let assistant_path = candidates
        .first()
        .cloned()
        .unwrap_or_else(|| dir.join("assistant.yaml"));
    let assistant_text = assistant_text.map(|(_, text)| text);
    load_sources(
        folder_name,
        (assistant_path, assistant_text.unwrap_or_default()),
        action_texts,
        diagnostics,
    )
}

/// Loads a definition written as one `assistant.yaml` text with inline `actions:`, reporting
/// diagnostics against `file_name`. Handy for tests.
pub fn load_str(file_name: &str, assistant_yaml: &str) -> Loaded {
    load_sources(
        None,
        (PathBuf::from(file_name), assistant_yaml.to_owned()),
        Vec::new(),
        Vec::new(),
    )
}

/// Parses YAML (or JSON) text into a JSON value, with the same reader the loader uses
/// (bounded nesting and alias expansion). The error is a sentence with its line and column.
pub fn yaml_to_json(text: &str) -> Result<Json, String> {
    match document::parse(text).0 {
        Ok(document) => Ok(document.value),
        Err(error) => Err(format!(
            "{}:{}: {}",
            error.position.line, error.position.column, error.message
        )),
    }
}

fn parse_source(path: PathBuf, text: &str, diagnostics: &mut Vec<Diagnostic>) -> Option<SourceFile> {
    let (result, problems) = document::parse(text);
    for problem in problems {
        diagnostics.push(diagnostic(&path, problem.code, problem.message, problem.position));
    }
    match result {
        Ok(document) => Some(SourceFile { path, document }),
        Err(error) => {
            diagnostics.push(diagnostic(&path, error.code, error.message, error.position));
            None
        }
    }
}

fn under(pointer: &str, base: &str) -> bool {
    pointer == base || pointer.strip_prefix(base).is_some_and(|rest| rest.starts_with('/'))
}

/// Validates one file's value, reporting every schema problem; returns the pointers that failed.
fn validate(report: &mut Report<'_>, file: usize, value: &Json, is_action: bool) -> Vec<String> {
    let schemas = match &*SCHEMAS {
        Ok(schemas) => schemas,
        Err(error) => {
            report.push_at(
                Severity::Error,
                "schema-unavailable",
                format!("the built-in schema failed to compile: {error}"),
                file,
                START,
            );
            return vec![String::new()];
        }
    };
    let (validator, schema, noun) = if is_action {
        (&schemas.action_validator, &schemas.action, "the action")
    } else {
        (&schemas.assistant_validator, &schemas.assistant, "the assistant file")
    };
    let problems = crate::translate::problems(validator, schema, value, noun);
    let mut failed = Vec::new();
    for problem in problems {
        if problem.at_key {
            report.at_key(Severity::Error, problem.code, problem.message, file, &problem.pointer);
        } else {
            report.at_value(Severity::Error, problem.code, problem.message, file, &problem.pointer);
        }
        failed.push(problem.pointer);
    }
    failed
}

fn deserialize<T: serde::de::DeserializeOwned>(
    report: &mut Report<'_>,
    file: usize,
    pointer: &str,
    value: Json,
) -> Option<T> {
    match serde_json::from_value(value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            report.at_value(
                Severity::Error,
                "invalid",
                format!("cannot read this definition: {error}"),
                file,
                pointer,
            );
            None
        }
    }
}

/// What can still be checked of an assistant file that failed the schema: every top-level part
/// that passed, and every declared variable name (a broken declaration still declares the name,
/// so its uses are not reported as unknown too).
fn salvage_assistant(value: Json, failed: &[String]) -> AssistantFile {
    let Json::Object(map) = value else {
        return AssistantFile::default();
    };
    let mut kept = serde_json::Map::new();
    for (key, part) in map {
        let pointer = format!("/{}", document::escape(&key));
        match (key.as_str(), part) {
            ("variables", Json::Object(variables)) => {
                let variables = variables
                    .into_iter()
                    .map(|(name, spec)| {
                        let variable_pointer = format!("{pointer}/{}", document::escape(&name));
                        let broken = failed.iter().any(|failure| under(failure, &variable_pointer));
                        let spec = if broken {
                            serde_json::json!({"type": "any"})
                        } else {
                            spec
                        };
                        (name, spec)
                    })
                    .collect();
                kept.insert(key, Json::Object(variables));
            }
            (_, part) if !failed.iter().any(|failure| under(failure, &pointer)) => {
                kept.insert(key, part);
            }
            _ => {}
        }
    }
    serde_json::from_value(Json::Object(kept)).unwrap_or_default()
}

/// What can still be checked of an action that failed the schema: its id, and its steps that
/// passed (a broken step stays as an empty placeholder, so the others keep their positions).
/// None when the action has no usable id.
fn salvage_action(value: &Json, failed: &[String], pointer: &str) -> Option<Action> {
    let id = value.get("id")?.as_str()?.to_owned();
    if failed.iter().any(|failure| under(failure, &format!("{pointer}/id"))) {
        return None;
    }
    let examples = match value.get("examples").and_then(Json::as_array) {
        Some(examples) if examples.iter().all(Json::is_string) => {
            examples.iter().filter_map(Json::as_str).map(str::to_owned).collect()
        }
        // Unreadable examples must not also be reported as missing ones.
        _ => vec![String::new()],
    };
    let steps = value
        .get("steps")
        .and_then(Json::as_array)
        .map(|steps| {
            steps
                .iter()
                .enumerate()
                .map(|(index, step)| {
                    let step_pointer = format!("{pointer}/steps/{index}");
                    let broken = failed.iter().any(|failure| under(failure, &step_pointer));
                    let parsed = if broken {
                        None
                    } else {
                        serde_json::from_value::<Step>(step.clone()).ok()
                    };
                    parsed.unwrap_or_else(|| placeholder_step(step.get("id").and_then(Json::as_str)))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Action {
        id,
        title: None,
        description: None,
        examples,
        settings: crate::spec::Settings::default(),
        steps,
    })
}

fn placeholder_step(id: Option<&str>) -> Step {
    Step {
        id: id.map(str::to_owned),
        condition: None,
        say: OneOrMany::default(),
        question: None,
        set: indexmap::IndexMap::new(),
        then: crate::spec::Then::Continue,
        settings: crate::spec::Settings::default(),
    }
}

fn load_sources(
    folder_name: Option<String>,
    assistant: (PathBuf, String),
    actions: Vec<(PathBuf, String)>,
    mut diagnostics: Vec<Diagnostic>,
) -> Loaded {
    // Files that could not be read at all (too large, not UTF-8) may hold actions.
    let n_unread = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .count();
    // File 0 is always the assistant file (an empty document when there is none).
    let mut files = Vec::new();
    let mut readable = Vec::new();
    let (assistant_path, assistant_text) = assistant;
    match parse_source(assistant_path.clone(), &assistant_text, &mut diagnostics) {
        Some(source) => {
            files.push(source);
            readable.push(true);
        }
        None => {
            files.push(SourceFile {
                path: assistant_path,
                document: Document::default(),
            });
            readable.push(false);
        }
    }
    for (path, text) in actions {
        if let Some(source) = parse_source(path, &text, &mut diagnostics) {
            files.push(source);
            readable.push(true);
        }
    }

    let mut report = Report {
        files: &files,
        diagnostics: Vec::new(),
    };
    let mut assistant_file = AssistantFile::default();
    let mut entries: Vec<ActionEntry> = Vec::new();
    let mut structurally_complete = readable.iter().all(|ok| *ok);
    // A file that could not be parsed may hold actions: never call such an assistant empty.
    let mut n_written = files.len() - 1 + readable.iter().filter(|ok| !**ok).count() + n_unread;

    // The assistant file: settings and system actions, then each inline action on its own, so a
    // problem in one action does not hide the checks of the others.
    let mut assistant_value = match &files[0].document.value {
        Json::Null => Json::Object(serde_json::Map::new()),
        other => other.clone(),
    };
    if readable[0] {
        let failed = validate(&mut report, 0, &assistant_value, false);
        let inline = match &mut assistant_value {
            Json::Object(map) => map.shift_remove("actions"),
            _ => None,
        };
        // When the file or its `actions` is the wrong shape, actions may be written there in error.
        if failed.iter().any(|pointer| pointer.is_empty() || pointer == "/actions") {
            n_written += 1;
        }
        if failed.iter().any(|pointer| !under(pointer, "/actions")) {
            structurally_complete = false;
            assistant_file = salvage_assistant(assistant_value, &failed);
        } else if let Some(parsed) = deserialize::<AssistantFile>(&mut report, 0, "", assistant_value) {
            assistant_file = parsed;
        } else {
            structurally_complete = false;
        }
        if let Some(Json::Array(inline)) = inline {
            n_written += inline.len();
            for (index, value) in inline.into_iter().enumerate() {
                let pointer = format!("/actions/{index}");
                if failed.iter().any(|failure| under(failure, &pointer)) {
                    structurally_complete = false;
                    if let Some(action) = salvage_action(&value, &failed, &pointer) {
                        entries.push(ActionEntry {
                            action,
                            file: 0,
                            pointer,
                        });
                    }
                    continue;
                }
                match deserialize::<Action>(&mut report, 0, &pointer, value) {
                    Some(action) => entries.push(ActionEntry {
                        action,
                        file: 0,
                        pointer,
                    }),
                    None => structurally_complete = false,
                }
            }
        }
    }
    for (file, source) in files.iter().enumerate().skip(1) {
        let value = source.document.value.clone();
        if value.is_null() {
            report.push_at(
                Severity::Error,
                "empty-file",
                "the file is empty; an action file holds one action with an `id` and `steps`".into(),
                file,
                START,
            );
            structurally_complete = false;
            continue;
        }
        let failed = validate(&mut report, file, &value, true);
        if !failed.is_empty() {
            structurally_complete = false;
            if let Some(action) = salvage_action(&value, &failed, "") {
                entries.push(ActionEntry {
                    action,
                    file,
                    pointer: String::new(),
                });
            }
            continue;
        }
        match deserialize::<Action>(&mut report, file, "", value) {
            Some(action) => entries.push(ActionEntry {
                action,
                file,
                pointer: String::new(),
            }),
            None => structurally_complete = false,
        }
    }

    let uses = crate::check::check(&mut report, &assistant_file, &entries, n_written);
    diagnostics.append(&mut report.diagnostics);
    drop(report);

    // Files in order (assistant file first, then actions by name), then by place.
    let order: Vec<PathBuf> = files.iter().map(|file| file.path.clone()).collect();
    diagnostics.sort_by_key(|diagnostic| {
        let rank = order
            .iter()
            .position(|path| *path == diagnostic.file)
            .unwrap_or(usize::MAX);
        (rank, diagnostic.file.clone(), diagnostic.line, diagnostic.column)
    });
    diagnostics.dedup();

    let failed = diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error);
    let assistant = if failed || !structurally_complete {
        None
    } else {
        Some(build(folder_name, assistant_file, entries, uses))
    };
    Loaded { assistant, diagnostics }
}

fn fill_steps(steps: &mut [Step]) {
    for (index, step) in steps.iter_mut().enumerate() {
        let id = step_id(step, index);
        if let Some(question) = &mut step.question
            && question.variable.is_none()
        {
            question.variable = Some(id.clone());
        }
        step.id = Some(id);
    }
}

fn saying(text: &str) -> Vec<Step> {
    let mut steps = vec![Step {
        say: OneOrMany::One(Output::Text(Template::new(text))),
        ..placeholder_step(None)
    }];
    fill_steps(&mut steps);
    steps
}

fn template_or(template: Option<Template>, default: &str) -> Option<Template> {
    Some(template.unwrap_or_else(|| Template::new(default)))
}

fn fill_connect(connect: ConnectToAgent) -> ConnectToAgent {
    ConnectToAgent {
        online: template_or(connect.online, defaults::DEFAULT_AGENT_ONLINE),
        offline: template_or(connect.offline, defaults::DEFAULT_AGENT_OFFLINE),
        message_to_agent: connect.message_to_agent,
        queue: connect.queue,
        voice: connect.voice,
    }
}

/// The system actions with every default materialized.
fn fill_system(system: SystemActions) -> SystemActions {
    let steps_or = |given: Option<StepsOnly>, default: &str| {
        Some(match given {
            Some(mut given) => {
                fill_steps(&mut given.steps);
                given
            }
            None => StepsOnly { steps: saying(default) },
        })
    };
    let fallback = system.fallback.unwrap_or_default();
    let messages = fallback.messages;
    let fallback = Fallback {
        examples: Some(fallback.examples.unwrap_or_else(|| {
            defaults::AGENT_REQUESTED_EXAMPLES
                .iter()
                .map(|example| (*example).to_owned())
                .collect()
        })),
        messages: FallbackMessages {
            no_action_matches: template_or(messages.no_action_matches, defaults::FALLBACK_NO_ACTION_MATCHES),
            step_validation_failed: template_or(
                messages.step_validation_failed,
                defaults::FALLBACK_STEP_VALIDATION_FAILED,
            ),
            agent_requested: template_or(messages.agent_requested, defaults::FALLBACK_AGENT_REQUESTED),
            danger_word: template_or(messages.danger_word, defaults::FALLBACK_DANGER_WORD),
            profanity: template_or(messages.profanity, defaults::FALLBACK_PROFANITY),
        },
        connect: fill_connect(fallback.connect),
        steps: fallback.steps.map(|mut steps| {
            fill_steps(&mut steps);
            steps
        }),
    };
    let words = system.trigger_words.unwrap_or_default();
    let profanity = words.profanity.unwrap_or_else(|| WordGroup {
        words: defaults::PROFANITY_WORDS
            .iter()
            .map(|word| (*word).to_owned())
            .collect(),
        warning: None,
    });
    // Split and lower-cased once here, so that each message is compared with them as they are.
    let phrases = |words: Vec<String>| -> Vec<String> {
        words
            .iter()
            .map(|word| crate::words::trigger_phrase(word))
            .filter(|phrase| !phrase.is_empty())
            .collect()
    };
    let danger = words.danger.unwrap_or_default();
    let trigger_words = TriggerWords {
        danger: Some(WordGroup {
            words: phrases(danger.words),
            warning: danger.warning,
        }),
        profanity: Some(WordGroup {
            words: phrases(profanity.words),
            warning: template_or(profanity.warning, defaults::PROFANITY_WARNING),
        }),
    };
    let clarify = system.clarifying_question.unwrap_or_default();
    let clarifying_question = ClarifyingQuestion {
        prompt: template_or(clarify.prompt, defaults::CLARIFY_PROMPT),
        none_of_the_above: Some(
            clarify
                .none_of_the_above
                .unwrap_or_else(|| defaults::CLARIFY_NONE_OF_THE_ABOVE.to_owned()),
        ),
        connect_to_support: Some(
            clarify
                .connect_to_support
                .unwrap_or_else(|| defaults::CLARIFY_CONNECT_TO_SUPPORT.to_owned()),
        ),
        none_response: template_or(clarify.none_response, defaults::CLARIFY_NONE_RESPONSE),
        max_candidates: Some(clarify.max_candidates.unwrap_or(defaults::CLARIFY_MAX_CANDIDATES)),
    };
    let change_topic = ChangeTopic {
        return_prompt: Some(
            system
                .change_topic
                .and_then(|change| change.return_prompt)
                .unwrap_or_else(|| defaults::CHANGE_TOPIC_RETURN.to_owned()),
        ),
    };
    SystemActions {
        greet: steps_or(system.greet, defaults::GREETING),
        no_action_matches: steps_or(system.no_action_matches, defaults::NO_ACTION_MATCHES),
        fallback: Some(fallback),
        trigger_words: Some(trigger_words),
        clarifying_question: Some(clarifying_question),
        change_topic: Some(change_topic),
    }
}

fn fill_then(step: &mut Step) {
    // A bare `then: connect_to_agent` carries every default, like the full form.
    if let crate::spec::Then::Full(crate::spec::FullThen::ConnectToAgent(connect)) = &mut step.then {
        *connect = fill_connect(std::mem::take(connect));
    }
}

fn build(folder_name: Option<String>, file: AssistantFile, entries: Vec<ActionEntry>, uses: Uses) -> Assistant {
    let id = file
        .id
        .clone()
        .or(folder_name)
        .unwrap_or_else(|| "assistant".to_owned());
    let mut seen = HashSet::new();
    let actions = entries
        .into_iter()
        .map(|entry| entry.action)
        .filter(|action| seen.insert(action.id.clone()))
        .map(|mut action| {
            fill_steps(&mut action.steps);
            action.steps.iter_mut().for_each(fill_then);
            action
        })
        .collect();
    Assistant {
        name: file.name.clone().unwrap_or_else(|| id.clone()),
        id,
        locale: file.locale.clone().unwrap_or_else(|| "en-US".to_owned()),
        timezone: file.timezone.clone().unwrap_or_else(|| "UTC".to_owned()),
        settings: file.settings.resolve(Resolved::DEFAULT),
        variables: file.variables,
        counterexamples: file.counterexamples,
        actions,
        system: fill_system(file.system),
        keeps_history: uses.session_history,
        voice: file.voice,
    }
}
