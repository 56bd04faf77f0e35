//! Table-driven tests of value extraction: what each extractor reads, and what it must not,
//! one module per kind of value, with the properties every extractor keeps and the round trips.

use baton_nlu::extract::{self, Amount, DateOrder, Locale, OptionRef};
use chrono::{NaiveDate, NaiveTime};

const US: Locale = Locale {
    date_order: DateOrder::MonthFirst,
    decimal_comma: false,
    currency: None,
};
const GB: Locale = Locale {
    date_order: DateOrder::DayFirst,
    decimal_comma: false,
    currency: None,
};
const DE: Locale = Locale {
    date_order: DateOrder::DayFirst,
    decimal_comma: true,
    currency: None,
};

fn check<T: PartialEq + std::fmt::Debug>(what: &str, cases: &[(&str, Option<T>)], read: impl Fn(&str) -> Option<T>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(input, expected)| {
            let got = read(input);
            (got != *expected).then(|| format!("{what}({input:?}) = {got:?}, expected {expected:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    Some(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

/// A Wednesday.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

fn at(h: u32, m: u32) -> Option<NaiveTime> {
    Some(NaiveTime::from_hms_opt(h, m, 0).unwrap())
}

fn choose(text: &str, labels: &[(&str, &str, &[&str])]) -> Option<usize> {
    choose_with(extract::option, text, labels)
}

/// `reader` (one of the option extractors) on options given as (label, value, synonyms).
fn choose_with(
    reader: fn(&str, &[OptionRef<'_>]) -> Option<usize>,
    text: &str,
    labels: &[(&str, &str, &[&str])],
) -> Option<usize> {
    let synonyms: Vec<Vec<String>> = labels
        .iter()
        .map(|(_, _, s)| s.iter().map(|s| s.to_string()).collect())
        .collect();
    let options: Vec<OptionRef<'_>> = labels
        .iter()
        .zip(&synonyms)
        .map(|((label, value, _), synonyms)| OptionRef { label, value, synonyms })
        .collect();
    reader(text, &options)
}

/// Every extractor on one input; checks the invariants each result must keep, and returns what
/// they found, one line each, to compare one input's findings with another's.
fn extract_everything(text: &str) -> Vec<String> {
    let options_owned: Vec<String> = vec!["gold".into(), "the gold one".into()];
    let options = [
        OptionRef {
            label: "Savings account",
            value: "savings",
            synonyms: &options_owned,
        },
        OptionRef {
            label: "Checking",
            value: "checking",
            synonyms: &[],
        },
        OptionRef {
            label: "3 months",
            value: "3m",
            synonyms: &[],
        },
    ];
    let mut found = Vec::new();
    for locale in [US, GB, DE] {
        let number = extract::number(text, locale);
        if let Some(n) = number {
            assert!(n.is_finite(), "number({text:?}) = {n}");
        }
        let amount = extract::amount(text, locale);
        if let Some(amount) = &amount {
            assert!(amount.value.is_finite());
            if let Some(code) = &amount.currency {
                assert!(
                    code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()),
                    "{code}"
                );
            }
        }
        let percentage = extract::percentage(text, locale);
        if let Some(p) = percentage {
            assert!(p.is_finite());
        }
        let date = extract::date(text, today(), locale);
        found.push(format!(
            "{locale:?}: number {number:?}, amount {amount:?}, percentage {percentage:?}, date {date:?}"
        ));
    }
    found.push(format!("time {:?}", extract::time(text)));
    found.push(format!("yes/no {:?}", extract::yes_no(text)));
    let option = extract::option(text, &options);
    if let Some(index) = option {
        assert!(index < options.len());
    }
    found.push(format!(
        "option {option:?}, named {:?}",
        extract::option_named(text, &options)
    ));
    let email = extract::email(text);
    if let Some(email) = &email {
        assert_eq!(email.matches('@').count(), 1, "{email}");
    }
    found.push(format!("email {email:?}"));
    let phone = extract::phone(text);
    if let Some(phone) = &phone {
        let digits = phone.strip_prefix('+').unwrap_or(phone);
        assert!(
            digits.chars().all(|c| c.is_ascii_digit()) && (7..=15).contains(&digits.len()),
            "{phone}"
        );
    }
    found.push(format!("phone {phone:?}"));
    found
}

mod answers;
mod contacts;
mod dates;
mod numbers;
mod properties;
mod round_trips;
mod whole_messages;
