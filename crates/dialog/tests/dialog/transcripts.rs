//! Whole conversations as transcript snapshots (`UPDATE_EXPECT=1 cargo test -p baton-dialog` to update).

use expect_test::{Expect, expect};
use serde_json::json;

use crate::support::{assistant, transcript};

pub fn telecom() -> baton_assistant::Assistant {
    assistant(json!({
        "settings": {"no_match_limit": 2},
        "variables": {"customer_name": {"type": "text"}},
        "system": {
            "greet": {"steps": [{"say": "Hi, I'm the Telco assistant."}]},
            "trigger_words": {"danger": {"words": ["lawyer"]}},
            "fallback": {"connect": {"queue": "support", "message_to_agent": "Fallback: ${fallback_reason}"}}
        },
        "actions": [
            {"id": "pay_bill", "title": "Pay a bill", "steps": [
                {"id": "amount", "say": "How much would you like to pay?", "question": {"type": "currency", "min": 1, "max": 500}},
                {"id": "when", "say": "When should we take it?", "question": {"type": "date", "after": "current_date"}},
                {"id": "ok", "say": "Pay ${amount} on ${when}?", "question": {"type": "yes_no"}},
                {"condition": "ok", "say": "Done: ${amount} on ${when}.", "then": "end"},
                {"say": "Okay, nothing was paid."}
            ]},
            {"id": "data_usage", "title": "Data usage", "steps": [{"say": "You have used 3.2 GB of 10 GB."}]},
            {"id": "cancel_contract", "title": "Cancel my contract", "steps": [
                {"id": "reason", "say": "Sorry to hear that. Why are you leaving?", "question": {"type": "options", "options": ["Price", "Coverage", "Moving"]}},
                {"condition": "reason == \"Price\"", "then": {"go_to": {"action": "offer", "return": false}}},
                {"then": {"connect_to_agent": {"queue": "retention", "message_to_agent": "Leaving because of ${reason}."}}}
            ]},
            {"id": "offer", "title": "Special offer", "steps": [
                {"id": "accept", "say": "We can give you 20% off for a year. Interested?", "question": {"type": "yes_no"}},
                {"condition": "accept", "say": "Great, the discount is on.", "then": "end"},
                {"say": "Understood, let me pass you to our retention team.", "then": {"connect_to_agent": {"queue": "retention", "message_to_agent": "Declined the offer."}}}
            ]}
        ]
    }))
}

fn check(script: &[&str], expected: Expect) {
    expected.assert_eq(&transcript(&telecom(), script));
}

#[test]
fn paying_a_bill_with_a_mistake_on_the_way() {
    check(
        &[
            "I want to pay my bill => pay_bill",
            "a lot",
            "$600",
            "$45",
            "yesterday",
            "tomorrow",
            "yes",
        ],
        expect![[r#"
            assistant: Hi, I'm the Telco assistant.
            customer: I want to pay my bill
            assistant: How much would you like to pay?
            customer: a lot
            assistant: Please enter an amount, for example $25.00.
            customer: $600
            assistant: Please enter an amount between $1.00 and $500.00.
            customer: $45
            assistant: When should we take it?
            customer: yesterday
            assistant: Please enter a date on or after November 25, 2026.
            customer: tomorrow
            assistant: Pay $45.00 on November 26, 2026?
            customer: yes
            assistant: Done: $45.00 on November 26, 2026.
        "#]],
    );
}

#[test]
fn changing_topic_and_going_back() {
    check(
        &[
            "pay my bill => pay_bill",
            "how much data have I used => data_usage:0.85",
            "yes",
            "$20",
            "next friday",
            "no",
        ],
        expect![[r#"
            assistant: Hi, I'm the Telco assistant.
            customer: pay my bill
            assistant: How much would you like to pay?
            customer: how much data have I used
            assistant: You have used 3.2 GB of 10 GB.
            assistant: Do you want to go back to Pay a bill? [Yes | No]
            customer: yes
            assistant: How much would you like to pay?
            customer: $20
            assistant: When should we take it?
            customer: next friday
            assistant: Pay $20.00 on December 4, 2026?
            customer: no
            assistant: Okay, nothing was paid.
        "#]],
    );
}

#[test]
fn retention_offer_accepted_or_transfer() {
    check(
        &[
            "cancel => cancel_contract",
            "too expensive",
            "price",
            "yes",
            "cancel => cancel_contract",
            "price",
            "no",
        ],
        expect![[r#"
            assistant: Hi, I'm the Telco assistant.
            customer: cancel
            assistant: Sorry to hear that. Why are you leaving?
            assistant: [Price | Coverage | Moving]
            customer: too expensive
            assistant: Please choose one of the options.
            assistant: [Price | Coverage | Moving]
            customer: price
            assistant: We can give you 20% off for a year. Interested?
            customer: yes
            assistant: Great, the discount is on.
            customer: cancel
            assistant: Sorry to hear that. Why are you leaving?
            assistant: [Price | Coverage | Moving]
            customer: price
            assistant: We can give you 20% off for a year. Interested?
            customer: no
            assistant: Understood, let me pass you to our retention team.
            [Connect to an agent] reason=planned queue=retention message=Declined the offer.
        "#]],
    );
    check(
        &[
            "cancel => cancel_contract",
            "coverage",
            "hello?",
            "!ended unavailable",
            "data => data_usage",
        ],
        expect![[r#"
            assistant: Hi, I'm the Telco assistant.
            customer: cancel
            assistant: Sorry to hear that. Why are you leaving?
            assistant: [Price | Coverage | Moving]
            customer: coverage
            [Connect to an agent] reason=planned queue=retention message=Leaving because of Coverage.
            customer: hello?
            <ended unavailable>
            assistant: Sorry, no agent is available right now. I can still help you here: what do you need?
            customer: data
            assistant: You have used 3.2 GB of 10 GB.
        "#]],
    );
}

#[test]
fn misses_then_a_clarifying_question_then_a_transfer() {
    check(
        &[
            "blah",
            "money stuff => pay_bill:0.6, cancel_contract:0.55",
            "None of the above",
            "hmm",
            "still nothing",
            "!handed_back pay_bill amount=30",
        ],
        expect![[r#"
            assistant: Hi, I'm the Telco assistant.
            customer: blah
            assistant: I'm afraid I don't understand. Please rephrase your question.
            customer: money stuff
            assistant: Did you mean: [Pay a bill | Cancel my contract | None of the above | Connect to support]
            customer: None of the above
            assistant: Sorry about that. Could you rephrase what you need?
            customer: hmm
            assistant: I'm afraid I don't understand. Please rephrase your question.
            customer: still nothing
            assistant: I'm afraid I still don't understand. I'll connect you to an agent who can help.
            [Connect to an agent] reason=no_action_matches queue=support message=Fallback: no_action_matches failed=["blah", "hmm", "still nothing"]
            <handed_back pay_bill amount=30>
            assistant: When should we take it?
        "#]],
    );
}

#[test]
fn a_danger_word_mid_question() {
    check(
        &["pay => pay_bill", "I'm calling my lawyer"],
        expect![[r#"
        assistant: Hi, I'm the Telco assistant.
        customer: pay
        assistant: How much would you like to pay?
        customer: I'm calling my lawyer
        assistant: I'll connect you to an agent right away.
        [Connect to an agent] reason=danger_word queue=support message=Fallback: danger_word failed=["I'm calling my lawyer"]
    "#]],
    );
}
