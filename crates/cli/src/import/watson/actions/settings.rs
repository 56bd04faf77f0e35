//! Assistant-wide settings and session variables: the variables with their initial values, the
//! settings Baton has no place for (reported), and disambiguation as the clarifying question.

use super::*;

impl Converter<'_> {
    pub(super) fn session_variables(&mut self) {
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
    pub(super) fn settings_notes(&mut self) {
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
    pub(super) fn setting(&mut self, key: &str, value: Node) {
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
    pub(super) fn clarifying_question(&mut self) {
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
