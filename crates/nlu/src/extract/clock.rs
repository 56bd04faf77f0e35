//! Times of day.
//!
//! Reads: "15:30", "15:30:00", "3:30 pm", "3pm", "3 p.m.", "3.30pm", "15h30", "noon", "midday",
//! "midnight", "12 noon", "half past three", "half three" (British), "quarter past five",
//! "quarter to five", "ten past four", "20 to 6", "25 minutes past 2", "seven thirty",
//! "seven oh five", "nine forty-five pm", "3 o'clock", "9 in the morning", "8 tonight",
//! "at 9", "around seven", and a bare "9" or "9.30" when that is the whole answer.
//!
//! Decision: an hour from 1 to 6 with no am/pm, no period word ("in the morning") and not written
//! as a 24-hour time is read as afternoon ("at 3" is 15:00, "half past three" 15:30): times
//! asked for in customer service are daytime times. 7 to 11 stay morning, 12 is noon; "03:00",
//! "15:30" and "0:30" are read as written. "at night" puts 5–11 in the evening, 12 at midnight
//! and 1–4 in the small hours. Impossible times ("25:00", "13pm") and two different times
//! ("between 3 and 5") read as `None`.

use chrono::NaiveTime;

use super::Locale;
use super::quantity::quantity_at;
use super::token::{Kind, Token, normalise, tokenize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    Am,
    Pm,
    Night,
}

/// An hour and minute as written, before am/pm is applied.
#[derive(Debug, Clone, Copy)]
struct Reading {
    hour: u32,
    minute: u32,
    second: u32,
    meridiem: Option<Meridiem>,
    /// Written on a 24-hour clock ("15:30", "09:00"): never shifted to the afternoon.
    literal: bool,
}

fn word_at(tokens: &[Token], i: usize) -> Option<&str> {
    tokens.get(i).filter(|t| t.kind == Kind::Word).map(|t| t.text.as_str())
}

/// "am", "pm", "in the morning", "tonight" at token `i`: the meridiem and the token after it.
fn meridiem_at(tokens: &[Token], i: usize) -> Option<(Meridiem, usize)> {
    match word_at(tokens, i)? {
        "am" | "a" if tokens[i].text == "am" || word_at(tokens, i + 1) == Some("m") => {
            Some((Meridiem::Am, if tokens[i].text == "am" { i + 1 } else { i + 2 }))
        }
        "pm" | "p" if tokens[i].text == "pm" || word_at(tokens, i + 1) == Some("m") => {
            Some((Meridiem::Pm, if tokens[i].text == "pm" { i + 1 } else { i + 2 }))
        }
        "tonight" | "tonite" => Some((Meridiem::Pm, i + 1)),
        "in" | "this" | "at" | "tomorrow" | "yesterday" | "on" => {
            let j = if word_at(tokens, i + 1) == Some("the") {
                i + 2
            } else {
                i + 1
            };
            period(word_at(tokens, j)?).map(|m| (m, j + 1))
        }
        word => period(word).filter(|_| !tokens[i].joined).map(|m| (m, i + 1)),
    }
}

fn period(word: &str) -> Option<Meridiem> {
    match word {
        "morning" | "mornin" => Some(Meridiem::Am),
        "afternoon" | "evening" | "eve" => Some(Meridiem::Pm),
        "night" => Some(Meridiem::Night),
        _ => None,
    }
}

fn hour_word_or_digits(tokens: &[Token], i: usize) -> Option<(u32, usize)> {
    match word_at(tokens, i) {
        Some("noon" | "midday") => return Some((12, i + 1)),
        Some("midnight") => return Some((0, i + 1)),
        _ => {}
    }
    let token = tokens.get(i)?;
    if token.kind == Kind::Num && !token.text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let quantity = quantity_at(tokens, i, Locale::default(), false).filter(|q| !q.ordinal)?;
    let whole = quantity.value.fract() == 0.0 && (0.0..=24.0).contains(&quantity.value);
    whole.then_some((quantity.value as u32, quantity.end))
}

/// Minutes for "half", "quarter", "a quarter", "ten", "25 minutes" at token `i`.
fn minutes_at(tokens: &[Token], i: usize) -> Option<(u32, usize)> {
    match word_at(tokens, i) {
        Some("half") => return Some((30, i + 1)),
        Some("quarter") => return Some((15, i + 1)),
        Some("a") if word_at(tokens, i + 1) == Some("quarter") => return Some((15, i + 2)),
        _ => {}
    }
    let token = tokens.get(i)?;
    if token.kind == Kind::Num && !token.text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let quantity = quantity_at(tokens, i, Locale::default(), false).filter(|q| !q.ordinal)?;
    let minutes = quantity.value;
    if minutes.fract() != 0.0 || !(1.0..=59.0).contains(&minutes) {
        return None;
    }
    let end = if word_at(tokens, quantity.end).is_some_and(|w| matches!(w, "minute" | "minutes" | "min" | "mins")) {
        quantity.end + 1
    } else {
        quantity.end
    };
    Some((minutes as u32, end))
}

/// Words after which a bare number is an hour: "at 9", "around seven".
fn introduces_time(word: Option<&str>) -> bool {
    word.is_some_and(|w| {
        matches!(
            w,
            "at" | "around"
                | "about"
                | "by"
                | "after"
                | "before"
                | "from"
                | "until"
                | "till"
                | "til"
                | "circa"
                | "approx"
                | "approximately"
                | "say"
                | "roughly"
                | "ca"
        )
    })
}

/// How many tokens carry meaning (words and numbers that are not fillers like "please").
fn n_meaningful(tokens: &[Token]) -> usize {
    tokens
        .iter()
        .filter(|t| {
            t.kind != Kind::Sym
                && !t.is_any(&[
                    "please", "pls", "ok", "okay", "um", "uh", "hmm", "maybe", "probably", "perhaps", "thanks", "then",
                    "is", "fine", "good", "works",
                ])
        })
        .count()
}

/// Reads a time at token `i`: the reading and the token after it.
fn read_at(tokens: &[Token], i: usize) -> Option<(Reading, usize)> {
    let token = &tokens[i];
    let plain = |hour, minute, next| {
        Some((
            Reading {
                hour,
                minute,
                second: 0,
                meridiem: None,
                literal: false,
            },
            next,
        ))
    };
    let before = i.checked_sub(1).and_then(|b| word_at(tokens, b));
    match word_at(tokens, i) {
        Some("noon" | "midday") => {
            return Some((
                Reading {
                    hour: 12,
                    minute: 0,
                    second: 0,
                    meridiem: None,
                    literal: true,
                },
                i + 1,
            ));
        }
        Some("midnight") => {
            return Some((
                Reading {
                    hour: 0,
                    minute: 0,
                    second: 0,
                    meridiem: None,
                    literal: true,
                },
                i + 1,
            ));
        }
        _ => {}
    }

    // "half past three", "quarter to five", "ten past four", "half three".
    if let Some((minutes, next)) = minutes_at(tokens, i) {
        let direction = match word_at(tokens, next) {
            Some("past" | "after") => Some(1),
            Some("to" | "till" | "before" | "of") => Some(-1),
            _ => None,
        };
        if let Some(direction) = direction
            && let Some((hour, end)) = hour_word_or_digits(tokens, next + 1)
        {
            if hour > 12 && hour != 24 && word_at(tokens, next + 1).is_none() {
                return None;
            }
            let literal = word_at(tokens, next + 1).is_some_and(|w| w == "noon" || w == "midnight");
            let reading = if direction > 0 {
                Reading {
                    hour,
                    minute: minutes,
                    second: 0,
                    meridiem: None,
                    literal,
                }
            } else {
                Reading {
                    hour: (hour + 23) % 24,
                    minute: 60 - minutes,
                    second: 0,
                    meridiem: None,
                    literal,
                }
            };
            // "quarter to one" is 12:45, so an unmarked 0 means noon's side of the clock.
            let reading = if reading.hour == 0 && !literal {
                Reading { hour: 12, ..reading }
            } else {
                reading
            };
            return Some((reading, end));
        }
        if word_at(tokens, i) == Some("half")
            && let Some((hour, end)) = hour_word_or_digits(tokens, i + 1).filter(|(h, _)| (1..=12).contains(h))
        {
            return plain(hour, 30, end);
        }
    }

    match token.kind {
        Kind::Num if token.text.contains(':') => {
            let parts: Vec<&str> = token.text.split(':').collect();
            if parts.len() > 3
                || parts[1..].iter().any(|p| p.len() != 2)
                || parts[0].len() > 2
                || token.text.contains(['.', ',', '/', '-'])
            {
                return None;
            }
            let hour: u32 = parts[0].parse().ok()?;
            let minute: u32 = parts[1].parse().ok()?;
            let second: u32 = parts.get(2).map_or(Some(0), |s| s.parse().ok())?;
            let literal = hour == 0 || hour > 12 || parts[0].starts_with('0');
            Some((
                Reading {
                    hour,
                    minute,
                    second,
                    meridiem: None,
                    literal,
                },
                i + 1,
            ))
        }
        Kind::Num if token.text.contains('.') => {
            // "3.30pm", or "9.30" as a whole answer or after "at".
            let (hour, minute) = token.text.split_once('.')?;
            if minute.len() != 2 || hour.len() > 2 || minute.contains(['.', ',']) {
                return None;
            }
            let (hour, minute): (u32, u32) = (hour.parse().ok()?, minute.parse().ok()?);
            let marked = meridiem_at(tokens, i + 1).is_some();
            (marked || introduces_time(before) || n_meaningful(tokens) == 1).then(|| {
                (
                    Reading {
                        hour,
                        minute,
                        second: 0,
                        meridiem: None,
                        literal: hour > 12,
                    },
                    i + 1,
                )
            })
        }
        // "1030am", "1530 hrs": hours and minutes run together, only with a marker.
        Kind::Num if token.text.chars().all(|c| c.is_ascii_digit()) && (3..=4).contains(&token.text.len()) => {
            let digits: u32 = token.text.parse().ok()?;
            let (hour, minute) = (digits / 100, digits % 100);
            let hours_word = word_at(tokens, i + 1).is_some_and(|w| matches!(w, "h" | "hrs" | "hours" | "hr"));
            if hours_word {
                return Some((
                    Reading {
                        hour,
                        minute,
                        second: 0,
                        meridiem: None,
                        literal: true,
                    },
                    i + 2,
                ));
            }
            meridiem_at(tokens, i + 1).map(|_| {
                (
                    Reading {
                        hour,
                        minute,
                        second: 0,
                        meridiem: None,
                        literal: false,
                    },
                    i + 1,
                )
            })
        }
        Kind::Num if token.text.chars().all(|c| c.is_ascii_digit()) && token.text.len() <= 2 => {
            let hour: u32 = token.text.parse().ok()?;
            let next = tokens.get(i + 1);
            // "15h30", "15h".
            if next.is_some_and(|t| t.joined && t.is("h")) {
                let minute_token = tokens
                    .get(i + 2)
                    .filter(|t| t.joined && t.kind == Kind::Num && t.text.len() == 2);
                let minute = match minute_token {
                    Some(t) => t.text.parse().ok()?,
                    None => 0,
                };
                let end = if minute_token.is_some() { i + 3 } else { i + 2 };
                return Some((
                    Reading {
                        hour,
                        minute,
                        second: 0,
                        meridiem: None,
                        literal: true,
                    },
                    end,
                ));
            }
            match word_at(tokens, i + 1) {
                Some("noon") if hour == 12 => {
                    return Some((
                        Reading {
                            hour: 12,
                            minute: 0,
                            second: 0,
                            meridiem: None,
                            literal: true,
                        },
                        i + 2,
                    ));
                }
                Some("midnight") if hour == 12 => {
                    return Some((
                        Reading {
                            hour: 0,
                            minute: 0,
                            second: 0,
                            meridiem: None,
                            literal: true,
                        },
                        i + 2,
                    ));
                }
                Some("o'clock" | "oclock") => return plain(hour, 0, i + 2),
                Some("o") if word_at(tokens, i + 2) == Some("clock") => return plain(hour, 0, i + 3),
                _ => {}
            }
            // "3 30 pm", "at 9 30".
            if let Some(minutes) = next.filter(|t| t.kind == Kind::Num && t.text.len() == 2)
                && (meridiem_at(tokens, i + 2).is_some() || introduces_time(before) || n_meaningful(tokens) == 2)
            {
                return plain(hour, minutes.text.parse().ok()?, i + 2);
            }
            let marked = meridiem_at(tokens, i + 1).is_some();
            (marked || introduces_time(before) || n_meaningful(tokens) == 1).then(|| {
                (
                    Reading {
                        hour,
                        minute: 0,
                        second: 0,
                        meridiem: None,
                        literal: hour == 0 || hour > 12 || token.text.starts_with('0'),
                    },
                    i + 1,
                )
            })
        }
        Kind::Word => {
            // "seven thirty", "seven oh five", "nine forty-five", "seven o'clock", "at seven".
            let quantity =
                quantity_at(tokens, i, Locale::default(), false).filter(|q| !q.ordinal && q.value.fract() == 0.0)?;
            if !(1.0..=12.0).contains(&quantity.value) || tokens[i].is_any(&["a", "an", "half"]) {
                return None;
            }
            let hour = quantity.value as u32;
            // "nine-thirty".
            let hyphen = tokens.get(quantity.end).is_some_and(|t| t.is_sym('-') && t.joined)
                && tokens
                    .get(quantity.end + 1)
                    .is_some_and(|t| t.joined && t.kind == Kind::Word);
            let next = quantity.end + usize::from(hyphen);
            match word_at(tokens, next) {
                Some("o'clock" | "oclock") => return plain(hour, 0, next + 1),
                Some("o") if word_at(tokens, next + 1) == Some("clock") => return plain(hour, 0, next + 2),
                Some("oh" | "o") => {
                    let unit = quantity_at(tokens, next + 1, Locale::default(), false).filter(|q| {
                        !q.ordinal
                            && (1.0..=9.0).contains(&q.value)
                            && q.value.fract() == 0.0
                            && tokens[next + 1].kind == Kind::Word
                    })?;
                    return plain(hour, unit.value as u32, unit.end);
                }
                _ => {}
            }
            if let Some(minutes) = quantity_at(tokens, next, Locale::default(), false)
                .filter(|q| tokens[next].kind == Kind::Word && !q.ordinal)
                && minutes.value.fract() == 0.0
                && (10.0..=59.0).contains(&minutes.value)
            {
                return plain(hour, minutes.value as u32, minutes.end);
            }
            let marked = meridiem_at(tokens, next).is_some();
            (marked || introduces_time(before) || n_meaningful(tokens) == 1).then_some((
                Reading {
                    hour,
                    minute: 0,
                    second: 0,
                    meridiem: None,
                    literal: false,
                },
                next,
            ))
        }
        _ => None,
    }
}

/// The time a reading means, or `None` when it is impossible.
fn resolve(reading: Reading, meridiem: Option<Meridiem>) -> Option<NaiveTime> {
    let Reading {
        hour,
        minute,
        second,
        literal,
        ..
    } = reading;
    let hour = match meridiem {
        Some(Meridiem::Am) if (1..=12).contains(&hour) => hour % 12,
        Some(Meridiem::Pm) if (1..=12).contains(&hour) => hour % 12 + 12,
        Some(Meridiem::Am | Meridiem::Pm) => return None,
        Some(Meridiem::Night) if literal => hour,
        Some(Meridiem::Night) => match hour {
            12 => 0,
            5..=11 => hour + 12,
            _ => hour,
        },
        None if literal => hour,
        None => match hour {
            1..=6 => hour + 12,
            _ => hour,
        },
    };
    let hour = if hour == 24 && minute == 0 && second == 0 {
        0
    } else {
        hour
    };
    NaiveTime::from_hms_opt(hour, minute, second)
}

pub(super) fn time(text: &str) -> Option<NaiveTime> {
    let text = normalise(text)
        .replace("a.m.", "am")
        .replace("p.m.", "pm")
        .replace("a.m", "am")
        .replace("p.m", "pm");
    let tokens = tokenize(&text);
    // "between 3 and 5", "from 9 to 5" are ranges, not a time.
    let range = tokens.iter().any(|t| t.is("between"))
        || tokens.iter().position(|t| t.is("from")).is_some_and(|from| {
            tokens[from..]
                .iter()
                .any(|t| t.is_any(&["to", "until", "till", "til"]) || t.is_sym('-'))
        });
    if range {
        return None;
    }
    // A period word anywhere ("tomorrow morning at 9") applies to every time without am/pm.
    let general = (0..tokens.len()).find_map(|i| {
        meridiem_at(&tokens, i)
            .filter(|_| tokens[i].kind == Kind::Word && !tokens[i].is_any(&["am", "pm", "a", "p"]))
            .map(|(m, _)| m)
    });
    let mut times: Vec<Option<NaiveTime>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match read_at(&tokens, i) {
            Some((reading, next)) => {
                let (meridiem, end) = match meridiem_at(&tokens, next) {
                    Some((meridiem, end)) => (Some(meridiem), end),
                    None => (reading.meridiem.or(general), next),
                };
                times.push(resolve(reading, meridiem));
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    let first = (*times.first()?)?;
    times.iter().all(|t| *t == Some(first)).then_some(first)
}
