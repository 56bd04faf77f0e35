//! The system actions: Greet customer, No action matches (its miss count), Fallback (its steps per
//! `fallback_reason`) and Trigger word detected (danger and profane words).

use super::*;

impl Converter<'_> {
    pub(super) fn greet(&mut self, action: &Value, pointer: &str) {
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

    pub(super) fn no_action_matches(&mut self, action: &Value, pointer: &str) {
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

    pub(super) fn fallback(&mut self, action: &Value, pointer: &str) {
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
    pub(super) fn trigger_words(&mut self, action: &Value, pointer: &str) {
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

    pub(super) fn entity_words(&self, entity: &str) -> Vec<String> {
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
}
