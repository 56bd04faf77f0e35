//! Evaluation of expressions and rendering of `${...}` templates.
//!
//! Pure: variables come from a lookup function and the clock from an argument, so the dialog
//! runtime stays deterministic. Nothing here panics; a bad operation (dividing by zero, comparing
//! a date with a number, reading "abc" as a number) is an [`EvalError`], and a failed interpolation
//! renders as empty text.
//!
//! Semantics in short: numbers, amounts of money and percentages compare and compute by their
//! number (money keeps its currency); dates and times compare chronologically, and text written
//! as an ISO date or time is read as one when compared with a date or time; text compares as text
//! (case-sensitive). `date + n` adds days, `date - date` is a number of days. `==` works with
//! `null`; ordering comparisons with `null` are errors. `and`, `or` and `not` use truthiness.
//!
//! `now` is built in (the evaluation instant, as ISO text such as `2026-11-25T14:03:00Z`, unless
//! the lookup supplies it); `today()` is the lookup's `current_date` when that is a date, else the
//! UTC date of `now`.

use std::cmp::Ordering;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, Timelike, Utc};

use crate::expr::{BinaryOp, Expr, Part, Template, UnaryOp};
use crate::value::{Value, Wording};

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("division by zero")]
    DivisionByZero,
    #[error("cannot compare {left} with {right}")]
    Incomparable { left: &'static str, right: &'static str },
    #[error("cannot apply `{operator}` to {left} and {right}")]
    BadOperands {
        operator: &'static str,
        left: &'static str,
        right: &'static str,
    },
    #[error("`{function}` needs {expected}, found {found}")]
    BadArgument {
        function: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("cannot read {text:?} as {expected}")]
    Conversion { text: String, expected: &'static str },
    #[error("the result of `{0}` is out of range")]
    OutOfRange(&'static str),
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    #[error("`{function}` takes a different number of arguments than {found}")]
    Arity { function: String, found: usize },
}

/// How a value's kind is named in messages.
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a yes/no value",
        Value::Number(_) => "a number",
        Value::Text(_) => "text",
        Value::Money { .. } => "an amount of money",
        Value::Percent(_) => "a percentage",
        Value::Date(_) => "a date",
        Value::Time(_) => "a time",
        Value::List(_) => "a list",
    }
}

/// Evaluates `expr`. `vars` returns [`Value::Null`] for an unset or unknown variable.
pub fn eval(expr: &Expr, vars: &dyn Fn(&str) -> Value, now: DateTime<Utc>) -> Result<Value, EvalError> {
    let context = Context { vars, now };
    context.eval(expr)
}

/// Renders a template; an interpolation that fails to evaluate renders as empty text, and a
/// template that failed to parse (the loader reports it) renders as its source. Values read as
/// `wording` says (asked for only when the template interpolates something).
pub fn render(
    template: &Template,
    vars: &dyn Fn(&str) -> Value,
    now: DateTime<Utc>,
    wording: &dyn Fn() -> Wording,
) -> String {
    let Ok(parts) = template.parts() else {
        return template.source().to_owned();
    };
    let context = Context { vars, now };
    let mut out = String::new();
    let mut chosen = None;
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Interpolation { expr, .. } => {
                if let Ok(value) = context.eval(expr) {
                    let wording = *chosen.get_or_insert_with(wording);
                    // Writing to a String cannot fail.
                    let _ = write!(out, "{}", value.worded(wording));
                }
            }
        }
    }
    out
}

struct Context<'a> {
    vars: &'a dyn Fn(&str) -> Value,
    now: DateTime<Utc>,
}

impl Context<'_> {
    fn eval(&self, expr: &Expr) -> Result<Value, EvalError> {
        match expr {
            Expr::Literal(value) => Ok(value.clone()),
            Expr::Variable(name) => Ok(self.variable(name)),
            Expr::Unary(UnaryOp::Not, operand) => Ok(Value::Bool(!self.eval(operand)?.truthy())),
            Expr::Unary(UnaryOp::Negate, operand) => negate(self.eval(operand)?),
            Expr::Binary(BinaryOp::And, left, right) => {
                let truth = self.eval(left)?.truthy() && self.eval(right)?.truthy();
                Ok(Value::Bool(truth))
            }
            Expr::Binary(BinaryOp::Or, left, right) => {
                let truth = self.eval(left)?.truthy() || self.eval(right)?.truthy();
                Ok(Value::Bool(truth))
            }
            Expr::Binary(op, left, right) => binary(*op, self.eval(left)?, self.eval(right)?),
            Expr::Call(name, arguments) => {
                let values = arguments
                    .iter()
                    .map(|argument| self.eval(argument))
                    .collect::<Result<Vec<_>, _>>()?;
                self.call(name, values)
            }
        }
    }

    fn variable(&self, name: &str) -> Value {
        let value = (self.vars)(name);
        if name == "now" && !value.is_set() {
            return Value::Text(self.now.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        value
    }

    fn today(&self) -> NaiveDate {
        match (self.vars)("current_date") {
            Value::Date(date) => date,
            Value::Text(text) => parse_date(&text).unwrap_or_else(|| self.now.date_naive()),
            _ => self.now.date_naive(),
        }
    }

    fn call(&self, name: &str, arguments: Vec<Value>) -> Result<Value, EvalError> {
        let mut arguments = arguments.into_iter();
        let mut next = || arguments.next().unwrap_or(Value::Null);
        let value = match name {
            "is_set" => Value::Bool(next().is_set()),
            "length" => match next() {
                Value::Null => Value::Number(0.0),
                Value::Text(text) => Value::Number(text.chars().count() as f64),
                Value::List(items) => Value::Number(items.len() as f64),
                other => return Err(bad_argument("length", "text or a list", &other)),
            },
            "lower" => Value::Text(as_text(next()).to_lowercase()),
            "upper" => Value::Text(as_text(next()).to_uppercase()),
            "trim" => Value::Text(as_text(next()).trim().to_owned()),
            "contains" => {
                let (haystack, needle) = (next(), next());
                match haystack {
                    Value::List(items) => Value::Bool(items.iter().any(|item| equal(item, &needle))),
                    Value::Null => Value::Bool(false),
                    other => Value::Bool(as_text(other).contains(&as_text(needle))),
                }
            }
            "starts_with" => Value::Bool(as_text(next()).starts_with(&as_text(next()))),
            "ends_with" => Value::Bool(as_text(next()).ends_with(&as_text(next()))),
            "round" => {
                let value = next();
                let digits = match next() {
                    Value::Null => 0.0,
                    other => number_of("round", &other)?,
                };
                let scale = 10f64.powi(digits.clamp(-15.0, 15.0) as i32);
                map_number("round", value, |number| (number * scale).round() / scale)?
            }
            "floor" => map_number("floor", next(), f64::floor)?,
            "ceil" => map_number("ceil", next(), f64::ceil)?,
            "abs" => map_number("abs", next(), f64::abs)?,
            "min" | "max" => {
                let (left, right) = (next(), next());
                let ordering = compare(&left, &right)?;
                let left_wins = if name == "min" {
                    ordering != Ordering::Greater
                } else {
                    ordering != Ordering::Less
                };
                if left_wins { left } else { right }
            }
            "number" => match next() {
                Value::Text(text) => Value::Number(read_number(&text).ok_or(EvalError::Conversion {
                    text,
                    expected: "a number",
                })?),
                Value::Bool(flag) => Value::Number(if flag { 1.0 } else { 0.0 }),
                Value::Null => Value::Null,
                other => Value::Number(number_of("number", &other)?),
            },
            "text" => match next() {
                Value::Null => Value::Text(String::new()),
                other => Value::Text(other.to_string()),
            },
            "date" => Value::Date(date_of("date", next())?),
            "add_days" => {
                let date = date_of("add_days", next())?;
                let days = whole_number("add_days", &next())?;
                Value::Date(
                    date.checked_add_signed(Duration::days(days))
                        .ok_or(EvalError::OutOfRange("add_days"))?,
                )
            }
            "add_months" => {
                let date = date_of("add_months", next())?;
                let months = whole_number("add_months", &next())?;
                let count =
                    Months::new(u32::try_from(months.unsigned_abs()).map_err(|_| EvalError::OutOfRange("add_months"))?);
                let moved = if months >= 0 {
                    date.checked_add_months(count)
                } else {
                    date.checked_sub_months(count)
                };
                Value::Date(moved.ok_or(EvalError::OutOfRange("add_months"))?)
            }
            "days_between" => {
                let from = date_of("days_between", next())?;
                let to = date_of("days_between", next())?;
                Value::Number((to - from).num_days() as f64)
            }
            "weekday" => Value::Text(weekday_name(date_of("weekday", next())?).to_owned()),
            "year" => Value::Number(f64::from(date_of("year", next())?.year())),
            "month" => Value::Number(f64::from(date_of("month", next())?.month())),
            "day" => Value::Number(f64::from(date_of("day", next())?.day())),
            "hour" => Value::Number(f64::from(time_of("hour", next())?.hour())),
            "minute" => Value::Number(f64::from(time_of("minute", next())?.minute())),
            "today" => Value::Date(self.today()),
            other => return Err(EvalError::UnknownFunction(other.to_owned())),
        };
        Ok(value)
    }
}

fn bad_argument(function: &'static str, expected: &'static str, found: &Value) -> EvalError {
    EvalError::BadArgument {
        function,
        expected,
        found: kind_name(found),
    }
}

fn as_text(value: Value) -> String {
    match value {
        Value::Text(text) => text,
        other => other.to_string(),
    }
}

/// Reads text such as `42`, `-3.5`, `1,200.50` as a number.
fn read_number(text: &str) -> Option<f64> {
    let cleaned: String = text.trim().chars().filter(|c| *c != ',' && *c != '_').collect();
    cleaned.parse::<f64>().ok().filter(|number| number.is_finite())
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|moment| moment.date_naive())
    })
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    let text = text.trim();
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|moment| moment.time()))
}

fn date_of(function: &'static str, value: Value) -> Result<NaiveDate, EvalError> {
    match value {
        Value::Date(date) => Ok(date),
        Value::Text(text) => parse_date(&text).ok_or(EvalError::Conversion {
            text,
            expected: "a date (YYYY-MM-DD)",
        }),
        other => Err(bad_argument(function, "a date", &other)),
    }
}

fn time_of(function: &'static str, value: Value) -> Result<NaiveTime, EvalError> {
    match value {
        Value::Time(time) => Ok(time),
        Value::Text(text) => parse_time(&text).ok_or(EvalError::Conversion {
            text,
            expected: "a time (HH:MM)",
        }),
        other => Err(bad_argument(function, "a time", &other)),
    }
}

fn number_of(function: &'static str, value: &Value) -> Result<f64, EvalError> {
    value
        .as_number()
        .ok_or_else(|| bad_argument(function, "a number", value))
}

fn whole_number(function: &'static str, value: &Value) -> Result<i64, EvalError> {
    let number = number_of(function, value)?;
    // A million days or months is far beyond any calendar chrono can represent anyway.
    if !number.is_finite() || number.abs() > 1e6 {
        return Err(EvalError::OutOfRange(function));
    }
    Ok(number.trunc() as i64)
}

/// Applies `f` to the number of a number, amount or percentage, keeping its kind.
fn map_number(function: &'static str, value: Value, f: impl Fn(f64) -> f64) -> Result<Value, EvalError> {
    let result = match value {
        Value::Number(number) => Value::Number(f(number)),
        Value::Percent(number) => Value::Percent(f(number)),
        Value::Money { amount, currency } => Value::Money {
            amount: f(amount),
            currency,
        },
        other => return Err(bad_argument(function, "a number", &other)),
    };
    finite(function, result)
}

fn finite(operation: &'static str, value: Value) -> Result<Value, EvalError> {
    match value.as_number() {
        Some(number) if !number.is_finite() => Err(EvalError::OutOfRange(operation)),
        _ => Ok(value),
    }
}

fn weekday_name(date: NaiveDate) -> &'static str {
    match date.weekday() {
        chrono::Weekday::Mon => "Monday",
        chrono::Weekday::Tue => "Tuesday",
        chrono::Weekday::Wed => "Wednesday",
        chrono::Weekday::Thu => "Thursday",
        chrono::Weekday::Fri => "Friday",
        chrono::Weekday::Sat => "Saturday",
        chrono::Weekday::Sun => "Sunday",
    }
}

fn negate(value: Value) -> Result<Value, EvalError> {
    match value {
        Value::Number(number) => Ok(Value::Number(-number)),
        Value::Percent(number) => Ok(Value::Percent(-number)),
        Value::Money { amount, currency } => Ok(Value::Money {
            amount: -amount,
            currency,
        }),
        other => Err(EvalError::BadOperands {
            operator: "-",
            left: "nothing",
            right: kind_name(&other),
        }),
    }
}

fn binary(op: BinaryOp, left: Value, right: Value) -> Result<Value, EvalError> {
    match op {
        BinaryOp::Eq => Ok(Value::Bool(equal(&left, &right))),
        BinaryOp::Ne => Ok(Value::Bool(!equal(&left, &right))),
        BinaryOp::Lt => Ok(Value::Bool(compare(&left, &right)? == Ordering::Less)),
        BinaryOp::Le => Ok(Value::Bool(compare(&left, &right)? != Ordering::Greater)),
        BinaryOp::Gt => Ok(Value::Bool(compare(&left, &right)? == Ordering::Greater)),
        BinaryOp::Ge => Ok(Value::Bool(compare(&left, &right)? != Ordering::Less)),
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => arithmetic(op, left, right),
        // `and` and `or` short-circuit in `Context::eval`; kept total here.
        BinaryOp::And => Ok(Value::Bool(left.truthy() && right.truthy())),
        BinaryOp::Or => Ok(Value::Bool(left.truthy() || right.truthy())),
    }
}

/// `==`: null equals only null; numeric kinds by number; dates and times chronologically
/// (ISO text is read as a date or time); a number and text that reads as that number are equal;
/// otherwise values of different kinds are unequal.
pub fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::List(left), Value::List(right)) => {
            left.len() == right.len() && left.iter().zip(right).all(|(left, right)| equal(left, right))
        }
        (Value::Text(left), Value::Text(right)) => left == right,
        (Value::Bool(left), Value::Bool(right)) => left == right,
        _ => compare(left, right).is_ok_and(|ordering| ordering == Ordering::Equal),
    }
}

/// Ordering for `<`, `<=`, `>`, `>=`, `min` and `max`.
pub fn compare(left: &Value, right: &Value) -> Result<Ordering, EvalError> {
    let incomparable = || EvalError::Incomparable {
        left: kind_name(left),
        right: kind_name(right),
    };
    let ordering = match (left, right) {
        (Value::Text(left), Value::Text(right)) => Some(left.cmp(right)),
        (Value::Bool(left), Value::Bool(right)) => Some(left.cmp(right)),
        (Value::Date(left), Value::Date(right)) => Some(left.cmp(right)),
        (Value::Date(left), Value::Text(right)) => parse_date(right).map(|right| left.cmp(&right)),
        (Value::Text(left), Value::Date(right)) => parse_date(left).map(|left| left.cmp(right)),
        (Value::Time(left), Value::Time(right)) => Some(left.cmp(right)),
        (Value::Time(left), Value::Text(right)) => parse_time(right).map(|right| left.cmp(&right)),
        (Value::Text(left), Value::Time(right)) => parse_time(left).map(|left| left.cmp(right)),
        (Value::Text(text), number) if number.as_number().is_some() => read_number(text)
            .zip(number.as_number())
            .and_then(|(left, right)| left.partial_cmp(&right)),
        (number, Value::Text(text)) if number.as_number().is_some() => number
            .as_number()
            .zip(read_number(text))
            .and_then(|(left, right)| left.partial_cmp(&right)),
        _ => match (left.as_number(), right.as_number()) {
            (Some(left), Some(right)) => left.partial_cmp(&right),
            _ => None,
        },
    };
    ordering.ok_or_else(incomparable)
}

fn arithmetic(op: BinaryOp, left: Value, right: Value) -> Result<Value, EvalError> {
    let bad = |left: &Value, right: &Value| EvalError::BadOperands {
        operator: op.symbol(),
        left: kind_name(left),
        right: kind_name(right),
    };
    match (op, &left, &right) {
        (BinaryOp::Add, Value::Text(_), _) | (BinaryOp::Add, _, Value::Text(_)) => {
            return Ok(Value::Text(format!("{left}{right}")));
        }
        (BinaryOp::Add, Value::List(items), Value::List(more)) => {
            return Ok(Value::List(items.iter().chain(more).cloned().collect()));
        }
        (BinaryOp::Add, Value::Date(date), other) | (BinaryOp::Add, other, Value::Date(date))
            if other.as_number().is_some() =>
        {
            let days = whole_number("+", other)?;
            return date
                .checked_add_signed(Duration::days(days))
                .map(Value::Date)
                .ok_or(EvalError::OutOfRange("+"));
        }
        (BinaryOp::Sub, Value::Date(date), other) if other.as_number().is_some() => {
            let days = whole_number("-", other)?;
            return date
                .checked_sub_signed(Duration::days(days))
                .map(Value::Date)
                .ok_or(EvalError::OutOfRange("-"));
        }
        (BinaryOp::Sub, Value::Date(later), Value::Date(earlier)) => {
            return Ok(Value::Number((*later - *earlier).num_days() as f64));
        }
        _ => {}
    }
    let (Some(a), Some(b)) = (left.as_number(), right.as_number()) else {
        return Err(bad(&left, &right));
    };
    let number = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div | BinaryOp::Rem if b == 0.0 => return Err(EvalError::DivisionByZero),
        BinaryOp::Div => a / b,
        BinaryOp::Rem => a % b,
        _ => return Err(bad(&left, &right)),
    };
    // The result keeps the richest kind: money over percentage over plain number,
    // except that money divided by money is a plain ratio.
    let result = match (&left, &right) {
        (Value::Money { .. }, Value::Money { .. }) if op == BinaryOp::Div => Value::Number(number),
        (Value::Money { currency, .. }, _) | (_, Value::Money { currency, .. }) => Value::Money {
            amount: number,
            currency: currency.clone(),
        },
        (Value::Percent(_), _) | (_, Value::Percent(_)) => Value::Percent(number),
        _ => Value::Number(number),
    };
    finite(op.symbol(), result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T14:03:00Z")
            .map(|moment| moment.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn vars(name: &str) -> Value {
        match name {
            "age" => Value::Number(30.0),
            "name" => Value::Text("Ada".into()),
            "price" => Value::Money {
                amount: 25.5,
                currency: Some("USD".into()),
            },
            "discount" => Value::Percent(10.0),
            "due" => Value::Date(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap_or_default()),
            "opens" => Value::Time(NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default()),
            "current_date" => Value::Date(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default()),
            "huge" => Value::Number(1e308),
            "tags" => Value::List(vec![Value::Text("vip".into()), Value::Number(3.0)]),
            _ => Value::Null,
        }
    }

    fn run(source: &str) -> Result<Value, EvalError> {
        let expr = parse(source).unwrap_or_else(|error| panic!("{source}: {error}"));
        eval(&expr, &vars, now())
    }

    #[test]
    fn evaluates() {
        let date = |y, m, d| Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default());
        let usd = |amount| Value::Money {
            amount,
            currency: Some("USD".into()),
        };
        let cases: Vec<(&str, Value)> = vec![
            ("1 + 2 * 3", Value::Number(7.0)),
            ("7 % 4", Value::Number(3.0)),
            ("-age + 1", Value::Number(-29.0)),
            ("age >= 18 and name == 'Ada'", Value::Bool(true)),
            ("name == 'ada'", Value::Bool(false)),
            ("missing == null", Value::Bool(true)),
            ("name != null", Value::Bool(true)),
            ("not is_set(missing) or false", Value::Bool(true)),
            ("price > 20", Value::Bool(true)),
            ("price * 2", usd(51.0)),
            ("price - 0.5", usd(25.0)),
            ("discount + 5", Value::Percent(15.0)),
            ("due + 30", date(2026, 4, 3)),
            ("due - 4", date(2026, 2, 28)),
            ("due < '2026-03-05'", Value::Bool(true)),
            ("date('2026-03-10') - due", Value::Number(6.0)),
            ("opens < '10:00'", Value::Bool(true)),
            ("'b' > 'a'", Value::Bool(true)),
            ("'5' == 5", Value::Bool(true)),
            ("'Hi ' + name", Value::Text("Hi Ada".into())),
            ("length(name)", Value::Number(3.0)),
            ("length(missing)", Value::Number(0.0)),
            ("lower(name) + upper(name)", Value::Text("adaADA".into())),
            ("trim('  x ')", Value::Text("x".into())),
            ("contains(name, 'd')", Value::Bool(true)),
            ("contains(tags, 'vip')", Value::Bool(true)),
            ("contains(tags, 3)", Value::Bool(true)),
            ("starts_with(name, 'A') and ends_with(name, 'a')", Value::Bool(true)),
            ("round(2.345, 2)", Value::Number(2.35)),
            ("round(2.5)", Value::Number(3.0)),
            ("round(price)", usd(26.0)),
            ("floor(2.7) + ceil(2.1) + abs(-1)", Value::Number(6.0)),
            ("min(3, age)", Value::Number(3.0)),
            ("max(3, age)", Value::Number(30.0)),
            ("number('1,200.5')", Value::Number(1200.5)),
            ("text(age) + '!'", Value::Text("30!".into())),
            ("add_days('2026-02-27', 2)", date(2026, 3, 1)),
            ("add_months('2026-01-31', 1)", date(2026, 2, 28)),
            ("add_months(due, -3)", date(2025, 12, 4)),
            ("days_between('2026-01-01', due)", Value::Number(62.0)),
            ("weekday(due)", Value::Text("Wednesday".into())),
            (
                "year(due) * 10000 + month(due) * 100 + day(due)",
                Value::Number(20260304.0),
            ),
            ("hour(opens) * 60 + minute(opens)", Value::Number(570.0)),
            ("today()", date(2026, 11, 26)),
            ("now", Value::Text("2026-11-25T14:03:00Z".into())),
            ("hour(now)", Value::Number(14.0)),
            ("year(now)", Value::Number(2026.0)),
        ];
        for (source, expected) in cases {
            assert_eq!(run(source), Ok(expected), "{source}");
        }
    }

    #[test]
    fn reports_errors() {
        let cases = [
            ("1 / 0", "division by zero"),
            ("1 % 0", "division by zero"),
            ("due > 5", "cannot compare a date with a number"),
            ("missing > 5", "cannot compare nothing (null) with a number"),
            ("number('abc')", "cannot read \"abc\" as a number"),
            ("date('March')", "cannot read \"March\" as a date (YYYY-MM-DD)"),
            ("length(5)", "`length` needs text or a list, found a number"),
            ("age * name", "cannot apply `*` to a number and text"),
            ("add_days(due, 99999999)", "the result of `add_days` is out of range"),
            ("huge * 10", "the result of `*` is out of range"),
            ("-name", "cannot apply `-` to nothing and text"),
        ];
        for (source, message) in cases {
            let error = run(source).expect_err(source);
            assert_eq!(error.to_string(), message, "{source}");
        }
    }

    #[test]
    fn renders_templates_in_the_assistants_wording() {
        let template = Template::new("Hi ${name}, pay ${price} by ${due} at ${opens}${1/0}. $${x} ${text(due)}");
        let rendered = |wording: Wording| render(&template, &vars, now(), &|| wording);
        assert_eq!(
            rendered(Wording::EnglishMonthFirst),
            "Hi Ada, pay $25.50 by March 4, 2026 at 9:30 AM. ${x} 2026-03-04"
        );
        assert_eq!(
            rendered(Wording::EnglishDayFirst),
            "Hi Ada, pay $25.50 by 4 March 2026 at 09:30. ${x} 2026-03-04"
        );
        assert_eq!(
            rendered(Wording::Neutral),
            "Hi Ada, pay $25.50 by 2026-03-04 at 09:30. ${x} 2026-03-04"
        );
        let broken = Template::new("Hi ${name");
        assert_eq!(render(&broken, &vars, now(), &|| Wording::Neutral), "Hi ${name");
        let plain = Template::new("No values here.");
        let unasked = render(&plain, &vars, now(), &|| {
            panic!("the wording is asked for only when needed")
        });
        assert_eq!(unasked, "No values here.");
    }

    /// The kinds of value the typed expressions below are built to have.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Number,
        Money,
        Text,
        Bool,
        Date,
    }

    impl Kind {
        fn holds(self, value: &Value) -> bool {
            matches!(
                (self, value),
                (Kind::Number, Value::Number(_))
                    | (Kind::Money, Value::Money { .. })
                    | (Kind::Text, Value::Text(_))
                    | (Kind::Bool, Value::Bool(_))
                    | (Kind::Date, Value::Date(_))
            )
        }
    }

    type Source = proptest::strategy::BoxedStrategy<String>;

    /// Sources of expressions of each kind.
    #[derive(Clone)]
    struct Typed {
        number: Source,
        money: Source,
        text: Source,
        truth: Source,
        date: Source,
    }

    /// Expressions of every kind, nested up to `depth` operations deep: literals and the test's
    /// variables at the leaves, and above them only operations given operands of the kinds they
    /// accept, so the only errors left are those of values (dividing by zero, a result out of
    /// range, text that does not read as a number or a date).
    fn typed(depth: u32) -> Typed {
        use proptest::prelude::*;
        let leaves = Typed {
            number: prop_oneof![
                "[0-9]{1,3}",
                "[0-9]{1,3}\\.[0-9]{1,2}",
                Just("0".to_owned()),
                Just("age".to_owned()),
                Just("huge".to_owned()),
            ]
            .boxed(),
            money: Just("price".to_owned()).boxed(),
            text: prop_oneof![
                "'[a-zA-Z0-9 ,.-]{0,8}'",
                Just("'2026-03-04'".to_owned()),
                Just("name".to_owned()),
                Just("now".to_owned()),
            ]
            .boxed(),
            truth: prop_oneof![Just("true".to_owned()), Just("false".to_owned())].boxed(),
            date: prop_oneof![
                Just("due".to_owned()),
                Just("current_date".to_owned()),
                Just("today()".to_owned()),
            ]
            .boxed(),
        };
        (0..depth).fold(leaves.clone(), |below, _| above(&leaves, &below))
    }

    /// One level of operations over `below`, or a leaf.
    fn above(leaves: &Typed, below: &Typed) -> Typed {
        use proptest::prelude::*;
        use proptest::strategy::Union;
        let operator = |left: &Source, operator: &'static str, right: &Source| -> Source {
            (left.clone(), right.clone())
                .prop_map(move |(left, right)| format!("({left} {operator} {right})"))
                .boxed()
        };
        let prefix = |operator: &'static str, operand: &Source| -> Source {
            operand
                .clone()
                .prop_map(move |operand| format!("({operator}{operand})"))
                .boxed()
        };
        let call = |function: &'static str, argument: &Source| -> Source {
            argument
                .clone()
                .prop_map(move |argument| format!("{function}({argument})"))
                .boxed()
        };
        let call2 = |function: &'static str, first: &Source, second: &Source| -> Source {
            (first.clone(), second.clone())
                .prop_map(move |(first, second)| format!("{function}({first}, {second})"))
                .boxed()
        };
        let Typed {
            number: n,
            money: m,
            text: t,
            truth: b,
            date: d,
        } = below;
        let number = vec![
            leaves.number.clone(),
            operator(n, "+", n),
            operator(n, "-", n),
            operator(n, "*", n),
            operator(n, "/", n),
            operator(n, "%", n),
            prefix("-", n),
            call("round", n),
            call2("round", n, n),
            call("floor", n),
            call("ceil", n),
            call("abs", n),
            call2("min", n, n),
            call2("max", n, n),
            call("number", b),
            call("number", t),
            call("length", t),
            call("year", d),
            call("month", d),
            call("day", d),
            call2("days_between", d, d),
            operator(d, "-", d),
            operator(m, "/", m),
        ];
        let money = vec![
            leaves.money.clone(),
            operator(m, "+", n),
            operator(n, "+", m),
            operator(m, "-", m),
            operator(m, "*", n),
            prefix("-", m),
            call("round", m),
            call("abs", m),
            call2("min", m, m),
        ];
        let text = vec![
            leaves.text.clone(),
            operator(t, "+", t),
            operator(t, "+", n),
            operator(n, "+", t),
            call("lower", t),
            call("upper", t),
            call("trim", t),
            call("text", n),
            call("text", d),
            call("text", b),
            call("weekday", d),
        ];
        let truth = vec![
            leaves.truth.clone(),
            operator(n, "<", n),
            operator(n, ">=", n),
            operator(n, "==", n),
            operator(n, "!=", t),
            operator(m, ">", m),
            operator(t, "<=", t),
            operator(t, "==", t),
            operator(d, "<", d),
            operator(d, "==", t),
            operator(b, "and", b),
            operator(b, "or", b),
            prefix("not ", b),
            call2("contains", t, t),
            call2("starts_with", t, t),
            call2("ends_with", t, t),
            call("is_set", n),
        ];
        let date = vec![
            leaves.date.clone(),
            operator(d, "+", n),
            operator(n, "+", d),
            operator(d, "-", n),
            call2("add_days", d, n),
            call2("add_months", d, n),
            call2("max", d, d),
            call("date", t),
        ];
        Typed {
            number: Union::new(number).boxed(),
            money: Union::new(money).boxed(),
            text: Union::new(text).boxed(),
            truth: Union::new(truth).boxed(),
            date: Union::new(date).boxed(),
        }
    }

    /// A kind, and an expression of that kind.
    fn typed_expression() -> impl proptest::strategy::Strategy<Value = (Kind, String)> {
        use proptest::prelude::*;
        let typed = typed(3);
        prop_oneof![
            typed.number.prop_map(|source| (Kind::Number, source)),
            typed.money.prop_map(|source| (Kind::Money, source)),
            typed.text.prop_map(|source| (Kind::Text, source)),
            typed.truth.prop_map(|source| (Kind::Bool, source)),
            typed.date.prop_map(|source| (Kind::Date, source)),
        ]
    }

    proptest::proptest! {
        /// Whatever parses evaluates, without panicking, to the same result every time: the
        /// runtime's decisions cannot depend on when or how often a condition is evaluated.
        #[test]
        fn every_expression_evaluates_the_same_each_time(source in "[a-z0-9_ .,()'+*/%<>=-]{0,40}") {
            if let Ok(expr) = parse(&source) {
                let first = eval(&expr, &vars, now());
                proptest::prop_assert_eq!(&first, &eval(&expr, &vars, now()), "{}", source);
            }
        }

        /// An expression whose operations all get the kinds they accept evaluates to a value of its
        /// kind or to an error about a value, never to a type error, the same each time.
        #[test]
        fn well_typed_expressions_give_their_kind_or_an_error_about_a_value((kind, source) in typed_expression()) {
            let expr = parse(&source).map_err(|error| proptest::test_runner::TestCaseError::fail(format!("{source}: {error}")))?;
            let first = eval(&expr, &vars, now());
            proptest::prop_assert_eq!(&first, &eval(&expr, &vars, now()), "{}", source);
            match first {
                Ok(value) => proptest::prop_assert!(kind.holds(&value), "{source}: {kind:?} expected, got {value:?}"),
                Err(EvalError::DivisionByZero | EvalError::OutOfRange(_) | EvalError::Conversion { .. }) => {}
                Err(error) => proptest::prop_assert!(false, "{source}: {error}"),
            }
        }
    }
}
