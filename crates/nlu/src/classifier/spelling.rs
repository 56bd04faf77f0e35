//! Autocorrection: a misspelt word of a message is replaced by the assistant's own word it is one
//! edit away from ("chekc my balence" → "check my balance"), before the message is classified.
//!
//! Only words the assistant has never seen are touched, and only towards words of its examples
//! (IBM's autocorrection works the same way, from the training data), so a message spelt right
//! classifies exactly as before. A real word is never "corrected" either: a word of the embedding
//! table's vocabulary (about 23,000 whole English words, `embedding.rs`) is known, so "purple
//! monkey" stays "purple monkey" although "monkey" is one edit from "money" (issue 25). An edit is an insertion, a deletion, a substitution or a swap of
//! two neighbouring letters (optimal string alignment). Words shorter than [`MIN_LENGTH`] and
//! words with digits are left alone: three letters are too few to tell a typo from another word.
//!
//! Measured with `baton eval --typos 0.2` (a fifth of the test words mistyped; docs/benchmarks.md):
//! BANKING77 89.87% → 92.01%, HWU64 84.20% → 87.73%, with clean test sets and out-of-scope
//! detection unchanged. Correcting from four letters gained 0.6 points over five; from three, 0.2
//! more, not taken.
//!
//! Candidates are found by deletion (the SymSpell method): every known word is indexed under
//! itself and each string one letter shorter; a misspelt word looks up itself and its own
//! one-letter deletions, and every candidate found is checked by its true distance. An unknown
//! word costs a binary search per letter, with no scan of the vocabulary; a known word, one hash
//! look-up.

use std::collections::HashMap;

use super::features::{HashIndex, hash_chars, word_hash};
use crate::extract::edit_distance;

/// Words shorter than this (in characters) are never corrected.
pub const MIN_LENGTH: usize = 4;

/// Nor are words longer than this: no word of a language is, and the candidates of a word cost
/// time in the square of its length (a 4 KB "word" would cost milliseconds).
pub const MAX_LENGTH: usize = 30;

/// The known words and the index of their one-letter deletions.
#[derive(Debug, Clone, Default)]
pub struct Speller {
    /// Known words, each with the number of training texts it occurs in.
    words: Vec<(String, u32)>,
    /// Hash of each known word → its index.
    known: HashIndex,
    /// (hash of a known word or of one of its one-letter deletions, that word's index), sorted:
    /// the words a key comes from are a run found by binary search. A sorted list takes a third
    /// of the memory of a map of lists.
    deletions: Vec<(u64, u32)>,
    /// Whether the words of the embedding table's vocabulary are known too.
    table_words: bool,
}

impl Speller {
    /// Learns the words of `texts` (each a list of words, as [`super::features::words`] gives);
    /// with `table_words`, the whole-word tokens of the embedding table are known words too, left
    /// alone although no text has them.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a [String]>, table_words: bool) -> Speller {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for words in texts {
            let mut seen: Vec<&str> = words.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for word in seen {
                *counts.entry(word).or_default() += 1;
            }
        }
        // Sorted so that the index, and so every correction, is the same from run to run.
        let mut words: Vec<(String, u32)> = counts
            .into_iter()
            .map(|(word, count)| (word.to_owned(), count))
            .collect();
        words.sort_unstable();
        let mut speller = Speller {
            words,
            table_words,
            ..Speller::default()
        };
        for (index, (word, _)) in speller.words.iter().enumerate() {
            let index = index as u32;
            speller.known.insert(word_hash(word), index);
            if correctable_towards(word) {
                let keys = std::iter::once(word_hash(word)).chain(deletion_hashes(word));
                speller.deletions.extend(keys.map(|key| (key, index)));
            }
        }
        speller.deletions.sort_unstable();
        speller.deletions.dedup();
        speller.deletions.shrink_to_fit();
        speller
    }

    /// Replaces each unknown word of `words` that is one edit from a known word by that word;
    /// when several are, the one in the most training texts (then the first alphabetically).
    pub fn correct(&self, words: &mut [String]) {
        for word in words.iter_mut() {
            if let Some(replacement) = self.correction(word) {
                *word = replacement.to_owned();
            }
        }
    }

    /// The known word `word` is a misspelling of, if it is unknown and one edit from one.
    fn correction(&self, word: &str) -> Option<&str> {
        if self.known.contains_key(&word_hash(word)) || !correctable(word) {
            return None;
        }
        if self.table_words && super::embedding::table().knows(word) {
            return None;
        }
        let mut best: Option<(u32, &str)> = None;
        for key in std::iter::once(word_hash(word)).chain(deletion_hashes(word)) {
            let start = self.deletions.partition_point(|&(found, _)| found < key);
            let run = self.deletions[start..].iter().take_while(|&&(found, _)| found == key);
            for &(_, index) in run {
                let (candidate, count) = &self.words[index as usize];
                if !within_one_edit(word, candidate) {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((best_count, best_word)) => {
                        *count > best_count || (*count == best_count && candidate.as_str() < best_word)
                    }
                };
                if better {
                    best = Some((*count, candidate));
                }
            }
        }
        best.map(|(_, word)| word)
    }

    /// Approximate heap size in bytes.
    pub fn bytes(&self) -> usize {
        self.words.iter().map(|(word, _)| word.capacity() + 32).sum::<usize>()
            + self.known.capacity() * 13
            + self.deletions.capacity() * std::mem::size_of::<(u64, u32)>()
    }
}

/// Whether a message word may be corrected: of a word's length, letters only.
fn correctable(word: &str) -> bool {
    (MIN_LENGTH..=MAX_LENGTH).contains(&word.chars().count()) && word.chars().all(char::is_alphabetic)
}

/// Whether a known word may be the correction of a word: within a letter of the lengths of
/// correctable words, letters only.
fn correctable_towards(word: &str) -> bool {
    (MIN_LENGTH - 1..=MAX_LENGTH + 1).contains(&word.chars().count()) && word.chars().all(char::is_alphabetic)
}

/// The [`word_hash`] of `word` with each one of its characters left out, in turn (no string is
/// built).
fn deletion_hashes(word: &str) -> impl Iterator<Item = u64> + '_ {
    (0..word.chars().count()).map(move |left_out| {
        let kept = word
            .chars()
            .enumerate()
            .filter(move |(index, _)| *index != left_out)
            .map(|(_, character)| character);
        hash_chars(kept)
    })
}

/// Whether `a` and `b` are at most one edit apart: an insertion, a deletion, a substitution or a
/// swap of two neighbouring characters (the options extractor's distance).
fn within_one_edit(a: &str, b: &str) -> bool {
    edit_distance(a, b, 1).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::features::words;

    fn speller(texts: &[&str]) -> Speller {
        let words: Vec<Vec<String>> = texts.iter().map(|text| words(text)).collect();
        Speller::new(words.iter().map(Vec::as_slice), false)
    }

    fn corrected(speller: &Speller, text: &str) -> String {
        let mut words = words(text);
        speller.correct(&mut words);
        words.join(" ")
    }

    #[test]
    fn one_edit_from_a_known_word_is_corrected() {
        let speller = speller(&[
            "check my balance",
            "what is my account balance",
            "transfer money to savings",
            "report a stolen card",
            "I want to pay my bill",
        ]);
        let cases = [
            ("chekc my balence", "check my balance"),
            ("trasnfer money to my acount", "transfer money to my account"),
            ("my card was stollen", "my card was stolen"),
            ("savngs", "savings"),
            ("transfer", "transfer"),
            ("my crad", "my card"),
            // Too short to correct, unknown and two edits away, or with digits: left alone.
            ("cat bll", "cat bll"),
            ("balaaance", "balaaance"),
            ("acc0unt", "acc0unt"),
            ("", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(corrected(&speller, text), expected, "{text}");
        }
    }

    #[test]
    fn words_longer_than_any_word_are_left_alone() {
        let at_most = "a".repeat(MAX_LENGTH);
        let beyond = "a".repeat(MAX_LENGTH + 1);
        let speller = speller(&[&at_most, &beyond]);
        let typo = |word: &str| format!("{}b", &word[1..]);
        assert_eq!(corrected(&speller, &typo(&at_most)), at_most);
        assert_eq!(corrected(&speller, &typo(&beyond)), typo(&beyond));
        let huge = "ab".repeat(2000);
        assert_eq!(corrected(&speller, &huge), huge);
    }

    #[test]
    fn the_word_in_more_texts_wins_a_tie() {
        let speller = speller(&["card limits", "card limits", "card lists"]);
        // "limts" is one edit from "limits" only; "lisits" is one from "limits" and "lists".
        assert_eq!(corrected(&speller, "limts"), "limits");
        assert_eq!(corrected(&speller, "lisits"), "limits");
    }

    #[test]
    fn edits_are_counted_as_optimal_string_alignment() {
        let cases = [
            ("balance", "balance", true),
            ("balence", "balance", true),
            ("balanc", "balance", true),
            ("bbalance", "balance", true),
            ("blaance", "balance", true),
            ("balnace", "balance", true),
            ("blanace", "balance", false),
            ("balancee", "balanc", false),
            ("äbc", "abc", true),
            ("", "a", true),
            ("", "ab", false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(within_one_edit(a, b), expected, "{a} / {b}");
            assert_eq!(within_one_edit(b, a), expected, "{b} / {a}");
        }
    }
}
