//! Conversation tests derived from the imported assistant, written under `tests/`: what the
//! export promises, checked against what Baton does with the conversion.
//!
//! - the greeting says the export's welcome text;
//! - the first example of each action starts that action;
//! - asking for a person reaches the Fallback's transfer;
//! - misses in a row (one more than `no_match_limit`) reach the Fallback with reason
//!   `no_action_matches`;
//! - a path through each options question that the action asks before any other question.
//!
//! A test is written only where the outcome follows from the conversion alone (a condition over
//! a variable the import cannot evaluate means no test); each one not written is said why.

use baton_assistant::ResponseType;

use super::model::{ActionModel, AssistantModel, Cond, Next, StepModel};
use crate::import::yaml_out::{self, Node};

/// Messages no assistant's examples resemble.
const NONSENSE: &[&str] = &[
    "zxqv plorb vintrish",
    "wubble skronk fladderjon",
    "quixplat mernog zuberti",
    "flurbo drangwist yomple",
    "krevvit snurple ozzlequart",
    "blorptang wizzick mufferon",
];

/// What the assistant is expected to do.
enum Expect {
    Transfer(&'static str),
}

/// The tests' files, and a sentence for each test that could not be derived.
pub fn tests(model: &AssistantModel) -> (Vec<(String, String)>, Vec<String>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    if let Some(why) = greeting_waits(&model.greet) {
        skipped.push(format!("no conversation tests were derived: {why}"));
        return (files, skipped);
    }
    if let Some(text) = greeting_text(&model.greet) {
        files.push(file(
            "greeting",
            "The greeting says the export's welcome text",
            Node::seq(vec![Node::map().with("assistant_contains", Node::str(text))]),
        ));
    }
    for action in &model.actions {
        let Some(example) = action.examples.first() else {
            continue;
        };
        let conversation = Node::seq(vec![
            Node::map()
                .with("customer", Node::str(example))
                .with("action", Node::str(&action.id)),
        ]);
        files.push(file(
            &format!("starts_{}", action.id),
            &format!("The first example of `{}` starts it", action.id),
            conversation,
        ));
    }
    let phrase = model
        .fallback_examples
        .iter()
        .find(|example| example.to_lowercase().contains("human"))
        .or(model.fallback_examples.first())
        .map_or("I want to talk to a person", String::as_str);
    match fallback_outcome(model, "agent_requested") {
        Ok(expect) => files.push(file(
            "agent_requested",
            "Asking for a person reaches the Fallback",
            Node::seq(vec![with_expect(
                Node::map().with("customer", Node::str(phrase)),
                &expect,
            )]),
        )),
        Err(why) => skipped.push(format!("no agent-request test: {why}")),
    }
    match (no_match_settles(model), fallback_outcome(model, "no_action_matches")) {
        (Ok(()), Ok(expect)) => {
            let misses = model.no_match_limit as usize + 1;
            let mut lines = Vec::new();
            for index in 0..misses {
                let customer = Node::map().with("customer", Node::str(NONSENSE[index % NONSENSE.len()]));
                lines.push(match index + 1 == misses {
                    true => with_expect(customer, &expect),
                    false => customer.with("no_transfer", Node::raw("true")),
                });
            }
            files.push(file(
                "no_action_matches",
                &format!("{misses} messages that match nothing reach the Fallback"),
                Node::seq(lines),
            ));
        }
        (Err(why), _) => skipped.push(format!("no no-match test: {why}")),
        (_, Err(why)) => skipped.push(format!("no no-match test: {why}")),
    }
    for action in &model.actions {
        if let Some(test) = option_path(action) {
            files.push(test);
        }
    }
    (files, skipped)
}

fn file(stem: &str, name: &str, conversation: Node) -> (String, String) {
    let document = Node::map()
        .with("name", Node::str(name))
        .with("conversation", conversation)
        .comment("Derived by `baton import watson` from the export.");
    (format!("tests/{stem}.yaml"), yaml_out::to_string(&document))
}

fn with_expect(line: Node, expect: &Expect) -> Node {
    match expect {
        Expect::Transfer("planned") => line.with("transfer", Node::raw("true")),
        Expect::Transfer(reason) => line.with("transfer", Node::map().with("reason", Node::str(*reason))),
    }
}

/// The first text the greeting says, when no condition comes before it.
fn greeting_text(greet: &[StepModel]) -> Option<&str> {
    for step in greet {
        match step.cond {
            Cond::Never => continue,
            Cond::Always => {}
            _ => return None,
        }
        match &step.text {
            Some(text) if !text.trim().is_empty() => return Some(text.trim()),
            _ if step.next != Next::Continue => return None,
            _ => {}
        }
    }
    None
}

fn greeting_waits(greet: &[StepModel]) -> Option<&'static str> {
    for step in greet {
        if step.cond == Cond::Never {
            continue;
        }
        if step.question.is_some() {
            return Some("the greeting asks a question, so the customer's first message answers it");
        }
        match step.next {
            Next::GoTo { .. } => return Some("the greeting goes to another action"),
            Next::Connect => return Some("the greeting transfers to an agent"),
            Next::End => return None,
            _ => {}
        }
    }
    None
}

/// Whether misses in a row lead nowhere but back to No action matches: its steps, and those of the
/// actions it goes to, ask nothing and transfer to no one.
fn no_match_settles(model: &AssistantModel) -> Result<(), &'static str> {
    if !model.no_match_escalates {
        return Err("the export's No action matches never runs Fallback (Baton's does, after `no_match_limit` misses)");
    }
    let mut pending: Vec<&[StepModel]> = vec![&model.no_match];
    let mut visited: Vec<&str> = Vec::new();
    while let Some(steps) = pending.pop() {
        for step in steps.iter().filter(|step| step.cond != Cond::Never) {
            if step.question.is_some() {
                return Err("No action matches asks a question, or starts an action that does");
            }
            match &step.next {
                Next::GoTo { action } if !visited.contains(&action.as_str()) => {
                    visited.push(action);
                    match model.actions.iter().find(|candidate| &candidate.id == action) {
                        Some(target) => pending.push(&target.steps),
                        None => return Err("No action matches goes to an action that was not carried over"),
                    }
                }
                Next::Connect => return Err("No action matches transfers, or starts an action that does"),
                _ => {}
            }
        }
    }
    Ok(())
}

/// What Fallback does for `reason`, when the conversion alone tells; otherwise why not.
fn fallback_outcome(model: &AssistantModel, reason: &'static str) -> Result<Expect, String> {
    let Some(steps) = &model.fallback else {
        return Ok(Expect::Transfer(reason));
    };
    let unpredictable = || format!("the Fallback's steps for `{reason}` test variables the import cannot predict");
    for step in steps {
        let applies = match &step.cond {
            Cond::Always => true,
            Cond::Never => false,
            Cond::Reasons(reasons) => reasons.contains(&reason),
            Cond::Equals(..) | Cond::Unknown => return Err(unpredictable()),
        };
        if !applies {
            continue;
        }
        if step.question.is_some() {
            return Err("the Fallback asks a question".to_owned());
        }
        match &step.next {
            Next::Connect => return Ok(Expect::Transfer(reason)),
            Next::GoTo { action } => {
                let target = model.actions.iter().find(|candidate| &candidate.id == action);
                return match target.is_some_and(|target| reaches_connect(&target.steps)) {
                    true => Ok(Expect::Transfer("planned")),
                    false => Err(format!(
                        "the Fallback goes to `{action}`, whose steps the import cannot predict"
                    )),
                };
            }
            Next::End => break,
            Next::Other => return Err(unpredictable()),
            Next::Continue => {}
        }
    }
    Err(format!(
        "Watson's Fallback ends without a transfer for `{reason}`, and Baton's always ends in one (see the note on the Fallback)"
    ))
}

/// Whether steps with no condition and no question lead straight to a transfer.
fn reaches_connect(steps: &[StepModel]) -> bool {
    for step in steps {
        match step.cond {
            Cond::Never => continue,
            Cond::Always => {}
            _ => return false,
        }
        if step.question.is_some() {
            return false;
        }
        match step.next {
            Next::Connect => return true,
            Next::Continue => {}
            _ => return false,
        }
    }
    false
}

/// The action's first example, then its first options question answered with the first option,
/// when no other question comes before it.
fn option_path(action: &ActionModel) -> Option<(String, String)> {
    let example = action.examples.first()?;
    let mut position = None;
    for (index, step) in action.steps.iter().enumerate() {
        match step.cond {
            Cond::Never => continue,
            Cond::Always => {}
            _ => return None,
        }
        if let Some(question) = &step.question {
            if question.kind == ResponseType::Options {
                position = Some(index);
                break;
            }
            return None;
        }
        if step.next != Next::Continue {
            return None;
        }
    }
    let index = position?;
    let question = action.steps[index].question.as_ref()?;
    let (label, value) = question.options.first()?;
    let lower = example.to_lowercase();
    // A first message that names an option answers the question up front.
    if question
        .options
        .iter()
        .any(|(label, _)| lower.contains(&label.to_lowercase()))
    {
        return None;
    }
    let mut answer = Node::map().with("customer", Node::str(label));
    if action.steps[index].next == Next::Continue
        && let Some(Ok(text)) = next_text(&action.steps[index + 1..], &question.variable, value)
    {
        answer = answer.with("assistant_contains", Node::str(text));
    }
    let conversation = Node::seq(vec![
        Node::map()
            .with("customer", Node::str(example))
            .with("action", Node::str(&action.id))
            .with("assistant_contains", Node::str(label)),
        answer,
    ]);
    Some(file(
        &format!("options_{}", action.id),
        &format!("`{}` takes the answer {label:?} to its options question", action.id),
        conversation,
    ))
}

/// The text of the step that runs after the question when its variable holds `value`.
fn next_text(steps: &[StepModel], variable: &str, value: &str) -> Option<Result<String, ()>> {
    for step in steps {
        let runs = match &step.cond {
            Cond::Always => true,
            Cond::Never => false,
            Cond::Equals(name, expected) if name == variable => expected == value,
            _ => return None,
        };
        if !runs {
            continue;
        }
        return Some(step.text.clone().ok_or(()));
    }
    None
}
