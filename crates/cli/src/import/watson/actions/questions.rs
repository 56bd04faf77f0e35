//! A step's question: its type from the step's entity or built-in type, options, patterns,
//! `max_tries` and its handlers.

use super::*;

impl Converter<'_> {
    pub(super) fn question_kind(&self, question: &Value) -> QuestionKind {
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

    /// The Baton variable the question of `step` (Baton id `id`) sets: its Watson `variable`, or
    /// the step itself, as the action's names map them.
    pub(super) fn question_variable(&self, step: &Value, id: &str) -> String {
        let variable = step.get("variable").and_then(Value::as_str).unwrap_or(id);
        self.names
            .action
            .get(variable)
            .cloned()
            .unwrap_or_else(|| identifier(variable))
    }

    pub(super) fn question(
        &mut self,
        step: &Value,
        question: &Value,
        id: &str,
        pointer: &str,
    ) -> (Node, QuestionModel) {
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
        let variable = self.question_variable(step, id);
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
}

/// A question's type, its options (label, value, synonyms) and its pattern.
type QuestionKind = (ResponseType, Vec<(String, String, Vec<String>)>, Option<String>);

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

/// Whether Baton reads the pattern: it compiles patterns with the `regex` crate, which refuses
/// Java's lookaround, possessive quantifiers and back-references.
fn regex_valid(pattern: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok()
}
