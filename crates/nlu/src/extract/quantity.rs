//! Numbers, amounts of money and percentages, written in digits, words or both.
//!
//! Numerals: "1,250.50", "1.250,50", ".5", "1/2", "1 1/2". When both `.` and `,` appear, the last
//! one is the decimal mark whatever the locale; a single separator followed by exactly three
//! digits ("1,250", "1.250") is a thousands separator or a decimal mark as the locale says, and
//! any other single separator ("1,5", "2.75") is a decimal mark in every locale, because people
//! type their home convention into foreign assistants. A space groups thousands ("1 250,50") only
//! in decimal-comma locales, where that is the norm; elsewhere "1 250" is two numbers. Fractions
//! are proper ones with short terms ("3/4"); "50/50" and "3/2" are not numbers.
//! Suffixes: "1.5k", and for money "2m", "3bn", "5 grand".
//! Words (English): "twenty-five", "one hundred and five", "a dozen", "half a million",
//! "two and a half", "3 and a half". "a few", "a couple", "some" are not numbers.
//! Ordinals ("3rd", "third") are positions, not quantities: `number` ignores them; dates and
//! options use them. An answer naming two different quantities ("2 or 3") reads as `None`.

use super::Amount;
use super::Locale;
use super::token::{Kind, Token, normalise, tokenize};

/// A number found in a token stream: tokens `start..end` have the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Quantity {
    pub start: usize,
    pub end: usize,
    pub value: f64,
    pub ordinal: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberWord {
    /// zero to nine.
    Unit(u32),
    /// ten to nineteen.
    Teen(u32),
    /// twenty, thirty, ... ninety.
    Tens(u32),
    Hundred,
    Scale(f64),
    Dozen,
    /// "first", "twentieth", "hundredth": the value, and whether it may follow a tens word ("twenty-first").
    Ordinal(u32),
    /// "hundredth", "thousandth": a scale that ends an ordinal ("one hundredth").
    OrdinalScale(f64),
}

const UNITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const TEENS: [&str; 10] = [
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
const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const ORDINALS: [&str; 19] = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const TENS_ORDINALS: [&str; 8] = [
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
];

fn number_word(word: &str) -> Option<NumberWord> {
    if let Some(n) = UNITS.iter().position(|w| *w == word) {
        return Some(NumberWord::Unit(n as u32));
    }
    if let Some(n) = TEENS.iter().position(|w| *w == word) {
        return Some(NumberWord::Teen(10 + n as u32));
    }
    if let Some(n) = TENS.iter().position(|w| *w == word) {
        return Some(NumberWord::Tens(20 + 10 * n as u32));
    }
    if let Some(n) = ORDINALS.iter().position(|w| *w == word) {
        return Some(NumberWord::Ordinal(1 + n as u32));
    }
    if let Some(n) = TENS_ORDINALS.iter().position(|w| *w == word) {
        return Some(NumberWord::Ordinal(20 + 10 * n as u32));
    }
    match word {
        "fourty" => Some(NumberWord::Tens(40)),
        "hundred" => Some(NumberWord::Hundred),
        "hundredth" => Some(NumberWord::OrdinalScale(100.0)),
        "thousandth" => Some(NumberWord::OrdinalScale(1e3)),
        "millionth" => Some(NumberWord::OrdinalScale(1e6)),
        "thousand" => Some(NumberWord::Scale(1e3)),
        "million" => Some(NumberWord::Scale(1e6)),
        "billion" => Some(NumberWord::Scale(1e9)),
        "trillion" => Some(NumberWord::Scale(1e12)),
        "dozen" => Some(NumberWord::Dozen),
        _ => None,
    }
}

/// Ordinal value of a word, for callers that want positions ("second") or days ("third").
pub(super) fn ordinal_word(word: &str) -> Option<u32> {
    match number_word(word) {
        Some(NumberWord::Ordinal(n)) => Some(n),
        _ => None,
    }
}

/// The value of a numeral such as "1,250.50" (see the module docs for separators).
pub(super) fn parse_numeral(raw: &str, decimal_comma: bool) -> Option<f64> {
    if raw.contains([':', '/', '-']) || raw.is_empty() {
        return None;
    }
    let n_dots = raw.matches('.').count();
    let n_commas = raw.matches(',').count();
    let (decimal, group) = match (n_dots, n_commas) {
        (0, 0) => (None, None),
        (d, c) if d > 0 && c > 0 => {
            let last = raw.chars().rev().find(|c| *c == '.' || *c == ',')?;
            let other = if last == '.' { ',' } else { '.' };
            if raw.matches(last).count() != 1 {
                return None;
            }
            (Some(last), Some(other))
        }
        (1, 0) | (0, 1) => {
            let separator = if n_dots == 1 { '.' } else { ',' };
            let (before, after) = raw.split_once(separator)?;
            let looks_grouped = after.len() == 3 && (1..=3).contains(&before.len()) && before != "0";
            let locale_groups_with_it = (separator == ',') != decimal_comma;
            if looks_grouped && locale_groups_with_it {
                (None, Some(separator))
            } else {
                (Some(separator), None)
            }
        }
        (_, 0) => (None, Some('.')),
        _ => (None, Some(',')),
    };
    let (integer, fraction) = match decimal {
        Some(mark) => raw.split_once(mark)?,
        None => (raw, ""),
    };
    let digits: String = match group {
        Some(group) => {
            let mut parts = integer.split(group);
            let first = parts.next()?;
            if first.is_empty() || first.len() > 3 {
                return None;
            }
            let mut digits = first.to_owned();
            for part in parts {
                if part.len() != 3 {
                    return None;
                }
                digits.push_str(part);
            }
            digits
        }
        None => integer.to_owned(),
    };
    if digits.is_empty() && fraction.is_empty() {
        return None;
    }
    let value: f64 = format!(
        "{}.{}",
        if digits.is_empty() { "0" } else { &digits },
        if fraction.is_empty() { "0" } else { fraction }
    )
    .parse()
    .ok()?;
    value.is_finite().then_some(value)
}

fn word_at(tokens: &[Token], i: usize) -> Option<&str> {
    tokens.get(i).filter(|t| t.kind == Kind::Word).map(|t| t.text.as_str())
}

fn is_number_word_at(tokens: &[Token], i: usize) -> bool {
    word_at(tokens, i).and_then(number_word).is_some()
}

/// A number written in words starting at token `i`: "one hundred and five", "twenty-first", "a dozen".
fn words_at(tokens: &[Token], i: usize) -> Option<Quantity> {
    #[derive(PartialEq, Clone, Copy)]
    enum Last {
        Nothing,
        Unit,
        Teen,
        Tens,
        Hundred,
        Scale,
    }
    let mut j = i;
    let mut total = 0.0;
    let mut segment: f64 = 0.0;
    let mut last = Last::Nothing;
    let mut largest_scale = f64::INFINITY;
    let mut implied_one = false;
    // The size of the last multiplying word, for "and a half": 1 for "two", 12 for "a dozen".
    let mut unit_size = 1.0;
    // "a hundred", "a dozen", "half a million".
    let mut multiplier = 1.0;
    if word_at(tokens, j) == Some("half") && word_at(tokens, j + 1) == Some("a") {
        if matches!(
            word_at(tokens, j + 2).and_then(number_word),
            Some(NumberWord::Hundred | NumberWord::Scale(_) | NumberWord::Dozen)
        ) {
            multiplier = 0.5;
            implied_one = true;
            j += 2;
        }
    } else if matches!(word_at(tokens, j), Some("a" | "an"))
        && matches!(
            word_at(tokens, j + 1).and_then(number_word),
            Some(NumberWord::Hundred | NumberWord::Scale(_) | NumberWord::Dozen)
        )
    {
        implied_one = true;
        j += 1;
    }
    let mut ordinal = false;
    let mut end = i;
    while j < tokens.len() {
        let token = &tokens[j];
        // "twenty-five": a hyphen joins two number words.
        if token.is_sym('-')
            && last != Last::Nothing
            && token.joined
            && tokens.get(j + 1).is_some_and(|t| t.joined)
            && is_number_word_at(tokens, j + 1)
        {
            j += 1;
            continue;
        }
        // "one hundred and five", "two thousand and twelve".
        if token.is("and") && matches!(last, Last::Hundred | Last::Scale) {
            let next = word_at(tokens, j + 1).and_then(number_word);
            if matches!(
                next,
                Some(NumberWord::Unit(_) | NumberWord::Teen(_) | NumberWord::Tens(_) | NumberWord::Ordinal(_))
            ) {
                j += 1;
                continue;
            }
        }
        let Some(word) = word_at(tokens, j).and_then(number_word) else {
            break;
        };
        match word {
            NumberWord::Unit(n)
                if matches!(last, Last::Nothing | Last::Hundred | Last::Scale) || (last == Last::Tens && n > 0) =>
            {
                if implied_one {
                    break;
                }
                segment += f64::from(n);
                unit_size = 1.0;
                last = Last::Unit;
            }
            NumberWord::Teen(n) | NumberWord::Tens(n)
                if matches!(last, Last::Nothing | Last::Hundred | Last::Scale) =>
            {
                if implied_one {
                    break;
                }
                segment += f64::from(n);
                unit_size = 1.0;
                last = if n < 20 { Last::Teen } else { Last::Tens };
            }
            NumberWord::Ordinal(n)
                if matches!(last, Last::Nothing | Last::Hundred | Last::Scale) || (last == Last::Tens && n < 10) =>
            {
                if implied_one {
                    break;
                }
                segment += f64::from(n);
                ordinal = true;
                end = j + 1;
                break;
            }
            NumberWord::OrdinalScale(scale)
                if !implied_one && matches!(last, Last::Unit | Last::Teen | Last::Tens | Last::Hundred) =>
            {
                if scale < 1e3 {
                    segment = segment.max(1.0) * scale;
                } else {
                    total += segment.max(1.0) * scale;
                    segment = 0.0;
                }
                ordinal = true;
                end = j + 1;
                break;
            }
            NumberWord::Hundred
                if (implied_one && last == Last::Nothing)
                    || (matches!(last, Last::Unit | Last::Teen | Last::Tens) && segment > 0.0 && segment < 100.0) =>
            {
                segment = segment.max(1.0) * 100.0;
                unit_size = 100.0;
                last = Last::Hundred;
                implied_one = false;
            }
            NumberWord::Scale(scale)
                if scale < largest_scale
                    && ((implied_one && last == Last::Nothing)
                        || (last != Last::Nothing
                            && last != Last::Scale
                            && (segment > 0.0 || last == Last::Hundred))) =>
            {
                total += segment.max(1.0) * scale;
                segment = 0.0;
                largest_scale = scale;
                unit_size = scale;
                last = Last::Scale;
                implied_one = false;
            }
            NumberWord::Dozen
                if (implied_one && last == Last::Nothing)
                    || (matches!(last, Last::Unit | Last::Teen | Last::Tens) && segment > 0.0) =>
            {
                segment = segment.max(1.0) * 12.0;
                unit_size = 12.0;
                end = j + 1;
                last = Last::Scale;
                break;
            }
            _ => break,
        }
        j += 1;
        end = j;
    }
    if last == Last::Nothing && !ordinal {
        return None;
    }
    let mut value = (total + segment) * multiplier;
    // "two and a half", "a million and a half".
    if !ordinal
        && word_at(tokens, end) == Some("and")
        && word_at(tokens, end + 1) == Some("a")
        && word_at(tokens, end + 2) == Some("half")
    {
        value += 0.5 * unit_size * multiplier;
        end += 3;
    }
    Some(Quantity {
        start: i,
        end,
        value,
        ordinal,
    })
}

/// "1/2", "3/4": a numerator smaller than a denominator of at most 2 digits. "50/50" and "3/2"
/// are not fractions (odds, dates); dates in `calendar` read their own numerals.
fn proper_fraction(raw: &str) -> Option<f64> {
    let (numerator, denominator) = raw.split_once('/')?;
    let short = |s: &str| !s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_digit());
    if !short(numerator) || !short(denominator) {
        return None;
    }
    let (numerator, denominator): (f64, f64) = (numerator.parse().ok()?, denominator.parse().ok()?);
    (numerator >= 1.0 && numerator < denominator).then(|| numerator / denominator)
}

/// A number written with digits starting at token `i`: "1,250.50", "1.5k", "2 million", "3rd".
fn digits_at(tokens: &[Token], i: usize, locale: Locale, money: bool) -> Option<Quantity> {
    let token = tokens.get(i).filter(|t| t.kind == Kind::Num)?;
    if let Some(fraction) = proper_fraction(&token.text) {
        return Some(Quantity {
            start: i,
            end: i + 1,
            value: fraction,
            ordinal: false,
        });
    }
    // "1 250,50" where a space groups thousands (fr, sv, ru, …): only in decimal-comma locales, where
    // it is the norm; elsewhere "1 250" is two numbers.
    let mut grouped = token.text.clone();
    let mut next = i + 1;
    let short_integer = token.text.len() <= 3 && token.text.chars().all(|c| c.is_ascii_digit());
    let space_grouping = locale.decimal_comma && short_integer;
    while let Some(group) = tokens
        .get(next)
        .filter(|t| space_grouping && t.kind == Kind::Num && !t.joined)
    {
        let digits = group.text.split(',').next().unwrap_or("");
        let is_group =
            digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit()) && group.text.matches(',').count() <= 1;
        if !is_group {
            break;
        }
        grouped.push_str(&group.text);
        next += 1;
        if group.text.contains(',') {
            break;
        }
    }
    let (mut value, mut end) = if next > i + 1 {
        (parse_numeral(&grouped, true)?, next)
    } else {
        (parse_numeral(&token.text, locale.decimal_comma)?, i + 1)
    };
    // "1 1/2": a whole number and a proper fraction.
    let whole = end == i + 1 && token.text.chars().all(|c| c.is_ascii_digit());
    if let Some(fraction) = tokens
        .get(i + 1)
        .filter(|t| whole && t.kind == Kind::Num && !t.joined)
        .and_then(|t| proper_fraction(&t.text))
    {
        return Some(Quantity {
            start: i,
            end: i + 2,
            value: value + fraction,
            ordinal: false,
        });
    }
    let integer = end == i + 1 && !token.text.contains(['.', ',']);
    if let Some(suffix) = tokens.get(end).filter(|t| t.joined && t.kind == Kind::Word) {
        let multiplier = match suffix.text.as_str() {
            "st" | "nd" | "rd" | "th" if integer => {
                return Some(Quantity {
                    start: i,
                    end: end + 1,
                    value,
                    ordinal: true,
                });
            }
            "k" => Some(1e3),
            "m" | "mn" | "mil" | "mio" if money => Some(1e6),
            "b" | "bn" if money => Some(1e9),
            _ => None,
        };
        if let Some(multiplier) = multiplier {
            value *= multiplier;
            end += 1;
        }
    }
    // "2 million", "1.5 thousand", "three hundred thousand" is handled in words.
    let mut largest = f64::INFINITY;
    while let Some(word) = word_at(tokens, end) {
        let scale = match number_word(word) {
            Some(NumberWord::Hundred) => 100.0,
            Some(NumberWord::Scale(scale)) => scale,
            Some(NumberWord::Dozen) => 12.0,
            _ if money && word == "grand" => 1e3,
            _ => break,
        };
        if scale >= largest {
            break;
        }
        largest = scale;
        value *= scale;
        end += 1;
    }
    // "3 and a half".
    if word_at(tokens, end) == Some("and")
        && word_at(tokens, end + 1) == Some("a")
        && word_at(tokens, end + 2) == Some("half")
    {
        value += 0.5 * if largest.is_finite() { largest } else { 1.0 };
        end += 3;
    }
    value.is_finite().then_some(Quantity {
        start: i,
        end,
        value,
        ordinal: false,
    })
}

/// The number starting at token `i`, if any; `money` admits "2m", "3bn" and "5 grand".
pub(super) fn quantity_at(tokens: &[Token], i: usize, locale: Locale, money: bool) -> Option<Quantity> {
    let token = tokens.get(i)?;
    match token.kind {
        Kind::Num => digits_at(tokens, i, locale, money),
        Kind::Word => words_at(tokens, i),
        Kind::Sym => None,
    }
}

/// Words after which "one" is a pronoun ("that one", "the second one"), not a count.
fn one_is_pronoun(tokens: &[Token], q: &Quantity) -> bool {
    let single_one = q.end == q.start + 1 && tokens[q.start].is("one");
    if !single_one {
        return false;
    }
    let before = q.start.checked_sub(1).and_then(|b| word_at(tokens, b));
    let after = word_at(tokens, q.end);
    let pronoun_before = before.is_some_and(|w| {
        [
            "the", "this", "that", "which", "no", "any", "each", "every", "some", "another", "other", "last", "new",
            "old", "same", "right", "wrong", "better", "next", "first",
        ]
        .contains(&w)
            || ordinal_word(w).is_some()
    });
    // "one of them", "one moment please", "one sec": idioms, not counts.
    pronoun_before
        || matches!(
            after,
            Some("of" | "another" | "moment" | "sec" | "mo" | "tick" | "sec.")
        )
}

/// Every number in the tokens, left to right, signs applied ("-3", "minus five").
pub(super) fn quantities(tokens: &[Token], locale: Locale, money: bool) -> Vec<Quantity> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let minus_sign = token.is_sym('-')
            && (i == 0 || !token.joined || tokens[i - 1].kind == Kind::Sym)
            && tokens.get(i + 1).is_some_and(|t| t.joined && t.kind == Kind::Num);
        let minus_word = token.is_any(&["minus", "negative"]);
        if (minus_sign || minus_word)
            && let Some(q) = quantity_at(tokens, i + 1, locale, money).filter(|q| !q.ordinal)
        {
            found.push(Quantity {
                start: i,
                end: q.end,
                value: -q.value,
                ordinal: false,
            });
            i = q.end;
            continue;
        }
        match quantity_at(tokens, i, locale, money) {
            Some(q) if one_is_pronoun(tokens, &q) => i += 1,
            Some(q) => {
                found.push(q);
                i = q.end.max(i + 1);
            }
            None => i += 1,
        }
    }
    found
}

/// The single value among `values`, if they all agree.
fn single<T: PartialEq + Clone>(values: impl IntoIterator<Item = T>) -> Option<T> {
    let mut values = values.into_iter();
    let first = values.next()?;
    values.all(|v| v == first).then_some(first)
}

pub(super) fn number(text: &str, locale: Locale) -> Option<f64> {
    let tokens = tokenize(&normalise(text));
    single(
        quantities(&tokens, locale, false)
            .into_iter()
            .filter(|q| !q.ordinal)
            .map(|q| q.value),
    )
}

pub(super) fn percentage(text: &str, locale: Locale) -> Option<f64> {
    let tokens = tokenize(&normalise(text));
    let found: Vec<Quantity> = quantities(&tokens, locale, false)
        .into_iter()
        .filter(|q| !q.ordinal)
        .collect();
    let marked = found.iter().filter(|q| {
        let next = tokens.get(q.end);
        // English, and the words of the decimal-comma locales' languages that users mix in.
        let one_word = [
            "percent",
            "pct",
            "percentage",
            "procent",
            "pc",
            "prozent",
            "pourcent",
            "percento",
            "porcentaje",
        ];
        let two_words = [
            ("per", "cent"),
            ("per", "centum"),
            ("pour", "cent"),
            ("por", "ciento"),
            ("por", "cento"),
        ];
        next.is_some_and(|t| t.is_sym('%') || t.is_any(&one_word))
            || two_words.iter().any(|(first, second)| {
                next.is_some_and(|t| t.is(first)) && tokens.get(q.end + 1).is_some_and(|t| t.is(second))
            })
    });
    let marked: Vec<f64> = marked.map(|q| q.value).collect();
    if !marked.is_empty() {
        return single(marked);
    }
    single(found.iter().map(|q| q.value))
}

/// Currency written before an amount: "$", "US$", "EUR", "£".
fn currency_before(tokens: &[Token], start: usize) -> Option<(&'static str, usize)> {
    let i = start.checked_sub(1)?;
    let token = &tokens[i];
    if token.kind == Kind::Sym {
        let code = symbol_currency(&token.text)?;
        // "US$ 5", "C$5", "R$ 10": a letter prefix picks the dollar (or real).
        if token.joined
            && code == "USD"
            && let Some(prefix) = i.checked_sub(1).and_then(|p| word_at(tokens, p))
        {
            let prefixed = match prefix {
                "us" => Some("USD"),
                "c" | "ca" | "can" | "cad" => Some("CAD"),
                "a" | "au" | "aud" => Some("AUD"),
                "nz" => Some("NZD"),
                "hk" => Some("HKD"),
                "s" | "sg" => Some("SGD"),
                "r" => Some("BRL"),
                "mx" => Some("MXN"),
                _ => None,
            };
            if let Some(code) = prefixed {
                return Some((code, i - 1));
            }
        }
        return Some((code, i));
    }
    let word = word_at(tokens, i)?;
    if let Some(code) = iso_code(word) {
        return Some((code, i));
    }
    match word {
        "rs" | "inr" => Some(("INR", i)),
        _ => None,
    }
}

/// Currency written after an amount: "30€", "30 EUR", "25 dollars", "12 canadian dollars".
/// Returns the code, the end of the currency tokens and a factor for minor units ("50p").
fn currency_after(tokens: &[Token], end: usize) -> Option<(&'static str, usize, f64)> {
    let token = tokens.get(end)?;
    if token.kind == Kind::Sym {
        return symbol_currency(&token.text).map(|code| (code, end + 1, 1.0));
    }
    let word = word_at(tokens, end)?;
    if let Some(code) = iso_code(word) {
        return Some((code, end + 1, 1.0));
    }
    let dollar_word =
        |i: usize| word_at(tokens, i).is_some_and(|w| matches!(w, "dollar" | "dollars" | "buck" | "bucks"));
    let national = match word {
        "us" | "american" => Some("USD"),
        "canadian" => Some("CAD"),
        "australian" | "aussie" => Some("AUD"),
        "singapore" => Some("SGD"),
        _ => None,
    };
    if let Some(code) = national.filter(|_| dollar_word(end + 1)) {
        return Some((code, end + 2, 1.0));
    }
    let code = match word {
        "dollar" | "dollars" | "buck" | "bucks" | "usd" => "USD",
        "euro" | "euros" => "EUR",
        "pound" | "pounds" | "quid" | "sterling" => "GBP",
        "yen" => "JPY",
        "yuan" | "renminbi" | "rmb" => "CNY",
        "rupee" | "rupees" => "INR",
        "franc" | "francs" => "CHF",
        "p" | "pence" | "penny" => return Some(("GBP", end + 1, 0.01)),
        _ => return None,
    };
    Some((code, end + 1, 1.0))
}

fn symbol_currency(symbol: &str) -> Option<&'static str> {
    Some(match symbol {
        "$" => "USD",
        "€" => "EUR",
        "£" => "GBP",
        "¥" | "￥" => "JPY",
        "₹" => "INR",
        "₩" => "KRW",
        "₺" => "TRY",
        "₽" => "RUB",
        "₪" => "ILS",
        "₱" => "PHP",
        "₫" => "VND",
        "฿" => "THB",
        "₴" => "UAH",
        "₦" => "NGN",
        _ => return None,
    })
}

const ISO_CODES: [&str; 40] = [
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN",
    "ISK", "INR", "CNY", "HKD", "SGD", "KRW", "TWD", "THB", "MYR", "IDR", "PHP", "VND", "BRL", "MXN", "ARS", "CLP",
    "COP", "ZAR", "NGN", "EGP", "TRY", "ILS", "AED", "SAR",
];

fn iso_code(word: &str) -> Option<&'static str> {
    if word.len() != 3 {
        return None;
    }
    ISO_CODES.iter().copied().find(|code| code.eq_ignore_ascii_case(word))
}

pub(super) fn amount(text: &str, locale: Locale) -> Option<Amount> {
    let tokens = tokenize(&normalise(text));
    let found: Vec<Quantity> = quantities(&tokens, locale, true)
        .into_iter()
        .filter(|q| !q.ordinal)
        .collect();
    let mut marked = Vec::new();
    let mut bare = Vec::new();
    for q in &found {
        // "-$5": the sign comes before the symbol.
        let negative_outside = q.start >= 2 && tokens[q.start - 2].is_sym('-') && tokens[q.start - 1].joined;
        if let Some((code, _)) = currency_before(&tokens, q.start) {
            let value = if negative_outside && tokens[q.start - 1].kind == Kind::Sym {
                -q.value
            } else {
                q.value
            };
            marked.push(Amount {
                value,
                currency: Some(code.to_owned()),
            });
        } else if let Some((code, after, factor)) = currency_after(&tokens, q.end) {
            let mut value = q.value * factor;
            // "5 dollars and 50 cents", "12 pounds 50".
            let mut next = after;
            if word_at(&tokens, next) == Some("and") {
                next += 1;
            }
            if factor == 1.0
                && let Some(minor) = quantity_at(&tokens, next, locale, false)
                    .filter(|m| !m.ordinal && m.value < 100.0 && m.value.fract() == 0.0)
            {
                let named =
                    word_at(&tokens, minor.end).is_some_and(|w| matches!(w, "cent" | "cents" | "p" | "pence" | "c"));
                let nothing_follows = minor.end == tokens.len() || tokens[minor.end].kind == Kind::Sym;
                if named || (next == after && nothing_follows) {
                    value += minor.value.copysign(value) / 100.0;
                }
            }
            marked.push(Amount {
                value,
                currency: Some(code.to_owned()),
            });
        } else if word_at(&tokens, q.end)
            .is_some_and(|w| matches!(w, "cent" | "cents" | "ct" | "cts") || (w == "c" && tokens[q.end].joined))
            || tokens.get(q.end).is_some_and(|t| t.is_sym('¢'))
        {
            bare.push(Amount {
                value: q.value / 100.0,
                currency: None,
            });
        } else {
            bare.push(Amount {
                value: q.value,
                currency: None,
            });
        }
    }
    // The minor part of "5 dollars and 50 cents" is itself a quantity; it is not a second amount.
    if !marked.is_empty() {
        return single(marked);
    }
    single(bare)
}
