//! Text to sparse TF-IDF vectors: word 1–2-grams and word-bounded character 2–5-grams.
//!
//! N-grams are hashed to 64 bits as they are read (no string is allocated per n-gram) and looked
//! up in a vocabulary fixed at training time; unknown n-grams are ignored. The two blocks (words,
//! characters) are each L2-normalised, so a message's vector has norm √2 at most, whatever its
//! length. Sublinear term frequency (1 + ln tf) keeps a repeated word from dominating.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Input beyond this many bytes is ignored: customer messages are short, and a 100 KB paste must
/// cost the same bounded time as a normal message.
pub const MAX_INPUT_BYTES: usize = 4096;

const SEED_WORD: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_BIGRAM: u64 = 0xc2b2_ae3d_27d4_eb4f;
const SEED_CHAR: u64 = 0x1656_67b1_9e37_79f9;

/// A sparse vector: feature indices in increasing order, with their values.
pub type Sparse = Vec<(u32, f32)>;

/// The n-gram hashes are already uniformly distributed; hashing them again would be wasted time.
#[derive(Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 << 8) ^ u64::from(byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

pub type HashIndex = HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>;

fn mix(hash: u64, value: u64) -> u64 {
    // A multiply-xorshift step: cheap, and good enough that 64-bit collisions stay negligible.
    let x = (hash ^ value).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 31)
}

/// Lower-cased words of `text`: letters and digits; apostrophes are dropped ("don't" → "dont"),
/// everything else separates words.
pub fn words(text: &str) -> Vec<String> {
    let text = truncate(text, MAX_INPUT_BYTES);
    let mut words = Vec::with_capacity(text.len() / 4 + 1);
    let mut current = String::new();
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            current.push(character.to_ascii_lowercase());
        } else if character.is_alphanumeric() {
            current.extend(character.to_lowercase());
        } else if matches!(character, '\'' | '’' | '`') {
            continue;
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Which n-grams a message yields, as hashes, in two blocks.
#[derive(Debug, Default)]
pub struct Grams {
    pub word: Vec<u64>,
    pub char: Vec<u64>,
}

/// Which n-grams are read from a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NgramOptions {
    /// Longest word n-gram (1 = single words only).
    pub word_max: usize,
    /// Longest character n-gram (the shortest is 2).
    pub char_max: usize,
    /// Character n-grams run across word boundaries (else each word is read alone, padded).
    pub char_across_words: bool,
    /// Weight of the word block relative to the character block.
    pub word_weight: f32,
}

impl Default for NgramOptions {
    fn default() -> NgramOptions {
        NgramOptions {
            word_max: 2,
            char_max: 5,
            char_across_words: false,
            word_weight: 1.0,
        }
    }
}

/// The hash of a word, as its unigram feature is looked up.
pub fn word_hash(word: &str) -> u64 {
    hash_chars(word.chars())
}

/// [`word_hash`] of the word these characters spell.
pub fn hash_chars(characters: impl Iterator<Item = char>) -> u64 {
    characters.fold(SEED_WORD, |hash, character| mix(hash, u64::from(character)))
}

/// Hashes of every n-gram of `text`, duplicates included (they are the term frequencies).
pub fn grams(text: &str, options: &NgramOptions) -> Grams {
    grams_of_words(&words(text), options)
}

/// [`grams`] of a text already split into [`words`].
pub fn grams_of_words(words: &[String], options: &NgramOptions) -> Grams {
    // Every n-gram is pushed: size the two blocks for them up front.
    let n_chars: usize = words.iter().map(|word| word.chars().count() + 2).sum();
    let mut grams = Grams {
        word: Vec::with_capacity(words.len() * options.word_max.max(1)),
        char: Vec::with_capacity(n_chars * options.char_max.saturating_sub(1)),
    };
    let mut word_hashes = Vec::with_capacity(words.len());
    for word in words {
        let hash = word_hash(word);
        word_hashes.push(hash);
        grams.word.push(hash);
    }
    for length in 2..=options.word_max {
        for window in word_hashes.windows(length) {
            let hash = window
                .iter()
                .fold(mix(SEED_BIGRAM, length as u64), |hash, &word| mix(hash, word));
            grams.word.push(hash);
        }
    }
    let mut padded: Vec<u64> = Vec::with_capacity(64);
    let read_chars = |padded: &[u64], grams: &mut Grams| {
        for start in 0..padded.len() {
            let mut hash = SEED_CHAR;
            for (offset, &character) in padded[start..].iter().take(options.char_max).enumerate() {
                hash = mix(hash, character);
                if offset >= 1 {
                    grams.char.push(hash);
                }
            }
        }
    };
    if options.char_across_words {
        padded.push(u64::from(' '));
        for word in words {
            padded.extend(word.chars().map(u64::from));
            padded.push(u64::from(' '));
        }
        read_chars(&padded, &mut grams);
    } else {
        for word in words {
            padded.clear();
            padded.push(u64::from(' '));
            padded.extend(word.chars().map(u64::from));
            padded.push(u64::from(' '));
            read_chars(&padded, &mut grams);
        }
    }
    grams
}

/// The vocabulary and document frequencies learnt from the training texts.
#[derive(Debug, Clone)]
pub struct Vectorizer {
    index: HashIndex,
    /// Inverse document frequency per feature index.
    idf: Vec<f32>,
    ngrams: NgramOptions,
}

/// Options of [`Vectorizer::fit`].
#[derive(Debug, Clone, Copy)]
pub struct VectorizerOptions {
    /// Character n-grams seen in fewer training texts than this are dropped.
    pub char_min_df: u32,
    /// Word n-grams seen in fewer training texts than this are dropped.
    pub word_min_df: u32,
    pub ngrams: NgramOptions,
}

impl Vectorizer {
    /// Learns the vocabulary and idf from `texts`.
    pub fn fit(texts: &[&str], options: VectorizerOptions) -> Vectorizer {
        let mut word_df: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>> = HashMap::default();
        let mut char_df: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>> = HashMap::default();
        for text in texts {
            let mut grams = grams(text, &options.ngrams);
            grams.word.sort_unstable();
            grams.word.dedup();
            grams.char.sort_unstable();
            grams.char.dedup();
            for hash in grams.word {
                *word_df.entry(hash).or_default() += 1;
            }
            for hash in grams.char {
                *char_df.entry(hash).or_default() += 1;
            }
        }
        // Sorted so that the feature order, and hence training, is deterministic.
        let mut word_kept: Vec<(u64, u32)> = word_df
            .into_iter()
            .filter(|&(_, df)| df >= options.word_min_df)
            .collect();
        word_kept.sort_unstable();
        let mut char_kept: Vec<(u64, u32)> = char_df
            .into_iter()
            .filter(|&(_, df)| df >= options.char_min_df)
            .collect();
        char_kept.sort_unstable();
        let n_docs = texts.len() as f32;
        let mut index = HashIndex::default();
        let mut idf = Vec::with_capacity(word_kept.len() + char_kept.len());
        for (hash, df) in word_kept.iter().chain(char_kept.iter()) {
            index.insert(*hash, idf.len() as u32);
            idf.push(((1.0 + n_docs) / (1.0 + *df as f32)).ln() + 1.0);
        }
        Vectorizer {
            index,
            idf,
            ngrams: options.ngrams,
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    /// The TF-IDF vector of `text`; empty when no known n-gram occurs in it.
    #[cfg(test)]
    pub fn transform(&self, text: &str) -> Sparse {
        self.transform_words(&words(text))
    }

    /// [`Vectorizer::transform`] of a text already split into [`words`].
    pub fn transform_words(&self, words: &[String]) -> Sparse {
        let grams = grams_of_words(words, &self.ngrams);
        let mut vector = self.block(&grams.word);
        if self.ngrams.word_weight != 1.0 {
            for (_, value) in &mut vector {
                *value *= self.ngrams.word_weight;
            }
        }
        let chars = self.block(&grams.char);
        vector.extend(chars);
        vector
    }

    fn block(&self, hashes: &[u64]) -> Sparse {
        let mut indices: Vec<u32> = hashes.iter().filter_map(|hash| self.index.get(hash).copied()).collect();
        indices.sort_unstable();
        let mut block: Sparse = Vec::with_capacity(indices.len());
        let mut position = 0;
        while position < indices.len() {
            let feature = indices[position];
            let mut count = 0;
            while position < indices.len() && indices[position] == feature {
                count += 1;
                position += 1;
            }
            // ln 1 = 0: most n-grams occur once, and need no logarithm.
            let tf = match count {
                1 => 1.0,
                _ => 1.0 + (count as f32).ln(),
            };
            block.push((feature, tf * self.idf[feature as usize]));
        }
        let norm = block.iter().map(|(_, value)| value * value).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, value) in &mut block {
                *value /= norm;
            }
        }
        block
    }

    /// Approximate heap size in bytes.
    pub fn bytes(&self) -> usize {
        self.index.capacity() * (8 + 4 + 1) + self.idf.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_apostrophes_and_split_on_punctuation() {
        assert_eq!(
            words("I'd like to PAY, my bill!"),
            ["id", "like", "to", "pay", "my", "bill"]
        );
        assert_eq!(words("  "), Vec::<String>::new());
    }

    #[test]
    fn similar_texts_share_features() {
        let vectorizer = Vectorizer::fit(
            &["pay my bill", "I'd like to pay a bill", "check my balance"],
            VectorizerOptions {
                char_min_df: 1,
                word_min_df: 1,
                ngrams: NgramOptions::default(),
            },
        );
        let a = vectorizer.transform("paying bills");
        assert!(!a.is_empty());
        assert!(vectorizer.transform("zzzz qqqq").is_empty());
    }
}
