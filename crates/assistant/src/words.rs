//! How trigger words are split: the one definition the loader and the runtime share.

/// The tokens of `text`: runs of letters, digits and apostrophes.
pub fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|token| !token.is_empty())
}

/// A trigger word or phrase as the runtime looks for it: its tokens lower-cased, one space
/// apart ("Stupid   Bot!" → "stupid bot"); empty when it has no token.
pub fn trigger_phrase(word: &str) -> String {
    let mut phrase = String::with_capacity(word.len());
    for token in tokens(word) {
        if !phrase.is_empty() {
            phrase.push(' ');
        }
        // Character by character, as the runtime lower-cases messages.
        phrase.extend(token.chars().flat_map(char::to_lowercase));
    }
    phrase
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_lower_case_tokens_one_space_apart() {
        assert_eq!(trigger_phrase("  Stupid   Bot! "), "stupid bot");
        assert_eq!(trigger_phrase("DON'T"), "don't");
        assert_eq!(trigger_phrase("ÜBEL"), "übel");
        assert_eq!(trigger_phrase(" !? "), "");
    }

    #[test]
    fn the_default_words_are_phrases_already() {
        for word in crate::defaults::PROFANITY_WORDS {
            assert_eq!(trigger_phrase(word), *word);
        }
    }
}
