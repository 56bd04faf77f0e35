//! What expressions and templates see: the session's variables and the built-ins.
//!
//! Built-ins are computed on lookup from the session, the assistant and `now`, so they are
//! never stale and never stored. A session variable of the same name shadows nothing: the
//! built-in wins, because authors cannot assign to built-ins.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};

use baton_assistant::eval;
use baton_assistant::expr::Expr;
use baton_assistant::expr::{Expression, Template};
use baton_assistant::{Assistant, Value, Wording};
use baton_nlu::extract::{DateOrder, Locale};

use crate::Session;

/// The names of the built-in variables (the loader's list: what it accepts is what this scope answers).
pub const BUILT_INS: &[&str] = baton_assistant::BUILT_IN_VARIABLES;

/// Variables and built-ins at one moment of one session.
pub(crate) struct Scope<'a> {
    pub assistant: &'a Assistant,
    pub session: &'a Session,
    pub now: DateTime<Utc>,
}

impl Scope<'_> {
    /// The local time of the assistant, in its time zone (an IANA name or a fixed offset).
    pub fn local_now(&self) -> DateTime<FixedOffset> {
        self.now.with_timezone(&utc_offset(&self.assistant.timezone, self.now))
    }

    pub fn today(&self) -> NaiveDate {
        self.local_now().date_naive()
    }

    pub fn lookup(&self, name: &str) -> Value {
        let session = self.session;
        let text = |value: Option<&str>| value.map_or(Value::Null, |text| Value::Text(text.to_owned()));
        match name {
            "now" => Value::Text(self.local_now().to_rfc3339()),
            "current_date" => Value::Date(self.today()),
            "current_time" => Value::Time(self.local_now().time()),
            "turn_count" => Value::Number(f64::from(session.turn_count)),
            "user_id" => text(session.user_id.as_deref()),
            "channel" => text(session.channel.as_deref()),
            "locale" => Value::Text(self.assistant.locale.clone()),
            "timezone" => Value::Text(self.assistant.timezone.clone()),
            "fallback_reason" => text(session.fallback.as_ref().map(|fallback| fallback.reason.as_str())),
            "no_action_matches_count" => Value::Number(f64::from(session.no_match_count)),
            "digressed_from" => text(session.digressed_from.as_deref()),
            "session_history" => Value::Text(session.history.join("\n")),
            _ => session.variables.get(name).cloned().unwrap_or(Value::Null),
        }
    }

    /// Evaluates an expression; `None` when it does not parse or fails to evaluate.
    pub fn evaluate(&self, expression: &Expression) -> Option<Value> {
        let expr = expression.parsed().ok()?;
        self.evaluate_expr(expr)
    }

    /// A condition: true only when the expression evaluates to a truthy value.
    pub fn holds(&self, condition: &Expression) -> bool {
        self.evaluate(condition).is_some_and(|value| value.truthy())
    }

    /// Renders a template; an interpolation that fails renders as nothing.
    pub fn render(&self, template: &Template) -> String {
        eval::render(template, &|name| self.lookup(name), self.now, &|| self.wording())
    }

    /// How values read in the assistant's sentences (see [`wording`]).
    pub fn wording(&self) -> Wording {
        wording(&self.assistant.locale)
    }

    fn evaluate_expr(&self, expr: &Expr) -> Option<Value> {
        eval::eval(expr, &|name| self.lookup(name), self.now).ok()
    }
}

/// The offset from UTC of `timezone` at `now`: an IANA name (`America/New_York`, with its
/// daylight-saving rules) or a fixed offset as [`fixed_offset`] reads it.
pub(crate) fn utc_offset(timezone: &str, now: DateTime<Utc>) -> FixedOffset {
    match timezone.trim().parse::<chrono_tz::Tz>() {
        Ok(zone) => now.with_timezone(&zone).offset().fix(),
        Err(_) => fixed_offset(timezone),
    }
}

/// `UTC`, `Z`, `+02:00`, `-0530`, `UTC+2`; anything else reads as UTC.
pub(crate) fn fixed_offset(timezone: &str) -> FixedOffset {
    let utc = FixedOffset::east_opt(0).expect("zero offset is valid");
    let trimmed = timezone.trim();
    let rest = trimmed
        .strip_prefix("UTC")
        .or_else(|| trimmed.strip_prefix("GMT"))
        .unwrap_or(trimmed);
    if rest.is_empty() || rest == "Z" {
        return utc;
    }
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return utc,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((hours, minutes)) => (hours, minutes),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    let (Ok(hours), Ok(minutes)) = (hours.parse::<i32>(), minutes.parse::<i32>()) else {
        return utc;
    };
    if hours > 14 || minutes > 59 {
        return utc;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).unwrap_or(utc)
}

/// How values read in the sentences of an assistant with this locale: English month names in the
/// order the locale reads dates; any other language keeps the neutral ISO forms.
pub(crate) fn wording(locale: &str) -> Wording {
    let language = locale.split(['-', '_', '.', '@']).next().unwrap_or("");
    if !language.eq_ignore_ascii_case("en") {
        return Wording::Neutral;
    }
    match Locale::from_tag(locale).date_order {
        DateOrder::MonthFirst => Wording::EnglishMonthFirst,
        DateOrder::DayFirst => Wording::EnglishDayFirst,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn fixed_offsets_read_and_names_fall_back_to_utc() {
        let cases = [
            ("UTC", 0),
            ("Z", 0),
            ("+02:00", 7200),
            ("-0530", -19800),
            ("UTC+2", 7200),
            ("+99:00", 0),
        ];
        for (timezone, seconds) in cases {
            assert_eq!(fixed_offset(timezone).local_minus_utc(), seconds, "{timezone}");
        }
    }

    #[test]
    fn iana_names_follow_daylight_saving() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();
        let cases = [
            ("America/New_York", winter, -5 * 3600),
            ("America/New_York", summer, -4 * 3600),
            ("Europe/Berlin", summer, 2 * 3600),
            ("UTC", summer, 0),
            ("+05:30", winter, 19800),
            ("Not/AZone", winter, 0),
        ];
        for (timezone, now, seconds) in cases {
            assert_eq!(
                utc_offset(timezone, now).local_minus_utc(),
                seconds,
                "{timezone} at {now}"
            );
        }
    }

    #[test]
    fn english_locales_name_months_in_their_order_and_others_stay_neutral() {
        for (locale, expected) in [
            ("en-US", Wording::EnglishMonthFirst),
            ("en", Wording::EnglishMonthFirst),
            ("en_CA.UTF-8", Wording::EnglishMonthFirst),
            ("en-GB", Wording::EnglishDayFirst),
            ("EN-au", Wording::EnglishDayFirst),
            ("de-DE", Wording::Neutral),
            ("fr", Wording::Neutral),
            ("", Wording::Neutral),
        ] {
            assert_eq!(wording(locale), expected, "{locale}");
        }
    }
}
