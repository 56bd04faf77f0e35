//! A step's output: its responses as what Baton says (text, options, pause, links), and a
//! `connect_to_agent` response as the step's transfer.

use super::*;

impl Converter<'_> {
    /// The step's outputs, and its first static text.
    pub(super) fn outputs(
        &mut self,
        output: Option<&Value>,
        pointer: &str,
    ) -> (Vec<Node>, Option<String>, Option<Node>) {
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
    pub(super) fn value_text(&mut self, value: &Value, problems: &mut Vec<String>) -> String {
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

    pub(super) fn first_text(&mut self, step: &Value, problems: &mut Vec<String>) -> Option<String> {
        let generic = items(step.get("output").and_then(|output| output.get("generic")));
        let response = generic
            .iter()
            .find(|response| response.get("response_type").and_then(Value::as_str) == Some("text"))?;
        let value = items(response.get("values")).first()?;
        Some(self.value_text(value, problems)).filter(|text| !text.trim().is_empty())
    }

    /// A connect_to_agent `response` (at `pointer`) as Baton's `then`.
    pub(super) fn connect(&mut self, response: &Value, pointer: &str) -> Node {
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
}

pub(super) fn say_node(mut say: Vec<Node>) -> Node {
    match say.len() {
        1 => say.remove(0),
        _ => Node::seq(say),
    }
}
