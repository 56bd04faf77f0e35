//! `baton preview` scripted through stdin.

use crate::{example, run, stdout};

const GREETING: &str = "\
assistant: Welcome to Northwind Bank! I'm the Northwind assistant.
assistant: You can ask me about balances, transfers, cards, loans or branch hours.
";

#[test]
fn paying_a_bill_shows_a_planned_transfer_and_the_agent_ending_the_chat() {
    let bank = example("bank");
    let output = run(&["preview", bank.to_str().unwrap()], "I want to pay my bill\n");
    assert!(output.status.success());
    let expected = format!(
        "{GREETING}\
customer: I want to pay my bill
assistant: Bill payments are handled by our billing team.
[Connect to an agent] reason=planned queue=billing message=\"Customer wants to pay a bill from their checking account.\"
assistant: Let's send you to an available agent
[Agent ended the chat]
"
    );
    assert_eq!(stdout(&output), expected);
}

#[test]
fn with_agents_offline_the_offline_response_is_shown() {
    let bank = example("bank");
    let output = run(
        &["preview", bank.to_str().unwrap(), "--agents", "offline"],
        "I want to pay my bill\n",
    );
    let out = stdout(&output);
    assert!(
        out.contains("[Connect to an agent] reason=planned queue=billing message=\"Customer wants to pay a bill from their checking account.\"\nassistant: Our billing team is offline. You can pay bills any time in the app under Payments.\n[No agent joined in time]\n"),
        "{out}"
    );
}

#[test]
fn option_buttons_are_numbered_and_a_number_picks_one() {
    let bank = example("bank");
    let output = run(
        &["preview", bank.to_str().unwrap()],
        "what are your opening hours\n\n1\n",
    );
    let out = stdout(&output);
    let expected = "\
assistant: Can I help with something else?
  1. Book an appointment
  2. No, thanks
customer: book an appointment
assistant: What would you like to talk about?
";
    assert!(out.contains(expected), "{out}");
}

#[test]
fn every_fallback_reason_shows_in_the_transfer_line() {
    let bank = example("bank");
    let script =
        "connect me to an agent\nsomeone scammed me, this is fraud\nmake a transfer\nJordan\nbanana\nbanana\nbanana\n";
    let out = stdout(&run(&["preview", bank.to_str().unwrap()], script));
    for reason in ["agent_requested", "danger_word", "step_validation_failed"] {
        assert!(
            out.contains(&format!("[Connect to an agent] reason={reason} queue=general ")),
            "{reason}: {out}"
        );
    }
    assert_eq!(out.matches("[Agent ended the chat]").count(), 3, "{out}");
}

#[test]
fn debug_adds_a_line_per_turn() {
    let bank = example("bank");
    let output = run(
        &["preview", bank.to_str().unwrap(), "--debug"],
        "I want to pay my bill\npay someone\n",
    );
    let out = stdout(&output);
    let debug: Vec<&str> = out.lines().filter(|line| line.starts_with("[debug] ")).collect();
    assert_eq!(debug.len(), 3, "the greeting and two customer lines: {out}");
    assert!(
        !debug[1].contains(" best="),
        "a match needs no closest candidate: {}",
        debug[1]
    );
    assert!(debug[2].starts_with("[debug] action=none confidence=-"), "{}", debug[2]);
    assert!(
        debug[2].contains(" best=pay_bill(0."),
        "a miss shows what almost matched: {}",
        debug[2]
    );
    assert!(
        debug[1].starts_with("[debug] action=pay_bill confidence="),
        "{}",
        debug[1]
    );
    assert!(debug[1].contains(" step=none variables={"), "{}", debug[1]);
    assert!(debug[1].contains("\"preferred_account\":\"checking\""), "{}", debug[1]);
}

#[test]
fn the_telecom_example_previews_from_json_files() {
    let telecom = example("telecom");
    let out = stdout(&run(
        &["preview", telecom.to_str().unwrap()],
        "top up my phone\n£10\nyes\n",
    ));
    assert!(out.starts_with("assistant: Hi, this is Contoso Mobile."), "{out}");
    assert!(out.contains("assistant: Done, £10.00 has been added.\n"), "{out}");
}

#[test]
fn voice_preview_shows_what_a_caller_hears_and_presses_through_a_failed_transfer() {
    let bank = example("bank");
    let script = "I lost my card\n2\n1234\n\nI want to talk to a person\nbusy\nthanks, bye\n";
    let output = run(&["preview", bank.to_str().unwrap(), "--voice"], script);
    assert!(output.status.success());
    let expected = "\
[Say] Welcome to Northwind Bank! I'm the Northwind assistant.
[Say] You can ask me about balances, transfers, cards, loans or branch hours.
[Gather speech,dtmf]
caller> I lost my card
[Say] I'm sorry to hear that. Which card is it?
[Say] Say Debit card or press 1. Say Credit card or press 2.
[Gather speech,dtmf numDigits=1]
caller> 2
[Say] What are the last four digits of the card? You can say them or type them on your keypad.
[Gather speech,dtmf numDigits=4]
caller> 1234
[Say] I've frozen your credit card ending 1234. Nobody can use it now.
[Say] Would you like us to send you a replacement?
[Gather speech,dtmf]
caller> (silence)
[Say] Please answer yes or no.
[Gather speech,dtmf]
caller> I want to talk to a person
[Say] Of course, I'll connect you to one of our team.
[Say] Let's send you to an available agent
[Dial sip:support@pbx.northwind.example]
caller> busy
[Say] Sorry, I couldn't reach an agent. I can still help you here: what do you need?
[Gather speech,dtmf]
caller> thanks, bye
[Say] Thank you for banking with Northwind. Have a lovely day!
[Hangup]
";
    assert_eq!(stdout(&output), expected);
}
