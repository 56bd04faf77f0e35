//! Cosine similarity of a message to the nearest training example of each class.
//!
//! An inverted index (feature → the examples that have it) makes this proportional to the
//! postings of the message's features rather than to the number of examples times their length.
//! Examples are numbered class by class, so a feature's postings for one class are a contiguous
//! run, found through a table for small models and by binary search for large ones:
//! [`Neighbours::nearest_in`] walks only that class's postings.

/// A sparse vector's entries: feature indices in increasing order, with their values.
type Entries = [(u32, f32)];

/// Keeps the higher of a class's best similarity so far and `similarity`.
fn raise(best: &mut f32, similarity: f32) {
    if similarity > *best {
        *best = similarity;
    }
}

/// Up to this many examples, [`Neighbours::nearest`] looks at every example rather than keeping
/// a list of those the message's features reach.
const SCAN_ALL_EXAMPLES: usize = 2048;

/// Entries of the table of where each feature's postings of each class start, at most (1 MiB):
/// enough for an assistant of a few hundred examples, where it halves the look-up.
const MAX_CLASS_OFFSETS: usize = 1 << 18;

/// Unit-normalised training vectors, indexed by feature.
#[derive(Debug, Clone)]
pub struct Neighbours {
    n_classes: usize,
    /// The class of each example, in the index's numbering: examples are numbered class by
    /// class, so these are sorted.
    labels: Vec<u32>,
    /// The examples of class `c` are numbered `class_starts[c]..class_starts[c + 1]`.
    class_starts: Vec<u32>,
    /// For a small model, where each feature's postings of each class start:
    /// `class_offsets[feature * (n_classes + 1) + c]`, so that [`Neighbours::nearest_in`] finds
    /// them without a binary search. Empty when the table would exceed [`MAX_CLASS_OFFSETS`].
    class_offsets: Vec<u32>,
    /// `postings[offsets[f]..offsets[f + 1]]` are the (example, value) pairs of feature `f`.
    offsets: Vec<u32>,
    postings: Vec<(u32, f32)>,
}

impl Neighbours {
    /// Indexes `inputs` (labelled `labels`, each `< n_classes`) over `n_features` features.
    /// Features found in more than `max_df` (a fraction) of the inputs are left out of the index:
    /// they weigh little in a TF-IDF cosine and would make every look-up walk most examples.
    pub fn new(inputs: &[&Entries], labels: &[usize], n_classes: usize, n_features: usize, max_df: f32) -> Neighbours {
        let mut document_frequency = vec![0_u32; n_features];
        for input in inputs {
            for &(feature, _) in input.iter() {
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
            for &(feature, _) in input.iter() {
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
        // Numbered class by class (in their order within a class), so each feature's postings,
        // filled in this order, are sorted by example and grouped by class.
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&example| labels[example]);
        let mut class_starts = vec![0_u32; n_classes + 1];
        for &label in labels {
            class_starts[label + 1] += 1;
        }
        for class in 0..n_classes {
            class_starts[class + 1] += class_starts[class];
        }
        for (example, input) in order.iter().map(|&original| inputs[original]).enumerate() {
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
        let labels: Vec<u32> = order.iter().map(|&original| labels[original] as u32).collect();
        let mut class_offsets = Vec::new();
        if n_features * (n_classes + 1) <= MAX_CLASS_OFFSETS {
            class_offsets.reserve_exact(n_features * (n_classes + 1));
            for feature in 0..n_features {
                let (start, stop) = (offsets[feature], offsets[feature + 1]);
                let postings = &postings[start as usize..stop as usize];
                // Postings are sorted by example, so by class: class c starts after the
                // postings of every class before it.
                let mut position = 0;
                for class in 0..=n_classes as u32 {
                    while position < postings.len() && labels[postings[position].0 as usize] < class {
                        position += 1;
                    }
                    class_offsets.push(start + position as u32);
                }
            }
        }
        Neighbours {
            n_classes,
            labels,
            class_starts,
            class_offsets,
            offsets,
            postings,
        }
    }

    /// The highest cosine similarity between `input` and an example of each class.
    pub fn nearest(&self, input: &Entries) -> Vec<f32> {
        match self.labels.len() <= SCAN_ALL_EXAMPLES {
            true => self.nearest_by_scan(input),
            false => self.nearest_by_list(input),
        }
    }

    /// The highest cosine similarity between `input` and an example of `class`: what
    /// [`Neighbours::nearest`] gives for that class, to the bit, walking only its postings.
    pub fn nearest_in(&self, input: &Entries, class: usize) -> f32 {
        let (Some(&first), Some(&end)) = (self.class_starts.get(class), self.class_starts.get(class + 1)) else {
            return 0.0;
        };
        let mut dots = vec![0.0_f32; (end - first) as usize];
        let mut norm_squared = 0.0;
        for (feature, value, start, stop) in self.indexed(input) {
            norm_squared += value * value;
            let (from, to) = match self.class_offsets.is_empty() {
                false => {
                    let row = feature as usize * (self.n_classes + 1) + class;
                    (self.class_offsets[row] as usize, self.class_offsets[row + 1] as usize)
                }
                true => {
                    let postings = &self.postings[start..stop];
                    let from = postings.partition_point(|&(example, _)| example < first);
                    let to = from + postings[from..].partition_point(|&(example, _)| example < end);
                    (start + from, start + to)
                }
            };
            for &(example, weight) in &self.postings[from..to] {
                dots[(example - first) as usize] += value * weight;
            }
        }
        if norm_squared == 0.0 {
            return 0.0;
        }
        let inverse_norm = 1.0 / f32::sqrt(norm_squared);
        let mut best = 0.0;
        for dot in dots {
            raise(&mut best, dot * inverse_norm);
        }
        best
    }

    /// [`Neighbours::nearest`] for a large assistant: only the examples the message's features
    /// reach are looked at.
    fn nearest_by_list(&self, input: &Entries) -> Vec<f32> {
        let mut best = vec![0.0_f32; self.n_classes];
        let mut dots = vec![0.0_f32; self.labels.len()];
        let mut touched: Vec<u32> = Vec::with_capacity(self.labels.len().min(1024));
        let norm_squared = self.sum_postings::<true>(input, &mut dots, &mut touched);
        if norm_squared == 0.0 {
            return best;
        }
        let inverse_norm = 1.0 / f32::sqrt(norm_squared);
        for example in touched {
            let label = self.labels[example as usize];
            raise(&mut best[label as usize], dots[example as usize] * inverse_norm);
        }
        best
    }

    /// [`Neighbours::nearest`] for a small assistant: the postings are summed without noting
    /// which examples they reach, and every example is looked at once afterwards. An example no
    /// posting reaches has similarity 0, which changes no class's best, so the result is the same.
    fn nearest_by_scan(&self, input: &Entries) -> Vec<f32> {
        let mut best = vec![0.0_f32; self.n_classes];
        let mut dots = vec![0.0_f32; self.labels.len()];
        let norm_squared = self.sum_postings::<false>(input, &mut dots, &mut Vec::new());
        if norm_squared == 0.0 {
            return best;
        }
        let inverse_norm = 1.0 / f32::sqrt(norm_squared);
        for (&dot, &label) in dots.iter().zip(&self.labels) {
            raise(&mut best[label as usize], dot * inverse_norm);
        }
        best
    }

    /// The features of `input` that are in the index, with their value and the range of their
    /// postings.
    fn indexed<'a>(&'a self, input: &'a Entries) -> impl Iterator<Item = (u32, f32, usize, usize)> + 'a {
        input.iter().filter_map(|&(feature, value)| {
            let start = self.offsets[feature as usize] as usize;
            let stop = self.offsets[feature as usize + 1] as usize;
            (start != stop).then_some((feature, value, start, stop))
        })
    }

    /// Adds each posting of `input`'s features, times the feature's value, to its example's dot
    /// product; with `LIST`, also notes in `touched` each example the first time it is reached.
    /// Returns the squared norm of `input` over the indexed features (0 when none is).
    fn sum_postings<const LIST: bool>(&self, input: &Entries, dots: &mut [f32], touched: &mut Vec<u32>) -> f32 {
        let mut norm_squared = 0.0;
        for (_, value, start, end) in self.indexed(input) {
            norm_squared += value * value;
            for &(example, weight) in &self.postings[start..end] {
                let dot = &mut dots[example as usize];
                if LIST && *dot == 0.0 {
                    touched.push(example);
                }
                *dot += value * weight;
            }
        }
        norm_squared
    }

    /// Heap size in bytes.
    pub fn bytes(&self) -> usize {
        (self.labels.capacity()
            + self.class_starts.capacity()
            + self.class_offsets.capacity()
            + self.offsets.capacity())
            * 4
            + self.postings.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::features::Sparse;

    #[test]
    fn scanning_every_example_finds_what_the_list_of_reached_ones_finds() {
        // A deterministic spread of sparse vectors over 40 features and 5 classes.
        let mut state = 7_u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        let mut vector = |n: u32| -> Sparse {
            let mut features: Vec<u32> = (0..n).map(|_| next() % 40).collect();
            features.sort_unstable();
            features.dedup();
            features
                .into_iter()
                .map(|feature| (feature, 0.1 + (feature % 7) as f32 / 10.0))
                .collect()
        };
        let inputs: Vec<Sparse> = (0..60).map(|_| vector(6)).collect();
        // Classes interleaved, so the index renumbers the examples.
        let labels: Vec<usize> = (0..60).map(|index| (index * 7 + index / 13) % 5).collect();
        let input_entries: Vec<&Entries> = inputs.iter().map(Vec::as_slice).collect();
        let neighbours = Neighbours::new(&input_entries, &labels, 5, 40, 1.0);
        assert!(!neighbours.class_offsets.is_empty());
        // Without the table, as a model too large for it finds its class's postings.
        let searched = Neighbours {
            class_offsets: Vec::new(),
            ..neighbours.clone()
        };
        for _ in 0..50 {
            let message = vector(8);
            let nearest = neighbours.nearest_by_scan(&message);
            assert_eq!(nearest, neighbours.nearest_by_list(&message));
            for (class, &similarity) in nearest.iter().enumerate() {
                assert_eq!(neighbours.nearest_in(&message, class), similarity, "class {class}");
                assert_eq!(
                    searched.nearest_in(&message, class),
                    similarity,
                    "class {class}, searched"
                );
            }
        }
        assert_eq!(neighbours.nearest_by_scan(&[]), vec![0.0; 5]);
    }
}
