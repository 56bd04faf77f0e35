//! Semantic checks of a definition that passed the schema: references, names, expressions.
//!
//! Every check reports through [`Report`] with the file and the JSON pointer of what it is about,
//! so each problem gets a line and column; all checks run, so `baton check` shows every problem at once.
//!
//! Severity decisions: a step that can never run (it follows an unconditional `end`,
//! `connect_to_agent` or `go_to` without return at the same level) is a **warning**, since it is
//! dead but harmless; an action without examples is a warning (go-to-only actions are legal),
//! but one that no `go_to` reaches either is an **error**, since it can never run.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use crate::diagnostic::Severity;
use crate::document::Position;
use crate::expr::{Expr, Expression, FUNCTIONS, Part, Template};
use crate::load::Report;
use crate::spec::{
    Action, AssistantFile, ConnectToAgent, FullThen, Output, Question, ResponseType, RichOutput, SimpleThen, Step,
    Then, VariableSpec, VariableType,
};
use crate::suggest::closest;

/// Variables every session has.
pub const BUILT_IN_VARIABLES: &[&str] = &[
    "now",
    "current_date",
    "current_time",
    "turn_count",
    "user_id",
    "channel",
    "locale",
    "timezone",
    "fallback_reason",
    "no_action_matches_count",
    "digressed_from",
    "session_history",
];

/// An action as read, with where it came from.
#[derive(Debug)]
pub struct ActionEntry {
    pub action: Action,
    pub file: usize,
    /// JSON pointer of the action in its file: "" for an action file, `/actions/N` inline.
    pub pointer: String,
}

/// A list of steps and where it is.
struct StepList<'a> {
    file: usize,
    /// Pointer of the list's owner; step `j` is at `{pointer}/steps/{j}`.
    pointer: String,
    steps: &'a [Step],
    /// The author action owning the list (None for system actions).
    action: Option<&'a str>,
}

enum Site<'a> {
    Expression(&'a Expression),
    Template(&'a Template),
}

/// The id a step has once defaults are filled in.
pub fn step_id(step: &Step, index: usize) -> String {
    step.id.clone().unwrap_or_else(|| format!("step_{}", index + 1))
}

/// Ids are letters, digits and underscores.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn step_lists<'a>(file: &'a AssistantFile, actions: &'a [ActionEntry]) -> Vec<StepList<'a>> {
    let mut lists = Vec::new();
    for entry in actions {
        lists.push(StepList {
            file: entry.file,
            pointer: entry.pointer.clone(),
            steps: &entry.action.steps,
            action: Some(&entry.action.id),
        });
    }
    let system = &file.system;
    if let Some(greet) = &system.greet {
        lists.push(StepList {
            file: 0,
            pointer: "/system/greet".into(),
            steps: &greet.steps,
            action: None,
        });
    }
    if let Some(no_match) = &system.no_action_matches {
        lists.push(StepList {
            file: 0,
            pointer: "/system/no_action_matches".into(),
            steps: &no_match.steps,
            action: None,
        });
    }
    if let Some(steps) = system.fallback.as_ref().and_then(|fallback| fallback.steps.as_ref()) {
        lists.push(StepList {
            file: 0,
            pointer: "/system/fallback".into(),
            steps,
            action: None,
        });
    }
    lists
}

fn connect_sites<'a>(connect: &'a ConnectToAgent, base: &str, sites: &mut Vec<(String, Site<'a>)>) {
    for (name, template) in [
        ("online", &connect.online),
        ("offline", &connect.offline),
        ("message_to_agent", &connect.message_to_agent),
    ] {
        if let Some(template) = template {
            sites.push((format!("{base}/{name}"), Site::Template(template)));
        }
    }
}

fn output_sites<'a>(output: &'a Output, base: String, sites: &mut Vec<(String, Site<'a>)>) {
    match output {
        Output::Text(template) => sites.push((base, Site::Template(template))),
        Output::Rich(RichOutput::Text(template)) => sites.push((format!("{base}/text"), Site::Template(template))),
        Output::Rich(RichOutput::Options(buttons)) => {
            if let Some(title) = &buttons.title {
                sites.push((format!("{base}/options/title"), Site::Template(title)));
            }
        }
        Output::Rich(RichOutput::Link(link)) => {
            sites.push((format!("{base}/link/label"), Site::Template(&link.label)));
            sites.push((format!("{base}/link/url"), Site::Template(&link.url)));
        }
        Output::Rich(RichOutput::Pause(_)) => {}
        Output::Rich(RichOutput::Channels(channels)) => {
            let web = format!("{base}/channels/web");
            let voice = format!("{base}/channels/voice");
            for (outputs, at) in [(Some(&*channels.web), web), (channels.voice.as_deref(), voice)] {
                let Some(outputs) = outputs else { continue };
                match outputs {
                    crate::spec::OneOrMany::One(output) => output_sites(output, at, sites),
                    crate::spec::OneOrMany::Many(outputs) => {
                        for (index, output) in outputs.iter().enumerate() {
                            output_sites(output, format!("{at}/{index}"), sites);
                        }
                    }
                }
            }
        }
    }
}

fn step_sites<'a>(step: &'a Step, base: &str, sites: &mut Vec<(String, Site<'a>)>) {
    if let Some(condition) = &step.condition {
        sites.push((format!("{base}/condition"), Site::Expression(condition)));
    }
    match &step.say {
        crate::spec::OneOrMany::One(output) => output_sites(output, format!("{base}/say"), sites),
        crate::spec::OneOrMany::Many(outputs) => {
            for (index, output) in outputs.iter().enumerate() {
                output_sites(output, format!("{base}/say/{index}"), sites);
            }
        }
    }
    if let Some(question) = &step.question {
        let question_base = format!("{base}/question");
        for (name, expression) in [("after", &question.after), ("before", &question.before)] {
            if let Some(expression) = expression {
                sites.push((format!("{question_base}/{name}"), Site::Expression(expression)));
            }
        }
        for (name, template) in [("invalid", &question.invalid), ("out_of_range", &question.out_of_range)] {
            if let Some(template) = template {
                sites.push((format!("{question_base}/{name}"), Site::Template(template)));
            }
        }
    }
    for (name, expression) in &step.set {
        sites.push((
            format!("{base}/set/{}", crate::document::escape(name)),
            Site::Expression(expression),
        ));
    }
    if let Then::Full(FullThen::ConnectToAgent(connect)) = &step.then {
        connect_sites(connect, &format!("{base}/then/connect_to_agent"), sites);
    }
}

/// Runs every check; returns what the definition uses that the runtime need not keep otherwise.
/// `n_written` counts the actions written in the files, including those that failed the schema.
pub fn check(report: &mut Report<'_>, file: &AssistantFile, actions: &[ActionEntry], n_written: usize) -> Uses {
    let lists = step_lists(file, actions);
    check_ids(report, actions, &lists);
    check_settings(report, file, actions, &lists);
    check_variables_declared(report, &file.variables);
    let known = known_variables(file, &lists);
    let uses = check_expressions(report, file, &lists, &known);
    for list in &lists {
        check_questions(report, list);
        check_reachability(report, list);
    }
    let action_ids: HashSet<&str> = actions.iter().map(|entry| entry.action.id.as_str()).collect();
    let targets = check_references(report, &lists, &action_ids);
    check_cycles(report, &lists);
    check_examples(report, actions, &targets);
    check_example_clashes(report, file, actions);
    check_voice(report, file, &lists);
    if n_written == 0 {
        report.push_at(
            Severity::Error,
            "empty-assistant",
            "the assistant has no actions; add a file under actions/ or an `actions:` list".into(),
            0,
            Position { line: 1, column: 1 },
        );
    }
    uses
}

/// Built-in variables that cost the runtime something to keep, and whether a text or condition
/// of the assistant reads them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uses {
    /// `session_history`: the session then keeps the conversation's last lines in its state.
    pub session_history: bool,
}

fn check_ids(report: &mut Report<'_>, actions: &[ActionEntry], lists: &[StepList<'_>]) {
    let mut seen: HashMap<&str, &ActionEntry> = HashMap::new();
    for entry in actions {
        let id = entry.action.id.as_str();
        let pointer = format!("{}/id", entry.pointer);
        if !is_valid_id(id) {
            report.at_value(
                Severity::Error,
                "bad-id",
                format!("action id `{id}` may contain only letters, digits and underscores"),
                entry.file,
                &pointer,
            );
        }
        match seen.get(id) {
            Some(first) => {
                let (path, position) = report.place(first.file, &format!("{}/id", first.pointer), false);
                report.at_value(
                    Severity::Error,
                    "duplicate-action",
                    format!(
                        "duplicate action id `{id}`; it is first defined at {}:{}:{}",
                        path.display(),
                        position.line,
                        position.column
                    ),
                    entry.file,
                    &pointer,
                );
            }
            None => {
                seen.insert(id, entry);
            }
        }
    }
    for list in lists {
        let mut step_seen: HashSet<String> = HashSet::new();
        for (index, step) in list.steps.iter().enumerate() {
            let pointer = format!("{}/steps/{index}/id", list.pointer);
            if let Some(id) = &step.id
                && !is_valid_id(id)
            {
                report.at_value(
                    Severity::Error,
                    "bad-id",
                    format!("step id `{id}` may contain only letters, digits and underscores"),
                    list.file,
                    &pointer,
                );
            }
            let id = step_id(step, index);
            if !step_seen.insert(id.clone()) {
                report.at_value(
                    Severity::Error,
                    "duplicate-step",
                    format!("duplicate step id `{id}`; step ids must be unique within an action"),
                    list.file,
                    &pointer,
                );
            }
            if let Some(variable) = step.question.as_ref().and_then(|question| question.variable.as_deref())
                && !is_valid_id(variable)
            {
                report.at_value(
                    Severity::Error,
                    "bad-id",
                    format!("variable name `{variable}` may contain only letters, digits and underscores"),
                    list.file,
                    &format!("{}/steps/{index}/question/variable", list.pointer),
                );
            }
            for name in step.set.keys() {
                if !is_valid_id(name) {
                    report.at_key(
                        Severity::Error,
                        "bad-id",
                        format!("variable name `{name}` may contain only letters, digits and underscores"),
                        list.file,
                        &format!("{}/steps/{index}/set/{}", list.pointer, crate::document::escape(name)),
                    );
                }
            }
        }
    }
}

fn check_setting_range(report: &mut Report<'_>, file: usize, pointer: &str, settings: &crate::spec::Settings) {
    for (name, value) in [
        ("confidence_threshold", settings.confidence_threshold),
        ("clarify_margin", settings.clarify_margin),
    ] {
        if let Some(value) = value
            && !(0.0..=1.0).contains(&value)
        {
            report.at_value(
                Severity::Error,
                "bad-setting",
                format!("`{name}` must be between 0 and 1, found {value}"),
                file,
                &format!("{pointer}/settings/{name}"),
            );
        }
    }
}

fn check_settings(report: &mut Report<'_>, file: &AssistantFile, actions: &[ActionEntry], lists: &[StepList<'_>]) {
    check_setting_range(report, 0, "", &file.settings);
    if let Some(timezone) = &file.timezone
        && !is_time_zone(timezone)
    {
        report.at_value(
            Severity::Error,
            "bad-timezone",
            format!("`{timezone}` is not a time zone; use an IANA name such as `Europe/London` or an offset such as `+02:00`"),
            0,
            "/timezone",
        );
    }
    if let Some(locale) = &file.locale
        && !is_locale_tag(locale)
    {
        report.at_value(
            Severity::Error,
            "bad-locale",
            format!("`{locale}` is not a locale; use a BCP 47 tag such as `en-US`, `en-GB` or `de-DE`"),
            0,
            "/locale",
        );
    }
    for entry in actions {
        check_setting_range(report, entry.file, &entry.pointer, &entry.action.settings);
    }
    for list in lists {
        for (index, step) in list.steps.iter().enumerate() {
            check_setting_range(
                report,
                list.file,
                &format!("{}/steps/{index}", list.pointer),
                &step.settings,
            );
        }
    }
}

/// A well-formed BCP 47 language tag: a language (2–3 letters), then optionally a script
/// (4 letters), a region (2 letters or 3 digits) and variants (5–8 alphanumerics, or a digit and
/// 3 more). `_` is accepted for `-`, as POSIX locales write it. Only the shape is checked.
fn is_locale_tag(text: &str) -> bool {
    let mut subtags = text.split(['-', '_']);
    let alpha = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic())
    };
    if !subtags.next().is_some_and(|language| alpha(language, 2..=3)) {
        return false;
    }
    let mut stage = 0; // 0: script may follow, 1: region may follow, 2: only variants
    subtags.all(|subtag| {
        let alphanumeric = subtag.chars().all(|c| c.is_ascii_alphanumeric());
        if stage == 0 && alpha(subtag, 4..=4) {
            stage = 1;
            true
        } else if stage <= 1
            && (alpha(subtag, 2..=2) || (subtag.len() == 3 && subtag.chars().all(|c| c.is_ascii_digit())))
        {
            stage = 2;
            true
        } else {
            stage = 2;
            alphanumeric
                && ((5..=8).contains(&subtag.len())
                    || (subtag.len() == 4 && subtag.starts_with(|c: char| c.is_ascii_digit())))
        }
    })
}

/// An IANA time zone name, or `UTC`/`GMT`/`Z` with an optional offset (`+02:00`, `-0530`, `UTC+2`).
fn is_time_zone(text: &str) -> bool {
    if text.parse::<chrono_tz::Tz>().is_ok() {
        return true;
    }
    let rest = text
        .strip_prefix("UTC")
        .or_else(|| text.strip_prefix("GMT"))
        .unwrap_or(text);
    if rest.is_empty() || rest == "Z" {
        return true;
    }
    let Some(digits) = rest.strip_prefix('+').or_else(|| rest.strip_prefix('-')) else {
        return false;
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some(parts) => parts,
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    matches!((hours.parse::<u32>(), minutes.parse::<u32>()), (Ok(h), Ok(m)) if h <= 14 && m <= 59 && hours.len() <= 2)
}

fn initial_fits(kind: VariableType, value: &serde_json::Value) -> bool {
    use serde_json::Value as Json;
    match (kind, value) {
        (_, Json::Null) | (VariableType::Any, _) => true,
        (VariableType::Text, Json::String(_)) => true,
        (VariableType::Number | VariableType::Currency | VariableType::Percentage, Json::Number(_)) => true,
        (VariableType::Boolean, Json::Bool(_)) => true,
        (VariableType::Date, Json::String(text)) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        (VariableType::Time, Json::String(text)) => {
            chrono::NaiveTime::parse_from_str(text, "%H:%M").is_ok()
                || chrono::NaiveTime::parse_from_str(text, "%H:%M:%S").is_ok()
        }
        _ => false,
    }
}

fn type_phrase(kind: VariableType) -> &'static str {
    match kind {
        VariableType::Text => "text",
        VariableType::Number => "a number",
        VariableType::Currency => "an amount (a number)",
        VariableType::Percentage => "a percentage (a number)",
        VariableType::Date => "a date written YYYY-MM-DD",
        VariableType::Time => "a time written HH:MM",
        VariableType::Boolean => "`true` or `false`",
        VariableType::Any => "any value",
    }
}

fn check_variables_declared(report: &mut Report<'_>, variables: &IndexMap<String, VariableSpec>) {
    for (name, spec) in variables {
        let pointer = format!("/variables/{}", crate::document::escape(name));
        if !is_valid_id(name) {
            report.at_key(
                Severity::Error,
                "bad-id",
                format!("variable name `{name}` may contain only letters, digits and underscores"),
                0,
                &pointer,
            );
        }
        if BUILT_IN_VARIABLES.contains(&name.as_str()) {
            report.at_key(
                Severity::Error,
                "built-in-variable",
                format!("`{name}` is a built-in variable and cannot be declared"),
                0,
                &pointer,
            );
        }
        if let Some(initial) = &spec.initial
            && !initial_fits(spec.kind, initial)
        {
            report.at_value(
                Severity::Error,
                "bad-initial",
                format!(
                    "the initial value of `{name}` must be {}, found {}",
                    type_phrase(spec.kind),
                    crate::translate::found(initial)
                ),
                0,
                &format!("{pointer}/initial"),
            );
        }
    }
}

fn known_variables(file: &AssistantFile, lists: &[StepList<'_>]) -> HashSet<String> {
    let mut known: HashSet<String> = BUILT_IN_VARIABLES.iter().map(|name| (*name).to_owned()).collect();
    known.extend(file.variables.keys().cloned());
    for list in lists {
        for (index, step) in list.steps.iter().enumerate() {
            if let Some(question) = &step.question {
                known.insert(question.variable.clone().unwrap_or_else(|| step_id(step, index)));
            }
            known.extend(step.set.keys().cloned());
        }
    }
    known
}

/// The byte offset of the first whole-word occurrence of `name` in `source`.
fn word_offset(source: &str, name: &str) -> usize {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let mut from = 0;
    while let Some(found) = source.get(from..).and_then(|rest| rest.find(name)) {
        let start = from + found;
        let end = start + name.len();
        let before_ok = source[..start].chars().next_back().is_none_or(|c| !is_word(c));
        let after_ok = source[end..].chars().next().is_none_or(|c| !is_word(c));
        if before_ok && after_ok {
            return start;
        }
        from = end;
    }
    0
}

fn check_expressions(
    report: &mut Report<'_>,
    file: &AssistantFile,
    lists: &[StepList<'_>],
    known: &HashSet<String>,
) -> Uses {
    let mut sites: Vec<(usize, String, Site<'_>)> = Vec::new();
    for list in lists {
        let mut list_sites = Vec::new();
        for (index, step) in list.steps.iter().enumerate() {
            step_sites(step, &format!("{}/steps/{index}", list.pointer), &mut list_sites);
        }
        sites.extend(list_sites.into_iter().map(|(pointer, site)| (list.file, pointer, site)));
    }
    let mut system_sites = Vec::new();
    if let Some(fallback) = &file.system.fallback {
        let messages = &fallback.messages;
        for (name, template) in [
            ("no_action_matches", &messages.no_action_matches),
            ("step_validation_failed", &messages.step_validation_failed),
            ("agent_requested", &messages.agent_requested),
            ("danger_word", &messages.danger_word),
            ("profanity", &messages.profanity),
        ] {
            if let Some(template) = template {
                system_sites.push((format!("/system/fallback/messages/{name}"), Site::Template(template)));
            }
        }
        connect_sites(&fallback.connect, "/system/fallback/connect", &mut system_sites);
    }
    if let Some(words) = &file.system.trigger_words {
        for (name, group) in [("danger", &words.danger), ("profanity", &words.profanity)] {
            if let Some(warning) = group.as_ref().and_then(|group| group.warning.as_ref()) {
                system_sites.push((format!("/system/trigger_words/{name}/warning"), Site::Template(warning)));
            }
        }
    }
    if let Some(clarify) = &file.system.clarifying_question {
        for (name, template) in [("prompt", &clarify.prompt), ("none_response", &clarify.none_response)] {
            if let Some(template) = template {
                system_sites.push((format!("/system/clarifying_question/{name}"), Site::Template(template)));
            }
        }
    }
    sites.extend(system_sites.into_iter().map(|(pointer, site)| (0, pointer, site)));

    let mut uses = Uses::default();
    let mut note_uses = |expr: &Expr| {
        uses.session_history |= expr
            .variables()
            .iter()
            .any(|name| name.split('.').next() == Some("session_history"));
    };
    for (file_index, pointer, site) in sites {
        match site {
            Site::Expression(expression) => match expression.parsed() {
                Ok(expr) => {
                    note_uses(expr);
                    check_names(report, file_index, &pointer, expression.source(), 0, expr, known);
                }
                Err(error) => {
                    let at = report.inside(file_index, &pointer, expression.source(), error.offset);
                    report.push_at(
                        Severity::Error,
                        "bad-expression",
                        format!("invalid expression: {}", error.message),
                        file_index,
                        at,
                    );
                }
            },
            Site::Template(template) => match template.parts() {
                Ok(parts) => {
                    for part in parts {
                        if let Part::Interpolation { expr, offset } = part {
                            note_uses(expr);
                            check_names(report, file_index, &pointer, template.source(), *offset, expr, known);
                        }
                    }
                }
                Err(error) => {
                    let at = report.inside(file_index, &pointer, template.source(), error.offset);
                    report.push_at(
                        Severity::Error,
                        "bad-template",
                        format!("invalid `${{…}}` in text: {}", error.message),
                        file_index,
                        at,
                    );
                }
            },
        }
    }
    uses
}

fn check_names(
    report: &mut Report<'_>,
    file: usize,
    pointer: &str,
    source: &str,
    offset: usize,
    expr: &Expr,
    known: &HashSet<String>,
) {
    let mut reported: HashSet<&str> = HashSet::new();
    for name in expr.variables() {
        let root = name.split('.').next().unwrap_or(name);
        if known.contains(root) || !reported.insert(name) {
            continue;
        }
        let mut message = format!("unknown variable `{root}`");
        if FUNCTIONS.iter().any(|(function, _)| *function == root) {
            message.push_str(&format!("; did you mean the function `{root}()`?"));
        } else if let Some(suggestion) = closest(root, known.iter().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{suggestion}`?"));
        } else {
            message.push_str("; declare it under `variables:` in assistant.yaml, or collect it with a question");
        }
        let local = source.get(offset..).map_or(0, |rest| word_offset(rest, name));
        let at = report.inside(file, pointer, source, offset + local);
        report.push_at(Severity::Error, "unknown-variable", message, file, at);
    }
}

fn check_questions(report: &mut Report<'_>, list: &StepList<'_>) {
    for (index, step) in list.steps.iter().enumerate() {
        let Some(question) = &step.question else { continue };
        let base = format!("{}/steps/{index}/question", list.pointer);
        check_question(report, list.file, &base, question);
    }
}

fn check_question(report: &mut Report<'_>, file: usize, base: &str, question: &Question) {
    if question.kind == ResponseType::Options && question.options.is_empty() {
        report.at_value(
            Severity::Error,
            "no-options",
            "an `options` question needs a list of `options` to choose from".into(),
            file,
            base,
        );
    }
    if let (Some(min), Some(max)) = (question.min, question.max)
        && min > max
    {
        report.at_value(
            Severity::Error,
            "min-greater-than-max",
            format!("`min` ({min}) is greater than `max` ({max}), so no answer can be accepted"),
            file,
            &format!("{base}/min"),
        );
    }
    match &question.pattern {
        Some(pattern) => {
            if let Err(error) = regex::Regex::new(&format!("^(?:{pattern})$")) {
                let detail = error.to_string();
                let detail = detail.lines().last().unwrap_or_default().trim();
                let detail = detail.strip_prefix("error: ").unwrap_or(detail).to_owned();
                report.at_value(
                    Severity::Error,
                    "bad-pattern",
                    format!("`pattern` is not a valid regular expression: {detail}"),
                    file,
                    &format!("{base}/pattern"),
                );
            }
        }
        None if question.kind == ResponseType::Regex => {
            report.at_value(
                Severity::Error,
                "missing-pattern",
                "a `regex` question needs a `pattern`".into(),
                file,
                base,
            );
        }
        None => {}
    }
}

/// The phone channel: transfer targets, keypad entry, and responses per channel.
fn check_voice(report: &mut Report<'_>, file: &AssistantFile, lists: &[StepList<'_>]) {
    if let Some(transfer) = &file.voice.transfer {
        check_voice_transfer(report, 0, "/voice/transfer", transfer);
    }
    if let Some(voice) = file
        .system
        .fallback
        .as_ref()
        .and_then(|fallback| fallback.connect.voice.as_ref())
    {
        check_voice_transfer(report, 0, "/system/fallback/connect/voice", voice);
    }
    if let Some(timeout) = file.voice.timeout_secs
        && !(1..=60).contains(&timeout)
    {
        report.at_value(
            Severity::Error,
            "bad-voice-timeout",
            format!("`timeout_secs` is {timeout}; it must be between 1 and 60 seconds"),
            0,
            "/voice/timeout_secs",
        );
    }
    if let Some(language) = &file.voice.language
        && !is_locale_tag(language)
    {
        report.at_value(
            Severity::Error,
            "bad-voice-language",
            format!("`language` {language:?} is not a language tag such as `en-US`"),
            0,
            "/voice/language",
        );
    }
    for list in lists {
        for (index, step) in list.steps.iter().enumerate() {
            let base = format!("{}/steps/{index}", list.pointer);
            if let Then::Full(FullThen::ConnectToAgent(connect)) = &step.then
                && let Some(voice) = &connect.voice
            {
                check_voice_transfer(report, list.file, &format!("{base}/then/connect_to_agent/voice"), voice);
            }
            if let Some(dtmf) = step.question.as_ref().and_then(|question| question.dtmf) {
                check_dtmf(report, list.file, &format!("{base}/question/dtmf"), dtmf);
            }
            for (at, output) in step.say.as_slice().iter().enumerate() {
                let at = match &step.say {
                    crate::spec::OneOrMany::One(_) => format!("{base}/say"),
                    crate::spec::OneOrMany::Many(_) => format!("{base}/say/{at}"),
                };
                check_channels(report, list.file, &at, output);
            }
        }
    }
}

fn check_channels(report: &mut Report<'_>, file: usize, base: &str, output: &Output) {
    let Output::Rich(RichOutput::Channels(channels)) = output else {
        return;
    };
    for (name, outputs) in [("web", Some(&*channels.web)), ("voice", channels.voice.as_deref())] {
        for (index, inner) in outputs
            .map(|outputs| outputs.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if matches!(inner, Output::Rich(RichOutput::Channels(_))) {
                report.at_value(
                    Severity::Error,
                    "nested-channels",
                    "`channels` cannot hold another `channels`: give each channel's wording directly".into(),
                    file,
                    &format!("{base}/channels/{name}/{index}"),
                );
            }
        }
    }
}

fn check_dtmf(report: &mut Report<'_>, file: usize, base: &str, dtmf: crate::spec::Dtmf) {
    if let Some(digits) = dtmf.max_digits
        && !(1..=64).contains(&digits)
    {
        report.at_value(
            Severity::Error,
            "bad-max-digits",
            format!("`max_digits` is {digits}; it must be between 1 and 64"),
            file,
            &format!("{base}/max_digits"),
        );
    }
    if let Some(key) = dtmf.terminator
        && !(key.is_ascii_digit() || key == '*' || key == '#')
    {
        report.at_value(
            Severity::Error,
            "bad-terminator",
            format!("`terminator` {key:?} is not a keypad key: use a digit, `*` or `#`"),
            file,
            &format!("{base}/terminator"),
        );
    }
}

fn check_voice_transfer(report: &mut Report<'_>, file: usize, base: &str, transfer: &crate::spec::VoiceTransfer) {
    let targets = [&transfer.sip, &transfer.number, &transfer.flex_workflow]
        .iter()
        .filter(|target| target.is_some())
        .count();
    if targets > 1 {
        report.at_value(
            Severity::Error,
            "several-voice-targets",
            "give one of `sip`, `number` and `flex_workflow`, not several".into(),
            file,
            base,
        );
    }
    if let Some(sip) = &transfer.sip {
        let host = sip.strip_prefix("sip:").or_else(|| sip.strip_prefix("sips:"));
        let valid = host.is_some_and(|rest| {
            !rest.is_empty() && !rest.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
        });
        if !valid {
            report.at_value(
                Severity::Error,
                "bad-sip-uri",
                format!("`sip` {sip:?} is not a SIP URI such as `sip:support@pbx.example.com`"),
                file,
                &format!("{base}/sip"),
            );
        }
    }
    if let Some(number) = &transfer.number {
        let digits = number.strip_prefix('+').unwrap_or_default();
        let valid = (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
        if !valid {
            report.at_value(
                Severity::Error,
                "bad-phone-number",
                format!("`number` {number:?} is not a phone number in E.164 form such as `+15551234567`"),
                file,
                &format!("{base}/number"),
            );
        }
    }
    for name in transfer.headers.keys() {
        let allowed = name.starts_with("X-") || name.eq_ignore_ascii_case("User-to-User");
        let token = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !(allowed && token) {
            report.at_key(
                Severity::Error,
                "bad-sip-header",
                format!("SIP header {name:?}: a carrier passes only headers named `X-…` (letters, digits, `-`) and `User-to-User`"),
                file,
                &format!("{base}/headers/{}", crate::document::escape(name)),
            );
        }
    }
    if !transfer.headers.is_empty() && transfer.sip.is_none() && targets > 0 {
        report.at_value(
            Severity::Warning,
            "headers-without-sip",
            "`headers` are sent only with a `sip` transfer".into(),
            file,
            &format!("{base}/headers"),
        );
    }
}

/// Whether a step always ends the action's run of steps (nothing after it at the same level runs).
fn always_leaves(step: &Step) -> Option<&'static str> {
    if step.condition.is_some() {
        return None;
    }
    match &step.then {
        Then::Simple(SimpleThen::End) => Some("`then: end`"),
        Then::Simple(SimpleThen::HangUp) => Some("`then: hang_up`"),
        Then::Simple(SimpleThen::ConnectToAgent) | Then::Full(FullThen::ConnectToAgent(_)) => {
            Some("`then: connect_to_agent`")
        }
        Then::Full(FullThen::GoTo(go_to)) if !go_to.return_after => Some("`go_to` without return"),
        _ => None,
    }
}

fn check_reachability(report: &mut Report<'_>, list: &StepList<'_>) {
    let Some((leaving, reason)) = list
        .steps
        .iter()
        .enumerate()
        .find_map(|(index, step)| always_leaves(step).map(|reason| (index, reason)))
    else {
        return;
    };
    let next = leaving + 1;
    if let Some(step) = list.steps.get(next) {
        report.at_value(
            Severity::Warning,
            "unreachable-step",
            format!(
                "step `{}` can never run: step `{}` always leaves the action ({reason})",
                step_id(step, next),
                step_id(&list.steps[leaving], leaving)
            ),
            list.file,
            &format!("{}/steps/{next}", list.pointer),
        );
    }
}

/// Checks go_to and reask targets; returns the ids of actions some go_to leads to.
fn check_references<'a>(
    report: &mut Report<'_>,
    lists: &'a [StepList<'a>],
    action_ids: &HashSet<&str>,
) -> HashSet<&'a str> {
    let mut targets = HashSet::new();
    for list in lists {
        let step_ids: Vec<String> = list
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| step_id(step, index))
            .collect();
        for (index, step) in list.steps.iter().enumerate() {
            let base = format!("{}/steps/{index}/then", list.pointer);
            match &step.then {
                Then::Full(FullThen::GoTo(go_to)) => {
                    let target = go_to.action.as_str();
                    if action_ids.contains(target) {
                        if list.action != Some(target) {
                            targets.insert(target);
                        }
                        continue;
                    }
                    let mut message = format!("unknown action `{target}` in go_to");
                    if let Some(suggestion) = closest(target, action_ids.iter().copied()) {
                        message.push_str(&format!("; did you mean `{suggestion}`?"));
                    }
                    report.at_value(
                        Severity::Error,
                        "unknown-action",
                        message,
                        list.file,
                        &format!("{base}/go_to/action"),
                    );
                }
                Then::Full(FullThen::Reask(steps)) => {
                    if steps.is_empty() {
                        report.at_value(
                            Severity::Error,
                            "empty-reask",
                            "`reask` needs the ids of the steps to ask again".into(),
                            list.file,
                            &format!("{base}/reask"),
                        );
                    }
                    for (position, target) in steps.iter().enumerate() {
                        if let Some(target_index) = step_ids.iter().position(|id| id == target) {
                            if list.steps[target_index].question.is_none() {
                                report.at_value(
                                    Severity::Warning,
                                    "reask-without-question",
                                    format!("step `{target}` asks no question, so reasking it does nothing"),
                                    list.file,
                                    &format!("{base}/reask/{position}"),
                                );
                            }
                            continue;
                        }
                        let mut message = format!("unknown step `{target}` in reask");
                        if let Some(suggestion) = closest(target, step_ids.iter().map(String::as_str)) {
                            message.push_str(&format!("; did you mean `{suggestion}`?"));
                        }
                        report.at_value(
                            Severity::Error,
                            "unknown-step",
                            message,
                            list.file,
                            &format!("{base}/reask/{position}"),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    targets
}

/// Reports cycles of `go_to` with return (a → b → a never ends).
fn check_cycles(report: &mut Report<'_>, lists: &[StepList<'_>]) {
    // Edges in file order, each with the place of its go_to.
    let mut edges: IndexMap<&str, Vec<(&str, usize, String)>> = IndexMap::new();
    for list in lists {
        let Some(from) = list.action else { continue };
        let entry = edges.entry(from).or_default();
        for (index, step) in list.steps.iter().enumerate() {
            if let Then::Full(FullThen::GoTo(go_to)) = &step.then
                && go_to.return_after
            {
                entry.push((
                    go_to.action.as_str(),
                    list.file,
                    format!("{}/steps/{index}/then/go_to", list.pointer),
                ));
            }
        }
    }
    let mut done: HashSet<&str> = HashSet::new();
    let mut reported: HashSet<Vec<&str>> = HashSet::new();
    let starts: Vec<&str> = edges.keys().copied().collect();
    for start in starts {
        if done.contains(start) {
            continue;
        }
        // Iterative depth-first search; `path` is the current chain, `next_edge` the edge to try.
        let mut path: Vec<&str> = vec![start];
        let mut on_path: HashMap<&str, usize> = HashMap::from([(start, 0)]);
        let mut next_edge: Vec<usize> = vec![0];
        while let (Some(&node), Some(edge_index)) = (path.last(), next_edge.last_mut()) {
            let node_edges = edges.get(node).map_or(&[][..], Vec::as_slice);
            let Some((target, file, pointer)) = node_edges.get(*edge_index) else {
                done.insert(node);
                on_path.remove(node);
                path.pop();
                next_edge.pop();
                continue;
            };
            *edge_index += 1;
            if let Some(&position) = on_path.get(target) {
                let mut cycle: Vec<&str> = path[position..].to_vec();
                let mut key = cycle.clone();
                key.sort_unstable();
                if reported.insert(key) {
                    cycle.push(target);
                    report.at_value(
                        Severity::Error,
                        "go-to-cycle",
                        format!(
                            "go-to cycle: {}; every go_to here returns, so the conversation would never end",
                            cycle.join(" → ")
                        ),
                        *file,
                        pointer,
                    );
                }
                continue;
            }
            if done.contains(target) || !edges.contains_key(target) {
                continue;
            }
            on_path.insert(target, path.len());
            path.push(target);
            next_edge.push(0);
        }
    }
}

fn check_examples(report: &mut Report<'_>, actions: &[ActionEntry], targets: &HashSet<&str>) {
    for entry in actions {
        if !entry.action.examples.is_empty() {
            continue;
        }
        let id = entry.action.id.as_str();
        if targets.contains(id) {
            report.at_key(
                Severity::Warning,
                "no-examples",
                format!("action `{id}` has no examples, so it can only be reached by go_to"),
                entry.file,
                &format!("{}/id", entry.pointer),
            );
        } else {
            report.at_key(
                Severity::Error,
                "unreachable-action",
                format!("action `{id}` has no examples and no go_to leads to it, so it can never run"),
                entry.file,
                &format!("{}/id", entry.pointer),
            );
        }
    }
}

/// An example given to two actions (or twice to one, or also as a counterexample) teaches the
/// classifier nothing but doubt: the same words then point two ways.
fn check_example_clashes(report: &mut Report<'_>, file: &AssistantFile, actions: &[ActionEntry]) {
    // Where each example was first seen: (file, pointer, action id).
    let mut seen: HashMap<String, (usize, String, &str)> = HashMap::new();
    for entry in actions {
        let id = entry.action.id.as_str();
        for (index, text) in entry.action.examples.iter().enumerate() {
            // Lower-case words one space apart: case, punctuation and spacing aside.
            let key = crate::words::trigger_phrase(text);
            if key.is_empty() {
                continue;
            }
            let pointer = format!("{}/examples/{index}", entry.pointer);
            match seen.get(&key) {
                Some((first_file, first_pointer, first_id)) => {
                    let (path, position) = report.place(*first_file, first_pointer, false);
                    let message = match *first_id == id {
                        true => format!(
                            "example {text:?} repeats an example of this action ({}:{}:{}); once is enough",
                            path.display(),
                            position.line,
                            position.column
                        ),
                        false => format!(
                            "example {text:?} is also an example of action `{first_id}` ({}:{}:{}): the same words cannot point to both; keep it in one",
                            path.display(),
                            position.line,
                            position.column
                        ),
                    };
                    report.at_value(Severity::Warning, "duplicate-example", message, entry.file, &pointer);
                }
                None => {
                    seen.insert(key, (entry.file, pointer, id));
                }
            }
        }
    }
    for (index, text) in file.counterexamples.iter().enumerate() {
        if let Some((first_file, first_pointer, first_id)) = seen.get(&crate::words::trigger_phrase(text)) {
            let (path, position) = report.place(*first_file, first_pointer, false);
            report.at_value(
                Severity::Warning,
                "duplicate-example",
                format!(
                    "counterexample {text:?} is also an example of action `{first_id}` ({}:{}:{}): it cannot both match it and match nothing",
                    path.display(),
                    position.line,
                    position.column
                ),
                0,
                &format!("/counterexamples/{index}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_locale_tag;

    #[test]
    fn locale_tags_are_checked_for_shape() {
        for good in [
            "en",
            "en-US",
            "en-GB",
            "de-DE",
            "zh-Hant-TW",
            "es-419",
            "de_DE",
            "sl-rozaj",
            "ca-ES-valencia",
        ] {
            assert!(is_locale_tag(good), "{good} should be accepted");
        }
        for bad in [
            "",
            "english",
            "e",
            "en-",
            "en-USA-",
            "en US",
            "en-U$",
            "12-US",
            "en-toolongvariant1",
        ] {
            assert!(!is_locale_tag(bad), "{bad} should be refused");
        }
    }
}
