//! Properties over arbitrary conversations: no panic, and the stack invariant holds after every turn.

use baton_dialog::{Effect, Event, Session};
use proptest::prelude::*;

use crate::support::{event, t0};

/// A pool of lines that reach every state: matches, misses, answers, trigger words, events.
const LINES: &[&str] = &[
    "pay => pay_bill",
    "data => data_usage:0.85",
    "cancel => cancel_contract",
    "close call => pay_bill:0.6, cancel_contract:0.55",
    "human => fallback",
    "blah",
    "$45",
    "$900",
    "tomorrow",
    "yesterday",
    "yes",
    "no",
    "price",
    "coverage",
    "None of the above",
    "Connect to support",
    "damn",
    "my lawyer",
    "",
    "!ended unavailable",
    "!ended ended",
    "!handed_back pay_bill amount=30",
    "!handed_back",
];

fn fixture() -> baton_assistant::Assistant {
    crate::transcripts::telecom()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_conversation_keeps_the_stack_consistent(indices in prop::collection::vec(0..LINES.len(), 0..25)) {
        let assistant = fixture();
        let mut session = baton_dialog::step(&assistant, Session::default(), Event::Start, t0()).session;
        for index in indices {
            let turn = baton_dialog::step(&assistant, session, event(LINES[index]), t0());
            let session_after = &turn.session;
            let top_waits = session_after.stack.last().is_none_or(|frame| frame.waiting);
            prop_assert!(top_waits, "after {:?}: {:?}", LINES[index], session_after.stack);
            let transfers = turn.effects.iter().filter(|effect| matches!(effect, Effect::Transfer(_))).count();
            prop_assert!(transfers <= 1);
            if transfers == 1 {
                prop_assert!(session_after.transfer_open && session_after.stack.is_empty());
            }
            let round_trip: Session = serde_json::from_str(&serde_json::to_string(session_after).unwrap()).unwrap();
            prop_assert_eq!(&round_trip, session_after);
            session = turn.session;
        }
    }
}
