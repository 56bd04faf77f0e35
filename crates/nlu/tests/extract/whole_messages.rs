//! Whole messages: how much of an answer is read, and what is not an answer at all.

use super::*;

/// The extractors' work is bounded by what they read, the first [`extract::MAX_INPUT_BYTES`] of an
/// answer: a value that starts past them is not found, even when nothing before it is a value.
/// (`cargo bench -p baton-nlu --bench extract` times them on long answers.)
#[test]
fn a_value_past_what_is_read_is_not_found() {
    /// Whether an extractor finds a value in a text.
    type Finds = fn(&str) -> bool;
    let found: [(&str, &str, Finds); 9] = [
        ("number", "42", |text| extract::number(text, US).is_some()),
        ("amount", "$25", |text| extract::amount(text, US).is_some()),
        ("percentage", "15%", |text| extract::percentage(text, US).is_some()),
        ("date", "2026-03-04", |text| extract::date(text, today(), US).is_some()),
        ("time", "15:30", |text| extract::time(text).is_some()),
        ("yes/no", "yes", |text| extract::yes_no(text).is_some()),
        ("email", "ann@example.com", |text| extract::email(text).is_some()),
        ("phone", "+44 20 7946 0958", |text| extract::phone(text).is_some()),
        ("option", "savings", |text| {
            extract::option(
                text,
                &[OptionRef {
                    label: "Savings account",
                    value: "savings",
                    synonyms: &[],
                }],
            )
            .is_some()
        }),
    ];
    // Words that are no value of any kind, as long as what is read and then some.
    let filler = "well ".repeat(extract::MAX_INPUT_BYTES / 5 + 10);
    for (extractor, value, finds) in found {
        assert!(finds(value), "{extractor} finds {value:?} on its own");
        assert!(
            !finds(&format!("{filler}{value}")),
            "{extractor} read past the limit to {value:?}"
        );
        // One long word before it, so that the option's limit on words is not what stops it.
        let within = "x".repeat(extract::MAX_INPUT_BYTES - value.len() - 1);
        assert!(
            finds(&format!("{within} {value}")),
            "{extractor} finds {value:?} just within the limit"
        );
    }
}

/// What customers say in the middle of a question that is not an answer: no extractor may read a
/// value from it, so the runtime can re-prompt or switch to the action the customer asked for.
#[test]
fn digressions_are_not_answers() {
    let digressions = [
        "I want to talk to a human",
        "can I speak to an agent",
        "what are your opening hours?",
        "how much does it cost",
        "help",
        "cancel",
        "start over",
        "go back",
        "hello",
        "hi there",
        "thanks",
        "what?",
        "why do you need that",
        "I don't understand",
        "asdfgh",
        "???",
        "...",
        "lol",
        "this is ridiculous",
        "I already told you",
        "where is my order",
        "my internet is not working",
        "can you repeat that",
        "never mind",
        "stop",
        "what do you mean",
        "who are you",
        "is this a bot",
        "I have a question about my bill",
        "let me check",
        "one moment please",
        "hang on a sec",
        "give me a minute",
        "wait",
        "",
        "   ",
        "\n\t",
        "🙂🙂🙂",
        "¯\\_(ツ)_/¯",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit",
        "日本語のテキスト",
        "текст по-русски",
    ];
    let syn: Vec<String> = Vec::new();
    let options = [
        OptionRef {
            label: "Savings account",
            value: "savings",
            synonyms: &syn,
        },
        OptionRef {
            label: "Checking account",
            value: "checking",
            synonyms: &syn,
        },
    ];
    let failures: Vec<String> = digressions
        .iter()
        .filter_map(|text| {
            let found = [
                extract::number(text, US).map(|v| format!("number {v}")),
                extract::amount(text, US).map(|v| format!("amount {v:?}")),
                extract::percentage(text, US).map(|v| format!("percentage {v}")),
                extract::date(text, today(), US).map(|v| format!("date {v}")),
                extract::time(text).map(|v| format!("time {v}")),
                extract::yes_no(text).map(|v| format!("yes_no {v}")),
                extract::option(text, &options).map(|v| format!("option {v}")),
                extract::email(text).map(|v| format!("email {v}")),
                extract::phone(text).map(|v| format!("phone {v}")),
            ];
            let found: Vec<String> = found.into_iter().flatten().collect();
            (!found.is_empty()).then(|| format!("{text:?}: {}", found.join(", ")))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
