//! Table-driven tests of value extraction: what each extractor reads, and what it must not.

use baton_nlu::extract::{self, Amount, DateOrder, Locale, OptionRef};
use chrono::{NaiveDate, NaiveTime};

const US: Locale = Locale { date_order: DateOrder::MonthFirst, decimal_comma: false };
const GB: Locale = Locale { date_order: DateOrder::DayFirst, decimal_comma: false };
const DE: Locale = Locale { date_order: DateOrder::DayFirst, decimal_comma: true };

fn check<T: PartialEq + std::fmt::Debug>(what: &str, cases: &[(&str, Option<T>)], read: impl Fn(&str) -> Option<T>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(input, expected)| {
            let got = read(input);
            (got != *expected).then(|| format!("{what}({input:?}) = {got:?}, expected {expected:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn number_reads_digits_and_words() {
    let cases: &[(&str, Option<f64>)] = &[
        ("25", Some(25.0)),
        ("I'd say about 25", Some(25.0)),
        ("twenty five", Some(25.0)),
        ("twenty-five", Some(25.0)),
        ("Twenty Five", Some(25.0)),
        ("one hundred and five", Some(105.0)),
        ("a hundred", Some(100.0)),
        ("a dozen", Some(12.0)),
        ("two dozen", Some(24.0)),
        ("half a dozen", Some(6.0)),
        ("three thousand four hundred and twelve", Some(3412.0)),
        ("nineteen hundred", Some(1900.0)),
        ("two million", Some(2e6)),
        ("2 million", Some(2e6)),
        ("1.5 million", Some(1.5e6)),
        ("a million", Some(1e6)),
        ("half a million", Some(5e5)),
        ("1.5k", Some(1500.0)),
        ("10k", Some(10000.0)),
        ("1,250.50", Some(1250.5)),
        ("1,250", Some(1250.0)),
        ("1,000,000", Some(1e6)),
        ("1.000.000", Some(1e6)),
        ("1.250,50", Some(1250.5)),
        ("0.5", Some(0.5)),
        ("1,5", Some(1.5)),
        ("2.75", Some(2.75)),
        ("-3", Some(-3.0)),
        ("-3.5", Some(-3.5)),
        ("minus five", Some(-5.0)),
        ("zero", Some(0.0)),
        ("0", Some(0.0)),
        ("007", Some(7.0)),
        ("two and a half", Some(2.5)),
        ("forty two", Some(42.0)),
        ("ninety-nine", Some(99.0)),
        ("eleven", Some(11.0)),
        ("I want one", Some(1.0)),
        ("just one please", Some(1.0)),
        ("3 please", Some(3.0)),
        ("three, please", Some(3.0)),
        ("three or three", Some(3.0)),
        ("about 3 I think.", Some(3.0)),
        ("thousand", None),
        ("one thousand", Some(1000.0)),
        ("twelve thousand five hundred", Some(12500.0)),
        ("seven hundred thousand", Some(700000.0)),
        ("5 kids", Some(5.0)),
        ("the second one", None),
        ("3rd", None),
        ("third", None),
        ("no idea", None),
        ("none", None),
        ("", None),
        ("   ", None),
        ("a few", None),
        ("some", None),
        ("lots", None),
        ("2 or 3", None),
        ("five six", None),
        ("15:30", None),
        ("2026-03-04", None),
        ("3/4", None),
        ("that one", None),
        ("which one?", None),
        ("one of them", None),
        ("covid-19", Some(19.0)),
        ("1.2.3", None),
        ("1,25,000", None),
        ("🙂 7 🙂", Some(7.0)),
    ];
    check("number", cases, |t| extract::number(t, US));
    let german: &[(&str, Option<f64>)] = &[
        ("1.250,50", Some(1250.5)),
        ("1.250", Some(1250.0)),
        ("1,250", Some(1.25)),
        ("2,5", Some(2.5)),
        ("0,75", Some(0.75)),
        ("1.000.000", Some(1e6)),
        ("1,250.50", Some(1250.5)),
        ("12", Some(12.0)),
    ];
    check("number(de)", german, |t| extract::number(t, DE));
}

#[test]
fn amount_reads_currencies() {
    let a = |value: f64, code: &str| Some(Amount { value, currency: Some(code.to_owned()) });
    let bare = |value: f64| Some(Amount { value, currency: None });
    let cases: &[(&str, Option<Amount>)] = &[
        ("$25", a(25.0, "USD")),
        ("$ 25", a(25.0, "USD")),
        ("25$", a(25.0, "USD")),
        ("25 dollars", a(25.0, "USD")),
        ("25 bucks", a(25.0, "USD")),
        ("twenty dollars", a(20.0, "USD")),
        ("a hundred bucks", a(100.0, "USD")),
        ("EUR 30", a(30.0, "EUR")),
        ("eur 30", a(30.0, "EUR")),
        ("30 EUR", a(30.0, "EUR")),
        ("30€", a(30.0, "EUR")),
        ("30 €", a(30.0, "EUR")),
        ("€30", a(30.0, "EUR")),
        ("€ 30,50", a(30.5, "EUR")),
        ("30 euros", a(30.0, "EUR")),
        ("£12.50", a(12.5, "GBP")),
        ("12 pounds", a(12.0, "GBP")),
        ("12 quid", a(12.0, "GBP")),
        ("50p", a(0.5, "GBP")),
        ("12 pounds 50", a(12.5, "GBP")),
        ("5 dollars and 50 cents", a(5.5, "USD")),
        ("USD 1,000", a(1000.0, "USD")),
        ("usd1000", a(1000.0, "USD")),
        ("US$ 40", a(40.0, "USD")),
        ("C$40", a(40.0, "CAD")),
        ("40 canadian dollars", a(40.0, "CAD")),
        ("A$ 15", a(15.0, "AUD")),
        ("CHF 100", a(100.0, "CHF")),
        ("100 francs", a(100.0, "CHF")),
        ("¥5000", a(5000.0, "JPY")),
        ("₹ 500", a(500.0, "INR")),
        ("Rs 500", a(500.0, "INR")),
        ("$1.5k", a(1500.0, "USD")),
        ("$2m", a(2e6, "USD")),
        ("$2 million", a(2e6, "USD")),
        ("5 grand", bare(5000.0)),
        ("-$5", a(-5.0, "USD")),
        ("I paid $25 for 2 items", a(25.0, "USD")),
        ("about 40 dollars I think", a(40.0, "USD")),
        ("25", bare(25.0)),
        ("twenty", bare(20.0)),
        ("1,250.50", bare(1250.5)),
        ("50 cents", bare(0.5)),
        ("$25 or $30", None),
        ("$25 and €25", None),
        ("$", None),
        ("dollars", None),
        ("nothing", None),
        ("no idea", None),
        ("the 3rd", None),
        ("", None),
        ("25 or 30", None),
    ];
    check("amount", cases, |t| extract::amount(t, US));
    let german: &[(&str, Option<Amount>)] = &[
        ("1.250,50 €", a(1250.5, "EUR")),
        ("EUR 1.000", a(1000.0, "EUR")),
        ("12,99€", a(12.99, "EUR")),
    ];
    check("amount(de)", german, |t| extract::amount(t, DE));
}

#[test]
fn percentage_reads_marked_and_bare_numbers() {
    let cases: &[(&str, Option<f64>)] = &[
        ("15%", Some(15.0)),
        ("15 %", Some(15.0)),
        ("15 percent", Some(15.0)),
        ("15 per cent", Some(15.0)),
        ("fifteen per cent", Some(15.0)),
        ("fifteen percent", Some(15.0)),
        ("0.5%", Some(0.5)),
        ("100%", Some(100.0)),
        ("-2%", Some(-2.0)),
        ("15", Some(15.0)),
        ("about 20", Some(20.0)),
        ("twelve and a half percent", Some(12.5)),
        ("15% of 200", Some(15.0)),
        ("15%, maybe 15 percent", Some(15.0)),
        ("10% or 20%", None),
        ("10 or 20", None),
        ("percent", None),
        ("%", None),
        ("a lot", None),
        ("", None),
    ];
    check("percentage", cases, |t| extract::percentage(t, US));
    check("percentage(de)", &[("2,5 %", Some(2.5)), ("12,5%", Some(12.5))], |t| extract::percentage(t, DE));
}

#[test]
fn locale_from_tag() {
    let cases: &[(&str, Locale)] = &[
        ("en-US", US),
        ("en", US),
        ("en-CA", US),
        ("en_US", US),
        ("EN-us", US),
        ("en-GB", GB),
        ("en-AU", GB),
        ("en-IE", GB),
        ("en-NZ", GB),
        ("en-IN", GB),
        ("de-DE", DE),
        ("de", DE),
        ("de_AT.UTF-8", DE),
        ("fr-FR", DE),
        ("fr-CA", DE),
        ("es-ES", DE),
        ("it-IT", DE),
        ("nl-NL", DE),
        ("pt-BR", DE),
        ("pt-PT", DE),
        ("sv-SE", DE),
        ("ru", DE),
        ("de-CH", GB),
        ("fr-CH", GB),
        ("es-MX", GB),
        ("ja-JP", US),
        ("zh-Hant-TW", US),
        ("", US),
        ("xx", US),
        ("garbage-!!", US),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter(|(tag, expected)| Locale::from_tag(tag) != *expected)
        .map(|(tag, expected)| format!("{tag}: {:?}, expected {expected:?}", Locale::from_tag(tag)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
