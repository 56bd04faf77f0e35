//! Every response type: what is accepted, what is stored, what re-prompts.

use baton_assistant::Value;
use chrono::{NaiveDate, NaiveTime};
use serde_json::json;

use crate::support::{assistant, converse, said, turn_after};

/// Asks `question` and answers `reply`; returns what was said and the stored value.
fn ask(question: serde_json::Value, reply: &str) -> (Vec<String>, Option<Value>) {
    let assistant = assistant(json!({
        "actions": [{"id": "ask", "steps": [
            {"id": "answer", "say": "Question?", "question": question},
            {"say": "Got ${answer}."}
        ]}]
    }));
    let turn = turn_after(&assistant, &["ask => ask"], reply);
    (said(&turn), turn.session.variable("answer").cloned())
}

fn got(text: &str) -> Vec<String> {
    vec![format!("assistant: Got {text}.")]
}

fn date(year: i32, month: u32, day: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(year, month, day).unwrap())
}

#[test]
fn valid_answers_are_stored_typed() {
    let cases = [
        (
            json!({"type": "free_text"}),
            "  my card is lost ",
            "my card is lost",
            Value::Text("my card is lost".into()),
        ),
        (json!({"type": "number"}), "twenty five", "25", Value::Number(25.0)),
        (
            json!({"type": "number", "min": 1, "max": 10}),
            "10",
            "10",
            Value::Number(10.0),
        ),
        (
            json!({"type": "currency"}),
            "$25.50",
            "$25.50",
            Value::Money {
                amount: 25.5,
                currency: Some("USD".into()),
            },
        ),
        (
            json!({"type": "currency"}),
            "1250",
            "$1,250.00",
            Value::Money {
                amount: 1250.0,
                currency: Some("USD".into()),
            },
        ),
        (
            json!({"type": "currency"}),
            "30 euros",
            "€30.00",
            Value::Money {
                amount: 30.0,
                currency: Some("EUR".into()),
            },
        ),
        (json!({"type": "percentage"}), "15 percent", "15%", Value::Percent(15.0)),
        (
            json!({"type": "date"}),
            "2026-12-24",
            "December 24, 2026",
            date(2026, 12, 24),
        ),
        (
            json!({"type": "date"}),
            "tomorrow",
            "November 26, 2026",
            date(2026, 11, 26),
        ),
        (
            json!({"type": "date", "after": "current_date", "before": "\"2026-12-31\""}),
            "12/31/2026",
            "December 31, 2026",
            date(2026, 12, 31),
        ),
        (
            json!({"type": "time"}),
            "half past three",
            "3:30 PM",
            Value::Time(NaiveTime::from_hms_opt(15, 30, 0).unwrap()),
        ),
        (json!({"type": "yes_no"}), "yep", "yes", Value::Bool(true)),
        (json!({"type": "yes_no"}), "nope", "no", Value::Bool(false)),
        (
            json!({"type": "options", "options": ["Savings", "Checking"]}),
            "checking",
            "Checking",
            Value::Text("Checking".into()),
        ),
        (
            json!({"type": "options", "options": [{"label": "Savings", "value": "sav", "synonyms": ["rainy day"]}, "Checking"]}),
            "rainy day",
            "sav",
            Value::Text("sav".into()),
        ),
        (
            json!({"type": "options", "options": ["Savings", "Checking"]}),
            "the second one",
            "Checking",
            Value::Text("Checking".into()),
        ),
        (
            json!({"type": "options", "options": ["Savings", "Checking"]}),
            "savngs",
            "Savings",
            Value::Text("Savings".into()),
        ),
        (
            json!({"type": "regex", "pattern": "[A-Z]{2}[0-9]{4}"}),
            "AB1234",
            "AB1234",
            Value::Text("AB1234".into()),
        ),
        (
            json!({"type": "email"}),
            "it's Ada@Example.COM",
            "Ada@example.com",
            Value::Text("Ada@example.com".into()),
        ),
        (
            json!({"type": "phone"}),
            "call me on +1 (555) 123-4567",
            "+15551234567",
            Value::Text("+15551234567".into()),
        ),
        (
            json!({"type": "free_text", "pattern": "[0-9]{5}"}),
            "12345",
            "12345",
            Value::Text("12345".into()),
        ),
    ];
    for (question, reply, shown, stored) in cases {
        let (said, value) = ask(question.clone(), reply);
        assert_eq!(said, got(shown), "{question} / {reply:?}");
        assert_eq!(value, Some(stored), "{question} / {reply:?}");
    }
}

#[test]
fn unreadable_and_out_of_range_answers_reprompt() {
    let cases = [
        (json!({"type": "free_text"}), "   ", "Please enter a valid answer."),
        (json!({"type": "number"}), "lots", "Please enter a number."),
        (
            json!({"type": "number", "min": 1, "max": 10}),
            "11",
            "Please enter a number between 1 and 10.",
        ),
        (
            json!({"type": "number", "min": 1}),
            "0",
            "Please enter a number of at least 1.",
        ),
        (
            json!({"type": "currency", "max": 100}),
            "$150",
            "Please enter an amount of at most $100.00.",
        ),
        (
            json!({"type": "currency"}),
            "some money",
            "Please enter an amount, for example $25.00.",
        ),
        (
            json!({"type": "percentage", "max": 100}),
            "150%",
            "Please enter a percentage of at most 100%.",
        ),
        (
            json!({"type": "date"}),
            "whenever",
            "I didn't catch a date. Please enter a date, for example 12/31/2026.",
        ),
        (
            json!({"type": "date", "after": "current_date"}),
            "yesterday",
            "Please enter a date on or after November 25, 2026.",
        ),
        (
            json!({"type": "date", "before": "\"2026-12-31\""}),
            "2027-01-01",
            "Please enter a date on or before December 31, 2026.",
        ),
        (
            json!({"type": "date", "after": "current_date", "before": "current_date + 30"}),
            "2027-02-01",
            "Please enter a date between November 25, 2026 and December 25, 2026.",
        ),
        (
            json!({"type": "time"}),
            "soonish",
            "I didn't catch a time. Please enter a time, for example 3:30 PM.",
        ),
        (json!({"type": "yes_no"}), "maybe", "Please answer yes or no."),
        (
            json!({"type": "regex", "pattern": "[A-Z]{2}[0-9]{4}"}),
            "AB12345",
            "That doesn't look right. Please try again.",
        ),
        (
            json!({"type": "email"}),
            "no email",
            "Please enter an email address, for example name@example.com.",
        ),
        (json!({"type": "phone"}), "no phone", "Please enter a phone number."),
        (
            json!({"type": "free_text", "pattern": "[0-9]{5}"}),
            "1234",
            "Please enter a valid answer.",
        ),
        (
            json!({"type": "number", "invalid": "Digits please."}),
            "lots",
            "Digits please.",
        ),
        (
            json!({"type": "number", "max": 5, "invalid": "Digits please."}),
            "6",
            "Digits please.",
        ),
        (
            json!({"type": "number", "max": 5, "invalid": "Digits please.", "out_of_range": "At most 5, please."}),
            "6",
            "At most 5, please.",
        ),
    ];
    for (question, reply, expected) in cases {
        let (said, value) = ask(question.clone(), reply);
        assert_eq!(said, [format!("assistant: {expected}")], "{question} / {reply:?}");
        assert_eq!(value, None, "{question} / {reply:?}");
    }
}

#[test]
fn an_options_question_shows_its_buttons_unless_the_author_gave_some() {
    let assistant = assistant(json!({
        "actions": [
            {"id": "plain", "steps": [{"say": "Which account?", "question": {"type": "options", "options": ["Savings", "Checking"]}}]},
            {"id": "authored", "steps": [{"say": ["Which account?", {"options": {"choices": ["Savings account", "Checking account"]}}], "question": {"type": "options", "options": ["Savings", "Checking"]}}]}
        ]
    }));
    let turn = turn_after(&assistant, &[], "plain => plain");
    assert_eq!(
        said(&turn),
        ["assistant: Which account?", "assistant: [Savings | Checking]"]
    );
    let turn = turn_after(&assistant, &[], "authored => authored");
    assert_eq!(
        said(&turn),
        [
            "assistant: Which account?",
            "assistant: [Savings account | Checking account]"
        ]
    );
    let turn = turn_after(&assistant, &["plain => plain"], "neither");
    assert_eq!(
        said(&turn),
        [
            "assistant: Please choose one of the options.",
            "assistant: [Savings | Checking]"
        ]
    );
}

#[test]
fn dates_read_by_the_assistant_locale() {
    let mut fixture = assistant(json!({
        "actions": [{"id": "ask", "steps": [
            {"id": "when", "say": "When?", "question": {"type": "date"}},
            {"say": "On ${when}."}
        ]}]
    }));
    let turn = turn_after(&fixture, &["ask => ask"], "03/04/2026");
    assert_eq!(said(&turn), ["assistant: On March 4, 2026."]);
    fixture.locale = "en-GB".into();
    let turn = turn_after(&fixture, &["ask => ask"], "03/04/2026");
    assert_eq!(said(&turn), ["assistant: On 3 April 2026."]);
    let turn = turn_after(&fixture, &["ask => ask"], "soon");
    assert_eq!(
        said(&turn),
        ["assistant: I didn't catch a date. Please enter a date, for example 31/12/2026."]
    );
}

#[test]
fn amounts_and_times_read_in_the_assistant_locale() {
    let mut fixture = assistant(json!({
        "actions": [{"id": "ask", "steps": [
            {"id": "amount", "say": "How much?", "question": {"type": "currency", "max": 5000}},
            {"id": "at", "say": "At what time?", "question": {"type": "time"}},
            {"say": "${amount} at ${at}; ${text(amount)}."}
        ]}]
    }));
    let answer = |fixture: &baton_assistant::Assistant, amount: &str, time: &str| {
        let turn = turn_after(fixture, &["ask => ask", amount], time);
        said(&turn)
    };
    assert_eq!(
        answer(&fixture, "1250.5", "5pm"),
        ["assistant: $1,250.50 at 5:00 PM; $1250.50."]
    );
    fixture.locale = "en-GB".into();
    assert_eq!(
        answer(&fixture, "1250.5", "5pm"),
        ["assistant: £1,250.50 at 17:00; £1250.50."]
    );
    fixture.locale = "de-DE".into();
    assert_eq!(
        answer(&fixture, "1.250,5", "17:00"),
        ["assistant: €1250.50 at 17:00; €1250.50."]
    );
    fixture.locale = "en".into();
    assert_eq!(
        answer(&fixture, "1250.5", "5pm"),
        ["assistant: 1,250.50 at 5:00 PM; 1250.50."]
    );
    let turn = turn_after(&fixture, &["ask => ask"], "9000");
    assert_eq!(said(&turn), ["assistant: Please enter an amount of at most 5,000.00."]);
}

#[test]
fn values_in_the_message_that_starts_an_action_answer_its_questions() {
    let fixture = assistant(json!({
        "actions": [
            {"id": "pay", "steps": [
                {"id": "amount", "say": "How much?", "question": {"type": "currency", "max": 500}},
                {"id": "when", "say": "When?", "question": {"type": "date"}},
                {"id": "again", "say": "And the second date?", "question": {"type": "date"}},
                {"id": "email", "say": "Email?", "question": {"type": "email", "always_ask": true}},
                {"id": "count", "say": "How many?", "question": {"type": "number"}},
                {"say": "Paying ${amount} on ${when} and ${again} to ${email}, ${count} times."}
            ]},
            {"id": "help", "steps": [{"say": "Helping."}]}
        ]
    }));
    // The amount and the first date are filled; a second date, an email that always asks and a
    // plain number (which a sentence does not show unambiguously) are asked.
    let (transcript, _) = converse(
        &fixture,
        &[
            "pay $50 tomorrow 3 times, receipt to ada@example.com => pay",
            "friday",
            "bo@example.com",
            "3",
        ],
    );
    assert!(
        transcript.ends_with(
            "customer: pay $50 tomorrow 3 times, receipt to ada@example.com\n\
             assistant: And the second date?\n\
             customer: friday\n\
             assistant: Email?\n\
             customer: bo@example.com\n\
             assistant: How many?\n\
             customer: 3\n\
             assistant: Paying $50.00 on November 26, 2026 and November 27, 2026 to bo@example.com, 3 times.\n"
        ),
        "{transcript}"
    );
    // A value out of range is not taken: the question is asked as usual.
    let turn = turn_after(&fixture, &[], "pay $900 => pay");
    assert_eq!(said(&turn), ["assistant: How much?"]);
}

#[test]
fn an_option_the_starting_message_names_is_taken_but_not_a_position() {
    let fixture = assistant(json!({
        "actions": [
            {"id": "lost", "steps": [
                {"id": "card", "say": "Which card?", "question": {"type": "options", "options": ["Debit card", "Credit card"]}},
                {"id": "speed", "say": "How fast?", "question": {"type": "options", "options": [
                    {"label": "Express", "value": "express", "synonyms": ["urgent"]}, "Standard"
                ], "always_ask": true}},
                {"say": "A new ${card}, ${speed}."}
            ]}
        ]
    }));
    let turn = turn_after(&fixture, &[], "I lost my credit card and it is urgent => lost");
    assert_eq!(
        said(&turn)[0],
        "assistant: How fast?",
        "the card is taken, a question that always asks is asked"
    );
    let turn = turn_after(&fixture, &[], "I lost the second card I had => lost");
    assert_eq!(
        said(&turn)[0],
        "assistant: Which card?",
        "a position in the first message chooses nothing"
    );
    let turn = turn_after(&fixture, &[], "lost both my debit card and credit card => lost");
    assert_eq!(
        said(&turn)[0],
        "assistant: Which card?",
        "two named options choose nothing"
    );
    let turn = turn_after(&fixture, &[], "my crdit card is lost => lost");
    assert_eq!(said(&turn)[0], "assistant: Which card?", "nor does a misspelling");
}

#[test]
fn the_action_chosen_in_a_clarifying_question_takes_the_values_of_the_message_before() {
    let fixture = assistant(json!({
        "actions": [
            {"id": "send", "title": "Send money", "steps": [
                {"id": "send_amount", "say": "How much?", "question": {"type": "currency"}},
                {"say": "Sending ${send_amount}."}
            ]},
            {"id": "pay", "title": "Pay a bill", "steps": [
                {"id": "pay_amount", "say": "How much?", "question": {"type": "currency"}},
                {"say": "Paying ${pay_amount}."}
            ]}
        ]
    }));
    let ask = "$40 to the electric company => send:0.7, pay:0.68";
    let turn = turn_after(&fixture, &[ask], "Pay a bill");
    assert_eq!(said(&turn), ["assistant: Paying $40.00."]);
}
