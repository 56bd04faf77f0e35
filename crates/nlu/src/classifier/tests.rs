//! Behaviour of the classifier on a small bank assistant.

use super::*;

pub(super) fn bank() -> Vec<TrainingExample> {
    let intents: &[(&str, &[&str])] = &[
        (
            "pay_bill",
            &[
                "pay my bill",
                "I'd like to pay a bill",
                "make a bill payment",
                "pay the electricity bill",
                "I need to settle my bill",
                "can I pay my invoice",
            ],
        ),
        (
            "check_balance",
            &[
                "what's my balance",
                "check my account balance",
                "how much money do I have",
                "show me my balance",
                "balance please",
                "how much is in my checking account",
            ],
        ),
        (
            "transfer_money",
            &[
                "transfer money to my savings",
                "send money to a friend",
                "move funds between accounts",
                "I want to wire money",
                "make a transfer",
                "send 50 dollars to John",
            ],
        ),
        (
            "lost_card",
            &[
                "I lost my card",
                "my card was stolen",
                "block my credit card",
                "I can't find my debit card",
                "report a lost card",
                "someone stole my wallet with my card",
            ],
        ),
        (
            "open_account",
            &[
                "open a new account",
                "I want to open a savings account",
                "how do I create an account",
                "sign up for a checking account",
                "start a new account",
                "become a customer",
            ],
        ),
        (
            "close_account",
            &[
                "close my account",
                "I want to cancel my account",
                "shut down my savings account",
                "delete my bank account",
                "terminate my account",
                "end my membership",
            ],
        ),
        (
            "loan_info",
            &[
                "tell me about loans",
                "I need a loan",
                "what are your mortgage rates",
                "apply for a personal loan",
                "can I borrow money",
                "car loan options",
            ],
        ),
        (
            "branch_hours",
            &[
                "when are you open",
                "what time does the branch close",
                "opening hours",
                "are you open on saturday",
                "branch hours please",
                "what time do you open tomorrow",
            ],
        ),
        (
            "find_atm",
            &[
                "where is the nearest atm",
                "find an atm near me",
                "cash machine nearby",
                "where can I withdraw cash",
                "atm locations",
                "is there an atm close by",
            ],
        ),
        (
            "change_pin",
            &[
                "change my pin",
                "reset my pin number",
                "I forgot my pin",
                "update my card pin",
                "new pin please",
                "how do I change the pin on my card",
            ],
        ),
        (
            "dispute_charge",
            &[
                "I don't recognize a charge",
                "dispute a transaction",
                "there's a wrong charge on my statement",
                "I was charged twice",
                "refund an unauthorized payment",
                "report a fraudulent charge",
            ],
        ),
        (
            "talk_to_agent",
            &[
                "talk to a person",
                "I want a human",
                "connect me to an agent",
                "speak to someone",
                "customer service representative please",
                "can I talk to a real person",
            ],
        ),
    ];
    intents
        .iter()
        .flat_map(|(intent, texts)| {
            texts.iter().map(move |text| TrainingExample {
                text: (*text).to_owned(),
                intent: (*intent).to_owned(),
            })
        })
        .collect()
}

fn top(classifier: &Classifier, text: &str) -> IntentScore {
    classifier.classify(text).remove(0)
}

#[test]
fn paraphrases_of_a_small_assistant_match_their_intent() {
    let classifier = Classifier::train(&bank(), &[]);
    let cases = [
        ("I want to pay my bill", "pay_bill"),
        ("how much do I have in my account", "check_balance"),
        ("I lost my debit card", "lost_card"),
        ("please send money to my mom", "transfer_money"),
        ("where's an ATM", "find_atm"),
        ("I would like to speak to a human", "talk_to_agent"),
        ("what are the opening hours on saturday", "branch_hours"),
    ];
    for (text, intent) in cases {
        let best = top(&classifier, text);
        assert_eq!(best.intent, intent, "{text}");
        assert!(best.confidence >= DEFAULT_THRESHOLD, "{text}: {}", best.confidence);
    }
}

#[test]
fn misspelt_words_are_corrected_unless_autocorrection_is_off() {
    let classifier = Classifier::train(&bank(), &[]);
    let typed = "I lsot my debit crad, can you blokc it";
    let corrected = "I lost my debit card, can you block it";
    assert_eq!(classifier.classify(typed), classifier.classify(corrected));
    assert_eq!(top(&classifier, typed).intent, "lost_card");
    let literal = Classifier::train_with(
        &bank(),
        &[],
        TrainOptions {
            autocorrect: false,
            ..TrainOptions::default()
        },
        &mut |_, _| {},
    );
    assert_ne!(literal.classify(typed), classifier.classify(typed));
    let spelt_right = "how much do I have in my account";
    assert_eq!(literal.classify(spelt_right), classifier.classify(spelt_right));
}

#[test]
fn gibberish_and_off_topic_fall_below_the_threshold() {
    let classifier = Classifier::train(&bank(), &[]);
    for text in [
        "blorp fizz",
        "what's the weather on mars",
        "",
        "   ",
        "!!!",
        "asdfgh qwerty",
    ] {
        let best = top(&classifier, text);
        assert!(best.confidence < DEFAULT_THRESHOLD, "{text}: {best:?}");
    }
}

#[test]
fn empty_input_has_zero_confidence() {
    let classifier = Classifier::train(&bank(), &[]);
    assert!(classifier.classify("").iter().all(|score| score.confidence == 0.0));
}

#[test]
fn every_intent_is_returned_best_first() {
    let classifier = Classifier::train(&bank(), &[]);
    let scores = classifier.classify("pay my bill");
    assert_eq!(scores.len(), 12);
    assert!(scores.windows(2).all(|pair| pair[0].confidence >= pair[1].confidence));
    assert!(scores.iter().all(|score| (0.0..=1.0).contains(&score.confidence)));
}

#[test]
fn counterexamples_lower_the_confidence_of_what_they_resemble() {
    let counterexamples = vec!["tell me a joke".to_owned(), "tell me a story".to_owned()];
    let without = Classifier::train(&bank(), &[]);
    let with = Classifier::train(&bank(), &counterexamples);
    let text = "tell me a funny joke";
    assert!(top(&with, text).confidence < top(&without, text).confidence);
    assert!(top(&with, text).confidence < DEFAULT_THRESHOLD);
    assert_eq!(top(&with, "I want to pay my bill").intent, "pay_bill");
}

#[test]
fn close_candidates_ask_for_clarification() {
    let score = |intent: &str, confidence| IntentScore {
        intent: intent.to_owned(),
        confidence,
    };
    assert!(Classifier::is_close(&[score("a", 0.8), score("b", 0.75)], 0.5, 0.1));
    assert!(!Classifier::is_close(&[score("a", 0.8), score("b", 0.6)], 0.5, 0.1));
    assert!(!Classifier::is_close(&[score("a", 0.52), score("b", 0.45)], 0.5, 0.1));
    assert!(!Classifier::is_close(&[score("a", 0.8)], 0.5, 0.1));
}

/// A message that says two intents' phrases has both as close candidates (within the clarify
/// margin; whether they match is the in-scope score's decision), whichever the ranking prefers (issue 25: with the embedding table, "card lost or new card" started `lost_card` at
/// 0.82 against `order_card`'s 0.38); one intent's phrase alone has no close second.
#[test]
fn a_message_naming_two_intents_has_two_close_candidates() {
    for seed in 0..3 {
        let options = TrainOptions {
            seed,
            ..TrainOptions::default()
        };
        let classifier = Classifier::train_with(&bank(), &[], options, &mut |_, _| {});
        for (text, pair) in [
            ("report a lost card or pay my bill", ["lost_card", "pay_bill"]),
            (
                "change my pin and check my account balance",
                ["change_pin", "check_balance"],
            ),
        ] {
            let scores = classifier.classify(text);
            let mut top_two = [scores[0].intent.as_str(), scores[1].intent.as_str()];
            top_two.sort();
            assert_eq!(top_two, pair, "{text} (seed {seed}): {scores:?}");
            let gap = scores[0].confidence - scores[1].confidence;
            assert!(gap <= DEFAULT_CLARIFY_MARGIN, "{text} (seed {seed}): {scores:?}");
        }
        for text in [
            "report a lost card",
            "I'd like to pay a bill",
            "check my balance please",
        ] {
            let scores = classifier.classify(text);
            let gap = scores[0].confidence - scores[1].confidence;
            assert!(gap > 0.5, "{text} (seed {seed}): {scores:?}");
        }
    }
}

/// A message that is one intent's example names that intent only, even when another intent's
/// example is most of it (from a Watson export: `baton import`'s derived tests say each example).
#[test]
fn an_example_that_contains_another_intents_example_names_one_intent() {
    let examples: Vec<TrainingExample> = [
        ("long", "Test a long response in Server-Sent Events (SSE)"),
        ("plain", "Test Server-Sent Events (SSE)"),
        ("error", "Test handling an error response in Server-Sent Events (SSE)"),
        ("post", "Test post with parameters"),
        ("delete", "how about deleting it"),
    ]
    .into_iter()
    .map(|(intent, text)| TrainingExample {
        text: text.to_owned(),
        intent: intent.to_owned(),
    })
    .collect();
    let classifier = Classifier::train(&examples, &[]);
    for example in &examples {
        let scores = classifier.classify(&example.text);
        assert_eq!(scores[0].intent, example.intent, "{scores:?}");
        let gap = scores[0].confidence - scores[1].confidence;
        assert!(gap > DEFAULT_CLARIFY_MARGIN, "{}: {scores:?}", example.text);
    }
}

#[test]
fn no_examples_give_no_intents() {
    let classifier = Classifier::train(&[], &[]);
    assert!(classifier.classify("hello").is_empty());
}

fn assert_sensible(scores: &[IntentScore], n_intents: usize, text: &str) {
    assert_eq!(scores.len(), n_intents, "{text:?}");
    for score in scores {
        assert!(
            score.confidence.is_finite() && (0.0..=1.0).contains(&score.confidence),
            "{text:?}: {score:?}"
        );
    }
    assert!(
        scores.windows(2).all(|pair| pair[0].confidence >= pair[1].confidence),
        "{text:?}"
    );
}

#[test]
fn awkward_input_gets_sensible_scores() {
    let classifier = Classifier::train(&bank(), &[]);
    let long = "pay my bill ".repeat(10_000);
    let control: String = (0..32_u8).map(char::from).collect();
    let cases = [
        "",
        "\u{0}",
        control.as_str(),
        "💳💳💳 😡",
        "I lost my card 💳😢",
        "Я потерял карту, pay my bill",
        "支付账单 pay bill",
        "\u{202e}llib ym yap",
        "ǅ ß İ ﬃ",
        long.as_str(),
    ];
    for text in cases {
        assert_sensible(&classifier.classify(text), 12, text);
    }
    assert_eq!(top(&classifier, "I lost my card 💳😢").intent, "lost_card");
    assert_eq!(top(&classifier, &long).intent, "pay_bill");
    assert!(top(&classifier, "💳💳💳 😡").confidence < DEFAULT_THRESHOLD);
}

#[test]
fn training_on_awkward_examples_does_not_panic() {
    let examples = vec![
        TrainingExample {
            text: String::new(),
            intent: "empty".to_owned(),
        },
        TrainingExample {
            text: "😀".to_owned(),
            intent: "emoji".to_owned(),
        },
        TrainingExample {
            text: "x".repeat(200_000),
            intent: "long".to_owned(),
        },
        TrainingExample {
            text: "hello there".to_owned(),
            intent: String::new(),
        },
    ];
    let classifier = Classifier::train(&examples, &[String::new(), "\u{7}".to_owned()]);
    assert_sensible(&classifier.classify("hello"), 4, "hello");
    assert_sensible(&classifier.classify("😀"), 4, "😀");
}

#[test]
fn one_intent_is_enough() {
    let examples: Vec<TrainingExample> = bank()
        .into_iter()
        .filter(|example| example.intent == "pay_bill")
        .collect();
    let classifier = Classifier::train(&examples, &[]);
    let best = top(&classifier, "I want to pay my bill");
    assert_eq!(best.intent, "pay_bill");
    assert!(best.confidence >= DEFAULT_THRESHOLD, "{best:?}");
    assert!(top(&classifier, "blorp fizz").confidence < DEFAULT_THRESHOLD);
}

#[test]
fn training_is_deterministic() {
    let first = Classifier::train(&bank(), &[]);
    let second = Classifier::train(&bank(), &[]);
    assert_eq!(
        first.classify("where can I get cash"),
        second.classify("where can I get cash")
    );
}

#[test]
fn classify_gives_what_calibrating_every_signal_gives() {
    let counterexamples = ["tell me a joke".to_owned(), "what's the weather".to_owned()];
    let messages = [
        "pay my electricity bill",
        "how much money is in savings",
        "tell me a joke about cards",
        "blorp fizz",
        "",
        "card card card stolen",
        "I want to open an account and transfer money",
    ];
    let single: Vec<TrainingExample> = bank()
        .into_iter()
        .filter(|example| example.intent == "lost_card")
        .collect();
    for (examples, counterexamples) in [
        (bank(), &counterexamples[..]),
        (bank(), &[][..]),
        (single.clone(), &[][..]),
        (single, &counterexamples[..]),
    ] {
        let classifier = Classifier::train(&examples, counterexamples);
        for text in messages {
            let signals = classifier.signals(text);
            let mut expected: Vec<(f32, f32, &str)> = calibrate(&signals, classifier.in_scope_weights)
                .into_iter()
                .zip(&signals.probabilities)
                .zip(classifier.intents().iter().map(String::as_str))
                .map(|((confidence, &probability), intent)| (confidence, probability, intent))
                .collect();
            expected.sort_by(|a, b| {
                b.0.total_cmp(&a.0)
                    .then_with(|| b.1.total_cmp(&a.1))
                    .then_with(|| a.2.cmp(b.2))
            });
            let expected: Vec<(f32, &str)> = expected
                .into_iter()
                .map(|(confidence, _, intent)| (confidence, intent))
                .collect();
            let scores = classifier.classify(text);
            let got: Vec<(f32, &str)> = scores
                .iter()
                .map(|score| (score.confidence, score.intent.as_str()))
                .collect();
            assert_eq!(got, expected, "{text:?} with {} counterexamples", counterexamples.len());
        }
    }
}

mod properties {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    fn classifier() -> &'static Classifier {
        static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
        CLASSIFIER.get_or_init(|| Classifier::train(&bank(), &["tell me a joke".to_owned()]))
    }

    proptest! {
        #[test]
        fn any_text_gets_sensible_scores(text in any::<String>()) {
            assert_sensible(&classifier().classify(&text), 12, &text);
        }

        #[test]
        fn any_mix_of_scripts_and_symbols_gets_sensible_scores(text in "[a-zA-Z0-9 \\u{0}-\\u{1f}\\u{80}-\\u{24f}\\u{400}-\\u{4ff}\\u{4e00}-\\u{4e50}\\u{1f600}-\\u{1f64f}'’.,!?]{0,300}") {
            assert_sensible(&classifier().classify(&text), 12, &text);
        }

        #[test]
        fn any_examples_train_without_panicking(texts in proptest::collection::vec(any::<String>(), 0..8), probe in any::<String>()) {
            let examples: Vec<TrainingExample> = texts
                .iter()
                .enumerate()
                .map(|(index, text)| TrainingExample { text: text.clone(), intent: format!("intent{}", index % 3) })
                .collect();
            let classifier = Classifier::train(&examples, &texts);
            let n_intents = classifier.intents().len();
            assert_sensible(&classifier.classify(&probe), n_intents, &probe);
        }
    }
}

#[test]
fn debug_output_is_a_summary() {
    let classifier = Classifier::train(&bank(), &[]);
    let printed = format!("{classifier:?}");
    assert!(printed.contains("pay_bill"));
    assert!(printed.len() < 2_000, "{}", printed.len());
}

#[test]
fn the_linear_baseline_ranks_and_calibrates_too() {
    let options = TrainOptions {
        hidden: 0,
        ..TrainOptions::default()
    };
    let classifier = Classifier::train_with(&bank(), &[], options, &mut |_, _| {});
    for (text, intent) in [
        ("I want to pay my bill", "pay_bill"),
        ("I lost my debit card", "lost_card"),
    ] {
        let best = top(&classifier, text);
        assert_eq!(best.intent, intent, "{text}");
        assert!(best.confidence >= DEFAULT_THRESHOLD, "{text}: {}", best.confidence);
    }
    assert!(top(&classifier, "blorp fizz").confidence < DEFAULT_THRESHOLD);
}

#[test]
fn training_reports_progress_to_the_end() {
    let mut last = (0, 0);
    Classifier::train_with(&bank(), &[], TrainOptions::default(), &mut |done, total| {
        last = (done, total)
    });
    assert!(last.1 > 0);
    assert_eq!(last.0, last.1);
}
