//! Trigger-word matching: case-insensitive, on word boundaries, phrases word by word.
//!
//! "damn" matches "Damn it!" but not "damnation"; "stupid bot" matches "you STUPID   bot".

use baton_assistant::words::tokens;

/// True when any of `phrases` occurs in `text` on word boundaries. The phrases are as
/// [`baton_assistant::words::trigger_phrase`] makes them (the loader does, for the assistant's
/// trigger words): lower-case tokens one space apart, so the message is split once and each
/// phrase compared token by token, on every customer message.
pub(crate) fn contains_any(text: &str, phrases: &[impl AsRef<str>]) -> bool {
    let mut lower = String::with_capacity(text.len() + 1);
    for token in tokens(text) {
        match token.is_ascii() {
            true => lower.push_str(token),
            false => lower.extend(token.chars().flat_map(char::to_lowercase)),
        }
        lower.push(' ');
    }
    lower.make_ascii_lowercase();
    let words: Vec<&str> = lower.split_terminator(' ').collect();
    phrases.iter().any(|phrase| {
        let phrase = phrase.as_ref();
        match phrase.contains(' ') {
            false => !phrase.is_empty() && words.contains(&phrase),
            true => {
                let length = phrase.bytes().filter(|&byte| byte == b' ').count() + 1;
                words
                    .windows(length)
                    .any(|window| window.iter().copied().eq(phrase.split(' ')))
            }
        }
    })
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
        ];
        for (text, word, expected) in cases {
            let phrase = baton_assistant::words::trigger_phrase(word);
            assert_eq!(contains_any(text, &[phrase]), expected, "{text:?} / {word:?}");
        }
    }
}
