//! Round trips: values written the way people write them read back as the same value.

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
    (1900i32..2100, 1u32..=12, 1u32..=31).prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
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
