//! Properties every extractor keeps on any input: no panic, bounded work, the invariants of what it returns.

use super::extract_everything;
use baton_nlu::extract;
use proptest::prelude::*;

/// Words and symbols the extractors react to, so random answers reach deep into the parsers.
const VOCABULARY: &[&str] = &[
    "twenty",
    "one",
    "hundred",
    "and",
    "a",
    "half",
    "dozen",
    "million",
    "k",
    "-",
    "minus",
    "$",
    "€",
    "£",
    "%",
    "percent",
    "per",
    "cent",
    "dollars",
    "eur",
    "1",
    "3",
    "12",
    "2026",
    "1,250.50",
    "1.250,50",
    "3/4",
    "03/04/2026",
    "2026-03-04",
    "15:30",
    "3pm",
    "p.m.",
    "o'clock",
    "past",
    "quarter",
    "to",
    "noon",
    "midnight",
    "at",
    "in",
    "the",
    "3rd",
    "of",
    "march",
    "febuary",
    "next",
    "last",
    "friday",
    "wensday",
    "days",
    "weeks",
    "ago",
    "from",
    "now",
    "end",
    "month",
    "tomorrow",
    "yes",
    "no",
    "not",
    "sure",
    "maybe",
    "don't",
    "think",
    "so",
    "ok",
    "👍",
    "second",
    "option",
    "#",
    "savings",
    "savngs",
    "checking",
    "@",
    ".",
    "me",
    "example",
    "com",
    "+",
    "(",
    ")",
    "0",
    "555",
    "1234",
    "🙂",
    "\u{0}",
    "\u{202e}",
    "ß",
    "ǅ",
    "İ",
    "日本",
    "١٢٣",
    "\t",
    "\n",
];

pub(super) fn answer() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(VOCABULARY),
            prop::sample::select(&[" ", "", ", ", "-", "/"][..]),
        ),
        0..24,
    )
    .prop_map(|parts| parts.into_iter().map(|(word, gap)| format!("{word}{gap}")).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        extract_everything(&text);
    }

    #[test]
    fn printable_strings_never_panic(text in "\\PC{0,200}") {
        extract_everything(&text);
    }

    #[test]
    fn answer_like_strings_never_panic(text in answer()) {
        extract_everything(&text);
    }

}

proptest! {
    // Each case builds a 100 KB answer: fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A 100 KB answer is read only as far as [`extract::MAX_INPUT_BYTES`], which bounds the
    /// work on any input: what is found in it is what is found in that part.
    #[test]
    fn long_answers_are_read_only_to_the_limit(seed in answer(), noise in any::<String>()) {
        let unit = format!("{seed}{noise} ");
        let text = unit.repeat(100_000 / unit.len().max(1) + 1);
        let read = extract::clip(&text);
        prop_assert!(read.len() <= extract::MAX_INPUT_BYTES && text.starts_with(read));
        prop_assert_eq!(extract_everything(&text), extract_everything(read));
    }
}

proptest! {
    #[test]
    fn dates_never_panic_whatever_today(days in any::<i32>(), text in super::properties::answer()) {
        if let Some(today) = chrono::NaiveDate::from_num_days_from_ce_opt(days) {
            for locale in [super::US, super::GB] {
                let _ = baton_nlu::extract::date(&text, today, locale);
            }
        }
    }
}

proptest! {
    #[test]
    fn any_options_any_answer(
        labels in prop::collection::vec(("\\PC{0,12}", "\\PC{0,6}", prop::collection::vec("\\PC{0,8}", 0..3)), 0..8),
        text in prop_oneof![super::properties::answer(), "\\PC{0,40}", Just("savings".to_owned())],
    ) {
        let options: Vec<baton_nlu::extract::OptionRef<'_>> = labels
            .iter()
            .map(|(label, value, synonyms)| baton_nlu::extract::OptionRef { label, value, synonyms })
            .collect();
        if let Some(index) = baton_nlu::extract::option(&text, &options) {
            prop_assert!(index < options.len());
        }
    }
}

#[test]
fn dates_at_the_ends_of_the_calendar_do_not_panic() {
    let phrases = [
        "today",
        "tomorrow",
        "yesterday",
        "the day after tomorrow",
        "day before yesterday",
        "in 3 days",
        "in 300 years",
        "10000 years ago",
        "a week from tomorrow",
        "next friday",
        "last friday",
        "friday",
        "end of the month",
        "end of next month",
        "start of next month",
        "end of next year",
        "the 1st of next month",
        "March 3",
        "3/4",
        "the 15th",
        "in a fortnight",
        "in 9999 months",
    ];
    for today in [chrono::NaiveDate::MIN, chrono::NaiveDate::MAX] {
        for phrase in phrases {
            let _ = baton_nlu::extract::date(phrase, today, super::US);
        }
    }
}

#[test]
fn adversarial_100_kb_answers_are_read_only_to_the_limit() {
    let units = [
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
    for unit in units {
        let text = unit.repeat(100_000 / unit.len() + 1);
        let read = extract::clip(&text);
        assert!(
            read.len() <= extract::MAX_INPUT_BYTES && text.starts_with(read),
            "{unit:?}"
        );
        assert_eq!(extract_everything(&text), extract_everything(read), "{unit:?} x 100 KB");
    }
}
