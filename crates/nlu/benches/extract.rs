//! How long every extractor together takes on answers of 100 KB built to provoke blow-ups
//! (repeated separators, number words, half-finished dates and addresses), beside a short answer.
//!
//! The tests hold the bound that keeps this small: the extractors read only the first
//! `extract::MAX_INPUT_BYTES` of an answer (`tests/extract/whole_messages.rs`). Timing is measured here rather
//! than asserted in a test, where a loaded machine would make it fail for nothing.
//!
//! Run: `cargo bench -p baton-nlu --bench extract`. It prints one Markdown row per answer: its
//! repeated unit, its size, and the median time of one pass of every extractor over 15 passes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use baton_nlu::extract::{self, DateOrder, Locale, OptionRef};
use chrono::NaiveDate;

/// The units the adversarial answers repeat, as in the tests.
const UNITS: &[&str] = &[
    "1,",
    "1.",
    "a@",
    "@a.",
    "twenty ",
    "one hundred and ",
    "-",
    "((((",
    "+1 ",
    "yes no ",
    "half past ",
    "the 3rd of ",
    "1/",
    "9",
    "a",
    "é",
    "👍",
    "\u{0}",
    " ",
    "savings ",
    "next friday ",
    "$1 ",
];

const PASSES: usize = 15;

fn main() {
    let locales = [
        Locale::from_tag("en-US"),
        Locale::from_tag("en-GB"),
        Locale {
            date_order: DateOrder::DayFirst,
            decimal_comma: true,
            currency: None,
        },
    ];
    let synonyms = vec!["gold".to_owned(), "the gold one".to_owned()];
    let options = [
        OptionRef {
            label: "Savings account",
            value: "savings",
            synonyms: &synonyms,
        },
        OptionRef {
            label: "Checking",
            value: "checking",
            synonyms: &[],
        },
    ];
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
    let every_extractor = |text: &str| {
        for locale in locales {
            black_box(extract::number(text, locale));
            black_box(extract::amount(text, locale));
            black_box(extract::percentage(text, locale));
            black_box(extract::date(text, today, locale));
        }
        black_box(extract::time(text));
        black_box(extract::yes_no(text));
        black_box(extract::option(text, &options));
        black_box(extract::email(text));
        black_box(extract::phone(text));
    };
    let mut answers: Vec<(String, String)> = vec![(
        "(short answer)".to_owned(),
        "I'd like to send $250 to savings next friday at half past three".to_owned(),
    )];
    answers.extend(
        UNITS
            .iter()
            .map(|unit| (format!("{unit:?}"), unit.repeat(100_000 / unit.len() + 1))),
    );
    println!("| repeated unit | bytes | median µs per pass of every extractor |");
    println!("|---|---:|---:|");
    for (name, text) in &answers {
        let mut times: Vec<Duration> = (0..PASSES)
            .map(|_| {
                let started = Instant::now();
                every_extractor(black_box(text));
                started.elapsed()
            })
            .collect();
        times.sort();
        let median = times[PASSES / 2];
        println!("| {name} | {} | {:.1} |", text.len(), median.as_secs_f64() * 1e6);
    }
}
