//! Value extraction for question response types: reads what people really write.
//!
//! Each function looks for one kind of value in a customer's answer and returns `None` when there
//! is none; none of them panics, whatever the input.

use chrono::{NaiveDate, NaiveTime};

/// How dates and numbers are read: `en-US` reads 03/04/2026 as March 4th, most other locales as 3 April.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateOrder {
    #[default]
    MonthFirst,
    DayFirst,
}

/// Reading conventions taken from the assistant's locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Locale {
    pub date_order: DateOrder,
    /// True where "1.250,50" means one thousand two hundred and fifty and a half.
    pub decimal_comma: bool,
}

impl Locale {
    /// From a BCP 47 tag such as `en-US`, `en-GB`, `de-DE`; unknown tags read as `en-US`.
    pub fn from_tag(tag: &str) -> Locale {
        let _ = tag;
        Locale::default()
    }
}

/// An amount of money; `currency` is an ISO 4217 code when the answer named one.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub value: f64,
    pub currency: Option<String>,
}

/// An option of an options question, as the extractor sees it.
#[derive(Debug, Clone, Copy)]
pub struct OptionRef<'a> {
    pub label: &'a str,
    pub value: &'a str,
    pub synonyms: &'a [String],
}

/// "twenty five", "1,250.50", "1.5k", "-3".
pub fn number(text: &str, locale: Locale) -> Option<f64> {
    let _ = (text, locale);
    None
}

/// "$25", "25 dollars", "EUR 30", "30€"; a bare number is an amount without currency.
pub fn amount(text: &str, locale: Locale) -> Option<Amount> {
    let _ = (text, locale);
    None
}

/// "15%", "15 percent", "fifteen per cent"; a bare number is read as a percentage.
pub fn percentage(text: &str, locale: Locale) -> Option<f64> {
    let _ = (text, locale);
    None
}

/// "tomorrow", "next Friday", "the 3rd of March", "03/04/2026" (by locale), "2026-03-04"; relative to `today`.
pub fn date(text: &str, today: NaiveDate, locale: Locale) -> Option<NaiveDate> {
    let _ = (text, today, locale);
    None
}

/// "half past three", "15:30", "3pm", "noon".
pub fn time(text: &str) -> Option<NaiveTime> {
    let _ = text;
    None
}

/// "yes", "yep", "sure thing" → true; "no", "nope", "not really" → false.
pub fn yes_no(text: &str) -> Option<bool> {
    let _ = text;
    None
}

/// The index of the chosen option: by label, value, synonym, position ("the second one") or a close misspelling ("savngs").
pub fn option(text: &str, options: &[OptionRef<'_>]) -> Option<usize> {
    let _ = (text, options);
    None
}

/// An email address found in the text, lower-cased domain.
pub fn email(text: &str) -> Option<String> {
    let _ = text;
    None
}

/// A phone number found in the text, normalised to digits with an optional leading `+`.
pub fn phone(text: &str) -> Option<String> {
    let _ = text;
    None
}
