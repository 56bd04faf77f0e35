//! An action's steps in execution order: each step's condition, what it says, its question, its
//! assignments and where it goes next.

use super::*;

impl Converter<'_> {
    /// The steps of an action in execution order, with their models and the worst outcome.
    pub(super) fn steps(
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
        // The variable each question sets.
        self.names.questions = ids
            .iter()
            .filter(|(index, _)| steps[**index].get("question").is_some())
            .map(|(index, id)| self.question_variable(&steps[*index], id))
            .collect();
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

    #[allow(clippy::too_many_arguments)]
    pub(super) fn step(
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

    pub(super) fn handlers_without_question(&mut self, step: &Value, pointer: &str) {
        for (index, handler) in items(step.get("handlers")).iter().enumerate() {
            let handler_type = handler.get("type").and_then(Value::as_str).unwrap_or("?");
            self.notes.add(
                &format!("{pointer}/handlers/{index}"),
                Outcome::Approximate,
                format!("the `{handler_type}` handler of a step without a question has no Baton equivalent"),
            );
        }
    }

    pub(super) fn assignments(&mut self, step: &Value, pointer: &str) -> Node {
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
