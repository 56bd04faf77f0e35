//! Turns JSON Schema validation errors into plain sentences an author can act on.
//!
//! The validator speaks in keywords (`additionalProperties`, `anyOf`, `type`); authors think in
//! fields and forms. For a failed `anyOf`/`oneOf` (untagged and externally tagged enums of the
//! spec), the branch whose shape matched is explained in its own terms; when none matched, the
//! sentence lists the accepted forms, read from the schema itself, and suggests the closest name.

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::suggest::closest;

/// One translated problem, placed by JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    pub pointer: String,
    /// Point at the node's key (unknown or missing fields) rather than its value.
    pub at_key: bool,
}

/// Translates every error of `instance` against `schema` (with the compiled `validator`).
pub fn problems(validator: &jsonschema::Validator, schema: &Value, instance: &Value, root_noun: &str) -> Vec<Problem> {
    let translator = Translator { schema, root_noun };
    let mut out = Vec::new();
    for error in validator.iter_errors(instance) {
        translator.translate(&error, &mut out);
    }
    out.dedup();
    out
}

struct Translator<'a> {
    schema: &'a Value,
    root_noun: &'a str,
}

fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn singular(word: &str) -> String {
    match word {
        "steps" => "step".into(),
        "actions" => "action".into(),
        "choices" => "choice".into(),
        "options" => "option".into(),
        "examples" => "example".into(),
        "counterexamples" => "counterexample".into(),
        "words" => "word".into(),
        other => format!("an item of `{other}`"),
    }
}

/// Names what `a/b/c` points to, e.g. "`min`", "item 2 of `examples`".
fn subject(pointer: &str) -> String {
    let parts = segments(pointer);
    match parts.as_slice() {
        [] => "the file".to_owned(),
        [.., parent, last] if last.parse::<usize>().is_ok() => {
            let index = last.parse::<usize>().map_or(0, |index| index + 1);
            format!("item {index} of `{parent}`")
        }
        [.., last] => format!("`{last}`"),
    }
}

/// The thing an object at `pointer` is, for "unknown field … in {noun}".
fn noun(pointer: &str, root_noun: &str) -> String {
    let parts = segments(pointer);
    match parts.as_slice() {
        [] => root_noun.to_owned(),
        [.., parent, last] if last.parse::<usize>().is_ok() => {
            let word = singular(parent);
            if word.starts_with("an item") {
                word
            } else {
                format!("{word} {}", last.parse::<usize>().map_or(0, |index| index + 1))
            }
        }
        [first, name] if first == "variables" => format!("variable `{name}`"),
        [.., last] => format!("`{last}`"),
    }
}

fn truncate(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// What a value is, for "…, found {found}".
pub fn found(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(flag) => format!("`{flag}`"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("text `{}`", truncate(text)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(entries) if entries.is_empty() => "an empty mapping".to_owned(),
        Value::Object(entries) => format!(
            "a mapping with {}",
            entries
                .keys()
                .map(|key| format!("`{key}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn type_word(name: &str) -> Option<&'static str> {
    Some(match name {
        "string" => "text",
        "number" => "a number",
        "integer" => "a whole number",
        "boolean" => "`true` or `false`",
        "array" => "a list",
        "object" => "a mapping",
        _ => return None,
    })
}

fn or_list(items: &[String]) -> String {
    match items {
        [] => "something else".to_owned(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn instance_at<'v>(error: &'v ValidationError<'_>) -> &'v Value {
    error.instance()
}

impl Translator<'_> {
    fn resolve<'s>(&'s self, node: &'s Value) -> &'s Value {
        let mut node = node;
        // `$ref` chains in a derived schema are short; the bound guards against a cycle.
        for _ in 0..16 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(reference) => match reference.strip_prefix('#').and_then(|path| self.schema.pointer(path)) {
                    Some(target) => node = target,
                    None => return node,
                },
                None => return node,
            }
        }
        node
    }

    fn schema_at(&self, path: &str) -> Option<&Value> {
        self.schema.pointer(path)
    }

    /// The forms a schema node accepts, in words (`` `end` ``, "a mapping with `go_to`", "text").
    fn forms(&self, node: &Value, out: &mut Vec<String>, depth: usize) {
        let node = self.resolve(node);
        if depth > 8 {
            return;
        }
        if let Some(constant) = node.get("const") {
            out.push(format!(
                "`{}`",
                constant.as_str().map_or_else(|| constant.to_string(), str::to_owned)
            ));
            return;
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array) {
            out.extend(
                values
                    .iter()
                    .map(|value| format!("`{}`", value.as_str().unwrap_or_default())),
            );
            return;
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(branches) = node.get(keyword).and_then(Value::as_array) {
                for branch in branches {
                    self.forms(branch, out, depth + 1);
                }
                return;
            }
        }
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let n_properties = node
            .get("properties")
            .and_then(Value::as_object)
            .map_or(0, |map| map.len());
        if let [key] = required.as_slice()
            && n_properties == 1
        {
            out.push(format!("a mapping with `{key}`"));
            return;
        }
        let types: Vec<&str> = match node.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        // Text-like unions (a template accepts text, numbers and booleans) read as "text".
        if types.contains(&"string") {
            out.push("text".to_owned());
            return;
        }
        out.extend(types.iter().filter_map(|name| type_word(name)).map(str::to_owned));
    }

    /// The forms of an `anyOf`/`oneOf` node, with single-key mappings merged into one phrase.
    fn describe_forms(&self, node: &Value) -> (String, Vec<String>, Vec<String>) {
        let mut forms = Vec::new();
        self.forms(node, &mut forms, 0);
        forms.dedup();
        let mut words = Vec::new();
        let mut keys = Vec::new();
        let mut phrases = Vec::new();
        for form in forms {
            if let Some(key) = form
                .strip_prefix("a mapping with `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                keys.push(key.to_owned());
            } else {
                if let Some(word) = form.strip_prefix('`').and_then(|rest| rest.strip_suffix('`')) {
                    words.push(word.to_owned());
                }
                if !phrases.contains(&form) {
                    phrases.push(form);
                }
            }
        }
        match keys.as_slice() {
            [] => {}
            [key] => phrases.push(format!("a mapping with `{key}`")),
            _ => phrases.push(format!(
                "a mapping with one of {}",
                keys.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ")
            )),
        }
        (or_list(&phrases), words, keys)
    }

    fn translate(&self, error: &ValidationError<'_>, out: &mut Vec<Problem>) {
        let pointer = error.instance_path().as_str().to_owned();
        let schema_path = error.schema_path().as_str();
        let instance = instance_at(error);
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let properties_path = schema_path
                    .strip_suffix("/additionalProperties")
                    .map(|base| format!("{base}/properties"));
                let allowed: Vec<&str> = properties_path
                    .as_deref()
                    .and_then(|path| self.schema_at(path))
                    .and_then(Value::as_object)
                    .map(|properties| properties.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for name in unexpected {
                    let mut message = format!("unknown field `{name}` in {}", noun(&pointer, self.root_noun));
                    if let Some(suggestion) = closest(name, allowed.iter().copied()) {
                        message.push_str(&format!("; did you mean `{suggestion}`?"));
                    }
                    if !allowed.is_empty() {
                        message.push_str(&format!(" Expected one of: {}", allowed.join(", ")));
                    }
                    out.push(Problem {
                        code: "unknown-field",
                        message,
                        pointer: format!("{pointer}/{}", crate::document::escape(name)),
                        at_key: true,
                    });
                }
            }
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
                out.push(Problem {
                    code: "missing-field",
                    message: format!(
                        "{} is missing the required field `{property}`",
                        noun(&pointer, self.root_noun)
                    ),
                    pointer,
                    at_key: true,
                });
            }
            ValidationErrorKind::Type { .. } => {
                let mut expected = Vec::new();
                if let Some(node) = self.schema_at(schema_path.strip_suffix("/type").unwrap_or(schema_path)) {
                    self.forms(node, &mut expected, 0);
                }
                out.push(Problem {
                    code: "wrong-type",
                    message: format!(
                        "{} must be {}, found {}",
                        subject(&pointer),
                        or_list(&expected),
                        found(instance)
                    ),
                    pointer,
                    at_key: false,
                });
            }
            ValidationErrorKind::Enum { options } => {
                let words: Vec<&str> = options
                    .as_array()
                    .map(|values| values.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut message = format!(
                    "{} must be one of: {}; found {}",
                    subject(&pointer),
                    words.join(", "),
                    found(instance)
                );
                if let Some(text) = instance.as_str()
                    && let Some(suggestion) = closest(text, words.iter().copied())
                {
                    message.push_str(&format!("; did you mean `{suggestion}`?"));
                }
                out.push(Problem {
                    code: "bad-value",
                    message,
                    pointer,
                    at_key: false,
                });
            }
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::OneOfMultipleValid { context } => {
                self.alternatives(error, context, out);
            }
            ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
                out.push(Problem {
                    code: "out-of-range",
                    message: format!(
                        "{} must be at least {limit}, found {}",
                        subject(&pointer),
                        found(instance)
                    ),
                    pointer,
                    at_key: false,
                });
            }
            ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
                out.push(Problem {
                    code: "out-of-range",
                    message: format!(
                        "{} must be at most {limit}, found {}",
                        subject(&pointer),
                        found(instance)
                    ),
                    pointer,
                    at_key: false,
                });
            }
            _ => out.push(Problem {
                code: "invalid",
                message: format!("{} is not valid here: {}", subject(&pointer), error.masked()),
                pointer,
                at_key: false,
            }),
        }
    }

    /// Whether a branch rejected the value's very shape at `pointer` (wrong type or constant).
    fn fails_at_top(branch: &[ValidationError<'_>], pointer: &str) -> bool {
        branch.iter().any(|error| {
            if error.instance_path().as_str() != pointer {
                return false;
            }
            match error.kind() {
                ValidationErrorKind::Type { .. }
                | ValidationErrorKind::Enum { .. }
                | ValidationErrorKind::Constant { .. } => true,
                ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
                    context.iter().all(|inner| Self::fails_at_top(inner, pointer))
                }
                _ => false,
            }
        })
    }

    fn alternatives(
        &self,
        error: &ValidationError<'_>,
        context: &[Vec<ValidationError<'static>>],
        out: &mut Vec<Problem>,
    ) {
        let pointer = error.instance_path().as_str();
        let viable: Vec<&Vec<ValidationError<'static>>> = context
            .iter()
            .filter(|branch| !branch.is_empty() && !Self::fails_at_top(branch, pointer))
            .collect();
        let deep: Vec<&&Vec<ValidationError<'static>>> = viable
            .iter()
            .filter(|branch| branch.iter().all(|inner| inner.instance_path().as_str() != pointer))
            .collect();
        let chosen = match (viable.as_slice(), deep.as_slice()) {
            ([only], _) => Some(*only),
            (_, [only]) => Some(**only),
            _ => None,
        };
        if let Some(branch) = chosen {
            for inner in branch {
                self.translate(inner, out);
            }
            return;
        }
        let instance = instance_at(error);
        let schema_path = error.schema_path().as_str();
        let owner = schema_path
            .strip_suffix("/anyOf")
            .or_else(|| schema_path.strip_suffix("/oneOf"))
            .unwrap_or(schema_path);
        let node = self.schema_at(owner);
        let (forms, words, keys) = node.map(|node| self.describe_forms(node)).unwrap_or_default();
        let mut message = format!("{} must be {}; found {}", subject(pointer), forms, found(instance));
        let suggestion = match instance {
            Value::String(text) => closest(text, words.iter().map(String::as_str)),
            Value::Object(entries) if entries.len() == 1 => entries
                .keys()
                .next()
                .and_then(|key| closest(key, keys.iter().map(String::as_str))),
            _ => None,
        };
        if let Some(suggestion) = suggestion {
            message.push_str(&format!("; did you mean `{suggestion}`?"));
        }
        let code = if instance.is_string() && !words.is_empty() {
            "bad-value"
        } else {
            "wrong-form"
        };
        out.push(Problem {
            code,
            message,
            pointer: pointer.to_owned(),
            at_key: false,
        });
    }
}
