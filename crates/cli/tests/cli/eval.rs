//! `baton eval DIR`: each example of an assistant said to the assistant trained without it.

use serde_json::Value;

use crate::{example, folder, run, stderr, stdout};

/// The last counterexample asks for the order action: it should not be a counterexample.
const ASSISTANT: &str = "name: Shop\ncounterexamples:\n  - tell me a joke\n  - what is the weather like\n  - who won the match\n  - track my parcel please\n";
const HOURS: &str = "id: hours\nexamples:\n  - when are you open\n  - what are your opening hours\n  - are you open on sunday\n  - what time do you close today\n  - what time do you open tomorrow\n  - opening times please\n  - are you open now\n  - how late are you open\nsteps:\n  - say: We open at 9.\n";
/// The order action's last example asks for the opening hours: filed under the wrong action.
const ORDER: &str = "id: order\nexamples:\n  - where is my order\n  - track my order\n  - has my parcel shipped\n  - my delivery has not arrived\n  - when will my order arrive\n  - my order arrived damaged\n  - I am still waiting for my package\n  - what time do you open on sunday\nsteps:\n  - say: Let me look.\n";

#[test]
fn an_example_filed_under_the_wrong_action_is_reported() {
    let dir = folder(&[
        ("shop/assistant.yaml", ASSISTANT),
        ("shop/actions/hours.yaml", HOURS),
        ("shop/actions/order.yaml", ORDER),
    ]);
    let shop = dir.path().join("shop");
    let output = run(&["eval", shop.to_str().unwrap()], "");
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(
        report.starts_with(
            "shop: 16 examples of 2 actions, each said to the assistant trained without its fold (5 folds)"
        ),
        "{report}"
    );
    assert!(
        report.contains("order: \"what time do you open on sunday\" -> hours ("),
        "{report}"
    );
    assert!(
        report.contains("Counterexamples: 3 of 4 matched nothing when held out, as they should.\n  \"track my parcel please\": started order ("),
        "{report}"
    );

    let output = run(&["eval", shop.to_str().unwrap(), "--json", "--folds", "4"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(report["folds"], 4);
    let totals = &report["totals"];
    let parts: u64 = ["recognised", "clarified", "other_action", "no_match", "fallback"]
        .iter()
        .map(|key| totals[key].as_u64().expect("a count"))
        .sum();
    assert_eq!((totals["examples"].as_u64(), parts), (Some(16), 16), "{totals}");
    let trials = report["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 16);
    let misfiled = trials
        .iter()
        .find(|trial| trial["text"] == "what time do you open on sunday")
        .expect("the misfiled example");
    assert_eq!(
        (&misfiled["action"], &misfiled["example"], &misfiled["outcome"]),
        (&Value::from("order"), &Value::from(7), &Value::from("other_action")),
        "{misfiled}"
    );
    assert_eq!(misfiled["started"], "hours");
    // Each example was tried once.
    let mut tried: Vec<(&str, u64)> = trials
        .iter()
        .map(|trial| (trial["action"].as_str().unwrap(), trial["example"].as_u64().unwrap()))
        .collect();
    tried.dedup();
    assert_eq!(tried.len(), 16);
    let counterexamples = report["counterexamples"].as_array().expect("counterexamples");
    let outcomes: Vec<&str> = counterexamples
        .iter()
        .map(|trial| trial["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["no_match", "no_match", "no_match", "other_action"],
        "{report}"
    );
    assert_eq!(counterexamples[3]["started"], "order");
}

#[test]
fn the_examples_are_measured_and_bad_arguments_are_refused() {
    let bank = example("bank");
    let output = run(&["eval", bank.to_str().unwrap(), "--json"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["assistant"], "bank");
    assert!(report["totals"]["recognised"].as_u64().unwrap() > 0, "{report}");

    for (args, error) in [
        (
            vec!["eval", bank.to_str().unwrap(), "--folds", "1"],
            "--folds must be from 2 to 20",
        ),
        (
            vec!["eval", bank.to_str().unwrap(), "--train", "x.jsonl"],
            "cannot be used with",
        ),
        (vec!["eval", "/no/such/assistant"], "no such folder"),
        (
            vec!["eval", "--folds", "3", "--train", "x.jsonl", "--test", "y.jsonl"],
            "--folds goes with an assistant folder",
        ),
        (vec!["eval", "--train", "x.jsonl"], "required"),
    ] {
        let output = run(&args, "");
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr(&output).contains(error), "{args:?}: {}", stderr(&output));
    }
}
