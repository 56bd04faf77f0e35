//! Values held by variables and produced by expressions.
//!
//! Kept small and serializable: a session's variables are stored as these values.
//! Dates and times are ISO strings on the wire (`{"date": "2026-03-03"}`) so stored sessions stay readable.

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    /// An amount of money; compares and computes like its amount.
    Money {
        amount: f64,
        currency: Option<String>,
    },
    /// A percentage as written (25 for "25%").
    Percent(f64),
    Date(NaiveDate),
    Time(NaiveTime),
    List(Vec<Value>),
}

impl Value {
    pub fn is_set(&self) -> bool {
        !matches!(self, Value::Null)
    }

    /// The number this value stands for, if any (numbers, amounts, percentages).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(number) | Value::Percent(number) => Some(*number),
            Value::Money { amount, .. } => Some(*amount),
            _ => None,
        }
    }

    /// Truthiness for conditions: null, false, 0 and "" are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(flag) => *flag,
            Value::Number(number) | Value::Percent(number) => *number != 0.0,
            Value::Money { amount, .. } => *amount != 0.0,
            Value::Text(text) => !text.is_empty(),
            Value::Date(_) | Value::Time(_) => true,
            Value::List(items) => !items.is_empty(),
        }
    }

    /// Converts a JSON value (an `initial:` in a file, a variable sent through the API).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(flag) => Value::Bool(*flag),
            serde_json::Value::Number(number) => Value::Number(number.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(text) => Value::Text(text.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(_) => Value::Text(json.to_string()),
        }
    }

    /// The plain JSON form clients see (Watson's `context.skills…variables`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(flag) => serde_json::Value::Bool(*flag),
            Value::Number(number) | Value::Percent(number) => number_json(*number),
            Value::Money { amount, .. } => number_json(*amount),
            Value::Text(text) => serde_json::Value::String(text.clone()),
            Value::Date(date) => serde_json::Value::String(date.format("%Y-%m-%d").to_string()),
            Value::Time(time) => serde_json::Value::String(time.format("%H:%M:%S").to_string()),
            Value::List(items) => serde_json::Value::Array(items.iter().map(Value::to_json).collect()),
        }
    }
}

fn number_json(number: f64) -> serde_json::Value {
    serde_json::Number::from_f64(number).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// How a value reads inside a sentence (`${amount}` → `25.50 USD`, `${when}` → `2026-03-03`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(true) => f.write_str("yes"),
            Value::Bool(false) => f.write_str("no"),
            Value::Number(number) => write_number(f, *number),
            Value::Percent(number) => {
                write_number(f, *number)?;
                f.write_str("%")
            }
            Value::Money { amount, currency } => write_money(f, "", &format!("{amount:.2}"), currency.as_deref()),
            Value::Text(text) => f.write_str(text),
            Value::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            Value::Time(time) => write!(f, "{}", time.format("%H:%M")),
            Value::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

/// How values read inside the assistant's own sentences (`${…}` in what it says), by its locale.
///
/// Variables keep their ISO form everywhere else (conditions, `text(x)`, the API's context), so
/// an author who wants `2026-12-11` in a sentence writes `${text(when)}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wording {
    /// English, month first (`en-US`, `en-CA`, `en-PH`, plain `en`): `December 11, 2026`,
    /// `2:30 PM`, `$6,000.00`.
    #[default]
    EnglishMonthFirst,
    /// English, day first (`en-GB`, `en-AU`, `en-IE`, `en-IN`, …): `11 December 2026`, `14:30`,
    /// `£6,000.00`.
    EnglishDayFirst,
    /// Any other language, whose sentences English month names would not fit: `2026-12-11`,
    /// `14:30`, `6000.00 CHF`, as [`Value`]'s `Display`.
    Neutral,
}

impl Value {
    /// This value as it reads in a sentence of an assistant with this wording.
    pub fn worded(&self, wording: Wording) -> Worded<'_> {
        Worded { value: self, wording }
    }
}

/// A [`Value`] shown with a [`Wording`] (see [`Value::worded`]).
pub struct Worded<'a> {
    value: &'a Value,
    wording: Wording,
}

impl fmt::Display for Worded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let month_first = match self.wording {
            Wording::Neutral => return self.value.fmt(f),
            Wording::EnglishMonthFirst => true,
            Wording::EnglishDayFirst => false,
        };
        match self.value {
            Value::Date(date) if month_first => write!(f, "{}", date.format("%B %-d, %Y")),
            Value::Date(date) => write!(f, "{}", date.format("%-d %B %Y")),
            Value::Time(time) if month_first => write!(f, "{}", time.format("%-I:%M %p")),
            Value::Money { amount, currency } if amount.is_finite() => {
                let digits = grouped(amount.abs());
                let sign = if *amount < 0.0 && digits != "0.00" { "-" } else { "" };
                write_money(f, sign, &digits, currency.as_deref())
            }
            Value::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", item.worded(self.wording))?;
                }
                Ok(())
            }
            other => other.fmt(f),
        }
    }
}

/// An amount written as `digits`, after `sign`, with its currency's symbol (`$`, `€`, `£`) or code.
fn write_money(f: &mut fmt::Formatter<'_>, sign: &str, digits: &str, currency: Option<&str>) -> fmt::Result {
    match currency {
        Some("USD") => write!(f, "{sign}${digits}"),
        Some("EUR") => write!(f, "{sign}€{digits}"),
        Some("GBP") => write!(f, "{sign}£{digits}"),
        Some(code) => write!(f, "{sign}{digits} {code}"),
        None => write!(f, "{sign}{digits}"),
    }
}

/// `amount` (not negative) with two decimals and a comma between thousands: `6,000.00`.
fn grouped(amount: f64) -> String {
    let plain = format!("{amount:.2}");
    let (whole, cents) = plain.split_once('.').unwrap_or((&plain, "00"));
    let mut out = String::with_capacity(plain.len() + whole.len() / 3);
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out.push('.');
    out.push_str(cents);
    out
}

fn write_number(f: &mut fmt::Formatter<'_>, number: f64) -> fmt::Result {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        write!(f, "{}", number as i64)
    } else {
        write!(f, "{number}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: f64, currency: Option<&str>) -> Value {
        Value::Money {
            amount,
            currency: currency.map(str::to_owned),
        }
    }

    #[test]
    fn english_sentences_group_thousands_and_name_the_month() {
        let us = Wording::EnglishMonthFirst;
        let gb = Wording::EnglishDayFirst;
        let cases = [
            (money(6000.0, Some("USD")), us, "$6,000.00"),
            (money(1_234_567.891, Some("GBP")), gb, "£1,234,567.89"),
            (money(999.999, Some("EUR")), us, "€1,000.00"),
            (money(-42.5, Some("USD")), us, "-$42.50"),
            (money(-0.001, Some("USD")), us, "$0.00"),
            (money(250.0, Some("CHF")), gb, "250.00 CHF"),
            (money(12.0, None), us, "12.00"),
            (money(f64::INFINITY, Some("USD")), us, "$inf"),
            (
                Value::Date(NaiveDate::from_ymd_opt(2026, 12, 11).unwrap()),
                us,
                "December 11, 2026",
            ),
            (
                Value::Date(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
                gb,
                "1 December 2026",
            ),
            (Value::Time(NaiveTime::from_hms_opt(14, 5, 0).unwrap()), us, "2:05 PM"),
            (Value::Time(NaiveTime::from_hms_opt(0, 30, 0).unwrap()), us, "12:30 AM"),
            (Value::Time(NaiveTime::from_hms_opt(14, 5, 0).unwrap()), gb, "14:05"),
            (Value::Number(2026.0), us, "2026"),
            (Value::Percent(4.5), gb, "4.5%"),
            (Value::Bool(true), us, "yes"),
            (Value::Null, us, ""),
            (
                Value::List(vec![money(1500.0, Some("USD")), Value::Text("vip".into())]),
                us,
                "$1,500.00, vip",
            ),
        ];
        for (value, wording, expected) in cases {
            assert_eq!(value.worded(wording).to_string(), expected, "{value:?} {wording:?}");
        }
    }

    #[test]
    fn other_languages_keep_the_neutral_forms() {
        let date = Value::Date(NaiveDate::from_ymd_opt(2026, 12, 11).unwrap());
        assert_eq!(date.worded(Wording::Neutral).to_string(), "2026-12-11");
        let amount = money(6000.0, Some("EUR"));
        assert_eq!(amount.worded(Wording::Neutral).to_string(), "€6000.00");
        assert_eq!(amount.worded(Wording::Neutral).to_string(), amount.to_string());
    }
}
