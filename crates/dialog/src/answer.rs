//! Reading a customer's answer to a question: extraction by response type, then validation.
//!
//! Extraction itself lives in `baton_nlu::extract`; this module picks the extractor, turns what
//! it found into a typed [`Value`], checks the question's validation, and words the default
//! re-prompts, so the runtime only sees "valid value" or "re-prompt with this".

use chrono::NaiveDate;

use baton_assistant::{AnswerOption, Question, ResponseType, Value};
use baton_nlu::extract::{self, DateOrder, Locale, OptionRef};

use crate::scope::Scope;

/// What an answer turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Valid(Value),
    /// Not readable as the response type: re-prompt with `invalid`.
    Unreadable,
    /// Read, but outside the range, dates or pattern: re-prompt with `out_of_range`.
    OutOfRange,
}

pub(crate) fn read(question: &Question, text: &str, scope: &Scope<'_>) -> Answer {
    let locale = Locale::from_tag(&scope.assistant.locale);
    let text = text.trim();
    if text.is_empty() {
        return Answer::Unreadable;
    }
    let value = match question.kind {
        ResponseType::FreeText => Some(Value::Text(text.to_owned())),
        ResponseType::Number => extract::number(text, locale).map(Value::Number),
        // An amount that names no currency is in the locale's ("250" in an en-US assistant is $250).
        ResponseType::Currency => extract::amount(text, locale).map(|amount| Value::Money {
            amount: amount.value,
            currency: amount.currency.or_else(|| locale.currency.map(str::to_owned)),
        }),
        ResponseType::Percentage => extract::percentage(text, locale).map(Value::Percent),
        ResponseType::Date => extract::date(text, scope.today(), locale).map(Value::Date),
        ResponseType::Time => extract::time(text).map(Value::Time),
        ResponseType::YesNo => extract::yes_no(text).map(Value::Bool),
        ResponseType::Options => {
            choose(text, &question.options).map(|index| Value::Text(question.options[index].value().to_owned()))
        }
        ResponseType::Regex => match &question.pattern {
            Some(pattern) if !full_match(pattern, text) => return Answer::Unreadable,
            _ => Some(Value::Text(text.to_owned())),
        },
        ResponseType::Email => extract::email(text).map(Value::Text),
        ResponseType::Phone => extract::phone(text).map(Value::Text),
    };
    let Some(value) = value else {
        return Answer::Unreadable;
    };
    if valid(question, text, &value, scope) {
        Answer::Valid(value)
    } else {
        Answer::OutOfRange
    }
}

/// The index of the option the customer chose: an exact label, value or synonym first
/// (case-insensitive), then whatever the extractor recognises (position, misspelling).
pub(crate) fn choose(text: &str, options: &[AnswerOption]) -> Option<usize> {
    let wanted = text.trim();
    let exact = options.iter().position(|option| {
        option.label().eq_ignore_ascii_case(wanted)
            || option.value().eq_ignore_ascii_case(wanted)
            || option
                .synonyms()
                .iter()
                .any(|synonym| synonym.eq_ignore_ascii_case(wanted))
    });
    if exact.is_some() {
        return exact;
    }
    extract::option(wanted, &option_refs(options)).filter(|index| *index < options.len())
}

/// The options as the extractor sees them.
fn option_refs(options: &[AnswerOption]) -> Vec<OptionRef<'_>> {
    options
        .iter()
        .map(|option| OptionRef {
            label: option.label(),
            value: option.value(),
            synonyms: option.synonyms(),
        })
        .collect()
}

/// The option of `question` (an options question) that `text` names by label, value or synonym,
/// and nothing looser (see [`extract::option_named`]), as the value it stores.
pub(crate) fn named_option(question: &Question, text: &str) -> Option<Value> {
    let index = extract::option_named(text, &option_refs(&question.options))?;
    let option = question.options.get(index)?;
    Some(Value::Text(option.value().to_owned()))
}

fn valid(question: &Question, text: &str, value: &Value, scope: &Scope<'_>) -> bool {
    if let Some(number) = value.as_number() {
        let too_small = question.min.is_some_and(|min| number < min);
        let too_large = question.max.is_some_and(|max| number > max);
        if too_small || too_large {
            return false;
        }
    }
    if let Value::Date(date) = value {
        let too_early = bound(question.after.as_ref(), scope).is_some_and(|after| *date < after);
        let too_late = bound(question.before.as_ref(), scope).is_some_and(|before| *date > before);
        if too_early || too_late {
            return false;
        }
    }
    // For regex questions the pattern is the response type itself, checked while reading.
    let pattern_applies = question.kind != ResponseType::Regex;
    match &question.pattern {
        Some(pattern) if pattern_applies => full_match(pattern, text),
        _ => true,
    }
}

/// A date bound: an expression giving a date, or text in ISO form.
fn bound(expression: Option<&baton_assistant::expr::Expression>, scope: &Scope<'_>) -> Option<NaiveDate> {
    match scope.evaluate(expression?)? {
        Value::Date(date) => Some(date),
        Value::Text(text) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok(),
        _ => None,
    }
}

/// Patterns compiled recently on this thread.
const PATTERNS_KEPT: usize = 64;

thread_local! {
    /// A memo, not state: compiling a pattern cost more than the rest of reading the answer, and
    /// the same pattern always compiles the same way. `None` for a pattern that does not compile.
    static PATTERNS: std::cell::RefCell<Vec<(String, Option<regex::Regex>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// True when the whole text matches the pattern; an invalid pattern matches nothing.
pub(crate) fn full_match(pattern: &str, text: &str) -> bool {
    PATTERNS.with(|kept| {
        let mut kept = kept.borrow_mut();
        let at = match kept.iter().position(|(source, _)| source == pattern) {
            Some(at) => at,
            None => {
                if kept.len() == PATTERNS_KEPT {
                    kept.remove(0);
                }
                let compiled = regex::Regex::new(&format!("^(?:{pattern})$")).ok();
                kept.push((pattern.to_owned(), compiled));
                kept.len() - 1
            }
        };
        kept[at].1.as_ref().is_some_and(|regex| regex.is_match(text))
    })
}

/// The re-prompt when the answer could not be read and the author gave none.
pub(crate) fn default_invalid(question: &Question, locale: &str) -> String {
    let example_date = match Locale::from_tag(locale).date_order {
        DateOrder::MonthFirst => "12/31/2026",
        DateOrder::DayFirst => "31/12/2026",
    };
    match question.kind {
        ResponseType::FreeText => "Please enter a valid answer.".to_owned(),
        ResponseType::Number => "Please enter a number.".to_owned(),
        ResponseType::Currency => "Please enter an amount, for example $25.00.".to_owned(),
        ResponseType::Percentage => "Please enter a percentage, for example 15%.".to_owned(),
        ResponseType::Date => format!("I didn't catch a date. Please enter a date, for example {example_date}."),
        ResponseType::Time => "I didn't catch a time. Please enter a time, for example 3:30 PM.".to_owned(),
        ResponseType::YesNo => "Please answer yes or no.".to_owned(),
        ResponseType::Options => "Please choose one of the options.".to_owned(),
        ResponseType::Regex => "That doesn't look right. Please try again.".to_owned(),
        ResponseType::Email => "Please enter an email address, for example name@example.com.".to_owned(),
        ResponseType::Phone => "Please enter a phone number.".to_owned(),
    }
}

/// The re-prompt when the answer was read but failed validation and the author gave none.
pub(crate) fn default_out_of_range(question: &Question, scope: &Scope<'_>) -> String {
    let noun = match question.kind {
        ResponseType::Number => "a number",
        ResponseType::Currency => "an amount",
        ResponseType::Percentage => "a percentage",
        ResponseType::Date => {
            let wording = scope.wording();
            let show = |date: NaiveDate| Value::Date(date).worded(wording).to_string();
            let after = bound(question.after.as_ref(), scope).map(show);
            let before = bound(question.before.as_ref(), scope).map(show);
            return match (after, before) {
                (Some(after), Some(before)) => format!("Please enter a date between {after} and {before}."),
                (Some(after), None) => format!("Please enter a date on or after {after}."),
                (None, Some(before)) => format!("Please enter a date on or before {before}."),
                (None, None) => default_invalid(question, &scope.assistant.locale),
            };
        }
        _ => return default_invalid(question, &scope.assistant.locale),
    };
    let wording = scope.wording();
    let currency = Locale::from_tag(&scope.assistant.locale).currency;
    let show = |bound: f64| {
        let value = match question.kind {
            ResponseType::Currency => Value::Money {
                amount: bound,
                currency: currency.map(str::to_owned),
            },
            ResponseType::Percentage => Value::Percent(bound),
            _ => Value::Number(bound),
        };
        value.worded(wording).to_string()
    };
    match (question.min, question.max) {
        (Some(min), Some(max)) => format!("Please enter {noun} between {} and {}.", show(min), show(max)),
        (Some(min), None) => format!("Please enter {noun} of at least {}.", show(min)),
        (None, Some(max)) => format!("Please enter {noun} of at most {}.", show(max)),
        (None, None) => default_invalid(question, &scope.assistant.locale),
    }
}
