//! Table-driven tests of value extraction: what each extractor reads, and what it must not.

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
        ("3 and a half", Some(3.5)),
        ("one hundredth", None),
        ("the twenty-first", None),
        ("a hundred and twenty", Some(120.0)),
        ("one hundred twenty three", Some(123.0)),
        ("two thousand and five", Some(2005.0)),
        ("a thousand and one", Some(1001.0)),
        ("twenty-five thousand", Some(25000.0)),
        ("one million two hundred thousand", Some(1.2e6)),
        ("fourty", Some(40.0)),
        ("seventeen", Some(17.0)),
        ("999,999,999", Some(999999999.0)),
        ("100,000", Some(1e5)),
        ("1,000.5", Some(1000.5)),
        ("2.5k", Some(2500.0)),
        ("I'm 25 years old", Some(25.0)),
        ("6 people, maybe 7", None),
        ("6-7", None),
        ("nineteen ninety", None),
        ("one two three", None),
        ("1 000", None),
        ("1e5", None),
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
        ("3/4", Some(0.75)),
        ("1/2", Some(0.5)),
        ("1 1/2", Some(1.5)),
        ("2 3/4 inches", Some(2.75)),
        ("50/50", None),
        ("3/2", None),
        (".5", Some(0.5)),
        ("about .75", Some(0.75)),
        ("v.5", Some(5.0)),
        ("that one", None),
        ("which one?", None),
        ("one of them", None),
        ("covid-19", Some(19.0)),
        ("1.2.3", None),
        ("1,25,000", None),
        ("🙂 7 🙂", Some(7.0)),
        ("１２", Some(12.0)),
    ];
    check("number", cases, |t| extract::number(t, US));
    let german: &[(&str, Option<f64>)] = &[
        ("1.250,50", Some(1250.5)),
        ("1.250", Some(1250.0)),
        ("1,250", Some(1.25)),
        ("2,5", Some(2.5)),
        ("0,75", Some(0.75)),
        ("1 250", Some(1250.0)),
        ("1 250,50", Some(1250.5)),
        ("12 345 678", Some(12345678.0)),
        ("1\u{202f}250,50", Some(1250.5)),
        ("3 Kinder", Some(3.0)),
        ("-2,5", Some(-2.5)),
        ("1.000.000", Some(1e6)),
        ("1,250.50", Some(1250.5)),
        ("12", Some(12.0)),
    ];
    check("number(de)", german, |t| extract::number(t, DE));
}

#[test]
fn amount_reads_currencies() {
    let a = |value: f64, code: &str| {
        Some(Amount {
            value,
            currency: Some(code.to_owned()),
        })
    };
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
        ("99c", bare(0.99)),
        ("$0.99", a(0.99, "USD")),
        ("CAD 40", a(40.0, "CAD")),
        ("40 cad", a(40.0, "CAD")),
        ("EUR30", a(30.0, "EUR")),
        ("thirty euros", a(30.0, "EUR")),
        ("30 eur.", a(30.0, "EUR")),
        ("10 USD or 10 USD", a(10.0, "USD")),
        ("25 USD per month", a(25.0, "USD")),
        ("1.5 million dollars", a(1.5e6, "USD")),
        ("twenty five dollars and fifty cents", a(25.5, "USD")),
        ("I paid 25 dollars 3 times", a(25.0, "USD")),
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
        ("1 250,50 €", a(1250.5, "EUR")),
        ("€ 1 000", a(1000.0, "EUR")),
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
        ("fifteen percentage", Some(15.0)),
        ("15 pct", Some(15.0)),
        ("15 pour cent", Some(15.0)),
        ("15 por ciento", Some(15.0)),
        ("15 Prozent", Some(15.0)),
        ("15 percent off", Some(15.0)),
        ("50/50", None),
        ("half", None),
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
    check("percentage(de)", &[("2,5 %", Some(2.5)), ("12,5%", Some(12.5))], |t| {
        extract::percentage(t, DE)
    });
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
    // The reading conventions; the currency is checked below.
    let reading = |tag: &str| Locale {
        currency: None,
        ..Locale::from_tag(tag)
    };
    let failures: Vec<String> = cases
        .iter()
        .filter(|(tag, expected)| reading(tag) != *expected)
        .map(|(tag, expected)| format!("{tag}: {:?}, expected {expected:?}", reading(tag)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn locale_currency_is_the_regions() {
    let cases = [
        ("en-US", Some("USD")),
        ("en_US.UTF-8", Some("USD")),
        ("en-GB", Some("GBP")),
        ("en-IE", Some("EUR")),
        ("de-AT", Some("EUR")),
        ("fr-FR", Some("EUR")),
        ("fr-CA", Some("CAD")),
        ("en-AU", Some("AUD")),
        ("de-CH", Some("CHF")),
        ("ja-JP", Some("JPY")),
        ("zh-Hant-TW", None),
        ("en", None),
        ("de", None),
        ("", None),
        ("garbage-!!", None),
    ];
    for (tag, currency) in cases {
        assert_eq!(Locale::from_tag(tag).currency, currency, "{tag}");
    }
}

fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    Some(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

/// A Wednesday.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

#[test]
fn date_reads_relative_days_and_weekdays() {
    let cases: &[(&str, Option<NaiveDate>)] = &[
        ("today", day(2026, 11, 25)),
        ("Today please", day(2026, 11, 25)),
        ("tonight", day(2026, 11, 25)),
        ("tomorrow", day(2026, 11, 26)),
        ("tmrw", day(2026, 11, 26)),
        ("tommorow", day(2026, 11, 26)),
        ("tomorrow morning", day(2026, 11, 26)),
        ("yesterday", day(2026, 11, 24)),
        ("the day after tomorrow", day(2026, 11, 27)),
        ("day before yesterday", day(2026, 11, 23)),
        ("in 3 days", day(2026, 11, 28)),
        ("in three days", day(2026, 11, 28)),
        ("in a week", day(2026, 12, 2)),
        ("in one week", day(2026, 12, 2)),
        ("in two weeks", day(2026, 12, 9)),
        ("in a fortnight", day(2026, 12, 9)),
        ("in a couple of days", day(2026, 11, 27)),
        ("in a month", day(2026, 12, 25)),
        ("in 2 months", day(2027, 1, 25)),
        ("in a year", day(2027, 11, 25)),
        ("3 days from now", day(2026, 11, 28)),
        ("a week from today", day(2026, 12, 2)),
        ("a week from tomorrow", day(2026, 12, 3)),
        ("2 weeks ago", day(2026, 11, 11)),
        ("three days ago", day(2026, 11, 22)),
        ("10 days later", day(2026, 12, 5)),
        ("friday", day(2026, 11, 27)),
        ("Friday!", day(2026, 11, 27)),
        ("on friday", day(2026, 11, 27)),
        ("this friday", day(2026, 11, 27)),
        ("this coming friday", day(2026, 11, 27)),
        ("fri", day(2026, 11, 27)),
        ("on monday", day(2026, 11, 30)),
        ("monday", day(2026, 11, 30)),
        ("wednesday", day(2026, 11, 25)),
        ("this wednesday", day(2026, 11, 25)),
        ("next friday", day(2026, 12, 4)),
        ("next monday", day(2026, 11, 30)),
        ("next wednesday", day(2026, 12, 2)),
        ("next sunday", day(2026, 12, 6)),
        ("friday next week", day(2026, 12, 4)),
        ("next week friday", day(2026, 12, 4)),
        ("next week on friday", day(2026, 12, 4)),
        ("in a week's time", day(2026, 12, 2)),
        ("in 2 weeks' time", day(2026, 12, 9)),
        ("5th", day(2026, 12, 5)),
        ("2026-12-01T10:00", day(2026, 12, 1)),
        ("next Friday the 4th", day(2026, 12, 4)),
        ("friday the 28th", None),
        ("last friday", day(2026, 11, 20)),
        ("last wednesday", day(2026, 11, 18)),
        ("last tuesday", day(2026, 11, 24)),
        ("wensday", day(2026, 11, 25)),
        ("wednsday", day(2026, 11, 25)),
        ("thrusday", day(2026, 11, 26)),
        ("tuseday", day(2026, 12, 1)),
        ("thurs", day(2026, 11, 26)),
        ("on sat", day(2026, 11, 28)),
        ("this sun", day(2026, 11, 29)),
        ("saturdays", day(2026, 11, 28)),
        ("sunday", day(2026, 11, 29)),
        ("tomorrow, thursday", day(2026, 11, 26)),
        ("end of the month", day(2026, 11, 30)),
        ("end of month", day(2026, 11, 30)),
        ("by the end of this month", day(2026, 11, 30)),
        ("end of next month", day(2026, 12, 31)),
        ("start of next month", day(2026, 12, 1)),
        ("beginning of next month", day(2026, 12, 1)),
        ("end of the year", day(2026, 12, 31)),
        ("the 1st of next month", day(2026, 12, 1)),
        ("the 15th of next month", day(2026, 12, 15)),
        ("the 15th", day(2026, 11, 15)),
        ("on the 28th", day(2026, 11, 28)),
        ("the 1st", day(2026, 12, 1)),
        ("the twentieth", day(2026, 11, 20)),
        ("28th", day(2026, 11, 28)),
    ];
    check("date", cases, |t| extract::date(t, today(), US));
}

#[test]
fn date_reads_calendar_dates() {
    let cases: &[(&str, Option<NaiveDate>)] = &[
        ("the 3rd of March", day(2027, 3, 3)),
        ("3rd of march", day(2027, 3, 3)),
        ("third of March", day(2027, 3, 3)),
        ("March 3rd", day(2027, 3, 3)),
        ("march 3", day(2027, 3, 3)),
        ("March the third", day(2027, 3, 3)),
        ("3 March 2027", day(2027, 3, 3)),
        ("3 March 2026", day(2026, 3, 3)),
        ("March 3, 2027", day(2027, 3, 3)),
        ("Mar 3 2027", day(2027, 3, 3)),
        ("3 mar", day(2027, 3, 3)),
        ("marhc 3", day(2027, 3, 3)),
        ("febuary 14", day(2027, 2, 14)),
        ("feburary 14th", day(2027, 2, 14)),
        ("14 feb", day(2027, 2, 14)),
        ("janurary 5", day(2027, 1, 5)),
        ("Sept 9th", day(2026, 9, 9)),
        ("setpember 9", day(2026, 9, 9)),
        ("decmber 25", day(2026, 12, 25)),
        ("December 25th", day(2026, 12, 25)),
        ("25 dec", day(2026, 12, 25)),
        ("Christmas day, 25th December", day(2026, 12, 25)),
        ("twenty-first of June", day(2026, 6, 21)),
        ("Nov 20", day(2026, 11, 20)),
        ("20th november", day(2026, 11, 20)),
        ("on may 5th", day(2027, 5, 5)),
        ("June 10", day(2026, 6, 10)),
        ("Friday, March 5th", day(2027, 3, 5)),
        ("I'd like it on the 3rd of March please", day(2027, 3, 3)),
        ("2026-03-04", day(2026, 3, 4)),
        ("2026/03/04", day(2026, 3, 4)),
        ("2027-1-9", day(2027, 1, 9)),
        ("03/04/2026", day(2026, 3, 4)),
        ("3/4/2026", day(2026, 3, 4)),
        ("3/4/26", day(2026, 3, 4)),
        ("5/6/85", day(1985, 5, 6)),
        ("12/25", day(2026, 12, 25)),
        ("3/4", day(2027, 3, 4)),
        ("25/12/2026", day(2026, 12, 25)),
        ("12/25/2026", day(2026, 12, 25)),
        ("February 29 2028", day(2028, 2, 29)),
        ("29/02/2028", day(2028, 2, 29)),
        ("march 3 or march 3", day(2027, 3, 3)),
        // Must not match.
        ("February 30", None),
        ("feb 29 2027", None),
        ("02/30/2026", None),
        ("2026-13-01", None),
        ("2026-02-30", None),
        ("13/13/2026", None),
        ("32 March", None),
        ("whenever", None),
        ("soon", None),
        ("asap", None),
        ("next week", None),
        ("next month", None),
        ("no idea", None),
        ("", None),
        ("march", None),
        ("in march", None),
        ("March 2027", None),
        ("3", None),
        ("15", None),
        ("2027", None),
        ("1.5", None),
        ("3-4", None),
        ("12:30", None),
        ("I'd match 3", None),
        ("may I ask something", None),
        ("I sat on it", None),
        ("the second one", None),
        ("monday or tuesday", None),
        ("march 3 or march 5", None),
        ("3 days", None),
        ("a week", None),
        ("🎉🎉", None),
    ];
    check("date", cases, |t| extract::date(t, today(), US));
    let day_first: &[(&str, Option<NaiveDate>)] = &[
        ("03/04/2026", day(2026, 4, 3)),
        ("3/4", day(2027, 4, 3)),
        ("3.4.2026", day(2026, 4, 3)),
        ("3-4-2026", day(2026, 4, 3)),
        ("25/12", day(2026, 12, 25)),
        ("12/25/2026", day(2026, 12, 25)),
        ("31/04/2026", None),
        ("2026-03-04", day(2026, 3, 4)),
    ];
    check("date(gb)", day_first, |t| extract::date(t, today(), GB));
}

fn at(h: u32, m: u32) -> Option<NaiveTime> {
    Some(NaiveTime::from_hms_opt(h, m, 0).unwrap())
}

#[test]
fn time_reads_clock_and_spoken_times() {
    let cases: &[(&str, Option<NaiveTime>)] = &[
        ("15:30", at(15, 30)),
        ("at 15:30 please", at(15, 30)),
        ("3:30 pm", at(15, 30)),
        ("3:30pm", at(15, 30)),
        ("3:30 PM", at(15, 30)),
        ("3pm", at(15, 0)),
        ("3 pm", at(15, 0)),
        ("3 p.m.", at(15, 0)),
        ("3p.m.", at(15, 0)),
        ("7pm", at(19, 0)),
        ("11am", at(11, 0)),
        ("11 a.m.", at(11, 0)),
        ("12am", at(0, 0)),
        ("12pm", at(12, 0)),
        ("12:30am", at(0, 30)),
        ("noon", at(12, 0)),
        ("at noon", at(12, 0)),
        ("midday", at(12, 0)),
        ("12 noon", at(12, 0)),
        ("midnight", at(0, 0)),
        ("half past three", at(15, 30)),
        ("half past 3", at(15, 30)),
        ("half past nine", at(9, 30)),
        ("half three", at(15, 30)),
        ("quarter to five", at(16, 45)),
        ("a quarter to 5", at(16, 45)),
        ("quarter past five", at(17, 15)),
        ("a quarter past 9", at(9, 15)),
        ("ten past four", at(16, 10)),
        ("20 to 6", at(17, 40)),
        ("twenty five past two", at(14, 25)),
        ("25 minutes past 2", at(14, 25)),
        ("quarter to one", at(12, 45)),
        ("quarter past midnight", at(0, 15)),
        ("half past noon", at(12, 30)),
        ("half past three in the morning", at(3, 30)),
        ("at 9", at(9, 0)),
        ("9", at(9, 0)),
        ("9 please", at(9, 0)),
        ("9 in the morning", at(9, 0)),
        ("9 in the evening", at(21, 0)),
        ("8 tonight", at(20, 0)),
        ("at 5 in the afternoon", at(17, 0)),
        ("tomorrow morning at 10", at(10, 0)),
        ("at 11 at night", at(23, 0)),
        ("2 at night", at(2, 0)),
        ("12 at night", at(0, 0)),
        ("at 3", at(15, 0)),
        ("around 6", at(18, 0)),
        ("6", at(18, 0)),
        ("at 7", at(7, 0)),
        ("around seven", at(7, 0)),
        ("seven", at(7, 0)),
        ("seven thirty", at(7, 30)),
        ("seven thirty pm", at(19, 30)),
        ("seven oh five", at(7, 5)),
        ("nine-thirty", at(9, 30)),
        ("9 30", at(9, 30)),
        ("at 9 30", at(9, 30)),
        ("1030am", at(10, 30)),
        ("1030 pm", at(22, 30)),
        ("1530 hrs", at(15, 30)),
        ("1530", None),
        ("2599 hrs", None),
        ("nine forty-five", at(9, 45)),
        ("twelve fifteen", at(12, 15)),
        ("three o'clock", at(15, 0)),
        ("3 o'clock", at(15, 0)),
        ("10 oclock", at(10, 0)),
        ("10 o clock in the morning", at(10, 0)),
        ("09:00", at(9, 0)),
        ("03:00", at(3, 0)),
        ("0:30", at(0, 30)),
        ("1:15", at(13, 15)),
        ("12:15", at(12, 15)),
        ("23:59", at(23, 59)),
        ("１５：３０", at(15, 30)),
        ("24:00", at(0, 0)),
        ("15h30", at(15, 30)),
        ("15h", at(15, 0)),
        ("9.30", at(9, 30)),
        ("at 9.30", at(9, 30)),
        ("3.30pm", at(15, 30)),
        ("3 30 pm", at(15, 30)),
        ("15:30:45", Some(NaiveTime::from_hms_opt(15, 30, 45).unwrap())),
        ("3pm or 3pm", at(15, 0)),
        ("Can you call me at 4pm?", at(16, 0)),
        // Must not match.
        ("soon", None),
        ("later", None),
        ("asap", None),
        ("now", None),
        ("whenever", None),
        ("", None),
        ("no idea", None),
        ("25:00", None),
        ("12:60", None),
        ("13pm", None),
        ("0am", None),
        ("3 days", None),
        ("in 5 minutes", None),
        ("5 people", None),
        ("between 3 and 5", None),
        ("from 9 to 5", None),
        ("3pm or 4pm", None),
        ("2026-03-04", None),
        ("3/4", None),
        ("1,5", None),
        ("a quarter", None),
        ("half", None),
        ("the second one", None),
        ("morning", None),
        ("call me", None),
        ("99", None),
        ("⏰", None),
    ];
    check("time", cases, extract::time);
}

#[test]
fn yes_no_reads_agreement_and_refusal() {
    let yes = [
        "yes",
        "Yes.",
        "YES!",
        "yesss",
        "yep",
        "yup",
        "yeah",
        "yea",
        "ya",
        "y",
        "Y",
        "aye",
        "sure",
        "sure thing",
        "Sure!",
        "absolutely",
        "definitely",
        "certainly",
        "of course",
        "ofc",
        "ok",
        "OK",
        "okay",
        "k",
        "alright",
        "all right",
        "fine",
        "correct",
        "that's right",
        "that’s right",
        "thats correct",
        "exactly",
        "indeed",
        "affirmative",
        "yes please",
        "please do",
        "go ahead",
        "I do",
        "I think so",
        "i guess so",
        "why not",
        "sounds good",
        "no problem",
        "yes, no problem",
        "yes of course",
        "yes I want to cancel my order",
        "👍",
        "ok 👍",
        "oui",
        "sí",
        "ja",
        "yes yes",
        "sure, that's fine",
        "right",
        "perfect",
        "true",
        "you bet",
        "for sure",
        "yeah sure",
        "I'm sure",
        "Yes, thank you!",
        "I don't mind",
        "don't mind at all",
    ];
    let no = [
        "no",
        "No.",
        "NO!",
        "noooo",
        "nope",
        "nah",
        "n",
        "N",
        "not really",
        "no thanks",
        "no thank you",
        "negative",
        "I don't think so",
        "i dont think so",
        "I do not think so",
        "never",
        "no way",
        "not at all",
        "not now",
        "absolutely not",
        "definitely not",
        "of course not",
        "certainly not",
        "incorrect",
        "that's wrong",
        "wrong",
        "not correct",
        "not right",
        "isn't right",
        "not ok",
        "nein",
        "non",
        "👎",
        "no, that's fine",
        "ok, no thanks",
        "I don't",
        "no no no",
        "I'd rather not",
        "not interested",
        "no I don't want that",
        "nope, not today",
        "false",
        "I think not",
        "not good",
    ];
    let neither = [
        "maybe",
        "not sure",
        "I'm not sure",
        "perhaps",
        "possibly",
        "I don't know",
        "dunno",
        "idk",
        "no idea",
        "yes no",
        "yes and no",
        "no, yes",
        "yes or no",
        "maybe yes",
        "yes but I'm not sure",
        "it depends",
        "hmm",
        "kind of",
        "sort of",
        "what?",
        "who are you",
        "cancel my order",
        "",
        "   ",
        "🤔",
        "42",
        "yesterday",
        "nothing",
        "none",
        "notebook",
        "know",
        "yellow",
        "yeast",
        "nobody",
        "noon",
    ];
    let mut cases: Vec<(&str, Option<bool>)> = Vec::new();
    cases.extend(yes.iter().map(|t| (*t, Some(true))));
    cases.extend(no.iter().map(|t| (*t, Some(false))));
    cases.extend(neither.iter().map(|t| (*t, None)));
    check("yes_no", &cases, extract::yes_no);
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

#[test]
fn option_named_reads_names_and_nothing_looser() {
    let accounts: &[(&str, &str, &[&str])] = &[
        ("Savings account", "savings", &["saver"]),
        ("Checking account", "checking", &["current account"]),
    ];
    let named = |text: &str| choose_with(extract::option_named, text, accounts);
    let cases = [
        ("what's in my savings account", Some(0)),
        ("move it from my current account", Some(1)),
        ("checking", Some(1)),
        ("transfer from savings to checking", None),
        ("not my savings account", None),
        ("the second one", None),
        ("2", None),
        ("my savngs account", None),
        ("what is my balance", None),
    ];
    check("option_named", &cases, named);
    // The full reader takes what option_named refuses.
    assert_eq!(choose("the second one", accounts), Some(1));
}

#[test]
fn option_reads_names_positions_and_misspellings() {
    let accounts: &[(&str, &str, &[&str])] = &[
        ("Savings account", "savings", &["saver"]),
        ("Checking account", "checking", &["current account", "chequing"]),
        ("Credit card", "credit_card", &[]),
    ];
    let cases: &[(&str, Option<usize>)] = &[
        ("Savings account", Some(0)),
        ("savings account", Some(0)),
        ("SAVINGS ACCOUNT!", Some(0)),
        ("savings", Some(0)),
        ("the savings one please", Some(0)),
        ("I'd like a savings account", Some(0)),
        ("saver", Some(0)),
        ("checking", Some(1)),
        ("current account", Some(1)),
        ("my current account", Some(1)),
        ("chequing", Some(1)),
        ("credit_card", Some(2)),
        ("credit card", Some(2)),
        ("the credit one", Some(2)),
        ("card", Some(2)),
        ("the first one", Some(0)),
        ("first", Some(0)),
        ("the 1st", Some(0)),
        ("the second one", Some(1)),
        ("second", Some(1)),
        ("2nd please", Some(1)),
        ("the third", Some(2)),
        ("last one", Some(2)),
        ("the last", Some(2)),
        ("second to last", Some(1)),
        ("the top one", Some(0)),
        ("2", Some(1)),
        ("#2", Some(1)),
        ("option 2", Some(1)),
        ("option two", Some(1)),
        ("number 3", Some(2)),
        ("no. 3", Some(2)),
        ("option b", Some(1)),
        ("3 please", Some(2)),
        ("two", Some(1)),
        ("savngs", Some(0)),
        ("savigns", Some(0)),
        ("the savngs one", Some(0)),
        ("chekcing", Some(1)),
        ("cheking acount", Some(1)),
        ("credt card", Some(2)),
        ("check", Some(1)),
        ("cred", Some(2)),
        ("not savings, checking", Some(1)),
        ("I don't want savings, checking please", Some(1)),
        ("the middle one", Some(1)),
        ("I'd go with the second", Some(1)),
        ("yes, the savings one", Some(0)),
        ("Savings Account.", Some(0)),
        ("not savings", None),
        ("savings, no wait, checking", None),
        ("sav acc", None),
        ("both", None),
        ("all of them", None),
        ("other", None),
        // Must not match.
        ("account", None),
        ("an account", None),
        ("savings or checking", None),
        ("the first or the second", None),
        ("the fourth one", None),
        ("4", None),
        ("0", None),
        ("#4", None),
        ("none of them", None),
        ("neither", None),
        ("", None),
        ("?!", None),
        ("mortgage", None),
        ("sav", None),
        ("I don't know", None),
        ("🙂", None),
    ];
    check("option", cases, |t| choose(t, accounts));

    let durations: &[(&str, &str, &[&str])] = &[
        ("1 month", "1m", &[]),
        ("3 months", "3m", &[]),
        ("12 months", "12m", &["a year", "one year"]),
    ];
    let duration_cases: &[(&str, Option<usize>)] = &[
        ("3", Some(1)),
        ("3 months", Some(1)),
        ("12", Some(2)),
        ("a year", Some(2)),
        ("one year please", Some(2)),
        ("the first one", Some(0)),
        ("1", Some(0)),
        ("2", Some(1)),
        ("the second one", Some(1)),
        ("months", None),
    ];
    check("option(durations)", duration_cases, |t| choose(t, durations));

    let plans: &[(&str, &str, &[&str])] = &[("Savings", "s", &[]), ("Savings Plus", "sp", &[]), ("Basic", "b", &[])];
    let plan_cases: &[(&str, Option<usize>)] = &[
        ("savings", Some(0)),
        ("savings plus", Some(1)),
        ("I'll take savings plus please", Some(1)),
        ("plus", Some(1)),
        ("basic", Some(2)),
        ("basc", Some(2)),
        ("s", Some(0)),
        ("last", Some(2)),
    ];
    check("option(plans)", plan_cases, |t| choose(t, plans));

    let classes: &[(&str, &str, &[&str])] = &[
        ("Economy", "economy", &[]),
        ("Business", "business", &[]),
        ("First", "first", &[]),
    ];
    check(
        "option(classes)",
        &[
            ("first", Some(2)),
            ("economy", Some(0)),
            ("buisness", Some(1)),
            ("the second one", Some(1)),
        ],
        |t| choose(t, classes),
    );
    let yes_no: &[(&str, &str, &[&str])] = &[("Yes", "yes", &[]), ("No", "no", &[])];
    let yes_no_cases: &[(&str, Option<usize>)] = &[
        ("yes", Some(0)),
        ("no", Some(1)),
        ("yes please", Some(0)),
        ("yeah", Some(0)),
        ("y", Some(0)),
        ("nope", Some(1)),
        ("no thanks", Some(1)),
        ("I don't think so", Some(1)),
        ("the first one", Some(0)),
        ("maybe", None),
    ];
    check("option(yes_no)", yes_no_cases, |t| choose(t, yes_no));

    let services: &[(&str, &str, &[&str])] = &[
        ("Internet", "internet", &["wifi", "broadband"]),
        ("Mobile", "mobile", &["cell phone", "phone"]),
        ("TV", "tv", &["television"]),
        ("Landline", "landline", &["home phone"]),
    ];
    let service_cases: &[(&str, Option<usize>)] = &[
        ("my wifi is down", Some(0)),
        ("the phone", Some(1)),
        ("my home phone", Some(3)),
        ("cell phone", Some(1)),
        ("home", Some(3)),
        ("intenet", Some(0)),
        ("televison", Some(2)),
        ("tv", Some(2)),
        ("landlien", Some(3)),
        ("4", Some(3)),
        ("the last one", Some(3)),
        ("the middle one", None),
        ("tv and internet", None),
        ("telly", None),
    ];
    check("option(services)", service_cases, |t| choose(t, services));

    let slots: &[(&str, &str, &[&str])] = &[
        ("Morning (8-12)", "am", &[]),
        ("Afternoon (12-5)", "pm", &[]),
        ("Evening (5-8)", "eve", &[]),
    ];
    let slot_cases: &[(&str, Option<usize>)] = &[
        ("mornings", Some(0)),
        ("in the afternoon", Some(1)),
        ("evening please", Some(2)),
        ("8-12", Some(0)),
        ("the 2nd", Some(1)),
        ("afternoon or evening", None),
        ("after 5", None),
    ];
    check("option(slots)", slot_cases, |t| choose(t, slots));
    check(
        "option(empty)",
        &[("anything", None), ("1", None), ("first", None)],
        |t| choose(t, &[]),
    );
}

#[test]
fn email_finds_an_address() {
    let s = |e: &str| Some(e.to_owned());
    let cases: &[(&str, Option<String>)] = &[
        ("me@example.com", s("me@example.com")),
        ("my email is John.Smith@Example.COM.", s("John.Smith@example.com")),
        (
            "it's <jane+billing@mail.example.co.uk>",
            s("jane+billing@mail.example.co.uk"),
        ),
        ("mailto:ops@baton.dev", s("ops@baton.dev")),
        (
            "a_b-c@sub-domain.example.org, thanks",
            s("a_b-c@sub-domain.example.org"),
        ),
        ("(x@y.io)", s("x@y.io")),
        ("\"q@w.de\"", s("q@w.de")),
        ("me@example.com or me@example.com", s("me@example.com")),
        ("user@bücher.de", s("user@bücher.de")),
        // Must not match.
        ("john at example dot com", s("john@example.com")),
        (
            "my email is jane.doe at mail dot example dot co dot uk thanks",
            s("jane.doe@mail.example.co.uk"),
        ),
        ("jane [at] mail [dot] com", s("jane@mail.com")),
        ("me at home", None),
        ("see you at 5 dot 30", None),
        ("at dot", None),
        ("me@home", None),
        ("@example.com", None),
        ("me@", None),
        ("me@.com", None),
        ("me@example.c", None),
        ("me@example.123", None),
        ("me..you@example.com", None),
        ("a@b@c", None),
        ("one@a.com and two@b.com", None),
        ("", None),
        ("@@@@", None),
        ("no email", None),
    ];
    check("email", cases, extract::email);
}

#[test]
fn phone_finds_a_number() {
    let s = |e: &str| Some(e.to_owned());
    let cases: &[(&str, Option<String>)] = &[
        ("+1 (555) 123-4567", s("+15551234567")),
        ("+15551234567", s("+15551234567")),
        ("(555) 123-4567", s("5551234567")),
        ("555-123-4567", s("5551234567")),
        ("555.123.4567", s("5551234567")),
        ("555 123 4567", s("5551234567")),
        ("call me on 020 7946 0958 please", s("02079460958")),
        ("+44 20 7946 0958", s("+442079460958")),
        ("+44 (0)20 7946 0958", s("+442079460958")),
        ("+49 30 1234567", s("+49301234567")),
        ("0049 30 1234567", s("0049301234567")),
        ("06 12 34 56 78", s("0612345678")),
        ("555-1234", s("5551234")),
        ("my number: 5551234.", s("5551234")),
        ("555-123-4567 ext 89", s("5551234567")),
        ("+1 555 123 4567 or +1 555 123 4567", s("+15551234567")),
        // Must not match.
        ("12", None),
        ("123456", None),
        ("1234567890123456", None),
        ("no phone", None),
        ("", None),
        ("2026-03-04", None),
        ("03.04.2026", None),
        ("3.14159265", None),
        ("order A1234567", None),
        ("$1,250.50", None),
        ("15:30", None),
        ("555-1234 or 555-9876", None),
        ("+", None),
        ("+-+-+-", None),
        ("((((((", None),
    ];
    check("phone", cases, extract::phone);
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

mod properties {
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
}

/// Round trips: values written the way people write them read back as the same value.
mod round_trips {
    use super::{DE, GB, US};
    use baton_nlu::extract;
    use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
    use proptest::prelude::*;

    /// English words for `n` below a billion, the way people write them ("one hundred and five").
    fn words(n: u64) -> String {
        const SMALL: [&str; 20] = [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ];
        const TENS: [&str; 10] = [
            "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
        ];
        fn below_thousand(n: u64) -> String {
            let mut parts = Vec::new();
            if n >= 100 {
                parts.push(format!("{} hundred", SMALL[(n / 100) as usize]));
            }
            let rest = n % 100;
            if rest > 0 {
                if n >= 100 {
                    parts.push("and".to_owned());
                }
                parts.push(match rest {
                    0..=19 => SMALL[rest as usize].to_owned(),
                    _ if rest.is_multiple_of(10) => TENS[(rest / 10) as usize].to_owned(),
                    _ => format!("{}-{}", TENS[(rest / 10) as usize], SMALL[(rest % 10) as usize]),
                });
            }
            parts.join(" ")
        }
        if n == 0 {
            return "zero".to_owned();
        }
        let mut parts = Vec::new();
        for (scale, name) in [(1_000_000, "million"), (1_000, "thousand")] {
            if !(n / scale).is_multiple_of(1000) {
                parts.push(format!("{} {name}", below_thousand(n / scale % 1000)));
            }
        }
        if !n.is_multiple_of(1000) {
            parts.push(below_thousand(n % 1000));
        }
        parts.join(" ")
    }

    fn grouped(n: u64, separator: char) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(separator);
            }
            out.push(c);
        }
        out
    }

    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];

    fn ordinal(n: u32) -> String {
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("{n}{suffix}")
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..2100, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    proptest! {
        #[test]
        fn integers_read_back(n in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(extract::number(&n.to_string(), US), Some(n as f64));
            prop_assert_eq!(extract::number(&format!("I'd say {n}, thanks"), GB), Some(n as f64));
        }

        #[test]
        fn grouped_integers_read_back(n in 0u64..1_000_000_000_000) {
            prop_assert_eq!(extract::number(&grouped(n, ','), US), Some(n as f64));
            prop_assert_eq!(extract::number(&grouped(n, '.'), DE), Some(n as f64));
            prop_assert_eq!(extract::number(&grouped(n, ' '), DE), Some(n as f64));
        }

        #[test]
        fn decimals_read_back(cents in -10_000_000i64..10_000_000) {
            let value = cents as f64 / 100.0;
            let text = format!("{value:.2}");
            prop_assert_eq!(extract::number(&text, US), Some(value));
            prop_assert_eq!(extract::number(&text.replace('.', ","), DE), Some(value));
            let amount = extract::amount(&format!("{text} EUR"), US);
            prop_assert_eq!(amount.map(|a| (a.value, a.currency)), Some((value, Some("EUR".to_owned()))));
            prop_assert_eq!(extract::percentage(&format!("{text}%"), US), Some(value));
        }

        #[test]
        fn number_words_read_back(n in 0u64..1_000_000_000) {
            let text = words(n);
            prop_assert_eq!(extract::number(&text, US), Some(n as f64), "{}", text);
        }

        #[test]
        fn dates_read_back(date in any_date()) {
            let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
            let (y, m, d) = (date.year(), date.month(), date.day());
            let month = MONTHS[m as usize - 1];
            let written = [
                (format!("{y}-{m:02}-{d:02}"), US),
                (format!("{d} {month} {y}"), US),
                (format!("{month} {}, {y}", ordinal(d)), US),
                (format!("the {} of {} {y}", ordinal(d), &month[..3]), GB),
                (format!("{m:02}/{d:02}/{y}"), US),
                (format!("{d}/{m}/{y}"), GB),
                (format!("{d}.{m}.{y}"), DE),
                (format!("on {month} {d} {y} please"), DE),
            ];
            for (text, locale) in written {
                prop_assert_eq!(extract::date(&text, today, locale), Some(date), "{}", text);
            }
        }

        #[test]
        fn yearless_dates_are_within_half_a_year(date in any_date()) {
            let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
            let text = format!("{} {}", MONTHS[date.month0() as usize], date.day());
            if let Some(read) = extract::date(&text, today, US) {
                prop_assert_eq!((read.month(), read.day()), (date.month(), date.day()));
                prop_assert!((read - today).num_days().abs() <= 184, "{} read as {}", text, read);
            }
        }

        #[test]
        fn clock_times_read_back(hour in 0u32..24, minute in 0u32..60) {
            let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
            prop_assert_eq!(extract::time(&format!("{hour:02}:{minute:02}")), Some(time));
            let (twelve, meridiem) = match hour {
                0 => (12, "am"),
                1..=11 => (hour, "am"),
                12 => (12, "pm"),
                _ => (hour - 12, "pm"),
            };
            prop_assert_eq!(extract::time(&format!("{twelve}:{minute:02} {meridiem}")), Some(time));
            prop_assert_eq!(extract::time(&format!("at {twelve}:{minute:02}{meridiem} please")), Some(time));
            prop_assert_eq!(time.hour() * 60 + time.minute(), hour * 60 + minute);
        }

        #[test]
        fn emails_read_back(
            local in "[a-z0-9]{1,10}([._+-][a-z0-9]{1,8}){0,2}",
            domain in "[a-z0-9]{1,12}(-[a-z0-9]{1,6})?(\\.[a-z0-9]{2,8}){0,2}",
            tld in "[a-z]{2,6}",
        ) {
            let address = format!("{local}@{domain}.{tld}");
            prop_assert_eq!(extract::email(&format!("my email is {address}.")), Some(address.clone()));
            prop_assert_eq!(extract::email(&address.to_uppercase()).map(|e| e.to_lowercase()), Some(address));
        }

        #[test]
        fn phones_read_back(digits in "[1-9][0-9]{6,14}", cuts in prop::collection::vec(1usize..5, 0..5), plus in any::<bool>()) {
            // Group the digits at the given cuts; dots are left out, a lone dot reads as a decimal.
            let mut text = String::from(if plus { "+" } else { "" });
            let mut rest = digits.as_str();
            for (i, cut) in cuts.iter().enumerate() {
                if *cut >= rest.len() {
                    break;
                }
                text.push_str(&rest[..*cut]);
                text.push([' ', '-', ' ', ' '][i % 4]);
                rest = &rest[*cut..];
            }
            text.push_str(rest);
            let expected = format!("{}{digits}", if plus { "+" } else { "" });
            prop_assert_eq!(extract::phone(&format!("call me on {text} thanks")), Some(expected), "{}", text);
        }
    }

    #[test]
    fn number_words_writer_writes_what_people_write() {
        assert_eq!(words(105), "one hundred and five");
        assert_eq!(words(2_000_021), "two million twenty-one");
        assert_eq!(
            words(999_999_999),
            "nine hundred and ninety-nine million nine hundred and ninety-nine thousand nine hundred and ninety-nine"
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
