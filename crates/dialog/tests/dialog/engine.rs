//! The Engine: training data, classification, and a conversation through the real classifier.

use baton_dialog::engine::training_examples;
use baton_dialog::{Engine, FALLBACK_INTENT, Session, TransferReason};
use serde_json::json;

use crate::support::{assistant, render, t0};

fn shop() -> baton_assistant::Assistant {
    assistant(json!({
        "counterexamples": ["what is the weather like", "tell me a joke"],
        "actions": [
            {"id": "track_order", "title": "Track an order", "examples": [
                "where is my order", "track my package", "has my parcel shipped", "when will my order arrive",
                "order status", "where's my delivery"
            ], "steps": [{"say": "Your order is on its way."}]},
            {"id": "return_item", "title": "Return an item", "examples": [
                "I want to return something", "how do I send this back", "return an item", "I need a refund for a product",
                "start a return", "send back my purchase"
            ], "steps": [{"say": "You can return items within 30 days."}]}
        ]
    }))
}

#[test]
fn training_examples_cover_actions_and_the_request_for_a_human() {
    let mut assistant = shop();
    let examples = training_examples(&assistant);
    assert_eq!(
        examples
            .iter()
            .filter(|example| example.intent == "track_order")
            .count(),
        6
    );
    assert_eq!(
        examples
            .iter()
            .filter(|example| example.intent == "return_item")
            .count(),
        6
    );
    assert_eq!(
        examples
            .iter()
            .filter(|example| example.intent == FALLBACK_INTENT)
            .count(),
        baton_assistant::defaults::AGENT_REQUESTED_EXAMPLES.len()
    );
    assistant.system.fallback = Some(serde_json::from_value(json!({"examples": ["get me a human"]})).unwrap());
    let fallback: Vec<String> = training_examples(&assistant)
        .into_iter()
        .filter(|example| example.intent == FALLBACK_INTENT)
        .map(|example| example.text)
        .collect();
    assert_eq!(fallback, ["get me a human"]);
}

#[test]
fn an_engine_classifies_and_steps() {
    let engine = Engine::new(shop());
    assert_eq!(engine.assistant().actions.len(), 2);
    let turn = engine.start(Session::default(), t0());
    let turn = engine.said(turn.session, "where is my order", t0());
    assert_eq!(render(&turn.effects), "assistant: Your order is on its way.\n");
    assert_eq!(
        turn.debug.matched.as_ref().map(|(action, _)| action.as_str()),
        Some("track_order")
    );
    let turn = engine.said(turn.session, "I want to talk to a person", t0());
    assert_eq!(turn.debug.fallback_reason, Some(TransferReason::AgentRequested));
    assert!(turn.session.transfer_open);
}

#[test]
fn in_a_small_assistant_only_a_request_for_a_person_transfers() {
    // No counterexamples: with two actions, the phrases that ask for a person are the largest
    // class, and messages that share only "I want to" or "I need" with them ranked it first.
    let mut small = shop();
    small.counterexamples.clear();
    let engine = Engine::new(small);
    for text in [
        "I want to order a pizza",
        "I need a plumber",
        "I want to cancel my phone contract",
        "tell me a joke",
    ] {
        let turn = engine.start(Session::default(), t0());
        let turn = engine.said(turn.session, text, t0());
        assert_eq!(turn.debug.fallback_reason, None, "{text}");
        assert!(!turn.session.transfer_open, "{text}");
    }
    for text in [
        "I want to talk to a person",
        "can I speak to someone",
        "get me a human",
        "agent please",
        "tlak to a human",
        // Not worded like the built-in phrases, but it names a person to talk to.
        "I want a manager",
    ] {
        let turn = engine.start(Session::default(), t0());
        let turn = engine.said(turn.session, text, t0());
        assert_eq!(
            turn.debug.fallback_reason,
            Some(TransferReason::AgentRequested),
            "{text}"
        );
        assert!(turn.session.transfer_open, "{text}");
    }
}
