//! Trigger-word matching: case-insensitive, on word boundaries, phrases word by word.
//!
//! "damn" matches "Damn it!" but not "damnation"; "stupid bot" matches "you STUPID   bot".

use baton_assistant::words::tokens;

/// A customer's message as trigger phrases are looked for in it: its tokens lower-cased, one
/// space apart, with a space before the first and after the last ("You STUPID   bot!" →
/// " you stupid bot "). Made once per message for all the groups of trigger words.
pub(crate) struct Words {
    lower: String,
}

impl Words {
    pub(crate) fn new(text: &str) -> Words {
        let mut lower = String::with_capacity(text.len() + 2);
        lower.push(' ');
        for token in tokens(text) {
            match token.is_ascii() {
                true => lower.push_str(token),
                false => lower.extend(token.chars().flat_map(char::to_lowercase)),
            }
            lower.push(' ');
        }
        lower.make_ascii_lowercase();
        Words { lower }
    }

    /// True when any of `phrases` occurs on word boundaries. The phrases are as
    /// [`baton_assistant::words::trigger_phrase`] makes them (the loader does, for the assistant's
    /// trigger words): lower-case tokens one space apart, so a phrase occurs exactly where it
    /// stands between two spaces of the message.
    pub(crate) fn contains_any(&self, phrases: &[impl AsRef<str>]) -> bool {
        phrases.iter().any(|phrase| self.contains(phrase.as_ref()))
    }

    fn contains(&self, phrase: &str) -> bool {
        if phrase.is_empty() {
            return false;
        }
        // Each token starts after a space; a phrase there must end before one. (A substring
        // search costs more to set up, per phrase, than these few comparisons.)
        let bytes = self.lower.as_bytes();
        let phrase = phrase.as_bytes();
        (0..bytes.len()).filter(|&at| bytes[at] == b' ').any(|space| {
            let rest = &bytes[space + 1..];
            rest.starts_with(phrase) && rest.get(phrase.len()) == Some(&b' ')
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_on_boundaries_case_insensitively() {
        let cases = [
            ("Damn it!", "damn", true),
            ("damnation", "damn", false),
            ("you STUPID   bot", "stupid bot", true),
            ("stupid robot", "stupid bot", false),
            ("I'll hurt myself", "hurt myself", true),
            ("", "damn", false),
            ("damn", "", false),
            ("DAMN", "Damn", true),
            ("what the HELL, man", "what the hell", true),
            ("ÜBEL!", "übel", true),
            ("übel", "ÜBEL", true),
            ("uebel", "übel", false),
            ("stupid", "stupid bot", false),
            ("don't", "don't", true),
            ("damnation, damn", "damn", true),
            ("condamn", "damn", false),
            ("damned", "damn", false),
            ("a stupid bot", "stupid bot", true),
            ("stupid bots", "stupid bot", false),
            ("the bot is stupid", "stupid bot", false),
            ("fraud", "fraud", true),
        ];
        for (text, word, expected) in cases {
            let phrase = baton_assistant::words::trigger_phrase(word);
            assert_eq!(
                Words::new(text).contains_any(&[phrase]),
                expected,
                "{text:?} / {word:?}"
            );
        }
    }
}
