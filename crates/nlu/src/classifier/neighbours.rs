//! Cosine similarity of a message to the nearest training example of each class.
//!
//! An inverted index (feature → the examples that have it) makes this proportional to the
//! postings of the message's features rather than to the number of examples times their length.

use super::features::Sparse;

/// Unit-normalised training vectors, indexed by feature.
#[derive(Debug, Clone)]
pub struct Neighbours {
    n_classes: usize,
    labels: Vec<u32>,
    /// `postings[offsets[f]..offsets[f + 1]]` are the (example, value) pairs of feature `f`.
    offsets: Vec<u32>,
    postings: Vec<(u32, f32)>,
}

impl Neighbours {
    /// Indexes `inputs` (labelled `labels`, each `< n_classes`) over `n_features` features.
    /// Features found in more than `max_df` (a fraction) of the inputs are left out of the index:
    /// they weigh little in a TF-IDF cosine and would make every look-up walk most examples.
    pub fn new(inputs: &[Sparse], labels: &[usize], n_classes: usize, n_features: usize, max_df: f32) -> Neighbours {
        let mut document_frequency = vec![0_u32; n_features];
        for input in inputs {
            for &(feature, _) in input {
                document_frequency[feature as usize] += 1;
            }
        }
        // Small assistants index everything: their look-ups are cheap anyway.
        let limit = if inputs.len() <= 1000 {
            u32::MAX
        } else {
            (max_df * inputs.len() as f32).max(30.0) as u32
        };
        let indexed = |feature: u32| document_frequency[feature as usize] <= limit;
        let mut counts = vec![0_u32; n_features + 1];
        for input in inputs {
            for &(feature, _) in input {
                if indexed(feature) {
                    counts[feature as usize + 1] += 1;
                }
            }
        }
        for feature in 0..n_features {
            counts[feature + 1] += counts[feature];
        }
        let offsets = counts.clone();
        let mut next = counts;
        let mut postings = vec![(0_u32, 0.0_f32); offsets[n_features] as usize];
        for (example, input) in inputs.iter().enumerate() {
            let norm = input
                .iter()
                .map(|(_, value)| value * value)
                .sum::<f32>()
                .sqrt()
                .max(f32::MIN_POSITIVE);
            for &(feature, value) in input.iter().filter(|(feature, _)| indexed(*feature)) {
                let slot = &mut next[feature as usize];
                postings[*slot as usize] = (example as u32, value / norm);
                *slot += 1;
            }
        }
        Neighbours {
            n_classes,
            labels: labels.iter().map(|&label| label as u32).collect(),
            offsets,
            postings,
        }
    }

    /// The highest cosine similarity between `input` and an example of each class.
    pub fn nearest(&self, input: &Sparse) -> Vec<f32> {
        let mut best = vec![0.0_f32; self.n_classes];
        let mut dots = vec![0.0_f32; self.labels.len()];
        // Only the examples sharing a feature with the message are visited afterwards.
        let mut touched: Vec<u32> = Vec::with_capacity(self.labels.len().min(1024));
        let mut norm_squared = 0.0;
        for &(feature, value) in input {
            let start = self.offsets[feature as usize] as usize;
            let end = self.offsets[feature as usize + 1] as usize;
            if start == end {
                continue;
            }
            norm_squared += value * value;
            for &(example, weight) in &self.postings[start..end] {
                let dot = &mut dots[example as usize];
                if *dot == 0.0 {
                    touched.push(example);
                }
                *dot += value * weight;
            }
        }
        if norm_squared == 0.0 {
            return best;
        }
        let inverse_norm = 1.0 / f32::sqrt(norm_squared);
        for example in touched {
            let similarity = dots[example as usize] * inverse_norm;
            let slot = &mut best[self.labels[example as usize] as usize];
            if similarity > *slot {
                *slot = similarity;
            }
        }
        best
    }

    /// Heap size in bytes.
    pub fn bytes(&self) -> usize {
        self.labels.capacity() * 4 + self.offsets.capacity() * 4 + self.postings.capacity() * 8
    }
}
