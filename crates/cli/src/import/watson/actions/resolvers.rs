//! A step's resolver as its `then`: continue, end, replay, another action with or without return,
//! connect to agent, fallback, end the session.

use super::*;

impl Converter<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn then(
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
}
