//! Value extraction for question response types: reads what people really write.
//!
//! Each function looks for one kind of value in a customer's answer and returns `None` when there
//! is none; none of them panics, whatever the input, and each reads at most the first 2 KB of it
//! (cut at whitespace: [`clip`]), so work stays linear and small on any input.
//!
//! Decisions that shape every extractor:
//! - An answer that names two different values of the kind asked for ("2 or 3", "Monday or
//!   Tuesday", "yes no", two email addresses) has no single answer and reads as `None`, so the
//!   runtime re-asks instead of guessing. Repeating the same value is fine.
//! - Values are found inside sentences ("I'd say about 25", "call me at 3pm please").
//! - Ordinals ("3rd", "third") are positions, not quantities: `number`, `amount` and
//!   `percentage` ignore them; `date` reads them as days and `option` as positions.
//!
//! Per extractor, see the submodules: `quantity` (number, amount, percentage), `calendar`
//! (date), `clock` (time), `answer` (yes/no), `choice` (options) and `contact`
//! (email, phone).

mod answer;
mod calendar;
mod choice;
mod clock;
mod contact;
mod quantity;
mod token;

pub(crate) use token::{FnvBuildHasher, edit_distance};
pub use token::{MAX_INPUT_BYTES, clip};

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
    /// The ISO 4217 code of the region's currency (`USD` for `en-US`), for an amount that names
    /// none; `None` for a tag without a region, or a region not in the table.
    pub currency: Option<&'static str>,
}

impl Locale {
    /// From a BCP 47 tag such as `en-US`, `en-GB`, `de-DE`; unknown tags read as `en-US`.
    ///
    /// Day first is the rule outside North America, the Philippines and a few US territories.
    /// Year-first locales (ja, zh, ko, hu, lt, …) read as month first, the order their
    /// "year/month/day" leaves for a "month/day" answer. Decimal commas are used by most of
    /// continental Europe, Latin America (except Mexico and Central America), Russia, Turkey,
    /// Indonesia and Vietnam; Swiss German, French and Italian use a point.
    /// Accepts `_` for `-`, any case, and POSIX suffixes ("de_DE.UTF-8").
    pub fn from_tag(tag: &str) -> Locale {
        let tag = tag.split(['.', '@']).next().unwrap_or("").to_ascii_lowercase();
        let mut subtags = tag.split(['-', '_']);
        let language = subtags.next().unwrap_or("");
        // The region is the first two-letter or three-digit subtag after the language ("zh-Hant-TW").
        let region = subtags
            .find(|s| {
                (s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()))
                    || (s.len() == 3 && s.chars().all(|c| c.is_ascii_digit()))
            })
            .unwrap_or("");
        const MONTH_FIRST_REGIONS: [&str; 9] = ["us", "ca", "ph", "pr", "gu", "as", "um", "vi", "mh"];
        const YEAR_FIRST_LANGUAGES: [&str; 8] = ["ja", "zh", "ko", "hu", "lt", "mn", "eo", "fil"];
        const DAY_FIRST_LANGUAGES: [&str; 52] = [
            "fr", "de", "es", "it", "nl", "pt", "ru", "pl", "cs", "sk", "sl", "hr", "sr", "bs", "sv", "nb", "nn", "no",
            "da", "fi", "et", "lv", "ro", "bg", "uk", "be", "tr", "el", "id", "vi", "ca", "eu", "gl", "is", "kk", "az",
            "ka", "hy", "mk", "sq", "af", "ga", "cy", "he", "ar", "hi", "th", "ms", "sw", "fa", "ur", "bn",
        ];
        const DECIMAL_COMMA_LANGUAGES: [&str; 42] = [
            "fr", "de", "es", "it", "nl", "pt", "ru", "pl", "cs", "sk", "sl", "hr", "sr", "bs", "sv", "nb", "nn", "no",
            "da", "fi", "et", "lv", "lt", "ro", "bg", "uk", "be", "tr", "el", "id", "vi", "ca", "eu", "gl", "is", "kk",
            "az", "ka", "hy", "mk", "sq", "hu",
        ];
        const DECIMAL_POINT_REGIONS: [&str; 11] = ["ch", "li", "mx", "us", "pr", "do", "gt", "hn", "ni", "pa", "sv"];
        let date_order = match language {
            "en" if region.is_empty() || MONTH_FIRST_REGIONS.contains(&region) => DateOrder::MonthFirst,
            "en" => DateOrder::DayFirst,
            language if YEAR_FIRST_LANGUAGES.contains(&language) => DateOrder::MonthFirst,
            language if DAY_FIRST_LANGUAGES.contains(&language) => DateOrder::DayFirst,
            _ => DateOrder::MonthFirst,
        };
        let decimal_comma = DECIMAL_COMMA_LANGUAGES.contains(&language) && !DECIMAL_POINT_REGIONS.contains(&region);
        Locale {
            date_order,
            decimal_comma,
            currency: region_currency(region),
        }
    }
}

/// The currency of a region (ISO 3166 code, lower case), where one currency is clearly meant.
fn region_currency(region: &str) -> Option<&'static str> {
    const EURO_AREA: [&str; 20] = [
        "at", "be", "cy", "de", "ee", "es", "fi", "fr", "gr", "hr", "ie", "it", "lt", "lu", "lv", "mt", "nl", "pt",
        "si", "sk",
    ];
    Some(match region {
        "us" | "pr" | "gu" | "as" | "vi" | "um" | "mh" | "ec" | "sv" => "USD",
        "gb" => "GBP",
        region if EURO_AREA.contains(&region) => "EUR",
        "ca" => "CAD",
        "au" => "AUD",
        "nz" => "NZD",
        "in" => "INR",
        "ch" | "li" => "CHF",
        "jp" => "JPY",
        "za" => "ZAR",
        "sg" => "SGD",
        "hk" => "HKD",
        "mx" => "MXN",
        "br" => "BRL",
        "se" => "SEK",
        "no" => "NOK",
        "dk" => "DKK",
        "pl" => "PLN",
        "cz" => "CZK",
        _ => return None,
    })
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

/// "twenty five", "one hundred and five", "a dozen", "1,250.50", "1.5k", "2 million", "-3", "1 1/2".
///
/// Ordinals are positions, not quantities: `number("3rd")` is `None`. An answer with two different
/// numbers ("2 or 3", "order 12345, 3 items") is `None`. The locale decides only the ambiguous
/// "1,250" / "1.250"; see the `quantity` module for separators.
pub fn number(text: &str, locale: Locale) -> Option<f64> {
    quantity::number(text, locale)
}

/// "$25", "25 dollars", "25 bucks", "EUR 30", "30€", "£12.50", "50p", "C$40", "twenty dollars";
/// a bare number is an amount without currency.
///
/// `$` and "dollars" are USD unless prefixed or qualified ("C$", "A$", "canadian dollars"); `¥`
/// is JPY. "5 dollars and 50 cents" is 5.5 USD; "50 cents" alone is 0.5 without currency. An
/// amount with a currency wins over bare numbers ("$25 for 2 items" is 25 USD); two different
/// amounts with currencies are `None`.
pub fn amount(text: &str, locale: Locale) -> Option<Amount> {
    quantity::amount(text, locale)
}

/// "15%", "15 percent", "fifteen per cent", "0.5%"; a bare number is read as a percentage.
///
/// The value is in percent: "15%" is `15.0`, not `0.15`. A number marked as a percentage wins over
/// bare numbers ("15% of 200" is 15).
pub fn percentage(text: &str, locale: Locale) -> Option<f64> {
    quantity::percentage(text, locale)
}

/// "tomorrow", "next Friday", "in 3 days", "the 3rd of March", "03/04/2026" (by locale),
/// "2026-03-04", "end of the month"; relative to `today`.
///
/// A date without a year ("March 3", "3/4") is the occurrence nearest to `today` (one year back or
/// ahead); "next Friday" is the Friday of next week; a bare weekday is the soonest one, today
/// included. Impossible dates ("February 30") are `None`. See the `calendar` module.
pub fn date(text: &str, today: NaiveDate, locale: Locale) -> Option<NaiveDate> {
    calendar::date(text, today, locale)
}

/// "half past three", "quarter to five", "15:30", "3pm", "3:30 pm", "noon", "at 9",
/// "9 in the morning", "seven thirty".
///
/// An hour from 1 to 6 without am/pm or a period word is read as afternoon ("at 3" is 15:00);
/// 24-hour forms ("03:00", "15:30") are read as written. See the `clock` module.
pub fn time(text: &str) -> Option<NaiveTime> {
    clock::time(text)
}

/// "yes", "yep", "sure thing", "of course", "that's right", "👍" → true; "no", "nope",
/// "not really", "no thanks", "I don't think so" → false.
///
/// Doubt ("maybe", "not sure", "I don't know") and contradiction ("yes no") are `None`.
pub fn yes_no(text: &str) -> Option<bool> {
    answer::yes_no(text)
}

/// The index of the chosen option: by label, value, synonym (also inside a sentence: "the savings
/// one please"), position ("the second one", "#2", "last"), or a close misspelling ("savngs").
///
/// An answer that points at two options is `None`. See the `choice` module for the order of rules.
pub fn option(text: &str, options: &[OptionRef<'_>]) -> Option<usize> {
    choice::option(text, options)
}

/// The option named in `text` by label, value or synonym (also inside a sentence), and nothing
/// looser: for a message that was not an answer to the question, where "the second" or "2" mean
/// something else. An answer that names two options is `None`.
pub fn option_named(text: &str, options: &[OptionRef<'_>]) -> Option<usize> {
    choice::option_named(text, options)
}

/// An email address found in the text, lower-cased domain; also spelt out ("john at example dot com").
///
/// Two different addresses are `None`.
pub fn email(text: &str) -> Option<String> {
    contact::email(text)
}

/// A phone number found in the text, normalised to digits with an optional leading `+`.
///
/// 7 to 15 digits grouped by spaces, dashes, dots or parentheses; "+44 (0)20 …" drops the "(0)".
/// Dates and decimals are not phone numbers; two different numbers are `None`.
pub fn phone(text: &str) -> Option<String> {
    contact::phone(text)
}
