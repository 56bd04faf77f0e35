//! Normalising and tokenising answers, shared by every extractor.
//!
//! Work is capped by length: only the first [`MAX_INPUT_BYTES`] of an answer are read, cut at
//! whitespace so no number or word is split, which keeps every extractor linear and fast on
//! pasted novels. Answers to questions are short; a value past the cap is not found.

/// How much of an answer the extractors read.
pub const MAX_INPUT_BYTES: usize = 2048;

/// The part of an answer the extractors read: its first [`MAX_INPUT_BYTES`], ending at whitespace
/// where possible. What they find in `text` is what they find in `clip(text)`.
pub fn clip(text: &str) -> &str {
    if text.len() <= MAX_INPUT_BYTES {
        return text;
    }
    let mut end = MAX_INPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(space) if space > 0 => &text[..space],
        _ => &text[..end],
    }
}

/// Lower-cases and folds typographic variants (curly quotes, minus signs, dashes, full-width digits) to ASCII.
pub(super) fn normalise(text: &str) -> String {
    clip(text)
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02bc}' | '`' | '\u{00b4}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{2212}' | '\u{2013}' | '\u{2010}' | '\u{2011}' => '-',
            '\u{ff05}' => '%',
            // Full-width digits and colon, as typed on CJK keyboards.
            '\u{ff10}'..='\u{ff19}' => char::from_u32(c as u32 - 0xff10 + '0' as u32).unwrap_or(c),
            '\u{ff1a}' => ':',
            '\u{ff04}' => '$',
            c => c,
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A run of letters, with inner apostrophes ("don't").
    Word,
    /// A run of ASCII digits, with inner separators `.,:/-` each followed by a digit ("1,250.50",
    /// "2026-03-04"), or a leading point (".5").
    Num,
    /// Any other single character that is not whitespace.
    Sym,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub kind: Kind,
    pub text: String,
    /// True when no whitespace separates this token from the previous one ("3pm", "$25").
    pub joined: bool,
}

impl Token {
    pub fn is(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text == word
    }

    pub fn is_any(&self, words: &[&str]) -> bool {
        self.kind == Kind::Word && words.contains(&self.text.as_str())
    }

    pub fn is_sym(&self, c: char) -> bool {
        self.kind == Kind::Sym && self.text.starts_with(c) && self.text.len() == c.len_utf8()
    }
}

/// Splits normalised text into words, numerals and symbols.
pub(super) fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut joined = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            joined = false;
            i += 1;
            continue;
        }
        let start = i;
        let leading_point = c == '.'
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            && (i == 0 || !chars[i - 1].is_alphanumeric());
        let kind = if c.is_ascii_digit() || leading_point {
            i += 1;
            while i < chars.len() {
                let digit = chars[i].is_ascii_digit();
                let separator_then_digit = matches!(chars[i], '.' | ',' | ':' | '/' | '-')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if digit {
                    i += 1;
                } else if separator_then_digit {
                    i += 2;
                } else {
                    break;
                }
            }
            Kind::Num
        } else if c.is_alphabetic() {
            i += 1;
            while i < chars.len() {
                let letter = chars[i].is_alphabetic();
                let apostrophe_then_letter = chars[i] == '\'' && chars.get(i + 1).is_some_and(|c| c.is_alphabetic());
                if letter {
                    i += 1;
                } else if apostrophe_then_letter {
                    i += 2;
                } else {
                    break;
                }
            }
            Kind::Word
        } else {
            i += 1;
            Kind::Sym
        };
        tokens.push(Token {
            kind,
            text: chars[start..i].iter().collect(),
            joined,
        });
        joined = true;
    }
    tokens
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions, `strsim`'s), or
/// `None` when it exceeds `limit`. Inputs longer than 64 characters are never close to anything:
/// the distance costs time in the product of the lengths, and no name or word is that long.
pub(crate) fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let (a_len, b_len) = (n_chars(a), n_chars(b));
    // The lengths alone can rule a pair out, before the table is built.
    if a_len > 64 || b_len > 64 || a_len.abs_diff(b_len) > limit || bag_distance(a, b) > limit {
        return None;
    }
    let distance = strsim::osa_distance(a, b);
    (distance <= limit).then_some(distance)
}

/// FNV-1a, for the extractors' fixed tables and memo keys, and the embedding table's vocabulary: what they hash is the assistant's own
/// words, or the customer's looked up and never inserted, so there is no flooding to resist, and
/// for words of a few letters it costs a fraction of the standard library's SipHash.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash maps keyed with [`Fnv`].
pub(crate) type FnvBuildHasher = std::hash::BuildHasherDefault<Fnv>;

/// How many characters `text` has; for ASCII (nearly every word compared) its length, without
/// the count's pass over the bytes.
pub(super) fn n_chars(text: &str) -> usize {
    match text.is_ascii() {
        true => text.len(),
        false => text.chars().count(),
    }
}

/// A lower bound of the edit distance that costs one pass over each string: how many letters one
/// has that the other lacks, the larger count of the two. An edit changes it by one at most, a
/// transposition not at all; letters are counted in 64 buckets, which can only lower it. Most
/// pairs an answer is compared with are ruled out by it before the table is built.
fn bag_distance(a: &str, b: &str) -> usize {
    let mut counts = [0i32; 64];
    for c in a.chars() {
        counts[(c as usize) % 64] += 1;
    }
    for c in b.chars() {
        counts[(c as usize) % 64] -= 1;
    }
    let (more, fewer) = counts.iter().fold(
        (0, 0),
        |(more, fewer), &n| {
            if n > 0 { (more + n, fewer) } else { (more, fewer - n) }
        },
    );
    usize::try_from(more.max(fewer)).unwrap_or(usize::MAX)
}

/// How many edits a misspelling of a word this long may have: none up to 3 letters, one up to 6, two beyond.
pub(super) fn typo_limit(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bag_distance_never_exceeds_the_edit_distance() {
        let words = [
            "savings",
            "savngs",
            "checking",
            "chequing",
            "february",
            "feburary",
            "wednesday",
            "wensday",
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "cab",
            "zzzz",
            "café",
            "cafe",
            "naïve",
            "business",
            "busines",
        ];
        for a in words {
            for b in words {
                assert!(
                    bag_distance(a, b) <= strsim::osa_distance(a, b),
                    "{a:?} {b:?}: bag {} > osa {}",
                    bag_distance(a, b),
                    strsim::osa_distance(a, b)
                );
            }
        }
        assert_eq!(bag_distance("abc", "xyz"), 3);
        assert_eq!(bag_distance("feburary", "february"), 0);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("feburary", "february", 2), Some(1));
        assert_eq!(edit_distance("savngs", "savings", 2), Some(1));
        assert_eq!(edit_distance("wensday", "wednesday", 2), Some(2));
        assert_eq!(edit_distance("abc", "xyz", 2), None);
        assert_eq!(edit_distance("", "", 0), Some(0));
    }

    #[test]
    fn tokens_keep_numerals_whole() {
        let tokens = tokenize("i paid $1,250.50 on 2026-03-04, didn't i? 3pm");
        let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "i",
                "paid",
                "$",
                "1,250.50",
                "on",
                "2026-03-04",
                ",",
                "didn't",
                "i",
                "?",
                "3",
                "pm"
            ]
        );
        assert!(tokens[3].joined && !tokens[2].joined && tokens[11].joined);
    }

    #[test]
    fn clip_cuts_at_whitespace() {
        let long = format!("{} 12345", "a".repeat(MAX_INPUT_BYTES - 3));
        assert_eq!(clip(&long), "a".repeat(MAX_INPUT_BYTES - 3));
    }
}
