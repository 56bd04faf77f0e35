//! Dates, absolute or relative to today.
//!
//! Reads: "today", "tonight", "tomorrow" (and "tmrw", "tomorow"), "yesterday", "the day after
//! tomorrow", "the day before yesterday"; "in 3 days", "in a week", "in two months", "a fortnight",
//! "3 days from now", "a week from tomorrow", "2 weeks ago"; weekdays ("friday", "on monday",
//! "this friday", "next friday", "last friday", "friday next week", "next week friday", misspelt
//! "wensday");
//! "the 3rd of March", "March 3rd", "3 March 2027", "Mar 3, 2027", lightly misspelt months
//! ("febuary", "setpember"); "03/04/2026", "3/4/26", "3.4.2026", "3-4-2026" by the locale's
//! date order; "2026-03-04" and "2026/03/04" always year first; "the 15th"; "end of the month",
//! "end of next month", "start of next month", "end of the year", "the 1st of next month".
//!
//! Decisions:
//! - A date without a year ("March 3", "3/4") is the occurrence nearest to today, looking one
//!   year back and one ahead; ties go to the future. So on 25 November "March 3" is next March
//!   and "Nov 20" is five days ago: the nearest reading is right for "when did it arrive?" as well
//!   as for "when shall we deliver?", and a wrong past date fails an "after today" validation with
//!   a re-prompt instead of silently booking a year ahead. "the 15th" likewise picks the nearest
//!   15th (this month, last month or next month).
//! - When a numeric date is impossible in the locale's order but possible the other way round
//!   ("25/12/2026" in en-US), the other order is taken. Two-digit years are 20yy unless that is
//!   more than 20 years ahead, then 19yy ("5/6/85").
//! - A bare weekday, "on friday" and "this friday" are the soonest such day from today
//!   (today included); "next friday" is the friday of next week (weeks start on Monday), as in
//!   "next week's friday", so said on a Wednesday it is nine days ahead, not two; "last friday"
//!   is the most recent one before today.
//! - "next week", "next month", "soon", "whenever" are not dates; "end of the week" neither.
//! - An explicit date wins over a weekday said with it ("Friday, March 3rd"); otherwise two
//!   different dates in one answer read as `None`. Impossible dates (Feb 30) are `None`.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

use super::DateOrder;
use super::Locale;
use super::quantity::{ordinal_word, quantity_at};
use super::token::{Kind, Token, edit_distance, normalise, tokenize};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_from_word(word: &str) -> Option<u32> {
    if let Some(i) = MONTHS.iter().position(|m| *m == word) {
        return Some(i as u32 + 1);
    }
    let abbreviation = match word {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" | "sept" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => 0,
    };
    if abbreviation > 0 {
        return Some(abbreviation);
    }
    // Misspellings of the longer names only: "may", "june" and "july" are too close to other words.
    if word.chars().count() < 5 {
        return None;
    }
    let limit = if word.chars().count() >= 7 { 2 } else { 1 };
    let month = unique_closest(word, &MONTHS[..], limit).filter(|i| ![4, 5, 6].contains(i))?;
    // Five letters leave room only for swapped letters ("marhc", "apirl"): "match" is not March.
    if word.chars().count() == 5 && !same_letters(word, MONTHS[month]) {
        return None;
    }
    Some(month as u32 + 1)
}

fn same_letters(a: &str, b: &str) -> bool {
    let sorted = |s: &str| {
        let mut chars: Vec<char> = s.chars().collect();
        chars.sort_unstable();
        chars
    };
    sorted(a) == sorted(b)
}

/// The index of the one candidate within `limit` edits of `word`, if the nearest is unique.
fn unique_closest(word: &str, candidates: &[&str], limit: usize) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    let mut tied = false;
    for (i, candidate) in candidates.iter().enumerate() {
        let Some(distance) = edit_distance(word, candidate, limit) else {
            continue;
        };
        match best {
            Some((_, d)) if d < distance => {}
            Some((_, d)) if d == distance => tied = true,
            _ => {
                best = Some((i, distance));
                tied = false;
            }
        }
    }
    if tied { None } else { best.map(|(i, _)| i) }
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A weekday name; `strict` refuses the abbreviations that are also English words ("sat", "sun", "wed").
fn weekday_from_word(word: &str, strict: bool) -> Option<Weekday> {
    let index = match word {
        "mon" | "mo" => Some(0),
        "tue" | "tues" => Some(1),
        "weds" => Some(2),
        "thu" | "thur" | "thurs" => Some(3),
        "fri" => Some(4),
        "wed" if !strict => Some(2),
        "sat" if !strict => Some(5),
        "sun" if !strict => Some(6),
        _ => None,
    };
    let index = index.or_else(|| WEEKDAYS.iter().position(|d| *d == word)).or_else(|| {
        let plural = word
            .strip_suffix('s')
            .and_then(|w| WEEKDAYS.iter().position(|d| *d == w));
        let len = word.chars().count();
        let limit = if len >= 7 { 2 } else { 1 };
        plural.or_else(|| {
            if len >= 5 {
                unique_closest(word, &WEEKDAYS, limit)
            } else {
                None
            }
        })
    })?;
    Weekday::try_from(index as u8).ok()
}

fn word_at(tokens: &[Token], i: usize) -> Option<&str> {
    tokens.get(i).filter(|t| t.kind == Kind::Word).map(|t| t.text.as_str())
}

/// The date nearest to `today` among the candidates; ties go to the later one.
fn nearest(today: NaiveDate, candidates: impl IntoIterator<Item = Option<NaiveDate>>) -> Option<NaiveDate> {
    candidates
        .into_iter()
        .flatten()
        .min_by_key(|d| ((*d - today).num_days().abs(), std::cmp::Reverse(*d)))
}

fn nearest_day_month(today: NaiveDate, day: u32, month: u32) -> Option<NaiveDate> {
    let year = today.year();
    nearest(
        today,
        (year - 1..=year + 1).map(|y| NaiveDate::from_ymd_opt(y, month, day)),
    )
}

fn nearest_day(today: NaiveDate, day: u32) -> Option<NaiveDate> {
    let first = today.with_day(1)?;
    let months = [
        first.checked_sub_months(Months::new(1)),
        Some(first),
        first.checked_add_months(Months::new(1)),
    ];
    nearest(today, months.into_iter().flatten().map(|m| m.with_day(day)))
}

fn full_year(written: &str, today: NaiveDate) -> Option<i32> {
    let year: i32 = written.parse().ok()?;
    match written.len() {
        4 => Some(year),
        2 => {
            let this_century = 2000 + year;
            Some(if this_century > today.year() + 20 {
                1900 + year
            } else {
                this_century
            })
        }
        _ => None,
    }
}

/// "2026-03-04", "03/04/2026", "3.4.26", "3/4".
fn numeric_date(raw: &str, today: NaiveDate, locale: Locale) -> Option<NaiveDate> {
    let separator = raw.chars().find(|c| matches!(c, '/' | '-' | '.'))?;
    if raw
        .chars()
        .any(|c| matches!(c, '/' | '-' | '.' | ':' | ',') && c != separator)
    {
        return None;
    }
    let parts: Vec<&str> = raw.split(separator).collect();
    let number = |s: &str| s.parse::<u32>().ok();
    match parts[..] {
        [year, month, day] if year.len() == 4 => {
            if month.len() > 2 || day.len() > 2 {
                return None;
            }
            NaiveDate::from_ymd_opt(year.parse().ok()?, number(month)?, number(day)?)
        }
        [a, b, year] if a.len() <= 2 && b.len() <= 2 => {
            let year = full_year(year, today)?;
            let (day, month) = day_month(number(a)?, number(b)?, locale)?;
            NaiveDate::from_ymd_opt(year, month, day)
        }
        // "3/4" is a date; "3.4" and "3-4" are a decimal and a range.
        [a, b] if separator == '/' && a.len() <= 2 && b.len() <= 2 => {
            let (day, month) = day_month(number(a)?, number(b)?, locale)?;
            nearest_day_month(today, day, month)
        }
        _ => None,
    }
}

/// Day and month from two numbers in the locale's order, or the other order when only that one is possible.
fn day_month(first: u32, second: u32, locale: Locale) -> Option<(u32, u32)> {
    let (day, month) = match locale.date_order {
        DateOrder::DayFirst => (first, second),
        DateOrder::MonthFirst => (second, first),
    };
    let possible = |day: u32, month: u32| (1..=31).contains(&day) && (1..=12).contains(&month);
    if possible(day, month) {
        Some((day, month))
    } else if possible(month, day) {
        Some((month, day))
    } else {
        None
    }
}

/// A day of the month at token `i`: "3", "3rd", "third", "twenty-first". Returns the day and the next token.
fn day_at(tokens: &[Token], i: usize, locale: Locale) -> Option<(u32, usize)> {
    let quantity = quantity_at(tokens, i, locale, false)?;
    let whole = quantity.value.fract() == 0.0 && (1.0..=31.0).contains(&quantity.value);
    // A plain numeral day must be a short integer ("3", not "3.0" or "03.5").
    let plain =
        tokens[i].kind != Kind::Num || tokens[i].text.chars().all(|c| c.is_ascii_digit()) && tokens[i].text.len() <= 2;
    (whole && plain).then_some((quantity.value as u32, quantity.end))
}

fn ordinal_day_at(tokens: &[Token], i: usize, locale: Locale) -> Option<(u32, usize)> {
    let quantity = quantity_at(tokens, i, locale, false).filter(|q| q.ordinal)?;
    let day = quantity.value as u32;
    (1..=31).contains(&day).then_some((day, quantity.end))
}

/// A four-digit year at token `i`, after an optional comma.
fn year_at(tokens: &[Token], i: usize, today: NaiveDate) -> Option<(i32, usize)> {
    let i = if tokens.get(i).is_some_and(|t| t.is_sym(',')) {
        i + 1
    } else {
        i
    };
    let token = tokens
        .get(i)
        .filter(|t| t.kind == Kind::Num && t.text.len() == 4 && t.text.chars().all(|c| c.is_ascii_digit()))?;
    Some((full_year(&token.text, today)?, i + 1))
}

fn unit_days(word: &str) -> Option<Unit> {
    match word {
        "day" | "days" | "day's" => Some(Unit::Days(1)),
        "week" | "weeks" | "wk" | "wks" | "week's" => Some(Unit::Days(7)),
        "fortnight" | "fortnights" => Some(Unit::Days(14)),
        "month" | "months" | "month's" => Some(Unit::Months(1)),
        "year" | "years" | "yr" | "yrs" | "year's" => Some(Unit::Months(12)),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Days(i64),
    Months(u32),
}

fn shift(date: NaiveDate, count: i64, unit: Unit) -> Option<NaiveDate> {
    match unit {
        Unit::Days(days) => date.checked_add_signed(Duration::try_days(count.checked_mul(days)?)?),
        Unit::Months(months) => {
            let total = u32::try_from(count.unsigned_abs()).ok()?.checked_mul(months)?;
            if count >= 0 {
                date.checked_add_months(Months::new(total))
            } else {
                date.checked_sub_months(Months::new(total))
            }
        }
    }
}

/// "3 days", "a week", "two months", "a couple of weeks" at token `i`: the count, unit and next token.
fn span_at(tokens: &[Token], i: usize, locale: Locale) -> Option<(i64, Unit, usize)> {
    let (count, next) = match word_at(tokens, i) {
        Some("a" | "an") if word_at(tokens, i + 1) == Some("couple") && word_at(tokens, i + 2) == Some("of") => {
            (2, i + 3)
        }
        Some("a" | "an" | "one") => (1, i + 1),
        _ => {
            let quantity = quantity_at(tokens, i, locale, false)
                .filter(|q| !q.ordinal && q.value.fract() == 0.0 && q.value.abs() <= 10_000.0)?;
            (quantity.value as i64, quantity.end)
        }
    };
    let unit = word_at(tokens, next).and_then(unit_days)?;
    Some((count, unit, next + 1))
}

/// `date` moved by `n` days; `None` past the ends of the calendar, so no `today` can panic.
fn days(date: NaiveDate, n: i64) -> Option<NaiveDate> {
    date.checked_add_signed(Duration::try_days(n)?)
}

fn weekday_on_or_after(date: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    let ahead = (7 + weekday.num_days_from_monday() as i64 - date.weekday().num_days_from_monday() as i64) % 7;
    days(date, ahead)
}

fn last_of_month(date: NaiveDate) -> Option<NaiveDate> {
    date.with_day(1)?.checked_add_months(Months::new(1))?.pred_opt()
}

/// Words that may follow "March 3" without making the 3 a count ("March 3 at noon", "May 5 works").
const WORDS_AFTER_A_DATE: [&str; 15] = [
    "at", "in", "on", "please", "and", "or", "is", "would", "works", "if", "then", "for", "next", "this", "by",
];

#[derive(Default)]
struct Found {
    explicit: Vec<NaiveDate>,
    implied: Vec<NaiveDate>,
}

pub(super) fn date(text: &str, today: NaiveDate, locale: Locale) -> Option<NaiveDate> {
    let tokens = tokenize(&normalise(text));
    let mut found = Found::default();
    let mut i = 0;
    while i < tokens.len() {
        i = read_at(&tokens, i, today, locale, &mut found)
            .unwrap_or(i + 1)
            .max(i + 1);
    }
    let dates = if found.explicit.is_empty() {
        found.implied
    } else {
        found.explicit
    };
    // An impossible date ("February 30") was recorded as `NaiveDate::MIN`: the answer has no date.
    let first = *dates.first()?;
    let agree = dates.iter().all(|d| *d == first);
    (agree && first != NaiveDate::MIN).then_some(first)
}

/// Reads a date starting at token `i` into `found`; returns the token after it, or `None` when
/// nothing starts here. A date that is recognised but impossible ("February 30") is recorded as
/// `NaiveDate::MIN`, which makes the whole answer `None`, and its tokens are consumed so its
/// parts are not re-read as something else.
fn read_at(tokens: &[Token], i: usize, today: NaiveDate, locale: Locale, found: &mut Found) -> Option<usize> {
    let token = &tokens[i];
    let word = word_at(tokens, i);
    let explicit = |found: &mut Found, date: Option<NaiveDate>, next: usize| {
        match date {
            Some(date) => found.explicit.push(date),
            None => found.explicit.push(NaiveDate::MIN),
        }
        Some(next)
    };

    // "2026-03-04", "03/04/2026", "3/4".
    if token.kind == Kind::Num && token.text.contains(['/', '-', '.']) {
        let negative_or_range = token.text.contains('-') && token.text.split('-').count() == 2;
        if negative_or_range || token.text.contains([':', ',']) {
            return None;
        }
        let two_parts_not_slash = token.text.split(['.', '-']).count() == 2 && !token.text.contains('/');
        if two_parts_not_slash {
            return None;
        }
        return explicit(found, numeric_date(&token.text, today, locale), i + 1);
    }

    // Relative days.
    match word {
        Some("today" | "tonight" | "tonite" | "now") => {
            found.implied.push(today);
            return Some(i + 1);
        }
        Some(
            "tomorrow" | "tomorow" | "tommorow" | "tommorrow" | "tomorrrow" | "tmrw" | "tmr" | "tmrrw" | "tomoz"
            | "2moro" | "tomoro",
        ) => {
            found.implied.extend(days(today, 1));
            return Some(i + 1);
        }
        Some("yesterday" | "yday" | "yesterdy" | "yestreday") => {
            found.implied.extend(days(today, -1));
            return Some(i + 1);
        }
        Some("day") => {
            let offset = match (word_at(tokens, i + 1), word_at(tokens, i + 2)) {
                (Some("after"), Some("tomorrow")) => Some(2),
                (Some("before"), Some("yesterday")) => Some(-2),
                _ => None,
            };
            if let Some(offset) = offset {
                found.implied.extend(days(today, offset));
                return Some(i + 3);
            }
        }
        Some("overmorrow") => {
            found.implied.extend(days(today, 2));
            return Some(i + 1);
        }
        _ => {}
    }

    // "end of the month", "start of next month", "end of the year".
    if let Some(edge @ ("end" | "start" | "beginning")) = word
        && word_at(tokens, i + 1) == Some("of")
    {
        let mut j = i + 2;
        let next = match word_at(tokens, j) {
            Some("next") => {
                j += 1;
                true
            }
            Some("the" | "this") => {
                j += 1;
                false
            }
            _ => false,
        };
        let period = word_at(tokens, j);
        let start_of_month = today.with_day(1)?;
        let date = match (edge, period) {
            ("end", Some("month")) => last_of_month(if next {
                start_of_month.checked_add_months(Months::new(1))?
            } else {
                today
            }),
            (_, Some("month")) => {
                if next {
                    start_of_month.checked_add_months(Months::new(1))
                } else {
                    Some(start_of_month)
                }
            }
            ("end", Some("year")) => NaiveDate::from_ymd_opt(today.year() + i32::from(next), 12, 31),
            (_, Some("year")) => NaiveDate::from_ymd_opt(today.year() + i32::from(next), 1, 1),
            _ => None,
        };
        if let Some(date) = date {
            found.implied.push(date);
            return Some(j + 1);
        }
    }

    // "in 3 days", "3 days from now", "a week from tomorrow", "2 weeks ago", "in a fortnight".
    let after_in = i > 0 && tokens[i - 1].is_any(&["in", "within"]);
    if let Some((count, unit, next)) = span_at(tokens, i, locale) {
        let base_and_sign = match (word_at(tokens, next), word_at(tokens, next + 1)) {
            (Some("from" | "after"), Some("now" | "today")) => Some((today, 1, next + 2)),
            (Some("from" | "after"), Some("tomorrow")) => days(today, 1).map(|base| (base, 1, next + 2)),
            (Some("ago" | "back" | "before"), _) => Some((today, -1, next + 1)),
            (Some("later" | "time" | "hence"), _) => Some((today, 1, next + 1)),
            _ if after_in => Some((today, 1, next)),
            _ => None,
        };
        if let Some((base, sign, end)) = base_and_sign {
            if let Some(date) = shift(base, sign * count, unit) {
                found.implied.push(date);
            }
            return Some(end);
        }
    }
    if word == Some("fortnight") && after_in {
        found.implied.extend(days(today, 14));
        return Some(i + 1);
    }

    // "3 March 2027", "the 3rd of March", "third of march", "the 1st of next month".
    let day_start = if word == Some("the") { i + 1 } else { i };
    if let Some((day, next)) = day_at(tokens, day_start, locale) {
        let of = usize::from(word_at(tokens, next) == Some("of"));
        if let Some(month) = word_at(tokens, next + of).and_then(month_from_word) {
            let after_month = next + of + 1;
            return match year_at(tokens, after_month, today) {
                Some((year, end)) => explicit(found, NaiveDate::from_ymd_opt(year, month, day), end),
                None => explicit(found, nearest_day_month(today, day, month), after_month),
            };
        }
        if of == 1 && word_at(tokens, next + 1) == Some("next") && word_at(tokens, next + 2) == Some("month") {
            let next_month = today.with_day(1)?.checked_add_months(Months::new(1))?;
            return explicit(found, next_month.with_day(day), next + 3);
        }
    }

    // "March 3rd", "Mar 3, 2027", "march the third".
    if let Some(month) = word.and_then(month_from_word) {
        let day_start = if word_at(tokens, i + 1) == Some("the") {
            i + 2
        } else {
            i + 1
        };
        if let Some((day, next)) = day_at(tokens, day_start, locale) {
            // "may 5 people": a noun after the day means the day was a count.
            let followed_by_noun = tokens.get(next).is_some_and(|t| t.kind == Kind::Word && !t.joined)
                && !tokens[day_start].joined
                && word_at(tokens, next).is_some_and(|w| !WORDS_AFTER_A_DATE.contains(&w));
            if !followed_by_noun || quantity_at(tokens, day_start, locale, false).is_some_and(|q| q.ordinal) {
                return match year_at(tokens, next, today) {
                    Some((year, end)) => explicit(found, NaiveDate::from_ymd_opt(year, month, day), end),
                    None => explicit(found, nearest_day_month(today, day, month), next),
                };
            }
        }
    }

    // Weekdays, with "this", "next", "last", "on", "coming" before or "next week" after.
    let modifier = i.checked_sub(1).and_then(|b| word_at(tokens, b));
    let strict = !matches!(
        modifier,
        Some("on" | "this" | "next" | "last" | "coming" | "past" | "until" | "by")
    );
    if let Some(weekday) = word.and_then(|w| weekday_from_word(w, strict)) {
        let next_week_after = word_at(tokens, i + 1) == Some("next") && word_at(tokens, i + 2) == Some("week");
        // "next week friday", "next week on friday".
        let next_week_before = (2..=3)
            .any(|k| i >= k && word_at(tokens, i - k) == Some("next") && word_at(tokens, i - k + 1) == Some("week"));
        let date = if modifier == Some("next") || next_week_after || next_week_before {
            let monday_next_week = days(today, 7 - today.weekday().num_days_from_monday() as i64);
            monday_next_week.and_then(|monday| weekday_on_or_after(monday, weekday))
        } else if matches!(modifier, Some("last" | "past")) {
            days(today, -7).and_then(|week_ago| weekday_on_or_after(week_ago, weekday))
        } else {
            weekday_on_or_after(today, weekday)
        };
        found.implied.extend(date);
        return Some(if next_week_after { i + 3 } else { i + 1 });
    }

    // "the 15th", "on the 3rd".
    let day_start = if word == Some("the") { i + 1 } else { i };
    if let Some((day, next)) = ordinal_day_at(tokens, day_start, locale) {
        let position_word = word_at(tokens, day_start).and_then(ordinal_word).is_some();
        // "the second one", "the first option" are not dates.
        let followed_by_pronoun =
            word_at(tokens, next).is_some_and(|w| matches!(w, "one" | "option" | "choice" | "time" | "try"));
        if !(followed_by_pronoun
            || (position_word && word != Some("the") && !matches!(modifier, Some("on" | "the" | "by"))))
        {
            found.implied.push(nearest_day(today, day).unwrap_or(NaiveDate::MIN));
            return Some(next);
        }
    }
    None
}
