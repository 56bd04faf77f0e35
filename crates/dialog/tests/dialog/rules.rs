//! The runtime's rules as docs/format.md states them (steps, settings, system actions, transfers),
//! each as a table or a short scenario.

use baton_assistant::Value;
use baton_dialog::session::{ActionRef, OnEnd, Pending};
use baton_dialog::{Effect, Event, FinishReason, Message, Session, TransferReason};
use serde_json::json;

use crate::support::{assistant, converse, said, t0, transfer, turn_after, user_said};

/// A small bank: a plain answer, a number question, an options question.
fn bank(settings: serde_json::Value) -> baton_assistant::Assistant {
    let mut file = json!({
        "actions": [
            {"id": "check_balance", "title": "Check balance", "steps": [{"say": "Your balance is $100."}]},
            {"id": "transfer_money", "title": "Transfer money", "steps": [
                {"id": "amount", "say": "How much?", "question": {"type": "number", "min": 1, "max": 1000}},
                {"say": "Sending ${amount}."}
            ]},
            {"id": "branch_hours", "title": "Branch hours", "steps": [{"say": "We open at 9."}]}
        ]
    });
    merge(&mut file, settings);
    assistant(file)
}

fn merge(base: &mut serde_json::Value, extra: serde_json::Value) {
    match (base, extra) {
        (serde_json::Value::Object(base), serde_json::Value::Object(extra)) => {
            for (key, value) in extra {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, extra) => *base = extra,
    }
}

#[test]
fn greet_customer_runs_when_a_session_starts() {
    let turn = baton_dialog::step(&bank(json!({})), Session::default(), Event::Start, t0());
    assert_eq!(said(&turn), ["assistant: Welcome, how can I assist you?"]);
}

#[test]
fn a_matched_action_runs_its_steps_and_finishes() {
    let turn = turn_after(&bank(json!({})), &[], "balance? => check_balance:0.8");
    assert_eq!(said(&turn), ["assistant: Your balance is $100."]);
    assert_eq!(
        turn.effects
            .iter()
            .filter(|effect| !matches!(effect, Effect::Say(_)))
            .cloned()
            .collect::<Vec<_>>(),
        [
            Effect::ActionStarted {
                action: "check_balance".into()
            },
            Effect::ActionFinished {
                action: "check_balance".into(),
                reason: FinishReason::Completed
            },
        ]
    );
    assert_eq!(turn.debug.matched, Some(("check_balance".into(), 0.8)));
    assert_eq!(turn.debug.action, None);
    assert!(turn.session.stack.is_empty());
}

#[test]
fn no_match_rephrases_three_times_then_transfers() {
    let assistant = bank(json!({}));
    let rephrase = "assistant: I'm afraid I don't understand. Please rephrase your question.";
    let cases = [
        (1, vec![rephrase.to_owned()]),
        (2, vec![rephrase.to_owned()]),
        (3, vec![rephrase.to_owned()]),
        (
            4,
            vec![
                "assistant: I'm afraid I still don't understand. I'll connect you to an agent who can help.".to_owned(),
                r#"[Connect to an agent] reason=no_action_matches queue=- message= failed=["blorp 1", "blorp 2", "blorp 3", "blorp 4"]"#.to_owned(),
            ],
        ),
    ];
    for (miss, expected) in cases {
        let earlier: Vec<String> = (1..miss).map(|n| format!("blorp {n} => check_balance:0.2")).collect();
        let earlier: Vec<&str> = earlier.iter().map(String::as_str).collect();
        let turn = turn_after(&assistant, &earlier, &format!("blorp {miss} => check_balance:0.2"));
        assert_eq!(said(&turn), expected, "miss {miss}");
        assert_eq!(turn.session.transfer_open, miss == 4, "miss {miss}");
    }
}

#[test]
fn a_match_resets_the_miss_count() {
    let assistant = bank(json!({}));
    let script = ["x", "y", "z", "balance => check_balance", "a", "b", "c"];
    let (_, session) = converse(&assistant, &script);
    assert_eq!(session.no_match_count, 3);
    assert!(!session.transfer_open);
    assert_eq!(session.failed_inputs, ["a", "b", "c"]);
}

#[test]
fn invalid_answers_reprompt_three_times_then_transfer() {
    let assistant = bank(json!({}));
    let start = ["send money => transfer_money"];
    let cases = [
        (1, "assistant: Please enter a number."),
        (2, "assistant: Please enter a number."),
        (3, "assistant: Please enter a number."),
        (
            4,
            "assistant: Sorry, I'm not able to understand your answer. I'll connect you to an agent who can help.",
        ),
    ];
    for (attempt, expected) in cases {
        let answers = ["banana", "apple", "cherry", "plum"];
        let mut script = start.to_vec();
        script.extend(&answers[..attempt - 1]);
        let turn = turn_after(&assistant, &script, answers[attempt - 1]);
        assert_eq!(said(&turn)[0], expected, "attempt {attempt}");
        let request = transfer(&turn);
        assert_eq!(request.is_some(), attempt == 4, "attempt {attempt}");
        if let Some(request) = request {
            assert_eq!(request.reason, TransferReason::StepValidationFailed);
            assert_eq!(request.failed_inputs, answers);
            assert_eq!(request.action.as_deref(), Some("transfer_money"));
            assert_eq!(request.step.as_deref(), Some("amount"));
            assert_eq!(turn.debug.fallback_reason, Some(TransferReason::StepValidationFailed));
            assert!(turn.session.stack.is_empty());
        }
    }
}

#[test]
fn a_valid_answer_after_invalid_ones_goes_on_and_clears_the_count() {
    let assistant = bank(json!({}));
    let (transcript, session) = converse(&assistant, &["send => transfer_money", "lots", "5000", "250"]);
    assert!(
        transcript.ends_with("customer: 250\nassistant: Sending 250.\n"),
        "{transcript}"
    );
    assert!(session.failed_inputs.is_empty());
    assert_eq!(
        session.variable("amount"),
        Some(&Value::Number(250.0)),
        "answers outlive the action"
    );
}

#[test]
fn profanity_warns_twice_then_transfers() {
    let assistant = bank(json!({}));
    let warning = "assistant: Please keep our conversation respectful, or I'll have to connect you to an agent.";
    let cases = [
        (1, warning),
        (2, warning),
        (3, "assistant: I'm going to connect you to an agent now."),
    ];
    for (count, expected) in cases {
        let earlier = vec!["damn it"; count - 1];
        let turn = turn_after(&assistant, &earlier, "this is crap");
        assert_eq!(said(&turn)[0], expected, "profanity {count}");
        assert_eq!(
            transfer(&turn).map(|request| request.reason),
            (count == 3).then_some(TransferReason::Profanity)
        );
    }
}

#[test]
fn a_danger_word_transfers_at_once_even_mid_question() {
    let assistant = bank(json!({
        "system": {"trigger_words": {"danger": {"words": ["hurt myself", "fraud"]}}}
    }));
    let turn = turn_after(&assistant, &["send => transfer_money"], "I think this is FRAUD!");
    assert_eq!(
        said(&turn),
        [
            "assistant: I'll connect you to an agent right away.",
            r#"[Connect to an agent] reason=danger_word queue=- message= failed=["I think this is FRAUD!"]"#,
        ]
    );
    let request = transfer(&turn).unwrap();
    assert_eq!(request.action.as_deref(), Some("transfer_money"));
    assert!(turn.effects.contains(&Effect::ActionFinished {
        action: "transfer_money".into(),
        reason: FinishReason::Interrupted
    }));
}

#[test]
fn asking_for_a_human_works_in_any_state() {
    let assistant = bank(json!({
        "system": {"fallback": {"connect": {"queue": "billing", "message_to_agent": "Customer asked; turn ${turn_count}."}}}
    }));
    let states: [&[&str]; 3] = [&[], &["send => transfer_money"], &["a", "b", "c"]];
    for earlier in states {
        let turn = turn_after(&assistant, earlier, "a person please => fallback:0.9");
        let turns = earlier.len() + 1;
        assert_eq!(
            said(&turn),
            [
                "assistant: Sure, I'll connect you to an agent.".to_owned(),
                format!(
                    "[Connect to an agent] reason=agent_requested queue=billing message=Customer asked; turn {turns}."
                ),
            ],
            "after {earlier:?}"
        );
    }
    let turn = turn_after(
        &assistant,
        &["send => transfer_money"],
        "a person please => fallback:0.9",
    );
    let request = transfer(&turn).unwrap();
    assert_eq!(
        (request.action.as_deref(), request.step.as_deref()),
        (Some("transfer_money"), Some("amount"))
    );
    assert_eq!(request.online_response, "Let's send you to an available agent");
}

/// The classifier gives an intent the message names beside the top one the top one's
/// confidence, listed after it: the first of equal scores is the one that counts.
#[test]
fn of_equal_scores_the_first_decides_whether_a_person_is_asked_for() {
    let turn = turn_after(
        &bank(json!({})),
        &[],
        "a person please, or my balance => fallback:0.8, check_balance:0.8",
    );
    assert_eq!(
        transfer(&turn).map(|request| request.reason),
        Some(TransferReason::AgentRequested)
    );
    let turn = turn_after(
        &bank(json!({})),
        &[],
        "my balance, or a person please => check_balance:0.8, fallback:0.8",
    );
    assert_eq!(transfer(&turn), None);
}

#[test]
fn a_weak_request_for_a_human_is_not_one() {
    let turn = turn_after(&bank(json!({})), &[], "persons => fallback:0.3");
    assert_eq!(transfer(&turn), None);
}

#[test]
fn settings_override_the_limits_per_assistant_action_and_step() {
    // Assistant: one miss allowed.
    let assistant = bank(json!({"settings": {"no_match_limit": 1}}));
    let turn = turn_after(&assistant, &["x"], "y");
    assert_eq!(
        transfer(&turn).map(|request| request.reason),
        Some(TransferReason::NoActionMatches)
    );

    // Action: one invalid answer allowed.
    let mut assistant = bank(json!({"settings": {"invalid_answer_limit": 5}}));
    assistant.actions[1].settings.invalid_answer_limit = Some(1);
    let turn = turn_after(&assistant, &["send => transfer_money", "x"], "y");
    assert_eq!(
        transfer(&turn).map(|request| request.reason),
        Some(TransferReason::StepValidationFailed)
    );

    // Step beats action: none allowed.
    assistant.actions[1].steps[0].settings.invalid_answer_limit = Some(0);
    let turn = turn_after(&assistant, &["send => transfer_money"], "x");
    assert_eq!(
        transfer(&turn).map(|request| request.reason),
        Some(TransferReason::StepValidationFailed)
    );

    // Profanity: no warning at all.
    let assistant = bank(json!({"settings": {"profanity_warnings": 0}}));
    let turn = turn_after(&assistant, &[], "damn");
    assert_eq!(
        transfer(&turn).map(|request| request.reason),
        Some(TransferReason::Profanity)
    );

    // Confidence threshold per action.
    let mut assistant = bank(json!({}));
    assistant.actions[0].settings.confidence_threshold = Some(0.9);
    let turn = turn_after(&assistant, &[], "balance => check_balance:0.8");
    assert_eq!(
        said(&turn),
        ["assistant: I'm afraid I don't understand. Please rephrase your question."]
    );
    let assistant = bank(json!({"settings": {"confidence_threshold": 0.2}}));
    let turn = turn_after(&assistant, &[], "balance => check_balance:0.3");
    assert_eq!(said(&turn), ["assistant: Your balance is $100."]);
}

#[test]
fn close_candidates_get_a_clarifying_question() {
    let assistant = bank(json!({}));
    let ask = "money => transfer_money:0.7, check_balance:0.65, branch_hours:0.2";
    let turn = turn_after(&assistant, &[], ask);
    assert_eq!(
        said(&turn),
        ["assistant: Did you mean: [Transfer money | Check balance | None of the above | Connect to support]"]
    );
    assert_eq!(
        turn.session.pending,
        Some(Pending::Clarify {
            candidates: vec!["transfer_money".into(), "check_balance".into()],
            said: "money".into(),
        })
    );
    let cases: [(&str, &[&str]); 5] = [
        ("Check balance", &["assistant: Your balance is $100."]),
        ("transfer money", &["assistant: How much?"]),
        (
            "None of the above",
            &["assistant: Sorry about that. Could you rephrase what you need?"],
        ),
        (
            "Connect to support",
            &[
                "assistant: Sure, I'll connect you to an agent.",
                "[Connect to an agent] reason=agent_requested queue=- message=",
            ],
        ),
        ("when do you open => branch_hours", &["assistant: We open at 9."]),
    ];
    for (reply, expected) in cases {
        let turn = turn_after(&assistant, &[ask], reply);
        assert_eq!(said(&turn), expected, "{reply}");
        assert_eq!(turn.session.pending, None, "{reply}");
    }
}

#[test]
fn clarifying_depends_on_the_margin_and_the_setting() {
    let cases = [
        (
            json!({}),
            "money => transfer_money:0.7, check_balance:0.55",
            "assistant: How much?",
        ),
        (
            json!({"settings": {"clarify_margin": 0.2}}),
            "money => transfer_money:0.7, check_balance:0.55",
            "assistant: Did you mean: [Transfer money | Check balance | None of the above | Connect to support]",
        ),
        (
            json!({"settings": {"clarify": false}}),
            "money => transfer_money:0.7, check_balance:0.69",
            "assistant: How much?",
        ),
        (
            json!({}),
            "money => transfer_money:0.7, check_balance:0.45",
            "assistant: How much?",
        ),
    ];
    for (settings, line, expected) in cases {
        let turn = turn_after(&bank(settings.clone()), &[], line);
        assert_eq!(said(&turn)[0], expected, "{settings} {line}");
    }
}

#[test]
fn changing_topic_mid_question_offers_to_return() {
    let assistant = bank(json!({}));
    let script = [
        "send => transfer_money",
        "actually what's my balance => check_balance:0.8",
    ];
    let (transcript, session) = converse(&assistant, &script);
    assert!(
        transcript.ends_with(
            "assistant: Your balance is $100.\nassistant: Do you want to go back to Transfer money? [Yes | No]\n"
        ),
        "{transcript}"
    );
    assert_eq!(session.pending, Some(Pending::ReturnOffer));
    assert_eq!(session.digressed_from.as_deref(), Some("Transfer money"));

    let turn = turn_after(&assistant, &script, "yes");
    assert_eq!(said(&turn), ["assistant: How much?"]);
    let turn = baton_dialog::step(&assistant, turn.session, user_said("20"), t0());
    assert_eq!(said(&turn), ["assistant: Sending 20."]);

    let turn = turn_after(&assistant, &script, "no");
    assert_eq!(said(&turn), ["assistant: Okay."]);
    assert!(turn.session.stack.is_empty());
    assert!(turn.effects.contains(&Effect::ActionFinished {
        action: "transfer_money".into(),
        reason: FinishReason::Abandoned
    }));

    // Neither: the interrupted action is dropped and the text is a new input.
    let turn = turn_after(&assistant, &script, "opening hours? => branch_hours");
    assert_eq!(said(&turn), ["assistant: We open at 9."]);
    assert!(turn.session.stack.is_empty());
}

#[test]
fn change_topic_can_be_disabled_per_action() {
    let mut assistant = bank(json!({}));
    assistant.actions[1].settings.change_topic = Some(false);
    let turn = turn_after(&assistant, &["send => transfer_money"], "balance => check_balance:0.8");
    assert_eq!(said(&turn), ["assistant: Please enter a number."]);
}

#[test]
fn a_valid_answer_wins_over_another_action() {
    let turn = turn_after(&bank(json!({})), &["send => transfer_money"], "50 => check_balance:0.9");
    assert_eq!(said(&turn), ["assistant: Sending 50."]);
}

fn flows() -> baton_assistant::Assistant {
    assistant(json!({
        "actions": [
            {"id": "main", "steps": [
                {"say": "Main starts."},
                {"condition": "mode == \"return\"", "then": {"go_to": {"action": "helper"}}},
                {"condition": "mode == \"leave\"", "then": {"go_to": {"action": "helper", "return": false}}},
                {"say": "Main ends."}
            ]},
            {"id": "helper", "steps": [{"say": "Helper runs."}]},
            {"id": "set_mode", "steps": [
                {"id": "mode", "say": "Mode?", "question": {"type": "free_text"}},
                {"then": {"go_to": {"action": "main"}}}
            ]}
        ]
    }))
}

#[test]
fn go_to_with_return_comes_back_and_without_return_ends() {
    let assistant = flows();
    let cases = [
        ("return", vec!["Main starts.", "Helper runs.", "Main ends."]),
        ("leave", vec!["Main starts.", "Helper runs."]),
        ("other", vec!["Main starts.", "Main ends."]),
    ];
    for (mode, expected) in cases {
        let turn = turn_after(&assistant, &["mode => set_mode"], mode);
        let expected: Vec<String> = expected.iter().map(|line| format!("assistant: {line}")).collect();
        assert_eq!(said(&turn), expected, "{mode}");
        assert!(turn.session.stack.is_empty());
    }
    let turn = turn_after(&assistant, &["mode => set_mode"], "leave");
    assert!(turn.effects.contains(&Effect::ActionFinished {
        action: "main".into(),
        reason: FinishReason::Interrupted
    }));
}

#[test]
fn a_question_in_a_called_action_returns_to_the_caller_after_the_answer() {
    let assistant = assistant(json!({
        "actions": [
            {"id": "outer", "steps": [{"then": {"go_to": {"action": "inner"}}}, {"say": "Back in outer with ${name}."}]},
            {"id": "inner", "steps": [{"id": "name", "say": "Name?", "question": {"type": "free_text"}}]}
        ]
    }));
    let turn = turn_after(&assistant, &["go => outer"], "Ada");
    assert_eq!(said(&turn), ["assistant: Back in outer with Ada."]);
    let (_, session) = converse(&assistant, &["go => outer"]);
    assert_eq!(session.stack.len(), 2);
    assert_eq!(session.stack[1].on_end, OnEnd::ReturnToCaller);
}

#[test]
fn reask_clears_the_answers_and_asks_again() {
    let assistant = assistant(json!({
        "actions": [{"id": "order", "steps": [
            {"id": "size", "say": "Size?", "question": {"type": "options", "options": ["Small", "Large"]}},
            {"id": "confirm", "say": "A ${size} one, right?", "question": {"type": "yes_no"}},
            {"condition": "not confirm", "then": {"reask": ["size", "confirm"]}},
            {"say": "Ordered a ${size} one."}
        ]}]
    }));
    let (transcript, _) = converse(&assistant, &["order => order", "small", "no", "large", "yes"]);
    expect_test::expect![[r#"
        assistant: Welcome, how can I assist you?
        customer: order
        assistant: Size?
        assistant: [Small | Large]
        customer: small
        assistant: A Small one, right?
        customer: no
        assistant: Size?
        assistant: [Small | Large]
        customer: large
        assistant: A Large one, right?
        customer: yes
        assistant: Ordered a Large one.
    "#]]
    .assert_eq(&transcript);
}

#[test]
fn conditions_skip_steps_and_errors_count_as_false() {
    let assistant = assistant(json!({
        "variables": {
            "tier": {"type": "text", "initial": "gold"},
            "limit": {"type": "number", "initial": 5},
            "nothing": {"type": "text"}
        },
        "actions": [{"id": "offers", "steps": [
            {"condition": "tier == \"gold\"", "say": "Gold offer."},
            {"condition": "tier == \"silver\"", "say": "Silver offer."},
            {"condition": "limit > \"many\"", "say": "Never said: the comparison fails."},
            {"condition": "limit / 0 > 1", "say": "Never said: division by zero."},
            {"condition": "is_set(nothing) or limit >= 5", "say": "Limit ${limit}."}
        ]}]
    }));
    let turn = turn_after(&assistant, &[], "offers => offers");
    assert_eq!(said(&turn), ["assistant: Gold offer.", "assistant: Limit 5."]);
}

#[test]
fn templates_interpolate_variables_and_built_ins() {
    let mut assistant = assistant(json!({
        "timezone": "+02:00",
        "variables": {"name": {"type": "text", "initial": "Ada"}, "missing": {"type": "text"}},
        "actions": [{"id": "info", "steps": [
            {"say": "Hi ${name}, it is ${current_date} ${current_time}, turn ${turn_count}, misses ${no_action_matches_count}."},
            {"say": "Channel ${channel}, user ${user_id}, locale ${locale}, timezone ${timezone}, upper ${upper(name)}."},
            {"set": {"total": "2 * 21"}},
            {"say": "Total ${total}; unset [${missing}]."}
        ]}]
    }));
    assistant.locale = "en-GB".into();
    let session = Session::new(Some("u-1".into()), Some("web".into()));
    let turn = baton_dialog::step(&assistant, session, Event::Start, t0());
    let turn = baton_dialog::step(&assistant, turn.session, user_said("huh"), t0());
    let turn = baton_dialog::step(&assistant, turn.session, user_said("info => info"), t0());
    assert_eq!(
        said(&turn),
        [
            "assistant: Hi Ada, it is 25 November 2026 16:00, turn 2, misses 0.",
            "assistant: Channel web, user u-1, locale en-GB, timezone +02:00, upper ADA.",
            "assistant: Total 42; unset [].",
        ]
    );
    assert_eq!(turn.session.variable("total"), Some(&Value::Number(42.0)));
}

#[test]
fn session_history_and_fallback_reason_reach_the_agent() {
    let assistant = bank(json!({
        "system": {"fallback": {"connect": {"message_to_agent": "Reason ${fallback_reason}.\n${session_history}"}}}
    }));
    let turn = turn_after(&assistant, &["balance => check_balance"], "human => fallback");
    assert_eq!(
        transfer(&turn).unwrap().message_to_agent,
        "Reason agent_requested.\n\
         assistant: Welcome, how can I assist you?\n\
         customer: balance\n\
         assistant: Your balance is $100.\n\
         customer: human\n\
         assistant: Sure, I'll connect you to an agent."
    );
}

#[test]
fn a_session_keeps_no_history_when_nothing_reads_it() {
    let assistant = bank(json!({}));
    assert!(!assistant.keeps_history);
    let turn = turn_after(&assistant, &["balance => check_balance"], "human => fallback");
    assert!(turn.session.history.is_empty(), "{:?}", turn.session.history);
    assert!(turn.session.started);
    // The same conversation keeps it when a condition reads it.
    let assistant = bank(json!({
        "system": {"fallback": {"connect": {"message_to_agent": "${length(session_history) > 0}"}}}
    }));
    assert!(assistant.keeps_history);
    let turn = turn_after(&assistant, &["balance => check_balance"], "human => fallback");
    assert_eq!(turn.session.history.len(), 5, "{:?}", turn.session.history);
}

#[test]
fn connect_to_agent_transfers_with_its_settings_and_defaults() {
    let assistant = assistant(json!({
        "variables": {"plan": {"type": "text", "initial": "Pro"}},
        "actions": [
            {"id": "cancel", "steps": [
                {"say": "Let me get someone."},
                {"then": {"connect_to_agent": {"queue": "retention", "message_to_agent": "Wants to cancel ${plan}.", "online": "An agent will join shortly."}}},
                {"say": "Never said."}
            ]},
            {"id": "plain", "steps": [{"then": "connect_to_agent"}]}
        ]
    }));
    let turn = turn_after(&assistant, &[], "cancel => cancel");
    assert_eq!(
        said(&turn),
        [
            "assistant: Let me get someone.",
            "[Connect to an agent] reason=planned queue=retention message=Wants to cancel Pro.",
        ]
    );
    let request = transfer(&turn).unwrap();
    assert_eq!(request.online_response, "An agent will join shortly.");
    assert_eq!(
        request.offline_response,
        "There are no agents available at this time. When one becomes available, we'll connect you."
    );
    assert_eq!(
        (request.action.as_deref(), request.step.as_deref()),
        (Some("cancel"), Some("step_2"))
    );
    assert!(request.failed_inputs.is_empty());
    assert!(turn.session.transfer_open);
    assert!(turn.effects.contains(&Effect::ActionFinished {
        action: "cancel".into(),
        reason: FinishReason::Transferred
    }));

    let turn = turn_after(&assistant, &[], "agent => plain");
    let request = transfer(&turn).unwrap();
    assert_eq!(request.reason, TransferReason::Planned);
    assert_eq!(request.online_response, "Let's send you to an available agent");
    assert_eq!(request.queue, None);
}

#[test]
fn the_assistant_is_silent_while_a_transfer_is_open() {
    let assistant = bank(json!({}));
    let open = ["human => fallback"];
    for line in ["hello?", "balance => check_balance", "damn"] {
        let turn = turn_after(&assistant, &open, line);
        assert_eq!(turn.effects, [], "{line}");
        assert!(turn.session.transfer_open);
    }
    // Asking again says nothing either: it is marked, for the caller to say where they stand.
    let turn = turn_after(&assistant, &open, "human => fallback");
    assert_eq!(turn.effects, [Effect::AgentRequestedAgain]);
    assert!(turn.session.transfer_open);
}

#[test]
fn when_a_transfer_ends_the_assistant_answers_again() {
    let assistant = bank(json!({}));
    let open = ["human => fallback"];
    let cases = [
        ("ended", None),
        ("cancelled", None),
        (
            "unavailable",
            Some("assistant: Sorry, no agent is available right now. I can still help you here: what do you need?"),
        ),
        (
            "timed_out",
            Some("assistant: Sorry, no agent could join in time. I can still help you here: what do you need?"),
        ),
        (
            "failed",
            Some("assistant: Sorry, I couldn't reach an agent. I can still help you here: what do you need?"),
        ),
    ];
    for (outcome, expected) in cases {
        let turn = turn_after(&assistant, &open, &format!("!ended {outcome}"));
        assert_eq!(said(&turn), expected.into_iter().collect::<Vec<_>>(), "{outcome}");
        assert!(!turn.session.transfer_open);
        let turn = baton_dialog::step(&assistant, turn.session, user_said("balance => check_balance"), t0());
        assert_eq!(said(&turn), ["assistant: Your balance is $100."], "{outcome}");
    }
}

#[test]
fn a_hand_back_sets_variables_and_resumes_an_action() {
    let assistant = bank(json!({}));
    let turn = turn_after(
        &assistant,
        &["human => fallback"],
        "!handed_back transfer_money amount=20 note=vip",
    );
    assert_eq!(said(&turn), ["assistant: Sending 20."]);
    assert!(!turn.session.transfer_open);
    assert_eq!(turn.session.variable("note"), Some(&Value::Text("vip".into())));

    let turn = turn_after(&assistant, &["human => fallback"], "!handed_back transfer_money");
    assert_eq!(said(&turn), ["assistant: How much?"]);

    let turn = turn_after(&assistant, &["human => fallback"], "!handed_back");
    assert_eq!(said(&turn), Vec::<String>::new());
    assert!(!turn.session.transfer_open);
}

#[test]
fn custom_fallback_steps_replace_the_message_and_still_transfer() {
    let assistant = bank(json!({
        "system": {"fallback": {
            "connect": {"queue": "general"},
            "steps": [
                {"condition": "fallback_reason == \"no_action_matches\"", "say": "I keep missing you, sorry."},
                {"condition": "fallback_reason == \"agent_requested\"", "id": "why", "say": "What is it about?", "question": {"type": "free_text"}},
                {"condition": "is_set(why)", "then": {"connect_to_agent": {"queue": "priority", "message_to_agent": "About: ${why}"}}}
            ]
        }}
    }));
    let turn = turn_after(&assistant, &["a", "b", "c"], "d");
    assert_eq!(
        said(&turn),
        [
            "assistant: I keep missing you, sorry.",
            r#"[Connect to an agent] reason=no_action_matches queue=general message= failed=["a", "b", "c", "d"]"#,
        ]
    );
    let turn = turn_after(&assistant, &["send => transfer_money"], "human => fallback");
    assert_eq!(said(&turn), ["assistant: What is it about?"]);
    assert_eq!(turn.debug.action.as_deref(), Some("fallback"));
    let turn = baton_dialog::step(&assistant, turn.session, user_said("my card"), t0());
    assert_eq!(
        said(&turn),
        ["[Connect to an agent] reason=agent_requested queue=priority message=About: my card"]
    );
    let request = transfer(&turn).unwrap();
    assert_eq!(request.action.as_deref(), Some("transfer_money"));
}

#[test]
fn fallback_messages_can_be_replaced_per_reason() {
    let assistant = bank(json!({
        "settings": {"no_match_limit": 0},
        "system": {"fallback": {"messages": {"no_action_matches": "Lost after ${no_action_matches_count} tries."}}}
    }));
    let turn = turn_after(&assistant, &[], "blorp");
    assert_eq!(said(&turn)[0], "assistant: Lost after 1 tries.");
}

#[test]
fn a_step_cycle_ends_with_an_apology_instead_of_hanging() {
    let assistant = assistant(json!({
        "actions": [
            {"id": "ping", "steps": [{"then": {"go_to": {"action": "pong"}}}]},
            {"id": "pong", "steps": [{"then": {"reask": ["step_1"]}}]}
        ]
    }));
    let turn = turn_after(&assistant, &[], "go => ping");
    assert_eq!(
        said(&turn),
        ["assistant: Sorry, something went wrong on my side. Let's start again: how can I help?"]
    );
    assert!(turn.session.stack.is_empty());
}

#[test]
fn a_filled_question_is_skipped_unless_always_ask() {
    let assistant = assistant(json!({
        "variables": {"email": {"type": "text", "initial": "a@b.co"}},
        "actions": [{"id": "contact", "steps": [
            {"say": "Your email?", "question": {"type": "free_text", "variable": "email"}},
            {"id": "phone", "say": "Your phone?", "question": {"type": "free_text", "always_ask": true}},
            {"say": "Noted ${email} and ${phone}."}
        ]}]
    }));
    let (transcript, _) = converse(&assistant, &["contact => contact", "555"]);
    assert!(
        transcript.contains("customer: contact\nassistant: Your email?\n"),
        "{transcript}"
    );
    // Starting the action clears its answers, so the session value does not skip it; set mid-action, it does.
    let mut assistant = assistant;
    assistant.actions[0].steps.insert(
        0,
        serde_json::from_value(json!({"id": "step_0", "set": {"email": "\"x@y.co\""}})).unwrap(),
    );
    let (transcript, _) = converse(&assistant, &["contact => contact", "555"]);
    assert!(
        transcript
            .ends_with("customer: contact\nassistant: Your phone?\ncustomer: 555\nassistant: Noted x@y.co and 555.\n"),
        "{transcript}"
    );
}

#[test]
fn initial_values_are_typed_on_start() {
    let assistant = assistant(json!({
        "variables": {
            "since": {"type": "date", "initial": "2026-01-31"},
            "at": {"type": "time", "initial": "09:30"},
            "fee": {"type": "currency", "initial": 2.5},
            "rate": {"type": "percentage", "initial": 4},
            "vip": {"type": "boolean", "initial": true},
            "unset": {"type": "text"}
        },
        "actions": [{"id": "noop", "steps": [{"say": "Hi."}]}]
    }));
    let turn = baton_dialog::step(&assistant, Session::default(), Event::Start, t0());
    let variables = &turn.session.variables;
    assert_eq!(
        variables["since"],
        Value::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 31).unwrap())
    );
    assert_eq!(
        variables["at"],
        Value::Time(chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap())
    );
    assert_eq!(
        variables["fee"],
        Value::Money {
            amount: 2.5,
            currency: None
        }
    );
    assert_eq!(variables["rate"], Value::Percent(4.0));
    assert_eq!(variables["vip"], Value::Bool(true));
    assert!(!variables.contains_key("unset"));
}

#[test]
fn rich_outputs_are_said_in_order() {
    let assistant = assistant(json!({
        "actions": [{"id": "help", "steps": [{"say": [
            "Here you go:",
            {"link": {"label": "Help centre", "url": "https://example.com/${id}"}},
            {"pause": 500},
            {"options": {"title": "More?", "choices": ["Yes", {"label": "No thanks", "value": "no"}]}}
        ]}]}],
        "variables": {"id": {"type": "text", "initial": "42"}}
    }));
    let turn = turn_after(&assistant, &[], "help => help");
    assert_eq!(
        said(&turn),
        [
            "assistant: Here you go:",
            "assistant: Help centre <https://example.com/42>",
            "assistant: (pause 500 ms)",
            "assistant: More? [Yes | No thanks]",
        ]
    );
    assert!(turn.effects.contains(&Effect::Say(Message::Options {
        title: "More?".into(),
        choices: vec![
            baton_dialog::Choice {
                label: "Yes".into(),
                value: "Yes".into()
            },
            baton_dialog::Choice {
                label: "No thanks".into(),
                value: "no".into()
            },
        ]
    })));
}

#[test]
fn the_session_survives_a_round_trip_through_json_mid_question() {
    let assistant = bank(json!({}));
    let (_, session) = converse(&assistant, &["send => transfer_money", "lots"]);
    assert_eq!(session.stack[0].action, ActionRef::Action("transfer_money".into()));
    assert_eq!(session.stack[0].attempts, 1);
    let stored = serde_json::to_string(&session).unwrap();
    let loaded: Session = serde_json::from_str(&stored).unwrap();
    assert_eq!(loaded, session);
    let turn = baton_dialog::step(&assistant, loaded, user_said("30"), t0());
    assert_eq!(said(&turn), ["assistant: Sending 30."]);
}

#[test]
fn turn_debug_shows_where_the_conversation_is() {
    let assistant = bank(json!({}));
    let turn = turn_after(&assistant, &[], "send => transfer_money:0.75");
    assert_eq!(turn.debug.matched, Some(("transfer_money".into(), 0.75)));
    assert_eq!(turn.debug.action.as_deref(), Some("transfer_money"));
    assert_eq!(turn.debug.step.as_deref(), Some("amount"));
    assert_eq!(turn.debug.fallback_reason, None);
    assert_eq!(turn.session.current_action(), Some("transfer_money"));
    assert!(turn.session.is_waiting());
}

#[test]
fn a_greeting_question_is_dropped_not_offered_back_when_the_topic_changes() {
    let assistant = bank(json!({
        "system": {"greet": {"steps": [{"id": "first_name", "say": "Hi! What's your first name?", "question": {"type": "regex", "pattern": "[A-Za-z]+"}}]}}
    }));
    let turn = turn_after(&assistant, &[], "what's my balance? => check_balance");
    assert_eq!(said(&turn), ["assistant: Your balance is $100."]);
    assert!(turn.session.stack.is_empty());
    assert_eq!(turn.session.pending, None);
    let turn = turn_after(&assistant, &[], "Ada");
    assert!(turn.session.stack.is_empty());
    assert_eq!(turn.session.variable("first_name"), Some(&Value::Text("Ada".into())));
}

#[test]
fn a_question_of_custom_fallback_steps_is_not_left_for_another_topic() {
    let assistant = bank(json!({
        "system": {"fallback": {"steps": [
            {"id": "topic", "say": "Which team?", "question": {"type": "options", "options": ["Cards", "Loans"]}}
        ]}}
    }));
    let turn = turn_after(&assistant, &["human => fallback"], "my balance => check_balance");
    assert_eq!(
        said(&turn),
        [
            "assistant: Please choose one of the options.",
            "assistant: [Cards | Loans]"
        ]
    );
    let turn = baton_dialog::step(&assistant, turn.session, user_said("loans"), t0());
    assert_eq!(
        said(&turn),
        ["[Connect to an agent] reason=agent_requested queue=- message="]
    );
}

#[test]
fn fallback_from_fallbacks_own_question_keeps_the_action_it_came_from() {
    let assistant = bank(json!({
        "system": {
            "trigger_words": {"danger": {"words": ["fraud"]}},
            "fallback": {"steps": [{"id": "details", "say": "Tell me more?", "question": {"type": "free_text"}}]}
        }
    }));
    let turn = turn_after(
        &assistant,
        &["send => transfer_money", "human => fallback"],
        "it's fraud",
    );
    assert_eq!(said(&turn), ["assistant: Tell me more?"]);
    let turn = baton_dialog::step(&assistant, turn.session, user_said("a stranger used my card"), t0());
    let request = transfer(&turn).unwrap();
    assert_eq!(request.reason, TransferReason::DangerWord);
    assert_eq!(
        (request.action.as_deref(), request.step.as_deref()),
        (Some("transfer_money"), Some("amount"))
    );
}

#[test]
fn a_message_to_a_question_the_assistant_no_longer_has_is_read_afresh() {
    let before = bank(json!({}));
    let (_, session) = converse(&before, &["send => transfer_money"]);
    assert!(session.is_waiting());
    // The author deleted transfer_money, or turned its question into a plain say, and the server
    // reloaded: the stored session still waits for the amount.
    let without_it = assistant(json!({"actions": [
        {"id": "check_balance", "title": "Check balance", "steps": [{"say": "Your balance is $100."}]}
    ]}));
    let edited = assistant(json!({"actions": [
        {"id": "check_balance", "title": "Check balance", "steps": [{"say": "Your balance is $100."}]},
        {"id": "transfer_money", "steps": [{"say": "Transfers moved to the app."}]}
    ]}));
    for changed in [&without_it, &edited] {
        let turn = baton_dialog::step(
            changed,
            session.clone(),
            user_said("balance? => check_balance:0.8"),
            t0(),
        );
        assert_eq!(said(&turn), ["assistant: Your balance is $100."]);
        assert!(turn.session.stack.is_empty());
        let turn = baton_dialog::step(changed, session.clone(), user_said("blah"), t0());
        assert_eq!(
            said(&turn),
            ["assistant: I'm afraid I don't understand. Please rephrase your question."]
        );
    }
}

#[test]
fn a_clarifying_question_or_a_return_offer_to_a_deleted_action_is_read_afresh() {
    let before = bank(json!({}));
    let without_transfers = assistant(json!({"actions": [
        {"id": "check_balance", "title": "Check balance", "steps": [{"say": "Your balance is $100."}]},
        {"id": "branch_hours", "title": "Branch hours", "steps": [{"say": "We open at 9."}]}
    ]}));
    // "Did you mean: Transfer money | Check balance …", then transfer_money is deleted.
    let (_, asked) = converse(&before, &["money => transfer_money:0.7, check_balance:0.65"]);
    let picked = baton_dialog::step(&without_transfers, asked.clone(), user_said("Transfer money"), t0());
    assert_eq!(
        said(&picked),
        ["assistant: I'm afraid I don't understand. Please rephrase your question."]
    );
    let other = baton_dialog::step(&without_transfers, asked, user_said("Check balance"), t0());
    assert_eq!(said(&other), ["assistant: Your balance is $100."]);

    // A change of topic out of transfer_money, then transfer_money is deleted before "yes".
    let (_, offered) = converse(
        &before,
        &["send => transfer_money", "when do you open => branch_hours:0.9"],
    );
    assert_eq!(offered.pending, Some(Pending::ReturnOffer));
    let yes = baton_dialog::step(&without_transfers, offered, user_said("yes"), t0());
    assert!(yes.session.stack.is_empty() && yes.session.pending.is_none());
    assert_eq!(
        said(&yes),
        ["assistant: I'm afraid I don't understand. Please rephrase your question."]
    );
}
