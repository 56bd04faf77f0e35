//! Watson's conditions and expressions in Baton's expression language.
//!
//! Actions skills write conditions as a JSON tree (`{"eq": [{"variable": "step_1"}, {"scalar": "yes"}]}`)
//! and values as `{"expression": "${a}.size() > 0"}` strings in IBM's Spring Expression Language.
//! The tree translates operator by operator; the strings through a small parser that knows the
//! common shapes (variables, paths, literals, comparison, boolean and arithmetic operators and a few
//! methods with a Baton function). Anything else is an `Err` with one sentence saying why, for
//! the report: an untranslatable condition is never dropped silently.

use std::collections::{BTreeSet, HashMap, HashSet};

use baton_assistant::ResponseType;
use serde_json::Value;

/// How Watson's variable names read in Baton, and what each question variable holds.
#[derive(Debug, Default)]
pub struct Names {
    /// Session (skill) variables: Watson name → Baton name.
    pub session: HashMap<String, String>,
    /// Action variables of the action being translated: Watson name → Baton name.
    pub action: HashMap<String, String>,
    /// The response type of each question variable (Baton names) of the action being translated.
    pub types: HashMap<String, ResponseType>,
    /// The variables the questions of the action being translated set (Baton names).
    pub questions: HashSet<String>,
    /// Every Baton variable name an expression read (root names) other than the action's own
    /// question variables, to declare those no step sets.
    pub read: BTreeSet<String>,
}

/// `Err` says in one sentence why something has no Baton equivalent.
pub type Translated = Result<String, String>;

/// Watson's `fallback_reason` values and Baton's.
pub fn fallback_reason(watson: &str) -> Option<&'static str> {
    match watson {
        "Step validation failed" => Some("step_validation_failed"),
        "Agent requested" => Some("agent_requested"),
        "No action matches" => Some("no_action_matches"),
        "Danger word detected" => Some("danger_word"),
        "Profanity detected" => Some("profanity"),
        _ => None,
    }
}

/// A name usable as a Baton id or variable: letters, digits and `_`, not starting with a digit.
pub fn identifier(raw: &str) -> String {
    let mut id = String::new();
    for character in raw.chars() {
        match character.is_alphanumeric() || character == '_' {
            true => id.push(character),
            false if !id.ends_with('_') => id.push('_'),
            false => {}
        }
    }
    let id = id.trim_matches('_').to_owned();
    // Words of Baton's expression language cannot name a variable.
    let keyword = matches!(id.as_str(), "and" | "or" | "not" | "true" | "false" | "null");
    match id.chars().next() {
        None => "unnamed".to_owned(),
        Some(first) if first.is_numeric() => format!("n_{id}"),
        Some(_) if keyword => format!("{id}_"),
        Some(_) => id,
    }
}

impl Names {
    fn reference(&mut self, name: String, path: Option<&Value>) -> Translated {
        let mut text = name.clone();
        if let Some(path) = path {
            let Some(path) = path.as_str() else {
                return Err("a variable path that is not text has no Baton equivalent".to_owned());
            };
            for segment in path.split('.') {
                let plain = segment.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && segment.chars().all(|c| c.is_alphanumeric() || c == '_');
                if !plain {
                    return Err(format!(
                        "the path `{path}` into `{name}` has a part (`{segment}`) Baton's dotted names cannot say"
                    ));
                }
                text.push('.');
                text.push_str(segment);
            }
        }
        // The action's own question variables are declared by their steps; a name Baton must
        // find declared elsewhere (another action's step, a callout's result) is recorded.
        if !self.questions.contains(&name) {
            self.read.insert(name);
        }
        Ok(text)
    }

    fn action_variable(&mut self, watson: &str) -> String {
        self.action.get(watson).cloned().unwrap_or_else(|| identifier(watson))
    }

    fn session_variable(&mut self, watson: &str) -> String {
        self.session.get(watson).cloned().unwrap_or_else(|| identifier(watson))
    }

    /// A value node: `scalar`, `variable`, `skill_variable`, `system_variable`, `expression`, or a
    /// nested condition.
    pub fn value(&mut self, node: &Value) -> Translated {
        let Some(object) = node.as_object() else {
            return Err("a value that is not an object has no Baton equivalent".to_owned());
        };
        let path = object.get("variable_path");
        if let Some(scalar) = object.get("scalar") {
            return literal(scalar);
        }
        if let Some(name) = object.get("variable").and_then(Value::as_str) {
            let name = self.action_variable(name);
            return self.reference(name, path);
        }
        if let Some(name) = object.get("skill_variable").and_then(Value::as_str) {
            let name = self.session_variable(name);
            return self.reference(name, path);
        }
        if let Some(name) = object.get("system_variable").and_then(Value::as_str) {
            let Some(built_in) = system_variable(name) else {
                return Err(format!("the system variable `{name}` has no Baton equivalent"));
            };
            return self.reference(built_in.to_owned(), path);
        }
        if let Some(expression) = object.get("expression") {
            let Some(source) = expression.as_str() else {
                return Err("an expression that is not text has no Baton equivalent".to_owned());
            };
            return self.spel(source);
        }
        // A value key of the wrong type is not a condition either (and reading it as one would
        // come back here).
        let has_value_key = ["scalar", "variable", "skill_variable", "system_variable", "expression"]
            .iter()
            .any(|key| object.contains_key(*key));
        match has_value_key {
            true => Err("a value of an unexpected shape has no Baton equivalent".to_owned()),
            false => self.condition(node),
        }
    }

    /// A condition tree.
    pub fn condition(&mut self, node: &Value) -> Translated {
        let Some(object) = node.as_object() else {
            return Err("a condition that is not an object has no Baton equivalent".to_owned());
        };
        let Some((operator, operands)) = object.iter().next().filter(|_| object.len() == 1) else {
            return self.value_only(node);
        };
        let pair = |operands: &Value| -> Result<(Value, Value), String> {
            match operands.as_array().map(Vec::as_slice) {
                Some([left, right]) => Ok((left.clone(), right.clone())),
                _ => Err(format!(
                    "`{operator}` without exactly two operands has no Baton equivalent"
                )),
            }
        };
        let comparison = match operator.as_str() {
            "eq" => Some("=="),
            "neq" => Some("!="),
            "gt" => Some(">"),
            "gte" => Some(">="),
            "lt" => Some("<"),
            "lte" => Some("<="),
            _ => None,
        };
        if let Some(symbol) = comparison {
            let (left, right) = pair(operands)?;
            return self.comparison(symbol, &left, &right);
        }
        match operator.as_str() {
            "and" | "or" => {
                let Some(items) = operands.as_array().filter(|items| !items.is_empty()) else {
                    return Err(format!("an empty `{operator}` has no Baton equivalent"));
                };
                let parts = items
                    .iter()
                    .map(|item| self.condition(item).map(|text| format!("({text})")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(parts.join(&format!(" {operator} ")))
            }
            "not" => Ok(format!("not ({})", self.condition(operands)?)),
            "exists" => Ok(format!("is_set({})", self.value(operands)?)),
            "contains" => {
                let (left, right) = pair(operands)?;
                Ok(format!("contains({}, {})", self.value(&left)?, self.value(&right)?))
            }
            "matches" => Err("`matches` (a regular expression) has no Baton equivalent".to_owned()),
            "entity" => Err(format!(
                "the entity test `{}` has no Baton equivalent",
                operands.as_str().unwrap_or("?")
            )),
            "intent" => Err("an intent test inside a step condition has no Baton equivalent".to_owned()),
            "add" | "subtract" => {
                let (left, right) = pair(operands)?;
                let base = self.value(&left)?;
                let sign = if operator == "add" { "" } else { "-" };
                match right.get("duration") {
                    Some(duration) => duration_sum(&base, sign, duration),
                    None => {
                        let symbol = if operator == "add" { "+" } else { "-" };
                        Ok(format!("({base} {symbol} {})", self.value(&right)?))
                    }
                }
            }
            _ => self.value_only(node),
        }
    }

    fn value_only(&mut self, node: &Value) -> Translated {
        let is_value = node.as_object().is_some_and(|object| {
            ["scalar", "variable", "skill_variable", "system_variable", "expression"]
                .iter()
                .any(|key| object.contains_key(*key))
        });
        match is_value {
            true => self.value(node),
            false => Err(format!(
                "the condition operator `{}` has no Baton equivalent",
                node.as_object()
                    .and_then(|object| object.keys().next())
                    .map_or("?", String::as_str)
            )),
        }
    }

    fn comparison(&mut self, symbol: &str, left: &Value, right: &Value) -> Translated {
        let is_reason = |value: &Value| value.get("system_variable").and_then(Value::as_str) == Some("fallback_reason");
        // Watson's reasons are sentences; Baton's are names. A reason Baton does not have makes the
        // comparison constant.
        for (variable, other) in [(left, right), (right, left)] {
            if is_reason(variable)
                && let Some(text) = other.get("scalar").and_then(Value::as_str)
            {
                self.read.insert("fallback_reason".to_owned());
                return match (fallback_reason(text), symbol) {
                    (Some(reason), "==" | "!=") => Ok(format!("fallback_reason {symbol} '{reason}'")),
                    (None, "==") => Err(format!("Baton has no Fallback reason like \"{text}\"")),
                    (None, "!=") => Ok("true".to_owned()),
                    _ => Err("an ordering of Fallback reasons has no Baton equivalent".to_owned()),
                };
            }
        }
        let left_text = self.value(left)?;
        let right_text = self.value(right)?;
        // A yes/no question stores a boolean in Baton, and the text "yes" or "no" in Watson.
        let yes_no = |text: &str, names: &Names| names.types.get(text) == Some(&ResponseType::YesNo);
        let as_boolean = |value: &Value| match value.get("scalar").and_then(Value::as_str) {
            Some("yes") => Some("true"),
            Some("no") => Some("false"),
            _ => None,
        };
        if yes_no(&left_text, self)
            && let Some(boolean) = as_boolean(right)
        {
            return Ok(format!("{left_text} {symbol} {boolean}"));
        }
        if yes_no(&right_text, self)
            && let Some(boolean) = as_boolean(left)
        {
            return Ok(format!("{boolean} {symbol} {right_text}"));
        }
        Ok(format!("{left_text} {symbol} {right_text}"))
    }

    /// An expression string (SpEL) in Baton's language.
    pub fn spel(&mut self, source: &str) -> Translated {
        let tokens = tokenize(source)?;
        let mut parser = Parser {
            tokens: &tokens,
            position: 0,
            names: self,
            depth: 0,
        };
        let text = parser.or()?;
        match parser.position == tokens.len() {
            true => Ok(text),
            false => Err(format!(
                "the expression `{}` is beyond what the import translates",
                clip(source)
            )),
        }
    }

    /// A template of `text` with `${…}` references in Baton's text form: literal text escaped,
    /// each reference translated (those that are not are reported and left out).
    pub fn text(&mut self, source: &str, problems: &mut Vec<String>) -> String {
        let mut out = String::new();
        let mut rest = source;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str("$${");
                rest = after;
                continue;
            };
            let inner = &after[..end];
            // `${a}.b` in Watson text is a path into `a`.
            let mut reference = format!("${{{inner}}}");
            let mut consumed = end + 1;
            let tail = &after[consumed..];
            let path_len = tail
                .strip_prefix('.')
                .map(|path| {
                    path.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                        .unwrap_or(path.len())
                })
                .unwrap_or(0);
            if path_len > 0 {
                let path = tail[1..1 + path_len].trim_end_matches('.');
                reference.push('.');
                reference.push_str(path);
                consumed += 1 + path.len();
            }
            match self.spel(&reference) {
                Ok(translated) => out.push_str(&format!("${{{translated}}}")),
                Err(why) => problems.push(why),
            }
            rest = &after[consumed..];
        }
        out.push_str(rest);
        out
    }
}

/// Literal text as it reads in a Baton template: `${` written as `$${`.
pub fn escape_text(text: &str) -> String {
    text.replace("${", "$${")
}

fn clip(source: &str) -> String {
    match source.chars().count() > 80 {
        true => format!("{}…", source.chars().take(80).collect::<String>()),
        false => source.to_owned(),
    }
}

fn system_variable(name: &str) -> Option<&'static str> {
    Some(match name {
        "fallback_reason" => "fallback_reason",
        "no_action_matches_count" => "no_action_matches_count",
        "current_date" => "current_date",
        "current_time" => "current_time",
        "now" => "now",
        "digressed_from" => "digressed_from",
        "session_history" => "session_history",
        "timezone" => "timezone",
        "locale" => "locale",
        "user_id" => "user_id",
        "channel" | "channel_name" => "channel",
        _ => return None,
    })
}

fn literal(scalar: &Value) -> Translated {
    match scalar {
        Value::String(text) => Ok(quote(text)),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(boolean) => Ok(boolean.to_string()),
        Value::Null => Ok("null".to_owned()),
        _ => Err("a list or object value has no Baton equivalent".to_owned()),
    }
}

/// Text as a Baton string literal: in single quotes, which need no escaping in YAML, unless the
/// text has one.
pub fn quote(text: &str) -> String {
    let delimiter = match text.contains('\'') {
        true => '"',
        false => '\'',
    };
    let mut out = String::from(delimiter);
    for character in text.chars() {
        match character {
            _ if character == delimiter => {
                out.push('\\');
                out.push(delimiter);
            }
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push(delimiter);
    out
}

fn duration_sum(base: &str, sign: &str, duration: &Value) -> Translated {
    let Some(object) = duration.as_object() else {
        return Err("a duration that is not an object has no Baton equivalent".to_owned());
    };
    let mut text = base.to_owned();
    for (unit, amount) in object {
        let Some(amount) = amount.as_f64() else {
            return Err("a duration that is not a number has no Baton equivalent".to_owned());
        };
        let (function, factor) = match unit.as_str() {
            "days" => ("add_days", 1.0),
            "weeks" => ("add_days", 7.0),
            "months" => ("add_months", 1.0),
            "years" => ("add_months", 12.0),
            _ => return Err(format!("a duration in {unit} has no Baton equivalent")),
        };
        text = format!("{function}({text}, {sign}{})", amount * factor);
    }
    Ok(text)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Variable(String),
    Word(String),
    Number(String),
    Text(String),
    Symbol(&'static str),
}

fn tokenize(source: &str) -> Result<Vec<Tok>, String> {
    let beyond = || format!("the expression `{}` is beyond what the import translates", clip(source));
    let mut tokens = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some(&(start, character)) = chars.peek() {
        if character.is_whitespace() {
            chars.next();
            continue;
        }
        if source[start..].starts_with("${") {
            let Some(end) = source[start..].find('}') else {
                return Err(beyond());
            };
            tokens.push(Tok::Variable(source[start + 2..start + end].trim().to_owned()));
            while chars.peek().is_some_and(|&(offset, _)| offset <= start + end) {
                chars.next();
            }
            continue;
        }
        if character == '"' || character == '\'' {
            chars.next();
            let mut text = String::new();
            let mut closed = false;
            while let Some((_, next)) = chars.next() {
                match next {
                    _ if next == character => {
                        closed = true;
                        break;
                    }
                    '\\' => text.extend(chars.next().map(|(_, escaped)| escaped)),
                    _ => text.push(next),
                }
            }
            if !closed {
                return Err(beyond());
            }
            tokens.push(Tok::Text(text));
            continue;
        }
        if character.is_ascii_digit() {
            let mut number = String::new();
            while let Some(&(_, next)) = chars.peek() {
                if !(next.is_ascii_digit() || next == '.') {
                    break;
                }
                number.push(next);
                chars.next();
            }
            number.parse::<f64>().map_err(|_| beyond())?;
            tokens.push(Tok::Number(number));
            continue;
        }
        if character.is_alphabetic() || character == '_' {
            let mut word = String::new();
            while let Some(&(_, next)) = chars.peek() {
                if !(next.is_alphanumeric() || next == '_') {
                    break;
                }
                word.push(next);
                chars.next();
            }
            tokens.push(Tok::Word(word));
            continue;
        }
        let symbol = [
            "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", ",", ".",
        ]
        .into_iter()
        .find(|symbol| source[start..].starts_with(symbol))
        .ok_or_else(beyond)?;
        for _ in 0..symbol.len() {
            chars.next();
        }
        tokens.push(Tok::Symbol(symbol));
    }
    Ok(tokens)
}

struct Parser<'a, 'n> {
    tokens: &'a [Tok],
    position: usize,
    names: &'n mut Names,
    depth: usize,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.position)
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        match self.peek() {
            Some(Tok::Symbol(found)) if *found == symbol => {
                self.position += 1;
                true
            }
            _ => false,
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Tok::Word(found)) if found == word => {
                self.position += 1;
                true
            }
            _ => false,
        }
    }

    fn beyond(&self) -> String {
        "the expression is beyond what the import translates".to_owned()
    }

    fn or(&mut self) -> Translated {
        self.depth += 1;
        if self.depth > 64 {
            return Err("the expression nests too deeply to translate".to_owned());
        }
        let mut text = self.and()?;
        while self.eat_symbol("||") || self.eat_word("or") {
            text = format!("{text} or {}", self.and()?);
        }
        self.depth -= 1;
        Ok(text)
    }

    fn and(&mut self) -> Translated {
        let mut text = self.not()?;
        while self.eat_symbol("&&") || self.eat_word("and") {
            text = format!("{text} and {}", self.not()?);
        }
        Ok(text)
    }

    fn not(&mut self) -> Translated {
        if self.eat_symbol("!") || self.eat_word("not") {
            return Ok(format!("not {}", self.not()?));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Translated {
        let left = self.sum()?;
        for symbol in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat_symbol(symbol) {
                let right = self.sum()?;
                return Ok(format!("{left} {symbol} {right}"));
            }
        }
        Ok(left)
    }

    fn sum(&mut self) -> Translated {
        let mut text = self.product()?;
        loop {
            let symbol = match () {
                _ if self.eat_symbol("+") => "+",
                _ if self.eat_symbol("-") => "-",
                _ => return Ok(text),
            };
            text = format!("{text} {symbol} {}", self.product()?);
        }
    }

    fn product(&mut self) -> Translated {
        let mut text = self.unary()?;
        loop {
            let symbol = match () {
                _ if self.eat_symbol("*") => "*",
                _ if self.eat_symbol("/") => "/",
                _ if self.eat_symbol("%") => "%",
                _ => return Ok(text),
            };
            text = format!("{text} {symbol} {}", self.unary()?);
        }
    }

    fn unary(&mut self) -> Translated {
        if self.eat_symbol("-") {
            return Ok(format!("-{}", self.unary()?));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Translated {
        let (mut text, mut is_path) = self.primary()?;
        while self.eat_symbol(".") {
            let Some(Tok::Word(member)) = self.peek().cloned() else {
                return Err(self.beyond());
            };
            self.position += 1;
            if !self.eat_symbol("(") {
                if !is_path {
                    return Err(format!("`.{member}` on a computed value has no Baton equivalent"));
                }
                text = format!("{text}.{member}");
                continue;
            }
            let mut arguments = Vec::new();
            if !self.eat_symbol(")") {
                loop {
                    arguments.push(self.or()?);
                    if self.eat_symbol(")") {
                        break;
                    }
                    if !self.eat_symbol(",") {
                        return Err(self.beyond());
                    }
                }
            }
            text = match (member.as_str(), arguments.as_slice()) {
                ("size" | "length", []) => format!("length({text})"),
                ("isEmpty", []) => format!("length({text}) == 0"),
                ("toLowerCase", []) => format!("lower({text})"),
                ("toUpperCase", []) => format!("upper({text})"),
                ("trim", []) => format!("trim({text})"),
                ("contains", [part]) => format!("contains({text}, {part})"),
                ("startsWith", [part]) => format!("starts_with({text}, {part})"),
                ("endsWith", [part]) => format!("ends_with({text}, {part})"),
                _ => return Err(format!("the method `.{member}()` has no Baton equivalent")),
            };
            is_path = false;
        }
        Ok(text)
    }

    /// The value and whether it is a plain variable path (so `.name` may extend it).
    fn primary(&mut self) -> Result<(String, bool), String> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.beyond());
        };
        self.position += 1;
        match token {
            Tok::Variable(name) => {
                let (root, path) = match name.split_once('.') {
                    Some((root, path)) => (root, Some(Value::String(path.to_owned()))),
                    None => (name.as_str(), None),
                };
                let baton = match (self.names.session.get(root), self.names.action.get(root)) {
                    (_, Some(action)) => action.clone(),
                    (Some(session), None) => session.clone(),
                    (None, None) => match root.strip_prefix("system_").and_then(system_variable) {
                        Some(built_in) => built_in.to_owned(),
                        None => identifier(root),
                    },
                };
                Ok((self.names.reference(baton, path.as_ref())?, true))
            }
            Tok::Number(number) => Ok((number, false)),
            Tok::Text(text) => Ok((quote(&text), false)),
            Tok::Word(word) => match word.as_str() {
                "true" | "false" | "null" => Ok((word, false)),
                "input" => Err("the customer's message (`input`) cannot be read in Baton's expressions".to_owned()),
                _ => Err(format!("`{word}` in an expression has no Baton equivalent")),
            },
            Tok::Symbol("(") => {
                let inner = self.or()?;
                match self.eat_symbol(")") {
                    true => Ok((format!("({inner})"), false)),
                    false => Err(self.beyond()),
                }
            }
            Tok::Symbol(_) => Err(self.beyond()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> Names {
        let mut names = Names::default();
        names.action.insert("step_1".into(), "step_1".into());
        names.types.insert("step_1".into(), ResponseType::YesNo);
        names.session.insert("my-var".into(), "my_var".into());
        names
    }

    #[test]
    fn condition_trees_translate() {
        let mut names = names();
        for (tree, baton) in [
            (
                json!({"eq": [{"variable": "step_1"}, {"scalar": "yes"}]}),
                "step_1 == true",
            ),
            (
                json!({"and": [{"exists": {"skill_variable": "my-var"}}, {"gt": [{"variable": "step_2", "variable_path": "body.count"}, {"scalar": 3}]}]}),
                "(is_set(my_var)) and (step_2.body.count > 3)",
            ),
            (
                json!({"eq": [{"system_variable": "fallback_reason"}, {"scalar": "Agent requested"}]}),
                "fallback_reason == 'agent_requested'",
            ),
            (
                json!({"gt": [{"variable": "d"}, {"add": [{"system_variable": "current_date"}, {"duration": {"days": 5}}]}]}),
                "d > add_days(current_date, 5)",
            ),
            (json!({"expression": "${step_1}.size() > 0"}), "length(step_1) > 0"),
            (
                json!({"expression": "${step_836_result_1.status}<400"}),
                "step_836_result_1.status < 400",
            ),
        ] {
            assert_eq!(names.condition(&tree).as_deref(), Ok(baton), "{tree}");
        }
        for tree in [
            json!({"matches": [{"variable": "a"}, {"scalar": "x"}]}),
            json!({"eq": [{"system_variable": "fallback_reason"}, {"scalar": "Failed to confirm topic return"}]}),
            json!({"expression": "${a}.get(0).b"}),
            json!({"expression": "input.text"}),
            json!({"entity": "danger_words"}),
            json!({"weird": 1}),
            json!([1, 2]),
        ] {
            assert!(names.condition(&tree).is_err(), "{tree}");
        }
    }

    #[test]
    fn text_references_translate_or_are_reported() {
        let mut names = names();
        let mut problems = Vec::new();
        assert_eq!(
            names.text("Hi ${my-var}, you said ${step_1}. $5 ok", &mut problems),
            "Hi ${my_var}, you said ${step_1}. $5 ok"
        );
        assert!(problems.is_empty());
        assert_eq!(names.text("A ${x.get(0)} b", &mut problems), "A  b");
        assert_eq!(problems.len(), 1);
        assert_eq!(identifier("action_3200-2"), "action_3200_2");
        assert_eq!(identifier("9lives"), "n_9lives");
        assert_eq!(identifier("../.."), "unnamed");
    }
}
