//! Trigger-word matching: case-insensitive, on word boundaries, phrases word by word.
//!
//! "damn" matches "Damn it!" but not "damnation"; "stupid bot" matches "you STUPID   bot".

/// True when any of `words` (each a word or a phrase) occurs in `text` on word boundaries.
pub(crate) fn contains_any(text: &str, words: &[impl AsRef<str>]) -> bool {
    let tokens = tokenize(text);
    words.iter().any(|word| {
        let phrase = tokenize(word.as_ref());
        !phrase.is_empty() && tokens.windows(phrase.len()).any(|window| window == phrase.as_slice())
    })
}

fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|token| !token.is_empty())
        .map(str::to_lowercase)
        .collect()
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
        ];
        for (text, word, expected) in cases {
            assert_eq!(contains_any(text, &[word]), expected, "{text:?} / {word:?}");
        }
    }
}
