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
            Value::Money { amount, currency } => {
                let amount = format!("{amount:.2}");
                match currency.as_deref() {
                    Some("USD") => write!(f, "${amount}"),
                    Some("EUR") => write!(f, "€{amount}"),
                    Some("GBP") => write!(f, "£{amount}"),
                    Some(code) => write!(f, "{amount} {code}"),
                    None => f.write_str(&amount),
                }
            }
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

fn write_number(f: &mut fmt::Formatter<'_>, number: f64) -> fmt::Result {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        write!(f, "{}", number as i64)
    } else {
        write!(f, "{number}")
    }
}
