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
        // Names a person to talk to, in fewer words than the built-in "I want to speak to a
        // manager".
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

/// While a transfer is open the runtime says nothing, but a message that asks for a person
/// (the same rule as when none is open) is marked so the caller tells the customer where they
/// stand; one that only shares "I want to" with those phrases is not.
#[test]
fn asking_for_a_person_while_a_transfer_is_open_is_marked_once() {
    let mut small = shop();
    small.counterexamples.clear();
    let engine = Engine::new(small);
    let turn = engine.start(Session::default(), t0());
    let turn = engine.said(turn.session, "I want to talk to a person", t0());
    assert!(turn.session.transfer_open);
    let open = turn.session;
    for (text, marked) in [
        ("can I speak to someone", true),
        ("get me a human", true),
        ("I want to order a pizza", false),
        ("where is my order", false),
    ] {
        let turn = engine.said(open.clone(), text, t0());
        let expected = match marked {
            true => "[asked for an agent again]\n",
            false => "",
        };
        assert_eq!(render(&turn.effects), expected, "{text}");
        assert!(turn.session.transfer_open, "{text}");
        assert_eq!(turn.debug.fallback_reason, None, "{text}");
    }
}

/// The desk's answer picks the response the customer reads, placed right after the transfer;
/// a queue that gives the customer back when nobody is there closes the transfer at once.
#[test]
fn the_desks_answer_picks_the_transfer_response() {
    let engine = Engine::new(shop());
    let asked = |agents| {
        let turn = engine.start(Session::default(), t0());
        let mut turn = engine.said(turn.session, "I want to talk to a person", t0());
        baton_dialog::answer_transfer(&mut turn, agents);
        turn
    };
    let online = asked(baton_dialog::AgentsAvailable::Online);
    let rendered = render(&online.effects);
    let lines: Vec<&str> = rendered.lines().collect();
    let transfer_at = lines.iter().position(|line| line.starts_with("[Connect to an agent]"));
    assert_eq!(
        lines.get(transfer_at.expect("a transfer") + 1),
        Some(&"assistant: Let's send you to an available agent")
    );
    assert!(online.session.transfer_open);
    let waiting = asked(baton_dialog::AgentsAvailable::Offline {
        back_to_assistant: false,
    });
    assert!(render(&waiting.effects).ends_with(
        "assistant: There are no agents available at this time. When one becomes available, we'll connect you.\n"
    ));
    assert!(waiting.session.transfer_open);
    let back = asked(baton_dialog::AgentsAvailable::Offline {
        back_to_assistant: true,
    });
    assert_eq!(render(&back.effects), render(&waiting.effects));
    assert!(!back.session.transfer_open);
    // Nothing to answer: the turn is left as it is.
    let turn = engine.said(Session::default(), "where is my order", t0());
    let mut answered = turn.clone();
    baton_dialog::answer_transfer(&mut answered, baton_dialog::AgentsAvailable::Online);
    assert_eq!(answered, turn);
}
