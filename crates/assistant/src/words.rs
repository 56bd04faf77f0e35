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

/// Whether `text` has a word in common with `phrases` that says something: a word that is not one
/// of [`crate::defaults::FUNCTION_WORDS`], the same, or from four letters on one typing mistake
/// apart ("tlak" for "talk"). Case is ignored.
pub fn shares_content_word<P: AsRef<str>>(text: &str, phrases: impl IntoIterator<Item = P>) -> bool {
    let content = |token: &str| {
        let word = token.to_lowercase();
        (!crate::defaults::FUNCTION_WORDS.contains(&word.as_str())).then_some(word)
    };
    let said: Vec<String> = tokens(text).filter_map(content).collect();
    if said.is_empty() {
        return false;
    }
    phrases.into_iter().any(|phrase| {
        tokens(phrase.as_ref()).filter_map(content).any(|known| {
            said.iter().any(|word| {
                *word == known
                    || (word.chars().count() >= 4
                        && known.chars().count() >= 4
                        && crate::suggest::edit_distance(word, &known) <= 1)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_for_a_person_shares_a_word_that_says_something() {
        let phrases = crate::defaults::AGENT_REQUESTED_EXAMPLES;
        for (text, shares) in [
            ("I want to talk to a person", true),
            ("Talk to a person", true),
            ("get me a human", true),
            ("HUMAN!", true),
            ("can I tlak to someone", true),
            ("operater please", true),
            ("I want to order a pizza", false),
            ("I need a plumber", false),
            ("tell me a joke", false),
            ("I want to cancel my phone contract", false),
            ("can you help me", false),
            ("", false),
            // Short words must match exactly: "real" is a function word, "rel" is nothing.
            ("a rel one", false),
        ] {
            assert_eq!(shares_content_word(text, phrases), shares, "{text}");
        }
    }

    #[test]
    fn function_and_person_words_are_lower_case_tokens() {
        for word in crate::defaults::FUNCTION_WORDS
            .iter()
            .chain(crate::defaults::PERSON_WORDS)
        {
            assert_eq!(trigger_phrase(word), *word);
        }
        // A person word is never a function word, or it would be ignored.
        for word in crate::defaults::PERSON_WORDS {
            assert!(!crate::defaults::FUNCTION_WORDS.contains(word), "{word}");
        }
    }

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
